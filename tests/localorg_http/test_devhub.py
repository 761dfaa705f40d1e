"""The local org as a Dev Hub, driven over HTTP with the calls the sf CLI makes (``scratchOrgInfoApi``):
``ScratchOrgInfo`` create and poll, the auth code exchange at ``LoginUrl``, ``ActiveScratchOrg`` queries
and delete. Each scratch org is a separate org; deleting one removes it and its data."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import CertificateFiles
from localcloud.salesforce.devhub import DevHub, DevHubApp
from localcloud.salesforce.server import start_local_org
from tests.localorg_http.fixtures import mdapi_zip
from tests.localorg_http.test_metadata_soap import deploy, text

API = "/services/data/v62.0"
CALLBACK = "http://localhost:1717/OauthRedirect"  # what the sf CLI sends with its PlatformCLI app


@pytest.fixture
def hub(tmp_path: Path, certificates: CertificateFiles) -> Iterator[SimpleNamespace]:
    devhub = DevHub(tmp_path / "org" / "devhub", certificates.server_context())
    org = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent,
                          wrap_app=lambda app, context: DevHubApp(app, context, devhub))
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    yield SimpleNamespace(org=org, devhub=devhub, session=session, url=org.url + API)
    devhub.close()
    org.stop()


def create_scratch_org(hub: SimpleNamespace, **fields: Any) -> SimpleNamespace:
    """What ``sf org create scratch`` does against the hub: create, poll, authorize at LoginUrl."""
    request = {"Edition": "Developer", "DurationDays": 7, "OrgName": "ECBridge - Dev Org",
               "ConnectedAppConsumerKey": "PlatformCLI", "ConnectedAppCallbackUrl": CALLBACK, **fields}
    created = hub.session.post(hub.url + "/sobjects/ScratchOrgInfo", json=request)
    assert created.status_code == 201, created.text
    info = hub.session.get(hub.url + f"/sobjects/ScratchOrgInfo/{created.json()['id']}").json()
    assert info["Status"] == "Active" and info["AuthCode"] and info["LoginUrl"].startswith("https://127.0.0.1:")
    token = requests.post(info["LoginUrl"] + "/services/oauth2/token", data={
        "grant_type": "authorization_code", "code": info["AuthCode"], "client_id": "PlatformCLI",
        "redirect_uri": CALLBACK})
    assert token.status_code == 200, token.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    identity = session.get(token.json()["id"]).json()
    return SimpleNamespace(info=info, token=token.json(), session=session, url=info["LoginUrl"] + API,
                           identity=identity, org_id=identity["organization_id"], login_url=info["LoginUrl"],
                           access_token=token.json()["access_token"])


def hub_query(hub: SimpleNamespace, soql: str) -> dict[str, Any]:
    answer = hub.session.get(hub.url + "/query", params={"q": soql})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_two_scratch_orgs_are_separate_orgs_and_deleting_one_frees_its_data(hub: SimpleNamespace) -> None:
    assert hub_query(hub, "SELECT Id FROM ScratchOrgInfo limit 1")["totalSize"] == 0  # sf's Dev Hub check
    a = create_scratch_org(hub, AdminEmail="dev@example.com", DurationDays=3)
    b = create_scratch_org(hub, Edition="Enterprise", OrgName="ECBridge - Release Test Org")

    ids = {hub.org.org_id, a.org_id, b.org_id}
    assert len(ids) == 3 and all(i.startswith("00D") for i in ids)
    assert a.identity["username"] == a.info["SignupUsername"] != b.identity["username"]
    assert a.identity["email"] == "dev@example.com"
    assert a.login_url != b.login_url != hub.org.url
    organization = b.session.get(b.url + "/query", params={"q": "SELECT Name, OrganizationType FROM Organization"})
    assert organization.json()["records"][0]["OrganizationType"] == "Enterprise Edition"
    assert a.info["ScratchOrg"] == a.org_id[:15]

    # a deploy into one is not visible in the other
    deployed = deploy(SimpleNamespace(url=a.login_url, org_id=a.org_id, access_token=a.access_token), mdapi_zip())
    assert text(deployed, "status") == ["Succeeded"], deployed.text
    assert a.session.get(a.url + "/sobjects/Test_Order__c/describe").status_code == 200
    assert b.session.get(b.url + "/sobjects/Test_Order__c/describe").status_code == 404
    # nor its data
    made = a.session.post(a.url + "/sobjects/Contact", json={"LastName": "Sato", "Email": "sato@example.com"})
    assert made.status_code == 201, made.text
    count = "SELECT COUNT() FROM Contact WHERE LastName = 'Sato'"
    assert a.session.get(a.url + "/query", params={"q": count}).json()["totalSize"] == 1
    assert b.session.get(b.url + "/query", params={"q": count}).json()["totalSize"] == 0
    assert hub.session.get(hub.url + "/query", params={"q": count}).json()["totalSize"] == 0

    # the hub's books, as sf org display / org list read them
    listed = hub_query(hub, f"SELECT CreatedDate,Edition,ExpirationDate FROM ActiveScratchOrg WHERE ScratchOrg='{a.org_id[:15]}'")
    assert listed["totalSize"] == 1 and listed["records"][0]["Edition"] == "Developer"
    assert listed["records"][0]["ExpirationDate"] == a.info["ExpirationDate"]
    assert hub_query(hub, "SELECT Id FROM ActiveScratchOrg")["totalSize"] == 2

    # sf org delete scratch: find the ActiveScratchOrg by username, delete it
    [active] = hub_query(hub, f"SELECT Id FROM ActiveScratchOrg WHERE SignupUsername='{a.info['SignupUsername']}'")["records"]
    data_dir = hub.devhub.farm.data_dir(hub.devhub.registry.by_info_id(a.info["Id"]).org_number)
    assert (data_dir / "org.sqlite3").exists()
    assert hub.session.delete(hub.url + f"/sobjects/ActiveScratchOrg/{active['Id']}").status_code == 204
    assert not data_dir.exists(), "the deleted org's data is gone"
    with pytest.raises(requests.ConnectionError):
        requests.get(a.login_url + "/services/data", timeout=5)
    assert hub.session.get(hub.url + f"/sobjects/ScratchOrgInfo/{a.info['Id']}").json()["Status"] == "Deleted"
    assert hub.session.get(hub.url + f"/sobjects/ActiveScratchOrg/{active['Id']}").status_code == 404
    assert [r["ScratchOrg"] for r in hub_query(hub, "SELECT ScratchOrg FROM ActiveScratchOrg")["records"]] == [b.org_id[:15]]
    assert b.session.get(b.url + "/limits").status_code == 200, "the other org lives on"


def test_an_idle_scratch_org_is_closed_and_reopens_with_its_data(hub: SimpleNamespace) -> None:
    a = create_scratch_org(hub)
    assert a.session.post(a.url + "/sobjects/Contact", json={"LastName": "Tanaka"}).status_code == 201
    number = hub.devhub.registry.by_info_id(a.info["Id"]).org_number
    lazy = hub.devhub.farm.get(number)
    hub.devhub.farm.idle_seconds = 0
    assert hub.devhub.farm.close_idle() >= 1 and not lazy.loaded and hub.devhub.farm.loaded() == []
    loads = lazy.loads
    answer = a.session.get(a.url + "/query", params={"q": "SELECT LastName FROM Contact"})
    assert answer.json()["records"][0]["LastName"] == "Tanaka", "the token and the data survive closing"
    assert lazy.loaded and lazy.loads == loads + 1


def test_an_expired_scratch_org_is_deleted(hub: SimpleNamespace) -> None:
    a = create_scratch_org(hub, DurationDays=1)
    row = hub.devhub.registry.by_info_id(a.info["Id"])
    hub.devhub.registry.clock = lambda: row.expires_ms / 1000 + 1
    assert hub_query(hub, "SELECT Id FROM ActiveScratchOrg")["totalSize"] == 0
    assert hub.session.get(hub.url + f"/sobjects/ScratchOrgInfo/{a.info['Id']}").json()["Status"] == "Deleted"
    assert not hub.devhub.farm.data_dir(row.org_number).exists()


@pytest.mark.parametrize("fields, status, code, words", [
    ({"Features": "MultiCurrency"}, 400, "INVALID_INPUT", "MultiCurrency"),
    ({"Features": "API;AuthorApex"}, 201, None, None),
    ({"Edition": "Platinum"}, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "Platinum"),
    ({"Colour": "blue"}, 400, "INVALID_FIELD", "Colour"),
    ({"DurationDays": 31}, 400, "FIELD_INTEGRITY_EXCEPTION", "between 1 and 30"),
    ({"ConnectedAppConsumerKey": ""}, 400, "REQUIRED_FIELD_MISSING", "ConnectedAppConsumerKey"),
])
def test_what_the_local_org_cannot_make_is_refused_and_nothing_is_half_made(
        hub: SimpleNamespace, fields: dict[str, Any], status: int, code: str | None, words: str | None) -> None:
    request = {"Edition": "Developer", "ConnectedAppConsumerKey": "PlatformCLI", "ConnectedAppCallbackUrl": CALLBACK,
               **fields}
    answer = hub.session.post(hub.url + "/sobjects/ScratchOrgInfo", json=request)
    assert answer.status_code == status, answer.text
    if code:
        assert answer.json()[0]["errorCode"] == code and words in answer.json()[0]["message"]
        assert hub.devhub.registry.all() == [] and not list((hub.devhub.folder / "orgs").glob("*"))


def test_person_accounts_are_a_feature_of_the_scratch_org(hub: SimpleNamespace) -> None:
    with_pa = create_scratch_org(hub, Features="API;PersonAccounts")
    without = create_scratch_org(hub, Features="API")
    fields = {f["name"] for f in with_pa.session.get(with_pa.url + "/sobjects/Account/describe").json()["fields"]}
    assert {"IsPersonAccount", "PersonContactId", "PersonEmail", "LastName"} <= fields
    rt = with_pa.session.get(with_pa.url + "/query", params={
        "q": "SELECT Id FROM RecordType WHERE SobjectType = 'Account' AND IsPersonType = true"}).json()["records"]
    created = with_pa.session.post(with_pa.url + "/sobjects/Account", json={"RecordTypeId": rt[0]["Id"],
                                                                             "LastName": "Scratch"})
    assert created.status_code == 201, created.text
    plain = {f["name"] for f in without.session.get(without.url + "/sobjects/Account/describe").json()["fields"]}
    assert not plain & {"IsPersonAccount", "PersonContactId", "PersonEmail", "LastName"}
    refused = without.session.get(without.url + "/query", params={"q": "SELECT IsPersonType FROM RecordType"})
    assert refused.status_code == 400 and refused.json()[0]["errorCode"] == "INVALID_FIELD"


def test_the_hub_answers_only_its_token_and_queries_it_cannot_evaluate_fail_loudly(hub: SimpleNamespace) -> None:
    assert requests.post(hub.url + "/sobjects/ScratchOrgInfo", json={},
                         headers={"Authorization": "Bearer nope"}).status_code == 401
    bad = hub.session.get(hub.url + "/query", params={"q": "SELECT Id FROM ActiveScratchOrg WHERE CreatedDate > TODAY"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "MALFORMED_QUERY"
    assert "CreatedDate > TODAY" in bad.json()[0]["message"]


def test_ten_scratch_orgs_live_side_by_side_and_idle_ones_are_closed(hub: SimpleNamespace) -> None:
    orgs = [create_scratch_org(hub, OrgName=f"Org {n}") for n in range(10)]
    assert len({o.org_id for o in orgs}) == 10 and len({o.login_url for o in orgs}) == 10
    for n, org in enumerate(orgs):
        assert org.session.post(org.url + "/sobjects/Account", json={"Name": f"Account {n}"}).status_code == 201
    hub.devhub.farm.idle_seconds = 0
    hub.devhub.farm.close_idle()
    assert hub.devhub.farm.loaded() == [], "idle orgs hold no open store"
    for n, org in enumerate(orgs):
        names = [r["Name"] for r in org.session.get(org.url + "/query", params={"q": "SELECT Name FROM Account"}).json()["records"]]
        assert names == [f"Account {n}"]
    assert hub_query(hub, "SELECT Id FROM ActiveScratchOrg")["totalSize"] == 10


def test_sf_org_generate_password_sets_the_scratch_admin_password(hub: SimpleNamespace) -> None:
    """``sf org generate password`` (CumulusCI runs it after creating the org) calls Partner SOAP setPassword."""
    a = create_scratch_org(hub)
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/">'
                '<se:Header><SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{session}</sessionId>'
                '</SessionHeader></se:Header><se:Body><setPassword xmlns="urn:partner.soap.sforce.com">'
                '<userId>{user}</userId><password>{password}</password></setPassword></se:Body></se:Envelope>')
    url = f"{a.login_url}/services/Soap/u/62.0"
    headers = {"Content-Type": "text/xml", "SOAPAction": '""'}
    password = "Xq7!bright-Fuji-2026"
    done = requests.post(url, headers=headers, data=envelope.format(session=a.access_token, user=a.identity["user_id"],
                                                                    password=password))
    assert done.status_code == 200 and b"setPasswordResponse" in done.content, done.text
    login = requests.post(a.login_url + "/services/oauth2/token", data={
        "grant_type": "password", "username": a.identity["username"], "password": password})
    assert login.status_code == 200, login.text
    refused = requests.post(url, headers=headers, data=envelope.format(session="bad", user=a.identity["user_id"],
                                                                       password=password))
    assert refused.status_code == 500 and b"INVALID_SESSION_ID" in refused.content
    other = requests.post(url, headers=headers, data=envelope.format(session=a.access_token, user=a.identity["user_id"],
                                                                     password=password).replace("setPassword", "resetPassword"))
    assert other.status_code == 500 and b"UNKNOWN_OPERATION" in other.content and b"resetPassword" in other.content
