"""The Avro schema of an entity's change event (``ContactChangeEvent``, ``EC_Order__ChangeEvent``)
and the encoding of one change into its binary payload.

As Salesforce's change event schemas: namespace ``com.sforce.eventbus``; field 0 is
``ChangeEventHeader``; then the object's fields, each a union ``["null", T]`` with default null;
compound fields are nested records: a person's name (``Name``: Salutation, FirstName, LastName…,
type ``Switchable_PersonName``) and addresses (``MailingAddress``: Street, City… type ``Address``).
Not in the event: ``Id`` (the header's recordIds), ``IsDeleted``, ``SystemModstamp``, derived fields
(``LastActivityDate``, ``PhotoUrl``, ``LastViewedDate``, ``LastReferencedDate``, formulas) and
base64 fields.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import Any, Iterable, Mapping

import fastavro

from localcloud.salesforce.data import changeevents
from localcloud.salesforce.data.changeevents import change_event_name

from . import bitmap

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = ["CREATE", "UPDATE", "DELETE", "UNDELETE", "GAP_CREATE", "GAP_UPDATE", "GAP_DELETE",
                "GAP_UNDELETE", "GAP_OVERFLOW", "SNAPSHOT"]
_STRING_ARRAY = {"type": "array", "items": "string"}
HEADER_SCHEMA: dict[str, Any] = {
    "type": "record", "name": "ChangeEventHeader", "namespace": NAMESPACE,
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": _STRING_ARRAY},
        {"name": "changeType", "type": {"type": "enum", "name": "ChangeType", "namespace": NAMESPACE,
                                        "symbols": CHANGE_TYPES}},
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": _STRING_ARRAY},
        {"name": "diffFields", "type": _STRING_ARRAY},
        {"name": "changedFields", "type": _STRING_ARRAY},
    ],
}
EXCLUDED = {"id", *changeevents.EXCLUDED}
PERSON_NAME_PARTS = ("Salutation", "FirstName", "MiddleName", "LastName", "Suffix", "InformalName")
PERSON_NAME_OBJECTS = {"contact", "lead", "user"}
ADDRESS_PARTS = ("Street", "City", "State", "PostalCode", "Country", "StateCode", "CountryCode", "Latitude",
                 "Longitude", "GeocodeAccuracy")
_TEXT = {"string", "textarea", "picklist", "multipicklist", "phone", "url", "email", "reference", "id",
         "combobox", "encryptedstring"}


def _avro_type(field_type: str) -> Any:
    if field_type == "boolean":
        return "boolean"
    if field_type == "int":
        return "int"
    if field_type in ("double", "currency", "percent"):
        return "double"
    if field_type == "date":
        return {"type": "int", "logicalType": "date"}
    if field_type == "datetime":
        return {"type": "long", "logicalType": "timestamp-millis"}
    if field_type == "time":
        return {"type": "int", "logicalType": "time-millis"}
    return "string"


def _avro_value(field_type: str, value: Any) -> Any:
    if value is None:
        return None
    if field_type == "boolean":
        return bool(value)
    if field_type == "int":
        return int(value)
    if field_type in ("double", "currency", "percent"):
        return float(value) if isinstance(value, (Decimal, int, float)) else float(str(value))
    if field_type == "datetime" and isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if field_type in ("date", "time") and isinstance(value, (date, time)):
        return value
    return str(value)


def _optional(name: str, avro_type: Any, doc: str) -> dict[str, Any]:
    return {"name": name, "type": ["null", avro_type], "doc": doc, "default": None}


@dataclass
class Compound:
    name: str                       # Name, MailingAddress
    parts: dict[str, str]           # object field -> part name (MailingCity -> City)
    types: dict[str, str] = field(default_factory=dict)  # part name -> Salesforce field type


@dataclass
class EventLayout:
    """The schema of one entity's change event and where each object field sits in it."""

    entity: str
    event_name: str
    schema: dict[str, Any]
    top_level: list[str]                        # Avro field names, position 0 = ChangeEventHeader
    field_types: dict[str, str]                 # top-level simple field -> Salesforce type
    compounds: dict[str, Compound]              # compound name -> its parts
    member_of: dict[str, str]                   # object field -> compound name
    schema_json: str = ""
    schema_id: str = ""
    _parsed: Any = None

    def positions(self, names: Iterable[str]) -> tuple[set[int], dict[int, set[int]]]:
        top: set[int] = set()
        nested: dict[int, set[int]] = {}
        for name in names:
            if name in self.member_of:
                compound = self.compounds[self.member_of[name]]
                parts = list(compound.types)
                nested.setdefault(self.top_level.index(compound.name), set()).add(parts.index(compound.parts[name]))
            elif name in self.field_types:
                top.add(self.top_level.index(name))
        return top, nested

    def bitmap(self, names: Iterable[str]) -> list[str]:
        return bitmap.encode(*self.positions(names))

    def compound_parts(self) -> dict[str, list[str]]:
        return {name: list(c.types) for name, c in self.compounds.items()}

    def encode(self, header: Mapping[str, Any], values: Mapping[str, Any]) -> bytes:
        """Avro binary of one event: ``values`` are object fields (canonical names, typed values)."""
        record: dict[str, Any] = {"ChangeEventHeader": dict(header)}
        for name, value in values.items():
            if name in self.member_of:
                compound = self.compounds[self.member_of[name]]
                part = compound.parts[name]
                inner = record.get(compound.name) or {p: None for p in compound.types}
                inner[part] = _avro_value(compound.types[part], value)
                record[compound.name] = inner
            elif name in self.field_types:
                record[name] = _avro_value(self.field_types[name], value)
        out = io.BytesIO()
        fastavro.schemaless_writer(out, self._parsed, record)
        return out.getvalue()


def _compounds(od: Any) -> tuple[dict[str, Compound], dict[str, str]]:
    names = {fd.name for fd in od.fields.values()}
    compounds: dict[str, Compound] = {}
    member_of: dict[str, str] = {}
    if od.lower in PERSON_NAME_OBJECTS and "LastName" in names:
        compounds["Name"] = Compound("Name", {p: p for p in PERSON_NAME_PARTS if p in names})
    for fd in od.fields.values():
        if fd.name.endswith("Street") and f"{fd.name[:-6]}City" in names:
            prefix = fd.name[:-6]
            compound = f"{prefix}Address"
            compounds[compound] = Compound(compound, {prefix + p: p for p in ADDRESS_PARTS if prefix + p in names})
    for compound in compounds.values():
        for member in compound.parts:
            member_of[member] = compound.name
    return compounds, member_of


def build_layout(od: Any) -> EventLayout:
    """The change event layout of object ``od`` (a data-layer ``ObjectDef``) as it is now."""
    compounds, member_of = _compounds(od)
    fields: list[dict[str, Any]] = [{"name": "ChangeEventHeader", "type": HEADER_SCHEMA, "doc": "Data:EventHeader"}]
    top_level = ["ChangeEventHeader"]
    field_types: dict[str, str] = {}
    defined: dict[str, list[str]] = {}
    by_lower = {fd.lower: fd for fd in od.fields.values()}
    for fd in od.fields.values():
        if fd.lower in EXCLUDED or fd.calculated or fd.type == "base64":
            continue
        if fd.name in member_of or (fd.name == "Name" and "Name" in compounds):
            compound = compounds[member_of.get(fd.name, "Name")]
            if compound.name in top_level:
                continue
            for member, part in compound.parts.items():
                compound.types[part] = by_lower[member.lower()].type
            type_name = "Switchable_PersonName" if compound.name == "Name" else "Address"
            parts = list(compound.types)
            if defined.get(type_name, parts) != parts:
                type_name = f"{compound.name}Type"
            if type_name in defined:
                avro_type: Any = f"{NAMESPACE}.{type_name}"
            else:
                defined[type_name] = parts
                avro_type = {"type": "record", "name": type_name, "namespace": NAMESPACE,
                             "fields": [_optional(p, _avro_type(t), f"Data:{t}") for p, t in compound.types.items()]}
            fields.append(_optional(compound.name, avro_type, "Data:Compound"))
            top_level.append(compound.name)
            continue
        fields.append(_optional(fd.name, _avro_type(fd.type), f"Data:{fd.type}"))
        top_level.append(fd.name)
        field_types[fd.name] = fd.type
    event_name = change_event_name(od.name)
    schema = {"type": "record", "name": event_name, "namespace": NAMESPACE, "fields": fields}
    layout = EventLayout(od.name, event_name, schema, top_level, field_types, compounds, member_of)
    layout.schema_json = json.dumps(schema, separators=(",", ":"))
    layout.schema_id = schema_id(layout.schema_json)
    layout._parsed = fastavro.parse_schema(json.loads(layout.schema_json))
    return layout


def schema_id(schema_json: str) -> str:
    """A fingerprint of the schema (Salesforce's ids are opaque 22-character strings as well)."""
    digest = hashlib.sha256(schema_json.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def decode(schema_json: str, payload: bytes) -> dict[str, Any]:
    """Decode one payload (tests and tools)."""
    parsed = fastavro.parse_schema(json.loads(schema_json))
    return fastavro.schemaless_reader(io.BytesIO(payload), parsed)  # type: ignore[return-value]
