"""ECBridge's Marketo REST client: auth, envelope, batching, shared pacing, retries.

    from python_tasks.marketo import MarketoClient
    client = MarketoClient.from_project(self.project_config, calls_per_window=100, max_in_flight=10)
    results = client.sync_leads(records, action="createOrUpdate", lookup_field="ecMemberId")
"""
from .client import MarketoClient
from .counters import CounterSnapshot
from .credentials import MarketoCredentials, MarketoCredentialsMissing, credentials_from_project
from .errors import (
    MarketoAuthError,
    MarketoError,
    MarketoNotFoundError,
    MarketoProtocolError,
    MarketoQuotaExceeded,
    MarketoRateLimitError,
    MarketoRequestError,
    MarketoRequestTooLarge,
    MarketoTransientError,
    MarketoUsageError,
    next_quota_reset,
)
from .pacing import PacingSettings, SharedPacer
from .results import ImportBatch, Reason, RecordResult
from .transport import RetryPolicy

__all__ = [
    "CounterSnapshot",
    "ImportBatch",
    "MarketoAuthError",
    "MarketoClient",
    "MarketoCredentials",
    "MarketoCredentialsMissing",
    "MarketoError",
    "MarketoNotFoundError",
    "MarketoProtocolError",
    "MarketoQuotaExceeded",
    "MarketoRateLimitError",
    "MarketoRequestError",
    "MarketoRequestTooLarge",
    "MarketoTransientError",
    "MarketoUsageError",
    "PacingSettings",
    "Reason",
    "RecordResult",
    "RetryPolicy",
    "SharedPacer",
    "credentials_from_project",
    "next_quota_reset",
]
