"""The generated force-app, converted by the real `sf project convert source` and deployed with its
Apex, selects the member, order and line objects, and an EC POST to the generated endpoint publishes
their change events in one transaction."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import requests

from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb
from localcloud.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from localcloud.salesforce.pubsub import start_pubsub
from tests.localorg_http.test_admin_metadata import converted_force_app
from tests.localorg_pubsub.conftest import Subscription


def test_an_ec_post_publishes_member_order_and_line_events(tmp_path: Path, certificates: Any,
                                                            monkeypatch: Any) -> None:
    from localcloud.salesforce.server import start_local_org

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.bundle))
    with start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent) as org, start_pubsub(org) as pubsub:
        job = org.deployer.deploy_zip(converted_force_app(tmp_path))
        assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
        assert sorted(pubsub.capture.selected()) == sorted(["Contact", "EC_Order__c", "EC_Order_Line__c"])
        assert [c["fullName"] for c in org.repository.components("PlatformEventChannelMember")] == [
            "ChangeEvents_ContactChangeEvent", "ChangeEvents_EC_Order_ChangeEvent",
            "ChangeEvents_EC_Order_Line_ChangeEvent"]
        channel = grpc.secure_channel(pubsub.endpoint, grpc.ssl_channel_credentials(certificates.ca_cert.read_bytes()))
        sub = Subscription(pb_grpc.PubSubStub(channel), pubsub.metadata(), "/data/ChangeEvents", preset=pb.EARLIEST,
                           num_requested=20)
        events = [
            {"id": "cdc-m-1", "type": "member", "occurredAt": "2026-12-01T09:00:00Z",
             "data": {"memberId": "CDC1", "email": "cdc1@example.jp", "lastName": "山田", "firstName": "花子"}},
            {"id": "cdc-o-1", "type": "order", "occurredAt": "2026-12-01T09:01:00Z",
             "data": {"orderNumber": "CDC-O-1", "memberId": "CDC1", "orderDate": "2026-12-01T09:01:00Z",
                      "totalAmount": 1500, "status": "paid",
                      "lines": [{"productName": "抹茶", "quantity": 1, "unitPrice": 1500}]}},
        ]
        answer = requests.post(org.url + "/services/apexrest/ecbridge/v1/events", json={"events": events},
                               headers={"Authorization": f"Bearer {org.access_token}"}, timeout=60)
        assert answer.status_code == 200 and all(r["status"] != "rejected" for r in answer.json()["results"]), answer.text
        received = [sub.decoded(e) for e in sub.events(3, timeout=20)]
        assert sub.nothing_within(1.0), "before triggers fill the stamps: no further UPDATE events"
        sub.close()
        channel.close()
        headers = [r["ChangeEventHeader"] for r in received]
        assert [(h["entityName"], h["changeType"]) for h in headers] == [
            ("Contact", "CREATE"), ("EC_Order__c", "CREATE"), ("EC_Order_Line__c", "CREATE")]
        assert len({h["transactionKey"] for h in headers}) == 1, "one EC call, one transaction"
        assert received[0]["Email"] == "cdc1@example.jp" and received[1]["Name"] == "CDC-O-1"
