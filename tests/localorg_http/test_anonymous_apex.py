"""Anonymous Apex against the local org with real clients: the Tooling REST resource
(``tooling/executeAnonymous``) through CumulusCI's own ``execute_anon`` task, and the Apex SOAP API
(``/services/Soap/s``) through ``sf apex run``, which prints the debug log from ``DebuggingInfo``.
One org (with a trigger and a Queueable deployed) serves the module."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any, Iterator
from unittest import mock
from xml.etree.ElementTree import fromstring

import pytest
import requests
from cumulusci.core.config import BaseProjectConfig, OrgConfig, TaskConfig, UniversalConfig
from cumulusci.core.exceptions import ApexCompilationException, ApexException
from cumulusci.core.keychain import BaseProjectKeychain
from cumulusci.tasks.apex.anon import AnonymousApexTask

from tests.localorg_http.fixtures import FIXTURE_MEMBERS, meta, mdapi_files
from tests.mdapi import package_xml, zip_files

ROOT = Path(__file__).resolve().parents[2]
APEX_NS = "{http://soap.sforce.com/2006/08/apex}"
JOB = """public with sharing class AnonJob implements Queueable {
    public void execute(QueueableContext context) {
        insert as user new Contact(LastName = 'FromAnonJob');
    }
    @future
    public static void later() {
        insert as user new Contact(LastName = 'FromAnonFuture');
    }
}
"""


@pytest.fixture(scope="module")
def anon_org(tmp_path_factory: pytest.TempPathFactory, certificates) -> Iterator[Any]:
    from localcloud.salesforce.server import start_local_org

    org = start_local_org(tmp_path_factory.mktemp("anon-org"), tls_dir=certificates.ca_cert.parent)
    files = mdapi_files()
    files.update({"classes/AnonJob.cls": JOB, "classes/AnonJob.cls-meta.xml": meta("ApexClass")})
    members = {kind: list(names) for kind, names in FIXTURE_MEMBERS.items()}
    members["ApexClass"].append("AnonJob")
    files["package.xml"] = package_xml(members)
    job = org.deployer.deploy_zip(zip_files(files, ""))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    yield org
    org.stop()


def execute_rest(org: Any, apex: str) -> dict[str, Any]:
    answer = requests.get(f"{org.url}/services/data/v62.0/tooling/executeAnonymous/", params={"anonymousBody": apex},
                          headers={"Authorization": f"Bearer {org.access_token}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def query(org: Any, soql: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{org.url}/services/data/v62.0/query", params={"q": soql},
                          headers={"Authorization": f"Bearer {org.access_token}"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["records"]


def execute_soap(org: Any, apex: str, debugging_header: str, session: str | None = None) -> requests.Response:
    envelope = (
        '<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:apex="http://soap.sforce.com/2006/08/apex"><env:Header><apex:SessionHeader><apex:sessionId>'
        f"{session or org.access_token}</apex:sessionId></apex:SessionHeader>{debugging_header}</env:Header>"
        '<env:Body><executeAnonymous xmlns="http://soap.sforce.com/2006/08/apex"><apexcode>'
        f"{apex.replace('&', '&amp;').replace('<', '&lt;')}</apexcode></executeAnonymous></env:Body></env:Envelope>")
    return requests.post(f"{org.url}/services/Soap/s/62.0/{org.org_id}", data=envelope.encode(),
                         headers={"Content-Type": "text/xml", "SOAPAction": "executeAnonymous"}, timeout=60)


def test_tooling_rest_runs_one_transaction_as_the_session_user(anon_org: Any) -> None:
    """DML fires the org's trigger (its SOQL is counted), the Queueable runs after the commit, the
    records belong to the session's user; an uncaught exception rolls the whole block back."""
    ok = execute_rest(anon_org, "insert new Test_Order__c(Name = 'Anon-1', Order_Number__c = 'ANON-1');\n"
                                "System.enqueueJob(new AnonJob());\nAnonJob.later();\n"
                                "System.assertEquals(UserInfo.getUserId(), [SELECT CreatedById FROM Test_Order__c "
                                "WHERE Order_Number__c = 'ANON-1'].CreatedById);\n"
                                "System.assertNotEquals(null, UserInfo.getSessionId());")
    assert ok == {"line": -1, "column": -1, "compiled": True, "success": True, "compileProblem": None,
                  "exceptionStackTrace": None, "exceptionMessage": None}
    orders = query(anon_org, "SELECT Name, CreatedById FROM Test_Order__c WHERE Order_Number__c = 'ANON-1'")
    assert [(o["Name"], o["CreatedById"][:15]) for o in orders] == [("Anon-1", anon_org.user_id[:15])]
    assert len(query(anon_org, "SELECT Id FROM Contact WHERE LastName = 'FromAnonJob'")) == 1
    assert len(query(anon_org, "SELECT Id FROM Contact WHERE LastName = 'FromAnonFuture'")) == 1

    failed = execute_rest(anon_org, "insert new Test_Order__c(Name = 'Anon-2', Order_Number__c = 'ANON-2');\n"
                                    "System.enqueueJob(new AnonJob());\n  Integer i;\n  i.format();")
    assert failed == {"line": 4, "column": 1, "compiled": True, "success": False, "compileProblem": None,
                      "exceptionStackTrace": "AnonymousBlock: line 4, column 1",
                      "exceptionMessage": "System.NullPointerException: Attempt to de-reference a null object"}
    assert query(anon_org, "SELECT Id FROM Test_Order__c WHERE Order_Number__c = 'ANON-2'") == []
    assert len(query(anon_org, "SELECT Id FROM Contact WHERE LastName = 'FromAnonJob'")) == 1, "no job after a rollback"

    compile_error = execute_rest(anon_org, "  Integer x = nope;")
    assert (compile_error["compiled"], compile_error["success"]) == (False, False)
    assert (compile_error["line"], compile_error["column"], compile_error["compileProblem"]) == \
        (1, 15, "Variable does not exist: nope")

    too_large = execute_rest(anon_org, "System.debug('x');\n" + "//" + "x" * 32_000)
    assert (too_large["compiled"], too_large["line"], too_large["column"]) == (False, 1, 1)
    assert too_large["compileProblem"].startswith("Script too large: System.debug('x'); //xx")


def cci_task(org: Any, apex: str) -> AnonymousApexTask:
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"package": {"api_version": "62.0"}}},
                                repo_info={"root": str(ROOT)})
    project.keychain = BaseProjectKeychain(project, None)
    org_config = OrgConfig(org.cumulusci_org_json(), "local", keychain=project.keychain)
    org_config.refresh_oauth_token = mock.Mock()  # the org's own token is live; no refresh needed
    with mock.patch("cumulusci.core.tasks.BaseSalesforceTask._get_client_name", return_value="ecbridge-tests"):
        return AnonymousApexTask(project, TaskConfig({"options": {"apex": apex}}), org_config)


def test_cumulusci_execute_anon_task(anon_org: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cci_task(anon_org, "insert new Contact(LastName = 'FromCci');")()
    assert len(query(anon_org, "SELECT Id FROM Contact WHERE LastName = 'FromCci'")) == 1

    with pytest.raises(ApexCompilationException) as compile_error:
        cci_task(anon_org, "Integer x = 'a'.nope();")()
    assert str(compile_error.value).startswith("Apex compilation failed on line 2: ")  # cci adds a newline first

    with pytest.raises(ApexException) as runtime_error:
        cci_task(anon_org, "insert new Contact(LastName = 'Undone');\nthrow new IllegalArgumentException('bad input');")()
    assert "Apex error: System.IllegalArgumentException: bad input" in str(runtime_error.value)
    assert "AnonymousBlock: line 3, column 1" in str(runtime_error.value)
    assert query(anon_org, "SELECT Id FROM Contact WHERE LastName = 'Undone'") == []


def test_soap_debugging_header_filters_the_log_and_a_bad_session_faults(anon_org: Any) -> None:
    apex = ("System.debug(LoggingLevel.INFO, 'shown <info>');\nSystem.debug('hidden debug');\n"
            "insert new Test_Order__c(Name = 'Anon-3', Order_Number__c = 'ANON-3');")
    info = ("<apex:DebuggingHeader><apex:categories><apex:category>Apex_code</apex:category><apex:level>INFO"
            "</apex:level></apex:categories><apex:categories><apex:category>Apex_profiling</apex:category>"
            "<apex:level>INFO</apex:level></apex:categories></apex:DebuggingHeader>")
    answer = execute_soap(anon_org, apex, info)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/xml")
    root = fromstring(answer.content)
    result = {e.tag.replace(APEX_NS, ""): e.text for e in root.iter(f"{APEX_NS}result").__next__()}
    assert result["compiled"] == result["success"] == "true" and result["line"] == "-1"
    log = root.find(f".//{APEX_NS}DebuggingInfo/{APEX_NS}debugLog").text
    assert log.startswith("62.0 APEX_CODE,INFO;APEX_PROFILING,INFO\nExecute Anonymous: System.debug(")
    assert "|USER_DEBUG|[1]|INFO|shown <info>" in log and "|DEBUG|hidden debug" not in log
    assert "Number of SOQL queries: 1 out of 100" in log, "the trigger's query is counted"
    assert "Number of DML statements: 1 out of 150" in log

    none = execute_soap(anon_org, "System.debug('x');", "<apex:DebuggingHeader><apex:debugLevel>NONE"
                                                      "</apex:debugLevel></apex:DebuggingHeader>")
    assert fromstring(none.content).find(f".//{APEX_NS}debugLog").text is None

    bad = execute_soap(anon_org, "System.debug('x');", "", session="00Dbad!token")
    assert bad.status_code == 500 and b"<faultcode" in bad.content and b"sf:INVALID_SESSION_ID" in bad.content


def test_sf_apex_run_prints_the_debug_log(anon_org: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SF_", "SFDX_"))}
    env.update({"HOME": str(tmp_path / "home"), "PATH": f"{ROOT / 'node_modules' / '.bin'}:{env.get('PATH', '')}",
                "NODE_EXTRA_CA_CERTS": anon_org.ca_bundle, "SF_ACCESS_TOKEN": anon_org.access_token,
                "SF_DISABLE_TELEMETRY": "true", "SF_AUTOUPDATE_DISABLE": "true", "SFDX_DISABLE_TELEMETRY": "true"})

    def sf(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sf", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    login = sf("org", "login", "access-token", "--instance-url", anon_org.url, "--no-prompt", "--alias", "anon")
    assert login.returncode == 0, login.stdout + login.stderr
    (tmp_path / "hello.apex").write_text("String who = 'sf';\nSystem.debug('hello from ' + who);\n")
    run = sf("apex", "run", "--file", str(tmp_path / "hello.apex"), "--target-org", "anon")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Compiled successfully." in run.stdout and "Executed successfully." in run.stdout
    assert "|USER_DEBUG|[2]|DEBUG|hello from sf" in run.stdout
    assert "Execute Anonymous: String who = 'sf';" in run.stdout

    (tmp_path / "broken.apex").write_text("Integer x = nope;\n")
    broken = sf("apex", "run", "--file", str(tmp_path / "broken.apex"), "--target-org", "anon")
    assert broken.returncode != 0
    assert "Line 1 column 13" in broken.stderr and "Variable does not exist: nope" in broken.stderr
