"""Record sharing rows: ``X__Share`` of a custom object whose default access is Private or Public Read
Only, and ``AccountShare``/``ContactShare``/``LeadShare``/``OpportunityShare``/``CaseShare`` (Apex Developer
Guide, "Sharing a Record Using Apex" and "Apex Managed Sharing"; Object Reference, the share objects).

What DML on share rows does, as Salesforce:

- ``AccessLevel`` (``<Parent>AccessLevel`` on standard ones) is ``Read`` or ``Edit``; ``All`` is reserved for
  the owner and any other value is refused: ``FIELD_INTEGRITY_EXCEPTION``. A level that grants no more than
  the object's org-wide default ("trivial") is refused with ``FIELD_FILTER_VALIDATION_EXCEPTION`` naming
  ``AccessLevel`` (the Apex guide's example tests for that code).
- ``RowCause`` defaults to ``Manual``; a custom object's share also takes the object's deployed Apex sharing
  reasons (``Reason__c``); ``Owner``, ``Rule`` and the other system causes cannot be written
  (``FIELD_INTEGRITY_EXCEPTION``). ``ParentId``, ``UserOrGroupId`` and ``RowCause`` cannot be updated.
- ``UserOrGroupId`` must be an active user or a group: ``INVALID_CROSS_REFERENCE_KEY`` otherwise (a parent
  that does not exist too).
- a row for the same parent, user or group and cause that already exists is updated (its access level
  raised or lowered) and its id returned: never two rows.
- every record of such an object has a row with ``RowCause`` ``Owner`` and full access (``All``), written
  when the record is saved and moved when the owner changes; it cannot be updated or deleted
  (``DELETE_FAILED``/``FIELD_INTEGRITY_EXCEPTION``). When the owner changes, ``Manual`` rows are deleted;
  rows of Apex sharing reasons stay ("Apex managed sharing is maintained across record owner changes").
- deleting the parent deletes its share rows (and undelete brings them back: the Recycle Bin).

Org-wide defaults: a deployed object's ``sharingModel`` (custom objects, and standard ones such as
``objects/Account.object``); else for the standard objects those of a new Enterprise Edition org (Account
ReadWrite, Contact ControlledByParent, Lead and Case ReadWriteTransfer, Opportunity Read), changed with the
setting ``ECBRIDGE_ORG_SHARING_MODELS`` (``Account=Private,Opportunity=Private``).
The local org keeps ``Owner`` rows only for objects whose default is Private or Read (Salesforce keeps them
for Public Read/Write objects too, where they grant nothing the default does not): DML on every other object
does no sharing work. Role hierarchy, sharing rules and implicit (parent/child) shares are not modelled.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any, Mapping

from . import features
from .errors import RecordError
from .ids import make_id

ENV_MODELS = "ECBRIDGE_ORG_SHARING_MODELS"
#: a new Enterprise Edition org's org-wide defaults (Salesforce Help: "Default Organization-Wide Access Levels")
STANDARD_DEFAULTS = {"account": "ReadWrite", "contact": "ControlledByParent", "lead": "ReadWriteTransfer",
                     "opportunity": "Read", "case": "ReadWriteTransfer"}
#: standard share object -> (parent object, parent field, access level field)
STANDARD_SHARES = {"accountshare": ("Account", "AccountId", "AccountAccessLevel"),
                   "contactshare": ("Contact", "ContactId", "ContactAccessLevel"),
                   "leadshare": ("Lead", "LeadId", "LeadAccessLevel"),
                   "opportunityshare": ("Opportunity", "OpportunityId", "OpportunityAccessLevel"),
                   "caseshare": ("Case", "CaseId", "CaseAccessLevel")}
ACCOUNT_CHILD_LEVELS = ("OpportunityAccessLevel", "CaseAccessLevel", "ContactAccessLevel")
GRANTABLE = ("Read", "Edit")
RANK = {"None": 0, "Read": 1, "Edit": 2, "All": 3}
#: the access an org-wide default gives every user with object permission
DEFAULT_LEVEL = {"private": "None", "read": "Read", "readselect": "Read", "readwrite": "Edit",
                 "readwritetransfer": "Edit", "fullaccess": "Edit", "controlledbyparent": "Edit"}
WRITABLE_CAUSES = ("manual",)


def _err(code: str, message: str, *fields: str) -> RecordError:
    return RecordError(code, message, tuple(fields))


def sharing_model(od: Any) -> str:
    """The object's internal org-wide default (``Private``, ``Read``, ``ReadWrite``, ...)."""
    deployed = od.raw.get("_sharingModel")  # a deployed object's <sharingModel>
    if od.custom or deployed:
        return str(deployed or "ReadWrite")
    return _standard_models().get(od.lower, "ReadWrite")


def _standard_models() -> dict[str, str]:
    return _models_of(os.environ.get(ENV_MODELS) or "")


@functools.lru_cache(maxsize=8)
def _models_of(setting: str) -> dict[str, str]:
    models = dict(STANDARD_DEFAULTS)
    for part in setting.split(","):
        name, _, model = part.partition("=")
        if name.strip() and model.strip():
            models[name.strip().lower()] = model.strip()
    return models


def default_level(od: Any) -> str:
    return DEFAULT_LEVEL.get(sharing_model(od).lower(), "Edit")


@dataclass(frozen=True)
class ShareShape:
    """A share object and what its fields are called."""
    share: Any        # ObjectDef of the share object
    parent: Any       # ObjectDef of the shared object
    parent_field: Any  # FieldDef (ParentId / AccountId ...)
    level_field: Any   # FieldDef (AccessLevel / AccountAccessLevel ...)

    def column(self, name: str) -> str:
        return self.share.field(name).column


def shape_of_share(schema: Any, share: Any) -> ShareShape | None:
    """The shape of ``share`` when it is a share object, else None."""
    low = share.lower
    if low.endswith("__share"):
        parent = schema.find(share.name[:-7] + "__c")
        if parent is None:
            return None
        return ShareShape(share, parent, share.field("ParentId"), share.field("AccessLevel"))
    found = STANDARD_SHARES.get(low)
    if found is None or schema.find(found[0]) is None:
        return None
    return ShareShape(share, schema.get(found[0]), share.field(found[1]), share.field(found[2]))


def share_of(schema: Any, od: Any) -> ShareShape | None:
    """The share object of a shared object ``od`` (None: it has none)."""
    name = od.name[:-3] + "__Share" if od.custom and od.name.endswith("__c") else od.name + "Share"
    share = schema.find(name)
    return shape_of_share(schema, share) if share is not None else None


def parent_fields(od: Any) -> list[Any]:
    """The fields whose parent record decides a Controlled by Parent object's access (master-detail, and
    Contact's AccountId)."""
    out = [fd for fd in od.fields.values() if fd.cascade_delete and fd.type == "reference"]
    if od.lower == "contact" and "accountid" in od.fields:
        out.append(od.fields["accountid"])
    return out


def keeps_owner_rows(od: Any) -> bool:
    return sharing_model(od).lower() in ("private", "read", "readselect")


# -- DML: the share rows themselves -------------------------------------------------------------------
class ShareRowPlan:
    """Rules for DML on one share object (``dml._Run.sharing``)."""

    def __init__(self, shape: ShareShape) -> None:
        self.shape = shape

    def before_save(self, run: Any, row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
        from .dml import RecordFailure
        shape, errors = self.shape, []
        level_name = shape.level_field.lower
        if old is not None:
            if str(old.get("rowcause") or "").lower() != "manual" and not _is_reason(old.get("rowcause")):
                raise RecordFailure([_err("FIELD_INTEGRITY_EXCEPTION", "field integrity exception: cannot update "
                                          f"{old.get('rowcause')} share rows, id={old.get('id')}", "RowCause")])
            for fixed in (shape.parent_field.lower, "userorgroupid", "rowcause"):
                if fixed in given and given[fixed] != old.get(fixed):
                    name = shape.share.field(fixed).name
                    errors.append(_err("INVALID_FIELD_FOR_INSERT_UPDATE", f"Unable to create/update fields: {name}. "
                                       "Please check the security settings of this field and verify that it is "
                                       "read/write for your profile or permission set.", name))
        cause = row.get("rowcause") or "Manual"
        row["rowcause"] = cause
        if old is None and cause.lower() not in WRITABLE_CAUSES and not self._reason_of(cause):
            errors.append(_err("FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: RowCause ({cause} is not a "
                               f"sharing reason of {shape.parent.name} that Apex or the API can write)", "RowCause"))
        level = row.get(level_name)
        label = shape.level_field.name
        if level is None:
            errors.append(_err("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{label}]", label))
        elif level not in GRANTABLE:
            why = "the All access level is reserved for the owner" if level == "All" else \
                f"{level} is not Read or Edit"
            errors.append(_err("FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {label} ({why})", label))
        else:
            base = default_level(shape.parent)
            if RANK[level] <= RANK.get(base, 0):
                errors.append(_err("FIELD_FILTER_VALIDATION_EXCEPTION", f"{label}: trivial share level {level}, for "
                                   f"organization with default level access {sharing_model(shape.parent)}", label))
        if shape.share.lower == "accountshare":
            for child in ACCOUNT_CHILD_LEVELS:
                value = row.get(child.lower())
                if value is None:
                    row[child.lower()] = "None"
                elif value not in ("None", "Read", "Edit"):
                    errors.append(_err("FIELD_INTEGRITY_EXCEPTION",
                                       f"field integrity exception: {child} ({value} is not None, Read or Edit)", child))
        who = row.get("userorgroupid")
        if who and old is None and str(who)[:3] == "005" and not self._active_user(run, who):
            errors.append(_err("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "UserOrGroupId"))
        if errors:
            raise RecordFailure(errors)

    def _reason_of(self, cause: str) -> str | None:
        fd = self.shape.share.find_field("RowCause")
        if fd is None or not cause.lower().endswith("__c"):
            return None
        return next((v for v in fd.picklist_values if v.lower() == cause.lower()), None)

    @staticmethod
    def _active_user(run: Any, user_id: str) -> bool:
        user = run.tx.schema.find("User")
        if user is None:
            return True
        hit = run.tx.execute(f"SELECT {user.field('IsActive').column} FROM {user.table} WHERE id = ? AND isdeleted = 0",
                             (user_id,)).fetchone()
        return hit is not None and bool(hit[0])

    def existing(self, run: Any, row: dict[str, Any]) -> str | None:
        """The id of a live row for the same parent, user or group and cause (an insert updates it)."""
        shape = self.shape
        hit = run.tx.execute(
            f"SELECT id FROM {shape.share.table} WHERE {shape.parent_field.column} = ? AND {shape.column('UserOrGroupId')}"
            f" = ? AND lower({shape.column('RowCause')}) = lower(?) AND isdeleted = 0",
            (row.get(shape.parent_field.lower), row.get("userorgroupid"), row.get("rowcause") or "Manual")).fetchone()
        return hit[0] if hit else None

    def merge(self, run: Any, row: dict[str, Any], same: str) -> None:
        from .values import to_db
        share = self.shape.share
        fds = [share.field(self.shape.level_field.name)]
        if share.lower == "accountshare":
            fds += [share.field(c) for c in ACCOUNT_CHILD_LEVELS]
        fds += [share.field("LastModifiedDate"), share.field("LastModifiedById")]
        row.update(lastmodifieddate=run.tx.now(), lastmodifiedbyid=run.tx.user_id)
        run.tx.execute(f"UPDATE {share.table} SET {', '.join(fd.column + ' = ?' for fd in fds)} WHERE id = ?",
                       [to_db(fd, row.get(fd.lower)) for fd in fds] + [same])
        row["id"] = same

    def refuse_delete(self, old: Mapping[str, Any]) -> RecordError | None:
        cause = str(old.get("rowcause") or "")
        if cause.lower() == "manual" or _is_reason(cause):
            return None
        return _err("DELETE_FAILED", f"cannot delete owner or rule share rows, id={old.get('id')}")

    def after_save(self, run: Any, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        return None


def _is_reason(cause: Any) -> bool:
    return isinstance(cause, str) and cause.lower().endswith("__c")


# -- DML: the shared records (Owner rows) -------------------------------------------------------------
class OwnerRowPlan:
    """Keeps the ``Owner`` row of each record of a Private/Read object (``dml._Run.sharing``)."""

    def __init__(self, shape: ShareShape) -> None:
        self.shape = shape

    def before_save(self, run: Any, row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
        return None

    def existing(self, run: Any, row: dict[str, Any]) -> str | None:
        return None

    def merge(self, run: Any, row: dict[str, Any], same: str) -> None:
        return None

    def refuse_delete(self, old: Mapping[str, Any]) -> RecordError | None:
        return None

    def after_save(self, run: Any, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        owner = row.get("ownerid")
        if not owner:
            return
        if old is None:
            self._write_owner_row(run.tx, row["id"], owner)
        elif old.get("ownerid") != owner:
            self._move(run.tx, row["id"], owner)

    def _write_owner_row(self, tx: Any, record_id: str, owner: str) -> None:
        from .values import to_db
        shape = self.shape
        share = shape.share
        values: dict[str, Any] = {shape.parent_field.lower: record_id, "userorgroupid": owner, "rowcause": "Owner",
                                  shape.level_field.lower: "All", "lastmodifieddate": tx.now(),
                                  "lastmodifiedbyid": tx.user_id}
        if share.lower == "accountshare":
            values.update({c.lower(): "None" for c in ACCOUNT_CHILD_LEVELS})
        n = tx.store._next_numbers(tx._conn, share.key_prefix, 1)
        values["id"] = make_id(share.key_prefix, n)
        fds = [fd for fd in share.fields.values() if fd.lower != "isdeleted"]
        tx.execute(f"INSERT INTO {share.table} (isdeleted, {', '.join(fd.column for fd in fds)}) "
                   f"VALUES (0{', ?' * len(fds)})", [to_db(fd, values.get(fd.lower)) for fd in fds])

    def _move(self, tx: Any, record_id: str, owner: str) -> None:
        """A new owner: the Owner row follows and the Manual rows go (Apex sharing reasons stay)."""
        from .values import to_db
        shape = self.shape
        cause, who = shape.column("RowCause"), shape.column("UserOrGroupId")
        parent = shape.parent_field.column
        tx.execute(f"DELETE FROM {shape.share.table} WHERE {parent} = ? AND lower({cause}) = 'manual'", (record_id,))
        stamp = to_db(shape.share.field("LastModifiedDate"), tx.now())
        done = tx.execute(f"UPDATE {shape.share.table} SET {who} = ?, {shape.column('LastModifiedDate')} = ?, "
                          f"{shape.column('LastModifiedById')} = ? WHERE {parent} = ? AND {cause} = 'Owner'",
                          (owner, stamp, tx.user_id, record_id))
        if done.rowcount == 0:
            self._write_owner_row(tx, record_id, owner)


class _Hooks(features.SharingHooks):
    def plan(self, tx: Any, od: Any) -> Any:
        low = od.lower
        if low.endswith("share"):
            shape = shape_of_share(tx.schema, od)
            return ShareRowPlan(shape) if shape is not None else None
        if "ownerid" not in od.fields or not keeps_owner_rows(od):
            return None
        shape = share_of(tx.schema, od)
        return OwnerRowPlan(shape) if shape is not None else None


features.sharing = _Hooks()
