"""Roll-up summary fields: COUNT, SUM, MIN and MAX of a master's detail records.

As Salesforce (order of execution, "roll-up summary field" step): after a detail record is inserted,
updated, deleted or undeleted (its after triggers have run), the master records it points to (before
and after a reparenting) get their summary fields recalculated from the live details matching the
field's filter criteria. A new master starts with COUNT and SUM at 0; MIN and MAX of no details are
null. The master then goes through its save procedure (its update triggers fire, as Salesforce); a master
that refuses the save fails the detail records' DML.

Field definition (the Metadata API's ``summaryOperation``, ``summaryForeignKey``,
``summarizedField``, ``summaryFilterItems``) is kept in the field's describe as ``_summary``. MIN and
MAX take the summarized field's type (a MIN of a date-time is a date-time), SUM its number type.
Filter operations: equals and notEqual (comma-separated values), lessThan, greaterThan,
lessOrEqual, greaterOrEqual, contains, notContain, startsWith; text compares case-insensitively.
Anything else (``valueField`` comparisons, ``includes``/``excludes``) fails when the field is applied.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .rollupdefs import FILTER_SQL, NUMBER_TYPES
from .errors import RecordError
from .values import coerce, from_db, to_db

if TYPE_CHECKING:  # pragma: no cover
    from .schema import FieldDef, ObjectDef
    from .txn import DataTransaction


def initial(od: "ObjectDef", row: dict[str, Any]) -> None:
    """A new master: its COUNT and SUM summaries start at 0."""
    for fd in od.fields.values():
        summary = fd.raw.get("_summary")
        if summary and summary.get("operation") in ("count", "sum") and row.get(fd.lower) is None:
            row[fd.lower] = 0


def recalculate(tx: "DataTransaction", child: "ObjectDef", views: Iterable[Mapping[str, Any] | None]
                ) -> list[RecordError]:
    """Recalculate the summaries over ``child`` of the masters the given detail rows point to and save the
    masters (their triggers fire). The errors of a master that refused the save (empty when all saved)."""
    entries = tx.schema.rollups_of(child.name)
    if not entries:
        return []
    views = [v for v in views if v]
    masters: dict[str, dict[str, dict[str, Any]]] = {}  # master object -> id -> summary values
    for parent, fd in entries:
        summary = fd.raw["_summary"]
        fk = child.find_field(summary["foreign_key"].partition(".")[2])
        if fk is None:
            continue
        ids = sorted({str(v.get(fk.name)) for v in views if v.get(fk.name)})
        for start in range(0, len(ids), 500):
            for parent_id, value in _recompute(tx, fd, child, fk, summary, ids[start:start + 500]).items():
                masters.setdefault(parent.name, {}).setdefault(parent_id, {})[fd.name] = value
    for name, rows in masters.items():
        live = {r["Id"] for r in tx.query(f"SELECT Id FROM {name} WHERE Id IN :ids", {"ids": list(rows)}).records}
        records = [{"Id": rid, **values} for rid, values in rows.items() if rid in live]
        for result in (tx.update(name, records, all_or_none=True, read_only_fields="write") if records else []):
            if not result.success:
                return [e for e in result.errors if e.status_code != "ALL_OR_NONE_OPERATION_ROLLED_BACK"] \
                    or list(result.errors)
    return []


def _recompute(tx: "DataTransaction", fd: "FieldDef", child: "ObjectDef", fk: "FieldDef",
               summary: Mapping[str, Any], ids: list[str]) -> dict[str, Any]:
    operation = summary["operation"]
    if operation == "count":
        aggregate = "COUNT(*)"
    else:
        aggregate = f"{operation.upper()}({child.field(summary['field'].rpartition('.')[2]).column})"
    where, params = _filters(child, summary.get("filters") or [])
    marks = ", ".join("?" * len(ids))
    rows = tx.execute(f"SELECT {fk.column}, {aggregate} FROM {child.table} WHERE isdeleted = 0 AND {fk.column} IN "
                      f"({marks}){where} GROUP BY {fk.column}", [*ids, *params]).fetchall()
    found = {row[0]: row[1] for row in rows}
    out: dict[str, Any] = {}
    for parent_id in ids:
        value = from_db(fd, found.get(parent_id))
        out[parent_id] = 0 if value is None and operation in ("count", "sum") else value
    return out


def _filters(child: "ObjectDef", filters: list[Mapping[str, Any]]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for item in filters:
        fd = child.field((item.get("field") or "").rpartition(".")[2])
        operation = (item.get("operation") or "").lower()
        raw = item.get("value") or ""
        text = fd.type in ("string", "picklist", "textarea", "email", "phone", "url", "multipicklist")
        column = f"lower({fd.column})" if text else fd.column
        if operation in ("equals", "notequal"):
            values = [_value(fd, v.strip()) for v in raw.split(",")] if raw else [None]
            if values == [None]:
                clauses.append(f"{fd.column} IS {'NOT ' if operation == 'notequal' else ''}NULL")
                continue
            clauses.append(f"COALESCE({column} {FILTER_SQL[operation]} ({', '.join('?' * len(values))}), "
                           f"{1 if operation == 'notequal' else 0})")
            params.extend(values)
        elif operation in ("contains", "notcontain", "startswith"):
            pattern = raw.lower().replace("%", r"\%").replace("_", r"\_")
            pattern = f"{pattern}%" if operation == "startswith" else f"%{pattern}%"
            clauses.append(f"COALESCE({column} {FILTER_SQL[operation]} ? ESCAPE '\\', {1 if operation == 'notcontain' else 0})")
            params.append(pattern)
        else:
            clauses.append(f"{column} {FILTER_SQL[operation]} ?")
            params.append(_value(fd, raw))
    return "".join(f" AND {c}" for c in clauses), params


def _value(fd: "FieldDef", text: str) -> Any:
    if fd.type == "boolean":
        return 1 if text.lower() in ("true", "1") else 0
    if fd.type in NUMBER_TYPES:
        return float(text)
    if fd.type in ("string", "picklist", "textarea", "email", "phone", "url", "multipicklist"):
        return text.lower()
    return to_db(fd, coerce(fd, text))


__all__ = ["initial", "recalculate"]
