"""More DML shapes: upsert by Id, mixed-type updates, auto-number names, master-detail cascade,
multi-select picklists, time fields, upsert firing insert and update triggers."""
from __future__ import annotations

from datetime import time

from localcloud.salesforce.data import (CustomFieldSpec as F, CustomObjectSpec, PicklistValue, Store,
                                        TriggerEvent, make_id)


def test_upsert_on_id(store: Store) -> None:
    with store.transaction() as tx:
        [new] = tx.upsert("Contact", [{"LastName": "A"}], "Id")
        assert new.success and new.created
        [upd] = tx.upsert("Contact", [{"Id": new.id[:15], "LastName": "B"}], "Id")
        assert upd.success and upd.created is False and upd.id == new.id
        [gone] = tx.upsert("Contact", [{"Id": make_id("003", 99999), "LastName": "C"}], "Id", all_or_none=False)
        assert gone.errors[0].status_code == "INVALID_CROSS_REFERENCE_KEY"
        [bad] = tx.upsert("Contact", [{"Id": "003nonsense", "LastName": "C"}], "Id", all_or_none=False)
        assert bad.errors[0].status_code == "MALFORMED_ID"
        assert tx.retrieve("Contact", new.id)["LastName"] == "B"


def test_update_without_type_handles_several_objects(store: Store) -> None:
    with store.transaction() as tx:
        [c] = tx.insert("Contact", [{"LastName": "A"}])
        [o] = tx.insert("EC_Order__c", [{"Order_Number__c": "O1"}])
        res = tx.update(None, [{"Id": c.id, "Title": "T"}, {"Id": o.id, "Status__c": "Paid"}])
        assert [r.success for r in res] == [True, True]
        assert tx.retrieve("Contact", c.id)["Title"] == "T"
        assert tx.retrieve("EC_Order__c", o.id)["Status__c"] == "Paid"


def test_auto_number_master_detail_multipicklist_time(store: Store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec("Box__c", name_field_type="AutoNumber",
                                                name_field_display_format="BX-{0000}", fields=[
            F("Tags__c", "MultiselectPicklist", picklist_values=[PicklistValue(v) for v in ("a", "b", "c")]),
            F("Opens_At__c", "Time")]))
        tx.apply_custom_object(CustomObjectSpec("Item__c", fields=[
            F("Box__c", "MasterDetail", reference_to="Box__c", relationship_name="Items")]))
        boxes = tx.insert("Box__c", [{"Tags__c": "a;c", "Opens_At__c": "09:30:00.000Z"}, {"Tags__c": "b"}])
        names = [r["Name"] for r in tx.query("SELECT Name FROM Box__c ORDER BY Name").records]
        assert names == ["BX-0001", "BX-0002"]
        got = tx.query("SELECT Name FROM Box__c WHERE Tags__c INCLUDES ('c', 'x;y')").records
        assert [r["Name"] for r in got] == ["BX-0001"]
        got = tx.query("SELECT Name FROM Box__c WHERE Tags__c EXCLUDES ('a')").records
        assert [r["Name"] for r in got] == ["BX-0002"]
        assert tx.retrieve("Box__c", boxes[0].id, ["Opens_At__c"], typed=True)["Opens_At__c"] == time(9, 30)
        [item] = tx.insert("Item__c", [{"Box__c": boxes[0].id}])
        [orphan] = tx.insert("Item__c", [{}], all_or_none=False)
        assert orphan.errors[0].status_code == "REQUIRED_FIELD_MISSING"
        assert "OwnerId" not in [f["name"] for f in tx.schema.describe("Item__c")["fields"]]
        tx.delete([boxes[0].id])
        assert tx.retrieve("Item__c", item.id) is None  # master-detail children go with their master
        assert tx.query("SELECT COUNT() FROM Item__c ALL ROWS").total_size == 1


def test_upsert_fires_insert_and_update_triggers(store: Store) -> None:
    calls: list[tuple[str, str, int]] = []

    class Hook:
        def before(self, e: TriggerEvent) -> None:
            calls.append(("before", e.op, e.size))

        def after(self, e: TriggerEvent) -> None:
            calls.append(("after", e.op, e.size))

    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "A", "EC_Member_Id__c": "M1"}])
        store.set_trigger_hook(Hook())
        res = tx.upsert("Contact", [{"EC_Member_Id__c": "M1", "LastName": "A2"},
                                    {"EC_Member_Id__c": "M2", "LastName": "B"}], "EC_Member_Id__c")
        assert [r.created for r in res] == [False, True]
        assert tx.limits.dml_statements == 2
    assert sorted(calls) == sorted([("before", "insert", 1), ("after", "insert", 1),
                                    ("before", "update", 1), ("after", "update", 1)])


def test_records_given_as_apex_style_python_values(store: Store) -> None:
    from datetime import date, datetime, timezone
    from decimal import Decimal
    with store.transaction() as tx:
        [c] = tx.insert("Contact", [{"LastName": "Py", "Birthdate": date(2000, 2, 29)}])
        [o] = tx.insert("EC_Order__c", [{"Order_Number__c": "P", "Member__c": c.id, "Total_Amount__c": Decimal("10.4"),
                                         "Order_Date__c": datetime(2026, 1, 1, 9, 0, tzinfo=timezone.utc)}])
        rec = tx.retrieve("EC_Order__c", o.id)
    assert rec["Total_Amount__c"] == 10.0 and rec["Order_Date__c"] == "2026-01-01T09:00:00.000+0000"
