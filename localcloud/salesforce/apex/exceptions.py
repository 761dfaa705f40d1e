"""Methods every Apex exception has (System.Exception), and the implicit exception constructors."""

from __future__ import annotations

from typing import Any

from . import ops
from .model import ApexClass, Method
from .values import ApexList, ApexObject, TypeRef


def exception_ctor(obj: ApexObject, args: list[Any]) -> None:
    """Exception(), Exception(String), Exception(Exception cause), Exception(String, Exception)."""
    f = obj.fields
    if len(args) == 1:
        a = args[0]
        if isinstance(a, ApexObject) and a.cls.is_exception:
            f["__cause"] = a
            f["__message"] = ops.to_str(a) if a is not None else None
        else:
            f["__message"] = a if a is None else ops.to_str(a)
    elif len(args) == 2:
        f["__message"] = args[0]
        f["__cause"] = args[1]
    elif len(args) > 2:
        ops.throw("System.TypeException", "Constructor not defined: Exception with more than 2 arguments")


def _type_name(obj: ApexObject) -> str:
    return obj.cls.name


def _dml(obj: ApexObject, i: int) -> Any:
    rows = obj.fields.get("__dml") or []
    if not 0 <= i < len(rows):
        ops.throw("System.ListException", f"List index out of bounds: {i}")
    return rows[i]


def _inaccessible_fields(obj: ApexObject, args: list[Any]) -> Any:
    """QueryException.getInaccessibleFields(): object name -> the field names user mode refused."""
    from .values import ApexMap, ApexSet
    found = obj.fields.get("__inaccessible") or {}
    return ApexMap({k: ApexSet(v, TypeRef("String")) for k, v in found.items()}, TypeRef("String"),
                   TypeRef("Set", (TypeRef("String"),)))


def install_exception_methods(exc: ApexClass) -> None:
    def add(name: str, nparams: int, fn) -> None:
        m = Method(name, exc, [(f"p{i}", TypeRef("Object")) for i in range(nparams)], TypeRef("Object"))
        m.native = fn
        exc.methods.setdefault(name.lower(), []).append(m)

    add("getMessage", 0, lambda o, a: o.fields.get("__message"))
    add("setMessage", 1, lambda o, a: o.fields.__setitem__("__message", a[0]))
    add("getTypeName", 0, lambda o, a: _type_name(o))
    add("getLineNumber", 0, lambda o, a: o.fields.get("__line") or -1)
    add("getStackTraceString", 0, lambda o, a: o.fields.get("__stack") or "")
    add("getCause", 0, lambda o, a: o.fields.get("__cause"))
    add("initCause", 1, lambda o, a: o.fields.__setitem__("__cause", a[0]))
    add("getNumDml", 0, lambda o, a: len(o.fields.get("__dml") or []))
    add("getDmlMessage", 1, lambda o, a: _dml(o, a[0]).message)
    add("getDmlType", 1, lambda o, a: _dml(o, a[0]).status_code_enum())
    add("getDmlStatusCode", 1, lambda o, a: _dml(o, a[0]).status_code)
    add("getDmlId", 1, lambda o, a: _dml(o, a[0]).record_id)
    add("getDmlIndex", 1, lambda o, a: _dml(o, a[0]).index)
    add("getDmlFieldNames", 1, lambda o, a: ApexList(_dml(o, a[0]).fields, TypeRef("String")))
    add("getDmlFields", 1, lambda o, a: ApexList(_dml(o, a[0]).fields, TypeRef("Object")))
    add("getInaccessibleFields", 0, _inaccessible_fields)
    add("getMatchingIds", 1, lambda o, a: ApexList([], TypeRef("Id")))
