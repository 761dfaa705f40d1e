"""Marketo faults across a full push at a larger scale than the push area's test (issue 10): 150 members,
450 orders; 20% of Marketo calls answer 606, 615, 611, 502 or hang past the client's timeout, and every
access token expires after 50 calls. The push (run again while anything was left) must end in exactly the
Marketo state a clean push leaves: normalised exports of persons and ecOrder_c compared whole."""
from __future__ import annotations


from python_tasks.marketo import RetryPolicy
from tests.push.conftest import start_services, stop_services
from tests.push.helpers import push

from .world import marketo_export, seed_world

from .conftest import WORLD_MEMBERS as MEMBERS, WORLD_ORDERS as ORDERS, WORLD_SEED


def test_a_full_push_under_faults_and_expiring_tokens_ends_as_a_clean_push(tmp_path, resilience_certs, clean_export) -> None:
    services = start_services(tmp_path, resilience_certs.ca_cert.parent)
    try:
        emails = seed_world(services.sf, MEMBERS, ORDERS, seed=WORLD_SEED)
        marketo = services.marketo.service
        marketo.update_settings(fault_share=0.2, fault_kinds=["606", "615", "611", "502", "hang"], fault_seed=10,
                                hang_seconds=0.6, expire_token_every_n_calls=50)
        faulty = services.new_client(timeout=(2.0, 0.3), retry=RetryPolicy(max_attempts=12, base_delay=0.01, max_delay=0.05))
        runs = 0
        try:
            while True:
                runs += 1
                summary = push(services, client=faulty, chunk_size=8)
                if not (summary.persons_skipped or summary.orders_skipped or summary.stopped) or runs == 4:
                    break
            counters = faulty.counters()
        finally:
            faulty.close()
        marketo.update_settings(fault_share=0.0, expire_token_every_n_calls=0)
        injected = dict(marketo.faults.injected)

        assert set(injected) == {"606", "615", "611", "502", "hang"}, injected
        assert sum(injected.values()) >= 20, injected
        assert counters.retries_by_cause.get("602", 0) >= 1, f"tokens expired mid-run: {counters.retries_by_cause}"
        assert counters.retries_by_cause.get("timeout", 0) >= 1, counters.retries_by_cause
        export = marketo_export(services.client, emails)
        assert len(export["persons"]) == MEMBERS and len({p["email"] for p in export["persons"]}) == MEMBERS
        assert len({o["orderNumber"] for o in export["orders"]}) == len(export["orders"]), "no doubled order"
        assert export == clean_export
        print(f"calls {counters}; faults injected {injected}; retries by cause {counters.retries_by_cause}; runs {runs}")
    finally:
        stop_services(services)
