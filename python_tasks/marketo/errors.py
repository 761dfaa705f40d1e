"""Typed errors for the Marketo REST client.

Marketo fails at three levels (see shared/reference/marketo-rest.md): HTTP, call (``success:false``
with a 6xx/7xx/1xxx code) and record (``skipped`` with reasons). The first two raise one of the
classes below; the third never raises and comes back per record as :class:`RecordResult`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

US_CENTRAL = ZoneInfo("America/Chicago")

AUTH_CODES = frozenset({"601", "602", "603"})
TOKEN_RETRY_CODES = frozenset({"601", "602"})
RATE_LIMIT_CODES = frozenset({"606", "615"})
QUOTA_CODES = frozenset({"607"})
TRANSIENT_CODES = frozenset({"604", "608", "611", "713"})
NOT_FOUND_CODES = frozenset({"610", "702", "1013"})
# Codes retried by default, with exponential backoff and jitter (HTTP 502 and timeouts too).
RETRY_CODES = RATE_LIMIT_CODES | TRANSIENT_CODES


class MarketoError(Exception):
    """A call Marketo refused or could not answer. ``code`` is Marketo's (a string) or None."""

    def __init__(
        self,
        message: str,
        code: str | None = None,
        *,
        http_status: int | None = None,
        endpoint: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.endpoint = endpoint
        self.request_id = request_id
        self.attempts = 1
        # Results of the records handled before the failure (batched writes only), in input order.
        self.completed_results: list[Any] = []
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.code:
            parts.append(f"Marketo error {self.code}")
        elif self.http_status:
            parts.append(f"HTTP {self.http_status}")
        else:
            parts.append("Marketo error")
        if self.endpoint:
            parts.append(f"on {self.endpoint}")
        text = " ".join(parts) + f": {self.message}"
        if self.request_id:
            text += f" (requestId {self.request_id})"
        return text

    @property
    def retryable(self) -> bool:
        return False


class MarketoAuthError(MarketoError):
    """Bad credentials (HTTP 401 from identity), access denied (603) or a token that stays invalid."""


class MarketoRateLimitError(MarketoError):
    """606 (calls per 20 s) or 615 (calls in flight): retried; raised only after the last attempt."""

    @property
    def retryable(self) -> bool:
        return True


class MarketoTransientError(MarketoError):
    """604, 608, 611, 713, HTTP 502 or a request timeout: retried; raised after the last attempt."""

    @property
    def retryable(self) -> bool:
        return True


class MarketoQuotaExceeded(MarketoError):
    """607: the daily quota is spent. Nothing more can run until ``resume_at`` (00:00 US Central)."""

    def __init__(self, message: str, code: str | None = "607", **kwargs: Any) -> None:
        self.resume_at = next_quota_reset()
        super().__init__(message, code, **kwargs)

    def _describe(self) -> str:
        return (
            super()._describe()
            + f"; the daily API quota is spent, work can resume at {self.resume_at.isoformat()}"
            + f" ({self.resume_at.astimezone(dt.timezone.utc).isoformat()} UTC)"
        )


class MarketoNotFoundError(MarketoError):
    """610 (resource not found), 702 (no data for the search), 1013 (object not found)."""


class MarketoRequestError(MarketoError):
    """The request itself is wrong: 7xx parameter errors, 609 bad JSON, 1003 invalid data, HTTP 4xx."""


class MarketoRequestTooLarge(MarketoRequestError):
    """HTTP 413 (body) or 414 (URI). The client batches to avoid both; seeing one is a client bug."""


class MarketoProtocolError(MarketoError):
    """Marketo answered something that is not the documented envelope (not JSON, no ``success``)."""


class MarketoUsageError(ValueError):
    """The caller asked for something the API cannot do (more than 25 losers, 11 type ids, ...)."""


def next_quota_reset(now: dt.datetime | None = None) -> dt.datetime:
    """The next 00:00 in US Central time (when Marketo's daily quota resets), as an aware datetime."""
    current = (now or dt.datetime.now(dt.timezone.utc)).astimezone(US_CENTRAL)
    tomorrow = current.date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(0, 0), tzinfo=US_CENTRAL)


def error_for_code(code: str | None, message: str, **kwargs: Any) -> MarketoError:
    """Build the typed error for a call-level Marketo error code."""
    code = str(code) if code is not None else None
    if code in QUOTA_CODES:
        return MarketoQuotaExceeded(message, code, **kwargs)
    if code in AUTH_CODES:
        return MarketoAuthError(message, code, **kwargs)
    if code in RATE_LIMIT_CODES:
        return MarketoRateLimitError(message, code, **kwargs)
    if code in TRANSIENT_CODES:
        return MarketoTransientError(message, code, **kwargs)
    if code in NOT_FOUND_CODES:
        return MarketoNotFoundError(message, code, **kwargs)
    if code is not None and (code.startswith("7") or code in {"605", "609", "612", "613", "1003"}):
        return MarketoRequestError(message, code, **kwargs)
    return MarketoError(message, code, **kwargs)
