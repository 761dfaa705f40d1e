"""The dedupe plan: what would happen to each cluster, written as CSV (the HTML page is plan_page).

Field changes under the ``merge`` policy follow Marketo's documented merge rule: the winner keeps
its own value unless it is empty, in which case it takes a loser's value. Which loser's value
Marketo takes when several losers have one is undocumented; the plan predicts the best-ranked
loser's value (the order the winner rule ranks them) and the audit log records what Marketo did.
Under the ``mark`` policy the only change is ``ecbSupersededBy`` on each Marketo-only loser.

Consent (the mapping's ``consent`` section): a winner that is subscribed while one of its duplicates is
unsubscribed would, after the merge, take email again (Marketo keeps the winner's value). Under
either policy the plan therefore shows the winner becoming unsubscribed, with the duplicate's reason,
and ``apply`` writes it to the winner before merging or marking (``PlannedCluster.carry``).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

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


@dataclass(frozen=True)
class ConsentFields:
    """The Marketo lead fields that hold consent (the mapping's consent.marketo)."""

    unsubscribed: str = "unsubscribed"
    reason: str = "unsubscribedReason"


def is_unsubscribed(value: object) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


@dataclass
class PlannedCluster:
    cluster: Cluster
    policy: str
    changes: list[FieldChange] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)  # losers the policy leaves untouched, with reason
    kept_reason: str = ""
    already_done: bool = False
    carry: list[FieldChange] = field(default_factory=list)  # written by apply: the opt-out kept on the winner

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


def consent_carry(cluster: Cluster, consent: ConsentFields) -> list[FieldChange]:
    """The opt-out the winner must take so that the merged person stays unsubscribed if any was."""
    winner = cluster.winner
    if is_unsubscribed(winner.values.get(consent.unsubscribed)):
        return []
    source = next((p for p in cluster.losers if is_unsubscribed(p.values.get(consent.unsubscribed))), None)
    if source is None:
        return []
    reason = source.values.get(consent.reason)
    reason = str(reason).strip() if not _empty(reason) else f"unsubscribed as duplicate {source.id}"
    return [FieldChange(winner.id, consent.unsubscribed, winner.values.get(consent.unsubscribed), True),
            FieldChange(winner.id, consent.reason, winner.values.get(consent.reason), reason)]


def plan_cluster(cluster: Cluster, policy: str, consent: ConsentFields | None = None) -> PlannedCluster:
    if policy not in POLICIES:
        raise ValueError(f"policy {policy!r} is not one of {', '.join(POLICIES)}")
    planned = _plan_policy(cluster, policy)
    carry = consent_carry(cluster, consent) if consent is not None else []
    if carry:
        carried = {(c.person_id, c.field) for c in carry}
        planned.changes = [c for c in planned.changes if (c.person_id, c.field) not in carried] + carry
        planned.carry = carry
        planned.already_done = False
    return planned


def _plan_policy(cluster: Cluster, policy: str) -> PlannedCluster:
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


def make_plan(clusters: Iterable[Cluster], policy: str, consent: ConsentFields | None = None) -> list[PlannedCluster]:
    return [plan_cluster(c, policy, consent) for c in clusters]


CSV_COLUMNS = ["cluster", "policy", "role", "person_id", "email", "origin", "updated_at",
               "action", "why", "changes", "decision"]
# What a reviewer changes to ``skip`` (on any row of a cluster) to keep the cluster out of ``apply``.
DEFAULT_DECISION = "apply"


def _changes_text(changes: Sequence[FieldChange], person_id: int) -> str:
    return "; ".join(f"{c.field}: {c.before!r} -> {c.after!r}" for c in changes if c.person_id == person_id)


def action_text(planned: PlannedCluster, person: Person) -> str:
    if person.id == planned.winner.id:
        return "keep (winner), stays unsubscribed as its duplicate is" if planned.carry else "keep (winner)"
    if planned.policy == MERGE:
        return f"merge into {planned.winner.id}"
    if person.id in planned.kept:
        return "keep (CRM-synced)"
    if planned.already_done and person.superseded_by == planned.winner.id:
        return f"already marked superseded by {planned.winner.id}"
    if any(c.person_id == person.id for c in planned.changes):
        return f"mark superseded by {planned.winner.id}"
    return f"already marked superseded by {planned.winner.id}"


def plan_rows(plan: Sequence[PlannedCluster], decisions: Mapping[str, str] | None = None) -> list[dict[str, str]]:
    """One row per person; ``decisions`` (cluster key -> decision) carries a review over."""
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
                "action": action_text(planned, person),
                "why": planned.cluster.reason if role == "winner" else planned.kept_reason if person.id in planned.kept else "",
                "changes": _changes_text(planned.changes, person.id),
                "decision": (decisions or {}).get(planned.key, DEFAULT_DECISION),
            })
    return rows


def write_csv(plan: Sequence[PlannedCluster], path: Path, decisions: Mapping[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(plan_rows(plan, decisions))
    return path
