"""Apex operator semantics, conversions, equality, formatting and exception raising.

`CURRENT` is the program currently executing (Apex execution is serialised per process by the
program's lock), so natives can raise Apex exceptions and call back into Apex code.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from . import values as _values
from .errors import ApexThrown
from .values import CURRENT  # (defined in values, below ops) ops.CURRENT is what the modules read
from .values import (DECIMAL_CONTEXT, EXACT_CONTEXT, INT_MAX, INT_MIN, ApexList, ApexMap, ApexObject, ApexSet, Blob, EnumValue,
                     IdValue, Long, SObject, TypeRef, format_datetime, format_decimal, format_double, format_time,
                     wrap32, wrap64)


def throw(type_name: str, message: str | None) -> None:
    raise ApexThrown(CURRENT.prog.new_exception(type_name, message))


def npe() -> None:
    throw("System.NullPointerException", "Attempt to de-reference a null object")


NATIVE_ERRORS = (TypeError, AttributeError, ValueError, IndexError, KeyError, ArithmeticError)


def native_failure(e: BaseException, what: str, args: Any) -> None:
    """A library call failed on its arguments: null arguments are NullPointerExceptions, others
    TypeExceptions naming the call (never a Python traceback)."""
    if any(a is None for a in (args or ())):
        npe()
    throw("System.TypeException", f"{what}: invalid argument ({type(e).__name__}: {e})")


def throw_obj(obj: Any) -> None:
    if not isinstance(obj, ApexObject) or not obj.cls.is_exception:
        throw("System.TypeException", "Throw expression must be an exception")
    raise ApexThrown(obj)


# ---------------------------------------------------------------------------------------------- types

NUMERIC_ORDER = {int: 0, Long: 1, float: 2, Decimal: 3}


def to_decimal(v: Any) -> Decimal:
    if type(v) is Decimal:
        return v
    if type(v) is float:
        return Decimal(repr(v))
    return Decimal(int(v))


def _to_long(v):
    if type(v) is Long:
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return Long(v)
    return v


def _to_decimal_co(v):
    if v is None or type(v) is Decimal:
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return to_decimal(v)
    return v


def _to_double(v):
    if v is None or type(v) is float:
        return v
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, Decimal)):
        return float(v)
    return v


def _to_id(v):
    if v is None or type(v) is IdValue:
        return v
    if isinstance(v, str):
        try:
            return IdValue(v)
        except ValueError:
            throw("System.StringException", f"Invalid id: {v}")
    return v


def _to_integer(v):
    t = type(v)
    if t is Long or t is Decimal or t is float:
        return wrap32(int(v))
    return v


def _to_datetime(v):
    """A Date assigned, passed or cast to a Datetime becomes midnight GMT of that day (Salesforce's implicit
    conversion; `Datetime.newInstance(date, time)` is the one in the user's time zone)."""
    if type(v) is _dt.date:
        return _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.timezone.utc)
    return v


def coercer(t: TypeRef | None) -> Callable[[Any], Any] | None:
    """Assignment conversion for a declared type (None when values pass through unchanged)."""
    if t is None:
        return None
    n = t.name
    if n == "long":
        return _to_long
    if n == "decimal":
        return _to_decimal_co
    if n == "double":
        return _to_double
    if n == "id":
        return _to_id
    if n == "integer":
        return _to_integer
    if n == "datetime":
        return _to_datetime
    return None


def type_name(v: Any) -> str:
    """Runtime type name as Apex reports it."""
    if v is None:
        return "null"
    t = type(v)
    if t is bool:
        return "Boolean"
    if t is int:
        return "Integer"
    if t is Long:
        return "Long"
    if t is float:
        return "Double"
    if t is Decimal:
        return "Decimal"
    if t is IdValue:
        return "Id"
    if t is str:
        return "String"
    if t is _dt.datetime:
        return "Datetime"
    if t is _dt.date:
        return "Date"
    if t is _dt.time:
        return "Time"
    if t is Blob:
        return "Blob"
    if t is ApexList:
        return f"List<{v.etype.display if v.etype else 'ANY'}>"
    if t is ApexSet:
        return f"Set<{v.etype.display if v.etype else 'ANY'}>"
    if t is ApexMap:
        return f"Map<{v.ktype.display if v.ktype else 'ANY'},{v.vtype.display if v.vtype else 'ANY'}>"
    if t is SObject:
        return v.type_name
    if t is ApexObject:
        return v.cls.name
    if t is EnumValue:
        return v.enum.name
    return getattr(v, "apex_type", t.__name__)


_PRIM_CHECK: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: True,
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: type(v) is int,
    "long": lambda v: type(v) is Long or type(v) is int,
    "decimal": lambda v: type(v) is Decimal or type(v) is int or type(v) is Long or type(v) is float,
    "double": lambda v: type(v) is float or type(v) is int or type(v) is Long or type(v) is Decimal,
    "boolean": lambda v: type(v) is bool,
    "id": lambda v: type(v) is IdValue or (isinstance(v, str) and _is_id_text(v)),
    "date": lambda v: type(v) is _dt.date,
    "datetime": lambda v: type(v) is _dt.datetime,
    "time": lambda v: type(v) is _dt.time,
    "blob": lambda v: type(v) is Blob,
    "sobject": lambda v: type(v) is SObject,
    "list": lambda v: type(v) is ApexList,
    "set": lambda v: type(v) is ApexSet,
    "map": lambda v: type(v) is ApexMap,
}


def _plain_type_name(name: str) -> str:
    """A system type's name without its System./Schema. namespace (Schema.SObjectType == SObjectType)."""
    for prefix in ("system.", "schema."):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


plain_type_name = _plain_type_name

#: `x instanceof T` for the primitive types whose runtime check is wider than their exact type (Salesforce:
#: an Integer is an instance of Long, Decimal and Double; a Long of Decimal and Double; a Decimal of Double
#: and a Double of Decimal; a Date of Datetime). Overload choice (`is_instance`) stays exact.
INSTANCEOF_WIDENING: dict[str, frozenset[type]] = {
    "long": frozenset({int, Long}),
    "decimal": frozenset({int, Long, Decimal, float}),
    "double": frozenset({int, Long, Decimal, float}),
    "datetime": frozenset({_dt.datetime, _dt.date}),
}


def _is_id_text(v: str) -> bool:
    from .values import is_valid_id
    return is_valid_id(v)


def is_instance(v: Any, t: TypeRef, ctx_cls: Any = None) -> bool:
    if v is None:
        return False
    n = t.name
    if n.startswith("system.") and n[7:] in _PRIM_CHECK:
        n = n[7:]
    chk = _PRIM_CHECK.get(n)
    if chk is not None:
        if n in ("long", "decimal", "double") and type(v) is not {"long": Long, "decimal": Decimal,
                                                                  "double": float}[n]:
            return False
        if (n == "list" or n == "set") and t.args and (type(v) is ApexList or type(v) is ApexSet) \
                and v.etype is not None and chk(v):
            et = t.args[0]
            if et.name not in ("object",) and v.etype.name != et.name \
                    and _plain_type_name(v.etype.name) != _plain_type_name(et.name):
                if et.name == "sobject" and CURRENT.prog.is_sobject_type(v.etype.name):
                    return True
                c1 = CURRENT.prog.resolve_class(v.etype, ctx_cls)
                c2 = CURRENT.prog.resolve_class(et, ctx_cls)
                return c1 is not None and c2 is not None and c1.is_subclass_of(c2)
        return chk(v)
    if type(v) is SObject:
        return v.type_name.lower() == n or (n.startswith("schema.") and v.type_name.lower() == n[7:])
    if (n == "iterable" or n == "system.iterable") and type(v) in (ApexList, ApexSet):
        # lists and sets are Iterable<T> of their element type
        et = t.args[0] if t.args else None
        return et is None or v.etype is None or et.name in ("object", v.etype.name) or \
            (et.name == "sobject" and CURRENT.prog.is_sobject_type(v.etype.name))
    native_type = getattr(v, "apex_type", None)
    if native_type is not None and _plain_type_name(native_type.lower()) == _plain_type_name(n):
        return True  # runtime-provided values (Schema.SObjectType tokens, Database.BatchableContext, ...)
    cls = CURRENT.prog.resolve_class(t, ctx_cls)
    if cls is None:
        return False
    if type(v) is ApexObject:
        return v.cls.is_subclass_of(cls)
    if type(v) is EnumValue:
        return v.enum is cls
    nat = getattr(v, "apex_class", None)
    if nat is not None:
        return nat.is_subclass_of(cls)
    return False


def cast(v: Any, t: TypeRef, ctx_cls: Any = None) -> Any:
    if v is None:
        return None
    n = t.name
    if n in ("integer", "long", "decimal", "double") and type(v) in NUMERIC_ORDER:
        if n == "integer":
            if type(v) in (float, Decimal):
                return wrap32(int(v))
            return wrap32(int(v)) if type(v) is Long else v
        if n == "long":
            return wrap64(int(v))
        if n == "decimal":
            return to_decimal(v)
        return float(v)
    if n == "id" and isinstance(v, str):
        return _to_id(v)
    if n == "datetime" and type(v) is _dt.date:
        return _to_datetime(v)
    if n == "string" and type(v) is IdValue:
        return v
    if is_instance(v, t, ctx_cls):
        return v
    if n == "sobject" or (type(v) is SObject and CURRENT.prog.is_sobject_type(n)):
        pass
    if type(v) is ApexList and not t.args and (n == "sobject" or CURRENT.prog.is_sobject_type(n)) \
            and all(type(r) is SObject for r in v):
        # (Account) Database.query(...): the rows of a dynamic query taken as one record, as Apex does
        if not v:
            throw("System.QueryException", "List has no rows for assignment to SObject")
        if len(v) > 1:
            throw("System.QueryException", "List has more than 1 row for assignment to SObject")
        return cast(v[0], t, ctx_cls)
    throw("System.TypeException", f"Invalid conversion from runtime type {type_name(v)} to {t.display}")


# ---------------------------------------------------------------------------------------------- strings


def user_tz() -> Any:
    """The running user's time zone: the org store's (its admin user's TimeZoneSidKey), else GMT."""
    p = CURRENT.prog
    tz = getattr(p.data, "timezone", None) if p is not None and p.data is not None else None
    return tz or _dt.timezone.utc


def local(d: _dt.datetime) -> _dt.datetime:
    return d.astimezone(user_tz())


def to_str(v: Any, debug: bool = False) -> str:
    t = type(v)
    if t is str or t is IdValue:
        return v
    if v is None:
        return "null"
    if t is bool:
        return "true" if v else "false"
    if t is int or t is Long:
        return str(int(v))
    if t is Decimal:
        return format_decimal(v)
    if t is float:
        return format_double(v)
    if t is _dt.datetime:
        if debug:
            return format_datetime(v)  # System.debug shows GMT
        return format_datetime(local(v))  # String.valueOf / concatenation: the user's time zone
    if t is _dt.date:
        return v.isoformat() + (" 00:00:00" if debug else "")
    if t is _dt.time:
        return format_time(v)
    if t is ApexList:
        return "(" + ", ".join(to_str(x, True) for x in v) + ")"
    if t is ApexSet:
        return "{" + ", ".join(to_str(x, True) for x in v.d) + "}"
    if t is ApexMap:
        return "{" + ", ".join(f"{to_str(k, True)}={to_str(x, True)}" for k, x in v.items()) + "}"
    if t is SObject:
        parts = ", ".join(f"{v.names[k]}={to_str(x, True)}" for k, x in v.fields.items()
                          if not isinstance(x, (SObject, ApexList)))
        return f"{v.type_name}:{{{parts}}}"
    if t is EnumValue:
        return v.name
    if t is Blob:
        return f"Blob[{len(v.data)}]"
    if t is ApexObject:
        return CURRENT.prog.object_to_string(v)
    s = getattr(v, "apex_str", None)
    if s is not None:
        return s()
    return str(v)


# ---------------------------------------------------------------------------------------------- equality


def eq(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if a is None or b is None:
        return False
    ta, tb = type(a), type(b)
    if ta is str and tb is str:
        return a.lower() == b.lower()
    if isinstance(a, str) and isinstance(b, str):
        if ta is IdValue or tb is IdValue:
            try:
                return IdValue(a) == IdValue(b) if len(a) in (15, 18) and len(b) in (15, 18) else False
            except ValueError:
                return a.lower() == b.lower()
        return a.lower() == b.lower()
    if ta in NUMERIC_ORDER and tb in NUMERIC_ORDER:
        return a == b
    if ta is bool or tb is bool:
        return ta is tb and a == b
    if ta is ApexList and tb is ApexList:
        return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b))
    if ta is ApexSet and tb is ApexSet:
        return a.d.keys() == b.d.keys()
    if ta is ApexMap and tb is ApexMap:
        return a.keys() == b.keys() and all(eq(a[k], b[k]) for k in a)
    if ta is SObject and tb is SObject:
        # field by field; a field set to null (e.g. `record.Id = null` on a clone) equals one never set
        if a.type_name.lower() != b.type_name.lower():
            return False
        af = {k: v for k, v in a.fields.items() if v is not None}
        bf = {k: v for k, v in b.fields.items() if v is not None}
        return af.keys() == bf.keys() and all(eq(af[k], bf[k]) for k in af)
    if ta is ApexObject:
        return CURRENT.prog.object_equals(a, b)
    return a == b


_values.apex_eq = eq  # SObjects as Set elements / Map keys compare with Apex equality (values.SObject.__eq__)


def exact_eq(a: Any, b: Any) -> bool:
    if type(a) in (ApexObject, SObject, ApexList, ApexMap, ApexSet) or type(b) in (ApexObject, SObject, ApexList,
                                                                                  ApexMap, ApexSet):
        return a is b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return eq(a, b)


def compare(a: Any, b: Any) -> int | None:
    """-1/0/1, or None when either side is null (the comparison is then false)."""
    if a is None or b is None:
        if isinstance(a, str) or isinstance(b, str):
            return 1 if a is not None else -1
        return None
    if isinstance(a, str) and isinstance(b, str):
        x, y = a.lower(), b.lower()
    else:
        x, y = a, b
        if type(x) is _dt.datetime and type(y) is _dt.date:
            y = _dt.datetime(y.year, y.month, y.day, tzinfo=x.tzinfo)
        elif type(y) is _dt.datetime and type(x) is _dt.date:
            x = _dt.datetime(x.year, x.month, x.day, tzinfo=y.tzinfo)
    try:
        return -1 if x < y else (1 if x > y else 0)
    except TypeError:
        throw("System.TypeException", f"Comparison arguments must be compatible types: {type_name(a)}, {type_name(b)}")
    return None


# ---------------------------------------------------------------------------------------------- arithmetic


def _concat_str(v: Any) -> str:
    if type(v) is _dt.date:
        return v.isoformat() + " 00:00:00"
    if type(v) is _dt.datetime:
        return to_str(v)
    return to_str(v, True)


def _num_pair(a: Any, b: Any, sym: str):
    ta, tb = type(a), type(b)
    if ta not in NUMERIC_ORDER or tb not in NUMERIC_ORDER:
        if a is None or b is None:
            npe()
        throw("System.TypeException", f"Arithmetic expressions must use numeric arguments: {type_name(a)} {sym} "
                                      f"{type_name(b)}")
    top = max(NUMERIC_ORDER[ta], NUMERIC_ORDER[tb])
    return top


def add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a + b
        if INT_MIN <= r <= INT_MAX:
            return r
        return wrap32(r)
    if ta is str or tb is str or isinstance(a, str) or isinstance(b, str):
        # a Date concatenated to a String prints with its (midnight) time, as Apex does; a Datetime
        # prints in the user's time zone
        return _concat_str(a) + _concat_str(b)
    if ta is _dt.date and tb in (int, Long):
        return a + _dt.timedelta(days=int(b))
    if ta is _dt.datetime and tb in (int, Long, Decimal, float):
        return a + _dt.timedelta(days=float(b))
    if ta is _dt.time and tb in (int, Long):
        return (_dt.datetime.combine(_dt.date(2000, 1, 1), a) + _dt.timedelta(milliseconds=int(b))).time()
    top = _num_pair(a, b, "+")
    return _arith(top, a, b, "+")


def _arith(top: int, a: Any, b: Any, op: str) -> Any:
    if top == 0:
        r = a + b if op == "+" else a - b if op == "-" else a * b
        return wrap32(r)
    if top == 1:
        r = int(a) + int(b) if op == "+" else int(a) - int(b) if op == "-" else int(a) * int(b)
        return wrap64(r)
    if top == 2:
        x, y = float(a), float(b)
        return x + y if op == "+" else x - y if op == "-" else x * y
    x, y = to_decimal(a), to_decimal(b)
    if op == "+":
        return EXACT_CONTEXT.add(x, y)
    if op == "-":
        return EXACT_CONTEXT.subtract(x, y)
    return EXACT_CONTEXT.multiply(x, y)


def sub(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a - b
        if INT_MIN <= r <= INT_MAX:
            return r
        return wrap32(r)
    if ta is _dt.date and tb in (int, Long):
        return a - _dt.timedelta(days=int(b))
    if ta is _dt.datetime and tb in (int, Long, Decimal, float):
        return a - _dt.timedelta(days=float(b))
    top = _num_pair(a, b, "-")
    return _arith(top, a, b, "-")


def mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        r = a * b
        if INT_MIN <= r <= INT_MAX:
            return r
        return wrap32(r)
    top = _num_pair(a, b, "*")
    return _arith(top, a, b, "*")


def div(a: Any, b: Any) -> Any:
    top = _num_pair(a, b, "/")
    if b == 0:
        throw("System.MathException", "Divide by 0")
    if top <= 1:
        q = abs(int(a)) // abs(int(b))
        if (a < 0) != (b < 0):
            q = -q
        return wrap32(q) if top == 0 else wrap64(q)
    if top == 2:
        return float(a) / float(b)
    try:
        r = DECIMAL_CONTEXT.divide(to_decimal(a), to_decimal(b))
    except InvalidOperation:
        throw("System.MathException", "Invalid decimal division")
    return r


def neg(a: Any) -> Any:
    t = type(a)
    if t is int:
        return wrap32(-a)
    if t is Long:
        return wrap64(-int(a))
    if t is float or t is Decimal:
        return -a
    if a is None:
        npe()
    throw("System.TypeException", f"Arithmetic expressions must use numeric arguments: {type_name(a)}")


def bitop(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        npe()
    if type(a) is bool and type(b) is bool:
        if op == "&":
            return a and b
        if op == "|":
            return a or b
        if op == "^":
            return a != b
    is_long = type(a) is Long or type(b) is Long
    x, y = int(a), int(b)
    if op == "&":
        r = x & y
    elif op == "|":
        r = x | y
    elif op == "^":
        r = x ^ y
    elif op == "<<":
        r = x << (y & (63 if is_long else 31))
    elif op == ">>":
        r = x >> (y & (63 if is_long else 31))
    elif op == ">>>":
        bits = 64 if is_long else 32
        r = (x & ((1 << bits) - 1)) >> (y & (bits - 1))
    else:
        raise AssertionError(op)
    return wrap64(r) if is_long else wrap32(r)


def truthy(v: Any) -> bool:
    if v is None:
        npe()
    return v


def iterate(c: Any):
    if c is None:
        npe()
    if isinstance(c, ApexSet):
        return list(c.d)
    if isinstance(c, (list, tuple)):
        return c
    it = getattr(c, "apex_iter", None)
    if it is not None:
        return it()
    if isinstance(c, ApexObject):
        return CURRENT.prog.iterate_object(c)
    throw("System.TypeException", f"Cannot iterate over {type_name(c)}")
    return ()


# Collections and enums (moved from stdlib, which re-exports them: the expressions use them too)


def list_get(lst: Any, i: Any) -> Any:
    if lst is None or i is None:
        npe()
    if not isinstance(lst, list):
        throw("System.TypeException", "Only lists support index access")
    if not 0 <= i < len(lst):
        throw("System.ListException", f"List index out of bounds: {i}")
    return lst[i]


def list_set(lst: Any, i: Any, v: Any) -> None:
    if lst is None or i is None:
        npe()
    if not 0 <= i < len(lst):
        throw("System.ListException", f"List index out of bounds: {i}")
    co = coercer(lst.etype) if lst.etype is not None else None
    lst[i] = co(v) if co is not None and v is not None else v


def deep_clone(v: Any) -> Any:
    if isinstance(v, ApexList):
        return ApexList([deep_clone(x) for x in v], v.etype)
    if isinstance(v, ApexMap):
        return ApexMap(((k, deep_clone(x)) for k, x in v.items()), v.ktype, v.vtype)
    if isinstance(v, ApexSet):
        return ApexSet(v.d, v.etype)
    if isinstance(v, SObject):
        c = v.clone_record(True)
        return c
    return v


def enum_value_of(enum: Any, name: Any) -> Any:
    if name is None:
        return None
    ev = enum.enum_values.get(str(name).lower())
    if ev is None or ev.name != name:
        throw("System.NoSuchElementException", f"No enum constant {enum.name}.{name}")
    return ev
