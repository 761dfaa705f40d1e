"""The local Marketo, started in-process on 127.0.0.1 for each test, with a client for it."""
from __future__ import annotations

import pytest
import requests

from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy


@pytest.fixture
def local_marketo(tmp_path, monkeypatch):
    service = pytest.importorskip("localcloud.marketo.service")
    running = service.start_local_marketo(tmp_path / "marketo", certs_dir=tmp_path / "certs")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_bundle))  # trusted as clients do
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def marketo_client(local_marketo):
    session = requests.Session()
    session.verify = str(local_marketo.ca_bundle)
    client = MarketoClient(
        MarketoCredentials(local_marketo.url, local_marketo.client_id, local_marketo.client_secret),
        calls_per_window=100, max_in_flight=5, session=session,
        retry=RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05),
    )
    try:
        yield client
    finally:
        client.close()
