"""What a push keeps between runs on this machine, per org and Marketo instance (one SQLite file):

* the **watermark**: the org's clock (never this machine's) at the start of the last read whose
  records were all handled. The next run reads only records whose ``SystemModstamp`` (indexed)
  and change stamp are at or past it, less the overlap (see :mod:`python_tasks.push.state`);
* the **consent read-back's token** (and its own retry set): where the next read of Marketo's
  unsubscribe activities starts (:mod:`python_tasks.push.consent_readback`);
* the **retry set**: records a run could not finish (Marketo rejected them, their write-back
  failed, or they changed while the run wrote them back). They are read again by Id on every run
  until a run finishes them, however old their change is.

Both are written in one SQLite transaction at the end of a run, after every write-back; a run
killed before that leaves the old watermark and retry set, so the next run reads the same records
again (their writes are idempotent). Losing the file (a new machine, ``make clean``) costs one full
read, never a lost change: Salesforce keeps the truth on every record.
"""
from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Iterable

from python_tasks.push.convert import parse_sf_datetime
from python_tasks.push.state import format_sf_datetime


READBACK_TOKEN = "consent_readback_token"
READBACK_RETRY = "consent_readback_retry"


@dataclass
class Checkpoint:
    watermark: datetime | None
    fingerprint: str = ""  # of the mapping the watermark was reached with
    pushed_seconds: list[datetime] = field(default_factory=list)  # whole seconds of recent write-backs, oldest first
    retry: dict[str, set[str]] = field(default_factory=dict)  # object name -> record ids

    def retry_ids(self, object_name: str) -> list[str]:
        return sorted(self.retry.get(object_name, ()))


class PushCache:
    def __init__(self, directory: Path, org_id: str, marketo_url: str) -> None:
        host = re.sub(r"[^A-Za-z0-9.-]+", "_", marketo_url.split("://", 1)[-1]).strip("_")
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"push-state-{org_id}-{host}.sqlite3"
        self.db = sqlite3.connect(self.path)
        with self.db:
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            self.db.execute("CREATE TABLE IF NOT EXISTS retry (object TEXT NOT NULL, id TEXT NOT NULL, "
                            "PRIMARY KEY (object, id))")

    def checkpoint(self) -> Checkpoint:
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        retry: dict[str, set[str]] = {}
        for object_name, record_id in self.db.execute("SELECT object, id FROM retry"):
            retry.setdefault(object_name, set()).add(record_id)
        watermark = meta.get("watermark")
        recent = [parse_sf_datetime(t) for t in json.loads(meta.get("pushed_seconds", "[]"))]
        return Checkpoint(parse_sf_datetime(watermark) if watermark else None, fingerprint=meta.get("fingerprint", ""),
                          retry=retry, pushed_seconds=recent)

    def save(self, watermark: datetime, retry: dict[str, Iterable[str]], fingerprint: str = "",
             pushed_seconds: Iterable[datetime] = ()) -> None:
        """The end of a run: the new watermark and the records the next run must read again."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('watermark', ?)",
                            (format_sf_datetime(watermark),))
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('fingerprint', ?)", (fingerprint,))
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('pushed_seconds', ?)",
                            (json.dumps([format_sf_datetime(t) for t in pushed_seconds]),))
            self.db.execute("DELETE FROM retry")
            self.db.executemany("INSERT OR IGNORE INTO retry (object, id) VALUES (?, ?)",
                                [(o, i) for o, ids in retry.items() for i in ids])

    def save_retry(self, retry: dict[str, Iterable[str]]) -> None:
        """Replace the retry set only (a streamed batch: the watermark stays the catch-up's)."""
        with self.db:
            self.db.execute("DELETE FROM retry")
            self.db.executemany("INSERT OR IGNORE INTO retry (object, id) VALUES (?, ?)",
                                [(o, i) for o, ids in retry.items() for i in ids])

    def replay_id(self) -> bytes | None:
        """The Pub/Sub replay id after the last streamed batch whose push succeeded (None: catch up)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'replay_id'").fetchone()
        return bytes.fromhex(row[0]) if row else None

    def save_replay_id(self, replay_id: bytes | None) -> None:
        with self.db:
            if replay_id is None:
                self.db.execute("DELETE FROM meta WHERE key = 'replay_id'")
            else:
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('replay_id', ?)",
                                (replay_id.hex(),))

    def readback_state(self) -> tuple[str | None, dict[str, str]]:
        """The consent read-back's Marketo paging token (None: never read) and the Marketo lead ids whose
        opt-out could not be written to Salesforce yet, with why (:mod:`python_tasks.push.consent_readback`)."""
        meta = dict(self.db.execute("SELECT key, value FROM meta WHERE key IN (?, ?)",
                                    (READBACK_TOKEN, READBACK_RETRY)).fetchall())
        return meta.get(READBACK_TOKEN), json.loads(meta.get(READBACK_RETRY, "{}"))

    def save_readback_state(self, token: str, retry: dict[str, str]) -> None:
        """After the read-back's Salesforce writes: where the next read starts, and what it tries again."""
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (READBACK_TOKEN, token))
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                            (READBACK_RETRY, json.dumps(retry, sort_keys=True)))

    def forget(self) -> None:
        """The next run reads everything (``full``, or a mapping that reads new fields). The consent
        read-back's token stays: it reads Marketo's activities, not Salesforce's changes."""
        with self.db:
            self.db.execute("DELETE FROM meta WHERE key NOT IN (?, ?)", (READBACK_TOKEN, READBACK_RETRY))
            self.db.execute("DELETE FROM retry")

    def close(self) -> None:
        self.db.close()
