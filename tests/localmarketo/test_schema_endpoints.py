"""The schema endpoints: lead fields and custom object types (draft, approved, limits), on a fresh instance."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from marketorestpython.client import MarketoClient as MrpClient

from localcloud.marketo.service import LocalMarketo, start_local_marketo
from tests.localmarketo.conftest import Api

LINK = {"name": "leadId", "displayName": "Lead Id", "dataType": "link", "relatedTo": {"name": "lead", "field": "id"}}
DEDUPE = {"name": "orderNumber", "displayName": "Order Number", "dataType": "string", "isDedupeField": True}


@pytest.fixture()
def fresh(tmp_path: Path, certs_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalMarketo]:
    handle = start_local_marketo(tmp_path / "fresh", certs_dir=certs_dir, fresh=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    yield handle
    handle.stop()


@pytest.fixture()
def fapi(fresh: LocalMarketo) -> Api:
    return Api(fresh)


def codes(answer: dict) -> list[str]:
    return [e["code"] for e in answer.get("errors") or []]


def test_a_fresh_instance_has_the_standard_fields_only_and_a_prepared_one_has_ecbridges(fapi: Api, api: Api) -> None:
    fresh_names = {f["name"] for f in fapi.get("/rest/v1/leads/describe2.json")["result"][0]["fields"]}
    assert {"email", "lastName", "sfdcContactId"} <= fresh_names and "ecMemberId" not in fresh_names
    assert fapi.get("/rest/v1/customobjects.json")["result"] == []
    prepared = {f["name"] for f in api.get("/rest/v1/leads/describe2.json")["result"][0]["fields"]}
    assert {"ecMemberId", "ecbSupersededBy"} <= prepared
    [order] = api.get("/rest/v1/customobjects/schema.json")["result"]
    assert order["apiName"] == "ecOrder_c" and order["state"] == "approved"


def test_lead_fields_are_created_with_marketos_rules_and_survive_a_restart(fresh: LocalMarketo, fapi: Api,
                                                                           certs_dir: Path) -> None:
    answer = fapi.post("/rest/v1/leads/schema/fields.json", json={"input": [
        {"name": "ecMemberId", "displayName": "EC Member Id", "dataType": "string"},
        {"name": "1st", "displayName": "First", "dataType": "string"},
        {"name": "email", "displayName": "Email Two", "dataType": "string"},
        {"name": "other", "displayName": "EC Member Id", "dataType": "string"},
        {"name": "odd", "displayName": "Odd", "dataType": "picture"},
        {"name": "bad", "displayName": "Bad <b>", "dataType": "string"},
        {"name": "score2", "displayName": "Score Two", "dataType": "integer"},
    ]})
    assert answer["success"] is True
    statuses = [(r["name"], r["status"], [x["code"] for x in r.get("reasons", [])]) for r in answer["result"]]
    assert statuses == [("ecMemberId", "created", []), ("1st", "skipped", ["1003"]), ("email", "skipped", ["1017"]),
                        ("other", "skipped", ["1017"]), ("odd", "skipped", ["1003"]), ("bad", "skipped", ["1003"]),
                        ("score2", "created", [])]
    [field] = fapi.get("/rest/v1/leads/schema/fields/ecMemberId.json")["result"]
    assert field == {"displayName": "EC Member Id", "name": "ecMemberId", "description": None, "dataType": "string",
                     "length": 255, "isHidden": False, "isHtmlEncodingInEmail": True, "isSensitive": True,
                     "isCustom": True}
    assert codes(fapi.get("/rest/v1/leads/schema/fields/nope.json")) == ["1006"]
    page = fapi.get("/rest/v1/leads/schema/fields.json", params={"batchSize": 10})
    assert len(page["result"]) == 10 and page["moreResult"] is True
    assert not fapi.get("/rest/v1/leads/schema/fields.json", params={"batchSize": 5})["result"][0]["isCustom"]
    # the new field is usable at once: written, read, used as a lookup
    fapi.post("/rest/v1/leads.json", json={"input": [{"email": "a@example.jp", "ecMemberId": "M1"}]})
    found = fapi.get("/rest/v1/leads.json", params={"filterType": "ecMemberId", "filterValues": "M1",
                                                    "fields": "email,ecMemberId"})
    assert found["result"][0]["email"] == "a@example.jp"
    fresh.stop()
    again = start_local_marketo(fresh.service.data_dir, certs_dir=certs_dir, fresh=True)
    try:
        assert again.service.schema.lead.field("ecMemberId") is not None, "created fields are kept"
    finally:
        again.stop()


def test_over_100_fields_in_one_call_is_refused(fapi: Api) -> None:
    many = [{"name": f"f{i}", "displayName": f"F {i}", "dataType": "string"} for i in range(101)]
    assert codes(fapi.post("/rest/v1/leads/schema/fields.json", json={"input": many})) == ["1003"]


def test_a_custom_object_type_goes_draft_fields_approved_and_only_then_takes_records(fapi: Api) -> None:
    base = "/rest/v1/customobjects/schema"
    assert fapi.post(base + ".json", json={"action": "createOnly", "apiName": "ecOrder_c",
                                           "displayName": "EC Order"})["success"]
    assert codes(fapi.post(base + ".json", json={"action": "createOnly", "apiName": "ecOrder_c",
                                                 "displayName": "Again"})) == ["1017"]
    assert codes(fapi.post(base + ".json", json={"action": "updateOnly", "apiName": "nope_c"})) == ["1013"]
    assert codes(fapi.post(base + ".json", json={"apiName": "bad-name", "displayName": "Bad"})) == ["1003"]
    [draft] = fapi.get(base + "/ecOrder_c/describe.json")["result"]
    assert draft["state"] == "draft" and draft["idField"] is None
    assert [f["name"] for f in draft["fields"]] == ["marketoGUID", "createdAt", "updatedAt"]
    assert codes(fapi.post("/rest/v1/customobjects/ecOrder_c.json", json={"input": [{"orderNumber": "O1"}]})) \
        == ["1013"], "a draft takes no records"
    assert codes(fapi.post(base + "/ecOrder_c/approve.json")) == ["709"], "no dedupe field yet"
    assert codes(fapi.post(base + "/ecOrder_c/addField.json", json={"input": [
        {"name": "x", "displayName": "X", "dataType": "blob"}]})) == ["1003"]
    assert codes(fapi.post(base + "/ecOrder_c/addField.json", json={"input": [
        DEDUPE, {"name": "orderNumber", "displayName": "Other", "dataType": "string"}]})) == ["1017"]
    assert fapi.post(base + "/ecOrder_c/addField.json", json={"input": [DEDUPE, LINK]})["success"]
    assert fapi.post(base + "/ecOrder_c/approve.json")["success"]
    assert codes(fapi.post(base + "/ecOrder_c/approve.json")) == ["709"], "nothing left to approve"
    [approved] = fapi.get("/rest/v1/customobjects/ecOrder_c/describe.json")["result"]
    assert approved["dedupeFields"] == ["orderNumber"]
    assert approved["relationships"] == [{"field": "leadId", "type": "child",
                                          "relatedTo": {"name": "Lead", "field": "id"}}]
    lead = fapi.post("/rest/v1/leads.json", json={"input": [{"email": "b@example.jp"}]})["result"][0]["id"]
    made = fapi.post("/rest/v1/customobjects/ecOrder_c.json", json={"input": [{"orderNumber": "O1", "leadId": lead}]})
    assert made["result"][0]["status"] == "created"
    # what an approved type refuses (Adobe's list), and what it allows
    assert codes(fapi.post(base + ".json", json={"apiName": "ecOrder_c", "displayName": "Renamed"})) == ["709"]
    assert codes(fapi.post(base + "/ecOrder_c/addField.json", json={"input": [
        {"name": "k2", "displayName": "K2", "dataType": "string", "isDedupeField": True}]})) == ["709"]
    assert codes(fapi.post(base + "/ecOrder_c/addField.json", json={"input": [
        {"name": "l2", "displayName": "L2", "dataType": "link", "relatedTo": {"name": "lead", "field": "id"}}]})) \
        == ["709"]
    assert fapi.post(base + "/ecOrder_c/addField.json", json={"input": [
        {"name": "status", "displayName": "Status", "dataType": "string"}]})["success"]
    [both] = fapi.get(base + ".json", params={"names": "ecOrder_c"})["result"]
    assert both["state"] == "approvedWithDraft" and both["version"] == "approved"
    assert "status" not in {f["name"] for f in both["fields"]}
    [draft] = fapi.get(base + "/ecOrder_c/describe.json", params={"state": "draft"})["result"]
    assert "status" in {f["name"] for f in draft["fields"]}
    [early] = fapi.post("/rest/v1/customobjects/ecOrder_c.json", json={"input": [
        {"orderNumber": "O2", "leadId": lead, "status": "paid"}]})["result"]
    assert early["reasons"][0]["code"] == "1006", "records use the approved version until the draft is approved"
    assert fapi.post(base + "/ecOrder_c/discardDraft.json")["success"]
    assert codes(fapi.post(base + "/ecOrder_c/discardDraft.json")) == ["709"]
    [back] = fapi.get(base + ".json")["result"]
    assert back["state"] == "approved"
    assert fapi.get("/rest/v1/customobjects/ecOrder_c.json", params={"filterType": "orderNumber",
                                                                     "filterValues": "O1"})["result"], "records kept"


def test_limits_on_types_and_fields(fresh: LocalMarketo, fapi: Api) -> None:
    base = "/rest/v1/customobjects/schema"
    fresh.service.update_settings(max_custom_object_types=2, max_custom_object_fields=3,
                                  max_fields_added_after_approval=1)
    for name in ("a_c", "b_c"):
        assert fapi.post(base + ".json", json={"apiName": name, "displayName": name})["success"]
    assert codes(fapi.post(base + ".json", json={"apiName": "c_c", "displayName": "c_c"})) == ["709"]
    four = [DEDUPE] + [{"name": f"f{i}", "displayName": f"F {i}", "dataType": "integer"} for i in range(3)]
    assert codes(fapi.post(base + "/a_c/addField.json", json={"input": four})) == ["709"]
    assert fapi.post(base + "/a_c/addField.json", json={"input": four[:2]})["success"]
    assert fapi.post(base + "/a_c/approve.json")["success"]
    assert codes(fapi.post(base + "/a_c/addField.json", json={"input": four[2:3] + [
        {"name": "g", "displayName": "G", "dataType": "string"}]})) == ["709"], "20 (here 1) after approval"
    assert fapi.post(base + "/b_c/discardDraft.json")["success"], "a never-approved type goes with its draft"
    assert [t["apiName"] for t in fapi.get(base + ".json")["result"]] == ["a_c"]
    fresh.service.update_settings(custom_object_metadata_api=False)
    assert codes(fapi.get(base + ".json")) == ["616"]


def test_marketorestpython_schema_calls_unmodified(fresh: LocalMarketo) -> None:
    mc = MrpClient("123-ABC-456", fresh.client_id, fresh.client_secret)
    mc.host = fresh.url
    assert mc.execute(method="create_update_custom_object_type", apiName="ecOrder_c", displayName="EC Order",
                      action="createOnly", description="orders") == []
    assert mc.execute(method="add_field_custom_object_type", apiName="ecOrder_c", fields=[DEDUPE, LINK]) == []
    [draft] = mc.execute(method="describe_custom_object_type", apiName="ecOrder_c")
    assert draft["state"] == "draft" and draft["dedupeFields"] == ["orderNumber"]
    assert mc.execute(method="approve_custom_object_type", apiName="ecOrder_c") == []
    [listed] = mc.execute(method="get_list_of_custom_object_types")
    assert listed["apiName"] == "ecOrder_c" and listed["state"] == "approved"
    [record_level] = mc.execute(method="get_list_of_custom_objects", names="ecOrder_c")
    assert record_level["idField"] == "marketoGUID"
    assert record_level["createdAt"] == listed["createdAt"] != "2024-01-01T00:00:00Z", "approved now, not the file's date"
    lead = mc.execute(method="create_update_leads", leads=[{"email": "m@example.jp"}])[0]["id"]
    made = mc.execute(method="create_update_custom_objects", name="ecOrder_c",
                      input=[{"orderNumber": "O1", "leadId": lead}])
    assert made[0]["status"] == "created"
    assert mc.execute(method="create_update_custom_object_type", apiName="ecOrder_c", displayName="EC Order",
                      action="updateOnly", description="changed") == []
    assert mc.execute(method="discard_custom_object_type", apiName="ecOrder_c") == []
    assert mc.execute(method="delete_custom_object_type", apiName="ecOrder_c") == []
    assert mc.execute(method="get_list_of_custom_object_types") == []
