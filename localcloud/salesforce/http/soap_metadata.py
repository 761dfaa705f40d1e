"""Metadata API over SOAP: ``POST /services/Soap/m/{version}[/{orgId}]``.

Operations: ``deploy`` (answers an AsyncResult with the deploy id), ``checkDeployStatus`` (the
DeployResult with componentSuccesses / componentFailures / runTestResult), ``cancelDeploy`` and
``listMetadata``. The session id travels in the SOAP ``SessionHeader``; a bad one answers the
``sf:INVALID_SESSION_ID`` fault (HTTP 500, as Salesforce does), on which CumulusCI refreshes its
token and retries once.
"""
from __future__ import annotations

from typing import Any, Iterable
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.metadata.deploy import ComponentMessage, DeployJob, DeployOptions, parse_bool
from localcloud.salesforce.metadata.package import child_text, children, local

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
MD_NS = "http://soap.sforce.com/2006/04/metadata"


def envelope(body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns="{MD_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def xml_response(body: str, status: int = 200) -> Response:
    return Response(status, envelope(body).encode("utf-8"), {"Content-Type": "text/xml;charset=UTF-8"})


def fault(code: str, message: str) -> Response:
    body = (
        f"<soapenv:Fault><faultcode xmlns:sf=\"{MD_NS}\">sf:{code}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring></soapenv:Fault>"
    )
    return xml_response(body, 500)


def _tag(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _component_xml(tag: str, message: ComponentMessage, stamp: str) -> str:
    parts = [
        _tag("changed", message.changed),
        _tag("columnNumber", message.column) if not message.success else "",
        _tag("componentType", message.component_type) if message.component_type else "<componentType/>",
        _tag("created", message.created),
        _tag("createdDate", stamp),
        _tag("deleted", message.deleted),
        _tag("fileName", message.file_name),
        _tag("fullName", message.full_name),
        _tag("id", message.id),
        _tag("lineNumber", message.line) if not message.success else "",
        _tag("problem", message.problem),
        _tag("problemType", message.problem_type),
        _tag("success", message.success),
    ]
    return f"<{tag}>{''.join(parts)}</{tag}>"


def _code_coverage_xml(coverage: dict[str, Any]) -> str:
    """One ``codeCoverage`` element of a deploy's runTestResult (Salesforce's CodeCoverageResult)."""
    not_covered = "".join(
        "<locationsNotCovered>"
        + "".join(_tag(k, location.get(k)) for k in ("column", "line", "numExecutions", "time"))
        + "</locationsNotCovered>"
        for location in coverage.get("locationsNotCovered", [])
    )
    fields = "".join(_tag(k, coverage.get(k)) for k in ("name", "namespace", "numLocations", "numLocationsNotCovered", "type"))
    return f"<codeCoverage>{not_covered}{fields}</codeCoverage>"


def deploy_result_xml(job: DeployJob, include_details: bool = True) -> str:
    stamp = job.completed_date or job.created_date
    details = ""
    if include_details:
        tests = job.tests
        failures = "".join(
            "<failures>" + "".join(_tag(k, f.get(k)) for k in ("id", "message", "methodName", "name", "namespace", "stackTrace", "time")) + "</failures>"
            for f in tests.failures
        )
        successes = "".join(
            "<successes>" + "".join(_tag(k, s.get(k)) for k in ("id", "methodName", "name", "namespace", "time")) + "</successes>"
            for s in tests.successes
        )
        coverage = "".join(_code_coverage_xml(c) for c in getattr(tests, "code_coverage", None) or [])
        coverage += "".join(
            "<codeCoverageWarnings>" + "".join(_tag(k, w.get(k)) for k in ("id", "message", "name", "namespace"))
            + "</codeCoverageWarnings>"
            for w in getattr(tests, "code_coverage_warnings", None) or []
        )
        details = (
            "<details>"
            + "".join(_component_xml("componentFailures", m, stamp) for m in job.failures)
            + "".join(_component_xml("componentSuccesses", m, stamp) for m in (job.successes if job.done else []))
            + "<runTestResult>"
            + coverage
            + failures
            + _tag("numFailures", len(tests.failures))
            + _tag("numTestsRun", tests.num_tests_run)
            + successes
            + _tag("totalTime", f"{tests.total_time_ms:.1f}")
            + "</runTestResult></details>"
        )
    deployed = len(job.successes) - 1 if job.success else 0
    fields = [
        _tag("checkOnly", job.options.check_only),
        _tag("completedDate", job.completed_date),
        _tag("createdBy", job.created_by[:15]),
        _tag("createdByName", "ECBridge Integration"),
        _tag("createdDate", job.created_date),
        details,
        _tag("done", job.done),
        _tag("errorMessage", job.error_message),
        _tag("errorStatusCode", job.error_status_code),
        _tag("id", job.id),
        _tag("ignoreWarnings", job.options.ignore_warnings),
        _tag("lastModifiedDate", job.completed_date or job.start_date or job.created_date),
        _tag("numberComponentErrors", len({(f.component_type, f.full_name) for f in job.failures})),
        _tag("numberComponentsDeployed", max(deployed, 0)),
        _tag("numberComponentsTotal", job.components_total),
        _tag("numberTestErrors", len(job.tests.failures)),
        _tag("numberTestsCompleted", job.tests.num_tests_run - len(job.tests.failures) if job.tests.num_tests_run else 0),
        _tag("numberTestsTotal", job.tests.num_tests_run),
        _tag("rollbackOnError", job.options.rollback_on_error),
        _tag("runTestsEnabled", bool(job.options.test_level and job.options.test_level != "NoTestRun")),
        _tag("startDate", job.start_date),
        _tag("stateDetail", job.state_detail) if not job.done else "",
        _tag("status", job.status),
        _tag("success", job.success),
    ]
    return "".join(fields)


def _operation(root: Element) -> tuple[str | None, Element | None, str | None]:
    """(operation name, operation element, session id) of a SOAP envelope."""
    session = None
    operation = None
    for part in root:
        if local(part.tag) == "Header":
            for header in part:
                if local(header.tag) == "SessionHeader":
                    session = child_text(header, "sessionId")
        elif local(part.tag) == "Body":
            operation = next(iter(part), None)
    return (local(operation.tag) if operation is not None else None), operation, session


def _deploy_options(operation: Element) -> DeployOptions:
    options = next(iter(children(operation, "DeployOptions") or children(operation, "deployOptions")), None)
    if options is None:
        return DeployOptions()
    return DeployOptions(
        check_only=parse_bool(child_text(options, "checkOnly")),
        rollback_on_error=parse_bool(child_text(options, "rollbackOnError"), True),
        ignore_warnings=parse_bool(child_text(options, "ignoreWarnings")),
        test_level=child_text(options, "testLevel"),
        run_tests=[(e.text or "").strip() for e in children(options, "runTests")],
        purge_on_delete=parse_bool(child_text(options, "purgeOnDelete")),
        single_package=parse_bool(child_text(options, "singlePackage"), True),
    )


def _list_metadata_xml(context: OrgContext, types: Iterable[str]) -> str:
    repo = context.extras.get("metadata_repository")
    results = []
    for type_name in types:
        if type_name in ("ApexClass", "ApexTrigger") and repo is not None:
            for row in repo.apex_rows(type_name):
                results.append((type_name, row["Name"], row["Id"], f"{'classes' if type_name == 'ApexClass' else 'triggers'}/{row['Name']}", row["CreatedDate"], row["LastModifiedDate"]))
        elif type_name not in ("ApexClass", "ApexTrigger", "CustomObject") and repo is not None:
            for row in repo.components(type_name):
                results.append((type_name, row["fullName"], None, row["fileName"], None, row["lastModifiedDate"]))
        elif type_name == "CustomObject":
            for sobject in context.data.schema.objects():
                if getattr(sobject, "custom", False):
                    results.append((type_name, sobject.name, None, f"objects/{sobject.name}.object", None, None))
    body = "".join(
        "<result>" + _tag("createdById", context.user_id) + _tag("createdDate", created) + _tag("fileName", file_name)
        + _tag("fullName", full_name) + _tag("id", record_id) + _tag("lastModifiedDate", modified)
        + _tag("manageableState", "unmanaged") + _tag("type", type_name) + "</result>"
        for type_name, full_name, record_id, file_name, created, modified in results
    )
    return f"<listMetadataResponse>{body}</listMetadataResponse>"


def register(router: Router, context: OrgContext) -> None:
    @router.route("POST", r"/services/Soap/m/(?P<version>\d+\.\d)(/(?P<org>\w+))?/?")
    def metadata_soap(request: Request) -> Response:
        try:
            root = fromstring(request.body)
        except Exception as error:
            return fault("INVALID_XML", f"The request is not a well-formed SOAP envelope: {error}")
        name, operation, session = _operation(root)
        if not context.identity.is_valid(session):
            return fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        org = request.path_params.get("org")
        if org and org[:15] != context.org_id[:15]:
            return fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: the org id in the URL is not this org's")
        context.identity.count_api_call(context.today())
        deployer = context.deployer
        if name == "deploy":
            zip_b64 = child_text(operation, "ZipFile") or child_text(operation, "zipFile") or ""
            job = deployer.start(zip_b64, _deploy_options(operation))
            return xml_response(
                "<deployResponse><result>" + _tag("done", False) + _tag("id", job.id) + _tag("state", "Queued")
                + "</result></deployResponse>"
            )
        if name == "checkDeployStatus":
            deploy_id = child_text(operation, "asyncProcessId") or child_text(operation, "id") or ""
            job = deployer.status(deploy_id)
            if job is None:
                return fault("INVALID_ID_FIELD", f"Invalid id: {deploy_id}")
            details = parse_bool(child_text(operation, "includeDetails"), False)
            return xml_response(
                f"<checkDeployStatusResponse><result>{deploy_result_xml(job, details)}</result></checkDeployStatusResponse>"
            )
        if name == "cancelDeploy":
            deploy_id = child_text(operation, "String") or child_text(operation, "id") or ""
            job = deployer.status(deploy_id)
            if job is None:
                return fault("INVALID_ID_FIELD", f"Invalid id: {deploy_id}")
            return xml_response(
                "<cancelDeployResponse><result>" + _tag("done", job.done) + _tag("id", job.id) + "</result></cancelDeployResponse>"
            )
        if name == "listMetadata":
            types = [child_text(q, "type") or "" for q in children(operation, "queries")]
            return xml_response(_list_metadata_xml(context, types))
        return fault(
            "UNKNOWN_OPERATION",
            f"The local org's Metadata API does not implement '{name}' (deploy, checkDeployStatus, cancelDeploy, listMetadata are available)",
        )
