"""``permissionsets/X.permissionset`` into a plain definition (kept for the Apex runtime's USER_MODE)."""
from __future__ import annotations

from typing import Any

from localcloud.salesforce.metadata.package import Component, child_text, children, parse_xml


def _flag(element: Any, name: str) -> bool:
    return (child_text(element, name) or "").lower() == "true"


def permission_set_definition(component: Component) -> dict[str, Any]:
    root = parse_xml(component.body, component.file_name)
    return {
        "name": component.full_name,
        "label": child_text(root, "label") or component.full_name,
        "description": child_text(root, "description"),
        "hasActivationRequired": _flag(root, "hasActivationRequired"),
        "objectPermissions": [
            {
                "object": child_text(p, "object"),
                **{k: _flag(p, k) for k in ("allowCreate", "allowRead", "allowEdit", "allowDelete", "viewAllRecords", "modifyAllRecords")},
            }
            for p in children(root, "objectPermissions")
        ],
        "fieldPermissions": [
            {"field": child_text(p, "field"), "readable": _flag(p, "readable"), "editable": _flag(p, "editable")}
            for p in children(root, "fieldPermissions")
        ],
        "classAccesses": [
            {"apexClass": child_text(p, "apexClass"), "enabled": _flag(p, "enabled")} for p in children(root, "classAccesses")
        ],
        "customPermissions": [
            {"name": child_text(p, "name"), "enabled": _flag(p, "enabled")} for p in children(root, "customPermissions")
        ],
        "userPermissions": [
            {"name": child_text(p, "name"), "enabled": _flag(p, "enabled")} for p in children(root, "userPermissions")
        ],
    }
