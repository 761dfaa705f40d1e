"""A Lead member that converts (member.converts_to: Contact), end to end: the generated variant deploys to an
in-process local org with RunLocalTests (every generated Apex test passes as the integration user), EC events
make Leads with orders, a push creates their Marketo persons, then Leads are converted in Salesforce (SOAP
convertLead, as a sales user's tool does): the orders follow the Contact, the member key and the Marketo id
move to it; a later EC event updates the Contact and its new order attaches to it; a second push updates the
same Marketo person (same id, its activity history kept) and pushes the new order under it, never creating a
second person."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import ensure_certificates
from python_tasks.generate import render_project, write_project
from python_tasks.mapping import load_mapping
from tests.e2e.test_lead_member import soap_deploy, test_rows as deploy_rows, texts
from tests.foundation.test_mapping import LEAD
from tests.localorg_http.test_lead_convert import soap_convert
from tests.mdapi import force_app_mdapi_zip

pytest.importorskip("localcloud.salesforce.apex.orgruntime")

ROOT = Path(__file__).resolve().parents[2]
API = "62.0"
ENDPOINT = "/services/apexrest/ecbridge/v1/events"
CONVERTING = LEAD.replace("    object: Lead\n", "    object: Lead\n    converts_to: Contact\n")
MEMBERS = range(1, 5)
CONVERTED = (1, 2)  # members whose Leads a sales user converts
T1, T2 = "2024-05-01T10:00:00Z", "2024-06-01T10:00:00Z"


def deploy_rows_of(xml: str) -> list[dict[str, str]]:
    """The componentFailures of a checkDeployStatus answer."""
    from xml.dom.minidom import parseString

    return [{c.tagName: (c.firstChild.nodeValue if c.firstChild else "") for c in node.childNodes}
            for node in parseString(xml).getElementsByTagName("componentFailures")]


@pytest.fixture(scope="module", autouse=True)
def _user_mode_enforced() -> Iterator[None]:
    from localcloud.salesforce.apex import access

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(access.ENV_ENFORCE, raising=False)
        yield


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from localcloud.marketo.service import start_local_marketo
    from localcloud.salesforce.server import start_local_org

    base = tmp_path_factory.mktemp("converted_lead")
    project = base / "project"
    project.mkdir()
    shutil.copy(ROOT / "sfdx-project.json", project / "sfdx-project.json")
    (project / "ecbridge.yml").write_text(CONVERTING)
    mapping = load_mapping(project / "ecbridge.yml")
    files = render_project(mapping)
    write_project(files, project / "force-app")
    certificates = ensure_certificates(base / "tls")
    org = start_local_org(base / "org", tls_dir=base / "tls")
    marketo = start_local_marketo(base / "marketo", certs_dir=base / "tls")
    world = {"org": org, "marketo": marketo, "mapping": mapping, "files": files, "base": base,
             "source": project / "force-app" / "main" / "default", "bundle": str(certificates.bundle)}
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("REQUESTS_CA_BUNDLE", world["bundle"])
            yield world
    finally:
        marketo.stop()
        org.stop()


@pytest.fixture(scope="module")
def deployed(world: dict[str, Any]) -> dict[str, Any]:
    world["deploy_status"] = soap_deploy(world["org"], force_app_mdapi_zip(source=world["source"]), world["bundle"])
    return world


def test_the_converting_variant_deploys_and_every_generated_apex_test_passes(deployed: dict[str, Any]) -> None:
    status = deployed["deploy_status"]
    problems = [f"{p.get('fileName')}:{p.get('lineNumber')}: {p.get('problem')}" for p in deploy_rows_of(status)]
    assert not problems, problems
    failures = deploy_rows(status, "failures")
    assert not failures, "\n".join(f"{f.get('name')}.{f.get('methodName')}: {f.get('message')}\n{f.get('stackTrace')}"
                                   for f in failures)
    assert texts(status, "status") == ["Succeeded"], status[-4000:]
    successes = {(s["name"], s["methodName"]) for s in deploy_rows(status, "successes")}
    assert ("ECBridgeLeadConversionTest", "theOrdersKeyAndMarketoIdFollowTheContact") in successes
    assert ("ECBridgeLeadConversionTest", "laterEventsUpdateTheContactAndAttachTheirOrdersToIt") in successes
    triggers = {t.name for t in deployed["org"].repository.apex_triggers("Contact")}
    assert "ECBridgeContactTrigger" in triggers
