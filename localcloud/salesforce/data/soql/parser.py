"""Parse SOQL with tree-sitter-language-pack's ``apex`` grammar into ``soql.ast``.

The SOQL text is wrapped as an Apex inline query (``class X { void m() { Object o = [<SOQL>]; } }``)
and the ``query_expression`` node is converted. The grammar mis-reads ``NOT (...)`` and
``NOT a = b`` next to ``AND``/``OR``; such NOT terms are first bracketed as ``(NOT ((...)))``,
which means the same thing.
"""

from __future__ import annotations

import re
import threading
from datetime import date
from decimal import Decimal
from typing import Any

from ..errors import MalformedQueryError
from ..values import parse_datetime
from .functions import check_placement
from .ast import (DATE_FUNCTIONS, FUNCTIONS, Aggregate, And, Bind, Comparison, DateLiteral, FieldRef, Function,
                  Literal, Not, Or, OrderItem, SemiJoin, SoqlQuery, SubQuery, ValueList)

PREFIX = "class X { void m() { Object o = ["
SUFFIX = "]; } }"
AGGREGATES = {"COUNT", "COUNT_DISTINCT", "SUM", "MIN", "MAX", "AVG"}
DATE_LITERALS = {
    "YESTERDAY", "TODAY", "TOMORROW", "LAST_WEEK", "THIS_WEEK", "NEXT_WEEK", "LAST_MONTH", "THIS_MONTH",
    "NEXT_MONTH", "LAST_90_DAYS", "NEXT_90_DAYS", "THIS_QUARTER", "LAST_QUARTER", "NEXT_QUARTER",
    "THIS_YEAR", "LAST_YEAR", "NEXT_YEAR",
}
DATE_LITERALS_N = {
    "LAST_N_DAYS", "NEXT_N_DAYS", "N_DAYS_AGO", "LAST_N_WEEKS", "NEXT_N_WEEKS", "N_WEEKS_AGO", "LAST_N_MONTHS",
    "NEXT_N_MONTHS", "N_MONTHS_AGO", "LAST_N_YEARS", "NEXT_N_YEARS", "N_YEARS_AGO", "NEXT_N_QUARTERS",
    "LAST_N_QUARTERS", "N_QUARTERS_AGO",
}
_local = threading.local()


def _parser() -> Any:
    p = getattr(_local, "parser", None)
    if p is None:
        from tree_sitter_language_pack import get_parser

        p = get_parser("apex")
        _local.parser = p
    return p


# -- NOT bracketing ------------------------------------------------------------------------------------
_TOKEN = re.compile(r"'(?:\\.|[^'\\])*'|\s+|[A-Za-z_][A-Za-z0-9_]*|.", re.S)
_STOP = {"AND", "OR", "GROUP", "ORDER", "LIMIT", "OFFSET", "WITH", "FOR", "ALL", "HAVING", "USING", "UPDATE"}


def bracket_not(text: str) -> str:
    """Rewrite ``NOT x`` / ``NOT (x)`` as ``(NOT ((x)))`` so the grammar reads it right."""
    if not re.search(r"\bnot\b", text, re.I):
        return text
    toks = _TOKEN.findall(text)
    out: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.upper() == "NOT":
            j = i + 1
            while j < len(toks) and toks[j].isspace():
                j += 1
            if j < len(toks) and toks[j].upper() != "IN":
                if toks[j] == "(":
                    depth, k = 0, j
                    while k < len(toks):
                        if toks[k] == "(":
                            depth += 1
                        elif toks[k] == ")":
                            depth -= 1
                            if depth == 0:
                                break
                        k += 1
                    inner = bracket_not("".join(toks[j + 1:k]))
                    out.append(f"(NOT (({inner})))")
                    i = k + 1
                    continue
                depth, k = 0, j
                while k < len(toks):
                    u = toks[k]
                    if u == "(":
                        depth += 1
                    elif u == ")":
                        if depth == 0:
                            break
                        depth -= 1
                    elif depth == 0 and u.upper() in _STOP:
                        break
                    k += 1
                inner = "".join(toks[j:k]).rstrip()
                trailing = "".join(toks[j:k])[len(inner):]
                out.append(f"(NOT (({bracket_not(inner)}))){trailing}")
                i = k
                continue
        out.append(t)
        i += 1
    return "".join(out)


# -- entry points ---------------------------------------------------------------------------------------
def parse_soql(text: str) -> SoqlQuery:
    """Parse a SOQL string (no brackets). Raises ``MalformedQueryError`` naming what it could
    not handle."""
    if not isinstance(text, str) or not text.strip():
        raise MalformedQueryError("empty query")
    body = bracket_not(text.strip())
    source = (PREFIX + body + SUFFIX).encode("utf-8")
    tree = _parser().parse(source)
    node = _find(tree.root_node, "query_expression")
    if node is None or node.has_error or tree.root_node.has_error:
        raise MalformedQueryError(_syntax_message(text, body, tree.root_node, source))
    q = _Builder(source, len(PREFIX.encode())).query(node)
    q.text = text
    check_placement(q)
    return q


def soql_from_node(node: Any, source: bytes) -> SoqlQuery:
    """Build the AST from a tree-sitter ``query_expression`` (or ``soql_query_body``) node of an
    Apex parse tree; ``source`` is the bytes the tree was parsed from. A node with syntax errors
    (the grammar's NOT quirk) is re-parsed from its text."""
    text = source[node.start_byte:node.end_byte].decode("utf-8")
    if node.type == "query_expression":
        text = text.strip()[1:-1]
    if node.has_error:
        return parse_soql(text)
    q = _Builder(source, node.start_byte).query(node)
    q.text = text
    check_placement(q)
    return q


def _find(node: Any, type_: str) -> Any:
    if node.type == type_:
        return node
    for c in node.children:
        r = _find(c, type_)
        if r is not None:
            return r
    return None


def _syntax_message(original: str, body: str, root: Any, source: bytes) -> str:
    offset = len(PREFIX.encode())
    end = offset + len(body.encode())
    bad = _first_error(root, offset)
    if bad is None or bad.start_byte >= end:
        pos, token = len(body.encode()), "<EOF>"
    elif bad.is_missing:
        pos, token = bad.start_byte - offset, f"missing {bad.type}"
    else:
        pos = bad.start_byte - offset
        token = source[bad.start_byte:min(bad.end_byte, end)].decode("utf-8", "replace") or "<EOF>"
    prefix = body.encode()[:pos].decode("utf-8", "replace")
    line = prefix.count("\n") + 1
    col = len(prefix) - (prefix.rfind("\n") + 1) + 1
    return f"\n{body}\n{' ' * (col - 1)}^\nERROR at Row:{line}:Column:{col}\nunexpected token: '{token}'"


def _first_error(node: Any, offset: int) -> Any:
    """The first token the grammar could not place (inside the query text)."""
    if node.is_missing:
        return node
    if node.type == "ERROR":
        for c in node.children:
            if c.start_byte < offset or c.type.endswith("_clause") or c.type.endswith("_expression"):
                continue
            leaf = c
            while leaf.children:
                leaf = leaf.children[0]
            return leaf
        return node if node.start_byte >= offset else None
    for c in node.children:
        if c.has_error or c.is_missing or c.type == "ERROR":
            r = _first_error(c, offset)
            if r is not None:
                return r
    return None


# -- tree -> AST ---------------------------------------------------------------------------------------
class _Builder:
    def __init__(self, source: bytes, base: int) -> None:
        self.source = source
        self.base = base

    def text(self, node: Any) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8")

    def unsupported(self, node: Any, what: str | None = None) -> MalformedQueryError:
        snippet = self.text(node)
        return MalformedQueryError(f"{what or node.type} is not supported by the local org: {snippet}")

    def query(self, node: Any) -> SoqlQuery:
        if node.type == "query_expression" or node.type == "subquery":
            body = next((c for c in node.named_children if c.type == "soql_query_body"), None)
            if body is None:
                raise self.unsupported(node, "query")
            node = body
        if node.type == "sosl_query_body":
            raise self.unsupported(node, "SOSL")
        clauses = {c.type: c for c in node.named_children}
        for kind in clauses:
            if kind not in ("select_clause", "from_clause", "where_clause", "with_clause", "group_by_clause",
                            "order_by_clause", "limit_clause", "offset_clause", "for_clause", "all_rows_clause",
                            "comment", "line_comment", "block_comment"):
                raise self.unsupported(clauses[kind], kind.replace("_", " "))
        from_clause = clauses.get("from_clause")
        if from_clause is None:
            raise MalformedQueryError("missing FROM")
        ids = [c for c in from_clause.named_children if c.type == "storage_identifier"]
        if len(ids) != 1 or len(from_clause.named_children) != 1:
            raise self.unsupported(from_clause, "FROM with several objects or aliases")
        sobject = self.text(ids[0]).strip()
        q = SoqlQuery(select=[], sobject=sobject)
        self._select(clauses["select_clause"], q)
        if "where_clause" in clauses:
            q.where = self._condition_of(clauses["where_clause"])
        if "with_clause" in clauses:
            wt = next((c for c in clauses["with_clause"].named_children), None)
            word = self.text(wt).strip().upper() if wt is not None else ""
            if word not in ("USER_MODE", "SYSTEM_MODE", "SECURITY_ENFORCED"):
                raise self.unsupported(clauses["with_clause"], "WITH clause")
            q.security = word
        if "group_by_clause" in clauses:
            gb = clauses["group_by_clause"]
            for c in gb.named_children:
                if c.type == "field_identifier":
                    q.group_by.append(self.field(c))
                elif c.type == "function_expression":
                    self._group_function(c, q)
                elif c.type == "having_clause":
                    q.having = self._condition_of(c)
                else:
                    raise self.unsupported(c, "GROUP BY " + c.type)
        if "order_by_clause" in clauses:
            for c in clauses["order_by_clause"].named_children:
                if c.type != "order_expression":
                    raise self.unsupported(c, "ORDER BY " + c.type)
                q.order_by.append(self._order(c))
        if "limit_clause" in clauses:
            q.limit = self._int_or_bind(clauses["limit_clause"])
        if "offset_clause" in clauses:
            q.offset = self._int_or_bind(clauses["offset_clause"])
        if "for_clause" in clauses:
            q.for_update = "UPDATE" in self.text(clauses["for_clause"]).upper()
        if "all_rows_clause" in clauses:
            q.all_rows = True
        return q

    def _int_or_bind(self, clause: Any) -> int | Bind:
        val = clause.named_children[0]
        if val.type == "int":
            return int(self.text(val))
        if val.type == "bound_apex_expression":
            return self.bind(val)
        raise self.unsupported(val, "LIMIT/OFFSET value")

    def _select(self, clause: Any, q: SoqlQuery) -> None:
        for c in clause.named_children:
            if c.type == "count_expression":
                q.count_only = True
                q.select.append(Aggregate("COUNT", None))
            elif c.type == "field_identifier":
                q.select.append(self.field(c))
            elif c.type == "alias_expression":
                inner, alias = c.named_children[0], c.named_children[-1]
                item = self.field(inner) if inner.type == "field_identifier" else self.function(inner)
                if isinstance(item, (Aggregate, Function)):
                    item.alias = self.text(alias)
                else:
                    item = Aggregate("GROUPED", item, self.text(alias))
                q.select.append(item)
            elif c.type == "function_expression":
                q.select.append(self.function(c))
            elif c.type == "subquery":
                q.select.append(SubQuery(self.query(c)))
            elif c.type in ("comment", "line_comment", "block_comment"):
                continue
            else:
                raise self.unsupported(c, {"type_of_clause": "TYPEOF", "fields_expression": "FIELDS()"}.get(c.type))

    def field(self, node: Any) -> FieldRef:
        if node.type == "field_identifier":
            inner = node.named_children[0]
        else:
            inner = node
        if inner.type == "identifier":
            return FieldRef([self.text(inner)])
        if inner.type == "dotted_identifier":
            return FieldRef([self.text(c) for c in inner.named_children if c.type == "identifier"])
        raise self.unsupported(node, "field " + inner.type)

    def _group_function(self, node: Any, q: SoqlQuery) -> None:
        """``GROUP BY ROLLUP(a, b)`` / ``CUBE(...)`` or a date function such as ``CALENDAR_YEAR(f)``."""
        spelled = self.text(node.named_children[0])
        if spelled.upper() in ("ROLLUP", "CUBE"):
            if q.group_by_kind is not None or q.group_by:
                raise MalformedQueryError(f"GROUP BY {spelled.upper()} cannot be combined with other GROUP BY "
                                          f"entries: {self.text(node)}")
            q.group_by_kind = spelled.upper()
            for a in node.named_children[1:]:
                q.group_by.append(self.field(a) if a.type == "field_identifier" else self._group_function_item(a))
            return
        q.group_by.append(self._group_function_item(node))

    def _group_function_item(self, node: Any) -> Function:
        fn = self.function(node)
        if not isinstance(fn, Function) or fn.name not in DATE_FUNCTIONS:
            raise MalformedQueryError(f"GROUP BY takes fields and date functions, not {self.text(node)}")
        return fn

    def _function(self, node: Any, name: str, spelled: str, args: list[Any]) -> Function:
        """A function other than the aggregates, with Salesforce's nesting rules: date functions over a
        field or ``convertTimezone(field)``; ``FORMAT`` over a field, an aggregate or ``convertCurrency``;
        the others over a field."""
        if len(args) != 1:
            raise MalformedQueryError(f"{spelled}() takes exactly one argument: {self.text(node)}")
        a = args[0]
        if a.type == "field_identifier":
            inner: FieldRef | Aggregate | Function = self.field(a)
        elif a.type == "function_expression":
            inner = self.function(a)
        else:
            raise self.unsupported(a, f"{spelled}() argument")
        if isinstance(inner, FieldRef):
            ok = True
        elif name in DATE_FUNCTIONS:
            ok = isinstance(inner, Function) and inner.name == "CONVERTTIMEZONE"
        elif name == "FORMAT":
            ok = isinstance(inner, Aggregate) or (isinstance(inner, Function) and inner.name == "CONVERTCURRENCY")
        else:
            ok = False
        if not ok:
            raise MalformedQueryError(f"{self.text(a)} cannot be used inside {spelled}(): {self.text(node)}")
        return Function(name, inner, None, spelled)

    def function(self, node: Any) -> Aggregate | Function:
        name_node = node.named_children[0]
        name = self.text(name_node).upper()
        args = node.named_children[1:]
        if name in FUNCTIONS:
            return self._function(node, name, self.text(name_node), args)
        if name not in AGGREGATES:
            raise MalformedQueryError(f"function {self.text(name_node)}() is not supported by the local org: "
                                      f"{self.text(node)}")
        if not args:
            if name != "COUNT":
                raise MalformedQueryError(f"{name}() needs a field")
            return Aggregate("COUNT", None)
        if len(args) != 1 or args[0].type != "field_identifier":
            raise self.unsupported(node, f"{name} argument")
        return Aggregate(name, self.field(args[0]))

    def _order(self, node: Any) -> OrderItem:
        key_node = node.named_children[0]
        key: FieldRef | Aggregate | Function = self.field(key_node) if key_node.type == "field_identifier" else self.function(key_node)
        item = OrderItem(key)
        for c in node.named_children[1:]:
            word = self.text(c).upper().replace(" ", "")
            if c.type == "order_direction":
                item.descending = word == "DESC"
            elif c.type == "order_null_direction":
                item.nulls_last = word == "NULLSLAST"
            else:
                raise self.unsupported(c, "ORDER BY " + c.type)
        return item

    # -- conditions --------------------------------------------------------------------------------
    def _condition_of(self, clause: Any) -> Any:
        parts = [c for c in clause.named_children]
        if len(parts) != 1:
            raise self.unsupported(clause, "condition")
        return self.condition(parts[0])

    def condition(self, node: Any) -> Any:
        t = node.type
        if t == "and_expression":
            return And([self.condition(c) for c in node.named_children])
        if t == "or_expression":
            return Or([self.condition(c) for c in node.named_children])
        if t == "not_expression":
            inner = node.named_children
            if len(inner) != 1:
                raise self.unsupported(node, "NOT")
            return Not(self.condition(inner[0]))
        if t == "comparison_expression":
            return self.comparison(node)
        if t in ("parenthesized_expression",):
            return self.condition(node.named_children[0])
        raise self.unsupported(node, "condition " + t)

    def comparison(self, node: Any) -> Comparison:
        kids = node.named_children
        if len(kids) != 3:
            raise self.unsupported(node, "comparison")
        left_n, op_n, value_n = kids
        left: FieldRef | Aggregate | Function = self.field(left_n) if left_n.type == "field_identifier" else self.function(left_n)
        op = self.text(op_n).upper()
        op = re.sub(r"\s+", "_", op)
        if op == "<>":
            op = "!="
        if op not in ("=", "!=", "<", "<=", ">", ">=", "LIKE", "IN", "NOT_IN", "INCLUDES", "EXCLUDES"):
            raise self.unsupported(op_n, "operator")
        return Comparison(left, op, self.value(value_n))

    def bind(self, node: Any) -> Bind:
        expr = [c for c in node.named_children]
        target = expr[-1] if expr else node
        return Bind(re.sub(r"\s+", "", self.text(target)), target, self.source)

    def value(self, node: Any) -> Any:
        t = node.type
        if t == "string_literal":
            return Literal(unescape(self.text(node)[1:-1]))
        if t == "int":
            return Literal(int(self.text(node)))
        if t == "decimal":
            return Literal(Decimal(self.text(node)))
        if t == "boolean":
            return Literal(self.text(node).lower() == "true")
        if t == "null_literal":
            return Literal(None)
        if t == "date":
            try:
                return Literal(date.fromisoformat(self.text(node)))
            except ValueError:
                raise MalformedQueryError(f"invalid date: {self.text(node)}") from None
        if t == "date_time":
            dt = parse_datetime(self.text(node))
            if dt is None:
                raise MalformedQueryError(f"invalid datetime: {self.text(node)}")
            return Literal(dt)
        if t == "date_literal":
            word = self.text(node).upper()
            if word not in DATE_LITERALS:
                raise self.unsupported(node, "date literal")
            return DateLiteral(word)
        if t == "date_literal_with_param":
            name = self.text(node.named_children[0]).upper()
            n = int(self.text(node.named_children[-1]))
            if name not in DATE_LITERALS_N:
                raise self.unsupported(node, "date literal")
            return DateLiteral(name, n)
        if t == "bound_apex_expression":
            return self.bind(node)
        if t == "comparable_list":
            return ValueList([self.value(c) for c in node.named_children])
        if t == "subquery":
            return SemiJoin(self.query(node))
        raise self.unsupported(node, "value " + t)


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\"}


def unescape(text: str) -> str:
    """SOQL string escapes; ``\\%`` and ``\\_`` stay escaped (they matter to LIKE)."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)
            else:
                raise MalformedQueryError(f"invalid escape sequence in string literal: \\{nxt}")
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
