"""Batch Apex: ``Database.executeBatch``, ``Database.getQueryLocator``; the run of a scheduled job.

A batch job runs after the enqueuing transaction commits (at ``Test.stopTest`` in a test), like a
Queueable: ``start(Database.BatchableContext)`` returns a ``Database.QueryLocator`` or an ``Iterable``;
its records are cut into chunks of the scope size (default 200, at most 2,000) and each chunk runs
``execute(context, chunk)``; then ``finish(context)``. Without ``Database.Stateful`` every chunk (and
``finish``) starts from the job's state as ``start`` left it (Salesforce re-reads the serialised
job); with it, instance state carries over. In a test only one chunk may run, as in Salesforce.

``ScheduledJob`` is one run of a ``Schedulable``'s ``execute(SchedulableContext)``; ``System.schedule``,
``System.scheduleBatch``, ``System.abortJob`` and the org's scheduler are in ``schedulelib.py``.
"""

from __future__ import annotations

from typing import Any

from . import ops, soql
from .stdlib import STATIC_METHODS, Native, deep_clone
from .tables import FRAME_AWARE
from .jobrows import record_job, update_job
from .values import ApexList, ApexObject, IdValue, SObject, TypeRef

DEFAULT_SCOPE = 200
MAX_SCOPE = 2000
TEST_CHUNK_ERROR = ("No more than one executeBatch can be called from within a test method. Please make sure the "
                    "iterable returned from your start method matches the batch size, resulting in one "
                    "executeBatch invocation.")


class QueryLocator(Native):
    apex_type = "Database.QueryLocator"

    def __init__(self, query: Any, records: ApexList | None = None) -> None:
        self.query = query
        self.records = records
        self.binds: dict[str, Any] = {}  # the caller's bind values (soql.database_get_query_locator)

    def m_getquery(self, a):
        return self.query if isinstance(self.query, str) else None

    def m_iterator(self, a):
        from .stdlib import ListIterator
        return ListIterator(self.rows())

    def rows(self) -> ApexList:
        if self.records is None:
            sobject, count_only, aggregate = soql._dyn_meta(self.query)
            self.records = soql.execute(ops.CURRENT.prog, self.query, self.binds, sobject, count_only, aggregate)
        return self.records


class BatchableContext(Native):
    apex_type = "Database.BatchableContext"

    def __init__(self, job_id: IdValue) -> None:
        self.job_id = job_id

    def m_getjobid(self, a):
        return self.job_id

    def m_getchildjobid(self, a):
        return self.job_id


class SchedulableContext(Native):
    apex_type = "System.SchedulableContext"

    def __init__(self, trigger_id: IdValue) -> None:
        self.trigger_id = trigger_id

    def m_gettriggerid(self, a):
        return self.trigger_id


class BatchJob:
    def __init__(self, job: ApexObject, scope: int, job_id: IdValue) -> None:
        self.job, self.scope, self.job_id, self.cls = job, scope, job_id, job.cls

    def run(self, prog: Any) -> None:
        context = BatchableContext(self.job_id)
        tx = prog.tx
        tx.in_batch = True  # type: ignore[attr-defined]
        try:
            start = _method(self.cls, "start", 1)
            source = prog.invoke(start, self.job, [context])
            rows = source.rows() if isinstance(source, QueryLocator) else _iterate(prog, source)
            stateful = _implements(prog, self.cls, "database.stateful")
            snapshot = None if stateful else deep_clone_object(self.job)
            chunks = [rows[i:i + self.scope] for i in range(0, len(rows), self.scope)]
            if tx.test is not None and len(chunks) > 1:
                ops.throw("System.UnexpectedException", TEST_CHUNK_ERROR)
            execute = _method(self.cls, "execute", 2)
            update_job(prog, self.job_id, TotalJobItems=len(chunks))
            for done, chunk in enumerate(chunks, 1):
                target = self.job if stateful else deep_clone_object(snapshot)
                prog.invoke(execute, target, [context, ApexList(list(chunk), TypeRef("SObject"))])
                update_job(prog, self.job_id, JobItemsProcessed=done)
            finish = _method(self.cls, "finish", 1)
            prog.invoke(finish, self.job if stateful else deep_clone_object(snapshot), [context])
        finally:
            tx.in_batch = False  # type: ignore[attr-defined]


class ScheduledJob:
    def __init__(self, job: ApexObject, trigger_id: IdValue) -> None:
        self.job, self.trigger_id, self.cls = job, trigger_id, job.cls

    def run(self, prog: Any) -> None:
        tx = prog.tx
        tx.in_scheduled = True  # type: ignore[attr-defined]
        try:
            prog.invoke(_method(self.cls, "execute", 1), self.job, [SchedulableContext(self.trigger_id)])
        finally:
            tx.in_scheduled = False  # type: ignore[attr-defined]


def _method(cls: Any, name: str, nargs: int) -> Any:
    m = cls.find_method(name, nargs)
    if m is None:
        ops.throw("System.TypeException", f"{cls.name} does not implement {name}")
    return m


def _implements(prog: Any, cls: Any, interface: str) -> bool:
    target = prog.builtins.get(interface)
    return target is not None and cls.is_subclass_of(target)


def _iterate(prog: Any, source: Any) -> list[Any]:
    if source is None:
        ops.npe()
    if isinstance(source, ApexList):
        return list(source)
    iterator = prog.call_value(source, "iterator", [])
    rows = []
    while prog.call_value(iterator, "hasnext", []):
        rows.append(prog.call_value(iterator, "next", []))
    return rows


def deep_clone_object(value: Any) -> Any:
    """A copy of a job's state, as Salesforce re-reads a serialised non-stateful batch job."""
    if isinstance(value, ApexObject):
        copy = ApexObject(value.cls)
        copy.native = value.native
        copy.fields = {k: deep_clone_object(v) for k, v in value.fields.items()}
        return copy
    if isinstance(value, SObject):
        return deep_clone(value)
    if isinstance(value, ApexList):
        return ApexList([deep_clone_object(x) for x in value], value.etype)
    return deep_clone(value)


def _next_id(prog: Any, prefix: str) -> IdValue:
    n = getattr(prog, "_job_seq", 0) + 1
    prog._job_seq = n
    return IdValue(f"{prefix}5g{n:010d}")


def execute_batch(args: list[Any]) -> IdValue:
    prog = ops.CURRENT.prog
    job = args[0]
    if not isinstance(job, ApexObject) or not _implements(prog, job.cls, "database.batchable"):
        ops.throw("System.AsyncException", "Argument must implement Database.Batchable")
    scope = DEFAULT_SCOPE if len(args) < 2 or args[1] is None else int(args[1])
    if scope < 1:
        ops.throw("System.AsyncException", "Batchable instance scope must be greater than 0")
    job_id = record_job(prog, "BatchApex", job.cls) or _next_id(prog, "707")
    prog.tx.queue.append(BatchJob(job, min(scope, MAX_SCOPE), job_id))
    return job_id


def get_query_locator(args: list[Any]) -> QueryLocator:
    query = args[0]
    if query is None:
        ops.npe()
    if isinstance(query, ApexList):
        return QueryLocator(None, query)
    return QueryLocator(str(query))


STATIC_METHODS[("database", "executebatch")] = execute_batch
STATIC_METHODS[("database", "getquerylocator")] = get_query_locator


def database_get_query_locator(args, fr, fields=None):
    """Database.getQueryLocator(String): its binds are the caller's variables when it is called (the locator
    may be iterated, or a batch started, after that frame is gone)."""
    locator = get_query_locator(args)
    if isinstance(locator.query, str):
        locator.binds = soql._frame_binds(fr, locator.query, fields)
    return locator


# after soql's loop over FRAME_AWARE: Database.getQueryLocator(List<SObject>) stays a plain library method too
FRAME_AWARE[("database", "getquerylocator")] = database_get_query_locator
