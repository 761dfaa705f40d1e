from __future__ import annotations

from typing import Any, Iterator

import pytest

from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy, SharedPacer

from .scripted_marketo import CLIENT_ID, CLIENT_SECRET, ScriptedMarketo


@pytest.fixture(scope="session")
def _scripted_server() -> Iterator[ScriptedMarketo]:
    server = ScriptedMarketo()
    yield server
    server.stop()


@pytest.fixture()
def marketo(_scripted_server: ScriptedMarketo) -> ScriptedMarketo:
    _scripted_server.reset()
    SharedPacer.forget_all()
    return _scripted_server


@pytest.fixture()
def sleeps() -> list[float]:
    return []


@pytest.fixture()
def make_client(marketo: ScriptedMarketo, sleeps: list[float]):
    made: list[MarketoClient] = []

    def make(server: ScriptedMarketo | None = None, **options: Any) -> MarketoClient:
        target = server or marketo
        options.setdefault("retry", RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05))
        options.setdefault("sleep", sleeps.append)
        options.setdefault("timeout", (2.0, 5.0))
        client = MarketoClient(MarketoCredentials(target.url, CLIENT_ID, CLIENT_SECRET), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
    SharedPacer.forget_all()


@pytest.fixture()
def client(make_client) -> MarketoClient:
    return make_client()
