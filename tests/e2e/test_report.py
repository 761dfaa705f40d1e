"""The report: JSON with every mismatch, an HTML page that escapes what it shows, a terminal summary."""
from __future__ import annotations

import json

from python_tasks.e2e.compare import Comparison
from python_tasks.e2e.report import Report, summary_lines, write_report


def test_report_lists_mismatches_in_json_and_html(tmp_path) -> None:
    comparison = Comparison(counts={"members expected": 2, "members found": 1})
    comparison.add("salesforce.member.missing", "R1-M000002", "no Contact with EC_Member_Id__c = R1-M000002")
    comparison.add("marketo.person.field", "R1-M000001", "differs", field="lastName", expected="<山田>", actual="山田")
    report = Report(run_id="R1", comparison=comparison, api_calls={"salesforce": {"check calls": 5}})
    json_path, html_path = write_report(report, tmp_path / "R1")
    payload = json.loads(json_path.read_text(encoding="utf-8"))
    assert payload["ok"] is False and payload["mismatchCount"] == 2
    assert payload["mismatchesByCheck"] == {"marketo.person.field": 1, "salesforce.member.missing": 1}
    assert payload["mismatches"][1]["expected"] == "<山田>"
    html = html_path.read_text(encoding="utf-8")
    assert "FAILED — 2 mismatches" in html and "R1-M000002" in html
    assert "&lt;山田&gt;" in html and "<山田>" not in html
    lines = summary_lines(payload)
    assert lines[0] == "ECBridge end-to-end check of run R1: FAILED: 2 mismatches"
    assert any("salesforce.member.missing" in line for line in lines)


def test_a_clean_report_says_passed(tmp_path) -> None:
    report = Report(run_id="R2", comparison=Comparison(counts={"members expected": 1, "members found": 1}))
    json_path, html_path = write_report(report, tmp_path)
    assert json.loads(json_path.read_text())["ok"] is True
    assert "PASSED" in html_path.read_text()
    assert summary_lines(report.to_json())[0].endswith("PASSED")


def test_calls_of_the_flows_earlier_steps_are_collected_by_step_and_side() -> None:
    from types import SimpleNamespace

    from python_tasks.e2e.task import flow_step_calls

    flow = SimpleNamespace(results=[
        SimpleNamespace(task_name="seed_ec_data", step_num="1", return_values={"calls": 18}),
        SimpleNamespace(task_name="push_marketo", step_num="2", return_values={"marketo_calls": 40, "salesforce_calls": 9}),
        SimpleNamespace(task_name="marketo_dedupe", step_num="3", return_values={"marketo_calls": 12}),
        SimpleNamespace(task_name="other", step_num="4", return_values=None),
    ])
    assert flow_step_calls(flow) == {
        "push_marketo (step 2)": {"marketo": 40, "salesforce": 9},
        "marketo_dedupe (step 3)": {"marketo": 12},
    }
    assert flow_step_calls(None) == {}
