"""Benchmark of the local org's data layer (no HTTP): how query time grows with rows.

    .venv/bin/python bench/bench_local_org_query.py [--sizes 100,10000,100000] [--repeat 20]

For each size a throw-away store gets ECBridge's schema and that many EC_Order__c rows (one
member per 10 orders, two lines per 100 orders), then times typical queries (median of
``--repeat`` runs, in ms) and prints the growth ratio against the smallest size. Indexed lookups
(Id, external ids, lookups) should stay flat; full scans (LIKE '%x%', aggregates over everything)
grow linearly. Also prints DML throughput (records/s) for 200-record inserts.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcloud.salesforce.data import (CustomFieldSpec as F, CustomObjectSpec, PicklistValue,  # noqa: E402
                                        Store, open_store)

QUERIES = {
    "by external id (indexed)": ("SELECT Id, Status__c FROM EC_Order__c WHERE Order_Number__c = :n", True),
    "by lookup, 10 rows (indexed)": ("SELECT Id FROM EC_Order__c WHERE Member__c = :m", True),
    "parent path + order + limit 200": ("SELECT Order_Number__c, Member__r.Email FROM EC_Order__c "
                                        "WHERE Status__c = 'Paid' ORDER BY Order_Number__c LIMIT 200", True),
    "IN 200 ext ids + child subquery": ("SELECT Order_Number__c, (SELECT Line_Key__c FROM Order_Lines__r) "
                                        "FROM EC_Order__c WHERE Order_Number__c IN :nums", True),
    "LIKE '%7%' scan, COUNT()": ("SELECT COUNT() FROM EC_Order__c WHERE Order_Number__c LIKE '%77%'", True),
    "GROUP BY status (scan)": ("SELECT Status__c, COUNT(Id), SUM(Total_Amount__c) FROM EC_Order__c "
                               "GROUP BY Status__c", True),
    "first page of all rows (2,000)": ("SELECT Id, Order_Number__c, Total_Amount__c FROM EC_Order__c", True),
}


def build(path: Path, rows: int) -> tuple[Store, list[str]]:
    store = open_store(path, reset=True)
    with store.transaction() as tx:
        tx.apply_custom_field("Contact", F("EC_Member_Id__c", "Text", length=64, external_id=True, unique=True))
        tx.apply_custom_object(CustomObjectSpec("EC_Order__c", fields=[
            F("Order_Number__c", "Text", length=64, external_id=True, unique=True),
            F("Member__c", "Lookup", reference_to="Contact", relationship_name="EC_Orders"),
            F("Total_Amount__c", "Currency", precision=16, scale=0),
            F("Status__c", "Picklist", picklist_values=[PicklistValue(v) for v in ("New", "Paid", "Shipped")]),
        ]))
        tx.apply_custom_object(CustomObjectSpec("EC_Order_Line__c", fields=[
            F("Order__c", "Lookup", reference_to="EC_Order__c", relationship_name="Order_Lines"),
            F("Line_Key__c", "Text", length=80, external_id=True, unique=True),
        ]))
    members: list[str] = []
    statuses = ("New", "Paid", "Shipped")
    for start in range(0, rows, 2000):
        n = min(2000, rows - start)
        with store.transaction() as tx:
            for b in range(0, n, 200):
                k0 = start + b
                size = min(200, n - b)
                new_members = [{"LastName": f"L{k}", "Email": f"m{k}@example.jp", "EC_Member_Id__c": f"M{k}"}
                               for k in range(k0, k0 + size) if k % 10 == 0]
                if new_members:
                    members += [r.id for r in tx.insert("Contact", new_members)]
                orders = tx.insert("EC_Order__c", [
                    {"Order_Number__c": f"O{k:07d}", "Member__c": members[k // 10], "Total_Amount__c": k % 5000,
                     "Status__c": statuses[k % 3]} for k in range(k0, k0 + size)])
                lines = [{"Order__c": o.id, "Line_Key__c": f"O{k0 + j:07d}-{ln}"}
                         for j, o in enumerate(orders) if (k0 + j) % 100 == 0 for ln in (1, 2)]
                if lines:
                    tx.insert("EC_Order_Line__c", lines)
    return store, members


def median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100,10000,100000")
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[str, list[float]] = {name: [] for name in QUERIES}
    load_rate: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            t = time.perf_counter()
            store, members = build(Path(tmp) / f"org{size}.sqlite3", size)
            elapsed = time.perf_counter() - t
            load_rate.append(size * 1.03 / elapsed)
            nums = [f"O{k:07d}" for k in range(0, size, max(1, size // 200))][:200]
            binds = {"n": f"O{size // 2:07d}", "m": members[len(members) // 2], "nums": nums}
            for name, (soql, _) in QUERIES.items():
                def run(soql: str = soql) -> None:
                    with store.transaction() as tx:
                        tx.query(soql, binds)
                results[name].append(median_ms(run, args.repeat if size < 100_000 or "scan" not in name else 5))
            store.close()
    width = max(len(n) for n in QUERIES) + 2
    print(f"local org data layer: query time (median ms) by EC_Order__c rows; ratio vs {sizes[0]:,} rows")
    print("query".ljust(width) + "".join(f"{s:>14,}" for s in sizes) + "".join(f"{'x' + format(s, ','):>14}" for s in sizes[1:]))
    for name, ms in results.items():
        ratios = [m / ms[0] if ms[0] else float("nan") for m in ms[1:]]
        print(name.ljust(width) + "".join(f"{m:>14.2f}" for m in ms) + "".join(f"{r:>14.1f}" for r in ratios))
    print("load (records/s incl. members and lines, 200-record inserts in 2,000-record transactions): "
          + ", ".join(f"{s:,} rows: {r:,.0f}/s" for s, r in zip(sizes, load_rate)))


if __name__ == "__main__":
    main()
