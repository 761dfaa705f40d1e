"""`cci task run ec_e2e_check` against the local org and local Marketo with a world written by hand.

The records a correct ECBridge would leave are written through the public APIs (REST data API,
Marketo REST and the local Marketo's form/CRM person admin API), so the check task, its SOQL and
Marketo reads and its report are proven without depending on the endpoint or the push. Then one
Marketo value and one Salesforce lookup are broken: the task must fail and name both records.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce

from python_tasks.mapping import load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentials
from python_tasks.marketo.emails import OrderEmailProvisioner
from python_tasks.seed.events import build_events, latest_valid_events
from python_tasks.seed.invalid import build_invalid_events
from python_tasks.seed.marketo_seed import ADMIN_HEADER
from python_tasks.seed.receipt import ReceiptWriter
from python_tasks.seed.recipe import run_recipe
from python_tasks.seed.schema import load_payload_schema
from tests.e2e.conftest import ROOT, cci

pytestmark = pytest.mark.slow
RUN = "chk1"


def marketo_time(value: str) -> str:
    return dt.datetime.fromisoformat(value).astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def admin_persons(cloud: dict[str, Any], source: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    marketo = cloud["marketo"]
    answer = requests.post(f"{marketo.url}/_local/persons", json={"source": source, "input": records},
                           headers={ADMIN_HEADER: marketo.client_secret}, verify=cloud["bundle"], timeout=30)
    answer.raise_for_status()
    return answer.json()["result"]


def write_world(cloud: dict[str, Any], reports: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cloud["bundle"])
    schema = load_payload_schema(ROOT / "ecbridge.yml")
    rng = random.Random(5)
    data = run_recipe(options={"members": 4, "orders_per_member": 1, "register_and_buy_share": 1, "run_id": RUN,
                               "marketo_only_share": 0})
    events = build_events(data, schema, run_id=RUN, update_share=0.5, rng=rng).events
    events += build_invalid_events(events, schema, run_id=RUN, count=3, rng=rng)
    latest = latest_valid_events(events)
    session = requests.Session()
    session.verify = cloud["bundle"]
    sf = Salesforce(instance_url=cloud["org"].url, session_id=cloud["org"].access_token, session=session, version="62.0")
    contacts: dict[str, str] = {}
    for (kind, key), planned in sorted(latest.items()):
        if kind == "member":
            record = {spec.sf_field: planned.event.data[name] for name, spec in schema.member_fields.items() if name in planned.event.data}
            record["Email"] = record["Email"].lower()
            if planned.event.data.get(schema.consent["ec_field"]) is False:  # withdrawn on the EC site: opted out
                record[schema.consent["opted_out"]] = True
            contacts[key] = sf.Contact.create(record)["id"]
    orders: dict[str, dict[str, Any]] = {}
    for (kind, number), planned in sorted(latest.items()):
        if kind != "order":
            continue
        data_ = planned.event.data
        record = {spec.sf_field: data_[name] for name, spec in schema.order_fields.items() if name in data_}
        record.update(Member__c=contacts[data_["memberId"]], Last_Product_Name__c=data_["lines"][-1]["productName"])
        order_id = sf.EC_Order__c.create(record)["id"]
        orders[number] = {"id": order_id, "data": data_}
        for position, line in enumerate(data_["lines"], start=1):
            line_record = {spec.sf_field: line[name] for name, spec in schema.line_fields.items() if name in line}
            line_record.update(Order__c=order_id, Line_Key__c=f"{number}-{position}")
            sf.EC_Order_Line__c.create(line_record)
    for planned in events:
        if not planned.valid:
            sf.EC_Ingest_Error__c.create({
                "Event_Id__c": planned.event.id, "Event_Type__c": planned.event.type,
                "Error_Code__c": planned.expected_code, "Field__c": planned.expected_field,
                "Reason__c": "rejected", "Payload__c": json.dumps(planned.event.to_json(), ensure_ascii=False),
            })

    marketo = cloud["marketo"]
    client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret))
    dup_key = sorted(contacts)[0]
    dup_member = latest[("member", dup_key)].event.data
    dup_email = dup_member["email"]
    old_id = int(admin_persons(cloud, "form", [{"email": dup_email[0].upper() + dup_email[1:], "lastName": dup_member["lastName"]}])[0]["id"])
    types = [int(t["id"]) for t in client.get_activity_types() if t["name"] in ("New Lead", "Fill Out Form", "Change Data Value")]
    token = client.get_paging_token(dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
    old_activities = [int(a["id"]) for a in client.get_activities(types, token, lead_ids=[old_id])]
    crm_id = int(admin_persons(cloud, "crm", [{"sfdcType": "Contact", "sfdcContactId": contacts[dup_key], "email": dup_email,
                                               "lastName": dup_member["lastName"]}])[0]["id"])
    client.merge_leads(crm_id, [old_id])

    leads = []
    for key, contact_id in contacts.items():
        member = latest[("member", key)].event.data
        mine = [o for o in orders.values() if o["data"]["memberId"] == key]
        last = max(mine, key=lambda o: dt.datetime.fromisoformat(o["data"]["orderDate"]))["data"] if mine else None
        lead = {"email": member["email"].lower(), "firstName": member.get("firstName"), "lastName": member["lastName"],
                "phone": member.get("phone"), "ecMemberId": key}
        if member.get(schema.consent["ec_field"]) is False:
            lead.update({schema.consent["unsubscribed"]: True, schema.consent["unsubscribed_reason"]: "EC site"})
        if last:
            lead.update(lastOrderNumber=last["orderNumber"], lastOrderDate=marketo_time(last["orderDate"]),
                        lastProductName=last["lines"][-1]["productName"], lastOrderTotal=last["totalAmount"])
        leads.append(lead)
    results = client.sync_leads(leads, action="createOrUpdate", lookup_field="email")
    lead_ids = {lead["ecMemberId"]: result.id for lead, result in zip(leads, results)}
    assert all(result.ok for result in results), results
    assert lead_ids[dup_key] == crm_id, "after the merge the email finds the CRM-synced winner"
    for key, contact_id in contacts.items():
        sf.Contact.update(contact_id, {"Marketo_Id__c": str(lead_ids[key])})
    cos = [{
        "orderNumber": number, "leadId": lead_ids[o["data"]["memberId"]],
        "orderDate": marketo_time(o["data"]["orderDate"]), "totalAmount": o["data"]["totalAmount"],
        "productNames": ", ".join(line["productName"] for line in o["data"]["lines"]),
        "status": o["data"]["status"], "lineCount": len(o["data"]["lines"]),
    } for number, o in orders.items()]
    written = client.sync_custom_objects("ecOrder_c", cos)
    assert all(r.ok for r in written), "custom objects written"
    OrderEmailProvisioner(load_mapping(ROOT / "ecbridge.yml")).apply(client)
    for record, result in zip(cos, written):
        sf.EC_Order__c.update(orders[record["orderNumber"]]["id"], {"Marketo_Id__c": result.marketo_guid})

    with ReceiptWriter(reports / RUN / "seed-receipt.jsonl") as receipt:
        receipt.write("run", runId=RUN)
        for planned in events:
            receipt.write("event", planned=planned.to_json())
        receipt.write("call", batch=f"{RUN}:b00001", attempt=1, httpStatus=200, eventIds=[p.event.id for p in events],
                      results=[{"id": p.event.id, "status": "created" if p.valid else "rejected"} for p in events])
        receipt.write("marketo", role="marketo-only", memberKey=dup_key, email=dup_email[0].upper() + dup_email[1:],
                      personId=old_id, activityIds=old_activities)
        receipt.write("marketo", role="crm-synced", memberKey=dup_key, email=dup_email, personId=crm_id)
        receipt.write("summary", runId=RUN, members=len(contacts))
    client.close()
    return {"sf": sf, "contacts": contacts, "orders": orders, "lead_ids": lead_ids, "client_args": marketo}


def run_check(cloud: dict[str, Any], reports: Path) -> tuple[Any, dict[str, Any]]:
    result = cci(cloud["env"], "task", "run", "ec_e2e_check", "--org", "local", "-o", "reports_dir", str(reports),
                 "-o", "run_id", RUN)
    report = json.loads((reports / RUN / "e2e-report.json").read_text(encoding="utf-8"))
    return result, report


def test_the_check_passes_on_a_correct_world_and_names_each_broken_record(
    project_deployed: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reports = tmp_path / "reports"
    world = write_world(project_deployed, reports, monkeypatch)
    result, report = run_check(project_deployed, reports)
    assert result.returncode == 0, json.dumps(report["mismatches"][:15], ensure_ascii=False, indent=1) + result.stdout[-3000:]
    counts = report["counts"]
    assert report["ok"] and counts["members found"] == 4 and counts["orders attached"] == counts["orders expected"] >= 4
    assert counts["invalid events logged"] == 3 and counts["persons found"] == 4
    assert counts["duplicate-scenario persons merged"] == 1 and counts["duplicate-scenario histories kept"] == 1
    assert report["apiCalls"]["salesforce"]["check calls"] >= 5 and report["apiCalls"]["marketo"]["check"] >= 4
    assert counts["emails rendered"] == 4 and counts["emails showing the right orders"] == 4
    # the recipe's data is random: some runs have no shopper withholding consent
    assert counts.get("consent withdrawals honoured on both sides", 0) == counts.get("consent withdrawn on the EC site", 0)
    assert "PASSED" in (reports / RUN / "e2e-report.html").read_text(encoding="utf-8")
    assert "One rendered email" in (reports / RUN / "e2e-report.html").read_text(encoding="utf-8")

    broken_key = sorted(world["contacts"])[1]
    marketo = world["client_args"]
    client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret))
    client.sync_leads([{"id": world["lead_ids"][broken_key], "lastName": "改竄"}], action="updateOnly", lookup_field="id")
    # a buyer whose email now shows a product they never bought as their last one
    buyer = sorted(o["data"]["memberId"] for o in world["orders"].values())[-1]
    client.sync_leads([{"id": world["lead_ids"][buyer], "lastProductName": "改竄品"}], action="updateOnly", lookup_field="id")
    client.close()
    # Re-keying an order to another member: the order trigger moves it there, so it is no longer its member's.
    number, order = sorted(world["orders"].items())[0]
    other_key = next(key for key in sorted(world["contacts"]) if key != order["data"]["memberId"])
    other_contact = world["contacts"][other_key]
    world["sf"].EC_Order__c.update(order["id"], {"EC_Member_Id__c": other_key, "Member__c": other_contact})
    result, report = run_check(project_deployed, reports)
    assert result.returncode != 0
    found = {(m["check"], m["record"], m["field"]) for m in report["mismatches"]}
    assert ("marketo.person.field", broken_key, "lastName") in found
    assert ("salesforce.order.not-attached", number, "Member__c") in found
    assert ("salesforce.order.field", number, "EC_Member_Id__c") in found
    assert ("marketo.email.last-order", buyer, "last product name") in found
    assert "FAILED" in (reports / RUN / "e2e-report.html").read_text(encoding="utf-8")
