"""Bulk API 1.0 data files: CSV batch bodies in, result files out (no HTTP, no storage).

* ``read_dml_csv`` turns a batch body into record dicts the data layer takes: an empty value
  leaves the field unset, ``#N/A`` sets it to null, a ``Rel__r.External_Id__c`` column becomes
  ``{"Rel__r": {"External_Id__c": value}}`` (a parent by external id), as the Bulk API documents.
* ``dml_result_csv`` is the batch result: ``"Id","Success","Created","Error"``, one row per input
  row, in input order; an error reads ``STATUS_CODE:message:Field1,Field2 --``.
* ``query_result_csv`` is a query result file: the SELECT list as the header, every value quoted,
  null as an empty value; no rows answer ``Records not found for this query`` as Salesforce does.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from localcloud.salesforce.data import RecordError, SaveResult

NULL_MARKER = "#N/A"
NO_RECORDS = "Records not found for this query"
RESULT_HEADER = ("Id", "Success", "Created", "Error")

#: ``resolve(column_name) -> (field or relationship name, external id key or None)``; raises
#: ``BatchFailure`` for a name the object does not have.
ColumnResolver = Callable[[str], "tuple[str, str | None]"]


class BatchFailure(Exception):
    """The whole batch fails (state ``Failed``); the message is the batch's ``stateMessage``."""


@dataclass
class CsvRows:
    header: list[str]
    rows: list[dict[str, Any]]


def _reader(text: str) -> list[list[str]]:
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), strict=True)]
    except csv.Error as error:
        raise BatchFailure(f"InvalidBatch : Failed to parse CSV. {error}") from error


def table(text: str) -> list[list[str]]:
    """The rows of a CSV body as read (the header first), blank lines left out."""
    return [row for row in _reader(text) if row]


def count_records(text: str) -> int:
    """Data rows in a CSV batch body (the header row excluded)."""
    return max(0, len(table(text)) - 1)


def read_dml_csv(text: str, resolve_column: ColumnResolver) -> CsvRows:
    """Records of a DML batch; ``resolve_column(name)`` returns ``(field, relationship_key)``
    (``relationship_key`` None for a plain field) or raises ``BatchFailure`` for an unknown name."""
    rows_read = table(text)
    if not rows_read:
        raise BatchFailure("InvalidBatch : Failed to parse CSV header: the batch is empty")
    header = [name.strip() for name in rows_read[0]]
    seen: set[str] = set()
    columns: list[tuple[str, str | None]] = []
    for name in header:
        if not name:
            raise BatchFailure("InvalidBatch : Field name not provided")
        if name.lower() in seen:
            raise BatchFailure(f"InvalidBatch : Duplicate field name: {name}")
        seen.add(name.lower())
        columns.append(resolve_column(name))
    rows: list[dict[str, Any]] = []
    for number, values in enumerate(rows_read[1:], start=2):
        if len(values) != len(header):
            raise BatchFailure(
                f"InvalidBatch : Failed to parse CSV. Row {number} has {len(values)} values, the header {len(header)}"
            )
        record: dict[str, Any] = {}
        for (field, relationship_key), value in zip(columns, values):
            if value == "":
                continue  # an empty value leaves the field as it is
            typed: Any = None if value == NULL_MARKER else value
            if relationship_key is None:
                record[field] = typed
            else:
                record[field] = None if typed is None else {relationship_key: typed}
        rows.append(record)
    return CsvRows(header, rows)


def error_text(errors: Sequence[RecordError]) -> str:
    """The Error column: ``STATUS_CODE:message:Field1,Field2 --`` per error, space separated."""
    return " ".join(f"{e.status_code}:{e.message}:{','.join(e.fields)} --" for e in errors)


def quoted_csv(rows: Iterable[Sequence[str]], line_ending: str = "\n") -> bytes:
    """``rows`` as a CSV file with every value quoted, as the Bulk APIs write their result files."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator=line_ending)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def dml_result_csv(results: Sequence[SaveResult]) -> bytes:
    return quoted_csv([RESULT_HEADER, *(
        (r.id or "" if r.success else "", "true" if r.success else "false",
         "true" if r.success and r.created else "false", "" if r.success else error_text(r.errors))
        for r in results
    )])


def dml_result_json(results: Sequence[SaveResult]) -> list[dict[str, Any]]:
    return [
        {"success": r.success, "created": bool(r.success and r.created), "id": r.id if r.success else None,
         "errors": [] if r.success else [{"message": e.message, "fields": list(e.fields), "statusCode": e.status_code}
                                          for e in r.errors]}
        for r in results
    ]


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.endswith("+0000") and "T" in text:
        text = text[:-5] + "Z"  # Bulk API files write datetimes in UTC with a Z
    return text


def path_value(record: dict[str, Any], path: Sequence[str]) -> Any:
    """A value at ``Member__r.Email`` in a REST-shaped record (names matched case-insensitively)."""
    value: Any = record
    for part in path:
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key is not None else None
    return value


def query_result_csv(columns: Sequence[Sequence[str]], records: Iterable[dict[str, Any]]) -> bytes:
    rows = [[csv_value(path_value(record, path)) for path in columns] for record in records]
    if not rows:
        return NO_RECORDS.encode("utf-8")
    return quoted_csv([[".".join(path) for path in columns], *rows])


__all__ = [
    "BatchFailure", "CsvRows", "NULL_MARKER", "NO_RECORDS", "table", "quoted_csv", "count_records", "read_dml_csv", "error_text",
    "dml_result_csv", "dml_result_json", "query_result_csv", "csv_value", "path_value",
]
