"""The event bus's storage. Events, their schemas and the commit counter live in the org's own SQLite
file (tables ``_pubsub_*``) and are written inside the data transaction that made the changes: they
commit or roll back with the data, so a crash can never keep a change without its event or an event
without its change. Subscribers read through a connection of their own (WAL: readers never block the
writer). The day's delivery count (``DailyDeliveredPlatformEvents``) is kept in ``pubsub.sqlite3``.

Replay ids are 8-byte big-endian numbers, growing with every event (Salesforce's are opaque bytes;
clients store and send them back). A new bus starts them above any an older bus of the folder handed
out. Events older than the retention are not delivered and are deleted by ``prune``.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

REPLAY_BYTES = 8
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS _pubsub_event (replay INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL,"
    " schema_id TEXT NOT NULL, event_id TEXT NOT NULL, payload BLOB NOT NULL, published_at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS _pubsub_event_entity ON _pubsub_event (entity, replay)",
    "CREATE INDEX IF NOT EXISTS _pubsub_event_time ON _pubsub_event (published_at)",
    "CREATE TABLE IF NOT EXISTS _pubsub_schema (schema_id TEXT PRIMARY KEY, entity TEXT NOT NULL, json TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _pubsub_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
)
_LATEST = "SELECT seq FROM sqlite_sequence WHERE name = '_pubsub_event'"


def replay_bytes(replay: int) -> bytes:
    return replay.to_bytes(REPLAY_BYTES, "big")


def replay_number(replay_id: bytes) -> int:
    if len(replay_id) != REPLAY_BYTES:
        raise ValueError(f"a replay id of this org has {REPLAY_BYTES} bytes; got {len(replay_id)}")
    return int.from_bytes(replay_id, "big")


@dataclass(frozen=True)
class StoredEvent:
    replay: int
    entity: str
    schema_id: str
    event_id: str
    payload: bytes
    published_at: float


@dataclass(frozen=True)
class NewEvent:
    entity: str
    schema_id: str
    schema_json: str
    event_id: str
    payload: bytes


class EventLog:
    def __init__(self, store: Any, deliveries_path: Path, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        with store.transaction() as tx:
            tx.begin_write()
            for statement in _SCHEMA:
                tx.execute(statement)
            if tx.execute(_LATEST).fetchone() is None:
                # above any replay id an older bus of this folder handed out (before `localcloud reset`),
                # so a stored replay id of the old bus is refused, never misread
                tx.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('_pubsub_event', ?)",
                           (int(self.clock() * 1000) << 16,))
        self._db = sqlite3.connect(str(store.path), check_same_thread=False, isolation_level=None,
                                   timeout=30)
        self._db.execute("PRAGMA busy_timeout=30000")
        self._side = sqlite3.connect(str(deliveries_path), check_same_thread=False, isolation_level=None)
        self._side.execute("PRAGMA journal_mode=WAL")
        self._side.execute("CREATE TABLE IF NOT EXISTS delivery (day TEXT PRIMARY KEY, events INTEGER NOT NULL)")
        self._closed = False

    # -- writing (inside a data transaction) -----------------------------------------------------
    def next_commit_number(self, tx: Any) -> int:
        tx.execute("INSERT INTO _pubsub_counter (name, value) VALUES ('commit', 1)"
                   " ON CONFLICT(name) DO UPDATE SET value = value + 1")
        return int(tx.execute("SELECT value FROM _pubsub_counter WHERE name = 'commit'").fetchone()[0])

    def append(self, tx: Any, events: Sequence[NewEvent]) -> list[int]:
        """Store events in ``tx`` (a writing data transaction): they commit with it; subscribers are
        woken once it has committed."""
        now = self.clock()
        replays: list[int] = []
        for event in events:
            tx.execute("INSERT OR IGNORE INTO _pubsub_schema (schema_id, entity, json) VALUES (?,?,?)",
                       (event.schema_id, event.entity, event.schema_json))
            cursor = tx.execute(
                "INSERT INTO _pubsub_event (entity, schema_id, event_id, payload, published_at) VALUES (?,?,?,?,?)",
                (event.entity, event.schema_id, event.event_id, event.payload, now))
            replays.append(int(cursor.lastrowid or 0))
        if replays:
            tx.on_commit(self._wake)
        return replays

    def _wake(self) -> None:
        with self._appended:
            self._appended.notify_all()

    def prune(self, retention_seconds: float) -> int:
        """Delete events older than the retention; returns how many."""
        with self.store.transaction() as tx:
            tx.begin_write()
            cursor = tx.execute("DELETE FROM _pubsub_event WHERE published_at < ?",
                                (self.clock() - retention_seconds,))
            return cursor.rowcount

    # -- reading ------------------------------------------------------------------------------
    def _latest_locked(self) -> int:
        row = self._db.execute(_LATEST).fetchone()
        return int(row[0]) if row else 0

    def latest(self) -> int:
        """The replay id of the newest event ever stored (the bus's starting point when none)."""
        with self._lock:
            return self._latest_locked()

    def earliest_retained(self, retention_seconds: float) -> int | None:
        """The replay id of the oldest event still within retention (None when there is none)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(replay) FROM _pubsub_event WHERE published_at >= ?",
                                   (self.clock() - retention_seconds,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def read_after(self, replay: int, entities: Iterable[str] | None, limit: int,
                   retention_seconds: float) -> list[StoredEvent]:
        sql = ("SELECT replay, entity, schema_id, event_id, payload, published_at FROM _pubsub_event"
               " WHERE replay > ? AND published_at >= ?")
        params: list[object] = [replay, self.clock() - retention_seconds]
        if entities is not None:
            names = sorted(entities)
            if not names:
                return []
            sql += f" AND entity IN ({','.join('?' * len(names))})"
            params += names
        sql += " ORDER BY replay LIMIT ?"
        params.append(limit)
        with self._lock:
            rows = self._db.execute(sql, params).fetchall()
        return [StoredEvent(int(r[0]), r[1], r[2], r[3], bytes(r[4]), float(r[5])) for r in rows]

    def wait_for_event_after(self, replay: int, timeout: float) -> None:
        """Block until an event newer than ``replay`` is stored, or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._appended:
            while not self._closed:
                if self._latest_locked() > replay:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._appended.wait(min(remaining, 1.0))  # also sees commits of other processes

    def schema(self, schema_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT json FROM _pubsub_schema WHERE schema_id = ?", (schema_id,)).fetchone()
        return row[0] if row else None

    # -- deliveries (DailyDeliveredPlatformEvents) ----------------------------------------------
    def count_deliveries(self, day: str, events: int) -> int:
        with self._lock:
            self._side.execute("INSERT INTO delivery (day, events) VALUES (?, ?)"
                               " ON CONFLICT(day) DO UPDATE SET events = events + excluded.events", (day, events))
            return int(self._side.execute("SELECT events FROM delivery WHERE day = ?", (day,)).fetchone()[0])

    def deliveries(self, day: str) -> int:
        with self._lock:
            row = self._side.execute("SELECT events FROM delivery WHERE day = ?", (day,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._appended.notify_all()
            self._db.close()
            self._side.close()
