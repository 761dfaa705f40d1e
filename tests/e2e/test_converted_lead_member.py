"""A Lead member that converts (member.converts_to: Contact), end to end: the generated variant deploys to an
in-process local org with RunLocalTests (every generated Apex test passes as the integration user), EC events
make Leads with orders, a push creates their Marketo persons, then Leads are converted in Salesforce (SOAP
convertLead, as a sales user's tool does): the orders follow the Contact, the member key and the Marketo id
move to it; a later EC event updates the Contact and its new order attaches to it; a second push updates the
same Marketo person (same id, its activity history kept) and pushes the new order under it, never creating a
second person."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.e2e.test_lead_member import _user_mode_enforced  # noqa: F401 (an autouse fixture)
from tests.e2e.variants import soap_deploy, test_rows as deploy_rows, texts, variant_world
from tests.foundation.test_mapping import LEAD
from tests.localorg_http.test_lead_convert import soap_convert
from tests.mdapi import force_app_mdapi_zip

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

ROOT = Path(__file__).resolve().parents[2]
API = "62.0"
ENDPOINT = "/services/apexrest/ecbridge/v1/events"
CONVERTING = LEAD.replace("    object: Lead\n", "    object: Lead\n    converts_to: Contact\n")
MEMBERS = range(1, 5)
CONVERTED = (1, 2)  # members whose Leads a sales user converts
T1, T2 = "2024-05-01T10:00:00Z", "2024-06-01T10:00:00Z"


def deploy_rows_of(xml: str) -> list[dict[str, str]]:
    """The componentFailures of a checkDeployStatus answer."""
    from xml.dom.minidom import parseString

    return [{c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes}
            for node in parseString(xml).getElementsByTagName("componentFailures")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from localcloud.marketo.service import start_local_marketo

    with variant_world(tmp_path_factory.mktemp("converted_lead"), CONVERTING) as world:
        world["marketo"] = marketo = start_local_marketo(world["base"] / "marketo", certs_dir=world["base"] / "tls")
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("REQUESTS_CA_BUNDLE", world["bundle"])
                yield world
        finally:
            marketo.stop()


@pytest.fixture(scope="module")
def deployed(world: dict[str, Any]) -> dict[str, Any]:
    world["deploy_status"] = soap_deploy(world["org"], force_app_mdapi_zip(source=world["source"]), world["bundle"])
    return world


def test_the_converting_variant_deploys_and_every_generated_apex_test_passes(deployed: dict[str, Any]) -> None:
    status = deployed["deploy_status"]
    problems = [f"{p.get('fileName')}:{p.get('lineNumber')}: {p.get('problem')}" for p in deploy_rows_of(status)]
    assert not problems, problems
    failures = deploy_rows(status, "failures")
    assert not failures, "\n".join(f"{f.get('name')}.{f.get('methodName')}: {f.get('message')}\n{f.get('stackTrace')}"
                                   for f in failures)
    assert texts(status, "status") == ["Succeeded"], status[-4000:]
    successes = {(s["name"], s["methodName"]) for s in deploy_rows(status, "successes")}
    assert ("ECBridgeLeadConversionTest", "theOrdersKeyAndMarketoIdFollowTheContact") in successes
    assert ("ECBridgeLeadConversionTest", "laterEventsUpdateTheContactAndAttachTheirOrdersToIt") in successes
    assert ("ECBridgeLeadConversionTest", "aLeadIsNotConvertedIntoAnotherMembersContact") in successes
    triggers = {t.name for t in deployed["org"].repository.apex_triggers("Contact")}
    assert "ECBridgeContactTrigger" in triggers


def member_event(k: int, at: str = T1, **data: Any) -> dict[str, Any]:
    body = {"memberId": f"CL{k}", "email": f"conv{k}@example.jp", "lastName": f"転換{k}", "firstName": "花子",
            "company": f"茶舗{k}"}
    body.update(data)
    return {"id": f"cl-m-{k}-{at}", "type": "member", "occurredAt": at, "data": body}


def order_event(k: int, n: int, at: str = T1) -> dict[str, Any]:
    return {"id": f"cl-o-{k}-{n}", "type": "order", "occurredAt": at,
            "data": {"orderNumber": f"CLO-{k}-{n}", "memberId": f"CL{k}", "orderDate": f"2024-05-0{n}T09:00:00Z",
                     "totalAmount": 1000 * k + n, "status": "paid",
                     "lines": [{"productName": f"煎茶{k}-{n}", "quantity": 1, "unitPrice": 500}]}}


def post(world: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    org = world["org"]
    answer = requests.post(org.url + ENDPOINT, data=json.dumps({"events": events}).encode(),
                           headers={"Authorization": f"Bearer {org.access_token}", "Content-Type": "application/json"},
                           verify=world["bundle"], timeout=120)
    assert answer.status_code == 200, answer.text[:1000]
    return {r["id"]: r for r in answer.json()["results"]}


def push_all(world: dict[str, Any], full: bool = False) -> Any:
    """One push_marketo run: every view of the mapping (push/views.py), each with its own push state."""
    from python_tasks.push.runner import PushOptions, PushRun
    from python_tasks.push.salesforce_io import SalesforceIO
    from python_tasks.push.schema import merge_describes
    from python_tasks.push.views import merge_summaries, push_views

    client, mapping = world["client"], world["mapping"]
    schema = merge_describes(mapping, client.describe2(), [(co.api_name, client.describe_custom_object(co.api_name))
                                                            for co in mapping.marketo.custom_objects])
    summaries = [PushRun(view, SalesforceIO(world["sf"]), client, schema,
                         PushOptions(full=full, cache=world["caches"][name])).run(None)
                 for name, view in push_views(mapping)]
    return merge_summaries(summaries)


@pytest.fixture(scope="module")
def pushed_then_converted(deployed: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Events in, a first push, then the Leads of CONVERTED converted by a sales user."""
    from simple_salesforce import Salesforce

    from python_tasks.push.cache import PushCache
    from tests.push.conftest import Services

    world, org = deployed, deployed["org"]
    assert texts(world["deploy_status"], "status") == ["Succeeded"], "the converting variant did not deploy"
    results = post(world, [order_event(k, n) for k in MEMBERS for n in (1, 2)] + [member_event(k) for k in MEMBERS])
    assert {r["status"] for r in results.values()} == {"created"}, results
    world["sf"] = Salesforce(instance_url=org.url, session_id=org.access_token, version=API)
    services = Services(org, world["marketo"], world["sf"], None, world["mapping"])  # type: ignore[arg-type]
    world["client"] = services.new_client()
    world["caches"] = {name: PushCache(world["base"] / "push-state", org.org_id + (f"-{name}" if name else ""),
                                       world["marketo"].url) for name in ("", "converted")}
    try:
        world["first_push"] = push_all(world)
        sf = world["sf"]
        world["leads_before"] = {r["EC_Member_Id__c"]: r for r in sf.query_all(
            "SELECT Id, EC_Member_Id__c, Marketo_Id__c FROM Lead")["records"]}
        converts = [{"leadId": world["leads_before"][f"CL{k}"]["Id"], "convertedStatus": "Closed - Converted",
                     "doNotCreateOpportunity": True} for k in CONVERTED]
        status, converted = soap_convert(org, converts)
        assert status == 200 and all(r["success"] == "true" for r in converted), converted
        world["contacts"] = {f"CL{k}": r["contactId"] for k, r in zip(CONVERTED, converted)}
        yield world
    finally:
        world["client"].close()
        for cache in world["caches"].values():
            cache.close()


def test_the_first_push_creates_a_person_per_lead(pushed_then_converted: dict[str, Any]) -> None:
    summary = pushed_then_converted["first_push"]
    assert summary.persons_created == len(MEMBERS) and not summary.persons_skipped, summary
    assert summary.orders_pushed == 2 * len(MEMBERS) and not summary.waiting, summary
    assert all(r["Marketo_Id__c"] for r in pushed_then_converted["leads_before"].values())


def test_a_conversion_moves_the_orders_key_and_marketo_id_to_the_contact(pushed_then_converted: dict[str, Any]
                                                                          ) -> None:
    world = pushed_then_converted
    sf = world["sf"]
    for k in CONVERTED:
        key, contact_id = f"CL{k}", world["contacts"][f"CL{k}"]
        contact = sf.Contact.get(contact_id)
        assert contact["EC_Member_Id__c"] == key
        assert contact["Marketo_Id__c"] == world["leads_before"][key]["Marketo_Id__c"], "the same Marketo person"
        assert contact["Email"] == f"conv{k}@example.jp" and contact["LastName"] == f"転換{k}"
        orders = sf.query_all(f"SELECT Member__c, Member_Contact__c FROM EC_Order__c WHERE EC_Member_Id__c = '{key}'")
        assert [(o["Member__c"], o["Member_Contact__c"]) for o in orders["records"]] == [(None, contact_id)] * 2
    unconverted = sf.query_all("SELECT Member__c, Member_Contact__c FROM EC_Order__c WHERE EC_Member_Id__c = 'CL3'")
    assert all(o["Member__c"] and not o["Member_Contact__c"] for o in unconverted["records"])


def test_after_the_conversion_events_update_the_contact_and_a_push_updates_the_same_person(
        pushed_then_converted: dict[str, Any]) -> None:
    from tests.push.helpers import leads_by_email, orders_of

    world = pushed_then_converted
    sf, client = world["sf"], world["client"]
    results = post(world, [member_event(1, T2, lastName="転換後"), order_event(1, 3, T2),
                           member_event(3, T2, lastName="未転換")])
    assert [results[e]["status"] for e in (f"cl-m-1-{T2}", "cl-o-1-3", f"cl-m-3-{T2}")] == [
        "updated", "created", "updated"], results
    assert results[f"cl-m-3-{T2}"]["recordId"] == world["leads_before"]["CL3"]["Id"], "an unconverted Lead stays"
    assert results[f"cl-m-1-{T2}"]["recordId"] == world["contacts"]["CL1"], "the event updated the Contact"
    assert sf.Contact.get(world["contacts"]["CL1"])["LastName"] == "転換後"
    lead1 = world["leads_before"]["CL1"]
    assert sf.Lead.get(lead1["Id"])["LastName"] == "転換1", "the converted Lead is left as it was"
    assert sf.query("SELECT COUNT() FROM Lead WHERE EC_Member_Id__c = 'CL1'")["totalSize"] == 1
    new_order = sf.query("SELECT Member__c, Member_Contact__c FROM EC_Order__c WHERE Order_Number__c = 'CLO-1-3'")
    assert (new_order["records"][0]["Member__c"], new_order["records"][0]["Member_Contact__c"]) == (
        None, world["contacts"]["CL1"])

    summary = push_all(world)
    assert summary.persons_created == 0, f"a converted member must not become a second person: {summary}"
    assert not summary.persons_skipped and not summary.orders_skipped and not summary.waiting, summary
    assert summary.orders_pushed >= 1
    for k in MEMBERS:
        [person] = leads_by_email(client, f"conv{k}@example.jp")  # exactly one person per member
        assert str(person["id"]) == world["leads_before"][f"CL{k}"]["Marketo_Id__c"], "the person kept its id"
    [person1] = leads_by_email(client, "conv1@example.jp")
    assert person1["lastName"] == "転換後" and person1["lastOrderNumber"] == "CLO-1-3"
    assert sorted(o["orderNumber"] for o in orders_of(client, [person1["id"]])) == ["CLO-1-1", "CLO-1-2", "CLO-1-3"]
    token = client.get_paging_token("2000-01-01T00:00:00Z")
    history = [a for a in client.get_activities([12, 13], token, lead_ids=[person1["id"]])]
    assert [a for a in history if a["activityTypeId"] == 12], "the person's New Lead activity is kept"
    assert len(history) >= 2, "its history: created before the conversion, changed after it"
    written = sf.Contact.get(world["contacts"]["CL1"])
    assert written["Marketo_Id__c"] == str(person1["id"]) and not written["Marketo_Push_Error__c"]
    assert push_all(world).persons_created == 0, "a second push creates nobody either"
    full = push_all(world, full=True)
    assert full.members_read == len(MEMBERS), "a full push reads unconverted Leads and Contacts, never dead Leads"
    assert full.persons_created == 0 and not full.persons_skipped, full
    [person1] = leads_by_email(client, "conv1@example.jp")
    assert person1["lastName"] == "転換後", "the converted Lead's old values are never pushed over the Contact's"


def test_the_push_marketo_task_pushes_both_views_with_a_state_each(pushed_then_converted: dict[str, Any],
                                                                    tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The CumulusCI task itself (in process): a first run with no push state reads everything, the
    unconverted Leads and the Contacts (never the converted Leads), and creates nobody."""
    from cumulusci.core.config import OrgConfig

    from python_tasks.push.task import PushMarketo
    from tests.seed.test_task import create_task

    world = pushed_then_converted
    org, marketo = world["org"], world["marketo"]
    for name, value in (("MARKETO_BASE_URL", marketo.url), ("MARKETO_CLIENT_ID", marketo.client_id),
                        ("MARKETO_CLIENT_SECRET", marketo.client_secret),
                        ("ECBRIDGE_PUSH_REPORTS_DIR", str(tmp_path / "reports"))):
        monkeypatch.setenv(name, value)
    org_config = OrgConfig({"instance_url": org.url, "access_token": org.access_token, "org_id": org.org_id,
                            "id": f"{org.url}/id/{org.org_id}/{org.user_id}", "username": org.username}, "local")
    task = create_task(PushMarketo, {"mapping": str(world["base"] / "project" / "ecbridge.yml"),
                                     "state_dir": str(tmp_path / "state")}, org_config)
    task()
    values = task.return_values
    assert values["persons_created"] == 0 and values["persons_skipped"] == 0, values
    assert values["members_read"] == len(MEMBERS), values
    states = sorted(p.name for p in (tmp_path / "state").glob("push-state-*.sqlite3"))
    assert len(states) == 2 and sum(f"-{org.org_id}-converted-" in name for name in states) == 1, states


def test_after_the_conversion_an_ec_withdrawal_opts_the_contact_out_and_reaches_marketo(
        pushed_then_converted: dict[str, Any]) -> None:
    """Consent (the mapping's consent section) follows the member onto its Contact."""
    world = pushed_then_converted
    sf, client = world["sf"], world["client"]
    at = "2024-07-01T10:00:00Z"
    results = post(world, [member_event(2, at, emailOptIn=False)])
    assert results[f"cl-m-2-{at}"]["recordId"] == world["contacts"]["CL2"], "the event went to the Contact"
    contact = sf.Contact.get(world["contacts"]["CL2"])
    assert contact["HasOptedOutOfEmail"] is True
    assert contact["Marketo_Unsubscribe_Reason__c"] == "EC site: consent withdrawn"
    push_all(world)
    [person] = client.get_leads_by_filter("email", ["conv2@example.jp"], ["id", "unsubscribed", "unsubscribedReason"])
    assert person["unsubscribed"] is True and person["unsubscribedReason"] == "EC site: consent withdrawn"


def test_the_streaming_push_follows_the_contact_a_lead_became(pushed_then_converted: dict[str, Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``push_marketo -o watch stream``: the generated Change Data Capture selection includes the
    Contact a Lead converts into, and a streamed change of that Contact updates the same person."""
    import threading
    import time

    from cumulusci.core.config import OrgConfig

    from localcloud.salesforce.pubsub import PubSubSettings, start_pubsub
    from python_tasks.push.task import PushMarketo
    from tests.localorg_pubsub.conftest import deploy_zip
    from tests.push.helpers import leads_by_email
    from tests.seed.test_task import create_task

    world = pushed_then_converted
    org, marketo, sf, client = world["org"], world["marketo"], world["sf"], world["client"]
    prefix = "main/default/"
    channel = {path[len(prefix):].removesuffix("-meta.xml"): text for path, text in world["files"].items()
               if path.startswith(prefix + "platformEventChannelMembers/")}
    assert any("ChangeEvents_ContactChangeEvent" in path for path in channel), sorted(channel)
    pubsub = start_pubsub(org, settings=PubSubSettings(keepalive_seconds=0.5))
    try:
        job = org.deployer.deploy_zip(deploy_zip(channel))
        assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
        assert {"Lead", "Contact", "EC_Order__c"} <= set(pubsub.capture.selected()), pubsub.capture.selected()
        for name, value in (("MARKETO_BASE_URL", marketo.url), ("MARKETO_CLIENT_ID", marketo.client_id),
                            ("MARKETO_CLIENT_SECRET", marketo.client_secret), ("SF_PUBSUB_ENDPOINT", pubsub.endpoint),
                            ("ECBRIDGE_PUSH_REPORTS_DIR", str(tmp_path / "reports"))):
            monkeypatch.setenv(name, value)
        org_config = OrgConfig({"instance_url": org.url, "access_token": org.access_token, "org_id": org.org_id,
                                "id": f"{org.url}/id/{org.org_id}/{org.user_id}", "username": org.username}, "local")
        task = create_task(PushMarketo, {"mapping": str(world["base"] / "project" / "ecbridge.yml"),
                                         "state_dir": str(tmp_path / "state"), "watch": "stream",
                                         "max_cycles": "1", "stream_batch_seconds": "0.5"}, org_config)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                task()
            except BaseException as error:  # noqa: BLE001 - asserted below
                errors.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        pubsub.wait_for_streams(1, timeout=60)
        time.sleep(2.0)  # the start's catch-ups (the second once the stream answered) are done
        sf.Contact.update(world["contacts"]["CL2"], {"LastName": "ストリーム"})
        thread.join(60)
        assert not thread.is_alive(), "the streaming push did not push a batch"
        assert not errors, errors
        [person] = leads_by_email(client, "conv2@example.jp")
        assert person["lastName"] == "ストリーム", person
        assert str(person["id"]) == world["leads_before"]["CL2"]["Marketo_Id__c"], "the same person, by id"
        assert task.return_values["persons_created"] == 0, task.return_values
    finally:
        pubsub.stop()
