"""Custom metadata types, their records and platform events through a Metadata API deploy (issue 18)."""
from __future__ import annotations

from tests.mdapi import package_xml, zip_files

SETTING = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Setting</label><pluralLabel>Settings</pluralLabel><visibility>Public</visibility>
<fields><fullName>Object__c</fullName><label>Object</label><referenceTo>EntityDefinition</referenceTo>
<relationshipName>Settings</relationshipName><type>MetadataRelationship</type></fields>
</CustomObject>"""
ACTION = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Action</label><pluralLabel>Actions</pluralLabel><visibility>Public</visibility>
<fields><fullName>Setting__c</fullName><label>Setting</label><referenceTo>Setting__mdt</referenceTo>
<relationshipName>Actions</relationshipName><type>MetadataRelationship</type></fields>
<fields><fullName>Order__c</fullName><label>Order</label><precision>4</precision><scale>0</scale><type>Number</type></fields>
</CustomObject>"""
EVENT = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Ping</label><pluralLabel>Pings</pluralLabel><eventType>HighVolume</eventType>
<publishBehavior>PublishAfterCommit</publishBehavior>
<fields><fullName>Text__c</fullName><label>Text</label><length>80</length><type>Text</type></fields>
</CustomObject>"""


def record(label: str, values: dict[str, str], protected: bool = False) -> str:
    body = "".join(f'<values><field>{k}</field><value xsi:type="xsd:string">{v}</value></values>' for k, v in values.items())
    return ('<?xml version="1.0" encoding="UTF-8"?><CustomMetadata xmlns="http://soap.sforce.com/2006/04/metadata" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
            f"<label>{label}</label><protected>{str(protected).lower()}</protected>{body}</CustomMetadata>")


def files(extra_records: dict[str, str] | None = None) -> dict[str, str]:
    out = {
        "objects/Setting__mdt.object": SETTING, "objects/Action__mdt.object": ACTION, "objects/Ping__e.object": EVENT,
        "customMetadata/Setting.Accounts.md": record("Accounts", {"Object__c": "Account"}),
        "customMetadata/Action.First.md": record("First", {"Setting__c": "Accounts", "Order__c": "1"}),
        **(extra_records or {}),
    }
    members = {"CustomObject": ["Setting__mdt", "Action__mdt", "Ping__e"],
               "CustomMetadata": [n.split("/")[1][:-3] for n in out if n.startswith("customMetadata/")]}
    out["package.xml"] = package_xml(members)
    return out


def test_custom_metadata_is_readable_by_soql_and_get_all_and_not_writable(org) -> None:
    job = org.deployer.deploy_zip(zip_files(files()))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    result = runtime.execute_anonymous("""
        Action__mdt a = [SELECT DeveloperName, Order__c, Setting__r.Object__c, Setting__r.Object__r.QualifiedApiName
                         FROM Action__mdt];
        System.debug(a.DeveloperName + ' ' + a.Order__c + ' ' + a.Setting__r.Object__c + ' '
                     + a.Setting__r.Object__r.QualifiedApiName);
        System.debug(Action__mdt.getAll().keySet() + ' ' + Action__mdt.getInstance('First').Order__c
                     + ' ' + Action__mdt.getInstance('Missing'));
        try { insert new Action__mdt(DeveloperName = 'Second'); } catch (DmlException e) { System.debug(e.getDmlType(0)); }
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["First 1 Account Account", "{First} 1 null", "INVALID_TYPE"]


def test_is_protected_is_a_standard_field_of_a_type_its_list_views_and_soql_can_name(org) -> None:
    listed = SETTING.replace("</CustomObject>", "<listViews><fullName>All</fullName><columns>DeveloperName</columns>"
                             "<columns>IsProtected</columns><filterScope>Everything</filterScope><label>All</label>"
                             "</listViews></CustomObject>")
    out = files({"customMetadata/Setting.Locked.md": record("Locked", {"Object__c": "Contact"}, protected=True)})
    out["objects/Setting__mdt.object"] = listed
    out["package.xml"] = package_xml({"CustomObject": ["Setting__mdt", "Action__mdt", "Ping__e"],
                                      "CustomMetadata": ["Setting.Accounts", "Action.First", "Setting.Locked"]})
    job = org.deployer.deploy_zip(zip_files(out))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    result = org.context.extras["apex_runtime"].execute_anonymous(
        "for (Setting__mdt s : [SELECT DeveloperName, IsProtected FROM Setting__mdt ORDER BY DeveloperName]) {"
        " System.debug(s.DeveloperName + ' ' + s.IsProtected); }")
    assert result.success, result.exception_message
    assert [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"] == [
        "Accounts false", "Locked true"]
    with org.store.transaction() as tx:  # the deployed list view is a ListView row (metadata/list_views.py)
        views = tx.query("SELECT Name, DeveloperName FROM ListView WHERE SobjectType = 'Setting__mdt'").records
    assert [(v["Name"], v["DeveloperName"]) for v in views] == [("All", "All")]


def test_a_record_of_an_unknown_type_or_field_fails_the_deploy_with_its_line(org) -> None:
    bad = {"customMetadata/Missing.One.md": record("One", {"X__c": "1"}),
           "customMetadata/Action.Second.md": record("Second", {"Nope__c": "1"})}
    job = org.deployer.deploy_zip(zip_files(files(bad)))
    failures = {f.full_name: f for f in job.failures}
    assert job.status == "Failed" and {"Missing.One", "Action.Second"} <= set(failures)
    assert "Missing__mdt" in failures["Missing.One"].problem
    assert "Nope__c" in failures["Action.Second"].problem and failures["Action.Second"].line >= 1


def test_platform_events_are_delivered_after_commit_to_their_triggers(org) -> None:
    deployed = org.deployer.deploy_zip(zip_files(files()))
    assert deployed.status == "Succeeded"
    runtime = org.context.extras["apex_runtime"]
    runtime.deploy({"PingTrigger.trigger": "trigger PingTrigger on Ping__e (after insert) {"
                                           " for (Ping__e p : Trigger.new) { insert new Contact(LastName = p.Text__c); } }"})
    result = runtime.execute_anonymous("Database.SaveResult r = EventBus.publish(new Ping__e(Text__c = 'Pinged'));"
                                       " System.debug(r.isSuccess() + ' ' + [SELECT COUNT() FROM Contact]);")
    assert result.success, result.exception_message
    assert [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"] == ["true 0"]
    check = runtime.execute_anonymous("System.debug([SELECT COUNT() FROM Contact WHERE LastName = 'Pinged']);")
    assert [m for _, level, m in check.transaction.debug_entries if level == "DEBUG"] == ["1"]


LEVELS = """<?xml version="1.0" encoding="UTF-8"?><GlobalValueSet xmlns="http://soap.sforce.com/2006/04/metadata">
<customValue><fullName>ERROR</fullName><default>false</default><label>Error</label></customValue>
<customValue><fullName>INFO</fullName><default>false</default><label>Info</label></customValue>
<masterLabel>Levels</masterLabel><sorted>false</sorted></GlobalValueSet>"""


def entry_object(value_set: str) -> str:
    return ("""<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Entry</label><pluralLabel>Entries</pluralLabel><deploymentStatus>Deployed</deploymentStatus>
<nameField><label>Name</label><type>Text</type></nameField><sharingModel>ReadWrite</sharingModel>
<fields><fullName>Level__c</fullName><label>Level</label><type>Picklist</type>
<valueSet><restricted>true</restricted><valueSetName>""" + value_set + """</valueSetName></valueSet></fields>
</CustomObject>""")


def test_a_picklist_on_a_global_value_set_takes_its_values(org) -> None:
    out = {"globalValueSets/Levels.globalValueSet": LEVELS, "objects/Entry__c.object": entry_object("Levels")}
    out["package.xml"] = package_xml({"GlobalValueSet": ["Levels"], "CustomObject": ["Entry__c"]})
    job = org.deployer.deploy_zip(zip_files(out))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    result = org.context.extras["apex_runtime"].execute_anonymous("""
        insert new Entry__c(Name = 'a', Level__c = 'INFO');
        try { insert new Entry__c(Name = 'b', Level__c = 'LOUD'); } catch (DmlException e) { System.debug(e.getDmlType(0)); }
        List<String> values = new List<String>();
        for (Schema.PicklistEntry p : Entry__c.Level__c.getDescribe().getPicklistValues()) { values.add(p.getValue()); }
        System.debug(String.join(values, ','));""")
    assert result.success, result.exception_message
    assert [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"] == [
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "ERROR,INFO"]
    missing = {"objects/Other__c.object": entry_object("NoSuchSet").replace("Entry", "Other")}
    missing["package.xml"] = package_xml({"CustomObject": ["Other__c"]})
    job = org.deployer.deploy_zip(zip_files(missing))
    assert [(f.full_name, f.problem) for f in job.failures] == [
        ("Other__c", "Field Level__c: no GlobalValueSet named NoSuchSet found")]


def test_a_platform_event_has_an_id_in_apex(org) -> None:
    """Every SObject has an Id in Apex; test doubles set one on events they never publish (NebulaLogger)."""
    assert org.deployer.deploy_zip(zip_files(files())).status == "Succeeded"
    result = org.context.extras["apex_runtime"].execute_anonymous(
        "Ping__e p = new Ping__e(Text__c = 'x'); System.debug(p.Id); SObject s = p;"
        " s.Id = '001000000000001AAA'; System.debug(p.Id + ' ' + s.get('Id'));")
    assert result.success, result.exception_message
    assert [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"] == [
        "null", "001000000000001AAA 001000000000001AAA"]


RULE = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Rule</label><pluralLabel>Rules</pluralLabel><visibility>Public</visibility>
<fields><fullName>SObjectType__c</fullName><label>Object</label><referenceTo>EntityDefinition</referenceTo>
<relationshipName>Rules</relationshipName><type>MetadataRelationship</type></fields>
<fields><fullName>SObjectField__c</fullName><label>Field</label><referenceTo>FieldDefinition</referenceTo>
<metadataRelationshipControllingField>Rule__mdt.SObjectType__c</metadataRelationshipControllingField>
<relationshipName>Rules</relationshipName><type>MetadataRelationship</type></fields>
</CustomObject>"""


def test_a_field_relationship_named_by_its_field_joins_field_definition(org) -> None:
    """The NebulaLogger shape: a FieldDefinition relationship whose object is another field's value; its
    record holds the field's name alone."""
    out = {"objects/Rule__mdt.object": RULE,
           "customMetadata/Rule.Phones.md": record("Phones", {"SObjectType__c": "Account", "SObjectField__c": "Phone"}),
           "package.xml": package_xml({"CustomObject": ["Rule__mdt"], "CustomMetadata": ["Rule.Phones"]})}
    job = org.deployer.deploy_zip(zip_files(out))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    runtime = org.context.extras["apex_runtime"]
    result = runtime.execute_anonymous("""
        Rule__mdt r = [SELECT SObjectField__c, SObjectField__r.QualifiedApiName, SObjectType__r.QualifiedApiName
                       FROM Rule__mdt WHERE SObjectType__r.DeveloperName = 'Account'];
        Assert.areEqual('Phone', r.SObjectField__r.QualifiedApiName);
        Assert.areEqual('Account', r.SObjectType__r.QualifiedApiName);
        Assert.areEqual(1, [SELECT COUNT() FROM FieldDefinition WHERE EntityDefinitionId = 'Account'
                            AND QualifiedApiName = 'Phone']);
        r = [SELECT SObjectField__r.QualifiedApiName FROM Rule__mdt];
        Assert.areEqual('Phone', r.SObjectField__r.QualifiedApiName);
    """)
    assert result.success, (result.exception_message, result.line)
