"""Apex REST: ``/services/apexrest/<urlMapping>`` dispatched to the deployed ``@RestResource`` class.

The route asks ``context.extras["apex_runtime"]`` (an object with ``rest(method, path, body,
headers, params, request_uri)`` returning ``status, headers, body``, i.e. the Apex runtime's
``ApexRuntime``) to answer. Without a runtime the org answers as Salesforce does for an unknown
mapping. Calls are serialised (the interpreter keeps per-call state on the program).
"""
from __future__ import annotations

import threading

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response

MAX_BODY_BYTES = 6 * 1024 * 1024  # synchronous Apex: 6 MB request limit


def register(router: Router, context: OrgContext) -> None:
    lock = threading.Lock()

    @router.route(("GET", "POST", "PUT", "PATCH", "DELETE"), r"/services/apexrest(?P<path>/.*)?")
    def apexrest(request: Request) -> Response:
        path = request.path_params.get("path") or "/"
        runtime = context.extras.get("apex_runtime")
        if runtime is None:
            return error_response(404, "NOT_FOUND", f"Could not find a match for URL {path}")
        if len(request.body) > MAX_BODY_BYTES:
            return error_response(413, "REQUEST_TOO_LARGE", "Request body exceeds the 6 MB limit for synchronous Apex")
        with lock:
            result = runtime.rest(
                request.method, path, body=request.body, headers=dict(request.headers.items()),
                params={k: v[0] for k, v in request.query.items() if v}, request_uri=path,
            )
        headers = dict(result.headers)
        if result.body and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/json;charset=UTF-8"
        return Response(result.status, result.body, headers)
