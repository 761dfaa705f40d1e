"""Small Metadata API fixtures written by these tests (source format and MDAPI zips)."""
from __future__ import annotations

from pathlib import Path

from tests.mdapi import package_xml, zip_files

API = "62.0"
FIXTURE_MEMBERS = {
    "ApexClass": ["TestOrderService"],
    "ApexTrigger": ["TestOrderTrigger"],
    "CustomObject": ["Contact", "Test_Order__c"],
    "PermissionSet": ["Test_Integration"],
}

ORDER_OBJECT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <deploymentStatus>Deployed</deploymentStatus>
    <label>Test Order</label>
    <pluralLabel>Test Orders</pluralLabel>
    <nameField>
        <label>Test Order Name</label>
        <type>Text</type>
    </nameField>
    <sharingModel>ReadWrite</sharingModel>
    <fields>
        <fullName>Order_Number__c</fullName>
        <externalId>true</externalId>
        <label>Order Number</label>
        <length>64</length>
        <required>false</required>
        <type>Text</type>
        <unique>true</unique>
    </fields>
    <fields>
        <fullName>Legacy_Key__c</fullName>
        <externalId>true</externalId>
        <label>Legacy Key</label>
        <length>32</length>
        <type>Text</type>
    </fields>
    <fields>
        <fullName>Total__c</fullName>
        <label>Total</label>
        <precision>16</precision>
        <scale>0</scale>
        <type>Currency</type>
    </fields>
    <fields>
        <fullName>Status__c</fullName>
        <label>Status</label>
        <type>Picklist</type>
        <valueSet>
            <valueSetDefinition>
                <sorted>false</sorted>
                <value><fullName>New</fullName><default>true</default><label>New</label></value>
                <value><fullName>Shipped</fullName><default>false</default><label>Shipped</label></value>
            </valueSetDefinition>
        </valueSet>
    </fields>
    <fields>
        <fullName>Member__c</fullName>
        <deleteConstraint>SetNull</deleteConstraint>
        <label>Member</label>
        <referenceTo>Contact</referenceTo>
        <relationshipName>Test_Orders</relationshipName>
        <type>Lookup</type>
    </fields>
</CustomObject>
"""

CONTACT_OBJECT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>Test_Member_Id__c</fullName>
        <externalId>true</externalId>
        <label>Test Member Id</label>
        <length>64</length>
        <type>Text</type>
        <unique>true</unique>
    </fields>
</CustomObject>
"""

PERMSET = """<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Test Integration</label>
    <fieldPermissions>
        <editable>true</editable>
        <field>Test_Order__c.Total__c</field>
        <readable>true</readable>
    </fieldPermissions>
    <objectPermissions>
        <allowCreate>true</allowCreate>
        <allowDelete>false</allowDelete>
        <allowEdit>true</allowEdit>
        <allowRead>true</allowRead>
        <modifyAllRecords>false</modifyAllRecords>
        <object>Test_Order__c</object>
        <viewAllRecords>false</viewAllRecords>
    </objectPermissions>
</PermissionSet>
"""

GOOD_CLASS = """public with sharing class TestOrderService {
    public static List<Test_Order__c> recent() {
        return [SELECT Id, Name FROM Test_Order__c WITH USER_MODE ORDER BY CreatedDate DESC LIMIT 10];
    }
}
"""

BAD_CLASS = """public with sharing class BrokenService {
    public static Integer answer() {
        Integer x = 41
        return x + 1;
    }
}
"""

TRIGGER = """trigger TestOrderTrigger on Test_Order__c (before insert, after update) {
    TestOrderService.recent();
}
"""


def meta(kind: str) -> str:
    if kind == "ApexTrigger":
        return f'<?xml version="1.0" encoding="UTF-8"?>\n<ApexTrigger xmlns="http://soap.sforce.com/2006/04/metadata"><apiVersion>{API}</apiVersion><status>Active</status></ApexTrigger>\n'
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<ApexClass xmlns="http://soap.sforce.com/2006/04/metadata"><apiVersion>{API}</apiVersion><status>Active</status></ApexClass>\n'


def mdapi_files(include_bad_class: bool = False) -> dict[str, str]:
    files = {
        "objects/Test_Order__c.object": ORDER_OBJECT,
        "objects/Contact.object": CONTACT_OBJECT,
        "permissionsets/Test_Integration.permissionset": PERMSET,
        "classes/TestOrderService.cls": GOOD_CLASS,
        "classes/TestOrderService.cls-meta.xml": meta("ApexClass"),
        "triggers/TestOrderTrigger.trigger": TRIGGER,
        "triggers/TestOrderTrigger.trigger-meta.xml": meta("ApexTrigger"),
    }
    members = {kind: list(names) for kind, names in FIXTURE_MEMBERS.items()}
    if include_bad_class:
        files["classes/BrokenService.cls"] = BAD_CLASS
        files["classes/BrokenService.cls-meta.xml"] = meta("ApexClass")
        members["ApexClass"].append("BrokenService")
    files["package.xml"] = package_xml(members)
    return files


def mdapi_zip(include_bad_class: bool = False, root: str = "") -> bytes:
    return zip_files(mdapi_files(include_bad_class), root)


def write_sfdx_project(root: Path, include_bad_class: bool = False) -> Path:
    """A tiny CumulusCI project in source (sfdx) format, for `cci task run deploy`."""
    base = root / "force-app" / "main" / "default"
    (base / "objects" / "Test_Order__c" / "fields").mkdir(parents=True)
    (base / "objects" / "Contact" / "fields").mkdir(parents=True)
    (base / "classes").mkdir(parents=True)
    (base / "triggers").mkdir(parents=True)
    (base / "permissionsets").mkdir(parents=True)
    import re

    header, _, _ = ORDER_OBJECT.partition("    <fields>")
    (base / "objects/Test_Order__c/Test_Order__c.object-meta.xml").write_text(header + "</CustomObject>\n")
    for match in re.finditer(r"    <fields>(.*?)</fields>", ORDER_OBJECT, re.S):
        name = re.search(r"<fullName>(.*?)</fullName>", match.group(1)).group(1)
        (base / f"objects/Test_Order__c/fields/{name}.field-meta.xml").write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
            + match.group(1) + "</CustomField>\n"
        )
    body = re.search(r"<fields>(.*?)</fields>", CONTACT_OBJECT, re.S).group(1)
    (base / "objects/Contact/fields/Test_Member_Id__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        + body + "</CustomField>\n"
    )
    (base / "permissionsets/Test_Integration.permissionset-meta.xml").write_text(PERMSET)
    (base / "classes/TestOrderService.cls").write_text(GOOD_CLASS)
    (base / "classes/TestOrderService.cls-meta.xml").write_text(meta("ApexClass"))
    (base / "triggers/TestOrderTrigger.trigger").write_text(TRIGGER)
    (base / "triggers/TestOrderTrigger.trigger-meta.xml").write_text(meta("ApexTrigger"))
    if include_bad_class:
        (base / "classes/BrokenService.cls").write_text(BAD_CLASS)
        (base / "classes/BrokenService.cls-meta.xml").write_text(meta("ApexClass"))
    (root / "sfdx-project.json").write_text(
        '{"packageDirectories": [{"path": "force-app", "default": true}], "name": "LocalOrgFixture",'
        ' "namespace": "", "sfdcLoginUrl": "https://login.salesforce.com", "sourceApiVersion": "62.0"}\n'
    )
    (root / "cumulusci.yml").write_text(
        "minimum_cumulusci_version: \"4.10.1\"\nproject:\n  name: LocalOrgFixture\n  package:\n"
        "    name: LocalOrgFixture\n    api_version: \"62.0\"\n  source_format: sfdx\n"
    )
    return root
