"""Marketo's answer envelope: requestId, success, result, errors, warnings, paging members."""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from typing import Any

from localcloud.common.httpserver import Response


class CallError(Exception):
    """A call-level failure: HTTP 200 with success:false and one error {code, message}."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code} {message}")
        self.code = str(code)
        self.message = message


_counter = itertools.count(1)
_counter_lock = threading.Lock()


def new_request_id() -> str:
    """Marketo's shape: '<hex counter>#<hex epoch millis>'."""
    with _counter_lock:
        number = next(_counter)
    return f"{number:x}#{int(time.time() * 1000):x}"


def success(
    request_id: str,
    result: list[Any] | None = None,
    *,
    warnings: list[str] | None = None,
    next_page_token: str | None = None,
    more_result: bool | None = None,
    include_result: bool = True,
) -> Response:
    payload: dict[str, Any] = {"requestId": request_id}
    if include_result:
        payload["result"] = result if result is not None else []
    payload["success"] = True
    if next_page_token is not None:
        payload["nextPageToken"] = next_page_token
    if more_result is not None:
        payload["moreResult"] = more_result
    payload["warnings"] = warnings or []
    return Response.json(payload)


def failure(request_id: str, code: str, message: str, status: int = 200) -> Response:
    return Response.json(
        {
            "requestId": request_id,
            "success": False,
            "warnings": [],
            "errors": [{"code": str(code), "message": message}],
        },
        status,
    )


def encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.b32encode(raw).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        text = token.strip()
        text += "=" * (-len(text) % 8)
        state = json.loads(base64.b32decode(text.upper()).decode())
        if not isinstance(state, dict):
            raise ValueError
        return state
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        raise CallError("1003", f"Invalid nextPageToken '{token}'") from None
