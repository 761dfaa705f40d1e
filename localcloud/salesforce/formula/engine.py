"""Build a formula once (parse, resolve references, type-check), evaluate it per record."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from .checks import Typed, format_value, picklist_error, text
from .compiler import Context, compile_node
from .errors import FormulaError, FormulaRuntimeError, FormulaTypeError
from .parser import parse, parse_template
from .types import Env, FType, SimpleField, mapping_reader

_COMPATIBLE = {FType.NULL, FType.ANY}


class Formula:
    """A built formula. ``result_type`` is the declared (or, without one, the inferred) type;
    ``referenced_fields`` the references it reads, as written, in order of appearance."""

    def __init__(self, source: str, typed: Typed | list[tuple[str, Typed | None]], result_type: FType,
                 referenced: list[str]) -> None:
        self.source = source
        self._typed = typed
        self.result_type = result_type
        self.referenced_fields = tuple(referenced)

    def evaluate(self, root: Any = None, *, prior: Any = None, is_new: bool = False,
                 now: _dt.datetime | None = None, today: _dt.date | None = None) -> Any:
        env = Env(root, prior, is_new, now or _dt.datetime.now(_dt.timezone.utc), today)
        return self.evaluate_env(env)

    def evaluate_env(self, env: Env) -> Any:
        try:
            if isinstance(self._typed, list):
                return "".join(lit if t is None else text(format_value(t.fn(env))) for lit, t in self._typed)
            value = self._typed.fn(env)
        except FormulaError as e:
            raise e.located(self.source)
        except RecursionError:
            raise FormulaRuntimeError("Formula is too deeply nested", self.source) from None
        except (TypeError, ValueError, ArithmeticError, OverflowError) as e:
            # values of references typed Any that the operation cannot take
            raise FormulaRuntimeError(f"Cannot evaluate: {e}", self.source) from None
        if self.result_type is FType.TEXT and value == "":
            return None  # blank text is null, as Salesforce returns it
        return value


def build(source: str, resolver: Any, return_type: FType | None = None, *, null_as_zero: bool = False,
          template: bool = False) -> Formula:
    """Parse and type-check ``source``. Raises ``FormulaValidationError`` (naming the formula and the
    column) for a syntax error, an unknown field or function, or a type mismatch, including a result
    that is not ``return_type``."""
    ctx = Context(resolver, null_as_zero)
    try:
        if template:
            parts = [(lit, None if node is None else compile_node(ctx, node)) for lit, node in parse_template(source)]
            for _, t in parts:
                if t is not None and t.ftype is FType.MULTIPICKLIST:
                    raise picklist_error(t)
            _check_result(FType.TEXT, return_type)
            return Formula(source, parts, FType.TEXT, ctx.referenced)
        typed = compile_node(ctx, parse(source))
        if typed.ftype in (FType.PICKLIST, FType.MULTIPICKLIST):
            raise picklist_error(typed)
        _check_result(typed.ftype, return_type)
    except FormulaError as e:
        raise e.located(source) from None
    except RecursionError:
        raise FormulaTypeError("Formula is too deeply nested", source) from None
    result = return_type if return_type is not None and typed.ftype in _COMPATIBLE else typed.ftype
    return Formula(source, typed, result, ctx.referenced)


def _check_result(actual: FType, expected: FType | None) -> None:
    if expected is None or actual in _COMPATIBLE or expected in _COMPATIBLE or actual is expected:
        return
    raise FormulaTypeError(f"Formula result is data type ({actual}), incompatible with expected data type "
                           f"({expected}).", position=0)


class MappingResolver:
    """References into nested mappings: ``types`` maps a dotted path (case-insensitive) to its type;
    reading walks the mapping keys case-insensitively, a missing step reads as blank."""

    def __init__(self, types: Mapping[str, FType]) -> None:
        self.types = {k.lower(): v for k, v in types.items()}

    def resolve(self, path: tuple[str, ...]) -> SimpleField | None:
        t = self.types.get(".".join(path).lower())
        if t is None:
            return None
        return SimpleField(t, mapping_reader(path))
