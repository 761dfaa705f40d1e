"""UserRecordAccess from Apex: computed from the user's object permissions and record ownership
(localcloud/salesforce/apex/recordaccess.py) when a query filters on UserId and RecordId."""
from __future__ import annotations

from .orgfixture import run_test_methods

TEST = """@IsTest private class RecordAccessTest {
    static User standardUser() {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'std', Email = 'std@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Std',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'std.recordaccess@example.com');
        insert u;
        return u;
    }
    static Map<Id, UserRecordAccess> rows(Id userId, List<Id> ids) {
        Map<Id, UserRecordAccess> out = new Map<Id, UserRecordAccess>();
        for (UserRecordAccess r : [SELECT RecordId, HasReadAccess, HasEditAccess, HasDeleteAccess, HasTransferAccess,
                                   HasAllAccess, MaxAccessLevel FROM UserRecordAccess
                                   WHERE UserId = :userId AND RecordId IN :ids]) {
            out.put(r.RecordId, r);
        }
        return out;
    }
    @IsTest static void administratorHasAllButCannotDeleteUsers() {
        Account a = new Account(Name = 'A');
        insert a;
        Id me = UserInfo.getUserId();
        Map<Id, UserRecordAccess> got = rows(me, new List<Id>{ a.Id, me });
        Assert.areEqual('All', got.get(a.Id).MaxAccessLevel);
        Assert.isTrue(got.get(a.Id).HasDeleteAccess);
        Assert.isTrue(got.get(a.Id).HasAllAccess);
        Assert.isFalse(got.get(me).HasDeleteAccess);
        Assert.isTrue(got.get(me).HasEditAccess);
        Assert.areEqual('Edit', got.get(me).MaxAccessLevel);
        List<UserRecordAccess> deletable = [SELECT RecordId FROM UserRecordAccess WHERE UserId = :me
                                            AND RecordId IN :new List<Id>{ a.Id, me } AND HasDeleteAccess = TRUE];
        Assert.areEqual(1, deletable.size());
        Assert.areEqual(a.Id, deletable[0].RecordId);
    }
    @IsTest static void otherUsersFollowObjectPermissionsAndOwnership() {
        User u = standardUser();
        Account theirs = new Account(Name = 'Admin owned');
        Account mine = new Account(Name = 'Std owned', OwnerId = u.Id);
        insert new List<Account>{ theirs, mine };
        Campaign c = new Campaign(Name = 'C');
        insert c;
        Map<Id, UserRecordAccess> got = rows(u.Id, new List<Id>{ theirs.Id, mine.Id, c.Id });
        Assert.isTrue(got.get(theirs.Id).HasReadAccess);
        Assert.isTrue(got.get(theirs.Id).HasEditAccess);
        Assert.isFalse(got.get(theirs.Id).HasDeleteAccess, 'only the owner (or Modify All) deletes');
        Assert.areEqual('Edit', got.get(theirs.Id).MaxAccessLevel);
        Assert.isTrue(got.get(mine.Id).HasDeleteAccess);
        Assert.areEqual('All', got.get(mine.Id).MaxAccessLevel);
        Assert.isFalse(got.get(c.Id).HasReadAccess, 'no Campaign permission for a Standard User here');
        Assert.areEqual('None', got.get(c.Id).MaxAccessLevel);
        delete theirs;
        Assert.isFalse(rows(u.Id, new List<Id>{ theirs.Id }).containsKey(theirs.Id), 'a deleted record has no row');
    }
    @IsTest static void aQueryWithoutTheFiltersFails() {
        try {
            List<UserRecordAccess> all = [SELECT RecordId FROM UserRecordAccess WHERE UserId = :UserInfo.getUserId()];
            Assert.fail('RecordId is required');
        } catch (QueryException e) {
            Assert.isTrue(e.getMessage().contains('RecordId'), e.getMessage());
        }
    }
}"""


def test_user_record_access_is_computed_from_permissions_and_ownership(store) -> None:
    results = run_test_methods(store, {"RecordAccessTest.cls": TEST})
    assert results == {"administratorHasAllButCannotDeleteUsers": ("Pass", None),
                       "otherUsersFollowObjectPermissionsAndOwnership": ("Pass", None),
                       "aQueryWithoutTheFiltersFails": ("Pass", None)}, results
