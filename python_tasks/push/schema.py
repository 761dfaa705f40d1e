"""What Marketo says its fields are (dataType, length, updateable), read from describe2 and the
custom object describes, with the mapping's declared types as the fallback."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping as TMapping

from python_tasks.mapping import Mapping


@dataclass(frozen=True)
class MarketoFieldInfo:
    name: str
    data_type: str
    length: int | None = None
    updateable: bool = True


@dataclass
class MarketoSchema:
    lead: dict[str, MarketoFieldInfo] = field(default_factory=dict)
    searchable: set[str] = field(default_factory=set)
    custom_objects: dict[str, dict[str, MarketoFieldInfo]] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, mapping: Mapping) -> "MarketoSchema":
        """The types the mapping declares: used when describes are not (yet) read."""
        schema = cls()
        for f in mapping.marketo.lead.fields:
            schema.lead[f.name] = MarketoFieldInfo(f.name, f.type)
        for co in mapping.marketo.custom_objects:
            schema.custom_objects[co.api_name] = {f.name: MarketoFieldInfo(f.name, f.type) for f in co.fields}
        return schema

    @staticmethod
    def lead_fields_from_describe2(result: TMapping[str, Any]) -> tuple[dict[str, MarketoFieldInfo], set[str]]:
        fields = {}
        for item in result.get("fields") or ():
            name = item.get("name")
            if not name:
                continue
            fields[name] = MarketoFieldInfo(
                name, str(item.get("dataType") or "string").lower(), _int(item.get("length")),
                bool(item.get("updateable", True)),
            )
        searchable = {name for group in result.get("searchableFields") or () for name in (group or ())}
        return fields, searchable

    @staticmethod
    def custom_object_fields(result: TMapping[str, Any]) -> dict[str, MarketoFieldInfo]:
        fields = {}
        for item in result.get("fields") or ():
            name = item.get("name")
            if name:
                fields[name] = MarketoFieldInfo(
                    name, str(item.get("dataType") or "string").lower(), _int(item.get("length")),
                    bool(item.get("updateable", True)),
                )
        return fields

    def lead_info(self, name: str, fallback_type: str) -> MarketoFieldInfo:
        return self.lead.get(name) or MarketoFieldInfo(name, fallback_type)

    def co_info(self, api_name: str, name: str, fallback_type: str) -> MarketoFieldInfo:
        return self.custom_objects.get(api_name, {}).get(name) or MarketoFieldInfo(name, fallback_type)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def merge_describes(mapping: Mapping, lead_describe: TMapping[str, Any] | None,
                    co_describes: Iterable[tuple[str, TMapping[str, Any]]] = ()) -> MarketoSchema:
    schema = MarketoSchema.from_mapping(mapping)
    if lead_describe:
        fields, searchable = MarketoSchema.lead_fields_from_describe2(lead_describe)
        schema.lead.update(fields)
        schema.searchable = searchable
    for api_name, describe in co_describes:
        schema.custom_objects.setdefault(api_name, {}).update(MarketoSchema.custom_object_fields(describe))
    return schema
