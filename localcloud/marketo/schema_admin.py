"""Schema changes over the REST API: lead fields and custom object types (draft and approved).

Adobe's rules, as documented (help/rest-api/leads.md "Fields", custom-objects.md "Custom Object Types"):
- a lead field ``name`` starts with a letter and holds letters, digits and underscores; name and
  displayName are unique; at most 100 fields a create call; a created field is never deleted;
- a custom object type is created as a *draft*; fields are added to the draft; ``approve`` turns the
  draft into the approved version (the one records use); changing an approved type makes a new draft;
  ``discardDraft`` drops a draft (a type never approved disappears with it);
- once approved, a type's displayName cannot change and no dedupe or link field can be added;
- at most 10 types, 50 fields a type, 20 fields added after the first approval, 1 to 3 dedupe fields;
- field data types: string, boolean, integer, float, link, email, currency, date, datetime, phone, text.

The changes are kept in the SQLite file (meta ``schema_admin``) and applied again at start. Types from
the schema file count as approved. The error codes for broken rules are local choices (see README).
"""

from __future__ import annotations

import copy
import re
import threading
from typing import Any, Callable

from localcloud.marketo.envelope import CallError
from localcloud.marketo.leads import LeadOperations, now_text, reason, skipped
from localcloud.marketo.schema import (
    DEFAULT_LENGTHS,
    LENGTH_TYPES,
    SEARCHABLE_TYPES,
    FieldDef,
    ObjectSchema,
    Relationship,
    Schema,
    load_schema,
)
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

META_KEY = "schema_admin"
LEAD_FIELD_TYPES = (
    "string", "text", "integer", "float", "currency", "date", "datetime", "boolean", "email", "phone",
)
CO_FIELD_TYPES = (
    "string", "boolean", "integer", "float", "link", "email", "currency", "date", "datetime", "phone", "text",
)
LEAD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
CO_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
FILE_APPROVED_AT = "2024-01-01T00:00:00Z"  # types from the schema file "were approved" then
SYSTEM_CO_FIELDS = [
    {"name": "marketoGUID", "displayName": "Marketo GUID", "dataType": "string", "length": 36,
     "updateable": False, "crmManaged": False},
    {"name": "createdAt", "displayName": "Created At", "dataType": "datetime", "updateable": False,
     "crmManaged": False},
    {"name": "updatedAt", "displayName": "Updated At", "dataType": "datetime", "updateable": False,
     "crmManaged": False},
]


def _display_name_ok(text: str) -> bool:
    return bool(text.strip()) and all(ch.isalnum() or ch in " _" for ch in text)


def _rule(message: str) -> CallError:
    return CallError("709", f"Business Rule Violation: {message}")


def object_dict(schema: ObjectSchema) -> dict[str, Any]:
    """A schema-file object type as the metadata API keeps it."""
    links = {rel.field: rel for rel in schema.relationships}
    fields = []
    for definition in schema.fields.values():
        rel = links.get(definition.name)
        fields.append({
            "name": definition.name,
            "displayName": definition.display_name,
            "description": None,
            "dataType": "link" if rel else definition.data_type,
            "length": definition.length,
            "isDedupeField": definition.name in schema.dedupe_fields,
            "relatedTo": {"name": rel.related_object, "field": rel.related_field} if rel else None,
            "addedAfterApproval": False,
        })
    return {
        "apiName": schema.name, "displayName": schema.display_name, "pluralName": None,
        "description": schema.description, "showInLeadDetail": False, "fields": fields,
    }


class SchemaAdmin:
    def __init__(
        self, store: Store, schema: Schema, leads: LeadOperations, settings: Callable[[], Settings]
    ):
        self.store = store
        self.schema = schema
        self.leads = leads
        self.settings = settings
        self._lock = threading.RLock()
        self._file_objects = dict(schema.custom_objects)
        self._standard = set(load_schema(fresh=True).lead.fields)  # Marketo's own fields, not custom
        state = store.get_meta(META_KEY) or {}
        self._lead_fields: list[dict[str, Any]] = list(state.get("lead_fields") or [])
        self._objects: dict[str, dict[str, Any]] = dict(state.get("objects") or {})
        for entry in self._lead_fields:
            if entry["name"] not in schema.lead.fields:
                self._install_lead_field(entry)
        for api_name, entry in self._objects.items():
            self._install_object(api_name, entry.get("approved"))

    # --- persistence ----------------------------------------------------------------------------
    def _save(self) -> None:
        self.store.set_meta(META_KEY, {"lead_fields": self._lead_fields, "objects": self._objects})

    # --- lead fields ----------------------------------------------------------------------------
    def _lead_field_definition(self, entry: dict[str, Any]) -> FieldDef:
        data_type = entry["dataType"]
        return FieldDef(
            name=entry["name"],
            display_name=entry["displayName"],
            data_type=data_type,
            length=DEFAULT_LENGTHS[data_type] if data_type in LENGTH_TYPES else None,
            searchable=self.settings().new_lead_fields_searchable and data_type in SEARCHABLE_TYPES,
        )

    def _install_lead_field(self, entry: dict[str, Any]) -> None:
        definition = self._lead_field_definition(entry)
        self.schema.lead.fields = {**self.schema.lead.fields, definition.name: definition}
        self.leads.field_ids.setdefault(definition.name, max(self.leads.field_ids.values(), default=0) + 1)
        if definition.searchable:
            self.store.ensure_lead_index(definition.name)

    def lead_field_entry(self, definition: FieldDef) -> dict[str, Any]:
        custom = definition.name not in self._standard
        entry: dict[str, Any] = {
            "displayName": definition.display_name,
            "name": definition.name,
            "description": None,
            "dataType": definition.data_type,
        }
        if definition.length is not None:
            entry["length"] = definition.length
        entry.update({"isHidden": False, "isHtmlEncodingInEmail": definition.data_type in LENGTH_TYPES,
                      "isSensitive": True, "isCustom": custom})
        return entry

    def lead_fields(self, batch_size: str | None, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        size = self._batch_size(batch_size)
        start = int(token) if token and token.isdigit() else 0
        names = list(self.schema.lead.fields.values())
        page = [self.lead_field_entry(d) for d in names[start:start + size]]
        return page, (str(start + size) if start + size < len(names) else None)

    def lead_field(self, name: str) -> list[dict[str, Any]]:
        definition = self.schema.lead.field(name)
        if definition is None:
            raise CallError("1006", f"Field '{name}' not found")
        return [self.lead_field_entry(definition)]

    @staticmethod
    def _batch_size(raw: str | None) -> int:
        if raw is None:
            return 300
        try:
            size = int(raw)
        except ValueError:
            raise CallError("1003", f"Invalid batchSize '{raw}'") from None
        if not 1 <= size <= 300:
            raise CallError("1003", "batchSize must be between 1 and 300")
        return size

    def create_lead_fields(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        records = body.get("input")
        if not isinstance(records, list) or not records:
            raise CallError("701", "input cannot be blank")
        limit = self.settings().max_lead_fields_per_create
        if len(records) > limit:
            raise CallError("1003", f"Too many fields: {len(records)}, at most {limit} a call")
        results = []
        with self._lock:
            for record in records:
                results.append(self._create_lead_field(record))
            self._save()
        return results

    def _create_lead_field(self, record: Any) -> dict[str, Any]:
        if not isinstance(record, dict):
            return skipped(reason("1003", "Invalid data: a field is an object"))
        name = record.get("name")
        display = record.get("displayName")
        data_type = record.get("dataType")
        for key, value in (("name", name), ("displayName", display), ("dataType", data_type)):
            if not isinstance(value, str) or not value.strip():
                return {"name": name, **skipped(reason("1002", f"Missing value for the required parameter '{key}'"))}
        assert isinstance(name, str) and isinstance(display, str) and isinstance(data_type, str)
        if not LEAD_NAME.match(name):
            return {"name": name, **skipped(reason(
                "1003", f"Invalid data: name '{name}' must start with a letter and hold only letters, digits and _"))}
        if not _display_name_ok(display):
            return {"name": name, **skipped(reason(
                "1003", f"Invalid data: displayName '{display}' cannot contain special characters"))}
        if data_type not in LEAD_FIELD_TYPES:
            return {"name": name, **skipped(reason(
                "1003", f"Invalid data: dataType '{data_type}' is not one of {', '.join(LEAD_FIELD_TYPES)}"))}
        if name.lower() in {n.lower() for n in self.schema.lead.fields}:
            return {"name": name, **skipped(reason("1017", f"Object already exists: field '{name}'"))}
        if display.lower() in {d.display_name.lower() for d in self.schema.lead.fields.values()}:
            return {"name": name, **skipped(reason("1017", f"Object already exists: displayName '{display}'"))}
        custom = len(self.schema.lead.fields.keys() - self._standard)
        if custom >= self.settings().max_custom_lead_fields:
            return {"name": name, **skipped(reason("1003", "Invalid data: the custom field limit is reached"))}
        entry = {"name": name, "displayName": display, "dataType": data_type,
                 "description": record.get("description")}
        self._lead_fields.append(entry)
        self._install_lead_field(entry)
        return {"name": name, "status": "created"}

    # --- custom object types --------------------------------------------------------------------
    def _entry(self, api_name: str) -> dict[str, Any] | None:
        entry = self._objects.get(api_name)
        if entry is None and api_name in self._file_objects:
            entry = {"approved": object_dict(self._file_objects[api_name]), "draft": None,
                     "createdAt": FILE_APPROVED_AT, "updatedAt": FILE_APPROVED_AT}
            self._objects[api_name] = entry
        return entry

    def _require(self, api_name: str) -> dict[str, Any]:
        entry = self._entry(api_name)
        if entry is None:
            raise CallError("1013", f"Object not found: custom object type '{api_name}'")
        return entry

    def _all_names(self) -> list[str]:
        return list(dict.fromkeys([*self._file_objects, *self._objects]))

    def _draft(self, entry: dict[str, Any]) -> dict[str, Any]:
        if entry.get("draft") is None:
            entry["draft"] = copy.deepcopy(entry["approved"])
        return entry["draft"]

    def sync_type(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._metadata_api()
        action = body.get("action") or "createOrUpdate"
        if action not in ("createOnly", "createOrUpdate", "updateOnly"):
            raise CallError("1003", f"Invalid action '{action}'")
        api_name = body.get("apiName")
        if not isinstance(api_name, str) or not api_name:
            raise CallError("701", "apiName cannot be blank")
        with self._lock:
            entry = self._entry(api_name)
            if entry is None:
                if action == "updateOnly":
                    raise CallError("1013", f"Object not found: custom object type '{api_name}'")
                self._create_type(api_name, body)
            else:
                if action == "createOnly":
                    raise CallError("1017", f"Object already exists: custom object type '{api_name}'")
                self._update_type(entry, body)
            self._save()
        return []

    def _create_type(self, api_name: str, body: dict[str, Any]) -> None:
        display = body.get("displayName")
        if not isinstance(display, str) or not display.strip():
            raise CallError("701", "displayName cannot be blank")
        if not CO_NAME.match(api_name):
            raise CallError("1003", f"Invalid data: apiName '{api_name}' may hold only letters, digits and _")
        if not _display_name_ok(display):
            raise CallError("1003", f"Invalid data: displayName '{display}' may hold only letters, digits, _ and spaces")
        names = self._all_names()
        if api_name.lower() in {n.lower() for n in names}:
            raise CallError("1017", f"Object already exists: custom object type '{api_name}'")
        if display.lower() in {self._version(n)["displayName"].lower() for n in names}:
            raise CallError("1017", f"Object already exists: a custom object type is named '{display}'")
        if len(names) >= self.settings().max_custom_object_types:
            raise _rule(f"at most {self.settings().max_custom_object_types} custom object types")
        self._objects[api_name] = {
            "approved": None,
            "draft": {"apiName": api_name, "displayName": display, "pluralName": body.get("pluralName"),
                      "description": body.get("description"),
                      "showInLeadDetail": bool(body.get("showInLeadDetail", False)), "fields": []},
            "createdAt": None, "updatedAt": None,
        }

    def _update_type(self, entry: dict[str, Any], body: dict[str, Any]) -> None:
        display = body.get("displayName")
        current = entry["draft"] or entry["approved"]
        if display is not None and display != current["displayName"]:
            if entry["approved"] is not None:
                raise _rule("the displayName of an approved custom object type cannot change")
            if not isinstance(display, str) or not _display_name_ok(display):
                raise CallError("1003", f"Invalid data: displayName '{display}'")
        draft = self._draft(entry)
        for key in ("displayName", "pluralName", "description", "showInLeadDetail"):
            if key in body:
                draft[key] = body[key]

    def _version(self, api_name: str) -> dict[str, Any]:
        entry = self._entry(api_name) or {}
        return entry.get("draft") or entry.get("approved") or {"displayName": api_name}

    def add_fields(self, api_name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        self._metadata_api()
        records = body.get("input")
        if not isinstance(records, list) or not records:
            raise CallError("701", "input cannot be blank")
        with self._lock:
            entry = self._require(api_name)
            approved = entry["approved"] is not None
            draft = copy.deepcopy(entry["draft"] or entry["approved"])
            settings = self.settings()
            for record in records:
                field = self._field_from(record, draft, approved)
                draft["fields"].append(field)
            if len(draft["fields"]) > settings.max_custom_object_fields:
                raise _rule(f"at most {settings.max_custom_object_fields} fields a custom object type")
            added_after = sum(1 for f in draft["fields"] if f.get("addedAfterApproval"))
            if added_after > settings.max_fields_added_after_approval:
                raise _rule(f"at most {settings.max_fields_added_after_approval} fields can be added after approval")
            if sum(1 for f in draft["fields"] if f.get("isDedupeField")) > 3:
                raise _rule("at most 3 dedupe fields")
            entry["draft"] = draft
            self._save()
        return []

    def _field_from(self, record: Any, draft: dict[str, Any], approved: bool) -> dict[str, Any]:
        if not isinstance(record, dict):
            raise CallError("1003", "Invalid data: a field is an object")
        name, display, data_type = record.get("name"), record.get("displayName"), record.get("dataType")
        for key, value in (("name", name), ("displayName", display), ("dataType", data_type)):
            if not isinstance(value, str) or not value.strip():
                raise CallError("1002", f"Missing value for the required parameter '{key}'")
        assert isinstance(name, str) and isinstance(display, str) and isinstance(data_type, str)
        if not CO_NAME.match(name) or name in ("marketoGUID", "createdAt", "updatedAt"):
            raise CallError("1003", f"Invalid data: field name '{name}' may hold only letters, digits and _")
        if not _display_name_ok(display):
            raise CallError("1003", f"Invalid data: field displayName '{display}'")
        if data_type not in CO_FIELD_TYPES:
            raise CallError("1003", f"Invalid data: dataType '{data_type}' is not one of {', '.join(CO_FIELD_TYPES)}")
        existing = draft["fields"]
        if name.lower() in {f["name"].lower() for f in existing}:
            raise CallError("1017", f"Object already exists: field '{name}' of '{draft['apiName']}'")
        if display.lower() in {f["displayName"].lower() for f in existing}:
            raise CallError("1017", f"Object already exists: field displayName '{display}' of '{draft['apiName']}'")
        dedupe = bool(record.get("isDedupeField", False))
        related = record.get("relatedTo")
        if data_type == "link":
            if approved:
                raise _rule(f"a link field cannot be added to the approved custom object type '{draft['apiName']}'")
            if not isinstance(related, dict) or not related.get("name") or not related.get("field"):
                raise CallError("1003", f"Invalid data: link field '{name}' needs relatedTo with name and field")
            if str(related["name"]).lower() != "lead":
                raise CallError("1003", f"Invalid data: '{related['name']}' is not a linkable object here (lead)")
            if self.schema.lead.field(str(related["field"])) is None:
                raise CallError("1006", f"Field '{related['field']}' not found on lead")
            related = {"name": "Lead", "field": str(related["field"])}
        else:
            related = None
        if dedupe and approved:
            raise _rule(f"a dedupe field cannot be added to the approved custom object type '{draft['apiName']}'")
        return {"name": name, "displayName": display, "description": record.get("description"),
                "dataType": data_type, "length": DEFAULT_LENGTHS.get(data_type), "isDedupeField": dedupe,
                "relatedTo": related, "addedAfterApproval": approved}

    def approve(self, api_name: str) -> list[dict[str, Any]]:
        self._metadata_api()
        with self._lock:
            entry = self._require(api_name)
            draft = entry.get("draft")
            if draft is None:
                raise _rule(f"custom object type '{api_name}' has no draft to approve")
            if not any(f.get("isDedupeField") for f in draft["fields"]):
                raise _rule(f"custom object type '{api_name}' needs at least one dedupe field")
            now = now_text()
            entry["approved"], entry["draft"] = draft, None
            entry["createdAt"] = entry.get("createdAt") or now
            entry["updatedAt"] = now
            self._install_object(api_name, draft)
            self._save()
        return []

    def discard_draft(self, api_name: str) -> list[dict[str, Any]]:
        self._metadata_api()
        with self._lock:
            entry = self._require(api_name)
            if entry.get("draft") is None:
                raise _rule(f"custom object type '{api_name}' has no draft to discard")
            entry["draft"] = None
            if entry.get("approved") is None:
                del self._objects[api_name]
            self._save()
        return []

    def delete_type(self, api_name: str) -> list[dict[str, Any]]:
        self._metadata_api()
        with self._lock:
            entry = self._require(api_name)
            if entry.get("approved") is None:
                raise _rule(f"custom object type '{api_name}' is not approved; discard its draft instead")
            with self.store.transaction() as db:
                db.execute("DELETE FROM custom_objects WHERE api_name=?", (api_name,))
            del self._objects[api_name]
            self._file_objects.pop(api_name, None)
            self.schema.custom_objects = {k: v for k, v in self.schema.custom_objects.items() if k != api_name}
            self._save()
        return []

    def _install_object(self, api_name: str, version: dict[str, Any] | None) -> None:
        if version is None:
            return
        entry = self._objects.get(api_name) or {}
        fields: dict[str, FieldDef] = {}
        relationships = []
        for f in version["fields"]:
            data_type = f["dataType"]
            if data_type == "link":
                rel = f["relatedTo"]
                target = self.schema.lead.field(rel["field"])
                data_type = target.data_type if target else "integer"
                relationships.append(Relationship(field=f["name"], type="child", related_object=rel["name"],
                                                  related_field=rel["field"]))
            length = f.get("length") if data_type in LENGTH_TYPES else None
            if data_type in LENGTH_TYPES and length is None:
                length = DEFAULT_LENGTHS[data_type]
            fields[f["name"]] = FieldDef(
                name=f["name"], display_name=f["displayName"], data_type=data_type, length=length,
                searchable=f["dataType"] == "link" or (bool(f.get("isDedupeField")) and data_type in SEARCHABLE_TYPES),
            )
        schema = ObjectSchema(
            name=api_name, display_name=version["displayName"], description=version.get("description") or "",
            fields=fields, dedupe_fields=[f["name"] for f in version["fields"] if f.get("isDedupeField")],
            relationships=relationships, approved_at=entry.get("createdAt"), updated_at=entry.get("updatedAt"),
        )
        self.schema.custom_objects = {**self.schema.custom_objects, api_name: schema}

    # --- reads ----------------------------------------------------------------------------------
    def _metadata_api(self) -> None:
        if not self.settings().custom_object_metadata_api:
            raise CallError("616", "Invalid subscription type")

    def _describe_version(self, api_name: str, entry: dict[str, Any], state: str | None) -> dict[str, Any] | None:
        approved, draft = entry.get("approved"), entry.get("draft")
        if state == "draft":
            version, label = draft, "draft"
        elif state == "approved":
            version, label = approved, "approved"
        elif state in (None, "", "approvedWithDraft"):
            version, label = (approved, "approved") if approved else (draft, "draft")
            if state == "approvedWithDraft" and not (approved and draft):
                return None
        else:
            raise CallError("1003", f"Invalid state '{state}'")
        if version is None:
            return None
        overall = "approvedWithDraft" if approved and draft else ("approved" if approved else "draft")
        dedupe = [f["name"] for f in version["fields"] if f.get("isDedupeField")]
        links = [f for f in version["fields"] if f["dataType"] == "link"]
        searchable: list[list[str]] = [dedupe] if dedupe else [[]]
        if approved and label == "approved":
            searchable.append(["marketoGUID"])
        searchable += [[f["name"]] for f in links]
        fields = [dict(item) for item in SYSTEM_CO_FIELDS]
        for f in version["fields"]:
            item: dict[str, Any] = {"name": f["name"], "displayName": f["displayName"], "dataType": f["dataType"]}
            if f.get("description"):
                item["description"] = f["description"]
            if f.get("length") is not None:
                item["length"] = f["length"]
            if f.get("relatedTo"):
                item["relatedTo"] = dict(f["relatedTo"])
            item["updateable"] = not f.get("isDedupeField")
            item["crmManaged"] = False
            fields.append(item)
        return {
            "state": overall, "version": label, "displayName": version["displayName"],
            "pluralName": version.get("pluralName"), "description": version.get("description"),
            "apiName": api_name, "idField": "marketoGUID" if approved else None,
            "createdAt": entry.get("createdAt"), "updatedAt": entry.get("updatedAt"),
            "dedupeFields": dedupe, "searchableFields": searchable,
            "relationships": [{"field": f["name"], "type": "child", "relatedTo": dict(f["relatedTo"])} for f in links],
            "fields": fields,
        }

    def describe_type(self, api_name: str, state: str | None) -> list[dict[str, Any]]:
        self._metadata_api()
        with self._lock:
            described = self._describe_version(api_name, self._require(api_name), state)
        if described is None:
            raise CallError("1013", f"Object not found: no {state} version of '{api_name}'")
        return [described]

    def list_types(self, names: str | None, state: str | None) -> list[dict[str, Any]]:
        self._metadata_api()
        wanted = {n.strip() for n in names.split(",")} if names else None
        result = []
        with self._lock:
            for api_name in self._all_names():
                if wanted is not None and api_name not in wanted:
                    continue
                entry = self._entry(api_name)
                described = self._describe_version(api_name, entry, state) if entry else None
                if described is not None:
                    result.append(described)
        return result

    def linkable_objects(self) -> list[dict[str, Any]]:
        return [{
            "name": "lead", "displayName": "Lead",
            "fields": [{"name": d.name, "displayName": d.display_name, "dataType": d.data_type}
                       for d in self.schema.lead.fields.values()],
        }]
