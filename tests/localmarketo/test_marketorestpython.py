"""marketorestpython 0.5.25, unmodified, against the local Marketo.

The client builds its base URL from the munchkin id (``https://{munchkin}.mktorest.com``) and has no
host parameter; its public ``host`` attribute is set to the local URL after construction.
"""

from __future__ import annotations

import time

import pytest
from marketorestpython.client import MarketoClient

from localcloud.marketo.service import LocalMarketo


@pytest.fixture()
def client(marketo: LocalMarketo) -> MarketoClient:
    mc = MarketoClient("123-ABC-456", marketo.client_id, marketo.client_secret)
    mc.host = marketo.url
    return mc


def test_token_is_fetched_and_reused(client: MarketoClient) -> None:
    client.authenticate()
    first = client.token
    assert first and first.endswith(":lc")
    assert 3500 < client.expires_in <= 3600
    client.valid_until = None  # force the client to ask again: Marketo answers with the same token
    client.authenticate()
    assert client.token == first


def test_bad_credentials_raise(marketo: LocalMarketo) -> None:
    mc = MarketoClient("123-ABC-456", marketo.client_id, "wrong")
    mc.host = marketo.url
    with pytest.raises(Exception, match="Bad client credentials"):
        mc.authenticate()


def test_lead_sync_and_query(client: MarketoClient) -> None:
    created = client.execute(
        method="create_update_leads",
        leads=[
            {"email": "ann@example.com", "firstName": "Ann", "ecMemberId": "M1"},
            {"email": "bob@example.com", "nope": "x"},
        ],
        action="createOrUpdate",
        lookupField="email",
    )
    assert created[0]["status"] == "created"
    assert created[1] == {
        "status": "skipped",
        "reasons": [{"code": "1006", "message": "Field 'nope' not found"}],
    }
    updated = client.execute(
        method="create_update_leads",
        leads=[{"ecMemberId": "M1", "lastName": "Lee"}],
        action="updateOnly",
        lookupField="ecMemberId",
    )
    assert updated == [{"id": created[0]["id"], "status": "updated"}]
    found = client.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=["ANN@example.com"],
        fields=["firstName", "lastName", "ecMemberId"],
    )
    assert found == [{"firstName": "Ann", "lastName": "Lee", "ecMemberId": "M1"}]
    assert (
        client.execute(
            method="get_multiple_leads_by_filter_type",
            filterType="email",
            filterValues=["none@example.com"],
        )
        == []
    )


def test_query_pages_through_next_page_token(client: MarketoClient) -> None:
    leads = [{"email": f"p{i}@example.com"} for i in range(7)]
    client.execute(method="create_update_leads", leads=leads, action="createOnly")
    found = client.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=[lead["email"] for lead in leads],
        fields=["email"],
        batchSize=3,
    )
    assert sorted(r["email"] for r in found) == sorted(lead["email"] for lead in leads)


def test_describe_and_describe2(client: MarketoClient) -> None:
    described = client.execute(method="describe")
    by_name = {f["rest"]["name"]: f for f in described}
    assert by_name["email"]["dataType"] == "email" and by_name["email"]["length"] == 255
    assert by_name["sfdcType"]["rest"]["readOnly"] is True
    second = client.execute(method="describe2")[0]
    assert second["name"] == "API Lead"
    assert ["ecMemberId"] in second["searchableFields"]
    fields = {f["name"]: f for f in second["fields"]}
    assert fields["lastOrderTotal"]["dataType"] == "currency"
    assert fields["sfdcContactId"]["crmManaged"] is True


def test_merge_keeps_winner_values_and_moves_history(
    client: MarketoClient, marketo: LocalMarketo
) -> None:
    ids = [
        r["id"]
        for r in client.execute(
            method="create_update_leads",
            action="createDuplicate",
            leads=[
                {"email": "dup@example.com", "firstName": "Winner"},
                {"email": "dup@example.com", "firstName": "Loser", "phone": "0312345678"},
            ],
        )
    ]
    client.execute(method="merge_lead", id=ids[0], leadIds=[ids[1]])
    rows = client.execute(
        method="get_multiple_leads_by_filter_type",
        filterType="email",
        filterValues=["dup@example.com"],
        fields=["id", "firstName", "phone"],
    )
    assert rows == [{"id": ids[0], "firstName": "Winner", "phone": "0312345678"}]
    tomb = marketo.service.tombstones()
    assert [(t["id"], t["kind"], t["mergedInto"]) for t in tomb] == [(ids[1], "merged", ids[0])]
    activities = client.execute(
        method="get_lead_activities",
        activityTypeIds=["12", "32"],
        sinceDatetime="2000-01-01T00:00:00Z",
        leadIds=str(ids[0]),
    )
    assert [a["activityTypeId"] for a in activities] == [12, 12, 32]
    assert {a["primaryAttributeValueId"] for a in activities if a["activityTypeId"] == 12} == set(
        ids
    )


def test_custom_objects(client: MarketoClient) -> None:
    lead_id = client.execute(method="create_update_leads", leads=[{"email": "co@example.com"}])[0][
        "id"
    ]
    listed = client.execute(method="get_list_of_custom_objects")
    assert [o["name"] for o in listed] == ["ecOrder_c"]
    described = client.execute(method="describe_custom_object", name="ecOrder_c")[0]
    assert described["idField"] == "marketoGUID" and described["dedupeFields"] == ["orderNumber"]
    assert described["relationships"][0]["relatedTo"] == {"name": "Lead", "field": "id"}
    synced = client.execute(
        method="create_update_custom_objects",
        name="ecOrder_c",
        input=[
            {"orderNumber": "O-1", "leadId": lead_id, "totalAmount": 1200, "status": "paid"},
            {"orderNumber": "O-2", "leadId": 987654},
        ],
    )
    assert synced[0]["seq"] == 0 and synced[0]["status"] == "created" and synced[0]["marketoGUID"]
    assert synced[1] == {
        "seq": 1,
        "status": "skipped",
        "reasons": [{"code": "1004", "message": "Lead not found"}],
    }
    again = client.execute(
        method="create_update_custom_objects",
        name="ecOrder_c",
        input=[{"orderNumber": "O-1", "status": "shipped"}],
    )
    assert again == [{"seq": 0, "status": "updated", "marketoGUID": synced[0]["marketoGUID"]}]
    got = client.execute(
        method="get_custom_objects",
        name="ecOrder_c",
        input=[{"orderNumber": "O-1"}],
        filterType="dedupeFields",
        fields=["orderNumber", "leadId", "status", "totalAmount"],
    )
    assert got == [
        {
            "seq": 0,
            "orderNumber": "O-1",
            "leadId": lead_id,
            "status": "shipped",
            "totalAmount": 1200.0,
        }
    ]
    deleted = client.execute(
        method="delete_custom_objects",
        name="ecOrder_c",
        input=[{"orderNumber": "O-1"}],
        deleteBy="dedupeFields",
    )
    assert deleted == [{"seq": 0, "marketoGUID": synced[0]["marketoGUID"], "status": "deleted"}]


def test_expired_token_is_replaced_by_a_new_one(
    client: MarketoClient, marketo: LocalMarketo
) -> None:
    client.execute(method="describe2")
    old = client.token
    marketo.service.expire_tokens()
    client.valid_until = time.time()  # the client's own clock says the token is at its end
    assert client.execute(method="describe2")[0]["name"] == "API Lead"
    assert client.token != old


def test_marketorestpython_cannot_recover_from_an_early_602(
    client: MarketoClient, marketo: LocalMarketo
) -> None:
    """A finding, kept as a test: on 602 the client re-authenticates only when its own clock says the token
    is within 60 s of its end; otherwise it retries 10 times with the dead token and returns None."""
    client.execute(method="describe2")
    marketo.service.expire_tokens()
    assert client.execute(method="describe2") is None


def test_bulk_import_with_status(client: MarketoClient, marketo: LocalMarketo, tmp_path) -> None:
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text(
        "email,firstName,lastOrderTotal\nimp1@example.com,One,100\nimp2@example.com,Two,abc\n"
    )
    job = client.execute(
        method="import_lead", format="csv", file=str(csv_file), lookupField="email"
    )[0]
    assert job["status"] == "Queued"
    from localcloud.marketo.service import wait_for

    assert wait_for(
        lambda: client.execute(method="get_import_lead_status", id=job["batchId"])[0]["status"]
        == "Complete"
    )
    status = client.execute(method="get_import_lead_status", id=job["batchId"])[0]
    assert status["numOfLeadsProcessed"] == 1 and status["numOfRowsFailed"] == 1
    failures = client.execute(method="get_import_failure_file", id=job["batchId"])
    assert "imp2@example.com" in failures and "1001" in failures


def test_lead_changes_and_deleted_leads(client: MarketoClient) -> None:
    lead_id = client.execute(
        method="create_update_leads", leads=[{"email": "chg@example.com", "firstName": "Old"}]
    )[0]["id"]
    client.execute(
        method="create_update_leads",
        leads=[{"email": "chg@example.com", "firstName": "New", "title": "CEO"}],
    )
    changes = client.execute(
        method="get_lead_changes", fields=["firstName"], sinceDatetime="2000-01-01", batchSize=1
    )
    assert [c["activityTypeId"] for c in changes] == [12, 13]  # the title change is not asked for
    assert changes[1]["leadId"] == lead_id
    assert changes[1]["fields"] == [
        {
            "id": changes[1]["fields"][0]["id"],
            "name": "firstName",
            "newValue": "New",
            "oldValue": "Old",
        }
    ]
    client.execute(method="delete_lead", id=[lead_id])
    deleted = client.execute(method="get_deleted_leads", sinceDatetime="2000-01-01")
    assert [(d["leadId"], d["activityTypeId"]) for d in deleted] == [(lead_id, 37)]
