"""Benchmark marketo_dedupe on the local Marketo: persons scanned per second and merge calls used.

    .venv/bin/python bench/bench_dedupe.py [--persons 100000] [--dup-rate 0.10] [--merge-sample 300]
    .venv/bin/python bench/bench_dedupe.py --scan-only [--scan-sizes 100000,1000000]

Persons are seeded straight into the local Marketo's store (as the CRM sync and form fills make
them: no API calls). The scan and the merges then go over HTTPS through ECBridge's client at the
real limits (100 calls per 20 s, 10 in flight; the client paces itself to them), so the figures
are what a real instance allows. Merging every cluster at the real rate takes hours for 10,000
clusters; the benchmark merges ``--merge-sample`` clusters, measures, and projects the rest.

The scan comparison (``--scan-sizes``) loads each size straight into the store (one INSERT per
person, created over ``--months`` months, with a run of ``--gap-ids`` missing ids before the last
``--after-gap`` share of persons, as a deleted import leaves) and reads the whole instance twice at
the real limits: by id windows of 300 (stopping after 20 empty windows, the task's default) and by
bulk lead extract (31-day createdAt windows). It prints calls (REST calls Marketo counted), seconds
and persons found for each method.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcloud.marketo.service import start_local_marketo  # noqa: E402
from python_tasks.dedupe.apply import PlanApplier  # noqa: E402
from python_tasks.dedupe.clusters import find_clusters  # noqa: E402
from python_tasks.dedupe.extract_scan import extract_persons  # noqa: E402
from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead  # noqa: E402
from python_tasks.dedupe.plan import MERGE, make_plan  # noqa: E402
from python_tasks.dedupe.scan import scan_persons  # noqa: E402
from python_tasks.dedupe.winner import WinnerRule  # noqa: E402
from python_tasks.marketo import MarketoClient, MarketoCredentials  # noqa: E402


def seed(service, persons: int, dup_rate: float) -> int:
    """Form fills first (Marketo-only persons), then the CRM sync creates a contact person for every
    shopper: it never deduplicates, so each form person becomes a duplicate pair."""
    duplicates = int(persons * dup_rate)
    contacts = persons - duplicates
    forms = [{"email": f"Shopper{i}@Example.JP", "lastName": "山田"} for i in range(duplicates)]
    for start in range(0, len(forms), 1000):
        service.create_form_persons(forms[start:start + 1000])
    batch = []
    for i in range(contacts):
        batch.append({"email": f"shopper{i}@example.jp", "lastName": "山田", "firstName": f"太郎{i}",
                      "sfdcType": "Contact", "sfdcContactId": f"003{i:015d}"})
        if len(batch) == 1000:
            service.create_crm_persons(batch)
            batch = []
    if batch:
        service.create_crm_persons(batch)
    return duplicates


def load_direct(service, persons: int, months: int, gap_ids: int, after_gap: float) -> None:
    """``persons`` rows straight into the store, created evenly over ``months`` months up to an hour ago."""
    import datetime as dt
    import json

    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=1)
    span = dt.timedelta(days=30.4 * months).total_seconds()
    gap_at = int(persons * (1 - after_gap)) if gap_ids else persons
    rows = []
    next_id = 1
    for i in range(persons):
        if i == gap_at:
            next_id += gap_ids
        when = (now - dt.timedelta(seconds=span * (persons - i) / persons)).strftime("%Y-%m-%dT%H:%M:%SZ")
        email = f"shopper{i}@example.jp"
        data = {"email": email, "lastName": "山田", "firstName": f"太郎{i}"}
        if i % 2:
            data.update({"sfdcType": "Contact", "sfdcContactId": f"003{i:015d}"})
        rows.append((next_id, email, json.dumps(data, ensure_ascii=False), when, when))
        next_id += 1
    with service.store.transaction() as db:
        db.executemany("INSERT INTO leads(id, email_lower, data, created_at, updated_at, origin)"
                       " VALUES (?, ?, ?, ?, ?, 'crm')", rows)


def scan_comparison(sizes: list[int], args: argparse.Namespace) -> None:
    """Both scans at the real limits for each size; prints one table row per size and method."""
    table = [("persons", "method", "calls", "seconds", "persons found")]
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            marketo = start_local_marketo(Path(tmp) / "marketo", certs_dir=Path(tmp) / "certs")
            os.environ["REQUESTS_CA_BUNDLE"] = str(marketo.ca_bundle)
            client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret),
                                   calls_per_window=args.calls_per_window, max_in_flight=10,
                                   session=requests.Session())
            try:
                started = time.perf_counter()
                load_direct(marketo.service, size, args.months, args.gap_ids, args.after_gap)
                print(f"loaded {size:,} persons in {time.perf_counter() - started:.1f} s "
                      f"({args.gap_ids:,} missing ids before the last {args.after_gap:.0%})", flush=True)
                quota = marketo.service.stats
                methods = [("bulk lead extract", lambda: extract_persons(
                    client, PERSON_FIELDS, first_poll_seconds=args.first_poll, poll_seconds=args.poll).rows)]
                if size <= args.id_scan_max:
                    methods.append(("id windows of 300", lambda: list(scan_persons(client, PERSON_FIELDS, gap=20))))
                for name, run in methods:
                    before = quota()["quotaUsedToday"]
                    started = time.perf_counter()
                    rows = run()
                    seconds = time.perf_counter() - started
                    calls = quota()["quotaUsedToday"] - before
                    found = len({int(r["id"]) for r in rows})
                    table.append((f"{size:,}", name, f"{calls:,}", f"{seconds:,.1f}", f"{found:,}"))
                    print(f"{size:,} persons, {name}: {calls:,} calls, {seconds:,.1f} s, {found:,} found", flush=True)
            finally:
                client.close()
                marketo.stop()
    print()
    print("| " + " | ".join(table[0]) + " |")
    print("| " + " | ".join("---" for _ in table[0]) + " |")
    for row in table[1:]:
        print("| " + " | ".join(row) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--dup-rate", type=float, default=0.10)
    parser.add_argument("--merge-sample", type=int, default=300)
    parser.add_argument("--calls-per-window", type=int, default=100)
    parser.add_argument("--scan-sizes", default="100000,1000000", help="sizes for the scan comparison ('' skips it)")
    parser.add_argument("--scan-only", action="store_true", help="only the scan comparison")
    parser.add_argument("--months", type=int, default=10, help="persons were created over this many months")
    parser.add_argument("--gap-ids", type=int, default=7_000, help="missing ids before the last persons")
    parser.add_argument("--after-gap", type=float, default=0.05, help="share of persons after the gap")
    parser.add_argument("--first-poll", type=float, default=5.0, help="seconds before the first status poll")
    parser.add_argument("--poll", type=float, default=5.0, help="seconds between later status polls "
                        "(60 on a real instance; the local jobs finish in seconds)")
    parser.add_argument("--id-scan-max", type=int, default=1_000_000, help="skip the id scan above this size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.scan_sizes.split(",") if s.strip()]
    if sizes:
        scan_comparison(sizes, args)
    if args.scan_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        marketo = start_local_marketo(Path(tmp) / "marketo", certs_dir=Path(tmp) / "certs")
        os.environ["REQUESTS_CA_BUNDLE"] = str(marketo.ca_bundle)  # trusted as clients do
        session = requests.Session()
        client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret),
                               calls_per_window=args.calls_per_window, max_in_flight=10, session=session)
        try:
            started = time.perf_counter()
            expected = seed(marketo.service, args.persons, args.dup_rate)
            print(f"seeded {args.persons:,} persons ({expected:,} duplicates) in {time.perf_counter() - started:.1f} s")
            calls0 = client.counters().calls
            started = time.perf_counter()
            persons = [person_from_lead(r) for r in scan_persons(client, PERSON_FIELDS, gap=3)]
            scan_seconds = time.perf_counter() - started
            scan_calls = client.counters().calls - calls0
            started = time.perf_counter()
            clusters = find_clusters(persons, WinnerRule())
            plan = make_plan(clusters, MERGE)
            cluster_seconds = time.perf_counter() - started
            print(f"scan: {len(persons):,} persons in {scan_seconds:.1f} s = {len(persons) / scan_seconds:,.0f} persons/s, "
                  f"{scan_calls} calls ({scan_calls / max(1, len(persons)) * 1000:.2f} per 1,000 persons)")
            print(f"clusters: {len(clusters):,} found in {cluster_seconds:.2f} s (expected {expected:,}; "
                  f"ratio {len(clusters) / max(1, expected):.3f})")
            sample = plan[: args.merge_sample]
            calls0 = client.counters().calls
            started = time.perf_counter()
            report = PlanApplier(client, Path(tmp) / "audit.jsonl", PERSON_FIELDS).apply(sample)
            merge_seconds = time.perf_counter() - started
            apply_calls = client.counters().calls - calls0
            per_cluster = merge_seconds / max(1, len(sample))
            print(f"apply: {report.count('merged')} clusters merged in {merge_seconds:.1f} s with {report.merge_calls} merge "
                  f"calls + {apply_calls - report.merge_calls} reads ({apply_calls / max(1, len(sample)):.2f} calls per cluster)")
            total_merge_calls = sum((len(p.acted_losers) + 24) // 25 for p in plan)
            calls_per_cluster = apply_calls / max(1, len(sample))
            total_calls = scan_calls + calls_per_cluster * len(plan)
            ceiling = args.calls_per_window / 20.0
            print(f"all {len(plan):,} clusters: {total_merge_calls:,} merge calls; with the scan "
                  f"~{total_calls:,.0f} calls = {total_calls / 50_000:.1%} of the 50,000-call daily quota, "
                  f"{total_calls / ceiling / 3600:.2f} h at the ceiling of {ceiling:.1f} calls/s")
            print(f"measured pace {apply_calls / merge_seconds:.2f} calls/s (bursts of up to {args.calls_per_window} "
                  f"calls fit in one 20 s window, so short runs exceed the sustained ceiling)")
        finally:
            client.close()
            marketo.stop()


if __name__ == "__main__":
    main()
