"""``push_marketo -o watch stream``: push what Change Data Capture events name, within about a second.

The loop (:class:`StreamingPush`):

1. no stored replay id (or the server refuses it as too old / corrupt): open a ``LATEST``
   subscription, then run the normal change-driven push (the catch-up), so that nothing changed
   before the stream started waits for the stream; with a stored id: subscribe from it
   (``CUSTOM``), no catch-up. A ``LATEST`` subscription's position is fixed by the server at a
   moment the client cannot see, and a change committed between the catch-up's read and that
   moment would reach neither. The first answer on the stream (an event, or the keep-alive the
   server sends after silence, which carries ``latest_replay_id``) proves the position fixed, so it
   runs the catch-up once more: one composite call per start, and everything committed before
   the position is read by it, everything after arrives as events;
2. gather events for at most ``batch_seconds`` after the first one, or ``batch_records`` ids;
3. push exactly the member and order ids they name (``PushOptions.only_ids``), through the same
   due rule as every push: a replayed event, or one caused by the push's own write-back, finds the
   record not due and pushes nothing. Events that changed only the write-back fields are dropped
   before any read, so the push's echoes (and an idle org) cost no Salesforce call;
4. store the batch's last replay id in the push state (:mod:`python_tasks.push.cache`) only after
   that push succeeded. A kill at any point before that replays the batch on the next start.

A broken stream reconnects with exponential backoff from the stored id; a gap or overflow event
runs the catch-up. ``stop`` (set by SIGTERM / Ctrl-C in the task) ends the loop between batches:
a batch being gathered is dropped unpushed, hence replayed next time.

The Pub/Sub API is spoken with pysfpubsub's generated stubs (pinned in requirements.txt); events
are decoded with fastavro from the schema ``GetSchema`` answers.
"""
from __future__ import annotations

import io
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import grpc

from python_tasks.push.cache import PushCache
from python_tasks.push.runner import PushSummary

REPLAY_REFUSED = "replayid.corrupted"  # sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted
DEFAULT_TOPIC = "/data/ChangeEvents"
# a write-back or Salesforce's own bookkeeping, never a field the push sends
SYSTEM_FIELDS = frozenset({"LastModifiedDate", "LastModifiedById", "SystemModstamp"})

PushFn = Callable[[tuple[Sequence[str], Sequence[str]] | None], PushSummary]  # None: the catch-up push


class StreamError(Exception):
    """The streaming push cannot go on (the push stopped early, or the settings are wrong)."""


class ReplayRefused(Exception):
    """The server refused the stored replay id (older than retention, or from another bus)."""


@dataclass
class StreamSettings:
    endpoint: str  # host:port of the Pub/Sub API (SF_PUBSUB_ENDPOINT)
    topic: str = DEFAULT_TOPIC
    batch_seconds: float = 1.0
    batch_records: int = 300
    num_requested: int = 100  # Salesforce's maximum per Subscribe request
    backoff_start: float = 1.0
    backoff_max: float = 60.0
    root_certificates: bytes | None = None  # None: the system's roots


@dataclass
class StreamStats:
    batches: int = 0  # batches that ran a push
    catch_ups: int = 0
    positioned: bool = False  # the current subscription's start position is known to be fixed
    events: int = 0
    skipped_events: int = 0  # write-back echoes, deletes, other entities
    reconnects: int = 0
    delays: list[float] = field(default_factory=list)  # the backoff waited before each reconnect
    summaries: list[PushSummary] = field(default_factory=list)


@dataclass
class _Ended:
    error: grpc.RpcError | None


@dataclass
class _KeepAlive:
    """An answer without events: the server's keep-alive after silence (its position is fixed)."""
    latest_replay_id: bytes


def _pb() -> tuple[Any, Any]:
    from pysfpubsub import pubsub_api_pb2, pubsub_api_pb2_grpc  # pinned; its own copy of eventbus.v1

    return pubsub_api_pb2, pubsub_api_pb2_grpc


def open_stub(settings: StreamSettings) -> tuple[grpc.Channel, Any]:
    _, pb_grpc = _pb()
    channel = grpc.secure_channel(settings.endpoint, grpc.ssl_channel_credentials(settings.root_certificates))
    return channel, pb_grpc.PubSubStub(channel)


class Subscription:
    """One Subscribe stream; a reader thread queues events and asks for more when all were delivered."""

    def __init__(self, stub: Any, metadata: Sequence[tuple[str, str]], topic: str, replay_id: bytes | None,
                 num_requested: int) -> None:
        pb, _ = _pb()
        self._pb = pb
        self.topic = topic
        self.num_requested = num_requested
        self.items: queue.Queue[Any] = queue.Queue()
        self._requests: queue.Queue[Any] = queue.Queue()
        self._requests.put(pb.FetchRequest(topic_name=topic, replay_preset=pb.CUSTOM if replay_id else pb.LATEST,
                                           replay_id=replay_id or b"", num_requested=num_requested))
        self._call = stub.Subscribe(iter(self._requests.get, None), metadata=tuple(metadata))
        threading.Thread(target=self._read, name="push-stream-reader", daemon=True).start()

    def _read(self) -> None:
        try:
            for response in self._call:
                if not response.events:
                    self.items.put(_KeepAlive(bytes(response.latest_replay_id)))
                for event in response.events:
                    self.items.put(event)
                if response.pending_num_requested == 0:
                    self._requests.put(self._pb.FetchRequest(topic_name=self.topic, num_requested=self.num_requested))
            self.items.put(_Ended(None))
        except grpc.RpcError as error:
            self.items.put(_Ended(error))

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


class EventDecoder:
    """Change event headers and changed field names, with each schema fetched once (GetSchema)."""

    def __init__(self, stub: Any, metadata: Callable[[], Sequence[tuple[str, str]]]) -> None:
        self.stub = stub
        self.metadata = metadata
        self._schemas: dict[str, tuple[Any, list[str]]] = {}

    def _schema(self, schema_id: str) -> tuple[Any, list[str]]:
        if schema_id not in self._schemas:
            import fastavro

            pb, _ = _pb()
            text = self.stub.GetSchema(pb.SchemaRequest(schema_id=schema_id), metadata=tuple(self.metadata())).schema_json
            raw = json.loads(text)
            self._schemas[schema_id] = (fastavro.parse_schema(raw), [f["name"] for f in raw.get("fields", [])])
        return self._schemas[schema_id]

    def header(self, event: Any) -> tuple[dict[str, Any], set[str]]:
        """The ChangeEventHeader, and the top-level fields ``changedFields`` names."""
        import fastavro

        parsed, names = self._schema(event.event.schema_id)
        body = fastavro.schemaless_reader(io.BytesIO(event.event.payload), parsed)
        header = body["ChangeEventHeader"]
        return header, changed_field_names(header.get("changedFields") or [], names)


def changed_field_names(bitmaps: Iterable[str], top_level: Sequence[str]) -> set[str]:
    """``['0x…', '<pos>-0x…']``: bit i of the first is field i; ``<pos>-…`` is a compound at pos."""
    out: set[str] = set()
    for item in bitmaps:
        parent, _, hexa = item.rpartition("-")
        if parent:
            out.add(top_level[int(parent)])
            continue
        value = int(hexa, 16)
        out.update(top_level[i] for i in range(min(value.bit_length(), len(top_level))) if value >> i & 1)
    return out


@dataclass
class Batch:
    member_ids: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)
    replay_id: bytes | None = None
    events: int = 0
    skipped: int = 0
    catch_up: bool = False  # a gap or overflow event, or a first answer after LATEST: read what changed
    ended: _Ended | None = None  # the stream ended after these events

    @property
    def records(self) -> int:
        return len(self.member_ids) + len(self.order_ids)


class StreamingPush:
    def __init__(self, settings: StreamSettings, cache: PushCache, push: PushFn,
                 metadata: Callable[[], Sequence[tuple[str, str]]], member_object: str, order_object: str,
                 write_back_fields: Iterable[str], log: Callable[[str], None] = lambda _m: None,
                 sleep: Callable[[float], None] = time.sleep,
                 refresh_token: Callable[[], None] | None = None,
                 idle: Callable[[], None] | None = None, idle_seconds: float = 60.0,
                 other_member_objects: Sequence[str] = ()) -> None:
        self.s = settings
        self.cache = cache
        self.push = push
        self.metadata = metadata
        self.member_objects = frozenset([member_object, *other_member_objects])  # a converting Lead: and Contact
        self.order_object = order_object
        self.echo_fields = frozenset(write_back_fields) | SYSTEM_FIELDS
        self.log = log
        self.sleep = sleep
        self.refresh_token = refresh_token  # called after UNAUTHENTICATED (an expired session)
        self.idle = idle  # work done while no event comes (the consent read-back), every idle_seconds
        self.idle_seconds = idle_seconds
        self._last_idle = time.monotonic()
        self.stats = StreamStats()
        self.stop = threading.Event()
        self._pending_end: _Ended | None = None
        self._unconfirmed = False  # subscribed at LATEST, caught up, no answer from the stream yet

    # ------------------------------------------------------------------ the loop
    def run(self, max_batches: int | None = None) -> StreamStats:
        delay = self.s.backoff_start
        while not self.stop.is_set():
            channel, stub = open_stub(self.s)
            try:
                self._stream(stub, max_batches)
                if max_batches is not None and self.stats.batches >= max_batches:
                    break
                delay = self.s.backoff_start  # ended normally (idle close): reconnect now
            except ReplayRefused as error:
                self.log(f"The Pub/Sub API refused the stored replay id ({error}): catching up, then streaming from LATEST")
                self.cache.save_replay_id(None)
                continue
            except grpc.RpcError as error:
                self.stats.reconnects += 1
                self.log(f"The change event stream broke ({_status(error)}): reconnecting in {delay:g} s")
                if self.refresh_token is not None and hasattr(error, "code") and \
                        error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    self.refresh_token()
                self.stats.delays.append(delay)
                self._wait(delay)
                delay = min(delay * 2, self.s.backoff_max)
            finally:
                channel.close()
        return self.stats

    def _wait(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < end:
            self.sleep(min(0.2, end - time.monotonic()))

    def _stream(self, stub: Any, max_batches: int | None) -> None:
        stored = self.cache.replay_id()
        subscription = Subscription(stub, self.metadata(), self.s.topic, stored, self.s.num_requested)
        decoder = EventDecoder(stub, self.metadata)
        self.stats.positioned = stored is not None  # a stored id is itself the position
        self._unconfirmed = False
        try:
            if stored is None:  # subscribed at the tip first: what changes during the catch-up arrives as events
                self._catch_up()
                self._unconfirmed = True  # ... once the stream answers: caught up again then (module docstring)
            while not self.stop.is_set():
                batch = self._gather(subscription, decoder)
                if batch is None:
                    return
                if self.stop.is_set():
                    return  # dropped unpushed: replayed from the stored id next time
                self._handle(batch)
                if batch.ended is not None:
                    self._raise_end(batch.ended)
                    return
                if max_batches is not None and self.stats.batches >= max_batches:
                    return
        finally:
            subscription.close()

    def _catch_up(self) -> None:
        summary = self.push(None)
        self.stats.catch_ups += 1
        self.stats.summaries.append(summary)
        if summary.stopped:
            raise StreamError(f"the catch-up push stopped early: {summary.stopped}")

    def _handle(self, batch: Batch) -> None:
        self.stats.events += batch.events
        self.stats.skipped_events += batch.skipped
        if batch.catch_up:
            self._catch_up()
        if batch.records:
            summary = self.push((sorted(batch.member_ids), sorted(batch.order_ids)))
            self._last_idle = time.monotonic()  # a push does the idle work too
            self.stats.batches += 1
            self.stats.summaries.append(summary)
            if summary.stopped:
                raise StreamError(f"push stopped early: {summary.stopped} (the batch is replayed on the next start)")
        if batch.replay_id is not None:
            self.cache.save_replay_id(batch.replay_id)

    def _idle_tick(self) -> None:
        if self.idle is not None and time.monotonic() - self._last_idle >= self.idle_seconds:
            self._last_idle = time.monotonic()
            self.idle()

    def _raise_end(self, ended: _Ended) -> None:
        if ended.error is None:
            return
        if _refused(ended.error):
            raise ReplayRefused(_status(ended.error))
        raise ended.error

    # ------------------------------------------------------------------ gathering
    def _gather(self, subscription: Subscription, decoder: EventDecoder) -> Batch | None:
        """Events for at most ``batch_seconds`` after the first, or ``batch_records`` ids; None when
        stopped while waiting for the first."""
        batch = Batch()
        deadline: float | None = None
        while batch.records < self.s.batch_records:
            if deadline is None:
                if self.stop.is_set():
                    return None
                self._idle_tick()
                timeout = 0.2
            else:
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
            try:
                item = subscription.items.get(timeout=timeout)
            except queue.Empty:
                continue
            if isinstance(item, _KeepAlive):
                if self._position_confirmed(batch) and batch.events == 0:
                    return batch  # only the second catch-up to run
                continue
            if isinstance(item, _Ended):
                if batch.events == 0:
                    self._raise_end(item)
                    return None  # ended cleanly (idle close): run() reconnects
                batch.ended = item
                break
            if deadline is None:
                deadline = time.monotonic() + self.s.batch_seconds
            self._add(batch, item, decoder)
        return batch

    def _position_confirmed(self, batch: Batch) -> bool:
        """The stream answered: its position is fixed. True the first time after a catch-up at LATEST,
        which then needs running once more (in this batch, before its ids are pushed)."""
        self.stats.positioned = True
        if not self._unconfirmed:
            return False
        self._unconfirmed = False
        batch.catch_up = True
        return True

    def _add(self, batch: Batch, event: Any, decoder: EventDecoder) -> None:
        self._position_confirmed(batch)
        batch.events += 1
        batch.replay_id = bytes(event.replay_id)
        header, changed = decoder.header(event)
        entity, change_type = header.get("entityName"), str(header.get("changeType") or "")
        ids = [str(i) for i in header.get("recordIds") or []]
        if change_type.startswith("GAP_") and (change_type == "GAP_OVERFLOW" or not ids):
            batch.catch_up = True
            return
        if (entity not in self.member_objects and entity != self.order_object) or \
                change_type in ("DELETE", "GAP_DELETE"):
            batch.skipped += 1
            return
        if change_type == "UPDATE" and changed and changed <= self.echo_fields:
            batch.skipped += 1  # the push's own write-back (or nothing the push sends)
            return
        (batch.member_ids if entity in self.member_objects else batch.order_ids).update(ids)


def _status(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    return f"{code.name if code else 'error'}: {details}"


def _refused(error: grpc.RpcError) -> bool:
    if not hasattr(error, "code") or error.code() != grpc.StatusCode.INVALID_ARGUMENT:
        return False
    trailers = dict(error.trailing_metadata() or ()) if hasattr(error, "trailing_metadata") else {}
    return REPLAY_REFUSED in str(trailers.get("error-code", "")) or REPLAY_REFUSED in (error.details() or "")


DEFAULT_ENDPOINT = "api.pubsub.salesforce.com:7443"  # Salesforce's documented Pub/Sub API endpoint


def settings_from(endpoint: str | None, environ: dict[str, str], batch_seconds: float | None = None,
                  batch_records: int | None = None, topic: str | None = None) -> StreamSettings:
    """The endpoint from the option, else ``SF_PUBSUB_ENDPOINT`` (``localcloud up`` writes it to
    .ecbridge/local.env), else Salesforce's; gRPC roots from ``REQUESTS_CA_BUNDLE`` when set (the
    local cloud's bundle), else the system's."""
    bundle = environ.get("REQUESTS_CA_BUNDLE")
    roots = None
    if bundle:
        try:
            with open(bundle, "rb") as handle:
                roots = handle.read()
        except OSError as error:
            raise StreamError(f"REQUESTS_CA_BUNDLE {bundle}: {error}") from None
    settings = StreamSettings(endpoint=endpoint or environ.get("SF_PUBSUB_ENDPOINT") or DEFAULT_ENDPOINT,
                              root_certificates=roots)
    if batch_seconds is not None:
        if batch_seconds <= 0:
            raise StreamError("stream_batch_seconds must be positive")
        settings.batch_seconds = batch_seconds
    if batch_records is not None:
        if not 1 <= batch_records <= 300:
            raise StreamError("stream_batch_records must be 1..300 (one Marketo call per phase)")
        settings.batch_records = batch_records
    if topic:
        settings.topic = topic
    return settings


class StopOnSignals:
    """SIGTERM and Ctrl-C (SIGINT) set ``stop`` instead of interrupting a push: the loop ends
    between batches. Only the main thread can install handlers; elsewhere this does nothing."""

    def __init__(self, stop: threading.Event, log: Callable[[str], None] = lambda _m: None) -> None:
        self.stop = stop
        self.log = log
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, _frame: Any) -> None:
        import signal

        self.log(f"{signal.Signals(signum).name}: stopping after the current batch")
        self.stop.set()

    def __enter__(self) -> "StopOnSignals":
        import signal

        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
