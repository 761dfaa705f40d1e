"""The SOQL functions other than the aggregates, as values: the date functions (an SQLite function,
``sf_datefn``, registered on every connection), ``toLabel()`` label maps, ``FORMAT()`` in the en_US
locale and the refusal of ``convertCurrency()`` in an org without multiple currencies.

The engine (``engine.py``) compiles them; queries that use none of them never reach this module.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..errors import InvalidFieldError, MalformedQueryError, SalesforceError
from ..schema import FieldDef
from .ast import DATE_FUNCTIONS, And, Comparison, Function, Not, Or, SoqlQuery

__all__ = ["DATE_FUNCTIONS", "check_placement", "sf_datefn", "date_result_field", "label_map", "format_value",
           "CONVERT_CURRENCY_ERROR", "convert_currency_error"]

#: ``convertCurrency()`` in an org without multiple currencies: Salesforce refuses it (the feature "requires
#: that the org has multiple currencies enabled"), but does not document the error; its code and text are a
#: setting (the local org never has multiple currencies)
CONVERT_CURRENCY_ERROR: tuple[str, str] = (
    "INVALID_FIELD", "convertCurrency() can only be used in an organization with multiple currencies enabled: {field}")

#: the date functions that read only dateTime fields
DATETIME_ONLY = frozenset({"DAY_ONLY", "HOUR_IN_DAY"})

_INT_FIELD = FieldDef({"name": "expr", "type": "int", "label": "expr"})
_DATE_FIELD = FieldDef({"name": "expr", "type": "date", "label": "expr"})


def date_result_field(name: str) -> FieldDef:
    """What a date function answers: an Integer, a Date for ``DAY_ONLY``."""
    return _DATE_FIELD if name == "DAY_ONLY" else _INT_FIELD


@lru_cache(maxsize=64)
def _zone(key: str) -> Any:
    return timezone.utc if key in ("", "UTC", "GMT") else ZoneInfo(key)


def sf_datefn(name: str, stored: str | None, tz: str, fiscal_start: int, named_by_start: int) -> Any:
    """SQLite function: the date function ``name`` of a stored date (``YYYY-MM-DD``) or dateTime
    (``YYYY-MM-DDTHH:MM:SS.fffZ``, UTC) value, the dateTime read in zone ``tz`` (``UTC`` unless the
    query wraps the field in ``convertTimezone()``). ``DAY_ONLY`` answers ``YYYY-MM-DD``."""
    if stored is None:
        return None
    hour = 0
    if len(stored) <= 10:
        d = date.fromisoformat(stored)
    else:
        dt = datetime.fromisoformat(stored.replace("Z", "+00:00"))
        if tz not in ("UTC", "GMT", ""):
            dt = dt.astimezone(_zone(tz))
        d, hour = dt.date(), dt.hour
    if name == "CALENDAR_YEAR":
        return d.year
    if name == "CALENDAR_MONTH":
        return d.month
    if name == "CALENDAR_QUARTER":
        return (d.month - 1) // 3 + 1
    if name == "DAY_IN_MONTH":
        return d.day
    if name == "DAY_IN_WEEK":  # 1 = Sunday ... 7 = Saturday
        return (d.weekday() + 1) % 7 + 1
    if name == "DAY_IN_YEAR":
        return d.timetuple().tm_yday
    if name == "DAY_ONLY":
        return d.isoformat()
    if name == "HOUR_IN_DAY":
        return hour
    if name == "WEEK_IN_MONTH":  # days 1-7 are week 1
        return (d.day - 1) // 7 + 1
    if name == "WEEK_IN_YEAR":  # January 1-7 is week 1
        return (d.timetuple().tm_yday - 1) // 7 + 1
    fiscal_month = (d.month - fiscal_start) % 12 + 1
    if name == "FISCAL_MONTH":
        return fiscal_month
    if name == "FISCAL_QUARTER":
        return (fiscal_month - 1) // 3 + 1
    if name == "FISCAL_YEAR":
        if fiscal_start == 1:
            return d.year
        starts_in = d.year if d.month >= fiscal_start else d.year - 1
        return starts_in if named_by_start else starts_in + 1
    raise ValueError(f"unknown date function {name}")


def check_date_function(name: str, spelled: str, fd: FieldDef, convert: bool) -> None:
    """A date function reads a date or dateTime field (DAY_ONLY and HOUR_IN_DAY: dateTime only);
    ``convertTimezone()`` converts a dateTime field."""
    if fd.type not in ("date", "datetime") or (name in DATETIME_ONLY and fd.type != "datetime"):
        kind = "dateTime" if name in DATETIME_ONLY else "date or dateTime"
        raise MalformedQueryError(f"{spelled}() can only be used with a {kind} field, and {fd.name} is of type "
                                  f"{fd.type}")
    if convert and fd.type != "datetime":
        raise MalformedQueryError(f"convertTimezone() can only be used with a dateTime field, and {fd.name} is of "
                                  f"type {fd.type}")


# -- where each function may stand ---------------------------------------------------------------------------
def check_placement(q: SoqlQuery) -> None:
    """Salesforce's rules on where a function may stand, which need no schema; checked when a query is
    parsed, so an inline Apex query breaking them is a compile error. ``convertTimezone()`` only inside a
    date function; date functions in SELECT and ORDER BY only with GROUP BY; ``GROUPING()`` only with
    ROLLUP/CUBE; ``FORMAT()`` only in SELECT; ``toLabel()`` not in ORDER BY."""
    for item in q.select:
        if isinstance(item, Function):
            _inside_date_function(item)
            if item.name in DATE_FUNCTIONS and not q.group_by:
                raise MalformedQueryError(f"Field must be grouped or aggregated: {item.text}")
            if item.name == "GROUPING" and q.group_by_kind is None:
                raise MalformedQueryError(f"GROUPING() needs GROUP BY ROLLUP or GROUP BY CUBE: {item.text}")
    for clause, cond in (("WHERE", q.where), ("HAVING", q.having)):
        for fn in _condition_functions(cond):
            _inside_date_function(fn)
            if fn.name in ("FORMAT", "GROUPING"):
                raise MalformedQueryError(f"{fn.spelled}() cannot be used in {clause}: {fn.text}")
    for order in q.order_by:
        fn = order.key
        if not isinstance(fn, Function):
            continue
        _inside_date_function(fn)
        if fn.name == "TOLABEL":
            raise MalformedQueryError(f"toLabel() cannot be used in ORDER BY (picklists sort in their defined "
                                      f"order): {fn.text}")
        if fn.name in ("FORMAT", "CONVERTCURRENCY"):
            raise MalformedQueryError(f"{fn.spelled}() cannot be used in ORDER BY: {fn.text}")
        if fn.name in DATE_FUNCTIONS and not q.group_by:
            raise MalformedQueryError(f"a date function in ORDER BY needs GROUP BY: {fn.text}")


def _inside_date_function(fn: Function) -> None:
    if fn.name == "CONVERTTIMEZONE":
        raise MalformedQueryError(f"convertTimezone() can only be used inside a date function: {fn.text}")


def _condition_functions(cond: Any) -> list[Function]:
    if isinstance(cond, (And, Or)):
        return [fn for c in cond.items for fn in _condition_functions(c)]
    if isinstance(cond, Not):
        return _condition_functions(cond.item)
    if isinstance(cond, Comparison) and isinstance(cond.left, Function):
        return [cond.left]
    return []


# -- toLabel() ---------------------------------------------------------------------------------------------
def label_map(fd: FieldDef, owner: str) -> dict[str, str] | None:
    """Value -> label of a picklist field (the master labels: the local org has one language; inactive
    values keep their labels). ``None`` for ``RecordType.Name``, which already is the label. Other
    fields: Salesforce's refusal."""
    if fd.type in ("picklist", "multipicklist"):
        return {p["value"]: p.get("label") or p["value"] for p in fd.raw.get("picklistValues") or []}
    if owner.lower() == "recordtype" and fd.lower == "name":
        return None
    raise InvalidFieldError(f"toLabel() can only be used on picklist fields and record type names, and "
                            f"{owner}.{fd.name} is of type {fd.type}", [fd.name])


def to_label(labels: dict[str, str] | None, fd: FieldDef, value: Any) -> Any:
    if value is None or labels is None:
        return value
    if fd.type == "multipicklist":
        return ";".join(labels.get(v, v) for v in str(value).split(";"))
    return labels.get(value, value)


def label_sql(expr: str, labels: dict[str, str] | None) -> str:
    """An SQL expression answering the label of ``expr``'s value (compared case-insensitively)."""
    if not labels:
        return expr
    whens = " ".join(f"WHEN {_quote(v)} THEN {_quote(lbl)}" for v, lbl in labels.items() if v != lbl)
    if not whens:
        return expr
    return f"(CASE {expr} {whens} ELSE {expr} END) COLLATE NOCASE"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- FORMAT() ------------------------------------------------------------------------------------------------
#: FORMAT()'s locale: en_US patterns and the US dollar sign (the local org formats as the en_US locale, as its
#: Apex Date/Datetime.format() does; a setting)
CURRENCY_SYMBOL = "$"


def format_value(fd: FieldDef | None, value: Any, tz: Any) -> Any:
    """The value as Salesforce Classic shows it in the en_US locale: ``12/28/2015``, ``4/10/2025, 3:31 PM``
    (in the user's time zone ``tz``), ``3:31 PM``, ``$44,000.00``, ``1,234.50``, ``12.5%``; other types and
    null unchanged."""
    if value is None:
        return None
    t = fd.type if fd is not None else ("int" if isinstance(value, int) else "double")
    if isinstance(value, datetime) or t == "datetime":
        dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        local = dt.astimezone(tz)
        return f"{local.month}/{local.day}/{local.year}, {_clock(local.hour, local.minute)}"
    if isinstance(value, date) or t == "date":
        d = value if isinstance(value, date) else date.fromisoformat(str(value))
        return f"{d.month}/{d.day}/{d.year}"
    if t == "time":
        hour, minute = (value.hour, value.minute) if hasattr(value, "hour") else map(int, str(value).split(":")[:2])
        return _clock(hour, minute)
    if t in ("currency", "double", "percent", "int") and isinstance(value, (int, float, Decimal)):
        scale = fd.value_scale if fd is not None else (0 if isinstance(value, int) else 2)
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        text = _grouped(number, scale)
        if t == "currency":
            return f"-{CURRENCY_SYMBOL}{text[1:]}" if text.startswith("-") else f"{CURRENCY_SYMBOL}{text}"
        return f"{text}%" if t == "percent" else text
    return value


def _clock(hour: int, minute: int) -> str:
    return f"{(hour % 12) or 12}:{minute:02d} {'AM' if hour < 12 else 'PM'}"


def _grouped(number: Decimal, scale: int) -> str:
    q = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    return f"{q:,.{scale}f}"


# -- convertCurrency() ---------------------------------------------------------------------------------------
def convert_currency_error(field: str) -> SalesforceError:
    code, text = CONVERT_CURRENCY_ERROR
    return SalesforceError(code, text.format(field=field))
