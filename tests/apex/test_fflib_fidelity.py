"""Salesforce semantics the fflib corpus (fflib-apex-mocks, fflib-apex-common) relies on (issue 18):
each test pins one behaviour a corpus failure traced back to."""
from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.salesforce.apex import access
from localcloud.salesforce.apex.orgruntime import ApexRuntime
from localcloud.salesforce.data import open_store


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(tmp_path / "org.sqlite3")
    yield s
    s.close()


def run_tests(store, sources: dict[str, str], **kwargs) -> dict[str, tuple[str, str | None]]:
    rt = ApexRuntime(store, sources, **kwargs)
    return {r.method_name: (r.outcome, r.message) for r in rt.run_tests()}


def test_custom_labels_stay_readable_after_the_apex_is_deployed(store) -> None:
    results = run_tests(store, {
        "LabelTest.cls": "@IsTest private class LabelTest { @IsTest static void reads() {"
                         " Assert.areEqual('Hello {0}', System.Label.Greeting); Assert.areEqual('Hello {0}', Label.greeting); } }",
    }, labels={"greeting": "Hello {0}"})
    assert results == {"reads": ("Pass", None)}


def test_list_of_schema_qualified_type_matches_the_unqualified_overload(store) -> None:
    results = run_tests(store, {
        "Pick.cls": "public class Pick { public static String f(List<String> n) { return 'strings'; }"
                    " public static String f(List<SObjectField> n) { return 'fields'; } }",
        "PickTest.cls": "@IsTest private class PickTest { @IsTest static void picks() {"
                        " Assert.areEqual('fields', Pick.f(new List<Schema.SObjectField>{ Account.Name }));"
                        " Assert.areEqual('strings', Pick.f(new List<String>{ 'Name' })); } }",
    })
    assert results == {"picks": ("Pass", None)}
