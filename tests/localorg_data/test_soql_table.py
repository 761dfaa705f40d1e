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


# -- SOQL functions: toLabel(), FORMAT(), convertCurrency(), date functions, ROLLUP/CUBE ------------------------
def _with_tiers(store: Store) -> None:
    """Contact.Tier__c: a picklist whose labels differ from its values; Contact.Tags__c: a multi-select one."""
    from localcloud.salesforce.data import CustomFieldSpec as F, PicklistValue as P
    with store.transaction() as tx:
        tx.apply_custom_field("Contact", F("Tier__c", "Picklist", picklist_values=[
            P("G", label="Gold"), P("S", label="Silver"), P("B", label="Bronze", active=False)]))
        tx.apply_custom_field("Contact", F("Tags__c", "MultiselectPicklist", picklist_values=[
            P("v", label="VIP"), P("n", label="Newsletter")]))
        for member, tier, tags in (("M1", "G", "v;n"), ("M2", "S", None), ("M3", "B", "n")):
            tx.update("Contact", [{"Id": tx.query(f"SELECT Id FROM Contact WHERE EC_Member_Id__c = '{member}'")
                                   .records[0]["Id"], "Tier__c": tier, "Tags__c": tags}])


def test_tolabel_answers_the_label_under_the_field_name_or_its_alias(data: Store) -> None:
    _with_tiers(data)
    with data.transaction() as tx:
        rows = tx.query("SELECT EC_Member_Id__c, toLabel(Tier__c), toLabel(Tags__c) FROM Contact "
                        "ORDER BY EC_Member_Id__c").records
        assert [(r["Tier__c"], r["Tags__c"]) for r in rows] == [
            ("Gold", "VIP;Newsletter"), ("Silver", None), ("Bronze", "Newsletter"), (None, None)]
        both = tx.query("SELECT Tier__c, toLabel(Tier__c) tierLabel FROM Contact WHERE EC_Member_Id__c = 'M1'").records[0]
        assert (both["Tier__c"], both["tierLabel"]) == ("G", "Gold")
        parent = tx.query("SELECT Order_Number__c, toLabel(Member__r.Tier__c) FROM EC_Order__c "
                          "WHERE Order_Number__c = 'O3'").records[0]
        assert parent["Member__r"]["Tier__c"] == "Silver"
        kids = tx.query("SELECT EC_Member_Id__c, (SELECT toLabel(Member__r.Tier__c) t FROM EC_Orders__r) FROM Contact "
                        "WHERE EC_Member_Id__c = 'M1'").records[0]
        assert [k["t"] for k in kids["EC_Orders__r"]["records"]] == ["Gold", "Gold"]
        grouped = tx.query("SELECT toLabel(Tier__c), COUNT(Id) n FROM Contact WHERE Tier__c != null "
                           "GROUP BY Tier__c ORDER BY Tier__c").records
        assert [(g["Tier__c"], g["n"]) for g in grouped] == [("Gold", 1), ("Silver", 1), ("Bronze", 1)]


@pytest.mark.parametrize("where,expected", [
    ("toLabel(Tier__c) = 'gold'", ["M1"]),            # against the label, case-insensitively
    ("toLabel(Tier__c) = 'G'", []),                    # not the value
    ("toLabel(Tier__c) != 'Gold'", ["M2", "M3", "M4_x"]),
    ("toLabel(Tier__c) IN ('Silver', 'Bronze')", ["M2", "M3"]),
    ("toLabel(Tier__c) LIKE 'S%'", ["M2"]),
    ("toLabel(Tier__c) = null", ["M4_x"]),
])
def test_tolabel_filters_on_the_label(data: Store, where: str, expected: list[str]) -> None:
    _with_tiers(data)
    with data.transaction() as tx:
        rows = tx.query(f"SELECT EC_Member_Id__c FROM Contact WHERE {where} ORDER BY EC_Member_Id__c").records
    assert [r["EC_Member_Id__c"] for r in rows] == expected


def test_tolabel_of_a_record_type_name_is_its_name(data: Store) -> None:
    with data.transaction() as tx:
        rt = tx.insert("RecordType", [{"Name": "Retail Buyer", "DeveloperName": "Retail", "SobjectType": "Account",
                                       "IsActive": True}], read_only_fields="write")[0].id
        tx.insert("Account", [{"Name": "Typed", "RecordTypeId": rt}])
        row = tx.query("SELECT toLabel(RecordType.Name) FROM Account WHERE Name = 'Typed'").records[0]
    assert row["RecordType"]["Name"] == "Retail Buyer"


def test_format_shows_values_as_the_en_us_locale_in_the_users_time_zone(data: Store) -> None:
    with data.transaction() as tx:  # the org's user is in Asia/Tokyo (UTC+9)
        row = tx.query("SELECT FORMAT(Order_Date__c), FORMAT(Total_Amount__c) amount, Member__r.Birthdate, "
                       "FORMAT(Member__r.Birthdate) born FROM EC_Order__c WHERE Order_Number__c = 'O1'").records[0]
        assert (row["Order_Date__c"], row["amount"], row["born"]) == ("11/28/2026, 10:00 AM", "$1,200", "1/15/1990")
        assert row["Member__r"]["Birthdate"] == "1990-01-15"
        agg = tx.query("SELECT FORMAT(MIN(Order_Date__c)) first, FORMAT(SUM(Total_Amount__c)) FROM EC_Order__c").records[0]
        assert (agg["first"], agg["expr0"]) == ("10/6/2026, 7:00 PM", "$7,200")
        typed = tx.query("SELECT FORMAT(Total_Amount__c) FROM EC_Order__c WHERE Order_Number__c = 'O3'",
                         typed=True).records[0]
        assert typed["Total_Amount__c"] == "$5,000"


DATE_FN_QUERIES = [
    ("SELECT CALENDAR_MONTH(Order_Date__c) m, COUNT(Id) n FROM EC_Order__c WHERE Order_Date__c != null "
     "GROUP BY CALENDAR_MONTH(Order_Date__c) ORDER BY CALENDAR_MONTH(Order_Date__c)", [{"m": 10, "n": 1}, {"m": 11, "n": 4}]),
    ("SELECT CALENDAR_MONTH(Order_Date__c) m FROM EC_Order__c GROUP BY CALENDAR_MONTH(Order_Date__c) "
     "HAVING COUNT(Id) > 1", [{"m": 11}]),
    ("SELECT CALENDAR_YEAR(Order_Date__c), SUM(Total_Amount__c), CALENDAR_QUARTER(Order_Date__c) FROM EC_Order__c "
     "WHERE Order_Date__c != null GROUP BY CALENDAR_YEAR(Order_Date__c), CALENDAR_QUARTER(Order_Date__c)",
     [{"expr0": 2026, "expr1": 6500.0, "expr2": 4}]),
    ("SELECT DAY_ONLY(Order_Date__c) d, COUNT(Id) n FROM EC_Order__c WHERE Order_Number__c IN ('O2', 'O6') "
     "GROUP BY DAY_ONLY(Order_Date__c)", [{"d": "2026-11-27", "n": 2}]),
    ("SELECT DAY_ONLY(convertTimezone(Order_Date__c)) d, COUNT(Id) n FROM EC_Order__c WHERE Order_Number__c IN ('O2', "
     "'O6') GROUP BY DAY_ONLY(convertTimezone(Order_Date__c)) ORDER BY DAY_ONLY(convertTimezone(Order_Date__c))",
     [{"d": "2026-11-27", "n": 1}, {"d": "2026-11-28", "n": 1}]),
    ("SELECT HOUR_IN_DAY(Order_Date__c) utc, HOUR_IN_DAY(convertTimezone(Order_Date__c)) tokyo FROM EC_Order__c "
     "WHERE Order_Number__c = 'O6' GROUP BY HOUR_IN_DAY(Order_Date__c), HOUR_IN_DAY(convertTimezone(Order_Date__c))",
     [{"utc": 20, "tokyo": 5}]),
    ("SELECT CALENDAR_YEAR(Birthdate) y, COUNT(Id) n FROM Contact WHERE Birthdate != null GROUP BY Birthdate "
     "ORDER BY Birthdate", [{"y": 1985, "n": 1}, {"y": 1990, "n": 1}]),  # a date field: its own GROUP BY will do
]


@pytest.mark.parametrize("soql,expected", DATE_FN_QUERIES)
def test_date_functions_group_and_answer_expr_names(data: Store, soql: str, expected: list[dict]) -> None:
    with data.transaction() as tx:  # O6: 2026-11-27 20:00 UTC is 2026-11-28 05:00 in Tokyo
        tx.insert("EC_Order__c", [{"Order_Number__c": "O6", "Order_Date__c": "2026-11-27T20:00:00Z", "Total_Amount__c": 0}])
        rows = tx.query(soql).records
    assert [{k: v for k, v in r.items() if k != "attributes"} for r in rows] == expected
    assert all(r["attributes"] == {"type": "AggregateResult"} for r in rows)


@pytest.mark.parametrize("where,expected", [
    ("CALENDAR_YEAR(Order_Date__c) = 2026 AND CALENDAR_MONTH(Order_Date__c) = 10", ["O4b"]),
    ("DAY_IN_WEEK(Order_Date__c) = 7", ["O1"]),                     # 2026-11-28 is a Saturday (1 = Sunday)
    ("DAY_IN_MONTH(Order_Date__c) IN (20, 27)", ["O2", "O3"]),
    ("DAY_ONLY(Order_Date__c) = 2026-11-20", ["O3"]),
    ("WEEK_IN_MONTH(Order_Date__c) = 4", ["O1", "O2"]),              # the 22nd to the 28th
    ("WEEK_IN_YEAR(Order_Date__c) > 46", ["O1", "O2", "O3"]),        # Nov 20 is day 324: week 47
    ("DAY_IN_YEAR(Order_Date__c) < 300", ["O4b"]),
    ("FISCAL_QUARTER(Order_Date__c) = 4 AND FISCAL_MONTH(Order_Date__c) = 11", ["O1", "O2", "O3"]),
    ("NOT CALENDAR_MONTH(Order_Date__c) = 11", ["O4b", "O5"]),
])
def test_date_functions_filter_without_group_by(data: Store, where: str, expected: list[str]) -> None:
    with data.transaction() as tx:
        rows = tx.query(f"SELECT Order_Number__c FROM EC_Order__c WHERE {where} ORDER BY Order_Number__c").records
    assert numbers(rows) == expected


def test_date_functions_read_typed_values_and_the_orgs_fiscal_year(data: Store) -> None:
    from datetime import date
    with data.transaction() as tx:
        org = tx.schema.get("Organization")
        tx.execute(f'UPDATE {org.table} SET "fiscalyearstartmonth" = 4')  # the fiscal year starts in April
        row = tx.query("SELECT FISCAL_YEAR(Order_Date__c) fy, FISCAL_QUARTER(Order_Date__c) fq, "
                       "FISCAL_MONTH(Order_Date__c) fm, DAY_ONLY(Order_Date__c) d FROM EC_Order__c "
                       "WHERE Order_Number__c = 'O1' GROUP BY FISCAL_YEAR(Order_Date__c), FISCAL_QUARTER(Order_Date__c), "
                       "FISCAL_MONTH(Order_Date__c), DAY_ONLY(Order_Date__c)", typed=True).records[0]
    # November 2026 is month 8 of the fiscal year April 2026 - March 2027, named by the year it ends in
    assert (row["fy"], row["fq"], row["fm"], row["d"]) == (2027, 3, 8, date(2026, 11, 28))


def test_group_by_rollup_and_cube_add_subtotals_marked_by_grouping(data: Store) -> None:
    with data.transaction() as tx:
        rolled = tx.query("SELECT Status__c, GROUPING(Status__c) g, COUNT(Id) n FROM EC_Order__c "
                          "GROUP BY ROLLUP(Status__c) ORDER BY GROUPING(Status__c), Status__c NULLS FIRST").records
        assert [(r["Status__c"], r["g"], r["n"]) for r in rolled] == [
            (None, 0, 1), ("Cancelled", 0, 1), ("Paid", 0, 2), ("Shipped", 0, 1), (None, 1, 5)]
        cube = tx.query("SELECT Status__c, EC_Member_Id__c, GROUPING(Status__c) gs, GROUPING(EC_Member_Id__c) gm, "
                        "COUNT(Id) n FROM EC_Order__c WHERE Status__c = 'Paid' "
                        "GROUP BY CUBE(Status__c, EC_Member_Id__c)").records
        shape = sorted((r["gs"], r["gm"], r["Status__c"], r["EC_Member_Id__c"], r["n"]) for r in cube)
        assert shape == [(0, 0, "Paid", "M1", 1), (0, 0, "Paid", "M2", 1), (0, 1, "Paid", None, 2),
                         (1, 0, None, "M1", 1), (1, 0, None, "M2", 1), (1, 1, None, None, 2)]
