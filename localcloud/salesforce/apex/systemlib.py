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
from .values import ApexList, IdValue, SObject, TypeRef

QUIDDITY = [
    "ANONYMOUS", "AURA", "BATCH_ACS", "BATCH_APEX", "BATCH_CHUNK_PARALLEL", "BATCH_CHUNK_SERIAL", "BULK_API",
    "COMMERCE_INTEGRATION", "DISCOVERABLE_LOGIN", "FUNCTION_CALLBACK", "FUTURE", "INBOUND_EMAIL_SERVICE",
    "INVOCABLE_ACTION", "IOT", "PLATFORM_EVENT_PUBLISH_CALLBACK", "POST_INSTALL_SCRIPT", "QUEUEABLE", "QUICK_ACTION",
    "REMOTE_ACTION", "REST", "RUNTEST_ASYNC", "RUNTEST_DEPLOY", "RUNTEST_SYNC", "SCHEDULED", "SOAP", "SYNCHRONOUS",
    "TRANSACTION_FINALIZER_QUEUEABLE", "VF",
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
    _install_cache(p)


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
    """A custom permission granted to the running user through a permission set (USER_MODE definitions)."""
    from . import access
    name = str(a[0] or "")
    user = access.current_access(_prog())
    granted = getattr(user, "custom_permissions", None) if user is not None else None
    return bool(granted) and name.lower() in granted


STATIC_METHODS[("featuremanagement", "checkpermission")] = _check_permission
STATIC_METHODS[("network", "getnetworkid")] = lambda a: None  # internal users: no Experience Cloud site
STATIC_METHODS[("network", "getloginurl")] = lambda a: None
STATIC_METHODS[("network", "getlogouturl")] = lambda a: None


# -- Database.emptyRecycleBin -----------------------------------------------------------------------
class EmptyRecycleBinResult(Native):
    apex_type = "Database.EmptyRecycleBinResult"

    def __init__(self, rid: Any) -> None:
        self.rid = rid

    def m_getid(self, a):
        return self.rid

    def m_issuccess(self, a):
        return True

    def m_geterrors(self, a):
        return ApexList([], TypeRef("Database.Error"))


def _empty_recycle_bin(a):
    """The local org keeps deleted records only as IsDeleted rows; emptying the bin succeeds per record."""
    value = a[0]
    items = list(value) if isinstance(value, ApexList) else [value]
    _prog().tx.check("dml")
    out = [EmptyRecycleBinResult(r.fields.get("id") if isinstance(r, SObject) else IdValue(str(r))) for r in items]
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
STATIC_METHODS[("messaging", "reservesingleemailcapacity")] = lambda a: None
STATIC_METHODS[("messaging", "reservemassemailcapacity")] = lambda a: None


# -- EventBus / platform events ---------------------------------------------------------------------
class EventDelivery:
    """Platform events published in a transaction, delivered (inserted, firing their triggers) later."""

    def __init__(self, events: list[SObject]) -> None:
        self.events = events
        self.cls = type("PlatformEvent", (), {"name": events[0].type_name if events else "event"})

    def run(self, prog: Any) -> None:
        from .dml import _session, record_dict
        from .triggers import apex_context
        dtx = _session(prog)
        with apex_context(prog):
            groups: dict[str, list[SObject]] = {}
            for event in self.events:
                groups.setdefault(event.type_name, []).append(event)
            for sobject, events in groups.items():
                dtx.insert(sobject, [record_dict(e) for e in events], all_or_none=False, read_only_fields="ignore")


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
    prog.tx.check("dml")
    if events:
        prog.tx.queue.append(EventDelivery([e.clone_record(True) for e in events]))
    return ApexList(results, TypeRef("Database.SaveResult")) if isinstance(value, ApexList) else results[0]


class TestEventBus(Native):
    apex_type = "System.EventBus.TestBroker"

    def m_deliver(self, a):
        prog = _prog()
        pending = [j for j in prog.tx.queue if isinstance(j, EventDelivery)]
        prog.tx.queue[:] = [j for j in prog.tx.queue if not isinstance(j, EventDelivery)]
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
_public_fields_class("EventBus.ChangeEventHeader", (
    "entityName", "recordIds", "changeType", "changeOrigin", "transactionKey", "sequenceNumber", "commitTimestamp",
    "commitNumber", "commitUser", "nulledFields", "diffFields", "changedFields"))


# -- Platform Cache ---------------------------------------------------------------------------------
# The local org presents itself as a Developer Edition org, which has no Platform Cache capacity: a
# partition is found, and ``isAvailable()`` is false; reads miss and writes are dropped.
NAMESPACES.update({"cache", "cache.org", "cache.session"})
CACHE_EXCEPTIONS = ("Cache.Org.OrgCacheException", "Cache.Session.SessionCacheException",
                    "Cache.ItemSizeLimitExceededException", "Cache.InvalidParamException",
                    "Cache.PlatformCacheInvalidOperationException", "Cache.CacheException")


class CachePartition(Native):
    apex_type = "Cache.Partition"

    def __init__(self, name: str, kind: str) -> None:
        self.name, self.kind = name, kind

    def m_isavailable(self, a):
        return False

    def m_contains(self, a):
        return False

    def m_get(self, a):
        return None

    def m_put(self, a):
        return None

    def m_remove(self, a):
        return False

    def m_getkeys(self, a):
        from .values import ApexSet
        return ApexSet((), TypeRef("String"))

    def m_getname(self, a):
        return self.name

    def m_getcapacity(self, a):
        return 0.0


def _partition(kind: str):
    def get(a):
        name = str(a[0] or "")
        if not name:
            ops.throw("Cache.Org.OrgCacheException" if kind == "Org" else "Cache.Session.SessionCacheException",
                      "Invalid partition name")
        return CachePartition(name, kind)
    return get


for _kind in ("org", "session"):
    STATIC_METHODS[(f"cache.{_kind}", "getpartition")] = _partition(_kind.capitalize())
    STATIC_METHODS[(f"cache.{_kind}", "contains")] = lambda a: False
    STATIC_METHODS[(f"cache.{_kind}", "get")] = lambda a: None
    STATIC_METHODS[(f"cache.{_kind}", "put")] = lambda a: None
    STATIC_METHODS[(f"cache.{_kind}", "remove")] = lambda a: False
    STATIC_METHODS[(f"cache.{_kind}", "isavailable")] = lambda a: False


def _install_cache(p: Any) -> None:
    from .model import ApexClass
    _ENUMS["cache.visibility"] = _make_enum(p, "Cache.Visibility", ["ALL", "NAMESPACE"], ("cache.visibility",))
    base = p.builtins["exception"]
    for name in CACHE_EXCEPTIONS:
        c = ApexClass(name, "class")
        c.builtin = True
        c.superclass = base
        c.modifiers = {"virtual"}
        p.builtins[name.lower()] = c
