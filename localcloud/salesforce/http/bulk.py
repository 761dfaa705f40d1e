"""Bulk API 1.0 (``/services/async/vXX.X/job...``) on the local org; Bulk API 2.0 is ``bulk2.py``, on this engine.

CumulusCI switches a data step (``load_dataset``, ``snowfakery``, ``extract_dataset``) to Bulk
API 1.0 at 2,000 records and more; this module answers it in Salesforce's own shapes (namespace
``http://www.force.com/2009/06/asyncapi/dataload``, ``X-SFDC-Session`` authentication):

* ``POST job`` creates a job (``jobInfo``: ``operation`` insert/update/upsert/delete/query/queryAll,
  ``object``, ``externalIdFieldName``, ``contentType`` CSV or JSON, ``concurrencyMode``);
  ``GET job/{id}`` reads it, ``POST job/{id}`` with ``<state>Closed</state>`` / ``Aborted``
  closes or aborts it.
* ``POST job/{id}/batch`` adds a batch: a CSV file (JSON records for a JSON job) for DML, the
  SOQL text for a query job. ``GET .../batch`` lists ``batchInfo``s, ``GET .../batch/{id}`` reads
  one (``state``, ``stateMessage``, ``numberRecordsProcessed``, ``numberRecordsFailed``).
* Job and batch information answers in XML, or in JSON when the request's ``Content-Type`` is
  JSON (as ``salesforce_bulk`` expects: it sends a JSON job's ``jobInfo`` as XML and reads XML back).
* ``GET .../batch/{id}/result``: for DML the CSV ``"Id","Success","Created","Error"``, one row per
  input row in order; for a query the ``result-list`` of result ids, whose rows
  ``GET .../result/{resultId}`` returns (CSV; JSON for a JSON job or with ``?format=json``).

**The local org completes a batch at once.** Salesforce documents batches as asynchronous
(``Queued`` -> ``InProgress`` -> ``Completed``/``Failed``); here the upload runs the batch before
it answers, so the answer (and every later read) shows ``Completed`` or ``Failed``. Clients that
poll, as CumulusCI and ``salesforce_bulk`` do, see the same final states.

A DML batch runs through the data layer exactly like the REST collections: in chunks of 200 rows
(Salesforce's Bulk API chunk size for triggers), each chunk its own transaction with
``allOrNone`` false, so the org's triggers fire per chunk, and a failing row (validation, a
trigger's ``addError``) fails alone with its error in the ``Error`` column while the rows beside it
are saved. CSV rules are in ``bulk_csv``: an empty value leaves a field unset, ``#N/A`` sets it to
null, ``Parent__r.External_Id__c`` columns name a parent by external id.

Limits (settings): ``ECBRIDGE_ORG_BULK_MAX_RECORDS`` (10,000 rows per batch: more fail the batch
with ``InvalidBatch : Exceeded number of records``), ``ECBRIDGE_ORG_BULK_MAX_CHARACTERS``
(10,000,000 characters per batch body: more are refused with HTTP 400 ``InvalidBatch``
``Exceeded max size limit of 10000000``; Salesforce documents the limit, the local org chose this
answer's shape), ``ECBRIDGE_ORG_BULK_JOBS_KEPT`` (500: jobs and their results live in memory
while the org runs, the oldest are forgotten beyond this; Salesforce keeps them seven days).
Every Bulk API call counts against the org's daily API requests (``/limits``
``DailyApiRequests``, ``ECBRIDGE_ORG_DAILY_API_REQUESTS``), as REST calls do; past the limit a call
answers 403 ``ExceededQuota`` ``TotalRequests Limit exceeded.`` (the code and status are ours:
Salesforce does not document this answer for Bulk API 1.0).
Not implemented (answered with ``FeatureNotEnabled`` naming the feature): XML and ZIP content
types, ``hardDelete``; the ``Sforce-Enable-PKChunking`` header is ignored (one result file per
query batch).
"""
from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import os
import random
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar
from xml.sax.saxutils import escape

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.data import (
    MalformedQueryError, RecordError, SalesforceError, SaveResult, is_valid_id, make_id, parse_soql, to18,
)
from localcloud.salesforce.data.soql.ast import FieldRef
from localcloud.salesforce.http import bulk_csv
from localcloud.salesforce.http.bulk_csv import BatchFailure
from localcloud.salesforce.http.context import OrgContext

log = logging.getLogger(__name__)

ASYNC_NS = "http://www.force.com/2009/06/asyncapi/dataload"
V1 = r"/services/async/(?P<version>\d+\.\d)"
CHUNK = 200
MAX_RECORDS = int(os.environ.get("ECBRIDGE_ORG_BULK_MAX_RECORDS", "10000"))
MAX_CHARACTERS = int(os.environ.get("ECBRIDGE_ORG_BULK_MAX_CHARACTERS", "10000000"))
JOBS_KEPT = int(os.environ.get("ECBRIDGE_ORG_BULK_JOBS_KEPT", "500"))
DML_OPERATIONS = ("insert", "update", "upsert", "delete")
QUERY_OPERATIONS = ("query", "queryAll")
J = TypeVar("J")


class BulkError(Exception):
    """A call-level Bulk API error: ``<error><exceptionCode/><exceptionMessage/></error>``."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def now_stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Batch:
    id: str
    job_id: str
    created: str
    state: str = "Queued"
    state_message: str | None = None
    modified: str = ""
    processed: int = 0
    failed: int = 0
    processing_ms: int = 0
    results: list[SaveResult] = field(default_factory=list)
    query_columns: list[list[str]] = field(default_factory=list)
    query_records: list[dict[str, Any]] = field(default_factory=list)
    result_id: str | None = None
    request: bytes = b""

    def info(self) -> dict[str, Any]:
        info: dict[str, Any] = {"id": self.id, "jobId": self.job_id, "state": self.state}
        if self.state_message:
            info["stateMessage"] = self.state_message
        info.update({
            "createdDate": self.created, "systemModstamp": self.modified or self.created,
            "numberRecordsProcessed": self.processed, "numberRecordsFailed": self.failed,
            "totalProcessingTime": self.processing_ms, "apiActiveProcessingTime": self.processing_ms,
            "apexProcessingTime": 0,
        })
        return info


@dataclass
class Job:
    id: str
    operation: str
    sobject: str
    content_type: str
    concurrency_mode: str
    api_version: str
    created_by: str
    created: str
    external_id_field: str | None = None
    state: str = "Open"
    modified: str = ""
    batches: "OrderedDict[str, Batch]" = field(default_factory=OrderedDict)

    def info(self) -> dict[str, Any]:
        batches = list(self.batches.values())

        def count(state: str) -> int:
            return sum(1 for b in batches if b.state == state)

        info: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.sobject, "createdById": self.created_by,
            "createdDate": self.created, "systemModstamp": self.modified or self.created, "state": self.state,
        }
        if self.external_id_field:
            info["externalIdFieldName"] = self.external_id_field
        info.update({
            "concurrencyMode": self.concurrency_mode, "contentType": self.content_type,
            "numberBatchesQueued": count("Queued"), "numberBatchesInProgress": count("InProgress"),
            "numberBatchesCompleted": count("Completed"), "numberBatchesFailed": count("Failed"),
            "numberBatchesTotal": len(batches), "numberRecordsProcessed": sum(b.processed for b in batches),
            "numberRetries": 0, "apiVersion": self.api_version,
            "numberRecordsFailed": sum(b.failed for b in batches),
            "totalProcessingTime": sum(b.processing_ms for b in batches),
            "apiActiveProcessingTime": sum(b.processing_ms for b in batches), "apexProcessingTime": 0,
        })
        return info


# -- wire formats -----------------------------------------------------------------------------


def _xml(root: str, info: dict[str, Any]) -> bytes:
    body = "".join(f"<{k}>{escape(str(v).lower() if isinstance(v, bool) else str(v))}</{k}>" for k, v in info.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{ASYNC_NS}">{body}</{root}>'.encode()


def _answer(root: str, info: dict[str, Any], as_json: bool, status: int = 200) -> Response:
    if as_json:
        return Response(status, json.dumps(info).encode(), {"Content-Type": "application/json"})
    return Response(status, _xml(root, info), {"Content-Type": "application/xml"})


def _error(code: str, message: str, status: int = 400, as_json: bool = False) -> Response:
    if as_json:
        return Response(status, json.dumps({"exceptionCode": code, "exceptionMessage": message}).encode(),
                        {"Content-Type": "application/json"})
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{ASYNC_NS}">'
        f"<exceptionCode>{code}</exceptionCode><exceptionMessage>{escape(message)}</exceptionMessage></error>"
    )
    return Response(status, body.encode(), {"Content-Type": "application/xml"})


def _wants_json(request: Request) -> bool:
    return "json" in (request.headers.get("Content-Type") or "").lower()


def _parse_job_body(request: Request) -> dict[str, str]:
    """The fields of a ``jobInfo`` request (XML, or JSON for JSON jobs)."""
    if _wants_json(request):
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise BulkError("InvalidJob", f"Unable to parse the JSON jobInfo: {error}") from error
        if not isinstance(payload, dict):
            raise BulkError("InvalidJob", "The jobInfo must be a JSON object")
        return {k: str(v) for k, v in payload.items() if v is not None}
    try:
        root = ET.fromstring(request.body)
    except ET.ParseError as error:
        raise BulkError("InvalidXML", f"Unable to parse the jobInfo XML: {error}") from error
    if root.tag not in (f"{{{ASYNC_NS}}}jobInfo", "jobInfo"):
        raise BulkError("InvalidXML", f"Expected a jobInfo element in namespace {ASYNC_NS}")
    return {child.tag.split("}", 1)[-1]: (child.text or "").strip() for child in root}


# -- the jobs ---------------------------------------------------------------------------------


class KeptJobs(Generic[J]):
    """Jobs by id, in memory, in the order they came; beyond ``limit`` the oldest are forgotten."""

    def __init__(self, limit: int):
        self.limit = limit
        self._jobs: "OrderedDict[str, J]" = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, job_id: str, job: J) -> J:
        with self._lock:
            self._jobs[job_id] = job
            while len(self._jobs) > self.limit:
                self._jobs.popitem(last=False)
        return job

    def get(self, job_id: str) -> J | None:
        """The job with this id (15 or 18 characters), or None for an unknown or malformed id."""
        return self._jobs.get(to18(job_id)) if is_valid_id(job_id) else None

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)

    def all(self) -> list[J]:
        return list(self._jobs.values())


class BulkJobs:
    """The org's Bulk API 1.0 jobs, in memory (see the module docstring), and how batches run."""

    def __init__(self, context: OrgContext, jobs_kept: int = JOBS_KEPT):
        self.context = context
        self._jobs: KeptJobs[Job] = KeptJobs(jobs_kept)
        self._lock = threading.Lock()
        start = random.randrange(1, 62 ** 6)  # ids of a restarted org do not repeat the last run's
        self._numbers = itertools.count(start)

    def _next_id(self, prefix: str) -> str:
        with self._lock:
            return make_id(prefix, next(self._numbers))

    # jobs

    def create(self, fields: dict[str, str], version: str, default_content_type: str) -> Job:
        job = self.new_job(fields, version, default_content_type)
        return self._jobs.keep(job.id, job)

    def new_job(self, fields: dict[str, str], version: str, default_content_type: str) -> Job:
        """A checked job (operation, object, external id, content type) that no Bulk API 1.0 call lists."""
        operation = fields.get("operation", "")
        if operation == "hardDelete":
            raise BulkError("FeatureNotEnabled", "The ECBridge local org does not implement hardDelete; use delete")
        if operation not in DML_OPERATIONS + QUERY_OPERATIONS:
            raise BulkError("InvalidJob", f"Invalid operation: {operation or '(none)'}")
        name = fields.get("object", "")
        sobject = self.context.data.schema.find(name) if name else None
        if sobject is None:
            raise BulkError("InvalidJob", f"Unable to find object: {name}")
        content_type = fields.get("contentType") or default_content_type
        if content_type not in ("CSV", "JSON"):
            raise BulkError("FeatureNotEnabled", f"The ECBridge local org implements the CSV and JSON content types, not {content_type}")
        external_id = None
        if operation == "upsert":
            given = fields.get("externalIdFieldName")
            if not given:
                raise BulkError("InvalidJob", f"External ID was blank for {sobject.name}. An External ID must be specified for upsert.")
            field_def = sobject.find_field(given)
            if field_def is None or not (field_def.external_id or field_def.name == "Id"):
                raise BulkError("InvalidJob", f"The field {given} on {sobject.name} is not an External ID or the Id")
            external_id = field_def.name
        concurrency = fields.get("concurrencyMode") or "Parallel"
        if concurrency not in ("Parallel", "Serial"):
            raise BulkError("InvalidJob", f"Invalid concurrencyMode: {concurrency}")
        return Job(
            id=self._next_id("750"), operation=operation, sobject=sobject.name, content_type=content_type,
            concurrency_mode=concurrency, api_version=version, created_by=self.context.user_id, created=now_stamp(),
            external_id_field=external_id,
        )

    def jobs(self) -> list[Job]:
        """The jobs kept, oldest first."""
        return self._jobs.all()

    def job(self, job_id: str) -> Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise BulkError("InvalidJob", f"Invalid job id: {job_id}")
        return job

    def batch(self, job: Job, batch_id: str) -> Batch:
        batch = job.batches.get(to18(batch_id)) if is_valid_id(batch_id) else None
        if batch is None:
            raise BulkError("InvalidBatch", f"Invalid batch id: {batch_id}")
        return batch

    def change_state(self, job: Job, wanted: str) -> Job:
        if wanted not in ("Closed", "Aborted"):
            raise BulkError("InvalidJobState", f"Invalid state: {wanted or '(none)'}; a job can be Closed or Aborted")
        with self._lock:
            if job.state != "Open" and job.state != wanted:
                raise BulkError("InvalidJobState", f"Job {job.id} is {job.state}; it cannot be {wanted}")
            job.state, job.modified = wanted, now_stamp()
        return job

    # batches

    def add_batch(self, job: Job, body: bytes) -> Batch:
        if job.state != "Open":
            raise BulkError("InvalidJobState", f"Job {job.id} is {job.state}: batches can be added to an Open job only")
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BulkError("InvalidBatch", f"The batch is not UTF-8: {error}") from error
        if len(text) > MAX_CHARACTERS:
            raise BulkError("InvalidBatch", f"Exceeded max size limit of {MAX_CHARACTERS}")
        batch = Batch(id=self._next_id("751"), job_id=job.id, created=now_stamp())
        with self._lock:
            job.batches[batch.id] = batch
        started = dt.datetime.now()
        batch.state = "InProgress"
        try:
            if job.operation in QUERY_OPERATIONS:
                batch.request = body
                self._run_query(job, batch, text)
            else:
                self._run_dml(job, batch, text)
            batch.state = "Completed"
        except BatchFailure as failure:
            batch.state, batch.state_message = "Failed", str(failure)
        except Exception as error:  # noqa: BLE001 - a broken batch must say why, never hang "InProgress"
            log.exception("Bulk API batch %s of job %s failed", batch.id, job.id)
            batch.state, batch.state_message = "Failed", f"Unknown : {type(error).__name__}: {error}"
        batch.processing_ms = int((dt.datetime.now() - started).total_seconds() * 1000)
        batch.modified = now_stamp()
        return batch

    def _records(self, job: Job, text: str) -> list[dict[str, Any]]:
        if job.content_type == "JSON":
            try:
                records = json.loads(text)
            except ValueError as error:
                raise BatchFailure(f"InvalidBatch : Failed to parse JSON. {error}") from error
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise BatchFailure("InvalidBatch : A JSON batch is an array of records")
            self._check_count(len(records))
            return records
        self._check_count(bulk_csv.count_records(text))
        return bulk_csv.read_dml_csv(text, self.column_resolver(job)).rows

    @staticmethod
    def _check_count(count: int) -> None:
        if count > MAX_RECORDS:
            raise BatchFailure(
                f"InvalidBatch : Exceeded number of records: {count}. Number of records should be less than or equal to {MAX_RECORDS}"
            )

    def column_resolver(self, job: Job) -> Callable[[str], tuple[str, str | None]]:
        sobject = self.context.data.schema.get(job.sobject)

        def resolve(name: str) -> tuple[str, str | None]:
            if "." in name:
                relationship, key = name.split(".", 1)
                rel = sobject.relationship(relationship)
                if rel is not None and "." not in key and ":" not in relationship:
                    return rel.relationship_name or relationship, key
            else:
                field_def = sobject.find_field(name)
                if field_def is not None:
                    return field_def.name, None
            raise BatchFailure(f"InvalidBatch : Field name not found : {name}")

        return resolve

    def _run_dml(self, job: Job, batch: Batch, text: str) -> None:
        records = self._records(job, text)
        results: list[SaveResult] = []
        for start in range(0, len(records), CHUNK):
            results.extend(self.run_chunk(job, records[start:start + CHUNK]))
        batch.results = results
        batch.processed = len(results)
        batch.failed = sum(1 for r in results if not r.success)

    def run_chunk(self, job: Job, chunk: list[dict[str, Any]]) -> list[SaveResult]:
        """One chunk, its own transaction (as Salesforce runs triggers and limits per chunk)."""
        out: list[SaveResult | None] = [None] * len(chunk)
        todo: list[int] = []
        for index, record in enumerate(chunk):
            if job.operation in ("update", "delete"):
                record_id = next((v for k, v in record.items() if k.lower() == "id"), None)
                if not record_id:
                    out[index] = SaveResult(None, False, [RecordError("MISSING_ARGUMENT", "Id not specified in an update call" if job.operation == "update" else "Id not specified in a delete call", ("Id",))])
                    continue
                if not isinstance(record_id, str) or not is_valid_id(record_id):
                    out[index] = SaveResult(None, False, [RecordError("MALFORMED_ID", f"malformed id {record_id}", ("Id",))])
                    continue
            todo.append(index)
        rows = [chunk[i] for i in todo]
        if rows:
            try:
                with self.context.data.transaction(user_id=self.context.user_id) as tx:
                    saved = self._statement(job, tx, rows)
            except SalesforceError as error:  # a chunk-level failure fails the chunk's rows, not the batch
                saved = [SaveResult(None, False, [RecordError(error.error_code, error.message, tuple(error.fields))])
                         for _ in rows]
            for index, result in zip(todo, saved):
                if job.operation == "insert" and result.success:
                    result.created = True
                out[index] = result
        return [r for r in out if r is not None]

    @staticmethod
    def _statement(job: Job, tx: Any, rows: list[dict[str, Any]]) -> list[SaveResult]:
        if job.operation == "insert":
            return tx.insert(job.sobject, rows, all_or_none=False)
        if job.operation == "update":
            return tx.update(job.sobject, [{**r, "Id": to18(_id_of(r))} for r in rows], all_or_none=False)
        if job.operation == "upsert":
            return tx.upsert(job.sobject, rows, job.external_id_field, all_or_none=False)
        return tx.delete([to18(_id_of(r)) for r in rows], all_or_none=False)

    def _run_query(self, job: Job, batch: Batch, soql: str) -> None:
        batch.query_columns, batch.query_records = self.query_rows(job, soql)
        batch.processed = len(batch.query_records)
        batch.result_id = self._next_id("752")

    @staticmethod
    def _parsed_query(soql: str) -> Any:
        try:
            parsed = parse_soql(soql.strip())
        except MalformedQueryError as error:
            raise BatchFailure(f"InvalidBatch : Failed to process query: MALFORMED_QUERY: {error.message}") from error
        if any(not isinstance(item, FieldRef) for item in parsed.select) or parsed.count_only:
            raise BatchFailure(
                "InvalidBatch : Failed to process query: FUNCTIONALITY_NOT_ENABLED: Aggregate queries and "
                "child relationship subqueries are not supported by Bulk API query"
            )
        return parsed

    def query_object(self, soql: str) -> str:
        """The object a Bulk query reads (BulkError INVALIDJOB when the query cannot be run by Bulk)."""
        try:
            return str(self._parsed_query(soql).sobject)
        except BatchFailure as failure:
            raise BulkError("INVALIDJOB", str(failure).removeprefix("InvalidBatch : ")) from failure

    def query_rows(self, job: Job, soql: str) -> tuple[list[list[str]], list[dict[str, Any]]]:
        """The columns (field paths) and every record of a Bulk query; BatchFailure when it cannot run."""
        parsed = self._parsed_query(soql)
        if parsed.sobject.lower() != job.sobject.lower():
            raise BatchFailure(f"InvalidBatch : The query's object {parsed.sobject} is not the job's object {job.sobject}")
        records: list[dict[str, Any]] = []
        try:
            with self.context.data.transaction(user_id=self.context.user_id) as tx:
                if any(_is_compound(tx.schema, parsed.sobject, list(item.path)) for item in parsed.select
                       if hasattr(item, "path")):
                    raise SalesforceError("FUNCTIONALITY_NOT_ENABLED", "Selecting compound data not supported in Bulk Query")
                page = tx.query(soql.strip(), include_deleted=job.operation == "queryAll")
                records.extend(page.records)
                while page.next_records_locator:
                    page = self.context.data.query_more(page.next_records_locator)
                    records.extend(page.records)
        except SalesforceError as error:
            raise BatchFailure(f"InvalidBatch : Failed to process query: {error.error_code}: {error.message}") from error
        return [list(item.path) for item in parsed.select], records


def _is_compound(schema: Any, sobject: str, path: list[str]) -> bool:
    """Whether a selected field path ends at a compound (address/location) field."""
    od = schema.find(sobject)
    for rel in path[:-1]:
        ref = od.relationship(rel) if od is not None else None
        od = schema.find(ref.reference_to[0]) if ref is not None and len(ref.reference_to) == 1 else None
    fd = od.find_field(path[-1]) if od is not None and path else None
    return fd is not None and fd.type in ("address", "location")


def _id_of(record: dict[str, Any]) -> str:
    return next(v for k, v in record.items() if k.lower() == "id")


# -- routes -----------------------------------------------------------------------------------


def register(router: Router, context: OrgContext) -> None:
    jobs = BulkJobs(context)
    context.extras["bulk_jobs"] = jobs

    def endpoint(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            as_json = _wants_json(request)
            session = request.headers.get("X-SFDC-Session") or request.bearer_token
            if not context.identity.is_valid(session):
                return _error("InvalidSessionId", "Invalid session id", 400, as_json)
            # Bulk API calls count against the org's daily API requests, as REST calls do (/limits).
            if context.identity.count_api_call(context.today()) > context.daily_api_requests:
                return _error("ExceededQuota", "TotalRequests Limit exceeded.", 403, as_json)
            try:
                return handler(request)
            except BulkError as error:
                return _error(error.code, error.message, error.status, as_json)

        return run

    def create_job(request: Request) -> Response:
        fields = _parse_job_body(request)
        job = jobs.create(fields, request.path_params["version"], "JSON" if _wants_json(request) else "CSV")
        return _answer("jobInfo", job.info(), _wants_json(request), 201)

    def job_info(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        if request.method == "POST":
            job = jobs.change_state(job, _parse_job_body(request).get("state", ""))
        return _answer("jobInfo", job.info(), _wants_json(request))

    def add_batch(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        batch = jobs.add_batch(job, request.body)
        return _answer("batchInfo", batch.info(), _wants_json(request), 201)

    def list_batches(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        infos = [b.info() for b in list(job.batches.values())]
        if _wants_json(request):
            return Response(200, json.dumps({"batchInfo": infos}).encode(), {"Content-Type": "application/json"})
        inner = "".join(_xml("batchInfo", i).decode().split("?>", 1)[1].replace(f' xmlns="{ASYNC_NS}"', "") for i in infos)
        body = f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList xmlns="{ASYNC_NS}">{inner}</batchInfoList>'
        return Response(200, body.encode(), {"Content-Type": "application/xml"})

    def batch_info(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        batch = jobs.batch(job, request.path_params["batch"])
        return _answer("batchInfo", batch.info(), _wants_json(request))

    def batch_request(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        batch = jobs.batch(job, request.path_params["batch"])
        if job.operation not in QUERY_OPERATIONS:
            raise BulkError("InvalidBatch", "The ECBridge local org keeps the request of query batches only")
        return Response(200, batch.request, {"Content-Type": "text/plain; charset=UTF-8"})

    def _completed(job: Job, batch: Batch) -> None:
        if batch.state == "Failed":
            raise BulkError("InvalidBatch", f"Batch {batch.id} failed: {batch.state_message}")
        if batch.state != "Completed":
            raise BulkError("InvalidBatch", f"Batch {batch.id} is not completed")

    def batch_result(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        batch = jobs.batch(job, request.path_params["batch"])
        _completed(job, batch)
        as_json = job.content_type == "JSON"
        if job.operation in QUERY_OPERATIONS:
            if as_json:
                return Response(200, json.dumps([batch.result_id]).encode(), {"Content-Type": "application/json"})
            body = f'<?xml version="1.0" encoding="UTF-8"?><result-list xmlns="{ASYNC_NS}"><result>{batch.result_id}</result></result-list>'
            return Response(200, body.encode(), {"Content-Type": "application/xml"})
        if as_json:
            return Response(200, json.dumps(bulk_csv.dml_result_json(batch.results)).encode(), {"Content-Type": "application/json"})
        return Response(200, bulk_csv.dml_result_csv(batch.results), {"Content-Type": "text/csv"})

    def query_result(request: Request) -> Response:
        job = jobs.job(request.path_params["job"])
        batch = jobs.batch(job, request.path_params["batch"])
        _completed(job, batch)
        result_id = request.path_params["result"]
        if job.operation not in QUERY_OPERATIONS or not is_valid_id(result_id) or to18(result_id) != batch.result_id:
            raise BulkError("InvalidBatch", f"Invalid result id: {result_id}")
        if job.content_type == "JSON" or (request.arg("format") or "").lower() == "json":
            return Response(200, json.dumps(batch.query_records).encode(), {"Content-Type": "application/json"})
        return Response(200, bulk_csv.query_result_csv(batch.query_columns, batch.query_records), {"Content-Type": "text/csv"})

    def unknown(request: Request) -> Response:
        raise BulkError("InvalidUrl", f"Unknown Bulk API 1.0 resource: {request.method} {request.path}")

    job_path = V1 + r"/job/(?P<job>\w+)"
    batch_path = job_path + r"/batch/(?P<batch>\w+)"
    router.add("POST", V1 + r"/job/?", endpoint(create_job))
    router.add(("GET", "POST"), job_path + r"/?", endpoint(job_info))
    router.add("POST", job_path + r"/batch/?", endpoint(add_batch))
    router.add("GET", job_path + r"/batch/?", endpoint(list_batches))
    router.add("GET", batch_path + r"/?", endpoint(batch_info))
    router.add("GET", batch_path + r"/request/?", endpoint(batch_request))
    router.add("GET", batch_path + r"/result/?", endpoint(batch_result))
    router.add("GET", batch_path + r"/result/(?P<result>\w+)/?", endpoint(query_result))
    router.add(("GET", "POST", "PUT", "PATCH", "DELETE"), r"/services/async/.*", endpoint(unknown))


__all__ = ["register", "BulkJobs", "KeptJobs", "Job", "Batch", "BulkError", "ASYNC_NS", "CHUNK"]
