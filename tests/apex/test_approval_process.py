"""Approval.process (issue 18) over a deployed approval process (metadata/approval_processes.py ->
ProcessDefinition rows; apex/approvalprocesslib.py): entry criteria, steps, ProcessInstance/Step/Workitem
rows, the record locked on submit and unlocked when the process ends."""
from __future__ import annotations

from localcloud.salesforce.metadata.approval_processes import apply_approval_processes
from localcloud.salesforce.metadata.package import Component
from localcloud.salesforce.metadata.workflows import apply_field_updates
from tests.apex.orgfixture import run_test_methods


def _process(name: str, order: int, rating: str, steps: str, lock_on_approval: bool = False,
             editability: str = "AdminOnly") -> Component:
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<ApprovalProcess xmlns="http://soap.sforce.com/2006/04/metadata">
    <active>true</active>
    <label>{name} label</label>
    <processOrder>{order}</processOrder>
    <entryCriteria>
        <criteriaItems><field>Account.Rating</field><operation>equals</operation><value>{rating}</value></criteriaItems>
    </entryCriteria>
    {steps}
    <finalApprovalRecordLock>{str(lock_on_approval).lower()}</finalApprovalRecordLock>
    <finalRejectionRecordLock>false</finalRejectionRecordLock>
    <recordEditability>{editability}</recordEditability>
</ApprovalProcess>""".encode()
    return Component("ApprovalProcess", f"Account.{name}", f"approvalProcesses/Account.{name}.approvalProcess", body)


ADHOC = """<approvalStep><name>Manager_Review</name><label>Manager review</label>
    <assignedApprover><approver><type>adhoc</type></approver></assignedApprover></approvalStep>"""
TWO_STEPS = """<initialSubmissionActions><action><name>Mark_Submitted</name><type>FieldUpdate</type></action>
</initialSubmissionActions>
<finalApprovalActions><action><name>Mark_Approved</name><type>FieldUpdate</type></action>
<action><name>Clear_Site</name><type>FieldUpdate</type></action></finalApprovalActions>
<approvalStep><name>First</name><label>First</label>
    <assignedApprover><approver><name>approver.process@example.com</name><type>user</type></approver></assignedApprover>
</approvalStep>
<approvalStep><name>Second</name><label>Second</label>
    <assignedApprover><approver><type>relatedUserField</type><name>OwnerId</name></approver></assignedApprover>
</approvalStep>"""

WORKFLOW = b"""<?xml version="1.0" encoding="UTF-8"?>
<Workflow xmlns="http://soap.sforce.com/2006/04/metadata">
    <fieldUpdates><fullName>Mark_Submitted</fullName><field>Description</field><literalValue>Submitted</literalValue>
        <name>Mark Submitted</name><notifyAssignee>false</notifyAssignee><operation>Literal</operation></fieldUpdates>
    <fieldUpdates><fullName>Mark_Approved</fullName><field>Description</field><literalValue>Approved</literalValue>
        <name>Mark Approved</name><notifyAssignee>false</notifyAssignee><operation>Literal</operation></fieldUpdates>
    <fieldUpdates><fullName>Clear_Site</fullName><field>Site</field><name>Clear Site</name>
        <notifyAssignee>false</notifyAssignee><operation>Null</operation></fieldUpdates>
</Workflow>"""

PROCESS_TEST = """@IsTest private class ApprovalProcessTest {
    static User approver() {
        return user('approver');
    }
    static User user(String name) {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        User u = new User(ProfileId = standard.Id, LastName = name, Email = name + '@example.com',
            Username = name + '.process@example.com', Alias = name.left(5), TimeZoneSidKey = 'Asia/Tokyo',
            LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US');
        insert u;
        return u;
    }
    @IsTest static void submitApproveInTwoSteps() {
        User u = approver();
        Account a = new Account(Name = 'Hot one', Rating = 'Hot', Site = 'HQ');
        insert a;
        Approval.ProcessSubmitRequest req = new Approval.ProcessSubmitRequest();
        req.setObjectId(a.Id);
        req.setComments('please');
        Approval.ProcessResult submitted = Approval.process(req);
        Assert.isTrue(submitted.isSuccess());
        Assert.areEqual('Pending', submitted.getInstanceStatus());
        Assert.areEqual(u.Id, submitted.getActorIds()[0]);
        Assert.isTrue(Approval.isLocked(a.Id));
        Assert.areEqual('Submitted', [SELECT Description FROM Account WHERE Id = :a.Id].Description);  // initial action
        ProcessInstance pi = [SELECT Id, Status, TargetObjectId, ProcessDefinition.DeveloperName,
                              (SELECT StepStatus, Comments FROM Steps), (SELECT Id, ActorId FROM Workitems)
                              FROM ProcessInstance WHERE TargetObjectId = :a.Id];
        Assert.areEqual('Two_Steps', pi.ProcessDefinition.DeveloperName);
        Assert.areEqual(submitted.getInstanceId(), pi.Id);
        Assert.areEqual('Started', pi.Steps[0].StepStatus);
        Assert.areEqual('please', pi.Steps[0].Comments);
        Assert.areEqual(submitted.getNewWorkitemIds()[0], pi.Workitems[0].Id);
        try {
            Approval.process(req);
            Assert.fail('submitted twice');
        } catch (DmlException e) {
            Assert.areEqual(StatusCode.ALREADY_IN_PROCESS, e.getDmlType(0));
        }
        Approval.ProcessWorkitemRequest first = new Approval.ProcessWorkitemRequest();
        first.setWorkitemId(pi.Workitems[0].Id);
        first.setAction('Approve');
        Approval.ProcessResult step1 = Approval.process(first);
        Assert.areEqual('Pending', step1.getInstanceStatus());
        Assert.areEqual(UserInfo.getUserId(), step1.getActorIds()[0]);  // the owner approves step two
        Assert.isTrue(Approval.isLocked(a.Id));
        Approval.ProcessWorkitemRequest second = new Approval.ProcessWorkitemRequest();
        second.setWorkitemId(step1.getNewWorkitemIds()[0]);
        second.setAction('Approve');
        second.setComments('ok');
        Approval.ProcessResult done = Approval.process(second);
        Assert.areEqual('Approved', done.getInstanceStatus());
        Map<String, Object> json = (Map<String, Object>) JSON.deserializeUntyped(JSON.serialize(done));
        Assert.areEqual('Approved', json.get('instanceStatus'));
        Assert.areEqual(String.valueOf(a.Id), json.get('entityId'));
        Assert.isTrue(Approval.isLocked(a.Id));  // finalApprovalRecordLock
        Account approved = [SELECT Description, Site FROM Account WHERE Id = :a.Id];
        Assert.areEqual('Approved', approved.Description);  // final approval actions, through the lock
        Assert.isNull(approved.Site);
        ProcessInstance after = [SELECT Status, CompletedDate, (SELECT Id FROM Workitems) FROM ProcessInstance WHERE Id = :pi.Id];
        Assert.areEqual('Approved', after.Status);
        Assert.isNotNull(after.CompletedDate);
        Assert.areEqual(0, after.Workitems.size());
        Assert.areEqual(3, [SELECT COUNT() FROM ProcessInstanceStep WHERE ProcessInstanceId = :pi.Id]);
    }
    @IsTest static void entryCriteriaAdhocRejectAndErrors() {
        User u = approver();
        Account warm = new Account(Name = 'Warm one', Rating = 'Warm');
        Account cold = new Account(Name = 'Cold one', Rating = 'Cold');
        insert new List<Account>{ warm, cold };
        Approval.ProcessSubmitRequest none = new Approval.ProcessSubmitRequest();
        none.setObjectId(cold.Id);
        Approval.ProcessResult refused = Approval.process(none, false);
        Assert.isFalse(refused.isSuccess());
        Assert.areEqual(StatusCode.NO_APPLICABLE_PROCESS, refused.getErrors()[0].getStatusCode());
        Assert.areEqual('No applicable approval process was found.', refused.getErrors()[0].getMessage());
        try {
            Approval.process(none);
            Assert.fail('no process applies');
        } catch (DmlException e) {
            Assert.isTrue(e.getMessage().startsWith('Process failed. First exception on row 0; first error: NO_APPLICABLE_PROCESS'), e.getMessage());
        }
        Approval.ProcessSubmitRequest adhoc = new Approval.ProcessSubmitRequest();
        adhoc.setObjectId(warm.Id);
        Approval.ProcessResult missing = Approval.process(adhoc, false);
        Assert.areEqual(StatusCode.REQUIRED_FIELD_MISSING, missing.getErrors()[0].getStatusCode());
        Assert.isFalse(Approval.isLocked(warm.Id));
        Assert.areEqual(0, [SELECT COUNT() FROM ProcessInstance]);
        adhoc.setNextApproverIds(new List<Id>{ u.Id });
        Approval.ProcessResult pending = Approval.process(adhoc);
        Assert.isTrue(Approval.isLocked(warm.Id));
        System.runAs(u) {  // AdminOrCurrentApprover: the assigned approver edits the locked record
            update new Account(Id = warm.Id, Description = 'checked by the approver');
        }
        User other = user('other');
        System.runAs(other) {
            try {
                update new Account(Id = warm.Id, Description = 'nope');
                Assert.fail('only the approver and administrators edit');
            } catch (DmlException e) {
                Assert.areEqual(StatusCode.ENTITY_IS_LOCKED, e.getDmlType(0));
            }
        }
        Approval.ProcessWorkitemRequest reject = new Approval.ProcessWorkitemRequest();
        reject.setWorkitemId(pending.getNewWorkitemIds()[0]);
        reject.setAction('Reject');
        Approval.ProcessResult rejected = Approval.process(reject);
        Assert.areEqual('Rejected', rejected.getInstanceStatus());
        Assert.isFalse(Approval.isLocked(warm.Id));
        Assert.areEqual('Rejected', [SELECT Status FROM ProcessInstance WHERE TargetObjectId = :warm.Id].Status);
    }
}"""


def test_approval_process_submit_approve_reject(store) -> None:
    with store.transaction() as tx:
        assert apply_field_updates(tx, [Component("Workflow", "Account", "workflows/Account.workflow", WORKFLOW)]) == []
        assert apply_approval_processes(tx, [_process("Two_Steps", 1, "Hot", TWO_STEPS, lock_on_approval=True),
                                             _process("Adhoc", 2, "Warm", ADHOC, editability="AdminOrCurrentApprover")]) == []
        rows = tx.query("SELECT DeveloperName, TableEnumOrId, State, Type FROM ProcessDefinition ORDER BY DeveloperName").records
        assert [(r["DeveloperName"], r["TableEnumOrId"], r["State"], r["Type"]) for r in rows] == [
            ("Adhoc", "Account", "Active", "Approval"), ("Two_Steps", "Account", "Active", "Approval")]
    outcomes = run_test_methods(store, {"ApprovalProcessTest.cls": PROCESS_TEST})
    assert outcomes == {"submitApproveInTwoSteps": ("Pass", None), "entryCriteriaAdhocRejectAndErrors": ("Pass", None)}


ALERTING = b"""<?xml version="1.0" encoding="UTF-8"?>
<ApprovalProcess xmlns="http://soap.sforce.com/2006/04/metadata">
    <active>true</active><label>Alerting</label>
    <initialSubmissionActions><action><name>Tell_Boss</name><type>Alert</type></action></initialSubmissionActions>
    <approvalStep><name>Only</name><label>Only</label>
        <assignedApprover><approver><type>adhoc</type></approver></assignedApprover></approvalStep>
    <recordEditability>AdminOnly</recordEditability>
</ApprovalProcess>"""
ALERT_TEST = """@IsTest private class AlertTest {
    @IsTest static void alertsFailLoudlyAndLeaveNothing() {
        Contact c = new Contact(LastName = 'Alert');
        insert c;
        Approval.ProcessSubmitRequest req = new Approval.ProcessSubmitRequest();
        req.setObjectId(c.Id);
        req.setNextApproverIds(new List<Id>{ UserInfo.getUserId() });
        try {
            Approval.process(req);
            Assert.fail('an email alert cannot run');
        } catch (UnexpectedException e) {
            Assert.areEqual('Approval process Alerting: Alert action Tell_Boss is not run by the local org', e.getMessage());
        }
        Assert.isFalse(Approval.isLocked(c.Id));
        Assert.areEqual(0, [SELECT COUNT() FROM ProcessInstance]);
    }
}"""


def test_unrunnable_actions_fail_loudly_and_bad_field_updates_fail_the_deploy(store) -> None:
    bad = b"""<Workflow xmlns="http://soap.sforce.com/2006/04/metadata"><fieldUpdates><fullName>X</fullName>
        <field>Nope__c</field><operation>Null</operation></fieldUpdates></Workflow>"""
    with store.transaction() as tx:
        [problem] = apply_field_updates(tx, [Component("Workflow", "Account", "workflows/Account.workflow", bad)])
        assert "Account has no field Nope__c" in problem.message and problem.needle == "<field>Nope__c</field>"
        assert apply_approval_processes(tx, [Component("ApprovalProcess", "Contact.Alerting",
                                                       "approvalProcesses/Contact.Alerting.approvalProcess", ALERTING)]) == []
    assert run_test_methods(store, {"AlertTest.cls": ALERT_TEST}) == {"alertsFailLoudlyAndLeaveNothing": ("Pass", None)}
