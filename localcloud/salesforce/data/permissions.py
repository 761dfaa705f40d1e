"""The object permissions of a user — profile baseline plus assigned permission sets — and where the
org's permission set definitions come from (``register_definitions(store, source)``). Apex USER_MODE
(``apex/access.py``) and the computed ``UserRecordAccess`` view (``recordaccess.py``) both read them; the
profile baseline is the local org's choice (see ``apex/access.py``)."""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

ADMIN_PROFILE = "system administrator"

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
    #: objects whose records the user may read whoever owns them ("View All" / "Modify All")
    view_all: set[str] = field(default_factory=set)

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
            if p.get("viewAllRecords") or p.get("modifyAllRecords"):
                access.view_all.add(obj)
        for p in definition.get("fieldPermissions") or []:
            obj, _, fname = (p.get("field") or "").lower().partition(".")
            key = (obj, fname)
            readable, editable = access.fields.get(key, (False, False))
            editable = editable or bool(p.get("editable"))
            readable = readable or editable or bool(p.get("readable"))
            access.fields[key] = (readable, editable)
    return access


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
