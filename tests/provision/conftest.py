"""A fresh local Marketo (no ECBridge fields, no ecOrder_c) per test, with ECBridge's client and env.

``local_marketo`` is the fresh one here, so the dedupe tests' ``marketo_client`` fixture serves as ``client``.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.common.tls import ensure_certificates
from localcloud.marketo.service import start_local_marketo
from tests.dedupe.conftest import marketo_client  # noqa: F401  (a shared fixture)


@pytest.fixture(scope="session")
def provision_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("provision-certs")
    ensure_certificates(directory)
    return directory


@pytest.fixture
def local_marketo(tmp_path, provision_certs, monkeypatch):
    handle = start_local_marketo(tmp_path / "marketo", certs_dir=provision_certs, fresh=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    monkeypatch.setenv("MARKETO_BASE_URL", handle.url)
    monkeypatch.setenv("MARKETO_CLIENT_ID", handle.client_id)
    monkeypatch.setenv("MARKETO_CLIENT_SECRET", handle.client_secret)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def fresh_marketo(local_marketo):
    return local_marketo


@pytest.fixture
def client(marketo_client):
    return marketo_client
