"""Org data and describe semantics NebulaLogger relies on (issue 18)."""
from __future__ import annotations

from pathlib import Path

from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store


def _run(tmp_path: Path, source: str):
    store = open_store(tmp_path / "org.sqlite3")
    try:
        result = ApexRuntime(store, {}).execute_anonymous(source)
        assert result.success, result.exception_message
        return [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    finally:
        store.close()


def test_a_generic_sobject_collection_has_no_sobject_type(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        List<SObject> generic = new List<SObject>{ new Account() };
        System.debug(generic.getSObjectType() + ' ' + new List<Contact>().getSObjectType()
                     + ' ' + new Map<Id, SObject>().getSObjectType() + ' ' + new Map<Id, Lead>().getSObjectType()
                     + ' ' + Database.query('SELECT Id FROM User').getSObjectType());
    """)
    assert lines == ["null Contact null Lead User"]


def test_allow_field_truncation_cuts_text_to_the_field_length(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        Database.DMLOptions cut = new Database.DMLOptions();
        cut.allowFieldTruncation = true;
        Account a = new Account(Name = 'x'.repeat(300));
        a.setOptions(cut);
        insert a;
        Database.SaveResult viaCall = Database.insert(new Account(Name = 'y'.repeat(256)), cut);
        Database.SaveResult refused = Database.insert(new Account(Name = 'z'.repeat(256)), false);
        System.debug([SELECT Name FROM Account WHERE Id = :a.Id].Name.length() + ' '
                     + [SELECT Name FROM Account WHERE Id = :viaCall.getId()].Name.length() + ' '
                     + refused.getErrors()[0].getStatusCode());
    """)
    assert lines == ["255 255 STRING_TOO_LONG"]


def test_an_org_without_experience_cloud_has_no_network_object(tmp_path: Path, monkeypatch) -> None:
    assert _run(tmp_path, "System.debug(Type.forName('Schema.Network') == null);") == ["true"]
    monkeypatch.setenv("ECBRIDGE_ORG_EXPERIENCE_CLOUD", "on")
    lines = _run(tmp_path / "sites", """
        System.debug(Type.forName('Schema.Network') != null);
        System.debug(Database.query('SELECT Id, Name, UrlPathPrefix FROM Network').size());""")
    assert lines == ["true", "0"]


def test_the_id_of_a_template_object_has_no_apex_type(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        Id comment = CaseComment.SObjectType.getDescribe().getKeyPrefix() + '000000000001AAA';
        try { comment.getSObjectType(); } catch (SObjectException e) { System.debug(e.getMessage()); }
        System.debug(UserInfo.getUserId().getSObjectType());
    """)
    assert lines == ["Cannot locate Apex Type for ID: 00a000000000001AAA", "User"]


def test_an_empty_string_in_a_text_comparison_is_null(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        insert new List<Account>{ new Account(Name = 'a'), new Account(Name = 'b', Site = 'x') };
        String none = '';
        System.debug([SELECT COUNT() FROM Account WHERE Site = :none] + ' ' + [SELECT COUNT() FROM Account WHERE Site = '']
                     + ' ' + [SELECT COUNT() FROM Account WHERE Site != :none]
                     + ' ' + [SELECT COUNT() FROM Account WHERE Site IN ('', 'y')]);
    """)
    assert lines == ["1 1 1 1"]


def test_every_org_has_the_automated_process_user_without_a_profile(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        String name = 'autoproc@' + UserInfo.getOrganizationId();
        User u = [SELECT Id, UserType, TimeZoneSidKey FROM User WHERE Username = :name AND Profile.Name = NULL];
        System.debug(u.UserType + ' ' + [SELECT COUNT() FROM User WHERE UserType = 'Standard']);
    """)
    assert lines == ["AutomatedProcess 1"]


def test_a_parent_relationship_read_by_soql_answers_its_foreign_key(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        Account a = new Account(Name = 'x');
        insert a;
        insert new Contact(LastName = 'c', AccountId = a.Id);
        Contact q = [SELECT CreatedBy.Username, Account.Name, ReportsTo.Name FROM Contact];
        System.debug((q.CreatedById == UserInfo.getUserId()) + ' ' + (q.AccountId == a.Id) + ' ' + q.ReportsToId);
    """)
    assert lines == ["true true null"]
