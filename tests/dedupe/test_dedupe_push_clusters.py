"""marketo_dedupe as CumulusCI runs it, with the clusters push_marketo recorded, against local Marketos.

Persons sharing only the EC member key (different emails) form a cluster only through a recorded
link, so whether a line was read, ignored or dropped shows in what the run merges.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from unittest import mock

import pytest
from cumulusci.core.config import BaseProjectConfig, TaskConfig, UniversalConfig
from cumulusci.core.keychain import BaseProjectKeychain

from python_tasks.dedupe.cluster_record import ClusterRecord, Sighting, normalise_instance
from python_tasks.dedupe.task import MarketoDedupe

ROOT = Path(__file__).resolve().parents[2]


def run_dedupe(marketo, tmp_path: Path, clusters: Path, **options: str) -> MarketoDedupe:
    """The task in-process, with the credentials in MARKETO_* as outside cci (no keychain service)."""
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"package": {"api_version": "62.0"}}})
    project.keychain = BaseProjectKeychain(project, None)
    env = {"MARKETO_BASE_URL": marketo.url, "MARKETO_CLIENT_ID": marketo.client_id,
           "MARKETO_CLIENT_SECRET": marketo.client_secret}
    task_options = {"mapping": str(ROOT / "ecbridge.yml"), "output_dir": str(tmp_path / "reports"), "scan_gap": "2",
                    "push_clusters": str(clusters), **options}
    with mock.patch.dict("os.environ", env):
        task = MarketoDedupe(project, TaskConfig({"options": task_options}))
        task()
    return task


def member_pair(marketo, key: str, form_email: str, contact_email: str, contact_id: str) -> tuple[int, int]:
    """A Marketo-only person and a CRM-synced contact with one EC member key and different emails."""
    svc = marketo.service
    form = svc.create_form_persons([{"email": form_email, "ecMemberId": key}])[0]["id"]
    contact = svc.create_crm_persons([{"email": contact_email, "ecMemberId": key, "sfdcType": "Contact",
                                       "sfdcContactId": contact_id}])[0]["id"]
    return form, contact


def lead_ids(client, ids: list[int]) -> set[int]:
    return {int(row["id"]) for row in client.get_leads_by_filter("id", ids, ["id"])}


def test_an_applied_run_drops_the_clusters_it_merged_or_whose_persons_are_gone_and_keeps_the_rest(
        local_marketo, marketo_client, tmp_path) -> None:
    form, contact = member_pair(local_marketo, "M1", "old@example.jp", "new@example.jp", "003000000000001AAA")
    kept_a, kept_b = member_pair(local_marketo, "M7", "k1@example.jp", "k2@example.jp", "003000000000002AAA")
    merged_away = local_marketo.service.create_form_persons([{"email": "gone@example.jp"}])[0]["id"]
    marketo_client.merge_leads(kept_a, [merged_away])  # merged by hand since the push met it
    clusters = tmp_path / "state" / "push_duplicate_clusters.jsonl"
    record = ClusterRecord(clusters)
    here = local_marketo.url
    record.record(here, [Sighting("ecMemberId:M1", [form, contact], contact),            # merged by this run
                         Sighting("ecMemberId:M3", [kept_a, kept_b], kept_b),            # they no longer carry M3
                         Sighting("email:gone@example.jp", [kept_a, merged_away], kept_a),  # one person left
                         # 9000 lies past scan_gap's empty windows; the scan still reads to it because the push
                         # recorded it, finds nobody there, and so the cluster is settled (one person left)
                         Sighting("email:far@example.jp", [kept_a, 9000], kept_a)], "t1")
    record.record("https://222-bbb-222.mktorest.com", [Sighting("ecMemberId:M1", [form, contact], contact)], "t1")
    task = run_dedupe(local_marketo, tmp_path, clusters, apply="True")
    values = task.return_values
    assert (values["clusters"], values["merged"]) == (1, 1), "the recorded link joined the two M1 persons"
    assert lead_ids(marketo_client, [form, contact, kept_a, kept_b]) == {contact, kept_a, kept_b}
    assert (values["push_clusters_read"], values["push_clusters_dropped"]) == (4, 3)
    left = [json.loads(line) for line in clusters.read_text(encoding="utf-8").splitlines()]
    assert [(l["instance"], l["key"]) for l in left] == [
        (normalise_instance(here), "ecMemberId:M3"), ("https://222-bbb-222.mktorest.com", "ecMemberId:M1")]
    # re-running changes nothing: the kept lines are read again and kept again
    before = clusters.read_bytes()
    again = run_dedupe(local_marketo, tmp_path, clusters, apply="True").return_values
    assert (again["clusters"], again["push_clusters_read"], again["push_clusters_dropped"]) == (0, 1, 0)
    assert clusters.read_bytes() == before


def test_dedupe_of_one_instance_ignores_and_keeps_the_clusters_recorded_on_another(
        local_marketo, marketo_client, tmp_path) -> None:
    service = pytest.importorskip("localcloud.marketo.service")
    other = service.start_local_marketo(tmp_path / "marketo-b", certs_dir=tmp_path / "certs")
    try:
        # the same ids on both instances; the member key matches on both, the recorded cluster is B's
        a_pair = member_pair(local_marketo, "M1", "a-old@example.jp", "a-new@example.jp", "003000000000001AAA")
        b_pair = member_pair(other, "M1", "b-old@example.jp", "b-new@example.jp", "003000000000009AAA")
        assert a_pair == b_pair
        clusters = tmp_path / "push_duplicate_clusters.jsonl"
        ClusterRecord(clusters).record(other.url, [Sighting("ecMemberId:M1", list(b_pair), b_pair[1])], "t1")
        before = clusters.read_bytes()
        on_a = run_dedupe(local_marketo, tmp_path / "a", clusters, apply="True").return_values
        assert (on_a["clusters"], on_a["merged"], on_a["push_clusters_read"]) == (0, 0, 0)
        assert lead_ids(marketo_client, list(a_pair)) == set(a_pair), "nobody on A was merged by B's record"
        assert clusters.read_bytes() == before, "B's line stays for B's dedupe"
        on_b = run_dedupe(other, tmp_path / "b", clusters, apply="True").return_values
        assert (on_b["clusters"], on_b["merged"], on_b["push_clusters_dropped"]) == (1, 1, 1)
        assert clusters.read_text(encoding="utf-8") == ""
    finally:
        other.stop()


def test_a_dry_run_leaves_the_record_untouched(local_marketo, tmp_path) -> None:
    form, contact = member_pair(local_marketo, "M1", "old@example.jp", "new@example.jp", "003000000000001AAA")
    clusters = tmp_path / "push_duplicate_clusters.jsonl"
    ClusterRecord(clusters).record(local_marketo.url, [Sighting("ecMemberId:M1", [form, contact], contact),
                                                       Sighting("email:gone@example.jp", [form, 9000], form)], "t1")
    clusters.write_text(clusters.read_text(encoding="utf-8") + '{"key": "email:x@x.jp", "candidates": [1, 2]}\n',
                        encoding="utf-8")
    before = (clusters.read_bytes(), clusters.stat().st_mtime_ns)
    values = run_dedupe(local_marketo, tmp_path, clusters).return_values
    assert (values["applied"], values["clusters"], values["push_clusters_read"]) == (False, 1, 2)
    assert (clusters.read_bytes(), clusters.stat().st_mtime_ns) == before


def test_lines_recorded_without_an_instance_are_ignored_with_one_warning_and_kept(
        local_marketo, marketo_client, tmp_path, caplog) -> None:
    form, contact = member_pair(local_marketo, "M1", "old@example.jp", "new@example.jp", "003000000000001AAA")
    clusters = tmp_path / "push_duplicate_clusters.jsonl"
    legacy = [json.dumps({"at": f"2025-01-0{n}T00:00:00+00:00", "key": "ecMemberId:M1", "candidates": [form, contact],
                          "chosen": contact, "reason": "contact wins"}) for n in (1, 2)]
    clusters.write_text("\n".join(legacy) + "\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        values = run_dedupe(local_marketo, tmp_path, clusters, apply="True").return_values
    assert (values["clusters"], values["merged"], values["push_clusters_read"]) == (0, 0, 0)
    assert lead_ids(marketo_client, [form, contact]) == {form, contact}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and str(clusters) in r.getMessage()]
    assert len(warnings) == 1 and "2 clusters" in warnings[0] and "without their Marketo instance" in warnings[0]
    assert clusters.read_text(encoding="utf-8").splitlines() == legacy
