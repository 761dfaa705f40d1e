"""Pure comparison of what was sent with what Salesforce and Marketo hold. No I/O here.

Inputs are plain rows: the seeding receipt's planned events, Salesforce rows as the REST query API
returns them (field API names), Marketo leads and custom object records as its REST API returns
them. Output: counts and a list of mismatches, record by record.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Iterator

from python_tasks.seed.events import PlannedEvent, latest_valid_events
from python_tasks.seed.schema import PayloadSchema


@dataclass(frozen=True)
class Mismatch:
    check: str  # e.g. salesforce.member.field
    record: str  # member key, order number, event id or email
    message: str
    field: str | None = None
    expected: Any = None
    actual: Any = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DuplicateScenarioPerson:
    """A Marketo-only person seeded before its shopper registered, and its activities at that time."""

    member_key: str
    email: str
    person_id: int
    activity_ids: list[int] = field(default_factory=list)
    crm_person_id: int | None = None  # the person the CRM sync created for the same shopper, if any


@dataclass
class SalesforceSnapshot:
    members: list[dict[str, Any]]  # member rows whose key is one of the run's keys (or invalid keys)
    members_by_email: list[dict[str, Any]]  # member rows whose email is one of the run's emails
    orders: list[dict[str, Any]]
    lines: list[dict[str, Any]]
    ingest_errors: list[dict[str, Any]]


@dataclass
class MarketoSnapshot:
    leads: list[dict[str, Any]]  # every lead whose email is one of the run's emails
    custom_objects: dict[str, list[dict[str, Any]]]  # api name -> records of the run's orders
    persons_by_id: dict[int, dict[str, Any] | None]  # the duplicate scenario's old persons, looked up by id
    activities: list[dict[str, Any]]  # activities of the winners and old persons since the seeding


@dataclass
class Comparison:
    counts: dict[str, int] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    def add(self, check: str, record: str, message: str, **details: Any) -> None:
        self.mismatches.append(Mismatch(check, record, message, **details))

    def bump(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    @property
    def ok(self) -> bool:
        return not self.mismatches


# ---------------------------------------------------------------- value normalisation
def normalise_email(value: Any) -> str:
    """Trim, lower case, full-width to half-width (NFKC): how ECBridge decides two emails are one."""
    return unicodedata.normalize("NFKC", str(value or "")).strip().lower()


def _datetime(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":  # Salesforce's +0000
            text = text[:-2] + ":" + text[-2:]
        parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def normalise(value: Any, type_: str, *, datetime_precision: str = "seconds") -> Any:
    """A comparable form of `value` for a mapping type; unparsable values are kept as text.

    Datetimes compare in UTC to the second: the EC site sends whole seconds, the generated Apex keeps
    whole seconds, and Marketo's datetime fields hold whole seconds.
    """
    if value in (None, ""):
        return None
    try:
        if type_ == "datetime":
            moment = _datetime(value)
            assert moment is not None
            if datetime_precision == "seconds":
                return moment.replace(microsecond=0).isoformat()
            return moment.replace(microsecond=(moment.microsecond // 1000) * 1000).isoformat()
        if type_ == "date":
            return str(value)[:10]
        if type_ in ("currency", "integer", "number", "decimal", "double", "percent"):
            return Decimal(str(value)).normalize()
        if type_ in ("boolean", "checkbox"):
            return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1")
        if type_ == "email":
            return normalise_email(value)
    except (ValueError, InvalidOperation, AssertionError):
        return f"<unparsable {type_}: {value!r}>"
    return str(value)


# ---------------------------------------------------------------- Salesforce side
def _line_number(line_key: str) -> int:
    try:
        return int(str(line_key).rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0


def _latest_of_type(
    latest: dict[tuple[str, str], PlannedEvent], event_type: str
) -> Iterator[tuple[str, PlannedEvent]]:
    """(key, newest valid event) for each record of one event type, in key order."""
    for (kind, key), planned in sorted(latest.items()):
        if kind == event_type:
            yield key, planned


def _found_once(
    result: Comparison, check: str, counter: str, key: str, rows: list[dict[str, Any]], missing: str, shared: str
) -> dict[str, Any] | None:
    """The record a key should name exactly once: counted as expected and found, reported ``{check}.missing``
    (message ``missing``) or ``{check}.twice`` (message "<how many> ``shared``"); answers the first row."""
    result.bump(f"{counter} expected")
    if not rows:
        result.add(f"{check}.missing", key, missing)
        return None
    if len(rows) > 1:
        result.add(f"{check}.twice", key, f"{len(rows)} {shared}")
    result.bump(f"{counter} found")
    return rows[0]


def compare_salesforce(
    events: list[PlannedEvent], sf: SalesforceSnapshot, schema: PayloadSchema, result: Comparison
) -> dict[str, dict[str, Any]]:
    """Every valid event in Salesforce with the newest data, every invalid one logged; returns members by key."""
    latest = latest_valid_events(events)
    key_field = schema.sf_member_field(schema.member_key)
    email_field = schema.sf_member_field(schema.member_email)
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sf.members:
        members[str(row.get(key_field))].append(row)
    orders: dict[str, list[dict[str, Any]]] = defaultdict(list)
    order_key_field = schema.sf_order_field(schema.order_key)
    for row in sf.orders:
        orders[str(row.get(order_key_field))].append(row)
    lines: dict[str, dict[str, Any]] = {str(row.get(schema.line_key_field)): row for row in sf.lines}
    lines_by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sf.lines:
        lines_by_order[str(row.get(schema.line_order_lookup))].append(row)

    member_by_key: dict[str, dict[str, Any]] = {}
    for key, planned in _latest_of_type(latest, "member"):
        where = f"{key_field} = {key}"
        member_row = _found_once(result, "salesforce.member", "members", key, members.get(key, []),
                                 f"no {schema.member_object} with {where}",
                                 f"{schema.member_object} records share {where}")
        if member_row is None:
            continue
        member_by_key[key] = member_row
        _compare_fields(result, "salesforce.member.field", key, planned.event.data, member_row, schema.member_fields)
        if schema.person_account and not (member_row.get("IsPersonAccount") is True and member_row.get("PersonContactId")):
            result.add("salesforce.member.not-person-account", key, f"{where} is not a person account with its person contact",
                       field="IsPersonAccount", expected=True, actual=member_row.get("IsPersonAccount"))

    emails: dict[str, set[str]] = defaultdict(set)
    for row in sf.members_by_email:
        emails[normalise_email(row.get(email_field))].add(str(row.get("Id")))
    for key, row in member_by_key.items():
        email = normalise_email(row.get(email_field))
        if len(emails.get(email, ())) > 1:
            result.add(
                "salesforce.member.email-twice", key, f"{len(emails[email])} members share the email {email}",
                field=email_field, expected=1, actual=len(emails[email]),
            )

    lookup = schema.order_member_lookup
    for number, planned in _latest_of_type(latest, "order"):
        where = f"{order_key_field} = {number}"
        order_row = _found_once(result, "salesforce.order", "orders", number, orders.get(number, []),
                                f"no {schema.order_object} with {where}", f"orders share {where}")
        if order_row is None:
            continue
        data = planned.event.data
        _compare_fields(result, "salesforce.order.field", number, data, order_row, schema.order_fields)
        member = member_by_key.get(str(data.get(schema.order_member_key)))
        if member is None:
            result.add("salesforce.order.member-missing", number, f"its member {data.get(schema.order_member_key)} is not in Salesforce")
        elif str(order_row.get(lookup) or "")[:15] != str(member.get("Id"))[:15]:
            result.add(
                "salesforce.order.not-attached", number, "the order is not attached to its member",
                field=lookup, expected=member.get("Id"), actual=order_row.get(lookup),
            )
        else:
            result.bump("orders attached")
        expected_lines = data.get(schema.line_source) or []
        actual_lines = lines_by_order.get(str(order_row.get("Id")), [])
        if len(actual_lines) != len(expected_lines):
            result.add(
                "salesforce.order.lines", number, "the order has a different number of lines",
                field=schema.line_object, expected=len(expected_lines), actual=len(actual_lines),
            )
        for position, line in enumerate(expected_lines, start=1):
            line_key = f"{number}-{position}"
            result.bump("lines expected")
            line_row = lines.get(line_key)
            if line_row is None:
                result.add("salesforce.line.missing", line_key, f"no {schema.line_object} with {schema.line_key_field} = {line_key}")
                continue
            result.bump("lines found")
            _compare_fields(result, "salesforce.line.field", line_key, line, line_row, schema.line_fields)
        if schema.order_last_product_name and expected_lines:
            expected_name = expected_lines[-1].get("productName")
            if order_row.get(schema.order_last_product_name) != expected_name:
                result.add(
                    "salesforce.order.field", number, "the last product name is not the last line's product",
                    field=schema.order_last_product_name, expected=expected_name, actual=order_row.get(schema.order_last_product_name),
                )

    errors_by_event: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in sf.ingest_errors:
        errors_by_event[str(row.get("Event_Id__c"))].append(row)
    for planned in events:
        if planned.valid:
            continue
        event_id = planned.event.id
        result.bump("invalid events expected")
        logged = errors_by_event.get(event_id, [])
        if not logged:
            result.add("salesforce.invalid.not-logged", event_id, "the rejected event is not in EC_Ingest_Error__c")
        else:
            result.bump("invalid events logged")
            codes = {(row.get("Error_Code__c"), row.get("Field__c")) for row in logged}
            if (planned.expected_code, planned.expected_field) not in codes:
                result.add(
                    "salesforce.invalid.reason", event_id, "the logged reason is not the expected one",
                    field="Error_Code__c/Field__c", expected=f"{planned.expected_code} on {planned.expected_field}",
                    actual=", ".join(f"{code} on {fld}" for code, fld in sorted(codes, key=str)),
                )
            if not any(row.get("Payload__c") for row in logged):
                result.add("salesforce.invalid.payload", event_id, "the logged error keeps no payload to replay")
            if not any(str(row.get("Reason__c") or "").strip() for row in logged):
                result.add("salesforce.invalid.reason-text", event_id, "the logged error says no reason")
        if planned.event.type == "member" and planned.key in members:
            result.add("salesforce.invalid.stored", event_id, f"the rejected member {planned.key} was stored anyway")
        if planned.event.type == "order" and planned.key in orders:
            result.add("salesforce.invalid.stored", event_id, f"the rejected order {planned.key} was stored anyway")
    return member_by_key


def _compare_fields(
    result: Comparison, check: str, record: str, data: dict[str, Any], row: dict[str, Any], fields: dict[str, Any]
) -> None:
    for name, spec in fields.items():
        if name not in data:
            continue
        expected = normalise(data[name], spec.type)
        actual = normalise(row.get(spec.sf_field), spec.type)
        if expected != actual:
            result.add(check, record, f"{spec.sf_field} differs from the event's {name}",
                       field=spec.sf_field, expected=data[name], actual=row.get(spec.sf_field))


# ---------------------------------------------------------------- Marketo side
def _sf_types(schema: PayloadSchema) -> dict[str, str]:
    """Salesforce field API name -> mapping type, for member, order and line fields."""
    types: dict[str, str] = {}
    for fields in (schema.member_fields, schema.order_fields, schema.line_fields):
        for spec in fields.values():
            types[spec.sf_field.lower()] = spec.type
    types.setdefault((schema.order_last_product_name or "").lower(), "string")
    return types


def _source_value(
    source: str, member: dict[str, Any], last_order: dict[str, Any] | None
) -> tuple[bool, Any]:
    scope, _, field_name = source.partition(".")
    if scope == "member":
        return True, member.get(field_name)
    if scope == "last_order":
        return (last_order is not None), (last_order or {}).get(field_name)
    return False, None


def compare_marketo(
    member_by_key: dict[str, dict[str, Any]],
    sf: SalesforceSnapshot,
    mkto: MarketoSnapshot,
    schema: PayloadSchema,
    duplicates: Iterable[DuplicateScenarioPerson],
    result: Comparison,
) -> None:
    """Every member and order reached Marketo with the Salesforce values; one person per email; merges kept history."""
    types = _sf_types(schema)
    email_field = schema.sf_member_field(schema.member_email)
    date_field = next((spec.sf_field for spec in schema.order_fields.values() if spec.type == "datetime"), None)
    leads_by_email: dict[str, list[dict[str, Any]]] = defaultdict(list)
    seen_ids: set[Any] = set()
    for lead in mkto.leads:
        if lead.get("id") in seen_ids:
            continue  # one person read twice is still one person
        seen_ids.add(lead.get("id"))
        if lead.get("ecbSupersededBy"):  # the dedupe task's "mark" policy: kept, excluded, routed to the winner
            result.bump("persons marked as superseded")
            continue
        leads_by_email[normalise_email(lead.get("email"))].append(lead)
    orders_by_member: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in sf.orders:
        if order.get(schema.order_member_lookup):
            orders_by_member[str(order[schema.order_member_lookup])[:15]].append(order)
    write_back_id = schema.write_back.get("marketo_id")

    lead_by_member: dict[str, dict[str, Any]] = {}
    for key, member in sorted(member_by_key.items()):
        result.bump("persons expected")
        email = normalise_email(member.get(email_field))
        leads = leads_by_email.get(email, [])
        if not leads:
            result.add("marketo.person.missing", key, f"no Marketo person with email {email}")
            continue
        if len(leads) > 1:
            result.add(
                "marketo.person.twice", key, f"{len(leads)} Marketo persons share the email {email}",
                field="email", expected=1, actual=sorted(int(lead["id"]) for lead in leads),
            )
        lead = leads[0]
        result.bump("persons found")
        lead_by_member[str(member.get("Id"))[:15]] = lead
        member_orders = orders_by_member.get(str(member.get("Id"))[:15], [])
        last_order = max(member_orders, key=lambda order: _datetime(order.get(date_field)) or dt.datetime.min.replace(tzinfo=dt.timezone.utc)) if member_orders and date_field else None
        for lead_field, source in schema.marketo_lead_fields.items():
            present, value = _source_value(source, member, last_order)
            if not present:
                continue
            sf_type = types.get(source.partition(".")[2].lower(), "string")
            expected = normalise(value, sf_type, datetime_precision="seconds")
            actual = normalise(lead.get(lead_field), sf_type, datetime_precision="seconds")
            if expected != actual:
                result.add("marketo.person.field", key, f"Marketo {lead_field} differs from Salesforce {source}",
                           field=lead_field, expected=value, actual=lead.get(lead_field))
        if write_back_id and str(member.get(write_back_id) or "") != str(lead.get("id")):
            result.add("salesforce.member.write-back", key, "the member's Marketo id is not the Marketo person's id",
                       field=write_back_id, expected=lead.get("id"), actual=member.get(write_back_id))

    lines_by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for line in sf.lines:
        lines_by_order[str(line.get(schema.line_order_lookup))[:15]].append(line)
    for api_name, spec in schema.marketo_custom_objects.items():
        dedupe_field = spec.get("dedupe_field", "orderNumber")
        link = spec.get("link") or {}
        records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in mkto.custom_objects.get(api_name, []):
            records[str(record.get(dedupe_field))].append(record)
        order_key_field = schema.sf_order_field(schema.order_key)
        for order in sf.orders:
            number = str(order.get(order_key_field))
            lead = lead_by_member.get(str(order.get(schema.order_member_lookup) or "")[:15])
            if lead is None:
                continue  # the member is missing in Marketo: reported above
            where = f"{dedupe_field} = {number}"
            record = _found_once(result, f"marketo.{api_name}", api_name, number, records.get(number, []),
                                 f"no {api_name} record with {where}", f"{api_name} records share {where}")
            if record is None:
                continue
            if write_back_id and record.get("marketoGUID") and str(order.get(write_back_id) or "") != str(record["marketoGUID"]):
                result.add("salesforce.order.write-back", number, "the order's Marketo id is not its custom object record's",
                           field=write_back_id, expected=record["marketoGUID"], actual=order.get(write_back_id))
            if link.get("field") and str(record.get(link["field"])) != str(lead.get(link.get("lead_field", "id"))):
                result.add(f"marketo.{api_name}.link", number, "the record is linked to another person",
                           field=link["field"], expected=lead.get(link.get("lead_field", "id")), actual=record.get(link["field"]))
            order_lines = sorted(lines_by_order.get(str(order.get("Id"))[:15], []), key=lambda line: _line_number(line.get(schema.line_key_field)))
            for co_field, co_spec in (spec.get("fields") or {}).items():
                source = str(co_spec.get("from"))
                aggregate = co_spec.get("aggregate")
                scope, _, field_name = source.partition(".")
                if scope == "order":
                    value: Any = order.get(field_name)
                    sf_type = types.get(field_name.lower(), "string")
                elif scope == "lines" and aggregate == "count":
                    value, sf_type = len(order_lines), "integer"
                elif scope == "lines" and aggregate == "join":
                    separator = str(co_spec.get("separator", ", "))
                    value, sf_type = separator.join(str(line.get(field_name) or "") for line in order_lines), "string"
                else:
                    continue
                expected = normalise(value, sf_type, datetime_precision="seconds")
                actual = normalise(record.get(co_field), sf_type, datetime_precision="seconds")
                if expected != actual:
                    result.add(f"marketo.{api_name}.field", number, f"Marketo {co_field} differs from Salesforce {source}",
                               field=co_field, expected=value, actual=record.get(co_field))

    activity_ids_by_lead: dict[int, set[int]] = defaultdict(set)
    for activity in mkto.activities:
        activity_ids_by_lead[int(activity.get("leadId") or 0)].add(int(activity.get("id") or 0))
    all_activity_ids = {int(activity.get("id") or 0) for activity in mkto.activities}
    for person in duplicates:
        result.bump("duplicate-scenario persons")
        still_there = mkto.persons_by_id.get(person.person_id)
        survivors = leads_by_email.get(normalise_email(person.email), [])
        survivor_ids = sorted(int(lead["id"]) for lead in survivors)
        marked = bool(still_there and still_there.get("ecbSupersededBy"))
        if person.crm_person_id is None and survivor_ids == [person.person_id]:
            result.bump("duplicate-scenario persons kept as the one person")  # prevented: push updated it
        elif person.crm_person_id is not None and survivor_ids and person.crm_person_id not in survivor_ids:
            result.add("marketo.duplicate.wrong-winner", person.email,
                       "the CRM-synced person did not survive (the winner rule prefers it)",
                       expected=person.crm_person_id, actual=survivor_ids)
            continue
        elif still_there is not None and not marked:
            result.add("marketo.duplicate.not-merged", person.email,
                       f"the Marketo-only person {person.person_id} is still a separate person",
                       expected="merged", actual=f"person {person.person_id} present")
            continue
        elif not survivors:
            result.add("marketo.duplicate.lost", person.email,
                       f"the Marketo-only person {person.person_id} is gone and no person has its email")
            continue
        else:
            result.bump("duplicate-scenario persons merged" if not marked else "duplicate-scenario persons marked")
        missing = [activity for activity in person.activity_ids if activity not in all_activity_ids]
        if missing:
            result.add("marketo.duplicate.history-lost", person.email,
                       f"{len(missing)} activities of person {person.person_id} are gone",
                       field="activities", expected=person.activity_ids, actual=sorted(set(person.activity_ids) - set(missing)))
        else:
            result.bump("duplicate-scenario histories kept")


def compare_all(
    events: list[PlannedEvent],
    sf: SalesforceSnapshot,
    mkto: MarketoSnapshot | None,
    schema: PayloadSchema,
    duplicates: Iterable[DuplicateScenarioPerson] = (),
) -> Comparison:
    result = Comparison()
    member_by_key = compare_salesforce(events, sf, schema, result)
    if mkto is not None:
        compare_marketo(member_by_key, sf, mkto, schema, duplicates, result)
    return result
