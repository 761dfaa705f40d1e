"""The repository's own promises: pinned dependencies, a CI script that runs the README's test command."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_python_requirement_is_pinned() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    unpinned = [line for line in lines if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line)]
    assert lines, "requirements.txt lists nothing"
    assert not unpinned, f"unpinned requirements: {unpinned}"


def test_every_node_dependency_is_pinned() -> None:
    package = json.loads((ROOT / "package.json").read_text())
    deps = {**package.get("dependencies", {}), **package.get("devDependencies", {})}
    loose = {name: v for name, v in deps.items() if not re.fullmatch(r"\d+\.\d+\.\d+", v)}
    assert not loose, f"package.json has unpinned versions: {loose}"
    assert (ROOT / "package-lock.json").exists()


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make test" in (ROOT / ".ci" / "run").read_text()
