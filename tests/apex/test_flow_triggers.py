"""Flows started by the clock and by events (issue 18): scheduled-trigger flows fired by the org's scheduler
(injected clock, each occurrence once, the org's time zone, the Automated Process user) and
platform-event-triggered flows in the event delivery (Apex tests and the org)."""
from __future__ import annotations

from datetime import datetime, timezone

from localcloud.salesforce.apex.dataport import register_org_source
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.apex.schedulelib import ApexScheduler
from localcloud.salesforce.data import CustomFieldSpec, CustomObjectSpec
from tests.apex.orgfixture import run_test_methods as run_tests
from tests.apex.test_flows import flow, go

UTC = timezone.utc


def schedule(frequency: str, day: str, at: str) -> str:
    return (f"<schedule><frequency>{frequency}</frequency><startDate>{day}</startDate>"
            f"<startTime>{at}</startTime></schedule><triggerType>Scheduled</triggerType>")


# each matching Account gets an "x" more in its Description at each run
DAILY = flow(
    "<formulas><name>More</name><dataType>String</dataType><expression>{!$Record.Description} &amp; 'x'"
    "</expression></formulas>"
    "<recordUpdates><name>Mark</name><label>x</label><inputAssignments><field>Description</field><value>"
    "<elementReference>More</elementReference></value></inputAssignments><inputReference>$Record</inputReference>"
    "</recordUpdates>",
    schedule("Daily", "2026-12-06", "09:00:00.000Z") + "<object>Account</object><filterLogic>and</filterLogic>"
    "<filters><field>Industry</field><operator>EqualTo</operator><value><stringValue>Tech</stringValue></value>"
    "</filters>" + go("Mark"))


def creating(name: str, start: str, status: str = "Active") -> bytes:
    return flow(
        "<recordCreates><name>Make</name><label>x</label><object>Account</object><inputAssignments><field>Name"
        f"</field><value><stringValue>{name}</stringValue></value></inputAssignments></recordCreates>",
        start + go("Make"), status=status)


def _rows(store, soql: str) -> list[dict]:
    with store.transaction() as tx:
        return tx.query(soql).records


def _automated_process(store) -> str:
    return _rows(store, "SELECT Id FROM User WHERE UserType = 'AutomatedProcess'")[0]["Id"]


def test_scheduled_flows_fire_each_occurrence_once_in_the_org_time_zone(store) -> None:
    flows = {"Daily_Mark": DAILY,
             "Once_Make": creating("once", schedule("Once", "2026-12-06", "10:00:00.000Z")),
             "Past_Once": creating("past", schedule("Once", "2026-12-01", "10:00:00.000Z"))}
    deployed = {"flows": flows}
    register_org_source(store, "flow_definitions", lambda: deployed["flows"])
    with store.transaction() as tx:
        tx.insert("Account", [{"Name": f"t{i}", "Industry": "Tech"} for i in range(3)]
                  + [{"Name": "r", "Industry": "Retail"}])
    rt = ApexRuntime(store, {})
    scheduler = ApexScheduler(rt)
    assert scheduler.tick(datetime(2026, 12, 5, 23, 59, tzinfo=UTC)) == [] and scheduler.flow_runs == []
    triggers = _rows(store, "SELECT CronJobDetail.Name, CronJobDetail.JobType, NextFireTime, State, TimeZoneSidKey "
                            "FROM CronTrigger ORDER BY CronJobDetail.Name")
    # 09:00 and 10:00 in the org's time zone (Asia/Tokyo); the Once flow whose time had passed is never scheduled
    assert [(t["CronJobDetail"]["Name"], t["CronJobDetail"]["JobType"], t["NextFireTime"], t["State"],
             t["TimeZoneSidKey"]) for t in triggers] == [
        ("Daily_Mark", "6", "2026-12-06T00:00:00.000+0000", "WAITING", "Asia/Tokyo"),
        ("Once_Make", "6", "2026-12-06T01:00:00.000+0000", "WAITING", "Asia/Tokyo")]
    scheduler.tick(datetime(2026, 12, 6, 0, 0, 5, tzinfo=UTC))
    assert [r.success for r in scheduler.flow_runs] == [True]
    marked = _rows(store, "SELECT Name, Description, LastModifiedById FROM Account ORDER BY Name")
    apu = _automated_process(store)
    assert [(a["Name"], a["Description"]) for a in marked] == [("r", None), ("t0", "x"), ("t1", "x"), ("t2", "x")]
    assert {a["LastModifiedById"] for a in marked if a["Name"] != "r"} == {apu}
    scheduler.tick(datetime(2026, 12, 6, 0, 0, 30, tzinfo=UTC))
    assert scheduler.flow_runs == []
    # a restarted org (new runtime and scheduler on the same store) does not run the occurrence again
    restarted = ApexScheduler(ApexRuntime(store, {}))
    restarted.tick(datetime(2026, 12, 6, 1, 30, tzinfo=UTC))
    assert [r.success for r in restarted.flow_runs] == [True]  # only the Once flow
    assert [a["Name"] for a in _rows(store, "SELECT Name FROM Account WHERE Name IN ('once', 'past')")] == ["once"]
    # two days later: the missed occurrence fires once
    restarted.tick(datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
    assert len(restarted.flow_runs) == 1
    assert {a["Description"] for a in _rows(store, "SELECT Description FROM Account WHERE Industry = 'Tech'")} \
        == {"xx"}
    states = {t["CronJobDetail"]["Name"]: t for t in _rows(
        store, "SELECT CronJobDetail.Name, State, NextFireTime, PreviousFireTime, TimesTriggered FROM CronTrigger")}
    assert states["Once_Make"]["State"] == "COMPLETE"
    assert (states["Daily_Mark"]["NextFireTime"], states["Daily_Mark"]["PreviousFireTime"],
            states["Daily_Mark"]["TimesTriggered"]) == ("2026-12-09T00:00:00.000+0000", "2026-12-07T00:00:00.000+0000",
                                                        2)
    # an aborted schedule stops the runs until the flow is deactivated and activated again
    daily = "SELECT Id, State, NextFireTime FROM CronTrigger WHERE CronJobDetail.Name = 'Daily_Mark'"
    aborted = restarted.runtime.program.execute_anonymous(f"System.abortJob('{_rows(store, daily)[0]['Id']}');")
    assert aborted.success, aborted.exception_message
    restarted.tick(datetime(2026, 12, 9, 1, 0, tzinfo=UTC))
    assert restarted.flow_runs == [] and [t["State"] for t in _rows(store, daily)] == ["DELETED"]
    deployed["flows"] = {**flows, "Daily_Mark": DAILY.replace(b"<status>Active</status>", b"<status>Obsolete</status>")}
    restarted.tick(datetime(2026, 12, 9, 2, 0, tzinfo=UTC))
    deployed["flows"] = dict(flows)
    restarted.tick(datetime(2026, 12, 9, 3, 0, tzinfo=UTC))
    assert [(t["State"], t["NextFireTime"]) for t in _rows(store, daily + " ORDER BY CreatedDate, Id")] == [
        ("DELETED", None), ("WAITING", "2026-12-10T00:00:00.000+0000")]


def test_a_scheduled_flow_runs_for_every_matching_record_in_batches(store) -> None:
    register_org_source(store, "flow_definitions", lambda: {"Daily_Mark": DAILY})
    with store.transaction() as tx:
        tx.insert("Account", [{"Name": f"t{i:03d}", "Industry": "Tech"} for i in range(201)])
    # the Apex trigger sees each batch's one bulkified update: 200 records, then 1
    counting = """trigger Counting on Account (after update) {
        insert new Contact(LastName = String.valueOf(Trigger.new.size()) + ' ' + UserInfo.getUserId());
    }"""
    scheduler = ApexScheduler(ApexRuntime(store, {"Counting.trigger": counting}))
    scheduler.tick(datetime(2026, 12, 5, 0, 0, tzinfo=UTC))
    scheduler.tick(datetime(2026, 12, 6, 0, 1, tzinfo=UTC))
    assert [r.success for r in scheduler.flow_runs] == [True]
    assert [a["expr0"] for a in _rows(store, "SELECT COUNT(Id) FROM Account WHERE Description = 'x'")] == [201]
    apu = _automated_process(store)
    assert sorted(c["LastName"] for c in _rows(store, "SELECT LastName FROM Contact")) == [f"1 {apu}", f"200 {apu}"]


INK_FLOW = creating("{!$Record.Text__c}", "<object>Ink__e</object><triggerType>PlatformEvent</triggerType>").replace(
    b"<stringValue>{!$Record.Text__c}</stringValue>", b"<elementReference>$Record.Text__c</elementReference>")


def _event(store) -> None:
    with store.transaction() as tx:
        tx.apply_custom_object(CustomObjectSpec("Ink__e", label="Ink", plural_label="Inks",
                                                fields=[CustomFieldSpec("Text__c", "Text", length=64)]))


def test_platform_event_triggered_flows_run_at_each_delivery_in_apex_tests(store) -> None:
    _event(store)
    register_org_source(store, "flow_definitions", lambda: {
        "On_Ink": INK_FLOW, "Off_Ink": creating("never", "<object>Ink__e</object><triggerType>PlatformEvent"
                                                         "</triggerType>", status="Draft")})
    results = run_tests(store, {"InkTest.cls": """@IsTest private class InkTest {
        @IsTest static void delivered() {
            EventBus.publish(new List<Ink__e>{ new Ink__e(Text__c = 'a'), new Ink__e(Text__c = 'b') });
            Assert.areEqual(0, [SELECT COUNT() FROM Account], 'not before delivery');
            Test.getEventBus().deliver();
            Assert.areEqual(new List<String>{ 'a', 'b' }, names());
            Test.startTest();
            EventBus.publish(new Ink__e(Text__c = 'c'));
            Test.stopTest();
            Assert.areEqual(new List<String>{ 'a', 'b', 'c' }, names());
        }
        static List<String> names() {
            List<String> out = new List<String>();
            for (Account a : [SELECT Name FROM Account ORDER BY Name]) { out.add(a.Name); }
            return out;
        } }"""})
    assert results == {"delivered": ("Pass", None)}


# creates an Account, then fails (a Contact without LastName): its work for the batch is rolled back
BAD_INK = flow(
    "<recordCreates><name>Make</name><label>x</label><object>Account</object><inputAssignments><field>Name"
    "</field><value><stringValue>bad</stringValue></value></inputAssignments>" + go("Fail") + "</recordCreates>"
    "<recordCreates><name>Fail</name><label>x</label><object>Contact</object><inputAssignments><field>FirstName"
    "</field><value><stringValue>no last name</stringValue></value></inputAssignments></recordCreates>",
    "<object>Ink__e</object><triggerType>PlatformEvent</triggerType>" + go("Make"))


def test_platform_event_triggered_flows_run_after_commit_in_the_org(store) -> None:
    _event(store)
    register_org_source(store, "flow_definitions", lambda: {"On_Ink": INK_FLOW, "Bad_Ink": BAD_INK})
    rt = ApexRuntime(store, {})
    failed = rt.program.execute_anonymous("EventBus.publish(new Ink__e(Text__c = 'x')); "
                                          "insert new Contact(LastName = 'c'); Integer i = 1 / 0;")
    assert not failed.success
    res = rt.program.execute_anonymous("EventBus.publish(new Ink__e(Text__c = 'org'));")
    assert res.success, res.exception_message
    assert [(a["Name"], a["CreatedById"]) for a in _rows(store, "SELECT Name, CreatedById FROM Account")] \
        == [("org", _automated_process(store))]
