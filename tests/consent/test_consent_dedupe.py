"""marketo_dedupe keeps an opt-out: the merged (or marked) winner stays unsubscribed if any duplicate was."""
from __future__ import annotations

from python_tasks.dedupe.apply import PlanApplier
from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead
from python_tasks.dedupe.plan import MARK, MERGE, ConsentFields, make_plan, plan_rows
from python_tasks.dedupe.scan import scan_persons
from python_tasks.dedupe.winner import WinnerRule

FIELDS = [*PERSON_FIELDS, "ecMemberId", "unsubscribed", "unsubscribedReason"]
CONSENT = ConsentFields("unsubscribed", "unsubscribedReason")


def seed(local_marketo, durable: bool = False) -> dict[str, int]:
    """Without Durable Unsubscribe (an instance without it, or persons of one member with other emails)
    the contact stays subscribed when its form-filled duplicate unsubscribes; with it, both are."""
    svc = local_marketo.service
    svc.update_settings(durable_unsubscribe=durable)
    ids = {
        "form": svc.create_form_persons([{"email": "taro@example.jp", "lastName": "山田"}])[0]["id"],
        "contact": svc.create_crm_persons([{"email": "taro@example.jp", "lastName": "山田", "sfdcType": "Contact",
                                            "sfdcContactId": "003000000000001AAA"}])[0]["id"],
        "form_2": svc.create_form_persons([{"email": "hanako@example.jp", "lastName": "佐藤"}])[0]["id"],
        "contact_2": svc.create_crm_persons([{"email": "hanako@example.jp", "lastName": "佐藤", "sfdcType": "Contact",
                                              "sfdcContactId": "003000000000002AAA"}])[0]["id"],
    }
    # the form person (the loser) unsubscribed through an email's link; hanako's persons did not
    svc.unsubscribe_via_link({"leadId": ids["form"], "reason": "Clicked unsubscribe"})
    return ids


def plan_for(client, policy):
    persons = [person_from_lead(r, "ecMemberId") for r in scan_persons(client, FIELDS, gap=2)]
    return make_plan(find_clusters(persons, WinnerRule()), policy, CONSENT)


def lead(client, lead_id):
    return next(iter(client.get_leads_by_filter("id", [lead_id], ["id", "unsubscribed", "unsubscribedReason"])), None)


def test_the_plan_shows_the_opt_out_carried_and_apply_keeps_the_merged_person_unsubscribed(
        local_marketo, marketo_client, tmp_path) -> None:
    ids = seed(local_marketo)
    plan = {p.key: p for p in plan_for(marketo_client, MERGE)}
    taro, hanako = plan["email:taro@example.jp"], plan["email:hanako@example.jp"]
    assert taro.winner.id == ids["contact"], "the contact wins, and Marketo would keep its subscription"
    assert [(c.field, c.after) for c in taro.carry] == [("unsubscribed", True),
                                                       ("unsubscribedReason", "Clicked unsubscribe")]
    assert hanako.carry == [], "nobody unsubscribed: nothing to carry"
    rows = {(r["cluster"], r["role"]): r for r in plan_rows(list(plan.values()))}
    winner_row = rows[("email:taro@example.jp", "winner")]
    assert "stays unsubscribed" in winner_row["action"] and "unsubscribed: " in winner_row["changes"]
    assert "True" in winner_row["changes"]
    report = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(list(plan.values()))
    assert report.count("merged") == 2
    merged = lead(marketo_client, ids["contact"])
    assert merged["unsubscribed"] is True and merged["unsubscribedReason"] == "Clicked unsubscribe"
    assert lead(marketo_client, ids["form"]) is None, "the loser is merged into the winner"
    assert not lead(marketo_client, ids["contact_2"])["unsubscribed"]
    again = plan_for(marketo_client, MERGE)
    assert again == [], "applied twice: nothing left to merge or carry"


def test_the_mark_policy_unsubscribes_the_winner_too(local_marketo, marketo_client, tmp_path) -> None:
    ids = seed(local_marketo)
    plan = plan_for(marketo_client, MARK)
    report = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(plan)
    assert report.count("failed") == 0
    assert lead(marketo_client, ids["contact"])["unsubscribed"] is True, "later pushes go to the winner"
    assert lead(marketo_client, ids["form"])["unsubscribed"] is True
    assert not lead(marketo_client, ids["contact_2"])["unsubscribed"]
    taro = next(p for p in plan_for(marketo_client, MARK) if p.key == "email:taro@example.jp")
    assert taro.carry == [], "carried once"


def test_with_durable_unsubscribe_every_person_of_the_address_is_unsubscribed_and_nothing_is_carried(
        local_marketo, marketo_client, tmp_path) -> None:
    ids = seed(local_marketo, durable=True)
    plan = {p.key: p for p in plan_for(marketo_client, MERGE)}
    assert plan["email:taro@example.jp"].carry == [], "the winner is unsubscribed already"
    PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(list(plan.values()))
    assert lead(marketo_client, ids["contact"])["unsubscribed"] is True
