"""A background thread that starts queued jobs (bulk imports, bulk extracts) when woken or every 0.1 s."""

from __future__ import annotations

import threading
import time


class JobDispatcher:
    """Subclasses implement ``_start_jobs`` and call ``_start_dispatcher(name)`` once set up."""

    def _start_dispatcher(self, name: str) -> None:
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name=name, daemon=True)
        self._dispatcher.start()

    def _start_jobs(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
        with self._wake:
            self._wake.notify_all()
        self._dispatcher.join(timeout=5)

    def nudge(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def _dispatch_loop(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                self._wake.wait(timeout=0.1)
            if self._stopping.is_set():
                return
            try:
                self._start_jobs()
            except Exception:  # noqa: BLE001 - the dispatcher must keep running; a job records its failure
                time.sleep(0.1)
