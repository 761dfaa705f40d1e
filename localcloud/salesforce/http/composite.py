"""Composite resources: ``/composite`` (up to 25 subrequests, one transaction, ``@{ref.path}``
references, ``allOrNone``) and ``/composite/batch`` (up to 25 independent subrequests).

Subrequests are dispatched through the same router as top-level requests, so they answer
exactly what the single resources answer. Inside ``/composite`` every subrequest joins the
composite's transaction (each behind its own savepoint); with ``allOrNone`` any failure rolls all
back and the other subrequests answer ``PROCESSING_HALTED``. The whole call counts as one API
request, as on Salesforce.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from localcloud.common.httpserver import Headers, Request, Response, Router
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import RestError, error_response
from localcloud.salesforce.http.rest_data import SHARED_TRANSACTION, parse_json_body

MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)((?:\.[A-Za-z0-9_]+|\[\d+\])*)\}")
HALTED = [{"errorCode": "PROCESSING_HALTED", "message": "The transaction was rolled back since another operation in the same transaction failed."}]


class _UnresolvedReference(Exception):
    pass


def _resolve_path(value: Any, path: str) -> Any:
    for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[(\d+)\]", path):
        if name:
            if not isinstance(value, dict):
                raise KeyError(name)
            key = next((k for k in value if k.lower() == name.lower()), None)
            if key is None:
                raise KeyError(name)
            value = value[key]
        else:
            value = value[int(index)]
    return value


def _substitute(text: str, results: dict[str, Any]) -> str:
    def replace(match: re.Match[str]) -> str:
        reference, path = match.group(1), match.group(2)
        if reference not in results:
            raise _UnresolvedReference(f"Invalid reference specified. No value for {reference}{path} found in {reference}. Provided referenceId ids are {list(results)}.")
        try:
            value = _resolve_path(results[reference], path)
        except (KeyError, IndexError, TypeError) as error:
            raise _UnresolvedReference(f"Invalid reference specified. No value for {reference}{path} found in {reference}.") from error
        return value if isinstance(value, str) else json.dumps(value)

    return _REFERENCE.sub(replace, text)


def _subrequest(outer: Request, method: str, url: str, body: Any, extra_headers: dict[str, str] | None = None) -> Request:
    split = urllib.parse.urlsplit(url)
    headers = [(k, v) for k, v in outer.headers.items()]
    headers += list((extra_headers or {}).items())
    return Request(
        method=method.upper(), path=urllib.parse.unquote(split.path),
        query=urllib.parse.parse_qs(split.query, keep_blank_values=True), headers=Headers(headers),
        body=json.dumps(body).encode() if body is not None else b"", client_address=outer.client_address,
    )


def _dispatch(router: Router, request: Request) -> Response:
    handler, params, known = router.resolve(request.method, request.path)
    if handler is None:
        status = 405 if known else 404
        return error_response(status, "NOT_FOUND" if status == 404 else "METHOD_NOT_ALLOWED", "The requested resource does not exist")
    request.path_params = params
    return handler(request)


def _json_body(response: Response) -> Any:
    if not response.body:
        return None
    try:
        return json.loads(response.body)
    except ValueError:
        return response.body.decode("utf-8", "replace")


def register(router: Router, context: OrgContext) -> None:
    base = r"/services/data/v(?P<version>\d+\.\d)/composite"

    def composite(request: Request) -> Response:
        try:
            payload = parse_json_body(request)
        except RestError as error:
            return error.response()
        subrequests = payload.get("compositeRequest") if isinstance(payload, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            return error_response(400, "INVALID_API_INPUT", "compositeRequest must be a non-empty array")
        if len(subrequests) > MAX_SUBREQUESTS:
            return error_response(400, "INVALID_API_INPUT", f"Composite request can have at most {MAX_SUBREQUESTS} subrequests")
        all_or_none = bool(payload.get("allOrNone", False))
        results: dict[str, Any] = {}
        answers: list[dict[str, Any]] = []
        failed = False
        with context.data.transaction(user_id=context.user_id) as tx:
            start = tx.savepoint() if all_or_none else None
            token = SHARED_TRANSACTION.set(tx)
            try:
                for item in subrequests:
                    reference = item.get("referenceId", "")
                    if failed and all_or_none:
                        answers.append({"body": HALTED, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference})
                        continue
                    try:
                        url = _substitute(item.get("url", ""), results)
                        body = item.get("body")
                        if body is not None:
                            body = json.loads(_substitute(json.dumps(body), results))
                    except _UnresolvedReference as error:
                        failed = True
                        answers.append({"body": [{"errorCode": "PROCESSING_HALTED", "message": str(error)}],
                                        "httpHeaders": {}, "httpStatusCode": 400, "referenceId": reference})
                        continue
                    response = _dispatch(router, _subrequest(request, item.get("method", "GET"), url, body, item.get("httpHeaders")))
                    answer_body = _json_body(response)
                    headers = {}
                    if response.status == 201 and isinstance(answer_body, dict) and answer_body.get("id"):
                        sobject = re.search(r"/sobjects/(\w+)", url)
                        if sobject:
                            headers["Location"] = f"/services/data/v{request.path_params['version']}/sobjects/{sobject.group(1)}/{answer_body['id']}"
                    if response.status >= 400:
                        failed = True
                    else:
                        results[reference] = answer_body
                    answers.append({"body": answer_body, "httpHeaders": headers, "httpStatusCode": response.status, "referenceId": reference})
                if failed and all_or_none:
                    tx.rollback_to(start)
                    answers = [
                        a if a["httpStatusCode"] >= 400 else {**a, "body": HALTED, "httpHeaders": {}, "httpStatusCode": 400}
                        for a in answers
                    ]
            finally:
                SHARED_TRANSACTION.reset(token)
        return Response.json({"compositeResponse": answers})

    def batch(request: Request) -> Response:
        try:
            payload = parse_json_body(request)
        except RestError as error:
            return error.response()
        subrequests = payload.get("batchRequests") if isinstance(payload, dict) else None
        if not isinstance(subrequests, list) or not subrequests:
            return error_response(400, "INVALID_API_INPUT", "batchRequests must be a non-empty array")
        if len(subrequests) > MAX_SUBREQUESTS:
            return error_response(400, "INVALID_API_INPUT", f"A batch can have at most {MAX_SUBREQUESTS} subrequests")
        halt = bool(payload.get("haltOnError", False))
        results, has_errors = [], False
        for item in subrequests:
            if halt and has_errors:
                results.append({"result": HALTED, "statusCode": 412})
                continue
            url = item.get("url", "")
            url = url if url.startswith("/services/data/") else "/services/data/" + url.lstrip("/")
            response = _dispatch(router, _subrequest(request, item.get("method", "GET"), url, item.get("richInput")))
            has_errors = has_errors or response.status >= 400
            results.append({"result": _json_body(response), "statusCode": response.status})
        return Response.json({"hasErrors": has_errors, "results": results})

    router.add("POST", base + r"/?", composite)
    router.add("POST", base + r"/batch/?", batch)
