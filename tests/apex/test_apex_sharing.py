"""Apex managed sharing (data/sharing.py): X__Share and the standard share objects, their DML rules,
Owner rows, sharing reasons, and UserRecordAccess computed from org-wide defaults and share rows."""
from __future__ import annotations

import pytest

from localcloud.salesforce.metadata.objects import object_spec
from localcloud.salesforce.metadata.package import Component

from .orgfixture import run_test_methods

OBJECT = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Job</label><pluralLabel>Jobs</pluralLabel>
    <nameField><label>Job Name</label><type>Text</type></nameField>
    <sharingModel>%s</sharingModel>
    <sharingReasons><fullName>Hiring_Manager__c</fullName><label>Hiring Manager</label></sharingReasons>
</CustomObject>"""


def _deploy_object(store, name: str = "Job__c", model: str = "Private") -> None:
    store.apply_custom_object(object_spec(Component("CustomObject", name, f"objects/{name}.object",
                                                    OBJECT % model.encode())))


COMMON = """
    static User makeUser(String alias) {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = alias, Email = alias + '@example.com', EmailEncodingKey = 'UTF-8', LastName = alias,
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = alias + '.sharing@example.com');
        insert u;
        return u;
    }
"""

SHARE_TEST = """@IsTest private class JobSharingTest {""" + COMMON + """
    @IsTest static void ownerRowIsWrittenAndKept() {
        Job__c j = new Job__c(Name = 'J1');
        insert j;
        List<Job__Share> rows = [SELECT UserOrGroupId, AccessLevel, RowCause FROM Job__Share WHERE ParentId = :j.Id];
        Assert.areEqual(1, rows.size());
        Assert.areEqual('Owner', rows[0].RowCause);
        Assert.areEqual('All', rows[0].AccessLevel);
        Assert.areEqual(UserInfo.getUserId(), rows[0].UserOrGroupId);
        Database.DeleteResult dr = Database.delete(rows[0], false);
        Assert.isFalse(dr.isSuccess());
        Assert.areEqual(StatusCode.DELETE_FAILED, dr.getErrors()[0].getStatusCode());
    }
    @IsTest static void apexManagedSharingWithAReason() {
        User u = makeUser('shr1');
        Job__c j = new Job__c(Name = 'J2');
        insert j;
        Job__Share s = new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Read',
                                      RowCause = Schema.Job__Share.RowCause.Hiring_Manager__c);
        Database.SaveResult sr = Database.insert(s, false);
        Assert.isTrue(sr.isSuccess(), String.valueOf(sr.getErrors()));
        Assert.areEqual('Hiring_Manager__c', Schema.Job__Share.RowCause.Hiring_Manager__c);
        // the same share again updates the row there
        Job__Share again = new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Edit',
                                          RowCause = 'Hiring_Manager__c');
        insert again;
        Assert.areEqual(sr.getId(), again.Id);
        List<Job__Share> rows = [SELECT AccessLevel FROM Job__Share WHERE ParentId = :j.Id AND UserOrGroupId = :u.Id];
        Assert.areEqual(1, rows.size());
        Assert.areEqual('Edit', rows[0].AccessLevel);
        // a manual share beside it (RowCause defaults to Manual)
        insert new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Read');
        Assert.areEqual(2, [SELECT COUNT() FROM Job__Share WHERE ParentId = :j.Id AND UserOrGroupId = :u.Id]);
        Assert.areEqual(1, [SELECT COUNT() FROM Job__Share WHERE ParentId = :j.Id AND RowCause = 'Manual']);
        // a new owner: the Owner row moves, the Manual row goes, the Apex sharing reason stays
        User other = makeUser('shr2');
        j.OwnerId = other.Id;
        update j;
        Map<String, Job__Share> byCause = new Map<String, Job__Share>();
        for (Job__Share r : [SELECT RowCause, UserOrGroupId FROM Job__Share WHERE ParentId = :j.Id]) {
            byCause.put(r.RowCause, r);
        }
        Assert.areEqual(new Set<String>{ 'Owner', 'Hiring_Manager__c' }, byCause.keySet());
        Assert.areEqual(other.Id, byCause.get('Owner').UserOrGroupId);
        // deleting the record deletes its shares
        delete j;
        Assert.areEqual(0, [SELECT COUNT() FROM Job__Share WHERE ParentId = :j.Id]);
    }
    @IsTest static void badSharesAreRefused() {
        User u = makeUser('shr3');
        Job__c j = new Job__c(Name = 'J3');
        insert j;
        List<Job__Share> bad = new List<Job__Share>{
            new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'All'),
            new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Write'),
            new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Read', RowCause = 'Owner'),
            new Job__Share(ParentId = u.Id, UserOrGroupId = u.Id, AccessLevel = 'Read'),
            new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Read')
        };
        List<Database.SaveResult> res = Database.insert(bad, false);
        Assert.areEqual(StatusCode.FIELD_INTEGRITY_EXCEPTION, res[0].getErrors()[0].getStatusCode());
        Assert.areEqual(StatusCode.FIELD_INTEGRITY_EXCEPTION, res[1].getErrors()[0].getStatusCode());
        Assert.areEqual(StatusCode.FIELD_INTEGRITY_EXCEPTION, res[2].getErrors()[0].getStatusCode());
        Assert.isFalse(res[3].isSuccess());
        Assert.isTrue(res[4].isSuccess());
        u.IsActive = false;
        update u;
        Database.SaveResult inactive = Database.insert(new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id,
                                                                      AccessLevel = 'Edit', RowCause = 'Hiring_Manager__c'), false);
        Assert.areEqual(StatusCode.INVALID_CROSS_REFERENCE_KEY, inactive.getErrors()[0].getStatusCode());
    }
    static UserRecordAccess accessOf(Id userId, Id recordId) {
        return [SELECT HasReadAccess, HasEditAccess, HasDeleteAccess, MaxAccessLevel FROM UserRecordAccess
                WHERE UserId = :userId AND RecordId = :recordId];
    }
    @IsTest static void userRecordAccessHonoursDefaultsAndShares() {
        User u = makeUser('shr5');
        PermissionSet ps = new PermissionSet(Name = 'JobAccess', Label = 'Job Access');
        insert ps;
        insert new ObjectPermissions(ParentId = ps.Id, SobjectType = 'Job__c', PermissionsRead = true,
                                     PermissionsEdit = true, PermissionsCreate = true, PermissionsDelete = true);
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
        Job__c j = new Job__c(Name = 'Private one');
        insert j;
        Assert.areEqual('None', accessOf(u.Id, j.Id).MaxAccessLevel, 'Private: not shared with the user');
        insert new Job__Share(ParentId = j.Id, UserOrGroupId = u.Id, AccessLevel = 'Read');
        Assert.areEqual('Read', accessOf(u.Id, j.Id).MaxAccessLevel);
        Group g = new Group(Name = 'Recruiters', Type = 'Regular');
        insert g;
        insert new GroupMember(GroupId = g.Id, UserOrGroupId = u.Id);
        insert new Job__Share(ParentId = j.Id, UserOrGroupId = g.Id, AccessLevel = 'Edit',
                              RowCause = Schema.Job__Share.RowCause.Hiring_Manager__c);
        UserRecordAccess viaGroup = accessOf(u.Id, j.Id);
        Assert.areEqual('Edit', viaGroup.MaxAccessLevel);
        Assert.isFalse(viaGroup.HasDeleteAccess, 'only full access deletes');
        Job__c theirs = new Job__c(Name = 'Owned', OwnerId = u.Id);
        insert theirs;
        Assert.areEqual('All', accessOf(u.Id, theirs.Id).MaxAccessLevel);
    }
    @IsTest static void standardSharesFollowTheirDefaults() {
        User u = makeUser('shr4');
        Account a = new Account(Name = 'A');
        insert a;
        Opportunity o = new Opportunity(Name = 'O', StageName = 'Prospecting', CloseDate = Date.today(), AccountId = a.Id);
        insert o;
        // Opportunity is Public Read Only by default: an Owner row, and Read is trivial
        Assert.areEqual(1, [SELECT COUNT() FROM OpportunityShare WHERE OpportunityId = :o.Id AND RowCause = 'Owner']);
        Database.SaveResult trivial = Database.insert(new OpportunityShare(OpportunityId = o.Id, UserOrGroupId = u.Id,
                                                                          OpportunityAccessLevel = 'Read'), false);
        Assert.areEqual(StatusCode.FIELD_FILTER_VALIDATION_EXCEPTION, trivial.getErrors()[0].getStatusCode());
        Assert.isTrue(trivial.getErrors()[0].getMessage().contains('AccessLevel'));
        insert new OpportunityShare(OpportunityId = o.Id, UserOrGroupId = u.Id, OpportunityAccessLevel = 'Edit');
        // Account is Public Read/Write: no Owner rows are kept, Edit is trivial
        Assert.areEqual(0, [SELECT COUNT() FROM AccountShare WHERE AccountId = :a.Id]);
        Database.SaveResult acc = Database.insert(new AccountShare(AccountId = a.Id, UserOrGroupId = u.Id,
            AccountAccessLevel = 'Edit', OpportunityAccessLevel = 'None', CaseAccessLevel = 'None'), false);
        Assert.isFalse(acc.isSuccess());
    }
}"""


def test_apex_managed_sharing(store) -> None:
    _deploy_object(store)
    results = run_test_methods(store, {"JobSharingTest.cls": SHARE_TEST})
    assert results == {name: ("Pass", None) for name in results} and len(results) == 5, results


DEFINITIONS_TEST = """@IsTest private class DefinitionsTest {
    @IsTest static void everyObjectAndFieldHasItsRow() {
        EntityDefinition acc = [SELECT QualifiedApiName, DeveloperName, Label, KeyPrefix, IsCustomizable, DurableId,
                                InternalSharingModel FROM EntityDefinition WHERE QualifiedApiName = 'Account'];
        Assert.areEqual('001', acc.KeyPrefix);
        Assert.areEqual('Account', acc.DurableId);
        Assert.isTrue(acc.IsCustomizable);
        EntityDefinition job = [SELECT DeveloperName, Label, InternalSharingModel, KeyPrefix FROM EntityDefinition
                                WHERE QualifiedApiName = 'Job__c'];
        Assert.areEqual('Job', job.DeveloperName);
        Assert.areEqual('Private', job.InternalSharingModel);
        Assert.areEqual(Job__c.SObjectType.getDescribe().getKeyPrefix(), job.KeyPrefix);
        Integer objects = [SELECT COUNT() FROM EntityDefinition];
        Assert.areEqual(Schema.getGlobalDescribe().size(), objects);
        Map<String, FieldDefinition> fields = new Map<String, FieldDefinition>();
        for (FieldDefinition f : [SELECT QualifiedApiName, DataType, Label, DurableId, EntityDefinitionId, IsNillable
                                  FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = 'Account']) {
            fields.put(f.QualifiedApiName, f);
        }
        Assert.areEqual(Account.SObjectType.getDescribe().fields.getMap().size(), fields.size());
        Assert.areEqual('Account.Name', fields.get('Name').DurableId);
        Assert.areEqual('Account', fields.get('Name').EntityDefinitionId);
        Assert.areEqual('Lookup(User)', fields.get('OwnerId').DataType);
        Assert.areEqual(1, [SELECT COUNT() FROM FieldDefinition WHERE EntityDefinitionId = 'Job__c'
                            AND QualifiedApiName = 'Name']);
        FieldDefinition byDurable = [SELECT EntityDefinition.Label FROM FieldDefinition WHERE DurableId = 'Contact.Email'];
        Assert.areEqual('Contact', byDurable.EntityDefinition.Label);
        try {
            List<FieldDefinition> all = [SELECT Id FROM FieldDefinition WHERE QualifiedApiName = 'Name'];
            Assert.fail('a filter on the entity is required');
        } catch (QueryException e) {
            Assert.isTrue(e.getMessage().contains('a filter on a reified column is required'), e.getMessage());
        }
    }
}"""


def test_entity_and_field_definitions_cover_the_schema(store) -> None:
    _deploy_object(store)
    results = run_test_methods(store, {"DefinitionsTest.cls": DEFINITIONS_TEST})
    assert results == {"everyObjectAndFieldHasItsRow": ("Pass", None)}, results


VISIBILITY_CLASSES = {
    "JobReaderWith.cls": """public with sharing class JobReaderWith {
    public static List<Job__c> all() { return [SELECT Id, Name FROM Job__c ORDER BY Name]; }
    public static Integer count() { return [SELECT COUNT() FROM Job__c]; }
    public static Integer aggregate() { return (Integer) [SELECT COUNT(Id) n FROM Job__c][0].get('n'); }
    public static List<Job__c> page() { return [SELECT Name FROM Job__c ORDER BY Name LIMIT 1 OFFSET 1]; }
    public static Integer viaInherited() { return JobReaderInherited.count(); }
    public static Integer viaWithout() { return JobReaderWithout.count(); }
    public static Integer viaNone() { return JobReaderNone.count(); }
    public static void rename(Job__c j, String name) { j.Name = name; update j; }
    public static Database.SaveResult tryRename(Job__c j, String name) { j.Name = name; return Database.update(j, false); }
}""",
    "JobReaderWithout.cls": """public without sharing class JobReaderWithout {
    public static Integer count() { return [SELECT COUNT() FROM Job__c]; }
    public static Integer userModeCount() { return [SELECT COUNT() FROM Job__c WITH USER_MODE]; }
    public static Integer databaseUserMode() {
        return Database.query('SELECT Id FROM Job__c', AccessLevel.USER_MODE).size();
    }
    public static Integer viaInherited() { return JobReaderInherited.count(); }
    public static void rename(Job__c j, String name) { j.Name = name; update j; }
    public static void renameAsUser(Job__c j, String name) { j.Name = name; update as user j; }
}""",
    "JobReaderInherited.cls": """public inherited sharing class JobReaderInherited {
    public static Integer count() { return [SELECT COUNT() FROM Job__c]; }
}""",
    "JobReaderNone.cls": """public class JobReaderNone {
    public static Integer count() { return [SELECT COUNT() FROM Job__c]; }
}""",
    "JobVisibilityTest.cls": """@IsTest private class JobVisibilityTest {""" + COMMON + """
    @IsTest static void sharingLimitsWhatAStandardUserReads() {
        User u = makeUser('vis1');
        PermissionSet ps = new PermissionSet(Name = 'JobRead', Label = 'Job Read');
        insert ps;
        insert new ObjectPermissions(ParentId = ps.Id, SobjectType = 'Job__c', PermissionsRead = true,
                                     PermissionsEdit = true);
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
        Group g = new Group(Name = 'Recruiters', Type = 'Regular');
        insert g;
        Group outer = new Group(Name = 'All Recruiters', Type = 'Regular');
        insert outer;
        insert new GroupMember(GroupId = g.Id, UserOrGroupId = u.Id);
        insert new GroupMember(GroupId = outer.Id, UserOrGroupId = g.Id);
        List<Job__c> jobs = new List<Job__c>{ new Job__c(Name = 'J1', OwnerId = u.Id), new Job__c(Name = 'J2'),
            new Job__c(Name = 'J3'), new Job__c(Name = 'J4'), new Job__c(Name = 'J5') };
        insert jobs;
        insert new Job__Share(ParentId = jobs[1].Id, UserOrGroupId = u.Id, AccessLevel = 'Read');
        insert new Job__Share(ParentId = jobs[2].Id, UserOrGroupId = outer.Id, AccessLevel = 'Read');
        Assert.areEqual(5, JobReaderWith.count(), 'an administrator reads every record');
        System.runAs(u) {
            List<String> names = new List<String>();
            for (Job__c j : JobReaderWith.all()) {
                names.add(j.Name);
            }
            Assert.areEqual(new List<String>{ 'J1', 'J2', 'J3' }, names, 'owned, shared, shared with a nested group');
            Assert.areEqual(3, JobReaderWith.count());
            Assert.areEqual(3, JobReaderWith.aggregate());
            Assert.areEqual('J2', JobReaderWith.page()[0].Name);
            Assert.areEqual(3, JobReaderWith.viaInherited(), 'inherited sharing runs as its caller');
            Assert.areEqual(5, JobReaderWith.viaWithout(), 'without sharing: every record');
            Assert.areEqual(3, JobReaderWith.viaNone(), 'no declaration called from with sharing: with sharing');
            Assert.areEqual(5, JobReaderWithout.count());
            Assert.areEqual(3, JobReaderWithout.userModeCount(), 'USER_MODE enforces sharing in any class');
            Assert.areEqual(3, JobReaderWithout.databaseUserMode());
            Assert.areEqual(5, JobReaderWithout.viaInherited());
            Assert.areEqual(5, JobReaderNone.count(), 'an entry point without declaration runs without sharing');
            Assert.areEqual(5, JobReaderInherited.count(), 'called from a test class without declaration');
            Assert.areEqual(5, [SELECT COUNT() FROM Job__c], 'a test class without declaration');
            JobReaderWith.rename(jobs[0], 'Mine');
            try {
                JobReaderWith.rename(jobs[1], 'Read only');
                Assert.fail('a Read share does not let the user edit');
            } catch (DmlException e) {
                Assert.areEqual(StatusCode.INSUFFICIENT_ACCESS_OR_READONLY, e.getDmlType(0));
                Assert.isTrue(e.getMessage().contains('insufficient access rights on object id'), e.getMessage());
            }
            Database.SaveResult sr = JobReaderWith.tryRename(jobs[3], 'Hidden');
            Assert.isFalse(sr.isSuccess());
            Assert.areEqual(StatusCode.INSUFFICIENT_ACCESS_OR_READONLY, sr.getErrors()[0].getStatusCode());
            JobReaderWithout.rename(jobs[1], 'System mode');
            try {
                JobReaderWithout.renameAsUser(jobs[2], 'As user');
                Assert.fail('update as user checks record access');
            } catch (DmlException e) {
                Assert.areEqual(StatusCode.INSUFFICIENT_ACCESS_OR_READONLY, e.getDmlType(0));
            }
        }
        Assert.areEqual(new List<String>{ 'J3', 'J4', 'J5', 'Mine', 'System mode' },
                        new List<String>{ [SELECT Name FROM Job__c WHERE Id = :jobs[2].Id].Name,
                                          [SELECT Name FROM Job__c WHERE Id = :jobs[3].Id].Name,
                                          [SELECT Name FROM Job__c WHERE Id = :jobs[4].Id].Name,
                                          [SELECT Name FROM Job__c WHERE Id = :jobs[0].Id].Name,
                                          [SELECT Name FROM Job__c WHERE Id = :jobs[1].Id].Name });
    }
}""",
}


def test_with_sharing_and_user_mode_filter_private_records(store) -> None:
    _deploy_object(store)
    results = run_test_methods(store, VISIBILITY_CLASSES)
    assert results == {"sharingLimitsWhatAStandardUserReads": ("Pass", None)}, results


PUBLIC_TEST = """@IsTest private class PublicJobTest {""" + COMMON + """
    @IsTest static void everyRecordIsRead() {
        User u = makeUser('vis2');
        insert new List<Job__c>{ new Job__c(Name = 'J1', OwnerId = u.Id), new Job__c(Name = 'J2') };
        System.runAs(u) {
            Assert.areEqual(2, JobReaderWith.count());
            Assert.areEqual(2, JobReaderWith.all().size());
        }
    }
}"""


def test_public_objects_are_not_filtered(store) -> None:
    _deploy_object(store, model="Read")
    classes = {k: v for k, v in VISIBILITY_CLASSES.items() if k != "JobVisibilityTest.cls"}
    results = run_test_methods(store, {**classes, "PublicJobTest.cls": PUBLIC_TEST})
    assert results == {"everyRecordIsRead": ("Pass", None)}, results


ACCOUNT_CLASSES = {
    "AccountReader.cls": """public with sharing class AccountReader {
    public static Integer accounts() { return [SELECT COUNT() FROM Account]; }
    public static Integer contacts() { return [SELECT COUNT() FROM Contact]; }
    public static Integer contactsUnder() {
        Integer n = 0;
        for (Account a : [SELECT Id, (SELECT Id FROM Contacts) FROM Account]) {
            n += a.Contacts.size();
        }
        return n;
    }
}""",
    "AccountVisibilityTest.cls": """@IsTest private class AccountVisibilityTest {""" + COMMON + """
    @IsTest static void contactsFollowTheirAccount() {
        User u = makeUser('vis3');
        List<Account> accounts = new List<Account>{ new Account(Name = 'Mine', OwnerId = u.Id),
            new Account(Name = 'Shared'), new Account(Name = 'Hidden') };
        insert accounts;
        insert new AccountShare(AccountId = accounts[1].Id, UserOrGroupId = u.Id, AccountAccessLevel = 'Read',
                                OpportunityAccessLevel = 'None', CaseAccessLevel = 'None');
        insert new List<Contact>{ new Contact(LastName = 'C1', AccountId = accounts[0].Id),
            new Contact(LastName = 'C2', AccountId = accounts[1].Id),
            new Contact(LastName = 'C3', AccountId = accounts[2].Id),
            new Contact(LastName = 'C4', AccountId = accounts[2].Id, OwnerId = u.Id) };
        System.runAs(u) {
            Assert.areEqual(2, AccountReader.accounts());
            Assert.areEqual(3, AccountReader.contacts(), 'on a readable account, or owned');
            Assert.areEqual(2, AccountReader.contactsUnder(), 'child rows of the readable accounts, filtered too');
        }
        Assert.areEqual(3, AccountReader.accounts());
        Assert.areEqual(4, AccountReader.contacts());
    }
}""",
}


def test_controlled_by_parent_follows_the_account(store, monkeypatch) -> None:
    monkeypatch.setenv("ECBRIDGE_ORG_SHARING_MODELS", "Account=Private")
    results = run_test_methods(store, ACCOUNT_CLASSES)
    assert results == {"contactsFollowTheirAccount": ("Pass", None)}, results
