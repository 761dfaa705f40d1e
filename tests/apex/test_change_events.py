"""Change Data Capture in Apex (issue 18): change event sObject types, their triggers in Apex tests
(Test.enableChangeDataCapture, delivered at Test.stopTest / Test.getEventBus().deliver()) and in the
org (after commit, for the selected entities, in their own transaction)."""
from __future__ import annotations

import pytest

from localcloud.salesforce.apex import changeeventlib
from localcloud.salesforce.apex.dataport import register_org_source
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import Schema
from tests.apex.orgfixture import run_test_methods
from localcloud.salesforce.data.changeevents import change_event_object


LOG = "public class Log { public static List<String> seen = new List<String>(); }"
ACCOUNT_TRIGGER = """trigger AccountCdc on AccountChangeEvent (after insert) {
  for (AccountChangeEvent e : Trigger.new) {
    EventBus.ChangeEventHeader h = e.ChangeEventHeader;
    Log.seen.add(h.changeType + ' ' + h.getEntityName() + ' ' + e.Name + ' ' + h.changedFields + ' '
        + h.nulledFields + ' ' + h.recordIds.size() + ' ' + h.sequenceNumber + ' '
        + (h.commitUser == UserInfo.getUserId()) + ' ' + Trigger.isAfter + ' ' + Trigger.isInsert);
  }
  insert new Contact(LastName = 'from cdc ' + Trigger.new.size());
}"""


def test_change_events_reach_their_trigger_at_stop_test_after_enable_change_data_capture(store) -> None:
    results = run_test_methods(store, {"Log.cls": LOG, "AccountCdc.trigger": ACCOUNT_TRIGGER, "CdcTest.cls": """
@IsTest private class CdcTest {
  @IsTest static void deliveredAtStopTest() {
    insert new Account(Name = 'before enabling');
    Test.enableChangeDataCapture();
    Test.startTest();
    Account a = new Account(Name = 'A', Phone = '1');
    insert a;
    a.Name = 'B'; a.Phone = null; update a;
    delete a;
    Assert.areEqual(0, Log.seen.size(), 'nothing before delivery');
    Test.stopTest();
    Assert.areEqual(new List<String>{
        'CREATE Account A () () 1 1 true true true',
        'UPDATE Account B (Name, Phone, LastModifiedDate) (Phone) 1 2 true true true',
        'DELETE Account null () () 1 3 true true true'}, Log.seen);
    Assert.areEqual(1, [SELECT COUNT() FROM Contact WHERE LastName = 'from cdc 3'], 'one batch of three');
  }
  @IsTest static void nothingWithoutEnabling() {
    insert new Account(Name = 'A');
    Test.getEventBus().deliver();
    Assert.areEqual(0, Log.seen.size());
  }
  @IsTest static void eachDeliveryTakesTheChangesSinceTheLastOne() {
    Test.enableChangeDataCapture();
    insert new Account(Name = 'A');
    Test.getEventBus().deliver();
    Assert.areEqual(1, Log.seen.size());
    insert new Account(Name = 'B');
    Test.getEventBus().deliver();
    Assert.areEqual(2, Log.seen.size());
    Assert.isTrue(Log.seen[1].startsWith('CREATE Account B'), Log.seen[1]);
  }
  @IsTest static void rolledBackChangesPublishNothing() {
    Test.enableChangeDataCapture();
    Savepoint sp = Database.setSavepoint();
    insert new Account(Name = 'gone');
    Database.rollback(sp);
    Test.getEventBus().deliver();
    Assert.areEqual(0, Log.seen.size());
  }
}"""})
    assert results == {name: ("Pass", None) for name in (
        "deliveredAtStopTest", "nothingWithoutEnabling", "eachDeliveryTakesTheChangesSinceTheLastOne",
        "rolledBackChangesPublishNothing")}


def test_change_events_are_sobjects_with_a_header_and_their_objects_fields(store) -> None:
    results = run_test_methods(store, {"EventTypeTest.cls": """
@IsTest private class EventTypeTest {
  @IsTest static void types() {
    EventBus.ChangeEventHeader h = new EventBus.ChangeEventHeader();
    h.changeType = 'UPDATE';
    h.changedFields = new List<String>{'Name'};
    AccountChangeEvent e = new AccountChangeEvent(ChangeEventHeader = h, Name = 'Acme');
    SObject generic = e;
    Assert.areEqual('UPDATE', ((EventBus.ChangeEventHeader) generic.get('ChangeEventHeader')).getChangeType());
    Assert.areEqual('Acme', generic.get('Name'));
    Assert.areEqual(AccountChangeEvent.SObjectType, generic.getSObjectType());
    Assert.areEqual('AccountChangeEvent', String.valueOf(generic.getSObjectType()));
    try {
      new Account().get('ChangeEventHeader');
      Assert.fail('Account has no header');
    } catch (SObjectException ex) {
      Assert.isTrue(ex.getMessage().startsWith('Invalid field '), ex.getMessage());
    }
    ContactChangeEvent c = new ContactChangeEvent(LastName = 'Doe');
    Assert.areEqual('Doe', c.LastName);
  }
}"""})
    assert results == {"types": ("Pass", None)}


def test_change_event_objects_follow_salesforces_rules() -> None:
    schema = Schema.standard()
    account = change_event_object(schema, "AccountChangeEvent")
    assert account is not None and account.name == "AccountChangeEvent"
    names = [f.name for f in account.all_fields]
    assert names[:3] == ["Id", "ReplayId", "ChangeEventHeader"]
    assert "Name" in names and "BillingCity" in names
    assert not {"IsDeleted", "SystemModstamp", "LastActivityDate", "PhotoUrl"} & set(names)
    describe = account.describe(schema)
    assert (describe["queryable"], describe["createable"], describe["triggerable"]) == (False, False, True)
    assert change_event_object(schema, "accountchangeevent") is account  # case-insensitive, cached
    assert change_event_object(schema, "UserRoleChangeEvent") is None  # UserRole has no change events
    assert change_event_object(schema, "NoSuchChangeEvent") is None


def _org_runtime(store, selected: list[str]):
    rt = ApexRuntime(store, {"AccountCdc.trigger": """trigger AccountCdc on AccountChangeEvent (after insert) {
  List<Contact> cs = new List<Contact>();
  for (AccountChangeEvent e : Trigger.new) {
    cs.add(new Contact(LastName = e.ChangeEventHeader.changeType + ':' + e.Name + ':'
        + e.ChangeEventHeader.recordIds[0]));
  }
  insert cs;
}"""})
    publisher = changeeventlib.attach(rt)
    register_org_source(store, "cdc_entities", lambda: selected)
    return rt, publisher


def _contacts(store) -> list[str]:
    with store.transaction() as tx:
        return sorted(r["LastName"] for r in tx.query("SELECT LastName FROM Contact").records)


def test_the_org_delivers_committed_changes_of_selected_entities_after_commit(store) -> None:
    rt, publisher = _org_runtime(store, ["Account"])
    result = rt.execute_anonymous("insert new Account(Name = 'from apex');")
    assert result.success, result.exception_message
    with store.transaction() as tx:  # DML from outside Apex (REST, loads) too
        [saved] = tx.insert("Account", [{"Name": "from rest"}])
    with pytest.raises(RuntimeError):
        with store.transaction() as tx:
            tx.insert("Account", [{"Name": "rolled back"}])
            raise RuntimeError("roll back")
    assert publisher.wait_idle(20)
    contacts = _contacts(store)
    assert len(contacts) == 2
    assert f"CREATE:from rest:{saved.id}" in contacts
    assert any(c.startswith("CREATE:from apex:001") for c in contacts)
    assert publisher.failures == []


def test_the_org_publishes_nothing_for_entities_not_selected(store) -> None:
    rt, publisher = _org_runtime(store, ["Contact"])
    assert rt.execute_anonymous("insert new Account(Name = 'x');").success
    assert publisher.wait_idle(20)
    assert _contacts(store) == []


def test_a_failing_change_event_trigger_is_logged_and_rolls_back_only_its_own_transaction(store) -> None:
    rt = ApexRuntime(store, {"Bad.trigger": "trigger Bad on AccountChangeEvent (after insert) {"
                                            " insert new Contact(LastName = 'half'); Integer x = 1 / 0; }"})
    publisher = changeeventlib.attach(rt)
    register_org_source(store, "cdc_entities", lambda: ["Account"])
    assert rt.execute_anonymous("insert new Account(Name = 'kept');").success
    assert publisher.wait_idle(20)
    with store.transaction() as tx:
        assert [r["Name"] for r in tx.query("SELECT Name FROM Account").records] == ["kept"]
    assert _contacts(store) == []
    assert any("Divide by 0" in f for f in publisher.failures), publisher.failures


def test_a_local_org_runs_deployed_change_event_triggers_for_its_selected_entities(tmp_path) -> None:
    """The org end to end: a deployed PlatformEventChannelMember selects Account, a deployed trigger on
    AccountChangeEvent runs after a REST insert commits; describe knows the change event object."""
    import requests

    from localcloud.salesforce.metadata import DeployOptions
    from localcloud.salesforce.server import start_local_org
    from tests.localorg_http.fixtures import meta
    from tests.mdapi import package_xml, zip_files

    trigger = ("trigger AccountAudit on AccountChangeEvent (after insert) {"
               " List<Contact> cs = new List<Contact>();"
               " for (AccountChangeEvent e : Trigger.new) { cs.add(new Contact(LastName = 'audit ' + e.Name"
               " + ' by ' + UserInfo.getUserId())); } insert cs; }")
    files = {
        "triggers/AccountAudit.trigger": trigger,
        "triggers/AccountAudit.trigger-meta.xml": meta("ApexTrigger"),
        "platformEventChannelMembers/ChangeEvents_AccountChangeEvent.platformEventChannelMember": (
            '<?xml version="1.0" encoding="UTF-8"?>\n<PlatformEventChannelMember '
            'xmlns="http://soap.sforce.com/2006/04/metadata"><eventChannel>ChangeEvents</eventChannel>'
            "<selectedEntity>AccountChangeEvent</selectedEntity></PlatformEventChannelMember>\n"),
        "package.xml": package_xml({"ApexTrigger": ["AccountAudit"],
                                    "PlatformEventChannelMember": ["ChangeEvents_AccountChangeEvent"]}),
    }
    org = start_local_org(tmp_path / "org", tls=False)
    try:
        job = org.deployer.deploy_zip(zip_files(files), DeployOptions(test_level="NoTestRun"))
        assert job.status == "Succeeded", job.failures
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {org.access_token}"
        base = f"{org.url}/services/data/v62.0"
        created = session.post(f"{base}/sobjects/Account", json={"Name": "Acme"})
        assert created.status_code == 201, created.text
        assert org.store._apex_change_events.wait_idle(20)
        rows = session.get(f"{base}/query", params={"q": "SELECT LastName FROM Contact"}).json()["records"]
        robot = session.get(f"{base}/query", params={
            "q": "SELECT Id FROM User WHERE UserType = 'AutomatedProcess'"}).json()["records"]
        assert len(robot) == 1 and robot[0]["Id"] != org.store.user_id
        # change event triggers run as the org's Automated Process user, not as the user who committed
        assert [r["LastName"] for r in rows] == [f"audit Acme by {robot[0]['Id']}"]
        describe = session.get(f"{base}/sobjects/AccountChangeEvent/describe").json()
        assert describe["name"] == "AccountChangeEvent" and describe["queryable"] is False
        assert "ChangeEventHeader" in [f["name"] for f in describe["fields"]]
        assert session.get(f"{base}/sobjects/UserRoleChangeEvent/describe").status_code == 404
    finally:
        org.stop()


def test_change_event_triggers_support_only_after_insert() -> None:
    from localcloud.salesforce.apex import ApexCompileError, ApexProgram

    with pytest.raises(ApexCompileError, match="AccountChangeEvent support only the after insert event"):
        ApexProgram({"T.trigger": "trigger T on AccountChangeEvent (before insert, after insert) { }"})
    assert ApexProgram({"T.trigger": "trigger T on AccountChangeEvent (after insert) { }"}).triggers
