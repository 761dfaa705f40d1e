"""Bulk custom object import: job, status shape, insert-or-update, failures file, 404s, shared queue."""

from __future__ import annotations

from localcloud.marketo.service import LocalMarketo, wait_for
from tests.localmarketo.conftest import Api

IMPORT = "/bulk/v1/customobjects/ecOrder_c/import"


def lead(api: Api, email: str) -> int:
    return api.post("/rest/v1/leads.json", json={"input": [{"email": email}]})["result"][0]["id"]


def submit(api: Api, text: str, name: str = "ecOrder_c", fmt: str = "csv") -> dict:
    files = {"file": ("orders.csv", text.encode("utf-8"), "text/csv")}
    return api.post(f"/bulk/v1/customobjects/{name}/import.json", params={"format": fmt}, files=files)


def status(api: Api, batch_id: int) -> dict:
    return api.get(f"{IMPORT}/{batch_id}/status.json")["result"][0]


def finished(api: Api, batch_id: int) -> dict:
    assert wait_for(lambda: status(api, batch_id)["status"] in ("Complete", "Failed"), 15)
    return status(api, batch_id)


def test_import_inserts_then_updates_and_reports_failed_rows(api: Api, marketo: LocalMarketo) -> None:
    owner = lead(api, "bulk-co@example.com")
    answer = submit(
        api,
        "orderNumber,leadId,totalAmount,productNames\n"
        f"C-1,{owner},12800,茶碗\n"
        f"C-2,{owner},500,\"湯呑, 急須\"\n"
        "C-3,999999,10,x\n"  # no such lead
        f"C-4,{owner},lots,y\n"  # not a number
        f",{owner},1,z\n",  # no dedupe value
    )
    assert answer["success"] is True
    job = answer["result"][0]
    assert job["status"] == "Queued" and job["objectApiName"] == "ecOrder_c"
    final = finished(api, job["batchId"])
    assert final["status"] == "Complete" and final["operation"] == "import"
    assert (final["numOfObjectsProcessed"], final["numOfRowsFailed"], final["numOfRowsWithWarning"]) == (2, 3, 0)
    assert final["message"] == "Import completed with errors, 2 records imported (2 members), 3 failed"
    assert final["importTime"].endswith("second(s)")
    failures = api.call("GET", f"{IMPORT}/{job['batchId']}/failures.json")
    assert failures.status_code == 200
    lines = failures.text.splitlines()
    assert lines[0] == "orderNumber,leadId,totalAmount,productNames,Import Failure Reason"
    assert lines[1].startswith("C-3,999999,10,x,1004")
    assert lines[2].startswith("C-4,") and ",1001 " in lines[2]
    assert lines[3].endswith(",missing.dedupe.fields")
    stored = api.get("/rest/v1/customobjects/ecOrder_c.json",
                     params={"filterType": "leadId", "filterValues": str(owner),
                             "fields": "orderNumber,totalAmount,productNames"})["result"]
    assert sorted((r["orderNumber"], r["totalAmount"], r["productNames"]) for r in stored) == [
        ("C-1", 12800, "茶碗"), ("C-2", 500, "湯呑, 急須")
    ]
    # the same order again: updated, not doubled (insert or update on the dedupe field)
    again = finished(api, submit(api, f"orderNumber,leadId,totalAmount\nC-1,{owner},13000\n")["result"][0]["batchId"])
    assert (again["numOfObjectsProcessed"], again["numOfRowsFailed"]) == (1, 0)
    stored = api.get("/rest/v1/customobjects/ecOrder_c.json",
                     params={"filterType": "orderNumber", "filterValues": "C-1", "fields": "totalAmount"})["result"]
    assert [r["totalAmount"] for r in stored] == [13000]
    # no failures, no warnings: HTTP 404, as Adobe documents
    assert api.call("GET", f"{IMPORT}/{again['batchId']}/failures.json").status_code == 404
    assert api.call("GET", f"{IMPORT}/{again['batchId']}/warnings.json").status_code == 404


def test_unknown_header_column_fails_the_rows_not_the_job(api: Api) -> None:
    """Adobe's example: a header " vin" (with a space) gives every row missing.dedupe.fields."""
    owner = lead(api, "space@example.com")
    job = submit(api, f"leadId, orderNumber\n{owner},S-1\n{owner},S-2\n")["result"][0]["batchId"]
    final = finished(api, job)
    assert (final["status"], final["numOfObjectsProcessed"], final["numOfRowsFailed"]) == ("Complete", 0, 2)
    assert final["message"] == "Import completed with errors, 0 records imported (0 members), 2 failed"
    text = api.call("GET", f"{IMPORT}/{job}/failures.json").text
    assert text.splitlines()[1:] == [f"{owner},S-1,missing.dedupe.fields", f"{owner},S-2,missing.dedupe.fields"]


def test_call_errors_and_kinds_kept_apart(api: Api) -> None:
    assert submit(api, "orderNumber\nX\n", name="noSuch_c")["errors"][0]["code"] == "1013"
    assert submit(api, "orderNumber\nX\n", fmt="xml")["errors"][0]["code"] == "1003"
    lead_job = api.post("/bulk/v1/leads.json", params={"format": "csv"},
                        files={"file": ("l.csv", b"email\nkind@example.com\n", "text/csv")})["result"][0]["batchId"]
    # a lead import is not found under a custom object's path, nor the other way round
    assert api.get(f"{IMPORT}/{lead_job}/status.json")["errors"][0]["code"] == "1013"
    co_job = submit(api, "orderNumber\nK-1\n")["result"][0]["batchId"]
    assert api.get(f"/bulk/v1/leads/batch/{co_job}.json")["errors"][0]["code"] == "1013"
    big = "orderNumber\n" + "x" * (10 * 1_048_576) + "\n"
    assert submit_raw_status(api, big) == 413


def submit_raw_status(api: Api, text: str) -> int:
    files = {"file": ("big.csv", text.encode(), "text/csv")}
    return api.call("POST", f"{IMPORT}.json", params={"format": "csv"}, files=files).status_code


def test_lead_and_custom_object_jobs_share_the_queue(api: Api, marketo: LocalMarketo) -> None:
    """Adobe lists the import limits once for all bulk imports: 2 importing, 10 queued in all."""
    marketo.service.update_settings(bulk_import_hold_seconds=30.0)
    owner = lead(api, "queue@example.com")
    leads = [api.post("/bulk/v1/leads.json", params={"format": "csv"},
                      files={"file": ("l.csv", f"email\nq{i}@example.com\n".encode(), "text/csv")})
             for i in range(5)]
    orders = [submit(api, f"orderNumber,leadId\nQ-{i},{owner}\n") for i in range(5)]
    assert all(answer["success"] for answer in leads + orders)
    refused = submit(api, f"orderNumber,leadId\nQ-9,{owner}\n")
    assert refused["errors"] == [{"code": "1016", "message": "Too many imports"}]
    assert wait_for(lambda: status(api, orders[0]["result"][0]["batchId"])["status"] == "Queued")
    assert api.get(f"/bulk/v1/leads/batch/{leads[1]['result'][0]['batchId']}.json")["result"][0]["status"] == "Importing"
    marketo.service.update_settings(bulk_import_hold_seconds=0.0)
    last = orders[-1]["result"][0]["batchId"]
    assert finished(api, last)["numOfObjectsProcessed"] == 1
