"""Scheduled Apex in the running org: the scheduler's clock starts and stops with the server, and the
CronTrigger/CronJobDetail rows answer REST SOQL (issue 18)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import requests


def _query(org, soql: str) -> list[dict]:
    response = requests.get(f"{org.url}/services/data/v62.0/query", params={"q": soql},
                            headers={"Authorization": f"Bearer {org.access_token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_the_running_org_fires_scheduled_jobs_and_its_clock_stops_with_it(tmp_path, certificates,
                                                                         monkeypatch) -> None:
    from localcloud.salesforce.server import start_local_org

    monkeypatch.setenv("ECBRIDGE_ORG_SCHEDULER_SECONDS", "3600")  # the test drives the clock itself
    org = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    try:
        assert org.scheduler_loop is not None and org.scheduler_loop.running
        runtime = org.context.extras["apex_runtime"]
        runtime.deploy({"Nightly.cls": "public class Nightly implements Schedulable {"
                                       " public void execute(SchedulableContext ctx) {"
                                       " insert new Account(Name = 'nightly ' + ctx.getTriggerId()); } }"})
        assert runtime.execute_anonymous("System.schedule('Nightly', '0 0 2 * * ?', new Nightly());").success
        [row] = _query(org, "SELECT Id, State, TimesTriggered, CronJobDetail.Name, CronJobDetail.JobType "
                            "FROM CronTrigger")
        assert (row["State"], row["TimesTriggered"], row["CronJobDetail"]["Name"], row["CronJobDetail"]["JobType"]) \
            == ("WAITING", 0, "Nightly", "7")
        [outcome] = org.context.extras["apex_scheduler"].tick(datetime.now(timezone.utc) + timedelta(days=1, hours=1))
        assert outcome.success
        assert [a["Name"] for a in _query(org, "SELECT Name FROM Account")] == [f"nightly {row['Id']}"]
        [after] = _query(org, "SELECT TimesTriggered, PreviousFireTime FROM CronTrigger")
        assert after["TimesTriggered"] == 1 and after["PreviousFireTime"]
    finally:
        org.stop()
    assert not org.scheduler_loop.running
    assert not [t for t in threading.enumerate() if t.name == "apex-scheduler"]


def test_the_setting_turns_the_clock_off(tmp_path, certificates, monkeypatch) -> None:
    from localcloud.salesforce.server import start_local_org

    monkeypatch.setenv("ECBRIDGE_ORG_SCHEDULER_SECONDS", "off")
    org = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    try:
        assert org.scheduler_loop is None and org.context.extras["apex_scheduler"] is not None
    finally:
        org.stop()
