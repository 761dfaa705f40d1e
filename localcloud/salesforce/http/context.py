"""What every route module needs: the org's identity, its data, its deployer and its address."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from localcloud.salesforce.http.identity import IdentityStore

#: DailyApiRequests "Max" in /limits (a Developer Edition org allows 15,000 a day).
DEFAULT_DAILY_API_REQUESTS = int(os.environ.get("ECBRIDGE_ORG_DAILY_API_REQUESTS", "15000"))


@dataclass
class OrgContext:
    identity: IdentityStore
    data: Any  # localcloud.salesforce.data store (see server.py)
    deployer: Any = None  # localcloud.salesforce.metadata.Deployer
    instance_url: str = "https://127.0.0.1"
    daily_api_requests: int = DEFAULT_DAILY_API_REQUESTS
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def org_id(self) -> str:
        return self.identity.identity.org_id

    @property
    def user_id(self) -> str:
        return self.identity.identity.user_id

    @staticmethod
    def today() -> str:
        return dt.datetime.now(dt.timezone.utc).date().isoformat()
