"""The Pub/Sub server's settings (environment variables; tests pass a ``PubSubSettings``)."""
from __future__ import annotations

import os
from dataclasses import dataclass


def _number(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as error:
        raise ValueError(f"{name}={value!r} is not a number") from error


@dataclass(frozen=True)
class PubSubSettings:
    retention_seconds: float = 72 * 3600
    """How long events stay replayable (Salesforce: 72 hours)."""
    keepalive_seconds: float = 270.0
    """An empty FetchResponse (latest replay id) is sent after this much silence (Salesforce: within 270 s)."""
    overflow_threshold: int = 100_000
    """Change events one transaction publishes before the rest become one GAP_OVERFLOW event per entity."""
    daily_delivered_events: int = 10_000
    """``DailyDeliveredPlatformEvents`` Max in /limits; past it Subscribe ends with RESOURCE_EXHAUSTED."""
    max_num_requested: int = 100
    """Events requested and not yet delivered count as at most this (Salesforce: 100; more counts as 100)."""
    idle_close_seconds: float = 60.0
    """With nothing requested, the stream closes this long after the last FetchResponse (Salesforce: 60 s)."""
    max_workers: int = 32
    """Concurrent RPCs (each open Subscribe stream holds one); beyond it a call gets RESOURCE_EXHAUSTED."""

    @classmethod
    def from_env(cls) -> "PubSubSettings":
        return cls(
            retention_seconds=_number("ECBRIDGE_PUBSUB_RETENTION_HOURS", 72) * 3600,
            keepalive_seconds=_number("ECBRIDGE_PUBSUB_KEEPALIVE_SECONDS", 270),
            overflow_threshold=int(_number("ECBRIDGE_CDC_OVERFLOW_THRESHOLD", 100_000)),
            daily_delivered_events=int(_number("ECBRIDGE_ORG_DAILY_DELIVERED_EVENTS", 10_000)),
            max_num_requested=int(_number("ECBRIDGE_PUBSUB_MAX_NUM_REQUESTED", 100)),
            idle_close_seconds=_number("ECBRIDGE_PUBSUB_IDLE_CLOSE_SECONDS", 60),
            max_workers=int(_number("ECBRIDGE_PUBSUB_MAX_WORKERS", 32)),
        )
