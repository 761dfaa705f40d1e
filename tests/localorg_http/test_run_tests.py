"""CumulusCI's `run_tests` task against the local org: runTestsAsynchronous, ApexTestQueueItem,
ApexTestResult (with limits), ApexCodeCoverageAggregate and ApexOrgWideCoverage answered by the
bound Apex runtime."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import requests

from localcloud.salesforce.server import start_local_org
from tests.localorg_http.apex_test_classes import FINDS_RECENT_ORDERS, apex_test_class, failing_copy
from tests.localorg_http.cci import cci_env, init_git, run_cci
from tests.localorg_http.fixtures import mdapi_files, meta, write_sfdx_project

pytest.importorskip("localcloud.salesforce.apex.orgruntime")
pytestmark = pytest.mark.slow

PASSING = apex_test_class("TestOrderServiceTest", FINDS_RECENT_ORDERS)
FAILING = failing_copy(PASSING)


def project_with(org, tmp_path: Path, classes: dict[str, str]) -> Path:
    """Deploy the fixture plus ``classes`` in-process (the cci deploy path has its own tests) and
    return a CumulusCI project to run `cci` in."""
    files = mdapi_files()
    for name, body in classes.items():
        files[f"classes/{name}.cls"] = body
        files[f"classes/{name}.cls-meta.xml"] = meta("ApexClass")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    job = org.deployer.deploy_zip(buffer.getvalue())
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures]
    project = write_sfdx_project(tmp_path / "project")
    init_git(project)
    return project


def test_run_tests_passes_and_checks_coverage(org, tmp_path: Path) -> None:
    project = project_with(org, tmp_path, {"TestOrderServiceTest": PASSING})
    env = cci_env(org, tmp_path / "home")
    result = run_cci(project, env, "task", "run", "run_tests", "--org", "local", "-o", "test_name_match", "%Test",
                     "-o", "required_org_code_coverage_percent", "75", "-o", "required_per_class_code_coverage_percent", "75",
                     "-o", "json_output", str(tmp_path / "results.json"))
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, output[-3000:]
    assert "Pass: 1 Retried: 0 Fail: 0 CompileFail: 0 Skip: 0" in output
    assert "Organization-wide code coverage of 100% meets expectations" in output
    [row] = json.loads((tmp_path / "results.json").read_text())
    assert (row["ClassName"], row["Method"], row["Outcome"]) == ("TestOrderServiceTest", "findsRecentOrders", "Pass")
    assert row["Stats"]["TESTING_LIMITS: Number of SOQL queries"] == {"used": 1, "allowed": 100}

    headers = {"Authorization": f"Bearer {org.access_token}"}
    coverage = requests.get(org.url + "/services/data/v62.0/tooling/query", headers=headers, params={
        "q": "SELECT ApexClassOrTrigger.Name, NumLinesCovered, NumLinesUncovered FROM ApexCodeCoverageAggregate ORDER BY ApexClassOrTrigger.Name"
    }).json()["records"]
    assert [c["ApexClassOrTrigger"]["Name"] for c in coverage] == ["TestOrderService", "TestOrderTrigger"]
    assert all(c["NumLinesCovered"] > 0 and c["NumLinesUncovered"] == 0 for c in coverage)


def test_run_tests_reports_a_failing_test_with_message_and_line(org, tmp_path: Path) -> None:
    project = project_with(org, tmp_path, {"TestOrderServiceTest": PASSING, "TestOrderFailingTest": FAILING})
    env = cci_env(org, tmp_path / "home")
    result = run_cci(project, env, "task", "run", "run_tests", "--org", "local", "-o", "test_name_match", "%Test")
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Pass: 1 Retried: 0 Fail: 1 CompileFail: 0 Skip: 0" in output
    assert "TestOrderFailingTest.findsRecentOrders - Fail" in output
    assert "deliberately failing: Expected: 2, Actual: 1" in output
    assert "Class.TestOrderFailingTest.findsRecentOrders: line 9" in output
    assert "1 tests failed and 0 tests failed compilation" in output


def test_run_tests_without_runtime_is_refused(tmp_path: Path, certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECBRIDGE_ORG_APEX", "off")
    with start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent) as bare:
        response = requests.post(bare.url + "/services/data/v62.0/tooling/runTestsAsynchronous",
                                 headers={"Authorization": f"Bearer {bare.access_token}"}, json={"classids": "01p5f0000000001AAA"})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "APEX_RUNTIME_UNAVAILABLE"
