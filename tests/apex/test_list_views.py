"""Visualforce list views (issue 18): an object's deployed listViews become ListView rows
(metadata/list_views.py) that StandardSetController lists (getListViewOptions) and applies
(setFilterId: filter scope, filters, boolean filter, columns), plus addFields and SelectOption."""
from __future__ import annotations

from localcloud.salesforce.metadata.list_views import apply_list_views
from localcloud.salesforce.metadata.package import Component
from tests.apex.orgfixture import run_test_methods

ACCOUNT_OBJECT = b"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <listViews>
        <fullName>Tokyo_Customers</fullName>
        <label>Tokyo Customers</label>
        <filterScope>Everything</filterScope>
        <booleanFilter>1 AND (2 OR 3)</booleanFilter>
        <filters><field>ACCOUNT.ADDRESS1_CITY</field><operation>equals</operation><value>Tokyo</value></filters>
        <filters><field>ACCOUNT.TYPE</field><operation>equals</operation><value>Customer - Direct,Customer - Channel</value></filters>
        <filters><field>ACCOUNT.NAME</field><operation>startsWith</operation><value>Big</value></filters>
        <columns>ACCOUNT.NAME</columns>
        <columns>ACCOUNT.ADDRESS1_CITY</columns>
        <columns>ACCOUNT.TYPE</columns>
    </listViews>
    <listViews>
        <fullName>My_Accounts</fullName>
        <label>My Accounts</label>
        <filterScope>Mine</filterScope>
        <filters><field>ACCOUNT.NAME</field><operation>contains</operation><value>co</value></filters>
        <columns>ACCOUNT.NAME</columns>
    </listViews>
    <listViews>
        <fullName>Territory</fullName>
        <label>All In Territory</label>
        <filterScope>MyTerritory</filterScope>
    </listViews>
</CustomObject>
"""

LIST_VIEW_TEST = """@IsTest private class ListViewTest {
    @TestSetup static void setup() {
        insert new List<Account>{
            new Account(Name = 'Alpha Co', BillingCity = 'Tokyo', Type = 'Customer - Direct'),
            new Account(Name = 'Big Osaka', BillingCity = 'Tokyo', Type = 'Prospect'),
            new Account(Name = 'Gamma Co', BillingCity = 'Tokyo', Type = 'Customer - Channel'),
            new Account(Name = 'Delta Co', BillingCity = 'Osaka', Type = 'Customer - Direct')
        };
    }
    @IsTest static void optionsAndFilters() {
        ApexPages.StandardSetController c = new ApexPages.StandardSetController(
            Database.getQueryLocator([SELECT Id, Name FROM Account ORDER BY Name]));
        Assert.areEqual(4, c.getResultSize());
        Assert.isNull(c.getFilterId());
        List<SelectOption> options = c.getListViewOptions();
        Assert.areEqual(3, options.size());
        Assert.areEqual('All In Territory', options[0].getLabel());
        Assert.areEqual('Tokyo Customers', options[2].getLabel());
        ListView tokyo = [SELECT Id, Name, DeveloperName, SobjectType FROM ListView WHERE DeveloperName = 'Tokyo_Customers'];
        Assert.areEqual('Account', tokyo.SobjectType);
        Assert.areEqual(String.valueOf(tokyo.Id).left(15), options[2].getValue());
        c.setFilterId(options[2].getValue());
        Assert.areEqual(options[2].getValue(), c.getFilterId());
        List<Account> shown = (List<Account>) c.getRecords();
        Assert.areEqual(3, shown.size());
        Assert.areEqual('Alpha Co', shown[0].Name);
        Assert.areEqual('Big Osaka', shown[1].Name);
        Assert.areEqual('Tokyo', shown[1].BillingCity);
        Assert.areEqual('Customer - Channel', shown[2].Type);
        try {
            c.setFilterId(options[0].getValue());
            Assert.fail('MyTerritory is not supported');
        } catch (VisualforceException e) {
            Assert.isTrue(e.getMessage().contains('MyTerritory'), e.getMessage());
        }
    }
    @IsTest static void mineAndAddFields() {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        User u = new User(ProfileId = standard.Id, LastName = 'Owner', Email = 'owner@example.com',
            Username = 'owner.listviews@example.com', Alias = 'owner', TimeZoneSidKey = 'Asia/Tokyo',
            LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US');
        insert u;
        Account mine = [SELECT Id FROM Account WHERE Name = 'Delta Co'];
        mine.OwnerId = u.Id;
        update mine;
        ListView view = [SELECT Id FROM ListView WHERE DeveloperName = 'My_Accounts'];
        System.runAs(u) {
            ApexPages.StandardSetController c = new ApexPages.StandardSetController([SELECT Id FROM Account]);
            c.setFilterId(view.Id);
            Assert.areEqual(1, c.getResultSize());
            Account only = (Account) c.getRecords()[0];
            Assert.areEqual('Delta Co', only.Name);
            c.addFields(new List<String>{ 'BillingCity' });
            Assert.areEqual('Osaka', ((Account) c.getRecords()[0]).BillingCity);
        }
        SelectOption o = new SelectOption('v', 'Label', true);
        Assert.isTrue(o.getDisabled());
        Assert.areEqual('v', o.getValue());
    }
}"""


def test_list_views_deploy_rows_and_drive_the_set_controller(store) -> None:
    with store.transaction() as tx:
        assert apply_list_views(tx, [Component("CustomObject", "Account", "objects/Account.object", ACCOUNT_OBJECT)]) == []
        # re-deploying updates in place
        assert apply_list_views(tx, [Component("CustomObject", "Account", "objects/Account.object", ACCOUNT_OBJECT)]) == []
        rows = tx.query("SELECT Name, DeveloperName, SobjectType FROM ListView ORDER BY DeveloperName").records
        assert [(r["DeveloperName"], r["SobjectType"]) for r in rows] == [
            ("My_Accounts", "Account"), ("Territory", "Account"), ("Tokyo_Customers", "Account")]
    outcomes = run_test_methods(store, {"ListViewTest.cls": LIST_VIEW_TEST})
    assert outcomes == {"optionsAndFilters": ("Pass", None), "mineAndAddFields": ("Pass", None)}


def test_list_view_field_names_map_to_api_paths(store) -> None:
    from localcloud.salesforce.data.listviews import field_path
    schema = store.schema
    account, contact = schema.get("Account"), schema.get("Contact")
    assert [field_path(account, n) for n in ("ACCOUNT.NAME", "Account.Rating", "ACCOUNT.ADDRESS1_CITY", "CREATED_DATE",
                                             "CORE.USERS.ALIAS", "Industry", "NAME", "ACCOUNT.NOPE")] == [
        "Name", "Rating", "BillingCity", "CreatedDate", "Owner.Alias", "Industry", "Name", None]
    assert [field_path(contact, n) for n in ("ACCOUNT.NAME", "CONTACT.EMAIL", "FULL_NAME", "Contact.LastName")] == [
        "Account.Name", "Email", "Name", "LastName"]
