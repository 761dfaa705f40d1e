"""System classes around the transaction: ``System.UUID``, ``System.Request``/``Quiddity``,
``FeatureManagement``, ``Network``, ``Messaging`` (outbound email is recorded, never sent),
``EventBus.publish`` (platform events) and ``Test.getEventBus()``.

Platform events: ``EventBus.publish`` returns a ``Database.SaveResult`` per event at once; the events
are delivered after the publishing transaction commits (``PublishAfterCommit``, the default) — or
even when it fails (``PublishImmediately``) — each delivery being its own transaction in which the
event object's ``after insert`` triggers run. In a test, events are delivered at ``Test.stopTest()``
or ``Test.getEventBus().deliver()``.
"""

from __future__ import annotations

import uuid as _uuid
from typing import Any

from . import ops
from .stdlib import NAMESPACES, NEW, STATIC_METHODS, Native, _make_enum
from .tables import BUILTIN_INSTALLERS
from .values import ApexList, IdValue, SObject, TypeRef

QUIDDITY = [
    "ANONYMOUS", "AURA", "BATCH_ACS", "BATCH_APEX", "BATCH_CHUNK_PARALLEL", "BATCH_CHUNK_SERIAL", "BULK_API",
    "COMMERCE_INTEGRATION", "DISCOVERABLE_LOGIN", "FUNCTION_CALLBACK", "FUTURE", "INBOUND_EMAIL_SERVICE",
    "INVOCABLE_ACTION", "IOT", "PLATFORM_EVENT_PUBLISH_CALLBACK", "POST_INSTALL_SCRIPT", "QUEUEABLE", "QUICK_ACTION",
    "REMOTE_ACTION", "REST", "RUNTEST_ASYNC", "RUNTEST_DEPLOY", "RUNTEST_SYNC", "SCHEDULED", "SOAP", "SYNCHRONOUS",
    "TRANSACTION_FINALIZER_QUEUEABLE", "UNDEFINED", "VF",
]
SOAP_TYPES = ["ADDRESS", "ANYTYPE", "BASE64BINARY", "BOOLEAN", "DATE", "DATETIME", "DOUBLE", "ID", "INTEGER", "JSON",
              "LOCATION", "LONG", "STRING", "TIME"]
NAMESPACES.update({"uuid", "request", "featuremanagement", "network", "quiddity", "sobjectdescribeoptions"})
_ENUMS: dict[str, Any] = {}


def install(p: Any) -> None:
    _ENUMS["quiddity"] = _make_enum(p, "Quiddity", QUIDDITY, ("system.quiddity",))
    _ENUMS["sobjectdescribeoptions"] = _make_enum(p, "SObjectDescribeOptions", ["DEFAULT", "DEFERRED", "FULL"],
                                                  ("system.sobjectdescribeoptions",))
    _ENUMS["soaptype"] = _make_enum(p, "Schema.SoapType", SOAP_TYPES, ("soaptype",))
    _install_more(p)


BUILTIN_INSTALLERS.append(install)  # after stdlib's (libraries.py imports stdlib first)


def _prog() -> Any:
    return ops.CURRENT.prog


# -- UUID -------------------------------------------------------------------------------------------
class ApexUUID(Native):
    apex_type = "System.UUID"

    def __init__(self, value: _uuid.UUID) -> None:
        self.value = value

    def apex_str(self) -> str:
        return str(self.value)

    def m_tostring(self, a):
        return str(self.value)

    def m_equals(self, a):
        return isinstance(a[0], ApexUUID) and a[0].value == self.value

    def m_hashcode(self, a):
        return hash(self.value) & 0x7FFFFFFF

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApexUUID) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


def _uuid_from_string(a):
    try:
        return ApexUUID(_uuid.UUID(str(a[0])))
    except (ValueError, TypeError):
        ops.throw("System.IllegalArgumentException", f"Invalid UUID string: {a[0]}")


STATIC_METHODS[("uuid", "randomuuid")] = lambda a: ApexUUID(_uuid.uuid4())
STATIC_METHODS[("uuid", "fromstring")] = _uuid_from_string


# -- Request / Quiddity -----------------------------------------------------------------------------
class ApexRequest(Native):
    apex_type = "System.Request"

    def __init__(self, request_id: str, quiddity: str) -> None:
        self.request_id = request_id
        self.quiddity = quiddity

    def m_getrequestid(self, a):
        return self.request_id

    def m_getquiddity(self, a):
        return _ENUMS["quiddity"].enum_values[self.quiddity.lower()]


def current_quiddity(tx: Any) -> str:
    for flag, name in (("in_batch", "BATCH_APEX"), ("in_scheduled", "SCHEDULED"), ("in_future", "FUTURE"),
                       ("in_queueable", "QUEUEABLE")):
        if getattr(tx, flag, False):
            return name
    if tx.test is not None:
        return "RUNTEST_ASYNC"
    if getattr(tx, "rest_request", None) is not None:
        return "REST"
    return getattr(tx, "quiddity", None) or "SYNCHRONOUS"


def _current_request(a):
    tx = _prog().tx
    rid = tx.__dict__.setdefault("request_id", "TID" + _uuid.uuid4().hex[:20].upper()) if hasattr(tx, "__dict__") \
        else "TID0000000000000000000"
    return ApexRequest(rid, current_quiddity(tx))


STATIC_METHODS[("request", "getcurrent")] = _current_request


# -- FeatureManagement / Network --------------------------------------------------------------------
def _check_permission(a):
    """A custom permission granted to the running user through a permission set, a permission set group
    (its component permission sets) or the user's profile: their ``SetupEntityAccess`` rows (deployed
    permission sets' and profiles' enabled ``customPermissions`` become such rows, see
    metadata/setup_rows.py; Apex tests insert more)."""
    return str(a[0] or "").lower() in _granted_by_setup_rows(_prog())


def _granted_by_setup_rows(prog: Any) -> set[str]:
    """Custom permissions the running user's permission sets grant through ``SetupEntityAccess`` rows
    (what Salesforce stores when a permission set enables a custom permission; Apex tests insert them)."""
    data = getattr(prog.tx, "data", None)
    user_id = (prog.tx.user or {}).get("userid")
    if data is None or not user_id or data.tx.schema.find("SetupEntityAccess") is None:
        return set()
    dtx = data.tx
    schema = dtx.schema
    assigned = dtx.query("SELECT PermissionSetId" + (", PermissionSetGroupId" if schema.get(
        "PermissionSetAssignment").find_field("PermissionSetGroupId") else "")
        + " FROM PermissionSetAssignment WHERE AssigneeId = :u", {"u": user_id}).records
    sets = [r["PermissionSetId"] for r in assigned if r.get("PermissionSetId")]
    groups = [r["PermissionSetGroupId"] for r in assigned if r.get("PermissionSetGroupId")]
    if groups and schema.find("PermissionSetGroupComponent") is not None:
        sets += [r["PermissionSetId"] for r in dtx.query(
            "SELECT PermissionSetId FROM PermissionSetGroupComponent WHERE PermissionSetGroupId IN :g",
            {"g": groups}).records]
    if schema.get("PermissionSet").find_field("IsOwnedByProfile") is not None:
        sets += [r["Id"] for r in dtx.query(
            "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND ProfileId IN "
            "(SELECT ProfileId FROM User WHERE Id = :u)", {"u": user_id}).records]
    if not sets:
        return set()
    entities = [r["SetupEntityId"] for r in dtx.query(
        "SELECT SetupEntityId FROM SetupEntityAccess WHERE ParentId IN :p", {"p": sets}).records if r["SetupEntityId"]]
    if not entities:
        return set()
    return {str(r["DeveloperName"]).lower() for r in dtx.query(
        "SELECT DeveloperName FROM CustomPermission WHERE Id IN :e", {"e": entities}).records}


STATIC_METHODS[("featuremanagement", "checkpermission")] = _check_permission
STATIC_METHODS[("network", "getnetworkid")] = lambda a: None  # internal users: no Experience Cloud site
STATIC_METHODS[("network", "getloginurl")] = lambda a: None
STATIC_METHODS[("network", "getlogouturl")] = lambda a: None


# -- Database.emptyRecycleBin -----------------------------------------------------------------------
class EmptyRecycleBinResult(Native):
    apex_type = "Database.EmptyRecycleBinResult"

    def __init__(self, rid: Any, success: bool = True, errors: list[Any] | None = None) -> None:
        self.rid = rid
        self.success = success
        self.errors = errors or []

    def m_getid(self, a):
        return self.rid

    def m_issuccess(self, a):
        return self.success

    def m_geterrors(self, a):
        return ApexList(list(self.errors), TypeRef("Database.Error"))

    def apex_json(self):
        return {"id": self.rid, "success": self.success, "errors": [e.apex_json() for e in self.errors]}


def _empty_recycle_bin(a):
    """Deletes Recycle Bin records for good (the data layer's ``Transaction.empty_recycle_bin``)."""
    from .dml import _data_errors, _session
    value = a[0]
    items = list(value) if isinstance(value, ApexList) else [value]
    _prog().tx.check("dml")
    ids = [str(r.fields.get("id")) if isinstance(r, SObject) else str(r) for r in items]
    _prog().tx.add_rows("dml", len(ids))  # one DML row a record, as Limits.getDmlRows() counts it
    results = _session(_prog()).empty_recycle_bin(ids)
    out = [EmptyRecycleBinResult(IdValue(rid) if res.success else None, res.success,
                                 _data_errors(res)) for rid, res in zip(ids, results)]
    return ApexList(out, TypeRef("Database.EmptyRecycleBinResult")) if isinstance(value, ApexList) else out[0]


STATIC_METHODS[("database", "emptyrecyclebin")] = _empty_recycle_bin


# -- Messaging --------------------------------------------------------------------------------------
class SingleEmailMessage(Native):
    """Outbound email: recorded in the transaction (``tx.sent_emails``), never sent."""

    apex_type = "Messaging.SingleEmailMessage"

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}



EMAIL_PROPERTIES = (
    "ToAddresses", "CcAddresses", "BccAddresses", "Subject", "PlainTextBody", "HtmlBody", "SenderDisplayName",
    "ReplyTo", "TargetObjectId", "WhatId", "TemplateId", "SaveAsActivity", "OrgWideEmailAddressId", "UseSignature",
    "FileAttachments", "EntityAttachments", "Charset", "OptOutPolicy", "TreatTargetObjectAsRecipient",
    "InReplyTo", "References", "EmailPriority", "BccSender",
)


def _email_accessors(name: str) -> tuple[Any, Any]:
    key = name.lower()

    def setter(self, a):
        self.values[key] = a[0]

    def getter(self, a):
        return self.values.get(key)
    return setter, getter


for _name in EMAIL_PROPERTIES:
    _set, _get = _email_accessors(_name)
    setattr(SingleEmailMessage, "m_set" + _name.lower(), _set)
    setattr(SingleEmailMessage, "m_get" + _name.lower(), _get)


class SendEmailResult(Native):
    apex_type = "Messaging.SendEmailResult"

    def m_issuccess(self, a):
        return True

    def m_geterrors(self, a):
        return ApexList([], TypeRef("Messaging.SendEmailError"))


def _send_email(a):
    messages = list(a[0]) if isinstance(a[0], ApexList) else [a[0]]
    tx = _prog().tx
    lim = tx.limits
    lim.__dict__["email_invocations"] = lim.__dict__.get("email_invocations", 0) + 1
    if lim.__dict__["email_invocations"] > 10:
        ops.throw("System.LimitException", f"Too many Email Invocations: {lim.__dict__['email_invocations']}")
    tx.__dict__.setdefault("sent_emails", []).extend(messages)
    return ApexList([SendEmailResult() for _ in messages], TypeRef("Messaging.SendEmailResult"))


NEW["messaging.singleemailmessage"] = lambda a: SingleEmailMessage()
STATIC_METHODS[("messaging", "sendemail")] = _send_email


def _reserve_email(limit_name: str):
    """``Messaging.reserveSingleEmailCapacity(n)`` / ``reserveMassEmailCapacity(n)``: the transaction's
    reservations add up; one that would take the org past its daily limit (``ORG_LIMITS``, nothing used
    yet in the local org) throws ``System.HandledException`` "The daily limit for the org would be exceeded
    by this request" (Salesforce since Winter '14, "if the transaction would cause the organization to exceed
    its daily email limit")."""
    key = "reserved_" + limit_name

    def reserve(a):
        n = a[0]
        if n is None:
            ops.npe()
        tx = _prog().tx
        reserved = tx.__dict__.get(key, 0) + int(n)
        if reserved > ORG_LIMITS[limit_name]:
            ops.throw("System.HandledException", "The daily limit for the org would be exceeded by this request")
        tx.__dict__[key] = reserved
    return reserve


STATIC_METHODS[("messaging", "reservesingleemailcapacity")] = _reserve_email("SingleEmail")
STATIC_METHODS[("messaging", "reservemassemailcapacity")] = _reserve_email("MassEmail")


# -- EventBus / platform events ---------------------------------------------------------------------
class EventDelivery:
    """Platform events published in a transaction, delivered (inserted, firing their triggers) later."""

    counts_as_queueable = False  # not a Queueable job (Limits.getQueueableJobs)
    is_event_delivery = True  # what Test.getEventBus().deliver() runs

    def __init__(self, events: list[SObject]) -> None:
        self.events = events
        self.cls = type("PlatformEvent", (), {"name": events[0].type_name if events else "event"})

    def run(self, prog: Any) -> None:
        """Save the events, then deliver them to each event trigger as a subscriber (``eventretry``:
        RetryableException, resume checkpoints, the error state)."""
        from .dml import _session, record_dict
        from .eventretry import deliver, stamp_replay_ids
        from .triggers import apex_context
        dtx = _session(prog)
        tx = prog.tx
        with apex_context(prog):
            groups: dict[str, list[SObject]] = {}
            for event in self.events:
                groups.setdefault(event.type_name, []).append(event)
            for sobject, events in groups.items():
                saved, tx.capture_events = getattr(tx, "capture_events", None), []
                try:
                    dtx.insert(sobject, [record_dict(e) for e in events], all_or_none=False, read_only_fields="ignore")
                    delivered = tx.capture_events
                finally:
                    tx.capture_events = saved
                stamp_replay_ids(delivered)
                deliver(prog, sobject, delivered)


def _publishes_immediately(sobject: str) -> bool:
    object_def = getattr(_prog().schema, "object_def", None)
    od = object_def(sobject) if object_def is not None else None
    return od is not None and od.raw.get("_publishBehavior") == "PublishImmediately"


def _publish(a):
    from .dml import SaveResult
    prog = _prog()
    value = a[0]
    if value is None:
        ops.npe()
    events = list(value) if isinstance(value, ApexList) else [value]
    results = []
    for event in events:
        if not isinstance(event, SObject) or not event.type_name.lower().endswith("__e"):
            ops.throw("System.TypeException", "EventBus.publish takes platform events (__e objects)")
        results.append(SaveResult(f"e00{_uuid.uuid4().int % 10**12:012d}AAA", True, []))
    if events and _publishes_immediately(events[0].type_name):
        limits = prog.tx.limits  # Publish Immediately events count against their own limit, not DML statements
        limits.publish_immediate_dml += 1
        if limits.publish_immediate_dml > limits.max_publish_immediate_dml:
            ops.throw("System.LimitException", f"Too many publish immediate DML: {limits.publish_immediate_dml}")
    else:
        prog.tx.check("dml")
    if events:
        prog.tx.queue.append(EventDelivery([e.clone_record(True) for e in events]))
    return ApexList(results, TypeRef("Database.SaveResult")) if isinstance(value, ApexList) else results[0]


class TestEventBus(Native):
    apex_type = "System.EventBus.TestBroker"

    def m_deliver(self, a):
        prog = _prog()
        from .asyncjobs import prepare_test_delivery
        prepare_test_delivery(prog)  # change events of the DML so far (changeeventlib)
        pending = [j for j in prog.tx.queue if getattr(j, "is_event_delivery", False)]
        prog.tx.queue[:] = [j for j in prog.tx.queue if not getattr(j, "is_event_delivery", False)]
        for job in pending:
            job.run(prog)
        return None


STATIC_METHODS[("eventbus", "publish")] = _publish
STATIC_METHODS[("test", "geteventbus")] = lambda a: TestEventBus()


def soap_type(describe_soap_type: str | None) -> Any:
    """Schema.SoapType value of a describe's ``soapType`` (``xsd:string`` -> STRING, ``tns:ID`` -> ID)."""
    name = (describe_soap_type or "xsd:string").split(":")[-1].upper()
    return _ENUMS["soaptype"].enum_values.get(name.lower()) or _ENUMS["soaptype"].enum_values["anytype"]


# -- classes that are plain public fields (Messaging.InboundEmail, ...) -------------------------------
class PublicFields(Native):
    """A system class made only of public fields: any of ``_fields`` reads and writes like a field."""

    _fields: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def apex_get(self, low):
        if low in self._lower:
            return self.values.get(low)
        return super().apex_get(low)

    def apex_set(self, low, v):
        if low in self._lower:
            self.values[low] = v
            return None
        return super().apex_set(low, v)

    def apex_str(self) -> str:
        parts = ", ".join(f"{f}={ops.to_str(self.values.get(f.lower()), True)}" for f in self._fields)
        return f"{self.apex_type.rsplit('.', 1)[-1]}:[{parts}]"


def _public_fields_class(apex_type: str, fields: tuple[str, ...], defaults: dict[str, Any] | None = None):
    cls = type(apex_type.replace(".", "_"), (PublicFields,), {
        "apex_type": apex_type, "_fields": fields, "_lower": {f.lower() for f in fields}})

    def make(a):
        obj = cls()
        obj.values.update({k.lower(): v for k, v in (defaults or {}).items()})
        return obj
    NEW[apex_type.lower()] = make
    return cls


InboundEmail = _public_fields_class("Messaging.InboundEmail", (
    "binaryAttachments", "ccAddresses", "fromAddress", "fromName", "headers", "htmlBody", "htmlBodyIsTruncated",
    "inReplyTo", "messageId", "plainTextBody", "plainTextBodyIsTruncated", "references", "replyTo", "subject",
    "textAttachments", "toAddresses"))
InboundEnvelope = _public_fields_class("Messaging.InboundEnvelope", ("fromAddress", "toAddress"))
InboundEmailResult = _public_fields_class("Messaging.InboundEmailResult", ("success", "message"))
_public_fields_class("Messaging.InboundEmail.Header", ("name", "value"))
_public_fields_class("Messaging.InboundEmail.BinaryAttachment", ("body", "fileName", "mimeTypeSubType", "headers"))
_public_fields_class("Messaging.InboundEmail.TextAttachment", ("body", "bodyIsTruncated", "charset", "fileName",
                                                               "mimeTypeSubType", "headers"))


# Platform Cache lives in cachelib, ConnectApi in connecttypes/connectlib: each installs its own classes.


# -- URL, OrgLimits, Network, Search, Flow, Security -------------------------------------------------
class ApexURL(Native):
    apex_type = "System.URL"

    def __init__(self, url: str) -> None:
        from urllib.parse import urlsplit
        self.url = url
        self.parts = urlsplit(url)

    def apex_str(self) -> str:
        return self.url

    def m_toexternalform(self, a):
        return self.url

    def m_gethost(self, a):
        return self.parts.hostname

    def m_getprotocol(self, a):
        return self.parts.scheme

    def m_getpath(self, a):
        return self.parts.path

    def m_getquery(self, a):
        return self.parts.query or None

    def m_getport(self, a):
        return self.parts.port or -1

    def m_getauthority(self, a):
        return self.parts.netloc


def _instance_url() -> str:
    data = getattr(_prog(), "data", None)
    return getattr(data, "instance_url", None) or "https://localhost"


NEW["url"] = NEW["system.url"] = lambda a: ApexURL(str(a[0]) if len(a) == 1 else f"{a[0]}://{a[1]}{a[-1]}")
for _name in ("getorgdomainurl", "getsalesforcebaseurl", "getcurrentrequesturl"):
    STATIC_METHODS[("url", _name)] = lambda a: ApexURL(_instance_url())
STATIC_METHODS[("url", "getfiledownloadurl")] = lambda a: None
STATIC_METHODS[("network", "getselfregurl")] = lambda a: None
STATIC_METHODS[("network", "getforgotpasswordurl")] = lambda a: None


class OrgLimit(Native):
    apex_type = "System.OrgLimit"

    def __init__(self, name: str, limit: int, value: int = 0) -> None:
        self.name, self.limit, self.value = name, limit, value

    def m_getname(self, a):
        return self.name

    def m_getlimit(self, a):
        return self.limit

    def m_getvalue(self, a):
        return self.value


#: a Developer Edition org's limits (values in use are not tracked by the local org: 0)
ORG_LIMITS = {"DailyApiRequests": 15000, "DailyAsyncApexExecutions": 250000, "DailyBulkApiBatches": 15000,
              "DailyStreamingApiEvents": 10000, "DataStorageMB": 5, "FileStorageMB": 20,
              "HourlyPublishedPlatformEvents": 250000, "DailyDeliveredPlatformEvents": 50000,
              "SingleEmail": 15, "MassEmail": 10}
NAMESPACES.add("orglimits")


def _org_limits_map(a):
    from .values import ApexMap
    return ApexMap({k: OrgLimit(k, v) for k, v in ORG_LIMITS.items()}, TypeRef("String"), TypeRef("System.OrgLimit"))


STATIC_METHODS[("orglimits", "getmap")] = _org_limits_map
STATIC_METHODS[("orglimits", "getall")] = lambda a: ApexList(list(_org_limits_map(a).values()), TypeRef("System.OrgLimit"))
STATIC_METHODS[("limits", "getpublishimmediatedml")] = lambda a: _prog().tx.limits.publish_immediate_dml
STATIC_METHODS[("limits", "getsoslqueries")] = lambda a: _prog().tx.limits.sosl_queries
for _name in ("getquerylocatorrows", "getaggregatequeries",
              "getmobilepushapexcalls", "getapexcursorrows", "getfetchcallsoncursor"):
    STATIC_METHODS[("limits", _name)] = lambda a: 0
for _name, _value in (("getlimitquerylocatorrows", 10000), ("getlimitaggregatequeries", 300),
                      ("getlimitsoslqueries", 20), ("getlimitpublishimmediatedml", 150),
                      ("getlimitmobilepushapexcalls", 10), ("getlimitapexcursorrows", 50000000),
                      ("getlimitfetchcallsoncursor", 10)):
    STATIC_METHODS[("limits", _name)] = (lambda v: lambda a: v)(_value)


def _unsupported(what: str):
    def fail(a):
        ops.throw("System.UnexpectedException", f"{what} is not supported by the local org")
    return fail


NAMESPACES.update({"flow", "flow.interview", "search", "visualeditor"})


class SObjectAccessDecision(Native):
    apex_type = "System.SObjectAccessDecision"

    def __init__(self, records: ApexList, removed: dict[str, set[str]]) -> None:
        self.records, self.removed = records, removed

    def m_getrecords(self, a):
        return self.records

    def m_getremovedfields(self, a):
        from .values import ApexMap, ApexSet
        return ApexMap({k: ApexSet(v, TypeRef("String")) for k, v in self.removed.items()}, TypeRef("String"),
                       TypeRef("Set<String>"))

    def m_getmodifiedindexes(self, a):
        from .values import ApexSet
        return ApexSet((), TypeRef("Integer"))


def _strip_inaccessible(a):
    """Security.stripInaccessible(accessType, records[, enforceRootObjectCRUD]): copies of the records
    without the fields the running user may not read (READABLE) or write (the others), by the same
    object permissions and field-level security USER_MODE checks."""
    from . import access
    access_type, records = a[0], a[1]
    if records is None:
        ops.npe()
    prog = _prog()
    user = access.current_access(prog)
    mode = str(getattr(access_type, "name", access_type) or "READABLE").upper()
    removed: dict[str, set[str]] = {}
    out = []
    from .dml import _session
    schema = _session(prog).schema if user is not None else None
    for record in records:
        copy = record.clone_record(True) if hasattr(record, "clone_record") else record
        od = schema.find(copy.type_name) if schema is not None and isinstance(copy, SObject) else None
        if od is not None:
            for low in list(copy.fields):
                fd = od.find_field(low)
                if low == "id" or fd is None:
                    continue
                name = fd.name
                allowed = user.readable(od, fd) if mode == "READABLE" else user.editable(od, fd)
                if not allowed:
                    del copy.fields[low]
                    removed.setdefault(copy.type_name, set()).add(name)
        out.append(copy)
    return SObjectAccessDecision(ApexList(out, getattr(records, "etype", TypeRef("SObject"))), removed)


NAMESPACES.add("security")
STATIC_METHODS[("security", "stripinaccessible")] = _strip_inaccessible


def _install_more(p: Any) -> None:
    from .model import ApexClass
    _make_enum(p, "System.AccessType", ["CREATABLE", "READABLE", "UPDATABLE", "UPSERTABLE"], ("accesstype",))
    _make_enum(p, "System.ParentJobResult", ["SUCCESS", "UNHANDLED_EXCEPTION"], ("parentjobresult",))
    for name in ("Flow.Interview", "VisualEditor.DynamicPickList"):
        c = ApexClass(name, "class")
        c.builtin = True
        c.modifiers = {"abstract", "virtual"}
        p.builtins[name.lower()] = c


class DataRow(Native):
    apex_type = "VisualEditor.DataRow"

    def __init__(self, label: Any, value: Any, selected: bool = False) -> None:
        self.label, self.value, self.selected = label, value, selected

    def m_getlabel(self, a):
        return self.label

    def m_getvalue(self, a):
        return self.value

    def m_isselected(self, a):
        return self.selected


class DynamicPickListRows(Native):
    apex_type = "VisualEditor.DynamicPickListRows"

    def __init__(self) -> None:
        self.rows: list[DataRow] = []

    def m_addrow(self, a):
        self.rows.append(a[0])

    def m_addallrows(self, a):
        self.rows.extend(a[0])

    def m_getdatarows(self, a):
        return ApexList(list(self.rows), TypeRef("VisualEditor.DataRow"))

    def m_size(self, a):
        return len(self.rows)

    def m_get(self, a):
        return self.rows[int(a[0])]

    def m_containsallrows(self, a):
        return True


NEW["visualeditor.datarow"] = lambda a: DataRow(a[0], a[1], bool(a[2]) if len(a) > 2 else False)
NEW["visualeditor.dynamicpicklistrows"] = lambda a: DynamicPickListRows()


for _name in ("getfetchcallsonapexcursor", "getapexcursorrows"):
    STATIC_METHODS[("limits", _name)] = lambda a: 0
STATIC_METHODS[("limits", "getlimitfetchcallsonapexcursor")] = lambda a: 10
STATIC_METHODS[("limits", "getlimitapexcursorrows")] = lambda a: 50000000


def _set_created_date(a):
    """Test.setCreatedDate(recordId, createdDatetime): a test's record gets that CreatedDate."""
    from .dml import _session, to_data_value
    prog = _prog()
    if prog.tx.test is None:
        ops.throw("System.UnsupportedOperationException", "Test.setCreatedDate can only be called from a test")
    record_id = str(a[0])
    sobject = prog.schema_name_for_id(record_id)
    results = _session(prog).update(sobject, [{"Id": record_id, "CreatedDate": to_data_value(a[1])}],
                                     read_only_fields="write")
    if not results[0].success:
        ops.throw("System.InvalidParameterValueException", f"Cannot set CreatedDate of {record_id}")


STATIC_METHODS[("test", "setcreateddate")] = _set_created_date


class _ResultBase(Native):
    """Results with getters: ``Approval.LockResult/UnlockResult/ProcessResult`` (approvallib and
    approvalprocesslib produce them) and the JSON-read form of a LeadConvertResult (tests mock results that
    way); ``Database.convertLead`` itself is ``leadconvertlib``."""

    def __init__(self, errors: list[Any] | None = None, raw: dict[str, Any] | None = None, **values: Any) -> None:
        self.values = values  # lower-case keys, for the getters
        self.errors = errors or []
        self.raw = raw or {}  # the keys as given (JSON.deserialize), for JSON.serialize

    def m_getid(self, a):
        rid = self.values.get("id")
        return IdValue(rid) if rid else None

    def m_issuccess(self, a):
        return bool(self.values.get("success", False))

    def m_geterrors(self, a):
        return ApexList(list(self.errors), TypeRef("Database.Error"))

    def apex_json(self):
        out = {k: v for k, v in self.raw.items() if k.lower() not in ("success", "errors")}
        out["success"] = bool(self.values.get("success", False))
        out["errors"] = [e.apex_json() for e in self.errors]
        return out


class ApprovalResult(_ResultBase):
    apex_type = "Approval.ProcessResult"


class LeadConvertResult(_ResultBase):
    apex_type = "Database.LeadConvertResult"


for _name in ("entityid", "instanceid", "instancestatus", "newworkitemids", "actorids"):
    setattr(ApprovalResult, "m_get" + _name, (lambda k: lambda self, a: self.values.get(k))(_name))
for _name in ("leadid", "accountid", "contactid", "opportunityid", "relatedpersonaccountid"):
    setattr(LeadConvertResult, "m_get" + _name, (lambda k: lambda self, a: self.values.get(k))(_name))
NAMESPACES.add("approval")
# Approval.lock/unlock/isLocked: approvallib; Approval.process: approvalprocesslib
STATIC_METHODS[("limits", "getasynccalls")] = lambda a: 0
STATIC_METHODS[("limits", "getlimitasynccalls")] = lambda a: 200


# -- Formula evaluation and invocable actions: types exist, running them fails naming the construct ---
NAMESPACES.update({"formula", "formulaeval", "invocable", "invocable.action"})




ApexUUID.apex_json = lambda self: str(self.value)


def _read_save_result(kind: str):
    """Database.SaveResult and its siblings from JSON (test code builds mock results this way)."""
    def read(v: Any) -> Any:
        from . import dml
        v = v if isinstance(v, dict) else {}
        errors = _read_errors(v)
        rid = _read_id(v.get("id"))
        if kind == "saveresult":
            return dml.SaveResult(rid, bool(v.get("success")), errors)
        if kind == "upsertresult":
            return dml.UpsertResult(rid, bool(v.get("success")), errors, bool(v.get("created")))
        if kind == "deleteresult":
            return dml.DeleteResult(rid, bool(v.get("success")), errors)
        if kind == "emptyrecyclebinresult":
            return EmptyRecycleBinResult(rid, bool(v.get("success")), errors)
        result = (LeadConvertResult if kind == "leadconvertresult" else _ResultBase)(
            errors=errors, raw=v, **{k.lower(): x for k, x in v.items() if k.lower() != "errors"})
        result.apex_type = "Database." + {"undeleteresult": "UndeleteResult", "mergeresult": "MergeResult",
                                          "leadconvertresult": "LeadConvertResult"}.get(kind, kind)
        return result
    return read


def _register_result_readers() -> None:
    from .jsonlib import NATIVE_READERS
    for kind in ("saveresult", "upsertresult", "deleteresult", "undeleteresult", "mergeresult", "leadconvertresult",
                 "emptyrecyclebinresult"):
        NATIVE_READERS["database." + kind] = _read_save_result(kind)
    for kind in ("lockresult", "unlockresult", "processresult"):
        NATIVE_READERS["approval." + kind] = _read_approval_result(kind)


def _read_id(value: Any) -> Any:
    """A result's id: the text "null" (a null Id concatenated into JSON) is null; anything else must be an Id."""
    if value is None or value == "null":
        return None
    try:
        return IdValue(str(value))
    except ValueError:
        ops.throw("System.JSONException", f"Invalid id: {value}")


def _read_errors(v: dict[str, Any]) -> list[Any]:
    from . import dml
    return [dml.DatabaseError(e.get("statusCode") or "UNKNOWN_EXCEPTION", e.get("message") or "",
                              list(e.get("fields") or []))
            for e in v.get("errors") or [] if isinstance(e, dict)]


def _read_approval_result(kind: str):
    """Approval.LockResult / UnlockResult / ProcessResult from JSON, each its own type."""
    type_name = "Approval." + {"lockresult": "LockResult", "unlockresult": "UnlockResult",
                               "processresult": "ProcessResult"}[kind]

    def read(v: Any) -> Any:
        v = v if isinstance(v, dict) else {}
        result = ApprovalResult(errors=_read_errors(v), raw=v,
                                **{k.lower(): x for k, x in v.items() if k.lower() != "errors"})
        result.apex_type = type_name
        return result
    return read


_register_result_readers()
