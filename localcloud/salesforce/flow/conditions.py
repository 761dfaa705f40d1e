"""Conditions: decision rules, start (entry) conditions and Get/Update/Delete Records filters.

Comparison semantics (Flow Builder's operators): text comparisons are case-sensitive; a 15- and an
18-character Id of one record are equal; ``GreaterThan``/``LessThan``/... with a blank side are false;
``IsNull`` treats blank text as null; ``Contains`` works on text and on collections; ``In``/``NotIn``
take a collection on the right. Condition logic is ``and``, ``or`` or custom (``1 AND (2 OR NOT 3)``).
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from typing import Any, Callable, Sequence

from .errors import FlowDefinitionError, FlowUnsupported
from .values import Record, format_number, is_blank

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def _norm(v: Any) -> Any:
    if isinstance(v, Record):
        return _norm(v.get("Id"))
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)
    if isinstance(v, _dt.datetime) and v.tzinfo is None:
        return v.replace(tzinfo=_dt.timezone.utc)
    return v


def equal(a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if is_blank(a) and is_blank(b) and not isinstance(a, list) and not isinstance(b, list):
        return True
    if isinstance(a, str) and isinstance(b, str) and len(a) != len(b) and {len(a), len(b)} == {15, 18} \
            and _ID_RE.match(a) and _ID_RE.match(b):
        return a[:15] == b[:15]
    if isinstance(a, _dt.datetime) != isinstance(b, _dt.datetime):
        return False
    try:
        return bool(a == b)
    except TypeError:
        return False


def _ordered(a: Any, b: Any, test: Callable[[Any, Any], bool]) -> bool:
    a, b = _norm(a), _norm(b)
    if is_blank(a) or is_blank(b):
        return False
    try:
        return bool(test(a, b))
    except TypeError:
        return False


def _contains(a: Any, b: Any) -> bool:
    if isinstance(a, list):
        return any(equal(x, b) for x in a)
    if a is None or b is None:
        return False
    return str(b) in str(a)


def _in(a: Any, b: Any) -> bool:
    items = b if isinstance(b, list) else [b]
    return any(equal(a, x) for x in items)


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equalto": equal,
    "notequalto": lambda a, b: not equal(a, b),
    "greaterthan": lambda a, b: _ordered(a, b, lambda x, y: x > y),
    "lessthan": lambda a, b: _ordered(a, b, lambda x, y: x < y),
    "greaterthanorequalto": lambda a, b: _ordered(a, b, lambda x, y: x >= y),
    "lessthanorequalto": lambda a, b: _ordered(a, b, lambda x, y: x <= y),
    "contains": _contains,
    "startswith": lambda a, b: a is not None and b is not None and str(a).startswith(str(b)),
    "endswith": lambda a, b: a is not None and b is not None and str(a).endswith(str(b)),
    "isnull": lambda a, b: (a is None or a == "") == bool(b),
    "isblank": lambda a, b: is_blank(a) == bool(b),
    "isempty": lambda a, b: (not a) == bool(b),
    "in": _in,
    "notin": lambda a, b: not _in(a, b),
}


def compare(operator: str, left: Any, right: Any, where: str) -> bool:
    fn = OPERATORS.get(operator.lower())
    if fn is None:
        raise FlowUnsupported(f"the condition operator {operator!r} in {where}")
    return fn(left, right)


# -- condition logic -------------------------------------------------------------------------------
_TOKEN = re.compile(r"\s*(\d+|\(|\)|AND\b|OR\b|NOT\b)", re.IGNORECASE)


def combine(logic: str | None, results: Sequence[Callable[[], bool]], where: str) -> bool:
    """``and`` (default), ``or``, or custom logic over 1-based condition numbers (evaluated lazily)."""
    low = (logic or "and").strip().lower()
    if not results:
        return True
    if low == "and":
        return all(r() for r in results)
    if low == "or":
        return any(r() for r in results)
    tokens = _tokens(logic or "", where)
    pos = [0]

    def peek() -> str | None:
        return tokens[pos[0]] if pos[0] < len(tokens) else None

    def take() -> str:
        t = peek()
        if t is None:
            raise FlowDefinitionError(f"{where}: condition logic {logic!r} ends too soon")
        pos[0] += 1
        return t

    def expr() -> bool:
        value = term()
        while peek() == "or":
            take()
            right = term()
            value = value or right
        return value

    def term() -> bool:
        value = factor()
        while peek() == "and":
            take()
            right = factor()
            value = value and right
        return value

    def factor() -> bool:
        t = take()
        if t == "not":
            return not factor()
        if t == "(":
            value = expr()
            if take() != ")":
                raise FlowDefinitionError(f"{where}: condition logic {logic!r} misses a ')'")
            return value
        if t.isdigit():
            n = int(t)
            if not 1 <= n <= len(results):
                raise FlowDefinitionError(f"{where}: condition logic {logic!r} refers to condition {n}, "
                                          f"which does not exist")
            return results[n - 1]()
        raise FlowDefinitionError(f"{where}: condition logic {logic!r} is not valid")

    value = expr()
    if peek() is not None:
        raise FlowDefinitionError(f"{where}: condition logic {logic!r} is not valid")
    return value


def _tokens(logic: str, where: str) -> list[str]:
    out, i = [], 0
    while i < len(logic):
        m = _TOKEN.match(logic, i)
        if m is None:
            if logic[i:].strip() == "":
                break
            raise FlowDefinitionError(f"{where}: condition logic {logic!r} is not valid")
        out.append(m.group(1).lower())
        i = m.end()
    return out


# -- SOQL for Get/Update/Delete Records ----------------------------------------------------------------
_SOQL_OPS = {"equalto": "=", "notequalto": "!=", "greaterthan": ">", "lessthan": "<",
             "greaterthanorequalto": ">=", "lessthanorequalto": "<="}
_FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


def soql_literal(v: Any) -> str:
    v = _norm(v)
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format_number(v)
    if isinstance(v, _dt.datetime):
        return v.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, list):
        return "(" + ", ".join(soql_literal(x) for x in v) + ")"
    s = str(v).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{s}'"


def _like(v: Any) -> str:
    s = "" if v is None else str(_norm(v))
    return s.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")


def soql_condition(field: str, operator: str, value: Any, where: str) -> str:
    if not _FIELD_RE.match(field):
        raise FlowDefinitionError(f"{where}: {field!r} is not a field name")
    op = operator.lower()
    if op in _SOQL_OPS:
        if isinstance(value, list):
            raise FlowDefinitionError(f"{where}: the filter on {field} compares it with a collection")
        return f"{field} {_SOQL_OPS[op]} {soql_literal(value)}"
    if op == "startswith":
        return f"{field} LIKE '{_like(value)}%'"
    if op == "endswith":
        return f"{field} LIKE '%{_like(value)}'"
    if op == "contains":
        return f"{field} LIKE '%{_like(value)}%'"
    if op == "isnull":
        return f"{field} {'=' if value else '!='} null"
    if op in ("in", "notin"):
        items = [x for x in (value if isinstance(value, list) else [value])]
        if not items:  # IN () matches nothing; NOT IN () everything
            return "Id = null" if op == "in" else "Id != null"
        return f"{field} {'IN' if op == 'in' else 'NOT IN'} {soql_literal(items)}"
    raise FlowUnsupported(f"the filter operator {operator!r} in {where}")


def soql_where(logic: str | None, conditions: Sequence[str], where: str) -> str:
    if not conditions:
        return ""
    low = (logic or "and").strip().lower()
    if low in ("and", "or"):
        return f" {low.upper()} ".join(f"({c})" for c in conditions)
    if low == "no_conditions":
        return ""
    text = []
    for token in _tokens(logic or "", where):
        if token.isdigit():
            n = int(token)
            if not 1 <= n <= len(conditions):
                raise FlowDefinitionError(f"{where}: filter logic {logic!r} refers to condition {n}")
            text.append(f"({conditions[n - 1]})")
        else:
            text.append(token.upper())
    return " ".join(text).replace("( ", "(").replace(" )", ")")


# -- applying a Get Records filter to a row (bulkified lookups), as SOQL would ------------------------------
_ROW_OPS = {"equalto", "notequalto", "greaterthan", "lessthan", "greaterthanorequalto", "lessthanorequalto",
            "startswith", "endswith", "contains", "isnull", "in", "notin"}


def matchable(filters: Sequence[tuple[str, str, Any]]) -> bool:
    """Filters ``row_matches`` applies exactly: plain fields (no relationship paths), known operators."""
    return all("." not in f and op.lower() in _ROW_OPS for f, op, _ in filters)


def _soql_key(v: Any, field_type: str | None) -> Any:
    v = _norm(v)
    if isinstance(v, str):
        if field_type in ("id", "reference") and len(v) in (15, 18):
            return v[:15]  # Ids compare case-sensitively, 15 = 18 characters
        return v.lower()  # SOQL compares text case-insensitively
    return v


def row_matches(actual: Any, operator: str, value: Any, field_type: str | None) -> bool:
    """Whether a queried row's field passes a filter, with SOQL's semantics (text case-insensitive, null
    rows fail ordering comparisons and pass ``!=``)."""
    op = operator.lower()
    a = _soql_key(actual, field_type)
    if op == "isnull":
        return (actual is None or actual == "") == bool(value)
    if op in ("in", "notin"):
        items = [_soql_key(x, field_type) for x in (value if isinstance(value, list) else [value])]
        found = a is not None and any(a == x for x in items)
        return found if op == "in" else not found
    b = _soql_key(value, field_type)
    if op == "equalto":
        return a == b if b is not None else a is None
    if op == "notequalto":
        return a != b if b is not None else a is not None
    if a is None or b is None:
        return False
    if op in ("startswith", "endswith", "contains"):
        a, b = str(a).lower(), str(b).lower()
        return a.startswith(b) if op == "startswith" else a.endswith(b) if op == "endswith" else b in a
    try:
        return {"greaterthan": a > b, "lessthan": a < b, "greaterthanorequalto": a >= b,
                "lessthanorequalto": a <= b}[op]
    except TypeError:
        return False


def soql_sorted(rows: list[Any], field: str, descending: bool) -> list[Any]:
    """SOQL's ORDER BY: nulls first ascending, last descending; text case-insensitive."""
    present = [r for r in rows if r.get(field) is not None]
    blank = [r for r in rows if r.get(field) is None]
    present.sort(key=lambda r: _soql_key(r.get(field), None), reverse=descending)
    return present + blank if descending else blank + present
