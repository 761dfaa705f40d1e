"""Admission of REST calls: calls in flight (615), calls per sliding window (606), daily quota (607),
and the deterministic fault injector.

A call is admitted before it runs and settled after: when its answer carries a code that Marketo does
not count (601, 602, 604, 605, 608, 611, and 600), its place in the window and the quota is given back.
"""

from __future__ import annotations

import collections
import datetime as dt
import random
import threading
import time
import zoneinfo
from dataclasses import dataclass
from typing import Callable

from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

NOT_COUNTED_CODES = frozenset({"600", "601", "602", "604", "605", "608", "611"})
REJECTION_CODES = frozenset({"606", "607", "615"})


@dataclass
class Admission:
    """A call that got in: settle it exactly once with the code of its answer (None on success)."""

    stamp: float
    counted_quota: bool
    settled: bool = False


class Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Limiter:
    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._settings = settings
        self._clock = clock
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._window: collections.deque[float] = collections.deque()
        self._in_flight = 0
        self.peak_in_flight = 0
        self._persist_lock = threading.Lock()
        self._quota = self._load_quota()  # (day, count), kept in memory, written behind to SQLite
        self.refused: collections.Counter[str] = collections.Counter()

    # --- quota day ------------------------------------------------------------------------------
    def _quota_day(self, settings: Settings) -> str:
        try:
            zone: dt.tzinfo = zoneinfo.ZoneInfo(settings.quota_timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = dt.timezone(dt.timedelta(hours=-6))
        return dt.datetime.fromtimestamp(self._wall_clock(), zone).date().isoformat()

    def _load_quota(self) -> tuple[str, int]:
        value = self._store.get_meta("quota") or {}
        return str(value.get("day", "")), int(value.get("count", 0))

    def _current_count(self, day: str) -> int:
        """The quota count for ``day`` (call with the lock held); a new day starts at zero."""
        if self._quota[0] != day:
            self._quota = (day, 0)
        return self._quota[1]

    def _persist_quota(self) -> None:
        with self._persist_lock:
            with self._lock:
                day, count = self._quota
            self._store.set_meta("quota", {"day": day, "count": count})

    def quota_used(self) -> int:
        with self._lock:
            return self._current_count(self._quota_day(self._settings()))

    def _add_quota(self, delta: int) -> None:
        day = self._quota_day(self._settings())
        with self._lock:
            count = max(0, self._current_count(day) + delta)
            self._quota = (day, count)
        self._persist_quota()

    def set_quota_used(self, count: int) -> None:
        with self._lock:
            self._quota = (self._quota_day(self._settings()), int(count))
        self._persist_quota()

    # --- admission ------------------------------------------------------------------------------
    @property
    def in_flight(self) -> int:
        return self._in_flight

    def calls_in_window(self) -> int:
        with self._lock:
            self._expire(self._clock(), self._settings())
            return len(self._window)

    def _expire(self, now: float, settings: Settings) -> None:
        horizon = now - settings.rate_limit_window_seconds
        while self._window and self._window[0] <= horizon:
            self._window.popleft()

    def admit(self) -> Admission:
        settings = self._settings()
        with self._lock:
            now = self._clock()
            self._expire(now, settings)
            if self._in_flight >= settings.max_concurrent_calls:
                self._refuse_counted(now, settings)
                raise Refused("615", "Concurrent access limit reached")
            if len(self._window) >= settings.rate_limit_calls:
                self._refuse_counted(now, settings)
                raise Refused(
                    "606",
                    f"Max rate limit '{settings.rate_limit_calls}' exceeded with in "
                    f"'{settings.rate_limit_window_seconds:g}' secs",
                )
            if self._current_count(self._quota_day(settings)) >= settings.daily_quota:
                self._refuse_counted(now, settings)
                raise Refused("607", "Daily quota reached")
            self._window.append(now)
            self._in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
            self._quota = (self._quota[0], self._quota[1] + 1)
        self._persist_quota()
        return Admission(stamp=now, counted_quota=True)

    def _refuse_counted(self, now: float, settings: Settings) -> None:
        if settings.rejected_calls_count:
            self._window.append(now)

    def settle(self, admission: Admission, code: str | None, give_back: bool = False) -> None:
        """Release the in-flight place; give the window/quota place back for codes that do not count."""
        if admission.settled:
            return
        admission.settled = True
        give_back = give_back or code in NOT_COUNTED_CODES
        with self._lock:
            self._in_flight -= 1
            if give_back:
                try:
                    self._window.remove(admission.stamp)
                except ValueError:
                    pass
        if give_back and admission.counted_quota:
            self._add_quota(-1)

    def note_refusal(self, code: str) -> None:
        with self._lock:
            self.refused[code] += 1

    def reset_window(self) -> None:
        with self._lock:
            self._window.clear()


class FaultInjector:
    """Chooses, call by call, whether to answer with a fault: the same seed gives the same sequence."""

    def __init__(self, settings: Callable[[], Settings]):
        self._settings = settings
        self._lock = threading.Lock()
        self._seed: int | None = None
        self._random = random.Random(0)
        self.injected: collections.Counter[str] = collections.Counter()

    def reseed(self) -> None:
        with self._lock:
            self._seed = None

    def draw(self) -> str | None:
        settings = self._settings()
        if settings.fault_share <= 0 or not settings.fault_kinds:
            return None
        with self._lock:
            if self._seed != settings.fault_seed:
                self._seed = settings.fault_seed
                self._random = random.Random(settings.fault_seed)
            roll = self._random.random()
            kind = self._random.choice(list(settings.fault_kinds))
            if roll >= settings.fault_share:
                return None
            self.injected[kind] += 1
            return kind
