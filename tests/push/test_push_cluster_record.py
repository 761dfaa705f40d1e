"""The clusters a push meets are recorded once each, with the Marketo instance they belong to."""
from __future__ import annotations

import json

from python_tasks.dedupe.cluster_record import normalise_instance
from tests.push.helpers import push, seed_shop


def test_a_push_meeting_the_same_cluster_twice_records_it_once_with_its_instance(services, tmp_path) -> None:
    svc = services.marketo.service
    form = svc.create_form_persons([{"email": "yui@example.jp"}])[0]["id"]
    contact = svc.create_crm_persons([{"email": "yui@example.jp", "sfdcType": "Contact",
                                       "sfdcContactId": "003000000000077AAA"}])[0]["id"]
    seed_shop(services.sf)
    clusters = tmp_path / "state" / "push_duplicate_clusters.jsonl"
    first = push(services, clusters_file=clusters)
    [line] = [json.loads(text) for text in clusters.read_text(encoding="utf-8").splitlines()]
    assert [c.chosen for c in first.duplicate_clusters] == [contact]
    assert line["instance"] == normalise_instance(services.marketo.url) == services.marketo.url.rstrip("/")
    assert (line["key"], line["candidates"], line["chosen"]) == ("email:yui@example.jp", sorted([form, contact]), contact)
    second = push(services, clusters_file=clusters, full=True)  # every member looked up again
    assert [c.chosen for c in second.duplicate_clusters] == [contact], "the push met the cluster again"
    [again] = [json.loads(text) for text in clusters.read_text(encoding="utf-8").splitlines()]
    assert again["first_at"] == line["first_at"] == line["at"] < again["at"]
    assert {k: v for k, v in again.items() if k != "at"} == {k: v for k, v in line.items() if k != "at"}
    assert not list(clusters.parent.glob("*.tmp")), "written through a temporary file renamed over the record"
