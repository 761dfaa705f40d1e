"""Credentials come from the cci service or the environment; the secret never shows."""
from __future__ import annotations

import logging

import pytest
from cumulusci.core.config import ServiceConfig
from cumulusci.core.exceptions import ServiceNotConfigured

from python_tasks.marketo import (
    MarketoAuthError,
    MarketoClient,
    MarketoCredentials,
    MarketoCredentialsMissing,
    RetryPolicy,
    credentials_from_project,
)

from .scripted_marketo import CLIENT_ID, CLIENT_SECRET, failure

ENV = {
    "MARKETO_BASE_URL": "https://123-ABC-456.mktorest.com/rest",
    "MARKETO_CLIENT_ID": "cid",
    "MARKETO_CLIENT_SECRET": "very-secret-value",
}


class FakeKeychain:
    def __init__(self, service: ServiceConfig | None) -> None:
        self.service = service
        self.asked: list[str] = []

    def get_service(self, name: str) -> ServiceConfig:
        self.asked.append(name)
        if self.service is None:
            raise ServiceNotConfigured(f"Service {name} is not configured")
        return self.service


class FakeProject:
    def __init__(self, keychain: FakeKeychain) -> None:
        self.keychain = keychain


def test_env_credentials_normalise_the_rest_endpoint_url() -> None:
    creds = MarketoCredentials.from_env(ENV)
    assert creds.base_url == "https://123-ABC-456.mktorest.com"
    assert (creds.client_id, creds.client_secret) == ("cid", "very-secret-value")


def test_missing_env_variables_are_named() -> None:
    with pytest.raises(MarketoCredentialsMissing, match="MARKETO_CLIENT_SECRET"):
        MarketoCredentials.from_env({k: v for k, v in ENV.items() if k != "MARKETO_CLIENT_SECRET"})


def test_the_cci_service_wins_over_the_environment() -> None:
    service = ServiceConfig(
        {"base_url": "https://999-XYZ-111.mktorest.com", "client_id": "svc-id", "client_secret": "svc-secret"}
    )
    keychain = FakeKeychain(service)
    creds = credentials_from_project(FakeProject(keychain), environ=ENV)
    assert keychain.asked == ["marketo"]
    assert creds == MarketoCredentials("https://999-XYZ-111.mktorest.com", "svc-id", "svc-secret")


def test_without_the_service_the_environment_is_used_and_both_are_named_when_neither_exists() -> None:
    assert credentials_from_project(FakeProject(FakeKeychain(None)), environ=ENV).client_id == "cid"
    with pytest.raises(MarketoCredentialsMissing) as caught:
        credentials_from_project(FakeProject(FakeKeychain(None)), environ={})
    assert "cci service connect marketo" in str(caught.value)
    assert "MARKETO_BASE_URL" in str(caught.value)


def test_a_service_lacking_the_secret_is_an_error_naming_the_attribute() -> None:
    service = ServiceConfig({"base_url": "https://x.mktorest.com", "client_id": "id"})
    with pytest.raises(MarketoCredentialsMissing, match="client_secret"):
        credentials_from_project(FakeProject(FakeKeychain(service)), environ=ENV)


def test_repr_and_str_hide_the_secret() -> None:
    creds = MarketoCredentials.from_env(ENV)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert "very-secret-value" not in text
        assert "***" in text
    client = MarketoClient(creds)
    try:
        assert "very-secret-value" not in repr(client)
        assert "very-secret-value" not in repr(client.transport)
        assert "very-secret-value" not in repr(vars(client))
    finally:
        client.close()


def test_the_secret_never_reaches_the_logs_or_the_url(marketo, make_client, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    marketo.on("POST", "/rest/v1/leads.json", failure("606"), failure("602", "Access token expired"))
    client = make_client()
    results = client.sync_leads([{"email": "a@example.com"}])
    assert results[0].status == "created"
    assert len(marketo.token_requests) == 2
    for seen in marketo.token_requests:
        assert seen.method == "POST"
        assert CLIENT_SECRET not in str(seen.query), "the secret travels in the form body, not the URL"
    wrong = MarketoClient(
        MarketoCredentials(marketo.url, CLIENT_ID, CLIENT_SECRET + "-wrong"), retry=RetryPolicy(base_delay=0.01)
    )
    with pytest.raises(MarketoAuthError) as caught:
        wrong.describe2()
    wrong.close()
    assert caught.value.http_status == 401
    assert len(marketo.token_requests) == 3, "bad credentials are not retried"
    assert CLIENT_SECRET not in str(caught.value)
    assert caplog.records, "the run logged nothing: the test would prove nothing"
    assert CLIENT_SECRET not in caplog.text
    assert "tok-" not in caplog.text, "access tokens are not logged either"


def test_cumulusci_environment_keychain_service_is_read(monkeypatch) -> None:
    """The real CumulusCI keychain the Makefile selects (EnvironmentProjectKeychain), not a stand-in."""
    from pathlib import Path

    from cumulusci.core.config import BaseProjectConfig, UniversalConfig
    from cumulusci.core.keychain import EnvironmentProjectKeychain

    monkeypatch.setenv(
        "CUMULUSCI_SERVICE_marketo",
        '{"base_url": "https://222-BBB-333.mktorest.com/rest", "client_id": "env-svc", "client_secret": "env-svc-secret"}',
    )
    root = Path(__file__).resolve().parents[2]
    project = BaseProjectConfig(
        UniversalConfig(),
        repo_info={"root": str(root), "url": "https://example.invalid/ecbridge", "name": "ECBridge",
                   "owner": "ecbridge", "branch": "main", "commit": "0" * 40},
    )
    project.keychain = EnvironmentProjectKeychain(project, None)
    creds = credentials_from_project(project, environ={})
    assert creds == MarketoCredentials("https://222-BBB-333.mktorest.com", "env-svc", "env-svc-secret")
