"""Several writer threads: no lost update, no torn write, unique keys hold under races."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from localcloud.salesforce.data import Store

THREADS = 8


def run_parallel(fn, n: int = THREADS) -> list:
    barrier = threading.Barrier(n)

    def wrapped(i: int):
        barrier.wait()
        return fn(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(wrapped, range(n)))


def test_read_modify_write_with_for_update_loses_nothing(store: Store) -> None:
    with store.transaction() as tx:
        [line] = tx.insert("EC_Order_Line__c", [{"Line_Key__c": "K", "Quantity__c": 0}])

    def work(_i: int) -> None:
        for _ in range(25):
            with store.transaction() as tx:
                q = tx.query("SELECT Quantity__c FROM EC_Order_Line__c WHERE Id = :i FOR UPDATE", {"i": line.id})
                tx.update("EC_Order_Line__c", [{"Id": line.id, "Quantity__c": q.records[0]["Quantity__c"] + 1}])

    run_parallel(work)
    with store.transaction() as tx:
        assert tx.retrieve("EC_Order_Line__c", line.id)["Quantity__c"] == THREADS * 25


def test_partial_updates_of_one_record_keep_every_field(store: Store) -> None:
    fields = ["Title", "Department", "Phone", "MobilePhone", "HomePhone", "OtherPhone", "Fax", "AssistantName"]
    with store.transaction() as tx:
        [c] = tx.insert("Contact", [{"LastName": "Shared"}])

    def work(i: int) -> None:
        for k in range(20):
            with store.transaction() as tx:
                assert tx.update("Contact", [{"Id": c.id, fields[i]: f"{fields[i]}-{k}"}])[0].success

    run_parallel(work)
    with store.transaction() as tx:
        rec = tx.retrieve("Contact", c.id)
    assert all(rec[f] == f"{f}-19" for f in fields)


def test_racing_inserts_of_one_unique_key_one_winner(store: Store) -> None:
    def work(i: int):
        with store.transaction() as tx:
            [r] = tx.insert("Contact", [{"LastName": f"T{i}", "EC_Member_Id__c": "RACE"}], all_or_none=False)
            return r

    results = run_parallel(work)
    winners = [r for r in results if r.success]
    losers = [r for r in results if not r.success]
    assert len(winners) == 1 and len(losers) == THREADS - 1
    assert {e.status_code for r in losers for e in r.errors} == {"DUPLICATE_VALUE"}
    assert all(winners[0].id in r.errors[0].message for r in losers)
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE EC_Member_Id__c = 'RACE'").total_size == 1


def test_racing_upserts_of_one_key_create_once(store: Store) -> None:
    def work(i: int):
        with store.transaction() as tx:
            return tx.upsert("EC_Order__c", [{"Order_Number__c": "SAME", "Last_Product_Name__c": f"p{i}"}],
                             "Order_Number__c")[0]

    results = run_parallel(work)
    assert all(r.success for r in results)
    assert sum(1 for r in results if r.created) == 1
    assert len({r.id for r in results}) == 1


def test_readers_never_see_half_a_transaction(store: Store) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def writer() -> None:
        for b in range(30):
            with store.transaction() as tx:
                tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": f"{b}-{i}"} for i in range(5)])
                tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": f"{b}-x{i}"} for i in range(5)])
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            with store.transaction() as tx:
                seen.append(tx.query("SELECT COUNT() FROM EC_Ingest_Error__c").total_size)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert seen and all(n % 10 == 0 for n in seen)
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM EC_Ingest_Error__c").total_size == 300


def test_ids_stay_unique_across_writer_threads(store: Store) -> None:
    def work(i: int) -> list[str]:
        out = []
        for k in range(10):
            with store.transaction() as tx:
                out += [r.id for r in tx.insert("Contact", [{"LastName": f"{i}-{k}-{n}"} for n in range(5)])]
        return out

    ids = [x for part in run_parallel(work) for x in part]
    assert len(ids) == len(set(ids)) == THREADS * 50
