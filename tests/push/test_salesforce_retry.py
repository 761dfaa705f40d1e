"""SalesforceIO retries a call the org could not answer (connection dropped, 502/503/504) and nothing else."""
from __future__ import annotations

from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from python_tasks.marketo.transport import RetryPolicy
from python_tasks.push.salesforce_io import SalesforceIO, SalesforceUnavailable


class FlakyOrg:
    """A simple-salesforce stand-in whose calls raise the queued errors first, then answer."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.patches: list[dict[str, Any]] = []

    def _next(self) -> None:
        if self.errors:
            raise self.errors.pop(0)

    def query(self, soql: str) -> dict[str, Any]:
        self._next()
        return {"done": True, "records": [{"attributes": {}, "Id": "003A"}]}

    def restful(self, path: str, method: str, json: dict[str, Any]) -> list[dict[str, Any]]:
        self._next()
        self.patches.append(json)
        return [{"id": r["Id"], "success": True, "errors": []} for r in json["records"]]


def io_for(org: FlakyOrg, attempts: int = 4) -> tuple[SalesforceIO, list[float]]:
    slept: list[float] = []
    return SalesforceIO(org, retry=RetryPolicy(max_attempts=attempts, base_delay=0.5, max_delay=2.0),
                        sleep=slept.append), slept


def server_error(status: int) -> SalesforceGeneralError:
    return SalesforceGeneralError("https://org/x", status, "x", b'[{"errorCode":"SERVER_UNAVAILABLE"}]')


def test_a_dropped_connection_during_an_update_is_retried_and_the_update_lands_once() -> None:
    org = FlakyOrg(requests.ConnectionError("Remote end closed connection without response"), server_error(503),
                   requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead(0 bytes read)"))
    sf, slept = io_for(org)
    outcome = sf.update("Contact", [{"Id": "003A", "Marketo_Lead_Id__c": "7"}])
    assert outcome == [("003A", True, "")]
    assert len(org.patches) == 1 and sf.retries == 3 and len(slept) == 3
    assert all(0.25 <= delay <= 2.0 for delay in slept), slept


def test_queries_are_retried_on_502_and_timeouts() -> None:
    sf, _ = io_for(FlakyOrg(server_error(502), requests.Timeout("read timed out")))
    assert sf.query_all("SELECT Id FROM Contact") == [{"Id": "003A"}]
    assert sf.calls == 3


def test_an_org_that_stays_down_stops_the_push_with_a_clear_error() -> None:
    org = FlakyOrg(*[requests.ConnectionError("refused")] * 5)
    sf, slept = io_for(org, attempts=3)
    with pytest.raises(SalesforceUnavailable, match=r"update of 1 Contact failed 3 times, last with ConnectionError: refused"):
        sf.update("Contact", [{"Id": "003A"}])
    assert len(slept) == 2 and org.patches == []


def test_errors_the_org_meant_are_not_retried() -> None:
    bad = SalesforceMalformedRequest("https://org/x", 400, "x", b'[{"errorCode":"MALFORMED_QUERY"}]')
    sf, slept = io_for(FlakyOrg(bad))
    with pytest.raises(SalesforceMalformedRequest):
        sf.query_all("SELECT Nope FROM Contact")
    assert slept == [] and sf.retries == 0
