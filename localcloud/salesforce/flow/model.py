"""A deployed flow's XML (Metadata API type ``Flow``) read into a model the engine interprets.

``parse_flow(name, xml) -> FlowDef``. Resources (variables, constants, formulas, text templates) are
parsed into dataclasses; elements keep their XML node (``Element.node``) beside what every element has
(kind, name, label, connector, fault connector), and the engine reads their parts with the helpers here.
Nothing is refused at parse time except XML that is not a flow: an element kind the engine does not run
fails when an interview reaches it (``FlowUnsupported``), as a flow is valid metadata either way.
"""

from __future__ import annotations

import datetime as _dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import FlowDefinitionError

#: element kinds (the Metadata API's list names) that are steps of a flow
ELEMENT_KINDS = (
    "actionCalls", "apexPluginCalls", "assignments", "collectionProcessors", "customErrors", "decisions",
    "loops", "orchestratedStages", "recordCreates", "recordDeletes", "recordLookups", "recordRollbacks",
    "recordUpdates", "screens", "steps", "subflows", "transforms", "waits",
)
#: the element kind as Salesforce names it in fault messages
KIND_LABELS = {
    "actionCalls": "FlowActionCall", "apexPluginCalls": "FlowApexPluginCall", "assignments": "FlowAssignment",
    "collectionProcessors": "FlowCollectionProcessor", "customErrors": "FlowCustomError",
    "decisions": "FlowDecision", "loops": "FlowLoop", "recordCreates": "FlowRecordCreate",
    "recordDeletes": "FlowRecordDelete", "recordLookups": "FlowRecordLookup",
    "recordRollbacks": "FlowRecordRollback", "recordUpdates": "FlowRecordUpdate", "screens": "FlowScreen",
    "subflows": "FlowSubflow", "transforms": "FlowTransform", "waits": "FlowWait",
    "orchestratedStages": "FlowOrchestratedStage", "steps": "FlowStep",
}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(node: ET.Element | None, name: str) -> ET.Element | None:
    if node is None:
        return None
    for c in node:
        if _local(c.tag) == name:
            return c
    return None


def children(node: ET.Element | None, name: str) -> list[ET.Element]:
    if node is None:
        return []
    return [c for c in node if _local(c.tag) == name]


def text(node: ET.Element | None, name: str, default: str | None = None) -> str | None:
    c = child(node, name)
    if c is None:
        return default
    return c.text if c.text is not None else ""


def flag(node: ET.Element | None, name: str, default: bool = False) -> bool:
    v = text(node, name)
    return default if v is None else v.strip().lower() == "true"


def connector_target(node: ET.Element | None, name: str = "connector") -> str | None:
    c = child(node, name)
    target = text(c, "targetReference")
    return target.strip() if target else None


@dataclass(frozen=True)
class Value:
    """A ``<value>`` (or ``<defaultValue>``): a literal, or a reference (``elementReference``) to a
    resource, an element or a global (``$Record.Name``, ``$User.Id``)."""

    kind: str  # "literal" | "ref" | "none"
    literal: Any = None
    ref: str | None = None

    @property
    def is_ref(self) -> bool:
        return self.kind == "ref"


NO_VALUE = Value("none")


def parse_value(node: ET.Element | None) -> Value:
    """A ``<value>`` node: ``stringValue``, ``numberValue``, ``booleanValue``, ``dateValue``,
    ``dateTimeValue``, ``elementReference`` (``apexValue``/``sobjectValue`` are refused by the engine)."""
    if node is None:
        return NO_VALUE
    for c in node:
        tag, raw = _local(c.tag), c.text
        if tag == "elementReference":
            return Value("ref", ref=(raw or "").strip())
        if tag == "stringValue":
            return Value("literal", raw if raw is not None else "")
        if tag == "numberValue":
            try:
                return Value("literal", Decimal((raw or "0").strip()))
            except InvalidOperation:
                raise FlowDefinitionError(f"numberValue {raw!r} is not a number") from None
        if tag == "booleanValue":
            return Value("literal", (raw or "").strip().lower() == "true")
        if tag == "dateValue":
            return Value("literal", _dt.date.fromisoformat((raw or "").strip()[:10]) if raw else None)
        if tag == "dateTimeValue":
            return Value("literal", parse_datetime(raw) if raw else None)
        if tag in ("apexValue", "sobjectValue", "formulaDataType", "formulaExpression", "setupReference",
                   "transformValueReference"):
            return Value("unsupported", literal=tag)
    return NO_VALUE


def parse_datetime(raw: str) -> _dt.datetime:
    s = raw.strip().replace("Z", "+00:00")
    value = _dt.datetime.fromisoformat(s)
    return value if value.tzinfo else value.replace(tzinfo=_dt.timezone.utc)


@dataclass
class Variable:
    name: str
    data_type: str
    is_collection: bool = False
    is_input: bool = False
    is_output: bool = False
    object_type: str | None = None
    apex_class: str | None = None
    scale: int | None = None
    default: Value = NO_VALUE


@dataclass
class Constant:
    name: str
    data_type: str
    value: Value


@dataclass
class Formula:
    name: str
    data_type: str
    expression: str
    scale: int | None = None


@dataclass
class TextTemplate:
    name: str
    text: str
    plain: bool = False


@dataclass
class Element:
    """One step: its kind (``assignments``, ``decisions``, ...), name, label, node and connectors."""

    kind: str
    name: str
    label: str
    node: ET.Element
    connector: str | None
    fault_connector: str | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass
class Filter:
    field: str
    operator: str
    value: Value


@dataclass
class Start:
    """The ``<start>`` element: where the flow begins and, for record-triggered flows, when it runs."""

    connector: str | None = None
    trigger_type: str | None = None          # RecordBeforeSave, RecordAfterSave, RecordBeforeDelete, Scheduled, PlatformEvent
    object: str | None = None
    record_trigger_type: str | None = None   # Create, Update, CreateAndUpdate, Delete
    filter_logic: str | None = None
    filters: list[Filter] = field(default_factory=list)
    filter_formula: str | None = None
    requires_change: bool = False            # doesRequireRecordChangedToMeetCriteria
    scheduled_paths: int = 0
    schedule: bool = False
    #: a scheduled-trigger flow's ``<schedule>``: frequency (Once, Daily, Weekly), startDate, startTime
    schedule_values: dict[str, str] = field(default_factory=dict)


@dataclass
class FlowDef:
    name: str
    label: str
    process_type: str
    status: str
    api_version: str | None
    start: Start
    variables: dict[str, Variable]
    constants: dict[str, Constant]
    formulas: dict[str, Formula]
    templates: dict[str, TextTemplate]
    elements: dict[str, Element]
    trigger_order: int | None = None
    other_resources: dict[str, str] = field(default_factory=dict)  # choices, stages, ... (name -> kind)
    #: built formulas and templates, by resource name (filled by the engine on first use)
    compiled: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_active(self) -> bool:
        return self.status.lower() == "active"

    @property
    def is_record_triggered(self) -> bool:
        return (self.start.trigger_type or "") in ("RecordBeforeSave", "RecordAfterSave", "RecordBeforeDelete")

    def element(self, name: str | None) -> Element | None:
        return self.elements.get(name.lower()) if name else None


def parse_filters(node: ET.Element | None, tag: str = "filters") -> list[Filter]:
    return [Filter((text(f, "field") or "").strip(), (text(f, "operator") or "").strip(), parse_value(child(f, "value")))
            for f in children(node, tag)]


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def parse_flow(name: str, xml: bytes | str) -> FlowDef:
    """Read a ``.flow`` file. Raises ``FlowDefinitionError`` for XML that is not a flow."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as e:
        raise FlowDefinitionError(f"flow {name}: {e}") from None
    if _local(root.tag) != "Flow":
        raise FlowDefinitionError(f"flow {name}: the root element is <{_local(root.tag)}>, not <Flow>")
    variables: dict[str, Variable] = {}
    for v in children(root, "variables"):
        var = Variable(
            name=(text(v, "name") or "").strip(), data_type=(text(v, "dataType") or "String").strip(),
            is_collection=flag(v, "isCollection"), is_input=flag(v, "isInput"), is_output=flag(v, "isOutput"),
            object_type=text(v, "objectType"), apex_class=text(v, "apexClass"), scale=_int(text(v, "scale")),
            default=parse_value(child(v, "value")))
        variables[var.name.lower()] = var
    constants = {c.name.lower(): c for c in (
        Constant((text(n, "name") or "").strip(), (text(n, "dataType") or "String").strip(), parse_value(child(n, "value")))
        for n in children(root, "constants"))}
    formulas = {f.name.lower(): f for f in (
        Formula((text(n, "name") or "").strip(), (text(n, "dataType") or "String").strip(), text(n, "expression") or "",
                _int(text(n, "scale")))
        for n in children(root, "formulas"))}
    templates = {t.name.lower(): t for t in (
        TextTemplate((text(n, "name") or "").strip(), text(n, "text") or "", flag(n, "isViewedAsPlainText"))
        for n in children(root, "textTemplates"))}
    elements: dict[str, Element] = {}
    for kind in ELEMENT_KINDS:
        for n in children(root, kind):
            element_name = (text(n, "name") or "").strip()
            if not element_name:
                raise FlowDefinitionError(f"flow {name}: a <{kind}> element has no <name>")
            elements[element_name.lower()] = Element(kind, element_name, text(n, "label") or element_name, n,
                                                     connector_target(n), connector_target(n, "faultConnector"))
    other = {(text(n, "name") or "").lower(): kind for kind in ("choices", "dynamicChoiceSets", "stages")
             for n in children(root, kind)}
    start_node = child(root, "start")
    start = Start(connector=connector_target(start_node) or (text(root, "startElementReference") or "").strip() or None)
    if start_node is not None:
        start.trigger_type = text(start_node, "triggerType")
        start.object = text(start_node, "object")
        start.record_trigger_type = text(start_node, "recordTriggerType")
        start.filter_logic = text(start_node, "filterLogic")
        start.filters = parse_filters(start_node)
        start.filter_formula = text(start_node, "filterFormula")
        start.requires_change = flag(start_node, "doesRequireRecordChangedToMeetCriteria")
        start.scheduled_paths = len(children(start_node, "scheduledPaths"))
        schedule_node = child(start_node, "schedule")
        start.schedule = schedule_node is not None
        if schedule_node is not None:
            start.schedule_values = {key: (text(schedule_node, key) or "").strip()
                                     for key in ("frequency", "startDate", "startTime")}
    flow = FlowDef(
        name=name, label=text(root, "label") or name, process_type=(text(root, "processType") or "AutoLaunchedFlow").strip(),
        status=(text(root, "status") or "Draft").strip(), api_version=text(root, "apiVersion"), start=start,
        variables=variables, constants=constants, formulas=formulas, templates=templates, elements=elements,
        trigger_order=_int(text(start_node, "triggerOrder") if start_node is not None else None)
        or _int(text(root, "triggerOrder")), other_resources=other)
    for element in elements.values():
        for target in (element.connector, element.fault_connector):
            if target and target.lower() not in elements:
                raise FlowDefinitionError(f"flow {name}: element {element.name} connects to {target}, "
                                          f"which the flow does not have")
    return flow
