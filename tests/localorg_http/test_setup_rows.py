"""Setup metadata as the rows Apex reads (issue 18): custom permissions, groups and queues from a deploy,
queues owning records, AsyncApexJob rows of queued jobs."""
from __future__ import annotations

from simple_salesforce import Salesforce

from localcloud.salesforce.data.definitions import FIELD_UPDATE, named_definition

from tests.mdapi import package_xml, zip_files

NS = 'xmlns="http://soap.sforce.com/2006/04/metadata"'
TICKET = f"""<?xml version="1.0" encoding="UTF-8"?><CustomObject {NS}>
<label>Ticket</label><pluralLabel>Tickets</pluralLabel><nameField><label>Ticket Name</label><type>Text</type></nameField>
<deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel></CustomObject>"""
PERMISSION = f'<?xml version="1.0" encoding="UTF-8"?><CustomPermission {NS}><isLicensed>false</isLicensed><label>Can Purge</label></CustomPermission>'
GROUP = f'<?xml version="1.0" encoding="UTF-8"?><Group {NS}><doesIncludeBosses>false</doesIncludeBosses><name>Helpers</name></Group>'


def queue(*sobjects: str) -> str:
    objects = "".join(f"<queueSobject><sobjectType>{s}</sobjectType></queueSobject>" for s in sobjects)
    return (f'<?xml version="1.0" encoding="UTF-8"?><Queue {NS}><doesSendEmailToMembers>false</doesSendEmailToMembers>'
            f"<name>Support Queue</name>{objects}</Queue>")


JOBS = """public class Jobs implements Database.Batchable<SObject>, Queueable {
    public Database.QueryLocator start(Database.BatchableContext bc) { return Database.getQueryLocator('SELECT Id FROM Ticket__c'); }
    public void execute(Database.BatchableContext bc, List<SObject> scope) {}
    public void finish(Database.BatchableContext bc) {}
    public void execute(QueueableContext qc) {}
    @future public static void later(String s) {}
}"""
JOBS_TEST = """@IsTest private class JobsTest {
    @IsTest static void rows() {
        Test.startTest();
        Id batchId = Database.executeBatch(new Jobs());
        Id queueableId = System.enqueueJob(new Jobs());
        Jobs.later('x');
        AsyncApexJob queued = [SELECT Status, JobType, ApexClass.Name FROM AsyncApexJob WHERE Id = :batchId];
        Assert.areEqual('Queued', queued.Status);
        Assert.areEqual(0, Limits.getDmlStatements());
        Test.stopTest();
        Map<Id, AsyncApexJob> jobs = new Map<Id, AsyncApexJob>([SELECT Id, JobType, Status, MethodName, ApexClass.Name,
            JobItemsProcessed, TotalJobItems, NumberOfErrors, CompletedDate, CreatedBy.Name FROM AsyncApexJob]);
        Assert.areEqual(3, jobs.size());
        AsyncApexJob batch = jobs.get(batchId);
        Assert.areEqual('BatchApex', batch.JobType);
        Assert.areEqual('Completed', batch.Status);
        Assert.areEqual('Jobs', batch.ApexClass.Name);
        Assert.areEqual(0, batch.NumberOfErrors);
        Assert.isNotNull(batch.CompletedDate);
        Assert.isNotNull(batch.CreatedBy.Name);
        Assert.areEqual('Queueable', jobs.get(queueableId).JobType);
        Assert.areEqual('Completed', jobs.get(queueableId).Status);
        AsyncApexJob future = [SELECT MethodName, Status FROM AsyncApexJob WHERE JobType = 'Future'];
        Assert.areEqual('later', future.MethodName);
        Assert.areEqual('Completed', future.Status);
    }
    @IsTest static void customPermissionThroughSetupEntityAccess() {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'std', Email = 'std@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Std',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'std' + Crypto.getRandomInteger() + '@example.com');
        insert u;
        PermissionSet ps = new PermissionSet(Name = 'Purgers', Label = 'Purgers');
        insert ps;
        Id permissionId = [SELECT Id FROM CustomPermission WHERE DeveloperName = 'CanPurge'].Id;
        insert new SetupEntityAccess(ParentId = ps.Id, SetupEntityId = permissionId);
        System.runAs(u) { Assert.isFalse(FeatureManagement.checkPermission('CanPurge')); }
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
        System.runAs(u) { Assert.isTrue(FeatureManagement.checkPermission('CanPurge')); }
        Assert.isFalse(FeatureManagement.checkPermission('CanPurge'));
    }
    @IsTest static void setupRows() {
        CustomPermission p = [SELECT DeveloperName, MasterLabel, NamespacePrefix FROM CustomPermission WHERE DeveloperName = 'CanPurge'];
        Assert.areEqual('Can Purge', p.MasterLabel);
        Assert.isNull(p.NamespacePrefix);
        Group q = [SELECT Id, Name, Type FROM Group WHERE DeveloperName = 'Support'];
        Assert.areEqual('Queue', q.Type);
        Assert.areEqual('Ticket__c', [SELECT SobjectType FROM QueueSobject WHERE QueueId = :q.Id].SobjectType);
        Assert.areEqual('Regular', [SELECT Type FROM Group WHERE DeveloperName = 'Helpers'].Type);
        Ticket__c t = new Ticket__c(Name = 'T1', OwnerId = q.Id);
        insert t;
        Ticket__c read = [SELECT Owner.Name, Owner.Type FROM Ticket__c WHERE Id = :t.Id];
        Assert.areEqual('Support Queue', read.Owner.Name);
        Assert.areEqual('Queue', read.Owner.Type);
        Ticket__c mine = new Ticket__c(Name = 'T2');
        insert mine;
        Assert.areEqual('User', [SELECT Owner.Type FROM Ticket__c WHERE Id = :mine.Id].Owner.Type);
        Group regular = [SELECT Id FROM Group WHERE DeveloperName = 'Helpers'];
        Database.SaveResult refused = Database.insert(new Ticket__c(Name = 'T3', OwnerId = regular.Id), false);
        Assert.areEqual(StatusCode.FIELD_INTEGRITY_EXCEPTION, refused.getErrors()[0].getStatusCode());
        Lead l = new Lead(LastName = 'L', Company = 'C', OwnerId = q.Id);
        Database.SaveResult notForLeads = Database.insert(l, false);
        Assert.areEqual('Owner ID: id value of incorrect type: ' + q.Id, notForLeads.getErrors()[0].getMessage());
    }
}"""


def files(queue_body: str) -> dict[str, str]:
    out = {"objects/Ticket__c.object": TICKET, "customPermissions/CanPurge.customPermission": PERMISSION,
           "groups/Helpers.group": GROUP, "queues/Support.queue": queue_body,
           "classes/Jobs.cls": JOBS, "classes/JobsTest.cls": JOBS_TEST}
    for name in ("Jobs", "JobsTest"):
        out[f"classes/{name}.cls-meta.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?><ApexClass {NS}>'
                                               "<apiVersion>62.0</apiVersion><status>Active</status></ApexClass>")
    out["package.xml"] = package_xml({"CustomObject": ["Ticket__c"], "CustomPermission": ["CanPurge"],
                                      "Group": ["Helpers"], "Queue": ["Support"], "ApexClass": ["Jobs", "JobsTest"]})
    return out


def test_custom_permissions_groups_and_queues_deploy_as_rows_and_queues_own_records(org) -> None:
    for _ in range(2):  # deploying again changes nothing: no doubled rows
        job = org.deployer.deploy_zip(zip_files(files(queue("Ticket__c"))))
        assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    results = {r.method_name: (r.outcome, r.message, r.stack_trace) for r in runtime.run_tests(["JobsTest"])}
    assert results == {"rows": ("Pass", None, None), "setupRows": ("Pass", None, None),
                       "customPermissionThroughSetupEntityAccess": ("Pass", None, None)}, results


def test_a_queue_naming_an_unknown_object_fails_the_deploy_with_its_line(org) -> None:
    job = org.deployer.deploy_zip(zip_files(files(queue("Ticket__c", "Nope__c"))))
    assert job.status == "Failed"
    failure = next(f for f in job.failures if f.full_name == "Support")
    assert "no CustomObject named Nope__c" in failure.problem and failure.line == 1


SETTING = f"""<?xml version="1.0" encoding="UTF-8"?><CustomObject {NS}><customSettingsType>Hierarchy</customSettingsType>
<label>Knobs</label><visibility>Public</visibility>
<fields><fullName>Level__c</fullName><label>Level</label><length>20</length><type>Text</type><defaultValue>'INFO'</defaultValue></fields>
</CustomObject>"""
USERS_TEST = """@IsTest private class UsersTest {
    @IsTest static void orgDefaultsAreTheOrgLevelRecord() {
        Knobs__c defaults = Knobs__c.getOrgDefaults();
        Assert.areEqual(UserInfo.getOrganizationId(), defaults.SetupOwnerId);
        Assert.isNull(defaults.Id);
        defaults.Level__c = 'FINE';
        insert defaults;
        Assert.areEqual('FINE', Knobs__c.getOrgDefaults().Level__c);
        Assert.areEqual('FINE', Knobs__c.getInstance().Level__c);
        Assert.areEqual('Organization', [SELECT SetupOwner.Type FROM Knobs__c].SetupOwner.Type);
    }
    @IsTest static void runAsInsertsANewUserAndDescribeAnswersForIt() {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'std', Email = 'std@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Std',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'std' + Crypto.getRandomInteger() + '@example.com');
        Assert.isTrue(Schema.Campaign.SObjectType.getDescribe().isAccessible());
        System.runAs(u) {
            Assert.areEqual(p.Id, UserInfo.getProfileId());
            Assert.isFalse(Schema.Campaign.SObjectType.getDescribe().isAccessible());
            Assert.isFalse(Schema.Campaign.Name.getDescribe().isAccessible());
            Assert.isTrue(Schema.Account.SObjectType.getDescribe().isAccessible());
        }
        Assert.isNotNull(u.Id);
        Assert.areEqual(0, Limits.getDmlStatements());
        Assert.areEqual(1, [SELECT COUNT() FROM User WHERE Id = :u.Id]);
        Assert.isNull([SELECT ContactId, AccountId FROM User WHERE Id = :u.Id].ContactId);  // an internal user
    }
}"""


def test_org_defaults_and_run_as_a_new_user(org) -> None:
    files = {"objects/Knobs__c.object": SETTING, "classes/UsersTest.cls": USERS_TEST,
             "classes/UsersTest.cls-meta.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ApexClass {NS}>'
                                                "<apiVersion>62.0</apiVersion><status>Active</status></ApexClass>"),
             "package.xml": package_xml({"CustomObject": ["Knobs__c"], "ApexClass": ["UsersTest"]})}
    job = org.deployer.deploy_zip(zip_files(files))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    results = {r.method_name: (r.outcome, r.message, r.stack_trace) for r in runtime.run_tests(["UsersTest"])}
    assert all(v[0] == "Pass" for v in results.values()), results


def permission_set(*custom_permissions: str) -> str:
    enabled = "".join(f"<customPermissions><enabled>true</enabled><name>{n}</name></customPermissions>"
                      for n in custom_permissions)
    return (f'<?xml version="1.0" encoding="UTF-8"?><PermissionSet {NS}><hasActivationRequired>false'
            f"</hasActivationRequired><label>Purge Admins</label>{enabled}"
            "<customPermissions><enabled>false</enabled><name>CanPurge</name></customPermissions></PermissionSet>"
            if not custom_permissions else
            f'<?xml version="1.0" encoding="UTF-8"?><PermissionSet {NS}><hasActivationRequired>false'
            f"</hasActivationRequired><label>Purge Admins</label>{enabled}</PermissionSet>")


ADMINS_TEST = """@IsTest private class AdminsTest {
    @IsTest static void assignedPermissionSetGrantsItsCustomPermissions() {
        PermissionSet ps = [SELECT Id FROM PermissionSet WHERE Name = 'PurgeAdmins'];
        Id permissionId = [SELECT Id FROM CustomPermission WHERE DeveloperName = 'CanPurge'].Id;
        List<SetupEntityAccess> rows = [SELECT SetupEntityId, SetupEntityType FROM SetupEntityAccess WHERE ParentId = :ps.Id];
        Assert.areEqual(1, rows.size());
        Assert.areEqual(permissionId, rows[0].SetupEntityId);
        Assert.areEqual('CustomPermission', rows[0].SetupEntityType);
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'std', Email = 'std@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Std',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'std' + Crypto.getRandomInteger() + '@example.com');
        insert u;
        System.runAs(u) { Assert.isFalse(FeatureManagement.checkPermission('CanPurge')); }
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetId = ps.Id);
        System.runAs(u) { Assert.isTrue(FeatureManagement.checkPermission('CanPurge')); }
    }
}"""


def admins_files(permission_set_body: str, with_permission: bool = True) -> dict[str, str]:
    out = {"permissionsets/PurgeAdmins.permissionset": permission_set_body, "classes/AdminsTest.cls": ADMINS_TEST,
           "classes/AdminsTest.cls-meta.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ApexClass {NS}>'
                                               "<apiVersion>62.0</apiVersion><status>Active</status></ApexClass>")}
    members = {"PermissionSet": ["PurgeAdmins"], "ApexClass": ["AdminsTest"]}
    if with_permission:
        out["customPermissions/CanPurge.customPermission"] = PERMISSION
        members["CustomPermission"] = ["CanPurge"]
    out["package.xml"] = package_xml(members)
    return out


def test_a_permission_set_enabling_a_custom_permission_grants_it_to_its_assignees(org) -> None:
    for _ in range(2):  # deploying again changes nothing: one SetupEntityAccess row, not two
        job = org.deployer.deploy_zip(zip_files(admins_files(permission_set("CanPurge"))))
        assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    results = {r.method_name: (r.outcome, r.message, r.stack_trace) for r in runtime.run_tests(["AdminsTest"])}
    assert results == {"assignedPermissionSetGrantsItsCustomPermissions": ("Pass", None, None)}, results
    job = org.deployer.deploy_zip(zip_files(admins_files(permission_set())))  # CanPurge now disabled: row gone
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    with org.context.data.transaction() as tx:
        ps = tx.query("SELECT Id FROM PermissionSet WHERE Name = 'PurgeAdmins'").records[0]["Id"]
        assert tx.query("SELECT Id FROM SetupEntityAccess WHERE ParentId = :p", {"p": ps}).records == []


def test_a_permission_set_naming_an_unknown_custom_permission_fails_the_deploy_with_its_line(org) -> None:
    job = org.deployer.deploy_zip(zip_files(admins_files(permission_set("NoSuchThing"), with_permission=False)))
    assert job.status == "Failed"
    failure = next(f for f in job.failures if f.full_name == "PurgeAdmins")
    assert "no CustomPermission named NoSuchThing found" in failure.problem and failure.line == 1


FLOW = f"""<?xml version="1.0" encoding="UTF-8"?><Flow {NS}><apiVersion>62.0</apiVersion>
<description>Stamps tickets</description><label>Ticket Stamp</label>
<processMetadataValues><name>BuilderType</name><value><stringValue>LightningFlowBuilder</stringValue></value></processMetadataValues>
<processType>AutoLaunchedFlow</processType>
<start><locationX>0</locationX><locationY>0</locationY><object>Ticket__c</object><recordTriggerType>Create</recordTriggerType>
<triggerType>RecordAfterSave</triggerType><triggerOrder>500</triggerOrder></start><status>{{status}}</status></Flow>"""
FLOWS_TEST = """@IsTest private class FlowsTest {
    @IsTest static void deployedFlowHasDefinitionAndVersionRows() {
        FlowDefinitionView d = [SELECT ActiveVersionId, LatestVersionId, ApiName, Label, Description, DurableId, ProcessType,
            IsActive, TriggerType, RecordTriggerType, TriggerOrder, ManageableState, Builder, ApiVersion, LastModifiedBy,
            LastModifiedDate FROM FlowDefinitionView WHERE ApiName = 'Ticket_Stamp' AND IsActive = TRUE];
        Assert.areEqual('Ticket Stamp', d.Label);
        Assert.areEqual('Stamps tickets', d.Description);
        Assert.areEqual('AutoLaunchedFlow', d.ProcessType);
        Assert.areEqual('RecordAfterSave', d.TriggerType);
        Assert.areEqual('Create', d.RecordTriggerType);
        Assert.areEqual(500, d.TriggerOrder);
        Assert.areEqual('unmanaged', d.ManageableState);
        Assert.areEqual('LightningFlowBuilder', d.Builder);
        Assert.areEqual(62, d.ApiVersion);
        Assert.isNotNull(d.LastModifiedBy);
        Assert.isNotNull(d.LastModifiedDate);
        Assert.areEqual(d.ActiveVersionId, d.LatestVersionId);
        FlowVersionView v = [SELECT ApiVersionRuntime, FlowDefinitionViewId, RunInMode, Status, VersionNumber
            FROM FlowVersionView WHERE DurableId = :d.ActiveVersionId];
        Assert.areEqual(d.DurableId, v.FlowDefinitionViewId);
        Assert.areEqual(62.0, v.ApiVersionRuntime);
        Assert.areEqual('DefaultMode', v.RunInMode);
        Assert.areEqual('Active', v.Status);
        Assert.areEqual(1, v.VersionNumber);
    }
}"""


def test_a_deployed_flow_is_listed_in_flow_definition_and_version_views(org) -> None:
    def files(status: str) -> dict[str, str]:
        return {"objects/Ticket__c.object": TICKET, "flows/Ticket_Stamp.flow": FLOW.replace("{status}", status),
                "classes/FlowsTest.cls": FLOWS_TEST,
                "classes/FlowsTest.cls-meta.xml": (f'<?xml version="1.0" encoding="UTF-8"?><ApexClass {NS}>'
                                                   "<apiVersion>62.0</apiVersion><status>Active</status></ApexClass>"),
                "package.xml": package_xml({"CustomObject": ["Ticket__c"], "Flow": ["Ticket_Stamp"],
                                            "ApexClass": ["FlowsTest"]})}
    for _ in range(2):  # a redeploy updates the rows in place
        job = org.deployer.deploy_zip(zip_files(files("Active")))
        assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    results = {r.method_name: (r.outcome, r.message, r.stack_trace) for r in runtime.run_tests(["FlowsTest"])}
    assert results == {"deployedFlowHasDefinitionAndVersionRows": ("Pass", None, None)}, results
    with org.context.data.transaction() as tx:
        assert len(tx.query("SELECT Id FROM FlowDefinitionView WHERE ApiName = 'Ticket_Stamp'").records) == 1
        assert len(tx.query("SELECT Id FROM FlowVersionView").records) == 1
    job = org.deployer.deploy_zip(zip_files(files("Draft")))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    with org.context.data.transaction() as tx:
        row = tx.query("SELECT IsActive, ActiveVersionId FROM FlowDefinitionView WHERE ApiName = 'Ticket_Stamp'").records[0]
        assert (row["IsActive"], row["ActiveVersionId"]) == (False, None)


APPROVAL = f"""<?xml version="1.0" encoding="UTF-8"?><ApprovalProcess {NS}><active>true</active><label>Ticket approval</label>
<processOrder>1</processOrder><approvalStep><name>Lead</name><label>Lead</label>
<assignedApprover><approver><type>adhoc</type></approver></assignedApprover></approvalStep>
<finalApprovalRecordLock>false</finalApprovalRecordLock><finalRejectionRecordLock>false</finalRejectionRecordLock>
<recordEditability>AdminOnly</recordEditability></ApprovalProcess>"""
TICKET_WITH_VIEW = TICKET.replace("</CustomObject>", "<listViews><fullName>All</fullName><filterScope>Everything</filterScope>"
                                  "<label>All Tickets</label></listViews><listViews><fullName>Urgent</fullName>"
                                  "<columns>NAME</columns><filterScope>Everything</filterScope><filters><field>NAME</field>"
                                  "<operation>contains</operation><value>urgent</value></filters><label>Urgent</label>"
                                  "</listViews></CustomObject>")


def test_approval_processes_and_list_views_deploy_as_rows(org) -> None:
    workflow = (f'<?xml version="1.0" encoding="UTF-8"?><Workflow {NS}><fieldUpdates><fullName>Rename</fullName>'
                "<field>Name</field><literalValue>Done</literalValue><operation>Literal</operation></fieldUpdates></Workflow>")
    files = {"objects/Ticket__c.object": TICKET_WITH_VIEW,
             "approvalProcesses/Ticket__c.Ticket_Approval.approvalProcess": APPROVAL,
             "workflows/Ticket__c.workflow": workflow,
             "package.xml": package_xml({"CustomObject": ["Ticket__c"], "ApprovalProcess": ["Ticket__c.Ticket_Approval"],
                                         "Workflow": ["Ticket__c"]})}
    job = org.deployer.deploy_zip(zip_files(files))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    with org.store.transaction() as tx:
        [process] = tx.query("SELECT Name, DeveloperName, TableEnumOrId, State FROM ProcessDefinition "
                             "WHERE TableEnumOrId = 'Ticket__c'").records
        views = tx.query("SELECT Name, DeveloperName FROM ListView WHERE SobjectType = 'Ticket__c' ORDER BY Name").records
    assert (process["Name"], process["DeveloperName"], process["State"]) == ("Ticket approval", "Ticket_Approval", "Active")
    with org.store.transaction() as tx:
        assert named_definition(tx, FIELD_UPDATE, "Ticket__c.Rename")["literalValue"] == "Done"
    assert [(v["Name"], v["DeveloperName"]) for v in views] == [("All Tickets", "All"), ("Urgent", "Urgent")]
    # the REST List Views resources (http/listviews.py)
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")
    for name in ("Urgent printer", "Routine", "Very urgent call"):
        sf.Ticket__c.create({"Name": name})
    listed = sf.restful("sobjects/Ticket__c/listviews")
    assert (listed["size"], listed["sobjectType"], [v["label"] for v in listed["listviews"]]) == (
        2, "Ticket__c", ["All Tickets", "Urgent"])
    urgent = listed["listviews"][1]
    assert urgent["resultsUrl"] == f"/services/data/v62.0/sobjects/Ticket__c/listviews/{urgent['id']}/results"
    found = sf.restful(f"sobjects/Ticket__c/listviews/{urgent['id']}/results", params={"limit": 1})
    assert (found["size"], found["done"], found["developerName"]) == (1, False, "Urgent")
    assert found["records"][0]["columns"][0] == {"fieldNameOrPath": "Name", "value": "Urgent printer"}
    assert [c["fieldNameOrPath"] for c in found["columns"]] == ["Name", "Id"] and found["columns"][1]["hidden"]
    described = sf.restful(f"sobjects/Ticket__c/listviews/{urgent['id']}/describe")
    assert described["scope"] == "everything" and described["query"].startswith("SELECT Id, Name FROM Ticket__c WHERE")
    bad = dict(files, **{"approvalProcesses/Nope__c.X.approvalProcess": APPROVAL,
                         "package.xml": package_xml({"ApprovalProcess": ["Nope__c.X"]})})
    del bad["objects/Ticket__c.object"], bad["approvalProcesses/Ticket__c.Ticket_Approval.approvalProcess"]
    del bad["workflows/Ticket__c.workflow"]
    failed = org.deployer.deploy_zip(zip_files(bad))
    assert failed.status == "Failed" and "Nope__c" in failed.failures[0].problem


PROFILE = (f'<?xml version="1.0" encoding="UTF-8"?><Profile {NS}><custom>false</custom>'
           "<customPermissions><enabled>true</enabled><name>CanPurge</name></customPermissions></Profile>")
GROUPED_SET = (f'<?xml version="1.0" encoding="UTF-8"?><PermissionSet {NS}><hasActivationRequired>false'
               "</hasActivationRequired><label>Approvers Set</label>"
               "<customPermissions><enabled>true</enabled><name>CanApprove</name></customPermissions></PermissionSet>")
PERMISSION_SET_GROUP = (f'<?xml version="1.0" encoding="UTF-8"?><PermissionSetGroup {NS}><description>Approvers'
                        "</description><label>Approvers</label><permissionSets>ApproversSet</permissionSets>"
                        "<status>Updated</status></PermissionSetGroup>")
GRANTS_TEST = """@IsTest private class GrantsTest {
    @IsTest static void profilesAndPermissionSetGroupsGrantCustomPermissions() {
        Profile p = [SELECT Id FROM Profile WHERE Name = 'Standard User'];
        User u = new User(Alias = 'std', Email = 'std@example.com', EmailEncodingKey = 'UTF-8', LastName = 'Std',
            LanguageLocaleKey = 'en_US', LocaleSidKey = 'en_US', ProfileId = p.Id, TimeZoneSidKey = 'GMT',
            Username = 'grants' + Crypto.getRandomInteger() + '@example.com');
        insert u;
        System.runAs(u) {
            Assert.isTrue(FeatureManagement.checkPermission('CanPurge'), 'the Standard User profile enables it');
            Assert.isFalse(FeatureManagement.checkPermission('CanApprove'));
        }
        Assert.isFalse(FeatureManagement.checkPermission('CanPurge'), 'the admin profile does not');
        PermissionSetGroup g = [SELECT Id, Status FROM PermissionSetGroup WHERE DeveloperName = 'Approvers'];
        Assert.areEqual(1, [SELECT COUNT() FROM PermissionSetGroupComponent WHERE PermissionSetGroupId = :g.Id]);
        insert new PermissionSetAssignment(AssigneeId = u.Id, PermissionSetGroupId = g.Id);
        System.runAs(u) { Assert.isTrue(FeatureManagement.checkPermission('CanApprove'), 'through the group'); }
    }
}"""


def grants_files() -> dict[str, str]:
    meta = f'<?xml version="1.0" encoding="UTF-8"?><ApexClass {NS}><apiVersion>62.0</apiVersion><status>Active</status></ApexClass>'
    approve = PERMISSION.replace("Can Purge", "Can Approve")
    return {"customPermissions/CanPurge.customPermission": PERMISSION,
            "customPermissions/CanApprove.customPermission": approve,
            "profiles/Standard.profile": PROFILE, "permissionsets/ApproversSet.permissionset": GROUPED_SET,
            "permissionsetgroups/Approvers.permissionsetgroup": PERMISSION_SET_GROUP,
            "classes/GrantsTest.cls": GRANTS_TEST, "classes/GrantsTest.cls-meta.xml": meta,
            "package.xml": package_xml({"CustomPermission": ["CanPurge", "CanApprove"], "Profile": ["Standard"],
                                        "PermissionSet": ["ApproversSet"], "PermissionSetGroup": ["Approvers"],
                                        "ApexClass": ["GrantsTest"]})}


def test_profiles_and_permission_set_groups_grant_custom_permissions(org) -> None:
    for _ in range(2):  # deploying again changes nothing: no doubled rows
        job = org.deployer.deploy_zip(zip_files(grants_files()))
        assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    results = {r.method_name: (r.outcome, r.message) for r in runtime.run_tests(["GrantsTest"])}
    assert results == {"profilesAndPermissionSetGroupsGrantCustomPermissions": ("Pass", None)}, results
    broken = grants_files()
    broken["permissionsetgroups/Approvers.permissionsetgroup"] = PERMISSION_SET_GROUP.replace(
        "<permissionSets>ApproversSet", "<permissionSets>NoSuchSet")
    job = org.deployer.deploy_zip(zip_files(broken))
    failure = next(f for f in job.failures if f.full_name == "Approvers")
    assert job.status == "Failed" and "no PermissionSet named NoSuchSet found" in failure.problem, failure


PRIVATE = f"""<?xml version="1.0" encoding="UTF-8"?><CustomObject {NS}>
<label>Case File</label><pluralLabel>Case Files</pluralLabel><nameField><label>Name</label><type>Text</type></nameField>
<deploymentStatus>Deployed</deploymentStatus><sharingModel>Private</sharingModel>
<sharingReasons><fullName>Investigator__c</fullName><label>Investigator</label></sharingReasons></CustomObject>"""


def test_user_record_access_and_definitions_through_rest_soql(org) -> None:
    import requests

    job = org.deployer.deploy_zip(zip_files({"objects/Case_File__c.object": PRIVATE,
                                             "package.xml": package_xml({"CustomObject": ["Case_File__c"]})}))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    api = org.url + "/services/data/v62.0"
    headers = {"Authorization": f"Bearer {org.access_token}"}

    def query(soql: str) -> requests.Response:
        return requests.get(api + "/query", params={"q": soql}, headers=headers)

    with org.context.data.transaction() as tx:
        profile = tx.query("SELECT Id FROM Profile WHERE Name = 'Standard User'").records[0]["Id"]
        user = tx.insert("User", [{"Username": "reader@example.com", "LastName": "Reader", "Alias": "reader",
                                   "Email": "reader@example.com", "ProfileId": profile, "TimeZoneSidKey": "GMT",
                                   "LocaleSidKey": "en_US", "EmailEncodingKey": "UTF-8",
                                   "LanguageLocaleKey": "en_US"}])[0].id
        account = tx.insert("Account", [{"Name": "Visible"}])[0].id
        record = tx.insert("Case_File__c", [{"Name": "Secret"}])[0].id
        permission_set = tx.insert("PermissionSet", [{"Name": "CaseFiles", "Label": "Case Files"}])[0].id
        tx.insert("ObjectPermissions", [{"ParentId": permission_set, "SobjectType": "Case_File__c",
                                         "PermissionsRead": True, "PermissionsEdit": True}])
        tx.insert("PermissionSetAssignment", [{"AssigneeId": user, "PermissionSetId": permission_set}])

    def access() -> dict[str, tuple[bool, bool, str]]:
        rows = query(f"SELECT RecordId, HasReadAccess, HasEditAccess, MaxAccessLevel FROM UserRecordAccess WHERE "
                     f"UserId = '{user}' AND RecordId IN ('{account}', '{record}')").json()["records"]
        return {r["RecordId"]: (r["HasReadAccess"], r["HasEditAccess"], r["MaxAccessLevel"]) for r in rows}

    # Account is Public Read/Write; the Private custom object grants nothing until it is shared
    assert access() == {account: (True, True, "Edit"), record: (False, False, "None")}
    shared = requests.post(api + "/sobjects/Case_File__Share", headers=headers,
                           json={"ParentId": record, "UserOrGroupId": user, "AccessLevel": "Edit",
                                 "RowCause": "Investigator__c"})
    assert shared.status_code == 201, shared.text
    owner_rows = query(f"SELECT RowCause, AccessLevel FROM Case_File__Share WHERE ParentId = '{record}' "
                       "AND RowCause = 'Owner'").json()["records"]
    assert [(r["RowCause"], r["AccessLevel"]) for r in owner_rows] == [("Owner", "All")]
    assert access() == {account: (True, True, "Edit"), record: (True, True, "Edit")}
    missing = query(f"SELECT RecordId FROM UserRecordAccess WHERE UserId = '{user}'")
    assert missing.status_code == 400 and missing.json()[0]["errorCode"] == "MALFORMED_QUERY"
    entity = query("SELECT DurableId, KeyPrefix, InternalSharingModel FROM EntityDefinition "
                   "WHERE QualifiedApiName = 'Case_File__c'").json()["records"]
    assert [(e["DurableId"], e["InternalSharingModel"]) for e in entity] == [("Case_File__c", "Private")]
    fields = query("SELECT QualifiedApiName, DataType FROM FieldDefinition "
                   "WHERE EntityDefinition.QualifiedApiName = 'Case_File__c' ORDER BY QualifiedApiName").json()
    assert ("Name", "Text(80)") in [(f["QualifiedApiName"], f["DataType"]) for f in fields["records"]], fields
    unfiltered = query("SELECT QualifiedApiName FROM FieldDefinition")
    assert unfiltered.status_code == 400, unfiltered.text
    error = unfiltered.json()[0]
    assert (error["errorCode"], error["message"]) == ("MALFORMED_QUERY", "FieldDefinition: a filter on a reified "
                                                      "column is required [EntityDefinitionId,DurableId]")


def test_a_deployed_standard_object_sharing_model_is_its_org_wide_default(org) -> None:
    account = f'<?xml version="1.0" encoding="UTF-8"?><CustomObject {NS}><sharingModel>Private</sharingModel></CustomObject>'
    job = org.deployer.deploy_zip(zip_files({"objects/Account.object": account,
                                             "package.xml": package_xml({"CustomObject": ["Account"]})}))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    with org.context.data.transaction() as tx:
        account_id = tx.insert("Account", [{"Name": "Private now"}])[0].id
        rows = tx.query("SELECT RowCause, AccountAccessLevel FROM AccountShare WHERE AccountId = :a",
                        {"a": account_id}).records
    assert [(r["RowCause"], r["AccountAccessLevel"]) for r in rows] == [("Owner", "All")]
