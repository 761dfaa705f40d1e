"""A table of SOQL queries with the rows they must return."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from localcloud.salesforce.data import Store

CONTACTS = [
    {"LastName": "Abe", "FirstName": "Ken", "Email": "ken@example.jp", "EC_Member_Id__c": "M1", "Birthdate": "1990-01-15"},
    {"LastName": "Baba", "FirstName": "Yui", "Email": "yui@example.jp", "EC_Member_Id__c": "M2", "Birthdate": "1985-06-01"},
    {"LastName": "Chiba", "Email": None, "EC_Member_Id__c": "M3"},
    {"LastName": "abe", "FirstName": "Ren", "EC_Member_Id__c": "M4_x"},
]
# (number, member key, date, total, status)
ORDERS = [
    ("O1", "M1", "2026-11-28T01:00:00Z", 1200, "Paid"),     # today
    ("O2", "M1", "2026-11-27T10:00:00Z", 300, "Shipped"),    # yesterday
    ("O3", "M2", "2026-11-20T10:00:00Z", 5000, "Paid"),     # 8 days ago
    ("O4", "M3", "2026-10-05T10:00:00Z", None, "Cancelled"),  # last month
    ("O5", None, None, 700, None),                            # no member yet, no date
]


@pytest.fixture()
def data(store: Store) -> Store:
    with store.transaction() as tx:
        ids = {c["EC_Member_Id__c"]: r.id for c, r in zip(CONTACTS, tx.insert("Contact", CONTACTS))}
        orders = [{"Order_Number__c": n, "EC_Member_Id__c": m, "Member__c": ids.get(m), "Order_Date__c": d,
                   "Total_Amount__c": t, "Status__c": s} for n, m, d, t, s in ORDERS]
        res = tx.insert("EC_Order__c", orders)
        tx.update("EC_Order__c", [{"Id": res[4].id, "Status__c": None}])
        lines = [{"Order__c": res[0].id, "Line_Key__c": "O1-1", "Product_Name__c": "Tea", "Quantity__c": 2},
                 {"Order__c": res[0].id, "Line_Key__c": "O1-2", "Product_Name__c": "Cup", "Quantity__c": 1},
                 {"Order__c": res[2].id, "Line_Key__c": "O3-1", "Product_Name__c": "Pot", "Quantity__c": 5}]
        tx.insert("EC_Order_Line__c", lines)
        tx.delete([res[3].id])  # O4 deleted: only ALL ROWS / queryAll see it
        tx.insert("EC_Order__c", [{"Order_Number__c": "O4b", "EC_Member_Id__c": "M3", "Member__c": ids["M3"],
                                   "Order_Date__c": "2026-10-06T10:00:00Z", "Status__c": "Cancelled"}])
    return store


def numbers(records):
    return [r["Order_Number__c"] for r in records]


ORDER_QUERIES = [
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Order_Number__c", {}, ["O1", "O2", "O3", "O4b", "O5"]),
    ("select order_number__c from ec_order__c order by ORDER_NUMBER__C desc", {}, ["O5", "O4b", "O3", "O2", "O1"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c = 'paid' ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c != 'Paid' ORDER BY Order_Number__c", {}, ["O2", "O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c <> 'Paid' AND Status__c != null ORDER BY Order_Number__c", {}, ["O2", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c > 700 ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c >= 700 ORDER BY Order_Number__c", {}, ["O1", "O3", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c < 700 ORDER BY Order_Number__c", {}, ["O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c <= 700.0 ORDER BY Order_Number__c", {}, ["O2", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c = null ORDER BY Order_Number__c", {}, ["O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Member__c = null", {}, ["O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c LIKE 'o%' ORDER BY Order_Number__c LIMIT 2", {}, ["O1", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c LIKE '_4%'", {}, ["O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Order_Number__c LIMIT 2 OFFSET 2", {}, ["O3", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c IN ('O1', 'o3', 'zz') ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c NOT IN ('O1', 'O3') ORDER BY Order_Number__c", {}, ["O2", "O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c NOT IN ('Paid') ORDER BY Order_Number__c", {}, ["O2", "O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c IN :nums ORDER BY Order_Number__c", {"nums": ["O2", "O5"]}, ["O2", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c IN :nums", {"nums": []}, []),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c = :n", {"n": "O3"}, ["O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c = 'Paid' AND (Total_Amount__c > 2000 OR Member__r.EC_Member_Id__c = 'M1') ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE NOT Status__c = 'Paid' ORDER BY Order_Number__c", {}, ["O2", "O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Total_Amount__c > 100 AND NOT (Status__c = 'Paid' OR Status__c = 'Shipped') ORDER BY Order_Number__c", {}, ["O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Member__r.Email LIKE '%example.jp' ORDER BY Order_Number__c", {}, ["O1", "O2", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Member__r.FirstName = null ORDER BY Order_Number__c", {}, ["O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Member__r.LastName DESC NULLS LAST, Order_Number__c", {}, ["O4b", "O3", "O1", "O2", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Total_Amount__c NULLS FIRST", {}, ["O4b", "O2", "O5", "O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Total_Amount__c DESC", {}, ["O3", "O1", "O5", "O2", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Total_Amount__c DESC NULLS FIRST", {}, ["O4b", "O3", "O1", "O5", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = TODAY", {}, ["O1"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = YESTERDAY", {}, ["O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = LAST_N_DAYS:7 ORDER BY Order_Number__c", {}, ["O1", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = LAST_N_DAYS:8 ORDER BY Order_Number__c", {}, ["O1", "O2", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c < LAST_N_DAYS:7 ORDER BY Order_Number__c", {}, ["O3", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = THIS_MONTH ORDER BY Order_Number__c", {}, ["O1", "O2", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = LAST_MONTH", {}, ["O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = NEXT_N_DAYS:3", {}, []),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = THIS_WEEK ORDER BY Order_Number__c", {}, ["O1", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c > 2026-11-27T12:00:00Z", {}, ["O1"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c > 2026-11-27T12:00:00+09:00 ORDER BY Order_Number__c", {}, ["O1", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c >= :since ORDER BY Order_Number__c",
     {"since": datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)}, ["O1", "O2", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Date__c = THIS_YEAR AND Status__c IN ('Cancelled', 'Paid') ORDER BY Order_Number__c", {}, ["O1", "O3", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c LIKE 'O4%' ORDER BY Order_Number__c ALL ROWS", {}, ["O4", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Id IN (SELECT Order__c FROM EC_Order_Line__c WHERE Quantity__c > 1) ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Id NOT IN (SELECT Order__c FROM EC_Order_Line__c) ORDER BY Order_Number__c", {}, ["O2", "O4b", "O5"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c = 'Paid' WITH USER_MODE ORDER BY Order_Number__c", {}, ["O1", "O3"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Status__c = 'Paid' WITH SECURITY_ENFORCED ORDER BY Order_Number__c LIMIT 1", {}, ["O1"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Order_Number__c = 'O2' FOR UPDATE", {}, ["O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c WHERE Member__c IN :members ORDER BY Order_Number__c", "MEMBERS_M1", ["O1", "O2"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Status__c, Order_Number__c", {}, ["O5", "O1", "O3", "O2", "O4b"]),
    ("SELECT Order_Number__c FROM EC_Order__c ORDER BY Status__c DESC, Order_Number__c", {}, ["O4b", "O2", "O1", "O3", "O5"]),
]


@pytest.mark.parametrize("soql,binds,expected", ORDER_QUERIES, ids=[q[0][30:90] for q in ORDER_QUERIES])
def test_order_queries(data: Store, soql: str, binds, expected) -> None:
    with data.transaction() as tx:
        if binds == "MEMBERS_M1":
            m1 = tx.query("SELECT Id FROM Contact WHERE EC_Member_Id__c = 'M1'").records
            binds = {"members": m1}  # a list of records binds as their ids
        result = tx.query(soql, binds)
    assert numbers(result.records) == expected
    assert result.total_size == len(expected) and result.done


def test_parent_paths_and_child_subqueries(data: Store) -> None:
    with data.transaction() as tx:
        res = tx.query("SELECT Order_Number__c, Member__r.Email, Member__r.Owner.Username, "
                       "(SELECT Line_Key__c, Quantity__c FROM Order_Lines__r ORDER BY Line_Key__c DESC) "
                       "FROM EC_Order__c WHERE Order_Number__c IN ('O1', 'O5') ORDER BY Order_Number__c")
    o1, o5 = res.records
    assert o1["attributes"]["type"] == "EC_Order__c" and o1["attributes"]["url"].endswith(o1["attributes"]["url"][-18:])
    assert o1["Member__r"]["Email"] == "ken@example.jp"
    assert o1["Member__r"]["attributes"]["type"] == "Contact"
    assert o1["Member__r"]["Owner"]["Username"] == "admin@ecbridge.local"
    assert o1["Order_Lines__r"]["totalSize"] == 2
    assert [x["Line_Key__c"] for x in o1["Order_Lines__r"]["records"]] == ["O1-2", "O1-1"]
    assert o1["Order_Lines__r"]["records"][0]["Quantity__c"] == 1.0
    assert o5["Member__r"] is None and o5["Order_Lines__r"] is None


def test_child_subquery_from_contact_with_filter_and_limit(data: Store) -> None:
    with data.transaction() as tx:
        res = tx.query("SELECT EC_Member_Id__c, (SELECT Order_Number__c FROM EC_Orders__r WHERE Total_Amount__c != null "
                       "ORDER BY Order_Number__c DESC LIMIT 1) FROM Contact ORDER BY EC_Member_Id__c")
        typed = tx.query("SELECT EC_Member_Id__c, (SELECT Order_Number__c FROM EC_Orders__r) FROM Contact "
                         "WHERE EC_Member_Id__c = 'M4_x'", typed=True)
    got = {r["EC_Member_Id__c"]: r["EC_Orders__r"] and [x["Order_Number__c"] for x in r["EC_Orders__r"]["records"]]
           for r in res.records}
    assert got == {"M1": ["O2"], "M2": ["O3"], "M3": None, "M4_x": None}
    assert typed.records[0]["EC_Orders__r"] == []  # Apex sees an empty list


def test_counts_and_aggregates(data: Store) -> None:
    with data.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM EC_Order__c").total_size == 5
        c = tx.query("SELECT COUNT() FROM Contact WHERE LastName = 'ABE'")
        assert c.total_size == 2 and c.records == [] and c.count_only
        assert tx.query("SELECT COUNT() FROM EC_Order__c ALL ROWS").total_size == 6
        res = tx.query("SELECT Status__c, COUNT(Id) n, SUM(Total_Amount__c) total, MAX(Order_Date__c), MIN(Total_Amount__c) "
                       "FROM EC_Order__c GROUP BY Status__c ORDER BY Status__c NULLS LAST")
        rows = [(r["Status__c"], r["n"], r["total"], r["expr0"], r["expr1"]) for r in res.records]
        # picklists sort in their defined order (New, Paid, Shipped, Cancelled), not alphabetically
        assert rows == [("Paid", 2, 6200.0, "2026-11-28T01:00:00.000+0000", 1200.0),
                        ("Shipped", 1, 300.0, "2026-11-27T10:00:00.000+0000", 300.0),
                        ("Cancelled", 1, None, "2026-10-06T10:00:00.000+0000", None),
                        (None, 1, 700.0, None, 700.0)]
        assert all(r["attributes"] == {"type": "AggregateResult"} for r in res.records)
        one = tx.query("SELECT COUNT(Id), AVG(Total_Amount__c) FROM EC_Order__c WHERE Total_Amount__c != null")
        assert one.records[0]["expr0"] == 4 and one.records[0]["expr1"] == pytest.approx(1800.0)
        having = tx.query("SELECT Member__r.EC_Member_Id__c key, COUNT(Id) FROM EC_Order__c GROUP BY Member__r.EC_Member_Id__c "
                          "HAVING COUNT(Id) > 1")
        assert [(r["key"], r["expr0"]) for r in having.records] == [("M1", 2)]
        typed = tx.query("SELECT SUM(Total_Amount__c) s FROM EC_Order__c", typed=True)
        assert typed.records[0]["s"] == Decimal("7200.0")


def test_typed_values_for_apex(data: Store) -> None:
    with data.transaction() as tx:
        r = tx.query("SELECT Order_Date__c, Total_Amount__c, Member__r.Birthdate FROM EC_Order__c WHERE Order_Number__c = 'O1'",
                     typed=True).records[0]
    assert r["Order_Date__c"] == datetime(2026, 11, 28, 1, 0, tzinfo=timezone.utc)
    assert r["Total_Amount__c"] == Decimal("1200")
    from datetime import date
    assert r["Member__r"]["Birthdate"] == date(1990, 1, 15)


def test_bind_resolver_callback_for_apex_expressions(data: Store) -> None:
    seen = []

    def resolve(bind):
        seen.append(bind.name)
        return {"acc.Key__c": "M2"}[bind.name]

    with data.transaction() as tx:
        res = tx.query("SELECT Order_Number__c FROM EC_Order__c WHERE EC_Member_Id__c = :acc.Key__c", bind_resolver=resolve)
    assert numbers(res.records) == ["O3"] and seen == ["acc.Key__c"]


def test_standard_objects_cumulusci_reads(data: Store) -> None:
    with data.transaction() as tx:
        org = tx.query("SELECT Id, OrganizationType, IsSandbox, InstanceName, NamespacePrefix FROM Organization").records[0]
        assert org["Id"] == data.org_id and org["IsSandbox"] is False and org["NamespacePrefix"] is None
        tx.insert("PermissionSet", [{"Name": "ECBridge_Integration", "Label": "ECBridge Integration"}])
        ps = tx.query("SELECT Id, Name FROM PermissionSet WHERE Name IN ('ECBridge_Integration')").records[0]
        tx.insert("PermissionSetAssignment", [{"AssigneeId": data.user_id, "PermissionSetId": ps["Id"]}])
        user = tx.query("SELECT Id, (SELECT PermissionSetId FROM PermissionSetAssignments) FROM User "
                        "WHERE Username = 'admin@ecbridge.local'").records[0]
        assert user["PermissionSetAssignments"]["records"][0]["PermissionSetId"] == ps["Id"]
        tx.insert("ApexClass", [{"Name": "EcbTest", "ApiVersion": 62.0, "Status": "Active", "LengthWithoutComments": 1,
                                 "NamespacePrefix": None}], read_only_fields="write")
        cls = tx.query("SELECT Id, Name FROM ApexClass WHERE NamespacePrefix = null AND (Name LIKE '%Test')").records
        assert [c["Name"] for c in cls] == ["EcbTest"]
        tx.insert("ApexCodeCoverageAggregate", [{"ApexClassOrTriggerId": cls[0]["Id"], "NumLinesCovered": 3,
                                                 "NumLinesUncovered": 1}], read_only_fields="write")
        cov = tx.query("SELECT ApexClassOrTrigger.Name, ApexClassOrTriggerId, NumLinesCovered, NumLinesUncovered "
                       "FROM ApexCodeCoverageAggregate ORDER BY ApexClassOrTrigger.Name ASC").records[0]
        assert cov["ApexClassOrTrigger"]["Name"] == "EcbTest"
        assert cov["ApexClassOrTrigger"]["attributes"]["type"] == "ApexClass"
