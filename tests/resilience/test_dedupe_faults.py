"""marketo_dedupe under Marketo faults (issue 10): 20% of calls answer 606, 615, 611, 502 or hang past the
client's timeout, tokens expire every 50 calls. Scan, plan and apply, run again while anything failed: one
person per email, every loser merged exactly once, nothing deleted, every loser's history on its winner."""
from __future__ import annotations

from python_tasks.dedupe.apply import PlanApplier
from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead
from python_tasks.dedupe.plan import MERGE, make_plan
from python_tasks.dedupe.scan import scan_persons
from python_tasks.dedupe.winner import WinnerRule
from python_tasks.marketo import RetryPolicy
from tests.push.conftest import start_services, stop_services

from .crashes import activity_owners, audit_lines, dedupe_world, tombstones


def test_dedupe_under_faults_merges_every_loser_once(tmp_path, resilience_certs) -> None:
    services = start_services(tmp_path / "world", resilience_certs.ca_cert.parent)
    marketo_dir = tmp_path / "world" / "marketo"
    try:
        clusters = dedupe_world(services.marketo.service, clusters=60, seed=9)
        everyone = {i for ids in clusters.values() for i in ids}
        marketo = services.marketo.service
        marketo.update_settings(fault_share=0.2, fault_kinds=["606", "615", "611", "502", "hang"], fault_seed=5,
                                hang_seconds=0.6, expire_token_every_n_calls=50)
        client = services.new_client(timeout=(2.0, 0.3), retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05))
        audit = tmp_path / "audit.jsonl"
        try:
            for _run in range(4):
                persons = [person_from_lead(r) for r in scan_persons(client, PERSON_FIELDS, gap=2)]
                plan = make_plan(find_clusters(persons, WinnerRule()), MERGE)
                report = PlanApplier(client, audit, PERSON_FIELDS).apply(plan)
                if not report.count("failed") and not report.stopped:
                    break
            counters = client.counters()
        finally:
            client.close()
        marketo.update_settings(fault_share=0.0, expire_token_every_n_calls=0)
        assert sum(marketo.faults.injected.values()) >= 10, marketo.faults.injected
        assert counters.retries_by_cause.get("602", 0) + counters.retries_by_cause.get("timeout", 0) >= 1

        graves = tombstones(marketo_dir)
        losers = sum(len(ids) - 1 for ids in clusters.values())
        assert all(g["kind"] == "merged" for g in graves) and len(graves) == len({g["id"] for g in graves}) == losers
        survivors = [lead for lead in services.client.get_leads_by_filter("email", list(clusters), ["id", "email"])]
        assert sorted(lead["email"].lower() for lead in survivors) == sorted(clusters)
        alive = {lead["id"] for lead in survivors}
        owners = activity_owners(marketo_dir)
        assert all(owners[i] in alive for i in everyone if i in owners)
        merged = [loser for line in audit_lines(audit) if line["result"] == "merged" for loser in line["losers"]]
        assert len(merged) == len(set(merged)) and set(merged) == everyone - alive
    finally:
        stop_services(services)
