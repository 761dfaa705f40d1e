"""Schema describes: SObjectType tokens, DescribeSObjectResult, SObjectField tokens, DescribeFieldResult.

Backed by the data layer's describe (REST describe shape) when a data layer is attached; without it
only names are known (pure-language runs).
"""

from __future__ import annotations

from typing import Any

from . import ops
from .stdlib import CI_STRING, NAMESPACES, STATIC_METHODS, STATIC_PROPS, STR, Native, NativeEnumValue
from .tables import provide
from .values import ApexList, ApexMap, IdValue, SObject, TypeRef


def _describe(name: str) -> dict[str, Any]:
    p = ops.CURRENT.prog
    try:
        d = p.schema.describe(name)
    except Exception:  # noqa: BLE001 - unknown object
        d = None
    return d or {"name": name, "label": name, "labelPlural": name, "fields": [], "keyPrefix": None,
                 "custom": name.endswith("__c"), "createable": True, "updateable": True, "deletable": True,
                 "queryable": True, "accessible": True}


def _field_describe(sobject: str, low: str) -> dict[str, Any] | None:
    return next((f for f in _describe(sobject).get("fields") or [] if str(f.get("name", "")).lower() == low), None)


def _running_user_access(sobject: str) -> tuple[Any, Any]:
    """(the running user's access, the object's definition) when describes answer for that user; (None, None)
    for users and orgs where USER_MODE is not checked (System Administrators, ECBRIDGE_ORG_ENFORCE_USER_MODE=off)."""
    from . import access

    prog = ops.CURRENT.prog
    user = access.current_access(prog)
    if user is None:
        return None, None
    od = prog.tx.data.tx.schema.find(sobject)  # the data transaction's schema, as the DML checks use
    return (user, od) if od is not None else (None, None)


class SObjectTypeToken(Native):
    apex_type = "Schema.SObjectType"

    def __init__(self, name: str) -> None:
        self.name = name

    def apex_str(self) -> str:
        return self.name

    def m_getdescribe(self, a):
        return DescribeSObjectResult(self.name)

    def m_newsobject(self, a):
        so = SObject(self.name)
        if a and a[0] is not None:
            so.put("Id", a[0])
        if len(a) > 1 and a[1]:  # newSObject(recordTypeId, loadDefaults): the fields' default values
            for name, value in _default_values(self.name):
                so.put(name, value)
        return so

    def p_fields(self):
        return FieldsToken(self.name)

    def m_equals(self, a):
        return isinstance(a[0], SObjectTypeToken) and a[0].name.lower() == self.name.lower()

    def __eq__(self, other):
        return isinstance(other, SObjectTypeToken) and other.name.lower() == self.name.lower()

    def __hash__(self):
        return hash(self.name.lower())

    def apex_json(self):
        return self.name


def _default_values(sobject: str) -> list[tuple[str, Any]]:
    """Field defaults newSObject(null, true) loads: literal defaults, numeric default formulas, checkboxes."""
    from decimal import Decimal, InvalidOperation
    getter = getattr(ops.CURRENT.prog.schema, "object_def", None)
    od = getter(sobject) if getter is not None else None
    out: list[tuple[str, Any]] = []
    for fd in (od.fields.values() if od is not None else ()):
        if not fd.createable or fd.lower == "id":
            continue
        if fd.default_value is not None:
            out.append((fd.name, fd.default_value))
            continue
        formula = (fd.raw.get("defaultValueFormula") or "").strip()
        if formula and fd.type in ("double", "currency", "percent", "int"):
            try:
                number = Decimal(formula)
            except InvalidOperation:
                continue
            out.append((fd.name, int(number) if fd.type == "int" else number))
        elif fd.type == "boolean":
            out.append((fd.name, formula.lower() == "true"))
    return out


@provide("sobject_type_token")
def sobject_type_token(name: str) -> SObjectTypeToken:
    return SObjectTypeToken(ops.CURRENT.prog.sobject_name(name))


class FieldsToken(Native):
    apex_type = "Schema.SObjectTypeFields"

    def __init__(self, sobject: str, describe: bool = False) -> None:
        self.sobject = sobject
        self.describe = describe

    def apex_get(self, low: str) -> Any:
        p = ops.CURRENT.prog
        name = p.sobject_field_name(self.sobject, low)
        if name is None:
            ops.throw("System.SObjectException", f"Invalid field {low} for {self.sobject}")
        if self.describe:
            return DescribeFieldResult(self.sobject, name)
        return SObjectFieldToken(self.sobject, name)

    def m_getmap(self, a):
        d = _describe(self.sobject)
        m = ApexMap((), CI_STRING, TypeRef("Schema.SObjectField"))
        for f in d.get("fields", []):
            m[f["name"].lower()] = SObjectFieldToken(self.sobject, f["name"])
        return m


@provide("sobject_field_token")
class SObjectFieldToken(Native):
    apex_type = "Schema.SObjectField"

    def __init__(self, sobject: str, field: str) -> None:
        self.sobject = sobject
        self.field = field

    def apex_str(self) -> str:
        return self.field

    def m_getdescribe(self, a):
        return DescribeFieldResult(self.sobject, self.field)

    def __eq__(self, other):
        return isinstance(other, SObjectFieldToken) and other.field.lower() == self.field.lower() and \
            other.sobject.lower() == self.sobject.lower()

    def __hash__(self):
        return hash((self.sobject.lower(), self.field.lower()))

    def apex_get(self, low: str):
        """``Schema.X__Share.RowCause.Reason__c``: an Apex sharing reason of X__c, as the String stored in
        RowCause (the reason's API name)."""
        if self.field.lower() == "rowcause" and self.sobject.lower().endswith("__share") and low.endswith("__c"):
            for value in (_field_describe(self.sobject, "rowcause") or {}).get("picklistValues") or []:
                if str(value.get("value", "")).lower() == low:
                    return value["value"]
            return low
        ops.throw("System.TypeException", f"Variable does not exist: {low} on Schema.SObjectField")


class DescribeSObjectResult(Native):
    apex_type = "Schema.DescribeSObjectResult"

    def __init__(self, name: str) -> None:
        self.name = name
        self.d = _describe(name)

    def m_getname(self, a):
        return self.d.get("name", self.name)

    def m_getlabel(self, a):
        return self.d.get("label", self.name)

    def m_getlabelplural(self, a):
        return self.d.get("labelPlural", self.name)

    def m_getkeyprefix(self, a):
        return self.d.get("keyPrefix")

    def m_iscustom(self, a):
        return bool(self.d.get("custom"))

    def _user_can(self, verb: str) -> bool:
        user, od = _running_user_access(self.name)
        return user is None or user.can(od.name, verb)

    def m_isaccessible(self, a):
        return self._user_can("read")

    def m_iscreateable(self, a):
        return bool(self.d.get("createable", True)) and self._user_can("create")

    def m_isupdateable(self, a):
        return bool(self.d.get("updateable", True)) and self._user_can("edit")

    def m_isdeletable(self, a):
        return bool(self.d.get("deletable", True)) and self._user_can("delete")

    def m_isqueryable(self, a):
        return bool(self.d.get("queryable", True))

    def m_getsobjecttype(self, a):
        return SObjectTypeToken(self.m_getname(a))

    def p_fields(self):
        return FieldsToken(self.name, True)

    def m_fields(self, a):
        return FieldsToken(self.name, True)


class PicklistEntry(Native):
    apex_type = "Schema.PicklistEntry"

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def m_getvalue(self, a):
        return self.d.get("value")

    def m_getlabel(self, a):
        return self.d.get("label")

    def m_isactive(self, a):
        return bool(self.d.get("active", True))

    def m_isdefaultvalue(self, a):
        return bool(self.d.get("defaultValue", False))

    # read as properties too (``entry.value``, ``entry.label``), as Apex allows
    def p_value(self):
        return self.d.get("value")

    def p_label(self):
        return self.d.get("label")


class DescribeFieldResult(Native):
    apex_type = "Schema.DescribeFieldResult"

    def __init__(self, sobject: str, field: str) -> None:
        self.sobject = sobject
        self.field = field
        d = _describe(sobject)
        self.d = next((f for f in d.get("fields", []) if f["name"].lower() == field.lower()),
                      {"name": field, "label": field, "type": "string"})

    def _g(self, key, default=None):
        return self.d.get(key, default)

    def m_getname(self, a):
        return self._g("name")

    def m_getlabel(self, a):
        return self._g("label")

    def m_gettype(self, a):
        return DisplayType(str(self._g("type", "string")).upper())

    def m_getlength(self, a):
        return self._g("length", 0)

    def m_getprecision(self, a):
        return self._g("precision", 0)

    def m_getscale(self, a):
        return self._g("scale", 0)

    def m_isnillable(self, a):
        return bool(self._g("nillable", True))

    def m_isexternalid(self, a):
        return bool(self._g("externalId", False))

    def m_isunique(self, a):
        return bool(self._g("unique", False))

    def m_iscustom(self, a):
        return bool(self._g("custom", False))

    def _user_may(self, edit: bool, verb: str = "read") -> bool:
        """Field-level security for the running user (the object's read permission included; a field is
        createable/updateable for a user only with the object's create/edit permission, as in Salesforce)."""
        user, od = _running_user_access(self.sobject)
        fd = od.find_field(self.field) if od is not None else None
        if user is None or fd is None:
            return True
        if edit:
            return user.can(od.name, verb) and user.editable(od, fd)
        return user.readable(od, fd)

    def m_isaccessible(self, a):
        return self._user_may(edit=False)

    def m_iscreateable(self, a):
        return bool(self._g("createable", True)) and self._user_may(edit=True, verb="create")

    def m_isupdateable(self, a):
        return bool(self._g("updateable", True)) and self._user_may(edit=True, verb="edit")

    def m_getrelationshipname(self, a):
        return self._g("relationshipName")

    def m_getreferenceto(self, a):
        from .schemalib import SObjectTypeToken as T
        return ApexList([T(n) for n in self._g("referenceTo", []) or []], TypeRef("Schema.SObjectType"))

    def m_getpicklistvalues(self, a):
        return ApexList([PicklistEntry(p) for p in self._g("picklistValues", []) or []],
                        TypeRef("Schema.PicklistEntry"))

    def m_getdefaultvalue(self, a):
        return self._g("defaultValue")

    def m_getsobjectfield(self, a):
        return SObjectFieldToken(self.sobject, self.field)

    def m_getlocalname(self, a):
        return self._g("name")

    def m_getdescribe(self, a):
        return self


class DisplayType(NativeEnumValue):
    apex_type = "Schema.DisplayType"


@provide("sobject_types")
class SObjectTypeNamespace(Native):
    """Schema.SObjectType.<Name> -> DescribeSObjectResult (as Salesforce's shortcut does)."""

    apex_type = "Schema.SObjectType"

    def apex_get(self, low: str) -> Any:
        p = ops.CURRENT.prog
        if not p.is_sobject_type(low):
            ops.throw("System.SObjectException", f"Invalid sObject type: {low}")
        return DescribeSObjectResult(p.sobject_name(low))


def _global_describe(a):
    p = ops.CURRENT.prog
    names = []
    try:
        names = [o["name"] for o in p.schema.schema.describe_global()["sobjects"]]  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - no data layer: standard names only
        from .schema import STANDARD_OBJECTS
        names = STANDARD_OBJECTS
    m = ApexMap((), CI_STRING, TypeRef("Schema.SObjectType"))
    for n in names:
        m[n.lower()] = SObjectTypeToken(n)
    return m


STATIC_METHODS[("schema", "getglobaldescribe")] = _global_describe
STATIC_METHODS[("schema", "describesobjects")] = lambda a: ApexList([DescribeSObjectResult(
    ops.CURRENT.prog.sobject_name(n)) for n in a[0]], TypeRef("Schema.DescribeSObjectResult"))
NAMESPACES.add("schema.sobjecttype")


# -- the rest of the describe surface (issue 18): answered from the same describe dicts ----------------
def _flag(key: str, default: bool = False):
    def get(self, a):
        return bool(self.d.get(key, default))
    return get


def _value(key: str, default: Any = None):
    def get(self, a):
        return self.d.get(key, default)
    return get


for _key in ("undeletable", "mergeable", "searchable", "triggerable", "feedEnabled", "customSetting", "mruEnabled",
             "layoutable", "deprecatedAndHidden", "hasSubtypes", "isInterface", "isSubtype", "replicateable",
             "retrieveable", "activateable", "deepCloneable"):
    _name = _key if _key.startswith(("is", "has")) else "is" + _key
    setattr(DescribeSObjectResult, "m_" + _name.lower(), _flag(_key))
DescribeSObjectResult.m_getlocalname = _value("name")  # type: ignore[attr-defined]
DescribeSObjectResult.m_getassociateentitytype = _value("associateEntityType")  # type: ignore[attr-defined]
DescribeSObjectResult.m_getassociateparententity = _value("associateParentEntity")  # type: ignore[attr-defined]
class RecordTypeInfo(Native):
    """Schema.RecordTypeInfo, from the describe's ``recordTypeInfos`` (Master and, with Person Accounts,
    Account's Business_Account and PersonAccount)."""

    apex_type = "Schema.RecordTypeInfo"

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def m_getrecordtypeid(self, a):
        return IdValue(self.d["recordTypeId"])

    def m_getname(self, a):
        return self.d.get("name")

    def m_getdevelopername(self, a):
        return self.d.get("developerName")

    m_isactive = _flag("active", True)
    m_isavailable = _flag("available", True)
    m_isdefaultrecordtypemapping = _flag("defaultRecordTypeMapping")
    m_ismaster = _flag("master")


def _record_type_infos(self) -> list[RecordTypeInfo]:
    return [RecordTypeInfo(d) for d in self.d.get("recordTypeInfos") or []]


def _record_type_map(key: str, key_type: Any):
    def get(self, a):
        m = ApexMap((), key_type, TypeRef("Schema.RecordTypeInfo"))
        for info in _record_type_infos(self):
            k = info.d.get(key)
            m[IdValue(k) if key == "recordTypeId" else k] = info
        return m
    return get


DescribeSObjectResult.m_getrecordtypeinfos = lambda self, a: ApexList(_record_type_infos(self), TypeRef("Schema.RecordTypeInfo"))  # type: ignore[attr-defined]
DescribeSObjectResult.m_getrecordtypeinfosbyid = _record_type_map("recordTypeId", TypeRef("Id"))  # type: ignore[attr-defined]
DescribeSObjectResult.m_getrecordtypeinfosbyname = _record_type_map("name", STR)  # type: ignore[attr-defined]
DescribeSObjectResult.m_getrecordtypeinfosbydevelopername = _record_type_map("developerName", STR)  # type: ignore[attr-defined]


def _child_relationships(self, a):
    out = []
    for rel in self.d.get("childRelationships") or []:
        out.append(ChildRelationship(rel))
    return ApexList(out, TypeRef("Schema.ChildRelationship"))


DescribeSObjectResult.m_getchildrelationships = _child_relationships  # type: ignore[attr-defined]


class ChildRelationship(Native):
    apex_type = "Schema.ChildRelationship"

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def _key(self) -> tuple[str, str, str]:
        d = self.d
        return (str(d.get("childSObject") or "").lower(), str(d.get("field") or "").lower(),
                str(d.get("relationshipName") or "").lower())

    def __eq__(self, other):  # two describes of one relationship are equal (Map/Set keys)
        return isinstance(other, ChildRelationship) and other._key() == self._key()

    def __hash__(self):
        return hash(self._key())

    def m_getchildsobject(self, a):
        return sobject_type_token(self.d.get("childSObject"))

    def m_getfield(self, a):
        return SObjectFieldToken(self.d.get("childSObject"), self.d.get("field"))

    def m_getrelationshipname(self, a):
        return self.d.get("relationshipName")

    m_iscascadedelete = _flag("cascadeDelete")
    m_isrestricteddelete = _flag("restrictedDelete")
    m_isdeprecatedandhidden = _flag("deprecatedAndHidden")


for _key in ("nameField", "idLookup", "autoNumber", "calculated", "caseSensitive", "defaultedOnCreate", "filterable",
             "groupable", "sortable", "htmlFormatted", "restrictedPicklist", "dependentPicklist", "cascadeDelete",
             "restrictedDelete", "permissionable", "encrypted", "writeRequiresMasterRead", "deprecatedAndHidden",
             "namePointing", "searchPrefilterable", "aiPredictionField", "formulaTreatNullNumberAsZero",
             "polymorphicForeignKey", "queryByDistance"):
    setattr(DescribeFieldResult, "m_is" + _key.lower(), _flag(_key))
for _key in ("inlineHelpText", "calculatedFormula", "digits", "byteLength", "relationshipOrder", "controllerName",
             "defaultValueFormula", "mask", "maskType", "referenceTargetField", "compoundFieldName", "extraTypeInfo"):
    setattr(DescribeFieldResult, "m_get" + _key.lower(), _value(_key))
DescribeFieldResult.m_getcontroller = lambda self, a: None  # type: ignore[attr-defined]


def _soap_type(self, a):
    from .systemlib import soap_type
    return soap_type(self.d.get("soapType"))


DescribeFieldResult.m_getsoaptype = _soap_type  # type: ignore[attr-defined]


DISPLAY_TYPES = ("ADDRESS", "ANYTYPE", "BASE64", "BOOLEAN", "COMBOBOX", "COMPLEXVALUE", "CURRENCY", "DATACATEGORYGROUPREFERENCE",
                 "DATE", "DATETIME", "DOUBLE", "EMAIL", "ENCRYPTEDSTRING", "ID", "INTEGER", "JSON", "LOCATION", "LONG",
                 "MULTIPICKLIST", "PERCENT", "PHONE", "PICKLIST", "REFERENCE", "SOBJECT", "STRING", "TEXTAREA", "TIME",
                 "URL")
for _ns in ("schema.displaytype", "displaytype"):
    NAMESPACES.add(_ns)
    for _v in DISPLAY_TYPES:
        STATIC_PROPS[(_ns, _v.lower())] = (lambda v: lambda: DisplayType(v))(_v)
STATIC_METHODS[("schema.displaytype", "values")] = STATIC_METHODS[("displaytype", "values")] = \
    lambda a: ApexList([DisplayType(v) for v in DISPLAY_TYPES], TypeRef("Schema.DisplayType"))


DescribeFieldResult.m_getsobjecttype = lambda self, a: sobject_type_token(self.sobject)  # type: ignore[attr-defined]
