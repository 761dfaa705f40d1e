"""Shared fixtures: an in-process local org and local Marketo (one CA), the project deployed, `cci` to drive them."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import ensure_certificates

ROOT = Path(__file__).resolve().parents[2]
CCI = ROOT / ".venv" / "bin" / "cci"


def cci(env: dict[str, str], *args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CCI), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from localcloud.marketo.service import start_local_marketo
    from localcloud.salesforce.server import start_local_org

    base = tmp_path_factory.mktemp("journey")
    certificates = ensure_certificates(base / "tls")
    org = start_local_org(base / "org", tls_dir=base / "tls")
    # fresh, as `python -m localcloud up` starts it: ecbridge_deploy's provision_marketo creates ECBridge's fields
    marketo = start_local_marketo(base / "marketo", certs_dir=base / "tls", fresh=True)
    home = base / "home"
    (home / ".cumulusci").mkdir(parents=True)
    # cci looks for a newer version at most once an hour: a fresh timestamp keeps it offline.
    (home / ".cumulusci" / "cumulus_timestamp").write_text(str(time.time() + 10 * 365 * 86400))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CUMULUSCI_ORG_", "CUMULUSCI_SERVICE_", "CUMULUSCI_KEYCHAIN_CLASS", "ECBRIDGE_HOME",
                                "MARKETO_", "SF_", "SFDX_"))}
    env.update({
        "HOME": str(home),
        "PATH": f"{ROOT / 'node_modules' / '.bin'}:{ROOT / '.venv' / 'bin'}:{env.get('PATH', '')}",
        # the project's keychain (cumulusci.yml), as `make demo` uses it, with its orgs in the test's own state folder
        "ECBRIDGE_HOME": str(base / "state"),
        "CUMULUSCI_ORG_local": json.dumps(org.cumulusci_org_json()),
        "MARKETO_BASE_URL": marketo.url,
        "MARKETO_CLIENT_ID": marketo.client_id,
        "MARKETO_CLIENT_SECRET": marketo.client_secret,
        "REQUESTS_CA_BUNDLE": str(certificates.bundle),
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SFDX_DISABLE_TELEMETRY": "true",
        "CUMULUSCI_DISABLE_TELEMETRY": "true",
    })
    yield {"org": org, "marketo": marketo, "env": env, "reports": base / "reports", "bundle": str(certificates.bundle)}
    marketo.stop()
    org.stop()


def endpoint_answers(org: Any, bundle: str) -> bool:
    answer = requests.post(
        org.url + "/services/apexrest/ecbridge/v1/events",
        json={"events": []},
        headers={"Authorization": f"Bearer {org.access_token}"},
        verify=bundle,
        timeout=30,
    )
    return answer.status_code != 404


@pytest.fixture(scope="module")
def project_deployed(local_cloud: dict[str, Any]) -> dict[str, Any]:
    """The project's metadata and Apex deployed with its own flow, the permission set assigned."""
    result = cci(local_cloud["env"], "flow", "run", "ecbridge_deploy", "--org", "local")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return local_cloud


@pytest.fixture(scope="module")
def deployed(project_deployed: dict[str, Any]) -> dict[str, Any]:
    """Deployed, and the org runs the EC endpoint (Apex REST)."""
    local_cloud = project_deployed
    assert endpoint_answers(local_cloud["org"], local_cloud["bundle"]), "the deployed EC endpoint answers 404"
    return local_cloud


