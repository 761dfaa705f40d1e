"""The Recycle Bin: what a delete did besides setting ``IsDeleted``, so ``undelete`` can put it back.

A deleted record keeps its row (``IsDeleted = true``; ``ALL ROWS`` / queryAll see it). For each record a
delete statement names (the *root*) this table remembers the master-detail children the delete
cascaded to and the lookups it cleared. ``undelete`` of the root restores both (a lookup only when
it is still empty: Salesforce "only restores lookup relationships that have not been replaced").
A record deleted by cascade is not in the Recycle Bin on its own: undeleting it alone fails with
``UNDELETE_FAILED`` "Entity is not in the recycle bin", as Salesforce answers; undeleting its root
brings it back. The table lives in the store's SQLite file, so it commits and rolls back with the data.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .txn import DataTransaction

CASCADE, LOOKUP = "cascade", "lookup"

DDL = ("CREATE TABLE IF NOT EXISTS _recycle_bin (root_id TEXT NOT NULL, kind TEXT NOT NULL, sobject TEXT NOT NULL, "
       "record_id TEXT NOT NULL, field TEXT)",
       "CREATE INDEX IF NOT EXISTS i_recycle_root ON _recycle_bin (root_id)",
       "CREATE INDEX IF NOT EXISTS i_recycle_record ON _recycle_bin (record_id, kind)")


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


__all__: list[Any] = ["CASCADE", "LOOKUP", "ensure_table", "remember", "entries", "cascaded", "forget"]
