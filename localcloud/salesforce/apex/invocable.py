"""Invocable Apex actions: ``@InvocableMethod`` static methods run the way Flow and the REST API
(``/services/data/vXX.X/actions/custom/apex/<Class>``) run them.

The inputs (a list of JSON objects, one per request) become the method's single List parameter, as
JSON.deserialize would build it; the method runs as one transaction (committed, or rolled back as a
whole when it throws); its List result gives one output per input, in order.

Settings (Salesforce documents the answer shape but not every failure text): an exception fails
every input with statusCode ``UNKNOWN_EXCEPTION`` and the message ``<type>: <message>``; a result
list of another length than the inputs fails them with ``INVALID_OPERATION``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .jsonlib import convert, serialize

ANNOTATION = "invocablemethod"


class InvocableActionNotFound(Exception):
    """No deployed class of that name has an @InvocableMethod."""


@dataclass
class ActionOutcome:
    name: str
    outputs: list[dict[str, Any] | None] = field(default_factory=list)
    error: tuple[str, str] | None = None  # (statusCode, message) failing every input


def invocable_method(program: Any, class_name: str) -> tuple[Any, Any]:
    cls = program.classes.get(class_name.lower())
    if cls is not None:
        for overloads in cls.methods.values():
            for method in overloads:
                if ANNOTATION in method.annotations and method.static:
                    return cls, method
    raise InvocableActionNotFound(f"No invocable action named {class_name}: deploy an Apex class with an "
                                  "@InvocableMethod")


def invocable_actions(program: Any) -> list[tuple[str, str]]:
    """(class name, label) of every deployed invocable action."""
    found = []
    for cls in program.classes.values():
        for overloads in cls.methods.values():
            for method in overloads:
                if ANNOTATION in method.annotations and method.static:
                    found.append((cls.name, _label(method.annotations[ANNOTATION]) or cls.name))
    return sorted(found)


def _label(annotation: str) -> str | None:
    text = annotation or ""
    marker = text.lower().find("label")
    if marker < 0:
        return None
    rest = text[marker:].split("=", 1)[-1].strip()
    return rest[1:].split("'", 1)[0] if rest.startswith("'") else None


def run_action(runtime: Any, class_name: str, inputs: list[dict[str, Any]]) -> ActionOutcome:
    program = runtime.program
    cls, method = invocable_method(program, class_name)
    outcome = ActionOutcome(cls.name)
    tx = program.new_transaction()
    box: dict[str, Any] = {}

    def call() -> Any:
        args = []
        if method.params:
            _, ptype = method.params[0]
            args.append(convert(list(inputs), ptype, False, cls))
        value = program.invoke(method, None, args)
        box["json"] = serialize(value) if method.rtype is not None and method.rtype.name != "void" else None
        return value

    result = program.run_in(call, tx=tx, commit=True)
    if not result.success:
        outcome.error = ("UNKNOWN_EXCEPTION", f"{result.exception_type}: {result.exception_message}")
        return outcome
    if box.get("json") is None:
        outcome.outputs = [None] * len(inputs)
        return outcome
    values = json.loads(box["json"]) or []
    if len(values) != len(inputs):
        outcome.error = ("INVALID_OPERATION", f"the action returned {len(values)} results for {len(inputs)} inputs")
        return outcome
    outcome.outputs = [v if isinstance(v, dict) else {"output": v} for v in values]
    return outcome
