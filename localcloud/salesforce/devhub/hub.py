"""The local org as a Dev Hub: ``ScratchOrgInfo`` and ``ActiveScratchOrg`` over its REST API.

What the sf CLI's scratch org creation (``@salesforce/core`` ``scratchOrgCreate`` / ``scratchOrgInfoApi``)
and ``Org.delete`` call on a Dev Hub, answered in Salesforce's shapes:

- ``POST sobjects/ScratchOrgInfo`` with the definition's fields (``Edition``, ``Features``, ``DurationDays``,
  ``OrgName``, ``AdminEmail``, ``Username``, ``ConnectedAppConsumerKey``, ``ConnectedAppCallbackUrl``...):
  a new, separate org is made (its own folder, organization id, admin user, data, metadata and Apex) and
  served on its own port; the record is Active at once;
- ``GET sobjects/ScratchOrgInfo/{id}``: ``Status``, ``SignupUsername``, ``LoginUrl`` (the new org's
  instance URL), ``AuthCode`` (one use, for ``grant_type=authorization_code`` at ``LoginUrl`` with the
  consumer key and callback URL of the request), ``ScratchOrg`` (its org id), ``ExpirationDate``;
- ``query`` of ``ScratchOrgInfo`` / ``ActiveScratchOrg`` with ``WHERE f = 'v' [AND ...]`` and ``LIMIT``
  (what the CLI sends); anything else about these two objects answers 400 ``MALFORMED_QUERY`` naming it;
- ``GET`` / ``DELETE sobjects/ActiveScratchOrg/{id}``: deleting removes the org and its data; the
  ``ScratchOrgInfo`` stays, ``Deleted``. An org past ``ExpirationDate`` is deleted the same way.

Every other request goes to the hub org itself, unchanged. ``PersonAccounts`` turns Person Accounts on in
the new org (a scratch org without it has none); other features the local org cannot apply are refused
with 400 ``INVALID_INPUT`` naming them (nothing is half made).
"""
from __future__ import annotations

import logging
import re
import ssl
import threading
from pathlib import Path
from typing import Any, Callable

from localcloud.common.httpserver import Request, Response
from localcloud.salesforce.devhub.farm import DEFAULT_IDLE_SECONDS, Farm
from localcloud.salesforce.devhub.registry import (
    DEFAULT_DURATION_DAYS, EDITIONS, MAX_DURATION_DAYS, ORG_TYPES, Registry, ScratchOrgRow, iso, iso_date,
    signup_username,
)
from localcloud.salesforce.data import personaccounts
from localcloud.salesforce.http import errors
from localcloud.salesforce.http.context import OrgContext

log = logging.getLogger(__name__)

#: Features a Developer Edition local org already has: accepted, nothing to apply.
BUILT_IN_FEATURES = {"api", "authorapex", "debugapex"}
#: Features the local org applies to the new org (an org without them lacks them).
APPLIED_FEATURES: dict[str, Callable[[Any], Any]] = {"personaccounts": personaccounts.enable_store}
_CREATE_FIELDS = {
    "edition", "features", "durationdays", "orgname", "adminemail", "username", "connectedappconsumerkey",
    "connectedappcallbackurl", "country", "language", "description", "hassampledata", "namespace", "release",
    "sourceorg", "snapshot", "template", "instance", "package2ancestorids",
}
_VERSION = r"/services/data/v\d+\.\d"
_SOBJECT = re.compile(_VERSION + r"/sobjects/(?P<object>ScratchOrgInfo|ActiveScratchOrg)(?:/(?P<id>\w{15,18}))?/?",
                      re.I)
_QUERY = re.compile(_VERSION + r"/query/?")
_SOQL = re.compile(r"\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)(?:\s+WHERE\s+(?P<where>.+?))?"
                   r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*", re.I | re.S)
_CONDITION = re.compile(r"\s*\(?\s*(?P<field>\w+)\s*(?:=\s*'(?P<value>(?:[^'\\]|\\.)*)'"
                        r"|IN\s*\((?P<values>\s*'(?:[^'\\]|\\.)*'(?:\s*,\s*'(?:[^'\\]|\\.)*')*\s*)\))\s*\)?\s*", re.S | re.I)
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_ID_FIELDS = {"id", "scratchorg", "scratchorginfoid"}
_CREATED_BY = {"createdby.username": "Username", "createdby.id": "Id", "createdby.name": "Name"}
_HUB_OBJECT = re.compile(r"\bFROM\s+(ScratchOrgInfo|ActiveScratchOrg)\b", re.I)


class DevHubError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class DevHub:
    """The scratch orgs of one hub org: their books (``Registry``) and their servers (``Farm``)."""

    def __init__(self, folder: Path, ssl_context: ssl.SSLContext | None, host: str = "127.0.0.1",
                 idle_seconds: float = DEFAULT_IDLE_SECONDS):
        self.folder = folder
        self.host = host
        self.hub_identity: Any = None  # the hub org's OrgIdentity (DevHubApp sets it): CreatedBy of every org
        self.registry = Registry(folder / "registry.sqlite3")
        self.farm = Farm(folder / "orgs", ssl_context, host=host, idle_seconds=idle_seconds)
        self._create_lock = threading.Lock()
        self.expire_due()
        for row in self.registry.active():  # after a restart: listen again on each org's own port
            try:
                self.farm.start(row.org_number, row.port)
            except OSError as error:
                log.error("scratch org %s (%s) cannot listen on its port %s again: %s; its LoginUrl is unreachable",
                          row.org_id, row.username, row.port, error)

    # -- the books, in Salesforce's shapes ---------------------------------------------------------

    def scratch_org_info(self, row: ScratchOrgRow) -> dict[str, Any]:
        return {
            "attributes": {"type": "ScratchOrgInfo", "url": f"/services/data/v62.0/sobjects/ScratchOrgInfo/{row.info_id}"},
            "Id": row.info_id, "Status": row.status, "Edition": row.edition,
            "Features": ";".join(row.features) or None, "OrgName": row.org_name, "Description": row.description,
            "DurationDays": row.duration_days, "Username": row.username, "SignupUsername": row.username,
            "SignupEmail": row.admin_email, "AdminEmail": row.admin_email, "Country": row.country,
            "Language": row.language, "Namespace": row.namespace,
            "ScratchOrg": row.org_id15 if row.org_id else None,
            "LoginUrl": row.login_url(self.host) if row.status == "Active" else None,
            "SignupInstance": None, "AuthCode": row.auth_code if row.status == "Active" else None,
            "ConnectedAppConsumerKey": row.consumer_key, "ConnectedAppCallbackUrl": row.callback_url,
            "ExpirationDate": iso_date(row.expires_ms), "CreatedDate": iso(row.created_ms),
            "DeletedDate": iso(row.deleted_ms), "ErrorCode": None,
        }

    def active_scratch_org(self, row: ScratchOrgRow) -> dict[str, Any]:
        return {
            "attributes": {"type": "ActiveScratchOrg", "url": f"/services/data/v62.0/sobjects/ActiveScratchOrg/{row.active_id}"},
            "Id": row.active_id, "ScratchOrg": row.org_id15, "ScratchOrgInfoId": row.info_id,
            "SignupUsername": row.username, "Edition": row.edition, "OrgName": row.org_name,
            "Description": row.description, "Namespace": row.namespace,
            "ExpirationDate": iso_date(row.expires_ms), "CreatedDate": iso(row.created_ms),
        }

    # -- lifecycle ---------------------------------------------------------------------------------

    def create(self, fields: dict[str, Any]) -> ScratchOrgRow:
        values = {key.lower(): value for key, value in fields.items()}
        unknown = sorted(key for key, value in fields.items() if key.lower() not in _CREATE_FIELDS)
        if unknown:
            raise DevHubError(400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type ScratchOrgInfo")
        edition = EDITIONS.get(str(values.get("edition") or "").strip().lower())
        if edition is None:
            raise DevHubError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"Edition: bad value for restricted picklist field: {values.get('edition')}")
        missing = [name for name in ("ConnectedAppConsumerKey", "ConnectedAppCallbackUrl") if not values.get(name.lower())]
        if missing:
            raise DevHubError(400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]")
        raw_features = values.get("features") or ""
        features = [f.strip() for f in (raw_features.split(";") if isinstance(raw_features, str) else raw_features)
                    if str(f).strip()]
        refused = [f for f in features if f.split(":")[0].lower() not in BUILT_IN_FEATURES | set(APPLIED_FEATURES)]
        if refused:
            raise DevHubError(400, "INVALID_INPUT", "The local Dev Hub cannot make a scratch org with "
                              f"{', '.join(refused)}: the local org does not implement {'them' if len(refused) > 1 else 'it'}")
        for unsupported in ("sourceorg", "snapshot", "template", "release", "instance", "package2ancestorids"):
            if values.get(unsupported):
                raise DevHubError(400, "INVALID_INPUT",
                                  f"The local Dev Hub cannot make a scratch org from {unsupported}={values[unsupported]!r}")
        try:
            days = int(values.get("durationdays") or DEFAULT_DURATION_DAYS)
        except (TypeError, ValueError):
            raise DevHubError(400, "INVALID_TYPE_ON_FIELD_IN_RECORD", "DurationDays: value not of required type") from None
        if not 1 <= days <= MAX_DURATION_DAYS:
            raise DevHubError(400, "FIELD_INTEGRITY_EXCEPTION", f"DurationDays must be between 1 and {MAX_DURATION_DAYS}")
        username = str(values.get("username") or "").strip().lower() or signup_username()
        with self._create_lock:
            if self.registry.username_taken(username):
                raise DevHubError(400, "DUPLICATE_USERNAME", f"The username {username} is already in use")
            row = self.registry.reserve(
                edition=edition, features=features, org_name=str(values.get("orgname") or "Company"),
                description=values.get("description"), duration_days=days, username=username,
                admin_email=values.get("adminemail"), country=values.get("country"), language=values.get("language"),
                consumer_key=str(values["connectedappconsumerkey"]), callback_url=str(values["connectedappcallbackurl"]),
                namespace=values.get("namespace") or None)
            try:
                return self._make(row)
            except Exception:
                self.farm.delete(row.org_number)
                self.registry.forget_failed(row.info_id)
                raise

    def _make(self, row: ScratchOrgRow) -> ScratchOrgRow:
        lazy, server = self.farm.start(row.org_number)
        org = lazy.open()
        store = org.store
        for feature in row.features:
            apply = APPLIED_FEATURES.get(feature.split(":")[0].lower())
            if apply is not None:
                apply(store)
        with store.transaction(user_id=store.user_id) as tx:
            results = tx.update("User", [{"Id": store.user_id, "Username": row.username,
                                          **({"Email": row.admin_email} if row.admin_email else {})}],
                                read_only_fields="write")
            results += tx.update("Organization", [{
                "Id": store.org_id, "Name": row.org_name, "OrganizationType": ORG_TYPES[row.edition],
                "TrialExpirationDate": iso(row.expires_ms), **({"Country": row.country} if row.country else {}),
            }], read_only_fields="write")
        failed = [result for result in results if not getattr(result, "success", True)]
        if failed:
            raise DevHubError(400, "FIELD_INTEGRITY_EXCEPTION", f"the new org's admin or organization: {failed}")
        org_id = store.org_id
        lazy.close()  # reopened by the first request, with the identity of the new admin user
        code = lazy.open().context.identity.issue_auth_code(row.consumer_key, row.callback_url)
        made = self.registry.activate(row.info_id, org_id=org_id, port=server.port, auth_code=code)
        log.info("scratch org %s (%s, %s) on %s, expires %s", org_id, row.username, row.edition,
                 made.login_url(self.host), iso_date(made.expires_ms))
        return made

    def delete(self, row: ScratchOrgRow) -> None:
        self.farm.delete(row.org_number)
        self.registry.mark_deleted(row.info_id)
        log.info("scratch org %s (%s) deleted with its data", row.org_id, row.username)

    def expire_due(self) -> list[ScratchOrgRow]:
        due = self.registry.due()
        for row in due:
            self.delete(row)
        return due

    def close(self) -> None:
        self.farm.close()
        self.registry.close()

    # -- queries -----------------------------------------------------------------------------------

    def query(self, soql: str) -> dict[str, Any] | None:
        """The answer to a query of ScratchOrgInfo or ActiveScratchOrg; None for any other object."""
        match = _SOQL.fullmatch(soql)
        if not match or match["object"].lower() not in ("scratchorginfo", "activescratchorg"):
            if re.search(r"\bFROM\s+(ScratchOrgInfo|ActiveScratchOrg)\b", soql, re.I):
                raise DevHubError(400, "MALFORMED_QUERY", f"The local Dev Hub answers SELECT fields FROM "
                                  f"ScratchOrgInfo|ActiveScratchOrg [WHERE field = 'value' [AND ...]] [LIMIT n] only: {soql}")
            return None
        active = match["object"].lower() == "activescratchorg"
        rows = self.registry.active() if active else self.registry.all()
        records = [self.active_scratch_org(r) if active else self.scratch_org_info(r) for r in rows]
        for condition in re.split(r"\s+AND\s+", match["where"], flags=re.I) if match["where"] else []:
            found = _CONDITION.fullmatch(condition)
            if not found:
                raise DevHubError(400, "MALFORMED_QUERY", f"The local Dev Hub cannot evaluate the condition "
                                  f"{condition.strip()!r} (only field = 'value' or field IN ('a', ...) joined by AND)")
            wanted = ([v.replace("\\'", "'") for v in _QUOTED.findall(found["values"])] if found["values"] is not None
                      else [found["value"].replace("\\'", "'")])
            records = [r for r in records if any(_matches(r, found["field"], value) for value in wanted)]
        names = [name.strip() for name in match["fields"].split(",")]
        canonical = {key.lower(): key for key in (records[0] if records else self._field_names(active))}
        bad = [name for name in names if name.lower() not in canonical and name.lower() not in _CREATED_BY]
        if bad:
            raise DevHubError(400, "INVALID_FIELD", f"No such column '{bad[0]}' on entity '{match['object']}'")
        if match["limit"]:
            records = records[: int(match["limit"])]
        shaped = []
        for record in records:
            out: dict[str, Any] = {"attributes": record["attributes"]}
            for name in names:
                if name.lower() in _CREATED_BY:  # the hub user made every scratch org
                    out["CreatedBy"] = {"attributes": {"type": "User"}, _CREATED_BY[name.lower()]: self._creator(name)}
                else:
                    out[canonical[name.lower()]] = record[canonical[name.lower()]]
            shaped.append(out)
        return {"totalSize": len(shaped), "done": True, "records": shaped}

    def _creator(self, name: str) -> Any:
        identity = self.hub_identity
        return {"createdby.username": identity.username if identity else None,
                "createdby.id": identity.user_id if identity else None,
                "createdby.name": f"{identity.user_first_name} {identity.user_last_name}" if identity else None,
                }[name.lower()]

    def _field_names(self, active: bool) -> list[str]:
        sample = ScratchOrgRow("", "", 0, "", "", "", (), "", None, 1, "", None, None, None, 0, "", "", None, 0, 0, None, None)
        return list((self.active_scratch_org(sample) if active else self.scratch_org_info(sample)).keys())


def _matches(record: dict[str, Any], field: str, value: str) -> bool:
    key = next((k for k in record if k.lower() == field.lower()), None)
    if key is None:
        raise DevHubError(400, "INVALID_FIELD", f"No such column '{field}' on entity '{record['attributes']['type']}'")
    actual = record[key]
    if field.lower() in _ID_FIELDS and actual:
        return str(actual)[:15] == value[:15]
    return actual is not None and str(actual).lower() == value.lower() if key.lower() == "signupusername" \
        else actual is not None and str(actual) == value


class DevHubApp:
    """The hub org's application with the Dev Hub's objects answered in front of it."""

    def __init__(self, inner: Callable[[Request], Response], context: OrgContext, hub: DevHub):
        self.inner, self.context, self.hub = inner, context, hub
        hub.hub_identity = context.identity.identity

    def __call__(self, request: Request) -> Response:
        try:
            return self._answer(request)
        except Exception as error:  # noqa: BLE001 - a 500 in Salesforce's shape, logged with its stack
            log.exception("Dev Hub request %s %s failed", request.method, request.path)
            return errors.error_response(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred: {type(error).__name__}")

    def _answer(self, request: Request) -> Response:
        sobject = _SOBJECT.fullmatch(request.path)
        is_query = (request.method == "GET" and _QUERY.fullmatch(request.path)
                    and _HUB_OBJECT.search(request.arg("q") or ""))
        if not sobject and not is_query:
            return self.inner(request)  # everything else is the hub org's own business
        if not self.context.identity.is_valid(request.bearer_token):
            return errors.invalid_session()
        try:
            self.hub.expire_due()
            if is_query:
                answer = self.hub.query(request.arg("q") or "")
                return self.inner(request) if answer is None else Response.json(answer)
            return self._sobject(request, sobject["object"].lower(), sobject["id"])
        except DevHubError as error:
            return errors.error_response(error.status, error.code, error.message)

    def _sobject(self, request: Request, kind: str, record_id: str | None) -> Response:
        if kind == "scratchorginfo":
            if record_id is None and request.method == "POST":
                row = self.hub.create(request.json())
                return Response.json({"id": row.info_id, "success": True, "errors": []}, 201)
            if record_id and request.method == "GET":
                row = self.hub.registry.by_info_id(record_id)
                if row is None:
                    return errors.error_response(404, "NOT_FOUND", "The requested resource does not exist")
                return Response.json(self.hub.scratch_org_info(row))
        if kind == "activescratchorg" and record_id:
            row = self.hub.registry.by_active_id(record_id)
            if row is None:
                return errors.error_response(404, "NOT_FOUND", "The requested resource does not exist")
            if request.method == "GET":
                return Response.json(self.hub.active_scratch_org(row))
            if request.method == "DELETE":
                self.hub.delete(row)
                return Response.empty(204)
        return errors.error_response(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")
