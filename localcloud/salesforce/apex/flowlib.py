"""Flows from Apex: ``Flow.Interview``, ``Invocable.Action`` of type flow, and record-triggered flows.

The flow engine is ``localcloud.salesforce.flow`` (it imports nothing of this package); this library is
its host (``ApexFlowHost``): its queries go through the Apex SOQL path and its DML through Apex DML, in the
calling transaction, so they count toward the transaction's governor limits and run triggers, validation
and other flows; its Apex actions are ``invocablelib``'s calls of an ``@InvocableMethod``.

* ``Flow.Interview.createInterview([namespace,] name, inputs)`` and ``new Flow.Interview.<Name>(inputs)``
  build an interview of a deployed flow (its active version; a flow with no active version runs its
  latest, as Salesforce runs it for the administrators who deploy it); ``start()`` runs it;
  ``getVariableValue(name)`` and ``interview.<variable>`` read a variable.
* An unhandled fault throws ``System.FlowException`` ``An error occurred at element <Name> (<Kind>).``
  followed by the element's error; a construct the engine does not run throws
  ``System.UnexpectedException: <construct> is not supported by the local org``.
* ``record_flows`` (the ``record_flows`` hook): the active record-triggered flows of a DML event, which
  ``triggers.ApexTriggerHook`` runs before the before triggers (before-save) and after the after triggers
  (after-save).

Deployed flows come from ``dataport.org_source(store, "flow_definitions")`` (a callable answering
``{name: flow XML}``; the org registers its metadata repository's Flow components, scratch test stores
inherit it).
"""

from __future__ import annotations

import weakref
from decimal import Decimal
from typing import Any, Callable, Sequence

from localcloud.salesforce.flow import (FlowDef, FlowDefinitionError, FlowFault, FlowInputError, FlowUnhandledFault,
                                        FlowUnsupported, Interview, Record, parse_flow, run_record_triggered, start,
                                        triggered_flows)

from . import invocablelib, ops
from .dataport import org_source
from .soql import execute as soql_execute
from .stdlib import STATIC_METHODS, Native
from .tables import HOOKS, TYPE_FAMILIES, provide
from .values import ApexList, ApexMap, ApexObject, ApexSet, IdValue, SObject, TypeRef, is_valid_id

#: store -> (the source's last answer, {lower name: FlowDef}); parsed once per deploy
_PARSED: "weakref.WeakKeyDictionary[Any, tuple[Any, dict[str, FlowDef]]]" = weakref.WeakKeyDictionary()
_FAULT_VERB = {"insert": "create", "update": "update", "delete": "delete"}


def org_flows(prog: Any) -> dict[str, FlowDef]:
    """The org's deployed flows by lower-case name (empty without a registered source)."""
    store = getattr(prog, "data", None)
    source = org_source(store, "flow_definitions")
    if source is None:
        return {}
    bodies = source()
    cached = _PARSED.get(store)
    if cached is not None and cached[0] is bodies:
        return cached[1]
    flows: dict[str, FlowDef] = {}
    for name, body in dict(bodies).items():
        try:
            flows[str(name).lower()] = parse_flow(str(name), body)
        except FlowDefinitionError:
            continue  # a flow the engine cannot read fails when something runs it (not found)
    _PARSED[store] = (bodies, flows)
    return flows


def _unsupported(what: str) -> None:
    ops.throw("System.UnexpectedException", str(what) if str(what).endswith("local org")
              else f"{what} is not supported by the local org")


# -- values between Apex and the engine -------------------------------------------------------------
def to_flow(v: Any) -> Any:
    if isinstance(v, SObject):
        return Record(v.type_name, {v.names.get(low, low): to_flow(x) for low, x in v.fields.items()})
    if isinstance(v, ApexList):
        return [to_flow(x) for x in v]
    if isinstance(v, ApexSet):
        return [to_flow(x) for x in v.d]
    if isinstance(v, bool) or v is None:
        return v
    if type(v) is IdValue:
        return str(v)
    if isinstance(v, int):
        return Decimal(int(v))
    if isinstance(v, float):
        return Decimal(repr(v))
    return v


def to_apex(prog: Any, v: Any, element: TypeRef | None = None) -> Any:
    if isinstance(v, Record):
        return _sobject(prog, v)
    if isinstance(v, list):
        return ApexList([to_apex(prog, x) for x in v], element or TypeRef("Object"))
    return v


def _sobject(prog: Any, record: Record) -> SObject:
    name = prog.sobject_name(record.sobject or "")
    so = SObject(name)
    od = _object_def(prog, name)
    for key, value in record.data.items():
        fd = od.find_field(key) if od is not None else None
        canonical = fd.name if fd is not None else (prog.sobject_field_name(name, key) or key)
        if isinstance(value, Record):
            so.put(canonical, _sobject(prog, value))
            continue
        if fd is not None and fd.type in ("id", "reference") and isinstance(value, str) and is_valid_id(value):
            value = IdValue(value)
        elif fd is not None and fd.type == "int" and isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        elif fd is not None and fd.type == "double" and isinstance(value, Decimal):
            value = float(value)
        so.put(canonical, value)
    return so


def _object_def(prog: Any, name: str) -> Any:
    data = getattr(prog, "data", None)
    schema = getattr(data, "schema", None)
    if schema is None:
        return None
    try:
        return schema.find(name)
    except Exception:  # noqa: BLE001 - an unknown object
        return None


def _variable_type(var: Any) -> TypeRef:
    t = var.data_type.lower()
    if t == "sobject":
        return TypeRef(var.object_type or "SObject")
    if t == "apex":
        return TypeRef(var.apex_class or "Object")
    return TypeRef({"number": "Decimal", "currency": "Decimal", "boolean": "Boolean", "date": "Date",
                    "datetime": "Datetime", "string": "String", "picklist": "String",
                    "multipicklist": "String"}.get(t, "Object"))


def variable_to_apex(prog: Any, interview: Interview, name: str) -> Any:
    var = interview.flow.variables.get(str(name).lower())
    if var is None:
        return None
    value = interview.values.get(var.name.lower())
    if var.is_collection:
        return to_apex(prog, value or [], _variable_type(var))
    return to_apex(prog, value)


# -- the host ----------------------------------------------------------------------------------------
class ApexFlowHost:
    """``flow.FlowHost`` on the running Apex transaction."""

    def __init__(self, prog: Any) -> None:
        self.prog = prog

    def load_flow(self, name: str) -> FlowDef | None:
        return org_flows(self.prog).get(name.lower())

    def query(self, soql: str, sobject: str) -> list[Record]:
        try:
            rows = soql_execute(self.prog, soql, {}, sobject, False, False)
        except ops.ApexThrown as e:
            if e.obj.cls.name != "System.QueryException":
                raise
            raise FlowFault(f"This error occurred when the flow tried to look up records: "
                            f"{e.obj.fields.get('__message')}") from None
        return [to_flow(r) for r in rows]

    def _dml(self, op: str, records: Sequence[Record]) -> list[SObject]:
        sobjects = [_sobject(self.prog, r) for r in records]
        try:
            HOOKS.dml_statement(self.prog, op, ApexList(sobjects, TypeRef("SObject")), None, False)
        except ops.ApexThrown as e:
            obj = e.obj
            if obj.cls.name != "System.DmlException":
                raise
            rows = obj.fields.get("__dml") or []
            detail = (f"{rows[0].status_code}: {rows[0].message}" if rows else str(obj.fields.get("__message")))
            raise FlowFault(f"This error occurred when the flow tried to {_FAULT_VERB[op]} records: {detail}. "
                            f"You can look up ExceptionCode values in the SOAP API Developer Guide.") from None
        return sobjects

    def create(self, records: Sequence[Record]) -> None:
        for record, so in zip(records, self._dml("insert", records)):
            new_id = so.fields.get("id")
            record.put("Id", str(new_id) if new_id is not None else None)

    def update(self, records: Sequence[Record]) -> None:
        self._dml("update", records)

    def delete(self, records: Sequence[Record]) -> None:
        self._dml("delete", records)

    def call_apex(self, action: str, invocations: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        runner = invocablelib.InvocableAction("apex", None, action)
        runner.invocations = [ApexMap(((k, to_apex(self.prog, v)) for k, v in params.items()),
                                      TypeRef("String"), TypeRef("Object")) for params in invocations]
        results = runner.m_invoke([])
        out = []
        for result in results:
            if not result.success:
                error = result.errors[0] if result.errors else None
                message = error.message if error is not None else "the action failed"
                if error is not None and error.code == invocablelib.NOT_FOUND_CODE:
                    raise FlowFault(message)
                raise FlowFault(f"An Apex error occurred: {message}")
            out.append({str(k): to_flow(v) for k, v in (result.outputs or {}).items()})
        return out

    def global_value(self, name: str, path: Sequence[str]) -> Any:
        from . import formulalib
        head = name.lower()
        full = (name, *path)
        if head in formulalib._GLOBAL_ROWS and len(path) == 1:
            field = formulalib._setup_row_field(formulalib._GLOBAL_ROWS[head][1], full)
        elif head == "$label" and len(path) == 1:
            field = formulalib._label_field(path[0])
        elif head == "$setup":
            field = formulalib._settings_field(head, full)
        elif head == "$permission" and len(path) == 1:
            return bool(STATIC_METHODS[("featuremanagement", "checkpermission")]([path[0]]))
        elif head == "$system" and len(path) == 1 and path[0].lower() == "origindatetime":
            return formulalib.ORIGIN
        else:
            raise FlowUnsupported(f"the global variable {'.'.join(full)} in flows")
        if field is None:
            raise FlowFault(f"{'.'.join(full)} does not exist")
        return to_flow(field.read(None))

    def all_fields(self, sobject: str) -> list[str]:
        od = _object_def(self.prog, sobject)
        if od is None:
            return []
        return [fd.name for fd in od.fields.values() if fd.type not in ("address", "location")]

    def field_type(self, sobject: str, field: str) -> str | None:
        od = _object_def(self.prog, sobject)
        fd = od.find_field(field) if od is not None else None
        return fd.type if fd is not None else None

    def parent(self, record: Record, relationship: str) -> Record | None:
        od = _object_def(self.prog, record.sobject or "")
        rel = od.relationship(relationship) if od is not None else None
        if rel is None or not rel.reference_to:
            return None
        parent_id = record.get(rel.name)
        if not parent_id:
            return None
        target = self.prog.schema_name_for_id(parent_id) or rel.reference_to[0]
        fields = ", ".join(self.all_fields(target)) or "Id"
        rows = self.query(f"SELECT {fields} FROM {target} WHERE Id = '{parent_id}'", target)
        return rows[0] if rows else None

    def get_member(self, obj: Any, name: str) -> Any:
        if isinstance(obj, ApexObject):
            return to_flow(obj.fields.get(name.lower()))
        if isinstance(obj, Native):
            return to_flow(obj.apex_get(name.lower()))
        if isinstance(obj, ApexMap):
            low = name.lower()
            return to_flow(next((v for k, v in obj.items() if str(k).lower() == low), None))
        return None

    def set_member(self, obj: Any, name: str, value: Any) -> None:
        if isinstance(obj, ApexObject):
            obj.fields[name.lower()] = to_apex(self.prog, value)
            return
        raise FlowFault(f"cannot set {name} on {type(obj).__name__}")

    def tick(self) -> None:
        self.prog.tx.check_cpu()


def _rethrow(error: Exception) -> None:
    """The engine's errors as Apex exceptions."""
    if isinstance(error, FlowUnsupported):
        _unsupported(str(error))
    if isinstance(error, FlowUnhandledFault):
        ops.throw("System.FlowException", error.message)
    if isinstance(error, FlowInputError):
        ops.throw("System.FlowException", str(error))
    if isinstance(error, (FlowDefinitionError, FlowFault)):
        ops.throw("System.FlowException", str(error))
    raise error


# -- Flow.Interview ----------------------------------------------------------------------------------
class FlowInterview(Native):
    """``Flow.Interview`` (and ``Flow.Interview.<Name>``): one interview of a deployed flow."""

    apex_type = "Flow.Interview"

    def __init__(self, flow: FlowDef, inputs: Any) -> None:
        self.flow = flow
        self.apex_type = f"Flow.Interview.{flow.name}"
        prog = ops.CURRENT.prog
        values = {}
        if inputs is not None:
            if not isinstance(inputs, ApexMap):
                ops.throw("System.TypeException", "Flow inputs must be a Map<String, Object>")
            values = {str(k): to_flow(v) for k, v in inputs.items()}
        try:
            self.interview = Interview(flow, ApexFlowHost(prog), values)
        except Exception as e:  # noqa: BLE001 - the engine's errors become Apex exceptions
            _rethrow(e)

    def m_start(self, a):
        if self.interview.started:
            ops.throw("System.FlowException", f"The interview of flow {self.flow.name} has already started")
        self.interview.host = ApexFlowHost(ops.CURRENT.prog)
        try:
            start(self.interview)
        except ops.ApexThrown:
            raise
        except Exception as e:  # noqa: BLE001
            _rethrow(e)

    def m_getvariablevalue(self, a):
        if a[0] is None:
            ops.npe()
        return variable_to_apex(ops.CURRENT.prog, self.interview, str(a[0]))

    def apex_get(self, low: str) -> Any:
        if low in self.flow.variables:
            return variable_to_apex(ops.CURRENT.prog, self.interview, low)
        return super().apex_get(low)

    def apex_str(self) -> str:
        return f"Flow.Interview.{self.flow.name}"


def _find_flow(name: str) -> FlowDef | None:
    return org_flows(ops.CURRENT.prog).get(name.lower())


def _create_interview(a: list) -> FlowInterview:
    """``Flow.Interview.createInterview([namespace,] flowName, inputs)``: a flow the org does not have throws
    TypeException (documented; the text ``Invalid type: X`` is the local org's)."""
    namespace, name, inputs = (a[0], a[1], a[2]) if len(a) == 3 else (None, a[0], a[1] if len(a) > 1 else None)
    full = f"{namespace}__{name}" if namespace else str(name)
    flow = _find_flow(full) if name is not None else None
    if flow is None:
        ops.throw("System.TypeException", f"Invalid type: {full}")
    return FlowInterview(flow, inputs)


def _typed_interview(type_name: str) -> Callable[[list[Any]], Any]:
    """``new Flow.Interview.<Name>(inputs)``. Any name compiles (a deploy compiles classes before the flows it
    brings are stored); an interview of a flow the org does not have throws TypeException when built."""
    name = type_name.split(".", 2)[2] if type_name.count(".") >= 2 else type_name

    def construct(args: list[Any]) -> FlowInterview:
        return _create_interview([name, args[0] if args else None])
    return construct


STATIC_METHODS[("flow.interview", "createinterview")] = _create_interview
TYPE_FAMILIES["flow.interview."] = _typed_interview


# -- Invocable.Action of type flow ------------------------------------------------------------------
def _invoke_flow_action(action: Any, invocations: list[ApexMap]) -> ApexList | None:
    """Each invocation is one interview (run together, so their elements are bulkified); outputs are the
    flow's output variables and ``Flow__InterviewStatus``. Answers None for a flow the org does not have."""
    flow = _find_flow(action.name or "")
    if flow is None:
        return None
    prog = ops.CURRENT.prog
    host = ApexFlowHost(prog)
    interviews = []
    for params in invocations:
        try:
            interviews.append(Interview(flow, host, {str(k): to_flow(v) for k, v in params.items()}))
        except Exception as e:  # noqa: BLE001
            _rethrow(e)
    from localcloud.salesforce.flow import run_interviews
    try:
        failed = run_interviews(interviews)
    except (FlowUnsupported, FlowDefinitionError) as e:
        _rethrow(e)
    outputs, errors = [], []
    for i, interview in enumerate(interviews):
        values = {name: variable_to_apex(prog, interview, name) for name in interview.output_values()}
        values["Flow__InterviewStatus"] = "Error" if i in failed else "Finished"
        outputs.append(ApexMap(values.items(), TypeRef("String"), TypeRef("Object")))
        errors.append((invocablelib.EXCEPTION_CODE, failed[i].message) if i in failed else None)
    return action._results_each(invocations, outputs, errors)


invocablelib.ACTION_RUNNERS["flow"] = _invoke_flow_action


# -- record-triggered flows ----------------------------------------------------------------------------
@provide("record_flows")
def record_flows(prog: Any, event: Any, timing: str) -> Callable[[], str | None] | None:
    """The runner of the org's active record-triggered flows for a DML event (None: there are none). The
    runner answers the first unhandled fault's message (the DML then fails the chunk with
    ``CANNOT_EXECUTE_FLOW_TRIGGER``); custom errors are added to their records."""
    flows = org_flows(prog)
    if not flows:
        return None
    matching = triggered_flows(flows.values(), event.sobject, event.op, timing)
    if not matching:
        return None

    def run() -> str | None:
        host = ApexFlowHost(ops.CURRENT.prog)
        for flow in matching:
            try:
                outcome = run_record_triggered(flow, host, event.op, timing, event.new, event.old)
            except ops.ApexThrown:
                raise
            except Exception as e:  # noqa: BLE001
                _rethrow(e)
            for index, messages in outcome.errors.items():
                for message, field in messages:
                    event.add_error(index, message, field)
            if outcome.faults:
                first = outcome.faults[min(outcome.faults)]
                return (f"We can't save this record because the “{flow.label}” process failed. Give your "
                        f"Salesforce admin these details. {first}")
        return None
    return run

