"""The delivery plan: which events go in which call, in what order, and which go twice.

Like a real EC site under load: members and orders are shuffled together (so many orders go out
before their member), a register-and-buy shopper's registration and first order travel in one
call, and a share of events is delivered a second time in a later call with the same event id.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from .events import PlannedEvent

MAX_EVENTS_PER_CALL = 200


@dataclass
class Batch:
    """One call to the endpoint: at most 200 events, never the same event id twice."""

    id: str
    events: list[PlannedEvent] = field(default_factory=list)
    redelivered_ids: set[str] = field(default_factory=set)  # event ids this call sends a second time

    @property
    def event_ids(self) -> list[str]:
        return [planned.event.id for planned in self.events]


def _units(events: list[PlannedEvent]) -> list[list[PlannedEvent]]:
    """Register-and-buy: the member's registration and first order form one unit (one call)."""
    members = {planned.key: planned for planned in events if planned.scenario == "member"}
    paired: set[str] = set()
    units: list[list[PlannedEvent]] = []
    for planned in events:
        if planned.register_and_buy and planned.member_key in members:
            units.append([members[planned.member_key], planned])
            paired.add(planned.member_key)
    for planned in events:
        if planned.register_and_buy and planned.member_key in paired:
            continue
        if planned.scenario == "member" and planned.key in paired:
            continue
        units.append([planned])
    return units


def plan_deliveries(
    events: list[PlannedEvent],
    *,
    run_id: str,
    batch_size: int = MAX_EVENTS_PER_CALL,
    duplicate_share: float = 0.1,
    rng: random.Random | None = None,
) -> list[Batch]:
    """Shuffle, add second deliveries, and pack into calls of at most `batch_size` events."""
    if not 1 <= batch_size <= MAX_EVENTS_PER_CALL:
        raise ValueError(f"batch_size must be between 1 and {MAX_EVENTS_PER_CALL}, not {batch_size}")
    rng = rng or random.Random()
    # Every unit gets a random place in [0, 1); a second delivery goes somewhere after its first.
    placed: list[tuple[float, list[PlannedEvent], bool]] = []
    rank_of: dict[str, float] = {}
    for unit in _units(events):
        rank = rng.random()
        placed.append((rank, unit, False))
        for planned in unit:
            rank_of[planned.event.id] = rank
    valid = [planned for planned in events if planned.valid]
    for planned in rng.sample(valid, k=round(len(valid) * duplicate_share)):
        first = rank_of[planned.event.id]
        placed.append((rng.uniform(first, 1.0) + 1e-12, [planned], True))
    placed.sort(key=lambda item: item[0])
    sequence = [(unit, redelivery) for _, unit, redelivery in placed]
    batches: list[Batch] = []
    current = Batch(f"{run_id}:b00001")
    carried: list[tuple[list[PlannedEvent], bool]] = []  # second deliveries that met their first in one call

    def close() -> Batch:
        batches.append(current)
        return Batch(f"{run_id}:b{len(batches) + 1:05d}")

    def add(batch: Batch, unit: list[PlannedEvent], redelivery: bool) -> None:
        batch.events.extend(unit)
        if redelivery:
            batch.redelivered_ids.update(planned.event.id for planned in unit)

    for unit, redelivery in sequence:
        if len(current.events) + len(unit) > batch_size:
            current = close()
            while carried and len(current.events) < batch_size:
                add(current, *carried.pop(0))
        if {planned.event.id for planned in unit} & set(current.event_ids):
            carried.append((unit, redelivery))
            continue
        add(current, unit, redelivery)
    while carried:
        if len(current.events) >= batch_size or set(current.event_ids) & {p.event.id for p in carried[0][0]}:
            current = close()
        add(current, *carried.pop(0))
    if current.events:
        batches.append(current)
    return batches
