"""``approvalProcesses/Object.Name.approvalProcess`` -> a ``ProcessDefinition`` row (``Name`` = the label,
``DeveloperName``, ``Type`` Approval, ``TableEnumOrId`` = the object, ``State`` Active/Inactive,
``LockType`` Total, ``Description``) and its definition (``data/definitions.py``) that Apex
``Approval.process`` runs (``apex/approvallib.py``): ``processOrder``, ``entryCriteria`` (criteria items
and ``booleanFilter``, or a ``formula``), the ``approvalStep``s (name, label, approvers, step entry
criteria), ``recordEditability``, ``finalApprovalRecordLock``/``finalRejectionRecordLock`` and the actions
of each action list (name and type; field updates are ``workflows/Object.workflow``'s, ``metadata/workflows.py``). An object the org does not know fails the deploy; a redeploy updates in place.
"""
from __future__ import annotations

from typing import Any, Sequence

from localcloud.salesforce.data.definitions import APPROVAL_PROCESS, save_definition
from localcloud.salesforce.metadata.package import Component, DeployPackageError, child_text, children, parse_xml
from localcloud.salesforce.metadata.setup_rows import RowError, SetupRowProblem, save_row

ACTION_LISTS = ("initialSubmissionActions", "finalApprovalActions", "finalRejectionActions", "recallActions")


def _actions(element: Any, lists: Sequence[str]) -> dict[str, list[dict[str, str]]]:
    """``{list name: [{"name", "type"}]}`` of the action lists present (``FieldUpdate``, ``Alert``, ...)."""
    out: dict[str, list[dict[str, str]]] = {}
    for name in lists:
        actions = [{"name": child_text(a, "name") or "", "type": child_text(a, "type") or ""}
                   for x in children(element, name) for a in children(x, "action")]
        if actions:
            out[name] = actions
    return out


def _criteria(element: Any) -> dict[str, Any] | None:
    if element is None:
        return None
    return {"items": [{"field": child_text(c, "field") or "", "operation": child_text(c, "operation") or "equals",
                       "value": child_text(c, "value") or ""} for c in children(element, "criteriaItems")],
            "booleanFilter": child_text(element, "booleanFilter"), "formula": child_text(element, "formula")}


def read_process(component: Component) -> dict[str, Any]:
    root = parse_xml(component.body, component.file_name)
    steps = []
    for step in children(root, "approvalStep"):
        assigned = next(iter(children(step, "assignedApprover")), None)
        approvers = [{"type": child_text(a, "type") or "", "name": child_text(a, "name")}
                     for a in (children(assigned, "approver") if assigned is not None else [])]
        steps.append({"name": child_text(step, "name") or "", "label": child_text(step, "label"),
                      "approvers": approvers, "entryCriteria": _criteria(next(iter(children(step, "entryCriteria")), None)),
                      "actions": _actions(step, ("approvalActions", "rejectionActions"))})
    order = child_text(root, "processOrder")
    return {
        "object": component.full_name.split(".", 1)[0], "name": component.full_name.split(".", 1)[-1],
        "label": child_text(root, "label") or component.full_name, "active": (child_text(root, "active") or "").lower() == "true",
        "description": child_text(root, "description"), "processOrder": int(order) if order and order.isdigit() else None,
        "entryCriteria": _criteria(next(iter(children(root, "entryCriteria")), None)), "steps": steps,
        "recordEditability": child_text(root, "recordEditability") or "AdminOnly",
        "finalApprovalRecordLock": (child_text(root, "finalApprovalRecordLock") or "").lower() == "true",
        "finalRejectionRecordLock": (child_text(root, "finalRejectionRecordLock") or "").lower() == "true",
        "actions": _actions(root, ACTION_LISTS),
    }


def apply_approval_processes(tx: Any, components: Sequence[Component]) -> list[SetupRowProblem]:
    problems: list[SetupRowProblem] = []
    if tx.schema.find("ProcessDefinition") is None:
        return problems
    for component in components:
        if component.type != "ApprovalProcess":
            continue
        try:
            process = read_process(component)
        except DeployPackageError as error:
            problems.append(SetupRowProblem(component, str(error)))
            continue
        if tx.schema.find(process["object"]) is None:
            problems.append(SetupRowProblem(component, f"no CustomObject named {process['object']} found"))
            continue
        row = {"Name": process["label"], "Type": "Approval", "TableEnumOrId": process["object"],
               "State": "Active" if process["active"] else "Inactive", "LockType": "Total",
               "Description": process["description"]}
        try:
            row_id = save_row(tx, "ProcessDefinition", process["name"], row, " AND TableEnumOrId = :o",
                              {"o": process["object"]})
        except RowError as error:
            problems.append(SetupRowProblem(component, str(error)))
            continue
        save_definition(tx, APPROVAL_PROCESS, row_id, process["object"], process)
    return problems


__all__ = ["apply_approval_processes", "read_process"]
