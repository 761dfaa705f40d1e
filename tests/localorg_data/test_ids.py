"""Ids: checksum suffix, 15/18 equality, key prefixes."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import MalformedIdError, is_valid_id, make_id, same_id, to15, to18


def test_known_salesforce_checksums() -> None:
    # pairs published in Salesforce's own documentation and widely quoted
    assert to18("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert to18("003E000000SbeTd") == "003E000000SbeTdIAJ"


def test_15_and_18_forms_name_the_same_record() -> None:
    rid = make_id("003", 12345)
    assert len(rid) == 18 and rid.startswith("003")
    assert same_id(rid, to15(rid))
    assert same_id(rid.lower()[:15] + rid[15:], rid) is False  # 15-char part is case-sensitive
    assert to18(rid[:15] + rid[15:].lower()) == rid  # the suffix is case-insensitive


def test_malformed_ids_are_rejected() -> None:
    for bad in ("", "abc", "003xx", "0038d0000000001AAZ", "003-8d000000001AAA"):
        assert not is_valid_id(bad)
    with pytest.raises(MalformedIdError):
        to18("nope")


def test_ids_are_distinct_and_ordered() -> None:
    ids = [make_id("a00", n) for n in range(1, 500)]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_id(i) for i in ids)
