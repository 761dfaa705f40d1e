"""A push reads what changed, not what the org holds: the watermark, the overlap, the retry set and
the change stamp, with the edge cases that could lose or double a change (python_tasks/push/state.py)."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from python_tasks.push.runner import PushOptions, PushRun, PushSummary
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import merge_describes
from tests.push.helpers import add_member, add_order, leads_by_email


def run_push(services: Any, client: Any = None, sf_io: Any = None, **options: Any) -> tuple[PushSummary, int]:
    """One push; its summary and the Salesforce calls it made."""
    client = client or services.client
    schema = merge_describes(services.mapping, client.describe2(),
                             [(co.api_name, client.describe_custom_object(co.api_name))
                              for co in services.mapping.marketo.custom_objects])
    sf_io = sf_io or SalesforceIO(services.sf)
    before = sf_io.calls
    options.setdefault("cache", services.cache)
    summary = PushRun(services.mapping, sf_io, client, schema, PushOptions(**options)).run()
    return summary, sf_io.calls - before


def next_second() -> None:
    """Let the write-back fall in a later second than the changes: SOQL datetime literals are whole
    seconds, so a record changed and pushed within one second is read once more (changes.py)."""
    time.sleep(1.05 - datetime.now(timezone.utc).microsecond / 1e6)


def first_name(services: Any, email: str) -> str:
    [lead] = leads_by_email(services.client, email)
    return lead["firstName"]


def test_an_idle_push_is_one_call_that_reads_no_member_and_no_order(services) -> None:
    sf = services.sf
    ids = [add_member(sf, f"M{i}", f"p{i}@example.jp") for i in range(5)]
    for i, member_id in enumerate(ids):
        add_order(sf, f"O-{i}", f"M{i}", member_id, "2024-05-01T00:00:00.000+0000", 1000, ["茶"])
    next_second()
    full, _ = run_push(services)
    assert full.read_method == "full (REST)" and (full.persons_created, full.orders_pushed) == (5, 5)
    idle, calls = run_push(services)
    assert idle.read_method == "changes"
    assert (idle.members_read, idle.orders_read, idle.rows_read) == (0, 0, 0), \
        "the push's own write-backs moved SystemModstamp but not the change stamp: not read"
    assert calls == 1, "one composite call: changes, retries and the waiting orders"
    sf.Contact.update(ids[3], {"FirstName": "花子"})
    next_second()
    one, calls = run_push(services)
    assert (one.members_read, one.persons_updated, one.orders_pushed) == (1, 1, 0)
    assert first_name(services, "p3@example.jp") == "花子"
    assert one.rows_read == 1 + 1, "the changed member and its one order (for the last-order fields)"
    idle, calls = run_push(services)
    assert (idle.members_read, idle.rows_read, calls) == (0, 0, 1)


def test_a_late_commit_inside_the_overlap_is_pushed_and_outside_it_would_be_missed(services) -> None:
    """A transaction saved (stamped) before a run's read but committed after it: the run cannot see
    it, and its stamp is already behind the watermark that run leaves."""
    sf, store = services.sf, services.org.store
    member = add_member(sf, "M1", "late@example.jp")
    next_second()
    run_push(services)
    time.sleep(2.0)
    idle, _ = run_push(services)  # reads at W; the late transaction below stamped W - 1 s
    watermark = services.cache.checkpoint().watermark
    store.set_clock(lambda: watermark - timedelta(seconds=1))
    try:
        sf.Contact.update(member, {"FirstName": "遅刻"})
    finally:
        store.set_clock(None)
    blind, _ = run_push(services, overlap=timedelta(0))
    assert blind.members_read == 0, "without an overlap the late commit is not seen"
    caught, _ = run_push(services)  # the default overlap (5 minutes) reaches back past it
    assert caught.persons_updated == 1 and first_name(services, "late@example.jp") == "遅刻"
    next_second()
    again, _ = run_push(services)
    assert again.persons_updated == 0, "read again in the overlap at most, never pushed twice"


class ChangeDuringWrite:
    """A Marketo client proxy that lets someone edit the member while the push writes it."""

    def __init__(self, inner: Any, edit: Any) -> None:
        self._inner, self._edit, self.done = inner, edit, False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name != "sync_leads":
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            if not self.done:
                self.done = True
                self._edit()
            return result
        return call


def test_a_record_changed_while_the_push_writes_it_is_pushed_by_the_next_run(services) -> None:
    sf = services.sf
    member = add_member(sf, "M1", "busy@example.jp", first="一郎")
    racing = ChangeDuringWrite(services.client, lambda: sf.Contact.update(member, {"FirstName": "二郎"}))
    first, _ = run_push(services, client=racing)
    assert racing.done and first.persons_created == 1
    assert first_name(services, "busy@example.jp") == "一郎", "Marketo got the value read before the edit"
    second, _ = run_push(services)
    assert second.persons_updated == 1 and first_name(services, "busy@example.jp") == "二郎"
    third, _ = run_push(services)
    assert third.persons_updated == 0 and third.members_read == 1, "in the overlap: read, not pushed again"


class FailWriteBack:
    """SalesforceIO whose write-back of one record fails (a validation rule, a lock), once."""

    def __init__(self, inner: SalesforceIO, record_id: str) -> None:
        self._inner, self._record_id, self.failed = inner, record_id, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def update(self, object_name: str, records: Any, **options: Any) -> list[tuple[str, bool, str]]:
        if self.failed:
            return self._inner.update(object_name, records, **options)
        kept = [r for r in records if r["Id"] != self._record_id]
        outcome = self._inner.update(object_name, kept, **options)
        if len(kept) < len(records):
            self.failed = True
            outcome.append((self._record_id, False, "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"))
        return outcome


def test_a_failed_write_back_is_read_again_by_id_until_it_lands(services) -> None:
    sf = services.sf
    ok = add_member(sf, "M1", "ok@example.jp")
    stuck = add_member(sf, "M2", "stuck@example.jp")
    failing = FailWriteBack(SalesforceIO(sf), stuck)
    next_second()
    first, _ = run_push(services, sf_io=failing)
    assert failing.failed and [i for i, _ in first.write_back_failures] == [stuck] and first.retry_left == 1
    assert sf.Contact.get(stuck)["Marketo_Pushed_At__c"] is None and sf.Contact.get(ok)["Marketo_Pushed_At__c"]
    second, _ = run_push(services)  # nothing changed in Salesforce: only the retry set brings it back
    assert second.members_read == 1 and second.persons_updated == 1 and second.persons_created == 0
    assert sf.Contact.get(stuck)["Marketo_Id__c"] == str(leads_by_email(services.client, "stuck@example.jp")[0]["id"])
    assert second.retry_left == 0
    third, _ = run_push(services)
    assert (third.members_read, third.persons_updated) == (0, 0)


@pytest.mark.parametrize("skew", [timedelta(hours=3), timedelta(hours=-3)], ids=["org-ahead", "org-behind"])
def test_the_org_clock_is_all_that_counts_whatever_the_skew_with_this_machine(services, skew) -> None:
    sf, store = services.sf, services.org.store
    store.set_clock(lambda: datetime.now(timezone.utc) + skew)
    try:
        member = add_member(sf, "M1", "skew@example.jp")
        next_second()
        first, _ = run_push(services)
        assert first.persons_created == 1
        sf.Contact.update(member, {"FirstName": "時差"})
        changed, _ = run_push(services)
        assert changed.persons_updated == 1 and first_name(services, "skew@example.jp") == "時差"
        next_second()
        idle, _ = run_push(services)
        assert idle.persons_updated == 0
    finally:
        store.set_clock(None)


def test_a_large_full_read_goes_through_bulk_api_2_and_pushes_the_same(services) -> None:
    sf = services.sf
    ids = [add_member(sf, f"M{i}", f"b{i}@example.jp") for i in range(4)]
    add_order(sf, "O-1", "M1", ids[1], "2024-05-01T00:00:00.000+0000", 2500, ["湯呑み", "急須"])
    next_second()
    summary, calls = run_push(services, bulk_threshold=2)
    assert summary.read_method == "full (Bulk API 2.0)"
    assert (summary.persons_created, summary.orders_pushed) == (4, 1)
    [lead] = leads_by_email(services.client, "b1@example.jp")
    assert lead["lastOrderNumber"] == "O-1" and float(lead["lastOrderTotal"]) == 2500
    idle, _ = run_push(services)
    assert (idle.members_read, idle.persons_updated) == (0, 0), "Bulk CSV values compare equal to REST ones"


def test_a_first_push_of_many_orders_reads_their_lines_with_one_bulk_job(services) -> None:
    sf = services.sf
    member = add_member(sf, "M1", "lines@example.jp")
    for n in range(4):
        add_order(sf, f"O-{n}", "M1", member, f"2024-05-0{n + 1}T00:00:00.000+0000", 100 * (n + 1), ["茶", f"菓子{n}"])
    io = SalesforceIO(sf)
    summary, calls = run_push(services, sf_io=io, bulk_threshold=3)
    assert summary.read_method == "full (Bulk API 2.0)" and summary.orders_pushed == 4
    from tests.push.helpers import orders_of

    [lead] = leads_by_email(services.client, "lines@example.jp")
    names = {o["orderNumber"]: o["productNames"] for o in orders_of(services.client, [lead["id"]])}
    assert names == {f"O-{n}": f"茶, 菓子{n}" for n in range(4)}
    assert summary.rows_read == 1 + 4 + 8, "members, orders and every line, each once"


def test_a_push_longer_than_its_last_seconds_is_still_left_out_whole(services, monkeypatch) -> None:
    """The next read compares against the first seconds of a run's write-backs too, so a long first
    push (write-backs over many seconds) is not read again by the idle run after it."""
    from python_tasks.push import runner as runner_module

    sf = services.sf
    from python_tasks.push.changes import PUSHED_SECONDS_KEPT

    members = PUSHED_SECONDS_KEPT + 6  # more write-back seconds than the read compares against
    for i in range(members):
        add_member(sf, f"M{i}", f"long{i}@example.jp")
    next_second()
    clock = {"offset": 0.0}
    original = runner_module.PushRun._org_clock

    def slow_clock(self: Any) -> datetime:  # each chunk's write-back a few seconds after the last
        clock["offset"] += 3.0
        return original(self) + timedelta(seconds=clock["offset"])

    monkeypatch.setattr(runner_module.PushRun, "_org_clock", slow_clock)
    first, _ = run_push(services, chunk_size=1)
    assert first.persons_created == members
    monkeypatch.setattr(runner_module.PushRun, "_org_clock", original)
    idle, calls = run_push(services)
    assert (idle.members_read, idle.rows_read, calls) == (0, 0, 1)


def test_a_large_first_push_through_bulk_imports_ends_as_the_rest_push_does(services) -> None:
    """marketo_method bulk (what the cost model picks for a large first push): persons, orders and
    order fields through Marketo's bulk imports, the write-back as on the REST path, nothing left due."""
    sf = services.sf
    ids = [add_member(sf, f"M{i}", f"bulk{i}@example.jp") for i in range(5)]
    add_order(sf, "O-1", "M1", ids[1], "2024-05-01T00:00:00.000+0000", 1200, ["茶"])
    add_order(sf, "O-2", "M1", ids[1], "2024-06-01T00:00:00.000+0000", 3400, ["急須", "湯呑み"])
    next_second()
    summary, _ = run_push(services, marketo_method="bulk", bulk_poll_seconds=0.2)
    assert summary.marketo_method == "bulk" and "Marketo calls" in summary.marketo_estimate
    assert (summary.persons_created, summary.orders_pushed, summary.persons_skipped) == (5, 2, [])
    [lead] = leads_by_email(services.client, "bulk1@example.jp")
    assert lead["lastOrderNumber"] == "O-2" and lead["lastProductName"] == "湯呑み"
    from tests.push.helpers import orders_of

    assert {o["orderNumber"] for o in orders_of(services.client, [lead["id"]])} == {"O-1", "O-2"}
    assert sf.Contact.get(ids[1])["Marketo_Id__c"] == str(lead["id"])
    idle, calls = run_push(services)
    assert (idle.members_read, idle.persons_updated, idle.orders_pushed, calls) == (0, 0, 0, 1)


def test_a_small_push_says_its_cost_and_takes_rest(services) -> None:
    add_member(services.sf, "M1", "small@example.jp")
    summary, _ = run_push(services)
    assert summary.marketo_method == "rest"
    assert summary.marketo_estimate.startswith("This push will take about ") and "REST sync" in summary.marketo_estimate


def test_a_large_write_back_goes_through_one_bulk_api_2_job_per_object(services) -> None:
    sf = services.sf
    ids = [add_member(sf, f"M{i}", f"wb{i}@example.jp") for i in range(6)]
    sf.Contact.update(ids[0], {"Marketo_Push_Error__c": "1003 an old error"})  # cleared: #N/A in the CSV
    next_second()
    io = SalesforceIO(sf)
    summary, calls = run_push(services, sf_io=io, marketo_method="bulk", bulk_poll_seconds=0.2, bulk_threshold=3)
    assert summary.persons_created == 6 and summary.write_back_failures == []
    for member_id in ids:
        contact = sf.Contact.get(member_id)
        assert contact["Marketo_Id__c"] and contact["Marketo_Pushed_At__c"] and contact["Marketo_Push_Error__c"] is None
    idle, _ = run_push(services)
    assert (idle.members_read, idle.persons_updated) == (0, 0), "the bulk write-back sent the stamps it pushed"
