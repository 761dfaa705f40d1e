"""Person Accounts in the data layer: schema, the person contact kept in step, the rules and their codes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from localcloud.salesforce.data import CustomFieldSpec as F, Store, TriggerEvent, open_store
from localcloud.salesforce.data import personaccounts


def _rt(tx: Any, developer_name: str) -> str:
    return tx.query(f"SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND DeveloperName = '{developer_name}'"
                    ).records[0]["Id"]


def _person(tx: Any, **fields: Any) -> str:
    [r] = tx.insert("Account", [{"RecordTypeId": _rt(tx, "PersonAccount"), **fields}])
    assert r.success, r.errors
    return r.id


def _codes(result: Any) -> list[tuple[str, str]]:
    return [(e.status_code, e.message) for e in result.errors]


def test_schema_record_types_and_describe(store: Store) -> None:
    schema = store.schema
    account = schema.get("Account")
    for name in ("IsPersonAccount", "PersonContactId", "FirstName", "LastName", "Salutation", "PersonEmail",
                 "PersonBirthdate", "PersonMobilePhone", "PersonHomePhone", "PersonMailingStreet",
                 "PersonMailingPostalCode", "PersonOtherCity", "PersonHasOptedOutOfEmail", "PersonLeadSource",
                 "EC_Member_Id__pc", "Marketo_Id__pc"):
        assert account.find_field(name) is not None, name
    assert account.field("EC_Member_Id__pc").external_id and account.field("EC_Member_Id__pc").unique
    assert not account.field("IsPersonAccount").createable and not account.field("PersonContactId").updateable
    assert account.field("PersonContactId").reference_to == ["Contact"]
    assert schema.get("Contact").find_field("IsPersonAccount") is not None
    assert schema.get("RecordType").find_field("IsPersonType") is not None
    with store.transaction() as tx:
        rows = tx.query("SELECT DeveloperName, Name, IsPersonType, IsActive FROM RecordType "
                        "WHERE SobjectType = 'Account' ORDER BY DeveloperName").records
    assert [(r["DeveloperName"], r["Name"], r["IsPersonType"], r["IsActive"]) for r in rows] == [
        ("Business_Account", "Business Account", False, True), ("PersonAccount", "Person Account", True, True)]
    infos = schema.describe("Account")["recordTypeInfos"]
    assert [(i["developerName"], i["defaultRecordTypeMapping"], i["master"]) for i in infos] == [
        ("Business_Account", True, False), ("PersonAccount", False, False), ("Master", False, True)]


def test_org_without_person_accounts(tmp_path: Path) -> None:
    s = open_store(tmp_path / "plain.sqlite3", person_accounts=False)
    try:
        assert not personaccounts.enabled(s.schema)
        assert s.schema.get("Account").find_field("PersonEmail") is None
        with s.transaction() as tx:
            [r] = tx.insert("RecordType", [{"Name": "Person Account", "DeveloperName": "PersonAccount",
                                            "SobjectType": "Account", "IsPersonType": True}])
            assert not r.success and r.errors[0].status_code == "INVALID_FIELD"
            [r] = tx.insert("Account", [{"LastName": "Sato"}])
            assert not r.success and r.errors[0].status_code == "INVALID_FIELD"
        # turning the feature on later (one way) adds the fields, the record types and the __pc fields
        with s.transaction() as tx:
            tx.apply_custom_field("Contact", F("Shoe_Size__c", "Number", precision=4, scale=1))
        assert personaccounts.enable_store(s) is True
        assert personaccounts.enable_store(s) is False
        assert s.schema.get("Account").find_field("Shoe_Size__pc") is not None
    finally:
        s.close()


def test_a_person_account_has_a_person_contact_with_the_same_values(store: Store) -> None:
    with store.transaction() as tx:
        aid = _person(tx, FirstName="Taro", LastName="Yamada", PersonEmail="taro@example.com",
                      PersonBirthdate="1990-04-01", PersonMobilePhone="090-1111-2222", EC_Member_Id__pc="M1",
                      PersonMailingCity="Osaka", PersonHasOptedOutOfEmail=True)
        biz = tx.insert("Account", [{"Name": "Acme"}])[0].id
    with store.transaction() as tx:
        [acc] = tx.query("SELECT Name, IsPersonAccount, PersonContactId, RecordType.DeveloperName, PersonEmail, "
                         "EC_Member_Id__pc, PersonContact.Email FROM Account WHERE Id = :aid", {"aid": aid}).records
        [contact] = tx.query("SELECT Id, Name, FirstName, LastName, Email, Birthdate, MobilePhone, AccountId, "
                             "IsPersonAccount, EC_Member_Id__c, MailingCity, HasOptedOutOfEmail FROM Contact").records
        [b] = tx.query("SELECT Name, IsPersonAccount, PersonContactId, RecordType.DeveloperName FROM Account "
                       "WHERE Id = :biz", {"biz": biz}).records
    assert acc["Name"] == "Taro Yamada" and acc["IsPersonAccount"] is True
    assert acc["RecordType"]["DeveloperName"] == "PersonAccount"
    assert acc["PersonContactId"] == contact["Id"] and acc["PersonContact"]["Email"] == "taro@example.com"
    assert contact == {**contact, "Name": "Taro Yamada", "FirstName": "Taro", "LastName": "Yamada",
                       "Email": "taro@example.com", "Birthdate": "1990-04-01", "MobilePhone": "090-1111-2222",
                       "AccountId": aid, "IsPersonAccount": True, "EC_Member_Id__c": "M1", "MailingCity": "Osaka",
                       "HasOptedOutOfEmail": True}
    assert b == {**b, "Name": "Acme", "IsPersonAccount": False, "PersonContactId": None}
    assert b["RecordType"]["DeveloperName"] == "Business_Account"


def test_changes_from_either_side_stay_in_step(store: Store) -> None:
    with store.transaction() as tx:
        aid = _person(tx, FirstName="Taro", LastName="Yamada", PersonEmail="taro@example.com")
        tx.update("Account", [{"Id": aid, "LastName": "Sato", "PersonEmail": "sato@example.com",
                               "Marketo_Id__pc": "42"}])
        [c] = tx.query("SELECT Id, Name, Email, Marketo_Id__c FROM Contact WHERE IsPersonAccount = true").records
        assert (c["Name"], c["Email"], c["Marketo_Id__c"]) == ("Taro Sato", "sato@example.com", "42")
        [r] = tx.update("Contact", [{"Id": c["Id"], "FirstName": "Jiro", "Email": "jiro@example.com"}])
        assert r.success, r.errors
        [a] = tx.query("SELECT Name, FirstName, PersonEmail FROM Account WHERE Id = :aid", {"aid": aid}).records
        assert (a["Name"], a["FirstName"], a["PersonEmail"]) == ("Jiro Sato", "Jiro", "jiro@example.com")


def test_rules_and_their_codes(store: Store) -> None:
    with store.transaction() as tx:
        person_rt = _rt(tx, "PersonAccount")
        aid = _person(tx, LastName="Yamada")
        cid = tx.query("SELECT PersonContactId FROM Account WHERE Id = :aid", {"aid": aid}).records[0]["PersonContactId"]
        results = tx.insert("Account", [
            {"RecordTypeId": person_rt, "Name": "Yamada Taro", "LastName": "Yamada"},
            {"RecordTypeId": person_rt, "FirstName": "Taro"},
            {"Name": "Acme", "LastName": "Yamada", "PersonEmail": "a@example.com"},
            {"RecordTypeId": person_rt, "LastName": "Good"},
        ], all_or_none=False)
        assert _codes(results[0]) == [("INVALID_FIELD_FOR_INSERT_UPDATE",
                                       "Account: bad field names on insert/update call: Name")]
        assert _codes(results[1]) == [("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]")]
        assert _codes(results[2]) == [("INVALID_FIELD_FOR_INSERT_UPDATE",
                                       "Account: bad field names on insert/update call: LastName, PersonEmail")]
        assert results[3].success  # the good record beside the bad ones is saved
        assert _codes(tx.update("Account", [{"Id": aid, "Name": "Other"}])[0])[0][0] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert _codes(tx.update("Account", [{"Id": aid, "LastName": None}])[0])[0][0] == "REQUIRED_FIELD_MISSING"
        assert _codes(tx.insert("Account", [{"RecordTypeId": person_rt, "LastName": "X", "IsPersonAccount": True}])[0]
                      )[0][0] == "INVALID_FIELD_FOR_INSERT_UPDATE"
        assert _codes(tx.delete([cid])[0]) == [("INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person contact")]
        assert _codes(tx.insert("Contact", [{"LastName": "Kid", "AccountId": aid}])[0]) == [
            ("INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person account")]
        assert _codes(tx.update("Contact", [{"Id": cid, "AccountId": None}])[0])[0][0] == "INVALID_PERSON_ACCOUNT_OPERATION"
        assert _codes(tx.insert("Account", [{"RecordTypeId": "012000000000000AAA", "Name": "X"}])[0])[0][0] == \
            "INVALID_CROSS_REFERENCE_KEY"
        assert tx.query("SELECT COUNT() FROM Contact WHERE IsPersonAccount = true").total_size == 2


def test_person_contact_updates_can_be_refused(store: Store) -> None:
    store.person_contact_updates = "refuse"
    with store.transaction() as tx:
        aid = _person(tx, LastName="Yamada")
        cid = tx.query("SELECT Id FROM Contact WHERE AccountId = :aid", {"aid": aid}).records[0]["Id"]
        assert _codes(tx.update("Contact", [{"Id": cid, "Email": "x@example.com"}])[0]) == [
            ("INVALID_PERSON_ACCOUNT_OPERATION", "cannot reference person contact")]


def test_delete_takes_the_person_contact_along(store: Store) -> None:
    with store.transaction() as tx:
        aid = _person(tx, LastName="Yamada")
        assert tx.delete([aid])[0].success
        assert tx.query("SELECT COUNT() FROM Contact").total_size == 0
        assert tx.query("SELECT COUNT() FROM Contact WHERE IsDeleted = true", include_deleted=True).total_size == 1


def test_upsert_by_a_pc_external_id(store: Store) -> None:
    with store.transaction() as tx:
        rt = _rt(tx, "PersonAccount")
        [r1] = tx.upsert("Account", [{"EC_Member_Id__pc": "M9", "RecordTypeId": rt, "LastName": "Ito"}],
                         "EC_Member_Id__pc")
        [r2] = tx.upsert("Account", [{"EC_Member_Id__pc": "M9", "PersonEmail": "ito@example.com"}], "EC_Member_Id__pc")
        assert r1.success and r1.created and r2.success and not r2.created and r1.id == r2.id
        [c] = tx.query("SELECT Email, EC_Member_Id__c FROM Contact").records
        assert (c["Email"], c["EC_Member_Id__c"]) == ("ito@example.com", "M9")
        [dup] = tx.insert("Account", [{"RecordTypeId": rt, "LastName": "Ito", "EC_Member_Id__pc": "M9"}])
        assert dup.errors[0].status_code == "DUPLICATE_VALUE"


def test_a_contact_field_deployed_later_surfaces_as_pc(store: Store) -> None:
    with store.transaction() as tx:
        aid = _person(tx, LastName="Yamada")
        tx.apply_custom_field("Contact", F("Favourite_Shop__c", "Text", length=40))
        tx.apply_custom_field("Contact", F("Home_Order__c", "Lookup", reference_to="EC_Order__c",
                                           relationship_name="Home_Orders"))
    account = store.schema.get("Account")
    assert account.field("Favourite_Shop__pc").length == 40
    assert account.field("Home_Order__pc").relationship_name == "Home_Order__pr"
    with store.transaction() as tx:
        assert tx.update("Account", [{"Id": aid, "Favourite_Shop__pc": "Umeda"}])[0].success
        assert tx.query("SELECT Favourite_Shop__c FROM Contact").records[0]["Favourite_Shop__c"] == "Umeda"


def test_record_type_changes(store: Store) -> None:
    with store.transaction() as tx:
        person_rt, business_rt = _rt(tx, "PersonAccount"), _rt(tx, "Business_Account")
        biz = tx.insert("Account", [{"Name": "Two Contacts"}])[0].id
        tx.insert("Contact", [{"LastName": "A", "AccountId": biz}, {"LastName": "B", "AccountId": biz}])
        [r] = tx.update("Account", [{"Id": biz, "RecordTypeId": person_rt}])
        assert r.errors[0].status_code == "INVALID_PERSON_ACCOUNT_OPERATION"
        one = tx.insert("Account", [{"Name": "One Contact"}])[0].id
        cid = tx.insert("Contact", [{"FirstName": "Hana", "LastName": "Mori", "Email": "hana@example.com",
                                     "AccountId": one}])[0].id
        [r] = tx.update("Account", [{"Id": one, "RecordTypeId": person_rt, "Phone": "1"}])
        assert _codes(r)[0] == ("INVALID_PERSON_ACCOUNT_OPERATION",
                                "You can't combine a person account record type change with any other field update.")
        assert tx.update("Account", [{"Id": one, "RecordTypeId": person_rt}])[0].success
        [a] = tx.query("SELECT Name, IsPersonAccount, PersonContactId, PersonEmail FROM Account WHERE Id = :one",
                       {"one": one}).records
        assert a == {**a, "Name": "Hana Mori", "IsPersonAccount": True, "PersonContactId": cid,
                     "PersonEmail": "hana@example.com"}
        assert tx.query("SELECT IsPersonAccount FROM Contact WHERE Id = :cid", {"cid": cid}).records[0]["IsPersonAccount"]
        # and back: the person contact becomes an ordinary contact of the business account
        assert tx.update("Account", [{"Id": one, "RecordTypeId": business_rt}])[0].success
        [a] = tx.query("SELECT Name, IsPersonAccount, PersonContactId, PersonEmail FROM Account WHERE Id = :one",
                       {"one": one}).records
        assert a == {**a, "Name": "Hana Mori", "IsPersonAccount": False, "PersonContactId": None, "PersonEmail": None}
        [c] = tx.query("SELECT IsPersonAccount, AccountId, Email FROM Contact WHERE Id = :cid", {"cid": cid}).records
        assert c == {**c, "IsPersonAccount": False, "AccountId": one, "Email": "hana@example.com"}


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, list[Any]]] = []

    def before(self, event: TriggerEvent) -> None:
        self.calls.append(("before", event.op, event.sobject,
                           [(r.get("IsPersonAccount"), r.get("RecordTypeId")) for r in event.new or []]))

    def after(self, event: TriggerEvent) -> None:
        self.calls.append(("after", event.op, event.sobject,
                           [(r.get("IsPersonAccount"), bool(r.get("PersonContactId"))) for r in event.new or []]))


def test_account_triggers_fire_contact_triggers_do_not(store: Store) -> None:
    hook = _Recorder()
    store.set_trigger_hook(hook)
    with store.transaction() as tx:
        rt = _rt(tx, "PersonAccount")
        aid = _person(tx, LastName="Yamada")
        tx.update("Account", [{"Id": aid, "PersonEmail": "y@example.com"}])
        tx.delete([aid])
    assert hook.calls == [
        ("before", "insert", "Account", [(False, rt)]), ("after", "insert", "Account", [(True, True)]),
        ("before", "update", "Account", [(True, rt)]), ("after", "update", "Account", [(True, True)]),
        ("before", "delete", "Account", []), ("after", "delete", "Account", []),
    ]


def test_the_flag_in_before_insert_is_a_setting(store: Store) -> None:
    hook = _Recorder()
    store.set_trigger_hook(hook)
    store.person_flag_in_before_insert = True
    with store.transaction() as tx:
        rt = _rt(tx, "PersonAccount")
        _person(tx, LastName="Yamada")
        tx.insert("Account", [{"Name": "Acme"}])
    assert [c[3] for c in hook.calls if c[0] == "before"] == [[(True, rt)], [(False, _business(store))]]


def _business(store: Store) -> str:
    with store.transaction() as tx:
        return _rt(tx, "Business_Account")


def test_change_events_name_both_records(store: Store) -> None:
    seen: list[tuple[str, str]] = []
    store.commit_listeners.append(lambda c: seen.extend((ch.change_type, ch.sobject) for ch in c.changes))
    with store.transaction() as tx:
        _person(tx, LastName="Yamada")
    assert seen == [("CREATE", "Account"), ("CREATE", "Contact")]
