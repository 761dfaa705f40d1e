"""``Invocable.Action``: calling invocable actions from Apex (Apex reference, Invocable namespace).

``Invocable.Action.createCustomAction('apex', 'MyAction')`` (or ``(type, namespace, name)``) wraps
a deployed class's static ``@InvocableMethod``; ``addInvocation()`` / ``setInvocationParameter(name,
value)`` / ``setInvocations(List<Map<String, Object>>)`` build the invocations; ``invoke()`` runs
them all in one call of the method, inside the calling transaction (its DML, SOQL and limits count
there), and returns one ``Invocable.Action.Result`` per invocation (``isSuccess``, ``getErrors``,
``getOutputParameters``, ``getInvocationParameters``, ``getAction``).

The local org's choices where Salesforce documents no text (settings below, listed in the README):
* an invocation's parameters become one element of the method's List parameter: for a class with
  ``@InvocableVariable`` members, the parameter names are its variables (as the REST actions API
  reads them); for a list of primitives or sObjects, the single parameter's value is the element;
* outputs: a class element gives its variables by name, any other element ``{"output": value}``;
* an action that throws fails every invocation with ``UNKNOWN_EXCEPTION`` and ``<type>: <message>``
  (``System.LimitException`` and assertion failures are not caught); what it wrote stays;
* an action that does not exist (no such Apex action, or a flow that is not deployed) fails every
  invocation with ``NOT_FOUND_CODE`` / ``NOT_FOUND_MESSAGE``;
* a flow action (``createCustomAction('flow', name)``) is run by ``flowlib`` (registered in
  ``ACTION_RUNNERS``): one interview per invocation; a standard action or another action type throws
  ``System.UnexpectedException`` naming it.
"""
from __future__ import annotations

import json
from typing import Any

from . import ops
from .jsonlib import NATIVE_READERS, convert, serialize, untyped
from .stdlib import NAMESPACES, NEW, STATIC_METHODS, Native, deep_clone
from .values import ApexList, ApexMap, ApexObject, TypeRef

NAMESPACES.update({"invocable", "invocable.action"})
NOT_FOUND_CODE = "NOT_FOUND"
#: action type -> fn(action, invocations) -> List<Invocable.Action.Result> | None (None: no such action);
#: filled by the libraries that run them (``flowlib``: "flow")
ACTION_RUNNERS: dict[str, Any] = {}
NOT_FOUND_MESSAGE = "No {type} action named {name} exists in this org"
EXCEPTION_CODE = "UNKNOWN_EXCEPTION"
_STRING_OBJECT = (TypeRef("String"), TypeRef("Object"))


def _map(values: dict[str, Any] | None = None) -> ApexMap:
    return ApexMap((values or {}).items(), *_STRING_OBJECT)


class InvocableAction(Native):
    apex_type = "Invocable.Action"

    def __init__(self, kind: str = "", namespace: str | None = None, name: str = "", standard: bool = False) -> None:
        self.kind, self.namespace, self.name, self.standard = kind, namespace, name, standard
        self.invocations: list[ApexMap] = []

    def m_addinvocation(self, a):
        self.invocations.append(_map())
        return self

    def m_clearinvocations(self, a):
        self.invocations.clear()
        return self

    def m_setinvocationparameter(self, a):
        if not self.invocations:
            self.invocations.append(_map())
        self.invocations[-1][a[0]] = a[1]
        return self

    def m_setinvocations(self, a):
        if a[0] is None:
            ops.npe()
        self.invocations = [x if isinstance(x, ApexMap) else _map() for x in a[0]]
        return self

    def m_getinvocations(self, a):
        return ApexList(list(self.invocations), TypeRef("Map", _STRING_OBJECT))

    def m_getname(self, a):
        return self.name

    def m_gettype(self, a):
        return self.kind

    def m_getnamespace(self, a):
        return self.namespace

    def m_clone(self, a):
        copy = InvocableAction(self.kind, self.namespace, self.name, self.standard)
        copy.invocations = [deep_clone(m) for m in self.invocations]
        return copy

    def m_invoke(self, a):
        invocations = list(self.invocations)
        if self.standard:
            _unsupported(f"Invocable.Action standard action {self.name!r} (standard invocable actions)")
        kind = (self.kind or "").lower()
        if kind == "apex":
            return self._invoke_apex(invocations)
        runner = ACTION_RUNNERS.get(kind)
        if runner is not None:
            results = runner(self, invocations)
            return self._not_found(invocations) if results is None else results
        _unsupported(f"Invocable.Action action type {self.kind!r}")

    def apex_json(self):
        return {"name": self.name, "type": self.kind, "namespace": self.namespace}

    # -- running -------------------------------------------------------------------------------
    def _results(self, invocations: list[ApexMap], outputs: list[ApexMap] | None,
                 error: tuple[str, str] | None) -> ApexList:
        out = []
        for i, params in enumerate(invocations):
            result = InvocableActionResult()
            result.action, result.parameters = self, params
            result.success = error is None
            result.errors = [InvocableActionError(*error)] if error else []
            result.outputs = outputs[i] if outputs is not None else _map()
            out.append(result)
        return ApexList(out, TypeRef("Invocable.Action.Result"))

    def _results_each(self, invocations: list[ApexMap], outputs: list[ApexMap],
                      errors: list[tuple[str, str] | None]) -> ApexList:
        """One result per invocation, each with its own outputs and error (None: success)."""
        out = []
        for params, values, error in zip(invocations, outputs, errors):
            result = InvocableActionResult()
            result.action, result.parameters = self, params
            result.success = error is None
            result.errors = [InvocableActionError(*error)] if error else []
            result.outputs = values
            out.append(result)
        return ApexList(out, TypeRef("Invocable.Action.Result"))

    def _not_found(self, invocations: list[ApexMap]) -> ApexList:
        message = NOT_FOUND_MESSAGE.format(type=self.kind, name=self.name)
        return self._results(invocations, None, (NOT_FOUND_CODE, message))

    def _invoke_apex(self, invocations: list[ApexMap]) -> ApexList:
        from .invocable import InvocableActionNotFound, invocable_method
        prog = ops.CURRENT.prog
        try:
            cls, method = invocable_method(prog, self.name)
        except InvocableActionNotFound:
            return self._not_found(invocations)
        if not invocations:
            return self._results([], None, None)
        args = []
        if method.params:
            _, ptype = method.params[0]
            element = ptype.args[0] if ptype.args else TypeRef("Object")
            args.append(ApexList([_element(params, element, cls) for params in invocations], element))
        try:
            value = prog.invoke(method, None, args)
        except ops.ApexThrown as error:
            obj = error.obj
            if obj.cls.name in ("System.LimitException", "System.AssertException"):
                raise
            return self._results(invocations, None,
                                 (EXCEPTION_CODE, f"{obj.cls.name}: {obj.fields.get('__message')}"))
        values = list(value) if isinstance(value, ApexList) else []
        if method.rtype is None or method.rtype.name == "void" or value is None:
            return self._results(invocations, None, None)
        if len(values) != len(invocations):
            return self._results(invocations, None, ("INVALID_OPERATION", f"the action returned {len(values)} "
                                                                          f"results for {len(invocations)} inputs"))
        return self._results(invocations, [_outputs(v) for v in values], None)


def _element(params: ApexMap, element: TypeRef, cls: Any) -> Any:
    """One invocation's parameters as one element of the method's List parameter."""
    prog = ops.CURRENT.prog
    target = prog.classes.get(element.name) or (cls.inner.get(element.name.rsplit(".", 1)[-1])
                                                if cls is not None else None)
    if target is not None:
        # Flow builds the element with its no-argument constructor (field initializers run, as
        # FlowRecordLogEntry's ``timestamp = System.now()`` relies on) and sets the variables it was given
        data = json.loads(serialize(params))
        given = convert(data, element, False, cls)
        if not isinstance(given, ApexObject) or target.kind != "class" or "abstract" in target.modifiers:
            return given
        built = prog.instantiate(target, [])
        names = {str(k).lower() for k in params}
        for low, value in given.fields.items():
            if low in names:
                built.fields[low] = value
        return built
    values = list(params.values())
    if len(values) > 1:
        ops.throw("System.InvalidParameterValueException",
                  f"An invocation of an action taking List<{element.display}> has one parameter, not {len(values)}")
    return values[0] if values else None


def _outputs(value: Any) -> ApexMap:
    if isinstance(value, ApexObject) and not value.cls.builtin:
        return _map({fi.name: value.fields.get(fi.lname) for fi in value.cls.all_instance_fields()})
    return _map({"output": value})


def _unsupported(what: str) -> None:
    ops.throw("System.UnexpectedException", f"{what} is not supported by the local org")


class InvocableActionResult(Native):
    apex_type = "Invocable.Action.Result"

    def __init__(self) -> None:
        self.action: InvocableAction | None = None
        self.parameters: ApexMap | None = None
        self.outputs: ApexMap | None = None
        self.success = False
        self.errors: list[InvocableActionError] = []

    def m_getoutputparameters(self, a):
        if self.outputs is None:
            self.outputs = _map()
        return self.outputs

    def m_getinvocationparameters(self, a):
        if self.parameters is None:
            self.parameters = _map()
        return self.parameters

    def m_issuccess(self, a):
        return bool(self.success)

    def m_geterrors(self, a):
        return ApexList(list(self.errors), TypeRef("Invocable.Action.Error"))

    def m_getaction(self, a):
        return self.action

    def m_clone(self, a):
        copy = InvocableActionResult()
        copy.__dict__.update(self.__dict__)
        copy.errors = list(self.errors)
        return copy

    def apex_json(self):
        from .jsonlib import to_json_value
        return {"action": self.action.apex_json() if self.action is not None else None,
                "errors": [e.apex_json() for e in self.errors], "success": bool(self.success),
                "invocationParameters": to_json_value(self.parameters) if self.parameters is not None else None,
                "outputParameters": to_json_value(self.outputs) if self.outputs is not None else None}


class InvocableActionError(Native):
    apex_type = "Invocable.Action.Error"

    def __init__(self, code: str = "", message: str = "") -> None:
        self.code, self.message = code, message

    def m_getcode(self, a):
        return self.code

    def m_getmessage(self, a):
        return self.message

    def apex_json(self):
        return {"code": self.code, "message": self.message}


def _read_action_error(v: Any) -> InvocableActionError:
    v = v if isinstance(v, dict) else {}
    return InvocableActionError(v.get("code") or "", v.get("message") or "")


def _read_action_result(v: Any) -> InvocableActionResult:
    v = v if isinstance(v, dict) else {}
    result = InvocableActionResult()
    for key, attr in (("outputParameters", "outputs"), ("invocationParameters", "parameters")):
        value = untyped(v.get(key) or {})
        setattr(result, attr, value if isinstance(value, ApexMap) else _map())
    result.success = bool(v.get("success"))
    result.errors = [_read_action_error(e) for e in v.get("errors") or []]
    action = v.get("action")
    if isinstance(action, dict):
        result.action = InvocableAction(action.get("type") or "", action.get("namespace"), action.get("name") or "")
    return result


def _create_custom(a):
    if len(a) >= 3:
        return InvocableAction(a[0], a[1], a[2])
    return InvocableAction(a[0], None, a[1])


STATIC_METHODS[("invocable.action", "createcustomaction")] = _create_custom
STATIC_METHODS[("invocable.action", "createstandardaction")] = lambda a: InvocableAction(a[0], None, a[0], True)
NEW["invocable.action.error"] = lambda a: InvocableActionError()
NATIVE_READERS["invocable.action.result"] = _read_action_result
NATIVE_READERS["invocable.action.error"] = _read_action_error
