"""Clustering by normalised email / member key, and the winner rule."""
from __future__ import annotations

import csv

import pytest

from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.keys import normalise_email
from python_tasks.dedupe.persons import person_from_lead
from python_tasks.dedupe.plan import MARK, MERGE, make_plan, write_csv
from python_tasks.dedupe.plan_page import write_html
from python_tasks.dedupe.winner import WinnerRule, WinnerRuleError


def lead(id, email, updated="2024-01-01T00:00:00Z", **extra):
    return person_from_lead({"id": id, "email": email, "updatedAt": updated,
                             "createdAt": "2023-01-01T00:00:00Z", **extra}, "ecMemberId")


def test_email_normal_form() -> None:
    assert normalise_email("  Taro@Example.COM\u3000") == "taro@example.com"
    assert normalise_email("ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ") == "taro@example.com"
    assert normalise_email("   ") is None


def test_contact_beats_lead_beats_marketo_only_whatever_the_update_time() -> None:
    persons = [
        lead(1, "a@x.jp", "2024-06-01T00:00:00Z"),
        lead(2, "A@X.JP", "2024-01-01T00:00:00Z", sfdcType="Lead", sfdcLeadId="00Q1"),
        lead(3, "ａ＠ｘ．ｊｐ", "2023-01-01T00:00:00Z", sfdcType="Contact", sfdcContactId="0031"),
    ]
    [cluster] = find_clusters(persons, WinnerRule())
    assert cluster.winner.id == 3
    assert [p.id for p in cluster.losers] == [2, 1]
    assert "contact" in cluster.reason and "beats lead, marketo-only" in cluster.reason


def test_a_person_synced_with_a_person_account_ranks_as_a_contact() -> None:
    """Marketo's native sync treats a person account as a contact: sfdcContactId is its person contact."""
    persons = [
        lead(1, "p@x.jp", "2024-06-01T00:00:00Z"),
        lead(2, "p@x.jp", "2024-05-01T00:00:00Z", sfdcType="Lead", sfdcLeadId="00Q2"),
        lead(3, "P@X.JP", "2023-01-01T00:00:00Z", sfdcType="Contact", sfdcContactId="003PERSON", sfdcAccountId="001PA"),
    ]
    [cluster] = find_clusters(persons, WinnerRule())
    assert cluster.winner.id == 3 and cluster.winner.origin == "contact"
    named = lead(4, "q@x.jp", sfdcType="Person Account", sfdcContactId="003Q")
    assert named.origin == "contact" and "003Q" in named.describe_origin()


def test_ties_go_to_the_most_recently_updated_then_configurable() -> None:
    persons = [lead(1, "b@x.jp", "2024-01-01T00:00:00Z"), lead(2, "b@x.jp", "2024-03-01T00:00:00Z")]
    assert find_clusters(persons, WinnerRule())[0].winner.id == 2
    oldest = WinnerRule.parse("contact>lead>marketo_only;created")
    persons[1] = person_from_lead({"id": 2, "email": "b@x.jp", "createdAt": "2024-03-01T00:00:00Z"})
    assert find_clusters(persons, oldest)[0].winner.id == 1
    keep_form = WinnerRule.parse("marketo_only>contact>lead")
    mixed = [lead(5, "c@x.jp", sfdcType="Contact"), lead(6, "c@x.jp")]
    assert find_clusters(mixed, keep_form)[0].winner.id == 6


@pytest.mark.parametrize("text", ["contact>lead", "contact>lead>marketo_only;newest", "a>b>c"])
def test_a_bad_winner_rule_is_refused(text) -> None:
    with pytest.raises(WinnerRuleError):
        WinnerRule.parse(text)


def test_member_key_joins_clusters_transitively_and_singles_are_not_clusters() -> None:
    persons = [
        lead(1, "old@x.jp", ecMemberId="M1"),
        lead(2, "new@x.jp", ecMemberId="M1"),
        lead(3, "NEW@x.jp"),
        lead(4, "alone@x.jp", ecMemberId="M9"),
        lead(5, None),
    ]

    by_email = find_clusters(persons, WinnerRule())
    assert [sorted(c.ids) for c in by_email] == [[2, 3]]
    by_both = find_clusters(persons, WinnerRule(), by_member_key=True)
    assert [sorted(c.ids) for c in by_both] == [[1, 2, 3]]


def test_plan_predicts_merge_fill_ins_and_mark_changes(tmp_path) -> None:
    persons = [
        lead(1, "d@x.jp", phone="03-1234", firstName=None),
        lead(2, "d@x.jp", sfdcType="Contact", sfdcContactId="0032", phone=None, firstName="太郎"),
    ]
    clusters = find_clusters(persons, WinnerRule())
    [merge] = make_plan(clusters, MERGE)
    assert [(c.person_id, c.field, c.after) for c in merge.changes] == [(2, "phone", "03-1234")]
    [mark] = make_plan(clusters, MARK)
    assert [(c.person_id, c.field, c.after) for c in mark.changes] == [(1, "ecbSupersededBy", 2)]
    rows = list(csv.DictReader(write_csv([merge, mark], tmp_path / "plan.csv").open(encoding="utf-8")))
    assert [(r["policy"], r["role"], r["person_id"], r["action"]) for r in rows] == [
        ("merge", "winner", "2", "keep (winner)"),
        ("merge", "loser", "1", "merge into 2"),
        ("mark", "winner", "2", "keep (winner)"),
        ("mark", "loser", "1", "mark superseded by 2"),
    ]
    page = write_html([merge], tmp_path / "plan.html").read_text(encoding="utf-8")

    assert "merge into 2" in page and "phone" in page


def test_mark_plan_is_done_when_losers_already_point_to_the_winner() -> None:
    persons = [lead(1, "e@x.jp", ecbSupersededBy=2), lead(2, "e@x.jp", sfdcType="Contact")]
    [planned] = make_plan(find_clusters(persons, WinnerRule()), MARK)
    assert planned.already_done and planned.changes == []


def test_clusters_recorded_by_the_push_join_persons_with_different_emails() -> None:
    persons = [lead(1, "old@x.jp", ecMemberId="M1"), lead(2, "new@x.jp", sfdcType="Contact", ecMemberId="M1"),
               lead(3, "other@x.jp", ecMemberId="M3")]
    assert find_clusters(persons, WinnerRule()) == []
    [cluster] = find_clusters(persons, WinnerRule(), links=[("ecMemberId:M1", [1, 2]), ("ecMemberId:M3", [3, 99])])
    assert sorted(cluster.ids) == [1, 2] and cluster.winner.id == 2


def test_a_stale_recorded_cluster_never_joins_different_people() -> None:
    """Ids recorded by an earlier push (before a reset, or since changed) must not merge strangers."""
    persons = [lead(1, "a@x.jp", ecMemberId="M1"), lead(7, "b@x.jp", sfdcType="Contact", ecMemberId="M2"),
               lead(8, "b@x.jp", ecMemberId="M2")]
    clusters = find_clusters(persons, WinnerRule(), links=[("email:a@x.jp", [1, 7]), ("ecMemberId:M9", [1, 8])])
    assert [sorted(c.ids) for c in clusters] == [[7, 8]]
