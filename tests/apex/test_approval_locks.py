"""Approval.lock/unlock/isLocked (issue 18): record locks in the store (data/locks.py), refused edits with
ENTITY_IS_LOCKED for users who are not administrators, over Apex DML and the data layer alike."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import locks
from tests.apex.orgfixture import run_test_methods

LOCK_TEST = """@IsTest private class LockTest {
    static User standardUser(String name) {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        return new User(ProfileId = standard.Id, LastName = name, Email = name + '@example.com',
            Username = name + '.locks@example.com', Alias = name.left(5), TimeZoneSidKey = 'Asia/Tokyo',
            LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US');
    }
    @IsTest static void lockRefusesOthersUntilUnlocked() {
        Account a = new Account(Name = 'Locked');
        Account b = new Account(Name = 'Free');
        insert new List<Account>{ a, b };
        Integer dml = Limits.getDmlStatements();
        Approval.LockResult r = Approval.lock(a.Id);
        Assert.areEqual(dml + 1, Limits.getDmlStatements());
        Assert.isTrue(r.isSuccess());
        Assert.areEqual(a.Id, r.getId());
        Map<String, Object> json = (Map<String, Object>) JSON.deserializeUntyped(JSON.serialize(r));
        Assert.areEqual(String.valueOf(a.Id), json.get('id'));
        Assert.areEqual(true, json.get('success'));
        Assert.isTrue(Approval.isLocked(a.Id));
        Assert.isTrue(Approval.isLocked(a));
        Map<Id, Boolean> flags = Approval.isLocked(new List<Id>{ a.Id, b.Id });
        Assert.areEqual(true, flags.get(a.Id));
        Assert.areEqual(false, flags.get(b.Id));
        a.Name = 'Admin may edit';
        update a;
        User u = standardUser('Locky');
        insert u;
        System.runAs(u) {
            try {
                update new Account(Id = a.Id, Name = 'Nope');
                Assert.fail('a locked record was updated');
            } catch (DmlException e) {
                Assert.areEqual(StatusCode.ENTITY_IS_LOCKED, e.getDmlType(0));
                Assert.isTrue(e.getMessage().contains('ENTITY_IS_LOCKED, the entity is locked for editing'), e.getMessage());
            }
            Database.DeleteResult dr = Database.delete(a.Id, false);
            Assert.isFalse(dr.isSuccess());
            Assert.areEqual(StatusCode.ENTITY_IS_LOCKED, dr.getErrors()[0].getStatusCode());
            update new Account(Id = b.Id, Name = 'Free edit');
        }
        List<Approval.UnlockResult> ur = Approval.unlock(new List<Account>{ a });
        Assert.isTrue(ur[0].isSuccess());
        Assert.isFalse(Approval.isLocked(a.Id));
        System.runAs(u) {
            update new Account(Id = a.Id, Name = 'Now free');
        }
        Assert.areEqual('Now free', [SELECT Name FROM Account WHERE Id = :a.Id].Name);
    }
    @IsTest static void allOrNothingAndRollback() {
        Account a = new Account(Name = 'A');
        Account gone = new Account(Name = 'Gone');
        insert new List<Account>{ a, gone };
        delete gone;
        try {
            Approval.lock(new List<Id>{ a.Id, gone.Id });
            Assert.fail('locking a deleted record');
        } catch (DmlException e) {
            Assert.areEqual(StatusCode.ENTITY_IS_DELETED, e.getDmlType(0));
            Assert.areEqual(1, e.getDmlIndex(0));
        }
        Assert.isFalse(Approval.isLocked(a.Id));
        List<Approval.LockResult> partial = Approval.lock(new List<Id>{ a.Id, gone.Id }, false);
        Assert.isTrue(partial[0].isSuccess());
        Assert.isFalse(partial[1].isSuccess());
        Assert.areEqual(StatusCode.ENTITY_IS_DELETED, partial[1].getErrors()[0].getStatusCode());
        Assert.isTrue(Approval.isLocked(a.Id));
        Savepoint sp = Database.setSavepoint();
        Approval.unlock(a);
        Assert.isFalse(Approval.isLocked(a.Id));
        Database.rollback(sp);
        Assert.isTrue(Approval.isLocked(a.Id));
    }
}"""


def test_apex_lock_unlock_is_locked(store) -> None:
    outcomes = run_test_methods(store, {"LockTest.cls": LOCK_TEST})
    assert outcomes == {"lockRefusesOthersUntilUnlocked": ("Pass", None), "allOrNothingAndRollback": ("Pass", None)}


def test_data_layer_refuses_locked_records_to_non_admins_and_the_setting(store, monkeypatch) -> None:
    with store.transaction() as tx:
        [acct] = tx.insert("Account", [{"Name": "Locked"}])
        standard = tx.query("SELECT Id FROM Profile WHERE Name = 'Standard User'").records[0]["Id"]
        [user] = tx.insert("User", [{"LastName": "Plain", "Email": "p@example.com", "Username": "plain.locks@example.com",
                                     "Alias": "plain", "ProfileId": standard, "TimeZoneSidKey": "Asia/Tokyo",
                                     "LocaleSidKey": "ja_JP", "EmailEncodingKey": "UTF-8", "LanguageLocaleKey": "en_US"}])
        assert [r.success for r in locks.set_locks(tx, [acct.id], True, True)] == [True]
    with store.transaction(user_id=user.id) as tx:
        [res] = tx.update("Account", [{"Id": acct.id, "Name": "x"}], all_or_none=False)
        assert not res.success and res.errors[0].status_code == "ENTITY_IS_LOCKED"
        monkeypatch.setenv(locks.ENV_EDITORS, "everyone")
        [res] = tx.update("Account", [{"Id": acct.id, "Name": "by setting"}], all_or_none=False)
        assert res.success
    with store.transaction() as tx:  # the admin user edits and deletes locked records
        monkeypatch.delenv(locks.ENV_EDITORS)
        assert tx.update("Account", [{"Id": acct.id, "Name": "admin"}], all_or_none=True)[0].success
        assert tx.delete([acct.id], all_or_none=True)[0].success


def test_a_test_run_starts_without_the_orgs_locks_and_approvals(store) -> None:
    with store.transaction() as tx:
        [user_row] = tx.query("SELECT Id FROM User WHERE Profile.Name = 'System Administrator' LIMIT 1").records
        assert locks.set_locks(tx, [user_row["Id"]], True, True)[0].success  # a setup row the test run keeps
        tx.insert("ProcessInstance", [{"TargetObjectId": user_row["Id"], "Status": "Pending"}], read_only_fields="write")
    test = """@IsTest private class CleanTest {
        @IsTest static void clean() {
            Assert.areEqual(0, [SELECT COUNT() FROM ProcessInstance]);
            Assert.isFalse(Approval.isLocked(UserInfo.getUserId()));
        }
    }"""
    assert run_test_methods(store, {"CleanTest.cls": test}) == {"clean": ("Pass", None)}
    with store.transaction() as tx:  # the org keeps them
        assert locks.locked_ids(tx, [user_row["Id"]]) == {user_row["Id"]}
