"""The Tooling API surface CumulusCI's ``run_tests`` uses, answered by the bound Apex runtime.

``POST tooling/runTestsAsynchronous`` (``{"classids": "id,id"}`` or ``{"tests": [{"classId",
"testMethods"}]}``) answers the job id (``707...``) and runs the classes in a background thread,
one class after another. Its progress and results are Tooling objects:

* ``ApexTestQueueItem`` (Id, ApexClassId, ParentJobId, Status Queued|Processing|Completed|Failed,
  ExtendedStatus);
* ``ApexTestResult`` (Id, ApexClassId, AsyncApexJobId, MethodName, Outcome Pass|Fail|CompileFail,
  Message, StackTrace, RunTime, TestTimestamp, child ``ApexTestResults`` = ApexTestResultLimits
  with Soql, Dml, ... and LimitContext SYNC);
* ``ApexCodeCoverageAggregate`` (ApexClassOrTriggerId, ``ApexClassOrTrigger.Name``,
  NumLinesCovered, NumLinesUncovered, Coverage{coveredLines, uncoveredLines}) from the latest run;
* ``ApexOrgWideCoverage`` (PercentCovered);
* ``ApexClass.SymbolTable`` (methods with their annotations), which CumulusCI reads for a class
  that failed as a whole.

Without a bound Apex runtime, ``runTestsAsynchronous`` answers 400 ``APEX_RUNTIME_UNAVAILABLE``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from typing import Any

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.data import make_id
from localcloud.salesforce.http import tooling
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response

log = logging.getLogger(__name__)

JOB_PREFIX, QUEUE_ITEM_PREFIX, RESULT_PREFIX, LIMITS_PREFIX, COVERAGE_PREFIX = "707", "709", "07M", "05n", "715"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


class TestRuns:
    """Test jobs of one org (in memory: a restart forgets them, like Salesforce's 7-day history ends)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.queue_items: list[dict[str, Any]] = []
        self.results: list[dict[str, Any]] = []
        self.coverage: list[dict[str, Any]] = []
        self._counters: dict[str, int] = {}
        self.run_lock = threading.Lock()  # one test run at a time

    def next_id(self, prefix: str) -> str:
        with self.lock:
            self._counters[prefix] = self._counters.get(prefix, 0) + 1
            return make_id(prefix, self._counters[prefix], pod="5f")


def _runs(context: OrgContext) -> TestRuns:
    runs = context.extras.get("apex_test_runs")
    if runs is None:
        runs = context.extras.setdefault("apex_test_runs", TestRuns())
    return runs


def _class_ids(context: OrgContext) -> dict[str, str]:
    repo = context.extras.get("metadata_repository")
    rows = repo.apex_rows("ApexClass") + repo.apex_rows("ApexTrigger") if repo is not None else []
    return {row["Name"].lower(): row["Id"] for row in rows}


def _symbol_table(context: OrgContext, class_name: str) -> dict[str, Any] | None:
    """Methods and their annotations from the bound runtime's compiled class (what CumulusCI reads
    to list the test methods of a class that failed as a whole)."""
    runtime = context.extras.get("apex_runtime")
    program = getattr(runtime, "program", None)
    compiled = program.classes.get(class_name.lower()) if program is not None else None
    if compiled is None:
        return None
    methods = []
    for overloads in compiled.methods.values():
        for method in overloads:
            names = ["IsTest" if a == "istest" else a for a in method.annotations]
            if "testmethod" in getattr(method, "modifiers", ()) and "IsTest" not in names:
                names.append("IsTest")
            methods.append({"name": method.name, "annotations": [{"name": n} for n in names]})
    return {"name": compiled.name, "methods": methods}


def _run(context: OrgContext, runs: TestRuns, job_id: str, plan: list[tuple[str, str, list[str] | None]]) -> None:
    runtime = context.extras.get("apex_runtime")
    with runs.run_lock:
        for class_id, class_name, methods in plan:
            item = next(i for i in runs.queue_items if i["ParentJobId"] == job_id and i["ApexClassId"] == class_id)
            item["Status"] = "Processing"
            try:
                outcomes = runtime.run_tests([class_name], {class_name: methods} if methods else None)
            except Exception as error:  # a class that cannot run fails as a whole, with the reason
                log.exception("test class %s failed to run", class_name)
                item.update(Status="Failed", ExtendedStatus=f"{type(error).__name__}: {error}")
                continue
            for outcome in outcomes:
                limits = {
                    "Id": runs.next_id(LIMITS_PREFIX), "_type": "ApexTestResultLimits", "LimitContext": "SYNC",
                    "LimitExceptions": None, "Soql": getattr(outcome, "soql_queries", 0), "Dml": getattr(outcome, "dml_statements", 0),
                    "DmlRows": 0, "QueryRows": 0, "Cpu": outcome.run_time_ms, "Callouts": 0, "AsyncCalls": 0,
                    "Email": 0, "MobilePush": 0, "Sosl": 0,
                }
                runs.results.append({
                    "Id": runs.next_id(RESULT_PREFIX), "ApexClassId": class_id, "AsyncApexJobId": job_id,
                    "QueueItemId": item["Id"], "MethodName": outcome.method_name, "Outcome": outcome.outcome,
                    "Message": outcome.message, "StackTrace": outcome.stack_trace, "RunTime": outcome.run_time_ms,
                    "TestTimestamp": _now(), "ApexTestResults": [limits],
                    "ApexClass": {"Id": class_id, "Name": class_name, "_type": "ApexClass"},
                })
            item["Status"] = "Completed"
        coverage = getattr(runtime, "coverage_report", None)
        if coverage is not None:
            ids = _class_ids(context)
            rows = []
            for entry in coverage():
                record_id = ids.get(entry.name.lower())
                rows.append({
                    "Id": runs.next_id(COVERAGE_PREFIX), "ApexClassOrTriggerId": record_id,
                    "ApexClassOrTrigger": {"Id": record_id, "Name": entry.name, "_type": entry.kind},
                    "NumLinesCovered": len(entry.covered), "NumLinesUncovered": len(entry.uncovered),
                    "Coverage": {"coveredLines": list(entry.covered), "uncoveredLines": list(entry.uncovered)},
                })
            runs.coverage = rows


def register(router: Router, context: OrgContext) -> None:
    runs = _runs(context)

    def queue_items(ctx: OrgContext) -> list[dict[str, Any]]:
        return [dict(i) for i in _runs(ctx).queue_items]

    def results(ctx: OrgContext) -> list[dict[str, Any]]:
        return list(_runs(ctx).results)

    def coverage(ctx: OrgContext) -> list[dict[str, Any]]:
        return list(_runs(ctx).coverage)

    def org_wide(ctx: OrgContext) -> list[dict[str, Any]]:
        rows = _runs(ctx).coverage
        covered = sum(r["NumLinesCovered"] for r in rows)
        total = covered + sum(r["NumLinesUncovered"] for r in rows)
        return [{"Id": make_id("00X", 1, pod="5f"), "PercentCovered": round(covered * 100 / total) if total else 0}]

    tooling.register_tooling_object("ApexTestQueueItem", queue_items)
    tooling.register_tooling_object("ApexTestResult", results)
    tooling.register_tooling_object("ApexCodeCoverageAggregate", coverage)
    tooling.register_tooling_object("ApexOrgWideCoverage", org_wide)

    def apex_classes_with_symbols(ctx: OrgContext) -> list[dict[str, Any]]:
        return [{**row, "SymbolTable": _symbol_table(ctx, row["Name"])} for row in tooling.apex_class_rows(ctx)]

    tooling.register_tooling_object("ApexClass", apex_classes_with_symbols)

    @router.route("POST", r"/services/data/v(?P<version>\d+\.\d)/tooling/runTestsAsynchronous/?")
    def run_tests_asynchronous(request: Request) -> Response:
        if context.extras.get("apex_runtime") is None:
            return error_response(400, "APEX_RUNTIME_UNAVAILABLE", "The local org has no Apex runtime bound: tests cannot run")
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return error_response(400, "JSON_PARSER_ERROR", "The request body is not JSON")
        by_id = {v: k for k, v in _class_ids(context).items()}
        by_id15 = {k[:15]: v for k, v in by_id.items()}
        wanted: list[tuple[str, list[str] | None]] = []
        if isinstance(body.get("tests"), list):
            wanted = [(t.get("classId", ""), t.get("testMethods")) for t in body["tests"]]
        elif body.get("classids"):
            wanted = [(i.strip(), None) for i in str(body["classids"]).split(",") if i.strip()]
        elif body.get("classNames"):
            names = {v: k for k, v in by_id.items()}
            wanted = [(names.get(n.strip().lower(), n.strip()), None) for n in str(body["classNames"]).split(",")]
        plan = []
        for class_id, methods in wanted:
            name = by_id15.get(class_id[:15])
            if name is None:
                return error_response(400, "INVALID_ID_FIELD", f"Invalid class id: {class_id}")
            real_name = next(s.name for s in context.extras["metadata_repository"].apex_classes() if s.name.lower() == name)
            plan.append((next(k for k in by_id if k[:15] == class_id[:15]), real_name, methods))
        if not plan:
            return error_response(400, "INVALID_INPUT", "No test classes given (classids, classNames or tests)")
        job_id = runs.next_id(JOB_PREFIX)
        for class_id, _name, _methods in plan:
            runs.queue_items.append({
                "Id": runs.next_id(QUEUE_ITEM_PREFIX), "ApexClassId": class_id, "ParentJobId": job_id,
                "Status": "Queued", "ExtendedStatus": None,
            })
        threading.Thread(target=_run, args=(context, runs, job_id, plan), name=f"apex-tests-{job_id}", daemon=True).start()
        return Response.json(job_id)
