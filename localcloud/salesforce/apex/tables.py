"""The tables the interpreter reads and the libraries fill, and the hooks the libraries provide.

This module sits below the compiler, the expressions and the runtime (layer 2, beside `ops`), so they
read the built-in methods from here and never import a library. The libraries (`stdlib`, `schemalib`,
`jsonlib`, `soql`, `dml`, `systemlib`, ...) fill the tables and set their hooks when they are
imported; `libraries.py` imports them all and the package's `__init__` imports `libraries`.

Tables (all keys lower-case):
  STATIC_METHODS[(namespace, method)] -> fn(args)
  STATIC_PROPS[(namespace, name)] -> fn()            (e.g. Trigger.new, RestContext.request)
  STATIC_SETTERS[(namespace, name)] -> fn(value)
  METHODS[python type][method] -> fn(obj, args)     (String, Integer, List, Map, Date, ...)
  NEW[type name] -> fn(args)                        (new HttpRequest(), ...)
  LINE_AWARE {(namespace, method)}                  called as fn(args, line)
  FRAME_AWARE[(namespace, method)] -> fn(args, frame, fields)   (Database.query: binds read the frame)
  NAMESPACES {name}                                 names that are namespaces, not values
  BUILTIN_INSTALLERS [fn(program)]                  add built-in classes to each new ApexProgram, in order
A method missing from these tables is a compile error ("Method does not exist or incorrect signature").
"""

from __future__ import annotations

from typing import Any, Callable

from . import ops
from .model import ApexClass
from .values import TypeRef

STATIC_METHODS: dict[tuple[str, str], Callable[[list[Any]], Any]] = {}
STATIC_PROPS: dict[tuple[str, str], Callable[[], Any]] = {}
STATIC_SETTERS: dict[tuple[str, str], Callable[[Any], Any]] = {}
METHODS: dict[type, dict[str, Callable[[Any, list[Any]], Any]]] = {}
NEW: dict[str, Callable[[list[Any]], Any]] = {}
LINE_AWARE: set[tuple[str, str]] = set()
FRAME_AWARE: dict[tuple[str, str], Callable[..., Any]] = {}
NAMESPACES: set[str] = set()
#: namespace -> resolver(prog, ctx, field node, name) compiling ``Ns.Name`` (``Page.X``, see vflib)
NAMESPACE_FIELDS: dict[str, Callable[..., Any]] = {}
BUILTIN_INSTALLERS: list[Callable[[Any], None]] = []
#: type-name prefix -> fn(type name) -> constructor(args) | None: families of types named by the org's metadata
#: (``Flow.Interview.<flow>``, flowlib). A name with such a prefix is a known type.
TYPE_FAMILIES: dict[str, Callable[[str], Callable[[list[Any]], Any] | None]] = {}

STR = TypeRef("String")
OBJ = TypeRef("Object")
INT_T = TypeRef("Integer")
ID_T = TypeRef("Id")


class Hooks:
    """Functions a library (or `asyncjobs`) provides to the layers below it: dependency inversion.

    The providing module sets its hook when it is imported (``@provide("name")`` on the function);
    the compiler, the expressions and the runtime call ``HOOKS.<name>(...)``. A hook read before its
    module was imported raises AttributeError, naming it."""

    type_of: Callable[..., Any]              # stdlib.type_of(ref, ctx_cls): `Foo.class`
    sobject_type_token: Callable[..., Any]   # schemalib: `Account.SObjectType`
    sobject_field_token: Callable[..., Any]  # schemalib: `Account.Name` as a field token
    sobject_types: Callable[..., Any]        # schemalib: `Schema.SObjectType`
    compile_query: Callable[..., Any]        # soql.compile_query(comp, ctx, node): inline SOQL and SOSL
    compile_search: Callable[..., Any]       # sosl.compile_search(comp, ctx, node, src, binds)
    to_sobject: Callable[..., Any]           # soql.to_sobject(prog, record, type): a data record as an SObject
    dml_statement: Callable[..., Any]        # dml.dml_statement(prog, op, value, key, user_mode)
    implicit_insert: Callable[..., Any]      # dml.implicit_insert(prog, user): System.runAs(new User)
    sobject_get: Callable[..., Any]          # sobjects.get(prog, so, low)
    sobject_put: Callable[..., Any]          # sobjects.put(prog, so, name, value)
    settings_supports: Callable[..., Any]    # settingslib.supports(prog, sobject, method): X__c.getInstance()
    settings_call: Callable[..., Any]        # settingslib.call(prog, sobject, method, args)
    future_body: Callable[..., Any]          # asyncjobs.future_body(prog, method, body): @future
    record_flows: Callable[..., Any]         # flowlib.record_flows(prog, event, timing): record-triggered flows
    publish_events: Callable[..., Any]       # eventretry: platform events saved outside Apex (REST), after commit

    def __getattr__(self, name: str) -> Any:  # only reached for a hook nobody has set
        raise AttributeError(f"Apex library hook {name!r} is not installed: import localcloud.salesforce.apex "
                           f"(its libraries module loads the libraries)")


HOOKS = Hooks()


def provide(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: the function becomes ``HOOKS.<name>``."""
    if name not in Hooks.__annotations__:
        raise ValueError(f"unknown Apex library hook: {name}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(HOOKS, name, fn)
        return fn
    return deco


class Native:
    """Base of runtime-provided objects: m_<name>(args) methods, p_<name>() properties, s_<name>(v) setters."""

    apex_type = "Object"
    apex_class: ApexClass | None = None

    def apex_call(self, low: str, args: list[Any]) -> Any:
        fn = getattr(self, "m_" + low, None)
        if fn is None:
            ops.throw("System.TypeException", f"Method does not exist or incorrect signature: {low}() on "
                                              f"{self.apex_type}")
        return fn(args)

    def apex_get(self, low: str) -> Any:
        fn = getattr(self, "p_" + low, None)
        if fn is None:
            ops.throw("System.TypeException", f"Variable does not exist: {low} on {self.apex_type}")
        return fn()

    def apex_set(self, low: str, v: Any) -> None:
        fn = getattr(self, "s_" + low, None)
        if fn is None:
            ops.throw("System.TypeException", f"Field is not writeable: {self.apex_type}.{low}")
        fn(v)

    def apex_str(self) -> str:
        return f"{self.apex_type}"

    def m_tostring(self, args):
        return self.apex_str()

    def m_equals(self, args):
        return self is args[0]

    def m_hashcode(self, args):
        return id(self) & 0x7FFFFFFF
