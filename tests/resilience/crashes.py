"""SIGKILL at random points, shared by tests/resilience/test_crashes.py (a few kills) and
bench/bench_resilience_crashes.py (ten each).

- `run_task` starts one of the project's CumulusCI tasks in a subprocess (tests/resilience/task_entry.py);
  `kill_and_rerun` kills it after seeded random delays, then runs it to completion.
- `dedupe_world` makes duplicate persons in the local Marketo as the CRM sync and forms would.
- `LocalCloudProcess` runs `python -m localcloud --home H serve` (ports chosen by the OS) and kills it.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]


def run_task(env: dict[str, str], task: str, **options: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.resilience.task_entry", task,
                             *(f"{k}={v}" for k, v in options.items())],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def warm_cci_home(env: dict[str, str]) -> None:
    """Let CumulusCI make its folders under a fresh HOME once (~/.cumulusci/<project>, services/<type>):
    it creates them check-then-create, so two task processes started at the same instant on a fresh
    HOME can both try and one dies with FileExistsError. A real user's home has them after one run."""
    subprocess.run([sys.executable, "-c", "from cumulusci.cli.runtime import CliRuntime; CliRuntime(load_keychain=True)"],
                   cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)


@dataclass
class KillReport:
    kills: int = 0  # processes that died by SIGKILL
    finished_before_kill: int = 0
    partial_states: list[Any] = field(default_factory=list)  # what `observe` saw after each kill
    final_output: str = ""
    reruns_to_finish: int = 0


def kill_and_rerun(env: dict[str, str], task: str, options: dict[str, Any], kills: int, seed: int,
                   delay: tuple[float, float], observe: Callable[[], Any] = lambda: None,
                   max_reruns: int = 3, wait_for_progress: bool = True) -> KillReport:
    """Start the task ``kills`` times and SIGKILL it after a seeded random delay; with ``wait_for_progress``
    the delay starts once ``observe()`` changes (the run has begun writing), so start-up time on a busy
    machine does not decide where the kill lands. Then run it until it finishes."""
    rng = random.Random(seed)
    report = KillReport()
    for _ in range(kills):
        before = observe()
        process = run_task(env, task, **options)
        if wait_for_progress:
            deadline = time.monotonic() + 120
            while process.poll() is None and observe() == before and time.monotonic() < deadline:
                time.sleep(0.05)
        time.sleep(rng.uniform(*delay))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()  # type: ignore[union-attr]
        if process.returncode == -signal.SIGKILL:
            report.kills += 1
        else:
            report.finished_before_kill += 1
        report.partial_states.append(observe())
    for _ in range(max_reruns):
        report.reruns_to_finish += 1
        process = run_task(env, task, **options)
        output, _ = process.communicate(timeout=600)
        report.final_output = output
        if process.returncode == 0:
            return report
    raise AssertionError(f"{task} did not finish after the kills:\n{report.final_output[-4000:]}")


# ----------------------------------------------------------------- dedupe

def dedupe_world(marketo_service: Any, clusters: int, seed: int) -> dict[str, list[int]]:
    """``clusters`` emails, each held by a form-filled person and a CRM contact person (a third of them also
    by a CRM lead person), with form activity history. Returns email -> person ids."""
    rng = random.Random(seed)
    persons: dict[str, list[int]] = {}
    for c in range(clusters):
        email = f"dup{c}@example.jp"
        form = marketo_service.create_form_persons([{"email": email, "firstName": f"花{c}", "phone": f"090{c:07d}"}])
        crm = [{"email": email.upper() if rng.random() < 0.3 else email, "sfdcType": "Contact",
                "sfdcContactId": f"003{c:012d}AAA", "lastName": "山田"}]
        if c % 3 == 0:
            crm.append({"email": email, "sfdcType": "Lead", "sfdcLeadId": f"00Q{c:012d}AAA", "lastName": "山田"})
        made = marketo_service.create_crm_persons(crm)
        persons[email] = [form[0]["id"], *(m["id"] for m in made)]
    return persons


def marketo_db(marketo_dir: Path) -> Path:
    return next(p for p in marketo_dir.rglob("*.sqlite*") if not p.name.endswith(("-wal", "-shm", "-journal")))


def tombstones(marketo_dir: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(marketo_db(marketo_dir)) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("SELECT id, kind, merged_into FROM lead_tombstones")]


def activity_owners(marketo_dir: Path) -> dict[int, int]:
    """original lead id -> lead id now holding the activity."""
    with sqlite3.connect(marketo_db(marketo_dir)) as db:
        return {int(o): int(n) for o, n in db.execute("SELECT original_lead_id, lead_id FROM activities")}


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    lines = []
    for text in path.read_text(encoding="utf-8").splitlines():
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError:  # the last line of a killed run may be cut short
            continue
    return lines


# ----------------------------------------------------------------- the services as a process

def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalCloudProcess:
    """`python -m localcloud --home H serve` with OS-chosen ports; `state()` is what it wrote on start."""

    def __init__(self, home: Path, certs_dir: Path | None = None, keep_ports: bool = False) -> None:
        """``certs_dir``: an existing CA and server certificate to serve with (the caller already trusts it).
        ``keep_ports``: two free ports are chosen once and kept across restarts (clients keep their URLs)."""
        self.home = home
        self.process: subprocess.Popen[bytes] | None = None
        self.ports = (free_port(), free_port()) if keep_ports else (0, 0)
        if certs_dir is not None:
            import shutil

            (home / "tls").mkdir(parents=True, exist_ok=True)
            for name in ("ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "bundle.pem"):
                if (certs_dir / name).exists():
                    shutil.copy2(certs_dir / name, home / "tls" / name)

    def start(self, timeout: float = 60) -> dict[str, Any]:
        state_file = self.home / "localcloud.json"
        state_file.unlink(missing_ok=True)
        env = dict(os.environ, ECBRIDGE_ORG_PORT=str(self.ports[0]), ECBRIDGE_MARKETO_PORT=str(self.ports[1]),
                   ECBRIDGE_PUBSUB_PORT="0")
        self.process = subprocess.Popen([sys.executable, "-m", "localcloud", "--home", str(self.home), "serve"],
                                        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"localcloud serve exited with {self.process.returncode}")
            for candidate in [state_file]:
                try:
                    state = json.loads(candidate.read_text())
                except (OSError, ValueError):
                    continue
                if isinstance(state, dict) and state.get("pid") == self.process.pid and "org" in state:
                    return state
            time.sleep(0.1)
        raise AssertionError("localcloud serve did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.send_signal(signal.SIGKILL)
                self.process.wait(timeout=20)


def deploy_over_soap(instance_url: str, org_id: str, token: str, zip_bytes: bytes, bundle: str) -> None:
    """Deploy a Metadata API zip the way CumulusCI does (SOAP deploy, then checkDeployStatus until done)."""
    import base64
    from xml.dom.minidom import parseString

    import requests
    from cumulusci.salesforce_api import soap_envelopes

    def soap(action: str, envelope: str) -> list[str]:
        answer = requests.post(f"{instance_url}/services/Soap/m/62.0/{org_id}",
                               data=envelope.replace("###SESSION_ID###", token).encode(),
                               headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action},
                               verify=bundle, timeout=300)
        assert answer.status_code == 200, answer.text[:1000]
        return answer.text  # type: ignore[return-value]

    def text(xml: str, tag: str) -> list[str]:
        return [n.firstChild.nodeValue if n.firstChild else "" for n in parseString(xml).getElementsByTagName(tag)]

    started = soap("deploy", soap_envelopes.DEPLOY.format(
        package_zip=base64.b64encode(zip_bytes).decode(), check_only="false", purge_on_delete="false",
        test_level="", run_tests="", api_version="62.0"))
    [deploy_id] = text(started, "id")
    for _ in range(600):
        status = soap("checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id=deploy_id))
        if text(status, "done") == ["true"]:
            assert text(status, "status") == ["Succeeded"], status[:3000]
            return
        time.sleep(0.1)
    raise AssertionError("deploy did not finish")


def stored_counts(marketo_dir: Path) -> tuple[int, int]:
    """(persons, custom object records) in the local Marketo's database, read without API calls."""
    with sqlite3.connect(marketo_db(marketo_dir)) as db:
        return (db.execute("SELECT COUNT(*) FROM leads").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM custom_objects").fetchone()[0])
