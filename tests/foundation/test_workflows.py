"""The GitHub Actions workflows for real orgs: linted as `make test` lints them, and saying what they promise.

- feature_test.yml: on every push, a scratch org from the Dev Hub secret, the project deployed and tested in
  it, the org deleted whatever happened;
- push_marketo.yml: push_marketo against production on a schedule, one run at a time, the org and the Marketo
  service from secrets.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
BIN = ROOT / ".venv" / "bin"


def actionlint(folder: Path) -> subprocess.CompletedProcess[str]:
    """What `make workflow-checks` runs, from a checkout whose workflows are in ``folder``."""
    return subprocess.run([str(BIN / "actionlint"), "-no-color", "-shellcheck", str(BIN / "shellcheck")],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    return workflow.get("on") or workflow.get(True)  # YAML 1.1 reads a bare `on` as True


def run_scripts(workflow: dict[Any, Any]) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def test_the_workflows_pass_the_linter_as_make_test_runs_it() -> None:
    assert sorted(p.name for p in WORKFLOWS.glob("*.yml")) == ["feature_test.yml", "push_marketo.yml"]
    result = actionlint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^test:.*\bworkflow-checks\b", makefile, re.M), "make test runs the workflow checks"
    assert "$(VENV)/bin/actionlint -shellcheck $(VENV)/bin/shellcheck" in makefile


@pytest.mark.parametrize("old, new, expected", [
    ("    runs-on: ubuntu-latest\n    timeout-minutes: 60\n    env:\n      DEV_HUB_AUTH_URL",
     "    if: secrets.DEV_HUB_AUTH_URL != ''\n    runs-on: ubuntu-latest\n    timeout-minutes: 60\n    env:\n      DEV_HUB_AUTH_URL",
     "context \"secrets\" is not allowed here"),
    ('--sfdx-url-file "$RUNNER_TEMP/devhub.url"', "--sfdx-url-file $RUNNER_TEMP/devhub.url", "SC2086"),
    ("steps.devhub.outputs.present == 'true'", "steps.dev_hub.outputs.present == 'true'", "dev_hub"),
])
def test_the_linter_fails_on_a_broken_workflow(tmp_path: Path, old: str, new: str, expected: str) -> None:
    copy = tmp_path / ".github" / "workflows"
    shutil.copytree(WORKFLOWS, copy)
    text = (copy / "feature_test.yml").read_text()
    assert old in text, old
    (copy / "feature_test.yml").write_text(text.replace(old, new, 1))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    result = actionlint(tmp_path)
    assert result.returncode != 0 and expected in result.stdout, result.stdout + result.stderr


def test_feature_tests_run_in_a_scratch_org_on_every_push_and_always_delete_it() -> None:
    workflow = load("feature_test.yml")
    assert "push" in triggers(workflow)
    job = workflow["jobs"]["scratch_org"]
    assert job["env"]["DEV_HUB_AUTH_URL"] == "${{ secrets.DEV_HUB_AUTH_URL }}"
    steps = {step.get("name", step.get("uses")): step for step in job["steps"]}
    assert "--set-default-dev-hub" in steps["Log in to the Dev Hub"]["run"]
    scripts = "\n".join(run_scripts(workflow))
    assert re.search(r"cci org scratch feature (\w+)", scripts)
    for command in ("cci flow run ecbridge_deploy --org ci", "cci task run run_tests --org ci",
                    "cci task run robot --org ci", "cci flow run ecbridge_e2e --org ci"):
        assert command in scripts, command
    delete = steps["Delete the scratch org"]
    assert delete["run"] == "cci org scratch_delete ci" and delete["if"].startswith("always()")
    assert workflow["jobs"]["offline"]["steps"][-1]["run"] == "make test"


def test_push_marketo_runs_against_production_on_a_schedule_one_run_at_a_time() -> None:
    workflow = load("push_marketo.yml")
    assert triggers(workflow)["schedule"][0]["cron"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    job = workflow["jobs"]["push"]
    for name in ("CUMULUSCI_ORG_prod", "SFDX_CLIENT_ID", "SFDX_HUB_KEY", "CUMULUSCI_SERVICE_marketo"):
        assert job["env"][name] == "${{ secrets." + name + " }}", name
    assert any(script.startswith("cci task run push_marketo --org prod") for script in run_scripts(workflow))
    text = (WORKFLOWS / "push_marketo.yml").read_text()
    assert "client_secret\": \"...\"" in text and not re.search(r"[0-9a-f]{32}", text), "no secret in the file"


def test_every_cci_flow_task_and_org_config_the_workflows_name_exists() -> None:
    from cumulusci.core.config import BaseProjectConfig, UniversalConfig

    project = BaseProjectConfig(UniversalConfig(), repo_info={"root": str(ROOT)})
    scripts = "\n".join(script for name in ("feature_test.yml", "push_marketo.yml") for script in run_scripts(load(name)))
    flows = re.findall(r"cci flow run (\w+)", scripts)
    tasks = re.findall(r"cci task run (\w+)", scripts)
    configs = re.findall(r"cci org scratch (\w+) ", scripts)
    assert flows and tasks and configs
    assert [f for f in flows if project.lookup(f"flows__{f}") is None] == []
    assert [t for t in tasks if project.lookup(f"tasks__{t}") is None] == []
    assert [c for c in configs if project.lookup(f"orgs__scratch__{c}") is None] == []
