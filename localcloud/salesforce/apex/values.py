"""Runtime representation of Apex values and Apex's own value semantics.

Mapping: null -> None, Boolean -> bool, Integer -> int (32-bit wrap applied by operators), Long -> Long
(an int subclass, 64-bit wrap), Double -> float, Decimal -> decimal.Decimal (scale kept), String -> str,
Id -> IdValue (str normalised to 18 characters), Date -> datetime.date, Datetime -> datetime.datetime
(UTC, aware), Time -> datetime.time, Blob -> Blob, List/Set/Map -> ApexList/ApexSet/ApexMap,
SObject -> SObject, instances of Apex classes -> ApexObject, enum values -> EnumValue.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import threading
from decimal import Decimal
from typing import Any, Callable, Iterable

DECIMAL_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)  # the `/` operator
# Apex Decimals are Java BigDecimals: + - * are exact, setScale/round work at any size.
EXACT_CONTEXT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
WIDE_CONTEXT = decimal.Context(prec=1000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1


class _Current(threading.local):
    """The program running Apex on this thread (each run sets it; programs serialise their runs)."""

    prog: Any = None


CURRENT = _Current()  # ops.CURRENT: objects with an Apex equals/hashCode call back into the running program


def _apex_eq_unset(a: Any, b: Any) -> bool:
    raise RuntimeError("localcloud.salesforce.apex.ops is not loaded")


#: Apex equality (``ops.eq``), set by ``ops`` when it is imported: values sit below ops and never import it.
apex_eq: Callable[[Any, Any], bool] = _apex_eq_unset


class Long(int):
    """An Apex Long (64-bit). Plain Python ints are Apex Integers."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{int(self)}L"


def wrap32(v: int) -> int:
    if INT_MIN <= v <= INT_MAX:
        return v
    v &= 0xFFFFFFFF
    return v - 0x100000000 if v & 0x80000000 else v


def wrap64(v: int) -> Long:
    if not (LONG_MIN <= v <= LONG_MAX):
        v &= 0xFFFFFFFFFFFFFFFF
        if v & 0x8000000000000000:
            v -= 0x10000000000000000
    return Long(v)


_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(value: str) -> str:
    """Convert a 15-character Salesforce Id to its 18-character form (18 stays as is)."""
    if len(value) == 18:
        return value
    if len(value) != 15:
        raise ValueError(value)
    suffix = ""
    for start in (0, 5, 10):
        bits = 0
        for i, ch in enumerate(value[start:start + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _ID_CHARS[bits]
    return value + suffix


def is_valid_id(value: str) -> bool:
    """15 or 18 ASCII letters and digits. Apex does not check an 18-character Id's 3-character case
    suffix (code that makes test Ids such as '001000000000000001' runs in real orgs); see IdValue."""
    return len(value) in (15, 18) and value.isalnum() and value.isascii()


class IdValue(str):
    """An Apex Id; always held in its 18-character form so 15- and 18-character Ids are equal."""

    __slots__ = ()

    def __new__(cls, value: str) -> "IdValue":
        if isinstance(value, IdValue):
            return value
        if not is_valid_id(value):
            raise ValueError(f"Invalid id: {value}")
        if len(value) == 18:
            canonical = id18(value[:15])
            # an 18-character Id whose last three characters are not the case checksum (test doubles
            # build such Ids by counting: 'a01' + zeros + '12') is kept as written, as Salesforce keeps it,
            # so two of them differing only there stay two Ids
            return str.__new__(cls, canonical if canonical[15:] == value[15:].upper() else value)
        return str.__new__(cls, id18(value))


class Blob:
    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blob) and other.data == self.data

    def __hash__(self) -> int:
        return hash(self.data)


class ApexList(list):
    """List<T> (and T[]). `etype` is the element TypeRef or None for untyped."""

    __slots__ = ("etype",)

    def __init__(self, items: Iterable[Any] = (), etype: Any = None) -> None:
        super().__init__(items)
        self.etype = etype

    __hash__ = object.__hash__  # type: ignore[assignment]


class ApexSet:
    """Set<T>: insertion ordered, keys compared exactly (Strings are case-sensitive here)."""

    __slots__ = ("d", "etype")

    def __init__(self, items: Iterable[Any] = (), etype: Any = None) -> None:
        self.d: dict[Any, None] = dict.fromkeys(items)
        self.etype = etype

    def __iter__(self):
        return iter(list(self.d))

    def __len__(self) -> int:
        return len(self.d)


class ApexMap(dict):
    """Map<K,V>: insertion ordered, keys compared exactly."""

    __slots__ = ("ktype", "vtype")

    def __init__(self, items: Any = (), ktype: Any = None, vtype: Any = None) -> None:
        super().__init__(items)
        self.ktype = ktype
        self.vtype = vtype

    __hash__ = object.__hash__  # type: ignore[assignment]


class SObject:
    """An SObject record. Field names are case-insensitive; `names` keeps the spelling for output."""

    __slots__ = ("type_name", "fields", "names", "queried", "errors", "readonly")

    def __init__(self, type_name: str, fields: dict[str, Any] | None = None, queried: set[str] | None = None) -> None:
        self.type_name = type_name
        self.fields: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        self.queried = queried  # lower-case names fetched by SOQL, None when built in Apex
        self.errors: list[Any] = []
        self.readonly = False
        if fields:
            for k, v in fields.items():
                self.put(k, v)

    def put(self, name: str, value: Any) -> None:
        low = name.lower()
        if low not in self.names:
            self.names[low] = name
        self.fields[low] = value
        if self.queried is not None:
            self.queried.add(low)

    def has(self, name: str) -> bool:
        return name.lower() in self.fields

    def get_value(self, name: str) -> Any:
        return self.fields.get(name.lower())

    # As Map keys and Set elements, SObjects are equal when their type and field values are (Apex
    # rule; changing a field of a record already in a Set/Map key makes it unfindable, as in Apex).
    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, SObject):
            return False
        return apex_eq(self, other)

    def __hash__(self) -> int:
        items = []
        for k, v in self.fields.items():
            if v is None:  # a field set to null equals one never set (ops.eq)
                continue
            if isinstance(v, str):
                v = v.lower()
            elif isinstance(v, (SObject, list, dict, ApexSet)):
                continue
            try:
                hash(v)
            except TypeError:
                continue
            items.append((k, v))
        return hash((self.type_name.lower(), frozenset(items)))

    def clone_record(self, preserve_id: bool = False) -> "SObject":
        c = SObject(self.type_name)
        for low, v in self.fields.items():
            if low == "id" and not preserve_id:
                continue
            c.fields[low] = v
            c.names[low] = self.names[low]
        return c


class ApexObject:
    """An instance of an Apex class (user class, exception, or runtime-provided class).

    As Map/Set keys, objects whose class defines equals(Object) and hashCode() use them (Apex rule);
    other objects compare by identity."""

    __slots__ = ("cls", "fields", "native")

    def __init__(self, cls: Any) -> None:
        self.cls = cls
        self.fields: dict[str, Any] = {}
        self.native: Any = None

    def __hash__(self) -> int:
        m = self.cls.find_method("hashcode", 0)
        if m is not None and not m.static and not m.cls.builtin:
            return hash(CURRENT.prog.invoke(m, self, []))
        return id(self)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        m = self.cls.find_method("equals", 1)
        if m is not None and not m.static and not m.cls.builtin:
            return bool(CURRENT.prog.invoke(m, self, [other]))
        return False


class EnumValue:
    __slots__ = ("enum", "name", "ordinal")

    def __init__(self, enum: Any, name: str, ordinal: int) -> None:
        self.enum = enum
        self.name = name
        self.ordinal = ordinal

    def __repr__(self) -> str:
        return self.name


class TypeRef:
    """A resolved-by-name Apex type: `name` lower-case, `args` type arguments, `display` original text."""

    __slots__ = ("name", "args", "display")

    def __init__(self, name: str, args: tuple["TypeRef", ...] = (), display: str | None = None) -> None:
        self.name = name.lower()
        self.args = args
        self.display = display or name

    def __repr__(self) -> str:
        return self.display

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TypeRef) and other.name == self.name and other.args == self.args

    def __hash__(self) -> int:
        return hash((self.name, self.args))


# ----------------------------------------------------------------------------------------------
# Formatting (String.valueOf and System.debug)


def format_double(v: float) -> str:
    """Java's Double.toString, which Apex uses."""
    if v != v:
        return "NaN"
    if v in (float("inf"), float("-inf")):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0:
        return "0.0" if str(v)[0] != "-" else "-0.0"
    a = abs(v)
    if 1e-3 <= a < 1e7:
        s = repr(v)
        if "e" in s or "E" in s:
            s = format(v, "f")
        if "." not in s:
            s += ".0"
        return s
    t = Decimal(repr(a)).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    exponent = len(digits) - 1 + t.exponent
    mant_s = digits[0] + "." + (digits[1:] or "0")
    return ("-" if v < 0 else "") + mant_s + "E" + str(exponent)


def format_decimal(v: Decimal) -> str:
    """Java's BigDecimal.toString (Python's Decimal uses the same scientific-string rules)."""
    return str(v)


def format_datetime(v: _dt.datetime) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S")


def format_time(v: _dt.time) -> str:
    return v.strftime("%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
