"""The flow interpreter: one ``Interview`` per run of a flow, element by element (the elements'
handlers are ``elements.py``).

An interview's ``run()`` is a generator: it yields a ``requests.Request`` whenever it needs the org (a
query, a DML statement, an Apex action) and gets the answer back, so ``driver.run_interviews`` can drive
many interviews of one flow together and serve the same element of all of them with one query, one DML
statement or one action call, as Salesforce bulkifies record-triggered flow interviews.
"""

from __future__ import annotations

import datetime as _dt
import uuid
from collections.abc import Generator
from decimal import Decimal
from typing import Any, Callable, Sequence

from localcloud.salesforce.formula import engine as formula_engine
from localcloud.salesforce.formula.errors import FormulaError
from localcloud.salesforce.formula.types import DESCRIBE_TYPES, Env, FType, SimpleField

from . import conditions
from .errors import FlowDefinitionError, FlowFault, FlowInputError, FlowUnhandledFault, FlowUnsupported
from .host import FlowHost
from .model import Element, FlowDef, Value, child, children, parse_value, text
from .requests import Run
from .values import Record, coerce

#: element kinds the engine does not run, and what Salesforce calls them
UNSUPPORTED_KINDS = {
    "screens": "Screen element", "waits": "Wait element: paused interviews",
    "apexPluginCalls": "Apex plug-in call", "collectionProcessors": "Collection Sort/Filter element",
    "recordRollbacks": "Roll Back Records element", "transforms": "Transform element",
    "orchestratedStages": "Orchestration stage", "steps": "Orchestration step",
}
SUPPORTED_PROCESS_TYPES = ("autolaunchedflow",)
#: element kind -> handler(interview, element): the next element's name, or a generator returning it;
#: filled by ``elements.py`` (the package imports it), so this module never imports the handlers
HANDLERS: dict[str, Callable[["Interview", Element], Any]] = {}
_DATA_TYPE_FTYPES = {"string": FType.TEXT, "number": FType.NUMBER, "currency": FType.NUMBER,
                     "boolean": FType.BOOLEAN, "date": FType.DATE, "datetime": FType.DATETIME,
                     "picklist": FType.TEXT, "multipicklist": FType.TEXT}


class _Scope:
    """The root a formula reads: the interview, or (``prior``) its record before the change."""

    __slots__ = ("interview", "prior")

    def __init__(self, interview: "Interview", prior: bool) -> None:
        self.interview, self.prior = interview, prior


class Interview:
    """One run of ``flow``. ``record``/``prior`` are ``$Record``/``$Record__Prior`` (record-triggered
    flows); ``before_save`` marks a before-save flow (it changes ``$Record`` in place, no DML)."""

    def __init__(self, flow: FlowDef, host: FlowHost, inputs: dict[str, Any] | None = None, *,
                 record: Record | None = None, prior: Record | None = None, before_save: bool = False,
                 depth: int = 0, now: _dt.datetime | None = None) -> None:
        self.flow, self.host = flow, host
        self.record, self.prior, self.before_save, self.depth = record, prior, before_save, depth
        self.values: dict[str, Any] = {}
        self.assigned: set[str] = set()
        self.outputs: dict[str, Any] = {}       # element name (lower) -> its automatic output
        self.visited: set[str] = set()
        self.loops: dict[str, list[Any]] = {}   # loop element (lower) -> [items, next index]
        self.fault_message: str | None = None
        self.record_errors: list[tuple[str, str | None]] = []
        self.guid = uuid.uuid4().hex
        self.now = now or _dt.datetime.now(_dt.timezone.utc)
        self.started = False
        for key, var in flow.variables.items():
            default = self._literal_or_ref(var.default, f"variable {var.name}") if var.default.kind != "none" else None
            self.values[key] = coerce(default, var.data_type, var.is_collection)
        for name, value in (inputs or {}).items():
            var = flow.variables.get(str(name).lower())
            if var is None or var.name != str(name):
                continue  # input names are case-sensitive; one matching no variable is ignored, as in Salesforce
            if not var.is_input:
                raise FlowInputError(f"Flow {flow.name} has no variable named {name} that is available for input")
            self.values[var.name.lower()] = coerce(value, var.data_type, var.is_collection)
            self.assigned.add(var.name.lower())

    # -- results --------------------------------------------------------------------------------
    def variable(self, name: str) -> Any:
        """A variable's value (None for a name the flow does not have)."""
        return self.values.get(str(name).lower())

    def output_values(self) -> dict[str, Any]:
        return {v.name: self.values.get(k) for k, v in self.flow.variables.items() if v.is_output}

    def where(self, element: Element | None = None) -> str:
        return f"Flow {self.flow.name}" + (f", element {element.name}" if element is not None else "")

    # -- running --------------------------------------------------------------------------------
    def run(self) -> Run:
        if self.flow.process_type.lower() not in SUPPORTED_PROCESS_TYPES:
            kind = "ScreenFlow (processType Flow)" if self.flow.process_type == "Flow" \
                else f"processType {self.flow.process_type}"
            raise FlowUnsupported(f"{kind} in {self.where()}")
        self.started = True
        current = self.flow.start.connector
        while current:
            element = self.flow.element(current)
            if element is None:
                raise FlowDefinitionError(f"{self.where()}: no element named {current}")
            self.host.tick()
            self.visited.add(element.name.lower())
            try:
                handler = HANDLERS.get(element.kind)
                if handler is None:
                    raise FlowUnsupported(f"{element.kind_label} ({UNSUPPORTED_KINDS.get(element.kind, element.kind)}) "
                                          f"in {self.where(element)}")
                result = handler(self, element)
                current = (yield from result) if isinstance(result, Generator) else result
            except FlowFault as fault:
                if element.fault_connector:
                    self.fault_message = fault.message
                    current = element.fault_connector
                    continue
                raise FlowUnhandledFault(self.flow.name, element.name, element.kind_label, fault.message) from None

    # -- values -----------------------------------------------------------------------------------
    def value(self, v: Value, where: str) -> Any:
        return self._literal_or_ref(v, where)

    def _literal_or_ref(self, v: Value, where: str) -> Any:
        if v.kind == "ref":
            return self.resolve(v.ref or "", where)
        if v.kind == "unsupported":
            raise FlowUnsupported(f"the value kind {v.literal} in {where}")
        return v.literal

    def resolve(self, ref: str, where: str, prior: bool = False) -> Any:
        parts = [p for p in ref.strip().split(".") if p]
        if not parts:
            return None
        head, rest = parts[0], parts[1:]
        low = head.lower()
        if low == "$record":
            base: Any = self.prior if prior else self.record
        elif low == "$record__prior":
            base = self.prior
        elif low == "$flow":
            return self._flow_global(rest, where)
        elif low == "$globalconstant":
            return {"true": True, "false": False, "emptystring": ""}.get(rest[0].lower() if rest else "")
        elif low.startswith("$"):
            return self.host.global_value(head, rest)
        elif low in self.values:
            base = self.values[low]
        elif low in self.flow.constants:
            base = self._literal_or_ref(self.flow.constants[low].value, where)
            base = coerce(base, self.flow.constants[low].data_type)
        elif low in self.flow.formulas:
            base = self._formula(self.flow.formulas[low])
        elif low in self.flow.templates:
            base = self._template(self.flow.templates[low])
        elif low in self.outputs:
            base = self.outputs[low]
        elif low in self.flow.elements or _is_outcome(self.flow, low):
            base = None  # an element not run yet (or a decision outcome not taken)
        else:
            raise FlowDefinitionError(f"{where}: the flow has no resource named {head}")
        return self._walk(base, rest)

    def _walk(self, base: Any, path: Sequence[str]) -> Any:
        for i, name in enumerate(path):
            if base is None:
                return None
            if isinstance(base, Record):
                if base.has(name) or i == len(path) - 1:
                    base = base.get(name)
                else:
                    nested = base.get(name)
                    base = nested if isinstance(nested, Record) else self.host.parent(base, name)
            elif isinstance(base, dict):
                low = name.lower()
                base = next((v for k, v in base.items() if str(k).lower() == low), None)
            elif isinstance(base, list):
                return None
            else:
                base = self.host.get_member(base, name)
        return base

    def _flow_global(self, rest: Sequence[str], where: str) -> Any:
        name = rest[0].lower() if rest else ""
        if name == "currentdatetime":
            return self.now
        if name == "currentdate":
            return self.now.date()
        if name == "faultmessage":
            return self.fault_message
        if name == "interviewguid":
            return self.guid
        if name == "interviewstarttime":
            return self.now
        if name == "currentrecord":
            return self.values.get("recordid")
        raise FlowUnsupported(f"$Flow.{rest[0] if rest else ''} in {where}")

    def assign(self, ref: str, value: Any, where: str) -> None:
        parts = [p for p in ref.strip().split(".") if p]
        if not parts:
            raise FlowDefinitionError(f"{where}: an assignment without a target")
        head = parts[0].lower()
        if len(parts) == 1:
            var = self.flow.variables.get(head)
            if var is None:
                raise FlowDefinitionError(f"{where}: {parts[0]} is not a variable of the flow")
            if var.is_collection and isinstance(value, list):
                value = list(value)
            self.values[head] = coerce(value, var.data_type, var.is_collection)
            self.assigned.add(head)
            return
        target = self.resolve(".".join(parts[:-1]), where)
        var = self.flow.variables.get(head)
        if target is None and len(parts) == 2 and var is not None and var.data_type.lower() == "sobject" \
                and not var.is_collection:
            target = self.values[head] = Record(var.object_type, {})  # a record variable starts on first write
        if target is None:
            raise FlowFault(f"The flow tried to set {ref}, but {'.'.join(parts[:-1])} is null.")
        if isinstance(target, Record):
            target.put(parts[-1], value)
        else:
            self.host.set_member(target, parts[-1], value)
        self.assigned.add(head)

    # -- formulas and text templates -------------------------------------------------------------
    def _built(self, key: str, source: str, return_type: FType | None, template: bool) -> Any:
        built = self.flow.compiled.get(key)
        if built is None:
            try:
                built = formula_engine.build(source if template else strip_merge_fields(source),
                                             _Resolver(self.flow, self.host), return_type, template=template)
            except FormulaError as e:
                raise FlowFault(f"The formula {key} is not valid: {e}") from None
            self.flow.compiled[key] = built
        return built

    def _evaluate(self, built: Any, name: str) -> Any:
        env = Env(_Scope(self, False), _Scope(self, True) if self.prior is not None else None,
                  self.record is not None and self.prior is None, self.now, None)
        try:
            return built.evaluate_env(env)
        except FormulaError as e:
            raise FlowFault(f"The formula {name} could not be evaluated: {e}") from None

    def _formula(self, f: Any) -> Any:
        built = self._built(f.name.lower(), f.expression, _DATA_TYPE_FTYPES.get(f.data_type.lower()), False)
        value = self._evaluate(built, f.name)
        if isinstance(value, Decimal) and f.scale is not None:
            value = round(value, f.scale)
        return coerce(value, f.data_type)

    def _template(self, t: Any) -> str:
        built = self._built("template:" + t.name.lower(), t.text, None, True)
        return self._evaluate(built, t.name) or ""

    def merge(self, text_value: str, key: str) -> str:
        """Text with ``{!merge fields}`` (a custom error's message)."""
        if "{!" not in text_value:
            return text_value
        return self._evaluate(self._built(key, text_value, None, True), key) or ""

    # -- conditions -----------------------------------------------------------------------------
    def condition(self, node: Any, where: str) -> bool:
        left_ref = (text(node, "leftValueReference") or "").strip()
        operator = (text(node, "operator") or "").strip()
        right = self.value(parse_value(child(node, "rightValue")), where)
        low = operator.lower()
        if low == "ischanged":
            if self.prior is None:
                changed = False
            else:
                changed = not conditions.equal(self.resolve(left_ref, where), self.resolve(left_ref, where, prior=True))
            return changed == bool(right)
        if low == "wasvisited":
            return (left_ref.lower() in self.visited) == bool(right)
        if low == "wasset":
            return (left_ref.split(".")[0].lower() in self.assigned) == bool(right)
        if low == "wasselected":
            raise FlowUnsupported(f"WasSelected operator (choices of screen flows) in {where}")
        return conditions.compare(operator, self.resolve(left_ref, where), right, where)

    def conditions_met(self, node: Any, logic_tag: str, where: str) -> bool:
        conds = children(node, "conditions")
        return conditions.combine(text(node, logic_tag), [lambda c=c: self.condition(c, where) for c in conds], where)


def _is_outcome(flow: FlowDef, name: str) -> bool:
    for element in flow.elements.values():
        if element.kind == "decisions" and any((text(r, "name") or "").lower() == name
                                               for r in children(element.node, "rules")):
            return True
    return False


def strip_merge_fields(expression: str) -> str:
    """A flow formula writes references as ``{!var.Field}``; the formula language reads ``var.Field``.
    Merge fields inside string literals stay as written."""
    out, i, quote = [], 0, None
    while i < len(expression):
        c = expression[i]
        if quote:
            out.append(c)
            if c == "\\" and i + 1 < len(expression):
                out.append(expression[i + 1])
                i += 2
                continue
            if c == quote:
                quote = None
            i += 1
            continue
        if c in "\"'":
            quote = c
            out.append(c)
            i += 1
            continue
        if expression.startswith("{!", i):
            end = expression.find("}", i)
            if end > 0:
                out.append(expression[i + 2:end].strip())
                i = end + 1
                continue
        out.append(c)
        i += 1
    return "".join(out)


class _Resolver:
    """Types and reads a formula's references against the flow's resources."""

    def __init__(self, flow: FlowDef, host: FlowHost) -> None:
        self.flow, self.host = flow, host

    def resolve(self, path: tuple[str, ...]) -> SimpleField | None:
        head = path[0].lower()
        ref = ".".join(path)
        ftype: FType | None = None
        sobject: str | None = None
        if head in ("$record", "$record__prior"):
            sobject = self.flow.start.object
        elif head == "$flow":
            ftype = {"currentdate": FType.DATE, "currentdatetime": FType.DATETIME,
                     "interviewstarttime": FType.DATETIME}.get(path[1].lower() if len(path) > 1 else "", FType.TEXT)
        elif head == "$user":
            sobject = "User"
        elif head.startswith("$"):
            ftype = FType.ANY
        elif head in self.flow.variables:
            var = self.flow.variables[head]
            if var.is_collection:
                ftype = FType.ANY
            elif var.data_type.lower() == "sobject":
                sobject = var.object_type
            else:
                ftype = _DATA_TYPE_FTYPES.get(var.data_type.lower(), FType.ANY)
        elif head in self.flow.constants:
            ftype = _DATA_TYPE_FTYPES.get(self.flow.constants[head].data_type.lower(), FType.ANY)
        elif head in self.flow.formulas:
            ftype = _DATA_TYPE_FTYPES.get(self.flow.formulas[head].data_type.lower(), FType.ANY)
        elif head in self.flow.templates:
            ftype = FType.TEXT
        elif head in self.flow.elements or _is_outcome(self.flow, head):
            ftype = FType.ANY
        else:
            return None
        if ftype is None:
            if len(path) == 1:
                ftype = FType.ANY
            elif len(path) == 2 and sobject:
                ftype = DESCRIBE_TYPES.get(self.host.field_type(sobject, path[1]) or "", FType.ANY)
            else:
                ftype = FType.ANY
        elif len(path) > 1 and ftype is not FType.ANY:
            return None
        if ftype is FType.TEXT and len(path) == 1 and head in self.flow.variables \
                and self.flow.variables[head].data_type.lower() in ("picklist", "multipicklist"):
            ftype = FType.TEXT

        def read(root: Any) -> Any:
            if not isinstance(root, _Scope):
                return None
            return root.interview.resolve(ref, f"formula reference {ref}", prior=root.prior)
        return SimpleField(ftype, read)
