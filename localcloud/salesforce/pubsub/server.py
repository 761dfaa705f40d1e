"""Run the Pub/Sub API for a running local org: gRPC over TLS on 127.0.0.1 (its own port).

    from localcloud.salesforce.server import start_local_org
    from localcloud.salesforce.pubsub import start_pubsub
    with start_local_org(tmp / "org", tls_dir=tmp / "tls") as org, start_pubsub(org) as pubsub:
        pubsub.endpoint            # "127.0.0.1:PORT" (what a Pub/Sub client dials)
        pubsub.metadata()          # (("accesstoken", …), ("instanceurl", …), ("tenantid", …))
        pubsub.capture.publish_gap("Contact", "GAP_UPDATE", [contact_id])

It stores events in the org's SQLite file, inside the data transactions that make them (the day's
deliveries in ``pubsub.sqlite3``), listens to the store's commits, re-reads
the PlatformEventChannelMember selection after every deploy, and adds ``DailyDeliveredPlatformEvents``
to ``/limits``.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from . import pubsub_api_pb2_grpc as pb_grpc
from .capture import ChangeCapture
from .eventlog import EventLog
from .service import OrgAccess, PubSubService
from .settings import PubSubSettings

log = logging.getLogger(__name__)

EVENTS_FILE = "pubsub.sqlite3"
PRUNE_EVERY_SECONDS = 600.0


@dataclass
class PubSubHandle:
    host: str
    port: int
    org: Any
    capture: ChangeCapture
    events: EventLog
    settings: PubSubSettings
    _server: grpc.Server
    _stopping: threading.Event
    service: PubSubService
    _undo: list[Any] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def metadata(self, access_token: str | None = None) -> tuple[tuple[str, str], ...]:
        """The authentication metadata a client sends (the org's session token by default)."""
        return (("accesstoken", access_token or self.org.access_token), ("instanceurl", self.org.url),
                ("tenantid", self.org.org_id))

    def wait_for_streams(self, count: int, timeout: float = 10.0) -> None:
        """Wait until ``count`` Subscribe streams have their start position (a LATEST subscription is at the tip)."""
        deadline = time.monotonic() + timeout
        while self.service.open_streams < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.service.open_streams} of {count} Subscribe streams open after {timeout} s")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        for undo in reversed(self._undo):
            undo()
        self._server.stop(grace=1.0).wait(5)
        self.events.close()

    def __enter__(self) -> "PubSubHandle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _remove(items: list[Any], item: Any) -> Any:
    return lambda: item in items and items.remove(item)


def start_pubsub(org: Any, port: int = 0, *, host: str = "127.0.0.1", settings: PubSubSettings | None = None
                 ) -> PubSubHandle:
    """Serve the Pub/Sub API of ``org`` (a ``LocalOrgHandle``) on ``host:port`` (0: a free port)."""
    settings = settings or PubSubSettings.from_env()
    data_dir = Path(org.store.path).parent
    events = EventLog(org.store, data_dir / EVENTS_FILE)
    capture = ChangeCapture(org.store, org.repository, events, settings)
    stopping = threading.Event()
    access = OrgAccess(org.org_id, lambda: org.url, org.context.identity.is_valid)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=settings.max_workers, thread_name_prefix="pubsub"),
                         options=[("grpc.so_reuseport", 0)], maximum_concurrent_rpcs=settings.max_workers)
    service = PubSubService(access, capture, events, settings, stopping)
    pb_grpc.add_PubSubServicer_to_server(service, server)
    address = f"{host}:{port}"
    try:
        if org.certificates is not None:
            credentials = grpc.ssl_server_credentials(
                [(org.certificates.server_key.read_bytes(), org.certificates.server_cert.read_bytes())])
            bound = server.add_secure_port(address, credentials)
        else:
            bound = server.add_insecure_port(address)
    except RuntimeError:
        bound = 0
    if not bound:
        events.close()
        raise OSError(f"the Pub/Sub API cannot listen on {address} (in use? set ECBRIDGE_PUBSUB_PORT)")
    server.start()
    handle = PubSubHandle(host, bound, org, capture, events, settings, server, stopping, service)
    org.store.commit_listeners.append(capture.on_commit)
    handle._undo.append(_remove(org.store.commit_listeners, capture.on_commit))
    org.deployer.activation_hooks.append(capture.refresh)
    handle._undo.append(_remove(org.deployer.activation_hooks, capture.refresh))
    limits = org.context.extras.setdefault("limits", [])

    def delivered() -> dict[str, dict[str, int]]:
        used = events.deliveries(dt.datetime.now(dt.timezone.utc).date().isoformat())
        maximum = settings.daily_delivered_events
        return {"DailyDeliveredPlatformEvents": {"Max": maximum, "Remaining": max(0, maximum - used)}}

    limits.append(delivered)
    handle._undo.append(_remove(limits, delivered))
    org.context.extras["pubsub_endpoint"] = handle.endpoint

    def prune() -> None:
        while not stopping.wait(PRUNE_EVERY_SECONDS):
            try:
                events.prune(settings.retention_seconds)
            except Exception:  # noqa: BLE001 - retry at the next round
                log.exception("pruning the event log failed")

    threading.Thread(target=prune, name="pubsub-prune", daemon=True).start()
    log.info("Pub/Sub API of org %s on %s (selected: %s)", org.org_id, handle.endpoint,
             ", ".join(capture.selected()) or "none")
    return handle
