"""Salesforce's bitmap encoding of ChangeEventHeader.changedFields / nulledFields / diffFields.

A list of strings: the first, ``0x…``, has bit *i* set for the top-level Avro field at position *i*
(bit 0 is the least significant bit of the hex number); then one ``<parentPos>-0x…`` per compound
field (Name, MailingAddress…) whose nested fields are in the set, bits counting the compound
record's own fields. Empty list when no field is in the set.
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence


def _hex(positions: Iterable[int]) -> str:
    value = 0
    for position in positions:
        value |= 1 << position
    digits = f"{value:X}"
    return "0x" + ("0" * (len(digits) % 2)) + digits


def encode(top: Iterable[int], nested: Mapping[int, Iterable[int]]) -> list[str]:
    """``top``: positions of top-level fields; ``nested``: compound position -> positions inside it."""
    top = set(top)
    inner = {parent: set(children) for parent, children in nested.items() if children}
    if not top and not inner:
        return []
    return [_hex(top)] + [f"{parent}-{_hex(children)}" for parent, children in sorted(inner.items())]


def decode(bitmaps: Sequence[str], top_level: Sequence[str], compounds: Mapping[str, Sequence[str]]) -> list[str]:
    """The reverse, for tests and tools: ``Name.FirstName`` for nested fields."""
    out: list[str] = []
    for item in bitmaps:
        parent, _, hexa = item.rpartition("-")
        value = int(hexa, 16)
        fields = compounds[top_level[int(parent)]] if parent else top_level
        names = [fields[i] for i in range(value.bit_length()) if value >> i & 1]
        out += [f"{top_level[int(parent)]}.{n}" for n in names] if parent else names
    return out
