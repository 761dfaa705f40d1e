"""The ConnectApi rate limit: as the Apex Reference says, ConnectApi calls that need Chatter are limited per user,
per namespace and per hour, and exceeding it throws ``ConnectApi.RateLimitException``; in an Apex test
``Test.startTest`` starts a new count and ``Test.stopTest`` sets the count back to what it was before.

Salesforce does not publish the number: it is the setting ``ECBRIDGE_CONNECTAPI_RATE_LIMIT`` (calls per user and
hour; unset or ``0``: no limit, the default). Outside tests the count is kept per org (store), user and clock hour
in the process; each Apex test method starts at 0."""

from __future__ import annotations

import os
import time
import weakref
from typing import Any, Callable

from . import ops

ENV_RATE_LIMIT = "ECBRIDGE_CONNECTAPI_RATE_LIMIT"
#: store -> (user id, hour) -> calls
_COUNTS: "weakref.WeakKeyDictionary[Any, dict[tuple[str, int], int]]" = weakref.WeakKeyDictionary()


def rate_limit() -> int:
    raw = os.environ.get(ENV_RATE_LIMIT, "").strip()
    try:
        return max(0, int(raw)) if raw else 0
    except ValueError:
        return 0


def _count(prog: Any, user_id: str) -> int:
    """Count one call; the calls counted so far (this one included)."""
    test = prog.tx.test
    if test is not None:  # Test.startTest..stopTest counts apart from the rest of the test method
        inside = bool(getattr(test, "started", False)) and not bool(getattr(test, "stopped", False))
        counts = prog.tx.mocks.setdefault("connectapi.rate", {"inside": 0, "outside": 0})
        key = "inside" if inside else "outside"
        counts[key] += 1
        return counts[key]
    store = prog.data
    per_store = _COUNTS.setdefault(store, {}) if store is not None else {}
    key2 = (user_id, int(time.time() // 3600))
    per_store[key2] = per_store.get(key2, 0) + 1
    return per_store[key2]


def counted(fn: Callable[[list[Any]], Any], user_of: Callable[[Any], str]) -> Callable[[list[Any]], Any]:
    """``fn`` as a rate-limited ConnectApi method."""
    def call(a: list[Any]) -> Any:
        limit = rate_limit()
        if limit:
            prog = ops.CURRENT.prog
            calls = _count(prog, user_of(prog))
            if calls > limit:
                ops.throw("ConnectApi.RateLimitException", f"Rate limit exceeded: more than {limit} ConnectApi calls "
                                                           f"this hour by this user ({ENV_RATE_LIMIT})")
        return fn(a)
    return call


def limited(methods: dict[tuple[str, str], Callable[[list[Any]], Any]], user_of: Callable[[Any], str]
            ) -> dict[tuple[str, str], Callable[[list[Any]], Any]]:
    """The ConnectApi methods of a STATIC_METHODS table, rate-limited (the setTest methods are no API calls)."""
    return {key: fn if key[1].startswith("settest") else counted(fn, user_of) for key, fn in methods.items()}
