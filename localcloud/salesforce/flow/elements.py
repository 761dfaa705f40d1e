"""The handlers of the flow elements the engine runs: ``HANDLERS[kind](interview, element)`` answers the
next element's name, or is a generator (it yields ``requests.Request``s) that returns it."""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from typing import Any, Iterable

from . import conditions
from .engine import HANDLERS, Interview
from .errors import FlowDefinitionError, FlowFault, FlowInputError, FlowUnsupported
from .model import Element, child, children, connector_target, flag, parse_filters, parse_value, text
from .requests import LookupQuery, Request, Run, select_list
from .values import Record, coerce, format_value

MAX_SUBFLOW_DEPTH = 50


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
    return LookupQuery(sobject, select_list(fields), conditions.soql_where(logic, conds, where), filters, logic, where)


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


HANDLERS.update({
    "assignments": _assignment, "decisions": _decision, "loops": _loop, "recordLookups": _lookup,
    "recordCreates": _create, "recordUpdates": _update, "recordDeletes": _delete, "actionCalls": _action,
    "subflows": _subflow, "customErrors": _custom_error,
})
