"""What a run cost: API calls by endpoint, retries by cause, records sent. Thread-safe."""
from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field


@dataclass
class CounterSnapshot:
    calls_by_endpoint: dict[str, int] = field(default_factory=dict)
    retries_by_cause: dict[str, int] = field(default_factory=dict)
    records_sent: int = 0
    token_fetches: int = 0

    @property
    def calls(self) -> int:
        return sum(self.calls_by_endpoint.values())

    @property
    def retries(self) -> int:
        return sum(self.retries_by_cause.values())

    def lines(self) -> list[str]:
        out = [f"Marketo API calls: {self.calls} (token fetches: {self.token_fetches})"]
        out += [f"  {endpoint}: {count}" for endpoint, count in sorted(self.calls_by_endpoint.items())]
        out.append(f"Retries: {self.retries}" + (
            " (" + ", ".join(f"{cause}: {n}" for cause, n in sorted(self.retries_by_cause.items())) + ")"
            if self.retries else ""
        ))
        out.append(f"Records sent: {self.records_sent}")
        return out


class CallCounters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: collections.Counter[str] = collections.Counter()
        self._retries: collections.Counter[str] = collections.Counter()
        self._records = 0
        self._token_fetches = 0

    def call(self, endpoint: str) -> None:
        with self._lock:
            self._calls[endpoint] += 1

    def retry(self, cause: str) -> None:
        with self._lock:
            self._retries[cause] += 1

    def records(self, count: int) -> None:
        with self._lock:
            self._records += count

    def token_fetch(self) -> None:
        with self._lock:
            self._token_fetches += 1

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(dict(self._calls), dict(self._retries), self._records, self._token_fetches)
