"""The start of a ``LATEST`` subscription (python_tasks/push/stream.py): the server fixes the stream's
position at a moment the client cannot see, so a change committed between the catch-up's read and
that moment would be neither read nor delivered. The streamer catches up once more when the stream
first answers. Driven through a stand-in for the gRPC stub whose answers the test releases, so the
window can be held open as long as the test needs."""
from __future__ import annotations

import queue
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from python_tasks.push import stream as stream_module
from python_tasks.push.cache import PushCache
from python_tasks.push.runner import PushSummary
from python_tasks.push.stream import StreamingPush, StreamSettings


class HeldStream:
    """One Subscribe call: answers only what the test puts in ``answers``."""

    def __init__(self, requests: Iterator[Any]) -> None:
        self.answers: queue.Queue[Any] = queue.Queue()
        self.first_request = next(requests)
        self.cancelled = threading.Event()

    def __iter__(self) -> Iterator[Any]:
        while not self.cancelled.is_set():
            try:
                answer = self.answers.get(timeout=0.05)
            except queue.Empty:
                continue
            yield answer

    def cancel(self) -> None:
        self.cancelled.set()


class HeldStub:
    def __init__(self) -> None:
        self.streams: list[HeldStream] = []

    def Subscribe(self, requests: Iterator[Any], metadata: Any = ()) -> HeldStream:  # noqa: N802 - gRPC's name
        call = HeldStream(requests)
        self.streams.append(call)
        return call


class Channel:
    def close(self) -> None:
        pass


def keep_alive(latest: bytes = b"\x00" * 8) -> Any:
    from pysfpubsub import pubsub_api_pb2 as pb

    return pb.FetchResponse(events=[], latest_replay_id=latest, rpc_id="held", pending_num_requested=100)


def wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> HeldStub:
    stub = HeldStub()
    monkeypatch.setattr(stream_module, "open_stub", lambda _settings: (Channel(), stub))
    return stub


def start_streamer(tmp_path: Any, stored: bytes | None) -> tuple[StreamingPush, list[Any], threading.Thread]:
    setup = PushCache(tmp_path, "00D000000000001", "https://marketo.invalid")
    setup.save_replay_id(stored)
    setup.close()
    pushes: list[Any] = []
    errors: list[BaseException] = []

    def push(ids: Any) -> PushSummary:
        pushes.append(ids)
        return PushSummary()

    holder: dict[str, StreamingPush] = {}
    ready = threading.Event()

    def main() -> None:
        cache = PushCache(tmp_path, "00D000000000001", "https://marketo.invalid")  # this thread's connection
        holder["s"] = StreamingPush(StreamSettings(endpoint="held:0"), cache, push, lambda: (), "Contact",
                                    "EC_Order__c", ["Marketo_Id__c"])
        ready.set()
        try:
            holder["s"].run()
        except BaseException as error:  # noqa: BLE001 - asserted below
            errors.append(error)
        finally:
            cache.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10)
    streamer = holder["s"]
    streamer.errors = errors  # type: ignore[attr-defined]
    return streamer, pushes, thread


def stop(streamer: StreamingPush, thread: threading.Thread) -> None:
    streamer.stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert not streamer.errors, streamer.errors  # type: ignore[attr-defined]


def test_no_second_catch_up_until_the_stream_answers_then_exactly_one(held: HeldStub, tmp_path: Any) -> None:
    streamer, pushes, thread = start_streamer(tmp_path, stored=None)
    try:
        wait(lambda: pushes == [None], "the first catch-up")
        [call] = held.streams
        assert call.first_request.replay_preset == 0  # LATEST
        time.sleep(0.5)  # the window held open: the position is not known to be fixed, nothing is assumed
        assert pushes == [None] and not streamer.stats.positioned
        call.answers.put(keep_alive())  # the server's keep-alive: its position is fixed
        wait(lambda: pushes == [None, None], "the catch-up that closes the window")
        assert streamer.stats.positioned and streamer.stats.catch_ups == 2
        for _ in range(3):
            call.answers.put(keep_alive())  # later keep-alives cost nothing
        time.sleep(0.5)
        assert pushes == [None, None] and streamer.stats.batches == 0
    finally:
        stop(streamer, thread)


def test_a_stored_replay_id_needs_no_catch_up_at_all(held: HeldStub, tmp_path: Any) -> None:
    streamer, pushes, thread = start_streamer(tmp_path, stored=b"\x00\x00\x00\x00\x00\x00\x00\x07")
    try:
        wait(lambda: len(held.streams) == 1, "the Subscribe call")
        assert held.streams[0].first_request.replay_preset == 2  # CUSTOM
        held.streams[0].answers.put(keep_alive())
        time.sleep(0.5)
        assert pushes == [] and streamer.stats.positioned
    finally:
        stop(streamer, thread)
