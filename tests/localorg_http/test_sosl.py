"""SOSL over REST (``/search``, simple-salesforce) and from Apex (inline, ``Search.query``, tests with
``Test.setFixedSearchResults``) — issue 18."""
from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

SEARCH_TEST = """@IsTest
private class SearchTest {
    @IsTest static void searchesOnlyFixedResultsInTests() {
        Contact c = new Contact(LastName = 'Searchable');
        insert c;
        System.assertEquals(0, [FIND 'Searchable' RETURNING Contact(Id)][0].size());
        Test.setFixedSearchResults(new List<Id>{ c.Id });
        List<List<SObject>> fixed = [FIND 'whatever' RETURNING Contact(Id, LastName), Account];
        System.assertEquals('Searchable', ((Contact) fixed[0][0]).LastName);
        System.assertEquals(0, fixed[1].size());
    }
}"""


@pytest.fixture
def sf(org) -> Salesforce:
    return Salesforce(instance_url=org.url, session_id=org.access_token, version="62.0")


def test_rest_search_answers_search_records(sf: Salesforce) -> None:
    sf.Contact.create({"FirstName": "Hanako", "LastName": "Yamada", "Email": "hanako@example.jp"})
    sf.Account.create({"Name": "Yamada Shoten"})
    found = sf.search("FIND {yamada} RETURNING Account(Name), Contact(LastName, Email)")
    assert [(r["attributes"]["type"], r.get("Name") or r.get("LastName")) for r in found["searchRecords"]] == [
        ("Account", "Yamada Shoten"), ("Contact", "Yamada")]
    assert found["searchRecords"][1]["attributes"]["url"].startswith("/services/data/v62.0/sobjects/Contact/")
    assert sf.quick_search("hanako@example.jp")["searchRecords"][0]["attributes"]["type"] == "Contact"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.search("FIND {y} RETURNING Contact")
    assert refused.value.content[0]["errorCode"] == "INVALID_SEARCH"


def test_apex_inline_sosl_search_query_and_fixed_results_in_tests(org) -> None:
    runtime = org.context.extras["apex_runtime"]
    result = runtime.execute_anonymous("""
        insert new List<Contact>{ new Contact(FirstName = 'John', LastName = 'Smith'), new Contact(LastName = 'Johnson') };
        String term = 'Joh*';
        List<List<SObject>> found = [FIND :term IN NAME FIELDS RETURNING Contact(LastName ORDER BY LastName), Account];
        List<Contact> contacts = (List<Contact>) found[0];
        System.debug(found.size() + ' ' + contacts[0].LastName + ' ' + contacts[1].LastName + ' ' + found[1].size());
        System.debug(((Contact) Search.query('FIND {smith} RETURNING Contact(LastName)')[0][0]).LastName);
        try { Search.query('FIND {x} RETURNING Contact'); } catch (SearchException e) { System.debug(e.getMessage()); }
    """)
    assert result.success, result.exception_message
    lines = [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    assert lines == ["2 Johnson Smith 0", "Smith", "search term must be longer than one character: x"]
    from localcloud.salesforce.apex.orgruntime import ApexRuntime

    tests = ApexRuntime(org.store, sources={"SearchTest.cls": SEARCH_TEST})
    [outcome] = tests.run_tests(["SearchTest"])
    assert outcome.outcome == "Pass", outcome.message


def test_rest_search_with_snippet_and_highlight(sf: Salesforce) -> None:
    sf.Case.create({"Subject": "Snippet printer", "Description": "The <i>snippet</i> printer jams."})
    sf.Contact.create({"LastName": "Snippetson"})
    found = sf.search("FIND {snippet OR snippetson} RETURNING Case(Subject), Contact(LastName) WITH SNIPPET (target_length=100)")
    case, contact = found["searchRecords"]
    assert case["snippet.text"] == "The &lt;i&gt;<mark>snippet</mark>&lt;/i&gt; printer jams... <mark>Snippet</mark> printer"
    assert case["highlight.Subject"] == "<mark>Snippet</mark> printer"
    assert "snippet.text" not in contact and contact["LastName"] == "Snippetson"  # only cases, articles, feeds, ideas
    highlighted = sf.search("FIND {snippetson} RETURNING Contact(LastName) WITH HIGHLIGHT")["searchRecords"]
    assert highlighted[0]["highlight.LastName"] == "<mark>Snippetson</mark>"
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.search("FIND {snippet} RETURNING Case WITH SNIPPET (target_length=5000)")
    assert refused.value.content[0]["errorCode"] == "MALFORMED_SEARCH"
