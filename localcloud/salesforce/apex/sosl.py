"""Apex SOSL: ``[FIND 'term' IN ... FIELDS RETURNING Account(Id, Name WHERE ...), Contact]`` and
``Search.query(text)`` answer ``List<List<SObject>>`` (one list per RETURNING object, in order) from the
data layer's search (``localcloud.salesforce.data.sosl``). As in Salesforce, SOSL in a test returns
nothing unless ``Test.setFixedSearchResults(ids)`` named the records it returns (filtered by RETURNING).
"""

from __future__ import annotations

from typing import Any

from localcloud.salesforce.data.sosl import parse_sosl, search

from . import ops
from .dataport import data_tx
from .stdlib import STATIC_METHODS
from .tables import FRAME_AWARE, provide
from .values import ApexList, TypeRef


@provide("compile_search")
def compile_search(comp: Any, ctx: Any, n: Any, src: str, binds: list[tuple[str, Any]]):
    """The closure of an inline SOSL query (``src``: the text between the brackets)."""
    try:
        query = parse_sosl(src)
    except Exception as e:  # MalformedSearchError and friends: a compile error, as Salesforce reports it
        raise ctx.err(n, f"Invalid SOSL: {getattr(e, 'message', None) or e}") from None
    prog = comp.prog
    binds_t = tuple(binds)

    def run(fr):
        from .soql import _bind_value
        return run_search(prog, query, {k: _bind_value(e(fr)) for k, e in binds_t})
    return run


def run_search(prog: Any, query: Any, binds: dict[str, Any]) -> ApexList:
    from .soql import to_sobject
    tx = prog.tx
    tx.check("soql")
    dtx = data_tx(prog)
    fixed = getattr(tx, "fixed_search_results", None)
    in_test = getattr(tx, "test", None) is not None

    def resolver(b):
        ops.throw("System.QueryException", f"Variable does not exist: {b.name}")

    try:
        if isinstance(query, str):
            query = parse_sosl(query)
        _select_ids(query)
        found = search(dtx, query, binds, bind_resolver=resolver, typed=True,
                       fixed_ids=(fixed if fixed is not None else []) if in_test else None)
    except ops.ApexThrown:
        raise
    except Exception as e:  # data-layer SalesforceError
        if getattr(e, "error_code", None) is None:
            raise
        ops.throw("System.SearchException" if e.error_code in ("MALFORMED_SEARCH", "INVALID_SEARCH")
                  else "System.QueryException", getattr(e, "message", str(e)))
    out = []
    for sobject, records in found:
        name = prog.sobject_name(sobject) or sobject
        tx.add_rows("query", len(records))
        out.append(ApexList([to_sobject(prog, r, name) for r in records], TypeRef(name)))
    return ApexList(out, TypeRef("List", (TypeRef("SObject"),), "List<SObject>"))


def _select_ids(query: Any) -> None:
    """Apex records always carry their Id, as with SOQL: a RETURNING field list without it gets it."""
    if getattr(query, "ids_selected", False):
        return
    from localcloud.salesforce.data import parse_soql
    from localcloud.salesforce.data.soql.ast import FieldRef
    for spec in query.returning:
        select = parse_soql(spec.soql).select
        if not any(isinstance(f, FieldRef) and [p.lower() for p in f.path] == ["id"] for f in select):
            spec.soql = "SELECT Id, " + spec.soql[len("SELECT "):]
    query.ids_selected = True


def _search_query_in_frame(a, fr, fields=None):
    """Search.query(text): binds (``:recordId``) read the caller's variables, as Database.query's do."""
    from .soql import _frame_binds
    if not a or a[0] is None:
        ops.npe()
    return run_search(ops.CURRENT.prog, str(a[0]), _frame_binds(fr, str(a[0]), fields))


def _search_query(a):
    if not a or a[0] is None:
        ops.npe()
    return run_search(ops.CURRENT.prog, str(a[0]), {})


def _set_fixed_search_results(a):
    ids = a[0] if a else None
    ops.CURRENT.prog.tx.fixed_search_results = [str(i) for i in ids] if ids is not None else None


STATIC_METHODS[("search", "query")] = _search_query
FRAME_AWARE[("search", "query")] = _search_query_in_frame
STATIC_METHODS[("test", "setfixedsearchresults")] = _set_fixed_search_results
