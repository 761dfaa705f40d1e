"""One pacer per Marketo instance, shared by every thread of the process.

Marketo counts calls per instance over a sliding 20 s window (606 past the limit) and calls in
flight (615). The pacer admits a call only while

    calls in flight + calls that ENDED within the last window  <  calls per window
    calls in flight                                            <  max in flight

Counting by end time (not start time) is what makes the guarantee hold on the server's clock:
a call arrives at Marketo after it was started and before its answer ends, so any call the server
still counts in its window either is in flight here or ended within our window.
"""
from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator
from contextlib import contextmanager

REAL_CALLS_PER_WINDOW = 100
REAL_MAX_IN_FLIGHT = 10
REAL_WINDOW_SECONDS = 20.0
ADVISED_CALLS_PER_WINDOW = 50
ADVISED_MAX_IN_FLIGHT = 5


@dataclass(frozen=True)
class PacingSettings:
    calls_per_window: int = ADVISED_CALLS_PER_WINDOW
    max_in_flight: int = ADVISED_MAX_IN_FLIGHT
    window_seconds: float = REAL_WINDOW_SECONDS

    def __post_init__(self) -> None:
        if not 1 <= self.calls_per_window <= REAL_CALLS_PER_WINDOW:
            raise ValueError(
                f"calls_per_window must be 1..{REAL_CALLS_PER_WINDOW} (Marketo's limit per 20 s), got {self.calls_per_window}"
            )
        if not 1 <= self.max_in_flight <= REAL_MAX_IN_FLIGHT:
            raise ValueError(f"max_in_flight must be 1..{REAL_MAX_IN_FLIGHT} (Marketo's limit), got {self.max_in_flight}")
        if self.window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        # A shorter window (tests use one) may not allow a higher rate than the real limit.
        if self.calls_per_window / self.window_seconds > REAL_CALLS_PER_WINDOW / REAL_WINDOW_SECONDS + 1e-9:
            raise ValueError(
                f"{self.calls_per_window} calls per {self.window_seconds} s is faster than Marketo's "
                f"{REAL_CALLS_PER_WINDOW} per {REAL_WINDOW_SECONDS:.0f} s"
            )


@dataclass
class PacerStats:
    admitted: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    peak_in_flight: int = 0


class SharedPacer:
    """Sliding-window and in-flight pacing. Get one with :meth:`for_instance`, not the constructor."""

    _registry: ClassVar[dict[str, "SharedPacer"]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, settings: PacingSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._condition = threading.Condition()
        self._in_flight = 0
        self._ended: collections.deque[float] = collections.deque()
        self.stats = PacerStats()

    @classmethod
    def for_instance(cls, base_url: str, settings: PacingSettings) -> "SharedPacer":
        """The process-wide pacer for ``base_url``. When two clients of one instance ask for
        different settings, the pacer keeps the stricter of each (the instance's limits are shared)."""
        key = base_url.rstrip("/").lower()
        with cls._registry_lock:
            pacer = cls._registry.get(key)
            if pacer is None:
                pacer = cls._registry[key] = cls(settings)
            elif pacer.settings != settings:
                pacer._tighten(settings)
            return pacer

    @classmethod
    def forget_all(cls) -> None:
        """Drop every registered pacer (tests and benchmarks that start fresh instances)."""
        with cls._registry_lock:
            cls._registry.clear()

    def _tighten(self, settings: PacingSettings) -> None:
        with self._condition:
            current = self.settings
            rate_current = current.calls_per_window / current.window_seconds
            rate_new = settings.calls_per_window / settings.window_seconds
            window = current if rate_current <= rate_new else settings
            self.settings = PacingSettings(
                calls_per_window=window.calls_per_window,
                max_in_flight=min(current.max_in_flight, settings.max_in_flight),
                window_seconds=window.window_seconds,
            )

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _admit(self, now: float) -> bool:
        """Take a slot if the limits allow it now (caller holds the condition)."""
        settings = self.settings
        horizon = now - settings.window_seconds
        while self._ended and self._ended[0] <= horizon:
            self._ended.popleft()
        if self._in_flight < settings.max_in_flight and self._in_flight + len(self._ended) < settings.calls_per_window:
            self._in_flight += 1
            self.stats.admitted += 1
            self.stats.peak_in_flight = max(self.stats.peak_in_flight, self._in_flight)
            return True
        return False

    def try_acquire(self) -> bool:
        with self._condition:
            return self._admit(self._clock())

    def acquire(self) -> None:
        waited_since: float | None = None
        with self._condition:
            while True:
                now = self._clock()
                settings = self.settings
                if self._admit(now):
                    if waited_since is not None:
                        self.stats.waits += 1
                        self.stats.waited_seconds += now - waited_since
                    return
                if waited_since is None:
                    waited_since = now
                timeout = None
                if self._in_flight < settings.max_in_flight and self._ended:
                    timeout = max(self._ended[0] + settings.window_seconds - now, 0.001)
                self._condition.wait(timeout)

    def release(self) -> None:
        with self._condition:
            self._in_flight -= 1
            self._ended.append(self._clock())
            self._condition.notify_all()

    @contextmanager
    def slot(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()
