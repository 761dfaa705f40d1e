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


def test_soql_functions_in_inline_and_dynamic_queries(tmp_path: Path) -> None:
    """toLabel() keeps a query plain (the label under the field name or its alias, filters on labels), date
    functions make it an aggregate one (Integer/Date values, exprN names), FORMAT() answers text and
    convertCurrency() is refused in an org without multiple currencies, as System.QueryException."""
    from localcloud.salesforce.data import CustomFieldSpec as F, PicklistValue as P
    store = open_store(tmp_path / "org.sqlite3")
    try:
        with store.transaction() as tx:
            tx.apply_custom_field("Lead", F("Tier__c", "Picklist", picklist_values=[P("G", label="Gold"),
                                                                                    P("S", label="Silver")]))
        result = ApexRuntime(store, {}).execute_anonymous(r"""
            insert new List<Lead>{ new Lead(LastName = 'A', Company = 'X', Tier__c = 'G'),
                                   new Lead(LastName = 'B', Company = 'Y', Tier__c = 'S') };
            Lead a = [SELECT toLabel(Tier__c) FROM Lead WHERE LastName = 'A'];
            System.debug(a.Tier__c + ' ' + (a.Id != null));
            List<Lead> silver = Database.query('SELECT Tier__c, toLabel(Tier__c) tierLabel FROM Lead '
                                               + 'WHERE toLabel(Tier__c) = \'silver\'');
            System.debug(silver.size() + ' ' + silver[0].Tier__c + ' ' + silver[0].get('tierLabel'));
            AggregateResult byYear = [SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) n FROM Lead
                                      GROUP BY CALENDAR_YEAR(CreatedDate)];
            Object year = byYear.get('expr0');
            System.debug((year instanceof Integer) + ' ' + (year == Date.today().year()) + ' ' + byYear.get('n'));
            List<AggregateResult> days = Database.query('SELECT DAY_ONLY(convertTimezone(CreatedDate)) d FROM Lead '
                                                        + 'GROUP BY DAY_ONLY(convertTimezone(CreatedDate))');
            System.debug(days[0].get('d') instanceof Date);
            System.debug([SELECT Id FROM Lead WHERE CALENDAR_YEAR(CreatedDate) < 2000].size());
            Lead shown = [SELECT FORMAT(CreatedDate) created FROM Lead LIMIT 1];
            System.debug(shown.get('created') instanceof String);
            try {
                Database.query('SELECT convertCurrency(AnnualRevenue) FROM Lead');
            } catch (QueryException e) {
                System.debug('refused: ' + e.getMessage());
            }
        """)
        assert result.success, result.exception_message
        lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    finally:
        store.close()
    assert lines == ["Gold true", "1 S Silver", "true true 2", "true", "0", "true",
                     "refused: convertCurrency() can only be used in an organization with multiple currencies "
                     "enabled: convertCurrency(AnnualRevenue)"]


def test_search_query_reads_binds_from_the_caller_and_returns_ids_and_labels(tmp_path: Path) -> None:
    """NebulaLogger's RelatedLogEntriesController: Search.query('FIND ... RETURNING Lead(toLabel(Status) WHERE
    Company = :company)') binds the caller's variable, and the records carry their Id though not asked."""
    lines = _run(tmp_path, r"""
        insert new List<Lead>{ new Lead(LastName = 'Findable', Company = 'Acme', Status = 'Working - Contacted'),
                               new Lead(LastName = 'Findable', Company = 'Other') };
        String company = 'Acme';
        List<Lead> found = (List<Lead>) Search.query('FIND \'Findable\' IN ALL FIELDS RETURNING Lead('
                                                     + 'toLabel(Status), LastName WHERE Company = :company)').get(0);
        System.debug(found.size() + ' ' + found[0].Status + ' ' + (found[0].Id != null));
        List<List<SObject>> inline = [FIND 'Findable' RETURNING Lead(LastName WHERE Company = :company)];
        System.debug(inline[0][0].Id != null);
    """)
    assert lines == ["1 Working - Contacted true", "true"]


def test_a_misplaced_soql_function_in_inline_soql_is_a_compile_error(tmp_path: Path) -> None:
    import pytest

    from localcloud.salesforce.apex import ApexCompileError
    store = open_store(tmp_path / "org.sqlite3")
    try:
        with pytest.raises(ApexCompileError, match=r"C.cls:1:\d+: Invalid SOQL: Field must be grouped or aggregated: "
                                                   r"CALENDAR_YEAR\(CreatedDate\)"):
            ApexRuntime(store, {"C.cls": "public class C { static Object m() { "
                                         "return [SELECT CALENDAR_YEAR(CreatedDate) FROM Account]; } }"})
    finally:
        store.close()
