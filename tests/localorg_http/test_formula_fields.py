"""Formula fields over HTTP: a Metadata API deploy with <formula> fields, then REST describe, record GET
and SOQL query (simple-salesforce) answer computed values (issue 18)."""
from __future__ import annotations

from tests.mdapi import package_xml, zip_files

DEAL = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Deal</label><pluralLabel>Deals</pluralLabel><nameField><label>Name</label><type>Text</type></nameField>
<deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel>
<fields><fullName>Account__c</fullName><label>Account</label><referenceTo>Account</referenceTo>
<relationshipName>Deals</relationshipName><type>Lookup</type></fields>
<fields><fullName>Amount__c</fullName><label>Amount</label><precision>18</precision><scale>2</scale><type>Number</type></fields>
<fields><fullName>Net__c</fullName><label>Net</label><precision>18</precision><scale>2</scale><type>Number</type>
<formula>Amount__c * 0.9</formula><formulaTreatBlanksAs>BlankAsZero</formulaTreatBlanksAs></fields>
<fields><fullName>Title__c</fullName><label>Title</label><type>Text</type>
<formula>UPPER(Account__r.Name) &amp; ": " &amp; Name</formula></fields>
<fields><fullName>Large__c</fullName><label>Large</label><type>Checkbox</type><defaultValue>false</defaultValue>
<formula>Net__c &gt;= 1000</formula></fields>
</CustomObject>"""


def test_deployed_formula_fields_compute_over_rest(org) -> None:
    from simple_salesforce import Salesforce

    job = org.deployer.deploy_zip(zip_files({"objects/Deal__c.object": DEAL,
                                             "package.xml": package_xml({"CustomObject": ["Deal__c"]})}))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")
    fields = {f["name"]: f for f in sf.Deal__c.describe()["fields"]}
    assert (fields["Net__c"]["calculated"], fields["Net__c"]["calculatedFormula"], fields["Net__c"]["createable"]) == (
        True, "Amount__c * 0.9", False)
    account = sf.Account.create({"Name": "Acme"})["id"]
    deal = sf.Deal__c.create({"Name": "D1", "Account__c": account, "Amount__c": 2000})["id"]
    got = sf.Deal__c.get(deal)
    assert (got["Net__c"], got["Title__c"], got["Large__c"]) == (1800.0, "ACME: D1", True)
    sf.Account.update(account, {"Name": "Globex"})
    rows = sf.query("SELECT Title__c, Net__c FROM Deal__c WHERE Large__c = true")["records"]
    assert [(r["Title__c"], r["Net__c"]) for r in rows] == [("GLOBEX: D1", 1800.0)]


def test_a_deploy_with_a_broken_formula_fails_naming_the_field_and_line(org) -> None:
    broken = DEAL.replace("<formula>Amount__c * 0.9</formula>", "<formula>Amount__c * Nope__c</formula>")
    job = org.deployer.deploy_zip(zip_files({"objects/Deal__c.object": broken,
                                             "package.xml": package_xml({"CustomObject": ["Deal__c"]})}))
    assert job.status == "Failed"
    [failure] = job.failures
    assert failure.full_name == "Deal__c"
    assert failure.problem.startswith("Field Net__c: Field Nope__c does not exist. Check spelling.")
    assert failure.line == broken.splitlines().index(
        next(line for line in broken.splitlines() if "<fullName>Net__c</fullName>" in line)) + 1
