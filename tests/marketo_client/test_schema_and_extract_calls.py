"""The client's schema and bulk extract calls: usage checked before any call, answers and errors typed."""
from __future__ import annotations

import datetime as dt
from typing import Iterator

import pytest

from localcloud.marketo.service import LocalMarketo, start_local_marketo, wait_for
from python_tasks.marketo import MarketoClient, MarketoCredentials, MarketoError, MarketoNotFoundError, MarketoUsageError

UTC = dt.timezone.utc


@pytest.fixture()
def fresh(tmp_path, monkeypatch) -> Iterator[LocalMarketo]:
    handle = start_local_marketo(tmp_path / "m", fresh=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    yield handle
    handle.stop()


@pytest.fixture()
def client(fresh: LocalMarketo) -> Iterator[MarketoClient]:
    made = MarketoClient(MarketoCredentials(fresh.url, fresh.client_id, fresh.client_secret))
    yield made
    made.close()


def test_usage_errors_cost_no_call(client: MarketoClient) -> None:
    now = dt.datetime.now(UTC)
    with pytest.raises(MarketoUsageError, match="at most 31 days"):
        client.create_lead_export(["id"], now - dt.timedelta(days=32), now)
    with pytest.raises(MarketoUsageError):
        client.create_lead_export([], now - dt.timedelta(days=1), now)
    with pytest.raises(MarketoUsageError):
        client.sync_custom_object_type("bad name")
    with pytest.raises(MarketoUsageError):
        client.create_lead_fields([{"name": f"f{i}"} for i in range(101)])
    assert client.counters().calls == 0


def test_schema_and_extract_round_trip(fresh: LocalMarketo, client: MarketoClient) -> None:
    [made] = client.create_lead_fields([{"name": "ecMemberId", "displayName": "EC Member Id", "dataType": "string"}])
    assert made == {"name": "ecMemberId", "status": "created"}
    assert any(f["name"] == "ecMemberId" and f["isCustom"] for f in client.get_lead_fields())
    client.sync_custom_object_type("ecOrder_c", action="createOnly", display_name="EC Order")
    client.add_custom_object_type_fields("ecOrder_c", [
        {"name": "orderNumber", "displayName": "Order Number", "dataType": "string", "isDedupeField": True}])
    with pytest.raises(MarketoError) as refused:
        client.add_custom_object_type_fields("ecOrder_c", [{"name": "x", "displayName": "X", "dataType": "blob"}])
    assert refused.value.code == "1003"
    client.approve_custom_object_type("ecOrder_c")
    with pytest.raises(MarketoError) as twice:
        client.approve_custom_object_type("ecOrder_c")
    assert twice.value.code == "709"
    assert [t["state"] for t in client.list_custom_object_types()] == ["approved"]
    with pytest.raises(MarketoNotFoundError):
        client.describe_custom_object_type("nope_c")
    client.sync_leads([{"email": "x@example.jp", "ecMemberId": "M1"}])
    now = dt.datetime.now(UTC)
    job = client.create_lead_export(["id", "email", "ecMemberId"], now - dt.timedelta(days=1), now + dt.timedelta(days=1))
    with pytest.raises(MarketoNotFoundError):
        client.lead_export_file(job["exportId"])
    assert client.enqueue_lead_export(job["exportId"])["status"] == "Queued"
    assert wait_for(lambda: client.lead_export_status(job["exportId"])["status"] == "Completed", 5)
    assert client.lead_export_file(job["exportId"]) == "id,email,ecMemberId\n1,x@example.jp,M1\n"
