"""Definitions of deployed setup components whose rows are standard objects but whose behaviour needs more
than the row: list views (``ListView`` rows; filters, columns: ``ApexPages.StandardSetController``) and
approval processes (``ProcessDefinition`` rows; entry criteria, steps, locks: ``Approval.process``), and
rowless components saved under a name (workflow field updates, ``Account.Set_Status``, that approval
actions run).
``_setup_definitions`` keeps, per row id and kind, the definition as JSON in the store's SQLite file, so it
commits and rolls back with the deploy that wrote it. The metadata deploy writes them
(``metadata/list_views.py``, ``metadata/approval_processes.py``); the Apex libraries read them."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .txn import DataTransaction

LIST_VIEW, APPROVAL_PROCESS, FIELD_UPDATE = "ListView", "ApprovalProcess", "WorkflowFieldUpdate"
DDL = ("CREATE TABLE IF NOT EXISTS _setup_definitions (id TEXT PRIMARY KEY, kind TEXT NOT NULL, sobject TEXT NOT NULL, "
       "definition TEXT NOT NULL)",)


def ensure_table(conn: sqlite3.Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def save_definition(tx: DataTransaction, kind: str, row_id: str, sobject: str, definition: dict[str, Any]) -> None:
    tx.execute("INSERT OR REPLACE INTO _setup_definitions (id, kind, sobject, definition) VALUES (?, ?, ?, ?)",
               (row_id, kind, sobject, json.dumps(definition, sort_keys=True)))


def definition(tx: DataTransaction, kind: str, row_id: str) -> dict[str, Any] | None:
    """The definition of the row with this id (15 or 18 characters), or None."""
    row = tx.execute("SELECT definition FROM _setup_definitions WHERE kind = ? AND substr(id, 1, 15) = ?",
                     (kind, row_id[:15])).fetchone()
    return json.loads(row[0]) if row else None


def named_definition(tx: DataTransaction, kind: str, key: str) -> dict[str, Any] | None:
    """The definition saved under an exact key (components without a row: ``Account.Set_Status`` field
    updates), or None."""
    row = tx.execute("SELECT definition FROM _setup_definitions WHERE kind = ? AND id = ?", (kind, f"{kind}:{key}")
                     ).fetchone()
    return json.loads(row[0]) if row else None


def save_named_definition(tx: DataTransaction, kind: str, key: str, sobject: str, definition: dict[str, Any]) -> None:
    save_definition(tx, kind, f"{kind}:{key}", sobject, definition)


def definitions_of(tx: DataTransaction, kind: str, sobject: str) -> list[tuple[str, dict[str, Any]]]:
    """``(row id, definition)`` of one object's components of a kind, in the order they were first saved."""
    return [(r[0], json.loads(r[1])) for r in tx.execute(
        "SELECT id, definition FROM _setup_definitions WHERE kind = ? AND lower(sobject) = lower(?) ORDER BY rowid",
        (kind, sobject))]


__all__ = ["LIST_VIEW", "APPROVAL_PROCESS", "FIELD_UPDATE", "ensure_table", "save_definition", "definition",
           "definitions_of", "named_definition", "save_named_definition"]
