"""Consent in the local Marketo, driven with marketorestpython 0.5.25 (unmodified) where it has a call:
the consent fields in describe, the Unsubscribe Email and Change Data Value activities on every path
that changes ``unsubscribed``, Marketo's paging semantics, and the local "clicked the link" admin call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from marketorestpython.client import MarketoClient

from localcloud.marketo.service import LocalMarketo, wait_for
from tests.localmarketo.conftest import Api

UNSUBSCRIBE_EMAIL, CHANGE_DATA_VALUE = 9, 13
SINCE = "2020-01-01T00:00:00Z"


@pytest.fixture()
def client(marketo: LocalMarketo) -> MarketoClient:
    mc = MarketoClient("123-ABC-456", marketo.client_id, marketo.client_secret)
    mc.host = marketo.url
    return mc


def _create(client: MarketoClient, *records: dict) -> list[int]:
    results = client.execute(method="create_update_leads", leads=list(records), action="createOrUpdate",
                             lookupField="email")
    assert all(r["status"] in ("created", "updated") for r in results), results
    return [r["id"] for r in results]


def _unsubscribed_changes(client: MarketoClient, lead_id: int) -> list[dict]:
    items = client.execute(method="get_lead_activities", activityTypeIds=[str(CHANGE_DATA_VALUE)],
                           sinceDatetime=SINCE, leadIds=str(lead_id))
    return [a for a in items if a["primaryAttributeValue"] == "Unsubscribed"]


def _attrs(activity: dict) -> dict:
    return {a["name"]: a["value"] for a in activity["attributes"]}


def test_describe_shows_the_consent_fields(client: MarketoClient) -> None:
    fields = {f["rest"]["name"]: f for f in client.execute(method="describe")}
    assert fields["unsubscribed"]["dataType"] == "boolean"
    assert fields["unsubscribedReason"]["dataType"] == "text"
    assert fields["unsubscribedReason"]["displayName"] == "Unsubscribed Reason"
    assert fields["marketingSuspended"]["dataType"] == "boolean"
    assert fields["emailInvalid"]["dataType"] == "boolean"
    assert fields["emailInvalidCause"]["dataType"] == "string"
    for name in ("unsubscribed", "unsubscribedReason", "marketingSuspended", "emailInvalid", "emailInvalidCause"):
        assert fields[name]["rest"]["readOnly"] is False, name
    lead_id = _create(client, {"email": "c@example.com", "marketingSuspended": True, "emailInvalid": True,
                               "emailInvalidCause": "550 no such user"})[0]
    lead = client.execute(method="get_lead_by_id", id=lead_id,
                          fields=["marketingSuspended", "emailInvalid", "emailInvalidCause", "unsubscribed"])[0]
    assert lead["marketingSuspended"] is True and lead["emailInvalid"] is True
    assert lead["emailInvalidCause"] == "550 no such user" and lead["unsubscribed"] is False  # never set: false


def test_activity_types_list_unsubscribe_email(client: MarketoClient) -> None:
    types = {t["id"]: t for t in client.execute(method="get_activity_types")}
    unsubscribe = types[UNSUBSCRIBE_EMAIL]
    assert unsubscribe["name"] == "Unsubscribe Email"
    assert unsubscribe["primaryAttribute"] == {"name": "Mailing ID", "dataType": "integer"}
    names = {a["name"] for a in unsubscribe["attributes"]}
    assert {"Campaign Run ID", "Client IP Address", "Form Fields", "User Agent", "Webform ID"} <= names
    assert types[CHANGE_DATA_VALUE]["name"] == "Change Data Value"


def test_link_unsubscribe_logs_the_activities(client: MarketoClient, api: Api) -> None:
    lead_id = _create(client, {"email": "link@example.com", "unsubscribed": False})[0]
    answer = api.admin("POST", "/_local/unsubscribe",
                       json={"leadId": lead_id, "mailingId": 5001, "emailName": "Spring Sale.Email"})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"][0]
    assert result["id"] == lead_id and result["status"] == "unsubscribed" and len(result["activityIds"]) == 3

    lead = client.execute(method="get_lead_by_id", id=lead_id, fields=["unsubscribed", "unsubscribedReason"])[0]
    assert lead["unsubscribed"] is True
    assert lead["unsubscribedReason"] == "Unsubscribed via email link: Spring Sale.Email"

    clicks = client.execute(method="get_lead_activities", activityTypeIds=[str(UNSUBSCRIBE_EMAIL)],
                            sinceDatetime=SINCE, leadIds=str(lead_id))
    assert len(clicks) == 1
    assert clicks[0]["primaryAttributeValueId"] == 5001
    assert clicks[0]["primaryAttributeValue"] == "Spring Sale.Email"
    assert _attrs(clicks[0])["Webform ID"] is not None
    changes = _unsubscribed_changes(client, lead_id)
    assert [(_attrs(c).get("Old Value"), _attrs(c)["New Value"]) for c in changes] == [(False, True)]
    reasons = [a for a in client.execute(method="get_lead_activities", activityTypeIds=[str(CHANGE_DATA_VALUE)],
                                         sinceDatetime=SINCE, leadIds=str(lead_id))
               if a["primaryAttributeValue"] == "Unsubscribed Reason"]
    assert len(reasons) == 1

    # clicking again: another Unsubscribe Email activity, nothing changes
    again = api.admin("POST", "/_local/unsubscribe", json={"email": "LINK@example.com"}).json()["result"][0]
    assert again["status"] == "unchanged" and len(again["activityIds"]) == 1
    assert len(_unsubscribed_changes(client, lead_id)) == 1


def test_link_unsubscribe_refuses_unknown_persons(api: Api) -> None:
    assert api.admin("POST", "/_local/unsubscribe", json={"leadId": 424242}).status_code == 400
    assert api.admin("POST", "/_local/unsubscribe", json={"email": "nobody@example.com"}).status_code == 400
    assert api.admin("POST", "/_local/unsubscribe", json={}).status_code == 400
    assert api.admin("POST", "/_local/unsubscribe", json={"leadId": 1},
                     headers={"X-Local-Admin-Secret": "wrong"}).status_code == 401


def test_rest_sync_and_merge_log_data_value_changes(client: MarketoClient) -> None:
    winner, loser = _create(client, {"email": "w@example.com"}, {"email": "l@example.com", "unsubscribed": True})
    _create(client, {"email": "w@example.com", "unsubscribed": True})
    _create(client, {"email": "w@example.com", "unsubscribed": False})  # the REST API may re-subscribe
    changes = _unsubscribed_changes(client, winner)
    assert [(_attrs(c).get("Old Value"), _attrs(c)["New Value"], _attrs(c)["Source"]) for c in changes] == [
        (None, True, "Web service API"), (True, False, "Web service API")]
    # a merge keeps the winner's value when it has one: no change; an empty one is filled from the loser
    third = _create(client, {"email": "t@example.com"})[0]
    client.execute(method="merge_lead", id=third, leadIds=[loser])
    merged = _unsubscribed_changes(client, third)
    assert [(_attrs(c)["New Value"], _attrs(c)["Reason"]) for c in merged] == [(True, "Merge Leads")]


def test_bulk_import_unsubscribes_but_never_resubscribes(client: MarketoClient, marketo: LocalMarketo,
                                                         tmp_path: Path) -> None:
    kept, imported = _create(client, {"email": "kept@example.com", "unsubscribed": True},
                             {"email": "imp@example.com"})

    def run(csv_text: str) -> None:
        csv_file = tmp_path / "leads.csv"
        csv_file.write_text(csv_text)
        job = client.execute(method="import_lead", format="csv", file=str(csv_file), lookupField="email")[0]
        assert wait_for(lambda: client.execute(method="get_import_lead_status", id=job["batchId"])[0]["status"]
                        == "Complete", timeout=20)

    run("email,unsubscribed\nkept@example.com,false\nimp@example.com,true\n")
    leads = {lead["email"]: lead for lead in client.execute(
        method="get_multiple_leads_by_filter_type", filterType="email",
        filterValues=["kept@example.com", "imp@example.com"], fields=["email", "unsubscribed"])}
    assert leads["kept@example.com"]["unsubscribed"] is True  # Adobe: an import never re-subscribes
    assert leads["imp@example.com"]["unsubscribed"] is True
    assert [_attrs(c)["Source"] for c in _unsubscribed_changes(client, imported)] == ["Bulk Import"]
    assert _unsubscribed_changes(client, kept) == []  # created unsubscribed (New Lead), and the import changed nothing

    marketo.service.update_settings(import_resubscribes=True)
    run("email,unsubscribed\nkept@example.com,false\n")
    assert client.execute(method="get_lead_by_id", id=kept, fields=["unsubscribed"])[0]["unsubscribed"] is False


def test_paging_token_and_pages(client: MarketoClient, api: Api, marketo: LocalMarketo) -> None:
    token = client.execute(method="get_paging_token", sinceDatetime=SINCE)
    ids = _create(client, *({"email": f"p{n}@example.com"} for n in range(5)))
    for lead_id in ids:
        api.admin("POST", "/_local/unsubscribe", json={"leadId": lead_id})

    def page(next_token: str, batch: int = 2) -> dict:
        return api.get("/rest/v1/activities.json",
                       params={"activityTypeIds": str(UNSUBSCRIBE_EMAIL), "nextPageToken": next_token,
                               "batchSize": batch})

    seen, more, current = [], True, token
    while more:
        answer = page(current)
        assert answer["success"] and answer["nextPageToken"]
        seen += [a["leadId"] for a in answer.get("result", [])]
        more, current = answer["moreResult"], answer["nextPageToken"]
    assert seen == ids
    # the last token holds the position: nothing new, nothing returned, no more
    tail = page(current)
    assert tail["result"] == [] and tail["moreResult"] is False
    api.admin("POST", "/_local/unsubscribe", json={"leadId": ids[0]})
    assert [a["leadId"] for a in page(current)["result"]] == [ids[0]]

    # Adobe's scan of every type: a page may be short, even empty, with moreResult true
    marketo.service.update_settings(activities_scan_all_types=True)
    first = page(token, batch=3)
    assert len(first["result"]) < 3 and first["moreResult"] is True
    everything = client.execute(method="get_lead_activities", activityTypeIds=[str(UNSUBSCRIBE_EMAIL)],
                                nextPageToken=token, batchSize=3)
    assert [a["leadId"] for a in everything] == [*ids, ids[0]]


def test_durable_unsubscribe_spreads_to_every_person_with_the_address(client: MarketoClient, api: Api) -> None:
    first, second = (r["id"] for r in client.execute(
        method="create_update_leads", leads=[{"email": "dup@example.com"}, {"email": "DUP@example.com"}],
        action="createDuplicate"))
    other = _create(client, {"email": "other@example.com"})[0]
    api.admin("POST", "/_local/unsubscribe", json={"leadId": first})

    def flags() -> dict[int, bool | None]:
        return {lead["id"]: lead["unsubscribed"] for lead in client.execute(
            method="get_multiple_leads_by_filter_type", filterType="id", filterValues=[str(i) for i in (first, second, other)],
            fields=["id", "unsubscribed"])}

    assert flags() == {first: True, second: True, other: False}
    [spread] = _unsubscribed_changes(client, second)
    assert _attrs(spread)["Source"] == "Durable Unsubscribe" and _attrs(spread)["New Value"] is True

    # the address stays unsubscribed after its persons are gone: a new person with it starts unsubscribed
    client.execute(method="delete_lead", id=[first, second])
    newcomer = _create(client, {"email": "dup@example.com", "unsubscribed": False})[0]
    assert client.execute(method="get_lead_by_id", id=newcomer, fields=["unsubscribed"])[0]["unsubscribed"] is True
    assert [_attrs(c)["Source"] for c in _unsubscribed_changes(client, newcomer)] == ["Durable Unsubscribe"]
    # a person given the address is unsubscribed; a re-subscribe re-subscribes every person with it
    client.execute(method="create_update_leads", leads=[{"id": other, "email": "dup@example.com"}],
                   action="updateOnly", lookupField="id")
    assert client.execute(method="get_lead_by_id", id=other, fields=["unsubscribed"])[0]["unsubscribed"] is True
    client.execute(method="create_update_leads", leads=[{"id": newcomer, "unsubscribed": False}],
                   action="updateOnly", lookupField="id")
    assert client.execute(method="get_lead_by_id", id=other, fields=["unsubscribed"])[0]["unsubscribed"] is False


def test_without_durable_unsubscribe_each_flag_stands_alone(client: MarketoClient, api: Api,
                                                            marketo: LocalMarketo) -> None:
    marketo.service.update_settings(durable_unsubscribe=False)
    first, second = (r["id"] for r in client.execute(
        method="create_update_leads", leads=[{"email": "solo@example.com"}, {"email": "solo@example.com"}],
        action="createDuplicate"))
    api.admin("POST", "/_local/unsubscribe", json={"leadId": first})
    assert client.execute(method="get_lead_by_id", id=second, fields=["unsubscribed"])[0]["unsubscribed"] is False
