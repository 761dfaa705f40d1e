"""Bulk API 1.0 on the local org, driven by clients nobody here wrote: the `salesforce_bulk` library
(what CumulusCI uses) and CumulusCI's own `snowfakery` data step, which switches to Bulk at 2,000
records."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests
from salesforce_bulk import SalesforceBulk
from salesforce_bulk.util import IteratorBytesIO

from localcloud.salesforce.http import bulk
from localcloud.salesforce.server import start_local_org
from tests.localorg_http.cci import cci_env, run_cci, run_snowfakery
from tests.localorg_http.fixtures import FIXTURE_MEMBERS, mdapi_files, meta
from tests.mdapi import package_xml, zip_files

NS = {"b": bulk.ASYNC_NS}

# A trigger on Contact: before insert it rejects one marked row (Apex addError on a field), after
# insert it writes one Test_Order__c per trigger chunk naming the chunk's size.
CONTACT_TRIGGER = """trigger BulkContactTrigger on Contact (before insert, after insert) {
    if (Trigger.isBefore) {
        for (Contact c : Trigger.new) {
            if (c.LastName == 'Reject-Me') {
                c.LastName.addError('Rejected by BulkContactTrigger');
            }
        }
    } else {
        insert new Test_Order__c(Name = 'chunk ' + Trigger.new.size());
    }
}
"""


def _bulk_fixture_zip() -> bytes:
    files = mdapi_files()
    files["triggers/BulkContactTrigger.trigger"] = CONTACT_TRIGGER
    files["triggers/BulkContactTrigger.trigger-meta.xml"] = meta("ApexTrigger")
    files["package.xml"] = package_xml({**FIXTURE_MEMBERS, "ApexTrigger": ["BulkContactTrigger", "TestOrderTrigger"]})
    return zip_files(files)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory, certificates):
    running = start_local_org(tmp_path_factory.mktemp("bulk-org"), tls_dir=certificates.ca_cert.parent)
    job = running.deployer.deploy_zip(_bulk_fixture_zip())
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    yield running
    running.stop()


@pytest.fixture
def client(org) -> SalesforceBulk:
    return SalesforceBulk(sessionId=org.access_token, host=org.url, API_version="62.0")


def query(org, soql: str) -> dict:
    response = requests.get(org.url + "/services/data/v62.0/query", params={"q": soql},
                            headers={"Authorization": f"Bearer {org.access_token}"})
    response.raise_for_status()
    return response.json()


def csv_lines(header: list[str], rows: list[list[str]]):
    """A generator body, as CumulusCI posts it (requests sends it chunked)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    for row in [header, *rows]:
        writer.writerow(row)
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate(0)


def run_batch(client: SalesforceBulk, job: str, body) -> list:
    batch = client.post_batch(job, body)
    client.wait_for_batch(job, batch, timeout=30, sleep_interval=1)
    return client.get_batch_results(batch, job)


def test_insert_of_2500_contacts_one_bad_row_fails_alone_and_triggers_run_per_200(org, client) -> None:
    rows = [[f"Bulk{i}", f"bulk{i}@example.jp", f"B-{i}"] for i in range(2500)]
    rows[1234] = ["Reject-Me", "reject@example.jp", "B-REJECT"]
    job = client.create_insert_job("Contact", contentType="CSV")
    results = run_batch(client, job, csv_lines(["LastName", "Email", "Test_Member_Id__c"], rows))
    client.close_job(job)

    assert len(results) == 2500, "one result row per input row"
    bad = results[1234]
    assert (bad.success, bad.created, bad.id) == ("false", "false", "")
    assert bad.error == "FIELD_CUSTOM_VALIDATION_EXCEPTION:Rejected by BulkContactTrigger:LastName --"
    good = [r for i, r in enumerate(results) if i != 1234]
    assert all(r.success == "true" and r.created == "true" and r.id.startswith("003") for r in good)
    assert len({r.id for r in good}) == 2499

    assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c LIKE 'B-%'")["totalSize"] == 2499
    assert query(org, "SELECT COUNT() FROM Contact WHERE LastName = 'Reject-Me'")["totalSize"] == 0
    ends = query(org, "SELECT Id, Test_Member_Id__c FROM Contact WHERE Test_Member_Id__c IN ('B-0', 'B-2499')")
    by_key = {r["Test_Member_Id__c"]: r["Id"] for r in ends["records"]}
    assert by_key["B-0"] == results[0].id and by_key["B-2499"] == results[2499].id, "results follow input order"

    chunks = sorted(int(r["Name"].split()[1]) for r in query(org, "SELECT Name FROM Test_Order__c WHERE Name LIKE 'chunk %'")["records"])
    assert len(chunks) == 13 and max(chunks) == 200 and sum(chunks) == 2499, chunks

    status = client.job_status(job)
    assert status["state"] == "Closed"
    assert (status["numberRecordsProcessed"], status["numberRecordsFailed"], status["numberBatchesCompleted"]) == ("2500", "1", "1")


def test_upsert_on_an_external_id_update_with_na_and_delete(org, client) -> None:
    members = [["Member", f"U-{i}", f"u{i}@example.jp"] for i in range(3)]
    assert all(r.success == "true" for r in run_batch(
        client, client.create_insert_job("Contact"), csv_lines(["LastName", "Test_Member_Id__c", "Email"], members)))

    header = ["Order_Number__c", "Name", "Total__c", "Member__r.Test_Member_Id__c"]
    job = client.create_upsert_job("Test_Order__c", "Order_Number__c", contentType="CSV")
    first = run_batch(client, job, csv_lines(header, [["UO-1", "first", "1000", "U-0"], ["UO-2", "second", "2000", "U-1"]]))
    assert [(r.success, r.created) for r in first] == [("true", "true"), ("true", "true")]
    again = run_batch(client, job, csv_lines(header, [
        ["UO-1", "first again", "", "U-2"],       # empty Total__c: left as it is
        ["UO-3", "third", "3000", "NO-SUCH"],     # unknown parent: fails alone
        ["UO-4", "fourth", "4000", ""],
    ]))
    client.close_job(job)
    assert (again[0].success, again[0].created, again[0].id) == ("true", "false", first[0].id)
    assert again[1].success == "false" and again[1].error.startswith("INVALID_FIELD:Foreign key external ID: NO-SUCH not found")
    assert (again[2].success, again[2].created) == ("true", "true")
    orders = {r["Order_Number__c"]: r for r in query(
        org, "SELECT Order_Number__c, Name, Total__c, Member__r.Test_Member_Id__c FROM Test_Order__c WHERE Order_Number__c LIKE 'UO-%'")["records"]}
    assert set(orders) == {"UO-1", "UO-2", "UO-4"}
    assert (orders["UO-1"]["Name"], orders["UO-1"]["Total__c"], orders["UO-1"]["Member__r"]["Test_Member_Id__c"]) == ("first again", 1000, "U-2")

    update = client.create_update_job("Test_Order__c", contentType="CSV")
    updated = run_batch(client, update, csv_lines(["Id", "Total__c", "Name"], [
        [first[1].id, "#N/A", ""],                # #N/A nulls Total__c, empty Name stays
        ["not-an-id", "5", "x"],
    ]))
    client.close_job(update)
    assert (updated[0].success, updated[0].created) == ("true", "false")
    assert updated[1].success == "false" and updated[1].error.startswith("MALFORMED_ID:")
    second = query(org, f"SELECT Name, Total__c FROM Test_Order__c WHERE Id = '{first[1].id}'")["records"][0]
    assert (second["Name"], second["Total__c"]) == ("second", None)

    delete = client.create_delete_job("Test_Order__c", contentType="CSV")
    deleted = run_batch(client, delete, csv_lines(["Id"], [[first[0].id], [again[2].id]]))
    client.close_job(delete)
    assert [r.success for r in deleted] == ["true", "true"]
    assert {r["Order_Number__c"] for r in query(org, "SELECT Order_Number__c FROM Test_Order__c WHERE Order_Number__c LIKE 'UO-%'")["records"]} == {"UO-2"}


def test_query_job_returns_csv_results_and_says_when_nothing_matched(org, client) -> None:
    run_batch(client, client.create_insert_job("Contact"), csv_lines(
        ["LastName", "Email", "Test_Member_Id__c"], [[f"Query{i}", f"q{i}@example.jp", f"Q-{i}"] for i in range(2100)]))
    job = client.create_query_job("Contact", contentType="CSV")
    batch = client.query(job, "SELECT Id, LastName, Email FROM Contact WHERE LastName LIKE 'Query%' ORDER BY LastName")
    client.wait_for_batch(job, batch, timeout=30, sleep_interval=1)
    [result_id] = client.get_query_batch_result_ids(batch, job_id=job)
    text = client.get_query_batch_results(batch, result_id, job_id=job).read().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Id", "LastName", "Email"]
    assert len(rows) == 2101 and rows[1][1:] == ["Query0", "q0@example.jp"] and rows[1][0].startswith("003")
    assert text.startswith('"Id","LastName","Email"\n"003'), "every value is quoted, as Salesforce writes it"

    empty = client.query(job, "SELECT Id FROM Contact WHERE LastName = 'nobody'")
    client.wait_for_batch(job, empty, timeout=30, sleep_interval=1)
    [empty_id] = client.get_query_batch_result_ids(empty, job_id=job)
    assert client.get_query_batch_results(empty, empty_id, job_id=job).read() == b"Records not found for this query"

    broken = client.query(job, "SELECT Nope__c FROM Contact")
    with pytest.raises(Exception, match="InvalidBatch : Failed to process query"):
        client.wait_for_batch(job, broken, timeout=30, sleep_interval=1)
    client.close_job(job)

    batches = client.get_batch_list(job)
    assert [b["state"] for b in batches] == ["Completed", "Completed", "Failed"]

    # a JSON query job, as CumulusCI reads previous values before an update or upsert
    json_job = client.create_query_job("Contact", contentType="JSON")
    json_batch = client.query(json_job, "SELECT Id, Test_Member_Id__c FROM Contact WHERE Test_Member_Id__c IN ('Q-1', 'Q-2')")
    client.wait_for_batch(json_job, json_batch, timeout=30, sleep_interval=1)
    client.close_job(json_job)
    [records] = [json.load(IteratorBytesIO(r)) for r in client.get_all_results_for_query_batch(json_batch, json_job)]
    assert sorted(r["Test_Member_Id__c"] for r in records) == ["Q-1", "Q-2"] and all(r["Id"].startswith("003") for r in records)


def _post(org, path: str, body: bytes, session: str | None = None, content_type: str = "application/xml") -> requests.Response:
    return requests.post(f"{org.url}/services/async/62.0/{path}", data=body,
                         headers={"X-SFDC-Session": session or org.access_token, "Content-Type": content_type})


def _job_xml(operation: str, sobject: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{bulk.ASYNC_NS}"><operation>{operation}</operation>'
            f"<object>{sobject}</object>{extra}<contentType>CSV</contentType></jobInfo>").encode()


def _error_of(response: requests.Response) -> tuple[str, str]:
    tree = ET.fromstring(response.content)
    return tree.findtext("b:exceptionCode", namespaces=NS), tree.findtext("b:exceptionMessage", namespaces=NS)


def test_errors_answer_the_bulk_api_shapes(org, client, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = _post(org, "job", _job_xml("insert", "Contact"), session="00Dbogus!token")
    assert answer.status_code == 400 and _error_of(answer)[0] == "InvalidSessionId"

    answer = _post(org, "job", _job_xml("insert", "No_Such__c"))
    assert answer.status_code == 400 and _error_of(answer) == ("InvalidJob", "Unable to find object: No_Such__c")
    assert _error_of(_post(org, "job", _job_xml("upsert", "Contact")))[0] == "InvalidJob"

    created = _post(org, "job", _job_xml("insert", "Contact"))
    assert created.status_code == 201 and created.headers["Content-Type"] == "application/xml"
    job = ET.fromstring(created.content).findtext("b:id", namespaces=NS)
    assert ET.fromstring(created.content).findtext("b:state", namespaces=NS) == "Open"

    unknown_field = _post(org, f"job/{job}/batch", b'"LastName","Nope__c"\n"x","y"\n', content_type="text/csv")
    info = ET.fromstring(unknown_field.content)
    assert info.findtext("b:state", namespaces=NS) == "Failed"
    assert info.findtext("b:stateMessage", namespaces=NS) == "InvalidBatch : Field name not found : Nope__c"

    monkeypatch.setattr(bulk, "MAX_RECORDS", 3)
    too_many = _post(org, f"job/{job}/batch", b'"LastName"\n"a"\n"b"\n"c"\n"d"\n', content_type="text/csv")
    assert ET.fromstring(too_many.content).findtext("b:stateMessage", namespaces=NS).startswith("InvalidBatch : Exceeded number of records: 4")
    monkeypatch.setattr(bulk, "MAX_CHARACTERS", 10)
    too_big = _post(org, f"job/{job}/batch", b'"LastName"\n"abcdefghij"\n', content_type="text/csv")
    assert too_big.status_code == 400 and _error_of(too_big) == ("InvalidBatch", "Exceeded max size limit of 10")
    assert query(org, "SELECT COUNT() FROM Contact WHERE LastName IN ('a','b','c','d','abcdefghij')")["totalSize"] == 0

    client.close_job(job)
    closed = _post(org, f"job/{job}/batch", b'"LastName"\n"late"\n', content_type="text/csv")
    assert _error_of(closed)[0] == "InvalidJobState"
    assert _error_of(_post(org, "job/7508d0000000000AAA/batch", b""))[0] == "InvalidJob"



SNOWFAKERY_RECIPE = """
- object: Account
  count: 2100
  fields:
    Name: Company ${{id}}
  friends:
    - object: Contact
      fields:
        LastName:
          fake: last_name
        Email: bulk${{id}}@example.jp
        Test_Member_Id__c: SF-${{id}}
        AccountId:
          reference: Account
"""

EXTRACT_MAPPING = """
Insert Contact:
  sf_object: Contact
  fields:
    - LastName
    - Email
    - Test_Member_Id__c
"""


def test_cumulusci_snowfakery_and_extract_of_2100_accounts_and_contacts_go_through_bulk(tmp_path: Path, certificates) -> None:
    """CumulusCI itself chooses Bulk API 1.0 for 2,000+ records a step; every row and lookup arrives in the org."""
    org = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    try:
        assert org.deployer.deploy_zip(_bulk_fixture_zip()).status == "Succeeded"
        output = run_snowfakery(org, tmp_path, SNOWFAKERY_RECIPE)
        assert "Account: 2,100 successes, 0 errors" in output and "Contact: 2,100 successes, 0 errors" in output, output[-3000:]
        assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c LIKE 'SF-%'")["totalSize"] == 2100
        linked = query(org, "SELECT Test_Member_Id__c, Account.Name FROM Contact WHERE Test_Member_Id__c IN ('SF-1', 'SF-2100')")
        assert {r["Test_Member_Id__c"]: r["Account"]["Name"] for r in linked["records"]} == {
            "SF-1": "Company 1", "SF-2100": "Company 2100"}, "CumulusCI's lookups resolved to the Bulk-loaded Accounts"
        jobs = org.context.extras["bulk_jobs"].jobs()
        loaded = [j for j in jobs if j.sobject == "Contact" and j.operation == "insert"]
        assert loaded and sum(j.info()["numberRecordsProcessed"] for j in loaded) == 2100, "CumulusCI used Bulk API 1.0"
        chunks = query(org, "SELECT Name FROM Test_Order__c WHERE Name LIKE 'chunk %'")["records"]
        assert sum(int(r["Name"].split()[1]) for r in chunks) == 2100, "the Contact trigger saw every row"

        # and back out: CumulusCI's extract_dataset reads 2,000+ rows with a Bulk API query job
        (tmp_path / "mapping.yml").write_text(EXTRACT_MAPPING)
        extract = run_cci(tmp_path / "project", cci_env(org, tmp_path / "home"), "task", "run", "extract_dataset", "--org", "local",
                          "-o", "mapping", str(tmp_path / "mapping.yml"), "-o", "sql_path", str(tmp_path / "extract.sql"))
        extract_output = " ".join((extract.stdout + extract.stderr).split())
        assert extract.returncode == 0, extract_output[-3000:]
        assert [j for j in org.context.extras["bulk_jobs"].jobs() if j.sobject == "Contact" and j.operation == "query"], "CumulusCI extracted with Bulk API 1.0"
        dump = (tmp_path / "extract.sql").read_text()
        assert sum(1 for i in range(1, 2101) if f"'SF-{i}'" in dump) == 2100, extract_output[-2000:]
    finally:
        org.stop()


def test_bulk_calls_count_against_the_daily_api_requests(org, monkeypatch: pytest.MonkeyPatch) -> None:
    today = org.context.today()
    before = org.context.identity.api_calls(today)
    created = _post(org, "job", _job_xml("insert", "Contact"))
    job = ET.fromstring(created.content).findtext("b:id", namespaces=NS)
    assert requests.get(f"{org.url}/services/async/62.0/job/{job}",
                        headers={"X-SFDC-Session": org.access_token}).status_code == 200
    assert org.context.identity.api_calls(today) == before + 2, "each Bulk API call is one API request"
    monkeypatch.setattr(org.context, "daily_api_requests", before + 2)
    refused = _post(org, "job", _job_xml("insert", "Contact"))
    assert refused.status_code == 403
    assert _error_of(refused) == ("ExceededQuota", "TotalRequests Limit exceeded.")
