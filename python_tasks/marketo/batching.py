"""Split writes into batches Marketo accepts: at most 300 records and a body under 1 MB.

Sizes are measured on the exact bytes that are sent (compact JSON, UTF-8), not estimated.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

MAX_RECORDS_PER_CALL = 300
MAX_BODY_BYTES = 1_000_000  # Marketo's limit is 1 MB; this stays under both readings of "MB"


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@dataclass(frozen=True)
class Batch:
    indexes: tuple[int, ...]  # positions in the caller's input
    body: bytes  # the JSON body to send, already measured


@dataclass(frozen=True)
class Oversize:
    index: int
    size: int


def plan_batches(
    records: Sequence[dict[str, Any]],
    envelope: dict[str, Any],
    indexes: Sequence[int] | None = None,
    max_records: int = MAX_RECORDS_PER_CALL,
    max_bytes: int = MAX_BODY_BYTES,
) -> tuple[list[Batch], list[Oversize]]:
    """Batches of ``records`` (those at ``indexes``, in that order) inside ``envelope``'s ``input``.

    A record that alone makes the body too large is returned in the second list and never sent.
    """
    if not 1 <= max_records <= MAX_RECORDS_PER_CALL:
        raise ValueError(f"max_records must be 1..{MAX_RECORDS_PER_CALL}")
    shell = dumps({**{k: v for k, v in envelope.items() if k != "input"}, "input": []})
    assert shell.endswith(b"[]}")
    head = shell[:-2]  # ... "input":[
    tail = b"]}"
    base = len(head) + len(tail)
    batches: list[Batch] = []
    oversize: list[Oversize] = []
    current: list[int] = []
    parts: list[bytes] = []
    size = base

    def flush() -> None:
        nonlocal current, parts, size
        if current:
            batches.append(Batch(tuple(current), head + b",".join(parts) + tail))
        current, parts, size = [], [], base

    for index in range(len(records)) if indexes is None else indexes:
        encoded = dumps(records[index])
        if base + len(encoded) > max_bytes:
            oversize.append(Oversize(index, base + len(encoded)))
            continue
        extra = len(encoded) + (1 if parts else 0)
        if len(current) >= max_records or size + extra > max_bytes:
            flush()
            extra = len(encoded)
        current.append(index)
        parts.append(encoded)
        size += extra
    flush()
    return batches, oversize


def waves(count: int, key: Callable[[int], Hashable | None]) -> list[list[int]]:
    """Group input positions so that no two records with the same key are in one wave.

    Batches of one wave may run concurrently; waves run one after another. Marketo documents that
    two near-simultaneous createOrUpdate calls for one new email can create two leads, so records
    that share a lookup value are never sent at the same time. Records without a key go in wave 0.
    """
    seen: dict[Hashable, int] = {}
    result: list[list[int]] = [[]]
    for index in range(count):
        value = key(index)
        if value is None:
            result[0].append(index)
            continue
        wave = seen.get(value, -1) + 1
        seen[value] = wave
        while len(result) <= wave:
            result.append([])
        result[wave].append(index)
    return [wave for wave in result if wave] or [[]]
