"""Fixtures: a local Marketo on 127.0.0.1 over HTTPS, started and stopped by each test."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import ensure_certificates
from localcloud.marketo.service import ADMIN_HEADER, LocalMarketo, start_local_marketo


@pytest.fixture(scope="session")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("marketo-certs")
    ensure_certificates(directory)
    return directory


@pytest.fixture()
def marketo(
    tmp_path: Path, certs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalMarketo]:
    handle = start_local_marketo(tmp_path / "marketo", certs_dir=certs_dir)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(handle.ca_bundle))
    yield handle
    handle.stop()


class Api:
    """Plain `requests` against the local Marketo: token handling and the admin header, nothing else."""

    def __init__(self, handle: LocalMarketo):
        self.handle = handle
        self.session = requests.Session()
        self.session.verify = str(handle.ca_bundle)
        self.session.trust_env = (
            False  # REQUESTS_CA_BUNDLE in the environment would override `verify`
        )
        self._token: str | None = None

    def token(self, fresh: bool = False) -> str:
        if self._token is None or fresh:
            answer = self.session.get(
                self.handle.url + "/identity/oauth/token",
                params={
                    "grant_type": "client_credentials",
                    "client_id": self.handle.client_id,
                    "client_secret": self.handle.client_secret,
                },
            )
            assert answer.status_code == 200, answer.text
            self._token = answer.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers.setdefault("Authorization", f"Bearer {self.token()}")
        return self.session.request(method, self.handle.url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("GET", path, **kwargs).json()

    def post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call("POST", path, **kwargs).json()

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {ADMIN_HEADER: self.handle.client_secret, **kwargs.pop("headers", {})}
        return self.session.request(method, self.handle.url + path, headers=headers, **kwargs)


@pytest.fixture()
def api(marketo: LocalMarketo) -> Api:
    return Api(marketo)
