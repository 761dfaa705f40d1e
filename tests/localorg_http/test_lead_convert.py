"""Lead conversion in the local org as Salesforce does it: SOAP convertLead (raw envelopes, the way
clients post them), Apex Database.convertLead, the LeadConvertSettings custom field mapping a deploy
sets, the LeadStatus check and converted Leads refusing updates over REST (simple-salesforce)."""
from __future__ import annotations

from typing import Any
from xml.dom.minidom import parseString

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.mdapi import package_xml, zip_files

API = "62.0"


def _field(name: str, label: str) -> str:
    return (f"<fields><fullName>{name}</fullName><label>{label}</label><length>64</length>"
            "<type>Text</type></fields>")


def _object(*fields: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">'
            + "".join(fields) + "</CustomObject>")


SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<LeadConvertSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <allowOwnerChange>false</allowOwnerChange>
    <objectMapping>
        <inputObject>Lead</inputObject>
        <mappingFields>
            <inputField>Shop_Key__c</inputField>
            <outputField>Shop_Key__c</outputField>
        </mappingFields>
        <mappingFields>
            <inputField>Campaign_Code__c</inputField>
            <outputField>First_Campaign__c</outputField>
        </mappingFields>
        <outputObject>Contact</outputObject>
    </objectMapping>
    <opportunityCreationOptions>VisibleOptional</opportunityCreationOptions>
</LeadConvertSettings>
"""

# counts the Lead updates that convert and the Contacts inserted: the triggers fire on conversion
TRIGGERS = {
    "LeadConvertWatch": ("Lead", "after update", """
        for (Lead l : Trigger.new) {
            if (l.IsConverted && !Trigger.oldMap.get(l.Id).IsConverted) {
                insert new Task(Subject = 'converted', WhoId = l.ConvertedContactId);
            }
        }"""),
    "ContactInsertWatch": ("Contact", "before insert", """
        for (Contact c : Trigger.new) { if (c.LastName == 'Refused') { c.addError('no refused contacts'); } }"""),
}

APEX_TEST = """@isTest
private class LeadConvertApexTest {
    @isTest static void convertsAndRefusesUpdates() {
        Lead l = new Lead(LastName = 'Ito', Company = 'ACME', Email = 'ito@example.jp', Shop_Key__c = 'K-1');
        insert l;
        LeadStatus converted = [SELECT MasterLabel FROM LeadStatus WHERE IsConverted = true LIMIT 1];
        Database.LeadConvert lc = new Database.LeadConvert();
        lc.setLeadId(l.Id);
        lc.setConvertedStatus(converted.MasterLabel);
        lc.setDoNotCreateOpportunity(true);
        Database.LeadConvertResult r = Database.convertLead(lc, AccessLevel.USER_MODE);
        System.assert(r.isSuccess());
        System.assertEquals(null, r.getOpportunityId());
        Contact c = [SELECT Shop_Key__c, AccountId FROM Contact WHERE Id = :r.getContactId()];
        System.assertEquals('K-1', c.Shop_Key__c);
        System.assertEquals(r.getAccountId(), c.AccountId);
        System.assertEquals(1, [SELECT COUNT() FROM Task WHERE WhoId = :r.getContactId()]);
        try {
            update new Lead(Id = l.Id, LastName = 'Changed');
            System.assert(false, 'a converted lead was updated');
        } catch (DmlException e) {
            System.assertEquals(StatusCode.CANNOT_UPDATE_CONVERTED_LEAD, e.getDmlType(0));
        }
        Lead other = new Lead(LastName = 'Sato', Company = 'B');
        insert other;
        Database.LeadConvert bad = new Database.LeadConvert();
        bad.setLeadId(other.Id);
        bad.setConvertedStatus('Working - Contacted');
        try {
            Database.convertLead(bad);
            System.assert(false, 'a status that is not converted was accepted');
        } catch (DmlException e) {
            System.assert(e.getMessage().contains('INVALID_STATUS, invalid convertedStatus: Working - Contacted'),
                          e.getMessage());
        }
        List<Database.LeadConvertResult> partial = Database.convertLead(new List<Database.LeadConvert>{ bad }, false);
        System.assertEquals(false, partial[0].isSuccess());
        System.assertEquals(StatusCode.INVALID_STATUS, partial[0].getErrors()[0].getStatusCode());
        System.assertEquals(false, [SELECT IsConverted FROM Lead WHERE Id = :other.Id].IsConverted);
    }
}
"""


def _trigger(name: str, sobject: str, events: str, body: str) -> str:
    return f"trigger {name} on {sobject} ({events}) {{{body}\n}}"


def _class_meta(kind: str) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{kind} xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<apiVersion>{API}</apiVersion><status>Active</status></{kind}>")


def deploy_files(settings: str = SETTINGS) -> dict[str, str]:
    files = {
        "objects/Lead.object": _object(_field("Shop_Key__c", "Shop Key"), _field("Campaign_Code__c", "Campaign Code")),
        "objects/Contact.object": _object(_field("Shop_Key__c", "Shop Key"),
                                          _field("First_Campaign__c", "First Campaign")),
        "settings/LeadConvert.settings": settings,
        "classes/LeadConvertApexTest.cls": APEX_TEST,
        "classes/LeadConvertApexTest.cls-meta.xml": _class_meta("ApexClass"),
    }
    for name, (sobject, events, body) in TRIGGERS.items():
        files[f"triggers/{name}.trigger"] = _trigger(name, sobject, events, body)
        files[f"triggers/{name}.trigger-meta.xml"] = _class_meta("ApexTrigger")
    files["package.xml"] = package_xml({"CustomObject": ["Lead", "Contact"], "Settings": ["LeadConvert"],
                                        "ApexClass": ["LeadConvertApexTest"], "ApexTrigger": list(TRIGGERS)})
    return files


@pytest.fixture(scope="module")
def lead_org(tmp_path_factory: pytest.TempPathFactory, certificates: Any):
    from localcloud.salesforce.metadata.deploy import DeployOptions
    from localcloud.salesforce.server import start_local_org

    org = start_local_org(tmp_path_factory.mktemp("leadorg"), tls_dir=certificates.ca_cert.parent)
    job = org.deployer.deploy_zip(zip_files(deploy_files()), DeployOptions(test_level="RunLocalTests"))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert job.tests.num_tests_run == 1 and not job.tests.failures
    yield org
    org.stop()


@pytest.fixture(scope="module")
def sf(lead_org: Any) -> Salesforce:
    return Salesforce(instance_url=lead_org.url, session_id=lead_org.access_token, version=API)


def soap_convert(org: Any, converts: list[dict[str, Any]], *, api: str = "u", all_or_none: bool = False
                 ) -> tuple[int, list[dict[str, Any]]]:
    """POST a convertLead envelope as a SOAP client does; the status and one dict per result."""
    ns = "urn:partner.soap.sforce.com" if api == "u" else "urn:enterprise.soap.sforce.com"
    body = "".join("<urn:leadConverts>" + "".join(f"<urn:{k}>{str(v).lower() if isinstance(v, bool) else v}</urn:{k}>"
                                                  for k, v in c.items()) + "</urn:leadConverts>" for c in converts)
    header = f"<urn:SessionHeader><urn:sessionId>{org.access_token}</urn:sessionId></urn:SessionHeader>"
    if all_or_none:
        header += "<urn:AllOrNoneHeader><urn:allOrNone>true</urn:allOrNone></urn:AllOrNoneHeader>"
    envelope = (f'<?xml version="1.0" encoding="utf-8"?><soapenv:Envelope '
                f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:urn="{ns}">'
                f"<soapenv:Header>{header}</soapenv:Header><soapenv:Body><urn:convertLead>{body}</urn:convertLead>"
                "</soapenv:Body></soapenv:Envelope>")
    answer = requests.post(f"{org.url}/services/Soap/{api}/{API}", data=envelope.encode(),
                           headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": '""'},
                           verify=org.ca_bundle, timeout=60)
    results = []
    for node in parseString(answer.text).getElementsByTagName("result"):
        row: dict[str, Any] = {"errors": []}
        for child in node.childNodes:
            if child.tagName == "errors":
                row["errors"].append({c.tagName: c.firstChild.nodeValue if c.firstChild else ""
                                      for c in child.childNodes})
            else:
                row[child.tagName] = child.firstChild.nodeValue if child.firstChild else None
        results.append(row)
    return answer.status_code, results


def test_soap_convert_creates_account_contact_opportunity_and_maps_custom_fields(lead_org: Any, sf: Salesforce
                                                                                 ) -> None:
    lead = sf.Lead.create({"LastName": "Tanaka", "FirstName": "Aiko", "Company": "Tanaka Shoten",
                           "Email": "aiko@example.jp", "LeadSource": "Web", "City": "Osaka",
                           "Shop_Key__c": "S-9", "Campaign_Code__c": "SPRING"})["id"]
    status, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
    assert status == 200 and result["success"] == "true", result
    got = sf.Lead.get(lead)
    assert got["IsConverted"] is True and got["Status"] == "Closed - Converted"
    assert (got["ConvertedContactId"], got["ConvertedAccountId"], got["ConvertedOpportunityId"]) == (
        result["contactId"], result["accountId"], result["opportunityId"])
    assert got["ConvertedDate"]
    contact = sf.Contact.get(result["contactId"])
    assert (contact["LastName"], contact["FirstName"], contact["Email"], contact["MailingCity"]) == (
        "Tanaka", "Aiko", "aiko@example.jp", "Osaka")
    assert contact["AccountId"] == result["accountId"]
    assert (contact["Shop_Key__c"], contact["First_Campaign__c"]) == ("S-9", "SPRING")  # LeadConvertSettings
    assert sf.Account.get(result["accountId"])["Name"] == "Tanaka Shoten"
    opportunity = sf.Opportunity.get(result["opportunityId"])
    assert opportunity["Name"] == "Tanaka Shoten-" and opportunity["AccountId"] == result["accountId"]
    # the Lead after-update trigger fired on the conversion
    tasks = sf.query(f"SELECT Subject FROM Task WHERE WhoId = '{result['contactId']}'")["records"]
    assert [t["Subject"] for t in tasks] == ["converted"]


def test_converted_lead_refuses_updates_and_a_second_conversion(lead_org: Any, sf: Salesforce) -> None:
    lead = sf.Lead.create({"LastName": "Mori", "Company": "Mori"})["id"]
    status, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted",
                                                "doNotCreateOpportunity": True}], api="c")
    assert status == 200 and result["success"] == "true" and result["opportunityId"] is None
    assert sf.Lead.get(lead)["ConvertedOpportunityId"] is None
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Lead.update(lead, {"LastName": "Changed"})
    assert refused.value.content[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert sf.Lead.get(lead)["LastName"] == "Mori"
    _, [again] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
    assert again["success"] == "false" and again["errors"][0]["statusCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_invalid_status_fails_alone_and_all_or_none_undoes_every_conversion(lead_org: Any, sf: Salesforce) -> None:
    good, bad = (sf.Lead.create({"LastName": n, "Company": n})["id"] for n in ("Good", "Bad"))
    statuses = sf.query("SELECT MasterLabel, IsConverted FROM LeadStatus")["records"]
    assert {s["MasterLabel"] for s in statuses if s["IsConverted"]} == {"Closed - Converted"}
    converts = [{"leadId": good, "convertedStatus": "Closed - Converted"},
                {"leadId": bad, "convertedStatus": "Open - Not Contacted"}]
    _, results = soap_convert(lead_org, converts, all_or_none=True)
    assert [r["success"] for r in results] == ["false", "false"]
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0] == {"fields": "Status", "message": "invalid convertedStatus: Open - Not Contacted",
                                       "statusCode": "INVALID_STATUS"}
    assert sf.Lead.get(good)["IsConverted"] is False
    _, results = soap_convert(lead_org, converts)
    assert [r["success"] for r in results] == ["true", "false"]
    assert sf.Lead.get(good)["IsConverted"] is True and sf.Lead.get(bad)["IsConverted"] is False


def test_merge_into_existing_account_and_contact_fills_only_empty_fields(lead_org: Any, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Existing KK", "Phone": "03-1111"})["id"]
    contact = sf.Contact.create({"LastName": "Kept", "AccountId": account, "Shop_Key__c": "OLD"})["id"]
    lead = sf.Lead.create({"LastName": "Lead Name", "Company": "Lead Co", "Phone": "06-2222", "Email": "x@example.jp",
                           "Shop_Key__c": "NEW", "Campaign_Code__c": "C1", "LeadSource": "Web"})["id"]
    _, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted",
                                           "accountId": account, "contactId": contact,
                                           "doNotCreateOpportunity": True, "overwriteLeadSource": True}])
    assert result["success"] == "true" and (result["accountId"], result["contactId"]) == (account, contact)
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'Lead Name'")["totalSize"] == 0
    got = sf.Contact.get(contact)
    assert (got["LastName"], got["Shop_Key__c"]) == ("Kept", "OLD")  # existing data is not overwritten
    assert (got["Email"], got["First_Campaign__c"], got["LeadSource"]) == ("x@example.jp", "C1", "Web")
    assert (sf.Account.get(account)["Name"], sf.Account.get(account)["Phone"]) == ("Existing KK", "03-1111")
    other = sf.Account.create({"Name": "Other"})["id"]
    lead2 = sf.Lead.create({"LastName": "L2", "Company": "C"})["id"]
    _, [wrong] = soap_convert(lead_org, [{"leadId": lead2, "convertedStatus": "Closed - Converted",
                                          "accountId": other, "contactId": contact}])
    assert wrong["success"] == "false" and wrong["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    _, [missing] = soap_convert(lead_org, [{"leadId": lead2, "convertedStatus": "Closed - Converted",
                                            "contactId": contact}])
    assert missing["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"


def test_a_trigger_error_on_the_new_contact_fails_the_conversion_and_leaves_nothing(lead_org: Any,
                                                                                    sf: Salesforce) -> None:
    lead = sf.Lead.create({"LastName": "Refused", "Company": "Refused Co"})["id"]
    accounts = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    _, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
    assert result["success"] == "false"
    assert result["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert result["errors"][0]["message"] == "no refused contacts"
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == accounts  # the new account was undone
    assert sf.Lead.get(lead)["IsConverted"] is False


def test_bad_session_and_unknown_operation_faults(lead_org: Any) -> None:
    envelope = ('<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Header><urn:SessionHeader><urn:sessionId>nope'
                "</urn:sessionId></urn:SessionHeader></soapenv:Header><soapenv:Body><urn:convertLead/></soapenv:Body>"
                "</soapenv:Envelope>")
    answer = requests.post(f"{lead_org.url}/services/Soap/c/{API}", data=envelope.encode(),
                           headers={"Content-Type": "text/xml"}, verify=lead_org.ca_bundle, timeout=30)
    assert answer.status_code == 500 and "sf:INVALID_SESSION_ID" in answer.text
    unknown = envelope.replace("nope", lead_org.access_token).replace("<urn:convertLead/>", "<urn:setPassword/>")
    answer = requests.post(f"{lead_org.url}/services/Soap/c/{API}", data=unknown.encode(),
                           headers={"Content-Type": "text/xml"}, verify=lead_org.ca_bundle, timeout=30)
    assert answer.status_code == 500 and "sf:UNKNOWN_OPERATION" in answer.text and "setPassword" in answer.text
    assert "urn:fault.enterprise.soap.sforce.com" in answer.text
    too_many = [{"leadId": "00Q000000000000AAA", "convertedStatus": "x"}] * 201
    status, _ = soap_convert(lead_org, too_many)
    assert status == 500


def test_lead_convert_settings_naming_a_missing_field_fails_the_deploy_with_its_line(lead_org: Any) -> None:
    broken = SETTINGS.replace("<outputField>First_Campaign__c</outputField>",
                              "<outputField>No_Such__c</outputField>")
    files = {k: v for k, v in deploy_files(broken).items() if k.startswith(("objects/", "settings/"))}
    files["package.xml"] = package_xml({"CustomObject": ["Lead", "Contact"], "Settings": ["LeadConvert"]})
    job = lead_org.deployer.deploy_zip(zip_files(files))
    assert job.status == "Failed"
    [failure] = job.failures
    assert failure.file_name == "settings/LeadConvert.settings"
    assert "No_Such__c" in failure.problem and failure.line == broken.splitlines().index(
        "            <outputField>No_Such__c</outputField>") + 1


def test_lead_config_settings_turn_conversion_triggers_off_and_on(lead_org: Any, sf: Salesforce) -> None:
    def config(flag: str) -> None:
        files = {"settings/LeadConfig.settings": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<LeadConfigSettings xmlns="http://soap.sforce.com/2006/04/metadata">'
            f"<shouldLeadConvertRequireValidation>{flag}</shouldLeadConvertRequireValidation></LeadConfigSettings>"),
            "package.xml": package_xml({"Settings": ["LeadConfig"]})}
        assert lead_org.deployer.deploy_zip(zip_files(files)).status == "Succeeded"

    config("false")
    try:
        lead = sf.Lead.create({"LastName": "Quiet", "Company": "Quiet"})["id"]
        _, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
        assert result["success"] == "true"
        assert sf.query(f"SELECT COUNT() FROM Task WHERE WhoId = '{result['contactId']}'")["totalSize"] == 0
    finally:
        config("true")
    lead = sf.Lead.create({"LastName": "Loud", "Company": "Loud"})["id"]
    _, [result] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
    assert sf.query(f"SELECT COUNT() FROM Task WHERE WhoId = '{result['contactId']}'")["totalSize"] == 1


def test_the_lead_status_value_set_a_deploy_sets_is_what_conversion_checks(lead_org: Any, sf: Salesforce) -> None:
    def value(name: str, default: bool = False, converted: bool = False) -> str:
        return (f"<standardValue><fullName>{name}</fullName><default>{str(default).lower()}</default>"
                f"<label>{name}</label><converted>{str(converted).lower()}</converted></standardValue>")

    def deploy(*values: str) -> Any:
        files = {"standardValueSets/LeadStatus.standardValueSet": (
            '<?xml version="1.0" encoding="UTF-8"?>\n<StandardValueSet xmlns="http://soap.sforce.com/2006/04/metadata">'
            "<sorted>false</sorted>" + "".join(values) + "</StandardValueSet>"),
            "package.xml": package_xml({"StandardValueSet": ["LeadStatus"]})}
        return lead_org.deployer.deploy_zip(zip_files(files))

    broken = deploy(value("Open", default=True), value("Lost"))
    assert broken.status == "Failed" and "converted" in broken.failures[0].problem
    assert deploy(value("Open", default=True), value("Purchased", converted=True)).status == "Succeeded"
    try:
        rows = sf.query("SELECT ApiName, IsConverted, IsDefault FROM LeadStatus ORDER BY SortOrder")["records"]
        assert [(r["ApiName"], r["IsConverted"], r["IsDefault"]) for r in rows] == [
            ("Open", False, True), ("Purchased", True, False)]
        lead = sf.Lead.create({"LastName": "Buyer", "Company": "Buyer", "Status": "Open"})["id"]
        _, [old] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Closed - Converted"}])
        assert old["errors"][0]["statusCode"] == "INVALID_STATUS"
        _, [new] = soap_convert(lead_org, [{"leadId": lead, "convertedStatus": "Purchased",
                                            "doNotCreateOpportunity": True}])
        assert new["success"] == "true" and sf.Lead.get(lead)["Status"] == "Purchased"
    finally:
        restored = deploy(value("Open - Not Contacted", default=True), value("Working - Contacted"),
                          value("Closed - Converted", converted=True), value("Closed - Not Converted"))
        assert restored.status == "Succeeded"
