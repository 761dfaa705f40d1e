"""Flows started by the clock and by events: scheduled-trigger flows and platform-event-triggered flows.

* Scheduled-trigger flows (``<start>`` with ``triggerType`` Scheduled and a ``<schedule>``: ``frequency``
  Once, Daily or Weekly, ``startDate``, ``startTime``). Each active one has a ``CronTrigger`` with a
  ``CronJobDetail`` (Name = the flow's API name, JobType ``6``, Scheduled Flow), written by the org's
  scheduler (``schedulelib.ApexScheduler.tick``) the first time it sees the flow; the start time is in the
  org's default time zone (``Organization.TimeZoneSidKey``), as Salesforce's "Schedule-Triggered Flow
  Considerations" say. An occurrence fires at the first tick at or after it: the trigger is advanced
  (PreviousFireTime, TimesTriggered, NextFireTime; COMPLETE after a Once run) in the store before the
  interviews run, so a restarted org never runs an occurrence twice, and occurrences missed while the org
  was down fire once. A Once flow whose time had passed when the scheduler first saw it never runs. With an
  ``object`` the flow runs once per record meeting the start conditions (``filters`` + ``filterLogic`` or
  ``filterFormula``) with ``$Record``, in batches of 200 records, each batch in its own transaction;
  without one it runs once. A deactivated or removed flow's trigger ends (State DELETED, EndTime); an
  aborted one (``System.abortJob``: State DELETED, no EndTime) stops the flow's runs until it is deactivated
  and activated again, as Salesforce documents.
* Platform-event-triggered flows (``triggerType`` PlatformEvent, ``object`` X__e): the delivery of
  ``eventretry.deliver`` (Apex ``EventBus.publish`` after commit, REST publishes, ``Test.getEventBus()
  .deliver()`` and ``Test.stopTest()`` in Apex tests) runs, after the Apex event triggers, one interview
  per event with ``$Record`` for each active flow on the event, together (bulkified), under a savepoint:
  an interview's unhandled fault rolls that flow's work for the batch back and is logged.

Both run as the org's Automated Process user (``dataport.automated_process_user``): Salesforce runs
scheduled-trigger flows as the Default Workflow User, and as the Automated Process user when none is set,
which the local org never has.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterator

from localcloud.salesforce.flow import FlowDef, Interview, Record, run_interviews
from localcloud.salesforce.flow.triggered import entry_conditions_met

from . import cron, eventretry, ops, schedulelib
from .dataport import Session, automated_process_user, automated_process_user_in
from .flowlib import ApexFlowHost, _rethrow, org_flows, to_flow
from .values import SObject

log = logging.getLogger(__name__)

SCHEDULED_FLOW = "6"  # CronJobDetail.JobType of a Scheduled Flow
BATCH_SIZE = 200
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


# -- platform-event-triggered flows ---------------------------------------------------------------------
def event_flows(flows: dict[str, FlowDef], event_type: str) -> list[FlowDef]:
    low = event_type.lower()
    found = [f for f in flows.values() if f.is_active and (f.start.trigger_type or "") == "PlatformEvent"
             and (f.start.object or "").lower() == low]
    return sorted(found, key=lambda f: f.name.lower())


def deliver_to_flows(prog: Any, event_type: str, events: list[SObject]) -> list[str]:
    """Run the active platform-event-triggered flows of ``event_type`` on the delivered ``events``."""
    flows = event_flows(org_flows(prog), event_type) if events else []
    failures: list[str] = []
    dtx = prog.tx.data.tx if flows and prog.tx.data is not None else None
    runner = automated_process_user_in(dtx) if dtx is not None else None
    for flow in flows:
        savepoint = dtx.savepoint() if dtx is not None else None
        host = ApexFlowHost(prog)
        try:
            with _running_as(prog, dtx, runner):
                failed = run_interviews([Interview(flow, host, record=_record(e)) for e in events])
        except ops.ApexThrown:
            raise
        except Exception as e:  # noqa: BLE001 - the engine's errors become Apex exceptions
            _rethrow(e)
            raise
        if failed:
            if savepoint is not None:
                dtx.rollback_to(savepoint)
            failures.append(_note(prog, f"Flow {flow.name} on {event_type}: {failed[min(failed)].message}"))
    return failures


@contextmanager
def _running_as(prog: Any, dtx: Any, user_id: str | None) -> Iterator[None]:
    """The flow's DML and ``$User`` are the Automated Process user's (as ``System.runAs`` switches users)."""
    if user_id is None or dtx is None:
        yield
        return
    tx = prog.tx
    saved_user, saved_uid = tx.user, dtx.user_id
    tx.user = {"userid": user_id, "organizationid": (saved_user or {}).get("organizationid")}
    dtx.user_id = user_id
    try:
        yield
    finally:
        tx.user, dtx.user_id = saved_user, saved_uid


def _record(event: SObject) -> Record:
    value = to_flow(event)
    return value if isinstance(value, Record) else Record(event.type_name)


def _note(prog: Any, text: str) -> str:
    prog.tx.debug_log.append(text)
    if prog.tx.test is None:
        log.warning("%s", text)
    return text


eventretry.FLOW_DELIVERY.append(deliver_to_flows)


# -- scheduled-trigger flows ------------------------------------------------------------------------------
def scheduled_flows(flows: dict[str, FlowDef]) -> dict[str, FlowDef]:
    return {f.name: f for f in flows.values()
            if f.is_active and (f.start.trigger_type or "") == "Scheduled" and f.start.schedule}


def schedule_of(flow: FlowDef) -> tuple[str, datetime]:
    """The flow's schedule as a Salesforce cron expression and its first occurrence (naive local time)."""
    values = flow.start.schedule_values
    frequency = values.get("frequency", "").lower()
    try:
        day = date.fromisoformat(values.get("startDate", ""))
        at = time.fromisoformat(values.get("startTime", "").rstrip("Zz")[:8] or "00:00:00")
    except ValueError:
        raise ValueError(f"Flow {flow.name}: the schedule's startDate/startTime "
                         f"{values.get('startDate')!r} {values.get('startTime')!r} are not a date and a time") from None
    first = datetime.combine(day, at.replace(microsecond=0, tzinfo=None))
    if frequency == "once":
        return cron.one_time(first), first
    if frequency == "daily":
        return f"{first.second} {first.minute} {first.hour} * * ?", first
    if frequency == "weekly":
        return f"{first.second} {first.minute} {first.hour} ? * {_WEEKDAYS[first.weekday()]}", first
    raise ValueError(f"Flow {flow.name}: the schedule frequency {values.get('frequency')!r} is not Once, Daily "
                     "or Weekly")


def next_occurrence(expression: str, first: datetime, zone: Any, after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after`` and not before the schedule's start."""
    start = first.replace(tzinfo=zone)
    return cron.parse(expression).next_fire(max(after, start - timedelta(seconds=1)), zone)


def org_zone(tx: Any) -> tuple[str, Any]:
    rows = tx.query("SELECT TimeZoneSidKey FROM Organization LIMIT 1").records
    key = (rows[0].get("TimeZoneSidKey") if rows else None) or "GMT"
    return key, schedulelib._zone(key) or timezone.utc


def tick_scheduled_flows(scheduler: Any, now: datetime) -> None:
    """The scheduler's tick: bring the flows' CronTriggers up to date, then run the due ones."""
    prog = scheduler.runtime.program
    store = scheduler.store
    flows = scheduled_flows(org_flows(prog))
    runner = automated_process_user(store) or store.user_id
    due = _sync(store, flows, runner, now)
    scheduler.flow_runs = [_fire(scheduler, flows[name], row, runner, now) for name, row in due]


def _sync(store: Any, flows: dict[str, FlowDef], runner: str, now: datetime) -> list[tuple[str, dict]]:
    """Write the triggers of newly seen flows, DELETE those of flows no longer active; the due triggers."""
    due: list[tuple[str, dict]] = []
    with store.transaction() as tx:
        rows = tx.query("SELECT Id, State, NextFireTime, TimesTriggered, CronExpression, EndTime, "
                        "CronJobDetail.Name FROM CronTrigger WHERE CronJobDetail.JobType = :t "
                        "ORDER BY CreatedDate, Id", {"t": SCHEDULED_FLOW}).records
        by_name: dict[str, dict] = {}
        for row in rows:
            name = schedulelib._detail_name(row) or ""
            if name not in flows:  # deactivated or removed: its schedule ends (EndTime; reactivating starts anew)
                if row.get("EndTime") is None:
                    tx.update("CronTrigger", [{"Id": row["Id"], "State": "DELETED", "NextFireTime": None,
                                               "EndTime": now}], read_only_fields="write")
                continue
            by_name[name] = None if row.get("State") == "DELETED" and row.get("EndTime") is not None else row
        zone_key, zone = org_zone(tx) if flows else ("GMT", timezone.utc)
        for name, flow in flows.items():
            try:
                expression, first = schedule_of(flow)
            except ValueError as error:
                log.warning("%s", error)
                continue
            row = by_name.get(name)
            if row is not None and row.get("State") == "DELETED":
                continue  # aborted (System.abortJob, Setup's Scheduled Jobs): no runs until reactivated
            if row is None or row.get("CronExpression") != expression and row.get("State") == "WAITING":
                nxt = next_occurrence(expression, first, zone, now)
                if row is not None:  # the schedule was changed by a deploy
                    tx.update("CronTrigger", [{"Id": row["Id"], "CronExpression": expression, "NextFireTime": nxt,
                                               "State": "WAITING" if nxt else "COMPLETE"}], read_only_fields="write")
                elif nxt is not None:
                    [detail] = tx.insert("CronJobDetail", [{"Name": name, "JobType": SCHEDULED_FLOW}],
                                         read_only_fields="write")
                    tx.insert("CronTrigger", [{"CronJobDetailId": str(detail.id), "CronExpression": expression,
                                               "State": "WAITING", "NextFireTime": nxt, "TimesTriggered": 0,
                                               "OwnerId": runner, "TimeZoneSidKey": zone_key}],
                              read_only_fields="write")
                continue
            if row.get("State") == "WAITING" and row.get("NextFireTime") is not None \
                    and schedulelib._as_datetime(row["NextFireTime"]) <= now:
                fired_at = schedulelib._as_datetime(row["NextFireTime"])
                nxt = next_occurrence(expression, first, zone, max(now, fired_at))
                tx.update("CronTrigger", [{"Id": row["Id"], "PreviousFireTime": fired_at, "StartTime": now,
                                           "TimesTriggered": int(row.get("TimesTriggered") or 0) + 1,
                                           "NextFireTime": nxt, "State": "WAITING" if nxt else "COMPLETE"}],
                          read_only_fields="write")
                due.append((name, row))
    return due


def _fire(scheduler: Any, flow: FlowDef, row: dict, runner: str, now: datetime) -> schedulelib.FireOutcome:
    """One occurrence: the records (if the flow names an object), then each batch of 200 interviews."""
    prog = scheduler.runtime.program
    store = scheduler.store
    records: list[Record | None] = [None]
    if flow.start.object:
        found: list[Record] = []
        res = _in_transaction(prog, store, runner, lambda: found.extend(_matching(prog, flow, now)))
        if not res.success:
            return _failed(flow, row, f"{res.exception_type}: {res.exception_message}")
        records = list(found)
    errors: list[str] = []
    for start in range(0, len(records), BATCH_SIZE):
        batch = records[start:start + BATCH_SIZE]
        failed: dict[int, Any] = {}

        def run(batch: list[Record | None] = batch, failed: dict[int, Any] = failed) -> None:
            host = ApexFlowHost(prog)
            try:
                failed.update(run_interviews([Interview(flow, host, record=r, now=now) for r in batch]))
            except ops.ApexThrown:
                raise
            except Exception as e:  # noqa: BLE001
                _rethrow(e)
        res = _in_transaction(prog, store, runner, run)
        if not res.success:
            errors.append(f"{res.exception_type}: {res.exception_message}")
        errors.extend(f.message for f in failed.values())
    if errors:
        return _failed(flow, row, errors[0])
    return schedulelib.FireOutcome(str(row["Id"]), None, True)


def _matching(prog: Any, flow: FlowDef, now: datetime) -> list[Record]:
    sobject = flow.start.object or ""
    host = ApexFlowHost(prog)
    fields = ", ".join(host.all_fields(sobject)) or "Id"
    rows = host.query(f"SELECT {fields} FROM {sobject} ORDER BY Id", sobject)
    return [r for r in rows if entry_conditions_met(Interview(flow, host, record=r, now=now), "create")]


def _in_transaction(prog: Any, store: Any, user_id: str, fn: Any) -> Any:
    data = Session(store, store.transaction(user_id=user_id), True)
    tx = prog.new_transaction(data=data, user={"userid": user_id, "organizationid": store.org_id})
    return prog.run_in(fn, tx=tx, commit=True)


def _failed(flow: FlowDef, row: dict, error: str) -> schedulelib.FireOutcome:
    log.warning("scheduled flow %s (%s) failed: %s", flow.name, row["Id"], error)
    return schedulelib.FireOutcome(str(row["Id"]), None, False, error)


schedulelib.TICK_HOOKS.append(tick_scheduled_flows)

__all__ = ["BATCH_SIZE", "SCHEDULED_FLOW", "deliver_to_flows", "event_flows", "next_occurrence", "schedule_of",
           "tick_scheduled_flows"]
