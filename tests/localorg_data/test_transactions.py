"""Transactions: commit, rollback, savepoints, schema changes roll back too, limits, persistence."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import (CustomFieldSpec, CustomObjectSpec, LimitExceededError, Store, open_store)


def count(store: Store, soql: str) -> int:
    with store.transaction() as tx:
        return tx.query(soql).total_size


def test_exception_rolls_back_everything(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.insert("Contact", [{"LastName": "A"}])
            tx.insert("EC_Order__c", [{"Order_Number__c": "O1"}])
            raise RuntimeError("boom")
    assert count(store, "SELECT COUNT() FROM Contact") == 0
    assert count(store, "SELECT COUNT() FROM EC_Order__c") == 0


def test_uncommitted_writes_are_invisible_to_others(store: Store) -> None:
    tx = store.transaction()
    tx.insert("Contact", [{"LastName": "Hidden"}])
    assert tx.query("SELECT COUNT() FROM Contact").total_size == 1
    assert count(store, "SELECT COUNT() FROM Contact") == 0  # another transaction reads the committed state
    tx.commit()
    assert count(store, "SELECT COUNT() FROM Contact") == 1


def test_savepoints(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "keep"}])
        sp1 = tx.savepoint()
        tx.insert("Contact", [{"LastName": "drop1"}])
        sp2 = tx.savepoint()
        tx.insert("Contact", [{"LastName": "drop2"}])
        tx.rollback_to(sp2)
        assert tx.query("SELECT COUNT() FROM Contact").total_size == 2
        tx.rollback_to(sp1)
        assert tx.query("SELECT LastName FROM Contact").records[0]["LastName"] == "keep"
        with pytest.raises(Exception) as exc:
            tx.rollback_to(sp2)  # later savepoints die with a rollback to an earlier one
        assert "Savepoint" in str(exc.value)
        tx.insert("Contact", [{"LastName": "after"}])
    with store.transaction() as tx:
        assert sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records) == ["after", "keep"]


def test_schema_changes_roll_back_with_the_transaction(store: Store) -> None:
    with pytest.raises(ValueError):
        with store.transaction() as tx:
            tx.apply_custom_object(CustomObjectSpec("Temp__c", fields=[CustomFieldSpec("A__c", "Text", length=10)]))
            assert tx.schema.find("Temp__c") is not None
            tx.insert("Temp__c", [{"A__c": "x"}])
            tx.apply_custom_field("Temp__c", CustomFieldSpec("B__c", "Geolocation"))  # unsupported -> ValueError
    assert store.schema.find("Temp__c") is None
    with store.transaction() as tx:
        with pytest.raises(Exception):
            tx.query("SELECT Id FROM Temp__c")


def test_schema_and_data_survive_restart(tmp_path) -> None:
    path = tmp_path / "org.sqlite3"
    s1 = open_store(path)
    s1.apply_custom_object(CustomObjectSpec("Thing__c", label="Thing", fields=[
        CustomFieldSpec("Code__c", "Text", length=12, external_id=True, unique=True)]))
    with s1.transaction() as tx:
        [r] = tx.insert("Thing__c", [{"Code__c": "T1", "Name": "first"}])
    org, prefix = s1.org_id, s1.schema.get("Thing__c").key_prefix
    s1.close()
    s2 = open_store(path)
    assert s2.org_id == org and s2.schema.get("thing__c").key_prefix == prefix
    d = s2.schema.describe("Thing__c")
    code = next(f for f in d["fields"] if f["name"] == "Code__c")
    assert code["externalId"] and code["unique"] and code["length"] == 12
    with s2.transaction() as tx:
        assert tx.query("SELECT Name FROM Thing__c WHERE Code__c = 't1'").records[0]["Name"] == "first"
        [dup] = tx.insert("Thing__c", [{"Code__c": "T1"}], all_or_none=False)
        assert dup.errors[0].status_code == "DUPLICATE_VALUE"
        [r2] = tx.insert("Thing__c", [{"Code__c": "T2"}])
    assert r2.id != r.id and r2.id > r.id
    s2.close()
    s3 = open_store(path, reset=True)  # reset = a new, empty org
    assert s3.schema.find("Thing__c") is None and s3.org_id == org  # same seed ids, fresh data
    s3.close()


def test_a_second_store_on_the_same_file_sees_schema_changes(tmp_path) -> None:
    a = open_store(tmp_path / "o.sqlite3")
    b = open_store(tmp_path / "o.sqlite3")
    a.apply_custom_object(CustomObjectSpec("Shared__c"))
    with b.transaction() as tx:
        assert tx.insert("Shared__c", [{"Name": "x"}])[0].success
    a.close()
    b.close()


def test_governor_counters(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": str(i)} for i in range(3)])
        tx.query("SELECT Id FROM Contact")
        tx.update("Contact", [{"Id": r["Id"], "Title": "t"} for r in tx.query("SELECT Id FROM Contact").records])
        assert (tx.limits.soql_queries, tx.limits.query_rows, tx.limits.dml_statements, tx.limits.dml_rows) == (2, 6, 2, 6)
        tx.limits.enforce = True
        tx.limits.max_soql_queries = 2
        with pytest.raises(LimitExceededError) as exc:
            tx.query("SELECT Id FROM Contact")
        assert exc.value.limit_message == "Too many SOQL queries: 3"


def test_describe_shapes(store: Store) -> None:
    schema = store.schema
    g = schema.describe_global()
    names = {o["name"] for o in g["sobjects"]}
    assert {"Account", "Contact", "Lead", "User", "Organization", "PermissionSet", "PermissionSetAssignment",
            "ApexClass", "ApexTrigger", "EC_Order__c", "EC_Order_Line__c"} <= names
    order = next(o for o in g["sobjects"] if o["name"] == "EC_Order__c")
    assert order["custom"] is True and order["keyPrefix"].startswith("a") and order["urls"]["sobject"].endswith("/EC_Order__c")
    d = schema.describe("ec_order__c")
    f = {x["name"]: x for x in d["fields"]}
    keys = {"name", "label", "type", "length", "nillable", "externalId", "unique", "referenceTo", "relationshipName",
            "defaultValue", "createable", "updateable", "calculated", "precision", "scale", "picklistValues", "soapType"}
    assert all(keys <= set(x) for x in d["fields"])
    assert f["Member__c"]["type"] == "reference" and f["Member__c"]["referenceTo"] == ["Contact"]
    assert f["Member__c"]["relationshipName"] == "Member__r"
    assert (f["Total_Amount__c"]["type"], f["Total_Amount__c"]["precision"], f["Total_Amount__c"]["scale"]) == ("currency", 16, 0)
    assert [p["value"] for p in f["Status__c"]["picklistValues"]] == ["New", "Paid", "Shipped", "Cancelled"]
    assert f["Order_Number__c"]["externalId"] and f["Order_Number__c"]["unique"] and f["Order_Number__c"]["length"] == 64
    assert f["Id"]["type"] == "id" and not f["Id"]["createable"]
    contact = schema.describe("Contact")
    rel = [c for c in contact["childRelationships"] if c["childSObject"] == "EC_Order__c"]
    assert rel == [{"cascadeDelete": False, "childSObject": "EC_Order__c", "deprecatedAndHidden": False,
                    "field": "Member__c", "junctionIdListNames": [], "junctionReferenceTo": [],
                    "relationshipName": "EC_Orders__r", "restrictedDelete": False}]
    cf = {x["name"]: x for x in contact["fields"]}
    assert cf["EC_Member_Id__c"]["externalId"] and cf["LastName"]["nillable"] is False
    replayed = next(x for x in schema.describe("EC_Ingest_Error__c")["fields"] if x["name"] == "Replayed__c")
    assert replayed["type"] == "boolean" and replayed["defaultValue"] is False
    assert not any(k.startswith("_") for x in d["fields"] for k in x)


def test_schema_from_plain_metadata_dicts(store: Store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_object({"fullName": "Coupon__c", "label": "Coupon", "nameField": {"type": "Text"},
                                "fields": [{"fullName": "Code__c", "type": "Text", "length": "20",
                                            "externalId": "true", "unique": "true"},
                                           {"fullName": "Kind__c", "type": "Picklist",
                                            "valueSet": [{"fullName": "A", "default": "true"}, "B"]}]})
        tx.apply_custom_field("Coupon__c", {"full_name": "Coupon__c.Used__c", "type": "Checkbox",
                                            "default_value": "false"})
    d = {f["name"]: f for f in store.schema.describe("Coupon__c")["fields"]}
    assert d["Code__c"]["length"] == 20 and d["Code__c"]["externalId"] and d["Code__c"]["unique"]
    assert [p["value"] for p in d["Kind__c"]["picklistValues"]] == ["A", "B"] and d["Kind__c"]["defaultValue"] == "A"
    assert d["Used__c"]["type"] == "boolean"


def test_a_dropped_transaction_releases_the_write_lock(store: Store) -> None:
    import gc

    def leak() -> None:
        tx = store.transaction()
        tx.insert("Contact", [{"LastName": "never committed"}])  # takes the write lock

    leak()
    gc.collect()
    with store.transaction() as tx:  # would wait 30 s and fail with UNABLE_TO_LOCK_ROW otherwise
        tx.insert("Contact", [{"LastName": "next"}])
        assert [r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records] == ["next"]
