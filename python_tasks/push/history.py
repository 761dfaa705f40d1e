"""A small history of push_marketo runs and the page drawn from it: ``reports/push/index.html``.

After each push the task hands its return values to ``record_push_run``: one JSON line is appended to
``history.jsonl`` (persons, orders, errors, waiting orders by age, calls), only the newest
``KEEP_RUNS`` runs are kept, and the page is drawn again from the file. The page is self-contained
(inline SVG, no JavaScript) and every figure on it is also written as a number. The folder is
``reports/push`` under the current directory, or ``$ECBRIDGE_PUSH_REPORTS_DIR``.

Writing the history never fails a push: the push has already done its work, so a problem here is
logged as a warning and the history simply lacks that run.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from python_tasks.reporting.svg import bar_chart, line_chart

HISTORY_NAME = "history.jsonl"
PAGE_NAME = "index.html"
KEEP_RUNS = 500
RUNS_LISTED = 50
REASONS_KEPT = 20
ENV_DIR = "ECBRIDGE_PUSH_REPORTS_DIR"
DEFAULT_DIR = Path("reports") / "push"
# Waiting orders by age: (label, upper bound in seconds); the last band has no bound.
AGE_BANDS: tuple[tuple[str, int | None], ...] = (
    ("under 1 h", 3600), ("1-6 h", 6 * 3600), ("6-24 h", 86400), ("1-7 d", 7 * 86400), ("over 7 d", None),
)


def reports_dir() -> Path:
    return Path(os.environ.get(ENV_DIR) or DEFAULT_DIR)


def age_bands(waiting: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    bands = {label: 0 for label, _ in AGE_BANDS}
    for order in waiting:
        age = int(order.get("age_seconds") or 0)
        label = next(label for label, bound in AGE_BANDS if bound is None or age < bound)
        bands[label] += 1
    return bands


def history_entry(values: Mapping[str, Any], at: dt.datetime | None = None) -> dict[str, Any]:
    """One run's line, from push_marketo's return values."""
    reasons = [*values.get("person_skip_reasons", []), *values.get("order_skip_reasons", [])]
    errors = int(values.get("persons_skipped", 0)) + int(values.get("orders_skipped", 0)) \
        + int(values.get("write_back_failures", 0))
    waiting = values.get("waiting_orders") or []
    return {
        "at": (at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds"),
        "persons": {"created": int(values.get("persons_created", 0)), "updated": int(values.get("persons_updated", 0)),
                    "unchanged": int(values.get("persons_unchanged", 0)),
                    "skipped": int(values.get("persons_skipped", 0))},
        "orders": {"pushed": int(values.get("orders_pushed", 0)), "skipped": int(values.get("orders_skipped", 0)),
                   "waiting": int(values.get("orders_waiting", len(waiting)))},
        "errors": errors,
        "writeBackFailures": int(values.get("write_back_failures", 0)),
        "duplicateClusters": int(values.get("duplicate_clusters", 0)),
        "resubscribesRefused": int(values.get("resubscribes_refused", 0)),
        "resubscribeRefusals": [str(r) for r in (values.get("resubscribe_refusals") or [])[:REASONS_KEPT]],
        "waitingByAge": age_bands(waiting),
        "oldestWaitingSeconds": max((int(w.get("age_seconds") or 0) for w in waiting), default=0),
        "calls": {"marketo": int(values.get("marketo_calls", 0)), "salesforce": int(values.get("salesforce_calls", 0))},
        "stopped": str(values.get("stopped") or ""),
        "errorReasons": [str(r) for r in reasons[:REASONS_KEPT]],
    }


def read_history(path: Path) -> list[dict[str, Any]]:
    """The runs of a history file, oldest first; lines that are not JSON objects are left out."""
    if not path.exists():
        return []
    runs = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            run = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(run, dict) and "at" in run:
            runs.append(run)
    return runs


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=path.name + ".", dir=path.parent)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    os.replace(temporary, path)


def append_run(folder: Path, entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Add one run, keep the newest KEEP_RUNS, and return the history."""
    path = folder / HISTORY_NAME
    runs = [*read_history(path), dict(entry)][-KEEP_RUNS:]
    _write_atomically(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in runs))
    return runs


def charts(runs: Sequence[Mapping[str, Any]]) -> dict[str, Markup]:
    if not runs:
        return {}
    labels = [str(r["at"])[5:19].replace("T", " ") for r in runs]
    latest = runs[-1]
    return {
        "work": line_chart("work", "Persons and orders pushed, and errors, per run", labels, {
            "persons created or updated": [r["persons"]["created"] + r["persons"]["updated"] for r in runs],
            "orders pushed": [r["orders"]["pushed"] for r in runs],
            "errors": [r["errors"] for r in runs],
        }),
        "calls": line_chart("calls", "API calls per run", labels, {
            "Marketo calls": [r["calls"]["marketo"] for r in runs],
            "Salesforce calls": [r["calls"]["salesforce"] for r in runs],
        }),
        "waiting": bar_chart("waiting", "Orders waiting for their member, by age (latest run)", latest["waitingByAge"]),
        "latestPersons": bar_chart("latestPersons", "Persons (latest run)", latest["persons"],
                                   colors={"created": "#1a7f37", "updated": "#0969da", "unchanged": "#57606a",
                                           "skipped": "#cf222e"}),
    }


def render_page(runs: Sequence[Mapping[str, Any]]) -> str:
    environment = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent),
                              autoescape=select_autoescape(["html", "j2"]))
    return environment.get_template("history.html.j2").render(
        runs=list(runs), listed=list(reversed(runs[-RUNS_LISTED:])), charts=charts(runs), history=HISTORY_NAME)


def record_push_run(values: Mapping[str, Any], folder: Path | None = None,
                    warn: Callable[[str], None] | None = None) -> Path | None:
    """Append this run to the history and draw the page again; the page's path, or None (warned) on failure."""
    folder = folder or reports_dir()
    try:
        runs = append_run(folder, history_entry(values))
        page = folder / PAGE_NAME
        _write_atomically(page, render_page(runs))
        return page
    except (OSError, ValueError, KeyError, TypeError) as error:
        if warn:
            warn(f"push history not written to {folder}: {type(error).__name__}: {error}")
        return None
