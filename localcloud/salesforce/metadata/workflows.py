"""``workflows/Object.workflow``: its ``<fieldUpdates>`` are kept (``data/definitions.py``, under
``Object.Name``) for the approval processes whose actions name them (``apex/approvalprocesslib.py``). A
field update naming a field the object lacks fails the deploy with its line. Workflow rules, alerts,
tasks and outbound messages are accepted and not run (workflow rules are retired in Salesforce; approval
actions of those types fail loudly when run).
"""
from __future__ import annotations

from typing import Any, Sequence

from localcloud.salesforce.data.definitions import FIELD_UPDATE, save_named_definition
from localcloud.salesforce.metadata.package import Component, DeployPackageError, child_text, children, parse_xml
from localcloud.salesforce.metadata.setup_rows import SetupRowProblem

FIELDS = ("field", "operation", "literalValue", "lookupValue", "lookupValueType", "formula", "name",
          "notifyAssignee", "reevaluateOnChange")


def apply_field_updates(tx: Any, components: Sequence[Component]) -> list[SetupRowProblem]:
    problems: list[SetupRowProblem] = []
    for component in components:
        if component.type != "Workflow":
            continue
        od = tx.schema.find(component.full_name)
        if od is None:
            problems.append(SetupRowProblem(component, f"no CustomObject named {component.full_name} found"))
            continue
        try:
            root = parse_xml(component.body, component.file_name)
        except DeployPackageError as error:
            problems.append(SetupRowProblem(component, str(error)))
            continue
        for update in children(root, "fieldUpdates"):
            name = child_text(update, "fullName") or ""
            spec: dict[str, Any] = {key: child_text(update, key) for key in FIELDS}
            if od.find_field(spec["field"] or "") is None:
                problems.append(SetupRowProblem(component, f"Field update {name}: {od.name} has no field {spec['field']}",
                                                f"<field>{spec['field']}</field>"))
                continue
            save_named_definition(tx, FIELD_UPDATE, f"{od.name}.{name}", od.name, {**spec, "fullName": name})
    return problems


__all__ = ["apply_field_updates"]
