"""The Recycle Bin: what a delete did besides setting ``IsDeleted``, so ``undelete`` can put it back.

A deleted record keeps its row (``IsDeleted = true``; ``ALL ROWS`` / queryAll see it). For each record a
delete statement names (the *root*) this table remembers the master-detail children the delete
cascaded to and the lookups it cleared. ``undelete`` of the root restores both (a lookup only when
it is still empty: Salesforce "only restores lookup relationships that have not been replaced").
A record deleted by cascade is not in the Recycle Bin on its own: undeleting it alone fails with
``UNDELETE_FAILED`` "Entity is not in the recycle bin", as Salesforce answers; undeleting its root
brings it back. The table lives in the store's SQLite file, so it commits and rolls back with the data.

``emptyRecycleBin`` takes records out of the bin for good, but, as Salesforce documents, "they can be
queried using queryAll() for some time. Typically this time is 24 hours": the rows stay (``IsDeleted``
true, seen by ``ALL ROWS`` / queryAll) and ``_purged`` remembers them, so undelete and a second
emptyRecycleBin fail with "Entity is not in the recycle bin". Rows purged longer ago than
``Store.emptied_queryable`` (default 24 hours; a setting) are removed at the next emptyRecycleBin.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .txn import DataTransaction

CASCADE, LOOKUP = "cascade", "lookup"

DDL = ("CREATE TABLE IF NOT EXISTS _recycle_bin (root_id TEXT NOT NULL, kind TEXT NOT NULL, sobject TEXT NOT NULL, "
       "record_id TEXT NOT NULL, field TEXT)",
       "CREATE INDEX IF NOT EXISTS i_recycle_root ON _recycle_bin (root_id)",
       "CREATE INDEX IF NOT EXISTS i_recycle_record ON _recycle_bin (record_id, kind)",
       "CREATE TABLE IF NOT EXISTS _purged (record_id TEXT PRIMARY KEY, tbl TEXT NOT NULL, purged_at TEXT NOT NULL)")


def ensure_table(conn: sqlite3.Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def remember(tx: DataTransaction, root_id: str, kind: str, sobject: str, record_id: str, field: str | None = None
             ) -> None:
    tx.execute("INSERT INTO _recycle_bin (root_id, kind, sobject, record_id, field) VALUES (?, ?, ?, ?, ?)",
               (root_id, kind, sobject, record_id, field))


def entries(tx: DataTransaction, root_id: str) -> list[tuple[str, str, str, str | None]]:
    """``(kind, sobject, record_id, field)`` of what deleting ``root_id`` did, in the order it happened."""
    return [tuple(r) for r in tx.execute(  # type: ignore[misc]
        "SELECT kind, sobject, record_id, field FROM _recycle_bin WHERE root_id = ? ORDER BY rowid", (root_id,))]


def cascaded(tx: DataTransaction, record_id: str) -> bool:
    """Whether the record was deleted by cascade (its root is still in the Recycle Bin)."""
    return tx.execute("SELECT 1 FROM _recycle_bin WHERE record_id = ? AND kind = ? LIMIT 1",
                      (record_id, CASCADE)).fetchone() is not None


def forget(tx: DataTransaction, root_id: str) -> None:
    tx.execute("DELETE FROM _recycle_bin WHERE root_id = ?", (root_id,))


def purge(tx: DataTransaction, table: str, record_id: str, at: str) -> None:
    """Out of the Recycle Bin for good; the row stays queryable with ALL ROWS until ``remove_purged``."""
    tx.execute("INSERT OR REPLACE INTO _purged (record_id, tbl, purged_at) VALUES (?, ?, ?)", (record_id, table, at))


def purged(tx: DataTransaction, record_id: str) -> bool:
    return tx.execute("SELECT 1 FROM _purged WHERE record_id = ?", (record_id,)).fetchone() is not None


def remove_purged(tx: DataTransaction, before: str) -> None:
    """Remove the rows emptied from the Recycle Bin before ``before`` (ISO timestamps compare as text)."""
    for record_id, table in tx.execute("SELECT record_id, tbl FROM _purged WHERE purged_at < ?", (before,)).fetchall():
        tx.execute(f"DELETE FROM {table} WHERE id = ? AND isdeleted = 1", (record_id,))
    tx.execute("DELETE FROM _purged WHERE purged_at < ?", (before,))


__all__: list[Any] = ["CASCADE", "LOOKUP", "ensure_table", "remember", "entries", "cascaded", "forget", "purge", "purged",
                   "remove_purged"]
