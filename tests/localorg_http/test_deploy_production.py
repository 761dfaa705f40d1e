"""ECBRIDGE_ORG_PRODUCTION=on: the local org deploys Apex as a production org does. Local tests run
by default, NoTestRun is refused, and too little coverage fails the deploy and rolls it back. The
project's own force-app passes that bar through `cci task run deploy`."""
from __future__ import annotations

import shutil
from pathlib import Path
from xml.dom.minidom import parseString

import pytest

from localcloud.salesforce.metadata import DeployOptions
from localcloud.salesforce.metadata.coverage import ENV_PRODUCTION, coverage_warnings
from tests.localorg_http.cci import cci_env, init_git, run_cci
from tests.localorg_http.fixtures import write_sfdx_project
from tests.localorg_http.test_deploy_runs_tests import PASSING, soap_deploy, with_classes
from tests.localorg_http.test_metadata_soap import custom_objects, text

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

AVERAGE_ZERO = ("Average test coverage across all Apex Classes and Triggers is 0%, at least 75% test coverage "
                "is required.")
TRIGGER_ZERO = "Test coverage of selected Apex Trigger is 0%, at least 1% test coverage is required"
FORCE_APP = Path(__file__).resolve().parents[2] / "force-app"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PRODUCTION, "on")


def warnings_of(status) -> list[dict[str, str]]:
    return [{c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes}
            for node in parseString(status.content).getElementsByTagName("codeCoverageWarnings")]


def test_untested_apex_fails_on_coverage_and_leaves_nothing_behind(org, production) -> None:
    job = org.deployer.deploy_zip(with_classes({}))
    assert job.options.test_level == "RunLocalTests", "a production deploy of Apex runs the local tests"
    assert job.status == "Failed" and job.tests.failures == []
    assert [(w["name"], w["message"]) for w in job.tests.code_coverage_warnings] == [
        ("TestOrderTrigger", TRIGGER_ZERO), (None, AVERAGE_ZERO)]
    assert custom_objects(org) == set() and org.repository.apex_classes() == []


def test_the_coverage_warnings_reach_a_soap_client(org, production) -> None:
    status = soap_deploy(org, with_classes({}), "RunLocalTests")
    assert text(status, "status") == ["Failed"] and text(status, "runTestsEnabled") == ["true"]
    assert [w["message"] for w in warnings_of(status)] == [TRIGGER_ZERO, AVERAGE_ZERO]
    assert warnings_of(status)[0]["name"] == "TestOrderTrigger"


def test_no_test_run_is_refused_for_apex_in_production(org, production) -> None:
    job = org.deployer.deploy_zip(with_classes({}), DeployOptions(test_level="NoTestRun"))
    assert (job.status, job.error_status_code) == ("Failed", "INVALID_OPERATION")
    assert "NoTestRun cannot be used in production" in job.error_message
    assert custom_objects(org) == set()


def test_tested_apex_deploys_and_a_developer_edition_never_asks(org, production, monkeypatch) -> None:
    job = org.deployer.deploy_zip(with_classes({"TestOrderServiceTest": PASSING}))
    assert job.status == "Succeeded", job.tests.code_coverage_warnings or job.tests.failures
    assert job.tests.num_tests_run == 2 and job.tests.code_coverage_warnings == []
    monkeypatch.setenv(ENV_PRODUCTION, "off")
    again = org.deployer.deploy_zip(with_classes({}))
    assert again.status == "Succeeded" and again.tests.num_tests_run == 0, "no testLevel, no tests"


def test_the_rules_by_test_level() -> None:
    service = {"name": "Service", "type": "Class", "numLocations": 10, "numLocationsNotCovered": 1}
    helper = {"name": "Helper", "type": "Class", "numLocations": 10, "numLocationsNotCovered": 6}
    half_trigger = {"name": "OrderTrigger", "type": "Trigger", "numLocations": 2, "numLocationsNotCovered": 1}
    # 14 of 22 lines: 63% over the org
    assert [w["message"] for w in coverage_warnings([service, helper, half_trigger], "RunLocalTests", set())] == [
        "Average test coverage across all Apex Classes and Triggers is 63%, at least 75% test coverage is required."]
    # RunSpecifiedTests: each deployed class and trigger on its own; Service is not in the deploy
    deployed = {("ApexClass", "helper"), ("ApexTrigger", "ordertrigger")}
    assert [(w["name"], w["message"]) for w in coverage_warnings([service, helper, half_trigger], "RunSpecifiedTests",
                                                                 deployed)] == [
        ("Helper", "Test coverage of selected Apex Class is 40%, at least 75% test coverage is required"),
        ("OrderTrigger", "Test coverage of selected Apex Trigger is 50%, at least 75% test coverage is required")]
    assert coverage_warnings([service, half_trigger], "RunSpecifiedTests", {("ApexClass", "service")}) == []
    # a well-covered org still needs every trigger touched
    big = {"name": "Big", "type": "Class", "numLocations": 100, "numLocationsNotCovered": 0}
    cold_trigger = dict(half_trigger, numLocationsNotCovered=2)
    assert [(w["name"], w["message"]) for w in coverage_warnings([big, cold_trigger], "RunAllTestsInOrg", set())] == [
        ("OrderTrigger", TRIGGER_ZERO)]
    assert coverage_warnings([big, half_trigger], "RunLocalTests", set()) == []


def test_an_unknown_setting_value_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from localcloud.salesforce.metadata.coverage import production_org

    monkeypatch.setenv(ENV_PRODUCTION, "yes please")
    with pytest.raises(ValueError, match="ECBRIDGE_ORG_PRODUCTION must be on or off"):
        production_org()


@pytest.mark.slow
def test_the_projects_force_app_meets_the_production_bar_through_cci_deploy(org, production, tmp_path: Path) -> None:
    """`cci task run deploy` with no test level, as against a production org: the local tests run and
    the project's generated and hand-written Apex is covered 75% or more, every trigger included."""
    project = write_sfdx_project(tmp_path / "project")
    shutil.rmtree(project / "force-app")
    shutil.copytree(FORCE_APP, project / "force-app")
    init_git(project)
    result = run_cci(project, cci_env(org, tmp_path / "home"), "task", "run", "deploy", "--org", "local",
                     "-o", "path", "force-app")
    [job] = list(org.deployer._jobs.values())
    assert result.returncode == 0, (job.tests.code_coverage_warnings, result.stdout[-3000:])
    assert "[Success]: Succeeded" in result.stdout
    assert job.options.test_level == "RunLocalTests" and job.tests.failures == []
    assert job.tests.code_coverage_warnings == []
    rows = job.tests.code_coverage
    total = sum(r["numLocations"] for r in rows)
    covered = total - sum(r["numLocationsNotCovered"] for r in rows)
    assert {r["type"] for r in rows} == {"Class", "Trigger"} and covered * 100 // total >= 75
