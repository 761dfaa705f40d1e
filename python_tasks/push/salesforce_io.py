"""Salesforce reads and write-back for the push, over simple-salesforce (REST query and
sObject Collections, 200 records a call)."""
from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Iterable, Sequence

COLLECTION_SIZE = 200


def soql_quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class SalesforceIO:
    def __init__(self, sf: Any) -> None:
        self.sf = sf
        self.calls = 0

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        result = self.sf.query(soql)
        self.calls += 1
        while True:
            for record in result.get("records", []):
                record.pop("attributes", None)
                records.append(record)
            if result.get("done", True) or not result.get("nextRecordsUrl"):
                return records
            result = self.sf.query_more(result["nextRecordsUrl"], identifier_is_url=True)
            self.calls += 1

    def query_in(self, template: str, ids: Sequence[str], size: int = 300) -> list[dict[str, Any]]:
        """``template`` holds ``{ids}``, replaced by a quoted id list, ``size`` ids a query."""
        out: list[dict[str, Any]] = []
        for chunk in _chunks(list(ids), size):
            out += self.query_all(template.format(ids=",".join(soql_quote(i) for i in chunk)))
        return out

    def update(self, object_name: str, records: Sequence[dict[str, Any]]) -> list[tuple[str, bool, str]]:
        """Update records (each with ``Id``) with allOrNone false; (id, ok, error) per record."""
        outcome: list[tuple[str, bool, str]] = []
        for chunk in _chunks(list(records), COLLECTION_SIZE):
            body = {"allOrNone": False,
                    "records": [{"attributes": {"type": object_name}, **record} for record in chunk]}
            answer = self.sf.restful("composite/sobjects", method="PATCH", json=body)
            self.calls += 1
            for record, result in zip(chunk, answer or []):
                errors = result.get("errors") or []
                text = "; ".join(f"{e.get('statusCode')}: {e.get('message')}" for e in errors)
                outcome.append((record["Id"], bool(result.get("success")), text))
        return outcome

    def server_now(self) -> datetime:
        """The org's clock, from the Date header of a cheap call (falls back to this machine's)."""
        try:
            response = self.sf.session.get(self.sf.base_url, headers=self.sf.headers, timeout=30)
            self.calls += 1
            header = response.headers.get("Date")
            if header:
                return parsedate_to_datetime(header).astimezone(timezone.utc)
        except Exception:  # noqa: BLE001 - a missing clock is not worth failing the push
            pass
        return datetime.now(timezone.utc)
