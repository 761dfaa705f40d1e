"""simple-salesforce (unmodified) against the local org: CRUD, upsert codes, collections, paging, errors."""
from __future__ import annotations

import uuid

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)


def unique(prefix: str = "k") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def test_crud_round_trip(sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "伊藤", "FirstName": "花子", "Email": "hanako@example.jp"})
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    assert len(record_id) == 18 and record_id.startswith("003")
    record = sf.Contact.get(record_id)
    assert record["LastName"] == "伊藤" and record["Email"] == "hanako@example.jp"
    assert record["attributes"]["type"] == "Contact"
    assert record["CreatedDate"] and record["SystemModstamp"] and record["CreatedById"]
    assert sf.Contact.update(record_id, {"Email": "hanako2@example.jp"}) == 204
    assert sf.Contact.get(record_id)["Email"] == "hanako2@example.jp"
    assert sf.Contact.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(record_id)
    deleted = sf.query_all(f"SELECT Id FROM Contact WHERE Id = '{record_id}'", include_deleted=True)
    assert deleted["totalSize"] == 1, "queryAll still sees a deleted record"


def test_upsert_status_codes(sf: Salesforce) -> None:
    key = unique("M")
    assert sf.Contact.upsert(f"Test_Member_Id__c/{key}", {"LastName": "Sato"}) == 201
    assert sf.Contact.upsert(f"Test_Member_Id__c/{key}", {"LastName": "Sato2"}) == 200
    assert sf.Contact.get_by_custom_id("Test_Member_Id__c", key)["LastName"] == "Sato2"
    response = sf.Contact.upsert(f"Test_Member_Id__c/{unique('M')}", {"LastName": "Kato"}, raw_response=True)
    assert response.status_code == 201 and response.json()["created"] is True
    again = sf.Contact.upsert(f"Test_Member_Id__c/{key}", {"LastName": "Sato3"}, raw_response=True)
    assert again.json() == {"id": again.json()["id"], "success": True, "errors": [], "created": False}


def test_upsert_with_several_matches_answers_300(sf: Salesforce) -> None:
    legacy = unique("L")
    for n in range(2):
        sf.Test_Order__c.create({"Name": f"order {n}", "Legacy_Key__c": legacy})
    with pytest.raises(SalesforceMoreThanOneRecord) as raised:
        sf.Test_Order__c.upsert(f"Legacy_Key__c/{legacy}", {"Name": "which one?"})
    assert len(raised.value.content) == 2
    assert all(url.startswith("/services/data/v62.0/sobjects/Test_Order__c/") for url in raised.value.content)


def test_upsert_on_unknown_field_answers_404(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as raised:
        sf.Contact.upsert("Nope__c/1", {"LastName": "x"})
    assert raised.value.content[0]["errorCode"] == "NOT_FOUND"


def test_error_shapes(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Contact.create({"FirstName": "no last name"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert "LastName" in missing.value.content[0]["fields"]

    with pytest.raises(SalesforceMalformedRequest) as too_long:
        sf.Contact.create({"LastName": "x" * 81})
    assert too_long.value.content[0]["errorCode"] == "STRING_TOO_LONG"

    key = unique("M")
    sf.Contact.create({"LastName": "first", "Test_Member_Id__c": key})
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.Contact.create({"LastName": "second", "Test_Member_Id__c": key})
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_VALUE"

    with pytest.raises(SalesforceMalformedRequest) as bad_ref:
        sf.Test_Order__c.create({"Name": "o", "Member__c": "003000000000000AAA"})
    assert bad_ref.value.content[0]["errorCode"] in ("INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID")

    with pytest.raises(SalesforceMalformedRequest) as malformed:
        sf.query("SELECT FROM Contact")
    assert malformed.value.content[0]["errorCode"] == "MALFORMED_QUERY"

    with pytest.raises(SalesforceMalformedRequest) as invalid_field:
        sf.query("SELECT Id, Nope__c FROM Contact")
    assert invalid_field.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c' on entity 'Contact'" in invalid_field.value.content[0]["message"]


def test_collections_create_update_upsert_delete(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"c{n}"} for n in range(5)]
    records[2]["LastName"] = "x" * 81
    partial = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    assert [r["success"] for r in partial] == [True, True, False, True, True]
    assert partial[2]["errors"][0]["statusCode"] == "STRING_TOO_LONG" and partial[2]["id"] is None

    marker = unique("aon")
    records = [{"attributes": {"type": "Contact"}, "LastName": marker} for _ in range(3)]
    records.append({"attributes": {"type": "Contact"}, "FirstName": "missing last name"})
    all_or_none = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records})
    assert [r["success"] for r in all_or_none] == [False] * 4
    assert {r["errors"][0]["statusCode"] for r in all_or_none[:3]} == {"ALL_OR_NONE_OPERATION_ROLLED_BACK"}
    assert all_or_none[3]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE LastName = '{marker}'")["totalSize"] == 0

    ids = [r["id"] for r in partial if r["success"]]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "Id": i, "Email": f"u{n}@example.jp"} for n, i in enumerate(ids)
    ]})
    assert all(r["success"] for r in updated) and [r["id"] for r in updated] == ids

    keys = [unique("U") for _ in range(3)]
    sf.Contact.create({"LastName": "existing", "Test_Member_Id__c": keys[0]})
    upserted = sf.restful("composite/sobjects/Contact/Test_Member_Id__c", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "Test_Member_Id__c": k, "LastName": "u"} for k in keys
    ]})
    assert [r["created"] for r in upserted] == [False, True, True]

    deleted = sf.restful(f"composite/sobjects?ids={','.join(ids)}&allOrNone=false", method="DELETE")
    assert [r["success"] for r in deleted] == [True] * len(ids)


def test_query_pages_at_2000_rows(sf: Salesforce) -> None:
    marker = unique("page")
    for start in range(0, 4500, 200):
        chunk = [{"attributes": {"type": "Contact"}, "LastName": marker, "FirstName": str(n)} for n in range(start, min(start + 200, 4500))]
        results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": chunk})
        assert all(r["success"] for r in results)
    first = sf.query(f"SELECT Id, FirstName FROM Contact WHERE LastName = '{marker}'")
    assert first["totalSize"] == 4500 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000 and second["done"] is False
    everything = sf.query_all(f"SELECT Id, FirstName FROM Contact WHERE LastName = '{marker}'")
    assert everything["totalSize"] == 4500 and len(everything["records"]) == 4500
    assert len({r["Id"] for r in everything["records"]}) == 4500


def test_describe_shapes(sf: Salesforce) -> None:
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Contact", "Lead", "Account", "User", "Organization", "PermissionSet", "PermissionSetAssignment", "Test_Order__c"} <= names
    fields = {f["name"]: f for f in sf.Test_Order__c.describe()["fields"]}
    number = fields["Order_Number__c"]
    assert (number["type"], number["length"], number["externalId"], number["unique"]) == ("string", 64, True, True)
    member = fields["Member__c"]
    assert member["referenceTo"] == ["Contact"] and member["relationshipName"] == "Member__r"
    assert "defaultValue" in number and "nillable" in number
    assert sf.Contact.metadata()["objectDescribe"]["name"] == "Contact"


def test_organization_record_as_cumulusci_reads_it(sf: Salesforce, deployed_org) -> None:
    org = sf.Organization.get(deployed_org.org_id)
    for key in ("OrganizationType", "IsSandbox", "InstanceName", "NamespacePrefix", "TrialExpirationDate"):
        assert key in org


def test_limits_count_api_calls(sf: Salesforce) -> None:
    before = sf.limits()["DailyApiRequests"]
    sf.query("SELECT Id FROM Contact LIMIT 1")
    after = sf.limits()["DailyApiRequests"]
    assert after["Max"] == before["Max"]
    assert before["Remaining"] - after["Remaining"] == 2, "the query and the limits call itself are counted"
    usage = sf.api_usage["api-usage"]
    assert usage.total == after["Max"] and usage.used == after["Max"] - after["Remaining"]


def test_wrong_token_and_unknown_version(deployed_org) -> None:
    bad = Salesforce(instance_url=deployed_org.url, session_id="00Dbad!token", version="62.0")
    with pytest.raises(SalesforceExpiredSession):
        bad.query("SELECT Id FROM Contact")
    future = Salesforce(instance_url=deployed_org.url, session_id=deployed_org.access_token, version="99.0")
    with pytest.raises(SalesforceResourceNotFound):
        future.query("SELECT Id FROM Contact")


def test_query_with_soql_functions(sf: Salesforce) -> None:
    """toLabel() and FORMAT() over REST: under the field's name or the alias; date functions group with expr
    names; convertCurrency() is refused with a 400 in an org without multiple currencies."""
    marker = unique("fn")
    sf.Lead.create({"LastName": marker, "Company": "Acme", "Status": "Working - Contacted"})
    rows = sf.query(f"SELECT Status, toLabel(Status) s FROM Lead WHERE LastName = '{marker}'")
    assert rows["records"][0]["Status"] == "Working - Contacted" and rows["records"][0]["s"] == "Working - Contacted"
    rows = sf.query(f"SELECT toLabel(Status) FROM Lead WHERE LastName = '{marker}' AND toLabel(Status) = "
                    "'working - contacted'")
    assert rows["totalSize"] == 1 and list(rows["records"][0]) == ["attributes", "Status"]
    grouped = sf.query(f"SELECT CALENDAR_YEAR(CreatedDate), COUNT(Id) n FROM Lead WHERE LastName = '{marker}' "
                       "GROUP BY CALENDAR_YEAR(CreatedDate)")
    assert isinstance(grouped["records"][0]["expr0"], int) and grouped["records"][0]["n"] == 1
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT convertCurrency(AnnualRevenue) FROM Lead")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
