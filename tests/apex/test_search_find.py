"""Search.find / Search.suggest and SOSL's WITH SNIPPET / WITH HIGHLIGHT (issue 18): the data layer's
snippets (data/sosl_snippets.py) and the Apex classes around them (apex/sosl.py)."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data.errors import SalesforceError
from localcloud.salesforce.data.sosl import search_hits
from tests.apex.orgfixture import run_test_methods

LONG = ("The printer at the San Francisco office jams every morning. " + "Nobody knows why it happens. " * 20
        + "Call <b>San Francisco</b> support.")


def _seed(store) -> None:
    with store.transaction() as tx:
        tx.insert("Case", [{"Subject": "Printer in San Francisco", "Description": LONG},
                           {"Subject": "Scanner in Oakland", "Description": "Scanner broken"}])
        tx.insert("Contact", [{"LastName": "Francisco", "FirstName": "San", "Email": "san@example.com"}])


def test_with_snippet_marks_terms_of_case_fields_and_keeps_the_target_length(store) -> None:
    _seed(store)
    with store.transaction() as tx:
        [(name, [case], [hit]), (_, [contact], [none])] = search_hits(
            tx, "FIND {San Francisco} RETURNING Case(Subject), Contact(LastName) WITH SNIPPET (target_length=80)")
    assert name == "Case" and case["Subject"] == "Printer in San Francisco" and "Id" not in case
    assert hit.highlights == {"Subject": "Printer in <mark>San</mark> <mark>Francisco</mark>"}
    assert hit.snippet.startswith("The printer at the <mark>San</mark> <mark>Francisco</mark> office")
    assert hit.snippet.endswith("...")
    visible = hit.snippet.replace("<mark>", "").replace("</mark>", "").replace("...", "")
    assert len(visible) <= 80
    assert contact["LastName"] == "Francisco" and none.snippet is None and none.highlights == {}  # not a snippet object
    assert hit.rest_keys()["snippet.text"] == hit.snippet


def test_snippet_escapes_html_skips_wildcards_and_not_terms(store) -> None:
    _seed(store)
    with store.transaction() as tx:
        [(_, _, [hit])] = search_hits(tx, "FIND {support AND NOT oakland} RETURNING Case(Subject) WITH SNIPPET")
        assert "Call &lt;b&gt;San Francisco&lt;/b&gt; <mark>support</mark>." in hit.snippet
        [(_, _, [hit])] = search_hits(tx, "FIND {printer AND Fran*} RETURNING Case(Subject) WITH SNIPPET")
        assert "<mark>printer</mark>" in hit.snippet and "<mark>Fran" not in hit.snippet
        [(_, _, [hit])] = search_hits(tx, "FIND {francisco} RETURNING Contact(LastName, Email) WITH HIGHLIGHT")
        assert hit.highlights == {"LastName": "<mark>Francisco</mark>"} and hit.snippet is None
        for bad in ("WITH SNIPPET (target_length=0)", "WITH SNIPPET (length=5)", "WITH DIVISION = 'x'"):
            with pytest.raises(SalesforceError) as refused:
                search_hits(tx, "FIND {printer} RETURNING Case " + bad)
            assert refused.value.error_code == "MALFORMED_SEARCH"


SEARCH_CLASSES = {"SearchFindTest.cls": """@IsTest private class SearchFindTest {
    @TestSetup static void setup() {
        insert new List<Case>{ new Case(Subject = 'Printer in San Francisco', Description = 'Jams in San Francisco daily'),
                               new Case(Subject = 'Scanner') };
        insert new List<Account>{ new Account(Name = 'Acme Widgets'), new Account(Name = 'Acme Tools'),
                                  new Account(Name = 'Acmeville'), new Account(Name = 'Globex') };
    }
    @IsTest static void findWithSnippets() {
        Case printer = [SELECT Id FROM Case WHERE Subject LIKE 'Printer%'];
        Test.setFixedSearchResults(new List<Id>{ printer.Id });
        Search.SearchResults results = Search.find(
            'FIND \\'San Francisco\\' IN ALL FIELDS RETURNING Case(Id, Subject), Account WITH SNIPPET (target_length=120)');
        List<Search.SearchResult> cases = results.get('Case');
        Assert.areEqual(1, cases.size());
        Case c = (Case) cases[0].getSObject();
        Assert.areEqual(printer.Id, c.Id);
        Assert.areEqual('Printer in San Francisco', c.Subject);
        Assert.areEqual('Jams in <mark>San</mark> <mark>Francisco</mark> daily... Printer in <mark>San</mark> <mark>Francisco</mark>',
                        cases[0].getSnippet());
        Assert.areEqual('Printer in <mark>San</mark> <mark>Francisco</mark>', cases[0].getSnippet('Case.Subject'));
        Assert.isNull(cases[0].getSnippet('Case.CaseNumber'));
        Assert.areEqual(0, results.get('Account').size());
        Assert.areEqual(1, Limits.getSoslQueries());
        try {
            results.get('Contact');
            Assert.fail('Contact was not searched');
        } catch (SearchException e) {
            Assert.isTrue(e.getMessage().contains('Contact'), e.getMessage());
        }
        List<List<SObject>> inline = [FIND 'printer' RETURNING Case(Subject) WITH SNIPPET];
        Assert.areEqual('Printer in San Francisco', ((Case) inline[0][0]).Subject);
        Search.SearchResults plain = Search.find('FIND {printer} RETURNING Case(Subject)');
        Assert.isNull(plain.get('Case')[0].getSnippet());
    }
    @IsTest static void suggest() {
        List<Id> ids = new List<Id>(new Map<Id, Account>([SELECT Id FROM Account]).keySet());
        Test.setFixedSearchResults(ids);
        Search.SuggestionOption options = new Search.SuggestionOption();
        options.setLimit(2);
        Search.SuggestionResults found = Search.suggest('acme', 'Account', options);
        Assert.areEqual(2, found.getSuggestionResults().size());
        Assert.isTrue(found.hasMoreResults());
        Search.SuggestionResults all = Search.suggest('acme wid', 'Account', null);
        Assert.areEqual(1, all.getSuggestionResults().size());
        Assert.areEqual('Acme Widgets', ((Account) all.getSuggestionResults()[0].getSObject()).Name);
        Assert.isFalse(all.hasMoreResults());
        Contact person = new Contact(FirstName = 'Sam', LastName = 'Suggestable');
        insert person;
        Test.setFixedSearchResults(new List<Id>{ person.Id });
        Search.SuggestionResults people = Search.suggest('sugg', 'Contact', null);
        Assert.areEqual('Sam Suggestable', ((Contact) people.getSuggestionResults()[0].getSObject()).Name);
        try {
            Search.suggest('acme', 'Nope__c', null);
            Assert.fail('no such object');
        } catch (SearchException e) {
            Assert.isTrue(e.getMessage().contains('Nope__c'), e.getMessage());
        }
    }
}"""}


def test_search_find_and_suggest_in_apex(store) -> None:
    outcomes = run_test_methods(store, SEARCH_CLASSES)
    assert outcomes == {"findWithSnippets": ("Pass", None), "suggest": ("Pass", None)}, outcomes
