"""Bulk API 2.0 (``/services/data/vXX.X/jobs/ingest`` and ``/jobs/query``) on the local org.

simple-salesforce's ``sf.bulk2`` and any client of Salesforce's REST shapes can load and read data through it.
Records go through the same engine as Bulk API 1.0 (``bulk.py``): CSV rules, chunks of 200 rows, each
chunk its own transaction with ``allOrNone`` false, triggers per chunk, and a failing row that fails alone.

Ingest: ``POST jobs/ingest`` (JSON: ``object``, ``operation`` insert/update/upsert/delete,
``externalIdFieldName``, ``contentType`` CSV, ``lineEnding`` LF/CRLF, ``columnDelimiter`` COMMA) answers
the job (state ``Open``, ``contentUrl``). ``PUT jobs/ingest/{id}/batches`` takes the CSV and answers 201.
``PATCH jobs/ingest/{id}`` with ``UploadComplete`` answers the job in that state. ``GET jobs/ingest/{id}``
then shows ``JobComplete``: the local org processes the data at once, as its Bulk API 1.0 does. It shows
``Failed`` with ``errorMessage`` when the file cannot be read, for example an unknown column. ``Aborted``
closes an open job. The results are CSV files: ``successfulResults`` (``sf__Id``, ``sf__Created``, then
the uploaded columns), ``failedResults`` (``sf__Id``, ``sf__Error`` as ``STATUS_CODE:message:fields --``,
then the uploaded columns), and ``unprocessedrecords`` (the uploaded rows that were never processed; these three names are matched
without regard to case, as clients spell them both ways).
``DELETE`` removes a finished job. ``GET jobs/ingest`` lists the jobs.

Query: ``POST jobs/query`` (``operation`` query/queryAll, ``query``) runs the query at once.
``GET jobs/query/{id}`` shows ``JobComplete``. ``GET jobs/query/{id}/results?maxRecords=&locator=`` pages the
CSV, with ``Sforce-Locator`` (the string ``null`` on the last page) and ``Sforce-NumberOfRecords``.

Choices where Salesforce does not document the answer (settings would not help here, so they are listed):
- Only one upload per job is accepted; a second ``PUT`` is refused with ``INVALIDJOBSTATE``.
- Column delimiters other than COMMA are refused with ``FEATURENOTENABLED``.
- Error codes are Bulk API 1.0's exception codes in upper case (``INVALIDJOB``, ``INVALIDJOBSTATE``),
  in the REST error shape.
- Jobs live in memory, like Bulk API 1.0's (``ECBRIDGE_ORG_BULK_JOBS_KEPT``, default 500).
- Multipart job creation (the CSV sent in the create call) is not implemented.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.data import SaveResult
from localcloud.salesforce.http import bulk_csv
from localcloud.salesforce.http.bulk import (
    CHUNK, JOBS_KEPT, QUERY_OPERATIONS, BulkError, BulkJobs, Job, KeptJobs, now_stamp,
)
from localcloud.salesforce.http.bulk_csv import BatchFailure
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import error_response

log = logging.getLogger(__name__)

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete")
DEFAULT_PAGE = 10_000
FINISHED = ("JobComplete", "Failed", "Aborted")


@dataclass
class Bulk2Job:
    """One Bulk API 2.0 job: the engine's job (operation, object, external id) plus what 2.0 adds."""

    engine: Job
    kind: str  # V2Ingest | V2Query
    line_ending: str = "LF"
    state: str = "Open"
    error_message: str | None = None
    upload: str | None = None
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    results: list[SaveResult] = field(default_factory=list)
    query_columns: list[list[str]] = field(default_factory=list)
    query_records: list[dict[str, Any]] = field(default_factory=list)
    processing_ms: int = 0

    @property
    def id(self) -> str:
        return self.engine.id

    def info(self, detail: bool = True) -> dict[str, Any]:
        job = self.engine
        info: dict[str, Any] = {
            "id": job.id, "operation": job.operation, "object": job.sobject, "createdById": job.created_by,
            "createdDate": job.created, "systemModstamp": job.modified or job.created, "state": self.state,
        }
        if job.external_id_field:
            info["externalIdFieldName"] = job.external_id_field
        info.update({"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": float(job.api_version)})
        if self.kind == "V2Ingest":
            info["contentUrl"] = f"services/data/v{job.api_version}/jobs/ingest/{job.id}/batches"
        info.update({"lineEnding": self.line_ending, "columnDelimiter": "COMMA"})
        if not detail:
            return info
        if self.kind == "V2Ingest":
            processed = len(self.results)
            failed = sum(1 for r in self.results if not r.success)
        else:
            processed, failed = len(self.query_records), 0
        info.update({"jobType": self.kind, "numberRecordsProcessed": processed, "retries": 0,
                     "totalProcessingTime": self.processing_ms, "apiActiveProcessingTime": self.processing_ms,
                     "apexProcessingTime": 0})
        if self.kind == "V2Ingest":
            info["numberRecordsFailed"] = failed
        if self.error_message:
            info["errorMessage"] = self.error_message
        return info


class Bulk2Jobs:
    """The org's Bulk API 2.0 jobs, in memory, run by the Bulk API 1.0 engine."""

    def __init__(self, engine: BulkJobs, jobs_kept: int = JOBS_KEPT):
        self.engine = engine
        self._jobs: KeptJobs[Bulk2Job] = KeptJobs(jobs_kept)

    def _keep(self, job: Bulk2Job) -> Bulk2Job:
        return self._jobs.keep(job.id, job)

    def job(self, job_id: str, kind: str) -> Bulk2Job:
        job = self._jobs.get(job_id)
        if job is None or job.kind != kind:
            raise BulkError("INVALIDJOB", f"Invalid job id: {job_id}", 404)
        return job

    def jobs(self, kind: str) -> list[Bulk2Job]:
        return [job for job in self._jobs.all() if job.kind == kind]

    def forget(self, job: Bulk2Job) -> None:
        if job.state not in FINISHED:
            raise BulkError("INVALIDJOBSTATE", f"Job {job.id} is {job.state}: only a finished job can be deleted")
        self._jobs.forget(job.id)

    # ingest

    def create_ingest(self, body: dict[str, Any], version: str) -> Bulk2Job:
        operation = str(body.get("operation") or "")
        if operation == "hardDelete":
            raise BulkError("FEATURENOTENABLED", "The ECBridge local org does not implement hardDelete; use delete")
        if operation not in INGEST_OPERATIONS:
            raise BulkError("INVALIDJOB", f"Invalid operation: {operation or '(none)'}")
        if (body.get("contentType") or "CSV") != "CSV":
            raise BulkError("INVALIDJOB", f"Invalid contentType: {body.get('contentType')}; Bulk API 2.0 takes CSV")
        self._check_format(body)
        engine = self.engine.new_job(_engine_fields(body), version, "CSV")
        return self._keep(Bulk2Job(engine, "V2Ingest", line_ending=str(body.get("lineEnding") or "LF")))

    @staticmethod
    def _check_format(body: dict[str, Any]) -> None:
        delimiter = body.get("columnDelimiter") or "COMMA"
        if delimiter != "COMMA":
            raise BulkError("FEATURENOTENABLED", f"The ECBridge local org reads COMMA-delimited CSV, not {delimiter}")
        if (body.get("lineEnding") or "LF") not in ("LF", "CRLF"):
            raise BulkError("INVALIDJOB", f"Invalid lineEnding: {body.get('lineEnding')}")

    def upload(self, job: Bulk2Job, data: bytes) -> None:
        if job.state != "Open" or job.upload is not None:
            state = "holds its data already" if job.state == "Open" else f"is {job.state}"
            raise BulkError("INVALIDJOBSTATE", f"Job {job.id} {state}: data is uploaded once, to an Open job")
        try:
            job.upload = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BulkError("INVALIDJOB", f"The job data is not UTF-8: {error}") from error

    def change_state(self, job: Bulk2Job, wanted: str) -> dict[str, Any]:
        if wanted not in ("UploadComplete", "Aborted"):
            raise BulkError("INVALIDJOBSTATE", f"Invalid state: {wanted or '(none)'}")
        if job.state != "Open" or (wanted == "UploadComplete" and job.kind != "V2Ingest"):
            raise BulkError("INVALIDJOBSTATE", f"Job {job.id} is {job.state}; it cannot be {wanted}")
        job.state = wanted
        job.engine.modified = now_stamp()
        answer = job.info(detail=False)  # the state the call set; processing follows at once
        if wanted == "UploadComplete":
            self._process(job)
        return answer

    def _process(self, job: Bulk2Job) -> None:
        started = dt.datetime.now()
        text = job.upload or ""
        try:
            if not text.strip():
                raise BatchFailure("InvalidBatch : No data was uploaded for this job")
            table = bulk_csv.table(text)
            job.header, job.rows = table[0], table[1:]
            records = bulk_csv.read_dml_csv(text, self.engine.column_resolver(job.engine)).rows
            for start in range(0, len(records), CHUNK):
                job.results.extend(self.engine.run_chunk(job.engine, records[start:start + CHUNK]))
            job.state = "JobComplete"
        except BatchFailure as failure:  # the file cannot be read: no row was processed
            job.state, job.error_message, job.results = "Failed", str(failure), []
        except Exception as error:  # noqa: BLE001 - a broken job must say why; the chunks done stay done
            log.exception("Bulk API 2.0 job %s failed", job.id)
            job.state, job.error_message = "Failed", f"Unknown : {type(error).__name__}: {error}"
        job.processing_ms = int((dt.datetime.now() - started).total_seconds() * 1000)
        job.engine.modified = now_stamp()

    # query

    def create_query(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        operation = str(body.get("operation") or "query")
        if operation not in QUERY_OPERATIONS:
            raise BulkError("INVALIDJOB", f"Invalid operation: {operation}; a query job is query or queryAll")
        soql = str(body.get("query") or "").strip()
        if not soql:
            raise BulkError("INVALIDJOB", "A query job needs a query")
        self._check_format(body)
        sobject = self.engine.query_object(soql)
        engine = self.engine.new_job({"operation": operation, "object": sobject}, version, "CSV")
        job = Bulk2Job(engine, "V2Query", line_ending=str(body.get("lineEnding") or "LF"), state="UploadComplete")
        answer = job.info(detail=False)  # created UploadComplete; the query runs at once
        started = dt.datetime.now()
        try:
            job.query_columns, job.query_records = self.engine.query_rows(engine, soql)
            job.state = "JobComplete"
        except BatchFailure as failure:
            job.state, job.error_message = "Failed", str(failure)
        job.processing_ms = int((dt.datetime.now() - started).total_seconds() * 1000)
        self._keep(job)
        return answer


def _engine_fields(body: dict[str, Any]) -> dict[str, str]:
    fields = {"operation": str(body.get("operation") or ""), "object": str(body.get("object") or "")}
    if body.get("externalIdFieldName"):
        fields["externalIdFieldName"] = str(body["externalIdFieldName"])
    return fields


def _line_ending(job: Bulk2Job) -> str:
    return "\r\n" if job.line_ending == "CRLF" else "\n"


def _csv(job: Bulk2Job, rows: list[list[str]]) -> Response:
    return Response(200, bulk_csv.quoted_csv(rows, _line_ending(job)), {"Content-Type": "text/csv"})


def _finished(job: Bulk2Job) -> None:
    if job.state not in FINISHED:
        raise BulkError("INVALIDJOBSTATE", f"Job {job.id} is {job.state}: its results are ready once it is finished")


def register(router: Router, context: OrgContext) -> None:
    engine = context.extras.get("bulk_jobs")
    if engine is None:
        engine = context.extras["bulk_jobs"] = BulkJobs(context)
    jobs = Bulk2Jobs(engine)
    context.extras["bulk2_jobs"] = jobs
    base = r"/services/data/v(?P<version>\d+\.\d)/jobs"

    def endpoint(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except BulkError as error:
                return error_response(error.status, error.code.upper(), error.message)

        return run

    def body_of(request: Request) -> dict[str, Any]:
        try:
            body = request.json() if request.body else {}
        except ValueError as error:
            raise BulkError("JSON_PARSER_ERROR", f"The request body is not JSON: {error}") from error
        if not isinstance(body, dict):
            raise BulkError("JSON_PARSER_ERROR", "The request body is a JSON object")
        return body

    def listing(kind: str) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            records = [job.info(detail=False) for job in jobs.jobs(kind)]
            return Response.json({"done": True, "records": records, "nextRecordsUrl": None})

        return answer

    def create_ingest(request: Request) -> Response:
        return Response.json(jobs.create_ingest(body_of(request), request.path_params["version"]).info(detail=False))

    def job_resource(kind: str) -> Callable[[Request], Response]:
        """GET the job, PATCH its state, DELETE it once finished."""
        def answer(request: Request) -> Response:
            job = jobs.job(request.path_params["job"], kind)
            if request.method == "PATCH":
                return Response.json(jobs.change_state(job, str(body_of(request).get("state") or "")))
            if request.method == "DELETE":
                jobs.forget(job)
                return Response(204, b"", {})
            return Response.json(job.info())

        return answer

    def upload(request: Request) -> Response:
        jobs.upload(jobs.job(request.path_params["job"], "V2Ingest"), request.body)
        return Response(201, b"", {})

    def successful(request: Request) -> Response:
        job = jobs.job(request.path_params["job"], "V2Ingest")
        _finished(job)
        rows = [[r.id or "", "true" if r.created else "false", *row]
                for r, row in zip(job.results, job.rows) if r.success]
        return _csv(job, [["sf__Id", "sf__Created", *job.header], *rows])

    def failed(request: Request) -> Response:
        job = jobs.job(request.path_params["job"], "V2Ingest")
        _finished(job)
        rows = [["", bulk_csv.error_text(r.errors), *row] for r, row in zip(job.results, job.rows) if not r.success]
        return _csv(job, [["sf__Id", "sf__Error", *job.header], *rows])

    def unprocessed(request: Request) -> Response:
        """The uploaded rows after the last processed one (all of them for an aborted or unreadable job)."""
        job = jobs.job(request.path_params["job"], "V2Ingest")
        _finished(job)
        try:
            table = bulk_csv.table(job.upload) if job.upload and job.upload.strip() else []
        except BatchFailure:
            table = []
        if not table:
            return _csv(job, [])
        rows = [] if job.state == "JobComplete" else table[1:][len(job.results):]
        return _csv(job, [table[0], *rows])

    def create_query(request: Request) -> Response:
        return Response.json(jobs.create_query(body_of(request), request.path_params["version"]))

    def query_results(request: Request) -> Response:
        job = jobs.job(request.path_params["job"], "V2Query")
        if job.state != "JobComplete":
            raise BulkError("INVALIDJOBSTATE", f"Job {job.id} is {job.state}: results are ready once it is JobComplete")
        try:
            size = int(request.arg("maxRecords") or DEFAULT_PAGE)
            start = int(request.arg("locator") or 0)
        except ValueError as error:
            raise BulkError("INVALIDLOCATOR", f"maxRecords and locator are whole numbers: {error}") from error
        if size < 1 or start < 0 or start > len(job.query_records):
            raise BulkError("INVALIDLOCATOR", "Invalid locator or maxRecords")
        page = job.query_records[start:start + size]
        following = start + len(page)
        rows = [[".".join(path) for path in job.query_columns],
                *([bulk_csv.csv_value(bulk_csv.path_value(record, path)) for path in job.query_columns]
                  for record in page)]
        response = _csv(job, rows)
        response.headers["Sforce-Locator"] = str(following) if following < len(job.query_records) else "null"
        response.headers["Sforce-NumberOfRecords"] = str(len(page))
        return response

    def unknown(request: Request) -> Response:
        raise BulkError("NOT_FOUND", f"Unknown Bulk API 2.0 resource: {request.method} {request.path}", 404)

    job_id = r"/(?P<job>\w+)"
    router.add("GET", base + r"/ingest/?", endpoint(listing("V2Ingest")))
    router.add("POST", base + r"/ingest/?", endpoint(create_ingest))
    router.add(("GET", "PATCH", "DELETE"), base + r"/ingest" + job_id + r"/?", endpoint(job_resource("V2Ingest")))
    router.add("PUT", base + r"/ingest" + job_id + r"/batches/?", endpoint(upload))
    router.add("GET", base + r"/ingest" + job_id + r"/(?i:successfulResults)/?", endpoint(successful))
    router.add("GET", base + r"/ingest" + job_id + r"/(?i:failedResults)/?", endpoint(failed))
    router.add("GET", base + r"/ingest" + job_id + r"/(?i:unprocessedRecords)/?", endpoint(unprocessed))
    router.add("GET", base + r"/query/?", endpoint(listing("V2Query")))
    router.add("POST", base + r"/query/?", endpoint(create_query))
    router.add(("GET", "PATCH", "DELETE"), base + r"/query" + job_id + r"/?", endpoint(job_resource("V2Query")))
    router.add("GET", base + r"/query" + job_id + r"/results/?", endpoint(query_results))
    router.add(("GET", "POST", "PUT", "PATCH", "DELETE"), base + r"/.*", endpoint(unknown))


__all__ = ["register", "Bulk2Jobs", "Bulk2Job"]
