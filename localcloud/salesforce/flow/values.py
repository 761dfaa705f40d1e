"""Flow values: plain Python, independent of any host.

Text -> ``str``; Number and Currency -> ``Decimal``; Boolean -> ``bool``; Date -> ``datetime.date``;
DateTime -> aware ``datetime.datetime`` (UTC); Picklist and Multipicklist -> ``str``; Record (SObject) ->
``Record``; collections -> ``list``; Apex-defined types -> whatever the host passed in (opaque, read
through ``FlowHost.get_member``).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal, InvalidOperation
from typing import Any

from localcloud.salesforce.formula.checks import format_number
from localcloud.salesforce.formula.checks import format_value as _formula_text

__all__ = ["Record", "coerce", "format_number", "format_value", "is_blank"]


class Record:
    """An sObject record: its type and fields (case-insensitive names; the written spelling is kept).

    ``data`` may be a dict the caller owns (a before-save trigger's record): writes go into it."""

    __slots__ = ("sobject", "data", "_keys")

    def __init__(self, sobject: str | None, data: dict[str, Any] | None = None) -> None:
        self.sobject = sobject
        self.data = data if data is not None else {}
        self._keys = {k.lower(): k for k in self.data}

    def get(self, name: str) -> Any:
        key = self._keys.get(name.lower())
        if key is None:
            return None
        return self.data.get(key)

    def has(self, name: str) -> bool:
        return name.lower() in self._keys

    def put(self, name: str, value: Any) -> None:
        low = name.lower()
        key = self._keys.get(low)
        if key is None:
            key = self._keys[low] = name
        self.data[key] = value

    def fields(self) -> list[str]:
        return list(self.data)

    def copy(self) -> "Record":
        return Record(self.sobject, dict(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and (self.sobject or "").lower() == (other.sobject or "").lower() \
            and {k.lower(): v for k, v in self.data.items()} == {k.lower(): v for k, v in other.data.items()}

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Record({self.sobject!r}, {self.data!r})"


NUMBER_TYPES = ("number", "currency")


def coerce(value: Any, data_type: str | None, is_collection: bool = False) -> Any:
    """A value as a resource of ``data_type`` holds it (numbers as Decimal, text as str)."""
    if value is None:
        return [] if is_collection else None
    if is_collection:
        items = value if isinstance(value, (list, tuple)) else [value]
        return [coerce(v, data_type) for v in items]
    t = (data_type or "").lower()
    if t in NUMBER_TYPES:
        if isinstance(value, bool):
            raise TypeError("a Boolean is not a Number")
        if isinstance(value, (int, float, Decimal)):
            return value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
        if isinstance(value, str):
            try:
                return Decimal(value.strip())
            except InvalidOperation:
                raise TypeError(f"{value!r} is not a Number") from None
        raise TypeError(f"{type(value).__name__} is not a Number")
    if t in ("string", "picklist", "multipicklist"):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            return format_number(value)
        if isinstance(value, (str, int, float)):
            return str(value)
        if isinstance(value, (_dt.date, _dt.datetime)):
            return format_value(value)
        return value
    if t == "boolean":
        if isinstance(value, str):
            return value.strip().lower() == "true"
        return bool(value)
    if t == "datetime" and isinstance(value, _dt.date) and not isinstance(value, _dt.datetime):
        return _dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc)
    if t == "datetime" and isinstance(value, _dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    if t == "date" and isinstance(value, _dt.datetime):
        return value.date()
    return value


def format_value(v: Any) -> str:
    """A value merged into text (text templates, text built by Add): as the formula TEXT() shows it."""
    if isinstance(v, list):
        return ", ".join(format_value(x) for x in v)
    return _formula_text(v) or ""


def is_blank(v: Any) -> bool:
    return v is None or v == "" or (isinstance(v, list) and not v)
