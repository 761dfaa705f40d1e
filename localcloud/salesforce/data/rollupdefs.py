"""Roll-up summary field definitions (the schema side of ``rollups.py``): checking a summary field against
the schema when it is applied, and the index of the summaries over each detail object. No imports from
this package: ``schema`` imports this module."""
from __future__ import annotations

from typing import Any, Iterable

OPERATIONS = {"count", "sum", "min", "max"}
FILTER_SQL = {"equals": "IN", "notequal": "NOT IN", "lessthan": "<", "greaterthan": ">", "lessorequal": "<=",
              "greaterorequal": ">=", "contains": "LIKE", "notcontain": "NOT LIKE", "startswith": "LIKE"}
NUMBER_TYPES = {"double", "currency", "percent", "int"}


def summary_describe(schema: Any, parent: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Check a summary field's definition against the schema and give it the summarized field's type."""
    summary = raw.get("_summary") or {}
    name = f"{parent}.{raw['name']}"
    operation = (summary.get("operation") or "").lower()
    if operation not in OPERATIONS:
        raise ValueError(f"roll-up summary {name}: unknown summaryOperation {operation!r}")
    child_name, _, fk_name = (summary.get("foreign_key") or "").partition(".")
    child = schema.find(child_name)
    if child is None or not fk_name:
        raise ValueError(f"roll-up summary {name}: summaryForeignKey {summary.get('foreign_key')!r} does not name "
                         "a detail object's master-detail field")
    for item in summary.get("filters") or []:
        if (item.get("operation") or "").lower() not in FILTER_SQL or item.get("valueField"):
            raise ValueError(f"roll-up summary {name}: the local org does not support the filter operation "
                             f"{item.get('operation')!r}{' with valueField' if item.get('valueField') else ''}")
        if child.find_field((item.get("field") or "").rpartition(".")[2]) is None:
            raise ValueError(f"roll-up summary {name}: filter field {item.get('field')!r} does not exist")
    if operation == "count":
        return raw
    summarized = child.find_field((summary.get("field") or "").rpartition(".")[2])
    if summarized is None:
        raise ValueError(f"roll-up summary {name}: summarizedField {summary.get('field')!r} does not exist")
    if operation == "sum" and summarized.type not in NUMBER_TYPES:
        raise ValueError(f"roll-up summary {name}: SUM needs a number field, {summarized.name} is {summarized.type}")
    out = dict(raw, type=summarized.type if summarized.type != "int" else "double",
               soapType=summarized.raw.get("soapType", raw.get("soapType")))
    if summarized.type in NUMBER_TYPES:
        out.update(precision=summarized.precision or 18, scale=summarized.scale)
    return out


def rollups_by_child(objects: Iterable[Any]) -> dict[str, list[tuple[Any, Any]]]:
    """Child object (lower name) -> the (master, summary field) pairs that summarise it."""
    out: dict[str, list[tuple[Any, Any]]] = {}
    for od in objects:
        for fd in od.fields.values():
            summary = fd.raw.get("_summary")
            if summary:
                child = (summary.get("foreign_key") or "").partition(".")[0].lower()
                out.setdefault(child, []).append((od, fd))
    return out


__all__ = ["FILTER_SQL", "NUMBER_TYPES", "OPERATIONS", "rollups_by_child", "summary_describe"]
