"""Merge (winner's values stay unless empty, history moves, losers gone but kept as tombstones) and
activities with paging tokens."""

from __future__ import annotations

from localcloud.marketo.service import LocalMarketo
from tests.localmarketo.conftest import Api

LEADS = "/rest/v1/leads.json"


def create(api: Api, *records: dict) -> list[int]:
    body = api.post(LEADS, json={"action": "createDuplicate", "input": list(records)})
    return [r["id"] for r in body["result"]]


def activities(
    api: Api, type_ids: str, lead_ids: str | None = None, since: str = "2000-01-01"
) -> list[dict]:
    token = api.get("/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": since})[
        "nextPageToken"
    ]
    items: list[dict] = []
    while True:
        params = {"nextPageToken": token, "activityTypeIds": type_ids}
        if lead_ids:
            params["leadIds"] = lead_ids
        page = api.get("/rest/v1/activities.json", params=params)
        assert page["success"] is True, page
        items += page["result"]
        token = page["nextPageToken"]
        if not page["moreResult"]:
            return items


def test_merge_field_rule_and_losers_gone(api: Api, marketo: LocalMarketo) -> None:
    winner, loser1, loser2 = create(
        api,
        {"email": "w@example.com", "firstName": "Win", "lastName": ""},
        {"email": "l1@example.com", "firstName": "Lose", "lastName": "One", "phone": "111"},
        {"email": "l2@example.com", "phone": "222", "ecMemberId": "M-9"},
    )
    merged = api.post(
        f"/rest/v1/leads/{winner}/merge.json", params={"leadIds": f"{loser1},{loser2}"}
    )
    assert merged["success"] is True and "errors" not in merged
    row = api.get(
        LEADS,
        params={
            "filterType": "id",
            "filterValues": f"{winner},{loser1},{loser2}",
            "fields": "id,email,firstName,lastName,phone,ecMemberId",
        },
    )["result"]
    assert row == [
        {
            "id": winner,
            "email": "w@example.com",
            "firstName": "Win",
            "lastName": "One",
            "phone": "111",
            "ecMemberId": "M-9",
        }
    ]
    assert (
        api.get(LEADS, params={"filterType": "email", "filterValues": "l1@example.com"})["result"]
        == []
    )
    graves = {t["id"]: t for t in marketo.service.tombstones("merged")}
    assert set(graves) == {loser1, loser2} and {g["mergedInto"] for g in graves.values()} == {
        winner
    }
    assert marketo.service.tombstones("deleted") == []


def test_merge_moves_activities_and_records_the_merge(api: Api) -> None:
    winner, loser = create(api, {"email": "w2@example.com"}, {"email": "l3@example.com"})
    api.post(LEADS, json={"input": [{"email": "l3@example.com", "firstName": "Changed"}]})
    api.post(f"/rest/v1/leads/{winner}/merge.json", params={"leadId": loser})
    items = activities(api, "12,13,32", lead_ids=str(winner))
    # winner's New Lead, loser's New Lead and change, the winner's gap filled by the merge, the merge
    assert [a["activityTypeId"] for a in items] == [12, 12, 13, 13, 32]
    assert {a["leadId"] for a in items} == {winner}
    change = next(
        a for a in items if a["activityTypeId"] == 13 and a["primaryAttributeValue"] == "First Name"
    )
    assert {"name": "New Value", "value": "Changed"} in change["attributes"]
    merge = next(a for a in items if a["activityTypeId"] == 32)
    attributes = {a["name"]: a["value"] for a in merge["attributes"]}
    assert attributes["Merge ids"] == str(loser) and attributes["Merged in Sales"] is False
    assert activities(api, "12,13,32", lead_ids=str(loser)) == []


def test_merge_can_keep_activities_on_the_loser(api: Api, marketo: LocalMarketo) -> None:
    marketo.service.update_settings(merge_activities_to="loser")
    winner, loser = create(api, {"email": "w3@example.com"}, {"email": "l4@example.com"})
    api.post(f"/rest/v1/leads/{winner}/merge.json", params={"leadId": loser})
    assert [a["activityTypeId"] for a in activities(api, "12", lead_ids=str(loser))] == [12]


def test_merge_limits_and_errors(api: Api) -> None:
    ids = create(api, *[{"email": f"many{i}@example.com"} for i in range(27)])
    too_many = api.post(
        f"/rest/v1/leads/{ids[0]}/merge.json", params={"leadIds": ",".join(map(str, ids[1:]))}
    )
    assert too_many["success"] is False and too_many["errors"][0]["code"] == "1080"
    ok = api.post(
        f"/rest/v1/leads/{ids[0]}/merge.json", params={"leadIds": ",".join(map(str, ids[1:26]))}
    )
    assert ok["success"] is True
    missing = api.post(f"/rest/v1/leads/{ids[0]}/merge.json", params={"leadId": ids[1]})
    assert missing["errors"][0]["code"] == "1004"
    assert api.post(f"/rest/v1/leads/{ids[0]}/merge.json")["errors"][0]["code"] == "701"


def test_merge_in_crm_makes_the_crm_contact_win(api: Api, marketo: LocalMarketo) -> None:
    marketo_only = create(api, {"email": "crm@example.com", "firstName": "Mkto"})[0]
    contact = marketo.service.create_crm_persons(
        [{"email": "crm@example.com", "sfdcType": "Contact", "sfdcContactId": "003000000000009AAA"}]
    )[0]["id"]
    api.post(
        f"/rest/v1/leads/{marketo_only}/merge.json",
        params={"leadId": contact, "mergeInCRM": "true"},
    )
    left = api.get(
        LEADS,
        params={
            "filterType": "email",
            "filterValues": "crm@example.com",
            "fields": "id,firstName,sfdcContactId",
        },
    )["result"]
    assert left == [{"id": contact, "firstName": "Mkto", "sfdcContactId": "003000000000009AAA"}]


def test_merge_relinks_custom_objects(api: Api) -> None:
    winner, loser = create(api, {"email": "cw@example.com"}, {"email": "cl@example.com"})
    api.post(
        "/rest/v1/customobjects/ecOrder_c.json",
        json={"input": [{"orderNumber": "R-1", "leadId": loser}]},
    )
    api.post(f"/rest/v1/leads/{winner}/merge.json", params={"leadId": loser})
    rows = api.get(
        "/rest/v1/customobjects/ecOrder_c.json",
        params={
            "filterType": "leadId",
            "filterValues": str(winner),
            "fields": "orderNumber,leadId",
        },
    )
    assert rows["result"] == [{"seq": 0, "orderNumber": "R-1", "leadId": winner}]


def test_activity_paging_and_limits(api: Api) -> None:
    create(api, *[{"email": f"act{i}@example.com"} for i in range(5)])
    token = api.get(
        "/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "2000-01-01T00:00:00Z"}
    )
    assert token["success"] is True and token["nextPageToken"] and "result" not in token
    first = api.get(
        "/rest/v1/activities.json",
        params={"nextPageToken": token["nextPageToken"], "activityTypeIds": "12", "batchSize": 3},
    )
    assert len(first["result"]) == 3 and first["moreResult"] is True
    second = api.get(
        "/rest/v1/activities.json",
        params={"nextPageToken": first["nextPageToken"], "activityTypeIds": "12", "batchSize": 3},
    )
    assert len(second["result"]) == 2 and second["moreResult"] is False
    item = first["result"][0]
    assert set(item) >= {
        "id",
        "marketoGUID",
        "leadId",
        "activityDate",
        "activityTypeId",
        "attributes",
    }
    future = api.get("/rest/v1/activities/pagingtoken.json", params={"sinceDatetime": "2999-01-01"})
    empty = api.get(
        "/rest/v1/activities.json",
        params={"nextPageToken": future["nextPageToken"], "activityTypeIds": "12"},
    )
    assert empty["result"] == [] and empty["moreResult"] is False
    eleven = ",".join(str(i) for i in range(1, 12))
    assert (
        api.get(
            "/rest/v1/activities.json",
            params={"nextPageToken": token["nextPageToken"], "activityTypeIds": eleven},
        )["errors"][0]["code"]
        == "1003"
    )
    leads31 = ",".join(str(i) for i in range(1, 32))
    assert (
        api.get(
            "/rest/v1/activities.json",
            params={
                "nextPageToken": token["nextPageToken"],
                "activityTypeIds": "12",
                "leadIds": leads31,
            },
        )["errors"][0]["code"]
        == "1003"
    )
    types = {t["id"]: t["name"] for t in api.get("/rest/v1/activities/types.json")["result"]}
    assert (
        types[12] == "New Lead" and types[13] == "Change Data Value" and types[32] == "Merge Leads"
    )


def test_form_fills_are_recorded(api: Api, marketo: LocalMarketo) -> None:
    lead_id = marketo.service.create_form_persons(
        [{"email": "form@example.com", "firstName": "F"}]
    )[0]["id"]
    items = activities(api, "2,12", lead_ids=str(lead_id))
    assert [a["activityTypeId"] for a in items] == [12, 2]
    new_lead = {a["name"]: a["value"] for a in items[0]["attributes"]}
    assert new_lead["Source Type"] == "Web form fillout"
    assert items[1]["primaryAttributeValue"] == "ECBridge local form"
