"""Concurrent delivery of EC event batches to the EC endpoint, with retries and receipts.

Several sender threads take calls from one queue, like the workers of a busy EC site. A call that
fails with a 5xx, a timeout or a broken connection is repeated with the same events (same ids: the
endpoint is idempotent), with exponential backoff and jitter; a 401 refreshes the token once. A
4xx other than 401 is not repeated: it is recorded with its body. Every attempt and every answer is
written to the receipt.
"""
from __future__ import annotations

import json
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import requests

from .plan import Batch
from .receipt import ReceiptWriter

EVENTS_PATH = "/services/apexrest/ecbridge/v1/events"


class DeliveryError(Exception):
    """Some events were never answered by the endpoint (each listed with its last error)."""


@dataclass
class SendOutcome:
    """Totals of one delivery run."""

    calls: int = 0
    attempts: int = 0
    retries: int = 0
    events_sent: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    failed_batches: dict[str, str] = field(default_factory=dict)  # batch id -> last error
    answered_at: dict[str, float] = field(default_factory=dict)  # event id -> first answer (monotonic)
    seconds: float = 0.0

    def count(self, status: str) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1


@dataclass
class TokenSource:
    """Hands out the access token; `refresh` is called once after a 401."""

    get: Callable[[], str]
    refresh: Callable[[], str] | None = None


class EventSender:
    def __init__(
        self,
        instance_url: str,
        token: TokenSource,
        receipt: ReceiptWriter,
        *,
        senders: int = 4,
        timeout: float = 60.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        on_call_done: Callable[[Batch], None] | None = None,
        session_factory: Callable[[], requests.Session] = requests.Session,
    ) -> None:
        if senders < 1:
            raise ValueError("senders must be at least 1")
        self.url = instance_url.rstrip("/") + EVENTS_PATH
        self.token = token
        self.receipt = receipt
        self.senders = senders
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.on_call_done = on_call_done
        self.session_factory = session_factory
        self._lock = threading.Lock()
        self._token_value: str | None = None
        self._refreshed = False

    def _current_token(self) -> str:
        with self._lock:
            if self._token_value is None:
                self._token_value = self.token.get()
            return self._token_value

    def _refresh_token(self, stale: str) -> bool:
        with self._lock:
            if self._token_value != stale:
                return True  # another sender already refreshed it
            if self._refreshed or self.token.refresh is None:
                return False
            self._refreshed = True
            self._token_value = self.token.refresh()
            return True

    def send(self, batches: list[Batch]) -> SendOutcome:
        outcome = SendOutcome()
        work: queue.Queue[Batch | None] = queue.Queue()
        for batch in batches:
            work.put(batch)
        for _ in range(self.senders):
            work.put(None)
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._worker, args=(number, work, outcome), name=f"ec-sender-{number}", daemon=True)
            for number in range(1, self.senders + 1)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        outcome.seconds = time.monotonic() - started
        return outcome

    def _worker(self, number: int, work: "queue.Queue[Batch | None]", outcome: SendOutcome) -> None:
        session = self.session_factory()
        try:
            while True:
                batch = work.get()
                if batch is None:
                    return
                self._deliver(number, session, batch, outcome)
                if self.on_call_done:
                    self.on_call_done(batch)
        finally:
            session.close()

    def _deliver(self, sender: int, session: requests.Session, batch: Batch, outcome: SendOutcome) -> None:
        body = json.dumps({"events": [planned.event.to_json() for planned in batch.events]}, ensure_ascii=False)
        last_error = ""
        with self._lock:
            outcome.calls += 1
            outcome.events_sent += len(batch.events)
        for attempt in range(1, self.max_attempts + 1):
            token = self._current_token()
            with self._lock:
                outcome.attempts += 1
            started = time.monotonic()
            record: dict[str, Any] = {
                "batch": batch.id,
                "sender": sender,
                "attempt": attempt,
                "eventIds": batch.event_ids,
                "redelivered": sorted(batch.redelivered_ids),
            }
            try:
                response = session.post(
                    self.url,
                    data=body.encode("utf-8"),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=utf-8"},
                    timeout=self.timeout,
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                last_error = f"{type(error).__name__}: {error}"
                record.update(httpStatus=None, error=last_error, ms=round((time.monotonic() - started) * 1000))
                self.receipt.write("call", **record)
                self._pause(attempt, outcome)
                continue
            elapsed = round((time.monotonic() - started) * 1000)
            record.update(httpStatus=response.status_code, ms=elapsed)
            if response.status_code == 200:
                results = self._results(response, batch)
                if isinstance(results, str):
                    last_error = results
                    record.update(error=results, body=response.text[:2000])
                    self.receipt.write("call", **record)
                    break
                record.update(results=results)
                self.receipt.write("call", **record)
                answered = time.monotonic()
                with self._lock:
                    for result in results:
                        outcome.count(str(result.get("status")))
                        outcome.answered_at.setdefault(str(result.get("id")), answered)
                return
            record.update(error=f"HTTP {response.status_code}", body=response.text[:2000])
            self.receipt.write("call", **record)
            last_error = f"HTTP {response.status_code}: {response.text[:300]}"
            if response.status_code == 401 and self._refresh_token(token):
                continue
            if response.status_code >= 500 or response.status_code == 429:
                self._pause(attempt, outcome)
                continue
            break
        with self._lock:
            outcome.failed_batches[batch.id] = last_error

    @staticmethod
    def _results(response: requests.Response, batch: Batch) -> list[dict[str, Any]] | str:
        try:
            payload = response.json()
        except ValueError:
            return "the endpoint answered 200 with a body that is not JSON"
        results = payload.get("results") if isinstance(payload, dict) else payload
        if not isinstance(results, list):
            return "the endpoint answered 200 without a list of results"
        if [str(result.get("id")) for result in results] != batch.event_ids:
            return f"the endpoint answered {len(results)} results for {len(batch.events)} events, or out of order"
        return results

    def _pause(self, attempt: int, outcome: SendOutcome) -> None:
        with self._lock:
            outcome.retries += 1
        if attempt < self.max_attempts:
            time.sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))
