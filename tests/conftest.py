"""Fixtures shared by every test area."""
from __future__ import annotations

from typing import Iterator

import pytest

from python_tasks.marketo.pacing import SharedPacer


@pytest.fixture(autouse=True)
def fresh_marketo_pacers() -> Iterator[None]:
    """Pacers are shared per base URL; a later test's server may reuse a port, so start each test clean."""
    SharedPacer.forget_all()
    yield
    SharedPacer.forget_all()
