"""Custom object records of the local Marketo: sync, query, describe, delete, list, linked to leads."""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable

from localcloud.marketo.batch import check_record_count, require_record_list
from localcloud.marketo.envelope import CallError, decode_token, encode_token
from localcloud.marketo.leads import now_text, reason, skipped
from localcloud.marketo.schema import ObjectSchema, Schema, ValueRejected, coerce_value, is_empty
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import Store

CO_ACTIONS = ("createOnly", "updateOnly", "createOrUpdate")
SYSTEM = ("marketoGUID", "createdAt", "updatedAt")
CREATED_AT = "2024-01-01T00:00:00Z"  # the schemas come from a file; this is when it "was approved"


class CustomObjectOperations:
    def __init__(self, store: Store, schema: Schema, settings: Callable[[], Settings]):
        self.store = store
        self.schema = schema
        self.settings = settings

    def object_schema(self, api_name: str) -> ObjectSchema:
        schema = self.schema.custom_objects.get(api_name)
        if schema is None:
            raise CallError("1013", f"Object '{api_name}' not found")  # Marketo: "Object not found"
        return schema

    # --- metadata -------------------------------------------------------------------------------
    def _summary(self, schema: ObjectSchema, relation_key: str) -> dict[str, Any]:
        searchable = (
            [[name] for name in schema.dedupe_fields]
            if len(schema.dedupe_fields) == 1
            else [list(schema.dedupe_fields)]
        )
        searchable.append(["marketoGUID"])
        searchable += [
            [f.name] for f in schema.fields.values() if f.searchable and [f.name] not in searchable
        ]
        return {
            "name": schema.name,
            "displayName": schema.display_name,
            "description": schema.description,
            "createdAt": schema.approved_at or CREATED_AT,
            "updatedAt": schema.updated_at or schema.approved_at or CREATED_AT,
            "idField": "marketoGUID",
            "dedupeFields": list(schema.dedupe_fields),
            "searchableFields": searchable,
            "relationships": [rel.as_json(relation_key) for rel in schema.relationships],
        }

    def list_objects(self, names: str | None) -> list[dict[str, Any]]:
        wanted = {n.strip() for n in names.split(",")} if names else None
        return [
            self._summary(schema, "relatedTo")
            for schema in self.schema.custom_objects.values()
            if wanted is None or schema.name in wanted
        ]

    def describe(self, api_name: str) -> list[dict[str, Any]]:
        schema = self.object_schema(api_name)
        entry = self._summary(schema, "relatedTo")
        fields = [
            {
                "name": "marketoGUID",
                "displayName": "Marketo GUID",
                "dataType": "string",
                "length": 36,
                "updateable": False,
            },
            {
                "name": "createdAt",
                "displayName": "Created At",
                "dataType": "datetime",
                "updateable": False,
            },
            {
                "name": "updatedAt",
                "displayName": "Updated At",
                "dataType": "datetime",
                "updateable": False,
            },
        ]
        for definition in schema.fields.values():
            item: dict[str, Any] = {
                "name": definition.name,
                "displayName": definition.display_name,
                "dataType": definition.data_type,
            }
            if definition.length is not None:
                item["length"] = definition.length
            item["updateable"] = (
                definition.updateable and definition.name not in schema.dedupe_fields
            )
            fields.append(item)
        entry["fields"] = fields
        return [entry]

    # --- helpers --------------------------------------------------------------------------------
    def _dedupe_key(self, schema: ObjectSchema, values: dict[str, Any]) -> str | None:
        parts = [values.get(name) for name in schema.dedupe_fields]
        if any(is_empty(part) for part in parts):
            return None
        return json.dumps(parts, separators=(",", ":"))

    def _coerce(self, schema: ObjectSchema, name: str, raw: Any) -> Any:
        definition = schema.fields[name]
        return coerce_value(
            definition, raw, truncate_long_strings=self.settings().truncate_long_strings
        )

    def _clean(
        self, schema: ObjectSchema, record: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        values: dict[str, Any] = {}
        reasons: list[dict[str, str]] = []
        for name, raw in record.items():
            if name in SYSTEM:
                continue
            if name not in schema.fields:
                reasons.append(reason("1006", f"Field '{name}' not found"))
                continue
            try:
                values[name] = self._coerce(schema, name, raw)
            except ValueRejected as rejected:
                reasons.append(reason(rejected.code, rejected.message))
        return values, reasons

    def _resolve_lead(self, value: Any) -> tuple[int | None, dict[str, str] | None]:
        lead = self.store.get_lead(int(value))
        if lead is not None:
            return lead.id, None
        if self.settings().link_to_merged_lead == "follow":
            seen = set()
            grave = self.store.tombstone(int(value))
            while grave and grave["kind"] == "merged" and grave["mergedInto"] not in seen:
                seen.add(grave["mergedInto"])
                if self.store.get_lead(grave["mergedInto"]) is not None:
                    return grave["mergedInto"], None
                grave = self.store.tombstone(grave["mergedInto"])
        return None, reason("1004", "Lead not found")

    def _row(self, api_name: str, **where: Any) -> dict[str, Any] | None:
        column, value = next(iter(where.items()))
        with self.store.transaction() as db:
            row = db.execute(
                f"SELECT * FROM custom_objects WHERE api_name=? AND {column}=?", (api_name, value)
            ).fetchone()
        return dict(row) if row else None

    # --- sync -----------------------------------------------------------------------------------
    def sync(self, api_name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.object_schema(api_name)
        settings = self.settings()
        action = body.get("action") or "createOrUpdate"
        if action not in CO_ACTIONS:
            raise CallError("1003", f"Invalid action '{action}'")
        dedupe_by = body.get("dedupeBy") or "dedupeFields"
        if dedupe_by not in ("dedupeFields", "idField"):
            raise CallError("1003", f"Invalid dedupeBy '{dedupe_by}'")
        if dedupe_by == "idField" and action != "updateOnly":
            raise CallError("1003", "dedupeBy 'idField' is only valid with action 'updateOnly'")
        records = body.get("input")
        if not records:
            raise CallError("701", "input cannot be blank")
        if not isinstance(records, list):
            raise CallError("1003", "input must be an array of records")
        check_record_count(records, settings.max_batch_records)
        results = []
        with self.store.transaction():
            for seq, record in enumerate(records):
                results.append({"seq": seq, **self._sync_one(schema, record, action, dedupe_by)})
        return results

    def import_record(self, api_name: str, record: dict[str, Any]) -> dict[str, Any]:
        """One row of a bulk import: insert or update on the dedupe fields, as a REST sync record."""
        return self._sync_one(self.object_schema(api_name), record, "createOrUpdate", "dedupeFields")

    def _sync_one(
        self, schema: ObjectSchema, record: Any, action: str, dedupe_by: str
    ) -> dict[str, Any]:
        if not isinstance(record, dict):
            return skipped(reason("1003", "Invalid data: a record must be an object"))
        values, reasons = self._clean(schema, record)
        if reasons:
            return skipped(*reasons)
        link = schema.lead_link
        if link and link.field in values and values[link.field] is not None:
            lead_id, problem = self._resolve_lead(values[link.field])
            if problem:
                return skipped(problem)
            values[link.field] = lead_id
        if dedupe_by == "idField":
            guid = record.get("marketoGUID")
            if is_empty(guid):
                return skipped(reason("1003", "Value for idField 'marketoGUID' not specified"))
            existing = self._row(schema.name, guid=str(guid))
            if existing is None:
                return skipped(reason("1013", "Object not found"))
            changed_key = self._dedupe_key(schema, {**json.loads(existing["data"]), **values})
            if changed_key != existing["dedupe_key"]:
                return skipped(reason("1003", "Invalid data: dedupe fields cannot be changed"))
            return self._write_update(schema, existing, values)
        key = self._dedupe_key(schema, values)
        if key is None:
            missing = [n for n in schema.dedupe_fields if is_empty(values.get(n))]
            return skipped(reason("1003", f"Value for dedupe field '{missing[0]}' not specified"))
        existing = self._row(schema.name, dedupe_key=key)
        if existing is None:
            if action == "updateOnly":
                return skipped(reason("1013", "Object not found"))
            if link and is_empty(values.get(link.field)):
                return skipped(reason("1003", f"Value for link field '{link.field}' not specified"))
            return self._write_create(schema, key, values)
        if action == "createOnly":
            return skipped(reason("1017", "Object already exists"))
        return self._write_update(schema, existing, values)

    def _write_create(
        self, schema: ObjectSchema, key: str, values: dict[str, Any]
    ) -> dict[str, Any]:
        guid = str(uuid.uuid4())
        stamp = now_text()
        link = schema.lead_link
        stored = {k: v for k, v in values.items() if v is not None}
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO custom_objects(guid, api_name, dedupe_key, lead_id, data, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    guid,
                    schema.name,
                    key,
                    stored.get(link.field) if link else None,
                    json.dumps(stored),
                    stamp,
                    stamp,
                ),
            )
        return {"status": "created", "marketoGUID": guid}

    def _write_update(
        self, schema: ObjectSchema, existing: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        data = json.loads(existing["data"])
        for name, value in values.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        link = schema.lead_link
        with self.store.transaction() as db:
            db.execute(
                "UPDATE custom_objects SET data=?, lead_id=?, updated_at=? WHERE guid=?",
                (
                    json.dumps(data),
                    data.get(link.field) if link else None,
                    now_text(),
                    existing["guid"],
                ),
            )
        return {"status": "updated", "marketoGUID": existing["guid"]}

    # --- query ----------------------------------------------------------------------------------
    def query(
        self,
        api_name: str,
        filter_type: str | None,
        filter_values: str | None,
        input_records: Any,
        fields_param: Any,
        batch_size: Any,
        next_page_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        schema = self.object_schema(api_name)
        settings = self.settings()
        if not filter_type:
            raise CallError("701", "filterType cannot be blank")
        if isinstance(fields_param, list):
            fields = [str(f) for f in fields_param]
        elif fields_param:
            fields = [f.strip() for f in str(fields_param).split(",") if f.strip()]
        else:
            fields = ["marketoGUID", *schema.dedupe_fields, "createdAt", "updatedAt"]
        lower = {name.lower(): name for name in [*SYSTEM, *schema.fields]}
        resolved = []
        for name in fields:
            if name.lower() not in lower:
                raise CallError("1006", f"Field '{name}' not found")
            resolved.append(lower[name.lower()])
        rows = self._matching_rows(
            schema, filter_type, filter_values, input_records, settings.max_batch_records
        )
        size = settings.max_batch_records
        if batch_size not in (None, ""):
            try:
                size = max(1, min(settings.max_batch_records, int(str(batch_size))))
            except ValueError:
                raise CallError("1003", f"Invalid batchSize '{batch_size}'") from None
        offset = int(decode_token(next_page_token).get("offset", 0)) if next_page_token else 0
        page = rows[offset : offset + size]
        token = encode_token({"offset": offset + size}) if offset + size < len(rows) else None
        result = []
        for seq, (input_seq, row) in enumerate(page):
            data = json.loads(row["data"])
            record = {
                "marketoGUID": row["guid"],
                "createdAt": row["created_at"],
                "updatedAt": row["updated_at"],
                **data,
            }
            shown = {"seq": input_seq if input_seq is not None else offset + seq}
            shown.update({name: record.get(name) for name in resolved})
            result.append(shown)
        return result, token

    def _matching_rows(
        self,
        schema: ObjectSchema,
        filter_type: str,
        filter_values: str | None,
        input_records: Any,
        limit: int,
    ) -> list[tuple[int | None, dict[str, Any]]]:
        if filter_type == "dedupeFields":
            if input_records is None and filter_values and len(schema.dedupe_fields) == 1:
                input_records = [{schema.dedupe_fields[0]: v} for v in filter_values.split(",")]
            if not isinstance(input_records, list) or not input_records:
                raise CallError("701", "input cannot be blank")
            if len(input_records) > limit:
                raise CallError(
                    "1003", f"Too many filter values: {len(input_records)}, the limit is {limit}"
                )
            found = []
            for seq, item in enumerate(input_records):
                try:
                    values = {n: self._coerce(schema, n, item.get(n)) for n in schema.dedupe_fields}
                except (ValueRejected, AttributeError):
                    continue
                key = self._dedupe_key(schema, values)
                row = self._row(schema.name, dedupe_key=key) if key else None
                if row:
                    found.append((seq, row))
            return found
        if filter_type in ("idField", "marketoGUID"):
            values = self._values_from(filter_values, input_records, "marketoGUID", limit)
            found = []
            for seq, value in enumerate(values):
                row = self._row(schema.name, guid=str(value))
                if row:
                    found.append((seq, row))
            return found
        definition = schema.fields.get(filter_type)
        if definition is None:
            raise CallError("1006", f"Field '{filter_type}' not found")
        if not (definition.searchable or filter_type in schema.dedupe_fields):
            raise CallError("1011", f"Field '{filter_type}' not supported")
        raw_values = self._values_from(filter_values, input_records, filter_type, limit)
        try:
            values = [self._coerce(schema, filter_type, value) for value in raw_values]
        except ValueRejected as rejected:
            raise CallError("1003", f"Invalid filterValues: {rejected.message}") from None
        marks = ",".join("?" * len(values))
        link = schema.lead_link
        if link and filter_type == link.field:
            sql = f"SELECT * FROM custom_objects WHERE api_name=? AND lead_id IN ({marks}) ORDER BY created_at, guid"
        else:
            sql = (
                f"SELECT * FROM custom_objects WHERE api_name=? AND json_extract(data, '$.{filter_type}') IN ({marks})"
                " ORDER BY created_at, guid"
            )
        with self.store.transaction() as db:
            rows = db.execute(sql, [schema.name, *values]).fetchall()
        return [(None, dict(row)) for row in rows]

    @staticmethod
    def _values_from(
        filter_values: str | None, input_records: Any, name: str, limit: int
    ) -> list[Any]:
        if isinstance(input_records, list) and input_records:
            values = [item.get(name) for item in input_records if isinstance(item, dict)]
        elif filter_values:
            values = [v.strip() for v in filter_values.split(",") if v.strip()]
        else:
            raise CallError("701", "filterValues cannot be blank")
        if len(values) > limit:
            raise CallError("1003", f"Too many filter values: {len(values)}, the limit is {limit}")
        return values

    # --- delete ---------------------------------------------------------------------------------
    def delete(self, api_name: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        schema = self.object_schema(api_name)
        delete_by = body.get("deleteBy") or "dedupeFields"
        if delete_by not in ("dedupeFields", "idField"):
            raise CallError("1003", f"Invalid deleteBy '{delete_by}'")
        records = require_record_list(body.get("input"), self.settings().max_batch_records)
        results = []
        with self.store.transaction() as db:
            for seq, record in enumerate(records):
                row = None
                if isinstance(record, dict):
                    if delete_by == "idField":
                        row = self._row(schema.name, guid=str(record.get("marketoGUID")))
                    else:
                        try:
                            values = {
                                n: self._coerce(schema, n, record.get(n))
                                for n in schema.dedupe_fields
                            }
                        except ValueRejected:
                            values = {}
                        key = self._dedupe_key(schema, values)
                        row = self._row(schema.name, dedupe_key=key) if key else None
                if row is None:
                    results.append({"seq": seq, **skipped(reason("1013", "Object not found"))})
                    continue
                db.execute("DELETE FROM custom_objects WHERE guid=?", (row["guid"],))
                results.append({"seq": seq, "marketoGUID": row["guid"], "status": "deleted"})
        return results
