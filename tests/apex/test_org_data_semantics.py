"""Org data and describe semantics NebulaLogger relies on (issue 18)."""
from __future__ import annotations

from pathlib import Path

from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store


def _run(tmp_path: Path, source: str):
    store = open_store(tmp_path / "org.sqlite3")
    try:
        result = ApexRuntime(store, {}).execute_anonymous(source)
        assert result.success, result.exception_message
        return [m for _, level, m in result.transaction.debug_entries if level == "DEBUG"]
    finally:
        store.close()


def test_a_generic_sobject_collection_has_no_sobject_type(tmp_path: Path) -> None:
    lines = _run(tmp_path, """
        List<SObject> generic = new List<SObject>{ new Account() };
        System.debug(generic.getSObjectType() + ' ' + new List<Contact>().getSObjectType()
                     + ' ' + new Map<Id, SObject>().getSObjectType() + ' ' + new Map<Id, Lead>().getSObjectType()
                     + ' ' + Database.query('SELECT Id FROM User').getSObjectType());
    """)
    assert lines == ["null Contact null Lead User"]
