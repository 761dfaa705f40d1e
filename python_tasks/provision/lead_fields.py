"""Provisioner: the lead fields the mapping writes, plus ECBridge's own (``ecbSupersededBy``).

Reads ``describe2``; plans one Create Lead Fields call for the missing ones; reports drift on the
existing ones (a type that cannot hold the values, a length shorter than the Salesforce field, a
field the API cannot write). Marketo cannot delete a lead field or change its length over the API.
"""
from __future__ import annotations

from typing import Any

from python_tasks.mapping import Mapping
from python_tasks.marketo import MarketoClient, MarketoError
from python_tasks.provision.plan import Drift, Section, Step
from python_tasks.provision.sources import LENGTH_TYPES, WantedField, display_name, wanted_field
from python_tasks.push.schema import MarketoSchema

# Fields ECBridge itself writes, not fed from Salesforce: the dedupe "mark" policy's pointer to the winner.
OWN_FIELDS = (WantedField("ecbSupersededBy", display_name("ecbSupersededBy"), "integer", None,
                          "marketo_dedupe policy mark (the winner's id)", frozenset({"integer"})),)


class ProvisioningFailed(Exception):
    """Marketo refused a change; the message says which and the way out."""


def wanted_lead_fields(mapping: Mapping) -> list[WantedField]:
    fields = [wanted_field(mapping, mf) for mf in mapping.marketo.lead.fields]
    names = {f.name for f in fields}
    return fields + [f for f in OWN_FIELDS if f.name not in names]


class LeadFieldsProvisioner:
    name = "Lead fields"

    def plan(self, mapping: Mapping, client: MarketoClient) -> Section:
        existing, _ = MarketoSchema.lead_fields_from_describe2(client.describe2())
        section = Section(self.name)
        missing: list[WantedField] = []
        for want in wanted_lead_fields(mapping):
            have = existing.get(want.name)
            if have is None:
                missing.append(want)
                continue
            drift = _field_drift(f"lead.{want.name}", want, have.data_type, have.length, have.updateable)
            section.drift.extend(drift)
            if not drift:
                section.in_place.append(want.name)
        if missing:
            section.steps.append(Step(
                "create lead fields", "; ".join(_describe(f) for f in missing),
                lambda c, fields=tuple(missing): _create(c, fields)))
        return section


def _describe(want: WantedField) -> str:
    size = f"({want.length})" if want.length else ""
    return f"{want.name} {want.data_type}{size} from {want.source}"


def _field_drift(target: str, want: WantedField, data_type: str, length: int | None, updateable: bool) -> list[Drift]:
    drift = []
    if data_type not in want.accepted:
        drift.append(Drift(target, f"is {data_type} in Marketo; the mapping needs {want.data_type} ({want.source})",
                           f"Marketo's API cannot change a field's type: create a {want.data_type} field under a new "
                           f"name and map it in ecbridge.yml, or change the type in Marketo Admin > Field Management"))
    limit = length or LENGTH_TYPES.get(data_type)
    if want.needed_length and limit and data_type in LENGTH_TYPES and limit < want.needed_length:
        drift.append(Drift(target, f"holds {limit} characters; {want.source} holds {want.needed_length}",
                           "Marketo's API cannot lengthen a field: map a text field instead, or shorten the "
                           "Salesforce field in ecbridge.yml"))
    if not updateable:
        drift.append(Drift(target, "cannot be written over the API (system or CRM-managed)",
                           "map the values to a custom field instead"))
    return drift


def _create(client: MarketoClient, fields: tuple[WantedField, ...]) -> None:
    payload: list[dict[str, Any]] = [
        {"name": f.name, "displayName": f.display_name, "dataType": f.data_type,
         "description": f"ECBridge: {f.source}"[:255]} for f in fields]
    try:
        results = client.create_lead_fields(payload)
    except MarketoError as error:
        raise ProvisioningFailed(f"Create Lead Fields failed: {error}") from None
    refused = []
    for field, result in zip(fields, results):
        if result.get("status") in ("created", "updated"):
            continue
        reasons = "; ".join(f"{r.get('code')} {r.get('message')}" for r in result.get("reasons") or [])
        if any(str(r.get("code")) == "1017" for r in result.get("reasons") or []) and "displayName" not in reasons:
            continue  # created meanwhile (another run): the next plan compares it
        refused.append(f"{field.name}: {reasons or result}")
    if refused:
        raise ProvisioningFailed("Marketo refused lead fields: " + " | ".join(refused)
                                 + " (rename the field in ecbridge.yml, or create it in Marketo Admin > Field Management)")
