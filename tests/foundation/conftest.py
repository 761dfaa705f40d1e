"""Shared fixtures: a copy of the project's Salesforce side in a temporary directory."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """tmp_path/project with sfdx-project.json and a copy of force-app (what apex-ls needs)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "sfdx-project.json", project / "sfdx-project.json")
    shutil.copytree(ROOT / "force-app", project / "force-app")
    return project
