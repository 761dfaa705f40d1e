"""A reviewer's decisions on a dedupe plan: which clusters ``apply`` carries out and which it skips.

The plan's CSV has a ``decision`` column, ``apply`` on every row when written. A reviewer puts
``skip`` on any row of a cluster to keep that cluster out of the run and gives the file back with
the ``reviewed_plan`` option. Because ``apply`` scans Marketo again, a cluster is carried out only
when the reviewer saw it as it is now: one that is not in the reviewed file (new since the review),
or whose persons or winner changed since, is skipped too, with the reason. Nothing the reviewer did
not see is merged.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from python_tasks.dedupe.plan import PlannedCluster

APPLY = "apply"
SKIP = "skip"
_APPLY_WORDS = {"", APPLY, "approve", "approved", "yes", "y", "ok"}
_SKIP_WORDS = {SKIP, "skipped", "no", "n"}
REQUIRED_COLUMNS = ("cluster", "role", "person_id", "decision")


class ReviewedPlanError(Exception):
    """The reviewed plan cannot be read: names the file, row and column."""


@dataclass
class ReviewedCluster:
    key: str
    winner: int | None = None
    persons: set[int] = field(default_factory=set)
    skip: bool = False


@dataclass(frozen=True)
class Skipped:
    planned: PlannedCluster
    reason: str


def _decision(path: Path, line: int, value: str | None) -> bool:
    """True for skip, False for apply; anything else is an error naming the row."""
    word = (value or "").strip().lower()
    if word in _SKIP_WORDS:
        return True
    if word in _APPLY_WORDS:
        return False
    raise ReviewedPlanError(f"{path}, line {line}: decision {value!r} is neither {APPLY} nor {SKIP}")


def read_reviewed_plan(path: Path) -> dict[str, ReviewedCluster]:
    """The clusters of a reviewed plan.csv by key; a cluster is skipped if any of its rows says skip."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise ReviewedPlanError(f"{path}: cannot be read ({error.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ReviewedPlanError(f"{path}: no {', '.join(missing)} column (expected the plan.csv dedupe wrote)")
        clusters: dict[str, ReviewedCluster] = {}
        for line, row in enumerate(reader, start=2):
            key = (row.get("cluster") or "").strip()
            if not key:
                raise ReviewedPlanError(f"{path}, line {line}: the cluster column is empty")
            try:
                person = int((row.get("person_id") or "").strip())
            except ValueError:
                raise ReviewedPlanError(f"{path}, line {line}: person_id {row.get('person_id')!r} is not a number") from None
            reviewed = clusters.setdefault(key, ReviewedCluster(key))
            reviewed.persons.add(person)
            if (row.get("role") or "").strip() == "winner":
                reviewed.winner = person
            reviewed.skip = _decision(path, line, row.get("decision")) or reviewed.skip
    return clusters


def split_by_review(plan: Sequence[PlannedCluster],
                    reviewed: dict[str, ReviewedCluster]) -> tuple[list[PlannedCluster], list[Skipped]]:
    """The clusters to carry out, and those skipped with the reason (the reviewer's or a change since)."""
    go: list[PlannedCluster] = []
    skipped: list[Skipped] = []
    for planned in plan:
        seen = reviewed.get(planned.key)
        now = set(planned.cluster.ids)
        if seen is None:
            skipped.append(Skipped(planned, "not in the reviewed plan (new since the review): review it first"))
        elif seen.skip:
            skipped.append(Skipped(planned, "skipped by the reviewer"))
        elif seen.persons != now:
            gained, lost = sorted(now - seen.persons), sorted(seen.persons - now)
            what = ", ".join(filter(None, [f"persons {gained} joined" if gained else "",
                                           f"persons {lost} left" if lost else ""]))
            skipped.append(Skipped(planned, f"changed since the review ({what}): review it again"))
        elif seen.winner != planned.winner.id:
            skipped.append(Skipped(planned, f"changed since the review (winner {seen.winner} is now "
                                            f"{planned.winner.id}): review it again"))
        else:
            go.append(planned)
    return go, skipped
