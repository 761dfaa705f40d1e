"""The formula functions: argument checks at build time, evaluation on each record.

Blank arguments: text functions treat blank text as ''; number, date and time functions return
blank for a blank argument (ROUND(NULL, 0) is blank); ISBLANK/BLANKVALUE test blank text, numbers,
dates; ISNULL of a Text value is always false (Salesforce: text is never null, use ISBLANK).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import decimal
import math
import re
from decimal import Decimal
from typing import Any, Callable

from .checks import Typed, as_type, blank, expect, format_number, format_value, picklist_error, text, unify
from .errors import FormulaRuntimeError, FormulaTypeError
from .parser import Call, FieldRef, Node
from .types import Env, FType, normalize

NUMBER_CONTEXT = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_UP)
Builder = Callable[[Any, Call, list[Node], Callable[[Any, Node], Typed]], Typed]
FUNCTIONS: dict[str, Builder] = {}

N, T, B, D, DT, TM = FType.NUMBER, FType.TEXT, FType.BOOLEAN, FType.DATE, FType.DATETIME, FType.TIME
PK, MPK = FType.PICKLIST, FType.MULTIPICKLIST


def compile_call(ctx: Any, node: Call, compile_node: Callable[[Any, Node], Typed]) -> Typed:
    builder = FUNCTIONS.get(node.name)
    if builder is None:
        raise FormulaTypeError(f"Unknown function {node.name}. Check spelling.", position=node.pos)
    return builder(ctx, node, list(node.args), compile_node)


def _arity(node: Call, lo: int, hi: int | None) -> None:
    n = len(node.args)
    if n < lo or (hi is not None and n > hi):
        expected = str(lo) if hi == lo else f"{lo} or more" if hi is None else f"{lo} to {hi}"
        raise FormulaTypeError(f"Incorrect number of parameters for function '{node.name}()'. Expected {expected}, "
                               f"received {n}", position=node.pos)


def _fail(node: Node, message: str) -> FormulaRuntimeError:
    return FormulaRuntimeError(message, position=node.pos)


def simple(name: str, params: list[tuple[FType, ...]], result: FType, impl: Callable[..., Any],
           optional: int = 0) -> None:
    """A function whose arguments are all evaluated: ``impl(node, *values)``."""
    def build(ctx: Any, node: Call, args: list[Node], compile_node: Callable[[Any, Node], Typed]) -> Typed:
        _arity(node, len(params) - optional, len(params))
        typed = [compile_node(ctx, a) for a in args]
        fns = []
        for p, t in zip(params, typed):
            expect(f"function '{name}()'", t, p)
            fns.append(as_type(t, p[0]) if len(p) == 1 else t.fn)

        def fn(env: Env) -> Any:
            return impl(node, *[f(env) for f in fns])
        return Typed(result, fn, node)
    FUNCTIONS[name] = build


# ------------------------------------------------------------------------------------------ logical
def _if(ctx, node, args, compile_node):
    _arity(node, 3, 3)
    cond, yes, no = (compile_node(ctx, a) for a in args)
    expect("function 'IF()'", cond, (B,))
    t = unify("function 'IF()'", [yes, no])
    c, y, n = as_type(cond, B), yes.fn, no.fn
    return Typed(t, lambda env: y(env) if c(env) else n(env), node)


def _case(ctx, node, args, compile_node):
    if len(args) < 4 or len(args) % 2:
        raise FormulaTypeError(f"Incorrect number of parameters for function 'CASE()'. Expected "
                               f"{max(4, len(args) + 1)}, received {len(args)}", position=node.pos)
    subject = compile_node(ctx, args[0])
    typed = [compile_node(ctx, a) for a in args[1:]]
    keys, results = typed[0:-1:2], typed[1:-1:2] + [typed[-1]]
    key_type = T if subject.ftype is PK else subject.ftype
    if subject.ftype is MPK:
        raise picklist_error(subject)
    if key_type in (FType.ANY, FType.NULL):
        unify("function 'CASE()'", keys)  # the subject's type is known when read: the keys agree
    else:
        for k in keys:
            expect("function 'CASE()'", k, (key_type,))
    t = unify("function 'CASE()'", results)
    sf, kfs, rfs = subject.fn, [k.fn for k in keys], [r.fn for r in results]

    def fn(env: Env) -> Any:
        v = sf(env)
        for kf, rf in zip(kfs, rfs):
            k = kf(env)
            if (blank(v) and blank(k)) or (not blank(v) and v == k):
                return rf(env)
        return rfs[-1](env)
    return Typed(t, fn, node)


def _variadic(ctx, node: Call, args: list[Node], compile_node, ftype: FType) -> list[Callable[[Env], Any]]:
    """One or more arguments, all of ``ftype``: their evaluators."""
    _arity(node, 1, None)
    typed = [compile_node(ctx, a) for a in args]
    for t in typed:
        expect(f"function '{node.name}()'", t, (ftype,))
    return [as_type(t, ftype) for t in typed]


def _and_or(name: str) -> Builder:
    def build(ctx, node, args, compile_node):
        fns = _variadic(ctx, node, args, compile_node, B)
        if name == "AND":
            return Typed(B, lambda env: all(bool(f(env)) for f in fns), node)
        return Typed(B, lambda env: any(bool(f(env)) for f in fns), node)
    return build


def _blank_test(name: str) -> Builder:
    def build(ctx, node, args, compile_node):
        _arity(node, 1, 1)
        arg = compile_node(ctx, args[0])
        f = arg.fn
        if name == "ISNULL" and arg.ftype is T:
            return Typed(B, lambda env: False, node)
        test = blank if name == "ISBLANK" else (lambda v: v is None)
        return Typed(B, lambda env: test(f(env)), node)
    return build


def _blank_value(name: str) -> Builder:
    def build(ctx, node, args, compile_node):
        _arity(node, 2, 2)
        value, substitute = (compile_node(ctx, a) for a in args)
        t = unify(f"function '{name}()'", [value, substitute])
        vf, sf = value.fn, substitute.fn
        test = blank if name == "BLANKVALUE" else (lambda v: v is None)

        def fn(env: Env) -> Any:
            v = vf(env)
            return sf(env) if test(v) else v
        return Typed(t, fn, node)
    return build


def _ispickval(ctx, node, args, compile_node):
    _arity(node, 2, 2)
    field, literal = (compile_node(ctx, a) for a in args)
    expect("function 'ISPICKVAL()'", field, (PK,))
    expect("function 'ISPICKVAL()'", literal, (T,))
    ff, lf = field.fn, literal.fn
    return Typed(B, lambda env: text(ff(env)) == text(lf(env)), node)


def _includes(ctx, node, args, compile_node):
    _arity(node, 2, 2)
    field, literal = (compile_node(ctx, a) for a in args)
    expect("function 'INCLUDES()'", field, (MPK,))
    expect("function 'INCLUDES()'", literal, (T,))
    ff, lf = field.fn, literal.fn

    def fn(env: Env) -> bool:
        want = text(lf(env))
        return bool(want) and want in text(ff(env)).split(";")
    return Typed(B, fn, node)


def _text_fn(ctx, node, args, compile_node):
    _arity(node, 1, 1)
    arg = compile_node(ctx, args[0])
    expect("function 'TEXT()'", arg, (N, T, B, D, DT, TM, PK))
    f = arg.fn
    return Typed(T, lambda env: format_value(f(env)), node)


def _field_arg(ctx, node: Call, args: list[Node], compile_node) -> Typed:
    if not isinstance(args[0], FieldRef):
        raise FormulaTypeError(f"Function {node.name} may only be used with a field as its argument",
                               position=args[0].pos)
    arg = compile_node(ctx, args[0])
    if arg.field is None or arg.node.path[0].startswith("$"):
        raise FormulaTypeError(f"Function {node.name} may only be used with a field of the record",
                               position=args[0].pos)
    return arg


def _ischanged(ctx, node, args, compile_node):
    _arity(node, 1, 1)
    arg = _field_arg(ctx, node, args, compile_node)
    read = arg.field.read

    def fn(env: Env) -> bool:
        if env.prior is None:
            return False
        now, before = normalize(read(env.root)), normalize(read(env.prior))
        return not ((blank(now) and blank(before)) or now == before)
    return Typed(B, fn, node)


def _priorvalue(ctx, node, args, compile_node):
    _arity(node, 1, 1)
    arg = _field_arg(ctx, node, args, compile_node)
    read, current = arg.field.read, arg.fn
    return Typed(arg.ftype, lambda env: current(env) if env.prior is None else normalize(read(env.prior)), node)


def _isnew(ctx, node, args, compile_node):
    _arity(node, 0, 0)
    return Typed(B, lambda env: bool(env.is_new), node)


FUNCTIONS.update({
    "IF": _if, "CASE": _case, "AND": _and_or("AND"), "OR": _and_or("OR"),
    "ISBLANK": _blank_test("ISBLANK"), "ISNULL": _blank_test("ISNULL"),
    "BLANKVALUE": _blank_value("BLANKVALUE"), "NULLVALUE": _blank_value("NULLVALUE"),
    "ISPICKVAL": _ispickval, "INCLUDES": _includes, "TEXT": _text_fn,
    "ISCHANGED": _ischanged, "PRIORVALUE": _priorvalue, "ISNEW": _isnew,
})
simple("NOT", [(B,)], B, lambda n, v: not v)


# --------------------------------------------------------------------------------------------- text
def _int_arg(node: Node, v: Decimal | None, what: str) -> int | None:
    if v is None:
        return None
    return int(v.to_integral_value(rounding=decimal.ROUND_DOWN))


def _value(node, s):
    if blank(s):
        return None
    try:
        return Decimal(s.strip().replace(",", ""))
    except decimal.InvalidOperation:
        raise _fail(node, f"VALUE: '{s}' is not a number") from None


def _is_number(node, s):
    if blank(s):
        return False
    try:
        return Decimal(s.strip()).is_finite()
    except decimal.InvalidOperation:
        return False


def _left(node, s, n):
    n = _int_arg(node, n, "LEFT")
    return None if n is None else text(s)[:max(n, 0)]


def _right(node, s, n):
    n = _int_arg(node, n, "RIGHT")
    return None if n is None else (text(s)[-n:] if n > 0 else "")


def _mid(node, s, start, n):
    start, n = _int_arg(node, start, "MID"), _int_arg(node, n, "MID")
    if start is None or n is None:
        return None
    begin = max(start, 1) - 1
    return text(s)[begin:begin + max(n, 0)]


def _find(node, needle, hay, start=None):
    needle, hay = text(needle), text(hay)
    begin = 1 if start is None else _int_arg(node, start, "FIND")
    if not needle or begin is None or begin < 1:
        return Decimal(0)
    return Decimal(hay.find(needle, begin - 1) + 1)


def _pad(left: bool):
    def impl(node, s, n, pad=None):
        n = _int_arg(node, n, "LPAD" if left else "RPAD")
        if n is None:
            return None
        s, pad = text(s), " " if pad is None else text(pad)
        if len(s) >= n or not pad:
            return s[:max(n, 0)]
        fill = (pad * n)[:n - len(s)]
        return fill + s if left else s + fill
    return impl


def _regex(node, s, pattern):
    try:
        return re.fullmatch(text(pattern), text(s)) is not None
    except re.error as e:
        raise _fail(node, f"REGEX: invalid pattern '{pattern}': {e}") from None


def _hyperlink(node, url, label, target=None):
    attr = f' target="{text(target)}"' if target is not None else ' target="_blank"'
    return f'<a href="{text(url)}"{attr}>{text(label)}</a>'


simple("LEN", [(T,)], N, lambda n, s: Decimal(len(text(s))))
simple("LEFT", [(T,), (N,)], T, _left)
simple("RIGHT", [(T,), (N,)], T, _right)
simple("MID", [(T,), (N,), (N,)], T, _mid)
simple("UPPER", [(T,), (T,)], T, lambda n, s, locale=None: text(s).upper(), optional=1)
simple("LOWER", [(T,), (T,)], T, lambda n, s, locale=None: text(s).lower(), optional=1)
simple("TRIM", [(T,)], T, lambda n, s: text(s).strip(" \t\r\n"))
simple("CONTAINS", [(T,), (T,)], B, lambda n, s, part: text(part) in text(s))
simple("BEGINS", [(T,), (T,)], B, lambda n, s, part: text(s).startswith(text(part)))
simple("FIND", [(T,), (T,), (N,)], N, _find, optional=1)
simple("SUBSTITUTE", [(T,), (T,), (T,)], T,
       lambda n, s, old, new: text(s).replace(text(old), text(new)) if text(old) else text(s))
simple("LPAD", [(T,), (N,), (T,)], T, _pad(True), optional=1)
simple("RPAD", [(T,), (N,), (T,)], T, _pad(False), optional=1)
simple("VALUE", [(T,)], N, _value)
simple("ISNUMBER", [(T,)], B, _is_number)
simple("REGEX", [(T,), (T,)], B, _regex)
simple("HYPERLINK", [(T,), (T,), (T,)], T, _hyperlink, optional=1)
simple("BR", [], T, lambda n: "<br>")


# --------------------------------------------------------------------------------------------- math
def _round(node, v, digits):
    if v is None or digits is None:
        return None
    return v.quantize(Decimal(1).scaleb(-int(digits)), rounding=decimal.ROUND_HALF_UP, context=NUMBER_CONTEXT) \
        if int(digits) >= 0 else v.scaleb(int(digits)).quantize(Decimal(1), rounding=decimal.ROUND_HALF_UP) \
        .scaleb(-int(digits))


def _integral(mode: str):
    return lambda node, v: None if v is None else v.to_integral_value(rounding=mode)


def _mod(node, v, d):
    if v is None or d is None:
        return None
    if d == 0:
        raise _fail(node, "Division by zero")
    return NUMBER_CONTEXT.remainder(v, d)


def _sqrt(node, v):
    if v is None:
        return None
    if v < 0:
        raise _fail(node, f"SQRT: the square root of a negative number ({format_number(v)})")
    return v.sqrt(NUMBER_CONTEXT)


def _extreme(pick):
    def build(ctx, node, args, compile_node):
        fns = _variadic(ctx, node, args, compile_node, N)

        def fn(env: Env) -> Any:
            values = [f(env) for f in fns]
            return None if any(v is None for v in values) else pick(values)
        return Typed(N, fn, node)
    return build


def _math(name: str, op: Callable[[float], float]):
    def impl(node, v):
        if v is None:
            return None
        try:
            return Decimal(repr(op(float(v))))
        except (ValueError, OverflowError):
            raise _fail(node, f"{name}: invalid argument {format_number(v)}") from None
    return impl


simple("ROUND", [(N,), (N,)], N, _round)
simple("FLOOR", [(N,)], N, _integral(decimal.ROUND_DOWN))       # towards zero if negative
simple("CEILING", [(N,)], N, _integral(decimal.ROUND_UP))       # away from zero if negative
simple("MFLOOR", [(N,)], N, _integral(decimal.ROUND_FLOOR))
simple("MCEILING", [(N,)], N, _integral(decimal.ROUND_CEILING))
simple("ABS", [(N,)], N, lambda n, v: None if v is None else abs(v))
simple("MOD", [(N,), (N,)], N, _mod)
simple("SQRT", [(N,)], N, _sqrt)
simple("EXP", [(N,)], N, lambda n, v: None if v is None else v.exp(NUMBER_CONTEXT))
simple("LN", [(N,)], N, _math("LN", math.log))
simple("LOG", [(N,)], N, _math("LOG", math.log10))
FUNCTIONS["MAX"] = _extreme(max)
FUNCTIONS["MIN"] = _extreme(min)


# --------------------------------------------------------------------------------------- date, time
def _today(ctx, node, args, compile_node):
    _arity(node, 0, 0)
    return Typed(D, lambda env: env.today_date(), node)


def _now(ctx, node, args, compile_node):
    _arity(node, 0, 0)
    return Typed(DT, lambda env: env.now, node)


def _date(node, y, m, d):
    if y is None or m is None or d is None:
        return None
    try:
        return _dt.date(int(y), int(m), int(d))
    except ValueError:
        raise _fail(node, f"DATE: {format_number(y)}-{format_number(m)}-{format_number(d)} is not a valid date") \
            from None


def _datevalue(node, v):
    if blank(v):
        return None
    if isinstance(v, _dt.datetime):
        return v.astimezone(_dt.timezone.utc).date()
    if isinstance(v, _dt.date):
        return v
    try:
        return _dt.date.fromisoformat(str(v).strip()[:10])
    except ValueError:
        raise _fail(node, f"DATEVALUE: '{v}' is not a date (YYYY-MM-DD)") from None


def _datetimevalue(node, v):
    if blank(v):
        return None
    if isinstance(v, _dt.datetime):
        return v
    if isinstance(v, _dt.date):
        return _dt.datetime(v.year, v.month, v.day, tzinfo=_dt.timezone.utc)
    s = str(v).strip().rstrip("Z")
    try:
        parsed = _dt.datetime.fromisoformat(s.replace(" ", "T")) if len(s) > 10 else _dt.datetime.fromisoformat(s)
    except ValueError:
        raise _fail(node, f"DATETIMEVALUE: '{v}' is not a date/time (YYYY-MM-DD HH:MM:SS)") from None
    return parsed.replace(tzinfo=_dt.timezone.utc) if parsed.tzinfo is None else parsed


def _addmonths(node, v, n):
    if v is None or n is None:
        return None
    months = int(n)
    base = v.date() if isinstance(v, _dt.datetime) else v
    total = base.year * 12 + base.month - 1 + months
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise _fail(node, "ADDMONTHS: date out of range")
    last = calendar.monthrange(year, month)[1]
    last_of_month = base.day == calendar.monthrange(base.year, base.month)[1]
    day = last if last_of_month else min(base.day, last)
    return v.replace(year=year, month=month, day=day) if isinstance(v, _dt.datetime) else _dt.date(year, month, day)


def _part(attr: str):
    return lambda node, v: None if v is None else Decimal(getattr(v, attr))


FUNCTIONS["TODAY"] = _today
FUNCTIONS["NOW"] = _now
simple("DATE", [(N,), (N,), (N,)], D, _date)
simple("DATEVALUE", [(T, DT, D)], D, _datevalue)
simple("DATETIMEVALUE", [(T, D, DT)], DT, _datetimevalue)
simple("YEAR", [(D,)], N, _part("year"))
simple("MONTH", [(D,)], N, _part("month"))
simple("DAY", [(D,)], N, _part("day"))
simple("WEEKDAY", [(D,)], N, lambda n, v: None if v is None else Decimal(v.isoweekday() % 7 + 1))
simple("HOUR", [(TM,)], N, _part("hour"))
simple("MINUTE", [(TM,)], N, _part("minute"))
simple("SECOND", [(TM,)], N, _part("second"))


def _addmonths_fn(ctx, node, args, compile_node):
    _arity(node, 2, 2)
    start, months = (compile_node(ctx, a) for a in args)
    expect("function 'ADDMONTHS()'", start, (D, DT))
    expect("function 'ADDMONTHS()'", months, (N,))
    sf, mf = start.fn, as_type(months, N)
    return Typed(DT if start.ftype is DT else D, lambda env: _addmonths(node, sf(env), mf(env)), node)


FUNCTIONS["ADDMONTHS"] = _addmonths_fn


def _timevalue(node, v):
    if blank(v):
        return None
    if isinstance(v, _dt.datetime):
        return v.astimezone(_dt.timezone.utc).time()
    try:
        return _dt.time.fromisoformat(str(v).strip())
    except ValueError:
        raise _fail(node, f"TIMEVALUE: '{v}' is not a time (HH:MM:SS.MS)") from None


simple("TIMEVALUE", [(T, DT)], TM, _timevalue)
