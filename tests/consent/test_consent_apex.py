"""The generated consent Apex runs in the local org's Apex runtime under both re-subscribe policies:
force-app holds the default (never); the other policy's classes are rendered from the same mapping."""
from __future__ import annotations

from pathlib import Path

import pytest

from python_tasks.generate import render_unformatted
from python_tasks.mapping import parse_mapping
from tests.apex.orgfixture import make_store
from tests.apex.test_force_app import loadable_sources, register_force_app_permission_sets

ROOT = Path(__file__).resolve().parents[2]
CLASSES = ("ECBridgeConsent", "ECBridgeConsentTest")


def run_consent_tests(tmp_path: Path, sources: dict[str, str]) -> list:
    from localcloud.salesforce.apex.orgruntime import ApexRuntime

    store = make_store(tmp_path)
    try:
        register_force_app_permission_sets(store)
        return ApexRuntime(store, sources).run_tests(["ECBridgeConsentTest"])
    finally:
        store.close()


@pytest.mark.parametrize("policy", ["never", "explicit_ec_consent_after_unsubscribe"])
def test_the_consent_apex_tests_pass_under_each_policy(tmp_path, policy) -> None:
    sources = loadable_sources()
    text = (ROOT / "ecbridge.yml").read_text(encoding="utf-8").replace("resubscribe: never", f"resubscribe: {policy}")
    rendered = render_unformatted(parse_mapping(text, "ecbridge.yml"))
    for name in CLASSES:
        sources[f"{name}.cls"] = rendered[f"main/default/classes/{name}.cls"]
    results = run_consent_tests(tmp_path, sources)
    assert len(results) == 3
    assert [(r.method_name, r.message) for r in results if r.outcome != "Pass"] == []
    allowed = "RESUBSCRIBE_ALLOWED = true" in sources["ECBridgeConsent.cls"]
    assert allowed == (policy != "never")
