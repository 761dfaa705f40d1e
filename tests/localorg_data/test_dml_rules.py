"""DML rules Salesforce enforces, with per-record results and allOrNone."""
from __future__ import annotations

from decimal import Decimal

import pytest

from localcloud.salesforce.data import InvalidFieldError, InvalidTypeError, NotFoundError, Store


def codes(results):
    return [[e.status_code for e in r.errors] for r in results]


def test_insert_sets_system_fields_and_defaults(store: Store, clock) -> None:
    with store.transaction() as tx:
        [r] = tx.insert("EC_Order__c", [{"Order_Number__c": "O-1"}])
        assert r.success and r.id.startswith(store.schema.get("EC_Order__c").key_prefix) and len(r.id) == 18
        rec = tx.retrieve("EC_Order__c", r.id)
    assert rec["CreatedDate"] == "2026-11-28T03:00:00.000+0000"
    assert rec["LastModifiedDate"] == rec["SystemModstamp"] == rec["CreatedDate"]
    assert rec["CreatedById"] == rec["LastModifiedById"] == rec["OwnerId"] == store.user_id
    assert rec["IsDeleted"] is False
    assert rec["Status__c"] == "New"  # picklist default
    assert rec["Name"] == r.id  # custom object without a name gets its id


def test_update_changes_only_given_fields_and_audit(store: Store, clock) -> None:
    from datetime import timedelta
    with store.transaction() as tx:
        [r] = tx.insert("Contact", [{"LastName": "Sato", "FirstName": "Aki", "Email": "aki@example.jp"}])
    clock.now += timedelta(minutes=5)
    with store.transaction() as tx:
        [u] = tx.update("Contact", [{"Id": r.id[:15], "Phone": "03-1234"}])  # 15-char id works
        assert u.success and u.id == r.id
        rec = tx.retrieve("Contact", r.id)
    assert rec["Email"] == "aki@example.jp" and rec["Phone"] == "03-1234" and rec["Name"] == "Aki Sato"
    assert rec["LastModifiedDate"] == "2026-11-28T03:05:00.000+0000"
    assert rec["CreatedDate"] == "2026-11-28T03:00:00.000+0000"


@pytest.mark.parametrize("record,code,field", [
    ({"FirstName": "x"}, "REQUIRED_FIELD_MISSING", "LastName"),
    ({"LastName": "y" * 81}, "STRING_TOO_LONG", "LastName"),
    ({"LastName": "z", "Foo__c": 1}, "INVALID_FIELD", "Foo__c"),
    ({"LastName": "z", "Email": "not-an-email"}, "INVALID_EMAIL_ADDRESS", "Email"),
    ({"LastName": "z", "Birthdate": "yesterday"}, "INVALID_TYPE_ON_FIELD_IN_RECORD", "Birthdate"),
    ({"LastName": "z", "AccountId": "not-an-id"}, "MALFORMED_ID", "AccountId"),
    ({"LastName": "z", "AccountId": "0018d0000000099AAA"}, "INVALID_CROSS_REFERENCE_KEY", "AccountId"),
    ({"LastName": "z", "Name": "x"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Name"),
    ({"LastName": "z", "Id": "0038d0000000001AAA"}, "INVALID_FIELD_FOR_INSERT_UPDATE", "Id"),
])
def test_record_errors_name_code_and_field(store: Store, record, code, field) -> None:
    with store.transaction() as tx:
        [r] = tx.insert("Contact", [record], all_or_none=False)
    assert not r.success and r.id is None
    assert r.errors[0].status_code == code
    assert field in r.errors[0].fields
    assert r.errors[0].to_json()["statusCode"] == code


@pytest.mark.parametrize("field,value", [
    ("Order_Date__c", "1699-12-31T23:59:59Z"),
    ("Order_Date__c", "4001-01-01T00:00:00Z"),
    ("Order_Date__c", "4000-12-31T00:00:01Z"),
])
def test_date_times_outside_1700_to_4000_are_refused(store: Store, field: str, value: str) -> None:
    with store.transaction() as tx:
        [bad, first, last] = tx.insert("EC_Order__c", [
            {"Name": "bad", field: value},
            {"Name": "first", field: "1700-01-01T00:00:00Z"},
            {"Name": "last", field: "4000-12-31T00:00:00Z"},
        ], all_or_none=False)
        assert first.success and last.success, (first.errors, last.errors)
        assert not bad.success and bad.id is None
        assert bad.errors[0].status_code == "FIELD_INTEGRITY_EXCEPTION" and list(bad.errors[0].fields) == [field]
        assert tx.query("SELECT COUNT() FROM EC_Order__c WHERE Name = 'bad'").total_size == 0


def test_dates_outside_1700_to_4000_are_refused(store: Store) -> None:
    with store.transaction() as tx:
        [bad, good] = tx.insert("Contact", [{"LastName": "bad", "Birthdate": "1699-12-31"},
                                            {"LastName": "good", "Birthdate": "4000-12-31"}], all_or_none=False)
    assert good.success, good.errors
    assert bad.errors[0].status_code == "FIELD_INTEGRITY_EXCEPTION" and list(bad.errors[0].fields) == ["Birthdate"]


@pytest.mark.parametrize("email", [
    "j\u00f6rg@example.com",          # non-ASCII local part
    "jorg@b\u00fccher.example",       # non-ASCII (internationalised) domain
    "jo\x00rg@example.com",           # NUL
    "jo rg@example.com",
    "jorg@@example.com",
    "jorg@exa_mple.com",
])
def test_email_fields_take_ascii_addresses_only(store: Store, email: str) -> None:
    with store.transaction() as tx:
        [bad, good] = tx.insert("Contact", [{"LastName": "bad", "Email": email},
                                            {"LastName": "good", "Email": "o'hara+ec@mail.example-shop.co.jp"}],
                                all_or_none=False)
        assert good.success, good.errors
        assert not bad.success and bad.id is None
        assert bad.errors[0].status_code == "INVALID_EMAIL_ADDRESS" and list(bad.errors[0].fields) == ["Email"]
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'bad'").total_size == 0


def test_lookup_to_record_of_wrong_object(store: Store) -> None:
    with store.transaction() as tx:
        [acc] = tx.insert("Account", [{"Name": "Acme"}])
        [r] = tx.insert("EC_Order__c", [{"Order_Number__c": "O-9", "Member__c": acc.id}], all_or_none=False)
    assert r.errors[0].status_code == "FIELD_INTEGRITY_EXCEPTION"
    assert r.errors[0].fields == ("Member__c",)


def test_number_rounding_and_range(store: Store) -> None:
    with store.transaction() as tx:
        res = tx.insert("EC_Order__c", [{"Order_Number__c": "A", "Total_Amount__c": 1200.5},
                                        {"Order_Number__c": "B", "Total_Amount__c": "1e17"},
                                        {"Order_Number__c": "C", "Total_Amount__c": "abc"}], all_or_none=False)
        assert codes(res) == [[], ["NUMBER_OUTSIDE_VALID_RANGE"], ["INVALID_TYPE_ON_FIELD_IN_RECORD"]]
        rec = tx.retrieve("EC_Order__c", res[0].id, ["Total_Amount__c"], typed=True)
    assert rec["Total_Amount__c"] == Decimal("1201")


def test_picklists_unrestricted_accept_any_restricted_reject(store: Store) -> None:
    with store.transaction() as tx:
        res = tx.insert("EC_Order__c", [{"Order_Number__c": "P1", "Status__c": "Whatever"}], all_or_none=False)
        assert res[0].success  # unrestricted picklists take any value, as in Salesforce
        res = tx.insert("EC_Ingest_Error__c", [{"Kind__c": "member"}, {"Kind__c": "nope"}], all_or_none=False)
    assert codes(res) == [[], ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"]]
    assert res[1].errors[0].message == "Kind: bad value for restricted picklist field: nope"


def test_unique_external_id_duplicate_value(store: Store) -> None:
    with store.transaction() as tx:
        [a] = tx.insert("Contact", [{"LastName": "A", "EC_Member_Id__c": "M-1"}])
        res = tx.insert("Contact", [{"LastName": "B", "EC_Member_Id__c": "m-1"},  # case-insensitive
                                    {"LastName": "C", "EC_Member_Id__c": "M-2"},
                                    {"LastName": "D", "EC_Member_Id__c": "M-2"}], all_or_none=False)
    assert codes(res) == [["DUPLICATE_VALUE"], [], ["DUPLICATE_VALUE"]]
    assert a.id in res[0].errors[0].message
    assert res[0].errors[0].fields == ("EC_Member_Id__c",)


def test_all_or_none_rolls_back_the_good_records(store: Store) -> None:
    with store.transaction() as tx:
        res = tx.insert("Contact", [{"LastName": "ok1"}, {"FirstName": "bad"}, {"LastName": "ok2"}], all_or_none=True)
        assert [r.success for r in res] == [False, False, False]
        assert codes(res) == [["ALL_OR_NONE_OPERATION_ROLLED_BACK"], ["REQUIRED_FIELD_MISSING"],
                              ["ALL_OR_NONE_OPERATION_ROLLED_BACK"]]
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'ok%'").total_size == 0
        res = tx.insert("Contact", [{"LastName": "ok1"}, {"FirstName": "bad"}, {"LastName": "ok2"}], all_or_none=False)
        assert [r.success for r in res] == [True, False, True]
        assert tx.query("SELECT COUNT() FROM Contact WHERE LastName LIKE 'ok%'").total_size == 2


def test_upsert_created_updated_and_multiple_matches(store: Store) -> None:
    with store.transaction() as tx:
        [r1] = tx.upsert("Contact", [{"EC_Member_Id__c": "M-7", "LastName": "First"}], "EC_Member_Id__c")
        assert r1.success and r1.created is True and r1.to_json()["created"] is True
        [r2] = tx.upsert("Contact", [{"EC_Member_Id__c": "m-7", "LastName": "Second"}], "ec_member_id__c")
        assert r2.success and r2.created is False and r2.id == r1.id
        assert tx.retrieve("Contact", r1.id)["LastName"] == "Second"
        # a non-unique external id with two matches: DUPLICATE_EXTERNAL_ID with the candidates (HTTP 300)
        tx.insert("EC_Order__c", [{"Order_Number__c": "X1", "EC_Member_Id__c": "K"},
                                  {"Order_Number__c": "X2", "EC_Member_Id__c": "K"}])
        [r3] = tx.upsert("EC_Order__c", [{"EC_Member_Id__c": "K", "Status__c": "Paid"}], "EC_Member_Id__c",
                         all_or_none=False)
        assert not r3.success and r3.errors[0].status_code == "DUPLICATE_EXTERNAL_ID" and len(r3.matches) == 2
        # the same key twice in one call
        res = tx.upsert("Contact", [{"EC_Member_Id__c": "Z", "LastName": "a"}, {"EC_Member_Id__c": "Z", "LastName": "b"}],
                        "EC_Member_Id__c", all_or_none=False)
        assert codes(res) == [["DUPLICATE_EXTERNAL_ID"], ["DUPLICATE_EXTERNAL_ID"]]
        with pytest.raises(NotFoundError):
            tx.upsert("Contact", [{"Nope__c": "1"}], "Nope__c")
        with pytest.raises(InvalidFieldError):
            tx.upsert("Contact", [{"LastName": "x"}], "LastName")


def test_lookup_by_parent_external_id(store: Store) -> None:
    with store.transaction() as tx:
        [m] = tx.insert("Contact", [{"LastName": "A", "EC_Member_Id__c": "M1"}])
        res = tx.insert("EC_Order__c", [{"Order_Number__c": "O1", "Member__r": {"EC_Member_Id__c": "M1"}},
                                        {"Order_Number__c": "O2", "Member__r": {"EC_Member_Id__c": "M404"}}],
                        all_or_none=False)
        assert res[0].success
        assert tx.retrieve("EC_Order__c", res[0].id)["Member__c"] == m.id
    assert res[1].errors[0].status_code == "INVALID_FIELD"
    assert res[1].errors[0].message == ("Foreign key external ID: M404 not found for field EC_Member_Id__c in "
                                        "entity Contact")


def test_delete_soft_deletes_and_clears_lookups(store: Store) -> None:
    with store.transaction() as tx:
        [m] = tx.insert("Contact", [{"LastName": "A"}])
        [o] = tx.insert("EC_Order__c", [{"Order_Number__c": "O1", "Member__c": m.id}])
        res = tx.delete([m.id, m.id, "garbage"], all_or_none=False)
        assert codes(res) == [[], ["DUPLICATE_VALUE"], ["MALFORMED_ID"]]
        assert tx.retrieve("Contact", m.id) is None
        assert tx.query("SELECT Id FROM Contact WHERE Id = :i", {"i": m.id}).total_size == 0
        assert tx.query("SELECT Id, IsDeleted FROM Contact WHERE Id = :i", {"i": m.id},
                        include_deleted=True).records[0]["IsDeleted"] is True
        assert tx.query("SELECT Id FROM Contact WHERE Id = :i ALL ROWS", {"i": m.id}).total_size == 1
        assert tx.retrieve("EC_Order__c", o.id)["Member__c"] is None
        [again] = tx.delete([m.id], all_or_none=False)
        assert codes([again]) == [["ENTITY_IS_DELETED"]]
        [upd] = tx.update("Contact", [{"Id": m.id, "LastName": "B"}], all_or_none=False)
        assert codes([upd]) == [["ENTITY_IS_DELETED"]]


def test_unique_value_is_free_again_after_delete(store: Store) -> None:
    with store.transaction() as tx:
        [a] = tx.insert("Contact", [{"LastName": "A", "EC_Member_Id__c": "M-1"}])
        tx.delete([a.id])
        [b] = tx.insert("Contact", [{"LastName": "B", "EC_Member_Id__c": "M-1"}])
        assert b.success


def test_update_errors(store: Store) -> None:
    with store.transaction() as tx:
        [a] = tx.insert("Contact", [{"LastName": "A"}])
        res = tx.update("Contact", [{"LastName": "no id"}, {"Id": "003xx", "LastName": "x"},
                                    {"Id": a.id, "LastName": None}, {"Id": "0038d0000000999AAA"}], all_or_none=False)
    assert codes(res) == [["MISSING_ARGUMENT"], ["MALFORMED_ID"], ["REQUIRED_FIELD_MISSING"],
                          ["INVALID_CROSS_REFERENCE_KEY"]]


def test_unknown_object(store: Store) -> None:
    with store.transaction() as tx:
        with pytest.raises(InvalidTypeError) as exc:
            tx.insert("Nope__c", [{}])
    assert exc.value.to_json()[0]["errorCode"] == "INVALID_TYPE"


def test_read_only_field_modes(store: Store) -> None:
    with store.transaction() as tx:
        [r] = tx.insert("Contact", [{"LastName": "A", "CreatedDate": "2020-01-01T00:00:00Z"}], all_or_none=False)
        assert r.errors[0].status_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
        [r] = tx.insert("Contact", [{"LastName": "A", "CreatedDate": "2020-01-01T00:00:00Z"}], read_only_fields="ignore")
        assert tx.retrieve("Contact", r.id)["CreatedDate"].startswith("2026-11-28")
        [r] = tx.insert("ApexClass", [{"Name": "Foo", "ApiVersion": 62.0, "Status": "Active", "LengthWithoutComments": 10,
                                       "Body": "public class Foo {}"}], read_only_fields="write")
        assert r.success


def test_standard_currency_field_with_scale_0_keeps_the_currency_decimals_custom_ones_round(store: Store) -> None:
    """Account.AnnualRevenue's describe says scale 0, yet Salesforce reads back 12345.67 as saved; a custom
    Currency field with scale 0 rounds (EC_Order__c.Total_Amount__c)."""
    with store.transaction() as tx:
        [a] = tx.insert("Account", [{"Name": "A", "AnnualRevenue": "12345.674"}])
        [o] = tx.insert("EC_Order__c", [{"Order_Number__c": "O-9", "Total_Amount__c": "12345.67"}])
        assert tx.retrieve("Account", a.id)["AnnualRevenue"] == 12345.67
        assert tx.retrieve("EC_Order__c", o.id)["Total_Amount__c"] == 12346
