"""The consent section of ecbridge.yml: declared once, checked when loaded and against both schemas."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.mapping import MappingError, load_mapping, parse_mapping
from python_tasks.push.schema import MarketoFieldInfo, MarketoSchema
from python_tasks.validate import MappingValidator, SfFieldInfo

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "ecbridge.yml").read_text(encoding="utf-8")


def problems_of(text: str) -> list[str]:
    with pytest.raises(MappingError) as caught:
        parse_mapping(text, "ecbridge.yml")
    return [str(p) for p in caught.value.problems]


def test_the_shipped_mapping_declares_consent_on_all_three_sides() -> None:
    consent = load_mapping(ROOT / "ecbridge.yml").consent
    assert consent is not None
    assert (consent.ec_field.ec_name, consent.ec_flag) == ("emailOptIn", "EC_Email_Opt_In__c")
    assert (consent.opted_out, consent.reason, consent.changed_at) == (
        "HasOptedOutOfEmail", "Marketo_Unsubscribe_Reason__c", "EC_Consent_Changed_At__c")
    assert (consent.unsubscribed, consent.unsubscribed_reason) == ("unsubscribed", "unsubscribedReason")
    assert consent.resubscribe == "never" and not consent.resubscribe_allowed


def test_consent_fields_are_member_fields_the_generator_and_the_push_know() -> None:
    mapping = load_mapping(ROOT / "ecbridge.yml")
    contact = {f.name: f for f in mapping.salesforce_fields("Contact")}
    assert contact["HasOptedOutOfEmail"].metadata_type == "Checkbox" and not contact["HasOptedOutOfEmail"].is_custom
    assert contact["Marketo_Unsubscribe_Reason__c"].metadata_type == "Text"
    assert contact["Marketo_Unsubscribe_Reason__c"].length == 255
    assert contact["EC_Consent_Changed_At__c"].metadata_type == "DateTime"
    read = mapping.member_fields_for_marketo()
    assert {"EC_Email_Opt_In__c", "HasOptedOutOfEmail", "Marketo_Unsubscribe_Reason__c",
            "EC_Consent_Changed_At__c"} <= set(read)


def test_the_policy_and_the_fields_are_checked_with_their_lines() -> None:
    text = TEXT.replace("resubscribe: never", "resubscribe: sometimes")
    text = text.replace("ec_field: emailOptIn", "ec_field: phone")
    text = text.replace("  salesforce:\n    # opted_out", "  salesforce:\n    opted_out: DoNotCall\n    # opted_out")
    found = "\n".join(problems_of(text))
    lines = text.splitlines()
    assert "consent.resubscribe: 'sometimes' is not a re-subscribe policy" in found
    assert "explicit_ec_consent_after_unsubscribe" in found
    assert "consent.ec_field: 'phone' is a string field" in found
    assert "Contact keeps the email opt-out in HasOptedOutOfEmail, not DoNotCall" in found
    policy_line = next(n for n, line in enumerate(lines, 1) if "resubscribe: sometimes" in line)
    assert f"ecbridge.yml:{policy_line}: consent.resubscribe" in found


def test_consent_fields_cannot_also_be_mapped_elsewhere() -> None:
    text = TEXT.replace("lastOrderNumber: { from: last_order.Order_Number__c }",
                        "lastOrderNumber: { from: last_order.Order_Number__c }\n"
                        "      unsubscribed: { from: member.EC_Email_Opt_In__c }")
    text = text.replace("changed_at: EC_Consent_Changed_At__c", "changed_at: EC_Last_Event_At__c")
    found = "\n".join(problems_of(text))
    assert "marketo.lead.fields.unsubscribed: unsubscribed is sent by the consent section" in found
    assert "consent.salesforce.changed_at: EC_Last_Event_At__c is already salesforce.tracking.last_event_at" in found


def test_a_person_account_keeps_the_opt_out_in_its_person_field() -> None:
    text = TEXT.replace("object: Contact\n", "object: Account\n    person_account: true\n")
    text = text.replace("email: { field: Email,", "email: { field: PersonEmail,")
    text = text.replace("birthdate: { field: Birthdate,", "birthdate: { field: PersonBirthdate,")
    text = text.replace("email: { from: member.Email }", "email: { from: member.PersonEmail }")
    mapping = parse_mapping(text, "ecbridge.yml")
    assert mapping.consent is not None and mapping.consent.opted_out == "PersonHasOptedOutOfEmail"
    assert "Account.PersonHasOptedOutOfEmail" in {f"{f.object_name}.{f.name}" for f in mapping.salesforce_fields()}
    wrong = text.replace("  salesforce:\n    # opted_out", "  salesforce:\n    opted_out: HasOptedOutOfEmail\n    # opted_out")
    assert any("Account keeps the email opt-out in PersonHasOptedOutOfEmail" in p for p in problems_of(wrong))


def test_a_mapping_without_consent_loads_as_before() -> None:
    start = TEXT.index("# Consent to marketing email")
    end = TEXT.index("marketo:\n  lead:")
    mapping = parse_mapping(TEXT[:start] + TEXT[end:], "ecbridge.yml")
    assert mapping.consent is None
    assert "HasOptedOutOfEmail" not in {f.name for f in mapping.salesforce_fields()}


# ---- validate_mapping: against both schemas ----------------------------------------------------
def schemas(mapping):
    contact = {
        "email": SfFieldInfo("Email", "email", 80), "lastname": SfFieldInfo("LastName", "string", 80),
        "firstname": SfFieldInfo("FirstName", "string", 40), "phone": SfFieldInfo("Phone", "phone", 40),
        "birthdate": SfFieldInfo("Birthdate", "date"), "hasoptedoutofemail": SfFieldInfo("HasOptedOutOfEmail", "boolean"),
    }
    kinds = {"Text": "string", "Email": "email", "Date": "date", "DateTime": "datetime", "Currency": "currency",
             "Number": "double", "Checkbox": "boolean", "Picklist": "picklist", "Lookup": "reference",
             "LongTextArea": "textarea"}
    objects = {"Contact": contact}
    for f in mapping.salesforce_fields():
        if f.is_custom:
            objects.setdefault(f.object_name, {})[f.name.lower()] = SfFieldInfo(f.name, kinds[f.metadata_type],
                                                                                  f.length, True, f.scale)
    lead = {f.name: MarketoFieldInfo(f.name, f.type, None, True) for f in mapping.marketo.lead.fields}
    lead["unsubscribed"] = MarketoFieldInfo("unsubscribed", "boolean")
    lead["unsubscribedReason"] = MarketoFieldInfo("unsubscribedReason", "text", 65535)
    return objects, MarketoSchema(lead=lead, searchable={"email"})


def consent_problems(objects, schema, mapping):
    validator = MappingValidator(mapping, objects, schema, {})
    validator.check_consent()
    return validator.problems


def test_validate_mapping_checks_consent_on_both_sides() -> None:
    mapping = load_mapping(ROOT / "ecbridge.yml")
    objects, schema = schemas(mapping)
    assert consent_problems(objects, schema, mapping) == []
    del objects["Contact"]["hasoptedoutofemail"]
    objects["Contact"]["ec_consent_changed_at__c"] = SfFieldInfo("EC_Consent_Changed_At__c", "date")
    objects["Contact"]["marketo_unsubscribe_reason__c"] = SfFieldInfo("Marketo_Unsubscribe_Reason__c", "string", 80,
                                                                     updateable=False)
    del schema.lead["unsubscribedReason"]
    schema.lead["unsubscribed"] = MarketoFieldInfo("unsubscribed", "string", 255, False)
    found = {(p.path, p.message) for p in consent_problems(objects, schema, mapping)}
    text = "\n".join(f"{path}: {message}" for path, message in sorted(found))
    assert "consent.salesforce.opted_out: Contact.HasOptedOutOfEmail does not exist in Salesforce" in text
    assert "consent.salesforce.changed_at: Contact.EC_Consent_Changed_At__c is a date field" in text
    assert "consent.salesforce.reason: Contact.Marketo_Unsubscribe_Reason__c is not updateable" in text
    assert "consent.salesforce.reason: Contact.Marketo_Unsubscribe_Reason__c holds 80 characters" in text
    assert "consent.marketo.reason: Marketo lead field unsubscribedReason does not exist" in text
    assert "consent.marketo.unsubscribed: Marketo lead field unsubscribed is a string field" in text
    assert "consent.marketo.unsubscribed: Marketo lead field unsubscribed is not updateable" in text
    assert all(p.fix and p.line > 1 for p in consent_problems(objects, schema, mapping))
