"""The local org and the local Marketo, started in-process on 127.0.0.1 for each test.

The org gets the generated force-app deployed (objects, fields, triggers), members and orders are written over REST with
simple-salesforce, and the push talks to both only over HTTPS, as it does to real services.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from python_tasks.mapping import Mapping, load_mapping
from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy

ROOT = Path(__file__).resolve().parents[2]


def apply_mapping_schema(store: Any, mapping: Mapping) -> None:
    from localcloud.salesforce.data.specs import CustomFieldSpec, CustomObjectSpec, PicklistValue

    def spec(f) -> CustomFieldSpec:
        return CustomFieldSpec(
            full_name=f.name, type=f.metadata_type, label=f.label, length=f.length,
            precision=f.precision if f.precision is not None else (18 if f.metadata_type in ("Number", "Currency") else None),
            scale=f.scale if f.scale is not None else (0 if f.metadata_type in ("Number", "Currency") else None),
            unique=f.unique, external_id=f.external_id, reference_to=f.reference_to,
            relationship_name=f.relationship_name, relationship_label=f.relationship_label,
            picklist_values=[PicklistValue(v) for v in f.values],
            visible_lines=3 if f.metadata_type == "LongTextArea" else None,
        )

    for object_name in mapping.objects():
        fields = [spec(f) for f in mapping.salesforce_fields(object_name) if f.is_custom]
        if object_name.endswith("__c"):
            store.apply_custom_object(CustomObjectSpec(full_name=object_name, label=object_name[:-3].replace("_", " "),
                                                       plural_label=object_name[:-3].replace("_", " ") + "s",
                                                       fields=fields))
        else:
            for field_spec in fields:
                store.apply_custom_field(object_name, field_spec)


def deploy_force_app(org: Any) -> None:
    """The generated force-app without its Apex tests: objects, fields, the permission set and the
    triggers (the push relies on ECBridgePushStamp marking what changed), as a real org has them."""
    from tests.mdapi import force_app_mdapi_zip

    job = org.deployer.deploy_zip(force_app_mdapi_zip(include_tests=False))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message


@dataclass
class Services:
    org: Any
    marketo: Any
    sf: Any
    client: MarketoClient
    mapping: Mapping
    cache: Any = None

    def new_client(self, **options: Any) -> MarketoClient:
        session = requests.Session()
        defaults = dict(calls_per_window=100, max_in_flight=5, session=session,
                        retry=RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05))
        defaults.update(options)
        return MarketoClient(MarketoCredentials(self.marketo.url, self.marketo.client_id, self.marketo.client_secret),
                             **defaults)


def start_services(base: Path, certs: Path, marketo_config: Path | None = None) -> Services:
    """A local org with the mapping's schema and a local Marketo under ``base`` (one CA for both)."""
    org_server = pytest.importorskip("localcloud.salesforce.server")
    marketo_service = pytest.importorskip("localcloud.marketo.service")
    from simple_salesforce import Salesforce

    org = org_server.start_local_org(base / "org", tls_dir=certs)
    marketo = marketo_service.start_local_marketo(base / "marketo", certs_dir=certs, config_path=marketo_config)
    mapping = load_mapping(ROOT / "ecbridge.yml")
    deploy_force_app(org)
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version=mapping.api_version)
    handle = Services(org, marketo, sf, None, mapping)  # type: ignore[arg-type]
    handle.client = handle.new_client()
    from python_tasks.push.cache import PushCache

    handle.cache = PushCache(base / "state", org.org_id, marketo.url)
    return handle


def stop_services(handle: Services) -> None:
    handle.client.close()
    handle.cache.close()
    handle.marketo.stop()
    handle.org.stop()


@pytest.fixture(scope="session")
def push_certs(tmp_path_factory) -> Path:
    """One private CA for every local service of the push tests (clients trust it via REQUESTS_CA_BUNDLE)."""
    return tmp_path_factory.mktemp("certs")


@pytest.fixture
def trust_local(push_certs, monkeypatch) -> Path:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(push_certs / "bundle.pem"))
    return push_certs


@pytest.fixture
def services(tmp_path, trust_local):
    handle = start_services(tmp_path, trust_local)
    assert Path(handle.org.ca_bundle) == trust_local / "bundle.pem"
    try:
        yield handle
    finally:
        stop_services(handle)


from tests.dedupe.conftest import local_marketo, marketo_client  # noqa: E402,F401  (shared fixtures)
