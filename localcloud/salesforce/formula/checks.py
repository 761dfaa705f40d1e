"""Typed compiled expressions and the build-time type checks shared by operators and functions."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable, Iterable

from .errors import FormulaRuntimeError, FormulaTypeError
from .parser import FieldRef, Node
from .types import Env, Field, FType, normalize, type_of_value

Fn = Callable[[Env], Any]
NUMERIC_LIKE = (FType.NUMBER,)


@dataclass(frozen=True)
class Typed:
    """A compiled expression: its type, its evaluator and (for a plain reference) its field."""

    ftype: FType
    fn: Fn
    node: Node
    field: Field | None = None

    @property
    def ref_name(self) -> str:
        return self.node.name if isinstance(self.node, FieldRef) else ""


def loose(t: FType) -> bool:
    return t in (FType.NULL, FType.ANY)


def picklist_error(arg: Typed) -> FormulaTypeError:
    name = arg.ref_name or "expression"
    kind = "picklist" if arg.ftype is FType.PICKLIST else "multi-select picklist"
    return FormulaTypeError(f"Field {name} is a {kind} field. {kind.capitalize()} fields are only supported in "
                            "certain functions.", position=arg.node.pos)


def expect(what: str, arg: Typed, allowed: Iterable[FType]) -> None:
    """Fail unless ``arg`` has one of ``allowed`` types (Null and Any always pass)."""
    allowed = tuple(allowed)
    if arg.ftype in allowed or loose(arg.ftype):
        return
    if arg.ftype in (FType.PICKLIST, FType.MULTIPICKLIST):
        raise picklist_error(arg)
    expected = ", ".join(str(t) for t in allowed)
    raise FormulaTypeError(f"Incorrect parameter type for {what}. Expected {expected}, received {arg.ftype}",
                           position=arg.node.pos)


def unify(what: str, args: list[Typed]) -> FType:
    """The common type of branch results (IF, CASE, BLANKVALUE): Null and Any give way."""
    result = FType.NULL
    for a in args:
        if a.ftype in (FType.PICKLIST, FType.MULTIPICKLIST):
            raise picklist_error(a)
        if a.ftype is FType.NULL:
            continue
        if result is FType.NULL or result is FType.ANY:
            result = a.ftype if result is FType.NULL or a.ftype is not FType.ANY else result
            continue
        if a.ftype is not result and a.ftype is not FType.ANY:
            raise FormulaTypeError(f"Incorrect parameter type for {what}. Expected {result}, received {a.ftype}",
                                   position=a.node.pos)
    return result


def runtime_check(ftype: FType, fn: Fn, node: Node) -> Fn:
    """For a reference typed Any: check the read value's type when used as ``ftype``."""
    if ftype in (FType.ANY, FType.NULL):
        return fn

    def checked(env: Env) -> Any:
        v = normalize(fn(env))
        actual = type_of_value(v)
        if actual is FType.NULL or actual is ftype or (ftype in (FType.PICKLIST, FType.MULTIPICKLIST)
                                                      and actual is FType.TEXT):
            return v
        raise FormulaRuntimeError(f"Expected {ftype}, received {actual}", position=node.pos)
    return checked


def as_type(arg: Typed, ftype: FType) -> Fn:
    """The evaluator of ``arg`` used where ``ftype`` is expected (Any checked when read)."""
    return runtime_check(ftype, arg.fn, arg.node) if arg.ftype is FType.ANY else arg.fn


def blank(v: Any) -> bool:
    return v is None or v == ""


def text(v: Any) -> str:
    """Text for concatenation and text functions (blank is '')."""
    return "" if v is None else v


def format_number(v: Decimal) -> str:
    if v == v.to_integral_value():
        return str(v.quantize(Decimal(1)))
    return format(v.normalize(), "f")


def format_value(v: Any) -> str | None:
    """TEXT(): how a value is shown as text."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return format_number(v)
    if isinstance(v, _dt.datetime):
        return v.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, _dt.time):
        return v.strftime("%H:%M:%S.") + f"{v.microsecond // 1000:03d}"
    return str(v)
