"""Plain, parsed metadata specs the metadata engineer hands to the schema.

They mirror the Metadata API's ``CustomObject`` / ``CustomField`` XML (``fullName``, ``type``,
``length``, ``precision``, ``scale``, ``required``, ``unique``, ``externalId``, ``referenceTo``,
``relationshipName``, ``defaultValue``, ``valueSet``...) with snake_case names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PicklistValue:
    """One value of a picklist's ``valueSet``."""

    value: str
    label: str | None = None
    default: bool = False
    active: bool = True


@dataclass
class CustomFieldSpec:
    """A ``CustomField``. ``full_name`` is ``Field__c`` or ``Object__c.Field__c``.

    ``type`` is the Metadata API type: Text, TextArea, LongTextArea, Html, Email, Phone, Url,
    Number, Currency, Percent, Checkbox, Date, DateTime, Time, Picklist, MultiselectPicklist,
    Lookup, MasterDetail, AutoNumber, Location (geolocation: a compound over ``Name__Latitude__s`` /
    ``Name__Longitude__s``) (others fail with ``ValueError`` naming the type).
    ``default_value`` is the XML text as written (``false``, ``"abc"``, ``0``).
    """

    full_name: str
    type: str
    label: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    unique: bool = False
    external_id: bool = False
    case_sensitive: bool = False
    default_value: str | None = None
    reference_to: str | None = None
    relationship_name: str | None = None
    relationship_label: str | None = None
    delete_constraint: str | None = None
    #: a roll-up summary (type Summary): ``{"operation": count|sum|min|max, "foreign_key": "Child__c.Master__c",
    #: "field": "Child__c.Amount__c" or None, "filters": [{"field", "operation", "value"}]}`` (rollups.py)
    summary: dict[str, Any] | None = None
    picklist_values: list[PicklistValue] = field(default_factory=list)
    restricted_picklist: bool = False
    visible_lines: int | None = None
    display_format: str | None = None
    description: str | None = None
    inline_help_text: str | None = None
    #: a formula field: its formula (the field is read-only, computed when read) and ``BlankAsZero`` /
    #: ``BlankAsBlank`` (``formulaTreatBlanksAs``)
    formula: str | None = None
    formula_treat_blanks_as: str | None = None


@dataclass
class FieldSetSpec:
    """A ``FieldSet`` of an object (``<fieldSets>`` inside the ``CustomObject``): its displayed fields as
    ``(field path, required by the field set)`` pairs, in order. A path is a field of the object or a
    relationship path (``Account__r.Name``)."""

    full_name: str
    label: str | None = None
    description: str | None = None
    fields: list[tuple[str, bool]] = field(default_factory=list)


@dataclass
class CustomObjectSpec:
    """A ``CustomObject`` (``full_name`` like ``EC_Order__c``) with its fields.

    ``name_field_type`` is ``Text`` or ``AutoNumber`` (then ``name_field_display_format`` such
    as ``L-{0000}``). Applying a spec for an object that exists updates labels and adds/changes
    the given fields; nothing is ever dropped.
    """

    full_name: str
    label: str | None = None
    plural_label: str | None = None
    name_field_label: str = "Name"
    name_field_type: str = "Text"
    name_field_display_format: str | None = None
    sharing_model: str | None = None
    description: str | None = None
    fields: list[CustomFieldSpec] = field(default_factory=list)
    #: ``Hierarchy`` or ``List`` for a custom setting (``customSettingsType``), else None
    custom_settings_type: str | None = None
    #: a platform event's ``publishBehavior``: ``PublishAfterCommit`` (default) or ``PublishImmediately``
    publish_behavior: str | None = None
    #: the object's field sets (applied after every field of the deploy exists: ``Schema.apply_field_sets``)
    field_sets: list[FieldSetSpec] = field(default_factory=list)
    #: Apex sharing reasons (``<sharingReasons>``): (API name ``Reason__c``, label); RowCause values of ``X__Share``
    sharing_reasons: list[tuple[str, str]] = field(default_factory=list)


_FIELD_KEYS = {
    "fullname": "full_name", "type": "type", "label": "label", "length": "length", "precision": "precision",
    "scale": "scale", "required": "required", "unique": "unique", "externalid": "external_id",
    "casesensitive": "case_sensitive", "defaultvalue": "default_value", "referenceto": "reference_to",
    "relationshipname": "relationship_name", "relationshiplabel": "relationship_label",
    "deleteconstraint": "delete_constraint", "restrictedpicklist": "restricted_picklist",
    "visiblelines": "visible_lines", "displayformat": "display_format", "description": "description",
    "inlinehelptext": "inline_help_text", "formula": "formula", "formulatreatblanksas": "formula_treat_blanks_as",
}
_OBJECT_KEYS = {
    "fullname": "full_name", "label": "label", "plurallabel": "plural_label", "sharingmodel": "sharing_model",
    "description": "description", "namefieldlabel": "name_field_label", "namefieldtype": "name_field_type",
    "namefielddisplayformat": "name_field_display_format", "customsettingstype": "custom_settings_type",
    "publishbehavior": "publish_behavior",
}
_BOOL = {"required", "unique", "external_id", "case_sensitive", "restricted_picklist"}
_INT = {"length", "precision", "scale", "visible_lines"}


def _norm(key: str) -> str:
    return key.replace("_", "").lower()


def field_spec_from_dict(data: dict) -> CustomFieldSpec:  # type: ignore[type-arg]
    """A ``CustomFieldSpec`` from a plain dict with Metadata API (``externalId``) or snake_case
    (``external_id``) keys; ``picklist_values``/``values`` is a list of strings or dicts."""
    kwargs: dict = {}  # type: ignore[type-arg]
    values = []
    for key, value in data.items():
        k = _norm(key)
        if k in ("picklistvalues", "values", "valueset"):
            for v in value or []:
                if isinstance(v, PicklistValue):
                    values.append(v)
                elif isinstance(v, str):
                    values.append(PicklistValue(v))
                else:
                    d = {_norm(a): b for a, b in v.items()}
                    values.append(PicklistValue(str(d.get("value", d.get("fullname"))), d.get("label"),
                                                _to_bool(d.get("default", False)), _to_bool(d.get("active", True))))
            continue
        name = _FIELD_KEYS.get(k)
        if name is None:
            continue
        if name in _BOOL:
            value = _to_bool(value)
        elif name in _INT and value is not None:
            value = int(value)
        kwargs[name] = value
    return CustomFieldSpec(picklist_values=values, **kwargs)


def object_spec_from_dict(data: dict) -> CustomObjectSpec:  # type: ignore[type-arg]
    """A ``CustomObjectSpec`` from a plain dict (keys as in ``field_spec_from_dict``); ``fields``
    is a list of field dicts or specs."""
    kwargs: dict = {}  # type: ignore[type-arg]
    fields = []
    for key, value in data.items():
        k = _norm(key)
        if k == "fields":
            fields = [f if isinstance(f, CustomFieldSpec) else field_spec_from_dict(f) for f in value or []]
        elif k in _OBJECT_KEYS:
            kwargs[_OBJECT_KEYS[k]] = value
    return CustomObjectSpec(fields=fields, **kwargs)


def _to_bool(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)
