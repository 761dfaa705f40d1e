"""push_marketo against the local org and the local Marketo."""
from __future__ import annotations

from pathlib import Path

from tests.push.conftest import start_services, stop_services
from tests.push.helpers import add_member, add_order, leads_by_email, orders_of, push

ROOT = Path(__file__).resolve().parents[2]


def test_first_push_creates_persons_then_orders_then_order_fields(services) -> None:
    sf = services.sf
    taro = add_member(sf, "M1", "Taro@Example.jp", phone="090-1111-2222")
    add_order(sf, "O-1", "M1", taro, "2024-05-01T01:00:00.000+0000", 12800, ["緑茶", "湯呑み"])
    add_order(sf, "O-2", "M1", taro, "2024-06-01T01:00:00.000+0000", 3300, ["急須"])
    summary = push(services)
    assert (summary.persons_created, summary.orders_pushed) == (1, 2)
    assert summary.persons_skipped == [] and summary.orders_skipped == []
    [lead] = leads_by_email(services.client, "taro@example.jp")
    assert lead["firstName"] == "太郎" and lead["ecMemberId"] == "M1"
    assert lead["lastOrderNumber"] == "O-2" and lead["lastProductName"] == "急須"
    assert float(lead["lastOrderTotal"]) == 3300
    orders = {o["orderNumber"]: o for o in orders_of(services.client, [lead["id"]])}
    assert set(orders) == {"O-1", "O-2"}
    assert orders["O-1"]["productNames"] == "緑茶, 湯呑み" and orders["O-1"]["lineCount"] == 2
    contact = sf.Contact.get(taro)
    assert contact["Marketo_Id__c"] == str(lead["id"]) and contact["Marketo_Pushed_At__c"]
    assert contact["Marketo_Push_Error__c"] is None
    order = sf.query("SELECT Marketo_Id__c, Marketo_Pushed_At__c FROM EC_Order__c WHERE Order_Number__c = 'O-1'")
    assert order["records"][0]["Marketo_Id__c"] == orders["O-1"]["marketoGUID"]


def test_incremental_push_sends_only_what_changed_and_a_repush_changes_nothing(services) -> None:
    sf = services.sf
    ids = [add_member(sf, f"M{i}", f"p{i}@example.jp") for i in range(3)]
    push(services)
    quiet = push(services)
    assert (quiet.persons_created, quiet.persons_updated, quiet.orders_pushed) == (0, 0, 0), "nothing changed"
    sf.Contact.update(ids[1], {"FirstName": "花子"})
    add_order(sf, "O-9", "M2", ids[2], "2024-07-01T00:00:00.000+0000", 500, ["箸"])
    summary = push(services)
    assert summary.persons_updated == 1 and summary.persons_unchanged == 1 and summary.orders_pushed == 1
    assert leads_by_email(services.client, "p1@example.jp")[0]["firstName"] == "花子"
    assert leads_by_email(services.client, "p2@example.jp")[0]["lastOrderNumber"] == "O-9"
    full = push(services, full=True)
    assert full.persons_created == 0 and full.persons_updated == 3 and full.orders_pushed == 1
    for i in range(3):
        assert len(leads_by_email(services.client, f"p{i}@example.jp")) == 1


def short_last_name_marketo(tmp_path):
    """A local Marketo whose lastName holds 10 characters (a real instance may be set up so)."""
    import yaml

    schema = (ROOT / "localcloud" / "marketo" / "default_schema.yml").read_text(encoding="utf-8")
    schema = schema.replace("{name: lastName, displayName: Last Name, dataType: string, length: 255}",
                            "{name: lastName, displayName: Last Name, dataType: string, length: 10}")
    (tmp_path / "schema.yml").write_text(schema, encoding="utf-8")
    config = tmp_path / "marketo.yml"
    config.write_text(yaml.safe_dump({"schema_file": "schema.yml"}), encoding="utf-8")
    return config


def test_a_value_marketo_would_reject_is_caught_before_the_call_and_kept_for_the_next_run(tmp_path, trust_local):
    handle = start_services(tmp_path / "env", trust_local, short_last_name_marketo(tmp_path))
    try:
        sf = handle.sf
        good = add_member(sf, "G1", "good@example.jp", last="山田")
        bad = add_member(sf, "B1", "bad@example.jp", last="寿限無寿限無五劫の擦り切れ")
        bad_order = add_order(sf, "B-1", "B1", bad, "2024-05-01T00:00:00.000+0000", 100, ["茶"])
        calls = handle.client.counters().calls
        first = push(handle)
        assert first.persons_created == 1 and first.orders_pushed == 0
        [(who, why)] = first.persons_skipped
        assert who == "email:bad@example.jp" and "lastName" in why and "holds 10" in why
        assert [number for number, _ in first.orders_skipped] == ["B-1"]
        assert leads_by_email(handle.client, "bad@example.jp") == []
        assert "lastName" in sf.Contact.get(bad)["Marketo_Push_Error__c"]
        assert "member not in Marketo" in sf.EC_Order__c.get(bad_order)["Marketo_Push_Error__c"]
        assert sf.Contact.get(good)["Marketo_Push_Error__c"] is None
        assert handle.client.counters().calls - calls < 12
        again = push(handle)
        assert [who for who, _ in again.persons_skipped] == ["email:bad@example.jp"], "reported on every run"
        sf.Contact.update(bad, {"LastName": "寿限無"})
        fixed = push(handle)
        assert fixed.persons_created == 1 and fixed.orders_pushed == 1 and fixed.persons_skipped == []
        assert sf.Contact.get(bad)["Marketo_Push_Error__c"] is None
        assert sf.EC_Order__c.get(bad_order)["Marketo_Push_Error__c"] is None
    finally:
        stop_services(handle)


def test_a_record_marketo_itself_skips_is_reported_with_its_reason_and_retried(tmp_path, trust_local):
    """Marketo's field changed after the describe was read: Marketo skips the record, not the batch."""
    handle = start_services(tmp_path / "env", trust_local, short_last_name_marketo(tmp_path))
    try:
        sf = handle.sf
        add_member(sf, "G1", "good@example.jp")
        bad = add_member(sf, "B1", "bad@example.jp", last="寿限無寿限無五劫の擦り切れ")
        from python_tasks.push.runner import PushOptions, PushRun
        from python_tasks.push.salesforce_io import SalesforceIO
        from python_tasks.push.schema import MarketoSchema

        stale = MarketoSchema.from_mapping(handle.mapping)  # believes lastName holds 255
        summary = PushRun(handle.mapping, SalesforceIO(sf), handle.client, stale,
                          PushOptions(cache=handle.cache)).run()
        assert summary.persons_created == 1
        [(who, why)] = summary.persons_skipped
        assert who == "email:bad@example.jp" and why.startswith("1003")
        assert sf.Contact.get(bad)["Marketo_Push_Error__c"].startswith("1003")
        assert len(leads_by_email(handle.client, "good@example.jp")) == 1
        assert push(handle).persons_skipped[0][0] == "email:bad@example.jp"
    finally:
        stop_services(handle)


def test_a_member_who_arrives_after_his_orders(services) -> None:
    sf = services.sf
    order_id = add_order(sf, "L-1", "LATE", None, "2024-05-01T00:00:00.000+0000", 4000, ["新茶"])
    first = push(services)
    assert first.orders_pushed == 0 and [w.order_number for w in first.waiting] == ["L-1"]
    assert first.waiting[0].member_key == "LATE" and first.waiting[0].age.total_seconds() >= 0
    assert push(services, waiting_older_than=__import__("datetime").timedelta(hours=1)).waiting == []
    member = add_member(sf, "LATE", "late@example.jp")
    sf.EC_Order__c.update(order_id, {"Member__c": member})  # what the generated trigger does on arrival
    second = push(services)
    assert second.persons_created == 1 and second.orders_pushed == 1 and second.waiting == []
    [lead] = leads_by_email(services.client, "late@example.jp")
    assert lead["lastOrderNumber"] == "L-1"
    assert [o["orderNumber"] for o in orders_of(services.client, [lead["id"]])] == ["L-1"]
