"""What an interview asks the org for (``Request``) and the query behind Get Records (``LookupQuery``)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any, Iterable

Run = Generator["Request", Any, Any]


@dataclass
class Request:
    """What an interview asks the org for. ``kind``: query, create, update, delete, apex."""

    kind: str
    element: str
    payload: Any
    sobject: str | None = None

    def group_key(self) -> tuple:
        if self.kind == "query":
            return ("query", self.element, self.payload.sobject.lower(), self.payload.select)
        if self.kind == "apex":
            return ("apex", self.element, self.payload[0].lower())
        return (self.kind, self.element, (self.sobject or "").lower())


@dataclass
class LookupQuery:
    """A Get Records (or the query behind an Update/Delete Records by filters): its SOQL and, so the same
    element of several interviews can share one query, its filters as values."""

    sobject: str
    select: str
    where: str
    filters: list[tuple[str, str, Any]]
    logic: str | None
    context: str
    order: tuple[str, bool] | None = None  # (field, descending)
    limit: int | None = None

    @property
    def soql(self) -> str:
        soql = f"SELECT {self.select} FROM {self.sobject}"
        if self.where:
            soql += f" WHERE {self.where}"
        if self.order:
            soql += f" ORDER BY {self.order[0]} {'DESC' if self.order[1] else 'ASC'}"
        if self.limit is not None:
            soql += f" LIMIT {self.limit}"
        return soql


def select_list(fields: Iterable[str]) -> str:
    seen: dict[str, str] = {"id": "Id"}
    for f in fields:
        f = f.strip()
        if f and f.lower() not in seen:
            seen[f.lower()] = f
    return ", ".join(seen.values())
