"""The project's generated Apex (force-app) under the interpreter, against a real local-org store:
the classes load, the EC endpoint answers a 200-event call with every order attached, triggers fire
for DML from outside Apex, and the project's own Apex tests pass."""

from __future__ import annotations

import json
import random
import re

import pytest

from localcloud.salesforce.apex import ApexCompileError, ApexProgram
from localcloud.salesforce.apex.access import overlay, register_definitions
from localcloud.salesforce.metadata.package import Component
from localcloud.salesforce.metadata.permissionsets import permission_set_definition
from localcloud.salesforce.apex.orgruntime import ApexRuntime

from .orgfixture import FORCE_APP, force_app_sources, make_store

pytestmark = pytest.mark.skipif(not (FORCE_APP / "classes").is_dir(), reason="force-app has no Apex yet")

# generate_apex bug (python_tasks/templates/apex/ECBridgeIngestRulesTest.cls.j2 line 16:
# `SELECT Id, {{ member_select }}` where member_select starts with Id): Salesforce rejects the class
# with "duplicate field selected: Id", and so does the local org.
KNOWN_BAD = {"ECBridgeIngestRulesTest.cls": "duplicate field selected: Id"}


def loadable_sources() -> dict[str, str]:
    srcs = force_app_sources()
    for name, reason in KNOWN_BAD.items():
        if name in srcs:
            try:
                ApexProgram(srcs)
            except ApexCompileError as e:
                if reason in e.message:
                    srcs.pop(name)
    return srcs


def register_force_app_permission_sets(store) -> None:
    """USER_MODE checks the project's permission sets, as in an org the project was deployed to."""
    definitions = {}
    for f in sorted((FORCE_APP / "permissionsets").glob("*.permissionset-meta.xml")):
        name = f.name.split(".")[0]
        definitions[name] = permission_set_definition(Component("PermissionSet", name, f.name, f.read_bytes()))
    register_definitions(store, overlay(definitions, None))


@pytest.fixture(scope="module")
def runtime(tmp_path_factory):
    store = make_store(tmp_path_factory.mktemp("forceapp"))
    register_force_app_permission_sets(store)
    rt = ApexRuntime(store, loadable_sources())
    yield rt
    store.close()


def test_every_generated_class_and_trigger_compiles() -> None:
    srcs = force_app_sources()
    try:
        ApexProgram(srcs)
    except ApexCompileError as e:
        known = KNOWN_BAD.get(e.file)
        if known and known in e.message:
            pytest.xfail(f"generator bug in {e.file}: {e}")
        raise


def test_production_classes_and_triggers_load(runtime) -> None:
    names = {c.lower() for c in runtime.program.class_names()}
    for f in (FORCE_APP / "classes").glob("*.cls"):
        src = f.read_text()
        if "@IsTest" in src or "@isTest" in src:
            continue
        assert f.stem.lower() in names
    assert {t.lower() for t in runtime.program.triggers} == {f.stem.lower() for f in
                                                             (FORCE_APP / "triggers").glob("*.trigger")}


def _member(i: int) -> dict:
    return {"id": f"m-{i}", "type": "member", "occurredAt": "2026-11-28T10:00:00Z",
            "data": {"memberId": f"M-{i}", "email": f" Member{i}@Example.COM ", "lastName": f"Last {i}",
                     "firstName": "First", "phone": "03-0000-0000", "birthdate": "1990-04-01",
                     "memberRank": "regular", "emailOptIn": True}}


def _order(i: int, member: int) -> dict:
    return {"id": f"o-{i}", "type": "order", "occurredAt": "2026-11-28T10:01:00Z",
            "data": {"orderNumber": f"ORD-{i}", "memberId": f"M-{member}", "orderDate": "2026-11-01T10:15:00+09:00",
                     "totalAmount": 1200 + i, "status": "ordered",
                     "lines": [{"productName": f"Product {i}", "sku": f"SKU-{i}", "quantity": 1, "unitPrice": 1200}]}}


def test_endpoint_answers_200_shuffled_events_and_every_order_is_attached(runtime) -> None:
    events = [_member(i) for i in range(60)] + [_order(i, i % 60) for i in range(140)]
    random.Random(7).shuffle(events)
    res = runtime.rest("POST", "/ecbridge/v1/events", json.dumps({"events": events}).encode(),
                       {"Content-Type": "application/json"})
    assert res.status == 200, res.body[:500]
    body = json.loads(res.body)
    assert len(body["results"]) == 200
    assert [r["id"] for r in body["results"]] == [e["id"] for e in events]
    assert all(r["status"] == "created" for r in body["results"]), body["results"][:3]
    with runtime.store.transaction() as tx:
        orders = tx.query("SELECT Order_Number__c, Member__c, Member__r.EC_Member_Id__c, EC_Member_Id__c "
                          "FROM EC_Order__c WHERE Order_Number__c LIKE 'ORD-%' AND Order_Number__c != 'ORD-X'").records
        members = tx.query("SELECT Email FROM Contact WHERE EC_Member_Id__c LIKE 'M-%'").records
    assert len(orders) == 140
    assert all(o["Member__c"] and o["Member__r"]["EC_Member_Id__c"] == o["EC_Member_Id__c"] for o in orders)
    assert all(m["Email"] == m["Email"].strip().lower() for m in members)
    assert res.soql_queries < 30 and res.dml_statements < 30, (res.soql_queries, res.dml_statements)


def test_the_200_event_call_takes_at_most_4_soql_queries_and_4_dml_statements(tmp_path) -> None:
    """The EC site's usual call, 60 new members and 140 orders of theirs shuffled, in a fresh org: the
    members and orders are read once each (locked), the member trigger looks for waiting orders, the
    replay check reads kept events; the orders arrive attached, so their trigger queries nothing (was 5).
    DML: the savepoint, members, orders, lines. A replay of the same call is unchanged and costs no more."""
    store = make_store(tmp_path)
    try:
        rt = ApexRuntime(store, loadable_sources())
        events = [_member(i) for i in range(60)] + [_order(i, i % 60) for i in range(140)]
        random.Random(11).shuffle(events)
        body = json.dumps({"events": events}).encode()
        first = rt.rest("POST", "/ecbridge/v1/events", body, {"Content-Type": "application/json"})
        assert first.status == 200, first.body[:500]
        assert {r["status"] for r in json.loads(first.body)["results"]} == {"created"}
        assert first.soql_queries <= 4 and first.dml_statements <= 4, (first.soql_queries, first.dml_statements)
        again = rt.rest("POST", "/ecbridge/v1/events", body, {"Content-Type": "application/json"})
        assert {r["status"] for r in json.loads(again.body)["results"]} == {"unchanged"}
        assert again.soql_queries <= 4 and again.dml_statements <= 4, (again.soql_queries, again.dml_statements)
    finally:
        store.close()


def test_endpoint_rejects_malformed_body_with_400(runtime) -> None:
    res = runtime.rest("POST", "/ecbridge/v1/events", b"{not json", {})
    assert res.status == 400
    assert json.loads(res.body)["errors"][0]["code"] == "MALFORMED_JSON"


def test_unknown_apex_rest_path_is_404(runtime) -> None:
    res = runtime.rest("POST", "/nothing/here", b"{}", {})
    assert res.status == 404
    assert json.loads(res.body)[0]["errorCode"] == "NOT_FOUND"


def test_order_trigger_fires_for_dml_from_outside_apex(runtime) -> None:
    with runtime.store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "Ito", "EC_Member_Id__c": "M-X"}])
    with runtime.store.transaction() as tx:
        res = tx.insert("EC_Order__c", [{"Name": "ORD-X", "Order_Number__c": "ORD-X", "EC_Member_Id__c": "M-X"}])
        assert res[0].success, res[0].errors
        row = tx.query("SELECT Member__r.EC_Member_Id__c FROM EC_Order__c WHERE Order_Number__c = 'ORD-X'").records[0]
    assert row["Member__r"]["EC_Member_Id__c"] == "M-X"


def test_project_apex_tests_pass_with_coverage(runtime) -> None:
    results = runtime.run_tests()
    assert results, "no Apex test methods found"
    failed = [(r.class_name, r.method_name, r.message, r.stack_trace) for r in results if r.outcome != "Pass"]
    assert not failed, failed
    cov = {c.name: c for c in runtime.coverage_report()}
    assert cov["ECBridgeIngestService"].covered
    assert all(re.match(r"^\w+$", n) for n in cov)
