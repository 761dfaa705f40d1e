"""The lead and custom object schemas of the local Marketo, read from YAML, and value checking.

A value is checked the way Marketo checks it on a write: a value of the wrong type is a 1001
("Invalid value '%s'. Required of type '%s'"), a value too long for its field or out of range is a
1003 ("Invalid data"). Both become per-record ``skipped`` reasons; the record beside stays good.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SCHEMA_PATH = Path(__file__).with_name("default_schema.yml")

DATA_TYPES = {
    "string",
    "email",
    "phone",
    "text",
    "integer",
    "float",
    "currency",
    "date",
    "datetime",
    "boolean",
}
LENGTH_TYPES = {"string", "email", "phone", "text"}
DEFAULT_LENGTHS = {"string": 255, "email": 255, "phone": 255, "text": 65535}
SEARCHABLE_TYPES = {"string", "email", "integer"}
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SchemaError(ValueError):
    """The schema file is malformed; the message names the object and field."""


class ValueRejected(ValueError):
    """A value does not fit its field; carries the Marketo record-level reason code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FieldDef:
    name: str
    display_name: str
    data_type: str
    length: int | None = None
    updateable: bool = True
    crm_managed: bool = False
    searchable: bool = False

    def describe2(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": self.name,
            "displayName": self.display_name,
            "dataType": self.data_type,
        }
        if self.length is not None:
            entry["length"] = self.length
        entry["updateable"] = self.updateable
        entry["crmManaged"] = self.crm_managed
        return entry


@dataclass(frozen=True)
class Relationship:
    field: str
    type: str
    related_object: str
    related_field: str

    def as_json(self, key: str = "relatedTo") -> dict[str, Any]:
        return {
            "field": self.field,
            "type": self.type,
            key: {"name": self.related_object, "field": self.related_field},
        }


@dataclass
class ObjectSchema:
    name: str
    display_name: str
    fields: dict[str, FieldDef]
    description: str = ""
    dedupe_fields: list[str] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    approved_at: str | None = None  # types approved over the metadata API; None: from the schema file
    updated_at: str | None = None

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name)

    @property
    def lead_link(self) -> Relationship | None:
        for relationship in self.relationships:
            if relationship.related_object == "Lead":
                return relationship
        return None


@dataclass
class Schema:
    lead: ObjectSchema
    custom_objects: dict[str, ObjectSchema]

    def searchable_lead_fields(self) -> list[str]:
        return [f.name for f in self.lead.fields.values() if f.searchable]


def _field_from_yaml(owner: str, raw: dict[str, Any]) -> FieldDef:
    name = raw.get("name")
    if not name or not isinstance(name, str):
        raise SchemaError(f"{owner}: a field has no name: {raw!r}")
    data_type = raw.get("dataType")
    if data_type not in DATA_TYPES:
        raise SchemaError(
            f"{owner}.{name}: dataType {data_type!r} is not one of {sorted(DATA_TYPES)}"
        )
    length = raw.get("length")
    if data_type in LENGTH_TYPES:
        length = int(length) if length is not None else DEFAULT_LENGTHS[data_type]
    elif length is not None:
        raise SchemaError(f"{owner}.{name}: length is only valid for {sorted(LENGTH_TYPES)}")
    searchable = bool(raw.get("searchable", False))
    if searchable and data_type not in SEARCHABLE_TYPES:
        raise SchemaError(
            f"{owner}.{name}: only string, email and integer fields can be searchable"
        )
    return FieldDef(
        name=name,
        display_name=str(raw.get("displayName") or name),
        data_type=data_type,
        length=length,
        updateable=bool(raw.get("updateable", True)),
        crm_managed=bool(raw.get("crmManaged", False)),
        searchable=searchable,
    )


def _custom_object_from_yaml(raw: dict[str, Any]) -> ObjectSchema:
    name = raw.get("name")
    if not name:
        raise SchemaError(f"custom object without a name: {raw!r}")
    fields = {}
    for entry in raw.get("fields") or []:
        definition = _field_from_yaml(name, entry)
        fields[definition.name] = definition
    for system in ("marketoGUID", "createdAt", "updatedAt"):
        if system in fields:
            raise SchemaError(f"{name}.{system} is a system field; do not declare it")
    dedupe = list(raw.get("dedupeFields") or [])
    if not dedupe:
        raise SchemaError(f"{name}: dedupeFields is required")
    for dedupe_field in dedupe:
        if dedupe_field not in fields:
            raise SchemaError(f"{name}: dedupe field {dedupe_field!r} is not among its fields")
    relationships = []
    for rel in raw.get("relationships") or []:
        related = rel.get("relatedTo") or {}
        if rel.get("field") not in fields:
            raise SchemaError(
                f"{name}: relationship field {rel.get('field')!r} is not among its fields"
            )
        relationships.append(
            Relationship(
                field=rel["field"],
                type=rel.get("type", "child"),
                related_object=related.get("name", "Lead"),
                related_field=related.get("field", "id"),
            )
        )
    return ObjectSchema(
        name=name,
        display_name=str(raw.get("displayName") or name),
        description=str(raw.get("description") or ""),
        fields=fields,
        dedupe_fields=dedupe,
        relationships=relationships,
    )


def schema_from_dict(raw: dict[str, Any], *, fresh: bool = False) -> Schema:
    """The schema of ``raw``; ``fresh`` leaves out its ``prepared`` part (what provisioning creates)."""
    raw = raw or {}
    lead_raw = raw.get("lead") or {}
    prepared = {} if fresh else (raw.get("prepared") or {})
    lead_fields: dict[str, FieldDef] = {}
    for entry in [*(lead_raw.get("fields") or []), *(prepared.get("lead_fields") or [])]:
        definition = _field_from_yaml("lead", entry)
        lead_fields[definition.name] = definition
    for required in ("id", "email", "createdAt", "updatedAt"):
        if required not in lead_fields:
            raise SchemaError(f"lead: the standard field {required!r} is missing from the schema")
    lead = ObjectSchema(name="Lead", display_name="API Lead", fields=lead_fields)
    objects = {}
    for entry in [*(raw.get("custom_objects") or []), *(prepared.get("custom_objects") or [])]:
        schema = _custom_object_from_yaml(entry)
        objects[schema.name] = schema
    return Schema(lead=lead, custom_objects=objects)


def load_schema(path: Path | None = None, *, fresh: bool = False) -> Schema:
    source = path or DEFAULT_SCHEMA_PATH
    try:
        raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise SchemaError(f"{source}: not valid YAML: {error}") from error
    if "schema" in raw and isinstance(raw["schema"], dict):
        raw = raw["schema"]
    return schema_from_dict(raw, fresh=fresh)


# ---------------------------------------------------------------------------------------------
# value checking


def _type_error(value: Any, data_type: str) -> ValueRejected:
    return ValueRejected("1001", f"Invalid value '{value}'. Required of type '{data_type}'")


def format_datetime(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: str, naive_timezone: dt.tzinfo = dt.timezone.utc) -> dt.datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if re.fullmatch(r".*[+-]\d{4}", text):  # +0900 -> +09:00
        text = text[:-2] + ":" + text[-2:]
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_timezone)
    return moment


def coerce_value(
    definition: FieldDef,
    value: Any,
    *,
    truncate_long_strings: bool = False,
    naive_timezone: dt.tzinfo = dt.timezone.utc,
) -> Any:
    """Return the stored form of ``value`` for ``definition`` or raise ValueRejected."""
    if value is None:
        return None
    data_type = definition.data_type
    if data_type in LENGTH_TYPES:
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise _type_error(value, data_type)
        text = value if isinstance(value, str) else str(value)
        if (
            data_type == "email"
            and text != ""
            and (not EMAIL_PATTERN.match(text) or not text.isascii())
        ):
            raise _type_error(value, data_type)
        assert definition.length is not None
        if len(text) > definition.length:
            if truncate_long_strings:
                return text[: definition.length]
            raise ValueRejected(
                "1003",
                f"Invalid data: value for field '{definition.name}' is longer than {definition.length}",
            )
        return text
    if data_type == "integer":
        if isinstance(value, bool):
            raise _type_error(value, data_type)
        if isinstance(value, float):
            if not value.is_integer():
                raise _type_error(value, data_type)
            value = int(value)
        if isinstance(value, str):
            if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
                raise _type_error(value, data_type)
            value = int(value)
        if not isinstance(value, int):
            raise _type_error(value, data_type)
        if not INT_MIN <= value <= INT_MAX:
            raise ValueRejected(
                "1003", f"Invalid data: value for field '{definition.name}' is out of range"
            )
        return value
    if data_type in ("float", "currency"):
        if isinstance(value, bool) or isinstance(value, (dict, list)):
            raise _type_error(value, data_type)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _type_error(value, data_type) from None
        if math.isnan(number) or math.isinf(number):
            raise _type_error(value, data_type)
        return number
    if data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            return value.strip().lower() in ("true", "1")
        raise _type_error(value, data_type)
    if data_type == "date":
        if not isinstance(value, str):
            raise _type_error(value, data_type)
        try:
            return dt.date.fromisoformat(value.strip()[:10]).isoformat()
        except ValueError:
            raise _type_error(value, data_type) from None
    if data_type == "datetime":
        if not isinstance(value, str):
            raise _type_error(value, data_type)
        try:
            return format_datetime(parse_datetime(value, naive_timezone))
        except ValueError:
            raise _type_error(value, data_type) from None
    raise _type_error(value, data_type)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")
