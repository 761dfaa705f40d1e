"""Visualforce list views for ``ApexPages.StandardSetController`` (vflib): the object's deployed ``ListView``
rows as ``SelectOption`` values, and the query a list view stands for (``data/listviews.py``: scopes,
filters, boolean filter, columns), run for the controller. A list view the local org cannot apply
throws ``System.VisualforceException`` with the data layer's message.

Choices (Salesforce does not document them for Apex): the list view's query replaces the controller's
original one; its records carry the original records' fields, the ``addFields`` fields and the list view's
columns; the controller's own queries count against no governor limit; list view ids are given in their
15-character form; ``Mine`` is the running user's (``System.runAs``).
"""
from __future__ import annotations

from typing import Any

from localcloud.salesforce.data.listviews import ListViewError, build_query, list_views

from . import ops
from .dataport import data_tx


def view_options(prog: Any, sobject: str) -> list[tuple[str, str]]:
    """``(15-character id, label)`` of the object's list views, by label."""
    return [(str(r["Id"])[:15], r["Name"]) for r in list_views(data_tx(prog), sobject)]


def view_query(prog: Any, od: Any, view_id: str, fields: list[str]) -> tuple[str, dict[str, Any]]:
    tx = data_tx(prog)
    try:
        return build_query(tx, od, view_id, fields, (prog.tx.user or {}).get("userid") or tx.user_id)
    except ListViewError as error:
        ops.throw("System.VisualforceException", error.message)
        raise  # not reached


__all__ = ["view_options", "view_query"]
