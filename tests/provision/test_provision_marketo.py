"""provision_marketo against a fresh local Marketo: plan, apply, idempotence, drift, blocked changes."""
from __future__ import annotations

from pathlib import Path

import pytest
from cumulusci.core.config import BaseProjectConfig, TaskConfig, UniversalConfig
from cumulusci.core.exceptions import CumulusCIFailure
from cumulusci.core.keychain import BaseProjectKeychain

from python_tasks.mapping import load_mapping
from python_tasks.provision.task import PROVISIONERS, ProvisionMarketo, apply_all, plan_all
from python_tasks.push.schema import MarketoSchema
from python_tasks.validate import MappingValidator
from tests.push.test_validate import org_fields

ROOT = Path(__file__).resolve().parents[2]
MAPPING = load_mapping(ROOT / "ecbridge.yml")
# describe2 and the custom object type list; the order email: its folder, program, token list, template and email
SECOND_RUN_READS = 2 + 5


def run_task(tmp_path: Path, **options: str) -> ProvisionMarketo:
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"package": {"api_version": "62.0"}}})
    project.keychain = BaseProjectKeychain(project, None)
    task = ProvisionMarketo(project, TaskConfig({"options": {"mapping": str(ROOT / "ecbridge.yml"),
                                                             "output_dir": str(tmp_path / "plan"), **options}}))
    task()
    return task


def validator_problems(client) -> list[str]:
    fields, searchable = MarketoSchema.lead_fields_from_describe2(client.describe2())
    cos = {}
    for co in MAPPING.marketo.custom_objects:
        try:
            cos[co.api_name] = client.describe_custom_object(co.api_name)
        except Exception:  # noqa: BLE001 - a missing object is what the validator reports
            cos[co.api_name] = None
    problems = MappingValidator(MAPPING, org_fields(MAPPING), MarketoSchema(lead=fields, searchable=searchable),
                                cos).run()
    return [str(p) for p in problems]


def test_a_fresh_instance_lacks_the_fields_and_the_dry_run_plans_them_with_types_from_salesforce(
        fresh_marketo, client, tmp_path) -> None:
    assert any("does not exist in Marketo" in p for p in validator_problems(client))
    task = run_task(tmp_path)
    text = (tmp_path / "plan" / "plan.txt").read_text()
    assert "dry run: nothing changed" in text
    assert "lastOrderNumber string(255) from EC_Order__c.Order_Number__c Text(64)" in text
    assert "ecMemberId string(255) from Contact.EC_Member_Id__c Text(64)" in text
    assert "lastOrderTotal currency" in text and "lastOrderDate datetime" in text
    assert "ecbSupersededBy integer" in text
    assert "create and approve custom object ecOrder_c" in text
    assert "dedupe field orderNumber, link leadId -> Lead.id" in text and "productNames text" in text
    assert "<h1>ECBridge Marketo provisioning plan</h1>" in (tmp_path / "plan" / "plan.html").read_text()
    assert "Order email" in text
    assert task.return_values["planned"] == 3 and task.return_values["applied"] == 0
    assert "ecMemberId" not in fresh_marketo.service.schema.lead.fields, "a dry run changes nothing"
    assert fresh_marketo.service.schema.custom_objects == {}


def test_apply_creates_everything_the_mapping_needs_and_a_second_run_changes_nothing(
        fresh_marketo, client, tmp_path) -> None:
    first = run_task(tmp_path, apply="True")
    assert first.return_values["applied"] == 3 and first.return_values["blocked"] == []
    assert validator_problems(client) == [], "validate_mapping passes on the provisioned instance"
    described = client.describe_custom_object_type("ecOrder_c")
    assert described["state"] == "approved" and described["dedupeFields"] == ["orderNumber"]
    assert described["relationships"] == [{"field": "leadId", "type": "child",
                                           "relatedTo": {"name": "Lead", "field": "id"}}]
    calls = fresh_marketo.service.stats()["quotaUsedToday"]
    second = run_task(tmp_path, apply="True")
    assert second.return_values["planned"] == 0 and second.return_values["applied"] == 0
    reads = fresh_marketo.service.stats()["quotaUsedToday"] - calls
    assert reads == SECOND_RUN_READS, "the second run only reads (describe2, the type list, the email's assets)"
    assert "nothing to create" in (tmp_path / "plan" / "plan.txt").read_text()
    # the provisioned schema works: a person and an order linked to it
    lead = client.sync_leads([{"email": "p@example.jp", "ecMemberId": "M1", "lastOrderNumber": "O-1"}])[0]
    order = client.sync_custom_objects("ecOrder_c", [{"orderNumber": "O-1", "leadId": lead.id, "lineCount": 2}])[0]
    assert lead.status == "created" and order.status == "created"


def test_an_approved_object_without_the_dedupe_field_is_blocked_with_the_rule_and_the_way_out(
        fresh_marketo, client, tmp_path) -> None:
    client.sync_custom_object_type("ecOrder_c", action="createOnly", display_name="EC Order")
    client.add_custom_object_type_fields("ecOrder_c", [
        {"name": "orderKey", "displayName": "Order Key", "dataType": "string", "isDedupeField": True},
        {"name": "leadId", "displayName": "Lead Id", "dataType": "link", "relatedTo": {"name": "lead", "field": "id"}},
        {"name": "orderNumber", "displayName": "Order Number", "dataType": "string"},
        {"name": "totalAmount", "displayName": "Total Amount", "dataType": "string"}])
    client.approve_custom_object_type("ecOrder_c")
    with pytest.raises(CumulusCIFailure, match="an approved type cannot change its dedupe fields.*delete the type"):
        run_task(tmp_path, apply="True")
    text = (tmp_path / "plan" / "plan.txt").read_text()
    assert "!! blocked ecOrder_c" in text
    assert "~  drift (left alone) ecOrder_c.totalAmount: is string in Marketo" in text
    described = client.describe_custom_object_type("ecOrder_c")
    assert described["state"] == "approved" and "orderDate" not in {f["name"] for f in described["fields"]}, \
        "the blocked object is left as it was"
    assert "ecMemberId" in fresh_marketo.service.schema.lead.fields, "the other provisioner still ran"


def test_an_approved_object_missing_ordinary_fields_is_extended_and_approved_again(fresh_marketo, client, tmp_path):
    client.sync_custom_object_type("ecOrder_c", action="createOnly", display_name="EC Order")
    client.add_custom_object_type_fields("ecOrder_c", [
        {"name": "orderNumber", "displayName": "Order Number", "dataType": "string", "isDedupeField": True},
        {"name": "leadId", "displayName": "Lead Id", "dataType": "link", "relatedTo": {"name": "lead", "field": "id"}}])
    client.approve_custom_object_type("ecOrder_c")
    sections = plan_all(MAPPING, client)
    [step] = sections[1].steps
    assert step.what == "add fields to ecOrder_c and approve it"
    assert step.detail == "orderDate datetime, totalAmount currency, productNames text, status string, lineCount integer"
    done, blocked = apply_all(MAPPING, client, PROVISIONERS)
    assert blocked == [] and done == 3, "the custom object's fields, then the order email's assets"
    assert all(not s.steps for s in plan_all(MAPPING, client))


def test_a_short_lead_field_is_drift_with_the_fix_and_is_not_touched(provision_certs, tmp_path, monkeypatch) -> None:
    import requests
    import yaml

    from localcloud.marketo.service import start_local_marketo
    from python_tasks.marketo import MarketoClient, MarketoCredentials

    schema = (ROOT / "localcloud" / "marketo" / "default_schema.yml").read_text(encoding="utf-8")
    schema = schema.replace("{name: lastName, displayName: Last Name, dataType: string, length: 255}",
                            "{name: lastName, displayName: Last Name, dataType: string, length: 40}")
    (tmp_path / "schema.yml").write_text(schema, encoding="utf-8")
    (tmp_path / "marketo.yml").write_text(yaml.safe_dump({"schema_file": "schema.yml"}), encoding="utf-8")
    handle = start_local_marketo(tmp_path / "m", config_path=tmp_path / "marketo.yml", certs_dir=provision_certs)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    session = requests.Session()
    session.verify = str(handle.ca_bundle)
    client = MarketoClient(MarketoCredentials(handle.url, handle.client_id, handle.client_secret), session=session)
    try:
        [lead_section, co_section, _email_section] = plan_all(MAPPING, client)
        [drift] = lead_section.drift
        assert drift.target == "lead.lastName"
        assert drift.problem == "holds 40 characters; Contact.LastName Text(80) holds 80"
        assert "cannot lengthen" in drift.fix and not drift.blocking
        assert lead_section.steps == [] and co_section.steps == [], "a prepared instance needs nothing else"
    finally:
        client.close()
        handle.stop()
