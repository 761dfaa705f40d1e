"""The client against the local Marketo (localcloud.marketo) over HTTPS, trusted via REQUESTS_CA_BUNDLE."""
from __future__ import annotations

import datetime as dt
import time
import threading
from typing import Iterator

import pytest

from localcloud.marketo.service import LocalMarketo, start_local_marketo, wait_for
from python_tasks.marketo import (
    MarketoClient,
    MarketoCredentials,
    MarketoError,
    MarketoQuotaExceeded,
    RetryPolicy,
    SharedPacer,
)

NEW_LEAD, CHANGE_DATA_VALUE, MERGE_LEADS = 12, 13, 32


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMarketo]:
    handle = start_local_marketo(tmp_path_factory.mktemp("local-marketo"))
    yield handle
    handle.stop()


@pytest.fixture()
def client(local: LocalMarketo, monkeypatch: pytest.MonkeyPatch) -> Iterator[MarketoClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(local.ca_bundle))
    local.service.reset_settings()
    SharedPacer.forget_all()
    made = MarketoClient(
        MarketoCredentials(local.url, local.client_id, local.client_secret),
        calls_per_window=100, max_in_flight=10,
        retry=RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.5),
        timeout=(5.0, 30.0),
    )
    yield made
    made.close()
    local.service.reset_settings()
    SharedPacer.forget_all()


def members(prefix: str, count: int) -> list[dict]:
    return [
        {"email": f"{prefix}{i}@example.jp", "ecMemberId": f"{prefix}-{i:05d}", "firstName": "太郎", "lastName": f"山田{i}"}
        for i in range(count)
    ]


def test_the_ca_bundle_variable_is_what_makes_tls_work(local: LocalMarketo, monkeypatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    bare = MarketoClient(MarketoCredentials(local.url, local.client_id, local.client_secret))
    with pytest.raises(MarketoError, match="REQUESTS_CA_BUNDLE") as caught:
        bare.describe2()
    assert bare.counters().retries == 0, "a certificate problem is not retried"
    bare.close()
    assert "TLS verification failed" in str(caught.value)
    SharedPacer.forget_all()


def test_sync_700_leads_then_read_them_back_by_a_custom_field(client: MarketoClient) -> None:
    records = members("sync", 700)
    results = client.sync_leads(records, lookup_field="ecMemberId")
    assert [r.status for r in results] == ["created"] * 700
    assert len({r.id for r in results}) == 700
    found = {lead["ecMemberId"]: lead for lead in client.get_leads_by_filter(
        "ecMemberId", [r["ecMemberId"] for r in records], fields=["id", "email", "ecMemberId", "lastName"])}
    assert len(found) == 700
    assert all(found[rec["ecMemberId"]]["id"] == res.id for rec, res in zip(records, results))
    again = client.sync_leads([{**r, "lastName": "更新"} for r in records[:5]], lookup_field="ecMemberId")
    assert [r.status for r in again] == ["updated"] * 5 and [r.id for r in again] == [r.id for r in results[:5]]
    counters = client.counters()
    assert counters.calls_by_endpoint["POST /rest/v1/leads.json"] == 4
    assert counters.token_fetches == 1 and counters.records_sent == 705


def test_record_level_reasons_come_back_per_record(client: MarketoClient) -> None:
    client.sync_leads(members("dup", 1))
    results = client.sync_leads(
        members("dup", 1) + [{"email": "fresh-1@example.jp"}, {"email": "bad-1@example.jp", "noSuchField": "x"}],
        action="createOnly",
    )
    assert results[0].status == "skipped" and results[0].reasons[0].code == "1005"
    assert results[1].status == "created"
    assert results[2].status == "skipped" and results[2].reasons[0].code == "1006"
    missing = client.sync_leads([{"email": "nobody-1@example.jp", "firstName": "x"}], action="updateOnly")
    assert missing[0].reasons[0].code == "1004"


def test_a_long_filter_read_goes_as_method_get_and_works(client: MarketoClient) -> None:
    records = [{"email": f"a.rather.long.member.address.{i:04d}@example-shop.co.jp"} for i in range(300)]
    client.sync_leads(records)
    found = list(client.get_leads_by_filter("email", [r["email"] for r in records], fields=["email"]))
    assert len(found) == 300
    assert any("(_method=GET)" in key for key in client.counters().calls_by_endpoint)


def test_merge_moves_history_and_losers_are_gone(client: MarketoClient) -> None:
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)
    ids = [r.id for r in client.sync_leads(
        [{"email": f"merge{i}@example.jp", "firstName": ["", "花子", "次郎"][i]} for i in range(3)]
    )]
    client.merge_leads(ids[0], ids[1:])
    assert [lead["id"] for lead in client.get_leads_by_filter("id", ids)] == [ids[0]]
    winner = next(client.get_leads_by_filter("id", [ids[0]], fields=["id", "firstName"]))
    assert winner["firstName"] in ("花子", "次郎"), "an empty winner value is filled from a loser"
    token = client.get_paging_token(since)
    merges = [a for a in client.get_activities([MERGE_LEADS], token, lead_ids=[ids[0]])]
    assert merges, "the merge is recorded as an activity of the winner"
    assert {t["id"] for t in client.get_activity_types()} >= {NEW_LEAD, CHANGE_DATA_VALUE, MERGE_LEADS}


def test_custom_objects_linked_to_leads(client: MarketoClient) -> None:
    described = client.describe_custom_object("ecOrder_c")
    assert described["dedupeFields"] == ["orderNumber"]
    lead_id = client.sync_leads(members("order", 1))[0].id
    orders = [{"orderNumber": f"ORD-{i}", "leadId": lead_id, "totalAmount": 1000 * i, "status": "shipped"} for i in range(3)]
    orders.append({"orderNumber": "ORD-orphan", "leadId": 999_999_999})
    results = client.sync_custom_objects("ecOrder_c", orders, dedupe_fields=described["dedupeFields"])
    assert [r.status for r in results] == ["created", "created", "created", "skipped"]
    assert results[3].reasons[0].code == "1004" and all(r.marketo_guid for r in results[:3])
    found = list(client.get_custom_objects("ecOrder_c", "leadId", [lead_id]))
    assert sorted(o["orderNumber"] for o in found) == ["ORD-0", "ORD-1", "ORD-2"]
    deleted = client.delete_custom_objects("ecOrder_c", [{"orderNumber": "ORD-0"}])
    assert deleted[0].status == "deleted"
    assert len(list(client.get_custom_objects("ecOrder_c", "leadId", [lead_id]))) == 2


def test_bulk_import_runs_to_complete_and_reports_failures(client: MarketoClient) -> None:
    csv = "email,firstName,ecMemberId\nbulk1@example.jp,一郎,B-1\nbulk2@example.jp,二郎,B-2\nnot-an-email,三郎,B-3\n"
    job = client.import_leads_csv(csv.encode("utf-8"))
    final = client.wait_for_import(job.batch_id, poll_seconds=0.1, timeout_seconds=30)
    assert final.status == "Complete"
    assert final.rows_failed == 1 and final.leads_processed >= 2
    assert "not-an-email" in client.get_import_failures(job.batch_id)
    assert len(list(client.get_leads_by_filter("ecMemberId", ["B-1", "B-2"]))) == 2


def test_bulk_custom_object_import_runs_to_complete_and_reports_failures(client: MarketoClient) -> None:
    lead_id = client.sync_leads([{"email": "co-bulk@example.jp"}])[0].id
    csv = f"orderNumber,leadId,totalAmount,productNames\nBC-1,{lead_id},12800,茶碗\nBC-2,999999,1,x\n"
    job = client.import_custom_objects_csv("ecOrder_c", csv.encode("utf-8"))
    assert job.status == "Queued" and job.object_api_name == "ecOrder_c"
    final = client.wait_for_custom_object_import("ecOrder_c", job.batch_id, poll_seconds=0.1, timeout_seconds=30)
    assert (final.status, final.leads_processed, final.rows_failed) == ("Complete", 1, 1)
    failures = client.get_custom_object_import_failures("ecOrder_c", job.batch_id)
    assert failures.splitlines()[1].startswith("BC-2,999999,1,x,1004")
    assert client.get_custom_object_import_warnings("ecOrder_c", job.batch_id) == ""  # HTTP 404: no file
    assert [r["orderNumber"] for r in client.get_custom_objects("ecOrder_c", "leadId", [lead_id])] == ["BC-1"]
    calls = client.counters().calls_by_endpoint
    assert calls["POST /bulk/v1/customobjects/{apiName}/import.json"] == 1
    assert calls["GET /bulk/v1/customobjects/{apiName}/import/{id}/failures.json"] == 1
    with pytest.raises(MarketoError) as missing:  # a job that does not exist is an error, not an empty file
        client.get_custom_object_import_failures("ecOrder_c", 987654)
    assert missing.value.code == "1013"


def test_threads_at_the_real_limits_meet_no_606_or_615(client: MarketoClient, local: LocalMarketo) -> None:
    # A tenth of the real window keeps the test short; the client and the server use the same limits.
    local.service.update_settings(rate_limit_calls=10, rate_limit_window_seconds=2.0, max_concurrent_calls=4)
    SharedPacer.forget_all()
    # Earlier tests' calls are still in the server's window, and a new pacer knows nothing of them.
    assert wait_for(lambda: local.service.limiter.calls_in_window() == 0, timeout=5)
    creds = MarketoCredentials(local.url, local.client_id, local.client_secret)
    clients = [MarketoClient(creds, calls_per_window=10, max_in_flight=4, window_seconds=2.0,
                             retry=RetryPolicy(max_attempts=1)) for _ in range(2)]
    before = dict(local.service.limiter.refused)
    errors: list[BaseException] = []

    def work(c: MarketoClient) -> None:
        try:
            for _ in range(3):
                c.describe2()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(clients[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert not errors, errors
    assert dict(local.service.limiter.refused) == before, "the server refused nothing"
    assert local.service.limiter.peak_in_flight <= 10


def test_injected_faults_are_retried_and_every_record_lands_once(client: MarketoClient, local: LocalMarketo) -> None:
    local.service.update_settings(
        fault_share=0.3, fault_kinds=["606", "615", "611", "502", "604", "608", "713"], fault_seed=7,
        expire_token_every_n_calls=4,
    )
    records = members("fault", 1500)
    results = client.sync_leads(records, lookup_field="ecMemberId")
    assert all(r.status == "created" for r in results)
    counters = client.counters()
    assert counters.retries > 0 and counters.token_fetches > 1
    local.service.reset_settings()
    found = list(client.get_leads_by_filter("ecMemberId", [r["ecMemberId"] for r in records], fields=["id"]))
    assert len(found) == 1500, "no record lost, none created twice"


def test_a_hanging_call_times_out_and_is_retried(local: LocalMarketo, monkeypatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(local.ca_bundle))
    local.service.update_settings(fault_share=1.0, fault_kinds=["hang"], hang_seconds=1.0, fault_seed=1)
    SharedPacer.forget_all()
    quick = MarketoClient(MarketoCredentials(local.url, local.client_id, local.client_secret),
                          retry=RetryPolicy(max_attempts=2, base_delay=0.01), timeout=(5.0, 0.3))
    try:
        with pytest.raises(Exception) as caught:
            quick.describe2()
        assert quick.counters().retries_by_cause.get("timeout") == 1
        assert "timeout" in str(caught.value).lower() or "Timeout" in str(caught.value)
    finally:
        quick.close()
        local.service.reset_settings()


def test_the_daily_quota_stops_cleanly(client: MarketoClient, local: LocalMarketo) -> None:
    # A call an earlier test left hanging on the server gives its quota unit back when it ends;
    # read the count only once nothing is in flight, or the quota set below is off by one.
    deadline = time.monotonic() + 15
    while local.service.limiter.in_flight and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not local.service.limiter.in_flight, "a call is still in flight on the local Marketo"
    used = local.service.limiter.quota_used()
    local.service.update_settings(daily_quota=used + 1)
    client.describe2()
    with pytest.raises(MarketoQuotaExceeded) as caught:
        client.sync_leads(members("quota", 10))
    assert caught.value.resume_at > dt.datetime.now(dt.timezone.utc)
    assert client.counters().retries == 0


def test_large_records_are_split_under_the_servers_1_mb_limit(client: MarketoClient, local: LocalMarketo) -> None:
    records = [{**m, "address": "東京都千代田区丸の内一丁目" * 700} for m in members("big", 300)]  # ~27 KB each
    results = client.sync_leads(records, lookup_field="ecMemberId")
    assert all(r.status == "created" for r in results)
    calls = client.counters().calls_by_endpoint["POST /rest/v1/leads.json"]
    assert calls >= 8, "300 records of ~27 KB cannot go in fewer than 8 bodies under 1 MB"


def test_updates_are_visible_as_change_data_value_activities(client: MarketoClient) -> None:
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    lead_id = client.sync_leads(members("change", 1), lookup_field="ecMemberId")[0].id
    client.sync_leads([{"id": lead_id, "lastProductName": "抹茶ラテ"}], action="updateOnly", lookup_field="id")
    token = client.get_paging_token(since)
    types = {a["activityTypeId"] for a in client.get_activities([NEW_LEAD, CHANGE_DATA_VALUE], token, lead_ids=[lead_id])}
    assert types == {NEW_LEAD, CHANGE_DATA_VALUE}
