"""SQLite storage, transactions and the DML engine."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .results import QueryResult, SaveResult
from .schema import Schema
from .soql.ast import Bind, SoqlQuery
from .specs import CustomFieldSpec, CustomObjectSpec
from .triggers import TriggerHook

BindResolver = Callable[[Bind], Any]


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


class Savepoint:
    """A point inside a transaction to roll back to (Apex ``Database.setSavepoint``)."""


class Transaction:
    """One unit of work (one REST request, one Apex transaction). Use as a context manager:
    commit on normal exit, roll back on exception. Not shared between threads."""

    limits: Limits
    user_id: str

    def insert(self, sobject: str, records: Sequence[Mapping[str, Any]], *,
               all_or_none: bool = True) -> list[SaveResult]:
        """Create records (keys case-insensitive; JSON or Python values). ``Id`` must be absent."""
        raise NotImplementedError

    def update(self, sobject: str | None, records: Sequence[Mapping[str, Any]], *,
               all_or_none: bool = True) -> list[SaveResult]:
        """Update records by their ``Id``; only given fields change. ``sobject`` None = from the id prefix."""
        raise NotImplementedError

    def upsert(self, sobject: str, records: Sequence[Mapping[str, Any]], external_id_field: str = "Id",
               *, all_or_none: bool = True) -> list[SaveResult]:
        """Insert or update by an external id field (or ``Id``); results carry ``created``."""
        raise NotImplementedError

    def delete(self, ids: Sequence[str], *, all_or_none: bool = True) -> list[SaveResult]:
        """Soft-delete records (``IsDeleted``; ``queryAll``/``ALL ROWS`` still sees them)."""
        raise NotImplementedError

    def retrieve(self, sobject: str, record_id: str, fields: Sequence[str] | None = None, *,
                 typed: bool = False) -> dict[str, Any] | None:
        """One record (REST shape with ``attributes``) or None when absent/deleted."""
        raise NotImplementedError

    def find_ids_by_field(self, sobject: str, field: str, value: Any) -> list[str]:
        """Ids of live records whose ``field`` equals ``value`` (GET by external id; 300 answers)."""
        raise NotImplementedError

    def query(self, soql: str | SoqlQuery, binds: Mapping[str, Any] | None = None, *,
              include_deleted: bool = False, bind_resolver: BindResolver | None = None,
              typed: bool = False, page_size: int = 2000) -> QueryResult:
        """Run SOQL. ``include_deleted`` is queryAll. Counts a SOQL query and its rows."""
        raise NotImplementedError

    def savepoint(self) -> Savepoint:
        raise NotImplementedError

    def rollback_to(self, savepoint: Savepoint) -> None:
        raise NotImplementedError

    def apply_custom_object(self, spec: CustomObjectSpec) -> None:
        """Create or extend a custom object (and its fields) inside this transaction."""
        raise NotImplementedError

    def apply_custom_field(self, sobject: str, spec: CustomFieldSpec) -> None:
        """Add or change a custom field on a standard or custom object inside this transaction."""
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def rollback(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> "Transaction":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        if exc_type is None:
            self.commit()
        else:
            self.rollback()


class Store:
    """The local org's data: one SQLite file at ``path`` (created and seeded when missing)."""

    path: Path
    schema: Schema
    org_id: str
    user_id: str
    api_version: str

    def __init__(self, path: str | Path, *, api_version: str = "62.0",
                 clock: Callable[[], Any] | None = None) -> None:
        raise NotImplementedError

    def transaction(self, *, user_id: str | None = None) -> Transaction:
        raise NotImplementedError

    def set_trigger_hook(self, hook: TriggerHook | None) -> None:
        raise NotImplementedError

    def query_more(self, locator: str) -> QueryResult:
        raise NotImplementedError

    def apply_custom_object(self, spec: CustomObjectSpec) -> None:
        raise NotImplementedError

    def apply_custom_field(self, sobject: str, spec: CustomFieldSpec) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def open_store(path: str | Path, *, reset: bool = False, api_version: str = "62.0") -> Store:
    """Open (or with ``reset`` delete and recreate) the store at ``path``."""
    raise NotImplementedError
