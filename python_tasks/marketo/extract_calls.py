"""Marketo's bulk lead extract: create a job, enqueue it, poll its status, fetch its file.

A mixin of :class:`python_tasks.marketo.MarketoClient`; every method is one call. Adobe's limits:
2 jobs run at once, 10 may be queued (1029 "Too many jobs in queue"), 500 MB of files a day (1029
"Export daily quota exceeded"), a ``createdAt`` window spans at most 31 days.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any, Mapping, Protocol, Sequence

from .errors import MarketoError, MarketoUsageError
from .transport import MarketoTransport

MAX_WINDOW = dt.timedelta(days=31)
EXPORT_FORMATS = ("CSV", "TSV", "SSV")
FINISHED = ("Completed", "Failed", "Cancelled", "Canceled")


class _HasTransport(Protocol):
    transport: MarketoTransport


def marketo_time(moment: dt.datetime) -> str:
    """ISO-8601 without milliseconds, in UTC (naive datetimes are taken as UTC)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
    return aware.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _job(payload: Mapping[str, Any], what: str) -> dict[str, Any]:
    result = payload.get("result") or []
    if not result or not isinstance(result[0], dict) or not result[0].get("exportId"):
        raise MarketoError(f"{what} answer has no export job", endpoint=what)
    return dict(result[0])


def _export_id(export_id: str) -> str:
    if not export_id or "/" in export_id:
        raise MarketoUsageError(f"not an export id: {export_id!r}")
    return export_id


class ExtractCalls:
    """Bulk lead extract jobs."""

    def create_lead_export(
        self: _HasTransport, fields: Sequence[str], created_from: dt.datetime, created_to: dt.datetime,
        *, file_format: str = "CSV", column_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """A job (status ``Created``) for the leads created in ``[created_from, created_to)``."""
        if not fields:
            raise MarketoUsageError("a lead export needs at least one field")
        if created_to <= created_from or created_to - created_from > MAX_WINDOW:
            raise MarketoUsageError(f"a createdAt window spans more than 0 and at most 31 days "
                                    f"(got {created_from} to {created_to})")
        if file_format not in EXPORT_FORMATS:
            raise MarketoUsageError(f"format must be one of {EXPORT_FORMATS}")
        body: dict[str, Any] = {
            "fields": list(fields), "format": file_format,
            "filter": {"createdAt": {"startAt": marketo_time(created_from), "endAt": marketo_time(created_to)}},
        }
        if column_headers:
            body["columnHeaderNames"] = dict(column_headers)
        payload = self.transport.call(
            "POST", "/bulk/v1/leads/export/create.json",
            json_body=json.dumps(body, separators=(",", ":")).encode("utf-8"),
        )
        return _job(payload, "POST /bulk/v1/leads/export/create.json")

    def enqueue_lead_export(self: _HasTransport, export_id: str) -> dict[str, Any]:
        payload = self.transport.call(
            "POST", f"/bulk/v1/leads/export/{_export_id(export_id)}/enqueue.json",
            endpoint="POST /bulk/v1/leads/export/{exportId}/enqueue.json",
        )
        return _job(payload, "enqueue lead export")

    def lead_export_status(self: _HasTransport, export_id: str) -> dict[str, Any]:
        payload = self.transport.call(
            "GET", f"/bulk/v1/leads/export/{_export_id(export_id)}/status.json",
            endpoint="GET /bulk/v1/leads/export/{exportId}/status.json",
        )
        return _job(payload, "lead export status")

    def lead_export_file(self: _HasTransport, export_id: str) -> str:
        """The file of a Completed job (a job not completed answers HTTP 404: MarketoNotFoundError)."""
        return str(self.transport.call(
            "GET", f"/bulk/v1/leads/export/{_export_id(export_id)}/file.json",
            endpoint="GET /bulk/v1/leads/export/{exportId}/file.json", raw=True,
        ))

    def cancel_lead_export(self: _HasTransport, export_id: str) -> dict[str, Any]:
        payload = self.transport.call(
            "POST", f"/bulk/v1/leads/export/{_export_id(export_id)}/cancel.json",
            endpoint="POST /bulk/v1/leads/export/{exportId}/cancel.json",
        )
        return _job(payload, "cancel lead export")
