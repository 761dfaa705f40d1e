"""The report's pictures: each chart draws exactly the figures of the JSON beside it, on a well-formed page."""
from __future__ import annotations

import json
from pathlib import Path

import html5lib

from python_tasks.e2e.compare import Comparison, DuplicateScenarioPerson
from python_tasks.e2e.journey import journey
from python_tasks.e2e.report import Report, write_report
from python_tasks.seed.events import ECEvent, PlannedEvent
from python_tasks.seed.receipt import Receipt

NS = {"h": "http://www.w3.org/1999/xhtml", "s": "http://www.w3.org/2000/svg"}


def planned(event_id: str, scenario: str, key: str, member: str | None = None, same_call: bool = False) -> PlannedEvent:
    return PlannedEvent(ECEvent(event_id, "order" if scenario == "order" else "member", "2026-01-01T00:00:00+09:00", {}),
                        key, scenario, member_key=member, register_and_buy=same_call)


def call(at: str, *ids_statuses: tuple[str, str], status: int = 200) -> dict:
    return {"kind": "call", "at": at, "httpStatus": status,
            "results": [{"id": i, "status": s} for i, s in ids_statuses] if status == 200 else None}


def sample_receipt(tmp_path: Path) -> Receipt:
    receipt = Receipt(path=tmp_path / "seed-receipt.jsonl")
    receipt.events = [
        planned("m1", "member", "M1"), planned("m2", "member", "M2"), planned("m3", "member", "M3"),
        planned("o1", "order", "O1", "M1"), planned("o2", "order", "O2", "M2"),
        planned("o3", "order", "O3", "M3", same_call=True), planned("o4", "order", "O4", "M9"),
    ]
    receipt.calls = [
        call("2026-01-01T00:00:00.000+00:00", ("o1", "created"), ("o2", "created")),
        call("2026-01-01T00:00:01.000+00:00", status=503),
        call("2026-01-01T00:00:01.500+00:00", ("m1", "created"), ("o3", "created"), ("m3", "created")),
        call("2026-01-01T00:00:04.000+00:00", ("m2", "created"), ("o1", "unchanged")),
    ]
    receipt.summary = {"statuses": {"created": 6, "unchanged": 1, "rejected": 2}, "marketo": {"marketoOnlyPersons": 3,
                                                                                              "marketoCalls": 4},
                       "crmSync": {"crmSyncedPersons": 2}, "events": 9}
    return receipt


def parse(path: Path):
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(path.read_bytes())


def bars(doc, chart: str) -> dict[str, float]:
    svg = doc.find(f".//s:svg[@data-chart='{chart}']", NS)
    assert svg is not None, f"no chart {chart}"
    return {r.get("data-label"): float(r.get("data-value")) for r in svg.findall(".//s:rect[@class='bar']", NS)}


def test_every_chart_draws_the_figures_of_the_json(tmp_path: Path) -> None:
    receipt = sample_receipt(tmp_path)
    comparison = Comparison(counts={"duplicate-scenario persons merged": 2, "duplicate-scenario persons": 3})
    api_calls = {"salesforce": {"seed calls (attempts)": 4, "check calls": 7, "org daily API requests used": 120,
                                "org daily API requests max": 15000},
                 "marketo": {"check": 30, "check leads": 20, "check activities": 10, "seed calls": 4,
                             "push_marketo (step 2) calls": 41}}
    people = [DuplicateScenarioPerson("M1", "a@x.jp", 11, crm_person_id=21),
              DuplicateScenarioPerson("M2", "b@x.jp", 12, crm_person_id=22), DuplicateScenarioPerson("M3", "c@x.jp", 13)]
    figures = journey(receipt, comparison, api_calls, people)
    report = Report("R1", comparison, api_calls=api_calls, seed_summary=receipt.summary, journey=figures)
    json_path, html_path = write_report(report, tmp_path / "R1")
    data = json.loads(json_path.read_text(encoding="utf-8"))["journey"]

    # the figures themselves, from the receipt: o1 and o2 came before their members, o3 with it, o4's never came
    assert data["arrival"] == {
        "orders": 4, "ordersBeforeTheirMember": 2, "ordersAfterTheirMember": 1, "ordersInTheirMembersCall": 1,
        "ordersNotAnswered": 1, "longestWaitSeconds": 4.0,
        "waited": [{"order": "O2", "member": "M2", "orderAt": 0.0, "attachedAt": 4.0},
                   {"order": "O1", "member": "M1", "orderAt": 0.0, "attachedAt": 1.5}],
    }
    assert data["statuses"] == {"created": 6, "updated": 0, "unchanged": 1, "stale": 0, "rejected": 2}
    assert data["limits"] == {"salesforce": {"used": 120, "limit": 15000, "what": "daily API requests"},
                              "marketo": {"used": 75, "limit": 50000, "what": "calls this run, of the daily quota"}}
    assert data["duplicates"]["personsBefore"] == 5 and data["duplicates"]["personsAfter"] == 3

    doc = parse(html_path)
    assert not doc.findall(".//h:script", NS)
    assert bars(doc, "statuses") == {k: float(v) for k, v in data["statuses"].items()}
    assert bars(doc, "arrivalOrder") == {"after their member": 1, "before their member": 2, "not answered": 1}
    assert bars(doc, "duplicates") == {"persons before": 5, "persons after": 3}
    for side in ("salesforce", "marketo"):
        arc = doc.find(f".//s:svg[@data-chart='limit-{side}']//s:path[@class='gauge']", NS)
        assert (float(arc.get("data-value")), float(arc.get("data-limit"))) == \
            (data["limits"][side]["used"], data["limits"][side]["limit"])
    spans = doc.findall(".//s:svg[@data-chart='arrivalTimeline']//s:g[@class='span']", NS)
    assert [(g.get("data-label"), float(g.get("data-start")), float(g.get("data-end"))) for g in spans] == \
        [(w["order"], w["orderAt"], w["attachedAt"]) for w in data["arrival"]["waited"]]
    # every chart's figures are written as numbers too
    statuses = doc.find(".//h:table[@data-figures='statuses']", NS)
    assert {tr[0].text: int(tr[1].text.replace(",", "")) for tr in statuses.findall(".//h:tr", NS)} == data["statuses"]
    gauge = doc.find(".//h:table[@data-figures='limit-salesforce']", NS)
    assert [td.text for td in gauge.findall(".//h:td", NS)] == ["used", "120", "limit", "15,000"]


def test_no_python_or_json_reprs_on_the_page(tmp_path: Path) -> None:
    receipt = sample_receipt(tmp_path)
    comparison = Comparison(counts={"members expected": 1})
    comparison.add("marketo.duplicate.history-lost", "a@x.jp", "gone", expected=[1, 2], actual={"kept": 1})
    report = Report("R2", comparison, api_calls={"salesforce": {"check calls": 1}, "marketo": {}},
                    seed_summary=receipt.summary, journey=journey(receipt, comparison, {}, []))
    _, html_path = write_report(report, tmp_path / "R2")
    text = html_path.read_text(encoding="utf-8")
    parse(html_path)
    for repr_mark in ("{'", "{&#39;", "['", "[1, 2]", "{\"", "&#34;:"):
        assert repr_mark not in text, repr_mark
    doc = parse(html_path)
    seed = {tr[0].text: tr[1].text for tr in doc.findall(".//h:table[@data-figures='seed']//h:tr", NS)}
    assert seed["statuses › created"] == "6" and seed["marketo › marketoOnlyPersons"] == "3"
