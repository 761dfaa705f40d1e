"""Field sets: ``describe.fieldSets`` (``getMap()``, ``fieldSets.Name``), ``Schema.FieldSet`` and
``Schema.FieldSetMember``, read from the field sets a deploy stored on the object
(``localcloud.salesforce.data.fieldsets``). Without a data layer (pure-language runs) an object has none.
"""

from __future__ import annotations

from typing import Any

from . import ops
from .schemalib import DescribeFieldResult, DescribeSObjectResult, SObjectFieldToken, sobject_type_token
from .stdlib import CI_STRING, Native
from .values import ApexList, ApexMap, TypeRef


def _stored(sobject: str) -> list[dict[str, Any]]:
    getter = getattr(ops.CURRENT.prog.schema, "object_def", None)
    try:
        od = getter(sobject) if getter is not None else None
    except Exception:  # noqa: BLE001 - an object the org does not know has no field sets
        od = None
    return list(getattr(od, "raw", {}).get("_fieldSets") or [])


class FieldSetMember(Native):
    """A field of a field set: ``path`` as the schema spells it, ending on ``sobject``.``field``."""

    apex_type = "Schema.FieldSetMember"

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def _describe(self) -> DescribeFieldResult:
        return DescribeFieldResult(self.d["sobject"], self.d["field"])

    def m_getfieldpath(self, a):
        return self.d["path"]

    def m_getlabel(self, a):
        return self._describe().m_getlabel([])

    def m_gettype(self, a):
        return self._describe().m_gettype([])

    def m_getrequired(self, a):
        return bool(self.d.get("required"))

    def m_getdbrequired(self, a):
        """Required by the field's definition: not nillable, set on create, no default (checkboxes never)."""
        d = self._describe()
        return (d._g("nillable", True) is False and bool(d._g("createable", False))
                and not d._g("defaultedOnCreate", False) and str(d._g("type", "")) != "boolean")

    def m_getsobjectfield(self, a):
        return SObjectFieldToken(self.d["sobject"], self.d["field"])

    def __eq__(self, other):
        return isinstance(other, FieldSetMember) and other.d == self.d

    def __hash__(self):
        return hash((self.d["sobject"].lower(), self.d["path"].lower()))


class FieldSet(Native):
    apex_type = "Schema.FieldSet"

    def __init__(self, sobject: str, d: dict[str, Any]) -> None:
        self.sobject, self.d = sobject, d

    def m_getname(self, a):
        return self.d["name"]

    def m_getnamespace(self, a):
        return ""  # the local org has no namespace: an unmanaged field set's namespace is blank

    def m_getlabel(self, a):
        return self.d.get("label") or self.d["name"]

    def m_getdescription(self, a):
        return self.d.get("description") or ""

    def m_getfields(self, a):
        return ApexList([FieldSetMember(f) for f in self.d.get("fields") or []], TypeRef("Schema.FieldSetMember"))

    def m_getsobjecttype(self, a):
        return sobject_type_token(self.sobject)

    def __eq__(self, other):
        return (isinstance(other, FieldSet) and other.sobject.lower() == self.sobject.lower()
                and other.d["name"].lower() == self.d["name"].lower())

    def __hash__(self):
        return hash((self.sobject.lower(), self.d["name"].lower()))


class FieldSets(Native):
    """``describe.fieldSets``: ``getMap()`` (keys lowercased, looked up case-insensitively, as Salesforce's
    describe maps) and ``fieldSets.Name``."""

    apex_type = "Schema.FieldSets"

    def __init__(self, sobject: str) -> None:
        self.sobject = sobject

    def m_getmap(self, a):
        m = ApexMap((), CI_STRING, TypeRef("Schema.FieldSet"))
        for d in _stored(self.sobject):
            m[d["name"].lower()] = FieldSet(self.sobject, d)
        return m

    def apex_get(self, low):
        for d in _stored(self.sobject):
            if d["name"].lower() == low:
                return FieldSet(self.sobject, d)
        ops.throw("System.SObjectException", f"Invalid field set {low} for {self.sobject}")


DescribeSObjectResult.p_fieldsets = lambda self: FieldSets(self.d.get("name") or self.name)  # type: ignore[attr-defined]
