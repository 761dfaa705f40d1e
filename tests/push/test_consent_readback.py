"""Marketo -> Salesforce consent read-back against the local org and the local Marketo, over HTTPS.

Unsubscribes made in Marketo (the email link, a data value change) come back as the member's
HasOptedOutOfEmail and reason; an idle read-back costs one Marketo call and no Salesforce call;
re-running writes nothing twice; what could not be written is tried again.
"""
from __future__ import annotations

from typing import Any

from python_tasks.push.consent_readback import ReadbackFields, read_back_unsubscribes
from python_tasks.push.salesforce_io import SalesforceIO
from tests.push.helpers import add_member, leads_by_email, push

REASON = "Marketo_Unsubscribe_Reason__c"


def add_reason_field(services: Any) -> None:
    from localcloud.salesforce.data.specs import CustomFieldSpec

    services.org.store.apply_custom_field("Contact", CustomFieldSpec(full_name=REASON, type="Text",
                                                                      label="Marketo Unsubscribe Reason", length=255))


def read_back(services: Any, **options: Any):
    fields = ReadbackFields.for_mapping(services.mapping)
    return read_back_unsubscribes(services.client, SalesforceIO(services.sf), services.cache, fields, **options)


def consent_of(services: Any, contact_id: str) -> tuple[Any, Any]:
    row = services.sf.query(f"SELECT HasOptedOutOfEmail, {REASON} FROM Contact WHERE Id = '{contact_id}'")["records"][0]
    return row["HasOptedOutOfEmail"], row[REASON]


def test_a_link_unsubscribe_in_marketo_opts_the_member_out(services) -> None:
    add_reason_field(services)
    ann = add_member(services.sf, "C1", "ann@example.jp")
    bob = add_member(services.sf, "C2", "bob@example.jp")
    push(services)
    first = read_back(services)  # the first read-back: its token, nothing unsubscribed yet
    assert first.activities == 0 and first.opted_out == [] and first.salesforce_calls == 0

    [person] = leads_by_email(services.client, "ann@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"], "emailName": "Spring Sale"})
    result = read_back(services)
    assert result.opted_out == [ann]
    assert consent_of(services, ann) == (True, "Unsubscribed via email link: Spring Sale")
    assert consent_of(services, bob) == (False, None)

    idle = read_back(services)  # nothing happened since: one Marketo call, no Salesforce call
    assert (idle.marketo_calls, idle.salesforce_calls, idle.activities, idle.opted_out) == (1, 0, 0, [])


def test_a_data_value_change_finds_the_member_by_email_and_rerunning_writes_nothing(services) -> None:
    add_reason_field(services)
    carl = add_member(services.sf, "C3", "carl@example.jp")  # never pushed: no Marketo id in Salesforce
    read_back(services)
    services.client.sync_leads([{"email": "Carl@Example.jp"}])  # a person made in Marketo (a form, a list)
    services.client.sync_leads([{"email": "Carl@Example.jp", "unsubscribed": True,
                                 "unsubscribedReason": "asked by phone"}])
    result = read_back(services)
    assert result.opted_out == [carl]
    assert consent_of(services, carl) == (True, "asked by phone")

    # the same activities read again (the token lost): the member is already opted out, nothing written
    services.cache.db.execute("DELETE FROM meta WHERE key = 'consent_readback_token'")
    services.cache.db.commit()
    again = read_back(services)
    assert again.activities == 1 and again.opted_out == [] and again.already_opted_out == 1


def test_a_person_resubscribed_since_is_left_alone_and_one_without_member_is_named(services) -> None:
    add_reason_field(services)
    dan = add_member(services.sf, "C4", "dan@example.jp")
    push(services)
    read_back(services)
    [person] = leads_by_email(services.client, "dan@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"]})
    services.client.sync_leads([{"email": "dan@example.jp", "unsubscribed": False}])
    [stranger] = services.client.sync_leads([{"email": "only-in-marketo@example.jp"}])
    services.marketo.service.unsubscribe_via_link({"leadId": stranger.id})
    result = read_back(services)
    assert result.resubscribed == [person["id"]] and result.opted_out == []
    assert result.no_member == [stranger.id]
    assert consent_of(services, dan) == (False, None)


def test_an_opt_out_that_cannot_be_written_is_tried_again(services) -> None:
    eve = add_member(services.sf, "C5", "eve@example.jp")  # the reason field is not deployed yet
    push(services)
    read_back(services)
    [person] = leads_by_email(services.client, "eve@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"]})
    failed = read_back(services)
    assert failed.opted_out == [] and list(failed.failed) == [str(person["id"])]
    assert REASON in failed.failed[str(person["id"])]
    assert list(services.cache.readback_state()[1]) == [str(person["id"])]
    add_reason_field(services)
    retried = read_back(services)
    assert retried.opted_out == [eve] and retried.failed == {}
    assert consent_of(services, eve) == (True, "Unsubscribed via email link: ECBridge local email")
    assert services.cache.readback_state()[1] == {}


def test_reads_through_pages_of_other_activities(services) -> None:
    add_reason_field(services)
    services.marketo.service.update_settings(activities_scan_all_types=True, activities_page_size=300)
    fay = add_member(services.sf, "C6", "fay@example.jp")
    push(services)
    read_back(services)
    # 400 other activities (new persons) before the unsubscribe: Marketo goes through them 300 at a time
    for start in range(0, 400, 200):
        services.client.sync_leads([{"email": f"x{n}@example.jp"} for n in range(start, start + 200)])
    [person] = leads_by_email(services.client, "fay@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"]})
    result = read_back(services)
    assert result.pages >= 2 and result.opted_out == [fay]
    capped = read_back(services, max_pages=1)
    assert capped.pages == 1 and not capped.more
