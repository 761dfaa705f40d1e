"""Finding the person before creating one, against the local Marketo."""
from __future__ import annotations

from python_tasks.dedupe.winner import WinnerRule
from python_tasks.dedupe.keys import identity_key
from python_tasks.push.build import PersonWrite
from python_tasks.push.identity import IdentityResolver


def person(email: str, known: list[int] | None = None) -> PersonWrite:
    return PersonWrite(key=identity_key("email", email), member_ids=["003X"], lookup_value=email,
                       email_key=email.strip().lower(), values={"email": email}, known_marketo_ids=known or [])


def test_no_match_one_match_and_a_cluster_resolved_by_the_winner_rule(local_marketo, marketo_client) -> None:
    svc = local_marketo.service
    single = svc.create_form_persons([{"email": "one@example.jp"}])[0]["id"]
    form = svc.create_form_persons([{"email": "dup@example.jp"}])[0]["id"]
    contact = svc.create_crm_persons([{"email": "dup@example.jp", "sfdcType": "Contact",
                                       "sfdcContactId": "003000000000009AAA"}])[0]["id"]
    resolver = IdentityResolver(marketo_client, "email", WinnerRule(), "ecMemberId")
    found = resolver.resolve([person("new@example.jp"), person("ONE@example.jp "), person("dup@example.jp")])
    assert found[identity_key("email", "new@example.jp")].target is None
    assert found[identity_key("email", "one@example.jp")].target == single
    dup = found[identity_key("email", "dup@example.jp")]
    assert dup.target == contact and sorted(dup.candidates) == sorted([form, contact])
    [cluster] = resolver.clusters
    assert cluster.chosen == contact and cluster.candidates == sorted([form, contact])
    resolver.resolve([person("dup@example.jp")])  # looked up again in the same run (e.g. after a 1005 retry)
    assert len(resolver.clusters) == 1, "one cluster met twice is one cluster"


def test_a_person_marked_superseded_routes_the_write_to_its_winner(local_marketo, marketo_client) -> None:
    svc = local_marketo.service
    winner = svc.create_crm_persons([{"email": "new@example.jp", "sfdcType": "Contact",
                                      "sfdcContactId": "003000000000008AAA"}])[0]["id"]
    old = svc.create_form_persons([{"email": "old@example.jp"}])[0]["id"]
    marketo_client.sync_leads([{"id": old, "ecbSupersededBy": winner}], action="updateOnly", lookup_field="id")
    resolver = IdentityResolver(marketo_client, "email", WinnerRule(), "ecMemberId")
    found = resolver.resolve([person("old@example.jp", known=[old])])
    resolution = found[identity_key("email", "old@example.jp")]
    assert resolution.target == winner and resolution.routed_from == old
    assert resolver.clusters == []
