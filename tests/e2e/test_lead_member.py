"""A Lead as the member object really works, not only generates: the Lead variant of force-app is deployed
to an in-process local org over the SOAP Metadata API with RunLocalTests (every generated Apex test runs and
passes, USER_MODE enforced for the Standard-User integration user holding the generated permission set),
then a shuffled batch of EC events posted to its endpoint ends with every order attached to its Lead and
every bad event kept in EC_Ingest_Error__c, and a push to a local Marketo creates the persons and orders."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tests.e2e.variants import (ShuffledBatch, deploy_without_field_permission, ingest, soap_deploy,  # noqa: F401
                                test_rows, texts, variant_world)  # (soap_deploy, test_rows, texts: imported from here too)
from tests.foundation.test_mapping import LEAD
from tests.mdapi import force_app_mdapi_zip

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

T = "2024-05-01T10:00:00Z"


@pytest.fixture(scope="module", autouse=True)
def _user_mode_enforced() -> Iterator[None]:
    """USER_MODE is checked (the local org's default), whatever the environment says."""
    from localcloud.salesforce.apex import access

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(access.ENV_ENFORCE, raising=False)
        yield


@pytest.fixture(scope="module")
def lead_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The Lead variant generated into a temp project, an in-process local org and local Marketo (one CA)."""
    with variant_world(tmp_path_factory.mktemp("lead_member"), LEAD) as world:
        yield world


@pytest.fixture(scope="module", autouse=True)
def _trust(lead_world: dict[str, Any]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", lead_world["bundle"])
        yield


@pytest.fixture(scope="module")
def deployed(lead_world: dict[str, Any]) -> dict[str, Any]:
    status = soap_deploy(lead_world["org"], force_app_mdapi_zip(source=lead_world["source"]), lead_world["bundle"])
    lead_world["deploy_status"] = status
    return lead_world


def test_the_lead_variant_deploys_and_every_generated_apex_test_passes(deployed: dict[str, Any]) -> None:
    status = deployed["deploy_status"]
    failures = test_rows(status, "failures")
    assert not failures, "\n".join(f"{f.get('name')}.{f.get('methodName')}: {f.get('message')}\n{f.get('stackTrace')}"
                                   for f in failures)
    assert texts(status, "status") == ["Succeeded"], status[-4000:]
    assert texts(status, "numberTestErrors") == ["0"]
    test_classes = sorted(name[len("main/default/classes/"):-len(".cls")] for name in deployed["files"]
                          if name.startswith("main/default/classes/") and name.endswith("Test.cls"))
    assert test_classes, "the generator wrote no Apex tests"
    successes = test_rows(status, "successes")
    assert {s["name"] for s in successes} == set(test_classes)
    assert int(texts(status, "numberTestsTotal")[0]) == len(successes) > len(test_classes)
    assert "ECBridgeLeadTrigger" in {t.name for t in deployed["org"].repository.apex_triggers("Lead")}


def test_control_a_permission_set_lacking_a_lead_field_fails_the_deploy(lead_world: dict[str, Any]) -> None:
    """The generated tests run as the Standard-User integration user under USER_MODE: without the Lead's
    key field in the permission set they fail, so the passing deploy above proves the set fits a Lead."""
    status = deploy_without_field_permission(lead_world, "Lead.EC_Member_Id__c")
    assert texts(status, "status") == ["Failed"], status[-3000:]
    failures = test_rows(status, "failures")
    assert failures and any("EC_Member_Id__c" in f.get("message", "") or "inaccessible" in f.get("message", "")
                            for f in failures), failures


BATCH = ShuffledBatch("lead", "L", "LO", "抹茶", T, lambda k: {
    "email": f" Lead{k}@Example.JP ", "lastName": f"見込{k}", "firstName": "花子", "company": f"茶舗{k}"},
    required_field="company", seed=7)
member_event, order_event, MEMBERS, BAD = BATCH.member_event, BATCH.order_event, BATCH.members, BATCH.bad


@pytest.fixture(scope="module")
def ingested(deployed: dict[str, Any]) -> dict[str, Any]:
    return ingest(deployed, BATCH)


def test_shuffled_events_attach_every_order_to_its_lead(ingested: dict[str, Any]) -> None:
    sf, results = ingested["sf"], ingested["results"]
    assert len(results) == len(ingested["events"])
    for event_id, result in results.items():
        if event_id not in BAD:
            assert result["status"] == "created", result
    leads = {r["EC_Member_Id__c"]: r for r in sf.query_all(
        "SELECT Id, EC_Member_Id__c, Email, LastName, Company FROM Lead")["records"]}
    assert sorted(leads) == [f"L{k}" for k in MEMBERS], "one Lead per valid member, none for the rejected ones"
    assert leads["L1"]["Email"] == "lead1@example.jp" and leads["L1"]["Company"] == "茶舗1"
    assert results["lead-m-1"]["recordId"] == leads["L1"]["Id"]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 0, "a Lead member creates no Contact"
    orders = sf.query_all("SELECT Order_Number__c, EC_Member_Id__c, Member__c, Member__r.Email, "
                          "Last_Product_Name__c FROM EC_Order__c")["records"]
    assert sorted(o["Order_Number__c"] for o in orders) == sorted(f"LO-{k}-{n}" for k in MEMBERS for n in (1, 2))
    for order in orders:
        lead = leads[order["EC_Member_Id__c"]]
        assert order["Member__c"] == lead["Id"], f"{order['Order_Number__c']} is not attached to its Lead"
        assert order["Member__r"]["Email"] == lead["Email"]
        assert order["Last_Product_Name__c"] == "抹茶" + order["Order_Number__c"][3:]
    lines = sf.query("SELECT COUNT() FROM EC_Order_Line__c")["totalSize"]
    assert lines == len(orders)


def test_bad_events_for_a_lead_are_kept_for_replay(ingested: dict[str, Any]) -> None:
    sf, results = ingested["sf"], ingested["results"]
    sent = {e["id"]: e for e in ingested["events"]}
    rows = {r["Event_Id__c"]: r for r in sf.query_all(
        "SELECT Event_Id__c, Event_Type__c, Error_Code__c, Field__c, Reason__c, Payload__c, Replayed__c "
        "FROM EC_Ingest_Error__c")["records"]}
    assert sorted(rows) == sorted(BAD), "exactly the bad events are kept"
    for event_id, field in BAD.items():
        result = results[event_id]
        assert result["status"] == "rejected" and field in [e["field"] for e in result["errors"]], result
        row = rows[event_id]
        assert row["Event_Type__c"] == "member" and row["Replayed__c"] is False
        assert row["Error_Code__c"] == result["errors"][0]["code"] and row["Reason__c"]
        assert json.loads(row["Payload__c"]) == sent[event_id], "the kept payload is the event as sent"


def test_the_push_creates_a_marketo_person_per_lead_with_its_orders(ingested: dict[str, Any]) -> None:
    """The push library, driven by the Lead mapping, from the org the events went into to a local Marketo."""
    from localcloud.marketo.service import start_local_marketo
    from python_tasks.push.cache import PushCache
    from tests.push.conftest import Services
    from tests.push.helpers import leads_by_email, orders_of, push

    base = ingested["base"]
    marketo = start_local_marketo(base / "marketo", certs_dir=base / "tls")
    services = Services(ingested["org"], marketo, ingested["sf"], None, ingested["mapping"])  # type: ignore[arg-type]
    services.client = services.new_client()
    services.cache = PushCache(base / "push-state", ingested["org"].org_id, marketo.url)
    try:
        summary = push(services)
        assert summary.persons_created == len(MEMBERS) and not summary.persons_skipped, summary
        assert summary.orders_pushed == 2 * len(MEMBERS) and not summary.orders_skipped and not summary.waiting, summary
        marketo_ids = {r["EC_Member_Id__c"]: r["Marketo_Id__c"] for r in ingested["sf"].query_all(
            "SELECT EC_Member_Id__c, Marketo_Id__c FROM Lead")["records"]}
        for k in MEMBERS:
            [person] = leads_by_email(services.client, f"lead{k}@example.jp")
            assert marketo_ids[f"L{k}"] == str(person["id"]), "the Marketo id is written back to the Lead"
            assert (person["ecMemberId"], person["lastName"]) == (f"L{k}", f"見込{k}"), person
            assert person["lastOrderNumber"] == f"LO-{k}-2", "the latest order's number is on the person"
            orders = {o["orderNumber"]: o for o in orders_of(services.client, [person["id"]])}
            assert sorted(orders) == [f"LO-{k}-1", f"LO-{k}-2"]
            assert all(o["leadId"] == person["id"] and o["lineCount"] == 1 for o in orders.values()), orders
        written = ingested["sf"].query_all("SELECT EC_Member_Id__c, Marketo_Id__c, Marketo_Push_Error__c FROM Lead")
        assert all(r["Marketo_Id__c"] and not r["Marketo_Push_Error__c"] for r in written["records"]), written
        assert push(services).persons_created == 0, "a second push creates nobody"
    finally:
        services.client.close()
        services.cache.close()
        marketo.stop()
