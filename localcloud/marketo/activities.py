"""Activity log of the local Marketo: the activity types it records, paging tokens and pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Callable

from localcloud.marketo.envelope import CallError, decode_token, encode_token
from localcloud.marketo.schema import format_datetime, parse_datetime
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

FILL_OUT_FORM = 2
UNSUBSCRIBE_EMAIL = 9
NEW_LEAD = 12
CHANGE_DATA_VALUE = 13
MERGE_LEADS = 32
DELETE_LEAD = 37
LEAD_CHANGE_TYPES = (NEW_LEAD, CHANGE_DATA_VALUE)

def _activity_type(
    type_id: int,
    name: str,
    description: str,
    primary_attribute: str,
    attributes: list[tuple[str, str]],
) -> dict[str, Any]:
    """One entry of activities/types.json: an integer primary attribute, attributes as (name, dataType)."""
    return {
        "id": type_id,
        "name": name,
        "description": description,
        "primaryAttribute": {"name": primary_attribute, "dataType": "integer"},
        "attributes": [{"name": n, "dataType": data_type} for n, data_type in attributes],
    }


_API_METHOD = ("API Method Name", "string")
_MODIFYING_USER = ("Modifying User", "string")
_REQUEST_ID = ("Request Id", "string")

ACTIVITY_TYPES: list[dict[str, Any]] = [
    _activity_type(
        FILL_OUT_FORM,
        "Fill Out Form",
        "User fills out and submits form on web page",
        "Webform ID",
        [
            ("Client IP Address", "string"),
            ("Form Fields", "text"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("User Agent", "string"),
            ("Webpage ID", "integer"),
        ],
    ),
    _activity_type(
        UNSUBSCRIBE_EMAIL,
        "Unsubscribe Email",
        "Person unsubscribes from Marketo emails",
        "Mailing ID",
        [
            ("Campaign Run ID", "integer"),
            ("Client IP Address", "string"),
            ("Form Fields", "text"),
            ("Query Parameters", "string"),
            ("Referrer URL", "string"),
            ("User Agent", "string"),
            ("Webform ID", "integer"),
            ("Webpage ID", "integer"),
        ],
    ),
    _activity_type(
        NEW_LEAD,
        "New Lead",
        "New person",
        "Lead ID",
        [
            _API_METHOD,
            ("Created Date", "date"),
            ("Form Name", "string"),
            ("Lead Source", "string"),
            ("List Name", "string"),
            _MODIFYING_USER,
            _REQUEST_ID,
            ("SFDC Type", "string"),
            ("Source Type", "string"),
        ],
    ),
    _activity_type(
        CHANGE_DATA_VALUE,
        "Change Data Value",
        "Changed attribute value for a person",
        "Attribute Name",
        [
            _API_METHOD,
            _MODIFYING_USER,
            ("New Value", "string"),
            ("Old Value", "string"),
            ("Reason", "string"),
            _REQUEST_ID,
            ("Source", "string"),
        ],
    ),
    _activity_type(
        MERGE_LEADS,
        "Merge Leads",
        "Merge two or more people",
        "Lead ID",
        [
            _API_METHOD,
            ("Master Updated", "boolean"),
            ("Merge ids", "string"),
            ("Merge Source", "string"),
            ("Merged in Sales", "boolean"),
            _MODIFYING_USER,
            _REQUEST_ID,
        ],
    ),
    _activity_type(
        DELETE_LEAD,
        "Delete Lead",
        "Delete lead from Marketo",
        "Lead ID",
        [_API_METHOD, _MODIFYING_USER, _REQUEST_ID],
    ),
]
KNOWN_TYPE_IDS = {entry["id"] for entry in ACTIVITY_TYPES}


def record_activity(
    store: Store,
    lead_id: int,
    type_id: int,
    activity_date: str,
    attributes: list[dict[str, Any]],
    primary_attribute_value_id: int | None = None,
    primary_attribute_value: str | None = None,
) -> int:
    shown = [
        {"name": a["name"], "value": _text(a["value"])}
        for a in attributes
        if a.get("value") is not None
    ]
    return store.add_activity(
        lead_id, type_id, activity_date, shown, primary_attribute_value_id, primary_attribute_value
    )


def _text(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _id_list(raw: str | None, name: str, limit: int) -> list[int] | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        values = [int(v) for v in raw.split(",") if v.strip()]
    except ValueError:
        raise CallError("1003", f"Invalid value for '{name}': {raw}") from None
    if len(values) > limit:
        raise CallError(
            "1003", f"Too many values for '{name}': {len(values)}, the limit is {limit}"
        )
    return values


class ActivityOperations:
    def __init__(self, store: Store, settings: Callable[[], Settings]):
        self.store = store
        self.settings = settings

    def paging_token(self, since: str | None) -> str:
        if not since:
            raise CallError("701", "sinceDatetime cannot be blank")
        try:
            moment = parse_datetime(since)
        except ValueError:
            raise CallError("1003", f"Invalid sinceDatetime '{since}'") from None
        return encode_token({"since": format_datetime(moment), "after": 0})

    def _read_page(
        self,
        next_page_token: str | None,
        type_ids: list[int],
        lead_ids: str | None,
        batch_size: str | None,
    ) -> tuple[list[dict[str, Any]], str, bool]:
        settings = self.settings()
        if not next_page_token:
            raise CallError("701", "nextPageToken cannot be blank")
        state = decode_token(next_page_token)
        if "since" not in state:
            raise CallError("1003", f"Invalid nextPageToken '{next_page_token}'")
        leads = _id_list(lead_ids, "leadIds", settings.max_activity_lead_ids)
        size = settings.activities_page_size
        if batch_size not in (None, ""):
            try:
                size = max(1, min(300, int(str(batch_size))))
            except ValueError:
                raise CallError("1003", f"Invalid batchSize '{batch_size}'") from None
        scan_all = settings.activities_scan_all_types
        rows, more = self.store.activities_page(
            state["since"], int(state.get("after", 0)), [] if scan_all else type_ids, leads, size
        )
        after = rows[-1]["id"] if rows else int(state.get("after", 0))
        token = encode_token({"since": state["since"], "after": after})
        if scan_all:
            rows = [row for row in rows if row["type_id"] in type_ids]
        return rows, token, more

    def page(
        self,
        next_page_token: str | None,
        activity_type_ids: str | None,
        lead_ids: str | None,
        batch_size: str | None,
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """GET /rest/v1/activities.json: every page carries a nextPageToken and moreResult."""
        type_ids = _id_list(
            activity_type_ids, "activityTypeIds", self.settings().max_activity_type_ids
        )
        if not type_ids:
            raise CallError("701", "activityTypeIds cannot be blank")
        rows, token, more = self._read_page(next_page_token, type_ids, lead_ids, batch_size)
        return [self.shape(row) for row in rows], token, more

    def lead_changes(
        self,
        next_page_token: str | None,
        fields: str | None,
        lead_ids: str | None,
        batch_size: str | None,
        field_ids: dict[str, int],
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """GET /rest/v1/activities/leadchanges.json: New Lead and Change Data Value for ``fields``.

        A page may hold fewer items than the batch size with moreResult true, as Adobe documents."""
        if not fields or not fields.strip():
            raise CallError("701", "fields cannot be blank")
        wanted: dict[int, str] = {}
        for name in (f.strip() for f in fields.split(",") if f.strip()):
            if name not in field_ids:
                raise CallError("1006", f"Field '{name}' not found")
            wanted[field_ids[name]] = name
        rows, token, more = self._read_page(
            next_page_token, list(LEAD_CHANGE_TYPES), lead_ids, batch_size
        )
        result = []
        for row in rows:
            if row["type_id"] == CHANGE_DATA_VALUE:
                name = wanted.get(row["primary_attribute_value_id"])
                if name is None:
                    continue
                attributes = {a["name"]: a["value"] for a in json.loads(row["attributes"])}
                item = self.shape(row)
                item.pop("primaryAttributeValueId", None)
                item.pop("primaryAttributeValue", None)
                item["fields"] = [
                    {
                        "id": row["primary_attribute_value_id"],
                        "name": name,
                        "newValue": attributes.get("New Value"),
                        "oldValue": attributes.get("Old Value"),
                    }
                ]
                item["attributes"] = [
                    a for a in item["attributes"] if a["name"] not in ("New Value", "Old Value")
                ]
                result.append(item)
            else:
                result.append({**self.shape(row), "fields": []})
        return result, token, more

    def deleted_leads(
        self, next_page_token: str | None, batch_size: str | None
    ) -> tuple[list[dict[str, Any]], str, bool]:
        rows, token, more = self._read_page(next_page_token, [DELETE_LEAD], None, batch_size)
        return [self.shape(row) for row in rows], token, more

    @staticmethod
    def shape(row: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": row["id"],
            "marketoGUID": str(row["id"]),
            "leadId": row["lead_id"],
            "activityDate": row["activity_date"],
            "activityTypeId": row["type_id"],
        }
        if row["primary_attribute_value_id"] is not None:
            item["primaryAttributeValueId"] = row["primary_attribute_value_id"]
        if row["primary_attribute_value"] is not None:
            item["primaryAttributeValue"] = row["primary_attribute_value"]
        item["attributes"] = json.loads(row["attributes"])
        return item


def utc_now() -> str:
    return format_datetime(dt.datetime.now(dt.timezone.utc))
