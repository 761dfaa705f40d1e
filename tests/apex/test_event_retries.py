"""Event triggers as subscribers (issue 18): EventBus.RetryableException redelivers the batch (rolled
back, ``retries``/``lastError``), the error state after nine retries, resume checkpoints; in Apex tests
through Test.getEventBus().deliver(), in the org through the scheduler's tick."""
from __future__ import annotations

from datetime import datetime, timezone

from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.apex.schedulelib import ApexScheduler
from localcloud.salesforce.data import CustomFieldSpec, CustomObjectSpec
from tests.apex.orgfixture import run_test_methods as run_tests

RETRYING = """trigger InkTrigger on Ink__e (after insert) {
    EventBus.TriggerContext ctx = EventBus.TriggerContext.currentContext();
    insert new Account(Name = 'try ' + ctx.retries + ' ' + ctx.lastError);
    Log__c.put(ctx.retries);
    if (ctx.retries < Log__c.limitOf()) { throw new EventBus.RetryableException('not yet ' + ctx.retries); }
}"""
LOG = """public class Log__c { public static List<Integer> runs = new List<Integer>();
    public static Integer max = 2;
    public static void put(Integer r) { runs.add(r); }
    public static Integer limitOf() { return max; } }"""


def _event(store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec("Ink__e", label="Ink", plural_label="Inks",
                                                fields=[CustomFieldSpec("Text__c", "Text", length=64)]))


def _sources(trigger: str, test: str) -> dict[str, str]:
    return {"InkTrigger.trigger": trigger, "Log__c.cls": LOG.replace("Log__c", "RunLog"),
            "InkTest.cls": test}


def test_a_retried_batch_is_rolled_back_and_redelivered_at_each_deliver(store) -> None:
    _event(store)
    results = run_tests(store, _sources(RETRYING.replace("Log__c", "RunLog"), """@IsTest private class InkTest {
        @IsTest static void retried() {
            EventBus.publish(new Ink__e(Text__c = 'a'));
            Test.getEventBus().deliver();
            Assert.areEqual(0, [SELECT COUNT() FROM Account], 'the retried run is rolled back');
            Assert.areEqual(new List<Integer>{ 0 }, RunLog.runs);
            Test.getEventBus().deliver();
            Test.getEventBus().deliver();
            Assert.areEqual(new List<Integer>{ 0, 1, 2 }, RunLog.runs);
            Assert.areEqual(new List<String>{ 'try 2 not yet 1' }, names());
            Test.getEventBus().deliver();
            Assert.areEqual(3, RunLog.runs.size(), 'nothing left to deliver');
        }
        @IsTest static void errorState() {
            RunLog.max = 100;
            EventBus.publish(new Ink__e(Text__c = 'a'));
            for (Integer i = 0; i < 12; i++) { Test.getEventBus().deliver(); }
            Assert.areEqual(10, RunLog.runs.size(), 'the first run and nine retries');
            Assert.areEqual(9, RunLog.runs[9]);
            EventBus.publish(new Ink__e(Text__c = 'b'));
            Test.getEventBus().deliver();
            Assert.areEqual(10, RunLog.runs.size(), 'a trigger in the error state gets no events');
            Assert.areEqual(0, [SELECT COUNT() FROM Account]);
        }
        @IsTest static void laterEventsWait() {
            RunLog.max = 1;
            EventBus.publish(new Ink__e(Text__c = 'a'));
            Test.getEventBus().deliver();
            EventBus.publish(new Ink__e(Text__c = 'b'));
            Test.startTest();
            Test.stopTest();
            Assert.areEqual(new List<Integer>{ 0, 1 }, RunLog.runs, 'the retried batch and the new event: one run');
            Assert.areEqual(new List<String>{ 'try 1 not yet 0' }, names());
        }
        static List<String> names() {
            List<String> out = new List<String>();
            for (Account a : [SELECT Name FROM Account ORDER BY Name]) { out.add(a.Name); }
            return out;
        } }"""))
    assert results == {"retried": ("Pass", None), "errorState": ("Pass", None), "laterEventsWait": ("Pass", None)}


def test_a_resume_checkpoint_keeps_the_work_done_and_resumes_after_it(store) -> None:
    _event(store)
    trigger = """trigger InkTrigger on Ink__e (after insert) {
        EventBus.TriggerContext ctx = EventBus.TriggerContext.currentContext();
        RunLog.batches.add(Trigger.new.size());
        for (Ink__e e : Trigger.new) {
            if (e.Text__c == 'b' && !RunLog.failed) { RunLog.failed = true; Integer boom = 1 / 0; }
            insert new Account(Name = e.Text__c);
            ctx.setResumeCheckpoint(e.ReplayId);
            Assert.areEqual(e.ReplayId, ctx.getResumeCheckpoint());
        }
        try { ctx.setResumeCheckpoint('no such replay id'); } catch (EventBus.InvalidReplayIdException x) {
            RunLog.refused = true; }
    }"""
    log = """public class RunLog { public static List<Integer> batches = new List<Integer>();
        public static Boolean failed = false; public static Boolean refused = false; }"""
    results = run_tests(store, {"InkTrigger.trigger": trigger, "RunLog.cls": log, "InkTest.cls": """
        @IsTest private class InkTest { @IsTest static void resumes() {
            EventBus.publish(new List<Ink__e>{ new Ink__e(Text__c = 'a'), new Ink__e(Text__c = 'b'),
                                               new Ink__e(Text__c = 'c') });
            Test.getEventBus().deliver();
            Assert.areEqual(new List<Integer>{ 3 }, RunLog.batches);
            Assert.areEqual(1, [SELECT COUNT() FROM Account WHERE Name = 'a'], 'kept');
            Test.getEventBus().deliver();
            Assert.areEqual(new List<Integer>{ 3, 2 }, RunLog.batches, 'resumed after a');
            Assert.areEqual(3, [SELECT COUNT() FROM Account]);
            Assert.isTrue(RunLog.refused);
            Assert.isNull(EventBus.TriggerContext.currentContext());
        } }"""})
    assert results == {"resumes": ("Pass", None)}


def test_a_change_event_trigger_retries_in_a_test(store) -> None:
    results = run_tests(store, {
        "AccountChanges.trigger": """trigger AccountChanges on AccountChangeEvent (after insert) {
            EventBus.TriggerContext ctx = EventBus.TriggerContext.currentContext();
            if (ctx.retries == 0) { throw new EventBus.RetryableException('later'); }
            insert new Contact(LastName = 'seen after ' + ctx.retries + ' ' + ctx.lastError); }""",
        "CdcTest.cls": """@IsTest private class CdcTest { @IsTest static void retries() {
            Test.enableChangeDataCapture();
            insert new Account(Name = 'x');
            Test.getEventBus().deliver();
            Assert.areEqual(0, [SELECT COUNT() FROM Contact]);
            Test.getEventBus().deliver();
            Assert.areEqual('seen after 1 later', [SELECT LastName FROM Contact].LastName);
        } }"""})
    assert results == {"retries": ("Pass", None)}


def test_the_org_redelivers_a_retried_batch_at_the_schedulers_tick(store) -> None:
    _event(store)
    rt = ApexRuntime(store, {"InkTrigger.trigger": """trigger InkTrigger on Ink__e (after insert) {
        EventBus.TriggerContext ctx = EventBus.TriggerContext.currentContext();
        insert new Account(Name = 'attempt ' + ctx.retries);
        if (ctx.retries < 2) { throw new EventBus.RetryableException('wait ' + ctx.retries); } }"""})
    result = rt.execute_anonymous("EventBus.publish(new Ink__e(Text__c = 'a'));")
    assert result.success, result.exception_message

    def names() -> list[str]:
        with store.transaction() as tx:
            return [r["Name"] for r in tx.query("SELECT Name FROM Account").records]

    assert names() == []  # the first run retried: rolled back
    scheduler = ApexScheduler(rt)
    now = datetime(2026, 12, 5, 20, tzinfo=timezone.utc)
    scheduler.tick(now)
    assert (scheduler.redelivered, names()) == (1, [])
    scheduler.tick(now)
    assert (scheduler.redelivered, names()) == (1, ["attempt 2"])
    scheduler.tick(now)
    assert scheduler.redelivered == 0


def test_events_saved_outside_apex_reach_their_triggers_after_commit_and_retry_too(store) -> None:
    """REST ``POST /sobjects/Ink__e`` is a data-layer insert: the triggers run after it commits, in a
    transaction of their own (a rolled-back save publishes nothing)."""
    _event(store)
    rt = ApexRuntime(store, {"InkTrigger.trigger": """trigger InkTrigger on Ink__e (after insert) {
        EventBus.TriggerContext ctx = EventBus.TriggerContext.currentContext();
        if (ctx.retries == 0) { throw new EventBus.RetryableException('first'); }
        for (Ink__e e : Trigger.new) { insert new Account(Name = e.Text__c + ' ' + ctx.lastError); } }"""})
    try:
        with store.transaction() as tx:
            tx.insert("Ink__e", [{"Text__c": "rolled back"}])
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with store.transaction() as tx:
        [saved] = tx.insert("Ink__e", [{"Text__c": "rest"}])
    assert saved.success
    scheduler = ApexScheduler(rt)
    scheduler.tick(datetime(2026, 12, 5, 20, tzinfo=timezone.utc))
    assert scheduler.redelivered == 1
    with store.transaction() as tx:
        assert [r["Name"] for r in tx.query("SELECT Name FROM Account").records] == ["rest first"]


def test_events_published_from_apex_reach_their_triggers_as_the_automated_process_user(store) -> None:
    """Salesforce runs platform event triggers as the Automated Process user, whoever published the event."""
    _event(store)
    rt = ApexRuntime(store, {"InkTrigger.trigger": """trigger InkTrigger on Ink__e (after insert) {
        for (Ink__e e : Trigger.new) { insert new Account(Name = e.Text__c + ' ' + UserInfo.getUserId()); } }"""})
    res = rt.program.execute_anonymous("EventBus.publish(new Ink__e(Text__c = 'apex'));")
    assert res.success, res.exception_message
    with store.transaction() as tx:
        [runner] = tx.query("SELECT Id FROM User WHERE UserType = 'AutomatedProcess'").records
        [account] = tx.query("SELECT Name, CreatedById FROM Account").records
    assert runner["Id"] != store.user_id
    assert (account["Name"], account["CreatedById"]) == (f"apex {runner['Id']}", runner["Id"])
