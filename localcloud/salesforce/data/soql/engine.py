"""Run a SOQL AST against the store: WHERE, ORDER BY, LIMIT/OFFSET, parent paths and aggregates
compile to one SQL statement (indexes on Id, external ids and lookups do the work); child
subqueries run as one extra statement per 500 parents."""

from __future__ import annotations

import functools
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .. import features, formulas
from ..compound import COMPOUND_TYPES, json_value, typed_value
from ..errors import InvalidFieldError, MalformedQueryError, SalesforceError
from ..ids import is_valid_id
from ..results import QueryResult
from ..schema import FieldDef, ObjectDef
from ..store_indexes import INDEXED_AUDIT_FIELDS
from ..values import DECIMALS, base64_url, format_db_datetime, from_db, query_param, to_db, to_json
from . import functions
from .ast import (DATE_FUNCTIONS, Aggregate, And, Bind, Comparison, DateLiteral, FieldRef, Function, Literal, Not,
                  Or, SemiJoin, SoqlQuery, SubQuery, ValueList)
from .parser import parse_soql

if TYPE_CHECKING:  # pragma: no cover
    from ..txn import DataTransaction

CHILD_BATCH = 500
#: text field types whose empty-string comparisons mean null
TEXT_TYPES = frozenset({"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone", "url",
                        "encryptedstring"})


def invalid_relationship(name: str) -> InvalidFieldError:
    return InvalidFieldError(
        f"Didn't understand relationship '{name}' in field path. If you are attempting to use a custom "
        "relationship, be sure to append the '__r' after the custom relationship name. Please reference your "
        "WSDL or the describe call for the appropriate names.")


_NAME_TYPE = FieldDef({"name": "Type", "type": "string", "length": 40, "label": "Type"})


def _name_type(od: ObjectDef) -> FieldDef:
    """``Type`` of a polymorphic relationship's parent (Salesforce's ``Name`` object), per target: the
    object's API name; a ``Group`` of type Queue answers ``Queue``."""
    fd = FieldDef(_NAME_TYPE.raw)
    group_type = od.find_field("Type") if od.lower == "group" else None
    fd.column = (f"CASE WHEN {group_type.column} = 'Queue' THEN 'Queue' ELSE 'Group' END" if group_type is not None
                 else "'" + od.name.replace("'", "''") + "'")
    return fd


@dataclass
class _Join:
    alias: str
    targets: list[ObjectDef]
    on: str
    columns: dict[str, list[FieldDef | None]] = field(default_factory=dict)  # polymorphic unions only

    @property
    def polymorphic(self) -> bool:
        return len(self.targets) > 1


@dataclass
class _Col:
    """One selected field: where it lands in the record and how to convert it. ``key`` is the name it
    answers under (the field's, or a function's alias); ``post`` turns the converted value into a
    function's answer (toLabel, FORMAT)."""

    rel_path: list[tuple[str, str, int]]  # (relationship name, join alias, id column index)
    fd: FieldDef
    index: int
    key: str = ""
    post: Callable[[Any], Any] | None = None

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.fd.name


class _Context:
    def __init__(self, tx: "DataTransaction", binds: Mapping[str, Any],
                 resolver: Callable[[Bind], Any] | None,
                 row_filter: Callable[[ObjectDef, str], str | None] | None = None) -> None:
        self.tx = tx
        #: record visibility (``visibility.Visibility.condition``): SQL limiting an object's rows, or None
        self.row_filter = row_filter
        self.binds = binds
        self.lower_binds = {k.lower(): v for k, v in binds.items()}
        self.resolver = resolver
        self.tz = tx.store.timezone
        self.today = tx.now().astimezone(self.tz).date()
        self.alias_seq = 0
        self.formula_tables: set[str] = set()
        #: compound fields selected: their ``(key, component)`` pairs (the select reads them as a JSON array)
        self.compound_parts: dict[FieldDef, list[tuple[str, FieldDef]]] = {}

    def formula_table(self, od: ObjectDef, fd: FieldDef) -> str:
        """A temporary table ``(id, v)`` holding the formula field's value for every row of ``od``
        (filled once per query; SQLite temp tables belong to the connection, no write lock needed)."""
        name = f'temp."fx_{od.lower}_{fd.lower}"'
        if name not in self.formula_tables:
            tx = self.tx
            ids = [r[0] for r in tx.execute(f"SELECT id FROM {od.table}").fetchall()]
            values = formulas.compute(tx.schema, od, [fd], ids, lambda q, b: select_uncounted(tx, q, b, True),
                                      tx.now(), self.today, getattr(tx, "user_id", None))
            tx.execute(f"CREATE TEMP TABLE IF NOT EXISTS {name[5:]} (id TEXT PRIMARY KEY, v)")
            tx.execute(f"DELETE FROM {name}")
            rows = [(rid, to_db(fd, v.get(fd.name))) for rid, v in values.items()]
            for start in range(0, len(rows), 400):
                part = rows[start:start + 400]
                tx.execute(f"INSERT INTO {name} (id, v) VALUES " + ", ".join("(?, ?)" for _ in part),
                           [x for row in part for x in row])
            self.formula_tables.add(name)
        return name

    def fiscal(self) -> tuple[int, int]:
        """The org's fiscal year: its start month (Organization.FiscalYearStartMonth, January when unset)
        and whether a fiscal year is named by the calendar year it starts in (0: by the year it ends in,
        Salesforce's default)."""
        od = self.tx.schema.find("Organization")
        fd = od.find_field("FiscalYearStartMonth") if od is not None else None
        row = self.tx.execute(f"SELECT {fd.column} FROM {od.table} LIMIT 1").fetchone() if fd is not None else None
        start = int(row[0]) if row and row[0] else 1
        return (start if 1 <= start <= 12 else 1), 0

    def next_alias(self) -> str:
        self.alias_seq += 1
        return f"t{self.alias_seq}"

    def bind(self, b: Bind) -> Any:
        if b.name in self.binds:
            return self.binds[b.name]
        if b.name.lower() in self.lower_binds:
            return self.lower_binds[b.name.lower()]
        if self.resolver is not None:
            return self.resolver(b)
        raise MalformedQueryError(f"Variable does not exist: {b.name} (bind variables need a value)")


class _Compiler:
    """Compiles one query level (FROM one object) to SQL."""

    def __init__(self, ctx: _Context, od: ObjectDef, include_deleted: bool) -> None:
        self.ctx = ctx
        self.od = od
        self.alias = ctx.next_alias()
        self.include_deleted = include_deleted
        self.joins: dict[tuple[str, ...], _Join] = {}
        self.params: list[Any] = []

    # -- fields -----------------------------------------------------------------------------------
    def resolve(self, ref: FieldRef, use: str | None = "filtered"
                ) -> tuple[str, FieldDef, list[tuple[str, _Join]]]:
        """SQL expression, field and the relationship joins walked for a field path. ``use`` says what
        the clause does with the field (``filtered``, ``sorted``, ``grouped``; None in the select list):
        compound fields are only selectable."""
        path = list(ref.path)
        if len(path) > 1 and path[0].lower() == self.od.lower and self.od.relationship(path[0]) is None:
            path = path[1:]
        od_list = [self.od]
        alias = self.alias
        walked: list[tuple[str, _Join]] = []
        key: tuple[str, ...] = ()
        for rel_name in path[:-1]:
            if len(od_list) != 1:
                raise MalformedQueryError(f"relationship paths through polymorphic '{walked[-1][0]}' are not supported "
                                          "by the local org")
            cur = od_list[0]
            ref_fd = cur.relationship(rel_name)
            if ref_fd is None:
                raise invalid_relationship(rel_name)
            key = key + (rel_name.lower(),)
            join = self.joins.get(key)
            if join is None:
                targets = [self.ctx.tx.schema.get(t) for t in ref_fd.reference_to]
                new_alias = self.ctx.next_alias()
                key_field = ref_fd.raw.get("_referenceKey")  # a custom metadata field naming an entity by API name
                target_column = targets[0].field(key_field).column if key_field else "id"
                join = _Join(new_alias, targets, f"{new_alias}.{target_column} = {alias}.{ref_fd.column}")
                self.joins[key] = join
            walked.append((ref_fd.relationship_name or rel_name, join))
            alias = join.alias
            od_list = join.targets
        name = path[-1]
        if len(od_list) == 1:
            fd = od_list[0].find_field(name)
            if fd is None:
                raise InvalidFieldError.no_such_column(name, od_list[0].name)
            if fd.type in COMPOUND_TYPES:
                if use is not None:
                    raise InvalidFieldError(f"field '{fd.name}' can not be {use} in a query call", [fd.name])
                parts = od_list[0].compound_parts(fd)
                self.ctx.compound_parts[fd] = parts
                return "json_array(" + ", ".join(f"{alias}.{p.column}" for _, p in parts) + ")", fd, walked
            if use is not None and formulas.is_formula(fd):
                # filtering, sorting or grouping by a formula field: its values, computed for every row
                return f"(SELECT v FROM {self.ctx.formula_table(od_list[0], fd)} WHERE id = {alias}.id)", fd, walked
            column = fd.column if fd.lower != "isdeleted" else '"isdeleted"'
            return f"{alias}.{column}", fd, walked
        # polymorphic parent: a UNION of the targets exposing the requested column
        if name.lower() == "type":  # the Name object's Type: the parent's object (a queue: 'Queue')
            walked[-1][1].columns["type"] = [_name_type(od) for od in od_list]
            return f'{alias}."type"', _NAME_TYPE, walked
        found = [od.find_field(name) for od in od_list]
        first = next((f for f in found if f is not None), None)
        if first is not None and first.type in COMPOUND_TYPES:
            raise MalformedQueryError(f"compound field '{first.name}' through the polymorphic relationship "
                                      f"'{walked[-1][0]}' is not supported by the local org")
        if first is None:
            raise InvalidFieldError.no_such_column(name, od_list[0].name)
        walked[-1][1].columns[first.lower] = found
        return f"{alias}.{first.column}", first, walked

    def from_sql(self) -> str:
        parts = [f"{self.od.table} AS {self.alias}"]
        for join in self.joins.values():
            if join.polymorphic:
                selects = []
                for k, od in enumerate(join.targets):
                    cols = ["id"]
                    for lower, fds in join.columns.items():
                        fd = fds[k]
                        cols.append(f"{fd.column} AS \"{lower}\"" if fd is not None else f"NULL AS \"{lower}\"")
                    selects.append(f"SELECT {', '.join(cols)} FROM {od.table}")
                parts.append(f"LEFT JOIN ({' UNION ALL '.join(selects)}) AS {join.alias} ON {join.on}")
            else:
                parts.append(f"LEFT JOIN {join.targets[0].table} AS {join.alias} ON {join.on}")
        return " ".join(parts)

    def base_filter(self) -> str:
        base = "" if self.include_deleted else f"{self.alias}.isdeleted = 0"
        row_filter = self.ctx.row_filter
        if row_filter is not None:
            visible = row_filter(self.od, self.alias)
            if visible is not None:
                return f"{base} AND {visible}" if base else visible
        return base

    # -- conditions ----------------------------------------------------------------------------------
    def condition(self, c: Any, aggregate_ok: bool = False) -> str:
        if isinstance(c, And):
            return "(" + " AND ".join(self.condition(i, aggregate_ok) for i in c.items) + ")"
        if isinstance(c, Or):
            return "(" + " OR ".join(self.condition(i, aggregate_ok) for i in c.items) + ")"
        if isinstance(c, Not):
            return f"(NOT COALESCE({self.condition(c.item, aggregate_ok)}, 0))"
        if isinstance(c, Comparison):
            return self.comparison(c, aggregate_ok)
        raise MalformedQueryError(f"unsupported condition {c!r}")

    def _left(self, left: Any, aggregate_ok: bool) -> tuple[str, FieldDef | None]:
        if isinstance(left, Function):
            return self.function_sql(left, "filtered")
        if isinstance(left, Aggregate):
            if not aggregate_ok:
                raise MalformedQueryError("aggregate functions are only allowed in HAVING, not in WHERE")
            return self.aggregate_sql(left)
        expr, fd, _ = self.resolve(left)
        return expr, fd

    def _values(self, v: Any) -> list[Any]:
        """The Python values of a right-hand side (list semantics)."""
        if isinstance(v, ValueList):
            out: list[Any] = []
            for item in v.items:
                out.extend(self._values(item))
            return out
        if isinstance(v, Literal):
            return [v.value]
        if isinstance(v, DateLiteral):
            return [v]
        if isinstance(v, Bind):
            value = self.ctx.bind(v)
            if isinstance(value, (list, tuple, set, frozenset)):
                return [_sobject_id(x) for x in value]
            if isinstance(value, Mapping) and not _looks_like_sobject(value):
                return [_sobject_id(x) for x in value.keys()]
            return [_sobject_id(value)]
        raise MalformedQueryError(f"unsupported value {v!r}")

    def _scalar(self, v: Any) -> Any:
        if isinstance(v, Literal):
            return v.value
        if isinstance(v, DateLiteral):
            return v
        if isinstance(v, Bind):
            value = self.ctx.bind(v)
            if isinstance(value, (list, tuple, set, frozenset)):
                return list(value)
            return _sobject_id(value)
        if isinstance(v, ValueList):
            raise MalformedQueryError("a value list needs IN, NOT IN, INCLUDES or EXCLUDES")
        raise MalformedQueryError(f"unsupported value {v!r}")

    def param(self, fd: FieldDef | None, value: Any) -> str:
        if fd is not None and fd.type in ("id", "reference") and isinstance(value, str) and not is_valid_id(value):
            raise SalesforceError("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {value}")
        self.params.append(query_param(fd, value))
        return "?"

    def comparison(self, c: Comparison, aggregate_ok: bool) -> str:
        expr, fd = self._left(c.left, aggregate_ok)
        op = c.op
        if isinstance(c.left, Function):
            self._check_function_comparison(c)
        if isinstance(c.value, SemiJoin):
            if op not in ("IN", "NOT_IN"):
                raise MalformedQueryError("a subquery needs IN or NOT IN")
            inner_sql, inner_params = self.semi_join(c.value.query)
            self.params.extend(inner_params)
            if op == "IN":
                return f"{expr} IN ({inner_sql})"
            return f"({expr} IS NULL OR {expr} NOT IN ({inner_sql}))"
        if op in ("IN", "NOT_IN", "INCLUDES", "EXCLUDES"):
            values = self._values(c.value)
            if op in ("IN", "NOT_IN") and fd is not None and fd.type in TEXT_TYPES:
                values = [None if v == "" else v for v in values]  # an empty string is null (see below)
            return self._set_comparison(expr, fd, op, values)
        value = self._scalar(c.value)
        if value == "" and op in ("=", "!=") and fd is not None and fd.type in TEXT_TYPES:
            value = None  # Salesforce keeps no empty strings: `Field = ''` is `Field = null`
        if isinstance(value, list):
            if op in ("=", "!="):
                return self._set_comparison(expr, fd, "IN" if op == "=" else "NOT_IN", [_sobject_id(x) for x in value])
            raise MalformedQueryError(f"a list cannot be compared with {op}")
        if isinstance(value, DateLiteral):
            return self._date_range(expr, fd, op, value)
        if value is None:
            if op == "=":
                return f"{expr} IS NULL"
            if op == "!=":
                return f"{expr} IS NOT NULL"
            return "0"
        if op == "LIKE":
            if not isinstance(value, str):
                raise MalformedQueryError("LIKE needs a string")
            return f"{expr} LIKE {self.param(None, value)} ESCAPE '\\'"
        p = self.param(fd, value)
        if op == "!=":
            return f"({expr} IS NULL OR {expr} != {p})"
        if fd is not None and fd.lower in INDEXED_AUDIT_FIELDS and op in ("<", "<=", ">", ">="):
            # a range on an audit field is selective (recent changes): tell SQLite to use its index
            # instead of scanning in rowid order to spare the sort
            return f"likelihood({expr} {op} {p}, 0.01)"
        return f"{expr} {op} {p}"

    def _set_comparison(self, expr: str, fd: FieldDef | None, op: str, values: list[Any]) -> str:
        if op in ("INCLUDES", "EXCLUDES"):
            if fd is None or fd.type != "multipicklist":
                raise MalformedQueryError("INCLUDES and EXCLUDES need a multi-select picklist field")
            terms = [f"sf_includes({expr}, {self.param(None, v)})" for v in values if v is not None]
            any_term = "(" + " OR ".join(terms) + ")" if terms else "0"
            return any_term if op == "INCLUDES" else f"({expr} IS NULL OR NOT {any_term})"
        ranges = [v for v in values if isinstance(v, DateLiteral)]
        has_null = any(v is None for v in values)
        plain = [v for v in values if v is not None and not isinstance(v, DateLiteral)]
        terms = []
        if plain:
            marks = ", ".join(self.param(fd, v) for v in plain)
            terms.append(f"{expr} IN ({marks})")
        for r in ranges:
            terms.append(self._date_range(expr, fd, "=", r))
        if has_null:
            terms.append(f"{expr} IS NULL")
        anyof = "(" + " OR ".join(terms) + ")" if terms else "0"
        if op == "IN":
            return anyof
        if has_null:
            return f"(NOT COALESCE({anyof}, 0))"
        return f"({expr} IS NULL OR NOT COALESCE({anyof}, 0))"

    def _date_range(self, expr: str, fd: FieldDef | None, op: str, lit: DateLiteral) -> str:
        if fd is None or fd.type not in ("date", "datetime"):
            raise MalformedQueryError(f"date literal {lit.name} needs a date or datetime field")
        start, end = date_range(lit, self.ctx.today)

        def bound(d: date) -> str:
            if fd.type == "datetime":  # local midnight of the user's time zone, stored as UTC
                self.params.append(format_db_datetime(datetime(d.year, d.month, d.day, tzinfo=self.ctx.tz)))
            else:
                self.params.append(d.isoformat())
            return "?"

        if op == "=":
            return f"({expr} >= {bound(start)} AND {expr} < {bound(end)})"
        if op == "!=":
            return f"({expr} IS NULL OR {expr} < {bound(start)} OR {expr} >= {bound(end)})"
        if op == "<":
            return f"{expr} < {bound(start)}"
        if op == "<=":
            return f"{expr} < {bound(end)}"
        if op == ">":
            return f"{expr} >= {bound(end)}"
        if op == ">=":
            return f"{expr} >= {bound(start)}"
        raise MalformedQueryError(f"operator {op} cannot be used with date literal {lit.name}")

    # -- functions ---------------------------------------------------------------------------------------
    def function_sql(self, fn: Function, use: str | None) -> tuple[str, FieldDef]:
        """SQL expression and result field of a function in WHERE/HAVING (``filtered``), GROUP BY
        (``grouped``), ORDER BY (``sorted``) or an aggregate query's select list (``grouped``)."""
        name = fn.name
        if name in DATE_FUNCTIONS:
            arg = fn.arg
            convert = isinstance(arg, Function)
            ref = arg.arg if isinstance(arg, Function) else arg
            assert isinstance(ref, FieldRef)
            expr, fd, _ = self.resolve(ref, "grouped" if use is None else use)
            functions.check_date_function(name, fn.spelled or name, fd, convert)
            tz = getattr(self.ctx.tz, "key", "UTC") if convert else "UTC"
            start, by_start = self.ctx.fiscal() if name.startswith("FISCAL_") else (1, 0)
            return (f"sf_datefn('{name}', {expr}, '{tz}', {start}, {by_start})",
                    functions.date_result_field(name))
        spelled = fn.spelled or name
        if name == "CONVERTCURRENCY":
            raise functions.convert_currency_error(fn.text)
        if name == "TOLABEL" and use != "sorted":  # functions.check_placement has refused the other uses
            assert isinstance(fn.arg, FieldRef)
            expr, fd, walked = self.resolve(fn.arg, use)
            owner = walked[-1][1].targets[0].name if walked else self.od.name
            labels = functions.label_map(fd, owner)
            if use == "filtered":
                if labels is None:
                    raise MalformedQueryError("toLabel() of a record type name cannot be filtered on: filter on the "
                                              "record type's Name or Id")
                if fd.type == "multipicklist":
                    raise MalformedQueryError(f"toLabel() of a multi-select picklist in WHERE is not supported by "
                                              f"the local org: {fn.text}")
                return functions.label_sql(expr, labels), fd
            return expr, fd
        where = {"filtered": "WHERE", "grouped": "GROUP BY", "sorted": "ORDER BY"}.get(use or "", "this clause")
        raise MalformedQueryError(f"{spelled}() cannot be used in {where}: {fn.text}")

    def _check_function_comparison(self, c: Comparison) -> None:
        fn = c.left
        assert isinstance(fn, Function)
        if fn.name not in DATE_FUNCTIONS:
            return
        v = c.value
        items = v.items if isinstance(v, ValueList) else [v]
        if any(isinstance(x, DateLiteral) for x in items):
            raise MalformedQueryError(f"a date function cannot be compared with a date literal: {fn.text}")
        if c.op in ("LIKE", "INCLUDES", "EXCLUDES"):
            raise MalformedQueryError(f"a date function cannot be used with {c.op}: {fn.text}")

    def semi_join(self, q: SoqlQuery) -> tuple[str, list[Any]]:
        od = self.ctx.tx.schema.get(q.sobject)
        sub = _Compiler(self.ctx, od, False)
        if len(q.select) != 1 or not isinstance(q.select[0], FieldRef):
            raise MalformedQueryError("a semi-join subquery selects exactly one id field")
        expr, fd, _ = sub.resolve(q.select[0])
        if fd.type not in ("id", "reference"):
            raise MalformedQueryError("a semi-join subquery must select an Id or reference field")
        where = [w for w in [sub.base_filter(), sub.condition(q.where) if q.where else ""] if w]
        sql = f"SELECT {expr} FROM {sub.from_sql()}" + (f" WHERE {' AND '.join(where)}" if where else "")
        if isinstance(q.limit, int):
            sql += f" LIMIT {q.limit}"
        return sql, sub.params

    # -- aggregates ------------------------------------------------------------------------------------
    def aggregate_sql(self, agg: Aggregate | Function) -> tuple[str, FieldDef | None]:
        if isinstance(agg, Function):
            return self.function_sql(agg, "grouped")
        if agg.function == "GROUPED":
            assert agg.field is not None
            expr, fd, _ = self.resolve(agg.field, "grouped")
            return expr, fd
        if agg.field is None:
            return "COUNT(*)", None
        expr, fd, _ = self.resolve(agg.field)
        fn = agg.function
        if fn == "COUNT":
            return f"COUNT({expr})", None
        if fn == "COUNT_DISTINCT":
            return f"COUNT(DISTINCT {expr})", None
        if fn in ("SUM", "AVG") and fd.type not in DECIMALS | {"int"}:
            raise MalformedQueryError(f"field {fd.name} does not support aggregate operator {fn}")
        return f"{fn}({expr})", (fd if fn in ("MIN", "MAX") else None)


def _looks_like_sobject(value: Mapping[Any, Any]) -> bool:
    return "attributes" in value or "Id" in value or "id" in value


def _sobject_id(value: Any) -> Any:
    if isinstance(value, Mapping) and _looks_like_sobject(value):
        return value.get("Id", value.get("id"))
    if hasattr(value, "get_id") and callable(value.get_id):  # Apex runtime SObject objects
        return value.get_id()
    return value


# -- date literals ----------------------------------------------------------------------------------------
def _month_start(d: date, delta: int = 0) -> date:
    m = d.month - 1 + delta
    return date(d.year + m // 12, m % 12 + 1, 1)


def _quarter_start(d: date, delta: int = 0) -> date:
    q0 = _month_start(date(d.year, (d.month - 1) // 3 * 3 + 1, 1))
    return _month_start(q0, 3 * delta)


def date_range(lit: DateLiteral, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal (weeks start on Sunday, as in the en_US locale)."""
    n = lit.n or 0
    day = timedelta(days=1)
    week0 = today - timedelta(days=(today.weekday() + 1) % 7)
    name = lit.name
    if name == "TODAY":
        return today, today + day
    if name == "YESTERDAY":
        return today - day, today
    if name == "TOMORROW":
        return today + day, today + 2 * day
    if name in ("THIS_WEEK", "LAST_WEEK", "NEXT_WEEK"):
        shift = {"THIS_WEEK": 0, "LAST_WEEK": -1, "NEXT_WEEK": 1}[name]
        s = week0 + timedelta(weeks=shift)
        return s, s + timedelta(weeks=1)
    if name in ("THIS_MONTH", "LAST_MONTH", "NEXT_MONTH"):
        shift = {"THIS_MONTH": 0, "LAST_MONTH": -1, "NEXT_MONTH": 1}[name]
        return _month_start(today, shift), _month_start(today, shift + 1)
    if name in ("THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER"):
        shift = {"THIS_QUARTER": 0, "LAST_QUARTER": -1, "NEXT_QUARTER": 1}[name]
        return _quarter_start(today, shift), _quarter_start(today, shift + 1)
    if name in ("THIS_YEAR", "LAST_YEAR", "NEXT_YEAR"):
        y = today.year + {"THIS_YEAR": 0, "LAST_YEAR": -1, "NEXT_YEAR": 1}[name]
        return date(y, 1, 1), date(y + 1, 1, 1)
    if name == "LAST_90_DAYS":
        return today - timedelta(days=90), today + day
    if name == "NEXT_90_DAYS":
        return today + day, today + timedelta(days=91)
    if name == "LAST_N_DAYS":
        return today - timedelta(days=n), today + day
    if name == "NEXT_N_DAYS":
        return today + day, today + timedelta(days=n + 1)
    if name == "N_DAYS_AGO":
        return today - timedelta(days=n), today - timedelta(days=n - 1)
    if name == "LAST_N_WEEKS":
        return week0 - timedelta(weeks=n), week0
    if name == "NEXT_N_WEEKS":
        return week0 + timedelta(weeks=1), week0 + timedelta(weeks=n + 1)
    if name == "N_WEEKS_AGO":
        return week0 - timedelta(weeks=n), week0 - timedelta(weeks=n - 1)
    if name == "LAST_N_MONTHS":
        return _month_start(today, -n), _month_start(today)
    if name == "NEXT_N_MONTHS":
        return _month_start(today, 1), _month_start(today, n + 1)
    if name == "N_MONTHS_AGO":
        return _month_start(today, -n), _month_start(today, -n + 1)
    if name == "LAST_N_QUARTERS":
        return _quarter_start(today, -n), _quarter_start(today)
    if name == "NEXT_N_QUARTERS":
        return _quarter_start(today, 1), _quarter_start(today, n + 1)
    if name == "N_QUARTERS_AGO":
        return _quarter_start(today, -n), _quarter_start(today, -n + 1)
    if name == "LAST_N_YEARS":
        return date(today.year - n, 1, 1), date(today.year, 1, 1)
    if name == "NEXT_N_YEARS":
        return date(today.year + 1, 1, 1), date(today.year + n + 1, 1, 1)
    if name == "N_YEARS_AGO":
        return date(today.year - n, 1, 1), date(today.year - n + 1, 1, 1)
    raise MalformedQueryError(f"date literal {name} is not supported by the local org")


# -- execution ----------------------------------------------------------------------------------------------
def execute(tx: "DataTransaction", soql: str | SoqlQuery, binds: Mapping[str, Any], *, include_deleted: bool = False,
            bind_resolver: Callable[[Bind], Any] | None = None, typed: bool = False,
            page_size: int = 2000, row_filter: Callable[[ObjectDef, str], str | None] | None = None
            ) -> QueryResult:
    """``row_filter``: record visibility (a sharing context), SQL limiting each object's rows (None: all)."""
    q = parse_soql(soql) if isinstance(soql, str) else soql
    tx.limits.count_query()
    if q.for_update:
        tx.begin_write()  # FOR UPDATE: hold the write lock so read-modify-write cannot interleave
    ctx = _Context(tx, binds, bind_resolver, row_filter)
    view = features.COMPUTED_VIEWS.get(q.sobject.lower())
    if view is not None:  # a computed setup view: its rows are written from the query's filters first
        view(tx, q, lambda value: _filter_value(ctx, value))
    od = tx.schema.get(q.sobject)
    runner = _Runner(ctx, typed)
    if q.count_only and len(q.select) == 1:
        total = runner.count(q, od, include_deleted or q.all_rows)
        tx.limits.count_query_rows(total)
        return QueryResult(total_size=total, done=True, records=[], count_only=True)
    if q.is_aggregate:
        records = runner.aggregate(q, od, include_deleted or q.all_rows)
        tx.limits.count_query_rows(len(records))
        return QueryResult(total_size=len(records), done=True, records=records)
    rows, materialize, needs_tx = runner.select(q, od, include_deleted or q.all_rows)
    if typed or len(rows) <= page_size or needs_tx:
        records = materialize(rows)
        tx.limits.count_query_rows(len(records) + runner.child_rows)
        if typed or len(records) <= page_size:
            return QueryResult(total_size=len(records), done=True, records=records)
        locator = tx.store.register_cursor(records, len(records), page_size)
        return QueryResult(total_size=len(records), done=False, records=records[:page_size],
                           next_records_locator=locator)
    # later pages are converted when they are asked for (no database access needed)
    tx.limits.count_query_rows(len(rows))
    locator = tx.store.register_cursor(rows, len(rows), page_size, materialize)
    return QueryResult(total_size=len(rows), done=False, records=materialize(rows[:page_size]),
                       next_records_locator=locator)


def _filter_value(ctx: _Context, value: Any) -> Any:
    """A literal, bind or value list of a WHERE as plain Python (collections as lists, Ids as strings)."""
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, Bind):
        raw = ctx.bind(value)
    elif hasattr(value, "items") and isinstance(getattr(value, "items"), (list, tuple)):
        return [_filter_value(ctx, v) for v in value.items]
    else:
        return None
    if isinstance(raw, (str, bytes)) or raw is None:
        return raw
    if isinstance(raw, Mapping) and not _looks_like_sobject(raw):
        return [str(v) for v in raw.keys()]  # a Map<Id, SObject> binds its keys
    if isinstance(raw, Mapping) or hasattr(raw, "get_id"):
        return _sobject_id(raw)
    if isinstance(raw, (list, tuple, set, frozenset)) or hasattr(raw, "__iter__"):
        return [_sobject_id(v) if not isinstance(v, str) else v for v in raw]
    return _sobject_id(raw)


@functools.lru_cache(maxsize=256)
def _parse_cached(soql: str) -> SoqlQuery:
    """The formula engine's selects repeat (same fields, ids bound): parsed once."""
    return parse_soql(soql)


class _Depth(threading.local):
    value = 0


_DEPTH = _Depth()


def select_uncounted(tx: "DataTransaction", soql: str, binds: Mapping[str, Any], include_deleted: bool = False
                     ) -> list[dict[str, Any]]:
    """Typed records of a plain select, not counted against the limits (formula fields read through it;
    formulas reading formulas nest, a circle of them fails)."""
    if _DEPTH.value > 10:
        raise InvalidFieldError("formula fields reference each other in a circle")
    _DEPTH.value += 1
    try:
        q = _parse_cached(soql)
        runner = _Runner(_Context(tx, binds, None), True)
        rows, materialize, _ = runner.select(q, tx.schema.get(q.sobject), include_deleted)
        return materialize(rows)
    finally:
        _DEPTH.value -= 1


class _Runner:
    def __init__(self, ctx: _Context, typed: bool) -> None:
        self.ctx = ctx
        self.typed = typed
        self.child_rows = 0
        self.api_version = ctx.tx.store.api_version

    def _limit_offset(self, comp: _Compiler, q: SoqlQuery) -> str:
        sql = ""
        limit = self._int(q.limit, "LIMIT")
        offset = self._int(q.offset, "OFFSET")
        if offset is not None and offset > 2000:
            raise SalesforceError("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")
        if limit is not None:
            sql += f" LIMIT {limit}"
        if offset is not None:
            sql += ("" if limit is not None else " LIMIT -1") + f" OFFSET {offset}"
        return sql

    def _int(self, v: int | Bind | None, what: str) -> int | None:
        if v is None:
            return None
        if isinstance(v, Bind):
            v = self.ctx.bind(v)
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise MalformedQueryError(f"{what} must be a non-negative integer")
        return v

    def _where(self, comp: _Compiler, q: SoqlQuery, extra: list[str] | None = None) -> str:
        parts = [p for p in [comp.base_filter()] if p]
        if q.where is not None:
            parts.append(comp.condition(q.where))
        parts.extend(extra or [])
        return f" WHERE {' AND '.join(parts)}" if parts else ""

    def _order(self, comp: _Compiler, q: SoqlQuery, aggregate: bool = False) -> str:
        if not q.order_by:
            return f" ORDER BY {comp.alias}.rowid" if not aggregate else ""
        terms = []
        for item in q.order_by:
            direction = "DESC" if item.descending else "ASC"
            nulls = ""
            if item.nulls_last is not None:
                nulls = " NULLS LAST" if item.nulls_last else " NULLS FIRST"
            if isinstance(item.key, Function):
                expr, _ = comp.function_sql(item.key, "sorted")
            elif isinstance(item.key, Aggregate):
                expr, _ = comp.aggregate_sql(item.key)
            else:
                expr, fd, _ = comp.resolve(item.key, "sorted")
                if fd.type == "picklist" and fd.picklist_values:
                    # picklists sort in the order their values are defined, as in Salesforce
                    whens = " ".join(f"WHEN {expr} = '{v.replace(chr(39), chr(39) * 2)}' THEN {k}"
                                     for k, v in enumerate(fd.picklist_values))
                    rank = f"(CASE WHEN {expr} IS NULL THEN NULL {whens} ELSE {len(fd.picklist_values)} END)"
                    terms.append(f"{rank} {direction}{nulls}")
            terms.append(f"{expr} {direction}{nulls}")
        if not aggregate:
            terms.append(f"{comp.alias}.rowid")
        return " ORDER BY " + ", ".join(terms)

    def count(self, q: SoqlQuery, od: ObjectDef, include_deleted: bool) -> int:
        comp = _Compiler(self.ctx, od, include_deleted)
        where = self._where(comp, q)
        inner = f"SELECT 1 FROM {comp.from_sql()}{where}{self._limit_offset(comp, q)}"
        return int(self.ctx.tx.execute(f"SELECT COUNT(*) FROM ({inner})", comp.params).fetchone()[0])

    # -- plain selects ----------------------------------------------------------------------------------
    def select(self, q: SoqlQuery, od: ObjectDef, include_deleted: bool
               ) -> tuple[list[Any], Callable[[Any], list[dict[str, Any]]], bool]:
        """Raw rows, a function turning a slice of them into records, and whether that function
        needs the transaction (child subqueries)."""
        comp = _Compiler(self.ctx, od, include_deleted)
        exprs: list[str] = [f"{comp.alias}.id"]
        layout: list[Any] = []
        seen: set[str] = set()
        subqueries: list[tuple[SubQuery, ObjectDef, FieldDef, str]] = []
        for item in q.select:
            if isinstance(item, Function):
                self._function_column(comp, item, exprs, layout, seen)
            elif isinstance(item, FieldRef):
                if item.text.lower() in seen:
                    raise MalformedQueryError(f"duplicate field selected: {item.text}")
                seen.add(item.text.lower())
                expr, fd, walked = comp.resolve(item, None)
                rels = []
                for rel_name, join in walked:
                    exprs.append(f"{join.alias}.id")
                    rels.append((rel_name, join.alias, len(exprs) - 1))
                exprs.append(expr)
                layout.append(_Col(rels, fd, len(exprs) - 1))
            elif isinstance(item, SubQuery):
                found = self.ctx.tx.schema.child_relationship(od, item.query.sobject)
                if found is None:
                    raise SalesforceError(
                        "INVALID_TYPE",
                        f"Didn't understand relationship '{item.query.sobject}' in FROM part of query call. If you are "
                        "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                        "relationship name. Please reference your WSDL or the describe call for the appropriate names.")
                child_od, fk = found
                subqueries.append((item, child_od, fk, fk.child_relationship_name or item.query.sobject))
                layout.append(("child", len(subqueries) - 1))
            else:
                raise MalformedQueryError("aggregate functions need GROUP BY or only aggregates in the select list")
        where = self._where(comp, q)
        order = self._order(comp, q)
        sql = f"SELECT {', '.join(exprs)} FROM {comp.from_sql()}{where}{order}{self._limit_offset(comp, q)}"
        rows = self.ctx.tx.execute(sql, comp.params).fetchall()

        has_formulas = any(isinstance(c, _Col) and formulas.is_formula(c.fd) for c in layout)

        def materialize(part: Any) -> list[dict[str, Any]]:
            records = [self._record(od, r, layout, subqueries) for r in part]
            if records and has_formulas:
                self._formulas(od, records, part, layout)
            if subqueries and records:
                self._children(records, part, subqueries, layout, include_deleted)
            return records

        return rows, materialize, bool(subqueries) or has_formulas  # formulas read the database too

    def _function_column(self, comp: _Compiler, item: Function, exprs: list[str], layout: list[Any],
                         seen: set[str]) -> None:
        """A ``toLabel()`` / ``FORMAT()`` column of a plain select: under the field's name (nested under its
        parent relationships) or under its alias."""
        name = item.name
        if name == "CONVERTCURRENCY" or (name == "FORMAT" and isinstance(item.arg, Function)):
            raise functions.convert_currency_error(item.arg.text if name == "FORMAT" else item.text)
        if name not in ("TOLABEL", "FORMAT") or not isinstance(item.arg, FieldRef):
            raise MalformedQueryError(f"{item.spelled}() cannot be used here: {item.text}")  # check_placement's
        key = (item.alias or item.arg.text).lower()
        if key in seen:
            raise MalformedQueryError(f"duplicate field selected: {item.alias or item.arg.text} (alias the "
                                      f"function to select the field twice)")
        seen.add(key)
        expr, fd, walked = comp.resolve(item.arg, None)
        layout.append(self._function_col(comp, item, expr, fd, walked, exprs))

    def _function_col(self, comp: _Compiler, item: Function, expr: str, fd: FieldDef, walked: list[Any],
                      exprs: list[str]) -> _Col:
        if item.name == "TOLABEL":
            owner = walked[-1][1].targets[0].name if walked else comp.od.name
            labels = functions.label_map(fd, owner)
            post: Callable[[Any], Any] = functools.partial(functions.to_label, labels, fd)
        else:
            if formulas.is_formula(fd):
                raise MalformedQueryError(f"FORMAT() of a formula field is not supported by the local org: "
                                          f"{item.text}")
            post = functools.partial(functions.format_value, fd, tz=self.ctx.tz)
        rels = []
        if not item.alias:
            for rel_name, join in walked:
                exprs.append(f"{join.alias}.id")
                rels.append((rel_name, join.alias, len(exprs) - 1))
        exprs.append(expr)
        return _Col(rels, fd, len(exprs) - 1, item.alias or fd.name, post)

    def _formulas(self, od: ObjectDef, records: list[dict[str, Any]], rows: list[Any], layout: list[Any]) -> None:
        """Fill the selected formula fields (of the record or of its parents) with computed values."""
        wanted: dict[str, tuple[ObjectDef, dict[str, FieldDef], dict[str, list[dict[str, Any]]]]] = {}
        for rec, r in zip(records, rows):
            for item in layout:
                if not isinstance(item, _Col) or not formulas.is_formula(item.fd):
                    continue
                target: Any = rec
                for rel_name, _alias, _index in item.rel_path:
                    target = target.get(rel_name) if isinstance(target, dict) else None
                rid = r[item.rel_path[-1][2]] if item.rel_path else r[0]
                if not isinstance(target, dict) or rid is None:
                    continue
                owner = self.ctx.tx.schema.by_key_prefix(rid[:3]) if item.rel_path else od
                if owner is None:
                    continue
                _, fds, targets = wanted.setdefault(owner.name, (owner, {}, {}))
                fds[item.fd.name] = item.fd
                targets.setdefault(rid, []).append(target)
        tx = self.ctx.tx
        now = tx.now()
        for owner, fds, targets in wanted.values():
            values = formulas.compute(tx.schema, owner, fds.values(), list(targets), self._uncounted, now,
                                      self.ctx.today, getattr(tx, "user_id", None))
            for rid, dicts in targets.items():
                for name, v in values.get(rid, {}).items():
                    for target in dicts:
                        if name in target:
                            target[name] = v if self.typed else to_json(fds[name], v)

    def _uncounted(self, soql: str, binds: Mapping[str, Any]) -> list[dict[str, Any]]:
        """A typed select the formula engine needs (not counted against the limits)."""
        return select_uncounted(self.ctx.tx, soql, binds)

    def _attributes(self, od_name: str, rid: str | None) -> dict[str, Any]:
        attrs: dict[str, Any] = {"type": od_name}
        if rid:
            attrs["url"] = f"/services/data/v{self.api_version}/sobjects/{od_name}/{rid}"
        return attrs

    def _conv(self, fd: FieldDef, raw: Any) -> Any:
        if fd.type in COMPOUND_TYPES:
            parts = self.ctx.compound_parts[fd]
            typed = {key: from_db(part, v) for (key, part), v in zip(parts, json.loads(raw))}
            if self.typed:
                return typed_value(fd, typed)
            return json_value(fd, {key: to_json(part, typed[key]) for key, part in parts})
        v = from_db(fd, raw)
        return v if self.typed else to_json(fd, v)

    def _record(self, od: ObjectDef, r: Any, layout: list[Any], subqueries: list[Any]) -> dict[str, Any]:
        rec: dict[str, Any] = {"attributes": self._attributes(od.name, r[0])}
        for item in layout:
            if isinstance(item, tuple):
                _, k = item
                rec[subqueries[k][3]] = None
                continue
            target = rec
            dead = False
            for rel_name, _alias, id_index in item.rel_path:
                pid = r[id_index]
                if pid is None:
                    target.setdefault(rel_name, None)
                    dead = True
                    break
                nested = target.get(rel_name)
                if nested is None:
                    parent_od = self.ctx.tx.schema.by_key_prefix(pid[:3])
                    nested = {"attributes": self._attributes(parent_od.name if parent_od else "Name", pid)}
                    target[rel_name] = nested
                target = nested
            if dead:
                continue
            if item.post is not None:  # toLabel(), FORMAT(): computed from the typed value
                target[item.key] = item.post(from_db(item.fd, r[item.index]))
                continue
            value = self._conv(item.fd, r[item.index])
            if item.fd.type == "base64" and value is not None and not self.typed:
                value = base64_url(target["attributes"].get("url", ""), item.fd)
            target[item.key] = value
        return rec

    def _children(self, records: list[dict[str, Any]], rows: list[Any],
                  subqueries: list[tuple[SubQuery, ObjectDef, FieldDef, str]], layout: list[Any],
                  include_deleted: bool) -> None:
        ids = [r[0] for r in rows]
        for sq, child_od, fk, rel_name in subqueries:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for start in range(0, len(ids), CHILD_BATCH):
                part = ids[start:start + CHILD_BATCH]
                kids = self._select_children(sq.query, child_od, fk, part, include_deleted)
                for kid in kids:
                    grouped.setdefault(kid.pop("__parent__"), []).append(kid)
            limit = self._int(sq.query.limit, "LIMIT")
            offset = self._int(sq.query.offset, "OFFSET") or 0
            for rec, rid in zip(records, ids):
                kids = grouped.get(rid, [])[offset:]
                if limit is not None:
                    kids = kids[:limit]
                self.child_rows += len(kids)
                if self.typed:
                    rec[rel_name] = kids
                else:
                    rec[rel_name] = {"totalSize": len(kids), "done": True, "records": kids} if kids else None

    def _select_children(self, q: SoqlQuery, od: ObjectDef, fk: FieldDef, parent_ids: list[str],
                         include_deleted: bool) -> list[dict[str, Any]]:
        if any(isinstance(s, SubQuery) for s in q.select):
            raise MalformedQueryError("nested child subqueries are not supported")
        if q.is_aggregate:
            raise MalformedQueryError("aggregate functions are not supported in child subqueries")
        comp = _Compiler(self.ctx, od, include_deleted)
        exprs = [f"{comp.alias}.id", f"{comp.alias}.{fk.column}"]
        layout: list[Any] = []
        seen: set[str] = set()
        for item in q.select:
            if isinstance(item, Function):
                self._function_column(comp, item, exprs, layout, seen)
                continue
            assert isinstance(item, FieldRef)
            expr, fd, walked = comp.resolve(item, None)
            rels = []
            for rel_name, join in walked:
                exprs.append(f"{join.alias}.id")
                rels.append((rel_name, join.alias, len(exprs) - 1))
            exprs.append(expr)
            layout.append(_Col(rels, fd, len(exprs) - 1))
        marks = ", ".join("?" * len(parent_ids))
        parts = [f"{comp.alias}.{fk.column} IN ({marks})"]
        base = comp.base_filter()
        if base:
            parts.append(base)
        if q.where is not None:
            parts.append(comp.condition(q.where))
        order = self._order(comp, q)
        sql = f"SELECT {', '.join(exprs)} FROM {comp.from_sql()} WHERE {' AND '.join(parts)}{order}"
        rows = self.ctx.tx.execute(sql, list(parent_ids) + comp.params).fetchall()
        out = []
        for r in rows:
            rec = self._record(od, r, layout, [])
            rec["__parent__"] = r[1]
            out.append(rec)
        if out and any(formulas.is_formula(c.fd) for c in layout):
            self._formulas(od, out, rows, layout)
        return out

    # -- aggregates ----------------------------------------------------------------------------------------
    def aggregate(self, q: SoqlQuery, od: ObjectDef, include_deleted: bool) -> list[dict[str, Any]]:
        comp = _Compiler(self.ctx, od, include_deleted)
        grouped = {_group_key(g) for g in q.group_by}
        exprs: list[str] = []
        #: per column: answer name, field, kind (``field``, an aggregate's name, ``GROUPING``), the function
        #: turning the typed value into the answer (toLabel, FORMAT) and the GROUP BY entry it shows, if any
        outs: list[tuple[str, FieldDef | None, str, Callable[[Any], Any] | None, Any]] = []
        expr_n = 0

        def next_name(alias: str | None) -> str:
            nonlocal expr_n
            if alias:
                return alias
            expr_n += 1
            return f"expr{expr_n - 1}"

        for item in q.select:
            if isinstance(item, SubQuery):
                raise MalformedQueryError("child subqueries cannot be used with aggregate functions")
            if isinstance(item, Function):
                exprs.append(self._aggregate_function(comp, q, item, grouped, outs, next_name))
                continue
            if isinstance(item, FieldRef) or (isinstance(item, Aggregate) and item.function == "GROUPED"):
                ref = item if isinstance(item, FieldRef) else item.field
                assert ref is not None
                if _group_key(ref) not in grouped:
                    raise MalformedQueryError(f"Field must be grouped or aggregated: {ref.text}")
                expr, fd, _ = comp.resolve(ref, "grouped")
                alias = item.alias if isinstance(item, Aggregate) else None
                exprs.append(expr)
                outs.append((alias or fd.name, fd, "field", None, _group_key(ref)))
                continue
            expr, fd = comp.aggregate_sql(item)
            exprs.append(expr)
            outs.append((next_name(item.alias), fd, item.function, None, None))
        where = self._where(comp, q)
        having = ""
        if q.having is not None:
            having = " HAVING " + comp.condition(q.having, aggregate_ok=True)
        group_exprs = [comp.function_sql(g, "grouped")[0] if isinstance(g, Function) else comp.resolve(g, "grouped")[0]
                       for g in q.group_by]
        if q.group_by_kind is None:
            group_sql = " GROUP BY " + ", ".join(group_exprs) if group_exprs else ""
            order = self._order(comp, q, aggregate=True)
            sql = (f"SELECT {', '.join(exprs)} FROM {comp.from_sql()}{where}{group_sql}{having}{order}"
                   f"{self._limit_offset(comp, q)}")
            params = comp.params
        else:
            sql, params = self._grouping_sets(comp, q, exprs, outs, group_exprs, where, having)
        rows = self.ctx.tx.execute(sql, params).fetchall()
        records = []
        for r in rows:
            rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for k, (name, fd, kind, post, _key) in enumerate(outs):
                raw = r[k]
                if kind == "field" or kind in ("MIN", "MAX"):
                    value = from_db(fd, raw) if fd is not None else raw
                    if post is not None:
                        rec[name] = post(value)
                        continue
                    rec[name] = value if self.typed else to_json(fd, value)
                elif kind in ("COUNT", "COUNT_DISTINCT", "GROUPING"):
                    rec[name] = int(raw or 0) if post is None else post(int(raw or 0))
                elif post is not None:
                    rec[name] = None if raw is None else post(Decimal(repr(float(raw))))
                else:
                    if raw is None:
                        rec[name] = None
                    else:
                        rec[name] = Decimal(repr(float(raw))) if self.typed else float(raw)
            records.append(rec)
        return records

    def _aggregate_function(self, comp: _Compiler, q: SoqlQuery, item: Function, grouped: set[Any],
                            outs: list[Any], next_name: Callable[[str | None], str]) -> str:
        """A function in an aggregate query's select list: a date function (grouped), ``GROUPING(f)``,
        ``FORMAT(aggregate)``, or ``toLabel``/``FORMAT`` of a grouped field. Returns its SQL."""
        name = item.name
        if name == "GROUPING":  # with ROLLUP/CUBE (functions.check_placement)
            key = _group_key(item.arg)
            if key not in grouped:
                raise MalformedQueryError(f"GROUPING() takes a field of the GROUP BY ROLLUP/CUBE: {item.text}")
            outs.append((next_name(item.alias), None, "GROUPING", None, key))
            return "0"  # per grouping set: 1 where the field is rolled up (see _grouping_sets)
        if name in DATE_FUNCTIONS:
            key = _group_key(item)
            expr, fd = comp.function_sql(item, "grouped")
            if key not in grouped and not self._date_field_grouped(comp, item, grouped):
                raise MalformedQueryError(f"Field must be grouped or aggregated: {item.text}")
            outs.append((next_name(item.alias), fd, "field", None, key))
            return expr
        if name == "FORMAT" and isinstance(item.arg, Aggregate):
            agg = item.arg
            expr, fd = comp.aggregate_sql(agg)
            shown = fd
            if shown is None and agg.function in ("SUM", "AVG") and agg.field is not None:
                shown = comp.resolve(agg.field)[1]
            post = functools.partial(functions.format_value, shown, tz=self.ctx.tz)
            outs.append((next_name(item.alias), fd, agg.function, post, None))
            return expr
        if name == "CONVERTCURRENCY" or (name == "FORMAT" and isinstance(item.arg, Function)):
            raise functions.convert_currency_error(item.arg.text if name == "FORMAT" else item.text)
        if name not in ("TOLABEL", "FORMAT") or not isinstance(item.arg, FieldRef):
            raise MalformedQueryError(f"{item.spelled}() cannot be used here: {item.text}")  # check_placement's
        if _group_key(item.arg) not in grouped:
            raise MalformedQueryError(f"Field must be grouped or aggregated: {item.arg.text}")
        expr, fd, walked = comp.resolve(item.arg, "grouped")
        col = self._function_col(comp, item, expr, fd, walked, [])
        outs.append((item.alias or fd.name, fd, "field", col.post, _group_key(item.arg)))
        return expr

    @staticmethod
    def _date_field_grouped(comp: _Compiler, item: Function, grouped: set[Any]) -> bool:
        """Salesforce's exception: a date function of a date (not dateTime) field may be selected when
        the field itself is grouped."""
        if not isinstance(item.arg, FieldRef) or _group_key(item.arg) not in grouped:
            return False
        return comp.resolve(item.arg, "grouped")[1].type == "date"

    def _grouping_sets(self, comp: _Compiler, q: SoqlQuery, exprs: list[str], outs: list[Any],
                       group_exprs: list[str], where: str, having: str) -> tuple[str, list[Any]]:
        """GROUP BY ROLLUP(a, b) (sets (a, b), (a), ()) or CUBE(a, b) (every subset), as one UNION ALL
        of GROUP BY statements: the rolled-up fields read null and their GROUPING() 1."""
        keys = [_group_key(g) for g in q.group_by]
        n = len(keys)
        if q.group_by_kind == "ROLLUP":
            sets = [tuple(range(i)) for i in range(n, -1, -1)]
        else:
            from itertools import combinations
            sets = [c for size in range(n, -1, -1) for c in combinations(range(n), size)]
        parts = []
        for kept in sets:
            kept_keys = {keys[i] for i in kept}
            cols = []
            for k, (_name, _fd, kind, _post, key) in enumerate(outs):
                if kind == "GROUPING":
                    cols.append(f"{0 if key in kept_keys else 1} AS c{k}")
                elif key is not None and key not in kept_keys:
                    cols.append(f"NULL AS c{k}")
                else:
                    cols.append(f"{exprs[k]} AS c{k}")
            group_sql = " GROUP BY " + ", ".join(group_exprs[i] for i in kept) if kept else ""
            parts.append(f"SELECT {', '.join(cols)} FROM {comp.from_sql()}{where}{group_sql}{having}")
        params = list(comp.params) * len(sets)
        terms = []
        for item in q.order_by:
            k = self._select_column(q, item.key, outs)
            nulls = "" if item.nulls_last is None else (" NULLS LAST" if item.nulls_last else " NULLS FIRST")
            terms.append(f"c{k} {'DESC' if item.descending else 'ASC'}{nulls}")
        order = " ORDER BY " + ", ".join(terms) if terms else ""
        sql = f"SELECT * FROM ({' UNION ALL '.join(parts)}){order}{self._limit_offset(comp, q)}"
        return sql, params

    @staticmethod
    def _select_column(q: SoqlQuery, key: Any, outs: list[Any]) -> int:
        """The select-list column an ORDER BY entry of a ROLLUP/CUBE query sorts by."""
        for k, item in enumerate(q.select):
            if isinstance(key, Aggregate) and isinstance(item, Aggregate):
                if item.function == key.function and item.field == key.field:
                    return k
            elif isinstance(key, Function) and key.name == "GROUPING":
                if outs[k][2] == "GROUPING" and outs[k][4] == _group_key(key.arg):
                    return k
            elif not isinstance(key, Aggregate) and outs[k][2] == "field" and outs[k][4] == _group_key(key):
                return k
        raise MalformedQueryError("ORDER BY of a GROUP BY ROLLUP/CUBE query takes entries of the select list on "
                                  "the local org")


def _group_key(x: Any) -> Any:
    """What identifies a GROUP BY entry: a field path (case-insensitive) or a function of one."""
    if isinstance(x, FieldRef):
        return ("", tuple(p.lower() for p in x.path))
    if isinstance(x, Function):
        return (x.name, _group_key(x.arg))
    return ("?", id(x))

__all__ = ["execute", "date_range"]
