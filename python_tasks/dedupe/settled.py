"""Which clusters recorded by push_marketo a dedupe run has settled, so the record can let them go.

A recorded cluster is settled, and dropped from the record, when

* **merged**: the persons it links (those of its candidates the scan found still carrying its
  identity key, at least two) all lay in one plan cluster this run merged, or found already
  merged; or
* **gone**: fewer than two of its candidates exist any more, judged only over the ids the scan
  covered (a candidate outside ``start_id``..the last id scanned may still exist).

Everything else is kept for the next run: clusters this run did not act on (a dry run, the
``mark`` policy, a failed merge, a run stopped by the daily quota before reaching them), clusters
with a candidate outside the scanned ids, and links whose persons no longer carry the key but still
exist (a person may change back). Nothing a push recorded is lost before dedupe has dealt with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from python_tasks.dedupe.apply import ClusterOutcome
from python_tasks.dedupe.cluster_record import Ident, RecordedCluster
from python_tasks.dedupe.clusters import has_identity_key
from python_tasks.dedupe.persons import Person
from python_tasks.dedupe.plan import MERGE, PlannedCluster

MERGED = "merged"
GONE = "gone"


@dataclass(frozen=True)
class ScannedIds:
    """The ids a scan covered (``first``..``last``, inclusive) and the persons it found there."""
    first: int
    last: int
    persons: dict[int, Person]

    def covers(self, person_id: int) -> bool:
        return self.first <= person_id <= self.last


def _merged_groups(plan: Sequence[PlannedCluster], outcomes: Iterable[ClusterOutcome]) -> dict[int, int]:
    """Person id -> winner id, for every person of a plan cluster this run merged (or found merged)."""
    done = {o.winner for o in outcomes
            if o.policy == MERGE and (o.result == "merged" or (o.result == "skipped" and o.detail == "already merged"))}
    return {p.id: planned.winner.id for planned in plan if planned.policy == MERGE and planned.winner.id in done
            for p in planned.cluster.persons}


def settled_clusters(recorded: Sequence[RecordedCluster], scanned: ScannedIds, plan: Sequence[PlannedCluster],
                     outcomes: Iterable[ClusterOutcome]) -> dict[Ident, str]:
    """The recorded clusters settled by this run, each with why (:data:`MERGED` or :data:`GONE`)."""
    merged_into = _merged_groups(plan, outcomes)
    settled: dict[Ident, str] = {}
    for cluster in recorded:
        if not all(scanned.covers(i) for i in cluster.candidates):
            continue
        existing = [i for i in cluster.candidates if i in scanned.persons]
        if len(existing) < 2:
            settled[cluster.ident] = GONE
            continue
        linked = [i for i in existing if has_identity_key(scanned.persons[i], cluster.key)]
        winners = {merged_into.get(i) for i in linked}
        if len(linked) >= 2 and len(winners) == 1 and None not in winners:
            settled[cluster.ident] = MERGED
    return settled
