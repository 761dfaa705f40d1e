"""Crashes (issue 10). push_marketo and marketo_dedupe, the real CumulusCI tasks in a subprocess, are killed
with SIGKILL at seeded random moments, then run again: no person or custom object record lost or doubled
(the Marketo export equals a clean push's), no merge applied twice. The local org and the local Marketo,
run as `python -m localcloud serve`, are killed mid-write and restarted: every acknowledged write is there.
(Ten kills each: bench/bench_resilience_crashes.py.)"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests

from python_tasks.marketo import RetryPolicy
from tests.localorg_http.cci import cci_env
from tests.mdapi import force_app_mdapi_zip
from tests.push.conftest import start_services, stop_services

from .conftest import API, ENDPOINT, ROOT, WORLD_MEMBERS, WORLD_ORDERS, WORLD_SEED
from .crashes import (LocalCloudProcess, activity_owners, audit_lines, dedupe_world, deploy_over_soap, kill_and_rerun,
                      stored_counts, tombstones)
from .world import leads_by_emails, marketo_emails_present, marketo_export, seed_world


def _task_env(services: Any, home: Path) -> dict[str, str]:
    return cci_env(services.org, home, {"MARKETO_BASE_URL": services.marketo.url,
                                        "MARKETO_CLIENT_ID": services.marketo.client_id,
                                        "MARKETO_CLIENT_SECRET": services.marketo.client_secret})


def test_push_killed_at_random_points_then_rerun_ends_as_a_clean_push(tmp_path, resilience_certs, clean_export) -> None:
    services = start_services(tmp_path / "world", resilience_certs.ca_cert.parent)
    try:
        emails = seed_world(services.sf, WORLD_MEMBERS, WORLD_ORDERS, seed=WORLD_SEED)
        options = {"state_dir": tmp_path / "state", "chunk_size": 5, "calls_per_window": 80}
        report = kill_and_rerun(_task_env(services, tmp_path / "home"), "push_marketo", options, kills=3, seed=1,
                                delay=(0.0, 1.5), observe=lambda: stored_counts(tmp_path / "world" / "marketo"))
        assert report.kills >= 2, f"the task must have been killed mid-run: {report}"
        full = (len(clean_export["persons"]), len(clean_export["orders"]))
        assert any(0 < sum(n) < sum(full) for n in report.partial_states), \
            f"a kill must land mid-push: (persons, orders) after each kill {report.partial_states}, complete {full}"
        patient = services.new_client(retry=RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=6.0))
        try:  # the killed runs may have spent the 20-second call window: wait for it like a real client
            export = marketo_export(patient, emails)
        finally:
            patient.close()
        assert len({p["email"] for p in export["persons"]}) == len(export["persons"]) == WORLD_MEMBERS, "no person lost or doubled"
        assert len({o["orderNumber"] for o in export["orders"]}) == len(export["orders"]), "no order doubled"
        assert export == clean_export
    finally:
        stop_services(services)


def test_dedupe_killed_at_random_points_then_rerun_merges_each_person_once(tmp_path, resilience_certs) -> None:
    services = start_services(tmp_path / "world", resilience_certs.ca_cert.parent)
    try:
        marketo_dir = tmp_path / "world" / "marketo"
        clusters = dedupe_world(services.marketo.service, clusters=120, seed=3)
        everyone = {i for ids in clusters.values() for i in ids}
        reports = tmp_path / "reports"
        options = {"output_dir": reports, "apply": "True", "scan_gap": 2, "calls_per_window": 80,
                   "push_clusters": tmp_path / "none.jsonl"}
        report = kill_and_rerun(_task_env(services, tmp_path / "home"), "marketo_dedupe", options, kills=3, seed=2,
                                delay=(0.0, 1.0), observe=lambda: len(tombstones(marketo_dir)))
        assert report.kills >= 2, report
        losers_total = sum(len(ids) - 1 for ids in clusters.values())
        assert any(0 < n < losers_total for n in report.partial_states), f"a kill must land mid-apply: {report.partial_states}"

        graves = tombstones(marketo_dir)
        assert all(g["kind"] == "merged" for g in graves), "nothing deleted, only merged"
        assert len(graves) == len({g["id"] for g in graves}) == losers_total, "every loser merged exactly once"
        patient = services.new_client(retry=RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=6.0))
        try:
            survivors = leads_by_emails(patient, list(clusters), ["id", "email"])
        finally:
            patient.close()
        assert sorted(lead["email"].lower() for lead in survivors) == sorted(clusters), "one person per email"
        alive = {lead["id"] for lead in survivors}
        assert {g["merged_into"] for g in graves} <= alive and alive | {g["id"] for g in graves} == everyone
        owners = activity_owners(marketo_dir)
        assert all(owners[i] in alive for i in everyone if i in owners), "every loser's history moved to its winner"
        audit = audit_lines(reports / "audit.jsonl")
        merged = [loser for line in audit if line["result"] == "merged" for loser in line["losers"]]
        assert len(merged) == len(set(merged)), "the audit log never records a merge twice"
        assert not [line for line in audit if line["result"] == "failed"], "no merge re-sent and refused"
    finally:
        stop_services(services)


# ----------------------------------------------------------------- the services killed mid-write

def _writers(send: Any, count: int, stop: threading.Event, acked: list[Any], lock: threading.Lock) -> list[threading.Thread]:
    def loop(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            try:
                result = send(worker, n)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            if result:
                with lock:
                    acked.extend(result)
    threads = [threading.Thread(target=loop, args=(w,), daemon=True) for w in range(count)]
    for thread in threads:
        thread.start()
    return threads


def test_local_org_and_marketo_killed_mid_write_keep_every_acknowledged_write(tmp_path, resilience_certs) -> None:
    cloud = LocalCloudProcess(tmp_path / "home", resilience_certs.ca_cert.parent)
    state = cloud.start()
    bundle = state["ca_bundle"]
    deploy_over_soap(state["org"]["instance_url"], state["org"]["org_id"], state["org"]["access_token"],
                     force_app_mdapi_zip(include_tests=False), bundle)
    acked_contacts: list[str] = []
    acked_leads: list[str] = []
    acked_events: list[tuple[str, str]] = []  # (member key, order number) of calls answered "created"
    lock = threading.Lock()
    try:
        for round_number in range(2):
            org, marketo = state["org"], state["marketo"]
            session = requests.Session()
            session.verify = bundle
            token = session.get(marketo["base_url"] + "/identity/oauth/token", params={
                "grant_type": "client_credentials", "client_id": marketo["client_id"],
                "client_secret": marketo["client_secret"]}, verify=bundle, timeout=30).json()["access_token"]

            def create_contact(worker: int, n: int) -> list[str]:
                answer = session.post(f"{org['instance_url']}/services/data/v{API}/sobjects/Contact",
                                      json={"LastName": f"Ack {round_number}-{worker}-{n}"},
                                      headers={"Authorization": f"Bearer {org['access_token']}"}, verify=bundle, timeout=10)
                return [answer.json()["id"]] if answer.status_code == 201 else []

            def create_leads(worker: int, n: int) -> list[str]:
                emails = [f"ack{round_number}.{worker}.{n}.{i}@example.jp" for i in range(5)]
                answer = session.post(marketo["base_url"] + "/rest/v1/leads.json",
                                      json={"action": "createOnly", "lookupField": "email",
                                            "input": [{"email": e} for e in emails]},
                                      headers={"Authorization": f"Bearer {token}"}, verify=bundle, timeout=10).json()
                if not answer.get("success"):
                    return []
                return [e for e, r in zip(emails, answer["result"]) if r.get("status") == "created"]

            def send_events(worker: int, n: int) -> list[tuple[str, str]]:
                key, number = f"K{round_number}-{worker}-{n}", f"N{round_number}-{worker}-{n}"
                events = [{"id": f"o-{number}", "type": "order", "occurredAt": "2026-01-01T00:00:00Z",
                           "data": {"orderNumber": number, "memberId": key, "orderDate": "2026-01-01T00:00:00Z",
                                    "lines": [{"productName": "茶", "quantity": 1}]}},
                          {"id": f"m-{key}", "type": "member", "occurredAt": "2026-01-01T00:00:00Z",
                           "data": {"memberId": key, "email": f"{key.lower()}@example.jp", "lastName": "Ack"}}]
                answer = session.post(f"{org['instance_url']}{ENDPOINT}", json={"events": events}, verify=bundle,
                                      headers={"Authorization": f"Bearer {org['access_token']}"}, timeout=30)
                if answer.status_code == 200 and [r["status"] for r in answer.json()["results"]] == ["created"] * 2:
                    return [(key, number)]
                return []

            stop = threading.Event()
            threads = (_writers(create_contact, 2, stop, acked_contacts, lock)
                       + _writers(create_leads, 2, stop, acked_leads, lock)
                       + _writers(send_events, 2, stop, acked_events, lock))
            time.sleep(1.5 + round_number * 0.7)
            cloud.kill()  # SIGKILL while the writers are mid-call
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            state = cloud.start()
        assert len(acked_contacts) > 10 and len(acked_leads) > 20 and len(acked_events) > 5, \
            (len(acked_contacts), len(acked_leads), len(acked_events))

        org, marketo = state["org"], state["marketo"]
        headers = {"Authorization": f"Bearer {org['access_token']}"}
        found: set[str] = set()
        url = f"{org['instance_url']}/services/data/v{API}/query?q=SELECT+Id+FROM+Contact"
        while url:
            page = requests.get(url, headers=headers, verify=bundle, timeout=60).json()
            found |= {r["Id"] for r in page["records"]}
            url = org["instance_url"] + page["nextRecordsUrl"] if not page["done"] else ""
        assert set(acked_contacts) <= found, f"acknowledged Contacts lost: {sorted(set(acked_contacts) - found)[:5]}"
        url = (f"{org['instance_url']}/services/data/v{API}/query?q=SELECT+Order_Number__c,Member__r.EC_Member_Id__c"
               "+FROM+EC_Order__c")
        attached: dict[str, str] = {}
        while url:
            page = requests.get(url, headers=headers, verify=bundle, timeout=60).json()
            attached.update({r["Order_Number__c"]: (r.get("Member__r") or {}).get("EC_Member_Id__c") for r in page["records"]})
            url = org["instance_url"] + page["nextRecordsUrl"] if not page["done"] else ""
        lost = [(k, n) for k, n in acked_events if attached.get(n) != k]
        assert lost == [], f"acknowledged EC events lost or unattached after the restart: {lost[:5]}"
        present = marketo_emails_present(marketo, bundle, acked_leads)
        assert set(acked_leads) <= present, f"acknowledged leads lost: {sorted(set(acked_leads) - present)[:5]}"
    finally:
        cloud.stop()


def test_two_pushes_started_at_once_never_double_a_person(tmp_path, resilience_certs) -> None:
    """Two push_marketo processes against one Marketo from one machine: one holds the run lock, the other
    refuses with a clear message; after both, every person and order exists once."""
    from .crashes import run_task, warm_cci_home

    services = start_services(tmp_path / "world", resilience_certs.ca_cert.parent)
    try:
        emails = seed_world(services.sf, 40, 120, seed=12)
        env = _task_env(services, tmp_path / "home")
        warm_cci_home(env)
        options = {"state_dir": tmp_path / "state", "chunk_size": 5, "calls_per_window": 80}
        first, second = run_task(env, "push_marketo", **options), run_task(env, "push_marketo", **options)
        outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
        codes = sorted(p.returncode for p in (first, second))
        assert codes[0] == 0, outputs
        if codes[1] != 0:  # the usual case: the second found the first running
            assert any("another push" in out and "is running" in out for out in outputs), [o[-2500:] for o in outputs]
        patient = services.new_client(retry=RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=6.0))
        try:
            export = marketo_export(patient, emails)
        finally:
            patient.close()
        assert sorted(p["email"] for p in export["persons"]) == sorted(emails), "every person once"
        numbers = [o["orderNumber"] for o in export["orders"]]
        assert len(numbers) == len(set(numbers)), "every order once"
    finally:
        stop_services(services)


def provision_marketo(marketo: dict[str, Any], bundle: str) -> None:
    """What ecbridge_deploy's provision_marketo step does: the mapping's lead fields and ecOrder_c."""
    from python_tasks.mapping import load_mapping
    from python_tasks.marketo import MarketoClient, MarketoCredentials
    from python_tasks.provision.task import apply_all

    session = requests.Session()
    session.verify = bundle
    client = MarketoClient(MarketoCredentials(marketo["base_url"], marketo["client_id"], marketo["client_secret"]),
                           session=session)
    try:
        done, blocked = apply_all(load_mapping(ROOT / "ecbridge.yml"), client)
        assert done and not blocked, blocked
    finally:
        client.close()


def test_local_services_killed_mid_push_then_restarted_end_as_a_clean_push(tmp_path, resilience_certs, clean_export) -> None:
    """`python -m localcloud serve` (org with force-app deployed, and Marketo) is SIGKILLed while push_marketo
    writes, twice, and restarted on the same ports; the push either rides it out with its retries or stops
    with an error, and is run again until it finishes: the Marketo export equals a clean push's."""
    from types import SimpleNamespace

    from simple_salesforce import Salesforce

    from python_tasks.marketo import MarketoClient, MarketoCredentials

    from .crashes import run_task

    cloud = LocalCloudProcess(tmp_path / "home", resilience_certs.ca_cert.parent, keep_ports=True)
    state = cloud.start()
    bundle = state["ca_bundle"]
    try:
        org, marketo = state["org"], state["marketo"]
        deploy_over_soap(org["instance_url"], org["org_id"], org["access_token"], force_app_mdapi_zip(include_tests=False), bundle)
        session = requests.Session()
        session.verify = bundle
        sf = Salesforce(instance_url=org["instance_url"], session_id=org["access_token"], version=API, session=session)
        emails = seed_world(sf, WORLD_MEMBERS, WORLD_ORDERS, seed=WORLD_SEED)
        provision_marketo(marketo, bundle)  # `localcloud serve` starts a fresh Marketo, as make demo does
        env = cci_env(SimpleNamespace(cumulusci_org_json=lambda: org, ca_bundle=bundle), tmp_path / "cci-home", {
            "MARKETO_BASE_URL": marketo["base_url"], "MARKETO_CLIENT_ID": marketo["client_id"],
            "MARKETO_CLIENT_SECRET": marketo["client_secret"]})
        # 60 calls per 20 s window: the ~125 calls of this push take at least two waits, so the push is still
        # running (writing, or waiting for its window) when the second kill lands, however fast the machine
        options = {"state_dir": tmp_path / "state", "chunk_size": 5, "calls_per_window": 60}
        marketo_dir = tmp_path / "home" / "marketo"
        push_process = run_task(env, "push_marketo", **options)
        outcomes: list[tuple[int, str]] = []
        killed_mid_push = 0
        for kill in range(2):  # kill the services twice while a push writes
            if push_process.poll() is not None:  # the push gave up after the last kill: the operator runs it again
                output, _ = push_process.communicate()
                outcomes.append((push_process.returncode, output[-1500:]))
                assert push_process.returncode != 0, f"the push finished before kill {kill + 1} could land: {outcomes}"
                push_process = run_task(env, "push_marketo", **options)
            before = stored_counts(marketo_dir)
            deadline = time.monotonic() + 120
            while push_process.poll() is None and stored_counts(marketo_dir) == before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.1 + 0.2 * kill)  # soon after a write: not after the push's last one
            killed_mid_push += push_process.poll() is None
            cloud.kill()
            time.sleep(1.0)
            assert cloud.start()["org"]["instance_url"] == org["instance_url"], "restarted on the same port"
        output, _ = push_process.communicate(timeout=600)
        outcomes.append((push_process.returncode, output[-1500:]))
        while outcomes[-1][0] != 0 and len(outcomes) < 5:  # a push that gave up is simply run again
            again = run_task(env, "push_marketo", **options)
            output, _ = again.communicate(timeout=600)
            outcomes.append((again.returncode, output[-1500:]))
        assert killed_mid_push == 2, f"both kills must land while the push runs: {outcomes}"
        assert outcomes[-1][0] == 0, outcomes
        client = MarketoClient(MarketoCredentials(marketo["base_url"], marketo["client_id"], marketo["client_secret"]),
                               retry=RetryPolicy(max_attempts=10, base_delay=2.0, max_delay=6.0))
        try:
            export = marketo_export(client, emails)
        finally:
            client.close()
        assert export == clean_export
    finally:
        cloud.stop()
