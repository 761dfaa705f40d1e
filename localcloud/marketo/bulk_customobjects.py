"""Bulk custom object import of the local Marketo: the rows of one job, imported "insert or update".

Adobe's rules (Bulk Custom Object Import): ``POST /bulk/v1/customobjects/{apiName}/import.json``
with a multipart ``file`` (csv, tsv or ssv, under 10 MB, else HTTP 413) and ``format``; the first
row is a header of custom object API field names; the record operation is insert or update on the
object's dedupe fields; jobs share the bulk import queue (two importing at once, ten queued including
those, 1016 past that); status ``Queued|Importing|Complete|Failed`` with ``numOfObjectsProcessed``,
``numOfRowsFailed``, ``numOfRowsWithWarning``, ``importTime`` and ``message``; the failures and
warnings files answer HTTP 404 when the job has none.

Adobe's own example is followed where it shows behaviour: a header column that is not a field of
the object (" vin" with a space) is not a job failure; the rows then miss the dedupe field and fail
with the reason ``missing.dedupe.fields``. Other row failures carry the reason the REST sync would
give (``<code> <message>``, e.g. ``1004 Lead not found``); their wording is ours.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from localcloud.marketo.customobjects import CustomObjectOperations
from localcloud.marketo.schema import is_empty

MISSING_DEDUPE = "missing.dedupe.fields"
FAILURE_COLUMN = "Import Failure Reason"


@dataclass
class ImportOutcome:
    status: str  # Complete or Failed
    message: str
    processed: int  # rows imported (Adobe's numOfObjectsProcessed)
    failed: int
    failures: str  # the failures file ("" when no row failed)



def width_problem(row: list[str], header: list[str]) -> str | None:
    """A data row with another number of columns than the header fails alone (1003), as Marketo does."""
    if len(row) == len(header):
        return None
    return f"1003 Invalid data: {len(row)} columns, the header has {len(header)}"

def message_for(succeeded: int, failed: int) -> str:
    """Adobe's status message wording (shared with the lead import)."""
    if failed:
        return (
            f"Import completed with errors, {succeeded} records imported ({succeeded} members), "
            f"{failed} failed"
        )
    return f"Import succeeded, {succeeded} records imported ({succeeded} members)"


def import_custom_objects(
    objects: CustomObjectOperations, api_name: str, text: str, delimiter: str
) -> ImportOutcome:
    """Import every data row of ``text`` into ``api_name``; one failed row never stops the others."""
    try:
        schema = objects.object_schema(api_name)
    except Exception as error:  # noqa: BLE001 - the object was deleted after the job was queued
        return ImportOutcome("Failed", str(getattr(error, "message", error)), 0, 0, "")
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return ImportOutcome("Failed", "The file is empty", 0, 0, "")
    header = list(rows[0])
    known = [name in schema.fields for name in header]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow([*header, FAILURE_COLUMN])
    processed = failed = 0
    with objects.store.transaction():
        for row in rows[1:]:
            if not any(cell.strip() for cell in row):
                continue
            processed += 1
            width = width_problem(row, header)
            if width:
                failed += 1
                writer.writerow([*row, width])
                continue
            record = {
                name: value for name, value, ok in zip(header, row, known) if ok and value != ""
            }
            if any(is_empty(record.get(name)) for name in schema.dedupe_fields):
                failed += 1
                writer.writerow([*row, MISSING_DEDUPE])
                continue
            result = objects.import_record(api_name, record)
            if result.get("status") == "skipped":
                failed += 1
                reasons = result.get("reasons") or []
                writer.writerow([*row, "; ".join(f"{r['code']} {r['message']}" for r in reasons)])
    succeeded = processed - failed
    return ImportOutcome(
        "Complete", message_for(succeeded, failed), succeeded, failed, out.getvalue() if failed else ""
    )
