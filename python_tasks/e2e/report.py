"""The end-to-end report: JSON for machines, one HTML page for people, and a short text summary."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from python_tasks.reporting.figures import readable, rows as figure_rows

from .charts import journey_charts
from .compare import Comparison

TEMPLATE_DIR = Path(__file__).resolve().parent
JSON_NAME = "e2e-report.json"
HTML_NAME = "e2e-report.html"
MISMATCHES_SHOWN = 2000


@dataclass
class Report:
    run_id: str
    comparison: Comparison
    api_calls: dict[str, Any] = field(default_factory=dict)
    seed_summary: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    journey: dict[str, Any] = field(default_factory=dict)  # the figures the page draws (journey.py)
    email_preview: dict[str, Any] | None = None  # one rendered email: {"record", "leadId", "html"}
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    @property
    def ok(self) -> bool:
        return self.comparison.ok

    def to_json(self) -> dict[str, Any]:
        by_check: dict[str, int] = {}
        for mismatch in self.comparison.mismatches:
            by_check[mismatch.check] = by_check.get(mismatch.check, 0) + 1
        return {
            "runId": self.run_id,
            "ok": self.ok,
            "generatedAt": self.generated_at,
            "counts": dict(self.comparison.counts),
            "mismatchCount": len(self.comparison.mismatches),
            "mismatchesByCheck": dict(sorted(by_check.items())),
            "mismatches": [mismatch.to_json() for mismatch in self.comparison.mismatches],
            "apiCalls": self.api_calls,
            "seed": self.seed_summary,
            "sources": self.sources,
            "journey": self.journey,
            "emailPreview": self.email_preview,
        }


def summary_lines(report: dict[str, Any]) -> list[str]:
    """A few lines for a terminal, from the JSON form of a report."""
    verdict = "PASSED" if report.get("ok") else f"FAILED: {report.get('mismatchCount', 0)} mismatches"
    lines = [f"ECBridge end-to-end check of run {report.get('runId')}: {verdict}"]
    for name, value in (report.get("counts") or {}).items():
        lines.append(f"  {name:<48} {value}")
    for check, count in (report.get("mismatchesByCheck") or {}).items():
        lines.append(f"  ! {check:<46} {count}")
    for side, calls in (report.get("apiCalls") or {}).items():
        if isinstance(calls, dict):
            lines.append(f"  API calls, {side}: " + ", ".join(f"{k} {v}" for k, v in calls.items() if not isinstance(v, dict)))
    return lines


def write_report(report: Report, run_dir: Path) -> tuple[Path, Path]:
    run_dir.mkdir(parents=True, exist_ok=True)
    payload = report.to_json()
    json_path = run_dir / JSON_NAME
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    environment = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html", "j2"]))
    html = environment.get_template("report.html.j2").render(
        report=payload, mismatches=payload["mismatches"][:MISMATCHES_SHOWN], shown=MISMATCHES_SHOWN,
        charts=journey_charts(payload["journey"]), figure_rows=figure_rows, readable=readable,
    )
    html_path = run_dir / HTML_NAME
    html_path.write_text(html, encoding="utf-8")
    return json_path, html_path
