"""Apex ``undelete`` and ``Database.undelete`` on the local org's Recycle Bin (issue 18), with
``after undelete`` triggers and ``ALL ROWS`` queries."""
from __future__ import annotations

from localcloud.salesforce.data import open_store
from localcloud.salesforce.apex.orgruntime import ApexRuntime

TRIGGER = """trigger AccountUndelete on Account (after undelete) {
    for (Account a : Trigger.new) {
        System.debug('undeleted ' + a.Name + ' ' + Trigger.isUndelete + ' ' + Trigger.isAfter + ' ' + (Trigger.old == null));
    }
}"""


def test_undelete_statement_and_database_undelete(tmp_path) -> None:
    store = open_store(tmp_path / "org.sqlite3")
    runtime = ApexRuntime(store, sources={"AccountUndelete.trigger": TRIGGER})
    result = runtime.execute_anonymous("""
        Account a = new Account(Name = 'Gone');
        insert a;
        Contact c = new Contact(LastName = 'Kid', AccountId = a.Id);
        insert c;
        delete a;
        System.debug([SELECT COUNT() FROM Account WHERE Id = :a.Id] + ' ' + [SELECT COUNT() FROM Account WHERE Id = :a.Id ALL ROWS]);
        undelete a;
        System.debug([SELECT Name FROM Account WHERE Id = :a.Id].Name + ' ' + ([SELECT AccountId FROM Contact].AccountId == a.Id));
        try { undelete a; } catch (DmlException e) { System.debug(e.getDmlType(0) + ' ' + e.getDmlMessage(0)); }
        delete c;
        List<Database.UndeleteResult> results = Database.undelete(new List<Id>{ c.Id }, false);
        System.debug(results[0].isSuccess() + ' ' + (results[0].getId() == c.Id));
        Database.UndeleteResult again = Database.undelete(c.Id, false);
        System.debug(again.isSuccess() + ' ' + again.getErrors()[0].getStatusCode());
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["0 1", "undeleted Gone true true true", "Gone true",
                     "UNDELETE_FAILED Entity is not in the recycle bin", "true true", "false UNDELETE_FAILED"]
    store.close()


def test_empty_recycle_bin_deletes_for_good(tmp_path) -> None:
    """Out of the bin for good (no undelete), though, as Salesforce documents, still queryable with
    ALL ROWS for some time (test_nebula_single_rows covers the removal after Store.emptied_queryable)."""
    store = open_store(tmp_path / "org.sqlite3")
    runtime = ApexRuntime(store)
    result = runtime.execute_anonymous("""
        Contact gone = new Contact(LastName = 'Gone');
        Contact live = new Contact(LastName = 'Live');
        insert new List<Contact>{ gone, live };
        delete gone;
        List<Database.EmptyRecycleBinResult> emptied = Database.emptyRecycleBin(new List<Contact>{ gone, live });
        System.debug(emptied[0].isSuccess() + ' ' + emptied[1].isSuccess() + ' ' + emptied[1].getErrors()[0].getMessage());
        System.debug([SELECT COUNT() FROM Contact WHERE Id = :gone.Id ALL ROWS]);
        System.debug(Database.undelete(gone, false).isSuccess());
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["true false Entity is not in the recycle bin", "1", "false"]
    store.close()
