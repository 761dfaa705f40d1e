"""First push of a large org through Marketo's bulk imports, in the push's safe order.

:class:`BulkBackfill` takes persons already built by the push (``PersonWrite.values`` by person
key) and their orders (:class:`~python_tasks.push.build.OrderWrite`), and:

1. imports the persons with bulk lead import (CSV files under 10 MB): those whose lead id the
   caller already resolved (``known_ids``, e.g. from :class:`~python_tasks.push.identity.IdentityResolver`)
   with ``lookupField=id``, the others with the mapping's lookup field (insert or update);
2. reads each job's failures file, then finds the lead ids of the other imported persons by the
   lookup field (``GET leads.json``, 300 values a call);
3. imports each custom object's records with bulk custom object import, linked to those lead ids;
4. imports the persons' order-derived lead fields (``lookupField=id``), computed by the caller from
   the orders that reached Marketo, so a trigger never sees order fields before their order.

Every person key gets a :class:`PersonOutcome` (lead id, or Marketo's reason) and every order a
:class:`OrderOutcome`: a failed row is reported with the reason in Marketo's failures file, a job
that fails or never finishes fails its rows with the job's message, the daily quota stops the run
and every record not yet done says so. Re-running is safe: every import is insert or update.

    result = BulkBackfill(client, mapping, log=self.logger.info).run(
        {p.key: p.values for p in persons},                  # PersonWrite.values by person key
        {p.key: order_writes[p.key] for p in persons},        # OrderWrite per person key
        known_ids={k: r.target for k, r in resolutions.items() if r.target},   # IdentityResolver
        order_fields=lambda key, pushed: last_order_values(key, pushed))       # lead_order_values(...)
    result.persons[key].lead_id / .error, result.orders[order_id].error, result.stopped, result.calls

What differs from the REST path: a blank CSV cell leaves a field as it is (REST ``null`` clears it),
so ``None`` values do not clear Marketo fields; and bulk imports do not answer custom object GUIDs,
so ``OrderOutcome.marketo_guid`` stays ``None``.
"""
from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping as TMapping, Sequence

from python_tasks.dedupe.keys import identity_key
from python_tasks.mapping import CustomObjectMapping, Mapping
from python_tasks.marketo.client import MAX_IMPORT_BYTES, MarketoClient
from python_tasks.marketo.errors import MarketoError, MarketoQuotaExceeded
from python_tasks.marketo.results import ImportBatch
from python_tasks.push.build import OrderWrite

LOOKUP_BATCH = 300
FILE_MARGIN = 64 * 1024  # stay this far under the 10 MB limit (multipart framing, the header row)

OrderFields = Callable[[str, frozenset[str]], dict[str, Any]]
"""(person key, ids of that person's orders now in Marketo) -> the ``last_order`` lead fields."""


@dataclass
class PersonOutcome:
    lead_id: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.lead_id is not None and self.error is None


@dataclass
class OrderOutcome:
    error: str | None = None
    marketo_guid: str | None = None  # bulk imports do not answer it

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class BackfillResult:
    persons: dict[str, PersonOutcome] = field(default_factory=dict)  # by person key
    orders: dict[str, OrderOutcome] = field(default_factory=dict)  # by OrderWrite.order_id
    warnings: list[str] = field(default_factory=list)  # rows of the warnings files, as Marketo wrote them
    jobs: list[ImportBatch] = field(default_factory=list)
    calls: int = 0
    stopped: str = ""


@dataclass
class _Row:
    ref: str  # what the outcome is reported on: a person key or an order id (several for one key)
    match: str  # the value that finds the row in a failures file
    values: dict[str, Any]


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def csv_files(rows: Sequence[dict[str, Any]], first: Sequence[str] = (),
              max_bytes: int = MAX_IMPORT_BYTES - FILE_MARGIN) -> list[tuple[bytes, list[int]]]:
    """CSV files of ``rows`` (each with a header of every column used), each under ``max_bytes``;
    with the positions of the rows each holds."""
    columns = list(dict.fromkeys([*first, *(name for row in rows for name in row)]))

    def line(cells: Iterable[Any]) -> bytes:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([csv_cell(c) for c in cells])
        return out.getvalue().encode("utf-8")

    header = line(columns)
    files: list[tuple[bytes, list[int]]] = []
    parts: list[bytes] = []
    positions: list[int] = []
    size = len(header)
    for position, row in enumerate(rows):
        encoded = line(row.get(name) for name in columns)
        if len(header) + len(encoded) > max_bytes:
            raise ValueError(f"row {position} alone makes a {len(header) + len(encoded):,}-byte file")
        if size + len(encoded) > max_bytes:
            files.append((header + b"".join(parts), positions))
            parts, positions, size = [], [], len(header)
        parts.append(encoded)
        positions.append(position)
        size += len(encoded)
    if parts:
        files.append((header + b"".join(parts), positions))
    return files


def average_row_bytes(rows: Sequence[dict[str, Any]]) -> int:
    """Average CSV bytes of one row as the backfill writes it (header left out): the row size
    :class:`python_tasks.push.cost.CostSettings` wants, measured on a sample of real rows."""
    if not rows:
        return 1
    body = b"".join(data for data, _ in csv_files(rows))
    return max(1, round((len(body) - len(body.split(b"\n", 1)[0]) - 1) / len(rows)))


def failed_rows(text: str, column: str) -> list[tuple[str, str]]:
    """(value of ``column``, reason) for each row of a failures file (reason: its last column)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or column not in header:
        return []
    at = header.index(column)
    return [(row[at], row[-1]) for row in reader if len(row) > at and row]


class BulkBackfill:
    """Bulk lead and custom object imports for a first push. See the module docstring."""

    def __init__(self, client: MarketoClient, mapping: Mapping, *, poll_seconds: float = 30.0,
                 job_timeout_seconds: float = 6 * 3600.0, max_file_bytes: int = MAX_IMPORT_BYTES - FILE_MARGIN,
                 jobs_at_once: int = 2, log: Callable[[str], None] = lambda _m: None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client = client
        self.mapping = mapping
        self.lookup = mapping.marketo.lead.lookup_field
        self.poll_seconds = poll_seconds
        self.job_timeout_seconds = job_timeout_seconds
        self.max_file_bytes = max_file_bytes
        self.jobs_at_once = max(1, jobs_at_once)  # Marketo imports two at once; more only wait queued
        self.log = log
        self.sleep = sleep

    # ------------------------------------------------------------------ the run
    def run(self, persons: TMapping[str, dict[str, Any]],
            orders: TMapping[str, Sequence[OrderWrite]] | None = None, *,
            known_ids: TMapping[str, int] | None = None,
            order_fields: OrderFields | None = None) -> BackfillResult:
        """Import ``persons`` (values by person key), then ``orders`` (by person key), then the
        order fields. ``known_ids`` are lead ids already found for some person keys."""
        result = BackfillResult()
        before = self.client.counters().calls
        orders = orders or {}
        try:
            self._persons(persons, known_ids or {}, result)
            self._orders(persons, orders, result)
            if order_fields is not None:
                self._order_fields(orders, order_fields, result)
        except MarketoQuotaExceeded as quota:
            result.stopped = str(quota)
            self.log(f"Stopping: {quota}")
        finally:
            self._left_over(persons, orders, result)
            result.calls = self.client.counters().calls - before
        return result

    def _left_over(self, persons: TMapping[str, dict[str, Any]], orders: TMapping[str, Sequence[OrderWrite]],
                   result: BackfillResult) -> None:
        """Nothing lost: whatever has no outcome yet gets one saying why."""
        why = f"not written: {result.stopped}" if result.stopped else "not written"
        for key in persons:
            outcome = result.persons.setdefault(key, PersonOutcome())
            if outcome.lead_id is None and outcome.error is None:
                outcome.error = why
        for key, writes in orders.items():
            for write in writes:
                result.orders.setdefault(write.order_id, OrderOutcome(why if key in persons else
                                                                      "member not in this backfill"))

    # ------------------------------------------------------------------ 1-2 persons
    def _persons(self, persons: TMapping[str, dict[str, Any]], known_ids: TMapping[str, int],
                 result: BackfillResult) -> None:
        by_id: list[_Row] = []
        by_lookup: list[_Row] = []
        for key, values in persons.items():
            if key in known_ids:
                lead_id = int(known_ids[key])
                result.persons[key] = PersonOutcome()  # its id once the import has written it
                by_id.append(_Row(key, str(lead_id), {"id": lead_id, **{k: v for k, v in values.items() if k != "id"}}))
                continue
            match = identity_key(self.lookup, values.get(self.lookup))
            if match is None:
                result.persons[key] = PersonOutcome(error=f"no value for the lookup field {self.lookup}")
                continue
            if "," in str(values[self.lookup]):  # its lead id could not be read back (build.py says the same)
                result.persons[key] = PersonOutcome(
                    error=f"{self.lookup} contains a comma, which Marketo cannot look up by")
                continue
            result.persons[key] = PersonOutcome()
            by_lookup.append(_Row(key, match, dict(values)))
        failed = self._import_leads(by_id, "id", result)
        for row in by_id:
            if row.ref not in failed:
                result.persons[row.ref] = PersonOutcome(int(row.values["id"]))
        failed.update(self._import_leads(by_lookup, self.lookup, result))
        for key, reason in failed.items():
            result.persons[key] = PersonOutcome(error=reason)
        self._resolve([row for row in by_lookup if row.ref not in failed], result)

    def _import_leads(self, rows: list[_Row], lookup: str, result: BackfillResult) -> dict[str, str]:
        def submit(data: bytes) -> ImportBatch:
            return self.client.import_leads_csv(data, lookup_field=lookup)

        return self._import(rows, [lookup], lookup, submit, self.client.get_import_status,
                            self.client.get_import_failures, self.client.get_import_warnings, result,
                            normalise=lambda v: identity_key(lookup, v) if lookup != "id" else v.strip())

    def _resolve(self, rows: list[_Row], result: BackfillResult) -> None:
        """Lead ids of persons imported by the lookup field: 300 values a call."""
        values = {row.match: row for row in rows}
        found: dict[str, list[int]] = {}
        texts = [str(row.values[self.lookup]).strip() for row in rows]
        for lead in self.client.get_leads_by_filter(self.lookup, texts, ["id", self.lookup]):
            match = identity_key(self.lookup, lead.get(self.lookup))
            if match in values:
                found.setdefault(match, []).append(int(lead["id"]))
        for match, row in values.items():
            ids = sorted(set(found.get(match, [])))
            if len(ids) == 1:
                result.persons[row.ref] = PersonOutcome(ids[0])
            elif not ids:
                result.persons[row.ref] = PersonOutcome(
                    error=f"imported, but no lead has {self.lookup}={row.values[self.lookup]!r} afterwards")
            else:
                result.persons[row.ref] = PersonOutcome(
                    error=f"{len(ids)} leads have {self.lookup}={row.values[self.lookup]!r} ({', '.join(map(str, ids))});"
                          " marketo_dedupe can merge them")

    # ------------------------------------------------------------------ 3 custom objects
    def _orders(self, persons: TMapping[str, dict[str, Any]], orders: TMapping[str, Sequence[OrderWrite]],
                result: BackfillResult) -> None:
        good: list[tuple[str, OrderWrite]] = []
        for key, writes in orders.items():
            person = result.persons.get(key)
            for write in writes:
                if person is None:
                    result.orders[write.order_id] = OrderOutcome("member not in this backfill")
                elif person.lead_id is None:
                    result.orders[write.order_id] = OrderOutcome(f"member not in Marketo: {person.error}")
                elif write.problems:
                    result.orders[write.order_id] = OrderOutcome("; ".join(str(p) for p in write.problems))
                elif missing := [co.dedupe_field for co in self.mapping.marketo.custom_objects
                                 if write.values.get(co.api_name, {}).get(co.dedupe_field) in (None, "")]:
                    result.orders[write.order_id] = OrderOutcome(f"no value for the dedupe field {missing[0]}")
                else:
                    good.append((key, write))
        failed: dict[str, str] = {}
        for co in self.mapping.marketo.custom_objects:
            rows = [_Row(write.order_id, str(write.values.get(co.api_name, {}).get(co.dedupe_field, "")).strip(),
                         {**write.values.get(co.api_name, {}), co.link_field: self._link(co, key, persons, result)})
                    for key, write in good]
            for order_id, reason in self._import_custom_objects(co, rows, result).items():
                failed.setdefault(order_id, f"{co.api_name}: {reason}")
        for _key, write in good:
            result.orders[write.order_id] = OrderOutcome(failed.get(write.order_id))

    def _link(self, co: CustomObjectMapping, key: str, persons: TMapping[str, dict[str, Any]],
              result: BackfillResult) -> Any:
        if co.lead_link_field == "id":
            return result.persons[key].lead_id
        return persons[key].get(co.lead_link_field)

    def _import_custom_objects(self, co: CustomObjectMapping, rows: list[_Row],
                               result: BackfillResult) -> dict[str, str]:
        api = co.api_name
        return self._import(
            rows, [co.dedupe_field, co.link_field], co.dedupe_field,
            lambda data: self.client.import_custom_objects_csv(api, data),
            lambda batch: self.client.get_custom_object_import_status(api, batch),
            lambda batch: self.client.get_custom_object_import_failures(api, batch),
            lambda batch: self.client.get_custom_object_import_warnings(api, batch), result,
            normalise=str.strip,
        )

    # ------------------------------------------------------------------ 4 order fields
    def _order_fields(self, orders: TMapping[str, Sequence[OrderWrite]], order_fields: OrderFields,
                      result: BackfillResult) -> None:
        rows = []
        for key, outcome in result.persons.items():
            if not outcome.ok:
                continue
            pushed = frozenset(w.order_id for w in orders.get(key, ()) if result.orders.get(w.order_id, OrderOutcome("")).ok)
            values = order_fields(key, pushed)
            if values:
                rows.append(_Row(key, str(outcome.lead_id), {"id": outcome.lead_id, **values}))
        try:
            failed = self._import_leads(rows, "id", result)
        except MarketoQuotaExceeded as quota:
            for row in rows:
                result.persons[row.ref].error = f"order fields not written: {quota}"
            raise
        for key, reason in failed.items():
            result.persons[key].error = f"order fields: {reason}"

    # ------------------------------------------------------------------ the import engine
    def _import(self, rows: list[_Row], first: list[str], column: str, submit: Callable[[bytes], ImportBatch],
                status: Callable[[int], ImportBatch], failures: Callable[[int], str], warnings: Callable[[int], str],
                result: BackfillResult, normalise: Callable[[str], str | None]) -> dict[str, str]:
        """Import ``rows`` in files, ``jobs_at_once`` jobs submitted at a time; the reason per failed
        ``row.ref`` (Marketo's failures file, or the job's message for every row of a failed job)."""
        if not rows:
            return {}
        files = csv_files([row.values for row in rows], first, self.max_file_bytes)
        failed: dict[str, str] = {}
        queue = list(files)
        running: list[tuple[ImportBatch, list[int], float]] = []
        waited = 0.0
        while queue or running:
            while queue and len(running) < self.jobs_at_once:
                data, positions = queue.pop(0)
                try:
                    job = submit(data)
                except MarketoQuotaExceeded:
                    raise
                except MarketoError as error:
                    for position in positions:
                        failed[rows[position].ref] = f"import not accepted: {error}"
                    continue
                running.append((job, positions, waited))
            if not running:
                break
            self.sleep(self.poll_seconds)
            waited += self.poll_seconds
            still: list[tuple[ImportBatch, list[int], float]] = []
            for job, positions, started in running:
                current = status(job.batch_id)
                if not current.finished and waited - started < self.job_timeout_seconds:
                    still.append((current, positions, started))
                    continue
                result.jobs.append(current)
                if not current.finished:
                    reason = f"import {current.batch_id} still {current.status} after {self.job_timeout_seconds:g} s"
                    failed.update((rows[p].ref, reason) for p in positions)
                elif current.status == "Failed":
                    reason = f"import {current.batch_id} failed: {current.message or 'no message'}"
                    failed.update((rows[p].ref, reason) for p in positions)
                else:
                    self._read_files(current, rows, positions, column, failures, warnings, normalise, failed, result)
            running = still
        return failed

    def _read_files(self, job: ImportBatch, rows: list[_Row], positions: list[int], column: str,
                    failures: Callable[[int], str], warnings: Callable[[int], str],
                    normalise: Callable[[str], str | None], failed: dict[str, str], result: BackfillResult) -> None:
        if job.rows_with_warning:
            result.warnings += warnings(job.batch_id).splitlines()[1:]
        if not job.rows_failed:
            return
        by_match: dict[str, list[str]] = {}
        for position in positions:
            by_match.setdefault(rows[position].match, []).append(rows[position].ref)
        matched = 0
        for value, reason in failed_rows(failures(job.batch_id), column):
            refs = by_match.get(normalise(value) or "", [])
            for ref in refs:
                failed[ref] = reason
            matched += 1 if refs else 0
        if matched < job.rows_failed:
            # A failed row the file does not let us place: no row of this job can be called written.
            # Re-importing is safe (insert or update), losing one is not.
            reason = (f"import {job.batch_id}: {job.rows_failed - matched} failed rows could not be matched to "
                      "their records; re-run to be sure")
            for position in positions:
                failed.setdefault(rows[position].ref, reason)
