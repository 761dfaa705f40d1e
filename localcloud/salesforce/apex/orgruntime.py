"""The Apex runtime as the local org uses it (issue 5): deploy-time compile, Apex REST dispatch,
triggers for DML from every path, anonymous Apex and the Apex test runner.

    rt = ApexRuntime(store)                 # registers itself as the store's trigger hook
    rt.deploy({"Foo.cls": src, ...})        # ApexCompileError (file, line, column) on failure
    res = rt.rest("POST", "/ecbridge/v1/events", body=b"...", headers={...}, params={...})
    results = rt.run_tests(["ECBridgeValuesTest"])
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from . import access, cachepartitions, ops
from .dataport import Session
from .errors import ApexCompileError, ApexThrown
from .model import ApexClass, Method
from .runtime import ApexProgram, ExecutionResult
from .triggers import ApexTriggerHook
from .values import ApexMap, Blob, TypeRef

HTTP_ANNOTATIONS = {"GET": "httpget", "POST": "httppost", "PUT": "httpput", "PATCH": "httppatch",
                    "DELETE": "httpdelete"}


@dataclass
class RestResult:
    status: int
    headers: dict[str, str]
    body: bytes
    debug_log: list[str] = field(default_factory=list)
    soql_queries: int = 0
    dml_statements: int = 0


@dataclass
class TestMethodResult:
    class_name: str
    method_name: str
    outcome: str  # Pass | Fail | CompileFail
    message: str | None
    stack_trace: str | None
    run_time_ms: int
    debug_log: list[str]
    soql_queries: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    query_rows: int = 0
    callouts: int = 0


@dataclass
class CoverageResult:
    name: str  # class or trigger name
    kind: str  # ApexClass | ApexTrigger
    covered: list[int]
    uncovered: list[int]


def _annotation_arg(text: str, key: str) -> str | None:
    import re
    m = re.search(key + r"\s*=\s*'([^']*)'", text, re.I)
    return m.group(1) if m else None


def _url_matches(pattern: str, path: str) -> bool:
    """urlMapping match: '*' is a wildcard; '/x/*' also matches '/x'. Case-sensitive, as Salesforce."""
    import re
    pat = pattern.rstrip("/")
    tail = ""
    if pat.endswith("/*"):
        pat, tail = pat[:-2], "(/.*)?"
    rx = "^" + re.escape(pat).replace("\\*", ".*") + tail + "/?$"
    return re.match(rx, path) is not None


class ApexRuntime:
    """A store plus its deployed Apex."""

    def __init__(self, store: Any, sources: Mapping[str, str] | None = None, coverage: bool = False,
                 _scratch: bool = False, labels: dict[str, str] | None = None) -> None:
        self.store = store
        self.sources: dict[str, str] = {}
        self.coverage = coverage
        self.program = ApexProgram(data=store, coverage=coverage)
        self.program.labels = labels
        self.hook = ApexTriggerHook(self.program)
        store.set_trigger_hook(self.hook)
        if sources:
            self.deploy(sources)

    # ------------------------------------------------------------------------------------ deploy
    def check(self, sources: Mapping[str, str]) -> list[ApexCompileError]:
        """Compile the org's sources overlaid with `sources` without activating them."""
        from .runtime import compile_problems
        merged = dict(self.sources)
        merged.update(sources)
        return compile_problems(merged, data=self.store)

    def deploy(self, sources: Mapping[str, str]) -> None:
        """Replace or add classes/triggers (file name -> source). All or nothing."""
        merged = dict(self.sources)
        merged.update(sources)
        prog = ApexProgram(data=self.store, coverage=self.coverage)
        prog.labels = self.program.labels  # the org's custom labels outlive a redeploy of its Apex
        prog.load(merged)
        self.sources = merged
        self.program = prog
        self.hook.program = prog

    def remove(self, names: list[str]) -> None:
        merged = {k: v for k, v in self.sources.items() if k not in names}
        self.sources = {}
        self.deploy(merged)

    # ------------------------------------------------------------------------------------ run
    def execute_anonymous(self, source: str) -> ExecutionResult:
        return self.program.execute_anonymous(source)

    def call_static(self, class_name: str, method: str, args: list[Any] | None = None) -> ExecutionResult:
        return self.program.call_static(class_name, method, args)

    # ------------------------------------------------------------------------------------ Apex REST
    def rest_resource(self, path: str) -> ApexClass | None:
        for c in self.program.classes.values():
            ann = c.annotations.get("restresource")
            if ann is None:
                continue
            pattern = _annotation_arg(ann, "urlMapping")
            if pattern and _url_matches(pattern, path):
                return c
        return None

    def rest(self, method: str, path: str, body: bytes = b"", headers: Mapping[str, str] | None = None,
             params: Mapping[str, str] | None = None, request_uri: str | None = None) -> RestResult:
        """Dispatch /services/apexrest/<path> to the matching @RestResource class."""
        prog = self.program
        cls = self.rest_resource(path)
        if cls is None:
            return _rest_error(404, "NOT_FOUND", f"Could not find a match for URL {path}")
        ann = HTTP_ANNOTATIONS.get(method.upper())
        handler = None
        for ms in cls.methods.values():
            for m in ms:
                if ann is not None and ann in m.annotations and m.static:
                    handler = m
        if handler is None:
            return _rest_error(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method.upper()}' not allowed. Allowed are "
                                                          f"{', '.join(k for k, v in HTTP_ANNOTATIONS.items() if any(v in m.annotations for ms in cls.methods.values() for m in ms))}")
        from .restlib import RestRequest, RestResponse
        req = RestRequest()
        req.requestBody = Blob(body or b"")
        req.requestURI = request_uri or path
        req.resourcePath = "/services/apexrest" + (_annotation_arg(cls.annotations["restresource"], "urlMapping") or "")
        req.httpMethod = method.upper()
        for k, v in (headers or {}).items():
            req.headers[k] = v
        for k, v in (params or {}).items():
            req.params[k] = v
        resp = RestResponse()
        data: Any = {}
        if handler.params:
            try:
                data = json.loads(body.decode("utf-8")) if body else {}
            except (ValueError, UnicodeDecodeError) as e:
                return _rest_error(400, "JSON_PARSER_ERROR", f"Unexpected character in request body: {e}")
            if not isinstance(data, dict):
                return _rest_error(400, "JSON_PARSER_ERROR", "Request body must be a JSON object")
        tx = prog.new_transaction()
        tx.rest_request = req
        tx.rest_response = resp
        def call():
            vals = []
            if handler.params:
                from .jsonlib import convert
                lowered = {k.lower(): v for k, v in data.items()}
                for pname, ptype in handler.params:
                    vals.append(convert(lowered.get(pname), ptype, False, handler.cls))
            return prog.invoke(handler, None, vals)

        result = prog.run_in(call, tx=tx, commit=True)
        lim = tx.limits
        if not result.success:
            msg = f"{result.exception_type}: {result.exception_message}\n\n{result.stack_trace or ''}".rstrip()
            out = _rest_error(500, "APEX_ERROR", msg)
            out.debug_log = result.debug_log
            out.soql_queries, out.dml_statements = lim.soql_queries, lim.dml_statements
            return out
        resp_headers = {str(k): str(v) for k, v in resp.headers.items()}
        status = resp.statusCode if resp.statusCode is not None else 200
        if resp.responseBody is not None:
            payload = resp.responseBody.data if isinstance(resp.responseBody, Blob) else str(resp.responseBody).encode()
        elif handler.rtype is not None and handler.rtype.name != "void":
            from .jsonlib import serialize
            payload = serialize(result.value).encode("utf-8")
            resp_headers.setdefault("Content-Type", "application/json;charset=UTF-8")
        else:
            payload = b""
        return RestResult(status, resp_headers, payload, result.debug_log, lim.soql_queries, lim.dml_statements)

    # ------------------------------------------------------------------------------------ tests
    def test_classes(self) -> list[ApexClass]:
        return sorted((c for c in self.program.classes.values() if c.outer is None and "istest" in c.annotations),
                      key=lambda c: c.name)

    def run_tests(self, class_names: list[str] | None = None,
                  methods: Mapping[str, list[str]] | None = None, isolated: bool = True) -> list[TestMethodResult]:
        """Run Apex test methods; each runs in its own data transaction that is rolled back.

        `isolated` (default): the run uses a scratch copy of the org with its schema and setup
        objects but no business records, so a test sees only the data it makes (as without
        SeeAllData); coverage is collected on this runtime's program either way."""
        if not isolated:
            return self._run_tests_on(self, class_names, methods)
        wanted = [c for c in self.test_classes() if not class_names or c.lname in {n.lower() for n in class_names}]
        see_all = [c.name for c in wanted if _sees_all_data(c)]
        if see_all:
            # @IsTest(SeeAllData=true) classes run against the org's data (rolled back after each method)
            others = [c.name for c in wanted if c.name not in see_all]
            results = self._run_tests_on(self, see_all, methods)
            self._merge_coverage(self.program)
            if others:
                results += self.run_tests(others, methods, isolated=True)
            order = {c.name: i for i, c in enumerate(wanted)}
            return sorted(results, key=lambda r: order.get(r.class_name, 0))
        import tempfile
        from .dataport import isolated_test_store
        with tempfile.TemporaryDirectory(prefix="apex-tests-") as tmp:
            scratch = isolated_test_store(self.store, tmp)
            access.register_definitions(scratch, access.definitions_of(self.store))
            cachepartitions.register_partitions(scratch, cachepartitions.partitions_of(self.store))
            try:
                runner = ApexRuntime(scratch, self.sources, coverage=True, _scratch=True,
                                     labels=self.program.labels)
                results = runner._run_tests_on(runner, class_names, methods)
                self._merge_coverage(runner.program)
            finally:
                self.store.set_trigger_hook(self.hook)
                scratch.close()
        return results

    def _run_tests_on(self, rt: "ApexRuntime", class_names: list[str] | None,
                      methods: Mapping[str, list[str]] | None) -> list[TestMethodResult]:
        if not rt.coverage:
            rt.coverage = True
            rt.deploy({})
        prog = rt.program
        wanted = {n.lower() for n in class_names} if class_names else None
        out: list[TestMethodResult] = []
        for cls in rt.test_classes():
            if wanted is not None and cls.lname not in wanted:
                continue
            setups = [m for ms in cls.methods.values() for m in ms if "testsetup" in m.annotations]
            tests = [m for ms in cls.methods.values() for m in ms
                     if ("istest" in m.annotations or "testmethod" in m.modifiers) and m not in setups]
            tests.sort(key=lambda m: m.line)
            only = None
            picked = {k.lower(): v for k, v in (methods or {}).items()}.get(cls.lname)
            if picked:
                only = {x.lower() for x in picked}
            for m in tests:
                if only is not None and m.lname not in only:
                    continue
                out.append(rt._run_test(prog, cls, m, setups))
        return out

    def _run_test(self, prog: ApexProgram, cls: ApexClass, m: Method, setups: list[Method]) -> TestMethodResult:
        from .testlib import TestContext
        dtx = self.store.transaction()
        dtx.savepoint()  # take the store's write lock before the program lock (see ApexProgram._prepare)
        started = time.perf_counter()
        debug: list[str] = []
        try:
            if setups:
                stx = prog.new_transaction(data=Session(self.store, dtx, False))
                stx.test = TestContext()
                res = prog.run_in(lambda: [prog.invoke(s, None, []) for s in setups], tx=stx, commit=False)
                debug.extend(res.debug_log)
                if not res.success:
                    return TestMethodResult(cls.name, m.name, "Fail",
                                            f"{res.exception_type}: {res.exception_message}", res.stack_trace,
                                            int((time.perf_counter() - started) * 1000), debug)
            tx = prog.new_transaction(data=Session(self.store, dtx, False))
            tx.test = TestContext()
            this = None if m.static else prog.instantiate(cls, [])
            res = prog.run_in(lambda: prog.invoke(m, this, []), tx=tx, commit=False)
            debug.extend(res.debug_log)
            ms = int((time.perf_counter() - started) * 1000)
            lim = tx.limits
            counters = dict(soql_queries=lim.soql_queries, dml_statements=lim.dml_statements,
                            dml_rows=lim.dml_rows, query_rows=lim.query_rows, callouts=lim.callouts)
            if res.success:
                return TestMethodResult(cls.name, m.name, "Pass", None, None, ms, debug, **counters)
            return TestMethodResult(cls.name, m.name, "Fail", f"{res.exception_type}: {res.exception_message}",
                                    res.stack_trace, ms, debug, **counters)
        finally:
            dtx.rollback()

    def _merge_coverage(self, prog: ApexProgram) -> None:
        """Coverage accumulates over test runs (until reset_coverage or a deploy)."""
        cov = getattr(self, "_coverage", None)
        if cov is None or cov[0] is not self.program:
            cov = (self.program, {}, {})
            self._coverage = cov
        for file, lines in prog.coverable_lines.items():
            cov[2].setdefault(file, set()).update(lines)
        for file, lines in prog.covered.items():
            cov[1].setdefault(file, set()).update(lines)

    def reset_coverage(self) -> None:
        self._coverage = None

    def coverage_report(self) -> list[CoverageResult]:
        cov = getattr(self, "_coverage", None)
        if cov is not None and cov[0] is self.program:
            covered_map, coverable_map = cov[1], cov[2]
        else:
            covered_map, coverable_map = self.program.covered, self.program.coverable_lines
        out = []
        for file, lines in sorted(coverable_map.items()):
            name = file.rsplit(".", 1)[0]
            kind = "ApexTrigger" if file.endswith(".trigger") else "ApexClass"
            covered = covered_map.get(file, set())
            cls = self.program.classes.get(name.lower())
            if cls is not None and "istest" in cls.annotations:
                continue
            out.append(CoverageResult(name, kind, sorted(lines & covered), sorted(lines - covered)))
        return out


def _failure(message: str) -> dict[str, Any]:
    return {"name": "", "methodName": "", "namespace": None, "time": 0, "stackTrace": None, "message": message}


def run_tests_for_deploy(test_level: str, class_names: list[str], sources: list[Any], *, store: Any = None,
                         prepare: Callable[[Any], None] | None = None, transaction: Any = None,
                         schema: Any = None, permission_sets: Mapping[str, Mapping[str, Any]] | None = None,
                         cache_partitions: list[Mapping[str, Any]] | None = None) -> Any:
    """Deploy-time test run (metadata looks this up on localcloud.salesforce.apex).

    `sources` are ApexSource-like objects (kind, name, body): the org's sources overlaid with the
    deploy's. `store` is the deploying org's store (else the store of `transaction`); the tests
    run on an isolated scratch copy of that org's committed data (setup objects only, as without
    SeeAllData) to which `prepare(tx)` first applies the deploy's own schema and setup records, so
    objects and fields created by the same deploy are visible. `permission_sets` (name -> definition,
    the deploy's own) lets USER_MODE checks see what the deploy's permission sets grant; without it
    the deploy-time run does not check USER_MODE (the definitions are not committed yet). `cache_partitions`
    (name, is_default, org_mb, session_mb) are the Platform Cache partitions its tests see. Returns an
    object shaped like the deploy's RunTestsOutcome: num_tests_run, failures, successes, total_time_ms, code_coverage."""
    from types import SimpleNamespace
    out = SimpleNamespace(num_tests_run=0, failures=[], successes=[], total_time_ms=0.0, code_coverage=[])
    level = (test_level or "NoTestRun").lower()
    if level == "notestrun":
        return out
    if store is None and transaction is not None:
        store = getattr(transaction, "store", None)
    if store is None:
        out.failures.append(_failure(f"testLevel {test_level} was requested, but the deploy named no org store"))
        return out
    names: list[str] | None = None
    if level == "runspecifiedtests":
        names = list(class_names)
        if not names:
            out.failures.append(_failure("testLevel RunSpecifiedTests needs at least one runTests class name"))
            return out
    files = {f"{s.name}.{'cls' if s.kind == 'ApexClass' else 'trigger'}": s.body for s in sources}
    started = time.perf_counter()
    import tempfile
    from .dataport import isolated_test_store
    with tempfile.TemporaryDirectory(prefix="apex-deploy-tests-") as tmp:
        scratch = isolated_test_store(store, tmp)
        # Platform Cache: the partitions as the deploy leaves them (`cache_partitions`), else the org's committed ones
        cachepartitions.register_partitions(scratch, (lambda: list(cache_partitions)) if cache_partitions is not None
                                            else cachepartitions.partitions_of(store))
        if permission_sets is not None:
            # the deploy's own permission sets (not committed yet) first, then the org's committed ones
            access.register_definitions(scratch, access.overlay(permission_sets, access.definitions_of(store)))
        try:
            if prepare is not None:
                with scratch.transaction() as stx:
                    prepare(stx)
            try:
                runner = ApexRuntime(scratch, files, coverage=True, _scratch=True)
            except ApexCompileError as error:
                out.failures.append(_failure(f"{error.file}: line {error.line}, column {error.column}: {error.message}"))
                return out
            known = {c.lname for c in runner.test_classes()}
            missing = [n for n in names or [] if n.lower() not in known]
            for name in missing:
                out.failures.append({**_failure(f"No test class named {name} was found (or it has no @IsTest annotation)"),
                                     "name": name})
            results = runner._run_tests_on(runner, names, None)
            coverage = runner.coverage_report()
        finally:
            scratch.close()
    for r in results:
        if r.outcome == "Pass":
            out.successes.append({"name": r.class_name, "methodName": r.method_name, "namespace": None,
                                  "time": r.run_time_ms})
        else:
            out.failures.append({"name": r.class_name, "methodName": r.method_name, "namespace": None,
                                 "time": r.run_time_ms, "message": r.message, "stackTrace": r.stack_trace})
    for c in coverage:
        out.code_coverage.append({
            "name": c.name, "type": "Class" if c.kind == "ApexClass" else "Trigger", "namespace": None,
            "numLocations": len(c.covered) + len(c.uncovered), "numLocationsNotCovered": len(c.uncovered),
            "locationsNotCovered": [{"line": line, "column": 0, "numExecutions": 0, "time": -1.0}
                                    for line in c.uncovered],
        })
    out.num_tests_run = len(results)
    out.total_time_ms = (time.perf_counter() - started) * 1000
    return out


def _sees_all_data(cls: ApexClass) -> bool:
    import re
    return re.search(r"seealldata\s*=\s*true", cls.annotations.get("istest", ""), re.I) is not None


def _rest_error(status: int, code: str, message: str) -> RestResult:
    body = json.dumps([{"errorCode": code, "message": message}]).encode("utf-8")
    return RestResult(status, {"Content-Type": "application/json;charset=UTF-8"}, body)


_ = (ApexMap, TypeRef, ApexThrown)
