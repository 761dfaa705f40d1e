"""DML statements, Database.* methods, SaveResult/UpsertResult/DeleteResult/Database.Error, savepoints.

Records go to the data layer's Transaction (insert/update/upsert/delete with all_or_none); its
per-record errors come back as Database.Error objects, or as a DmlException when allOrNone.
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from . import dataport, ops
from .compoundlib import ApexLocation
from .stdlib import STATIC_METHODS, Native, NativeEnumValue
from .tables import provide
from .values import ApexList, IdValue, SObject, TypeRef

OP_VERB = {"insert": "Insert", "update": "Update", "upsert": "Upsert", "delete": "Delete", "undelete": "Undelete",
           "merge": "Merge"}


class DmlRow:
    """One failed row of a DmlException (getDmlMessage(i) and friends)."""

    def __init__(self, index: int, message: str, status_code: str, fields: list[str], record_id: Any) -> None:
        self.index = index
        self.message = message
        self.status_code = status_code
        self.fields = fields
        self.record_id = record_id

    def status_code_enum(self) -> Any:
        from .stdlib import status_code
        return status_code(self.status_code)


class StatusCode(NativeEnumValue):
    apex_type = "System.StatusCode"


class DatabaseError(Native):
    apex_type = "Database.Error"

    def __init__(self, status_code: str, message: str, fields: list[str]) -> None:
        self.status_code = status_code
        self.message = message
        self.fields = fields

    def m_getmessage(self, a):
        return self.message

    def m_getstatuscode(self, a):
        from .stdlib import status_code
        return status_code(self.status_code)

    def m_getfields(self, a):
        return ApexList(self.fields, TypeRef("String"))

    def apex_str(self):
        return f"Database.Error[getFields={self.fields};getMessage={self.message};getStatusCode={self.status_code};]"

    def apex_json(self):
        return {"statusCode": self.status_code, "message": self.message, "fields": list(self.fields)}


class SaveResult(Native):
    apex_type = "Database.SaveResult"

    def __init__(self, rid: Any, success: bool, errors: list[DatabaseError], created: bool | None = None) -> None:
        self.rid = IdValue(rid) if rid else None
        self.success = success
        self.errors = errors
        self.created = created

    def m_getid(self, a):
        return self.rid

    def m_issuccess(self, a):
        return self.success

    def m_geterrors(self, a):
        return ApexList(self.errors, TypeRef("Database.Error"))

    def m_iscreated(self, a):
        return bool(self.created)

    # the result's fields read as properties (``sr.errors``, ``sr.id``, ``sr.success``), as Apex allows
    def p_errors(self):
        return self.m_geterrors(None)

    def p_id(self):
        return self.rid

    def p_success(self):
        return self.success

    def p_created(self):
        return bool(self.created)

    def apex_str(self):
        return f"{self.apex_type}[getErrors={[e.apex_str() for e in self.errors]};getId={self.rid};" \
               f"isSuccess={'true' if self.success else 'false'};]"

    def apex_json(self):
        out = {"id": self.rid, "success": self.success, "errors": [e.apex_json() for e in self.errors]}
        if self.created is not None:
            out["created"] = self.created
        return out


class UpsertResult(SaveResult):
    apex_type = "Database.UpsertResult"


class DeleteResult(SaveResult):
    apex_type = "Database.DeleteResult"


class UndeleteResult(SaveResult):
    apex_type = "Database.UndeleteResult"


class ApexSavepoint(Native):
    apex_type = "System.Savepoint"

    def __init__(self, sp: Any) -> None:
        self.sp = sp


# ------------------------------------------------------------------------------------------------ conversion


to_data_value = dataport.to_data_value  # (moved to dataport: SOQL binds need it too)


#: Apex DML saves a queried record whose read-only fields (CreatedDate, Name of a Contact, IsPersonAccount,
#: PersonContactId ...) came with the query: Salesforce ignores them (assigning one in code is a compile
#: error, "Field is not writeable"), so the data layer is told to ignore them too.
APEX_READ_ONLY = "ignore"


def _is_relationship(sobject: str, low: str) -> bool:
    """Whether ``low`` names a relationship of ``sobject`` (``Account``, ``Parent__r``), not a field."""
    name = ops.CURRENT.prog.sobject_field_name(sobject, low)
    return name is None or name.lower() == low and (low.endswith("__r") or
                                                     ops.CURRENT.prog.sobject_field_name(sobject, low + "id") is not None)


def record_dict(so: SObject) -> dict[str, Any]:
    out = {}
    field_type = None
    for low, v in so.fields.items():
        if isinstance(v, (SObject, ApexList, ApexLocation)):  # ApexLocation: a read-only compound field's value
            continue
        if v is None:  # a queried compound field that is empty (BillingAddress) is not saved either
            if field_type is None:
                field_type = getattr(ops.CURRENT.prog.schema, "field_type", None) or (lambda o, f: None)
            kind = field_type(so.type_name, low)
            if kind in ("address", "location"):
                continue
            if kind is None and low != "id" and _is_relationship(so.type_name, low):
                continue  # a null relationship that came with a query (Parent__r): no field, nothing to save
        out[so.names[low]] = to_data_value(v)
    return out


def _saved(record: SObject, truncate: Any) -> dict[str, Any]:
    values = record_dict(record)
    return truncate(record, values) if truncate is not None else values


def _records(value: Any) -> list[SObject]:
    if value is None:
        ops.throw("System.NullPointerException", "Argument cannot be null")
    if isinstance(value, SObject):
        return [value]
    if isinstance(value, list):
        for r in value:
            if r is None:
                ops.throw("System.NullPointerException", "Argument cannot be null")
            if not isinstance(r, SObject):
                ops.throw("System.TypeException", "DML requires SObject values")
        return list(value)
    ops.throw("System.TypeException", f"DML requires SObject or List<SObject>, not {ops.type_name(value)}")
    return []


_session = dataport.data_tx  # (moved to dataport: libraries get the data transaction there)


def _data_errors(res: Any) -> list[DatabaseError]:
    out = []
    for e in getattr(res, "errors", []) or []:
        out.append(DatabaseError(getattr(e, "status_code", "UNKNOWN_EXCEPTION"), getattr(e, "message", str(e)),
                                 list(getattr(e, "fields", []) or [])))
    return out


class _Refused:
    """The result of a record user mode refused before it reached the data layer."""

    def __init__(self, denial: Any) -> None:
        self.success = False
        self.errors = [denial]
        self.id = None
        self.created = None


def _user_mode_denials(prog: Any, dtx: Any, op: str, recs: list[SObject]) -> dict[int, Any]:
    """`as user` / AccessLevel.USER_MODE: index -> why the running user may not write that record."""
    from . import access
    user = access.current_access(prog)
    if user is None:
        return {}
    schema = getattr(dtx, "schema", None)
    out: dict[int, Any] = {}
    for i, r in enumerate(recs):
        od = schema.find(r.type_name) if schema is not None else None
        if od is None:
            continue  # the data layer reports the unknown object
        denial = access.missing_object_permission(user, od.name, op)
        if denial is None and op != "delete":
            fields = access.denied_fields(user, od, op, record_dict(r).keys())
            if fields:
                denial = access.field_denial(fields)
        if denial is not None:
            out[i] = denial
    return out


#: Salesforce's answer to DML on a record the user cannot edit (record sharing)
NO_RECORD_ACCESS = "insufficient access rights on object id"


def _sharing_denials(prog: Any, dtx: Any, op: str, recs: list[SObject], user_mode: bool) -> dict[int, Any]:
    """In a sharing context or user mode, update/upsert/delete of an existing record the running user may not
    edit (``data/visibility.py``): index -> INSUFFICIENT_ACCESS_OR_READONLY. No work for public objects."""
    if op not in ("update", "upsert", "delete") or not recs:
        return {}
    from localcloud.salesforce.data import visibility
    schema = getattr(dtx, "schema", None)
    if schema is None:
        return {}
    by_object: dict[str, list[int]] = {}
    for i, r in enumerate(recs):
        if r.fields.get("id") is not None:
            by_object.setdefault(r.type_name.lower(), []).append(i)
    limited = {name: schema.find(name) for name in by_object}
    limited = {name: od for name, od in limited.items() if visibility.needs_filter(schema, od, edit=True)}
    if not limited:
        return {}
    from .soql import running_visibility, with_sharing
    if not user_mode and not with_sharing(prog):
        return {}
    vis = running_visibility(prog, dtx)
    if vis is None:
        return {}
    from .access import RecordDenial
    out: dict[int, Any] = {}
    for name, od in limited.items():
        idxs = by_object[name]
        ids = [str(recs[i].fields.get("id")) for i in idxs]
        allowed = vis.editable(dtx, od, ids)
        for i, rid in zip(idxs, ids):
            if rid not in allowed:
                out[i] = RecordDenial("INSUFFICIENT_ACCESS_OR_READONLY", NO_RECORD_ACCESS, [])
    return out


def _raise_user_mode(op: str, recs: list[SObject], denials: dict[int, Any]) -> None:
    from . import access
    rows = [DmlRow(i, d.message, d.status_code, list(d.fields), recs[i].fields.get("id"))
            for i, d in sorted(denials.items())]
    first = recs[rows[0].index]
    if any(r.fields for r in rows):
        obj = ops.CURRENT.prog.new_exception("System.DmlException",
                                             access.DML_FIELDS_MESSAGE.format(sobject=first.type_name))
        obj.fields["__dml"] = rows
        raise ops.ApexThrown(obj)
    _raise_dml(op, rows)


def _truncation(prog: Any, recs: list[SObject], options: Any) -> Any:
    """``allowFieldTruncation`` (the call's DMLOptions or a record's ``setOptions``): a function cutting the
    record's text values to their fields' lengths, or None when no record asks for it."""
    per_record = getattr(prog.tx, "record_dml_options", None) or {}
    wanted = {id(r) for r in recs
              if getattr(options, "allow_field_truncation", False)
              or (per_record.get(id(r), (None,))[0] is r
                  and getattr(per_record[id(r)][1], "allow_field_truncation", False))}
    if not wanted:
        return None

    def cut(record: SObject, values: dict[str, Any]) -> dict[str, Any]:
        if id(record) not in wanted:
            return values
        od = prog.schema.object_def(record.type_name)
        for name, value in values.items():
            fd = od.find_field(name) if od is not None else None
            if fd is not None and isinstance(value, str) and fd.type in ("string", "textarea") and fd.length \
                    and len(value) > fd.length:
                values[name] = value[:fd.length]
        return values
    return cut


def _call(prog: Any, op: str, recs: list[SObject], key: str | None, all_or_none: bool,
          user_mode: bool = False, options: Any = None) -> list[Any]:
    """Run one DML operation over records (grouped by SObject type, original order kept)."""
    dtx = _session(prog)
    previous = getattr(dtx, "acting_user_id", None)
    dtx.acting_user_id = (prog.tx.user or {}).get("userid")  # the running user (System.runAs): data/locks.py
    try:
        return _call_as(prog, dtx, op, recs, key, all_or_none, user_mode, options)
    finally:
        dtx.acting_user_id = previous


def _call_as(prog: Any, dtx: Any, op: str, recs: list[SObject], key: str | None, all_or_none: bool,
             user_mode: bool, options: Any) -> list[Any]:
    results: list[Any] = [None] * len(recs)
    denials = _user_mode_denials(prog, dtx, op, recs) if user_mode else {}
    for i, denial in _sharing_denials(prog, dtx, op, recs, user_mode).items():
        denials.setdefault(i, denial)
    if denials and all_or_none:
        _raise_user_mode(op, recs, denials)
    for i, denial in denials.items():
        results[i] = _Refused(denial)
    groups: list[tuple[str, list[int]]] = []
    for i, r in enumerate(recs):
        if i in denials:
            continue
        if groups and groups[-1][0] == r.type_name.lower():
            groups[-1][1].append(i)
        else:
            groups.append((r.type_name.lower(), [i]))
    from . import access, triggers
    truncate = _truncation(prog, recs, options)
    with triggers.apex_context(prog):
        for _, idxs in groups:
            sobject = recs[idxs[0]].type_name
            batch = [recs[i] for i in idxs]
            access.forget(prog, sobject)
            try:
                if op == "insert":
                    for r in batch:
                        if r.fields.get("id") is not None:
                            pass
                    out = dtx.insert(sobject, [_saved(r, truncate) for r in batch], all_or_none=all_or_none,
                                     read_only_fields=APEX_READ_ONLY)
                elif op == "update":
                    out = dtx.update(sobject, [_saved(r, truncate) for r in batch], all_or_none=all_or_none,
                                     read_only_fields=APEX_READ_ONLY)
                elif op == "upsert":
                    out = dtx.upsert(sobject, [_saved(r, truncate) for r in batch], key or "Id", all_or_none=all_or_none,
                                     read_only_fields=APEX_READ_ONLY)
                elif op == "delete":
                    out = dtx.delete([str(r.fields.get("id")) for r in batch], all_or_none=all_or_none)
                elif op == "undelete":  # the data layer's Recycle Bin; after undelete triggers fire there
                    out = dtx.undelete([str(r.fields.get("id")) for r in batch], all_or_none=all_or_none)
                else:
                    ops.throw("System.DmlException", f"{OP_VERB.get(op, op)} is not supported by the local org")
            except ops.ApexThrown:
                raise
            except Exception as e:  # data-layer call-level error (SalesforceError)
                code = getattr(e, "error_code", None)
                if code is None:
                    raise
                ops.throw("System.DmlException", f"{OP_VERB[op]} failed. {getattr(e, 'message', str(e))}")
            for i, res in zip(idxs, out):
                results[i] = res
                if getattr(res, "success", False) and op in ("insert", "upsert") and getattr(res, "id", None):
                    recs[i].put("Id", IdValue(res.id))
    return results


@provide("dml_statement")
def dml_statement(prog: Any, op: str, value: Any, key: str | None, user_mode: bool = False) -> None:
    recs = _records(value)
    tx = prog.tx
    if not recs:
        return  # DML on an empty list is no DML statement (Limits.getDmlStatements() stays)
    tx.check("dml")
    tx.add_rows("dml", len(recs))
    if op in ("update", "delete", "undelete"):
        for i, r in enumerate(recs):
            if r.fields.get("id") is None:
                _raise_dml(op, [DmlRow(i, f"Id not specified in {'an' if op != 'delete' else 'a'} {op} call",
                                       "MISSING_ARGUMENT", [], None)])
    if op == "insert":
        for i, r in enumerate(recs):
            if r.fields.get("id") is not None:
                _raise_dml(op, [DmlRow(i, "cannot specify Id in an insert call", "INVALID_FIELD_FOR_INSERT_UPDATE",
                                       [], r.fields.get("id"))])
    key_name = None
    if op == "upsert" and key is not None:
        key_name = prog.sobject_field_name(recs[0].type_name, key) or key
    results = _call(prog, op, recs, key_name, True, user_mode)
    failed = []
    for i, res in enumerate(results):
        if res is not None and not res.success:
            errs = _data_errors(res)
            real = [e for e in errs if e.status_code != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            for e in real:
                failed.append(DmlRow(i, e.message, e.status_code, e.fields, recs[i].fields.get("id")))
    if failed:
        _raise_dml(op, failed)


@provide("implicit_insert")
def implicit_insert(prog: Any, record: SObject) -> Any:
    """``System.runAs(u)`` with a user instantiated but not inserted inserts it implicitly (Apex reference,
    System.runAs); that insert is the platform's: it counts against no limit. Returns the new Id."""
    lim = prog.tx.limits
    saved = (lim.dml_statements, lim.dml_rows)
    try:
        dml_statement(prog, "insert", record, None)
    finally:
        lim.dml_statements, lim.dml_rows = saved
    return record.fields.get("id")


def _raise_dml(op: str, rows: list[DmlRow]) -> None:
    first = rows[0]
    fields = f": [{', '.join(first.fields)}]" if first.fields else ": []"
    msg = (f"{OP_VERB[op]} failed. First exception on row {first.index}"
           f"{'; first error: ' if first.record_id is None else f' with id {first.record_id}; first error: '}"
           f"{first.status_code}, {first.message}{fields}")
    obj = ops.CURRENT.prog.new_exception("System.DmlException", msg)
    obj.fields["__dml"] = rows
    raise ops.ApexThrown(obj)


def database_op(op: str):
    def fn(a):
        p = ops.CURRENT.prog
        value = a[0]
        all_or_none = True
        key = None
        rest = list(a[1:])
        from .soql import is_access_level, is_user_mode
        user_mode = any(is_user_mode(x) for x in rest)
        rest = [x for x in rest if not is_access_level(x)]
        if op == "upsert" and rest and not isinstance(rest[0], bool) and rest[0] is not None and \
                not hasattr(rest[0], "apex_dml_options"):
            tok = rest.pop(0)
            key = getattr(tok, "field", None) or str(tok)
        options = None
        if rest:
            opt = rest[0]
            if isinstance(opt, bool):
                all_or_none = opt
            elif hasattr(opt, "apex_dml_options"):
                all_or_none = opt.opt_all_or_none
                options = opt
        single = isinstance(value, (SObject, str))
        if op in ("delete", "undelete") and isinstance(value, (list, str)) and (isinstance(value, str) or
                                                                 (value and isinstance(value[0], str))):
            ids = [value] if isinstance(value, str) else list(value)
            from .values import SObject as _S
            value = [_S(p.schema_name_for_id(i) or "SObject", {"Id": IdValue(i)}) for i in ids]
        recs = _records(value)
        if recs:  # as the DML statement: an empty list costs no DML statement
            p.tx.check("dml")
            p.tx.add_rows("dml", len(recs))
        if all_or_none:
            results = dml_statement_counted(p, op, recs, key, user_mode, options)
            out = [_result_cls(op)(r.fields.get("id"), True, [], getattr(res, "created", None) if op == "upsert"
                                   else None) for r, res in zip(recs, results)]
        else:
            results = _call(p, op, recs, key and (p.sobject_field_name(recs[0].type_name, key) or key), False,
                            user_mode, options) if recs else []
            out = []
            for r, res in zip(recs, results):
                # getId() is empty when the operation failed for that record (Apex documentation)
                rid = (getattr(res, "id", None) or r.fields.get("id")) if res.success else None
                out.append(_result_cls(op)(rid, res.success, _data_errors(res), getattr(res, "created", None)))
        if single:
            return out[0]
        return ApexList(out, TypeRef(_result_cls(op).apex_type))
    return fn


def dml_statement_counted(p: Any, op: str, recs: list[SObject], key: Any, user_mode: bool = False,
                          options: Any = None) -> None:
    """The allOrNone path of Database.* (limits were already counted by the caller)."""
    if not recs:  # an empty list: nothing to do, no error (even with an external Id field)
        return []
    results = _call(p, op, recs, key and (p.sobject_field_name(recs[0].type_name, key) or key), True, user_mode,
                    options)
    failed = []
    for i, res in enumerate(results):
        if res is not None and not res.success:
            for e in _data_errors(res):
                if e.status_code != "ALL_OR_NONE_OPERATION_ROLLED_BACK":
                    failed.append(DmlRow(i, e.message, e.status_code, e.fields, recs[i].fields.get("id")))
    if failed:
        _raise_dml(op, failed)
    return results


def _result_cls(op: str):
    return {"upsert": UpsertResult, "delete": DeleteResult, "undelete": UndeleteResult}.get(op, SaveResult)


def _set_savepoint(a):
    p = ops.CURRENT.prog
    p.tx.check("dml")
    return ApexSavepoint(_session(p).savepoint())


def _rollback(a):
    p = ops.CURRENT.prog
    sp = a[0]
    if not isinstance(sp, ApexSavepoint):
        ops.npe()
    p.tx.check("dml")
    try:
        _session(p).rollback_to(sp.sp)
    except ops.ApexThrown:
        raise
    except Exception as e:  # noqa: BLE001 - invalid savepoint
        ops.throw("System.TypeException", f"Savepoint does not exist in this context: {e}")


class DMLOptions(Native):
    apex_type = "Database.DMLOptions"
    apex_dml_options = True

    def __init__(self) -> None:
        self.opt_all_or_none = True

    def p_optallornone(self):
        return self.opt_all_or_none

    def s_optallornone(self, v):
        self.opt_all_or_none = bool(v)

    # kept, not acted on: the local org has no assignment rules, duplicate rules or email triggers, and
    # truncation applies to what the data layer checks
    def p_allowfieldtruncation(self):
        return getattr(self, "allow_field_truncation", False)

    def s_allowfieldtruncation(self, v):
        self.allow_field_truncation = bool(v)

    def p_duplicateruleheader(self):
        return getattr(self, "duplicate_rule_header", None)

    def s_duplicateruleheader(self, v):
        self.duplicate_rule_header = v

    def p_assignmentruleheader(self):
        return getattr(self, "assignment_rule_header", None)

    def s_assignmentruleheader(self, v):
        self.assignment_rule_header = v

    def p_emailheader(self):
        return getattr(self, "email_header", None)

    def s_emailheader(self, v):
        self.email_header = v


STATIC_METHODS.update({
    ("database", "insert"): database_op("insert"),
    ("database", "update"): database_op("update"),
    ("database", "upsert"): database_op("upsert"),
    ("database", "delete"): database_op("delete"),
    # compiles; fails when run (no recycle bin): a DmlException naming the construct
    ("database", "undelete"): database_op("undelete"),
    ("database", "setsavepoint"): _set_savepoint,
    ("database", "rollback"): _rollback,
})

_ = (_dt, Decimal)
