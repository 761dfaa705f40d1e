"""The due rule, the watermark and retry set, and the run lock."""
from __future__ import annotations

import os
import subprocess
import time
import sys

import pytest

from python_tasks.push.cache import PushCache
from python_tasks.push.lock import PushAlreadyRunning, RunLock
from python_tasks.push.state import is_due, parse_duration

WB = dict(pushed_at_field="Pushed", error_field="Error", changed_at_field="Changed", pushed_change_field="Sent")
T0, T1, T2 = "2024-05-01T00:00:00.000+0000", "2024-05-01T00:00:01.000Z", "2024-05-01T00:00:05.000+0000"


def record(stamp, pushed=None, error=None, changed=None, sent=None):
    return {"Id": "003A", "SystemModstamp": stamp, "Pushed": pushed, "Error": error, "Changed": changed, "Sent": sent}


def test_due_rule() -> None:
    assert is_due(record(T0, changed=T0), **WB), "never pushed"
    assert is_due(record(T2, T1, "1003 bad", T0, T0), **WB), "its last push failed"
    assert not is_due(record(T2, T1, changed=T0, sent="2024-05-01T00:00:00Z"), **WB), \
        "the push's own write-back moved SystemModstamp, not the stamp (and formats may differ)"
    assert is_due(record(T2, T1, changed=T2, sent=T0), **WB), "changed after (or while) it was pushed"
    assert is_due(record(T2, T1, changed=T0, sent=None), **WB), "pushed before stamps were sent"
    assert not is_due(record(T0, T1), **WB), "no stamp yet (saved before the trigger): SystemModstamp <= pushed"
    assert is_due(record(T2, T1), **WB), "no stamp yet and changed after the push"


def test_durations() -> None:
    assert parse_duration("90").total_seconds() == 90 and parse_duration("2h").total_seconds() == 7200
    assert parse_duration(None) is None
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_the_watermark_and_retry_set_survive_a_reopen_and_forget_clears_them(tmp_path) -> None:
    from datetime import datetime, timezone

    cache = PushCache(tmp_path, "00D1", "https://127.0.0.1:9999")
    assert cache.checkpoint().watermark is None, "a new machine reads everything once"
    moment = datetime(2026, 12, 5, 9, 30, 15, 123000, tzinfo=timezone.utc)
    cache.save(moment, {"Contact": ["003A", "003B"], "EC_Order__c": []}, "fp1")
    cache.close()
    again = PushCache(tmp_path, "00D1", "https://127.0.0.1:9999")
    point = again.checkpoint()
    assert (point.watermark, point.fingerprint, point.retry_ids("Contact")) == (moment, "fp1", ["003A", "003B"])
    again.save(moment, {"Contact": ["003B"]}, "fp1")
    assert again.checkpoint().retry_ids("Contact") == ["003B"], "a finished record leaves the retry set"
    again.forget()
    assert again.checkpoint().watermark is None
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
tried = Path(sys.argv[1]) / "tried"
tried.mkdir(exist_ok=True)
try:
    with RunLock(Path(sys.argv[1]), "https://mkto.example:443"):
        print("took", flush=True)
        (tried / str(time.time_ns())).touch()
        deadline = time.time() + 30  # hold until every racer has tried (a loaded machine starts them late)
        while len(list(tried.iterdir())) < int(sys.argv[3]) and time.time() < deadline:
            time.sleep(0.05)
except PushAlreadyRunning as error:
    (tried / str(time.time_ns())).touch()
    print("refused:", error, flush=True)
"""


def test_pushes_starting_at_the_same_moment_let_exactly_one_run(tmp_path) -> None:
    start = time.time() + 1.0
    racers = [subprocess.Popen([sys.executable, "-c", RACE_FOR_THE_LOCK, str(tmp_path), str(start), "6"],
                               stdout=subprocess.PIPE, text=True) for _ in range(6)]
    outputs = [r.communicate(timeout=60)[0] for r in racers]
    assert sum(out.startswith("took") for out in outputs) == 1, outputs
    assert all(out.startswith("took") or "another push" in out for out in outputs), outputs
