"""Compound address fields (issue 18): describe, SOQL over REST (simple-salesforce) and Apex
(``System.Address``), read-only compound with writable components."""
from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

COMPOUNDS = {"Account": ["BillingAddress", "ShippingAddress"], "Contact": ["MailingAddress", "OtherAddress"],
             "Lead": ["Address"]}


@pytest.fixture
def sf(org) -> Salesforce:
    return Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")


def test_describe_lists_compound_fields_and_their_components(sf: Salesforce) -> None:
    for sobject, names in COMPOUNDS.items():
        fields = {f["name"]: f for f in getattr(sf, sobject).describe()["fields"]}
        for name in names:
            compound = fields[name]
            assert (compound["type"], compound["createable"], compound["updateable"]) == ("address", False, False)
            assert (compound["sortable"], compound["groupable"]) == (False, False)  # filterable: DISTANCE()
            parts = sorted(f["name"] for f in fields.values() if f["compoundFieldName"] == name)
            prefix = name[:-len("Address")]
            assert parts == sorted(prefix + p for p in ("City", "Country", "GeocodeAccuracy", "Latitude", "Longitude",
                                                        "PostalCode", "State", "Street"))


def test_selecting_the_compound_returns_the_address_object(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Addressed", "BillingStreet": "1-1 Marunouchi", "BillingCity": "Chiyoda-ku",
                                 "BillingState": "Tokyo", "BillingPostalCode": "100-0005", "BillingCountry": "Japan",
                                 "BillingLatitude": 35.6812, "BillingLongitude": 139.7671})["id"]
    sf.Contact.create({"LastName": "Sato", "AccountId": account, "MailingCity": "Osaka"})
    record = sf.query(f"SELECT BillingAddress, ShippingAddress FROM Account WHERE Id = '{account}'")["records"][0]
    assert record["BillingAddress"] == {
        "city": "Chiyoda-ku", "country": "Japan", "geocodeAccuracy": None, "latitude": 35.6812,
        "longitude": 139.7671, "postalCode": "100-0005", "state": "Tokyo", "street": "1-1 Marunouchi"}
    assert record["ShippingAddress"] is None  # every component null
    contact = sf.query("SELECT MailingAddress, Account.BillingAddress FROM Contact")["records"][0]
    assert contact["MailingAddress"]["city"] == "Osaka" and contact["MailingAddress"]["street"] is None
    assert contact["Account"]["BillingAddress"]["postalCode"] == "100-0005"
    assert sf.Account.get(account)["BillingAddress"]["street"] == "1-1 Marunouchi"  # record GET has it too


def test_compound_is_read_only_and_its_components_are_writable(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Components"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Account.update(account, {"BillingAddress": {"city": "Kyoto"}})
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert refused.value.content[0]["fields"] == ["BillingAddress"]
    sf.Account.update(account, {"BillingCity": "Kyoto"})
    assert sf.Account.get(account)["BillingAddress"]["city"] == "Kyoto"


@pytest.mark.parametrize("clause, verb", [("WHERE BillingAddress = null", "filtered"),
                                          ("ORDER BY BillingAddress", "sorted")])
def test_compound_cannot_be_filtered_or_sorted(sf: Salesforce, clause: str, verb: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query(f"SELECT Id FROM Account {clause}")
    assert refused.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert f"field 'BillingAddress' can not be {verb}" in refused.value.content[0]["message"]


def test_apex_reads_a_system_address_and_cannot_write_the_compound(org) -> None:
    runtime = org.context.extras["apex_runtime"]
    result = runtime.execute_anonymous("""
        Lead l = new Lead(LastName = 'Ito', Company = 'Acme', Street = '2-4-1 Umeda', City = 'Osaka',
                          PostalCode = '530-0001', Country = 'Japan', Latitude = 34.7025, Longitude = 135.4959);
        insert l;
        Lead q = [SELECT Id, Address FROM Lead WHERE Id = :l.Id];
        Address a = q.Address;
        System.debug(a.getStreet() + '|' + a.getCity() + '|' + a.city + '|' + a.getPostalCode() + '|'
                     + a.getCountry() + '|' + a.getState() + '|' + a.getLatitude());
        System.debug(Math.round(a.getDistance(Location.newInstance(35.6812, 139.7671), 'km')));
        System.debug(JSON.serialize(a));
        update q;  // re-saving a record that holds the compound saves its components only
        try { q.Address = a; } catch (SObjectException e) { System.debug(e.getMessage()); }
        Account empty = new Account(Name = 'Empty');
        insert empty;
        System.debug([SELECT BillingAddress FROM Account WHERE Id = :empty.Id].BillingAddress);
        System.debug(Schema.SObjectType.Lead.fields.Address.getDescribe().getType());
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines[0] == "2-4-1 Umeda|Osaka|Osaka|530-0001|Japan|null|34.7025"
    assert 395 <= int(lines[1]) <= 405  # Osaka -> Tokyo station, great-circle
    assert lines[2] == ('{"city":"Osaka","country":"Japan","geocodeAccuracy":null,"latitude":34.7025,'
                        '"longitude":135.4959,"postalCode":"530-0001","state":null,"street":"2-4-1 Umeda"}')
    assert lines[3:] == ["Field is not writeable: Lead.Address", "null", "ADDRESS"]


def test_bulk_queries_refuse_compound_fields_and_take_the_components(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceOperationError

    sf.Account.create({"Name": "Bulk", "BillingCity": "Nagoya"})
    with pytest.raises(SalesforceOperationError, match="Selecting compound data not supported in Bulk Query"):
        list(sf.bulk2.Account.query("SELECT Id, BillingAddress FROM Account", wait=1))
    [page] = list(sf.bulk2.Account.query("SELECT Name, BillingCity FROM Account", wait=1))
    assert page.splitlines() == ['"Name","BillingCity"', '"Bulk","Nagoya"']


STORE_OBJECT = """<?xml version="1.0" encoding="UTF-8"?><CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
<label>Shop</label><pluralLabel>Shops</pluralLabel><nameField><label>Shop Name</label><type>Text</type></nameField>
<deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel>
<fields><fullName>Spot__c</fullName><label>Spot</label><type>Location</type><scale>6</scale>
<displayLocationInDecimal>true</displayLocationInDecimal></fields>
</CustomObject>"""


def test_a_deployed_geolocation_field_is_a_location_compound(org, sf: Salesforce) -> None:
    from tests.mdapi import package_xml, zip_files

    job = org.deployer.deploy_zip(zip_files({"objects/Shop__c.object": STORE_OBJECT,
                                             "package.xml": package_xml({"CustomObject": ["Shop__c"]})}))
    assert job.status == "Succeeded", [f.problem for f in job.failures]
    fields = {f["name"]: f for f in sf.Shop__c.describe()["fields"]}
    assert (fields["Spot__c"]["type"], fields["Spot__c"]["createable"]) == ("location", False)
    assert [n for n, f in fields.items() if f["compoundFieldName"] == "Spot__c"] == ["Spot__Latitude__s",
                                                                                      "Spot__Longitude__s"]
    sf.Shop__c.create({"Name": "Ginza", "Spot__Latitude__s": 35.671, "Spot__Longitude__s": 139.765})
    [record] = sf.query("SELECT Spot__c FROM Shop__c")["records"]
    assert record["Spot__c"] == {"latitude": 35.671, "longitude": 139.765}
    result = org.context.extras["apex_runtime"].execute_anonymous("""
        Location spot = [SELECT Spot__c FROM Shop__c LIMIT 1].Spot__c;
        System.debug(spot.getLatitude() + ' ' + spot.longitude);
        System.debug(Math.round(Location.getDistance(spot, Location.newInstance(35.681, 139.767), 'km') * 1000));
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines[0] == "35.671 139.765"
    assert 1000 <= int(lines[1]) <= 1200  # about 1.1 km, great-circle
