"""Apex tests a deploy asks for (DeployOptions testLevel) run against that deploy's own new schema
and classes, on the deploying org only; a failing test fails the deploy and rolls all of it back."""
from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path
from xml.dom.minidom import parseString

import pytest
import requests
from cumulusci.salesforce_api import soap_envelopes

from localcloud.salesforce.metadata import DeployOptions
from localcloud.salesforce.server import start_local_org
from tests.localorg_http.apex_test_classes import FINDS_RECENT_ORDERS, apex_test_class, failing_copy
from tests.localorg_http.cci import cci_env, init_git, run_cci
from tests.localorg_http.fixtures import FIXTURE_MEMBERS, mdapi_files, meta, write_sfdx_project
from tests.localorg_http.test_metadata_soap import custom_objects, soap, text
from tests.mdapi import package_xml, zip_files

pytest.importorskip("localcloud.salesforce.apex.orgruntime")
pytestmark = pytest.mark.slow

SEES_NO_ORG_DATA = """    @IsTest
    static void seesNoOrgData() {
        System.assertEquals(0, [SELECT COUNT() FROM Contact WHERE LastName = 'OrgData'], 'tests see only their own data');
    }
"""
# Uses Test_Order__c, which the same deploy creates.
PASSING = apex_test_class("TestOrderServiceTest", FINDS_RECENT_ORDERS, SEES_NO_ORG_DATA)
FAILING = failing_copy(PASSING)


def with_classes(classes: dict[str, str]) -> bytes:
    files = mdapi_files()
    for name, body in classes.items():
        files[f"classes/{name}.cls"] = body
        files[f"classes/{name}.cls-meta.xml"] = meta("ApexClass")
    files["package.xml"] = package_xml({**FIXTURE_MEMBERS, "ApexClass": ["TestOrderService", *classes]})
    return zip_files(files)


def soap_deploy(org, zip_bytes: bytes, test_level: str, run_tests: list[str] = ()) -> requests.Response:
    envelope = soap_envelopes.DEPLOY.format(
        package_zip=base64.b64encode(zip_bytes).decode(), check_only="false", purge_on_delete="false",
        test_level=f"<testLevel>{test_level}</testLevel>",
        run_tests="".join(f"<runTests>{n}</runTests>" for n in run_tests), api_version="62.0",
    )
    [deploy_id] = text(soap(org, "deploy", envelope), "id")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = soap(org, "checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id=deploy_id))
        if text(status, "done") == ["true"]:
            return status
        time.sleep(0.1)
    raise AssertionError("deploy did not finish")


def run_test_result(response: requests.Response) -> dict[str, list[dict[str, str]]]:
    result = parseString(response.content).getElementsByTagName("runTestResult")[0]

    def rows(tag: str) -> list[dict[str, str]]:
        return [{c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes}
                for node in result.getElementsByTagName(tag)]

    return {"successes": rows("successes"), "failures": rows("failures")}


def add_org_data(org) -> None:
    response = requests.post(org.url + "/services/data/v62.0/sobjects/Contact/", json={"LastName": "OrgData"},
                             headers={"Authorization": f"Bearer {org.access_token}"})
    assert response.status_code == 201


def test_soap_deploy_runs_its_tests_on_its_new_object(org) -> None:
    add_org_data(org)
    status = soap_deploy(org, with_classes({"TestOrderServiceTest": PASSING}), "RunLocalTests")
    assert text(status, "status") == ["Succeeded"], status.text[-3000:]
    assert text(status, "numberTestsTotal") == ["2"] and text(status, "numberTestErrors") == ["0"]
    assert text(status, "numTestsRun") == ["2"]
    results = run_test_result(status)
    assert sorted(s["methodName"] for s in results["successes"]) == ["findsRecentOrders", "seesNoOrgData"]
    assert {s["name"] for s in results["successes"]} == {"TestOrderServiceTest"}
    assert "Test_Order__c" in custom_objects(org)
    assert org.repository.apex_classes() and {c.name for c in org.repository.apex_classes()} >= {"TestOrderServiceTest"}
    job = org.deployer.status(text(status, "id")[-1])
    covered = {c["name"]: c for c in job.tests.code_coverage}
    assert covered["TestOrderService"]["numLocationsNotCovered"] == 0 and covered["TestOrderService"]["numLocations"] > 0
    assert "TestOrderServiceTest" not in covered, "test classes are not counted for coverage"
    soap_coverage = {}
    for node in parseString(status.content).getElementsByTagName("codeCoverage"):
        fields = {c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes
                  if c.tagName != "locationsNotCovered"}
        soap_coverage[fields["name"]] = fields
    assert soap_coverage["TestOrderService"]["numLocationsNotCovered"] == "0", status.text[-3000:]
    assert soap_coverage["TestOrderService"]["type"] == "Class"


def test_a_failing_test_fails_the_deploy_and_leaves_nothing_behind(org) -> None:
    status = soap_deploy(org, with_classes({"TestOrderServiceTest": PASSING, "TestOrderFailingTest": FAILING}),
                         "RunSpecifiedTests", ["TestOrderFailingTest", "TestOrderServiceTest"])
    assert text(status, "status") == ["Failed"] and text(status, "success")[-1] == "false"
    results = run_test_result(status)
    [failure] = results["failures"]
    assert failure["name"] == "TestOrderFailingTest" and failure["methodName"] == "findsRecentOrders"
    assert "deliberately failing" in failure["message"] and "Class.TestOrderFailingTest.findsRecentOrders" in failure["stackTrace"]
    assert len(results["successes"]) == 3 and text(status, "numTestsRun") == ["4"]
    assert custom_objects(org) == set(), "the new object was rolled back"
    assert org.store.schema.get("Contact").find_field("Test_Member_Id__c") is None
    assert org.repository.apex_classes() == [] and org.repository.apex_triggers("Test_Order__c") == []
    with org.store.transaction() as tx:
        assert tx.query("SELECT COUNT() FROM PermissionSet WHERE Name = 'Test_Integration'").total_size == 0


def test_run_specified_tests_naming_an_unknown_class_fails(org) -> None:
    job = org.deployer.deploy_zip(with_classes({"TestOrderServiceTest": PASSING}),
                                  DeployOptions(test_level="RunSpecifiedTests", run_tests=["NoSuchTest"]))
    assert job.status == "Failed"
    assert [f["name"] for f in job.tests.failures] == ["NoSuchTest"]
    assert custom_objects(org) == set()


def test_two_orgs_in_one_process_each_run_their_own_tests(tmp_path: Path, certificates) -> None:
    with start_local_org(tmp_path / "a", tls_dir=certificates.ca_cert.parent) as first, \
            start_local_org(tmp_path / "b", tls_dir=certificates.ca_cert.parent) as second:
        # the second org (created last) has a class the first does not; each deploy runs only its own org's tests
        assert second.deployer.deploy_zip(with_classes({"TestOrderFailingTest": FAILING})).status == "Succeeded"
        job = first.deployer.deploy_zip(with_classes({"TestOrderServiceTest": PASSING}),
                                        DeployOptions(test_level="RunLocalTests"))
        assert job.status == "Succeeded", job.tests.failures
        assert {s["name"] for s in job.tests.successes} == {"TestOrderServiceTest"} and job.tests.num_tests_run == 2
        again = second.deployer.deploy_zip(with_classes({}), DeployOptions(test_level="RunLocalTests"))
        assert again.status == "Failed" and [f["name"] for f in again.tests.failures] == ["TestOrderFailingTest"]
        assert again.tests.num_tests_run == 2


def project_with_class(tmp_path: Path, name: str, body: str) -> Path:
    """The fixture SFDX project plus one Apex class ``name``."""
    project = write_sfdx_project(tmp_path / "project")
    classes = project / "force-app" / "main" / "default" / "classes"
    (classes / f"{name}.cls").write_text(body)
    (classes / f"{name}.cls-meta.xml").write_text(meta("ApexClass"))
    return project


def cci_deploy_running_local_tests(org, tmp_path: Path, project: Path) -> subprocess.CompletedProcess[str]:
    """`cci task run deploy` of the project's force-app into ``org`` with test_level RunLocalTests."""
    init_git(project)
    return run_cci(project, cci_env(org, tmp_path / "home"), "task", "run", "deploy", "--org", "local",
                   "-o", "path", "force-app", "-o", "test_level", "RunLocalTests")


def test_cci_deploy_with_run_local_tests_sees_the_deploys_new_object(org, tmp_path: Path) -> None:
    project = project_with_class(tmp_path, "TestOrderServiceTest", PASSING)
    result = cci_deploy_running_local_tests(org, tmp_path, project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[Success]: Succeeded" in result.stdout
    [job] = [j for j in org.deployer._jobs.values()]
    assert job.options.test_level == "RunLocalTests" and job.tests.num_tests_run == 2 and not job.tests.failures


FORCE_APP = Path(__file__).resolve().parents[2] / "force-app"


@pytest.mark.skipif(not (FORCE_APP / "main" / "default" / "classes").is_dir(), reason="force-app has no Apex yet")
def test_cci_deploy_of_the_projects_force_app_runs_its_apex_tests(org, tmp_path: Path) -> None:
    """The project's real force-app, deployed by CumulusCI with RunLocalTests into an empty org:
    every Apex test runs at deploy against the objects that same deploy creates, and passes."""
    import shutil

    project = write_sfdx_project(tmp_path / "project")
    shutil.rmtree(project / "force-app")
    shutil.copytree(FORCE_APP, project / "force-app")
    result = cci_deploy_running_local_tests(org, tmp_path, project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "[Success]: Succeeded" in result.stdout
    [job] = list(org.deployer._jobs.values())
    test_classes = {p.stem for p in (FORCE_APP / "main" / "default" / "classes").glob("*Test.cls")}
    assert job.tests.failures == []
    assert job.tests.num_tests_run >= 23 and job.tests.num_tests_run == len(job.tests.successes)
    assert {s["name"] for s in job.tests.successes} == test_classes
    assert "EC_Order__c" in custom_objects(org)
    coverage = {c["name"]: c for c in job.tests.code_coverage}
    assert coverage["ECBridgeIngestService"]["numLocations"] > coverage["ECBridgeIngestService"]["numLocationsNotCovered"]


def test_cci_deploy_with_a_failing_test_reports_it_and_rolls_back(org, tmp_path: Path) -> None:
    project = project_with_class(tmp_path, "TestOrderFailingTest", FAILING)
    result = cci_deploy_running_local_tests(org, tmp_path, project)
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0
    assert "Apex Test Failure: Class.TestOrderFailingTest.findsRecentOrders" in output, output[-3000:]
    assert custom_objects(org) == set() and org.repository.apex_classes() == []


USER_MODE_TEST = """@IsTest
private class UserModeDeployTest {
    @IsTest
    static void theDeploysPermissionSetDecidesWhatTheUserReads() {
        Profile standard = [SELECT Id FROM Profile WHERE Name = 'Standard User' LIMIT 1];
        User integration = new User(ProfileId = standard.Id, LastName = 'Perm', Email = 'perm@example.com',
            Username = 'perm.' + System.currentTimeMillis() + '@example.com', Alias = 'perm',
            TimeZoneSidKey = 'Asia/Tokyo', LocaleSidKey = 'ja_JP', EmailEncodingKey = 'UTF-8', LanguageLocaleKey = 'en_US');
        insert integration;
        PermissionSet granted = [SELECT Id FROM PermissionSet WHERE Name = 'Test_Integration' LIMIT 1];
        insert new PermissionSetAssignment(AssigneeId = integration.Id, PermissionSetId = granted.Id);
        System.runAs(integration) {
            System.assertEquals(0, [SELECT Id, Total__c FROM Test_Order__c WITH USER_MODE].size(), 'a granted field reads');
            try {
                List<Test_Order__c> refused = [SELECT Id, Legacy_Key__c FROM Test_Order__c WITH USER_MODE];
                System.assert(false, 'Legacy_Key__c is not in Test_Integration: the query must fail');
            } catch (QueryException e) {
                System.assert(e.getInaccessibleFields().get('Test_Order__c').contains('Legacy_Key__c'),
                    'the exception names the field: ' + e.getMessage());
            }
        }
    }
}
"""


def test_tests_a_deploy_runs_see_that_deploys_permission_set_under_user_mode(org) -> None:
    """The deploy creates Test_Order__c and Test_Integration (Total__c only); its test, as a Standard User
    holding Test_Integration, reads Total__c WITH USER_MODE and is refused Legacy_Key__c."""
    status = soap_deploy(org, with_classes({"UserModeDeployTest": USER_MODE_TEST}), "RunSpecifiedTests",
                         ["UserModeDeployTest"])
    results = run_test_result(status)
    assert text(status, "status") == ["Succeeded"], results["failures"] or status.text[-3000:]
    assert [s["methodName"] for s in results["successes"]] == ["theDeploysPermissionSetDecidesWhatTheUserReads"]
