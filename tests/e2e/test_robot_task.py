"""The project's robot task runs from a clone whose origin remote is a local path (CumulusCI's own fails there)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cumulusci.core.config import BaseProjectConfig, OrgConfig, TaskConfig, UniversalConfig
from cumulusci.tasks.robotframework import Robot as CumulusCIRobot

from python_tasks.robot_suite import Robot

PASSING_SUITE = "*** Test Cases ***\nOne Equals One\n    Should Be Equal    1    1\n"


def clone_with_local_origin(tmp_path: Path) -> Path:
    root = tmp_path / "ECBridge"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "/srv/ECBridge"], check=True)
    (root / "suite.robot").write_text(PASSING_SUITE)
    return root


def robot_task(task_class: type, root: Path) -> CumulusCIRobot:
    project = BaseProjectConfig(UniversalConfig(), config={"project": {"name": "ECBridge"}}, repo_info={"root": str(root)})
    org = OrgConfig({"instance_url": "https://127.0.0.1:1", "org_id": "00D000000000001AAA", "access_token": "x"}, "local")
    options = {"suites": str(root / "suite.robot"), "options": {"outputdir": str(root / "results")}}
    task = task_class(project, TaskConfig({"options": options}), org)
    task.working_path = str(root)  # set by BaseTask.__call__, which would also refresh the org's token
    return task


@pytest.fixture(autouse=True)
def keep_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The robot task sets CCI_CONTEXT and NODE_PATH in os.environ; give them back afterwards."""
    for name in ("CCI_CONTEXT", "NODE_PATH"):
        monkeypatch.setenv(name, "")


def test_cumulusci_robot_fails_on_a_local_origin(tmp_path: Path) -> None:
    task = robot_task(CumulusCIRobot, clone_with_local_origin(tmp_path))
    with pytest.raises(IndexError):
        task._run_task()


def test_the_project_robot_task_runs_the_suite_from_a_local_origin_clone(tmp_path: Path) -> None:
    root = clone_with_local_origin(tmp_path)
    task = robot_task(Robot, root)
    task._run_task()  # raises RobotTestFailure if the suite fails
    assert task.project_config.repo_name == "ECBridge"
    assert (root / "results" / "output.xml").exists()
    assert task.return_values["robot_outputdir"] == str((root / "results").resolve())
