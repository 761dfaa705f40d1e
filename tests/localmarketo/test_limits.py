"""Every limit with its real code: 606, 615, 607, 300 records (1003), 413, 414; uncounted codes."""

from __future__ import annotations

import threading
import time

import pytest

from localcloud.marketo.service import LocalMarketo
from localcloud.marketo.settings import Settings
from tests.localmarketo.conftest import Api

DESCRIBE = "/rest/v1/leads/describe2.json"


def test_defaults_are_the_real_limits() -> None:
    s = Settings()
    assert (
        s.rate_limit_calls,
        s.rate_limit_window_seconds,
        s.max_concurrent_calls,
        s.daily_quota,
    ) == (100, 20.0, 10, 50_000)
    assert (s.max_batch_records, s.max_body_bytes, s.max_bulk_body_bytes, s.max_uri_bytes) == (
        300,
        1_048_576,
        10_485_760,
        8192,
    )
    assert (
        s.token_lifetime_seconds,
        s.max_merge_losers,
        s.bulk_import_max_running,
        s.bulk_import_max_queued,
    ) == (3600, 25, 2, 10)


class SteppedClock:
    """A monotonic clock that moves only when told, so a slow machine cannot slide the window early."""

    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


def test_rate_limit_606_in_a_sliding_window(
    api: Api, marketo: LocalMarketo, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = SteppedClock()
    monkeypatch.setattr(marketo.service.limiter, "_clock", clock)
    marketo.service.update_settings(rate_limit_calls=5, rate_limit_window_seconds=1.0)
    answers = [api.get(DESCRIBE) for _ in range(6)]
    assert all(a["success"] for a in answers[:5])
    assert answers[5]["errors"] == [
        {"code": "606", "message": "Max rate limit '5' exceeded with in '1' secs"}
    ]
    clock.now += 0.9
    assert api.get(DESCRIBE)["errors"][0]["code"] == "606"  # still inside the window
    clock.now += 0.15
    assert api.get(DESCRIBE)["success"] is True  # the window slid


def test_uncounted_codes_do_not_use_the_rate_or_the_quota(api: Api, marketo: LocalMarketo) -> None:
    marketo.service.update_settings(rate_limit_calls=3, daily_quota=3)
    for _ in range(5):
        assert (
            api.get(DESCRIBE, headers={"Authorization": "Bearer bad:lc"})["errors"][0]["code"]
            == "601"
        )
    marketo.service.update_settings(fault_share=1.0, fault_kinds=["611"])
    for _ in range(4):
        assert api.get(DESCRIBE)["errors"][0]["code"] == "611"
    marketo.service.update_settings(fault_share=0.0)
    assert [api.get(DESCRIBE)["success"] for _ in range(3)] == [True, True, True]
    assert marketo.service.stats()["quotaUsedToday"] == 3


def test_daily_quota_607_and_it_survives_restart(
    api: Api, marketo: LocalMarketo, tmp_path, certs_dir
) -> None:
    marketo.service.update_settings(daily_quota=2)
    assert [api.get(DESCRIBE)["success"] for _ in range(2)] == [True, True]
    assert api.get(DESCRIBE)["errors"] == [{"code": "607", "message": "Daily quota reached"}]
    marketo.stop()
    from localcloud.marketo.service import start_local_marketo

    again = start_local_marketo(tmp_path / "marketo", certs_dir=certs_dir)
    try:
        assert again.service.stats()["quotaUsedToday"] == 2
        assert Api(again).get(DESCRIBE)["errors"][0]["code"] == "607"
    finally:
        again.stop()


def test_calls_in_flight_615(api: Api, marketo: LocalMarketo) -> None:
    marketo.service.update_settings(
        max_concurrent_calls=2, fault_share=1.0, fault_kinds=["hang"], hang_seconds=1.5
    )
    api.token()
    answers: list[dict] = []

    def slow() -> None:
        answers.append(Api(marketo).get(DESCRIBE))

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.time() + 5
    while marketo.service.limiter.in_flight < 2 and time.time() < deadline:
        time.sleep(0.01)
    third = api.get(DESCRIBE)
    assert third["errors"] == [{"code": "615", "message": "Concurrent access limit reached"}]
    for thread in threads:
        thread.join()
    assert [a["errors"][0]["code"] for a in answers] == ["604", "604"]  # a hang ends in a time-out


def test_300_records_per_write_and_filter(api: Api) -> None:
    ok = api.post(
        "/rest/v1/leads.json", json={"input": [{"email": f"r{i}@example.com"} for i in range(300)]}
    )
    assert ok["success"] is True and len(ok["result"]) == 300
    too_many = api.post(
        "/rest/v1/leads.json", json={"input": [{"email": f"s{i}@example.com"} for i in range(301)]}
    )
    assert too_many["success"] is False and too_many["errors"][0]["code"] == "1003"
    values = ",".join(str(i) for i in range(301))
    assert (
        api.post(
            "/rest/v1/leads.json",
            data={"_method": "GET", "filterType": "id", "filterValues": values},
        )["errors"][0]["code"]
        == "1003"
    )
    co = api.post(
        "/rest/v1/customobjects/ecOrder_c.json",
        json={"input": [{"orderNumber": str(i)} for i in range(301)]},
    )
    assert co["errors"][0]["code"] == "1003"


def test_body_over_1_mb_is_http_413(api: Api, marketo: LocalMarketo) -> None:
    big = {"input": [{"email": "a@example.com", "address": "x" * 1_100_000}]}
    assert api.call("POST", "/rest/v1/leads.json", json=big).status_code == 413
    marketo.service.update_settings(max_bulk_body_bytes=1000)
    files = {"file": ("leads.csv", b"email\n" + b"a@example.com\n" * 200, "text/csv")}
    assert (
        api.call("POST", "/bulk/v1/leads.json", params={"format": "csv"}, files=files).status_code
        == 413
    )


def test_uri_over_8_kb_is_414_and_post_with_method_get_works(api: Api) -> None:
    created = api.post("/rest/v1/leads.json", json={"input": [{"email": "long@example.com"}]})[
        "result"
    ][0]["id"]
    values = ",".join(["nobody-with-a-long-address@example.com"] * 250 + ["long@example.com"])
    params = {"filterType": "email", "filterValues": values, "fields": "id"}
    assert api.call("GET", "/rest/v1/leads.json", params=params).status_code == 414
    body = api.post("/rest/v1/leads.json", data={**params, "_method": "GET"})
    assert body["success"] is True and body["result"] == [{"id": created}]
    via_query = api.post("/rest/v1/leads.json", params={"_method": "GET"}, data=params)
    assert via_query["result"] == [{"id": created}]


def test_many_threads_at_once_are_safe(marketo: LocalMarketo) -> None:
    marketo.service.update_settings(max_concurrent_calls=50, rate_limit_calls=1000)
    results: list[dict] = []
    lock = threading.Lock()

    def push(n: int) -> None:
        client = Api(marketo)
        body = client.post(
            "/rest/v1/leads.json",
            json={
                "input": [{"email": f"t{n}-{i}@example.com"} for i in range(20)]
                + [{"email": "shared@example.com", "firstName": f"T{n}"}]
            },
        )
        with lock:
            results.append(body)

    threads = [threading.Thread(target=push, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r["success"] for r in results)
    ids = [item["id"] for r in results for item in r["result"][:20]]
    assert len(ids) == len(set(ids)) == 240
    assert marketo.service.store.count_leads() == 241  # one shared person, not twelve


def test_the_quota_day_resets_at_midnight_us_central(tmp_path) -> None:
    import datetime as dt

    from localcloud.marketo.limits import Limiter, Refused
    from localcloud.marketo.store import Store

    settings = Settings(daily_quota=2)
    now = [dt.datetime(2026, 3, 2, 5, 59, tzinfo=dt.timezone.utc).timestamp()]  # 23:59 in Chicago
    store = Store(tmp_path / "q.sqlite3")
    limiter = Limiter(store, lambda: settings, wall_clock=lambda: now[0])
    for _ in range(2):
        limiter.settle(limiter.admit(), None)
    with pytest.raises(Refused) as refused:
        limiter.admit()
    assert refused.value.code == "607"
    now[0] += 120  # 00:01 in Chicago: a new day
    limiter.settle(limiter.admit(), None)
    assert limiter.quota_used() == 1
    store.close()


def test_eleventh_real_call_in_flight_is_615(api: Api, marketo: LocalMarketo) -> None:
    """No fault injection: ten real writes wait on a busy database and the eleventh is refused."""
    token = api.token()
    api.get(DESCRIBE)
    answers: list[dict] = []
    clients = [Api(marketo) for _ in range(10)]
    for client in clients:
        client._token = token
    with marketo.service.store.transaction():  # the database is busy
        threads = [
            threading.Thread(
                target=lambda c=c, n=n: answers.append(
                    c.post(
                        "/rest/v1/leads.json", json={"input": [{"email": f"busy{n}@example.com"}]}
                    )
                )
            )
            for n, c in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        deadline = time.time() + 5
        while marketo.service.limiter.in_flight < 10 and time.time() < deadline:
            time.sleep(0.01)
        eleventh = api.post("/rest/v1/leads.json", json={"input": [{"email": "late@example.com"}]})
        assert eleventh["errors"] == [{"code": "615", "message": "Concurrent access limit reached"}]
    for thread in threads:
        thread.join()
    assert all(a["success"] for a in answers) and marketo.service.store.count_leads() == 10


def test_a_uri_just_under_8_kb_is_served(api: Api, marketo: LocalMarketo) -> None:
    import requests

    def path_url(values: str) -> str:
        params = {"filterType": "email", "filterValues": values}
        prepared = requests.Request("GET", marketo.url + "/rest/v1/leads.json", params=params)
        return prepared.prepare().path_url

    values = ",".join(f"a-rather-long-name-{i}@example.com" for i in range(300))
    while len(path_url(values)) > 8192:
        values = values[: values.rindex(",")]
    assert len(path_url(values)) > 8100
    assert api.call("GET", path_url(values)).status_code == 200
