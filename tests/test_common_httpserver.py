"""The shared HTTPS transport: TLS with the generated CA, routing, unknown paths and methods."""
from __future__ import annotations

from pathlib import Path

import pytest
import requests

from localcloud.common.httpserver import App, Request, Response, Router, serve
from localcloud.common.tls import ensure_certificates


@pytest.fixture()
def server(tmp_path: Path):
    certs = ensure_certificates(tmp_path / "certs")
    router = Router()

    @router.route("GET", r"/items/(?P<item_id>[^/]+)")
    def get_item(request: Request) -> Response:
        return Response.json({"id": request.path_params["item_id"], "q": request.arg("q")})

    @router.route("POST", r"/boom")
    def boom(request: Request) -> Response:
        raise RuntimeError("secret internals")

    running = serve(App(router), ssl_context=certs.server_context())
    yield running, certs
    running.stop()


def test_tls_is_trusted_through_the_bundle_and_routes_resolve(server) -> None:
    running, certs = server
    answer = requests.get(f"{running.url}/items/A%20B", params={"q": "x"}, verify=str(certs.bundle), timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"id": "A B", "q": "x"}
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{running.url}/items/1", verify=True, timeout=5)


def test_unknown_path_method_and_errors_never_leak_a_traceback(server) -> None:
    running, certs = server
    assert requests.get(f"{running.url}/nope", verify=str(certs.bundle), timeout=5).status_code == 404
    assert requests.delete(f"{running.url}/items/1", verify=str(certs.bundle), timeout=5).status_code == 405
    answer = requests.post(f"{running.url}/boom", verify=str(certs.bundle), timeout=5)
    assert answer.status_code == 500
    assert "secret internals" not in answer.text and "Traceback" not in answer.text


def test_certificates_are_made_once(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path)
    before = first.server_cert.read_bytes()
    second = ensure_certificates(tmp_path)
    assert second.server_cert.read_bytes() == before


def test_refuses_to_listen_beyond_loopback() -> None:
    with pytest.raises(ValueError):
        serve(App(Router()), host="0.0.0.0")
