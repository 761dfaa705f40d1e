"""Read every Marketo person with the bulk lead extract: ``createdAt`` windows of at most 31 days.

The windows run from the oldest person (the earliest ``createdAt`` among ids 1-300, one call; else
``since``, default 2006-01-01, before Marketo had customers) to now. Each window is one job: create,
enqueue, poll the status, fetch the file (4 calls when the first poll finds it done). Up to
``max_queued`` jobs wait in Marketo's queue at once (10; 1029 "Too many jobs in queue" makes the scan
wait for its oldest job), so the jobs run while the scan reads the files. The file's SHA-256 is
checked against the status's ``fileChecksum``; a person on a window boundary is read once.
The first poll comes after ``first_poll_seconds`` (small instances finish in seconds), the next ones
every ``poll_seconds`` (Adobe: the status changes at most once a minute; poll no faster than that).
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from python_tasks.dedupe.persons import parse_marketo_time
from python_tasks.marketo import MarketoError
from python_tasks.marketo.extract_calls import MAX_WINDOW

DEFAULT_SINCE = dt.datetime(2006, 1, 1, tzinfo=dt.timezone.utc)
UNAVAILABLE_CODES = frozenset({"703", "1035", "610", "603"})  # no bulk lead extract for this subscription/user
QUEUE_FULL = "Too many jobs in queue"


class ExtractUnavailable(Exception):
    """The instance has no bulk lead extract (or this user may not use it)."""


@dataclass
class ExtractScan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    since: dt.datetime = DEFAULT_SINCE
    until: dt.datetime = DEFAULT_SINCE
    windows: int = 0
    jobs: int = 0
    bytes: int = 0


def windows_between(since: dt.datetime, until: dt.datetime, span: dt.timedelta = MAX_WINDOW
                    ) -> list[tuple[dt.datetime, dt.datetime]]:
    out = []
    start = since
    while start < until:
        end = min(start + span, until)
        out.append((start, end))
        start = end
    return out


def oldest_created(client: Any) -> dt.datetime | None:
    """The earliest ``createdAt`` among ids 1-300 (ids grow with creation), or None when all are gone."""
    rows = list(client.get_leads_by_filter("id", list(range(1, 301)), ["id", "createdAt"]))
    times = [t for t in (parse_marketo_time(r.get("createdAt")) for r in rows) if t is not None]
    return min(times) if times else None


def _parse(text: str, fields: Sequence[str]) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    if list(header) != list(fields):
        raise MarketoError(f"the extract file's columns {header} are not the fields asked for {list(fields)}",
                           endpoint="bulk lead extract file")
    return [{name: (None if value in ("", "null") else value) for name, value in zip(header, row)}
            for row in reader if row]


def extract_persons(
    client: Any,
    fields: Sequence[str],
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    first_poll_seconds: float = 5.0,
    poll_seconds: float = 60.0,
    max_queued: int = 10,
    timeout_seconds: float = 6 * 3600,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int, int, int], None] = lambda windows_done, windows, persons: None,
) -> ExtractScan:
    """Every person created in ``[since, until)`` (defaults: the oldest person, now), with ``fields``."""
    fields = list(dict.fromkeys(["id", *fields]))
    try:
        start = since or oldest_created(client) or DEFAULT_SINCE
    except MarketoError as error:
        raise MarketoError(f"reading the oldest person: {error}", endpoint="leads by id") from None
    start = start.replace(microsecond=0)
    end = (until or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0) + dt.timedelta(seconds=1)
    plan = windows_between(start, end)
    scan = ExtractScan(since=start, until=end, windows=len(plan))
    by_id: dict[int, dict[str, Any]] = {}
    waiting: deque[str] = deque()  # enqueued, oldest first
    created: str | None = None  # created, not yet enqueued (the queue was full)
    next_window = 0
    deadline = time.monotonic() + timeout_seconds
    done = 0
    while next_window < len(plan) or waiting or created:
        while (created or next_window < len(plan)) and len(waiting) < max_queued:
            if created is None:
                created = _call(lambda: client.create_lead_export(fields, *plan[next_window]))["exportId"]
                next_window += 1
                scan.jobs += 1
            try:
                _call(lambda: client.enqueue_lead_export(created))
            except MarketoError as error:
                if error.code == "1029" and QUEUE_FULL.lower() in str(error).lower() and waiting:
                    break  # other jobs hold the queue: read ours first
                if error.code == "1029" and QUEUE_FULL.lower() in str(error).lower():
                    sleep(poll_seconds)
                    continue
                raise
            waiting.append(created)
            created = None
        if not waiting:
            continue
        export_id = waiting[0]
        sleep(first_poll_seconds)
        while True:
            status = _call(lambda: client.lead_export_status(export_id))
            if status.get("status") == "Completed":
                break
            if status.get("status") in ("Failed", "Cancelled", "Canceled"):
                raise MarketoError(f"bulk lead extract {export_id} ended {status.get('status')}: "
                                   f"{status.get('errorMsg') or 'no reason given'}", endpoint="bulk lead extract")
            if time.monotonic() > deadline:
                raise MarketoError(f"bulk lead extract {export_id} still {status.get('status')} after "
                                   f"{timeout_seconds:.0f} s", endpoint="bulk lead extract")
            sleep(poll_seconds)
        text = client.lead_export_file(export_id)
        content = text.encode("utf-8")
        checksum = status.get("fileChecksum")
        if checksum and checksum != "sha256:" + hashlib.sha256(content).hexdigest():
            raise MarketoError(f"bulk lead extract {export_id}: the file does not match its checksum (cut short?)",
                               endpoint="bulk lead extract file")
        scan.bytes += len(content)
        for row in _parse(text, fields):
            by_id[int(row["id"])] = row
        waiting.popleft()
        done += 1
        progress(done, len(plan), len(by_id))
    scan.rows = [by_id[i] for i in sorted(by_id)]
    return scan


def _call(run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return run()
    except MarketoError as error:
        if error.code in UNAVAILABLE_CODES:
            raise ExtractUnavailable(str(error)) from None
        raise
