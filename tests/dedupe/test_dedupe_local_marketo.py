"""marketo_dedupe against the local Marketo: persons made as the CRM sync and forms make them."""
from __future__ import annotations

import csv
import datetime as dt
import json

from python_tasks.dedupe.apply import PlanApplier
from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.persons import PERSON_FIELDS, person_from_lead
from python_tasks.dedupe.plan import MARK, MERGE, make_plan, write_csv
from python_tasks.dedupe.scan import scan_persons
from python_tasks.dedupe.winner import WinnerRule

FIELDS = [*PERSON_FIELDS, "ecMemberId", "phone"]


def seed(local_marketo) -> dict[str, int]:
    """Three emails duplicated the ways the field meets them, plus one unique person."""
    svc = local_marketo.service
    ids = {}
    # a form fill first (Marketo-only), then the CRM sync creates the contact: two persons
    ids["form_taro"] = svc.create_form_persons([{"email": "taro@example.jp", "lastName": "山田", "phone": "03-1111"}])[0]["id"]
    ids["contact_taro"] = svc.create_crm_persons([{"email": "taro@example.jp", "lastName": "山田", "sfdcType": "Contact",
                                                   "sfdcContactId": "003000000000001AAA"}])[0]["id"]
    # the same person synced as a Salesforce lead and, later, as a contact (upper-case email)
    ids["lead_hanako"] = svc.create_crm_persons([{"email": "hanako@example.jp", "lastName": "佐藤", "sfdcType": "Lead",
                                                  "sfdcLeadId": "00Q000000000001AAA"}])[0]["id"]
    ids["contact_hanako"] = svc.create_crm_persons([{"email": "Hanako@Example.JP", "lastName": "佐藤", "sfdcType": "Contact",
                                                     "sfdcContactId": "003000000000002AAA"}])[0]["id"]
    # two CRM leads for one email (never deduplicated) plus a form person
    ids["lead_jiro_1"] = svc.create_crm_persons([{"email": "jiro@example.jp", "lastName": "鈴木", "sfdcType": "Lead",
                                                  "sfdcLeadId": "00Q000000000002AAA"}])[0]["id"]
    ids["lead_jiro_2"] = svc.create_crm_persons([{"email": "jiro@example.jp", "lastName": "鈴木", "sfdcType": "Lead",
                                                  "sfdcLeadId": "00Q000000000003AAA"}])[0]["id"]
    ids["unique"] = svc.create_form_persons([{"email": "solo@example.jp", "lastName": "一人"}])[0]["id"]
    return ids


def scan(client):
    return [person_from_lead(r, "ecMemberId") for r in scan_persons(client, FIELDS, gap=2)]


def activity_ids_by_lead(client, lead_ids):
    types = [t["id"] for t in client.get_activity_types()][:10]
    token = client.get_paging_token(dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc))
    out: dict[int, set] = {}
    for item in client.get_activities(types, token, lead_ids=lead_ids):
        out.setdefault(int(item["leadId"]), set()).add(item["id"])
    return out


def test_apply_merge_leaves_one_person_per_email_with_history_and_nobody_deleted(local_marketo, marketo_client, tmp_path):
    ids = seed(local_marketo)
    persons = scan(marketo_client)
    assert len(persons) == 7
    clusters = find_clusters(persons, WinnerRule())
    winners = {c.key: c.winner.id for c in clusters}
    assert sorted(winners) == ["email:hanako@example.jp", "email:jiro@example.jp", "email:taro@example.jp"]
    assert winners["email:taro@example.jp"] == ids["contact_taro"], "a contact beats a Marketo-only person"
    assert winners["email:hanako@example.jp"] == ids["contact_hanako"], "a contact beats a lead"
    jiro = next(c for c in clusters if c.key == "email:jiro@example.jp")
    newest = min(jiro.persons, key=lambda p: (-p.updated_at.timestamp(), p.id))
    assert jiro.winner.id == newest.id, "between two leads the most recently updated (then lowest id) wins"
    plan = make_plan(clusters, MERGE)
    write_csv(plan, tmp_path / "plan.csv")
    losers = [l.id for c in clusters for l in c.losers]
    history_before = activity_ids_by_lead(marketo_client, losers + list(winners.values()))
    assert all(history_before.get(i) for i in losers), "every loser has some history to keep"

    report = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(plan)
    assert report.count("merged") == 3 and report.count("failed") == 0
    assert report.merge_calls == 3

    after = scan(marketo_client)
    emails = [p.email_key for p in after]
    assert sorted(emails) == sorted(set(emails)), "one person per email after apply"
    assert {p.id for p in after} == {ids["unique"], *winners.values()}
    history_after = activity_ids_by_lead(marketo_client, list(winners.values()))
    for cluster in clusters:
        for loser in cluster.losers:
            assert history_before[loser.id] <= history_after[cluster.winner.id], f"{loser.id}'s history moved"
    # nobody deleted by ECBridge: every loser is a merge tombstone, no delete tombstones
    tombstones = local_marketo.service.tombstones()
    assert {t["kind"] for t in tombstones} == {"merged"}
    assert sorted(t["lead_id"] if "lead_id" in t else t["id"] for t in tombstones) == sorted(losers)
    # the taro winner (contact) took the form person's phone, as the plan predicted
    taro = next(p for p in after if p.id == ids["contact_taro"])
    assert taro.values.get("phone") == "03-1111"
    # the plan matches what was done
    planned = {(r["cluster"], int(r["person_id"])) for r in csv.DictReader((tmp_path / "plan.csv").open()) if r["role"] == "loser"}
    audited = {(line["cluster"], loser) for line in map(json.loads, (tmp_path / "audit.jsonl").read_text().splitlines())
               if line["result"] == "merged" for loser in line["losers"]}
    assert planned == audited
    # a second run finds nothing left to do
    assert find_clusters(scan(marketo_client), WinnerRule()) == []
    again = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(plan)
    assert again.count("skipped") == 3 and again.merge_calls == 0


def test_a_failed_merge_is_reported_and_the_others_go_on(local_marketo, marketo_client, tmp_path):
    ids = seed(local_marketo)
    plan = make_plan(find_clusters(scan(marketo_client), WinnerRule()), MERGE)
    # the hanako winner disappears between plan and apply (someone merged it elsewhere)
    hanako = next(p for p in plan if p.key == "email:hanako@example.jp")
    local_marketo.service.leads.merge(str(ids["lead_hanako"]), str(hanako.winner.id), None, False, "test")
    report = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(plan)
    by_key = {o.key: o for o in report.outcomes}
    assert by_key["email:hanako@example.jp"].result == "failed"
    assert "no longer exists" in by_key["email:hanako@example.jp"].detail
    assert by_key["email:taro@example.jp"].result == "merged"
    assert by_key["email:jiro@example.jp"].result == "merged"


def test_mark_policy_keeps_everyone_and_flags_marketo_only_losers(local_marketo, marketo_client, tmp_path):
    ids = seed(local_marketo)
    plan = make_plan(find_clusters(scan(marketo_client), WinnerRule()), MARK)
    report = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(plan)
    after = {p.id: p for p in scan(marketo_client)}
    assert len(after) == 7, "mark keeps every person"
    assert after[ids["form_taro"]].superseded_by == ids["contact_taro"]
    assert after[ids["lead_hanako"]].superseded_by is None, "CRM-synced losers are not marked"
    assert report.count("marked") == 1
    again = PlanApplier(marketo_client, tmp_path / "audit.jsonl", FIELDS).apply(
        make_plan(find_clusters(list(after.values()), WinnerRule()), MARK))
    assert again.count("marked") == 0


def test_a_merge_marketo_refuses_is_reported_with_its_cause_and_the_others_go_on(local_marketo, marketo_client, tmp_path):
    from python_tasks.marketo import MarketoError

    ids = seed(local_marketo)
    plan = make_plan(find_clusters(scan(marketo_client), WinnerRule()), MERGE)

    class RefusesTaro:
        """The real client, except that Marketo refuses the merge into the taro winner."""

        def __getattr__(self, name):
            return getattr(marketo_client, name)

        def merge_leads(self, winner, losers, merge_in_crm=False):
            if winner == ids["contact_taro"]:
                raise MarketoError("Lead is locked by a sync", "1029")
            return marketo_client.merge_leads(winner, losers, merge_in_crm)

    report = PlanApplier(RefusesTaro(), tmp_path / "audit.jsonl", FIELDS).apply(plan)
    by_key = {o.key: o for o in report.outcomes}
    assert by_key["email:taro@example.jp"].result == "failed" and "1029" in by_key["email:taro@example.jp"].detail
    assert by_key["email:hanako@example.jp"].result == "merged" and by_key["email:jiro@example.jp"].result == "merged"
    assert len([p for p in scan(marketo_client) if p.email_key == "taro@example.jp"]) == 2, "nothing lost"
    failed = [json.loads(l) for l in (tmp_path / "audit.jsonl").read_text().splitlines()
              if json.loads(l)["result"] == "failed"]
    assert failed and failed[0]["cluster"] == "email:taro@example.jp" and failed[0]["before"]
