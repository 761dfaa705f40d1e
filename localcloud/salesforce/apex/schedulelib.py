"""Scheduled Apex: ``System.schedule``, ``System.scheduleBatch``, ``System.abortJob`` and the org's
clock-driven scheduler (``ApexScheduler.tick(now)``, called by ``SchedulerLoop`` in the running org).

``System.schedule(name, cron, job)`` parses the cron expression (``cron.py``; a bad one throws
``System.StringException``), writes a ``CronJobDetail`` (Name, JobType ``7``), a ``CronTrigger``
(State ``WAITING``, CronExpression, NextFireTime computed in the scheduling user's time zone,
TimesTriggered 0, StartTime, OwnerId, TimeZoneSidKey) and the schedule's ``AsyncApexJob`` (JobType
``ScheduledApex``, Status ``Queued``, ApexClassId, CronTriggerId) in the calling transaction (they roll
back with it), and returns the CronTrigger id. At most 100 scheduled jobs (CronTriggers not COMPLETE or
DELETED) and one active job per name, as in Salesforce. These writes are the platform's: they count
against no governor limit.

In an Apex test the job's ``execute`` runs once at ``Test.stopTest`` (Salesforce's behaviour);
outside tests the committed job is kept (a copy of the instance, as Salesforce serialises it) for the
scheduler: each ``tick(now)`` fires the WAITING triggers whose NextFireTime has come, each in its own
transaction as the user who scheduled it, with an ``AsyncApexJob`` (ScheduledApex, CronTriggerId) per
run that ends Completed or Failed (ExtendedStatus = the exception); then the trigger's
PreviousFireTime, TimesTriggered and NextFireTime are updated (State COMPLETE when the expression
has no later time). Missed fire times (the org was not running) fire once. A failing job never stops
the scheduler. Each tick also redelivers the event trigger batches waiting for it (``eventretry``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import cron, eventretry, ops
from .batchlib import DEFAULT_SCOPE, MAX_SCOPE, ScheduledJob, _implements, deep_clone_object, execute_batch
from localcloud.salesforce.data.ids import to18
from localcloud.salesforce.data.values import parse_datetime, to_utc

from .dataport import Session, automated_process_user
from .jobrows import _class_id, _session, _uncounted, run_tracked, update_job
from .stdlib import STATIC_METHODS
from .values import ApexObject, IdValue

log = logging.getLogger(__name__)

MAX_SCHEDULED_JOBS = 100
#: the text Salesforce gives past 100 scheduled jobs (observed wording; Salesforce does not document it)
TOO_MANY_JOBS = "You have exceeded the maximum number of scheduled Apex jobs (100)."
SCHEDULED_APEX = "7"  # CronJobDetail.JobType of Scheduled Apex
INACTIVE_STATES = ("COMPLETE", "DELETED")
#: seconds between the running org's scheduler ticks; 0 or "off": no scheduler thread
INTERVAL_SETTING = "ECBRIDGE_ORG_SCHEDULER_SECONDS"
DEFAULT_INTERVAL = 10.0
#: more work for each tick, after the Apex jobs (``flowtriggerlib``: scheduled-trigger flows):
#: ``(scheduler, now) -> None``
TICK_HOOKS: list[Callable[[Any, datetime], None]] = []


@dataclass
class ScheduledEntry:
    """What the scheduler keeps of a committed job: the instance as scheduled (each run starts from a
    copy of it) and, for ``System.scheduleBatch``, the batch scope."""

    class_name: str
    job: ApexObject | None
    batch_scope: int | None = None


def _registry(store: Any) -> dict[str, ScheduledEntry]:
    reg = getattr(store, "_apex_scheduled_jobs", None)
    if reg is None:
        reg = {}
        store._apex_scheduled_jobs = reg
    return reg


def _zone(name: str | None) -> Any:
    if not name:
        return None
    try:
        return ZoneInfo("UTC" if name == "GMT" else name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _user_zone(session: Any, user_id: str | None) -> tuple[str, Any]:
    """The scheduling user's TimeZoneSidKey and zone (the org's when the user has none)."""
    key = None
    if user_id:
        rows = session.query("SELECT TimeZoneSidKey FROM User WHERE Id = :u", {"u": user_id}).records
        key = rows[0].get("TimeZoneSidKey") if rows else None
    zone = _zone(key)
    if zone is None:
        zone = ops.user_tz()
        key = getattr(zone, "key", None) or "GMT"
    return key, zone


def _now(prog: Any) -> datetime:
    now = getattr(prog.tx, "now", None)
    return now if now is not None else datetime.now(timezone.utc)


def _class_name(cls: Any) -> str:
    return str(cls.name)


def _active(session: Any) -> list[dict[str, Any]]:
    return session.query("SELECT Id, State, CronJobDetail.Name, CronJobDetail.JobType FROM CronTrigger "
                         "WHERE State NOT IN :inactive", {"inactive": list(INACTIVE_STATES)}).records


def _detail_name(row: dict[str, Any]) -> str | None:
    detail = row.get("CronJobDetail")
    return detail.get("Name") if isinstance(detail, dict) else None


def _write_schedule(prog: Any, name: str, expr: cron.CronExpression, cls: Any, entry: ScheduledEntry) -> IdValue:
    """The rows of a new scheduled job in the calling transaction; its CronTrigger id."""
    session = _session(prog)
    user_id = (prog.tx.user or {}).get("userid") or getattr(prog.data, "user_id", None)

    def write() -> str:
        active = _active(session)
        if any(_detail_name(r) == name for r in active):
            ops.throw("System.AsyncException", f"The Apex job named \"{name}\" is already scheduled for execution.")
        if sum(1 for r in active if (r.get("CronJobDetail") or {}).get("JobType") == SCHEDULED_APEX) \
                >= MAX_SCHEDULED_JOBS:
            ops.throw("System.AsyncException", TOO_MANY_JOBS)
        zone_key, zone = _user_zone(session, user_id)
        now = _now(prog)
        first = expr.next_fire(now, zone)
        detail = _insert(session, "CronJobDetail", {"Name": name, "JobType": SCHEDULED_APEX})
        trigger = _insert(session, "CronTrigger", {
            "CronJobDetailId": detail, "CronExpression": expr.text, "State": "WAITING" if first else "COMPLETE",
            "NextFireTime": first, "TimesTriggered": 0, "StartTime": now, "OwnerId": user_id,
            "TimeZoneSidKey": zone_key})
        if first is None:
            ops.throw("System.AsyncException", "Based on configured schedule, the given trigger "
                                               f"'SCHEDULED_APEX_JOB_TYPE.{trigger[:15]}' will never fire.")
        _insert(session, "AsyncApexJob", {"JobType": "ScheduledApex", "Status": "Queued", "NumberOfErrors": 0,
                                          "JobItemsProcessed": 0, "TotalJobItems": 0, "CronTriggerId": trigger,
                                          "ApexClassId": _class_id(session, cls)})
        return trigger

    trigger_id = _uncounted(session, write)
    if prog.tx.test is None:
        registry = _registry(session.store)
        session.on_commit(lambda: registry.__setitem__(trigger_id, entry))
    return IdValue(trigger_id)


def _insert(session: Any, sobject: str, row: dict[str, Any]) -> str:
    [result] = session.insert(sobject, [row], read_only_fields="write")
    if not result.success:
        raise RuntimeError(f"{sobject} row could not be written: {result.to_json()}")
    return str(result.id)


def _parse(text: Any) -> cron.CronExpression:
    try:
        return cron.parse(str(text) if text is not None else "")
    except cron.CronError as error:
        ops.throw("System.StringException", str(error))
        raise


def _fallback_id(prog: Any) -> IdValue:
    n = getattr(prog, "_job_seq", 0) + 1
    prog._job_seq = n
    return IdValue(f"08e5g{n:010d}")


def schedule(args: list[Any]) -> IdValue:
    prog = ops.CURRENT.prog
    name, text, job = args
    if not isinstance(job, ApexObject) or not _implements(prog, job.cls, "schedulable"):
        ops.throw("System.AsyncException", "Argument must implement Schedulable")
    if name is None:
        ops.npe()
    expr = _parse(text)
    entry = ScheduledEntry(_class_name(job.cls), deep_clone_object(job))
    if _session(prog) is None:  # a program without a data layer: no rows to write
        trigger_id = _fallback_id(prog)
    else:
        trigger_id = _write_schedule(prog, str(name), expr, job.cls, entry)
    if prog.tx.test is not None:
        prog.tx.queue.append(ScheduledJob(job, trigger_id))
    return trigger_id


def schedule_batch(args: list[Any]) -> IdValue:
    """``System.scheduleBatch(batchable, jobName, minutesFromNow[, scopeSize])``: a one-time CronTrigger
    that starts the batch job when it fires (in a test the batch is queued for ``Test.stopTest``)."""
    prog = ops.CURRENT.prog
    job, name, minutes = args[0], args[1], args[2]
    scope = args[3] if len(args) > 3 else None
    if not isinstance(job, ApexObject) or not _implements(prog, job.cls, "database.batchable"):
        ops.throw("System.AsyncException", "Argument must implement Database.Batchable")
    if name is None or minutes is None:
        ops.npe()
    if int(minutes) < 1:
        ops.throw("System.AsyncException", "The minutesFromNow argument must be greater than zero")
    if scope is not None and int(scope) < 1:
        ops.throw("System.AsyncException", "Batchable instance scope must be greater than 0")
    session = _session(prog)
    if session is None:
        trigger_id = _fallback_id(prog)
    else:
        user_id = (prog.tx.user or {}).get("userid") or getattr(prog.data, "user_id", None)
        _, zone = _uncounted(session, lambda: _user_zone(session, user_id))
        at = (_now(prog) + timedelta(minutes=int(minutes))).astimezone(zone)
        entry = ScheduledEntry(_class_name(job.cls), deep_clone_object(job),
                               min(int(scope), MAX_SCOPE) if scope is not None else DEFAULT_SCOPE)
        trigger_id = _write_schedule(prog, str(name), cron.parse(cron.one_time(at)), job.cls, entry)
    if prog.tx.test is not None:
        execute_batch([job, scope])
    return trigger_id


def abort_job(args: list[Any]) -> None:
    """``System.abortJob(id)``: a CronTrigger id ends the schedule (State DELETED, no NextFireTime); an
    AsyncApexJob id aborts a job not yet run (Status Aborted) — of a schedule, the schedule too."""
    prog = ops.CURRENT.prog
    job_id = args[0]
    if job_id is None:
        ops.npe()
    text = str(job_id)
    tx = prog.tx
    tx.queue[:] = [j for j in tx.queue if str(getattr(j, "trigger_id", "")) != text
                   and str(getattr(j, "job_id", "")) != text]
    session = _session(prog)
    if session is None:
        return None
    if text.startswith("08e"):
        _abort_trigger(session, text)
    elif text.startswith("707"):
        def abort() -> None:
            rows = session.query("SELECT Id, Status, CronTriggerId FROM AsyncApexJob WHERE Id = :i", {"i": text}).records
            if rows and rows[0].get("Status") in ("Queued", "Holding", "Preparing"):
                update_job(prog, text, Status="Aborted")
            if rows and rows[0].get("CronTriggerId"):
                _abort_trigger(session, rows[0]["CronTriggerId"])
        _uncounted(session, abort)
    return None


def _abort_trigger(session: Any, trigger_id: str) -> None:
    def write() -> None:
        session.update("CronTrigger", [{"Id": trigger_id, "State": "DELETED", "NextFireTime": None}],
                       read_only_fields="write")
    _uncounted(session, write)
    registry = _registry(session.store)
    session.on_commit(lambda: registry.pop(_long(trigger_id), None))


def _long(record_id: str) -> str:
    return to18(record_id) if len(record_id) == 15 else record_id


STATIC_METHODS[("system", "schedule")] = schedule
STATIC_METHODS[("system", "schedulebatch")] = schedule_batch
STATIC_METHODS[("system", "abortjob")] = abort_job


# -- the org's scheduler -------------------------------------------------------------------------
@dataclass
class FireOutcome:
    """One fired trigger: its id, the run's AsyncApexJob id, success and the exception text."""

    trigger_id: str
    job_id: str | None
    success: bool
    error: str | None = None


class ApexScheduler:
    """Fires the org's due scheduled jobs. ``tick(now)`` is the clock: the server's loop calls it
    every few seconds with the wall clock; tests call it with the time they want."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime
        self.store = runtime.store
        self._lock = threading.Lock()
        self.redelivered = 0  # event trigger batches the last tick redelivered
        self.flow_runs: list[FireOutcome] = []  # the scheduled-trigger flows the last tick ran

    def tick(self, now: datetime | None = None) -> list[FireOutcome]:
        """Fire every WAITING trigger whose NextFireTime is at or before ``now`` (aware; default now)."""
        now = now or datetime.now(timezone.utc)
        if now.tzinfo is None:
            raise ValueError("tick(now) needs an aware datetime")
        with self._lock:
            with self.store.transaction() as tx:
                due = tx.query("SELECT Id, CronExpression, NextFireTime, OwnerId, TimeZoneSidKey, TimesTriggered, "
                               "CronJobDetail.Name, CronJobDetail.JobType FROM CronTrigger WHERE State = 'WAITING' "
                               "AND NextFireTime <= :now ORDER BY NextFireTime", {"now": now}).records
            due = [r for r in due if (r.get("CronJobDetail") or {}).get("JobType") == SCHEDULED_APEX]
            outcomes = [self._fire(row, now) for row in due]
            self.flow_runs = []
            for hook in TICK_HOOKS:
                hook(self, now)
            self.redelivered = self._redeliver_events()
            return outcomes

    def _redeliver_events(self) -> int:
        """Event trigger batches waiting for redelivery (``EventBus.RetryableException``, a resume
        checkpoint) are delivered again at each tick, as the Automated Process user (``eventretry``)."""
        prog = self.runtime.program
        if not eventretry.waiting(eventretry.org_view(prog)):
            return 0
        runner = automated_process_user(self.store) or self.store.user_id
        return eventretry.redeliver_in_org(prog, self.store, runner)

    # one trigger -------------------------------------------------------------------------------
    def _fire(self, row: dict[str, Any], now: datetime) -> FireOutcome:
        trigger_id = str(row["Id"])
        owner = row.get("OwnerId") or self.store.user_id
        fired_at = _as_datetime(row["NextFireTime"])
        prog = self.runtime.program
        entry = _registry(self.store).get(trigger_id) or self._recover(trigger_id)
        cls = prog.resolve_class(entry.class_name) if entry is not None else None
        with self.store.transaction(user_id=owner) as tx:
            tx.update("CronTrigger", [{"Id": trigger_id, "State": "EXECUTING"}], read_only_fields="write")
            run_row = {"JobType": "ScheduledApex", "Status": "Queued", "NumberOfErrors": 0, "JobItemsProcessed": 0,
                       "TotalJobItems": 0, "CronTriggerId": trigger_id,
                       "ApexClassId": _class_id(tx, cls) if cls is not None else None}
            [written] = tx.insert("AsyncApexJob", [run_row], read_only_fields="write")
            job_id = str(written.id) if written.success else None
        if cls is None:
            error = f"System.TypeException: the scheduled class {entry.class_name if entry else '(unknown)'} " \
                    "does not exist in the org"
            self._finish_failed(owner, job_id, error)
            outcome = FireOutcome(trigger_id, job_id, False, error)
        else:
            outcome = self._run(prog, entry, cls, trigger_id, job_id, owner)
        self._advance(trigger_id, row, fired_at, now)
        if not outcome.success:
            log.warning("scheduled job %s (%s) failed: %s", _detail_name(row), trigger_id, outcome.error)
        return outcome

    def _run(self, prog: Any, entry: ScheduledEntry, cls: Any, trigger_id: str, job_id: str | None,
             owner: str) -> FireOutcome:
        job = _instance(prog, entry, cls)
        if entry.batch_scope is not None:
            work: Any = _StartBatch(job, entry.batch_scope)
        else:
            work = ScheduledJob(job, IdValue(trigger_id))
        work.job_id = IdValue(job_id) if job_id else None
        data = Session(self.store, self.store.transaction(user_id=owner), True)
        tx = prog.new_transaction(data=data, user={"userid": owner, "organizationid": self.store.org_id})
        res = prog.run_in(lambda: run_tracked(prog, work, lambda: work.run(prog)), tx=tx, commit=True)
        if res.success:
            return FireOutcome(trigger_id, job_id, True)
        error = f"{res.exception_type}: {res.exception_message}"
        self._finish_failed(owner, job_id, error)
        return FireOutcome(trigger_id, job_id, False, error)

    def _finish_failed(self, owner: str, job_id: str | None, error: str) -> None:
        if job_id is None:
            return
        with self.store.transaction(user_id=owner) as tx:
            tx.update("AsyncApexJob", [{"Id": job_id, "Status": "Failed", "NumberOfErrors": 1,
                                        "ExtendedStatus": error[:255], "CompletedDate": datetime.now(timezone.utc)}],
                      read_only_fields="write")

    def _advance(self, trigger_id: str, row: dict[str, Any], fired_at: datetime, now: datetime) -> None:
        """After a run: PreviousFireTime, TimesTriggered and the next fire time after ``now`` (missed
        times are not fired again); an aborted trigger (the job aborted itself) stays DELETED."""
        with self.store.transaction() as tx:
            current = tx.query("SELECT State FROM CronTrigger WHERE Id = :i", {"i": trigger_id}).records
            state = current[0].get("State") if current else None
            values: dict[str, Any] = {"Id": trigger_id, "PreviousFireTime": fired_at,
                                      "TimesTriggered": int(row.get("TimesTriggered") or 0) + 1}
            if state == "EXECUTING":
                zone = _zone(row.get("TimeZoneSidKey")) or timezone.utc
                try:
                    nxt = cron.parse(row["CronExpression"]).next_fire(max(now, fired_at), zone)
                except cron.CronError:
                    nxt = None
                values.update(State="WAITING" if nxt else "COMPLETE", NextFireTime=nxt)
            tx.update("CronTrigger", [values], read_only_fields="write")
        if values.get("State") == "COMPLETE" or state != "EXECUTING":
            _registry(self.store).pop(trigger_id, None)

    def _recover(self, trigger_id: str) -> ScheduledEntry | None:
        """A job scheduled before the org restarted: its class from the schedule's AsyncApexJob row (the
        instance is built anew with the no-argument constructor; its scheduled state is not kept)."""
        with self.store.transaction() as tx:
            rows = tx.query("SELECT ApexClass.Name FROM AsyncApexJob WHERE CronTriggerId = :t "
                            "ORDER BY CreatedDate LIMIT 1", {"t": trigger_id}).records
        cls = (rows[0].get("ApexClass") or {}) if rows else {}
        name = cls.get("Name") if isinstance(cls, dict) else None
        return ScheduledEntry(name, None) if name else None


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else to_utc(parse_datetime(str(value)))


class _StartBatch:
    """What a ``System.scheduleBatch`` trigger runs: ``Database.executeBatch(job, scope)`` (the batch
    itself then runs after this transaction commits, as its own job)."""

    def __init__(self, job: ApexObject, scope: int) -> None:
        self.job, self.scope, self.cls = job, scope, job.cls

    def run(self, prog: Any) -> None:
        execute_batch([self.job, self.scope])


def _instance(prog: Any, entry: ScheduledEntry, cls: Any) -> ApexObject:
    """A fresh copy of the job as scheduled, on the org's current class (a redeploy replaces classes)."""
    if entry.job is None:
        return prog.instantiate(cls, [])
    copy = deep_clone_object(entry.job)
    if copy.cls is not cls:
        fresh = ApexObject(cls)
        fresh.fields = copy.fields
        copy = fresh
    return copy


class SchedulerLoop:
    """Calls ``scheduler.tick()`` every ``interval`` seconds on a thread of its own until ``stop()``."""

    def __init__(self, scheduler: ApexScheduler, interval: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.scheduler, self.interval, self.clock = scheduler, interval, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "SchedulerLoop":
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="apex-scheduler", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scheduler.tick(self.clock())
            except Exception:  # noqa: BLE001 - a failing tick never stops the scheduler
                log.exception("scheduled Apex tick failed")


def interval_setting() -> float:
    """``ECBRIDGE_ORG_SCHEDULER_SECONDS`` (default 10; ``0``/``off``: no scheduler thread)."""
    raw = os.environ.get(INTERVAL_SETTING, "").strip().lower()
    if not raw:
        return DEFAULT_INTERVAL
    if raw in ("off", "no", "false"):
        return 0.0
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ValueError(f"{INTERVAL_SETTING} must be a number of seconds or 'off', not {raw!r}") from None


__all__ = ["ApexScheduler", "FireOutcome", "SchedulerLoop", "interval_setting"]
