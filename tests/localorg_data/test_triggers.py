"""The trigger hook: chunks of 200, before-changes saved, addError, recursion, after-errors retry."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import SalesforceError, Store, TriggerEvent, TriggerException


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, int]] = []
        self.before_fn = None
        self.after_fn = None

    def before(self, event: TriggerEvent) -> None:
        self.calls.append(("before", event.op, event.sobject, event.size))
        if self.before_fn:
            self.before_fn(event)

    def after(self, event: TriggerEvent) -> None:
        self.calls.append(("after", event.op, event.sobject, event.size))
        if self.after_fn:
            self.after_fn(event)


@pytest.fixture()
def hook(store: Store) -> Recorder:
    r = Recorder()
    store.set_trigger_hook(r)
    return r


def test_201_records_fire_in_chunks_of_200(store: Store, hook: Recorder) -> None:
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": f"L{i}"} for i in range(201)])
    assert hook.calls == [("before", "insert", "Contact", 200), ("after", "insert", "Contact", 200),
                          ("before", "insert", "Contact", 1), ("after", "insert", "Contact", 1)]
    hook.calls.clear()
    with store.transaction() as tx:
        ids = [r["Id"] for r in tx.query("SELECT Id FROM Contact").records]
        tx.update("Contact", [{"Id": i, "Title": "x"} for i in ids])
        tx.delete(ids)
    assert [c[:2] + (c[3],) for c in hook.calls] == [
        ("before", "update", 200), ("after", "update", 200), ("before", "update", 1), ("after", "update", 1),
        ("before", "delete", 200), ("after", "delete", 200), ("before", "delete", 1), ("after", "delete", 1)]


def test_delete_chunking_is_a_setting(store: Store, hook: Recorder) -> None:
    store.delete_trigger_chunk = None
    with store.transaction() as tx:
        ids = [r.id for r in tx.insert("Contact", [{"LastName": f"L{i}"} for i in range(250)])]
        hook.calls.clear()
        tx.delete(ids)
    assert hook.calls == [("before", "delete", "Contact", 250), ("after", "delete", "Contact", 250)]


def test_before_insert_changes_are_saved_and_after_sees_ids(store: Store, hook: Recorder) -> None:
    seen_after = []

    def before(e: TriggerEvent) -> None:
        for rec in e.new:
            assert rec["Id"] is None
            rec["Email"] = (rec["Email"] or "").strip().lower() or None

    def after(e: TriggerEvent) -> None:
        seen_after.extend((r["Id"], r["Email"]) for r in e.new)

    hook.before_fn, hook.after_fn = before, after
    with store.transaction() as tx:
        [r] = tx.insert("Contact", [{"LastName": "A", "Email": "  Ken@Example.JP "}])
        assert tx.retrieve("Contact", r.id)["Email"] == "ken@example.jp"
    assert seen_after == [(r.id, "ken@example.jp")]


def test_before_update_sees_old_and_new(store: Store, hook: Recorder) -> None:
    pairs = []
    hook.before_fn = lambda e: e.op == "update" and pairs.extend((o["LastName"], n["LastName"]) for o, n in zip(e.old, e.new))
    with store.transaction() as tx:
        [r] = tx.insert("Contact", [{"LastName": "Old"}])
        tx.update("Contact", [{"Id": r.id, "LastName": "New"}])
    assert pairs == [("Old", "New")]


def test_add_error_fails_only_that_record_without_all_or_none(store: Store, hook: Recorder) -> None:
    def before(e: TriggerEvent) -> None:
        for i, rec in enumerate(e.new):
            if rec["LastName"] == "bad":
                e.add_error(i, "Bad name is not allowed", "LastName")

    hook.before_fn = before
    with store.transaction() as tx:
        res = tx.insert("Contact", [{"LastName": "ok"}, {"LastName": "bad"}], all_or_none=False)
        assert [r.success for r in res] == [True, False]
        err = res[1].errors[0]
        assert (err.status_code, err.message, err.fields) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                              "Bad name is not allowed", ("LastName",))
        res = tx.insert("Contact", [{"LastName": "ok2"}, {"LastName": "bad"}], all_or_none=True)
        assert [r.errors[0].status_code for r in res] == ["ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                          "FIELD_CUSTOM_VALIDATION_EXCEPTION"]
        assert sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records) == ["ok"]


def test_add_error_in_after_rolls_back_chunk_and_retries_the_rest(store: Store, hook: Recorder) -> None:
    def after(e: TriggerEvent) -> None:
        for i, rec in enumerate(e.new):
            if rec["LastName"] == "late":
                e.add_error(i, "rejected after save")

    hook.after_fn = after
    with store.transaction() as tx:
        res = tx.insert("Contact", [{"LastName": "a"}, {"LastName": "late"}, {"LastName": "b"}], all_or_none=False)
        assert [r.success for r in res] == [True, False, True]
        assert sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records) == ["a", "b"]
        assert all(tx.retrieve("Contact", r.id) for r in res if r.success)
    # first attempt: 3 records; the retry without the failed one: 2
    assert [c[3] for c in hook.calls if c[1] == "insert"] == [3, 3, 2, 2]


def test_trigger_exception_fails_the_chunk(store: Store, hook: Recorder) -> None:
    def before(e: TriggerEvent) -> None:
        raise TriggerException("ContactTrigger: execution of BeforeInsert caused by: System.NullPointerException")

    hook.before_fn = before
    with store.transaction() as tx:
        res = tx.insert("Contact", [{"LastName": "a"}, {"LastName": "b"}], all_or_none=False)
    assert {e.status_code for r in res for e in r.errors} == {"CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"}
    assert "NullPointerException" in res[0].errors[0].message


def test_other_exceptions_propagate_and_the_statement_is_undone(store: Store, hook: Recorder) -> None:
    def after(e: TriggerEvent) -> None:
        raise KeyError("unhandled")

    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "before-hook"}])
        hook.after_fn = after
        with pytest.raises(KeyError):
            tx.insert("Contact", [{"LastName": "x"}])
        assert [r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records] == ["before-hook"]


def test_recursion_parent_after_insert_backfills_children(store: Store, hook: Recorder) -> None:
    """The ECBridge pattern: an order waits for its member; the member's after-insert attaches it."""
    def before(e: TriggerEvent) -> None:
        if e.sobject == "EC_Order__c" and e.op == "insert":
            keys = [r["EC_Member_Id__c"] for r in e.new if r["EC_Member_Id__c"] and not r["Member__c"]]
            found = e.transaction.query("SELECT Id, EC_Member_Id__c FROM Contact WHERE EC_Member_Id__c IN :k", {"k": keys})
            by_key = {m["EC_Member_Id__c"]: m["Id"] for m in found.records}
            for r in e.new:
                r["Member__c"] = r["Member__c"] or by_key.get(r["EC_Member_Id__c"])

    def after(e: TriggerEvent) -> None:
        if e.sobject == "Contact" and e.op == "insert":
            ids = {r["EC_Member_Id__c"]: r["Id"] for r in e.new if r["EC_Member_Id__c"]}
            waiting = e.transaction.query("SELECT Id, EC_Member_Id__c FROM EC_Order__c WHERE EC_Member_Id__c IN :k "
                                          "AND Member__c = null", {"k": list(ids)})
            e.transaction.update("EC_Order__c", [{"Id": o["Id"], "Member__c": ids[o["EC_Member_Id__c"]]}
                                                 for o in waiting.records])

    hook.before_fn, hook.after_fn = before, after
    with store.transaction() as tx:
        tx.insert("EC_Order__c", [{"Order_Number__c": "O1", "EC_Member_Id__c": "M1"}])  # order first
        tx.insert("Contact", [{"LastName": "Late", "EC_Member_Id__c": "M1"}])
        tx.insert("EC_Order__c", [{"Order_Number__c": "O2", "EC_Member_Id__c": "M1"}])  # order after
        rows = tx.query("SELECT Order_Number__c, Member__r.LastName FROM EC_Order__c ORDER BY Order_Number__c").records
        assert [(r["Order_Number__c"], r["Member__r"]["LastName"]) for r in rows] == [("O1", "Late"), ("O2", "Late")]
        assert tx.limits.dml_statements == 4  # 3 inserts + 1 update from the trigger


def test_runaway_recursion_hits_the_depth_limit(store: Store, hook: Recorder) -> None:
    def after(e: TriggerEvent) -> None:
        e.transaction.update("Contact", [{"Id": r["Id"], "Title": "again"} for r in e.new])

    with store.transaction() as tx:
        [r] = tx.insert("Contact", [{"LastName": "loop"}])
        hook.after_fn = after
        with pytest.raises(SalesforceError) as exc:
            tx.update("Contact", [{"Id": r.id, "Title": "x"}])
    assert "maximum trigger depth exceeded" in exc.value.message
