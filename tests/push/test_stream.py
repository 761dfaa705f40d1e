"""``push_marketo -o watch stream`` (python_tasks/push/stream.py) against the local org's Pub/Sub API
(Change Data Capture, started in-process with ``start_pubsub``) and the local Marketo."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from python_tasks.push.cache import PushCache
from python_tasks.push.runner import PushOptions, PushRun, PushSummary
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import merge_describes
from python_tasks.push.stream import StreamingPush, StreamSettings
from tests.push.helpers import add_member, add_order, leads_by_email, orders_of


def _quick_keepalive() -> Any:
    from localcloud.salesforce.pubsub import PubSubSettings

    return PubSubSettings(keepalive_seconds=0.5)  # a stream's position is confirmed half a second after it opens


QUICK_KEEPALIVE = _quick_keepalive()
START_CATCH_UPS = 2  # a start without a stored id: a catch-up, and another once the stream has answered


def start_cdc(org: Any) -> Any:
    """The org's Pub/Sub API, with force-app's Change Data Capture selection deployed (tests/mdapi leaves it out)."""
    from localcloud.salesforce.pubsub import PubSubSettings, start_pubsub
    from tests.localorg_pubsub.conftest import deploy_zip
    from tests.mdapi import FORCE_APP

    handle = start_pubsub(org, settings=QUICK_KEEPALIVE)
    members = {f"platformEventChannelMembers/{f.name.split('.')[0]}.platformEventChannelMember": f.read_text()
               for f in sorted((FORCE_APP / "platformEventChannelMembers").glob("*-meta.xml"))}
    job = org.deployer.deploy_zip(deploy_zip(members))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert {"Contact", "EC_Order__c"} <= set(handle.capture.selected()), handle.capture.selected()
    return handle


@pytest.fixture
def pubsub(services) -> Iterator[Any]:
    handle = start_cdc(services.org)
    yield handle
    handle.stop()


class Streamer:
    """A StreamingPush in a thread of its own (its own SQLite connection and Salesforce session,
    the same state file), as the task runs it; ``stop()`` is what SIGTERM does."""

    def __init__(self, services: Any, pubsub: Any, certs: Path) -> None:
        self.services = services
        self.pubsub = pubsub
        self.certs = certs
        self.error: BaseException | None = None
        self.ready = threading.Event()
        self.sf_io: SalesforceIO | None = None
        self.stream: StreamingPush | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        from simple_salesforce import Salesforce

        s = self.services
        cache = PushCache(s.cache.path.parent, s.org.org_id, s.marketo.url)
        sf = Salesforce(instance_url=s.org.url, session_id=s.org.access_token, version=s.mapping.api_version)
        self.sf_io = sf_io = SalesforceIO(sf)
        client = s.client
        schema = merge_describes(s.mapping, client.describe2(),
                                 [(co.api_name, client.describe_custom_object(co.api_name))
                                  for co in s.mapping.marketo.custom_objects])

        def push(ids: Any) -> PushSummary:
            return PushRun(s.mapping, sf_io, client, schema, PushOptions(cache=cache, only_ids=ids)).run()

        wb = s.mapping.write_back
        settings = StreamSettings(endpoint=self.pubsub.endpoint,
                                  root_certificates=(self.certs / "bundle.pem").read_bytes(), backoff_start=0.1)
        self.stream = StreamingPush(settings, cache, push, self.pubsub.metadata, s.mapping.member.object_name,
                                    s.mapping.order.object_name,
                                    [wb.marketo_id, wb.pushed_at, wb.error, wb.pushed_change])
        self.ready.set()
        try:
            self.stream.run()
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.error = error
        finally:
            cache.close()

    def start(self) -> "Streamer":
        self.thread.start()
        assert self.ready.wait(30)
        return self

    @property
    def stats(self) -> Any:
        assert self.stream is not None
        return self.stream.stats

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.error is None, f"the streaming push failed: {self.error!r}"
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.stats}"
            time.sleep(0.05)

    def streaming(self, catch_ups: int = START_CATCH_UPS) -> None:
        """Until the catch-up(s) ran and the Subscribe stream is known to have its start position."""
        self.wait(lambda: self.stats.catch_ups >= catch_ups and self.stats.positioned, "the catch-up push")
        self.pubsub.wait_for_streams(1)

    def stop(self) -> None:
        assert self.stream is not None
        self.stream.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the streaming push did not stop"
        assert self.error is None, f"the streaming push failed: {self.error!r}"


def pushed(summary: PushSummary) -> int:
    return summary.persons_created + summary.persons_updated + summary.orders_pushed


def stored_replay_id(services: Any) -> bytes | None:
    cache = PushCache(services.cache.path.parent, services.org.org_id, services.marketo.url)
    try:
        return cache.replay_id()
    finally:
        cache.close()


def set_replay_id(services: Any, replay_id: bytes | None) -> None:
    cache = PushCache(services.cache.path.parent, services.org.org_id, services.marketo.url)
    try:
        cache.save_replay_id(replay_id)
    finally:
        cache.close()


def lead(services: Any, email: str) -> dict[str, Any] | None:
    leads = leads_by_email(services.client, email)
    return leads[0] if leads else None


def has_order(services: Any, email: str, number: str) -> bool:
    person = lead(services, email)
    return bool(person and person.get("lastOrderNumber") == number
                and any(o["orderNumber"] == number for o in orders_of(services.client, [person["id"]])))


def test_a_change_reaches_marketo_through_the_stream_and_write_backs_push_nothing_again(
        services, pubsub, trust_local) -> None:
    sf = services.sf
    member_id = add_member(sf, "S1", "stream1@example.jp")  # before the stream: the catch-up pushes it
    streamer = Streamer(services, pubsub, trust_local).start()
    try:
        streamer.streaming()
        assert lead(services, "stream1@example.jp") is not None, "the catch-up did not push the member"
        before_order = stored_replay_id(services)  # None, or the id of the catch-up's write-back events
        batches_before = streamer.stats.batches
        started = time.monotonic()
        add_order(sf, "S-1", "S1", member_id, "2024-07-01T00:00:00.000+0000", 2400, ["抹茶"])
        streamer.wait(lambda: has_order(services, "stream1@example.jp", "S-1"), "the order in Marketo")
        latency = time.monotonic() - started
        assert latency < 15, latency
        streamer.wait(lambda: stored_replay_id(services) not in (None, before_order), "the stored replay id")
        # the push's write-back (Marketo id, pushed-at) on the order and the member publishes UPDATE events:
        # they arrive, are recognised as write-backs and cost neither a push nor a Salesforce call
        streamer.wait(lambda: streamer.stats.skipped_events >= 1, "the write-back's change events")
        time.sleep(2.5)  # longer than a batch: a second push would have happened by now
        assert streamer.sf_io is not None
        calls_after = streamer.sf_io.calls
        stream_summaries = streamer.stats.summaries[START_CATCH_UPS:]  # after the catch-ups
        assert [(s.orders_pushed, pushed(s)) for s in stream_summaries] == [(1, 1)], [vars(s) for s in stream_summaries]
        assert streamer.stats.batches == batches_before + 1
        time.sleep(1.5)
        assert streamer.sf_io.calls == calls_after  # idle: no Salesforce call
        [order] = sf.query("SELECT Marketo_Id__c, Marketo_Pushed_At__c FROM EC_Order__c WHERE Order_Number__c = 'S-1'"
                           )["records"]
        assert order["Marketo_Pushed_At__c"], order
    finally:
        streamer.stop()


def test_a_restart_replays_from_the_stored_id_and_pushes_nothing_twice(services, pubsub, trust_local) -> None:
    sf = services.sf
    member_id = add_member(sf, "S2", "stream2@example.jp")
    streamer = Streamer(services, pubsub, trust_local).start()
    try:
        streamer.streaming()
        sf.Contact.update(member_id, {"FirstName": "一"})  # a first streamed batch: its id is the "old" one
        streamer.wait(lambda: (lead(services, "stream2@example.jp") or {}).get("firstName") == "一", "the first name")
        streamer.wait(lambda: stored_replay_id(services) is not None, "a stored replay id")
        old_id = stored_replay_id(services)
        add_order(sf, "S-2", "S2", member_id, "2024-07-02T00:00:00.000+0000", 900, ["煎茶"])
        streamer.wait(lambda: has_order(services, "stream2@example.jp", "S-2"), "the order in Marketo")
        streamer.wait(lambda: stored_replay_id(services) != old_id, "the replay id after the order")
    finally:
        streamer.stop()
    # killed after the order's push but before its replay id was stored: the next start replays the order
    set_replay_id(services, old_id)
    sf.Contact.update(member_id, {"FirstName": "二"})  # and a change made while nothing was streaming
    orders_before = orders_of(services.client, [lead(services, "stream2@example.jp")["id"]])
    restarted = Streamer(services, pubsub, trust_local).start()
    try:
        restarted.wait(lambda: (lead(services, "stream2@example.jp") or {}).get("firstName") == "二",
                       "the change made while stopped")
        restarted.wait(lambda: stored_replay_id(services) not in (None, old_id), "the replayed batches stored")
        time.sleep(1.5)
        assert restarted.stats.catch_ups == 0  # replayed from the stored id, not caught up
        summaries = restarted.stats.summaries
        assert sum(s.orders_pushed for s in summaries) == 0, [vars(s) for s in summaries]  # the order: not again
        assert sum(s.persons_updated for s in summaries) == 1, [vars(s) for s in summaries]  # the new first name
        assert orders_of(services.client, [lead(services, "stream2@example.jp")["id"]]) == orders_before
    finally:
        restarted.stop()


def test_a_refused_replay_id_leads_to_a_catch_up_push_then_streaming(services, pubsub, trust_local) -> None:
    sf = services.sf
    member_id = add_member(sf, "S3", "stream3@example.jp")
    # an id newer than any event of this bus (a reset org, or one older than retention): refused as corrupted
    set_replay_id(services, (2**62).to_bytes(8, "big"))
    streamer = Streamer(services, pubsub, trust_local).start()
    try:
        streamer.streaming()
        assert lead(services, "stream3@example.jp") is not None, "the catch-up did not push the member"
        add_order(sf, "S-3", "S3", member_id, "2024-07-03T00:00:00.000+0000", 500, ["飴"])
        streamer.wait(lambda: has_order(services, "stream3@example.jp", "S-3"), "the order in Marketo")
        streamer.wait(lambda: stored_replay_id(services) not in (None, (2**62).to_bytes(8, "big")), "a new replay id")
        assert streamer.stats.catch_ups == START_CATCH_UPS
    finally:
        streamer.stop()


def test_a_broken_stream_reconnects_with_backoff_and_resumes_from_the_stored_id(services, pubsub, trust_local) -> None:
    from localcloud.salesforce.pubsub import start_pubsub

    sf = services.sf
    member_id = add_member(sf, "S4", "stream4@example.jp")
    streamer = Streamer(services, pubsub, trust_local).start()
    restarted = None
    try:
        streamer.streaming()
        sf.Contact.update(member_id, {"FirstName": "一"})
        streamer.wait(lambda: stored_replay_id(services) is not None, "a stored replay id")
        port = pubsub.port
        pubsub.stop()  # the server goes away: the stream breaks, reconnects fail and back off
        streamer.wait(lambda: streamer.stats.reconnects >= 2, "failed reconnects")
        restarted = start_pubsub(services.org, port=port, settings=QUICK_KEEPALIVE)
        restarted.wait_for_streams(1, timeout=30)
        add_order(sf, "S-4", "S4", member_id, "2024-07-04T00:00:00.000+0000", 700, ["番茶"])
        streamer.wait(lambda: has_order(services, "stream4@example.jp", "S-4"), "the order after the reconnect")
        assert streamer.stats.catch_ups == START_CATCH_UPS  # resumed from the stored id, no further catch-up
        delays = streamer.stats.delays
        assert delays[:3] == [0.1, 0.2, 0.4][:len(delays[:3])] and len(delays) >= 2, delays  # exponential backoff
    finally:
        streamer.stop()
        if restarted is not None:
            restarted.stop()


def test_a_gap_or_overflow_event_runs_the_catch_up_and_a_gap_with_ids_reads_them(services, pubsub, trust_local) -> None:
    sf = services.sf
    member_id = add_member(sf, "S5", "stream5@example.jp")
    streamer = Streamer(services, pubsub, trust_local).start()
    try:
        streamer.streaming()
        # a change the bus could not describe (a gap with the record id): the record is read and pushed
        sf.Contact.update(member_id, {"FirstName": "五"})
        streamer.wait(lambda: (lead(services, "stream5@example.jp") or {}).get("firstName") == "五", "the first name")
        pubsub.capture.publish_gap("Contact", "GAP_UPDATE", [member_id])
        streamer.wait(lambda: streamer.stats.events >= 3, "the gap event")
        # too many changes in one transaction: an overflow event names no record; the catch-up reads what changed
        pubsub.capture.publish_gap("Contact", "GAP_OVERFLOW", [])
        streamer.wait(lambda: streamer.stats.catch_ups == START_CATCH_UPS + 1, "the catch-up after the overflow")
        time.sleep(1.5)
        assert sum(pushed(s) for s in streamer.stats.summaries[START_CATCH_UPS:]) == 1, [vars(s) for s in streamer.stats.summaries]
    finally:
        streamer.stop()


def test_a_streamed_batch_also_reads_the_retry_set_and_keeps_only_what_is_still_due(services, pubsub, trust_local) -> None:
    sf = services.sf
    wb = services.mapping.write_back
    first = add_member(sf, "S6", "stream6@example.jp")
    second = add_member(sf, "S7", "stream7@example.jp")
    third = add_member(sf, "S8", "stream8@example.jp")
    streamer = Streamer(services, pubsub, trust_local).start()
    try:
        streamer.streaming()
        # a failed push leaves its error on the record and its id in the retry set; its error is a write-back
        # field, so the event it makes pushes nothing by itself
        sf.Contact.update(first, {wb.error: "Marketo said 1003"})
        streamer.wait(lambda: streamer.stats.skipped_events >= 1, "the error's change event")
        set_retry = PushCache(services.cache.path.parent, services.org.org_id, services.marketo.url)
        try:
            set_retry.save_retry({"Contact": {first, third}})  # third: pushed and unchanged, not due
        finally:
            set_retry.close()
        time.sleep(1.5)
        assert len(streamer.stats.summaries) == START_CATCH_UPS  # nothing pushed yet: only the catch-ups
        sf.Contact.update(second, {"FirstName": "七"})  # the next batch
        streamer.wait(lambda: len(streamer.stats.summaries) == START_CATCH_UPS + 1, "the next batch")
        summary = streamer.stats.summaries[START_CATCH_UPS]
        assert summary.persons_updated + summary.persons_unchanged == 2, vars(summary)  # second, and first again
        [row] = sf.query(f"SELECT {wb.error} FROM Contact WHERE Id = '{first}'")["records"]
        assert row[wb.error] is None  # first pushed: its error cleared
        check = PushCache(services.cache.path.parent, services.org.org_id, services.marketo.url)
        try:
            assert check.checkpoint().retry_ids("Contact") == []  # first done, third not due: both left the set
        finally:
            check.close()
    finally:
        streamer.stop()
