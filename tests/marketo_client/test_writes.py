"""Writes: 300-record and 1 MB batches, per-record results aligned with the input, nothing dropped."""
from __future__ import annotations

import json

import pytest

from localcloud.common.httpserver import Request, Response
from python_tasks.marketo import MarketoQuotaExceeded, MarketoUsageError
from python_tasks.marketo.results import CLIENT_NO_RESULT, CLIENT_RECORD_TOO_LARGE

from .scripted_marketo import envelope, failure

LEADS = "/rest/v1/leads.json"
ORDERS = "/rest/v1/customobjects/ecOrder_c.json"


def leads(count: int, **extra) -> list[dict]:
    return [{"email": f"member{i}@example.jp", "ecMemberId": f"M{i:05d}", **extra} for i in range(count)]


def answer_with_member_numbers(request: Request) -> Response:
    """Lead id = member number + 1, so each result can be traced to the record it answers."""
    return Response.json(envelope([{"id": int(r["ecMemberId"][1:]) + 1, "status": "created"} for r in request.json()["input"]]))


def test_700_records_go_in_batches_of_300_and_come_back_aligned(marketo, client) -> None:
    marketo.on("POST", LEADS, *[answer_with_member_numbers] * 3)
    records = leads(700)
    results = client.sync_leads(records, lookup_field="ecMemberId")
    calls = marketo.calls(LEADS)
    assert sorted(len(c.json()["input"]) for c in calls) == [100, 300, 300]
    sent = [r for c in calls for r in c.json()["input"]]
    assert sorted(r["ecMemberId"] for r in sent) == sorted(r["ecMemberId"] for r in records), "each record once"
    assert all(c.json()["lookupField"] == "ecMemberId" and c.json()["action"] == "createOrUpdate" for c in calls)
    assert [r.index for r in results] == list(range(700))
    assert all(r.status == "created" and r.id for r in results)
    assert [r.id for r in results] == [i + 1 for i in range(700)], "result i answers record i"
    counters = client.counters()
    assert counters.records_sent == 700
    assert counters.calls_by_endpoint["POST /rest/v1/leads.json"] == 3


def test_bodies_stay_under_one_megabyte_measured_on_the_wire(marketo, client) -> None:
    records = leads(300, lastProductName="商品" * 2500)  # ~15 KB of UTF-8 per record: 300 would be 4.5 MB
    results = client.sync_leads(records)
    calls = marketo.calls(LEADS)
    sizes = [int(c.headers["content-length"]) for c in calls]
    assert len(calls) >= 5
    assert all(size < 1_000_000 for size in sizes), sizes
    assert sum(len(c.json()["input"]) for c in calls) == 300
    assert all(r.ok for r in results) and len(results) == 300
    assert calls[0].headers["content-type"].startswith("application/json")


def test_a_record_too_large_alone_is_skipped_by_name_and_its_neighbours_are_sent(marketo, client) -> None:
    records = leads(3)
    records[1]["lastProductName"] = "x" * 1_100_000
    results = client.sync_leads(records)
    assert [r.status for r in results] == ["created", "skipped", "created"]
    assert results[1].reasons[0].code == CLIENT_RECORD_TOO_LARGE
    assert "record 1" in results[1].reasons[0].message
    assert [r["email"] for c in marketo.calls(LEADS) for r in c.json()["input"]] == [
        "member0@example.jp", "member2@example.jp"
    ]


def test_skipped_records_come_back_per_record_with_their_reasons(marketo, client) -> None:
    marketo.on("POST", LEADS, envelope([
        {"id": 11, "status": "updated"},
        {"status": "skipped", "reasons": [{"code": "1005", "message": "Lead already exists"}]},
        {"status": "skipped", "reasons": [{"code": "1006", "message": "Field 'foo' not found"},
                                           {"code": "1003", "message": "Invalid data"}]},
        {"id": 12, "status": "created"},
    ]))
    results = client.sync_leads(leads(4), action="createOnly")
    assert [r.status for r in results] == ["updated", "skipped", "skipped", "created"]
    assert [r.ok for r in results] == [True, False, False, True]
    assert results[1].reasons[0].code == "1005"
    assert results[2].reason_text == "1006 Field 'foo' not found; 1003 Invalid data"
    assert (results[0].id, results[3].id) == (11, 12)


def test_a_record_marketo_did_not_answer_for_is_reported_not_dropped(marketo, client) -> None:
    marketo.on("POST", LEADS, envelope([{"id": 1, "status": "created"}]))
    results = client.sync_leads(leads(2))
    assert [r.status for r in results] == ["created", "unknown"]
    assert results[1].reasons[0].code == CLIENT_NO_RESULT and not results[1].ok


def test_records_sharing_a_lookup_value_are_never_sent_at_the_same_time(marketo, make_client) -> None:
    marketo.delay = 0.05
    client = make_client(max_in_flight=5)
    records = leads(600) + [{"email": " MEMBER5@example.jp ", "firstName": "later"}]
    results = client.sync_leads(records)
    assert len(results) == 601 and all(r.ok for r in results)
    calls = marketo.calls(LEADS)
    first = next(c for c in calls if any(r["email"] == "member5@example.jp" for r in c.json()["input"]))
    second = next(c for c in calls if any(r.get("firstName") == "later" for r in c.json()["input"]))
    assert second.arrived >= first.ended, "the second record for one email waits for the first call to finish"


def test_create_duplicate_does_not_wait(marketo, client) -> None:
    client.sync_leads(leads(2) + leads(2), action="createDuplicate")
    assert len(marketo.calls(LEADS)) == 1


def test_a_quota_stop_mid_run_keeps_the_results_already_made(marketo, make_client) -> None:
    client = make_client(max_in_flight=1)
    marketo.on("POST", LEADS, envelope([{"id": i, "status": "created"} for i in range(300)]), failure("607"))
    with pytest.raises(MarketoQuotaExceeded) as caught:
        client.sync_leads(leads(900))
    done = caught.value.completed_results
    assert [r.index for r in done] == list(range(300))
    assert len(marketo.calls(LEADS)) == 2, "nothing is sent after 607"


def test_concurrent_batches_stop_after_a_quota_error(marketo, make_client) -> None:
    client = make_client(max_in_flight=3)
    marketo.delay = 0.05
    marketo.on("POST", LEADS, failure("607"))
    with pytest.raises(MarketoQuotaExceeded) as caught:
        client.sync_leads(leads(300 * 12))
    calls = marketo.calls(LEADS)
    quota_answer = next(c for c in calls if c.answered_code == "607")
    assert all(c.arrived <= quota_answer.ended + 0.03 for c in calls), "no batch starts after the 607"
    assert len(calls) < 12
    completed = caught.value.completed_results
    assert all(r.ok for r in completed) and len(completed) % 300 == 0


def test_invalid_actions_and_id_lookups_are_refused_before_any_call(marketo, client) -> None:
    with pytest.raises(MarketoUsageError):
        client.sync_leads(leads(1), action="upsert")
    with pytest.raises(MarketoUsageError):
        client.sync_leads([{"id": 5}], action="createOrUpdate", lookup_field="id")
    assert marketo.calls() == []
    client.sync_leads([{"id": 5, "firstName": "A"}], action="updateOnly", lookup_field="id", partition="Japan")
    body = marketo.calls(LEADS)[0].json()
    assert body["partitionName"] == "Japan" and body["lookupField"] == "id"


def test_custom_object_results_are_aligned_by_seq(marketo, client) -> None:
    def shuffled(request: Request) -> Response:
        inputs = request.json()["input"]
        items = [{"seq": i, "status": "created", "marketoGUID": f"g-{r['orderNumber']}"} for i, r in enumerate(inputs)]
        items[0] = {"seq": 0, "status": "skipped", "reasons": [{"code": "1004", "message": "Lead not found"}]}
        return Response.json(envelope(list(reversed(items))))

    marketo.on("POST", ORDERS, shuffled)
    orders = [{"orderNumber": f"O{i}", "leadId": 100 + i} for i in range(4)]
    results = client.sync_custom_objects("ecOrder_c", orders, dedupe_fields=["orderNumber"])
    assert [r.marketo_guid for r in results] == [None, "g-O1", "g-O2", "g-O3"]
    assert results[0].reasons[0].code == "1004"
    body = marketo.calls(ORDERS)[0].json()
    assert (body["action"], body["dedupeBy"]) == ("createOrUpdate", "dedupeFields")


def test_custom_object_delete_answers_per_key(marketo, client) -> None:
    results = client.delete_custom_objects("ecOrder_c", [{"orderNumber": "O1"}, {"orderNumber": "O2"}])
    assert [r.status for r in results] == ["deleted", "deleted"]
    call = marketo.calls("/rest/v1/customobjects/ecOrder_c/delete.json")[0]
    assert json.loads(call.body) == {"deleteBy": "dedupeFields", "input": [{"orderNumber": "O1"}, {"orderNumber": "O2"}]}
    with pytest.raises(MarketoUsageError):
        client.sync_custom_objects("ecOrder_c/../x", [{}])


def test_iter_sync_leads_yields_each_batch_when_it_is_done(marketo, client) -> None:
    batches = list(client.iter_sync_leads(leads(650)))
    assert sorted(len(b) for b in batches) == [50, 300, 300]
    assert sorted(r.index for b in batches for r in b) == list(range(650))
