"""The concurrent sender against a scripted HTTP endpoint: retries keep event ids, receipts keep everything."""
from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import pytest

from localcloud.common.httpserver import App, Request, Response, Router, serve
from python_tasks.seed.events import ECEvent, PlannedEvent
from python_tasks.seed.plan import Batch
from python_tasks.seed.receipt import ReceiptWriter, read_receipt
from python_tasks.seed.sender import EventSender, TokenSource


class ScriptedEndpoint:
    """Answers like the EC endpoint; `faults` maps a batch's first event id to answers to give first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[list[str]] = []
        self.tokens: list[str | None] = []
        self.faults: dict[str, list[int]] = {}
        self.valid_token = "good"

    def __call__(self, request: Request) -> Response:
        ids = [event["id"] for event in request.json()["events"]]
        with self.lock:
            self.received.append(ids)
            self.tokens.append(request.bearer_token)
            if request.bearer_token != self.valid_token:
                return Response.json([{"errorCode": "INVALID_SESSION_ID", "message": "Session expired"}], status=401)
            script = self.faults.get(ids[0])
            if script:
                status = script.pop(0)
                return Response.json([{"errorCode": "APEX_ERROR", "message": "boom"}], status=status)
        return Response.json([{"id": i, "status": "created", "recordId": "003000000000001AAA", "errors": []} for i in ids])


@pytest.fixture()
def endpoint():
    scripted = ScriptedEndpoint()
    router = Router()
    router.add("POST", r"/services/apexrest/ecbridge/v1/events", scripted)
    running = serve(App(router))
    yield scripted, running.url
    running.stop()


def make_batches(count: int, size: int) -> list[Batch]:
    batches = []
    for b in range(count):
        events = [
            PlannedEvent(ECEvent(f"e{b}-{i}", "member", "2026-01-01T00:00:00.000Z", {"memberId": f"M{b}-{i}"}), f"M{b}-{i}", "member")
            for i in range(size)
        ]
        batches.append(Batch(f"b{b}", events))
    return batches


def test_all_batches_delivered_concurrently_with_retries_on_5xx(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint
    batches = make_batches(12, 5)
    scripted.faults = {"e3-0": [503, 500], "e7-0": [502]}
    with ReceiptWriter(tmp_path / "r.jsonl") as receipt:
        outcome = EventSender(url, TokenSource(get=lambda: "good"), receipt, senders=4, backoff=0.01).send(batches)
    assert not outcome.failed_batches
    assert outcome.calls == 12 and outcome.attempts == 15 and outcome.retries == 3
    assert outcome.statuses == {"created": 60}
    # a retried call carries exactly the same event ids
    tries = Counter(tuple(ids) for ids in scripted.received)
    assert tries[tuple(batches[3].event_ids)] == 3 and tries[tuple(batches[7].event_ids)] == 2
    receipt = read_receipt(tmp_path / "r.jsonl")
    assert len(receipt.calls) == 15
    assert set(receipt.results_by_event()) == {i for b in batches for i in b.event_ids}
    failed = [call for call in receipt.calls if call["httpStatus"] != 200]
    assert sorted(call["httpStatus"] for call in failed) == [500, 502, 503]


def test_a_4xx_is_not_retried_and_the_call_is_reported_failed(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint
    batches = make_batches(3, 2)
    scripted.faults = {"e1-0": [400]}
    with ReceiptWriter(tmp_path / "r.jsonl") as receipt:
        outcome = EventSender(url, TokenSource(get=lambda: "good"), receipt, senders=2, backoff=0.01).send(batches)
    assert list(outcome.failed_batches) == ["b1"]
    assert "HTTP 400" in outcome.failed_batches["b1"]
    assert sum(1 for ids in scripted.received if ids[0] == "e1-0") == 1
    assert read_receipt(tmp_path / "r.jsonl").undelivered_event_ids() == {"e1-0", "e1-1"}


def test_a_401_refreshes_the_token_once_and_repeats(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint
    refreshed = []

    def refresh() -> str:
        refreshed.append(1)
        return "good"

    with ReceiptWriter(tmp_path / "r.jsonl") as receipt:
        outcome = EventSender(url, TokenSource(get=lambda: "expired", refresh=refresh), receipt, senders=3).send(
            make_batches(6, 1)
        )
    assert not outcome.failed_batches
    assert len(refreshed) == 1
    assert scripted.tokens.count("good") == 6


def test_gives_up_after_max_attempts_and_says_why(endpoint, tmp_path: Path) -> None:
    scripted, url = endpoint
    scripted.faults = {"e0-0": [503] * 10}
    with ReceiptWriter(tmp_path / "r.jsonl") as receipt:
        outcome = EventSender(url, TokenSource(get=lambda: "good"), receipt, max_attempts=3, backoff=0.01).send(
            make_batches(1, 1)
        )
    assert outcome.failed_batches == {"b0": outcome.failed_batches["b0"]}
    assert "HTTP 503" in outcome.failed_batches["b0"]
    assert len(scripted.received) == 3


def test_a_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    with ReceiptWriter(tmp_path / "r.jsonl") as receipt:
        outcome = EventSender(
            "http://127.0.0.1:9", TokenSource(get=lambda: "t"), receipt, max_attempts=2, backoff=0.01, timeout=2
        ).send(make_batches(1, 1))
    assert "ConnectionError" in outcome.failed_batches["b0"]
    lines = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [line["attempt"] for line in lines] == [1, 2]
