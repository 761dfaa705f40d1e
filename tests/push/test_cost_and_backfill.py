"""The Marketo cost model against calls measured on the local Marketo, the chooser, and BulkBackfill
(bulk lead + custom object import) including failed rows and a failed job."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import pytest

from localcloud.marketo.service import LocalMarketo, start_local_marketo
from python_tasks.mapping import Mapping, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy, SharedPacer
from python_tasks.push.backfill import BulkBackfill, csv_files, failed_rows
from python_tasks.push.build import OrderWrite
from python_tasks.push.cost import (
    BULK,
    REST,
    CostSettings,
    PushVolume,
    choose,
    estimate_bulk,
    estimate_rest,
    share,
)
from tests.push.marketo_paths import Dataset, cost_settings, folded, make_dataset, rest_push

ROOT = Path(__file__).resolve().parents[2]
STATUS_ENDPOINTS = ("GET /bulk/v1/leads/batch/{id}.json", "GET /bulk/v1/customobjects/{apiName}/import/{id}/status.json")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMarketo]:
    handle = start_local_marketo(tmp_path_factory.mktemp("cost-marketo"))
    yield handle
    handle.stop()


@pytest.fixture()
def client(local: LocalMarketo, monkeypatch: pytest.MonkeyPatch) -> Iterator[MarketoClient]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(local.ca_bundle))
    local.service.reset_settings()
    # the calls are what is measured here, not pacing: earlier tests' calls are still in the server's
    # 20-second window, and a new client's pacer knows nothing of them
    local.service.update_settings(rate_limit_calls=100_000)
    SharedPacer.forget_all()
    made = MarketoClient(MarketoCredentials(local.url, local.client_id, local.client_secret),
                         calls_per_window=100, max_in_flight=5,
                         retry=RetryPolicy(max_attempts=6, base_delay=0.05, max_delay=0.5), timeout=(5.0, 60.0))
    yield made
    made.close()
    SharedPacer.forget_all()


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping(ROOT / "ecbridge.yml")


def with_lookup(mapping: Mapping, field: str) -> Mapping:
    lead = dataclasses.replace(mapping.marketo.lead, lookup_field=field)
    return dataclasses.replace(mapping, marketo=dataclasses.replace(mapping.marketo, lead=lead))


# ---------------------------------------------------------------- the model against measured calls

def test_rest_model_matches_a_first_push_and_a_second_one(client: MarketoClient, mapping: Mapping) -> None:
    """650 new persons, 3 orders each, chunks of 300 (300, 300, 50): then the same persons again,
    all known now."""
    data = make_dataset(mapping, 650, 3, prefix="first")
    settings = CostSettings.from_mapping(mapping)
    first = estimate_rest(PushVolume(650, 1950), settings)
    assert rest_push(client, mapping, data) == folded(first.phases)
    assert folded(first.phases) == {"access token": 1, "setup (describes)": 2, "identity": 3, "persons: createOnly": 3,
                                    "custom objects: createOrUpdate": 7, "order fields: updateOnly": 3}
    again = estimate_rest(PushVolume(650, 1950, new_persons=0), settings)
    client.transport.tokens.invalidate(client.transport.tokens.get())  # a new run fetches its token
    assert rest_push(client, mapping, data) == folded(again.phases)
    assert again.phases["persons: updateOnly"] == 3 and again.phases["persons: createOnly"] == 0


def test_rest_model_matches_a_mixed_push_with_another_lookup_field(client: MarketoClient, mapping: Mapping) -> None:
    """Lookup by ecMemberId (two identity reads per chunk), chunks of 150, a quarter already known."""
    by_member = with_lookup(mapping, "ecMemberId")
    data = make_dataset(by_member, 320, 2, prefix="mixed")
    known = Dataset(data.persons[::4], {}, {})
    rest_push(client, by_member, known)  # every fourth person exists before the push
    client.transport.tokens.invalidate(client.transport.tokens.get())
    settings = CostSettings.from_mapping(by_member, chunk_size=150)
    model = estimate_rest(PushVolume(320, 640, new_persons=320 - len(known.persons)), settings)
    assert model.phases["identity: by lookup field"] == 3
    assert rest_push(client, by_member, data, chunk_size=150) == folded(model.phases)


def calls_by_endpoint(client: MarketoClient, before: dict[str, int]) -> dict[str, int]:
    after = client.counters().calls_by_endpoint
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_bulk_model_matches_a_backfill_but_for_the_polls(client: MarketoClient, mapping: Mapping) -> None:
    """700 persons, 2,100 orders, files cut at 30,000 bytes so that every phase takes several."""
    data = make_dataset(mapping, 700, 3, prefix="bulkmodel")
    before = client.counters().calls_by_endpoint
    backfill = BulkBackfill(client, mapping, poll_seconds=0.05, max_file_bytes=30_000)
    result = backfill.run(data.values(), data.orders, order_fields=lambda key, _pushed: data.order_fields[key])
    used = calls_by_endpoint(client, before)
    assert all(o.ok for o in result.persons.values()) and all(o.ok for o in result.orders.values())
    assert len(result.orders) == 2100 and result.calls == sum(used.values())
    model = estimate_bulk(PushVolume(700, 2100), cost_settings(mapping, data, max_file_bytes=30_000,
                                                                resolve_identity_first=False))
    phases = model.phases
    assert sum(n for e, n in used.items() if e.startswith("GET /rest/v1/leads.json")) == \
        phases["lead ids: by lookup field"] == 3
    lead_jobs = used["POST /bulk/v1/leads.json"]
    co_jobs = used["POST /bulk/v1/customobjects/{apiName}/import.json"]
    assert lead_jobs + co_jobs == len(result.jobs)
    assert phases["persons: import jobs"] >= 2 and phases["custom objects: import jobs"] >= 4
    # the model sizes files from an average row: within one file per phase of what was cut
    assert abs(lead_jobs - phases["persons: import jobs"] - phases["order fields: import jobs"]) <= 2
    assert abs(co_jobs - phases["custom objects: import jobs"]) <= 1
    polls = sum(used.get(e, 0) for e in STATUS_ENDPOINTS)
    assert polls >= lead_jobs + co_jobs  # every job is asked at least once; more depends on the clock
    assert not [e for e in used if "failures" in e]  # no row failed: no failures file read
    assert used.get("POST /identity/oauth/token", 0) <= phases["access token"]


def test_the_model_cuts_files_as_backfill_does(mapping: Mapping) -> None:
    data = make_dataset(mapping, 400, 0, prefix="cut")
    values = [p.values for p in data.persons]
    files = csv_files(values, max_bytes=12_000)
    assert all(len(body) <= 12_000 and body.startswith(b"email,firstName") for body, _ in files)
    assert sorted(i for _, positions in files for i in positions) == list(range(400))
    model = estimate_bulk(PushVolume(400, 0), cost_settings(mapping, data, max_file_bytes=12_000,
                                                            resolve_identity_first=False))
    assert abs(model.phases["persons: import jobs"] - len(files)) <= 1 and len(files) >= 2


# ---------------------------------------------------------------- the chooser

def test_a_million_members_fit_one_day_and_take_the_bulk_path(mapping: Mapping) -> None:
    settings = CostSettings.from_mapping(mapping)
    volume = PushVolume(1_000_000, 3_000_000)
    choice = choose(volume, settings)
    assert choice.method == BULK and choice.chosen.budget <= 50_000
    # REST also fits, at twice the calls: 3 tokens (2.2 h at 2.5 calls/s), 2 describes, 3,334 chunks of
    # 1 identity read + 1 createOnly + 3 custom object syncs + 1 order fields update
    assert estimate_rest(volume, settings).calls == 3 + 2 + 3334 * 3 + 10_000
    assert estimate_rest(volume, settings).fits(50_000)
    assert "bulk saves" in choice.reason and f"{choice.calls:,}" in choice.summary_line()


def test_small_pushes_stay_on_rest_and_a_full_day_is_said(mapping: Mapping) -> None:
    settings = CostSettings.from_mapping(mapping)
    assert choose(PushVolume(300, 900), settings).method == REST
    assert choose(PushVolume(10_000, 30_000), settings).method == REST
    late = choose(PushVolume(1_000_000, 3_000_000), settings, already_used=45_000)
    assert late.method == BULK and "neither fits the 5,000 calls left today" in late.reason
    assert "spread over 2 days" in late.reason
    only_bulk = choose(PushVolume(1_000_000, 3_000_000), settings, already_used=35_000)
    assert only_bulk.method == BULK and only_bulk.reason.startswith("only bulk fits")
    with pytest.raises(ValueError, match="new_persons"):
        PushVolume(10, 10, new_persons=11)


def test_share_spreads_exactly() -> None:
    assert share(650, [300, 300, 50]) == [300, 300, 50]
    assert sum(share(1000, [300, 300, 50])) == 1000
    assert share(0, [3, 3]) == [0, 0] and share(5, []) == []


# ---------------------------------------------------------------- BulkBackfill: nothing lost

def test_backfill_reports_failed_rows_with_marketos_reason_and_reruns_safely(
        client: MarketoClient, mapping: Mapping, local: LocalMarketo) -> None:
    data = make_dataset(mapping, 6, 2, prefix="bf")
    persons = data.values()
    keys = list(persons)
    persons[keys[1]] = {**persons[keys[1]], "firstName": "長" * 300}  # longer than Marketo's 255
    existing = client.sync_leads([{"email": persons[keys[2]]["email"], "firstName": "old"}])[0].id
    orders = dict(data.orders)
    bad = orders[keys[3]][0]
    orders[keys[3]] = [OrderWrite(bad.order_id, bad.order_number, bad.member_id,
                                  {"ecOrder_c": {**bad.values["ecOrder_c"], "lineCount": "two"}}), orders[keys[3]][1]]
    seen: dict[str, frozenset[str]] = {}

    def order_fields(key: str, pushed: frozenset[str]) -> dict:
        seen[key] = pushed
        return data.order_fields[key]

    backfill = BulkBackfill(client, mapping, poll_seconds=0.05)
    result = backfill.run(persons, orders, known_ids={keys[2]: existing}, order_fields=order_fields)
    failed_person = result.persons[keys[1]]
    assert failed_person.lead_id is None and failed_person.error and failed_person.error.startswith("1003")
    assert [o.error for o in (result.orders[w.order_id] for w in orders[keys[1]])] == [
        f"member not in Marketo: {failed_person.error}"] * 2
    assert result.orders[bad.order_id].error.startswith("ecOrder_c: 1001")
    assert result.orders[orders[keys[3]][1].order_id].ok
    assert seen[keys[3]] == frozenset({orders[keys[3]][1].order_id})  # the failed order is not "in Marketo"
    assert result.persons[keys[2]].lead_id == existing  # known: updated by id, not created again
    ok = [k for k in keys if k != keys[1]]
    assert all(result.persons[k].ok for k in ok)
    leads = {lead["email"]: lead for lead in client.get_leads_by_filter(
        "email", [persons[k]["email"] for k in keys], ["id", "email", "firstName", "lastOrderNumber"])}
    assert len(leads) == 5 and persons[keys[1]]["email"] not in leads
    assert leads[persons[keys[2]]["email"]]["firstName"] == persons[keys[2]]["firstName"]
    for key in ok:
        lead = leads[persons[key]["email"]]
        assert lead["id"] == result.persons[key].lead_id
        assert lead["lastOrderNumber"] == data.order_fields[key]["lastOrderNumber"]
        linked = {r["orderNumber"] for r in client.get_custom_objects("ecOrder_c", "leadId", [lead["id"]])}
        assert linked == {w.order_number for w in orders[key] if result.orders[w.order_id].ok}
    # the same backfill again: nothing doubled
    leads_before, cos_before = local.service.store.count_leads(), _custom_objects(local)
    again = backfill.run(persons, orders, known_ids={keys[2]: existing}, order_fields=order_fields)
    assert {k: o.lead_id for k, o in again.persons.items()} == {k: o.lead_id for k, o in result.persons.items()}
    assert (local.service.store.count_leads(), _custom_objects(local)) == (leads_before, cos_before)


def _custom_objects(local: LocalMarketo) -> int:
    with local.service.store.transaction() as db:
        return db.execute("SELECT COUNT(*) FROM custom_objects").fetchone()[0]


def test_a_failed_job_fails_its_rows_and_a_missing_lookup_value_is_reported(
        client: MarketoClient, mapping: Mapping) -> None:
    data = make_dataset(mapping, 3, 1, prefix="jobfail")
    persons = {p.key: {**p.values, "shoeSize": 44} for p in data.persons}  # not a Marketo field: the job fails
    persons["email:"] = {"firstName": "no email"}
    persons["email:a,b@example.jp"] = {"email": "a,b@example.jp"}
    result = BulkBackfill(client, mapping, poll_seconds=0.05).run(persons, data.orders)
    for p in data.persons:
        assert "failed: Field 'shoeSize' not found" in (result.persons[p.key].error or "")
        assert all((result.orders[w.order_id].error or "").startswith("member not in Marketo")
                   for w in data.orders[p.key])
    assert result.persons["email:"].error == "no value for the lookup field email"
    assert "contains a comma" in (result.persons["email:a,b@example.jp"].error or "")
    assert [j.status for j in result.jobs] == ["Failed"]


def test_the_daily_quota_stops_the_backfill_and_says_so_for_every_record(
        client: MarketoClient, mapping: Mapping, local: LocalMarketo) -> None:
    data = make_dataset(mapping, 4, 1, prefix="quota")
    local.service.update_settings(daily_quota=local.service.stats()["quotaUsedToday"] + 1)
    result = BulkBackfill(client, mapping, poll_seconds=0.05).run(data.values(), data.orders)
    assert result.stopped
    assert all(o.error and "not written" in o.error for o in result.persons.values())
    assert len(result.orders) == 4 and all(not o.ok for o in result.orders.values())


def test_failures_file_rows_are_read_by_column() -> None:
    text = "email,firstName,Import Failure\na@example.jp,\"x, y\",1003 Invalid\n"
    assert failed_rows(text, "email") == [("a@example.jp", "1003 Invalid")]
    assert failed_rows("", "email") == [] and failed_rows("id\n1\n", "email") == []


def test_a_quota_stop_before_the_order_fields_leaves_no_person_called_done(
        client: MarketoClient, mapping: Mapping, monkeypatch: pytest.MonkeyPatch) -> None:
    from python_tasks.marketo import MarketoQuotaExceeded

    data = make_dataset(mapping, 3, 1, prefix="late")
    real = client.import_leads_csv

    def spent_for_order_fields(csv_bytes: bytes, **kwargs):
        if b"lastOrderNumber" in csv_bytes:
            raise MarketoQuotaExceeded("Daily quota reached")
        return real(csv_bytes, **kwargs)

    monkeypatch.setattr(client, "import_leads_csv", spent_for_order_fields)
    result = BulkBackfill(client, mapping, poll_seconds=0.05).run(
        data.values(), data.orders, order_fields=lambda key, _pushed: data.order_fields[key])
    assert "Daily quota reached" in result.stopped
    assert all(o.lead_id and not o.ok and o.error.startswith("order fields not written")
               for o in result.persons.values())
    assert all(o.ok for o in result.orders.values())  # the orders themselves did reach Marketo
