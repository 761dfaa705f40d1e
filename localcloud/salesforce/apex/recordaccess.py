"""``UserRecordAccess``: the access one user has to given records, computed when Apex queries it.

Salesforce computes the view from the user's object permissions and record sharing; a query must filter
on ``UserId =`` and on ``RecordId =`` or ``RecordId IN``. Before such a query runs, the rows of that
user and those records are (re)written in the transaction (earlier rows of the user are reused or
emptied: the view's rows cannot be deleted), so the SOQL engine then filters, orders and
selects them as any table. How each row is computed (the local org models no sharing rules, role
hierarchy or org-wide defaults: every record is shared Read/Write with users whose object permissions
allow it):

- a System Administrator (Modify All Data): Read, Edit, Delete (where the object can be deleted),
  Transfer (where it has an owner), All;
- another user (profile baseline + permission sets, ``access.py``): Read and Edit per the object's
  Read/Edit permissions; Delete, Transfer and All only on records the user owns (``OwnerId``) or on
  objects the user has "Modify All" on; an object without ``OwnerId`` (a detail of a master-detail)
  follows the object permissions alone;
- ``User`` records are never deletable (Salesforce deactivates users); a record id that does not exist
  (or is deleted) has no row.

``MaxAccessLevel`` is the highest of None, Read, Edit, Delete, Transfer, All the row has.
A query without both filters fails with a ``QueryException`` naming them. REST/SOQL outside Apex does
not compute the view (it stays empty there).
"""
from __future__ import annotations

from typing import Any, Callable

from . import access

MISSING_FILTER = "UserRecordAccess: the query must filter on UserId = and on RecordId = or RecordId IN " \
                 "(the local org computes the rows from them)"
UNDELETABLE = frozenset({"user"})
LEVELS = ("All", "Transfer", "Delete", "Edit", "Read")


def is_view(query: Any) -> bool:
    return (getattr(query, "sobject", "") or "").lower() == "userrecordaccess"


def prepare(dtx: Any, query: Any, resolve: Callable[[Any], Any],
            source: access.DefinitionSource | None) -> str | None:
    """Write the rows the query asks for; returns an error message when the filters are missing."""
    user_id, record_ids = _filters(query.where, resolve)
    if not user_id or record_ids is None:
        return MISSING_FILTER
    rows = compute(dtx, user_id, record_ids, source)
    # the view's rows cannot be deleted (as in Salesforce): the user's earlier rows are reused, and the
    # ones left over are emptied (RecordId null, no access), so no query matches them
    held = [r["Id"] for r in dtx.query("SELECT Id FROM UserRecordAccess WHERE UserId = :u ORDER BY Id",
                                       {"u": user_id}, page_size=1_000_000).records]
    empty = {"RecordId": None, "HasReadAccess": False, "HasEditAccess": False, "HasDeleteAccess": False,
             "HasTransferAccess": False, "HasAllAccess": False, "MaxAccessLevel": "None"}
    updates = [{**row, "Id": rid} for row, rid in zip(rows, held)]
    updates += [{**empty, "Id": rid} for rid in held[len(rows):]]
    for results in (dtx.update("UserRecordAccess", updates, read_only_fields="write") if updates else [],
                    dtx.insert("UserRecordAccess", rows[len(held):], read_only_fields="write")
                    if len(rows) > len(held) else []):
        failed = [r for r in results if not r.success]
        if failed:
            raise RuntimeError("UserRecordAccess rows could not be written: "
                               + "; ".join(e.message for e in failed[0].errors))
    return None


def compute(dtx: Any, user_id: str, record_ids: list[str],
            source: access.DefinitionSource | None = None) -> list[dict[str, Any]]:
    """One row a record that exists: the access of `user_id` to it (`source`: the org's permission set
    definitions)."""
    user = access.load_user(dtx, user_id, source)
    admin = user is None and bool(dtx.query("SELECT Id FROM User WHERE Id = :u", {"u": user_id}).records)
    out: list[dict[str, Any]] = []
    for rid in {r[:15]: r for r in record_ids if r and len(r) >= 15}.values():
        od = dtx.schema.by_key_prefix(rid[:3])
        if od is None:
            continue
        owned = od.find_field("OwnerId") is not None
        found = dtx.query(f"SELECT Id{', OwnerId' if owned else ''} FROM {od.name} WHERE Id = :i", {"i": rid}).records
        if not found:
            continue
        record = found[0]
        deletable = bool(od.raw.get("deletable", True)) and od.lower not in UNDELETABLE
        if admin:
            read, edit, delete, transfer = True, True, deletable, owned
            full = owned and deletable
        elif user is None:
            continue
        else:
            read = user.can(od.name, "read")
            edit = read and user.can(od.name, "edit")
            mine = owned and record.get("OwnerId") and str(record["OwnerId"])[:15] == user_id[:15]
            control = bool(mine) or od.lower in user.modify_all or not owned
            delete = deletable and read and user.can(od.name, "delete") and control
            transfer = owned and edit and control
            full = owned and delete and transfer
        flags = {"All": full, "Transfer": transfer, "Delete": delete, "Edit": edit, "Read": read}
        out.append({"UserId": user_id, "RecordId": record["Id"], "HasReadAccess": read, "HasEditAccess": edit,
                    "HasDeleteAccess": delete, "HasTransferAccess": transfer, "HasAllAccess": full,
                    "MaxAccessLevel": next((level for level in LEVELS if flags[level]), "None")})
    return out


def _filters(where: Any, resolve: Callable[[Any], Any]) -> tuple[str | None, list[str] | None]:
    from localcloud.salesforce.data.soql.ast import And, Comparison, FieldRef, ValueList
    items = list(where.items) if isinstance(where, And) else [where] if where is not None else []
    user_id: str | None = None
    record_ids: list[str] | None = None
    for c in items:
        if not isinstance(c, Comparison) or not isinstance(c.left, FieldRef) or len(c.left.path) != 1:
            continue
        name = c.left.path[0].lower()
        if name == "userid" and c.op == "=":
            value = resolve(c.value)
            user_id = str(value) if value else None
        elif name == "recordid" and c.op in ("=", "IN"):
            if isinstance(c.value, ValueList):
                values = [resolve(v) for v in c.value.items]
            else:
                value = resolve(c.value)
                values = list(value) if isinstance(value, (list, tuple, set)) else [value]
            record_ids = [str(v) for v in values if v]
    return user_id, record_ids


__all__ = ["compute", "is_view", "prepare", "MISSING_FILTER"]
