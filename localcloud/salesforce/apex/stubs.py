"""``Test.createStub(Type, System.StubProvider)``: an instance of the type whose every instance method
calls the provider's ``handleMethodCall(stubbedObject, stubbedMethodName, returnType,
listOfParamTypes, listOfParamNames, listOfArgs)`` instead (the Apex stub API).

The stub's class is a synthetic subclass of the stubbed class (or an implementation of the stubbed
interface), made once per type and program, so ``instanceof`` and casts work. As in Salesforce, a
stub can only be made in a running test; any class or interface can be stubbed (not its static methods).
"""

from __future__ import annotations

from typing import Any

from . import ops
from .model import ApexClass, Method
from .values import ApexList, ApexObject, TypeRef


def create_stub(args: list[Any]) -> ApexObject:
    prog = ops.CURRENT.prog
    type_value, provider = args
    parent = getattr(type_value, "cls", None)
    if parent is None or parent.kind not in ("class", "interface"):
        ops.throw("System.TypeException", f"Type {ops.to_str(type_value)} cannot be stubbed")
    if provider is None:
        ops.npe()
    if prog.tx.test is None:
        ops.throw("System.UnsupportedOperationException", "Stubs can only be created from a running test")
    cache = prog.__dict__.setdefault("_stub_classes", {})
    stub_cls = cache.get(id(parent))
    if stub_cls is None or stub_cls.superclass is not parent and parent not in stub_cls.interfaces:
        stub_cls = cache[id(parent)] = _stub_class(prog, parent)
    obj = ApexObject(stub_cls)
    for fi in stub_cls.all_instance_fields():
        obj.fields[fi.lname] = None
    obj.native = provider
    return obj


def _stub_class(prog: Any, parent: ApexClass) -> ApexClass:
    cls = ApexClass(parent.short + "__sfdc_ApexStub", "class", file=parent.file)  # the name Salesforce gives it
    cls.static_ready = True
    cls.line = parent.line
    if parent.kind == "interface":
        cls.interfaces = [parent]
    else:
        cls.superclass = parent
    seen: set[tuple[str, int]] = set()
    for m in _instance_methods(parent):
        key = (m.lname, tuple(p[1] for p in m.params))
        if key in seen:
            continue
        seen.add(key)
        stub = Method(m.name, cls, list(m.params), m.rtype, line=m.line)
        stub.native = _dispatch(prog, m)
        stub.label = m.label
        cls.methods.setdefault(m.lname, []).append(stub)
    return cls


def _instance_methods(parent: ApexClass):
    stack = [parent]
    while stack:
        c = stack.pop(0)
        for methods in c.methods.values():
            for m in methods:
                if not m.static:
                    yield m
        if c.superclass is not None:
            stack.append(c.superclass)
        stack.extend(c.interfaces)


def _dispatch(prog: Any, method: Method):
    from .stdlib import type_of
    rtype = method.rtype or TypeRef("void")
    name = method.name

    def call(this: Any, args: list[Any]) -> Any:
        types = ApexList([type_of(t, method.cls) for _, t in method.params], TypeRef("System.Type"))
        names = ApexList([p for p, _ in method.params], TypeRef("String"))
        values = ApexList(list(args), TypeRef("Object"))
        return prog.call_value(this.native, "handlemethodcall",
                               [this, name, type_of(rtype, method.cls), types, names, values])
    return call
