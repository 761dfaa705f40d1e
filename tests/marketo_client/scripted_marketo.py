"""A small scripted Marketo for the client's tests: real HTTP on 127.0.0.1, answers chosen by the test.

It is not the local Marketo (localcloud/marketo): it answers what each test scripts, records every
request it saw (arrival and end times, in-flight count) and enforces the rate limits with the
real codes, so tests can assert on what the server observed.
"""
from __future__ import annotations

import collections
import itertools
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

from localcloud.common.httpserver import App, Request, Response, Router, serve

CLIENT_ID = "scripted-client-id"
CLIENT_SECRET = "s3cr3t-never-logged-9f8e7d"

Answer = dict | tuple | Callable[[Request], Response]


def envelope(result: list | None = None, **extra: Any) -> dict:
    body = {"requestId": "req#1", "success": True, "result": result if result is not None else []}
    body.update(extra)
    return body


def failure(code: str, message: str = "scripted failure") -> dict:
    return {"requestId": "req#err", "success": False, "errors": [{"code": code, "message": message}]}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    arrived: float
    ended: float = 0.0
    answered_code: str | None = None

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    def arg(self, name: str) -> str | None:
        """A parameter from the query string or, for a form POST, from the body."""
        values = self.query.get(name)
        if not values and self.method == "POST" and self.body and not self.body.startswith(b"{"):
            values = self.form().get(name)
        return values[0] if values else None


@dataclass
class ScriptedMarketo:
    expires_in: int = 3599
    delay: float = 0.0  # seconds each API answer takes
    limit_calls: int | None = None  # enforce 606 past this many arrivals per window
    limit_window: float = 20.0
    limit_in_flight: int | None = None  # enforce 615 past this many concurrent calls
    seen: list[Seen] = field(default_factory=list)
    token_requests: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str, str], collections.deque[Answer]] = collections.defaultdict(collections.deque)
        self._ids = itertools.count(1000)
        self._tokens = itertools.count(1)
        self.valid_tokens: set[str] = set()
        self.identity_script: collections.deque[Answer] = collections.deque()
        self.in_flight = 0
        self.peak_in_flight = 0
        self.limit_answers = collections.Counter()
        router = Router()
        router.add(["GET", "POST"], r"/identity/oauth/token", self._token)
        router.add(["GET", "POST"], r"/(?P<rest>(rest|bulk)/.*)", self._api)
        self._server = serve(App(router))
        self.url = self._server.url

    def reset(self) -> None:
        """Forget scripts, observations, tokens and settings (one server serves many tests)."""
        deadline = time.monotonic() + 5
        while self.in_flight and time.monotonic() < deadline:  # let a previous test's slow answer end
            time.sleep(0.02)
        with self._lock:
            self._scripts.clear()
            self.seen.clear()
            self.token_requests.clear()
            self.valid_tokens.clear()
            self.identity_script.clear()
            self.limit_answers.clear()
            self._tokens = itertools.count(1)
            self.in_flight = self.peak_in_flight = 0
            self.expires_in, self.delay = 3599, 0.0
            self.limit_calls = self.limit_in_flight = None
            self.limit_window = 20.0

    def stop(self) -> None:
        self._server.stop()

    # ------------------------------------------------------------ scripting

    def on(self, method: str, path: str, *answers: Answer) -> None:
        """Queue answers for ``method path``; each is used once, then the default answer applies."""
        self._scripts[(method.upper(), path)].extend(answers)

    def calls(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if path is None or s.path == path]

    def max_arrivals_in_window(self, window: float) -> int:
        times = sorted(s.arrived for s in self.seen + self.token_requests)
        best, start = 0, 0
        for end, t in enumerate(times):
            while times[start] <= t - window:
                start += 1
            best = max(best, end - start + 1)
        return best

    # ------------------------------------------------------------ handlers

    def _token(self, request: Request) -> Response:
        seen = self._record(request)
        try:
            if self.identity_script:
                return self._answer(seen, self.identity_script.popleft())
            form = request.form() if request.method == "POST" else {}
            values = {k: (form.get(k) or request.query.get(k) or [""])[0] for k in ("grant_type", "client_id", "client_secret")}
            if values["client_id"] != CLIENT_ID or values["client_secret"] != CLIENT_SECRET or values["grant_type"] != "client_credentials":
                return Response.json({"error": "unauthorized", "error_description": "Bad client credentials"}, 401)
            token = f"tok-{next(self._tokens)}:int"
            with self._lock:
                self.valid_tokens.add(token)
            return Response.json({"access_token": token, "token_type": "bearer", "expires_in": self.expires_in, "scope": "api@example.com"})
        finally:
            seen.ended = time.monotonic()
            with self._lock:
                self.token_requests.append(seen)

    def _record(self, request: Request) -> Seen:
        return Seen(request.method, request.path, request.query, dict(request.headers.items()), request.body, time.monotonic())

    def _api(self, request: Request) -> Response:
        seen = self._record(request)
        with self._lock:
            self.seen.append(seen)
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            window_count = sum(1 for s in self.seen if s.arrived > seen.arrived - self.limit_window)
            over_rate = self.limit_calls is not None and window_count > self.limit_calls
            over_flight = self.limit_in_flight is not None and self.in_flight > self.limit_in_flight
            script = self._scripts.get((request.method, request.path))
            answer = script.popleft() if script else None
        try:
            if self.delay:
                time.sleep(self.delay)
            if over_flight:
                return self._answer(seen, failure("615", "Concurrent access limit reached"))
            if over_rate:
                return self._answer(seen, failure("606", "Max rate limit '100' exceeded with in '20' secs"))
            if request.bearer_token not in self.valid_tokens:
                return self._answer(seen, failure("601", "Access token invalid"))
            if answer is None:
                return self._answer(seen, self._default(request))
            if callable(answer):
                return self._answer(seen, answer(request))
            return self._answer(seen, answer)
        finally:
            with self._lock:
                self.in_flight -= 1
                seen.ended = time.monotonic()

    def _answer(self, seen: Seen, answer: Any) -> Response:
        if isinstance(answer, Response):
            return answer
        if isinstance(answer, tuple):
            status, body = answer
            if isinstance(body, (bytes, str)):
                return Response(status, body.encode() if isinstance(body, str) else body, {"Content-Type": "text/plain"})
            return Response.json(body, status)
        if isinstance(answer, dict) and answer.get("success") is False:
            seen.answered_code = answer["errors"][0]["code"]
            with self._lock:
                self.limit_answers[seen.answered_code] += 1
        return Response.json(answer)

    def _default(self, request: Request) -> dict:
        """Writes succeed record by record; reads find nothing."""
        if request.method == "POST" and request.body.startswith(b"{"):
            records = request.json().get("input", [])
            if "/customobjects/" in request.path:
                return envelope([
                    {"seq": i, "status": "deleted" if request.path.endswith("delete.json") else "created", "marketoGUID": f"guid-{next(self._ids)}"}
                    for i in range(len(records))
                ])
            return envelope([{"id": next(self._ids), "status": "created"} for _ in records])
        return envelope([])
