"""Nothing lost, nothing doubled: killed runs, injected faults, a person already in Marketo."""
from __future__ import annotations

import pytest

from python_tasks.marketo import RetryPolicy
from python_tasks.push.runner import PushOptions, PushRun
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import merge_describes
from tests.push.conftest import start_services, stop_services
from tests.push.helpers import KillAfter, Killed, leads_by_email, marketo_state, push, seed_shop


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory, push_certs):
    """The Marketo state an uninterrupted, fault-free push of the shop leaves (computed once)."""
    base = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(push_certs / "bundle.pem"))
        return _clean_state(base, push_certs)


def _clean_state(base, push_certs):
    handle = start_services(base, push_certs)
    try:
        emails = seed_shop(handle.sf)
        summary = push(handle)
        assert summary.persons_created == 5 and summary.orders_pushed == 9 and len(summary.waiting) == 1
        return marketo_state(handle.client, emails)
    finally:
        stop_services(handle)


def run_killed(services, at: int, kill_salesforce: bool = False) -> None:
    mapping = services.mapping
    client = services.client
    schema = merge_describes(mapping, client.describe2(),
                             [(co.api_name, client.describe_custom_object(co.api_name))
                              for co in mapping.marketo.custom_objects])
    sf = SalesforceIO(services.sf)
    run = PushRun(mapping, KillAfter(sf, at) if kill_salesforce else sf,
                  client if kill_salesforce else KillAfter(client, at), schema, PushOptions(chunk_size=2, cache=services.cache))
    with pytest.raises(Killed):
        run.run()


@pytest.mark.parametrize("at,where", [(1, "marketo"), (2, "marketo"), (4, "marketo"), (1, "salesforce"),
                                      (3, "salesforce")])
def test_a_run_killed_mid_way_and_resumed_ends_as_a_clean_run(services, clean_state, at, where) -> None:
    emails = seed_shop(services.sf)
    run_killed(services, at, kill_salesforce=where == "salesforce")
    push(services, chunk_size=2)
    state = marketo_state(services.client, emails)
    assert state == clean_state
    assert all(len(v) == 1 for v in state["persons"].values()), "no duplicate person"
    assert all(len(v) == 1 for v in state["orders"].values()), "no duplicate order"
    again = push(services)
    assert (again.persons_created, again.persons_updated, again.orders_pushed) == (0, 0, 0)


def test_a_run_under_injected_faults_ends_as_a_clean_run(services, clean_state) -> None:
    emails = seed_shop(services.sf)
    services.marketo.service.update_settings(
        fault_share=0.35, fault_kinds=["606", "615", "611", "502", "hang"], fault_seed=26, hang_seconds=0.8,
        expire_token_every_n_calls=4)
    faulty = services.new_client(timeout=(2.0, 0.4), retry=RetryPolicy(max_attempts=10, base_delay=0.01, max_delay=0.05))
    try:
        summary = push(services, client=faulty, chunk_size=2)
        retries = faulty.counters().retries_by_cause
    finally:
        faulty.close()
    assert retries.get("602", 0) >= 1 and retries.get("timeout", 0) >= 1, f"expired tokens and timeouts: {retries}"
    services.marketo.service.update_settings(fault_share=0.0, expire_token_every_n_calls=0)
    injected = dict(services.marketo.service.faults.injected)
    assert sum(injected.values()) >= 5 and set(injected) == {"606", "615", "611", "502", "hang"}, f"faults of every kind were injected: {injected}"
    if summary.persons_skipped or summary.orders_skipped:
        push(services)  # what a fault outlasting every retry left is pushed by the next run
    assert marketo_state(services.client, emails) == clean_state


def test_a_person_already_in_marketo_is_updated_not_duplicated(services) -> None:
    services.marketo.service.create_form_persons([{"email": "kana@example.jp", "firstName": "かな"}])
    emails = seed_shop(services.sf)
    summary = push(services)
    assert summary.persons_created == 4 and summary.persons_updated == 1
    assert len(leads_by_email(services.client, "kana@example.jp")) == 1
    assert marketo_state(services.client, emails)["persons"]["kana@example.jp"][0]["firstName"] == "花子"


def test_several_matching_persons_get_the_write_on_the_winner_and_the_cluster_is_recorded(services, tmp_path) -> None:
    svc = services.marketo.service
    form = svc.create_form_persons([{"email": "yui@example.jp"}])[0]["id"]
    contact = svc.create_crm_persons([{"email": "yui@example.jp", "sfdcType": "Contact",
                                       "sfdcContactId": "003000000000077AAA"}])[0]["id"]
    seed_shop(services.sf)
    clusters = tmp_path / "clusters.jsonl"
    summary = push(services, clusters_file=clusters)
    assert [c.chosen for c in summary.duplicate_clusters] == [contact]
    assert str(contact) in clusters.read_text() and str(form) in clusters.read_text()
    leads = {lead["id"]: lead for lead in leads_by_email(services.client, "yui@example.jp")}
    assert leads[contact]["lastOrderNumber"] == "A-5" and leads[form]["lastOrderNumber"] is None


def test_after_a_dedupe_merge_the_next_push_follows_the_winner(services, tmp_path) -> None:
    from python_tasks.dedupe.apply import PlanApplier
    from python_tasks.dedupe.clusters import find_clusters
    from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead
    from python_tasks.dedupe.plan import MERGE, make_plan
    from python_tasks.dedupe.scan import scan_persons
    from python_tasks.dedupe.winner import WinnerRule

    emails = seed_shop(services.sf)
    push(services)
    [pushed] = leads_by_email(services.client, "yui@example.jp")
    crm = services.marketo.service.create_crm_persons([{"email": "yui@example.jp", "sfdcType": "Contact",
                                                        "sfdcContactId": "003000000000066AAA"}])[0]["id"]
    persons = [person_from_lead(r) for r in scan_persons(services.client, PERSON_FIELDS, gap=2)]
    plan = make_plan(find_clusters(persons, WinnerRule()), MERGE)
    assert [p.winner.id for p in plan] == [crm]
    PlanApplier(services.client, tmp_path / "audit.jsonl", PERSON_FIELDS).apply(plan)
    services.sf.Contact.update(services.sf.query("SELECT Id FROM Contact WHERE EC_Member_Id__c = 'K3'")
                               ["records"][0]["Id"], {"FirstName": "ゆい"})
    summary = push(services)
    assert summary.persons_created == 0 and summary.persons_updated == 1
    [lead] = leads_by_email(services.client, "yui@example.jp")
    assert lead["id"] == crm and lead["firstName"] == "ゆい" and lead["lastOrderNumber"] == "A-5"
    member = services.sf.query("SELECT Marketo_Id__c FROM Contact WHERE EC_Member_Id__c = 'K3'")["records"][0]
    assert member["Marketo_Id__c"] == str(crm) != str(pushed["id"])
    state = marketo_state(services.client, emails)
    assert {o[0]["person"] for n, o in state["orders"].items() if n in ("A-4", "A-5", "A-6")} == {"yui@example.jp"}
    assert all(len(v) == 1 for v in state["persons"].values())


def test_a_person_marked_superseded_is_not_written_the_winner_is(services) -> None:
    svc = services.marketo.service
    old = svc.create_form_persons([{"email": "sho@example.jp", "firstName": "旧"}])[0]["id"]
    winner = svc.create_crm_persons([{"email": "sho@example.jp", "sfdcType": "Contact",
                                      "sfdcContactId": "003000000000044AAA"}])[0]["id"]
    services.client.sync_leads([{"id": old, "ecbSupersededBy": winner}], action="updateOnly", lookup_field="id")
    seed_shop(services.sf)
    summary = push(services)
    assert summary.duplicate_clusters == [], "a marked person is routed, not a new cluster"
    leads = {lead["id"]: lead for lead in leads_by_email(services.client, "sho@example.jp")}
    assert leads[winner]["firstName"] == "翔" and leads[winner]["lastOrderNumber"] == "A-7"
    assert leads[old]["firstName"] == "旧" and leads[old]["lastOrderNumber"] is None


def test_a_spent_daily_quota_stops_the_run_cleanly_and_the_next_day_finishes_it(services, clean_state) -> None:
    emails = seed_shop(services.sf)
    services.marketo.service.update_settings(daily_quota=8)
    summary = push(services, chunk_size=2)
    assert "607" in summary.stopped or "quota" in summary.stopped, summary.stopped
    assert summary.persons_created < 5
    services.marketo.service.update_settings(daily_quota=50_000)
    push(services, chunk_size=2)
    assert marketo_state(services.client, emails) == clean_state
