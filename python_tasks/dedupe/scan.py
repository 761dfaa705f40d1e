"""Read every Marketo person, page by page.

Marketo's REST API has no "list all leads" read; the documented paged read is by filter. The scan
reads by ``filterType=id`` in windows of 300 consecutive ids (one call each), from ``start_id``,
and stops after ``gap`` consecutive empty windows (default 20, i.e. 6,000 ids without a person:
merged and deleted ids leave holes) or at ``end_id``. A gap never stops the scan below ``at_least``
(an id known to exist, such as one push_marketo recorded). On a real instance whose ids have larger
holes, raise ``gap`` or give ``end_id`` (the highest id, from a smart list export).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

WINDOW = 300


def scan_persons(
    client: Any,
    fields: Sequence[str],
    *,
    start_id: int = 1,
    end_id: int | None = None,
    gap: int = 20,
    at_least: int = 0,
    progress: Callable[[int, int], None] = lambda scanned, last_id: None,
) -> Iterator[dict[str, Any]]:
    """Yield every lead with an id from ``start_id`` on, in id order; ``gap`` empty windows end the
    scan only once it has passed ``at_least``."""
    empty = 0
    first = max(1, start_id)
    scanned = 0
    while True:
        last = first + WINDOW - 1
        if end_id is not None:
            last = min(last, end_id)
        ids = list(range(first, last + 1))
        rows = sorted(client.get_leads_by_filter("id", ids, list(fields)), key=lambda r: int(r["id"]))
        scanned += len(rows)
        yield from rows
        progress(scanned, last)
        empty = 0 if rows else empty + 1
        if end_id is not None and last >= end_id:
            return
        if end_id is None and empty >= gap and last >= at_least:
            return
        first = last + 1
