"""Benchmark (issue 10): crashes, ten SIGKILLs each.

- push_marketo (the real CumulusCI task, in a subprocess) killed ten times at seeded random moments, then run
  to completion: the Marketo export must equal a clean push's (no person or order lost or doubled).
- marketo_dedupe apply killed ten times, then run to completion: one person per email, every loser merged
  exactly once (tombstones and audit log), nothing deleted, every loser's history on its winner.
- the local org and local Marketo (`python -m localcloud serve`) killed ten times mid-write and restarted:
  every acknowledged write present.
Prints the figures and writes them to reports/resilience/crashes.json.

    .venv/bin/python bench/bench_resilience_crashes.py [--kills 10] [--members 1000] [--orders 3000] [--clusters 800]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from bench._resilience import lost_and_doubled, patient_client, patient_export, shown_path, trusted_scratch  # noqa: E402
from tests.localorg_http.cci import cci_env  # noqa: E402
from tests.push.conftest import start_services, stop_services  # noqa: E402
from tests.push.helpers import push  # noqa: E402
from tests.resilience.crashes import (LocalCloudProcess, activity_owners, audit_lines, dedupe_world,  # noqa: E402
                                      kill_and_rerun, stored_counts, tombstones)
from tests.resilience.world import leads_by_emails, marketo_emails_present, marketo_export, seed_world  # noqa: E402

API = "62.0"


def _env(services, home: Path) -> dict[str, str]:
    return cci_env(services.org, home, {"MARKETO_BASE_URL": services.marketo.url,
                                        "MARKETO_CLIENT_ID": services.marketo.client_id,
                                        "MARKETO_CLIENT_SECRET": services.marketo.client_secret})


def bench_push(base: Path, certs: Path, kills: int, members: int, orders: int) -> dict:
    clean = start_services(base / "clean", certs)
    try:
        emails = seed_world(clean.sf, members, orders, seed=5)
        push(clean, chunk_size=50)
        reference = marketo_export(clean.client, emails)
    finally:
        stop_services(clean)
    services = start_services(base / "killed", certs)
    try:
        seed_world(services.sf, members, orders, seed=5)
        started = time.perf_counter()
        report = kill_and_rerun(_env(services, base / "home-push"), "push_marketo",
                                {"state_dir": base / "state", "chunk_size": 5, "calls_per_window": 80},
                                kills=kills, seed=10, delay=(0.0, 1.5),
                                observe=lambda: stored_counts(base / "killed" / "marketo"))
        seconds = time.perf_counter() - started
        export = patient_export(services, emails)
    finally:
        stop_services(services)
    return {
        "members": members, "orders": orders, "kills": report.kills, "finished_before_kill": report.finished_before_kill,
        "stored_after_each_kill": report.partial_states, "reruns_to_finish": report.reruns_to_finish,
        "seconds": round(seconds, 1), **lost_and_doubled(reference, export),
    }


def bench_dedupe(base: Path, certs: Path, kills: int, clusters: int) -> dict:
    services = start_services(base / "dedupe", certs)
    marketo_dir = base / "dedupe" / "marketo"
    try:
        persons = dedupe_world(services.marketo.service, clusters=clusters, seed=3)
        everyone = {i for ids in persons.values() for i in ids}
        reports = base / "dedupe-reports"
        started = time.perf_counter()
        report = kill_and_rerun(_env(services, base / "home-dedupe"), "marketo_dedupe",
                                {"output_dir": reports, "apply": "True", "scan_gap": 2, "calls_per_window": 80,
                                 "push_clusters": base / "none.jsonl"},
                                kills=kills, seed=20, delay=(0.0, 1.5), observe=lambda: len(tombstones(marketo_dir)))
        seconds = time.perf_counter() - started
        client = patient_client(services)
        try:
            survivors = leads_by_emails(client, list(persons), ["id", "email"])
        finally:
            client.close()
    finally:
        stop_services(services)
    graves = tombstones(marketo_dir)
    alive = {lead["id"] for lead in survivors}
    owners = activity_owners(marketo_dir)
    audit = audit_lines(reports / "audit.jsonl")
    merged = [loser for line in audit if line["result"] == "merged" for loser in line["losers"]]
    losers = sum(len(ids) - 1 for ids in persons.values())
    return {
        "clusters": clusters, "persons": len(everyone), "kills": report.kills,
        "finished_before_kill": report.finished_before_kill, "merged_after_each_kill": report.partial_states,
        "reruns_to_finish": report.reruns_to_finish, "seconds": round(seconds, 1),
        "losers": losers, "losers_merged": len({g["id"] for g in graves if g["kind"] == "merged"}),
        "persons_deleted": sum(1 for g in graves if g["kind"] != "merged"),
        "merges_applied_twice": len(graves) - len({g["id"] for g in graves}) + len(merged) - len(set(merged)),
        "emails_with_not_one_person": len(persons) - len({lead["email"].lower() for lead in survivors})
                                      + (len(survivors) - len(persons)),
        "persons_lost": len(everyone - alive - {g["id"] for g in graves}),
        "history_not_on_winner": sum(1 for i in everyone if i in owners and owners[i] not in alive),
        "failed_merges_in_audit": sum(1 for line in audit if line["result"] == "failed"),
    }


def bench_services(base: Path, kills: int) -> dict:
    cloud = LocalCloudProcess(base / "cloud")
    state = cloud.start()
    bundle = state["ca_bundle"]
    acked_contacts: list[str] = []
    acked_leads: list[str] = []
    lock = threading.Lock()
    restart_seconds: list[float] = []
    try:
        for round_number in range(kills):
            org, marketo = state["org"], state["marketo"]
            token = requests.get(marketo["base_url"] + "/identity/oauth/token", params={
                "grant_type": "client_credentials", "client_id": marketo["client_id"],
                "client_secret": marketo["client_secret"]}, verify=bundle, timeout=30).json()["access_token"]
            stop = threading.Event()

            def org_writer(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    try:
                        answer = requests.post(f"{org['instance_url']}/services/data/v{API}/sobjects/Contact",
                                               json={"LastName": f"Ack {round_number}-{worker}-{n}"},
                                               headers={"Authorization": f"Bearer {org['access_token']}"},
                                               verify=bundle, timeout=10)
                    except requests.RequestException:
                        time.sleep(0.05)
                        continue
                    if answer.status_code == 201:
                        with lock:
                            acked_contacts.append(answer.json()["id"])

            def marketo_writer(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    emails = [f"ack{round_number}.{worker}.{n}.{i}@example.jp" for i in range(5)]
                    try:
                        answer = requests.post(marketo["base_url"] + "/rest/v1/leads.json",
                                               json={"action": "createOnly", "lookupField": "email",
                                                     "input": [{"email": e} for e in emails]},
                                               headers={"Authorization": f"Bearer {token}"}, verify=bundle,
                                               timeout=10).json()
                    except (requests.RequestException, ValueError):
                        time.sleep(0.05)
                        continue
                    if answer.get("success"):
                        with lock:
                            acked_leads.extend(e for e, r in zip(emails, answer["result"]) if r.get("status") == "created")

            threads = [threading.Thread(target=org_writer, args=(w,), daemon=True) for w in range(3)]
            threads += [threading.Thread(target=marketo_writer, args=(w,), daemon=True) for w in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(1.0 + (round_number % 4) * 0.4)
            cloud.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            started = time.perf_counter()
            state = cloud.start()
            restart_seconds.append(time.perf_counter() - started)
        org, marketo = state["org"], state["marketo"]
        found: set[str] = set()
        url = f"{org['instance_url']}/services/data/v{API}/query?q=SELECT+Id+FROM+Contact"
        while url:
            page = requests.get(url, headers={"Authorization": f"Bearer {org['access_token']}"}, verify=bundle,
                                timeout=60).json()
            found |= {r["Id"] for r in page["records"]}
            url = org["instance_url"] + page["nextRecordsUrl"] if not page["done"] else ""
        present = marketo_emails_present(marketo, bundle, acked_leads)
    finally:
        cloud.stop()
    return {"kills": kills, "acknowledged_org_writes": len(acked_contacts), "acknowledged_marketo_writes": len(acked_leads),
            "org_writes_lost": len(set(acked_contacts) - found), "marketo_writes_lost": len(set(acked_leads) - present),
            "restart_seconds_max": round(max(restart_seconds), 2)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--clusters", type=int, default=800)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "resilience" / "crashes.json")
    args = parser.parse_args()
    with trusted_scratch() as (base, _certificates):
        figures = {"push_marketo": bench_push(base, base / "tls", args.kills, args.members, args.orders)}
        print("push_marketo:", json.dumps(figures["push_marketo"]), flush=True)
        figures["marketo_dedupe"] = bench_dedupe(base, base / "tls", args.kills, args.clusters)
        print("marketo_dedupe:", json.dumps(figures["marketo_dedupe"]), flush=True)
        figures["local_services"] = bench_services(base, args.kills)
        print("local services:", json.dumps(figures["local_services"]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    p, d, s = figures["push_marketo"], figures["marketo_dedupe"], figures["local_services"]
    bad = (p["persons_lost"] + p["persons_doubled"] + p["orders_lost"] + p["orders_doubled"] + (not p["equals_clean_push"])
           + d["merges_applied_twice"] + d["persons_deleted"] + d["emails_with_not_one_person"] + d["persons_lost"]
           + d["history_not_on_winner"] + s["org_writes_lost"] + s["marketo_writes_lost"])
    print(f"push_marketo: {p['kills']} kills landed ({p['finished_before_kill']} runs finished first); lost "
          f"{p['persons_lost']} persons / {p['orders_lost']} orders, doubled {p['persons_doubled']} / {p['orders_doubled']}; "
          f"equals a clean push: {p['equals_clean_push']}")
    print(f"marketo_dedupe: {d['kills']} kills landed; {d['losers_merged']}/{d['losers']} losers merged, merges applied "
          f"twice {d['merges_applied_twice']}, persons deleted {d['persons_deleted']}, history off its winner "
          f"{d['history_not_on_winner']}")
    print(f"local org + Marketo: {s['kills']} SIGKILLs mid-write; acknowledged writes lost: org {s['org_writes_lost']} of "
          f"{s['acknowledged_org_writes']}, Marketo {s['marketo_writes_lost']} of {s['acknowledged_marketo_writes']}")
    print(f"figures written to {shown_path(args.out, ROOT)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
