"""Fixtures of the resilience suite: the local org with the project's force-app deployed (in-process,
port 0, through the org's own Metadata deployer), the local Marketo, and helpers to call the EC endpoint.

Reuses the other areas' fixtures (tests/push/conftest.py, tests/e2e/conftest.py) rather than copying them.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from localcloud.common.tls import CertificateFiles, ensure_certificates

ROOT = Path(__file__).resolve().parents[2]
FORCE_APP = ROOT / "force-app" / "main" / "default"
ENDPOINT = "/services/apexrest/ecbridge/v1/events"
API = "62.0"
_GENERATED_COMMENT = re.compile(r"^\s*<!--.*?-->\s*\n", re.M)


def _strip_comment(text: str) -> str:
    return _GENERATED_COMMENT.sub("", text, count=1)


def force_app_mdapi_zip(include_tests: bool = True) -> bytes:
    """force-app (source format) as a Metadata API zip: objects merged with their fields, classes,
    triggers and the permission set, with a package.xml naming them."""
    files: dict[str, str] = {}
    members: dict[str, list[str]] = {"CustomObject": [], "ApexClass": [], "ApexTrigger": [], "PermissionSet": []}
    for obj_dir in sorted((FORCE_APP / "objects").iterdir()):
        name = obj_dir.name
        meta = obj_dir / f"{name}.object-meta.xml"
        head = _strip_comment(meta.read_text()) if meta.exists() else (
            '<?xml version="1.0" encoding="UTF-8"?>\n<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">\n</CustomObject>\n')
        fields = []
        for field in sorted((obj_dir / "fields").glob("*.field-meta.xml")):
            body = re.search(r"<CustomField[^>]*>(.*)</CustomField>", field.read_text(), re.S).group(1)
            fields.append(f"    <fields>{body}</fields>\n")
        text = head.replace("</CustomObject>", "".join(fields) + "</CustomObject>")
        files[f"objects/{name}.object"] = text
        members["CustomObject"].append(name)
    for kind, folder, suffix in (("ApexClass", "classes", ".cls"), ("ApexTrigger", "triggers", ".trigger")):
        for source in sorted((FORCE_APP / folder).glob(f"*{suffix}")):
            if not include_tests and source.stem.endswith("Test"):
                continue
            files[f"{folder}/{source.name}"] = source.read_text()
            files[f"{folder}/{source.name}-meta.xml"] = _strip_comment(Path(str(source) + "-meta.xml").read_text())
            members[kind].append(source.stem)
    for permset in sorted((FORCE_APP / "permissionsets").glob("*.permissionset-meta.xml")):
        name = permset.name.split(".")[0]
        files[f"permissionsets/{name}.permissionset"] = _strip_comment(permset.read_text())
        members["PermissionSet"].append(name)
    types = "".join(f"    <types>{''.join(f'<members>{m}</members>' for m in names)}<name>{kind}</name></types>\n"
                    for kind, names in members.items() if names)
    files["package.xml"] = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="http://soap.sforce.com/2006/04/metadata">\n'
                            f"{types}    <version>{API}</version>\n</Package>\n")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def deploy_force_app(org: Any) -> None:
    """Deploy the project's metadata and production Apex (Apex tests are run by the apex area)."""
    job = org.deployer.deploy_zip(force_app_mdapi_zip(include_tests=False))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message


@dataclass
class DeployedOrg:
    org: Any
    bundle: str

    @property
    def url(self) -> str:
        return self.org.url

    def post(self, body: Any, *, raw: bytes | None = None, token: str | None = None,
             headers: dict[str, str] | None = None, timeout: float = 120) -> requests.Response:
        sent = {"Authorization": f"Bearer {token if token is not None else self.org.access_token}",
                "Content-Type": "application/json"}
        sent.update(headers or {})
        import json

        data = raw if raw is not None else json.dumps(body).encode()
        return requests.post(self.org.url + ENDPOINT, data=data, headers=sent, verify=self.bundle, timeout=timeout)

    def query_all(self, soql: str) -> list[dict[str, Any]]:
        """Every row of a SOQL query, through the REST query endpoint (following nextRecordsUrl)."""
        headers = {"Authorization": f"Bearer {self.org.access_token}"}
        answer = requests.get(f"{self.org.url}/services/data/v{API}/query", params={"q": soql},
                              headers=headers, verify=self.bundle, timeout=120)
        rows: list[dict[str, Any]] = []
        while True:
            assert answer.status_code == 200, answer.text[:500]
            page = answer.json()
            rows.extend(page["records"])
            if page.get("done", True):
                return rows
            answer = requests.get(self.org.url + page["nextRecordsUrl"], headers=headers, verify=self.bundle, timeout=120)


@pytest.fixture(scope="session")
def resilience_certs(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return ensure_certificates(tmp_path_factory.mktemp("res_tls"))


@pytest.fixture(autouse=True)
def _trust_local_ca(resilience_certs: CertificateFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(resilience_certs.bundle))


def start_deployed_org(base: Path, certs: CertificateFiles) -> DeployedOrg:
    from localcloud.salesforce.server import start_local_org

    org = start_local_org(base, tls_dir=certs.ca_cert.parent)
    deploy_force_app(org)
    return DeployedOrg(org, str(certs.bundle))


@pytest.fixture(scope="module")
def deployed_org(tmp_path_factory: pytest.TempPathFactory, resilience_certs: CertificateFiles) -> Iterator[DeployedOrg]:
    handle = start_deployed_org(tmp_path_factory.mktemp("res_org"), resilience_certs)
    yield handle
    handle.org.stop()


WORLD_MEMBERS, WORLD_ORDERS, WORLD_SEED = 150, 450, 4


@pytest.fixture(scope="session")
def clean_export(tmp_path_factory: pytest.TempPathFactory, resilience_certs: CertificateFiles) -> dict[str, Any]:
    """The normalised Marketo export an uninterrupted, fault-free push of the standard world leaves."""
    from tests.push.conftest import start_services, stop_services
    from tests.push.helpers import push

    from .world import marketo_export, seed_world

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(resilience_certs.bundle))
        handle = start_services(tmp_path_factory.mktemp("clean"), resilience_certs.ca_cert.parent)
        try:
            emails = seed_world(handle.sf, WORLD_MEMBERS, WORLD_ORDERS, seed=WORLD_SEED)
            summary = push(handle, chunk_size=50)
            assert summary.persons_created == WORLD_MEMBERS and not summary.persons_skipped and not summary.orders_skipped
            return marketo_export(handle.client, emails)
        finally:
            stop_services(handle)
