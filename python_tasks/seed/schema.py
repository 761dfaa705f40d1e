"""The EC payload as ecbridge.yml defines it: which data fields member and order events carry."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class PayloadSchemaError(Exception):
    """The mapping file does not say what the seeding needs (named section and key)."""


@dataclass(frozen=True)
class PayloadField:
    """One EC data field: its name in the event, its Salesforce field and the type the value must have."""

    name: str
    sf_field: str
    type: str
    required: bool = False
    length: int | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayloadSchema:
    """Member, order and order-line fields of EC events, with the keys that identify records."""

    member_object: str
    member_key: str
    member_email: str
    member_fields: dict[str, PayloadField]
    order_object: str
    order_key: str
    order_member_key: str
    order_member_lookup: str
    order_last_product_name: str | None
    order_fields: dict[str, PayloadField]
    line_object: str
    line_source: str
    line_order_lookup: str
    line_key_field: str
    line_fields: dict[str, PayloadField]
    last_event_at: str | None = None
    write_back: dict[str, str] = field(default_factory=dict)
    marketo_lookup_field: str = "email"
    marketo_lead_fields: dict[str, str] = field(default_factory=dict)
    marketo_custom_objects: dict[str, dict[str, Any]] = field(default_factory=dict)

    def sf_member_field(self, payload_name: str) -> str:
        return self.member_fields[payload_name].sf_field

    def sf_order_field(self, payload_name: str) -> str:
        return self.order_fields[payload_name].sf_field


def _section(document: dict[str, Any], path: str, source: Path) -> Any:
    node: Any = document
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            raise PayloadSchemaError(f"{source}: missing `{path}` (needed to build EC events)")
        node = node[part]
    return node


def _fields(raw: dict[str, Any], where: str, source: Path) -> dict[str, PayloadField]:
    if not isinstance(raw, dict) or not raw:
        raise PayloadSchemaError(f"{source}: `{where}` must map EC field names to Salesforce fields")
    result: dict[str, PayloadField] = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or "field" not in spec or "type" not in spec:
            raise PayloadSchemaError(f"{source}: `{where}.{name}` needs `field` and `type`")
        result[str(name)] = PayloadField(
            name=str(name),
            sf_field=str(spec["field"]),
            type=str(spec["type"]),
            required=bool(spec.get("required", False)),
            length=int(spec["length"]) if spec.get("length") is not None else None,
            values=tuple(str(value) for value in spec.get("values", []) or []),
        )
    return result


def load_payload_schema(path: Path | str) -> PayloadSchema:
    """Read the EC payload part of the mapping file (ecbridge.yml)."""
    source = Path(path)
    try:
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PayloadSchemaError(f"mapping file not found: {source}") from error
    except yaml.YAMLError as error:
        raise PayloadSchemaError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise PayloadSchemaError(f"{source}: expected a mapping at the top level")
    member = _section(document, "salesforce.member", source)
    order = _section(document, "salesforce.order", source)
    line = _section(document, "salesforce.order_line", source)
    marketo = document.get("marketo") or {}
    lead = marketo.get("lead") or {}
    lead_fields = {
        str(name): str(spec.get("from")) for name, spec in (lead.get("fields") or {}).items() if isinstance(spec, dict)
    }
    schema = PayloadSchema(
        member_object=str(member.get("object", "Contact")),
        member_key=str(_section(member, "key", source)),
        member_email=str(member.get("email", "email")),
        member_fields=_fields(member.get("fields"), "salesforce.member.fields", source),
        order_object=str(order.get("object", "EC_Order__c")),
        order_key=str(_section(order, "key", source)),
        order_member_key=str(_section(order, "member_key", source)),
        order_member_lookup=str(order.get("member_lookup", "Member__c")),
        order_last_product_name=order.get("last_product_name"),
        order_fields=_fields(order.get("fields"), "salesforce.order.fields", source),
        line_object=str(line.get("object", "EC_Order_Line__c")),
        line_source=str(line.get("source", "lines")),
        line_order_lookup=str(line.get("order_lookup", "Order__c")),
        line_key_field=str(line.get("key_field", "Line_Key__c")),
        line_fields=_fields(line.get("fields"), "salesforce.order_line.fields", source),
        last_event_at=(document["salesforce"].get("tracking") or {}).get("last_event_at"),
        write_back=dict(document["salesforce"].get("write_back") or {}),
        marketo_lookup_field=str(lead.get("lookup_field", "email")),
        marketo_lead_fields=lead_fields,
        marketo_custom_objects=dict(marketo.get("custom_objects") or {}),
    )
    for role, fields, key in (
        ("member key", schema.member_fields, schema.member_key),
        ("member email", schema.member_fields, schema.member_email),
        ("order key", schema.order_fields, schema.order_key),
        ("order member key", schema.order_fields, schema.order_member_key),
    ):
        if key not in fields:
            raise PayloadSchemaError(f"{source}: the {role} `{key}` is not one of the mapped fields {sorted(fields)}")
    return schema
