"""Expression compilation (see compiler.py for the overall scheme)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Callable

from . import ops, tables
from .compiler import POS, Ctx, text, type_ref, unescape
from .values import INT_MAX, ApexList, ApexMap, ApexObject, ApexSet, Long, SObject, TypeRef

Fn = Callable[[dict], Any]


class _NullChain(Exception):
    """A `?.` met null inside a longer chain: the whole chain (a?.b().c()) is null, as in Apex."""


_CHAIN = ("method_invocation", "field_access")


def _is_safe(n) -> bool:
    return any(c.type == "safe_navigation_operator" for c in n.children)


def _chain_outer(n) -> bool:
    """Whether `n` is the outermost link of a member chain (not the receiver of a call or field access)."""
    parent = n.parent
    if parent is None or parent.type not in _CHAIN:
        return True
    obj = parent.child_by_field_name("object")
    return obj is None or obj.start_byte != n.start_byte or obj.end_byte != n.end_byte


def _chain_has_safe_below(n) -> bool:
    obj = n.child_by_field_name("object")
    while obj is not None and obj.type in _CHAIN:
        if _is_safe(obj):
            return True
        obj = obj.child_by_field_name("object")
    return False


def _null_receiver(n):
    """What a `?.` returns for a null receiver: null at the end of the chain, else it ends the chain."""
    if _chain_outer(n):
        return None
    raise _NullChain()


def compile_expr(comp, ctx: Ctx, n) -> Fn:
    h = _HANDLERS.get(n.type)
    if h is None:
        raise ctx.err(n, f"Unsupported expression '{n.type}'")
    fn = h(comp, ctx, n)
    if n.type in _CHAIN and _chain_outer(n) and _chain_has_safe_below(n):
        inner = fn

        def chain(fr):
            try:
                return inner(fr)
            except _NullChain:
                return None
        return chain
    return fn


def _args(comp, ctx, node) -> list[Fn]:
    if node is None:
        return []
    return [compile_expr(comp, ctx, a) for a in node.named_children if a.type not in ("line_comment", "block_comment")]


def _arg_nodes(node) -> list:
    if node is None:
        return []
    return [a for a in node.named_children if a.type not in ("line_comment", "block_comment")]


def _static_type(ctx, node):
    """The declared type of an argument that is a local, parameter or field name (None when unknown)."""
    if node.type in ("object_creation_expression", "array_creation_expression", "map_creation_expression"):
        tnode = node.child_by_field_name("type")
        return type_ref(tnode) if tnode is not None else None
    if node.type == "cast_expression":
        tnode = node.child_by_field_name("type")
        return type_ref(tnode) if tnode is not None else None
    if node.type == "string_literal":
        return TypeRef("String")
    if node.type == "method_invocation":
        return _static_return_type(ctx, node) or _static_instance_return_type(ctx, node)
    if node.type == "field_access":
        return _static_field_type(ctx, node)
    if node.type != "identifier":
        return None
    low = text(node).lower()
    t = ctx.scope.type_of(low)
    if t is None and not ctx.scope.has(low):
        fi = lookup_field(ctx, low)
        t = getattr(fi, "type", None)
    return t if isinstance(t, TypeRef) else None


def _static_field_type(ctx, node):
    """The declared type of ``this.f``, ``obj.f`` (obj of a declared class type, chains too) or ``Cls.f``."""
    obj = node.child_by_field_name("object")
    if any(c.type == "safe_navigation_operator" for c in node.children) or obj is None:
        return None
    if obj.type == "this":
        cls = ctx.cls if not ctx.static else None
    else:
        declared = _static_type(ctx, obj)
        if declared is None and obj.type == "identifier" and not ctx.scope.has(text(obj).lower()) \
                and lookup_field(ctx, text(obj).lower()) is None:
            declared = TypeRef(text(obj).lower())  # a class name: Cls.staticField
        cls = ctx.prog.resolve_class(declared, ctx.cls) if declared is not None and not declared.args else None
    if cls is None or cls.builtin or cls.kind == "enum":
        return None
    fi = cls.find_field(text(node.child_by_field_name("field")).lower())
    t = getattr(fi, "type", None)
    return t if isinstance(t, TypeRef) else None


_EXCEPTION_RETURNS = {"getmessage": TypeRef("String"), "getstacktracestring": TypeRef("String"),
                      "gettypename": TypeRef("String"), "getlinenumber": TypeRef("Integer"),
                      "getcause": TypeRef("Exception")}


def _static_instance_return_type(ctx, node):
    """The return type of ``obj.m(...)`` / ``obj?.m(...)`` / ``this.m(...)`` / ``m(...)`` when the receiver's
    declared class has one return type for that name and arity (exceptions' getters, ``toString()``)."""
    obj = node.child_by_field_name("object")
    name = text(node.child_by_field_name("name")).lower()
    nargs = len(_arg_nodes(node.child_by_field_name("arguments")))
    if name == "tostring" and nargs == 0:
        return TypeRef("String")
    if obj is None or obj.type == "this":
        cls = ctx.cls
    else:
        declared = _static_type(ctx, obj)
        cls = ctx.prog.resolve_class(declared, ctx.cls) if declared is not None and not declared.args else None
    if cls is None:
        return None
    if cls.is_exception and nargs == 0 and name in _EXCEPTION_RETURNS:
        return _EXCEPTION_RETURNS[name]
    if cls.builtin:
        return None
    types = {m.rtype for m in cls.find_methods(name) if len(m.params) == nargs}
    return next(iter(types)) if len(types) == 1 else None


def _static_return_type(ctx, node):
    """The return type of ``Class.method(...)`` when every overload of that arity returns the same type."""
    obj = node.child_by_field_name("object")
    if obj is None or obj.type != "identifier":
        return None
    cls = ctx.prog.resolve_class(TypeRef(text(obj).lower()), ctx.cls)
    if cls is None or cls.builtin or ctx.scope.has(text(obj).lower()):
        return None
    nargs = len(_arg_nodes(node.child_by_field_name("arguments")))
    types = {m.rtype for m in cls.find_methods(text(node.child_by_field_name("name")).lower())
             if m.static and len(m.params) == nargs}
    return next(iter(types)) if len(types) == 1 else None


def _type_fits(prog, ctx, declared: TypeRef, param: TypeRef) -> bool:
    if param.name == "object" or declared == param:
        return True
    if declared.name != param.name:
        dc = prog.resolve_class(declared, ctx.cls)
        pc = prog.resolve_class(param, ctx.cls)
        if dc is not None and pc is not None:
            return dc.is_subclass_of(pc)
        return declared.name in ("sobject",) and prog.is_sobject_type(param.name) or \
            param.name == "sobject" and prog.is_sobject_type(declared.name)
    if len(declared.args) != len(param.args):
        return not declared.args or not param.args
    return all(_type_fits(prog, ctx, d, q) for d, q in zip(declared.args, param.args))


def _static_signature(prog, ctx, obj_n, low: str, args_node):
    """The parameter types of the one overload an instance call selects at compile time, when the
    receiver's declared type is a class of the program with several overloads of that arity."""
    if obj_n.type == "this" and ctx.cls is not None and not ctx.static:
        cls = ctx.cls
    else:
        declared = _static_type(ctx, obj_n)
        if declared is None and obj_n.type == "parenthesized_expression" and obj_n.named_children:
            declared = _static_type(ctx, obj_n.named_children[0])
        if declared is None:
            return None
        cls = prog.resolve_class(declared, ctx.cls)
    if cls is None or cls.builtin:
        return None
    nodes = _arg_nodes(args_node)
    cands = [m for m in cls.find_methods(low) if len(m.params) == len(nodes) and not m.static]
    if len(cands) < 2:
        return None
    kept = narrow_overloads(prog, ctx, cands, nodes)
    if len(kept) != 1 or len(kept) == len(cands):
        return None
    return tuple(p[1] for p in kept[0].params)


def static_ctor(prog, ctx, cls, arg_nodes: list):
    """The constructor of ``cls`` the declared argument types select among several of that arity (a null
    String then reaches X(String), not the first constructor a null fits); None: chosen at run time."""
    if cls is None or cls.builtin:
        return None
    cands = [c for c in cls.ctors if len(c.params) == len(arg_nodes)]
    if len(cands) < 2:
        return None
    kept = narrow_overloads(prog, ctx, cands, arg_nodes)
    return kept[0] if len(kept) == 1 else None


def narrow_overloads(prog, ctx, cands: list, arg_nodes: list) -> list:
    """Salesforce picks an overload by the arguments' static types: where an argument's declared type is
    known (a local, parameter or field), drop the candidates it cannot be passed to (a null of a declared
    type then still reaches the right overload). The runtime choice stays for what is left."""
    if len(cands) < 2:
        return cands
    types = [_static_type(ctx, a) for a in arg_nodes]
    if not any(types):
        return cands
    kept = [m for m in cands if all(t is None or _type_fits(prog, ctx, t, p[1]) for t, p in zip(types, m.params))]
    if len(kept) > 1:  # the most specific: an overload whose parameters are exactly the declared types
        exact = [m for m in kept if all(t is None or t == p[1] for t, p in zip(types, m.params))]
        if len(exact) == 1:
            return exact
    return kept or cands


# ------------------------------------------------------------------------------------------------ literals


def e_int(comp, ctx, n):
    s = text(n)
    if s[-1] in "lL":
        v: Any = Long(int(s[:-1]))
    else:
        v = int(s)
        if v > INT_MAX + 1:
            raise ctx.err(n, f"Illegal integer: {s}")
    return lambda fr: v


def e_decimal(comp, ctx, n):
    s = text(n)
    if s[-1] in "dD":
        v: Any = float(s[:-1])
    elif "e" in s.lower():
        v = float(s)
    else:
        v = Decimal(s)
    return lambda fr: v


def e_string(comp, ctx, n):
    s = unescape(text(n))
    return lambda fr: s


def e_boolean(comp, ctx, n):
    v = text(n).lower() == "true"
    return lambda fr: v


def e_null(comp, ctx, n):
    return lambda fr: None


def e_paren(comp, ctx, n):
    return compile_expr(comp, ctx, n.named_children[0])


def e_this(comp, ctx, n):
    if ctx.static:
        raise ctx.err(n, "Variable does not exist: this")
    return lambda fr: fr["this"]


# ------------------------------------------------------------------------------------------------ names


def _local_type(ctx: Ctx, low: str):
    return ctx.scope.type_of(low)


def lookup_field(ctx: Ctx, low: str):
    """Field visible by simple name from the current class: own/inherited, then outer classes' statics."""
    cls = ctx.cls
    first = True
    while cls is not None:
        fi = cls.find_field(low)
        if fi is not None and (fi.static or first):
            return fi
        cls = cls.outer
        first = False
    return None


def _bind_fields(prog, ctx: Ctx):
    """Dynamic SOQL binds name class fields too: ``fields(name, fr) -> (found, value)`` reads the field
    visible by simple name from the calling class (static, or an instance field of ``this``)."""
    def fields(low: str, fr) -> tuple[bool, Any]:
        fi = lookup_field(ctx, low)
        if fi is None:
            return False, None
        if fi.static:
            return True, static_getter(prog, fi)(fr)
        this = fr.get("this") if hasattr(fr, "get") else None
        if this is None:
            return False, None
        return True, prog.get_member(this, low)
    return fields


def static_getter(prog, fi) -> Fn:
    """Reads a static field or property. A property's accessors are looked up when it is read: the
    class declaring it may be compiled after the class reading it (classes compile in any order)."""
    cls = fi.cls
    low = fi.lname
    if fi.is_property:
        def g(fr):
            if not cls.static_ready:
                prog.init_static(cls)
            getter = fi.getter
            if getter is None:
                return cls.statics.get(low)
            return prog.run_accessor(fi, None, getter, None)
        return g

    def get(fr):
        if not cls.static_ready:
            prog.init_static(cls)
        return cls.statics.get(low)
    return get


def static_setter(prog, fi):
    cls = fi.cls
    low = fi.lname

    def set_(fr, v):
        if not cls.static_ready:
            prog.init_static(cls)
        co = fi.coerce
        if co is not None and v is not None:
            v = co(v)
        setter = fi.setter  # looked up when written, as in static_getter
        if setter is not None:
            prog.run_accessor(fi, None, setter, v)
        else:
            cls.statics[low] = v
        return v
    return set_


def e_identifier(comp, ctx, n):
    name = text(n)
    low = name.lower()
    if ctx.scope.has(low):
        return lambda fr: fr[low]
    prog = comp.prog
    if ctx.prop is not None and low == ctx.prop.lname:
        if ctx.prop.static:
            cls = ctx.prop.cls
            return lambda fr: cls.statics.get(low)
        return lambda fr: fr["this"].fields.get(low)
    fi = lookup_field(ctx, low)
    if fi is not None:
        if fi.static:
            return static_getter(prog, fi)
        if ctx.static:
            raise ctx.err(n, f"Non static field cannot be referenced from a static context: {name}")
        if not fi.is_property:
            return lambda fr: fr["this"].fields.get(low)
        return lambda fr: prog.get_member(fr["this"], low)
    if ctx.trigger is not None and low in ("trigger",):
        pass
    raise ctx.err(n, f"Variable does not exist: {name}")


def static_target(comp, ctx: Ctx, n):
    """If `n` names a type or namespace (not a value), return ('class', cls) / ('ns', name) / ('sobject', name)."""
    prog = comp.prog
    if n.type == "identifier" or n.type == "type_identifier":
        low = text(n).lower()
        if n.type == "identifier" and (ctx.scope.has(low) or lookup_field(ctx, low) is not None
                                       or (ctx.prop is not None and low == ctx.prop.lname)):
            return None
        cls = prog.resolve_class(TypeRef(low), ctx.cls)
        if cls is not None:
            return ("class", cls)
        if low in tables.NAMESPACES:
            return ("ns", low)
        if prog.is_sobject_type(low):
            return ("sobject", prog.sobject_name(low))
        return None
    if n.type == "field_access":
        obj = n.child_by_field_name("object")
        field = text(n.child_by_field_name("field")).lower()
        inner = static_target(comp, ctx, obj)
        if inner is None:
            return None
        kind, val = inner
        if kind == "class":
            sub = val.inner.get(field)
            if sub is not None:
                return ("class", sub)
            return None
        if kind == "ns":
            full = f"{val}.{field}"
            if full in tables.NAMESPACES:
                return ("ns", full)
            if val not in ("system", "schema"):  # Cache.Visibility, Messaging.InboundEmail.Header, ...
                cls = prog.resolve_class(TypeRef(full), ctx.cls)
                if cls is not None and cls.builtin:
                    return ("class", cls)
            if val in ("system", "schema"):
                cls = prog.resolve_class(TypeRef(full), ctx.cls)
                if cls is not None:
                    return ("class", cls)
                if val == "schema" and prog.is_sobject_type(field):  # Schema.Organization is the object
                    return ("sobject", prog.sobject_name(field))
                if field in tables.NAMESPACES:
                    return ("ns", field)
                if val == "schema" and prog.is_sobject_type(field):
                    return ("sobject", prog.sobject_name(field))
            return None
        return None
    if n.type == "scoped_type_identifier":
        return None
    return None


def e_field_access(comp, ctx, n):
    prog = comp.prog
    obj_n = n.child_by_field_name("object")
    fnode = n.child_by_field_name("field")
    fname = text(fnode)
    low = fname.lower()
    safe = any(c.type == "safe_navigation_operator" for c in n.children)
    if low == "class":
        tref = type_ref(obj_n) if obj_n.type != "field_access" else TypeRef(text(obj_n).replace(" ", ""))
        return lambda fr: tables.HOOKS.type_of(tref, ctx.cls)
    if obj_n.type == "super":
        return lambda fr: prog.get_member(fr["this"], low)
    st = static_target(comp, ctx, obj_n)
    if st is not None:
        kind, val = st
        if kind == "class":
            if val.kind == "enum":
                ev = val.enum_values.get(low)
                if ev is None:
                    raise ctx.err(fnode, f"Variable does not exist: {fname}")
                return lambda fr: ev
            fi = val.find_field(low)
            if fi is None or not fi.static:
                raise ctx.err(fnode, f"Variable does not exist: {fname}")
            check_visible(ctx, fnode, fi, fi.cls, "Variable")
            return static_getter(prog, fi)
        if kind == "ns":
            prop = tables.STATIC_PROPS.get((val, low))
            if prop is not None:
                return lambda fr: prop()
            sub = f"{val}.{low}"
            if sub in tables.NAMESPACES:
                return lambda fr: ops.throw("System.TypeException", f"{sub} is not a value")
            if val in ("label", "system.label"):
                return _custom_label(prog, ctx, fnode, fname)
            ns_field = tables.NAMESPACE_FIELDS.get(val)
            if ns_field is not None:
                return ns_field(prog, ctx, fnode, fname)
            if val == "schema" and low == "sobjecttype":
                return lambda fr: tables.HOOKS.sobject_types()
            if val in ("schema.sobjecttype", "sobjecttype") and prog.is_sobject_type(low):  # SObjectType.X too
                sname = prog.sobject_name(low)
                return lambda fr: tables.HOOKS.sobject_types().apex_get(sname.lower())
            raise ctx.err(fnode, f"Variable does not exist: {text(obj_n)}.{fname}")
        if kind == "sobject":
            sname = val
            if low == "sobjecttype":
                return lambda fr: tables.HOOKS.sobject_type_token(sname)
            fld = prog.sobject_field_name(sname, fname)
            if fld is None:
                raise ctx.err(fnode, f"Invalid field {fname} for {sname}")
            return lambda fr: tables.HOOKS.sobject_field_token(sname, fld)
    get_member = prog.get_member
    if not safe and _is_value_chain(comp, ctx, obj_n):
        return _relationship_read(comp, ctx, obj_n, low, get_member)
    oe = compile_expr(comp, ctx, obj_n)
    if obj_n.type == "query_expression":
        from .compiler import single_row
        oe = single_row(oe)
    if safe:
        def g_safe(fr):
            o = oe(fr)
            if o is None:
                return _null_receiver(n)
            return get_member(o, low)
        return g_safe

    def g(fr):
        o = oe(fr)
        if type(o) is ApexObject:
            f = o.fields
            if low in f and not o.cls.find_field(low).is_property:
                return f[low]
        return get_member(o, low)
    return g


def _is_value_chain(comp, ctx, obj_n) -> bool:
    """``a.b`` read as the receiver of ``a.b.c``, where ``a`` is a value (not a type or namespace)."""
    if obj_n.type != "field_access" or any(c.type == "safe_navigation_operator" for c in obj_n.children):
        return False
    base = obj_n.child_by_field_name("object")
    if base.type == "super" or text(obj_n.child_by_field_name("field")).lower() == "class":
        return False
    return static_target(comp, ctx, base) is None


#: what a receiver in a chain gives when it is a null relationship of an SObject (or follows one)
_NULL_RELATIONSHIP = object()


def _receiver(comp, ctx, n, get_member):
    """Compile ``n`` as the receiver of a field read; a null SObject relationship (and every step
    after it) gives _NULL_RELATIONSHIP instead of throwing."""
    if not _is_value_chain(comp, ctx, n):
        fn = compile_expr(comp, ctx, n)
        if n.type == "query_expression":
            from .compiler import single_row
            fn = single_row(fn)
        return fn
    base = _receiver(comp, ctx, n.child_by_field_name("object"), get_member)
    rel = text(n.child_by_field_name("field")).lower()

    def g(fr):
        b = base(fr)
        if b is _NULL_RELATIONSHIP:
            return b
        o = get_member(b, rel)
        if o is None and type(b) is SObject:
            return _NULL_RELATIONSHIP
        return o
    return g


def _relationship_read(comp, ctx, obj_n, low: str, get_member):
    """``record.Parent__r.Field`` read as a value: a null relationship of an SObject reads as null
    instead of throwing, however many relationships follow (Apex docs, "Accessing sObject Fields
    Through Relationships"); anything else dereferences as usual."""
    recv = _receiver(comp, ctx, obj_n, get_member)

    def g(fr):
        o = recv(fr)
        if o is _NULL_RELATIONSHIP:
            return None
        if type(o) is ApexObject:
            f = o.fields
            if low in f and not o.cls.find_field(low).is_property:
                return f[low]
        return get_member(o, low)
    return g


def _custom_label(prog, ctx, fnode, fname: str):
    """System.Label.Name: the deployed label's value. Labels the org does not define are compile errors
    when the org's labels are known (a deploy compiles before its labels are stored: then any name
    compiles, and a missing one fails when read)."""
    low = fname.lower()
    if prog.labels is not None and low not in prog.labels:
        raise ctx.err(fnode, f"Field {fname} does not exist. Check spelling.")

    def value(fr):
        labels = prog.labels or {}
        if low not in labels:
            ops.throw("System.UnexpectedException", f"Custom label {fname} does not exist in this org")
        return labels[low]
    return value


# ------------------------------------------------------------------------------------------------ calls


def e_method_invocation(comp, ctx, n):
    prog = comp.prog
    obj_n = n.child_by_field_name("object")
    name = text(n.child_by_field_name("name"))
    low = name.lower()
    args = tuple(_args(comp, ctx, n.child_by_field_name("arguments")))
    nargs = len(args)
    safe = any(c.type == "safe_navigation_operator" for c in n.children)
    line = n.start_point[0] + 1

    if obj_n is None:
        return _implicit_call(comp, ctx, n, name, low, args)
    if obj_n.type == "super":
        sup = ctx.cls.superclass if ctx.cls is not None else None
        if sup is None:
            raise ctx.err(n, "No superclass for super call")
        m = sup.find_method(low, nargs)
        if m is None:
            if sup.is_exception:
                m = prog.builtin_class("Exception").find_method(low, nargs)
            if m is None:
                raise ctx.err(n, f"Method does not exist or incorrect signature: {name}")
        meth = m
        return lambda fr: prog.invoke(meth, fr["this"], [a(fr) for a in args])
    st = static_target(comp, ctx, obj_n)
    if st is not None:
        kind, val = st
        if kind == "class":
            cands = [m for m in val.find_methods(low) if m.static and len(m.params) == nargs]
            cands = narrow_overloads(prog, ctx, cands, _arg_nodes(n.child_by_field_name("arguments")))
            if cands and not val.builtin:
                check_visible(ctx, n, cands[0], cands[0].cls, "Method")
            if not cands:
                if val.kind == "enum" and low in ("values", "valueof"):
                    enum = val
                    if low == "values":
                        return lambda fr: ApexList(enum.enum_list, TypeRef(enum.name))
                    return lambda fr: ops.enum_value_of(enum, args[0](fr))
                nat = tables.STATIC_METHODS.get((val.lname, low))
                if nat is not None:
                    return _native_static(nat, args)
                raise ctx.err(n, f"Method does not exist or incorrect signature: void {name}() from the type "
                                 f"{val.name}")
            if len(cands) == 1:
                meth = cands[0]
                if nargs == 0:
                    return lambda fr: prog.invoke(meth, None, [])
                if nargs == 1:
                    a0 = args[0]
                    return lambda fr: prog.invoke(meth, None, [a0(fr)])
                return lambda fr: prog.invoke(meth, None, [a(fr) for a in args])
            cands_t = tuple(cands)
            return lambda fr: prog.invoke_overloaded(cands_t, None, [a(fr) for a in args])
        if kind == "ns":
            if val == "database" and low in UNSUPPORTED_DML:
                raise ctx.err(n, f"Unsupported construct: 'Database.{name}' ({UNSUPPORTED_DML[low]})")
            fa = tables.FRAME_AWARE.get((val, low))
            if fa is not None:
                fields = _bind_fields(prog, ctx)
                return lambda fr: fa([a(fr) for a in args], fr, fields)
            nat = tables.STATIC_METHODS.get((val, low))
            if nat is None:
                raise ctx.err(n, f"Method does not exist or incorrect signature: {text(obj_n)}.{name}")
            if (val, low) in tables.LINE_AWARE:
                return lambda fr: nat([a(fr) for a in args], line)
            return _native_static(nat, args)
        if kind == "sobject":
            sname = val
            if low == "getsobjecttype":
                return lambda fr: tables.HOOKS.sobject_type_token(sname)
            hooks = tables.HOOKS
            if hooks.settings_supports(prog, sname, low):
                return lambda fr: hooks.settings_call(prog, sname, low, [a(fr) for a in args])
            raise ctx.err(n, f"Method does not exist or incorrect signature: {sname}.{name}")
    if low == "adderror" and obj_n.type == "field_access" and nargs >= 1:
        rec = compile_expr(comp, ctx, obj_n.child_by_field_name("object"))
        fname = text(obj_n.child_by_field_name("field"))

        def field_error(fr):
            so = rec(fr)
            if type(so) is not SObject:  # not a field: an object's addError method (record.addError(...))
                return prog.call_value(prog.get_member(so, fname.lower()), "adderror", [a(fr) for a in args])
            so.errors.append((ops.to_str(args[0](fr)), fname))
            return None
        return field_error
    oe = compile_expr(comp, ctx, obj_n)
    if not _method_known(prog, low):
        raise ctx.err(n.child_by_field_name("name"),
                      f"Method does not exist or incorrect signature: {name}() (not provided by the local org's "
                      f"Apex runtime)")
    call_value = prog.call_value
    signature = _static_signature(prog, ctx, obj_n, low, n.child_by_field_name("arguments"))
    if signature is not None and not safe:
        # an overloaded method of a class known at compile time: the overload the declared argument types
        # select, dispatched on the runtime class (its override of that signature)
        def c_sig(fr):
            o = oe(fr)
            vals = [a(fr) for a in args]
            if type(o) is ApexObject:
                m = next((c for c in o.cls.find_methods(low) if tuple(p[1] for p in c.params) == signature), None)
                if m is not None and not m.static:
                    return prog.invoke(m, o, vals)
            return call_value(o, low, vals)
        return c_sig

    if safe:
        def c_safe(fr):
            o = oe(fr)
            if o is None:
                return _null_receiver(n)
            return call_value(o, low, [a(fr) for a in args])
        return c_safe
    if nargs == 0:
        return lambda fr: call_value(oe(fr), low, [])
    if nargs == 1:
        a0 = args[0]
        return lambda fr: call_value(oe(fr), low, [a0(fr)])
    return lambda fr: call_value(oe(fr), low, [a(fr) for a in args])


_LIBRARY_METHODS: set[str] = set()


def _method_known(prog, low: str) -> bool:
    """Whether any type the runtime knows has an instance method of this name (a load-time check)."""
    if not _LIBRARY_METHODS:
        for tbl in tables.METHODS.values():
            _LIBRARY_METHODS.update(tbl)
        stack = [tables.Native]
        while stack:
            c = stack.pop()
            stack.extend(c.__subclasses__())
            _LIBRARY_METHODS.update(k[2:] for k in dir(c) if k.startswith("m_"))
        _LIBRARY_METHODS.update(("tostring", "equals", "hashcode", "adderror", "iterator", "hasnext", "next"))
    if low in _LIBRARY_METHODS:
        return True
    for c in list(prog.classes.values()) + list(prog.builtins.values()):
        if low in c.methods:
            return True
    return False


def _top(cls):
    while cls is not None and cls.outer is not None:
        cls = cls.outer
    return cls


def check_visible(ctx, node, member, owner, what: str) -> None:
    """Private members are visible inside their top-level class (inner classes included), protected
    ones also to subclasses; @TestVisible opens private members to @IsTest classes."""
    mods = member.modifiers
    explicit = mods & {"public", "global", "protected", "private"}
    if explicit and not ({"private", "protected"} & explicit):
        return
    if not explicit and owner.kind == "interface":
        return
    here = ctx.cls
    if here is None or _top(here) is _top(owner):
        return
    anns = getattr(member, "annotations", None) or {}
    if "testvisible" in anns and "istest" in (_top(here).annotations or {}):
        return
    if "protected" in mods and here.is_subclass_of(owner):
        return
    raise ctx.err(node, f"{what} is not visible: {owner.name}.{member.name}")


def _native_static(nat, args):
    def call(vals):
        try:
            return nat(vals)
        except ops.NATIVE_ERRORS as e:
            ops.native_failure(e, getattr(nat, "__name__", "library call"), vals)
    if not args:
        return lambda fr: call([])
    if len(args) == 1:
        a0 = args[0]
        return lambda fr: call([a0(fr)])
    return lambda fr: call([a(fr) for a in args])


def _implicit_call(comp, ctx, n, name, low, args):
    prog = comp.prog
    nargs = len(args)
    cls = ctx.cls
    first = True
    while cls is not None:
        cands = [m for m in cls.find_methods(low) if len(m.params) == nargs]
        if not first:
            cands = [m for m in cands if m.static]
        if cands:
            break
        cls = cls.outer
        first = False
    else:
        cands = []
    cands = narrow_overloads(prog, ctx, cands, _arg_nodes(n.child_by_field_name("arguments")))
    if not cands:
        if ctx.cls is not None and ctx.cls.is_exception:
            m = prog.builtin_class("Exception").find_method(low, nargs)
            if m is not None:
                return lambda fr: prog.invoke(m, fr["this"], [a(fr) for a in args])
        raise ctx.err(n, f"Method does not exist or incorrect signature: void {name}()")
    if all(m.static for m in cands):
        if len(cands) == 1:
            meth = cands[0]
            return lambda fr: prog.invoke(meth, None, [a(fr) for a in args])
        cands_t = tuple(cands)
        return lambda fr: prog.invoke_overloaded(cands_t, None, [a(fr) for a in args])
    if ctx.static:
        raise ctx.err(n, f"Non static method cannot be referenced from a static context: {name}")
    multi = len(cands) > 1
    same_arity = [m for m in cls.find_methods(low) if len(m.params) == nargs] if cls is not None else []
    signature = tuple(p[1] for p in cands[0].params) if not multi and len(same_arity) > 1 else None

    def call(fr):
        this = fr["this"]
        vals = [a(fr) for a in args]
        if multi:
            return prog.invoke_overloaded(tuple(this.cls.find_methods(low)), this, vals)
        if signature is not None:  # the overload the declared argument types chose, on the runtime class
            m = next((c for c in this.cls.find_methods(low) if tuple(p[1] for p in c.params) == signature), None)
            if m is not None:
                return prog.invoke(m, None if m.static else this, vals)
        m = this.cls.find_method(low, nargs)
        return prog.invoke(m, None if m.static else this, vals)
    return call


# ------------------------------------------------------------------------------------------------ operators


def e_binary(comp, ctx, n):
    op = n.child_by_field_name("operator").type
    l = compile_expr(comp, ctx, n.child_by_field_name("left"))
    r = compile_expr(comp, ctx, n.child_by_field_name("right"))
    f = _BINOPS.get(op)
    if f is None:
        raise ctx.err(n, f"Unsupported operator '{op}'")
    if op == "+" and _is_string_expr(ctx, n):
        return _b_concat(l, r)
    return f(l, r)


def _is_string_expr(ctx, node) -> bool:
    """Whether an expression is declared String: ``+`` with a String side concatenates even when both
    values are null (``null + null`` of two String variables is 'nullnull')."""
    t = node.type
    if t == "parenthesized_expression":
        return bool(node.named_children) and _is_string_expr(ctx, node.named_children[0])
    if t == "binary_expression":
        if node.child_by_field_name("operator").type != "+":
            return False
        return _is_string_expr(ctx, node.child_by_field_name("left")) or \
            _is_string_expr(ctx, node.child_by_field_name("right"))
    declared = _static_type(ctx, node)
    return declared is not None and declared.name == "string" and not declared.args


def _b_concat(l, r):
    concat = ops._concat_str

    def f(fr):
        return concat(l(fr)) + concat(r(fr))
    return f


def _b_add(l, r):
    add = ops.add

    def f(fr):
        a = l(fr)
        b = r(fr)
        if type(a) is int and type(b) is int:
            s = a + b
            if -2147483648 <= s <= 2147483647:
                return s
        return add(a, b)
    return f


def _b_sub(l, r):
    sub = ops.sub

    def f(fr):
        a = l(fr)
        b = r(fr)
        if type(a) is int and type(b) is int:
            s = a - b
            if -2147483648 <= s <= 2147483647:
                return s
        return sub(a, b)
    return f


def _b_mul(l, r):
    return lambda fr: ops.mul(l(fr), r(fr))


def _b_div(l, r):
    return lambda fr: ops.div(l(fr), r(fr))


def _b_eq(l, r):
    eq = ops.eq

    def f(fr):
        a = l(fr)
        b = r(fr)
        if type(a) is int and type(b) is int:
            return a == b
        return eq(a, b)
    return f


def _b_ne(l, r):
    eq = ops.eq

    def f(fr):
        a = l(fr)
        b = r(fr)
        if type(a) is int and type(b) is int:
            return a != b
        return not eq(a, b)
    return f


def _b_cmp(pred):
    def mk(l, r):
        compare = ops.compare

        def f(fr):
            a = l(fr)
            b = r(fr)
            if type(a) is int and type(b) is int:
                return pred(a - b)
            c = compare(a, b)
            return c is not None and pred(c)
        return f
    return mk


def _b_and(l, r):
    def f(fr):
        a = l(fr)
        if a is None:
            ops.npe()
        if not a:
            return False
        b = r(fr)
        if b is None:
            ops.npe()
        return b
    return f


def _b_or(l, r):
    def f(fr):
        a = l(fr)
        if a is None:
            ops.npe()
        if a:
            return True
        b = r(fr)
        if b is None:
            ops.npe()
        return b
    return f


def _b_coalesce(l, r):
    def f(fr):
        a = l(fr)
        return a if a is not None else r(fr)
    return f


def _b_bit(op):
    return lambda l, r: (lambda fr: ops.bitop(op, l(fr), r(fr)))


_BINOPS = {
    "+": _b_add, "-": _b_sub, "*": _b_mul, "/": _b_div,
    "==": _b_eq, "!=": _b_ne, "<>": _b_ne,
    "===": lambda l, r: (lambda fr: ops.exact_eq(l(fr), r(fr))),
    "!==": lambda l, r: (lambda fr: not ops.exact_eq(l(fr), r(fr))),
    "<": _b_cmp(lambda c: c < 0), ">": _b_cmp(lambda c: c > 0),
    "<=": _b_cmp(lambda c: c <= 0), ">=": _b_cmp(lambda c: c >= 0),
    "&&": _b_and, "||": _b_or, "??": _b_coalesce,
    "&": _b_bit("&"), "|": _b_bit("|"), "^": _b_bit("^"),
    "<<": _b_bit("<<"), ">>": _b_bit(">>"), ">>>": _b_bit(">>>"),
}


def e_unary(comp, ctx, n):
    op = n.child_by_field_name("operator").type
    e = compile_expr(comp, ctx, n.child_by_field_name("operand"))
    if op == "-":
        return lambda fr: ops.neg(e(fr))
    if op == "+":
        return e
    if op == "!":
        def not_(fr):
            v = e(fr)
            if v is None:
                ops.npe()
            return not v
        return not_
    if op == "~":
        return lambda fr: ops.bitop("^", e(fr), -1)
    raise ctx.err(n, f"Unsupported unary operator '{op}'")


def e_ternary(comp, ctx, n):
    c = compile_expr(comp, ctx, n.child_by_field_name("condition"))
    a = compile_expr(comp, ctx, n.child_by_field_name("consequence"))
    b = compile_expr(comp, ctx, n.child_by_field_name("alternative"))

    def f(fr):
        v = c(fr)
        if v is None:
            ops.npe()
        return a(fr) if v else b(fr)
    return f


def e_instanceof(comp, ctx, n):
    e = compile_expr(comp, ctx, n.child_by_field_name("left"))
    t = type_ref(n.child_by_field_name("right"))
    cls = ctx.cls
    widening = ops.INSTANCEOF_WIDENING.get(ops.plain_type_name(t.name))
    if widening is not None:  # Integer instanceof Long/Decimal/Double, Date instanceof Datetime: true
        return lambda fr: type(e(fr)) in widening
    return lambda fr: ops.is_instance(e(fr), t, cls)


def e_cast(comp, ctx, n):
    t = type_ref(n.child_by_field_name("type"))
    e = compile_expr(comp, ctx, n.child_by_field_name("value"))
    cls = ctx.cls
    if t.name in ("list", "set", "map"):
        def lenient(fr):
            v = e(fr)
            if v is None or isinstance(v, (ApexList, ApexSet, ApexMap)):
                return v
            return ops.cast(v, t, cls)
        return lenient
    if t.name == "object":
        return e
    return lambda fr: ops.cast(e(fr), t, cls)


# ------------------------------------------------------------------------------------------------ assignment


def lvalue(comp, ctx, n):
    """Return (getter, setter(fr, v) -> v) for an assignable expression."""
    prog = comp.prog
    t = n.type
    if t == "parenthesized_expression":
        return lvalue(comp, ctx, n.named_children[0])
    if t == "identifier":
        low = text(n).lower()
        if ctx.scope.has(low):
            co = ops.coercer(_local_type(ctx, low))

            def sl(fr, v):
                if co is not None and v is not None:
                    v = co(v)
                fr[low] = v
                return v
            return (lambda fr: fr[low]), sl
        if ctx.prop is not None and low == ctx.prop.lname:
            fi = ctx.prop
            co = fi.coerce
            if fi.static:
                cls = fi.cls

                def sps(fr, v):
                    cls.statics[low] = co(v) if co and v is not None else v
                    return v
                return (lambda fr: cls.statics.get(low)), sps

            def sp(fr, v):
                fr["this"].fields[low] = co(v) if co and v is not None else v
                return v
            return (lambda fr: fr["this"].fields.get(low)), sp
        fi = lookup_field(ctx, low)
        if fi is None:
            raise ctx.err(n, f"Variable does not exist: {text(n)}")
        if fi.static:
            return static_getter(prog, fi), static_setter(prog, fi)
        if ctx.static:
            raise ctx.err(n, f"Non static field cannot be referenced from a static context: {text(n)}")
        return (lambda fr: prog.get_member(fr["this"], low)), (lambda fr, v: prog.set_member(fr["this"], low, v))
    if t == "field_access":
        obj_n = n.child_by_field_name("object")
        fname = text(n.child_by_field_name("field"))
        low = fname.lower()
        st = static_target(comp, ctx, obj_n) if obj_n.type != "this" else None
        if st is not None:
            kind, val = st
            if kind == "class":
                fi = val.find_field(low)
                if fi is None or not fi.static:
                    raise ctx.err(n, f"Variable does not exist: {fname}")
                return static_getter(prog, fi), static_setter(prog, fi)
            if kind == "ns":
                setter = tables.STATIC_SETTERS.get((val, low))
                if setter is None:
                    raise ctx.err(n, f"Variable is not assignable: {text(n)}")
                return (lambda fr: tables.STATIC_PROPS[(val, low)]()), (lambda fr, v: setter(v))
            raise ctx.err(n, f"Variable is not assignable: {text(n)}")
        oe = compile_expr(comp, ctx, obj_n)
        return ((lambda fr: prog.get_member(oe(fr), low)),
                (lambda fr, v: prog.set_member(oe(fr), fname, v)))
    if t == "array_access":
        arr = compile_expr(comp, ctx, n.child_by_field_name("array"))
        idx = compile_expr(comp, ctx, n.child_by_field_name("index"))

        def sa(fr, v):
            a = arr(fr)
            i = idx(fr)
            ops.list_set(a, i, v)
            return v
        return (lambda fr: ops.list_get(arr(fr), idx(fr))), sa
    raise ctx.err(n, f"Expression is not assignable: {t}")


_COMPOUND = {"+=": ops.add, "-=": ops.sub, "*=": ops.mul, "/=": ops.div}


def e_assignment(comp, ctx, n):
    op = text(n.child_by_field_name("operator"))
    left = n.child_by_field_name("left")
    rnode = n.child_by_field_name("right")
    r = compile_expr(comp, ctx, rnode)
    inner = rnode
    while inner.type == "parenthesized_expression":
        inner = inner.named_children[0]
    from .compiler import is_row_query, single_row, takes_one_row
    if is_row_query(inner) and takes_one_row(_static_type(ctx, left)):
        r = single_row(r)  # a local, field, this.f, obj.f or Cls.f of an SObject type
    get, set_ = lvalue(comp, ctx, left)
    if op == "=":
        if left.type == "identifier" and ctx.scope.has(text(left).lower()):
            low = text(left).lower()
            if ops.coercer(_local_type(ctx, low)) is None:
                def fast(fr):
                    v = r(fr)
                    fr[low] = v
                    return v
                return fast
        return lambda fr: set_(fr, r(fr))
    f = _COMPOUND.get(op)
    if f is None:
        bit = op[:-1]
        if bit not in ("&", "|", "^", "<<", ">>", ">>>"):
            raise ctx.err(n, f"Unsupported assignment operator '{op}'")
        return lambda fr: set_(fr, ops.bitop(bit, get(fr), r(fr)))
    if op == "+=":
        return lambda fr: set_(fr, ops.add(get(fr), r(fr)))
    return lambda fr: set_(fr, f(get(fr), r(fr)))


def e_update(comp, ctx, n):
    opnode = n.child_by_field_name("operator")
    op = text(opnode)
    operand = n.child_by_field_name("operand")
    prefix = opnode.start_byte < operand.start_byte
    delta = 1 if op == "++" else -1
    if operand.type == "identifier" and ctx.scope.has(text(operand).lower()):
        low = text(operand).lower()

        def fast(fr):
            v = fr[low]
            if type(v) is int:
                nv = v + delta
                if not -2147483648 <= nv <= 2147483647:
                    nv = ops.wrap32(nv)
            else:
                if v is None:
                    ops.npe()
                nv = ops.add(v, delta)
            fr[low] = nv
            return nv if prefix else v
        return fast
    get, set_ = lvalue(comp, ctx, operand)

    def f(fr):
        v = get(fr)
        if v is None:
            ops.npe()
        nv = ops.add(v, delta)
        set_(fr, nv)
        return nv if prefix else v
    return f


def e_array_access(comp, ctx, n):
    arr = compile_expr(comp, ctx, n.child_by_field_name("array"))
    idx = compile_expr(comp, ctx, n.child_by_field_name("index"))
    list_get = ops.list_get

    def f(fr):
        a = arr(fr)
        i = idx(fr)
        if type(a) is ApexList and type(i) is int and 0 <= i < len(a):
            return a[i]
        return list_get(a, i)
    return f


# ------------------------------------------------------------------------------------------------ creation


def e_object_creation(comp, ctx, n):
    prog = comp.prog
    tnode = n.child_by_field_name("type")
    t = type_ref(tnode)
    argn = n.child_by_field_name("arguments")
    line = n.start_point[0] + 1
    if t.name in ("list", "set", "map"):
        args = _args(comp, ctx, argn)
        return _new_collection(ctx, n, t, args)
    cls = prog.resolve_class(t, ctx.cls)
    if cls is not None:
        if cls.kind != "class":
            raise ctx.err(n, f"Type cannot be constructed: {t.display}")
        if "abstract" in cls.modifiers:
            raise ctx.err(n, f"Abstract classes cannot be instantiated: {t.display}")
        args = _args(comp, ctx, argn)
        chosen = static_ctor(prog, ctx, cls, _arg_nodes(argn))
        if cls.is_exception:
            return lambda fr: prog.instantiate(cls, [a(fr) for a in args], line, chosen)
        return lambda fr: prog.instantiate(cls, [a(fr) for a in args], None, chosen)
    if prog.is_sobject_type(t.name):
        sname = prog.sobject_name(t.name)
        inits = []
        for a in (argn.named_children if argn is not None else []):
            if a.type in ("line_comment", "block_comment"):
                continue
            if a.type != "assignment_expression" or a.child_by_field_name("left").type != "identifier":
                raise ctx.err(a, "SObject constructor arguments must be Field = value")
            fname = text(a.child_by_field_name("left"))
            canonical = prog.sobject_field_name(sname, fname)
            if canonical is None:
                raise ctx.err(a, f"Invalid field {fname} for {sname}")
            inits.append((canonical, compile_expr(comp, ctx, a.child_by_field_name("right"))))

        def new_sobject(fr):
            so = SObject(sname)
            for fname, e in inits:
                prog.sobject_put(so, fname, e(fr))
            return so
        return new_sobject
    nat = tables.NEW.get(t.name) or tables.NEW.get(t.name.replace("system.", "", 1))
    if nat is None:  # a family of types the org's metadata names (Flow.Interview.<flow>)
        nat = next((make(t.display) for prefix, make in tables.TYPE_FAMILIES.items() if t.name.startswith(prefix)),
                   None)
    if nat is not None:
        args = _args(comp, ctx, argn)
        return lambda fr: nat([a(fr) for a in args])
    raise ctx.err(tnode, f"Invalid type: {t.display}")


def _new_collection(ctx, n, t: TypeRef, args):
    name = t.name
    if name == "list":
        et = t.args[0] if t.args else None
        if not args:
            return lambda fr: ApexList((), et)
        a0 = args[0]

        def nl(fr):
            v = a0(fr)
            if v is None:
                ops.npe()
            if isinstance(v, int):
                return ApexList([None] * v, et)
            return ApexList(ops.iterate(v), et)
        return nl
    if name == "set":
        et = t.args[0] if t.args else None
        co = ops.coercer(et)
        if not args:
            return lambda fr: ApexSet((), et)
        a0 = args[0]

        def ns(fr):
            v = a0(fr)
            if v is None:
                ops.npe()
            items = ops.iterate(v)
            return ApexSet((co(x) if co and x is not None else x for x in items), et)
        return ns
    kt = t.args[0] if t.args else None
    vt = t.args[1] if len(t.args) > 1 else None
    if not args:
        return lambda fr: ApexMap((), kt, vt)
    a0 = args[0]

    def nm(fr):
        v = a0(fr)
        if v is None:
            ops.npe()
        if isinstance(v, ApexMap):
            return ApexMap(v, kt, vt)
        if isinstance(v, ApexList):
            m = ApexMap((), kt, vt)
            for rec in v:
                rid = rec.get_value("id") if isinstance(rec, SObject) else None
                if rid is None:
                    ops.throw("System.ListException", "Row with null Id at index: " + str(v.index(rec)))
                m[rid] = rec
            return m
        ops.throw("System.TypeException", "Invalid initial value for Map")
    return nm


def e_array_creation(comp, ctx, n):
    tnode = n.child_by_field_name("type")
    t = type_ref(tnode)
    vnode = n.child_by_field_name("value")
    dims = n.child_by_field_name("dimensions")
    if t.name in ("list", "set"):
        et = t.args[0] if t.args else None
        kind = t.name
    else:
        et = t
        kind = "list"
    co = ops.coercer(et)
    if vnode is None:
        if dims is not None and dims.type == "dimensions_expr":
            size = compile_expr(comp, ctx, dims.named_children[0])
            return lambda fr: ApexList([None] * size(fr), et)
        return lambda fr: ApexList((), et)
    items = tuple(compile_expr(comp, ctx, c) for c in vnode.named_children
                  if c.type not in ("line_comment", "block_comment"))
    if kind == "set":
        return lambda fr: ApexSet((co(x) if co and x is not None else x for x in (i(fr) for i in items)), et)
    if co is not None:
        return lambda fr: ApexList([co(x) if x is not None else x for x in (i(fr) for i in items)], et)
    return lambda fr: ApexList([i(fr) for i in items], et)


def e_map_creation(comp, ctx, n):
    t = type_ref(n.child_by_field_name("type"))
    if t.name in ("list", "set"):  # `new List<T>{}`: the grammar reads an empty initializer as a map's
        et = t.args[0] if t.args else None
        if t.name == "set":
            return lambda fr: ApexSet((), et)
        return lambda fr: ApexList((), et)
    kt = t.args[0] if t.args else None
    vt = t.args[1] if len(t.args) > 1 else None
    kco, vco = ops.coercer(kt), ops.coercer(vt)
    pairs = []
    vnode = n.child_by_field_name("value")
    for kv in (vnode.named_children if vnode is not None else []):
        if kv.type != "map_key_initializer":
            continue
        k, v = [c for c in kv.named_children if c.type not in ("line_comment", "block_comment")]
        pairs.append((compile_expr(comp, ctx, k), compile_expr(comp, ctx, v)))

    def f(fr):
        m = ApexMap((), kt, vt)
        for k, v in pairs:
            kv_ = k(fr)
            vv = v(fr)
            m[kco(kv_) if kco and kv_ is not None else kv_] = vco(vv) if vco and vv is not None else vv
        return m
    return f


def e_class_literal(comp, ctx, n):
    tref = type_ref(n.named_children[0])
    from .compiler import check_type
    check_type(ctx, n, tref)
    cls = ctx.cls
    return lambda fr: tables.HOOKS.type_of(tref, cls)


def e_query(comp, ctx, n):
    return tables.HOOKS.compile_query(comp, ctx, n)


UNSUPPORTED_DML = {
    "merge": "record merge is not supported by the local org",
}
# undelete runs on the data layer's Recycle Bin (dml.py -> Transaction.undelete)


def e_dml(comp, ctx, n):
    prog = comp.prog
    op = text(next(c for c in n.named_children if c.type == "dml_type")).lower()
    if op in UNSUPPORTED_DML:
        raise ctx.err(n, f"Unsupported construct: '{op}' ({UNSUPPORTED_DML[op]})")
    target = compile_expr(comp, ctx, n.child_by_field_name("target"))
    key_n = n.child_by_field_name("upsert_key")
    key = text(key_n) if key_n is not None else None
    mode_n = next((c for c in n.named_children if c.type == "dml_security_mode"), None)
    user_mode = mode_n is not None and text(mode_n).strip().lower() == "user"  # insert as user / as system
    return lambda fr: prog.dml_statement(op, target(fr), key, user_mode)


_HANDLERS: dict[str, Callable] = {
    "int": e_int,
    "decimal_floating_point_literal": e_decimal,
    "string_literal": e_string,
    "boolean": e_boolean,
    "null_literal": e_null,
    "parenthesized_expression": e_paren,
    "this": e_this,
    "identifier": e_identifier,
    "field_access": e_field_access,
    "method_invocation": e_method_invocation,
    "binary_expression": e_binary,
    "unary_expression": e_unary,
    "ternary_expression": e_ternary,
    "instanceof_expression": e_instanceof,
    "cast_expression": e_cast,
    "assignment_expression": e_assignment,
    "update_expression": e_update,
    "array_access": e_array_access,
    "object_creation_expression": e_object_creation,
    "array_creation_expression": e_array_creation,
    "map_creation_expression": e_map_creation,
    "query_expression": e_query,
    "class_literal": e_class_literal,
    "dml_expression": e_dml,
}

_ = POS
