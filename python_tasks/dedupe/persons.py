"""A Marketo person as the dedupe logic sees it, built from a lead record read over REST."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Mapping

from python_tasks.dedupe.keys import normalise_email, normalise_member_key

# Lead fields every dedupe read asks for (the mapping's member key field is added at run time).
PERSON_FIELDS: tuple[str, ...] = (
    "id",
    "email",
    "firstName",
    "lastName",
    "createdAt",
    "updatedAt",
    "sfdcType",
    "sfdcLeadId",
    "sfdcContactId",
    "ecbSupersededBy",
)

CONTACT = "contact"
LEAD = "lead"
MARKETO_ONLY = "marketo_only"
ORIGINS = (CONTACT, LEAD, MARKETO_ONLY)


def parse_marketo_time(value: object) -> datetime | None:
    """Marketo's ``2024-05-01T09:30:00Z`` (or with an offset) as an aware UTC datetime."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


@dataclass(frozen=True)
class Person:
    id: int
    email: str | None
    origin: str
    updated_at: datetime | None
    created_at: datetime | None
    member_key: str | None = None
    superseded_by: int | None = None
    values: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def email_key(self) -> str | None:
        return normalise_email(self.email)

    @property
    def member_key_norm(self) -> str | None:
        return normalise_member_key(self.member_key)

    def describe_origin(self) -> str:
        if self.origin == CONTACT:
            return f"synced with Salesforce contact {self.values.get('sfdcContactId') or '?'}"
        if self.origin == LEAD:
            return f"synced with Salesforce lead {self.values.get('sfdcLeadId') or '?'}"
        return "Marketo-only"


# sfdcType values of a person synced with a Salesforce contact. Marketo's native sync treats a person
# account as a contact (its person contact is sfdcContactId; the account becomes a company), so a
# person account ranks as a contact; the spellings besides "Contact" are accepted for instances that
# name the type after the person account.
CONTACT_TYPES = frozenset({"contact", "person account", "personaccount"})


def origin_of(record: Mapping[str, Any]) -> str:
    """Contact-synced (person accounts too), lead-synced or Marketo-only, from ``sfdcType`` and the sfdc ids."""
    sfdc_type = (record.get("sfdcType") or "").strip().lower()
    if sfdc_type in CONTACT_TYPES or record.get("sfdcContactId"):
        return CONTACT
    if sfdc_type == "lead" or record.get("sfdcLeadId"):
        return LEAD
    return MARKETO_ONLY


def person_from_lead(record: Mapping[str, Any], member_key_field: str | None = None) -> Person:
    superseded = record.get("ecbSupersededBy")
    try:
        superseded_id = int(superseded) if superseded not in (None, "", 0, "0") else None
    except (TypeError, ValueError):
        superseded_id = None
    return Person(
        id=int(record["id"]),
        email=record.get("email"),
        origin=origin_of(record),
        updated_at=parse_marketo_time(record.get("updatedAt")),
        created_at=parse_marketo_time(record.get("createdAt")),
        member_key=record.get(member_key_field) if member_key_field else None,
        superseded_by=superseded_id,
        values=dict(record),
    )
