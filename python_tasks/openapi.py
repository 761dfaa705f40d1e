"""The EC endpoint's OpenAPI 3 description, generated from the mapping (docs/ec-events.openapi.yaml).

The payload schemas (member data, order data, order lines) follow the mapping's EC fields, their
types, lengths, picklist values and required flags, so a mapping change updates the document too.
"""
from __future__ import annotations

from typing import Any

import yaml

from python_tasks.mapping import FieldMapping, FieldType, Mapping
from python_tasks.samples import sample_json  # one source of sample values with the Apex tests

DEFAULT_OPENAPI_FILE = "docs/ec-events.openapi.yaml"
RESULT_STATUSES = ["created", "updated", "unchanged", "stale", "rejected"]


def _field_schema(field: FieldMapping, object_name: str, note: str = "") -> dict[str, Any]:
    target = f"Salesforce {object_name}.{field.sf_field}"
    schema: dict[str, Any]
    t = field.type
    if t is FieldType.STRING:
        schema = {"type": "string"}
        if field.length:
            schema["maxLength"] = field.length
        schema["description"] = f"{target}. Trimmed; a blank value counts as missing."
    elif t is FieldType.EMAIL:
        schema = {"type": "string", "format": "email", "maxLength": 80,
                  "description": f"{target}. Trimmed and lower-cased before it is stored."}
    elif t is FieldType.PICKLIST:
        schema = {"type": "string", "enum": list(field.values), "description": f"{target}. Exactly one of the values."}
    elif t is FieldType.DATE:
        schema = {"type": "string", "format": "date", "description": f"{target}. yyyy-MM-dd."}
    elif t is FieldType.DATETIME:
        schema = {"type": "string", "format": "date-time",
                  "description": f"{target}. ISO 8601 with a zone (Z or +09:00); whole seconds are kept."}
    elif t is FieldType.BOOLEAN:
        schema = {"type": "boolean", "description": f"{target}. Missing or null is false."}
    else:
        whole = (field.precision or 18) - (field.scale or 0)
        kind = "integer" if t is FieldType.INTEGER else "number"
        schema = {"type": kind,
                  "description": f"{target}. A JSON number (or a numeric string) with at most {whole} digits before "
                                 f"the point and {field.scale or 0} after it."}
    if note:
        schema["description"] += " " + note
    return schema


def _object_schema(fields: tuple[FieldMapping, ...], object_name: str, notes: dict[str, str],
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    properties = {f.ec_name: _field_schema(f, object_name, notes.get(f.ec_name, "")) for f in fields}
    properties.update(extra or {})
    schema: dict[str, Any] = {"type": "object"}
    required = [f.ec_name for f in fields if f.required]
    if required:
        schema["required"] = required
    schema["properties"] = properties
    schema["description"] = ("Fields not listed are ignored. A listed field left out is not changed; a required "
                             "field must be in every event.")
    return schema


# Friendlier example values for well-known EC field names (used when they fit the field's type).
FRIENDLY: dict[str, Any] = {
    "lastName": "山田", "firstName": "花子", "phone": "090-1234-5678", "birthdate": "1990-04-01",
    "sku": "SKU-{n:04d}", "quantity": "{n}", "unitPrice": "{price}", "totalAmount": 4980,
    "orderDate": "2026-11-28T10:16:00+09:00",
}


def _example(field: FieldMapping, position: int = 1) -> Any:
    value = FRIENDLY.get(field.ec_name)
    if isinstance(value, str) and "{" in value:
        value = value.format(n=position, price=1980 + 1000 * (position - 1))
        if field.type in (FieldType.INTEGER, FieldType.CURRENCY, FieldType.DECIMAL):
            value = int(value)
    fits = value is not None and (
        (field.type is FieldType.STRING and isinstance(value, str) and len(value) <= (field.length or 255))
        or (field.type in (FieldType.INTEGER, FieldType.CURRENCY, FieldType.DECIMAL) and isinstance(value, int))
        or (field.type in (FieldType.DATE, FieldType.DATETIME) and isinstance(value, str))
    )
    return value if fits else sample_json(field, position - 1)


def _examples(mapping: Mapping) -> dict[str, Any]:
    member, order, line = mapping.member, mapping.order, mapping.order_line

    def member_data(key: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in member.fields:
            if f is member.key:
                data[f.ec_name] = key
            elif f is member.email:
                data[f.ec_name] = "Hanako.Yamada@Example.jp"
            else:
                data[f.ec_name] = _example(f)
        return data

    def order_data(number: str, key: str, lines: int) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in order.fields:
            if f is order.key:
                data[f.ec_name] = number
            elif f is order.member_key:
                data[f.ec_name] = key
            else:
                data[f.ec_name] = _example(f)
        items = []
        for position in range(1, lines + 1):
            item = {}
            for f in line.fields:
                item[f.ec_name] = (f"Product {position}" if line.product_name is not None and f is line.product_name
                                   else _example(f, position))
            items.append(item)
        data[line.source] = items
        return data

    register_and_buy = {"events": [
        {"id": "evt-1001", "type": "member", "occurredAt": "2026-11-28T10:15:00+09:00",
         "data": member_data("M000123")},
        {"id": "evt-1002", "type": "order", "occurredAt": "2026-11-28T10:16:30+09:00",
         "data": order_data("ORD-2026-000456", "M000123", 2)},
    ]}
    order_first = {"events": [
        {"id": "evt-2001", "type": "order", "occurredAt": "2026-11-28T11:00:00+09:00",
         "data": order_data("ORD-2026-000789", "M000999", 1)},
    ]}
    results = {"results": [
        {"id": "evt-1001", "status": "created", "recordId": "003000000000001AAA", "errors": []},
        {"id": "evt-1002", "status": "created", "recordId": "a01000000000001AAA", "errors": []},
    ]}
    mixed = {"results": [
        {"id": "evt-1001", "status": "unchanged", "recordId": "003000000000001AAA", "errors": []},
        {"id": "evt-3001", "status": "stale", "recordId": "003000000000001AAA", "errors": []},
        {"id": "evt-3002", "status": "rejected", "recordId": "a02000000000001AAA", "errors": [
            {"code": "INVALID_EMAIL_ADDRESS", "field": member.email.ec_name,
             "message": f'{member.email.ec_name} "hanako.example.jp" is not an email address like name@example.com'},
        ]},
    ]}
    return {"register_and_buy": register_and_buy, "order_first": order_first, "results": results, "mixed": mixed}


def openapi_document(mapping: Mapping) -> dict[str, Any]:
    member, order, line = mapping.member, mapping.order, mapping.order_line
    examples = _examples(mapping)
    line_schema = _object_schema(line.fields, line.object_name, {})
    line_schema["description"] = (f"One order line, saved as {line.object_name} with key "
                                  f"<{order.key.ec_name}>-<position from 1>.")
    order_notes = {
        order.key.ec_name: "The order's key (External ID, Unique): orders upsert on it.",
        order.member_key.ec_name: (f"The member's {member.key.ec_name}. The order is attached to the member at once "
                                   "when the member exists, otherwise as soon as the member arrives."),
    }
    member_notes = {member.key.ec_name: "The member's key (External ID, Unique): members upsert on it."}
    lines_property = {line.source: {
        "type": "array", "items": {"$ref": "#/components/schemas/OrderLine"},
        "description": ("Every line of the order, in order. When present it replaces the saved lines (lines no "
                        "longer sent are deleted); when absent the lines are not changed."
                        + (f" The last line's {line.product_name.ec_name} becomes the order's "
                           f"{order.last_product_name}." if order.last_product_name and line.product_name else "")),
    }}
    envelope = {
        "id": {"type": "string", "maxLength": 255,
               "description": "The event's id, unique per event; sending the same event again is safe."},
        "occurredAt": {"type": "string", "format": "date-time",
                       "description": ("When the change happened on the EC site (ISO 8601 with a zone). An event "
                                       "older than what the record already holds is answered stale and changes "
                                       "nothing.")},
    }
    error = {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "description": "For example REQUIRED_FIELD_MISSING, INVALID_TYPE, "
                 "STRING_TOO_LONG, INVALID_EMAIL_ADDRESS, INVALID_PICKLIST_VALUE, INVALID_DATE, INVALID_DATETIME, "
                 "INVALID_DECIMAL, NUMBER_OUTSIDE_VALID_RANGE, MALFORMED_EVENT, UNKNOWN_EVENT_TYPE, or a Salesforce "
                 "status code such as DUPLICATE_VALUE. A rejected event too long for "
                 f"{mapping.ingest_error.object_name}.{mapping.ingest_error.payload} is kept whole in a file "
                 "(<event id>.json) attached to its row; only if that file cannot be saved does the answer carry "
                 "PAYLOAD_TRUNCATED: then send the corrected event again from the EC site's own copy."},
        "field": {"type": "string", "nullable": True,
                  "description": "The EC field the error is about (lines[2].quantity for a line field)."},
        "message": {"type": "string", "description": "What is wrong and what would be right."},
    }}

    def error_response(code: str, message: str, description: str) -> dict[str, Any]:
        return {"description": description, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ErrorResponse"},
            "example": {"errors": [{"code": code, "field": None, "message": message}]}}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "ECBridge EC events",
            "version": "1",
            "description": (
                "How an EC site sends members and orders to Salesforce. One call carries up to 200 events, in any "
                "mix and any order: members are applied before orders, so a shopper who registers and buys at "
                "once arrives attached; an order whose member has not arrived yet is kept and attached when the "
                "member arrives. The same event sent twice changes nothing (unchanged); an event older than the "
                "record is stale. A rejected event does not harm the others: it is kept in Salesforce "
                f"({mapping.ingest_error.object_name}) with its payload and reason, and sending the corrected "
                "event again marks the kept copy replayed. Generated from the mapping file; do not edit."),
        },
        "servers": [{"url": "https://{instance}/services/apexrest", "variables": {
            "instance": {"default": "yourInstance.my.salesforce.com",
                         "description": "The org's My Domain host (or the local org's 127.0.0.1:port)"}}}],
        "security": [{"salesforceOAuth": []}],
        "paths": {"/ecbridge/v1/events": {"post": {
            "operationId": "postEvents",
            "summary": "Send member and order events",
            "description": (f"Members upsert on {member.object_name}.{member.key_field}, orders on "
                            f"{order.object_name}.{order.key_field}. Call as the integration user holding the "
                            f"{mapping.permission_set} permission set."),
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/EventsRequest"},
                "examples": {
                    "registerAndBuy": {"summary": "A new member and their first order in one call",
                                       "value": examples["register_and_buy"]},
                    "orderFirst": {"summary": "An order that arrives before its member",
                                   "value": examples["order_first"]},
                }}}},
            "responses": {
                "200": {"description": "One result per event, in the order sent.", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/EventsResponse"},
                    "examples": {
                        "created": {"summary": "Both events of registerAndBuy saved", "value": examples["results"]},
                        "mixed": {"summary": "A replay, a stale event and a rejected one", "value": examples["mixed"]},
                    }}}},
                "400": error_response("MALFORMED_JSON", "the body is not JSON: Unexpected end-of-input",
                                      "The body is not UTF-8 text, not JSON, or has no events array; nothing was "
                                      "saved."),
                "401": {"description": ("No valid session: the access token is missing, expired or revoked. "
                                        "Salesforce answers before the endpoint runs, in its own error shape; "
                                        "nothing was saved. Get a new token and send the call again."),
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/SalesforceErrors"},
                            "example": [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
                        }}},
                "413": error_response("TOO_MANY_EVENTS", "the call carries 201 events; at most 200 are allowed, send "
                                      "the rest in another call", "More than 200 events; nothing was saved."),
                "500": error_response("INTERNAL_ERROR", "nothing was saved; send the call again (...)",
                                      "An unexpected failure; nothing was saved and the call can be sent again."),
            },
        }}},
        "components": {
            "securitySchemes": {"salesforceOAuth": {
                "type": "http", "scheme": "bearer",
                "description": "A Salesforce OAuth 2.0 access token of the integration user."}},
            "schemas": {
                "EventsRequest": {"type": "object", "required": ["events"], "properties": {"events": {
                    "type": "array", "maxItems": 200,
                    "items": {"oneOf": [{"$ref": "#/components/schemas/MemberEvent"},
                                        {"$ref": "#/components/schemas/OrderEvent"}],
                              "discriminator": {"propertyName": "type", "mapping": {
                                  "member": "#/components/schemas/MemberEvent",
                                  "order": "#/components/schemas/OrderEvent"}}}}}},
                "MemberEvent": {"type": "object", "required": ["id", "type", "occurredAt", "data"], "properties": {
                    "id": envelope["id"], "type": {"type": "string", "enum": ["member"]},
                    "occurredAt": envelope["occurredAt"], "data": {"$ref": "#/components/schemas/MemberData"}}},
                "OrderEvent": {"type": "object", "required": ["id", "type", "occurredAt", "data"], "properties": {
                    "id": envelope["id"], "type": {"type": "string", "enum": ["order"]},
                    "occurredAt": envelope["occurredAt"], "data": {"$ref": "#/components/schemas/OrderData"}}},
                "MemberData": _object_schema(member.fields, member.object_name, member_notes),
                "OrderData": _object_schema(order.fields, order.object_name, order_notes, lines_property),
                "OrderLine": line_schema,
                "EventsResponse": {"type": "object", "required": ["results"], "properties": {"results": {
                    "type": "array", "items": {"$ref": "#/components/schemas/EventResult"}}}},
                "EventResult": {"type": "object", "required": ["id", "status", "errors"], "properties": {
                    "id": {"type": "string", "nullable": True, "description": "The event's id as sent."},
                    "status": {"type": "string", "enum": RESULT_STATUSES},
                    "recordId": {"type": "string", "nullable": True, "description": (
                        "The Salesforce record the event was applied to (also for unchanged and stale); for a "
                        f"rejected event, the {mapping.ingest_error.object_name} record that keeps it.")},
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}},
                "Error": error,
                "ErrorResponse": {"type": "object", "required": ["errors"], "properties": {
                    "errors": {"type": "array", "items": {"$ref": "#/components/schemas/Error"}}}},
                "SalesforceErrors": {
                    "type": "array", "description": "Salesforce's own REST error shape (for example the 401).",
                    "items": {"type": "object", "required": ["message", "errorCode"], "properties": {
                        "message": {"type": "string"},
                        "errorCode": {"type": "string", "description": "For example INVALID_SESSION_ID."},
                        "fields": {"type": "array", "items": {"type": "string"}}}}},
            },
        },
    }


def render_openapi(mapping: Mapping) -> str:
    header = f"# Generated by ECBridge generate_apex from {mapping.path.name}. Do not edit.\n"
    body = yaml.safe_dump(openapi_document(mapping), sort_keys=False, allow_unicode=True, width=110,
                          default_flow_style=False)
    return header + body
