"""validate_mapping's checks, against the local Marketo's describes and the org's field shapes."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.mapping import load_mapping, parse_mapping
from python_tasks.push.schema import MarketoSchema
from python_tasks.validate import MappingValidator, SfFieldInfo, sf_fields_from_force_app

ROOT = Path(__file__).resolve().parents[2]
STANDARD_CONTACT = {
    "id": SfFieldInfo("Id", "id", 18, False), "email": SfFieldInfo("Email", "email", 80),
    "firstname": SfFieldInfo("FirstName", "string", 40), "lastname": SfFieldInfo("LastName", "string", 80),
    "phone": SfFieldInfo("Phone", "phone", 40), "birthdate": SfFieldInfo("Birthdate", "date"),
    "hasoptedoutofemail": SfFieldInfo("HasOptedOutOfEmail", "boolean"),
}
DESCRIBE_TYPES = {"Text": "string", "Email": "email", "Date": "date", "DateTime": "datetime", "Currency": "currency",
                  "Number": "double", "Checkbox": "boolean", "Picklist": "picklist", "Lookup": "reference",
                  "LongTextArea": "textarea"}


def org_fields(mapping):
    """What the org describes after the generated metadata is deployed."""
    objects = {mapping.member.object_name: dict(STANDARD_CONTACT)}
    for f in mapping.salesforce_fields():
        if f.is_custom or f.object_name != "Contact":
            objects.setdefault(f.object_name, {})[f.name.lower()] = SfFieldInfo(
                f.name, DESCRIBE_TYPES[f.metadata_type], f.length, True, f.scale)
    return objects


@pytest.fixture
def marketo_side(marketo_client):
    fields, searchable = MarketoSchema.lead_fields_from_describe2(marketo_client.describe2())
    return MarketoSchema(lead=fields, searchable=searchable), {"ecOrder_c": marketo_client.describe_custom_object("ecOrder_c")}


def test_the_shipped_mapping_is_valid_against_both_schemas(marketo_side) -> None:
    mapping = load_mapping(ROOT / "ecbridge.yml")
    schema, cos = marketo_side
    assert MappingValidator(mapping, org_fields(mapping), schema, cos).run() == []


def test_every_problem_names_its_mapping_line_and_a_fix(marketo_side) -> None:
    text = (ROOT / "ecbridge.yml").read_text(encoding="utf-8")
    text = text.replace("lastProductName: { from: last_order.Last_Product_Name__c }",
                        "lastProductNam: { from: last_order.Last_Product_Name__c }")
    text = text.replace("last_product_name: lastProductName", "last_product_name: lastProductNam")  # marketo.email
    text = text.replace("phone: { from: member.Phone }", "phone: { from: member.Birthdate }")
    text = text.replace("lookup_field: email", "lookup_field: lastOrderNumber")
    text = text.replace("lastOrderNumber: { from: last_order.Order_Number__c }",
                        "lastOrderNumber: { from: last_order.Order_Number__c }\n      doNotCall: { from: member.EC_Email_Opt_In__c }")
    mapping = parse_mapping(text, "ecbridge.yml")
    schema, cos = marketo_side
    fields = org_fields(mapping)
    fields["EC_Order__c"]["order_number__c"] = SfFieldInfo("Order_Number__c", "string", 100)
    problems = MappingValidator(mapping, fields, schema, cos).run()
    lines = text.splitlines()
    by_path = {p.path: p for p in problems}
    wrong_name = by_path["marketo.lead.fields.lastProductNam"]
    assert "does not exist in Marketo" in wrong_name.message and "rename it to lastProductName" in wrong_name.fix
    assert "lastProductNam:" in lines[wrong_name.line - 1]
    wrong_type = by_path["marketo.lead.fields.phone"]
    assert "date" in wrong_type.message and "phone" in lines[wrong_type.line - 1]
    assert "not searchable" in by_path["marketo.lead.lookup_field"].message
    too_long = by_path["marketo.lead.fields.lastOrderNumber"]
    assert "100 characters" in too_long.message and "64" in too_long.message
    assert all(p.fix for p in problems)


def test_missing_fields_and_custom_object_are_reported(marketo_side) -> None:
    mapping = load_mapping(ROOT / "ecbridge.yml")
    schema, _ = marketo_side
    fields = org_fields(mapping)
    del fields["EC_Order__c"]["marketo_pushed_at__c"]
    problems = MappingValidator(mapping, fields, schema, {"ecOrder_c": None}).run()
    text = "\n".join(str(p) for p in problems)
    assert "EC_Order__c.Marketo_Pushed_At__c does not exist" in text and "generate_apex" in text
    assert "ecOrder_c does not exist" in text


def test_force_app_fields_are_read_from_generated_metadata(tmp_path) -> None:
    folder = tmp_path / "main" / "default" / "objects" / "EC_Order__c" / "fields"
    folder.mkdir(parents=True)
    (folder / "Order_Number__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Order_Number__c</fullName><length>64</length><type>Text</type></CustomField>")
    fields = sf_fields_from_force_app(tmp_path, "EC_Order__c")
    assert fields["order_number__c"] == SfFieldInfo("Order_Number__c", "string", 64, True, None)


def test_before_deploy_the_generated_force_app_satisfies_the_mapping(marketo_side) -> None:
    """What the deploy flow runs first: custom fields from force-app, standard ones from describes."""
    if not (ROOT / "force-app" / "main" / "default" / "objects" / "EC_Order__c").is_dir():
        pytest.skip("force-app has not been generated")
    mapping = load_mapping(ROOT / "ecbridge.yml")
    objects = {"Contact": {**STANDARD_CONTACT, **sf_fields_from_force_app(ROOT / "force-app", "Contact")}}
    for name in ("EC_Order__c", "EC_Order_Line__c"):
        objects[name] = sf_fields_from_force_app(ROOT / "force-app", name)
    schema, cos = marketo_side
    assert MappingValidator(mapping, objects, schema, cos).run() == []
    del objects["EC_Order__c"]["total_amount__c"]
    problems = MappingValidator(mapping, objects, schema, cos).run()
    assert [p.path for p in problems] == ["marketo.lead.fields.lastOrderTotal.from",
                                          "marketo.custom_objects.ecOrder_c.fields.totalAmount.from"]
    assert all("EC_Order__c.Total_Amount__c does not exist" in p.message and "generate_apex" in p.fix
               for p in problems)


def test_a_person_account_member_needs_an_org_with_person_accounts(marketo_side, tmp_path) -> None:
    """validate_mapping says so when the org lacks the feature; with it, the __pc fields are Account's."""
    from python_tasks.generate import render_unformatted, write_project
    from python_tasks.validate import person_fields_from_force_app
    from tests.foundation.test_mapping import PERSON_ACCOUNT

    mapping = parse_mapping(PERSON_ACCOUNT, "ecbridge.yml")
    schema, cos = marketo_side
    fields = org_fields(mapping)
    account = fields["Account"]
    assert "ec_member_id__pc" in account, "the generated person fields, as the org describes them on Account"
    account.update({"personemail": SfFieldInfo("PersonEmail", "email", 80),
                    "lastname": SfFieldInfo("LastName", "string", 80), "firstname": SfFieldInfo("FirstName", "string", 40),
                    "phone": SfFieldInfo("Phone", "phone", 40), "personbirthdate": SfFieldInfo("PersonBirthdate", "date")})
    without = MappingValidator(mapping, fields, schema, cos).run()
    [problem] = [p for p in without if p.path == "salesforce.member.person_account"]
    assert "the org has no Person Accounts" in problem.message and '"PersonAccounts"' in problem.fix
    assert "person_account: true" in PERSON_ACCOUNT.splitlines()[problem.line - 1]
    account["ispersonaccount"] = SfFieldInfo("IsPersonAccount", "boolean", None, False)
    assert MappingValidator(mapping, fields, schema, cos).run() == []

    write_project(render_unformatted(mapping), tmp_path / "force-app")  # before a deploy: force-app's Contact fields
    person = person_fields_from_force_app(tmp_path / "force-app")
    assert person["ec_member_id__pc"].name == "EC_Member_Id__pc" and person["ec_member_id__pc"].length == 64
    assert sorted(person) == ["ec_email_opt_in__pc", "ec_member_id__pc", "ec_member_rank__pc"]
