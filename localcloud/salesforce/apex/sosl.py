"""Apex SOSL: ``[FIND 'term' IN ... FIELDS RETURNING Account(Id, Name WHERE ...), Contact]`` and
``Search.query(text)`` answer ``List<List<SObject>>`` (one list per RETURNING object, in order) from the
data layer's search (``localcloud.salesforce.data.sosl``). As in Salesforce, SOSL in a test returns
nothing unless ``Test.setFixedSearchResults(ids)`` named the records it returns (filtered by RETURNING).

``Search.find(text)`` answers ``Search.SearchResults``: ``get(sobjectName)`` is the
``List<Search.SearchResult>`` of that RETURNING object (an object the search did not name throws
``System.SearchException``, our text); ``SearchResult.getSObject()`` the record, ``getSnippet()`` the
``WITH SNIPPET`` snippet (null without one: objects other than articles, cases, feeds and ideas have none,
as in Salesforce), ``getSnippet(field)`` the snippet of that field (``'Case.Description'`` or
``'Description'``). ``Search.suggest(term, sobjectName, options)`` suggests records whose name starts
with the term's words (``Search.SuggestionOption.setLimit``, 5 by default; ``hasMoreResults()``); in a
test it suggests among ``Test.setFixedSearchResults`` records (our choice: Salesforce does not say).
Each call counts one SOSL query against the limit of 20 (``Limits.getSoslQueries``).
"""

from __future__ import annotations

import re
from typing import Any

from localcloud.salesforce.data.sosl import parse_sosl, search_hits

from . import ops
from .dataport import data_tx
from .stdlib import NEW, STATIC_METHODS
from .tables import FRAME_AWARE, Native, provide
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
    out = []
    for sobject, records, _ in _found(prog, query, binds):
        name = prog.sobject_name(sobject) or sobject
        prog.tx.add_rows("query", len(records))
        out.append(ApexList([to_sobject(prog, r, name) for r in records], TypeRef(name)))
    return ApexList(out, TypeRef("List", (TypeRef("SObject"),), "List<SObject>"))


def _found(prog: Any, query: Any, binds: dict[str, Any], match_fixed: bool = False) -> list[Any]:
    """The data layer's ``search_hits`` for the running transaction: in a test only the fixed results
    (``match_fixed``: those of them the term matches)."""
    tx = prog.tx
    tx.check("sosl")
    dtx = data_tx(prog)
    fixed = getattr(tx, "fixed_search_results", None)
    in_test = getattr(tx, "test", None) is not None

    def resolver(b):
        ops.throw("System.QueryException", f"Variable does not exist: {b.name}")

    try:
        if isinstance(query, str):
            query = parse_sosl(query)
        _select_ids(query)
        return search_hits(dtx, query, binds, bind_resolver=resolver, typed=True,
                           fixed_ids=(fixed if fixed is not None else []) if in_test else None,
                           match_fixed=match_fixed)
    except ops.ApexThrown:
        raise
    except Exception as e:  # data-layer SalesforceError
        if getattr(e, "error_code", None) is None:
            raise
        ops.throw("System.SearchException" if e.error_code in ("MALFORMED_SEARCH", "INVALID_SEARCH")
                  else "System.QueryException", getattr(e, "message", str(e)))
    return []  # not reached: ops.throw raises


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


class SearchResult(Native):
    apex_type = "Search.SearchResult"

    def __init__(self, record: Any, hit: Any) -> None:
        self.record, self.hit = record, hit

    def m_getsobject(self, a):
        return self.record

    def m_getsnippet(self, a):
        if not a:
            return self.hit.snippet
        if a[0] is None:
            ops.npe()
        name = str(a[0]).rsplit(".", 1)[-1].lower()
        return self.hit.field_snippets.get(name)


class SearchResults(Native):
    apex_type = "Search.SearchResults"

    def __init__(self, by_object: dict[str, ApexList], names: list[str]) -> None:
        self.by_object, self.names = by_object, names

    def m_get(self, a):
        if not a or a[0] is None:
            ops.npe()
        found = self.by_object.get(str(a[0]).lower())
        if found is None:
            ops.throw("System.SearchException", f"{a[0]} is not an object of this search "
                                                f"(RETURNING {', '.join(self.names) or 'nothing'})")
        return found


def _search_find(a):
    from .soql import to_sobject
    if not a or a[0] is None:
        ops.npe()
    prog = ops.CURRENT.prog
    by_object: dict[str, ApexList] = {}
    names = []
    for sobject, records, hits in _found(prog, str(a[0]), {}):
        name = prog.sobject_name(sobject) or sobject
        prog.tx.add_rows("query", len(records))
        names.append(name)
        by_object[name.lower()] = ApexList([SearchResult(to_sobject(prog, r, name), h) for r, h in zip(records, hits)],
                                           TypeRef("Search.SearchResult"))
    return SearchResults(by_object, names)


# -- Search.suggest ------------------------------------------------------------------------------------------
DEFAULT_SUGGESTIONS = 5
MAX_SUGGESTIONS = 2000


class SuggestionOption(Native):
    apex_type = "Search.SuggestionOption"

    def __init__(self) -> None:
        self.limit: int | None = None
        self.filter: Any = None

    def m_setlimit(self, a):
        if a[0] is not None and not 1 <= int(a[0]) <= MAX_SUGGESTIONS:
            ops.throw("System.InvalidParameterValueException", f"limit must be from 1 to {MAX_SUGGESTIONS}: {a[0]}")
        self.limit = None if a[0] is None else int(a[0])

    def m_setfilter(self, a):
        self.filter = a[0]  # a KnowledgeSuggestionFilter: only articles use it, and the local org has none


class SuggestionResult(Native):
    apex_type = "Search.SuggestionResult"

    def __init__(self, record: Any) -> None:
        self.record = record

    def m_getsobject(self, a):
        return self.record


class SuggestionResults(Native):
    apex_type = "Search.SuggestionResults"

    def __init__(self, results: list[SuggestionResult], more: bool) -> None:
        self.results, self.more = results, more

    def m_getsuggestionresults(self, a):
        return ApexList(list(self.results), TypeRef("Search.SuggestionResult"))

    def m_hasmoreresults(self, a):
        return self.more


def _search_suggest(a):
    """Records of one object whose name fields hold every word of the term as a word prefix."""
    from .soql import to_sobject
    if len(a) < 2 or a[0] is None or a[1] is None:
        ops.npe()
    options = a[2] if len(a) > 2 else None
    limit = (options.limit if isinstance(options, SuggestionOption) else None) or DEFAULT_SUGGESTIONS
    words = re.findall(r"[^\W_]+", str(a[0]))
    if not words or len("".join(words)) < 2:
        ops.throw("System.SearchException", f"search term must be longer than one character: {a[0]}")
    prog = ops.CURRENT.prog
    od = data_tx(prog).schema.find(str(a[1]))
    if od is None:
        ops.throw("System.SearchException", f"sObject type '{a[1]}' is not supported.")
    sobject = prog.sobject_name(od.name.lower()) or od.name
    name_field = od.name_field.name if od.name_field is not None else "Id"
    term = " AND ".join(w + "*" for w in words)
    query = f"FIND {{{term}}} IN NAME FIELDS RETURNING {od.name}(Id, {name_field}) LIMIT {limit + 1}"
    found = _found(prog, query, {}, match_fixed=True)
    records = found[0][1] if found else []
    prog.tx.add_rows("query", min(len(records), limit))
    return SuggestionResults([SuggestionResult(to_sobject(prog, r, sobject)) for r in records[:limit]],
                             len(records) > limit)


def _search_query(a):
    if not a or a[0] is None:
        ops.npe()
    return run_search(ops.CURRENT.prog, str(a[0]), {})


def _set_fixed_search_results(a):
    ids = a[0] if a else None
    ops.CURRENT.prog.tx.fixed_search_results = [str(i) for i in ids] if ids is not None else None


STATIC_METHODS[("search", "query")] = _search_query
STATIC_METHODS[("search", "find")] = _search_find
STATIC_METHODS[("search", "suggest")] = _search_suggest
NEW["search.suggestionoption"] = lambda a: SuggestionOption()
STATIC_METHODS[("test", "setfixedsearchresults")] = _set_fixed_search_results
FRAME_AWARE[("search", "query")] = _search_query_in_frame
