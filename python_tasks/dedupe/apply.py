"""Carry out a dedupe plan: merge (history moves to the winner) or mark; never delete.

Every cluster is re-read just before it is acted on, so a plan applied twice, or a run stopped and
started again, skips what is already done (losers already merged away, already marked). A merge
Marketo refuses is reported with its cause and the other clusters go on. Every action, done,
skipped or failed, is one JSON line in the audit log with the persons before and after; before each
merge call an intent line (``result: started``) is written, so a run killed between the call and
its outcome line still leaves a trace of the merge it sent.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

from python_tasks.dedupe.plan import MARK, MERGE, SUPERSEDED_FIELD, PlannedCluster
from python_tasks.marketo.errors import MarketoError, MarketoQuotaExceeded

MAX_LOSERS_PER_MERGE = 25
GROUP = 100  # clusters read before and after together (one read call per 300 persons)


@dataclass
class ClusterOutcome:
    key: str
    policy: str
    winner: int
    losers: list[int]
    result: str  # merged | marked | skipped | failed
    detail: str = ""


@dataclass
class ApplyReport:
    outcomes: list[ClusterOutcome] = field(default_factory=list)
    merge_calls: int = 0
    stopped: str = ""

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class PlanApplier:
    def __init__(self, client: Any, audit_path: Path, fields: Sequence[str], *, merge_in_crm: bool = False,
                 progress: Callable[[int, int], None] = lambda done, total: None) -> None:
        self.client = client
        self.audit_path = audit_path
        self.fields = list(dict.fromkeys([*fields, SUPERSEDED_FIELD]))
        self.merge_in_crm = merge_in_crm
        self.progress = progress
        self.report = ApplyReport()

    def _read(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        if not ids:
            return {}
        return {int(r["id"]): r for r in self.client.get_leads_by_filter("id", list(ids), self.fields)}

    def _audit(self, handle: Any, planned: PlannedCluster, outcome: ClusterOutcome, before: dict[int, Any],
               after: dict[int, Any], extra: dict[str, Any] | None = None) -> None:
        line = {
            "at": _now(), "cluster": planned.key, "policy": planned.policy, "winner": outcome.winner,
            "losers": outcome.losers, "result": outcome.result, "detail": outcome.detail, "why": planned.cluster.reason,
            "before": {str(k): v for k, v in before.items()}, "after": {str(k): v for k, v in after.items()},
            **(extra or {}),
        }
        handle.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")
        handle.flush()

    def apply(self, plan: Sequence[PlannedCluster]) -> ApplyReport:
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a", encoding="utf-8") as handle:
            merges = [p for p in plan if p.policy == MERGE]
            marks = [p for p in plan if p.policy == MARK]
            done = 0
            for start in range(0, len(merges), GROUP):
                group = merges[start:start + GROUP]
                try:
                    self._merge_group(handle, group)
                except MarketoQuotaExceeded as quota:
                    self.report.stopped = str(quota)
                    break
                done += len(group)
                self.progress(done, len(plan))
            if marks and not self.report.stopped:
                self._mark(handle, marks)
        return self.report

    def skip(self, skipped: Sequence[tuple[PlannedCluster, str]]) -> None:
        """Log clusters kept out of the run (a reviewer's skip, a change since the review): an outcome
        ``skipped`` with the reason and an audit line each, nothing sent to Marketo."""
        if not skipped:
            return
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with self.audit_path.open("a", encoding="utf-8") as handle:
            for planned, reason in skipped:
                outcome = ClusterOutcome(planned.key, planned.policy, planned.winner.id,
                                         [p.id for p in planned.cluster.losers], "skipped", reason)
                self.report.outcomes.append(outcome)
                self._audit(handle, planned, outcome, {}, {}, {"reviewed": True})

    def _carry_opt_outs(self, plans: Sequence[PlannedCluster]) -> dict[str, str]:
        """Unsubscribe the winners whose duplicates are unsubscribed (plan.consent_carry), in one call,
        before any merge or mark: Marketo's merge keeps the winner's value. Answers the clusters whose
        winner could not be updated, with the reason (they are not merged: the opt-out would be lost)."""
        carried = [p for p in plans if p.carry]
        if not carried:
            return {}
        records = [{"id": p.winner.id, **{c.field: c.after for c in p.carry}} for p in carried]
        try:
            results = self.client.sync_leads(records, action="updateOnly", lookup_field="id")
        except MarketoQuotaExceeded:
            raise
        except MarketoError as exc:
            done = {r.index: r for r in exc.completed_results}
            return {p.key: str(exc) for i, p in enumerate(carried) if not getattr(done.get(i), "ok", False)}
        return {p.key: (r.reason_text or f"status {r.status}") for p, r in zip(carried, results) if not r.ok}

    def _merge_group(self, handle: Any, group: Sequence[PlannedCluster]) -> None:
        """Read the group's persons once, carry opt-outs to the winners, merge cluster by cluster (an intent
        line in the audit log before each merge call), read them again and log each outcome with before and after."""
        before = self._read([i for p in group for i in [p.winner.id, *(l.id for l in p.acted_losers)]])
        not_carried = self._carry_opt_outs([p for p in group if p.winner.id in before])
        pending: list[tuple[PlannedCluster, list[int], list[str], MarketoError | None]] = []
        for planned in group:
            winner = planned.winner.id
            if planned.key in not_carried:
                self._finish(handle, planned, ClusterOutcome(
                    planned.key, MERGE, winner, [p.id for p in planned.acted_losers], "failed",
                    f"winner {winner} could not be unsubscribed as its duplicate is, so it was not merged: "
                    f"{not_carried[planned.key]}"), before, {})
                continue
            losers = [p.id for p in planned.acted_losers]
            present = [i for i in losers if i in before]
            if winner not in before:
                self._finish(handle, planned, ClusterOutcome(
                    planned.key, MERGE, winner, losers, "failed",
                    f"winner {winner} no longer exists; scan again to re-plan this cluster"), before, {})
                continue
            if not present:
                self._finish(handle, planned, ClusterOutcome(planned.key, MERGE, winner, losers, "skipped",
                                                             "already merged"), before, {})
                continue
            self._audit(handle, planned, ClusterOutcome(planned.key, MERGE, winner, present, "started"),
                        {i: before.get(i) for i in [winner, *present]}, {}, {"merge_in_crm": self.merge_in_crm})
            request_ids: list[str] = []
            error: MarketoError | None = None
            for start in range(0, len(present), MAX_LOSERS_PER_MERGE):
                try:
                    self.report.merge_calls += 1
                    request_ids.append(self.client.merge_leads(winner, present[start:start + MAX_LOSERS_PER_MERGE],
                                                               self.merge_in_crm))
                except MarketoQuotaExceeded:
                    raise
                except MarketoError as exc:
                    error = exc
                    break
            pending.append((planned, present, request_ids, error))
        if not pending:
            return
        after = self._read([i for planned, present, _, _ in pending for i in [planned.winner.id, *present]])
        for planned, present, request_ids, error in pending:
            winner = planned.winner.id
            merged = [i for i in present if i not in after]
            if error is None:
                outcome = ClusterOutcome(planned.key, MERGE, winner, present, "merged",
                                         f"{len(merged)} merged into {winner}; requestIds {', '.join(request_ids)}")
            else:
                outcome = ClusterOutcome(planned.key, MERGE, winner, present, "failed",
                                         f"{error} ({len(merged)} of {len(present)} merged before it)")
            ids = [winner, *present]
            self._finish(handle, planned, outcome, {i: before.get(i) for i in ids}, {i: after.get(i) for i in ids},
                         {"merge_in_crm": self.merge_in_crm})

    def _finish(self, handle: Any, planned: PlannedCluster, outcome: ClusterOutcome, before: dict[int, Any],
                after: dict[int, Any], extra: dict[str, Any] | None = None) -> None:
        self.report.outcomes.append(outcome)
        ids = [outcome.winner, *outcome.losers]
        self._audit(handle, planned, outcome, {i: before.get(i) for i in ids},
                    {i: after.get(i) for i in ids} if after else {i: before.get(i) for i in ids}, extra)

    def _mark(self, handle: Any, plans: Sequence[PlannedCluster]) -> None:
        ids = list(dict.fromkeys(i for p in plans for i in [p.winner.id, *(c.person_id for c in p.changes)]))
        before = self._read(ids)
        not_carried = self._carry_opt_outs([p for p in plans if p.winner.id in before])
        updates: list[tuple[PlannedCluster, int]] = []
        for planned in plans:
            for change in planned.changes:
                if change.field != SUPERSEDED_FIELD:
                    continue  # the carried opt-out, written above
                current = before.get(change.person_id, {}).get(SUPERSEDED_FIELD)
                if change.person_id in before and str(current) != str(planned.winner.id):
                    updates.append((planned, change.person_id))
        results: dict[int, Any] = {}
        if updates:
            try:
                answered = self.client.sync_leads(
                    [{"id": loser, SUPERSEDED_FIELD: planned.winner.id} for planned, loser in updates],
                    action="updateOnly", lookup_field="id")
            except MarketoError as exc:
                answered = list(exc.completed_results)
                self.report.stopped = str(exc) if isinstance(exc, MarketoQuotaExceeded) else ""
                failed_text = str(exc)
            else:
                failed_text = ""
            by_index = {r.index: r for r in answered}
            for index, (_planned, loser) in enumerate(updates):
                results[loser] = by_index.get(index) or failed_text or "not sent"
        after = self._read(ids)
        for planned in plans:
            losers = [c.person_id for c in planned.changes if c.field == SUPERSEDED_FIELD]
            mine = {i: results[i] for i in losers if i in results}
            failures = {i: (r.reason_text if hasattr(r, "reason_text") else str(r)) for i, r in mine.items()
                        if not getattr(r, "ok", False)}
            if planned.key in not_carried:
                failures[planned.winner.id] = f"could not be unsubscribed as its duplicate is: {not_carried[planned.key]}"
            if not mine and not failures and planned.carry:
                outcome = ClusterOutcome(planned.key, MARK, planned.winner.id, losers, "marked",
                                         f"winner {planned.winner.id} unsubscribed as its duplicate is")
            elif not mine and not failures:
                outcome = ClusterOutcome(planned.key, MARK, planned.winner.id, losers, "skipped",
                                         "already marked" if losers or planned.already_done else "nothing to mark")
            elif failures:
                outcome = ClusterOutcome(planned.key, MARK, planned.winner.id, losers, "failed",
                                         "; ".join(f"{i}: {t}" for i, t in failures.items()))
            else:
                outcome = ClusterOutcome(planned.key, MARK, planned.winner.id, losers, "marked",
                                         f"{len(mine)} marked {SUPERSEDED_FIELD}={planned.winner.id}")
            self.report.outcomes.append(outcome)
            cluster_ids = [planned.winner.id, *losers]
            self._audit(handle, planned, outcome, {i: before.get(i) for i in cluster_ids},
                        {i: after.get(i) for i in cluster_ids})
