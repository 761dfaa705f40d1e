"""Benchmark (issue 10): out-of-order, duplicated, concurrent delivery at full scale.

10,000 members (10% also updated later) and 30,000 orders with lines, shuffled, 10% delivered twice, by 8
concurrent senders, to the local org with the project's Apex deployed (in-process, port 0). Prints and
writes to reports/resilience/delivery.json: events per second held, calls, retries, and the counts that must
be zero (lost, doubled, unattached, rejected).

    .venv/bin/python bench/bench_resilience_delivery.py [--members 10000] [--orders 30000] [--senders 8]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._resilience import shown_path, trusted_scratch  # noqa: E402
from tests.resilience.conftest import start_deployed_org  # noqa: E402
from tests.resilience.delivery import PROBLEM_KEYS, build_world, deliver, shuffled_with_duplicates, verify_world  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--orders", type=int, default=30_000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "resilience" / "delivery.json")
    args = parser.parse_args()

    from rich.progress import Progress

    with trusted_scratch() as (base, certificates):
        org = start_deployed_org(base / "org", certificates)
        try:
            world = build_world("BD", args.members, args.orders, seed=20261128)
            sent = shuffled_with_duplicates(world.events, seed=7)
            with Progress() as progress:
                task = progress.add_task("delivering", total=len(sent))
                report = deliver(org.url, org.org.access_token, org.bundle, sent, senders=args.senders,
                                 progress=lambda n: progress.advance(task, n))
            started = time.perf_counter()
            outcome = verify_world(world, org.query_all)
            verify_seconds = time.perf_counter() - started
        finally:
            org.org.stop()

    statuses: dict[str, int] = {}
    for answers in report.answers.values():
        for status in answers:
            statuses[status] = statuses.get(status, 0) + 1
    figures = {
        "members": args.members, "orders": args.orders, "senders": args.senders,
        "events_distinct": len(world.events), "events_sent": len(sent), "calls": report.calls,
        "attempts": report.attempts, "retried_calls": report.retried_calls,
        "seconds": round(report.seconds, 1), "events_per_second": round(len(sent) / report.seconds, 1),
        "statuses": statuses, "rejected": len(report.rejected), "unanswered": len(report.unanswered),
        "org_members": outcome["members"], "org_orders": outcome["orders"], "org_lines": outcome["lines"],
        **{k: len(outcome[k]) for k in PROBLEM_KEYS}, "verify_seconds": round(verify_seconds, 1),
    }
    lost = len(outcome["lost_members"]) + len(outcome["lost_orders"]) + len(report.unanswered)
    figures["lost"] = lost
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"delivered {len(sent):,} events ({len(world.events):,} distinct, {len(sent) - len(world.events):,} twice) "
          f"in {report.calls} calls by {args.senders} senders: {figures['events_per_second']:,} events/second held "
          f"over {report.seconds:.0f} s; retried calls {report.retried_calls}")
    print(f"org: {outcome['members']:,} members, {outcome['orders']:,} orders, {outcome['lines']:,} lines; statuses {statuses}")
    print("lost: {lost}, doubled members: {dm}, doubled orders: {do}, unattached: {ua}, misattached: {ma}, "
          "rejected: {rj}, wrong latest version: {wl}".format(
              lost=lost, dm=figures["doubled_members"], do=figures["doubled_orders"], ua=figures["unattached"],
              ma=figures["misattached"], rj=figures["rejected"], wl=figures["wrong_last_name"]))
    print(f"figures written to {shown_path(args.out, ROOT)}")
    bad = lost + sum(len(outcome[k]) for k in PROBLEM_KEYS) + len(report.rejected)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
