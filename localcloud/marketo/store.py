"""SQLite storage of the local Marketo: one file under the data directory, safe for many threads.

Only rows live here (leads, merged/deleted lead tombstones, activities, custom object records,
tokens, bulk jobs, settings and counters). What a call means lives in the operation modules.
All access goes through ``transaction()``, which serialises writers on one connection.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, issued_at REAL NOT NULL, expires_at REAL NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT, email_lower TEXT, data TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, origin TEXT NOT NULL DEFAULT 'api');
CREATE INDEX IF NOT EXISTS leads_email ON leads(email_lower);
CREATE INDEX IF NOT EXISTS leads_created ON leads(created_at);
CREATE TABLE IF NOT EXISTS lead_tombstones (
    id INTEGER PRIMARY KEY, kind TEXT NOT NULL, merged_into INTEGER, data TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, gone_at TEXT NOT NULL, origin TEXT NOT NULL,
    request_id TEXT);
CREATE TABLE IF NOT EXISTS activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT, guid TEXT NOT NULL, lead_id INTEGER NOT NULL,
    original_lead_id INTEGER NOT NULL, activity_date TEXT NOT NULL, type_id INTEGER NOT NULL,
    primary_attribute_value_id INTEGER, primary_attribute_value TEXT, attributes TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS activities_lead ON activities(lead_id);
CREATE INDEX IF NOT EXISTS activities_date ON activities(activity_date);
CREATE TABLE IF NOT EXISTS email_status (
    email_lower TEXT PRIMARY KEY, unsubscribed INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS custom_objects (
    guid TEXT PRIMARY KEY, api_name TEXT NOT NULL, dedupe_key TEXT NOT NULL, lead_id INTEGER,
    data TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
    UNIQUE(api_name, dedupe_key));
CREATE INDEX IF NOT EXISTS custom_objects_lead ON custom_objects(api_name, lead_id);
CREATE TABLE IF NOT EXISTS bulk_jobs (
    batch_id INTEGER PRIMARY KEY AUTOINCREMENT, status TEXT NOT NULL, format TEXT NOT NULL,
    lookup_field TEXT NOT NULL, partition_name TEXT, content BLOB NOT NULL, created_at REAL NOT NULL,
    started_at REAL, finished_at REAL, processed INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
    warnings INTEGER NOT NULL DEFAULT 0, failures TEXT NOT NULL DEFAULT '', warnings_file TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', object_name TEXT);
CREATE TABLE IF NOT EXISTS export_jobs (
    export_id TEXT PRIMARY KEY, status TEXT NOT NULL, format TEXT NOT NULL, fields TEXT NOT NULL,
    headers TEXT NOT NULL, filter TEXT NOT NULL, created_at TEXT NOT NULL, queued_at TEXT,
    started_at TEXT, finished_at TEXT, finished_day TEXT, records INTEGER, file BLOB, file_size INTEGER,
    checksum TEXT, error TEXT, seq INTEGER NOT NULL);
"""


@dataclass
class LeadRow:
    id: int
    data: dict[str, Any]
    created_at: str
    updated_at: str
    origin: str

    def record(self) -> dict[str, Any]:
        """All stored values plus the system fields, as the API shows them."""
        return {
            **self.data,
            "id": self.id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }


def _lead(row: sqlite3.Row) -> LeadRow:
    return LeadRow(
        row["id"], json.loads(row["data"]), row["created_at"], row["updated_at"], row["origin"]
    )


class Store:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA_SQL)
        self._add_missing_columns()
        self._depth = 0

    def _add_missing_columns(self) -> None:
        """Columns added after a data directory was made (SQLite's CREATE IF NOT EXISTS adds none)."""
        columns = {row["name"] for row in self._db.execute("PRAGMA table_info(bulk_jobs)")}
        if "object_name" not in columns:  # NULL: a lead import; else the custom object's API name
            self._db.execute("ALTER TABLE bulk_jobs ADD COLUMN object_name TEXT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._db
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._db.execute("COMMIT")

    # --- meta -----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row["value"]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    # --- indexes for searchable fields ----------------------------------------------------------
    def ensure_lead_index(self, field_name: str) -> None:
        if not field_name.isidentifier():
            raise ValueError(f"not a field name: {field_name!r}")
        with self.transaction() as db:
            db.execute(
                f"CREATE INDEX IF NOT EXISTS leads_f_{field_name} ON leads(json_extract(data, '$.{field_name}'))"
            )

    # --- leads ----------------------------------------------------------------------------------
    def insert_lead(self, data: dict[str, Any], now: str, origin: str = "api") -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO leads(email_lower, data, created_at, updated_at, origin) VALUES (?, ?, ?, ?, ?)",
                (_lower(data.get("email")), json.dumps(data), now, now, origin),
            )
            return int(cursor.lastrowid)

    def update_lead(self, lead_id: int, data: dict[str, Any], now: str) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE leads SET email_lower=?, data=?, updated_at=? WHERE id=?",
                (_lower(data.get("email")), json.dumps(data), now, lead_id),
            )

    def get_lead(self, lead_id: int) -> LeadRow | None:
        with self.transaction() as db:
            row = db.execute("SELECT * FROM leads WHERE id=?", (lead_id,)).fetchone()
        return _lead(row) if row else None

    def find_leads(
        self, field_name: str, values: list[Any], limit: int | None = None
    ) -> list[LeadRow]:
        """Leads whose ``field_name`` equals one of ``values`` (email case-insensitively), by id."""
        if not values:
            return []
        marks = ",".join("?" * len(values))
        if field_name == "id":
            sql, params = f"SELECT * FROM leads WHERE id IN ({marks})", list(values)
        elif field_name == "email":
            sql, params = (
                f"SELECT * FROM leads WHERE email_lower IN ({marks})",
                [_lower(v) for v in values],
            )
        else:
            if not field_name.isidentifier():
                raise ValueError(f"not a field name: {field_name!r}")
            sql = f"SELECT * FROM leads WHERE json_extract(data, '$.{field_name}') IN ({marks})"
            params = list(values)
        sql += " ORDER BY id"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self.transaction() as db:
            return [_lead(row) for row in db.execute(sql, params).fetchall()]

    def count_leads(self) -> int:
        with self.transaction() as db:
            return int(db.execute("SELECT COUNT(*) FROM leads").fetchone()[0])

    def all_leads(self) -> list[LeadRow]:
        with self.transaction() as db:
            return [_lead(row) for row in db.execute("SELECT * FROM leads ORDER BY id").fetchall()]

    def bury_lead(
        self, lead: LeadRow, kind: str, now: str, merged_into: int | None, request_id: str
    ) -> None:
        """Remove a lead from the live table, keeping it in the tombstones (kind: merged|deleted)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO lead_tombstones(id, kind, merged_into, data, created_at, updated_at, gone_at,"
                " origin, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    lead.id,
                    kind,
                    merged_into,
                    json.dumps(lead.data),
                    lead.created_at,
                    lead.updated_at,
                    now,
                    lead.origin,
                    request_id,
                ),
            )
            db.execute("DELETE FROM leads WHERE id=?", (lead.id,))

    def tombstones(self, kind: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM lead_tombstones"
        params: list[Any] = []
        if kind:
            sql += " WHERE kind=?"
            params.append(kind)
        with self.transaction() as db:
            rows = db.execute(sql + " ORDER BY id", params).fetchall()
        return [
            {
                "id": row["id"],
                "kind": row["kind"],
                "mergedInto": row["merged_into"],
                "record": {
                    **json.loads(row["data"]),
                    "id": row["id"],
                    "createdAt": row["created_at"],
                    "updatedAt": row["updated_at"],
                },
                "goneAt": row["gone_at"],
                "origin": row["origin"],
                "requestId": row["request_id"],
            }
            for row in rows
        ]

    def tombstone(self, lead_id: int) -> dict[str, Any] | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT kind, merged_into FROM lead_tombstones WHERE id=?", (lead_id,)
            ).fetchone()
        return {"kind": row["kind"], "mergedInto": row["merged_into"]} if row else None

    # --- the master email status (Durable Unsubscribe) ------------------------------------------------
    def email_status(self, email: str) -> bool | None:
        key = _lower(email)
        if key is None:
            return None
        with self.transaction() as db:
            row = db.execute("SELECT unsubscribed FROM email_status WHERE email_lower=?", (key,)).fetchone()
        return bool(row["unsubscribed"]) if row else None

    def set_email_status(self, email: str, unsubscribed: bool, now: str) -> None:
        key = _lower(email)
        if key is None:
            return
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO email_status(email_lower, unsubscribed, updated_at) VALUES (?, ?, ?)",
                (key, int(unsubscribed), now),
            )

    # --- activities -----------------------------------------------------------------------------
    def add_activity(
        self,
        lead_id: int,
        type_id: int,
        activity_date: str,
        attributes: list[dict[str, Any]],
        primary_attribute_value_id: int | None = None,
        primary_attribute_value: str | None = None,
    ) -> int:
        with self.transaction() as db:
            cursor = db.execute(
                "INSERT INTO activities(guid, lead_id, original_lead_id, activity_date, type_id,"
                " primary_attribute_value_id, primary_attribute_value, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(uuid.uuid4()),
                    lead_id,
                    lead_id,
                    activity_date,
                    type_id,
                    primary_attribute_value_id,
                    primary_attribute_value,
                    json.dumps(attributes),
                ),
            )
            return int(cursor.lastrowid)

    def move_activities(self, from_lead: int, to_lead: int) -> int:
        with self.transaction() as db:
            return db.execute(
                "UPDATE activities SET lead_id=? WHERE lead_id=?", (to_lead, from_lead)
            ).rowcount

    def activities_page(
        self,
        since: str,
        after_id: int,
        type_ids: list[int],
        lead_ids: list[int] | None,
        limit: int,
    ) -> tuple[list[dict[str, Any]], bool]:
        sql = "SELECT * FROM activities WHERE activity_date >= ? AND id > ?"
        params: list[Any] = [since, after_id]
        if type_ids:
            sql += f" AND type_id IN ({','.join('?' * len(type_ids))})"
            params += type_ids
        if lead_ids is not None:
            sql += f" AND lead_id IN ({','.join('?' * len(lead_ids))})"
            params += lead_ids
        sql += " ORDER BY id LIMIT ?"
        params.append(limit + 1)
        with self.transaction() as db:
            rows = db.execute(sql, params).fetchall()
        more = len(rows) > limit
        return [dict(row) for row in rows[:limit]], more

    def max_activity_id_before(self, since: str) -> int:
        with self.transaction() as db:
            row = db.execute(
                "SELECT MAX(id) FROM activities WHERE activity_date < ?", (since,)
            ).fetchone()
        return int(row[0] or 0)

    def activities_for_lead(self, lead_id: int) -> list[dict[str, Any]]:
        with self.transaction() as db:
            rows = db.execute(
                "SELECT * FROM activities WHERE lead_id=? ORDER BY id", (lead_id,)
            ).fetchall()
        return [dict(row) for row in rows]


def _lower(value: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None
