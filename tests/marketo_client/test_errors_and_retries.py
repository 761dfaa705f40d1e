"""Call-level failures: retried with backoff where Marketo says to, typed errors otherwise, 607 stops."""
from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
import requests.adapters

from localcloud.common.httpserver import Response
from python_tasks.marketo import (
    MarketoAuthError,
    MarketoError,
    MarketoNotFoundError,
    MarketoProtocolError,
    MarketoQuotaExceeded,
    MarketoRateLimitError,
    MarketoRequestError,
    MarketoRequestTooLarge,
    MarketoTransientError,
    RetryPolicy,
    next_quota_reset,
)
from python_tasks.marketo.errors import US_CENTRAL

from .scripted_marketo import envelope, failure

LEADS = "/rest/v1/leads.json"


@pytest.mark.parametrize("code", ["604", "606", "608", "611", "615", "713"])
def test_retryable_codes_are_retried_with_growing_delays(marketo, client, sleeps, code) -> None:
    marketo.on("POST", LEADS, failure(code), failure(code), envelope([{"id": 7, "status": "updated"}]))
    results = client.sync_leads([{"email": "a@example.com"}])
    assert [r.status for r in results] == ["updated"]
    assert len(marketo.calls(LEADS)) == 3
    assert len(sleeps) == 2
    assert 0.005 <= sleeps[0] <= 0.01 and 0.01 <= sleeps[1] <= 0.02, sleeps
    assert client.counters().retries_by_cause == {code: 2}


def test_http_502_is_retried(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/leads/describe2.json", (502, "<html>Bad Gateway</html>"), envelope([{"name": "API Lead"}]))
    assert client.describe2() == {"name": "API Lead"}
    assert client.counters().retries_by_cause == {"HTTP 502": 1}


def test_retries_are_bounded_and_the_typed_error_carries_the_attempts(marketo, client) -> None:
    marketo.on("POST", LEADS, *[failure("606")] * 10)
    with pytest.raises(MarketoRateLimitError) as caught:
        client.sync_leads([{"email": "a@example.com"}])
    assert caught.value.code == "606"
    assert caught.value.attempts == 4
    assert len(marketo.calls(LEADS)) == 4


def test_a_request_timeout_is_retried_for_a_read(marketo, make_client) -> None:
    def hang(request):
        time.sleep(0.6)
        return Response.json(envelope([]))

    marketo.on("GET", LEADS, hang)
    client = make_client(timeout=(2.0, 0.3))
    assert list(client.get_leads_by_filter("email", ["a@example.com"])) == []
    assert len(marketo.calls(LEADS)) == 2
    assert client.counters().retries_by_cause == {"timeout": 1}


class BreakFirstAnswer(requests.adapters.HTTPAdapter):
    """Sends the request, then loses the connection while the answer is read (the server died mid-response)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = 0

    def send(self, request, **kwargs):  # noqa: ANN001, ANN201 - requests' adapter interface
        response = super().send(request, **kwargs)
        if "/rest/" in request.url and not self.broken:
            self.broken += 1
            raise requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read, 606 more expected)")
        return response


def test_an_answer_cut_mid_body_is_retried_for_a_read_and_not_for_a_create(marketo, make_client) -> None:
    marketo.on("GET", LEADS, envelope([]))
    marketo.on("POST", LEADS, envelope([{"id": 1, "status": "created"}]))
    session = requests.Session()
    adapter = BreakFirstAnswer()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    client = make_client(session=session)
    assert list(client.get_leads_by_filter("email", ["a@example.com"])) == []
    assert len(marketo.calls(LEADS)) == 2 and client.counters().retries_by_cause == {"connection": 1}
    adapter.broken = 0
    with pytest.raises(MarketoTransientError, match="not retried"):
        client.sync_leads([{"email": "a@example.com"}], action="createDuplicate")
    assert len(marketo.calls(LEADS)) == 3, "the create reached Marketo once and was not sent again"
    session.close()


def test_a_timed_out_create_duplicate_is_not_sent_twice(marketo, make_client) -> None:
    def hang(request):
        time.sleep(0.6)
        return Response.json(envelope([{"id": 1, "status": "created"}]))

    marketo.on("POST", LEADS, hang)
    client = make_client(timeout=(2.0, 0.3))
    with pytest.raises(MarketoTransientError, match="not retried"):
        client.sync_leads([{"email": "a@example.com"}], action="createDuplicate")
    assert len(marketo.calls(LEADS)) == 1


def test_607_stops_at_once_and_says_when_work_can_resume(marketo, client, sleeps) -> None:
    marketo.on("POST", LEADS, failure("607", "Daily quota reached"))
    before = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(MarketoQuotaExceeded) as caught:
        client.sync_leads([{"email": "a@example.com"}])
    error = caught.value
    assert len(marketo.calls(LEADS)) == 1 and sleeps == []
    resume = error.resume_at.astimezone(US_CENTRAL)
    assert (resume.hour, resume.minute) == (0, 0)
    assert dt.timedelta(0) < error.resume_at - before <= dt.timedelta(hours=25)
    assert "resume at" in str(error) and resume.isoformat() in str(error)


def test_next_quota_reset_is_midnight_us_central_across_dst() -> None:
    # 2026-03-08 is the spring DST change in the US; 05:59 UTC on the 8th is 23:59 CST on the 7th.
    reset = next_quota_reset(dt.datetime(2026, 3, 8, 5, 59, tzinfo=dt.timezone.utc))
    assert reset == dt.datetime(2026, 3, 8, 0, 0, tzinfo=US_CENTRAL)
    assert reset.astimezone(dt.timezone.utc) == dt.datetime(2026, 3, 8, 6, 0, tzinfo=dt.timezone.utc)
    summer = next_quota_reset(dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.timezone.utc))
    assert summer.astimezone(dt.timezone.utc) == dt.datetime(2026, 7, 2, 5, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("answer", "error_type", "code"),
    [
        (failure("603", "Access denied"), MarketoAuthError, "603"),
        (failure("610", "Requested resource not found"), MarketoNotFoundError, "610"),
        (failure("1003", "Invalid data"), MarketoRequestError, "1003"),
        (failure("701", "filterType cannot be blank"), MarketoRequestError, "701"),
        (failure("1080", "Too many leads to merge"), MarketoError, "1080"),
        ((413, "Request Entity Too Large"), MarketoRequestTooLarge, None),
        ((414, "URI Too Long"), MarketoRequestTooLarge, None),
        ((500, "oops"), MarketoError, None),
        ((200, "<html>maintenance</html>"), MarketoProtocolError, None),
    ],
)
def test_call_failures_raise_typed_errors_without_retry(marketo, client, answer, error_type, code) -> None:
    marketo.on("GET", "/rest/v1/leads/describe2.json", answer)
    with pytest.raises(error_type) as caught:
        client.describe2()
    assert type(caught.value) is error_type
    assert caught.value.code == code
    assert caught.value.endpoint == "GET /rest/v1/leads/describe2.json"
    assert len(marketo.calls()) == 1


def test_error_messages_carry_code_message_and_request_id(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/leads/describe2.json", failure("610", "Requested resource not found"))
    with pytest.raises(MarketoNotFoundError) as caught:
        client.describe2()
    text = str(caught.value)
    assert "610" in text and "Requested resource not found" in text and "req#err" in text


def test_backoff_delays_grow_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        samples = {policy.delay(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= s <= ceiling for s in samples)
        assert len(samples) > 1, "jitter"


def test_an_identity_outage_is_retried(marketo, client, sleeps) -> None:
    marketo.identity_script.append((502, "Bad Gateway"))
    assert client.describe2() == {}
    assert len(marketo.token_requests) == 2
    assert client.counters().retries_by_cause == {"identity HTTP 502": 1}
