"""Apex REST calls and REST-data DML that fires triggers, on two threads at once, finish (the lock
order store -> program leaves no deadlock) and both commit."""

from __future__ import annotations

import threading

from localcloud.salesforce.apex.orgruntime import ApexRuntime

from .orgfixture import make_store

RESOURCE = """
@RestResource(urlMapping='/burst')
global class Burst {
    @HttpPost
    global static Integer post() {
        for (Integer i = 0; i < 5; i++) insert new Contact(LastName = 'apex-' + i);
        return [SELECT COUNT() FROM Contact WHERE LastName LIKE 'apex-%'];
    }
}
"""
TRIGGER = "trigger Mark on Contact (before insert) { for (Contact c : Trigger.new) c.Description = 'seen'; }"


def test_apex_rest_and_data_dml_with_triggers_on_two_threads(tmp_path) -> None:
    store = make_store(tmp_path)
    rt = ApexRuntime(store, {"Burst.cls": RESOURCE, "Mark.trigger": TRIGGER})
    errors: list[BaseException] = []
    statuses: list[int] = []

    def apex_calls() -> None:
        try:
            for _ in range(5):
                statuses.append(rt.rest("POST", "/burst", b"").status)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def data_calls() -> None:
        try:
            for i in range(5):
                with store.transaction() as tx:
                    tx.insert("Contact", [{"LastName": f"data-{i}-{j}"} for j in range(3)])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=apex_calls), threading.Thread(target=data_calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    assert not errors, errors
    assert statuses == [200] * 5
    with store.transaction() as tx:
        rows = tx.query("SELECT LastName, Description FROM Contact WHERE LastName LIKE 'apex-%' "
                        "OR LastName LIKE 'data-%'").records
    assert len(rows) == 25 + 15
    assert all(r["Description"] == "seen" for r in rows)
    store.close()


COUNTING_TEST = """
@IsTest
private class CountingTest {
    @IsTest
    static void countsOnlyItsOwnQueries() {
        for (Integer round = 0; round < 90; round++) {
            Integer before = Limits.getQueries();
            List<Contact> cs = [SELECT Id FROM Contact LIMIT 1];
            System.assertEquals(before + 1, Limits.getQueries(), 'limits are per transaction');
        }
    }
}
"""


def test_apex_test_run_and_rest_calls_on_two_threads_keep_their_own_limits(tmp_path) -> None:
    store = make_store(tmp_path)
    rt = ApexRuntime(store, {"Burst.cls": RESOURCE, "CountingTest.cls": COUNTING_TEST})
    outcomes: list[str] = []
    statuses: list[int] = []
    errors: list[BaseException] = []

    def tests() -> None:
        try:
            for _ in range(3):
                outcomes.extend(r.outcome for r in rt.run_tests(["CountingTest"]))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def rest() -> None:
        try:
            for _ in range(20):
                statuses.append(rt.rest("POST", "/burst", b"").status)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=tests), threading.Thread(target=rest)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors
    assert outcomes == ["Pass"] * 3
    assert statuses == [200] * 20
    store.close()
