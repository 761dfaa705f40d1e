"""One push run: read what is due from Salesforce, write it to Marketo in the safe order, write
the outcome back to Salesforce.

Order of writes, per chunk of persons (``chunk_size``, 300 by default = one Marketo call each):

1. persons: found first (:mod:`python_tasks.push.identity`), then updated by id or created;
2. custom object records of their due orders (deduplicated on the order number, linked to the
   lead id the first step produced);
3. the persons' order-derived lead fields (``last_order.*``), from the latest order Marketo has;
4. write-back to Salesforce: Marketo id, pushed-at mark and error (cleared on success).

A trigger campaign in Marketo therefore never sees an order for a person who does not exist yet
and never a person without its mapped values. Orders whose member has not arrived in Salesforce
(member lookup empty) are not pushed and are listed as waiting with their age.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from python_tasks.dedupe.cluster_record import ClusterRecord, Sighting
from python_tasks.dedupe.winner import WinnerRule
from python_tasks.mapping import Mapping
from python_tasks.marketo.errors import MarketoError, MarketoQuotaExceeded
from python_tasks.marketo.results import RecordResult
from python_tasks.push.build import (
    OrderWrite,
    PersonWrite,
    build_persons,
    custom_object_values,
    last_order,
    lead_order_values,
    sorted_lines,
)
from python_tasks.push.consent import ConsentDecisions, ConsentGate
from python_tasks.push.convert import parse_sf_datetime
from python_tasks.push.identity import DuplicateCluster, IdentityResolver
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import MarketoSchema
import hashlib
import time

from python_tasks.push.backfill import BulkBackfill
from python_tasks.push.cache import Checkpoint, PushCache
from python_tasks.push.cost import (BULK, DAILY_ALLOCATION, REST, Choice, CostSettings, PushVolume, choose,
                                    estimate_bulk, estimate_rest)
from python_tasks.push.changes import (DEFAULT_BULK_THRESHOLD, DEFAULT_OVERLAP, PUSHED_SECONDS_KEPT, ChangeReader,
                                       ChangeSet)
from python_tasks.push.state import format_sf_datetime, is_due

ALREADY_EXISTS = "1005"


@dataclass
class WaitingOrder:
    order_number: str
    member_key: str | None
    age: timedelta


@dataclass
class PushSummary:
    persons_created: int = 0
    persons_updated: int = 0
    persons_unchanged: int = 0
    persons_skipped: list[tuple[str, str]] = field(default_factory=list)  # (member key or id, reason)
    orders_pushed: int = 0
    orders_skipped: list[tuple[str, str]] = field(default_factory=list)  # (order number, reason)
    waiting: list[WaitingOrder] = field(default_factory=list)
    duplicate_clusters: list[DuplicateCluster] = field(default_factory=list)
    members_read: int = 0
    orders_read: int = 0
    waiting_total: int = 0
    read_method: str = ""
    rows_read: int = 0  # every row read from Salesforce: changes, retries, orders of members, lines, waiting
    retry_left: int = 0  # records the next run reads again by Id
    marketo_estimate: str = ""  # what the push said it would cost in Marketo calls, before writing
    marketo_method: str = ""
    write_back_failures: list[tuple[str, str]] = field(default_factory=list)
    stopped: str = ""
    consent: ConsentDecisions = field(default_factory=ConsentDecisions)  # refused and allowed re-subscribes

    def as_return_values(self, marketo_calls: int, salesforce_calls: int) -> dict[str, Any]:
        return {
            "persons_created": self.persons_created,
            "persons_updated": self.persons_updated,
            "persons_unchanged": self.persons_unchanged,
            "persons_skipped": len(self.persons_skipped),
            "person_skip_reasons": [f"{who}: {why}" for who, why in self.persons_skipped],
            "orders_pushed": self.orders_pushed,
            "orders_skipped": len(self.orders_skipped),
            "order_skip_reasons": [f"{who}: {why}" for who, why in self.orders_skipped],
            "orders_waiting": self.waiting_total,
            "waiting_orders": [
                {"order": w.order_number, "member": w.member_key, "age_seconds": int(w.age.total_seconds())}
                for w in self.waiting
            ],
            "duplicate_clusters": len(self.duplicate_clusters),
            "write_back_failures": len(self.write_back_failures),
            "marketo_calls": marketo_calls,
            "salesforce_calls": salesforce_calls,
            "salesforce_rows": self.rows_read,
            "read_method": self.read_method,
            "members_read": self.members_read,
            "orders_read": self.orders_read,
            "retry_left": self.retry_left,
            "marketo_estimate": self.marketo_estimate,
            "marketo_method": self.marketo_method,
            "stopped": self.stopped,
            "resubscribes_refused": len(self.consent.refused),
            "resubscribe_refusals": [str(r) for r in self.consent.refused],
            "resubscribed": len(self.consent.resubscribed),
        }


@dataclass
class PushOptions:
    full: bool = False
    chunk_size: int = 300
    cache: PushCache | None = None  # the watermark and the retry set (see cache.py); None: read everything
    tz: str = "UTC"
    overlap: timedelta = DEFAULT_OVERLAP
    bulk_threshold: int = DEFAULT_BULK_THRESHOLD
    marketo_method: str = "auto"  # auto (cost.choose), rest or bulk
    daily_allocation: int = DAILY_ALLOCATION
    bulk_poll_seconds: float = 30.0
    modstamp_field: str = "SystemModstamp"
    winner_rule: WinnerRule = field(default_factory=WinnerRule)
    clusters_file: Path | None = None
    # (member ids, order ids): read exactly these (change events named them) instead of the change
    # read; the due rule still decides, and the watermark stays (the retry set is kept up to date)
    only_ids: tuple[Sequence[str], Sequence[str]] | None = None


Progress = Callable[[str, int, int], None]  # (phase, done, total)


def _noop(phase: str, done: int, total: int) -> None:
    return None


def _error_text(text: str) -> str:
    return text if len(text) <= 255 else text[:252] + "..."


class PushRun:
    def __init__(self, mapping: Mapping, sf: SalesforceIO, marketo: Any, schema: MarketoSchema,
                 options: PushOptions | None = None, progress: Progress = _noop,
                 log: Callable[[str], None] = lambda _m: None,
                 info: Callable[[str], None] = lambda _m: None) -> None:
        self.m = mapping
        self.sf = sf
        self.marketo = marketo
        self.schema = schema
        self.o = options or PushOptions()
        self.progress = progress
        self.log = log
        self.info = info
        self.summary = PushSummary()
        self._finished: set[str] = set()  # records whose write-back says pushed
        self._pushed_seconds: set[datetime] = set()  # whole seconds of this run's write-backs (changes.py)
        self._read_at = datetime.now(timezone.utc)
        self._read_mono = time.monotonic()
        self.rows: dict[str, dict[str, Any]] = {}  # Salesforce rows as read, by id
        wb = mapping.write_back
        self.wb = wb
        member_key_marketo = next((f.name for f in mapping.marketo.lead.fields
                                   if f.source.scope == "member" and f.source.field == mapping.member.key_field), None)
        self.consent_gate = ConsentGate(mapping.consent, marketo) if mapping.consent is not None else None
        self.resolver = IdentityResolver(marketo, mapping.marketo.lead.lookup_field, self.o.winner_rule,
                                         member_key_marketo,
                                         self.consent_gate.lead_fields if self.consent_gate is not None else ())

    # ------------------------------------------------------------------ reads
    def _due(self, record: dict[str, Any]) -> bool:
        wb = self.wb
        return self.o.full or is_due(record, pushed_at_field=wb.pushed_at, error_field=wb.error,
                                     changed_at_field=wb.changed_at, pushed_change_field=wb.pushed_change,
                                     modstamp_field=self.o.modstamp_field)

    def _bookkeeping(self) -> list[str]:
        wb = self.wb
        return [wb.marketo_id, wb.pushed_at, wb.error, wb.changed_at, wb.pushed_change]

    def member_fields(self) -> list[str]:
        m = self.m.member
        return _unique(["Id", self.o.modstamp_field, m.key_field, *self.m.member_fields_for_marketo(),
                        *self._bookkeeping()])

    def order_fields(self) -> list[str]:
        o = self.m.order
        return _unique(["Id", self.o.modstamp_field, "CreatedDate", o.key_field, o.member_key.sf_field,
                        o.member_lookup, *self.m.order_fields_for_marketo(), *self._bookkeeping()])

    def fingerprint(self) -> str:
        """Of what the push reads and sends: a mapping that changes it starts with a full read."""
        parts = [*self.member_fields(), "|", *self.order_fields(), "|", *self.m.line_fields_for_marketo(), "|",
                 *(f"{f.name}<{f.source.scope}.{f.source.field}" for f in self.m.marketo.lead.fields),
                 *(f"{co.api_name}.{f.name}<{f.source.scope}.{f.source.field}"
                   for co in self.m.marketo.custom_objects for f in co.fields)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def read_lines(self, order_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        line = self.m.order_line
        fields = _unique(["Id", line.order_lookup, line.key_field, *self.m.line_fields_for_marketo()])
        if not order_ids:
            return {}
        select = f"SELECT {', '.join(fields)} FROM {line.object_name}"
        if len(order_ids) > self.o.bulk_threshold:  # most of the org (a first push): one Bulk API 2.0 job
            wanted = set(order_ids)
            every = self.sf.bulk_query(line.object_name, select, fields)
            self.summary.rows_read += len(every)
            rows = [row for row in every if row.get(line.order_lookup) in wanted]
        else:
            rows = self.sf.query_in(f"{select} WHERE {line.order_lookup} IN ({{ids}})", order_ids, size=200)
            self.summary.rows_read += len(rows)
        by_order: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_order.setdefault(row[line.order_lookup], []).append(row)
        return {k: sorted_lines(v, line.key_field) for k, v in by_order.items()}

    def _org_clock(self) -> datetime:
        """The org's clock now: the read's Date plus the time elapsed here (no call, no skew)."""
        return self._read_at + timedelta(seconds=time.monotonic() - self._read_mono)

    # ------------------------------------------------------------------ the run
    def run(self, waiting_older_than: timedelta | None = None) -> PushSummary:
        s = self.summary
        cache = self.o.cache
        checkpoint = cache.checkpoint() if cache is not None else None
        fingerprint = self.fingerprint()
        full = self.o.full or checkpoint is None or checkpoint.fingerprint != fingerprint
        reader = ChangeReader(self.m, self.sf, self.member_fields(), self.order_fields(), self.o.overlap,
                              self.o.bulk_threshold)
        self._read_mono = time.monotonic()
        if self.o.only_ids is not None:  # and the retry set, which no catch-up reads while streaming
            member_ids, order_ids = self.o.only_ids
            if checkpoint is not None:
                member_ids = [*member_ids, *checkpoint.retry_ids(self.m.member.object_name)]
                order_ids = [*order_ids, *checkpoint.retry_ids(self.m.order.object_name)]
            changes = reader.read_ids(member_ids, order_ids)
        else:
            changes = reader.read(checkpoint, full)
        self._read_at = changes.org_now
        s.read_method, s.rows_read = changes.method, changes.rows_read
        s.members_read, s.orders_read = len(changes.members), len(changes.orders)
        self._list_waiting(changes, waiting_older_than)
        o = self.m.order
        members_by_id = {r["Id"]: r for r in changes.members}
        due_members = {r["Id"] for r in changes.members if self._due(r)}
        due_orders = [order for order in changes.orders if order.get(o.member_lookup) and self._due(order)]
        affected = sorted(due_members | {order[o.member_lookup] for order in due_orders})
        missing = [i for i in affected if i not in members_by_id]
        if missing:
            fetched = reader.members_by_id(missing)
            s.rows_read += len(fetched)
            members_by_id.update((r["Id"], r) for r in fetched)
        orders_by_member = self._orders_by_member(reader, changes, affected, members_by_id)
        retry: dict[str, set[str]] = {self.m.member.object_name: set(), o.object_name: set()}
        unattached = [order for order in due_orders if order[o.member_lookup] not in members_by_id]
        for order in unattached:  # its member has no key (or is gone): kept and read again, not lost
            s.orders_skipped.append((str(order.get(o.key_field)), "its member has no EC key"))
            retry[o.object_name].add(order["Id"])
        due_orders = [order for order in due_orders if order[o.member_lookup] in members_by_id]
        persons, unusable = build_persons([members_by_id[i] for i in affected if i in members_by_id], self.m,
                                          self.schema, modstamp_field=self.o.modstamp_field, tz=self.o.tz)
        self.rows = {**members_by_id, **{order["Id"]: order for order in due_orders}}
        member_errors: dict[str, str] = {}
        for member, problem in unusable:
            s.persons_skipped.append((str(member.get(self.m.member.key_field) or member["Id"]), str(problem)))
            member_errors[member["Id"]] = str(problem)
        for person in persons:
            person.member_due = any(i in due_members for i in person.member_ids)
        due_by_member: dict[str, list[dict[str, Any]]] = {}
        for order in due_orders:
            due_by_member.setdefault(order[o.member_lookup], []).append(order)
        # the due orders of a member that cannot become a person are reported and written back, not dropped
        order_errors: dict[str, str] = {}
        for member_id, problem in member_errors.items():
            for order in due_by_member.pop(member_id, []):
                s.orders_skipped.append((str(order.get(o.key_field)), "member not in Marketo"))
                order_errors[order["Id"]] = f"member not in Marketo: {problem}"
        due_orders = [order for order in due_orders if order["Id"] not in order_errors]
        lines = self.read_lines([order["Id"] for order in due_orders])
        self._write_member_errors(member_errors)
        self._write_errors(o.object_name, order_errors)
        choice = self._estimate(persons, due_by_member)
        if choice.method == BULK:
            self._push_bulk(persons, orders_by_member, due_by_member, lines)
        else:
            self._push_rest(persons, orders_by_member, due_by_member, lines)
        s.duplicate_clusters = list(self.resolver.clusters)
        self._record_clusters()
        retry[self.m.member.object_name] |= {i for i in due_members if i not in self._finished}
        retry[o.object_name] |= {order["Id"] for order in due_orders if order["Id"] not in self._finished}
        retry[self.m.member.object_name] |= set(member_errors)
        retry[o.object_name] |= set(order_errors)
        self._checkpoint(checkpoint, changes, retry, fingerprint)
        return s

    def _orders_by_member(self, reader: ChangeReader, changes: ChangeSet, affected: Sequence[str],
                          members_by_id: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        """Every order of the affected members (the last-order fields need the newest one Marketo
        has): taken from a full read, or read for just those members."""
        lookup = self.m.order.member_lookup
        wanted = set(affected)
        if changes.full:
            rows = [order for order in changes.orders if order.get(lookup) in wanted]
        else:
            rows = reader.orders_of_members([i for i in affected if i in members_by_id])
            self.summary.rows_read += len(rows)
            fresh = {order["Id"]: order for order in changes.orders}
            rows = [fresh.get(order["Id"], order) for order in rows]
        by_member: dict[str, list[dict[str, Any]]] = {}
        for order in rows:
            by_member.setdefault(order[lookup], []).append(order)
        return by_member

    def _list_waiting(self, changes: ChangeSet, older_than: timedelta | None) -> None:
        o = self.m.order
        s = self.summary
        s.waiting_total = changes.waiting_count
        for order in changes.waiting_oldest:
            created = order.get("CreatedDate")
            age = max(timedelta(0), changes.org_now - parse_sf_datetime(created)) if created else timedelta(0)
            if older_than is None or age >= older_than:
                s.waiting.append(WaitingOrder(str(order.get(o.key_field)), order.get(o.member_key.sf_field), age))

    def _run_points(self) -> set[datetime]:
        """The seconds of this run's write-backs that the next change reads compare against
        (changes.py): its first second and the one after (every record the run read changed
        before them, so they leave out the whole run, however long) and its last few seconds."""
        seconds = sorted(self._pushed_seconds)
        if not seconds:
            return set()
        return {seconds[0], seconds[0] + timedelta(seconds=1), *seconds[-4:]}

    def _checkpoint(self, checkpoint: Checkpoint | None, changes: ChangeSet, retry: dict[str, set[str]],
                    fingerprint: str) -> None:
        """Move the watermark to this run's read, now that every write-back is done; a run stopped
        early keeps the old watermark (its unread work is read again) and adds what it left."""
        s = self.summary
        s.retry_left = sum(len(ids) for ids in retry.values())
        cache = self.o.cache
        if cache is None:
            return
        if self.o.only_ids is not None:  # the watermark is the catch-up's; the whole retry set was read again
            cache.save_retry(retry)
            return
        if s.stopped:
            if checkpoint is not None and checkpoint.watermark is not None and checkpoint.fingerprint == fingerprint:
                kept = {name: set(ids) | retry.get(name, set()) for name, ids in checkpoint.retry.items()}
                for name, ids in retry.items():
                    kept.setdefault(name, set()).update(ids)
                cache.save(checkpoint.watermark, kept, fingerprint, checkpoint.pushed_seconds)
            return
        recent = [] if checkpoint is None or changes.full else checkpoint.pushed_seconds
        horizon = changes.org_now - self.o.overlap
        recent = sorted({at for at in recent if at >= horizon} | self._run_points())[-PUSHED_SECONDS_KEPT:]
        cache.save(changes.org_now, retry, fingerprint, recent)

    # ------------------------------------------------------------------ how to write Marketo
    def _estimate(self, persons: list[PersonWrite], due_by_member: dict[str, list[dict[str, Any]]]) -> Choice:
        """What this push will cost in Marketo calls, said before anything is written, and the way
        to write (python_tasks/push/cost.py): REST sync, or bulk import for a large first push."""
        writable = [p for p in persons if not p.rejected]
        orders = sum(len(due_by_member.get(i, [])) for p in writable for i in p.member_ids)
        with_orders = sum(1 for p in writable if any(due_by_member.get(i) for i in p.member_ids))
        volume = PushVolume(persons=len(writable), orders=orders,
                            new_persons=sum(1 for p in writable if not p.known_marketo_ids),
                            persons_with_orders=with_orders)
        settings = CostSettings.from_mapping(self.m, daily_allocation=self.o.daily_allocation,
                                              chunk_size=self.o.chunk_size)
        choice = choose(volume, settings)
        if self.o.marketo_method in (REST, BULK) and self.o.marketo_method != choice.method:
            forced = estimate_rest(volume, settings) if self.o.marketo_method == REST else estimate_bulk(volume, settings)
            choice = Choice(self.o.marketo_method, forced, choice.chosen, choice.allocation,
                            f"marketo_method {self.o.marketo_method} was asked for")
        self.summary.marketo_estimate = choice.summary_line()
        self.summary.marketo_method = choice.method
        if writable:
            self.info(choice.summary_line())
        return choice

    def _push_rest(self, persons: list[PersonWrite], orders_by_member: dict[str, list[dict[str, Any]]],
                   due_by_member: dict[str, list[dict[str, Any]]], lines: dict[str, list[dict[str, Any]]]) -> None:
        s = self.summary
        total = len(persons)
        self.progress("persons", 0, total)
        done = 0
        for start in range(0, total, self.o.chunk_size):
            chunk = persons[start:start + self.o.chunk_size]
            try:
                self._push_chunk(chunk, orders_by_member, due_by_member, lines)
            except MarketoQuotaExceeded as quota:
                s.stopped = str(quota)
                self.log(f"Stopping: {quota}")
                break
            done += len(chunk)
            self.progress("persons", done, total)

    def _push_bulk(self, persons: list[PersonWrite], orders_by_member: dict[str, list[dict[str, Any]]],
                   due_by_member: dict[str, list[dict[str, Any]]], lines: dict[str, list[dict[str, Any]]]) -> None:
        """The same writes in the same order through Marketo's bulk imports (BulkBackfill): persons
        (found first, as on the REST path), their orders, then their order fields; then the
        write-back, record by record, from what each import's failures file said."""
        s = self.summary
        person_errors: dict[str, str] = {}
        writable = self._writable(persons, person_errors)
        try:
            resolutions = self.resolver.resolve(writable) if writable else {}
        except MarketoQuotaExceeded as quota:
            s.stopped = str(quota)
            self.log(f"Stopping: {quota}")
            return
        self._decide_consent(writable, resolutions)
        known = {key: r.target for key, r in resolutions.items() if r.target is not None}
        order_results: dict[str, tuple[str | None, str | None]] = {}
        writes: dict[str, list[OrderWrite]] = {}
        for person in writable:
            for member_id in person.member_ids:
                for order in due_by_member.get(member_id, []):
                    write = self._order_write(order, member_id, lines.get(order["Id"], []))
                    if write.problems:
                        reason = "; ".join(str(p) for p in write.problems)
                        order_results[order["Id"]] = (None, _error_text(reason))
                        s.orders_skipped.append((write.order_number, reason))
                    else:
                        writes.setdefault(person.key, []).append(write)
        by_key = {p.key: p for p in writable}

        def order_fields(key: str, pushed: frozenset[str]) -> dict[str, Any]:
            values, _problems = self._last_order_values(by_key[key], orders_by_member, pushed)
            return values

        self._guids_answered = False
        result = BulkBackfill(self.marketo, self.m, poll_seconds=self.o.bulk_poll_seconds, log=self.info).run(
            {p.key: p.values for p in writable}, writes, known_ids=known, order_fields=order_fields)
        person_ids: dict[str, int] = {}
        for person in writable:
            outcome = result.persons.get(person.key)
            if outcome is not None and outcome.ok and outcome.lead_id is not None:
                person_ids[person.key] = outcome.lead_id
                if person.key in known:
                    s.persons_updated += 1
                else:
                    s.persons_created += 1
            else:
                person_errors[person.key] = _error_text((outcome.error if outcome else None) or "not written")
                s.persons_skipped.append((person.key, person_errors[person.key]))
        self._resubscribe_after_import(writable, person_ids, person_errors)
        for key, key_writes in writes.items():
            for write in key_writes:
                outcome = result.orders.get(write.order_id)
                if outcome is not None and outcome.ok:
                    order_results[write.order_id] = (None, None)
                    s.orders_pushed += 1
                else:
                    error = (outcome.error if outcome else None) or "not written"
                    order_results[write.order_id] = (None, _error_text(error))
                    s.orders_skipped.append((write.order_number, error))
        if result.stopped:
            s.stopped = result.stopped
        self._write_back(persons, person_ids, person_errors, order_results)  # collections of 200 a call

    def _writable(self, persons: list[PersonWrite], person_errors: dict[str, str]) -> list[PersonWrite]:
        """The persons Marketo can take; the others get their values' problems as their error."""
        writable = []
        for person in persons:
            if person.rejected:
                person_errors[person.key] = "; ".join(str(p) for p in person.problems)
                self.summary.persons_skipped.append((person.key, person_errors[person.key]))
            else:
                writable.append(person)
        return writable

    # ------------------------------------------------------------------ one chunk
    _guids_answered = True  # the REST path answers every custom object's marketoGUID; bulk imports do not

    def _push_chunk(self, chunk: list[PersonWrite], orders_by_member: dict[str, list[dict[str, Any]]],
                    due_by_member: dict[str, list[dict[str, Any]]], lines: dict[str, list[dict[str, Any]]]) -> None:
        s = self.summary
        person_ids: dict[str, int] = {}  # person key -> lead id
        person_errors: dict[str, str] = {}
        writable = self._writable(chunk, person_errors)
        # 1. persons
        try:
            self._write_persons(writable, person_ids, person_errors)
        except MarketoQuotaExceeded:
            raise
        except MarketoError as error:
            for person in writable:
                if person.key not in person_ids and person.key not in person_errors:
                    person_errors[person.key] = f"Marketo call failed: {error}"
                    s.persons_skipped.append((person.key, person_errors[person.key]))
        # 2. custom objects for the due orders of persons Marketo has
        order_results: dict[str, tuple[str | None, str | None]] = {}  # order id -> (guid, error)
        pushed_orders: set[str] = set()
        order_writes: list[OrderWrite] = []
        for person in chunk:
            for member_id in person.member_ids:
                for order in due_by_member.get(member_id, []):
                    if person.key in person_errors:
                        order_results[order["Id"]] = (None, _error_text(
                            f"member not in Marketo: {person_errors[person.key]}"))
                        s.orders_skipped.append((str(order.get(self.m.order.key_field)), "member not in Marketo"))
                        continue
                    if person.key not in person_ids:
                        continue
                    order_writes.append(self._order_write(order, member_id, lines.get(order["Id"], [])))
        self._write_orders(order_writes, person_ids, chunk, order_results, pushed_orders)
        # 3. order-derived lead fields
        self._write_order_fields(chunk, person_ids, person_errors, orders_by_member, pushed_orders)
        # 4. write-back
        self._write_back(chunk, person_ids, person_errors, order_results)

    def _write_persons(self, persons: list[PersonWrite], person_ids: dict[str, int],
                       person_errors: dict[str, str]) -> None:
        s = self.summary
        if not persons:
            return
        resolutions = self.resolver.resolve(persons)
        self._decide_consent(persons, resolutions)
        updates: list[tuple[PersonWrite, int]] = []
        creates: list[PersonWrite] = []
        for person in persons:
            target = resolutions[person.key].target
            if target is None:
                creates.append(person)
            elif person.member_due or person.known_marketo_ids != [target]:
                updates.append((person, target))
            else:
                person_ids[person.key] = target
                s.persons_unchanged += 1
        lookup = self.m.marketo.lead.lookup_field
        if creates:
            results = self.marketo.sync_leads([p.values for p in creates], action="createOnly", lookup_field=lookup)
            exists: list[PersonWrite] = []
            for person, result in zip(creates, results):
                if result.ok and result.id:
                    person_ids[person.key] = result.id
                    s.persons_created += 1
                elif any(r.code == ALREADY_EXISTS for r in result.reasons):
                    exists.append(person)  # created meanwhile (a retried call, another run): update it
                else:
                    self._person_failed(person, result, person_errors)
            if exists:
                again = self.resolver.resolve(exists)
                for person in exists:
                    target = again[person.key].target
                    if target is None:
                        person_errors[person.key] = "Marketo says the person exists but no lookup finds it"
                        s.persons_skipped.append((person.key, person_errors[person.key]))
                    else:
                        updates.append((person, target))
        if updates:
            records = [{**person.values, "id": target} for person, target in updates]
            results = self.marketo.sync_leads(records, action="updateOnly", lookup_field="id")
            for (person, target), result in zip(updates, results):
                if result.ok:
                    person_ids[person.key] = target
                    s.persons_updated += 1
                else:
                    self._person_failed(person, result, person_errors)

    def _decide_consent(self, persons: list[PersonWrite], resolutions: dict[str, Any]) -> None:
        """What each person's write says about consent, now that the identity read found who Marketo
        has unsubscribed (python_tasks/push/consent.py); refusals are named in the summary."""
        if self.consent_gate is None:
            return
        decisions = self.summary.consent
        before = len(decisions.refused)
        self.consent_gate.decide(persons, {key: r.target for key, r in resolutions.items()}, self.resolver.leads,
                                 decisions, {key: list(r.candidates) for key, r in resolutions.items()})
        for refusal in decisions.refused[before:]:
            self.log(f"Re-subscribe refused: {refusal}")

    def _resubscribe_after_import(self, persons: list[PersonWrite], person_ids: dict[str, int],
                                  person_errors: dict[str, str]) -> None:
        """A bulk import never sets unsubscribed false (Adobe): the re-subscribes the policy allowed go
        over REST once the import is done (one updateOnly call per 300)."""
        consent = self.m.consent
        allowed = set(self.summary.consent.resubscribed)
        todo = [p for p in persons if p.key in allowed and p.key in person_ids]
        if consent is None or not todo:
            return
        records = [{"id": person_ids[p.key], consent.unsubscribed: False, consent.unsubscribed_reason: None}
                   for p in todo]
        for person, result in zip(todo, self.marketo.sync_leads(records, action="updateOnly", lookup_field="id")):
            if not result.ok:
                self._person_failed(person, result, person_errors)

    def _consent_write_back(self, member_id: str) -> dict[str, Any]:
        """A member whose person stays unsubscribed in Marketo is opted out in Salesforce too."""
        reason = self.summary.consent.opt_outs.get(member_id)
        if reason is None or self.m.consent is None:
            return {}
        return {self.m.consent.opted_out: True, self.m.consent.reason: reason}

    def _person_failed(self, person: PersonWrite, result: RecordResult, person_errors: dict[str, str]) -> None:
        reason = result.reason_text or f"Marketo status {result.status}"
        person_errors[person.key] = reason
        self.summary.persons_skipped.append((person.key, reason))

    def _order_write(self, order: dict[str, Any], member_id: str, order_lines: list[dict[str, Any]]) -> OrderWrite:
        write = OrderWrite(order["Id"], str(order.get(self.m.order.key_field)), member_id, {})
        for co in self.m.marketo.custom_objects:
            values, problems = custom_object_values(co, order, order_lines, self.schema, self.o.tz)
            write.values[co.api_name] = values
            write.problems += problems
        return write

    def _write_orders(self, writes: list[OrderWrite], person_ids: dict[str, int], chunk: list[PersonWrite],
                      order_results: dict[str, tuple[str | None, str | None]], pushed: set[str]) -> None:
        s = self.summary
        key_of_member = {member_id: p.key for p in chunk for member_id in p.member_ids}
        values_of_key = {p.key: p.values for p in chunk}
        good: list[OrderWrite] = []
        for write in writes:
            if write.problems:
                reason = "; ".join(str(p) for p in write.problems)
                order_results[write.order_id] = (None, _error_text(reason))
                s.orders_skipped.append((write.order_number, reason))
            else:
                good.append(write)
        guid: dict[str, str] = {}
        failed: dict[str, str] = {}
        for co in self.m.marketo.custom_objects:
            records = []
            for write in good:
                key = key_of_member[write.member_id]
                link = person_ids[key] if co.lead_link_field == "id" else values_of_key[key].get(co.lead_link_field)
                records.append({**write.values[co.api_name], co.link_field: link})
            if not records:
                continue
            try:
                results = self.marketo.sync_custom_objects(co.api_name, records, action="createOrUpdate",
                                                           dedupe_by="dedupeFields", dedupe_fields=[co.dedupe_field])
            except MarketoQuotaExceeded:
                raise
            except MarketoError as error:
                done = {r.index: r for r in error.completed_results}
                results = [done.get(i) or RecordResult.client_skip(i, error.code or "call", str(error))
                           for i in range(len(records))]
            for write, result in zip(good, results):
                if result.ok:
                    guid.setdefault(write.order_id, result.marketo_guid or "")
                else:
                    failed[write.order_id] = f"{co.api_name}: {result.reason_text or result.status}"
        for write in good:
            if write.order_id in failed:
                order_results[write.order_id] = (None, _error_text(failed[write.order_id]))
                s.orders_skipped.append((write.order_number, failed[write.order_id]))
            else:
                order_results[write.order_id] = (guid.get(write.order_id), None)
                pushed.add(write.order_id)
                s.orders_pushed += 1

    def _last_order_values(self, person: PersonWrite, orders_by_member: dict[str, list[dict[str, Any]]],
                           pushed: set[str] | frozenset[str]) -> tuple[dict[str, Any], list[Any]]:
        """The person's last-order lead fields, from the newest of its orders Marketo has (pushed now,
        or pushed before and not due)."""
        o = self.m.order
        in_marketo = [order for member_id in person.member_ids for order in orders_by_member.get(member_id, [])
                      if order["Id"] in pushed or not self._due(order)]
        date_field = o.field_for("orderDate").sf_field if o.field_for("orderDate") else "CreatedDate"
        return lead_order_values(last_order(in_marketo, date_field, o.key_field), self.m, self.schema, self.o.tz)

    def _write_order_fields(self, chunk: list[PersonWrite], person_ids: dict[str, int], person_errors: dict[str, str],
                            orders_by_member: dict[str, list[dict[str, Any]]], pushed: set[str]) -> None:
        updates: list[tuple[PersonWrite, dict[str, Any]]] = []
        for person in chunk:
            if person.key not in person_ids:
                continue
            values, problems = self._last_order_values(person, orders_by_member, pushed)
            if problems:
                reason = "; ".join(str(p) for p in problems)
                person_errors[person.key] = reason
                self.summary.persons_skipped.append((person.key, reason))
                continue
            if values:
                updates.append((person, values))
        if not updates:
            return
        records = [{**values, "id": person_ids[person.key]} for person, values in updates]
        try:
            results = self.marketo.sync_leads(records, action="updateOnly", lookup_field="id")
        except MarketoQuotaExceeded:
            raise
        except MarketoError as error:
            done = {r.index: r for r in error.completed_results}
            results = [done.get(i) or RecordResult.client_skip(i, error.code or "call", str(error))
                       for i in range(len(records))]
        for (person, _values), result in zip(updates, results):
            if not result.ok:
                self._person_failed(person, result, person_errors)

    def _write_back(self, chunk: list[PersonWrite], person_ids: dict[str, int], person_errors: dict[str, str],
                    order_results: dict[str, tuple[str | None, str | None]]) -> None:
        wb = self.wb
        moment = self._org_clock()
        self._pushed_seconds.add(moment.replace(microsecond=0))
        mark = format_sf_datetime(moment)
        members = []
        for person in chunk:
            error = person_errors.get(person.key)
            for member_id in person.member_ids:
                if error is not None:
                    members.append({"Id": member_id, wb.error: _error_text(error)})
                elif person.key in person_ids:
                    members.append({"Id": member_id, wb.marketo_id: str(person_ids[person.key]),
                                    wb.pushed_at: mark, wb.error: None, **self._pushed_change(member_id, mark),
                                    **self._consent_write_back(member_id)})
        orders = []
        for order_id, (guid, error) in order_results.items():
            if error is not None:
                orders.append({"Id": order_id, wb.error: error})
            else:
                known_guid = {wb.marketo_id: guid} if guid is not None or self._guids_answered else {}
                orders.append({"Id": order_id, **known_guid, wb.pushed_at: mark, wb.error: None,
                               **self._pushed_change(order_id, mark)})
        for object_name, records in ((self.m.member.object_name, members), (self.m.order.object_name, orders)):
            if not records:
                continue
            failed_pushes = {r["Id"] for r in records if r.get(wb.error)}
            for record_id, ok, text in self.sf.update(object_name, records, bulk_above=self.o.bulk_threshold):
                if not ok:
                    self.summary.write_back_failures.append((record_id, text))
                elif record_id not in failed_pushes:
                    self._finished.add(record_id)

    def _pushed_change(self, record_id: str, mark: str) -> dict[str, Any]:
        """The change stamp this push sent. A record saved before the trigger stamped anything gets
        the time of its last change as read (its SystemModstamp, before this write-back moves it)."""
        row = self.rows.get(record_id) or {}
        stamp = row.get(self.wb.changed_at)
        if stamp:
            return {self.wb.pushed_change: stamp}
        last_change = row.get(self.o.modstamp_field) or mark
        return {self.wb.changed_at: last_change, self.wb.pushed_change: last_change}

    def _write_member_errors(self, member_errors: dict[str, str]) -> None:
        self._write_errors(self.m.member.object_name, member_errors)

    def _write_errors(self, object_name: str, errors: dict[str, str]) -> None:
        if errors:
            records = [{"Id": i, self.wb.error: _error_text(e)} for i, e in errors.items()]
            for record_id, ok, text in self.sf.update(object_name, records):
                if not ok:
                    self.summary.write_back_failures.append((record_id, text))

    def _record_clusters(self) -> None:
        """Record the clusters this run met, once each per Marketo instance, for marketo_dedupe
        (:mod:`python_tasks.dedupe.cluster_record`): meeting one again updates its line."""
        path = self.o.clusters_file
        if not path or not self.resolver.clusters:
            return
        sightings = [Sighting(c.key, c.candidates, c.chosen, c.reason) for c in self.resolver.clusters]
        ClusterRecord(path).record(self.marketo.base_url, sightings, datetime.now(timezone.utc).isoformat())


def _unique(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))
