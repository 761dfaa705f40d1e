"""Figures as rows people read: nested mappings flattened to labelled values, never Python or JSON reprs."""
from __future__ import annotations

from typing import Any, Iterator, Mapping


def readable(value: Any) -> str:
    """One value as text: numbers with separators, yes/no, lists joined; mappings are flattened by rows()."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (list, tuple, set)):
        return ", ".join(readable(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {readable(v)}" for k, v in value.items())
    return str(value)


def rows(values: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(label, text) for every leaf of ``values``; a nested mapping's keys become ``parent › child``."""
    for key, value in values.items():
        label = f"{prefix} › {key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            yield from rows(value, label)
        else:
            yield label, readable(value)
