"""Parse formula text into a tree.

Precedence, lowest first: ``||``; ``&&``; comparisons (``= == != <> < > <= >=``); ``&``; ``+ -``;
``* /``; unary ``-``/``+``/``!``; ``^``; then literals, field references, function calls and
parentheses. Names are case-insensitive; ``TRUE``, ``FALSE`` and ``NULL`` are literals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from .errors import FormulaSyntaxError
from .lexer import Token, tokenize


@dataclass(frozen=True)
class Node:
    pos: int


@dataclass(frozen=True)
class Literal(Node):
    value: object  # Decimal | str | bool | None


@dataclass(frozen=True)
class FieldRef(Node):
    path: tuple[str, ...]

    @property
    def name(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary(Node):
    """``pos`` is where the expression starts (its left operand), ``op_pos`` where the operator is."""

    op: str
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Call(Node):
    name: str  # upper case
    args: tuple[Node, ...]


_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",), ("&&",), ("=", "==", "!=", "<>", "<", ">", "<=", ">="), ("&",), ("+", "-"), ("*", "/"),
)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _error(self, tok: Token) -> FormulaSyntaxError:
        if tok.kind == "end":
            return FormulaSyntaxError("Syntax error. Extra or missing operand", self.text, tok.pos)
        shown = f'"{tok.text}"' if tok.kind == "string" else tok.text
        return FormulaSyntaxError(f"Syntax error. Found '{shown}'", self.text, tok.pos)

    def expect(self, op: str) -> Token:
        t = self.tok
        if t.kind != "op" or t.text != op:
            if t.kind == "end" and op == ")":
                raise FormulaSyntaxError("Syntax error. Missing ')'", self.text, t.pos)
            raise self._error(t)
        self.i += 1
        return t

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise FormulaSyntaxError("Syntax error. The formula is empty", self.text, 0)
        node = self.binary(0)
        if self.tok.kind != "end":
            raise self._error(self.tok)
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.text in _LEVELS[level]:
            t = self.tok
            self.i += 1
            right = self.binary(level + 1)
            left = Binary(left.pos, t.text, left, right, t.pos)
        return left

    def unary(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.text in ("-", "+", "!"):
            self.i += 1
            return Unary(t.pos, t.text, self.unary())
        return self.power()

    def power(self) -> Node:
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text == "^":
            t = self.tok
            self.i += 1
            return Binary(base.pos, "^", base, self.unary(), t.pos)
        return base

    def primary(self) -> Node:
        t = self.tok
        if t.kind == "number":
            self.i += 1
            return Literal(t.pos, Decimal(t.text))
        if t.kind == "string":
            self.i += 1
            return Literal(t.pos, t.text)
        if t.kind == "op" and t.text == "(":
            self.i += 1
            inner = self.binary(0)
            self.expect(")")
            return inner
        if t.kind == "name":
            self.i += 1
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(t)
            upper = t.text.upper()
            if upper in ("TRUE", "FALSE"):
                return Literal(t.pos, upper == "TRUE")
            if upper == "NULL":
                return Literal(t.pos, None)
            return FieldRef(t.pos, tuple(t.text.split(".")))
        raise self._error(t)

    def call(self, name: Token) -> Node:
        self.expect("(")
        args: list[Node] = []
        if not (self.tok.kind == "op" and self.tok.text == ")"):
            args.append(self.binary(0))
            while self.tok.kind == "op" and self.tok.text == ",":
                self.i += 1
                args.append(self.binary(0))
        self.expect(")")
        return Call(name.pos, name.text.upper(), tuple(args))


def parse(text: str) -> Node:
    return _Parser(text).parse()


def parse_template(text: str) -> list[tuple[str, Node | None]]:
    """A template: literal text with ``{!expression}`` merge fields. Returns ``(literal, None)`` and
    ``("", expression)`` parts in order; each expression keeps its position in ``text``."""
    parts: list[tuple[str, Node | None]] = []
    i = 0
    while True:
        start = text.find("{!", i)
        if start < 0:
            if i < len(text):
                parts.append((text[i:], None))
            return parts
        if start > i:
            parts.append((text[i:start], None))
        end = text.find("}", start)
        if end < 0:
            raise FormulaSyntaxError("Syntax error. Missing '}'", text, start)
        inner = text[start + 2:end]
        try:
            node = parse(inner)
        except FormulaSyntaxError as e:
            raise FormulaSyntaxError(e.message, text, start + 2 + (e.position or 0)) from None
        parts.append(("", _shift(node, start + 2)))
        i = end + 1


def _shift(node: Node, by: int) -> Node:
    if isinstance(node, Literal):
        return Literal(node.pos + by, node.value)
    if isinstance(node, FieldRef):
        return FieldRef(node.pos + by, node.path)
    if isinstance(node, Unary):
        return Unary(node.pos + by, node.op, _shift(node.operand, by))
    if isinstance(node, Binary):
        return Binary(node.pos + by, node.op, _shift(node.left, by), _shift(node.right, by), node.op_pos + by)
    assert isinstance(node, Call)
    return Call(node.pos + by, node.name, tuple(_shift(a, by) for a in node.args))
