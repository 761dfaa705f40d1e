"""The token: fetched once, reused, refreshed on 601/602 with the call repeated, one fetch for many threads."""
from __future__ import annotations

import threading

import pytest

from python_tasks.marketo import MarketoAuthError
from python_tasks.marketo.token import TokenCache

from .scripted_marketo import envelope, failure


def test_one_token_serves_many_calls_and_travels_as_a_bearer_header(marketo, client) -> None:
    for _ in range(5):
        client.describe2()
    assert len(marketo.token_requests) == 1
    assert {s.headers.get("authorization") for s in marketo.calls()} == {"Bearer tok-1:int"}
    assert all("access_token" not in s.query for s in marketo.calls())
    assert client.counters().token_fetches == 1


@pytest.mark.parametrize("code", ["601", "602"])
def test_a_rejected_token_is_replaced_and_the_call_repeated(marketo, client, code) -> None:
    client.describe2()
    marketo.on("GET", "/rest/v1/leads/describe2.json", failure(code), envelope([{"name": "API Lead", "fields": []}]))
    assert client.describe2()["name"] == "API Lead"
    assert len(marketo.token_requests) == 2
    last_two = marketo.calls("/rest/v1/leads/describe2.json")[-2:]
    assert [s.headers["authorization"] for s in last_two] == ["Bearer tok-1:int", "Bearer tok-2:int"]
    assert client.counters().retries_by_cause == {code: 1}


def test_a_token_that_keeps_being_rejected_ends_in_an_auth_error(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/leads/describe2.json", *[failure("601")] * 20)
    with pytest.raises(MarketoAuthError) as caught:
        client.describe2()
    assert caught.value.code == "601"
    # two free refreshes, then each new token costs one of the 4 attempts (with backoff)
    assert len(marketo.calls()) == 2 + 4
    assert len(marketo.token_requests) == 6


def test_many_threads_needing_a_token_cause_one_fetch(marketo, make_client) -> None:
    marketo.delay = 0.02
    client = make_client(max_in_flight=5)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            barrier.wait()
            client.describe2()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(marketo.token_requests) == 1
    assert len(marketo.calls()) == 12


def test_many_threads_hit_by_601_refresh_the_token_once(marketo, make_client) -> None:
    client = make_client(max_in_flight=5)
    client.describe2()
    marketo.valid_tokens.clear()
    threads = [threading.Thread(target=client.describe2) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(marketo.token_requests) == 2, "one refresh for all threads holding the stale token"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_is_refreshed_shortly_before_expiry() -> None:
    clock = Clock()
    fetched: list[int] = []

    def fetch() -> tuple[str, float]:
        fetched.append(1)
        return f"t{len(fetched)}", 3600.0

    cache = TokenCache(fetch, clock=clock, refresh_margin=60)
    assert cache.get() == "t1"
    clock.now += 3500
    assert cache.get() == "t1"
    clock.now += 41  # 59 s left: inside the margin
    assert cache.get() == "t2"
    cache.invalidate("t1")  # a stale rejection does not throw away the newer token
    assert cache.get() == "t2"
    cache.invalidate("t2")
    assert cache.get() == "t3"
    assert "t3" not in repr(cache)


def test_a_token_returned_near_its_end_is_used_for_half_its_remaining_life() -> None:
    clock = Clock()
    fetched: list[float] = []

    def fetch() -> tuple[str, float]:
        fetched.append(clock.now)
        return f"t{len(fetched)}", 30.0 if len(fetched) == 1 else 3600.0

    cache = TokenCache(fetch, clock=clock, refresh_margin=60)
    assert cache.get() == "t1"
    clock.now += 14
    assert cache.get() == "t1", "used, not refetched on every call"
    clock.now += 2
    assert cache.get() == "t2"
    assert len(fetched) == 2
