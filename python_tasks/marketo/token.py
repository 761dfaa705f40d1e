"""The access token: fetched once, reused until shortly before it expires, shared by all threads."""
from __future__ import annotations

import threading
import time
from typing import Callable

# Refresh this long before Marketo's expiry, so a token never expires between check and use.
REFRESH_MARGIN_SECONDS = 60.0


class TokenCache:
    """Holds one token. ``fetch`` returns (token, expires_in seconds) and is called under a lock,
    so when many threads need a token at once exactly one of them fetches it."""

    def __init__(
        self,
        fetch: Callable[[], tuple[str, float]],
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = refresh_margin
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def _usable(self) -> bool:
        return self._token is not None and self._clock() < self._refresh_at

    def get(self) -> str:
        if self._usable():
            return self._token  # type: ignore[return-value]
        with self._lock:
            if not self._usable():
                token, expires_in = self._fetch()
                lifetime = max(float(expires_in), 0.0)
                # A token handed back near its end (Marketo returns the same token with the time
                # left) is still used for the first half of what remains, not refetched every call.
                self._token = token
                self._refresh_at = self._clock() + lifetime - min(self._margin, lifetime / 2)
            return self._token  # type: ignore[return-value]

    def invalidate(self, token: str) -> None:
        """Forget ``token`` after Marketo rejected it (601/602); a newer token is kept."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._refresh_at = 0.0

    def __repr__(self) -> str:
        return f"TokenCache(valid={self._usable()})"
