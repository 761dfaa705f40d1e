"""Records built from Salesforce rows by the mapping (pure)."""
from __future__ import annotations

from pathlib import Path

from python_tasks.mapping import load_mapping
from python_tasks.push.build import build_persons, custom_object_values, last_order, sorted_lines
from python_tasks.push.schema import MarketoSchema

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load_mapping(ROOT / "ecbridge.yml")
SCHEMA = MarketoSchema.from_mapping(MAPPING)


def member(id, key, email, stamp, first="太郎", marketo_id=None):
    return {"Id": id, "EC_Member_Id__c": key, "Email": email, "FirstName": first, "LastName": "山田",
            "Phone": None, "SystemModstamp": stamp, "Marketo_Id__c": marketo_id}


def test_members_sharing_an_email_are_one_person_with_the_freshest_values() -> None:
    persons, unusable = build_persons([
        member("003A", "M1", "Taro@example.jp", "2024-01-01T00:00:00.000+0000", "古い", "11"),
        member("003B", "M2", "taro@example.jp ", "2024-02-01T00:00:00.000+0000", "新しい"),
        member("003C", "M3", None, "2024-02-01T00:00:00.000+0000"),
    ], MAPPING, SCHEMA)
    [person] = persons
    assert person.key == "email:taro@example.jp" and person.member_ids == ["003B", "003A"]
    assert person.values["firstName"] == "新しい" and person.known_marketo_ids == [11]
    [(row, problem)] = unusable
    assert row["Id"] == "003C" and problem.field == "email" and "lookup field" in problem.reason


def test_order_values_join_lines_in_position_order_and_count_them() -> None:
    lines = sorted_lines([{"Line_Key__c": f"O-1-{n}", "Product_Name__c": f"品{n}"} for n in (10, 2, 1)], "Line_Key__c")
    assert [line["Line_Key__c"] for line in lines] == ["O-1-1", "O-1-2", "O-1-10"]
    order = {"Order_Number__c": "O-1", "Order_Date__c": "2024-05-01T09:00:00.000+0000", "Total_Amount__c": 12800.0,
             "Status__c": "paid"}
    values, problems = custom_object_values(MAPPING.marketo.custom_objects[0], order, lines, SCHEMA)
    assert problems == []
    assert values == {"orderNumber": "O-1", "orderDate": "2024-05-01T09:00:00Z", "totalAmount": 12800,
                      "productNames": "品1, 品2, 品10", "status": "paid", "lineCount": 3}


def test_last_order_is_the_latest_by_date() -> None:
    orders = [{"Order_Number__c": "B", "Order_Date__c": "2024-05-02T00:00:00.000+0000"},
              {"Order_Number__c": "A", "Order_Date__c": "2024-06-01T00:00:00.000+0000"},
              {"Order_Number__c": "C", "Order_Date__c": None}]
    assert last_order(orders, "Order_Date__c", "Order_Number__c")["Order_Number__c"] == "A"
    assert last_order([], "Order_Date__c", "Order_Number__c") is None
