"""Fixtures shared by the Apex tests: a fresh local org store per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.salesforce.data import open_store


@pytest.fixture
def store(tmp_path: Path):
    """An empty org (its SQLite file in the test's temporary folder), closed after the test."""
    s = open_store(tmp_path / "org.sqlite3")
    yield s
    s.close()
