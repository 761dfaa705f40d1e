"""An object's deployed ``<listViews>`` (``objects/X.object``, or ``objects/X/listViews/Y.listView-meta.xml``
in source format, which CumulusCI converts into the object file) -> ``ListView`` rows (``Name`` = the label,
``DeveloperName``, ``SobjectType``, ``IsSoqlCompatible`` true, ``NamespacePrefix`` null) and their definitions
(``data/definitions.py``: ``filterScope``, ``queue``, ``filters`` (field, operation, value), ``booleanFilter``,
``columns``) that ``ApexPages.StandardSetController.setFilterId`` applies.

Re-deploying an object updates its list views in place (found by SobjectType and DeveloperName); list views
the new file leaves out stay, as a Metadata API deploy leaves them.
"""
from __future__ import annotations

from typing import Any, Sequence

from localcloud.salesforce.data.definitions import LIST_VIEW, save_definition
from localcloud.salesforce.metadata.package import Component, DeployPackageError, child_text, children, parse_xml
from localcloud.salesforce.metadata.setup_rows import RowError, SetupRowProblem, save_row


def read_list_views(component: Component) -> list[dict[str, Any]]:
    """The list view definitions of one CustomObject component."""
    root = parse_xml(component.body, component.file_name)
    out = []
    for view in children(root, "listViews"):
        name = child_text(view, "fullName") or ""
        out.append({
            "fullName": name, "label": child_text(view, "label") or name,
            "filterScope": child_text(view, "filterScope") or "Everything",
            "queue": child_text(view, "queue"), "booleanFilter": child_text(view, "booleanFilter"),
            "columns": [(c.text or "").strip() for c in children(view, "columns")],
            "filters": [{"field": child_text(f, "field") or "", "operation": child_text(f, "operation") or "equals",
                         "value": child_text(f, "value") or ""} for f in children(view, "filters")],
        })
    return out


def apply_list_views(tx: Any, components: Sequence[Component]) -> list[SetupRowProblem]:
    """Write the ListView rows and definitions of the deploy's objects; one problem per broken view."""
    problems: list[SetupRowProblem] = []
    if tx.schema.find("ListView") is None:
        return problems
    for component in components:
        if component.type != "CustomObject":
            continue
        try:
            views = read_list_views(component)
        except DeployPackageError as error:
            problems.append(SetupRowProblem(component, str(error)))
            continue
        for view in views:
            if not view["fullName"]:
                problems.append(SetupRowProblem(component, "A list view needs a fullName", "<listViews>"))
                continue
            row = {"Name": view["label"], "SobjectType": component.full_name, "IsSoqlCompatible": True}
            try:
                row_id = save_row(tx, "ListView", view["fullName"], row, " AND SobjectType = :o",
                                  {"o": component.full_name})
            except RowError as error:
                problems.append(SetupRowProblem(component, f"List view {view['fullName']}: {error}",
                                                f"<fullName>{view['fullName']}</fullName>"))
                continue
            save_definition(tx, LIST_VIEW, row_id, component.full_name, view)
    return problems


__all__ = ["apply_list_views", "read_list_views"]
