"""CumulusCI's own data and permission tasks against the local org: `snowfakery` (REST collections,
describe with defaultValue...), and the project's own `deploy_ecbridge` + `assign_ecbridge_permission_set`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from tests.localorg_http.cci import ROOT, cci_env, init_git, run_cci, run_snowfakery
from tests.localorg_http.fixtures import mdapi_zip, write_sfdx_project

pytestmark = pytest.mark.slow

RECIPE = """
- object: Contact
  count: 30
  fields:
    FirstName:
      fake: first_name
    LastName:
      fake: last_name
    Email: member${{id}}@example.jp
    Test_Member_Id__c: M-${{id}}
  friends:
    - object: Test_Order__c
      count: 2
      fields:
        Name: Order ${{id}}
        Order_Number__c: O-${{id}}
        Total__c:
          random_number:
            min: 1000
            max: 50000
        Member__c:
          reference: Contact
"""


def query(org, soql: str) -> dict:
    response = requests.get(org.url + "/services/data/v62.0/query", params={"q": soql},
                            headers={"Authorization": f"Bearer {org.access_token}"})
    response.raise_for_status()
    return response.json()


def test_snowfakery_task_loads_a_recipe_through_rest_collections(org, tmp_path: Path) -> None:
    assert org.deployer.deploy_zip(mdapi_zip()).status == "Succeeded"
    output = run_snowfakery(org, tmp_path, RECIPE)
    assert "Contact: 30 successes, 0 errors" in output and "Test_Order__c: 60 successes, 0 errors" in output
    assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c LIKE 'M-%'")["totalSize"] == 30
    orders = query(org, "SELECT Order_Number__c, Member__r.Email FROM Test_Order__c")["records"]
    assert len(orders) == 60
    assert all(o["Member__r"]["Email"].endswith("@example.jp") for o in orders), "every order points at a loaded member"


def _project_force_app_converts(tmp_path: Path, env: dict[str, str]) -> str | None:
    result = subprocess.run(["sf", "project", "convert", "source", "-d", str(tmp_path / "mdapi"), "-r", "force-app"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return None if result.returncode == 0 else " ".join((result.stdout + result.stderr).split())


def test_project_deploy_flow_against_the_local_org_and_local_marketo(org, tmp_path: Path) -> None:
    """The project's own `ecbridge_deploy` flow (provision_marketo, validate_mapping, generate_apex check,
    deploy_ecbridge, assign_ecbridge_permission_set, validate_mapping) runs unchanged against the local org and
    a fresh local Marketo (no ECBridge fields, no ecOrder_c); a second run changes nothing in Marketo."""
    from localcloud.marketo.service import start_local_marketo

    assert (ROOT / "force-app" / "main" / "default" / "objects").exists(), "force-app has not been generated"
    env = cci_env(org, tmp_path / "home")
    problem = _project_force_app_converts(tmp_path, env)
    assert not problem, f"the generated force-app does not convert with `sf project convert source`: {problem[:300]}"
    marketo = start_local_marketo(tmp_path / "marketo", certs_dir=Path(org.ca_bundle).parent, fresh=True)
    try:
        assert "ecMemberId" not in marketo.service.schema.lead.fields and not marketo.service.schema.custom_objects
        env.update({"MARKETO_BASE_URL": marketo.url, "MARKETO_CLIENT_ID": marketo.client_id,
                    "MARKETO_CLIENT_SECRET": marketo.client_secret})
        flow = run_cci(ROOT, env, "flow", "run", "ecbridge_deploy", "--org", "local", timeout=480)
        output = " ".join((flow.stdout + flow.stderr).split())
        assert flow.returncode == 0, output[-3000:]
        assert "Completed flow 'ecbridge_deploy' on org local successfully!" in output
        assert "created: create and approve custom object ecOrder_c" in output
        provisioned = marketo.service.store.get_meta("schema_admin")
        assert provisioned["objects"]["ecOrder_c"]["approved"] and provisioned["lead_fields"]
        again = run_cci(ROOT, env, "flow", "run", "ecbridge_deploy", "--org", "local", timeout=480)
        again_output = " ".join((again.stdout + again.stderr).split())
        assert again.returncode == 0, again_output[-3000:]
        assert "Marketo already has every field and custom object the mapping needs" in again_output
        assert marketo.service.store.get_meta("schema_admin") == provisioned, "a second deploy changes nothing"
    finally:
        marketo.stop()
    names = {r["name"] for r in requests.get(org.url + "/services/data/v62.0/sobjects",
                                             headers={"Authorization": f"Bearer {org.access_token}"}).json()["sobjects"]}
    assert {"EC_Order__c", "EC_Order_Line__c", "EC_Ingest_Error__c"} <= names
    rows = query(org, "SELECT PermissionSet.Name FROM PermissionSetAssignment WHERE PermissionSet.Name = 'ECBridge_Integration'")
    assert rows["totalSize"] == 1
    assert org.repository.apex_class("ECBridgeEventsResource") is not None

    # the project's Apex tests, through CumulusCI's own run_tests task (Tooling run-tests surface)
    tests = run_cci(ROOT, env, "task", "run", "run_tests", "--org", "local", "-o", "json_output",
                    str(tmp_path / "apex_results.json"), timeout=480)
    tests_output = " ".join((tests.stdout + tests.stderr).split())
    assert tests.returncode == 0, tests_output[-3000:]
    results = json.loads((tmp_path / "apex_results.json").read_text())
    assert results and all(r["Outcome"] == "Pass" for r in results)
    assert f"Pass: {len(results)} Retried: 0 Fail: 0 CompileFail: 0 Skip: 0" in tests_output


def test_robot_salesforce_api_keywords(org, tmp_path: Path) -> None:
    """CumulusCI's Robot `SalesforceAPI` keywords (Salesforce Insert/Get/Query/Update/Delete, SOQL Query,
    Salesforce Collection Insert) run through `cci task run robot` against the local org."""
    assert org.deployer.deploy_zip(mdapi_zip()).status == "Succeeded"
    project = write_sfdx_project(tmp_path / "project")
    init_git(project)
    suite = Path(__file__).parent / "robot" / "salesforce_api.robot"
    result = run_cci(project, cci_env(org, tmp_path / "home"), "task", "run", "robot", "--org", "local",
                     "-o", "suites", str(suite), "-o", "options", f"outputdir:{tmp_path / 'robot'}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "2 tests, 2 passed, 0 failed" in output
    assert query(org, "SELECT COUNT() FROM Contact WHERE Email LIKE 'bulk%'")["totalSize"] == 25
    assert query(org, "SELECT COUNT() FROM Contact WHERE Test_Member_Id__c = 'R-1'")["totalSize"] == 0
