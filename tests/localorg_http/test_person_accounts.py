"""Person Accounts over the local org's APIs, driven by simple-salesforce (unmodified): describe, REST
create/read/update/upsert by a __pc external id, SOQL on Account and Contact, composite, Bulk API 2.0,
Apex deployed with __pc references, the Account trigger, and the refusals with their codes."""
from __future__ import annotations

import csv
import io

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.localorg_http.fixtures import meta
from tests.mdapi import package_xml, zip_files

API = "62.0"
QUICK = 0.05

CONTACT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>Shopper_Id__c</fullName>
        <externalId>true</externalId>
        <label>Shopper Id</label>
        <length>64</length>
        <type>Text</type>
        <unique>true</unique>
    </fields>
</CustomObject>
"""
CONTACT_LATER = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>Points__c</fullName>
        <label>Points</label>
        <precision>9</precision>
        <scale>0</scale>
        <type>Number</type>
    </fields>
</CustomObject>
"""
ACCOUNT_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<AccountSettings xmlns="http://soap.sforce.com/2006/04/metadata">
    <enableAccountOwnerReport>true</enableAccountOwnerReport>
</AccountSettings>
"""
TRIGGER = """trigger ShopperAccountTrigger on Account (before insert, before update) {
    ShopperAccounts.stamp(Trigger.new);
}
"""
HANDLER = """public with sharing class ShopperAccounts {
    public static void stamp(List<Account> records) {
        Id personType = Schema.SObjectType.Account.getRecordTypeInfosByDeveloperName()
            .get('PersonAccount').getRecordTypeId();
        for (Account a : records) {
            if (a.RecordTypeId == personType && a.Shopper_Id__pc != null) {
                a.PersonTitle = 'shopper ' + a.Shopper_Id__pc;
            }
        }
    }
    public static List<Account> byShopperIds(Set<String> ids) {
        return [SELECT Id, PersonEmail, Shopper_Id__pc, PersonContactId FROM Account
                WHERE Shopper_Id__pc IN :ids WITH USER_MODE];
    }
}
"""


@pytest.fixture(scope="module")
def org(tmp_path_factory, certificates):
    from localcloud.salesforce.server import start_local_org

    running = start_local_org(tmp_path_factory.mktemp("pa-org"), tls_dir=certificates.ca_cert.parent)
    files = {"objects/Contact.object": CONTACT, "settings/Account.settings": ACCOUNT_SETTINGS,
             "classes/ShopperAccounts.cls": HANDLER, "classes/ShopperAccounts.cls-meta.xml": meta("ApexClass"),
             "triggers/ShopperAccountTrigger.trigger": TRIGGER,
             "triggers/ShopperAccountTrigger.trigger-meta.xml": meta("ApexTrigger")}
    files["package.xml"] = package_xml({"CustomObject": ["Contact"], "Settings": ["Account"],
                                        "ApexClass": ["ShopperAccounts"], "ApexTrigger": ["ShopperAccountTrigger"]})
    job = running.deployer.deploy_zip(zip_files(files))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    yield running
    running.stop()


@pytest.fixture()
def sf(org) -> Salesforce:
    return Salesforce(instance_url=org.url, session_id=org.access_token, version=API)


def person_rt(sf: Salesforce) -> str:
    infos = sf.Account.describe()["recordTypeInfos"]
    return next(i["recordTypeId"] for i in infos if i["developerName"] == "PersonAccount")


def test_describe_shows_the_person_model(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    for name in ("IsPersonAccount", "PersonContactId", "FirstName", "LastName", "PersonEmail", "PersonBirthdate",
                 "PersonMobilePhone", "PersonMailingPostalCode", "PersonHasOptedOutOfEmail", "Shopper_Id__pc"):
        assert name in fields, name
    assert fields["Shopper_Id__pc"]["externalId"] and fields["Shopper_Id__pc"]["unique"]
    assert fields["IsPersonAccount"]["createable"] is False
    assert fields["PersonContactId"]["referenceTo"] == ["Contact"]
    infos = {i["developerName"]: i for i in sf.Account.describe()["recordTypeInfos"]}
    assert set(infos) == {"Business_Account", "PersonAccount", "Master"}
    assert infos["Business_Account"]["defaultRecordTypeMapping"] is True
    assert sf.query("SELECT IsPersonType FROM RecordType WHERE DeveloperName = 'PersonAccount'")["records"][0][
        "IsPersonType"] is True
    assert "IsPersonAccount" in {f["name"] for f in sf.Contact.describe()["fields"]}


def test_rest_create_read_update_and_soql_on_both_sides(sf: Salesforce) -> None:
    created = sf.Account.create({"RecordTypeId": person_rt(sf), "FirstName": "花子", "LastName": "伊藤",
                                 "PersonEmail": "hanako@example.jp", "PersonBirthdate": "1991-02-03",
                                 "Shopper_Id__pc": "S-1"})
    account = sf.Account.get(created["id"])
    assert account["Name"] == "花子 伊藤" and account["IsPersonAccount"] is True
    assert account["PersonTitle"] == "shopper S-1", "the Account trigger fired"
    contact = sf.Contact.get(account["PersonContactId"])
    assert (contact["AccountId"], contact["Email"], contact["Birthdate"], contact["Shopper_Id__c"],
            contact["IsPersonAccount"]) == (created["id"], "hanako@example.jp", "1991-02-03", "S-1", True)
    assert sf.Account.update(created["id"], {"PersonEmail": "hanako2@example.jp", "LastName": "佐藤"}) == 204
    [row] = sf.query(f"SELECT Name, Email FROM Contact WHERE AccountId = '{created['id']}'")["records"]
    assert (row["Name"], row["Email"]) == ("花子 佐藤", "hanako2@example.jp")
    [row] = sf.query("SELECT PersonContact.Email, RecordType.DeveloperName FROM Account "
                     "WHERE Shopper_Id__pc = 'S-1'")["records"]
    assert row["PersonContact"]["Email"] == "hanako2@example.jp" and row["RecordType"]["DeveloperName"] == "PersonAccount"


def test_upsert_by_a_pc_external_id(sf: Salesforce) -> None:
    rt = person_rt(sf)
    assert sf.Account.upsert("Shopper_Id__pc/S-2", {"RecordTypeId": rt, "LastName": "Kato"}) == 201
    assert sf.Account.upsert("Shopper_Id__pc/S-2", {"PersonMobilePhone": "090-1234-5678"}) == 200
    found = sf.Account.get_by_custom_id("Shopper_Id__pc", "S-2")
    assert found["PersonMobilePhone"] == "090-1234-5678" and found["Name"] == "Kato"
    assert sf.query("SELECT COUNT() FROM Contact WHERE Shopper_Id__c = 'S-2' AND IsPersonAccount = true")["totalSize"] == 1


def test_refusals_answer_salesforce_codes(sf: Salesforce) -> None:
    rt = person_rt(sf)
    with pytest.raises(SalesforceMalformedRequest) as named:
        sf.Account.create({"RecordTypeId": rt, "Name": "Ito Hanako", "LastName": "Ito"})
    assert named.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert named.value.content[0]["message"] == "Account: bad field names on insert/update call: Name"
    with pytest.raises(SalesforceMalformedRequest) as no_last:
        sf.Account.create({"RecordTypeId": rt, "FirstName": "Only"})
    assert no_last.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    with pytest.raises(SalesforceMalformedRequest) as business:
        sf.Account.create({"Name": "Acme", "PersonEmail": "x@example.com"})
    assert business.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    person = sf.Account.create({"RecordTypeId": rt, "LastName": "Mori"})["id"]
    contact_id = sf.Account.get(person)["PersonContactId"]
    with pytest.raises(SalesforceMalformedRequest) as delete:
        sf.Contact.delete(contact_id)
    assert delete.value.content[0]["errorCode"] == "INVALID_PERSON_ACCOUNT_OPERATION"
    with pytest.raises(SalesforceMalformedRequest) as child:
        sf.Contact.create({"LastName": "Kid", "AccountId": person})
    assert child.value.content[0]["errorCode"] == "INVALID_PERSON_ACCOUNT_OPERATION"
    assert sf.Account.delete(person) == 204
    assert sf.query_all(f"SELECT IsDeleted FROM Contact WHERE Id = '{contact_id}'", include_deleted=True)[
        "records"][0]["IsDeleted"] is True


def test_composite_creates_a_person_account_and_reads_its_contact(org, sf: Salesforce) -> None:
    base = f"/services/data/v{API}"
    body = {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": base + "/sobjects/Account", "referenceId": "pa",
         "body": {"RecordTypeId": person_rt(sf), "LastName": "Comp", "Shopper_Id__pc": "S-3"}},
        {"method": "GET", "url": base + "/sobjects/Account/@{pa.id}?fields=PersonContactId,Name", "referenceId": "acc"},
        {"method": "GET", "url": base + "/sobjects/Contact/@{acc.PersonContactId}?fields=Shopper_Id__c,AccountId",
         "referenceId": "con"},
    ]}
    answers = requests.post(org.url + base + "/composite", json=body,
                            headers={"Authorization": f"Bearer {org.access_token}"}).json()["compositeResponse"]
    assert [a["httpStatusCode"] for a in answers] == [201, 200, 200], answers
    assert answers[2]["body"]["Shopper_Id__c"] == "S-3" and answers[2]["body"]["AccountId"] == answers[0]["body"]["id"]
    collection = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "RecordTypeId": person_rt(sf), "LastName": "Good", "Shopper_Id__pc": "S-4"},
        {"attributes": {"type": "Account"}, "RecordTypeId": person_rt(sf), "Name": "Bad", "LastName": "Bad"},
    ]})
    assert collection[0]["success"] is True
    assert collection[1]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_bulk_api_2_upserts_person_accounts(sf: Salesforce) -> None:
    rt = person_rt(sf)
    records = [{"Shopper_Id__pc": f"B-{i}", "RecordTypeId": rt, "LastName": f"Bulk {i}",
                "PersonEmail": f"b{i}@example.com"} for i in range(250)]
    records.append({"Shopper_Id__pc": "B-bad", "RecordTypeId": rt, "Name": "Named", "LastName": "Bad"})
    [result] = sf.bulk2.Account.upsert(records=records, external_id_field="Shopper_Id__pc", wait=QUICK)
    assert result["numberRecordsProcessed"] == 251 and result["numberRecordsFailed"] == 1
    [failed] = list(csv.DictReader(io.StringIO(sf.bulk2.Account.get_failed_records(result["job_id"]))))
    assert failed["sf__Error"].startswith("INVALID_FIELD_FOR_INSERT_UPDATE")
    assert sf.query("SELECT COUNT() FROM Contact WHERE IsPersonAccount = true AND Shopper_Id__c LIKE 'B-%'")[
        "totalSize"] == 250
    rows = sf.query("SELECT PersonTitle FROM Account WHERE Shopper_Id__pc = 'B-7'")["records"]
    assert rows[0]["PersonTitle"] == "shopper B-7"


def test_a_contact_field_deployed_later_is_on_account_as_pc(org, sf: Salesforce) -> None:
    later = {"objects/Contact.object": CONTACT_LATER, "package.xml": package_xml({"CustomObject": ["Contact"]})}
    job = org.deployer.deploy_zip(zip_files(later))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    assert "Points__pc" in {f["name"] for f in sf.Account.describe()["fields"]}
    pa = sf.Account.create({"RecordTypeId": person_rt(sf), "LastName": "Later", "Points__pc": 12})["id"]
    assert sf.query(f"SELECT Points__c FROM Contact WHERE AccountId = '{pa}'")["records"][0]["Points__c"] == 12
