"""Custom labels (``labels/CustomLabels.labels``): the values Apex reads as ``System.Label.Name``."""
from __future__ import annotations

from typing import Any

from localcloud.salesforce.metadata.package import child_text, children, parse_xml


def label_values(body: bytes, file_name: str = "labels/CustomLabels.labels") -> dict[str, str]:
    """Label name (lower-case) -> value, from one CustomLabels file."""
    root = parse_xml(body, file_name)
    out: dict[str, str] = {}
    for label in children(root, "labels"):
        name = child_text(label, "fullName")
        if name:
            out[name.lower()] = child_text(label, "value") or ""
    return out


def org_labels(repository: Any) -> dict[str, str]:
    """Every custom label the org's deployed CustomLabels components define."""
    out: dict[str, str] = {}
    for _, body in repository.component_bodies("CustomLabels"):
        out.update(label_values(body))
    return out


def org_pages(repository: Any) -> set[str]:
    """The names (lower case) of the org's deployed Visualforce pages: what Apex's ``Page.Name`` may name."""
    return {row["fullName"].lower() for row in repository.components("ApexPage")}
