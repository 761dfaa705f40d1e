"""Where the client's credentials come from: the CumulusCI ``marketo`` service or the environment.

The secret never appears in ``repr``/``str`` of anything here, and nothing here logs it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping

ENV_BASE_URL = "MARKETO_BASE_URL"
ENV_CLIENT_ID = "MARKETO_CLIENT_ID"
ENV_CLIENT_SECRET = "MARKETO_CLIENT_SECRET"
SERVICE_NAME = "marketo"


class MarketoCredentialsMissing(RuntimeError):
    """No usable Marketo credentials: says which source was tried and what was missing."""


def normalise_base_url(url: str) -> str:
    """Accept the REST endpoint or identity URL from Admin > Web Services, or the bare host."""
    url = url.strip().rstrip("/")
    for suffix in ("/rest", "/identity"):
        if url.endswith(suffix):
            url = url[: -len(suffix)]
    if not url.startswith(("https://", "http://")):
        raise MarketoCredentialsMissing(f"Marketo base URL must start with https:// (got {url!r})")
    return url


@dataclass(frozen=True)
class MarketoCredentials:
    base_url: str
    client_id: str
    client_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalise_base_url(self.base_url))
        if not self.client_id or not self.client_secret:
            raise MarketoCredentialsMissing("Marketo client_id and client_secret are both required")

    def __repr__(self) -> str:
        return f"MarketoCredentials(base_url={self.base_url!r}, client_id={self.client_id!r}, client_secret='***')"

    __str__ = __repr__

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "MarketoCredentials":
        env = os.environ if environ is None else environ
        values = {name: (env.get(name) or "").strip() for name in (ENV_BASE_URL, ENV_CLIENT_ID, ENV_CLIENT_SECRET)}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise MarketoCredentialsMissing(f"environment variables not set: {', '.join(missing)}")
        return cls(values[ENV_BASE_URL], values[ENV_CLIENT_ID], values[ENV_CLIENT_SECRET])

    @classmethod
    def from_service(cls, service: Any) -> "MarketoCredentials":
        """From a CumulusCI ``ServiceConfig`` (or any mapping) with base_url, client_id, client_secret."""
        def read(name: str) -> str:
            if isinstance(service, Mapping):
                value = service.get(name)
            elif hasattr(service, "lookup"):  # cumulusci BaseConfig: attributes not declared on the class
                value = service.lookup(name)
            else:
                value = getattr(service, name, None)
            return str(value).strip() if value else ""

        values = {name: read(name) for name in ("base_url", "client_id", "client_secret")}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise MarketoCredentialsMissing(f"the CumulusCI 'marketo' service lacks: {', '.join(missing)}")
        return cls(values["base_url"], values["client_id"], values["client_secret"])


def credentials_from_project(project_config: Any = None, environ: Mapping[str, str] | None = None) -> MarketoCredentials:
    """The ``marketo`` service of the project's keychain when it has one, else the environment.

    ``project_config`` is a CumulusCI project config (``task.project_config``); None means env only.
    """
    keychain = getattr(project_config, "keychain", None) if project_config is not None else None
    service_error: Exception | None = None
    if keychain is not None:
        try:
            service = keychain.get_service(SERVICE_NAME)
        except Exception as error:  # cumulusci raises ServiceNotConfigured; any failure falls back to env
            service_error = error
        else:
            return MarketoCredentials.from_service(service)
    try:
        return MarketoCredentials.from_env(environ)
    except MarketoCredentialsMissing as env_error:
        detail = f"; the CumulusCI 'marketo' service is not configured ({type(service_error).__name__})" if service_error else ""
        raise MarketoCredentialsMissing(
            "No Marketo credentials: connect the service with `cci service connect marketo` or set "
            f"{ENV_BASE_URL}, {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} ({env_error}){detail}"
        ) from None
