"""Benchmark (issue 10): a full push under Marketo faults, at a larger scale than the test.

A clean push and a faulty push of the same world (default 1,000 members, 3,000 orders): in the faulty one
20% of Marketo calls answer 606, 615, 611, 502 or hang past the client's read timeout, and every access
token expires after 50 calls. Prints and writes to reports/resilience/faults.json: faults injected and
survived, retries by cause, runs needed, seconds, and whether the final Marketo export equals the clean one
(records lost / doubled: 0).

    .venv/bin/python bench/bench_resilience_faults.py [--members 1000] [--orders 3000] [--chunk 50]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._resilience import lost_and_doubled, patient_export, shown_path, trusted_scratch  # noqa: E402
from python_tasks.marketo import RetryPolicy  # noqa: E402
from tests.push.conftest import start_services, stop_services  # noqa: E402
from tests.push.helpers import push  # noqa: E402
from tests.resilience.world import marketo_export, seed_world  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=50)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "resilience" / "faults.json")
    args = parser.parse_args()
    with trusted_scratch() as (base, _certificates):
        clean = start_services(base / "clean", base / "tls")
        try:
            emails = seed_world(clean.sf, args.members, args.orders, seed=8)
            started = time.perf_counter()
            push(clean, client=clean.new_client(retry=RetryPolicy(max_attempts=8, base_delay=1.0, max_delay=5.0)),
                 chunk_size=args.chunk)
            clean_seconds = time.perf_counter() - started
            reference = marketo_export(clean.client, emails)
        finally:
            stop_services(clean)
        services = start_services(base / "faulty", base / "tls")
        try:
            seed_world(services.sf, args.members, args.orders, seed=8)
            marketo = services.marketo.service
            marketo.update_settings(fault_share=0.2, fault_kinds=["606", "615", "611", "502", "hang"], fault_seed=3,
                                    hang_seconds=0.6, expire_token_every_n_calls=50)
            faulty = services.new_client(timeout=(2.0, 0.3),
                                         retry=RetryPolicy(max_attempts=12, base_delay=0.05, max_delay=1.0))
            runs = 0
            started = time.perf_counter()
            try:
                while True:
                    runs += 1
                    summary = push(services, client=faulty, chunk_size=args.chunk)
                    if not (summary.persons_skipped or summary.orders_skipped or summary.stopped) or runs == 5:
                        break
                counters = faulty.counters()
            finally:
                faulty.close()
            faulty_seconds = time.perf_counter() - started
            marketo.update_settings(fault_share=0.0, expire_token_every_n_calls=0)
            injected = dict(marketo.faults.injected)
            export = patient_export(services, emails)
        finally:
            stop_services(services)
    figures = {
        "members": args.members, "orders": args.orders, "chunk_size": args.chunk,
        "clean_push_seconds": round(clean_seconds, 1), "faulty_push_seconds": round(faulty_seconds, 1), "runs": runs,
        "marketo_calls": sum(counters.calls_by_endpoint.values()), "faults_injected": injected,
        "faults_injected_total": sum(injected.values()), "retries_by_cause": counters.retries_by_cause,
        "token_expiries_survived": counters.retries_by_cause.get("602", 0),
        **lost_and_doubled(reference, export),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"push of {args.members:,} members and {args.orders:,} orders under 20% faults: "
          f"{figures['faults_injected_total']} faults injected {injected}, {figures['token_expiries_survived']} token "
          f"expiries, {figures['marketo_calls']} Marketo calls, {runs} run(s), {faulty_seconds:.0f} s "
          f"(clean push {clean_seconds:.0f} s)")
    print(f"records lost: {figures['persons_lost'] + figures['orders_lost']}, doubled: "
          f"{figures['persons_doubled'] + figures['orders_doubled']}; equals the clean push: {figures['equals_clean_push']}")
    print(f"figures written to {shown_path(args.out, ROOT)}")
    return 0 if figures["equals_clean_push"] else 1


if __name__ == "__main__":
    sys.exit(main())
