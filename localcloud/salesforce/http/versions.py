"""The API versions the local org answers to (``GET /services/data``)."""
from __future__ import annotations

import os

LATEST_VERSION = os.environ.get("ECBRIDGE_ORG_API_VERSION", "62.0")
OLDEST_VERSION = 20


def _release_label(version: int, latest: int) -> str:
    """Salesforce ships three releases a year; v62.0 is Winter '25, v61.0 Summer '24, v60.0 Spring '24."""
    offset = 62 - version
    season = ("Winter", "Summer", "Spring")[offset % 3]
    base_year = 25 if season == "Winter" else 24
    year = base_year - offset // 3
    return f"{season} '{year:02d}"


def supported_versions(latest: str = LATEST_VERSION) -> list[str]:
    top = int(float(latest))
    return [f"{major}.0" for major in range(OLDEST_VERSION, top + 1)]


def version_list(latest: str = LATEST_VERSION) -> list[dict[str, str]]:
    """Ascending, as Salesforce answers it; clients such as CumulusCI take the last entry."""
    top = int(float(latest))
    return [
        {"label": _release_label(int(float(v)), top), "url": f"/services/data/v{v}", "version": v}
        for v in supported_versions(latest)
    ]


def is_supported(version: str) -> bool:
    return version in supported_versions()
