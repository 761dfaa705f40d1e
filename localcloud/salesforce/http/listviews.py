"""REST List Views (REST API Developer Guide, "List Views", "List View Describe", "List View Results"):
``GET /sobjects/{sObject}/listviews``, ``.../listviews/{id}``, ``.../listviews/{id}/describe`` and
``.../listviews/{id}/results?limit=&offset=`` over the org's deployed list views (``ListView`` rows and their
definitions; the query each stands for: ``data/listviews.py``).

Shapes as Salesforce's: the list ``{"done", "listviews": [{"describeUrl", "developerName", "id", "label",
"resultsUrl", "soqlCompatible", "url"}], "nextRecordsUrl", "size", "sobjectType"}``; results ``{"columns",
"developerName", "done", "id", "label", "records": [{"columns": [{"fieldNameOrPath", "value"}]}], "size"}``
(``limit`` 1..2000, default 25; ``offset`` default 0). Columns: the list view's columns the object has, then
``Id`` hidden. The describe gives ``columns``, ``id``, ``orderBy``, ``query`` (its filter values appear as bind names,
``:lv1_0``: the local org binds them), ``scope``, ``sobjectType`` (not ``whereCondition``). ``Mine`` is the session user's. An unknown id: 404 ``NOT_FOUND``.
"""
from __future__ import annotations

from typing import Any

from localcloud.common.httpserver import Request, Response
from localcloud.salesforce.data import Transaction
from localcloud.salesforce.data.listviews import build_query, list_views, view_definition
from localcloud.salesforce.http.errors import RestError

MAX_LIMIT = 2000
DEFAULT_LIMIT = 25


def _base(request: Request, sobject: str) -> str:
    return f"/services/data/v{request.path_params['version']}/sobjects/{sobject}/listviews"


def _entry(request: Request, sobject: str, row: dict[str, Any]) -> dict[str, Any]:
    url = f"{_base(request, sobject)}/{row['Id']}"
    return {"describeUrl": f"{url}/describe", "developerName": row["DeveloperName"], "id": row["Id"],
            "label": row["Name"], "resultsUrl": f"{url}/results", "soqlCompatible": True, "url": url}


def _view_row(request: Request, tx: Transaction) -> tuple[Any, dict[str, Any]]:
    od = tx.schema.get(request.path_params["sobject"])
    wanted = request.path_params["view_id"][:15]
    row = next((r for r in list_views(tx, od.name) if str(r["Id"])[:15] == wanted), None)
    if row is None:
        raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
    return od, row


def _columns(od: Any, query_fields: list[str], view: dict[str, Any], order: str) -> list[dict[str, Any]]:
    out = []
    for path in query_fields:
        fd = od.find_field(path) if "." not in path else None
        sort = path == order
        out.append({"ascendingLabel": "Z-A", "descendingLabel": "A-Z", "fieldNameOrPath": path,
                    "hidden": path == "Id", "label": fd.raw.get("label", path) if fd is not None else path,
                    "selectListItem": path, "sortDirection": "ascending" if sort else None,
                    "sortIndex": 0 if sort else None, "sortable": path != "Id",
                    "type": fd.type if fd is not None else "string"})
    return [c for c in out if c["fieldNameOrPath"] != "Id"] + [c for c in out if c["fieldNameOrPath"] == "Id"]


def _query(request: Request, tx: Transaction) -> tuple[Any, dict[str, Any], dict[str, Any], str, dict[str, Any], list[str]]:
    od, row = _view_row(request, tx)
    view = view_definition(tx, row["Id"])
    soql, binds = build_query(tx, od, row["Id"], [], tx.user_id)
    fields = [f.strip() for f in soql[len("SELECT "):soql.index(" FROM ")].split(",")]
    return od, row, view, soql, binds, fields


def _value(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def list_views_of(request: Request, tx: Transaction) -> Response:
    od = tx.schema.get(request.path_params["sobject"])
    views = [_entry(request, od.name, r) for r in list_views(tx, od.name)]
    return Response.json({"done": True, "listviews": views, "nextRecordsUrl": None, "size": len(views),
                          "sobjectType": od.name})


def list_view(request: Request, tx: Transaction) -> Response:
    od, row = _view_row(request, tx)
    return Response.json(_entry(request, od.name, row))


def describe(request: Request, tx: Transaction) -> Response:
    od, row, view, soql, _, fields = _query(request, tx)
    order = od.name_field.name if od.name_field is not None else "Id"
    return Response.json({"columns": _columns(od, fields, view, order), "id": row["Id"],
                          "orderBy": [{"fieldNameOrPath": order, "nullsPosition": "first", "sortDirection": "ascending"}],
                          "query": soql, "scope": (view.get("filterScope") or "Everything").lower(),
                          "sobjectType": od.name})


def results(request: Request, tx: Transaction) -> Response:
    od, row, view, soql, binds, fields = _query(request, tx)
    limit, offset = _int_arg(request, "limit", DEFAULT_LIMIT), _int_arg(request, "offset", 0)
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise RestError(400, "INVALID_QUERY_PARAMETER", f"limit must be 1 to {MAX_LIMIT} and offset 0 or more")
    records = tx.query(soql, binds, page_size=1_000_000).records
    page = records[offset:offset + limit]
    order = od.name_field.name if od.name_field is not None else "Id"
    columns = _columns(od, fields, view, order)
    return Response.json({
        "columns": columns, "developerName": row["DeveloperName"], "done": offset + len(page) >= len(records),
        "id": row["Id"], "label": row["Name"], "size": len(page),
        "records": [{"columns": [{"fieldNameOrPath": c["fieldNameOrPath"], "value": _value(r, c["fieldNameOrPath"])}
                                 for c in columns]} for r in page]})


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise RestError(400, "INVALID_QUERY_PARAMETER", f"{name} must be a whole number: {raw}") from None


__all__ = ["list_views_of", "list_view", "describe", "results"]
