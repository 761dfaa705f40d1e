"""A shop written straight into the org over REST collections (200 records a call): members, their orders
(some waiting for a member that has not arrived) and lines; and the normalised Marketo export to compare
two pushes. Used by the Marketo-fault and crash tests (the push area's helpers cover a 5-member shop)."""
from __future__ import annotations

import random
from typing import Any



def _create(sf: Any, sobject: str, records: list[dict[str, Any]]) -> list[str]:
    ids: list[str] = []
    for start in range(0, len(records), 200):
        chunk = [{"attributes": {"type": sobject}, **r} for r in records[start:start + 200]]
        answer = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": chunk})
        assert all(r["success"] for r in answer), answer[:3]
        ids.extend(r["id"] for r in answer)
    return ids


def seed_world(sf: Any, members: int, orders: int, seed: int, prefix: str = "W") -> list[str]:
    """Members (email some in mixed case, Japanese names), orders spread over them with 1-3 lines, 3% waiting
    for a member that never arrives. Returns the normalised emails."""
    rng = random.Random(seed)
    rows = [{"EC_Member_Id__c": f"{prefix}{m:05d}", "Email": f"{prefix.lower()}{m}@example.jp",
             "LastName": rng.choice(["佐藤", "鈴木", "高橋", "田中"]), "FirstName": f"花子{m}"} for m in range(members)]
    ids = _create(sf, "Contact", rows)
    order_rows, line_specs = [], []
    for o in range(orders):
        waiting = rng.random() < 0.03
        m = rng.randrange(members)
        number = f"{prefix}-{o:06d}"
        products = [f"商品{o}-{n}" for n in range(1 + rng.randrange(3))]
        order_rows.append({"Name": number, "Order_Number__c": number,
                           "EC_Member_Id__c": f"{prefix}X{m:05d}" if waiting else f"{prefix}{m:05d}",
                           "Member__c": None if waiting else ids[m],
                           "Order_Date__c": f"2024-{1 + o % 12:02d}-{1 + o % 28:02d}T{o % 24:02d}:00:00.000+0000",
                           "Total_Amount__c": 100 * (1 + rng.randrange(200)), "Status__c": "paid",
                           "Last_Product_Name__c": products[-1]})
        line_specs.append(products)
    order_ids = _create(sf, "EC_Order__c", order_rows)
    lines = [{"Name": f"{row['Order_Number__c']}-{n}", "Order__c": order_id, "Line_Key__c": f"{row['Order_Number__c']}-{n}",
              "Product_Name__c": name, "Quantity__c": 1, "Unit_Price__c": 100}
             for row, order_id, products in zip(order_rows, order_ids, line_specs) for n, name in enumerate(products, 1)]
    _create(sf, "EC_Order_Line__c", lines)
    return [r["Email"] for r in rows]


LEAD_FIELDS = ["id", "email", "firstName", "lastName", "phone", "ecMemberId", "lastOrderNumber", "lastOrderDate",
               "lastProductName", "lastOrderTotal"]
ORDER_FIELDS = ["orderNumber", "leadId", "orderDate", "totalAmount", "productNames", "status", "lineCount"]


def leads_by_emails(client: Any, emails: list[str], fields: list[str]) -> list[dict[str, Any]]:
    """Every person holding one of ``emails`` (a doubled person appears twice), 100 emails a call."""
    return [lead for start in range(0, len(emails), 100)
            for lead in client.get_leads_by_filter("email", emails[start:start + 100], fields)]


def marketo_export(client: Any, emails: list[str]) -> dict[str, Any]:
    """Every person for ``emails`` and every ecOrder_c record linked to them, ids replaced by emails, as sorted
    lists (so a doubled person or order shows as two entries)."""
    leads = leads_by_emails(client, emails, LEAD_FIELDS)
    email_of = {lead["id"]: lead["email"] for lead in leads}
    orders: list[dict[str, Any]] = []
    ids = list(email_of)
    for start in range(0, len(ids), 100):
        for record in client.get_custom_objects("ecOrder_c", "leadId", ids[start:start + 100], ORDER_FIELDS):
            row = {k: record.get(k) for k in ORDER_FIELDS if k != "leadId"}
            row["person"] = email_of.get(record.get("leadId"))
            orders.append(row)
    persons = [{k: lead.get(k) for k in LEAD_FIELDS if k != "id"} for lead in leads]
    return {"persons": sorted(persons, key=lambda p: (p["email"], repr(p))),
            "orders": sorted(orders, key=lambda o: (o["orderNumber"], repr(o)))}


def marketo_emails_present(marketo: dict[str, str], bundle: str, emails: list[str]) -> set[str]:
    """Which of ``emails`` a Marketo instance (``base_url``, ``client_id``, ``client_secret``) holds a person
    for, read over plain REST (no client of ours in between), 100 emails a call."""
    import requests

    token = requests.get(marketo["base_url"] + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": marketo["client_id"],
        "client_secret": marketo["client_secret"]}, verify=bundle, timeout=30).json()["access_token"]
    present: set[str] = set()
    for start in range(0, len(emails), 100):
        answer = requests.get(marketo["base_url"] + "/rest/v1/leads.json", params={
            "filterType": "email", "filterValues": ",".join(emails[start:start + 100]), "fields": "email"},
            headers={"Authorization": f"Bearer {token}"}, verify=bundle, timeout=60).json()
        if not answer.get("success", False):
            raise AssertionError(f"Marketo refused the lead read: {answer.get('errors')}")
        present |= {r["email"] for r in answer.get("result", [])}
    return present
