"""``FormulaEval`` and ``Formula``: Salesforce formulas evaluated from Apex, on the local org's formula
engine (``localcloud.salesforce.formula``).

``Formula.builder()`` -> ``FormulaEval.FormulaBuilder``: ``withType(System.Type | Schema.SObjectType)``,
``withReturnType(FormulaEval.FormulaReturnType.X)``, ``withFormula(text)``,
``withGlobalVariables(List<FormulaEval.FormulaGlobal>)``, ``parseAsTemplate(Boolean)``,
``treatNumericNullAsZero(Boolean)``; ``build()`` validates (syntax, references, functions, types) and
throws ``System.FormulaValidationException`` naming the formula and column. The context type of an
Apex class must be global, and so must every property a formula reads (Salesforce rule); a path walks
Apex properties, then SObject fields and parent relationships (``record.Account.Name``).
``FormulaInstance.evaluate(obj)`` -> the value as the return type's Apex type (a blank Boolean is
false); failures throw ``System.FormulaEvaluationException``. ``getReferencedFields()`` -> the
references as written.

Globals (only those passed to ``withGlobalVariables``): ``$User``, ``$Profile``, ``$UserRole``,
``$Organization`` (fields of the running user's rows), ``$Setup.Setting__c.Field__c`` (hierarchy custom
settings, as ``getInstance()``), ``$CustomMetadata.Type__mdt.Record.Field__c``, ``$Permission.Name``
(custom permissions of the running user), ``$Label.Name`` (custom labels) and ``$System.OriginDateTime``.

``Formula.recalculateFormulas(records)`` computes the records' formula fields in memory
(``List<FormulaRecalcResult>``; a record whose formula fails has ``isSuccess() == false`` and one
``FormulaRecalcFieldError`` per failed field).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Callable

from . import ops
from .schemalib import SObjectTypeToken
from .stdlib import NAMESPACES, STATIC_METHODS, ApexType, Native, _make_enum, local, now
from .tables import BUILTIN_INSTALLERS
from .compiler import KNOWN_TYPES
from .values import ApexList, ApexObject, ApexSet, EnumValue, IdValue, SObject, TypeRef, wrap32, wrap64
from ..data.formulas import is_formula, stored_value
from ..formula import DESCRIBE_TYPES, Env, FormulaError, FormulaRuntimeError, FormulaTypeError, FType, SimpleField
from ..formula import build as build_formula

RETURN_TYPES = ["BOOLEAN", "DATE", "DATETIME", "DECIMAL", "DOUBLE", "ID", "INTEGER", "LONG", "STRING", "TIME"]
GLOBALS = ["CUSTOM_METADATA", "LABEL", "ORGANIZATION", "PERMISSION", "PROFILE", "SETUP", "SYSTEM", "USER",
           "USER_ROLE"]
_RESULT_FTYPES = {"BOOLEAN": FType.BOOLEAN, "DATE": FType.DATE, "DATETIME": FType.DATETIME,
                  "DECIMAL": FType.NUMBER, "DOUBLE": FType.NUMBER, "INTEGER": FType.NUMBER, "LONG": FType.NUMBER,
                  "ID": FType.TEXT, "STRING": FType.TEXT, "TIME": FType.TIME}
_APEX_FTYPES = {"string": FType.TEXT, "id": FType.TEXT, "integer": FType.NUMBER, "long": FType.NUMBER,
                "decimal": FType.NUMBER, "double": FType.NUMBER, "boolean": FType.BOOLEAN, "date": FType.DATE,
                "datetime": FType.DATETIME, "time": FType.TIME}
#: $Global -> (FormulaGlobal value that enables it, the setup object its fields come from)
_GLOBAL_ROWS = {"$user": ("USER", "User"), "$profile": ("PROFILE", "Profile"),
                "$userrole": ("USER_ROLE", "UserRole"), "$organization": ("ORGANIZATION", "Organization")}
_GLOBAL_ENABLERS = {"$setup": "SETUP", "$permission": "PERMISSION", "$custommetadata": "CUSTOM_METADATA",
                    "$label": "LABEL", "$system": "SYSTEM", **{k: v[0] for k, v in _GLOBAL_ROWS.items()}}
ORIGIN = _dt.datetime(1900, 1, 1, tzinfo=_dt.timezone.utc)
Reader = Callable[[Any], Any]


def _prog() -> Any:
    return ops.CURRENT.prog


def _validation(message: str) -> None:
    ops.throw("System.FormulaValidationException", message)


# -- references: Apex properties, then SObject fields ------------------------------------------------
def _object_def(name: str) -> Any:
    schema = _prog().schema
    # without a data layer (pure-language runs) the standard objects still type their fields
    lookup = getattr(schema, "object_def", None) or getattr(getattr(schema, "_data", None), "object_def", None)
    try:
        return lookup(name) if lookup is not None else None
    except Exception:  # noqa: BLE001 - an unknown object: the reference does not exist
        return None


def _apex_reader(low: str) -> Reader:
    def read(obj: Any) -> Any:
        if obj is None:
            return None
        if isinstance(obj, SObject):
            return obj.fields.get(low)
        return _prog().get_member(obj, low)
    return read


def _sobject_reader(low: str) -> Reader:
    return lambda obj: obj.fields.get(low) if isinstance(obj, SObject) else None


def _dynamic_reader(low: str) -> Reader:
    def read(obj: Any) -> Any:
        if obj is None:
            return None
        if isinstance(obj, SObject):
            return obj.fields.get(low)
        if isinstance(obj, ApexObject):
            fi = obj.cls.find_field(low)
            if fi is None or "global" not in fi.modifiers:
                raise FormulaRuntimeError(f"Field {low} does not exist on {obj.cls.name}")
            return _prog().get_member(obj, low)
        raise FormulaRuntimeError(f"Cannot read {low} from a {ops.type_name(obj)}")
    return read


def _chain(readers: list[Reader]) -> Reader:
    def read(root: Any) -> Any:
        v = root
        for r in readers:
            if v is None:
                return None
            v = r(v)
        return v
    return read


def _classify(ref: TypeRef) -> tuple[str, Any]:
    """``("scalar", FType)``, ``("apex", ApexClass)``, ``("sobject", name)`` or ``("any", None)``."""
    name = ref.name
    if name in _APEX_FTYPES:
        return "scalar", _APEX_FTYPES[name]
    if name in ("object", "sobject"):
        return "any", None
    prog = _prog()
    if prog.is_sobject_type(name):
        return "sobject", prog.sobject_name(name)
    cls = prog.resolve_class(ref)
    if cls is not None and cls.kind == "class" and not ref.args:
        return "apex", cls
    return "scalar", None  # collections, enums, system classes: not readable in formulas


def _field_ftype(fd: Any, where: str) -> FType:
    t = DESCRIBE_TYPES.get(fd.type)
    if t is None:
        raise FormulaTypeError(f"Field {where} has the type {fd.type}, which formulas cannot read")
    return t


class ApexResolver:
    """Types and reads references from the context type: an Apex class or an SObject type."""

    def __init__(self, root: tuple[str, Any], globals_enabled: set[str]) -> None:
        self.root = root
        self.globals_enabled = globals_enabled

    def resolve(self, path: tuple[str, ...]) -> SimpleField | None:
        if path[0].startswith("$"):
            return self._global(path)
        return _walk(self.root, path)

    def _global(self, path: tuple[str, ...]) -> SimpleField | None:
        head = path[0].lower()
        enabler = _GLOBAL_ENABLERS.get(head)
        if enabler is None or enabler not in self.globals_enabled:
            return None
        if head in _GLOBAL_ROWS:
            return _setup_row_field(_GLOBAL_ROWS[head][1], path)
        if head == "$system" and len(path) == 2 and path[1].lower() == "origindatetime":
            return SimpleField(FType.DATETIME, lambda root: ORIGIN)
        if head == "$permission" and len(path) == 2:
            check = STATIC_METHODS[("featuremanagement", "checkpermission")]
            name = path[1]
            return SimpleField(FType.BOOLEAN, lambda root: bool(check([name])))
        if head in ("$setup", "$custommetadata"):
            return _settings_field(head, path)
        if head == "$label" and len(path) == 2:
            return _label_field(path[1])
        return None


def _walk(root: tuple[str, Any], path: tuple[str, ...]) -> SimpleField | None:
    kind, target = root
    readers: list[Reader] = []
    for seg in path:
        low = seg.lower()
        if kind == "apex":
            fi = target.find_field(low)
            if fi is None or fi.static or "global" not in fi.modifiers:
                return None
            readers.append(_apex_reader(low))
            kind, target = _classify(fi.type)
        elif kind == "sobject":
            od = _object_def(target)
            fd = od.find_field(seg) if od is not None else None
            if fd is not None and fd.type not in ("address", "location"):
                readers.append(_sobject_reader(fd.lower))
                kind, target = "scalar", _field_ftype(fd, f"{target}.{fd.name}")
                continue
            rel = od.relationship(seg) if od is not None else None
            if rel is None or not rel.reference_to:
                return None
            readers.append(_sobject_reader(rel.relationship_name.lower()))
            kind, target = ("any", None) if rel.polymorphic else ("sobject", rel.reference_to[0])
        elif kind == "any":
            readers.append(_dynamic_reader(low))
        else:
            return None  # a scalar has no fields
    if kind == "scalar" and target is not None:
        return SimpleField(target, _chain(readers))
    if kind == "any":
        return SimpleField(FType.ANY, _chain(readers))
    return None  # an object, not a field


def _setup_row_field(sobject: str, path: tuple[str, ...]) -> SimpleField | None:
    if len(path) != 2:
        return None
    od = _object_def(sobject)
    fd = od.find_field(path[1]) if od is not None else None
    if fd is None:
        return None
    ftype = _field_ftype(fd, f"{path[0]}.{fd.name}")
    field = fd.name

    def read(root: Any) -> Any:
        row_id = _running_ids().get(sobject.lower())
        if not row_id:
            return None
        from .dml import _session
        rows = _session(_prog()).query(f"SELECT {field} FROM {sobject} WHERE Id = :rid", {"rid": str(row_id)},
                                       typed=True).records
        return rows[0].get(field) if rows else None
    return SimpleField(ftype, read)


def _label_field(name: str) -> SimpleField | None:
    """$Label.Name: the deployed custom label (unknown names fail at build when the org's labels are known)."""
    low = name.lower()
    labels = _prog().labels
    if labels is not None and low not in labels:
        return None

    def read(root: Any) -> Any:
        known = _prog().labels or {}
        if low not in known:
            raise FormulaRuntimeError(f"Custom label {name} does not exist in this org")
        return known[low]
    return SimpleField(FType.TEXT, read)


def _running_ids() -> dict[str, Any]:
    user = STATIC_METHODS
    return {"user": user[("userinfo", "getuserid")]([]), "profile": user[("userinfo", "getprofileid")]([]),
            "userrole": user[("userinfo", "getuserroleid")]([]),
            "organization": user[("userinfo", "getorganizationid")]([])}


def _settings_field(head: str, path: tuple[str, ...]) -> SimpleField | None:
    from . import settingslib
    prog = _prog()
    record_name = None
    if head == "$setup" and len(path) == 3:
        sobject, field = path[1], path[2]
    elif head == "$custommetadata" and len(path) == 4:
        sobject, record_name, field = path[1], path[2], path[3]
    else:
        return None
    od = _object_def(sobject)
    fd = od.find_field(field) if od is not None else None
    if fd is None or not settingslib.supports(prog, od.name, "getinstance"):
        return None
    ftype = _field_ftype(fd, f"{sobject}.{fd.name}")
    name, low = od.name, fd.lower

    def read(root: Any) -> Any:
        args = [record_name] if record_name is not None else []
        row = settingslib.call(_prog(), name, "getinstance", args)
        return row.fields.get(low) if isinstance(row, SObject) else None
    return SimpleField(ftype, read)


# -- FormulaEval.FormulaBuilder / FormulaInstance -------------------------------------------------------
def _context_root(t: Any) -> tuple[str, Any]:
    if isinstance(t, SObjectTypeToken):
        return "sobject", t.name
    if isinstance(t, ApexType):
        prog = _prog()
        if t.cls is not None and t.cls.kind == "class" and not prog.is_sobject_type(t.ref.name):
            return "apex", t.cls
        if prog.is_sobject_type(t.ref.name):
            return "sobject", prog.sobject_name(t.ref.name)
    _validation(f"withType: {ops.to_str(t)} is not an Apex class or an SObject type")
    raise AssertionError  # unreachable: _validation throws


def _global_class(cls: Any) -> bool:
    c = cls
    while c is not None:
        if "global" not in c.modifiers:
            return False
        c = c.outer
    return True


class FormulaBuilder(Native):
    apex_type = "FormulaEval.FormulaBuilder"

    def __init__(self) -> None:
        self.context: Any = None
        self.return_type: str | None = None
        self.formula: str | None = None
        self.globals: set[str] = set()
        self.template = False
        self.null_as_zero = False

    def m_withtype(self, a):
        self.context = a[0]
        return self

    def m_withreturntype(self, a):
        self.return_type = a[0].name if isinstance(a[0], EnumValue) else None
        return self

    def m_withformula(self, a):
        self.formula = a[0]
        return self

    def m_withglobalvariables(self, a):
        self.globals = {v.name for v in (a[0] or []) if isinstance(v, EnumValue)}
        return self

    def m_parseastemplate(self, a):
        self.template = bool(a[0])
        return self

    def m_treatnumericnullaszero(self, a):
        self.null_as_zero = bool(a[0])
        return self

    def m_build(self, a):
        if self.return_type is None:
            _validation("Formula return type is required: call withReturnType()")
        if self.context is None:
            _validation("Formula context type is required: call withType()")
        if not self.formula or not str(self.formula).strip():
            _validation("Formula expression is required: call withFormula()")
        root = _context_root(self.context)
        if root[0] == "apex" and not _global_class(root[1]):
            _validation(f"The context type {root[1].name} must be a global Apex class (and every property the "
                        "formula reads must be global)")
        resolver = ApexResolver(root, self.globals)
        try:
            formula = build_formula(str(self.formula), resolver, _RESULT_FTYPES[self.return_type],
                                    null_as_zero=self.null_as_zero, template=self.template)
        except FormulaError as e:
            _validation(str(e))
        return FormulaInstance(formula, self.return_type, root)


class FormulaInstance(Native):
    apex_type = "FormulaEval.FormulaInstance"

    def __init__(self, formula: Any, return_type: str, root: tuple[str, Any]) -> None:
        self.formula = formula
        self.return_type = return_type
        self.root = root

    def m_evaluate(self, a):
        obj = a[0] if a else None
        self._check_context(obj)
        n = now()
        try:
            value = self.formula.evaluate_env(Env(obj, now=n, today=local(n).date()))
        except FormulaError as e:
            ops.throw("System.FormulaEvaluationException", str(e))
        return to_apex(value, self.return_type)

    def _check_context(self, obj: Any) -> None:
        kind, target = self.root
        ok = (isinstance(obj, ApexObject) and obj.cls.is_subclass_of(target)) if kind == "apex" else \
            (isinstance(obj, SObject) and obj.type_name.lower() == str(target).lower())
        if not ok:
            expected = target.name if kind == "apex" else target
            ops.throw("System.FormulaEvaluationException",
                      f"The context object must be of the type {expected}, not {ops.type_name(obj)}")

    def m_getreferencedfields(self, a):
        return ApexSet(self.formula.referenced_fields, TypeRef("String"))


def to_apex(value: Any, return_type: str) -> Any:
    """A formula value as the Apex type of ``FormulaReturnType.<return_type>``."""
    if return_type == "BOOLEAN":
        return bool(value)
    if value is None:
        return None
    if return_type == "DECIMAL":
        return value
    if return_type == "DOUBLE":
        return float(value)
    if return_type == "INTEGER":
        return wrap32(int(value))
    if return_type == "LONG":
        return wrap64(int(value))
    if return_type == "ID":
        try:
            return IdValue(str(value))
        except ValueError:
            ops.throw("System.FormulaEvaluationException", f"Invalid id: {value}")
    return value


# -- Formula.recalculateFormulas ------------------------------------------------------------------------
class FormulaRecalcFieldError(Native):
    apex_type = "System.FormulaRecalcFieldError"

    def __init__(self, field: str, message: str) -> None:
        self.field, self.message = field, message

    def m_getfieldname(self, a):
        return self.field

    def m_getfielderror(self, a):
        return self.message


class FormulaRecalcResult(Native):
    apex_type = "System.FormulaRecalcResult"

    def __init__(self, record: SObject, errors: list[FormulaRecalcFieldError]) -> None:
        self.record, self.errors = record, errors

    def m_getsobject(self, a):
        return self.record

    def m_issuccess(self, a):
        return not self.errors

    def m_geterrors(self, a):
        return ApexList(self.errors, TypeRef("System.FormulaRecalcFieldError"))


def _recalculate(a):
    records = a[0]
    if records is None:
        ops.npe()
    out = []
    n = now()
    for rec in records:
        if not isinstance(rec, SObject):
            ops.throw("System.TypeException", "Formula.recalculateFormulas expects a list of SObjects")
        od = _object_def(rec.type_name)
        errors: list[FormulaRecalcFieldError] = []
        for fd in (od.fields.values() if od is not None else ()):
            if not is_formula(fd):
                continue
            short = fd.name[:-3] if fd.name.endswith("__c") else fd.name
            try:
                f = build_formula(fd.raw["calculatedFormula"], ApexResolver(("sobject", od.name), set(GLOBALS)),
                                  DESCRIBE_TYPES.get(fd.type),
                                  null_as_zero=bool(fd.raw.get("formulaTreatNullNumberAsZero")))
                value = f.evaluate_env(Env(rec, now=n, today=local(n).date()))
            except FormulaError as e:
                errors.append(FormulaRecalcFieldError(short, e.message))
                continue
            rec.put(fd.name, stored_value(fd, value))
        out.append(FormulaRecalcResult(rec, errors))
    return ApexList(out, TypeRef("System.FormulaRecalcResult"))


# -- registration ---------------------------------------------------------------------------------
NAMESPACES.update({"formula", "formulaeval"})
KNOWN_TYPES.update({"formularecalcresult", "formularecalcfielderror"})
STATIC_METHODS[("formula", "builder")] = lambda a: FormulaBuilder()
STATIC_METHODS[("formula", "recalculateformulas")] = _recalculate


def install(p: Any) -> None:
    _make_enum(p, "FormulaEval.FormulaReturnType", RETURN_TYPES, ())
    _make_enum(p, "FormulaEval.FormulaGlobal", GLOBALS, ())


BUILTIN_INSTALLERS.append(install)
