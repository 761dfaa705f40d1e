"""A Person Account member: every member read of the push asks for person accounts with a key, nothing else."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from python_tasks.mapping import parse_mapping
from python_tasks.push.changes import ChangeReader
from tests.foundation.test_mapping import GOOD, PERSON_ACCOUNT


class RecordingSalesforce:
    """Answers every read with no rows and keeps the SOQL it was asked."""

    def __init__(self) -> None:
        self.soql: list[str] = []

    def queries(self, queries: dict[str, str]) -> tuple[dict[str, list[Any]], dict[str, int], datetime]:
        self.soql += queries.values()
        return {k: [] for k in queries}, {k: 0 for k in queries}, datetime(2026, 12, 1, tzinfo=timezone.utc)

    def query_all(self, soql: str) -> list[Any]:
        self.soql.append(soql)
        return []

    def query_in(self, soql: str, ids: Any, size: int) -> list[Any]:
        self.soql.append(soql)
        return []


def member_reads(text: str) -> list[str]:
    mapping = parse_mapping(text)
    sf = RecordingSalesforce()
    reader = ChangeReader(mapping, sf, ["Id", mapping.member.key_field, mapping.member.email.sf_field],  # type: ignore[arg-type]
                          ["Id", mapping.order.key_field])
    reader.read(None, full=True)
    reader.read_ids(["001000000000001AAA"], [])
    reader.members_by_id(["001000000000001AAA"])
    return [q for q in sf.soql if f"FROM {mapping.member.object_name}" in q]


def test_a_person_account_member_is_read_from_person_accounts_by_its_person_fields() -> None:
    reads = member_reads(PERSON_ACCOUNT)
    assert len(reads) == 4, reads  # the count, the full read, the read by event ids, the read by id
    for soql in reads:
        assert soql.startswith(("SELECT COUNT() FROM Account", "SELECT Id, EC_Member_Id__pc, PersonEmail FROM Account"))
        assert soql.endswith("EC_Member_Id__pc != null AND IsPersonAccount = true"), soql


def test_a_contact_member_is_read_as_before() -> None:
    reads = member_reads(GOOD)
    assert reads and all(q.endswith("EC_Member_Id__c != null") and "IsPersonAccount" not in q for q in reads), reads
