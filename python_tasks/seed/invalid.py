"""Deliberately invalid EC events, each with the rejection the endpoint must give.

Invalid events describe records of their own (keys `<run>-X<n>`), so rejecting them never takes a
good member or order down with them. The expected error code and field are the endpoint's contract
(issue 2: per-event `errors[{code, field, message}]`, kept in EC_Ingest_Error__c).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Callable

from .events import ECEvent, PlannedEvent
from .schema import PayloadSchema


@dataclass(frozen=True)
class InvalidKind:
    name: str
    event_type: str
    field: str
    code: str
    spoil: Callable[[dict[str, Any], PayloadSchema], dict[str, Any]]


def _without(name: str) -> Callable[[dict[str, Any], PayloadSchema], dict[str, Any]]:
    def spoil(event: dict[str, Any], schema: PayloadSchema) -> dict[str, Any]:
        event["data"].pop(name, None)
        return event

    return spoil


def _set_data(name: str, value: Any) -> Callable[[dict[str, Any], PayloadSchema], dict[str, Any]]:
    def spoil(event: dict[str, Any], schema: PayloadSchema) -> dict[str, Any]:
        event["data"][name] = value
        return event

    return spoil


def _too_long(name: str) -> Callable[[dict[str, Any], PayloadSchema], dict[str, Any]]:
    def spoil(event: dict[str, Any], schema: PayloadSchema) -> dict[str, Any]:
        length = schema.member_fields[name].length or 255
        event["data"][name] = "長" * (length + 1)
        return event

    return spoil


def _bad_line_quantity(event: dict[str, Any], schema: PayloadSchema) -> dict[str, Any]:
    event["data"][schema.line_source][0]["quantity"] = "two"
    return event


def _set_envelope(name: str, value: Any) -> Callable[[dict[str, Any], PayloadSchema], dict[str, Any]]:
    def spoil(event: dict[str, Any], schema: PayloadSchema) -> dict[str, Any]:
        event[name] = value
        return event

    return spoil


INVALID_KINDS: tuple[InvalidKind, ...] = (
    InvalidKind("member-missing-email", "member", "email", "REQUIRED_FIELD_MISSING", _without("email")),
    InvalidKind("member-bad-email", "member", "email", "INVALID_EMAIL_ADDRESS", _set_data("email", "yamada.taro@@example")),
    InvalidKind("member-name-too-long", "member", "lastName", "STRING_TOO_LONG", _too_long("lastName")),
    InvalidKind("member-bad-rank", "member", "memberRank", "INVALID_PICKLIST_VALUE", _set_data("memberRank", "diamond")),
    InvalidKind("order-missing-member", "order", "memberId", "REQUIRED_FIELD_MISSING", _without("memberId")),
    InvalidKind("order-bad-date", "order", "orderDate", "INVALID_DATETIME", _set_data("orderDate", "2026-02-30 25:61")),
    InvalidKind("order-bad-quantity", "order", "lines[0].quantity", "INVALID_TYPE", _bad_line_quantity),
    InvalidKind("unknown-type", "coupon", "type", "UNKNOWN_EVENT_TYPE", lambda event, schema: event),
    InvalidKind("bad-occurred-at", "member", "occurredAt", "INVALID_DATETIME", _set_envelope("occurredAt", "yesterday")),
)


def build_invalid_events(
    templates: list[PlannedEvent], schema: PayloadSchema, *, run_id: str, count: int, rng: random.Random
) -> list[PlannedEvent]:
    """`count` invalid events, spread over every kind, each spoiling a copy of a valid event."""
    members = [planned for planned in templates if planned.scenario == "member"]
    orders = [planned for planned in templates if planned.scenario == "order" and planned.event.data.get(schema.line_source)]
    if count and (not members or not orders):
        raise ValueError("invalid events are copies of valid ones: generate at least one member with an order")
    result: list[PlannedEvent] = []
    for number in range(1, count + 1):
        kind = INVALID_KINDS[(number - 1) % len(INVALID_KINDS)]
        template = rng.choice(orders if kind.event_type == "order" else members)
        raw = template.event.to_json()
        raw["data"] = {
            name: ([dict(line) for line in value] if isinstance(value, list) else value)
            for name, value in raw["data"].items()
        }
        key = f"{run_id}-X{number:05d}"
        if kind.event_type == "order" or template.event.type == "order":
            raw["data"][schema.order_key] = key
        else:
            raw["data"][schema.member_key] = key
            raw["data"][schema.member_email] = f"invalid{number}.{run_id.lower()}@example.com"
        raw["type"] = kind.event_type
        raw = kind.spoil(raw, schema)
        result.append(
            PlannedEvent(
                ECEvent(f"{run_id}:invalid:{kind.name}:{number}", raw["type"], raw["occurredAt"], raw["data"]),
                key,
                f"invalid:{kind.name}",
                expected_code=kind.code,
                expected_field=kind.field,
            )
        )
    return result
