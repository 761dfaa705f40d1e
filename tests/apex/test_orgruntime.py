"""The org-facing runtime: Apex REST dispatch and errors, the Apex test runner (outcomes, stack
traces, coverage, isolation, startTest/stopTest, HttpCalloutMock), syntax errors with positions,
query-row limits."""

from __future__ import annotations

import json

import pytest

from localcloud.salesforce.apex import ApexCompileError, ApexProgram
from localcloud.salesforce.apex.orgruntime import ApexRuntime

from .orgfixture import make_store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = make_store(tmp_path_factory.mktemp("orgrt"))
    yield s
    s.close()


RESOURCE = """
@RestResource(urlMapping='/things/*')
global with sharing class ThingsResource {
    @HttpGet
    global static Map<String, Object> show() {
        RestRequest req = RestContext.request;
        String key = req.requestURI.substringAfterLast('/');
        return new Map<String, Object>{'key' => key, 'q' => req.params.get('q'), 'method' => req.httpMethod};
    }
    @HttpPost
    global static String create(String name, Integer size) {
        RestContext.response.statusCode = 201;
        insert new Contact(LastName = name);
        return name + ':' + size;
    }
    @HttpDelete
    global static void remove() {
        insert new Contact(LastName = 'before-failure');
        Integer x = 1 / 0;
    }
    @HttpPatch
    global static void raw() {
        RestContext.response.responseBody = Blob.valueOf('{"raw":true}');
        RestContext.response.addHeader('X-Done', 'yes');
    }
}
"""


def test_rest_get_with_params_and_uri(store) -> None:
    rt = ApexRuntime(store, {"ThingsResource.cls": RESOURCE})
    res = rt.rest("GET", "/things/abc", params={"q": "1"})
    assert res.status == 200
    assert json.loads(res.body) == {"key": "abc", "q": "1", "method": "GET"}


def test_rest_post_binds_json_body_to_parameters_and_commits(store) -> None:
    rt = ApexRuntime(store, {"ThingsResource.cls": RESOURCE})
    res = rt.rest("POST", "/things", json.dumps({"name": "Kato", "size": 3}).encode())
    assert res.status == 201
    assert json.loads(res.body) == "Kato:3"
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'Kato'").total_size == 1


def test_rest_unhandled_exception_is_500_apex_error_and_rolls_back(store) -> None:
    rt = ApexRuntime(store, {"ThingsResource.cls": RESOURCE})
    res = rt.rest("DELETE", "/things/1")
    assert res.status == 500
    err = json.loads(res.body)[0]
    assert err["errorCode"] == "APEX_ERROR"
    assert err["message"].startswith("System.MathException: Divide by 0")
    assert "Class.ThingsResource.remove: line 19, column 1" in err["message"]
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'before-failure'").total_size == 0


def test_rest_response_body_and_headers_set_by_apex(store) -> None:
    rt = ApexRuntime(store, {"ThingsResource.cls": RESOURCE})
    res = rt.rest("PATCH", "/things/1")
    assert res.status == 200 and res.body == b'{"raw":true}' and res.headers["X-Done"] == "yes"


def test_rest_method_without_handler_is_405(store) -> None:
    rt = ApexRuntime(store, {"ThingsResource.cls": RESOURCE})
    assert rt.rest("PUT", "/things/1").status == 405


TESTS = """
@IsTest
private class SampleTest {
    @TestSetup
    static void makeData() {
        insert new Contact(LastName = 'Setup');
    }
    @IsTest
    static void seesSetupDataOnly() {
        System.assertEquals(1, [SELECT COUNT() FROM Contact WHERE LastName IN ('Setup', 'Leak')]);
        insert new Contact(LastName = 'Leak');
    }
    @IsTest
    static void doesNotSeeOtherMethodsData() {
        Assert.areEqual(0, [SELECT COUNT() FROM Contact WHERE LastName = 'Leak'], 'isolation');
    }
    @IsTest
    static void failsWithMessage() {
        Integer expected = 2;
        Assert.areEqual(expected, Helper.add(1, 2), 'one plus two');
    }
    @IsTest
    static void startStopGivesFreshLimits() {
        for (Integer i = 0; i < 90; i++) { List<Contact> c = [SELECT Id FROM Contact LIMIT 1]; }
        Test.startTest();
        for (Integer i = 0; i < 90; i++) { List<Contact> c = [SELECT Id FROM Contact LIMIT 1]; }
        System.assertEquals(90, Limits.getQueries());
        Test.stopTest();
        System.assert(Test.isRunningTest());
    }
    @IsTest
    static void calloutUsesMock() {
        Test.setMock(HttpCalloutMock.class, new Mock());
        HttpRequest req = new HttpRequest();
        req.setEndpoint('https://api.example.com');
        req.setMethod('GET');
        HttpResponse res = new Http().send(req);
        System.assertEquals(200, res.getStatusCode());
        System.assertEquals('{"ok":true}', res.getBody());
    }
    @IsTest
    static void queueableRunsAtStopTest() {
        Test.startTest();
        System.enqueueJob(new Job());
        System.assertEquals(0, [SELECT COUNT() FROM Contact WHERE LastName = 'FromJob']);
        Test.stopTest();
        System.assertEquals(1, [SELECT COUNT() FROM Contact WHERE LastName = 'FromJob']);
    }
    private class Mock implements HttpCalloutMock {
        public HttpResponse respond(HttpRequest req) {
            HttpResponse r = new HttpResponse();
            r.setStatusCode(200);
            r.setBody('{"ok":true}');
            return r;
        }
    }
    public class Job implements Queueable {
        public void execute(QueueableContext ctx) { insert new Contact(LastName = 'FromJob'); }
    }
}
"""

HELPER = """public class Helper {
    public static Integer add(Integer a, Integer b) {
        Integer r = a + b;
        return r;
    }
    public static Integer unused() {
        return 0;
    }
}
"""


def test_test_runner_outcomes_isolation_limits_mocks_and_coverage(store) -> None:
    rt = ApexRuntime(store, {"SampleTest.cls": TESTS, "Helper.cls": HELPER})
    results = {r.method_name: r for r in rt.run_tests(["SampleTest"])}
    assert set(results) == {"seesSetupDataOnly", "doesNotSeeOtherMethodsData", "failsWithMessage",
                            "startStopGivesFreshLimits", "calloutUsesMock", "queueableRunsAtStopTest"}
    for name, r in results.items():
        if name != "failsWithMessage":
            assert r.outcome == "Pass", (name, r.message, r.stack_trace)
    failed = results["failsWithMessage"]
    assert failed.outcome == "Fail"
    assert failed.message == "System.AssertException: Assertion Failed: one plus two. Expected: 2, Actual: 3"
    assert failed.stack_trace == "Class.SampleTest.failsWithMessage: line 20, column 1"
    cov = {c.name: c for c in rt.coverage_report()}
    assert cov["Helper"].covered == [3, 4]
    assert cov["Helper"].uncovered == [7]
    assert "SampleTest" not in cov
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName IN ('Setup', 'Leak', 'FromJob')").total_size == 0


def test_syntax_error_reports_file_line_and_column() -> None:
    with pytest.raises(ApexCompileError) as e:
        ApexProgram({"Broken.cls": "public class Broken {\n    public void f() {\n        Integer x = ;\n    }\n}\n"})
    assert (e.value.file, e.value.line) == ("Broken.cls", 3)
    assert e.value.column >= 9


def test_unsupported_construct_fails_at_load_with_position() -> None:
    with pytest.raises(ApexCompileError) as e:
        ApexProgram({"S.cls": "public class S {\n  public static void f(Account a, Account b) {\n"
                              "    merge a b;\n  }\n}\n"})
    assert (e.value.file, e.value.line) == ("S.cls", 3)
    assert "merge" in e.value.message


def test_query_rows_limit_raises_limit_exception(store) -> None:
    prog = ApexProgram(data=store)
    tx = prog.new_transaction()
    tx.limits.max_query_rows = 3
    res = prog.execute_anonymous("""
        insert new List<Contact>{ new Contact(LastName = 'r1'), new Contact(LastName = 'r2'),
                                  new Contact(LastName = 'r3'), new Contact(LastName = 'r4') };
        try { List<Contact> cs = [SELECT Id FROM Contact WHERE LastName LIKE 'r_']; }
        catch (Exception e) { System.debug('caught'); }
    """, tx=tx, commit=False)
    assert not res.success
    assert (res.exception_type, res.exception_message) == ("System.LimitException", "Too many query rows: 4")
    assert res.debug_log == []


def test_compile_check_does_not_activate(store) -> None:
    rt = ApexRuntime(store, {"Helper.cls": HELPER})
    problems = rt.check({"Bad.cls": "public class Bad { void f() { Integer x = 'a' +; } }"})
    assert problems and problems[0].file == "Bad.cls"
    assert "bad" not in {c.lower() for c in rt.program.class_names()}


COUNTER = """public class TriggerCounter {
    public static Integer runs = 0;
}
"""
COUNT_TRIGGER = """trigger CountRuns on Contact (before insert) {
    TriggerCounter.runs++;
    List<Contact> probe = [SELECT Id FROM Contact LIMIT 1];
    for (Contact c : Trigger.new) {
        c.Description = 'run ' + TriggerCounter.runs + ' queries ' + Limits.getQueries();
    }
}
"""


def test_triggers_from_outside_apex_share_statics_and_limits_per_data_transaction(store) -> None:
    ApexRuntime(store, {"TriggerCounter.cls": COUNTER, "CountRuns.trigger": COUNT_TRIGGER})
    dtx = store.transaction()
    try:
        rows = [{"LastName": f"chunk{i}"} for i in range(201)]
        assert all(r.success for r in dtx.insert("Contact", rows))
        assert all(r.success for r in dtx.insert("Contact", [{"LastName": "second-call"}]))
        got = {r["LastName"]: r["Description"] for r in dtx.query(
            "SELECT LastName, Description FROM Contact WHERE LastName IN ('chunk0', 'chunk200', 'second-call')").records}
    finally:
        dtx.rollback()
    assert got == {"chunk0": "run 1 queries 1", "chunk200": "run 2 queries 2", "second-call": "run 3 queries 3"}
    dtx2 = store.transaction()
    try:
        dtx2.insert("Contact", [{"LastName": "fresh"}])
        fresh = dtx2.query("SELECT Description FROM Contact WHERE LastName = 'fresh'").records[0]["Description"]
    finally:
        dtx2.rollback()
    assert fresh == "run 1 queries 1"


def test_trigger_exception_from_outside_apex_fails_the_records(store) -> None:
    bad = "trigger Bad on Contact (before insert) { Integer z = 0; Integer x = 1 / z; }"
    ApexRuntime(store, {"Bad.trigger": bad})
    dtx = store.transaction()
    try:
        res = dtx.insert("Contact", [{"LastName": "x"}], all_or_none=False)
    finally:
        dtx.rollback()
    assert not res[0].success
    err = res[0].errors[0]
    assert err.status_code == "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY"
    assert "System.MathException: Divide by 0" in err.message
    ApexRuntime(store, {})


ISOLATION_TEST = """
@IsTest
private class IsolationTest {
    @IsTest
    static void seesNoOrgDataButSetupObjects() {
        System.assertEquals(0, [SELECT COUNT() FROM Contact WHERE LastName = 'OrgData'], 'org data hidden');
        System.assertEquals(1, [SELECT COUNT() FROM PermissionSet WHERE Name = 'ECBridge_Integration'], 'setup visible');
        System.assertEquals(1, [SELECT COUNT() FROM User WHERE Id = :UserInfo.getUserId()], 'running user visible');
    }
}
"""


def test_apex_tests_see_only_their_own_data_and_org_stays_usable(tmp_path) -> None:
    store = make_store(tmp_path)
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "OrgData"}])
    rt = ApexRuntime(store, {"IsolationTest.cls": ISOLATION_TEST, "ThingsResource.cls": RESOURCE})
    results = rt.run_tests()
    assert [(r.method_name, r.outcome, r.message) for r in results] == [("seesNoOrgDataButSetupObjects", "Pass", None)]
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'OrgData'").total_size == 1
    assert rt.rest("GET", "/things/k").status == 200
    store.close()


def test_run_tests_for_deploy_reports_successes_and_failures(tmp_path) -> None:
    from types import SimpleNamespace

    import localcloud.salesforce.apex as apex

    store = make_store(tmp_path)
    ApexRuntime(store, {})
    sources = [SimpleNamespace(kind="ApexClass", name="SampleTest", body=TESTS),
               SimpleNamespace(kind="ApexClass", name="Helper", body=HELPER)]
    out = apex.run_tests_for_deploy("RunSpecifiedTests", ["SampleTest"], sources, store=store)
    assert out.num_tests_run == 6
    assert [f["methodName"] for f in out.failures] == ["failsWithMessage"]
    assert out.failures[0]["stackTrace"] == "Class.SampleTest.failsWithMessage: line 20, column 1"
    assert len(out.successes) == 5
    assert apex.run_tests_for_deploy("NoTestRun", [], sources, store=store).num_tests_run == 0
    without_org = apex.run_tests_for_deploy("RunLocalTests", [], sources)
    assert without_org.num_tests_run == 0 and "named no org store" in without_org.failures[0]["message"]
    store.close()


ASYNC_RESOURCE = """
@RestResource(urlMapping='/async')
global class AsyncResource {
    public class Job implements Queueable {
        String name;
        public Job(String n) { name = n; }
        public void execute(QueueableContext ctx) { insert new Contact(LastName = name); }
    }
    @future
    public static void later(String name) { insert new Contact(LastName = name); }
    @HttpPost
    global static String post() {
        System.enqueueJob(new Job('from-queueable'));
        later('from-future');
        return String.valueOf([SELECT COUNT() FROM Contact WHERE LastName LIKE 'from-%']);
    }
}
"""


def test_queueable_and_future_run_after_the_request_commits(tmp_path) -> None:
    store = make_store(tmp_path)
    rt = ApexRuntime(store, {"AsyncResource.cls": ASYNC_RESOURCE})
    res = rt.rest("POST", "/async", b"")
    assert res.status == 200
    assert json.loads(res.body) == "0"  # nothing ran inside the request
    with store.transaction() as tx:
        names = sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact WHERE LastName LIKE 'from-%'").records)
    assert names == ["from-future", "from-queueable"]
    store.close()


COVER_A = """@IsTest
private class CoverA {
    @IsTest static void a() { System.assertEquals(3, Helper.add(1, 2)); }
}
"""
COVER_B = """@IsTest
private class CoverB {
    @IsTest static void b() { System.assertEquals(0, Helper.unused()); }
}
"""


def test_coverage_accumulates_over_runs_of_single_classes(store) -> None:
    rt = ApexRuntime(store, {"Helper.cls": HELPER, "CoverA.cls": COVER_A, "CoverB.cls": COVER_B})
    assert [r.outcome for r in rt.run_tests(["CoverA"])] == ["Pass"]
    assert {c.name: c.covered for c in rt.coverage_report()}["Helper"] == [3, 4]
    assert [r.outcome for r in rt.run_tests(["CoverB"])] == ["Pass"]
    helper = {c.name: c for c in rt.coverage_report()}["Helper"]
    assert (helper.covered, helper.uncovered) == ([3, 4, 7], [])
    rt.reset_coverage()
    assert {c.name: c.covered for c in rt.coverage_report()}.get("Helper", []) == []


SEE_ALL = """@IsTest(SeeAllData=true)
private class SeeAllTest {
    @IsTest static void seesOrgData() {
        System.assertEquals(1, [SELECT COUNT() FROM Contact WHERE LastName = 'OrgData2'], 'SeeAllData sees the org');
        insert new Contact(LastName = 'LeakFromSeeAll');
    }
}
"""


def test_see_all_data_classes_see_the_org_and_still_leave_nothing(tmp_path) -> None:
    store = make_store(tmp_path)
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "OrgData2"}])
    rt = ApexRuntime(store, {"SeeAllTest.cls": SEE_ALL, "IsolationTest.cls": ISOLATION_TEST.replace("'OrgData'", "'OrgData2'")})
    results = {r.class_name: r for r in rt.run_tests()}
    assert results["SeeAllTest"].outcome == "Pass", results["SeeAllTest"].message
    assert results["IsolationTest"].outcome == "Pass", results["IsolationTest"].message
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'LeakFromSeeAll'").total_size == 0
    store.close()


def test_compile_problems_reports_every_failing_component() -> None:
    from localcloud.salesforce.apex import compile_problems

    sources = {
        "Good.cls": "public class Good { public static Integer one() { return 1; } }",
        "BadA.cls": "public class BadA {\n  public static void f() { Integer x = missingVar; }\n}",
        "BadB.cls": "public class BadB {\n\n  public static void g() { Good.nope(); }\n}",
        "UsesA.cls": "public class UsesA { public static void h() { BadA.f(); } }",
    }
    problems = compile_problems(sources)
    by_file = {p.file: p for p in problems}
    assert set(by_file) == {"BadA.cls", "BadB.cls", "UsesA.cls"}
    assert (by_file["BadA.cls"].line, by_file["BadB.cls"].line) == (2, 3)
    assert "missingVar" in by_file["BadA.cls"].message
    assert by_file["UsesA.cls"].message.startswith("Dependent class is invalid")
    assert compile_problems({"Good.cls": sources["Good.cls"]}) == []


def test_runaway_loops_and_recursion_end_with_cpu_limit_exception() -> None:
    prog = ApexProgram({"Spin.cls": """public class Spin {
        public static Integer fib(Integer n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
    }"""})
    for source in ("Integer i = 0; while (true) { i++; }",
                   "try { for (Integer i = 0; ; i++) { } } catch (Exception e) { System.debug('caught'); }",
                   "List<Integer> l = new List<Integer>{1}; do { } while (l.size() > 0);",
                   "System.debug(Spin.fib(40));"):
        tx = prog.new_transaction()
        tx.limits.max_cpu_ms = 150
        res = prog.execute_anonymous(source, tx=tx)
        assert (res.exception_type, res.exception_message) == ("System.LimitException",
                                                               "Apex CPU time limit exceeded"), source
        assert res.debug_log == []


TRIGGER_ENQUEUES = {
    "Audit.cls": """
public class Audit implements Queueable {
    String name;
    public Audit(String n) { name = n; }
    public void execute(QueueableContext ctx) {
        if (name == 'Poison') {
            throw new IllegalArgumentException('the job fails on its own');
        }
        Integer seen = [SELECT COUNT() FROM Contact WHERE LastName = :name];
        insert new Contact(LastName = 'audit-' + name + '-saw-' + seen);
    }
}
""",
    "ContactAudit.trigger": """
trigger ContactAudit on Contact (after insert) {
    for (Contact c : Trigger.new) {
        if (!c.LastName.startsWith('audit-')) {
            System.enqueueJob(new Audit(c.LastName));
        }
    }
}
""",
}


def _audit_rows(store) -> list[str]:
    with store.transaction() as tx:
        return sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact WHERE LastName LIKE 'audit-%'").records)


def test_a_job_enqueued_by_a_trigger_of_data_api_dml_runs_after_the_commit_and_not_after_a_rollback(tmp_path) -> None:
    store = make_store(tmp_path)
    ApexRuntime(store, TRIGGER_ENQUEUES)
    with store.transaction() as tx:
        tx.insert("Contact", [{"LastName": "Kept"}])
        assert _audit_rows(store) == [], "the job must not run inside the enqueuing transaction"
    assert _audit_rows(store) == ["audit-Kept-saw-1"], "after the commit the job runs and sees the committed row"

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with store.transaction() as tx:
            tx.insert("Contact", [{"LastName": "RolledBack"}])
            raise Boom()
    assert _audit_rows(store) == ["audit-Kept-saw-1"], "a rolled-back transaction's jobs never run"

    with store.transaction() as tx:
        saved = tx.insert("Contact", [{"LastName": "Poison"}])
    assert saved[0].success, "a job that fails later cannot fail the DML that enqueued it"
    with store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'Poison'").total_size == 1
    store.close()
