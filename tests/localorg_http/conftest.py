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
