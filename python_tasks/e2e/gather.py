"""Read what Salesforce and Marketo hold for one seeding run (standard REST calls only), counting the calls."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

from python_tasks.seed.events import PlannedEvent
from python_tasks.seed.receipt import Receipt
from python_tasks.seed.schema import PayloadSchema

from .compare import DuplicateScenarioPerson, MarketoSnapshot, SalesforceSnapshot, normalise_email

IN_CHUNK = 200  # values per SOQL IN (...) list: keeps the query well under the URI and SOQL limits
HISTORY_ACTIVITY_NAMES = ("New Lead", "Fill Out Form", "Change Data Value", "Merge Leads")


@dataclass
class SalesforceReader:
    """SOQL through simple-salesforce (`sf.query` / `sf.query_more`), one page per counted call."""

    sf: Any
    calls: int = 0

    def query(self, soql: str) -> list[dict[str, Any]]:
        page = self.sf.query(soql)
        self.calls += 1
        records = list(page["records"])
        while not page.get("done", True):
            page = self.sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
            self.calls += 1
            records.extend(page["records"])
        return records

    def query_in(self, select: str, field_name: str, values: Iterable[str]) -> list[dict[str, Any]]:
        unique = sorted({str(value) for value in values if value not in (None, "")})
        rows: list[dict[str, Any]] = []
        for start in range(0, len(unique), IN_CHUNK):
            quoted = ", ".join(_quote(value) for value in unique[start : start + IN_CHUNK])
            rows.extend(self.query(f"{select} WHERE {field_name} IN ({quoted})"))
        return rows

    def daily_api_requests(self) -> dict[str, int] | None:
        try:
            limits = self.sf.limits()
        except Exception:  # noqa: BLE001 - the figure is informative; its absence is reported as None
            return None
        self.calls += 1
        daily = limits.get("DailyApiRequests") or {}
        if "Max" not in daily:
            return None
        return {"max": int(daily["Max"]), "remaining": int(daily["Remaining"]), "used": int(daily["Max"]) - int(daily["Remaining"])}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _select(fields: Iterable[str | None], object_name: str) -> str:
    unique: list[str] = []
    for name in fields:
        if name and name.lower() not in {existing.lower() for existing in unique}:
            unique.append(name)
    return f"SELECT {', '.join(unique)} FROM {object_name}"


PERSON_FIELDS = ("IsPersonAccount", "PersonContactId")  # a Person Account member: is each one, with its person contact


def _also_select(select: str, fields: Iterable[str]) -> str:
    """``SELECT a FROM X`` selecting more fields: ``SELECT a, b, c FROM X``."""
    head, sep, tail = select.partition(" FROM ")
    return f"{head}, {', '.join(fields)}{sep}{tail}"


def read_salesforce(reader: SalesforceReader, events: list[PlannedEvent], schema: PayloadSchema) -> SalesforceSnapshot:
    member_keys = {p.key for p in events if p.event.type == "member"}
    order_keys = {p.key for p in events if p.event.type == "order"}
    emails = {normalise_email(p.event.data.get(schema.member_email)) for p in events if p.valid and p.event.type == "member"}
    key_field = schema.sf_member_field(schema.member_key)
    email_field = schema.sf_member_field(schema.member_email)
    member_select = _select(
        ["Id", *(spec.sf_field for spec in schema.member_fields.values()), schema.last_event_at, *schema.write_back.values(),
         schema.consent.get("opted_out"), schema.consent.get("reason")],
        schema.member_object,
    )
    members = reader.query_in(_also_select(member_select, PERSON_FIELDS) if schema.person_account else member_select,
                              key_field, member_keys)
    members_by_email = reader.query_in(_select(["Id", key_field, email_field], schema.member_object), email_field, emails)
    order_select = _select(
        ["Id", schema.order_member_lookup, schema.order_last_product_name, schema.last_event_at,
         *(spec.sf_field for spec in schema.order_fields.values()), *schema.write_back.values()],
        schema.order_object,
    )
    orders = reader.query_in(order_select, schema.sf_order_field(schema.order_key), order_keys)
    line_select = _select(
        ["Id", schema.line_order_lookup, schema.line_key_field, *(spec.sf_field for spec in schema.line_fields.values())],
        schema.line_object,
    )
    lines = reader.query_in(line_select, schema.line_order_lookup, [row["Id"] for row in orders])
    invalid_ids = [p.event.id for p in events if not p.valid]
    errors = reader.query_in(
        _select(["Id", "Event_Id__c", "Event_Type__c", "Error_Code__c", "Field__c", "Reason__c", "Payload__c"], schema.ingest_error_object),
        "Event_Id__c",
        invalid_ids,
    )
    return SalesforceSnapshot(members=members, members_by_email=members_by_email, orders=orders, lines=lines, ingest_errors=errors)


def duplicate_scenario(receipt: Receipt) -> list[DuplicateScenarioPerson]:
    crm = {record["memberKey"]: int(record["personId"]) for record in receipt.marketo if record.get("role") == "crm-synced"}
    return [
        DuplicateScenarioPerson(
            member_key=record["memberKey"],
            email=record["email"],
            person_id=int(record["personId"]),
            activity_ids=[int(a) for a in record.get("activityIds") or []],
            crm_person_id=crm.get(record["memberKey"]),
        )
        for record in receipt.marketo
        if record.get("role") == "marketo-only"
    ]


@dataclass
class MarketoReadout:
    snapshot: MarketoSnapshot
    notes: list[str] = field(default_factory=list)


def read_marketo(
    client: Any,
    snapshot_sf: SalesforceSnapshot,
    schema: PayloadSchema,
    duplicates: list[DuplicateScenarioPerson],
    since: dt.datetime,
) -> MarketoReadout:
    notes: list[str] = []
    email_field = schema.sf_member_field(schema.member_email)
    emails = {str(row.get(email_field)) for row in snapshot_sf.members if row.get(email_field)}
    emails |= {person.email for person in duplicates}
    available = {str(f.get("name")) for f in (client.describe2().get("fields") or [])}
    wanted = ["id", "email", *schema.marketo_lead_fields, "ecbSupersededBy", "sfdcType", "sfdcContactId", "updatedAt",
              *(schema.consent.get(name) for name in ("unsubscribed", "unsubscribed_reason") if schema.consent.get(name))]
    fields = [name for name in dict.fromkeys(wanted) if name in available or name in ("id", "email")]
    if "ecbSupersededBy" not in available:
        notes.append("the lead schema has no ecbSupersededBy field: the mark policy cannot be seen")
    # An email asked for twice (as typed and lower-cased) can bring one person back twice, from two
    # filter calls: keep each person once.
    leads = list({int(lead["id"]): lead for lead in client.get_leads_by_filter("email", sorted(emails), fields=fields)}.values())
    custom_objects: dict[str, list[dict[str, Any]]] = {}
    order_key_field = schema.sf_order_field(schema.order_key)
    numbers = sorted(str(row.get(order_key_field)) for row in snapshot_sf.orders)
    for api_name, spec in schema.marketo_custom_objects.items():
        co_fields = ["marketoGUID", spec.get("dedupe_field", "orderNumber"), *(spec.get("fields") or {})]
        link_field = (spec.get("link") or {}).get("field")
        if link_field:
            co_fields.append(link_field)
        custom_objects[api_name] = list(
            client.get_custom_objects(api_name, spec.get("dedupe_field", "orderNumber"), numbers, fields=list(dict.fromkeys(co_fields)))
        ) if numbers else []
    old_ids = [person.person_id for person in duplicates]
    persons_by_id: dict[int, dict[str, Any] | None] = {person_id: None for person_id in old_ids}
    if old_ids:
        for lead in client.get_leads_by_filter("id", old_ids, fields=fields):
            persons_by_id[int(lead["id"])] = lead
    activities: list[dict[str, Any]] = []
    lead_ids = sorted(set(old_ids) | {int(lead["id"]) for lead in leads
                                      if normalise_email(lead.get("email")) in {normalise_email(p.email) for p in duplicates}})
    if lead_ids:
        type_ids = [int(t["id"]) for t in client.get_activity_types() if t.get("name") in HISTORY_ACTIVITY_NAMES]
        if type_ids:
            token = client.get_paging_token(since)
            activities = list(client.get_activities(type_ids, token, lead_ids=lead_ids))
    return MarketoReadout(MarketoSnapshot(leads=leads, custom_objects=custom_objects, persons_by_id=persons_by_id, activities=activities), notes)
