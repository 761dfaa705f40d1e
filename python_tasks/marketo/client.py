"""ECBridge's Marketo REST client: the API methods ECBridge needs, built on MarketoTransport.

Writes are split into batches of at most 300 records under 1 MB and sent concurrently (up to the
pacer's calls in flight); every input record gets exactly one :class:`RecordResult`, in input
order. Reads are generators that follow ``nextPageToken``.
"""
from __future__ import annotations

import datetime as dt
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Hashable, Iterable, Iterator, Sequence

import requests

from .batching import MAX_BODY_BYTES, MAX_RECORDS_PER_CALL, Batch, plan_batches, waves
from .counters import CallCounters, CounterSnapshot
from .credentials import MarketoCredentials, credentials_from_project
from .errors import MarketoError, MarketoNotFoundError, MarketoQuotaExceeded, MarketoUsageError
from .extract_calls import ExtractCalls
from .pacing import ADVISED_CALLS_PER_WINDOW, ADVISED_MAX_IN_FLIGHT, REAL_WINDOW_SECONDS, PacingSettings
from .results import CLIENT_NO_RESULT, CLIENT_RECORD_TOO_LARGE, ActivityPage, ImportBatch, Reason, RecordResult
from .schema_calls import SchemaCalls
from .transport import DEFAULT_TIMEOUT, MAX_URL_BYTES, MarketoTransport, RetryPolicy

LEAD_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")
CUSTOM_OBJECT_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")
MAX_MERGE_LOSERS = 25
MAX_ACTIVITY_TYPE_IDS = 10
MAX_ACTIVITY_LEAD_IDS = 30
MAX_IMPORT_BYTES = 10 * 1000 * 1000
IMPORT_RETRY_CODES = frozenset({"1016"})  # too many imports queued: wait and try again


class MarketoClient(SchemaCalls, ExtractCalls):
    """A Marketo REST client for bulk pushing (schema calls: SchemaCalls; bulk lead extract: ExtractCalls).

    One pacer per instance is shared by every client and thread of the process; each client has
    its own token cache, HTTP session and counters.
    """

    def __init__(
        self,
        credentials: MarketoCredentials,
        *,
        calls_per_window: int = ADVISED_CALLS_PER_WINDOW,
        max_in_flight: int = ADVISED_MAX_IN_FLIGHT,
        window_seconds: float = REAL_WINDOW_SECONDS,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_url_bytes: int = MAX_URL_BYTES,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pacing = PacingSettings(calls_per_window, max_in_flight, window_seconds)
        self._counters = CallCounters()
        self.transport = MarketoTransport(
            credentials,
            pacing=self.pacing,
            retry=retry,
            timeout=timeout,
            session=session,
            counters=self._counters,
            sleep=sleep,
            max_url_bytes=max_url_bytes,
        )
        self.max_body_bytes = max_body_bytes
        self._sleep = sleep
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @classmethod
    def from_project(cls, project_config: Any = None, **options: Any) -> "MarketoClient":
        """Credentials from the CumulusCI ``marketo`` service, else MARKETO_* environment variables."""
        return cls(credentials_from_project(project_config), **options)

    @classmethod
    def from_env(cls, **options: Any) -> "MarketoClient":
        return cls(MarketoCredentials.from_env(), **options)

    def __repr__(self) -> str:
        return (
            f"MarketoClient(base_url={self.transport.base_url!r}, calls_per_window="
            f"{self.pacing.calls_per_window}, max_in_flight={self.pacing.max_in_flight})"
        )

    def __enter__(self) -> "MarketoClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self.transport.owns_session:  # a session the caller passed in stays theirs to close
            self.transport.session.close()

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    def counters(self) -> CounterSnapshot:
        """API calls by endpoint, retries by cause, records sent, token fetches (so far)."""
        return self._counters.snapshot()

    # ================================================================ leads

    def sync_leads(
        self,
        records: Sequence[dict[str, Any]],
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
    ) -> list[RecordResult]:
        """Create/update leads; one result per input record, aligned with ``records``.

        Raises a :class:`MarketoError` when a call fails for good; its ``completed_results`` hold
        the results of the records that were handled before that.
        """
        return _collect(self.iter_sync_leads(records, action, lookup_field, partition), len(records))

    def iter_sync_leads(
        self,
        records: Sequence[dict[str, Any]],
        action: str = "createOrUpdate",
        lookup_field: str = "email",
        partition: str | None = None,
    ) -> Iterator[list[RecordResult]]:
        """Like :meth:`sync_leads`, yielding each batch's results as soon as the batch is done
        (so a caller can write back progress). Batches may complete out of order."""
        if action not in LEAD_ACTIONS:
            raise MarketoUsageError(f"action must be one of {', '.join(LEAD_ACTIONS)} (got {action!r})")
        if lookup_field == "id" and action != "updateOnly":
            raise MarketoUsageError("lookupField 'id' is only allowed with action 'updateOnly'")
        envelope: dict[str, Any] = {"action": action, "lookupField": lookup_field, "asyncProcessing": False}
        if partition:
            envelope["partitionName"] = partition
        key: Callable[[int], Hashable | None] | None = None
        if action != "createDuplicate":
            def key(index: int) -> Hashable | None:
                value = records[index].get(lookup_field)
                if value is None or value == "":
                    return None
                return value.strip().lower() if isinstance(value, str) else value

        return self._write(
            "/rest/v1/leads.json", "POST /rest/v1/leads.json", records, envelope, key,
            idempotent=action != "createDuplicate",
        )

    def get_leads_by_filter(
        self,
        filter_type: str,
        values: Iterable[Any],
        fields: Sequence[str] | None = None,
        batch_size: int = MAX_RECORDS_PER_CALL,
    ) -> Iterator[dict[str, Any]]:
        """Leads whose ``filter_type`` is one of ``values`` (any number: split by 300, paged)."""
        yield from self._filtered_read(
            "/rest/v1/leads.json", "GET /rest/v1/leads.json", filter_type, values, fields, batch_size
        )

    def describe_leads(self) -> list[dict[str, Any]]:
        """``leads/describe.json``: one entry per field with ``rest.name``, ``dataType``, ..."""
        return list(self.transport.call("GET", "/rest/v1/leads/describe.json").get("result") or [])

    def describe2(self) -> dict[str, Any]:
        """``leads/describe2.json``: ``{"name", "searchableFields", "fields": [...]}``."""
        result = self.transport.call("GET", "/rest/v1/leads/describe2.json").get("result") or [{}]
        return dict(result[0])

    def merge_leads(self, winner_id: int, loser_ids: Sequence[int], merge_in_crm: bool = False) -> str:
        """Merge up to 25 losers into the winner (history moves to the winner). Returns the requestId.

        Refuses more than 25 losers (Marketo answers 1080); use :meth:`merge_leads_chunked`.
        """
        losers = [int(x) for x in loser_ids]
        winner = int(winner_id)
        if not losers:
            raise MarketoUsageError("merge_leads needs at least one loser id")
        if len(losers) > MAX_MERGE_LOSERS:
            raise MarketoUsageError(
                f"Marketo merges at most {MAX_MERGE_LOSERS} losers per call (got {len(losers)}); "
                "use merge_leads_chunked"
            )
        if winner in losers:
            raise MarketoUsageError(f"lead {winner} cannot be merged into itself")
        if len(set(losers)) != len(losers):
            raise MarketoUsageError(f"duplicate loser ids in {losers}")
        params: dict[str, Any] = {"mergeInCRM": "true" if merge_in_crm else "false"}
        if len(losers) == 1:
            params["leadId"] = losers[0]
        else:
            params["leadIds"] = ",".join(str(x) for x in losers)
        payload = self.transport.call(
            "POST", f"/rest/v1/leads/{winner}/merge.json", endpoint="POST /rest/v1/leads/{id}/merge.json",
            params=params, idempotent=False,
        )
        return str(payload.get("requestId") or "")

    def merge_leads_chunked(self, winner_id: int, loser_ids: Sequence[int], merge_in_crm: bool = False) -> list[str]:
        """Merge any number of losers, 25 per call, one call after another."""
        losers = list(loser_ids)
        return [
            self.merge_leads(winner_id, losers[start : start + MAX_MERGE_LOSERS], merge_in_crm)
            for start in range(0, len(losers), MAX_MERGE_LOSERS)
        ]

    # ================================================================ custom objects

    def sync_custom_objects(
        self,
        api_name: str,
        records: Sequence[dict[str, Any]],
        action: str = "createOrUpdate",
        dedupe_by: str = "dedupeFields",
        dedupe_fields: Sequence[str] | None = None,
    ) -> list[RecordResult]:
        """Create/update custom object records; one result per input record, aligned.

        ``dedupe_fields`` (from :meth:`describe_custom_object`) keeps records with the same key out
        of concurrent calls, so one order is never created twice by two batches at once.
        """
        return _collect(
            self.iter_sync_custom_objects(api_name, records, action, dedupe_by, dedupe_fields), len(records)
        )

    def iter_sync_custom_objects(
        self,
        api_name: str,
        records: Sequence[dict[str, Any]],
        action: str = "createOrUpdate",
        dedupe_by: str = "dedupeFields",
        dedupe_fields: Sequence[str] | None = None,
    ) -> Iterator[list[RecordResult]]:
        if action not in CUSTOM_OBJECT_ACTIONS:
            raise MarketoUsageError(f"action must be one of {', '.join(CUSTOM_OBJECT_ACTIONS)} (got {action!r})")
        if dedupe_by not in ("dedupeFields", "idField"):
            raise MarketoUsageError(f"dedupe_by must be 'dedupeFields' or 'idField' (got {dedupe_by!r})")
        _check_name(api_name)
        key_fields = ["marketoGUID"] if dedupe_by == "idField" else list(dedupe_fields or [])
        key = _key_on(records, key_fields) if key_fields else None
        return self._write(
            f"/rest/v1/customobjects/{api_name}.json", "POST /rest/v1/customobjects/{apiName}.json",
            records, {"action": action, "dedupeBy": dedupe_by}, key, idempotent=True,
        )

    def get_custom_objects(
        self,
        api_name: str,
        filter_type: str,
        values: Iterable[Any],
        fields: Sequence[str] | None = None,
        batch_size: int = MAX_RECORDS_PER_CALL,
    ) -> Iterator[dict[str, Any]]:
        _check_name(api_name)
        yield from self._filtered_read(
            f"/rest/v1/customobjects/{api_name}.json", "GET /rest/v1/customobjects/{apiName}.json",
            filter_type, values, fields, batch_size,
        )

    def describe_custom_object(self, api_name: str) -> dict[str, Any]:
        """``idField``, ``dedupeFields``, ``searchableFields``, ``relationships``, ``fields``."""
        _check_name(api_name)
        payload = self.transport.call(
            "GET", f"/rest/v1/customobjects/{api_name}/describe.json",
            endpoint="GET /rest/v1/customobjects/{apiName}/describe.json",
        )
        result = payload.get("result") or []
        if not result:
            raise MarketoError(f"custom object {api_name!r} has no describe", endpoint="customobjects describe")
        return dict(result[0])

    def list_custom_objects(self) -> list[dict[str, Any]]:
        return list(self.transport.call("GET", "/rest/v1/customobjects.json").get("result") or [])

    def delete_custom_objects(
        self, api_name: str, keys: Sequence[dict[str, Any]], delete_by: str = "dedupeFields"
    ) -> list[RecordResult]:
        """Delete by dedupe fields (or ``marketoGUID`` with ``delete_by='idField'``); one result per key."""
        if delete_by not in ("dedupeFields", "idField"):
            raise MarketoUsageError(f"delete_by must be 'dedupeFields' or 'idField' (got {delete_by!r})")
        _check_name(api_name)
        return _collect(
            self._write(
                f"/rest/v1/customobjects/{api_name}/delete.json", "POST /rest/v1/customobjects/{apiName}/delete.json",
                keys, {"deleteBy": delete_by}, None, idempotent=True,
            ),
            len(keys),
        )

    # ================================================================ activities

    def get_activity_types(self) -> list[dict[str, Any]]:
        return list(self.transport.call("GET", "/rest/v1/activities/types.json").get("result") or [])

    def get_paging_token(self, since: dt.datetime | dt.date | str) -> str:
        """A paging token for activities since ``since`` (naive datetimes are taken as UTC)."""
        if isinstance(since, dt.datetime):
            value = (since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)).isoformat()
        elif isinstance(since, dt.date):
            value = since.isoformat()
        else:
            value = str(since)
        payload = self.transport.call("GET", "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": value})
        token = payload.get("nextPageToken")
        if not token:
            raise MarketoError("no nextPageToken in the paging token answer", endpoint="activities/pagingtoken")
        return str(token)

    def get_activities(
        self,
        activity_type_ids: Sequence[int],
        paging_token: str,
        lead_ids: Sequence[int] | None = None,
        batch_size: int = MAX_RECORDS_PER_CALL,
    ) -> Iterator[dict[str, Any]]:
        """Activities of up to 10 types (and optionally of given leads, any number: 30 per call)."""
        types = [int(x) for x in activity_type_ids]
        if not 1 <= len(types) <= MAX_ACTIVITY_TYPE_IDS:
            raise MarketoUsageError(f"give 1 to {MAX_ACTIVITY_TYPE_IDS} activity type ids (got {len(types)})")
        lead_chunks: list[list[int] | None] = [None]
        if lead_ids is not None:
            ids = [int(x) for x in lead_ids]
            if not ids:
                return
            lead_chunks = [ids[i : i + MAX_ACTIVITY_LEAD_IDS] for i in range(0, len(ids), MAX_ACTIVITY_LEAD_IDS)]
        for chunk in lead_chunks:
            params: dict[str, Any] = {
                "activityTypeIds": ",".join(str(x) for x in types),
                "batchSize": _batch_size(batch_size),
            }
            if chunk:
                params["leadIds"] = ",".join(str(x) for x in chunk)
            yield from self._paged("/rest/v1/activities.json", "GET /rest/v1/activities.json", params, paging_token)

    def get_activities_page(
        self, activity_type_ids: Sequence[int], paging_token: str, batch_size: int = MAX_RECORDS_PER_CALL,
    ) -> ActivityPage:
        """One page of activities of up to 10 types after ``paging_token``: one call. Keep the page's
        ``next_token`` to read on from there later (a watermark); read on while ``more``."""
        types = [int(x) for x in activity_type_ids]
        if not 1 <= len(types) <= MAX_ACTIVITY_TYPE_IDS:
            raise MarketoUsageError(f"give 1 to {MAX_ACTIVITY_TYPE_IDS} activity type ids (got {len(types)})")
        if not paging_token:
            raise MarketoUsageError("a paging token is needed (get_paging_token)")
        params = {"activityTypeIds": ",".join(str(x) for x in types), "batchSize": _batch_size(batch_size),
                  "nextPageToken": paging_token}
        payload = self.transport.read("/rest/v1/activities.json", params, endpoint="GET /rest/v1/activities.json")
        items = tuple(payload.get("result") or [])
        next_token = str(payload.get("nextPageToken") or paging_token)
        # a server answering "more" without moving on would otherwise be read forever
        more = bool(payload.get("moreResult")) and (bool(items) or next_token != paging_token)
        return ActivityPage(items, next_token, more)

    # ================================================================ bulk import

    def import_leads_csv(
        self,
        csv_bytes: bytes,
        lookup_field: str = "email",
        partition: str | None = None,
        list_id: int | None = None,
    ) -> ImportBatch:
        """Start a bulk lead import (insert or update) of a CSV file under 10 MB; returns the job."""
        _check_import_file(csv_bytes)
        params: dict[str, Any] = {"format": "csv", "lookupField": lookup_field}
        if partition:
            params["partitionName"] = partition
        if list_id is not None:
            params["listId"] = int(list_id)
        payload = self.transport.call(
            "POST", "/bulk/v1/leads.json", params=params,
            files={"file": ("leads.csv", csv_bytes, "text/csv")},
            extra_retry_codes=IMPORT_RETRY_CODES, records=max(csv_bytes.count(b"\n") - 1, 0),
        )
        return ImportBatch.from_marketo(_first(payload, "bulk import"))

    def get_import_status(self, batch_id: int) -> ImportBatch:
        payload = self.transport.call(
            "GET", f"/bulk/v1/leads/batch/{int(batch_id)}.json", endpoint="GET /bulk/v1/leads/batch/{id}.json"
        )
        return ImportBatch.from_marketo(_first(payload, "bulk import status"))

    def wait_for_import(
        self, batch_id: int, poll_seconds: float = 5.0, timeout_seconds: float = 3600.0
    ) -> ImportBatch:
        """Poll until the job is Complete or Failed. Raises TimeoutError past ``timeout_seconds``."""
        return self._wait(lambda: self.get_import_status(batch_id), f"bulk import {batch_id}",
                          poll_seconds, timeout_seconds)

    def _wait(
        self, fetch: Callable[[], ImportBatch], what: str, poll_seconds: float, timeout_seconds: float
    ) -> ImportBatch:
        deadline = time.monotonic() + timeout_seconds
        while True:
            status = fetch()
            if status.finished:
                return status
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{what} still {status.status} after {timeout_seconds} s")
            self._sleep(poll_seconds)

    def get_import_failures(self, batch_id: int) -> str:
        """The failed rows as CSV (Marketo's file, with a reason column)."""
        return self.transport.call(
            "GET", f"/bulk/v1/leads/batch/{int(batch_id)}/failures.json",
            endpoint="GET /bulk/v1/leads/batch/{id}/failures.json", raw=True,
        )

    def get_import_warnings(self, batch_id: int) -> str:
        return self.transport.call(
            "GET", f"/bulk/v1/leads/batch/{int(batch_id)}/warnings.json",
            endpoint="GET /bulk/v1/leads/batch/{id}/warnings.json", raw=True,
        )

    # ================================================================ bulk custom object import

    def import_custom_objects_csv(self, api_name: str, csv_bytes: bytes) -> ImportBatch:
        """Start a bulk custom object import (insert or update on the object's dedupe fields) of a
        CSV file under 10 MB whose header names the object's fields; returns the job."""
        _check_name(api_name)
        _check_import_file(csv_bytes)
        payload = self.transport.call(
            "POST", f"/bulk/v1/customobjects/{api_name}/import.json",
            endpoint="POST /bulk/v1/customobjects/{apiName}/import.json", params={"format": "csv"},
            files={"file": (f"{api_name}.csv", csv_bytes, "text/csv")},
            extra_retry_codes=IMPORT_RETRY_CODES, records=max(csv_bytes.count(b"\n") - 1, 0),
        )
        return ImportBatch.from_marketo(_first(payload, "bulk custom object import"))

    def get_custom_object_import_status(self, api_name: str, batch_id: int) -> ImportBatch:
        _check_name(api_name)
        payload = self.transport.call(
            "GET", f"/bulk/v1/customobjects/{api_name}/import/{int(batch_id)}/status.json",
            endpoint="GET /bulk/v1/customobjects/{apiName}/import/{id}/status.json",
        )
        return ImportBatch.from_marketo(_first(payload, "bulk custom object import status"))

    def wait_for_custom_object_import(
        self, api_name: str, batch_id: int, poll_seconds: float = 5.0, timeout_seconds: float = 3600.0
    ) -> ImportBatch:
        """Poll until the job is Complete or Failed. Raises TimeoutError past ``timeout_seconds``."""
        return self._wait(lambda: self.get_custom_object_import_status(api_name, batch_id),
                          f"bulk {api_name} import {batch_id}", poll_seconds, timeout_seconds)

    def get_custom_object_import_failures(self, api_name: str, batch_id: int) -> str:
        """The failed rows as CSV with an ``Import Failure Reason`` column; "" when there is none
        (Marketo answers HTTP 404 when a job has no failures file)."""
        return self._co_import_file(api_name, batch_id, "failures")

    def get_custom_object_import_warnings(self, api_name: str, batch_id: int) -> str:
        return self._co_import_file(api_name, batch_id, "warnings")

    def _co_import_file(self, api_name: str, batch_id: int, kind: str) -> str:
        _check_name(api_name)
        try:
            return self.transport.call(
                "GET", f"/bulk/v1/customobjects/{api_name}/import/{int(batch_id)}/{kind}.json",
                endpoint=f"GET /bulk/v1/customobjects/{{apiName}}/import/{{id}}/{kind}.json", raw=True,
            )
        except MarketoNotFoundError as error:
            if error.http_status == 404:  # no such file; a 1013 (no such job) is raised
                return ""
            raise

    # ================================================================ engines

    def _pool(self) -> ThreadPoolExecutor:
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.pacing.max_in_flight, thread_name_prefix="marketo"
                )
            return self._executor

    def _write(
        self,
        path: str,
        label: str,
        records: Sequence[dict[str, Any]],
        envelope: dict[str, Any],
        key: Callable[[int], Hashable | None] | None,
        idempotent: bool,
    ) -> Iterator[list[RecordResult]]:
        groups = waves(len(records), key) if key else [list(range(len(records)))]
        done: list[RecordResult] = []
        for group in groups:
            batches, oversize = plan_batches(records, envelope, group, max_bytes=self.max_body_bytes)
            if oversize:
                skipped = [
                    RecordResult.client_skip(
                        item.index, CLIENT_RECORD_TOO_LARGE,
                        f"record {item.index} alone makes a {item.size:,}-byte body; Marketo takes at most "
                        f"{self.max_body_bytes:,} bytes, so it was not sent",
                    )
                    for item in oversize
                ]
                done += skipped
                yield skipped
            for results in self._run_batches(path, label, batches, idempotent, done):
                done += results
                yield results

    def _run_batches(
        self, path: str, label: str, batches: list[Batch], idempotent: bool, done: list[RecordResult]
    ) -> Iterator[list[RecordResult]]:
        if not batches:
            return
        stop = threading.Event()

        def send(batch: Batch) -> list[RecordResult] | None:
            if stop.is_set():
                return None
            try:
                payload = self.transport.call(
                    "POST", path, endpoint=label, json_body=batch.body, idempotent=idempotent,
                    records=len(batch.indexes),
                )
            except BaseException:
                stop.set()  # no further batch starts once one has failed for good
                raise
            return _align(batch, payload.get("result") or [])

        if len(batches) == 1 or self.pacing.max_in_flight == 1:
            for batch in batches:
                try:
                    yield send(batch) or []
                except MarketoError as error:
                    error.completed_results = sorted(done, key=lambda r: r.index)
                    raise
            return
        pool = self._pool()
        pending: set[Future[list[RecordResult] | None]] = set()
        queue = list(batches)
        first_error: MarketoError | None = None
        unreported: list[RecordResult] = []  # results that arrived after a failure, not yielded
        # Keep at most max_in_flight batches submitted, so a stop leaves the rest unsent.
        while queue or pending:
            while queue and len(pending) < self.pacing.max_in_flight and not stop.is_set():
                pending.add(pool.submit(send, queue.pop(0)))
            if not pending:
                break
            completed, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in completed:
                error = future.exception()
                if error is None:
                    results = future.result()
                    if results is not None:
                        if first_error is None:
                            yield results  # the caller's loop adds them to ``done``
                        else:
                            unreported += results
                    continue
                stop.set()
                if not isinstance(error, MarketoError):
                    raise error
                if first_error is None or isinstance(error, MarketoQuotaExceeded):
                    first_error = error
        if first_error is not None:
            first_error.completed_results = sorted(done + unreported, key=lambda r: r.index)
            raise first_error

    def _filtered_read(
        self,
        path: str,
        label: str,
        filter_type: str,
        values: Iterable[Any],
        fields: Sequence[str] | None,
        batch_size: int,
    ) -> Iterator[dict[str, Any]]:
        texts = []
        for value in values:
            text = str(value)
            if "," in text:
                raise MarketoUsageError(f"filter value {text!r} contains a comma, which Marketo cannot filter on")
            texts.append(text)
        for start in range(0, len(texts), MAX_RECORDS_PER_CALL):
            params: dict[str, Any] = {
                "filterType": filter_type,
                "filterValues": ",".join(texts[start : start + MAX_RECORDS_PER_CALL]),
                "batchSize": _batch_size(batch_size),
            }
            if fields:
                params["fields"] = ",".join(fields)
            yield from self._paged(path, label, params, None)

    def _paged(
        self, path: str, label: str, params: dict[str, Any], token: str | None
    ) -> Iterator[dict[str, Any]]:
        while True:
            page_params = dict(params)
            if token:
                page_params["nextPageToken"] = token
            payload = self.transport.read(path, page_params, endpoint=label)
            result = payload.get("result") or []
            yield from result
            next_token = payload.get("nextPageToken")
            more = payload.get("moreResult")
            if more is False or not next_token:
                return
            if more is None and not result:
                return
            if next_token == token and not result:
                return  # a server repeating itself would otherwise loop forever
            token = next_token


def _align(batch: Batch, items: list[dict[str, Any]]) -> list[RecordResult]:
    """Map a batch's results onto input positions: by ``seq`` when present, else by order."""
    by_position: dict[int, dict[str, Any]] = {}
    for position, item in enumerate(items):
        seq = item.get("seq")
        slot = int(seq) if isinstance(seq, int) or (isinstance(seq, str) and seq.isdigit()) else position
        by_position[slot] = item
    results = []
    for position, index in enumerate(batch.indexes):
        item = by_position.get(position)
        if item is None:
            results.append(
                RecordResult(
                    index=index, status="unknown",
                    reasons=(Reason(CLIENT_NO_RESULT, "Marketo returned no result for this record"),),
                )
            )
        else:
            results.append(RecordResult.from_marketo(index, item))
    return results


def _collect(batches: Iterator[list[RecordResult]], count: int) -> list[RecordResult]:
    collected: list[RecordResult | None] = [None] * count
    for results in batches:
        for result in results:
            collected[result.index] = result
    missing = [i for i, r in enumerate(collected) if r is None]
    if missing:  # cannot happen unless a batch was lost: say so rather than return a short list
        raise MarketoError(f"no result for input records {missing[:10]}", endpoint="client")
    return [r for r in collected if r is not None]


def _key_on(records: Sequence[dict[str, Any]], fields: Sequence[str]) -> Callable[[int], Hashable | None]:
    def key(index: int) -> Hashable | None:
        values = tuple(records[index].get(name) for name in fields)
        return None if all(v is None for v in values) else values

    return key


def _batch_size(size: int) -> int:
    if not 1 <= size <= MAX_RECORDS_PER_CALL:
        raise MarketoUsageError(f"batch_size must be 1..{MAX_RECORDS_PER_CALL} (got {size})")
    return size


def _check_import_file(csv_bytes: bytes) -> None:
    if len(csv_bytes) > MAX_IMPORT_BYTES:
        raise MarketoUsageError(
            f"bulk import files must be under 10 MB (got {len(csv_bytes):,} bytes); split the file"
        )
    if not csv_bytes.strip():
        raise MarketoUsageError("the CSV file is empty")


def _check_name(api_name: str) -> None:
    if not api_name or not all(c.isalnum() or c == "_" for c in api_name):
        raise MarketoUsageError(f"not a custom object API name: {api_name!r}")


def _first(payload: dict[str, Any], what: str) -> dict[str, Any]:
    result = payload.get("result") or []
    if not result or not isinstance(result[0], dict):
        raise MarketoError(f"{what} answer has no result", endpoint=what)
    return result[0]
