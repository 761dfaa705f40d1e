"""What a Marketo field needs, derived from the Salesforce field that feeds it."""
from __future__ import annotations

import re
from dataclasses import dataclass

from python_tasks.mapping import Mapping, MarketoField

# Marketo's fixed lengths: a created string field holds 255 characters, a text field 65,535.
STRING_LENGTH = 255
TEXT_LENGTH = 65535
LENGTH_TYPES = {"string": STRING_LENGTH, "email": STRING_LENGTH, "phone": STRING_LENGTH, "text": TEXT_LENGTH}
# Mapping types Marketo's create endpoints do not take, and what to create instead.
CREATE_TYPE = {"url": "string", "reference": "string"}


@dataclass(frozen=True)
class WantedField:
    """A Marketo field as the mapping needs it."""

    name: str
    display_name: str
    data_type: str  # what to create
    needed_length: int | None  # characters the Salesforce values can hold (None: not a text value)
    source: str  # e.g. "EC_Order__c.Order_Number__c Text(64)"
    accepted: frozenset[str]  # existing Marketo types that can hold the values

    @property
    def length(self) -> int | None:
        return LENGTH_TYPES.get(self.data_type)


def display_name(name: str) -> str:
    """``lastOrderNumber`` -> ``Last Order Number`` (letters, digits and spaces only)."""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name.replace("_", " ")).split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or name


def _source_object(mapping: Mapping, mf: MarketoField) -> str | None:
    scope = mf.source.scope
    if scope == "member":
        return mapping.member.object_name
    if scope in ("last_order", "order"):
        return mapping.order.object_name
    if scope == "lines":
        return mapping.order_line.object_name
    return None


def wanted_field(mapping: Mapping, mf: MarketoField) -> WantedField:
    from python_tasks.mapping import MARKETO_COMPATIBLE

    object_name = _source_object(mapping, mf)
    sf = next((f for f in mapping.salesforce_fields(object_name)
               if mf.source.field and f.name.lower() == mf.source.field.lower()), None) if object_name else None
    data_type = CREATE_TYPE.get(mf.type, mf.type)
    needed: int | None = None
    if mf.source.aggregate == "join":
        data_type, needed, source = "text", TEXT_LENGTH, f"{object_name}.{mf.source.field} joined"
    elif mf.source.aggregate == "count":
        source = f"number of {object_name} rows"
    elif sf is not None:
        needed = sf.length if data_type in LENGTH_TYPES else None
        if sf.metadata_type == "Email" and data_type in LENGTH_TYPES:
            needed = 80  # Salesforce's Email fields hold 80 characters
        size = f"({sf.length})" if sf.length else ""
        source = f"{object_name}.{sf.name} {sf.metadata_type}{size}"
    else:
        source = f"{object_name}.{mf.source.field}"
    if data_type in ("string", "phone") and needed and needed > STRING_LENGTH:
        data_type = "text"  # a created string field holds 255 characters
    accepted = frozenset(MARKETO_COMPATIBLE.get(mf.source_type, frozenset({data_type}))) if mf.source_type else \
        frozenset({data_type, "integer", "float", "currency"} if mf.source.aggregate == "count" else {data_type})
    return WantedField(mf.name, display_name(mf.name), data_type, needed, source, accepted | {data_type})
