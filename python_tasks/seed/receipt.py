"""The seeding receipt: one JSON line per planned event, per call attempt and per answer.

Kinds of lines (field `kind`):
  run           run id, options, endpoint, start time
  event         every planned event (payload, scenario, expected outcome)
  call          every HTTP attempt: batch id, attempt, event ids, HTTP status, per-event results or error
  marketo       every person seeded into Marketo (Marketo-only and CRM-synced)
  summary       totals at the end
The e2e check reads the receipt back to know what Salesforce and Marketo must hold.
"""
from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .events import PlannedEvent

RECEIPT_NAME = "seed-receipt.jsonl"
LATEST_RUN_FILE = "latest-run.txt"  # in the reports dir: the id of the latest seeded run


def utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


class ReceiptWriter:
    """Thread-safe JSONL writer; every line is flushed at once so a crash keeps what was sent."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, kind: str, **fields: Any) -> None:
        line = json.dumps({"kind": kind, "at": utc_now(), **fields}, ensure_ascii=False, default=str)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> "ReceiptWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Receipt:
    """A receipt read back: the run, the planned events, the calls and the Marketo persons."""

    path: Path
    run: dict[str, Any] = field(default_factory=dict)
    events: list[PlannedEvent] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    marketo: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return str(self.run.get("runId", ""))

    def results_by_event(self) -> dict[str, list[dict[str, Any]]]:
        """Every per-event answer the endpoint gave, by event id (a redelivered event has several)."""
        answers: dict[str, list[dict[str, Any]]] = {}
        for call in self.calls:
            for result in call.get("results") or []:
                answers.setdefault(str(result.get("id")), []).append(result)
        return answers

    def undelivered_event_ids(self) -> set[str]:
        answered = set(self.results_by_event())
        sent = {event_id for call in self.calls for event_id in call.get("eventIds") or []}
        return ({planned.event.id for planned in self.events} | sent) - answered


def read_receipt(path: Path) -> Receipt:
    receipt = Receipt(path=path)
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not a JSON line: {error}") from error
            kind = record.get("kind")
            if kind == "run":
                receipt.run = record
            elif kind == "event":
                receipt.events.append(PlannedEvent.from_json(record["planned"]))
            elif kind == "call":
                receipt.calls.append(record)
            elif kind == "marketo":
                receipt.marketo.append(record)
            elif kind == "summary":
                receipt.summary = record
    return receipt


def iter_run_dirs(reports_dir: Path) -> Iterator[Path]:
    """Run folders under the reports dir, newest first (by the receipt's modification time)."""
    receipts = sorted(reports_dir.glob("*/seed-receipt.jsonl"), key=lambda path: path.stat().st_mtime, reverse=True)
    for receipt in receipts:
        yield receipt.parent
