"""The loaded-program model: classes, methods, fields, triggers.

The compiler (compiler.py) fills these with closures; the interpreter calls them.
"""

from __future__ import annotations

from typing import Any, Callable

from .values import TypeRef


class Method:
    __slots__ = ("name", "lname", "params", "rtype", "static", "abstract", "body", "native", "cls", "annotations",
                 "line", "modifiers", "ctor_call", "node", "coercers", "ret_coerce", "label")

    def __init__(self, name: str, cls: "ApexClass", params: list[tuple[str, TypeRef]], rtype: TypeRef | None,
                 static: bool = False, line: int = 0) -> None:
        self.name = name
        self.lname = name.lower()
        self.cls = cls
        self.params = params
        self.rtype = rtype
        self.static = static
        self.abstract = False
        self.body: Callable[[dict], Any] | None = None
        self.native: Callable[..., Any] | None = None
        self.annotations: dict[str, str] = {}
        self.line = line
        self.modifiers: set[str] = set()
        self.ctor_call: Any = None  # this(...)/super(...): (kind, arg closures, ctor chosen at compile time | None)
        self.node: Any = None
        self.coercers: list[Any] = []
        self.ret_coerce: Any = None
        self.label = f"Class.{cls.name}.{name}"

    def __repr__(self) -> str:
        return f"{self.cls.name}.{self.name}/{len(self.params)}"


class FieldInfo:
    __slots__ = ("name", "lname", "type", "static", "init", "getter", "setter", "cls", "line", "final", "coerce",
                 "modifiers", "is_property", "node", "acc_node", "annotations")

    def __init__(self, name: str, cls: "ApexClass", ftype: TypeRef, static: bool, line: int) -> None:
        self.name = name
        self.lname = name.lower()
        self.cls = cls
        self.type = ftype
        self.static = static
        self.init: Callable[[dict], Any] | None = None
        self.getter: Callable[[dict], Any] | None = None
        self.setter: Callable[[dict], Any] | None = None
        self.line = line
        self.final = False
        self.coerce: Any = None
        self.modifiers: set[str] = set()
        self.is_property = False
        self.node: Any = None
        self.acc_node: Any = None
        self.annotations: dict[str, str] = {}


class ApexClass:
    """A class, interface, enum or exception type (user-defined or provided by the runtime)."""

    def __init__(self, name: str, kind: str = "class", outer: "ApexClass | None" = None, file: str = "") -> None:
        self.name = name  # display name, e.g. Outer.Inner or System.NullPointerException
        self.short = name.rsplit(".", 1)[-1]
        self.lname = name.lower()
        self.kind = kind  # class | interface | enum
        self.outer = outer
        self.file = file
        self.node: Any = None
        self.super_ref: TypeRef | None = None
        self.superclass: ApexClass | None = None
        self.interface_refs: list[TypeRef] = []
        self.interfaces: list[ApexClass] = []
        self.modifiers: set[str] = set()
        self.annotations: dict[str, str] = {}
        self.fields: dict[str, FieldInfo] = {}
        self.field_order: list[FieldInfo] = []
        self.methods: dict[str, list[Method]] = {}
        self.ctors: list[Method] = []
        self.static_inits: list[Callable[[dict], Any]] = []
        self.instance_inits: list[Callable[[dict], Any]] = []
        self.inner: dict[str, ApexClass] = {}
        self.enum_values: dict[str, Any] = {}
        self.enum_list: list[Any] = []
        self.statics: dict[str, Any] = {}
        self.static_ready = False
        self.builtin = False
        self.line = 0
        self._mcache: dict[tuple[str, int], Any] = {}
        self._fcache: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<ApexClass {self.name}>"

    # ------------------------------------------------------------------ hierarchy
    def is_subclass_of(self, other: "ApexClass") -> bool:
        c: ApexClass | None = self
        while c is not None:
            if c is other:
                return True
            for i in c.interfaces:
                if i.is_subclass_of(other):
                    return True
            c = c.superclass
        return False

    @property
    def is_exception(self) -> bool:
        c: ApexClass | None = self
        while c is not None:
            if c.lname == "exception":
                return True
            c = c.superclass
        return False

    def find_methods(self, lname: str) -> list[Method]:
        out: list[Method] = []
        c: ApexClass | None = self
        seen: set[tuple[int, tuple]] = set()
        while c is not None:
            for m in c.methods.get(lname, ()):
                key = (len(m.params), tuple(p[1] for p in m.params))
                if key not in seen:
                    seen.add(key)
                    out.append(m)
            c = c.superclass
        stack = []
        c = self
        while c is not None:
            stack.extend(c.interfaces)
            c = c.superclass
        # an interface's declaration that a method above implements is no candidate, even when the two
        # spell a parameter type differently (`IDoWork` in its class, `Outer.IDoWork` in the interface)
        implemented = {_short_signature(m) for m in out}
        while stack:
            i = stack.pop()
            for m in i.methods.get(lname, ()):
                key = (len(m.params), tuple(p[1] for p in m.params))
                if key not in seen and _short_signature(m) not in implemented:
                    seen.add(key)
                    out.append(m)
            stack.extend(i.interfaces)
        return out

    def find_method(self, lname: str, nargs: int) -> Method | None:
        key = (lname, nargs)
        hit = self._mcache.get(key)
        if hit is not None:
            return hit
        c: ApexClass | None = self
        found = None
        while c is not None and found is None:
            for m in c.methods.get(lname, ()):
                if len(m.params) == nargs and not m.abstract:
                    found = m
                    break
            c = c.superclass
        if found is None:
            # abstract/interface declaration (for static typing only)
            stack = [self]
            while stack and found is None:
                k = stack.pop()
                for m in k.methods.get(lname, ()):
                    if len(m.params) == nargs:
                        found = m
                        break
                if k.superclass:
                    stack.append(k.superclass)
                stack.extend(k.interfaces)
        if found is not None:
            self._mcache[key] = found
        return found

    def find_field(self, lname: str) -> FieldInfo | None:
        hit = self._fcache.get(lname)
        if hit is not None:
            return hit
        c: ApexClass | None = self
        while c is not None:
            f = c.fields.get(lname)
            if f is not None:
                self._fcache[lname] = f
                return f
            c = c.superclass
        return None

    def all_instance_fields(self) -> list[FieldInfo]:
        chain: list[ApexClass] = []
        c: ApexClass | None = self
        while c is not None:
            chain.append(c)
            c = c.superclass
        out: list[FieldInfo] = []
        for k in reversed(chain):
            out.extend(f for f in k.field_order if not f.static)
        return out


class ApexTrigger:
    def __init__(self, name: str, sobject: str, events: list[str], file: str) -> None:
        self.name = name
        self.lname = name.lower()
        self.sobject = sobject
        self.events = events  # e.g. ["before insert", "after update"]
        self.file = file
        self.body: Callable[[dict], Any] | None = None
        self.cls: ApexClass | None = None


def _short_type(t: Any) -> tuple:
    return (t.name.rpartition(".")[2], tuple(_short_type(a) for a in t.args))


def _short_signature(m: "Method") -> tuple:
    """A method's parameter types by their last name segment (Outer.Inner and Inner alike)."""
    return (len(m.params), tuple(_short_type(p[1]) if p[1] is not None else None for p in m.params))
