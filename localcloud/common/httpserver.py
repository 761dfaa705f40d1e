"""A small threaded HTTPS server shared by the local org and the local Marketo.

Only transport lives here: parsing a request, routing it by method and path pattern, writing the
response. What the services answer lives in their own ``http`` packages.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024 * 1024  # hard transport ceiling; services enforce their own lower limits


class Headers:
    """Case-insensitive header access."""

    def __init__(self, items: Iterable[tuple[str, str]]):
        self._items = {k.lower(): v for k, v in items}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.items())


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    body: bytes
    client_address: str = ""
    path_params: dict[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))

    def form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)

    @property
    def bearer_token(self) -> str | None:
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.partition(" ")
        if scheme.lower() in ("bearer", "oauth") and token:
            return token.strip()
        return None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> "Response":
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, body, {"Content-Type": "application/json;charset=UTF-8", **(headers or {})})

    @classmethod
    def text(cls, text: str, status: int = 200, content_type: str = "text/plain;charset=UTF-8") -> "Response":
        return cls(status, text.encode("utf-8"), {"Content-Type": content_type})

    @classmethod
    def empty(cls, status: int = 204) -> "Response":
        return cls(status, b"", {})


Handler = Callable[[Request], Response]


class Router:
    """Routes by HTTP method and a regular expression on the path (named groups become path_params)."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, methods: str | Iterable[str], pattern: str, handler: Handler) -> None:
        for method in [methods] if isinstance(methods, str) else methods:
            self._routes.append((method.upper(), re.compile(pattern + r"\Z"), handler))

    def route(self, methods: str | Iterable[str], pattern: str) -> Callable[[Handler], Handler]:
        def decorate(handler: Handler) -> Handler:
            self.add(methods, pattern, handler)
            return handler

        return decorate

    def resolve(self, method: str, path: str) -> tuple[Handler | None, dict[str, str], bool]:
        """Return (handler, path params, path_known). path_known is True when another method matches."""
        path_known = False
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match:
                if route_method == method:
                    return handler, {k: urllib.parse.unquote(v) for k, v in match.groupdict().items() if v is not None}, True
                path_known = True
        return None, {}, path_known


class App:
    """A service: a router plus the answers for unknown paths and for unhandled errors."""

    def __init__(self, router: Router):
        self.router = router

    def not_found(self, request: Request) -> Response:
        return Response.json([{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}], 404)

    def method_not_allowed(self, request: Request) -> Response:
        return Response.json(
            [{"errorCode": "METHOD_NOT_ALLOWED", "message": f"HTTP Method '{request.method}' not allowed"}], 405
        )

    def internal_error(self, request: Request, error: BaseException) -> Response:
        return Response.json([{"errorCode": "UNKNOWN_EXCEPTION", "message": "An unexpected error occurred"}], 500)

    def __call__(self, request: Request) -> Response:
        handler, params, path_known = self.router.resolve(request.method, request.path)
        if handler is None:
            return self.method_not_allowed(request) if path_known else self.not_found(request)
        request.path_params = params
        try:
            return handler(request)
        except Exception as error:  # the server never answers with a traceback
            log.exception("unhandled error on %s %s", request.method, request.path)
            return self.internal_error(request, error)


def _make_handler_class(app: Callable[[Request], Response]) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ECBridgeLocal/1.0"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            log.debug("%s - %s", self.address_string(), format % args)

        def _dispatch(self) -> None:
            split = urllib.parse.urlsplit(self.path)
            chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
            length = int(self.headers.get("Content-Length") or 0)
            body = self._read_chunked() if chunked else None
            if length > MAX_BODY_BYTES or (chunked and body is None):
                self._write(Response.json([{"errorCode": "REQUEST_TOO_LARGE", "message": "Body too large"}], 413))
                self.close_connection = True
                return
            if body is None:
                body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command.upper(),
                path=urllib.parse.unquote(split.path) if "%2F" not in split.path.upper() else split.path,
                query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
                headers=Headers(self.headers.items()),
                body=body,
                client_address=self.client_address[0] if self.client_address else "",
            )
            self._write(app(request))

        def _read_chunked(self) -> bytes | None:
            """A ``Transfer-Encoding: chunked`` body (requests sends one for a generator body, as the
            Bulk API clients do); None when it grows past ``MAX_BODY_BYTES``."""
            parts: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():  # trailer headers, then the blank line
                        pass
                    return b"".join(parts)
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)  # the CRLF after each chunk

        def _write(self, response: Response) -> None:
            # send_response, but an app may answer its own Date (the local org's clock)
            self.log_request(response.status)
            self.send_response_only(response.status)
            self.send_header("Server", self.version_string())
            if not any(name.lower() == "date" for name in response.headers):
                self.send_header("Date", self.date_time_string())
            for name, value in response.headers.items():
                self.send_header(name, value)
            body = b"" if self.command == "HEAD" else response.body
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if body:
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    return _Handler


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None):
        self._tls_context = context
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        # Headers and body go out as separate writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every response on a keep-alive connection.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._tls_context is not None:
            # Handshake in the worker thread, so a slow client cannot stall accept().
            sock = self._tls_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class RunningServer:
    def __init__(self, server: _TLSServer, thread: threading.Thread, scheme: str):
        self._server = server
        self._thread = thread
        self.host, self.port = server.server_address[:2]
        self.url = f"{scheme}://{self.host}:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


def serve(
    app: Callable[[Request], Response],
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
) -> RunningServer:
    """Serve ``app`` on ``host:port`` (port 0 picks a free one) in a background thread."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError("the local cloud listens on the loopback address only")
    server = _TLSServer((host, port), _make_handler_class(app), ssl_context)
    thread = threading.Thread(target=server.serve_forever, name=f"http-{server.server_address[1]}", daemon=True)
    thread.start()
    return RunningServer(server, thread, "https" if ssl_context else "http")
