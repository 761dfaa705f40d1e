"""The Apex side of Visualforce pages (issue 18, vflib.py): StandardSetController paging, selection and
save, StandardController, PageReference, Page.X and page messages, as an Apex test drives them."""
from __future__ import annotations

import pytest

from localcloud.salesforce.apex import ApexProgram
from localcloud.salesforce.apex.errors import ApexCompileError
from tests.apex.orgfixture import run_test_methods as run_tests


EXTENSION = """public with sharing class MassEdit {
    private ApexPages.StandardSetController controller;
    public MassEdit(ApexPages.StandardSetController controller) {
        if (controller.getSelected().isEmpty()) {
            ApexPages.addMessage(new ApexPages.Message(ApexPages.Severity.WARNING, 'Nothing selected'));
        }
        this.controller = controller;
    }
    public List<Account> selected() { return (List<Account>) this.controller.getSelected(); }
    public PageReference done() { return this.controller.cancel(); }
}"""

TESTS = """@IsTest private class MassEditTest {
    @TestSetup static void setup() {
        List<Account> accounts = new List<Account>();
        for (Integer i = 0; i < 45; i++) { accounts.add(new Account(Name = 'A' + String.valueOf(i).leftPad(2, '0'))); }
        insert accounts;
    }
    @IsTest static void pages() {
        ApexPages.StandardSetController c = new ApexPages.StandardSetController(
            Database.getQueryLocator([SELECT Id, Name FROM Account ORDER BY Name]));
        Assert.areEqual(45, c.getResultSize());
        Assert.areEqual(20, c.getPageSize());
        Assert.areEqual(1, c.getPageNumber());
        Assert.isTrue(c.getHasNext());
        Assert.isFalse(c.getHasPrevious());
        Assert.areEqual('A00', ((List<Account>) c.getRecords())[0].Name);
        c.next();
        Assert.areEqual('A20', ((Account) c.getRecords()[0]).Name);
        c.last();
        Assert.areEqual(3, c.getPageNumber());
        Assert.areEqual(5, c.getRecords().size());
        Assert.isFalse(c.getHasNext());
        c.previous();
        Assert.areEqual(2, c.getPageNumber());
        c.first();
        c.setPageSize(50);
        Assert.areEqual(45, c.getRecords().size());
        Assert.isTrue(c.getCompleteResult());
    }
    @IsTest static void selectionMessagesAndPages() {
        List<Account> accounts = [SELECT Id, Name FROM Account ORDER BY Name];
        ApexPages.StandardSetController c = new ApexPages.StandardSetController(accounts);
        PageReference page = Page.MassEditPage;
        page.getParameters().put('retURL', '/001/o');
        System.Test.setCurrentPage(page);
        Assert.areEqual('/apex/masseditpage?retURL=%2F001%2Fo', ApexPages.currentPage().getUrl());
        MassEdit none = new MassEdit(c);
        Assert.isTrue(ApexPages.hasMessages());
        Assert.isTrue(ApexPages.hasMessages(ApexPages.SEVERITY.WARNING));
        Assert.isFalse(ApexPages.hasMessages(ApexPages.Severity.ERROR));
        Assert.areEqual('Nothing selected', ApexPages.getMessages().get(0).getSummary());
        c.setSelected(new List<Account>{ accounts[3], accounts[4] });
        MassEdit ext = new MassEdit(c);
        Assert.areEqual(2, ext.selected().size());
        Assert.areEqual(accounts[3].Id, ext.selected()[0].Id);
        Assert.areEqual('/001/o', ext.done().getUrl());
    }
    @IsTest static void saveWritesThePrototypeToEveryRecord() {
        ApexPages.StandardSetController c = new ApexPages.StandardSetController([SELECT Id FROM Account LIMIT 3]);
        ((Account) c.getRecord()).Description = 'mass edited';
        PageReference after = c.save();
        Assert.areEqual('/home/home.jsp', after.getUrl());
        Assert.areEqual(3, [SELECT COUNT() FROM Account WHERE Description = 'mass edited']);
    }
    @IsTest static void standardController() {
        Account a = [SELECT Id, Name FROM Account LIMIT 1];
        ApexPages.StandardController c = new ApexPages.StandardController(a);
        Assert.areEqual(a.Id, c.getId());
        Assert.areEqual('/' + a.Id, c.view().getUrl());
        try {
            c.addFields(new List<String>{ 'Description' });
            Assert.fail('addFields with a record passed in');
        } catch (SObjectException e) {
            Assert.isTrue(e.getMessage().contains('You cannot call addFields'), e.getMessage());
        }
        PageReference ref = new PageReference('/apex/foo?id=' + a.Id).setRedirect(true);
        Assert.isTrue(ref.getRedirect());
        Assert.areEqual(String.valueOf(a.Id), ref.getParameters().get('id'));
    }
}"""


def test_standard_set_controller_pages_selects_saves_and_reports_messages(store) -> None:
    results = run_tests(store, {"MassEdit.cls": EXTENSION, "MassEditTest.cls": TESTS})
    assert results == {name: ("Pass", None) for name in
                       ("pages", "selectionMessagesAndPages", "saveWritesThePrototypeToEveryRecord",
                        "standardController")}


def test_a_page_the_org_does_not_have_is_a_compile_error() -> None:
    prog = ApexProgram()
    prog.pages = {"known"}
    prog.load({"Ok.cls": "public class Ok { public static String u() { return Page.Known.getUrl(); } }"})
    assert prog.call_static("Ok", "u").value == "/apex/known"
    with pytest.raises(ApexCompileError, match="Page Missing does not exist"):
        prog.load({"Bad.cls": "public class Bad { public static PageReference u() { return Page.Missing; } }"})
