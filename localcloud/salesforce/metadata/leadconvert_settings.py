"""``settings/LeadConvert.settings`` (Metadata API ``LeadConvertSettings``): the org's custom field
mappings for lead conversion. A deploy that holds it replaces the mappings the data layer's
``leadconvert`` module copies across (``objectMapping`` per output object Account, Contact or
Opportunity: ``mappingFields`` ``inputField`` on Lead -> ``outputField`` on the output object).

Checked as Salesforce's setup page checks them: the input object is Lead, the output object one of
the three, both fields exist (on the schema the deploy leaves) and are custom fields, and both have
the same type (the local org asks for equal types; Salesforce allows a few widening pairs, such as
text into a longer text, that it does not list completely). A broken mapping fails the deploy with
the file and the line of the offending field.

``settings/LeadConfig.settings`` (``LeadConfigSettings``): its ``shouldLeadConvertRequireValidation``
(Setup: "Enable Validation and Triggers from Lead Convert") decides whether triggers fire during a
conversion; its other fields are kept as deployed, without behaviour.

``standardValueSets/LeadStatus.standardValueSet`` (the ``LeadStatus`` StandardValueSet): its
``standardValue`` entries (``fullName``, ``label``, ``default``, ``converted``) replace the org's
``LeadStatus`` rows, so ``convertedStatus`` is checked against them. At most one value may be the
default; a value set without any converted value fails the deploy (nothing could be converted).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from localcloud.salesforce.data.leadconvert import (OUTPUT_OBJECTS, set_field_mappings, set_lead_config,
                                                    set_lead_statuses)
from localcloud.salesforce.metadata.package import Component, DeployPackageError, child_text, children, parse_xml

FILE_NAME = "settings/LeadConvert.settings"
CONFIG_FILE_NAME = "settings/LeadConfig.settings"  # LeadConfigSettings: shouldLeadConvertRequireValidation
STATUS_FILE_NAME = "standardValueSets/LeadStatus.standardValueSet"  # the Lead Status values (LeadStatus rows)


@dataclass(frozen=True)
class SettingsProblem:
    component: Component
    message: str
    needle: str | None = None  # text whose line the failure reports


def lead_convert_component(components: Sequence[Component]) -> Component | None:
    return next((c for c in components if c.file_name.endswith(FILE_NAME)), None)


def apply_lead_convert_settings(tx: Any, components: Sequence[Component]) -> list[SettingsProblem]:
    """Check and store the deploy's LeadConvertSettings and LeadConfigSettings (if it has them)."""
    config = next((c for c in components if c.file_name.endswith(CONFIG_FILE_NAME)), None)
    if config is not None:
        try:
            flag = child_text(parse_xml(config.body, config.file_name), "shouldLeadConvertRequireValidation")
        except DeployPackageError as error:
            return [SettingsProblem(config, str(error))]
        if flag is not None:
            set_lead_config(tx, flag.lower() == "true")
    status_problems = _apply_lead_statuses(tx, components)
    if status_problems:
        return status_problems
    component = lead_convert_component(components)
    if component is None:
        return []
    try:
        root = parse_xml(component.body, component.file_name)
    except DeployPackageError as error:
        return [SettingsProblem(component, str(error))]
    problems: list[SettingsProblem] = []
    mappings: dict[str, dict[str, str]] = {}
    lead = tx.schema.get("Lead")
    for mapping in children(root, "objectMapping"):
        source, target = child_text(mapping, "inputObject") or "", child_text(mapping, "outputObject") or ""
        if source != "Lead":
            problems.append(SettingsProblem(component, f"inputObject must be Lead, not '{source}'",
                                            f"<inputObject>{source}<"))
            continue
        if target not in OUTPUT_OBJECTS:
            problems.append(SettingsProblem(component, f"outputObject must be one of {', '.join(OUTPUT_OBJECTS)}, "
                                            f"not '{target}'", f"<outputObject>{target}<"))
            continue
        out = tx.schema.get(target)
        for pair in children(mapping, "mappingFields"):
            in_name, out_name = child_text(pair, "inputField") or "", child_text(pair, "outputField") or ""
            in_field, out_field = lead.find_field(in_name), out.find_field(out_name)
            if in_field is None or not in_field.custom:
                problems.append(SettingsProblem(component, f"inputField '{in_name}' is not a custom field of Lead",
                                                f"<inputField>{in_name}<"))
            elif out_field is None or not out_field.custom:
                problems.append(SettingsProblem(component, f"outputField '{out_name}' is not a custom field of "
                                                f"{target}", f"<outputField>{out_name}<"))
            elif in_field.type != out_field.type:
                problems.append(SettingsProblem(component, f"Lead.{in_name} ({in_field.type}) cannot be mapped to "
                                                f"{target}.{out_name} ({out_field.type})", f"<outputField>{out_name}<"))
            else:
                mappings.setdefault(target, {})[in_field.name] = out_field.name
    if not problems:
        set_field_mappings(tx, mappings)
    return problems


def _apply_lead_statuses(tx: Any, components: Sequence[Component]) -> list[SettingsProblem]:
    component = next((c for c in components if c.file_name.endswith(STATUS_FILE_NAME)), None)
    if component is None:
        return []
    try:
        root = parse_xml(component.body, component.file_name)
    except DeployPackageError as error:
        return [SettingsProblem(component, str(error))]
    statuses = []
    for value in children(root, "standardValue"):
        api = child_text(value, "fullName") or ""
        statuses.append((api, child_text(value, "label") or api, (child_text(value, "default") or "") == "true",
                         (child_text(value, "converted") or "") == "true"))
    if not statuses or not any(s[3] for s in statuses):
        return [SettingsProblem(component, "the LeadStatus value set needs a value with <converted>true</converted>",
                                "<StandardValueSet")]
    if sum(1 for s in statuses if s[2]) > 1:
        return [SettingsProblem(component, "only one LeadStatus value can be the default", "<default>true<")]
    set_lead_statuses(tx, statuses)
    return []
