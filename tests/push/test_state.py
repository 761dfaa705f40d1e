"""The due rule, the write-back notes and the run lock."""
from __future__ import annotations

import os
import subprocess
import time
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


HOLD_THE_LOCK = """
import sys, time
from pathlib import Path
from python_tasks.push.lock import RunLock
with RunLock(Path(sys.argv[1]), "https://mkto.example:443"):
    print("held", flush=True)
    time.sleep(30)
"""


def test_one_push_at_a_time_and_a_dead_holder_does_not_block(tmp_path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PushAlreadyRunning, match=str(holder.pid)):
            with RunLock(tmp_path, "https://mkto.example:443"):
                pass
    finally:
        holder.kill()  # SIGKILL: the holder gets no chance to clean up
        holder.wait()
    with RunLock(tmp_path, "https://mkto.example:443") as taken:  # the holder is gone: the lock is free
        assert taken.held and taken.path.read_text().strip() == str(os.getpid())
    assert not taken.held and taken.path.read_text() == ""


RACE_FOR_THE_LOCK = """
import sys, time
from pathlib import Path
from python_tasks.push.lock import PushAlreadyRunning, RunLock
start = float(sys.argv[2])
while time.time() < start:
    pass
try:
    with RunLock(Path(sys.argv[1]), "https://mkto.example:443"):
        print("took", flush=True)
        time.sleep(1.5)
except PushAlreadyRunning as error:
    print("refused:", error, flush=True)
"""


def test_pushes_starting_at_the_same_moment_let_exactly_one_run(tmp_path) -> None:
    start = time.time() + 1.0
    racers = [subprocess.Popen([sys.executable, "-c", RACE_FOR_THE_LOCK, str(tmp_path), str(start)],
                               stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outputs = [r.communicate(timeout=60)[0] for r in racers]
    assert sum(out.startswith("took") for out in outputs) == 1, outputs
    assert all(out.startswith("took") or "another push" in out for out in outputs), outputs
