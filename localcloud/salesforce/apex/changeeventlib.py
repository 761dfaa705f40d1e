"""Change Data Capture in Apex: change events (``AccountChangeEvent``, ``X__ChangeEvent``) and
their ``after insert`` triggers, as the Change Data Capture Developer Guide describes them.

* The event types are sObjects derived from their objects (``data/changeevents.py``): the object's
  fields (less ``IsDeleted``, ``SystemModstamp`` and derived fields) plus ``ChangeEventHeader``
  (``EventBus.ChangeEventHeader``: entityName, recordIds, changeType, changeOrigin, transactionKey,
  sequenceNumber, commitTimestamp, commitNumber, commitUser, nulledFields, diffFields, changedFields,
  as public fields and ``get...()`` methods) and ``ReplayId``.
* One event per saved record, in save order, as the Pub/Sub side publishes them: CREATE and
  UNDELETE carry every field, UPDATE the changed ones (``changedFields`` names them, plus
  ``LastModifiedDate``; ``nulledFields`` those set to null), DELETE none. Field names are the
  object's (``BillingCity``, not ``BillingAddress.City``).
* In the org: after a transaction commits, the changes of the entities selected for Change Data
  Capture (the org's ``PlatformEventChannelMember`` metadata, ``dataport.org_source(store,
  "cdc_entities")``) are delivered to the change event triggers asynchronously (a worker thread),
  in their own transaction, as the org's Automated Process user when it has one (a User with
  UserType ``AutomatedProcess``), else as the user who committed. A rolled-back transaction
  publishes nothing. Each trigger is a subscriber (``eventretry``): an exception in it rolls back its
  own work and is written to the delivery's debug log; ``EventBus.RetryableException`` redelivers the
  batch, ``EventBus.TriggerContext.currentContext().setResumeCheckpoint`` resumes after an event.
* In an Apex test: nothing is published until ``Test.enableChangeDataCapture()`` (which selects
  every entity for the test); the changes made after it are delivered at ``Test.stopTest()`` or
  ``Test.getEventBus().deliver()``.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Iterable

from localcloud.salesforce.data.changes import DELETE, UPDATE, RecordChange
from localcloud.salesforce.data.changeevents import HEADER_FIELDS, change_event_name, change_event_object

from . import asyncjobs, ops
from .dataport import Session, automated_process_user, org_source
from .eventretry import deliver
from .stdlib import STATIC_METHODS
from .systemlib import EventDelivery, _public_fields_class
from .values import ApexList, Long, SObject, TypeRef

log = logging.getLogger(__name__)
BATCH = 2000  # Salesforce: a change event trigger gets at most 2,000 events per batch
_commit_numbers = itertools.count(int(time.time() * 1000) * 1000)
_replay_ids = itertools.count(1)

ChangeEventHeader = _public_fields_class("EventBus.ChangeEventHeader", HEADER_FIELDS)
for _field in HEADER_FIELDS:
    setattr(ChangeEventHeader, "m_get" + _field.lower(), (lambda low: lambda self, a: self.values.get(low))(
        _field.lower()))


# -- the events ----------------------------------------------------------------------------------
class Payload:
    """One change event, before it is an Apex value: its type, header fields and field values."""

    __slots__ = ("event", "header", "values")

    def __init__(self, event: str, header: dict[str, Any], values: dict[str, Any]) -> None:
        self.event, self.header, self.values = event, header, values


def payloads(changes: Iterable[RecordChange], user_id: str, committed_at: datetime, schema: Any) -> list[Payload]:
    """The change events of one committed transaction's changes (objects without events skipped)."""
    common = {"changeOrigin": "", "transactionKey": str(uuid.uuid4()),
              "commitTimestamp": int(committed_at.timestamp() * 1000), "commitNumber": next(_commit_numbers),
              "commitUser": user_id}
    out: list[Payload] = []
    for change in changes:
        od = change_event_object(schema, change_event_name(change.sobject))
        if od is None:
            continue
        changed: list[str] = []
        nulled: list[str] = []
        if change.change_type == UPDATE:
            changed = [n for n in change.changed if od.find_field(n) is not None]
            if "LastModifiedDate" not in changed and od.find_field("LastModifiedDate") is not None:
                changed.append("LastModifiedDate")
            nulled = [n for n in changed if change.values.get(n) is None and n != "LastModifiedDate"]
        values = {} if change.change_type == DELETE else {
            od.field(k).name: v for k, v in change.values.items() if od.find_field(k) is not None and k != "Id"}
        if change.change_type == UPDATE and "LastModifiedDate" not in values and od.find_field("LastModifiedDate"):
            values["LastModifiedDate"] = committed_at
        header = {**common, "entityName": od.raw.get("associateParentEntity") or change.sobject,
                  "recordIds": [change.record_id], "changeType": change.change_type,
                  "sequenceNumber": len(out) + 1, "changedFields": changed, "nulledFields": nulled,
                  "diffFields": []}
        out.append(Payload(od.name, header, values))
    return out


def _header(fields: dict[str, Any]) -> Any:
    header = ChangeEventHeader()
    for name in HEADER_FIELDS:
        value = fields.get(name)
        if isinstance(value, list):
            value = ApexList(list(value), TypeRef("String"))
        elif name in ("commitTimestamp", "commitNumber") and value is not None:
            value = Long(value)
        header.values[name.lower()] = value
    return header


def _event_sobject(prog: Any, payload: Payload) -> SObject:
    from .soql import to_sobject
    so = to_sobject(prog, dict(payload.values), payload.event)
    so.put("ChangeEventHeader", _header(payload.header))
    so.put("ReplayId", str(next(_replay_ids)))
    so.queried = None
    so.readonly = True
    return so


def batches(prog: Any, items: list[Payload]) -> list[tuple[list[Any], str, list[Payload]]]:
    """(triggers, event type, up to 2,000 events) for each batch a change event trigger gets."""
    groups: dict[str, list[Payload]] = {}
    for item in items:
        groups.setdefault(item.event, []).append(item)
    out = []
    for event, group in groups.items():
        trigs = [t for t in prog.triggers.values() if t.sobject.lower() == event.lower() and "after insert" in t.events]
        if trigs:
            out += [(trigs, event, group[i:i + BATCH]) for i in range(0, len(group), BATCH)]
    return out


class ChangeEventDelivery(EventDelivery):
    """Change events of an Apex test, delivered to their triggers at ``Test.stopTest`` / ``deliver()``;
    an exception in a trigger is written to the debug log (the test goes on; ``eventretry``)."""

    def __init__(self, items: list[Payload]) -> None:
        self.items = items
        self.events = []
        self.cls = type("ChangeEvent", (), {"name": items[0].event if items else "ChangeEvent"})

    def run(self, prog: Any) -> None:
        for _trigs, event, items in batches(prog, self.items):
            deliver(prog, event, [_event_sobject(prog, p) for p in items])


# -- Apex tests ----------------------------------------------------------------------------------
def _enable(a):
    prog = ops.CURRENT.prog
    test = prog.tx.test
    if test is not None and prog.tx.data is not None:
        test.cdc_mark = len(prog.tx.data.tx.recorded_changes())
    return None


def _queue_test_events(prog: Any) -> None:
    """Before a test delivers: the changes since ``Test.enableChangeDataCapture()`` become events."""
    tx = prog.tx
    test = tx.test
    mark = getattr(test, "cdc_mark", None) if test is not None else None
    if mark is None or tx.data is None:
        return
    changes = tx.data.tx.recorded_changes()
    fresh, test.cdc_mark = changes[min(mark, len(changes)):], len(changes)
    user = (tx.user or {}).get("userid") or getattr(prog.data, "user_id", "")
    items = payloads(fresh, user, datetime.now(timezone.utc), tx.data.tx.schema)
    if items:
        tx.queue.append(ChangeEventDelivery(items))


STATIC_METHODS[("test", "enablechangedatacapture")] = _enable
asyncjobs.BEFORE_TEST_DELIVERY.append(_queue_test_events)


# -- the org -------------------------------------------------------------------------------------
class ChangeEventPublisher:
    """The org's change events for Apex: a commit listener of the store and a delivery worker."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self._jobs: "queue.Queue[tuple[list[Payload], str]]" = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self._worker: threading.Thread | None = None
        self.failures: list[str] = []

    def on_commit(self, committed: Any) -> None:
        prog = self.runtime.program
        wanted = {t.sobject.lower() for t in prog.triggers.values() if "after insert" in t.events
                  and t.sobject.lower().endswith("changeevent")}
        if not wanted:
            return
        source = org_source(self.store, "cdc_entities")
        selected = {str(n).lower() for n in (source() if source is not None else ())}
        changes = [c for c in committed.changes if c.sobject.lower() in selected
                   and change_event_name(c.sobject).lower() in wanted]
        if not changes:
            return
        items = payloads(changes, committed.user_id, committed.committed_at, committed.schema)
        if items:
            committed.transaction.on_commit(lambda: self._submit(items, committed.user_id))

    def _submit(self, items: list[Payload], user_id: str) -> None:
        with self._idle:  # under the lock: an idle worker stops only when it sees the queue empty under it
            self._pending += 1
            self._jobs.put((items, user_id))
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="apex-change-events", daemon=True)
                self._worker.start()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Until every committed change has been delivered (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def _work(self) -> None:
        while True:
            try:
                items, user_id = self._jobs.get(timeout=5)
            except queue.Empty:
                with self._idle:
                    if self._jobs.empty():
                        self._worker = None
                        return
                continue
            try:
                self._deliver(items, user_id)
            except Exception:  # noqa: BLE001 - a delivery never stops the worker
                log.exception("change event delivery failed")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _deliver(self, items: list[Payload], user_id: str) -> None:
        """Each batch of each event type in its own transaction (a failing trigger rolls back only its own)."""
        prog = self.runtime.program
        runner = automated_process_user(self.store) or user_id
        for trigs, event, batch in batches(prog, items):
            data = Session(self.store, self.store.transaction(user_id=runner), True)
            tx = prog.new_transaction(data=data, user={"userid": runner, "organizationid": self.store.org_id})
            failures: list[str] = []
            res = prog.run_in(lambda: failures.extend(
                deliver(prog, event, [_event_sobject(prog, p) for p in batch])), tx=tx, commit=True)
            if not res.success:
                failures.append(f"{trigs[0].name}: change event trigger failed: {res.exception_type}: "
                                f"{res.exception_message}")
            for failure in failures:
                log.warning("%s", failure)
            self.failures.extend(failures)


def attach(runtime: Any) -> ChangeEventPublisher:
    """Publish the org's change events to ``runtime``'s change event triggers (one publisher per store)."""
    store = runtime.store
    old = getattr(store, "_apex_change_events", None)
    if old is not None and old.on_commit in store.commit_listeners:
        store.commit_listeners.remove(old.on_commit)
    publisher = ChangeEventPublisher(runtime)
    store.commit_listeners.append(publisher.on_commit)
    store._apex_change_events = publisher
    return publisher
