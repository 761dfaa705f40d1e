"""``AsyncApexJob`` rows for the jobs a transaction queues (batch, Queueable, @future, scheduled).

As Salesforce, ``Database.executeBatch`` and ``System.enqueueJob`` return the job's ``AsyncApexJob``
id, and the row is written with the enqueuing transaction (it rolls back with it): ``JobType``
(``BatchApex``, ``Queueable``, ``Future``, ``ScheduledApex``), ``Status`` ``Queued``, ``ApexClassId``
(the top-level class's ``ApexClass`` row), ``MethodName`` (@future), counters at 0. When the job runs
it becomes ``Processing``, then ``Completed`` (or ``Failed`` with ``ExtendedStatus`` = the exception),
with ``CompletedDate``; a batch job counts its chunks in ``TotalJobItems``/``JobItemsProcessed``.
These writes are the platform's: they count against no governor limit of the Apex code.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from .values import IdValue


def _session(prog: Any) -> Any:
    data = getattr(prog.tx, "data", None)
    return getattr(data, "tx", None) if data is not None else None


def _uncounted(session: Any, write: Callable[[], Any]) -> Any:
    """A platform write: the transaction's data-layer counters are left as they were."""
    lim = session.limits
    saved = (lim.soql_queries, lim.query_rows, lim.dml_statements, lim.dml_rows)
    try:
        return write()
    finally:
        lim.soql_queries, lim.query_rows, lim.dml_statements, lim.dml_rows = saved


def _class_id(session: Any, cls: Any) -> str | None:
    top = cls
    while getattr(top, "outer", None) is not None:
        top = top.outer
    name = str(getattr(top, "name", "") or "").split(".")[0]
    if not name or session.schema.find("ApexClass") is None:
        return None
    rows = session.query("SELECT Id FROM ApexClass WHERE Name = :n AND NamespacePrefix = null", {"n": name}).records
    return rows[0]["Id"] if rows else None


def record_job(prog: Any, job_type: str, cls: Any, method_name: str | None = None) -> IdValue | None:
    """Write the Queued row of a job; its id (None when the program runs without a data layer)."""
    session = _session(prog)
    if session is None or session.schema.find("AsyncApexJob") is None:
        return None

    def write() -> Any:
        row = {"JobType": job_type, "Status": "Queued", "ApexClassId": _class_id(session, cls),
               "MethodName": method_name, "NumberOfErrors": 0, "JobItemsProcessed": 0, "TotalJobItems": 0}
        return session.insert("AsyncApexJob", [row], read_only_fields="write")[0]

    result = _uncounted(session, write)
    if not result.success:
        raise RuntimeError(f"AsyncApexJob row could not be written: {result.to_json()}")
    return IdValue(result.id)


def update_job(prog: Any, job_id: Any, **values: Any) -> None:
    """Set fields of a job's row (Status, counters, ...); ``Completed``/``Failed``/``Aborted`` stamp
    CompletedDate."""
    session = _session(prog)
    if session is None or job_id is None or not str(job_id).startswith("707"):
        return
    if values.get("Status") in ("Completed", "Failed", "Aborted"):
        values.setdefault("CompletedDate", datetime.now(timezone.utc))
    if "ExtendedStatus" in values and values["ExtendedStatus"]:
        values["ExtendedStatus"] = str(values["ExtendedStatus"])[:255]
    _uncounted(session, lambda: session.update("AsyncApexJob", [{"Id": str(job_id), **values}],
                                               read_only_fields="write"))


def run_tracked(prog: Any, job: Any, run: Callable[[], Any]) -> Any:
    """Run a queued job, keeping its row's Status in step (an exception marks it Failed and propagates)."""
    job_id = getattr(job, "job_id", None)
    if job_id is None:
        return run()
    update_job(prog, job_id, Status="Processing")
    try:
        out = run()
    except BaseException as error:
        message = getattr(error, "apex_message", None) or str(error)
        update_job(prog, job_id, Status="Failed", NumberOfErrors=1, ExtendedStatus=message)
        raise
    update_job(prog, job_id, Status="Completed")
    return out


__all__ = ["record_job", "run_tracked", "update_job"]
