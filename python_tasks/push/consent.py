"""Consent in the push: an opt-out anywhere wins everywhere (the mapping's ``consent`` section).

What a person's write carries, decided per person before it is sent:

* a member opted out in Salesforce (``HasOptedOutOfEmail``: an EC withdrawal, or an unsubscribe read
  back from Marketo) sends ``unsubscribed = true`` with ``unsubscribedReason`` in the same write as its
  other fields (one member of several sharing a person is enough);
* a member not opted out sends nothing about consent: a new person starts subscribed as Marketo
  creates it, and a push never sets ``unsubscribed = false`` on its own;
* a person Marketo has unsubscribed (the identity read already returns ``unsubscribed``, at no extra
  call) whose member is not opted out in Salesforce is subscribed again only under the policy
  ``explicit_ec_consent_after_unsubscribe`` and only when the member's last EC consent event
  (``EC_Consent_Changed_At__c``) is later than every unsubscribe Marketo logged for the person; the
  unsubscribe times are read from Marketo's activities (Unsubscribe Email, and Change Data Value of
  ``unsubscribed``) only for those persons, one paging token and one call per 30 persons.

Every refusal is counted and named in the summary; a person kept unsubscribed in Marketo has its
members opted out in Salesforce by the write-back, with Marketo's reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence

from python_tasks.mapping import ConsentMapping
from python_tasks.push.convert import parse_sf_datetime

UNSUBSCRIBE_EMAIL = 9  # Marketo activity type: Unsubscribe Email
CHANGE_DATA_VALUE = 13  # Marketo activity type: Change Data Value
SALESFORCE_OPT_OUT = "Salesforce: opted out of email"  # the reason sent when the member's reason is empty
MARKETO_UNSUBSCRIBED = "Marketo: unsubscribed"  # written back when Marketo gives no reason


@dataclass
class ConsentState:
    """The consent of the members behind one person, as read from Salesforce."""

    opted_out: bool = False
    reason: str | None = None
    ec_consents: bool = False  # the EC flag says consent
    consent_at: datetime | None = None  # the last EC consent event (giving or withdrawing)

    @classmethod
    def of(cls, member: dict[str, Any], consent: ConsentMapping) -> "ConsentState":
        stamp = member.get(consent.changed_at)
        return cls(opted_out=member.get(consent.opted_out) is True, reason=member.get(consent.reason) or None,
                   ec_consents=member.get(consent.ec_flag) is True,
                   consent_at=parse_sf_datetime(stamp) if stamp else None)

    def add(self, other: "ConsentState") -> None:
        """Another member of the same person: an opt-out of any of them wins."""
        if other.opted_out and not self.opted_out:
            self.opted_out, self.reason = True, other.reason


@dataclass
class Refusal:
    """A re-subscribe the push refused: the person stays unsubscribed."""

    person: str  # identity key
    member_ids: list[str]
    lead_id: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.person}{f' (lead {self.lead_id})' if self.lead_id else ''}: {self.reason}"


@dataclass
class ConsentDecisions:
    refused: list[Refusal] = field(default_factory=list)
    resubscribed: list[str] = field(default_factory=list)  # identity keys subscribed again under the policy
    opt_outs: dict[str, str] = field(default_factory=dict)  # member id -> reason, to write back to Salesforce


def opt_out_values(state: ConsentState, consent: ConsentMapping) -> dict[str, Any]:
    """What a person's write carries about consent before Marketo's state is known."""
    if not state.opted_out:
        return {}
    return {consent.unsubscribed: True, consent.unsubscribed_reason: state.reason or SALESFORCE_OPT_OUT}


class ConsentGate:
    """Decides, per chunk of persons and with what the identity read found, what is sent about consent."""

    def __init__(self, consent: ConsentMapping, marketo: Any) -> None:
        self.consent = consent
        self.marketo = marketo

    @property
    def lead_fields(self) -> list[str]:
        """Fields the identity read returns as well (no extra call)."""
        return [self.consent.unsubscribed, self.consent.unsubscribed_reason]

    def decide(self, persons: Sequence[Any], targets: dict[str, int | None], leads: dict[int, dict[str, Any]],
               decisions: ConsentDecisions, duplicates: dict[str, list[int]] | None = None) -> None:
        """Adjust each person's ``values``; refusals and opt-outs to write back go into ``decisions``.
        ``duplicates``: the other persons the identity read matched for a key (a cluster for
        marketo_dedupe): one of them unsubscribed counts as the person unsubscribed."""
        c = self.consent
        candidates: list[tuple[Any, int]] = []
        for person in persons:
            state: ConsentState | None = getattr(person, "consent", None)
            if state is None:
                continue
            target = targets.get(person.key)
            lead = leads.get(target) if target is not None else None
            if lead is not None and not _true(lead.get(c.unsubscribed)):
                twin = next((leads[i] for i in (duplicates or {}).get(person.key, [])
                             if i != target and i in leads and _true(leads[i].get(c.unsubscribed))), None)
                if twin is not None and not state.opted_out:  # the target takes its duplicate's opt-out
                    self._refuse(person, target, twin, f"its duplicate {twin.get('id')} is unsubscribed in Marketo",
                                 decisions)
                    person.values[c.unsubscribed] = True
                    person.values[c.unsubscribed_reason] = twin.get(c.unsubscribed_reason) or MARKETO_UNSUBSCRIBED
                    continue
            if state.opted_out:
                if state.ec_consents:
                    decisions.refused.append(Refusal(person.key, list(person.member_ids), target,
                                                     f"opted out in Salesforce ({state.reason or 'no reason'}); the "
                                                     f"EC site's consent does not subscribe again (policy {c.resubscribe})"))
                continue
            if lead is None or not _true(lead.get(c.unsubscribed)):
                continue
            if c.resubscribe_allowed and state.ec_consents and state.consent_at is not None:
                candidates.append((person, target))  # type: ignore[arg-type]
            else:
                why = ("no EC consent event recorded" if c.resubscribe_allowed else f"policy {c.resubscribe}")
                self._refuse(person, target, lead, f"unsubscribed in Marketo; {why}", decisions)
        if candidates:
            self._decide_by_time(candidates, leads, decisions)

    def _decide_by_time(self, candidates: list[tuple[Any, int]], leads: dict[int, dict[str, Any]],
                        decisions: ConsentDecisions) -> None:
        c = self.consent
        since = min(person.consent.consent_at for person, _ in candidates)
        latest = self.unsubscribed_at([lead_id for _, lead_id in candidates], since)
        for person, lead_id in candidates:
            consent_at = person.consent.consent_at
            unsubscribed_at = latest.get(lead_id)
            if unsubscribed_at is not None and unsubscribed_at >= consent_at:
                self._refuse(person, lead_id, leads[lead_id],
                             f"unsubscribed in Marketo at {unsubscribed_at.isoformat()}, after the EC consent event "
                             f"of {consent_at.isoformat()}", decisions)
            else:
                person.values[c.unsubscribed] = False
                person.values[c.unsubscribed_reason] = None
                decisions.resubscribed.append(person.key)

    def unsubscribed_at(self, lead_ids: Sequence[int], since: datetime) -> dict[int, datetime]:
        """The latest unsubscribe Marketo logged since ``since`` for each of these persons."""
        token = self.marketo.get_paging_token(since)
        latest: dict[int, datetime] = {}
        for activity in self.marketo.get_activities([UNSUBSCRIBE_EMAIL, CHANGE_DATA_VALUE], token,
                                                    lead_ids=list(dict.fromkeys(lead_ids))):
            if not self._is_unsubscribe(activity):
                continue
            lead_id = int(activity["leadId"])
            moment = parse_sf_datetime(activity["activityDate"])
            if lead_id not in latest or moment > latest[lead_id]:
                latest[lead_id] = moment
        return latest

    def _is_unsubscribe(self, activity: dict[str, Any]) -> bool:
        if int(activity.get("activityTypeId") or 0) == UNSUBSCRIBE_EMAIL:
            return True
        attributes = {a.get("name"): a.get("value") for a in activity.get("attributes") or []}
        named = str(activity.get("primaryAttributeValue") or "").replace(" ", "").lower()
        return named == self.consent.unsubscribed.lower() and _true(attributes.get("New Value"))

    def _refuse(self, person: Any, lead_id: int | None, lead: dict[str, Any], reason: str,
                decisions: ConsentDecisions) -> None:
        c = self.consent
        person.values.pop(c.unsubscribed, None)
        person.values.pop(c.unsubscribed_reason, None)
        decisions.refused.append(Refusal(person.key, list(person.member_ids), lead_id, reason))
        marketo_reason = str(lead.get(c.unsubscribed_reason) or "").strip()
        text = f"Marketo: {marketo_reason}" if marketo_reason else MARKETO_UNSUBSCRIBED
        for member_id in person.member_ids:
            decisions.opt_outs[member_id] = text[:255]


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")
