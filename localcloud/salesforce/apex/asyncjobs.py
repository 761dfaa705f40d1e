"""System.enqueueJob: Queueables run after the enqueuing transaction commits (or at Test.stopTest)."""

from __future__ import annotations

from typing import Any

from . import ops
from .values import ApexObject, IdValue


def enqueue(prog: Any, job: Any) -> IdValue:
    if not isinstance(job, ApexObject) or prog.builtins.get("queueable") is None or \
            not job.cls.is_subclass_of(prog.builtins["queueable"]):
        ops.throw("System.AsyncException", "Argument must implement Queueable")
    tx = prog.tx
    if len(tx.queue) >= 50:
        ops.throw("System.LimitException", "Too many queueable jobs added to the queue: 51")
    tx.queue.append(job)
    n = getattr(prog, "_job_seq", 0) + 1
    prog._job_seq = n
    return IdValue(f"7075g{n:010d}")


def run_queued(prog: Any, tx: Any) -> None:
    """Run queued jobs, each as the continuation of the current test/transaction context."""
    while tx.queue:
        job = tx.queue.pop(0)
        m = job.cls.find_method("execute", 1)
        tx.in_queueable = True  # type: ignore[attr-defined]
        try:
            prog.invoke(m, job, [None])
        finally:
            tx.in_queueable = False  # type: ignore[attr-defined]


def after_commit(prog: Any, tx: Any) -> None:
    """After a successful top-level transaction: run each queued job as its own transaction."""
    if not tx.queue or tx.test is not None:
        return
    jobs = list(tx.queue)
    tx.queue.clear()
    for job in jobs:
        m = job.cls.find_method("execute", 1)
        sub = prog.new_transaction(user=tx.user)
        res = prog._run_top(lambda m=m, job=job: prog.invoke(m, job, [None]), sub, True)
        tx.debug_log.extend(res.debug_log)
        if not res.success:
            tx.debug_log.append(f"Queueable {job.cls.name} failed: {res.exception_type}: {res.exception_message}")
