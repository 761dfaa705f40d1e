"""What one write call may carry: a list of records no longer than max_batch_records (1003 past it)."""

from __future__ import annotations

from typing import Any

from localcloud.marketo.envelope import CallError


def check_record_count(records: list[Any], limit: int) -> None:
    """Marketo refuses the whole call (1003) when its input holds more records than the limit."""
    if len(records) > limit:
        raise CallError("1003", f"Too many records: {len(records)}, the limit is {limit}")


def require_record_list(records: Any, limit: int) -> list[Any]:
    """The input of a delete call: a non-empty list (701 otherwise) within the limit."""
    if not isinstance(records, list) or not records:
        raise CallError("701", "input cannot be blank")
    check_record_count(records, limit)
    return records
