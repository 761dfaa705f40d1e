"""One Marketo call: token, shared pacing, envelope parsing, retries. The API methods live in client.py."""
from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import requests
from requests.adapters import HTTPAdapter

from .counters import CallCounters
from .credentials import MarketoCredentials
from .errors import (
    RETRY_CODES,
    TOKEN_RETRY_CODES,
    MarketoAuthError,
    MarketoError,
    MarketoNotFoundError,
    MarketoProtocolError,
    MarketoRequestError,
    MarketoRequestTooLarge,
    MarketoTransientError,
    error_for_code,
)
from .pacing import PacingSettings, SharedPacer
from .token import TokenCache

log = logging.getLogger("python_tasks.marketo")

MAX_URL_BYTES = 8192  # Marketo answers 414 past 8 KB; longer reads go as POST with _method=GET
DEFAULT_TIMEOUT = (10.0, 120.0)  # (connect, read) seconds
TOKEN_REFRESHES_PER_CALL = 2


#: The connection failed, or broke while the answer was read (the server died mid-response).
CUT_CONNECTION = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter."""

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    retry_codes: frozenset[str] = RETRY_CODES
    retry_http_statuses: frozenset[int] = field(default_factory=lambda: frozenset({502}))
    retry_timeouts: bool = True

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1``: half fixed, half random ("equal jitter")."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class MarketoTransport:
    def __init__(
        self,
        credentials: MarketoCredentials,
        pacing: PacingSettings | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        counters: CallCounters | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_url_bytes: int = MAX_URL_BYTES,
    ) -> None:
        self._credentials = credentials
        self.base_url = credentials.base_url
        self.pacing = pacing or PacingSettings()
        self.pacer = SharedPacer.for_instance(self.base_url, self.pacing)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.counters = counters or CallCounters()
        self._sleep = sleep
        self.max_url_bytes = max_url_bytes
        self.owns_session = session is None
        self.session = session or self._new_session(self.pacing.max_in_flight)
        self.tokens = TokenCache(self._fetch_token)

    def __repr__(self) -> str:
        return f"MarketoTransport(base_url={self.base_url!r}, pacing={self.pacing!r})"

    @staticmethod
    def _new_session(pool: int) -> requests.Session:
        # trust_env (the default) makes the session honour REQUESTS_CA_BUNDLE and proxy variables.
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(pool, 10) + 2)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session

    # ---------------------------------------------------------------- token

    def _fetch_token(self) -> tuple[str, float]:
        """POST the client credentials as a form body (never in the URL, so no access log or debug
        log line can carry the secret)."""
        url = f"{self.base_url}/identity/oauth/token"
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret,
        }
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.pacer.slot():
                    self.counters.call("POST /identity/oauth/token")
                    self.counters.token_fetch()
                    response = self.session.post(url, data=form, timeout=self.timeout)
                error = self._identity_error(response)
                if error is None:
                    payload = response.json()
                    return str(payload["access_token"]), float(payload.get("expires_in", 3599))
            except requests.exceptions.SSLError as exc:
                raise _tls_error(self.base_url, exc, "identity/oauth/token") from None
            except (requests.Timeout, *CUT_CONNECTION) as exc:
                error = MarketoTransientError(
                    f"identity request failed: {type(exc).__name__}", endpoint="identity/oauth/token"
                )
            except (ValueError, KeyError):
                error = MarketoProtocolError("identity answer has no access_token", endpoint="identity/oauth/token")
            if error.retryable and attempt < self.retry.max_attempts:
                self.counters.retry(
                    "identity " + (error.code or (f"HTTP {error.http_status}" if error.http_status else "timeout"))
                )
                log.warning("Marketo identity call failed (%s); retrying", error)
                self._sleep(self.retry.delay(attempt))
                continue
            error.attempts = attempt
            raise error

    def _identity_error(self, response: requests.Response) -> MarketoError | None:
        endpoint = "identity/oauth/token"
        if response.status_code == 200:
            return None
        if response.status_code in (400, 401, 403):
            description = ""
            try:
                description = str(response.json().get("error_description") or response.json().get("error") or "")
            except ValueError:
                pass
            return MarketoAuthError(
                f"Marketo refused the client id/secret{': ' + description if description else ''}"
                f" (client_id {self._credentials.client_id!r})",
                http_status=response.status_code,
                endpoint=endpoint,
            )
        if response.status_code in self.retry.retry_http_statuses:
            return MarketoTransientError("identity service unavailable", http_status=response.status_code, endpoint=endpoint)
        return MarketoError("unexpected identity answer", http_status=response.status_code, endpoint=endpoint)

    # ---------------------------------------------------------------- calls

    def call(
        self,
        method: str,
        path: str,
        *,
        endpoint: str | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: bytes | None = None,
        form: Mapping[str, Any] | None = None,
        files: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        extra_retry_codes: frozenset[str] = frozenset(),
        records: int = 0,
        raw: bool = False,
    ) -> Any:
        """Make one API call and return the parsed envelope (or the text when ``raw``).

        ``endpoint`` names the call for counters and errors (defaults to ``METHOD path``).
        ``idempotent=False`` stops a retry after a read timeout or dropped connection, when the
        write may already have been applied (a connect timeout is still retried).
        """
        url = f"{self.base_url}{path}"
        label = endpoint or f"{method} {path}"
        headers = {"Accept": "application/json"}
        if json_body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        attempt = 0
        refreshes = 0
        error: MarketoError
        while True:
            attempt += 1
            token = self.tokens.get()
            headers["Authorization"] = f"Bearer {token}"
            try:
                with self.pacer.slot():
                    self.counters.call(label)
                    response = self.session.request(
                        method,
                        url,
                        params=params,
                        data=json_body if json_body is not None else form,
                        files=files,
                        headers=headers,
                        timeout=self.timeout,
                    )
                result = self._parse(response, label, raw)
            except requests.exceptions.SSLError as exc:
                raise _tls_error(self.base_url, exc, label) from None
            except (requests.Timeout, *CUT_CONNECTION) as exc:
                safe = (idempotent or isinstance(exc, requests.ConnectTimeout)) and self.retry.retry_timeouts
                what = (
                    f"{type(exc).__name__} after {self.timeout} s"
                    if isinstance(exc, requests.Timeout)
                    else f"connection failed: {type(exc).__name__}"
                )
                if not safe:
                    error = MarketoTransientError(
                        what + " (not retried: the write may already have been applied)", endpoint=label
                    )
                    error.attempts = attempt
                    raise error from None
                error = MarketoTransientError(what, endpoint=label)
                cause = "timeout" if isinstance(exc, requests.Timeout) else "connection"
            except MarketoError as exc:
                error = exc
                cause = exc.code or f"HTTP {exc.http_status}"
            else:
                if records:
                    self.counters.records(records)
                return result

            token_rejected = error.code in TOKEN_RETRY_CODES
            if token_rejected:
                self.tokens.invalidate(token)
                if refreshes < TOKEN_REFRESHES_PER_CALL:
                    refreshes += 1
                    attempt -= 1  # the first refreshes are not spent attempts
                    self.counters.retry(cause)
                    log.info("Marketo token rejected on %s (%s); fetching a new one", label, error.code)
                    continue
            retryable = token_rejected or (
                (error.code is not None and (error.code in self.retry.retry_codes or error.code in extra_retry_codes))
                or (error.code is None and error.http_status in self.retry.retry_http_statuses)
                or (error.code is None and error.http_status is None and isinstance(error, MarketoTransientError))
            )
            if retryable and attempt < self.retry.max_attempts:
                delay = self.retry.delay(attempt)
                self.counters.retry(cause)
                log.warning(
                    "Marketo %s failed (%s); retry %d of %d in %.1f s",
                    label, cause, attempt, self.retry.max_attempts - 1, delay,
                )
                self._sleep(delay)
                continue
            error.attempts = attempt
            raise error

    def read(
        self,
        path: str,
        params: Mapping[str, Any],
        *,
        endpoint: str | None = None,
    ) -> dict[str, Any]:
        """A GET, sent as a form POST with ``_method=GET`` when the URL would pass 8 KB."""
        prepared = requests.Request("GET", f"{self.base_url}{path}", params=params).prepare()
        if len(prepared.url or "") <= self.max_url_bytes:
            return self.call("GET", path, endpoint=endpoint or f"GET {path}", params=params)
        return self.call(
            "POST", path, endpoint=(endpoint or f"GET {path}") + " (_method=GET)", form={**params, "_method": "GET"}
        )

    # ---------------------------------------------------------------- envelope

    @staticmethod
    def _parse(response: requests.Response, label: str, raw: bool) -> Any:
        status = response.status_code
        content_type = response.headers.get("Content-Type", "")
        payload: Any = None
        if "json" in content_type or (response.content[:1] in (b"{", b"[")):
            try:
                payload = response.json()
            except ValueError:
                payload = None
        if status == 200:
            if raw and not (isinstance(payload, dict) and payload.get("success") is False):
                return response.text
            if not isinstance(payload, dict) or "success" not in payload:
                raise MarketoProtocolError("answer is not a Marketo envelope", http_status=status, endpoint=label)
            if payload.get("success"):
                return payload
            errors = payload.get("errors") or [{}]
            first = errors[0] if isinstance(errors[0], dict) else {}
            message = str(first.get("message") or "no message")
            if len(errors) > 1:
                message += " (also: " + "; ".join(
                    f"{e.get('code')} {e.get('message')}" for e in errors[1:] if isinstance(e, dict)
                ) + ")"
            raise error_for_code(
                first.get("code"), message, http_status=status, endpoint=label, request_id=payload.get("requestId")
            )
        message = _http_message(payload) or response.reason or "HTTP error"
        if status in (413, 414):
            raise MarketoRequestTooLarge(message, http_status=status, endpoint=label)
        if status == 401:
            raise MarketoAuthError(message, http_status=status, endpoint=label)
        if status == 404:
            raise MarketoNotFoundError(message, http_status=status, endpoint=label)
        if status >= 500:
            raise MarketoTransientError(message, http_status=status, endpoint=label) if status == 502 else MarketoError(
                message, http_status=status, endpoint=label
            )
        raise MarketoRequestError(message, http_status=status, endpoint=label)


def _http_message(payload: Any) -> str:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or "")
        return str(payload.get("message") or payload.get("error") or "")
    return ""


def _tls_error(base_url: str, exc: Exception, label: str) -> MarketoError:
    """Certificate problems are not transient: say so at once, with the usual fix."""
    return MarketoError(
        f"TLS verification failed for {base_url} ({type(exc).__name__}); for the local Marketo set "
        "REQUESTS_CA_BUNDLE to the bundle in .ecbridge/local.env",
        endpoint=label,
    )
