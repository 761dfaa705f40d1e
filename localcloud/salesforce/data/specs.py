"""Plain, parsed metadata specs the metadata engineer hands to the schema.

They mirror the Metadata API's ``CustomObject`` / ``CustomField`` XML (``fullName``, ``type``,
``length``, ``precision``, ``scale``, ``required``, ``unique``, ``externalId``, ``referenceTo``,
``relationshipName``, ``defaultValue``, ``valueSet``...) with snake_case names.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PicklistValue:
    """One value of a picklist's ``valueSet``."""

    value: str
    label: str | None = None
    default: bool = False
    active: bool = True


@dataclass
class CustomFieldSpec:
    """A ``CustomField``. ``full_name`` is ``Field__c`` or ``Object__c.Field__c``.

    ``type`` is the Metadata API type: Text, TextArea, LongTextArea, Html, Email, Phone, Url,
    Number, Currency, Percent, Checkbox, Date, DateTime, Time, Picklist, MultiselectPicklist,
    Lookup, MasterDetail, AutoNumber (others fail with ``ValueError`` naming the type).
    ``default_value`` is the XML text as written (``false``, ``"abc"``, ``0``).
    """

    full_name: str
    type: str
    label: str | None = None
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    required: bool = False
    unique: bool = False
    external_id: bool = False
    case_sensitive: bool = False
    default_value: str | None = None
    reference_to: str | None = None
    relationship_name: str | None = None
    relationship_label: str | None = None
    delete_constraint: str | None = None
    picklist_values: list[PicklistValue] = field(default_factory=list)
    restricted_picklist: bool = False
    visible_lines: int | None = None
    display_format: str | None = None
    description: str | None = None
    inline_help_text: str | None = None


@dataclass
class CustomObjectSpec:
    """A ``CustomObject`` (``full_name`` like ``EC_Order__c``) with its fields.

    ``name_field_type`` is ``Text`` or ``AutoNumber`` (then ``name_field_display_format`` such
    as ``L-{0000}``). Applying a spec for an object that exists updates labels and adds/changes
    the given fields; nothing is ever dropped.
    """

    full_name: str
    label: str | None = None
    plural_label: str | None = None
    name_field_label: str = "Name"
    name_field_type: str = "Text"
    name_field_display_format: str | None = None
    sharing_model: str | None = None
    description: str | None = None
    fields: list[CustomFieldSpec] = field(default_factory=list)
