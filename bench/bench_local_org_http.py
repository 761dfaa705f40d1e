"""Benchmark of the local org over HTTPS: requests per second and how query time grows with rows.

Starts a throw-away local org in a temporary folder (127.0.0.1, a free port) and drives it with
``requests`` over keep-alive connections, as simple-salesforce does. Prints:

* single-record create (POST /sobjects/Contact) requests/s, with 1 and 4 client threads;
* 200-record collection create (POST /composite/sobjects) requests/s and records/s;
* a typical query (20 rows by an indexed-looking filter, ORDER BY, LIMIT) requests/s;
* query time at 100, 10,000 and 100,000 rows (full scan with a filter that matches 1%, and a
  COUNT()), and the ratio to the 100-row time.

    .venv/bin/python bench/bench_local_org_http.py            # full run (100,000 rows: a few minutes)
    .venv/bin/python bench/bench_local_org_http.py --quick    # smaller sizes
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcloud.salesforce.server import start_local_org  # noqa: E402

API = "/services/data/v62.0"


def session_for(org) -> requests.Session:
    session = requests.Session()
    session.verify = org.ca_bundle
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    return session


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f}/s"


def bench_single_create(org, seconds: float, threads: int) -> tuple[int, float]:
    stop_at = time.perf_counter() + seconds
    counts = [0] * threads

    def worker(index: int) -> None:
        session = session_for(org)
        while time.perf_counter() < stop_at:
            response = session.post(org.url + API + "/sobjects/Contact/", json={"LastName": f"single{index}", "Email": "a@example.jp"})
            assert response.status_code == 201, response.text
            counts[index] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts), time.perf_counter() - started


def load_rows(org, total: int, marker: str, session: requests.Session) -> None:
    for start in range(0, total, 200):
        size = min(200, total - start)
        records = [
            {"attributes": {"type": "Contact"}, "LastName": marker, "FirstName": f"n{start + i}",
             "Email": f"{'hit' if (start + i) % 100 == 0 else 'miss'}{start + i}@example.jp"}
            for i in range(size)
        ]
        response = session.post(org.url + API + "/composite/sobjects", json={"allOrNone": True, "records": records})
        assert response.status_code == 200 and all(r["success"] for r in response.json()), response.text[:500]


def timed_query(session: requests.Session, org, soql: str, repeat: int, expect_rows: int | None = None) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        url = org.url + API + "/query"
        params: dict | None = {"q": soql}
        fetched = 0
        while url:
            response = session.get(url, params=params)
            assert response.status_code == 200, response.text[:300]
            body = response.json()
            fetched += len(body["records"])
            url = org.url + body["nextRecordsUrl"] if body.get("nextRecordsUrl") else None
            params = None
        times.append(time.perf_counter() - started)
        if expect_rows is not None:
            assert fetched == expect_rows, f"fetched {fetched} rows, expected {expect_rows}"
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 100 / 2,000 / 10,000 and shorter timings")
    args = parser.parse_args()
    sizes = [100, 2_000, 10_000] if args.quick else [100, 10_000, 100_000]
    seconds = 2.0 if args.quick else 5.0

    with tempfile.TemporaryDirectory() as folder:
        org = start_local_org(Path(folder) / "org", tls_dir=Path(folder) / "tls")
        os.environ["REQUESTS_CA_BUNDLE"] = org.ca_bundle
        session = session_for(org)
        try:
            print(f"local org {org.url}  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
            for threads in (1, 4):
                count, elapsed = bench_single_create(org, seconds, threads)
                print(f"single create, {threads} thread(s):      {rate(count, elapsed)}  ({count} requests)")

            calls, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                load_rows(org, 200, "collection", session)
                calls += 1
            elapsed = time.perf_counter() - started
            print(f"collection create (200 records):  {rate(calls, elapsed)}  = {calls * 200 / elapsed:8.0f} records/s")

            load_rows(org, 1000, "typical", session)
            typical = "SELECT Id, FirstName, LastName, Email FROM Contact WHERE LastName = 'typical' ORDER BY FirstName LIMIT 20"
            count, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                response = session.get(org.url + API + "/query", params={"q": typical})
                assert response.status_code == 200 and len(response.json()["records"]) == 20
                count += 1
            print(f"typical query (20 of 1,000 rows): {rate(count, time.perf_counter() - started)}")

            print("\nquery time by table size (median of 3):")
            print(f"{'rows':>9} {'filter 1% (ms)':>15} {'ratio':>7} {'COUNT() (ms)':>13} {'ratio':>7} {'all rows paged (ms)':>20}")
            loaded, base_filter, base_count = 0, None, None
            for size in sizes:
                load_started = time.perf_counter()
                load_rows(org, size - loaded, "scale", session)
                load_time = time.perf_counter() - load_started
                loaded = size
                filtered = timed_query(session, org, "SELECT Id, Email FROM Contact WHERE LastName = 'scale' AND Email LIKE 'hit%'", 3)
                counted = timed_query(session, org, "SELECT COUNT() FROM Contact WHERE LastName = 'scale'", 3)
                paged = timed_query(session, org, "SELECT Id, FirstName FROM Contact WHERE LastName = 'scale'", 1, expect_rows=size)
                base_filter = base_filter or filtered
                base_count = base_count or counted
                print(f"{size:>9,} {filtered * 1000:>15.1f} {filtered / base_filter:>7.1f} {counted * 1000:>13.1f} "
                      f"{counted / base_count:>7.1f} {paged * 1000:>20.1f}   (loaded in {load_time:.1f}s)")
        finally:
            org.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
