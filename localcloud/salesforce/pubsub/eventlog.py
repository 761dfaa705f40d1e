"""The event bus's storage: every published event with its replay id, the schemas events were
written with, and the day's delivery count. One SQLite file beside the org's data.

Replay ids are 8-byte big-endian numbers, growing with every event (Salesforce's are opaque bytes;
clients store and send them back). Events older than the retention are not delivered and are
deleted by ``prune``.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

REPLAY_BYTES = 8


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
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(
            "CREATE TABLE IF NOT EXISTS event (replay INTEGER PRIMARY KEY AUTOINCREMENT, entity TEXT NOT NULL,"
            " schema_id TEXT NOT NULL, event_id TEXT NOT NULL, payload BLOB NOT NULL, published_at REAL NOT NULL);"
            "CREATE INDEX IF NOT EXISTS event_entity ON event (entity, replay);"
            "CREATE INDEX IF NOT EXISTS event_time ON event (published_at);"
            "CREATE TABLE IF NOT EXISTS schema (schema_id TEXT PRIMARY KEY, entity TEXT NOT NULL, json TEXT NOT NULL);"
            "CREATE TABLE IF NOT EXISTS counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS delivery (day TEXT PRIMARY KEY, events INTEGER NOT NULL);"
        )
        if self._db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'event'").fetchone() is None:
            # a new bus starts its replay ids above any an older bus of this folder handed out (before a
            # `localcloud reset`), so a stored replay id of the old bus is refused, never misread
            self._db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('event', ?)",
                             (int(self.clock() * 1000) << 16,))
        self._closed = False

    # -- writing ------------------------------------------------------------------------------
    def next_commit_number(self) -> int:
        with self._lock:
            self._db.execute("INSERT INTO counter (name, value) VALUES ('commit', 1)"
                             " ON CONFLICT(name) DO UPDATE SET value = value + 1")
            return int(self._db.execute("SELECT value FROM counter WHERE name = 'commit'").fetchone()[0])

    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Store the events of one commit at once (all or none) and wake the subscribers."""
        if not events:
            return []
        now = self.clock()
        with self._lock:
            replays: list[int] = []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for event in events:
                    self._db.execute("INSERT OR IGNORE INTO schema (schema_id, entity, json) VALUES (?,?,?)",
                                     (event.schema_id, event.entity, event.schema_json))
                    cursor = self._db.execute(
                        "INSERT INTO event (entity, schema_id, event_id, payload, published_at) VALUES (?,?,?,?,?)",
                        (event.entity, event.schema_id, event.event_id, event.payload, now))
                    replays.append(int(cursor.lastrowid or 0))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._appended.notify_all()
        return replays

    def prune(self, retention_seconds: float) -> int:
        """Delete events older than the retention; returns how many."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM event WHERE published_at < ?", (self.clock() - retention_seconds,))
            return cursor.rowcount

    # -- reading ------------------------------------------------------------------------------
    def latest(self) -> int:
        """The replay id of the newest event ever stored (the starting point when none)."""
        with self._lock:
            row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event'").fetchone()
        return int(row[0]) if row else 0

    def earliest_retained(self, retention_seconds: float) -> int | None:
        """The replay id of the oldest event still within retention (None when there is none)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(replay) FROM event WHERE published_at >= ?",
                                   (self.clock() - retention_seconds,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def read_after(self, replay: int, entities: Iterable[str] | None, limit: int,
                   retention_seconds: float) -> list[StoredEvent]:
        sql = ("SELECT replay, entity, schema_id, event_id, payload, published_at FROM event"
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
                row = self._db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'event'").fetchone()
                if row and int(row[0]) > replay:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self._appended.wait(remaining)

    def schema(self, schema_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT json FROM schema WHERE schema_id = ?", (schema_id,)).fetchone()
        return row[0] if row else None

    # -- deliveries (DailyDeliveredPlatformEvents) ----------------------------------------------
    def count_deliveries(self, day: str, events: int) -> int:
        with self._lock:
            self._db.execute("INSERT INTO delivery (day, events) VALUES (?, ?)"
                             " ON CONFLICT(day) DO UPDATE SET events = events + excluded.events", (day, events))
            return int(self._db.execute("SELECT events FROM delivery WHERE day = ?", (day,)).fetchone()[0])

    def deliveries(self, day: str) -> int:
        with self._lock:
            row = self._db.execute("SELECT events FROM delivery WHERE day = ?", (day,)).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._appended.notify_all()
            self._db.close()
