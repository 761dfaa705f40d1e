"""Access tokens of the local org expire like Salesforce sessions: idle past the session timeout they
answer 401 INVALID_SESSION_ID (SOAP: the sf:INVALID_SESSION_ID fault), activity extends them, and
clients recover with the refresh token.

Time is moved with an injected clock (``IdentityStore.clock``); one test sleeps for real (1.2 s) to
prove the ``ECBRIDGE_ORG_SESSION_TIMEOUT`` setting end to end across a restart.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Iterator
from xml.dom.minidom import parseString

import pytest
import requests
from cumulusci.core.config import OrgConfig, ServiceConfig
from cumulusci.salesforce_api import soap_envelopes
from cumulusci.salesforce_api.metadata import ApiListMetadata
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from localcloud.config import DEFAULT_ORG_SESSION_TIMEOUT_SECONDS, org_session_timeout_seconds
from localcloud.salesforce.data import make_id
from localcloud.salesforce.http.identity import IdentityStore
from localcloud.salesforce.server import SESSION_GRANT, LocalOrgHandle, start_local_org

ORG_ID = make_id("00D", 7)
USER_ID = make_id("005", 7)
EXPIRED_BODY = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
QUERY = "SELECT Id, Name FROM Contact"


class FakeClock:
    """Wall-clock seconds that move only when told to."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def org(tmp_path: Path, certificates, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalOrgHandle]:
    """A local org whose session timeout is 1 s (through the setting) and whose clock the test moves."""
    monkeypatch.setenv("ECBRIDGE_ORG_SESSION_TIMEOUT", "1")
    running = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    assert running.context.identity.session_timeout_s == 1.0
    clock.now = time.time()  # not before the start: a slow start would leave the first token "from the future"
    running.context.identity.clock = clock
    yield running
    running.stop()


def simple_salesforce(org: LocalOrgHandle, token: str) -> Salesforce:
    return Salesforce(instance_url=org.url, session_id=token, version="62.0")


def refresh(org: LocalOrgHandle) -> str:
    response = requests.post(f"{org.url}/services/oauth2/token",
                             data={"grant_type": "refresh_token", "refresh_token": org.refresh_token, "client_id": "any"})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def soap_list_metadata(org: LocalOrgHandle, token: str) -> requests.Response:
    envelope = soap_envelopes.LIST_METADATA.format(metadata_type="ApexClass", folder="", as_of_version="62.0")
    return requests.post(
        f"{org.url}/services/Soap/m/62.0/{org.org_id}",
        data=envelope.replace("###SESSION_ID###", token).encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "listMetadata"},
    )


def fault_code(response: requests.Response) -> str | None:
    nodes = parseString(response.content).getElementsByTagName("faultcode")
    return nodes[0].firstChild.nodeValue if nodes else None


def test_a_token_idle_past_the_timeout_answers_401_invalid_session_id(org: LocalOrgHandle, clock: FakeClock) -> None:
    sf = simple_salesforce(org, org.access_token)
    assert sf.query(QUERY)["done"] is True
    clock.advance(1.5)
    with pytest.raises(SalesforceExpiredSession) as raised:
        sf.query(QUERY)
    assert raised.value.status == 401
    assert raised.value.content == EXPIRED_BODY
    # once expired it stays dead on every surface, even right after the failed call
    headers = {"Authorization": f"Bearer {org.access_token}"}
    apex_rest = requests.get(f"{org.url}/services/apexrest/ecbridge/v1/events", headers=headers)
    assert (apex_rest.status_code, apex_rest.json()) == (401, EXPIRED_BODY)
    assert requests.get(f"{org.url}/services/oauth2/userinfo", headers=headers).status_code == 403
    response = soap_list_metadata(org, org.access_token)
    assert response.status_code == 500 and fault_code(response) == "sf:INVALID_SESSION_ID"
    assert org.context.identity.last_activity(org.access_token) is None, "an expired token is forgotten"


def test_a_token_in_steady_use_stays_valid_past_the_timeout(org: LocalOrgHandle, clock: FakeClock) -> None:
    sf = simple_salesforce(org, org.access_token)
    contact_id = sf.Contact.create({"LastName": "Steady"})["id"]
    for step in range(8):  # 8 x 0.6 s = 4.8 s, nearly five timeouts
        clock.advance(0.6)
        assert sf.Contact.get(contact_id)["LastName"] == "Steady", f"step {step}"


@pytest.mark.parametrize("surface", ["rest", "apex_rest", "soap_metadata", "userinfo", "identity_url"])
def test_every_authenticated_surface_extends_the_session(org: LocalOrgHandle, clock: FakeClock, surface: str) -> None:
    token = org.access_token
    headers = {"Authorization": f"Bearer {token}"}
    calls = {
        "rest": lambda: requests.get(f"{org.url}/services/data/v62.0/limits", headers=headers),
        "apex_rest": lambda: requests.get(f"{org.url}/services/apexrest/nothing/here", headers=headers),
        "soap_metadata": lambda: soap_list_metadata(org, token),
        "userinfo": lambda: requests.get(f"{org.url}/services/oauth2/userinfo", headers=headers),
        "identity_url": lambda: requests.get(f"{org.url}/id/{org.org_id}/{org.user_id}", headers=headers),
    }
    assert simple_salesforce(org, token).query(QUERY)["done"] is True
    clock.advance(0.7)
    answer = calls[surface]()
    if surface == "soap_metadata":
        assert answer.status_code == 200 and fault_code(answer) is None, answer.text
    else:
        assert answer.status_code not in (401, 403), answer.text
    clock.advance(0.7)  # 1.4 s after the REST call, 0.7 s after the surface's call
    assert simple_salesforce(org, token).query(QUERY)["done"] is True


def test_a_refresh_token_grant_gives_a_working_token_after_expiry(org: LocalOrgHandle, clock: FakeClock) -> None:
    clock.advance(5)
    with pytest.raises(SalesforceExpiredSession):
        simple_salesforce(org, org.access_token).query(QUERY)
    fresh = refresh(org)
    assert fresh != org.access_token
    assert simple_salesforce(org, fresh).query(QUERY)["done"] is True


def test_cumulusci_refreshes_on_the_soap_fault_and_retries(org: LocalOrgHandle, clock: FakeClock) -> None:
    """CumulusCI's own Metadata API call: sf:INVALID_SESSION_ID -> refresh_oauth_token -> the same call again."""
    org_config = OrgConfig(org.cumulusci_org_json(), "local")
    keychain = SimpleNamespace(get_service=lambda name, alias=None: ServiceConfig(
        {"client_id": org.client_id, "client_secret": org.client_secret, "callback_url": "http://localhost:8080/callback"}
    ))
    task = SimpleNamespace(
        org_config=org_config, logger=SimpleNamespace(info=lambda *a, **k: None),
        project_config=SimpleNamespace(keychain=keychain, project__package__api_version="62.0"),
    )
    clock.advance(2)  # the token CumulusCI holds has expired
    assert ApiListMetadata(task, "ApexClass", as_of_version="62.0")() == {"ApexClass": []}
    assert org_config.access_token != org.access_token, "CumulusCI refreshed the expired session"
    assert org.context.identity.is_valid(org_config.access_token)


def test_expiry_survives_a_restart_of_the_store(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "auth.sqlite3"
    store = IdentityStore(path, ORG_ID, USER_ID, session_timeout_s=1, clock=clock)
    idle = store.issue_token("test", "https://127.0.0.1").access_token
    busy = store.issue_token("test", "https://127.0.0.1").access_token
    clock.advance(0.9)
    assert store.is_valid(busy)
    store.close()

    clock.advance(0.6)  # idle: 1.5 s since issue; busy: 0.6 s since its last use
    reopened = IdentityStore(path, ORG_ID, USER_ID, session_timeout_s=1, clock=clock)
    assert not reopened.is_valid(idle), "a restart does not revive an expired token"
    assert reopened.is_valid(busy), "a restart does not end a live token"
    reopened.close()
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT token FROM tokens")] == [busy]


def test_activity_is_written_in_batches_not_per_request(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "auth.sqlite3"
    store = IdentityStore(path, ORG_ID, USER_ID, session_timeout_s=7200, clock=clock)
    issued = store.issue_token("test", "https://127.0.0.1")

    def written() -> int:
        with sqlite3.connect(path) as db:
            return db.execute("SELECT last_used_ms FROM tokens WHERE token = ?", (issued.access_token,)).fetchone()[0]

    for _ in range(20):
        clock.advance(1)
        assert store.is_valid(issued.access_token)
    assert written() == issued.issued_at_ms, "20 requests in 20 s cost no write"
    assert store.last_activity(issued.access_token) == clock.now
    clock.advance(60)
    assert store.is_valid(issued.access_token)
    assert written() == int(clock.now * 1000), "a minute later the activity is written"
    clock.advance(5)
    assert store.is_valid(issued.access_token)
    store.close()
    assert written() == int(clock.now * 1000), "close writes what is left"


def test_session_token_hands_out_a_fresh_token_once_the_newest_expired(tmp_path: Path, clock: FakeClock) -> None:
    store = IdentityStore(tmp_path / "auth.sqlite3", ORG_ID, USER_ID, session_timeout_s=1, clock=clock)
    first = store.session_token(SESSION_GRANT, "https://127.0.0.1")
    clock.advance(0.8)
    assert store.session_token(SESSION_GRANT, "https://127.0.0.1") == first, "a live token is handed out again"
    clock.advance(0.8)
    assert store.session_token(SESSION_GRANT, "https://127.0.0.1") == first, "handing it out counted as activity"
    clock.advance(1.5)
    renewed = store.session_token(SESSION_GRANT, "https://127.0.0.1")
    assert renewed != first
    assert store.is_valid(renewed) and not store.is_valid(first)
    store.close()


def test_the_setting_expires_tokens_across_a_restart_of_the_org(tmp_path: Path, certificates,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Real clock, real setting: what `make up` writes after an idle restart is a working token."""
    monkeypatch.setenv("ECBRIDGE_ORG_SESSION_TIMEOUT", "1")
    with start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent) as first:
        old_token = first.access_token
        assert simple_salesforce(first, old_token).query(QUERY)["done"] is True
    time.sleep(1.2)
    with start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent) as second:
        assert second.access_token != old_token
        with pytest.raises(SalesforceExpiredSession):
            simple_salesforce(second, old_token).query(QUERY)
        assert simple_salesforce(second, second.access_token).query(QUERY)["done"] is True


def test_timeout_zero_or_negative_never_expires(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    for value in ("0", "-5"):
        monkeypatch.setenv("ECBRIDGE_ORG_SESSION_TIMEOUT", value)
        store = IdentityStore(tmp_path / f"auth{value}.sqlite3", ORG_ID, USER_ID, clock=clock)
        token = store.issue_token("test", "https://127.0.0.1").access_token
        clock.advance(10 * 365 * 86400)
        assert store.is_valid(token), value
        assert store.session_token(SESSION_GRANT, "https://127.0.0.1") == store.session_token(SESSION_GRANT, "x")
        store.close()


def test_the_setting_defaults_to_salesforces_two_hours_and_rejects_junk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ECBRIDGE_ORG_SESSION_TIMEOUT", raising=False)
    assert org_session_timeout_seconds() == DEFAULT_ORG_SESSION_TIMEOUT_SECONDS == 7200
    monkeypatch.setenv("ECBRIDGE_ORG_SESSION_TIMEOUT", "2h")
    with pytest.raises(ValueError, match="ECBRIDGE_ORG_SESSION_TIMEOUT='2h' is not a number of seconds"):
        org_session_timeout_seconds()


def test_concurrent_requests_revokes_and_issues_stay_consistent(tmp_path: Path, clock: FakeClock) -> None:
    store = IdentityStore(tmp_path / "auth.sqlite3", ORG_ID, USER_ID, session_timeout_s=1, clock=clock)
    live = store.issue_token("test", "https://127.0.0.1").access_token
    revoked = [store.issue_token("test", "https://127.0.0.1").access_token for _ in range(50)]
    failures: list[str] = []

    def use() -> None:
        for _ in range(300):
            if not store.is_valid(live):
                failures.append("live token refused")

    def revoke_all() -> None:
        for token in revoked:
            store.revoke(token)
            store.is_valid(token)  # a use racing the revoke must not bring it back

    threads = [threading.Thread(target=use) for _ in range(4)] + [threading.Thread(target=revoke_all)]
    threads += [threading.Thread(target=lambda: [store.issue_token("t", "u") for _ in range(30)])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert not any(store.is_valid(token) for token in revoked)
    store.close()
