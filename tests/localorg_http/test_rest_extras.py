"""Composite, composite batch, collection retrieve and the REST error answers for bad requests."""
from __future__ import annotations

import uuid

import requests

API = "/services/data/v62.0"


def call(org, method: str, path: str, **kwargs) -> requests.Response:
    headers = {"Authorization": f"Bearer {org.access_token}", **kwargs.pop("headers", {})}
    return requests.request(method, org.url + API + path, headers=headers, **kwargs)


def test_composite_with_references_in_one_transaction(deployed_org) -> None:
    key = f"C-{uuid.uuid4().hex[:8]}"
    response = call(deployed_org, "POST", "/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": API + "/sobjects/Contact", "referenceId": "member", "body": {"LastName": "Comp", "Test_Member_Id__c": key}},
        {"method": "POST", "url": API + "/sobjects/Test_Order__c", "referenceId": "order", "body": {"Name": "O1", "Member__c": "@{member.id}"}},
        {"method": "GET", "url": API + "/sobjects/Test_Order__c/@{order.id}?fields=Member__c", "referenceId": "read"},
    ]})
    assert response.status_code == 200
    answers = response.json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 201, 200]
    assert answers[2]["body"]["Member__c"] == answers[0]["body"]["id"]
    assert answers[0]["httpHeaders"]["Location"].endswith(answers[0]["body"]["id"])


def test_composite_all_or_none_rolls_back_every_subrequest(deployed_org) -> None:
    marker = f"halt-{uuid.uuid4().hex[:8]}"
    answers = call(deployed_org, "POST", "/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": API + "/sobjects/Contact", "referenceId": "ok", "body": {"LastName": marker}},
        {"method": "POST", "url": API + "/sobjects/Contact", "referenceId": "bad", "body": {"FirstName": marker}},
    ]}).json()["compositeResponse"]
    assert answers[0]["body"][0]["errorCode"] == "PROCESSING_HALTED" and answers[0]["httpStatusCode"] == 400
    assert answers[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    count = call(deployed_org, "GET", "/query", params={"q": f"SELECT COUNT() FROM Contact WHERE LastName = '{marker}'"}).json()
    assert count["totalSize"] == 0


def test_composite_batch_runs_independent_subrequests(deployed_org) -> None:
    body = call(deployed_org, "POST", "/composite/batch", json={"batchRequests": [
        {"method": "POST", "url": "v62.0/sobjects/Contact", "richInput": {"LastName": "Batch"}},
        {"method": "GET", "url": "v62.0/sobjects/Contact/003000000000000AAA"},
        {"method": "GET", "url": "v62.0/limits"},
    ]}).json()
    assert body["hasErrors"] is True
    assert [r["statusCode"] for r in body["results"]] == [201, 404, 200]


def test_collection_retrieve(deployed_org) -> None:
    ids = [call(deployed_org, "POST", "/sobjects/Contact/", json={"LastName": f"r{n}"}).json()["id"] for n in range(3)]
    rows = call(deployed_org, "GET", "/composite/sobjects/Contact", params={"ids": ",".join(ids), "fields": "LastName"}).json()
    assert [r["LastName"] for r in rows] == ["r0", "r1", "r2"]


def test_bad_requests_answer_salesforce_errors(deployed_org) -> None:
    bad_json = call(deployed_org, "POST", "/sobjects/Contact/", data=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    unknown_object = call(deployed_org, "GET", "/sobjects/Nope__c/describe")
    assert unknown_object.status_code == 404 and unknown_object.json()[0]["errorCode"] == "NOT_FOUND"
    unknown_path = call(deployed_org, "GET", "/nothing/here")
    assert unknown_path.status_code == 404 and unknown_path.json()[0]["errorCode"] == "NOT_FOUND"
    too_many = call(deployed_org, "POST", "/composite/sobjects", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "x"}] * 201})
    assert too_many.status_code == 400
    missing = call(deployed_org, "PATCH", "/sobjects/Contact/003000000000000AAA", json={"LastName": "x"})
    assert missing.status_code == 404


def test_bulk_api_1_and_2_answer_their_error_shapes(deployed_org) -> None:
    """Bulk API 1.0 itself is tested in test_bulk_api.py, 2.0 in test_bulk2_api.py."""
    job = requests.post(deployed_org.url + "/services/async/62.0/job", data=b"<jobInfo/>",
                        headers={"X-SFDC-Session": deployed_org.access_token, "Content-Type": "application/xml"})
    assert job.status_code == 400
    assert "<exceptionCode>InvalidJob</exceptionCode>" in job.text and "Invalid operation" in job.text
    bad = requests.post(deployed_org.url + "/services/async/62.0/job", data=b"<jobInfo/>", headers={"X-SFDC-Session": "nope"})
    assert "<exceptionCode>InvalidSessionId</exceptionCode>" in bad.text
    v2 = call(deployed_org, "POST", "/jobs/ingest", json={"object": "Contact", "operation": "merge"})
    assert v2.status_code == 400 and v2.json()[0]["errorCode"] == "INVALIDJOB"
    assert requests.post(deployed_org.url + API + "/jobs/ingest", json={}).status_code == 401
