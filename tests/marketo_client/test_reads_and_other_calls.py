"""Reads follow nextPageToken and switch to POST _method=GET past 8 KB; merge, describe, activities, bulk import."""
from __future__ import annotations

import datetime as dt

import pytest

from localcloud.common.httpserver import Request, Response
from python_tasks.marketo import MarketoUsageError

from .scripted_marketo import envelope

LEADS = "/rest/v1/leads.json"


def test_paged_reads_follow_next_page_token(marketo, client) -> None:
    marketo.on(
        "GET", LEADS,
        envelope([{"id": 1}, {"id": 2}], nextPageToken="P2", moreResult=True),
        envelope([{"id": 3}], nextPageToken="P3", moreResult=True),
        envelope([{"id": 4}]),
    )
    found = client.get_leads_by_filter("ecMemberId", ["M1", "M2"], fields=["id", "email", "ecMemberId"])
    assert [lead["id"] for lead in found] == [1, 2, 3, 4]
    calls = marketo.calls(LEADS)
    assert [c.arg("nextPageToken") for c in calls] == [None, "P2", "P3"]
    assert all(c.method == "GET" and c.arg("filterValues") == "M1,M2" for c in calls)
    assert calls[0].arg("fields") == "id,email,ecMemberId" and calls[0].arg("filterType") == "ecMemberId"


def test_reads_are_lazy_generators(marketo, client) -> None:
    marketo.on("GET", LEADS, envelope([{"id": 1}], nextPageToken="P2", moreResult=True), envelope([{"id": 2}]))
    found = client.get_leads_by_filter("id", [1, 2])
    assert marketo.calls() == []
    assert next(found) == {"id": 1}
    assert len(marketo.calls(LEADS)) == 1


def test_more_than_300_values_are_split(marketo, client) -> None:
    list(client.get_leads_by_filter("id", range(1, 651)))
    calls = marketo.calls(LEADS)
    assert [len(c.arg("filterValues").split(",")) for c in calls] == [300, 300, 50]


def test_a_url_past_8_kb_is_sent_as_a_form_post_with_method_get(marketo, client) -> None:
    emails = [f"a.rather.long.member.address.{i:04d}@example-shop.co.jp" for i in range(300)]  # ~15 KB of values
    marketo.on("POST", LEADS, envelope([{"id": 9}], nextPageToken="N", moreResult=True))
    marketo.on("POST", LEADS, envelope([{"id": 10}]))
    assert [lead["id"] for lead in client.get_leads_by_filter("email", emails)] == [9, 10]
    calls = marketo.calls(LEADS)
    assert [c.method for c in calls] == ["POST", "POST"]
    form = calls[0].form()
    assert form["_method"] == ["GET"] and form["filterValues"] == [",".join(emails)] and form["filterType"] == ["email"]
    assert calls[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert calls[1].form()["nextPageToken"] == ["N"]
    assert calls[0].query == {}, "nothing in the URL"
    short = list(client.get_leads_by_filter("email", emails[:10]))
    assert short == [] and marketo.calls(LEADS)[-1].method == "GET"


def test_commas_inside_filter_values_are_refused(client) -> None:
    with pytest.raises(MarketoUsageError, match="comma"):
        list(client.get_leads_by_filter("lastName", ["Doe, Jane"]))


def test_describe_and_describe2(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/leads/describe.json", envelope([{"id": 1, "rest": {"name": "email"}, "dataType": "email"}]))
    marketo.on("GET", "/rest/v1/leads/describe2.json", envelope([{"name": "API Lead", "searchableFields": [["email"]], "fields": [{"name": "email"}]}]))
    assert client.describe_leads()[0]["rest"]["name"] == "email"
    assert client.describe2()["searchableFields"] == [["email"]]


def test_custom_object_describe_and_get(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/customobjects/ecOrder_c/describe.json", envelope([{"name": "ecOrder_c", "idField": "marketoGUID", "dedupeFields": ["orderNumber"]}]))
    marketo.on("GET", "/rest/v1/customobjects/ecOrder_c.json", envelope([{"seq": 0, "marketoGUID": "g1", "orderNumber": "O1"}]))
    assert client.describe_custom_object("ecOrder_c")["dedupeFields"] == ["orderNumber"]
    assert [o["orderNumber"] for o in client.get_custom_objects("ecOrder_c", "orderNumber", ["O1"])] == ["O1"]
    assert marketo.calls("/rest/v1/customobjects/ecOrder_c.json")[0].arg("filterType") == "orderNumber"


def test_merge_sends_the_losers_and_refuses_more_than_25(marketo, client) -> None:
    assert client.merge_leads(10, [11]) == "req#1"
    client.merge_leads(10, [12, 13], merge_in_crm=True)
    first, second = marketo.calls("/rest/v1/leads/10/merge.json")
    assert (first.method, first.arg("leadId"), first.arg("mergeInCRM")) == ("POST", "11", "false")
    assert (second.arg("leadIds"), second.arg("mergeInCRM")) == ("12,13", "true")
    for bad in ([], list(range(100, 126)), [10], [11, 11]):
        with pytest.raises(MarketoUsageError):
            client.merge_leads(10, bad)
    assert len(marketo.calls()) == 2, "refused before any call"
    client.merge_leads_chunked(10, list(range(100, 130)))
    chunked = marketo.calls("/rest/v1/leads/10/merge.json")[2:]
    assert [len(c.arg("leadIds").split(",")) for c in chunked] == [25, 5]
    assert client.counters().calls_by_endpoint["POST /rest/v1/leads/{id}/merge.json"] == 4


def test_activities_by_paging_token(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/activities/pagingtoken.json", envelope(None, nextPageToken="T0"))
    marketo.on(
        "GET", "/rest/v1/activities.json",
        envelope([{"id": 1, "activityTypeId": 12}], nextPageToken="T1", moreResult=True),
        envelope([], nextPageToken="T2", moreResult=True),  # a short (empty) page that still has more
        envelope([{"id": 2, "activityTypeId": 13}], nextPageToken="T3", moreResult=False),
    )
    token = client.get_paging_token(dt.datetime(2026, 1, 2, 3, 4, 5))
    assert token == "T0"
    assert marketo.calls("/rest/v1/activities/pagingtoken.json")[0].arg("sinceDatetime") == "2026-01-02T03:04:05+00:00"
    activities = list(client.get_activities([12, 13], token))
    assert [a["id"] for a in activities] == [1, 2]
    calls = marketo.calls("/rest/v1/activities.json")
    assert [c.arg("nextPageToken") for c in calls] == ["T0", "T1", "T2"]
    assert calls[0].arg("activityTypeIds") == "12,13"


def test_one_page_of_activities_with_the_token_to_read_on_from(marketo, client) -> None:
    marketo.on(
        "GET", "/rest/v1/activities.json",
        envelope([], nextPageToken="T1", moreResult=True),  # Adobe: a page may be empty and still have more
        envelope([{"id": 2, "activityTypeId": 9}], nextPageToken="T2", moreResult=False),
        envelope([], nextPageToken="T2", moreResult=True),  # a server repeating itself: no more, or it loops
    )
    first = client.get_activities_page([9, 13], "T0")
    assert (first.items, first.next_token, first.more) == ((), "T1", True)
    second = client.get_activities_page([9, 13], first.next_token)
    assert ([a["id"] for a in second.items], second.next_token, second.more) == ([2], "T2", False)
    stuck = client.get_activities_page([9, 13], "T2")
    assert (stuck.next_token, stuck.more) == ("T2", False)
    calls = marketo.calls("/rest/v1/activities.json")
    assert [(c.arg("nextPageToken"), c.arg("activityTypeIds")) for c in calls] == [
        ("T0", "9,13"), ("T1", "9,13"), ("T2", "9,13")]
    with pytest.raises(MarketoUsageError):
        client.get_activities_page([9], "")


def test_activities_split_lead_ids_by_30_and_refuse_11_types(marketo, client) -> None:
    list(client.get_activities([1], "T0", lead_ids=range(1, 46)))
    calls = marketo.calls("/rest/v1/activities.json")
    assert [len(c.arg("leadIds").split(",")) for c in calls] == [30, 15]
    with pytest.raises(MarketoUsageError):
        list(client.get_activities(list(range(11)), "T0"))


def test_activity_types(marketo, client) -> None:
    marketo.on("GET", "/rest/v1/activities/types.json", envelope([{"id": 12, "name": "New Lead"}]))
    assert client.get_activity_types() == [{"id": 12, "name": "New Lead"}]


def test_bulk_import_uploads_the_file_polls_and_reads_failures(marketo, client, sleeps) -> None:
    uploads: list[Request] = []

    def accept(request: Request) -> Response:
        uploads.append(request)
        return Response.json(envelope([{"batchId": 3404, "importId": "3404", "status": "Queued"}]))

    marketo.on("POST", "/bulk/v1/leads.json", accept)
    marketo.on(
        "GET", "/bulk/v1/leads/batch/3404.json",
        envelope([{"batchId": 3404, "status": "Queued"}]),
        envelope([{"batchId": 3404, "status": "Importing", "numOfLeadsProcessed": 1}]),
        envelope([{"batchId": 3404, "status": "Complete", "numOfLeadsProcessed": 2, "numOfRowsFailed": 1}]),
    )
    marketo.on(
        "GET", "/bulk/v1/leads/batch/3404/failures.json",
        Response.text("email,Import Failure Reason\nbad,Invalid email\n", content_type="text/csv"),
    )
    csv = "email,firstName\na@example.jp,太郎\nb@example.jp,花子\nbad,X\n".encode()
    job = client.import_leads_csv(csv, lookup_field="email")
    assert (job.batch_id, job.status) == (3404, "Queued")
    upload = uploads[0]
    assert upload.arg("format") == "csv" and upload.arg("lookupField") == "email"
    assert upload.headers.get("Content-Type").startswith("multipart/form-data")
    assert csv in upload.body
    final = client.wait_for_import(job.batch_id, poll_seconds=0.25)
    assert (final.status, final.leads_processed, final.rows_failed, final.finished) == ("Complete", 2, 1, True)
    assert sleeps == [0.25, 0.25]
    assert "Invalid email" in client.get_import_failures(job.batch_id)
    with pytest.raises(MarketoUsageError, match="10 MB"):
        client.import_leads_csv(b"email\n" + b"x@example.jp\n" * 800_000)


def test_a_full_import_queue_1016_is_waited_out(marketo, client, sleeps) -> None:
    from .scripted_marketo import failure

    marketo.on("POST", "/bulk/v1/leads.json", failure("1016", "Too many imports"),
               envelope([{"batchId": 1, "status": "Queued"}]))
    assert client.import_leads_csv(b"email\na@example.jp\n").batch_id == 1
    assert client.counters().retries_by_cause == {"1016": 1} and len(sleeps) == 1


def test_an_empty_lead_id_list_reads_nothing(marketo, client) -> None:
    assert list(client.get_activities([12], "T0", lead_ids=[])) == []
    assert list(client.get_leads_by_filter("id", [])) == []
    assert marketo.calls() == []


def test_bulk_custom_object_import_uploads_polls_waits_out_1016_and_reads_files(marketo, client, sleeps) -> None:
    from .scripted_marketo import failure

    uploads: list[Request] = []

    def accept(request: Request) -> Response:
        uploads.append(request)
        return Response.json(envelope([{"batchId": 1013, "status": "Queued", "objectApiName": "car_c"}]))

    marketo.on("POST", "/bulk/v1/customobjects/car_c/import.json", failure("1016", "Too many imports"), accept)
    marketo.on(
        "GET", "/bulk/v1/customobjects/car_c/import/1013/status.json",
        envelope([{"batchId": 1013, "operation": "import", "status": "Importing", "objectApiName": "car_c"}]),
        envelope([{"batchId": 1013, "operation": "import", "status": "Complete", "objectApiName": "car_c",
                   "numOfObjectsProcessed": 2, "numOfRowsFailed": 1, "numOfRowsWithWarning": 0,
                   "importTime": "2 second(s)", "message": "Import completed with errors"}]),
    )
    marketo.on(
        "GET", "/bulk/v1/customobjects/car_c/import/1013/failures.json",
        Response.text("color,vin,Import Failure Reason\nred,,missing.dedupe.fields\n", content_type="text/csv"),
    )
    marketo.on("GET", "/bulk/v1/customobjects/car_c/import/1013/warnings.json", Response.text("Not Found", 404))
    csv = b"color,vin\nred,\nblue,V1\nyellow,V2\n"
    job = client.import_custom_objects_csv("car_c", csv)
    assert (job.batch_id, job.status, job.object_api_name) == (1013, "Queued", "car_c")
    assert client.counters().retries_by_cause == {"1016": 1}
    assert uploads[0].arg("format") == "csv" and csv in uploads[0].body
    final = client.wait_for_custom_object_import("car_c", 1013, poll_seconds=0.5)
    assert (final.status, final.leads_processed, final.rows_failed) == ("Complete", 2, 1)
    assert sleeps[-1:] == [0.5]
    assert "missing.dedupe.fields" in client.get_custom_object_import_failures("car_c", 1013)
    assert client.get_custom_object_import_warnings("car_c", 1013) == ""
    with pytest.raises(MarketoUsageError, match="10 MB"):
        client.import_custom_objects_csv("car_c", b"vin\n" + b"WBA4R7C55HK895912\n" * 600_000)
    with pytest.raises(MarketoUsageError, match="API name"):
        client.import_custom_objects_csv("car_c/../x", b"vin\nA\n")
