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
    import dataclasses

    from localcloud.salesforce.data.specs import CustomFieldSpec

    note = "Unsubscribe_Note__c"  # a reason field not deployed yet
    fields = dataclasses.replace(ReadbackFields.for_mapping(services.mapping), reason=note)
    eve = add_member(services.sf, "C5", "eve@example.jp")
    push(services)
    io = SalesforceIO(services.sf)
    read_back_unsubscribes(services.client, io, services.cache, fields)
    [person] = leads_by_email(services.client, "eve@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"]})
    failed = read_back_unsubscribes(services.client, io, services.cache, fields)
    assert failed.opted_out == [] and list(failed.failed) == [str(person["id"])]
    assert note in failed.failed[str(person["id"])]
    assert list(services.cache.readback_state()[1]) == [str(person["id"])]
    services.org.store.apply_custom_field("Contact", CustomFieldSpec(full_name=note, type="Text",
                                                                      label="Unsubscribe Note", length=255))
    retried = read_back_unsubscribes(services.client, io, services.cache, fields)
    assert retried.opted_out == [eve] and retried.failed == {}
    row = services.sf.query(f"SELECT HasOptedOutOfEmail, {note} FROM Contact WHERE Id = '{eve}'")["records"][0]
    assert (row["HasOptedOutOfEmail"], row[note]) == (True, "Unsubscribed via email link: ECBridge local email")
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


def test_push_marketo_reads_back_in_each_watch_cycle(services, tmp_path) -> None:
    """Through the real `cci` command line: the read-back runs before each cycle's push; an idle cycle's
    read-back is one Marketo call and no Salesforce call."""
    import re
    from pathlib import Path

    from tests.localorg_http.cci import cci_env, run_cci

    root = Path(__file__).resolve().parents[2]
    env = cci_env(services.org, tmp_path / "home", {
        "MARKETO_BASE_URL": services.marketo.url, "MARKETO_CLIENT_ID": services.marketo.client_id,
        "MARKETO_CLIENT_SECRET": services.marketo.client_secret,
        "ECBRIDGE_PUSH_REPORTS_DIR": str(tmp_path / "push-reports")})
    add_reason_field(services)
    gus = add_member(services.sf, "C7", "gus@example.jp")
    state = tmp_path / "state"
    base = ("task", "run", "push_marketo", "--org", "local", "-o", "state_dir", str(state),
            "-o", "consent_readback", "True")
    first = run_cci(root, env, *base)
    assert first.returncode == 0, first.stdout + first.stderr
    [person] = leads_by_email(services.client, "gus@example.jp")
    services.marketo.service.unsubscribe_via_link({"leadId": person["id"], "emailName": "Autumn"})

    watched = run_cci(root, env, *base, "-o", "watch", "0.5", "-o", "max_cycles", "2")
    out = " ".join((watched.stdout + watched.stderr).split())
    assert watched.returncode == 0, out
    # the Unsubscribe Email activity and the data value change of one person
    assert "Consent read-back: 2 unsubscribe activities in Marketo, 1 members opted out in Salesforce" in out
    assert consent_of(services, gus) == (True, "Unsubscribed via email link: Autumn")
    pattern = r"API calls: Marketo (\d+), Salesforce (\d+)"
    calls = [(int(m), int(s)) for m, s in re.findall(pattern, out)]
    # the same watch without the read-back: its idle cycle costs one Marketo call less, the same Salesforce calls
    plain = run_cci(root, env, *base[:-3], "-o", "consent_readback", "False", "-o", "watch", "0.5",
                    "-o", "max_cycles", "2")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "Consent read-back" not in plain.stdout + plain.stderr
    plain_calls = [(int(m), int(s)) for m, s in re.findall(pattern, plain.stdout + plain.stderr)]
    assert len(calls) == len(plain_calls) == 2
    assert calls[1] == (plain_calls[1][0] + 1, plain_calls[1][1])


def test_the_stream_reads_back_while_no_event_comes() -> None:
    """The streaming loop's idle tick: the read-back every idle_seconds while it waits for events."""
    import queue
    import time

    from python_tasks.push.stream import StreamingPush, StreamSettings

    ticks: list[float] = []
    streaming: StreamingPush

    def idle() -> None:
        ticks.append(time.monotonic())
        if len(ticks) == 3:
            streaming.stop.set()

    streaming = StreamingPush(StreamSettings("127.0.0.1:1"), cache=None, push=lambda ids: None,  # type: ignore[arg-type]
                              metadata=lambda: (), member_object="Contact", order_object="EC_Order__c",
                              write_back_fields=(), idle=idle, idle_seconds=0.1)

    class Quiet:
        items: queue.Queue = queue.Queue()

    started = time.monotonic()
    assert streaming._gather(Quiet(), decoder=None) is None  # type: ignore[arg-type]
    assert len(ticks) == 3 and ticks[0] - started >= 0.1
    assert all(later - earlier >= 0.1 for earlier, later in zip(ticks, ticks[1:]))


def test_the_token_survives_a_full_push_forgetting_the_watermark(tmp_path) -> None:
    from datetime import datetime, timezone

    from python_tasks.push.cache import PushCache

    cache = PushCache(tmp_path, "00D", "https://127.0.0.1:1")
    try:
        assert cache.readback_state() == (None, {})
        cache.save(datetime(2026, 1, 1, tzinfo=timezone.utc), {"Contact": ["003A"]})
        cache.save_readback_state("TOKEN-1", {"42": "Unsubscribed from an email"})
        cache.forget()  # `full`: the push reads Salesforce again; Marketo's activities were read already
        assert cache.checkpoint().watermark is None and cache.checkpoint().retry == {}
        assert cache.readback_state() == ("TOKEN-1", {"42": "Unsubscribed from an email"})
    finally:
        cache.close()
