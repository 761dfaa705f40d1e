"""The Robot acceptance suite (robot/ECBridge/tests) through `cci task run robot --org local`, servers started here."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import cci

pytestmark = pytest.mark.slow


def run_robot(cloud: dict[str, Any], outputdir: Path, *extra: str):
    state = outputdir.parent / "state"  # push's clusters and notes belong to this org and Marketo only
    return cci(cloud["env"], "task", "run", "robot", "--org", "local",
               "-o", "suites", "robot/ECBridge/tests", "-o", "options", f"outputdir:{outputdir}",
               "-o", "vars", f"STATE_DIR:{state},DEDUPE_DIR:{outputdir.parent / 'dedupe'}", *extra, timeout=900)


def test_the_robot_suite_passes(deployed: dict[str, Any], tmp_path: Path) -> None:
    result = run_robot(deployed, tmp_path / "robot")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "9 tests, 9 passed, 0 failed" in result.stdout, result.stdout[-3000:]
    assert (tmp_path / "robot" / "output.xml").exists()
