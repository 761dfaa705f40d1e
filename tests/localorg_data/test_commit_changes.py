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
