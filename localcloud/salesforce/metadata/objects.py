"""``objects/X.object`` (Metadata API ``CustomObject``) into the data layer's schema specs."""
from __future__ import annotations

from typing import Any, Mapping
from xml.etree.ElementTree import Element

from localcloud.salesforce.data.specs import CustomFieldSpec, CustomObjectSpec, FieldSetSpec, PicklistValue
from localcloud.salesforce.metadata.package import Component, child_text, children, parse_xml

SUPPORTED_FIELD_TYPES = {
    "Text", "TextArea", "LongTextArea", "Html", "Email", "Phone", "Url", "Number", "Currency",
    "Percent", "Checkbox", "Date", "DateTime", "Time", "Picklist", "MultiselectPicklist", "Lookup",
    "MasterDetail", "AutoNumber", "MetadataRelationship", "Summary", "Location",
}


#: objects a deploy creates: custom objects and settings, custom metadata types, platform events
CUSTOM_SUFFIXES = ("__c", "__mdt", "__e")


class ObjectDefinitionError(Exception):
    """A field or object definition the local org cannot apply; names the component and field."""

    def __init__(self, component: Component, message: str, field_name: str | None = None):
        super().__init__(message)
        self.component = component
        self.field_name = field_name


def _int(value: str | None) -> int | None:
    return int(float(value)) if value not in (None, "") else None


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


#: global value set name -> its values (``globalValueSets/X.globalValueSet``)
GlobalValueSets = Mapping[str, list[PicklistValue]]


def global_value_set_values(body: bytes, file_name: str) -> list[PicklistValue]:
    """The ``customValue`` entries of a ``GlobalValueSet`` component."""
    root = parse_xml(body, file_name)
    return [PicklistValue(value=child_text(v, "fullName") or "", label=child_text(v, "label") or child_text(v, "fullName") or "",
                          default=_bool(child_text(v, "default")),
                          active=(child_text(v, "isActive") or "true").lower() != "false")
            for v in children(root, "customValue")]


class UnknownValueSet(ValueError):
    pass


def _picklist(field_xml: Element, global_sets: GlobalValueSets | None = None) -> tuple[list[PicklistValue], bool]:
    values: list[PicklistValue] = []
    restricted = False
    for value_set in children(field_xml, "valueSet"):
        restricted = _bool(child_text(value_set, "restricted"))
        set_name = child_text(value_set, "valueSetName")
        if set_name:  # a picklist sharing a global value set: its values, and always restricted
            found = {k.lower(): v for k, v in (global_sets or {}).items()}.get(set_name.lower())
            if found is None:
                raise UnknownValueSet(f"no GlobalValueSet named {set_name} found")
            values.extend(found)
            restricted = True
        for definition in children(value_set, "valueSetDefinition"):
            for value in children(definition, "value"):
                name = child_text(value, "fullName") or ""
                values.append(
                    PicklistValue(
                        value=name,
                        label=child_text(value, "label") or name,
                        default=_bool(child_text(value, "default")),
                        active=child_text(value, "isActive", "true").lower() != "false",
                    )
                )
    # Older form: <picklist><picklistValues>
    for picklist in children(field_xml, "picklist"):
        for value in children(picklist, "picklistValues"):
            name = child_text(value, "fullName") or ""
            values.append(PicklistValue(value=name, label=name, default=_bool(child_text(value, "default"))))
    return values, restricted


def field_spec(field_xml: Element, global_sets: GlobalValueSets | None = None) -> CustomFieldSpec:
    values, restricted = _picklist(field_xml, global_sets)
    return CustomFieldSpec(
        full_name=child_text(field_xml, "fullName") or "",
        type=child_text(field_xml, "type") or "",
        label=child_text(field_xml, "label"),
        length=_int(child_text(field_xml, "length")),
        precision=_int(child_text(field_xml, "precision")),
        scale=_int(child_text(field_xml, "scale")),
        required=_bool(child_text(field_xml, "required")),
        unique=_bool(child_text(field_xml, "unique")),
        external_id=_bool(child_text(field_xml, "externalId")),
        case_sensitive=_bool(child_text(field_xml, "caseSensitive")),
        default_value=child_text(field_xml, "defaultValue"),
        reference_to=child_text(field_xml, "referenceTo"),
        relationship_name=child_text(field_xml, "relationshipName"),
        relationship_label=child_text(field_xml, "relationshipLabel"),
        delete_constraint=child_text(field_xml, "deleteConstraint"),
        summary=_summary(field_xml),
        picklist_values=values,
        restricted_picklist=restricted,
        visible_lines=_int(child_text(field_xml, "visibleLines")),
        display_format=child_text(field_xml, "displayFormat"),
        description=child_text(field_xml, "description"),
        inline_help_text=child_text(field_xml, "inlineHelpText"),
        formula=child_text(field_xml, "formula"),
        formula_treat_blanks_as=child_text(field_xml, "formulaTreatBlanksAs"),
    )


def _summary(field_xml: Element) -> dict[str, Any] | None:
    """A roll-up summary's definition (``summaryOperation``, ``summaryForeignKey``, ``summarizedField``,
    ``summaryFilterItems``), or None for other fields."""
    operation = child_text(field_xml, "summaryOperation")
    if not operation:
        return None
    filters = [{"field": child_text(item, "field") or "", "operation": child_text(item, "operation") or "",
                "value": child_text(item, "value"), "valueField": child_text(item, "valueField")}
               for item in children(field_xml, "summaryFilterItems")]
    return {"operation": operation.lower(), "foreign_key": child_text(field_xml, "summaryForeignKey") or "",
            "field": child_text(field_xml, "summarizedField"), "filters": filters}


def field_set_spec(field_set_xml: Element) -> FieldSetSpec:
    """A ``<fieldSets>`` entry: its ``displayedFields`` (``availableFields`` are only offered in Setup)."""
    name = child_text(field_set_xml, "fullName") or ""
    return FieldSetSpec(
        full_name=name,
        label=child_text(field_set_xml, "label") or name,
        description=child_text(field_set_xml, "description"),
        fields=[(child_text(f, "field") or "", _bool(child_text(f, "isRequired")))
                for f in children(field_set_xml, "displayedFields")],
    )


def object_spec(component: Component, global_sets: GlobalValueSets | None = None) -> CustomObjectSpec:
    root = parse_xml(component.body, component.file_name)
    name = component.full_name
    is_custom = name.endswith(CUSTOM_SUFFIXES)
    fields: list[CustomFieldSpec] = []
    for field_xml in children(root, "fields"):
        try:
            spec = field_spec(field_xml, global_sets)
        except UnknownValueSet as error:
            field_name = child_text(field_xml, "fullName") or ""
            raise ObjectDefinitionError(component, f"Field {field_name}: {error}", field_name) from error
        if not spec.full_name.endswith("__c"):
            continue  # customisation of a standard field (help text, picklist values): nothing to apply
        if spec.type not in SUPPORTED_FIELD_TYPES:
            raise ObjectDefinitionError(
                component, f"Field {spec.full_name}: the local org does not support field type '{spec.type}'", spec.full_name
            )
        fields.append(spec)
    name_field = children(root, "nameField")
    spec = CustomObjectSpec(
        full_name=name,
        label=child_text(root, "label") or (name.rsplit("__", 1)[0].replace("_", " ") if is_custom else None),
        plural_label=child_text(root, "pluralLabel"),
        sharing_model=child_text(root, "sharingModel"),
        description=child_text(root, "description"),
        fields=fields,
        custom_settings_type=child_text(root, "customSettingsType"),
        publish_behavior=child_text(root, "publishBehavior"),
        field_sets=[field_set_spec(x) for x in children(root, "fieldSets")],
        sharing_reasons=_sharing_reasons(component, root),
    )
    if name_field:
        spec.name_field_label = child_text(name_field[0], "label") or "Name"
        spec.name_field_type = child_text(name_field[0], "type") or "Text"
        spec.name_field_display_format = child_text(name_field[0], "displayFormat")
    return spec


def _sharing_reasons(component: Component, root: Any) -> list[tuple[str, str]]:
    """``<sharingReasons><fullName>Reason__c</fullName><label>..</label></sharingReasons>``: Apex sharing reasons."""
    out = []
    for reason in children(root, "sharingReasons"):
        name = (child_text(reason, "fullName") or "").strip()
        if not name.endswith("__c") or not name[:-3].replace("_", "").isalnum():
            raise ObjectDefinitionError(component, f"Sharing reason {name!r}: the API name must end with __c",
                                        name or "sharingReasons")
        out.append((name, child_text(reason, "label") or name[:-3].replace("_", " ")))
    return out


def is_custom_object(component: Component) -> bool:
    return component.full_name.endswith(CUSTOM_SUFFIXES)
