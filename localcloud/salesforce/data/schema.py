"""Schema registry: standard objects (from the shipped fixture) and custom objects/fields that
metadata deploys add. Names are case-insensitive everywhere; the canonical spelling is the one
the object or field was defined with."""

from __future__ import annotations

import copy
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from .compound import COMPOUND_TYPES, components
from .errors import InvalidFieldError, InvalidTypeError
from .fieldtypes import custom_field_describe, field_describe, location_component_describes, system_field_describes
from .rollupdefs import rollups_by_child, summary_describe
from .specs import CustomFieldSpec, CustomObjectSpec

FIXTURE = Path(__file__).parent / "fixtures" / "standard_objects.json"
API_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*__)?[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c$")
#: custom objects and settings (__c), custom metadata types (__mdt), platform events (__e)
OBJECT_API_NAME = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*__)?[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__(?:c|mdt|e)$")
#: key prefixes of the kinds (custom objects a.., custom metadata m.., platform events e..)
KIND_PREFIX = {"c": "a", "mdt": "m", "e": "e"}


def object_kind(name: str) -> str:
    """``c`` (custom object or setting), ``mdt`` (custom metadata type), ``e`` (platform event) or ``""``."""
    base, sep, suffix = name.rpartition("__")
    return suffix.lower() if sep and suffix.lower() in KIND_PREFIX else ""


def _metadata_type_fields() -> list[dict[str, Any]]:
    """The standard fields of a custom metadata type (records are deployed, never written by DML)."""
    ro = dict(createable=False, updateable=False)
    return [
        field_describe("Id", "id", "Custom Metadata Record ID"),
        field_describe("DeveloperName", "string", "Custom Metadata Record Name", length=40, nillable=False,
                       idLookup=True),
        field_describe("MasterLabel", "string", "Label", length=40, nillable=False, nameField=True),
        field_describe("Language", "picklist", "Master Language", length=40, nillable=False),
        field_describe("NamespacePrefix", "string", "Namespace Prefix", length=15, **ro),
        field_describe("Label", "string", "Label", length=40, **ro),
        field_describe("QualifiedApiName", "string", "Qualified API Name", length=70, idLookup=True, **ro),
        field_describe("IsProtected", "boolean", "Protected Component", nillable=False, defaultedOnCreate=True),
        field_describe("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaultedOnCreate=True, **ro),
    ]


def _platform_event_fields() -> list[dict[str, Any]]:
    ro = dict(createable=False, updateable=False, defaultedOnCreate=True)
    return [
        field_describe("ReplayId", "string", "Replay ID", length=255, **ro),
        field_describe("CreatedDate", "datetime", "Created Date", nillable=False, **ro),
        field_describe("CreatedById", "reference", "Created By ID", referenceTo=["User"], relationshipName="CreatedBy",
                       nillable=False, **ro),
        field_describe("EventUuid", "string", "Event UUID", length=36, **ro),
    ]

GLOBAL_KEYS = (
    "activateable", "associateEntityType", "associateParentEntity", "createable", "custom",
    "customSetting", "deepCloneable", "deletable", "deprecatedAndHidden", "feedEnabled", "hasSubtypes",
    "isInterface", "isSubtype", "keyPrefix", "label", "labelPlural", "layoutable", "mergeable",
    "mruEnabled", "name", "queryable", "replicateable", "retrieveable", "searchable", "triggerable",
    "undeletable", "updateable",
)


@lru_cache(maxsize=1)
def _fixture() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def standard_object_definitions() -> list[dict[str, Any]]:
    """The fixture's standard object definitions, shared: read them, never change them."""
    return _fixture()["objects"]


#: decimal places of the org's corporate currency (USD, EUR, JPY... the local org's is fixed at 2)
STANDARD_CURRENCY_SCALE = 2


class FieldDef:
    """One field; ``describe`` is its (private-key-free) describe dict."""

    __slots__ = ("raw", "name", "lower", "type", "length", "nillable", "unique", "external_id",
                 "reference_to", "relationship_name", "child_relationship_name", "createable",
                 "updateable", "calculated", "precision", "scale", "case_sensitive", "label",
                 "defaulted_on_create", "default_value", "restricted_picklist", "picklist_values",
                 "auto_number", "cascade_delete", "polymorphic", "custom", "column", "value_scale")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.name: str = raw["name"]
        self.lower = self.name.lower()
        self.type: str = raw["type"]
        self.length: int = int(raw.get("length") or 0)
        self.nillable: bool = bool(raw.get("nillable"))
        self.unique: bool = bool(raw.get("unique"))
        self.external_id: bool = bool(raw.get("externalId"))
        self.reference_to: list[str] = list(raw.get("referenceTo") or [])
        self.relationship_name: str | None = raw.get("relationshipName")
        self.child_relationship_name: str | None = raw.get("_childRelationshipName")
        self.createable: bool = bool(raw.get("createable"))
        self.updateable: bool = bool(raw.get("updateable"))
        self.calculated: bool = bool(raw.get("calculated"))
        self.precision: int = int(raw.get("precision") or 0)
        self.scale: int = int(raw.get("scale") or 0)
        self.case_sensitive: bool = bool(raw.get("caseSensitive"))
        self.label: str = raw.get("label") or self.name
        self.defaulted_on_create: bool = bool(raw.get("defaultedOnCreate"))
        self.default_value: Any = raw.get("defaultValue")
        if self.default_value is None and self.type == "picklist":
            self.default_value = next((p["value"] for p in raw.get("picklistValues") or []
                                       if p.get("defaultValue") and p.get("active", True)), None)
        self.restricted_picklist: bool = bool(raw.get("restrictedPicklist"))
        self.picklist_values: list[str] = [p["value"] for p in raw.get("picklistValues") or [] if p.get("active", True)]
        self.auto_number: bool = bool(raw.get("autoNumber"))
        self.cascade_delete: bool = bool(raw.get("cascadeDelete"))
        self.polymorphic: bool = len(self.reference_to) > 1
        self.custom: bool = bool(raw.get("custom"))
        self.column: str = '"' + self.lower + '"'
        #: decimal places a stored value keeps: the describe's scale, except that standard currency fields whose
        #: describe says 0 (Account.AnnualRevenue) keep the corporate currency's STANDARD_CURRENCY_SCALE places,
        #: as Salesforce does (12345.67 reads back as 12345.67)
        self.value_scale: int = STANDARD_CURRENCY_SCALE if (self.type == "currency" and not self.custom
                                                             and self.scale == 0) else self.scale

    @property
    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if not k.startswith("_")}

    @property
    def required(self) -> bool:
        """Must have a value on create (what ``REQUIRED_FIELD_MISSING`` checks)."""
        return (not self.nillable and self.createable and not self.defaulted_on_create
                and self.type != "boolean")

    def __repr__(self) -> str:
        return f"FieldDef({self.name}:{self.type})"


class ObjectDef:
    """One sObject type: its describe (without fields/child relationships) and its fields."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.name: str = raw["name"]
        self.lower = self.name.lower()
        self.label: str = raw.get("label") or self.name
        self.key_prefix: str = raw["keyPrefix"]
        self.custom: bool = bool(raw.get("custom"))
        self.table = '"t_' + self.lower + '"'
        self.fields: dict[str, FieldDef] = {}  # the stored fields (each one SQLite column)
        #: compound fields (address, location): no column, read from their components (``compound.py``)
        self.compounds: dict[str, FieldDef] = {}
        #: every field in describe order, compound fields included
        self.all_fields: list[FieldDef] = []
        for f in raw["fields"]:
            fd = FieldDef(f)
            (self.compounds if fd.type in COMPOUND_TYPES else self.fields)[fd.lower] = fd
            self.all_fields.append(fd)
        self.relationships: dict[str, FieldDef] = {
            fd.relationship_name.lower(): fd for fd in self.fields.values()
            if (fd.type == "reference" or fd.raw.get("_referenceKey")) and fd.relationship_name
        }

    def field(self, name: str) -> FieldDef:
        """A stored or compound field (``fd.type in COMPOUND_TYPES``: no column, read-only)."""
        fd = self.find_field(name)
        if fd is None:
            raise InvalidFieldError.no_such_column(name, self.name)
        return fd

    def find_field(self, name: str) -> FieldDef | None:
        low = name.lower()
        return self.fields.get(low) or self.compounds.get(low)

    def compound_parts(self, compound: FieldDef) -> list[tuple[str, FieldDef]]:
        """``(key, component field)`` pairs of a compound field (``("city", BillingCity)`` ...)."""
        return components(compound, self.fields.values())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a parent relationship name (``Member__r`` -> ``Member__c``)."""
        return self.relationships.get(name.lower())

    @property
    def has_owner(self) -> bool:
        return "ownerid" in self.fields

    @property
    def name_field(self) -> FieldDef | None:
        for fd in self.fields.values():
            if fd.raw.get("nameField"):
                return fd
        return self.fields.get("name")

    def describe(self, schema: "Schema | None" = None, api_version: str = "62.0") -> dict[str, Any]:
        out = {k: v for k, v in self.raw.items() if k != "fields" and not k.startswith("_")}
        out["fields"] = [fd.describe for fd in self.all_fields]
        out["childRelationships"] = schema.child_relationships(self) if schema else []
        out["urls"] = self.urls(api_version)
        layout = f"/services/data/v{api_version}/sobjects/{self.name}/describe/layouts/"
        own = [dict(info, active=True, available=True, urls={"layout": layout + info["recordTypeId"]})
               for info in self.raw.get("_recordTypeInfos") or []]
        out["recordTypeInfos"] = own + [{
            "active": True, "available": True, "defaultRecordTypeMapping": not own, "developerName": "Master",
            "master": True, "name": "Master", "recordTypeId": "012000000000000AAA",
            "urls": {"layout": layout + "012000000000000AAA"},
        }] if self.raw.get("layoutable") else []
        return dict(sorted(out.items()))

    def urls(self, api_version: str = "62.0") -> dict[str, str]:
        base = f"/services/data/v{api_version}/sobjects/{self.name}"
        return {"compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate": base + "/{ID}",
                "approvalLayouts": f"{base}/describe/approvalLayouts", "listviews": f"{base}/listviews",
                "describe": f"{base}/describe", "quickActions": f"{base}/quickActions",
                "layouts": f"{base}/describe/layouts", "sobject": base}

    def global_entry(self, api_version: str = "62.0") -> dict[str, Any]:
        out = {k: self.raw.get(k) for k in GLOBAL_KEYS}
        out["urls"] = self.urls(api_version)
        return out

    def __repr__(self) -> str:
        return f"ObjectDef({self.name})"


class Schema:
    """All sObject types of the org. Immutable once published by the store; schema changes
    happen on a ``copy()`` inside a transaction and replace the store's schema on commit."""

    def __init__(self, raw_objects: Iterable[dict[str, Any]]) -> None:
        self._objects: dict[str, ObjectDef] = {}
        self._by_prefix: dict[str, ObjectDef] = {}
        for raw in raw_objects:
            self._add(ObjectDef(raw))
        self._children_cache: dict[str, list[tuple[ObjectDef, FieldDef]]] | None = None
        self._rollups_cache: dict[str, list[tuple[ObjectDef, FieldDef]]] | None = None

    def rollups_of(self, child: str) -> list[tuple[ObjectDef, FieldDef]]:
        """The (master, roll-up summary field) pairs that summarise ``child`` (rollups.py)."""
        if self._rollups_cache is None:
            self._rollups_cache = rollups_by_child(self._objects.values())
        return self._rollups_cache.get(child.lower(), [])

    @classmethod
    def standard(cls, skip: Iterable[str] = ()) -> "Schema":
        """The standard objects of the fixture (less those named, lower-case, in ``skip``: copying the
        whole fixture is what opening a store would otherwise pay each time)."""
        skipped = set(skip)
        return cls(copy.deepcopy([raw for raw in _fixture()["objects"] if raw["name"].lower() not in skipped]))

    def _add(self, od: ObjectDef) -> None:
        self._objects[od.lower] = od
        self._by_prefix[od.key_prefix] = od
        self._children_cache = None
        self._rollups_cache = None

    def copy(self) -> "Schema":
        """A cheap copy: objects are shared until one is changed (changes replace the ObjectDef)."""
        new = Schema.__new__(Schema)
        new._objects = dict(self._objects)
        new._by_prefix = dict(self._by_prefix)
        new._children_cache = None
        new._rollups_cache = None
        return new

    def raw_objects(self) -> list[dict[str, Any]]:
        return [o.raw for o in self._objects.values()]

    # -- lookups -------------------------------------------------------------------------
    def get(self, name: str) -> ObjectDef:
        od = self._objects.get(name.lower())
        if od is None:
            raise InvalidTypeError(name)
        return od

    def find(self, name: str) -> ObjectDef | None:
        return self._objects.get(name.lower())

    def by_key_prefix(self, prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(prefix)

    def objects(self) -> list[ObjectDef]:
        return list(self._objects.values())

    def children(self, parent: ObjectDef) -> list[tuple[ObjectDef, FieldDef]]:
        """(child object, reference field) pairs pointing at ``parent``."""
        if self._children_cache is None:
            cache: dict[str, list[tuple[ObjectDef, FieldDef]]] = {}
            for od in self._objects.values():
                for fd in od.fields.values():
                    if fd.type == "reference":
                        for target in fd.reference_to:
                            cache.setdefault(target.lower(), []).append((od, fd))
            self._children_cache = cache
        return self._children_cache.get(parent.lower, [])

    def child_relationship(self, parent: ObjectDef, name: str) -> tuple[ObjectDef, FieldDef] | None:
        """The child object and its reference field behind a child relationship name."""
        low = name.lower()
        for od, fd in self.children(parent):
            if fd.child_relationship_name and fd.child_relationship_name.lower() == low:
                return od, fd
        return None

    def child_relationships(self, parent: ObjectDef) -> list[dict[str, Any]]:
        return [
            {"cascadeDelete": fd.cascade_delete, "childSObject": od.name, "deprecatedAndHidden": False,
             "field": fd.name, "junctionIdListNames": [], "junctionReferenceTo": [],
             "relationshipName": fd.child_relationship_name, "restrictedDelete": bool(fd.raw.get("restrictedDelete"))}
            for od, fd in self.children(parent)
        ]

    # -- describe ------------------------------------------------------------------------
    def describe_global(self, api_version: str = "62.0") -> dict[str, Any]:
        return {"encoding": "UTF-8", "maxBatchSize": 200,
                "sobjects": [o.global_entry(api_version) for o in sorted(self._objects.values(), key=lambda o: o.name)]}

    def describe(self, name: str, api_version: str = "62.0") -> dict[str, Any]:
        return self.get(name).describe(self, api_version)

    # -- changes (only on a private copy inside a transaction) ---------------------------
    def next_custom_prefix(self, first: str = "a") -> str:
        n = 0
        while True:
            prefix = first + _b36(n).rjust(2, "0")
            if prefix not in self._by_prefix:
                return prefix
            n += 1

    def apply_custom_object(self, spec: CustomObjectSpec) -> tuple[ObjectDef, bool, list[FieldDef]]:
        """Create or update a custom object; returns (object, created, fields added)."""
        name = spec.full_name.strip()
        if not OBJECT_API_NAME.match(name):
            raise ValueError(f"custom object {name!r}: not a valid API name (letters, digits and single "
                             "underscores, starting with a letter, ending with '__c', '__mdt' or '__e')")
        existing = self.find(name)
        kind = object_kind(name)
        label = spec.label or name.rsplit("__", 1)[0].replace("_", " ")
        setting = (spec.custom_settings_type or "").strip() or None
        if existing is None:
            raw = copy.deepcopy(_fixture()["custom_object_template"])
            raw.update(name=name, label=label, labelPlural=spec.plural_label or label,
                       keyPrefix=self.next_custom_prefix(KIND_PREFIX[kind]),
                       custom=True, supportedScopes=[{"label": "All " + (spec.plural_label or label).lower(),
                                                      "name": "everything"}])
            if setting:
                raw.update(customSetting=True, _customSettingsType=setting, feedEnabled=False, mergeable=False,
                           triggerable=False, searchable=False)
            if kind == "mdt":
                raw.update(createable=False, updateable=False, deletable=False, triggerable=False, undeletable=False,
                           mergeable=False, feedEnabled=False, searchable=False, layoutable=False)
                raw["fields"] = _metadata_type_fields()
            elif kind == "e":
                raw.update(updateable=False, deletable=False, queryable=False, undeletable=False, mergeable=False,
                           feedEnabled=False, searchable=False, layoutable=False, triggerable=True,
                           _publishBehavior=spec.publish_behavior or "PublishAfterCommit")
                raw["fields"] = _platform_event_fields()
            else:
                raw["fields"] = self._custom_object_fields(spec, label, setting)
            if spec.sharing_model:
                raw["_sharingModel"] = spec.sharing_model
            od = ObjectDef(raw)
            self._add(od)
            created = True
        else:
            raw = copy.deepcopy(existing.raw)
            raw.update(label=label, labelPlural=spec.plural_label or existing.raw.get("labelPlural"))
            if spec.sharing_model:
                raw["_sharingModel"] = spec.sharing_model
            od = ObjectDef(raw)
            self._add(od)
            created = False
        if kind == "c" and not setting and (spec.sharing_model or "").lower() in ("private", "read"):
            self._add_share_object(od, label, spec.sharing_reasons)
        added = [self.apply_custom_field(od.name, f)[0] for f in spec.fields]
        return self.get(name), created, [a for a in added if a is not None]

    def _add_share_object(self, od: ObjectDef, label: str, reasons: list[tuple[str, str]] | None = None) -> None:
        """``X__Share``: the sharing rows of a custom object whose default access is Private or Read; its
        ``RowCause`` values are the system causes and the object's Apex sharing reasons (``Reason__c``)."""
        name = od.name[:-3] + "__Share"
        existing = self.find(name)
        causes = [{"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                  for v in ("Owner", "Manual", "Rule", "ImplicitChild")]
        causes += [{"active": True, "defaultValue": False, "label": lbl, "validFor": None, "value": v}
                   for v, lbl in reasons or []]
        if existing is not None:
            if reasons:  # a redeploy adds reasons (Salesforce never drops one that rows use)
                raw = copy.deepcopy(existing.raw)
                field = next(f for f in raw["fields"] if f["name"] == "RowCause")
                have = {str(v["value"]).lower() for v in field["picklistValues"]}
                field["picklistValues"] += [c for c in causes if c["value"].lower() not in have]
                self._add(ObjectDef(raw))
            return
        raw = copy.deepcopy(_fixture()["custom_object_template"])
        raw.update(name=name, label=f"{label} Share", labelPlural=f"{label} Share", keyPrefix=self.next_custom_prefix(),
                   custom=True, triggerable=False, searchable=False, layoutable=False, feedEnabled=False,
                   mergeable=False, supportedScopes=[])
        raw["fields"] = [
            field_describe("Id", "id", "Share ID"),
            field_describe("ParentId", "reference", "Parent ID", referenceTo=[od.name], relationshipName="Parent",
                           nillable=False, updateable=False, cascadeDelete=True, _childRelationshipName="Shares"),
            field_describe("UserOrGroupId", "reference", "User/Group ID", referenceTo=["User", "Group"],
                           relationshipName="UserOrGroup", polymorphicForeignKey=True, nillable=False, updateable=False),
            field_describe("AccessLevel", "picklist", "Access Level", nillable=False, picklistValues=[
                {"active": True, "defaultValue": False, "label": v, "validFor": None, "value": v}
                for v in ("Read", "Edit", "All")]),
            field_describe("RowCause", "picklist", "Row Cause", defaultValue="Manual", defaultedOnCreate=True,
                           updateable=False, picklistValues=causes),
            field_describe("IsDeleted", "boolean", "Deleted", createable=False, updateable=False),
            field_describe("LastModifiedDate", "datetime", "Last Modified Date", createable=False, updateable=False),
            field_describe("LastModifiedById", "reference", "Last Modified By ID", referenceTo=["User"],
                           relationshipName="LastModifiedBy", createable=False, updateable=False),
        ]
        self._add(ObjectDef(raw))

    @staticmethod
    def _custom_object_fields(spec: CustomObjectSpec, label: str, setting: str | None) -> list[dict[str, Any]]:
        if setting:
            # a custom setting: no owner; a hierarchy setting's records belong to the org, a profile or a user
            fields = system_field_describes(owner=False, deleted=True)
            fields.insert(2, field_describe("SetupOwnerId", "reference", "Location", referenceTo=["Organization", "Profile", "User"],
                                            relationshipName="SetupOwner", polymorphicForeignKey=True)
                          if setting.lower() == "hierarchy" else
                          field_describe("Name", "string", "Name", length=38, nillable=False, nameField=True, idLookup=True))
            if setting.lower() == "hierarchy":
                fields.insert(3, field_describe("Name", "string", "Name", length=80, nillable=True, defaultedOnCreate=True,
                                                nameField=True))
            return fields
        fields = system_field_describes(owner=True, deleted=True, owner_to=("Group", "User"))  # a queue may own them
        if (spec.name_field_type or "Text").lower() == "autonumber":
            name_field = field_describe("Name", "string", spec.name_field_label or f"{label} Name", length=80,
                                        autoNumber=True, createable=False, updateable=False, nillable=False,
                                        defaultedOnCreate=True, nameField=True, idLookup=True,
                                        displayFormat=spec.name_field_display_format or "{0}")
        else:
            name_field = field_describe("Name", "string", spec.name_field_label or f"{label} Name", length=80,
                                        nillable=True, defaultedOnCreate=True, nameField=True, idLookup=True)
        fields.insert(3, name_field)
        return fields

    def apply_custom_field(self, sobject: str, spec: CustomFieldSpec) -> tuple[FieldDef | None, FieldDef]:
        """Add or replace a custom field. Returns (the new field if it was added else None, field)."""
        od = ObjectDef(copy.deepcopy(self.get(sobject).raw))
        fname = spec.full_name.split(".")[-1].strip()
        if not API_NAME.match(fname):
            raise ValueError(f"custom field {od.name}.{fname}: not a valid API name (letters, digits and single "
                             "underscores, starting with a letter, ending with '__c')")
        raw_field = custom_field_describe(spec)
        if raw_field.get("_summary") is not None:
            raw_field = summary_describe(self, od.name, raw_field)
        for target in raw_field.get("referenceTo") or []:
            if self.find(target) is None:
                raise ValueError(f"field {od.name}.{fname}: referenceTo {target!r} is not an object of this org")
            raw_field["referenceTo"] = [self.get(target).name]
        old = od.find_field(fname)
        fields = od.raw["fields"]
        if old is not None and old.type != raw_field["type"] and not _compatible(old.type, raw_field["type"]):
            raise ValueError(f"field {od.name}.{fname}: cannot change type from {old.type} to {raw_field['type']}")
        components = location_component_describes(spec) if raw_field["type"] == "location" else []
        for raw in (*components, raw_field):  # a geolocation: components first, as the standard address fields
            idx = next((i for i, f in enumerate(fields) if f["name"].lower() == raw["name"].lower()), None)
            if idx is None:
                fields.append(raw)
            else:
                fields[idx] = raw
        if spec.type.lower() == "masterdetail":
            od.raw["fields"] = [f for f in fields if f["name"] != "OwnerId"]
        new_od = ObjectDef(od.raw)
        self._add(new_od)
        fd = new_od.field(fname)
        if new_od.lower == "contact":
            self._mirror_on_person_accounts(fd)
        return (fd if old is None else None), fd

    def _mirror_on_person_accounts(self, contact_field: FieldDef) -> None:
        """With Person Accounts a Contact custom field ``X__c`` is also ``Account.X__pc``."""
        from . import features

        if not features.person_accounts.enabled(self):
            return
        mirrored = features.person_accounts.mirror_contact_field(self, contact_field)
        if mirrored is None:
            return
        raw = copy.deepcopy(self.get("Account").raw)
        fields = raw["fields"]
        idx = next((i for i, f in enumerate(fields) if f["name"].lower() == mirrored["name"].lower()), None)
        if idx is None:
            fields.append(mirrored)
        else:
            fields[idx] = mirrored
        self._add(ObjectDef(raw))


def _compatible(old: str, new: str) -> bool:
    text = {"string", "textarea", "email", "phone", "url", "picklist"}
    nums = {"double", "currency", "percent"}
    return (old in text and new in text) or (old in nums and new in nums)


def _b36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if n == 0:
        return "0"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out
