"""Marketo's schema endpoints: lead fields and custom object types (the Custom Object Metadata API).

A mixin of :class:`python_tasks.marketo.MarketoClient`; every method is one call (lists page).
"""
from __future__ import annotations

import json
from typing import Any, Protocol, Sequence

from .errors import MarketoError, MarketoUsageError
from .transport import MarketoTransport

MAX_LEAD_FIELDS_PER_CREATE = 100
CUSTOM_OBJECT_TYPE_ACTIONS = ("createOnly", "createOrUpdate", "updateOnly")
TYPE_STATES = ("draft", "approved", "approvedWithDraft")


class _HasTransport(Protocol):
    transport: MarketoTransport


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _type_name(api_name: str) -> str:
    if not api_name or not all(c.isalnum() or c == "_" for c in api_name):
        raise MarketoUsageError(f"not a custom object API name: {api_name!r}")
    return api_name


class SchemaCalls:
    """Lead fields and custom object types."""

    # ---------------------------------------------------------------- lead fields
    def get_lead_fields(self: _HasTransport) -> list[dict[str, Any]]:
        """Every lead field with ``isCustom``, ``dataType``, ``length`` (pages of 300)."""
        fields: list[dict[str, Any]] = []
        params: dict[str, Any] = {"batchSize": 300}
        while True:
            payload = self.transport.call("GET", "/rest/v1/leads/schema/fields.json", params=params)
            fields.extend(payload.get("result") or [])
            token = payload.get("nextPageToken")
            if not payload.get("moreResult") or not token:
                return fields
            params = {"batchSize": 300, "nextPageToken": token}

    def create_lead_fields(self: _HasTransport, fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Create lead fields (``name``, ``displayName``, ``dataType``, ...); one result per field, in order.

        Not retried after a timeout: a field may have been created (a second call answers 1017 for it).
        """
        if not fields:
            return []
        if len(fields) > MAX_LEAD_FIELDS_PER_CREATE:
            raise MarketoUsageError(f"at most {MAX_LEAD_FIELDS_PER_CREATE} lead fields a call (got {len(fields)})")
        payload = self.transport.call(
            "POST", "/rest/v1/leads/schema/fields.json", json_body=_body({"input": list(fields)}), idempotent=False
        )
        return list(payload.get("result") or [])

    # ---------------------------------------------------------------- custom object types
    def list_custom_object_types(self: _HasTransport, state: str | None = None) -> list[dict[str, Any]]:
        """``customobjects/schema.json``: each type with ``state``, ``version``, fields, dedupe, links."""
        params: dict[str, Any] = {}
        if state is not None:
            if state not in TYPE_STATES:
                raise MarketoUsageError(f"state must be one of {TYPE_STATES} (got {state!r})")
            params["state"] = state
        return list(self.transport.call("GET", "/rest/v1/customobjects/schema.json", params=params).get("result") or [])

    def describe_custom_object_type(self: _HasTransport, api_name: str, state: str | None = None) -> dict[str, Any]:
        params = {"state": state} if state else {}
        payload = self.transport.call(
            "GET", f"/rest/v1/customobjects/schema/{_type_name(api_name)}/describe.json", params=params,
            endpoint="GET /rest/v1/customobjects/schema/{apiName}/describe.json",
        )
        result = payload.get("result") or []
        if not result:
            raise MarketoError(f"custom object type {api_name!r} has no describe", endpoint="customobjects schema")
        return dict(result[0])

    def sync_custom_object_type(
        self: _HasTransport, api_name: str, *, action: str = "createOrUpdate", display_name: str | None = None,
        plural_name: str | None = None, description: str | None = None, show_in_lead_detail: bool | None = None,
    ) -> None:
        """Create (as a draft) or update a custom object type."""
        if action not in CUSTOM_OBJECT_TYPE_ACTIONS:
            raise MarketoUsageError(f"action must be one of {CUSTOM_OBJECT_TYPE_ACTIONS} (got {action!r})")
        body: dict[str, Any] = {"action": action, "apiName": _type_name(api_name)}
        for key, value in (("displayName", display_name), ("pluralName", plural_name),
                           ("description", description), ("showInLeadDetail", show_in_lead_detail)):
            if value is not None:
                body[key] = value
        self.transport.call("POST", "/rest/v1/customobjects/schema.json", json_body=_body(body), idempotent=False)

    def add_custom_object_type_fields(self: _HasTransport, api_name: str, fields: Sequence[dict[str, Any]]) -> None:
        """Add fields to the type's draft (``name``, ``displayName``, ``dataType``, ``isDedupeField``, ``relatedTo``)."""
        if not fields:
            return
        self.transport.call(
            "POST", f"/rest/v1/customobjects/schema/{_type_name(api_name)}/addField.json",
            endpoint="POST /rest/v1/customobjects/schema/{apiName}/addField.json",
            json_body=_body({"input": list(fields)}), idempotent=False,
        )

    def approve_custom_object_type(self: _HasTransport, api_name: str) -> None:
        self.transport.call(
            "POST", f"/rest/v1/customobjects/schema/{_type_name(api_name)}/approve.json",
            endpoint="POST /rest/v1/customobjects/schema/{apiName}/approve.json", idempotent=False,
        )

    def discard_custom_object_type_draft(self: _HasTransport, api_name: str) -> None:
        self.transport.call(
            "POST", f"/rest/v1/customobjects/schema/{_type_name(api_name)}/discardDraft.json",
            endpoint="POST /rest/v1/customobjects/schema/{apiName}/discardDraft.json", idempotent=False,
        )
