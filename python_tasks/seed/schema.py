"""The EC payload as ecbridge.yml defines it: which data fields member and order events carry."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from python_tasks.mapping import Mapping, MappingError, load_mapping


class PayloadSchemaError(Exception):
    """The mapping file is not valid (the message lists every problem with file and line)."""


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
    person_account: bool = False  # the member is a Person Account (member_object Account)
    write_back: dict[str, str] = field(default_factory=dict)
    marketo_lookup_field: str = "email"
    marketo_lead_fields: dict[str, str] = field(default_factory=dict)
    marketo_custom_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    ingest_error_object: str = "EC_Ingest_Error__c"
    # the mapping's consent section: ec_field (payload name), opted_out, reason (Salesforce),
    # unsubscribed, unsubscribed_reason (Marketo); empty without one
    consent: dict[str, str] = field(default_factory=dict)

    def sf_member_field(self, payload_name: str) -> str:
        return self.member_fields[payload_name].sf_field

    def sf_order_field(self, payload_name: str) -> str:
        return self.order_fields[payload_name].sf_field


def _fields(mappings: Any) -> dict[str, PayloadField]:
    return {
        f.ec_name: PayloadField(
            name=f.ec_name,
            sf_field=f.sf_field,
            type=str(f.type.value),
            required=bool(f.required),
            length=f.length,
            values=tuple(f.values),
        )
        for f in mappings
    }


def _custom_object(co: Any) -> dict[str, Any]:
    fields: dict[str, dict[str, Any]] = {}
    for f in co.fields:
        spec: dict[str, Any] = {"from": str(f.source)}
        if f.source.aggregate:
            spec["aggregate"] = f.source.aggregate
            spec["separator"] = f.source.separator
        fields[f.name] = spec
    return {
        "source": co.source,
        "dedupe_field": co.dedupe_field,
        "link": {"field": co.link_field, "lead_field": co.lead_link_field},
        "fields": fields,
    }


def schema_from_mapping(mapping: Mapping) -> PayloadSchema:
    """The seeding's view of a validated mapping (python_tasks.mapping.load_mapping)."""
    member, order, line = mapping.member, mapping.order, mapping.order_line
    return PayloadSchema(
        member_object=member.object_name,
        person_account=member.person_account,
        member_key=member.key.ec_name,
        member_email=member.email.ec_name,
        member_fields=_fields(member.fields),
        order_object=order.object_name,
        order_key=order.key.ec_name,
        order_member_key=order.member_key.ec_name,
        order_member_lookup=order.member_lookup,
        order_last_product_name=order.last_product_name,
        order_fields=_fields(order.fields),
        line_object=line.object_name,
        line_source=line.source,
        line_order_lookup=line.order_lookup,
        line_key_field=line.key_field,
        line_fields=_fields(line.fields),
        last_event_at=mapping.last_event_at,
        write_back={
            "marketo_id": mapping.write_back.marketo_id,
            "pushed_at": mapping.write_back.pushed_at,
            "error": mapping.write_back.error,
        },
        marketo_lookup_field=mapping.marketo.lead.lookup_field,
        marketo_lead_fields={f.name: str(f.source) for f in mapping.marketo.lead.fields},
        marketo_custom_objects={co.api_name: _custom_object(co) for co in mapping.marketo.custom_objects},
        ingest_error_object=mapping.ingest_error.object_name,
        consent={"ec_field": mapping.consent.ec_field.ec_name, "opted_out": mapping.consent.opted_out,
                 "reason": mapping.consent.reason, "unsubscribed": mapping.consent.unsubscribed,
                 "unsubscribed_reason": mapping.consent.unsubscribed_reason} if mapping.consent else {},
    )


def load_payload_schema(path: Path | str) -> PayloadSchema:
    """Load and validate the mapping file (ecbridge.yml); MappingError lists every problem with its line."""
    try:
        return schema_from_mapping(load_mapping(path))
    except MappingError as error:
        raise PayloadSchemaError(str(error)) from error
