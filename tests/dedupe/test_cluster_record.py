"""The record of clusters push_marketo met: one line per cluster and instance, rewritten atomically
under a lock, never dropping a line it cannot attribute."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from python_tasks.dedupe.cluster_record import ClusterRecord, ClusterRecordBusy, Sighting, normalise_instance

A = "https://111-aaa-111.mktorest.com"
B = "https://222-bbb-222.mktorest.com"


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_instance_is_the_base_url_in_one_normal_form() -> None:
    forms = ["https://111-AAA-111.mktorest.com", "https://111-aaa-111.mktorest.com/", "https://111-aaa-111.mktorest.com/rest",
             "https://111-aaa-111.mktorest.com:443/identity/", " HTTPS://111-aaa-111.MKTOREST.COM "]
    assert {normalise_instance(f) for f in forms} == {A}
    assert normalise_instance("https://127.0.0.1:50123/") == "https://127.0.0.1:50123"
    assert normalise_instance("https://127.0.0.1:50123") != normalise_instance("https://127.0.0.1:50124")


def test_a_cluster_met_again_updates_its_line_instead_of_adding_one(tmp_path: Path) -> None:
    path = tmp_path / "clusters.jsonl"
    record = ClusterRecord(path)
    assert record.record(A + "/rest", [Sighting("email:yui@example.jp", [7, 3], 7, "contact wins")], "2026-01-01T00:00:00+00:00") == 1
    assert record.record(A, [Sighting("email:yui@example.jp", [3, 7], 3, "updated wins")], "2026-01-02T00:00:00+00:00") == 0
    [line] = lines(path)
    assert line == {"instance": A, "key": "email:yui@example.jp", "candidates": [3, 7], "chosen": 3,
                    "reason": "updated wins", "first_at": "2026-01-01T00:00:00+00:00", "at": "2026-01-02T00:00:00+00:00"}
    # another instance, another key or other candidates are other clusters
    record.record(B, [Sighting("email:yui@example.jp", [3, 7], 3)], "t3")
    record.record(A, [Sighting("email:yui@example.jp", [3, 7, 9], 9), Sighting("ecMemberId:M1", [3, 7], 3)], "t4")
    assert [(l["instance"], l["key"], l["candidates"]) for l in lines(path)] == [
        (A, "email:yui@example.jp", [3, 7]), (B, "email:yui@example.jp", [3, 7]),
        (A, "email:yui@example.jp", [3, 7, 9]), (A, "ecMemberId:M1", [3, 7])]
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed over the record"


def test_lines_without_an_instance_or_unreadable_are_kept_as_they_are(tmp_path: Path) -> None:
    path = tmp_path / "clusters.jsonl"
    legacy = '{"at": "2025-01-01", "key": "email:a@x.jp", "candidates": [1, 2], "chosen": 2, "reason": "r"}'
    torn = '{"at": "2025-01-01", "key": "email:b@x'
    doubled = json.dumps({"instance": A, "key": "email:c@x.jp", "candidates": [4, 5], "chosen": 4, "at": "t1"})
    path.write_text("\n".join([legacy, torn, doubled, doubled.replace("t1", "t2"), ""]), encoding="utf-8")
    record = ClusterRecord(path)
    contents = record.read()
    assert (contents.legacy, contents.unreadable) == (1, 1)
    assert [(c.key, c.at, c.first_at) for c in contents.of_instance(A)] == [("email:c@x.jp", "t2", "t1")]
    assert contents.of_instance(B) == []
    record.record(A, [Sighting("email:d@x.jp", [6, 8], 6)], "t3")
    text = path.read_text(encoding="utf-8").splitlines()
    assert text[:2] == [legacy, torn], "never dropped: which instance they belong to is unknown"
    assert [json.loads(t)["key"] for t in text[2:]] == ["email:c@x.jp", "email:d@x.jp"], "the doubled line is one now"


def test_drop_removes_only_the_named_clusters_and_keeps_what_was_recorded_since(tmp_path: Path) -> None:
    path = tmp_path / "clusters.jsonl"
    record = ClusterRecord(path)
    record.record(A, [Sighting("email:a@x.jp", [1, 2], 1), Sighting("email:b@x.jp", [3, 4], 3)], "t1")
    record.record(B, [Sighting("email:a@x.jp", [1, 2], 1)], "t1")
    read = {c.key: c for c in record.read().of_instance(A)}
    record.record(A, [Sighting("email:c@x.jp", [5, 6], 5)], "t2")  # a push records while dedupe runs
    assert record.drop([read["email:a@x.jp"].ident]) == 1
    assert [(l["instance"], l["key"]) for l in lines(path)] == [(A, "email:b@x.jp"), (B, "email:a@x.jp"), (A, "email:c@x.jp")]
    before = path.stat().st_mtime_ns
    assert record.drop([]) == 0 and record.drop([read["email:a@x.jp"].ident]) == 0
    assert path.stat().st_mtime_ns == before, "nothing to drop: the file is not rewritten"


def test_a_missing_record_reads_as_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "state" / "clusters.jsonl"
    assert ClusterRecord(path).read().entries == []
    assert not (tmp_path / "state").exists()


def test_a_record_whose_lock_stays_held_is_reported_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "clusters.jsonl"
    holder = ClusterRecord(path)
    holder.record(A, [Sighting("email:a@x.jp", [1, 2], 1)], "t1")
    with holder._locked():  # another process in the middle of its rewrite (flock: per open file)
        with pytest.raises(ClusterRecordBusy, match="lock"):
            ClusterRecord(path, lock_wait=0.2).record(A, [Sighting("email:b@x.jp", [3, 4], 3)], "t2")
    assert [l["key"] for l in lines(path)] == ["email:a@x.jp"]


def _recorder(path: str, worker: int, count: int) -> None:
    record = ClusterRecord(Path(path))
    for n in range(count):
        record.record(A if n % 2 else B, [Sighting(f"email:w{worker}-{n}@x.jp", [n, 10_000 + n], n)], f"t{n}")


def _dropper(path: str, idents: list) -> None:
    record = ClusterRecord(Path(path))
    for ident in idents:
        record.drop([(ident[0], ident[1], tuple(ident[2]))])


def test_pushes_and_a_dedupe_writing_at_once_lose_none_of_each_others_lines(tmp_path: Path) -> None:
    path = tmp_path / "clusters.jsonl"
    record = ClusterRecord(path)
    record.record(A, [Sighting(f"email:old{n}@x.jp", [n, 20_000 + n], n) for n in range(30)], "t0")
    old = [c.ident for c in record.read().clusters]
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_recorder, args=(str(path), w, 25)) for w in range(3)]
    workers.append(context.Process(target=_dropper, args=(str(path), [list(i) for i in old[:20]])))
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    keys = [l["key"] for l in lines(path)]
    assert len(keys) == len(set(keys)) == 10 + 3 * 25
    assert set(keys) == {f"email:old{n}@x.jp" for n in range(20, 30)} | {
        f"email:w{w}-{n}@x.jp" for w in range(3) for n in range(25)}
