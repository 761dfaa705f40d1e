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
    options.setdefault("cache", services.cache)
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


LEAD_FIELDS = ["id", "email", "firstName", "lastName", "phone", "ecMemberId", "lastOrderNumber", "lastOrderDate",
               "lastProductName", "lastOrderTotal"]
ORDER_FIELDS = ["orderNumber", "leadId", "orderDate", "totalAmount", "productNames", "status", "lineCount"]


def marketo_state(client: Any, emails: list[str]) -> dict[str, Any]:
    """Marketo's persons and orders for ``emails``, with ids replaced by emails (comparable across instances)."""
    leads = list(client.get_leads_by_filter("email", emails, LEAD_FIELDS))
    email_of = {lead["id"]: lead["email"] for lead in leads}
    persons: dict[str, list[dict[str, Any]]] = {}
    for lead in leads:
        persons.setdefault(lead["email"], []).append({k: lead.get(k) for k in LEAD_FIELDS if k != "id"})
    orders: dict[str, list[dict[str, Any]]] = {}
    if email_of:
        for record in client.get_custom_objects("ecOrder_c", "leadId", list(email_of), ORDER_FIELDS):
            row = {k: record.get(k) for k in ORDER_FIELDS if k != "leadId"}
            row["person"] = email_of.get(record.get("leadId"))
            orders.setdefault(record["orderNumber"], []).append(row)
    return {"persons": persons, "orders": orders}


def seed_shop(sf: Any) -> list[str]:
    """Five members (Japanese names, one with a mixed-case email), nine orders, one order waiting."""
    members = [("K1", "kana@example.jp", "佐藤", "花子"), ("K2", " Ken@Example.JP", "鈴木", "健"),
               ("K3", "yui@example.jp", "高橋", "結衣"), ("K4", "sho@example.jp", "田中", "翔"),
               ("K5", "mio@example.jp", "伊藤", "美桜")]
    ids = {key: add_member(sf, key, email, last, first) for key, email, last, first in members}
    orders = [("A-1", "K1", "2024-05-01T00:00:00.000+0000", 1200, ["抹茶"]),
              ("A-2", "K1", "2024-05-03T00:00:00.000+0000", 5400, ["急須", "茶筅"]),
              ("A-3", "K2", "2024-05-02T00:00:00.000+0000", 800, ["煎茶"]),
              ("A-4", "K3", "2024-04-01T00:00:00.000+0000", 15000, ["湯呑み", "茶托", "盆"]),
              ("A-5", "K3", "2024-06-01T00:00:00.000+0000", 300, ["飴"]),
              ("A-6", "K3", "2024-05-15T00:00:00.000+0000", 2500, ["羊羹"]),
              ("A-7", "K4", "2024-05-20T00:00:00.000+0000", 980, ["ほうじ茶"]),
              ("A-8", "K5", "2024-05-21T00:00:00.000+0000", 4100, ["玉露"]),
              ("A-9", "K5", "2024-05-22T00:00:00.000+0000", 700, ["番茶"])]
    for number, key, date, total, products in orders:
        add_order(sf, number, key, ids[key], date, total, products)
    add_order(sf, "W-1", "K9", None, "2024-05-30T00:00:00.000+0000", 100, ["麦茶"])
    return ["kana@example.jp", "ken@example.jp", "yui@example.jp", "sho@example.jp", "mio@example.jp"]


class Killed(BaseException):
    """The process died (like SIGKILL or Ctrl-C): nothing after it runs."""


class KillAfter:
    """Proxy a client (or SalesforceIO): the ``at``-th write call reaches the service, then the run dies."""

    WRITES = ("sync_leads", "sync_custom_objects", "update")

    def __init__(self, inner: Any, at: int) -> None:
        self._inner = inner
        self._at = at
        self.writes = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in self.WRITES:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            self.writes += 1
            if self.writes == self._at:
                raise Killed(f"killed after write {self.writes} ({name})")
            return result
        return call
