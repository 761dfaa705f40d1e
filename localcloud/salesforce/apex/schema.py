"""What the compiler and runtime need to know about SObjects: type and field names.

`DefaultSchema` is used when no data layer is attached (pure-language runs): it knows the standard
objects ECBridge uses and accepts custom names (`__c`, `__r`) as written. `DataSchema` wraps the data
layer's `Schema` (localcloud.salesforce.data) and rejects unknown types and fields.
"""

from __future__ import annotations

from typing import Any

STANDARD_OBJECTS = ["Account", "Contact", "Lead", "Opportunity", "Case", "User", "Task", "Event", "Campaign",
                    "CampaignMember", "Product2", "Pricebook2", "PricebookEntry", "Order", "OrderItem", "Profile",
                    "Organization", "RecordType", "Group", "Note", "Attachment", "Asset", "Contract",
                    "PermissionSet", "PermissionSetAssignment", "ApexClass", "ApexTrigger", "AsyncApexJob",
                    "CronTrigger", "Document", "Folder", "EmailTemplate", "OrgWideEmailAddress", "Individual"]


_STANDARD: list[Any] = []


def _standard() -> "DataSchema | None":
    """The data layer's standard schema, loaded once per process (read-only)."""
    if not _STANDARD:
        try:
            from localcloud.salesforce.data import Schema
            _STANDARD.append(DataSchema(Schema.standard()))
        except Exception:  # noqa: BLE001 - without the data layer only names are known
            _STANDARD.append(None)
    return _STANDARD[0]


class DefaultSchema:
    """Standard objects and fields from the data layer's standard schema; custom names as written."""

    def __init__(self) -> None:
        self._std = {n.lower(): n for n in STANDARD_OBJECTS}
        self._data = _standard()

    def sobject_name(self, name: str) -> str | None:
        low = name.lower()
        if low.startswith("schema."):
            low = low[7:]
            name = name[7:]
        if self._data is not None:
            hit = self._data.sobject_name(low)
            if hit is not None:
                return hit
        hit = self._std.get(low)
        if hit is not None:
            return hit
        if low.endswith(("__c", "__mdt", "__e", "__share", "__history", "__changeevent")):
            return name
        return None

    def field_name(self, sobject: str, field: str) -> str | None:
        if self._data is not None and self._data.sobject_name(sobject) is not None:
            hit = self._data.field_name(sobject, field)
            if hit is None and field.lower().endswith(("__c", "__r")):
                return field  # custom fields of standard objects are unknown without the org's schema
            return hit
        return field

    def describe(self, sobject: str) -> Any:
        if self._data is not None and self._data.sobject_name(sobject) is not None:
            return self._data.describe(sobject)
        return None

    def name_for_id(self, record_id: str) -> str | None:
        return self._data.name_for_id(record_id) if self._data is not None else None

    def field_type(self, sobject: str, field: str) -> str | None:
        if self._data is not None and self._data.sobject_name(sobject) is not None:
            return self._data.field_type(sobject, field)
        return None


class DataSchema:
    """Adapter over localcloud.salesforce.data.Schema."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._cache: dict[str, str | None] = {}
        self._fcache: dict[tuple[str, str], str | None] = {}

    def sobject_name(self, name: str) -> str | None:
        low = name.lower()
        if low.startswith("schema."):
            low = low[7:]
        if low in self._cache:
            return self._cache[low]
        od = None
        try:
            od = self.schema.find(low) or self._change_event(low)
        except Exception:  # noqa: BLE001 - any lookup failure means "not an SObject"
            od = None
        out = getattr(od, "name", None) if od is not None else None
        self._cache[low] = out
        return out

    def field_name(self, sobject: str, field: str) -> str | None:
        key = (sobject.lower(), field.lower())
        if key in self._fcache:
            return self._fcache[key]
        out = None
        try:
            od = self._object(sobject)
            fd = od.find_field(field)
            if fd is not None:
                out = fd.name
            else:
                for f in getattr(od, "fields", {}).values() if isinstance(getattr(od, "fields", None), dict) else \
                        getattr(od, "fields", []) or []:
                    rel = getattr(f, "relationship_name", None)
                    if rel and rel.lower() == field.lower():
                        out = rel
                        break
        except Exception:  # noqa: BLE001
            out = None
        self._fcache[key] = out
        return out

    def describe(self, sobject: str) -> Any:
        event = self.schema.find(sobject) is None and self._change_event(sobject)
        return event.describe(self.schema) if event else self.schema.describe(sobject)

    def _change_event(self, name: str) -> Any:
        """``AccountChangeEvent``, ``X__ChangeEvent``: derived from their object (data/changeevents.py)."""
        if not name.lower().endswith("changeevent"):
            return None
        from localcloud.salesforce.data.changeevents import change_event_object
        return change_event_object(self.schema, name)

    def _object(self, sobject: str) -> Any:
        return self.schema.find(sobject) or self._change_event(sobject) or self.schema.get(sobject)

    def field_type(self, sobject: str, field: str) -> str | None:
        key = ("#type", sobject.lower(), field.lower())
        if key in self._fcache:
            return self._fcache[key]  # type: ignore[index]
        out = None
        try:
            fd = self._object(sobject).find_field(field)
            out = fd.type if fd is not None else None
        except Exception:  # noqa: BLE001
            out = None
        self._fcache[key] = out  # type: ignore[index]
        return out

    def name_for_id(self, record_id: str) -> str | None:
        try:
            od = self.schema.by_key_prefix(str(record_id)[:3])
        except Exception:  # noqa: BLE001
            od = None
        return getattr(od, "name", None)

    def object_def(self, sobject: str) -> Any:
        return self._object(sobject)
