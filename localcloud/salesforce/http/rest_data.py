"""REST data API under ``/services/data/vXX.X/``: describe, records, upsert, collections, query, limits.

Every request runs in exactly one data ``Transaction``: it commits when the handler returns and
rolls back when it raises, so a failed request leaves nothing half-written. Call-level failures
answer Salesforce's error array; record-level failures in collections answer per record with
``statusCode``.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Callable, Iterator

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.data import (
    InvalidTypeError,
    RecordError,
    SalesforceError,
    SaveResult,
    Transaction,
    is_valid_id,
    to18,
)
from localcloud.salesforce.data.changeevents import change_event_object
from localcloud.salesforce.data.sosl import search_hits as search_sosl
from localcloud.salesforce.http import listviews
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import RestError, error_response
from localcloud.salesforce.http.versions import is_supported

V = r"/services/data/v(?P<version>\d+\.\d)"
MAX_COLLECTION_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone header",
)

Handler = Callable[[Request], Response]


def parse_json_body(request: Request) -> Any:
    if not request.body:
        raise RestError(400, "JSON_PARSER_ERROR", "The request body is empty")
    try:
        return json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RestError(400, "JSON_PARSER_ERROR", f"Unexpected character in the request body: {error}") from error


def record_error_response(errors: list[RecordError], status: int = 400) -> Response:
    return Response.json(
        [{"message": e.message, "errorCode": e.status_code, "fields": list(e.fields)} for e in errors], status
    )


def strip_attributes(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "attributes"}


class DataRoutes:
    """The handlers; each runs inside ``self.transaction`` via ``self.wrap``."""

    def __init__(self, context: OrgContext):
        self.context = context

    # -- plumbing ---------------------------------------------------------------------------------

    @property
    def store(self) -> Any:
        return self.context.data

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self.store.transaction(user_id=self.context.user_id) as tx:
            yield tx

    def wrap(self, handler: Callable[[Request, Transaction], Response]) -> Handler:
        def run(request: Request) -> Response:
            version = request.path_params.get("version")
            if version and not is_supported(version):
                return error_response(404, "NOT_FOUND", "The requested resource does not exist")
            shared = SHARED_TRANSACTION.get()
            if shared is not None:
                return _run_in_shared(shared, handler, request)
            try:
                with self.transaction() as tx:
                    response = handler(request, tx)
                    if response.status >= 400:
                        raise _RollBack(response)  # an error answer leaves nothing written
                    return response
            except _RollBack as rolled:
                return rolled.response
            except RestError as error:
                return error.response()
            except SalesforceError as error:
                return _error_answer(request, error)

        return run

    def record_url(self, version: str, sobject: str, record_id: str) -> str:
        return f"/services/data/v{version}/sobjects/{sobject}/{record_id}"

    # -- describe ---------------------------------------------------------------------------------

    def global_describe(self, request: Request, tx: Transaction) -> Response:
        return Response.json(tx.schema.describe_global(request.path_params["version"]))

    def sobject_basic_info(self, request: Request, tx: Transaction) -> Response:
        describe = tx.schema.describe(request.path_params["sobject"], request.path_params["version"])
        keep = (
            "activateable", "createable", "custom", "customSetting", "deletable", "deprecatedAndHidden",
            "feedEnabled", "hasSubtypes", "isSubtype", "keyPrefix", "label", "labelPlural", "layoutable",
            "mergeable", "mruEnabled", "name", "queryable", "replicateable", "retrieveable", "searchable",
            "triggerable", "undeletable", "updateable", "urls",
        )
        return Response.json({"objectDescribe": {k: describe[k] for k in keep if k in describe}, "recentItems": []})

    def describe(self, request: Request, tx: Transaction) -> Response:
        name, version = request.path_params["sobject"], request.path_params["version"]
        # AccountChangeEvent, X__ChangeEvent: describable, never stored (data/changeevents.py)
        event = change_event_object(tx.schema, name) if tx.schema.find(name) is None else None
        if event is not None:
            return Response.json(event.describe(tx.schema, version))
        return Response.json(tx.schema.describe(name, version))

    # -- single records ---------------------------------------------------------------------------

    def create(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        body = parse_json_body(request)
        if not isinstance(body, dict):
            raise RestError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
        [result] = tx.insert(sobject, [strip_attributes(body)], all_or_none=True)
        if not result.success:
            return record_error_response(result.errors)
        return Response.json({"id": result.id, "success": True, "errors": []}, 201)

    def _object_and_id(self, request: Request, tx: Transaction) -> tuple[str, str]:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        record_id = request.path_params["record_id"]
        if not is_valid_id(record_id):
            raise RestError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
            )
        return sobject, to18(record_id)

    def retrieve(self, request: Request, tx: Transaction) -> Response:
        sobject, record_id = self._object_and_id(request, tx)
        fields = request.arg("fields")
        record = tx.retrieve(sobject, record_id, [f.strip() for f in fields.split(",") if f.strip()] if fields else None)
        if record is None:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        return Response.json(record)

    def update(self, request: Request, tx: Transaction) -> Response:
        sobject, record_id = self._object_and_id(request, tx)
        body = parse_json_body(request)
        if not isinstance(body, dict):
            raise RestError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
        if tx.retrieve(sobject, record_id, ["Id"]) is None:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        fields = strip_attributes(body)
        fields.pop("Id", None)
        [result] = tx.update(sobject, [{**fields, "Id": record_id}], all_or_none=True)
        if not result.success:
            return record_error_response(result.errors)
        return Response.empty(204)

    def delete(self, request: Request, tx: Transaction) -> Response:
        sobject, record_id = self._object_and_id(request, tx)
        if tx.retrieve(sobject, record_id, ["Id"]) is None:
            raise RestError(404, "ENTITY_IS_DELETED", "entity is deleted")
        [result] = tx.delete([record_id], all_or_none=True)
        if not result.success:
            return record_error_response(result.errors)
        return Response.empty(204)

    # -- by external id ---------------------------------------------------------------------------

    def _external_field(self, tx: Transaction, sobject: str, field_name: str) -> str:
        field = tx.schema.get(sobject).find_field(field_name)
        if field is None or not (field.external_id or field.name == "Id"):
            raise RestError(404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}")
        return field.name

    def _matches(self, tx: Transaction, sobject: str, field_name: str, value: str) -> list[str]:
        if field_name == "Id":
            if not is_valid_id(value):
                return []
            return [to18(value)] if tx.retrieve(sobject, to18(value), ["Id"]) else []
        return tx.find_ids_by_field(sobject, field_name, value)

    def _multiple_choices(self, version: str, sobject: str, ids: list[str]) -> Response:
        return Response.json([self.record_url(version, sobject, i) for i in ids], 300)

    def blob_or_external_id(self, request: Request, tx: Transaction) -> Response:
        """``/sobjects/ContentVersion/{id}/VersionData``: the bytes of a base64 field (the URL records
        carry for it); any other ``/sobjects/{object}/{field}/{value}`` is a lookup by external id."""
        od = tx.schema.get(request.path_params["sobject"])
        record_id, field_name = request.path_params["field"], request.path_params["value"].rstrip("/")
        blob_field = od.find_field(field_name) if od is not None and is_valid_id(record_id) else None
        if blob_field is None or blob_field.type != "base64":
            return self.get_by_external_id(request, tx)
        record = tx.retrieve(od.name, to18(record_id), [blob_field.name], typed=True)
        if record is None:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        data = record[blob_field.name] or b""
        return Response(200, data, {"Content-Type": "application/octetstream"})

    def get_by_external_id(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        field_name = self._external_field(tx, sobject, request.path_params["field"])
        ids = self._matches(tx, sobject, field_name, request.path_params["value"])
        if not ids:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(ids) > 1:
            return self._multiple_choices(request.path_params["version"], sobject, ids)
        fields = request.arg("fields")
        record = tx.retrieve(sobject, ids[0], [f.strip() for f in fields.split(",") if f.strip()] if fields else None)
        return Response.json(record)

    def upsert(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        field_name = self._external_field(tx, sobject, request.path_params["field"])
        value = request.path_params["value"]
        body = parse_json_body(request)
        if not isinstance(body, dict):
            raise RestError(400, "JSON_PARSER_ERROR", "Expected a JSON object for the record")
        record = strip_attributes(body)
        if any(k.lower() == field_name.lower() for k in record):
            given = next(v for k, v in record.items() if k.lower() == field_name.lower())
            if str(given) != value:
                raise RestError(400, "INVALID_FIELD", f"The external ID field {field_name} is specified in both the URL and the body with different values", [field_name])
            record = {k: v for k, v in record.items() if k.lower() != field_name.lower()}
        if field_name == "Id":
            ids = self._matches(tx, sobject, "Id", value)
            if not ids:
                raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
            [result] = tx.update(sobject, [{**record, "Id": ids[0]}], all_or_none=True)
            result.created = False
        else:
            [result] = tx.upsert(sobject, [{**record, field_name: value}], field_name, all_or_none=True)
        if result.matches and len(result.matches) > 1:
            return self._multiple_choices(request.path_params["version"], sobject, result.matches)
        if not result.success:
            return record_error_response(result.errors)
        payload = {"id": result.id, "success": True, "errors": [], "created": bool(result.created)}
        return Response.json(payload, 201 if result.created else 200)

    def delete_by_external_id(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        field_name = self._external_field(tx, sobject, request.path_params["field"])
        ids = self._matches(tx, sobject, field_name, request.path_params["value"])
        if not ids:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(ids) > 1:
            return self._multiple_choices(request.path_params["version"], sobject, ids)
        [result] = tx.delete(ids, all_or_none=True)
        if not result.success:
            return record_error_response(result.errors)
        return Response.empty(204)

    # -- sObject collections ----------------------------------------------------------------------

    def _collection_body(self, request: Request) -> tuple[bool, list[dict[str, Any]]]:
        body = parse_json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise RestError(400, "JSON_PARSER_ERROR", "Expected {\"allOrNone\": bool, \"records\": [...]}")
        records = body["records"]
        if len(records) > MAX_COLLECTION_RECORDS:
            raise RestError(400, "EXCEEDED_ID_LIMIT", f"Maximum number of records allowed is {MAX_COLLECTION_RECORDS}")
        return bool(body.get("allOrNone", False)), records

    @staticmethod
    def _type_of(record: Any) -> str | None:
        if not isinstance(record, dict):
            return None
        attributes = record.get("attributes")
        return attributes.get("type") if isinstance(attributes, dict) else None

    def _run_grouped(
        self,
        tx: Transaction,
        records: list[Any],
        all_or_none: bool,
        operation: Callable[[str, list[dict[str, Any]], bool], list[SaveResult]],
        type_for: Callable[[Any], str | None],
    ) -> list[SaveResult]:
        """Run ``operation`` on consecutive runs of records of one type, as Salesforce chunks a
        collection; with allOrNone any failure rolls every record back."""
        results: list[SaveResult | None] = [None] * len(records)
        groups: list[tuple[str, list[int]]] = []
        for index, record in enumerate(records):
            sobject = type_for(record)
            if sobject is None:
                results[index] = SaveResult(None, False, [RecordError("INVALID_TYPE", "sObject type must be specified in attributes.type")])
                continue
            try:
                sobject = tx.schema.get(sobject).name
            except SalesforceError as error:
                results[index] = SaveResult(None, False, [RecordError(error.error_code, error.message)])
                continue
            if groups and groups[-1][0] == sobject:
                groups[-1][1].append(index)
            else:
                groups.append((sobject, [index]))
        savepoint = tx.savepoint() if all_or_none else None
        failed = any(r is not None for r in results)
        for sobject, indexes in groups:
            if failed and all_or_none:
                break
            chunk = [strip_attributes(records[i]) for i in indexes]
            for index, result in zip(indexes, operation(sobject, chunk, all_or_none)):
                results[index] = result
                failed = failed or not result.success
        if all_or_none and failed:
            tx.rollback_to(savepoint)
            results = [
                r if (r is not None and not r.success and not _only_rolled_back(r)) else SaveResult(None, False, [ROLLED_BACK])
                for r in results
            ]
            for r in results:
                r.id = None
        return [r for r in results if r is not None]

    def collection_create(self, request: Request, tx: Transaction) -> Response:
        all_or_none, records = self._collection_body(request)
        results = self._run_grouped(
            tx, records, all_or_none, lambda s, rs, aon: tx.insert(s, rs, all_or_none=aon), self._type_of
        )
        return Response.json([_collection_json(r) for r in results])

    def collection_update(self, request: Request, tx: Transaction) -> Response:
        all_or_none, records = self._collection_body(request)

        def type_for(record: Any) -> str | None:
            declared = self._type_of(record)
            if declared:
                return declared
            record_id = record.get("Id") if isinstance(record, dict) else None
            if isinstance(record_id, str) and is_valid_id(record_id):
                found = tx.schema.by_key_prefix(record_id[:3])
                return found.name if found else None
            return None

        results = self._run_grouped(
            tx, records, all_or_none, lambda s, rs, aon: tx.update(s, rs, all_or_none=aon), type_for
        )
        return Response.json([_collection_json(r) for r in results])

    def collection_upsert(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        field_name = self._external_field(tx, sobject, request.path_params["field"])
        all_or_none, records = self._collection_body(request)
        for record in records:
            declared = self._type_of(record)
            if declared and declared.lower() != sobject.lower():
                raise RestError(400, "INVALID_FIELD", f"Record type {declared} does not match the URL's {sobject}")
        results = self._run_grouped(
            tx, records, all_or_none,
            lambda s, rs, aon: tx.upsert(s, rs, field_name, all_or_none=aon),
            lambda record: sobject if isinstance(record, dict) else None,
        )
        return Response.json([_collection_json(r, upsert=True) for r in results])

    def collection_delete(self, request: Request, tx: Transaction) -> Response:
        ids = [i for i in (request.arg("ids") or "").split(",") if i]
        all_or_none = (request.arg("allOrNone") or "false").lower() == "true"
        if not ids:
            raise RestError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > MAX_COLLECTION_RECORDS:
            raise RestError(400, "EXCEEDED_ID_LIMIT", f"Maximum number of records allowed is {MAX_COLLECTION_RECORDS}")
        results: list[SaveResult | None] = [None] * len(ids)
        valid: list[int] = []
        for index, value in enumerate(ids):
            if is_valid_id(value):
                valid.append(index)
            else:
                results[index] = SaveResult(None, False, [RecordError("MALFORMED_ID", f"malformed id {value}")])
        savepoint = tx.savepoint() if all_or_none else None
        failed = any(r is not None for r in results)
        if valid and not (failed and all_or_none):
            for index, result in zip(valid, tx.delete([to18(ids[i]) for i in valid], all_or_none=all_or_none)):
                results[index] = result
                failed = failed or not result.success
        if all_or_none and failed:
            tx.rollback_to(savepoint)
            results = [
                r if (r is not None and not r.success and not _only_rolled_back(r)) else SaveResult(None, False, [ROLLED_BACK])
                for r in results
            ]
        return Response.json([_collection_json(r) for r in results if r is not None])

    def collection_retrieve(self, request: Request, tx: Transaction) -> Response:
        sobject = tx.schema.get(request.path_params["sobject"]).name
        if request.method == "POST":
            body = parse_json_body(request)
            ids, fields = body.get("ids") or [], body.get("fields") or []
        else:
            ids = [i for i in (request.arg("ids") or "").split(",") if i]
            fields = [f for f in (request.arg("fields") or "").split(",") if f]
        if not fields:
            raise RestError(400, "MISSING_ARGUMENT", "fields parameter is required")
        if len(ids) > 2000:
            raise RestError(400, "EXCEEDED_ID_LIMIT", "Maximum number of ids allowed is 2000")
        out = []
        for value in ids:
            out.append(tx.retrieve(sobject, to18(value), fields) if is_valid_id(value) else None)
        return Response.json(out)

    # -- query ------------------------------------------------------------------------------------

    def query(self, request: Request, tx: Transaction) -> Response:
        soql = request.arg("q")
        if not soql:
            raise RestError(400, "MALFORMED_QUERY", "A query string has to be specified")
        include_deleted = "/queryAll" in request.path
        result = tx.query(soql, include_deleted=include_deleted)
        return Response.json(result.to_json(request.path_params["version"]))

    def search(self, request: Request, tx: Transaction) -> Response:
        """SOSL (``data/sosl.py``): ``{"searchRecords": [...]}``, the objects in RETURNING order; with WITH
        SNIPPET / WITH HIGHLIGHT each record also has ``snippet.text`` and ``highlight.<Field>``."""
        sosl = request.arg("q")
        if not sosl:
            raise RestError(400, "MALFORMED_SEARCH", "A search string has to be specified")
        found = search_sosl(tx, sosl)
        return Response.json({"searchRecords": [{**record, **hit.rest_keys()} for _, records, hits in found
                                                for record, hit in zip(records, hits)]})

    def query_more(self, request: Request, tx: Transaction) -> Response:
        result = self.store.query_more(request.path_params["locator"])
        return Response.json(result.to_json(request.path_params["version"]))

    # -- limits -----------------------------------------------------------------------------------

    def limits(self, request: Request, tx: Transaction) -> Response:
        used = self.context.identity.api_calls(self.context.today())
        maximum = self.context.daily_api_requests
        payload = limits_payload(maximum, used)
        for extra in self.context.extras.get("limits", []):  # e.g. the Pub/Sub API's event deliveries
            payload.update(extra())
        return Response.json(dict(sorted(payload.items())))

    def record_count(self, request: Request, tx: Transaction) -> Response:
        names = [n for n in (request.arg("sObjects") or "").split(",") if n]
        if not names:
            names = [o.name for o in tx.schema.objects()]
        counts = []
        for name in names:
            sobject = tx.schema.find(name)
            if sobject is None or not sobject.describe().get("queryable", True):
                continue
            try:
                total = tx.query(f"SELECT COUNT() FROM {sobject.name}").total_size
            except SalesforceError:
                continue
            counts.append({"count": total, "name": sobject.name})
        return Response.json({"sObjects": counts})


def _error_answer(request: Request, error: SalesforceError) -> Response:
    """A call-level error; an unknown sObject named in the URL is a missing resource (404), as on Salesforce."""
    if isinstance(error, InvalidTypeError) and request.path_params.get("sobject"):
        return error_response(404, "NOT_FOUND", "The requested resource does not exist")
    return Response.json(error.to_json(), error.http_status)


#: Set by the composite resource: subrequests then run inside the composite's one transaction.
SHARED_TRANSACTION: ContextVar[Transaction | None] = ContextVar("shared_transaction", default=None)


def _run_in_shared(tx: Transaction, handler: Callable[[Request, Transaction], Response], request: Request) -> Response:
    """Run one subrequest inside a shared transaction; a failing subrequest is undone to its savepoint."""
    savepoint = tx.savepoint()
    try:
        response = handler(request, tx)
    except RestError as error:
        response = error.response()
    except SalesforceError as error:
        response = _error_answer(request, error)
    if response.status >= 400:
        tx.rollback_to(savepoint)
    return response


class _RollBack(Exception):
    def __init__(self, response: Response):
        super().__init__("rolled back")
        self.response = response


def _only_rolled_back(result: SaveResult) -> bool:
    return bool(result.errors) and all(e.status_code == ROLLED_BACK.status_code for e in result.errors)


def _collection_json(result: SaveResult, upsert: bool = False) -> dict[str, Any]:
    """One collection result: failed records carry no id; upsert results always say ``created``."""
    payload = result.to_json()
    if upsert:
        payload.setdefault("created", False)
    elif not result.success:
        payload["id"] = None
        payload.pop("created", None)
    return payload


def limits_payload(maximum: int, used: int) -> dict[str, Any]:
    def block(limit: int, remaining: int) -> dict[str, int]:
        return {"Max": limit, "Remaining": max(0, remaining)}

    return {
        "DailyApiRequests": block(maximum, maximum - used),
        "DailyAsyncApexExecutions": block(250000, 250000),
        "DailyBulkApiBatches": block(15000, 15000),
        "DailyBulkV2QueryJobs": block(10000, 10000),
        "DailyBulkV2QueryFileStorageMB": block(976562, 976562),
        "DailyGenericStreamingApiEvents": block(10000, 10000),
        "DailyStreamingApiEvents": block(10000, 10000),
        "DailyWorkflowEmails": block(2000, 2000),
        "DataStorageMB": block(5, 5),
        "FileStorageMB": block(20, 20),
        "HourlyTimeBasedWorkflow": block(50, 50),
        "MassEmail": block(10, 10),
        "SingleEmail": block(15, 15),
        "StreamingApiConcurrentClients": block(20, 20),
    }


def register(router: Router, context: OrgContext) -> None:
    routes = DataRoutes(context)
    w = routes.wrap
    obj = r"(?P<sobject>\w+)"
    router.add("GET", V + r"/?", w(lambda r, tx: Response.json(resources(r.path_params["version"]))))
    router.add("GET", V + r"/limits/?", w(routes.limits))
    router.add("GET", V + r"/limits/recordCount/?", w(routes.record_count))
    router.add("GET", V + r"/sobjects/?", w(routes.global_describe))
    router.add("GET", V + rf"/sobjects/{obj}/describe/?", w(routes.describe))
    lv = V + rf"/sobjects/{obj}/listviews"  # REST List Views (listviews.py), before /sobjects/X/{id}
    router.add("GET", lv + r"/?", w(listviews.list_views_of))
    router.add("GET", lv + r"/(?P<view_id>\w+)/?", w(listviews.list_view))
    router.add("GET", lv + r"/(?P<view_id>\w+)/describe/?", w(listviews.describe))
    router.add("GET", lv + r"/(?P<view_id>\w+)/results/?", w(listviews.results))
    router.add("GET", V + rf"/sobjects/{obj}/?", w(routes.sobject_basic_info))
    router.add("POST", V + rf"/sobjects/{obj}/?", w(routes.create))
    router.add("GET", V + rf"/sobjects/{obj}/(?P<record_id>[^/]+)/?", w(routes.retrieve))
    router.add("PATCH", V + rf"/sobjects/{obj}/(?P<record_id>[^/]+)/?", w(routes.update))
    router.add("DELETE", V + rf"/sobjects/{obj}/(?P<record_id>[^/]+)/?", w(routes.delete))
    router.add("GET", V + rf"/sobjects/{obj}/(?P<field>\w+)/(?P<value>.+)", w(routes.blob_or_external_id))
    router.add("PATCH", V + rf"/sobjects/{obj}/(?P<field>\w+)/(?P<value>.*)", w(routes.upsert))
    router.add("POST", V + rf"/sobjects/{obj}/(?P<field>\w+)/(?P<value>.*)", w(routes.upsert))
    router.add("DELETE", V + rf"/sobjects/{obj}/(?P<field>\w+)/(?P<value>.+)", w(routes.delete_by_external_id))
    router.add("POST", V + r"/composite/sobjects/?", w(routes.collection_create))
    router.add("PATCH", V + r"/composite/sobjects/?", w(routes.collection_update))
    router.add("DELETE", V + r"/composite/sobjects/?", w(routes.collection_delete))
    router.add(("GET", "POST"), V + rf"/composite/sobjects/{obj}/?", w(routes.collection_retrieve))
    router.add("PATCH", V + rf"/composite/sobjects/{obj}/(?P<field>\w+)/?", w(routes.collection_upsert))
    router.add("GET", V + r"/(query|queryAll)/?", w(routes.query))
    router.add("GET", V + r"/search/?", w(routes.search))
    router.add("GET", V + r"/(query|queryAll)/(?P<locator>[^/]+)/?", w(routes.query_more))


def resources(version: str) -> dict[str, str]:
    base = f"/services/data/v{version}"
    return {
        name: f"{base}/{path}"
        for name, path in {
            "sobjects": "sobjects", "query": "query", "queryAll": "queryAll", "limits": "limits",
            "composite": "composite", "tooling": "tooling", "metadata": "metadata", "search": "search",
        }.items()
    }


__all__ = ["register", "DataRoutes", "limits_payload", "parse_json_body"]
