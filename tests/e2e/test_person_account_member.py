"""A Person Account as the member object really works, not only generates: the Person Account variant of
force-app (object: Account, person_account: true) is deployed to an in-process local org over the SOAP Metadata
API with RunLocalTests (every generated Apex test runs and passes, USER_MODE enforced for the Standard-User
integration user holding only the generated permission set), then a shuffled batch of EC events posted to its
endpoint ends with one person account per member (the person record type, its person contact), every order
attached to its Account and every bad event kept in EC_Ingest_Error__c, and a push to a local Marketo makes one
person per member with its orders."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from python_tasks.generate import render_project, write_project
from python_tasks.mapping import load_mapping
from tests.e2e.test_lead_member import _user_mode_enforced  # noqa: F401 (an autouse fixture)
from tests.e2e.variants import (ShuffledBatch, deploy_without_field_permission, ingest, soap_deploy, test_rows, texts,
                                variant_world)
from tests.foundation.test_mapping import PERSON_ACCOUNT
from tests.mdapi import force_app_mdapi_zip

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

ROOT = Path(__file__).resolve().parents[2]
API = "62.0"
ENDPOINT = "/services/apexrest/ecbridge/v1/events"
T = "2024-05-01T10:00:00Z"


@pytest.fixture(scope="module")
def pa_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The Person Account variant generated into a temp project, an in-process local org and local Marketo (one CA)."""
    with variant_world(tmp_path_factory.mktemp("person_account_member"), PERSON_ACCOUNT) as world:
        yield world


@pytest.fixture(scope="module", autouse=True)
def _trust(pa_world: dict[str, Any]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", pa_world["bundle"])
        yield


@pytest.fixture(scope="module")
def deployed(pa_world: dict[str, Any]) -> dict[str, Any]:
    status = soap_deploy(pa_world["org"], force_app_mdapi_zip(source=pa_world["source"]), pa_world["bundle"])
    pa_world["deploy_status"] = status
    return pa_world


def test_the_person_account_variant_deploys_and_every_generated_apex_test_passes(deployed: dict[str, Any]) -> None:
    status = deployed["deploy_status"]
    failures = test_rows(status, "failures")
    assert not failures, "\n".join(f"{f.get('name')}.{f.get('methodName')}: {f.get('message')}\n{f.get('stackTrace')}"
                                   for f in failures)
    assert texts(status, "status") == ["Succeeded"], status[-4000:]
    assert texts(status, "numberTestErrors") == ["0"]
    test_classes = sorted(name[len("main/default/classes/"):-len(".cls")] for name in deployed["files"]
                          if name.startswith("main/default/classes/") and name.endswith("Test.cls"))
    successes = test_rows(status, "successes")
    assert {s["name"] for s in successes} == set(test_classes)
    assert int(texts(status, "numberTestsTotal")[0]) == len(successes) > len(test_classes)
    assert "newMembersArePersonAccountsOfThePersonRecordTypeWithTheirPersonContact" in {
        s["methodName"] for s in successes if s["name"] == "ECBridgeMemberWriterTest"}
    assert "ECBridgeAccountTrigger" in {t.name for t in deployed["org"].repository.apex_triggers("Account")}


def test_control_a_permission_set_lacking_the_person_key_field_fails_the_deploy(pa_world: dict[str, Any]) -> None:
    """The generated tests run as the Standard-User integration user under USER_MODE: without Contact's key field
    (Account's EC_Member_Id__pc) in the permission set they fail, so the passing deploy above proves the set fits."""
    status = deploy_without_field_permission(pa_world, "Contact.EC_Member_Id__c")
    assert texts(status, "status") == ["Failed"], status[-3000:]
    failures = test_rows(status, "failures")
    assert failures and any("EC_Member_Id__" in f.get("message", "") or "inaccessible" in f.get("message", "")
                            for f in failures), failures


BATCH = ShuffledBatch("pa", "P", "PO", "煎茶", T, lambda k: {
    "email": f" Person{k}@Example.JP ", "lastName": f"個人{k}", "firstName": "花子", "birthdate": "1990-04-01",
    "memberRank": "gold"}, required_field="lastName", seed=11)
member_event, order_event, MEMBERS, BAD = BATCH.member_event, BATCH.order_event, BATCH.members, BATCH.bad


@pytest.fixture(scope="module")
def ingested(deployed: dict[str, Any]) -> dict[str, Any]:
    return ingest(deployed, BATCH)


def test_shuffled_events_make_person_accounts_and_attach_every_order(ingested: dict[str, Any]) -> None:
    sf, results = ingested["sf"], ingested["results"]
    assert len(results) == len(ingested["events"])
    for event_id, result in results.items():
        if event_id not in BAD:
            assert result["status"] == "created", result
    accounts = {r["EC_Member_Id__pc"]: r for r in sf.query_all(
        "SELECT Id, EC_Member_Id__pc, PersonEmail, FirstName, LastName, Name, PersonBirthdate, EC_Member_Rank__pc, "
        "IsPersonAccount, PersonContactId, RecordType.DeveloperName FROM Account")["records"]}
    assert sorted(accounts) == [f"P{k}" for k in MEMBERS], "one person account per valid member, none for the rejected"
    p1 = accounts["P1"]
    assert (p1["PersonEmail"], p1["LastName"], p1["Name"]) == ("person1@example.jp", "個人1", "花子 個人1")
    assert (p1["PersonBirthdate"], p1["EC_Member_Rank__pc"]) == ("1990-04-01", "gold")
    assert results["pa-m-1"]["recordId"] == p1["Id"]
    for account in accounts.values():
        assert account["IsPersonAccount"] is True and account["RecordType"]["DeveloperName"] == "PersonAccount"
    contacts = {r["Id"]: r for r in sf.query_all(
        "SELECT Id, AccountId, IsPersonAccount, Email, EC_Member_Id__c FROM Contact")["records"]}
    assert sorted(contacts) == sorted(a["PersonContactId"] for a in accounts.values()), \
        "the only contacts are the person contacts behind the members"
    for account in accounts.values():
        person = contacts[account["PersonContactId"]]
        assert (person["AccountId"], person["IsPersonAccount"]) == (account["Id"], True)
        assert (person["Email"], person["EC_Member_Id__c"]) == (account["PersonEmail"], account["EC_Member_Id__pc"])
    orders = sf.query_all("SELECT Order_Number__c, EC_Member_Id__c, Member__c, Member__r.PersonEmail, "
                          "Last_Product_Name__c FROM EC_Order__c")["records"]
    assert sorted(o["Order_Number__c"] for o in orders) == sorted(f"PO-{k}-{n}" for k in MEMBERS for n in (1, 2))
    for order in orders:
        account = accounts[order["EC_Member_Id__c"]]
        assert order["Member__c"] == account["Id"], f"{order['Order_Number__c']} is not attached to its Account"
        assert order["Member__r"]["PersonEmail"] == account["PersonEmail"]
        assert order["Last_Product_Name__c"] == "煎茶" + order["Order_Number__c"][3:]
    assert sf.query("SELECT COUNT() FROM EC_Order_Line__c")["totalSize"] == len(orders)


def test_bad_events_for_a_person_account_are_kept_for_replay(ingested: dict[str, Any]) -> None:
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


def test_without_the_person_record_type_a_new_member_is_rejected_and_kept_for_replay(pa_world: dict[str, Any]) -> None:
    """A mapping naming a person record type the org lacks: the member event is rejected with the reason (kept in
    EC_Ingest_Error__c for replay once the record type exists), its order waits for it, nothing is half-saved."""
    from localcloud.salesforce.server import start_local_org
    from simple_salesforce import Salesforce

    project = pa_world["base"] / "no-record-type"
    (project / "force-app").mkdir(parents=True)
    mapping_path = project / "ecbridge.yml"
    mapping_path.write_text(PERSON_ACCOUNT.replace("    person_account: true\n",
                                                   "    person_account: true\n    person_record_type: Shopper\n"))
    write_project(render_project(load_mapping(mapping_path)), project / "force-app")
    org = start_local_org(pa_world["base"] / "no-record-type-org", tls_dir=pa_world["base"] / "tls")
    try:
        job = org.deployer.deploy_zip(force_app_mdapi_zip(source=project / "force-app" / "main" / "default"))
        assert job.status == "Succeeded", job
        answer = requests.post(org.url + ENDPOINT, json={"events": [member_event(1), order_event(1, 1)]},
                               headers={"Authorization": f"Bearer {org.access_token}"}, verify=pa_world["bundle"],
                               timeout=120)
        assert answer.status_code == 200, answer.text[:1000]
        member, order = answer.json()["results"]
        assert member["status"] == "rejected" and order["status"] == "created", (member, order)
        [error] = member["errors"]
        assert (error["code"], error["field"]) == ("INVALID_CROSS_REFERENCE_KEY", "memberId")
        assert "no active Account record type Shopper with IsPersonType" in error["message"]
        sf = Salesforce(instance_url=org.url, session_id=org.access_token, version=API)
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0, "no account half-made"
        [kept] = sf.query("SELECT Event_Id__c, Error_Code__c FROM EC_Ingest_Error__c")["records"]
        assert (kept["Event_Id__c"], kept["Error_Code__c"]) == ("pa-m-1", "INVALID_CROSS_REFERENCE_KEY")
        [waiting] = sf.query("SELECT Member__c FROM EC_Order__c")["records"]
        assert waiting["Member__c"] is None, "the order waits for its member"
    finally:
        org.stop()


def test_the_push_creates_one_marketo_person_per_person_account_with_its_orders(ingested: dict[str, Any]) -> None:
    """The push library, driven by the Person Account mapping, from the org the events went into to a local Marketo."""
    from localcloud.marketo.service import start_local_marketo
    from python_tasks.push.cache import PushCache
    from tests.push.conftest import Services
    from tests.push.helpers import leads_by_email, orders_of, push

    base = ingested["base"]
    sf = ingested["sf"]
    business = sf.Account.create({"Name": "株式会社 取引先"})  # a business account is no member: never pushed
    marketo = start_local_marketo(base / "marketo", certs_dir=base / "tls")
    services = Services(ingested["org"], marketo, sf, None, ingested["mapping"])  # type: ignore[arg-type]
    services.client = services.new_client()
    services.cache = PushCache(base / "push-state", ingested["org"].org_id, marketo.url)
    try:
        summary = push(services)
        assert summary.persons_created == len(MEMBERS) and not summary.persons_skipped, summary
        assert summary.orders_pushed == 2 * len(MEMBERS) and not summary.orders_skipped and not summary.waiting, summary
        marketo_ids = {r["EC_Member_Id__pc"]: r["Marketo_Id__c"] for r in sf.query_all(
            "SELECT EC_Member_Id__pc, Marketo_Id__c FROM Account WHERE IsPersonAccount = true")["records"]}
        for k in MEMBERS:
            [person] = leads_by_email(services.client, f"person{k}@example.jp")
            assert marketo_ids[f"P{k}"] == str(person["id"]), "the Marketo id is written back to the person account"
            assert (person["ecMemberId"], person["lastName"], person["firstName"]) == (f"P{k}", f"個人{k}", "花子"), person
            assert person["lastOrderNumber"] == f"PO-{k}-2", "the latest order's number is on the person"
            orders = {o["orderNumber"]: o for o in orders_of(services.client, [person["id"]])}
            assert sorted(orders) == [f"PO-{k}-1", f"PO-{k}-2"]
            assert all(o["leadId"] == person["id"] and o["lineCount"] == 1 for o in orders.values()), orders
        untouched = sf.Account.get(business["id"])
        assert untouched["Marketo_Id__c"] is None and untouched["Marketo_Pushed_At__c"] is None
        assert push(services).persons_created == 0, "a second push creates nobody"
    finally:
        services.client.close()
        services.cache.close()
        marketo.stop()
