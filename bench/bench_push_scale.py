"""Benchmark push_marketo at production scale: what a cycle costs against the size of the org.

    .venv/bin/python bench/bench_push_scale.py [--sizes 1000,20000,100000] [--orders-per-member 3]

For each size a fresh local org gets the generated force-app (objects, fields and the triggers that
stamp changes) and is loaded through its data API as fast as it allows (members, about 3 orders
each, 2 lines an order; the load stamps every record as its trigger would). Then, against a local
Marketo paced at its real ceiling (100 calls per 20 s, 10 in flight):

* a full push (the first push of the org: read through Bulk API 2.0 above the threshold),
* an idle cycle (nothing changed),
* a 10-change cycle (5 members edited and 5 orders added, through the REST API and the triggers).

It prints, per size and cycle, the Salesforce calls, the rows read, the Marketo calls and the
seconds, then the ratio of the largest size's figures to the smallest's. Goal (issue 13): idle and
10-change calls and rows at most 1.5 times the 1,000-member figures.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.marketo.service import start_local_marketo  # noqa: E402
from localcloud.salesforce.server import start_local_org  # noqa: E402
from python_tasks.mapping import Mapping, load_mapping  # noqa: E402
from python_tasks.marketo import MarketoClient, MarketoCredentials  # noqa: E402
from python_tasks.push.cache import PushCache  # noqa: E402
from python_tasks.push.runner import PushOptions, PushRun  # noqa: E402
from python_tasks.push.salesforce_io import SalesforceIO  # noqa: E402
from python_tasks.push.schema import merge_describes  # noqa: E402
from python_tasks.push.state import format_sf_datetime  # noqa: E402
from tests.mdapi import force_app_mdapi_zip  # noqa: E402
from tests.push.conftest import apply_mapping_schema  # noqa: E402

PRODUCTS = ["緑茶", "抹茶", "ほうじ茶", "急須", "湯呑み", "茶筅", "羊羹", "煎餅"]
CHUNK = 2_000


@dataclass
class Cycle:
    size: int
    label: str
    sf_calls: int
    rows: int
    marketo_calls: int
    seconds: float
    method: str


def load(org: Any, mapping: Mapping, members: int, per_member: int, lines: int) -> float:
    """Members, orders and lines straight into the store, stamped as the trigger stamps a new record,
    then the force-app deployed (its triggers stamp every later change). Returns seconds."""
    started = time.perf_counter()
    store, wb = org.store, mapping.write_back
    apply_mapping_schema(store, mapping)
    stamp = format_sf_datetime(datetime.now(timezone.utc))
    for start in range(0, members, CHUNK):
        with store.transaction() as tx:
            tx.insert("Contact", [{"EC_Member_Id__c": f"M{i:07d}", "Email": f"shopper{i}@example.jp",
                                   "LastName": "山田", "FirstName": f"太郎{i}", wb.changed_at: stamp}
                                  for i in range(start, min(members, start + CHUNK))])
    ids: dict[str, str] = {}
    with store.transaction() as tx:
        result = tx.query("SELECT Id, EC_Member_Id__c FROM Contact")
        rows = list(result.records)
    while not result.done:
        result = store.query_more(result.next_records_locator)
        rows += list(result.records)
    ids = {r["EC_Member_Id__c"]: r["Id"] for r in rows}
    orders = [(f"O{i:07d}-{k}", f"M{i:07d}") for i in range(members) for k in range(per_member)]
    for start in range(0, len(orders), CHUNK):
        chunk = orders[start:start + CHUNK]
        with store.transaction() as tx:
            saved = tx.insert("EC_Order__c", [
                {"Name": number, "Order_Number__c": number, "EC_Member_Id__c": key, "Member__c": ids[key],
                 "Order_Date__c": f"2024-05-{1 + n % 28:02d}T03:00:00.000+0000", "Total_Amount__c": 1000 + n % 9000,
                 "Status__c": "paid", "Last_Product_Name__c": PRODUCTS[n % len(PRODUCTS)], wb.changed_at: stamp}
                for n, (number, key) in enumerate(chunk, start)])
            tx.insert("EC_Order_Line__c", [
                {"Name": f"{number}-{k}", "Order__c": result.id, "Line_Key__c": f"{number}-{k}",
                 "Product_Name__c": PRODUCTS[(n + k) % len(PRODUCTS)], "Quantity__c": 1, "Unit_Price__c": 500}
                for n, ((number, _), result) in enumerate(zip(chunk, saved)) for k in range(1, lines + 1)])
    job = org.deployer.deploy_zip(force_app_mdapi_zip(include_tests=False))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    return time.perf_counter() - started


def ten_changes(sf: Any, members: int) -> None:
    """5 members edited and 5 orders added for other members, over REST (the triggers stamp them)."""
    step = max(1, members // 10)
    picked = [f"M{i:07d}" for i in range(0, members, step)][:10]
    found = sf.query("SELECT Id, EC_Member_Id__c FROM Contact WHERE EC_Member_Id__c IN ("
                     + ",".join(f"'{key}'" for key in picked) + ")")["records"]
    by_key = {r["EC_Member_Id__c"]: r["Id"] for r in found}
    for key in picked[:5]:
        sf.Contact.update(by_key[key], {"FirstName": "花子"})
    for n, key in enumerate(picked[5:10]):
        number = f"NEW-{key}-{n}"
        sf.EC_Order__c.create({"Name": number, "Order_Number__c": number, "EC_Member_Id__c": key,
                               "Order_Date__c": "2026-12-01T03:00:00.000+0000", "Total_Amount__c": 4200,
                               "Status__c": "paid", "Last_Product_Name__c": "新茶"})


def wait_next_second() -> None:
    time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1e6)


def run_size(members: int, args: argparse.Namespace, mapping: Mapping) -> list[Cycle]:
    from simple_salesforce import Salesforce

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        org = start_local_org(base / "org", tls_dir=base / "certs")
        marketo = start_local_marketo(base / "marketo", certs_dir=base / "certs")
        os.environ["REQUESTS_CA_BUNDLE"] = str(org.ca_bundle)
        client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret),
                               calls_per_window=args.calls_per_window, max_in_flight=args.max_in_flight,
                               session=requests.Session())
        cache = PushCache(base / "state", org.org_id, marketo.url)
        try:
            seconds = load(org, mapping, members, args.orders_per_member, args.lines_per_order)
            orders = members * args.orders_per_member
            print(f"[{members:,}] loaded {members:,} members, {orders:,} orders, "
                  f"{orders * args.lines_per_order:,} lines in {seconds:.1f} s", flush=True)
            rest = Salesforce(instance_url=org.url, session_id=org.access_token, version=mapping.api_version)
            sf = SalesforceIO(rest)
            schema = merge_describes(mapping, client.describe2(),
                                     [(co.api_name, client.describe_custom_object(co.api_name))
                                      for co in mapping.marketo.custom_objects])
            cycles: list[Cycle] = []
            wait_next_second()
            for label in ("full push", "idle cycle", "10-change cycle"):
                if label == "10-change cycle":
                    ten_changes(rest, members)
                    wait_next_second()
                calls0, sf0 = client.counters().calls, sf.calls
                started = time.perf_counter()
                summary = PushRun(mapping, sf, client, schema, PushOptions(cache=cache)).run()
                cycle = Cycle(members, label, sf.calls - sf0, summary.rows_read, client.counters().calls - calls0,
                              time.perf_counter() - started, summary.read_method)
                cycles.append(cycle)
                print(f"[{members:,}] {label}: {summary.persons_created:,} created, {summary.persons_updated:,} "
                      f"updated, {summary.orders_pushed:,} orders; {cycle.sf_calls} Salesforce calls, {cycle.rows:,} "
                      f"rows, {cycle.marketo_calls} Marketo calls, {cycle.seconds:.1f} s ({cycle.method})", flush=True)
                assert not summary.persons_skipped and not summary.orders_skipped and not summary.write_back_failures
                if label == "10-change cycle":
                    assert (summary.persons_updated, summary.orders_pushed) == (5, 5), summary
                if label == "idle cycle":
                    assert summary.persons_updated + summary.orders_pushed == 0
            return cycles
        finally:
            client.close()
            cache.close()
            marketo.stop()
            org.stop()


def print_table(cycles: list[Cycle]) -> None:
    print()
    print("| members | cycle | Salesforce calls | rows read | Marketo calls | seconds |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for c in cycles:
        print(f"| {c.size:,} | {c.label} | {c.sf_calls:,} | {c.rows:,} | {c.marketo_calls:,} | {c.seconds:,.1f} |")
    sizes = sorted({c.size for c in cycles})
    if len(sizes) < 2:
        return
    small, large = sizes[0], sizes[-1]
    print()
    print(f"| cycle | ratio {large:,} / {small:,}: Salesforce calls | rows read | Marketo calls |")
    print("| --- | ---: | ---: | ---: |")
    for label in ("full push", "idle cycle", "10-change cycle"):
        a = next(c for c in cycles if c.size == small and c.label == label)
        b = next(c for c in cycles if c.size == large and c.label == label)

        def ratio(x: int, y: int) -> str:
            return f"{y / x:.2f}" if x else ("1.00" if y == 0 else "inf")
        print(f"| {label} | {ratio(a.sf_calls, b.sf_calls)} | {ratio(a.rows, b.rows)} | "
              f"{ratio(a.marketo_calls, b.marketo_calls)} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,20000,100000")
    parser.add_argument("--orders-per-member", type=int, default=3)
    parser.add_argument("--lines-per-order", type=int, default=2)
    parser.add_argument("--calls-per-window", type=int, default=100)
    parser.add_argument("--max-in-flight", type=int, default=10)
    args = parser.parse_args()
    mapping = load_mapping(ROOT / "ecbridge.yml")
    cycles: list[Cycle] = []
    for size in (int(s) for s in args.sizes.split(",")):
        cycles += run_size(size, args, mapping)
    print_table(cycles)


if __name__ == "__main__":
    main()
