"""Benchmark push_marketo: a first push of 10,000 members and 30,000 orders at the real limits.

    .venv/bin/python bench/bench_push.py [--members 10000] [--orders-per-member 3] [--calls-per-window 100]

The local org is seeded through its data API (no HTTP: the benchmark measures the push, not the
seeding); the push then reads Salesforce over REST, writes Marketo over HTTPS through ECBridge's
client paced to the real limits (100 calls per 20 s, 10 in flight), and writes back over REST
collections. Prints records per second, API calls per 1,000 records and the share of Marketo's
call ceiling used, then a second (incremental) push that finds nothing to do.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.marketo.service import start_local_marketo  # noqa: E402
from localcloud.salesforce.server import start_local_org  # noqa: E402
from python_tasks.mapping import load_mapping  # noqa: E402
from python_tasks.marketo import MarketoClient, MarketoCredentials  # noqa: E402
from python_tasks.push.cache import PushCache  # noqa: E402
from python_tasks.push.runner import PushOptions, PushRun  # noqa: E402
from python_tasks.push.salesforce_io import SalesforceIO  # noqa: E402
from python_tasks.push.schema import merge_describes  # noqa: E402
from tests.push.conftest import apply_mapping_schema  # noqa: E402

PRODUCTS = ["緑茶", "抹茶", "ほうじ茶", "急須", "湯呑み", "茶筅", "羊羹", "煎餅"]


def seed(store, members: int, per_member: int, lines: int) -> None:
    for start in range(0, members, 200):
        with store.transaction() as tx:
            tx.insert("Contact", [{"EC_Member_Id__c": f"M{i:06d}", "Email": f"shopper{i}@example.jp",
                                   "LastName": "山田", "FirstName": f"太郎{i}"} for i in range(start, min(members, start + 200))])
    ids = {}
    with store.transaction() as tx:
        result = tx.query("SELECT Id, EC_Member_Id__c FROM Contact")
        rows = list(result.records)
        while not result.done:
            result = store.query_more(result.next_records_locator)
            rows += list(result.records)
    ids = {r["EC_Member_Id__c"]: r["Id"] for r in rows}
    orders = [(f"O{i:06d}-{k}", f"M{i:06d}") for i in range(members) for k in range(per_member)]
    for start in range(0, len(orders), 200):
        chunk = orders[start:start + 200]
        with store.transaction() as tx:
            saved = tx.insert("EC_Order__c", [
                {"Name": number, "Order_Number__c": number, "EC_Member_Id__c": key, "Member__c": ids[key],
                 "Order_Date__c": f"2024-05-{1 + hash(number) % 28:02d}T03:00:00.000+0000", "Total_Amount__c": 1000 + start % 9000,
                 "Status__c": "paid", "Last_Product_Name__c": PRODUCTS[start % len(PRODUCTS)]} for number, key in chunk])
            tx.insert("EC_Order_Line__c", [
                {"Name": f"{number}-{n}", "Order__c": result.id, "Line_Key__c": f"{number}-{n}",
                 "Product_Name__c": PRODUCTS[(start + n) % len(PRODUCTS)], "Quantity__c": 1, "Unit_Price__c": 500}
                for (number, _), result in zip(chunk, saved) for n in range(1, lines + 1)])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--orders-per-member", type=int, default=3)
    parser.add_argument("--lines-per-order", type=int, default=2)
    parser.add_argument("--calls-per-window", type=int, default=100)
    parser.add_argument("--max-in-flight", type=int, default=10)
    args = parser.parse_args()
    mapping = load_mapping(ROOT / "ecbridge.yml")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        org = start_local_org(base / "org", tls_dir=base / "certs")
        marketo = start_local_marketo(base / "marketo", certs_dir=base / "certs")
        os.environ["REQUESTS_CA_BUNDLE"] = str(org.ca_bundle)
        from simple_salesforce import Salesforce

        client = MarketoClient(MarketoCredentials(marketo.url, marketo.client_id, marketo.client_secret),
                               calls_per_window=args.calls_per_window, max_in_flight=args.max_in_flight,
                               session=requests.Session())
        cache = PushCache(base / "state", org.org_id, marketo.url)
        try:
            apply_mapping_schema(org.store, mapping)
            started = time.perf_counter()
            seed(org.store, args.members, args.orders_per_member, args.lines_per_order)
            orders = args.members * args.orders_per_member
            print(f"seeded {args.members:,} members, {orders:,} orders, {orders * args.lines_per_order:,} lines "
                  f"in {time.perf_counter() - started:.1f} s")
            sf = SalesforceIO(Salesforce(instance_url=org.url, session_id=org.access_token, version=mapping.api_version))
            schema = merge_describes(mapping, client.describe2(),
                                     [(co.api_name, client.describe_custom_object(co.api_name))
                                      for co in mapping.marketo.custom_objects])
            for label in ("first push", "incremental push (nothing changed)"):
                calls0, sf0 = client.counters().calls, sf.calls
                started = time.perf_counter()
                summary = PushRun(mapping, sf, client, schema, PushOptions(cache=cache)).run()
                seconds = time.perf_counter() - started
                calls, sf_calls = client.counters().calls - calls0, sf.calls - sf0
                records = summary.persons_created + summary.persons_updated + summary.orders_pushed
                ceiling = args.calls_per_window / 20.0
                print(f"{label}: {summary.persons_created:,} persons created, {summary.persons_updated:,} updated, "
                      f"{summary.orders_pushed:,} orders in {seconds:.1f} s = {records / seconds:,.0f} records/s")
                if records:
                    print(f"  Marketo: {calls} calls = {calls / records * 1000:.1f} per 1,000 records; "
                          f"{calls / seconds:.2f} calls/s = {calls / seconds / ceiling:.0%} of the {ceiling:.0f} calls/s "
                          f"ceiling; {calls / 50_000:.2%} of the daily quota")
                print(f"  Salesforce: {sf_calls} REST calls (reads, write-back, read-back)")
                assert not summary.persons_skipped and not summary.orders_skipped
        finally:
            client.close()
            cache.close()
            marketo.stop()
            org.stop()


if __name__ == "__main__":
    main()
