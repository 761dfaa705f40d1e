"""The plan a reviewer decides from (the HTML page) and gives back (plan.csv with a skip decision)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import html5lib
import pytest

from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.decisions import ReviewedPlanError, read_reviewed_plan, split_by_review
from python_tasks.dedupe.persons import person_from_lead
from python_tasks.dedupe.plan import MERGE, make_plan, write_csv
from python_tasks.dedupe.plan_page import write_html
from python_tasks.dedupe.winner import WinnerRule
from tests.dedupe.test_dedupe_push_clusters import lead_ids, run_dedupe

NS = {"h": "http://www.w3.org/1999/xhtml"}


def lead(id, email, updated="2024-01-01T00:00:00Z", **extra):
    return person_from_lead({"id": id, "email": email, "updatedAt": updated,
                             "createdAt": "2023-01-01T00:00:00Z", **extra}, "ecMemberId")


def parse(path: Path):
    """The page through a real HTML5 parser that fails on any parse error."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True)
    return parser.parse(path.read_bytes())


def sample_plan():
    persons = [
        lead(1, "a@x.jp", firstName=None, phone="03-1"),
        lead(2, "A@x.jp", sfdcType="Contact", sfdcContactId="0031", firstName="太郎", phone=None),
        lead(3, "b@x.jp", sfdcType="Lead", sfdcLeadId="00Q1", ecMemberId="M1"),
        lead(4, "c@x.jp", ecMemberId="M1"),
        lead(5, "c@x.jp", ecMemberId="M9", lastName="<script>"),
    ]
    return make_plan(find_clusters(persons, WinnerRule(), by_member_key=True), MERGE)


def test_the_page_has_one_card_per_cluster_and_its_figures_are_the_plans(tmp_path) -> None:
    plan = sample_plan()
    rows = list(csv.DictReader(write_csv(plan, tmp_path / "plan.csv").open(encoding="utf-8")))
    page = write_html(plan, tmp_path / "plan.html", activities={1: 4, 2: 1, 3: 0, 4: 2, 5: 7})
    doc = parse(page)
    assert not doc.findall(".//h:script", NS), "no JavaScript"
    cards = doc.findall(".//h:article", NS)
    assert [c.get("data-cluster") for c in cards] == sorted({r["cluster"] for r in rows})
    summary = {td.get("data-figure"): int(td.text) for td in doc.findall(".//h:td[@data-figure]", NS)}
    assert summary["clusters"] == len({r["cluster"] for r in rows})
    assert summary["persons"] == len(rows)
    by_rule = {tr.get("data-rule"): [int(td.text) for td in tr.findall("h:td", NS)[1:]]
               for tr in doc.findall(".//h:tr[@data-rule]", NS)}
    assert by_rule == {"email": [1, 2], "member key": [1, 3], "recorded by push": [0, 0]}
    sync = {tr.get("data-sync"): int(tr.findall("h:td", NS)[1].text) for tr in doc.findall(".//h:tr[@data-sync]", NS)}
    assert sync == {"CRM contact": 1, "CRM lead": 1, "Marketo-only": 3}
    # the email card: the contact wins, the loser's phone fills the winner's gap and is highlighted
    email_card = next(c for c in cards if c.get("data-cluster") == "email:a@x.jp")
    heads = [th.get("data-person") for th in email_card.findall(".//h:thead/h:tr[1]/h:th[@data-person]", NS)]
    assert heads == ["2", "1"]
    phone = email_card.find(".//h:tr[@data-field='phone']", NS)
    cells = phone.findall("h:td", NS)
    assert [c.text for c in cells] == [None, "03-1", "03-1"]
    assert "filled" in cells[-1].get("class") and "differs" in phone.get("class")
    activities = email_card.find(".//h:tr[@data-field='activities']", NS)
    assert [c.text for c in activities.findall("h:td", NS)] == ["1", "4", "5"], "the winner keeps all history"
    synced = [td.text for td in email_card.findall(".//h:thead/h:tr[2]/h:td", NS)]
    assert synced[:2] == ["CRM contact", "Marketo-only"]
    # each rule and size filter has its radio button and a CSS rule hiding the other cards
    style = doc.find(".//h:style", NS).text
    for name in ("rule-email", "rule-member-key", "size-2", "size-3"):
        assert doc.find(f".//h:input[@id='{name}']", NS) is not None
        assert f"#{name}:checked ~ #cards .card:not(.{name})" in style
    assert "<script>" not in page.read_text(encoding="utf-8"), "values are escaped"


def reviewed_copy(source: Path, target: Path, skip: set[str]) -> Path:
    rows = list(csv.DictReader(source.open(encoding="utf-8")))
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            if row["cluster"] in skip and row["role"] == "loser":
                row["decision"] = "skip"
            writer.writerow(row)
    return target


def test_a_cluster_changed_or_new_since_the_review_is_skipped(tmp_path) -> None:
    plan = sample_plan()
    reviewed = read_reviewed_plan(reviewed_copy(write_csv(plan[:1], tmp_path / "p.csv"), tmp_path / "r.csv", set()))
    go, skipped = split_by_review(plan, reviewed)
    assert [p.key for p in go] == [plan[0].key]
    assert [s.reason.split(" (")[0] for s in skipped] == ["not in the reviewed plan"]
    reviewed[plan[0].key].persons.add(99)
    go, skipped = split_by_review(plan[:1], reviewed)
    assert go == [] and "persons [99] left" in skipped[0].reason


def test_a_decision_that_is_neither_apply_nor_skip_is_refused_with_its_line(tmp_path) -> None:
    path = write_csv(sample_plan(), tmp_path / "plan.csv")
    text = path.read_text(encoding="utf-8").splitlines()
    text[2] = text[2].rsplit(",", 1)[0] + ",maybe"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ReviewedPlanError, match=r"line 3: decision 'maybe'"):
        read_reviewed_plan(path)


def test_apply_with_a_reviewed_plan_leaves_the_skipped_clusters_alone(local_marketo, marketo_client, tmp_path) -> None:
    svc = local_marketo.service
    form_a = svc.create_form_persons([{"email": "a@example.jp", "lastName": "甲"}])[0]["id"]
    contact_a = svc.create_crm_persons([{"email": "a@example.jp", "lastName": "甲", "sfdcType": "Contact",
                                         "sfdcContactId": "003000000000001AAA"}])[0]["id"]
    form_b = svc.create_form_persons([{"email": "b@example.jp", "lastName": "乙"}])[0]["id"]
    contact_b = svc.create_crm_persons([{"email": "b@example.jp", "lastName": "乙", "sfdcType": "Contact",
                                         "sfdcContactId": "003000000000002AAA"}])[0]["id"]
    records = tmp_path / "none.jsonl"
    dry = run_dedupe(local_marketo, tmp_path, records).return_values
    assert dry["clusters"] == 2
    page = parse(Path(dry["plan_html"]))
    assert len(page.findall(".//h:article", NS)) == 2
    activities = page.findall(".//h:tr[@data-field='activities']", NS)
    assert len(activities) == 2, "activity counts are read for the clustered persons"
    reviewed = reviewed_copy(Path(dry["plan_csv"]), tmp_path / "reviewed.csv", {"email:b@example.jp"})
    applied = run_dedupe(local_marketo, tmp_path, records, apply="True", reviewed_plan=str(reviewed)).return_values
    assert (applied["merged"], applied["skipped"], applied["skipped_by_review"]) == (1, 1, 1)
    assert lead_ids(marketo_client, [form_a, contact_a, form_b, contact_b]) == {contact_a, form_b, contact_b}
    audit = [json.loads(line) for line in Path(applied["audit_log"]).read_text(encoding="utf-8").splitlines()]
    skipped = [a for a in audit if a["result"] == "skipped"]
    assert [(a["cluster"], a["detail"]) for a in skipped] == [("email:b@example.jp", "skipped by the reviewer")]
    rewritten = list(csv.DictReader(Path(applied["plan_csv"]).open(encoding="utf-8")))
    assert {r["decision"] for r in rewritten if r["cluster"] == "email:b@example.jp"} == {"skip"}, \
        "the new plan keeps the reviewer's decision"
    page = parse(Path(applied["plan_html"]))
    assert [a.get("data-cluster") for a in page.findall(".//h:article", NS) if "skipped" in a.get("class")] == \
        ["email:b@example.jp"]


def test_a_cluster_that_grew_since_the_review_is_not_merged(local_marketo, marketo_client, tmp_path) -> None:
    svc = local_marketo.service
    form = svc.create_form_persons([{"email": "c@example.jp"}])[0]["id"]
    contact = svc.create_crm_persons([{"email": "c@example.jp", "sfdcType": "Contact",
                                       "sfdcContactId": "003000000000003AAA"}])[0]["id"]
    records = tmp_path / "none.jsonl"
    dry = run_dedupe(local_marketo, tmp_path, records, count_activities="False").return_values
    reviewed = reviewed_copy(Path(dry["plan_csv"]), tmp_path / "reviewed.csv", set())
    late = svc.create_crm_persons([{"email": "C@example.jp", "sfdcType": "Lead",
                                    "sfdcLeadId": "00Q000000000003AAA"}])[0]["id"]
    applied = run_dedupe(local_marketo, tmp_path, records, apply="True", reviewed_plan=str(reviewed)).return_values
    assert (applied["merged"], applied["skipped_by_review"]) == (0, 1)
    assert lead_ids(marketo_client, [form, contact, late]) == {form, contact, late}
