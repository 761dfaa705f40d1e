"""Type-check a parsed formula and turn it into Python closures.

Every type error is found here, before any record is read (Salesforce validates formulas when they
are saved). Operators:

- ``+``: Number + Number; Text + Text (concatenation); Date + Number (days) -> Date; DateTime + Number
  (days, fractions allowed) -> DateTime; Time + Number (milliseconds) -> Time.
- ``-``: as ``+`` (no Text), and Date - Date / DateTime - DateTime -> Number (days), Time - Time ->
  Number (milliseconds).
- ``* / ^``: Numbers. Division by zero fails when evaluated.
- ``&``: Text & Text.
- ``= == != <>``: two values of one type (text compared case-sensitively, blank text equal to NULL);
  ``< > <= >=``: Numbers, Text, Dates, DateTimes or Times; a comparison with a blank operand is false.
- ``&& || !``: Booleans (a blank Boolean is false).

A blank Number makes arithmetic blank, unless blank numbers are treated as zeroes (``null_as_zero``,
the "Treat blank fields as zeroes" setting of formula fields and ``treatNumericNullAsZero`` in Apex).
"""

from __future__ import annotations

import datetime as _dt
import decimal
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import functions
from .checks import Typed, as_type, blank, expect, loose, picklist_error, text
from .errors import FormulaError, FormulaRuntimeError, FormulaTypeError
from .parser import Binary, Call, FieldRef, Literal, Node, Unary
from .types import Env, FType, Resolver, normalize

NUMBER_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_UP)
_ZERO = Decimal(0)
_DAY_MS = Decimal(86_400_000)


@dataclass
class Context:
    resolver: Resolver
    null_as_zero: bool = False
    referenced: list[str] = field(default_factory=list)

    def note(self, name: str) -> None:
        if name not in self.referenced:
            self.referenced.append(name)


def compile_node(ctx: Context, node: Node) -> Typed:
    if isinstance(node, Literal):
        return _literal(node)
    if isinstance(node, FieldRef):
        return compile_field(ctx, node)
    if isinstance(node, Unary):
        return _unary(ctx, node)
    if isinstance(node, Binary):
        return _binary(ctx, node)
    assert isinstance(node, Call)
    return functions.compile_call(ctx, node, compile_node)


def _literal(node: Literal) -> Typed:
    v = node.value
    t = (FType.NULL if v is None else FType.BOOLEAN if isinstance(v, bool) else
         FType.NUMBER if isinstance(v, Decimal) else FType.TEXT)
    return Typed(t, lambda env: v, node)


def compile_field(ctx: Context, node: FieldRef) -> Typed:
    try:
        fld = ctx.resolver.resolve(node.path)
    except FormulaError as e:
        if e.position is None:
            e.position = node.pos
        raise
    if fld is None:
        raise FormulaTypeError(f"Field {node.name} does not exist. Check spelling.", position=node.pos)
    ctx.note(node.name)
    read = fld.read
    if fld.ftype is FType.NUMBER and ctx.null_as_zero:
        def fn(env: Env) -> Any:
            v = normalize(read(env.root))
            return _ZERO if v is None else v
    else:
        def fn(env: Env) -> Any:
            return normalize(read(env.root))
    return Typed(fld.ftype, fn, node, fld)


def _unary(ctx: Context, node: Unary) -> Typed:
    arg = compile_node(ctx, node.operand)
    if node.op == "!":
        expect("operator '!'", arg, (FType.BOOLEAN,))
        f = as_type(arg, FType.BOOLEAN)
        return Typed(FType.BOOLEAN, lambda env: not f(env), node)
    expect(f"operator '{node.op}'", arg, (FType.NUMBER,))
    f = as_type(arg, FType.NUMBER)
    if node.op == "+":
        return Typed(FType.NUMBER, f, node)

    def neg(env: Env) -> Any:
        v = f(env)
        return None if v is None else -v
    return Typed(FType.NUMBER, neg, node)


def _binary(ctx: Context, node: Binary) -> Typed:
    left, right = compile_node(ctx, node.left), compile_node(ctx, node.right)
    op = node.op
    if op in ("&&", "||"):
        return _logical(node, left, right)
    if op in ("=", "==", "!=", "<>"):
        return _equality(node, left, right)
    if op in ("<", ">", "<=", ">="):
        return _ordering(node, left, right)
    if op == "&":
        return _concat(node, left, right)
    return _arith(node, left, right)


def _logical(node: Binary, left: Typed, right: Typed) -> Typed:
    what = f"operator '{node.op}'"
    expect(what, left, (FType.BOOLEAN,))
    expect(what, right, (FType.BOOLEAN,))
    lf, rf = as_type(left, FType.BOOLEAN), as_type(right, FType.BOOLEAN)
    if node.op == "&&":
        return Typed(FType.BOOLEAN, lambda env: bool(lf(env)) and bool(rf(env)), node)
    return Typed(FType.BOOLEAN, lambda env: bool(lf(env)) or bool(rf(env)), node)


def _common(what: str, left: Typed, right: Typed) -> FType:
    for a in (left, right):
        if a.ftype in (FType.PICKLIST, FType.MULTIPICKLIST):
            raise picklist_error(a)
    if loose(left.ftype):
        return right.ftype
    if loose(right.ftype) or left.ftype is right.ftype:
        return left.ftype
    raise FormulaTypeError(f"Incorrect parameter type for {what}. Expected {left.ftype}, received {right.ftype}",
                           position=right.node.pos)


def _same(a: Any, b: Any) -> bool:
    if blank(a) or blank(b):
        return blank(a) and blank(b)
    if isinstance(a, _dt.datetime) != isinstance(b, _dt.datetime):
        raise FormulaRuntimeError("Cannot compare a Date with a DateTime")
    return a == b


def _equality(node: Binary, left: Typed, right: Typed) -> Typed:
    t = _common(f"operator '{node.op}'", left, right)
    lf, rf = as_type(left, t), as_type(right, t)
    if node.op in ("=", "=="):
        return Typed(FType.BOOLEAN, lambda env: _same(lf(env), rf(env)), node)
    return Typed(FType.BOOLEAN, lambda env: not _same(lf(env), rf(env)), node)


_ORDER = {"<": lambda c: c < 0, ">": lambda c: c > 0, "<=": lambda c: c <= 0, ">=": lambda c: c >= 0}


def _ordering(node: Binary, left: Typed, right: Typed) -> Typed:
    what = f"operator '{node.op}'"
    allowed = (FType.NUMBER, FType.TEXT, FType.DATE, FType.DATETIME, FType.TIME)
    expect(what, left, allowed)
    expect(what, right, allowed)
    t = _common(what, left, right)
    lf, rf = as_type(left, t), as_type(right, t)
    test = _ORDER[node.op]

    def fn(env: Env) -> bool:
        a, b = lf(env), rf(env)
        if blank(a) or blank(b):
            return False
        try:
            return test(-1 if a < b else 1 if a > b else 0)
        except TypeError:
            raise FormulaRuntimeError(f"Cannot compare {type(a).__name__} with {type(b).__name__}",
                                      position=node.op_pos) from None
    return Typed(FType.BOOLEAN, fn, node)


def _concat(node: Binary, left: Typed, right: Typed) -> Typed:
    expect("operator '&'", left, (FType.TEXT,))
    expect("operator '&'", right, (FType.TEXT,))
    lf, rf = as_type(left, FType.TEXT), as_type(right, FType.TEXT)
    return Typed(FType.TEXT, lambda env: text(lf(env)) + text(rf(env)), node)


# (operator, left type, right type) -> result type
_ARITH: dict[tuple[str, FType, FType], FType] = {
    **{(op, FType.NUMBER, FType.NUMBER): FType.NUMBER for op in "+-*/^"},
    ("+", FType.TEXT, FType.TEXT): FType.TEXT,
    ("+", FType.DATE, FType.NUMBER): FType.DATE, ("+", FType.NUMBER, FType.DATE): FType.DATE,
    ("-", FType.DATE, FType.NUMBER): FType.DATE, ("-", FType.DATE, FType.DATE): FType.NUMBER,
    ("+", FType.DATETIME, FType.NUMBER): FType.DATETIME, ("+", FType.NUMBER, FType.DATETIME): FType.DATETIME,
    ("-", FType.DATETIME, FType.NUMBER): FType.DATETIME, ("-", FType.DATETIME, FType.DATETIME): FType.NUMBER,
    ("+", FType.TIME, FType.NUMBER): FType.TIME, ("+", FType.NUMBER, FType.TIME): FType.TIME,
    ("-", FType.TIME, FType.NUMBER): FType.TIME, ("-", FType.TIME, FType.TIME): FType.NUMBER,
}


def _arith(node: Binary, left: Typed, right: Typed) -> Typed:
    op = node.op
    for a in (left, right):
        if a.ftype in (FType.PICKLIST, FType.MULTIPICKLIST):
            raise picklist_error(a)
    lt, rt = left.ftype, right.ftype
    if loose(lt) and loose(rt):
        result = FType.ANY if op in "+-" else FType.NUMBER
    elif loose(lt) or loose(rt):
        known = rt if loose(lt) else lt
        candidates = {r for (o, a, b), r in _ARITH.items() if o == op and known in ((b,) if loose(lt) else (a,))}
        if not candidates:
            raise FormulaTypeError(f"Incorrect parameter type for operator '{op}'. Expected Number, received "
                                   f"{known}", position=(right if loose(lt) else left).node.pos)
        result = candidates.pop() if len(candidates) == 1 else FType.ANY
    else:
        found = _ARITH.get((op, lt, rt))
        if found is None:
            bad = right if lt in (FType.NUMBER, FType.DATE, FType.DATETIME, FType.TIME) or \
                (lt is FType.TEXT and op == "+") else left
            expected = lt if bad is right and op == "+" and lt is FType.TEXT else FType.NUMBER
            raise FormulaTypeError(f"Incorrect parameter type for operator '{op}'. Expected {expected}, "
                                   f"received {bad.ftype}", position=bad.node.pos)
        result = found
    lf, rf = left.fn, right.fn
    if lt is FType.NUMBER and rt is FType.NUMBER and op in _FAST:
        return Typed(result, _fast_numbers(op, lf, rf, node), node)

    def fn(env: Env) -> Any:
        a, b = lf(env), rf(env)
        if op == "+" and (isinstance(a, str) or isinstance(b, str)):
            return text(a) + text(b)
        if a is None or b is None:
            return None
        return apply_arith(op, a, b, node)
    return Typed(result, fn, node)


_FAST = {"+": NUMBER_CONTEXT.add, "-": NUMBER_CONTEXT.subtract, "*": NUMBER_CONTEXT.multiply,
         "/": NUMBER_CONTEXT.divide}


def _fast_numbers(op: str, lf: Any, rf: Any, node: Binary) -> Any:
    """Number (op) Number, the common case, without the type dispatch of ``apply_arith``."""
    calc = _FAST[op]
    divide = op == "/"

    def fn(env: Env) -> Any:
        a = lf(env)
        if a is None:
            return None
        b = rf(env)
        if b is None:
            return None
        if divide and not b:
            raise FormulaRuntimeError("Division by zero", position=node.op_pos)
        return calc(a, b)
    return fn


def apply_arith(op: str, a: Any, b: Any, node: Node) -> Any:
    try:
        if isinstance(a, Decimal) and isinstance(b, Decimal):
            return _numbers(op, a, b, node)
        if op == "+" and isinstance(a, Decimal):
            a, b = b, a
        if isinstance(a, _dt.datetime):
            if isinstance(b, Decimal):
                delta = _dt.timedelta(milliseconds=int((b * _DAY_MS).to_integral_value()))
                return a + delta if op == "+" else a - delta
            if isinstance(b, _dt.datetime) and op == "-":
                return NUMBER_CONTEXT.divide(Decimal(int((a - b).total_seconds() * 1000)), _DAY_MS)
        elif isinstance(a, _dt.date):
            if isinstance(b, Decimal):
                days = _dt.timedelta(days=int(b))
                return a + days if op == "+" else a - days
            if isinstance(b, _dt.date) and not isinstance(b, _dt.datetime) and op == "-":
                return Decimal((a - b).days)
        elif isinstance(a, _dt.time):
            base = _dt.datetime.combine(_dt.date(2000, 1, 1), a)
            if isinstance(b, Decimal):
                delta = _dt.timedelta(milliseconds=int(b))
                return (base + delta if op == "+" else base - delta).time()
            if isinstance(b, _dt.time) and op == "-":
                ms = int((base - _dt.datetime.combine(_dt.date(2000, 1, 1), b)).total_seconds() * 1000)
                return Decimal(ms % 86_400_000)
    except OverflowError:
        raise FormulaRuntimeError("Date or time out of range", position=_op_pos(node)) from None
    raise FormulaRuntimeError(f"Incorrect parameter type for operator '{op}': {type(a).__name__} and "
                              f"{type(b).__name__}", position=_op_pos(node))


def _op_pos(node: Node) -> int:
    return node.op_pos if isinstance(node, Binary) else node.pos


def _numbers(op: str, a: Decimal, b: Decimal, node: Node) -> Decimal:
    if op == "+":
        return NUMBER_CONTEXT.add(a, b)
    if op == "-":
        return NUMBER_CONTEXT.subtract(a, b)
    if op == "*":
        return NUMBER_CONTEXT.multiply(a, b)
    if op == "/":
        if b == 0:
            raise FormulaRuntimeError("Division by zero", position=_op_pos(node))
        return NUMBER_CONTEXT.divide(a, b)
    try:
        if b == b.to_integral_value():
            return NUMBER_CONTEXT.power(a, int(b))
        return NUMBER_CONTEXT.power(a, b)
    except (decimal.InvalidOperation, decimal.DivisionByZero):
        raise FormulaRuntimeError(f"Invalid exponentiation: {a}^{b}", position=_op_pos(node)) from None
