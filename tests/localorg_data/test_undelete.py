"""Undelete from the Recycle Bin (issue 18): IsDeleted rows come back with what their delete cascaded to
and the lookups it cleared; after-undelete triggers; records not in the bin fail as Salesforce says."""
from __future__ import annotations

from localcloud.salesforce.data import CustomFieldSpec as F, CustomObjectSpec, Store, TriggerEvent


def _with_detail_object(store: Store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec("Visit__c", label="Visit", fields=[
            F("Contact__c", "MasterDetail", reference_to="Contact", relationship_name="Visits")]))


def test_undelete_restores_the_record_its_cascade_and_cleared_lookups(store: Store) -> None:
    _with_detail_object(store)
    with store.transaction() as tx:
        contact = tx.insert("Contact", [{"LastName": "Mori"}])[0].id
        visits = [r.id for r in tx.insert("Visit__c", [{"Contact__c": contact}, {"Contact__c": contact}])]
        order = tx.insert("EC_Order__c", [{"Order_Number__c": "O-1", "Member__c": contact}])[0].id
        other = tx.insert("EC_Order__c", [{"Order_Number__c": "O-2", "Member__c": contact}])[0].id
    with store.transaction() as tx:
        assert tx.delete([contact])[0].success
    with store.transaction() as tx:  # another owner took O-2 meanwhile: that lookup is not given back
        replacement = tx.insert("Contact", [{"LastName": "Ueda"}])[0].id
        tx.update("EC_Order__c", [{"Id": other, "Member__c": replacement}])
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Visit__c").total_size == 0
        assert tx.query("SELECT COUNT() FROM Visit__c ALL ROWS").total_size == 2
        [result] = tx.undelete([contact])
        assert result.to_json() == {"id": contact, "success": True, "errors": []}
    with store.transaction() as tx:
        assert tx.query("SELECT Id, IsDeleted FROM Contact WHERE Id = :c", {"c": contact}).records[0]["IsDeleted"] is False
        assert sorted(r["Id"] for r in tx.query("SELECT Id FROM Visit__c").records) == sorted(visits)
        members = {r["Id"]: r["Member__c"] for r in tx.query("SELECT Id, Member__c FROM EC_Order__c").records}
        assert members == {order: contact, other: replacement}


def test_records_not_in_the_bin_fail_and_good_ones_beside_them_come_back(store: Store) -> None:
    _with_detail_object(store)
    with store.transaction() as tx:
        live = tx.insert("Contact", [{"LastName": "Live"}])[0].id
        gone, parent = [r.id for r in tx.insert("Contact", [{"LastName": "Gone"}, {"LastName": "Parent"}])]
        visit = tx.insert("Visit__c", [{"Contact__c": parent}])[0].id
        tx.delete([gone, parent])
    with store.transaction() as tx:
        results = tx.undelete([live, visit, "not-an-id", gone], all_or_none=False)
        assert [(r.success, [e.status_code for e in r.errors]) for r in results] == [
            (False, ["UNDELETE_FAILED"]), (False, ["UNDELETE_FAILED"]), (False, ["MALFORMED_ID"]), (True, [])]
        assert results[0].errors[0].message == "Entity is not in the recycle bin"
    with store.transaction() as tx:
        all_or_none = tx.undelete([parent, live])
        assert [r.success for r in all_or_none] == [False, False]
        assert [e.status_code for e in all_or_none[0].errors] == ["ALL_OR_NONE_OPERATION_ROLLED_BACK"]
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE Id = :p", {"p": parent}).total_size == 0


def test_a_unique_value_taken_meanwhile_fails_the_undelete(store: Store) -> None:
    with store.transaction() as tx:
        first = tx.insert("Contact", [{"LastName": "A", "EC_Member_Id__c": "M-1"}])[0].id
        tx.delete([first])
        tx.insert("Contact", [{"LastName": "B", "EC_Member_Id__c": "M-1"}])
        [result] = tx.undelete([first], all_or_none=False)
        assert [e.status_code for e in result.errors] == ["DUPLICATE_VALUE"]


def test_after_undelete_triggers_get_the_restored_records(store: Store) -> None:
    seen: list[tuple[str, str, list[str], object]] = []

    class Hook:
        def before(self, event: TriggerEvent) -> None:
            seen.append(("before", event.op, [], event.old))

        def after(self, event: TriggerEvent) -> None:
            seen.append(("after", event.op, [r["LastName"] for r in event.new or []], event.old))

    with store.transaction() as tx:
        ids = [r.id for r in tx.insert("Contact", [{"LastName": "X"}, {"LastName": "Y"}])]
        tx.delete(ids)
    store.set_trigger_hook(Hook())
    with store.transaction() as tx:
        assert all(r.success for r in tx.undelete(ids))
    assert seen == [("after", "undelete", ["X", "Y"], None)]  # Salesforce has no before undelete
