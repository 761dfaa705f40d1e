"""Build what is sent to Marketo from Salesforce rows, by the mapping; pure functions.

A member becomes a :class:`PersonWrite` (its ``member`` lead fields and, separately, the
``last_order`` lead fields), an order becomes a :class:`OrderWrite` (one custom object record per
mapped custom object). Every value goes through :func:`convert_value` against the Marketo field's
type and length; a rejected value is reported on the record (field, value, reason) and the
record is not sent, so one bad value never costs the good records beside it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from python_tasks.dedupe.keys import identity_key, normalise_email
from python_tasks.mapping import CustomObjectMapping, Mapping, MarketoField
from python_tasks.push.consent import ConsentState, opt_out_values
from python_tasks.push.convert import ValueRejected, convert_value, parse_sf_datetime
from python_tasks.push.schema import MarketoSchema


@dataclass
class PersonWrite:
    """One Marketo person to write: one or more Salesforce members sharing one identity key."""

    key: str  # identity key: "<lookupField>:<normalised value>"
    member_ids: list[str]  # Salesforce ids, the freshest first
    lookup_value: Any
    email_key: str | None
    values: dict[str, Any]  # member-scope lead fields, converted
    order_values: dict[str, Any] = field(default_factory=dict)  # last_order-scope lead fields
    known_marketo_ids: list[int] = field(default_factory=list)
    problems: list[ValueRejected] = field(default_factory=list)
    member_due: bool = True
    consent: ConsentState | None = None  # with a consent section: the members' opt-out and EC consent

    @property
    def rejected(self) -> bool:
        return bool(self.problems)


@dataclass
class OrderWrite:
    order_id: str
    order_number: str
    member_id: str | None
    values: dict[str, dict[str, Any]]  # custom object api name -> record (without the link field)
    problems: list[ValueRejected] = field(default_factory=list)


def _convert_fields(
    fields: Iterable[MarketoField],
    get: Any,
    info: Any,
    tz: str,
) -> tuple[dict[str, Any], list[ValueRejected]]:
    values: dict[str, Any] = {}
    problems: list[ValueRejected] = []
    for mf in fields:
        field_info = info(mf)
        try:
            values[mf.name] = convert_value(mf.name, get(mf), field_info.data_type, length=field_info.length, tz=tz)
        except ValueRejected as rejected:
            problems.append(rejected)
    return values, problems


def lead_member_values(member: dict[str, Any], mapping: Mapping, schema: MarketoSchema, tz: str = "UTC"):
    fields = [f for f in mapping.marketo.lead.fields if f.source.scope == "member"]
    return _convert_fields(fields, lambda mf: member.get(mf.source.field),
                           lambda mf: schema.lead_info(mf.name, mf.type), tz)


def lead_order_values(last_order: dict[str, Any] | None, mapping: Mapping, schema: MarketoSchema, tz: str = "UTC"):
    fields = [f for f in mapping.marketo.lead.fields if f.source.scope == "last_order"]
    if last_order is None:
        return {}, []
    return _convert_fields(fields, lambda mf: last_order.get(mf.source.field),
                           lambda mf: schema.lead_info(mf.name, mf.type), tz)


def sorted_lines(lines: Sequence[dict[str, Any]], key_field: str) -> list[dict[str, Any]]:
    """Lines in position order: the key is ``<orderNumber>-<position>`` (so ``-10`` after ``-9``)."""
    def position(line: dict[str, Any]) -> tuple[int, str]:
        key = str(line.get(key_field) or "")
        tail = key.rsplit("-", 1)[-1]
        return (int(tail) if tail.isdigit() else 1 << 30, key)
    return sorted(lines, key=position)


def source_value(mf: MarketoField, order: dict[str, Any], lines: Sequence[dict[str, Any]]) -> Any:
    src = mf.source
    if src.scope == "order":
        return order.get(src.field)
    if src.scope == "lines":
        if src.aggregate == "count":
            return len(lines)
        values = [str(line.get(src.field)) for line in lines if line.get(src.field) not in (None, "")]
        return src.separator.join(values) if values else None
    raise ValueError(f"{mf.name}: source scope {src.scope!r} cannot feed a custom object")


def custom_object_values(co: CustomObjectMapping, order: dict[str, Any], lines: Sequence[dict[str, Any]],
                         schema: MarketoSchema, tz: str = "UTC"):
    return _convert_fields(co.fields, lambda mf: source_value(mf, order, lines),
                           lambda mf: schema.co_info(co.api_name, mf.name, mf.type), tz)


def order_date(order: dict[str, Any], date_field: str) -> float:
    value = order.get(date_field)
    if not value:
        return float("-inf")
    try:
        return parse_sf_datetime(value).timestamp()
    except ValueError:
        return float("-inf")


def last_order(orders: Sequence[dict[str, Any]], date_field: str, key_field: str) -> dict[str, Any] | None:
    """The most recent order by its date; equal dates go to the higher order number."""
    if not orders:
        return None
    return max(orders, key=lambda o: (order_date(o, date_field), str(o.get(key_field) or "")))


def build_persons(
    members: Sequence[dict[str, Any]],
    mapping: Mapping,
    schema: MarketoSchema,
    *,
    modstamp_field: str = "SystemModstamp",
    tz: str = "UTC",
) -> tuple[list[PersonWrite], list[tuple[dict[str, Any], ValueRejected]]]:
    """One PersonWrite per identity key (members sharing it are one Marketo person: the most
    recently modified member's values win). Members without a lookup value are returned apart."""
    lookup = mapping.marketo.lead.lookup_field
    wb = mapping.write_back
    email_source = next((f for f in mapping.marketo.lead.fields if f.name == "email"), None)
    freshest_first = sorted(members, key=lambda m: str(m.get(modstamp_field) or ""), reverse=True)
    persons: dict[str, PersonWrite] = {}
    unusable: list[tuple[dict[str, Any], ValueRejected]] = []
    for member in freshest_first:
        values, problems = lead_member_values(member, mapping, schema, tz)
        raw_lookup = values.get(lookup)
        key = identity_key(lookup, raw_lookup)
        if key is None:
            if not any(p.field == lookup for p in problems):
                problems.append(ValueRejected(lookup, raw_lookup, f"no value for the lookup field {lookup}", "1002"))
            unusable.append((member, next(p for p in problems if p.field == lookup)))
            continue
        if "," in str(raw_lookup):
            problems.append(ValueRejected(lookup, raw_lookup, "contains a comma, which Marketo cannot look up by "
                                                               "(filterValues are comma-separated)", "1003"))
        email_key = normalise_email(values.get("email")) if email_source else None
        known = _int_or_none(member.get(wb.marketo_id))
        state = ConsentState.of(member, mapping.consent) if mapping.consent is not None else None
        if key in persons:
            person = persons[key]
            person.member_ids.append(member["Id"])
            if state is not None and person.consent is not None:
                person.consent.add(state)  # an opt-out of any member of the person wins
                person.values.update(opt_out_values(person.consent, mapping.consent))  # type: ignore[arg-type]
            if known and known not in person.known_marketo_ids:
                person.known_marketo_ids.append(known)
            continue
        persons[key] = PersonWrite(
            key=key, member_ids=[member["Id"]], lookup_value=raw_lookup, email_key=email_key,
            values={**values, **(opt_out_values(state, mapping.consent) if state and mapping.consent else {})},
            known_marketo_ids=[known] if known else [], problems=problems, consent=state,
        )
    return list(persons.values()), unusable


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
