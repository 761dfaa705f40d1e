"""Salesforce's error shapes: REST errors are a JSON array of {message, errorCode, fields}."""
from __future__ import annotations

from localcloud.common.httpserver import Response


class RestError(Exception):
    """Raised by a route to answer a Salesforce REST error (the request's transaction rolls back)."""

    def __init__(self, status: int, error_code: str, message: str, fields: list[str] | None = None):
        super().__init__(f"{error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        return error_response(self.status, self.error_code, self.message, self.fields)


def error_body(error_code: str, message: str, fields: list[str] | None = None) -> dict:
    body: dict = {"message": message, "errorCode": error_code}
    if fields is not None:
        body["fields"] = fields
    return body


def error_response(status: int, error_code: str, message: str, fields: list[str] | None = None) -> Response:
    return Response.json([error_body(error_code, message, fields)], status)


def invalid_session() -> Response:
    return error_response(401, "INVALID_SESSION_ID", "Session expired or invalid")


def not_found_resource() -> Response:
    return error_response(404, "NOT_FOUND", "The requested resource does not exist")


def json_parse_error(detail: str) -> RestError:
    return RestError(400, "JSON_PARSER_ERROR", detail)
