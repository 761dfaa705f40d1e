"""The Dev Hub's books: one row per scratch org, read as ``ScratchOrgInfo`` and ``ActiveScratchOrg`` records.

A row is created Active (the local org is made in well under a second, so the sf CLI's first poll finds
it ready), becomes Deleted when ``ActiveScratchOrg`` is deleted or the org expires, and keeps its
``ScratchOrgInfo`` history after that, as a Dev Hub does. The file is ``registry.sqlite3`` in the hub's
``devhub`` folder; each org's data is in ``orgs/<org id>/`` beside it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from localcloud.salesforce.data.ids import make_id

INFO_PREFIX = "2SR"  # ScratchOrgInfo
ACTIVE_PREFIX = "2AS"  # ActiveScratchOrg
MAX_DURATION_DAYS = 30
DEFAULT_DURATION_DAYS = 7
EDITIONS = {"developer": "Developer", "enterprise": "Enterprise", "group": "Group", "professional": "Professional",
            "partner developer": "Partner Developer", "partner enterprise": "Partner Enterprise"}
ORG_TYPES = {"Developer": "Developer Edition", "Enterprise": "Enterprise Edition", "Group": "Group Edition",
             "Professional": "Professional Edition", "Partner Developer": "Developer Edition",
             "Partner Enterprise": "Enterprise Edition"}

_COLUMNS = ("info_id", "active_id", "org_number", "org_id", "status", "edition", "features", "org_name",
            "description", "duration_days", "username", "admin_email", "country", "language", "port",
            "consumer_key", "callback_url", "auth_code", "created_ms", "expires_ms", "deleted_ms", "namespace")


@dataclass(frozen=True)
class ScratchOrgRow:
    info_id: str
    active_id: str
    org_number: int
    org_id: str
    status: str  # Active | Deleted
    edition: str
    features: tuple[str, ...]
    org_name: str
    description: str | None
    duration_days: int
    username: str
    admin_email: str | None
    country: str | None
    language: str | None
    port: int
    consumer_key: str
    callback_url: str
    auth_code: str | None
    created_ms: int
    expires_ms: int
    deleted_ms: int | None
    namespace: str | None

    @property
    def org_id15(self) -> str:
        return self.org_id[:15]

    def login_url(self, host: str) -> str:
        return f"https://{host}:{self.port}"


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def iso_date(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d")


class Registry:
    """Thread-safe; ``clock`` (seconds) is settable so tests move time."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS scratch_orgs (info_id TEXT PRIMARY KEY, active_id TEXT UNIQUE,"
            " org_number INTEGER UNIQUE, org_id TEXT, status TEXT, edition TEXT, features TEXT, org_name TEXT,"
            " description TEXT, duration_days INTEGER, username TEXT UNIQUE, admin_email TEXT, country TEXT,"
            " language TEXT, port INTEGER, consumer_key TEXT, callback_url TEXT, auth_code TEXT,"
            " created_ms INTEGER, expires_ms INTEGER, deleted_ms INTEGER, namespace TEXT)")

    def _row(self, values: tuple[Any, ...]) -> ScratchOrgRow:
        data = dict(zip(_COLUMNS, values))
        data["features"] = tuple(json.loads(data["features"] or "[]"))
        return ScratchOrgRow(**data)

    def _select(self, where: str = "", args: tuple[Any, ...] = ()) -> list[ScratchOrgRow]:
        with self._lock:
            rows = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM scratch_orgs {where} ORDER BY created_ms, info_id",
                                    args).fetchall()
        return [self._row(r) for r in rows]

    def all(self) -> list[ScratchOrgRow]:
        return self._select()

    def active(self) -> list[ScratchOrgRow]:
        return self._select("WHERE status = 'Active'")

    def by_info_id(self, info_id: str) -> ScratchOrgRow | None:
        rows = self._select("WHERE substr(info_id, 1, 15) = ?", (info_id[:15],))
        return rows[0] if rows else None

    def by_active_id(self, active_id: str) -> ScratchOrgRow | None:
        rows = self._select("WHERE substr(active_id, 1, 15) = ? AND status = 'Active'", (active_id[:15],))
        return rows[0] if rows else None

    def username_taken(self, username: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM scratch_orgs WHERE username = ?", (username,)).fetchone() is not None

    def reserve(self, *, edition: str, features: list[str], org_name: str, description: str | None,
                duration_days: int, username: str, admin_email: str | None, country: str | None,
                language: str | None, consumer_key: str, callback_url: str, namespace: str | None) -> ScratchOrgRow:
        """A new row (status New) with the next org number; ``activate`` completes it."""
        now_ms = int(self.clock() * 1000)
        with self._lock:
            number = (self._db.execute("SELECT COALESCE(MAX(org_number), 1) FROM scratch_orgs").fetchone()[0]) + 1
            info_id = make_id(INFO_PREFIX, number, pod="5f")
            active_id = make_id(ACTIVE_PREFIX, number, pod="5f")
            values = dict(info_id=info_id, active_id=active_id, org_number=number, org_id=None, status="New",
                          edition=edition, features=json.dumps(features), org_name=org_name, description=description,
                          duration_days=duration_days, username=username, admin_email=admin_email, country=country,
                          language=language, port=0, consumer_key=consumer_key, callback_url=callback_url,
                          auth_code=None, created_ms=now_ms, expires_ms=now_ms + duration_days * 86_400_000,
                          deleted_ms=None, namespace=namespace)
            self._db.execute(f"INSERT INTO scratch_orgs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                             tuple(values.values()))
        row = self.by_info_id(info_id)
        assert row is not None
        return row

    def activate(self, info_id: str, *, org_id: str, port: int, auth_code: str) -> ScratchOrgRow:
        with self._lock:
            self._db.execute("UPDATE scratch_orgs SET status = 'Active', org_id = ?, port = ?, auth_code = ? "
                             "WHERE info_id = ?", (org_id, port, auth_code, info_id))
        row = self.by_info_id(info_id)
        assert row is not None
        return row

    def forget_failed(self, info_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM scratch_orgs WHERE info_id = ? AND status = 'New'", (info_id,))

    def mark_deleted(self, info_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE scratch_orgs SET status = 'Deleted', deleted_ms = ?, auth_code = NULL "
                             "WHERE info_id = ?", (int(self.clock() * 1000), info_id))

    def due(self) -> list[ScratchOrgRow]:
        """Active orgs past their expiration."""
        return self._select("WHERE status = 'Active' AND expires_ms <= ?", (int(self.clock() * 1000),))

    def close(self) -> None:
        with self._lock:
            self._db.close()


def signup_username() -> str:
    """What Salesforce gives a scratch org's admin when the definition names none."""
    return f"test-{secrets.token_hex(6)}@example.com"
