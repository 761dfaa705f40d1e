"""The generated force-app, converted by the real `sf project convert source` and deployed, selects the
member, order and line objects for Change Data Capture."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest


ROOT = Path(__file__).resolve().parents[2]


def _mdapi_zip(tmp_path: Path) -> bytes:
    env = {**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
           "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "HOME": str(tmp_path / "home")}
    if shutil.which("sf", path=env["PATH"]) is None:
        pytest.skip("sf is not installed (make install)")
    out = tmp_path / "mdapi"
    done = subprocess.run(["sf", "project", "convert", "source", "-d", str(out), "-r", "force-app"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(out.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(out).as_posix())
    return buffer.getvalue()


def test_force_app_selects_member_order_and_line(org: Any, tmp_path: Path) -> None:
    job = org.deployer.deploy_zip(_mdapi_zip(tmp_path))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    from localcloud.salesforce.pubsub import start_pubsub

    with start_pubsub(org) as pubsub:
        assert sorted(pubsub.capture.selected()) == sorted(["Contact", "EC_Order__c", "EC_Order_Line__c"])
        assert [c["fullName"] for c in org.repository.components("PlatformEventChannelMember")] == [
            "ChangeEvents_ContactChangeEvent", "ChangeEvents_EC_Order_ChangeEvent",
            "ChangeEvents_EC_Order_Line_ChangeEvent"]
