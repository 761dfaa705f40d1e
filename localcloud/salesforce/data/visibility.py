"""Record visibility: which rows of a Private object one user can read, as a SQL condition the SOQL engine
adds to a query (so ``COUNT()``, ``LIMIT``/``OFFSET``, aggregates and child subqueries stay right).

Used for SOQL in a sharing context (Apex ``with sharing`` code, ``WITH USER_MODE``/``AccessLevel.USER_MODE``),
and (``editable``) for update and delete there: editing needs ownership, an Edit/All share or "Modify All"
where the default is Private or Public Read Only.
A user reads a record of an object whose internal org-wide default is Private when they (or a queue or
group they are in, nested groups and the Organization group included: ``recordaccess.groups_of``) own it
or have a share row for it (``X__Share``/``AccountShare``...: the owner's row included). A Controlled by
Parent object (Contact, a master-detail detail) follows its parent; a Contact the user owns is readable
too. Users with View All Data / Modify All Data (System Administrator) or View All / Modify All on the
object read everything; Public Read Only and Read/Write objects are not filtered. Role hierarchy, sharing
rules and implicit shares are not modelled (``sharing.py``).
"""
from __future__ import annotations

import re
from typing import Any

from . import permissions, sharing
from .recordaccess import groups_of

_ID = re.compile(r"^[A-Za-z0-9]{15,18}$")
MAX_DEPTH = 3


def _parent_object(schema: Any, fd: Any) -> Any:
    targets = list(getattr(fd, "reference_to", None) or [])
    return schema.find(targets[0]) if len(targets) == 1 else None


#: the org-wide defaults under which records are not readable (editable) by everyone
LIMITED = {False: frozenset({"private"}), True: frozenset({"private", "read", "readselect"})}


def needs_filter(schema: Any, od: Any, depth: int = 0, edit: bool = False) -> bool:
    """Whether reading (``edit``: editing) ``od`` can be limited by sharing at all (cheap: no query)."""
    if od is None or depth > MAX_DEPTH:
        return False
    owned = "ownerid" in od.fields
    model = sharing.sharing_model(od).lower() if owned else "controlledbyparent"
    if model in LIMITED[edit]:
        return owned
    if model != "controlledbyparent":
        return False
    return any(needs_filter(schema, _parent_object(schema, fd), depth + 1, edit) for fd in sharing.parent_fields(od))


class Visibility:
    """What one (non-administrator) user reads; ``condition`` gives the SQL for one object's alias."""

    def __init__(self, schema: Any, user: permissions.UserAccess, principals: set[str]) -> None:
        self.schema = schema
        self.user = user
        self.principals = sorted(p for p in principals if p and _ID.match(p))
        self.marks = ", ".join(f"'{p}'" for p in self.principals)  # ids only (checked above): safe literals

    def condition(self, od: Any, alias: str, depth: int = 0, edit: bool = False) -> str | None:
        """SQL true for the rows of ``od`` (table alias ``alias``) the user reads (``edit``: may edit, from a
        Edit/All share or ownership); None: every row."""
        beyond = self.user.modify_all if edit else self.user.view_all
        if depth > MAX_DEPTH or od.lower in beyond or not needs_filter(self.schema, od, edit=edit):
            return None
        owned = "ownerid" in od.fields
        parts = [f"{alias}.{od.fields['ownerid'].column} IN ({self.marks})"] if owned else []
        model = sharing.sharing_model(od).lower() if owned else "controlledbyparent"
        if model in LIMITED[edit]:
            shape = sharing.share_of(self.schema, od)
            if shape is not None:
                levels = f" AND {shape.level_field.column} IN ('Edit', 'All')" if edit else ""
                parts.append(f"{alias}.id IN (SELECT {shape.parent_field.column} FROM {shape.share.table} "
                             f"WHERE {shape.column('UserOrGroupId')} IN ({self.marks}){levels} AND isdeleted = 0)")
        else:
            for k, fd in enumerate(sharing.parent_fields(od)):
                parent = _parent_object(self.schema, fd)
                if parent is None:
                    continue
                inner = f"p{depth}_{k}"
                cond = self.condition(parent, inner, depth + 1, edit)
                if cond is None:
                    parts.append(f"{alias}.{fd.column} IS NOT NULL")
                else:
                    parts.append(f"{alias}.{fd.column} IN (SELECT {inner}.id FROM {parent.table} AS {inner} "
                                 f"WHERE {inner}.isdeleted = 0 AND {cond})")
        return "(" + " OR ".join(parts) + ")" if parts else "0"

    def editable(self, tx: Any, od: Any, ids: list[str]) -> set[str]:
        """Those of ``ids`` (records of ``od``) the user may edit: one query."""
        cond = self.condition(od, "r", edit=True)
        if cond is None:
            return set(ids)
        marks = ", ".join("?" * len(ids))
        return {row[0] for row in tx.execute(f"SELECT r.id FROM {od.table} AS r WHERE r.id IN ({marks}) AND {cond}",
                                             ids)}


def for_user(tx: Any, user_id: str, source: permissions.DefinitionSource | None) -> Visibility | None:
    """The visibility of ``user_id``; None when they read every record (System Administrator, unknown user)."""
    user = permissions.load_user(tx, user_id, source)
    if user is None:
        return None
    return Visibility(tx.schema, user, {user_id} | groups_of(tx, user_id))


__all__ = ["Visibility", "for_user", "needs_filter"]
