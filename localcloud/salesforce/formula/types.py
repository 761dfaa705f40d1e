"""Formula data types, the field resolver protocol and the evaluation environment.

Values: Number -> ``Decimal``, Text -> ``str`` (blank text is ``None`` or ``""``, the two are equal),
Boolean -> ``bool``, Date -> ``datetime.date``, DateTime -> aware ``datetime.datetime`` (UTC),
Time -> ``datetime.time``, Picklist -> ``str`` (its API value), Multi-Select Picklist -> ``str``
(values joined by ``;``). ``NULL`` has the type Null; a reference whose type is only known when it is
read (an Apex ``Object`` property) has the type Any and is checked when evaluated.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Mapping, Protocol


class FType(enum.Enum):
    NUMBER = "Number"
    TEXT = "Text"
    BOOLEAN = "Boolean"
    DATE = "Date"
    DATETIME = "DateTime"
    TIME = "Time"
    PICKLIST = "Picklist"
    MULTIPICKLIST = "Multi-Select Picklist"
    NULL = "Null"
    ANY = "Any"

    def __str__(self) -> str:
        return self.value


#: describe ``type`` of a field -> its formula type (``None``: not usable in formulas)
DESCRIBE_TYPES: dict[str, FType] = {
    **{t: FType.TEXT for t in ("string", "textarea", "email", "phone", "url", "id", "reference", "combobox",
                               "encryptedstring")},
    **{t: FType.NUMBER for t in ("double", "currency", "percent", "int", "long")},
    "boolean": FType.BOOLEAN, "date": FType.DATE, "datetime": FType.DATETIME, "time": FType.TIME,
    "picklist": FType.PICKLIST, "multipicklist": FType.MULTIPICKLIST,
}


class Field(Protocol):
    """A resolved reference: its type and how to read it from the root object (or prior root)."""

    ftype: FType

    def read(self, root: Any) -> Any: ...


@dataclass(frozen=True)
class SimpleField:
    ftype: FType
    reader: Callable[[Any], Any]

    def read(self, root: Any) -> Any:
        return self.reader(root)


def mapping_reader(keys: tuple[str, ...]) -> Callable[[Any], Any]:
    """Reads ``keys`` down nested mappings: each key as written, else matched case-insensitively; a
    missing step is blank."""
    steps = [(k, k.lower()) for k in keys]

    def read(root: Any) -> Any:
        v = root
        for key, low in steps:
            if type(v) is not dict and not isinstance(v, Mapping):
                return None
            if key in v:
                v = v[key]
            else:
                v = next((val for k, val in v.items() if str(k).lower() == low), None)
        return v
    return read


class Resolver(Protocol):
    """Resolves a reference path (``("Account", "Name")``, ``("$User", "Email")``) to a ``Field``.

    Return ``None`` when no such field exists; raise ``FormulaTypeError`` for a reference that exists
    but cannot be used (the engine adds the formula and position)."""

    def resolve(self, path: tuple[str, ...]) -> Field | None: ...


@dataclass
class Env:
    """What one evaluation reads: the record (``root``), its prior version (``prior``: ISCHANGED,
    PRIORVALUE; ``None`` with ``is_new`` on insert) and the clock (``now``, aware UTC; ``today`` in the
    user's time zone)."""

    root: Any
    prior: Any = None
    is_new: bool = False
    now: _dt.datetime = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc))
    today: _dt.date | None = None

    def today_date(self) -> _dt.date:
        return self.today if self.today is not None else self.now.date()


def to_number(v: Any) -> Decimal | None:
    """An Apex/Python number as a formula Number (bool is not a number)."""
    if v is None or isinstance(v, Decimal):
        return v
    if isinstance(v, bool):
        raise TypeError("Boolean is not a Number")
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, float):
        return Decimal(repr(v))
    raise TypeError(f"{type(v).__name__} is not a Number")


def type_of_value(v: Any) -> FType:
    """The formula type of a runtime value (for references typed Any)."""
    if v is None:
        return FType.NULL
    if isinstance(v, bool):
        return FType.BOOLEAN
    if isinstance(v, (int, float, Decimal)):
        return FType.NUMBER
    if isinstance(v, _dt.datetime):
        return FType.DATETIME
    if isinstance(v, _dt.date):
        return FType.DATE
    if isinstance(v, _dt.time):
        return FType.TIME
    if isinstance(v, str):
        return FType.TEXT
    return FType.ANY


def normalize(v: Any) -> Any:
    """A read value in its formula form (numbers as Decimal, datetimes aware)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return to_number(v)
    if isinstance(v, _dt.datetime) and v.tzinfo is None:
        return v.replace(tzinfo=_dt.timezone.utc)
    if isinstance(v, str) and type(v) is not str:
        return str(v)  # Id subclasses
    return v
