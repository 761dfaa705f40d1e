"""Out-of-order, duplicated, concurrent delivery at small scale (issue 10; the full scale is
bench/bench_resilience_delivery.py): 300 members (10% also updated later) and 900 orders with lines, shuffled,
10% sent twice, by 8 concurrent senders: every order attached to its member, nothing doubled, nothing lost,
the latest member version wins whatever the arrival order."""
from __future__ import annotations

import pytest

from .delivery import ACCEPTED, PROBLEM_KEYS, build_world, deliver, shuffled_with_duplicates, verify_world


def test_shuffled_duplicated_concurrent_delivery_loses_and_doubles_nothing(deployed_org) -> None:
    world = build_world("RD", members=300, orders=900, seed=10)
    sent = shuffled_with_duplicates(world.events, seed=11)
    assert len(sent) > len(world.events)

    report = deliver(deployed_org.url, deployed_org.org.access_token, deployed_org.bundle, sent, senders=8)

    assert report.unanswered == [], report.unanswered[:5]
    assert report.rejected == [], report.rejected[:5]
    assert report.events_answered == len(sent)
    assert set(report.answers) == {e["id"] for e in world.events}, "every event answered"
    duplicated = [statuses for statuses in report.answers.values() if len(statuses) == 2]
    assert duplicated and all(set(s) <= ACCEPTED for s in duplicated)
    assert all(s.count("created") <= 1 for s in report.answers.values()), "a duplicate never creates a second record"
    outcome = verify_world(world, deployed_org.query_all)
    assert {k: outcome[k] for k in PROBLEM_KEYS} == {k: [] for k in PROBLEM_KEYS}
    assert (outcome["members"], outcome["orders"]) == (300, 900)
    assert outcome["lines"] == sum(world.order_lines.values())


def _invalid_events(prefix: str, count: int) -> list[dict]:
    return [{"id": f"{prefix}-bad{i}", "type": "member", "occurredAt": "2026-01-01T00:00:00Z",
             "data": {"memberId": f"{prefix}B{i}", "email": f"not-an-email-{i}", "lastName": "Bad"}} for i in range(count)]


def _kept(deployed_org, prefix: str) -> dict[str, int]:
    kept: dict[str, int] = {}
    for row in deployed_org.query_all(f"SELECT Event_Id__c FROM EC_Ingest_Error__c WHERE Event_Id__c LIKE '{prefix}-bad%'"):
        kept[row["Event_Id__c"]] = kept.get(row["Event_Id__c"], 0) + 1
    return kept


def test_rejected_events_in_a_shuffled_concurrent_delivery_are_all_kept(deployed_org) -> None:
    world = build_world("RJ", members=40, orders=120, seed=30)
    bad = _invalid_events("RJ", 30)
    sent = shuffled_with_duplicates(world.events + bad, seed=31, duplicate_share=0.0)

    report = deliver(deployed_org.url, deployed_org.org.access_token, deployed_org.bundle, sent, senders=8, per_call=25)

    assert report.unanswered == []
    assert {r["id"] for r in report.rejected} == {e["id"] for e in bad}
    assert all(e["code"] == "INVALID_EMAIL_ADDRESS" for r in report.rejected for e in r["errors"])
    assert _kept(deployed_org, "RJ") == {e["id"]: 1 for e in bad}, "every rejected event kept for replay"
    outcome = verify_world(world, deployed_org.query_all)
    problems = [k for k in PROBLEM_KEYS if k != "ingest_errors"]  # the kept rows are the bad events', checked above
    assert {k: outcome[k] for k in problems} == {k: [] for k in problems}, "the valid events beside them all landed"


def test_a_rejected_event_delivered_twice_is_kept_once(deployed_org) -> None:
    bad = _invalid_events("RT", 10)
    sent = shuffled_with_duplicates(bad, seed=32, duplicate_share=1.0)
    report = deliver(deployed_org.url, deployed_org.org.access_token, deployed_org.bundle, sent, senders=4, per_call=5)
    assert report.unanswered == [] and len(report.rejected) == 20
    assert _kept(deployed_org, "RT") == {e["id"]: 1 for e in bad}


def test_eight_senders_racing_with_the_same_new_members_create_each_once(deployed_org) -> None:
    """The same calls sent by 8 senders at the same moment (an EC site retrying on every node): each member and
    order is created exactly once, and every answer is created/updated/unchanged, never rejected or 5xx."""
    world = build_world("RC", members=60, orders=120, seed=40, update_share=0.0)
    sent = [event for _ in range(8) for event in world.events]  # 8 copies, sender k takes calls k, k+8, ...
    report = deliver(deployed_org.url, deployed_org.org.access_token, deployed_org.bundle, sent, senders=8,
                     per_call=len(world.events))
    assert report.unanswered == [] and report.rejected == []
    assert all(len(statuses) == 8 and statuses.count("created") == 1 for statuses in report.answers.values()), \
        {k: v for k, v in report.answers.items() if v.count("created") != 1}
    outcome = verify_world(world, deployed_org.query_all)
    assert {k: outcome[k] for k in PROBLEM_KEYS} == {k: [] for k in PROBLEM_KEYS}
    assert (outcome["members"], outcome["orders"]) == (60, 120)
