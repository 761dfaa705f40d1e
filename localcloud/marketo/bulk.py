"""Bulk imports of the local Marketo (leads, and custom objects: bulk_customobjects.py): jobs of both
kinds share one FIFO queue in SQLite, at most N import at once (Adobe lists the bulk import limits
once, for all import jobs)."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import io
import threading
import time
from typing import Any, Callable

from localcloud.marketo.dispatcher import JobDispatcher
from localcloud.marketo.bulk_customobjects import ImportOutcome, import_custom_objects, message_for, width_problem
from localcloud.marketo.customobjects import CustomObjectOperations
from localcloud.marketo.envelope import CallError, new_request_id
from localcloud.marketo.leads import LeadOperations
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store


DELIMITERS = {"csv": ",", "tsv": "\t", "ssv": ";"}


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[bytes, str | None]]:
    """Parts of a multipart/form-data body by field name: (content, filename)."""
    if "multipart/form-data" not in content_type.lower():
        raise CallError("613", "Invalid Multipart Request")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise CallError("613", "Invalid Multipart Request")
    parts: dict[str, tuple[bytes, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name:
            payload = part.get_payload(decode=True) or b""
            parts[str(name)] = (payload, part.get_filename())
    return parts


class BulkImports(JobDispatcher):
    def __init__(
        self,
        store: Store,
        leads: LeadOperations,
        settings: Callable[[], Settings],
        custom_objects: CustomObjectOperations | None = None,
    ):
        self.store = store
        self.leads = leads
        self.custom_objects = custom_objects
        self.settings = settings
        self._running: set[int] = set()
        with self.store.transaction() as db:  # a job cut off by a stop starts again
            db.execute(
                "UPDATE bulk_jobs SET status='Queued', started_at=NULL WHERE status='Importing'"
            )
        self._start_dispatcher("marketo-bulk")

    # --- API ------------------------------------------------------------------------------------
    def submit(
        self,
        content: bytes,
        file_format: str | None,
        lookup_field: str | None,
        partition: str | None,
        object_name: str | None = None,
    ) -> dict[str, Any]:
        """Queue a job: a lead import, or with ``object_name`` a custom object import."""
        file_format = (file_format or "").lower()
        if file_format not in ("csv", "tsv", "ssv"):
            raise CallError("1003", f"Invalid format '{file_format}', use csv, tsv or ssv")
        if object_name is not None:
            if self.custom_objects is None:
                raise CallError("610", "Requested resource not found")
            self.custom_objects.object_schema(object_name)  # 1013 for an unknown object
            lookup = ""
        else:
            lookup = lookup_field or "email"
            self.leads.lookup_definition(lookup, for_filter=False)
        with self.store.transaction() as db:
            # "A maximum of 10 jobs are allowed in the queue at any given time (including the two
            # currently being processed)"
            waiting = db.execute(
                "SELECT COUNT(*) FROM bulk_jobs WHERE status IN ('Queued', 'Importing')"
            ).fetchone()[0]
            if waiting >= self.settings().bulk_import_max_queued:
                raise CallError("1016", "Too many imports")
            cursor = db.execute(
                "INSERT INTO bulk_jobs(status, format, lookup_field, partition_name, content, created_at,"
                " object_name) VALUES ('Queued', ?, ?, ?, ?, ?, ?)",
                (file_format, lookup, partition, content, time.time(), object_name),
            )
            batch_id = int(cursor.lastrowid)
        self.nudge()
        if object_name is not None:
            return {"batchId": batch_id, "status": "Queued", "objectApiName": object_name}
        return {"batchId": batch_id, "importId": str(batch_id), "status": "Queued"}

    def status(self, batch_id: str, object_name: str | None = None) -> dict[str, Any]:
        row = self._job(batch_id, object_name)
        if object_name is not None:
            seconds = (row["finished_at"] or time.time()) - (row["started_at"] or time.time())
            return {
                "batchId": row["batch_id"],
                "operation": "import",
                "status": row["status"],
                "objectApiName": object_name,
                "numOfObjectsProcessed": row["processed"],
                "numOfRowsFailed": row["failed"],
                "numOfRowsWithWarning": row["warnings"],
                "importTime": f"{max(0, round(seconds))} second(s)",
                "message": row["message"],
            }
        return {
            "batchId": row["batch_id"],
            "importId": str(row["batch_id"]),
            "status": row["status"],
            "numOfLeadsProcessed": row["processed"],
            "numOfRowsFailed": row["failed"],
            "numOfRowsWithWarning": row["warnings"],
            "message": row["message"],
        }

    def failures(self, batch_id: str, object_name: str | None = None) -> str:
        return str(self._job(batch_id, object_name)["failures"])

    def warnings(self, batch_id: str, object_name: str | None = None) -> str:
        return str(self._job(batch_id, object_name)["warnings_file"])

    def _job(self, batch_id: str, object_name: str | None = None) -> dict[str, Any]:
        """The job ``batch_id`` of that kind (a lead job is not found under a custom object's path)."""
        try:
            number = int(batch_id)
        except ValueError:
            raise CallError("1003", f"Invalid batchId '{batch_id}'") from None
        with self.store.transaction() as db:
            row = db.execute("SELECT * FROM bulk_jobs WHERE batch_id=?", (number,)).fetchone()
        if row is None or row["object_name"] != object_name:
            raise CallError("1013", f"Import batch '{batch_id}' not found")
        return dict(row)

    # --- worker ---------------------------------------------------------------------------------
    def _start_jobs(self) -> None:
        settings = self.settings()
        with self.store.transaction() as db:
            free = settings.bulk_import_max_running - len(self._running)
            if free <= 0:
                return
            rows = db.execute(
                "SELECT batch_id FROM bulk_jobs WHERE status='Queued' ORDER BY batch_id LIMIT ?",
                (free,),
            ).fetchall()
            for row in rows:
                db.execute(
                    "UPDATE bulk_jobs SET status='Importing', started_at=? WHERE batch_id=?",
                    (time.time(), row["batch_id"]),
                )
                self._running.add(row["batch_id"])
        for row in rows:
            threading.Thread(
                target=self._run_job,
                args=(row["batch_id"],),
                daemon=True,
                name=f"marketo-import-{row['batch_id']}",
            ).start()

    def _run_job(self, batch_id: int) -> None:
        try:
            with self.store.transaction() as db:
                job = dict(db.execute("SELECT * FROM bulk_jobs WHERE batch_id=?", (batch_id,)).fetchone())
            if job["object_name"] is not None:
                outcome = self._import_custom_objects(job)
                status, message, processed, failed, failures = (
                    outcome.status, outcome.message, outcome.processed, outcome.failed, outcome.failures
                )
            else:
                status, message, processed, failed, failures = self._import(job)
            while not self._stopping.is_set():  # the local hold, to observe running/queued jobs
                hold = self.settings().bulk_import_hold_seconds
                if time.time() >= float(job["started_at"] or 0) + hold:
                    break
                time.sleep(0.02)
            if self._stopping.is_set():
                return
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE bulk_jobs SET status=?, message=?, processed=?, failed=?, failures=?, finished_at=?"
                    " WHERE batch_id=?",
                    (status, message, processed, failed, failures, time.time(), batch_id),
                )
        finally:
            self._running.discard(batch_id)
            self.nudge()

    def _import_custom_objects(self, job: dict[str, Any]) -> ImportOutcome:
        delimiter = DELIMITERS[job["format"]]
        try:
            text = bytes(job["content"]).decode("utf-8-sig")
        except UnicodeDecodeError:
            return ImportOutcome("Failed", "The file is not UTF-8", 0, 0, "")
        assert self.custom_objects is not None
        return import_custom_objects(self.custom_objects, job["object_name"], text, delimiter)

    def _import(self, job: dict[str, Any]) -> tuple[str, str, int, int, str]:
        delimiter = DELIMITERS[job["format"]]
        try:
            text = bytes(job["content"]).decode("utf-8-sig")
        except UnicodeDecodeError:
            return "Failed", "The file is not UTF-8", 0, 0, ""
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        rows = list(reader)
        if not rows:
            return "Failed", "The file is empty", 0, 0, ""
        header = [h.strip() for h in rows[0]]
        unknown = [h for h in header if self.leads.schema.lead.field(h) is None]
        if unknown:
            return "Failed", f"Field '{unknown[0]}' not found", 0, 0, ""
        lookup = job["lookup_field"]
        definition = self.leads.lookup_definition(lookup, for_filter=False)
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        writer.writerow([*header, "Import Failure"])
        processed = failed = 0
        request_id = new_request_id()
        with self.store.transaction():
            for row in rows[1:]:
                if not any(cell.strip() for cell in row):
                    continue
                processed += 1
                width = width_problem(row, header)
                if width:
                    failed += 1
                    writer.writerow([*row, width])
                    continue
                record = {name: value for name, value in zip(header, row) if value != ""}
                result = self.leads.sync_record(
                    record,
                    "updateOnly" if lookup == "id" else "createOrUpdate",  # id means "update only"
                    lookup,
                    definition,
                    job["partition_name"],
                    request_id,
                    importing=True,
                )
                if result["status"] == "skipped":
                    failed += 1
                    writer.writerow(
                        [*row, "; ".join(f"{r['code']} {r['message']}" for r in result["reasons"])]
                    )
        succeeded = processed - failed
        message = message_for(succeeded, failed)
        # numOfLeadsProcessed counts the rows imported (Adobe's example: 2 processed, 1 failed)
        return "Complete", message, succeeded, failed, out.getvalue() if failed else ""
