"""List views (Metadata API ``ListView``) applied to data: the query a list view stands for, used by Apex
``ApexPages.StandardSetController`` (``apex/listviewlib.py``) and the REST List Views resources
(``http/listviews.py``). The rows are ``ListView`` records and the definitions ``definitions.py`` entries,
both written by the metadata deploy (``metadata/list_views.py``).

Definition -> query: ``filterScope`` ``Everything`` (no condition), ``Mine`` (``OwnerId`` = the user),
``Queue`` (``OwnerId`` = the ``<queue>`` group); other scopes (Delegated, MyTerritory, MyTeamTerritory, Team)
raise ``ListViewError`` naming the scope. Each filter is ``field operation value``: ``equals``/``notEqual``
(a comma-separated value is any/none of the values), ``lessThan``, ``greaterThan``, ``lessOrEqual``,
``greaterOrEqual``, ``contains``/``notContain``/``startsWith`` (LIKE; comma-separated: any/none),
``includes``/``excludes`` (multi-select picklists); an empty value compares with null; a date literal
(``TODAY``, ``LAST_N_DAYS:30``) is kept as one. Values are bound, never pasted into the query.
``booleanFilter`` (``1 AND (2 OR 3)``) combines the filters by number, else all must hold. Field names: API
names (``Amount__c``, ``Name``, ``Ticket__c.Status__c``) or the list view spellings (``ACCOUNT.NAME``,
``CREATED_DATE``, ``OWNER.ALIAS``, ``CORE.USERS.ALIAS``, ``ADDRESS1_CITY``, ``PHONE1``..., ``NAME_MAP``). A filter
field the object lacks (or ``within``) raises ``ListViewError``; a column the object lacks is left out
(columns only add fields). The same filter rules serve approval processes' entry criteria
(``criteria_where``).

Choices (Salesforce does not document them): the records are ordered by the object's name field, then Id;
at most 10,000 records.
"""

from __future__ import annotations

import re
from typing import Any

from .definitions import LIST_VIEW, definition
from .errors import SalesforceError
from .txn import DataTransaction

#: list view field spellings -> API field paths (before the generic CREATED_DATE -> CreatedDate rule)
NAME_MAP = {
    "LAST_UPDATE": "LastModifiedDate", "CREATED_DATE": "CreatedDate", "OWNER.ALIAS": "Owner.Alias",
    "CORE.USERS.ALIAS": "Owner.Alias", "CORE.USERS.FULL_NAME": "Owner.Name", "OWNER.FIRST_NAME": "Owner.FirstName",
    "OWNER.LAST_NAME": "Owner.LastName", "CREATEDBY_USER.ALIAS": "CreatedBy.Alias",
    "UPDATEDBY_USER.ALIAS": "LastModifiedBy.Alias", "RECORDTYPE": "RecordType.Name", "FULL_NAME": "Name",
    "PHONE1": "Phone", "PHONE3": "Fax", "ADDRESS1_STREET": "BillingStreet", "ADDRESS1_CITY": "BillingCity",
    "ADDRESS1_STATE": "BillingState", "ADDRESS1_ZIP": "BillingPostalCode", "ADDRESS1_COUNTRY": "BillingCountry",
    "ADDRESS2_STREET": "ShippingStreet", "ADDRESS2_CITY": "ShippingCity", "ADDRESS2_STATE": "ShippingState",
    "ADDRESS2_ZIP": "ShippingPostalCode", "ADDRESS2_COUNTRY": "ShippingCountry", "CASES.CASE_NUMBER": "CaseNumber",
}
SCOPES = {"everything", "mine", "queue"}
_DATE_LITERAL = re.compile(r"^[A-Z_]+(:\d+)?$")
_COMPARE = {"lessthan": "<", "greaterthan": ">", "lessorequal": "<=", "greaterorequal": ">="}
MAX_RECORDS = 10_000


class ListViewError(SalesforceError):
    """A list view the local org cannot apply (Apex: ``System.VisualforceException``)."""

    def __init__(self, message: str, code: str = "INVALID_OPERATION", http_status: int = 400) -> None:
        super().__init__(code, message, http_status=http_status)


def fail(message: str) -> None:
    raise ListViewError(message)


def list_views(tx: DataTransaction, sobject: str) -> list[dict[str, Any]]:
    """The object's ``ListView`` rows (Id, Name, DeveloperName), by label."""
    return tx.query("SELECT Id, Name, DeveloperName FROM ListView WHERE SobjectType = :o ORDER BY Name, Id",
                    {"o": sobject}).records


def view_definition(tx: DataTransaction, view_id: str) -> dict[str, Any]:
    view = definition(tx, LIST_VIEW, view_id)
    if view is None:
        raise ListViewError(f"Invalid list view id: {view_id}", "NOT_FOUND", 404)
    return view


def field_path(od: Any, name: str) -> str | None:
    """The API path of a list view field name on ``od``, or None."""
    fd = od.find_field(name)
    if fd is not None:
        return fd.name
    upper = name.upper()
    prefix = od.name.upper() + "."
    if upper not in NAME_MAP and upper.startswith(prefix):
        upper = upper[len(prefix):]  # ACCOUNT.NAME on Account, Ticket__c.Status__c on Ticket__c
        fd = od.find_field(name[len(prefix):])
        if fd is not None:
            return fd.name
    if upper in NAME_MAP:
        return NAME_MAP[upper]
    if upper == "NAME" and od.name_field is not None:
        return od.name_field.name
    head, _, rest = upper.partition(".")
    if rest:  # ACCOUNT.NAME on Contact: the Account relationship's Name
        rel = od.relationship(head)
        if rel is None or "." in rest:
            return None
        return f"{rel.raw.get('relationshipName') or head}.{'Name' if rest == 'NAME' else rest.title().replace('_', '')}"
    squeezed = upper.replace("_", "")
    found = next((fd for fd in od.fields.values() if fd.name.upper().replace("_", "") == squeezed), None)
    return found.name if found is not None else None


def build_query(tx: DataTransaction, od: Any, view_id: str, fields: list[str], user_id: str
                ) -> tuple[str, dict[str, Any]]:
    """The SOQL (and its binds) of a list view over ``od`` selecting ``fields`` and the view's columns
    (``user_id``: whose records ``Mine`` means)."""
    view = view_definition(tx, view_id)
    selected = list(dict.fromkeys(["Id", *fields]))
    for column in view.get("columns") or []:
        path = field_path(od, column)
        if path is not None and path.lower() not in {s.lower() for s in selected}:
            selected.append(path)
    binds: dict[str, Any] = {}
    where = criteria_where(od, view.get("filters") or [], view.get("booleanFilter"), binds)
    scope = (view.get("filterScope") or "Everything").lower()
    if scope not in SCOPES:
        fail(f"List view {view.get('fullName')}: filterScope {view.get('filterScope')} is not supported by the local org")
    if scope == "mine":
        binds["lvOwner"] = user_id
        where = f"OwnerId = :lvOwner" + (f" AND ({where})" if where else "")
    elif scope == "queue":
        queues = tx.query("SELECT Id FROM Group WHERE Type = 'Queue' AND DeveloperName = :q",
                                     {"q": view.get("queue") or ""}).records
        if not queues:
            fail(f"List view {view.get('fullName')}: no queue named {view.get('queue')}")
        binds["lvQueue"] = queues[0]["Id"]
        where = f"OwnerId = :lvQueue" + (f" AND ({where})" if where else "")
    order = ", ".join(x for x in ((od.name_field.name if od.name_field else None), "Id") if x)
    soql = f"SELECT {', '.join(selected)} FROM {od.name}" + (f" WHERE {where}" if where else "") + \
        f" ORDER BY {order} LIMIT {MAX_RECORDS}"
    return soql, binds


def criteria_where(od: Any, items: list[dict[str, Any]], boolean_filter: str | None, binds: dict[str, Any]) -> str:
    """A SOQL condition (binds added to ``binds``) of filter items ``{field, operation, value}`` combined by
    ``boolean_filter``; the same rules serve approval processes' entry criteria (approvallib)."""
    return _combine([_filter(od, f, binds, n) for n, f in enumerate(items, start=1)], boolean_filter)


def _filter(od: Any, spec: dict[str, Any], binds: dict[str, Any], n: int) -> str:
    path = field_path(od, spec.get("field") or "")
    if path is None:
        fail(f"List view filter {n}: {od.name} has no field {spec.get('field')}")
    op = (spec.get("operation") or "equals").lower()
    raw = spec.get("value") or ""
    fd = od.find_field(path) if "." not in path else None
    values = [v.strip() for v in raw.split(",")] if raw else [""]

    def bind(value: str) -> str:
        if value == "":
            return "null"
        if fd is not None and fd.type in ("date", "datetime") and _DATE_LITERAL.match(value.upper()):
            return value.upper()
        key = f"lv{n}_{len(binds)}"
        binds[key] = _typed(fd, value)
        return f":{key}"

    if op in ("equals", "notequal"):
        if len(values) == 1:
            return f"{path} {'=' if op == 'equals' else '!='} {bind(values[0])}"
        key = f"lv{n}_{len(binds)}"
        binds[key] = [_typed(fd, v) for v in values]
        return f"{path} {'IN' if op == 'equals' else 'NOT IN'} :{key}"
    if op in _COMPARE:
        return f"{path} {_COMPARE[op]} {bind(values[0])}"
    if op in ("contains", "notcontain", "startswith"):
        likes = []
        for v in values:
            key = f"lv{n}_{len(binds)}"
            binds[key] = (v if op == "startswith" else f"%{v}") + "%"
            likes.append(f"{path} LIKE :{key}")
        joined = " OR ".join(likes)
        return f"(NOT ({joined}))" if op == "notcontain" else f"({joined})"
    if op in ("includes", "excludes"):
        key = f"lv{n}_{len(binds)}"
        binds[key] = values
        return f"{path} {op.upper()} :{key}"
    fail(f"List view filter {n}: operation {spec.get('operation')} is not supported by the local org")
    return ""


def _typed(fd: Any, value: str) -> Any:
    if fd is None:
        return value
    if fd.type == "boolean":
        return value.lower() in ("1", "true")
    if fd.type in ("int", "double", "currency", "percent"):
        try:
            return float(value) if "." in value else int(value)
        except ValueError:
            fail(f"List view filter on {fd.name}: not a number: {value}")
    if fd.type == "date":
        import datetime as _dt
        for pattern in ("%Y-%m-%d", "%m/%d/%Y"):
            try:
                return _dt.datetime.strptime(value, pattern).date()
            except ValueError:
                continue
        fail(f"List view filter on {fd.name}: not a date: {value}")
    return value


def _combine(conditions: list[str], boolean_filter: str | None) -> str:
    if not conditions:
        return ""
    if not boolean_filter:
        return " AND ".join(conditions)

    def number(m: re.Match[str]) -> str:
        k = int(m.group(0))
        if not 1 <= k <= len(conditions):
            fail(f"booleanFilter {boolean_filter} names filter {k}, the list view has {len(conditions)}")
        return f"({conditions[k - 1]})"
    if not re.fullmatch(r"[\d\s()]*(?:\s*(?:AND|OR|NOT)\s*[\d\s()]*)*", boolean_filter.upper()):
        fail(f"Invalid booleanFilter: {boolean_filter}")
    return re.sub(r"\d+", number, boolean_filter)


__all__ = ["ListViewError", "NAME_MAP", "list_views", "view_definition", "build_query", "criteria_where",
           "field_path"]
