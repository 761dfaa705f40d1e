"""`python -m localcloud up|status|down|reset` as a user runs it: one background process, local.env, restart-safe data."""
from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            name, _, raw = line[len("export "):].partition("=")
            values[name] = shlex.split(raw)[0]
    return values


@pytest.fixture
def cli(tmp_path: Path):
    env = {**os.environ, "ECBRIDGE_HOME": str(tmp_path / "home"), "ECBRIDGE_ORG_PORT": str(free_port()),
           "ECBRIDGE_MARKETO_PORT": str(free_port()), "ECBRIDGE_PUBSUB_PORT": str(free_port())}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "localcloud", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=90)

    run.env = env  # type: ignore[attr-defined]
    run.home = tmp_path / "home"  # type: ignore[attr-defined]
    yield run
    run("down")


def connect(env_file: Path) -> Salesforce:
    values = read_env_file(env_file)
    os.environ["REQUESTS_CA_BUNDLE"] = values["REQUESTS_CA_BUNDLE"]
    return Salesforce(instance_url=values["SF_INSTANCE_URL"], session_id=values["SF_ACCESS_TOKEN"], version="62.0")


def test_up_status_down_reset(cli) -> None:
    home: Path = cli.home
    started = cli("up")
    assert started.returncode == 0, started.stdout + started.stderr
    assert f"https://127.0.0.1:{cli.env['ECBRIDGE_ORG_PORT']}" in started.stdout
    pid = int((home / "localcloud.pid").read_text())

    again = cli("up")
    assert again.returncode == 0 and f"already running (pid {pid})" in again.stdout

    env_file = home / "local.env"
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    values = read_env_file(env_file)
    org_json = json.loads(values["CUMULUSCI_ORG_local"])
    assert org_json["instance_url"] == values["SF_INSTANCE_URL"] and org_json["access_token"] == values["SF_ACCESS_TOKEN"]
    assert org_json["org_id"].startswith("00D") and org_json["username"]
    # the local Dev Hub: CumulusCI's devhub service, the sf CLI's trust and auth URL, a username of this state folder
    assert json.loads(values["CUMULUSCI_SERVICE_devhub"]) == {"username": org_json["username"]}
    assert org_json["username"].startswith("admin@") and org_json["username"].endswith(".ecbridge.local")
    assert Path(values["NODE_EXTRA_CA_CERTS"]).is_file()
    auth_url = home / "devhub.sfdxurl"
    assert oct(auth_url.stat().st_mode & 0o777) == "0o600"
    assert auth_url.read_text().strip() == (f"force://{org_json['client_id']}:{org_json['client_secret']}:"
                                           f"{org_json['refresh_token']}@{org_json['instance_url'].split('://')[1]}")
    if (ROOT / "localcloud" / "marketo" / "service.py").exists():
        assert values["MARKETO_BASE_URL"] == f"https://127.0.0.1:{cli.env['ECBRIDGE_MARKETO_PORT']}"
        assert values["MARKETO_CLIENT_ID"] and values["MARKETO_CLIENT_SECRET"]
        assert json.loads(values["CUMULUSCI_SERVICE_marketo"]) == {
            "base_url": values["MARKETO_BASE_URL"], "client_id": values["MARKETO_CLIENT_ID"],
            "client_secret": values["MARKETO_CLIENT_SECRET"]}

    assert values["ECBRIDGE_PUBSUB_PORT"] == cli.env["ECBRIDGE_PUBSUB_PORT"]
    assert values["SF_PUBSUB_ENDPOINT"] == f"127.0.0.1:{cli.env['ECBRIDGE_PUBSUB_PORT']}"
    assert f"Pub/Sub API:   127.0.0.1:{cli.env['ECBRIDGE_PUBSUB_PORT']}" in started.stdout

    sf = connect(env_file)
    sf.Contact.create({"LastName": "survives-restart"})

    assert cli("status").returncode == 0
    stopped = cli("down")
    assert stopped.returncode == 0 and f"stopped (pid {pid})" in stopped.stdout
    assert cli("status").returncode == 3
    assert cli("down").stdout.strip() == "not running"

    assert cli("up").returncode == 0
    sf = connect(env_file)
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'survives-restart'")["totalSize"] == 1
    assert read_env_file(env_file)["SF_ACCESS_TOKEN"] == values["SF_ACCESS_TOKEN"], "the token is stable across restarts"

    before_reset = read_env_file(env_file)
    reset = cli("reset")
    assert reset.returncode == 0 and "started" in reset.stdout
    sf = connect(env_file)
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'survives-restart'")["totalSize"] == 0
    after_reset = read_env_file(env_file)
    saved = json.loads(before_reset["CUMULUSCI_ORG_local"])
    assert json.loads(after_reset["CUMULUSCI_ORG_local"])["refresh_token"] == saved["refresh_token"], (
        "a reset keeps the org's credentials, so an org CumulusCI saved before the reset still refreshes")
    refreshed = requests.post(values["SF_INSTANCE_URL"] + "/services/oauth2/token", verify=values["REQUESTS_CA_BUNDLE"],
                              data={"grant_type": "refresh_token", "refresh_token": saved["refresh_token"],
                                    "client_id": saved["client_id"]}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text


def test_up_reports_a_busy_port(cli) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(cli.env["ECBRIDGE_ORG_PORT"])))
        blocker.listen()
        result = cli("up")
    assert result.returncode == 1
    assert "Address already in use" in result.stderr


def test_up_on_a_running_org_renews_an_access_token_that_idled_out(cli) -> None:
    import time

    cli.env["ECBRIDGE_ORG_SESSION_TIMEOUT"] = "2"
    assert cli("up").returncode == 0
    env_file = cli.home / "local.env"
    old = read_env_file(env_file)
    connect(env_file).query("SELECT Id FROM Contact LIMIT 1")  # the fresh token works
    again = cli("up")
    assert "had expired" not in again.stdout, "a live token is kept"
    assert read_env_file(env_file)["SF_ACCESS_TOKEN"] == old["SF_ACCESS_TOKEN"]
    time.sleep(3)
    renewed = cli("up")
    assert renewed.returncode == 0 and "had expired: wrote a fresh one" in renewed.stdout, renewed.stdout + renewed.stderr
    new = read_env_file(env_file)
    assert new["SF_ACCESS_TOKEN"] != old["SF_ACCESS_TOKEN"]
    assert json.loads(new["CUMULUSCI_ORG_local"])["access_token"] == new["SF_ACCESS_TOKEN"]
    assert connect(env_file).query("SELECT COUNT() FROM Contact")["totalSize"] >= 0
    stale = requests.get(old["SF_INSTANCE_URL"] + "/services/data/v62.0/sobjects",
                         headers={"Authorization": "Bearer " + old["SF_ACCESS_TOKEN"]}, verify=old["REQUESTS_CA_BUNDLE"])
    assert stale.status_code == 401 and stale.json()[0]["errorCode"] == "INVALID_SESSION_ID"
