"""Cluster keys for Marketo persons: the normalised email and, optionally, the EC member key.

Marketo compares emails byte for byte, so ``Taro@Example.com ``, ``taro@example.com`` and the
full-width ``ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ`` typed on a Japanese keyboard are three different
people to it. The normal form used everywhere in ECBridge (push lookups and dedupe clusters) is:
Unicode NFKC (full-width letters, digits and ``＠`` become their ASCII forms), surrounding white
space (including the ideographic space U+3000) removed, lower case.
"""
from __future__ import annotations

import unicodedata


def normalise_email(value: object) -> str | None:
    """The normal form of an email address, or None when there is no usable address."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    return text or None


def normalise_member_key(value: object) -> str | None:
    """The EC member key as a cluster key: NFKC and trimmed, case kept (keys are case-sensitive)."""
    if value is None:
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def identity_key(lookup_field: str, value: object) -> str | None:
    """The key one person is known by for a lookup field: ``"<lookupField>:<normalised value>"``."""
    if value is None or value == "":
        return None
    if lookup_field == "email":
        norm = normalise_email(value)
        return f"email:{norm}" if norm else None
    return f"{lookup_field}:{str(value).strip()}"
