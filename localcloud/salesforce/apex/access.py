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
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

ADMIN_PROFILE = "system administrator"
ENV_ENFORCE = "ECBRIDGE_ORG_ENFORCE_USER_MODE"

QUERY_MESSAGE = "Insufficient permissions: secure query included inaccessible field"
DML_FIELDS_MESSAGE = "Operation failed due to fields being inaccessible on Sobject {sobject}, check errors on " \
                     "Exception or Result!"
FIELD_ERROR = "Unable to create/update fields: {fields}. Please check the security settings of this field and " \
              "verify that it is read/write for your profile or permission set."
OBJECT_ERROR = "Insufficient permissions: the running user has no {verb} permission on {sobject} in user mode"

CRUD = frozenset({"read", "create", "edit", "delete"})
READ = frozenset({"read"})

# Profile baseline, by profile name (lower case): object -> permissions. Objects not listed: none.
# FLS under a baseline object permission: every standard field readable, and writable when the
# describe says createable/updateable; custom fields only through a permission set.
PROFILE_OBJECTS: dict[str, dict[str, frozenset[str]]] = {
    "standard user": {
        "account": CRUD, "contact": CRUD, "lead": CRUD,
        "contentversion": CRUD, "contentdocument": CRUD, "contentdocumentlink": CRUD,
        "user": READ, "profile": READ, "permissionset": READ, "organization": READ, "recordtype": READ,
    },
}

# Fields every user with object read access can read (besides Id, the name field and required
# custom fields).
SYSTEM_FIELDS = frozenset({"id", "name", "createddate", "createdbyid", "lastmodifieddate", "lastmodifiedbyid",
                           "systemmodstamp", "isdeleted", "ownerid", "recordtypeid"})

# Objects whose DML changes what a user may do: the per-transaction cache is dropped after them.
ACCESS_OBJECTS = frozenset({"user", "profile", "permissionset", "permissionsetassignment", "objectpermissions",
                            "fieldpermissions"})

# A definition source: permission set name -> its definition (localcloud.salesforce.metadata
# permissionsets.permission_set_definition shape) or None when unknown.
DefinitionSource = Callable[[str], "Mapping[str, Any] | None"]

_SOURCES: "weakref.WeakKeyDictionary[Any, DefinitionSource]" = weakref.WeakKeyDictionary()


def register_definitions(store: Any, source: DefinitionSource | None) -> None:
    """Tell the runtime where the permission set definitions of `store`'s org come from (None: forget)."""
    if source is None:
        _SOURCES.pop(store, None)
    else:
        _SOURCES[store] = source


def definitions_of(store: Any) -> DefinitionSource | None:
    try:
        return _SOURCES.get(store)
    except TypeError:  # not weak-referenceable: never registered
        return None


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


@dataclass
class UserAccess:
    """What one user may do in user mode. `objects`: object -> permissions from the profile and
    permission sets; `fields`: (object, field) -> (readable, editable) from permission sets."""

    user_id: str
    objects: dict[str, set[str]] = field(default_factory=dict)
    fields: dict[tuple[str, str], tuple[bool, bool]] = field(default_factory=dict)
    #: objects the profile baseline grants: there every standard field is readable (and writable per describe)
    baseline: set[str] = field(default_factory=set)
    #: objects whose records the user may edit and delete whoever owns them ("Modify All" of a permission set)
    modify_all: set[str] = field(default_factory=set)

    def can(self, sobject: str, verb: str) -> bool:
        perms = self.objects.get(sobject.lower(), ())
        return verb in perms

    def readable(self, od: Any, fd: Any) -> bool:
        if not self.can(od.name, "read"):
            return False
        if _always_accessible(od, fd):
            return True
        if not self._needs_fls(od, fd):
            return True
        return self._fls(od, fd)[0]

    def _needs_fls(self, od: Any, fd: Any) -> bool:
        """Custom fields always; a standard field the describe marks `permissionable` when the object's access
        comes from permission sets only (the profile baseline opens every standard field)."""
        if fd.custom:
            return True
        return od.lower not in self.baseline and bool(fd.raw.get("permissionable"))

    def _fls(self, od: Any, fd: Any) -> tuple[bool, bool]:
        """A permission set's (readable, editable) for a field; a person account's ``X__pc`` field
        has the access of the Contact field ``X__c`` it shows (Salesforce keeps one FLS for both)."""
        found = self.fields.get((od.lower, fd.lower))
        if found is None and od.lower == "account" and fd.lower.endswith("__pc"):
            found = self.fields.get(("contact", fd.lower[:-4] + "__c"))
        return found or (False, False)

    def editable(self, od: Any, fd: Any) -> bool:
        if not self.can(od.name, "read"):
            return False
        if fd.custom and not fd.nillable and fd.type != "boolean":
            return True  # universally required
        if not self._needs_fls(od, fd):
            return True  # standard fields: the describe (createable/updateable) decides
        return self._fls(od, fd)[1]


def _always_accessible(od: Any, fd: Any) -> bool:
    if fd.lower in SYSTEM_FIELDS:
        return True
    name_field = od.name_field
    if name_field is not None and name_field.lower == fd.lower:
        return True
    return bool(fd.custom and not fd.nillable and fd.type != "boolean")


def build_access(user_id: str, profile_name: str | None, permission_set_names: Iterable[str],
                 source: DefinitionSource, granted: Iterable[Mapping[str, Any]] = ()) -> UserAccess:
    """`granted`: definitions made of the ObjectPermissions/FieldPermissions rows of the user's permission
    sets (what DML, for example an Apex test, gave them), added to their deployed definitions."""
    access = UserAccess(user_id)
    for obj, perms in PROFILE_OBJECTS.get((profile_name or "").lower(), {}).items():
        access.objects.setdefault(obj, set()).update(perms)
        access.baseline.add(obj)
    definitions = [source(name) or {} for name in permission_set_names] + list(granted)
    for definition in definitions:
        for p in definition.get("objectPermissions") or []:
            obj = (p.get("object") or "").lower()
            perms = access.objects.setdefault(obj, set())
            if p.get("allowRead") or p.get("allowCreate") or p.get("allowEdit") or p.get("allowDelete") \
                    or p.get("viewAllRecords") or p.get("modifyAllRecords"):
                perms.add("read")
            if p.get("allowCreate"):
                perms.add("create")
            if p.get("allowEdit") or p.get("modifyAllRecords"):
                perms.add("edit")
            if p.get("allowDelete") or p.get("modifyAllRecords"):
                perms.add("delete")
            if p.get("modifyAllRecords"):
                access.modify_all.add(obj)
        for p in definition.get("fieldPermissions") or []:
            obj, _, fname = (p.get("field") or "").lower().partition(".")
            key = (obj, fname)
            readable, editable = access.fields.get(key, (False, False))
            editable = editable or bool(p.get("editable"))
            readable = readable or editable or bool(p.get("readable"))
            access.fields[key] = (readable, editable)
    return access


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


def load_user(dtx: Any, user_id: str, source: DefinitionSource | None) -> UserAccess | None:
    """The access of any user (None: a System Administrator, who may do everything, or an unknown user),
    whether or not USER_MODE is checked."""
    return _load(dtx, user_id, source or (lambda name: None))


def _load(dtx: Any, user_id: str, source: DefinitionSource) -> UserAccess | None:
    users = dtx.query("SELECT Id, ProfileId FROM User WHERE Id = :uid", {"uid": user_id}).records
    if not users:
        return None
    profile_name = None
    if users[0].get("ProfileId"):
        profiles = dtx.query("SELECT Name FROM Profile WHERE Id = :pid", {"pid": users[0]["ProfileId"]}).records
        profile_name = profiles[0].get("Name") if profiles else None
    if (profile_name or "").lower() == ADMIN_PROFILE:
        return None  # may do everything
    assigned = dtx.query("SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = :uid",
                         {"uid": user_id}, page_size=1_000_000).records
    ids = [r["PermissionSetId"] for r in assigned if r.get("PermissionSetId")]
    names: list[str] = []
    granted: list[Mapping[str, Any]] = []
    if ids:
        names = [r["Name"] for r in dtx.query("SELECT Name FROM PermissionSet WHERE Id IN :ids", {"ids": ids},
                                              page_size=1_000_000).records]
        granted.append(_granted_rows(dtx, ids))
    return build_access(user_id, profile_name, names, source, granted)


def _granted_rows(dtx: Any, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The ObjectPermissions and FieldPermissions rows of permission sets `ids`, in definition shape."""
    objects = dtx.query("SELECT SobjectType, PermissionsRead, PermissionsCreate, PermissionsEdit, PermissionsDelete, "
                        "PermissionsViewAllRecords, PermissionsModifyAllRecords FROM ObjectPermissions "
                        "WHERE ParentId IN :ids", {"ids": ids}, page_size=1_000_000).records
    fields = dtx.query("SELECT Field, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId IN :ids",
                       {"ids": ids}, page_size=1_000_000).records
    return {
        "objectPermissions": [{"object": r.get("SobjectType"), "allowRead": r.get("PermissionsRead"),
                               "allowCreate": r.get("PermissionsCreate"), "allowEdit": r.get("PermissionsEdit"),
                               "allowDelete": r.get("PermissionsDelete"),
                               "viewAllRecords": r.get("PermissionsViewAllRecords"),
                               "modifyAllRecords": r.get("PermissionsModifyAllRecords")} for r in objects],
        "fieldPermissions": [{"field": r.get("Field"), "readable": r.get("PermissionsRead"),
                              "editable": r.get("PermissionsEdit")} for r in fields],
    }


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
