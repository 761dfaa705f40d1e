"""Field sets of an object: checked against the schema and kept in its definition (``_fieldSets``).

A field set is stored as ``{"name", "label", "description", "fields": [{"path", "sobject", "field",
"required"}]}``: ``path`` is the field path in the schema's spelling (``Account__r.Name``), ``sobject`` and
``field`` name the field the path ends at (what ``Schema.FieldSetMember`` describes). A deploy replaces the
field sets it names and keeps the others (nothing is dropped).
"""

from __future__ import annotations

import copy
from typing import Any

from .schema import ObjectDef, Schema
from .specs import FieldSetSpec

#: relationship hops a field set path may take (Salesforce allows spanning up to five objects)
MAX_HOPS = 5


def resolve_path(schema: Schema, sobject: str, path: str) -> tuple[str, str, str]:
    """``(path in the schema's spelling, object the path ends on, field name)``; ``ValueError`` naming
    the part of the path that is not a field or relationship."""
    parts = [p.strip() for p in path.split(".")]
    if not path.strip() or any(not p for p in parts) or len(parts) > MAX_HOPS + 1:
        raise ValueError(f"invalid field path {path!r}")
    od: ObjectDef = schema.get(sobject)
    spelled: list[str] = []
    for hop in parts[:-1]:
        fd = od.relationship(hop)
        if fd is None or not fd.raw.get("referenceTo"):
            raise ValueError(f"{hop!r} is not a relationship of {od.name} (in {path!r})")
        spelled.append(fd.relationship_name or hop)
        od = schema.get(fd.raw["referenceTo"][0])
    fd = od.find_field(parts[-1])
    if fd is None:
        raise ValueError(f"no field {parts[-1]!r} on {od.name} (in {path!r})")
    spelled.append(fd.name)
    return ".".join(spelled), od.name, fd.name


def stored_field_set(schema: Schema, sobject: str, spec: FieldSetSpec) -> dict[str, Any]:
    """The ``_fieldSets`` entry of ``spec``; ``ValueError`` naming the field set and the bad field."""
    name = spec.full_name.strip()
    if not name:
        raise ValueError(f"a field set of {sobject} has no fullName")
    fields = []
    for path, required in spec.fields:
        try:
            spelled, target, field = resolve_path(schema, sobject, path)
        except ValueError as error:
            raise ValueError(f"field set {name}: {error}") from None
        fields.append({"path": spelled, "sobject": target, "field": field, "required": bool(required)})
    return {"name": name, "label": spec.label or name, "description": spec.description or "", "fields": fields}


def apply_field_sets(schema: Schema, sobject: str, specs: list[FieldSetSpec]) -> ObjectDef:
    """Replace ``sobject``'s definition in ``schema`` by one that holds ``specs`` (others kept)."""
    od = schema.get(sobject)
    new = [stored_field_set(schema, od.name, spec) for spec in specs]
    names = {s["name"].lower() for s in new}
    raw = copy.deepcopy(od.raw)
    raw["_fieldSets"] = [s for s in raw.get("_fieldSets") or [] if s["name"].lower() not in names] + new
    new_od = ObjectDef(raw)
    schema._add(new_od)
    return new_od


def field_sets(od: ObjectDef) -> list[dict[str, Any]]:
    """The object's stored field sets, in deploy order."""
    return list(od.raw.get("_fieldSets") or [])
