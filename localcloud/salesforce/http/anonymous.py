"""Anonymous Apex: the Tooling REST resource and the Apex SOAP API call ``executeAnonymous``.

* ``GET /services/data/vXX.X/tooling/executeAnonymous/?anonymousBody=<Apex>`` answers an
  ExecuteAnonymousResult as JSON: ``{line, column, compiled, success, compileProblem,
  exceptionStackTrace, exceptionMessage}`` (what CumulusCI's ``execute_anon`` task reads).
* ``POST /services/Soap/s/XX.X[/{orgId}]`` with ``executeAnonymous`` (``apexcode``), the session in
  ``SessionHeader`` and an optional ``DebuggingHeader``; the answer carries the same result and, in
  the ``DebuggingInfo`` header, the debug log (``apexlog.py``), which ``sf apex run`` prints. A bad
  session answers the ``sf:INVALID_SESSION_ID`` fault (HTTP 500), on which the sf CLI refreshes.

Each execution is one Apex transaction of the session's user (the org's admin: the local org has one
API user) through the bound Apex runtime: governor limits, SOQL and DML counted, triggers fired, an
uncaught exception rolls everything back, and Queueables / @future calls run after the commit.
Compile errors name the line and column in the submitted text; a runtime exception answers
``compiled: true``, ``success: false``, the line and column of the anonymous block's frame, the
exception as ``Type: message`` and its stack trace.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.apex import ApexCompileError
from localcloud.salesforce.http.apexlog import DebuggingHeaderError, RunRecord, debug_levels, render_log
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response
from localcloud.salesforce.metadata.package import children, local

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
APEX_NS = "http://soap.sforce.com/2006/08/apex"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
#: Salesforce refuses anonymous Apex longer than 32,000 characters ("Script too large", line 1 column 1).
MAX_ANONYMOUS_CHARACTERS = 32_000
RESULT_FIELDS = ("column", "compileProblem", "compiled", "exceptionMessage", "exceptionStackTrace", "line",
                 "success")  # the WSDL's order


@dataclass
class AnonymousResult:
    """An ExecuteAnonymousResult plus the execution's record for its debug log."""

    line: int
    column: int
    compiled: bool
    success: bool
    compile_problem: str | None
    exception_stack_trace: str | None
    exception_message: str | None
    run: RunRecord | None = None

    def as_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "compiled": self.compiled, "success": self.success,
                "compileProblem": self.compile_problem, "exceptionStackTrace": self.exception_stack_trace,
                "exceptionMessage": self.exception_message}


class ApexRuntimeOff(RuntimeError):
    """The org runs without its Apex runtime (``ECBRIDGE_ORG_APEX=off``)."""


def _block_position(stack_trace: str | None, fallback: int | None) -> tuple[int, int]:
    """Line and column of the anonymous block's frame (the last ``AnonymousBlock: line N, column C``)."""
    for frame in reversed((stack_trace or "").splitlines()):
        if frame.startswith("AnonymousBlock: line "):
            line, _, column = frame[len("AnonymousBlock: line "):].partition(", column ")
            if line.isdigit() and column.isdigit():
                return int(line), int(column)
    return (fallback or 1), 1


def execute(context: OrgContext, source: str, session: str | None) -> AnonymousResult:
    """Run ``source`` as anonymous Apex of the session's user."""
    runtime = context.extras.get("apex_runtime")
    if runtime is None:
        raise ApexRuntimeOff("The local org runs without its Apex runtime (ECBRIDGE_ORG_APEX=off): "
                             "anonymous Apex cannot run")
    if len(source) > MAX_ANONYMOUS_CHARACTERS:
        start = " ".join(source[:40].split())
        return AnonymousResult(1, 1, False, False, f"Script too large: {start}...", None, None)
    program = runtime.program
    store = context.data
    zone = getattr(store, "timezone", None)
    now = store.now() if callable(getattr(store, "now", None)) else None
    started_at = now.astimezone(zone) if now is not None and zone is not None else now
    tx = program.new_transaction(user={"userid": context.user_id, "organizationid": context.org_id,
                                       **({"sessionid": session} if session else {})})
    started = time.perf_counter_ns()
    try:
        result = program.execute_anonymous(source, tx=tx)
    except ApexCompileError as error:
        return AnonymousResult(error.line, error.column, False, False, error.message, None, None)
    run = RunRecord(
        started=started_at, elapsed_ns=time.perf_counter_ns() - started, user_id=context.user_id,
        username=context.identity.identity.username, time_zone=getattr(zone, "key", "UTC"),
        debug_entries=list(tx.debug_entries), limits=tx.limits, queued=len(tx.queue),
    )
    if result.success:
        return AnonymousResult(-1, -1, True, True, None, None, None, run)
    message = f"{result.exception_type}: {result.exception_message}"
    line, column = _block_position(result.stack_trace, result.line)
    run.fatal = f"{message}\n\n{result.stack_trace or ''}".rstrip()
    return AnonymousResult(line, column, True, False, None, result.stack_trace or "", message, run)


# ------------------------------------------------------------------------------------------ SOAP
def _value(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _envelope(body: str, header: str = "", status: int = 200) -> Response:
    text = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns="{APEX_NS}" xmlns:xsi="{XSI}">'
            + (f"<soapenv:Header>{header}</soapenv:Header>" if header else "")
            + f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>")
    return Response(status, text.encode("utf-8"), {"Content-Type": "text/xml;charset=UTF-8"})


def soap_fault(code: str, message: str) -> Response:
    return _envelope(f'<soapenv:Fault><faultcode xmlns:sf="{APEX_NS}">sf:{code}</faultcode>'
                     f"<faultstring>{escape(code)}: {escape(message)}</faultstring></soapenv:Fault>", status=500)


def _headers(root: Element) -> dict[str, Element]:
    found: dict[str, Element] = {}
    for part in root:
        if local(part.tag) == "Header":
            for header in part:
                found[local(header.tag)] = header
    return found


def _operation(root: Element) -> Element | None:
    for part in root:
        if local(part.tag) == "Body":
            return next(iter(part), None)
    return None


def _soap(context: OrgContext, request: Request) -> Response:
    try:
        root = fromstring(request.body)
    except Exception as error:  # noqa: BLE001 - any parse error is the client's malformed envelope
        return soap_fault("INVALID_XML", f"The request is not a well-formed SOAP envelope: {error}")
    headers = _headers(root)
    session_header = headers.get("SessionHeader")
    session = next(((c.text or "").strip() for c in children(session_header, "sessionId")), None) \
        if session_header is not None else None
    if not context.identity.is_valid(session):
        return soap_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
    context.identity.count_api_call(context.today())
    operation = _operation(root)
    name = local(operation.tag) if operation is not None else None
    if operation is None or name != "executeAnonymous":
        return soap_fault("UNKNOWN_OPERATION", f"The local org's Apex API implements executeAnonymous only, "
                          f"not '{name}'")
    try:
        levels = debug_levels(headers.get("DebuggingHeader"))
    except DebuggingHeaderError as error:
        return soap_fault("INVALID_FIELD", str(error))
    code = children(operation, "String") or children(operation, "apexcode")
    source = (code[0].text or "") if code else ""
    try:
        result = execute(context, source, session)
    except ApexRuntimeOff as error:
        return soap_fault("UNKNOWN_EXCEPTION", str(error))
    version = request.path_params.get("version", "")
    log = render_log(version, levels, source, result.run) if result.run is not None else ""
    fields = result.as_json()
    body = ("<executeAnonymousResponse><result>" + "".join(_value(n, fields[n]) for n in RESULT_FIELDS)
            + "</result></executeAnonymousResponse>")
    return _envelope(body, f"<DebuggingInfo><debugLog>{escape(log)}</debugLog></DebuggingInfo>")


# ------------------------------------------------------------------------------------------ routes
def register(router: Router, context: OrgContext) -> None:
    @router.route("GET", r"/services/data/v(?P<version>\d+\.\d+)/tooling/executeAnonymous/?")
    def tooling_execute(request: Request) -> Response:
        values = request.query.get("anonymousBody")
        if not values:
            return error_response(400, "MISSING_ARGUMENT", "anonymousBody: the Apex to run is required")
        try:
            result = execute(context, values[0], request.bearer_token)
        except ApexRuntimeOff as error:
            return error_response(500, "UNKNOWN_EXCEPTION", str(error))
        return Response.json(result.as_json())

    @router.route("POST", r"/services/Soap/s/(?P<version>\d+\.\d+)(/(?P<org>\w+))?/?")
    def soap_execute(request: Request) -> Response:
        return _soap(context, request)
