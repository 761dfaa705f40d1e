"""SOAP ``convertLead`` (Partner API ``/services/Soap/u/{v}``, Enterprise API ``/services/Soap/c/{v}``).

The request carries up to 200 ``leadConverts`` (``leadId``, ``convertedStatus``, ``accountId``,
``contactId``, ``ownerId``, ``opportunityName``, ``doNotCreateOpportunity``, ``overwriteLeadSource``,
``sendNotificationEmail``); the answer one ``result`` each (``accountId``, ``contactId``, ``errors``,
``leadId``, ``opportunityId``, ``success``, in the WSDL's order). Every conversion runs in one data
transaction with the org's triggers; a failed one is undone alone unless the ``AllOrNoneHeader``
asks for all or none. More than 200 answers the ``sf:EXCEEDED_ID_LIMIT`` fault. The conversion
rules live in ``localcloud.salesforce.data.leadconvert``.

The REST API has no lead conversion resource, and the standard invocable actions that REST offers
(``/actions/standard``) list none either, so the local org offers none over REST.
"""
from __future__ import annotations

from typing import Any, Callable
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape

from localcloud.salesforce.data.leadconvert import LeadConvert, LeadConvertResult, convert_leads
from localcloud.salesforce.metadata.package import child_text, children, local

MAX_CONVERTS = 200
XSI = "http://www.w3.org/2001/XMLSchema-instance"


def _flag(element: Element, name: str) -> bool:
    return (child_text(element, name) or "").lower() == "true"


def read_converts(operation: Element) -> list[LeadConvert]:
    return [LeadConvert(
        lead_id=child_text(e, "leadId") or None, converted_status=child_text(e, "convertedStatus") or None,
        account_id=child_text(e, "accountId") or None, contact_id=child_text(e, "contactId") or None,
        owner_id=child_text(e, "ownerId") or None, opportunity_name=child_text(e, "opportunityName") or None,
        do_not_create_opportunity=_flag(e, "doNotCreateOpportunity"),
        overwrite_lead_source=_flag(e, "overwriteLeadSource"),
        send_notification_email=_flag(e, "sendNotificationEmail"),
    ) for e in children(operation, "leadConverts")]


def all_or_none_header(root: Element) -> bool:
    for part in root:
        if local(part.tag) == "Header":
            for header in part:
                if local(header.tag) == "AllOrNoneHeader":
                    return _flag(header, "allOrNone")
    return False


def _id(name: str, value: str | None) -> str:
    return f"<{name}>{value}</{name}>" if value else f'<{name} xmlns:xsi="{XSI}" xsi:nil="true"/>'


def result_xml(result: LeadConvertResult) -> str:
    errors = "".join(
        "<errors>" + "".join(f"<fields>{escape(f)}</fields>" for f in e.fields)
        + f"<message>{escape(e.message)}</message><statusCode>{e.status_code}</statusCode></errors>"
        for e in result.errors)
    return ("<result>" + _id("accountId", result.account_id) + _id("contactId", result.contact_id) + errors
            + _id("leadId", result.lead_id) + _id("opportunityId", result.opportunity_id)
            + f"<success>{'true' if result.success else 'false'}</success></result>")


def convert_lead(store: Any, user_id: str, root: Element, operation: Element,
                 fault: Callable[[str, str], Any], envelope: Callable[[str], Any]) -> Any:
    """The answer to one ``convertLead`` call (an envelope, or a fault)."""
    converts = read_converts(operation)
    if len(converts) > MAX_CONVERTS:
        return fault("EXCEEDED_ID_LIMIT", f"convertLead accepts at most {MAX_CONVERTS} leadConverts, "
                     f"not {len(converts)}")
    with store.transaction(user_id=user_id) as tx:
        results = convert_leads(tx, converts, all_or_none=all_or_none_header(root))
    return envelope("<convertLeadResponse>" + "".join(result_xml(r) for r in results) + "</convertLeadResponse>")
