"""Deployed list views' definitions (filter scope, filters, boolean filter, columns) beside their
``ListView`` rows: ``ApexPages.StandardSetController.setFilterId`` applies them. The rows themselves are the
standard ``ListView`` object (Id, Name, DeveloperName, SobjectType); ``_list_view_defs`` keeps, per row
id, the definition as JSON in the store's SQLite file, so it commits and rolls back with the deploy that
wrote it. ``metadata/list_views.py`` writes both."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .txn import DataTransaction

DDL = ("CREATE TABLE IF NOT EXISTS _list_view_defs (id TEXT PRIMARY KEY, sobject TEXT NOT NULL, "
       "definition TEXT NOT NULL)",)


def ensure_table(conn: sqlite3.Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def save_definition(tx: DataTransaction, view_id: str, sobject: str, definition: dict[str, Any]) -> None:
    tx.execute("INSERT OR REPLACE INTO _list_view_defs (id, sobject, definition) VALUES (?, ?, ?)",
               (view_id, sobject, json.dumps(definition, sort_keys=True)))


def definition(tx: DataTransaction, view_id: str) -> dict[str, Any] | None:
    """The definition of the list view with this id (15 or 18 characters), or None."""
    row = tx.execute("SELECT definition FROM _list_view_defs WHERE substr(id, 1, 15) = ?", (view_id[:15],)).fetchone()
    return json.loads(row[0]) if row else None


__all__ = ["ensure_table", "save_definition", "definition"]
