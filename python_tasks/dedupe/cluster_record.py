"""The duplicate clusters push_marketo met, kept for marketo_dedupe: one line per cluster and instance.

When a push's lookup matches several Marketo persons it writes to the best one and records the
cluster here; ``marketo_dedupe`` reads the clusters of the instance it dedupes as extra links
(:func:`python_tasks.dedupe.clusters.find_clusters`) and, after a run that applied its plan, drops
the ones it settled. A JSON line per cluster::

    {"instance": "https://123-abc-456.mktorest.com", "key": "email:yui@example.jp",
     "candidates": [3, 7], "chosen": 7, "reason": "...", "first_at": "...", "at": "..."}

A cluster is identified by instance + identity key + sorted candidate ids: meeting it again updates
``at``, ``chosen`` and ``reason`` of its line instead of adding one, so the file holds each open
cluster once however often pushes meet it. ``instance`` is the Marketo base URL in a normal form
(:func:`normalise_instance`), so clusters of the local Marketo, a sandbox and production never mix
even though their lead ids overlap. Lines written before the instance was recorded, and lines that
are not JSON objects (an old file's torn last line), are kept as they are: this module never drops
what it cannot attribute; dedupe ignores them and says so.

Every change is a read-modify-write under an exclusive ``flock`` on ``<file>.lock`` beside the file
(held for the few milliseconds of the rewrite; the OS releases it when its holder dies, as with the
push's run lock in :mod:`python_tasks.push.lock`), and the new content replaces the file atomically
(temporary file, fsync, ``os.replace``). A reader sees the old file or the new one, never half of
one, and a push and a dedupe (of any instance, sharing the file) never lose each other's lines.
The lock is per file rather than per instance because one file holds the lines of every instance.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Iterable, Iterator, Sequence, Union
from urllib.parse import urlsplit

LOCK_WAIT_SECONDS = 60.0
_POLL_SECONDS = 0.05

Ident = tuple[str, str, tuple[int, ...]]  # (instance, identity key, sorted candidate ids)


def normalise_instance(base_url: str) -> str:
    """``scheme://host[:port][/path]``: lower-case scheme and host, default port and trailing
    ``/``, ``/rest`` or ``/identity`` dropped (the forms Admin > Web Services shows)."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not scheme or not host:
        raise ValueError(f"{base_url!r} is not a Marketo base URL (https://<munchkin id>.mktorest.com)")
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and (scheme, port) not in (("https", 443), ("http", 80)):
        host += f":{port}"
    path = parts.path.rstrip("/")
    for suffix in ("/rest", "/identity"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    return f"{scheme}://{host}{path}"


@dataclass(frozen=True)
class Sighting:
    """One cluster a push met: the identity key looked up, the persons it matched, the one written."""
    key: str
    candidates: Sequence[int]
    chosen: int | None
    reason: str = ""


@dataclass(frozen=True)
class RecordedCluster:
    instance: str
    key: str
    candidates: tuple[int, ...]
    chosen: int | None
    reason: str
    at: str
    first_at: str

    @property
    def ident(self) -> Ident:
        return (self.instance, self.key, self.candidates)

    def to_json(self) -> str:
        return json.dumps({"instance": self.instance, "key": self.key, "candidates": list(self.candidates),
                           "chosen": self.chosen, "reason": self.reason, "first_at": self.first_at,
                           "at": self.at}, ensure_ascii=False)


Entry = Union[RecordedCluster, str]  # a cluster, or a line kept verbatim (no instance / not readable)


@dataclass
class RecordContents:
    entries: list[Entry] = field(default_factory=list)
    legacy: int = 0  # lines without an instance
    unreadable: int = 0  # lines that are not a JSON object with a key and candidates

    @property
    def clusters(self) -> list[RecordedCluster]:
        return [e for e in self.entries if isinstance(e, RecordedCluster)]

    def of_instance(self, instance: str) -> list[RecordedCluster]:
        return [c for c in self.clusters if c.instance == instance]

    def other_instances(self, instance: str) -> int:
        return sum(1 for c in self.clusters if c.instance != instance)


class ClusterRecordBusy(RuntimeError):
    """The record's lock was not free within the wait."""


def _parse_line(line: str) -> tuple[Entry, str]:
    """The entry for one line and what kind it is: ``cluster``, ``legacy`` or ``unreadable``."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError("not an object")
        key = str(data["key"])
        candidates = tuple(sorted({int(i) for i in data["candidates"]}))
        chosen = int(data["chosen"]) if data.get("chosen") not in (None, "") else None
    except (ValueError, KeyError, TypeError):
        return line, "unreadable"
    instance = data.get("instance")
    if not instance:
        return line, "legacy"
    at = str(data.get("at") or "")
    return RecordedCluster(str(instance), key, candidates, chosen, str(data.get("reason") or ""), at,
                           str(data.get("first_at") or at)), "cluster"


class ClusterRecord:
    """The record file at ``path``; every method takes the file's lock for its own duration."""

    def __init__(self, path: Path, *, lock_wait: float = LOCK_WAIT_SECONDS) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.lock_wait = lock_wait

    # ------------------------------------------------------------------ locking and I/O
    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = self.lock_path.open("a+", encoding="utf-8")
        try:
            deadline = time.monotonic() + self.lock_wait
            while True:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        handle.seek(0)
                        holder = handle.read().strip() or "?"
                        raise ClusterRecordBusy(
                            f"{self.path}: process {holder} has held its lock ({self.lock_path}) for more than "
                            f"{self.lock_wait:g} s; the duplicate clusters were left as they are") from None
                    time.sleep(_POLL_SECONDS)
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            try:
                yield
            finally:
                handle.seek(0)
                handle.truncate()
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        finally:
            handle.close()

    def _load(self) -> RecordContents:
        contents = RecordContents()
        if not self.path.exists():
            return contents
        position: dict[Ident, int] = {}
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            entry, kind = _parse_line(line)
            if kind == "legacy":
                contents.legacy += 1
            elif kind == "unreadable":
                contents.unreadable += 1
            if isinstance(entry, RecordedCluster):
                if entry.ident in position:  # a file from before one line per cluster: the latest sighting wins
                    index = position[entry.ident]
                    first = contents.entries[index]
                    assert isinstance(first, RecordedCluster)
                    contents.entries[index] = replace(entry, first_at=min(first.first_at, entry.first_at))
                    continue
                position[entry.ident] = len(contents.entries)
            contents.entries.append(entry)
        return contents

    def _store(self, contents: RecordContents) -> None:
        text = "".join((e.to_json() if isinstance(e, RecordedCluster) else e) + "\n" for e in contents.entries)
        temporary = self.path.with_name(self.path.name + ".tmp")
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    # ------------------------------------------------------------------ the operations
    def read(self) -> RecordContents:
        """Everything recorded (a missing file records nothing, and is not created)."""
        if not self.path.exists():
            return RecordContents()
        with self._locked():
            return self._load()

    def record(self, instance: str, sightings: Iterable[Sighting], at: str) -> int:
        """Record what a push met against ``instance``: a new cluster gets a line, one already
        recorded gets its ``at``, ``chosen`` and ``reason`` updated. Returns how many were new."""
        sightings = list(sightings)
        if not sightings:
            return 0
        instance = normalise_instance(instance)
        with self._locked():
            contents = self._load()
            index = {e.ident: i for i, e in enumerate(contents.entries) if isinstance(e, RecordedCluster)}
            added = 0
            for s in sightings:
                cluster = RecordedCluster(instance, s.key, tuple(sorted({int(i) for i in s.candidates})),
                                          s.chosen, s.reason, at, at)
                if cluster.ident in index:
                    old = contents.entries[index[cluster.ident]]
                    assert isinstance(old, RecordedCluster)
                    contents.entries[index[cluster.ident]] = replace(cluster, first_at=old.first_at)
                else:
                    index[cluster.ident] = len(contents.entries)
                    contents.entries.append(cluster)
                    added += 1
            self._store(contents)
            return added

    def drop(self, idents: Iterable[Ident]) -> int:
        """Remove the clusters ``idents`` name, as the file holds now (lines added since they were
        read stay). Returns how many lines went; the file is not rewritten when none."""
        gone = set(idents)
        if not gone:
            return 0
        with self._locked():
            contents = self._load()
            kept = [e for e in contents.entries if not (isinstance(e, RecordedCluster) and e.ident in gone)]
            dropped = len(contents.entries) - len(kept)
            if dropped:
                contents.entries = kept
                self._store(contents)
            return dropped
