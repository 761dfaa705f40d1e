"""The Metadata SOAP endpoint and the deploy rules, driven with raw SOAP envelopes as CumulusCI sends them."""
from __future__ import annotations

import base64
import time
from pathlib import Path
from xml.dom.minidom import parseString

import pytest
import requests
from cumulusci.salesforce_api import soap_envelopes

from localcloud.salesforce.metadata import hooks
from localcloud.salesforce.metadata.hooks import CompileProblem
from localcloud.salesforce.server import start_local_org
from tests.localorg_http.fixtures import FIXTURE_MEMBERS, mdapi_files, mdapi_zip
from tests.mdapi import package_xml, zip_files


def soap(org, action: str, envelope: str, session: str | None = None) -> requests.Response:
    return requests.post(
        f"{org.url}/services/Soap/m/62.0/{org.org_id}",
        data=envelope.replace("###SESSION_ID###", session or org.access_token).encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action},
    )


def text(response: requests.Response, tag: str) -> list[str]:
    return [n.firstChild.nodeValue if n.firstChild else "" for n in parseString(response.content).getElementsByTagName(tag)]


def deploy(org, zip_bytes: bytes, check_only: bool = False, test_level: str = "") -> requests.Response:
    envelope = soap_envelopes.DEPLOY.format(
        package_zip=base64.b64encode(zip_bytes).decode(), check_only="true" if check_only else "false",
        purge_on_delete="false", test_level=f"<testLevel>{test_level}</testLevel>" if test_level else "",
        run_tests="<runTests>TestOrderService</runTests>" if test_level == "RunSpecifiedTests" else "", api_version="62.0",
    )
    started = soap(org, "deploy", envelope)
    assert started.status_code == 200
    [deploy_id] = text(started, "id")
    assert deploy_id.startswith("0Af")
    for _ in range(100):
        status = soap(org, "checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id=deploy_id))
        if text(status, "done") == ["true"]:
            return status
        time.sleep(0.05)
    raise AssertionError("deploy did not finish")


def custom_objects(org) -> set[str]:
    return {o.name for o in org.store.schema.objects() if o.name.endswith("__c")}


def test_bad_session_is_the_fault_cumulusci_refreshes_on(org) -> None:
    response = soap(org, "checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id="0Af000000000000AAA"), session="bad")
    assert response.status_code == 500
    assert text(response, "faultcode") == ["sf:INVALID_SESSION_ID"]
    unknown = soap(org, "checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id="0Af000000000000AAA"))
    assert text(unknown, "faultcode") == ["sf:INVALID_ID_FIELD"]


def test_successful_deploy_result_shape(org) -> None:
    result = deploy(org, mdapi_zip())
    assert text(result, "status") == ["Succeeded"] and text(result, "success")[-1] == "true"
    assert text(result, "numberComponentErrors") == ["0"]
    names = text(result, "fullName")
    assert {"TestOrderService", "TestOrderTrigger", "Test_Order__c", "Contact", "Test_Integration", "package.xml"} <= set(names)
    assert "Test_Order__c" in custom_objects(org)
    [first_id] = [r["Id"] for r in org.repository.apex_rows("ApexClass")]

    changed = mdapi_files()
    changed["classes/TestOrderService.cls"] = changed["classes/TestOrderService.cls"].replace("LIMIT 10", "LIMIT 20")
    again = deploy(org, zip_files(changed))
    assert text(again, "status") == ["Succeeded"]
    [row] = org.repository.apex_rows("ApexClass")
    assert row["Id"] == first_id and "LIMIT 20" in row["Body"], "a redeploy updates the class in place"


def test_component_failure_carries_every_field_and_rolls_everything_back(org) -> None:
    result = deploy(org, mdapi_zip(include_bad_class=True))
    assert text(result, "status") == ["Failed"] and not text(result, "errorMessage")
    failure = parseString(result.content).getElementsByTagName("componentFailures")[0]
    values = {child.tagName: (child.firstChild.nodeValue if child.firstChild else "") for child in failure.childNodes}
    assert {"problem", "problemType", "componentType", "fullName", "fileName", "lineNumber", "columnNumber", "created", "deleted"} <= set(values)
    assert (values["componentType"], values["fullName"], values["fileName"]) == ("ApexClass", "BrokenService", "classes/BrokenService.cls")
    assert (values["lineNumber"], values["columnNumber"], values["problemType"]) == ("3", "23", "Error")
    assert custom_objects(org) == set() and org.repository.apex_classes() == []


def test_bad_field_definition_fails_with_the_fields_line(org) -> None:
    files = mdapi_files()
    files["objects/Test_Order__c.object"] = files["objects/Test_Order__c.object"].replace("<type>Currency</type>", "<type>Geolocation</type>")
    result = deploy(org, zip_files(files))
    assert text(result, "status") == ["Failed"]
    assert "Total__c" in text(result, "problem")[0]
    expected_line = next(n for n, line in enumerate(files["objects/Test_Order__c.object"].splitlines(), 1) if "<fullName>Total__c" in line)
    assert text(result, "lineNumber")[0] == str(expected_line)
    # as Salesforce, the components that depend on the broken object are reported in the same deploy
    names = text(result, "fullName")
    assert names[0] == "Test_Order__c" and "Test_Integration" in names and "TestOrderService" in names, names
    assert custom_objects(org) == set()


def test_every_broken_component_is_reported_in_one_deploy(org) -> None:
    """Salesforce reports every failing component of a deploy, each with its file, line and column."""
    files = mdapi_files()
    files["objects/Test_Order__c.object"] = files["objects/Test_Order__c.object"].replace("<type>Currency</type>", "<type>Geolocation</type>")
    files["classes/BrokenOne.cls"] = "public class BrokenOne {\n    public void m() { Integer x = ; }\n}\n"
    files["classes/BrokenOne.cls-meta.xml"] = files["classes/TestOrderService.cls-meta.xml"]
    files["classes/BrokenTwo.cls"] = "public class BrokenTwo {\n    public void m() {\n        NoSuchType t = null;\n    }\n}\n"
    files["classes/BrokenTwo.cls-meta.xml"] = files["classes/TestOrderService.cls-meta.xml"]
    members = {kind: list(names) for kind, names in FIXTURE_MEMBERS.items()}
    members["ApexClass"] += ["BrokenOne", "BrokenTwo"]
    files["package.xml"] = package_xml(members)
    result = deploy(org, zip_files(files))
    failures = parseString(result.content).getElementsByTagName("componentFailures")
    rows = {}
    for failure in failures:
        values = {c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in failure.childNodes}
        rows[values["fullName"]] = values
    assert {"Test_Order__c", "BrokenOne", "BrokenTwo"} <= set(rows), rows
    assert (rows["BrokenOne"]["fileName"], rows["BrokenOne"]["lineNumber"]) == ("classes/BrokenOne.cls", "2")
    assert (rows["BrokenTwo"]["fileName"], rows["BrokenTwo"]["lineNumber"]) == ("classes/BrokenTwo.cls", "3")
    assert "NoSuchType" in rows["BrokenTwo"]["problem"]
    assert all(int(r["lineNumber"]) >= 1 and int(r["columnNumber"]) >= 1 for r in rows.values())
    assert custom_objects(org) == set() and org.repository.apex_classes() == []


def test_check_only_validates_without_changing_anything(org) -> None:
    result = deploy(org, mdapi_zip(), check_only=True)
    assert text(result, "status") == ["Succeeded"] and text(result, "checkOnly") == ["true"]
    assert custom_objects(org) == set() and org.repository.apex_classes() == []


def test_compile_hook_failure_fails_the_deploy(org) -> None:
    seen = []

    def hook(request):
        seen.append(sorted(s.name for s in request.all_sources))
        return [CompileProblem("ApexClass", "TestOrderService", 3, 17, "Unsupported construct: WITH USER_MODE (test hook)")]

    hooks.register_compile_hook(hook)
    try:
        result = deploy(org, mdapi_zip())
    finally:
        hooks.COMPILE_HOOKS.remove(hook)
    assert seen == [["TestOrderService", "TestOrderTrigger"]]
    assert text(result, "status") == ["Failed"]
    assert text(result, "problem") == ["Unsupported construct: WITH USER_MODE (test hook)"]
    [failure] = parseString(result.content).getElementsByTagName("componentFailures")
    assert failure.getElementsByTagName("fileName")[0].firstChild.nodeValue == "classes/TestOrderService.cls"
    assert custom_objects(org) == set()


def test_tests_requested_without_a_runner_fail_loudly(org, monkeypatch: pytest.MonkeyPatch) -> None:
    real = hooks.apex_runtime_functions
    monkeypatch.setattr(hooks, "apex_runtime_functions", lambda name: [] if name == "run_tests_for_deploy" else real(name))
    result = deploy(org, mdapi_zip(), test_level="RunSpecifiedTests")
    assert text(result, "status") == ["Failed"]
    assert "no Apex test runner" in text(result, "message")[0]
    assert custom_objects(org) == set()


def test_tooling_queries_and_list_metadata(org) -> None:
    assert text(deploy(org, mdapi_zip()), "status") == ["Succeeded"]
    headers = {"Authorization": f"Bearer {org.access_token}"}
    rows = requests.get(org.url + "/services/data/v62.0/tooling/query", headers=headers, params={
        "q": "SELECT Id, Name, Status, ApiVersion, LengthWithoutComments FROM ApexClass WHERE Name LIKE 'TestOrder%' AND NamespacePrefix = null ORDER BY Name"
    }).json()
    [record] = rows["records"]
    assert record["Name"] == "TestOrderService" and record["Status"] == "Active" and record["ApiVersion"] == 62.0
    assert record["LengthWithoutComments"] > 0 and record["attributes"]["type"] == "ApexClass"
    one = requests.get(org.url + f"/services/data/v62.0/tooling/sobjects/ApexClass/{record['Id']}", headers=headers).json()
    assert "TestOrderService" in one["Body"]
    def names(soql: str) -> list[str]:
        return [r["Name"] for r in requests.get(org.url + "/services/data/v62.0/tooling/query", headers=headers, params={"q": soql}).json()["records"]]

    # the query CumulusCI's run_tests builds
    assert names("SELECT Id, Name FROM ApexClass WHERE NamespacePrefix = null AND (Name LIKE '%_TEST%')") == []
    assert names("SELECT Id, Name FROM ApexClass WHERE NamespacePrefix = null AND (Name LIKE '%_service' OR Name LIKE 'x%') AND (NOT Name LIKE 'Skip%')") == ["TestOrderService"]
    bad = requests.get(org.url + "/services/data/v62.0/tooling/query", headers=headers, params={"q": "SELECT Id FROM NoSuchThing"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_TYPE"
    listed = soap(org, "listMetadata", """<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header><SessionHeader xmlns="http://soap.sforce.com/2006/04/metadata"><sessionId>###SESSION_ID###</sessionId></SessionHeader></soap:Header><soap:Body><listMetadata xmlns="http://soap.sforce.com/2006/04/metadata"><queries><type>ApexTrigger</type></queries><asOfVersion>62.0</asOfVersion></listMetadata></soap:Body></soap:Envelope>""")
    assert text(listed, "fullName") == ["TestOrderTrigger"]


def test_destructive_changes_delete_apex_and_refuse_schema_drops(org) -> None:
    assert text(deploy(org, mdapi_zip()), "status") == ["Succeeded"]
    empty_package = '<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata"><version>62.0</version></Package>'
    destroy_trigger = ('<?xml version="1.0" encoding="UTF-8"?><Package xmlns="http://soap.sforce.com/2006/04/metadata">'
                       '<types><members>TestOrderTrigger</members><name>ApexTrigger</name></types><version>62.0</version></Package>')
    result = deploy(org, zip_files({"package.xml": empty_package, "destructiveChanges.xml": destroy_trigger}))
    assert text(result, "status") == ["Succeeded"]
    assert org.repository.apex_triggers() == [] and [c.name for c in org.repository.apex_classes()] == ["TestOrderService"]

    destroy_object = destroy_trigger.replace("TestOrderTrigger", "Test_Order__c").replace("ApexTrigger", "CustomObject")
    refused = deploy(org, zip_files({"package.xml": empty_package, "destructiveChanges.xml": destroy_object}))
    assert text(refused, "status") == ["Failed"]
    assert "cannot delete CustomObject" in text(refused, "problem")[0]
    assert "Test_Order__c" in custom_objects(org)


def test_deploy_status_survives_a_restart(tmp_path: Path, certificates) -> None:
    folder = tmp_path / "org"
    with start_local_org(folder, tls_dir=certificates.ca_cert.parent) as first:
        status = deploy(first, mdapi_zip(include_bad_class=True))
        [deploy_id] = text(status, "id")
    with start_local_org(folder, tls_dir=certificates.ca_cert.parent) as second:
        again = soap(second, "checkDeployStatus", soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id=deploy_id))
        assert text(again, "status") == ["Failed"] and text(again, "done") == ["true"]
        assert text(again, "lineNumber") == ["3"]
