"""Scheduled Apex (issue 18): Salesforce's cron syntax, CronTrigger/CronJobDetail rows, the limits, the
org's clock-driven scheduler driven by an injected clock (``ApexScheduler.tick(now)``), abortJob and
scheduleBatch; in tests ``Test.stopTest`` runs the job once, as in Salesforce."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from localcloud.salesforce.apex import cron
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.apex.schedulelib import ApexScheduler, SchedulerLoop
from tests.apex.orgfixture import run_test_methods as run_tests

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 5, 20, 0, tzinfo=timezone.utc)  # Sunday 6 December, 05:00 in Tokyo


@pytest.mark.parametrize("expression, expected", [
    ("0 0 12 * * ?", datetime(2026, 12, 6, 12, 0, tzinfo=TOKYO)),
    ("0 30 2 ? * MON-FRI", datetime(2026, 12, 7, 2, 30, tzinfo=TOKYO)),
    ("0 0 0 L * ?", datetime(2026, 12, 31, 0, 0, tzinfo=TOKYO)),
    ("0 0 9 LW * ?", datetime(2026, 12, 31, 9, 0, tzinfo=TOKYO)),
    ("0 0 9 ? * 6L", datetime(2026, 12, 25, 9, 0, tzinfo=TOKYO)),  # the last Friday
    ("0 0 9 ? * 2#3", datetime(2026, 12, 21, 9, 0, tzinfo=TOKYO)),  # the third Monday
    ("0 0 9 12W * ?", datetime(2026, 12, 11, 9, 0, tzinfo=TOKYO)),  # the 12th is a Saturday: Friday
    ("0 0 9 13W * ?", datetime(2026, 12, 14, 9, 0, tzinfo=TOKYO)),  # the 13th is a Sunday: Monday
    ("0 0 */6 * * ?", datetime(2026, 12, 6, 6, 0, tzinfo=TOKYO)),
    ("0 0 22-2 * * ?", datetime(2026, 12, 6, 22, 0, tzinfo=TOKYO)),
    ("15 10 3,4 1/10 FEB-MAR ?", datetime(2027, 2, 1, 3, 10, 15, tzinfo=TOKYO)),
    ("0 0 1 1 JAN ? 2030", datetime(2030, 1, 1, 1, 0, tzinfo=TOKYO)),
])
def test_next_fire_time_follows_salesforce_cron_syntax_in_the_users_time_zone(expression, expected) -> None:
    assert cron.parse(expression).next_fire(NOW, TOKYO) == expected


def test_a_fire_time_daylight_saving_skips_moves_an_hour_later() -> None:
    la = ZoneInfo("America/Los_Angeles")
    after = datetime(2027, 3, 13, 12, 0, tzinfo=la)  # 14 March 2027: 02:00-03:00 does not exist
    fire = cron.parse("0 30 2 * * ?").next_fire(after, la)
    assert fire == datetime(2027, 3, 14, 10, 30, tzinfo=timezone.utc)  # 03:30 PDT
    assert cron.parse("0 30 2 * * ?").next_fire(fire, la) == datetime(2027, 3, 15, 2, 30, tzinfo=la)


@pytest.mark.parametrize("expression, message", [
    ("0 */5 * * * ?", "Seconds and minutes must be specified as integers: 0 */5 * * * ?"),
    ("0 0 1 * * *", "Support for specifying both a day-of-week AND a day-of-month parameter is not implemented."),
    ("0 0 25 * * ?", "Hour values must be between 0 and 23"),
    ("0 0 1 * FOO ?", "Invalid Month value: 'FOO'"),
    ("0 0 1", "Unexpected end of expression."),
    ("0 0 1 ? * 9", "Day-of-Week values must be between 1 and 7"),
    ("0 0 ? * * 1", "'?' can only be specified for Day-of-Month or Day-of-Week."),
])
def test_bad_cron_expressions_are_refused_with_the_parsers_message(expression, message) -> None:
    with pytest.raises(cron.CronError) as error:
        cron.parse(expression)
    assert str(error.value) == message


JOB = """public class Job implements Schedulable { public Integer runs = 0; public String label;
    public Job(String label) { this.label = label; }
    public void execute(SchedulableContext ctx) { runs++;
        if (label == 'boom') { throw new IllegalArgumentException('no ' + label); }
        if (label == 'once') { System.abortJob(ctx.getTriggerId()); }
        insert new Account(Name = label + ' ' + runs + ' ' + ctx.getTriggerId()); } }"""


def test_in_a_test_schedule_writes_the_rows_and_stop_test_runs_the_job_once(store) -> None:
    results = run_tests(store, {"Job.cls": JOB, "JobTest.cls": """@IsTest private class JobTest {
        @IsTest static void rows() {
            Test.startTest();
            Id jobId = System.schedule('nightly', '0 0 1 * * ?', new Job('t'));
            CronTrigger ct = [SELECT Id, CronExpression, TimesTriggered, NextFireTime, State, CronJobDetail.Name,
                              CronJobDetail.JobType FROM CronTrigger WHERE Id = :jobId];
            Assert.areEqual('0 0 1 * * ?', ct.CronExpression);
            Assert.areEqual(0, ct.TimesTriggered);
            Assert.areEqual('WAITING', ct.State);
            Assert.areEqual('nightly', ct.CronJobDetail.Name);
            Assert.areEqual('7', ct.CronJobDetail.JobType);
            Assert.areEqual(1, ct.NextFireTime.hour());
            Assert.isTrue(ct.NextFireTime > System.now());
            Assert.areEqual(1, [SELECT COUNT() FROM AsyncApexJob WHERE JobType = 'ScheduledApex' AND CronTriggerId = :jobId]);
            Assert.areEqual(0, [SELECT COUNT() FROM Account]);
            Id once = System.schedule('guide example', '0 0 0 3 9 ? 2030', new Job('g'));
            Assert.areEqual('2030-09-03 00:00:00', String.valueOf([SELECT NextFireTime FROM CronTrigger
                                                                   WHERE Id = :once].NextFireTime));
            Test.stopTest();
            Assert.areEqual(1, [SELECT COUNT() FROM Account WHERE Name LIKE 't 1 %']);
            Assert.areEqual(1, [SELECT COUNT() FROM Account WHERE Name LIKE 'g 1 %']);
        }
        @IsTest static void refused() {
            try { System.schedule('bad', '0 */5 * * * ?', new Job('t')); Assert.fail('accepted');
            } catch (StringException e) {
                Assert.areEqual('Seconds and minutes must be specified as integers: 0 */5 * * * ?', e.getMessage());
            }
            System.schedule('same', '0 0 1 * * ?', new Job('t'));
            try { System.schedule('same', '0 0 2 * * ?', new Job('t')); Assert.fail('accepted');
            } catch (AsyncException e) {
                Assert.areEqual('The Apex job named "same" is already scheduled for execution.', e.getMessage());
            }
            for (Integer i = 1; i < 100; i++) { System.schedule('job ' + i, '0 0 1 * * ?', new Job('t')); }
            try { System.schedule('one too many', '0 0 1 * * ?', new Job('t')); Assert.fail('accepted');
            } catch (AsyncException e) {
                Assert.areEqual('You have exceeded the maximum number of scheduled Apex jobs (100).', e.getMessage());
            }
            Assert.areEqual(0, Limits.getDmlStatements());
            Assert.areEqual(0, Limits.getQueries());
        }
        @IsTest static void aborted() {
            Test.startTest();
            Id jobId = System.schedule('gone', '0 0 1 * * ?', new Job('t'));
            System.abortJob(jobId);
            Test.stopTest();
            Assert.areEqual(0, [SELECT COUNT() FROM Account]);
            Assert.areEqual('DELETED', [SELECT State FROM CronTrigger WHERE Id = :jobId].State);
            System.schedule('gone', '0 0 1 * * ?', new Job('t'));
        } }"""})
    assert results == {"rows": ("Pass", None), "refused": ("Pass", None), "aborted": ("Pass", None)}


def _org(store, extra: dict[str, str] | None = None) -> ApexRuntime:
    return ApexRuntime(store, {"Job.cls": JOB, **(extra or {})})


def _rows(store, soql: str) -> list[dict]:
    with store.transaction() as tx:
        return tx.query(soql).records


def _user(store, zone: str) -> str:
    with store.transaction() as tx:
        profile = tx.query("SELECT ProfileId FROM User WHERE Id = :u", {"u": store.user_id}).records[0]["ProfileId"]
        [result] = tx.insert("User", [{"LastName": "Planner", "Alias": "plan", "Email": "plan@example.com",
                                       "Username": "plan@example.com.local", "ProfileId": profile,
                                       "TimeZoneSidKey": zone, "LocaleSidKey": "en_US", "LanguageLocaleKey": "en_US",
                                       "EmailEncodingKey": "UTF-8"}])
    assert result.success, result.to_json()
    return str(result.id)


def _schedule_as(rt: ApexRuntime, user_id: str, source: str):
    prog = rt.program
    tx = prog.new_transaction(user={"userid": user_id, "organizationid": rt.store.org_id})
    tx.now = NOW
    res = prog.execute_anonymous(source, tx=tx)
    assert res.success, res.exception_message
    return res


def test_the_scheduler_fires_due_jobs_as_the_scheduling_user_in_their_time_zone(store) -> None:
    rt = _org(store)
    planner = _user(store, "America/Los_Angeles")
    _schedule_as(rt, planner, "System.schedule('morning', '0 0 6 * * ?', new Job('m'));")
    [trigger] = _rows(store, "SELECT Id, NextFireTime, OwnerId, TimeZoneSidKey, State FROM CronTrigger")
    assert trigger["NextFireTime"] == "2026-12-06T14:00:00.000+0000"  # 06:00 in Los Angeles
    assert (trigger["OwnerId"], trigger["TimeZoneSidKey"], trigger["State"]) == (planner, "America/Los_Angeles",
                                                                                 "WAITING")
    scheduler = ApexScheduler(rt)
    assert scheduler.tick(datetime(2026, 12, 6, 13, 59, tzinfo=timezone.utc)) == []
    [outcome] = scheduler.tick(datetime(2026, 12, 6, 14, 0, 5, tzinfo=timezone.utc))
    assert outcome.success
    [account] = _rows(store, "SELECT Name, CreatedById FROM Account")
    assert account == {**account, "Name": f"m 1 {trigger['Id']}", "CreatedById": planner}
    [after] = _rows(store, "SELECT State, NextFireTime, PreviousFireTime, TimesTriggered FROM CronTrigger")
    assert after == {**after, "State": "WAITING", "NextFireTime": "2026-12-07T14:00:00.000+0000",
                     "PreviousFireTime": "2026-12-06T14:00:00.000+0000", "TimesTriggered": 1}
    assert scheduler.tick(datetime(2026, 12, 6, 15, 0, tzinfo=timezone.utc)) == []  # not due again yet
    # the org was down for two days: the missed times fire once, the next is after now
    [again] = scheduler.tick(datetime(2026, 12, 9, 20, 0, tzinfo=timezone.utc))
    assert again.success
    names = sorted(a["Name"].split(" 08e")[0] for a in _rows(store, "SELECT Name FROM Account"))
    assert names == ["m 1", "m 1"]  # each run starts from the job as scheduled
    [last] = _rows(store, "SELECT NextFireTime, TimesTriggered FROM CronTrigger")
    assert (last["NextFireTime"], last["TimesTriggered"]) == ("2026-12-10T14:00:00.000+0000", 2)
    runs = _rows(store, "SELECT Status, CronTriggerId FROM AsyncApexJob WHERE JobType = 'ScheduledApex' "
                        "AND Status = 'Completed'")
    assert [r["CronTriggerId"] for r in runs] == [trigger["Id"]] * 2


def test_a_failing_job_is_recorded_and_the_scheduler_goes_on(store) -> None:
    rt = _org(store)
    rt.execute_anonymous("System.schedule('fails', '0 0 1 * * ?', new Job('boom'));"
                         "System.schedule('works', '0 0 1 * * ?', new Job('ok'));")
    scheduler = ApexScheduler(rt)
    outcomes = scheduler.tick(datetime(2026, 12, 31, tzinfo=timezone.utc))
    assert sorted(o.success for o in outcomes) == [False, True]
    [failed] = _rows(store, "SELECT Status, ExtendedStatus, NumberOfErrors FROM AsyncApexJob WHERE Status = 'Failed'")
    assert failed["ExtendedStatus"] == "System.IllegalArgumentException: no boom" and failed["NumberOfErrors"] == 1
    assert [a["Name"][:4] for a in _rows(store, "SELECT Name FROM Account")] == ["ok 1"]
    states = {r["CronJobDetail"]["Name"]: (r["State"], r["TimesTriggered"])
              for r in _rows(store, "SELECT State, TimesTriggered, CronJobDetail.Name FROM CronTrigger")}
    assert states == {"fails": ("WAITING", 1), "works": ("WAITING", 1)}


def test_abort_job_stops_a_schedule_and_a_job_may_abort_itself(store) -> None:
    rt = _org(store, {"Q.cls": "public class Q implements Queueable { public void execute(QueueableContext c) {"
                               " insert new Contact(LastName = 'queued'); } }"})
    res = rt.execute_anonymous("Id a = System.schedule('aborted', '0 0 1 * * ?', new Job('a'));"
                               "System.schedule('once', '0 0 1 * * ?', new Job('once'));"
                               "System.abortJob(a);"
                               "System.abortJob(System.enqueueJob(new Q()));")
    assert res.success, res.exception_message
    assert _rows(store, "SELECT LastName FROM Contact") == []
    assert [r["Status"] for r in _rows(store, "SELECT Status FROM AsyncApexJob WHERE JobType = 'Queueable'")] \
        == ["Aborted"]
    scheduler = ApexScheduler(rt)
    [outcome] = scheduler.tick(datetime(2026, 12, 31, tzinfo=timezone.utc))
    assert outcome.success
    states = {r["CronJobDetail"]["Name"]: (r["State"], r["NextFireTime"])
              for r in _rows(store, "SELECT State, NextFireTime, CronJobDetail.Name FROM CronTrigger")}
    assert states == {"aborted": ("DELETED", None), "once": ("DELETED", None)}
    assert scheduler.tick(datetime(2027, 1, 31, tzinfo=timezone.utc)) == []
    assert [a["Name"][:6] for a in _rows(store, "SELECT Name FROM Account")] == ["once 1"]
    # the names are free again
    assert rt.execute_anonymous("System.schedule('aborted', '0 0 1 * * ?', new Job('a'));").success


def test_a_one_time_schedule_completes_and_a_rolled_back_schedule_never_fires(store) -> None:
    rt = _org(store)
    assert rt.execute_anonymous("System.schedule('new year', '0 0 0 1 1 ? 2027', new Job('y'));").success
    failed = rt.execute_anonymous("System.schedule('rolled back', '0 0 1 * * ?', new Job('r'));"
                                  "throw new IllegalArgumentException('no');")
    assert not failed.success
    scheduler = ApexScheduler(rt)
    [outcome] = scheduler.tick(datetime(2027, 6, 1, tzinfo=timezone.utc))
    assert outcome.success
    [trigger] = _rows(store, "SELECT State, NextFireTime, TimesTriggered FROM CronTrigger")
    assert trigger == {**trigger, "State": "COMPLETE", "NextFireTime": None, "TimesTriggered": 1}
    never = rt.execute_anonymous("System.schedule('past', '0 0 0 1 1 ? 2020', new Job('p'));")
    assert never.exception_type == "System.AsyncException" and "will never fire" in never.exception_message


def test_schedule_batch_starts_the_batch_when_it_fires(store) -> None:
    rt = _org(store, {"B.cls": """public class B implements Database.Batchable<SObject> {
        public Database.QueryLocator start(Database.BatchableContext bc) {
            return Database.getQueryLocator('SELECT Id, Name FROM Account'); }
        public void execute(Database.BatchableContext bc, List<Account> scope) {
            for (Account a : scope) { a.Name += '!'; } update scope; }
        public void finish(Database.BatchableContext bc) { insert new Contact(LastName = 'finished'); } }"""})
    prog = rt.program
    tx = prog.new_transaction()
    tx.now = NOW
    res = prog.execute_anonymous("insert new List<Account>{ new Account(Name = 'a'), new Account(Name = 'b') };"
                                 "Id t = System.scheduleBatch(new B(), 'later', 30, 1);"
                                 "System.assert(String.valueOf(t).startsWith('08e'));", tx=tx)
    assert res.success, res.exception_message
    [trigger] = _rows(store, "SELECT CronExpression, NextFireTime FROM CronTrigger")
    assert trigger == {**trigger, "CronExpression": "0 30 5 6 12 ? 2026", "NextFireTime": "2026-12-05T20:30:00.000+0000"}
    scheduler = ApexScheduler(rt)
    assert scheduler.tick(NOW + timedelta(minutes=29)) == []
    [outcome] = scheduler.tick(NOW + timedelta(minutes=31))
    assert outcome.success
    assert sorted(a["Name"] for a in _rows(store, "SELECT Name FROM Account")) == ["a!", "b!"]
    assert [c["LastName"] for c in _rows(store, "SELECT LastName FROM Contact")] == ["finished"]
    [batch] = _rows(store, "SELECT Status, TotalJobItems FROM AsyncApexJob WHERE JobType = 'BatchApex'")
    assert batch == {**batch, "Status": "Completed", "TotalJobItems": 2}
    assert _rows(store, "SELECT State FROM CronTrigger")[0]["State"] == "COMPLETE"


def test_the_scheduler_loop_ticks_with_its_clock_and_stops_without_leaving_a_thread() -> None:
    ticked = threading.Event()
    seen: list[datetime] = []

    class Recorder:
        def tick(self, now):
            seen.append(now)
            ticked.set()
            return []

    loop = SchedulerLoop(Recorder(), 0.001, clock=lambda: NOW).start()  # type: ignore[arg-type]
    assert ticked.wait(10)
    loop.stop()
    assert not loop.running and seen[0] == NOW
    assert not [t for t in threading.enumerate() if t.name == "apex-scheduler"]


def test_in_a_test_schedule_batch_runs_the_batch_at_stop_test(store) -> None:
    results = run_tests(store, {
        "B.cls": """public class B implements Database.Batchable<SObject> {
            public static Integer chunks = 0;
            public Iterable<SObject> start(Database.BatchableContext bc) { return [SELECT Id FROM Account]; }
            public void execute(Database.BatchableContext bc, List<SObject> scope) { chunks++; }
            public void finish(Database.BatchableContext bc) {} }""",
        "BTest.cls": """@IsTest private class BTest { @IsTest static void later() {
            insert new Account(Name = 'a');
            Test.startTest();
            Id t = System.scheduleBatch(new B(), 'later', 5);
            Assert.areEqual('WAITING', [SELECT State FROM CronTrigger WHERE Id = :t].State);
            Assert.areEqual(0, B.chunks);
            try { System.scheduleBatch(new B(), 'later', 5); Assert.fail('same name accepted'); }
            catch (AsyncException e) { Assert.isTrue(e.getMessage().contains('"later"')); }
            Test.stopTest();
            Assert.areEqual(1, B.chunks);
        } }"""})
    assert results == {"later": ("Pass", None)}
