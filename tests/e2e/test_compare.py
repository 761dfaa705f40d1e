"""The comparison logic with in-memory inputs: a consistent world passes, every kind of break is caught."""
from __future__ import annotations

import copy
import datetime as dt
import random
from pathlib import Path

import pytest

from python_tasks.e2e.compare import (
    DuplicateScenarioPerson,
    MarketoSnapshot,
    SalesforceSnapshot,
    compare_all,
    normalise,
)
from python_tasks.seed.events import build_events, latest_valid_events
from python_tasks.seed.invalid import build_invalid_events
from python_tasks.seed.recipe import run_recipe
from python_tasks.seed.schema import load_payload_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def schema():
    return load_payload_schema(ROOT / "ecbridge.yml")


@pytest.fixture(scope="module")
def events(schema):
    rng = random.Random(7)
    data = run_recipe(options={"members": 12, "run_id": "C1", "orders_per_member": 2, "register_and_buy_share": 0.5})
    valid = build_events(data, schema, run_id="C1", update_share=0.8, rng=rng).events
    return valid + build_invalid_events(valid, schema, run_id="C1", count=9, rng=rng)


def sf_datetime(iso: str) -> str:
    """How Salesforce's REST API writes a datetime: 2026-10-02T02:39:51.000+0000 (UTC)."""
    moment = dt.datetime.fromisoformat(iso).astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def marketo_datetime(sf_value: str) -> str:
    """How Marketo writes a datetime: 2026-10-02T02:39:51Z."""
    return sf_value[:19] + "Z"


def perfect_world(events, schema):
    """What Salesforce and Marketo hold when ECBridge did everything right."""
    latest = latest_valid_events(events)
    members, orders, lines, leads, cos = [], [], [], [], []
    member_ids = {}
    for (kind, key), planned in sorted(latest.items()):
        if kind != "member":
            continue
        row = {"Id": f"003C1{len(members):010d}AAA", "Marketo_Id__c": str(1000 + len(members))}
        for name, spec in schema.member_fields.items():
            if name in planned.event.data:
                row[spec.sf_field] = planned.event.data[name]
        member_ids[key] = row
        members.append(row)
    last_order = {}
    for (kind, number), planned in sorted(latest.items()):
        if kind != "order":
            continue
        data = planned.event.data
        row = {"Id": f"a01C1{len(orders):010d}AAA", "Member__c": member_ids[data["memberId"]]["Id"]}
        for name, spec in schema.order_fields.items():
            value = data.get(name)
            row[spec.sf_field] = sf_datetime(value) if spec.type == "datetime" else value
        row["Last_Product_Name__c"] = data["lines"][-1]["productName"]
        orders.append(row)
        for position, line in enumerate(data["lines"], start=1):
            line_row = {"Id": f"a02C1{len(lines):010d}AAA", "Order__c": row["Id"], "Line_Key__c": f"{number}-{position}"}
            for name, spec in schema.line_fields.items():
                line_row[spec.sf_field] = line.get(name)
            lines.append(line_row)
        current = last_order.get(data["memberId"])
        if current is None or row["Order_Date__c"] > current["Order_Date__c"]:
            last_order[data["memberId"]] = row
        cos.append({
            "marketoGUID": f"g{len(cos)}", "orderNumber": number, "leadId": None, "memberKey": data["memberId"],
            "orderDate": marketo_datetime(sf_datetime(data["orderDate"])), "totalAmount": float(data["totalAmount"]),
            "productNames": ", ".join(line["productName"] for line in data["lines"]),
            "status": data["status"], "lineCount": len(data["lines"]),
        })
    for key, row in member_ids.items():
        order = last_order.get(key)
        lead = {
            "id": int(row["Marketo_Id__c"]), "email": row["Email"], "firstName": row.get("FirstName"),
            "lastName": row["LastName"], "phone": row.get("Phone"), "ecMemberId": key,
            "lastOrderNumber": order and order["Order_Number__c"],
            "lastOrderDate": order and marketo_datetime(order["Order_Date__c"]),
            "lastProductName": order and order["Last_Product_Name__c"],
            "lastOrderTotal": order and order["Total_Amount__c"],
        }
        leads.append(lead)
    lead_by_key = {lead["ecMemberId"]: lead for lead in leads}
    for record in cos:
        record["leadId"] = lead_by_key[record.pop("memberKey")]["id"]
    for order, record in zip(orders, cos):
        order["Marketo_Id__c"] = record["marketoGUID"]
    errors = [
        {"Event_Id__c": p.event.id, "Error_Code__c": p.expected_code, "Field__c": p.expected_field,
         "Reason__c": "bad", "Payload__c": "{}"}
        for p in events if not p.valid
    ]
    sf = SalesforceSnapshot(members=members, members_by_email=list(members), orders=orders, lines=lines, ingest_errors=errors)
    old = DuplicateScenarioPerson(member_key=members[0]["EC_Member_Id__c"], email=members[0]["Email"].upper(), person_id=9001, activity_ids=[501, 502], crm_person_id=1000)
    mkto = MarketoSnapshot(
        leads=leads, custom_objects={"ecOrder_c": cos}, persons_by_id={9001: None},
        activities=[{"id": 501, "leadId": leads[0]["id"]}, {"id": 502, "leadId": leads[0]["id"]}, {"id": 777, "leadId": leads[0]["id"]}],
    )
    return sf, mkto, [old]


def test_a_consistent_world_passes_with_full_counts(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    result = compare_all(events, sf, mkto, schema, dups)
    assert result.mismatches == []
    assert result.counts["members expected"] == result.counts["members found"] == 12
    assert result.counts["orders attached"] == result.counts["orders expected"] > 0
    assert result.counts["invalid events logged"] == 9
    assert result.counts["persons found"] == 12
    assert result.counts["ecOrder_c found"] == result.counts["orders expected"]
    assert result.counts["duplicate-scenario histories kept"] == 1


def checks(result) -> set[str]:
    return {mismatch.check for mismatch in result.mismatches}


def test_a_missing_member_an_unattached_order_and_a_changed_field_are_each_reported(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    # The recipe's data is random, so pick the broken records by their links, not by position:
    # the detached order and the changed order must belong to members that are still there.
    gone = sf.members.pop(3)
    kept_orders = [order for order in sf.orders if order["Member__c"] != gone["Id"]]
    assert len(kept_orders) >= 2, "the recipe gives the other members at least two orders"
    detached, changed_order = kept_orders[0], kept_orders[1]
    detached["Member__c"] = None
    changed_order["Total_Amount__c"] = changed_order["Total_Amount__c"] + 1
    result = compare_all(events, sf, mkto, schema, dups)
    assert {"salesforce.member.missing", "salesforce.order.not-attached", "salesforce.order.field"} <= checks(result)
    missing = next(m for m in result.mismatches if m.check == "salesforce.member.missing")
    assert missing.record == gone["EC_Member_Id__c"]
    not_attached = next(m for m in result.mismatches if m.check == "salesforce.order.not-attached")
    assert not_attached.record == detached["Order_Number__c"] and not_attached.actual is None
    changed = next(m for m in result.mismatches if m.check == "salesforce.order.field")
    assert changed.record == changed_order["Order_Number__c"]
    assert changed.field == "Total_Amount__c" and changed.actual == changed.expected + 1


def test_a_stale_value_winning_over_the_newest_event_is_reported(events, schema) -> None:
    update = next(p for p in events if p.scenario == "member-update")
    first = next(p for p in events if p.event.id == update.event.id[:-1] + "1")
    sf, mkto, dups = perfect_world(events, schema)
    row = next(r for r in sf.members if r["EC_Member_Id__c"] == update.key)
    changed = [n for n in update.event.data if update.event.data[n] != first.event.data.get(n)]
    assert changed, "the update changes something"
    spec = schema.member_fields[changed[0]]
    row[spec.sf_field] = first.event.data[changed[0]]
    result = compare_all(events, sf, mkto, schema, dups)
    assert {m.record for m in result.mismatches} == {update.key}
    stale = [m for m in result.mismatches if m.check == "salesforce.member.field"]
    assert [(m.field, m.expected, m.actual) for m in stale] == [
        (spec.sf_field, update.event.data[changed[0]], first.event.data[changed[0]])
    ]


def test_doubles_in_salesforce_are_reported(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    twin = dict(sf.members[2], Id="003C1TWIN00000AAA", EC_Member_Id__c="other-key")
    sf.members_by_email.append(twin)
    sf.orders.append(dict(sf.orders[0], Id="a01C1TWIN00000AAA"))
    result = compare_all(events, sf, mkto, schema, dups)
    assert {"salesforce.member.email-twice", "salesforce.order.twice"} <= checks(result)


def test_a_person_account_member_that_is_not_a_person_account_is_reported(events, schema) -> None:
    import dataclasses

    person_schema = dataclasses.replace(schema, person_account=True)
    sf, mkto, dups = perfect_world(events, schema)
    for number, row in enumerate(sf.members):
        row.update(IsPersonAccount=True, PersonContactId=f"003PC{number:010d}AAA")
    assert compare_all(events, sf, mkto, person_schema, dups).mismatches == []
    business = sf.members[1]
    business.update(IsPersonAccount=False, PersonContactId=None)
    result = compare_all(events, sf, mkto, person_schema, dups)
    assert [(m.check, m.record, m.field) for m in result.mismatches] == [
        ("salesforce.member.not-person-account", business["EC_Member_Id__c"], "IsPersonAccount")]
    assert compare_all(events, sf, mkto, schema, dups).mismatches == [], "a Contact member has no such check"


def test_invalid_events_not_logged_or_with_the_wrong_reason_are_reported(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    sf.ingest_errors.pop(0)
    sf.ingest_errors[0]["Error_Code__c"] = "SOMETHING_ELSE"
    result = compare_all(events, sf, mkto, schema, dups)
    assert checks(result) == {"salesforce.invalid.not-logged", "salesforce.invalid.reason"}


def test_marketo_differences_are_reported_record_by_record(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    buyer = next(lead for lead in mkto.leads if lead["lastProductName"])
    buyer["lastProductName"] = "違う商品"
    mkto.leads.append(dict(mkto.leads[2], id=5555, email=mkto.leads[2]["email"].upper()))  # a second person, same email
    mkto.custom_objects["ecOrder_c"].pop(0)
    mkto.custom_objects["ecOrder_c"][0]["lineCount"] += 1
    mkto.custom_objects["ecOrder_c"][1]["leadId"] = 42
    result = compare_all(events, sf, mkto, schema, dups)
    assert {
        "marketo.person.field", "marketo.person.twice", "marketo.ecOrder_c.missing",
        "marketo.ecOrder_c.field", "marketo.ecOrder_c.link",
    } <= checks(result)
    field = next(m for m in result.mismatches if m.check == "marketo.person.field")
    assert field.field == "lastProductName" and field.actual == "違う商品"


def test_marketo_datetimes_compare_to_the_second_and_currency_as_numbers(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    assert compare_all(events, sf, mkto, schema, dups).ok
    buyer = next(lead for lead in mkto.leads if lead["lastOrderDate"])
    buyer["lastOrderDate"] = buyer["lastOrderDate"].replace("Z", "+09:00")
    assert not compare_all(events, sf, mkto, schema, dups).ok
    assert normalise("5500", "currency") == normalise(5500.0, "currency")
    assert normalise("2026-01-01T00:00:00.000+0000", "datetime") == normalise("2026-01-01T09:00:00+09:00", "datetime")


def test_an_unmerged_or_deleted_old_person_and_lost_history_are_reported(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    still = copy.deepcopy(mkto)
    still.persons_by_id = {9001: {"id": 9001, "email": dups[0].email}}
    assert "marketo.duplicate.not-merged" in checks(compare_all(events, sf, still, schema, dups))
    marked = copy.deepcopy(mkto)
    marked.persons_by_id = {9001: {"id": 9001, "ecbSupersededBy": 1000}}
    marked.leads.append({"id": 9001, "email": dups[0].email, "ecbSupersededBy": 1000})
    assert compare_all(events, sf, marked, schema, dups).ok, "the mark policy keeps the person, flagged"
    lost = copy.deepcopy(mkto)
    lost.activities = [a for a in lost.activities if a["id"] != 502]
    result = compare_all(events, sf, lost, schema, dups)
    assert checks(result) == {"marketo.duplicate.history-lost"}
    gone = copy.deepcopy(mkto)
    gone.leads = [lead for lead in gone.leads if lead["email"].lower() != dups[0].email.lower()]
    assert "marketo.duplicate.lost" in checks(compare_all(events, sf, gone, schema, dups))
    wrong = copy.deepcopy(mkto)
    wrong.leads[0]["id"] = 9001  # the Marketo-only person survived instead of the CRM-synced one
    assert "marketo.duplicate.wrong-winner" in checks(compare_all(events, sf, wrong, schema, dups))


def test_without_a_crm_duplicate_the_old_person_may_simply_be_the_person(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    dups[0].crm_person_id = None
    mkto.leads[0]["id"] = 9001
    sf.members[0]["Marketo_Id__c"] = "9001"
    mkto.persons_by_id = {9001: mkto.leads[0]}
    for record in mkto.custom_objects["ecOrder_c"]:
        if record["leadId"] == 1000:
            record["leadId"] = 9001
    result = compare_all(events, sf, mkto, schema, dups)
    assert result.ok, result.mismatches
    assert result.counts["duplicate-scenario persons kept as the one person"] == 1


def test_one_person_read_twice_is_one_person(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    mkto.leads.append(dict(mkto.leads[3]))
    assert compare_all(events, sf, mkto, schema, dups).ok


def test_write_back_and_reason_text_are_checked(events, schema) -> None:
    sf, mkto, dups = perfect_world(events, schema)
    sf.orders[2]["Marketo_Id__c"] = None
    sf.members[1]["Marketo_Id__c"] = "424242"
    sf.ingest_errors[0]["Reason__c"] = " "
    result = compare_all(events, sf, mkto, schema, dups)
    assert checks(result) == {"salesforce.order.write-back", "salesforce.member.write-back", "salesforce.invalid.reason-text"}
