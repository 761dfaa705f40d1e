"""What the modules below the store see of a transaction: the governor ``Limits``, the
``ReadOnlyFields`` modes and the ``DataTransaction`` / ``DataStore`` protocols.

``store.py`` holds the real ``Transaction`` and ``Store`` and imports ``dml``, ``content``, the
SOQL engine and ``triggers``; those modules type their ``tx`` argument with the protocols here, so
the imports of the data layer go one way (``store`` -> ``dml`` -> ``txn``) and never back up.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Callable, Literal, Mapping, Protocol, Sequence

from .errors import LimitExceededError

if TYPE_CHECKING:  # pragma: no cover - types only, all from modules below this one
    from .changes import RecordChange
    from .results import QueryResult, SaveResult
    from .schema import Schema
    from .soql.ast import SoqlQuery

ReadOnlyFields = Literal["reject", "ignore", "write"]


@dataclass
class Limits:
    """Governor counters of one transaction (Apex: ``Limits.getQueries()`` ...).

    The data layer only counts; with ``enforce=True`` it raises ``LimitExceededError`` with
    Salesforce's message ("Too many SOQL queries: 101", "Too many DML statements: 151",
    "Too many DML rows: 10001", "Too many query rows: 50001"). The Apex runtime can swap
    ``Transaction.limits`` for a fresh object (``Test.startTest``).
    """

    soql_queries: int = 0
    query_rows: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    max_soql_queries: int = 100
    max_query_rows: int = 50_000
    max_dml_statements: int = 150
    max_dml_rows: int = 10_000
    enforce: bool = False

    def count_query(self) -> None:
        self.soql_queries += 1
        if self.enforce and self.soql_queries > self.max_soql_queries:
            raise LimitExceededError(f"Too many SOQL queries: {self.soql_queries}")

    def count_query_rows(self, n: int) -> None:
        self.query_rows += n
        if self.enforce and self.query_rows > self.max_query_rows:
            raise LimitExceededError(f"Too many query rows: {self.query_rows}")

    def count_dml(self, rows: int) -> None:
        self.dml_statements += 1
        if self.enforce and self.dml_statements > self.max_dml_statements:
            raise LimitExceededError(f"Too many DML statements: {self.dml_statements}")
        self.dml_rows += rows
        if self.enforce and self.dml_rows > self.max_dml_rows:
            raise LimitExceededError(f"Too many DML rows: {self.dml_rows}")


class DataStore(Protocol):
    """The parts of ``store.Store`` that DML and the SOQL engine use."""

    api_version: str
    timezone: tzinfo
    delete_trigger_chunk: int | None
    emptied_queryable: timedelta

    @property
    def trigger_hook(self) -> Any: ...  # a ``triggers.TriggerHook`` (that module sits above this one)

    def now(self) -> datetime: ...

    def _next_numbers(self, conn: sqlite3.Connection, key: str, count: int) -> int: ...

    def register_cursor(self, records: Sequence[Any], total: int, page_size: int,
                        materialize: Callable[[Sequence[Any]], list[dict[str, Any]]] | None = None) -> str: ...


class DataTransaction(Protocol):
    """The parts of ``store.Transaction`` that DML, files, triggers and the SOQL engine use."""

    _conn: sqlite3.Connection
    schema: "Schema"
    user_id: str
    limits: Limits
    trigger_depth: int
    now: Callable[[], datetime]

    @property
    def store(self) -> DataStore: ...

    @property
    def closed(self) -> bool: ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...

    def begin_write(self) -> None: ...

    def savepoint(self) -> Any: ...

    def rollback_to(self, savepoint: Any) -> None: ...

    def release(self, savepoint: Any) -> None: ...

    def record_change(self, change: "RecordChange") -> None: ...

    def on_commit(self, callback: Callable[[], None]) -> None: ...

    def insert(self, sobject: str, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = True,
               read_only_fields: ReadOnlyFields = "reject") -> "list[SaveResult]": ...

    def update(self, sobject: str | None, records: Sequence[Mapping[str, Any]], *, all_or_none: bool = True,
               read_only_fields: ReadOnlyFields = "reject") -> "list[SaveResult]": ...

    def delete(self, ids: Sequence[str], *, all_or_none: bool = True) -> "list[SaveResult]": ...

    def undelete(self, ids: Sequence[str], *, all_or_none: bool = True) -> "list[SaveResult]": ...

    def empty_recycle_bin(self, ids: Sequence[str]) -> "list[SaveResult]": ...

    def query(self, soql: "str | SoqlQuery", binds: Mapping[str, Any] | None = None, *,
              include_deleted: bool = False, bind_resolver: Callable[[Any], Any] | None = None,
              typed: bool = False, page_size: int = 2000,
              row_filter: Callable[[Any, str], str | None] | None = None) -> "QueryResult": ...


__all__ = ["Limits", "ReadOnlyFields", "DataStore", "DataTransaction"]
