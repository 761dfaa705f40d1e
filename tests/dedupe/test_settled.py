"""Which recorded push clusters a dedupe run settled: only what it merged or what is gone."""
from __future__ import annotations

from python_tasks.dedupe.apply import ClusterOutcome
from python_tasks.dedupe.cluster_record import RecordedCluster
from python_tasks.dedupe.clusters import find_clusters
from python_tasks.dedupe.plan import MARK, MERGE, make_plan
from python_tasks.dedupe.settled import GONE, MERGED, ScannedIds, settled_clusters
from python_tasks.dedupe.winner import WinnerRule
from tests.dedupe.test_clusters import lead

I = "https://111-aaa-111.mktorest.com"


def recorded(key: str, *ids: int) -> RecordedCluster:
    return RecordedCluster(I, key, tuple(sorted(ids)), ids[0], "", "t", "t")


PERSONS = [lead(1, "a@x.jp", ecMemberId="M1"), lead(2, "b@x.jp", sfdcType="Contact", sfdcContactId="0031",
                                                      ecMemberId="M1"), lead(3, "c@x.jp", ecMemberId="M3"),
           lead(4, "d@x.jp", ecMemberId="M4")]
SCANNED = ScannedIds(1, 900, {p.id: p for p in PERSONS})
M1 = recorded("ecMemberId:M1", 1, 2)
STALE = recorded("ecMemberId:M3", 3, 4)   # 4 no longer carries M3: the link joins nobody
GONE_ONE = recorded("email:c@x.jp", 3, 50)  # 50 is within the scanned ids and not there
FAR = recorded("email:c@x.jp", 3, 5000)     # 5000 is beyond the scanned ids
ALL = [M1, STALE, GONE_ONE, FAR]


def plan_for(policy: str):
    return make_plan(find_clusters(PERSONS, WinnerRule(), links=[(c.key, list(c.candidates)) for c in ALL]), policy)


def outcome(plan, result: str, detail: str = "") -> list[ClusterOutcome]:
    [planned] = plan
    return [ClusterOutcome(planned.key, planned.policy, planned.winner.id, [p.id for p in planned.cluster.losers],
                           result, detail)]


def test_a_merged_cluster_and_a_gone_one_are_settled_the_others_kept() -> None:
    plan = plan_for(MERGE)
    assert [sorted(p.cluster.ids) for p in plan] == [[1, 2]]
    assert settled_clusters(ALL, SCANNED, plan, outcome(plan, "merged")) == {M1.ident: MERGED, GONE_ONE.ident: GONE}
    assert settled_clusters(ALL, SCANNED, plan, outcome(plan, "skipped", "already merged")) == {
        M1.ident: MERGED, GONE_ONE.ident: GONE}


def test_a_cluster_not_merged_is_kept() -> None:
    plan = plan_for(MERGE)
    for outcomes in (outcome(plan, "failed", "refused"), []):  # a refused merge; a run stopped before it
        assert settled_clusters(ALL, SCANNED, plan, outcomes) == {GONE_ONE.ident: GONE}
    marked = plan_for(MARK)
    assert settled_clusters(ALL, SCANNED, marked, outcome(marked, "marked")) == {GONE_ONE.ident: GONE}


def test_a_scan_from_a_later_id_judges_nothing_before_it_gone() -> None:
    later = ScannedIds(2, 900, {p.id: p for p in PERSONS if p.id >= 2})
    assert settled_clusters([M1], later, [], []) == {}
