"""Compile tree-sitter Apex syntax trees into Python closures.

Every statement becomes `f(frame) -> signal` (None, BREAK, CONTINUE or RETURN) and every expression
`f(frame) -> value`. A frame is a dict of lower-case local names (plus 'this' and the stack position).
Anything the runtime does not support raises ApexCompileError with file, line and column while the
class loads, never at run time.
"""

from __future__ import annotations

from typing import Any, Callable

from tree_sitter_language_pack import get_parser

from . import ops
from .errors import ApexCompileError
from .model import ApexClass, ApexTrigger, FieldInfo, Method
from .tables import HOOKS, TYPE_FAMILIES
from .values import ApexList, ApexSet, Long, SObject, TypeRef

BREAK, CONTINUE, RETURN = 1, 2, 3
RET = "#ret"
POS = "#pos"

_PARSER = None


def parser():
    global _PARSER
    if _PARSER is None:
        _PARSER = get_parser("apex")
    return _PARSER


def parse_source(source: str, file: str):
    """Parse Apex source; raise ApexCompileError for the first syntax error."""
    tree = parser().parse(source.encode("utf-8"))
    root = tree.root_node
    if root.has_error:
        bad = _first_error(root)
        if bad is not None:
            line, col = bad.start_point[0] + 1, bad.start_point[1] + 1
            if bad.is_missing:
                msg = f"Syntax error: missing '{bad.type}'"
            else:
                snippet = bad.text.decode("utf-8", "replace").strip().splitlines()
                near = snippet[0][:40] if snippet else ""
                msg = f"Syntax error: unexpected '{near}'" if near else "Syntax error"
            raise ApexCompileError(msg, file, line, col)
    return root


def _first_error(node):
    if node.type == "ERROR" or node.is_missing:
        return node
    if not node.has_error:
        return None
    for c in node.children:
        r = _first_error(c)
        if r is not None:
            return r
    return node if node.has_error else None


def text(node) -> str:
    return node.text.decode("utf-8")


_ESC = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "'": "'", '"': '"', "\\": "\\", "0": "\0"}


def unescape(lit: str) -> str:
    body = lit[1:-1]
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt == "u" and i + 5 < len(body) + 0:
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESC.get(nxt, nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    text_ = "".join(out)
    if "\\u" in body:  # join \uD83D\uDE00 surrogate pairs into one character
        text_ = text_.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text_


def type_ref(node) -> TypeRef:
    """Build a TypeRef from a type node."""
    t = node.type
    if t == "type_identifier" or t == "identifier":
        return TypeRef(text(node))
    if t == "void_type":
        return TypeRef("void")
    if t == "generic_type":
        base = None
        args: tuple[TypeRef, ...] = ()
        for c in node.named_children:
            if c.type == "type_arguments":
                args = tuple(type_ref(a) for a in c.named_children)
            elif base is None:
                base = type_ref(c)
        assert base is not None
        return TypeRef(base.name, args, text(node))
    if t == "array_type":
        el = type_ref(node.child_by_field_name("element"))
        return TypeRef("list", (el,), text(node))
    if t == "scoped_type_identifier":
        parts = [text(c) for c in node.named_children]
        full = ".".join(parts)
        return TypeRef(full, (), full)
    if t == "boolean_type" or t == "integral_type" or t == "floating_point_type":
        return TypeRef(text(node))
    # fall back to the text (e.g. Schema.SObjectType)
    return TypeRef(text(node).replace(" ", ""))


def modifiers_of(node) -> tuple[set[str], dict[str, str]]:
    mods: set[str] = set()
    ann: dict[str, str] = {}
    for c in node.children:
        if c.type == "modifiers":
            for m in c.named_children:
                if m.type == "annotation":
                    name = text(m.child_by_field_name("name")).lower()
                    args = m.child_by_field_name("arguments")
                    ann[name] = text(args) if args is not None else ""
                else:
                    mods.add(text(m).lower().replace(" ", "_"))
    return mods, ann


KNOWN_TYPES = {
    "object", "string", "integer", "long", "decimal", "double", "boolean", "id", "date", "datetime", "time", "blob",
    "void", "sobject", "list", "set", "map", "type", "exception", "restrequest", "restresponse", "restcontext",
    "httprequest", "httpresponse", "http", "jsongenerator", "jsonparser", "savepoint", "database.saveresult",
    "database.upsertresult", "database.deleteresult", "database.undeleteresult", "database.error",
    "database.dmloptions", "database.querylocator", "database.batchablecontext", "queueablecontext",
    "schedulablecontext", "finalizercontext", "aggregateresult", "schema.sobjecttype", "schema.sobjectfield",
    "schema.describesobjectresult", "schema.describefieldresult", "schema.picklistentry", "schema.displaytype",
    "schema.fieldset", "schema.childrelationship", "sobjecttype", "sobjectfield", "pattern", "matcher", "timezone",
    "url", "pagereference", "iterator", "iterable", "messaging.singleemailmessage", "messaging.sendemailresult",
    "userinfo", "limits", "math", "json", "test", "system.type", "accesslevel", "database.leadconvert",
    # issue 18: system types real codebases declare
    "describesobjectresult", "describefieldresult", "picklistentry", "displaytype", "fieldset", "fieldsetmember",
    "schema.fieldsetmember", "childrelationship", "soaptype", "schema.soaptype", "recordtypeinfo",
    "schema.recordtypeinfo", "describetabsetresult", "schema.describetabsetresult", "describetabresult",
    "schema.describetabresult", "describedatacategorygroupresult", "uuid", "request", "quiddity",
    "sobjectdescribeoptions", "comparator", "stubprovider", "database.emptyrecyclebinresult",
    "database.mergeresult", "database.undeleteresult", "database.leadconvertresult", "database.batchable",
    "database.stateful", "database.allowscallouts", "database.raisesplatformevents", "database.dmloptions",
    "database.duplicateerror", "messaging.email", "messaging.sendemailerror", "messaging.emailfileattachment",
    "messaging.inboundemail", "messaging.inboundenvelope", "messaging.inboundemailresult",
    "messaging.inboundemailhandler", "messaging.inboundemail.header", "messaging.inboundemail.binaryattachment",
    "messaging.inboundemail.textattachment", "messaging.massemailmessage", "messaging.renderemailtemplateerror",
    "eventbus.changeeventheader", "eventbus.eventpublishfailurecallback", "eventbus.eventpublishsuccesscallback",
    "eventbus.testbroker", "invocable.action", "invocable.action.result", "invocable.action.error",
    "sobjectaccessdecision", "accesstype", "security", "featuremanagement", "network", "callable", "finalizer",
    "httpcalloutmock", "webservicemock", "queueable", "schedulable", "comparable", "domain", "url",
    "system.orglimit", "orglimit", "formulaeval.formulainstance", "formulaeval.formulabuilder",
    "formulaeval.formulareturntype", "auth.sessionmanagement", "cache.partition", "cache.orgpartition",
    "cache.sessionpartition", "cache.org", "cache.session", "cache.cachebuilder", "cache.visibility",
    "applicationreadwritemode", "system.applicationreadwritemode", "trigger", "triggeroperation",
    "logginglevel", "jsontoken", "statuscode", "roundingmode", "version", "system.version",
    "visualeditor.datarow", "visualeditor.dynamicpicklistrows", "flow.interview", "system.sobjectaccessdecision",
    "orglimits", "search.searchresults", "search.searchresult", "search", "approval.lockresult",
    "approval.unlockresult", "approval.processresult", "approval.processsubmitrequest",
    "approval.processworkitemrequest", "schema.fieldset", "fieldset", "invocable.action.error",
    "formulaeval.formulareturntype", "formulaeval.formulaglobal",
    "search.suggestionoption", "search.suggestionresult", "search.suggestionresults",
    "search.knowledgesuggestionfilter",
}


def check_type(ctx: "Ctx", node, t: TypeRef) -> None:
    """Unknown types are compile errors ("Invalid type: X"), as in Salesforce."""
    name = t.name
    if name.startswith("system.") and name[7:] in KNOWN_TYPES:
        name = name[7:]
    if name in KNOWN_TYPES:
        pass
    elif ctx.prog.resolve_class(t, ctx.cls) is not None:
        pass
    elif ctx.prog.is_sobject_type(name):
        pass
    elif any(name.startswith(prefix) for prefix in TYPE_FAMILIES):
        pass
    else:
        raise ctx.err(node, f"Invalid type: {t.display}")
    for a in t.args:
        check_type(ctx, node, a)


class Scope:
    """Declared local variables (lower-case name -> declared TypeRef), innermost block last."""

    def __init__(self) -> None:
        self.stack: list[dict[str, Any]] = [{}]

    def push(self) -> None:
        self.stack.append({})

    def pop(self) -> None:
        self.stack.pop()

    def declare(self, name: str, t: Any = None) -> None:
        self.stack[-1][name] = t

    def type_of(self, name: str) -> Any:
        for s in reversed(self.stack):
            if name in s:
                return s[name]
        return None

    def has(self, name: str) -> bool:
        for s in self.stack:
            if name in s:
                return True
        return False


class Ctx:
    """Compilation context of one method body."""

    def __init__(self, prog: Any, cls: ApexClass | None, file: str, static: bool, method: Method | None = None,
                 trigger: ApexTrigger | None = None) -> None:
        self.prog = prog
        self.cls = cls
        self.file = file
        self.static = static
        self.scope = Scope()
        self.method = method
        self.trigger = trigger
        self.prop: FieldInfo | None = None  # property whose accessor is being compiled
        self.cov = prog.coverage_set(file) if prog.coverage else None

    def err(self, node, msg: str) -> ApexCompileError:
        return ApexCompileError(msg, self.file, node.start_point[0] + 1, node.start_point[1] + 1)


# ====================================================================================================
# Declarations


class Declarer:
    """First pass: create ApexClass skeletons (names, fields, method signatures) for a compilation unit."""

    def __init__(self, prog: Any) -> None:
        self.prog = prog

    def declare_unit(self, root, file: str, anonymous: bool = False) -> list[Any]:
        out = []
        for node in root.named_children:
            if node.type in ("class_declaration", "interface_declaration", "enum_declaration"):
                out.append(self.declare_class(node, file, None))
            elif node.type == "trigger_declaration":
                name = text(node.child_by_field_name("name"))
                obj = text(node.child_by_field_name("object"))
                events = []
                for i, c in enumerate(node.children):
                    if node.field_name_for_child(i) == "events" and c.type == "trigger_event":
                        events.append(text(c).lower().replace("_", " "))
                trig = ApexTrigger(name, obj, events, file)
                trig.node = node  # type: ignore[attr-defined]
                out.append(trig)
            elif node.type in ("line_comment", "block_comment") or anonymous:
                continue
            else:
                raise ApexCompileError(f"Unexpected top-level construct '{node.type}'", file,
                                       node.start_point[0] + 1, node.start_point[1] + 1)
        return out

    def declare_class(self, node, file: str, outer: ApexClass | None) -> ApexClass:
        short = text(node.child_by_field_name("name"))
        name = f"{outer.name}.{short}" if outer is not None else short
        kind = {"class_declaration": "class", "interface_declaration": "interface",
                "enum_declaration": "enum"}[node.type]
        cls = ApexClass(name, kind, outer, file)
        cls.node = node
        cls.line = node.start_point[0] + 1
        cls.modifiers, cls.annotations = modifiers_of(node)
        sup = node.child_by_field_name("superclass")
        if sup is not None:
            cls.super_ref = type_ref(sup.named_children[-1])
        ifs = node.child_by_field_name("interfaces")
        if ifs is not None:
            for tl in ifs.named_children:
                for t in (tl.named_children if tl.type == "type_list" else [tl]):
                    cls.interface_refs.append(type_ref(t))
        if node.type == "interface_declaration":
            for c in node.named_children:
                if c.type == "extends_interfaces":
                    for tl in c.named_children:
                        for t in (tl.named_children if tl.type == "type_list" else [tl]):
                            cls.interface_refs.append(type_ref(t))
        if outer is not None:
            outer.inner[short.lower()] = cls
        body = node.child_by_field_name("body")
        if kind == "enum":
            from .values import EnumValue
            for i, c in enumerate(x for x in body.named_children if x.type == "enum_constant"):
                ev = EnumValue(cls, text(c.child_by_field_name("name")), i)
                cls.enum_values[ev.name.lower()] = ev
                cls.enum_list.append(ev)
            return cls
        for m in body.named_children:
            t = m.type
            if t == "field_declaration":
                mods, ann = modifiers_of(m)
                ftype = type_ref(m.child_by_field_name("type"))
                for i, c in enumerate(m.children):
                    if m.field_name_for_child(i) == "declarator":
                        fname = text(c.child_by_field_name("name"))
                        fi = FieldInfo(fname, cls, ftype, "static" in mods, c.start_point[0] + 1)
                        fi.final = "final" in mods
                        fi.modifiers = mods
                        fi.annotations = ann
                        fi.node = c  # type: ignore[attr-defined]
                        cls.fields[fi.lname] = fi
                        cls.field_order.append(fi)
                acc = next((c for c in m.named_children if c.type == "accessor_list"), None)
                if acc is not None:
                    fi.is_property = True
                    fi.acc_node = acc  # type: ignore[attr-defined]
            elif t in ("method_declaration", "constructor_declaration"):
                mods, ann = modifiers_of(m)
                params = []
                for p in m.child_by_field_name("parameters").named_children:
                    if p.type == "formal_parameter":
                        params.append((text(p.child_by_field_name("name")).lower(),
                                       type_ref(p.child_by_field_name("type"))))
                    elif p.type in ("line_comment", "block_comment"):
                        continue
                    else:
                        raise ApexCompileError(f"Unsupported parameter form '{p.type}'", file,
                                               p.start_point[0] + 1, p.start_point[1] + 1)
                mname = text(m.child_by_field_name("name"))
                if t == "constructor_declaration":
                    meth = Method(mname, cls, params, None, False, m.start_point[0] + 1)
                    meth.label = f"Class.{cls.name}.<init>"  # how Salesforce's stack traces name a constructor
                    cls.ctors.append(meth)
                else:
                    rtype = type_ref(m.child_by_field_name("type"))
                    meth = Method(mname, cls, params, rtype, "static" in mods, m.start_point[0] + 1)
                    meth.abstract = m.child_by_field_name("body") is None
                    cls.methods.setdefault(meth.lname, []).append(meth)
                meth.modifiers = mods
                meth.annotations = ann
                meth.node = m
            elif t in ("class_declaration", "interface_declaration", "enum_declaration"):
                self.declare_class(m, file, cls)
            elif t in ("static_initializer", "block", "line_comment", "block_comment"):
                continue
            else:
                raise ApexCompileError(f"Unsupported class member '{t}'", file, m.start_point[0] + 1,
                                       m.start_point[1] + 1)
        return cls


# ====================================================================================================
# Bodies


class Compiler:
    def __init__(self, prog: Any, compile_expr: Callable[..., Callable[[dict], Any]],
                 static_ctor: Callable[..., Any]) -> None:
        self.prog = prog
        # exprs.compile_expr(compiler, ctx, node) and exprs.static_ctor(prog, ctx, cls, arg_nodes), passed in
        # by the runtime: exprs imports this module (Ctx, text, type_ref, ...), so this module does not import exprs
        self.compile_expr = compile_expr
        self.static_ctor = static_ctor

    # ------------------------------------------------------------------------------ classes
    def compile_class(self, cls: ApexClass) -> None:
        if cls.kind == "enum":
            return
        node = cls.node
        body = node.child_by_field_name("body")
        for m in body.named_children:
            t = m.type
            if t == "field_declaration":
                self._compile_field_decl(cls, m)
            elif t == "static_initializer":
                ctx = Ctx(self.prog, cls, cls.file, True)
                blk = self.block(ctx, m.named_children[0])
                cls.static_inits.append(blk)
            elif t == "block":
                ctx = Ctx(self.prog, cls, cls.file, False)
                cls.instance_inits.append(self.block(ctx, m))
        for ms in cls.methods.values():
            for meth in ms:
                self._compile_method(cls, meth)
        for meth in cls.ctors:
            self._compile_method(cls, meth, ctor=True)
        for inner in cls.inner.values():
            self.compile_class(inner)

    def _compile_field_decl(self, cls: ApexClass, m) -> None:
        for i, c in enumerate(m.children):
            if m.field_name_for_child(i) != "declarator":
                continue
            fname = text(c.child_by_field_name("name")).lower()
            fi = cls.fields[fname]
            fi.coerce = ops.coercer(fi.type)
            ctx = Ctx(self.prog, cls, cls.file, fi.static)
            check_type(ctx, m.child_by_field_name("type"), fi.type)
            val = c.child_by_field_name("value")
            if val is not None:
                fi.init = self.expr_for_type(ctx, val, fi.type)
            if fi.is_property:
                for acc in fi.acc_node.named_children:  # type: ignore[attr-defined]
                    if acc.type != "accessor_declaration":
                        continue
                    kind = text(acc.child_by_field_name("accessor")).lower()
                    b = acc.child_by_field_name("body")
                    if b is None:
                        continue
                    actx = Ctx(self.prog, cls, cls.file, fi.static)
                    actx.prop = fi
                    actx.method = Method(f"{fi.name}.{kind}", cls, [], fi.type, fi.static, acc.start_point[0] + 1)
                    if kind == "set":
                        actx.scope.declare("value", fi.type)
                    blk = self.block(actx, b)
                    if kind == "get":
                        fi.getter = blk
                    else:
                        fi.setter = blk
            if fi.static:
                init = fi.init
                co = fi.coerce
                if init is not None:
                    def sinit(fr, fi=fi, init=init, co=co):
                        v = init(fr)
                        fi.cls.statics[fi.lname] = co(v) if co else v
                else:
                    def sinit(fr, fi=fi):
                        fi.cls.statics.setdefault(fi.lname, None)
                cls.static_inits.append(sinit)

    def _compile_method(self, cls: ApexClass, meth: Method, ctor: bool = False) -> None:
        node = meth.node
        body = node.child_by_field_name("body")
        meth.coercers = [ops.coercer(p[1]) for p in meth.params]
        meth.ret_coerce = ops.coercer(meth.rtype) if meth.rtype is not None else None
        if body is None:
            if not meth.abstract and cls.kind != "interface":
                raise ApexCompileError(f"Method must have a body: {meth.name}", cls.file, meth.line, 1)
            return
        ctx = Ctx(self.prog, cls, cls.file, meth.static, meth)
        for pname, ptype in meth.params:
            check_type(ctx, node, ptype)
            ctx.scope.declare(pname, ptype)
        if meth.rtype is not None:
            check_type(ctx, node, meth.rtype)
        stmts = list(body.named_children)
        first = next((i for i, st in enumerate(stmts) if st.type not in ("line_comment", "block_comment")), None)
        if ctor and first is not None and stmts[first].type == "explicit_constructor_invocation":
            inv = stmts.pop(first)
            kind = text(inv.child_by_field_name("constructor")).lower()
            arg_nodes = [a for a in inv.child_by_field_name("arguments").named_children
                         if a.type not in ("line_comment", "block_comment")]
            args = [self.expr(ctx, a) for a in arg_nodes]
            target = cls if kind == "this" else cls.superclass
            # the constructor the declared argument types select (None: chosen by the values at run time)
            meth.ctor_call = (kind, args, self.static_ctor(self.prog, ctx, target, arg_nodes))
        meth.body = self.stmt_list(ctx, stmts, body)
        if "future" in meth.annotations:
            if not meth.static:
                raise ApexCompileError("Future methods must be static", cls.file, meth.line, 1)
            meth.body = HOOKS.future_body(self.prog, meth, meth.body)

    def compile_trigger(self, trig: ApexTrigger) -> None:
        node = trig.node  # type: ignore[attr-defined]
        if trig.sobject.lower().endswith(("changeevent", "__e")) and set(trig.events) != {"after insert"}:
            # change events and platform events are only ever inserted, after the fact
            raise ApexCompileError(f"Triggers on {trig.sobject} support only the after insert event", trig.file,
                                   node.start_point[0] + 1, node.start_point[1] + 1)
        body = node.child_by_field_name("body")
        cls = ApexClass(trig.name, "class", None, trig.file)
        cls.builtin = False
        trig.cls = cls
        ctx = Ctx(self.prog, cls, trig.file, True, None, trig)
        ctx.method = Method(trig.name, cls, [], None, True, node.start_point[0] + 1)
        blk = body.named_children[0] if body.named_children else body
        trig.body = self.block(ctx, blk)

    def compile_anonymous(self, root, file: str, cls: ApexClass) -> Callable[[dict], Any]:
        ctx = Ctx(self.prog, cls, file, True)
        ctx.method = Method("execute", cls, [], None, True, 1)
        stmts = [n for n in root.named_children
                 if n.type not in ("class_declaration", "interface_declaration", "enum_declaration")]
        return self.stmt_list(ctx, stmts, root)

    # ------------------------------------------------------------------------------ statements
    def block(self, ctx: Ctx, node) -> Callable[[dict], Any]:
        ctx.scope.push()
        try:
            return self.stmt_list(ctx, list(node.named_children), node)
        finally:
            ctx.scope.pop()

    def stmt_list(self, ctx: Ctx, nodes: list, parent) -> Callable[[dict], Any]:
        pairs = []
        for n in nodes:
            if n.type in ("line_comment", "block_comment"):
                continue
            pairs.append((n.start_point[0] + 1, self.stmt(ctx, n)))
        pairs_t = tuple(pairs)
        cov = ctx.cov
        if cov is not None:
            for ln, _ in pairs_t:
                ctx.prog.coverable(ctx.file, ln)

            def run_cov(fr):
                pos = fr[POS]
                for ln, s in pairs_t:
                    pos[1] = ln
                    cov.add(ln)
                    r = s(fr)
                    if r is not None:
                        return r
                return None
            return run_cov
        if len(pairs_t) == 1:
            ln0, s0 = pairs_t[0]

            def run_one(fr):
                fr[POS][1] = ln0
                return s0(fr)
            return run_one

        def run(fr):
            pos = fr[POS]
            for ln, s in pairs_t:
                pos[1] = ln
                r = s(fr)
                if r is not None:
                    return r
            return None
        return run

    def body_stmt(self, ctx: Ctx, node) -> Callable[[dict], Any]:
        """A statement used as a body (if/for/while); always behaves as a block."""
        if node.type == "block":
            return self.block(ctx, node)
        ctx.scope.push()
        try:
            return self.stmt_list(ctx, [node], node)
        finally:
            ctx.scope.pop()

    def stmt(self, ctx: Ctx, n) -> Callable[[dict], Any]:
        h = getattr(self, "s_" + n.type, None)
        if h is None:
            raise ctx.err(n, f"Unsupported statement '{n.type}'")
        return h(ctx, n)

    def s_block(self, ctx, n):
        return self.block(ctx, n)

    def s_expression_statement(self, ctx, n):
        e = self.expr(ctx, n.named_children[0])

        def run(fr):
            e(fr)
        return run

    def s_local_variable_declaration(self, ctx, n):
        t = type_ref(n.child_by_field_name("type"))
        check_type(ctx, n.child_by_field_name("type"), t)
        co = ops.coercer(t)
        parts = []
        for i, c in enumerate(n.children):
            if n.field_name_for_child(i) != "declarator":
                continue
            name = text(c.child_by_field_name("name")).lower()
            val = c.child_by_field_name("value")
            if name in ctx.scope.stack[-1]:
                raise ctx.err(c, f"Duplicate variable: {text(c.child_by_field_name('name'))}")
            ev = self.expr_for_type(ctx, val, t) if val is not None else None
            ctx.scope.declare(name, t)
            parts.append((name, ev))
        if len(parts) == 1:
            name, ev = parts[0]
            if ev is None:
                def run0(fr):
                    fr[name] = None
                return run0
            if co is None:
                def run1(fr):
                    fr[name] = ev(fr)
                return run1

            def run2(fr):
                fr[name] = co(ev(fr))
            return run2

        def run(fr):
            for name, ev in parts:
                v = ev(fr) if ev is not None else None
                fr[name] = co(v) if co is not None and v is not None else v
        return run

    def s_if_statement(self, ctx, n):
        cond = self.cond(ctx, n.child_by_field_name("condition"))
        cons = self.body_stmt(ctx, n.child_by_field_name("consequence"))
        alt_n = n.child_by_field_name("alternative")
        if alt_n is None:
            def run(fr):
                if cond(fr):
                    return cons(fr)
            return run
        alt = self.body_stmt(ctx, alt_n)

        def run2(fr):
            if cond(fr):
                return cons(fr)
            return alt(fr)
        return run2

    def cond(self, ctx, n):
        e = self.expr(ctx, n)

        def c(fr):
            v = e(fr)
            if v is None:
                ops.throw("System.NullPointerException", "Attempt to de-reference a null object")
            return v
        if n.type == "parenthesized_expression" and n.named_children[0].type in ("binary_expression",
                                                                                  "instanceof_expression"):
            return e
        return c

    def s_while_statement(self, ctx, n):
        cond = self.cond(ctx, n.child_by_field_name("condition"))
        body = self.body_stmt(ctx, n.child_by_field_name("body"))
        prog = self.prog

        def run(fr):
            n = 0
            while cond(fr):
                r = body(fr)
                if r is not None:
                    if r == BREAK:
                        break
                    if r == RETURN:
                        return r
                n += 1
                if not n & 1023:
                    prog.tx.check_cpu()
            return None
        return run

    def s_do_statement(self, ctx, n):
        cond = self.cond(ctx, n.child_by_field_name("condition"))
        body = self.body_stmt(ctx, n.child_by_field_name("body"))

        prog = self.prog

        def run(fr):
            n = 0
            while True:
                r = body(fr)
                if r is not None:
                    if r == BREAK:
                        break
                    if r == RETURN:
                        return r
                if not cond(fr):
                    break
                n += 1
                if not n & 1023:
                    prog.tx.check_cpu()
            return None
        return run

    def s_for_statement(self, ctx, n):
        ctx.scope.push()
        try:
            inits = []
            updates = []
            cond = None
            for i, c in enumerate(n.children):
                f = n.field_name_for_child(i)
                if f == "init":
                    if c.type == "local_variable_declaration":
                        inits.append(self.s_local_variable_declaration(ctx, c))
                    else:
                        e = self.expr(ctx, c)
                        inits.append(e)
                elif f == "condition":
                    cond = self.expr(ctx, c)
                elif f == "update":
                    updates.append(self.expr(ctx, c))
            body = self.body_stmt(ctx, n.child_by_field_name("body"))
        finally:
            ctx.scope.pop()
        inits_t, updates_t = tuple(inits), tuple(updates)

        prog = self.prog

        def run(fr):
            for s in inits_t:
                s(fr)
            n = 0
            while cond is None or cond(fr):
                r = body(fr)
                if r is not None:
                    if r == BREAK:
                        break
                    if r == RETURN:
                        return r
                for u in updates_t:
                    u(fr)
                n += 1
                if not n & 1023:
                    prog.tx.check_cpu()
            return None
        return run

    def s_enhanced_for_statement(self, ctx, n):
        t = type_ref(n.child_by_field_name("type"))
        name = text(n.child_by_field_name("name")).lower()
        vnode = n.child_by_field_name("value")
        coll = self.expr(ctx, vnode)
        chunked = vnode.type == "query_expression" and t.name == "list"
        ctx.scope.push()
        ctx.scope.declare(name, t)
        try:
            body = self.body_stmt(ctx, n.child_by_field_name("body"))
        finally:
            ctx.scope.pop()
        co = ops.coercer(t)
        prog = self.prog

        def run(fr):
            c = coll(fr)
            if c is None:
                ops.throw("System.NullPointerException", "Attempt to de-reference a null object")
            if chunked:
                items = [ApexList(c[i:i + 200], c.etype) for i in range(0, len(c), 200)]
            elif isinstance(c, ApexSet):
                items = list(c.d)
            elif isinstance(c, list):
                items = c
            else:
                items = ops.iterate(c)
            snapshot = len(items) if isinstance(items, ApexList) else -1
            if len(items) > 1024:
                prog.tx.check_cpu()
            for v in items:
                fr[name] = co(v) if co is not None and v is not None else v
                r = body(fr)
                if snapshot >= 0 and len(items) != snapshot:
                    ops.throw("System.FinalException", "Cannot modify a collection while it is being iterated.")
                if r is not None:
                    if r == BREAK:
                        break
                    if r == RETURN:
                        return r
            return None
        return run

    def s_break_statement(self, ctx, n):
        if n.named_children:
            raise ctx.err(n, "Unsupported: labelled break")
        return lambda fr: BREAK

    def s_continue_statement(self, ctx, n):
        if n.named_children:
            raise ctx.err(n, "Unsupported: labelled continue")
        return lambda fr: CONTINUE

    def s_return_statement(self, ctx, n):
        kids = [c for c in n.named_children if c.type not in ("line_comment", "block_comment")]
        if not kids:
            def run0(fr):
                return RETURN
            return run0
        rt = ctx.method.rtype if ctx.method is not None else None
        e = self.expr_for_type(ctx, kids[0], rt) if rt is not None else self.expr(ctx, kids[0])

        def run(fr):
            fr[RET] = e(fr)
            return RETURN
        return run

    def s_throw_statement(self, ctx, n):
        e = self.expr(ctx, n.named_children[0])

        def run(fr):
            v = e(fr)
            if v is None:
                ops.throw("System.NullPointerException", "Attempt to de-reference a null object")
            ops.throw_obj(v)
        return run

    def s_try_statement(self, ctx, n):
        body = self.block(ctx, n.child_by_field_name("body"))
        catches = []
        fin = None
        for c in n.named_children:
            if c.type == "catch_clause":
                p = next(x for x in c.named_children if x.type in ("formal_parameter", "catch_formal_parameter"))
                tnode = p.child_by_field_name("type")
                if tnode is None:
                    tnode = next(x for x in p.named_children if x.type != "identifier" or x != p.named_children[-1])
                tref = type_ref(tnode)
                vname = text(p.child_by_field_name("name")).lower()
                ctx.scope.push()
                ctx.scope.declare(vname, tref)
                try:
                    cb = self.block(ctx, c.child_by_field_name("body"))
                finally:
                    ctx.scope.pop()
                ecls = self.prog.resolve_class(tref, ctx.cls)
                if ecls is None or not ecls.is_exception:
                    raise ctx.err(tnode, f"Invalid exception type in catch: {tref.display}")
                catches.append((ecls, vname, cb))
            elif c.type == "finally_clause":
                fin = self.block(ctx, c.named_children[0])
        catches_t = tuple(catches)
        from .errors import ApexThrown
        uncatchable = (self.prog.builtin_class("System.LimitException"),
                       self.prog.builtin_class("System.AssertException"))

        def run(fr):
            try:
                r = body(fr)
            except ApexThrown as ex:
                obj = ex.obj
                ocls = obj.cls
                if ocls in uncatchable:
                    raise
                for ecls, vname, cb in catches_t:
                    if ocls.is_subclass_of(ecls):
                        fr[vname] = obj
                        r = cb(fr)
                        break
                else:
                    raise
            finally:
                if fin is not None:
                    fr2 = fin(fr)
                    if fr2 is not None:
                        return fr2  # noqa: B012 - Apex lets finally return/break
            return r
        return run

    def s_switch_expression(self, ctx, n):
        subject = self.expr(ctx, n.child_by_field_name("condition"))
        rules = []
        default = None
        for rule in n.child_by_field_name("body").named_children:
            if rule.type != "switch_rule":
                continue
            label = next(c for c in rule.named_children if c.type == "switch_label")
            blk_node = next(c for c in rule.named_children if c.type == "block")
            vals = [c for c in label.named_children if c.type not in ("line_comment", "block_comment")]
            if any(c.type == "else" for c in label.children) and not vals:
                default = self.block(ctx, blk_node)
                continue
            if vals and vals[0].type == "when_sobject_type":
                st = vals[0]
                tref = type_ref(st.named_children[0])
                vname = text(st.named_children[1]).lower()
                ctx.scope.push()
                ctx.scope.declare(vname)
                try:
                    blk = self.block(ctx, blk_node)
                finally:
                    ctx.scope.pop()
                rules.append(("type", tref, vname, blk))
                continue
            matchers = []
            for v in vals:
                if v.type == "identifier":
                    matchers.append(("enum", text(v).lower()))
                elif v.type == "null_literal":
                    matchers.append(("null", None))
                else:
                    ev = self.expr(ctx, v)
                    matchers.append(("val", ev({POS: [None, 0]})))
            rules.append(("vals", matchers, None, self.block(ctx, blk_node)))

        def run(fr):
            v = subject(fr)
            for kind, a, b, blk in rules:
                if kind == "type":
                    if isinstance(v, SObject) and v.type_name.lower() == a.name:
                        fr[b] = v
                        return blk(fr)
                    continue
                for mk, mv in a:
                    if mk == "null":
                        if v is None:
                            return blk(fr)
                    elif mk == "enum":
                        if v is not None and getattr(v, "name", "").lower() == mv and not isinstance(v, str):
                            return blk(fr)
                    elif v is not None and type(v) is type(mv) and v == mv:
                        return blk(fr)
                    elif v is not None and isinstance(v, (int, Long)) and isinstance(mv, int) and v == mv:
                        return blk(fr)
            if default is not None:
                return default(fr)
            return None
        return run

    def s_run_as_statement(self, ctx, n):
        user = self.expr(ctx, n.child_by_field_name("user"))
        blk = self.block(ctx, next(c for c in n.named_children if c.type == "block"))

        prog = self.prog

        def run(fr):
            u = user(fr)
            if u is None:
                ops.npe()
            tx = prog.tx
            saved = dict(tx.user or {})
            uid = u.fields.get("id") if isinstance(u, SObject) else None
            if uid is None and isinstance(u, SObject) and u.type_name.lower() == "user" and tx.data is not None:
                uid = HOOKS.implicit_insert(prog, u)  # a new user is inserted implicitly, as Salesforce does
            if uid is not None:
                # the other user's profile and role are read from the org when asked (UserInfo)
                tx.user = {**{k: v for k, v in saved.items() if k not in ("_loaded", "profileid", "userroleid")},
                           "userid": uid}
                for key, fld in (("username", "username"), ("email", "email"), ("lastname", "lastname"),
                                 ("firstname", "firstname"), ("profileid", "profileid")):
                    if fld in u.fields:
                        tx.user[key] = u.fields[fld]
            # DML inside the block is the other user's: CreatedById, LastModifiedById and a default OwnerId
            data_tx = getattr(tx.data, "tx", None) if uid is not None else None
            saved_uid = data_tx.user_id if data_tx is not None else None
            if data_tx is not None:
                data_tx.user_id = str(uid)
            try:
                return blk(fr)
            finally:
                tx.user = saved
                if data_tx is not None:
                    data_tx.user_id = saved_uid
        return run

    def s_class_declaration(self, ctx, n):
        return lambda fr: None  # declared at unit level (anonymous Apex)

    s_interface_declaration = s_class_declaration
    s_enum_declaration = s_class_declaration

    # ------------------------------------------------------------------------------ expressions
    def expr_for_type(self, ctx, n, t: TypeRef):
        """Compile an initialiser; a SOQL query assigned to a single SObject takes its only row."""
        e = self.expr(ctx, n)
        inner = n
        while inner.type == "parenthesized_expression":
            inner = inner.named_children[0]
        if is_row_query(inner) and takes_one_row(t):
            return single_row(e)
        return e

    def expr(self, ctx: Ctx, n) -> Callable[[dict], Any]:
        return self.compile_expr(self, ctx, n)


def is_row_query(node) -> bool:
    """An inline SOQL query or a dynamic one (``Database.query``/``queryWithBinds``): assigned to a target of
    an SObject type, either takes its single row."""
    if node.type == "query_expression":
        return True
    if node.type != "method_invocation":
        return False
    obj, name = node.child_by_field_name("object"), node.child_by_field_name("name")
    return (obj is not None and name is not None and text(obj).lower() in ("database", "system.database")
            and text(name).lower() in ("query", "querywithbinds"))


def takes_one_row(t: TypeRef | None) -> bool:
    """Whether a query assigned to a target of declared type ``t`` is a single-row assignment (an SObject
    type), not the list (List, array, Iterable, Object) or a COUNT() (Integer)."""
    return t is not None and t.name not in ("list", "object", "integer", "iterable") and not t.name.endswith("[]")


def single_row(e):
    def f(fr):
        rows = e(fr)
        if isinstance(rows, int):
            return rows
        if len(rows) == 0:
            ops.throw("System.QueryException", "List has no rows for assignment to SObject")
        if len(rows) > 1:
            ops.throw("System.QueryException", "List has more than 1 row for assignment to SObject")
        return rows[0]
    return f
