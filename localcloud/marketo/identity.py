"""Marketo's identity service: client credentials in, bearer tokens out, kept in SQLite."""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Callable

from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

POD = "lc"  # Marketo appends its pod to a token ("<uuid>:ab"); ours says "local cloud"


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str


def load_or_create_credentials(store: Store, configured: Credentials | None) -> Credentials:
    if configured is not None:
        store.set_meta(
            "credentials",
            {"client_id": configured.client_id, "client_secret": configured.client_secret},
        )
        return configured
    saved = store.get_meta("credentials")
    if saved:
        return Credentials(saved["client_id"], saved["client_secret"])
    made = Credentials(str(uuid.uuid4()), secrets.token_urlsafe(24))
    store.set_meta(
        "credentials", {"client_id": made.client_id, "client_secret": made.client_secret}
    )
    return made


class TokenCheck:
    VALID = "valid"
    INVALID = "601"
    EXPIRED = "602"


class Identity:
    def __init__(
        self,
        store: Store,
        credentials: Credentials,
        settings: Callable[[], Settings],
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.credentials = credentials
        self.settings = settings
        self.clock = clock
        self._lock = threading.Lock()
        self._calls = 0
        # token -> [expires_at, revoked]; checks stay in memory so a busy database never delays admission
        self._cache: dict[str, list[float | bool]] = {}

    def issue(self, client_id: str | None, client_secret: str | None) -> dict[str, object] | None:
        """The token answer, or None for bad credentials (HTTP 401)."""
        if not (
            client_id
            and client_secret
            and secrets.compare_digest(client_id, self.credentials.client_id)
            and secrets.compare_digest(client_secret, self.credentials.client_secret)
        ):
            return None
        now = self.clock()
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT token, expires_at FROM tokens WHERE client_id=? AND revoked=0 AND expires_at>? "
                "ORDER BY expires_at DESC LIMIT 1",
                (client_id, now),
            ).fetchone()
            if row:
                token, expires_at = row["token"], row["expires_at"]
            else:
                token = f"{uuid.uuid4()}:{POD}"
                expires_at = now + self.settings().token_lifetime_seconds
                db.execute(
                    "INSERT INTO tokens(token, client_id, issued_at, expires_at) VALUES (?, ?, ?, ?)",
                    (token, client_id, now, expires_at),
                )
        remaining = max(0, int(expires_at - now) - (1 if not row else 0))
        return {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": remaining,
            "scope": "ecbridge-api@local",
        }

    def _lookup(self, token: str) -> list[float | bool] | None:
        with self._lock:
            entry = self._cache.get(token)
        if entry is not None:
            return entry
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT expires_at, revoked FROM tokens WHERE token=?", (token,)
            ).fetchone()
        if row is None:
            return None
        entry = [float(row["expires_at"]), bool(row["revoked"])]
        with self._lock:
            return self._cache.setdefault(token, entry)

    def check(self, token: str) -> str:
        entry = self._lookup(token)
        if entry is None:
            return TokenCheck.INVALID
        every = self.settings().expire_token_every_n_calls
        with self._lock:
            if entry[1] or float(entry[0]) <= self.clock():
                return TokenCheck.EXPIRED
            due = False
            if every > 0:
                self._calls += 1
                due = self._calls % every == 0
            if due:
                entry[1] = True
        if due:
            with self.store.transaction() as db:
                db.execute("UPDATE tokens SET revoked=1 WHERE token=?", (token,))
            return TokenCheck.EXPIRED
        return TokenCheck.VALID

    def expire_all(self) -> int:
        with self.store.transaction() as db:
            count = db.execute("UPDATE tokens SET revoked=1 WHERE revoked=0").rowcount
        with self._lock:
            for entry in self._cache.values():
                entry[1] = True
        return count
