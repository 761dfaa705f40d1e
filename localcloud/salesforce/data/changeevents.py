"""Change event objects (``AccountChangeEvent``, ``EC_Order__ChangeEvent``): the sObject types of
Change Data Capture, derived from the object whose changes they carry.

As Salesforce documents them (object reference, "StandardObjectNameChangeEvent"): a change event
exists for every custom object and for a subset of standard objects; it is not a stored object (no
CRUD, no query: only describe, Apex triggers and subscribers); its fields are the source object's
fields except ``IsDeleted``, ``SystemModstamp`` and derived ones (``LastActivityDate``, ``PhotoUrl``,
last viewed/referenced dates), plus ``ReplayId`` and the ``ChangeEventHeader``. Change events of
custom settings are not supported in Apex triggers, so none is made for them here.

The objects are built on demand from a schema (``change_event_object``) and cached per source
object definition; they are never added to the ``Schema`` (nothing stores them).
"""
from __future__ import annotations

import copy
import threading
import weakref
from typing import Any

from .fieldtypes import field_describe
from .schema import ObjectDef

SUFFIX = "ChangeEvent"
CUSTOM_SUFFIX = "__ChangeEvent"
#: fields of the source object a change event does not carry (Salesforce's list; Pub/Sub's Avro schema too)
EXCLUDED = frozenset({"isdeleted", "systemmodstamp", "lastactivitydate", "photourl", "lastvieweddate",
                      "lastreferenceddate"})
#: standard objects of the local org that support change events (Salesforce's "Change Event Object Support")
STANDARD = frozenset({
    "account", "accountcontactrole", "asset", "campaign", "campaignmember", "campaignmemberstatus", "case",
    "contact", "contactpointaddress", "contract", "contractlineitem", "emailmessage", "emailtemplate", "entitlement",
    "event", "eventrelation", "individual", "lead", "listemail", "opportunity", "opportunitycontactrole",
    "opportunitylineitem", "order", "orderitem", "pricebook2", "pricebookentry", "product2", "quote",
    "quotelineitem", "servicecontract", "task", "taskrelation", "user",
})
HEADER_FIELD = "ChangeEventHeader"
#: the header's fields, in Salesforce's order (``EventBus.ChangeEventHeader`` in Apex)
HEADER_FIELDS = ("entityName", "recordIds", "changeType", "changeOrigin", "transactionKey", "sequenceNumber",
                 "commitTimestamp", "commitNumber", "commitUser", "nulledFields", "diffFields", "changedFields")

_lock = threading.Lock()
_cache: "weakref.WeakKeyDictionary[ObjectDef, ObjectDef]" = weakref.WeakKeyDictionary()


def change_event_name(sobject: str) -> str:
    """``Contact`` -> ``ContactChangeEvent``; ``EC_Order__c`` -> ``EC_Order__ChangeEvent``."""
    return sobject[:-3] + CUSTOM_SUFFIX if sobject.lower().endswith("__c") else sobject + SUFFIX


def source_name(event_name: str) -> str | None:
    """``ContactChangeEvent`` -> ``Contact``; ``EC_Order__ChangeEvent`` -> ``EC_Order__c``; else None."""
    low = event_name.lower()
    if low.endswith(CUSTOM_SUFFIX.lower()):
        return event_name[: -len(CUSTOM_SUFFIX)] + "__c"
    if low.endswith(SUFFIX.lower()) and len(event_name) > len(SUFFIX):
        return event_name[: -len(SUFFIX)]
    return None


def supports_change_events(od: ObjectDef) -> bool:
    """Custom objects (not custom settings, metadata types or platform events) and STANDARD objects."""
    if od.lower.endswith("__c"):
        return not od.raw.get("customSetting")
    return od.lower in STANDARD


def change_event_object(schema: Any, name: str) -> ObjectDef | None:
    """The change event object ``name`` of ``schema`` (None when it is not one)."""
    source = source_name(name)
    od = schema.find(source) if source else None
    if od is None or not supports_change_events(od) or change_event_name(od.name).lower() != name.lower():
        return None
    with _lock:
        hit = _cache.get(od)
    if hit is None:
        hit = ObjectDef(_raw(od))
        with _lock:
            _cache[od] = hit
    return hit


def _raw(od: ObjectDef) -> dict[str, Any]:
    name = change_event_name(od.name)
    label = f"{od.label} Change Event"
    raw = {k: v for k, v in od.raw.items() if not k.startswith("_") and k not in ("fields", "recordTypeInfos")}
    raw.update(
        name=name, label=label, labelPlural=label, keyPrefix=None, custom=od.custom, customSetting=False,
        activateable=False, createable=False, deletable=False, feedEnabled=False, layoutable=False,
        mergeable=False, mruEnabled=False, queryable=False, replicateable=False, retrieveable=False,
        searchable=False, triggerable=True, undeletable=False, updateable=False, hasSubtypes=False,
        isSubtype=False, namedLayoutInfos=[], supportedScopes=[], actionOverrides=[], listviewable=None,
        lookupLayoutFields=None, searchLayoutable=False, compactLayoutable=False, associateEntityType="ChangeEvent",
        associateParentEntity=od.name)
    fields = [field_describe("Id", "id", "Change Event ID"),
              field_describe("ReplayId", "string", "Replay ID", length=255, createable=False, updateable=False,
                             filterable=False, sortable=False),
              field_describe(HEADER_FIELD, "complexvalue", "Change Event Header", soapType="tns:ChangeEventHeader",
                             createable=True, updateable=False, nillable=False, filterable=False, sortable=False,
                             aggregatable=False)]
    for fd in od.all_fields:
        if fd.lower in EXCLUDED or fd.lower == "id":  # formulas stay: null in events
            continue
        f = copy.deepcopy(fd.raw)
        f.update(updateable=False, createable=True, nillable=True, defaultedOnCreate=False, unique=False,
                 externalId=False, idLookup=False, cascadeDelete=False, relationshipName=None,
                 restrictedDelete=False, autoNumber=False, filterable=False, sortable=False)
        fields.append(f)
    raw["fields"] = fields
    return raw
