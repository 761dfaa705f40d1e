"""Serving the scratch orgs: each on its own port (its own instance URL), opened only while used.

A scratch org's listener is cheap (a socket and one thread); its org (SQLite connections, metadata,
the Apex runtime with its compiled classes) is opened by the first request and closed again once it
has been idle for ``idle_seconds`` with no request in flight. Its data stays on disk, so an idle
scratch org costs a listening socket and its files.
"""
from __future__ import annotations

import logging
import shutil
import ssl
import threading
import time
from pathlib import Path
from typing import Callable

from localcloud.common.httpserver import Request, Response, RunningServer, serve
from localcloud.salesforce.server import AssembledOrg, assemble_local_org

log = logging.getLogger(__name__)

DEFAULT_IDLE_SECONDS = 300.0


class LazyOrg:
    """The application of one scratch org: opens the org on demand, closes it when idle."""

    def __init__(self, data_dir: Path, org_number: int, clock: Callable[[], float] = time.monotonic):
        self.data_dir = data_dir
        self.org_number = org_number
        self.instance_url = "https://127.0.0.1"
        self.clock = clock
        self._lock = threading.Lock()
        self._org: AssembledOrg | None = None
        self._in_flight = 0
        self._last_used = clock()
        self.loads = 0  # how many times the org was opened (tests and the README's cost claim)

    @property
    def loaded(self) -> bool:
        return self._org is not None

    def open(self) -> AssembledOrg:
        """The opened org (opening it if needed); the caller holds no request slot."""
        with self._lock:
            return self._open_locked()

    def _open_locked(self) -> AssembledOrg:
        if self._org is None:
            self._org = assemble_local_org(self.data_dir, instance_url=self.instance_url, org_number=self.org_number)
            self.loads += 1
            log.info("scratch org %s opened", self._org.store.org_id)
        return self._org

    def __call__(self, request: Request) -> Response:
        with self._lock:
            org = self._open_locked()
            self._in_flight += 1
        try:
            return org.app(request)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._last_used = self.clock()

    def close_if_idle(self, idle_seconds: float) -> bool:
        with self._lock:
            if self._org is None or self._in_flight or self.clock() - self._last_used < idle_seconds:
                return False
            self._close_locked()
            return True

    def _close_locked(self) -> None:
        if self._org is not None:
            org_id = self._org.store.org_id
            self._org.close()
            self._org = None
            log.info("scratch org %s closed (idle)", org_id)

    def close(self) -> None:
        with self._lock:
            self._close_locked()


class Farm:
    """The listeners of the Dev Hub's scratch orgs (one port each) and their lazily opened orgs."""

    def __init__(self, root: Path, ssl_context: ssl.SSLContext | None, host: str = "127.0.0.1",
                 idle_seconds: float = DEFAULT_IDLE_SECONDS):
        self.root = root
        self.ssl_context = ssl_context
        self.host = host
        self.idle_seconds = idle_seconds
        self._lock = threading.Lock()
        self._orgs: dict[int, tuple[LazyOrg, RunningServer]] = {}
        self._stop = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="scratch-org-reaper", daemon=True)
        self._reaper.start()

    def data_dir(self, org_number: int) -> Path:
        return self.root / f"org{org_number}"

    def start(self, org_number: int, port: int = 0) -> tuple[LazyOrg, RunningServer]:
        """Listen for the org (on ``port``, 0 = a free one); its org opens on the first request."""
        with self._lock:
            if org_number in self._orgs:
                return self._orgs[org_number]
            lazy = LazyOrg(self.data_dir(org_number), org_number)
            server = serve(lazy, port=port, ssl_context=self.ssl_context, host=self.host)
            lazy.instance_url = server.url
            self._orgs[org_number] = (lazy, server)
            return lazy, server

    def get(self, org_number: int) -> LazyOrg | None:
        with self._lock:
            entry = self._orgs.get(org_number)
        return entry[0] if entry else None

    def delete(self, org_number: int) -> None:
        """Stop listening, close the org and delete its data."""
        with self._lock:
            entry = self._orgs.pop(org_number, None)
        if entry:
            lazy, server = entry
            server.stop()
            lazy.close()
        shutil.rmtree(self.data_dir(org_number), ignore_errors=True)

    def close_idle(self) -> int:
        with self._lock:
            orgs = [lazy for lazy, _ in self._orgs.values()]
        return sum(1 for lazy in orgs if lazy.close_if_idle(self.idle_seconds))

    def loaded(self) -> list[int]:
        with self._lock:
            return [number for number, (lazy, _) in self._orgs.items() if lazy.loaded]

    def _reap(self) -> None:
        while not self._stop.wait(min(30.0, max(self.idle_seconds / 4, 0.5))):
            try:
                self.close_idle()
            except Exception:  # noqa: BLE001 - the reaper must keep running; the error is logged
                log.exception("closing idle scratch orgs failed")

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            entries = list(self._orgs.values())
            self._orgs.clear()
        for lazy, server in entries:
            server.stop()
            lazy.close()
