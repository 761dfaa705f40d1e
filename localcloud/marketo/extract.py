"""Bulk lead extract of the local Marketo (help/rest-api/bulk-extract.md, bulk-lead-extract.md).

A job is created (``Created``), enqueued (``Queued``), runs when one of the 2 slots is free
(``Processing``) and ends ``Completed`` (the file is kept) or ``Failed``; ``Cancelled`` on cancel.
At most 10 jobs are queued or processing (1029 "Too many jobs in queue"); the files of the day may
total ``bulk_extract_daily_bytes`` (500 MB; past it create and enqueue answer 1029 "Export daily quota
exceeded" until midnight US Central). The filter is one ``createdAt`` window of at most 31 days;
``updatedAt``, static and smart lists answer 1035 (unsupported for this subscription). The file is the
requested fields, in order, under their names or ``columnHeaderNames``; an empty value is ``null``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import sqlite3
import threading
import time
import uuid
import zoneinfo
from typing import Any, Callable

from localcloud.marketo.dispatcher import JobDispatcher
from localcloud.marketo.envelope import CallError
from localcloud.marketo.schema import Schema, format_datetime, parse_datetime
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

FORMATS = {"CSV": ",", "TSV": "\t", "SSV": " "}
UNSUPPORTED_FILTERS = ("updatedAt", "staticListId", "staticListName", "smartListId", "smartListName")


def _now() -> str:
    return format_datetime(dt.datetime.now(dt.timezone.utc))


class LeadExtracts(JobDispatcher):
    def __init__(self, store: Store, schema: Schema, settings: Callable[[], Settings]):
        self.store = store
        self.schema = schema
        self.settings = settings
        with store.transaction() as db:  # a job cut off by a stop runs again
            db.execute("UPDATE export_jobs SET status='Queued', started_at=NULL WHERE status='Processing'")
        self._running: set[str] = set()
        self._start_dispatcher("marketo-extract")

    # --- checks ---------------------------------------------------------------------------------
    def _enabled(self) -> None:
        if not self.settings().bulk_lead_extract:
            raise CallError("703", "The feature is not enabled for the subscription")

    def _today(self) -> str:
        zone = zoneinfo.ZoneInfo(self.settings().quota_timezone)
        return dt.datetime.now(zone).date().isoformat()

    def bytes_today(self) -> int:
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT COALESCE(SUM(file_size), 0) FROM export_jobs WHERE status='Completed' AND finished_day=?",
                (self._today(),),
            ).fetchone()
        return int(row[0])

    def _quota(self) -> None:
        if self.bytes_today() >= self.settings().bulk_extract_daily_bytes:
            raise CallError("1029", "Export daily quota exceeded")

    def _window(self, raw: Any, name: str) -> tuple[str, str]:
        if not isinstance(raw, dict) or not raw.get("startAt") or not raw.get("endAt"):
            raise CallError("1003", f"Invalid filter: {name} needs startAt and endAt")
        try:
            start, end = parse_datetime(str(raw["startAt"])), parse_datetime(str(raw["endAt"]))
        except ValueError:
            raise CallError("1003", f"Invalid filter: {name} dates must be ISO-8601") from None
        if end < start:
            raise CallError("1003", f"Invalid filter: {name}.endAt is before startAt")
        days = self.settings().bulk_extract_max_days
        if end - start > dt.timedelta(days=days):
            raise CallError("1003", f"Invalid filter: the {name} range must be {days} days or fewer")
        return format_datetime(start), format_datetime(end)

    # --- API ------------------------------------------------------------------------------------
    def create(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._enabled()
        fields = body.get("fields")
        if not isinstance(fields, list) or not fields:
            raise CallError("701", "fields cannot be blank")
        for name in fields:
            if not isinstance(name, str) or self.schema.lead.field(name) is None:
                raise CallError("1006", f"Field '{name}' not found")
        file_format = str(body.get("format") or "CSV").upper()
        if file_format not in FORMATS:
            raise CallError("1003", f"Invalid format '{body.get('format')}', use CSV, TSV or SSV")
        headers = body.get("columnHeaderNames") or {}
        if not isinstance(headers, dict) or any(k not in fields for k in headers):
            raise CallError("1003", "columnHeaderNames keys must be requested fields")
        filters = body.get("filter")
        if not isinstance(filters, dict) or len(filters) != 1:
            raise CallError("1003", "filter must hold exactly one filter type")
        [(kind, value)] = filters.items()
        if kind in UNSUPPORTED_FILTERS:
            raise CallError("1035", "Unsupported filter type for target subscription")
        if kind != "createdAt":
            raise CallError("1003", f"Invalid filter type '{kind}'")
        window = self._window(value, kind)
        self._quota()
        export_id = str(uuid.uuid4())
        now = _now()
        with self.store.transaction() as db:
            seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM export_jobs").fetchone()[0]
            db.execute(
                "INSERT INTO export_jobs(export_id, status, format, fields, headers, filter, created_at, seq)"
                " VALUES (?, 'Created', ?, ?, ?, ?, ?, ?)",
                (export_id, file_format, json.dumps(fields), json.dumps(headers),
                 json.dumps({"createdAt": list(window)}), now, seq),
            )
        return [self._status(export_id)]

    def enqueue(self, export_id: str) -> list[dict[str, Any]]:
        self._enabled()
        row = self._job(export_id)
        if row["status"] != "Created":
            raise CallError("1003", f"Job '{export_id}' is {row['status']}; only a Created job can be enqueued")
        self._quota()
        with self.store.transaction() as db:
            waiting = db.execute(
                "SELECT COUNT(*) FROM export_jobs WHERE status IN ('Queued', 'Processing')"
            ).fetchone()[0]
            if waiting >= self.settings().bulk_extract_max_queued:
                raise CallError("1029", "Too many jobs in queue")
            db.execute("UPDATE export_jobs SET status='Queued', queued_at=? WHERE export_id=?", (_now(), export_id))
        self.nudge()
        return [self._status(export_id)]

    def cancel(self, export_id: str) -> list[dict[str, Any]]:
        row = self._job(export_id)
        if row["status"] in ("Completed", "Failed", "Cancelled"):
            raise CallError("1003", f"Job '{export_id}' is {row['status']}")
        with self.store.transaction() as db:
            db.execute("UPDATE export_jobs SET status='Cancelled' WHERE export_id=?", (export_id,))
        return [self._status(export_id)]

    def status(self, export_id: str) -> list[dict[str, Any]]:
        return [self._status(export_id)]

    def jobs(self, statuses: str | None) -> list[dict[str, Any]]:
        wanted = {s.strip() for s in statuses.split(",")} if statuses else None
        with self.store.transaction() as db:
            ids = [r[0] for r in db.execute("SELECT export_id, status FROM export_jobs ORDER BY seq")
                   if wanted is None or r[1] in wanted]
        return [self._status(i) for i in ids]

    def file(self, export_id: str) -> bytes | None:
        """The file of a Completed job; None (HTTP 404) otherwise."""
        with self.store.transaction() as db:
            row = db.execute("SELECT status, file FROM export_jobs WHERE export_id=?", (export_id,)).fetchone()
        if row is None or row["status"] != "Completed":
            return None
        return bytes(row["file"])

    def _job(self, export_id: str) -> sqlite3.Row:
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM export_jobs WHERE export_id=?", (export_id,)).fetchone()
        if row is None:
            raise CallError("1003", f"Export job '{export_id}' not found")
        return row

    def _status(self, export_id: str) -> dict[str, Any]:
        row = self._job(export_id)
        answer: dict[str, Any] = {"exportId": export_id, "format": row["format"], "status": row["status"],
                                  "createdAt": row["created_at"]}
        for key, column in (("queuedAt", "queued_at"), ("startedAt", "started_at"), ("finishedAt", "finished_at")):
            if row[column]:
                answer[key] = row[column]
        if row["status"] == "Completed":
            answer.update({"numberOfRecords": row["records"], "fileSize": row["file_size"],
                           "fileChecksum": row["checksum"]})
        if row["status"] == "Failed":
            answer["errorMsg"] = row["error"]
        return answer

    # --- worker ---------------------------------------------------------------------------------
    def _start_jobs(self) -> None:
        free = self.settings().bulk_extract_max_running - len(self._running)
        if free <= 0:
            return
        with self.store.transaction() as db:
            rows = db.execute(
                "SELECT export_id FROM export_jobs WHERE status='Queued' ORDER BY queued_at, seq LIMIT ?", (free,)
            ).fetchall()
            for row in rows:
                db.execute("UPDATE export_jobs SET status='Processing', started_at=? WHERE export_id=?",
                           (_now(), row["export_id"]))
                self._running.add(row["export_id"])
        for row in rows:
            threading.Thread(target=self._run, args=(row["export_id"],), daemon=True,
                             name=f"marketo-extract-{row['export_id'][:8]}").start()

    def _run(self, export_id: str) -> None:
        started = time.monotonic()
        try:
            job = self._job(export_id)
            try:
                content, count = self._render(job)
                outcome: tuple[Any, ...] = ("Completed", content, count, None)
            except Exception as error:  # noqa: BLE001 - a failed job says why
                outcome = ("Failed", None, None, str(error))
            while not self._stopping.is_set() and time.monotonic() - started < self.settings().bulk_extract_hold_seconds:
                time.sleep(0.02)
            if self._stopping.is_set():
                return
            status, content, count, error = outcome
            with self.store.transaction() as db:
                if db.execute("SELECT status FROM export_jobs WHERE export_id=?", (export_id,)).fetchone()[0] != "Processing":
                    return  # cancelled meanwhile
                db.execute(
                    "UPDATE export_jobs SET status=?, finished_at=?, finished_day=?, records=?, file=?, file_size=?,"
                    " checksum=?, error=? WHERE export_id=?",
                    (status, _now(), self._today(), count, content, len(content) if content is not None else None,
                     "sha256:" + hashlib.sha256(content).hexdigest() if content is not None else None, error,
                     export_id),
                )
        finally:
            self._running.discard(export_id)
            self.nudge()

    def _render(self, job: sqlite3.Row) -> tuple[bytes, int]:
        fields: list[str] = json.loads(job["fields"])
        headers: dict[str, str] = json.loads(job["headers"])
        start, end = json.loads(job["filter"])["createdAt"]
        out = io.StringIO()
        writer = csv.writer(out, delimiter=FORMATS[job["format"]], lineterminator="\n")
        writer.writerow([headers.get(name, name) for name in fields])
        # a reader of its own (WAL): a long extract does not hold the store's writer lock
        reader = sqlite3.connect(f"file:{self.store.path}?mode=ro", uri=True, timeout=30)
        count = 0
        end_op = "<=" if self.settings().extract_end_inclusive else "<"
        try:
            cursor = reader.execute(
                f"SELECT id, data, created_at, updated_at FROM leads WHERE created_at >= ? AND created_at {end_op} ?"
                " ORDER BY id", (start, end),
            )
            for lead_id, data, created, updated in cursor:
                values = json.loads(data)
                values.update({"id": lead_id, "createdAt": created, "updatedAt": updated})
                writer.writerow(["null" if values.get(n) in (None, "") else _cell(values[n]) for n in fields])
                count += 1
        finally:
            reader.close()
        return out.getvalue().encode("utf-8"), count


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
