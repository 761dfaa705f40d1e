"""Email consent in the local Marketo: an unsubscribe made as a person clicking an email's link does.

What Marketo records when a person unsubscribes through the link in an email (the unsubscribe page's
form): ``unsubscribed`` becomes true and ``unsubscribedReason`` says why, each change logged as a
"Change Data Value" activity (13), and one "Unsubscribe Email" activity (9) whose primary attribute is
the email (Mailing ID). A person already unsubscribed who clicks again gets the Unsubscribe Email
activity and no data value change. Reached over ``POST /_local/unsubscribe`` (local admin only).
"""

from __future__ import annotations

import json
from typing import Any, Callable

from localcloud.marketo.activities import UNSUBSCRIBE_EMAIL, record_activity
from localcloud.marketo.leads import LeadOperations, now_text
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import LeadRow, Store

LINK_SOURCE = "Unsubscribe link"  # the Reason/Source of the data value changes (a local wording)
UNSUBSCRIBE_PAGE_ID = 1002  # the local instance's one unsubscribe landing page
UNSUBSCRIBE_FORM_ID = 1003  # and its form
LOCAL_EMAIL_NAME = "ECBridge local email"


class UnsubscribeRejected(ValueError):
    """The request names no person, or a person that does not exist."""


class ConsentOperations:
    def __init__(self, store: Store, leads: LeadOperations, settings: Callable[[], Settings]):
        self.store = store
        self.leads = leads
        self.settings = settings

    def _person(self, body: dict[str, Any]) -> LeadRow:
        lead_id, email = body.get("leadId"), body.get("email")
        if lead_id not in (None, ""):
            try:
                number = int(lead_id)
            except (TypeError, ValueError):
                raise UnsubscribeRejected(f"leadId {lead_id!r} is not a lead id") from None
            lead = self.store.get_lead(number)
            if lead is None:
                raise UnsubscribeRejected(f"lead {number} not found")
            return lead
        if isinstance(email, str) and email.strip():
            matches = self.store.find_leads("email", [email])
            if not matches:
                raise UnsubscribeRejected(f"no lead has the email {email!r}")
            # the link carries one person; by email, the most recently updated one (as a form fill)
            return max(matches, key=lambda lead: (lead.updated_at, lead.id))
        raise UnsubscribeRejected("give leadId (the person the email went to) or email")

    def unsubscribe_via_link(self, body: dict[str, Any], request_id: str) -> dict[str, Any]:
        """Unsubscribe one person as the email link does; returns the person, its status and activities.

        ``body``: ``leadId`` or ``email``; optional ``reason`` (default: the setting
        ``unsubscribe_link_reason``), ``mailingId`` (the email's id), ``emailName``, ``campaignRunId``,
        ``clientIpAddress``, ``userAgent``, ``referrerUrl``."""
        email_name = str(body.get("emailName") or LOCAL_EMAIL_NAME)
        reason_text = body.get("reason")
        if reason_text is None:
            reason_text = self.settings().unsubscribe_link_reason.replace("{email}", email_name)
        mailing_id = _optional_int(body.get("mailingId"), "mailingId")
        campaign_run_id = _optional_int(body.get("campaignRunId"), "campaignRunId")
        with self.store.transaction():
            lead = self._person(body)
            before = {a["id"] for a in self.store.activities_for_lead(lead.id)}
            changed = self.leads.apply_change(
                lead,
                {"unsubscribed": True, "unsubscribedReason": str(reason_text)}
                if lead.data.get("unsubscribed") is not True
                else {},
                request_id,
                LINK_SOURCE,
                "",
            )
            form_fields = {"Email": lead.data.get("email"), "Unsubscribed": "yes"}
            record_activity(
                self.store,
                lead.id,
                UNSUBSCRIBE_EMAIL,
                now_text(),
                [
                    {"name": "Campaign Run ID", "value": campaign_run_id},
                    {"name": "Client IP Address", "value": body.get("clientIpAddress") or "127.0.0.1"},
                    {"name": "Form Fields", "value": json.dumps(form_fields, ensure_ascii=False)},
                    {"name": "Query Parameters", "value": f"mkt_unsubscribe=1&mkt_tok=local-{lead.id}"},
                    {"name": "Referrer URL", "value": body.get("referrerUrl")},
                    {"name": "User Agent", "value": body.get("userAgent") or "Mozilla/5.0 (local)"},
                    {"name": "Webform ID", "value": UNSUBSCRIBE_FORM_ID},
                    {"name": "Webpage ID", "value": UNSUBSCRIBE_PAGE_ID},
                ],
                mailing_id,
                email_name,
            )
            activities = [
                a["id"] for a in self.store.activities_for_lead(lead.id) if a["id"] not in before
            ]
        return {
            "id": lead.id,
            "status": "unsubscribed" if changed else "unchanged",
            "activityIds": activities,
        }


def _optional_int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UnsubscribeRejected(f"{name} {value!r} is not an integer") from None
