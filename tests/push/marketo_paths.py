"""Synthetic persons and orders as the push builds them, and the push's REST calls replayed with
ECBridge's client in the push's order (runner.py ``_push_chunk``), counted by phase.

Shared by tests/push/test_cost_and_backfill.py and bench/bench_marketo_backfill.py: the cost model
is checked against these measured counts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from python_tasks.dedupe.keys import identity_key, normalise_email
from python_tasks.dedupe.winner import WinnerRule
from python_tasks.mapping import Mapping
from python_tasks.marketo import MarketoClient
from python_tasks.push.backfill import average_row_bytes
from python_tasks.push.build import OrderWrite, PersonWrite
from python_tasks.push.cost import CostSettings
from python_tasks.push.identity import IdentityResolver

PRODUCTS = ["緑茶", "抹茶", "ほうじ茶", "急須", "湯呑み", "茶筅", "羊羹", "煎餅"]


@dataclass
class Dataset:
    persons: list[PersonWrite]
    orders: dict[str, list[OrderWrite]]  # by person key
    order_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # last_order.* by person key

    @property
    def order_count(self) -> int:
        return sum(len(v) for v in self.orders.values())

    def values(self) -> dict[str, dict[str, Any]]:
        return {p.key: p.values for p in self.persons}


def make_dataset(mapping: Mapping, count: int, orders_per_person: int = 3, prefix: str = "p",
                 start: int = 0) -> Dataset:
    """``count`` persons with ``orders_per_person`` orders each (values as build.py makes them)."""
    lookup = mapping.marketo.lead.lookup_field
    api = mapping.marketo.custom_objects[0].api_name
    persons, orders, fields = [], {}, {}
    for i in range(start, start + count):
        values = {"email": f"{prefix}{i}@example.jp", "firstName": f"太郎{i}", "lastName": "山田",
                  "phone": f"03-{i:08d}", "ecMemberId": f"{prefix.upper()}{i:07d}"}
        key = identity_key(lookup, values[lookup])
        assert key is not None
        persons.append(PersonWrite(key=key, member_ids=[f"{prefix}-m{i}"], lookup_value=values[lookup],
                                   email_key=normalise_email(values["email"]), values=values))
        writes = []
        for n in range(orders_per_person):
            number = f"{prefix.upper()}{i:07d}-{n}"
            products = [PRODUCTS[(i + n + k) % len(PRODUCTS)] for k in range(1 + n % 3)]
            writes.append(OrderWrite(f"{prefix}-o{i}-{n}", number, f"{prefix}-m{i}", {api: {
                "orderNumber": number, "orderDate": f"2024-0{1 + n % 9}-1{n % 10}T09:30:00Z",
                "totalAmount": 1200 * (n + 1), "productNames": ", ".join(products), "status": "paid",
                "lineCount": len(products)}}))
        orders[key] = writes
        if writes:
            last = writes[-1].values[api]
            fields[key] = {"lastOrderNumber": last["orderNumber"], "lastOrderDate": last["orderDate"],
                           "lastProductName": last["productNames"].split(", ")[-1],
                           "lastOrderTotal": last["totalAmount"]}
    return Dataset(persons, orders, fields)


def member_key_field(mapping: Mapping) -> str | None:
    return next((f.name for f in mapping.marketo.lead.fields
                 if f.source.scope == "member" and f.source.field == mapping.member.key_field), None)


class Phases:
    """Calls by phase, read from the client's counters around each step."""

    def __init__(self, client: MarketoClient) -> None:
        self.client = client
        self.calls: dict[str, int] = {}

    def count(self, phase: str, step: Any, *args: Any, **kwargs: Any) -> Any:
        before = self.client.counters()
        try:
            return step(*args, **kwargs)
        finally:
            after = self.client.counters()
            tokens = after.token_fetches - before.token_fetches
            for name, count in ((phase, after.calls - before.calls - tokens), ("access token", tokens)):
                if count:
                    self.calls[name] = self.calls.get(name, 0) + count


def rest_push(client: MarketoClient, mapping: Mapping, data: Dataset, chunk_size: int = 300) -> dict[str, int]:
    """The push's Marketo calls for ``data``, chunk by chunk, as runner.py makes them; calls by phase.

    Identity reads are one phase here ("identity"): the resolver reads by email and by the lookup
    field in one step.
    """
    lookup = mapping.marketo.lead.lookup_field
    phases = Phases(client)
    phases.count("setup (describes)", lambda: (client.describe2(), [
        client.describe_custom_object(co.api_name) for co in mapping.marketo.custom_objects]))
    resolver = IdentityResolver(client, lookup, WinnerRule(), member_key_field(mapping))
    for start in range(0, len(data.persons), chunk_size):
        chunk: Sequence[PersonWrite] = data.persons[start:start + chunk_size]
        resolutions = phases.count("identity", resolver.resolve, chunk)
        ids: dict[str, int] = {}
        creates = [p for p in chunk if resolutions[p.key].target is None]
        updates = [(p, resolutions[p.key].target) for p in chunk if resolutions[p.key].target is not None]
        if creates:
            results = phases.count("persons: createOnly", client.sync_leads, [p.values for p in creates],
                                   action="createOnly", lookup_field=lookup)
            ids.update((p.key, r.id) for p, r in zip(creates, results) if r.ok and r.id)
        if updates:
            results = phases.count("persons: updateOnly", client.sync_leads,
                                   [{**p.values, "id": t} for p, t in updates], action="updateOnly", lookup_field="id")
            ids.update((p.key, t) for (p, t), r in zip(updates, results) if r.ok)
        for co in mapping.marketo.custom_objects:
            records = [{**w.values[co.api_name], co.link_field: ids[p.key]}
                       for p in chunk if p.key in ids for w in data.orders.get(p.key, [])]
            if records:
                phases.count("custom objects: createOrUpdate", client.sync_custom_objects, co.api_name, records,
                             action="createOrUpdate", dedupe_by="dedupeFields", dedupe_fields=[co.dedupe_field])
        fields = [{**data.order_fields[p.key], "id": ids[p.key]} for p in chunk
                  if p.key in ids and data.order_fields.get(p.key)]
        if fields:
            phases.count("order fields: updateOnly", client.sync_leads, fields, action="updateOnly", lookup_field="id")
    return phases.calls


def folded(phases: dict[str, int]) -> dict[str, int]:
    """A cost model's phases with the identity reads in one, zero phases dropped (as rest_push counts)."""
    out: dict[str, int] = {}
    for name, count in phases.items():
        name = "identity" if name.startswith("identity") else name
        out[name] = out.get(name, 0) + count
    return {k: v for k, v in out.items() if v}


def cost_settings(mapping: Mapping, data: Dataset, **overrides: Any) -> CostSettings:
    """The cost model's settings for the mapping, with the row sizes of ``data`` (a lead id as 7 digits)."""
    orders = [{**w.values[co.api_name], co.link_field: 1234567}
              for co in mapping.marketo.custom_objects[:1] for ws in data.orders.values() for w in ws]
    fields = [{"id": 1234567, **v} for v in data.order_fields.values()]
    return CostSettings.from_mapping(mapping, lead_row_bytes=average_row_bytes([p.values for p in data.persons]),
                                     order_row_bytes=average_row_bytes(orders),
                                     order_fields_row_bytes=average_row_bytes(fields), **overrides)
