"""The local org with the Apex runtime bound: deploy compiles against the deploy's own schema,
triggers fire for REST DML, /services/apexrest dispatches to @RestResource classes."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localcloud.salesforce.server import start_local_org
from tests.localorg_http.fixtures import meta, mdapi_files
from tests.mdapi import package_xml, zip_files

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

PING = """@RestResource(urlMapping='/ping/*')
global with sharing class PingResource {
    @HttpPost
    global static String greet(String name) {
        insert new Contact(LastName = name);
        return 'hello ' + name;
    }
    @HttpGet
    global static Integer countAuto() {
        return [SELECT COUNT() FROM Contact WHERE FirstName = 'Auto'];
    }
    @HttpDelete
    global static void fail() {
        Integer zero = 0;
        Integer boom = 1 / zero;
    }
}
"""

NAMER = """trigger ContactNamer on Contact (before insert) {
    for (Contact c : Trigger.new) {
        if (c.FirstName == null) {
            c.FirstName = 'Auto';
        }
    }
}
"""

UNKNOWN_FIELD = """public with sharing class UsesMissingField {
    public static Contact make() {
        return new Contact(LastName = 'x', No_Such_Field__c = 'y');
    }
}
"""


def package(extra: dict[str, str]) -> bytes:
    files = mdapi_files()
    files.update(extra)
    names: dict[str, list[str]] = {"ApexClass": [], "ApexTrigger": [], "CustomObject": ["*"]}
    for path in files:
        if path.endswith(".cls"):
            names["ApexClass"].append(Path(path).stem)
        elif path.endswith(".trigger"):
            names["ApexTrigger"].append(Path(path).stem)
    files["package.xml"] = package_xml(names)
    return zip_files(files)


@pytest.fixture(scope="module")
def org(tmp_path_factory, certificates):
    running = start_local_org(tmp_path_factory.mktemp("org"), tls_dir=certificates.ca_cert.parent)
    job = running.deployer.deploy_zip(package({
        "classes/PingResource.cls": PING, "classes/PingResource.cls-meta.xml": meta("ApexClass"),
        "triggers/ContactNamer.trigger": NAMER, "triggers/ContactNamer.trigger-meta.xml": meta("ApexTrigger"),
    }))
    assert job.status == "Succeeded", [(f.full_name, f.line, f.problem) for f in job.failures]
    yield running
    running.stop()


def call(org, method: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, org.url + path, headers={"Authorization": f"Bearer {org.access_token}"}, **kwargs)


def test_trigger_fires_for_rest_dml(org) -> None:
    created = call(org, "POST", "/services/data/v62.0/sobjects/Contact/", json={"LastName": "ViaRest"}).json()
    record = call(org, "GET", f"/services/data/v62.0/sobjects/Contact/{created['id']}").json()
    assert record["FirstName"] == "Auto"


def test_apex_rest_dispatch(org) -> None:
    before = call(org, "GET", "/services/apexrest/ping/").json()
    answer = call(org, "POST", "/services/apexrest/ping/x", json={"name": "Taro"})
    assert answer.status_code == 200 and answer.json() == "hello Taro"
    assert call(org, "GET", "/services/apexrest/ping").json() == before + 1, "Apex DML fired the trigger too"
    missing = call(org, "GET", "/services/apexrest/nowhere")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"
    unauthenticated = requests.get(org.url + "/services/apexrest/ping")
    assert unauthenticated.status_code == 401


def test_unhandled_apex_exception_answers_apex_error(org) -> None:
    response = call(org, "DELETE", "/services/apexrest/ping")
    assert response.status_code == 500
    [error] = response.json()
    assert error["errorCode"] == "APEX_ERROR" and "MathException" in error["message"]


def test_compile_failure_fails_the_deploy_and_keeps_the_old_code(org) -> None:
    job = org.deployer.deploy_zip(package({
        "classes/UsesMissingField.cls": UNKNOWN_FIELD, "classes/UsesMissingField.cls-meta.xml": meta("ApexClass"),
    }))
    assert job.status == "Failed"
    [failure] = job.failures
    assert (failure.component_type, failure.full_name, failure.file_name) == ("ApexClass", "UsesMissingField", "classes/UsesMissingField.cls")
    assert failure.line == 3 and "No_Such_Field__c" in failure.problem
    assert org.repository.apex_class("UsesMissingField") is None
    assert call(org, "POST", "/services/apexrest/ping", json={"name": "Still"}).status_code == 200


def test_triggers_and_apex_rest_under_concurrent_clients(org) -> None:
    from concurrent.futures import ThreadPoolExecutor

    marker = "Conc"
    before = call(org, "GET", "/services/apexrest/ping").json()

    def rest_inserts(worker: int) -> list[int]:
        return [call(org, "POST", "/services/data/v62.0/sobjects/Contact/", json={"LastName": f"{marker}{worker}"}).status_code
                for _ in range(10)]

    def apex_posts(worker: int) -> list[int]:
        return [call(org, "POST", "/services/apexrest/ping", json={"name": f"{marker}A{worker}"}).status_code for _ in range(5)]

    with ThreadPoolExecutor(8) as pool:
        inserts = [pool.submit(rest_inserts, w) for w in range(4)]
        posts = [pool.submit(apex_posts, w) for w in range(4)]
        codes = [c for f in inserts for c in f.result()] + [c for f in posts for c in f.result()]
    assert codes.count(201) == 40 and codes.count(200) == 20, codes
    assert call(org, "GET", "/services/apexrest/ping").json() == before + 60


def test_deleting_a_rest_class_unbinds_its_url(org) -> None:
    """(runs last in this module) destructiveChanges removes the class from the runtime too."""
    destroy = zip_files({"package.xml": package_xml({}),
                         "destructiveChanges.xml": package_xml({"ApexClass": ["PingResource"]})})
    assert org.deployer.deploy_zip(destroy).status == "Succeeded"
    assert call(org, "GET", "/services/apexrest/ping").status_code == 404
    created = call(org, "POST", "/services/data/v62.0/sobjects/Contact/", json={"LastName": "AfterDelete"}).json()
    assert call(org, "GET", f"/services/data/v62.0/sobjects/Contact/{created['id']}").json()["FirstName"] == "Auto"


def test_deployed_apex_survives_a_restart(tmp_path, certificates) -> None:
    folder = tmp_path / "org"
    with start_local_org(folder, tls_dir=certificates.ca_cert.parent) as first:
        job = first.deployer.deploy_zip(package({
            "classes/PingResource.cls": PING, "classes/PingResource.cls-meta.xml": meta("ApexClass"),
            "triggers/ContactNamer.trigger": NAMER, "triggers/ContactNamer.trigger-meta.xml": meta("ApexTrigger"),
        }))
        assert job.status == "Succeeded"
    with start_local_org(folder, tls_dir=certificates.ca_cert.parent) as second:
        assert call(second, "POST", "/services/apexrest/ping", json={"name": "Again"}).json() == "hello Again"
        assert call(second, "GET", "/services/apexrest/ping").json() == 1
