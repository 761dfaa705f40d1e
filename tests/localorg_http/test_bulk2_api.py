"""Bulk API 2.0 on the local org, driven by simple-salesforce's `sf.bulk2` (unmodified) and by raw REST calls.

The same fixture package as the Bulk API 1.0 tests: Contact has the external id Test_Member_Id__c, and the
trigger BulkContactTrigger rejects the LastName 'Reject-Me' and inserts one Test_Order__c for each chunk.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from tests.localorg_http.test_bulk_api import org, query  # noqa: F401 - org: the Bulk tests' module-scoped org

pytestmark = pytest.mark.slow
API = "62.0"
QUICK = 0.05  # simple-salesforce waits this long before its first status poll (its default is 5 s)


@pytest.fixture
def sf(org) -> Salesforce:
    return Salesforce(instance_url=org.url, session_id=org.access_token, version=API)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def chunk_sizes(org) -> list[int]:
    """Sizes of the after-insert chunks BulkContactTrigger has recorded so far."""
    return [int(r["Name"].split()[1]) for r in
            query(org, "SELECT Name FROM Test_Order__c WHERE Name LIKE 'chunk %'")["records"]]


def rest(org, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{org.url}/services/data/v{API}/jobs/{path}",
                            headers={"Authorization": f"Bearer {org.access_token}", **kwargs.pop("headers", {})},
                            **kwargs)


def test_insert_of_450_contacts_one_bad_row_fails_alone_and_triggers_run_per_200(org, sf) -> None:
    records = [{"LastName": f"V2-{i}", "Email": f"v2.{i}@example.jp", "Test_Member_Id__c": f"V2-{i}"}
               for i in range(450)]
    records[300] = {"LastName": "Reject-Me", "Email": "v2.reject@example.jp", "Test_Member_Id__c": "V2-REJECT"}
    chunks_before = chunk_sizes(org)
    [result] = sf.bulk2.Contact.insert(records=records, wait=QUICK)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"], result["numberRecordsTotal"]) == (450, 1, 450)

    succeeded = rows_of(sf.bulk2.Contact.get_successful_records(result["job_id"]))
    assert len(succeeded) == 449 and list(succeeded[0])[:2] == ["sf__Id", "sf__Created"]
    assert all(r["sf__Id"].startswith("003") and r["sf__Created"] == "true" for r in succeeded)
    assert succeeded[0]["Test_Member_Id__c"] == "V2-0", "the uploaded columns follow the result columns"
    [failed] = rows_of(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert failed["sf__Error"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION:Rejected by BulkContactTrigger:LastName --"
    assert (failed["sf__Id"], failed["Test_Member_Id__c"]) == ("", "V2-REJECT")
    assert rows_of(sf.bulk2.Contact.get_unprocessed_records(result["job_id"])) == [], "a complete job left none"

    assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c LIKE 'V2-%'")["totalSize"] == 449
    new_chunks = chunk_sizes(org)
    for size in chunks_before:
        new_chunks.remove(size)
    assert sorted(new_chunks) == [50, 199, 200], "chunks of 200 rows; the rejected row is not in its chunk's after insert"


def test_upsert_on_an_external_id_creates_then_updates(org, sf) -> None:
    first = [{"LastName": f"Up-{i}", "Test_Member_Id__c": f"UP2-{i}"} for i in range(3)]
    [created] = sf.bulk2.Contact.upsert(records=first, external_id_field="Test_Member_Id__c", wait=QUICK)
    again = [{"LastName": f"Up-{i}-renamed", "Test_Member_Id__c": f"UP2-{i}"} for i in range(3)]
    [updated] = sf.bulk2.Contact.upsert(records=again, external_id_field="Test_Member_Id__c", wait=QUICK)
    assert created["numberRecordsFailed"] == updated["numberRecordsFailed"] == 0
    assert {r["sf__Created"] for r in rows_of(sf.bulk2.Contact.get_successful_records(created["job_id"]))} == {"true"}
    assert {r["sf__Created"] for r in rows_of(sf.bulk2.Contact.get_successful_records(updated["job_id"]))} == {"false"}
    names = query(org, "SELECT LastName FROM Contact WHERE Test_Member_Id__c LIKE 'UP2-%' ORDER BY LastName")
    assert [r["LastName"] for r in names["records"]] == ["Up-0-renamed", "Up-1-renamed", "Up-2-renamed"]


def test_query_pages_with_the_locator(org, sf) -> None:
    [loaded] = sf.bulk2.Contact.insert(records=[{"LastName": f"Page-{i}", "Test_Member_Id__c": f"PG-{i}"}
                                                for i in range(5)], wait=QUICK)
    assert loaded["numberRecordsFailed"] == 0
    pages = list(sf.bulk2.Contact.query(
        "SELECT Id, LastName, Test_Member_Id__c FROM Contact WHERE Test_Member_Id__c LIKE 'PG-%' ORDER BY LastName",
        max_records=2, wait=QUICK))
    assert [len(rows_of(page)) for page in pages] == [2, 2, 1]
    assert [r["LastName"] for page in pages for r in rows_of(page)] == [f"Page-{i}" for i in range(5)]
    assert list(rows_of(pages[0])[0]) == ["Id", "LastName", "Test_Member_Id__c"]


def test_a_file_with_an_unknown_column_fails_the_job_with_its_reason(org, sf, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("LastName,Nope__c\nSomeone,x\n", encoding="utf-8")
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Contact.insert(csv_file=str(bad), wait=QUICK)
    assert query(org, "SELECT COUNT() FROM Contact WHERE LastName = 'Someone'")["totalSize"] == 0


def test_job_states_and_errors_answer_the_rest_shapes(org) -> None:
    unknown = rest(org, "POST", "ingest", json={"object": "Nope__c", "operation": "insert"})
    assert unknown.status_code == 400 and unknown.json()[0]["errorCode"] == "INVALIDJOB"
    assert "Nope__c" in unknown.json()[0]["message"]
    job = rest(org, "POST", "ingest", json={"object": "Contact", "operation": "insert", "lineEnding": "LF"}).json()
    assert (job["state"], job["contentType"], job["object"]) == ("Open", "CSV", "Contact")
    assert job["contentUrl"] == f"services/data/v{API}/jobs/ingest/{job['id']}/batches"
    early = rest(org, "GET", f"ingest/{job['id']}/successfulResults")
    assert early.status_code == 400 and early.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    upload = rest(org, "PUT", f"ingest/{job['id']}/batches", data=b"LastName\nRest-1\nRest-2\n",
                  headers={"Content-Type": "text/csv"})
    assert (upload.status_code, upload.content) == (201, b"")
    twice = rest(org, "PUT", f"ingest/{job['id']}/batches", data=b"LastName\nRest-3\n", headers={"Content-Type": "text/csv"})
    assert twice.status_code == 400 and twice.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    closed = rest(org, "PATCH", f"ingest/{job['id']}", json={"state": "UploadComplete"}).json()
    assert closed["state"] == "UploadComplete"
    info = rest(org, "GET", f"ingest/{job['id']}").json()
    assert (info["state"], info["jobType"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete", "V2Ingest", 2, 0)
    assert job["id"] in {j["id"] for j in rest(org, "GET", "ingest").json()["records"]}
    assert rest(org, "DELETE", f"ingest/{job['id']}").status_code == 204
    assert rest(org, "GET", f"ingest/{job['id']}").status_code == 404

    aborted = rest(org, "POST", "ingest", json={"object": "Contact", "operation": "insert"}).json()
    rest(org, "PUT", f"ingest/{aborted['id']}/batches", data=b"LastName\nNever\n", headers={"Content-Type": "text/csv"})
    assert rest(org, "PATCH", f"ingest/{aborted['id']}", json={"state": "Aborted"}).json()["state"] == "Aborted"
    assert rows_of(rest(org, "GET", f"ingest/{aborted['id']}/unprocessedrecords").text) == [{"LastName": "Never"}]
    assert query(org, "SELECT COUNT() FROM Contact WHERE LastName = 'Never'")["totalSize"] == 0

    malformed = rest(org, "POST", "query", json={"operation": "query", "query": "SELECT FROM Contact"})
    assert malformed.status_code == 400 and malformed.json()[0]["errorCode"] == "INVALIDJOB"
    assert rest(org, "POST", "ingest", json={"object": "Contact", "operation": "insert",
                                             "columnDelimiter": "PIPE"}).json()[0]["errorCode"] == "FEATURENOTENABLED"
    no_session = requests.get(f"{org.url}/services/data/v{API}/jobs/ingest")
    assert no_session.status_code == 401 and no_session.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_a_job_broken_midway_reports_every_row_it_did_not_process(org, sf, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = org.context.extras["bulk2_jobs"].engine
    real_run_chunk = engine.run_chunk
    calls = []

    def second_chunk_breaks(job, chunk):
        calls.append(len(chunk))
        if len(calls) == 2:
            raise RuntimeError("the disk went away")
        return real_run_chunk(job, chunk)

    monkeypatch.setattr(engine, "run_chunk", second_chunk_breaks)
    records = [{"LastName": f"Mid-{i}", "Test_Member_Id__c": f"MID-{i}"} for i in range(450)]
    with pytest.raises(SalesforceOperationError, match="RuntimeError: the disk went away"):
        sf.bulk2.Contact.insert(records=records, wait=QUICK)
    # simple-salesforce orders the CSV columns as a set does, so find the job by a value, not a position
    [job] = [j for j in org.context.extras["bulk2_jobs"].jobs("V2Ingest") if j.rows and "Mid-0" in j.rows[0]]
    assert job.state == "Failed" and len(job.results) == 200
    unprocessed = rows_of(rest(org, "GET", f"ingest/{job.id}/unprocessedRecords").text)
    assert [r["LastName"] for r in unprocessed] == [f"Mid-{i}" for i in range(200, 450)], "nothing lost"
    assert len(rows_of(rest(org, "GET", f"ingest/{job.id}/successfulResults").text)) == 200
    assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c LIKE 'MID-%'")["totalSize"] == 200
