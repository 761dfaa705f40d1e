from __future__ import annotations

import random
from pathlib import Path

import pytest

from python_tasks.seed.recipe import GeneratedData, run_recipe
from python_tasks.seed.schema import PayloadSchema, load_payload_schema

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def schema() -> PayloadSchema:
    return load_payload_schema(ROOT / "ecbridge.yml")


@pytest.fixture(scope="session")
def generated() -> GeneratedData:
    return run_recipe(
        options={"members": 60, "run_id": "T1", "register_and_buy_share": 0.5, "marketo_only_share": 0.3}
    )


@pytest.fixture()
def rng() -> random.Random:
    return random.Random(20261128)
