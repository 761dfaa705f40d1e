"""Where the local cloud keeps its files and on which ports it listens.

Everything is settable through the environment so that two checkouts (or a test and a running
`make up`) never collide:

ECBRIDGE_HOME            folder for data, certificates, pid file, log and local.env (default: ./.ecbridge)
ECBRIDGE_HOST            listen address, loopback only (default 127.0.0.1)
ECBRIDGE_ORG_PORT        local org port (default 47443)
ECBRIDGE_MARKETO_PORT    local Marketo port (default 47444)
ECBRIDGE_PUBSUB_PORT     the local org's Pub/Sub API (gRPC) port (default 47445)
ECBRIDGE_ORG_SESSION_TIMEOUT
                         seconds an access token of the local org may stay idle before it answers
                         401 INVALID_SESSION_ID (default 7200: Salesforce's default session timeout;
                         extended on activity). 0 or negative: tokens never expire.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ORG_PORT = 47443
DEFAULT_MARKETO_PORT = 47444
DEFAULT_PUBSUB_PORT = 47445
DEFAULT_HOST = "127.0.0.1"
#: Salesforce's default session timeout ("Timeout value" in Session Settings: 2 hours); extended on activity.
DEFAULT_ORG_SESSION_TIMEOUT_SECONDS = 7200


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError as error:
        raise ValueError(f"{name}={raw!r} is not a port number") from error
    if not 0 <= port <= 65535:
        raise ValueError(f"{name}={raw!r} is not a port number")
    return port


def org_session_timeout_seconds() -> float:
    """``ECBRIDGE_ORG_SESSION_TIMEOUT`` in seconds (default 7200); 0 or negative means never expire."""
    raw = os.environ.get("ECBRIDGE_ORG_SESSION_TIMEOUT", "").strip()
    if not raw:
        return float(DEFAULT_ORG_SESSION_TIMEOUT_SECONDS)
    try:
        return float(raw)
    except ValueError as error:
        raise ValueError(f"ECBRIDGE_ORG_SESSION_TIMEOUT={raw!r} is not a number of seconds") from error


@dataclass(frozen=True)
class LocalCloudConfig:
    home: Path
    host: str
    org_port: int
    marketo_port: int
    pubsub_port: int = DEFAULT_PUBSUB_PORT

    @classmethod
    def from_env(cls, home: Path | None = None) -> "LocalCloudConfig":
        chosen = home or Path(os.environ.get("ECBRIDGE_HOME") or Path.cwd() / ".ecbridge")
        return cls(
            home=chosen.resolve(),
            host=os.environ.get("ECBRIDGE_HOST", DEFAULT_HOST),
            org_port=_port("ECBRIDGE_ORG_PORT", DEFAULT_ORG_PORT),
            marketo_port=_port("ECBRIDGE_MARKETO_PORT", DEFAULT_MARKETO_PORT),
            pubsub_port=_port("ECBRIDGE_PUBSUB_PORT", DEFAULT_PUBSUB_PORT),
        )

    @property
    def admin_username(self) -> str:
        """The local org's admin, unique per state folder: the sf CLI keys its auth files (``~/.sfdx``) by
        username, so two checkouts' local Dev Hubs must not share one."""
        digest = hashlib.sha256(str(self.home).encode()).hexdigest()[:10]
        return f"admin@{digest}.ecbridge.local"

    @property
    def devhub_auth_url_file(self) -> Path:
        """The local Dev Hub's SFDX auth URL (0600), for ``sf org login sfdx-url`` (``make up`` runs it)."""
        return self.home / "devhub.sfdxurl"

    @property
    def org_dir(self) -> Path:
        return self.home / "org"

    @property
    def marketo_dir(self) -> Path:
        return self.home / "marketo"

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    @property
    def pid_file(self) -> Path:
        return self.home / "localcloud.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "localcloud.log"

    @property
    def env_file(self) -> Path:
        return self.home / "local.env"

    @property
    def state_file(self) -> Path:
        """Written by the running server once it listens: URLs and credentials (mode 0600)."""
        return self.home / "localcloud.json"
