"""The whole journey on a Person Account member with the real `cci`: the Person Account variant of force-app
deployed to a local org, then provision_marketo and the ecbridge_e2e flow (seed_ec_data with concurrent,
shuffled, redelivered and invalid events and CRM-synced twins of the person contacts, push_marketo,
marketo_dedupe apply, push_marketo, ec_e2e_check), every task given the Person Account mapping. The check reads
the person accounts (PersonEmail, __pc fields, IsPersonAccount, PersonContactId) and must pass with every count
complete: every member a person account, every order attached, one Marketo person each, the CRM-synced twins
ranked as contacts and kept as winners."""
from __future__ import annotations

import json
from typing import Any

import pytest

from python_tasks.generate import render_project, write_project
from python_tasks.mapping import load_mapping
from tests.e2e.conftest import ROOT, cci, endpoint_answers
from tests.foundation.test_mapping import PERSON_ACCOUNT
from tests.mdapi import force_app_mdapi_zip

pytestmark = pytest.mark.slow
pytest.importorskip("localcloud.salesforce.apex.orgruntime")


@pytest.fixture(scope="module")
def pa_cloud(local_cloud: dict[str, Any]) -> dict[str, Any]:
    """The Person Account variant deployed (without its Apex tests: test_person_account_member.py runs them), Marketo
    provisioned from the Person Account mapping."""
    project = local_cloud["reports"].parent / "pa-project"
    project.mkdir()
    (project / "sfdx-project.json").write_text((ROOT / "sfdx-project.json").read_text())
    mapping_path = project / "ecbridge.yml"
    mapping_path.write_text(PERSON_ACCOUNT)
    write_project(render_project(load_mapping(mapping_path)), project / "force-app")
    job = local_cloud["org"].deployer.deploy_zip(force_app_mdapi_zip(source=project / "force-app" / "main" / "default"))
    assert job.status == "Succeeded", job
    assert endpoint_answers(local_cloud["org"], local_cloud["bundle"]), "the deployed EC endpoint answers 404"
    result = cci(local_cloud["env"], "task", "run", "provision_marketo",
                 "-o", "mapping", str(mapping_path), "-o", "apply", "True",
                 "-o", "output_dir", str(local_cloud["reports"].parent / "provision"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-3000:]
    return {**local_cloud, "mapping": mapping_path}


def test_the_whole_journey_passes_on_person_accounts(pa_cloud: dict[str, Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    reports = pa_cloud["reports"]
    state = reports.parent / "state"
    mapping = str(pa_cloud["mapping"])
    result = cci(
        pa_cloud["env"], "flow", "run", "ecbridge_e2e", "--org", "local",
        *[arg for task in ("provision_marketo_email", "seed_ec_data", "push_marketo", "marketo_dedupe", "ec_e2e_check")
          for arg in ("-o", f"{task}__mapping", mapping)],
        "-o", "seed_ec_data__members", "20",
        "-o", "seed_ec_data__reports_dir", str(reports),
        "-o", "seed_ec_data__senders", "4",
        "-o", "seed_ec_data__batch_size", "20",
        "-o", "seed_ec_data__marketo_only_share", "0.4",
        "-o", "push_marketo__state_dir", str(state),
        "-o", "marketo_dedupe__push_clusters", str(state / "push_duplicate_clusters.jsonl"),
        "-o", "marketo_dedupe__output_dir", str(reports.parent / "dedupe"),
        "-o", "ec_e2e_check__reports_dir", str(reports),
    )
    run_id = (reports / "latest-run.txt").read_text().strip() if (reports / "latest-run.txt").exists() else None
    report_path = reports / str(run_id) / "e2e-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    assert report and not report.get("mismatches") and result.returncode == 0, (
        json.dumps(report.get("mismatchesByCheck"), indent=1) + "\n"
        + json.dumps(report.get("mismatches", [])[:20], ensure_ascii=False, indent=1)
        + "\n" + result.stdout[-6000:] + result.stderr[-3000:])
    counts = report["counts"]
    assert counts["members found"] == counts["members expected"] == 20
    assert counts["orders attached"] == counts["orders expected"] == counts["orders found"]
    assert counts["invalid events logged"] == counts["invalid events expected"] > 0
    assert counts["persons found"] == 20
    assert counts["ecOrder_c found"] == counts["ecOrder_c expected"] == counts["orders expected"]
    assert counts["emails rendered"] == 20, "the order email renders for every person"
    assert counts["emails showing the right orders"] + counts.get("emails of persons without orders", 0) == 20
    seed = report["seed"]
    assert seed["redeliveries"] > 0 and seed["ordersAnsweredBeforeTheirMember"] > 0
    assert counts["duplicate-scenario persons"] == seed["crmSync"]["crmSyncedPersons"] > 0  # P(none of 20 at 0.4) < 1e-4
    assert counts["duplicate-scenario persons merged"] == counts["duplicate-scenario histories kept"] == \
        counts["duplicate-scenario persons"]

    from simple_salesforce import Salesforce

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pa_cloud["bundle"])
    sf = Salesforce(instance_url=pa_cloud["org"].url, session_id=pa_cloud["org"].access_token, version="62.0")
    members = sf.query_all("SELECT Id, IsPersonAccount, PersonContactId FROM Account WHERE EC_Member_Id__pc != null")
    assert members["totalSize"] == 20 and all(r["IsPersonAccount"] and r["PersonContactId"] for r in members["records"])
    assert sf.query("SELECT COUNT() FROM Contact WHERE IsPersonAccount = false")["totalSize"] == 0, \
        "a Person Account member creates no ordinary contact"


def test_validate_mapping_checks_the_person_account_org_and_the_scratch_definitions(pa_cloud: dict[str, Any]) -> None:
    """Against the org, the Person Account mapping is valid (its __pc fields are Account's in the describe); the
    project's scratch org definitions lack the PersonAccounts feature, and validate_mapping says so, file by file."""
    mapping = str(pa_cloud["mapping"])
    org_only = cci(pa_cloud["env"], "task", "run", "validate_mapping", "--org", "local", "-o", "mapping", mapping,
                   "-o", "scratch_defs", "False")
    assert org_only.returncode == 0, org_only.stdout[-4000:] + org_only.stderr[-3000:]
    assert "every mapped field exists on both sides" in org_only.stdout
    with_definitions = cci(pa_cloud["env"], "task", "run", "validate_mapping", "--org", "local", "-o", "mapping", mapping)
    output = " ".join((with_definitions.stdout + with_definitions.stderr).split())  # the log wraps long lines
    assert with_definitions.returncode != 0, output[-4000:]
    for name in ("dev", "qa", "feature", "beta", "release"):
        assert f"orgs/{name}.json:" in output and "feature PersonAccounts is missing" in output, output[-4000:]
    assert 'add "PersonAccounts" to "features"' in output


def test_validate_mapping_fails_against_an_org_without_person_accounts(pa_cloud: dict[str, Any],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The target org lacks the feature (ECBRIDGE_ORG_PERSON_ACCOUNTS=off): validate_mapping names the mapping line
    and the way out instead of a list of missing fields."""
    from localcloud.salesforce.server import start_local_org

    monkeypatch.setenv("ECBRIDGE_ORG_PERSON_ACCOUNTS", "off")
    base = pa_cloud["reports"].parent
    org = start_local_org(base / "org-without-person-accounts", tls_dir=base / "tls")
    try:
        env = {**pa_cloud["env"], "CUMULUSCI_ORG_local": json.dumps(org.cumulusci_org_json())}
        result = cci(env, "task", "run", "validate_mapping", "--org", "local", "-o", "mapping", str(pa_cloud["mapping"]),
                     "-o", "scratch_defs", "False", "-o", "before_deploy", "True",
                     "-o", "force_app", str(pa_cloud["mapping"].parent / "force-app"))
    finally:
        org.stop()
    output = " ".join((result.stdout + result.stderr).split())  # the log wraps long lines
    assert result.returncode != 0, output[-4000:]
    assert "salesforce.member.person_account: the org has no Person Accounts" in output, output[-4000:]
    assert "enable Person Accounts in the org" in output
