"""Record-triggered flows: which run for a DML event, their entry conditions, and running them.

A flow runs for a chunk of records when it is active, its ``<start>`` names the object, its
``triggerType`` matches the timing (``RecordBeforeSave``: before insert/update, ``RecordAfterSave``: after
insert/update, ``RecordBeforeDelete``: before delete) and its ``recordTriggerType`` the operation (Create,
Update, CreateAndUpdate, Delete). Flows of one event run in ``triggerOrder`` (flows without one after
them), then by API name. Each record whose entry conditions are met gets an interview; the interviews of
one flow run together (``driver.run_interviews``), so an element is one query or DML statement for the
whole chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from . import conditions
from .driver import run_interviews
from .engine import Interview
from .errors import FlowUnsupported
from .host import FlowHost
from .model import FlowDef
from .values import Record

_TIMING = {("before", "insert"): "RecordBeforeSave", ("before", "update"): "RecordBeforeSave",
           ("after", "insert"): "RecordAfterSave", ("after", "update"): "RecordAfterSave",
           ("before", "delete"): "RecordBeforeDelete"}
_OPS = {"create": ("insert",), "update": ("update",), "createandupdate": ("insert", "update"),
        "delete": ("delete",)}


def triggered_flows(flows: Iterable[FlowDef], sobject: str, op: str, timing: str) -> list[FlowDef]:
    trigger_type = _TIMING.get((timing, op))
    if trigger_type is None:
        return []
    low = sobject.lower()
    found = [f for f in flows if f.is_active and f.start.trigger_type == trigger_type
             and (f.start.object or "").lower() == low
             and op in _OPS.get((f.start.record_trigger_type or "").lower(), ())]
    return sorted(found, key=lambda f: (f.trigger_order is None, f.trigger_order or 0, f.name.lower()))


@dataclass
class TriggeredOutcome:
    """``errors``: record index -> custom errors (message, field) to add to it; ``faults``: record index ->
    the unhandled fault that stopped its interview."""

    errors: dict[int, list[tuple[str, str | None]]] = field(default_factory=dict)
    faults: dict[int, str] = field(default_factory=dict)


def run_record_triggered(flow: FlowDef, host: FlowHost, op: str, timing: str,
                         new: list[dict[str, Any]] | None, old: list[dict[str, Any]] | None) -> TriggeredOutcome:
    """Run ``flow`` for a chunk. In a before-save flow ``$Record`` is the chunk's record itself (``new[i]``,
    changed in place); in an after-save flow a copy (update it with an Update Records element)."""
    if flow.start.scheduled_paths:
        raise FlowUnsupported(f"ScheduledPaths of record-triggered flows in Flow {flow.name}")
    sobject = flow.start.object or ""
    size = len(new if new is not None else old or [])
    interviews: list[Interview] = []
    indexes: list[int] = []
    for i in range(size):
        if op == "delete":
            record, prior = Record(sobject, dict(old[i])) if old else None, None
        elif timing == "before":
            record = Record(sobject, new[i]) if new is not None else None
            prior = Record(sobject, dict(old[i])) if old is not None else None
        else:
            record = Record(sobject, dict(new[i])) if new is not None else None
            prior = Record(sobject, dict(old[i])) if old is not None else None
        interview = Interview(flow, host, record=record, prior=prior, before_save=timing == "before")
        if not entry_conditions_met(interview, op):
            continue
        interviews.append(interview)
        indexes.append(i)
    outcome = TriggeredOutcome()
    failed = run_interviews(interviews)
    for k, interview in enumerate(interviews):
        if interview.record_errors:
            outcome.errors[indexes[k]] = list(interview.record_errors)
        if k in failed:
            outcome.faults[indexes[k]] = failed[k].message
    return outcome


def entry_conditions_met(interview: Interview, op: str) -> bool:
    start = interview.flow.start
    if not start.filters and not start.filter_formula:
        return True
    met = _met(interview, prior=False)
    if met and start.requires_change and op == "update" and interview.prior is not None:
        return not _met(interview, prior=True)
    return met


def _met(interview: Interview, prior: bool) -> bool:
    start = interview.flow.start
    where = f"Flow {interview.flow.name}, start conditions"
    if start.filter_formula:
        probe = interview if not prior else Interview(interview.flow, interview.host, record=interview.prior)
        return bool(probe._evaluate(probe._built("start:formula", start.filter_formula, None, False), where))
    record = interview.prior if prior else interview.record

    def check(f: Any) -> bool:
        name = f.field
        if f.operator.lower() == "ischanged":
            if interview.prior is None or prior:
                return not bool(interview.value(f.value, where))
            changed = not conditions.equal(interview.record.get(name) if interview.record else None,
                                           interview.prior.get(name))
            return changed == bool(interview.value(f.value, where))
        current = record.get(name) if record is not None else None
        return conditions.compare(f.operator, current, interview.value(f.value, where), where)
    return conditions.combine(start.filter_logic, [lambda f=f: check(f) for f in start.filters], where)
