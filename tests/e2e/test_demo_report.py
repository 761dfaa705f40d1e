"""scripts/demo_report.py: prints the latest report's summary and where the HTML page is."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from python_tasks.e2e.compare import Comparison
from python_tasks.e2e.report import Report, write_report

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "demo_report.py"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_no_run_yet_says_so(tmp_path: Path) -> None:
    answer = run("--reports-dir", str(tmp_path))
    assert answer.returncode == 2
    assert "No ECBridge run found" in answer.stdout


def test_prints_summary_and_html_path_and_exit_code_follows_the_verdict(tmp_path: Path) -> None:
    good = Comparison(counts={"members expected": 3, "members found": 3})
    write_report(Report(run_id="s1", comparison=good), tmp_path / "s1")
    (tmp_path / "latest-run.txt").write_text("s1\n")
    answer = run("--reports-dir", str(tmp_path))
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert "run s1: PASSED" in answer.stdout
    assert str((tmp_path / "s1" / "e2e-report.html").resolve()) in answer.stdout
    bad = Comparison(counts={"members expected": 3, "members found": 2})
    bad.add("salesforce.member.missing", "s2-M000003", "no Contact")
    write_report(Report(run_id="s2", comparison=bad), tmp_path / "s2")
    answer = run("--reports-dir", str(tmp_path), "--run-id", "s2")
    assert answer.returncode == 1
    assert "FAILED: 1 mismatches" in answer.stdout and "salesforce.member.missing" in answer.stdout
