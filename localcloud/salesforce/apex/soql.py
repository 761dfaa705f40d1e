"""Inline SOQL ([SELECT ...]) and Database.query: binds, governor counting, result -> SObjects."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any

from . import ops
from localcloud.salesforce.data import visibility
from localcloud.salesforce.data.compound import Location as CompoundValue
from localcloud.salesforce.data.permissions import definitions_of
from localcloud.salesforce.data.soql.ast import SubQuery

from .compiler import Ctx, text
from .compoundlib import to_apex as compound_to_apex
from .dataport import data_tx, to_data_value
from .stdlib import STATIC_METHODS, Native
from .tables import FRAME_AWARE, HOOKS, provide
from .values import ApexList, ApexMap, Blob, IdValue, SObject, TypeRef, is_valid_id


def _bind_key(node) -> str:
    return "".join(text(node).split())


@provide("compile_query")
def compile_query(comp, ctx: Ctx, n):
    body = n.named_children[0] if n.named_children else None
    src = text(n).strip()
    if src.startswith("[") and src.endswith("]"):
        src = src[1:-1].strip()
    binds = []
    stack = [body] if body is not None else []
    while stack:
        x = stack.pop()
        if x.type == "bound_apex_expression":
            e = x.named_children[0]
            binds.append((_bind_key(e), comp.expr(ctx, e)))
            continue
        stack.extend(x.named_children)
    if body is None or body.type != "soql_query_body":
        if src[:4].upper() == "FIND":  # SOSL: List<List<SObject>> (sosl.py)
            return HOOKS.compile_search(comp, ctx, n, src, binds)
        raise ctx.err(n, "Unsupported: this inline query is neither SOQL nor SOSL")
    sobject = None
    fc = body.child_by_field_name("from_clause")
    if fc is not None and fc.named_children:
        sobject = text(fc.named_children[0]).strip()
    count_only = False
    sc = body.child_by_field_name("select_clause")
    if sc is not None and len(sc.named_children) == 1 and sc.named_children[0].type == "count_expression":
        count_only = True
    aggregate = sc is not None and any(c.type in ("alias_expression", "function_expression")
                                       for c in sc.named_children) or (
        body.child_by_field_name("group_by_clause") is not None)
    query_obj = _parse_ast(ctx, n, src)
    if query_obj is not None:  # toLabel()/FORMAT() keep a query plain; date functions, GROUPING() aggregate it
        aggregate = query_obj.is_aggregate and not count_only
    prog = comp.prog
    binds_t = tuple(binds)

    def run(fr):
        values = {k: _bind_value(e(fr)) for k, e in binds_t}
        return execute(prog, query_obj if query_obj is not None else src, values, sobject, count_only, aggregate)
    return run


def _parse_ast(ctx, node, src: str):
    """Parse inline SOQL once, at load: a query the SOQL engine rejects is a compile error."""
    from localcloud.salesforce.data import soql_from_node
    root = node
    while root.parent is not None:
        root = root.parent
    source = b" " * root.start_byte + root.text  # the root node starts after leading whitespace
    try:
        q = soql_from_node(node, source)
    except Exception as e:  # MalformedQueryError and friends
        raise ctx.err(node, f"Invalid SOQL: {getattr(e, 'message', None) or e}") from None
    _check_duplicates(ctx, node, q)
    return ensure_id(q)


def _check_duplicates(ctx, node, q) -> None:
    from localcloud.salesforce.data.soql.ast import FieldRef, Function, SubQuery
    seen = set()
    for s in q.select:
        if isinstance(s, (FieldRef, Function)) and not (isinstance(s, Function) and (s.aggregate or s.alias)):
            name = s.text if isinstance(s, FieldRef) else ".".join(s.path)  # toLabel(f) answers as f
            key = name.lower()
            if key in seen:
                raise ctx.err(node, f"duplicate field selected: {name}")
            seen.add(key)
        elif isinstance(s, SubQuery):
            _check_duplicates(ctx, node, s.query)


def ensure_id(q: Any) -> Any:
    """Apex always returns Id: add it to the select list (and to subqueries) when it is missing."""
    from localcloud.salesforce.data.soql.ast import FieldRef, SubQuery
    if q is None or q.count_only or q.is_aggregate:
        return q
    if not any(isinstance(s, FieldRef) and len(s.path) == 1 and s.path[0].lower() == "id" for s in q.select):
        q.select.insert(0, FieldRef(["Id"]))
    for s in q.select:
        if isinstance(s, SubQuery):
            ensure_id(s.query)
    return q


def _bind_value(v: Any) -> Any:
    if isinstance(v, SObject):
        return to_data_value(v.fields.get("id"))
    if isinstance(v, ApexList):
        return [_bind_value(x) for x in v]
    if hasattr(v, "d") and hasattr(v, "etype"):  # ApexSet
        return [_bind_value(x) for x in v.d]
    return to_data_value(v)


def execute(prog: Any, query: Any, binds: dict[str, Any], sobject: str | None, count_only: bool,
            aggregate: bool, user_mode: bool = False) -> Any:
    tx = prog.tx
    tx.check("soql")
    dtx = data_tx(prog)
    if isinstance(query, str):
        from localcloud.salesforce.data import parse_soql
        try:
            query = ensure_id(parse_soql(query))
        except ops.ApexThrown:
            raise
        except Exception as e:  # MalformedQueryError and friends
            ops.throw("System.QueryException", getattr(e, "message", str(e)))

    in_user_mode = user_mode or getattr(query, "security", None) == "USER_MODE"
    if in_user_mode:
        _enforce_user_mode(prog, dtx, query)
    row_filter = _row_filter(prog, dtx, query, in_user_mode)

    def resolver(b):
        if b.name in binds:
            return binds[b.name]
        ops.throw("System.QueryException", f"Variable does not exist: {b.name}")

    try:
        res = dtx.query(query, binds, bind_resolver=resolver, typed=True, page_size=1_000_000,
                        row_filter=row_filter)
    except ops.ApexThrown:
        raise
    except Exception as e:  # data-layer SalesforceError
        if getattr(e, "error_code", None) is None:
            raise
        if e.error_code == "LIMIT_EXCEEDED" or type(e).__name__ == "LimitExceededError":
            ops.throw("System.LimitException", getattr(e, "message", str(e)))
        ops.throw("System.QueryException", getattr(e, "message", str(e)))
    if count_only or getattr(res, "count_only", False):
        tx.add_rows("query", 1)
        return res.total_size
    records = list(res.records)
    page = res
    while getattr(page, "next_records_locator", None):
        page = prog.tx.data.store.query_more(page.next_records_locator)
        records.extend(page.records)
    tx.add_rows("query", len(records))
    if aggregate:
        return ApexList([to_aggregate(r) for r in records], TypeRef("AggregateResult"))
    name = prog.sobject_name(sobject) if sobject else None
    return ApexList([to_sobject(prog, r, name) for r in records], TypeRef(name or "SObject"))


def _row_filter(prog: Any, dtx: Any, query: Any, user_mode: bool) -> Any:
    """Record visibility of the query in a sharing context (``data/visibility.py``), or None: every row.
    No work at all unless the query reads an object that sharing can limit (a Private one)."""
    schema = getattr(dtx, "schema", None)
    if schema is None:
        return None
    objects = [schema.find(query.sobject)]
    for item in query.select:
        if isinstance(item, SubQuery) and objects[0] is not None:
            found = schema.child_relationship(objects[0], item.query.sobject)
            if found is not None:
                objects.append(found[0])
    if not any(visibility.needs_filter(schema, od) for od in objects):
        return None
    if not user_mode and not with_sharing(prog):
        return None
    found = running_visibility(prog, dtx)
    return found.condition if found is not None else None


def running_visibility(prog: Any, dtx: Any) -> Any:
    """The running user's ``visibility.Visibility`` (cached per transaction), None: they see every record."""
    user_id = (prog.tx.user or {}).get("userid")
    if not user_id:
        return None
    cache, key = prog.tx.access_cache, "visibility:" + str(user_id)
    if key not in cache:
        cache[key] = visibility.for_user(dtx, str(user_id), definitions_of(prog.tx.data.store))
    return cache[key]


def with_sharing(prog: Any) -> bool:
    """Whether the running code enforces sharing: the innermost class declared ``with sharing`` or ``without
    sharing`` decides (a method runs in the mode of the class that defines it; an inner class does not take
    its outer class's); ``inherited sharing`` and classes without a declaration run in their caller's mode.
    At the entry point: anonymous Apex and an ``inherited sharing`` class run with sharing; a class without
    a declaration, a trigger and a test class without one run without sharing (the Apex Developer Guide's
    rules for classes of API versions before the "with sharing by default" change)."""
    entry = False
    for pos in reversed(prog.tx.stack):
        cls = getattr(pos[0], "cls", None)
        if cls is None:  # a trigger: system context
            return False
        mods = cls.modifiers
        if "with_sharing" in mods:
            return True
        if "without_sharing" in mods:
            return False
        if getattr(pos[0], "label", "") == "AnonymousBlock":
            return True
        entry = "inherited_sharing" in mods
    return entry


def _enforce_user_mode(prog: Any, dtx: Any, query: Any) -> None:
    """WITH USER_MODE / AccessLevel.USER_MODE: every inaccessible field of every clause, in one exception."""
    from . import access
    user = access.current_access(prog)
    if user is None:
        return
    schema = getattr(dtx, "schema", None)
    if schema is None or schema.find(query.sobject) is None:
        return  # the engine reports the unknown object
    bad = access.inaccessible_in_query(user, schema, query)
    if bad:
        obj = prog.new_exception("System.QueryException", access.QUERY_MESSAGE)
        obj.fields["__inaccessible"] = {k: sorted(v) for k, v in bad.items()}
        raise ops.ApexThrown(obj)


@provide("to_sobject")
def to_sobject(prog: Any, rec: dict[str, Any], default_type: str | None) -> SObject:
    attrs = rec.get("attributes") or {}
    tname = attrs.get("type") or default_type or "SObject"
    so = SObject(tname, queried=set())
    od: Any = False  # the object's definition, looked up at the first parent relationship
    for k, v in rec.items():
        if k == "attributes":
            continue
        if isinstance(v, dict) and ("attributes" in v or not ("records" in v)):
            v = to_sobject(prog, v, None)
        elif isinstance(v, dict) and "records" in v:
            v = ApexList([to_sobject(prog, r, None) for r in v["records"]], TypeRef("SObject"))
        elif isinstance(v, list):
            v = ApexList([to_sobject(prog, r, None) for r in v], TypeRef("SObject"))
        elif isinstance(v, (bytes, bytearray)):  # a base64 field reads as a Blob
            v = Blob(bytes(v))
        elif isinstance(v, CompoundValue):  # BillingAddress, geolocation: System.Address / System.Location
            v = compound_to_apex(v)
        elif isinstance(v, str) and (k.lower() == "id" or k.lower().endswith("id") or k.lower().endswith("__c")) \
                and len(v) == 18 and is_valid_id(v) and _is_ref(prog, tname, k):
            v = IdValue(v)
        so.put(k, v)
        if v is None or isinstance(v, SObject):
            if od is False:
                od = _object_def(prog, tname)
            fd = od.relationship(k) if od is not None else None
            if fd is not None and fd.lower not in so.fields:
                _put_foreign_key(so, fd, k, v, rec)
    return so


def _object_def(prog: Any, sobject: str) -> Any:
    od_fn = getattr(prog.schema, "object_def", None)
    try:
        return od_fn(sobject) if od_fn is not None else None
    except Exception:  # noqa: BLE001 - an object the schema does not know
        return None


def _put_foreign_key(so: SObject, fd: Any, relationship: str, parent: Any, rec: dict[str, Any]) -> None:
    """A parent relationship read through SOQL (``CreatedBy.Username``) also answers its foreign key
    (``CreatedById``), as Salesforce returns it with the parent."""
    if any(key.lower() == fd.lower for key in rec):
        return
    if not isinstance(parent, SObject):
        so.queried.add(fd.lower)  # no parent: the key reads as null, and is not a populated field
        return
    parent_id = parent.fields.get("id")
    if parent_id is None:
        url = ((rec.get(relationship) or {}).get("attributes") or {}).get("url") or ""
        tail = url.rsplit("/", 1)[-1]
        parent_id = IdValue(tail) if len(tail) == 18 and is_valid_id(tail) else None
    if parent_id is not None:
        so.put(fd.name, parent_id)


def _is_ref(prog: Any, sobject: str, field: str) -> bool:
    if field.lower() == "id":
        return True
    sch = prog.schema
    od_fn = getattr(sch, "object_def", None)
    if od_fn is None:
        return field.lower().endswith("id")
    try:
        fd = od_fn(sobject).find_field(field)
    except Exception:  # noqa: BLE001
        return False
    return fd is not None and fd.type in ("reference", "id")


def _agg_value(v: Any) -> Any:
    # Adapter: the data layer returns SUM/AVG as float or as Decimal with a trailing ".0" (50.0 for a
    # Currency(16,0) field); Apex gives a Decimal without the artificial fraction.
    if isinstance(v, float):
        v = Decimal(repr(v))
    if isinstance(v, Decimal) and v.as_tuple().exponent == -1 and v == v.to_integral_value():
        from .values import WIDE_CONTEXT
        return v.quantize(Decimal(1), context=WIDE_CONTEXT)
    return v


class AggregateResult(Native):
    apex_type = "AggregateResult"

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = {k.lower(): _agg_value(v) for k, v in values.items() if k != "attributes"}

    def m_get(self, a):
        return self.values.get(str(a[0]).lower())

    def apex_get(self, low):
        return self.values.get(low)

    def apex_str(self):
        return "AggregateResult:{" + ", ".join(f"{k}={ops.to_str(v)}" for k, v in self.values.items()) + "}"


def to_aggregate(rec: dict[str, Any]) -> AggregateResult:
    return AggregateResult(rec)


# ------------------------------------------------------------------------------------------------ dynamic SOQL


def _frame_binds(fr: dict[str, Any], query: str, fields: Any = None) -> dict[str, Any]:
    """Resolve :name / :a.b binds of a dynamic query as Salesforce does: against the caller's local
    variables, then the fields (static, or instance ones of ``this``) visible from the calling class.
    ``fields(name, fr)`` returns ``(found, value)`` for the latter."""
    import re
    out = {}
    for m in re.finditer(r":\s*([A-Za-z_][A-Za-z0-9_]*(?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)", query):
        key = "".join(m.group(1).split())
        parts = key.split(".")
        head = parts[0].lower()
        if head in fr:
            v = fr[head]
        elif fr.get("this") is not None and head in getattr(fr["this"], "fields", {}):
            v = fr["this"].fields[head]
        else:
            found, v = fields(head, fr) if fields is not None else (False, None)
            if not found:
                continue
        for p in parts[1:]:
            v = ops.CURRENT.prog.get_member(v, p.lower())
        out[key] = _bind_value(v)
    return out


def _dyn_meta(query: str):
    import re
    q = " ".join(query.split())
    m = re.search(r"\bFROM\s+([A-Za-z0-9_]+)", q, re.I)
    sobject = m.group(1) if m else None
    head = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", q, re.I)
    sel = head.group(1) if head else ""
    count_only = sel.strip().lower() == "count()"
    aggregate = bool(re.search(r"\b(count|sum|avg|min|max|count_distinct)\s*\(", sel, re.I)) and not count_only \
        or bool(re.search(r"\bGROUP\s+BY\b", q, re.I))
    return sobject, count_only, aggregate


def is_user_mode(value: Any) -> bool:
    """An AccessLevel argument that asks for user mode (AccessLevel.USER_MODE)."""
    return is_access_level(value) and value.name.upper() == "USER_MODE"


def is_access_level(value: Any) -> bool:
    enum = getattr(value, "enum", None)
    return enum is not None and getattr(enum, "name", "").lower() in ("accesslevel", "system.accesslevel")


def database_query(args, fr, fields=None):
    q = args[0]
    if q is None:
        ops.npe()
    sobject, count_only, aggregate = _dyn_meta(q)
    binds = _frame_binds(fr, q, fields)
    user_mode = len(args) > 1 and is_user_mode(args[1])
    return execute(ops.CURRENT.prog, q, binds, sobject, count_only, aggregate, user_mode)


def database_query_with_binds(args, fr, fields=None):
    q, bindmap = args[0], args[1]
    if q is None:
        ops.npe()
    sobject, count_only, aggregate = _dyn_meta(q)
    binds = {}
    if isinstance(bindmap, ApexMap):
        for k, v in bindmap.items():
            binds[str(k)] = _bind_value(v)
    user_mode = len(args) > 2 and is_user_mode(args[2])
    return execute(ops.CURRENT.prog, q, binds, sobject, count_only, aggregate, user_mode)


def database_count_query(args, fr, fields=None):
    q = args[0]
    _, _, _ = _dyn_meta(q)
    user_mode = len(args) > 1 and is_user_mode(args[1])
    return execute(ops.CURRENT.prog, q, _frame_binds(fr, q, fields), None, True, False, user_mode)


FRAME_AWARE.update({
    ("database", "query"): database_query,
    ("database", "querywithbinds"): database_query_with_binds,
    ("database", "countquery"): database_count_query,
    ("database", "countquerywithbinds"): lambda a, fr, fields=None: execute(
        ops.CURRENT.prog, a[0], {str(k): _bind_value(v) for k, v in a[1].items()}, None, True, False,
        len(a) > 2 and is_user_mode(a[2])),
})
for key in FRAME_AWARE:
    STATIC_METHODS[key] = lambda a: ops.throw("System.UnexpectedException", "frame-aware")


_ = (_dt, Decimal)
