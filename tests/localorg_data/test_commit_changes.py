"""The store hands each committed transaction's record changes to its commit listeners (Change Data
Capture listens there); rolled-back work, whole or to a savepoint, hands over nothing."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import Store
from localcloud.salesforce.data.changes import CommittedChanges


@pytest.fixture()
def committed(store: Store) -> list[CommittedChanges]:
    seen: list[CommittedChanges] = []
    store.commit_listeners.append(seen.append)
    return seen


def test_insert_update_delete_reach_the_listener_after_commit(store: Store, committed: list[CommittedChanges]) -> None:
    with store.transaction() as tx:
        rid = tx.insert("Contact", [{"LastName": "Ito", "Email": "ito@example.jp"}])[0].id
        assert committed == []  # nothing before the commit
    with store.transaction() as tx:
        tx.update("Contact", [{"Id": rid, "Email": None, "Title": "CEO"}])
    with store.transaction() as tx:
        tx.delete([rid])
    create, update, delete = (c.changes[0] for c in committed)
    assert (create.change_type, create.sobject, create.record_id) == ("CREATE", "Contact", rid)
    assert create.values["Email"] == "ito@example.jp" and create.values["LastName"] == "Ito"
    assert update.change_type == "UPDATE"
    assert {"Email", "Title"} <= set(update.changed) and "LastName" not in update.changed
    assert update.values["Email"] is None and update.values["Title"] == "CEO"
    assert (delete.change_type, delete.record_id, delete.values) == ("DELETE", rid, {})
    assert all(c.user_id == store.user_id for c in committed)


def test_a_rolled_back_transaction_hands_over_nothing(store: Store, committed: list[CommittedChanges]) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.insert("Contact", [{"LastName": "Gone"}])
            raise RuntimeError("fail the request")
    assert committed == []


def test_changes_after_a_savepoint_rolled_back_to_are_forgotten(store: Store, committed: list[CommittedChanges]) -> None:
    with store.transaction() as tx:
        kept = tx.insert("Contact", [{"LastName": "Kept"}])[0].id
        sp = tx.savepoint()
        tx.insert("Contact", [{"LastName": "Undone"}])
        tx.rollback_to(sp)
    assert [c.record_id for c in committed[0].changes] == [kept]


def test_a_failed_all_or_none_call_hands_over_nothing(store: Store, committed: list[CommittedChanges]) -> None:
    with store.transaction() as tx:
        results = tx.insert("Contact", [{"LastName": "Good"}, {"Email": "no-last-name@example.jp"}])
    assert not results[0].success
    assert committed == []


def test_a_listener_writes_with_the_transaction_and_its_failure_rolls_it_back(store: Store) -> None:
    def record(committed: CommittedChanges) -> None:
        committed.transaction.execute("CREATE TABLE IF NOT EXISTS _seen (record_id TEXT)")
        for change in committed.changes:
            committed.transaction.execute("INSERT INTO _seen VALUES (?)", (change.record_id,))

    store.commit_listeners.append(record)
    with store.transaction() as tx:
        kept = tx.insert("Contact", [{"LastName": "Seen"}])[0].id
    with store.transaction() as tx:
        assert [r[0] for r in tx.execute("SELECT record_id FROM _seen")] == [kept]

    def fail(committed: CommittedChanges) -> None:
        raise OSError("disk full")

    store.commit_listeners.append(fail)
    with pytest.raises(OSError):
        with store.transaction() as tx:
            tx.insert("Contact", [{"LastName": "Never saved"}])
    with store.transaction() as tx:
        assert tx.query("SELECT Id FROM Contact WHERE LastName = 'Never saved'").total_size == 0
        assert [r[0] for r in tx.execute("SELECT record_id FROM _seen")] == [kept]
