"""The Partner SOAP API (``POST /services/Soap/u/{version}[/{orgId}]``): ``setPassword`` and
``convertLead`` (``soap_convert_lead.py``; also on the Enterprise API, ``/services/Soap/c/...``).

The sf CLI's ``org generate password`` (which CumulusCI runs after creating a scratch org) sets the
admin's password with it; the password then works for the ``password`` grant. Any other operation
answers the ``sf:UNKNOWN_OPERATION`` fault naming it, and a bad session ``sf:INVALID_SESSION_ID``.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from defusedxml.ElementTree import fromstring

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.soap_convert_lead import convert_lead
from localcloud.salesforce.http.soap_metadata import SOAP_NS, _operation
from localcloud.salesforce.metadata.package import child_text

PARTNER_NS = "urn:partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
ENTERPRISE_NS = "urn:enterprise.soap.sforce.com"


def _envelope(body: str, status: int = 200, namespace: str = PARTNER_NS) -> Response:
    text = (f'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="{SOAP_NS}" '
            f'xmlns="{namespace}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>')
    return Response(status, text.encode("utf-8"), {"Content-Type": "text/xml;charset=UTF-8"})


def fault(code: str, message: str, namespace: str = PARTNER_NS) -> Response:
    fault_ns = FAULT_NS if namespace == PARTNER_NS else "urn:fault.enterprise.soap.sforce.com"
    return _envelope(f'<soapenv:Fault><faultcode xmlns:sf="{fault_ns}">sf:{code}</faultcode>'
                     f"<faultstring>{escape(code)}: {escape(message)}</faultstring></soapenv:Fault>", 500, namespace)


def _set_password(context: OrgContext, operation: Element) -> Response:
    user_id = child_text(operation, "userId") or ""
    password = child_text(operation, "password") or ""
    if user_id[:15] != context.user_id[:15]:
        return fault("INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {user_id} (the local org "
                     "keeps a password for its admin user only)")
    if len(password) < 8:
        return fault("INVALID_NEW_PASSWORD", "Your password must be at least 8 characters long.")
    context.identity.set_password(password)
    return _envelope("<setPasswordResponse><result/></setPasswordResponse>")


def _soap_api(context: OrgContext, namespace: str, api: str, operations: tuple[str, ...]):
    """The handler of one SOAP API (Partner or Enterprise): envelope, session, then the operation."""
    def api_fault(code: str, message: str) -> Response:
        return fault(code, message, namespace)

    def handle(request: Request) -> Response:
        try:
            root = fromstring(request.body)
        except Exception as error:  # noqa: BLE001 - any parse error is the client's malformed envelope
            return api_fault("INVALID_XML", f"The request is not a well-formed SOAP envelope: {error}")
        name, operation, session = _operation(root)
        if not context.identity.is_valid(session):
            return api_fault("INVALID_SESSION_ID", "Invalid Session ID found in SessionHeader: Illegal Session")
        context.identity.count_api_call(context.today())
        if name in operations and operation is not None:
            if name == "setPassword":
                return _set_password(context, operation)
            return convert_lead(context.data, context.user_id, root, operation, api_fault,
                                lambda body: _envelope(body, 200, namespace))
        return api_fault("UNKNOWN_OPERATION", f"The local org's {api} API implements {' and '.join(operations)} "
                         f"only, not '{name}'")
    return handle


def register(router: Router, context: OrgContext) -> None:
    router.add("POST", r"/services/Soap/u/(?P<version>\d+\.\d)(/(?P<org>\w+))?/?",
               _soap_api(context, PARTNER_NS, "Partner", ("setPassword", "convertLead")))
    router.add("POST", r"/services/Soap/c/(?P<version>\d+\.\d)(/(?P<org>\w+))?/?",
               _soap_api(context, ENTERPRISE_NS, "Enterprise", ("convertLead",)))
