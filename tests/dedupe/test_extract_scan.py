"""The bulk-extract scan: whole instances in createdAt windows, id gaps the id scan misses, the fallback."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from unittest import mock

import pytest
from cumulusci.core.config import BaseProjectConfig, TaskConfig, UniversalConfig
from cumulusci.core.exceptions import CumulusCIFailure
from cumulusci.core.keychain import BaseProjectKeychain

from python_tasks.dedupe.extract_scan import extract_persons, windows_between
from python_tasks.dedupe.persons import PERSON_FIELDS
from python_tasks.dedupe.scan import scan_persons
from python_tasks.dedupe.task import MarketoDedupe

ROOT = Path(__file__).resolve().parents[2]
UTC = dt.timezone.utc


def skip_ids(local_marketo, count: int) -> None:
    """The next person gets an id ``count`` higher: what a run of deleted (or merged) persons leaves."""
    with local_marketo.service.store.transaction() as db:
        db.execute("UPDATE sqlite_sequence SET seq = seq + ? WHERE name='leads'", (count,))


def set_created(local_marketo, lead_id: int, when: dt.datetime) -> None:
    with local_marketo.service.store.transaction() as db:
        db.execute("UPDATE leads SET created_at=? WHERE id=?", (when.strftime("%Y-%m-%dT%H:%M:%SZ"), lead_id))


def dedupe(local_marketo, tmp_path: Path, **options: str) -> MarketoDedupe:
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"package": {"api_version": "62.0"}}})
    project.keychain = BaseProjectKeychain(project, None)
    env = {"MARKETO_BASE_URL": local_marketo.url, "MARKETO_CLIENT_ID": local_marketo.client_id,
           "MARKETO_CLIENT_SECRET": local_marketo.client_secret}
    task_options = {"mapping": str(ROOT / "ecbridge.yml"), "output_dir": str(tmp_path / "reports"),
                    "push_clusters": str(tmp_path / "none.jsonl"), "extract_poll_seconds": "0.2", **options}
    with mock.patch.dict("os.environ", env):
        task = MarketoDedupe(project, TaskConfig({"options": task_options}))
        task()
    return task


def gapped_instance(local_marketo) -> list[int]:
    """Two duplicated emails; the second pair lies past 9,000 missing ids."""
    svc = local_marketo.service
    ids = [svc.create_form_persons([{"email": "near@example.jp"}])[0]["id"],
           svc.create_crm_persons([{"email": "near@example.jp", "sfdcType": "Contact",
                                    "sfdcContactId": "003000000000001AAA"}])[0]["id"]]
    skip_ids(local_marketo, 9000)
    ids += [svc.create_form_persons([{"email": "far@example.jp"}])[0]["id"],
            svc.create_crm_persons([{"email": "far@example.jp", "sfdcType": "Contact",
                                     "sfdcContactId": "003000000000002AAA"}])[0]["id"]]
    assert ids[2] > 9000
    return ids


def test_the_extract_finds_persons_past_a_long_id_gap_that_the_id_scan_misses(local_marketo, marketo_client,
                                                                              tmp_path) -> None:
    ids = gapped_instance(local_marketo)
    by_ids = [int(r["id"]) for r in scan_persons(marketo_client, ["id"], gap=20)]
    assert by_ids == ids[:2], "20 empty windows of 300 ids end the id scan before the far pair"
    extracted = extract_persons(marketo_client, PERSON_FIELDS, first_poll_seconds=0.05, poll_seconds=0.05)
    assert [int(r["id"]) for r in extracted.rows] == ids and extracted.windows == 1
    task = dedupe(local_marketo, tmp_path)
    values = task.return_values
    assert (values["persons_scanned"], values["clusters"]) == (4, 2)
    assert values["scan"].startswith("bulk lead extract: persons created")
    assert "Persons read by bulk lead extract" in (tmp_path / "reports" / "plan.html").read_text(encoding="utf-8")
    by_id_scan = dedupe(local_marketo, tmp_path / "ids", scan_method="ids").return_values
    assert (by_id_scan["persons_scanned"], by_id_scan["clusters"]) == (2, 1)
    assert by_id_scan["scan"].startswith("id windows of 300: ids 1 to 6300, stopped after 20 empty windows")


def test_persons_over_many_months_are_read_in_31_day_windows_each_exactly_once(local_marketo, marketo_client) -> None:
    svc = local_marketo.service
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    made = [svc.create_form_persons([{"email": f"p{i}@example.jp"}])[0]["id"] for i in range(8)]
    moments = [start + dt.timedelta(days=20 * i) for i in range(8)]
    moments[3] = windows_between(start, start + dt.timedelta(days=400))[1][0]  # exactly on a window edge
    for lead_id, when in zip(made, moments):
        set_created(local_marketo, lead_id, when)
    before = marketo_client.counters().calls
    scan = extract_persons(marketo_client, ["email", "createdAt"], first_poll_seconds=0.05, poll_seconds=0.05)
    assert scan.since == start, "the first window starts at the oldest person"
    assert [int(r["id"]) for r in scan.rows] == made
    assert [r["email"] for r in scan.rows] == [f"p{i}@example.jp" for i in range(8)]
    assert scan.windows == len(windows_between(start, scan.until)) and scan.windows > 20
    assert marketo_client.counters().calls - before <= 1 + 4 * scan.windows + 2


def test_a_full_queue_makes_the_scan_wait_and_it_still_reads_everyone(local_marketo, marketo_client) -> None:
    svc = local_marketo.service
    made = [svc.create_form_persons([{"email": f"q{i}@example.jp"}])[0]["id"] for i in range(4)]
    for i, lead_id in enumerate(made):
        set_created(local_marketo, lead_id, dt.datetime(2025, 1, 1, tzinfo=UTC) + dt.timedelta(days=40 * i))
    svc.update_settings(bulk_extract_max_queued=2, bulk_extract_max_running=1, bulk_extract_hold_seconds=0.1)
    scan = extract_persons(marketo_client, ["email"], first_poll_seconds=0.05, poll_seconds=0.05,
                           until=dt.datetime(2025, 7, 1, tzinfo=UTC))
    assert [int(r["id"]) for r in scan.rows] == made and scan.jobs == scan.windows


def test_without_bulk_extract_auto_falls_back_to_id_windows_and_extract_fails(local_marketo, tmp_path) -> None:
    gapped_instance(local_marketo)
    local_marketo.service.update_settings(bulk_lead_extract=False)
    values = dedupe(local_marketo, tmp_path).return_values
    assert values["scan"].startswith("id windows of 300") and values["persons_scanned"] == 2
    with pytest.raises(CumulusCIFailure, match="no bulk lead extract"):
        dedupe(local_marketo, tmp_path, scan_method="extract")
