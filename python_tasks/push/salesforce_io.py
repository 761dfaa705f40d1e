"""Salesforce reads and write-back for the push, over simple-salesforce (REST query and
sObject Collections, 200 records a call).

Every call is retried with backoff when the org cannot be reached or answers 502/503/504: a
dropped connection, an org restarting, SERVER_UNAVAILABLE. Retrying is safe because the push only
reads and updates records by Id with the same values (no inserts). CumulusCI's own adapter retries
only idempotent methods, and not a PATCH whose connection dropped before the answer came.
"""
from __future__ import annotations

import csv
import io
import logging
import time
import urllib.parse
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterable, Sequence, TypeVar

import requests
from simple_salesforce.exceptions import SalesforceError

from python_tasks.marketo.transport import CUT_CONNECTION, RetryPolicy

COLLECTION_SIZE = 200
COMPOSITE_SIZE = 25  # subrequests in one composite call
BULK_PAGE_ROWS = 50_000
RETRY_STATUSES = frozenset({502, 503, 504})
DEFAULT_RETRY = RetryPolicy(max_attempts=6, base_delay=1.0, max_delay=15.0)
log = logging.getLogger(__name__)
T = TypeVar("T")


class SalesforceUnavailable(RuntimeError):
    """The org stayed unreachable (or kept answering 5xx) through every retry."""


class SalesforceQueryFailed(RuntimeError):
    """A query the org refused (an unknown field, a malformed filter): not retried."""

    def __init__(self, name: str, soql: str, answer: Any) -> None:
        errors = answer if isinstance(answer, list) else [answer]
        text = "; ".join(f"{e.get('errorCode')}: {e.get('message')}" for e in errors if isinstance(e, dict))
        super().__init__(f"Salesforce refused the {name} query ({text or answer}): {soql}")


def _date_header(response: Any) -> datetime | None:
    header = getattr(response, "headers", {}).get("Date")
    try:
        return parsedate_to_datetime(header).astimezone(timezone.utc) if header else None
    except (TypeError, ValueError):
        return None


def is_transient(error: Exception) -> bool:
    if isinstance(error, (*CUT_CONNECTION, requests.Timeout)):
        return True
    return isinstance(error, SalesforceError) and getattr(error, "status", None) in RETRY_STATUSES


def soql_quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _count_responses(sf: Any, hook: Callable[..., None]) -> bool:
    """Count every response on simple-salesforce's requests session (Bulk API 2.0 shares it)."""
    session = getattr(sf, "session", None)
    hooks = getattr(session, "hooks", None)
    if not isinstance(hooks, dict):
        return False
    hooks.setdefault("response", []).append(hook)
    return True


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SalesforceIO:
    def __init__(self, sf: Any, retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.sf = sf
        self._attempts = 0
        self._responses = 0
        self._hooked = _count_responses(sf, self._on_response)
        self.retries = 0
        self.retry = retry or DEFAULT_RETRY
        self._sleep = sleep

    def _call(self, what: str, call: Callable[[], T]) -> T:
        """One Salesforce call, retried while the org is unreachable or answers 502/503/504."""
        attempt = 0
        while True:
            attempt += 1
            self._attempts += 1
            try:
                return call()
            except Exception as error:  # noqa: BLE001 - only transient errors are retried, the rest re-raised
                if not is_transient(error):
                    raise
                if attempt >= self.retry.max_attempts:
                    raise SalesforceUnavailable(
                        f"Salesforce {what} failed {attempt} times, last with {type(error).__name__}: {error}"
                    ) from error
                delay = self.retry.delay(attempt)
                self.retries += 1
                log.warning("Salesforce %s failed (%s: %s); retry %d of %d in %.1f s", what,
                            type(error).__name__, str(error)[:200], attempt, self.retry.max_attempts - 1, delay)
                self._sleep(delay)

    @property
    def calls(self) -> int:
        """Every HTTP call made through the org's session (queries, composite, Bulk API 2.0 job
        calls, updates), or, for a client without a session, every attempted call."""
        return self._responses if self._hooked else self._attempts

    def _on_response(self, response: Any, *args: Any, **kwargs: Any) -> None:
        self._responses += 1

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        return self._rest_of(self._call("query", lambda: self.sf.query(soql)))

    def query_in(self, template: str, ids: Sequence[str], size: int = 300) -> list[dict[str, Any]]:
        """``template`` holds ``{ids}``, replaced by a quoted id list, ``size`` ids a query."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids), size):
            out += self.query_all(template.format(ids=",".join(soql_quote(i) for i in chunk)))
        return out

    def queries(self, named: dict[str, str]) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int], datetime]:
        """Several queries in one composite call (one API request; 25 at most a call), each then
        paged with query_more. Returns rows by name, totalSize by name (what ``SELECT COUNT()``
        answers), and the org's clock from the answer's Date header."""
        rows: dict[str, list[dict[str, Any]]] = {}
        sizes: dict[str, int] = {}
        org_now: datetime | None = None
        names = list(named)
        path = urllib.parse.urlsplit(self.sf.base_url).path.rstrip("/")
        for start in range(0, len(names), COMPOSITE_SIZE):
            chunk = names[start:start + COMPOSITE_SIZE]
            body = {"allOrNone": False, "compositeRequest": [
                {"method": "GET", "referenceId": name,
                 "url": f"{path}/query/?q={urllib.parse.quote(named[name], safe='')}"} for name in chunk]}
            response = self._call(f"composite of {len(chunk)} queries", lambda: self.sf._call_salesforce(
                "POST", self.sf.base_url + "composite", json=body))
            org_now = org_now or _date_header(response)
            for answer in response.json().get("compositeResponse") or []:
                name = answer.get("referenceId")
                result = answer.get("body")
                if int(answer.get("httpStatusCode") or 0) >= 300 or not isinstance(result, dict):
                    raise SalesforceQueryFailed(name, named.get(name, ""), result)
                sizes[name] = int(result.get("totalSize") or 0)
                rows[name] = self._rest_of(result)
        return rows, sizes, org_now or datetime.now(timezone.utc)

    def _rest_of(self, result: dict[str, Any]) -> list[dict[str, Any]]:
        """The records of a query answer and of every page after it."""
        records: list[dict[str, Any]] = []
        while True:
            for record in result.get("records", []):
                record.pop("attributes", None)
                records.append(record)
            if result.get("done", True) or not result.get("nextRecordsUrl"):
                return records
            next_url = result["nextRecordsUrl"]
            result = self._call("query more", lambda: self.sf.query_more(next_url, identifier_is_url=True))

    def bulk_query(self, object_name: str, soql: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """A large read through Bulk API 2.0 query (a few calls for any size, instead of one call
        per 2,000 rows). CSV values come back as text, an empty cell as None; callers convert."""
        handler = getattr(self.sf.bulk2, object_name)
        rows: list[dict[str, Any]] = []
        for page in self._call(f"Bulk API 2.0 query of {object_name}",
                               lambda: list(handler.query(soql, max_records=BULK_PAGE_ROWS, wait=1))):
            for row in csv.DictReader(io.StringIO(page)):
                rows.append({name: (row.get(name) or None) for name in fields})
        return rows

    def update(self, object_name: str, records: Sequence[dict[str, Any]],
               bulk_above: int | None = None) -> list[tuple[str, bool, str]]:
        """Update records (each with ``Id``) with allOrNone false; (id, ok, error) per record.
        More than ``bulk_above`` records go through one Bulk API 2.0 ingest job (a handful of calls
        instead of one per 200)."""
        if bulk_above is not None and len(records) > bulk_above:
            return self._bulk_update(object_name, records)
        outcome: list[tuple[str, bool, str]] = []
        for chunk in _chunks(list(records), COLLECTION_SIZE):
            body = {"allOrNone": False,
                    "records": [{"attributes": {"type": object_name}, **record} for record in chunk]}
            answer = self._call(f"update of {len(chunk)} {object_name}",
                                lambda: self.sf.restful("composite/sobjects", method="PATCH", json=body))
            for record, result in zip(chunk, answer or []):
                errors = result.get("errors") or []
                text = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
                outcome.append((record["Id"], bool(result.get("success")), text))
        return outcome

    def _bulk_update(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[tuple[str, bool, str]]:
        """Bulk API 2.0 update: an absent value leaves a field as it is, None is sent as ``#N/A``
        (null). Every record gets an outcome: the failed and unprocessed results files name the rest."""
        rows = [{name: ("#N/A" if value is None else value) for name, value in record.items()} for record in records]
        handler = getattr(self.sf.bulk2, object_name)
        jobs = self._call(f"Bulk API 2.0 update of {len(rows)} {object_name}", lambda: handler.update(records=rows, wait=1))
        failed: dict[str, str] = {}
        for job in jobs:
            job_id = job["job_id"]
            for row in csv.DictReader(io.StringIO(self._call("bulk failed results",
                                                             lambda: handler.get_failed_records(job_id)) or "")):
                failed[row.get("sf__Id") or row.get("Id") or ""] = row.get("sf__Error") or "failed"
            for row in csv.DictReader(io.StringIO(self._call("bulk unprocessed results",
                                                             lambda: handler.get_unprocessed_records(job_id)) or "")):
                failed[row.get("Id") or ""] = "not processed by the Bulk API job"
        return [(r["Id"], r["Id"] not in failed, failed.get(r["Id"], "")) for r in records]
