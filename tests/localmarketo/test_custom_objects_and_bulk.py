"""Custom objects (actions, dedupeBy, reasons, queries, delete) and bulk lead import (queueing, 1016)."""

from __future__ import annotations

from localcloud.marketo.service import LocalMarketo, wait_for
from tests.localmarketo.conftest import Api

CO = "/rest/v1/customobjects/ecOrder_c.json"


def lead(api: Api, email: str) -> int:
    return api.post("/rest/v1/leads.json", json={"input": [{"email": email}]})["result"][0]["id"]


def test_custom_object_actions_and_reasons(api: Api) -> None:
    owner = lead(api, "o@example.com")
    created = api.post(
        CO,
        json={
            "action": "createOnly",
            "input": [
                {
                    "orderNumber": "A-1",
                    "leadId": owner,
                    "orderDate": "2024-01-02T03:04:05Z",
                    "lineCount": 2,
                },
                {"orderNumber": "A-2"},
                {"leadId": owner},
                {"orderNumber": "A-3", "leadId": owner, "lineCount": "two"},
                {"orderNumber": "A-4", "leadId": owner, "colour": "red"},
            ],
        },
    )["result"]
    assert created[0]["status"] == "created"
    assert [r["seq"] for r in created] == [0, 1, 2, 3, 4]
    assert created[1]["reasons"][0]["code"] == "1003"  # no link to a lead
    assert created[2]["reasons"][0]["code"] == "1003"  # no dedupe field
    assert created[3]["reasons"][0]["code"] == "1001"
    assert created[4]["reasons"][0] == {"code": "1006", "message": "Field 'colour' not found"}
    again = api.post(
        CO, json={"action": "createOnly", "input": [{"orderNumber": "A-1", "leadId": owner}]}
    )
    assert again["result"][0]["reasons"][0]["code"] == "1017"
    update_missing = api.post(
        CO, json={"action": "updateOnly", "input": [{"orderNumber": "Z-9", "status": "x"}]}
    )
    assert update_missing["result"][0]["reasons"][0]["code"] == "1013"
    guid = created[0]["marketoGUID"]
    by_id = api.post(
        CO,
        json={
            "action": "updateOnly",
            "dedupeBy": "idField",
            "input": [{"marketoGUID": guid, "status": "shipped"}],
        },
    )
    assert by_id["result"] == [{"seq": 0, "status": "updated", "marketoGUID": guid}]
    assert (
        api.post(
            CO,
            json={
                "action": "createOrUpdate",
                "dedupeBy": "idField",
                "input": [{"marketoGUID": guid}],
            },
        )["errors"][0]["code"]
        == "1003"
    )
    got = api.get(CO, params={"filterType": "idField", "filterValues": guid})["result"]
    assert set(got[0]) == {"seq", "marketoGUID", "orderNumber", "createdAt", "updatedAt"}
    full = api.get(
        CO,
        params={
            "filterType": "orderNumber",
            "filterValues": "A-1",
            "fields": "status,orderDate,lineCount",
        },
    )["result"]
    assert full == [
        {"seq": 0, "status": "shipped", "orderDate": "2024-01-02T03:04:05Z", "lineCount": 2}
    ]
    assert (
        api.get(
            "/rest/v1/customobjects/noSuch_c.json", params={"filterType": "x", "filterValues": "y"}
        )["success"]
        is False
    )


def test_custom_object_link_to_a_merged_lead_follows_the_setting(
    api: Api, marketo: LocalMarketo
) -> None:
    winner, loser = lead(api, "w@example.com"), lead(api, "l@example.com")
    api.post(f"/rest/v1/leads/{winner}/merge.json", params={"leadId": loser})
    rejected = api.post(CO, json={"input": [{"orderNumber": "M-1", "leadId": loser}]})["result"][0]
    assert rejected["reasons"] == [{"code": "1004", "message": "Lead not found"}]
    marketo.service.update_settings(link_to_merged_lead="follow")
    followed = api.post(CO, json={"input": [{"orderNumber": "M-1", "leadId": loser}]})["result"][0]
    assert followed["status"] == "created"
    row = api.get(
        CO, params={"filterType": "orderNumber", "filterValues": "M-1", "fields": "leadId"}
    )["result"]
    assert row == [{"seq": 0, "leadId": winner}]


def test_custom_object_describe_list_and_delete(api: Api) -> None:
    described = api.get("/rest/v1/customobjects/ecOrder_c/describe.json")["result"][0]
    names = [f["name"] for f in described["fields"]]
    assert names[:3] == ["marketoGUID", "createdAt", "updatedAt"] and "productNames" in names
    assert ["orderNumber"] in described["searchableFields"] and ["leadId"] in described[
        "searchableFields"
    ]
    assert api.get("/rest/v1/customobjects.json", params={"names": "other"})["result"] == []
    owner = lead(api, "d@example.com")
    made = api.post(CO, json={"input": [{"orderNumber": "D-1", "leadId": owner}]})["result"][0]
    gone = api.post(
        "/rest/v1/customobjects/ecOrder_c/delete.json",
        json={
            "deleteBy": "idField",
            "input": [{"marketoGUID": made["marketoGUID"]}, {"marketoGUID": "x"}],
        },
    )
    assert (
        gone["result"][0]["status"] == "deleted"
        and gone["result"][1]["reasons"][0]["code"] == "1013"
    )


def _import(api: Api, text: str, lookup: str = "email") -> dict:
    files = {"file": ("leads.csv", text.encode(), "text/csv")}
    return api.post(
        "/bulk/v1/leads.json", params={"format": "csv", "lookupField": lookup}, files=files
    )


def test_bulk_two_running_ten_in_the_queue_then_1016(api: Api, marketo: LocalMarketo) -> None:
    """Adobe: two jobs import at once; at most 10 jobs in the queue, including the two running."""
    marketo.service.update_settings(bulk_import_hold_seconds=30.0)
    jobs = [_import(api, f"email\nbulk{i}@example.com\n")["result"][0]["batchId"] for i in range(2)]
    assert wait_for(
        lambda: all(
            api.get(f"/bulk/v1/leads/batch/{j}.json")["result"][0]["status"] == "Importing"
            for j in jobs
        )
    )
    queued = [_import(api, f"email\nq{i}@example.com\n") for i in range(8)]
    assert all(q["success"] for q in queued)
    refused = _import(api, "email\nlast@example.com\n")
    assert refused["success"] is False and refused["errors"] == [
        {"code": "1016", "message": "Too many imports"}
    ]
    statuses = [
        api.get(f"/bulk/v1/leads/batch/{q['result'][0]['batchId']}.json")["result"][0]["status"]
        for q in queued
    ]
    assert statuses == ["Queued"] * 8
    marketo.service.update_settings(bulk_import_hold_seconds=0.0)
    last = queued[-1]["result"][0]["batchId"]
    assert wait_for(
        lambda: api.get(f"/bulk/v1/leads/batch/{last}.json")["result"][0]["status"] == "Complete",
        15,
    )
    assert marketo.service.store.count_leads() == 10


def test_bulk_import_bad_header_fails_the_job(api: Api) -> None:
    job = _import(api, "email,shoeSize\na@example.com,44\n")["result"][0]["batchId"]
    assert wait_for(
        lambda: api.get(f"/bulk/v1/leads/batch/{job}.json")["result"][0]["status"] == "Failed"
    )
    assert "shoeSize" in api.get(f"/bulk/v1/leads/batch/{job}.json")["result"][0]["message"]
    assert api.get("/bulk/v1/leads/batch/999.json")["success"] is False
    assert (
        api.post("/bulk/v1/leads.json", params={"format": "csv"}, json={"x": 1})["errors"][0][
            "code"
        ]
        == "613"
    )


def test_bulk_lookup_by_id_only_updates(api: Api) -> None:
    existing = lead(api, "byid@example.com")
    job = _import(api, f"id,firstName\n{existing},Updated\n999999,Nobody\n", "id")
    job = job["result"][0]["batchId"]
    assert wait_for(
        lambda: api.get(f"/bulk/v1/leads/batch/{job}.json")["result"][0]["status"] == "Complete"
    )
    status = api.get(f"/bulk/v1/leads/batch/{job}.json")["result"][0]
    assert (status["numOfLeadsProcessed"], status["numOfRowsFailed"]) == (1, 1)
    failures = api.call("GET", f"/bulk/v1/leads/batch/{job}/failures.json").text
    assert failures.splitlines()[0] == "id,firstName,Import Failure"
    assert failures.splitlines()[1].startswith("999999,Nobody,1004")
