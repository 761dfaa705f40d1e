"""The render check against the local Marketo: the provisioned sample email, rendered for each person, is checked.

Salesforce's side is written by hand as the REST query API returns it; Marketo's side goes through its
REST API, and the email is provisioned from ecbridge.yml. Then the world is broken in the ways the
check must name: a wrong last-order token, a script that lists oldest first, a lost fallback.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from localcloud.marketo.service import LocalMarketo, start_local_marketo
from python_tasks.e2e.compare import Comparison, MarketoSnapshot, SalesforceSnapshot
from python_tasks.e2e.emails import email_targets, format_amount, format_date, order_rows, render_emails, compare_emails
from python_tasks.e2e.report import Report, write_report
from python_tasks.mapping import Mapping, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy, SharedPacer
from python_tasks.marketo.emails import AssetApi, OrderEmailProvisioner
from python_tasks.seed.schema import load_payload_schema

ROOT = Path(__file__).resolve().parents[2]
# (member key, email, [(order number, order date UTC, total, products...)])
PEOPLE = [
    ("M1", "m1@example.com", [("O-11", "2024-06-30T15:00:00Z", 12800, ["抹茶", "茶筅"]),
                              ("O-12", "2024-06-01T03:00:00Z", 980.5, ["煎茶"])]),
    ("M2", "m2@example.com", [("O-21", "2024-01-01T00:00:00Z", 3000, ["急須 & 湯呑"])]),
    ("M3", "m3@example.com", []),
]


@pytest.fixture()
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MarketoClient]:
    handle: LocalMarketo = start_local_marketo(tmp_path / "marketo")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    SharedPacer.forget_all()
    made = MarketoClient(MarketoCredentials(handle.url, handle.client_id, handle.client_secret),
                         retry=RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.2), timeout=(5.0, 30.0))
    yield made
    made.close()
    handle.stop()
    SharedPacer.forget_all()


@pytest.fixture(scope="module")
def mapping() -> Mapping:
    return load_mapping(ROOT / "ecbridge.yml")


def world(client: MarketoClient, mapping: Mapping) -> dict[str, Any]:
    schema = load_payload_schema(ROOT / "ecbridge.yml")
    members, orders, leads = [], [], []
    for index, (key, email, bought) in enumerate(PEOPLE):
        member_id = f"003000000000{index:03d}AAA"
        members.append({"Id": member_id, "EC_Member_Id__c": key, "Email": email, "LastName": f"姓{index}"})
        for number, date, total, products in bought:
            orders.append({"Id": f"a01{number}", "Member__c": member_id, "Order_Number__c": number,
                           "Order_Date__c": date.replace("Z", ".000+0000"), "Total_Amount__c": total,
                           "Last_Product_Name__c": products[-1]})
        last = max(bought, key=lambda o: o[1]) if bought else None
        leads.append({"email": email, "lastName": f"姓{index}", "ecMemberId": key,
                      **({"lastOrderNumber": last[0], "lastProductName": last[3][-1]} if last else {})})
    lead_ids = {lead["ecMemberId"]: r.id for lead, r in zip(leads, client.sync_leads(leads))}
    client.sync_custom_objects("ecOrder_c", [
        {"orderNumber": number, "orderDate": date, "totalAmount": total, "productNames": ", ".join(products),
         "leadId": lead_ids[key]}
        for key, _, bought in PEOPLE for number, date, total, products in bought])
    done = OrderEmailProvisioner(mapping).apply(client)
    email_id = next(item.asset_id for item in done if item.kind == "email")
    sf = SalesforceSnapshot(members=members, members_by_email=members, orders=orders, lines=[], ingest_errors=[])
    lead_rows = list(client.get_leads_by_filter("email", [p[1] for p in PEOPLE], fields=["id", "email"]))
    records = list(client.get_custom_objects("ecOrder_c", "orderNumber", [o["Order_Number__c"] for o in orders],
                                             fields=["marketoGUID", "orderNumber", "orderDate", "totalAmount", "productNames", "leadId"]))
    mkto = MarketoSnapshot(leads=lead_rows, custom_objects={"ecOrder_c": records}, persons_by_id={}, activities=[])
    return {"schema": schema, "sf": sf, "mkto": mkto, "email_id": email_id, "lead_ids": lead_ids}


def check(client: MarketoClient, mapping: Mapping, w: dict[str, Any], sample: int = 0) -> tuple[Comparison, Any]:
    targets = email_targets(w["sf"], w["mkto"], w["schema"], sample, "run-1")
    rendered = render_emails(AssetApi(client), w["email_id"], targets)
    comparison = Comparison()
    preview = compare_emails(rendered, w["sf"], w["mkto"], w["schema"], mapping.marketo.email, comparison)
    return comparison, preview


def test_every_person_sees_their_orders_and_the_no_orders_person_the_fallback(
        client: MarketoClient, mapping: Mapping, tmp_path: Path) -> None:
    w = world(client, mapping)
    comparison, preview = check(client, mapping, w)
    assert comparison.mismatches == []
    assert comparison.counts == {"emails rendered": 3, "emails of persons without orders": 1,
                                 "emails showing the right orders": 2}
    rows = order_rows(preview["html"])
    assert [r["ecb-order-number"] for r in rows] == ["O-11", "O-12"]  # newest first
    # 2024-06-30 15:00 UTC is midnight in Tokyo; 980.5 rounds half-even to ¥980
    assert rows[0] == {"ecb-order-number": "O-11", "ecb-order-date": "2024/07/01 00:00", "ecb-products": "抹茶, 茶筅",
                       "ecb-total": "¥12,800"}
    assert rows[1]["ecb-total"] == "¥980"
    report = Report(run_id="run-1", comparison=comparison, email_preview=preview)
    _, html_path = write_report(report, tmp_path)
    page = html_path.read_text(encoding="utf-8")
    assert "One rendered email" in page and "srcdoc=" in page and "O-11" in page


def test_a_wrong_last_order_an_oldest_first_script_and_a_lost_fallback_are_each_named(
        client: MarketoClient, mapping: Mapping) -> None:
    w = world(client, mapping)
    client.sync_leads([{"id": w["lead_ids"]["M2"], "lastOrderNumber": "O-99"}], action="updateOnly", lookup_field="id")
    provisioner = OrderEmailProvisioner(mapping)
    script = provisioner.generated.script.replace('"orderDate:desc"', '"orderDate:asc"')
    script = script.replace(mapping.marketo.email.no_orders_text, "")
    program = AssetApi(client).by_name("program", mapping.marketo.email.program)
    AssetApi(client).save_token(int(program["id"]), mapping.marketo.email.script_token, "script block", script)
    comparison, _ = check(client, mapping, w)
    found = {(m.check, m.record) for m in comparison.mismatches}
    assert ("marketo.email.last-order", "M2") in found
    assert ("marketo.email.order-sequence", "M1") in found
    assert ("marketo.email.no-orders", "M3") in found


def test_raw_tokens_and_a_render_failure_are_reported(client: MarketoClient, mapping: Mapping) -> None:
    w = world(client, mapping)
    program = AssetApi(client).by_name("program", mapping.marketo.email.program)
    AssetApi(client).save_token(int(program["id"]), mapping.marketo.email.script_token, "script block",
                                "#foreach($o in $ecOrder_cList)$o.nothing #end{{lead.Nope}}")
    comparison, _ = check(client, mapping, w)
    assert {m.record for m in comparison.mismatches if m.check == "marketo.email.raw-token"} >= {"M1", "M2"}
    AssetApi(client).save_token(int(program["id"]), mapping.marketo.email.script_token, "script block",
                                '$date.format("QQQ", $date.getDate())')
    comparison, _ = check(client, mapping, w)
    assert {m.check for m in comparison.mismatches} == {"marketo.email.render"}


def test_a_sample_keeps_persons_without_orders_in_it(client: MarketoClient, mapping: Mapping) -> None:
    w = world(client, mapping)
    chosen = email_targets(w["sf"], w["mkto"], w["schema"], 2, "run-1")
    assert len(chosen) == 2 and "M3" in {t.member_key for t in chosen}
    assert chosen == email_targets(w["sf"], w["mkto"], w["schema"], 2, "run-1")  # the same run, the same sample


def test_independent_formatting_matches_the_mapping_patterns() -> None:
    import datetime as dt

    assert format_date("yyyy/MM/dd HH:mm", dt.datetime(2024, 7, 1, 0, 5)) == "2024/07/01 00:05"
    assert format_date("yyyy'年'M'月'd'日'", dt.datetime(2024, 7, 1)) == "2024年7月1日"
    assert format_amount("¥#,##0", "1234567.5") == "¥1,234,568" and format_amount("$#,##0.00", 5) == "$5.00"
    with pytest.raises(ValueError, match="EEE"):
        format_date("EEE", dt.datetime(2024, 7, 1))


def test_the_fall_back_hour_is_checked_as_marketo_can_show_it() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from python_tasks.e2e.emails import _as_script_sees_it

    chicago = ZoneInfo("America/Chicago")
    second_one_thirty = dt.datetime(2024, 11, 3, 7, 30, tzinfo=dt.timezone.utc)  # 01:30 CST, after the fall back
    seen = _as_script_sees_it(second_one_thirty, chicago)
    assert seen.astimezone(dt.timezone.utc) == dt.datetime(2024, 11, 3, 6, 30, tzinfo=dt.timezone.utc)  # 01:30 CDT
    ordinary = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert _as_script_sees_it(ordinary, chicago) == ordinary
