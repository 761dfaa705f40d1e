"""Apex DML on person accounts in the local org: insert/update/upsert/delete and Database methods with person
and __pc fields, the Account trigger firing, record type infos, and the refusals as DmlException codes."""

from __future__ import annotations

import pytest

from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store

TRIGGER = """
trigger PersonAccountTrigger on Account (before insert, before update, after insert) {
    PersonAccountTriggerHandler.handle(Trigger.new, Trigger.isBefore, Trigger.isInsert);
}
"""

HANDLER = """
public with sharing class PersonAccountTriggerHandler {
    public static void handle(List<Account> records, Boolean isBefore, Boolean isInsert) {
        Id personType = PersonAccountService.personRecordTypeId();
        for (Account a : records) {
            if (isBefore && a.RecordTypeId == personType) { // IsPersonAccount is set on save, not yet here
                a.PersonTitle = 'member ' + a.Member_Key__pc;
                if (isInsert) { a.Description = 'flag in before insert: ' + a.IsPersonAccount; }
            }
        }
        if (!isBefore && isInsert) {
            List<Account> seen = [SELECT Id, PersonContactId FROM Account WHERE Id IN :records AND IsPersonAccount = true];
            for (Account a : seen) {
                if (a.PersonContactId == null) { throw new IllegalArgumentException('no person contact'); }
            }
        }
    }
}
"""

SERVICE = """
public with sharing class PersonAccountService {
    public static Id personRecordTypeId() {
        return Schema.SObjectType.Account.getRecordTypeInfosByDeveloperName().get('PersonAccount').getRecordTypeId();
    }
    public static List<Database.UpsertResult> upsertMembers(List<String> keys, List<String> emails) {
        List<Account> rows = new List<Account>();
        for (Integer i = 0; i < keys.size(); i++) {
            rows.add(new Account(RecordTypeId = personRecordTypeId(), LastName = 'Member ' + keys[i],
                                 PersonEmail = emails[i], Member_Key__pc = keys[i]));
        }
        return Database.upsert(rows, Account.Member_Key__pc, false, AccessLevel.USER_MODE);
    }
}
"""

TESTS = """
@IsTest
private class PersonAccountServiceTest {
    @IsTest
    static void upsertsPersonAccountsAndTheirContacts() {
        List<String> keys = new List<String>();
        List<String> emails = new List<String>();
        for (Integer i = 0; i < 200; i++) { keys.add('K' + i); emails.add('m' + i + '@example.com'); }
        Test.startTest();
        List<Database.UpsertResult> first = PersonAccountService.upsertMembers(keys, emails);
        emails[0] = 'changed@example.com';
        List<Database.UpsertResult> second = PersonAccountService.upsertMembers(keys, emails);
        Test.stopTest();
        Assert.isTrue(first[0].isSuccess() && first[0].isCreated(), 'created');
        Assert.isTrue(second[0].isSuccess() && !second[0].isCreated(), 'matched by the __pc external id');
        Assert.areEqual(200, [SELECT COUNT() FROM Account WHERE IsPersonAccount = true]);
        Assert.areEqual(200, [SELECT COUNT() FROM Contact WHERE IsPersonAccount = true]);
        Account a = [SELECT Name, PersonEmail, PersonTitle, PersonContactId, RecordType.DeveloperName, Description
                     FROM Account WHERE Member_Key__pc = 'K0'];
        Assert.areEqual('flag in before insert: false', a.Description);
        Assert.areEqual('Member K0', a.Name);
        Assert.areEqual('member K0', a.PersonTitle, 'the Account trigger ran');
        Assert.areEqual('PersonAccount', a.RecordType.DeveloperName);
        Contact c = [SELECT Email, Member_Key__c, AccountId FROM Contact WHERE Id = :a.PersonContactId];
        Assert.areEqual('changed@example.com', c.Email);
        Assert.areEqual('K0', c.Member_Key__c);
    }

    @IsTest
    static void refusesWhatSalesforceRefuses() {
        Id rt = PersonAccountService.personRecordTypeId();
        Account a = new Account(RecordTypeId = rt, FirstName = 'Hana', LastName = 'Mori');
        insert a;
        a = [SELECT Id, Name, IsPersonAccount, PersonContactId FROM Account WHERE Id = :a.Id];
        Assert.areEqual('Hana Mori', a.Name);
        Assert.isTrue(a.IsPersonAccount);
        try {
            delete new Contact(Id = a.PersonContactId);
            Assert.fail('a person contact is never deleted on its own');
        } catch (DmlException e) {
            Assert.areEqual(StatusCode.INVALID_PERSON_ACCOUNT_OPERATION, e.getDmlType(0));
        }
        Database.SaveResult r = Database.insert(new Account(RecordTypeId = rt, Name = 'Mori Hana', LastName = 'Mori'), false);
        Assert.areEqual(StatusCode.INVALID_FIELD_FOR_INSERT_UPDATE, r.getErrors()[0].getStatusCode());
        r = Database.insert(new Account(RecordTypeId = rt, FirstName = 'No Last'), false);
        Assert.areEqual(StatusCode.REQUIRED_FIELD_MISSING, r.getErrors()[0].getStatusCode());
        update a; // a queried person account (Name, IsPersonAccount, PersonContactId) saves again
        delete a;
        Assert.areEqual(0, [SELECT COUNT() FROM Contact WHERE Id = :a.PersonContactId]);
    }
}
"""


@pytest.fixture()
def runtime(tmp_path):
    store = open_store(tmp_path / "org.sqlite3")
    store.apply_custom_field("Contact", {"fullName": "Member_Key__c", "type": "Text", "length": 40,
                                         "externalId": True, "unique": True})
    rt = ApexRuntime(store, {"PersonAccountTrigger.trigger": TRIGGER,
                             "PersonAccountTriggerHandler.cls": HANDLER, "PersonAccountService.cls": SERVICE,
                             "PersonAccountServiceTest.cls": TESTS})
    yield rt
    store.set_trigger_hook(None)
    store.close()


def test_apex_tests_on_person_accounts_pass(runtime) -> None:
    results = runtime.run_tests(["PersonAccountServiceTest"])
    assert sorted((r.method_name, r.outcome, r.message) for r in results) == [
        ("refusesWhatSalesforceRefuses", "Pass", None), ("upsertsPersonAccountsAndTheirContacts", "Pass", None)]


def test_anonymous_apex_dml_and_the_data_it_leaves(runtime) -> None:
    res = runtime.execute_anonymous("""
        Id rt = PersonAccountService.personRecordTypeId();
        Account a = new Account(RecordTypeId = rt, LastName = 'Ito', PersonEmail = 'ito@example.com', Member_Key__pc = 'A1');
        insert a;
        a.PersonMobilePhone = '090-0000-0000';
        update a;
        Database.SaveResult[] bad = Database.update(new List<Account>{ new Account(Id = a.Id, Name = 'Renamed') }, false);
        System.assertEquals('INVALID_FIELD_FOR_INSERT_UPDATE', String.valueOf(bad[0].getErrors()[0].getStatusCode()));
    """)
    assert res.success, (res.exception_type, res.exception_message, res.line)
    with runtime.store.transaction() as tx:
        [acc] = tx.query("SELECT Name, PersonTitle, PersonMobilePhone, PersonContactId FROM Account").records
        [con] = tx.query("SELECT Id, Name, MobilePhone, Email, Member_Key__c, IsPersonAccount FROM Contact").records
    assert acc["Name"] == "Ito" and acc["PersonTitle"] == "member A1" and acc["PersonContactId"] == con["Id"]
    assert (con["MobilePhone"], con["Email"], con["Member_Key__c"], con["IsPersonAccount"]) == (
        "090-0000-0000", "ito@example.com", "A1", True)


def test_an_org_without_person_accounts_does_not_compile_pc_references(tmp_path) -> None:
    from localcloud.salesforce.apex import ApexCompileError

    store = open_store(tmp_path / "plain.sqlite3", person_accounts=False)
    store.apply_custom_field("Contact", {"fullName": "Member_Key__c", "type": "Text", "length": 40,
                                         "externalId": True, "unique": True})
    try:
        with pytest.raises(ApexCompileError) as raised:
            ApexRuntime(store, {"PersonAccountService.cls": SERVICE})
        assert "Invalid field LastName for Account" in str(raised.value)
    finally:
        store.close()
