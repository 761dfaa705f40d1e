"""Result objects of DML and queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import RecordError


@dataclass
class SaveResult:
    """Outcome of one record of a DML call, in input order.

    ``to_json()`` gives the REST shape ``{"id", "success", "errors"}`` (plus ``"created"`` for
    upsert). For an upsert whose external id matched several records the error's status code is
    ``DUPLICATE_EXTERNAL_ID`` and ``matches`` lists the candidate ids (the HTTP layer answers 300
    for a single-record upsert).
    """

    id: str | None
    success: bool
    errors: list[RecordError] = field(default_factory=list)
    created: bool | None = None
    matches: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "success": self.success,
            "errors": [e.to_json() for e in self.errors],
        }
        if self.created is not None:
            out["created"] = self.created
        return out


@dataclass
class QueryResult:
    """One page of a query.

    ``records`` are REST-shaped dicts (``{"attributes": {"type", "url"}, "Id": ...}``, JSON
    values, parent relationships as nested dicts, child subqueries as ``{"totalSize", "done",
    "records"}``) unless the query ran with ``typed=True``: then values are Python ``date``,
    ``datetime`` (UTC-aware), ``Decimal``, ``int``, ``bool``, ``str`` and child subqueries are
    plain lists of records (what Apex sees). ``next_records_locator`` is set when more pages
    exist: pass it to ``Store.query_more`` (the HTTP layer builds
    ``/services/data/vXX.X/query/<locator>`` from it). For ``SELECT COUNT() ...`` records is
    empty and ``total_size`` is the count (``count_only`` is true).
    """

    total_size: int
    done: bool
    records: list[dict[str, Any]]
    next_records_locator: str | None = None
    count_only: bool = False

    def to_json(self, api_version: str = "62.0") -> dict[str, Any]:
        out: dict[str, Any] = {"totalSize": self.total_size, "done": self.done, "records": self.records}
        if self.next_records_locator:
            out["nextRecordsUrl"] = f"/services/data/v{api_version}/query/{self.next_records_locator}"
        return out
