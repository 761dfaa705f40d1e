"""Apex ``Approval.process`` (Apex Reference: Approval Class, ProcessSubmitRequest, ProcessWorkitemRequest,
ProcessResult) running the org's deployed approval processes (``metadata/approval_processes.py``).

Submit (``Approval.ProcessSubmitRequest``: ``setObjectId``, ``setSubmitterId``, ``setComments``,
``setProcessDefinitionNameOrId``, ``setSkipEntryCriteria``, ``setNextApproverIds``): the object's active
processes are tried in ``processOrder`` (then name) and the first whose entry criteria the record meets
runs (or the named one); none: ``NO_APPLICABLE_PROCESS`` "No applicable approval process was found.". A record
with a pending request: ``ALREADY_IN_PROCESS`` "Cannot submit object already in process.". It creates a
``ProcessInstance`` (Status Pending), a ``ProcessInstanceStep`` (Started, by the submitter) and one
``ProcessInstanceWorkitem`` per approver of the first step, and locks the record (``data/locks.py``).
Approvers: ``user`` (by username), ``queue`` (by developer name), ``userHierarchyField`` (the submitter's
manager; none: ``MANAGER_NOT_DEFINED``), ``relatedUserField`` (a user field of the record), ``adhoc`` (the
request's next approver ids; none: ``REQUIRED_FIELD_MISSING``).

Act (``Approval.ProcessWorkitemRequest``: ``setWorkitemId``, ``setAction('Approve'|'Reject'|'Removed')``,
``setComments``, ``setNextApproverIds``): a step (Approved/Rejected/Removed) is recorded, the step's requests
are removed (the first response decides: ``FirstResponse``); an approval moves to the next step, or
approves the instance; a rejection or removal ends it. A finished instance (Approved/Rejected/Removed,
``CompletedDate``, ``LastActorId``) unlocks the record unless ``finalApprovalRecordLock`` /
``finalRejectionRecordLock`` keep it locked.

Approval actions: field updates (``workflows/Object.workflow`` ``<fieldUpdates>``, operations Literal, Null
and LookupValue of a user or queue) run on submit (``initialSubmissionActions``), at each step's approval or
rejection (``approvalActions``/``rejectionActions``), at the end (``finalApprovalActions``,
``finalRejectionActions``, ``recallActions`` for Removed), writing the record through its lock; its update
triggers fire.

Each call is DML (one statement, its requests as rows); with ``allOrNone`` (default true) a failed request
throws ``System.DmlException`` "Process failed. First exception on row i; first error: CODE, message: []" and
nothing of the call stays. Not run (``System.UnexpectedException`` naming them): other approval actions (email
alerts, tasks, outbound messages), field updates by formula or next/previous value, entry criteria formulas,
step entry criteria; who may submit or approve is not checked; ``Unanimous``
multi-approver steps behave as ``FirstResponse``. Who edits the locked record: administrators, and under
``AdminOrCurrentApprover`` the user the pending request is assigned to (``data/locks.py``).
"""
from __future__ import annotations

from typing import Any

from localcloud.salesforce.data.definitions import (APPROVAL_PROCESS, FIELD_UPDATE, definition, definitions_of,
                                                   named_definition)
from localcloud.salesforce.data.ids import is_valid_id, to18
from localcloud.salesforce.data.listviews import ListViewError, criteria_where
from localcloud.salesforce.data.locks import set_locks

from . import ops
from .approvallib import raise_approval_dml
from .dataport import data_tx
from .dml import DatabaseError, DmlRow
from .stdlib import NEW, STATIC_METHODS, STATUS_CODES, Native
from .systemlib import ApprovalResult
from .values import ApexList, IdValue, TypeRef

ACTIONS = {"approve": "Approved", "reject": "Rejected", "removed": "Removed"}


class ProcessError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class _Request(Native):
    def __init__(self) -> None:
        self.comments: str | None = None
        self.next_approvers: list[str] | None = None

    def m_setcomments(self, a):
        self.comments = a[0]

    def m_getcomments(self, a):
        return self.comments

    def m_setnextapproverids(self, a):
        self.next_approvers = [str(i) for i in a[0]] if a[0] is not None else None

    def m_getnextapproverids(self, a):
        return ApexList([IdValue(i) for i in self.next_approvers], TypeRef("Id")) if self.next_approvers else None


class ProcessSubmitRequest(_Request):
    apex_type = "Approval.ProcessSubmitRequest"

    def __init__(self) -> None:
        super().__init__()
        self.object_id: str | None = None
        self.submitter_id: str | None = None
        self.process: str | None = None
        self.skip_criteria = False

    def m_setobjectid(self, a):
        self.object_id = str(a[0]) if a[0] is not None else None

    def m_getobjectid(self, a):
        return self.object_id

    def m_setsubmitterid(self, a):
        self.submitter_id = str(a[0]) if a[0] is not None else None

    def m_getsubmitterid(self, a):
        return self.submitter_id

    def m_setprocessdefinitionnameorid(self, a):
        self.process = a[0]

    def m_getprocessdefinitionnameorid(self, a):
        return self.process

    def m_setskipentrycriteria(self, a):
        self.skip_criteria = bool(a[0])

    def m_getskipentrycriteria(self, a):
        return self.skip_criteria


class ProcessWorkitemRequest(_Request):
    apex_type = "Approval.ProcessWorkitemRequest"

    def __init__(self) -> None:
        super().__init__()
        self.workitem_id: str | None = None
        self.action: str | None = None

    def m_setworkitemid(self, a):
        self.workitem_id = str(a[0]) if a[0] is not None else None

    def m_getworkitemid(self, a):
        return self.workitem_id

    def m_setaction(self, a):
        self.action = a[0]

    def m_getaction(self, a):
        return self.action


class _Run:
    """One request against the data layer, as the running user."""

    def __init__(self, prog: Any) -> None:
        self.prog = prog
        self.tx = data_tx(prog)
        self.user = (prog.tx.user or {}).get("userid") or self.tx.user_id

    def query(self, soql: str, **binds: Any) -> list[dict[str, Any]]:
        return self.tx.query(soql, binds).records

    def write(self, op: str, sobject: str, row: dict[str, Any]) -> str:
        results = (self.tx.insert if op == "insert" else self.tx.update)(sobject, [row], read_only_fields="write")
        if not results[0].success:
            raise ProcessError(results[0].errors[0].status_code, results[0].errors[0].message)
        return results[0].id or row.get("Id")

    # -- submit -----------------------------------------------------------------------------------------
    def submit(self, req: ProcessSubmitRequest) -> dict[str, Any]:
        if not req.object_id or not is_valid_id(req.object_id):
            raise ProcessError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        rid = to18(req.object_id)
        od = self.tx.schema.by_key_prefix(rid[:3])
        if od is None or not self.query(f"SELECT Id FROM {od.name} WHERE Id = :i", i=rid):
            raise ProcessError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if self.query("SELECT Id FROM ProcessInstance WHERE TargetObjectId = :t AND Status = 'Pending'", t=rid):
            raise ProcessError("ALREADY_IN_PROCESS", "Cannot submit object already in process.")
        process_id, process = self._choose(od, rid, req)
        submitter = to18(req.submitter_id) if req.submitter_id else self.user
        instance = self.write("insert", "ProcessInstance", {"ProcessDefinitionId": process_id, "TargetObjectId": rid,
                                                             "Status": "Pending", "SubmittedById": submitter})
        self.write("insert", "ProcessInstanceStep", {"ProcessInstanceId": instance, "StepStatus": "Started",
                                                     "ActorId": submitter, "OriginalActorId": submitter,
                                                     "Comments": req.comments})
        workitems, actors = self._assign(process, 0, od, rid, submitter, instance, req.next_approvers)
        locked = set_locks(self.tx, [rid], True, True)[0]
        if not locked.success:
            raise ProcessError(locked.errors[0].status_code, locked.errors[0].message)
        self._run_actions(process, process["actions"].get("initialSubmissionActions", []), od, rid)
        return {"entityid": rid, "instanceid": instance, "instancestatus": "Pending",
                "newworkitemids": workitems, "actorids": actors}

    def _choose(self, od: Any, rid: str, req: ProcessSubmitRequest) -> tuple[str, dict[str, Any]]:
        processes = [(pid, p) for pid, p in definitions_of(self.tx, APPROVAL_PROCESS, od.name) if p["active"]]
        if req.process:
            wanted = str(req.process)
            processes = [(pid, p) for pid, p in processes if p["name"] == wanted or pid[:15] == wanted[:15]]
        processes.sort(key=lambda item: (item[1]["processOrder"] is None, item[1]["processOrder"] or 0, item[1]["name"]))
        for pid, process in processes:
            if req.skip_criteria or self._meets(od, rid, process["entryCriteria"], process["name"]):
                return pid, process
        raise ProcessError("NO_APPLICABLE_PROCESS", "No applicable approval process was found.")

    def _meets(self, od: Any, rid: str, criteria: dict[str, Any] | None, name: str) -> bool:
        if not criteria or not (criteria["items"] or criteria["formula"]):
            return True
        if criteria["formula"]:
            ops.throw("System.UnexpectedException",
                      f"Approval process {name}: entry criteria formulas are not supported by the local org")
        binds: dict[str, Any] = {"apRecord": rid}
        try:
            where = criteria_where(od, criteria["items"], criteria["booleanFilter"], binds)
        except ListViewError as error:
            raise ProcessError(error.error_code, f"Approval process {name}: {error.message}") from None
        return bool(self.tx.query(f"SELECT Id FROM {od.name} WHERE Id = :apRecord AND ({where})", binds).records)

    def _assign(self, process: dict[str, Any], index: int, od: Any, rid: str, submitter: str, instance: str,
                next_approvers: list[str] | None) -> tuple[list[str], list[str]]:
        step = process["steps"][index] if index < len(process["steps"]) else None
        if step is None:
            raise ProcessError("NO_APPLICABLE_PROCESS", f"Approval process {process['name']} has no approval step")
        if step["entryCriteria"]:
            ops.throw("System.UnexpectedException", f"Approval process {process['name']}, step {step['name']}: "
                      "step entry criteria are not supported by the local org")
        actors = [self._approver(a, od, rid, submitter, next_approvers) for a in step["approvers"]] or \
            [self._approver({"type": "adhoc"}, od, rid, submitter, next_approvers)]
        workitems = [self.write("insert", "ProcessInstanceWorkitem", {"ProcessInstanceId": instance, "ActorId": actor,
                                                                      "OriginalActorId": actor})
                     for actor in actors]
        return workitems, actors

    def _approver(self, spec: dict[str, Any], od: Any, rid: str, submitter: str, next_approvers: list[str] | None) -> str:
        kind, name = (spec.get("type") or "").lower(), spec.get("name")
        if kind == "adhoc":
            if not next_approvers:
                raise ProcessError("REQUIRED_FIELD_MISSING", "missing required field: []")
            return to18(next_approvers[0])
        if kind == "user":
            found = self.query("SELECT Id FROM User WHERE Username = :n", n=name)
        elif kind == "queue":
            found = self.query("SELECT Id FROM Group WHERE Type = 'Queue' AND DeveloperName = :n", n=name)
        elif kind == "userhierarchyfield":
            found = [{"Id": r["ManagerId"]} for r in self.query("SELECT ManagerId FROM User WHERE Id = :u", u=submitter)
                     if r.get("ManagerId")]
            if not found:
                raise ProcessError("MANAGER_NOT_DEFINED", "Manager undefined.")
        elif kind == "relateduserfield":
            fd = od.find_field(name or "")
            if fd is None:
                raise ProcessError("INVALID_FIELD", f"No such column '{name}' on entity '{od.name}'")
            found = [{"Id": r[fd.name]} for r in self.query(f"SELECT {fd.name} FROM {od.name} WHERE Id = :i", i=rid)
                     if r.get(fd.name)]
        else:
            ops.throw("System.UnexpectedException", f"Approver type {spec.get('type')} is not supported by the local org")
        if not found:
            raise ProcessError("INVALID_CROSS_REFERENCE_KEY", f"The approver {kind} {name or ''} was not found".strip())
        return found[0]["Id"]

    # -- approval actions --------------------------------------------------------------------------------
    def _run_actions(self, process: dict[str, Any], actions: list[dict[str, str]], od: Any, rid: str) -> None:
        """Field updates (``workflows/Object.workflow``) write the record, locked or not; other action types
        fail loudly."""
        for action in actions:
            if action["type"] != "FieldUpdate":
                ops.throw("System.UnexpectedException", f"Approval process {process['name']}: {action['type']} "
                          f"action {action['name']} is not run by the local org")
            spec = named_definition(self.tx, FIELD_UPDATE, f"{od.name}.{action['name']}")
            if spec is None:
                ops.throw("System.UnexpectedException", f"Approval process {process['name']}: field update "
                          f"{od.name}.{action['name']} is not deployed")
            value = self._field_update_value(process, spec)
            self.tx.locks_bypassed = True
            try:
                results = self.tx.update(od.name, [{"Id": rid, spec["field"]: value}], all_or_none=True)
            finally:
                self.tx.locks_bypassed = False
            if not results[0].success:
                raise ProcessError(results[0].errors[0].status_code, results[0].errors[0].message)

    def _field_update_value(self, process: dict[str, Any], spec: dict[str, Any]) -> Any:
        operation = (spec.get("operation") or "Literal").lower()
        if operation == "literal":
            return spec.get("literalValue")
        if operation == "null":
            return None
        if operation == "lookupvalue":
            kind = (spec.get("lookupValueType") or "User").lower()
            found = (self.query("SELECT Id FROM User WHERE Username = :n", n=spec.get("lookupValue")) if kind == "user"
                     else self.query("SELECT Id FROM Group WHERE Type = 'Queue' AND DeveloperName = :n",
                                     n=spec.get("lookupValue")))
            if not found:
                raise ProcessError("INVALID_CROSS_REFERENCE_KEY", f"Field update {spec.get('fullName')}: no {kind} "
                                                                  f"{spec.get('lookupValue')}")
            return found[0]["Id"]
        ops.throw("System.UnexpectedException", f"Approval process {process['name']}: field update "
                  f"{spec.get('fullName')} with operation {spec.get('operation')} is not run by the local org")
        return None  # not reached

    # -- approve / reject / remove ------------------------------------------------------------------------
    def act(self, req: ProcessWorkitemRequest) -> dict[str, Any]:
        wid = to18(req.workitem_id) if req.workitem_id and is_valid_id(req.workitem_id) else None
        items = self.query("SELECT Id, ActorId, ProcessInstanceId FROM ProcessInstanceWorkitem WHERE Id = :w",
                           w=wid) if wid else []
        if not items:
            raise ProcessError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        status = ACTIONS.get(str(req.action or "").lower())
        if status is None:
            raise ProcessError("INVALID_OPERATION", f"Invalid action: {req.action} (Approve, Reject or Removed)")
        item = items[0]
        instance = self.query("SELECT Id, ProcessDefinitionId, TargetObjectId, SubmittedById FROM ProcessInstance "
                              "WHERE Id = :i", i=item["ProcessInstanceId"])[0]
        process = definition(self.tx, APPROVAL_PROCESS, instance["ProcessDefinitionId"]) or {"steps": [], "name": "?"}
        done = len(self.query("SELECT Id FROM ProcessInstanceStep WHERE ProcessInstanceId = :i AND StepStatus = "
                              "'Approved'", i=instance["Id"]))
        self.write("insert", "ProcessInstanceStep", {"ProcessInstanceId": instance["Id"], "StepStatus": status,
                                                     "ActorId": self.user, "OriginalActorId": item["ActorId"],
                                                     "Comments": req.comments})
        pending = [r["Id"] for r in self.query("SELECT Id FROM ProcessInstanceWorkitem WHERE ProcessInstanceId = :i",
                                               i=instance["Id"])]
        self.tx.delete(pending, all_or_none=True)
        rid = instance["TargetObjectId"]
        od = self.tx.schema.by_key_prefix(rid[:3])
        step = process["steps"][done] if done < len(process["steps"]) else {"actions": {}}
        actions = process.get("actions") or {}
        if status == "Approved":
            self._run_actions(process, step["actions"].get("approvalActions", []), od, rid)
        elif status == "Rejected":
            self._run_actions(process, step["actions"].get("rejectionActions", []), od, rid)
        if status == "Approved" and done + 1 < len(process["steps"]):
            workitems, actors = self._assign(process, done + 1, od, rid, instance["SubmittedById"], instance["Id"],
                                             req.next_approvers)
            return {"entityid": rid, "instanceid": instance["Id"], "instancestatus": "Pending",
                    "newworkitemids": workitems, "actorids": actors}
        final = {"Approved": "finalApprovalActions", "Rejected": "finalRejectionActions", "Removed": "recallActions"}
        self._run_actions(process, actions.get(final[status], []), od, rid)
        self.write("update", "ProcessInstance", {"Id": instance["Id"], "Status": status, "LastActorId": self.user,
                                                 "CompletedDate": self.tx.now()})
        keep = process.get("finalApprovalRecordLock") if status == "Approved" else \
            process.get("finalRejectionRecordLock") if status == "Rejected" else False
        if not keep:
            set_locks(self.tx, [rid], False, True)
        return {"entityid": rid, "instanceid": instance["Id"], "instancestatus": status, "newworkitemids": [],
                "actorids": []}


def _result(values: dict[str, Any] | None, error: ProcessError | None, entity: str | None) -> ApprovalResult:
    if error is not None:
        return ApprovalResult(errors=[DatabaseError(error.code, error.message, [])], success=False, entityid=entity,
                              raw={"entityId": entity})
    assert values is not None
    raw = {"actorIds": list(values["actorids"]), "entityId": values["entityid"], "instanceId": values["instanceid"],
           "instanceStatus": values["instancestatus"], "newWorkitemIds": list(values["newworkitemids"])}
    values = dict(values, raw=raw)
    values["newworkitemids"] = ApexList([IdValue(i) for i in values["newworkitemids"]], TypeRef("Id"))
    values["actorids"] = ApexList([IdValue(i) for i in values["actorids"]], TypeRef("Id"))
    return ApprovalResult(success=True, **values)


def _process(a):
    if not a or a[0] is None:
        ops.npe()
    many = isinstance(a[0], list)
    requests = list(a[0]) if many else [a[0]]
    all_or_none = True if len(a) < 2 or a[1] is None else bool(a[1])
    prog = ops.CURRENT.prog
    if not requests:
        return ApexList([], TypeRef("Approval.ProcessResult"))
    prog.tx.check("dml")
    prog.tx.add_rows("dml", len(requests))
    run = _Run(prog)
    sp = run.tx.savepoint()
    results: list[ApprovalResult] = []
    for req in requests:
        inner = run.tx.savepoint()
        try:
            if isinstance(req, ProcessSubmitRequest):
                values = run.submit(req)
            elif isinstance(req, ProcessWorkitemRequest):
                values = run.act(req)
            else:
                ops.throw("System.TypeException", "Approval.process takes ProcessSubmitRequest or ProcessWorkitemRequest")
            run.tx.release(inner)
            results.append(_result(values, None, None))
        except ProcessError as error:
            run.tx.rollback_to(inner)
            results.append(_result(None, error, getattr(req, "object_id", None)))
        except BaseException:
            run.tx.rollback_to(sp)
            raise
    failed = [DmlRow(i, r.errors[0].message, r.errors[0].status_code, [], None)
              for i, r in enumerate(results) if r.errors]
    if failed and all_or_none:
        run.tx.rollback_to(sp)
        raise_approval_dml("process", failed)
    run.tx.release(sp)
    return ApexList(results, TypeRef("Approval.ProcessResult")) if many else results[0]


STATUS_CODES.extend(["ALREADY_IN_PROCESS", "NO_APPLICABLE_PROCESS", "MANAGER_NOT_DEFINED"])
NEW["approval.processsubmitrequest"] = lambda a: ProcessSubmitRequest()
NEW["approval.processworkitemrequest"] = lambda a: ProcessWorkitemRequest()
STATIC_METHODS[("approval", "process")] = _process
