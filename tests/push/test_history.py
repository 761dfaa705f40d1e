"""The push history and its page: one line per run, bounded, and charts that draw the lines' figures."""
from __future__ import annotations

import json
from pathlib import Path

import html5lib
import pytest

from python_tasks.push import history
from python_tasks.push.history import HISTORY_NAME, PAGE_NAME, age_bands, read_history, record_push_run

NS = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}


def values(created: int, pushed: int, waiting_ages: list[int], calls: int, skipped: list[str] = ()) -> dict:
    return {"persons_created": created, "persons_updated": 2, "persons_unchanged": 5,
            "persons_skipped": len(skipped), "person_skip_reasons": [f"M{i}: {r}" for i, r in enumerate(skipped)],
            "orders_pushed": pushed, "orders_skipped": 1, "order_skip_reasons": ["O-9: <no member>"],
            "orders_waiting": len(waiting_ages),
            "waiting_orders": [{"order": f"W{i}", "member": "M", "age_seconds": a} for i, a in enumerate(waiting_ages)],
            "duplicate_clusters": 0, "write_back_failures": 1, "marketo_calls": calls, "salesforce_calls": 3,
            "stopped": ""}


def test_waiting_orders_fall_in_age_bands() -> None:
    assert age_bands([{"age_seconds": a} for a in (0, 3599, 3600, 21600, 86399, 86400, 10 ** 7)]) == \
        {"under 1 h": 2, "1-6 h": 1, "6-24 h": 2, "1-7 d": 1, "over 7 d": 1}


def test_each_run_appends_a_line_and_the_page_draws_the_lines_figures(tmp_path: Path) -> None:
    folder = tmp_path / "push"
    record_push_run(values(3, 4, [60, 7200], 11, ["bad email"]), folder)
    page = record_push_run(values(0, 1, [90000], 7), folder)
    assert page == folder / PAGE_NAME
    runs = read_history(folder / HISTORY_NAME)
    assert [(r["persons"]["created"], r["orders"]["pushed"], r["errors"], r["calls"]["marketo"]) for r in runs] == \
        [(3, 4, 3, 11), (0, 1, 2, 7)]
    doc = html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(page.read_bytes())
    assert not doc.findall(".//h:script", NS)

    def series(chart: str) -> dict[str, list[float]]:
        svg = doc.find(f".//s:svg[@data-chart='{chart}']", NS)
        return {g.get("data-label"): [float(v) for v in g.get("data-values").split(",")]
                for g in svg.findall("s:g[@class='series']", NS)}

    assert series("work") == {
        "persons created or updated": [r["persons"]["created"] + r["persons"]["updated"] for r in runs],
        "orders pushed": [r["orders"]["pushed"] for r in runs], "errors": [r["errors"] for r in runs]}
    assert series("calls") == {"Marketo calls": [r["calls"]["marketo"] for r in runs],
                               "Salesforce calls": [r["calls"]["salesforce"] for r in runs]}
    waiting = doc.find(".//s:svg[@data-chart='waiting']", NS)
    assert {r.get("data-label"): int(r.get("data-value")) for r in waiting.findall(".//s:rect[@class='bar']", NS)} \
        == runs[-1]["waitingByAge"] == {"under 1 h": 0, "1-6 h": 0, "6-24 h": 0, "1-7 d": 1, "over 7 d": 0}
    table = doc.find(".//h:table[@data-figures='waiting']", NS)
    assert {tr[0].text: int(tr[1].text) for tr in table.findall(".//h:tr", NS)} == runs[-1]["waitingByAge"]
    text = page.read_text(encoding="utf-8")
    assert "&lt;no member&gt;" in text and "{'" not in text


def test_the_history_keeps_only_the_newest_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history, "KEEP_RUNS", 3)
    for calls in range(5):
        record_push_run(values(0, 0, [], calls), tmp_path)
    assert [r["calls"]["marketo"] for r in read_history(tmp_path / HISTORY_NAME)] == [2, 3, 4]


def test_a_history_that_cannot_be_written_warns_and_never_fails_the_push(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    warnings: list[str] = []
    assert record_push_run(values(1, 1, [], 1), blocker / "push", warn=warnings.append) is None
    assert len(warnings) == 1 and "push history not written" in warnings[0]


def test_the_folder_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECBRIDGE_PUSH_REPORTS_DIR", str(tmp_path / "elsewhere"))
    record_push_run(values(1, 1, [], 1))
    assert json.loads((tmp_path / "elsewhere" / HISTORY_NAME).read_text())["persons"]["created"] == 1
