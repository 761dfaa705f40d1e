"""Out-of-order, duplicated, concurrent delivery at small scale (issue 10; the full scale is
bench/bench_resilience_delivery.py): 300 members (10% also updated later) and 900 orders with lines, shuffled,
10% sent twice, by 8 concurrent senders: every order attached to its member, nothing doubled, nothing lost,
the latest member version wins whatever the arrival order."""
from __future__ import annotations

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
