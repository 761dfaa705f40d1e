"""Identity tokens (same token until expiry, 401 on bad credentials), 600/601/602, envelope and call errors."""

from __future__ import annotations

import time

import requests

from localcloud.marketo.service import LocalMarketo
from tests.localmarketo.conftest import Api


def _token(marketo: LocalMarketo, method: str = "GET", **overrides: str) -> requests.Response:
    params = {
        "grant_type": "client_credentials",
        "client_id": marketo.client_id,
        "client_secret": marketo.client_secret,
        **overrides,
    }
    url = marketo.url + "/identity/oauth/token"
    if method == "GET":
        return requests.get(url, params=params, verify=str(marketo.ca_bundle))
    return requests.post(url, data=params, verify=str(marketo.ca_bundle))


def test_token_answer_shape_and_reuse_with_remaining_lifetime(marketo: LocalMarketo) -> None:
    first = _token(marketo).json()
    assert set(first) == {"access_token", "token_type", "expires_in", "scope"}
    assert first["token_type"] == "bearer" and first["expires_in"] == 3599
    time.sleep(1.1)
    second = _token(marketo, "POST").json()
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] < first["expires_in"]


def test_bad_credentials_are_http_401(marketo: LocalMarketo) -> None:
    answer = _token(marketo, client_secret="wrong")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"
    assert _token(marketo, client_id="someone-else").status_code == 401


def test_missing_invalid_and_expired_tokens(api: Api, marketo: LocalMarketo) -> None:
    marketo.service.update_settings(token_lifetime_seconds=1)
    none = api.call("GET", "/rest/v1/leads/describe2.json", headers={"Authorization": ""})
    assert none.status_code == 200 and none.json()["errors"][0]["code"] == "600"
    invalid = api.get("/rest/v1/leads/describe2.json", headers={"Authorization": "Bearer nope:lc"})
    assert invalid["success"] is False and invalid["errors"] == [
        {"code": "601", "message": "Access token invalid"}
    ]
    api.token(fresh=True)
    time.sleep(1.2)
    expired = api.get("/rest/v1/leads/describe2.json")
    assert expired["errors"] == [{"code": "602", "message": "Access token expired"}]
    fresh = api.get(
        "/rest/v1/leads/describe2.json",
        headers={"Authorization": f"Bearer {api.token(fresh=True)}"},
    )
    assert fresh["success"] is True


def test_access_token_query_parameter_only_behind_the_switch(
    api: Api, marketo: LocalMarketo
) -> None:
    token = api.token()
    plain = api.get(
        "/rest/v1/leads/describe2.json",
        params={"access_token": token},
        headers={"Authorization": ""},
    )
    assert plain["errors"][0]["code"] == "600"
    marketo.service.update_settings(accept_access_token_query_param=True)
    allowed = api.get(
        "/rest/v1/leads/describe2.json",
        params={"access_token": token},
        headers={"Authorization": ""},
    )
    assert allowed["success"] is True


def test_envelope_members(api: Api) -> None:
    body = api.get(
        "/rest/v1/leads.json", params={"filterType": "email", "filterValues": "x@example.com"}
    )
    assert body["success"] is True and body["result"] == [] and body["warnings"] == []
    assert "#" in body["requestId"] and "nextPageToken" not in body


def test_call_level_errors(api: Api) -> None:
    assert api.get("/rest/v1/nothing.json")["errors"][0]["code"] == "610"
    assert api.call("PUT", "/rest/v1/leads.json").json()["errors"][0]["code"] == "605"
    broken = api.call(
        "POST",
        "/rest/v1/leads.json",
        data="{not json",
        headers={"Content-Type": "application/json"},
    ).json()
    assert broken["errors"][0]["code"] == "609"
    wrong_type = api.call(
        "POST", "/rest/v1/leads.json", data='{"input":[]}', headers={"Content-Type": "text/plain"}
    ).json()
    assert wrong_type["errors"][0]["code"] == "612"
    blank = api.post("/rest/v1/leads.json", json={"input": []})
    assert blank["errors"][0]["code"] == "701"
    bad_lookup = api.post(
        "/rest/v1/leads.json", json={"lookupField": "firstName", "input": [{"firstName": "A"}]}
    )
    assert bad_lookup["errors"] == [{"code": "1011", "message": "Field 'firstName' not supported"}]
    unknown_lookup = api.post(
        "/rest/v1/leads.json", json={"lookupField": "shoeSize", "input": [{"email": "a@b.co"}]}
    )
    assert unknown_lookup["errors"][0]["code"] == "1006"
    bad_fields = api.get(
        "/rest/v1/leads.json",
        params={"filterType": "email", "filterValues": "a@b.co", "fields": "email,shoeSize"},
    )
    assert bad_fields["errors"] == [{"code": "1006", "message": "Field 'shoeSize' not found"}]
