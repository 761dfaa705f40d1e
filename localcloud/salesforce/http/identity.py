"""Who the local org is, and which tokens it has issued.

The org has one organization id, one integration user and one connected app (client id and
secret). Issued access tokens and the refresh token live in ``auth.sqlite3`` next to the data, so a
token written to ``.ecbridge/local.env`` keeps working after a restart; ``reset`` deletes the file
and every token with it.

Access tokens expire like Salesforce sessions: a token idle for longer than the session timeout
(``ECBRIDGE_ORG_SESSION_TIMEOUT``, default 7200 s: Salesforce's default session timeout; extended on
activity) is forgotten and answers 401 ``INVALID_SESSION_ID`` (SOAP: the ``sf:INVALID_SESSION_ID``
fault). Every authenticated request extends its token (``is_valid`` records the activity). The
decision is made from memory; last activity is written to ``auth.sqlite3`` in batches (every
``_FLUSH_EVERY`` uses, at least every ``_ACTIVITY_FLUSH_SECONDS`` of clock time, and on close), so a
restart neither revives an expired token nor ends a live one. After a crash, at most that batch of
activity is lost: a token then counts as idle since its last written use.
"""
from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from localcloud.config import org_session_timeout_seconds


#: How many access tokens are remembered; the oldest are forgotten first (they then answer 401).
MAX_REMEMBERED_TOKENS = 2000
_FLUSH_EVERY = 50
#: Token activity not yet written is written once this much clock time has passed (and on close).
_ACTIVITY_FLUSH_SECONDS = 60.0
#: An authorization code is good for one use within 15 minutes (Salesforce's web server flow).
AUTH_CODE_TTL_SECONDS = 900.0


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
    """Persistent identity and token registry (thread-safe).

    ``session_timeout_s``: idle seconds before a token expires (default: the
    ``ECBRIDGE_ORG_SESSION_TIMEOUT`` setting; 0 or negative: never). ``clock``: wall-clock seconds
    (``time.time``); tests pass their own to move time without sleeping. Both are plain attributes
    and may be changed on a running store.
    """

    def __init__(self, path: Path, org_id: str, user_id: str, username: str | None = None,
                 user_email: str | None = None, *, session_timeout_s: float | None = None,
                 clock: Callable[[], float] = time.time):
        """``org_id``/``user_id`` come from the data store (its Organization and admin User)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._lock = threading.Lock()
        self.clock = clock
        self.session_timeout_s = org_session_timeout_seconds() if session_timeout_s is None else float(session_timeout_s)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS identity (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, issued_at_ms INTEGER NOT NULL, grant TEXT NOT NULL,"
            " last_used_ms INTEGER)"
        )
        if "last_used_ms" not in {row[1] for row in self._db.execute("PRAGMA table_info(tokens)")}:
            # auth.sqlite3 written before tokens expired: their only known activity is their issue
            self._db.execute("ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS api_usage (day TEXT PRIMARY KEY, calls INTEGER NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS auth_codes (code TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
            " redirect_uri TEXT NOT NULL, expires_ms INTEGER NOT NULL)"
        )
        path.chmod(0o600)
        self.identity = self._load_or_create_identity(org_id, user_id, username, user_email)
        #: token -> clock seconds of its last use (issue counts as use); the source of truth while running
        self._last_used: dict[str, float] = {
            row[0]: row[1] / 1000.0
            for row in self._db.execute("SELECT token, COALESCE(last_used_ms, issued_at_ms) FROM tokens")
        }
        self._unwritten_activity: set[str] = set()
        self._activity_flushed_at = self.clock()
        self._usage: dict[str, int] = {}
        self._unflushed = 0
        with self._lock:
            expired = [token for token, last in self._last_used.items() if self._expired(last, self._activity_flushed_at)]
            self._forget(expired)

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
        with self._lock:
            now = self.clock()
            issued_at_ms = int(now * 1000)
            self._db.execute(
                "INSERT INTO tokens (token, issued_at_ms, grant, last_used_ms) VALUES (?, ?, ?, ?)",
                (token, issued_at_ms, grant, issued_at_ms),
            )
            self._last_used[token] = now
            self._forget_oldest()
        return IssuedToken(token, issued_at_ms, self.signature(instance_url, issued_at_ms))

    def _forget_oldest(self) -> None:
        """Keep at most ``MAX_REMEMBERED_TOKENS``: the least recently used are forgotten first."""
        excess = len(self._last_used) - MAX_REMEMBERED_TOKENS
        if excess <= 0:
            return
        self._forget(heapq.nsmallest(excess, self._last_used, key=self._last_used.__getitem__))

    def _forget(self, tokens: list[str]) -> None:
        """Forget ``tokens`` in memory and on disk (the caller holds the lock)."""
        if not tokens:
            return
        self._db.executemany("DELETE FROM tokens WHERE token = ?", [(t,) for t in tokens])
        for token in tokens:
            self._last_used.pop(token, None)
            self._unwritten_activity.discard(token)

    def _expired(self, last_used: float, now: float) -> bool:
        timeout = self.session_timeout_s
        return timeout > 0 and now - last_used > timeout

    def session_token(self, grant: str, instance_url: str) -> str:
        """The newest live token issued with ``grant``, or a new one (stable across restarts).

        Handing the token out counts as activity; a newest token that has expired is replaced by a
        fresh one, so ``make up`` never writes a dead ``SF_ACCESS_TOKEN``."""
        with self._lock:
            row = self._db.execute(
                "SELECT token FROM tokens WHERE grant = ? ORDER BY issued_at_ms DESC LIMIT 1", (grant,)
            ).fetchone()
        if row and self.is_valid(row[0]):
            return row[0]
        return self.issue_token(grant, instance_url).access_token

    def signature(self, instance_url: str, issued_at_ms: int) -> str:
        """Base64 HMAC-SHA256 of identity URL + issued_at keyed by the client secret, as Salesforce signs."""
        message = f"{self.identity_url(instance_url)}{issued_at_ms}".encode()
        digest = hmac.new(self.identity.client_secret.encode(), message, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def is_valid(self, token: str | None) -> bool:
        """Authenticate one request made with ``token``: true while the session is live, and the use
        extends it. A token idle past the timeout is forgotten (later uses stay invalid)."""
        if not token:
            return False
        with self._lock:
            last_used = self._last_used.get(token)
            if last_used is None:
                return False
            now = self.clock()
            if self._expired(last_used, now):
                self._forget([token])
                return False
            if now > last_used:
                self._last_used[token] = now
            self._unwritten_activity.add(token)
            if len(self._unwritten_activity) >= _FLUSH_EVERY or now - self._activity_flushed_at >= _ACTIVITY_FLUSH_SECONDS:
                self._flush_activity(now)
            return True

    def last_activity(self, token: str) -> float | None:
        """Clock seconds of the token's last use, or None for an unknown (or forgotten) token."""
        with self._lock:
            return self._last_used.get(token)

    @property
    def remembered_tokens(self) -> frozenset[str]:
        """The access tokens the org remembers: issued, and not revoked, forgotten or found expired
        (a token idle past the timeout is dropped at its next use or at the next start)."""
        with self._lock:
            return frozenset(self._last_used)

    def _flush_activity(self, now: float) -> None:
        self._db.executemany(
            "UPDATE tokens SET last_used_ms = ? WHERE token = ?",
            [(int(self._last_used[t] * 1000), t) for t in self._unwritten_activity if t in self._last_used],
        )
        self._unwritten_activity.clear()
        self._activity_flushed_at = now

    def revoke(self, token: str) -> bool:
        with self._lock:
            if token not in self._last_used:
                return False
            self._forget([token])
            return True

    def set_password(self, password: str) -> None:
        """The admin's new password (``setPassword``); the ``password`` grant checks it from now on."""
        with self._lock:
            self._db.execute("UPDATE identity SET value = ? WHERE key = 'password'", (password,))
            self.identity = replace(self.identity, password=password)

    # -- authorization codes (the web server flow; the Dev Hub hands one to each new scratch org) --

    def issue_auth_code(self, client_id: str, redirect_uri: str, ttl_s: float = AUTH_CODE_TTL_SECONDS) -> str:
        """A one-time code for ``grant_type=authorization_code``, bound to the client id and redirect URI."""
        code = "aPrx" + secrets.token_urlsafe(48)
        with self._lock:
            self._db.execute("INSERT INTO auth_codes (code, client_id, redirect_uri, expires_ms) VALUES (?, ?, ?, ?)",
                             (code, client_id, redirect_uri, int((self.clock() + ttl_s) * 1000)))
        return code

    def redeem_auth_code(self, code: str, client_id: str, redirect_uri: str) -> str | None:
        """None when the code is good (it is used up); else the OAuth error description."""
        with self._lock:
            row = self._db.execute("SELECT client_id, redirect_uri, expires_ms FROM auth_codes WHERE code = ?",
                                   (code,)).fetchone()
            if row is None:
                return "invalid authorization code"
            self._db.execute("DELETE FROM auth_codes WHERE code = ?", (code,))
            if row[2] < int(self.clock() * 1000):
                return "expired authorization code"
        if not hmac.compare_digest(row[0].encode(), (client_id or "").encode()):
            return "invalid client credentials"
        if (redirect_uri or "") != row[1]:
            return "redirect_uri must match configuration"
        return None

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
            self._flush_activity(self.clock())
            self._db.close()
