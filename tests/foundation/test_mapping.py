"""ecbridge.yml is loaded into typed objects, and every kind of mistake is reported with its line."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.mapping import FieldType, MappingError, load_mapping, parse_mapping

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "ecbridge.yml").read_text()


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def problems(text: str) -> list[str]:
    with pytest.raises(MappingError) as info:
        parse_mapping(text, "ecbridge.yml")
    return [str(p) for p in info.value.problems]


def test_the_shipped_mapping_loads_into_typed_objects() -> None:
    m = load_mapping(ROOT / "ecbridge.yml")
    assert m.api_version == "62.0"
    assert m.permission_set == "ECBridge_Integration"
    assert m.member.object_name == "Contact"
    assert m.member.key_field == "EC_Member_Id__c"
    assert m.member.email.sf_field == "Email"
    assert m.order.object_name == "EC_Order__c"
    assert m.order.key_field == "Order_Number__c"
    assert m.order.member_key.sf_field == "EC_Member_Id__c"
    assert m.order.member_lookup == "Member__c" and m.order.member_relationship == "Member__r"
    assert m.order_line.object_name == "EC_Order_Line__c" and m.order_line.order_relationship == "Order__r"
    assert m.order.field_for("totalAmount").type is FieldType.CURRENCY
    assert m.order.field_for("status").values[:2] == ("ordered", "paid")
    assert m.last_event_at == "EC_Last_Event_At__c"
    assert m.write_back.marketo_id == "Marketo_Id__c"
    assert m.marketo.lead.lookup_field == "email"
    last = m.marketo.lead.field_named("lastOrderNumber")
    assert (last.source.scope, last.source.field, last.type) == ("last_order", "Order_Number__c", "string")
    assert m.marketo.lead.field_named("lastOrderTotal").type == "currency"
    co = m.marketo.custom_objects[0]
    assert (co.api_name, co.dedupe_field, co.link_field, co.lead_link_field) == ("ecOrder_c", "orderNumber", "leadId", "id")
    assert co.field_named("lineCount").source.aggregate == "count"
    assert co.field_named("productNames").type == "text"
    assert "Last_Product_Name__c" in m.order_fields_for_marketo()
    assert m.line_fields_for_marketo() == ["Product_Name__c"]


def test_salesforce_fields_cover_keys_lookups_tracking_and_ingest_errors() -> None:
    m = load_mapping(ROOT / "ecbridge.yml")
    by_name = {(f.object_name, f.name): f for f in m.salesforce_fields()}
    key = by_name[("Contact", "EC_Member_Id__c")]
    assert key.external_id and key.unique and key.length == 64
    assert by_name[("EC_Order__c", "EC_Member_Id__c")].external_id
    assert not by_name[("EC_Order__c", "EC_Member_Id__c")].unique
    lookup = by_name[("EC_Order__c", "Member__c")]
    assert (lookup.metadata_type, lookup.reference_to) == ("Lookup", "Contact")
    assert by_name[("EC_Order__c", "Total_Amount__c")].precision == 16
    assert by_name[("EC_Order_Line__c", "Line_Key__c")].unique
    assert by_name[("EC_Ingest_Error__c", "Payload__c")].metadata_type == "LongTextArea"
    for obj in ("Contact", "EC_Order__c"):
        for name in ("EC_Last_Event_At__c", "Marketo_Id__c", "Marketo_Pushed_At__c", "Marketo_Push_Error__c"):
            assert (obj, name) in by_name
    assert not by_name[("Contact", "Email")].is_custom


def test_wrong_type_names_the_line_and_the_valid_types() -> None:
    text = GOOD.replace("field: Phone, type: string", "field: Phone, type: strng")
    (msg,) = problems(text)
    assert msg.startswith(f"ecbridge.yml:{line_of(text, 'type: strng')}: salesforce.member.fields.phone.type")
    assert "'strng' is not a field type" in msg and "expected 'string'" in msg


def test_wrong_value_types_are_reported() -> None:
    text = GOOD.replace("length: 64, required: true }\n      email", "length: sixty, required: yes please }\n      email")
    msgs = problems(text)
    assert any("memberId.length: 'sixty' is a string" in m and "whole number" in m for m in msgs), msgs
    assert any("memberId.required" in m and "true or false" in m for m in msgs), msgs


def test_picklist_without_values_and_length_on_a_date() -> None:
    text = GOOD.replace("type: picklist, values: [regular, silver, gold, platinum]", "type: picklist")
    text = text.replace("field: Birthdate, type: date", "field: Birthdate, type: date, length: 10")
    msgs = problems(text)
    assert any("memberRank.values: a picklist needs its values" in m for m in msgs), msgs
    assert any(f":{line_of(text, 'Birthdate')}:" in m and "length applies to string fields" in m for m in msgs), msgs


def test_unknown_keys_and_unknown_targets_suggest_the_right_name() -> None:
    text = GOOD.replace("member_lookup: Member__c", "member_lokup: Member__c")
    text = text.replace("from: last_order.Order_Number__c", "from: last_order.Order_Numbr__c")
    text = text.replace("from: member.Phone", "from: contact.Phone")
    msgs = problems(text)
    assert any("salesforce.order.member_lokup: unknown key (expected 'member_lookup')" in m for m in msgs), msgs
    assert any(f":{line_of(text, 'Order_Numbr__c')}:" in m and "'last_order.Order_Number__c'" in m for m in msgs), msgs
    assert any("unknown scope 'contact'" in m and "member.<Field>" in m for m in msgs), msgs


def test_marketo_source_must_be_a_field_the_mapping_defines() -> None:
    text = GOOD.replace("phone: { from: member.Phone }", "phone: { from: member.MobilePhone }")
    (msg,) = problems(text)
    assert "'MobilePhone' is not a field the mapping defines for member" in msg


def test_duplicate_keys_and_duplicate_targets_are_reported() -> None:
    text = GOOD.replace("      phone: { from: member.Phone }\n",
                        "      phone: { from: member.Phone }\n      phone: { from: member.FirstName }\n")
    text = text.replace("field: FirstName, type: string", "field: LastName, type: string")
    msgs = problems(text)
    first = line_of(text, "phone: { from: member.Phone }")
    assert any(f"'phone' appears twice (first on line {first})" in m for m in msgs), msgs
    assert any("Contact.LastName is already mapped from 'lastName'" in m for m in msgs), msgs


def test_type_incompatible_marketo_field() -> None:
    text = GOOD.replace("lastOrderDate: { from: last_order.Order_Date__c }",
                        "lastOrderDate: { from: last_order.Order_Date__c, type: boolean }")
    (msg,) = problems(text)
    assert "a datetime Salesforce field cannot feed a Marketo boolean field" in msg


def test_missing_keys_and_sections() -> None:
    text = GOOD.replace("    key: orderNumber # EC field", "    # key removed")
    text = text.replace("      dedupe_field: orderNumber\n", "")
    msgs = problems(text)
    assert any("salesforce.order.key: missing required key" in m for m in msgs), msgs
    assert any("ecOrder_c.dedupe_field: missing required key" in m for m in msgs), msgs
    msgs = problems("version: 1\nsalesforce: {}\n")
    assert any("marketo: missing required key" in m for m in msgs), msgs
    assert any("salesforce.member: missing required key" in m for m in msgs), msgs


def test_keys_must_be_custom_required_text() -> None:
    text = GOOD.replace("key: memberId # EC field", "key: email # EC field")
    msgs = problems(text)
    assert any("salesforce.member.key" in m and "standard field Email" in m for m in msgs), msgs


def test_invalid_yaml_reports_its_line() -> None:
    (msg,) = problems("version: 1\nsalesforce:\n  member: [\n")
    assert msg.startswith("ecbridge.yml:") and "not valid YAML" in msg


def test_missing_file_is_a_mapping_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read the mapping file"):
        load_mapping(tmp_path / "nope.yml")


LEAD = GOOD.replace("    object: Contact\n", "    object: Lead\n").replace(
    "      birthdate: { field: Birthdate, type: date }\n",
    "      company: { field: Company, type: string, length: 255, required: true }\n",
).replace("      birthDate: { from: member.Birthdate }\n", "")


def _person_account(text: str) -> str:
    """The shipped mapping with a Person Account member: its custom fields are Contact's, shown as __pc."""
    head, sep, rest = text.partition("  order:\n")
    for old, new in (("    object: Contact\n", "    object: Account\n    person_account: true\n"),
                     ("{ field: Email, type: email", "{ field: PersonEmail, type: email"),
                     ("{ field: Birthdate,", "{ field: PersonBirthdate,"),
                     ("EC_Member_Id__c", "EC_Member_Id__pc"), ("EC_Member_Rank__c", "EC_Member_Rank__pc"),
                     ("EC_Email_Opt_In__c", "EC_Email_Opt_In__pc")):
        assert old in head, old
        head = head.replace(old, new)
    for old, new in (("from: member.Email", "from: member.PersonEmail"),
                     ("from: member.EC_Member_Id__c", "from: member.EC_Member_Id__pc")):
        assert old in rest, old
        rest = rest.replace(old, new)
    return head + sep + rest


PERSON_ACCOUNT = _person_account(GOOD)


def test_a_person_account_member_maps_person_fields_and_its_custom_fields_are_contacts() -> None:
    m = parse_mapping(PERSON_ACCOUNT)
    assert (m.member.object_name, m.member.person_account, m.member.person_record_type) == \
        ("Account", True, "PersonAccount")
    assert (m.member.key_field, m.member.email.sf_field) == ("EC_Member_Id__pc", "PersonEmail")
    assert m.member.key.length == 64 and m.order.member_key.sf_field == "EC_Member_Id__c"
    fields = {f.name: f for f in m.salesforce_fields("Account")}
    assert fields["EC_Member_Id__pc"].definition == ("Contact", "EC_Member_Id__c")
    assert fields["EC_Member_Id__pc"].is_custom and fields["EC_Member_Id__pc"].external_id
    assert fields["PersonEmail"].definition == ("Contact", "Email") and not fields["PersonEmail"].is_custom
    assert fields["FirstName"].definition == ("Contact", "FirstName")
    assert fields["Phone"].definition == ("Account", "Phone"), "Phone is the account's own"
    assert fields["EC_Last_Event_At__c"].definition == ("Account", "EC_Last_Event_At__c"), \
        "the ingest's bookkeeping fields are Account's"
    assert fields["EC_Member_Rank__pc"].label == "EC Member Rank"
    assert [f.reference_to for f in m.salesforce_fields("EC_Order__c") if f.name == "Member__c"] == ["Account"]
    named = parse_mapping(PERSON_ACCOUNT.replace("    person_account: true\n",
                                                 "    person_account: true\n    person_record_type: Shopper\n"))
    assert named.member.person_record_type == "Shopper"


def test_person_account_fields_are_refused_where_they_cannot_be() -> None:
    on_contact = problems(GOOD.replace("{ field: EC_Member_Rank__c,", "{ field: EC_Member_Rank__pc,"))
    assert any("EC_Member_Rank__pc is a person account field; Contact has none" in m and "EC_Member_Rank__c" in m
               for m in on_contact), on_contact
    on_order = problems(GOOD.replace("{ field: Status__c,", "{ field: Status__pc,"))
    assert any("Status__pc is a person account field; EC_Order__c has none" in m for m in on_order), on_order
    mobile = problems(PERSON_ACCOUNT.replace("{ field: Phone,", "{ field: MobilePhone,"))
    assert any("Person Accounts have no MobilePhone" in m and "PersonMobilePhone" in m for m in mobile), mobile
    record_type = problems(GOOD.replace("    object: Contact\n", "    object: Contact\n    person_record_type: X\n"))
    assert any("person_record_type applies to a Person Account member" in m for m in record_type), record_type


def test_lead_member_object_is_accepted_and_unknown_object_is_not() -> None:
    msgs = problems(GOOD.replace("    object: Contact\n", "    object: Lead\n"))
    assert any("a Lead cannot be saved without Company" in m for m in msgs), msgs
    m = parse_mapping(LEAD)
    assert m.member.object_name == "Lead"
    assert m.order.member_relationship == "Member__r"
    assert [f.reference_to for f in m.salesforce_fields("EC_Order__c") if f.name == "Member__c"] == ["Lead"]
    msgs = problems(GOOD.replace("    object: Contact\n", "    object: Opportunity\n"))
    assert any("'Opportunity' cannot be the member object" in m for m in msgs), msgs
    msgs = problems(GOOD.replace("    object: Contact\n", "    object: Account\n    person_account: true\n"))
    assert any("Person Accounts have no Email" in m and "PersonEmail" in m for m in msgs), msgs


CONVERTING_LEAD = LEAD.replace("    object: Lead\n", "    object: Lead\n    converts_to: Contact\n")


def test_a_lead_member_may_convert_to_contact_and_nothing_else_may() -> None:
    m = parse_mapping(CONVERTING_LEAD)
    assert (m.member.converts_to, m.order.converted_member_lookup) == ("Contact", "Member_Contact__c")
    assert "Company" not in [f.sf_field for f in m.member.converted_fields], "Company stays on the Lead"
    contact = {f.name: f for f in m.salesforce_fields("Contact")}
    assert contact["EC_Member_Id__c"].external_id and contact["EC_Member_Id__c"].unique
    assert {"Marketo_Id__c", "EC_Last_Event_At__c", "Marketo_Changed_At__c"} <= set(contact)
    [lookup] = [f for f in m.salesforce_fields("EC_Order__c") if f.name == "Member_Contact__c"]
    assert lookup.reference_to == "Contact"
    view = m.converted_view()
    assert view is not None and view.member.object_name == "Contact"
    assert (view.order.member_lookup, view.order.converted_member_lookup) == ("Member_Contact__c", "Member__c")
    assert parse_mapping(LEAD).converted_view() is None
    assert parse_mapping(LEAD).order.converted_member_lookup is None
    assert not [f for f in parse_mapping(LEAD).salesforce_fields("EC_Order__c") if f.name == "Member_Contact__c"]
    msgs = problems(GOOD.replace("    object: Contact\n", "    object: Contact\n    converts_to: Contact\n"))
    assert any("a Contact member cannot convert to 'Contact'" in m for m in msgs), msgs
    msgs = problems(CONVERTING_LEAD.replace("converts_to: Contact", "converts_to: Account"))
    assert any("cannot convert to 'Account'" in m for m in msgs), msgs
