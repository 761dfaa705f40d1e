"""Driving interviews: ``run_interviews`` runs many interviews of one flow together and serves the same
element of all of them with one query, DML statement or action call; ``start`` runs one."""

from __future__ import annotations

from typing import Any, Sequence

from . import conditions
from .engine import Interview
from .errors import FlowFault, FlowUnhandledFault
from .host import FlowHost
from .requests import LookupQuery, Request, Run, select_list
from .values import Record


def _dedupe(records: list[Record]) -> list[Record]:
    """Two interviews updating one record: one row, the later values winning (no duplicate Id)."""
    by_id: dict[str, Record] = {}
    out: list[Record] = []
    for r in records:
        rid = str(r.get("Id") or "")
        if rid and rid in by_id:
            by_id[rid].data.update(r.data)
            by_id[rid]._keys.update({k.lower(): k for k in r.data})
            continue
        if rid:
            by_id[rid] = Record(r.sobject, dict(r.data))
            out.append(by_id[rid])
        else:
            out.append(r)
    return out


def _serve(host: FlowHost, requests: list[Request]) -> list[Any]:
    first = requests[0]
    if first.kind == "query":
        return _serve_queries(host, [r.payload for r in requests])
    if first.kind == "apex":
        outputs = host.call_apex(first.payload[0], [r.payload[1] for r in requests])
        return list(outputs)
    records = [rec for r in requests for rec in r.payload]
    if first.kind == "create":
        host.create(records)
    elif first.kind == "update":
        host.update(_dedupe(records))
    elif first.kind == "delete":
        host.delete(_dedupe(records))
    return [None for _ in requests]


def _serve_queries(host: FlowHost, queries: list[LookupQuery]) -> list[list[Record]]:
    """The same Get Records element of several interviews: one query when their SOQL is the same; else one
    query for all of them (their filters OR-ed, as Salesforce bulkifies it) whose rows are shared out by
    each interview's own filters, order and limit; else (a filter the engine cannot apply itself) a query
    for each distinct SOQL."""
    texts = [q.soql for q in queries]
    if len(set(texts)) == 1:
        rows = host.query(texts[0], queries[0].sobject)
        return [[r.copy() for r in rows] for _ in queries]
    if all(q.where and conditions.matchable(q.filters) for q in queries):
        first = queries[0]
        fields = [first.select] + [f for q in queries for f, _, _ in q.filters] + \
                 [q.order[0] for q in queries if q.order]
        where = " OR ".join(f"({w})" for w in dict.fromkeys(q.where for q in queries))
        rows = host.query(f"SELECT {select_list(', '.join(fields).split(','))} FROM {first.sobject} WHERE {where}",
                          first.sobject)
        kept = [f.strip().lower() for f in first.select.split(",")]
        out = []
        for q in queries:
            types = {f.lower(): host.field_type(q.sobject, f) for f, _, _ in q.filters}
            mine = [r for r in rows if conditions.combine(
                q.logic, [lambda r=r, f=f: conditions.row_matches(r.get(f[0]), f[1], f[2], types.get(f[0].lower()))
                          for f in q.filters], q.context)]
            if q.order:
                mine = conditions.soql_sorted(mine, q.order[0], q.order[1])
            if q.limit is not None:
                mine = mine[:q.limit]
            out.append([Record(r.sobject, {k: v for k, v in r.data.items() if k.lower() in kept}) for r in mine])
        return out
    answers: dict[str, list[Record]] = {}
    for q in queries:
        if q.soql not in answers:
            answers[q.soql] = host.query(q.soql, q.sobject)
    return [[r.copy() for r in answers[q.soql]] for q in queries]


def run_interviews(interviews: Sequence[Interview]) -> dict[int, FlowUnhandledFault]:
    """Run the interviews to their ends together; the same element of several interviews is served by
    one query, DML statement or action call. Answers the interviews that stopped on an unhandled fault
    (by index). ``FlowUnsupported``, definition errors and the host's own exceptions (limits) propagate."""
    if not interviews:
        return {}
    host = interviews[0].host
    running: dict[int, Run] = {i: iv.run() for i, iv in enumerate(interviews)}
    answers: dict[int, Any] = {}
    faults: dict[int, FlowFault] = {}
    failed: dict[int, FlowUnhandledFault] = {}
    while running:
        requests: dict[int, Request] = {}
        for i in list(running):
            gen = running[i]
            try:
                requests[i] = gen.throw(faults.pop(i)) if i in faults else gen.send(answers.pop(i, None))
            except StopIteration:
                del running[i]
            except FlowUnhandledFault as stop:
                failed[i] = stop
                del running[i]
        groups: dict[tuple, list[int]] = {}
        for i, request in requests.items():
            groups.setdefault(request.group_key(), []).append(i)
        for members in groups.values():
            try:
                for i, answer in zip(members, _serve(host, [requests[i] for i in members])):
                    answers[i] = answer
            except FlowFault as fault:
                for i in members:
                    faults[i] = FlowFault(fault.message)
    return failed


def start(interview: Interview) -> None:
    """Run one interview (``Flow.Interview.start()``); an unhandled fault raises ``FlowUnhandledFault``."""
    failed = run_interviews([interview])
    if failed:
        raise failed[0]
