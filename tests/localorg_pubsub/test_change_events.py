"""Change Data Capture over the local org's Pub/Sub API, read with our own grpcio client: REST
writes become Avro change events with Salesforce's ChangeEventHeader, after the commit only."""
from __future__ import annotations

import json
import time
from typing import Any

import grpc
import pytest

from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb
from localcloud.salesforce.pubsub.bitmap import decode as decode_bitmap
from localcloud.salesforce.pubsub.eventlog import replay_number

CONTACTS = "/data/ContactChangeEvent"


def fields_of(schema_json: str) -> tuple[list[str], dict[str, list[str]]]:
    schema = json.loads(schema_json)
    top = [f["name"] for f in schema["fields"]]
    compounds: dict[str, list[str]] = {}
    for f in schema["fields"]:
        kinds = f["type"] if isinstance(f["type"], list) else [f["type"]]
        for kind in kinds:
            if isinstance(kind, dict) and kind.get("type") == "record" and f["name"] != "ChangeEventHeader":
                compounds[f["name"]] = [g["name"] for g in kind["fields"]]
    # a named type used again is referenced by name: same fields as its first use
    for f in schema["fields"]:
        kinds = f["type"] if isinstance(f["type"], list) else [f["type"]]
        if any(isinstance(k, str) and k.endswith(".Address") for k in kinds):
            compounds[f["name"]] = next(v for n, v in compounds.items() if n.endswith("Address"))
    return top, compounds


def test_insert_update_delete_arrive_as_change_events_with_the_header(subscribe: Any, rest: Any, org: Any) -> None:
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=10)
    created = rest.post("/sobjects/Contact", {"LastName": "Ito", "FirstName": "Ken", "Email": "ken@example.jp",
                                              "Title": "Buyer"})
    assert created.status_code == 201, created.text
    contact_id = created.json()["id"]
    assert rest.patch(f"/sobjects/Contact/{contact_id}", {"Email": "ken.ito@example.jp", "Title": None,
                                                         "MailingCity": "Osaka"}).status_code == 204
    assert rest.delete(f"/sobjects/Contact/{contact_id}").status_code == 204

    create, update, delete = sub.events(3)
    assert [replay_number(e.replay_id) for e in (create, update, delete)] == sorted(
        replay_number(e.replay_id) for e in (create, update, delete))
    body = sub.decoded(create)
    header = body["ChangeEventHeader"]
    assert header["entityName"] == "Contact" and header["recordIds"] == [contact_id]
    assert header["changeType"] == "CREATE" and header["commitUser"] == org.user_id
    assert header["sequenceNumber"] == 1 and header["changedFields"] == [] and header["diffFields"] == []
    assert header["commitTimestamp"] > 1_700_000_000_000 and header["transactionKey"]
    assert body["Email"] == "ken@example.jp" and body["Name"]["LastName"] == "Ito" and body["Name"]["FirstName"] == "Ken"
    assert "Id" not in body and "SystemModstamp" not in body and "IsDeleted" not in body

    body = sub.decoded(update)
    header = body["ChangeEventHeader"]
    top, compounds = fields_of(sub.schema_json(update))
    assert header["changeType"] == "UPDATE"
    assert set(decode_bitmap(header["changedFields"], top, compounds)) == {
        "Email", "Title", "LastModifiedDate", "MailingAddress.City"}
    assert decode_bitmap(header["nulledFields"], top, compounds) == ["Title"]
    assert body["Email"] == "ken.ito@example.jp" and body["MailingAddress"]["City"] == "Osaka"
    assert body["Name"] is None and body["Phone"] is None  # unchanged fields are null

    body = sub.decoded(delete)
    assert body["ChangeEventHeader"]["changeType"] == "DELETE" and body["ChangeEventHeader"]["recordIds"] == [contact_id]
    assert body["Email"] is None
    assert body["ChangeEventHeader"]["commitNumber"] > sub.decoded(update)["ChangeEventHeader"]["commitNumber"]


def test_bitmaps_are_hex_strings_as_salesforce_encodes_them(subscribe: Any, rest: Any) -> None:
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=10)
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Sato"}).json()["id"]
    rest.patch(f"/sobjects/Contact/{contact_id}", {"FirstName": "Yui", "Email": "yui@example.jp"})
    _, update = sub.events(2)
    changed = sub.decoded(update)["ChangeEventHeader"]["changedFields"]
    top, _ = fields_of(sub.schema_json(update))
    assert changed[0].startswith("0x") and int(changed[0], 16) & (1 << top.index("Email"))
    assert changed[1].startswith(f"{top.index('Name')}-0x")


def test_a_rolled_back_transaction_publishes_nothing(subscribe: Any, rest: Any, org: Any) -> None:
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=10)
    failed = rest.post("/composite", {"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "good",
         "body": {"LastName": "Rolled Back"}},
        {"method": "POST", "url": "/services/data/v62.0/sobjects/Contact", "referenceId": "bad",
         "body": {"Email": "no-last-name@example.jp"}},
    ]})
    assert failed.status_code == 200 and not any(r["httpStatusCode"] == 201 for r in failed.json()["compositeResponse"])
    with pytest.raises(RuntimeError):
        with org.store.transaction() as tx:
            tx.insert("Contact", [{"LastName": "Also Rolled Back"}])
            raise RuntimeError("fail")
    kept = rest.post("/sobjects/Contact", {"LastName": "Kept"}).json()["id"]
    (only,) = sub.events(1)
    assert sub.decoded(only)["ChangeEventHeader"]["recordIds"] == [kept]
    assert sub.nothing_within(0.5)


def test_one_transaction_numbers_its_events_and_shares_its_key(subscribe: Any, rest: Any) -> None:
    sub = subscribe("/data/ChangeEvents", preset=pb.EARLIEST, num_requested=10)
    answer = rest.post("/composite/sobjects", {"allOrNone": True, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "A"}, {"attributes": {"type": "Contact"}, "LastName": "B"},
        {"attributes": {"type": "EC_Order__c"}, "Order_Number__c": "O-1", "Total_Amount__c": 1200}]})
    assert answer.status_code == 200 and all(r["success"] for r in answer.json()), answer.text
    headers = [sub.decoded(e)["ChangeEventHeader"] for e in sub.events(3)]
    assert [h["sequenceNumber"] for h in headers] == [1, 2, 3]
    assert len({h["transactionKey"] for h in headers}) == 1 and len({h["commitNumber"] for h in headers}) == 1
    assert [h["entityName"] for h in headers] == ["Contact", "Contact", "EC_Order__c"]


def test_custom_object_event_has_its_fields(subscribe: Any, rest: Any) -> None:
    sub = subscribe("/data/EC_Order__ChangeEvent", preset=pb.EARLIEST, num_requested=5)
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Buyer"}).json()["id"]
    order_id = rest.post("/sobjects/EC_Order__c", {"Order_Number__c": "O-9", "Member__c": contact_id,
                                                   "Total_Amount__c": 5400,
                                                   "Order_Date__c": "2026-12-01T09:00:00.000+0000"}).json()["id"]
    (event,) = sub.events(1)
    body = sub.decoded(event)
    assert body["ChangeEventHeader"]["entityName"] == "EC_Order__c" and body["ChangeEventHeader"]["recordIds"] == [order_id]
    assert body["Order_Number__c"] == "O-9" and body["Member__c"] == contact_id and body["Total_Amount__c"] == 5400.0
    assert body["Order_Date__c"].isoformat() == "2026-12-01T09:00:00+00:00"
    assert json.loads(sub.schema_json(event))["name"] == "EC_Order__ChangeEvent"


def test_unselected_entities_publish_nothing_and_their_topics_are_refused(subscribe: Any, rest: Any, stub: Any,
                                                                          pubsub: Any) -> None:
    sub = subscribe("/data/ChangeEvents", preset=pb.EARLIEST, num_requested=10)
    assert rest.post("/sobjects/Account", {"Name": "Not selected"}).status_code == 201
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Selected"}).json()["id"]
    (event,) = sub.events(1)
    assert sub.decoded(event)["ChangeEventHeader"]["recordIds"] == [contact_id]
    refused = subscribe("/data/AccountChangeEvent", num_requested=1)
    with pytest.raises(grpc.RpcError) as error:
        refused.events(1)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND and "PlatformEventChannelMember" in error.value.details()
    info = stub.GetTopic(pb.TopicRequest(topic_name=CONTACTS), metadata=pubsub.metadata())
    assert info.can_subscribe and not info.can_publish and info.tenant_guid == pubsub.org.org_id and info.schema_id
    schema = stub.GetSchema(pb.SchemaRequest(schema_id=info.schema_id), metadata=pubsub.metadata())
    assert json.loads(schema.schema_json)["name"] == "ContactChangeEvent"


def test_flow_control_delivers_no_more_than_requested(subscribe: Any, rest: Any) -> None:
    for n in range(5):
        rest.post("/sobjects/Contact", {"LastName": f"Flow {n}"})
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=2)
    first = sub.events(2)
    assert sub.nothing_within(0.7)
    sub.fetch(3)
    rest_of = sub.events(3)
    names = [sub.decoded(e)["Name"]["LastName"] for e in first + rest_of]
    assert names == [f"Flow {n}" for n in range(5)]


def test_latest_starts_at_the_tip_and_a_stored_replay_id_resumes_after_it(subscribe: Any, rest: Any,
                                                                          pubsub: Any) -> None:
    before = rest.post("/sobjects/Contact", {"LastName": "Before"}).json()["id"]
    latest = subscribe(CONTACTS, preset=pb.LATEST, num_requested=10)
    pubsub.wait_for_streams(1)  # the subscription starts at the tip when the server reads its first request
    ids = [rest.post("/sobjects/Contact", {"LastName": f"After {n}"}).json()["id"] for n in range(3)]
    events = latest.events(3)
    assert [latest.decoded(e)["ChangeEventHeader"]["recordIds"][0] for e in events] == ids
    stored = events[0].replay_id
    resumed = subscribe(CONTACTS, preset=pb.CUSTOM, replay_id=stored, num_requested=10)
    again = resumed.events(2)
    assert [resumed.decoded(e)["ChangeEventHeader"]["recordIds"][0] for e in again] == ids[1:]
    earliest = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=10)
    assert earliest.decoded(earliest.events(4)[0])["ChangeEventHeader"]["recordIds"] == [before]


def test_a_replay_id_outside_retention_or_not_of_this_org_is_refused(subscribe: Any, rest: Any, pubsub: Any) -> None:
    rest.post("/sobjects/Contact", {"LastName": "Old"})
    rest.post("/sobjects/Contact", {"LastName": "Newer"})
    old = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=1).events(1)[0].replay_id
    for replay_id in (b"\x01\x02", (10**9).to_bytes(8, "big")):
        bad = subscribe(CONTACTS, preset=pb.CUSTOM, replay_id=replay_id, num_requested=1)
        with pytest.raises(grpc.RpcError) as error:
            bad.events(1)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert ("error-code", "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted") in \
            error.value.trailing_metadata()
    real_clock = pubsub.events.clock
    pubsub.events.clock = lambda: real_clock() + 73 * 3600  # 73 hours later: past the 72-hour retention
    expired = subscribe(CONTACTS, preset=pb.CUSTOM, replay_id=old, num_requested=1)
    with pytest.raises(grpc.RpcError) as error:
        expired.events(1)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "retention" in error.value.details()
    assert subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=5).nothing_within(0.5)


def test_deliveries_are_counted_in_limits(subscribe: Any, rest: Any) -> None:
    before = rest.get("/limits").json()["DailyDeliveredPlatformEvents"]
    rest.post("/sobjects/Contact", {"LastName": "Counted"})
    rest.post("/sobjects/Contact", {"LastName": "Counted too"})
    subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=5).events(2)
    after = rest.get("/limits").json()["DailyDeliveredPlatformEvents"]
    assert after["Max"] == before["Max"] and before["Remaining"] - after["Remaining"] == 2


def test_gap_events_can_be_published_for_subscribers_to_catch_up(subscribe: Any, pubsub: Any, rest: Any) -> None:
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Gap"}).json()["id"]
    pubsub.capture.publish_gap("Contact", "GAP_UPDATE", [contact_id])
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=5)
    header = sub.decoded(sub.events(2)[1])["ChangeEventHeader"]
    assert header["changeType"] == "GAP_UPDATE" and header["recordIds"] == [contact_id]


class TestOverflow:
    @pytest.fixture
    def settings(self) -> Any:
        from localcloud.salesforce.pubsub import PubSubSettings

        return PubSubSettings(overflow_threshold=2)

    def test_changes_beyond_the_threshold_become_one_overflow_event(self, subscribe: Any, rest: Any) -> None:
        sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=10)
        answer = rest.post("/composite/sobjects", {"records": [
            {"attributes": {"type": "Contact"}, "LastName": f"Bulk {n}"} for n in range(4)]})
        assert all(r["success"] for r in answer.json())
        headers = [sub.decoded(e)["ChangeEventHeader"] for e in sub.events(3)]
        assert [h["changeType"] for h in headers] == ["CREATE", "CREATE", "GAP_OVERFLOW"]
        assert headers[2]["recordIds"] == [] and sub.nothing_within(0.5)


def test_events_and_replay_ids_survive_a_restart_and_a_reset_bus_refuses_old_ids(
        org: Any, pubsub: Any, rest: Any, stub: Any, certificates: Any) -> None:
    from localcloud.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
    from localcloud.salesforce.pubsub import start_pubsub
    from tests.localorg_pubsub.conftest import Subscription

    def stub_of(handle: Any) -> Any:
        roots = grpc.ssl_channel_credentials(certificates.ca_cert.read_bytes())
        return pb_grpc.PubSubStub(grpc.secure_channel(handle.endpoint, roots))

    first = rest.post("/sobjects/Contact", {"LastName": "Before restart"}).json()["id"]
    sub = Subscription(stub, pubsub.metadata(), CONTACTS, preset=pb.EARLIEST, num_requested=5)
    stored = sub.events(1)[0].replay_id
    sub.close()
    pubsub.stop()
    with start_pubsub(org) as again:
        second = rest.post("/sobjects/Contact", {"LastName": "After restart"}).json()["id"]
        resumed = Subscription(stub_of(again), again.metadata(), CONTACTS, preset=pb.CUSTOM, replay_id=stored, num_requested=5)
        (event,) = resumed.events(1)
        assert resumed.decoded(event)["ChangeEventHeader"]["recordIds"] == [second] and first != second
        resumed.close()
    with org.store.transaction() as tx:  # `python -m localcloud reset` deletes the org's file, events included
        tx.begin_write()
        for table in ("_pubsub_event", "_pubsub_schema", "_pubsub_counter"):
            tx.execute(f"DROP TABLE {table}")
        tx.execute("DELETE FROM sqlite_sequence WHERE name = '_pubsub_event'")
    with start_pubsub(org) as fresh:
        rest.post("/sobjects/Contact", {"LastName": "After reset"})
        assert replay_number(stored) < fresh.events.latest()
        old = Subscription(stub_of(fresh), fresh.metadata(), CONTACTS, preset=pb.CUSTOM, replay_id=stored, num_requested=5)
        with pytest.raises(grpc.RpcError) as error:
            old.events(1)
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        old.close()


def test_at_most_100_events_are_requested_at_a_time(subscribe: Any, rest: Any) -> None:
    for batch in range(2):  # 400 events waiting
        answer = rest.post("/composite/sobjects", {"records": [
            {"attributes": {"type": "Contact"}, "LastName": f"Many {batch}-{n}"} for n in range(200)]})
        assert all(r["success"] for r in answer.json())
    sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=500)
    assert len(sub.events(100)) == 100 and sub.nothing_within(0.7)
    sub.fetch(150)  # counted as 100
    assert len(sub.events(100)) == 100 and sub.nothing_within(0.7)


class TestIdleStream:
    @pytest.fixture
    def settings(self) -> Any:
        from localcloud.salesforce.pubsub import PubSubSettings

        return PubSubSettings(idle_close_seconds=0.6)

    def test_a_stream_with_nothing_requested_ends_after_the_idle_time(self, subscribe: Any, rest: Any) -> None:
        rest.post("/sobjects/Contact", {"LastName": "Only one"})
        sub = subscribe(CONTACTS, preset=pb.EARLIEST, num_requested=1)
        sub.events(1)
        deadline = time.monotonic() + 5
        while not sub._call.done() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sub._call.done() and sub._call.code() == grpc.StatusCode.OK and sub.error is None
