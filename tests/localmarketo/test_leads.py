"""Lead sync: the four actions, lookupField, reasons 1001 and 1003-1007, typed values, CRM and form persons."""

from __future__ import annotations

from localcloud.marketo.service import LocalMarketo
from tests.localmarketo.conftest import Api

LEADS = "/rest/v1/leads.json"


def sync(api: Api, records: list[dict], **options: str) -> list[dict]:
    body = api.post(LEADS, json={**options, "input": records})
    assert body["success"] is True, body
    return body["result"]


def codes(result: dict) -> list[str]:
    return [r["code"] for r in result.get("reasons", [])]


def test_four_actions(api: Api) -> None:
    first = sync(api, [{"email": "a@example.com", "firstName": "A"}], action="createOnly")
    assert first[0]["status"] == "created"
    assert codes(sync(api, [{"email": "a@example.com"}], action="createOnly")[0]) == ["1005"]
    assert sync(api, [{"email": "A@Example.com", "lastName": "L"}], action="updateOnly") == [
        {"id": first[0]["id"], "status": "updated"}
    ]
    assert codes(sync(api, [{"email": "b@example.com"}], action="updateOnly")[0]) == ["1004"]
    assert sync(api, [{"email": "a@example.com", "title": "T"}])[0] == {
        "id": first[0]["id"],
        "status": "updated",
    }
    duplicate = sync(api, [{"email": "a@example.com"}], action="createDuplicate")[0]
    assert duplicate["status"] == "created" and duplicate["id"] != first[0]["id"]
    assert codes(sync(api, [{"email": "a@example.com", "title": "X"}])[0]) == ["1007"]
    assert codes(sync(api, [{"email": "a@example.com"}], action="updateOnly")[0]) == ["1007"]


def test_id_only_with_update_only(api: Api) -> None:
    lead = sync(api, [{"email": "id@example.com"}])[0]["id"]
    assert codes(sync(api, [{"id": lead, "firstName": "N"}], action="createOrUpdate")[0]) == [
        "1003"
    ]
    assert sync(api, [{"id": lead, "firstName": "N"}], action="updateOnly") == [
        {"id": lead, "status": "updated"}
    ]
    assert codes(sync(api, [{"id": 999999}], action="updateOnly", lookupField="id")[0]) == ["1004"]


def test_custom_lookup_field(api: Api) -> None:
    lead = sync(api, [{"ecMemberId": "M-1", "email": "m1@example.com"}], lookupField="ecMemberId")[
        0
    ]["id"]
    assert sync(
        api, [{"ecMemberId": "M-1", "email": "m1-new@example.com"}], lookupField="ecMemberId"
    ) == [{"id": lead, "status": "updated"}]
    found = api.get(
        LEADS, params={"filterType": "ecMemberId", "filterValues": "M-1", "fields": "email"}
    )
    assert found["result"] == [{"email": "m1-new@example.com"}]


def test_types_and_lengths(api: Api, marketo: LocalMarketo) -> None:
    results = sync(
        api,
        [
            {
                "email": "ok@example.com",
                "lastOrderTotal": "1200",
                "lastOrderDate": "2024-05-01T10:00:00+09:00",
                "numberOfEmployees": "12",
                "unsubscribed": "true",
                "dateOfBirth": "1990-02-03",
            },
            {"email": "int@example.com", "numberOfEmployees": "many"},
            {"email": "not-an-email"},
            {"email": "long@example.com", "ecMemberId": "x" * 65},
            {"email": "date@example.com", "lastOrderDate": "yesterday"},
            {"email": "bool@example.com", "unsubscribed": "maybe"},
            {"email": "unknown@example.com", "shoeSize": 44, "numberOfEmployees": 1.5},
        ],
    )
    assert results[0]["status"] == "created"
    assert results[1]["reasons"] == [
        {"code": "1001", "message": "Invalid value 'many'. Required of type 'integer'"}
    ]
    assert codes(results[2]) == ["1001"]
    assert codes(results[3]) == ["1003"]
    assert codes(results[4]) == ["1001"] and codes(results[5]) == ["1001"]
    assert codes(results[6]) == ["1006", "1001"]
    stored = api.get(
        LEADS,
        params={
            "filterType": "email",
            "filterValues": "ok@example.com",
            "fields": "lastOrderTotal,lastOrderDate,numberOfEmployees,unsubscribed,dateOfBirth",
        },
    )
    assert stored["result"] == [
        {
            "lastOrderTotal": 1200.0,
            "lastOrderDate": "2024-05-01T01:00:00Z",
            "numberOfEmployees": 12,
            "unsubscribed": True,
            "dateOfBirth": "1990-02-03",
        }
    ]
    marketo.service.update_settings(truncate_long_strings=True)
    assert (
        sync(api, [{"email": "long@example.com", "ecMemberId": "x" * 65}])[0]["status"] == "created"
    )


def test_read_only_fields_follow_the_setting(api: Api, marketo: LocalMarketo) -> None:
    result = sync(api, [{"email": "ro@example.com", "sfdcType": "Contact"}])[0]
    assert result["status"] == "created"
    row = api.get(
        LEADS,
        params={"filterType": "email", "filterValues": "ro@example.com", "fields": "sfdcType"},
    )
    assert row["result"] == [{"sfdcType": None}]
    marketo.service.update_settings(readonly_field_policy="reject")
    assert codes(sync(api, [{"email": "ro2@example.com", "sfdcType": "Contact"}])[0]) == ["1003"]


def test_multiple_match_policy_setting(api: Api, marketo: LocalMarketo) -> None:
    ids = [r["id"] for r in sync(api, [{"email": "mm@example.com"}] * 2, action="createDuplicate")]
    marketo.service.update_settings(multiple_match_policy="oldest")
    assert sync(api, [{"email": "mm@example.com", "firstName": "Old"}]) == [
        {"id": ids[0], "status": "updated"}
    ]


def test_bad_record_does_not_harm_its_neighbours(api: Api) -> None:
    results = sync(
        api, [{"email": "good1@example.com"}, "not an object", {"email": "good2@example.com"}]
    )
    assert [r["status"] for r in results] == ["created", "skipped", "created"]


def test_partitions_minimal(api: Api) -> None:
    assert api.get("/rest/v1/leads/partitions.json")["result"][0]["name"] == "Default"
    assert (
        sync(api, [{"email": "p@example.com"}], partitionName="Default")[0]["status"] == "created"
    )
    assert codes(sync(api, [{"email": "q@example.com"}], partitionName="Japan")[0]) == ["1008"]


def test_query_paging_and_lead_by_id(api: Api) -> None:
    ids = [
        r["id"]
        for r in sync(
            api, [{"email": f"pg{i}@example.com", "firstName": f"P{i}"} for i in range(5)]
        )
    ]
    values = ",".join(str(i) for i in ids)
    first = api.get(LEADS, params={"filterType": "id", "filterValues": values, "batchSize": 2})
    assert [r["id"] for r in first["result"]] == ids[:2] and first["nextPageToken"]
    assert set(first["result"][0]) == {
        "id",
        "updatedAt",
        "lastName",
        "email",
        "createdAt",
        "firstName",
    }
    second = api.get(
        LEADS,
        params={
            "filterType": "id",
            "filterValues": values,
            "batchSize": 2,
            "nextPageToken": first["nextPageToken"],
        },
    )
    third = api.get(
        LEADS,
        params={
            "filterType": "id",
            "filterValues": values,
            "batchSize": 2,
            "nextPageToken": second["nextPageToken"],
        },
    )
    assert [r["id"] for r in second["result"] + third["result"]] == ids[
        2:
    ] and "nextPageToken" not in third
    one = api.get(f"/rest/v1/lead/{ids[0]}.json", params={"fields": "firstName"})
    assert one["result"] == [{"firstName": "P0"}]


def test_crm_persons_are_not_deduplicated_but_form_fills_are(
    api: Api, marketo: LocalMarketo
) -> None:
    api_lead = sync(api, [{"email": "Dup@Example.com", "firstName": "Api"}])[0]["id"]
    crm = marketo.service.create_crm_persons(
        [
            {
                "email": "dup@example.com",
                "sfdcType": "Contact",
                "sfdcContactId": "003000000000001AAA",
                "lastName": "C",
            },
            {"email": "dup@example.com", "sfdcType": "Lead", "sfdcLeadId": "00Q000000000001AAA"},
            {"email": "x@example.com", "sfdcType": "Contact"},
        ]
    )
    assert [r["status"] for r in crm] == ["created", "created", "skipped"]
    found = api.get(
        LEADS,
        params={
            "filterType": "email",
            "filterValues": "dup@example.com",
            "fields": "id,sfdcType,sfdcContactId,sfdcLeadId",
        },
    )["result"]
    assert [r["id"] for r in found] == [api_lead, crm[0]["id"], crm[1]["id"]]
    assert found[1]["sfdcType"] == "Contact" and found[1]["sfdcContactId"] == "003000000000001AAA"
    by_crm_id = api.get(
        LEADS,
        params={
            "filterType": "sfdcContactId",
            "filterValues": "003000000000001AAA",
            "fields": "id",
        },
    )
    assert by_crm_id["result"] == [{"id": crm[0]["id"]}]
    again = marketo.service.create_crm_persons(
        [{"sfdcType": "Contact", "sfdcContactId": "003000000000001AAA", "firstName": "Synced"}]
    )
    assert again == [{"id": crm[0]["id"], "status": "updated"}]  # the sync keys on the CRM id
    form = marketo.service.create_form_persons(
        [{"email": "dup@example.com", "firstName": "Form"}, {"email": "new@example.com"}]
    )
    assert form[0]["status"] == "updated" and form[1]["status"] == "created"
    # the duplicate problem reproduced: an API upsert by email now meets three people
    assert codes(sync(api, [{"email": "dup@example.com", "title": "X"}])[0]) == ["1007"]
    admin = api.admin(
        "POST",
        "/_local/persons",
        json={
            "source": "crm",
            "input": [
                {"email": "dup@example.com", "sfdcType": "Lead", "sfdcLeadId": "00Q000000000002AAA"}
            ],
        },
    )
    assert admin.status_code == 200 and admin.json()["result"][0]["status"] == "created"


def test_delete_keeps_a_tombstone(api: Api, marketo: LocalMarketo) -> None:
    lead = sync(api, [{"email": "del@example.com"}])[0]["id"]
    deleted = api.post("/rest/v1/leads/delete.json", json={"input": [{"id": lead}, {"id": 424242}]})
    assert deleted["result"][0] == {"id": lead, "status": "deleted"}
    assert deleted["result"][1]["reasons"][0]["code"] == "1004"
    assert [(t["id"], t["kind"]) for t in marketo.service.tombstones()] == [(lead, "deleted")]


def _overlapping_upserts(api: Api, marketo: LocalMarketo) -> list[dict]:
    """Two createOrUpdate calls for one new email, the second arriving before the first returns."""
    import threading

    api.get("/rest/v1/leads/describe2.json")  # the token is known before the store is held
    answers: list[dict] = []
    clients = [Api(marketo), Api(marketo)]
    for client in clients:
        client._token = api.token()
    with (
        marketo.service.store.transaction()
    ):  # hold the database so both calls are in flight together
        threads = [
            threading.Thread(
                target=lambda c=c, n=n: answers.append(
                    c.post(
                        LEADS, json={"input": [{"email": "race@example.com", "firstName": f"R{n}"}]}
                    )
                )
            )
            for n, c in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        import time

        deadline = time.time() + 5
        while marketo.service.limiter.in_flight < 2 and time.time() < deadline:
            time.sleep(0.01)
        assert marketo.service.limiter.in_flight == 2
    for thread in threads:
        thread.join()
    return answers


def test_overlapping_upserts_stay_one_person_by_default(api: Api, marketo: LocalMarketo) -> None:
    answers = _overlapping_upserts(api, marketo)
    assert sorted(a["result"][0]["status"] for a in answers) == ["created", "updated"]


def test_overlapping_upserts_can_duplicate_as_documented(api: Api, marketo: LocalMarketo) -> None:
    marketo.service.update_settings(simultaneous_upserts_duplicate=True)
    answers = _overlapping_upserts(api, marketo)
    assert [a["result"][0]["status"] for a in answers] == ["created", "created"]
    assert (
        len(
            api.get(LEADS, params={"filterType": "email", "filterValues": "race@example.com"})[
                "result"
            ]
        )
        == 2
    )
    # a later, non-overlapping upsert meets both and is refused
    later = api.post(LEADS, json={"input": [{"email": "race@example.com"}]})
    assert later["result"][0]["reasons"][0]["code"] == "1007"


def test_a_crm_id_can_be_the_lookup_key_even_when_read_only_fields_are_rejected(
    api: Api, marketo: LocalMarketo
) -> None:
    marketo.service.update_settings(readonly_field_policy="reject")
    person = marketo.service.create_crm_persons(
        [{"email": "k@example.com", "sfdcType": "Contact", "sfdcContactId": "003000000000077AAA"}]
    )[0]["id"]
    result = sync(
        api,
        [{"sfdcContactId": "003000000000077AAA", "firstName": "Key"}],
        action="updateOnly",
        lookupField="sfdcContactId",
    )
    assert result == [{"id": person, "status": "updated"}]
