"""USER_MODE: the running user's object permissions and field-level security (FLS).

`WITH USER_MODE` queries, `insert as user` and `Database.*(..., AccessLevel.USER_MODE)` are checked
here for users whose profile is not 'System Administrator'. A user's permissions are the profile
baseline below plus every permission set assigned to the user (PermissionSetAssignment). What a
permission set grants comes from its deployed definition (object and field permissions), which the
org hands the runtime through `register_definitions(store, source)`, plus the ObjectPermissions and
FieldPermissions rows of its permission sets (for example ones an Apex test inserts). A store with no registered
source is not checked at all (USER_MODE then behaves as system mode, as before this module).

Setting (environment): ECBRIDGE_ORG_ENFORCE_USER_MODE on (default) | off — check USER_MODE at all.
A 'System Administrator' (the org's own admin user, used by REST and cci) is never checked: that
profile may read and write everything.

Message texts are chosen (Salesforce does not document them exactly); see README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

# the permissions themselves live in the data layer (UserRecordAccess reads them there too); re-exported
from localcloud.salesforce.data.permissions import (  # noqa: F401
    ADMIN_PROFILE, CRUD, PROFILE_OBJECTS, READ, SYSTEM_FIELDS, DefinitionSource, UserAccess, _always_accessible,
    _granted_rows, _load, build_access, definitions_of, load_user, register_definitions)

ENV_ENFORCE = "ECBRIDGE_ORG_ENFORCE_USER_MODE"

QUERY_MESSAGE = "Insufficient permissions: secure query included inaccessible field"
DML_FIELDS_MESSAGE = "Operation failed due to fields being inaccessible on Sobject {sobject}, check errors on " \
                     "Exception or Result!"
FIELD_ERROR = "Unable to create/update fields: {fields}. Please check the security settings of this field and " \
              "verify that it is read/write for your profile or permission set."
OBJECT_ERROR = "Insufficient permissions: the running user has no {verb} permission on {sobject} in user mode"

# Objects whose DML changes what a user may do: the per-transaction cache is dropped after them.
ACCESS_OBJECTS = frozenset({"user", "profile", "permissionset", "permissionsetassignment", "objectpermissions",
                            "fieldpermissions", "group", "groupmember"})  # groups: record visibility


def overlay(definitions: Mapping[str, Mapping[str, Any]], fallback: DefinitionSource | None) -> DefinitionSource:
    """A source answering from `definitions` first (a deploy's own permission sets), then `fallback`."""
    by_name = {k.lower(): v for k, v in definitions.items()}

    def source(name: str) -> Mapping[str, Any] | None:
        found = by_name.get(name.lower())
        if found is not None:
            return found
        return fallback(name) if fallback is not None else None
    return source


def _setting(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in ("1", "on", "true", "yes")


# ------------------------------------------------------------------------------------ per transaction


def current_access(prog: Any) -> UserAccess | None:
    """The running user's access, or None when USER_MODE is not checked for this user/org."""
    if not _setting(ENV_ENFORCE, True):
        return None
    tx = prog.tx
    session = getattr(tx, "data", None)
    if session is None:
        return None
    source = definitions_of(session.store)
    if source is None:
        return None
    user_id = (tx.user or {}).get("userid")
    if not user_id:
        return None
    cache = tx.access_cache
    key = str(user_id)
    if key not in cache:
        cache[key] = _load(session.tx, key, source)
    return cache[key]


def forget(prog: Any, sobject: str) -> None:
    """DML on users, profiles or permission sets changes what users may do: drop the cache."""
    if sobject.lower() in ACCESS_OBJECTS:
        prog.tx.access_cache.clear()


# ------------------------------------------------------------------------------------ SOQL


def inaccessible_in_query(access: UserAccess, schema: Any, query: Any) -> dict[str, set[str]]:
    """Every field of every clause (SELECT incl. parent paths and subqueries, WHERE incl. semi-joins,
    GROUP BY, HAVING, ORDER BY) the user cannot read: object name -> field names."""
    bad: dict[str, set[str]] = {}
    _walk_query(access, schema, query, schema.find(query.sobject), bad)
    return bad


def _walk_query(access: UserAccess, schema: Any, q: Any, od: Any, bad: dict[str, set[str]]) -> None:
    from localcloud.salesforce.data.soql.ast import Aggregate, FieldRef, Function, SubQuery
    if od is None:
        return
    for item in q.select:
        if isinstance(item, FieldRef):
            _check_path(access, schema, od, item.path, bad)
        elif isinstance(item, (Aggregate, Function)) and item.field is not None:
            _check_path(access, schema, od, item.field.path, bad)
        elif isinstance(item, SubQuery):
            found = schema.child_relationship(od, item.query.sobject)
            if found is not None:
                _walk_query(access, schema, item.query, found[0], bad)
    _walk_condition(access, schema, q.where, od, bad)
    _walk_condition(access, schema, q.having, od, bad)
    for g in q.group_by:
        if g.path:  # a field, or a date function of one
            _check_path(access, schema, od, g.path, bad)
    for o in q.order_by:
        key = o.key
        path = key.path if isinstance(key, FieldRef) else (key.field.path if getattr(key, "field", None) else None)
        if path:
            _check_path(access, schema, od, path, bad)


def _walk_condition(access: UserAccess, schema: Any, cond: Any, od: Any, bad: dict[str, set[str]]) -> None:
    from localcloud.salesforce.data.soql.ast import And, Comparison, FieldRef, Not, Or, SemiJoin
    if cond is None:
        return
    if isinstance(cond, (And, Or)):
        for c in cond.items:
            _walk_condition(access, schema, c, od, bad)
    elif isinstance(cond, Not):
        _walk_condition(access, schema, cond.item, od, bad)
    elif isinstance(cond, Comparison):
        left = cond.left
        path = left.path if isinstance(left, FieldRef) else (left.field.path if getattr(left, "field", None) else None)
        if path:
            _check_path(access, schema, od, path, bad)
        if isinstance(cond.value, SemiJoin):
            sub = cond.value.query
            _walk_query(access, schema, sub, schema.find(sub.sobject), bad)


def _check_path(access: UserAccess, schema: Any, od: Any, path: list[str], bad: dict[str, set[str]]) -> None:
    cur = od
    hops = list(path)
    if len(hops) > 1 and hops[0].lower() == cur.lower:  # SELECT Contact.Name FROM Contact
        hops = hops[1:]
    for hop in hops[:-1]:
        ref = cur.relationship(hop)
        if ref is None:
            return  # the engine reports the unknown relationship
        if not access.readable(cur, ref):
            bad.setdefault(cur.name, set()).add(ref.name)
        if len(ref.reference_to) != 1:
            return  # polymorphic (Owner, What): the reference field is what user mode checks here
        nxt = schema.find(ref.reference_to[0])
        if nxt is None:
            return
        cur = nxt
    fd = cur.find_field(hops[-1])
    if fd is not None and not access.readable(cur, fd):
        bad.setdefault(cur.name, set()).add(fd.name)


# ------------------------------------------------------------------------------------ DML

VERBS = {"insert": ("create",), "update": ("edit",), "upsert": ("create", "edit"), "delete": ("delete",)}
VERB_LABEL = {"create": "Create", "edit": "Edit", "delete": "Delete", "read": "Read"}


@dataclass
class RecordDenial:
    """Why user mode refuses one record: a status code, a message and the fields at fault."""

    status_code: str
    message: str
    fields: list[str]


def missing_object_permission(access: UserAccess, sobject: str, op: str) -> RecordDenial | None:
    for verb in VERBS.get(op, ()):
        if not access.can(sobject, verb):
            return RecordDenial("INSUFFICIENT_ACCESS_OR_READONLY",
                                OBJECT_ERROR.format(verb=VERB_LABEL[verb], sobject=sobject), [])
    return None


def denied_fields(access: UserAccess, od: Any, op: str, names: Iterable[str]) -> list[str]:
    """The fields set on a record the user may not write (Id and fields no one can write are left
    to the data layer's own checks)."""
    out = []
    for name in names:
        fd = od.find_field(name)
        if fd is None or fd.lower == "id":
            continue
        writable = fd.createable if op == "insert" else fd.updateable if op == "update" else \
            (fd.createable or fd.updateable)
        if not writable:
            continue
        if not access.editable(od, fd):
            out.append(fd.name)
    return out


def field_denial(fields: list[str]) -> RecordDenial:
    return RecordDenial("INVALID_FIELD_FOR_INSERT_UPDATE", FIELD_ERROR.format(fields=", ".join(fields)), fields)
