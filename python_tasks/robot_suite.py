"""CumulusCI's `robot` task, runnable from any clone.

CumulusCI hands Robot the repository name it parses from the `origin` remote, and its parser
(`cumulusci.utils.git.parse_repo_url`) expects a hosted URL such as `https://host/owner/repo.git`.
A clone of a local path (`git clone /srv/ECBridge`) has an origin like `/srv/ECBridge`, and the
task then dies with `IndexError: list index out of range` before any test runs. This subclass
falls back to the folder name of the repository root in that case and changes nothing else.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from cumulusci.tasks.robotframework import Robot as CumulusCIRobot


def ensure_repo_name(project_config: Any, logger: logging.Logger) -> str | None:
    """The repository name CumulusCI reports, or the repository folder's name when `origin` is not a hosted URL."""
    try:
        return project_config.repo_name
    except (IndexError, ValueError):
        name = Path(project_config.repo_root).name
        project_config.repo_info["name"] = name  # repo_info is cached: repo_name reads this from now on
        logger.info(f"The origin remote is not a hosted repository URL; Robot sees the repository as {name!r}")
        return name


class Robot(CumulusCIRobot):
    def _run_task(self) -> None:
        ensure_repo_name(self.project_config, self.logger)
        super()._run_task()
