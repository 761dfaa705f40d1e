"""Hand-written malformed and hostile inputs for POST /services/apexrest/ecbridge/v1/events.

Two tables:
- EVENT_CASES: one bad (or hostile but valid) event, sent in a call beside a valid member and a valid
  order. ``expect`` is ("rejected", code, field) for an event that must be refused with that error (code or
  field None = any), or ("accepted", field, value) for a hostile but valid event that must be stored verbatim.
- BODY_CASES: a whole body that cannot be processed: the call must answer the given 4xx with a JSON error
  and save nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

T = "2026-03-01T09:00:00Z"
LONG = "x" * 100_000


def member(**data: Any) -> dict[str, Any]:
    base = {"memberId": "MX", "email": "mx@example.com", "lastName": "Yamada"}
    base.update(data)
    return {k: v for k, v in base.items() if v is not _DROP}


def order(**data: Any) -> dict[str, Any]:
    base = {"orderNumber": "OX", "memberId": "MX", "orderDate": T,
            "lines": [{"productName": "Tea", "quantity": 1, "unitPrice": 500}]}
    base.update(data)
    return {k: v for k, v in base.items() if v is not _DROP}


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


_DROP: Any = _Drop()


def env(id: Any = "evt", type: Any = "member", occurredAt: Any = T, data: Any = None, **extra: Any) -> dict[str, Any]:
    event = {"id": id, "type": type, "occurredAt": occurredAt, "data": data if data is not None else member()}
    event.update(extra)
    return {k: v for k, v in event.items() if v is not _DROP}


@dataclass(frozen=True)
class EventCase:
    name: str
    event: Any  # the bad event (ids and keys are made unique per case by the test)
    expect: tuple[str, Any, Any]


def R(code: str | None = None, field: str | None = None) -> tuple[str, Any, Any]:
    return ("rejected", code, field)


def E(field: str) -> tuple[str, Any, Any]:
    """Either stored as sent (after trimming) or rejected with an error on ``field``: both are clear."""
    return ("either", None, field)


def A(field: str | None, value: Any) -> tuple[str, Any, Any]:
    return ("accepted", field, value)


EVENT_CASES: list[EventCase] = [
    # the envelope
    EventCase("id missing", env(id=_DROP), R("REQUIRED_FIELD_MISSING", "id")),
    EventCase("id empty", env(id=""), R("REQUIRED_FIELD_MISSING", "id")),
    EventCase("id a number (whole numbers are read as text, documented)", env(id=12345), A(None, None)),
    EventCase("id an object", env(id={"$ne": None}), R("INVALID_TYPE", "id")),
    EventCase("id 300 characters", env(id="i" * 300), R(None, "id")),
    EventCase("type missing", env(type=_DROP), R("REQUIRED_FIELD_MISSING", "type")),
    EventCase("type unknown", env(type="refund"), R("UNKNOWN_EVENT_TYPE", "type")),
    EventCase("type SOQL fragment", env(type="member' OR Name != '"), R("UNKNOWN_EVENT_TYPE", "type")),
    EventCase("type a number", env(type=1), R(None, "type")),
    EventCase("type a list", env(type=["member"]), R("INVALID_TYPE", "type")),
    EventCase("occurredAt missing", env(occurredAt=_DROP), R("REQUIRED_FIELD_MISSING", "occurredAt")),
    EventCase("occurredAt words", env(occurredAt="yesterday"), R(None, "occurredAt")),
    EventCase("occurredAt month 13", env(occurredAt="2026-13-45T00:00:00Z"), R(None, "occurredAt")),
    EventCase("occurredAt year 10000", env(occurredAt="10000-01-01T00:00:00Z"), R(None, "occurredAt")),
    EventCase("occurredAt year 0", env(occurredAt="0000-01-01T00:00:00Z"), R(None, "occurredAt")),
    EventCase("occurredAt epoch number", env(occurredAt=1767225600), R(None, "occurredAt")),
    EventCase("occurredAt hour 25", env(occurredAt="2026-03-01T25:00:00Z"), R(None, "occurredAt")),
    EventCase("data null", env(data=_DROP) | {"data": None}, R("MALFORMED_EVENT", "data")),
    EventCase("data missing", env(data=_DROP), R("MALFORMED_EVENT", "data")),
    EventCase("data an array", env(data=[member()]), R("MALFORMED_EVENT", "data")),
    EventCase("data a string", env(data=json.dumps(member())), R("MALFORMED_EVENT", "data")),
    EventCase("event an array", ["evt", "member", T, member()], R("MALFORMED_EVENT", None)),
    EventCase("event a string", "evt member", R("MALFORMED_EVENT", None)),
    EventCase("event null", None, R("MALFORMED_EVENT", None)),
    EventCase("event a number", 42, R("MALFORMED_EVENT", None)),
    # members
    EventCase("member without memberId", env(data=member(memberId=_DROP)), R("REQUIRED_FIELD_MISSING", "memberId")),
    EventCase("memberId a number (read as text, documented)", env(data=member(memberId=1001)), A("EC_Member_Id__c", "1001")),
    EventCase("memberId 65 characters", env(data=member(memberId="M" * 65)), R(None, "memberId")),
    EventCase("memberId 100,000 characters", env(data=member(memberId=LONG)), R(None, "memberId")),
    EventCase("lastName 140,000 characters (payload beyond Payload__c)", env(data=member(lastName="L" * 140_000)), R("STRING_TOO_LONG", "lastName")),
    EventCase("memberId blank", env(data=member(memberId="   ")), R(None, "memberId")),
    EventCase("email missing", env(data=member(email=_DROP)), R("REQUIRED_FIELD_MISSING", "email")),
    EventCase("email not an email", env(data=member(email="not-an-email")), R(None, "email")),
    EventCase("email non-ASCII local part", env(data=member(email="たろう@example.jp")), R(None, "email")),
    EventCase("email non-ASCII domain", env(data=member(email="taro@例え.jp")), R(None, "email")),
    EventCase("email full-width at sign", env(data=member(email="taro＠example.jp")), R(None, "email")),
    EventCase("email with NUL", env(data=member(email="ta\u0000ro@example.jp")), R(None, "email")),
    EventCase("email SOQL fragment", env(data=member(email="x' OR Email != '@example.com")), R(None, "email")),
    EventCase("email a list", env(data=member(email=["a@example.com"])), R("INVALID_TYPE", "email")),
    EventCase("lastName missing", env(data=member(lastName=_DROP)), R("REQUIRED_FIELD_MISSING", "lastName")),
    EventCase("lastName 81 characters", env(data=member(lastName="L" * 81)), R(None, "lastName")),
    EventCase("lastName an object", env(data=member(lastName={"first": "a"})), R("INVALID_TYPE", "lastName")),
    EventCase("birthdate Feb 30", env(data=member(birthdate="2026-02-30")), R(None, "birthdate")),
    EventCase("birthdate year 99999", env(data=member(birthdate="99999-01-01")), R(None, "birthdate")),
    EventCase("birthdate a datetime-ish word", env(data=member(birthdate="born 1990")), R(None, "birthdate")),
    EventCase("memberRank outside the picklist", env(data=member(memberRank="diamond")), R(None, "memberRank")),
    EventCase("emailOptIn a string", env(data=member(emailOptIn="yes")), R("INVALID_TYPE", "emailOptIn")),
    EventCase("phone a number (read as text, documented)", env(data=member(phone=819012345678)), A("Phone", "819012345678")),
    # hostile but valid: stored verbatim, nothing else touched
    EventCase("lastName SOQL/DML fragment (valid, stored verbatim)",
              env(data=member(lastName="'; DELETE FROM Contact; --")), A("LastName", "'; DELETE FROM Contact; --")),
    EventCase("lastName Japanese with emoji (valid)", env(data=member(lastName="山田 太郎 🍵")), A("LastName", "山田 太郎 🍵")),
    EventCase("firstName HTML/script (valid, stored verbatim)",
              env(data=member(firstName="<script>alert(1)</script>")), A("FirstName", "<script>alert(1)</script>")),
    # orders
    EventCase("order without orderNumber", env(type="order", data=order(orderNumber=_DROP)), R("REQUIRED_FIELD_MISSING", "orderNumber")),
    EventCase("orderNumber a query object", env(type="order", data=order(orderNumber={"$gt": ""})), R("INVALID_TYPE", "orderNumber")),
    EventCase("orderNumber 65 characters", env(type="order", data=order(orderNumber="O" * 65)), R(None, "orderNumber")),
    EventCase("order without memberId", env(type="order", data=order(memberId=_DROP)), R("REQUIRED_FIELD_MISSING", "memberId")),
    EventCase("order without orderDate", env(type="order", data=order(orderDate=_DROP)), R("REQUIRED_FIELD_MISSING", "orderDate")),
    EventCase("orderDate Feb 30", env(type="order", data=order(orderDate="2026-02-30T10:00:00Z")), R(None, "orderDate")),
    EventCase("orderDate year 4001", env(type="order", data=order(orderDate="4001-01-01T00:00:00Z")), R(None, "orderDate")),
    EventCase("orderDate year 1699", env(type="order", data=order(orderDate="1699-12-31T00:00:00Z")), R(None, "orderDate")),
    EventCase("totalAmount a numeric string (documented)", env(type="order", data=order(totalAmount="1000")), A("Total_Amount__c", 1000)),
    EventCase("totalAmount beyond 16 digits", env(type="order", data=order(totalAmount=1e30)), R(None, "totalAmount")),
    EventCase("totalAmount a word", env(type="order", data=order(totalAmount="1,000 yen")), R("INVALID_TYPE", "totalAmount")),
    EventCase("totalAmount true", env(type="order", data=order(totalAmount=True)), R("INVALID_TYPE", "totalAmount")),
    EventCase("status outside the picklist", env(type="order", data=order(status="lost")), R(None, "status")),
    EventCase("lines a string", env(type="order", data=order(lines="Tea x1")), R(None, "lines")),
    EventCase("line without productName", env(type="order", data=order(lines=[{"quantity": 1}])), R("REQUIRED_FIELD_MISSING", None)),
    EventCase("line quantity a word", env(type="order", data=order(lines=[{"productName": "Tea", "quantity": "two"}])), R("INVALID_TYPE", None)),
    EventCase("line quantity fractional", env(type="order", data=order(lines=[{"productName": "Tea", "quantity": 1.5}])), R(None, None)),
    EventCase("line null", env(type="order", data=order(lines=[None])), R(None, None)),
    EventCase("productName 256 characters", env(type="order", data=order(lines=[{"productName": "P" * 256, "quantity": 1}])), R(None, None)),
    EventCase("orderNumber with control characters", env(type="order", data=order(orderNumber="O\n1\t\u0007")), E("orderNumber")),
    EventCase("orderNumber SOQL fragment (valid, stored verbatim)",
              env(type="order", data=order(orderNumber="O1' OR Order_Number__c != '")), A("Order_Number__c", "O1' OR Order_Number__c != '")),
]


@dataclass(frozen=True)
class BodyCase:
    """``status``: the 4xx the call must answer; 200 means the body is readable JSON and every event in it
    must be rejected with its own error (nothing saved but the rejections)."""
    name: str
    body: bytes
    status: int


def _events(n: int) -> bytes:
    return json.dumps({"events": [{"id": f"bulk-{i}", "type": "member", "occurredAt": T,
                                   "data": {"memberId": f"BULK{i}", "email": f"bulk{i}@example.com", "lastName": "Bulk"}}
                                  for i in range(n)]}).encode()


def _seven_megabytes() -> bytes:
    filler = "z" * (7 * 1024 * 1024 // 10)
    return json.dumps({"events": [{"id": f"big-{i}", "type": "member", "occurredAt": T,
                                   "data": {"memberId": f"BIG{i}", "email": f"big{i}@example.com", "lastName": filler}}
                                  for i in range(10)]}).encode()


def _deep(n: int) -> bytes:
    return ('{"events":[{"id":"deep","type":"member","occurredAt":"' + T + '","data":' + "[" * n + "]" * n + "}]}").encode()


BODY_CASES: list[BodyCase] = [
    BodyCase("empty body", b"", 400),
    BodyCase("whitespace body", b"  \n ", 400),
    BodyCase("truncated JSON", b'{"events": [{"id": "a"', 400),
    BodyCase("JSON null", b"null", 400),
    BodyCase("JSON array", b"[]", 400),
    BodyCase("JSON string", b'"events"', 400),
    BodyCase("no events key", b"{}", 400),
    BodyCase("events null", b'{"events": null}', 400),
    BodyCase("events an object", b'{"events": {"id": "a"}}', 400),
    BodyCase("events a string", b'{"events": "a"}', 400),
    BodyCase("NaN literal", b'{"events": [{"id": "a", "type": "order", "data": {"totalAmount": NaN}}]}', 400),
    BodyCase("single quotes", b"{'events': []}", 400),
    BodyCase("trailing garbage", b'{"events": []} trailing', 400),
    BodyCase("invalid UTF-8", b'{"events": [{"id": "\xff\xfe"}]}', 400),
    BodyCase("XML instead of JSON", b"<events><event/></events>", 400),
    BodyCase("201 events", _events(201), 413),
    BodyCase("7 MB body", _seven_megabytes(), 413),
    BodyCase("data nested 5,000 deep", _deep(5000), 200),
]
