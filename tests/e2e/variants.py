"""What the member-model variant tests share (test_lead_member.py, test_person_account_member.py,
test_converted_lead_member.py): a variant of force-app generated from another mapping into a temp
project, an in-process local org (and CA) to deploy it to, the permission-set control deploy, and
EC events posted to its endpoint a few per call."""
from __future__ import annotations

import base64
import json
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence
from xml.dom.minidom import parseString

import requests

from localcloud.common.tls import ensure_certificates
from python_tasks.generate import render_project, write_project
from python_tasks.mapping import load_mapping
from tests.mdapi import force_app_mdapi_zip

ROOT = Path(__file__).resolve().parents[2]
API = "62.0"
ENDPOINT = "/services/apexrest/ecbridge/v1/events"


def soap_deploy(org: Any, zip_bytes: bytes, bundle: str) -> str:
    """Deploy with testLevel RunLocalTests the way CumulusCI does; the final checkDeployStatus answer."""
    from cumulusci.salesforce_api import soap_envelopes

    def soap(action: str, envelope: str) -> str:
        answer = requests.post(f"{org.url}/services/Soap/m/{API}/{org.org_id}",
                               data=envelope.replace("###SESSION_ID###", org.access_token).encode(),
                               headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": action},
                               verify=bundle, timeout=300)
        assert answer.status_code == 200, answer.text[:1000]
        return answer.text

    started = soap("deploy", soap_envelopes.DEPLOY.format(
        package_zip=base64.b64encode(zip_bytes).decode(), check_only="false", purge_on_delete="false",
        test_level="<testLevel>RunLocalTests</testLevel>", run_tests="", api_version=API))
    [deploy_id] = texts(started, "id")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = soap("checkDeployStatus",
                      soap_envelopes.CHECK_DEPLOY_STATUS.format(process_id=deploy_id))
        if texts(status, "done") == ["true"]:
            return status
        time.sleep(0.1)
    raise AssertionError("deploy did not finish")


def texts(xml: str, tag: str) -> list[str]:
    return [n.firstChild.nodeValue if n.firstChild else "" for n in parseString(xml).getElementsByTagName(tag)]


def test_rows(xml: str, tag: str) -> list[dict[str, str]]:
    result = parseString(xml).getElementsByTagName("runTestResult")
    if not result:
        return []
    return [{c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes}
            for node in result[0].getElementsByTagName(tag)]


test_rows.__test__ = False  # a helper, not a test


@contextmanager
def variant_world(base: Path, mapping_text: str) -> Iterator[dict[str, Any]]:
    """The variant generated into ``base/project``, with a local org of its own, stopped on leaving."""
    from localcloud.salesforce.server import start_local_org

    project = base / "project"
    project.mkdir()
    shutil.copy(ROOT / "sfdx-project.json", project / "sfdx-project.json")
    (project / "ecbridge.yml").write_text(mapping_text)
    mapping = load_mapping(project / "ecbridge.yml")
    files = render_project(mapping)
    write_project(files, project / "force-app")
    certificates = ensure_certificates(base / "tls")
    org = start_local_org(base / "org", tls_dir=base / "tls")
    world = {"org": org, "mapping": mapping, "files": files, "source": project / "force-app" / "main" / "default",
             "bundle": str(certificates.bundle), "base": base, "project": project}
    try:
        yield world
    finally:
        org.stop()


def deploy_without_field_permission(world: dict[str, Any], field: str) -> str:
    """The variant deployed (RunLocalTests) to a fresh org with ``field`` ("Object.Field__c") taken out of
    the integration permission set: the control that proves the generated tests need the set."""
    from localcloud.salesforce.server import start_local_org

    source = world["base"] / "lacking" / "default"
    shutil.copytree(world["source"], source)
    permset = source / "permissionsets" / "ECBridge_Integration.permissionset-meta.xml"
    text = permset.read_text()
    lacking = re.sub(r"\s*<fieldPermissions>(?:(?!</fieldPermissions>).)*<field>" + re.escape(field) + "</field>"
                     r"(?:(?!</fieldPermissions>).)*</fieldPermissions>", "", text, flags=re.S)
    assert lacking != text and field not in lacking
    permset.write_text(lacking)
    org = start_local_org(world["base"] / "control-org", tls_dir=world["base"] / "tls")
    try:
        return soap_deploy(org, force_app_mdapi_zip(source=source), world["bundle"])
    finally:
        org.stop()


def post_events(world: dict[str, Any], events: Sequence[dict[str, Any]], per_call: int = 200
                ) -> dict[str, dict[str, Any]]:
    """The events posted to the variant's EC endpoint, ``per_call`` at a time; results by event id."""
    org = world["org"]
    results: dict[str, dict[str, Any]] = {}
    for start in range(0, len(events), per_call):
        answer = requests.post(org.url + ENDPOINT, data=json.dumps({"events": list(events[start:start + per_call])}
                                                                    ).encode(),
                               headers={"Authorization": f"Bearer {org.access_token}", "Content-Type": "application/json"},
                               verify=world["bundle"], timeout=120)
        assert answer.status_code == 200, answer.text[:1000]
        results.update({r["id"]: r for r in answer.json()["results"]})
    return results
