"""The due rule, the write-back notes and the run lock."""
from __future__ import annotations

import subprocess
import sys

import pytest

from python_tasks.push.cache import PushCache
from python_tasks.push.lock import PushAlreadyRunning, RunLock
from python_tasks.push.state import is_due, parse_duration

WB = dict(pushed_at_field="Pushed", error_field="Error")


def record(stamp, pushed=None, error=None):
    return {"Id": "003A", "SystemModstamp": stamp, "Pushed": pushed, "Error": error}


def test_due_rule() -> None:
    assert is_due(record("2024-05-01T00:00:00.000+0000"), **WB), "never pushed"
    assert not is_due(record("2024-05-01T00:00:00.000+0000", "2024-05-01T00:00:01.000Z"), **WB)
    assert is_due(record("2024-05-01T00:00:00.000+0000", "2024-05-01T00:00:01.000Z", "1003 bad"), **WB), "failed"
    changed = record("2024-05-01T00:00:05.000+0000", "2024-05-01T00:00:01.000Z")
    assert is_due(changed, **WB)
    assert not is_due(changed, **WB, seen={"003A": "2024-05-01T00:00:05.000+0000"}), "the push's own write-back"
    assert is_due(changed, **WB, seen={"003A": "2024-05-01T00:00:04.000+0000"}), "changed after the write-back"


def test_durations() -> None:
    assert parse_duration("90").total_seconds() == 90 and parse_duration("2h").total_seconds() == 7200
    assert parse_duration(None) is None
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_write_back_notes_survive_a_reopen(tmp_path) -> None:
    cache = PushCache(tmp_path, "00D1", "https://127.0.0.1:9999")
    cache.put_many({"003A": "s1", "003B": "s2"})
    cache.close()
    again = PushCache(tmp_path, "00D1", "https://127.0.0.1:9999")
    assert again.get_many(["003A", "003C"]) == {"003A": "s1"}
    again.close()


def test_one_push_at_a_time_and_a_dead_holder_does_not_block(tmp_path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = RunLock(tmp_path, "https://mkto.example:443")
        lock.path.parent.mkdir(parents=True, exist_ok=True)
        lock.path.write_text(str(holder.pid))
        with pytest.raises(PushAlreadyRunning, match=str(holder.pid)):
            with RunLock(tmp_path, "https://mkto.example:443"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with RunLock(tmp_path, "https://mkto.example:443") as taken:  # the holder is gone: stale lock
        assert taken.held and taken.path.read_text().strip().isdigit()
    assert not taken.path.exists()
