"""Errors of the local org's data layer, shaped like Salesforce's.

Two kinds exist:

* ``SalesforceError`` (and subclasses) are *call-level* errors: the whole call fails
  (a malformed query, an unknown object, a bad upsert field). The HTTP layer answers
  ``[{"message", "errorCode", "fields"}]`` with ``http_status``.
* ``RecordError`` is a *record-level* error inside a ``SaveResult``; it serialises with
  ``statusCode`` (not ``errorCode``) as REST collections do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordError:
    """One error on one record: ``{"statusCode", "message", "fields"}``."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}


#: the error of the good records of an allOrNone call that failed
ROLLED_BACK = RecordError("ALL_OR_NONE_OPERATION_ROLLED_BACK",
                          "Record rolled back because not all records were valid and the request was using "
                          "AllOrNone header")


class SalesforceError(Exception):
    """A call-level error with a Salesforce ``errorCode``; ``http_status`` is the REST status."""

    http_status: int = 400

    def __init__(self, error_code: str, message: str, fields: list[str] | tuple[str, ...] = (),
                 http_status: int | None = None) -> None:
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.fields = list(fields)
        if http_status is not None:
            self.http_status = http_status

    def to_json(self) -> list[dict[str, Any]]:
        """The REST error body: a one-element list."""
        return [{"message": self.message, "errorCode": self.error_code, "fields": self.fields}]


class MalformedQueryError(SalesforceError):
    """``MALFORMED_QUERY``: the SOQL text uses something outside the supported grammar."""

    def __init__(self, message: str) -> None:
        super().__init__("MALFORMED_QUERY", message)


class InvalidFieldError(SalesforceError):
    """``INVALID_FIELD``: a field that the object does not have."""

    def __init__(self, message: str, fields: list[str] | tuple[str, ...] = ()) -> None:
        super().__init__("INVALID_FIELD", message, fields)

    @classmethod
    def no_such_column(cls, column: str, entity: str) -> "InvalidFieldError":
        return cls(
            f"No such column '{column}' on entity '{entity}'. If you are attempting to use a custom "
            "field, be sure to append the '__c' after the custom field name. Please reference your "
            "WSDL or the describe call for the appropriate names."
        )


class InvalidTypeError(SalesforceError):
    """``INVALID_TYPE``: an sObject type the org does not have."""

    def __init__(self, sobject: str) -> None:
        super().__init__(
            "INVALID_TYPE",
            f"sObject type '{sobject}' is not supported. If you are attempting to use a custom object, "
            "be sure to append the '__c' after the entity name. Please reference your WSDL or the "
            "describe call for the appropriate names.",
        )
        self.sobject = sobject


class NotFoundError(SalesforceError):
    """``NOT_FOUND`` (HTTP 404)."""

    http_status = 404

    def __init__(self, message: str = "The requested resource does not exist") -> None:
        super().__init__("NOT_FOUND", message)


class MalformedIdError(SalesforceError):
    """``MALFORMED_ID``: a string that is not a 15/18-character Salesforce id."""

    def __init__(self, value: str, field_name: str | None = None) -> None:
        msg = f"{field_name}: id value of incorrect type: {value}" if field_name else f"invalid id: {value}"
        super().__init__("MALFORMED_ID", msg, [field_name] if field_name else [])


class InvalidQueryLocatorError(SalesforceError):
    """``INVALID_QUERY_LOCATOR``: an unknown or expired ``query_more`` cursor."""

    def __init__(self, locator: str) -> None:
        super().__init__("INVALID_QUERY_LOCATOR", f"invalid query locator: {locator}")


class LimitExceededError(SalesforceError):
    """A governor limit was exceeded (raised only when ``Limits.enforce`` is set)."""

    def __init__(self, message: str) -> None:
        super().__init__("LIMIT_EXCEEDED", message)
        self.limit_message = message


class TriggerException(Exception):
    """Raise from a trigger hook to fail every record of the current chunk with
    ``CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY`` and ``message`` (an unhandled Apex exception
    in a trigger). Any other exception from a hook propagates out of the DML call."""

    def __init__(self, message: str, status_code: str = "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY") -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code  # a failed record-triggered flow: CANNOT_EXECUTE_FLOW_TRIGGER


__all__ = [
    "RecordError", "SalesforceError", "MalformedQueryError", "InvalidFieldError", "InvalidTypeError",
    "NotFoundError", "MalformedIdError", "InvalidQueryLocatorError", "LimitExceededError",
    "TriggerException",
]
