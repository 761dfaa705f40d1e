"""The local Marketo: an App for localcloud.common.httpserver that answers like Marketo's REST API.

Entry points:
- ``create_app(data_dir, config_path=None) -> MarketoService`` (callable as an App; ``.credentials``,
  ``.store``, ``.settings``, ``update_settings(...)``, ``create_crm_persons(...)`` ...)
- ``start_local_marketo(data_dir, port=0, config_path=None, certs_dir=None) -> LocalMarketo`` serving
  HTTPS on 127.0.0.1 (``.url``, ``.client_id``, ``.client_secret``, ``.service``, ``.ca_bundle``, ``.stop()``).

Configuration YAML (all keys optional): ``schema`` (inline, same shape as default_schema.yml) or
``schema_file`` (path, relative to the config file), ``credentials: {client_id, client_secret}``, and
``settings: {...}`` (see settings.py). Admin endpoints live under ``/_local`` and need the header
``X-Local-Admin-Secret: <client secret>``.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from localcloud.common.httpserver import Request, Response, Router, serve
from localcloud.common.tls import ensure_certificates
from localcloud.marketo.activities import ACTIVITY_TYPES, ActivityOperations
from localcloud.marketo.assetroutes import AssetRoutes
from localcloud.marketo.assets import AssetOperations
from localcloud.marketo.bulk import BulkImports, parse_multipart
from localcloud.marketo.consent import ConsentOperations, UnsubscribeRejected
from localcloud.marketo.customobjects import CustomObjectOperations
from localcloud.marketo.emailrender import EmailRenderer
from localcloud.marketo.envelope import CallError, failure, new_request_id, success
from localcloud.marketo.extract import LeadExtracts
from localcloud.marketo.identity import (
    Credentials,
    Identity,
    TokenCheck,
    load_or_create_credentials,
)
from localcloud.marketo.leads import PARTITIONS, LeadOperations
from localcloud.marketo.limits import FaultInjector, Limiter, Refused
from localcloud.marketo.schema import Schema, load_schema, schema_from_dict
from localcloud.marketo.schema_admin import SchemaAdmin
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

log = logging.getLogger(__name__)

DB_FILE = "marketo.sqlite3"
ADMIN_HEADER = "X-Local-Admin-Secret"
REFUSAL_CODES = {"606", "607", "615"}
FAULT_MESSAGES = {
    "606": "Max rate limit '100' exceeded with in '20' secs",
    "615": "Concurrent access limit reached",
    "611": "System error",
    "604": "Request timed out",
    "608": "API Temporarily Unavailable",
    "713": "Transient Error",
}


@dataclass
class Call:
    """One REST call after transport: its parameters (query, or form body under _method=GET) and body."""

    request: Request
    request_id: str
    params: dict[str, str]
    path_params: dict[str, str] = field(default_factory=dict)
    arrived: float = field(default_factory=time.monotonic)
    _json: Any = None
    _json_loaded: bool = False

    def arg(self, name: str) -> str | None:
        return self.params.get(name)

    def json(self) -> Any:
        if not self._json_loaded:
            content_type = (self.request.headers.get("Content-Type") or "").lower()
            if self.request.body.strip() and "json" not in content_type:
                raise CallError("612", "Invalid Content Type")
            try:
                self._json = (
                    json.loads(self.request.body.decode("utf-8"))
                    if self.request.body.strip()
                    else None
                )
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise CallError("609", "Invalid JSON") from None
            self._json_loaded = True
        return self._json

    def json_object(self) -> dict[str, Any]:
        body = self.json()
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise CallError("609", "Invalid JSON")
        return body


def _answering(produce: Callable[[], list[Any]]) -> Callable[[Call], Response]:
    """A route whose answer needs nothing from the call: a success envelope around produce()."""
    return lambda call: success(call.request_id, produce())


def _flag(value: str | None) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes")


class MarketoService:
    """The local Marketo as an App: call it with a Request, get a Response."""

    def __init__(self, data_dir: Path, config_path: Path | None = None, *, fresh: bool = False):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._read_config(config_path)
        # fresh: a new instance, without the schema's `prepared` part (provision_marketo creates it)
        self.schema: Schema = self._schema_from(config, config_path, fresh or bool(config.get("fresh")))
        self.store = Store(self.data_dir / DB_FILE)
        configured = config.get("credentials") or None
        self.credentials: Credentials = load_or_create_credentials(
            self.store,
            Credentials(str(configured["client_id"]), str(configured["client_secret"]))
            if configured
            else None,
        )
        self._settings_lock = threading.Lock()
        base = Settings().updated(config.get("settings") or {})
        saved = self.store.get_meta("settings_overrides") or {}
        self._config_settings = base
        self._settings = base.updated(saved) if saved else base
        self._stopping = threading.Event()
        self.limiter = Limiter(self.store, lambda: self._settings)
        self.faults = FaultInjector(lambda: self._settings)
        self.identity = Identity(self.store, self.credentials, lambda: self._settings)
        self.leads = LeadOperations(self.store, self.schema, lambda: self._settings)
        self.custom_objects = CustomObjectOperations(
            self.store, self.schema, lambda: self._settings
        )
        self.activities = ActivityOperations(self.store, lambda: self._settings)
        self.consent = ConsentOperations(self.store, self.leads, lambda: self._settings)
        self.bulk = BulkImports(self.store, self.leads, lambda: self._settings, self.custom_objects)
        self.schema_admin = SchemaAdmin(self.store, self.schema, self.leads, lambda: self._settings)
        self.extracts = LeadExtracts(self.store, self.schema, lambda: self._settings)
        self.assets = AssetOperations(self.store, lambda: self._settings)
        self.emails = EmailRenderer(self.store, self.schema, self.assets, lambda: self._settings)
        self.router = Router()
        self._register_routes()

    # --- configuration --------------------------------------------------------------------------
    @staticmethod
    def _read_config(config_path: Path | None) -> dict[str, Any]:
        if config_path is None:
            return {}
        raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{config_path}: the local Marketo configuration must be a mapping")
        return raw.get("marketo", raw) if isinstance(raw.get("marketo"), dict) else raw

    @staticmethod
    def _schema_from(config: dict[str, Any], config_path: Path | None, fresh: bool) -> Schema:
        if isinstance(config.get("schema"), dict):
            return schema_from_dict(config["schema"], fresh=fresh)
        if config.get("schema_file"):
            path = Path(config["schema_file"])
            if not path.is_absolute() and config_path is not None:
                path = Path(config_path).parent / path
            return load_schema(path, fresh=fresh)
        return load_schema(fresh=fresh)

    @property
    def settings(self) -> Settings:
        return self._settings

    def update_settings(self, **changes: Any) -> Settings:
        """Change settings at runtime; they are stored and survive a restart."""
        with self._settings_lock:
            updated = self._settings.updated(changes)
            overrides = {
                name: value
                for name, value in updated.as_dict().items()
                if value != getattr(self._config_settings, name)
            }
            self.store.set_meta("settings_overrides", overrides)
            self._settings = updated
        if "fault_seed" in changes or "fault_share" in changes or "fault_kinds" in changes:
            self.faults.reseed()
        self.bulk.nudge()
        self.extracts.nudge()
        return updated

    def reset_settings(self) -> Settings:
        with self._settings_lock:
            self.store.set_meta("settings_overrides", {})
            self._settings = self._config_settings
        self.faults.reseed()
        return self._settings

    # --- Python API for tests and tools ---------------------------------------------------------
    def create_crm_persons(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.leads.create_crm_persons(records, new_request_id())

    def create_form_persons(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self.leads.create_form_persons(records, new_request_id())

    def unsubscribe_via_link(self, body: dict[str, Any]) -> dict[str, Any]:
        """A person unsubscribes through an email's link (``leadId`` or ``email``; see consent.py)."""
        return self.consent.unsubscribe_via_link(body, new_request_id())

    def expire_tokens(self) -> int:
        return self.identity.expire_all()

    def tombstones(self, kind: str | None = None) -> list[dict[str, Any]]:
        return self.store.tombstones(kind)

    def stats(self) -> dict[str, Any]:
        return {
            "callsInWindow": self.limiter.calls_in_window(),
            "inFlight": self.limiter.in_flight,
            "peakInFlight": self.limiter.peak_in_flight,
            "quotaUsedToday": self.limiter.quota_used(),
            "refused": dict(self.limiter.refused),
            "faultsInjected": dict(self.faults.injected),
            "leads": self.store.count_leads(),
            "tombstones": len(self.store.tombstones()),
        }

    def close(self) -> None:
        self._stopping.set()
        self.bulk.stop()
        self.extracts.stop()
        self.store.close()

    # --- the App --------------------------------------------------------------------------------
    def __call__(self, request: Request) -> Response:
        request_id = new_request_id()
        settings = self._settings
        # The transport hands over the decoded query; re-encode it the lightest way a client could
        # have sent it, so a request is never called too long when it was not.
        query = urllib.parse.urlencode(request.query, doseq=True, safe=",:@!$'()*;/")
        uri_length = len(urllib.parse.quote(request.path)) + len(query) + 1
        if uri_length > settings.max_uri_bytes:
            return Response.text(
                "<html><body><h1>414 Request-URI Too Large</h1></body></html>", 414, "text/html"
            )
        limit = (
            settings.max_bulk_body_bytes
            if request.path.startswith("/bulk/")
            else settings.max_body_bytes
        )
        if len(request.body) > limit:
            return Response.text(
                "<html><body><h1>413 Request Entity Too Large</h1></body></html>", 413, "text/html"
            )
        try:
            if request.path == "/identity/oauth/token":
                return self._identity(request)
            if request.path.startswith("/_local/"):
                return self._admin(request)
            return self._rest(request, request_id)
        except Exception:  # noqa: BLE001 - Marketo answers 611 for all unhandled exceptions
            log.exception("local Marketo: unhandled error on %s %s", request.method, request.path)
            return failure(request_id, "611", "System error")

    # --- identity -------------------------------------------------------------------------------
    def _identity(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response.json(
                {"error": "method_not_allowed", "error_description": "Use GET or POST"}, 405
            )
        params = {k: v[0] for k, v in request.query.items() if v}
        if request.method == "POST" and "form-urlencoded" in (
            request.headers.get("Content-Type") or ""
        ):
            params.update({k: v[0] for k, v in request.form().items() if v})
        if params.get("grant_type") != "client_credentials":
            return Response.json(
                {"error": "invalid_request", "error_description": "Missing grant type"}, 400
            )
        answer = self.identity.issue(params.get("client_id"), params.get("client_secret"))
        if answer is None:
            return Response.json(
                {"error": "unauthorized", "error_description": "Bad client credentials"}, 401
            )
        return Response.json(answer)

    # --- admin ----------------------------------------------------------------------------------
    def _admin(self, request: Request) -> Response:
        given = request.headers.get(ADMIN_HEADER) or ""
        if not secrets.compare_digest(given, self.credentials.client_secret):
            return Response.json(
                {
                    "error": "unauthorized",
                    "error_description": f"{ADMIN_HEADER} is missing or wrong",
                },
                401,
            )
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError):
            return Response.json({"error": "invalid_json"}, 400)
        if not isinstance(body, dict):
            return Response.json(
                {"error": "invalid_json", "error_description": "send an object"}, 400
            )
        path, method = request.path, request.method
        try:
            if path == "/_local/settings" and method == "GET":
                return Response.json(self._settings.as_dict())
            if path == "/_local/settings" and method in ("POST", "PATCH", "PUT"):
                return Response.json(self.update_settings(**body).as_dict())
            if path == "/_local/settings/reset" and method == "POST":
                return Response.json(self.reset_settings().as_dict())
            if path == "/_local/persons" and method == "POST":
                source = body.get("source", "crm")
                records = body.get("input") or []
                if not isinstance(records, list):
                    return Response.json(
                        {"error": "invalid_input", "error_description": "input is a list"}, 400
                    )
                if source == "crm":
                    return Response.json({"result": self.create_crm_persons(records)})
                if source == "form":
                    return Response.json({"result": self.create_form_persons(records)})
                return Response.json(
                    {"error": "invalid_source", "error_description": "source is crm or form"}, 400
                )
            if path == "/_local/unsubscribe" and method == "POST":
                try:
                    return Response.json({"result": [self.unsubscribe_via_link(body)]})
                except UnsubscribeRejected as rejected:
                    return Response.json(
                        {"error": "invalid_person", "error_description": str(rejected)}, 400
                    )
            if path == "/_local/tombstones" and method == "GET":
                return Response.json({"result": self.tombstones(request.arg("kind"))})
            if path == "/_local/tokens/expire" and method == "POST":
                return Response.json({"expired": self.expire_tokens()})
            if path == "/_local/stats" and method == "GET":
                return Response.json(self.stats())
            if path == "/_local/quota" and method == "POST":
                self.limiter.set_quota_used(int(body.get("used", 0)))
                return Response.json(self.stats())
        except ValueError as error:
            return Response.json({"error": "invalid_setting", "error_description": str(error)}, 400)
        return Response.json({"error": "not_found"}, 404)

    # --- REST -----------------------------------------------------------------------------------
    def _rest(self, request: Request, request_id: str) -> Response:
        # repeated parameters (fields=a&fields=b, as requests encodes a list) read as one comma list
        params = {k: ",".join(v) for k, v in request.query.items() if v}
        method = request.method
        content_type = (request.headers.get("Content-Type") or "").lower()
        form: dict[str, str] = {}
        if method == "POST" and "form-urlencoded" in content_type:
            form = {k: ",".join(v) for k, v in request.form().items() if v}
        if method == "POST" and (params.get("_method") or form.get("_method", "")).upper() == "GET":
            method = "GET"
            params.update(form)
        elif form:
            params.update(form)
        handler, path_params, path_known = self.router.resolve(method, request.path)
        if handler is None:
            if path_known:
                return failure(request_id, "605", "Request method not supported")
            return failure(request_id, "610", "Requested resource not found")
        call = Call(request, request_id, params, path_params)

        token = request.bearer_token
        if token is None and self._settings.accept_access_token_query_param:
            token = params.get("access_token")
        if not token:
            return failure(request_id, "600", "Empty access token")
        verdict = self.identity.check(token)
        if verdict == TokenCheck.INVALID:
            return failure(request_id, "601", "Access token invalid")
        if verdict == TokenCheck.EXPIRED:
            return failure(request_id, "602", "Access token expired")

        try:
            admission = self.limiter.admit()
        except Refused as refused:
            self.limiter.note_refusal(refused.code)
            return failure(request_id, refused.code, refused.message)
        code: str | None = None
        try:
            fault = self.faults.draw()
            if fault is not None:
                code = "604" if fault == "hang" else fault
                return self._fault(fault, request_id)
            try:
                response = handler(call)
            except CallError as error:
                code = error.code
                return failure(request_id, error.code, error.message)
            return response
        finally:
            self.limiter.settle(
                admission,
                code,
                give_back=code in REFUSAL_CODES and not self._settings.rejected_calls_count,
            )

    def _fault(self, fault: str, request_id: str) -> Response:
        if fault == "502":
            return Response.json(
                {
                    "requestId": request_id,
                    "success": False,
                    "errors": [{"code": "502", "message": "Bad Gateway"}],
                },
                502,
            )
        if fault == "hang":
            self._stopping.wait(self._settings.hang_seconds)
            return failure(request_id, "604", "Request timed out")
        message = FAULT_MESSAGES[fault]
        if fault == "606":
            s = self._settings
            message = f"Max rate limit '{s.rate_limit_calls}' exceeded with in '{s.rate_limit_window_seconds:g}' secs"
        return failure(request_id, fault, message)

    # --- routes ---------------------------------------------------------------------------------
    def _register_routes(self) -> None:
        def add(method: str, pattern: str, handler: Callable[[Call], Response]) -> None:
            self.router.add(method, pattern, handler)  # type: ignore[arg-type]  # handlers take a Call

        add("GET", r"/rest/v1/leads\.json", self._leads_query)
        add("POST", r"/rest/v1/leads\.json", self._leads_sync)
        add("DELETE", r"/rest/v1/leads\.json", self._leads_delete)
        add("POST", r"/rest/v1/leads/delete\.json", self._leads_delete)
        add("GET", r"/rest/v1/lead/(?P<id>[^/]+)\.json", self._lead_by_id)
        add("GET", r"/rest/v1/leads/describe\.json", _answering(self.leads.describe))
        add("GET", r"/rest/v1/leads/describe2\.json", _answering(self.leads.describe2))
        add("GET", r"/rest/v1/leads/partitions\.json", self._partitions)
        add("GET", r"/rest/v1/leads/schema/fields\.json", self._lead_fields)
        add("POST", r"/rest/v1/leads/schema/fields\.json", self._lead_fields_create)
        add("GET", r"/rest/v1/leads/schema/fields/(?P<name>[^/]+)\.json", self._lead_field)
        add("POST", r"/rest/v1/leads/(?P<id>[^/]+)/merge\.json", self._merge)
        add("GET", r"/rest/v1/activities/types\.json", _answering(lambda: ACTIVITY_TYPES))
        add("GET", r"/rest/v1/activities/pagingtoken\.json", self._paging_token)
        add("GET", r"/rest/v1/activities\.json", self._activities)
        add("GET", r"/rest/v1/activities/leadchanges\.json", self._lead_changes)
        add("GET", r"/rest/v1/activities/deletedleads\.json", self._deleted_leads)
        add("GET", r"/rest/v1/customobjects\.json", self._co_list)
        # the metadata API first: "schema" is not an object name
        add("GET", r"/rest/v1/customobjects/schema\.json", self._type_list)
        add("POST", r"/rest/v1/customobjects/schema\.json", self._type_sync)
        add("GET", r"/rest/v1/customobjects/schema/fieldDataTypes\.json", self._type_data_types)
        add("GET", r"/rest/v1/customobjects/schema/linkableObjects\.json", self._type_linkable)
        type_path = r"/rest/v1/customobjects/schema/(?P<name>[A-Za-z0-9_]+)"
        add("GET", type_path + r"/describe\.json", self._type_describe)
        add("POST", type_path + r"/addField\.json", self._type_add_fields)
        add("POST", type_path + r"/approve\.json", self._type_approve)
        add("POST", type_path + r"/discardDraft\.json", self._type_discard)
        add("POST", type_path + r"/delete\.json", self._type_delete)
        add(
            "GET",
            r"/rest/v1/customobjects/(?P<name>[A-Za-z0-9_]+)/describe\.json",
            self._co_describe,
        )
        add("POST", r"/rest/v1/customobjects/(?P<name>[A-Za-z0-9_]+)/delete\.json", self._co_delete)
        add("GET", r"/rest/v1/customobjects/(?P<name>[A-Za-z0-9_]+)\.json", self._co_query)
        add("POST", r"/rest/v1/customobjects/(?P<name>[A-Za-z0-9_]+)\.json", self._co_sync)
        add("POST", r"/bulk/v1/leads/export/create\.json", self._export_create)
        add("GET", r"/bulk/v1/leads/export\.json", self._export_list)
        add("POST", r"/bulk/v1/leads/export/(?P<id>[^/]+)/enqueue\.json", self._export_enqueue)
        add("POST", r"/bulk/v1/leads/export/(?P<id>[^/]+)/cancel\.json", self._export_cancel)
        add("GET", r"/bulk/v1/leads/export/(?P<id>[^/]+)/status\.json", self._export_status)
        add("GET", r"/bulk/v1/leads/export/(?P<id>[^/]+)/file\.json", self._export_file)
        add("POST", r"/bulk/v1/leads\.json", self._bulk_submit)
        add("GET", r"/bulk/v1/leads/batch/(?P<id>[^/]+)\.json", self._bulk_status)
        add("GET", r"/bulk/v1/leads/batch/(?P<id>[^/]+)/failures\.json", self._bulk_failures)
        add("GET", r"/bulk/v1/leads/batch/(?P<id>[^/]+)/warnings\.json", self._bulk_warnings)
        AssetRoutes(self.assets, self.emails).register(add)
        co_import = r"/bulk/v1/customobjects/(?P<name>[A-Za-z0-9_]+)/import"
        add("POST", co_import + r"\.json", self._bulk_co_submit)
        add("GET", co_import + r"/(?P<id>[^/]+)/status\.json", self._bulk_co_status)
        add("GET", co_import + r"/(?P<id>[^/]+)/failures\.json", self._bulk_co_failures)
        add("GET", co_import + r"/(?P<id>[^/]+)/warnings\.json", self._bulk_co_warnings)

    # leads
    def _leads_query(self, call: Call) -> Response:
        result, token = self.leads.query(
            call.arg("filterType"),
            call.arg("filterValues"),
            call.arg("fields"),
            call.arg("batchSize"),
            call.arg("nextPageToken"),
        )
        return success(call.request_id, result, next_page_token=token)

    def _leads_sync(self, call: Call) -> Response:
        return success(
            call.request_id, self.leads.sync(call.json_object(), call.request_id, call.arrived)
        )

    def _leads_delete(self, call: Call) -> Response:
        return success(
            call.request_id, self.leads.delete(call.json_object().get("input"), call.request_id)
        )

    def _lead_by_id(self, call: Call) -> Response:
        return success(
            call.request_id, self.leads.get_by_id(call.path_params["id"], call.arg("fields"))
        )

    def _partitions(self, call: Call) -> Response:
        return success(
            call.request_id,
            [
                {"id": number, "name": name, "description": "Default partition"}
                for name, number in PARTITIONS.items()
            ],
        )

    def _merge(self, call: Call) -> Response:
        self.leads.merge(
            call.path_params["id"],
            call.arg("leadId"),
            call.arg("leadIds"),
            _flag(call.arg("mergeInCRM")),
            call.request_id,
        )
        return success(call.request_id, include_result=False)

    # activities
    def _paging_token(self, call: Call) -> Response:
        token = self.activities.paging_token(call.arg("sinceDatetime"))
        return success(call.request_id, include_result=False, next_page_token=token)

    def _activities(self, call: Call) -> Response:
        result, token, more = self.activities.page(
            call.arg("nextPageToken"),
            call.arg("activityTypeIds"),
            call.arg("leadIds"),
            call.arg("batchSize"),
        )
        return success(call.request_id, result, next_page_token=token, more_result=more)

    def _lead_changes(self, call: Call) -> Response:
        result, token, more = self.activities.lead_changes(
            call.arg("nextPageToken"),
            call.arg("fields"),
            call.arg("leadIds"),
            call.arg("batchSize"),
            self.leads.field_ids,
        )
        return success(call.request_id, result, next_page_token=token, more_result=more)

    def _deleted_leads(self, call: Call) -> Response:
        result, token, more = self.activities.deleted_leads(
            call.arg("nextPageToken"), call.arg("batchSize")
        )
        return success(call.request_id, result, next_page_token=token, more_result=more)

    # custom objects
    def _co_list(self, call: Call) -> Response:
        return success(call.request_id, self.custom_objects.list_objects(call.arg("names")))

    def _co_describe(self, call: Call) -> Response:
        return success(call.request_id, self.custom_objects.describe(call.path_params["name"]))

    def _co_sync(self, call: Call) -> Response:
        return success(
            call.request_id, self.custom_objects.sync(call.path_params["name"], call.json_object())
        )

    def _co_query(self, call: Call) -> Response:
        body: dict[str, Any] = {}
        if (
            call.request.method == "POST"
            and "json" in (call.request.headers.get("Content-Type") or "").lower()
        ):
            body = call.json_object()
        result, token = self.custom_objects.query(
            call.path_params["name"],
            body.get("filterType") or call.arg("filterType"),
            body.get("filterValues") or call.arg("filterValues"),
            body.get("input"),
            body.get("fields") or call.arg("fields"),
            body.get("batchSize") or call.arg("batchSize"),
            body.get("nextPageToken") or call.arg("nextPageToken"),
        )
        return success(call.request_id, result, next_page_token=token)

    def _co_delete(self, call: Call) -> Response:
        return success(
            call.request_id,
            self.custom_objects.delete(call.path_params["name"], call.json_object()),
        )

    # schema: lead fields and custom object types
    def _lead_fields(self, call: Call) -> Response:
        result, token = self.schema_admin.lead_fields(call.arg("batchSize"), call.arg("nextPageToken"))
        return success(call.request_id, result, next_page_token=token, more_result=token is not None)

    def _lead_field(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.lead_field(call.path_params["name"]))

    def _lead_fields_create(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.create_lead_fields(call.json_object()))

    def _type_list(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.list_types(call.arg("names"), call.arg("state")))

    def _type_sync(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.sync_type(call.json_object()))

    def _type_data_types(self, call: Call) -> Response:
        from localcloud.marketo.schema_admin import CO_FIELD_TYPES

        return success(call.request_id, list(CO_FIELD_TYPES))

    def _type_linkable(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.linkable_objects())

    def _type_describe(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.describe_type(call.path_params["name"], call.arg("state")))

    def _type_add_fields(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.add_fields(call.path_params["name"], call.json_object()))

    def _type_approve(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.approve(call.path_params["name"]))

    def _type_discard(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.discard_draft(call.path_params["name"]))

    def _type_delete(self, call: Call) -> Response:
        return success(call.request_id, self.schema_admin.delete_type(call.path_params["name"]))

    # bulk lead extract
    def _export_create(self, call: Call) -> Response:
        return success(call.request_id, self.extracts.create(call.json_object()))

    def _export_list(self, call: Call) -> Response:
        return success(call.request_id, self.extracts.jobs(call.arg("status")))

    def _export_enqueue(self, call: Call) -> Response:
        return success(call.request_id, self.extracts.enqueue(call.path_params["id"]))

    def _export_cancel(self, call: Call) -> Response:
        return success(call.request_id, self.extracts.cancel(call.path_params["id"]))

    def _export_status(self, call: Call) -> Response:
        return success(call.request_id, self.extracts.status(call.path_params["id"]))

    def _export_file(self, call: Call) -> Response:
        content = self.extracts.file(call.path_params["id"])
        if content is None:  # Adobe: "404 Not Found, and a plaintext error message"
            return Response.text("Export job not found or not completed", 404, "text/plain")
        return Response(status=200, body=content, headers={"Content-Type": "text/csv;charset=UTF-8"})

    # bulk
    def _bulk_submit(self, call: Call, object_name: str | None = None) -> Response:
        parts = parse_multipart(call.request.headers.get("Content-Type") or "", call.request.body)
        if "file" not in parts:
            raise CallError("1003", "The multipart body has no 'file' part")

        def part(name: str) -> str | None:
            value = call.arg(name)
            if value is None and name in parts:
                value = parts[name][0].decode("utf-8", "replace")
            return value

        job = self.bulk.submit(
            parts["file"][0], part("format"), part("lookupField"), part("partitionName"), object_name
        )
        return success(call.request_id, [job])

    def _bulk_co_submit(self, call: Call) -> Response:
        return self._bulk_submit(call, call.path_params["name"])

    def _bulk_co_status(self, call: Call) -> Response:
        return success(
            call.request_id, [self.bulk.status(call.path_params["id"], call.path_params["name"])]
        )

    def _bulk_co_failures(self, call: Call) -> Response:
        return self._bulk_co_file(self.bulk.failures(call.path_params["id"], call.path_params["name"]))

    def _bulk_co_warnings(self, call: Call) -> Response:
        return self._bulk_co_file(self.bulk.warnings(call.path_params["id"], call.path_params["name"]))

    @staticmethod
    def _bulk_co_file(text: str) -> Response:
        """Adobe: "If no failure file exists, an HTTP 404 status code is returned" (same for warnings)."""
        if not text:
            return Response.text("Not Found", 404)
        return Response.text(text, 200, "text/csv;charset=UTF-8")

    def _bulk_status(self, call: Call) -> Response:
        return success(call.request_id, [self.bulk.status(call.path_params["id"])])

    def _bulk_failures(self, call: Call) -> Response:
        return Response.text(
            self.bulk.failures(call.path_params["id"]), 200, "text/csv;charset=UTF-8"
        )

    def _bulk_warnings(self, call: Call) -> Response:
        return Response.text(
            self.bulk.warnings(call.path_params["id"]), 200, "text/csv;charset=UTF-8"
        )


def create_app(data_dir: Path, config_path: Path | None = None, *, fresh: bool = False) -> MarketoService:
    """``fresh``: start like a new instance, without the lead fields and custom objects ECBridge provisions."""
    return MarketoService(Path(data_dir), Path(config_path) if config_path else None, fresh=fresh)


@dataclass
class LocalMarketo:
    url: str
    client_id: str
    client_secret: str
    service: MarketoService
    ca_bundle: Path
    _server: Any

    def stop(self) -> None:
        self.service._stopping.set()
        self._server.stop()
        self.service.close()


def start_local_marketo(
    data_dir: Path,
    port: int = 0,
    config_path: Path | None = None,
    certs_dir: Path | None = None,
    *,
    fresh: bool = False,
) -> LocalMarketo:
    """Serve the local Marketo over HTTPS on 127.0.0.1 (port 0 picks a free port)."""
    data_dir = Path(data_dir)
    service = create_app(data_dir, config_path, fresh=fresh)
    certificates = ensure_certificates(Path(certs_dir) if certs_dir else data_dir / "certs")
    server = serve(service, port=port, ssl_context=certificates.server_context())
    return LocalMarketo(
        url=server.url,
        client_id=service.credentials.client_id,
        client_secret=service.credentials.client_secret,
        service=service,
        ca_bundle=certificates.bundle,
        _server=server,
    )


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout``; a helper for callers waiting on bulk jobs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
