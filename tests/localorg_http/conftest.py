"""Shared fixtures: one private CA for the whole session, trusted through REQUESTS_CA_BUNDLE as clients do."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from localcloud.common.tls import CertificateFiles, ensure_certificates


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(autouse=True)
def trust_local_ca(certificates: CertificateFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.bundle))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    yield


@pytest.fixture
def org(tmp_path: Path, certificates: CertificateFiles):
    """An empty local org of the test's own (port 0), stopped after the test. Modules may override it."""
    from localcloud.salesforce.server import start_local_org

    running = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def deployed_org(tmp_path_factory: pytest.TempPathFactory, certificates: CertificateFiles):
    """A local org (port 0) with the fixture package deployed; shared by a module's tests."""
    from localcloud.salesforce.server import start_local_org
    from tests.localorg_http.fixtures import mdapi_zip

    org = start_local_org(tmp_path_factory.mktemp("org"), tls_dir=certificates.ca_cert.parent)
    job = org.deployer.deploy_zip(mdapi_zip())
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    yield org
    org.stop()


@pytest.fixture(scope="module")
def sf(deployed_org):
    """simple-salesforce, unmodified, pointed at the local org."""
    from simple_salesforce import Salesforce

    return Salesforce(instance_url=deployed_org.url, session_id=deployed_org.access_token, version="62.0")
