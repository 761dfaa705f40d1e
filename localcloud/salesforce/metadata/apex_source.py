"""Apex classes and triggers in a deploy: their source, their -meta.xml, and a syntax check.

The check uses tree-sitter's ``apex`` grammar (offline): every ``ERROR`` or ``MISSING`` node is a
problem with its 1-based line and column, reported as Salesforce reports a compile failure.
Deeper checks (what the Apex runtime cannot run) plug in through ``hooks.COMPILE_HOOKS``.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from localcloud.salesforce.metadata.package import Component, child_text, parse_xml

_parser_lock = threading.Lock()
_parser = None


def _apex_parser():
    global _parser
    with _parser_lock:
        if _parser is None:
            from tree_sitter_language_pack import get_parser

            _parser = get_parser("apex")
        return _parser


@dataclass(frozen=True)
class SourceProblem:
    line: int  # 1-based
    column: int  # 1-based
    message: str


@dataclass
class ApexSource:
    """One ApexClass or ApexTrigger as deployed."""

    kind: str  # "ApexClass" | "ApexTrigger"
    name: str
    body: str
    api_version: str
    status: str  # Active | Inactive | Deleted
    file_name: str
    table_name: str | None = None  # the trigger's sObject

    @property
    def length_without_comments(self) -> int:
        return len(strip_comments(self.body))


_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\])*'", re.S)


def strip_comments(body: str) -> str:
    """Source without comments (string literals kept), whitespace removed, as LengthWithoutComments counts."""

    def keep_strings(match: re.Match[str]) -> str:
        text = match.group(0)
        return text if text.startswith("'") else ""

    return re.sub(r"\s+", "", _COMMENTS.sub(keep_strings, body))


def syntax_problems(body: str) -> list[SourceProblem]:
    parser = _apex_parser()
    with _parser_lock:  # a tree-sitter Parser is not safe to share between threads
        tree = parser.parse(body.encode("utf-8"))
    problems: list[SourceProblem] = []
    if not tree.root_node.has_error:
        return problems
    lines = body.split("\n")
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_missing:
            row, col = node.start_point
            problems.append(SourceProblem(row + 1, col + 1, f"Missing '{node.type}' at {_near(lines, row, col)}"))
            continue
        if node.type == "ERROR":
            row, col = node.start_point
            problems.append(SourceProblem(row + 1, col + 1, f"Unexpected token {_near(lines, row, col)}"))
            continue
        if node.has_error:
            stack.extend(reversed(node.children))
    problems.sort(key=lambda p: (p.line, p.column))
    return problems


def _near(lines: list[str], row: int, col: int) -> str:
    line = lines[row] if row < len(lines) else ""
    token = re.match(r"\s*(\S{1,30})", line[col:])
    return f"'{token.group(1)}'" if token else "end of line"


_TRIGGER_HEAD = re.compile(r"\btrigger\s+(\w+)\s+on\s+(\w+)", re.I)


def read_apex(component: Component) -> ApexSource:
    api_version, status = "62.0", "Active"
    if component.meta_xml:
        meta = parse_xml(component.meta_xml, component.file_name + "-meta.xml")
        api_version = child_text(meta, "apiVersion") or api_version
        status = child_text(meta, "status") or status
    body = component.text
    table = None
    if component.type == "ApexTrigger":
        head = _TRIGGER_HEAD.search(body)
        table = head.group(2) if head else None
    return ApexSource(
        kind=component.type,
        name=component.full_name,
        body=body,
        api_version=api_version,
        status=status,
        file_name=component.file_name,
        table_name=table,
    )


def declared_name_problem(source: ApexSource) -> SourceProblem | None:
    """Salesforce requires the file name to match the declared class or trigger name."""
    if source.kind == "ApexTrigger":
        head = _TRIGGER_HEAD.search(source.body)
        declared = head.group(1) if head else None
    else:
        head = re.search(r"\b(?:class|interface|enum)\s+(\w+)", strip_line_comments(source.body), re.I)
        declared = head.group(1) if head else None
    if declared and declared.lower() != source.name.lower():
        return SourceProblem(1, 1, f"Invalid type name '{declared}': the file declares {declared} but is named {source.name}")
    return None


def strip_line_comments(body: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?\*/", " ", body, flags=re.S)
