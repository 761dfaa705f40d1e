"""The DML engine: insert, update, upsert, delete with Salesforce's data rules, allOrNone,
trigger chunks of 200 and per-record results."""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping, Sequence

from .errors import (ROLLED_BACK, InvalidFieldError, NotFoundError, RecordError, SalesforceError,
                     TriggerException)
from .ids import is_valid_id, make_id, to18
from .results import SaveResult
from .schema import FieldDef, ObjectDef
from .triggers import TriggerEvent
from . import content, features, feeds
from . import locks, recycle, rollups
from .changes import CREATE, DELETE, UNDELETE, UPDATE, RecordChange
from .compound import COMPOUND_TYPES, json_value, typed_value
from .txn import DataTransaction, ReadOnlyFields
from .values import ValueProblem, base64_url, coerce, from_db, to_db, to_json

CHUNK = 200
MAX_TRIGGER_DEPTH = 16
PARTIAL_SAVE_ATTEMPTS = 3
AUDIT = ("createddate", "createdbyid", "lastmodifieddate", "lastmodifiedbyid", "systemmodstamp")
SYSTEM = {"id", "isdeleted", *AUDIT}
COMPOSED_NAME = {"contact", "lead", "user"}


class RecordFailure(Exception):
    def __init__(self, errors: list[RecordError]) -> None:
        super().__init__(errors[0].message if errors else "record failed")
        self.errors = errors


def _err(code: str, message: str, *fields: str) -> RecordError:
    return RecordError(code, message, tuple(fields))


# -- shared helpers ---------------------------------------------------------------------------------
def _check_triggerable(od: ObjectDef) -> bool:
    return bool(od.raw.get("triggerable", True))


def canonical(od: ObjectDef, row: Mapping[str, Any]) -> dict[str, Any]:
    """lower-name dict -> canonical-name dict with every field of the object."""
    return {fd.name: row.get(fd.lower) for fd in od.fields.values()}


def load_rows(tx: DataTransaction, od: ObjectDef, ids: Sequence[str], include_deleted: bool = True
              ) -> dict[str, dict[str, Any]]:
    """Typed rows (lower-name keys, plus ``isdeleted``) by id."""
    out: dict[str, dict[str, Any]] = {}
    cols = [fd for fd in od.fields.values() if fd.lower != "isdeleted"]
    select = ", ".join(["isdeleted"] + [fd.column for fd in cols])
    for i in range(0, len(ids), 500):
        part = list(ids[i:i + 500])
        marks = ",".join("?" * len(part))
        sql = f"SELECT {select} FROM {od.table} WHERE id IN ({marks})"
        if not include_deleted:
            sql += " AND isdeleted = 0"
        for r in tx.execute(sql, part):
            row = {fd.lower: from_db(fd, r[k + 1]) for k, fd in enumerate(cols)}
            row["isdeleted"] = bool(r[0])
            out[row["id"]] = row
    return out


@contextmanager
def _statement(tx: DataTransaction) -> Iterator[Any]:
    """A DML statement: all of it, or (on an exception) none of it."""
    sp = tx.savepoint()
    try:
        yield sp
    except BaseException:
        if not tx.closed:
            tx.rollback_to(sp)
            tx.release(sp)
        raise
    else:
        tx.release(sp)


def _rel_value(tx: DataTransaction, od: ObjectDef, fd: FieldDef, value: Any) -> str | None:
    """``Member__r: {"EC_Member_Id__c": "M1"}`` -> the parent's id (or a RecordFailure)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordFailure([_err("INVALID_FIELD", f"Cannot deserialize instance of {fd.relationship_name}",
                                  fd.relationship_name or fd.name)])
    attrs = value.get("attributes") or {}
    target_name = attrs.get("type") if isinstance(attrs, Mapping) else None
    if target_name is None:
        if len(fd.reference_to) != 1:
            raise RecordFailure([_err("INVALID_FIELD", f"{fd.relationship_name}: polymorphic relationship needs "
                                      "attributes.type", fd.name)])
        target_name = fd.reference_to[0]
    target = tx.schema.get(target_name)
    keys = [k for k in value.keys() if k != "attributes"]
    if len(keys) != 1:
        raise RecordFailure([_err("INVALID_FIELD", f"{fd.relationship_name}: give exactly one external id field",
                                  fd.name)])
    key_fd = target.find_field(keys[0])
    if key_fd is None:
        raise RecordFailure([_err("INVALID_FIELD", f"No such column '{keys[0]}' on sobject of type {target.name}",
                                  fd.name)])
    if key_fd.lower != "id" and not (key_fd.external_id or key_fd.raw.get("idLookup")):
        raise RecordFailure([_err("INVALID_FIELD", f"Field {key_fd.name} is not an External ID or Id", fd.name)])
    raw = value[keys[0]]
    try:
        typed = coerce(key_fd, raw)
    except ValueProblem as p:
        raise RecordFailure([_err(p.status_code, p.message, p.field_name)]) from None
    ids = [r[0] for r in tx.execute(
        f"SELECT id FROM {target.table} WHERE {key_fd.column} = ? AND isdeleted = 0 LIMIT 2",
        (to_db(key_fd, typed),))]
    if not ids:
        raise RecordFailure([_err("INVALID_FIELD", f"Foreign key external ID: {raw} not found for field "
                                  f"{key_fd.name} in entity {target.name}", fd.name)])
    if len(ids) > 1:
        raise RecordFailure([_err("INVALID_FIELD", f"Foreign key external ID: {raw} found multiple times for "
                                  f"field {key_fd.name} in entity {target.name}", fd.name)])
    return ids[0]


def prepare(tx: DataTransaction, od: ObjectDef, record: Mapping[str, Any], op: str,
            read_only: ReadOnlyFields) -> dict[str, Any]:
    """Given fields of one input record as typed values keyed by lower field name."""
    out: dict[str, Any] = {}
    errors: list[RecordError] = []
    read_only_hits: list[str] = []
    if not isinstance(record, Mapping):
        raise RecordFailure([_err("INVALID_FIELD", "record must be an object")])
    for key, value in record.items():
        if key == "attributes":
            continue
        fd = od.find_field(key)
        if fd is None:
            rel = od.relationship(key)
            if rel is not None:
                try:
                    out[rel.lower] = _rel_value(tx, od, rel, value)
                except RecordFailure as f:
                    errors.extend(f.errors)
                continue
            errors.append(_err("INVALID_FIELD", f"No such column '{key}' on sobject of type {od.name}", key))
            continue
        if fd.lower == "id":
            if op == "insert" and value is not None:
                if read_only == "write" and isinstance(value, str) and is_valid_id(value) \
                        and value[:3] == od.key_prefix:
                    out["id"] = to18(value)  # a system writer mirrors a record that has its id (ApexClass)
                else:
                    errors.append(_err("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", "Id"))
            continue
        if fd.lower == "isdeleted":
            continue
        if fd.type in COMPOUND_TYPES:  # read-only, even for system writers: its components are written
            if read_only == "reject":
                read_only_hits.append(fd.name)
            continue
        writable = fd.createable if op == "insert" else fd.updateable
        if not writable and read_only != "write":
            if read_only == "reject":
                read_only_hits.append(fd.name)
            continue
        try:
            out[fd.lower] = coerce(fd, value)
        except ValueProblem as p:
            errors.append(_err(p.status_code, p.message, p.field_name))
    if read_only_hits:
        errors.append(_err("INVALID_FIELD_FOR_INSERT_UPDATE",
                           f"Unable to create/update fields: {', '.join(read_only_hits)}. Please check the security "
                           "settings of this field and verify that it is read/write for your profile or permission set.",
                           *read_only_hits))
    if errors:
        raise RecordFailure(errors)
    return out


class _Run:
    """State of one DML statement over one object."""

    def __init__(self, tx: DataTransaction, od: ObjectDef, all_or_none: bool, results: list[SaveResult | None],
                 read_only: ReadOnlyFields) -> None:
        self.tx = tx
        self.od = od
        self.all_or_none = all_or_none
        self.results = results
        self.read_only = read_only
        self.failed = False
        #: sharing rules of this object (share rows, Owner rows), None for the objects that take no part
        self.sharing = features.sharing.plan(tx, od)

    def fail(self, i: int, errors: list[RecordError]) -> None:
        self.results[i] = SaveResult(id=None, success=False, errors=errors)
        self.failed = True

    # -- triggers -----------------------------------------------------------------------------------
    def _fire(self, timing: str, op: str, idx: list[int], new: list[dict[str, Any]] | None,
              old: list[dict[str, Any]] | None) -> dict[int, list[RecordError]]:
        hook = self.tx.store.trigger_hook
        if hook is None or not _check_triggerable(self.od) or self.tx.triggers_suppressed:
            return {}
        event = TriggerEvent(op=op, timing=timing, sobject=self.od.name, new=new, old=old,  # type: ignore[arg-type]
                             transaction=self.tx)
        self.tx.trigger_depth += 1
        try:
            if self.tx.trigger_depth > MAX_TRIGGER_DEPTH:
                raise SalesforceError("CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", "maximum trigger depth exceeded")
            try:
                (hook.before if timing == "before" else hook.after)(event)
            except TriggerException as exc:
                err = _err(exc.status_code, exc.message)
                return {k: [err] for k in range(len(idx))}
        finally:
            self.tx.trigger_depth -= 1
        out: dict[int, list[RecordError]] = {}
        for k, msgs in event.errors.items():
            out[k] = [_err("FIELD_CUSTOM_VALIDATION_EXCEPTION", m, *([f] if f else [])) for m, f in msgs]
        return out

    # -- validation -------------------------------------------------------------------------------
    def _apply_trigger_changes(self, before: dict[str, Any], after: dict[str, Any], row: dict[str, Any]) -> None:
        for name, value in after.items():
            fd = self.od.find_field(name)
            if fd is None:
                raise RecordFailure([_err("INVALID_FIELD", f"No such column '{name}' on sobject of type {self.od.name}",
                                          name)])
            if fd.type in COMPOUND_TYPES:
                continue
            if name in before and before[name] == value and type(before[name]) is type(value):
                continue
            if fd.lower in SYSTEM:
                continue
            try:
                row[fd.lower] = coerce(fd, value)
            except ValueProblem as p:
                raise RecordFailure([_err(p.status_code, p.message, p.field_name)]) from None

    # -- the partial-save attempt loop shared by insert, update and delete ----------------------------
    def _in_attempts(self, chunk: list[int], attempt: Callable[[list[int]], list[int] | None]) -> None:
        """Salesforce's partial save: up to PARTIAL_SAVE_ATTEMPTS tries, each ``attempt(pending)`` answering
        the records to try again (an after trigger refused others) or None when the chunk is settled."""
        pending: list[int] | None = list(chunk)
        for _attempt in range(PARTIAL_SAVE_ATTEMPTS):
            if not pending:
                return
            pending = attempt(pending)

    def _rolled_back(self, sp: Any) -> bool:
        """With allOrNone a failed record ends the attempt: roll it back to ``sp`` and say so."""
        if self.failed and self.all_or_none:
            self.tx.rollback_to(sp)
            self.tx.release(sp)
            return True
        return False

    def _before_triggers(self, op: str, pending: list[int], rows: dict[int, dict[str, Any]],
                         old_views: list[dict[str, Any]] | None) -> list[int]:
        """Fire the before triggers on ``rows`` and take in what they changed; answers the records still good."""
        views = [canonical(self.od, rows[i]) for i in pending]
        snapshots = [dict(v) for v in views]
        errs = self._fire("before", op, pending, views, old_views)
        ok: list[int] = []
        for k, i in enumerate(pending):
            if k in errs:
                self.fail(i, errs[k])
                continue
            try:
                self._apply_trigger_changes(snapshots[k], views[k], rows[i])
                if op == "update":  # a composed Name follows the names the trigger changed
                    self._derive(rows[i], "update")
                ok.append(i)
            except RecordFailure as f:
                self.fail(i, f.errors)
        return ok

    def _after_triggers(self, sp: Any, op: str, saved: list[int], new_views: list[dict[str, Any]] | None,
                        old_views: list[dict[str, Any]] | None, saved_id: Callable[[int], str],
                        created_flag: bool | None = None) -> list[int] | None:
        """Fire the after triggers on the saved records. Records they refuse fail and the attempt is rolled
        back: answers the others to try again (None with allOrNone). Otherwise the saved records succeed."""
        errs = self._fire("after", op, saved, new_views, old_views)
        if not errs and saved:  # then the masters' roll-up summaries (after the after triggers, as Salesforce)
            refused = rollups.recalculate(self.tx, self.od, [*(new_views or []), *(old_views or [])])
            errs = {k: refused for k in range(len(saved))} if refused else errs
        if errs:
            self.tx.rollback_to(sp)
            self.tx.release(sp)
            for k, i in enumerate(saved):
                if k in errs:
                    self.fail(i, errs[k])
            if self.all_or_none:
                return None
            return [i for k, i in enumerate(saved) if k not in errs]
        self.tx.release(sp)
        for i in saved:
            self.results[i] = SaveResult(id=saved_id(i), success=True, created=created_flag)
        return None

    def _derive(self, row: dict[str, Any], op: str) -> None:
        od = self.od
        if od.lower == "contentversion" and op == "insert":
            content.derive_version(row)
        if od.lower == "feedcomment" and op == "insert":
            feeds.derive_comment(self.tx, row)
        if op == "insert":
            rollups.initial(od, row)
        if od.lower in COMPOSED_NAME and "name" in od.fields:
            parts = [row.get("firstname"), row.get("lastname")]
            row["name"] = " ".join(p for p in parts if p) or None

    def _validate(self, row: dict[str, Any], old: dict[str, Any] | None, record_id: str | None) -> None:
        od = self.od
        errors: list[RecordError] = []
        required = [fd for fd in od.fields.values()
                    if not fd.nillable and fd.type != "boolean" and fd.lower not in SYSTEM and not fd.auto_number
                    and fd.lower != "ownerid" and not fd.calculated and (fd.createable or fd.updateable)]
        if old is None:
            missing = [fd.name for fd in required if row.get(fd.lower) is None]
        else:
            missing = [fd.name for fd in required if row.get(fd.lower) is None and old.get(fd.lower) is not None]
        if missing:
            errors.append(_err("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]",
                               *missing))
        for fd in od.fields.values():
            if fd.type != "reference" or fd.lower in ("createdbyid", "lastmodifiedbyid"):
                continue
            if (od.lower, fd.lower) == ("account", "personcontactid"):
                continue  # written with the person account (personaccounts.py)
            value = row.get(fd.lower)
            if value is None or (old is not None and old.get(fd.lower) == value):
                continue
            target = self.tx.schema.by_key_prefix(value[:3])
            any_object = (od.lower, fd.lower) in content.ANY_OBJECT_REFERENCES \
                or (od.lower, fd.lower) in feeds.ANY_OBJECT_REFERENCES
            if target is None or (target.name not in fd.reference_to and not any_object):
                errors.append(_err("FIELD_INTEGRITY_EXCEPTION", f"{fd.label}: id value of incorrect type: {value}",
                                   fd.name))
                continue
            hit = self.tx.execute(f"SELECT 1 FROM {target.table} WHERE id = ? AND isdeleted = 0", (value,)).fetchone()
            if hit is None:
                errors.append(_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fd.name))
            elif fd.lower == "ownerid" and target.lower == "group" and not self._queue_owns(value):
                # only a queue that supports the object (QueueSobject) owns records; Salesforce answers so
                errors.append(_err("FIELD_INTEGRITY_EXCEPTION", f"{fd.label}: id value of incorrect type: {value}",
                                   fd.name))
        for fd in od.fields.values():
            if not fd.unique or fd.lower == "id":
                continue
            value = row.get(fd.lower)
            if value is None or (old is not None and old.get(fd.lower) == value):
                continue
            params: list[Any] = [to_db(fd, value)]
            sql = f"SELECT id FROM {od.table} WHERE {fd.column} = ? AND isdeleted = 0"
            if record_id:
                sql += " AND id != ?"
                params.append(record_id)
            hit = self.tx.execute(sql + " LIMIT 1", params).fetchone()
            if hit is not None:
                errors.append(_err("DUPLICATE_VALUE", f"duplicate value found: {fd.name} duplicates value on record "
                                   f"with id: {hit[0]}", fd.name))
        if od.lower in feeds.UNIQUE_ROWS:
            duplicate = feeds.duplicate(self.tx, od.lower, row, old, record_id)
            errors += [duplicate] if duplicate is not None else []
        if errors:
            raise RecordFailure(errors)

    def _queue_owns(self, group_id: str) -> bool:
        """A Group may own a record of this object only when it is a queue supporting the object."""
        schema = self.tx.schema
        group, queue_sobject = schema.find("Group"), schema.find("QueueSobject")
        if group is None or queue_sobject is None:
            return False
        row = self.tx.execute(
            f"SELECT 1 FROM {group.table} AS g JOIN {queue_sobject.table} AS q ON q.{queue_sobject.field('QueueId').column} = g.id"
            f" WHERE g.id = ? AND g.isdeleted = 0 AND g.{group.field('Type').column} = 'Queue'"
            f" AND lower(q.{queue_sobject.field('SobjectType').column}) = ?", (group_id, self.od.lower)).fetchone()
        return row is not None

    # -- insert -----------------------------------------------------------------------------------
    def insert(self, indices: list[int], prepared: list[dict[str, Any] | None], created_flag: bool | None = None
               ) -> None:
        for start in range(0, len(indices), CHUNK):
            if self.failed and self.all_or_none:
                return
            self._insert_chunk(indices[start:start + CHUNK], prepared, created_flag)

    def _new_row(self, given: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for fd in self.od.fields.values():
            if fd.lower in given:
                row[fd.lower] = given[fd.lower]
            elif fd.type == "boolean":
                row[fd.lower] = bool(fd.default_value) if fd.default_value is not None else False
            elif fd.default_value is not None and fd.lower not in SYSTEM and not fd.auto_number:
                try:
                    row[fd.lower] = coerce(fd, fd.default_value)
                except ValueProblem:
                    row[fd.lower] = None
            else:
                row[fd.lower] = None
        if "ownerid" in self.od.fields and row.get("ownerid") is None:
            row["ownerid"] = self.tx.user_id
        if "isdeleted" in row:
            row["isdeleted"] = False
        return row

    def _insert_chunk(self, chunk: list[int], prepared: list[dict[str, Any] | None], created_flag: bool | None) -> None:
        self._in_attempts(chunk, lambda pending: self._insert_attempt(pending, prepared, created_flag))

    def _insert_attempt(self, pending: list[int], prepared: list[dict[str, Any] | None],
                        created_flag: bool | None) -> list[int] | None:
        tx, od = self.tx, self.od
        sp = tx.savepoint()
        rows = {i: self._new_row(prepared[i] or {}) for i in pending}
        for i in pending:
            features.person_accounts.defaults(self, rows[i])
        ok = self._before_triggers("insert", pending, rows, None)
        if self._rolled_back(sp):
            return None
        # validate and save, one by one (so duplicates inside the chunk are seen)
        saved: list[int] = []
        if ok:
            first = tx.store._next_numbers(tx._conn, od.key_prefix, len(ok))
        now = tx.now()
        for n, i in enumerate(ok):
            row = rows[i]
            row["id"] = row.get("id") or make_id(od.key_prefix, first + n)
            self._derive(row, "insert")
            for f in AUDIT:
                if f in od.fields and (row.get(f) is None or self.read_only != "write"):
                    row[f] = now if f in ("createddate", "lastmodifieddate", "systemmodstamp") else tx.user_id
            self._auto_number(row)
            if od.custom and "name" in od.fields and row.get("name") is None and not od.fields["name"].auto_number:
                row["name"] = row["id"]
            try:
                features.person_accounts.before_save(self, row, prepared[i] or {}, None)
                if self.sharing is not None:
                    self.sharing.before_save(self, row, prepared[i] or {}, None)
                self._validate(row, None, None)
            except RecordFailure as f:
                self.fail(i, f.errors)
                continue
            if self.sharing is not None and (same := self.sharing.existing(self, row)) is not None:
                self.sharing.merge(self, row, same)  # the same share again: the row there is updated
                saved.append(i)
                continue
            self._write_insert(row)
            if self.sharing is not None:
                self.sharing.after_save(self, row, None)
            tx.record_change(RecordChange(CREATE, od.name, row["id"], canonical(od, row)))
            features.person_accounts.after_save(self, row, None)
            if od.lower == "contentversion":
                content.after_version_insert(tx, row)
            if od.lower == "collaborationgroup":
                feeds.after_group_insert(tx, row)
            saved.append(i)
        if self._rolled_back(sp):
            return None
        return self._after_triggers(sp, "insert", saved, [canonical(od, rows[i]) for i in saved], None,
                                    lambda i: rows[i]["id"], created_flag)

    def _auto_number(self, row: dict[str, Any]) -> None:
        for fd in self.od.fields.values():
            if fd.auto_number and row.get(fd.lower) is None:
                n = self.tx.store._next_numbers(self.tx._conn, f"{self.od.lower}.{fd.lower}", 1)
                fmt = fd.raw.get("displayFormat") or "{0}"
                m = re.search(r"\{(0+)\}", fmt)
                row[fd.lower] = fmt.replace(m.group(0), str(n).rjust(len(m.group(1)), "0")) if m else f"{fmt}{n}"

    def _write_insert(self, row: dict[str, Any]) -> None:
        fds = [fd for fd in self.od.fields.values() if fd.lower != "isdeleted"]
        cols = ", ".join(["isdeleted"] + [fd.column for fd in fds])
        marks = ", ".join("?" * (len(fds) + 1))
        params = [0] + [to_db(fd, row.get(fd.lower)) for fd in fds]
        try:
            self.tx.execute(f"INSERT INTO {self.od.table} ({cols}) VALUES ({marks})", params)
        except Exception as exc:  # sqlite3.IntegrityError from a unique index: report like Salesforce
            import sqlite3

            if isinstance(exc, sqlite3.IntegrityError):
                raise SalesforceError("DUPLICATE_VALUE", f"duplicate value found: {exc}") from exc
            raise

    # -- update -----------------------------------------------------------------------------------
    def update(self, indices: list[int], prepared: list[dict[str, Any] | None], ids: list[str | None],
               created_flag: bool | None = None) -> None:
        olds = load_rows(self.tx, self.od, [ids[i] for i in indices if ids[i]])  # type: ignore[misc]
        locked = locks.refused(self.tx, self.od, list(olds))  # approval locks (locks.py)
        live: list[int] = []
        for i in indices:
            rid = ids[i]
            old = olds.get(rid) if rid else None
            if old is None:
                self.fail(i, [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id")])
            elif old.get("isdeleted"):
                self.fail(i, [_err("ENTITY_IS_DELETED", "entity is deleted", "Id")])
            elif rid in locked:
                self.fail(i, [locks.LOCKED])
            elif self.od.name == "Lead" and old.get("isconverted") and rid not in self.tx.converting_leads:
                self.fail(i, [_err("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", "Id")])
            else:
                live.append(i)
        if self.failed and self.all_or_none:
            return
        for start in range(0, len(live), CHUNK):
            if self.failed and self.all_or_none:
                return
            self._update_chunk(live[start:start + CHUNK], prepared, ids, olds, created_flag)

    def _update_chunk(self, chunk: list[int], prepared: list[dict[str, Any] | None], ids: list[str | None],
                      olds: dict[str, dict[str, Any]], created_flag: bool | None) -> None:
        self._in_attempts(chunk, lambda pending: self._update_attempt(pending, prepared, ids, created_flag))

    def _update_attempt(self, pending: list[int], prepared: list[dict[str, Any] | None], ids: list[str | None],
                        created_flag: bool | None) -> list[int] | None:
        tx, od = self.tx, self.od
        sp = tx.savepoint()
        # re-read old rows (a trigger earlier in this statement may have changed or deleted them)
        fresh = load_rows(tx, od, [ids[i] for i in pending])  # type: ignore[misc]
        for i in [i for i in pending if ids[i] not in fresh or fresh[ids[i]].get("isdeleted")]:
            self.fail(i, [_err("ENTITY_IS_DELETED", "entity is deleted", "Id")])
            pending.remove(i)
        if not pending or (self.failed and self.all_or_none):
            tx.release(sp)
            return None
        rows: dict[int, dict[str, Any]] = {}
        for i in pending:
            old = fresh[ids[i]]  # type: ignore[index]
            row = dict(old)
            row.update(prepared[i] or {})
            self._derive(row, "update")
            rows[i] = row
        old_views = [canonical(od, fresh[ids[i]]) for i in pending]  # type: ignore[index]
        ok = self._before_triggers("update", pending, rows, old_views)
        if self._rolled_back(sp):
            return None
        now = tx.now()
        saved: list[int] = []
        for i in ok:
            row, old = rows[i], fresh[ids[i]]  # type: ignore[index]
            try:
                features.person_accounts.before_save(self, row, prepared[i] or {}, old)
                if self.sharing is not None:
                    self.sharing.before_save(self, row, prepared[i] or {}, old)
                self._validate(row, old, row["id"])
            except RecordFailure as f:
                self.fail(i, f.errors)
                continue
            for f in ("lastmodifieddate", "systemmodstamp"):
                if f in od.fields and not (self.read_only == "write" and f in (prepared[i] or {})):
                    row[f] = now
            if "lastmodifiedbyid" in od.fields and not (self.read_only == "write" and "lastmodifiedbyid" in (prepared[i] or {})):
                row["lastmodifiedbyid"] = tx.user_id
            changed = [fd for fd in od.fields.values()
                       if fd.lower not in ("id", "isdeleted") and row.get(fd.lower) != old.get(fd.lower)]
            if changed:
                sets = ", ".join(f"{fd.column} = ?" for fd in changed)
                tx.execute(f"UPDATE {od.table} SET {sets} WHERE id = ?",
                           [to_db(fd, row.get(fd.lower)) for fd in changed] + [row["id"]])
                tx.record_change(RecordChange(UPDATE, od.name, row["id"], {fd.name: row.get(fd.lower) for fd in changed},
                                              tuple(fd.name for fd in changed)))
            features.person_accounts.after_save(self, row, old)
            if self.sharing is not None:
                self.sharing.after_save(self, row, old)
            saved.append(i)
        if self._rolled_back(sp):
            return None
        after_views = [canonical(od, rows[i]) for i in saved]
        after_old = [canonical(od, fresh[ids[i]]) for i in saved]  # type: ignore[index]
        return self._after_triggers(sp, "update", saved, after_views, after_old, lambda i: rows[i]["id"],
                                    created_flag)

    # -- delete -----------------------------------------------------------------------------------
    def delete(self, indices: list[int], ids: list[str]) -> None:
        tx, od = self.tx, self.od
        olds = load_rows(tx, od, [ids[i] for i in indices])
        locked = locks.refused(tx, od, list(olds))  # approval locks (locks.py)
        live = []
        for i in indices:
            old = olds.get(ids[i])
            if old is None:
                self.fail(i, [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")])
            elif old.get("isdeleted"):
                self.fail(i, [_err("ENTITY_IS_DELETED", "entity is deleted")])
            elif ids[i] in locked:
                self.fail(i, [locks.LOCKED])
            elif (refused := features.person_accounts.refuse_delete(self, old)) is not None:
                self.fail(i, [refused])
            elif self.sharing is not None and (refused := self.sharing.refuse_delete(old)) is not None:
                self.fail(i, [refused])
            else:
                live.append(i)
        chunk_size = tx.store.delete_trigger_chunk or max(1, len(live))
        for start in range(0, len(live), chunk_size):
            if self.failed and self.all_or_none:
                return
            self._in_attempts(live[start:start + chunk_size], lambda pending: self._delete_attempt(pending, ids, olds))

    def _delete_attempt(self, pending: list[int], ids: list[str], olds: dict[str, dict[str, Any]]
                        ) -> list[int] | None:
        tx, od = self.tx, self.od
        sp = tx.savepoint()
        old_views = [canonical(od, olds[ids[i]]) for i in pending]
        errs = self._fire("before", "delete", pending, None, old_views)
        ok = []
        for k, i in enumerate(pending):
            if k in errs:
                self.fail(i, errs[k])
            else:
                ok.append(i)
        if self._rolled_back(sp):
            return None
        now = tx.now()
        for i in ok:
            self._soft_delete(od, ids[i], now)
        after_old = [canonical(od, olds[ids[i]]) for i in ok]
        return self._after_triggers(sp, "delete", ok, None, after_old, lambda i: ids[i])

    def _soft_delete(self, od: ObjectDef, rid: str, now: Any, root: str | None = None) -> None:
        """Set IsDeleted, cascade to master-detail children and clear lookups to the record; the Recycle
        Bin (``recycle.py``) remembers the cascade and the cleared lookups under ``root`` (the record the
        statement named) for ``undelete``."""
        tx = self.tx
        root = root or rid
        stamp = to_db(od.fields["systemmodstamp"], now) if "systemmodstamp" in od.fields else None
        if stamp is not None:
            tx.execute(f"UPDATE {od.table} SET isdeleted = 1, systemmodstamp = ? WHERE id = ?", (stamp, rid))
        else:
            tx.execute(f"UPDATE {od.table} SET isdeleted = 1 WHERE id = ?", (rid,))
        tx.record_change(RecordChange(DELETE, od.name, rid))
        features.person_accounts.on_delete(tx, od, rid, now)
        for child, fd in tx.schema.children(od):
            if fd.cascade_delete:
                kids = [r[0] for r in tx.execute(
                    f"SELECT id FROM {child.table} WHERE {fd.column} = ? AND isdeleted = 0", (rid,))]
                for kid in kids:
                    recycle.remember(tx, root, recycle.CASCADE, child.name, kid)
                    self._soft_delete(child, kid, now, root)
            elif fd.nillable and fd.lower not in ("createdbyid", "lastmodifiedbyid", "ownerid"):
                cleared = [r[0] for r in tx.execute(
                    f"SELECT id FROM {child.table} WHERE {fd.column} = ? AND isdeleted = 0", (rid,))]
                for kid in cleared:
                    recycle.remember(tx, root, recycle.LOOKUP, child.name, kid, fd.name)
                if cleared:
                    tx.execute(f"UPDATE {child.table} SET {fd.column} = NULL WHERE {fd.column} = ? AND isdeleted = 0",
                               (rid,))

    # -- undelete ---------------------------------------------------------------------------------
    def undelete(self, indices: list[int], ids: list[str]) -> None:
        tx, od = self.tx, self.od
        olds = load_rows(tx, od, [ids[i] for i in indices])
        bin_ = []
        for i in indices:
            old = olds.get(ids[i])
            if old is None:
                self.fail(i, [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")])
            elif not old.get("isdeleted") or recycle.cascaded(tx, ids[i]) or recycle.purged(tx, ids[i]) \
                    or self._master_deleted(old):
                self.fail(i, [_err("UNDELETE_FAILED", "Entity is not in the recycle bin")])
            else:
                bin_.append(i)
        for start in range(0, len(bin_), CHUNK):
            if self.failed and self.all_or_none:
                return
            self._in_attempts(bin_[start:start + CHUNK], lambda pending: self._undelete_attempt(pending, ids, olds))

    def _master_deleted(self, row: dict[str, Any]) -> bool:
        """A detail record whose master is deleted cannot come back on its own (Salesforce hard-deletes it)."""
        for fd in self.od.fields.values():
            if fd.cascade_delete and row.get(fd.lower):
                parent = self.tx.schema.by_key_prefix(str(row[fd.lower])[:3])
                if parent is not None and self.tx.execute(
                        f"SELECT 1 FROM {parent.table} WHERE id = ? AND isdeleted = 0", (row[fd.lower],)).fetchone() is None:
                    return True
        return False

    def _undelete_attempt(self, pending: list[int], ids: list[str], olds: dict[str, dict[str, Any]]
                          ) -> list[int] | None:
        tx, od = self.tx, self.od
        sp = tx.savepoint()
        now = tx.now()
        ok = []
        for i in pending:
            try:
                self._restore(od, ids[i], now)
            except RecordFailure as f:
                self.fail(i, f.errors)
                continue
            recycle.forget(tx, ids[i])
            ok.append(i)
        if self._rolled_back(sp):
            return None
        rows = load_rows(tx, od, [ids[i] for i in ok])
        new_views = [canonical(od, rows[ids[i]]) for i in ok]
        return self._after_triggers(sp, "undelete", ok, new_views, None, lambda i: ids[i])

    def _restore(self, od: ObjectDef, rid: str, now: Any) -> None:
        """Clear IsDeleted of the record, of the records its delete cascaded to, and refill the lookups it
        cleared that are still empty. A unique value another live record took meanwhile fails it."""
        tx = self.tx
        self._undelete_row(od, rid, now)
        for kind, sobject, record_id, field in recycle.entries(tx, rid):
            target = tx.schema.find(sobject)
            if target is None:
                continue
            if kind == recycle.CASCADE:
                self._undelete_row(target, record_id, now)
            elif field is not None and target.find_field(field) is not None:
                column = target.field(field).column
                tx.execute(f"UPDATE {target.table} SET {column} = ? WHERE id = ? AND {column} IS NULL AND isdeleted = 0",
                           (rid, record_id))

    def _undelete_row(self, od: ObjectDef, rid: str, now: Any) -> None:
        tx = self.tx
        stamp = to_db(od.fields["systemmodstamp"], now) if "systemmodstamp" in od.fields else None
        try:
            if stamp is not None:
                tx.execute(f"UPDATE {od.table} SET isdeleted = 0, systemmodstamp = ? WHERE id = ?", (stamp, rid))
            else:
                tx.execute(f"UPDATE {od.table} SET isdeleted = 0 WHERE id = ?", (rid,))
        except sqlite3.IntegrityError:
            raise RecordFailure([_err("DUPLICATE_VALUE", f"duplicate value found: a live {od.name} record holds a "
                                      f"unique value of {rid}")]) from None
        row = load_rows(tx, od, [rid])[rid]
        tx.record_change(RecordChange(UNDELETE, od.name, rid, canonical(od, row)))


# -- entry points ---------------------------------------------------------------------------------------
def _finish(run_failed: bool, all_or_none: bool, results: list[SaveResult | None], sp: Any, tx: DataTransaction
            ) -> list[SaveResult]:
    if run_failed and all_or_none:
        tx.rollback_to(sp)
        out = []
        for r in results:
            if r is not None and not r.success:
                out.append(r)
            else:
                out.append(SaveResult(id=None, success=False, errors=[ROLLED_BACK],
                                      created=r.created if r is not None else None))
        return out
    return [r if r is not None else SaveResult(id=None, success=False, errors=[ROLLED_BACK]) for r in results]


def insert(tx: DataTransaction, sobject: str, records: Sequence[Mapping[str, Any]], all_or_none: bool,
           read_only: ReadOnlyFields) -> list[SaveResult]:
    od = tx.schema.get(sobject)
    tx.begin_write()
    tx.limits.count_dml(len(records))
    results: list[SaveResult | None] = [None] * len(records)
    with _statement(tx) as sp:
        run = _Run(tx, od, all_or_none, results, read_only)
        if not od.raw.get("createable", True) and read_only != "write":
            for i in range(len(records)):
                run.fail(i, [_err("INVALID_TYPE", f"entity type cannot be inserted: {od.name}")])
            return _finish(True, all_or_none, results, sp, tx)
        prepared: list[dict[str, Any] | None] = []
        for i, rec in enumerate(records):
            try:
                prepared.append(prepare(tx, od, rec, "insert", read_only))
            except RecordFailure as f:
                prepared.append(None)
                run.fail(i, f.errors)
        if not (run.failed and all_or_none):
            run.insert([i for i in range(len(records)) if results[i] is None], prepared)
        return _finish(run.failed, all_or_none, results, sp, tx)


def update(tx: DataTransaction, sobject: str | None, records: Sequence[Mapping[str, Any]], all_or_none: bool,
           read_only: ReadOnlyFields) -> list[SaveResult]:
    tx.begin_write()
    tx.limits.count_dml(len(records))
    results: list[SaveResult | None] = [None] * len(records)
    ids: list[str | None] = [None] * len(records)
    groups: dict[str, list[int]] = {}
    pre_errors: dict[int, list[RecordError]] = {}
    fixed = tx.schema.get(sobject) if sobject else None
    seen: set[str] = set()
    for i, rec in enumerate(records):
        raw_id = next((v for k, v in rec.items() if k.lower() == "id"), None) if isinstance(rec, Mapping) else None
        if not raw_id:
            pre_errors[i] = [_err("MISSING_ARGUMENT", "Id not specified in an update call", "Id")]
            continue
        if not is_valid_id(raw_id):
            pre_errors[i] = [_err("MALFORMED_ID", f"Record ID: id value of incorrect type: {raw_id}", "Id")]
            continue
        rid = to18(raw_id)
        od = fixed or tx.schema.by_key_prefix(rid[:3])
        if od is None or od.key_prefix != rid[:3]:
            pre_errors[i] = [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id")]
            continue
        if rid in seen:
            pre_errors[i] = [_err("DUPLICATE_VALUE", f"Duplicate id in list: {rid}", "Id")]
            continue
        seen.add(rid)
        ids[i] = rid
        groups.setdefault(od.lower, []).append(i)
    with _statement(tx) as sp:
        failed = False
        for i, errs in pre_errors.items():
            results[i] = SaveResult(id=None, success=False, errors=errs)
            failed = True
        for lower, idx in groups.items():
            if failed and all_or_none:
                break
            od = tx.schema.get(lower)
            run = _Run(tx, od, all_or_none, results, read_only)
            prepared: list[dict[str, Any] | None] = [None] * len(records)
            live = []
            for i in idx:
                try:
                    prepared[i] = prepare(tx, od, records[i], "update", read_only)
                    live.append(i)
                except RecordFailure as f:
                    run.fail(i, f.errors)
            if not (run.failed and all_or_none):
                run.update(live, prepared, ids)
            for i in idx:
                if results[i] is not None and not results[i].success:  # type: ignore[union-attr]
                    results[i] = SaveResult(id=ids[i], success=False, errors=results[i].errors)  # type: ignore[union-attr]
            failed = failed or run.failed
        return _finish(failed, all_or_none, results, sp, tx)


def upsert(tx: DataTransaction, sobject: str, records: Sequence[Mapping[str, Any]], external_id_field: str,
           all_or_none: bool, read_only: ReadOnlyFields) -> list[SaveResult]:
    od = tx.schema.get(sobject)
    key_fd = od.find_field(external_id_field)
    if key_fd is None:
        raise NotFoundError(f"Provided external ID field does not exist or is not accessible: {external_id_field}")
    if key_fd.lower != "id" and not (key_fd.external_id or key_fd.raw.get("idLookup")):
        raise InvalidFieldError(f"Field {key_fd.name} is not an External ID or Id", [key_fd.name])
    tx.begin_write()
    tx.limits.count_dml(len(records))
    results: list[SaveResult | None] = [None] * len(records)
    with _statement(tx) as sp:
        run = _Run(tx, od, all_or_none, results, read_only)
        prepared: list[dict[str, Any] | None] = [None] * len(records)
        ids: list[str | None] = [None] * len(records)
        to_insert: list[int] = []
        to_update: list[int] = []
        by_value: dict[Any, list[int]] = {}
        for i, rec in enumerate(records):
            if not isinstance(rec, Mapping):
                run.fail(i, [_err("INVALID_FIELD", "record must be an object")])
                continue
            raw = next((v for k, v in rec.items() if k.lower() == key_fd.lower), None)
            try:
                value = coerce(key_fd, raw)
            except ValueProblem as p:
                run.fail(i, [_err(p.status_code, p.message, p.field_name)])
                continue
            if value is None and key_fd.lower != "id":
                run.fail(i, [_err("MISSING_ARGUMENT", f"{key_fd.name} not specified", key_fd.name)])
                continue
            norm = value.lower() if isinstance(value, str) and not key_fd.case_sensitive and key_fd.lower != "id" else value
            if value is not None:
                by_value.setdefault(norm, []).append(i)
            body = {k: v for k, v in rec.items() if k.lower() != "id"}
            try:
                if value is None:
                    prepared[i] = prepare(tx, od, body, "insert", read_only)
                    to_insert.append(i)
                    continue
                if key_fd.lower == "id":
                    matches = [value] if tx.execute(f"SELECT 1 FROM {od.table} WHERE id = ? AND isdeleted = 0",
                                                    (value,)).fetchone() else []
                    if not matches:
                        run.fail(i, [_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "Id")])
                        continue
                else:
                    matches = [r[0] for r in tx.execute(
                        f"SELECT id FROM {od.table} WHERE {key_fd.column} = ? AND isdeleted = 0 ORDER BY id LIMIT 200",
                        (to_db(key_fd, value),))]
                if len(matches) > 1:
                    results[i] = SaveResult(id=None, success=False, matches=matches, errors=[_err(
                        "DUPLICATE_EXTERNAL_ID", f"{key_fd.name}: more than one record found for external id field: "
                        f"[{', '.join(matches)}]", key_fd.name)])
                    run.failed = True
                    continue
                if matches:
                    ids[i] = matches[0]
                    upd = {k: v for k, v in body.items() if k.lower() != key_fd.lower}
                    prepared[i] = prepare(tx, od, upd, "update", read_only)
                    to_update.append(i)
                else:
                    prepared[i] = prepare(tx, od, body, "insert", read_only)
                    to_insert.append(i)
            except RecordFailure as f:
                run.fail(i, f.errors)
        for norm, idx in by_value.items():
            if len(idx) > 1:
                for i in idx:
                    raw = next((v for k, v in records[i].items() if k.lower() == key_fd.lower), None)
                    run.fail(i, [_err("DUPLICATE_EXTERNAL_ID", f"Duplicate external id specified: {raw}",
                                      key_fd.name)])
                to_insert = [i for i in to_insert if i not in idx]
                to_update = [i for i in to_update if i not in idx]
        if not (run.failed and all_or_none):
            run.insert(to_insert, prepared, created_flag=True)
        if not (run.failed and all_or_none):
            run.update(to_update, prepared, ids, created_flag=False)
        out = _finish(run.failed, all_or_none, results, sp, tx)
        for i, r in enumerate(out):
            if r.created is None and r.success:
                r.created = i in to_insert
        return out


def _by_id(tx: DataTransaction, ids_in: Sequence[str], all_or_none: bool, allowed: str, verb: str,
           run_group: Callable[["_Run", list[int], list[str]], None]) -> list[SaveResult]:
    """A statement over ids (delete, undelete): ids checked, grouped by object, each group run while the
    object's describe flag ``allowed`` (``deletable``/``undeletable``) permits, allOrNone applied."""
    tx.begin_write()
    tx.limits.count_dml(len(ids_in))
    results: list[SaveResult | None] = [None] * len(ids_in)
    ids: list[str] = [""] * len(ids_in)
    groups: dict[str, list[int]] = {}
    failed = False
    seen: set[str] = set()
    for i, raw in enumerate(ids_in):
        if not isinstance(raw, str) or not is_valid_id(raw):
            results[i] = SaveResult(id=None, success=False,
                                    errors=[_err("MALFORMED_ID", f"malformed id {raw}")])
            failed = True
            continue
        rid = to18(raw)
        od = tx.schema.by_key_prefix(rid[:3])
        if od is None:
            results[i] = SaveResult(id=None, success=False,
                                    errors=[_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")])
            failed = True
            continue
        if rid in seen:
            results[i] = SaveResult(id=rid, success=False, errors=[_err("DUPLICATE_VALUE", f"Duplicate id in list: {rid}")])
            failed = True
            continue
        seen.add(rid)
        ids[i] = rid
        groups.setdefault(od.lower, []).append(i)
    with _statement(tx) as sp:
        for lower, idx in groups.items():
            if failed and all_or_none:
                break
            od = tx.schema.get(lower)
            run = _Run(tx, od, all_or_none, results, "reject")
            if not od.raw.get(allowed, allowed == "deletable"):
                for i in idx:
                    run.fail(i, [_err("INVALID_TYPE", f"entity type cannot be {verb}: {od.name}")])
            else:
                run_group(run, idx, ids)
            for i in idx:
                r = results[i]
                if r is not None and not r.success:
                    results[i] = SaveResult(id=ids[i], success=False, errors=r.errors)
            failed = failed or run.failed
        return _finish(failed, all_or_none, results, sp, tx)


def delete(tx: DataTransaction, ids_in: Sequence[str], all_or_none: bool) -> list[SaveResult]:
    return _by_id(tx, ids_in, all_or_none, "deletable", "deleted", lambda run, idx, ids: run.delete(idx, ids))


def undelete(tx: DataTransaction, ids_in: Sequence[str], all_or_none: bool) -> list[SaveResult]:
    """Restore records from the Recycle Bin (``recycle.py``); ``after undelete`` triggers fire."""
    return _by_id(tx, ids_in, all_or_none, "undeletable", "undeleted", lambda run, idx, ids: run.undelete(idx, ids))


def empty_recycle_bin(tx: DataTransaction, ids_in: Sequence[str]) -> list[SaveResult]:
    """Take records out of the Recycle Bin for good (with what their delete cascaded to); each id on its
    own. As Salesforce documents, the rows stay queryable with ALL ROWS / queryAll for some time
    (``Store.emptied_queryable``, ``recycle.py``). An id not in the bin fails with
    ``INVALID_CROSS_REFERENCE_KEY`` "Entity is not in the recycle bin" (the status code is our choice:
    Salesforce does not document it)."""
    tx.begin_write()
    tx.limits.count_dml(len(ids_in))
    now = tx.store.now()
    recycle.remove_purged(tx, (now - tx.store.emptied_queryable).isoformat())
    at = now.isoformat()
    out: list[SaveResult] = []
    for raw in ids_in:
        if not isinstance(raw, str) or not is_valid_id(raw):
            out.append(SaveResult(id=None, success=False, errors=[_err("MALFORMED_ID", f"malformed id {raw}")]))
            continue
        rid = to18(raw)
        od = tx.schema.by_key_prefix(rid[:3])
        row = tx.execute(f"SELECT isdeleted FROM {od.table} WHERE id = ?", (rid,)).fetchone() if od else None
        if row is None or not row[0] or recycle.cascaded(tx, rid) or recycle.purged(tx, rid):
            out.append(SaveResult(id=rid, success=False, errors=[_err("INVALID_CROSS_REFERENCE_KEY",
                                                                      "Entity is not in the recycle bin")]))
            continue
        for kind, sobject, record_id, _field in recycle.entries(tx, rid):
            target = tx.schema.find(sobject)
            if kind == recycle.CASCADE and target is not None:
                recycle.purge(tx, target.table, record_id, at)
        recycle.purge(tx, od.table, rid, at)  # type: ignore[union-attr]
        recycle.forget(tx, rid)
        out.append(SaveResult(id=rid, success=True))
    return out


# -- reads ----------------------------------------------------------------------------------------------
def record_url(tx: DataTransaction, od: ObjectDef, rid: str) -> str:
    return f"/services/data/v{tx.store.api_version}/sobjects/{od.name}/{rid}"


def retrieve(tx: DataTransaction, sobject: str, record_id: str, fields: Sequence[str] | None, typed: bool
             ) -> dict[str, Any] | None:
    od = tx.schema.get(sobject)
    if not is_valid_id(record_id):
        return None
    rid = to18(record_id)
    chosen = [od.field(f) for f in fields] if fields else od.all_fields
    rows = load_rows(tx, od, [rid], include_deleted=False)
    row = rows.get(rid)
    if row is None:
        return None
    out: dict[str, Any] = {"attributes": {"type": od.name, "url": record_url(tx, od, rid)}}
    for fd in chosen:
        v = row.get(fd.lower)
        if fd.type in COMPOUND_TYPES:
            out[fd.name] = compound_value(od, fd, row, typed)
        elif fd.type == "base64" and v is not None and not typed:
            out[fd.name] = base64_url(out["attributes"]["url"], fd)
        else:
            out[fd.name] = v if typed else to_json(fd, v)
    return out


def compound_value(od: ObjectDef, compound: FieldDef, row: Mapping[str, Any], typed: bool) -> Any:
    """A compound field's value from a stored row's typed values (REST JSON object, or typed)."""
    parts = {key: row.get(fd.lower) for key, fd in od.compound_parts(compound)}
    if typed:
        return typed_value(compound, parts)
    return json_value(compound, {key: to_json(fd, parts[key]) for key, fd in od.compound_parts(compound)})


def find_ids_by_field(tx: DataTransaction, sobject: str, field: str, value: Any) -> list[str]:
    od = tx.schema.get(sobject)
    fd = od.find_field(field)
    if fd is None or fd.type in COMPOUND_TYPES:
        raise NotFoundError(f"Provided external ID field does not exist or is not accessible: {field}")
    try:
        typed = coerce(fd, value)
    except ValueProblem:
        return []
    if typed is None:
        return []
    return [r[0] for r in tx.execute(
        f"SELECT id FROM {od.table} WHERE {fd.column} = ? AND isdeleted = 0 ORDER BY id", (to_db(fd, typed),))]
