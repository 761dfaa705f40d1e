"""Field sets: a deploy stores an object's ``<fieldSets>`` (custom and standard objects, relationship paths),
refuses one naming a field the org does not have, and Apex reads them through ``fieldSets.getMap()``,
``fieldSets.Name``, ``Schema.FieldSet`` and ``Schema.FieldSetMember``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.localorg_http.fixtures import meta
from tests.mdapi import package_xml, zip_files

PROJECT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Project</label><pluralLabel>Projects</pluralLabel>
    <nameField><label>Project Name</label><type>Text</type></nameField>
    <deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel>
    <fields><fullName>Budget__c</fullName><label>Budget</label><type>Number</type>
        <precision>10</precision><scale>2</scale><required>true</required></fields>
    <fields><fullName>Notes__c</fullName><label>Notes</label><type>TextArea</type></fields>
    <fields><fullName>Client__c</fullName><label>Client</label><type>Lookup</type><referenceTo>Account</referenceTo>
        <relationshipName>Client</relationshipName><deleteConstraint>SetNull</deleteConstraint></fields>
    <fieldSets>
        <fullName>Summary_Fields</fullName>
        <description>Shown on the project card</description>
        <displayedFields><field>Name</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></displayedFields>
        <displayedFields><field>budget__c</field><isFieldManaged>false</isFieldManaged><isRequired>true</isRequired></displayedFields>
        <displayedFields><field>Client__r.Name</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></displayedFields>
        <availableFields><field>Notes__c</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></availableFields>
        <label>Summary Fields</label>
    </fieldSets>
    <fieldSets>
        <fullName>Notes_Only</fullName>
        <description>Notes</description>
        <displayedFields><field>Notes__c</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></displayedFields>
        <label>Notes Only</label>
    </fieldSets>
</CustomObject>
"""

ACCOUNT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fieldSets>
        <fullName>Contact_Card</fullName>
        <description>Account card</description>
        <displayedFields><field>Phone</field><isFieldManaged>false</isFieldManaged><isRequired>true</isRequired></displayedFields>
        <label>Contact Card</label>
    </fieldSets>
</CustomObject>
"""

TEST_CLASS = """@IsTest
private class FieldSetTest {
    @IsTest static void map_holds_the_deployed_field_sets() {
        Map<String, Schema.FieldSet> sets = Schema.SObjectType.Project__c.fieldSets.getMap();
        System.assertEquals(new Set<String>{'summary_fields', 'notes_only'}, sets.keySet());
        Schema.FieldSet fs = sets.get('Summary_Fields');
        System.assertNotEquals(null, fs);
        System.assertEquals('Summary_Fields', fs.getName());
        System.assertEquals('Summary Fields', fs.getLabel());
        System.assertEquals('Shown on the project card', fs.getDescription());
        System.assert(String.isBlank(fs.getNamespace()));
        System.assertEquals(Project__c.SObjectType, fs.getSObjectType());
        System.assertEquals(null, sets.get('No_Such_Set'));
    }

    @IsTest static void members_describe_their_fields() {
        List<Schema.FieldSetMember> members = SObjectType.Project__c.FieldSets.Summary_Fields.getFields();
        System.assertEquals(3, members.size());
        List<String> paths = new List<String>();
        for (Schema.FieldSetMember m : members) { paths.add(m.getFieldPath()); }
        System.assertEquals('Name,Budget__c,Client__r.Name', String.join(paths, ','));
        System.assertEquals('Project Name', members[0].getLabel());
        System.assertEquals(Schema.DisplayType.STRING, members[0].getType());
        System.assertEquals(false, members[0].getRequired());
        System.assertEquals('Budget', members[1].getLabel());
        System.assertEquals(Schema.DisplayType.DOUBLE, members[1].getType());
        System.assertEquals(true, members[1].getRequired());
        System.assertEquals(true, members[1].getDbRequired());
        System.assertEquals(Project__c.Budget__c, members[1].getSObjectField());
        System.assertEquals(Account.Name, members[2].getSObjectField());
        System.assertEquals('Account Name', members[2].getLabel());
        List<Schema.FieldSetMember> notes = Project__c.SObjectType.getDescribe().fieldSets.getMap()
            .get('notes_only').getFields();
        System.assertEquals(false, notes[0].getDbRequired());
        System.assertEquals(Schema.DisplayType.TEXTAREA, notes[0].getType());
    }

    @IsTest static void paths_build_a_dynamic_query() {
        Account a = new Account(Name = 'Acme');
        insert a;
        insert new Project__c(Name = 'P1', Budget__c = 10, Client__c = a.Id);
        List<String> paths = new List<String>();
        for (Schema.FieldSetMember m : Schema.SObjectType.Project__c.fieldSets.getMap().get('summary_fields').getFields()) {
            paths.add(m.getFieldPath());
        }
        List<Project__c> rows = Database.query('SELECT ' + String.join(paths, ', ') + ' FROM Project__c');
        Project__c p = rows[0];
        System.assertEquals('Acme', p.Client__r.Name);
        System.assertEquals(10, p.Budget__c);
    }

    @IsTest static void standard_objects_have_field_sets_too() {
        Schema.FieldSet card = Schema.SObjectType.Account.fieldSets.getMap().get('Contact_Card');
        System.assertEquals('Contact Card', card.getLabel());
        System.assertEquals('Phone', card.getFields()[0].getFieldPath());
        System.assertEquals(true, card.getFields()[0].getRequired());
        System.assertEquals(0, Schema.SObjectType.Contact.fieldSets.getMap().size());
    }
}
"""


def _files(project: str = PROJECT) -> dict[str, str]:
    return {
        "objects/Project__c.object": project,
        "objects/Account.object": ACCOUNT,
        "classes/FieldSetTest.cls": TEST_CLASS,
        "classes/FieldSetTest.cls-meta.xml": meta("ApexClass"),
        "package.xml": package_xml({"CustomObject": ["Project__c", "Account"], "ApexClass": ["FieldSetTest"]}),
    }


@pytest.fixture()
def org(tmp_path: Any):
    from localcloud.salesforce.server import start_local_org

    running = start_local_org(tmp_path / "org", tls=False)
    yield running
    running.stop()


def test_deployed_field_sets_are_read_from_apex(org: Any) -> None:
    from localcloud.salesforce.metadata import DeployOptions

    job = org.deployer.deploy_zip(zip_files(_files()), DeployOptions(test_level="RunLocalTests"))
    assert [(f["methodName"], f["message"]) for f in job.tests.failures] == []
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert sorted(s["methodName"] for s in job.tests.successes) == [
        "map_holds_the_deployed_field_sets", "members_describe_their_fields", "paths_build_a_dynamic_query",
        "standard_objects_have_field_sets_too"]
    # kept in the object's definition, not in its REST describe (Salesforce's describe has no fieldSets key)
    od = org.store.schema.get("Project__c")
    assert [s["name"] for s in od.raw["_fieldSets"]] == ["Summary_Fields", "Notes_Only"]
    assert "_fieldSets" not in org.store.schema.describe("Project__c")


def test_a_field_set_naming_an_unknown_field_fails_the_deploy_and_names_it(org: Any) -> None:
    from localcloud.salesforce.metadata import DeployOptions

    bad = PROJECT.replace("<field>Client__r.Name</field>", "<field>Client__r.Nope__c</field>")
    job = org.deployer.deploy_zip(zip_files(_files(bad)), DeployOptions(test_level="NoTestRun"))
    assert job.status == "Failed"
    problems = [(f.full_name, f.problem, f.line) for f in job.failures]
    assert problems[0][0] == "Project__c"
    assert "field set Summary_Fields" in problems[0][1] and "Nope__c" in problems[0][1] and "Account" in problems[0][1]
    assert problems[0][2] == bad.splitlines().index("        <fullName>Summary_Fields</fullName>") + 1
    assert org.store.schema.find("Project__c") is None  # nothing of the failed deploy is kept


def test_a_redeploy_replaces_a_field_set_and_keeps_the_others(org: Any) -> None:
    from localcloud.salesforce.metadata import DeployOptions

    assert org.deployer.deploy_zip(zip_files(_files()), DeployOptions(test_level="NoTestRun")).status == "Succeeded"
    changed = PROJECT.replace(
        "<displayedFields><field>Notes__c</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></displayedFields>\n"
        "        <label>Notes Only</label>",
        "<displayedFields><field>Notes__c</field><isFieldManaged>false</isFieldManaged><isRequired>true</isRequired></displayedFields>\n"
        "        <displayedFields><field>Budget__c</field><isFieldManaged>false</isFieldManaged><isRequired>false</isRequired></displayedFields>\n"
        "        <label>Notes Only</label>")
    start = changed.index("    <fieldSets>\n        <fullName>Summary_Fields")
    end = changed.index("    <fieldSets>\n        <fullName>Notes_Only")
    only_notes = changed[:start] + changed[end:]
    files = _files(only_notes)
    job = org.deployer.deploy_zip(zip_files(files), DeployOptions(test_level="NoTestRun"))
    assert job.status == "Succeeded", [f.problem for f in job.failures]
    sets = {s["name"]: s for s in org.store.schema.get("Project__c").raw["_fieldSets"]}
    assert sorted(sets) == ["Notes_Only", "Summary_Fields"]
    assert [(f["path"], f["required"]) for f in sets["Notes_Only"]["fields"]] == [("Notes__c", True), ("Budget__c", False)]


def test_an_unknown_field_set_name_throws_in_apex(org: Any) -> None:
    from localcloud.salesforce.apex.orgruntime import ApexRuntime
    from localcloud.salesforce.metadata import DeployOptions

    assert org.deployer.deploy_zip(zip_files(_files()), DeployOptions(test_level="NoTestRun")).status == "Succeeded"
    source = ("@IsTest private class FsNameTest { @IsTest static void t() {"
              " Schema.FieldSet fs = SObjectType.Project__c.FieldSets.No_Such_Set; } }")
    results = ApexRuntime(org.store, {"FsNameTest.cls": source}).run_tests()
    assert [(r.outcome, r.message) for r in results] == [
        ("Fail", "System.SObjectException: Invalid field set no_such_set for Project__c")]
