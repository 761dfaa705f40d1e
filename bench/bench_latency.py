"""Benchmark (issue 14): how soon an EC order reaches Marketo through ``push_marketo -o watch stream``,
and what the streaming push costs while the org is idle.

A local org with the project's Apex deployed and its Pub/Sub API (Change Data Capture selected as
force-app selects it), a local Marketo, and the streaming push (python_tasks/push/stream.py) running
in a thread, all in-process on 127.0.0.1. 8 concurrent EC senders post 200 members, each with one
order (one POST of the two events), to the EC endpoint. A watcher reads Marketo every
``--poll`` seconds; a member counts as arrived when its person carries the order's last-order
fields (lastOrderNumber) and its ``ecOrder_c`` record is readable. Prints p50 / p95 / max from each
POST's answer to that moment (resolution: the poll interval), then the Salesforce REST calls the
streaming push made while the org stayed idle for ``--idle`` seconds (default 300). Goals (the issue):
p95 at most 5 s, 0 idle calls.

    .venv/bin/python bench/bench_latency.py [--members 200] [--senders 8] [--idle 300] [--poll 0.5]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._resilience import shown_path, trusted_scratch  # noqa: E402
from tests.push.conftest import start_services, stop_services  # noqa: E402
from tests.push.test_stream import Streamer, start_cdc  # noqa: E402

ENDPOINT = "/services/apexrest/ecbridge/v1/events"


def pair(m: int, prefix: str) -> tuple[str, str, list[dict[str, Any]]]:
    """One member and its order, as the EC site sends them."""
    member_id, email, number = f"{prefix}M{m:05d}", f"{prefix.lower()}.m{m}@example.com", f"{prefix}O{m:05d}"
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    events = [
        {"id": f"{prefix}-m{m}", "type": "member", "occurredAt": at,
         "data": {"memberId": member_id, "email": email, "lastName": f"Name{m}", "firstName": "太郎"}},
        {"id": f"{prefix}-o{m}", "type": "order", "occurredAt": at,
         "data": {"orderNumber": number, "memberId": member_id, "orderDate": at, "totalAmount": 1200,
                  "status": "paid", "lines": [{"productName": f"Tea {m}", "sku": "T1", "quantity": 1, "unitPrice": 1200}]}},
    ]
    return email, number, events


class MarketoWatcher:
    """Polls Marketo for the persons not yet arrived; records when each carries its order."""

    def __init__(self, client: Any, expected: dict[str, str], poll: float) -> None:
        self.client = client
        self.expected = expected  # email -> order number
        self.poll = poll
        self.arrived: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set() and len(self.arrived) < len(self.expected):
            waiting = [e for e in self.expected if e not in self.arrived]
            for start in range(0, len(waiting), 100):
                chunk = waiting[start:start + 100]
                leads = [lead for lead in self.client.get_leads_by_filter("email", chunk, ["id", "email", "lastOrderNumber"])
                         if lead.get("lastOrderNumber") == self.expected.get(lead["email"])]
                if not leads:
                    continue
                seen = {r.get("leadId"): r.get("orderNumber") for r in self.client.get_custom_objects(
                    "ecOrder_c", "leadId", [lead["id"] for lead in leads], ["orderNumber", "leadId"])}
                now = time.monotonic()
                for lead in leads:
                    if seen.get(lead["id"]) == lead["lastOrderNumber"]:
                        self.arrived.setdefault(lead["email"], now)
            self.stop.wait(self.poll)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--idle", type=float, default=300.0, help="seconds the org stays idle (default 300)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between the watcher's Marketo reads")
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "push" / "latency.json")
    args = parser.parse_args()

    with trusted_scratch() as (base, certificates):
        services = start_services(base, certificates.ca_cert.parent)
        pubsub = start_cdc(services.org)
        streamer = Streamer(services, pubsub, certificates.ca_cert.parent).start()
        try:
            streamer.streaming()
            pairs = [pair(m, "LAT") for m in range(args.members)]
            watcher = MarketoWatcher(services.new_client(), {email: number for email, number, _ in pairs}, args.poll)
            answered: dict[str, float] = {}
            lock = threading.Lock()
            local = threading.local()

            def send(item: tuple[str, str, list[dict[str, Any]]]) -> None:
                if not hasattr(local, "session"):
                    local.session = requests.Session()
                    local.session.headers["Authorization"] = f"Bearer {services.org.access_token}"
                email, _number, events = item
                answer = local.session.post(services.org.url + ENDPOINT, json={"events": events}, timeout=120)
                answer.raise_for_status()
                with lock:
                    answered[email] = time.monotonic()

            watcher.thread.start()
            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=args.senders) as pool:
                list(pool.map(send, pairs))
            sent_seconds = time.monotonic() - started
            watcher.thread.join(args.timeout)
            watcher.stop.set()
            latencies = [watcher.arrived[e] - answered[e] for e in answered if e in watcher.arrived]
            missing = len(pairs) - len(latencies)
            time.sleep(3)  # the last write-backs' events arrive and are skipped
            assert streamer.sf_io is not None
            calls_before, pushes_before = streamer.sf_io.calls, streamer.stats.batches
            print(f"idle for {args.idle:g} s ...", flush=True)
            time.sleep(args.idle)
            idle_calls = streamer.sf_io.calls - calls_before
            idle_pushes = streamer.stats.batches - pushes_before
            stats = streamer.stats
        finally:
            try:
                streamer.stop()
            finally:
                pubsub.stop()
                stop_services(services)

    figures = {
        "members": args.members, "senders": args.senders, "poll_seconds": args.poll,
        "send_seconds": round(sent_seconds, 2), "arrived": len(latencies), "missing": missing,
        "p50_seconds": round(statistics.median(latencies), 2) if latencies else None,
        "p95_seconds": round(percentile(latencies, 0.95), 2) if latencies else None,
        "max_seconds": round(max(latencies), 2) if latencies else None,
        "stream_batches": stats.batches, "events": stats.events, "skipped_events": stats.skipped_events,
        "idle_seconds": args.idle, "idle_salesforce_calls": idle_calls, "idle_pushes": idle_pushes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"{args.members} members with one order each, posted by {args.senders} senders in {sent_seconds:.1f} s")
    print(f"POST answered -> person with its last-order fields and ecOrder_c readable in Marketo "
          f"(poll {args.poll:g} s): p50 {figures['p50_seconds']} s, p95 {figures['p95_seconds']} s, "
          f"max {figures['max_seconds']} s; {missing} never arrived")
    print(f"streamed: {stats.events} change events, {stats.skipped_events} skipped (write-backs, lines), "
          f"{stats.batches} pushes")
    print(f"idle {args.idle:g} s: {idle_calls} Salesforce REST calls by the streaming push, {idle_pushes} pushes")
    print(f"figures written to {shown_path(args.out, ROOT)}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
