"""``UserRecordAccess``: the access one user has to given records, computed when SOQL (Apex or REST) reads it.

Salesforce computes the view from the user's object permissions and record sharing; a query must filter
on ``UserId =`` and on ``RecordId =`` or ``RecordId IN`` (else ``MALFORMED_QUERY``). Before such a query
runs, the rows of that user and those records are (re)written in the transaction (earlier rows of the
user are reused or emptied: the view's rows cannot be deleted), so the SOQL engine then filters, orders
and selects them as any table.

How each row is computed (read visibility of queries in an Apex sharing context or user mode is
``visibility.py``, built on the same groups; REST queries see every record):

- a System Administrator (Modify All Data): Read, Edit, Delete (where the object can be deleted),
  Transfer (where it has an owner), All;
- another user (profile baseline + permission sets, ``permissions.py``): the object permissions bound what
  the record grants. A record grants All to its owner (or a member of the owning queue), else the higher
  of the object's org-wide default (``sharing.py``: Private none, Read, Read/Write Edit) and the user's
  share rows (``X__Share``/``AccountShare``..., for the user or a group the user is in, nested groups and
  the Organization group included). "View All"/"Modify All" on the object read (and edit/delete) every
  record. Delete, Transfer and All need full access (owner, All share or Modify All); Transfer also comes
  with Edit on a Read/Write/Transfer object (Lead, Case). A Controlled by Parent object (Contact) and a
  detail of a master-detail follow the parent record; an object without owner or parent follows the
  object permissions alone. Role hierarchy and sharing rules are not modelled.

``MaxAccessLevel`` is the highest of None, Read, Edit, Delete, Transfer, All the row has.
"""
from __future__ import annotations

import threading
from typing import Any, Callable

from . import features, permissions, sharing
from .errors import MalformedQueryError

MISSING_FILTER = "UserRecordAccess: the query must filter on UserId = and on RecordId = or RecordId IN " \
                 "(the local org computes the rows from them)"
LEVELS = ("All", "Transfer", "Delete", "Edit", "Read")
RANK = sharing.RANK


class _Busy(threading.local):
    value = False


_BUSY = _Busy()


def prepare(tx: Any, query: Any, bind: Callable[[Any], Any]) -> None:
    """Write the rows the query asks for; ``MALFORMED_QUERY`` when the filters are missing."""
    if _BUSY.value:
        return  # this module's own reads of the view
    user_id, record_ids = _filters(query.where, bind)
    if not user_id or record_ids is None:
        raise MalformedQueryError(MISSING_FILTER)
    _BUSY.value = True
    try:
        _write(tx, user_id, record_ids)
    finally:
        _BUSY.value = False


def _write(tx: Any, user_id: str, record_ids: list[str]) -> None:
    rows = compute(tx, user_id, record_ids, permissions.definitions_of(tx.store))
    # the view's rows cannot be deleted (as in Salesforce): the user's earlier rows are reused, and the
    # ones left over are emptied (RecordId null, no access), so no query matches them
    view = tx.schema.get("UserRecordAccess")
    held = [r[0] for r in tx.execute(f"SELECT id FROM {view.table} WHERE {view.field('UserId').column} = ? ORDER BY id",
                                     (user_id,))]
    empty = {"RecordId": None, "HasReadAccess": False, "HasEditAccess": False, "HasDeleteAccess": False,
             "HasTransferAccess": False, "HasAllAccess": False, "MaxAccessLevel": "None"}
    updates = [{**row, "Id": rid} for row, rid in zip(rows, held)]
    updates += [{**empty, "Id": rid} for rid in held[len(rows):]]
    for results in (tx.update("UserRecordAccess", updates, read_only_fields="write") if updates else [],
                    tx.insert("UserRecordAccess", rows[len(held):], read_only_fields="write")
                    if len(rows) > len(held) else []):
        failed = [r for r in results if not r.success]
        if failed:
            raise RuntimeError("UserRecordAccess rows could not be written: "
                               + "; ".join(e.message for e in failed[0].errors))


def compute(tx: Any, user_id: str, record_ids: list[str],
            source: permissions.DefinitionSource | None = None) -> list[dict[str, Any]]:
    """One row a record that exists: the access of `user_id` to it (`source`: the org's permission set
    definitions)."""
    user = permissions.load_user(tx, user_id, source)
    admin = user is None and _exists(tx, "User", user_id)
    groups = groups_of(tx, user_id) if user is not None else set()
    out: list[dict[str, Any]] = []
    for rid in {r[:15]: r for r in record_ids if r and len(r) >= 15}.values():
        od = tx.schema.by_key_prefix(rid[:3])
        if od is None:
            continue
        record = _record(tx, od, rid)
        if record is None:
            continue
        owned = "ownerid" in od.fields
        deletable = bool(od.raw.get("deletable", True))
        if admin:
            read, edit, delete, transfer = True, True, deletable, owned
            full = owned and deletable
        elif user is None:
            continue
        else:
            level = _record_level(tx, od, record, user_id, groups, 0)
            low = od.lower
            viewer, modifier = low in user.view_all, low in user.modify_all
            full_access = level == "All" or modifier
            read = user.can(od.name, "read") and (RANK[level] >= 1 or viewer)
            edit = read and user.can(od.name, "edit") and (RANK[level] >= 2 or modifier)
            delete = deletable and read and user.can(od.name, "delete") and (full_access or not owned and edit)
            transfer = owned and edit and (full_access or sharing.sharing_model(od).lower() == "readwritetransfer")
            full = owned and delete and full_access
        flags = {"All": full, "Transfer": transfer, "Delete": delete, "Edit": edit, "Read": read}
        out.append({"UserId": user_id, "RecordId": record["id"], "HasReadAccess": read, "HasEditAccess": edit,
                    "HasDeleteAccess": delete, "HasTransferAccess": transfer, "HasAllAccess": full,
                    "MaxAccessLevel": next((level for level in LEVELS if flags[level]), "None")})
    return out


def _record(tx: Any, od: Any, rid: str) -> dict[str, Any] | None:
    cols = ["id"] + [fd for fd in ("ownerid",) if fd in od.fields]
    parents = sharing.parent_fields(od)
    names = cols + [fd.lower for fd in parents]
    sql_cols = ["id"] + [od.fields[c].column for c in cols[1:]] + [fd.column for fd in parents]
    hit = tx.execute(f"SELECT {', '.join(sql_cols)} FROM {od.table} WHERE (id = ? OR substr(id, 1, 15) = ?) "
                     "AND isdeleted = 0", (rid, rid[:15])).fetchone()
    if hit is None:
        return None
    row = dict(zip(names, hit))
    row["_parents"] = [fd for fd in parents if row.get(fd.lower)]
    return row


def _record_level(tx: Any, od: Any, record: dict[str, Any], user_id: str, groups: set[str], depth: int) -> str:
    """None, Read, Edit or All: what the record (its owner, default, shares, parent) gives the user."""
    owner = record.get("ownerid")
    if owner and (owner[:15] == user_id[:15] or owner in groups):
        return "All"
    model = sharing.sharing_model(od).lower() if "ownerid" in od.fields else "controlledbyparent"
    if model == "controlledbyparent" or "ownerid" not in od.fields:
        for fd in record.get("_parents", []):
            parent_od = tx.schema.by_key_prefix(str(record[fd.lower])[:3])
            parent = _record(tx, parent_od, record[fd.lower]) if parent_od is not None and depth < 5 else None
            if parent is not None:
                level = _record_level(tx, parent_od, parent, user_id, groups, depth + 1)
                return "Edit" if level == "All" and "ownerid" in od.fields else level
        return "None" if "ownerid" in od.fields else "Edit"  # a private contact; an object without sharing
    level = sharing.default_level(od)
    shape = sharing.share_of(tx.schema, od)
    if shape is not None:
        who = [user_id] + sorted(groups)
        marks = ",".join("?" * len(who))
        for (value,) in tx.execute(
                f"SELECT {shape.level_field.column} FROM {shape.share.table} WHERE {shape.parent_field.column} = ? "
                f"AND {shape.column('UserOrGroupId')} IN ({marks}) AND isdeleted = 0", [record["id"], *who]):
            if value in RANK and RANK[value] > RANK[level]:
                level = value
    return level


def groups_of(tx: Any, user_id: str) -> set[str]:
    """The groups (and queues) the user is in, directly or through nested groups, and the Organization group."""
    member, group = tx.schema.find("GroupMember"), tx.schema.find("Group")
    if member is None or group is None:
        return set()
    gid, who = member.field("GroupId").column, member.field("UserOrGroupId").column
    found: set[str] = {r[0] for r in tx.execute(f"SELECT id FROM {group.table} WHERE {group.field('Type').column} = "
                                                "'Organization' AND isdeleted = 0")}
    frontier = [user_id]
    while frontier:
        marks = ",".join("?" * len(frontier))
        new = {r[0] for r in tx.execute(f"SELECT {gid} FROM {member.table} WHERE {who} IN ({marks})", frontier)}
        frontier = sorted(new - found)
        found |= new
    return found


def _exists(tx: Any, sobject: str, rid: str) -> bool:
    od = tx.schema.find(sobject)
    return od is not None and tx.execute(f"SELECT 1 FROM {od.table} WHERE id = ?", (rid,)).fetchone() is not None


def _filters(where: Any, bind: Callable[[Any], Any]) -> tuple[str | None, list[str] | None]:
    from .soql.ast import And, Comparison, FieldRef
    items = list(where.items) if isinstance(where, And) else [where] if where is not None else []
    user_id: str | None = None
    record_ids: list[str] | None = None
    for c in items:
        if not isinstance(c, Comparison) or not isinstance(c.left, FieldRef) or len(c.left.path) != 1:
            continue
        name = c.left.path[0].lower()
        if name == "userid" and c.op == "=":
            value = bind(c.value)
            user_id = str(value) if value else None
        elif name == "recordid" and c.op in ("=", "IN"):
            value = bind(c.value)
            values = value if isinstance(value, list) else [value]
            record_ids = [str(v) for v in values if v]
    return user_id, record_ids


features.COMPUTED_VIEWS["userrecordaccess"] = prepare

__all__ = ["compute", "groups_of", "prepare", "MISSING_FILTER"]
