"""Bulk lead extract of the local Marketo: job states, the queue, the daily bytes, the window, the file."""

from __future__ import annotations

import hashlib
import time

from marketorestpython.client import MarketoClient as MrpClient

from localcloud.marketo.service import LocalMarketo, wait_for
from tests.localmarketo.conftest import Api

WINDOW = {"createdAt": {"startAt": "2000-01-01T00:00:00Z", "endAt": "2000-01-31T00:00:00Z"}}


def now_window() -> dict:
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 86400))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    return {"createdAt": {"startAt": start, "endAt": end}}


def codes(answer: dict) -> list[str]:
    return [e["code"] for e in answer.get("errors") or []]


def create(api: Api, **body) -> dict:
    return api.post("/bulk/v1/leads/export/create.json", json={"fields": ["id", "email"], "filter": WINDOW, **body})


def status(api: Api, export_id: str) -> str:
    return api.get(f"/bulk/v1/leads/export/{export_id}/status.json")["result"][0]["status"]


def test_a_job_goes_created_queued_processing_completed_and_serves_the_requested_fields(
        marketo: LocalMarketo, api: Api) -> None:
    api.post("/rest/v1/leads.json", json={"input": [{"email": "a@example.jp", "firstName": "Ann"},
                                                    {"email": "b@example.jp"}]})
    marketo.service.update_settings(bulk_extract_hold_seconds=0.3)
    job = create(api, fields=["email", "firstName", "id"], filter=now_window(),
                 columnHeaderNames={"firstName": "First Name"})["result"][0]
    assert job["status"] == "Created" and job["format"] == "CSV"
    export_id = job["exportId"]
    missing = api.call("GET", f"/bulk/v1/leads/export/{export_id}/file.json")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/plain")
    assert api.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")["result"][0]["status"] == "Queued"
    assert wait_for(lambda: status(api, export_id) == "Processing", 5)
    assert wait_for(lambda: status(api, export_id) == "Completed", 5)
    [done] = api.get(f"/bulk/v1/leads/export/{export_id}/status.json")["result"]
    content = api.call("GET", f"/bulk/v1/leads/export/{export_id}/file.json").content
    assert content.decode() == "email,First Name,id\na@example.jp,Ann,1\nb@example.jp,null,2\n"
    assert done["numberOfRecords"] == 2 and done["fileSize"] == len(content)
    assert done["fileChecksum"] == "sha256:" + hashlib.sha256(content).hexdigest()
    assert codes(api.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")) == ["1003"]
    listed = api.get("/bulk/v1/leads/export.json", params={"status": "Completed"})["result"]
    assert [j["exportId"] for j in listed] == [export_id]


def test_bad_jobs_are_refused_with_marketos_codes(marketo: LocalMarketo, api: Api) -> None:
    assert codes(create(api, filter={"createdAt": {"startAt": "2024-01-01T00:00:00Z",
                                                   "endAt": "2024-02-02T00:00:00Z"}})) == ["1003"], "over 31 days"
    assert codes(create(api, filter={"updatedAt": WINDOW["createdAt"]})) == ["1035"]
    assert codes(create(api, filter={"staticListId": 7})) == ["1035"]
    assert codes(create(api, fields=["id", "nope"])) == ["1006"]
    assert codes(create(api, fields=[])) == ["701"]
    assert codes(create(api, format="XML")) == ["1003"]
    marketo.service.update_settings(bulk_lead_extract=False)
    assert codes(create(api)) == ["703"]


def test_two_run_at_once_ten_wait_and_the_eleventh_is_refused(marketo: LocalMarketo, api: Api) -> None:
    marketo.service.update_settings(bulk_extract_hold_seconds=30)
    ids = [create(api)["result"][0]["exportId"] for _ in range(11)]
    for export_id in ids[:10]:
        assert api.post(f"/bulk/v1/leads/export/{export_id}/enqueue.json")["success"]
    refused = api.post(f"/bulk/v1/leads/export/{ids[10]}/enqueue.json")
    assert refused["errors"] == [{"code": "1029", "message": "Too many jobs in queue"}]
    assert wait_for(lambda: [status(api, i) for i in ids[:3]] == ["Processing", "Processing", "Queued"], 5)
    time.sleep(0.3)
    assert sum(status(api, i) == "Processing" for i in ids) == 2
    assert api.post(f"/bulk/v1/leads/export/{ids[0]}/cancel.json")["result"][0]["status"] == "Cancelled"
    assert api.post(f"/bulk/v1/leads/export/{ids[10]}/enqueue.json")["success"], "a cancelled job frees its place"
    for export_id in ids:
        api.post(f"/bulk/v1/leads/export/{export_id}/cancel.json")


def test_the_daily_export_quota_is_counted_in_bytes(marketo: LocalMarketo, api: Api) -> None:
    api.post("/rest/v1/leads.json", json={"input": [{"email": f"p{i}@example.jp"} for i in range(20)]})
    marketo.service.update_settings(bulk_extract_daily_bytes=200)
    first = create(api, filter=now_window())["result"][0]["exportId"]
    second = create(api, filter=now_window())["result"][0]["exportId"]
    api.post(f"/bulk/v1/leads/export/{first}/enqueue.json")
    assert wait_for(lambda: status(api, first) == "Completed", 5)
    assert marketo.service.extracts.bytes_today() > 200
    assert api.post(f"/bulk/v1/leads/export/{second}/enqueue.json")["errors"] == [
        {"code": "1029", "message": "Export daily quota exceeded"}]
    assert create(api)["errors"][0]["code"] == "1029"


def test_marketorestpython_bulk_lead_extract_unmodified(marketo: LocalMarketo) -> None:
    mc = MrpClient("123-ABC-456", marketo.client_id, marketo.client_secret)
    mc.host = marketo.url
    mc.execute(method="create_update_leads", leads=[{"email": "m@example.jp", "firstName": "Mei"}])
    [job] = mc.execute(method="create_leads_export_job", fields=["id", "email", "firstName"], filters=now_window())
    assert job["status"] == "Created"
    assert mc.execute(method="enqueue_leads_export_job", job_id=job["exportId"])[0]["status"] == "Queued"
    assert wait_for(lambda: mc.execute(method="get_leads_export_job_status",
                                       job_id=job["exportId"])[0]["status"] == "Completed", 5)
    content = mc.execute(method="get_leads_export_job_file", job_id=job["exportId"])
    assert content == b"id,email,firstName\n1,m@example.jp,Mei\n"
    assert [j["exportId"] for j in mc.execute(method="get_leads_export_jobs_list")] == [job["exportId"]]
