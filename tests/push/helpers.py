"""Members, orders and lines written to the local org over REST; a push run with its parts."""
from __future__ import annotations

from typing import Any

from python_tasks.push.runner import PushOptions, PushRun, PushSummary
from python_tasks.push.salesforce_io import SalesforceIO
from python_tasks.push.schema import merge_describes


def add_member(sf: Any, key: str, email: str, last: str = "山田", first: str = "太郎", phone: str | None = None) -> str:
    record = {"EC_Member_Id__c": key, "Email": email, "LastName": last, "FirstName": first}
    if phone:
        record["Phone"] = phone
    return sf.Contact.create(record)["id"]


def add_order(sf: Any, number: str, member_key: str, member_id: str | None, date: str, total: float,
              products: list[str], status: str = "paid") -> str:
    record = {"Name": number, "Order_Number__c": number, "EC_Member_Id__c": member_key, "Order_Date__c": date,
              "Total_Amount__c": total, "Status__c": status, "Last_Product_Name__c": products[-1] if products else None}
    if member_id:
        record["Member__c"] = member_id
    order_id = sf.EC_Order__c.create(record)["id"]
    for position, name in enumerate(products, 1):
        sf.EC_Order_Line__c.create({"Name": f"{number}-{position}", "Order__c": order_id,
                                    "Line_Key__c": f"{number}-{position}", "Product_Name__c": name,
                                    "Quantity__c": 1, "Unit_Price__c": 1000})
    return order_id


def push(services: Any, client: Any = None, **options: Any) -> PushSummary:
    client = client or services.client
    mapping = services.mapping
    schema = merge_describes(mapping, client.describe2(),
                             [(co.api_name, client.describe_custom_object(co.api_name))
                              for co in mapping.marketo.custom_objects])
    waiting_older_than = options.pop("waiting_older_than", None)
    run = PushRun(mapping, SalesforceIO(services.sf), client, schema, PushOptions(**options))
    return run.run(waiting_older_than)


def leads_by_email(client: Any, email: str) -> list[dict[str, Any]]:
    return list(client.get_leads_by_filter("email", [email], ["id", "email", "firstName", "lastName", "ecMemberId",
                                                              "lastOrderNumber", "lastOrderDate", "lastProductName",
                                                              "lastOrderTotal"]))


def orders_of(client: Any, lead_ids: list[int]) -> list[dict[str, Any]]:
    return list(client.get_custom_objects("ecOrder_c", "leadId", lead_ids,
                                          ["orderNumber", "leadId", "orderDate", "totalAmount", "productNames",
                                           "status", "lineCount", "marketoGUID"]))
