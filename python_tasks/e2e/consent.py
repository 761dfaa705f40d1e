"""The e2e check "consent": every member who withdrew consent, on the EC site or in Marketo, is
unsubscribed in Marketo and opted out in Salesforce (an opt-out anywhere wins everywhere). Pure: no I/O.

Withdrawn on the EC site: the member's newest valid event carries the consent field false.
Withdrawn in Marketo: the seeding's receipt lists the persons that unsubscribed from an email
(``kind: marketo``, ``role: unsubscribed``).
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable

from python_tasks.seed.events import PlannedEvent, latest_valid_events
from python_tasks.seed.receipt import Receipt
from python_tasks.seed.schema import PayloadSchema

from .compare import Comparison, MarketoSnapshot, SalesforceSnapshot, normalise_email


def marketo_unsubscribes(receipt: Receipt) -> dict[str, str]:
    """Member key -> email of the persons the seeding unsubscribed in Marketo."""
    return {str(r["memberKey"]): str(r["email"]) for r in receipt.marketo if r.get("role") == "unsubscribed"}


def ec_withdrawals(events: Iterable[PlannedEvent], schema: PayloadSchema) -> set[str]:
    """Member keys whose newest valid event says no consent."""
    field = schema.consent.get("ec_field")
    if not field:
        return set()
    return {key for (kind, key), planned in latest_valid_events(events).items()
            if kind == "member" and planned.event.data.get(field) is False}


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1")


def compare_consent(events: list[PlannedEvent], receipt: Receipt, sf: SalesforceSnapshot,
                    mkto: MarketoSnapshot | None, schema: PayloadSchema, result: Comparison) -> None:
    if not schema.consent:
        return
    opted_out, unsubscribed = schema.consent["opted_out"], schema.consent["unsubscribed"]
    key_field = schema.sf_member_field(schema.member_key)
    email_field = schema.sf_member_field(schema.member_email)
    members = {str(row.get(key_field)): row for row in sf.members}
    leads_by_email: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for lead in (mkto.leads if mkto is not None else []):
        if not lead.get("ecbSupersededBy"):  # a marked duplicate is kept, and no push writes to it
            leads_by_email[normalise_email(lead.get("email"))].append(lead)
    in_marketo = marketo_unsubscribes(receipt)
    withdrawn = {key: "on the EC site" for key in ec_withdrawals(events, schema)}
    withdrawn.update({key: "in Marketo" for key in in_marketo if key not in withdrawn})
    for key, where in sorted(withdrawn.items()):
        result.bump(f"consent withdrawn {where}")
        member = members.get(key)
        if member is None:
            continue  # the member itself is missing: salesforce.member reports it
        good = True
        if not _true(member.get(opted_out)):
            good = False
            result.add("consent.salesforce", key, f"consent was withdrawn {where} but the member is not opted out",
                       field=opted_out, expected=True, actual=member.get(opted_out))
        if mkto is not None:
            email = normalise_email(member.get(email_field) or in_marketo.get(key))
            subscribed = [lead for lead in leads_by_email.get(email, []) if not _true(lead.get(unsubscribed))]
            if not leads_by_email.get(email):
                good = False
                result.add("consent.marketo", key, f"consent was withdrawn {where} but no Marketo person has {email}")
            elif subscribed:
                good = False
                result.add("consent.marketo", key, f"consent was withdrawn {where} but the Marketo person is subscribed",
                           field=unsubscribed, expected=True, actual=[int(lead["id"]) for lead in subscribed])
        if good:
            result.bump("consent withdrawals honoured on both sides")
