"""System.enqueueJob: Queueables run after the enqueuing transaction commits (or at Test.stopTest)."""

from __future__ import annotations

from typing import Any

from . import ops
from .dataport import automated_process_user, session_as
from .tables import provide
from .jobrows import record_job, run_tracked, update_job
from .values import ApexObject, IdValue


def enqueue(prog: Any, job: Any) -> IdValue:
    if not isinstance(job, ApexObject) or prog.builtins.get("queueable") is None or \
            not job.cls.is_subclass_of(prog.builtins["queueable"]):
        ops.throw("System.AsyncException", "Argument must implement Queueable")
    tx = prog.tx
    if len(tx.queue) >= 50:
        ops.throw("System.LimitException", "Too many queueable jobs added to the queue: 51")
    job_id = record_job(prog, "Queueable", job.cls)
    if job_id is None:
        n = getattr(prog, "_job_seq", 0) + 1
        prog._job_seq = n
        job_id = IdValue(f"7075g{n:010d}")
    tx.queue.append(QueuedJob(job, job_id))
    return job_id


class QueuedJob:
    """A Queueable as queued: the job and its AsyncApexJob id."""

    def __init__(self, job: ApexObject, job_id: IdValue) -> None:
        self.job, self.job_id, self.cls = job, job_id, job.cls


class FutureCall:
    """A call of an @future method, run after the transaction commits (or at Test.stopTest)."""

    def __init__(self, method: Any, body: Any, frame: dict) -> None:
        self.method = method
        self.body = body
        self.frame = frame
        self.cls = method.cls

    def run(self, prog: Any) -> None:
        from .compiler import POS
        pos = [self.method, self.method.line]
        fr = dict(self.frame)
        fr[POS] = pos
        prog.tx.stack.append(pos)
        try:
            self.body(fr)
        finally:
            prog.tx.stack.pop()


@provide("future_body")
def future_body(prog: Any, method: Any, body: Any) -> Any:
    """Wrap an @future method: calling it queues the call (arguments are copied, as Salesforce does)."""
    def queued(fr: dict) -> None:
        tx = prog.tx
        if getattr(tx, "in_future", False):
            ops.throw("System.AsyncException", "Future method cannot be called from a future or batch method: "
                                               f"{method.cls.name}.{method.name}")
        args = {k: ops.deep_clone(v) for k, v in fr.items() if not k.startswith("#")}
        call = FutureCall(method, body, args)
        call.job_id = record_job(prog, "Future", method.cls, method.name)
        tx.queue.append(call)
        return None
    return queued


def _run_job(prog: Any, job: Any) -> None:
    run_tracked(prog, job, lambda: _run_untracked(prog, job))


def _run_untracked(prog: Any, job: Any) -> None:
    if isinstance(job, QueuedJob):
        job = job.job
    if isinstance(job, FutureCall):
        prog.tx.in_future = True  # type: ignore[attr-defined]
        try:
            job.run(prog)
        finally:
            prog.tx.in_future = False  # type: ignore[attr-defined]
        return
    if hasattr(job, "run"):  # batch and scheduled jobs (batchlib)
        job.run(prog)
        return
    m = job.cls.find_method("execute", 1)
    prog.tx.in_queueable = True  # type: ignore[attr-defined]
    try:
        prog.invoke(m, job, [None])
    finally:
        prog.tx.in_queueable = False  # type: ignore[attr-defined]


#: called with the program before a test delivers its events (``Test.stopTest``,
#: ``Test.getEventBus().deliver()``): libraries that make events late (change events) queue them here
BEFORE_TEST_DELIVERY: list[Any] = []


def prepare_test_delivery(prog: Any) -> None:
    for hook in BEFORE_TEST_DELIVERY:
        hook(prog)


def run_queued(prog: Any, tx: Any) -> None:
    """Run queued jobs, each as the continuation of the current test/transaction context."""
    while tx.queue:
        _run_job(prog, tx.queue.pop(0))


def after_commit(prog: Any, tx: Any) -> None:
    """After a committed top-level transaction: run each queued job as its own transaction (jobs a
    job enqueues run after it, as chained jobs do). Called outside the program lock."""
    jobs = list(tx.queue)
    tx.queue.clear()
    for job in jobs:
        sub = _job_transaction(prog, tx, job)
        res = prog.run_in(lambda job=job: _run_job(prog, job), tx=sub, commit=True)
        tx.debug_log.extend(res.debug_log)
        if not res.success:
            _mark_failed(prog, tx, job, res)
            kind = "Future method" if isinstance(job, FutureCall) else type(job).__name__ if hasattr(job, "run") \
                else "Queueable"
            tx.debug_log.append(f"{kind} {job.cls.name} failed: {res.exception_type}: {res.exception_message}")


def _job_transaction(prog: Any, tx: Any, job: Any) -> Any:
    """A job's own transaction: the enqueuing user's, but platform events published from Apex reach their
    triggers as the org's Automated Process user, as in Salesforce (Platform Events Developer Guide)."""
    if getattr(job, "is_event_delivery", False) and prog.data is not None:
        runner = automated_process_user(prog.data)
        if runner is not None:
            return prog.new_transaction(data=session_as(prog.data, runner),
                                        user={"userid": runner, "organizationid": getattr(prog.data, "org_id", None)})
    return prog.new_transaction(user=tx.user)


def _mark_failed(prog: Any, tx: Any, job: Any, res: Any) -> None:
    """The failed job's own transaction rolled back: its row is marked Failed in a transaction of its own."""
    job_id = getattr(job, "job_id", None)
    if job_id is None:
        return
    sub = prog.new_transaction(user=tx.user)
    prog.run_in(lambda: update_job(prog, job_id, Status="Failed", NumberOfErrors=1,
                                   ExtendedStatus=f"{res.exception_type}: {res.exception_message}"),
                tx=sub, commit=True)
