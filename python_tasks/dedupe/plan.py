"""The dedupe plan: what would happen to each cluster, written as CSV and as a readable HTML page.

Field changes under the ``merge`` policy follow Marketo's documented merge rule: the winner keeps
its own value unless it is empty, in which case it takes a loser's value. Which loser's value
Marketo takes when several losers have one is undocumented; the plan predicts the best-ranked
loser's value (the order the winner rule ranks them) and the audit log records what Marketo did.
Under the ``mark`` policy the only change is ``ecbSupersededBy`` on each Marketo-only loser.
"""
from __future__ import annotations

import csv
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from python_tasks.dedupe.clusters import Cluster
from python_tasks.dedupe.persons import MARKETO_ONLY, Person

MERGE = "merge"
MARK = "mark"
POLICIES = (MERGE, MARK)
SUPERSEDED_FIELD = "ecbSupersededBy"
# Fields Marketo owns: never predicted as a change by a merge.
_SYSTEM_FIELDS = {"id", "createdAt", "updatedAt", "sfdcType", "sfdcLeadId", "sfdcContactId",
                  "sfdcAccountId", SUPERSEDED_FIELD}


@dataclass(frozen=True)
class FieldChange:
    person_id: int
    field: str
    before: object
    after: object


@dataclass
class PlannedCluster:
    cluster: Cluster
    policy: str
    changes: list[FieldChange] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # losers the policy leaves untouched, with reason
    kept_reason: str = ""
    already_done: bool = False

    @property
    def key(self) -> str:
        return self.cluster.key

    @property
    def winner(self) -> Person:
        return self.cluster.winner

    @property
    def acted_losers(self) -> list[Person]:
        return [p for p in self.cluster.losers if p.id not in self.kept]


def _empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def merge_changes(cluster: Cluster) -> list[FieldChange]:
    winner = cluster.winner
    fields = sorted({f for p in cluster.persons for f in p.values} - _SYSTEM_FIELDS)
    changes = []
    for name in fields:
        if not _empty(winner.values.get(name)):
            continue
        for loser in cluster.losers:
            value = loser.values.get(name)
            if not _empty(value):
                changes.append(FieldChange(winner.id, name, winner.values.get(name), value))
                break
    return changes


def plan_cluster(cluster: Cluster, policy: str) -> PlannedCluster:
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is not one of {', '.join(POLICIES)}")
    if policy == MERGE:
        return PlannedCluster(cluster, policy, merge_changes(cluster))
    planned = PlannedCluster(cluster, policy)
    for loser in cluster.losers:
        if loser.origin != MARKETO_ONLY:
            planned.kept.append(loser.id)
            continue
        if loser.superseded_by == cluster.winner.id:
            continue
        planned.changes.append(
            FieldChange(loser.id, SUPERSEDED_FIELD, loser.superseded_by, cluster.winner.id)
        )
    if planned.kept:
        planned.kept_reason = "CRM-synced losers are kept unmarked: repair them in Salesforce"
    planned.already_done = not planned.changes
    return planned


def make_plan(clusters: Iterable[Cluster], policy: str) -> list[PlannedCluster]:
    return [plan_cluster(c, policy) for c in clusters]


CSV_COLUMNS = ["cluster", "policy", "role", "person_id", "email", "origin", "updated_at",
               "action", "why", "changes"]


def _changes_text(changes: Sequence[FieldChange], person_id: int) -> str:
    return "; ".join(f"{c.field}: {c.before!r} -> {c.after!r}" for c in changes if c.person_id == person_id)


def _action(planned: PlannedCluster, person: Person) -> str:
    if person.id == planned.winner.id:
        return "keep (winner)"
    if planned.policy == MERGE:
        return f"merge into {planned.winner.id}"
    if person.id in planned.kept:
        return "keep (CRM-synced)"
    if planned.already_done and person.superseded_by == planned.winner.id:
        return f"already marked superseded by {planned.winner.id}"
    if any(c.person_id == person.id for c in planned.changes):
        return f"mark superseded by {planned.winner.id}"
    return f"already marked superseded by {planned.winner.id}"


def plan_rows(plan: Sequence[PlannedCluster]) -> list[dict[str, str]]:
    rows = []
    for planned in plan:
        for person in planned.cluster.persons:
            role = "winner" if person.id == planned.winner.id else "loser"
            rows.append({
                "cluster": planned.key,
                "policy": planned.policy,
                "role": role,
                "person_id": str(person.id),
                "email": person.email or "",
                "origin": person.origin,
                "updated_at": person.updated_at.isoformat() if person.updated_at else "",
                "action": _action(planned, person),
                "why": planned.cluster.reason if role == "winner" else planned.kept_reason if person.id in planned.kept else "",
                "changes": _changes_text(planned.changes, person.id),
            })
    return rows


def write_csv(plan: Sequence[PlannedCluster], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(plan_rows(plan))
    return path


def write_html(plan: Sequence[PlannedCluster], path: Path, *, title: str = "ECBridge dedupe plan",
               note: str = "") -> Path:
    esc = html.escape
    persons = sum(len(p.cluster.persons) for p in plan)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
        "td,th{border:1px solid #bbb;padding:4px 8px;text-align:left}tr.winner{background:#e8f6e8}"
        "h2{font-size:1.05em;margin-bottom:.3em}.why{color:#555}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{len(plan)} clusters, {persons} persons. Nobody is deleted: losers are merged into the winner "
        "(history moves with them) or marked as superseded.</p>",
    ]
    if note:
        parts.append(f'<p class="why">Persons read by {esc(note)}.</p>')
    for planned in plan:
        parts.append(f"<h2>{esc(planned.key)} &mdash; policy {esc(planned.policy)}</h2>")
        parts.append(f'<p class="why">Winner {planned.winner.id}: {esc(planned.cluster.reason)}</p>')
        parts.append("<table><tr><th>role</th><th>person</th><th>email</th><th>origin</th>"
                     "<th>updated</th><th>action</th><th>field changes</th></tr>")
        for row in plan_rows([planned]):
            cls = ' class="winner"' if row["role"] == "winner" else ""
            parts.append(
                f"<tr{cls}>" + "".join(
                    f"<td>{esc(row[c])}</td>"
                    for c in ("role", "person_id", "email", "origin", "updated_at", "action", "changes")
                ) + "</tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
