"""``SELECT ... FROM ApexClass`` / ``ApexTrigger`` over REST and from Apex return the deployed classes
and triggers (issue 18), with the ids the Tooling API shows; a deploy that removes a class removes its row."""
from __future__ import annotations

from simple_salesforce import Salesforce

from tests.localorg_http.fixtures import GOOD_CLASS, mdapi_zip, meta
from tests.mdapi import package_xml, zip_files

EXTRA = "public with sharing class ExtraService {\n    // a comment\n    public static Integer one() { return 1; }\n}\n"


def test_rest_and_apex_soql_list_the_deployed_classes_and_triggers(org) -> None:
    job = org.deployer.deploy_zip(mdapi_zip())
    assert job.status == "Succeeded", [f.problem for f in job.failures]
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")
    classes = sf.query("SELECT Id, Name, NamespacePrefix, Status, ApiVersion, Body, LengthWithoutComments "
                       "FROM ApexClass WHERE Name = 'TestOrderService'")["records"]
    assert len(classes) == 1
    row = classes[0]
    assert (row["Name"], row["NamespacePrefix"], row["Status"], row["ApiVersion"]) == (
        "TestOrderService", None, "Active", 62.0)
    assert row["Body"] == GOOD_CLASS and row["LengthWithoutComments"] > 0
    tooling = sf.toolingexecute("query/?q=SELECT+Id+FROM+ApexClass+WHERE+Name='TestOrderService'")
    assert tooling["records"][0]["Id"] == row["Id"]  # one class, one id
    triggers = sf.query("SELECT Name, TableEnumOrId, Status FROM ApexTrigger")["records"]
    assert [(t["Name"], t["TableEnumOrId"], t["Status"]) for t in triggers] == [
        ("TestOrderTrigger", "Test_Order__c", "Active")]

    runtime = org.context.extras["apex_runtime"]
    result = runtime.execute_anonymous("""
        List<ApexClass> cs = [SELECT Id, Name, Status, ApiVersion, LengthWithoutComments FROM ApexClass ORDER BY Name];
        for (ApexClass c : cs) { System.debug(c.Name + ' ' + c.Status + ' ' + c.ApiVersion); }
        System.debug([SELECT COUNT() FROM ApexTrigger WHERE TableEnumOrId = 'Test_Order__c']);
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["TestOrderService Active 62.0", "1"]


def test_a_later_deploy_adds_and_removes_rows(org) -> None:
    assert org.deployer.deploy_zip(mdapi_zip()).status == "Succeeded"
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")
    added = org.deployer.deploy_zip(zip_files({
        "classes/ExtraService.cls": EXTRA, "classes/ExtraService.cls-meta.xml": meta("ApexClass"),
        "package.xml": package_xml({"ApexClass": ["ExtraService"]})}))
    assert added.status == "Succeeded", [f.problem for f in added.failures]
    names = [r["Name"] for r in sf.query("SELECT Name FROM ApexClass ORDER BY Name")["records"]]
    assert names == ["ExtraService", "TestOrderService"]
    removed = org.deployer.deploy_zip(zip_files({
        "package.xml": package_xml({}),
        "destructiveChanges.xml": package_xml({"ApexClass": ["ExtraService"]})}))
    assert removed.status == "Succeeded", [f.problem for f in removed.failures]
    names = [r["Name"] for r in sf.query("SELECT Name FROM ApexClass ORDER BY Name")["records"]]
    assert names == ["TestOrderService"]


def test_an_org_deployed_earlier_gets_its_rows_when_opened(tmp_path, certificates) -> None:
    from localcloud.salesforce.server import assemble_local_org

    first = assemble_local_org(tmp_path / "org")
    assert first.deployer.deploy_zip(mdapi_zip()).status == "Succeeded"
    with first.store.transaction() as tx:  # as an org from before the rows were kept
        tx.execute("DELETE FROM t_apexclass")
    first.store.close()
    again = assemble_local_org(tmp_path / "org")
    with again.store.transaction() as tx:
        assert [r["Name"] for r in tx.query("SELECT Name FROM ApexClass").records] == ["TestOrderService"]
