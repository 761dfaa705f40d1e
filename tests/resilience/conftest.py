"""Fixtures of the resilience suite: the local org with the project's force-app deployed (in-process,
port 0, through the org's own Metadata deployer), the local Marketo, and helpers to call the EC endpoint.

Reuses the other areas' fixtures (tests/push/conftest.py, tests/e2e/conftest.py) rather than copying them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import CertificateFiles, ensure_certificates
from tests.mdapi import force_app_mdapi_zip

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "/services/apexrest/ecbridge/v1/events"
API = "62.0"

def deploy_force_app(org: Any) -> None:
    """Deploy the project's metadata and production Apex (Apex tests are run by the apex area)."""
    job = org.deployer.deploy_zip(force_app_mdapi_zip(include_tests=False))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message


@dataclass
class DeployedOrg:
    org: Any
    bundle: str

    @property
    def url(self) -> str:
        return self.org.url

    def post(self, body: Any, *, raw: bytes | None = None, token: str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 120) -> requests.Response:
        sent = {"Authorization": f"Bearer {token if token is not None else self.org.access_token}",
                "Content-Type": "application/json"}
        sent.update(headers or {})
        import json

        data = raw if raw is not None else json.dumps(body).encode()
        return requests.post(self.org.url + ENDPOINT, data=data, headers=sent, verify=self.bundle, timeout=timeout)

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a SOQL query, through the REST query endpoint (following nextRecordsUrl)."""
        headers = {"Authorization": f"Bearer {self.org.access_token}"}
        answer = requests.get(f"{self.org.url}/services/data/v{API}/query", params={"q": soql},
                              headers=headers, verify=self.bundle, timeout=120)
        rows: list[dict[str, Any]] = []
        while True:
            assert answer.status_code == 200, answer.text[:500]
            page = answer.json()
            rows.extend(page["records"])
            if page.get("done", True):
                return rows
            answer = requests.get(self.org.url + page["nextRecordsUrl"], headers=headers, verify=self.bundle, timeout=120)


@pytest.fixture(scope="session")
def resilience_certs(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return ensure_certificates(tmp_path_factory.mktemp("res_tls"))


@pytest.fixture(autouse=True)
def _trust_local_ca(resilience_certs: CertificateFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(resilience_certs.bundle))


def start_deployed_org(base: Path, certs: CertificateFiles) -> DeployedOrg:
    from localcloud.salesforce.server import start_local_org

    org = start_local_org(base, tls_dir=certs.ca_cert.parent)
    deploy_force_app(org)
    return DeployedOrg(org, str(certs.bundle))


@pytest.fixture(scope="module")
def deployed_org(tmp_path_factory: pytest.TempPathFactory, resilience_certs: CertificateFiles) -> Iterator[DeployedOrg]:
    handle = start_deployed_org(tmp_path_factory.mktemp("res_org"), resilience_certs)
    yield handle
    handle.org.stop()


WORLD_MEMBERS, WORLD_ORDERS, WORLD_SEED = 150, 450, 4


@pytest.fixture(scope="session")
def clean_export(tmp_path_factory: pytest.TempPathFactory, resilience_certs: CertificateFiles) -> dict[str, Any]:
    """The normalised Marketo export an uninterrupted, fault-free push of the standard world leaves."""
    from tests.push.conftest import start_services, stop_services
    from tests.push.helpers import push

    from .world import marketo_export, seed_world

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(resilience_certs.bundle))
        handle = start_services(tmp_path_factory.mktemp("clean"), resilience_certs.ca_cert.parent)
        try:
            emails = seed_world(handle.sf, WORLD_MEMBERS, WORLD_ORDERS, seed=WORLD_SEED)
            summary = push(handle, chunk_size=50)
            assert summary.persons_created == WORLD_MEMBERS and not summary.persons_skipped and not summary.orders_skipped
            return marketo_export(handle.client, emails)
        finally:
            stop_services(handle)
