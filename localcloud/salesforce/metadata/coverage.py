"""The code coverage a production org requires of an Apex deploy.

Setting (environment): ``ECBRIDGE_ORG_PRODUCTION`` = ``on`` | ``off`` (default). Off, the local org
deploys as the Developer Edition it presents itself as: tests run only when a testLevel asks for them,
and coverage is reported, never required. On, it deploys as a production org does (Salesforce's
"Deploying Apex" and "Testing and Code Coverage" pages):

- a deploy holding Apex runs the local tests when no testLevel is given (RunLocalTests);
- testLevel NoTestRun is refused for such a deploy (``INVALID_OPERATION``; the message text is ours);
- after the tests pass, RunLocalTests / RunAllTestsInOrg need 75% of the org's Apex covered (classes
  and triggers together, test classes not counted), and every trigger needs some coverage;
- RunSpecifiedTests needs each class and trigger of the deploy covered 75% on its own.
A miss fails the deploy (rolled back) with ``codeCoverageWarnings`` in the run test result. The
average and trigger messages are Salesforce's; the per-class one for RunSpecifiedTests is ours.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

ENV_PRODUCTION = "ECBRIDGE_ORG_PRODUCTION"
REQUIRED_PERCENT = 75
NO_TEST_RUN_REFUSED = "INVALID_OPERATION: testLevel of NoTestRun cannot be used in production organizations"


def production_org() -> bool:
    """Whether the local org deploys as a production org (the ECBRIDGE_ORG_PRODUCTION setting)."""
    value = os.environ.get(ENV_PRODUCTION, "off").strip().lower()
    if value not in {"on", "off", "true", "false", "1", "0"}:
        raise ValueError(f"{ENV_PRODUCTION} must be on or off, not {value!r}")
    return value in {"on", "true", "1"}


def _percent(covered: int, total: int) -> int:
    return covered * 100 // total if total else 100


def _warning(message: str, name: str | None = None) -> dict[str, Any]:
    return {"id": None, "message": message, "name": name, "namespace": None}


def coverage_warnings(coverage: Iterable[dict[str, Any]], test_level: str,
                      deployed: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """What a production org says about ``coverage`` (codeCoverage rows: name, type Class|Trigger,
    numLocations, numLocationsNotCovered) after a passing test run; empty when the deploy may go on.
    ``deployed`` holds the deploy's (ApexClass|ApexTrigger, lower-case name) pairs."""
    rows = [dict(row) for row in coverage]
    warnings: list[dict[str, Any]] = []
    if test_level == "RunSpecifiedTests":
        for row in rows:
            kind = "ApexTrigger" if row.get("type") == "Trigger" else "ApexClass"
            if (kind, str(row["name"]).lower()) not in deployed:
                continue
            total = int(row.get("numLocations") or 0)
            percent = _percent(total - int(row.get("numLocationsNotCovered") or 0), total)
            if percent < REQUIRED_PERCENT:
                label = "Trigger" if kind == "ApexTrigger" else "Class"
                warnings.append(_warning(f"Test coverage of selected Apex {label} is {percent}%, at least "
                                         f"{REQUIRED_PERCENT}% test coverage is required", row["name"]))
        return warnings
    for row in rows:
        total = int(row.get("numLocations") or 0)
        if row.get("type") == "Trigger" and total and int(row.get("numLocationsNotCovered") or 0) >= total:
            warnings.append(_warning("Test coverage of selected Apex Trigger is 0%, at least 1% test coverage is "
                                     "required", row["name"]))
    total = sum(int(row.get("numLocations") or 0) for row in rows)
    covered = total - sum(int(row.get("numLocationsNotCovered") or 0) for row in rows)
    if total and _percent(covered, total) < REQUIRED_PERCENT:
        warnings.append(_warning(f"Average test coverage across all Apex Classes and Triggers is "
                                 f"{_percent(covered, total)}%, at least {REQUIRED_PERCENT}% test coverage is required."))
    return warnings
