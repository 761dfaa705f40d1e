"""SObject field access and the SObject instance methods."""

from __future__ import annotations

from typing import Any

from . import ops
from .stdlib import METHODS, STR
from .tables import provide
from .values import ApexList, ApexMap, IdValue, Long, SObject, TypeRef


@provide("sobject_get")
def get(prog: Any, so: SObject, low: str) -> Any:
    """``record.Field`` (dot notation). A Checkbox field that holds null reads as false here, as Salesforce
    documents it (``record.get('Field')``, serialisation and DML still see the null)."""
    f = so.fields
    if low in f:
        v = f[low]
        if v is None and _is_checkbox(prog, so.type_name, low):
            return False
        return v
    if so.queried is not None and low not in so.queried:
        canonical = prog.sobject_field_name(so.type_name, low)
        if canonical is None:
            ops.throw("System.SObjectException", f"Invalid field {low} for {so.type_name}")
        if low != "id":
            ops.throw("System.SObjectException",
                      f"SObject row was retrieved via SOQL without querying the requested field: "
                      f"{so.type_name}.{canonical}")
    elif prog.sobject_field_name(so.type_name, low) is None:
        ops.throw("System.SObjectException", f"Invalid field {low} for {so.type_name}")
    return False if _is_checkbox(prog, so.type_name, low) else None


def _is_checkbox(prog: Any, sobject: str, low: str) -> bool:
    field_type = getattr(prog.schema, "field_type", None)
    return field_type is not None and field_type(sobject, low) == "boolean"


def _is_id(text: str) -> bool:
    try:
        IdValue(text)
    except ValueError:
        return False
    return True


#: field types a String value cannot be put into (Salesforce: SObjectException "Illegal assignment ...")
_NOT_TEXT = {"datetime": "Datetime", "date": "Date", "time": "Time", "boolean": "Boolean", "int": "Integer",
             "long": "Long", "double": "Decimal", "currency": "Decimal", "percent": "Decimal"}


@provide("sobject_put")
def put(prog: Any, so: SObject, fname: str, value: Any, strict_ids: bool = True) -> None:
    """Set a field. ``strict_ids=False`` is ``record.put(field, value)``: a String that is no Id is kept in a
    lookup field as it is (Salesforce checks it only when the record is saved), where an assignment throws."""
    if so.readonly:
        ops.throw("System.FinalException", "Record is read-only")
    canonical = prog.sobject_field_name(so.type_name, fname)
    if canonical is None:
        ops.throw("System.SObjectException", f"Invalid field {fname} for {so.type_name}")
    low = canonical.lower()
    if value is not None:
        ftype = prog.schema.field_type(so.type_name, canonical) if hasattr(prog.schema, "field_type") else None
        if ftype in ("address", "location"):  # compound fields are read-only: write their components
            ops.throw("System.SObjectException", f"Field is not writeable: {so.type_name}.{canonical}")
        if type(value) is str and ftype in _NOT_TEXT:  # e.g. record.put(datetimeField, 'some text')
            ops.throw("System.SObjectException", f"Illegal assignment from String to {_NOT_TEXT[ftype]}")
        if low == "id" or ftype in ("id", "reference"):
            if not isinstance(value, IdValue) and isinstance(value, str):
                if strict_ids or _is_id(value):
                    value = ops.cast(value, TypeRef("Id"))
        elif ftype in ("currency", "double", "percent"):
            if type(value) in (int, Long, float):
                value = ops.to_decimal(value)
        elif ftype == "int" and type(value) is Long:
            value = int(value)
        elif ftype is None and low.endswith("id") and isinstance(value, str) and type(value) is not IdValue \
                and len(value) in (15, 18):
            try:
                value = IdValue(value)
            except ValueError:
                pass
    so.put(canonical, value)


def _get(so, a):
    name = a[0]
    if name is None:
        ops.npe()
    if not isinstance(name, str):
        name = getattr(name, "field", str(name))
    return get(ops.CURRENT.prog, so, name.lower())


def _put(so, a):
    name = a[0]
    if not isinstance(name, str):
        name = getattr(name, "field", str(name))
    old = so.fields.get(name.lower())
    put(ops.CURRENT.prog, so, name, a[1], strict_ids=False)
    return old


def _add_error(so, a):
    """addError(message [, escape]) and addError(fieldName | SObjectField, message [, escape])."""
    field = None
    msg = a[0]
    if len(a) >= 2 and not isinstance(a[1], bool):
        field = a[0] if isinstance(a[0], str) else getattr(a[0], "field", None)
        msg = a[1]
    if not isinstance(msg, str):
        msg = ops.to_str(msg)
    so.errors.append((msg, field))
    return None


def _errors(so, a):
    """SObject.getErrors(): the errors addError put on the record, as Database.Error values."""
    from .dml import DatabaseError
    return ApexList([DatabaseError("FIELD_CUSTOM_VALIDATION_EXCEPTION", msg, [field] if field else [])
                     for msg, field in so.errors], TypeRef("Database.Error"))


def _clone(so, a):
    preserve_id = bool(a[0]) if a else False
    deep = bool(a[1]) if len(a) > 1 else False
    c = so.clone_record(preserve_id)
    if deep:
        for k, v in list(c.fields.items()):
            if isinstance(v, SObject):
                c.fields[k] = v.clone_record(True)
    return c


def _populated(so, a):
    m = ApexMap((), STR, TypeRef("Object"))
    for low, v in so.fields.items():
        m[so.names[low]] = v
    return m


def _sobject_type(so, a):
    from .schemalib import sobject_type_token
    return sobject_type_token(so.type_name)


METHODS[SObject] = {
    "get": _get,
    "put": _put,
    "getsobject": lambda so, a: so.fields.get(a[0].lower()),
    "putsobject": lambda so, a: so.put(a[0], a[1]),
    "getsobjects": lambda so, a: so.fields.get(a[0].lower()),
    "getsobjecttype": _sobject_type,
    "adderror": _add_error,
    # DML options: allowFieldTruncation applies when the record is saved (dml.py); the local org has no
    # assignment, duplicate or email rules for the others
    "setoptions": lambda so, a: record_options(ops.CURRENT.prog.tx).__setitem__(id(so), (so, a[0])),
    "clone": _clone,
    "isset": lambda so, a: (a[0] if isinstance(a[0], str) else a[0].field).lower() in so.fields,
    "getpopulatedfieldsasmap": _populated,
    "haserrors": lambda so, a: bool(so.errors),
    "geterrors": _errors,
    "equals": lambda so, a: ops.eq(so, a[0]),
    "hashcode": lambda so, a: id(so) & 0x7FFFFFFF,
    "tostring": lambda so, a: ops.to_str(so),
    "clear": lambda so, a: so.fields.clear(),
}


def record_options(tx: Any) -> dict[int, Any]:
    """``SObject.setOptions``: the transaction's records (by identity) -> (record, Database.DMLOptions)."""
    found = getattr(tx, "record_dml_options", None)
    if found is None:
        found = {}
        tx.record_dml_options = found
    return found

