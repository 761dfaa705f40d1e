"""The ``eventbus.v1.PubSub`` gRPC service: GetTopic, GetSchema and Subscribe over the org's event log.

Every call must carry the metadata ``accesstoken`` (a live session of the org), ``instanceurl`` (the
org's URL) and ``tenantid`` (its org id, 15 or 18 characters); otherwise UNAUTHENTICATED with the
trailer ``error-code: sfdc.platform.eventbus.grpc.service.auth.error``. Publish, PublishStream and
ManagedSubscribe answer UNIMPLEMENTED.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, NoReturn

import grpc

from localcloud.salesforce.data import is_valid_id, to15

from . import pubsub_api_pb2 as pb
from . import pubsub_api_pb2_grpc as pb_grpc
from localcloud.salesforce.metadata.channel_members import CHANNEL, entity_of

from .capture import ChangeCapture
from .eventlog import EventLog, replay_bytes, replay_number
from .settings import PubSubSettings

log = logging.getLogger(__name__)

AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
TOPIC_NOT_FOUND = "sfdc.platform.eventbus.grpc.topic.not.found"  # local-org code (see README)
SCHEMA_NOT_FOUND = "sfdc.platform.eventbus.grpc.schema.not.found"  # local-org code (see README)
INVALID_TOPIC = "sfdc.platform.eventbus.grpc.subscription.fetch.invalid.topic"  # local-org code (see README)
LIMIT_EXCEEDED = "sfdc.platform.eventbus.grpc.subscription.limit.exceeded"  # local-org code (see README)
ALL_CHANGES_TOPIC = f"/data/{CHANNEL}"


@dataclass(frozen=True)
class OrgAccess:
    """How the service checks a caller: the org's id, URL and session check."""

    org_id: str
    instance_url: Callable[[], str]
    token_is_valid: Callable[[str], bool]


def _today() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


class PubSubService(pb_grpc.PubSubServicer):
    def __init__(self, access: OrgAccess, capture: ChangeCapture, events: EventLog, settings: PubSubSettings,
                 stopping: threading.Event) -> None:
        self.access, self.capture, self.events, self.settings = access, capture, events, settings
        self.stopping = stopping
        self._streams_lock = threading.Lock()
        self.open_streams = 0
        """Subscribe streams whose start position is set (tests wait for a LATEST subscription with it)."""

    # -- helpers -------------------------------------------------------------------------------------
    @staticmethod
    def _abort(context: grpc.ServicerContext, code: grpc.StatusCode, error_code: str, message: str,
               rpc_id: str) -> NoReturn:
        context.set_trailing_metadata((("error-code", error_code), ("rpc-id", rpc_id)))
        context.abort(code, f"{message} rpcId: {rpc_id}")
        raise AssertionError("unreachable")  # context.abort raises

    def _authenticate(self, context: grpc.ServicerContext, rpc_id: str) -> None:
        metadata = {key.lower(): value for key, value in context.invocation_metadata()}
        missing = [k for k in ("accesstoken", "instanceurl", "tenantid") if not metadata.get(k)]
        if missing:
            self._abort(context, grpc.StatusCode.UNAUTHENTICATED, AUTH_ERROR,
                        f"Missing authentication metadata: {', '.join(missing)}.", rpc_id)
        tenant = str(metadata["tenantid"])
        if not is_valid_id(tenant) or to15(tenant) != to15(self.access.org_id):
            self._abort(context, grpc.StatusCode.UNAUTHENTICATED, AUTH_ERROR,
                        "The tenantid does not match the org of this instance.", rpc_id)
        if str(metadata["instanceurl"]).rstrip("/") != self.access.instance_url().rstrip("/"):
            self._abort(context, grpc.StatusCode.UNAUTHENTICATED, AUTH_ERROR,
                        "The instanceurl does not match the org's instance URL.", rpc_id)
        token = str(metadata["accesstoken"]).removeprefix("Bearer ").strip()
        if not self.access.token_is_valid(token):
            self._abort(context, grpc.StatusCode.UNAUTHENTICATED, AUTH_ERROR,
                        "The access token is invalid or expired.", rpc_id)

    def _topic_entities(self, topic: str, context: grpc.ServicerContext, rpc_id: str,
                        for_subscribe: bool) -> Callable[[], list[str]] | None:
        """A function giving the entities of ``topic`` now (None for the whole ChangeEvents channel's)."""
        if topic == ALL_CHANGES_TOPIC:
            return self.capture.selected
        entity = entity_of(topic[len("/data/"):]) if topic.startswith("/data/") else None
        od = self.capture.store.schema.find(entity) if entity else None
        if od is None:
            self._abort(context, grpc.StatusCode.NOT_FOUND, TOPIC_NOT_FOUND,
                        f"Topic {topic or '(none)'} does not exist: the local org serves /data/{CHANNEL} and "
                        "/data/<Entity>ChangeEvent topics.", rpc_id)
        if for_subscribe and not self.capture.is_selected(od.name):
            self._abort(context, grpc.StatusCode.NOT_FOUND, TOPIC_NOT_FOUND,
                        f"Topic {topic}: {od.name} is not selected for Change Data Capture (deploy a "
                        f"PlatformEventChannelMember selecting {topic[len('/data/'):]} on the {CHANNEL} channel).",
                        rpc_id)
        name = od.name
        return lambda: [name]

    # -- unary calls -----------------------------------------------------------------------------------
    def GetTopic(self, request: pb.TopicRequest, context: grpc.ServicerContext) -> pb.TopicInfo:
        rpc_id = str(uuid.uuid4())
        self._authenticate(context, rpc_id)
        entities = self._topic_entities(request.topic_name, context, rpc_id, for_subscribe=False)
        schema_id = ""
        names = entities() if entities else []
        if request.topic_name != ALL_CHANGES_TOPIC and names:
            schema_id = self.capture.layout(names[0]).schema_id
        selected = request.topic_name == ALL_CHANGES_TOPIC or all(self.capture.is_selected(n) for n in names)
        return pb.TopicInfo(topic_name=request.topic_name, tenant_guid=self.access.org_id, can_publish=False,
                            can_subscribe=selected, schema_id=schema_id, rpc_id=rpc_id)

    def GetSchema(self, request: pb.SchemaRequest, context: grpc.ServicerContext) -> pb.SchemaInfo:
        rpc_id = str(uuid.uuid4())
        self._authenticate(context, rpc_id)
        schema_json = self.events.schema(request.schema_id)
        if schema_json is None:
            for entity in self.capture.selected():
                layout = self.capture.layout(entity)
                if layout.schema_id == request.schema_id:
                    schema_json = layout.schema_json
        if schema_json is None:
            self._abort(context, grpc.StatusCode.NOT_FOUND, SCHEMA_NOT_FOUND,
                        f"No schema with id {request.schema_id!r}.", rpc_id)
        return pb.SchemaInfo(schema_json=schema_json, schema_id=request.schema_id, rpc_id=rpc_id)

    def Publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "Publish is not supported by the local org.")

    def PublishStream(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "PublishStream is not supported by the local org.")

    def ManagedSubscribe(self, request_iterator: Any, context: grpc.ServicerContext) -> Any:
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "ManagedSubscribe is not supported by the local org.")

    # -- Subscribe ---------------------------------------------------------------------------------------
    def _start_after(self, request: pb.FetchRequest, context: grpc.ServicerContext, rpc_id: str) -> int:
        retention = self.settings.retention_seconds
        latest = self.events.latest()
        if request.replay_preset == pb.LATEST:
            return latest
        first_retained = self.events.earliest_retained(retention)
        first_retained = latest + 1 if first_retained is None else first_retained
        if request.replay_preset == pb.EARLIEST:
            return first_retained - 1
        try:
            replay = replay_number(bytes(request.replay_id))
        except ValueError as error:
            self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, REPLAY_CORRUPTED,
                        f"The Replay ID validation failed: {error}.", rpc_id)
        if replay > latest or replay < first_retained - 1:
            self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, REPLAY_CORRUPTED,
                        "The Replay ID validation failed: it is not an event of this org within the retention "
                        f"window of {retention / 3600:g} hours.", rpc_id)
        return replay

    def Subscribe(self, request_iterator: Iterator[pb.FetchRequest], context: grpc.ServicerContext
                  ) -> Iterator[pb.FetchResponse]:
        rpc_id = str(uuid.uuid4())
        self._authenticate(context, rpc_id)
        try:
            first = next(request_iterator)
        except StopIteration:
            return
        topic = first.topic_name
        entities = self._topic_entities(topic, context, rpc_id, for_subscribe=True)
        position = self._start_after(first, context, rpc_id)
        with self._streams_lock:
            self.open_streams += 1
        try:
            yield from self._stream(request_iterator, context, rpc_id, topic, entities, position, first)
        finally:
            with self._streams_lock:
                self.open_streams -= 1

    def _stream(self, request_iterator: Iterator[pb.FetchRequest], context: grpc.ServicerContext, rpc_id: str,
                topic: str, entities: Callable[[], list[str]] | None, position: int, first: pb.FetchRequest
                ) -> Iterator[pb.FetchResponse]:
        state = {"pending": 0, "problem": None}
        changed = threading.Condition()

        def add(request: pb.FetchRequest) -> None:
            if request.topic_name and request.topic_name != topic:
                state["problem"] = f"The topic of a FetchRequest ({request.topic_name}) differs from the subscription's ({topic})."
            with changed:
                # at most 100 events requested in all (Salesforce: more counts as 100)
                state["pending"] = min(int(state["pending"]) + max(0, request.num_requested),
                                       self.settings.max_num_requested)
                changed.notify_all()

        def read_requests() -> None:
            try:
                for request in request_iterator:
                    add(request)
            except Exception:  # noqa: BLE001 - the client went away
                pass
            finally:
                with changed:
                    state["closed"] = True
                    changed.notify_all()

        add(first)
        threading.Thread(target=read_requests, name=f"pubsub-requests-{rpc_id[:8]}", daemon=True).start()
        last_answer = time.monotonic()
        while context.is_active() and not self.stopping.is_set():
            if state["problem"]:
                self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, INVALID_TOPIC, str(state["problem"]), rpc_id)
            with changed:
                pending = int(state["pending"])
                if pending <= 0:
                    if time.monotonic() - last_answer >= self.settings.idle_close_seconds:
                        return  # nothing requested for too long: Salesforce closes the stream
                    changed.wait(min(0.5, self.settings.idle_close_seconds))
                    continue
            tip = self.events.latest()
            batch = self.events.read_after(position, entities() if entities else None,
                                           min(pending, self.settings.max_num_requested),
                                           self.settings.retention_seconds)
            if batch:
                used = self.events.count_deliveries(_today(), len(batch))
                if used > self.settings.daily_delivered_events:
                    self._abort(context, grpc.StatusCode.RESOURCE_EXHAUSTED, LIMIT_EXCEEDED,
                                f"The org's event delivery allocation (DailyDeliveredPlatformEvents, "
                                f"{self.settings.daily_delivered_events}) is used up.", rpc_id)
                position = batch[-1].replay
                with changed:
                    state["pending"] = max(0, int(state["pending"]) - len(batch))
                    left = int(state["pending"])
                last_answer = time.monotonic()
                yield pb.FetchResponse(
                    events=[pb.ConsumerEvent(event=pb.ProducerEvent(id=e.event_id, schema_id=e.schema_id,
                                                                    payload=e.payload),
                                             replay_id=replay_bytes(e.replay)) for e in batch],
                    latest_replay_id=replay_bytes(position), rpc_id=rpc_id, pending_num_requested=left)
                continue
            # nothing up to ``tip`` for this subscription (other entities' events are skipped)
            position = max(position, tip)
            if time.monotonic() - last_answer >= self.settings.keepalive_seconds:
                last_answer = time.monotonic()
                yield pb.FetchResponse(events=[], latest_replay_id=replay_bytes(position), rpc_id=rpc_id,
                                       pending_num_requested=pending)
                continue
            wait = min(1.0, max(0.01, self.settings.keepalive_seconds - (time.monotonic() - last_answer)))
            self.events.wait_for_event_after(tip, wait)
