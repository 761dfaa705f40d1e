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
            try {
                cached = [SELECT Id FROM Account WHERE Name = 'none'];
                Assert.fail('no row');
            } catch (QueryException e) {
                Assert.areEqual('List has no rows for assignment to SObject', e.getMessage());
            }
        } }"""})
    assert results == {"row": ("Pass", None)}


def test_creating_an_interview_of_a_missing_flow_throws_type_exception(store) -> None:
    """Salesforce: "If the flow doesn't exist in the current org, a TypeException is thrown" (NebulaLogger's
    LoggerSObjectHandler catches it to skip a plugin); a deployed flow still fails loudly (flows do not run)."""
    from localcloud.salesforce.apex.dataport import register_org_source
    register_org_source(store, "flows", lambda: ["Real_Flow"])
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
        "deployed": ("Fail", "System.UnexpectedException: Flow.Interview 'Real_Flow' (running flows) "
                             "is not supported by the local org"),
    }
