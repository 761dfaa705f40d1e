"""The member views of one push (python_tasks/push/views.py) and how their summaries combine."""
from __future__ import annotations

from datetime import timedelta

from python_tasks.mapping import parse_mapping
from python_tasks.push.runner import PushSummary, WaitingOrder
from python_tasks.push.views import CONVERTED, merge_summaries, push_views
from tests.foundation.test_mapping import GOOD, LEAD


def test_a_converting_lead_member_is_pushed_as_two_views() -> None:
    assert [name for name, _ in push_views(parse_mapping(GOOD))] == [""]
    assert [name for name, _ in push_views(parse_mapping(LEAD))] == [""]
    converting = parse_mapping(LEAD.replace("    object: Lead\n", "    object: Lead\n    converts_to: Contact\n"))
    [(_, leads), (name, contacts)] = push_views(converting)
    assert (leads.member.object_name, leads.order.member_lookup) == ("Lead", "Member__c")
    assert (name, contacts.member.object_name, contacts.order.member_lookup) == (CONVERTED, "Contact",
                                                                                 "Member_Contact__c")
    sources = {f.source.field for f in contacts.marketo.lead.fields if f.source.scope == "member"}
    assert "Company" not in sources and "EC_Member_Id__c" in sources


def test_summaries_add_up_and_the_waiting_orders_count_once() -> None:
    waiting = [WaitingOrder("O-1", "M-9", timedelta(minutes=5))]
    first = PushSummary(persons_created=2, persons_skipped=[("M1", "bad")], waiting=waiting, waiting_total=1,
                        read_method="changes", members_read=3)
    second = PushSummary(persons_updated=4, persons_skipped=[("M2", "worse")], waiting=waiting, waiting_total=1,
                         read_method="full (REST)", members_read=2, stopped="Marketo quota")
    merged = merge_summaries([first, second])
    assert (merged.persons_created, merged.persons_updated, merged.members_read) == (2, 4, 5)
    assert merged.persons_skipped == [("M1", "bad"), ("M2", "worse")]
    assert (merged.waiting, merged.waiting_total) == (waiting, 1)
    assert (merged.read_method, merged.stopped) == ("changes", "Marketo quota")
