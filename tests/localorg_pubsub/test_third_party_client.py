"""pysfpubsub and aiosfpubsub, unmodified, subscribe to the local org's change events and decode them with avro."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from localcloud.salesforce.pubsub.bitmap import decode as decode_bitmap
from tests.localorg_pubsub.test_change_events import fields_of

SCRIPT = Path(__file__).with_name("third_party_subscriber.py")


def test_pysfpubsub_receives_the_change_events(pubsub: Any, rest: Any, certificates: Any, org: Any) -> None:
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Tanaka", "Email": "t@example.jp"}).json()["id"]
    rest.patch(f"/sobjects/Contact/{contact_id}", {"Email": "tanaka@example.jp"})
    rest.delete(f"/sobjects/Contact/{contact_id}")
    host, port = pubsub.endpoint.rsplit(":", 1)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), host, port, str(certificates.bundle), "/data/ContactChangeEvent", "3",
         org.access_token, org.url, org.org_id],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0] == {"topic": "/data/ContactChangeEvent", "can_subscribe": True}
    events = lines[1:]
    assert [e["header"]["changeType"] for e in events] == ["CREATE", "UPDATE", "DELETE"]
    assert all(e["header"]["recordIds"] == [contact_id] for e in events)
    assert [e["email"] for e in events] == ["t@example.jp", "tanaka@example.jp", None]
    schema_json = pubsub.events.schema(events[1]["schema_id"])
    top, compounds = fields_of(schema_json)
    assert set(decode_bitmap(events[1]["header"]["changedFields"], top, compounds)) == {"Email", "LastModifiedDate"}


def test_aiosfpubsub_receives_the_change_events(pubsub: Any, rest: Any, certificates: Any, org: Any) -> None:
    contact_id = rest.post("/sobjects/Contact", {"LastName": "Async", "Email": "async@example.jp"}).json()["id"]
    rest.patch(f"/sobjects/Contact/{contact_id}", {"Email": None})
    host, port = pubsub.endpoint.rsplit(":", 1)
    done = subprocess.run(
        [sys.executable, str(SCRIPT.with_name("third_party_async_subscriber.py")), host, port, str(certificates.bundle),
         "/data/ContactChangeEvent", "2", org.access_token, org.url, org.org_id],
        capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["header"]["changeType"] for e in events] == ["CREATE", "UPDATE"]
    assert [e["email"] for e in events] == ["async@example.jp", None]
    top, compounds = fields_of(pubsub.events.schema(events[1]["schema_id"]))
    assert decode_bitmap(events[1]["header"]["nulledFields"], top, compounds) == ["Email"]
