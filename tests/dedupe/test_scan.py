"""The id-window scan: windows of 300 ids, the gap rule, end_id, and the at_least floor."""
from __future__ import annotations

from typing import Any

from python_tasks.dedupe.scan import WINDOW, scan_persons


class LeadsById:
    """Answers get_leads_by_filter("id", ...) from a set of existing ids, and counts the calls."""

    def __init__(self, ids: set[int]) -> None:
        self.ids = ids
        self.calls: list[list[int]] = []

    def get_leads_by_filter(self, filter_type: str, values: list[int], fields: list[str]) -> list[dict[str, Any]]:
        assert filter_type == "id" and len(values) <= WINDOW
        self.calls.append(values)
        return [{"id": i, "email": f"p{i}@example.jp"} for i in reversed(values) if i in self.ids]


def ids_of(rows) -> list[int]:
    return [row["id"] for row in rows]


def test_every_person_in_id_order_then_stop_after_the_gap() -> None:
    client = LeadsById({1, 2, 299, 300, 301, 1500})
    assert ids_of(scan_persons(client, ["id"], gap=3)) == [1, 2, 299, 300, 301, 1500]
    assert len(client.calls) == 5 + 3, "five windows to id 1,500, then three empty ones"


def test_a_longer_hole_than_the_gap_hides_the_persons_beyond_it_unless_at_least_reaches_them() -> None:
    ids = {5, 20_000}
    assert ids_of(scan_persons(LeadsById(ids), ["id"], gap=2)) == [5]
    assert ids_of(scan_persons(LeadsById(ids), ["id"], gap=2, at_least=20_000)) == [5, 20_000]


def test_end_id_bounds_the_scan_whatever_the_gap() -> None:
    client = LeadsById({1, 10_000, 10_001})
    assert ids_of(scan_persons(client, ["id"], gap=1, end_id=10_000)) == [1, 10_000]
    assert client.calls[-1][-1] == 10_000, "the last window is cut at end_id"


def test_start_id_and_progress() -> None:
    seen: list[tuple[int, int]] = []
    rows = list(scan_persons(LeadsById({250, 700}), ["id"], start_id=200, gap=1,
                             progress=lambda count, last: seen.append((count, last))))
    assert ids_of(rows) == [250, 700]
    assert seen[:3] == [(1, 499), (2, 799), (2, 1099)]
