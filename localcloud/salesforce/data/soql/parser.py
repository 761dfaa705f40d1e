"""Parse SOQL with tree-sitter-language-pack's ``apex`` grammar into ``soql.ast``."""

from __future__ import annotations

from typing import Any

from .ast import SoqlQuery


def parse_soql(text: str) -> SoqlQuery:
    """Parse a SOQL string (no brackets). Raises ``MalformedQueryError`` naming what it could
    not handle."""
    raise NotImplementedError


def soql_from_node(node: Any, source: bytes) -> SoqlQuery:
    """Build the AST from a tree-sitter ``query_expression`` (or ``soql_query_body``) node of an
    Apex parse tree; ``source`` is the bytes the tree was parsed from."""
    raise NotImplementedError
