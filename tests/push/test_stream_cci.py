"""`cci task run push_marketo -o watch stream` through the real command line: the endpoint from
SF_PUBSUB_ENDPOINT, the catch-up, a streamed order, and SIGTERM stopping it cleanly between batches."""
from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.localorg_http.cci import CCI, cci_env
from tests.push.helpers import add_member, add_order, leads_by_email
from tests.push.test_stream import has_order, pubsub  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition, what: str, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            out, _ = process.communicate()
            raise AssertionError(f"cci ended (exit {process.returncode}) before {what}:\n{out}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def stored_replay_id(state: Path) -> str | None:
    for path in state.glob("push-state-*.sqlite3"):
        with sqlite3.connect(path) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'replay_id'").fetchone()
            if row:
                return row[0]
    return None


@pytest.mark.skipif(not (ROOT / ".git").is_dir(), reason="cci needs a .git directory (a git worktree has a .git file)")
def test_watch_stream_runs_as_a_cci_task_and_stops_on_sigterm(services, pubsub, tmp_path) -> None:  # noqa: F811
    sf = services.sf
    member = add_member(sf, "T1", "taskstream@example.jp")
    state = tmp_path / "state"
    env = cci_env(services.org, tmp_path / "home", {
        "MARKETO_BASE_URL": services.marketo.url,
        "MARKETO_CLIENT_ID": services.marketo.client_id,
        "MARKETO_CLIENT_SECRET": services.marketo.client_secret,
        "ECBRIDGE_PUSH_REPORTS_DIR": str(tmp_path / "push-reports"),
        "SF_PUBSUB_ENDPOINT": pubsub.endpoint,
    })
    process = subprocess.Popen([str(CCI), "task", "run", "push_marketo", "--org", "local", "-o", "state_dir",
                                str(state), "-o", "watch", "stream"], cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: bool(leads_by_email(services.client, "taskstream@example.jp")), "the catch-up push", process)
        wait_for(lambda: pubsub.service.open_streams >= 1, "the Subscribe stream", process)
        add_order(sf, "T-1", "T1", member, "2024-08-01T00:00:00.000+0000", 3200, ["玉露"])
        wait_for(lambda: has_order(services, "taskstream@example.jp", "T-1"), "the streamed order", process)
        wait_for(lambda: stored_replay_id(state) is not None, "the stored replay id", process)
        time.sleep(1.5)  # the write-back's events arrive and are skipped
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, out
    text = " ".join(out.split())
    assert "Streaming change events from " + pubsub.endpoint in text, text
    assert "SIGTERM: stopping after the current batch" in text, text
    assert "Stream stopped: 1 batches pushed, 2 catch-ups" in text, text
    assert services.marketo.client_secret not in out
