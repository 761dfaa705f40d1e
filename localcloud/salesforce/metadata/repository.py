"""Deployed metadata the data store does not hold: Apex sources, permission sets, other components.

One SQLite file (``metadata.sqlite3`` beside the data store). The Apex runtime reads classes and
triggers from here::

    repo = MetadataRepository(path)
    for source in repo.apex_classes(): ...      # ApexSource(kind, name, body, api_version, status, ...)
    repo.apex_class("EcEventsResource")         # or None
    repo.apex_triggers(table_name="Contact")

Rows mirror the Tooling objects ``ApexClass`` / ``ApexTrigger`` (Id, Name, Body, Status,
ApiVersion, LengthWithoutComments, TableName, NamespacePrefix = null, CreatedDate,
LastModifiedDate) so the Tooling API can answer queries on them.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterable

from localcloud.salesforce.data import make_id
from localcloud.salesforce.metadata.apex_source import ApexSource

APEX_CLASS_PREFIX = "01p"
APEX_TRIGGER_PREFIX = "01q"
DEPLOY_PREFIX = "0Af"
PERMISSION_SET_META_PREFIX = "0PS"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS apex_source (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL COLLATE NOCASE,
    body TEXT NOT NULL,
    api_version TEXT NOT NULL,
    status TEXT NOT NULL,
    length_without_comments INTEGER NOT NULL,
    table_name TEXT,
    file_name TEXT,
    created_date TEXT NOT NULL,
    last_modified_date TEXT NOT NULL,
    UNIQUE (kind, name)
);
CREATE TABLE IF NOT EXISTS component (
    type TEXT NOT NULL,
    full_name TEXT NOT NULL COLLATE NOCASE,
    file_name TEXT NOT NULL,
    body BLOB NOT NULL,
    meta_xml BLOB,
    last_deploy_id TEXT,
    last_modified_date TEXT NOT NULL,
    PRIMARY KEY (type, full_name)
);
CREATE TABLE IF NOT EXISTS permission_set (
    name TEXT PRIMARY KEY COLLATE NOCASE,
    definition TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deploy_result (
    id TEXT PRIMARY KEY,
    result TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counter (
    prefix TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class MetadataRepository:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    # -- ids --------------------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO counter (prefix, value) VALUES (?, 1) ON CONFLICT(prefix) DO UPDATE SET value = value + 1",
                (prefix,),
            )
            value = self._db.execute("SELECT value FROM counter WHERE prefix = ?", (prefix,)).fetchone()[0]
        return make_id(prefix, value, pod="5f")

    # -- Apex -------------------------------------------------------------------------------------

    def _source(self, row: sqlite3.Row) -> ApexSource:
        return ApexSource(
            kind=row["kind"], name=row["name"], body=row["body"], api_version=row["api_version"],
            status=row["status"], file_name=row["file_name"] or "", table_name=row["table_name"],
        )

    def apex_sources(self, kind: str | None = None) -> list[ApexSource]:
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM apex_source WHERE (? IS NULL OR kind = ?) ORDER BY name", (kind, kind)
            ).fetchall()
        return [self._source(r) for r in rows]

    def apex_classes(self) -> list[ApexSource]:
        return self.apex_sources("ApexClass")

    def apex_triggers(self, table_name: str | None = None) -> list[ApexSource]:
        triggers = self.apex_sources("ApexTrigger")
        if table_name:
            triggers = [t for t in triggers if (t.table_name or "").lower() == table_name.lower()]
        return triggers

    def apex_class(self, name: str) -> ApexSource | None:
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM apex_source WHERE kind = 'ApexClass' AND name = ?", (name,)
            ).fetchone()
        return self._source(row) if row else None

    def apex_rows(self, kind: str) -> list[dict[str, Any]]:
        """Tooling-shaped rows (``ApexClass`` / ``ApexTrigger`` field names)."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM apex_source WHERE kind = ? ORDER BY name", (kind,)).fetchall()
        out = []
        for row in rows:
            record = {
                "Id": row["id"], "Name": row["name"], "Body": row["body"], "ApiVersion": float(row["api_version"]),
                "Status": row["status"], "LengthWithoutComments": row["length_without_comments"],
                "NamespacePrefix": None, "IsValid": True, "CreatedDate": row["created_date"],
                "LastModifiedDate": row["last_modified_date"], "SystemModstamp": row["last_modified_date"],
            }
            if kind == "ApexTrigger":
                record["TableEnumOrId"] = row["table_name"]
            out.append(record)
        return out

    def save_apex(self, sources: Iterable[ApexSource]) -> dict[tuple[str, str], tuple[str, bool]]:
        """Insert or replace sources; returns {(kind, name): (id, created)}."""
        saved: dict[tuple[str, str], tuple[str, bool]] = {}
        stamp = now_iso()
        with self._lock, self._db:
            for source in sources:
                row = self._db.execute(
                    "SELECT id FROM apex_source WHERE kind = ? AND name = ?", (source.kind, source.name)
                ).fetchone()
                if row:
                    self._db.execute(
                        "UPDATE apex_source SET name = ?, body = ?, api_version = ?, status = ?, length_without_comments = ?,"
                        " table_name = ?, file_name = ?, last_modified_date = ? WHERE id = ?",
                        (source.name, source.body, source.api_version, source.status, source.length_without_comments,
                         source.table_name, source.file_name, stamp, row["id"]),
                    )
                    saved[(source.kind, source.name)] = (row["id"], False)
                else:
                    prefix = APEX_CLASS_PREFIX if source.kind == "ApexClass" else APEX_TRIGGER_PREFIX
                    new_id = self._next_id_locked(prefix)
                    self._db.execute(
                        "INSERT INTO apex_source (id, kind, name, body, api_version, status, length_without_comments,"
                        " table_name, file_name, created_date, last_modified_date) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (new_id, source.kind, source.name, source.body, source.api_version, source.status,
                         source.length_without_comments, source.table_name, source.file_name, stamp, stamp),
                    )
                    saved[(source.kind, source.name)] = (new_id, True)
        return saved

    def delete_apex(self, kind: str, name: str) -> bool:
        with self._lock, self._db:
            return self._db.execute("DELETE FROM apex_source WHERE kind = ? AND name = ?", (kind, name)).rowcount > 0

    def _next_id_locked(self, prefix: str) -> str:
        self._db.execute(
            "INSERT INTO counter (prefix, value) VALUES (?, 1) ON CONFLICT(prefix) DO UPDATE SET value = value + 1",
            (prefix,),
        )
        value = self._db.execute("SELECT value FROM counter WHERE prefix = ?", (prefix,)).fetchone()[0]
        return make_id(prefix, value, pod="5f")

    # -- other components -------------------------------------------------------------------------

    def component_exists(self, type_name: str, full_name: str) -> bool:
        with self._lock:
            return self._db.execute(
                "SELECT 1 FROM component WHERE type = ? AND full_name = ?", (type_name, full_name)
            ).fetchone() is not None

    def components(self, type_name: str) -> list[dict[str, Any]]:
        """The stored components of one metadata type: full name, file name and last change."""
        with self._lock:
            rows = self._db.execute(
                "SELECT full_name, file_name, last_modified_date FROM component WHERE type = ? ORDER BY full_name",
                (type_name,),
            ).fetchall()
        return [{"fullName": r[0], "fileName": r[1], "lastModifiedDate": r[2]} for r in rows]

    def delete_component(self, type_name: str, full_name: str) -> bool:
        with self._lock, self._db:
            return self._db.execute("DELETE FROM component WHERE type = ? AND full_name = ?",
                                    (type_name, full_name)).rowcount > 0

    def component_body(self, type_name: str, full_name: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM component WHERE type = ? AND full_name = ?",
                                   (type_name, full_name)).fetchone()
        return bytes(row[0]) if row else None

    def component_bodies(self, type_name: str) -> list[tuple[str, bytes]]:
        """(full name, body) of every stored component of a type (e.g. CustomLabels)."""
        with self._lock:
            rows = self._db.execute("SELECT full_name, body FROM component WHERE type = ? ORDER BY full_name",
                                    (type_name,)).fetchall()
        return [(row[0], bytes(row[1] or b"")) for row in rows]

    def save_components(self, deploy_id: str, components: Iterable[tuple[str, str, str, bytes, bytes | None]]) -> None:
        stamp = now_iso()
        with self._lock, self._db:
            self._db.executemany(
                "INSERT INTO component (type, full_name, file_name, body, meta_xml, last_deploy_id, last_modified_date)"
                " VALUES (?,?,?,?,?,?,?) ON CONFLICT(type, full_name) DO UPDATE SET file_name = excluded.file_name,"
                " body = excluded.body, meta_xml = excluded.meta_xml, last_deploy_id = excluded.last_deploy_id,"
                " last_modified_date = excluded.last_modified_date",
                [(t, n, f, b, m, deploy_id, stamp) for t, n, f, b, m in components],
            )

    def save_permission_set(self, name: str, definition: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO permission_set (name, definition) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET definition = excluded.definition",
                (name, json.dumps(definition)),
            )

    def cache_partitions(self) -> list[dict[str, Any]]:
        """The deployed Platform Cache partitions (name, is_default, org_mb, session_mb)."""
        from localcloud.salesforce.metadata.cachepartitions import org_partitions
        return org_partitions(self)

    def permission_set(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT definition FROM permission_set WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    # -- deploy results ---------------------------------------------------------------------------

    def save_deploy_result(self, deploy_id: str, result: dict[str, Any]) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO deploy_result (id, result) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET result = excluded.result",
                (deploy_id, json.dumps(result)),
            )

    def deploy_result(self, deploy_id: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT result FROM deploy_result WHERE id = ?", (deploy_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
