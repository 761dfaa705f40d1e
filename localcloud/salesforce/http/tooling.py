"""Tooling API under ``/services/data/vXX.X/tooling/``: query and sObject reads over Tooling objects.

Tooling objects are row providers registered in ``TOOLING_OBJECTS`` (name -> fn(context) -> rows).
``ApexClass`` and ``ApexTrigger`` come from the metadata repository. The run-tests surface of
issue 5 (``runTestsAsynchronous``, ``ApexTestQueueItem``, ``ApexTestResult``, coverage objects)
plugs in by adding providers here and routes through ``build_app(extra_modules=...)``.

Queries are parsed by the data layer's SOQL parser and evaluated here over the provider's rows
(field lists, WHERE with = != < > LIKE IN NOT IN AND OR NOT null, ORDER BY, LIMIT, OFFSET, COUNT()).
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Callable

from localcloud.common.httpserver import Request, Response, Router
from localcloud.salesforce.data import InvalidFieldError, MalformedQueryError, SalesforceError, parse_soql
from localcloud.salesforce.data.soql import (
    And, Bind, Comparison, DateLiteral, FieldRef, Literal, Not, Or, SoqlQuery, SubQuery, ValueList,
)
from localcloud.salesforce.http.context import OrgContext
from localcloud.salesforce.http.errors import RestError

RowProvider = Callable[[OrgContext], list[dict[str, Any]]]


def _repo_rows(kind: str) -> RowProvider:
    def rows(context: OrgContext) -> list[dict[str, Any]]:
        repo = context.extras.get("metadata_repository")
        return repo.apex_rows(kind) if repo is not None else []

    return rows


apex_class_rows: RowProvider = _repo_rows("ApexClass")

TOOLING_OBJECTS: dict[str, RowProvider] = {
    "ApexClass": apex_class_rows,
    "ApexTrigger": _repo_rows("ApexTrigger"),
    # CumulusCI's org_config.installed_packages reads it: the local org has no managed packages.
    "InstalledSubscriberPackage": lambda context: [],
    # The sf CLI resets source tracking after creating a scratch org (RevisionCounter > 0 -> 0). The local
    # org keeps no source tracking: no SourceMember rows (a documented limit; CumulusCI deploys through
    # the Metadata API and does not read them).
    "SourceMember": lambda context: [],
}


def register_tooling_object(name: str, provider: RowProvider) -> None:
    TOOLING_OBJECTS[name] = provider


def _canonical(name: str) -> str | None:
    return next((k for k in TOOLING_OBJECTS if k.lower() == name.lower()), None)


def _get(row: dict[str, Any], path: list[str], sobject: str) -> Any:
    value: Any = row
    for part in path:
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        if key is None:
            raise InvalidFieldError.no_such_column(".".join(path), sobject)
        value = value[key]
    return value


def _literal(value: Any) -> Any:
    if isinstance(value, Literal):
        return value.value
    if isinstance(value, (Bind, DateLiteral)):
        raise MalformedQueryError("Bind variables and date literals are not supported in Tooling queries here")
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if op in ("IN", "NOT_IN"):
        items = [_literal(i) for i in right.items] if isinstance(right, ValueList) else [_literal(right)]
        hit = any(_equal(left, i) for i in items)
        return hit if op == "IN" else not hit
    right = _literal(right)
    if op == "=":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if op == "LIKE":
        if left is None or right is None:
            return False
        pattern = "^" + re.escape(str(right)).replace("%", ".*").replace("_", ".") + "$"
        pattern = pattern.replace(r"\%", ".*").replace(r"\_", ".")
        return re.match(pattern, str(left), re.I | re.S) is not None
    if left is None or right is None:
        return False
    left, right = _comparable(left), _comparable(right)
    return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def _comparable(value: Any) -> Any:
    if isinstance(value, (int, float, Decimal)):
        return Decimal(str(value))
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).lower()


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return _comparable(left) == _comparable(right)


def _matches(row: dict[str, Any], condition: Any, sobject: str) -> bool:
    if condition is None:
        return True
    if isinstance(condition, And):
        return all(_matches(row, c, sobject) for c in condition.items)
    if isinstance(condition, Or):
        return any(_matches(row, c, sobject) for c in condition.items)
    if isinstance(condition, Not):
        return not _matches(row, condition.item, sobject)
    if isinstance(condition, Comparison) and isinstance(condition.left, FieldRef):
        return _compare(_get(row, condition.left.path, sobject), condition.op, condition.value)
    raise MalformedQueryError("This Tooling query uses a condition the local org does not support")


def run_tooling_query(context: OrgContext, soql: str, version: str) -> dict[str, Any]:
    query: SoqlQuery = parse_soql(soql)
    sobject = _canonical(query.sobject)
    if sobject is None:
        raise SalesforceError(
            "INVALID_TYPE",
            f"sObject type '{query.sobject}' is not supported. If you are attempting to use a custom object, be sure "
            "to append the '__c' after the entity name. Please reference your WSDL or the describe call for the "
            "appropriate names.",
        )
    rows = [r for r in TOOLING_OBJECTS[sobject](context) if _matches(r, query.where, sobject)]
    for item in reversed(query.order_by):
        if isinstance(item.key, FieldRef):
            key_path = item.key.path
            rows.sort(key=lambda r: (_get(r, key_path, sobject) is None, _comparable(_get(r, key_path, sobject) or "")),
                      reverse=item.descending)
    if query.count_only:
        return {"size": len(rows), "totalSize": len(rows), "done": True, "queryLocator": None,
                "entityTypeName": sobject, "records": []}
    offset = query.offset if isinstance(query.offset, int) else 0
    limit = query.limit if isinstance(query.limit, int) else None
    rows = rows[offset: offset + limit if limit is not None else None]
    records = [_shape(row, query.select, sobject, version) for row in rows]
    return {"size": len(records), "totalSize": len(records), "done": True, "queryLocator": None,
            "entityTypeName": sobject, "records": records}


def _attributes(sobject: str, row: dict[str, Any], version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/tooling/sobjects/{sobject}/{row.get('Id')}"}


def _shape(row: dict[str, Any], select: list[Any], sobject: str, version: str) -> dict[str, Any]:
    """One output record: plain fields, parent paths as nested records, child subqueries as
    ``{"totalSize", "done", "records"}`` (or null when empty), as the Tooling API answers."""
    record: dict[str, Any] = {"attributes": _attributes(row.get("_type", sobject), row, version)}
    for item in select:
        if isinstance(item, FieldRef):
            if len(item.path) == 1:
                key = next((k for k in row if k.lower() == item.path[0].lower()), item.path[0])
                record[key] = _get(row, item.path, sobject)
                continue
            parent_key = next((k for k in row if k.lower() == item.path[0].lower()), None)
            if parent_key is None:
                raise InvalidFieldError.no_such_column(item.text, sobject)
            parent = row[parent_key]
            if parent is None:
                record[parent_key] = None
                continue
            nested = record.setdefault(parent_key, {"attributes": _attributes(parent.get("_type", parent_key), parent, version)})
            leaf = next((k for k in parent if k.lower() == item.path[-1].lower()), item.path[-1])
            nested[leaf] = _get(parent, item.path[1:], sobject)
        elif isinstance(item, SubQuery):
            relationship = next((k for k in row if k.lower() == item.query.sobject.lower()), None)
            if relationship is None:
                raise InvalidFieldError(f"Didn't understand relationship '{item.query.sobject}' in FROM part of query call.")
            children = [c for c in row[relationship] or [] if _matches(c, item.query.where, item.query.sobject)]
            record[relationship] = (
                {"totalSize": len(children), "done": True,
                 "records": [_shape(c, item.query.select, c.get("_type", item.query.sobject), version) for c in children]}
                if children else None
            )
        else:
            raise MalformedQueryError("Aggregate functions are not supported in Tooling queries on the local org")
    return record


def register(router: Router, context: OrgContext) -> None:
    base = r"/services/data/v(?P<version>\d+\.\d)/tooling"

    def guard(handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                return handler(request)
            except RestError as error:
                return error.response()
            except SalesforceError as error:
                return Response.json(error.to_json(), error.http_status)

        return run

    @guard
    def query(request: Request) -> Response:
        soql = request.arg("q")
        if not soql:
            raise RestError(400, "MALFORMED_QUERY", "A query string has to be specified")
        return Response.json(run_tooling_query(context, soql, request.path_params["version"]))

    @guard
    def retrieve(request: Request) -> Response:
        sobject = _canonical(request.path_params["sobject"])
        if sobject is None:
            raise RestError(404, "NOT_FOUND", "The requested resource does not exist")
        record_id = request.path_params["record_id"]
        for row in TOOLING_OBJECTS[sobject](context):
            if str(row.get("Id", ""))[:15] == record_id[:15]:
                return Response.json({"attributes": {"type": sobject, "url": f"/services/data/v{request.path_params['version']}/tooling/sobjects/{sobject}/{row['Id']}"}, **row})
        raise RestError(404, "NOT_FOUND", "The requested resource does not exist")

    @guard
    def global_describe(request: Request) -> Response:
        return Response.json({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
            {"name": name, "label": name, "queryable": True, "retrieveable": True, "createable": False,
             "updateable": False, "deletable": False, "custom": False,
             "urls": {"sobject": f"/services/data/v{request.path_params['version']}/tooling/sobjects/{name}"}}
            for name in TOOLING_OBJECTS
        ]})

    router.add("GET", base + r"/(query|queryAll)/?", query)
    router.add("GET", base + r"/sobjects/?", global_describe)
    router.add("GET", base + r"/sobjects/(?P<sobject>\w+)/(?P<record_id>\w{15,18})/?", retrieve)
