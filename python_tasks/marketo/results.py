"""Typed per-record outcomes: every input record gets exactly one, in input order."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Reasons the client itself gives (never sent to Marketo), next to Marketo's numeric reason codes.
CLIENT_RECORD_TOO_LARGE = "ECB-TOO-LARGE"
CLIENT_NO_RESULT = "ECB-NO-RESULT"

OK_STATUSES = frozenset({"created", "updated", "deleted"})


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code} {self.message}"


@dataclass(frozen=True)
class RecordResult:
    """What happened to one input record.

    ``index`` is its position in the caller's input; ``status`` is Marketo's (created, updated,
    deleted, skipped) or ``unknown`` when Marketo returned nothing for it. ``id`` is the lead id,
    ``marketo_guid`` the custom object id.
    """

    index: int
    status: str
    id: int | None = None
    marketo_guid: str | None = None
    reasons: tuple[Reason, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    @property
    def skipped(self) -> bool:
        return not self.ok

    @property
    def reason_text(self) -> str:
        """Reasons as one line (for a Text(255) error field on the Salesforce record)."""
        return "; ".join(str(reason) for reason in self.reasons)

    @classmethod
    def from_marketo(cls, index: int, item: dict[str, Any]) -> "RecordResult":
        reasons = tuple(
            Reason(str(reason.get("code", "")), str(reason.get("message", ""))) for reason in item.get("reasons") or ()
        )
        raw_id = item.get("id")
        return cls(
            index=index,
            status=str(item.get("status") or ("skipped" if reasons else "unknown")),
            id=int(raw_id) if isinstance(raw_id, (int, str)) and str(raw_id).isdigit() else None,
            marketo_guid=item.get("marketoGUID"),
            reasons=reasons,
            raw=item,
        )

    @classmethod
    def client_skip(cls, index: int, code: str, message: str) -> "RecordResult":
        return cls(index=index, status="skipped", reasons=(Reason(code, message),))


@dataclass(frozen=True)
class ImportBatch:
    """A bulk import job (leads, or the custom object ``object_api_name``) and its latest status.

    ``leads_processed`` is Marketo's count of rows imported: ``numOfLeadsProcessed`` for a lead
    import, ``numOfObjectsProcessed`` for a custom object import.
    """

    batch_id: int
    status: str
    leads_processed: int = 0
    rows_failed: int = 0
    rows_with_warning: int = 0
    message: str = ""
    object_api_name: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in ("Complete", "Failed")

    @classmethod
    def from_marketo(cls, item: dict[str, Any]) -> "ImportBatch":
        return cls(
            batch_id=int(item["batchId"]),
            status=str(item.get("status", "")),
            leads_processed=int(item.get("numOfLeadsProcessed") or item.get("numOfObjectsProcessed") or 0),
            rows_failed=int(item.get("numOfRowsFailed") or 0),
            rows_with_warning=int(item.get("numOfRowsWithWarning") or 0),
            message=str(item.get("message") or ""),
            object_api_name=str(item.get("objectApiName") or ""),
            raw=item,
        )


@dataclass(frozen=True)
class ActivityPage:
    """One page of ``GET /rest/v1/activities.json``: its items, the token that reads on after it, and
    whether more follow. A page may be short, even empty, with ``more`` true (Marketo goes through a
    batch of activities of every type and returns those of the asked types)."""

    items: tuple[dict[str, Any], ...]
    next_token: str
    more: bool
