"""Consent in push_marketo, against the local org and the local Marketo: an opt-out in Salesforce
reaches Marketo in the same push as the member's other fields, a push never subscribes again a person
Marketo unsubscribed (unless the policy allows it for a later EC consent event), and every refusal is
named in the summary."""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timedelta, timezone

from python_tasks.mapping import RESUBSCRIBE_EXPLICIT
from tests.push.helpers import add_member, push

FIELDS = ["id", "email", "firstName", "unsubscribed", "unsubscribedReason"]


def lead(services, email: str) -> dict:
    [found] = services.client.get_leads_by_filter("email", [email], FIELDS)
    return found


def sf_time(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def unsubscribe_in_marketo(services, lead_id: int) -> None:
    """The person clicks the unsubscribe link of an email (the local Marketo's admin call)."""
    services.marketo.service.unsubscribe_via_link({"leadId": lead_id, "reason": "Clicked unsubscribe"})


def allow_resubscribe(services) -> None:
    consent = dataclasses.replace(services.mapping.consent, resubscribe=RESUBSCRIBE_EXPLICIT)
    services.mapping = dataclasses.replace(services.mapping, consent=consent)


def test_an_opt_out_in_salesforce_goes_to_marketo_with_the_members_other_fields(services) -> None:
    sf = services.sf
    member = add_member(sf, "C1", "c1@example.jp")
    sf.Contact.update(member, {"EC_Email_Opt_In__c": True})
    push(services)
    assert not lead(services, "c1@example.jp")["unsubscribed"]
    sf.Contact.update(member, {"FirstName": "花子", "EC_Email_Opt_In__c": False, "HasOptedOutOfEmail": True,
                               "Marketo_Unsubscribe_Reason__c": "EC site: consent withdrawn"})
    summary = push(services)
    after = lead(services, "c1@example.jp")
    assert summary.persons_updated == 1
    assert after["firstName"] == "花子" and after["unsubscribed"] is True
    assert after["unsubscribedReason"] == "EC site: consent withdrawn"
    endpoints = services.client.counters().calls_by_endpoint
    assert not any("activities" in endpoint for endpoint in endpoints), "policy never reads no activity"
    assert summary.consent.refused == []


def test_a_new_person_opted_out_is_created_unsubscribed(services) -> None:
    sf = services.sf
    member = add_member(sf, "C2", "c2@example.jp")
    sf.Contact.update(member, {"HasOptedOutOfEmail": True})
    push(services)
    created = lead(services, "c2@example.jp")
    assert created["unsubscribed"] is True and created["unsubscribedReason"] == "Salesforce: opted out of email"


def test_policy_never_refuses_every_resubscribe_and_names_it(services) -> None:
    sf = services.sf
    member = add_member(sf, "C3", "c3@example.jp")
    push(services)
    person = lead(services, "c3@example.jp")
    unsubscribe_in_marketo(services, person["id"])
    # the EC site says consent (a later profile edit sends the flag again, or the shopper ticks it)
    sf.Contact.update(member, {"EC_Email_Opt_In__c": True, "EC_Consent_Changed_At__c": sf_time(datetime.now(timezone.utc) + timedelta(minutes=5)),
                               "Phone": "090-0000-0003"})
    summary = push(services)
    assert lead(services, "c3@example.jp")["unsubscribed"] is True, "still unsubscribed"
    [refusal] = summary.consent.refused
    assert refusal.person == "email:c3@example.jp" and refusal.lead_id == person["id"]
    assert "policy never" in refusal.reason
    values = summary.as_return_values(0, 0)
    assert values["resubscribes_refused"] == 1 and "email:c3@example.jp" in values["resubscribe_refusals"][0]
    saved = sf.Contact.get(member)
    assert saved["HasOptedOutOfEmail"] is True, "the write-back opts the member out in Salesforce"
    assert saved["Marketo_Unsubscribe_Reason__c"] == "Marketo: Clicked unsubscribe"
    again = push(services)  # the member is opted out now: the EC consent is refused, never sent
    assert lead(services, "c3@example.jp")["unsubscribed"] is True
    assert [r.person for r in again.consent.refused] in ([], ["email:c3@example.jp"])


def test_policy_explicit_consent_resubscribes_only_after_the_unsubscribe(services) -> None:
    allow_resubscribe(services)
    sf = services.sf
    before = add_member(sf, "C4", "c4@example.jp")
    after = add_member(sf, "C5", "c5@example.jp")
    push(services)
    early = datetime.now(timezone.utc) - timedelta(minutes=10)  # an EC consent event older than the unsubscribe
    for email in ("c4@example.jp", "c5@example.jp"):
        unsubscribe_in_marketo(services, lead(services, email)["id"])
    time.sleep(1.1)
    late = datetime.now(timezone.utc) + timedelta(seconds=1)  # an EC consent event after the unsubscribe
    sf.Contact.update(before, {"EC_Email_Opt_In__c": True, "EC_Consent_Changed_At__c": sf_time(early)})
    sf.Contact.update(after, {"EC_Email_Opt_In__c": True, "EC_Consent_Changed_At__c": sf_time(late)})
    summary = push(services)
    assert lead(services, "c4@example.jp")["unsubscribed"] is True, "the consent came before the unsubscribe"
    resubscribed = lead(services, "c5@example.jp")
    assert resubscribed["unsubscribed"] is False and not resubscribed["unsubscribedReason"]
    assert [r.person for r in summary.consent.refused] == ["email:c4@example.jp"]
    assert "after the EC consent event" in summary.consent.refused[0].reason
    assert summary.consent.resubscribed == ["email:c5@example.jp"]
    assert sf.Contact.get(before)["HasOptedOutOfEmail"] is True
    assert sf.Contact.get(after)["HasOptedOutOfEmail"] is False


def test_an_ec_opt_in_and_a_marketo_unsubscribe_in_the_same_cycle_end_unsubscribed(services) -> None:
    """The race: the shopper unsubscribes from an email while the EC site's consent (older than the
    click, delivered late) is on its way; both land before the next push. Under both policies the
    person ends unsubscribed in Marketo and opted out in Salesforce."""
    sf = services.sf
    for policy_run, (key, email) in enumerate((("R1", "r1@example.jp"), ("R2", "r2@example.jp"))):
        if policy_run == 1:
            allow_resubscribe(services)
        member = add_member(sf, key, email)
        sf.Contact.update(member, {"EC_Email_Opt_In__c": False, "HasOptedOutOfEmail": False})
        push(services)
        consent_at = datetime.now(timezone.utc) - timedelta(seconds=30)
        unsubscribe_in_marketo(services, lead(services, email)["id"])  # the click
        sf.Contact.update(member, {"EC_Email_Opt_In__c": True, "EC_Consent_Changed_At__c": sf_time(consent_at)})
        summary = push(services)
        assert lead(services, email)["unsubscribed"] is True, services.mapping.consent.resubscribe
        assert [r.person for r in summary.consent.refused] == [f"email:{email}"]
        assert sf.Contact.get(member)["HasOptedOutOfEmail"] is True


def test_a_duplicate_unsubscribed_in_marketo_unsubscribes_the_person_the_push_writes_to(services) -> None:
    """Before marketo_dedupe merges them: the push writes to the CRM-synced person, and the form-filled
    duplicate's unsubscribe goes with it (an opt-out anywhere wins), back to Salesforce too."""
    sf = services.sf
    svc = services.marketo.service
    svc.update_settings(durable_unsubscribe=False)  # with it, every person of the address is unsubscribed
    form = svc.create_form_persons([{"email": "d1@example.jp", "lastName": "山田"}])[0]["id"]
    svc.unsubscribe_via_link({"leadId": form, "reason": "Clicked unsubscribe"})
    member = add_member(sf, "D1", "d1@example.jp")
    crm = svc.create_crm_persons([{"email": "d1@example.jp", "lastName": "山田", "sfdcType": "Contact",
                                   "sfdcContactId": member}])[0]["id"]
    summary = push(services)
    [cluster] = summary.duplicate_clusters
    assert cluster.chosen == crm
    [written] = services.client.get_leads_by_filter("id", [crm], FIELDS)
    assert written["unsubscribed"] is True and written["unsubscribedReason"] == "Clicked unsubscribe"
    assert sf.Contact.get(member)["HasOptedOutOfEmail"] is True
    assert [r.person for r in summary.consent.refused] == ["email:d1@example.jp"]


def test_the_bulk_import_path_sends_opt_outs_and_resubscribes_over_rest(services) -> None:
    """A bulk import cannot set unsubscribed false: the allowed re-subscribe goes over REST after it."""
    allow_resubscribe(services)
    sf = services.sf
    out = add_member(sf, "B1", "b1@example.jp")
    back = add_member(sf, "B2", "b2@example.jp")
    push(services)
    unsubscribe_in_marketo(services, lead(services, "b2@example.jp")["id"])
    time.sleep(1.1)
    sf.Contact.update(out, {"HasOptedOutOfEmail": True, "Marketo_Unsubscribe_Reason__c": "EC site: consent withdrawn"})
    later = datetime.now(timezone.utc) + timedelta(seconds=1)
    sf.Contact.update(back, {"EC_Email_Opt_In__c": True, "EC_Consent_Changed_At__c": sf_time(later)})
    summary = push(services, marketo_method="bulk", bulk_poll_seconds=0.05)
    assert summary.marketo_method == "bulk"
    assert lead(services, "b1@example.jp")["unsubscribed"] is True
    assert lead(services, "b2@example.jp")["unsubscribed"] is False
    assert summary.consent.resubscribed == ["email:b2@example.jp"] and summary.consent.refused == []
