"""generate_admin: the ECBridge app, its tabs, list views, reports and the replay action, from the mapping."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from defusedxml.ElementTree import fromstring

from python_tasks.generate_admin import render_admin
from python_tasks.mapping import load_mapping

ROOT = Path(__file__).resolve().parents[2]
BASE = "main/default/"
NS = "{http://soap.sforce.com/2006/04/metadata}"


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return render_admin(load_mapping(ROOT / "ecbridge.yml"))


def xml(text: str):
    return fromstring(text.encode())


def texts(root, path: str) -> list[str]:
    """The texts at ``path`` (``a/b``) below the root, in the metadata namespace."""
    return [(e.text or "").strip() for e in root.iterfind("/".join(NS + p for p in path.split("/")))]


def test_the_app_has_the_order_and_ingest_error_tabs(files: dict[str, str]) -> None:
    app = xml(files[BASE + "applications/ECBridge.app-meta.xml"])
    assert texts(app, "tabs")[:2] == ["EC_Order__c", "EC_Ingest_Error__c"]
    assert texts(app, "uiType") == ["Lightning"]
    for tab in ("EC_Order__c", "EC_Ingest_Error__c"):
        assert texts(xml(files[f"{BASE}tabs/{tab}.tab-meta.xml"]), "customObject") == ["true"]


def test_the_list_views_filter_what_admins_need(files: dict[str, str]) -> None:
    def filters(path: str) -> list[tuple[str, str, str | None]]:
        root = xml(files[BASE + path])
        return [(f.find(NS + "field").text, f.find(NS + "operation").text,
                 f.find(NS + "value").text if f.find(NS + "value") is not None else None)
                for f in root.iter(NS + "filters")]

    assert filters("objects/EC_Ingest_Error__c/listViews/ECBridge_Rejected_Not_Replayed.listView-meta.xml") == [
        ("Replayed__c", "equals", "0")]
    assert filters("objects/Contact/listViews/ECBridge_Push_Failed.listView-meta.xml") == [
        ("Marketo_Push_Error__c", "notEqual", None)]
    assert filters("objects/EC_Order__c/listViews/ECBridge_Push_Failed.listView-meta.xml") == [
        ("Marketo_Push_Error__c", "notEqual", None)]
    waiting = "objects/EC_Order__c/listViews/ECBridge_Waiting_For_Member.listView-meta.xml"
    assert filters(waiting) == [("Member__c", "equals", None)]
    assert texts(xml(files[BASE + waiting]), "columns")[0] == "CREATED_DATE", "the age comes first"


def test_the_reports_use_the_report_types_and_columns_they_declare(files: dict[str, str]) -> None:
    tables: dict[str, set[str]] = {}
    for path, text in files.items():
        if path.endswith(".reportType-meta.xml"):
            root = xml(text)
            name = path.rsplit("/", 1)[1].split(".")[0] + "__c"
            tables[name] = {f"{c.find(NS + 'table').text}${c.find(NS + 'field').text}" for c in root.iter(NS + "columns")}
    assert set(tables) == {"ECBridge_Members_With_Orders__c", "ECBridge_Orders_With_Members__c"}
    waiting = xml(files[BASE + "reports/ECBridge/ECBridge_Orders_Waiting_By_Age.report-meta.xml"])
    errors = xml(files[BASE + "reports/ECBridge/ECBridge_Push_Errors_By_Reason.report-meta.xml"])
    for report in (waiting, errors):
        used = {e.text for tag in ("field", "column", "dateColumn") for e in report.iter(NS + tag)}
        assert used <= tables[report.find(NS + "reportType").text], used - tables[report.find(NS + "reportType").text]
    assert [g.find(NS + "sortOrder").text for g in waiting.iter(NS + "groupingsDown")] == ["Asc"], "oldest first"
    criteria = [(c.find(NS + "column").text, c.find(NS + "operator").text) for c in waiting.iter(NS + "criteriaItems")]
    assert criteria == [("EC_Order__c$Member__c", "equals")]


def test_the_replay_action_only_calls_the_ingest_entry_point_in_user_mode(files: dict[str, str]) -> None:
    text = files[BASE + "classes/ECBridgeReplayRejectedEvents.cls"]
    assert "public with sharing class ECBridgeReplayRejectedEvents" in text and "@InvocableMethod(" in text
    calls = set(re.findall(r"ECBridgeIngestService\.(\w+)\(", text))
    assert calls == {"ingest"}, "the same entry point as the REST resource, nothing else"
    for query in re.findall(r"\[\s*(SELECT.*?)\]", text, re.S):
        assert "WITH USER_MODE" in query
    assert not re.search(r"\n\s*(insert|update|delete|upsert) ", text), "no DML of its own"


def test_the_admin_permission_set_grants_the_app_tabs_action_and_only_payload_edits(files: dict[str, str]) -> None:
    root = xml(files[BASE + "permissionsets/ECBridge_Admin.permissionset-meta.xml"])
    assert texts(root, "applicationVisibilities/application") == ["ECBridge"]
    assert texts(root, "classAccesses/apexClass") == ["ECBridgeReplayRejectedEvents"]
    assert texts(root, "tabSettings/tab") == ["EC_Order__c", "EC_Ingest_Error__c"]
    editable = [p.find(NS + "field").text for p in root.iter(NS + "fieldPermissions")
                if p.find(NS + "editable").text == "true"]
    assert editable == ["EC_Ingest_Error__c.Payload__c"]
    assert "<allowCreate>true" not in files[BASE + "permissionsets/ECBridge_Admin.permissionset-meta.xml"]
