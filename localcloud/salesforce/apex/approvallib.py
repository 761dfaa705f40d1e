"""Apex ``Approval.lock/unlock/isLocked`` (Apex Reference, Approval Class) over the data layer's record
locks (``localcloud.salesforce.data.locks``: where locks live and who may still edit a locked record).

``lock``/``unlock`` take an Id, an SObject, a ``List<Id>`` or a ``List<SObject>`` and an optional
``allOrNothing`` (default true), and answer ``Approval.LockResult``/``UnlockResult`` (one, or a list for a
list). As Salesforce documents, they are DML: each call counts one DML statement and its records as DML
rows, rolls back with the transaction, and with ``allOrNothing`` a failure throws ``System.DmlException``
("Lock failed. First exception on row 0 ...", the verb our choice) and changes nothing. ``isLocked``
(Id or SObject: Boolean; a list: ``Map<Id, Boolean>``) is no DML. A record without an Id throws
``System.DmlException`` (MISSING_ARGUMENT). ``Approval.process``: ``approvalprocesslib.py``.
"""

from __future__ import annotations

from typing import Any

from localcloud.salesforce.data.locks import locked_ids, set_locks

from . import ops
from .dataport import data_tx
from .dml import OP_VERB, DatabaseError, DmlRow, _raise_dml
from .stdlib import STATIC_METHODS
from .systemlib import ApprovalResult
from .values import ApexList, ApexMap, IdValue, SObject, TypeRef

LOCK_TYPES = {True: "Approval.LockResult", False: "Approval.UnlockResult"}


def _ids(value: Any) -> tuple[list[Any], bool]:
    """The ids a call names, and whether it named a list."""
    if value is None:
        ops.npe()
    many = isinstance(value, list)
    items = list(value) if many else [value]
    return [i.fields.get("id") if isinstance(i, SObject) else i for i in items], many


def _result(lock: bool, res: Any) -> ApprovalResult:
    errors = [DatabaseError(e.status_code, e.message, list(e.fields)) for e in res.errors]
    out = ApprovalResult(errors=errors, raw={"id": res.id}, id=res.id, success=res.success)  # raw: JSON.serialize
    out.apex_type = LOCK_TYPES[lock]
    return out


def _set(lock: bool):
    verb = "lock" if lock else "unlock"

    def call(a):
        if not a:
            ops.npe()
        ids, many = _ids(a[0])
        all_or_none = True if len(a) < 2 or a[1] is None else bool(a[1])
        prog = ops.CURRENT.prog
        if not ids:
            return ApexList([], TypeRef(LOCK_TYPES[lock]))
        prog.tx.check("dml")
        prog.tx.add_rows("dml", len(ids))
        for i, rid in enumerate(ids):
            if rid is None:
                raise_approval_dml(verb, [DmlRow(i, f"Id not specified in an {verb} call", "MISSING_ARGUMENT", [], None)])
        dtx = data_tx(prog)
        previous = getattr(dtx, "acting_user_id", None)
        dtx.acting_user_id = (prog.tx.user or {}).get("userid")
        try:
            results = set_locks(dtx, [str(i) for i in ids], lock, all_or_none)
        finally:
            dtx.acting_user_id = previous
        if all_or_none:
            failed = [DmlRow(i, e.message, e.status_code, list(e.fields), r.id) for i, r in enumerate(results)
                      for e in r.errors[:1] if e.status_code != "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
            if failed:
                raise_approval_dml(verb, failed)
        out = [_result(lock, r) for r in results]
        return ApexList(out, TypeRef(LOCK_TYPES[lock])) if many else out[0]
    return call


def raise_approval_dml(verb: str, rows: list[DmlRow]) -> None:
    """``DmlException`` "Lock failed. First exception on row i ..." (``lock``, ``unlock``, ``process``)."""
    _raise_dml(verb, rows)


OP_VERB.update({"lock": "Lock", "unlock": "Unlock", "process": "Process"})


def _is_locked(a):
    from localcloud.salesforce.data.ids import to18
    if not a:
        ops.npe()
    ids, many = _ids(a[0])
    if any(i is None for i in ids):
        ops.npe()
    locked = locked_ids(data_tx(ops.CURRENT.prog), [to18(str(i)) for i in ids])
    flags = {IdValue(str(i)): to18(str(i)) in locked for i in ids}
    if not many:
        return next(iter(flags.values()))
    return ApexMap(flags.items(), TypeRef("Id"), TypeRef("Boolean"))


STATIC_METHODS[("approval", "lock")] = _set(True)
STATIC_METHODS[("approval", "unlock")] = _set(False)
STATIC_METHODS[("approval", "islocked")] = _is_locked
