"""What generate_apex writes for the consent section (unformatted render: no prettier needed)."""
from __future__ import annotations

from pathlib import Path

from python_tasks.generate import render_unformatted
from python_tasks.mapping import parse_mapping

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "ecbridge.yml").read_text(encoding="utf-8")
CLASSES = "main/default/classes"


def test_the_endpoint_applies_consent_with_the_mapped_policy() -> None:
    never = render_unformatted(parse_mapping(TEXT, "ecbridge.yml"))
    consent = never[f"{CLASSES}/ECBridgeConsent.cls"]
    assert "RESUBSCRIBE_ALLOWED = false" in consent
    assert "OPTED_OUT = 'HasOptedOutOfEmail'" in consent and "target.put(CHANGED_AT, event.occurredAt);" in consent
    assert "ECBridgeConsent.fromEvent(target, draft, event)" in never[f"{CLASSES}/ECBridgeContactMemberWriter.cls"]
    assert f"{CLASSES}/ECBridgeConsentTest.cls" in never
    for name in ("Marketo_Unsubscribe_Reason__c", "EC_Consent_Changed_At__c"):
        assert f"main/default/objects/Contact/fields/{name}.field-meta.xml" in never
    permset = never["main/default/permissionsets/ECBridge_Integration.permissionset-meta.xml"]
    for name in ("HasOptedOutOfEmail", "Marketo_Unsubscribe_Reason__c", "EC_Consent_Changed_At__c"):
        assert f"<field>Contact.{name}</field>" in permset
    allowed = render_unformatted(parse_mapping(
        TEXT.replace("resubscribe: never", "resubscribe: explicit_ec_consent_after_unsubscribe"), "ecbridge.yml"))
    assert "RESUBSCRIBE_ALLOWED = true" in allowed[f"{CLASSES}/ECBridgeConsent.cls"]
    assert "an explicit consent lifts the opt-out" in allowed[f"{CLASSES}/ECBridgeConsentTest.cls"]


def test_a_mapping_without_consent_generates_no_consent_code() -> None:
    start, end = TEXT.index("# Consent to marketing email"), TEXT.index("marketo:\n  lead:")
    files = render_unformatted(parse_mapping(TEXT[:start] + TEXT[end:], "ecbridge.yml"))
    assert f"{CLASSES}/ECBridgeConsent.cls" not in files
    assert "ECBridgeConsent" not in files[f"{CLASSES}/ECBridgeContactMemberWriter.cls"]
