"""Events carry exactly the mapped fields; the plan shuffles, pairs, redelivers and stays within 200."""
from __future__ import annotations

import datetime as dt
import random
from collections import Counter

import pytest

from python_tasks.seed.events import EventBuildError, build_events, format_datetime, latest_valid_events
from python_tasks.seed.invalid import INVALID_KINDS, build_invalid_events
from python_tasks.seed.plan import plan_deliveries
from python_tasks.seed.recipe import GeneratedData


@pytest.fixture()
def event_set(generated, schema, rng):
    return build_events(generated, schema, run_id="T1", update_share=0.3, rng=rng)


def test_member_events_carry_only_mapped_fields(event_set, schema) -> None:
    members = event_set.by_scenario("member")
    assert len(members) == 60
    for planned in members:
        data = planned.event.data
        assert set(data) <= set(schema.member_fields), set(data) - set(schema.member_fields)
        assert "lastNameKana" not in data and "prefecture" not in data
        assert data["memberId"] == planned.key
        assert planned.event.id == f"T1:member:{planned.key}:1"
        assert planned.event.occurred_at.endswith("+09:00")


def test_order_events_total_their_lines_and_name_their_member(event_set, generated, schema) -> None:
    orders = event_set.by_scenario("order")
    assert len(orders) == len(generated.orders)
    for planned in orders:
        data = planned.event.data
        assert data["memberId"] == planned.member_key
        assert data["totalAmount"] == sum(line["quantity"] * line["unitPrice"] for line in data["lines"])
        assert all(set(line) <= set(schema.line_fields) for line in data["lines"])
        assert data["orderDate"] == planned.event.occurred_at


def test_updates_are_later_and_win(event_set) -> None:
    updates = event_set.by_scenario("member-update") + event_set.by_scenario("order-update")
    assert updates, "update_share 0.3 must produce updates"
    latest = latest_valid_events(event_set.events)
    for planned in updates:
        first = next(p for p in event_set.events if p.key == planned.key and p.event.id.endswith(":1"))
        assert planned.event.occurred_at > first.event.occurred_at
        assert latest[(planned.event.type, planned.key)] is planned


def test_a_required_column_missing_from_the_recipe_names_the_field(generated, schema, rng) -> None:
    broken = GeneratedData(
        members=[{k: v for k, v in generated.members[0].items() if k != "lastName"}],
        orders=[],
        lines=[],
        marketo_only_persons=[],
    )
    with pytest.raises(EventBuildError, match="requires `lastName`"):
        build_events(broken, schema, run_id="T1", rng=rng)


def test_format_datetime_is_japan_time_in_whole_seconds() -> None:
    utc = dt.timezone.utc
    assert format_datetime(dt.datetime(2026, 1, 2, 0, 0, 0, 123456, tzinfo=utc)) == "2026-01-02T09:00:00+09:00"
    assert format_datetime(dt.datetime(2026, 12, 31, 20, 30, 5, tzinfo=utc)) == "2027-01-01T05:30:05+09:00"


def test_invalid_events_cover_every_kind_with_own_keys(event_set, schema, rng) -> None:
    invalid = build_invalid_events(event_set.events, schema, run_id="T1", count=len(INVALID_KINDS), rng=rng)
    assert {p.scenario for p in invalid} == {f"invalid:{kind.name}" for kind in INVALID_KINDS}
    valid_keys = {p.key for p in event_set.events}
    for planned in invalid:
        assert not planned.valid and planned.expected_code and planned.expected_field
        assert planned.key not in valid_keys
    missing_email = next(p for p in invalid if p.scenario == "invalid:member-missing-email")
    assert "email" not in missing_email.event.data
    bad_quantity = next(p for p in invalid if p.scenario == "invalid:order-bad-quantity")
    assert bad_quantity.event.data["lines"][0]["quantity"] == "two"
    # the template (a valid event) was copied, not changed
    assert all(isinstance(line["quantity"], int) for p in event_set.events if p.event.type == "order" for line in p.event.data["lines"])


def test_plan_keeps_every_event_pairs_register_and_buy_and_redelivers_later(event_set, schema, rng) -> None:
    invalid = build_invalid_events(event_set.events, schema, run_id="T1", count=9, rng=rng)
    events = event_set.events + invalid
    batches = plan_deliveries(events, run_id="T1", batch_size=25, duplicate_share=0.2, rng=rng)
    sent = Counter(event_id for batch in batches for event_id in batch.event_ids)
    assert set(sent) == {p.event.id for p in events}, "every planned event is sent"
    valid = [p for p in events if p.valid]
    assert sum(count - 1 for count in sent.values()) == round(len(valid) * 0.2)
    assert all(sent[p.event.id] == 1 for p in invalid), "invalid events are not redelivered"
    position = {}
    for index, batch in enumerate(batches):
        assert 1 <= len(batch.events) <= 25
        assert len(set(batch.event_ids)) == len(batch.event_ids), "no event twice in one call"
        for event_id in batch.event_ids:
            position.setdefault(event_id, index)
        for event_id in batch.redelivered_ids:
            assert position[event_id] < index, "a second delivery goes in a later call"
    members = {p.key: p for p in events if p.scenario == "member"}
    for planned in (p for p in events if p.register_and_buy):
        first_call = next(b for b in batches if planned.event.id in b.event_ids)
        assert members[planned.member_key].event.id in first_call.event_ids
    # shuffled: some orders are planned before their member
    first_index = {p.event.id: position[p.event.id] for p in events}
    ahead = [
        p for p in events
        if p.scenario == "order" and first_index[p.event.id] < first_index[members[p.member_key].event.id]
    ]
    assert ahead, "a shuffle of this size puts some orders ahead of their member"


def test_plan_refuses_more_than_200_per_call(event_set) -> None:
    with pytest.raises(ValueError, match="between 1 and 200"):
        plan_deliveries(event_set.events, run_id="T1", batch_size=201, rng=random.Random(1))
