"""The local org and the local Marketo, started in-process on 127.0.0.1 for each test.

The org gets the mapping's objects and fields applied directly through its data API (what a deploy
of the generated force-app would create), members and orders are written over REST with
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


@dataclass
class Services:
    org: Any
    marketo: Any
    sf: Any
    client: MarketoClient
    mapping: Mapping

    def new_client(self, **options: Any) -> MarketoClient:
        session = requests.Session()
        defaults = dict(calls_per_window=100, max_in_flight=5, session=session,
                        retry=RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05))
        defaults.update(options)
        return MarketoClient(MarketoCredentials(self.marketo.url, self.marketo.client_id, self.marketo.client_secret),
                             **defaults)


@pytest.fixture
def services(tmp_path, monkeypatch):
    org_server = pytest.importorskip("localcloud.salesforce.server")
    marketo_service = pytest.importorskip("localcloud.marketo.service")
    from simple_salesforce import Salesforce

    certs = tmp_path / "certs"
    org = org_server.start_local_org(tmp_path / "org", tls_dir=certs)
    marketo = marketo_service.start_local_marketo(tmp_path / "marketo", certs_dir=certs)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca_bundle))
    mapping = load_mapping(ROOT / "ecbridge.yml")
    apply_mapping_schema(org.store, mapping)
    sf = Salesforce(instance_url=org.url, session_id=org.access_token, version=mapping.api_version)
    handle = Services(org, marketo, sf, None, mapping)  # type: ignore[arg-type]
    handle.client = handle.new_client()
    try:
        yield handle
    finally:
        handle.client.close()
        marketo.stop()
        org.stop()


from tests.dedupe.conftest import local_marketo, marketo_client  # noqa: E402,F401  (shared fixtures)
