"""Out-of-order, duplicated, concurrent delivery of EC events (issue 10), shared by the test and the benchmark.

A world of members and orders (each order with lines) becomes events; some members also get a later
update. Every event is shuffled, 10% are delivered twice, and the calls (at most 200 events each) are sent by
concurrent senders. A call answered 5xx or not at all is sent again unchanged (the endpoint is idempotent).
`verify_world` then reads the org and lists every way the result differs from the world.
"""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

ENDPOINT = "/services/apexrest/ecbridge/v1/events"
ACCEPTED = {"created", "updated", "unchanged", "stale"}
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _at(seconds: int) -> str:
    return (BASE + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class World:
    prefix: str
    members: int
    orders: int
    events: list[dict[str, Any]] = field(default_factory=list)
    final_last_name: dict[str, str] = field(default_factory=dict)  # memberId -> LastName after every event
    order_member: dict[str, str] = field(default_factory=dict)  # orderNumber -> memberId
    order_lines: dict[str, int] = field(default_factory=dict)


def build_world(prefix: str, members: int, orders: int, seed: int, update_share: float = 0.1) -> World:
    rng = random.Random(seed)
    world = World(prefix, members, orders)
    for m in range(members):
        member_id = f"{prefix}M{m:06d}"
        data = {"memberId": member_id, "email": f"{prefix.lower()}.m{m}@example.com", "lastName": f"Name{m}",
                "firstName": "太郎"}
        world.events.append({"id": f"{prefix}-m{m}", "type": "member", "occurredAt": _at(m), "data": data})
        world.final_last_name[member_id] = f"Name{m}"
        if rng.random() < update_share:
            later = dict(data, lastName=f"Renamed{m}")
            world.events.append({"id": f"{prefix}-m{m}-u", "type": "member", "occurredAt": _at(m + 86400), "data": later})
            world.final_last_name[member_id] = f"Renamed{m}"
    for o in range(orders):
        member_id = f"{prefix}M{rng.randrange(members):06d}"
        number = f"{prefix}O{o:07d}"
        lines = [{"productName": f"Product {o}-{n}", "sku": f"SKU{n}", "quantity": 1 + n, "unitPrice": 100 * (n + 1)}
                 for n in range(1 + o % 3)]
        world.events.append({"id": f"{prefix}-o{o}", "type": "order", "occurredAt": _at(o),
                             "data": {"orderNumber": number, "memberId": member_id, "orderDate": _at(o),
                                      "totalAmount": sum(l["quantity"] * l["unitPrice"] for l in lines),
                                      "status": "paid", "lines": lines}})
        world.order_member[number] = member_id
        world.order_lines[number] = len(lines)
    return world


def shuffled_with_duplicates(events: list[dict[str, Any]], seed: int, duplicate_share: float = 0.1) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    sent = list(events) + rng.sample(events, int(len(events) * duplicate_share))
    rng.shuffle(sent)
    return sent


@dataclass
class DeliveryReport:
    calls: int = 0
    attempts: int = 0
    retried_calls: int = 0
    seconds: float = 0.0
    answers: dict[str, list[str]] = field(default_factory=dict)  # event id -> statuses, one per delivery
    rejected: list[dict[str, Any]] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)

    @property
    def events_answered(self) -> int:
        return sum(len(v) for v in self.answers.values())


def deliver(url: str, token: str, bundle: str, events: list[dict[str, Any]], senders: int = 8, per_call: int = 200,
            max_attempts: int = 6, progress: Callable[[int], None] | None = None) -> DeliveryReport:
    calls = [events[i:i + per_call] for i in range(0, len(events), per_call)]
    report = DeliveryReport(calls=len(calls))
    lock = threading.Lock()
    local = threading.local()

    def session() -> requests.Session:
        if not hasattr(local, "session"):
            local.session = requests.Session()
            local.session.verify = bundle
            local.session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        return local.session

    def send(batch: list[dict[str, Any]]) -> None:
        last = ""
        for attempt in range(1, max_attempts + 1):
            with lock:
                report.attempts += 1
                if attempt == 2:
                    report.retried_calls += 1
            try:
                answer = session().post(url + ENDPOINT, json={"events": batch}, timeout=300)
            except requests.RequestException as error:
                last = repr(error)
            else:
                if answer.status_code == 200:
                    results = answer.json()["results"]
                    assert [r["id"] for r in results] == [e["id"] for e in batch], "one result per event, in order"
                    with lock:
                        for result in results:
                            report.answers.setdefault(result["id"], []).append(result["status"])
                            if result["status"] not in ACCEPTED:
                                report.rejected.append(result)
                    if progress:
                        progress(len(batch))
                    return
                last = f"HTTP {answer.status_code}: {answer.text[:300]}"
                if answer.status_code < 500:
                    break
            time.sleep(min(2.0, 0.1 * 2 ** attempt))
        with lock:
            report.unanswered.extend(f"{e['id']}: {last}" for e in batch)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=senders) as pool:
        for future in [pool.submit(send, batch) for batch in calls]:
            future.result()
    report.seconds = time.perf_counter() - started
    return report


def verify_world(world: World, query_all: Callable[[str], list[dict[str, Any]]]) -> dict[str, Any]:
    """Counts and every discrepancy between the world and the org (empty lists when all is right)."""
    p = world.prefix
    contacts = query_all(f"SELECT Id, EC_Member_Id__c, LastName FROM Contact WHERE EC_Member_Id__c LIKE '{p}M%'")
    orders = query_all(f"SELECT Id, Order_Number__c, EC_Member_Id__c, Member__c FROM EC_Order__c WHERE Order_Number__c LIKE '{p}O%'")
    lines = query_all(f"SELECT Line_Key__c, Order__c FROM EC_Order_Line__c WHERE Line_Key__c LIKE '{p}O%'")
    errors = query_all(f"SELECT Event_Id__c, Error_Code__c, Reason__c FROM EC_Ingest_Error__c WHERE Event_Id__c LIKE '{p}-%'")
    by_key = {}
    doubled_members = []
    for c in contacts:
        if c["EC_Member_Id__c"] in by_key:
            doubled_members.append(c["EC_Member_Id__c"])
        by_key[c["EC_Member_Id__c"]] = c
    order_ids: dict[str, str] = {}
    doubled_orders, unattached, misattached = [], [], []
    for o in orders:
        number = o["Order_Number__c"]
        if number in order_ids:
            doubled_orders.append(number)
        order_ids[number] = o["Id"]
        member = by_key.get(world.order_member.get(number, ""))
        if not o["Member__c"]:
            unattached.append(number)
        elif member is None or o["Member__c"] != member["Id"]:
            misattached.append(number)
    lines_per_order: dict[str, int] = {}
    for line in lines:
        lines_per_order[line["Order__c"]] = lines_per_order.get(line["Order__c"], 0) + 1
    wrong_lines = [n for n, count in world.order_lines.items() if lines_per_order.get(order_ids.get(n, ""), 0) != count]
    return {
        "members": len(contacts), "orders": len(orders), "lines": len(lines),
        "lost_members": sorted(set(world.final_last_name) - set(by_key)),
        "lost_orders": sorted(set(world.order_member) - set(order_ids)),
        "doubled_members": doubled_members, "doubled_orders": doubled_orders,
        "unattached": unattached, "misattached": misattached, "wrong_line_counts": wrong_lines,
        "wrong_last_name": [k for k, v in world.final_last_name.items() if k in by_key and by_key[k]["LastName"] != v],
        "ingest_errors": errors,
    }


PROBLEM_KEYS = ("lost_members", "lost_orders", "doubled_members", "doubled_orders", "unattached", "misattached",
                "wrong_line_counts", "wrong_last_name", "ingest_errors")
