"""ec_e2e_check's "consent": every member who withdrew consent, on the EC site or in Marketo, is
unsubscribed in Marketo and opted out in Salesforce; each broken record is named."""
from __future__ import annotations

import random
from pathlib import Path

from python_tasks.e2e.compare import Comparison, MarketoSnapshot, SalesforceSnapshot
from python_tasks.e2e.consent import compare_consent, ec_withdrawals
from python_tasks.seed.events import build_events, latest_valid_events
from python_tasks.seed.receipt import Receipt
from python_tasks.seed.recipe import run_recipe
from python_tasks.seed.schema import load_payload_schema

ROOT = Path(__file__).resolve().parents[2]


def world():
    schema = load_payload_schema(ROOT / "ecbridge.yml")
    data = run_recipe(options={"members": 12, "run_id": "K1", "orders_per_member": 1})
    events = build_events(data, schema, run_id="K1", update_share=0.8, rng=random.Random(3)).events
    latest = sorted((key, planned) for (kind, key), planned in latest_valid_events(events).items() if kind == "member")
    latest[0][1].event.data["emailOptIn"] = True  # the recipe is random: one member surely consents,
    latest[1][1].event.data["emailOptIn"] = False  # one surely withdrew
    members, leads = [], []
    for key, planned in latest:
        email = planned.event.data["email"].strip().lower()
        withdrawn = planned.event.data.get("emailOptIn") is False
        members.append({"Id": f"003K1{len(members):010d}AAA", "EC_Member_Id__c": key, "Email": email,
                        "HasOptedOutOfEmail": withdrawn})
        leads.append({"id": 100 + len(leads), "email": email, "unsubscribed": withdrawn})
    return schema, events, members, leads


def check(schema, events, members, leads, unsubscribed_in_marketo=()):
    receipt = Receipt(Path("receipt.jsonl"), marketo=[{"kind": "marketo", "role": "unsubscribed", "memberKey": key, "email": email}
                               for key, email in unsubscribed_in_marketo])
    sf = SalesforceSnapshot(members=members, members_by_email=members, orders=[], lines=[], ingest_errors=[])
    result = Comparison()
    compare_consent(events, receipt, sf, MarketoSnapshot(leads, {}, {}, []), schema, result)
    return result


def test_withdrawals_on_both_sides_are_checked_on_both_sides() -> None:
    schema, events, members, leads = world()
    withdrawn_on_ec = ec_withdrawals(events, schema)
    assert withdrawn_on_ec, "the seeding has shoppers without consent (35%) and withdrawals in its updates"
    subscribed = next(m for m in members if not m["HasOptedOutOfEmail"])
    result = check(schema, events, members, leads)
    assert result.ok
    assert result.counts["consent withdrawn on the EC site"] == len(withdrawn_on_ec)
    assert result.counts["consent withdrawals honoured on both sides"] == len(withdrawn_on_ec)
    # the shopper unsubscribes in Marketo; nothing reached Salesforce and the push subscribed him again
    result = check(schema, events, members, leads, [(subscribed["EC_Member_Id__c"], subscribed["Email"])])
    assert result.counts["consent withdrawn in Marketo"] == 1
    found = {(m.check, m.record) for m in result.mismatches}
    assert found == {("consent.salesforce", subscribed["EC_Member_Id__c"]),
                     ("consent.marketo", subscribed["EC_Member_Id__c"])}


def test_an_ec_withdrawal_not_in_marketo_is_named() -> None:
    schema, events, members, leads = world()
    key = sorted(ec_withdrawals(events, schema))[0]
    member = next(m for m in members if m["EC_Member_Id__c"] == key)
    next(lead for lead in leads if lead["email"] == member["Email"])["unsubscribed"] = False
    result = check(schema, events, members, leads)
    [mismatch] = result.mismatches
    assert (mismatch.check, mismatch.record, mismatch.field) == ("consent.marketo", key, "unsubscribed")
    assert "withdrawn on the EC site" in mismatch.message
