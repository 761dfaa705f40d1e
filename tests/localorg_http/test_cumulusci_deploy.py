"""CumulusCI's own `deploy` task (real `cci`, real `sf project convert source`) against the local org."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.localorg_http.cci import cci_env, init_git, run_cci
from tests.localorg_http.fixtures import write_sfdx_project

pytestmark = pytest.mark.slow


def _rest(org, path: str) -> dict:
    response = requests.get(org.url + path, headers={"Authorization": f"Bearer {org.access_token}"})
    response.raise_for_status()
    return response.json()


def test_cci_deploy_changes_the_schema_and_stores_apex(org, tmp_path: Path) -> None:
    project = write_sfdx_project(tmp_path / "project")
    init_git(project)
    env = cci_env(org, tmp_path / "home")
    result = run_cci(project, env, "task", "run", "deploy", "--org", "local", "-o", "path", "force-app")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[Success]: Succeeded" in result.stdout

    fields = {f["name"]: f for f in _rest(org, "/services/data/v62.0/sobjects/Test_Order__c/describe")["fields"]}
    assert fields["Order_Number__c"]["externalId"] and fields["Member__c"]["referenceTo"] == ["Contact"]
    contact = {f["name"] for f in _rest(org, "/services/data/v62.0/sobjects/Contact/describe")["fields"]}
    assert "Test_Member_Id__c" in contact
    classes = _rest(org, "/services/data/v62.0/tooling/query?q=SELECT+Id,Name,Status+FROM+ApexClass")
    assert [r["Name"] for r in classes["records"]] == ["TestOrderService"]
    assert org.repository.apex_triggers("Test_Order__c")[0].name == "TestOrderTrigger"
    permsets = _rest(org, "/services/data/v62.0/query?q=SELECT+Name+FROM+PermissionSet+WHERE+Name='Test_Integration'")
    assert permsets["totalSize"] == 1
    # deploying the same source again is covered in-process by test_metadata_soap (cheaper than a second cci run)


def test_cci_deploy_of_unparseable_apex_fails_with_line_and_rolls_back(org, tmp_path: Path) -> None:
    project = write_sfdx_project(tmp_path / "project", include_bad_class=True)
    init_git(project)
    result = run_cci(project, cci_env(org, tmp_path / "home"), "task", "run", "deploy", "--org", "local", "-o", "path", "force-app")
    output = " ".join((result.stdout + result.stderr).split())  # rich wraps long lines
    assert result.returncode != 0
    assert "ApexClass BrokenService: Error on line 3, col 23" in output, output[-3000:]
    names = {s["name"] for s in _rest(org, "/services/data/v62.0/sobjects")["sobjects"]}
    assert "Test_Order__c" not in names, "the failed deploy rolled every component back"
    assert org.repository.apex_classes() == []


def test_refresh_token_flow_without_disable_refresh(org, tmp_path: Path) -> None:
    """cci refreshes the token (grant_type=refresh_token) before a task: the org JSON carries what it needs."""
    project = write_sfdx_project(tmp_path / "project")
    init_git(project)
    env = cci_env(org, tmp_path / "home")
    before = len(org.context.identity.remembered_tokens)
    result = run_cci(project, env, "org", "info", "local")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert org.org_id in result.stdout
    assert len(org.context.identity.remembered_tokens) == before + 1, "cci asked for a fresh token with the refresh token"


def test_without_refresh_token_cci_needs_disable_refresh(org, tmp_path: Path) -> None:
    """What the org JSON needs: without a refresh token cci's refresh fails unless CUMULUSCI_DISABLE_REFRESH is set."""
    import json

    project = write_sfdx_project(tmp_path / "project")
    init_git(project)
    bare = {k: v for k, v in org.cumulusci_org_json().items() if k not in ("refresh_token", "client_id", "client_secret")}
    env = cci_env(org, tmp_path / "home", {"CUMULUSCI_ORG_local": json.dumps(bare)})
    failing = run_cci(project, env, "org", "info", "local")
    assert failing.returncode != 0
    env["CUMULUSCI_DISABLE_REFRESH"] = "1"
    working = run_cci(project, env, "org", "info", "local")
    assert working.returncode == 0, working.stdout[-2000:] + working.stderr[-2000:]
    assert org.org_id in working.stdout
