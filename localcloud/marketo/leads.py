"""Lead operations of the local Marketo: sync, query, describe, merge, delete, and CRM/form persons."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
import zoneinfo
from typing import Any, Callable

from localcloud.marketo.activities import (
    CHANGE_DATA_VALUE,
    DELETE_LEAD,
    FILL_OUT_FORM,
    MERGE_LEADS,
    NEW_LEAD,
    record_activity,
)
from localcloud.marketo.batch import check_record_count, require_record_list
from localcloud.marketo.envelope import CallError, decode_token, encode_token
from localcloud.marketo.schema import (
    FieldDef,
    Schema,
    ValueRejected,
    coerce_value,
    format_datetime,
    is_empty,
)
from localcloud.marketo.settings import Settings
from localcloud.marketo.store import LeadRow, Store

ACTIONS = ("createOnly", "updateOnly", "createOrUpdate", "createDuplicate")
DEFAULT_FIELDS = ["id", "updatedAt", "lastName", "email", "createdAt", "firstName"]
SYSTEM_FIELDS = {"id", "createdAt", "updatedAt"}
PARTITIONS = {"Default": 1}
DURABLE_SOURCE = "Durable Unsubscribe"  # Reason/Source of the changes it makes (a local wording)
DURABLE_METHOD = "updateLeadEmailStatus"
LOCAL_FORM_ID = 1001  # the one form the local Marketo's form fills come through
LOCAL_FORM_NAME = "ECBridge local form"


def reason(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def skipped(*reasons: dict[str, str]) -> dict[str, Any]:
    return {"status": "skipped", "reasons": list(reasons)}


def now_text() -> str:
    return format_datetime(dt.datetime.now(dt.timezone.utc))


def full_name(data: dict[str, Any]) -> str:
    return " ".join(str(data[k]) for k in ("firstName", "lastName") if data.get(k)) or str(
        data.get("email") or ""
    )


class LeadOperations:
    def __init__(self, store: Store, schema: Schema, settings: Callable[[], Settings]):
        self.store = store
        self.schema = schema
        self.settings = settings
        self.field_ids = {name: index for index, name in enumerate(schema.lead.fields, start=1)}
        # For `simultaneous_upserts_duplicate`: which call made which lead, and when each call ran.
        self._calls_lock = threading.Lock()
        self._call_numbers = itertools.count(1)
        self._call_times: dict[int, list[float | None]] = {}
        self._creator_of: dict[int, int] = {}
        self._current_call = threading.local()
        for name in schema.searchable_lead_fields():
            if name not in ("id", "email"):
                store.ensure_lead_index(name)

    # --- helpers --------------------------------------------------------------------------------
    def _naive_zone(self) -> dt.tzinfo:
        name = self.settings().naive_datetime_timezone
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.timezone.utc

    def _coerce(self, definition: FieldDef, value: Any) -> Any:
        return coerce_value(
            definition,
            value,
            truncate_long_strings=self.settings().truncate_long_strings,
            naive_timezone=self._naive_zone(),
        )

    def lookup_definition(self, name: str, *, for_filter: bool) -> FieldDef:
        definition = self.schema.lead.field(name)
        if definition is None:
            raise CallError("1006", f"Field '{name}' not found")
        if not definition.searchable:
            raise CallError("1011", f"Field '{name}' not supported")
        return definition

    def _clean_record(
        self, record: dict[str, Any], *, allow_readonly: bool = False, key_field: str = ""
    ) -> tuple[dict[str, Any], list[dict[str, str]]]:
        """Check every field of one input record; return (stored values, reasons).

        A read-only field used as the lookup key (``key_field``) is a key, never a rejected write."""
        values: dict[str, Any] = {}
        reasons: list[dict[str, str]] = []
        policy = self.settings().readonly_field_policy
        for name, raw in record.items():
            definition = self.schema.lead.field(name)
            if definition is None:
                reasons.append(reason("1006", f"Field '{name}' not found"))
                continue
            if name == "id":
                continue  # handled by the caller (only valid with updateOnly)
            if not definition.updateable and not allow_readonly:
                if policy == "reject" and name != key_field:
                    reasons.append(reason("1003", f"Field '{name}' is not updateable"))
                continue
            try:
                values[name] = self._coerce(definition, raw)
            except ValueRejected as rejected:
                reasons.append(reason(rejected.code, rejected.message))
        return values, reasons

    def _choose(self, matches: list[LeadRow]) -> LeadRow | None:
        policy = self.settings().multiple_match_policy
        if policy == "oldest":
            return min(matches, key=lambda lead: lead.id)
        if policy == "newest":
            return max(matches, key=lambda lead: (lead.updated_at, lead.id))
        return None

    def _create(
        self, values: dict[str, Any], request_id: str, origin: str, source_type: str, method: str
    ) -> int:
        stamp = now_text()
        stored = {k: v for k, v in values.items() if v is not None}
        lead_id = self.store.insert_lead(stored, stamp, origin)
        attributes = [{"name": "Source Type", "value": source_type}]
        if method:
            attributes.append({"name": "API Method Name", "value": method})
        if stored.get("leadSource"):
            attributes.append({"name": "Lead Source", "value": stored["leadSource"]})
        if stored.get("sfdcType"):
            attributes.append({"name": "SFDC Type", "value": stored["sfdcType"]})
        attributes.append({"name": "Request Id", "value": request_id})
        record_activity(
            self.store, lead_id, NEW_LEAD, stamp, attributes, lead_id, full_name(stored)
        )
        if self.settings().durable_unsubscribe and stored.get("email"):
            if stored.get("unsubscribed") is True:
                self.store.set_email_status(stored["email"], True, stamp)
                self._spread_unsubscribed(stored["email"], True, lead_id, request_id)
            elif self._email_unsubscribed(stored["email"]):  # Adobe: the flag is not overwritten
                created = LeadRow(lead_id, stored, stamp, stamp, origin)
                self._update(created, {"unsubscribed": True}, request_id, DURABLE_SOURCE, DURABLE_METHOD,
                             durable=False)
        number = getattr(self._current_call, "number", None)
        if number is not None:
            with self._calls_lock:
                self._creator_of[lead_id] = number
        return lead_id

    def _update(
        self,
        lead: LeadRow,
        values: dict[str, Any],
        request_id: str,
        reason_text: str,
        method: str,
        durable: bool = True,
    ) -> bool:
        stamp = now_text()
        data = dict(lead.data)
        changed = []
        for name, value in values.items():
            old = data.get(name)
            if old == value:
                continue
            changed.append((name, old, value))
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        if not changed:
            return False
        self.store.update_lead(lead.id, data, stamp)
        for name, old, new in changed:
            definition = self.schema.lead.fields[name]
            attributes = [
                {"name": "New Value", "value": new},
                {"name": "Old Value", "value": old},
                {"name": "Reason", "value": reason_text},
                {"name": "Source", "value": reason_text},
            ]
            if method:
                attributes.append({"name": "API Method Name", "value": method})
            attributes.append({"name": "Request Id", "value": request_id})
            record_activity(
                self.store,
                lead.id,
                CHANGE_DATA_VALUE,
                stamp,
                attributes,
                self.field_ids[name],
                definition.display_name,
            )
        if durable and self.settings().durable_unsubscribe:
            self._durable_unsubscribe(lead, data, {name: old for name, old, _new in changed}, request_id)
        return True

    # --- Durable Unsubscribe (Adobe: a master email status beside each person's flag) -----------------
    def _email_unsubscribed(self, email: str) -> bool:
        """The master status of an address; before any change was recorded, whether a person has it."""
        status = self.store.email_status(email)
        if status is not None:
            return status
        return any(lead.data.get("unsubscribed") is True for lead in self.store.find_leads("email", [email]))

    def _spread_unsubscribed(self, email: str, flag: bool, source_id: int, request_id: str) -> None:
        for other in self.store.find_leads("email", [email]):
            if other.id != source_id and (other.data.get("unsubscribed") is True) != flag:
                self._update(other, {"unsubscribed": flag}, request_id, DURABLE_SOURCE, DURABLE_METHOD,
                             durable=False)

    def _durable_unsubscribe(
        self, lead: LeadRow, data: dict[str, Any], old: dict[str, Any], request_id: str
    ) -> None:
        """After a change: an unsubscribe (false to true) or re-subscribe (true to false) updates the
        master status and every person with the address; a new address brings its status along."""
        email = data.get("email")
        if not email:
            return
        now_flag = data.get("unsubscribed") is True
        if "unsubscribed" in old and (old["unsubscribed"] is True) != now_flag:
            self.store.set_email_status(email, now_flag, now_text())
            self._spread_unsubscribed(email, now_flag, lead.id, request_id)
        elif "email" in old and str(old["email"] or "").strip().lower() != str(email).strip().lower():
            status = self.store.email_status(email)
            if status is None and self._email_unsubscribed(email):
                status = True
            if status is not None and status != now_flag:
                changed = LeadRow(lead.id, data, lead.created_at, now_text(), lead.origin)
                self._update(changed, {"unsubscribed": status}, request_id, DURABLE_SOURCE, DURABLE_METHOD,
                             durable=False)

    def apply_change(
        self, lead: LeadRow, values: dict[str, Any], request_id: str, reason_text: str, method: str
    ) -> bool:
        """Write ``values`` onto a live lead, one Change Data Value activity per changed field."""
        return self._update(lead, values, request_id, reason_text, method)

    # --- sync -----------------------------------------------------------------------------------
    def sync(
        self, body: dict[str, Any], request_id: str, arrived: float | None = None
    ) -> list[dict[str, Any]]:
        """Sync leads; ``arrived`` (time.monotonic() when the HTTP call came in) dates the call for the
        documented race between overlapping upserts."""
        number = next(self._call_numbers)
        with self._calls_lock:
            self._call_times[number] = [arrived if arrived is not None else time.monotonic(), None]
        self._current_call.number = number
        try:
            return self._sync(body, request_id)
        finally:
            self._current_call.number = None
            with self._calls_lock:
                self._call_times[number][1] = time.monotonic()
                self._forget_old_calls()

    def _forget_old_calls(self) -> None:
        horizon = time.monotonic() - 300
        old = {
            n for n, (_, ended) in self._call_times.items() if ended is not None and ended < horizon
        }
        if old:
            for number in old:
                del self._call_times[number]
            self._creator_of = {lead: n for lead, n in self._creator_of.items() if n not in old}

    def _visible(self, matches: list[LeadRow]) -> list[LeadRow]:
        """Hide leads made by calls that overlapped this one (only with simultaneous_upserts_duplicate)."""
        number = getattr(self._current_call, "number", None)
        if number is None or not self.settings().simultaneous_upserts_duplicate:
            return matches
        with self._calls_lock:
            arrived = self._call_times[number][0]
            hidden = set()
            for lead in matches:
                creator = self._creator_of.get(lead.id)
                if creator is None or creator == number or creator not in self._call_times:
                    continue
                ended = self._call_times[creator][1]
                if ended is None or ended > float(arrived or 0):
                    hidden.add(lead.id)
        return [lead for lead in matches if lead.id not in hidden]

    def _sync(self, body: dict[str, Any], request_id: str) -> list[dict[str, Any]]:
        settings = self.settings()
        action = body.get("action") or "createOrUpdate"
        if action not in ACTIONS:
            raise CallError("1003", f"Invalid action '{action}'")
        lookup_field = body.get("lookupField") or "email"
        lookup_definition = self.lookup_definition(lookup_field, for_filter=False)
        if lookup_field == "id" and action != "updateOnly":
            raise CallError("1003", "lookupField 'id' is only valid with action 'updateOnly'")
        records = body.get("input")
        if records is None or records == []:
            raise CallError("701", "input cannot be blank")
        if not isinstance(records, list):
            raise CallError("1003", "input must be an array of lead records")
        check_record_count(records, settings.max_batch_records)
        partition = body.get("partitionName")
        results: list[dict[str, Any]] = []
        with self.store.transaction():
            for record in records:
                results.append(
                    self.sync_record(
                        record, action, lookup_field, lookup_definition, partition, request_id
                    )
                )
        return results

    def sync_record(
        self,
        record: Any,
        action: str,
        lookup_field: str,
        lookup_definition: FieldDef,
        partition: Any,
        request_id: str,
        importing: bool = False,
    ) -> dict[str, Any]:
        """One input record of a sync (also a row of a bulk import, ``importing``): its result, never
        an exception. Adobe: an import never overwrites the unsubscribe flag to re-subscribe a person
        (unless ``import_resubscribes``); its changes are logged with the import's source."""
        source, method = ("Bulk Import", "importLead") if importing else ("Web service API", "syncLead")
        if not isinstance(record, dict):
            return skipped(reason("1003", "Invalid data: a lead record must be an object"))
        if partition is not None and partition not in PARTITIONS:
            return skipped(reason("1008", f"Access denied to partition '{partition}'"))
        values, reasons = self._clean_record(record, key_field=lookup_field)
        if "id" in record and action != "updateOnly":
            reasons.insert(
                0, reason("1003", "Invalid data: 'id' is only allowed with action 'updateOnly'")
            )
        if reasons:
            return skipped(*reasons)
        if action == "createDuplicate":
            return {
                "id": self._create(values, request_id, "api", source, method),
                "status": "created",
            }
        if action == "updateOnly" and "id" in record:
            key_field, key_definition, raw_key = "id", self.schema.lead.fields["id"], record["id"]
        else:
            key_field, key_definition, raw_key = (
                lookup_field,
                lookup_definition,
                record.get(lookup_field),
            )
        try:
            key = self._coerce(key_definition, raw_key)
        except ValueRejected as rejected:
            return skipped(reason(rejected.code, rejected.message))
        if is_empty(key):
            if action == "updateOnly":
                return skipped(
                    reason("1003", f"Value for lookup field '{key_field}' not specified")
                )
            return {
                "id": self._create(values, request_id, "api", source, method),
                "status": "created",
            }
        matches = self.store.find_leads(key_field, [key])
        if action == "createOnly":
            if matches:
                return skipped(reason("1005", "Lead already exists"))
            return {
                "id": self._create(values, request_id, "api", source, method),
                "status": "created",
            }
        if action == "createOrUpdate":
            matches = self._visible(matches)
        if not matches:
            if action == "updateOnly":
                return skipped(reason("1004", "Lead not found"))
            return {
                "id": self._create(values, request_id, "api", source, method),
                "status": "created",
            }
        target = matches[0] if len(matches) == 1 else self._choose(matches)
        if target is None:
            return skipped(reason("1007", "Multiple leads match the lookup criteria"))
        if (
            importing
            and target.data.get("unsubscribed") is True
            and values.get("unsubscribed") is False
            and not self.settings().import_resubscribes
        ):
            values = {k: v for k, v in values.items() if k != "unsubscribed"}
        self._update(target, values, request_id, source, method)
        return {"id": target.id, "status": "updated"}

    # --- query ----------------------------------------------------------------------------------
    def output_fields(self, fields_param: str | list[str] | None) -> list[str]:
        if fields_param is None or fields_param == "" or fields_param == []:
            return list(DEFAULT_FIELDS)
        names = fields_param if isinstance(fields_param, list) else str(fields_param).split(",")
        names = [name.strip() for name in names if name.strip()]
        for name in names:
            if self.schema.lead.field(name) is None:
                raise CallError("1006", f"Field '{name}' not found")
        return names

    def shape(self, lead: LeadRow, fields: list[str]) -> dict[str, Any]:
        """The record as Marketo answers it: a boolean field never set reads ``false`` (Marketo keeps
        booleans as 0/1, so ``unsubscribed`` of a person who never unsubscribed is false, not null)."""
        record = lead.record()
        shaped = {name: record.get(name) for name in fields}
        for name, value in shaped.items():
            if value is None:
                definition = self.schema.lead.field(name)
                if definition is not None and definition.data_type == "boolean":
                    shaped[name] = False
        return shaped

    def query(
        self,
        filter_type: str | None,
        filter_values: str | None,
        fields_param: str | None,
        batch_size: str | None,
        next_page_token: str | None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        settings = self.settings()
        if not filter_type:
            raise CallError("701", "filterType cannot be blank")
        if filter_values is None or filter_values.strip() == "":
            raise CallError("701", "filterValues cannot be blank")
        definition = self.lookup_definition(filter_type, for_filter=True)
        raw_values = [value.strip() for value in filter_values.split(",") if value.strip()]
        if len(raw_values) > settings.max_batch_records:
            raise CallError(
                "1003",
                f"Too many filter values: {len(raw_values)}, the limit is {settings.max_batch_records}",
            )
        values = []
        for raw in raw_values:
            try:
                values.append(self._coerce(definition, raw))
            except ValueRejected as rejected:
                raise CallError("1003", f"Invalid filterValues: {rejected.message}") from None
        fields = self.output_fields(fields_param)
        size = settings.max_batch_records
        if batch_size not in (None, ""):
            try:
                size = int(str(batch_size))
            except ValueError:
                raise CallError("1003", f"Invalid batchSize '{batch_size}'") from None
            if not 1 <= size <= settings.max_batch_records:
                raise CallError(
                    "1003", f"batchSize must be between 1 and {settings.max_batch_records}"
                )
        offset = int(decode_token(next_page_token).get("offset", 0)) if next_page_token else 0
        matches = self.store.find_leads(filter_type, values, limit=settings.max_filter_results + 1)
        if len(matches) > settings.max_filter_results:
            raise CallError("1003", "Too many results match the filter")
        page = matches[offset : offset + size]
        token = encode_token({"offset": offset + size}) if offset + size < len(matches) else None
        return [self.shape(lead, fields) for lead in page], token

    def get_by_id(self, lead_id: str, fields_param: str | None) -> list[dict[str, Any]]:
        fields = self.output_fields(fields_param)
        try:
            number = int(lead_id)
        except ValueError:
            raise CallError("1003", f"Invalid lead id '{lead_id}'") from None
        lead = self.store.get_lead(number)
        return [self.shape(lead, fields)] if lead else []

    # --- describe -------------------------------------------------------------------------------
    def describe(self) -> list[dict[str, Any]]:
        result = []
        for name, definition in self.schema.lead.fields.items():
            entry: dict[str, Any] = {
                "id": self.field_ids[name],
                "displayName": definition.display_name,
                "dataType": definition.data_type,
            }
            if definition.length is not None:
                entry["length"] = definition.length
            entry["rest"] = {"name": name, "readOnly": not definition.updateable}
            entry["soap"] = {
                "name": name[:1].upper() + name[1:],
                "readOnly": not definition.updateable,
            }
            result.append(entry)
        return result

    def describe2(self) -> list[dict[str, Any]]:
        return [
            {
                "name": "API Lead",
                "searchableFields": [[name] for name in self.schema.searchable_lead_fields()],
                "fields": [
                    definition.describe2() for definition in self.schema.lead.fields.values()
                ],
            }
        ]

    # --- merge ----------------------------------------------------------------------------------
    def merge(
        self,
        winner_id: str,
        lead_id: str | None,
        lead_ids: str | None,
        merge_in_crm: bool,
        request_id: str,
    ) -> None:
        settings = self.settings()
        raw = [v.strip() for v in (lead_ids or "").split(",") if v.strip()]
        if lead_id not in (None, ""):
            raw.insert(0, str(lead_id).strip())
        if not raw:
            raise CallError("701", "leadId cannot be blank")
        try:
            winner_number = int(winner_id)
            losers = list(dict.fromkeys(int(v) for v in raw))
        except ValueError:
            raise CallError("1003", "Invalid lead id in merge request") from None
        if len(losers) > settings.max_merge_losers:
            raise CallError(
                "1080",
                f"Too many leads to merge: {len(losers)}, the limit is {settings.max_merge_losers}",
            )
        if winner_number in losers:
            raise CallError("1003", f"Lead {winner_number} cannot be merged into itself")
        with self.store.transaction():
            winner = self.store.get_lead(winner_number)
            if winner is None:
                raise CallError("1004", f"Lead '{winner_number}' not found")
            loser_rows = []
            for number in losers:
                row = self.store.get_lead(number)
                if row is None:
                    raise CallError("1004", f"Lead '{number}' not found")
                loser_rows.append(row)
            if merge_in_crm:
                winner, loser_rows = self._crm_winner(winner, loser_rows)
            values = dict(winner.data)
            filled: dict[str, Any] = {}
            for name in self.schema.lead.fields:
                if name in SYSTEM_FIELDS or not is_empty(values.get(name)):
                    continue
                for loser in loser_rows:
                    if not is_empty(loser.data.get(name)):
                        filled[name] = loser.data[name]
                        break
            changed = (
                self._update(winner, filled, request_id, "Merge Leads", "mergeLeads")
                if filled
                else False
            )
            stamp = now_text()
            for loser in loser_rows:
                if settings.merge_activities_to == "winner":
                    self.store.move_activities(loser.id, winner.id)
                if settings.merge_moves_custom_objects:
                    with self.store.transaction() as db:
                        db.execute(
                            "UPDATE custom_objects SET lead_id=? WHERE lead_id=?",
                            (winner.id, loser.id),
                        )
                        rows = db.execute(
                            "SELECT guid, data FROM custom_objects WHERE lead_id=?", (winner.id,)
                        ).fetchall()
                        for row in rows:
                            data = json.loads(row["data"])
                            changed_link = False
                            for schema in self.schema.custom_objects.values():
                                link = schema.lead_link
                                if link and data.get(link.field) == loser.id:
                                    data[link.field] = winner.id
                                    changed_link = True
                            if changed_link:
                                db.execute(
                                    "UPDATE custom_objects SET data=? WHERE guid=?",
                                    (json.dumps(data), row["guid"]),
                                )
                self.store.bury_lead(loser, "merged", stamp, winner.id, request_id)
            record_activity(
                self.store,
                winner.id,
                MERGE_LEADS,
                stamp,
                [
                    {"name": "Merge ids", "value": ",".join(str(loser.id) for loser in loser_rows)},
                    {"name": "Merged in Sales", "value": bool(merge_in_crm)},
                    {"name": "Merge Source", "value": "Web service API"},
                    {"name": "Master Updated", "value": bool(changed)},
                    {"name": "API Method Name", "value": "mergeLeads"},
                    {"name": "Request Id", "value": request_id},
                ],
                winner.id,
                full_name(winner.data),
            )

    @staticmethod
    def _crm_winner(winner: LeadRow, losers: list[LeadRow]) -> tuple[LeadRow, list[LeadRow]]:
        """With mergeInCRM, a CRM contact beats a CRM lead and a CRM person beats a Marketo-only one."""
        everyone = [winner, *losers]

        def rank(lead: LeadRow) -> int:
            if lead.data.get("sfdcContactId") or lead.data.get("sfdcType") == "Contact":
                return 2
            if lead.data.get("sfdcLeadId") or lead.data.get("sfdcType") == "Lead":
                return 1
            return 0

        best = max(rank(lead) for lead in everyone)
        if rank(winner) == best:
            return winner, losers
        chosen = next(lead for lead in everyone if rank(lead) == best)
        return chosen, [lead for lead in everyone if lead.id != chosen.id]

    # --- delete ---------------------------------------------------------------------------------
    def delete(self, records: Any, request_id: str) -> list[dict[str, Any]]:
        records = require_record_list(records, self.settings().max_batch_records)
        results = []
        with self.store.transaction():
            for record in records:
                lead_id = record.get("id") if isinstance(record, dict) else None
                lead = self.store.get_lead(int(lead_id)) if isinstance(lead_id, int) else None
                if lead is None:
                    results.append({"id": lead_id, **skipped(reason("1004", "Lead not found"))})
                    continue
                stamp = now_text()
                self.store.bury_lead(lead, "deleted", stamp, None, request_id)
                record_activity(
                    self.store,
                    lead.id,
                    DELETE_LEAD,
                    stamp,
                    [
                        {"name": "API Method Name", "value": "deleteLeads"},
                        {"name": "Request Id", "value": request_id},
                    ],
                    lead.id,
                    full_name(lead.data),
                )
                results.append({"id": lead.id, "status": "deleted"})
        return results

    # --- persons made outside the API: the CRM sync and form fills ---------------------------------
    def _each_person(
        self, records: list[Any], make_person: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """One transaction; a record that is not an object is skipped, the others go to make_person."""
        results = []
        with self.store.transaction():
            for record in records:
                if not isinstance(record, dict):
                    results.append(skipped(reason("1003", "Invalid data: a person is an object")))
                    continue
                results.append(make_person(record))
        return results

    def create_crm_persons(
        self, records: list[dict[str, Any]], request_id: str
    ) -> list[dict[str, Any]]:
        """As the native Salesforce sync does: a new person per CRM record, never deduplicated by email."""
        return self._each_person(records, lambda record: self._crm_person(record, request_id))

    def _crm_person(self, record: dict[str, Any], request_id: str) -> dict[str, Any]:
        sfdc_type = record.get("sfdcType")
        crm_id_field = {"Lead": "sfdcLeadId", "Contact": "sfdcContactId"}.get(str(sfdc_type))
        if crm_id_field is None or not record.get(crm_id_field):
            return skipped(
                reason(
                    "1003",
                    "A CRM-synced person needs sfdcType Lead with sfdcLeadId, or Contact with sfdcContactId",
                )
            )
        existing = (
            self.store.find_leads(crm_id_field, [record[crm_id_field]])
            if self.schema.lead.field(crm_id_field)
            else []
        )
        values, reasons = self._clean_record(record, allow_readonly=True)
        if reasons:
            return skipped(*reasons)
        if existing:  # the sync keys on the CRM id, never on email
            self._update(existing[0], values, request_id, "Salesforce.com", "")
            return {"id": existing[0].id, "status": "updated"}
        return {
            "id": self._create(values, request_id, "crm", "Salesforce.com", ""),
            "status": "created",
        }

    def create_form_persons(
        self, records: list[dict[str, Any]], request_id: str
    ) -> list[dict[str, Any]]:
        """As a form fill does: deduplicated by email; with several matches the most recently updated wins."""
        return self._each_person(records, lambda record: self._form_person(record, request_id))

    def _form_person(self, record: dict[str, Any], request_id: str) -> dict[str, Any]:
        values, reasons = self._clean_record(record)
        if reasons:
            return skipped(*reasons)
        email = values.get("email")
        if is_empty(email):
            return skipped(reason("1003", "A form fill needs an email address"))
        matches = self.store.find_leads("email", [email])
        if matches:
            target = max(matches, key=lambda lead: (lead.updated_at, lead.id))
            self._update(target, values, request_id, "Form fill-out", "")
            lead_id, status = target.id, "updated"
        else:
            lead_id, status = (
                self._create(values, request_id, "form", "Web form fillout", ""),
                "created",
            )
        record_activity(
            self.store,
            lead_id,
            FILL_OUT_FORM,
            now_text(),
            [
                {
                    "name": "Form Fields",
                    "value": json.dumps(record, ensure_ascii=False, default=str),
                },
                {"name": "Client IP Address", "value": "127.0.0.1"},
            ],
            LOCAL_FORM_ID,
            LOCAL_FORM_NAME,
        )
        return {"id": lead_id, "status": status}
