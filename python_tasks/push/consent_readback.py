"""Marketo -> Salesforce: unsubscribes made in Marketo come back as the member's email opt-out.

One read-back (:func:`read_back_unsubscribes`), run by ``push_marketo`` before each push cycle, each
streamed batch and each idle tick of the stream:

1. reads Marketo's activities after the stored paging token: Unsubscribe Email (type 9) and Change
   Data Value (type 13) of the ``unsubscribed`` field to true. When nothing happened this is the only
   call: one Marketo call, no Salesforce call;
2. reads the persons they name as they are now (``unsubscribed``, ``unsubscribedReason``, ``email``;
   one call per 300). A person re-subscribed since is left alone: a re-subscribe in Marketo never
   clears a Salesforce opt-out (an opt-out anywhere wins);
3. finds each member in Salesforce by the Marketo id the push wrote back, else by email (every
   member that matches), and sets the opt-out field true and the reason field, only where the
   opt-out is not already set, so re-running writes nothing twice;
4. stores the token after the last page read with the persons whose write failed, which the next
   read-back tries again (:class:`python_tasks.push.cache.PushCache`). A run stopped before that
   reads the same activities again; the writes are idempotent.

The Salesforce field names are parameters (:class:`ReadbackFields`): the mapping's consent
declaration names them, the defaults are ``HasOptedOutOfEmail`` and ``Marketo_Unsubscribe_Reason__c``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from python_tasks.marketo import MarketoClient
from python_tasks.push.cache import PushCache
from python_tasks.push.salesforce_io import SalesforceIO

UNSUBSCRIBE_EMAIL = 9
CHANGE_DATA_VALUE = 13
UNSUBSCRIBED_DISPLAY_NAME = "unsubscribed"  # a Change Data Value's primaryAttributeValue, any case
MARKETO_FIELDS = ("id", "email", "unsubscribed", "unsubscribedReason")
DEFAULT_FIRST_LOOKBACK = timedelta(days=30)  # where a first read-back (no token yet) starts
DEFAULT_MAX_PAGES = 100  # pages of 300 activities one read-back goes through; the rest next time
REASON_LENGTH = 255
TRUE_TEXTS = frozenset({"true", "1", "yes"})


@dataclass(frozen=True)
class ReadbackFields:
    """Where the opt-out goes in Salesforce: the member object and its fields."""

    object_name: str = "Contact"
    opt_out: str = "HasOptedOutOfEmail"
    reason: str | None = "Marketo_Unsubscribe_Reason__c"  # None: write the opt-out only
    marketo_id: str = "Marketo_Id__c"  # the push's write-back of the Marketo lead id
    email: str = "Email"

    @classmethod
    def for_mapping(cls, mapping: Any, opt_out: str | None = None, reason: str | None = "",
                    ) -> "ReadbackFields":
        """The mapping's member object and write-back field; Person Accounts use their Person fields.
        ``reason=""`` keeps the default reason field, None writes none."""
        person_account = bool(getattr(mapping.member, "person_account", False))
        consent = getattr(mapping, "consent", None)  # the mapping's consent section names both fields
        return cls(
            object_name=mapping.member.object_name,
            opt_out=opt_out or (consent.opted_out if consent is not None else
                                "PersonHasOptedOutOfEmail" if person_account else "HasOptedOutOfEmail"),
            reason=(consent.reason if consent is not None else cls.reason) if reason == "" else reason,
            marketo_id=mapping.write_back.marketo_id,
            email="PersonEmail" if person_account else "Email",
        )


@dataclass
class ReadbackResult:
    activities: int = 0  # unsubscribe activities read
    persons: int = 0  # persons they name, with those tried again
    opted_out: list[str] = field(default_factory=list)  # Salesforce ids newly opted out
    already_opted_out: int = 0  # members that already had the opt-out
    resubscribed: list[int] = field(default_factory=list)  # Marketo ids no longer unsubscribed: left alone
    gone: list[int] = field(default_factory=list)  # Marketo ids no longer in Marketo (deleted)
    no_member: list[int] = field(default_factory=list)  # Marketo ids with no member in Salesforce
    failed: dict[str, str] = field(default_factory=dict)  # Marketo id -> why; tried again next time
    pages: int = 0
    more: bool = False  # stopped at max_pages: the next read-back goes on
    marketo_calls: int = 0
    salesforce_calls: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "activities": self.activities, "persons": self.persons, "opted_out": list(self.opted_out),
            "already_opted_out": self.already_opted_out, "resubscribed": list(self.resubscribed),
            "gone": list(self.gone), "no_member": list(self.no_member), "failed": dict(self.failed),
            "pages": self.pages, "more": self.more, "marketo_calls": self.marketo_calls,
            "salesforce_calls": self.salesforce_calls,
        }

    def lines(self) -> list[str]:
        text = [f"Consent read-back: {self.activities} unsubscribe activities in Marketo, "
                f"{len(self.opted_out)} members opted out in Salesforce, {self.already_opted_out} already were"]
        if self.resubscribed:
            text.append(f"  {len(self.resubscribed)} persons re-subscribed in Marketo since: their Salesforce "
                        f"opt-out is left as it is ({_some(self.resubscribed)})")
        if self.no_member:
            text.append(f"  {len(self.no_member)} unsubscribed persons have no member in Salesforce "
                        f"({_some(self.no_member)})")
        for marketo_id, why in list(self.failed.items())[:50]:
            text.append(f"  opt-out of Marketo person {marketo_id} not written (tried again next time): {why}")
        return text


def unsubscribe_reason(activity: dict[str, Any]) -> str | None:
    """Why an activity says the person unsubscribed; None when it is not an unsubscribe."""
    type_id = int(activity.get("activityTypeId") or 0)
    attributes = {a.get("name"): a.get("value") for a in activity.get("attributes") or []}
    if type_id == UNSUBSCRIBE_EMAIL:
        email = activity.get("primaryAttributeValue")
        return f"Unsubscribed from the email '{email}'" if email else "Unsubscribed from an email"
    if type_id == CHANGE_DATA_VALUE:
        if str(activity.get("primaryAttributeValue") or "").strip().lower() != UNSUBSCRIBED_DISPLAY_NAME:
            return None
        if not _true(attributes.get("New Value")):
            return None
        return f"Unsubscribed in Marketo ({attributes.get('Reason') or attributes.get('Source') or 'data value change'})"
    return None


def read_back_unsubscribes(
    client: MarketoClient, sf: SalesforceIO, cache: PushCache, fields: ReadbackFields = ReadbackFields(),
    *, first_since: datetime | None = None, max_pages: int = DEFAULT_MAX_PAGES,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
) -> ReadbackResult:
    """Unsubscribes made in Marketo since the stored token, written to Salesforce (see the module)."""
    result = ReadbackResult()
    marketo_before, sf_before = client.counters().calls, sf.calls
    token, retry = cache.readback_state()
    if token is None:
        token = client.get_paging_token(first_since or now() - DEFAULT_FIRST_LOOKBACK)
    found: dict[int, str] = {int(k): v for k, v in retry.items() if str(k).isdigit()}
    while True:
        page = client.get_activities_page([UNSUBSCRIBE_EMAIL, CHANGE_DATA_VALUE], token)
        result.pages += 1
        token = page.next_token
        for activity in page.items:
            why = unsubscribe_reason(activity)
            if why is not None and activity.get("leadId") is not None:
                result.activities += 1
                found[int(activity["leadId"])] = why
        if not page.more:
            break
        if result.pages >= max_pages:
            result.more = True
            break
    result.persons = len(found)
    if found:
        _write_opt_outs(client, sf, fields, found, result)
    cache.save_readback_state(token, {marketo_id: found[int(marketo_id)] for marketo_id in result.failed})
    result.marketo_calls = client.counters().calls - marketo_before
    result.salesforce_calls = sf.calls - sf_before
    return result


def _write_opt_outs(client: MarketoClient, sf: SalesforceIO, fields: ReadbackFields, found: dict[int, str],
                    result: ReadbackResult) -> None:
    persons = {int(p["id"]): p for p in client.get_leads_by_filter("id", sorted(found), fields=MARKETO_FIELDS)}
    unsubscribed: dict[int, dict[str, Any]] = {}
    for marketo_id in sorted(found):
        person = persons.get(marketo_id)
        if person is None:
            result.gone.append(marketo_id)
        elif not _true(person.get("unsubscribed")):
            result.resubscribed.append(marketo_id)
        else:
            unsubscribed[marketo_id] = person
    if not unsubscribed:
        return
    members = _members(sf, fields, unsubscribed)
    updates: list[dict[str, Any]] = []
    owner: dict[str, int] = {}
    for marketo_id, person in unsubscribed.items():
        matched = members.get(marketo_id, [])
        if not matched:
            result.no_member.append(marketo_id)
        for member in matched:
            if member["Id"] in owner:
                continue
            owner[member["Id"]] = marketo_id
            if _true(member.get(fields.opt_out)):
                result.already_opted_out += 1
                continue
            update: dict[str, Any] = {"Id": member["Id"], fields.opt_out: True}
            if fields.reason:
                text = str(person.get("unsubscribedReason") or found[marketo_id])
                update[fields.reason] = text[:REASON_LENGTH]
            updates.append(update)
    for record_id, ok, error in sf.update(fields.object_name, updates) if updates else []:
        if ok:
            result.opted_out.append(record_id)
        else:
            marketo_id = owner[record_id]
            result.failed[str(marketo_id)] = f"{fields.object_name} {record_id}: {error}"


def _members(sf: SalesforceIO, fields: ReadbackFields, persons: dict[int, dict[str, Any]]
             ) -> dict[int, list[dict[str, Any]]]:
    """The members of each Marketo person: by the written-back Marketo id, else by email."""
    columns = ", ".join(dict.fromkeys(["Id", fields.opt_out, fields.marketo_id, fields.email]))
    base = f"SELECT {columns} FROM {fields.object_name} WHERE "
    matched: dict[int, list[dict[str, Any]]] = {}
    for row in sf.query_in(base + f"{fields.marketo_id} IN ({{ids}})", [str(i) for i in persons]):
        value = str(row.get(fields.marketo_id) or "")
        if value.isdigit() and int(value) in persons:
            matched.setdefault(int(value), []).append(row)
    by_email: dict[str, list[int]] = {}
    for marketo_id, person in persons.items():
        email = str(person.get("email") or "").strip().lower()
        if marketo_id not in matched and email:
            by_email.setdefault(email, []).append(marketo_id)
    if by_email:
        for row in sf.query_in(base + f"{fields.email} IN ({{ids}})", sorted(by_email)):
            for marketo_id in by_email.get(str(row.get(fields.email) or "").strip().lower(), []):
                matched.setdefault(marketo_id, []).append(row)
    return matched


def _true(value: Any) -> bool:
    return value is True or str(value).strip().lower() in TRUE_TEXTS


def _some(ids: Iterable[int], limit: int = 10) -> str:
    listed = list(ids)
    return ", ".join(str(i) for i in listed[:limit]) + (" ..." if len(listed) > limit else "")
