"""SOSL in the data layer (issue 18): search syntax, scopes, RETURNING with WHERE/ORDER BY/LIMIT, errors."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import SalesforceError, Store
from localcloud.salesforce.data.sosl import parse_sosl, search


@pytest.fixture()
def people(store: Store) -> Store:
    with store.transaction() as tx:
        tx.insert("Contact", [{"FirstName": "John", "LastName": "Smith", "Email": "john.smith@example.com"},
                              {"LastName": "Johnson", "Email": "j@example.jp", "Phone": "03-1234-5678"},
                              {"LastName": "Tanaka", "Title": "Big Co buyer"}])
        tx.insert("Account", [{"Name": "Big Co Japan"}, {"Name": "Small Shop"}])
    return store


def names(store: Store, sosl: str) -> list[tuple[str, list[str]]]:
    with store.transaction() as tx:
        return [(sobject, [r.get("LastName") or r.get("Name") or r["Id"] for r in records])
                for sobject, records in search(tx, sosl)]


@pytest.mark.parametrize("term, expected", [
    ("John", ["Smith"]),                      # whole tokens only: Johnson is not John
    ("Joh*", ["Smith", "Johnson"]),           # wildcard
    ("john.smith@example.com", ["Smith"]),    # a whole email
    ("0312345678", ["Johnson"]),              # a phone by its digits
    ('"big co"', ["Tanaka"]),                 # a phrase, in any searched field (Title)
    ("joh* AND NOT smith", ["Johnson"]),
    ("(tanaka OR smith) example", ["Smith"]),  # implicit AND
])
def test_search_syntax(people: Store, term: str, expected: list[str]) -> None:
    assert names(people, f"FIND {{{term}}} RETURNING Contact(LastName)") == [("Contact", expected)]


def test_scopes_returning_clauses_and_limits(people: Store) -> None:
    assert names(people, "FIND {Joh*} IN NAME FIELDS RETURNING Contact(LastName ORDER BY LastName DESC), Account") == [
        ("Contact", ["Smith", "Johnson"]), ("Account", [])]
    assert names(people, "FIND {big} IN EMAIL FIELDS RETURNING Contact, Account") == [("Contact", []), ("Account", [])]
    assert names(people, "FIND {big OR shop} RETURNING Account(Name WHERE Name LIKE 'S%'), Contact(LastName)") == [
        ("Account", ["Small Shop"]), ("Contact", ["Tanaka"])]
    assert names(people, "FIND {big OR shop OR tanaka} RETURNING Account(Name), Contact(LastName) LIMIT 2") == [
        ("Account", ["Big Co Japan", "Small Shop"]), ("Contact", [])]


def test_bad_searches_are_refused_with_salesforce_codes(people: Store) -> None:
    with pytest.raises(SalesforceError) as short:
        names(people, "FIND {a*} RETURNING Contact")
    assert short.value.error_code == "INVALID_SEARCH"
    for bad in ("SELECT Id FROM Contact", "FIND {x y RETURNING Contact", "FIND {smith} RETURNING Contact WITH SPELL_CORRECTION = false"):
        with pytest.raises(SalesforceError) as refused:
            parse_sosl(bad)
        assert refused.value.error_code == "MALFORMED_SEARCH"
