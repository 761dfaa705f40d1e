"""Errors raised by the Apex runtime to its Python callers.

`ApexCompileError` is what a deploy reports (file, line, column, message). `ApexThrown` carries an Apex
exception object through the Python stack while Apex code runs; `ApexUncaught` is what callers of the
runtime see when Apex code ends with an unhandled Apex exception.
"""

from __future__ import annotations

from typing import Any


class ApexCompileError(Exception):
    """A class or trigger that does not parse or uses something the runtime does not support."""

    def __init__(self, message: str, file: str, line: int, column: int) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        super().__init__(f"{file}:{line}:{column}: {message}")


class ApexThrown(Exception):
    """An Apex exception in flight. `obj` is the Apex exception object (an ApexObject)."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        super().__init__(obj)

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        o = self.obj
        return f"{o.cls.name}: {o.fields.get('__message')}"


class ApexUncaught(Exception):
    """Apex code ended with an unhandled exception (what Salesforce reports as an Apex error)."""

    def __init__(self, type_name: str, message: str, stack_trace: str, line: int | None, obj: Any = None) -> None:
        self.type_name = type_name
        self.message = message
        self.stack_trace = stack_trace
        self.line = line
        self.obj = obj
        super().__init__(f"{type_name}: {message}\n{stack_trace}")


class ApexInternalError(Exception):
    """A defect or gap in the runtime found while running (never silently ignored)."""
