"""A fresh local Marketo (no ECBridge fields, no ecOrder_c) per test, with ECBridge's client and env."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localcloud.common.tls import ensure_certificates
from localcloud.marketo.service import start_local_marketo
from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy


@pytest.fixture(scope="session")
def provision_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("provision-certs")
    ensure_certificates(directory)
    return directory


@pytest.fixture
def fresh_marketo(tmp_path, provision_certs, monkeypatch):
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
def client(fresh_marketo):
    session = requests.Session()
    session.verify = str(fresh_marketo.ca_bundle)
    made = MarketoClient(
        MarketoCredentials(fresh_marketo.url, fresh_marketo.client_id, fresh_marketo.client_secret),
        calls_per_window=100, max_in_flight=5, session=session,
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05),
    )
    try:
        yield made
    finally:
        made.close()
