"""Turn generated rows into EC events, the way an EC site would send them.

Every event carries only the data fields the mapping (ecbridge.yml) names; extra recipe columns
(kana readings, address) stay on the EC side. An event's id is derived from what it describes, so
a retry or a second delivery of the same event carries the same id.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any, Iterable

from .recipe import GeneratedData
from .schema import PayloadField, PayloadSchema


class EventBuildError(Exception):
    """A generated row lacks a field the mapping requires."""


@dataclass(frozen=True)
class ECEvent:
    """One EC event as it travels in `{"events": [...]}`."""

    id: str
    type: str
    occurred_at: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "occurredAt": self.occurred_at, "data": self.data}


@dataclass(frozen=True)
class PlannedEvent:
    """An event and what the seeding expects the endpoint to do with it."""

    event: ECEvent
    key: str  # member key or order number the event is about
    scenario: str  # member | member-update | order | order-update | invalid:<kind>
    member_key: str | None = None  # for orders: the member they belong to
    register_and_buy: bool = False  # sent in the same call as its member's registration
    expected_code: str | None = None  # for invalid events: the error code the endpoint must give
    expected_field: str | None = None  # for invalid events: the field the error names

    @property
    def valid(self) -> bool:
        return not self.scenario.startswith("invalid:")

    def to_json(self) -> dict[str, Any]:
        return {
            "event": self.event.to_json(),
            "key": self.key,
            "scenario": self.scenario,
            "memberKey": self.member_key,
            "registerAndBuy": self.register_and_buy,
            "valid": self.valid,
            "expectedCode": self.expected_code,
            "expectedField": self.expected_field,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> "PlannedEvent":
        event = raw["event"]
        return cls(
            event=ECEvent(event["id"], event["type"], event["occurredAt"], event["data"]),
            key=raw["key"],
            scenario=raw["scenario"],
            member_key=raw.get("memberKey"),
            register_and_buy=bool(raw.get("registerAndBuy")),
            expected_code=raw.get("expectedCode"),
            expected_field=raw.get("expectedField"),
        )


JST = dt.timezone(dt.timedelta(hours=9), "JST")


def format_datetime(value: dt.datetime) -> str:
    """ISO 8601 in Japan time, whole seconds, as a Japanese EC site sends it: 2026-10-02T11:39:51+09:00."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(JST).replace(microsecond=0).isoformat()


def _convert(value: Any, spec: PayloadField) -> Any:
    if value is None:
        return None
    if spec.type == "datetime":
        return format_datetime(value) if isinstance(value, dt.datetime) else str(value)
    if spec.type == "date":
        return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)
    if spec.type in ("integer", "currency", "number", "decimal", "double", "percent"):
        return int(value) if float(value).is_integer() else float(value)
    if spec.type in ("boolean", "checkbox"):
        return bool(value)
    return str(value)


def _payload(row: dict[str, Any], fields: dict[str, PayloadField], what: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, spec in fields.items():
        if name in row and row[name] is not None:
            data[name] = _convert(row[name], spec)
        elif spec.required:
            raise EventBuildError(
                f"{what}: the mapping requires `{name}` but the recipe row has no such column "
                f"(columns: {sorted(row)})"
            )
    return data


@dataclass
class EventSet:
    """All events of one seeding run (valid ones; invalid ones are added by invalid.py)."""

    run_id: str
    events: list[PlannedEvent] = field(default_factory=list)

    def by_scenario(self, scenario: str) -> list[PlannedEvent]:
        return [planned for planned in self.events if planned.scenario == scenario]


ORDER_STATUS_PROGRESSION = ("ordered", "paid", "shipped", "delivered")


def _later(moment: dt.datetime, rng: random.Random, now: dt.datetime) -> dt.datetime:
    """A moment after `moment` (minutes to days later), never in the future."""
    later = moment + dt.timedelta(minutes=rng.randint(5, 60 * 24 * 14))
    return min(later, max(now, moment + dt.timedelta(seconds=1)))


def build_events(
    data: GeneratedData,
    schema: PayloadSchema,
    *,
    run_id: str,
    update_share: float = 0.1,
    rng: random.Random | None = None,
    now: dt.datetime | None = None,
) -> EventSet:
    """Member events, order events (with lines and total), and for `update_share` of them a later update."""
    rng = rng or random.Random()
    now = now or dt.datetime.now(dt.timezone.utc)
    events = EventSet(run_id=run_id)
    lines_by_order = data.lines_by_order()
    for member in data.members:
        key = str(member[schema.member_key])
        payload = _payload(member, schema.member_fields, f"member {key}")
        registered = member["registeredAt"]
        events.events.append(
            PlannedEvent(ECEvent(f"{run_id}:member:{key}:1", "member", format_datetime(registered), payload), key, "member")
        )
        if rng.random() < update_share:
            changed = dict(payload)
            if "phone" in schema.member_fields:
                changed["phone"] = f"0{rng.choice((70, 80, 90))}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
            consent = schema.consent.get("ec_field")
            if consent and changed.get(consent) is True:
                changed[consent] = False  # the shopper withdraws consent to marketing email on the EC site
            rank = schema.member_fields.get("memberRank")
            if rank and rank.values:
                changed["memberRank"] = rng.choice([value for value in rank.values if value != payload.get("memberRank")] or list(rank.values))
            when = _later(registered, rng, now)
            events.events.append(
                PlannedEvent(ECEvent(f"{run_id}:member:{key}:2", "member", format_datetime(when), changed), key, "member-update")
            )
    for order in data.orders:
        number = str(order[schema.order_key])
        member_key = str(order[schema.order_member_key])
        order_lines = lines_by_order.get(number, [])
        row = dict(order)
        if "totalAmount" in schema.order_fields and "totalAmount" not in row:
            row["totalAmount"] = sum(int(line["quantity"]) * int(line["unitPrice"]) for line in order_lines)
        payload = _payload(row, schema.order_fields, f"order {number}")
        payload[schema.line_source] = [
            _payload(line, schema.line_fields, f"order {number} line {line['lineNumber']}") for line in order_lines
        ]
        placed: dt.datetime = order["orderDate"]
        register_and_buy = bool(order.get("firstOfRegisterAndBuy"))
        events.events.append(
            PlannedEvent(
                ECEvent(f"{run_id}:order:{number}:1", "order", format_datetime(placed), payload),
                number,
                "order",
                member_key=member_key,
                register_and_buy=register_and_buy,
            )
        )
        status = schema.order_fields.get("status")
        current = payload.get("status")
        if status and current in ORDER_STATUS_PROGRESSION[:-1] and rng.random() < update_share:
            changed = dict(payload)
            changed["status"] = ORDER_STATUS_PROGRESSION[ORDER_STATUS_PROGRESSION.index(current) + 1]
            when = _later(placed, rng, now)
            events.events.append(
                PlannedEvent(
                    ECEvent(f"{run_id}:order:{number}:2", "order", format_datetime(when), changed),
                    number,
                    "order-update",
                    member_key=member_key,
                )
            )
    return events


def latest_valid_events(events: Iterable[PlannedEvent]) -> dict[tuple[str, str], PlannedEvent]:
    """The event whose data each record must end with: the newest occurredAt per (type, key)."""
    latest: dict[tuple[str, str], PlannedEvent] = {}
    for planned in events:
        if not planned.valid:
            continue
        slot = (planned.event.type, planned.key)
        current = latest.get(slot)
        if current is None or planned.event.occurred_at > current.event.occurred_at:
            latest[slot] = planned
    return latest
