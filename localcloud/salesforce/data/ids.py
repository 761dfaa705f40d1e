"""Salesforce record ids: 15-character case-sensitive ids and their 18-character
case-insensitive form (3 checksum characters), with an object's 3-character key prefix."""

from __future__ import annotations

import re

from .errors import MalformedIdError

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$")


def checksum(id15: str) -> str:
    """The 3-character suffix Salesforce appends to a 15-character id."""
    out = []
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out.append(_ALPHABET[bits])
    return "".join(out)


def to18(value: str) -> str:
    """Normalise a 15- or 18-character id to its 18-character form (raises ``MalformedIdError``)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise MalformedIdError(str(value))
    id15 = value[:15]
    suffix = checksum(id15)
    if len(value) == 18 and value[15:].upper() != suffix:
        raise MalformedIdError(value)
    return id15 + suffix


def to15(value: str) -> str:
    """The 15-character form of an id."""
    return to18(value)[:15]


def is_valid_id(value: object) -> bool:
    """True when ``value`` is a well-formed 15/18-character id (checksum verified for 18)."""
    try:
        to18(value)  # type: ignore[arg-type]
        return True
    except MalformedIdError:
        return False


def same_id(a: str, b: str) -> bool:
    """True when two ids (15 or 18 characters) name the same record."""
    try:
        return to18(a) == to18(b)
    except MalformedIdError:
        return False


def key_prefix(value: str) -> str:
    """The 3-character key prefix of an id."""
    return value[:3]


def make_id(prefix: str, number: int, pod: str = "8d") -> str:
    """Build the 18-character id for the ``number``-th record of the object with ``prefix``."""
    if len(prefix) != 3:
        raise ValueError(f"key prefix must have 3 characters: {prefix!r}")
    digits = []
    n = number
    while n:
        n, r = divmod(n, 62)
        digits.append(_BASE62[r])
    body = "".join(reversed(digits)).rjust(10, "0")
    if len(body) > 10:
        raise ValueError("id space exhausted")
    return to18(prefix + pod + body)
