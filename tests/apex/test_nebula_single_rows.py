"""NebulaLogger semantics (issue 18): a SOQL query assigned to an SObject field takes its single row,
Flow.Interview of a missing flow, emptyRecycleBin and ALL ROWS, Messaging email capacity."""
from __future__ import annotations

from tests.apex.orgfixture import run_test_methods as run_tests


def test_a_query_assigned_to_an_sobject_field_is_a_single_row_assignment(store) -> None:
    """`cached = [SELECT ... LIMIT 1]` into a static or instance field of an SObject type stores the row
    (LoggerMockDataCreator.getOrganization); no row throws QueryException; a List field keeps the list."""
    results = run_tests(store, {"RowTest.cls": """@IsTest private class RowTest {
        static Account cached;
        Account mine;
        List<Account> all;
        static Iterable<Account> rows;
        @IsTest static void row() {
            insert new Account(Name = 'one');
            cached = [SELECT Id, Name FROM Account LIMIT 1];
            Assert.areEqual('one', cached.Name);
            RowTest.cached = ([SELECT Name FROM Account]);
            Assert.areEqual('one', RowTest.cached.Name);
            RowTest t = new RowTest();
            t.mine = [SELECT Name FROM Account];
            Assert.areEqual('one', t.mine.Name);
            t.all = [SELECT Name FROM Account];
            Assert.areEqual(1, t.all.size());
            rows = [SELECT Name FROM Account];
            Iterable<Account> local = [SELECT Name FROM Account];
            Assert.areEqual('one', rows.iterator().next().Name);
            Assert.isTrue(local.iterator().hasNext());
            try {
                cached = [SELECT Id FROM Account WHERE Name = 'none'];
                Assert.fail('no row');
            } catch (QueryException e) {
                Assert.areEqual('List has no rows for assignment to SObject', e.getMessage());
            }
        } }"""})
    assert results == {"row": ("Pass", None)}


def test_a_dynamic_query_assigned_to_an_sobject_is_a_single_row_assignment(store) -> None:
    """`Account a = Database.query(q)` (a declaration or an assignment to a field) takes the single row as an
    inline query does; a List target keeps the list; no row throws QueryException."""
    results = run_tests(store, {"DynRowTest.cls": r"""@IsTest private class DynRowTest {
        static Account cached;
        @IsTest static void row() {
            insert new Account(Name = 'X');
            Account a = Database.query('SELECT Id, Name FROM Account LIMIT 1');
            Assert.areEqual('X', a.Name);
            cached = Database.queryWithBinds('SELECT Name FROM Account WHERE Name = :n',
                                             new Map<String, Object>{'n' => 'X'}, AccessLevel.SYSTEM_MODE);
            Assert.areEqual('X', cached.Name);
            List<Account> all = Database.query('SELECT Name FROM Account');
            Assert.areEqual(1, all.size());
            try {
                Account none = Database.query('SELECT Id FROM Account WHERE Name = \'none\'');
                Assert.fail('no row');
            } catch (QueryException e) {
                Assert.areEqual('List has no rows for assignment to SObject', e.getMessage());
            }
        } }"""})
    assert results == {"row": ("Pass", None)}


def test_creating_an_interview_of_a_missing_flow_throws_type_exception(store) -> None:
    """Salesforce: "If the flow doesn't exist in the current org, a TypeException is thrown" (NebulaLogger's
    LoggerSObjectHandler catches it to skip a plugin); a deployed flow the engine does not run (a screen flow)
    fails loudly naming the construct."""
    from localcloud.salesforce.apex.dataport import register_org_source
    screen = (b'<Flow xmlns="http://soap.sforce.com/2006/04/metadata"><processType>Flow</processType>'
              b'<status>Active</status></Flow>')
    register_org_source(store, "flow_definitions", lambda: {"Real_Flow": screen})
    results = run_tests(store, {"FlowTest.cls": """@IsTest private class FlowTest {
        @IsTest static void missing() {
            try {
                Flow.Interview.createInterview('Some_Fake_Flow', new Map<String, Object>());
                Assert.fail('no such flow');
            } catch (TypeException e) {
                Assert.areEqual('Invalid type: Some_Fake_Flow', e.getMessage());
            }
            try {
                Flow.Interview.createInterview('ns', 'Fake', new Map<String, Object>());
                Assert.fail('no such flow');
            } catch (TypeException e) {
                Assert.areEqual('Invalid type: ns__Fake', e.getMessage());
            }
        }
        @IsTest static void deployed() {
            Flow.Interview.createInterview('Real_Flow', new Map<String, Object>()).start();
        } }"""})
    assert results == {
        "missing": ("Pass", None),
        "deployed": ("Fail", "System.UnexpectedException: ScreenFlow (processType Flow) in Flow Real_Flow "
                             "is not supported by the local org"),
    }


def test_records_emptied_from_the_recycle_bin_stay_queryable_with_all_rows_for_a_while(store) -> None:
    """Salesforce: after emptyRecycleBin "they can be queried using queryAll() for some time. Typically
    this time is 24 hours" (NebulaLogger's LoggerDataStore_Tests query them with ALL ROWS); they cannot be
    undeleted or emptied again, and they are gone once Store.emptied_queryable has passed."""
    from datetime import datetime, timedelta, timezone
    sources = {"BinTest.cls": """@IsTest private class BinTest {
        @IsTest static void emptied() {
            Account parent = new Account(Name = 'p');
            insert parent;
            Contact kid = new Contact(LastName = 'k', AccountId = parent.Id);
            insert kid;
            delete parent;
            Assert.isTrue(Database.emptyRecycleBin(parent).isSuccess());
            Account still = [SELECT Id, IsDeleted FROM Account WHERE Id = :parent.Id ALL ROWS];
            Assert.isTrue(still.IsDeleted);
            Assert.areEqual(0, [SELECT COUNT() FROM Account WHERE Id = :parent.Id]);
            Database.UndeleteResult u = Database.undelete(parent, false);
            Assert.isFalse(u.isSuccess());
            Assert.areEqual('Entity is not in the recycle bin', u.getErrors()[0].getMessage());
            Assert.isFalse(Database.emptyRecycleBin(parent).isSuccess());
        } }"""}

    assert run_tests(store, sources) == {"emptied": ("Pass", None)}

    from localcloud.salesforce.apex.orgruntime import ApexRuntime
    clock = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    store.set_clock(lambda: clock[0])
    runtime = ApexRuntime(store)
    script = """Account a = new Account(Name = '{0}');
        insert a;
        delete a;
        Database.emptyRecycleBin(a);
        System.debug([SELECT COUNT() FROM Account WHERE Name IN ('old', 'new') ALL ROWS]);"""
    counts = []
    for name, later in (("old", timedelta(hours=23)), ("new", timedelta(hours=2))):
        result = runtime.execute_anonymous(script.format(name))
        assert result.success, result.exception_message
        counts += [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
        clock[0] += later
    assert counts == ["1", "2"]
    result = runtime.execute_anonymous("Account a = new Account(Name = 'x'); insert a; delete a; "
                                       "Database.emptyRecycleBin(a);"
                                       "System.debug([SELECT Name FROM Account WHERE Name IN ('old', 'new') ALL ROWS]);")
    assert result.success, result.exception_message
    [debug] = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert "new" in debug and "old" not in debug


def test_reserving_email_capacity_past_the_daily_limit_throws_handled_exception(store) -> None:
    """Reservations add up in a transaction; one that would exceed the org's daily limit throws
    HandledException (NebulaLogger's LoggerEmailSender then reports deliverability unavailable)."""
    results = run_tests(store, {"MailTest.cls": """@IsTest private class MailTest {
        @IsTest static void reserve() {
            System.OrgLimit single = OrgLimits.getMap().get('SingleEmail');
            Messaging.reserveSingleEmailCapacity(1);
            Messaging.reserveSingleEmailCapacity(single.getLimit() - single.getValue() - 1);
            try {
                Messaging.reserveSingleEmailCapacity(1);
                Assert.fail('over the limit');
            } catch (HandledException e) {
                Assert.areEqual('The daily limit for the org would be exceeded by this request', e.getMessage());
            }
        }
        @IsTest static void small() {
            Messaging.reserveSingleEmailCapacity(1);
            Messaging.reserveSingleEmailCapacity(1);
            Messaging.reserveMassEmailCapacity(1);
        }
        @IsTest static void mass() {
            Messaging.reserveMassEmailCapacity(1000);
        } }"""})
    assert results == {"reserve": ("Pass", None), "small": ("Pass", None),
                       "mass": ("Fail", "System.HandledException: The daily limit for the org would be exceeded "
                                        "by this request")}
