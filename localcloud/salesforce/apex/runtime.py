"""ApexProgram: load (compile) Apex classes and triggers, and run them.

    prog = ApexProgram({"Foo.cls": source, "ContactTrigger.trigger": source}, data=data_adapter)
    result = prog.execute_anonymous("System.debug(Foo.bar());")
    value = prog.call_static("Foo", "bar", [1, 2])

One program holds compiled code; each run starts a fresh transaction context (statics reset, debug
log, governor limits). Runs are serialised by a lock: Apex code is single-threaded per transaction.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
import sys
import time
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from . import ops, tables
from .txhooks import TX_END_HOOKS
from .compiler import POS, RET, RETURN, Compiler, Declarer, parse_source
from .errors import ApexCompileError, ApexThrown, ApexUncaught
from .exprs import compile_expr, static_ctor
from .model import ApexClass, ApexTrigger, FieldInfo, Method
from .values import ApexList, ApexObject, SObject, TypeRef

log = logging.getLogger(__name__)
MAX_STACK_DEPTH = 1000
PYTHON_RECURSION_LIMIT = 60_000
_METHODS = tables.METHODS
_HOOKS = tables.HOOKS

# Built-in exception types (System namespace); all extend Exception.
BUILTIN_EXCEPTIONS = [
    "AsyncException", "BigObjectException", "CalloutException", "DmlException", "EmailException",
    "ExternalObjectException", "FinalException", "HandledException", "IllegalArgumentException",
    "InvalidParameterValueException", "JSONException", "LimitException", "ListException", "MathException",
    "NoAccessException", "NoDataFoundException", "NoSuchElementException", "NullPointerException",
    "QueryException", "RequiredFeatureMissingException", "SearchException", "SecurityException",
    "SerializationException", "SObjectException", "StringException", "TypeException",
    "UnexpectedException", "VisualforceException", "XmlException", "AssertException",
    "InvalidHeaderException", "DuplicateMessageException", "FlowException", "EmailTemplateRenderException",
    "PlatformCacheException", "ProcedureException", "TransientException", "UnsupportedOperationException",
    "AuraHandledException", "FormulaValidationException", "FormulaEvaluationException", "SObjectException",
]


@dataclass
class Limits:
    """Per-transaction governor limits (synchronous values from the Apex Developer Guide)."""

    soql_queries: int = 0
    query_rows: int = 0
    dml_statements: int = 0
    dml_rows: int = 0
    callouts: int = 0
    publish_immediate_dml: int = 0  # EventBus.publish calls of PublishImmediately events (not DML statements)
    # CPU time, not wall time: Salesforce counts the Apex thread's CPU, so a loaded machine (or time spent
    # waiting) does not use up the 10 s; the local org counts its process's CPU time
    cpu_started: float = field(default_factory=lambda: time.process_time())
    max_soql: int = 100
    sosl_queries: int = 0  # SOSL (inline FIND, Search.query/find/suggest): their own limit of 20
    max_sosl: int = 20
    max_query_rows: int = 50000
    max_dml: int = 150
    max_dml_rows: int = 10000
    max_callouts: int = 100
    max_publish_immediate_dml: int = 150
    max_cpu_ms: int = 10_000

    def cpu_ms(self) -> int:
        return int((time.process_time() - self.cpu_started) * 1000)


@dataclass
class Transaction:
    """State of one Apex transaction (one request, one anonymous execution, one test method)."""

    debug_log: list[str] = field(default_factory=list)
    debug_entries: list[tuple[int, str, str]] = field(default_factory=list)  # (line, level, message)
    limits: Limits = field(default_factory=Limits)
    stack: list[list[Any]] = field(default_factory=list)
    trigger_stack: list[Any] = field(default_factory=list)
    rest_request: Any = None
    rest_response: Any = None
    user: dict[str, Any] = field(default_factory=dict)
    data: Any = None  # data-layer session (see dataport.py)
    test: Any = None  # test context (Test.startTest etc.)
    queue: list[Any] = field(default_factory=list)
    mocks: dict[str, Any] = field(default_factory=dict)
    now: _dt.datetime | None = None
    calls: int = 0
    access_cache: dict[str, Any] = field(default_factory=dict)  # user id -> access.UserAccess (USER_MODE)

    def check_cpu(self) -> None:
        """Called every 1,024 loop iterations: a runaway loop ends like Salesforce's (uncatchable)."""
        lim = self.limits
        if lim.cpu_ms() > lim.max_cpu_ms:
            ops.throw("System.LimitException", "Apex CPU time limit exceeded")

    def check(self, what: str) -> None:
        lim = self.limits
        if what == "soql":
            lim.soql_queries += 1
            if lim.soql_queries > lim.max_soql:
                ops.throw("System.LimitException", f"Too many SOQL queries: {lim.soql_queries}")
        elif what == "sosl":
            lim.sosl_queries += 1
            if lim.sosl_queries > lim.max_sosl:
                ops.throw("System.LimitException", f"Too many SOSL queries: {lim.sosl_queries}")
        elif what == "dml":
            lim.dml_statements += 1
            if lim.dml_statements > lim.max_dml:
                ops.throw("System.LimitException", f"Too many DML statements: {lim.dml_statements}")
        elif what == "callout":
            lim.callouts += 1
            if lim.callouts > lim.max_callouts:
                ops.throw("System.LimitException", f"Too many callouts: {lim.callouts}")

    def add_rows(self, what: str, n: int) -> None:
        lim = self.limits
        if what == "query":
            lim.query_rows += n
            if lim.query_rows > lim.max_query_rows:
                ops.throw("System.LimitException", f"Too many query rows: {lim.query_rows}")
        else:
            lim.dml_rows += n
            if lim.dml_rows > lim.max_dml_rows:
                ops.throw("System.LimitException", f"Too many DML rows: {lim.dml_rows}")


@dataclass
class ExecutionResult:
    success: bool
    debug_log: list[str]
    exception_type: str | None = None
    exception_message: str | None = None
    stack_trace: str | None = None
    line: int | None = None
    value: Any = None
    transaction: Transaction | None = None


ANON_PREFIX = "class AnonymousBlock__ { static void execute__() { "


def anonymous_position(error: ApexCompileError, source: str, wrapped: bool) -> ApexCompileError:
    """Point a compile error of anonymous Apex into the user's text: on line 1 the wrapper's prefix is
    taken off the column (``wrapped``: the error came from the wrapped statements), and the parser's
    byte column becomes a character column (Salesforce counts characters). Returns the same error."""
    lines = source.split("\n")
    if not 1 <= error.line <= len(lines):
        return error
    column = error.column - (len(ANON_PREFIX.encode("utf-8")) if wrapped and error.line == 1 else 0)
    text = lines[error.line - 1].encode("utf-8")
    column = len(text[:max(0, column - 1)].decode("utf-8", "replace")) + 1
    error.column = max(1, column)
    error.args = (f"{error.file}:{error.line}:{error.column}: {error.message}",)
    return error


def _parse_anonymous(source: str, file: str) -> tuple[Any, Any]:
    """Anonymous Apex: classes come from the source as written; the statements are parsed inside a
    method (at the top level the grammar reads `List<List<X>> y = ...` as comparisons). The wrapper
    sits on line 1, so line numbers are unchanged; errors are pointed back into the user's text
    (``anonymous_position``)."""
    try:
        root = parse_source(source, file)
    except ApexCompileError as e:
        raise anonymous_position(e, source, wrapped=False)
    raw = bytearray(source.encode("utf-8"))
    for node in root.named_children:
        if node.type in ("class_declaration", "interface_declaration", "enum_declaration"):
            for i in range(node.start_byte, node.end_byte):
                if raw[i] not in (10, 13):
                    raw[i] = 32
    wrapped = ANON_PREFIX + raw.decode("utf-8", "replace") + "\n}}"
    try:
        wroot = parse_source(wrapped, file)
    except ApexCompileError as e:
        raise anonymous_position(e, source, wrapped=True)
    cls = next(n for n in wroot.named_children if n.type == "class_declaration")
    method = next(n for n in cls.child_by_field_name("body").named_children if n.type == "method_declaration")
    return root, method.child_by_field_name("body")


def compile_problems(sources: Mapping[str, str], *, data: Any = None, schema: Any = None,
                     limit: int = 20) -> list[ApexCompileError]:
    """Every compile error of a set of sources (not only the first): the failing file is set aside
    and the rest compiled again, as Salesforce reports one failure per component. Errors caused only
    by a file set aside name it ("Dependent class is invalid")."""
    problems: list[ApexCompileError] = []
    remaining = dict(sources)
    bad: list[str] = []
    while remaining and len(problems) < limit:
        try:
            ApexProgram(remaining, data=data, schema=schema)
            break
        except ApexCompileError as e:
            if e.file not in remaining:
                problems.append(e)
                break
            words = {w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", e.message)}
            if any(b.rsplit(".", 1)[0].lower() in words for b in bad):
                e = ApexCompileError(f"Dependent class is invalid and needs recompilation: {e.message}", e.file,
                                     e.line, e.column)
            problems.append(e)
            bad.append(e.file)
            remaining.pop(e.file, None)
    return problems


class ApexProgram:
    """A set of compiled Apex classes and triggers."""

    def __init__(self, sources: Mapping[str, str] | None = None, *, data: Any = None, schema: Any = None,
                 coverage: bool = False) -> None:
        self.lock = threading.RLock()
        self.classes: dict[str, ApexClass] = {}  # lower full name -> class (top-level and inner)
        self.triggers: dict[str, ApexTrigger] = {}
        self.builtins: dict[str, ApexClass] = {}
        self.coverage = coverage
        self.covered: dict[str, set[int]] = {}
        self.coverable_lines: dict[str, set[int]] = {}
        self.files: dict[str, str] = {}
        #: custom labels (lower-case name -> value) for System.Label.X; None: not known (any name compiles)
        self.labels: dict[str, str] | None = None
        self.data = data
        if schema is None and data is not None:
            from .dataport import schema_of
            schema = schema_of(data)
        if schema is None:
            from .schema import DefaultSchema
            schema = DefaultSchema()
        self.schema = schema
        self.tx: Transaction = Transaction()
        self._install_builtins()
        if sources:
            self.load(sources)

    # ------------------------------------------------------------------------------------ loading
    def load(self, sources: Mapping[str, str]) -> list[str]:
        """Compile classes/triggers (file name -> source). All-or-nothing: on error nothing is added."""
        with self.lock:
            units = []
            for file, src in sources.items():
                root = parse_source(src, file)
                units.append((file, root, Declarer(self).declare_unit(root, file)))
            new_classes: dict[str, ApexClass] = {}
            new_triggers: dict[str, ApexTrigger] = {}
            for file, _, decls in units:
                for d in decls:
                    if isinstance(d, ApexTrigger):
                        new_triggers[d.lname] = d
                    else:
                        for c in self._walk(d):
                            if c.lname in new_classes:
                                raise ApexCompileError(f"Duplicate class: {c.name}", file, c.line, 1)
                            new_classes[c.lname] = c
            saved = (dict(self.classes), dict(self.triggers), dict(self.files))
            try:
                self.classes.update(new_classes)
                self.triggers.update(new_triggers)
                for file, src in sources.items():
                    self.files[file] = src
                for c in new_classes.values():
                    self._link(c)
                comp = Compiler(self, compile_expr, static_ctor)
                for c in new_classes.values():
                    if c.outer is None:
                        comp.compile_class(c)
                for t in new_triggers.values():
                    comp.compile_trigger(t)
                for c in new_classes.values():
                    self._check_class(c)
            except BaseException:
                self.classes, self.triggers, self.files = saved
                raise
            return [c.name for c in new_classes.values() if c.outer is None] + [t.name for t in new_triggers.values()]

    def _walk(self, c: ApexClass) -> Iterable[ApexClass]:
        yield c
        for i in c.inner.values():
            yield from self._walk(i)

    def _link(self, c: ApexClass) -> None:
        if c.super_ref is not None:
            sup = self.resolve_class(c.super_ref, c.outer or c)
            if sup is None:
                raise ApexCompileError(f"Invalid type: {c.super_ref.display}", c.file, c.line, 1)
            if not sup.builtin and sup.kind == "class" and not ({"virtual", "abstract"} & sup.modifiers) \
                    and not sup.is_exception:
                raise ApexCompileError(f"Non-virtual and non-abstract type cannot be extended: {sup.name}", c.file,
                                       c.line, 1)
            c.superclass = sup
        elif c.kind == "class" and c.lname != "exception":
            c.superclass = None
        for r in c.interface_refs:
            i = self.resolve_class(r, c.outer or c)
            if i is None:
                raise ApexCompileError(f"Invalid interface: {r.display}", c.file, c.line, 1)
            c.interfaces.append(i)

    def _check_class(self, c: ApexClass) -> None:
        if c.kind != "class" or "abstract" in c.modifiers:
            return
        # every abstract/interface method must be implemented
        needed: list[Method] = []
        stack = list(c.interfaces)
        k = c.superclass
        while k is not None:
            stack.extend(k.interfaces)
            for ms in k.methods.values():
                needed.extend(m for m in ms if m.abstract)
            k = k.superclass
        while stack:
            i = stack.pop()
            for ms in i.methods.values():
                needed.extend(ms)
            stack.extend(i.interfaces)
        for m in needed:
            impl = c.find_method(m.lname, len(m.params))
            if impl is None or impl.abstract:
                raise ApexCompileError(
                    f"Class {c.name} must implement the method: {m.rtype} {m.cls.name}.{m.name}("
                    f"{', '.join(p[1].display for p in m.params)})", c.file, c.line, 1)

    # ------------------------------------------------------------------------------------ builtins
    def _install_builtins(self) -> None:
        from . import exceptions
        exc = ApexClass("Exception", "class")
        exc.builtin = True
        exc.modifiers = {"virtual"}
        exceptions.install_exception_methods(exc)
        self.builtins["exception"] = exc
        self.builtins["system.exception"] = exc
        for name in BUILTIN_EXCEPTIONS:
            c = ApexClass("System." + name, "class")
            c.builtin = True
            c.superclass = exc
            c.modifiers = {"virtual"}
            self.builtins[name.lower()] = c
            self.builtins["system." + name.lower()] = c
        if not tables.BUILTIN_INSTALLERS:
            raise RuntimeError("the Apex libraries are not loaded (localcloud.salesforce.apex.libraries)")
        for install in tables.BUILTIN_INSTALLERS:  # stdlib's, then systemlib's, ... (libraries.py)
            install(self)

    def builtin_class(self, name: str) -> ApexClass:
        return self.builtins[name.lower()]

    def resolve_class(self, t: TypeRef | str, ctx_cls: ApexClass | None = None) -> ApexClass | None:
        name = t.name if isinstance(t, TypeRef) else t.lower()
        c = ctx_cls
        while c is not None:
            if c.lname == name or c.short.lower() == name and c.outer is None:
                return c
            inner = c.inner.get(name)
            if inner is not None:
                return inner
            # inherited inner classes
            s = c.superclass
            while s is not None:
                inner = s.inner.get(name)
                if inner is not None:
                    return inner
                s = s.superclass
            c = c.outer
        hit = self.classes.get(name)
        if hit is not None:
            return hit
        return self.builtins.get(name)

    # ------------------------------------------------------------------------------------ schema
    def is_sobject_type(self, name: str) -> bool:
        return self.schema.sobject_name(name) is not None

    def sobject_name(self, name: str) -> str:
        return self.schema.sobject_name(name) or name

    def sobject_field_name(self, sobject: str, fname: str) -> str | None:
        name = self.schema.field_name(sobject, fname)
        if name is None and fname.lower() == "id" and sobject.lower().endswith("__e"):
            return "Id"  # every SObject has an Id in Apex; a platform event's describe lists none
        return name

    def schema_name_for_id(self, record_id: Any) -> str | None:
        return self.schema.name_for_id(str(record_id)) if record_id else None

    def sobject_put(self, so: SObject, fname: str, value: Any) -> None:
        _HOOKS.sobject_put(self, so, fname, value)

    # ------------------------------------------------------------------------------------ coverage
    def coverage_set(self, file: str) -> set[int]:
        return self.covered.setdefault(file, set())

    def coverable(self, file: str, line: int) -> None:
        self.coverable_lines.setdefault(file, set()).add(line)

    # ------------------------------------------------------------------------------------ execution
    def new_transaction(self, **kw: Any) -> Transaction:
        tx = Transaction(**kw)
        if tx.data is None and self.data is not None:
            from .dataport import begin_session
            tx.data = begin_session(self.data)
        if not tx.user and self.data is not None:
            tx.user = {"userid": getattr(self.data, "user_id", None), "organizationid": getattr(self.data, "org_id", None)}
            tx.user = {k: v for k, v in tx.user.items() if v}
        return tx

    def reset_statics(self) -> None:
        for c in self.classes.values():
            c.static_ready = False
            c.statics = {}

    def _prepare(self, tx: Transaction | None) -> Transaction:
        """Create the transaction and take the data layer's write lock *before* the program lock, so
        the lock order is always store -> program (a trigger fired by a REST data call holds the store
        lock when it asks for the program lock)."""
        if tx is None:
            tx = self.new_transaction()
        if tx.data is not None and getattr(tx.data, "owned", False):
            try:
                tx.data.tx.savepoint()
            except Exception:  # noqa: BLE001 - a store without savepoints simply locks later
                pass
        return tx

    def _enter(self, tx: Transaction | None) -> Transaction:
        # Each Apex call level uses ~10-20 Python frames; Apex allows 1,000 levels.
        if sys.getrecursionlimit() < PYTHON_RECURSION_LIMIT:
            sys.setrecursionlimit(PYTHON_RECURSION_LIMIT)
        if tx is None:
            tx = self.new_transaction()
        self.tx = tx
        ops.CURRENT.prog = self
        return tx

    def execute_anonymous(self, source: str, tx: Transaction | None = None, file: str = "anonymous.apex",
                          commit: bool = True) -> ExecutionResult:
        """Run anonymous Apex (statements, optionally with classes). Compile errors raise ApexCompileError."""
        tx = self._prepare(tx)
        try:
            res = self._execute_anonymous(source, tx, file, commit)
        except BaseException:
            self._abandon(tx)
            raise
        return self._after(res, commit)

    def _abandon(self, tx: Transaction) -> None:
        """Roll back a transaction that never ran (compile error, unknown method)."""
        from .dataport import end_session
        if tx.data is not None and not getattr(tx, "finished", False):
            end_session(tx.data, commit=False)
            tx.finished = True  # type: ignore[attr-defined]

    def _execute_anonymous(self, source: str, tx: Transaction, file: str, commit: bool) -> ExecutionResult:
        with self.lock:
            root, body_root = _parse_anonymous(source, file)
            try:
                decls = Declarer(self).declare_unit(root, file, anonymous=True)
            except ApexCompileError as e:
                raise anonymous_position(e, source, wrapped=False) if e.file == file else e
            local = {}
            for d in decls:
                if isinstance(d, ApexClass):
                    for c in self._walk(d):
                        local[c.lname] = c
            anon = ApexClass("AnonymousBlock", "class", None, file)
            saved = dict(self.classes)
            self.classes.update(local)
            try:
                comp = Compiler(self, compile_expr, static_ctor)
                try:
                    for c in local.values():
                        self._link(c)
                    for c in local.values():
                        if c.outer is None:
                            comp.compile_class(c)
                    for c in local.values():
                        self._check_class(c)
                except ApexCompileError as e:
                    raise anonymous_position(e, source, wrapped=False) if e.file == file else e
                try:
                    body = comp.compile_anonymous(body_root, file, anon)
                except ApexCompileError as e:
                    raise anonymous_position(e, source, wrapped=True) if e.file == file else e
                tx = self._enter(tx)
                self.reset_statics()
                label = Method("execute", anon, [], None, True, 1)
                label.label = "AnonymousBlock"  # type: ignore[attr-defined]
                return self._run_top(lambda: self._run_body(label, body), tx, commit)
            finally:
                self.classes = saved

    def call_static(self, class_name: str, method: str, args: list[Any] | None = None,
                    tx: Transaction | None = None, commit: bool = True, reset: bool = True) -> ExecutionResult:
        """Run a static method as its own transaction."""
        tx = self._prepare(tx)
        try:
            res = self._call_static(class_name, method, args, tx, commit, reset)
        except BaseException:
            self._abandon(tx)
            raise
        return self._after(res, commit)

    def _call_static(self, class_name: str, method: str, args: list[Any] | None, tx: Transaction, commit: bool,
                     reset: bool) -> ExecutionResult:
        with self.lock:
            cls = self.resolve_class(class_name)
            if cls is None:
                raise KeyError(f"No such Apex class: {class_name}")
            vals = list(args or [])
            cands = [m for m in cls.find_methods(method.lower()) if m.static and len(m.params) == len(vals)]
            if not cands:
                raise KeyError(f"No static method {class_name}.{method} with {len(vals)} parameter(s)")
            tx = self._enter(tx)
            if reset:
                self.reset_statics()
            return self._run_top(lambda: self.invoke_overloaded(tuple(cands), None, vals), tx, commit)

    def run_in(self, fn: Callable[[], Any], tx: Transaction | None = None, commit: bool = True,
               reset: bool = True) -> ExecutionResult:
        """Run a Python callable (that calls into Apex) as one transaction."""
        tx = self._prepare(tx)
        with self.lock:
            tx = self._enter(tx)
            if reset:
                self.reset_statics()
            res = self._run_top(fn, tx, commit)
        return self._after(res, commit)

    def _after(self, res: ExecutionResult, commit: bool) -> ExecutionResult:
        """After a committed top-level transaction, run its queued Queueables and @future calls, each
        as its own transaction (outside the program lock, so lock order stays store -> program)."""
        tx = res.transaction
        if res.success and tx is not None and tx.queue and tx.test is None and (commit or tx.data is None):
            from . import asyncjobs
            asyncjobs.after_commit(self, tx)
        return res

    def _run_top(self, fn: Callable[[], Any], tx: Transaction, commit: bool) -> ExecutionResult:
        res = self._run_top_body(fn, tx, commit)
        for hook in TX_END_HOOKS:  # libraries' per-transaction state (Platform Cache: rolled back on failure)
            hook(tx, res.success)
        return res

    def _run_top_body(self, fn: Callable[[], Any], tx: Transaction, commit: bool) -> ExecutionResult:
        from .dataport import end_session
        tx.finished = True  # type: ignore[attr-defined]
        try:
            value = fn()
        except ApexThrown as e:
            obj = e.obj
            if tx.data is not None:
                end_session(tx.data, commit=False)
            return ExecutionResult(False, tx.debug_log, obj.cls.name if not obj.cls.builtin else obj.cls.name,
                                   obj.fields.get("__message"), obj.fields.get("__stack"), obj.fields.get("__line"),
                                   transaction=tx)
        except RecursionError:
            if tx.data is not None:
                end_session(tx.data, commit=False)
            return ExecutionResult(False, tx.debug_log, "System.LimitException", "Maximum stack depth reached: 1001",
                                   "", None, transaction=tx)
        except Exception as e:  # a defect of the runtime or the data layer: reported, never a traceback
            log.exception("Apex runtime internal error")
            if tx.data is not None:
                end_session(tx.data, commit=False)
            stack = self.stack_string()
            tx.stack.clear()
            return ExecutionResult(False, tx.debug_log, "System.UnexpectedException",
                                   f"Apex runtime internal error: {type(e).__name__}: {e}", stack, None,
                                   transaction=tx)
        except BaseException:
            if tx.data is not None:
                end_session(tx.data, commit=False)
            raise
        if tx.data is not None:
            end_session(tx.data, commit=commit)
        return ExecutionResult(True, tx.debug_log, value=value, transaction=tx)

    def _run_body(self, label: Method, body: Callable[[dict], Any]) -> Any:
        pos = [label, 1]
        fr = {POS: pos}
        stack = self.tx.stack
        stack.append(pos)
        try:
            body(fr)
        finally:
            stack.pop()
        return None

    # ------------------------------------------------------------------------------------ invocation
    def invoke(self, m: Method, this: Any, args: list[Any]) -> Any:
        nat = m.native
        if nat is not None:
            return nat(this, args)
        tx = self.tx
        stack = tx.stack
        if len(stack) >= MAX_STACK_DEPTH:
            ops.throw("System.LimitException", f"Maximum stack depth reached: {len(stack) + 1}")
        tx.calls += 1
        if not tx.calls & 1023:
            tx.check_cpu()
        if m.static and not m.cls.static_ready:
            self.init_static(m.cls)
        pos = [m, m.line]
        fr: dict[str, Any] = {"this": this, POS: pos}
        for (pname, _), co, a in zip(m.params, m.coercers, args):
            fr[pname] = co(a) if co is not None and a is not None else a
        body = m.body
        if body is None:
            ops.throw("System.UnexpectedException", f"Abstract method called: {m.cls.name}.{m.name}")
        stack.append(pos)
        try:
            r = body(fr)
        finally:
            stack.pop()
        if r == RETURN:
            v = fr.get(RET)
            co = m.ret_coerce
            return co(v) if co is not None and v is not None else v
        return None

    def invoke_overloaded(self, cands: tuple[Method, ...], this: Any, args: list[Any]) -> Any:
        m = self.pick_overload(cands, args)
        return self.invoke(m, None if m.static else this, args)

    def pick_overload(self, cands: Iterable[Method], args: list[Any]) -> Method:
        best = None
        best_score = -1
        for m in cands:
            if len(m.params) != len(args):
                continue
            score = 0
            ok = True
            for (_, pt), a in zip(m.params, args):
                if a is None:
                    continue
                if ops.is_instance(a, pt, m.cls):
                    score += 2 if pt.name != "object" else 1
                elif pt.name in ("decimal", "double", "long") and type(a) in ops.NUMERIC_ORDER:
                    score += 0
                elif pt.name == "id" and isinstance(a, str):
                    score += 1
                else:
                    ok = False
                    break
            if ok and score > best_score:
                best, best_score = m, score
        if best is None:
            ops.throw("System.UnexpectedException", "Method does not exist or incorrect signature")
        return best  # type: ignore[return-value]

    def init_static(self, cls: ApexClass) -> None:
        if cls.static_ready:
            return
        cls.static_ready = True
        if cls.superclass is not None and not cls.superclass.static_ready:
            self.init_static(cls.superclass)
        for f in cls.field_order:
            if f.static:
                cls.statics.setdefault(f.lname, None)
        pos = [Method("<clinit>", cls, [], None, True, cls.line), cls.line]
        fr = {POS: pos}
        self.tx.stack.append(pos)
        try:
            for init in cls.static_inits:
                init(fr)
        finally:
            self.tx.stack.pop()

    def instantiate(self, cls: ApexClass, args: list[Any], line: int | None = None,
                    ctor: Method | None = None) -> ApexObject:
        if not cls.static_ready:
            self.init_static(cls)
        obj = ApexObject(cls)
        f = obj.fields
        for fi in cls.all_instance_fields():
            f[fi.lname] = None
        if cls.is_exception:
            self._stamp_exception(obj, line)
        # Apex initializes the instance fields of the whole class chain (base first) before any constructor
        # runs, so a virtual method the base constructor calls sees the subclass's initialized fields
        sup = cls.superclass
        if sup is None or sup.builtin:
            self._init_fields(cls, obj)
        else:
            chain = [cls]
            while sup is not None and not sup.builtin:
                chain.append(sup)
                sup = sup.superclass
            for c in reversed(chain):
                self._init_fields(c, obj)
        self._construct(cls, obj, args, ctor)
        return obj

    def _stamp_exception(self, obj: ApexObject, line: int | None) -> None:
        stack = self.tx.stack
        if line is not None and stack:
            stack[-1][1] = line
        obj.fields["__line"] = stack[-1][1] if stack else line
        obj.fields["__stack"] = self.stack_string()
        obj.fields.setdefault("__message", None)
        obj.fields.setdefault("__cause", None)

    def stack_string(self) -> str:
        lines = []
        for m, ln in reversed(self.tx.stack):
            label = getattr(m, "label", None) or f"Class.{m.cls.name}.{m.name}"
            lines.append(f"{label}: line {ln}, column 1")
        return "\n".join(lines)

    def _construct(self, cls: ApexClass, obj: ApexObject, args: list[Any], chosen: Method | None = None) -> None:
        if cls.builtin:
            init = getattr(cls, "native_ctor", None)
            if init is not None:
                init(obj, args)
                return
            from . import exceptions
            exceptions.exception_ctor(obj, args)
            return
        ctors = [c for c in cls.ctors if len(c.params) == len(args)]
        if not ctors:
            if cls.ctors and (args or not cls.is_exception):
                if args or any(True for _ in cls.ctors):
                    if not (cls.is_exception and len(args) <= 2):
                        ops.throw("System.TypeException",
                                  f"Constructor not defined: [{cls.name}].<Constructor>({len(args)} args)")
            if cls.superclass is not None:
                self._construct(cls.superclass, obj, args if cls.is_exception else [])
            elif args:
                ops.throw("System.TypeException", f"Constructor not defined: [{cls.name}].<Constructor>")
            return
        ctor = ctors[0] if len(ctors) == 1 else chosen if chosen in ctors else self.pick_overload(ctors, args)
        pos = [ctor, ctor.line]
        fr: dict[str, Any] = {"this": obj, POS: pos}
        for (pname, _), co, a in zip(ctor.params, ctor.coercers, args):
            fr[pname] = co(a) if co is not None and a is not None else a
        stack = self.tx.stack
        stack.append(pos)
        try:
            if ctor.ctor_call is not None:
                kind, cargs, target = ctor.ctor_call
                vals = [a(fr) for a in cargs]
                if kind == "this":
                    self._construct(cls, obj, vals, target)
                else:
                    if cls.superclass is None:
                        ops.throw("System.TypeException", "No superclass constructor")
                    self._construct(cls.superclass, obj, vals, target)
            elif cls.superclass is not None:
                self._construct(cls.superclass, obj, [])
            if ctor.body is not None:
                ctor.body(fr)
        finally:
            stack.pop()

    def _init_fields(self, cls: ApexClass, obj: ApexObject) -> None:
        inits = [fi for fi in cls.field_order if not fi.static and fi.init is not None]
        if not inits and not cls.instance_inits:
            return
        fr = {"this": obj, POS: self.tx.stack[-1] if self.tx.stack else [None, 0]}
        for fi in inits:
            v = fi.init(fr)  # type: ignore[misc]
            obj.fields[fi.lname] = fi.coerce(v) if fi.coerce is not None and v is not None else v
        for blk in cls.instance_inits:
            blk(fr)

    def run_accessor(self, fi: FieldInfo, this: Any, blk: Callable[[dict], Any], value: Any) -> Any:
        pos = [Method(fi.name, fi.cls, [], fi.type, fi.static, fi.line), fi.line]
        fr = {"this": this, POS: pos, "value": value}
        stack = self.tx.stack
        stack.append(pos)
        try:
            r = blk(fr)
        finally:
            stack.pop()
        if r == RETURN:
            v = fr.get(RET)
            return fi.coerce(v) if fi.coerce is not None and v is not None else v
        return None

    # ------------------------------------------------------------------------------------ members
    def get_member(self, obj: Any, low: str) -> Any:
        t = type(obj)
        if t is ApexObject:
            fi = obj.cls.find_field(low)
            if fi is None:
                ops.throw("System.TypeException", f"Variable does not exist: {low} on {obj.cls.name}")
            if fi.static:
                if not fi.cls.static_ready:
                    self.init_static(fi.cls)
                if fi.getter is not None:
                    return self.run_accessor(fi, None, fi.getter, None)
                return fi.cls.statics.get(low)
            if fi.getter is not None:
                return self.run_accessor(fi, obj, fi.getter, None)
            return obj.fields.get(low)
        if t is SObject:
            return _HOOKS.sobject_get(self, obj, low)
        if obj is None:
            ops.npe()
        g = getattr(obj, "apex_get", None)
        if g is not None:
            return g(low)
        ops.throw("System.TypeException", f"Variable does not exist: {low} on {ops.type_name(obj)}")

    def set_member(self, obj: Any, name: str, v: Any) -> Any:
        t = type(obj)
        low = name.lower()
        if t is ApexObject:
            fi = obj.cls.find_field(low)
            if fi is None:
                ops.throw("System.TypeException", f"Variable does not exist: {low}")
            if fi.coerce is not None and v is not None:
                v = fi.coerce(v)
            if fi.static:
                fi.cls.statics[low] = v
                return v
            if fi.setter is not None:
                self.run_accessor(fi, obj, fi.setter, v)
            else:
                obj.fields[low] = v
            return v
        if t is SObject:
            self.sobject_put(obj, name, v)
            return v
        if obj is None:
            ops.npe()
        s = getattr(obj, "apex_set", None)
        if s is not None:
            s(low, v)
            return v
        ops.throw("System.TypeException", f"Field is not writeable: {low}")

    def call_value(self, obj: Any, low: str, args: list[Any]) -> Any:
        t = type(obj)
        tbl = _METHODS.get(t)
        if tbl is not None:
            fn = tbl.get(low)
            if fn is not None:
                try:
                    return fn(obj, args)
                except ops.NATIVE_ERRORS as e:
                    ops.native_failure(e, f"{ops.type_name(obj)}.{low}", args)
        if t is ApexObject:
            cls = obj.cls
            m = cls.find_method(low, len(args))
            if m is not None:
                cands = cls.find_methods(low)
                if len(cands) > 1:
                    same = [c for c in cands if len(c.params) == len(args)]
                    if len(same) > 1:
                        m = self.pick_overload(same, args)
                return self.invoke(m, obj, args)
            if low == "tostring" and not args:
                return self.object_to_string(obj)
            if low == "equals" and len(args) == 1:
                return obj is args[0]
            if low == "hashcode" and not args:
                return id(obj) & 0x7FFFFFFF
            ops.throw("System.TypeException", f"Method does not exist or incorrect signature: {low} on "
                                              f"{cls.name}")
        if obj is None:
            ops.npe()
        c = getattr(obj, "apex_call", None)
        if c is not None:
            try:
                return c(low, args)
            except ops.NATIVE_ERRORS as e:
                ops.native_failure(e, f"{ops.type_name(obj)}.{low}", args)
        ops.throw("System.TypeException", f"Method does not exist or incorrect signature: {low}() on "
                                          f"{ops.type_name(obj)}")

    def object_to_string(self, obj: ApexObject) -> str:
        cls = obj.cls
        m = cls.find_method("tostring", 0)
        if m is not None and not m.static:
            return ops.to_str(self.invoke(m, obj, []))
        if cls.is_exception:
            msg = obj.fields.get("__message")
            return f"{self.exception_type_name(obj)}: {ops.to_str(msg)}"
        own_format = getattr(cls, "format_object", None)  # a library's builtin class that prints its own way
        if own_format is not None:
            return own_format(obj)
        parts = ", ".join(f"{fi.name}={ops.to_str(obj.fields.get(fi.lname), True)}"
                          for fi in cls.all_instance_fields())
        return f"{cls.short}:[{parts}]"  # Salesforce prints an inner class without its outer class

    def exception_type_name(self, obj: ApexObject) -> str:
        return obj.cls.name

    def object_equals(self, a: ApexObject, b: Any) -> bool:
        m = a.cls.find_method("equals", 1)
        if m is not None and not m.static:
            return bool(self.invoke(m, a, [b]))
        return a is b

    def iterate_object(self, obj: ApexObject) -> list[Any]:
        it = self.call_value(obj, "iterator", [])
        out = []
        while self.call_value(it, "hasnext", []):
            out.append(self.call_value(it, "next", []))
        return out

    def new_exception(self, type_name: str, message: str | None) -> ApexObject:
        cls = self.resolve_class(type_name)
        if cls is None:
            cls = self.builtins["exception"]
        obj = ApexObject(cls)
        self._stamp_exception(obj, None)
        obj.fields["__message"] = message
        return obj

    # ------------------------------------------------------------------------------------ data
    def dml_statement(self, op: str, value: Any, key: str | None, user_mode: bool = False) -> None:
        _HOOKS.dml_statement(self, op, value, key, user_mode)

    # ------------------------------------------------------------------------------------ introspection
    def class_names(self) -> list[str]:
        return sorted(c.name for c in self.classes.values() if c.outer is None)

    def get_class(self, name: str) -> ApexClass | None:
        return self.classes.get(name.lower())

    def debug(self, message: str, level: str = "DEBUG") -> None:
        tx = self.tx
        tx.debug_log.append(message)
        tx.debug_entries.append((tx.stack[-1][1] if tx.stack else 0, level, message))

    def uncaught(self, result: ExecutionResult) -> ApexUncaught:
        return ApexUncaught(result.exception_type or "", result.exception_message or "", result.stack_trace or "",
                            result.line)


_ = ApexList
