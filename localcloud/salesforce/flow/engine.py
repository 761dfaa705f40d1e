"""The flow interpreter: one ``Interview`` per run of a flow, driven element by element.

An interview's ``run()`` is a generator: it yields a ``Request`` whenever it needs the org (a query, a
DML statement, an Apex action) and gets the answer back, so ``run_interviews`` can drive many interviews
of one flow together and serve the same element of all of them with one query, one DML statement or one
action call, as Salesforce bulkifies record-triggered flow interviews.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from collections.abc import Generator
from typing import Any, Callable, Iterable, Sequence

from localcloud.salesforce.formula import engine as formula_engine
from localcloud.salesforce.formula.errors import FormulaError
from localcloud.salesforce.formula.types import DESCRIBE_TYPES, Env, FType, SimpleField

from . import conditions
from .errors import FlowDefinitionError, FlowFault, FlowInputError, FlowUnhandledFault, FlowUnsupported
from .host import FlowHost
from .model import (Element, FlowDef, Value, child, children, connector_target, flag, parse_filters, parse_value,
                    text)
from .values import Record, coerce, format_value, is_blank

MAX_SUBFLOW_DEPTH = 50
#: element kinds the engine does not run, and what Salesforce calls them
UNSUPPORTED_KINDS = {
    "screens": "Screen element", "waits": "Wait element: paused interviews",
    "apexPluginCalls": "Apex plug-in call", "collectionProcessors": "Collection Sort/Filter element",
    "recordRollbacks": "Roll Back Records element", "transforms": "Transform element",
    "orchestratedStages": "Orchestration stage", "steps": "Orchestration step",
}
SUPPORTED_PROCESS_TYPES = ("autolaunchedflow",)
_DATA_TYPE_FTYPES = {"string": FType.TEXT, "number": FType.NUMBER, "currency": FType.NUMBER,
                     "boolean": FType.BOOLEAN, "date": FType.DATE, "datetime": FType.DATETIME,
                     "picklist": FType.TEXT, "multipicklist": FType.TEXT}


@dataclass
class Request:
    """What an interview asks the org for. ``kind``: query, create, update, delete, apex."""

    kind: str
    element: str
    payload: Any
    sobject: str | None = None

    def group_key(self) -> tuple:
        if self.kind == "query":
            return ("query", self.element, self.payload.sobject.lower(), self.payload.select)
        if self.kind == "apex":
            return ("apex", self.element, self.payload[0].lower())
        return (self.kind, self.element, (self.sobject or "").lower())


Run = Generator[Request, Any, Any]


@dataclass
class LookupQuery:
    """A Get Records (or the query behind an Update/Delete Records by filters): its SOQL and, so the same
    element of several interviews can share one query, its filters as values."""

    sobject: str
    select: str
    where: str
    filters: list[tuple[str, str, Any]]
    logic: str | None
    context: str
    order: tuple[str, bool] | None = None  # (field, descending)
    limit: int | None = None

    @property
    def soql(self) -> str:
        soql = f"SELECT {self.select} FROM {self.sobject}"
        if self.where:
            soql += f" WHERE {self.where}"
        if self.order:
            soql += f" ORDER BY {self.order[0]} {'DESC' if self.order[1] else 'ASC'}"
        if self.limit is not None:
            soql += f" LIMIT {self.limit}"
        return soql


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
                handler = _HANDLERS.get(element.kind)
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


_MERGE = re.compile(r"\{!([^}]*)\}")


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


# -- element handlers ------------------------------------------------------------------------------
def _assignment(iv: Interview, el: Element) -> str | None:
    where = iv.where(el)
    for item in children(el.node, "assignmentItems"):
        ref = (text(item, "assignToReference") or "").strip()
        operator = (text(item, "operator") or "Assign").strip()
        value = iv.value(parse_value(child(item, "value")), where)
        apply_operator(iv, ref, operator, value, where)
    return el.connector


def apply_operator(iv: Interview, ref: str, operator: str, value: Any, where: str) -> None:
    op = operator.lower()
    if op == "assign":
        iv.assign(ref, value, where)
        return
    current = iv.resolve(ref, where)
    var = iv.flow.variables.get(ref.split(".")[0].lower())
    is_list = isinstance(current, list) or (var is not None and var.is_collection and "." not in ref)
    items = value if isinstance(value, list) else [value]
    if is_list:
        current = list(current or [])
        if op in ("add", "additem"):
            current.extend(items if op == "add" else [value])
        elif op == "addatstart":
            current[:0] = items
        elif op in ("subtract", "removeall"):
            current = [x for x in current if not any(conditions.equal(x, y) for y in items)]
        elif op == "removefirst":
            for i, x in enumerate(current):
                if conditions.equal(x, value):
                    del current[i]
                    break
        elif op == "removeafterfirst":
            idx = next((i for i, x in enumerate(current) if conditions.equal(x, value)), None)
            if idx is not None:
                current = current[:idx + 1]
        elif op == "removebeforefirst":
            idx = next((i for i, x in enumerate(current) if conditions.equal(x, value)), None)
            if idx is not None:
                current = current[idx:]
        elif op == "removeposition":
            pos = int(value or 0)
            if 1 <= pos <= len(current):
                del current[pos - 1]
        elif op == "removeuncommon":
            current = [x for x in current if any(conditions.equal(x, y) for y in items)]
        elif op == "assigncount":
            iv.assign(ref, Decimal(len(value or [])), where)
            return
        else:
            raise FlowUnsupported(f"the assignment operator {operator} on a collection in {where}")
        iv.assign(ref, current, where)
        return
    if op == "assigncount":
        iv.assign(ref, Decimal(len(value or []) if isinstance(value, list) else (0 if value is None else 1)), where)
        return
    if op in ("add", "subtract"):
        sign = 1 if op == "add" else -1
        if isinstance(current, str) or (var is not None and var.data_type.lower() in ("string", "picklist")
                                        and "." not in ref):
            if op == "subtract":
                raise FlowFault(f"{where}: Subtract does not apply to text")
            iv.assign(ref, (current or "") + format_value(value), where)
            return
        if isinstance(current, _dt.datetime):
            iv.assign(ref, current + _dt.timedelta(days=float(value or 0)) * sign, where)
            return
        if isinstance(current, _dt.date):
            iv.assign(ref, current + _dt.timedelta(days=int(value or 0)) * sign, where)
            return
        base = coerce(current, "Number") if current is not None else Decimal(0)
        delta = coerce(value, "Number") if value is not None else Decimal(0)
        iv.assign(ref, base + delta * sign, where)
        return
    raise FlowUnsupported(f"the assignment operator {operator} in {where}")


def _decision(iv: Interview, el: Element) -> str | None:
    where = iv.where(el)
    chosen = None
    for rule in children(el.node, "rules"):
        name = (text(rule, "name") or "").lower()
        met = chosen is None and iv.conditions_met(rule, "conditionLogic", f"{where}, outcome {name}")
        iv.outputs[name] = bool(met)
        if met:
            chosen = connector_target(rule)
            if chosen is None:
                return None
    if chosen is not None:
        return chosen
    return connector_target(el.node, "defaultConnector")


def _loop(iv: Interview, el: Element) -> str | None:
    key = el.name.lower()
    state = iv.loops.get(key)
    if state is None:
        collection = iv.resolve((text(el.node, "collectionReference") or "").strip(), iv.where(el)) or []
        items = list(collection)
        if (text(el.node, "iterationOrder") or "Asc").strip().lower() == "desc":
            items.reverse()
        state = iv.loops[key] = [items, 0]
    items, index = state
    if index < len(items):
        item = items[index]
        state[1] = index + 1
        target = (text(el.node, "assignNextValueToReference") or "").strip()
        if target:
            iv.assign(target, item, iv.where(el))
        iv.outputs[key] = item
        return connector_target(el.node, "nextValueConnector")
    del iv.loops[key]
    iv.outputs.pop(key, None)
    return connector_target(el.node, "noMoreValuesConnector")


def _filters_where(iv: Interview, el: Element, sobject: str) -> str:
    return _lookup_query(iv, el, sobject, ["Id"]).where


def _lookup_query(iv: Interview, el: Element, sobject: str, fields: Iterable[str]) -> "LookupQuery":
    where = iv.where(el)
    filters = [(f.field, f.operator, iv.value(f.value, where)) for f in parse_filters(el.node)]
    logic = text(el.node, "filterLogic")
    conds = [conditions.soql_condition(field, op, value, where) for field, op, value in filters]
    return LookupQuery(sobject, _select(fields), conditions.soql_where(logic, conds, where), filters, logic, where)


def _select(fields: Iterable[str]) -> str:
    seen: dict[str, str] = {"id": "Id"}
    for f in fields:
        f = f.strip()
        if f and f.lower() not in seen:
            seen[f.lower()] = f
    return ", ".join(seen.values())


def _lookup(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    sobject = (text(node, "object") or "").strip()
    if not sobject:
        raise FlowDefinitionError(f"{where}: Get Records without an <object>")
    auto = flag(node, "storeOutputAutomatically")
    first_only = flag(node, "getFirstRecordOnly")
    assignments = children(node, "outputAssignments")
    fields = [f.text or "" for f in children(node, "queriedFields")]
    fields += [(text(a, "field") or "") for a in assignments]
    if auto and not children(node, "queriedFields"):
        fields += iv.host.all_fields(sobject)
    query = _lookup_query(iv, el, sobject, fields)
    sort_field = (text(node, "sortField") or "").strip()
    sort_order = (text(node, "sortOrder") or "").strip().lower()
    if sort_field and sort_order in ("asc", "desc"):
        query.order = (sort_field, sort_order == "desc")
    if first_only:
        query.limit = 1
    elif (text(node, "limit") or "").strip().isdigit():
        query.limit = int(text(node, "limit") or 0)
    rows: list[Record] = yield Request("query", el.name, query, sobject)
    result: Any = (rows[0] if rows else None) if first_only else rows
    if auto:
        iv.outputs[el.name.lower()] = result if first_only else (rows or None)
    output_ref = (text(node, "outputReference") or "").strip()
    if output_ref and (rows or not first_only or flag(node, "assignNullValuesIfNoRecordsFound")):
        iv.assign(output_ref, result, where)
    if assignments:
        first = rows[0] if rows else None
        if first is not None or flag(node, "assignNullValuesIfNoRecordsFound"):
            for a in assignments:
                iv.assign((text(a, "assignToReference") or "").strip(),
                          first.get((text(a, "field") or "").strip()) if first is not None else None, where)
    return el.connector


def _records_of(value: Any, where: str) -> list[Record]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    for r in items:
        if not isinstance(r, Record):
            raise FlowFault(f"{where}: {r!r} is not a record")
    return items


def _input_assignments(iv: Interview, el: Element, record: Record) -> None:
    where = iv.where(el)
    for a in children(el.node, "inputAssignments"):
        record.put((text(a, "field") or "").strip(), iv.value(parse_value(child(a, "value")), where))


def _create(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    ref = (text(node, "inputReference") or "").strip()
    if ref:
        records = _records_of(iv.resolve(ref, where), where)
        sobject = records[0].sobject if records else None
    else:
        sobject = (text(node, "object") or "").strip()
        record = Record(sobject, {})
        _input_assignments(iv, el, record)
        records = [record]
    if records:
        yield Request("create", el.name, records, sobject)
    if not ref:
        new_id = records[0].get("Id")
        id_ref = (text(node, "assignRecordIdToReference") or "").strip()
        if id_ref:
            iv.assign(id_ref, new_id, where)
        if flag(node, "storeOutputAutomatically"):
            iv.outputs[el.name.lower()] = new_id
    return el.connector


def _matching(iv: Interview, el: Element, sobject: str) -> Run:
    rows = yield Request("query", el.name, _lookup_query(iv, el, sobject, ["Id"]), sobject)
    return rows


def _update(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    ref = (text(node, "inputReference") or "").strip()
    has_assignments = bool(children(node, "inputAssignments"))
    if ref.lower() == "$record" and iv.before_save:
        if iv.record is not None:  # a before-save flow changes the triggering record itself: no DML
            _input_assignments(iv, el, iv.record)
        return el.connector
    if ref:
        records = _records_of(iv.resolve(ref, where), where)
        if has_assignments:
            if ref.lower() == "$record" and parse_filters(node):
                conds_ok = _record_matches(iv, el, records[0]) if records else False
                if not conds_ok:
                    return el.connector
            changed = []
            for r in records:
                row = Record(r.sobject, {"Id": r.get("Id")})
                _input_assignments(iv, el, row)
                changed.append(row)
            records = changed
    else:
        sobject = (text(node, "object") or "").strip()
        found = yield from _matching(iv, el, sobject)
        records = []
        for r in found:
            row = Record(sobject, {"Id": r.get("Id")})
            _input_assignments(iv, el, row)
            records.append(row)
    if records:
        yield Request("update", el.name, records, records[0].sobject)
    return el.connector


def _record_matches(iv: Interview, el: Element, record: Record) -> bool:
    where = iv.where(el)
    checks = [lambda f=f: conditions.compare(f.operator, record.get(f.field), iv.value(f.value, where), where)
              for f in parse_filters(el.node)]
    return conditions.combine(text(el.node, "filterLogic"), checks, where)


def _delete(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    ref = (text(node, "inputReference") or "").strip()
    if ref:
        records = _records_of(iv.resolve(ref, where), where)
    else:
        records = yield from _matching(iv, el, (text(node, "object") or "").strip())
    if records:
        yield Request("delete", el.name, [Record(r.sobject, {"Id": r.get("Id")}) for r in records],
                      records[0].sobject)
    return el.connector


def _action(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    action_type = (text(node, "actionType") or "").strip()
    action_name = (text(node, "actionName") or "").strip()
    if action_type.lower() != "apex":
        raise FlowUnsupported(f"FlowActionCall of actionType {action_type or 'unknown'} ({action_name}; only apex "
                              f"actions run) in {where}")
    params = {(text(p, "name") or "").strip(): iv.value(parse_value(child(p, "value")), where)
              for p in children(node, "inputParameters")}
    outputs: dict[str, Any] = yield Request("apex", el.name, (action_name, params))
    outputs = outputs or {}
    if flag(node, "storeOutputAutomatically"):
        iv.outputs[el.name.lower()] = outputs
    for p in children(node, "outputParameters"):
        name = (text(p, "name") or "").strip().lower()
        value = next((v for k, v in outputs.items() if k.lower() == name), None)
        iv.assign((text(p, "assignToReference") or "").strip(), value, where)
    return el.connector


def _subflow(iv: Interview, el: Element) -> Run:
    node, where = el.node, iv.where(el)
    name = (text(node, "flowName") or "").strip()
    flow = iv.host.load_flow(name)
    if flow is None:
        raise FlowFault(f"{where}: the subflow {name} does not exist in this org")
    if iv.depth >= MAX_SUBFLOW_DEPTH:
        raise FlowFault(f"{where}: subflows are nested more than {MAX_SUBFLOW_DEPTH} deep")
    inputs = {(text(a, "name") or "").strip(): iv.value(parse_value(child(a, "value")), where)
              for a in children(node, "inputAssignments")}
    try:
        sub = Interview(flow, iv.host, inputs, depth=iv.depth + 1, now=iv.now)
    except FlowInputError as e:
        raise FlowFault(str(e)) from None
    yield from sub.run()
    if flag(node, "storeOutputAutomatically"):
        iv.outputs[el.name.lower()] = sub.output_values()
    for a in children(node, "outputAssignments"):
        var = sub.flow.variables.get((text(a, "name") or "").strip().lower())
        value = sub.values.get(var.name.lower()) if var is not None and var.is_output else None
        iv.assign((text(a, "assignToReference") or "").strip(), value, where)
    return el.connector


def _custom_error(iv: Interview, el: Element) -> str | None:
    where = iv.where(el)
    messages = []
    for i, m in enumerate(children(el.node, "customErrorMessages")):
        message = iv.merge(text(m, "errorMessage") or "", f"{el.name}:{i}")
        field = (text(m, "fieldSelection") or "").strip() if flag(m, "isFieldError") else None
        messages.append((message, field or None))
    if iv.record is None:
        raise FlowFault("; ".join(m for m, _ in messages) or f"{where}: custom error")
    iv.record_errors.extend(messages)
    return el.connector


_HANDLERS: dict[str, Callable[[Interview, Element], Any]] = {
    "assignments": _assignment, "decisions": _decision, "loops": _loop, "recordLookups": _lookup,
    "recordCreates": _create, "recordUpdates": _update, "recordDeletes": _delete, "actionCalls": _action,
    "subflows": _subflow, "customErrors": _custom_error,
}


# -- driving interviews ----------------------------------------------------------------------------
def _dedupe(records: list[Record]) -> list[Record]:
    """Two interviews updating one record: one row, the later values winning (no duplicate Id)."""
    by_id: dict[str, Record] = {}
    out: list[Record] = []
    for r in records:
        rid = str(r.get("Id") or "")
        if rid and rid in by_id:
            by_id[rid].data.update(r.data)
            by_id[rid]._keys.update({k.lower(): k for k in r.data})
            continue
        if rid:
            by_id[rid] = Record(r.sobject, dict(r.data))
            out.append(by_id[rid])
        else:
            out.append(r)
    return out


def _serve(host: FlowHost, requests: list[Request]) -> list[Any]:
    first = requests[0]
    if first.kind == "query":
        return _serve_queries(host, [r.payload for r in requests])
    if first.kind == "apex":
        outputs = host.call_apex(first.payload[0], [r.payload[1] for r in requests])
        return list(outputs)
    records = [rec for r in requests for rec in r.payload]
    if first.kind == "create":
        host.create(records)
    elif first.kind == "update":
        host.update(_dedupe(records))
    elif first.kind == "delete":
        host.delete(_dedupe(records))
    return [None for _ in requests]


def _serve_queries(host: FlowHost, queries: list[LookupQuery]) -> list[list[Record]]:
    """The same Get Records element of several interviews: one query when their SOQL is the same; else one
    query for all of them (their filters OR-ed, as Salesforce bulkifies it) whose rows are shared out by
    each interview's own filters, order and limit; else (a filter the engine cannot apply itself) a query
    for each distinct SOQL."""
    texts = [q.soql for q in queries]
    if len(set(texts)) == 1:
        rows = host.query(texts[0], queries[0].sobject)
        return [[r.copy() for r in rows] for _ in queries]
    if all(q.where and conditions.matchable(q.filters) for q in queries):
        first = queries[0]
        fields = [first.select] + [f for q in queries for f, _, _ in q.filters] + \
                 [q.order[0] for q in queries if q.order]
        where = " OR ".join(f"({w})" for w in dict.fromkeys(q.where for q in queries))
        rows = host.query(f"SELECT {_select(', '.join(fields).split(','))} FROM {first.sobject} WHERE {where}",
                          first.sobject)
        kept = [f.strip().lower() for f in first.select.split(",")]
        out = []
        for q in queries:
            types = {f.lower(): host.field_type(q.sobject, f) for f, _, _ in q.filters}
            mine = [r for r in rows if conditions.combine(
                q.logic, [lambda r=r, f=f: conditions.row_matches(r.get(f[0]), f[1], f[2], types.get(f[0].lower()))
                          for f in q.filters], q.context)]
            if q.order:
                mine = conditions.soql_sorted(mine, q.order[0], q.order[1])
            if q.limit is not None:
                mine = mine[:q.limit]
            out.append([Record(r.sobject, {k: v for k, v in r.data.items() if k.lower() in kept}) for r in mine])
        return out
    answers: dict[str, list[Record]] = {}
    for q in queries:
        if q.soql not in answers:
            answers[q.soql] = host.query(q.soql, q.sobject)
    return [[r.copy() for r in answers[q.soql]] for q in queries]


def run_interviews(interviews: Sequence[Interview]) -> dict[int, FlowUnhandledFault]:
    """Run the interviews to their ends together; the same element of several interviews is served by
    one query, DML statement or action call. Answers the interviews that stopped on an unhandled fault
    (by index). ``FlowUnsupported``, definition errors and the host's own exceptions (limits) propagate."""
    if not interviews:
        return {}
    host = interviews[0].host
    running: dict[int, Run] = {i: iv.run() for i, iv in enumerate(interviews)}
    answers: dict[int, Any] = {}
    faults: dict[int, FlowFault] = {}
    failed: dict[int, FlowUnhandledFault] = {}
    while running:
        requests: dict[int, Request] = {}
        for i in list(running):
            gen = running[i]
            try:
                requests[i] = gen.throw(faults.pop(i)) if i in faults else gen.send(answers.pop(i, None))
            except StopIteration:
                del running[i]
            except FlowUnhandledFault as stop:
                failed[i] = stop
                del running[i]
        groups: dict[tuple, list[int]] = {}
        for i, request in requests.items():
            groups.setdefault(request.group_key(), []).append(i)
        for members in groups.values():
            try:
                for i, answer in zip(members, _serve(host, [requests[i] for i in members])):
                    answers[i] = answer
            except FlowFault as fault:
                for i in members:
                    faults[i] = FlowFault(fault.message)
    return failed


def start(interview: Interview) -> None:
    """Run one interview (``Flow.Interview.start()``); an unhandled fault raises ``FlowUnhandledFault``."""
    failed = run_interviews([interview])
    if failed:
        raise failed[0]
