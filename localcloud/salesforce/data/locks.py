"""Approval-process record locks (Apex ``Approval.lock/unlock/isLocked``; Apex Reference, Approval Class).

A lock is a row of ``_record_locks`` in the store's SQLite file, so it commits and rolls back with the
data, as Salesforce's locks do ("treated as DML ... rolled back along with the rest of your
transaction"). Salesforce exposes locks through no object of its own (``Approval.isLocked`` and the
approval's ProcessInstance rows), so neither SOQL nor REST lists them here.

A locked record refuses ``update`` and ``delete`` (REST, SOAP, Bulk and Apex DML alike: the check is in
``dml.py``) with ``ENTITY_IS_LOCKED`` "the entity is locked for editing", unless the acting user may edit
locked records. Salesforce: "Salesforce admins can edit locked records" and, where the approval process's
``recordEditability`` is AdminOrCurrentApprover, the user its pending request is assigned to (a lock set by
``Approval.lock`` has no approver; a queue as approver is not expanded to its members). Setting (environment)
``ECBRIDGE_ORG_LOCKED_RECORD_EDITORS``:
  ``admins`` (default): users whose profile is 'System Administrator' and users with Modify All on the
  object (``ObjectPermissions.PermissionsModifyAllRecords`` of an assigned permission set) edit locked
  records; everyone else is refused;
  ``everyone``: locks refuse nothing (they are only recorded).
The acting user is the transaction's ``acting_user_id`` (Apex sets it to the running user, ``System.runAs``)
or else its ``user_id`` (the REST/SOAP session's user).

Choices (Salesforce documents no result for them): locking a locked record and unlocking an unlocked one
succeed and change nothing; a deleted record answers ``ENTITY_IS_DELETED``, an id of no record
``INVALID_CROSS_REFERENCE_KEY``.
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Sequence

from .definitions import APPROVAL_PROCESS, definition
from .errors import ROLLED_BACK, RecordError
from .ids import is_valid_id, to18
from .results import SaveResult
from .schema import ObjectDef
from .txn import DataTransaction

ENV_EDITORS = "ECBRIDGE_ORG_LOCKED_RECORD_EDITORS"
ADMIN_PROFILE = "System Administrator"
LOCKED = RecordError("ENTITY_IS_LOCKED", "the entity is locked for editing")

DDL = ("CREATE TABLE IF NOT EXISTS _record_locks (record_id TEXT PRIMARY KEY, sobject TEXT NOT NULL, "
       "locked_by TEXT, locked_at TEXT)",)


def ensure_table(conn: sqlite3.Connection) -> None:
    for statement in DDL:
        conn.execute(statement)


def locked_ids(tx: DataTransaction, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` (18-character) are locked."""
    ids = [i for i in ids if i]
    out: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.update(r[0] for r in tx.execute(f"SELECT record_id FROM _record_locks WHERE record_id IN ({marks})", chunk))
    return out


def acting_user(tx: DataTransaction) -> str:
    return getattr(tx, "acting_user_id", None) or tx.user_id


def may_edit_locked(tx: DataTransaction, od: ObjectDef) -> bool:
    """Whether the acting user edits locked records of ``od`` (see the module's setting)."""
    if os.environ.get(ENV_EDITORS, "admins").strip().lower() == "everyone":
        return True
    user = acting_user(tx)
    rows = tx.query("SELECT Profile.Name FROM User WHERE Id = :u", {"u": user}).records
    profile = (rows[0].get("Profile") or {}).get("Name") if rows else None
    if profile == ADMIN_PROFILE:
        return True
    assigned = [r["PermissionSetId"] for r in tx.query(
        "SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = :u", {"u": user}).records]
    if not assigned:
        return False
    return bool(tx.query("SELECT Id FROM ObjectPermissions WHERE SobjectType = :o AND PermissionsModifyAllRecords = true "
                         "AND ParentId IN :sets", {"o": od.name, "sets": assigned}).records)


def refused(tx: DataTransaction, od: ObjectDef, ids: Sequence[str]) -> set[str]:
    """The ids among ``ids`` that are locked against the acting user (empty when none is locked)."""
    if getattr(tx, "locks_bypassed", False):  # approval field updates write the records they lock
        return set()
    locked = locked_ids(tx, ids)
    if not locked or may_edit_locked(tx, od):
        return set()
    return locked - current_approver_of(tx, locked)


def current_approver_of(tx: DataTransaction, ids: set[str]) -> set[str]:
    """The records among ``ids`` whose pending approval request is assigned to the acting user under a process
    with ``recordEditability`` AdminOrCurrentApprover: that approver edits them too (Approval Class usage)."""
    if tx.schema.find("ProcessInstanceWorkitem") is None:
        return set()
    rows = tx.query("SELECT ProcessInstance.TargetObjectId, ProcessInstance.ProcessDefinitionId FROM "
                    "ProcessInstanceWorkitem WHERE ActorId = :u AND ProcessInstance.Status = 'Pending' AND "
                    "ProcessInstance.TargetObjectId IN :ids", {"u": acting_user(tx), "ids": sorted(ids)}).records
    out = set()
    for row in rows:
        instance = row.get("ProcessInstance") or {}
        process = definition(tx, APPROVAL_PROCESS, str(instance.get("ProcessDefinitionId") or ""))
        if process and process.get("recordEditability") == "AdminOrCurrentApprover":
            out.add(instance["TargetObjectId"])
    return out


def set_locks(tx: DataTransaction, ids_in: Sequence[Any], lock: bool, all_or_none: bool) -> list[SaveResult]:
    """Lock (or unlock) records, one result per id in order; with ``all_or_none`` one failure changes nothing."""
    tx.begin_write()
    results: list[SaveResult] = []
    todo: list[tuple[str, str]] = []
    for raw in ids_in:
        rid = str(raw) if raw is not None else ""
        if not is_valid_id(rid):
            results.append(SaveResult(None, False, [RecordError("MALFORMED_ID", f"malformed id {raw}")]))
            continue
        rid = to18(rid)
        od = tx.schema.by_key_prefix(rid[:3])
        row = tx.execute(f"SELECT isdeleted FROM {od.table} WHERE id = ?", (rid,)).fetchone() if od else None
        if row is None:
            results.append(SaveResult(rid, False, [RecordError("INVALID_CROSS_REFERENCE_KEY",
                                                               "invalid cross reference id")]))
        elif row[0]:
            results.append(SaveResult(rid, False, [RecordError("ENTITY_IS_DELETED", "entity is deleted")]))
        else:
            results.append(SaveResult(rid, True))
            todo.append((rid, od.name))  # type: ignore[union-attr]
    if all_or_none and any(not r.success for r in results):
        return [r if not r.success else SaveResult(r.id, False, [ROLLED_BACK]) for r in results]
    now = tx.now().isoformat()
    for rid, sobject in todo:
        if lock:
            tx.execute("INSERT OR IGNORE INTO _record_locks (record_id, sobject, locked_by, locked_at) "
                       "VALUES (?, ?, ?, ?)", (rid, sobject, acting_user(tx), now))
        else:
            tx.execute("DELETE FROM _record_locks WHERE record_id = ?", (rid,))
    return results


APPROVAL_ROWS = ("ProcessInstanceWorkitem", "ProcessInstanceStep", "ProcessInstance")


def forget_approvals(tx: DataTransaction) -> None:
    """Remove every record lock and approval run (ProcessInstance rows, read-only to the API): an Apex test
    run's scratch copy of the org starts without the org's approvals, as it starts without its records."""
    tx.execute("DELETE FROM _record_locks")
    for name in APPROVAL_ROWS:
        od = tx.schema.find(name)
        if od is not None:
            tx.execute(f"DELETE FROM {od.table}")


__all__ = ["ENV_EDITORS", "LOCKED", "ensure_table", "forget_approvals", "locked_ids", "may_edit_locked", "refused",
           "set_locks"]
