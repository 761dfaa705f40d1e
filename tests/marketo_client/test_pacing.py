"""One pacer per instance for the whole process: many threads and clients never pass the limits."""
from __future__ import annotations

import threading
import time

import pytest

from python_tasks.marketo import MarketoClient, MarketoCredentials, PacingSettings, RetryPolicy, SharedPacer

from .scripted_marketo import CLIENT_ID, CLIENT_SECRET


def test_limits_default_to_adobes_advice_and_cannot_pass_marketos() -> None:
    assert (PacingSettings().calls_per_window, PacingSettings().max_in_flight) == (50, 5)
    PacingSettings(100, 10)
    for bad in [dict(calls_per_window=101), dict(max_in_flight=11), dict(calls_per_window=0),
                dict(calls_per_window=10, window_seconds=1.0)]:
        with pytest.raises(ValueError):
            PacingSettings(**bad)
    with pytest.raises(ValueError):
        MarketoClient(MarketoCredentials("https://x.mktorest.com", "a", "b"), calls_per_window=150)


def test_clients_of_one_instance_share_one_pacer_and_keep_the_stricter_limits() -> None:
    creds = MarketoCredentials("https://111-AAA-222.mktorest.com", "a", "b")
    first = MarketoClient(creds, calls_per_window=100, max_in_flight=10)
    second = MarketoClient(MarketoCredentials("https://111-aaa-222.mktorest.com/rest/", "a", "b"), max_in_flight=3)
    other = MarketoClient(MarketoCredentials("https://333-BBB-444.mktorest.com", "a", "b"))
    try:
        assert first.transport.pacer is second.transport.pacer
        assert other.transport.pacer is not first.transport.pacer
        assert first.transport.pacer.settings == PacingSettings(50, 3)
    finally:
        for client in (first, second, other):
            client.close()
        SharedPacer.forget_all()


def test_many_threads_and_two_clients_never_pass_the_window_or_in_flight_limits(marketo) -> None:
    window, calls_allowed, in_flight_allowed = 1.2, 6, 3
    # The server enforces the limits with the real codes; a correct client never meets them.
    marketo.limit_window, marketo.limit_calls, marketo.limit_in_flight = window, calls_allowed, in_flight_allowed
    marketo.delay = 0.03
    creds = MarketoCredentials(marketo.url, CLIENT_ID, CLIENT_SECRET)
    options = dict(calls_per_window=calls_allowed, max_in_flight=in_flight_allowed, window_seconds=window)
    clients = [MarketoClient(creds, **options), MarketoClient(creds, **options)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(10)

    def work(client: MarketoClient) -> None:
        try:
            barrier.wait()
            for _ in range(2):
                client.describe2()
        except BaseException as error:
            errors.append(error)

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(clients[i % 2],)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    for client in clients:
        client.close()
    assert not errors, errors
    assert len(marketo.calls()) == 20
    assert marketo.limit_answers == {}, "no 606 or 615 was ever answered"
    assert marketo.peak_in_flight <= in_flight_allowed
    assert marketo.max_arrivals_in_window(window) <= calls_allowed
    assert marketo.peak_in_flight == in_flight_allowed, "the pacer let calls run side by side"
    # 22 calls (20 + 2 token fetches) at 6 per 1.2 s need at least three full windows.
    assert elapsed >= 3 * window
    stats = clients[0].transport.pacer.stats
    assert stats.admitted == 22 and stats.waits > 0


def test_without_the_shared_pacer_the_same_load_trips_the_limits(marketo) -> None:
    """Control: the server's enforcement does bite when calls are not paced, so the test above can fail."""
    marketo.limit_window, marketo.limit_calls, marketo.limit_in_flight = 1.2, 6, 3
    marketo.delay = 0.03
    # 127.0.0.1 and localhost are one server but two instance keys: each client gets its own pacer.
    creds = [MarketoCredentials(marketo.url.replace("127.0.0.1", host), CLIENT_ID, CLIENT_SECRET)
             for host in ("127.0.0.1", "localhost")]
    clients = [
        MarketoClient(c, calls_per_window=6, max_in_flight=3, window_seconds=1.2, retry=RetryPolicy(max_attempts=1))
        for c in creds
    ]
    outcomes: list[str] = []

    def work(client: MarketoClient) -> None:
        try:
            client.describe2()
            outcomes.append("ok")
        except Exception as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=work, args=(clients[i % 2],)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    assert marketo.limit_answers, "two unshared pacers together exceed the instance's limits"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_window_counts_calls_from_when_they_end() -> None:
    clock = FakeClock()
    pacer = SharedPacer(PacingSettings(2, 2, window_seconds=20.0), clock=clock)
    assert pacer.try_acquire() and pacer.try_acquire()
    assert not pacer.try_acquire(), "two in flight"
    clock.now = 3.0
    pacer.release()
    clock.now = 10.0
    pacer.release()
    assert not pacer.try_acquire(), "both ended within the last 20 s"
    clock.now = 22.9
    assert not pacer.try_acquire(), "started at 0 but ended at 3: still counted until 23"
    clock.now = 23.0
    assert pacer.try_acquire()
    assert not pacer.try_acquire()
    clock.now = 30.0
    assert pacer.try_acquire()
    assert pacer.in_flight == 2


def test_in_flight_limit_alone_blocks_until_a_release() -> None:
    pacer = SharedPacer(PacingSettings(5, 1, window_seconds=1.0))
    pacer.acquire()
    admitted = threading.Event()
    thread = threading.Thread(target=lambda: (pacer.acquire(), admitted.set()))
    thread.start()
    assert not admitted.wait(0.2)
    pacer.release()
    assert admitted.wait(2)
    thread.join()
