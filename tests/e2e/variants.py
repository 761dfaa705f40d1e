"""What the member-model variant tests share (test_lead_member.py, test_person_account_member.py,
test_converted_lead_member.py): a variant of force-app generated from another mapping into a temp
project, an in-process local org (and CA) to deploy it to, the permission-set control deploy, and
EC events posted to its endpoint a few per call."""
from __future__ import annotations

import base64
import json
import random
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence
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


class ShuffledBatch:
    """A member variant's EC batch: six members with two orders each, shuffled; the first two members'
    orders come before the members themselves, and two bad member events (a required field missing,
    a bad email) sit among the good ones. ``prefix`` names the event ids, ``key`` the member keys,
    ``order_prefix`` the order numbers; ``member_body(k)`` the member's fields."""

    members = range(1, 7)

    def __init__(self, prefix: str, key: str, order_prefix: str, product: str, at: str,
                 member_body: Callable[[int], dict[str, Any]], required_field: str, seed: int) -> None:
        self.prefix, self.key, self.order_prefix, self.product, self.at = prefix, key, order_prefix, product, at
        self.member_body, self.required_field, self.seed = member_body, required_field, seed
        self.bad_required = f"{prefix}-bad-{required_field.lower()}"
        self.bad = {self.bad_required: required_field, f"{prefix}-bad-email": "email"}  # event id -> field named

    def member_event(self, k: int, **data: Any) -> dict[str, Any]:
        body = {"memberId": f"{self.key}{k}", **self.member_body(k), **data}
        return {"id": f"{self.prefix}-m-{k}", "type": "member", "occurredAt": self.at,
                "data": {name: value for name, value in body.items() if value is not None}}

    def order_event(self, k: int, n: int) -> dict[str, Any]:
        return {"id": f"{self.prefix}-o-{k}-{n}", "type": "order", "occurredAt": self.at,
                "data": {"orderNumber": f"{self.order_prefix}-{k}-{n}", "memberId": f"{self.key}{k}",
                         "orderDate": f"2024-05-0{n}T09:00:00Z", "totalAmount": 1000 * k + n, "status": "paid",
                         "lines": [{"productName": f"{self.product}{k}-{n}", "quantity": n, "unitPrice": 500}]}}

    def events(self) -> list[dict[str, Any]]:
        early = [self.order_event(k, n) for k in (1, 2) for n in (1, 2)]
        rest = [self.member_event(k) for k in self.members if k > 2] + [
            self.order_event(k, n) for k in self.members if k > 2 for n in (1, 2)]
        bad_required = dict(self.member_event(90, **{self.required_field: None}), id=self.bad_required)
        bad_email = dict(self.member_event(91, email="not-an-email"), id=f"{self.prefix}-bad-email")
        random.Random(self.seed).shuffle(rest)
        return early + rest[:5] + [bad_required] + rest[5:] + [bad_email] + [self.member_event(1), self.member_event(2)]


def ingest(deployed: dict[str, Any], batch: ShuffledBatch) -> dict[str, Any]:
    """The batch posted seven events per call (the early orders' members come calls later); the world
    gains ``sf`` (simple-salesforce), ``results`` by event id and ``events``."""
    from simple_salesforce import Salesforce

    assert texts(deployed["deploy_status"], "status") == ["Succeeded"], "the variant did not deploy"
    events = batch.events()
    deployed["results"] = post_events(deployed, events, per_call=7)
    org = deployed["org"]
    deployed["sf"] = Salesforce(instance_url=org.url, session_id=org.access_token, version=API)
    deployed["events"] = events
    return deployed
