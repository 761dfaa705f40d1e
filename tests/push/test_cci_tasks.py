"""The tasks through the real `cci` command line, against the local org and the local Marketo."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.localorg_http.cci import cci_env, run_cci
from tests.push.helpers import add_member, add_order, leads_by_email

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cci(services, tmp_path):
    env = cci_env(services.org, tmp_path / "home", {
        "MARKETO_BASE_URL": services.marketo.url,
        "MARKETO_CLIENT_ID": services.marketo.client_id,
        "MARKETO_CLIENT_SECRET": services.marketo.client_secret,
        "ECBRIDGE_PUSH_REPORTS_DIR": str(tmp_path / "push-reports"),
    })

    def run(*args: str):
        return run_cci(ROOT, env, *args)
    return run


def test_push_marketo_and_marketo_dedupe_run_as_cci_tasks(services, cci, tmp_path) -> None:
    sf = services.sf
    taro = add_member(sf, "C1", "taro@example.jp")
    add_order(sf, "C-1", "C1", taro, "2024-05-01T00:00:00.000+0000", 1000, ["茶"])
    add_order(sf, "C-2", "C9", None, "2024-05-01T00:00:00.000+0000", 1000, ["茶"])
    state = tmp_path / "state"
    done = cci("task", "run", "push_marketo", "--org", "local", "-o", "state_dir", str(state),
               "-o", "waiting_older_than", "0s")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout + done.stderr
    assert "Persons: 1 created, 0 updated" in out and "Orders: 1 pushed, 0 skipped, 1 waiting" in out
    assert "order C-2 waits for member C9" in out
    assert services.marketo.client_secret not in out, "the secret never reaches the log"
    [lead] = leads_by_email(services.client, "taro@example.jp")
    assert lead["lastOrderNumber"] == "C-1"
    # watch: every N seconds, what changed; here two cycles half a second apart
    sf.Contact.update(taro, {"FirstName": "次郎"})
    watched = cci("task", "run", "push_marketo", "--org", "local", "-o", "state_dir", str(state),
                  "-o", "watch", "0.5", "-o", "max_cycles", "2")
    assert watched.returncode == 0, watched.stdout + watched.stderr
    out = " ".join((watched.stdout + watched.stderr).split())
    assert "Watching: next push in 0.5 s" in out
    assert "Persons: 0 created, 1 updated" in out and "Persons: 0 created, 0 updated, 0 unchanged" in out
    assert leads_by_email(services.client, "taro@example.jp")[0]["firstName"] == "次郎"
    history = [json.loads(line) for line in (tmp_path / "push-reports" / "history.jsonl").read_text().splitlines()]
    assert [(r["persons"]["created"], r["persons"]["updated"], r["orders"]["waiting"]) for r in history] == \
        [(1, 0, 1), (0, 1, 1), (0, 0, 1)], "each push run appends one line"
    assert (tmp_path / "push-reports" / "index.html").exists()
    # a CRM-synced duplicate appears; dedupe plans (dry run), then applies
    services.marketo.service.create_crm_persons([{"email": "taro@example.jp", "sfdcType": "Contact",
                                                   "sfdcContactId": "003000000000055AAA"}])
    reports = tmp_path / "reports"
    dry = cci("task", "run", "marketo_dedupe", "-o", "output_dir", str(reports), "-o", "scan_gap", "2")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "1 duplicate clusters" in dry.stdout + dry.stderr and (reports / "plan.html").exists()
    assert len(leads_by_email(services.client, "taro@example.jp")) == 2, "a dry run changes nothing"
    applied = cci("task", "run", "marketo_dedupe", "-o", "output_dir", str(reports),
                  "-o", "scan_gap", "2", "-o", "apply", "True")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert len(leads_by_email(services.client, "taro@example.jp")) == 1
    audit = [json.loads(line) for line in (reports / "audit.jsonl").read_text().splitlines()]
    assert [line["result"] for line in audit] == ["started", "merged"]


def test_validate_mapping_passes_on_a_good_schema_and_fails_with_the_line_on_a_bad_one(services, cci, tmp_path) -> None:
    good = cci("task", "run", "validate_mapping", "--org", "local")
    assert good.returncode == 0, good.stdout + good.stderr
    bad_mapping = tmp_path / "bad.yml"
    bad_mapping.write_text((ROOT / "ecbridge.yml").read_text(encoding="utf-8").replace(
        "lastProductName: { from: last_order.Last_Product_Name__c }",
        "lastProductNme: { from: last_order.Last_Product_Name__c }").replace(
        "last_product_name: lastProductName", "last_product_name: lastProductNme"), encoding="utf-8")
    bad = cci("task", "run", "validate_mapping", "--org", "local", "-o", "mapping", str(bad_mapping))
    out = bad.stdout + bad.stderr
    assert bad.returncode != 0
    line = next(n for n, text in enumerate(bad_mapping.read_text(encoding="utf-8").splitlines(), 1)
                if "lastProductNme:" in text)
    flat = " ".join(out.split())
    compact = "".join(out.split())  # the console wraps long lines
    assert f"bad.yml:{line}:marketo.lead.fields.lastProductNme" in compact
    assert "did you mean lastProductName" in flat and "rename it to lastProductName" in flat


def test_the_summary_counts_every_salesforce_call_the_run_makes(services, cci, tmp_path) -> None:
    """What the org counted against its daily API requests during a cci run is what the summary says,
    CumulusCI's own read of the Organization record included; an idle run makes two."""
    import re

    sf = services.sf
    add_member(sf, "C1", "count@example.jp")

    def api_requests_used() -> int:
        requests = sf.restful("limits")["DailyApiRequests"]  # this call is counted before it answers
        return requests["Max"] - requests["Remaining"]

    state = tmp_path / "state"
    for expected_idle in (False, True):
        before = api_requests_used()
        done = cci("task", "run", "push_marketo", "--org", "local", "-o", "state_dir", str(state))
        assert done.returncode == 0, done.stdout + done.stderr
        after = api_requests_used()
        [reported] = re.findall(r"API calls: Marketo \d+, Salesforce (\d+)", done.stdout + done.stderr)
        assert int(reported) == after - before - 1, "all but the limits call after the run"
        if expected_idle:
            assert int(reported) == 2, "one composite read, and CumulusCI's Organization read"
