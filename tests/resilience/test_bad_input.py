"""Bad input for the EC endpoint (issue 10): every malformed or hostile event gets a clear per-event error
(code, field, message) or the call a clear 4xx; valid events in the same call succeed; every rejected event
is kept in EC_Ingest_Error__c with its payload, reason and event id, so it can be corrected and replayed.

Runs against the local org with the project's force-app deployed (tests/resilience/conftest.py).
"""
from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from .cases_bad_input import BODY_CASES, EVENT_CASES, T, BodyCase, EventCase

# Cases that show a defect outside this area; strict: they start failing the suite once the defect is fixed.
KNOWN_DEFECTS: dict[str, str] = {
}
KNOWN_BODY_DEFECTS = {
}


def _params(cases: list[Any], defects: dict[str, str]) -> list[Any]:
    return [pytest.param(c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=defects[c.name])] if c.name in defects else [])
            for c in cases]


def _unique(event: Any, k: int) -> Any:
    """The case's event with its id and keys made unique to this case."""
    text = json.dumps(event, ensure_ascii=False)
    text = (text.replace('"evt"', f'"bad-{k}"').replace('"MX"', f'"MX{k}"').replace('"OX"', f'"OX{k}"')
            .replace("mx@example.com", f"mx{k}@example.com"))
    return json.loads(text)


def _valid_pair(k: int) -> tuple[dict[str, Any], dict[str, Any]]:
    member = {"id": f"good-m-{k}", "type": "member", "occurredAt": T,
              "data": {"memberId": f"GOOD{k}", "email": f"Good{k}@Example.com ", "lastName": "Good"}}
    order = {"id": f"good-o-{k}", "type": "order", "occurredAt": T,
             "data": {"orderNumber": f"GOOD-O{k}", "memberId": f"GOOD{k}", "orderDate": T, "totalAmount": 1200,
                      "lines": [{"productName": "Matcha", "quantity": 2, "unitPrice": 600}]}}
    return member, order


def _ingest_errors(org) -> dict[str, dict[str, Any]]:
    rows = org.query_all("SELECT Id, Event_Id__c, Event_Type__c, Error_Code__c, Field__c, Reason__c, Payload__c, "
                         "Replayed__c FROM EC_Ingest_Error__c")
    return {r["Id"]: r for r in rows}


def _assert_clear_errors(result: dict[str, Any]) -> None:
    assert result["status"] == "rejected", result
    assert result["errors"], f"rejected without an error: {result}"
    for error in result["errors"]:
        assert set(error) >= {"code", "field", "message"}, error
        assert isinstance(error["code"], str) and error["code"].isupper(), error
        assert isinstance(error["message"], str) and len(error["message"]) > 10, error


def _kept_payload(org, row: dict[str, Any]) -> str:
    """The payload kept for replay: Payload__c, or, when the row says the payload is in a file, the
    ContentVersion attached to the row (whose first part Payload__c must be)."""
    if not (row["Reason__c"] or "").startswith("PAYLOAD IN FILE"):
        return row["Payload__c"]
    files = org.query_all(f"SELECT Title, PathOnClient, VersionData FROM ContentVersion "
                          f"WHERE FirstPublishLocationId = '{row['Id']}'")
    assert len(files) == 1, f"one file under the row, found {len(files)}"
    assert f"{files[0]['PathOnClient']}:" in row["Reason__c"], "the reason names the attached file"
    answer = requests.get(org.url + files[0]["VersionData"], headers={"Authorization": f"Bearer {org.org.access_token}"},
                          verify=org.bundle, timeout=120)
    assert answer.status_code == 200, answer.text[:500]
    whole = answer.content.decode("utf-8")
    assert whole.startswith(row["Payload__c"]), "Payload__c keeps the first part of the file"
    return whole


def _assert_kept_for_replay(org, new_rows: list[dict[str, Any]], sent: Any, result: dict[str, Any]) -> None:
    assert len(new_rows) == 1, f"a rejected event must be kept once, found {len(new_rows)} EC_Ingest_Error__c rows"
    row = new_rows[0]
    assert json.loads(_kept_payload(org, row)) == sent, "the kept payload must be the event as sent"
    assert row["Error_Code__c"] == result["errors"][0]["code"]
    assert row["Reason__c"] and result["errors"][0]["message"][:40] in row["Reason__c"]
    assert row["Replayed__c"] is False
    sent_id = sent.get("id") if isinstance(sent, dict) else None
    if isinstance(sent_id, str) and sent_id.strip() and len(sent_id) <= 255:
        assert row["Event_Id__c"] == sent_id, "the kept row must carry the event id, to find it for replay"
    if result.get("recordId"):
        assert result["recordId"] == row["Id"], "a rejected event's recordId points at its EC_Ingest_Error__c row"


@pytest.mark.parametrize("case", _params(EVENT_CASES, KNOWN_DEFECTS))
def test_bad_event_beside_valid_events(deployed_org, case: EventCase) -> None:
    k = EVENT_CASES.index(case)
    bad = _unique(case.event, k)
    good_member, good_order = _valid_pair(k)
    before = _ingest_errors(deployed_org)

    answer = deployed_org.post({"events": [good_member, bad, good_order]})

    assert answer.status_code == 200, answer.text[:500]
    results = answer.json()["results"]
    assert [r["id"] for r in results][::2] == [good_member["id"], good_order["id"]]
    assert results[0]["status"] == "created" and results[2]["status"] == "created", results
    attached = deployed_org.query_all(f"SELECT Member__c FROM EC_Order__c WHERE Order_Number__c = 'GOOD-O{k}'")
    assert attached == [dict(attached[0], Member__c=results[0]["recordId"])], "the valid order beside must be attached"

    new_rows = [row for key, row in _ingest_errors(deployed_org).items() if key not in before]
    outcome, expected_code, expected_field = case.expect
    result = results[1]
    if outcome == "either" and result["status"] != "rejected":
        outcome = "accepted"
    if outcome in ("rejected", "either"):
        _assert_clear_errors(result)
        if expected_code:
            assert expected_code in [e["code"] for e in result["errors"]], result
        if expected_field:
            assert expected_field in [e["field"] for e in result["errors"]], result
        _assert_kept_for_replay(deployed_org, new_rows, bad, result)
        for soql in (f"SELECT Id FROM Contact WHERE EC_Member_Id__c = 'MX{k}'",
                     f"SELECT Id FROM EC_Order__c WHERE Order_Number__c = 'OX{k}'"):
            assert deployed_org.query_all(soql) == [], f"nothing of a rejected event may be saved: {soql}"
    else:
        assert result["status"] in ("created", "updated"), result
        assert result["errors"] == [] and new_rows == [], result
        if expected_code:
            sobject = "Contact" if bad["type"] == "member" else "EC_Order__c"
            stored = deployed_org.query_all(f"SELECT {expected_code} FROM {sobject} WHERE Id = '{result['recordId']}'")
            assert stored[0][expected_code] == expected_field, "a hostile but valid value is stored exactly as sent"


def _counts(org) -> tuple[int, int, int]:
    return tuple(len(org.query_all(f"SELECT Id FROM {o}")) for o in ("Contact", "EC_Order__c", "EC_Ingest_Error__c"))  # type: ignore[return-value]


@pytest.mark.parametrize("case", _params(BODY_CASES, KNOWN_BODY_DEFECTS))
def test_unreadable_body_answers_a_clear_4xx(deployed_org, case: BodyCase) -> None:
    contacts, orders, errors = _counts(deployed_org)

    answer = deployed_org.post(None, raw=case.body)

    assert answer.status_code == case.status, answer.text[:500]
    assert answer.headers["Content-Type"].startswith("application/json")
    payload = answer.json()
    if case.status == 200:
        results = payload["results"]
        for result in results:
            _assert_clear_errors(result)
        assert _counts(deployed_org) == (contacts, orders, errors + len(results))
        return
    problems = payload["errors"] if isinstance(payload, dict) else payload  # endpoint shape, or the org's own
    assert problems and all((p.get("code") or p.get("errorCode")) and len(p["message"]) > 10 for p in problems), payload
    assert _counts(deployed_org) == (contacts, orders, errors), "a refused call saves nothing"


def test_the_suite_has_at_least_50_hand_written_cases() -> None:
    assert len(EVENT_CASES) + len(BODY_CASES) >= 50
    assert len({c.name for c in EVENT_CASES}) == len(EVENT_CASES)


def test_a_kept_event_can_be_replayed_once_corrected(deployed_org) -> None:
    """The replay path: the kept payload, corrected and sent again with the same id, is accepted and the
    EC_Ingest_Error__c row is marked Replayed__c."""
    bad = {"id": "replay-1", "type": "member", "occurredAt": T,
           "data": {"memberId": "REPLAY1", "email": "not-an-email", "lastName": "Replay"}}
    first = deployed_org.post({"events": [bad]}).json()["results"][0]
    assert first["status"] == "rejected"
    kept = deployed_org.query_all("SELECT Id, Payload__c, Replayed__c FROM EC_Ingest_Error__c WHERE Event_Id__c = 'replay-1'")
    assert len(kept) == 1 and kept[0]["Replayed__c"] is False
    corrected = json.loads(kept[0]["Payload__c"])
    corrected["data"]["email"] = "replay1@example.com"
    second = deployed_org.post({"events": [corrected]}).json()["results"][0]
    assert second["status"] == "created", second
    kept = deployed_org.query_all("SELECT Replayed__c FROM EC_Ingest_Error__c WHERE Event_Id__c = 'replay-1'")
    assert kept == [dict(kept[0], Replayed__c=True)]
