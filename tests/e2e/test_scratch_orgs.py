"""Issue 17, the proof: a CumulusCI user's scratch org loop against the local Dev Hub, offline, with the
pinned CumulusCI and sf CLI, exactly as the README says (`make up` = `python -m localcloud up` + `sf org
login sfdx-url`, then `source .ecbridge/local.env`):

    cci org scratch dev ecbdev
    cci flow run ecbridge_deploy --org ecbdev
    cci task run run_tests --org ecbdev
    cci flow run ecbridge_e2e --org ecbdev
    cci org scratch_delete ecbdev

with a second scratch org alive at the same time: the deploy into one is not in the other, and deleting
one removes its data and leaves the other working. The Robot suite runs in the scratch org too.

cci runs from the checkout with ``CUMULUSCI_REPO_ROOT`` (CumulusCI 4.10 finds a repository only where
``.git`` is a folder, so this also works from a ``git worktree``); everything it and sf write goes to the
test's own HOME and state folder.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.localorg_http.test_cli import free_port, read_env_file

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"


class Loop:
    def __init__(self, base: Path):
        self.base = base
        self.state = base / "state"
        self.home = base / "home"
        (self.home / ".cumulusci").mkdir(parents=True)
        # cci looks for a newer version at most once an hour: a fresh timestamp keeps it offline.
        (self.home / ".cumulusci" / "cumulus_timestamp").write_text(str(time.time() + 10 * 365 * 86400))
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CUMULUSCI_", "MARKETO_", "SF_", "SFDX_", "ECBRIDGE_", "NODE_EXTRA"))}
        self.env.update({
            "HOME": str(self.home), "ECBRIDGE_HOME": str(self.state),
            "ECBRIDGE_ORG_PORT": str(free_port()), "ECBRIDGE_MARKETO_PORT": str(free_port()),
            "PATH": f"{ROOT / 'node_modules' / '.bin'}:{BIN}:{os.environ.get('PATH', '')}",
            "CUMULUSCI_AUTO_DETECT": "1", "CUMULUSCI_REPO_ROOT": str(ROOT), "CUMULUSCI_DISABLE_TELEMETRY": "true",
            "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "SF_DISABLE_AUTOUPDATE": "true",
            "SFDX_DISABLE_TELEMETRY": "true",
        })

    def run(self, *args: str, timeout: int = 280) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def cci(self, *args: str, timeout: int = 280) -> str:
        result = self.run(str(BIN / "cci"), *args, timeout=timeout)
        output = " ".join((result.stdout + result.stderr).split())
        assert result.returncode == 0, f"cci {' '.join(args)}: {output[-4000:]}"
        return output

    def up(self) -> None:
        started = self.run(str(BIN / "python"), "-m", "localcloud", "up", timeout=120)
        assert started.returncode == 0, started.stdout + started.stderr
        local = read_env_file(self.state / "local.env")
        self.env.update(local)
        self.bundle = local["REQUESTS_CA_BUNDLE"]
        login = self.run("sf", "org", "login", "sfdx-url", "--sfdx-url-file", str(self.state / "devhub.sfdxurl"),
                         "--json", timeout=120)
        assert login.returncode == 0 and json.loads(login.stdout)["result"]["isDevHub"] is True, login.stdout
        self.hub = json.loads(local["CUMULUSCI_ORG_local"])

    def org(self, name: str) -> dict[str, Any]:
        output = self.run(str(BIN / "cci"), "org", "info", name, "--json").stdout
        return json.loads(output[output.index("{"):])

    def get(self, org: dict[str, Any], path: str, **params: str) -> requests.Response:
        return requests.get(org["instance_url"] + path, params=params, verify=self.bundle, timeout=60,
                            headers={"Authorization": f"Bearer {org['access_token']}"})

    def hub_query(self, soql: str) -> dict[str, Any]:
        answer = self.get(self.hub, "/services/data/v62.0/query", q=soql)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def down(self) -> None:
        self.run(str(BIN / "python"), "-m", "localcloud", "down", timeout=60)


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    world = Loop(tmp_path_factory.mktemp("scratch-loop"))
    world.up()
    yield world
    world.down()


@pytest.fixture(scope="module")
def deployed(loop: Loop) -> Loop:
    """Two scratch orgs from orgs/dev.json alive at once; the project deployed into one with its own flow."""
    assert "ecbdev is configured for use" in loop.cci("org", "scratch", "dev", "ecbdev")
    assert "other is configured for use" in loop.cci("org", "scratch", "dev", "other")
    output = loop.cci("flow", "run", "ecbridge_deploy", "--org", "ecbdev")
    assert "Creating scratch org with command: sf org create scratch" in output
    assert "orgs/dev.json" in output
    assert "Generating scratch org user password" in output and "Failed to set password" not in output
    loop.cci("org", "info", "other")  # the second org is made on first use
    return loop


def test_two_scratch_orgs_a_deploy_in_one_is_not_in_the_other(deployed: Loop) -> None:
    ecbdev, other = deployed.org("ecbdev"), deployed.org("other")
    assert ecbdev["org_id"] != other["org_id"] != deployed.hub["org_id"]
    assert ecbdev["username"] != other["username"] and ecbdev["instance_url"] != other["instance_url"]
    describe = "/services/data/v62.0/sobjects/EC_Order__c/describe"
    assert deployed.get(ecbdev, describe).status_code == 200
    assert deployed.get(other, describe).status_code == 404, "the other scratch org has nothing deployed"
    assert deployed.get(deployed.hub, describe).status_code == 404, "nor has the hub"
    active = deployed.hub_query("SELECT SignupUsername, ExpirationDate, Edition FROM ActiveScratchOrg")["records"]
    assert {r["SignupUsername"] for r in active} == {ecbdev["username"], other["username"]}
    assert all(r["Edition"] == "Developer" for r in active)


def test_the_projects_apex_tests_and_robot_suite_run_in_the_scratch_org(deployed: Loop) -> None:
    tests = deployed.cci("task", "run", "run_tests", "--org", "ecbdev")
    assert "Fail: 0" in tests and "CompileFail: 0" in tests and "Pass: 0 " not in tests
    robot = deployed.cci("task", "run", "robot", "--org", "ecbdev", "-o", "suites", "robot/ECBridge/tests",
                         "-o", "options", f"outputdir:{deployed.base / 'robot'}",
                         "-o", "vars", f"STATE_DIR:{deployed.base / 'robot-state'},DEDUPE_DIR:{deployed.base / 'dedupe'}")
    assert "9 tests, 9 passed, 0 failed" in robot, robot[-3000:]


def test_the_journey_runs_in_the_scratch_org_and_scratch_delete_frees_its_data(deployed: Loop) -> None:
    journey = deployed.cci("flow", "run", "ecbridge_e2e", "--org", "ecbdev", "-o", "seed_ec_data__members", "30")
    assert "Completed flow 'ecbridge_e2e' on org ecbdev successfully" in journey
    ecbdev, other = deployed.org("ecbdev"), deployed.org("other")
    orgs = deployed.state / "org" / "devhub" / "orgs"
    before = sorted(p.name for p in orgs.iterdir())
    assert len(before) == 2

    deployed.cci("org", "scratch_delete", "ecbdev")
    assert len(sorted(p.name for p in orgs.iterdir())) == 1, "the deleted org's data folder is gone"
    with pytest.raises(requests.ConnectionError):
        deployed.get(ecbdev, "/services/data")
    active = deployed.hub_query("SELECT SignupUsername FROM ActiveScratchOrg")["records"]
    assert [r["SignupUsername"] for r in active] == [other["username"]]
    assert deployed.get(other, "/services/data/v62.0/limits").status_code == 200, "the other org lives on"
    deployed.cci("org", "scratch_delete", "other")
    assert deployed.hub_query("SELECT Id FROM ActiveScratchOrg")["totalSize"] == 0
