"""Run the real `cci` command line against a local org (helpers for the CumulusCI tests)."""
from __future__ import annotations

import json
import os
import subprocess
import time
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CCI = ROOT / ".venv" / "bin" / "cci"


def cci_env(org: Any, home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # cci checks for a newer version on the package index at most once an hour; a fresh timestamp
    # keeps it offline (nothing may reach the network).
    (home / ".cumulusci").mkdir(parents=True, exist_ok=True)
    (home / ".cumulusci" / "cumulus_timestamp").write_text(str(time.time() + 10 * 365 * 86400))
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("CUMULUSCI_ORG_", "CUMULUSCI_SERVICE_", "SFDX_", "SF_")) and key not in ("CURL_CA_BUNDLE",)
    }
    env.update({
        "HOME": str(home),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}:{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        "CUMULUSCI_KEYCHAIN_CLASS": "cumulusci.core.keychain.EnvironmentProjectKeychain",
        "CUMULUSCI_ORG_local": json.dumps(org.cumulusci_org_json()),
        "REQUESTS_CA_BUNDLE": org.ca_bundle,
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_DISABLE_AUTOUPDATE": "true",
        "SFDX_DISABLE_TELEMETRY": "true",
        "CUMULUSCI_DISABLE_TELEMETRY": "true",
    })
    env.update(extra or {})
    return env


def init_git(project: Path) -> None:
    for args in (["init", "-q"], ["add", "-A"], ["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "fixture"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)


def run_cci(project: Path, env: dict[str, str], *args: str, timeout: int = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CCI), *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout,
    )


def run_snowfakery(org: Any, base: Path, recipe: str) -> str:
    """`cci task run snowfakery --org local` of ``recipe`` from a fresh sfdx project under ``base``; the task's
    output with white space folded (CumulusCI wraps its log lines). Fails the test if the task fails."""
    from tests.localorg_http.fixtures import write_sfdx_project

    project = write_sfdx_project(base / "project")
    init_git(project)
    (base / "recipe.yml").write_text(recipe)
    result = run_cci(project, cci_env(org, base / "home"), "task", "run", "snowfakery", "--org", "local",
                     "-o", "recipe", str(base / "recipe.yml"))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, output[-3000:]
    return output


__all__ = ["cci_env", "init_git", "run_cci", "run_snowfakery", "sys"]
