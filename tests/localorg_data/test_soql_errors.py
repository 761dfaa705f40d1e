"""Error shapes of the SOQL engine: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE, paging cursors."""
from __future__ import annotations

import pytest

from localcloud.salesforce.data import (InvalidFieldError, InvalidQueryLocatorError, InvalidTypeError,
                                        MalformedQueryError, SalesforceError, Store, parse_soql)

NO_SUCH_COLUMN = ("No such column 'Nope__c' on entity 'EC_Order__c'. If you are attempting to use a custom field, "
                  "be sure to append the '__c' after the custom field name. Please reference your WSDL or the "
                  "describe call for the appropriate names.")


def test_unknown_field_message_matches_salesforce(store: Store) -> None:
    with store.transaction() as tx:
        with pytest.raises(InvalidFieldError) as exc:
            tx.query("SELECT Id, Nope__c FROM EC_Order__c")
    body = exc.value.to_json()
    assert body == [{"message": NO_SUCH_COLUMN, "errorCode": "INVALID_FIELD", "fields": []}]
    assert exc.value.http_status == 400


@pytest.mark.parametrize("soql,code,needle", [
    ("SELECT Id FROM EC_Order__c WHERE Nope__c = 1", "INVALID_FIELD", "No such column 'Nope__c' on entity 'EC_Order__c'"),
    ("SELECT Member__r.Nope FROM EC_Order__c", "INVALID_FIELD", "No such column 'Nope' on entity 'Contact'"),
    ("SELECT Nope__r.Name FROM EC_Order__c", "INVALID_FIELD", "Didn't understand relationship 'Nope__r'"),
    ("SELECT Id FROM EC_Order__c ORDER BY Nope__c", "INVALID_FIELD", "No such column 'Nope__c'"),
    ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported."),
    ("SELECT Id, (SELECT Id FROM Nopes__r) FROM EC_Order__c", "INVALID_TYPE", "Didn't understand relationship 'Nopes__r'"),
    ("SELECT Id FRM Contact", "MALFORMED_QUERY", "unexpected token: 'Contact'"),
    ("SELECT Id FROM Contact WHERE", "MALFORMED_QUERY", "ERROR at Row:1:Column:"),
    ("SELECT DISTANCE(Name, GEOLOCATION(1, 2), 'km') FROM Contact", "MALFORMED_QUERY", "DISTANCE() is not supported"),
    ("SELECT toLabel(Order_Number__c) FROM EC_Order__c", "INVALID_FIELD", "toLabel() can only be used on picklist"),
    ("SELECT Id FROM EC_Order__c ORDER BY toLabel(Status__c)", "MALFORMED_QUERY", "toLabel() cannot be used in ORDER BY"),
    ("SELECT Status__c, toLabel(Status__c) FROM EC_Order__c", "MALFORMED_QUERY", "duplicate field selected: Status__c"),
    ("SELECT FORMAT(Total_Amount__c) FROM EC_Order__c WHERE FORMAT(Total_Amount__c) = '1'", "MALFORMED_QUERY",
     "FORMAT() cannot be used in WHERE"),
    ("SELECT convertCurrency(Total_Amount__c) FROM EC_Order__c", "INVALID_FIELD", "multiple currencies enabled"),
    ("SELECT FORMAT(convertCurrency(Total_Amount__c)) FROM EC_Order__c", "INVALID_FIELD", "multiple currencies"),
    ("SELECT CALENDAR_YEAR(Order_Date__c) FROM EC_Order__c", "MALFORMED_QUERY",
     "Field must be grouped or aggregated: CALENDAR_YEAR(Order_Date__c)"),
    ("SELECT CALENDAR_YEAR(Order_Date__c) FROM EC_Order__c GROUP BY Order_Date__c", "MALFORMED_QUERY",
     "Field must be grouped or aggregated"),  # the date-field exception is not for dateTime fields
    ("SELECT Id FROM EC_Order__c WHERE CALENDAR_YEAR(Order_Date__c) = THIS_YEAR", "MALFORMED_QUERY",
     "cannot be compared with a date literal"),
    ("SELECT Id FROM EC_Order__c WHERE CALENDAR_YEAR(Order_Number__c) = 2026", "MALFORMED_QUERY",
     "CALENDAR_YEAR() can only be used with a date or dateTime field"),
    ("SELECT Id FROM Contact WHERE HOUR_IN_DAY(Birthdate) = 1", "MALFORMED_QUERY", "only be used with a dateTime field"),
    ("SELECT convertTimezone(Order_Date__c) FROM EC_Order__c", "MALFORMED_QUERY",
     "convertTimezone() can only be used inside a date function"),
    ("SELECT Id FROM Contact WHERE DAY_ONLY(convertTimezone(Birthdate)) = 2026-01-01", "MALFORMED_QUERY",
     "only be used with a dateTime field"),
    ("SELECT Status__c, GROUPING(Status__c) FROM EC_Order__c GROUP BY Status__c", "MALFORMED_QUERY",
     "GROUPING() needs GROUP BY ROLLUP or GROUP BY CUBE"),
    ("SELECT toLabel(COUNT(Id)) FROM EC_Order__c", "MALFORMED_QUERY", "cannot be used inside toLabel()"),
    ("SELECT Id, TYPEOF Owner WHEN User THEN Name END FROM Contact", "MALFORMED_QUERY", "TYPEOF is not supported"),
    ("SELECT Id FROM Contact USING SCOPE mine", "MALFORMED_QUERY", "using clause is not supported"),
    ("SELECT Status__c, COUNT(Id) FROM EC_Order__c", "MALFORMED_QUERY", "Field must be grouped or aggregated: Status__c"),
    ("SELECT Id FROM EC_Order__c WHERE Id = :missing", "MALFORMED_QUERY", "Variable does not exist: missing"),
    ("SELECT Id FROM EC_Order__c WHERE Id = 'nonsense'", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: nonsense"),
    ("SELECT Id FROM EC_Order__c WHERE Order_Number__c = TODAY", "MALFORMED_QUERY", "needs a date or datetime field"),
    ("", "MALFORMED_QUERY", "empty query"),
    ("SELECT Id FROM Contact LIMIT 10 OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000"),
])
def test_error_table(store: Store, soql: str, code: str, needle: str) -> None:
    with store.transaction() as tx:
        with pytest.raises(SalesforceError) as exc:
            tx.query(soql)
    assert exc.value.error_code == code
    assert needle in exc.value.message
    assert exc.value.to_json()[0]["errorCode"] == code


def test_parse_errors_point_at_the_token() -> None:
    with pytest.raises(MalformedQueryError) as exc:
        parse_soql("SELECT Id FROM Contact WHERE Name = 'x' ORDER Name")
    assert "ERROR at Row:1:Column:41" in exc.value.message and "unexpected token: 'ORDER'" in exc.value.message


def test_names_are_case_insensitive(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("ec_order__C", [{"order_number__C": "A1", "MEMBER__C": None}])
        rec = tx.query("select ORDER_NUMBER__C, member__R.lastname from EC_ORDER__C").records[0]
    # canonical spelling in the answer, as Salesforce does
    assert rec["Order_Number__c"] == "A1" and rec["Member__r"] is None
    assert rec["attributes"]["type"] == "EC_Order__c"
    with pytest.raises(InvalidTypeError):
        store.schema.get("ec_orders__c")


def test_paging_at_2000_rows_with_query_more(store: Store) -> None:
    with store.transaction() as tx:
        for start in range(0, 4500, 500):
            tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": f"E{n:05d}"} for n in range(start, start + 500)])
        first = tx.query("SELECT Event_Id__c FROM EC_Ingest_Error__c ORDER BY Event_Id__c")
    assert first.total_size == 4500 and not first.done and len(first.records) == 2000
    body = first.to_json("62.0")
    assert body["nextRecordsUrl"] == f"/services/data/v62.0/query/{first.next_records_locator}"
    second = store.query_more(first.next_records_locator)
    third = store.query_more(second.next_records_locator)
    assert (len(second.records), second.done, len(third.records), third.done) == (2000, False, 500, True)
    assert third.next_records_locator is None and "nextRecordsUrl" not in third.to_json()
    seen = [r["Event_Id__c"] for r in first.records + second.records + third.records]
    assert seen == [f"E{n:05d}" for n in range(4500)]
    with pytest.raises(InvalidQueryLocatorError):
        store.query_more(first.next_records_locator)  # a finished cursor is gone
    with pytest.raises(InvalidQueryLocatorError):
        store.query_more("01gXXXXXXXXXXXXXXX-2000")


def test_typed_queries_are_not_paged(store: Store) -> None:
    with store.transaction() as tx:
        tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": f"E{n}"} for n in range(2100)])
        res = tx.query("SELECT Id FROM EC_Ingest_Error__c", typed=True)
    assert len(res.records) == 2100 and res.done
