"""A local note of the ``SystemModstamp`` each record had right after the push wrote it back.

Only an optimisation: Salesforce holds the truth (see :mod:`python_tasks.push.state`). Without
this note every record the push wrote back would look changed (the write-back itself moves
``SystemModstamp``) and be pushed again once; with it, a record whose stamp is still the one the
push left is known unchanged. Losing the file (a new machine, ``make clean``) costs one idempotent
re-push of everything, never a lost change. One SQLite file per org and Marketo instance.
"""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Iterable, Mapping


class PushCache:
    def __init__(self, directory: Path, org_id: str, marketo_url: str) -> None:
        host = re.sub(r"[^A-Za-z0-9.-]+", "_", marketo_url.split("://", 1)[-1]).strip("_")
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"push-seen-{org_id}-{host}.sqlite3"
        self.db = sqlite3.connect(self.path)
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, stamp TEXT NOT NULL)")
        self.db.commit()

    def get_many(self, ids: Iterable[str]) -> dict[str, str]:
        wanted = list(ids)
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(self.db.execute(f"SELECT id, stamp FROM seen WHERE id IN ({marks})", chunk).fetchall())
        return found

    def put_many(self, stamps: Mapping[str, str]) -> None:
        with self.db:
            self.db.executemany("INSERT OR REPLACE INTO seen (id, stamp) VALUES (?, ?)", list(stamps.items()))

    def forget(self, ids: Iterable[str]) -> None:
        with self.db:
            self.db.executemany("DELETE FROM seen WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        self.db.close()
