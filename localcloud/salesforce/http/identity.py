"""Who the local org is, and which tokens it has issued.

The org has one organization id, one integration user and one connected app (client id and
secret). Issued access tokens and the refresh token live in ``auth.sqlite`` next to the data, so a
token written to ``.ecbridge/local.env`` keeps working after a restart; ``reset`` deletes the file
and every token with it.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path


#: How many access tokens are remembered; the oldest are forgotten first (they then answer 401).
MAX_REMEMBERED_TOKENS = 2000
_FLUSH_EVERY = 50


@dataclass(frozen=True)
class OrgIdentity:
    org_id: str
    user_id: str
    username: str
    password: str
    client_id: str
    client_secret: str
    refresh_token: str
    org_name: str = "ECBridge Local Org"
    user_email: str = "integration@ecbridge.local"
    user_first_name: str = "ECBridge"
    user_last_name: str = "Integration"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    issued_at_ms: int
    signature: str


class IdentityStore:
    """Persistent identity and token registry (thread-safe)."""

    def __init__(self, path: Path, org_id: str, user_id: str, username: str | None = None,
                 user_email: str | None = None):
        """``org_id``/``user_id`` come from the data store (its Organization and admin User)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS identity (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, issued_at_ms INTEGER NOT NULL, grant TEXT NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_usage (day TEXT PRIMARY KEY, calls INTEGER NOT NULL)"
        )
        path.chmod(0o600)
        self.identity = self._load_or_create_identity(org_id, user_id, username, user_email)
        self._tokens: set[str] = {row[0] for row in self._db.execute("SELECT token FROM tokens")}
        self._usage: dict[str, int] = {}
        self._unflushed = 0

    def _load_or_create_identity(self, org_id: str, user_id: str, username: str | None,
                                 user_email: str | None) -> OrgIdentity:
        rows = dict(self._db.execute("SELECT key, value FROM identity").fetchall())
        if rows.get("org_id") != org_id or rows.get("user_id") != user_id:
            # A new (or reset) data store: new credentials, and every old token is forgotten.
            rows = {
                "org_id": org_id,
                "user_id": user_id,
                "username": username or f"integration@{org_id.lower()}.ecbridge.local",
                "password": secrets.token_urlsafe(18),
                "client_id": "3MVG9ECBridgeLocal" + secrets.token_urlsafe(24),
                "client_secret": secrets.token_hex(32),
                "refresh_token": "5Aep861" + secrets.token_urlsafe(48),
            }
            with self._db:
                self._db.execute("DELETE FROM identity")
                self._db.execute("DELETE FROM tokens")
                self._db.executemany("INSERT INTO identity (key, value) VALUES (?, ?)", list(rows.items()))
        identity = OrgIdentity(**rows)
        if username and identity.username != username:
            identity = OrgIdentity(**{**rows, "username": username})
        if user_email:
            identity = OrgIdentity(**{**identity.__dict__, "user_email": user_email})
        return identity

    # -- tokens -----------------------------------------------------------------------------------

    def issue_token(self, grant: str, instance_url: str) -> IssuedToken:
        token = f"{self.identity.org_id[:15]}!AQ{secrets.token_urlsafe(72)}"
        issued_at_ms = int(time.time() * 1000)
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (token, issued_at_ms, grant) VALUES (?, ?, ?)", (token, issued_at_ms, grant)
            )
            self._tokens.add(token)
            self._forget_oldest()
        return IssuedToken(token, issued_at_ms, self.signature(instance_url, issued_at_ms))

    def _forget_oldest(self) -> None:
        excess = len(self._tokens) - MAX_REMEMBERED_TOKENS
        if excess <= 0:
            return
        old = [row[0] for row in self._db.execute(
            "SELECT token FROM tokens ORDER BY issued_at_ms ASC LIMIT ?", (excess,)
        )]
        self._db.executemany("DELETE FROM tokens WHERE token = ?", [(t,) for t in old])
        self._tokens.difference_update(old)

    def session_token(self, grant: str, instance_url: str) -> str:
        """The newest still-remembered token issued with ``grant``, or a new one (stable across restarts)."""
        with self._lock:
            row = self._db.execute(
                "SELECT token FROM tokens WHERE grant = ? ORDER BY issued_at_ms DESC LIMIT 1", (grant,)
            ).fetchone()
        if row and row[0] in self._tokens:
            return row[0]
        return self.issue_token(grant, instance_url).access_token

    def signature(self, instance_url: str, issued_at_ms: int) -> str:
        """Base64 HMAC-SHA256 of identity URL + issued_at keyed by the client secret, as Salesforce signs."""
        message = f"{self.identity_url(instance_url)}{issued_at_ms}".encode()
        digest = hmac.new(self.identity.client_secret.encode(), message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def is_valid(self, token: str | None) -> bool:
        return bool(token) and token in self._tokens

    def revoke(self, token: str) -> bool:
        with self._lock:
            if token not in self._tokens:
                return False
            self._db.execute("DELETE FROM tokens WHERE token = ?", (token,))
            self._tokens.discard(token)
            return True

    def identity_url(self, instance_url: str) -> str:
        return f"{instance_url}/id/{self.identity.org_id}/{self.identity.user_id}"

    # -- API usage --------------------------------------------------------------------------------

    def count_api_call(self, day: str) -> int:
        """Count one API request for ``day`` (UTC date) and return the day's total.

        Counted in memory and written every ``_FLUSH_EVERY`` calls and on close, so counting does
        not cost a disk write per request.
        """
        with self._lock:
            if day not in self._usage:
                row = self._db.execute("SELECT calls FROM api_usage WHERE day = ?", (day,)).fetchone()
                self._usage = {day: row[0] if row else 0}
            self._usage[day] += 1
            self._unflushed += 1
            if self._unflushed >= _FLUSH_EVERY:
                self._flush_usage()
            return self._usage[day]

    def api_calls(self, day: str) -> int:
        with self._lock:
            if day in self._usage:
                return self._usage[day]
            row = self._db.execute("SELECT calls FROM api_usage WHERE day = ?", (day,)).fetchone()
        return row[0] if row else 0

    def _flush_usage(self) -> None:
        for day, calls in self._usage.items():
            self._db.execute(
                "INSERT INTO api_usage (day, calls) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET calls = excluded.calls",
                (day, calls),
            )
        self._unflushed = 0

    def close(self) -> None:
        with self._lock:
            self._flush_usage()
            self._db.close()
