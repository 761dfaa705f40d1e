"""OAuth, userinfo, identity URL, the version list and the 401 every other path answers without a token.

Only the HTTP layer and the identity store are needed here, so the org runs without data."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
import requests

from localcloud.common.httpserver import serve
from localcloud.common.tls import CertificateFiles
from localcloud.salesforce.data import make_id
from localcloud.salesforce.http.app import build_app
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.identity import IdentityStore

ORG_ID = make_id("00D", 1)
USER_ID = make_id("005", 1)


class Org:
    def __init__(self, tmp: Path, certs: CertificateFiles):
        self.certs = certs
        self.identity = IdentityStore(tmp / "auth.sqlite3", ORG_ID, USER_ID, "admin@local.test")
        self.context = OrgContext(identity=self.identity, data=None)
        self.server = serve(build_app(self.context), ssl_context=self.certs.server_context())
        self.context.instance_url = self.url = self.server.url
        self.session = requests.Session()

    def post_token(self, **form: str) -> requests.Response:
        return self.session.post(self.url + "/services/oauth2/token", data=form)


@pytest.fixture
def org(tmp_path: Path, certificates: CertificateFiles) -> Iterator[Org]:
    running = Org(tmp_path, certificates)
    yield running
    running.server.stop()
    running.identity.close()


def test_version_list_needs_no_token_and_ends_with_the_latest(org: Org) -> None:
    response = org.session.get(org.url + "/services/data")
    assert response.status_code == 200
    versions = response.json()
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert [float(v["version"]) for v in versions] == sorted(float(v["version"]) for v in versions)
    assert {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"} in versions


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer 00Dnotatoken"}, {"Authorization": "Basic abc"}])
def test_other_paths_answer_401_invalid_session(org: Org, headers: dict[str, str]) -> None:
    for path in ("/services/data/v62.0/sobjects", "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact", "/services/data/v62.0/limits"):
        response = org.session.get(org.url + path, headers=headers)
        assert response.status_code == 401, path
        assert response.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_refresh_token_grant(org: Org) -> None:
    ident = org.identity.identity
    response = org.post_token(grant_type="refresh_token", refresh_token=ident.refresh_token, client_id="any-app")
    assert response.status_code == 200
    body = response.json()
    assert body["instance_url"] == org.url
    assert body["id"] == f"{org.url}/id/{ORG_ID}/{USER_ID}"
    assert body["token_type"] == "Bearer" and body["issued_at"].isdigit() and body["signature"]
    assert org.session.get(org.url + "/services/oauth2/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    bad = org.post_token(grant_type="refresh_token", refresh_token="nope")
    assert bad.status_code == 400
    assert bad.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def test_password_grant(org: Org) -> None:
    ident = org.identity.identity
    ok = org.post_token(grant_type="password", client_id=ident.client_id, client_secret=ident.client_secret,
                        username=ident.username, password=ident.password)
    assert ok.status_code == 200 and "refresh_token" not in ok.json()
    wrong = org.post_token(grant_type="password", client_id=ident.client_id, username=ident.username, password="x")
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["error_description"] == "authentication failure"


def test_client_credentials_grant(org: Org) -> None:
    ident = org.identity.identity
    ok = org.post_token(grant_type="client_credentials", client_id=ident.client_id, client_secret=ident.client_secret)
    assert ok.status_code == 200
    token = ok.json()["access_token"]
    assert org.session.get(org.url + "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"}).status_code != 401
    assert org.post_token(grant_type="client_credentials", client_id="other", client_secret="x").json()["error"] == "invalid_client_id"
    assert org.post_token(grant_type="client_credentials", client_id=ident.client_id, client_secret="x").json()["error"] == "invalid_client"
    assert org.post_token(grant_type="jwt-bearer-unknown").json()["error"] == "unsupported_grant_type"


def test_authorization_code_grant_is_one_time_and_bound_to_client_and_redirect(org: Org) -> None:
    callback = "http://localhost:1717/OauthRedirect"
    code = org.identity.issue_auth_code("PlatformCLI", callback)
    wrong = org.post_token(grant_type="authorization_code", code=code, client_id="other", redirect_uri=callback)
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_grant",
                                                         "error_description": "invalid client credentials"}
    code = org.identity.issue_auth_code("PlatformCLI", callback)
    ok = org.post_token(grant_type="authorization_code", code=code, client_id="PlatformCLI", redirect_uri=callback)
    assert ok.status_code == 200, ok.text
    body = ok.json()
    assert body["refresh_token"] == org.identity.identity.refresh_token and body["instance_url"] == org.url
    assert org.session.get(body["id"], headers={"Authorization": f"Bearer {body['access_token']}"}).status_code == 200
    again = org.post_token(grant_type="authorization_code", code=code, client_id="PlatformCLI", redirect_uri=callback)
    assert again.json() == {"error": "invalid_grant", "error_description": "invalid authorization code"}
    assert org.post_token(grant_type="authorization_code", code="x").json()["error"] == "invalid_grant"
    expired = org.identity.issue_auth_code("PlatformCLI", callback, ttl_s=-1)
    late = org.post_token(grant_type="authorization_code", code=expired, client_id="PlatformCLI", redirect_uri=callback)
    assert late.json()["error_description"] == "expired authorization code"


def test_userinfo_and_identity_url(org: Org) -> None:
    token = org.identity.issue_token("test", org.url).access_token
    headers = {"Authorization": f"Bearer {token}"}
    info = org.session.get(org.url + "/services/oauth2/userinfo", headers=headers).json()
    assert info["user_id"] == USER_ID and info["organization_id"] == ORG_ID
    assert info["preferred_username"] == "admin@local.test"
    assert info["urls"]["rest"] == f"{org.url}/services/data/v{{version}}/"
    identity = org.session.get(f"{org.url}/id/{ORG_ID}/{USER_ID}", headers=headers).json()
    assert identity["username"] == "admin@local.test" and identity["user_id"] == USER_ID
    assert org.session.get(org.url + "/services/oauth2/userinfo", headers={"Authorization": "Bearer bad"}).status_code == 403


def test_tokens_survive_a_restart_and_revoke_ends_them(org: Org, tmp_path: Path) -> None:
    token = org.identity.issue_token("test", org.url).access_token
    reopened = IdentityStore(tmp_path / "auth.sqlite3", ORG_ID, USER_ID)
    assert reopened.is_valid(token)
    assert reopened.identity.refresh_token == org.identity.identity.refresh_token
    reopened.close()
    assert org.session.post(org.url + "/services/oauth2/revoke", data={"token": token}).status_code == 200
    assert not org.identity.is_valid(token)
    other_org = IdentityStore(tmp_path / "auth.sqlite3", make_id("00D", 2), USER_ID)
    assert not other_org.is_valid(token), "a reset org (new org id) forgets every token"
    other_org.close()


def test_api_calls_are_counted_in_limits(org: Org) -> None:
    before = org.identity.api_calls(org.context.today())
    token = org.identity.issue_token("test", org.url).access_token
    for _ in range(3):
        org.session.get(org.url + "/services/data/v62.0/limits", headers={"Authorization": f"Bearer {token}"})
    assert org.identity.api_calls(org.context.today()) == before + 3
