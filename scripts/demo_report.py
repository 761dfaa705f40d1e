"""Print the summary of the latest end-to-end check and where its HTML report is (for `make demo`).

    python scripts/demo_report.py [--reports-dir reports/ecbridge] [--run-id RUN]

Exit code: 0 when the check passed, 1 when it found mismatches, 2 when there is no report to show.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from python_tasks.e2e.report import HTML_NAME, JSON_NAME, summary_lines  # noqa: E402
from python_tasks.seed.receipt import LATEST_RUN_FILE  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports-dir", default="reports/ecbridge", type=Path)
    parser.add_argument("--run-id")
    args = parser.parse_args(argv)
    reports_dir: Path = args.reports_dir
    run_id = args.run_id
    if not run_id:
        latest = reports_dir / LATEST_RUN_FILE
        if not latest.exists():
            print(f"No ECBridge run found: {latest} does not exist (run `cci flow run ecbridge_e2e --org local`).")
            return 2
        run_id = latest.read_text(encoding="utf-8").strip()
    report_path = reports_dir / run_id / JSON_NAME
    if not report_path.exists():
        print(f"Run {run_id} was seeded but not checked yet: {report_path} does not exist.")
        return 2
    report = json.loads(report_path.read_text(encoding="utf-8"))
    for line in summary_lines(report):
        print(line)
    print(f"HTML report: {(reports_dir / run_id / HTML_NAME).resolve()}")
    print(f"JSON report: {report_path.resolve()}")
    return 0 if report.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
