"""Provisioner: the custom object types of the mapping (``ecOrder_c``), through the Custom Object Metadata API.

A missing type is created (a draft), gets its fields (the dedupe field, the link field to the lead,
the mapped fields) and is approved. A type that exists gets the missing ordinary fields and is
approved again. What Marketo forbids on an approved type (Adobe: "Once a custom object type is
approved, you cannot: update the displayName or apiName, add or remove a link field, add or remove a
dedupe field") is reported as blocked with the way out; so is a pending draft somebody else made.
"""
from __future__ import annotations

from typing import Any

from python_tasks.mapping import CustomObjectMapping, Mapping
from python_tasks.marketo import MarketoClient, MarketoError
from python_tasks.provision.lead_fields import ProvisioningFailed, _field_drift
from python_tasks.provision.plan import Drift, Section, Step
from python_tasks.provision.sources import WantedField, display_name, wanted_field

NO_METADATA_API = ("616", "603", "610")
WAY_OUT = ("delete the type (POST /rest/v1/customobjects/schema/{name}/delete.json; its records go with it) "
           "and run provision_marketo again, or give the custom object a new API name in ecbridge.yml")


def _field_payload(want: WantedField, *, dedupe: bool = False) -> dict[str, Any]:
    return {"name": want.name, "displayName": want.display_name, "dataType": want.data_type,
            "isDedupeField": dedupe, "description": f"ECBridge: {want.source}"[:255]}


def _link_payload(co: CustomObjectMapping) -> dict[str, Any]:
    return {"name": co.link_field, "displayName": display_name(co.link_field), "dataType": "link",
            "description": "ECBridge: the person the record belongs to",
            "relatedTo": {"name": "lead", "field": co.lead_link_field}}


class CustomObjectProvisioner:
    name = "Custom objects"

    def plan(self, mapping: Mapping, client: MarketoClient) -> Section:
        section = Section(self.name)
        try:
            types = {t.get("apiName") or t.get("name"): t for t in client.list_custom_object_types()}
        except MarketoError as error:
            if error.code in NO_METADATA_API:
                for co in mapping.marketo.custom_objects:
                    section.drift.append(Drift(co.api_name, f"the Custom Object Metadata API is not available ({error})",
                                               "create and approve the type in Marketo Admin > Marketo Custom Objects "
                                               "with the fields in the plan, or ask Adobe for the subscription",
                                               blocking=True))
                return section
            raise
        for co in mapping.marketo.custom_objects:
            self._plan_type(mapping, co, types.get(co.api_name), section)
        return section

    def _plan_type(self, mapping: Mapping, co: CustomObjectMapping, found: dict[str, Any] | None,
                   section: Section) -> None:
        wanted = {mf.name: wanted_field(mapping, mf) for mf in co.fields}
        label = mapping.order.label if co.source == "order" else display_name(co.api_name)
        if found is None:
            fields = [_field_payload(wanted[co.dedupe_field], dedupe=True)] if co.dedupe_field in wanted else []
            fields.append(_link_payload(co))
            fields += [_field_payload(w) for n, w in wanted.items() if n != co.dedupe_field]
            detail = (f"display name {label!r}, dedupe field {co.dedupe_field}, link {co.link_field} -> "
                      f"Lead.{co.lead_link_field}, fields " + ", ".join(
                          f"{w.name} {w.data_type}" for w in wanted.values()))
            section.steps.append(Step(f"create and approve custom object {co.api_name}", detail,
                                      lambda c, co=co, label=label, fields=tuple(fields): _create(c, co, label, fields)))
            return
        state = found.get("state") or "approved"
        approved = state in ("approved", "approvedWithDraft")
        existing = {f["name"]: f for f in found.get("fields") or [] if f.get("name")}
        dedupe = list(found.get("dedupeFields") or [])
        links = {r.get("field"): r.get("relatedTo") or {} for r in found.get("relationships") or []}
        blocked: list[Drift] = []
        if co.dedupe_field not in dedupe:
            problem = f"dedupe fields are {dedupe or 'none'}; the mapping dedupes by {co.dedupe_field}"
            if approved:
                blocked.append(Drift(co.api_name, problem + " and an approved type cannot change its dedupe fields",
                                     WAY_OUT.format(name=co.api_name), blocking=True))
            elif co.dedupe_field in existing:
                blocked.append(Drift(co.api_name, problem, f"discard the draft (POST /rest/v1/customobjects/schema/"
                                     f"{co.api_name}/discardDraft.json) and run provision_marketo again", blocking=True))
        link = links.get(co.link_field)
        if not link or str(link.get("name", "")).lower() != "lead" or link.get("field") != co.lead_link_field:
            if approved or co.link_field in existing:
                blocked.append(Drift(co.api_name, f"{co.link_field} is not a link to Lead.{co.lead_link_field}"
                                     + (" and an approved type cannot add a link field" if approved else ""),
                                     WAY_OUT.format(name=co.api_name), blocking=True))
        if state == "approvedWithDraft":
            blocked.append(Drift(co.api_name, "has a draft waiting for approval that ECBridge did not plan",
                                 f"approve or discard it in Marketo (POST /rest/v1/customobjects/schema/{co.api_name}/"
                                 "approve.json or discardDraft.json), then run provision_marketo again", blocking=True))
        add: list[dict[str, Any]] = []
        if not approved and co.dedupe_field not in existing and co.dedupe_field in wanted:
            add.append(_field_payload(wanted[co.dedupe_field], dedupe=True))
        if not approved and co.link_field not in existing:
            add.append(_link_payload(co))
        for name, want in wanted.items():
            have = existing.get(name)
            if have is None:
                if name != co.dedupe_field:
                    add.append(_field_payload(want))
                continue
            drift = _field_drift(f"{co.api_name}.{name}", want, str(have.get("dataType") or "string").lower(),
                                 have.get("length"), True)
            section.drift.extend(drift)
            if not drift:
                section.in_place.append(f"{co.api_name}.{name}")
        section.drift.extend(blocked)
        if blocked:
            return
        if add or not approved:
            what = f"add fields to {co.api_name} and approve it" if add else f"approve {co.api_name}"
            detail = ", ".join(f"{f['name']} {f['dataType']}" for f in add) or "the draft as it is"
            section.steps.append(Step(what, detail, lambda c, co=co, add=tuple(add): _extend(c, co, add)))


def _create(client: MarketoClient, co: CustomObjectMapping, label: str, fields: tuple[dict[str, Any], ...]) -> None:
    _call(co, "create the type", lambda: client.sync_custom_object_type(
        co.api_name, action="createOnly", display_name=label, plural_name=f"{label}s",
        description="ECBridge: one record per order, linked to the person", show_in_lead_detail=True))
    _extend(client, co, fields)


def _extend(client: MarketoClient, co: CustomObjectMapping, fields: tuple[dict[str, Any], ...]) -> None:
    if fields:
        _call(co, "add fields", lambda: client.add_custom_object_type_fields(co.api_name, list(fields)))
    _call(co, "approve", lambda: client.approve_custom_object_type(co.api_name))


def _call(co: CustomObjectMapping, what: str, run: Any) -> None:
    try:
        run()
    except MarketoError as error:
        way_out = (WAY_OUT.format(name=co.api_name) if error.code == "709"
                   else "fix the cause and run provision_marketo again (what was created stays)")
        raise ProvisioningFailed(f"{co.api_name}: {what} failed: {error}. Way out: {way_out}") from None
