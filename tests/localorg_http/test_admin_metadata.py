"""The project's admin metadata (app, tabs, list views, report types, reports, the replay action) in the
local org: converted by the real Salesforce CLI, deployed with the replay's Apex tests run, stored,
refused when it names what does not exist, and the replay path working over REST."""
from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import requests

from localcloud.salesforce.metadata.deploy import DeployOptions
from tests.mdapi import package_xml, zip_files

ROOT = Path(__file__).resolve().parents[2]
API = "v62.0"
REPLAY = "ECBridgeReplayRejectedEvents"


def converted_force_app(tmp: Path) -> bytes:
    """force-app as `sf project convert source` writes it (what CumulusCI deploys), zipped."""
    project = tmp / "project"
    project.mkdir()
    shutil.copytree(ROOT / "force-app", project / "force-app")
    shutil.copy(ROOT / "sfdx-project.json", project)
    env = {**os.environ, "HOME": str(tmp / "home"), "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true",
           "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ.get('PATH', '')}"}
    done = subprocess.run(["sf", "project", "convert", "source", "-d", "out", "-r", "force-app"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((project / "out").rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(project / "out").as_posix())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def admin_org(tmp_path_factory: pytest.TempPathFactory, certificates):
    from localcloud.salesforce.server import start_local_org

    base = tmp_path_factory.mktemp("admin")
    org = start_local_org(base / "org", tls_dir=certificates.ca_cert.parent)
    job = org.deployer.deploy_zip(converted_force_app(base), DeployOptions(
        test_level="RunSpecifiedTests", run_tests=[f"{REPLAY}Test"]))
    assert job.status == "Succeeded", [(f.full_name, f.problem) for f in job.failures] or job.error_message or \
        [(t.name, t.method_name, t.message) for t in job.tests.failures]
    org.deploy_job = job
    yield org
    org.stop()


def rest(org, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, org.url + path, headers={"Authorization": f"Bearer {org.access_token}"},
                            timeout=60, **kwargs)


def test_the_admin_metadata_is_deployed_stored_and_listed(admin_org) -> None:
    job = admin_org.deploy_job
    assert job.tests.num_tests_run == 4 and not job.tests.failures, "the replay's Apex tests ran in the org and passed"
    repository = admin_org.repository
    assert [c["fullName"] for c in repository.components("CustomApplication")] == ["ECBridge"]
    assert [c["fullName"] for c in repository.components("CustomTab")] == ["EC_Ingest_Error__c", "EC_Order__c"]
    assert [c["fullName"] for c in repository.components("ReportType")] == [
        "ECBridge_Members_With_Orders", "ECBridge_Orders_With_Members"]
    assert [c["fullName"] for c in repository.components("Report")] == [
        "ECBridge", "ECBridge/ECBridge_Orders_Waiting_By_Age", "ECBridge/ECBridge_Push_Errors_By_Reason"]
    orders = repository.component_body("CustomObject", "EC_Order__c").decode()
    assert "<fullName>ECBridge_Waiting_For_Member</fullName>" in orders, "list views are stored with their object"
    listed = rest(admin_org, "POST", "/services/Soap/m/62.0", data=(
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:met="http://soap.sforce.com/2006/04/metadata"><soapenv:Header><met:SessionHeader><met:sessionId>'
        f'{admin_org.access_token}</met:sessionId></met:SessionHeader></soapenv:Header><soapenv:Body><met:listMetadata>'
        '<met:queries><met:type>CustomTab</met:type></met:queries><met:asOfVersion>62.0</met:asOfVersion>'
        '</met:listMetadata></soapenv:Body></soapenv:Envelope>'), )
    assert listed.status_code == 200 and listed.text.count("<type>CustomTab</type>") == 2, listed.text[:500]
    actions = rest(admin_org, "GET", f"/services/data/{API}/actions/custom/apex").json()["actions"]
    assert {"label": "Replay rejected EC events", "name": REPLAY, "type": "APEX"} in actions


def test_a_corrected_rejected_event_is_replayed_through_the_invocable_action(admin_org) -> None:
    event = {"id": "admin-replay-1", "type": "member", "occurredAt": "2026-11-28T10:00:00Z",
             "data": {"memberId": "ADM-1", "email": "not an email", "lastName": "山田", "firstName": "太郎"}}
    answer = rest(admin_org, "POST", "/services/apexrest/ecbridge/v1/events", json={"events": [event]}).json()
    [result] = answer["results"]
    assert result["status"] == "rejected", result
    row_id = result["recordId"]
    # the admin corrects the kept payload on the record page, then runs the action
    event["data"]["email"] = "fixed@example.com"
    patched = rest(admin_org, "PATCH", f"/services/data/{API}/sobjects/EC_Ingest_Error__c/{row_id}",
                   json={"Payload__c": json.dumps(event, ensure_ascii=False)})
    assert patched.status_code == 204, patched.text
    replayed = rest(admin_org, "POST", f"/services/data/{API}/actions/custom/apex/{REPLAY}",
                    json={"inputs": [{"ingestErrorId": row_id}, {"ingestErrorId": row_id[:15]}]})
    assert replayed.status_code == 200, replayed.text
    first, second = replayed.json()
    assert first["isSuccess"] and first["actionName"] == REPLAY and first["errors"] is None
    assert first["outputValues"]["status"] == "created", first
    member = rest(admin_org, "GET", f"/services/data/{API}/query", params={
        "q": "SELECT Id, Email FROM Contact WHERE EC_Member_Id__c = 'ADM-1'"}).json()["records"]
    assert [m["Email"] for m in member] == ["fixed@example.com"]
    assert first["outputValues"]["recordId"] == member[0]["Id"]
    # the same row asked twice (15- and 18-character id): one ingest call, the second copy changes nothing
    assert (second["outputValues"]["status"], second["outputValues"]["recordId"]) == ("unchanged", member[0]["Id"])
    row = rest(admin_org, "GET", f"/services/data/{API}/sobjects/EC_Ingest_Error__c/{row_id}").json()
    assert row["Replayed__c"] is True
    again = rest(admin_org, "POST", f"/services/data/{API}/actions/custom/apex/{REPLAY}",
                 json={"inputs": [{"ingestErrorId": row_id}]}).json()
    assert again[0]["outputValues"]["status"] == "already replayed", "a replayed row is not sent twice"


def test_unknown_actions_and_bad_bodies_are_refused(admin_org) -> None:
    assert rest(admin_org, "POST", f"/services/data/{API}/actions/custom/apex/NoSuchAction",
                json={"inputs": [{}]}).status_code == 404
    bad = rest(admin_org, "POST", f"/services/data/{API}/actions/custom/apex/{REPLAY}", json={"input": []})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_INPUT"


APP = """<?xml version="1.0" encoding="UTF-8"?>
<CustomApplication xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Broken</label>
    <tabs>standard-Contact</tabs>
    <tabs>No_Such_Tab__c</tabs>
    <uiType>Lightning</uiType>
</CustomApplication>
"""
REPORT_TYPE = """<?xml version="1.0" encoding="UTF-8"?>
<ReportType xmlns="http://soap.sforce.com/2006/04/metadata">
    <baseObject>Contact</baseObject>
    <category>other</category>
    <deployed>true</deployed>
    <label>Broken</label>
    <sections>
        <columns>
            <checkedByDefault>true</checkedByDefault>
            <field>No_Such_Field__c</field>
            <table>Contact</table>
        </columns>
        <masterLabel>Members</masterLabel>
    </sections>
</ReportType>
"""
REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://soap.sforce.com/2006/04/metadata">
    <columns>
        <field>Contact$Name</field>
    </columns>
    <format>Tabular</format>
    <name>Broken</name>
    <reportType>No_Such_Type__c</reportType>
    <scope>organization</scope>
</Report>
"""
TAB = """<?xml version="1.0" encoding="UTF-8"?>
<CustomTab xmlns="http://soap.sforce.com/2006/04/metadata">
    <customObject>true</customObject>
    <motif>Custom13: Box</motif>
</CustomTab>
"""
FOLDER = """<?xml version="1.0" encoding="UTF-8"?>
<ReportFolder xmlns="http://soap.sforce.com/2006/04/metadata">
    <name>Broken</name>
</ReportFolder>
"""


def implicit_report(report_type: str) -> str:
    return REPORT.replace("<reportType>No_Such_Type__c</reportType>", f"<reportType>{report_type}</reportType>")


def test_the_report_types_salesforce_makes_for_custom_objects_need_their_objects(admin_org) -> None:
    """``CustomEntity$X__c`` and ``CustomEntityCustomEntity$Parent__c$Child__c`` are Salesforce's own
    report types of custom objects: accepted when the objects exist, refused otherwise."""
    files = {"reports/Implicit-meta.xml": FOLDER.replace("Broken", "Implicit"),
             "reports/Implicit/Missing.report": implicit_report("CustomEntityCustomEntity$No_Such__c$Nope__c"),
             "reports/Implicit/Orders.report": implicit_report("CustomEntity$EC_Order__c"),
             "reports/Implicit/Lines.report": implicit_report(
                 "CustomEntityCustomEntity$EC_Order__c$EC_Order_Line__c@EC_Order_Line__c.EC_Order__c")}
    files["package.xml"] = package_xml({"Report": ["Implicit", "Implicit/Missing", "Implicit/Orders", "Implicit/Lines"]})
    job = admin_org.deployer.deploy_zip(zip_files(files))
    assert {(f.full_name, f.problem) for f in job.failures} == {
        ("Implicit/Missing", "In field: reportType - no ReportType named CustomEntityCustomEntity$No_Such__c$Nope__c found")}


def test_metadata_naming_what_does_not_exist_is_refused_with_file_and_line(admin_org) -> None:
    files = {
        "applications/Broken.app": APP,
        "reportTypes/Broken_Type.reportType": REPORT_TYPE,
        "reports/Broken-meta.xml": FOLDER,
        "reports/Broken/Broken_Report.report": REPORT,
        "tabs/No_Such_Object__c.tab": TAB,
    }
    files["package.xml"] = package_xml({"CustomApplication": ["Broken"], "ReportType": ["Broken_Type"],
                                        "Report": ["Broken", "Broken/Broken_Report"], "CustomTab": ["No_Such_Object__c"]})
    job = admin_org.deployer.deploy_zip(zip_files(files))
    assert job.status == "Failed"
    problems = {(f.component_type, f.full_name, f.file_name, f.line): f.problem for f in job.failures}
    assert problems == {
        ("CustomApplication", "Broken", "applications/Broken.app", 5):
            "In field: tabs - no CustomTab named No_Such_Tab__c found",
        ("ReportType", "Broken_Type", "reportTypes/Broken_Type.reportType", 10):
            "In field: field - Contact has no field No_Such_Field__c",
        ("Report", "Broken/Broken_Report", "reports/Broken/Broken_Report.report", 8):
            "In field: reportType - no ReportType named No_Such_Type__c found",
        ("CustomTab", "No_Such_Object__c", "tabs/No_Such_Object__c.tab", 3):
            "The tab No_Such_Object__c is for a custom object, and no object No_Such_Object__c exists",
    }
    assert not admin_org.repository.component_exists("CustomApplication", "Broken"), "nothing of it is stored"
