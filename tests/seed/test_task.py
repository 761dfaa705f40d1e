"""seed_ec_data as CumulusCI runs it: options, receipts, summary and failures, against a scripted endpoint."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from unittest import mock

from cumulusci.core.config import BaseProjectConfig, OrgConfig, TaskConfig, UniversalConfig
from cumulusci.core.exceptions import TaskOptionsError
from cumulusci.core.keychain import BaseProjectKeychain

from localcloud.common.httpserver import App, Router, serve
from python_tasks.seed import SeedECData
from python_tasks.seed.receipt import read_receipt
from python_tasks.seed.sender import DeliveryError
from tests.seed.test_sender import ScriptedEndpoint

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def endpoint():
    scripted = ScriptedEndpoint()
    router = Router()
    router.add("POST", r"/services/apexrest/ecbridge/v1/events", scripted)
    running = serve(App(router))
    yield scripted, running.url
    running.stop()


def create_task(task_class, options, org_config):
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"package": {"api_version": "62.0"}}})
    project.keychain = BaseProjectKeychain(project, None)
    org_config.keychain = project.keychain
    org_config.refresh_oauth_token = mock.Mock()  # no OAuth server here: the token in the org config is used
    with mock.patch("cumulusci.core.tasks.BaseSalesforceTask._get_client_name", return_value="ecbridge-tests"):
        return task_class(project, TaskConfig({"options": options}), org_config)


def seed_task(url: str, tmp_path: Path, **options):
    org = OrgConfig({"instance_url": url, "access_token": "good", "org_id": "00D000000000001AAA",
                     "id": f"{url}/id/00D000000000001AAA/005000000000001AAA", "username": "u@example.com"}, "local")
    base = {"mapping": str(ROOT / "ecbridge.yml"), "reports_dir": str(tmp_path / "reports"), "seed_marketo": "False",
            "simulate_crm_sync": "False", "random_seed": "42", "run_id": "T9"}
    return create_task(SeedECData, {**base, **options}, org_config=org)


def test_the_task_delivers_every_event_with_redeliveries_and_writes_the_receipt(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint
    task = seed_task(url, tmp_path, members="25", batch_size="20", senders="3", duplicate_share="0.2")
    task()
    receipt = read_receipt(tmp_path / "reports" / "T9" / "seed-receipt.jsonl")
    planned = {p.event.id for p in receipt.events}
    received = Counter(event_id for ids in scripted.received for event_id in ids)
    assert set(received) == planned, "every planned event reached the endpoint"
    redelivered = [event_id for event_id, count in received.items() if count == 2]
    assert len(redelivered) == round(sum(1 for p in receipt.events if p.valid) * 0.2)
    assert all(len(ids) <= 20 for ids in scripted.received)
    assert not receipt.undelivered_event_ids()
    assert receipt.summary["members"] == 25 and receipt.summary["invalidEvents"] == 9
    assert receipt.summary["failedCalls"] == {}
    assert (tmp_path / "reports" / "latest-run.txt").read_text().strip() == "T9"
    assert task.return_values["events"] == len(planned)
    assert task.return_values["receipt"].endswith("seed-receipt.jsonl")


def test_running_the_same_run_id_twice_is_refused(endpoint, tmp_path: Path) -> None:
    _, url = endpoint
    # no invalid events: they are copies of a member with an order, which 3 random members may not have
    seed_task(url, tmp_path, members="3", invalid_events="0")()
    with pytest.raises(TaskOptionsError, match="seeded already"):
        seed_task(url, tmp_path, members="3", invalid_events="0")()


def test_calls_that_fail_for_good_fail_the_task_and_are_in_the_receipt(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint

    class Always503(ScriptedEndpoint):
        def __call__(self, request):
            from localcloud.common.httpserver import Response
            with self.lock:
                self.received.append([e["id"] for e in request.json()["events"]])
            return Response.json([{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], status=503)

    router = Router()
    down = Always503()
    router.add("POST", r"/services/apexrest/ecbridge/v1/events", down)
    running = serve(App(router))
    try:
        task = seed_task(running.url, tmp_path, members="3", max_attempts="2", invalid_events="0", duplicate_share="0")
        with pytest.raises(DeliveryError, match="never answered after 2 attempts"):
            task()
    finally:
        running.stop()
    receipt = read_receipt(tmp_path / "reports" / "T9" / "seed-receipt.jsonl")
    assert receipt.undelivered_event_ids() == {p.event.id for p in receipt.events}
    assert all(call["httpStatus"] == 503 for call in receipt.calls)
    assert len(receipt.calls) == 2 * len({tuple(ids) for ids in down.received})


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("batch_size", "201", "at most 200"), ("duplicate_share", "1.5", "between 0 and 1"), ("members", "zero", "whole number")],
)
def test_bad_options_are_refused_with_the_option_named(tmp_path: Path, option: str, value: str, message: str) -> None:
    with pytest.raises(TaskOptionsError, match=message):
        seed_task("https://127.0.0.1:1", tmp_path, **{option: value})


def test_without_a_marketo_the_duplicate_scenario_is_skipped_with_a_warning(
    endpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = endpoint
    for name in ("MARKETO_BASE_URL", "MARKETO_CLIENT_ID", "MARKETO_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    task = seed_task(url, tmp_path, members="4", marketo_only_share="1", seed_marketo="True", simulate_crm_sync="True",
                     invalid_events="0")
    task()
    assert task.return_values["marketo"]["marketoOnlyPersons"] == 0
    assert "no Marketo" in task.return_values["marketo"]["skipped"]
    assert "no Marketo" in task.return_values["crmSync"]["skipped"]
    assert "duplicate scenario's persons are not seeded" in caplog.text
