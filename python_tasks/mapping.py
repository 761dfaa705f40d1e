"""Load and validate ``ecbridge.yml``, the single source of truth of ECBridge.

The mapping says which Salesforce object is the member, how EC payload fields map to Salesforce
fields (and with what types), the order and order-line objects, and which Salesforce fields go to
which Marketo lead fields and custom-object fields.

Public API::

    from python_tasks.mapping import load_mapping, MappingError
    mapping = load_mapping("ecbridge.yml")          # raises MappingError listing every problem
    mapping.member.object_name                      # "Contact"
    mapping.member.key.sf_field                     # "EC_Member_Id__c"
    mapping.order.fields                            # tuple[FieldMapping, ...]
    mapping.marketo.lead.fields                     # tuple[MarketoField, ...]
    mapping.marketo.custom_objects[0].api_name      # "ecOrder_c"
    mapping.salesforce_fields()                     # every Salesforce field the mapping needs

Every problem carries the file and line it was found on, what is wrong and what would be right::

    ecbridge.yml:21: salesforce.member.fields.phone.type: 'strng' is not a field type
      (expected one of: string, email, date, datetime, currency, decimal, integer, boolean, picklist)

Run ``python -m python_tasks.mapping [ecbridge.yml]`` to validate a file from the shell.
"""
from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Iterable

import yaml

__all__ = [
    "AGGREGATES",
    "ConsentMapping",
    "RESUBSCRIBE_POLICIES",
    "CustomObjectMapping",
    "EmailMapping",
    "FieldMapping",
    "FieldType",
    "IngestErrorObject",
    "LeadMapping",
    "Mapping",
    "MappingError",
    "MarketoField",
    "MarketoMapping",
    "MemberMapping",
    "OrderLineMapping",
    "OrderMapping",
    "Problem",
    "SalesforceField",
    "SourceRef",
    "WriteBack",
    "load_mapping",
    "parse_mapping",
    "person_contact_field",
]

DEFAULT_MAPPING_FILE = "ecbridge.yml"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """One thing wrong in the mapping file."""

    file: str
    line: int
    path: str  # dotted YAML path, e.g. "salesforce.member.fields.phone.type"
    message: str  # what is wrong
    expected: str = ""  # what would be right

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}: {self.path}: {self.message}" if self.path else (
            f"{self.file}:{self.line}: {self.message}"
        )
        if self.expected:
            text += f" (expected {self.expected})"
        return text


class MappingError(Exception):
    """The mapping file is invalid. ``problems`` lists every problem found, in file order."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.path))
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in the mapping file:"
        super().__init__("\n".join([header] + [f"  {p}" for p in self.problems]))


# --------------------------------------------------------------------------------------------
# The typed mapping
# --------------------------------------------------------------------------------------------
class FieldType(str, Enum):
    """The type an EC payload value must have, which also decides the Salesforce field type."""

    STRING = "string"
    EMAIL = "email"
    DATE = "date"
    DATETIME = "datetime"
    CURRENCY = "currency"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    PICKLIST = "picklist"

    @property
    def salesforce_type(self) -> str:
        """The Metadata API ``<type>`` of a custom field holding this type."""
        return {
            FieldType.STRING: "Text",
            FieldType.EMAIL: "Email",
            FieldType.DATE: "Date",
            FieldType.DATETIME: "DateTime",
            FieldType.CURRENCY: "Currency",
            FieldType.DECIMAL: "Number",
            FieldType.INTEGER: "Number",
            FieldType.BOOLEAN: "Checkbox",
            FieldType.PICKLIST: "Picklist",
        }[self]

    @property
    def apex_type(self) -> str:
        """The Apex type of a field of this type."""
        return {
            FieldType.STRING: "String",
            FieldType.EMAIL: "String",
            FieldType.DATE: "Date",
            FieldType.DATETIME: "Datetime",
            FieldType.CURRENCY: "Decimal",
            FieldType.DECIMAL: "Decimal",
            FieldType.INTEGER: "Decimal",
            FieldType.BOOLEAN: "Boolean",
            FieldType.PICKLIST: "String",
        }[self]

    @property
    def marketo_type(self) -> str:
        """The Marketo ``dataType`` a Marketo field fed from this type has by default."""
        return {
            FieldType.STRING: "string",
            FieldType.EMAIL: "email",
            FieldType.DATE: "date",
            FieldType.DATETIME: "datetime",
            FieldType.CURRENCY: "currency",
            FieldType.DECIMAL: "float",
            FieldType.INTEGER: "integer",
            FieldType.BOOLEAN: "boolean",
            FieldType.PICKLIST: "string",
        }[self]


# Marketo dataTypes each Salesforce-side type may feed.
MARKETO_COMPATIBLE: dict[FieldType, frozenset[str]] = {
    FieldType.STRING: frozenset({"string", "text", "phone", "url", "email"}),
    FieldType.EMAIL: frozenset({"email", "string", "text"}),
    FieldType.DATE: frozenset({"date", "datetime", "string"}),
    FieldType.DATETIME: frozenset({"datetime", "string"}),
    FieldType.CURRENCY: frozenset({"currency", "float", "integer"}),
    FieldType.DECIMAL: frozenset({"float", "currency"}),
    FieldType.INTEGER: frozenset({"integer", "float", "currency"}),
    FieldType.BOOLEAN: frozenset({"boolean"}),
    FieldType.PICKLIST: frozenset({"string", "text"}),
}
MARKETO_TYPES = frozenset(
    {"string", "text", "email", "phone", "url", "integer", "float", "currency", "date", "datetime",
     "boolean", "reference"}
)
AGGREGATES = ("join", "count")


@dataclass(frozen=True)
class FieldMapping:
    """One EC payload field mapped to one Salesforce field."""

    ec_name: str  # key in the event's ``data`` (or in one order line)
    sf_field: str  # Salesforce field API name
    type: FieldType
    required: bool = False
    length: int | None = None  # string only: maximum length
    precision: int | None = None  # currency/decimal/integer: total digits
    scale: int | None = None  # currency/decimal: digits after the point (integer: 0)
    values: tuple[str, ...] = ()  # picklist only: allowed values, in order
    line: int = 0

    @property
    def is_custom(self) -> bool:
        """True for a custom field (``__c``, or a person account's ``__pc``), which the generator creates."""
        return self.sf_field.endswith(CUSTOM_SUFFIXES)

    @property
    def label(self) -> str:
        return field_label(self.sf_field)


@dataclass(frozen=True)
class MemberMapping:
    """The Salesforce object a shopper becomes (Contact by default)."""

    object_name: str  # "Contact" | "Lead" | "Account"
    person_account: bool  # True when object_name is "Account" holding Person Accounts
    key: FieldMapping  # the member key (External ID, Unique), e.g. memberId -> EC_Member_Id__c
    email: FieldMapping  # trimmed and lower-cased before storing
    fields: tuple[FieldMapping, ...]  # every EC field of a member event (key and email included)
    line: int = 0
    # Person Accounts: DeveloperName of the Account record type with IsPersonType that new members get
    person_record_type: str = "PersonAccount"
    converts_to: str | None = None  # "Contact": Leads converted in Salesforce become Contact members

    @property
    def key_field(self) -> str:
        return self.key.sf_field

    @property
    def converted_fields(self) -> tuple[FieldMapping, ...]:
        """The member fields a converted member's Contact carries too: the custom ones and the
        standard Lead fields Contact has under the same name (Company, the address... stay behind)."""
        return tuple(f for f in self.fields if f.is_custom or f.sf_field in CONTACT_SAME_FIELDS)

    def field_for(self, ec_name: str) -> FieldMapping | None:
        return next((f for f in self.fields if f.ec_name == ec_name), None)


@dataclass(frozen=True)
class OrderMapping:
    """The order object (EC_Order__c by default)."""

    object_name: str
    label: str
    plural_label: str
    key: FieldMapping  # the order number (External ID, Unique)
    member_key: FieldMapping  # the member key kept on the order (indexed text)
    member_lookup: str  # Lookup(member object) field, e.g. Member__c
    last_product_name: str | None  # Text 255 filled with the last line's product name
    fields: tuple[FieldMapping, ...]
    line: int = 0
    converted_member_lookup: str | None = None  # Lookup(Contact) when the member converts_to Contact

    @property
    def key_field(self) -> str:
        return self.key.sf_field

    @property
    def member_relationship(self) -> str:
        """Relationship name of the member lookup (``Member__c`` -> ``Member__r``)."""
        return relationship_name(self.member_lookup)

    def field_for(self, ec_name: str) -> FieldMapping | None:
        return next((f for f in self.fields if f.ec_name == ec_name), None)


@dataclass(frozen=True)
class OrderLineMapping:
    """The order line object (EC_Order_Line__c by default): the ``lines`` array of an order event."""

    object_name: str
    label: str
    plural_label: str
    source: str  # key of the array in the order event's data, e.g. "lines"
    order_lookup: str  # Lookup(order object), e.g. Order__c
    key_field: str  # External ID, Unique: <orderNumber>-<position from 1>
    fields: tuple[FieldMapping, ...]
    product_name: FieldMapping | None = None  # the line field copied to the order's last_product_name
    line: int = 0

    @property
    def order_relationship(self) -> str:
        return relationship_name(self.order_lookup)

    def field_for(self, ec_name: str) -> FieldMapping | None:
        return next((f for f in self.fields if f.ec_name == ec_name), None)


@dataclass(frozen=True)
class WriteBack:
    """Fields on the member and the order that push_marketo writes after each push."""

    marketo_id: str  # Marketo lead id (member) or custom object marketoGUID (order); Text 64
    pushed_at: str  # DateTime of the last good push
    error: str  # Text 255: the last push error, cleared on success
    # DateTime set by the generated trigger when a field the push sends changes (never by the
    # push's own write-back), so that a push reads only real changes (see python_tasks/push/state.py)
    changed_at: str = "Marketo_Changed_At__c"
    # DateTime: the changed_at value the last good push sent; the record is due while they differ
    pushed_change: str = "Marketo_Pushed_Change__c"

    def names(self) -> tuple[tuple[str, str], ...]:
        """(yaml key, field name) of every write-back field."""
        return (("marketo_id", self.marketo_id), ("pushed_at", self.pushed_at), ("error", self.error),
                ("changed_at", self.changed_at), ("pushed_change", self.pushed_change))


@dataclass(frozen=True)
class IngestErrorObject:
    """Where rejected EC events are kept for correction and replay (fixed shape)."""

    object_name: str = "EC_Ingest_Error__c"
    event_id: str = "Event_Id__c"
    event_type: str = "Event_Type__c"
    error_code: str = "Error_Code__c"
    field: str = "Field__c"
    reason: str = "Reason__c"
    payload: str = "Payload__c"
    replayed: str = "Replayed__c"


@dataclass(frozen=True)
class SourceRef:
    """Where a Marketo field's value comes from in Salesforce.

    ``scope`` is one of:
      - ``member``: a field of the member record
      - ``last_order``: a field of the member's most recent order (by the order's date field)
      - ``order``: a field of the order (custom objects)
      - ``lines``: the order's lines; with ``aggregate`` ``join`` (field values joined with
        ``separator``) or ``count`` (``field`` is None)
    """

    scope: str
    field: str | None
    aggregate: str | None = None
    separator: str = ", "

    def __str__(self) -> str:
        return f"{self.scope}.{self.field}" if self.field else self.scope


@dataclass(frozen=True)
class MarketoField:
    """One Marketo field (lead or custom object) and the Salesforce value that feeds it."""

    name: str  # Marketo REST API name, e.g. "lastOrderNumber"
    source: SourceRef
    type: str  # Marketo dataType expected (string, email, datetime, currency, integer, text, ...)
    source_type: FieldType | None  # type of the Salesforce source (None for Id)
    line: int = 0


@dataclass(frozen=True)
class LeadMapping:
    lookup_field: str  # Marketo lead field used as lookupField (email by default)
    fields: tuple[MarketoField, ...]
    line: int = 0

    def field_named(self, name: str) -> MarketoField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class CustomObjectMapping:
    """A Marketo custom object fed with one record per Salesforce order."""

    api_name: str  # e.g. "ecOrder_c"
    source: str  # "order"
    dedupe_field: str  # Marketo field used with dedupeBy=dedupeFields, e.g. "orderNumber"
    link_field: str  # custom-object field linking to the lead, e.g. "leadId"
    lead_link_field: str  # lead field the link holds, e.g. "id"
    fields: tuple[MarketoField, ...]
    line: int = 0

    def field_named(self, name: str) -> MarketoField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class EmailMapping:
    """The order email (``marketo.email``): a program with an email script token listing the person's
    orders and a sample email that uses it with the last-order lead tokens (python_tasks/marketo/emails.py)."""

    program: str  # program name, created in ``folder``
    folder: str  # parent folder of the program (by name)
    template_folder: str  # folder of the email template (by name)
    custom_object: str  # e.g. "ecOrder_c"
    order_number: str  # custom object fields shown for each order
    order_date: str
    product_names: str
    total: str
    last_order_number: str  # lead fields shown by the sample email
    last_product_name: str
    time_zone: str  # dates in the email
    instance_time_zone: str  # zone in which the Marketo instance hands datetime fields to scripts
    locale: str
    date_format: str  # Java SimpleDateFormat
    currency_format: str  # Java DecimalFormat
    max_orders: int
    script_token: str
    sample_email: str
    subject: str
    from_name: str
    from_email: str
    no_orders_text: str
    line: int = 0


@dataclass(frozen=True)
class MarketoMapping:
    lead: LeadMapping
    custom_objects: tuple[CustomObjectMapping, ...]
    email: EmailMapping | None = None


@dataclass(frozen=True)
class SalesforceField:
    """A Salesforce field the mapping needs: custom ones are generated, standard ones must exist."""

    object_name: str
    name: str
    metadata_type: str  # Metadata API type: Text, Email, Date, DateTime, Currency, Number,
    # Checkbox, Picklist, Lookup, LongTextArea
    label: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None
    values: tuple[str, ...] = ()
    external_id: bool = False
    unique: bool = False
    reference_to: str | None = None
    relationship_name: str | None = None  # child relationship name on the parent (Lookup)
    relationship_label: str | None = None
    description: str = ""

    @property
    def is_custom(self) -> bool:
        return self.name.endswith(CUSTOM_SUFFIXES)

    @property
    def definition(self) -> tuple[str, str]:
        """(object, field) where the field is defined and its field-level security is granted: a person
        account's person fields are Contact's (``Account.EC_Member_Id__pc`` -> ``Contact.EC_Member_Id__c``,
        ``Account.PersonEmail`` -> ``Contact.Email``); every other field is its own."""
        if self.object_name == "Account":
            contact = person_contact_field(self.name)
            if contact is not None:
                return ("Contact", contact)
        return (self.object_name, self.name)


RESUBSCRIBE_NEVER = "never"
RESUBSCRIBE_EXPLICIT = "explicit_ec_consent_after_unsubscribe"
RESUBSCRIBE_POLICIES = (RESUBSCRIBE_NEVER, RESUBSCRIBE_EXPLICIT)
# The standard Salesforce field holding the email opt-out, per member object.
OPT_OUT_FIELDS = {"Contact": "HasOptedOutOfEmail", "Lead": "HasOptedOutOfEmail", "Account": "PersonHasOptedOutOfEmail"}


@dataclass(frozen=True)
class ConsentMapping:
    """Consent to marketing email, declared once (``consent:``): the EC field carrying it, the Salesforce
    fields holding it and the Marketo fields receiving it, and when a push may subscribe a person again.

    An opt-out anywhere wins everywhere: an EC event withdrawing consent sets ``opted_out`` (with
    ``reason`` and ``changed_at``) on the member, the push sends ``unsubscribed = true`` with
    ``unsubscribed_reason``; a push never sends ``unsubscribed = false`` to a person unsubscribed in
    Marketo unless ``resubscribe`` allows it (``explicit_ec_consent_after_unsubscribe``: an EC event
    giving consent, recorded in ``changed_at``, later than the Marketo unsubscribe).
    """

    ec_field: FieldMapping  # the member's boolean EC field: true = may receive marketing email
    opted_out: str  # standard Checkbox: HasOptedOutOfEmail (PersonHasOptedOutOfEmail on a Person Account)
    reason: str  # custom Text(255): where the opt-out came from (what Marketo's unsubscribedReason says)
    changed_at: str  # custom DateTime: occurredAt of the last EC event that changed the member's consent
    unsubscribed: str = "unsubscribed"  # Marketo lead field (boolean)
    unsubscribed_reason: str = "unsubscribedReason"  # Marketo lead field (text)
    resubscribe: str = RESUBSCRIBE_NEVER
    line: int = 0

    @property
    def resubscribe_allowed(self) -> bool:
        return self.resubscribe == RESUBSCRIBE_EXPLICIT

    @property
    def ec_flag(self) -> str:
        """The Salesforce field holding the EC site's own flag (beside the opt-out)."""
        return self.ec_field.sf_field

    def member_fields(self) -> list[str]:
        """What the push reads of a member for consent."""
        return [self.ec_flag, self.opted_out, self.reason, self.changed_at]


@dataclass(frozen=True)
class Mapping:
    """The whole validated mapping. Build it with :func:`load_mapping`."""

    path: Path
    version: int
    api_version: str  # e.g. "62.0"
    permission_set: str  # e.g. "ECBridge_Integration"
    member: MemberMapping
    order: OrderMapping
    order_line: OrderLineMapping
    last_event_at: str  # DateTime field on member and order: occurredAt of the last applied event
    write_back: WriteBack
    marketo: MarketoMapping
    ingest_error: IngestErrorObject = field(default_factory=IngestErrorObject)
    consent: ConsentMapping | None = None  # consent to marketing email (the ``consent:`` section)

    # ---- helpers for the generator, push_marketo and validate_mapping ----
    def objects(self) -> tuple[str, ...]:
        """Every Salesforce object the mapping touches, member first."""
        return (
            self.member.object_name,
            self.order.object_name,
            self.order_line.object_name,
            self.ingest_error.object_name,
        )

    def custom_objects(self) -> tuple[str, ...]:
        """The Salesforce objects the generator creates."""
        return tuple(o for o in self.objects() if o.endswith("__c"))

    def salesforce_fields(self, object_name: str | None = None) -> list[SalesforceField]:
        """Every Salesforce field the mapping needs (standard and custom), object by object.

        Custom fields (``is_custom``) are what the generator writes; standard ones must exist.
        """
        fields = _salesforce_fields(self)
        if object_name is None:
            return fields
        return [f for f in fields if f.object_name.lower() == object_name.lower()]

    def converted_view(self) -> "Mapping | None":
        """With ``member.converts_to``: the mapping as push_marketo sees converted members: the Contact
        is the member (the member fields it carries, ``converted_fields``), the order's member lookup
        is its Contact lookup, and the Marketo fields fed from Lead-only fields are left out (the
        person keeps what the Lead last sent). None when members do not convert."""
        member, order = self.member, self.order
        if not member.converts_to or not order.converted_member_lookup:
            return None
        kept = {f.sf_field.lower() for f in member.converted_fields} | {
            name.lower() for _key, name in self.write_back.names()} | {self.last_event_at.lower(), "id"}
        lead_fields = tuple(f for f in self.marketo.lead.fields
                            if f.source.scope != "member" or not f.source.field or f.source.field.lower() in kept)
        return replace(
            self,
            member=replace(member, object_name=member.converts_to, fields=member.converted_fields, converts_to=None),
            order=replace(order, member_lookup=order.converted_member_lookup,
                          converted_member_lookup=order.member_lookup),
            marketo=replace(self.marketo, lead=replace(self.marketo.lead, fields=lead_fields)),
        )

    def member_fields_for_marketo(self) -> list[str]:
        """Member fields push_marketo reads (sources of lead fields with scope ``member``, and consent)."""
        names = [f.source.field for f in self.marketo.lead.fields if f.source.scope == "member" and f.source.field]
        if self.consent is not None:
            names += self.consent.member_fields()
        return _unique(names)

    def order_fields_for_marketo(self) -> list[str]:
        """Order fields push_marketo reads (last_order.* on the lead, order.* on custom objects)."""
        names = [f.source.field for f in self.marketo.lead.fields if f.source.scope == "last_order"]
        for co in self.marketo.custom_objects:
            names += [f.source.field for f in co.fields if f.source.scope == "order"]
        return _unique(n for n in names if n)

    def line_fields_for_marketo(self) -> list[str]:
        """Order-line fields push_marketo reads (lines.* on custom objects)."""
        names: list[str] = []
        for co in self.marketo.custom_objects:
            names += [f.source.field for f in co.fields if f.source.scope == "lines" and f.source.field]
        return _unique(names)


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------
def field_label(api_name: str) -> str:
    """``EC_Member_Id__c`` (or ``__pc``) -> ``EC Member Id``; ``Order__c`` -> ``Order``."""
    base = api_name[:-4] if api_name.endswith(PERSON_SUFFIX) else api_name
    base = base[:-3] if base.endswith(("__c", "__r")) else base
    return base.replace("_", " ").strip()


def relationship_name(lookup_field: str) -> str:
    """``Member__c`` -> ``Member__r`` (a standard ``AccountId`` -> ``Account``)."""
    if lookup_field.endswith("__c"):
        return lookup_field[:-3] + "__r"
    if lookup_field.endswith("Id"):
        return lookup_field[:-2]
    return lookup_field


# Person Accounts: Account shows the person contact's custom fields with this suffix (Contact's
# EC_Member_Id__c is Account's EC_Member_Id__pc), and its standard fields named Person<Field>
# (Contact's Email is Account's PersonEmail) or, for the name, as they are (FirstName, LastName...).
PERSON_SUFFIX = "__pc"
CUSTOM_SUFFIXES = ("__c", PERSON_SUFFIX)
PERSON_NAME_FIELDS = frozenset({"FirstName", "LastName", "MiddleName", "Suffix", "Salutation"})
# Contact fields a person account has only as Person<Field> (mapping them on Account is an error).
CONTACT_ONLY_FIELDS = frozenset({
    "Email", "Birthdate", "MobilePhone", "HomePhone", "OtherPhone", "Title", "Department", "AssistantName",
    "AssistantPhone", "LeadSource", "HasOptedOutOfEmail", "HasOptedOutOfFax", "DoNotCall", "MailingStreet",
    "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry", "OtherStreet", "OtherCity", "OtherState",
    "OtherPostalCode", "OtherCountry", "EmailBouncedDate", "EmailBouncedReason",
})


def person_contact_field(account_field: str) -> str | None:
    """The person contact's field behind a person account's field, or None for an Account field.

    ``EC_Member_Id__pc`` -> ``EC_Member_Id__c``; ``PersonEmail`` -> ``Email``; ``FirstName`` -> ``FirstName``;
    ``Phone`` or ``EC_Segment__c`` (Account's own) -> None.
    """
    if account_field.endswith(PERSON_SUFFIX):
        return account_field[: -len(PERSON_SUFFIX)] + "__c"
    if account_field in PERSON_NAME_FIELDS:
        return account_field
    if re.fullmatch(r"Person[A-Z]\w*", account_field) and account_field not in ("PersonContactId",):
        return account_field[len("Person"):]
    return None


def _unique(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(name, None)
    return list(seen)


API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__c)?$")
# A mapped field: also a person account's person field (``__pc``), allowed on a Person Account member only
FIELD_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?:__c|__pc)?$")
CUSTOM_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")
EC_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MARKETO_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
MEMBER_OBJECTS = ("Contact", "Lead", "Account")
#: standard Lead fields that Contact has under the same name (Salesforce's lead conversion copies them)
CONTACT_SAME_FIELDS = frozenset({"FirstName", "LastName", "Salutation", "Title", "Email", "Phone", "MobilePhone",
                                 "Fax", "LeadSource", "Description", "DoNotCall", "HasOptedOutOfEmail",
                                 "HasOptedOutOfFax", "IndividualId"})
CONVERTS_TO = ("Contact",)
# Standard fields that are always required on their object: a permission set cannot grant them.
ALWAYS_REQUIRED_STANDARD_FIELDS = frozenset({"LastName", "Company", "Name"})


# --------------------------------------------------------------------------------------------
# A YAML loader that remembers line numbers and refuses duplicate keys
# --------------------------------------------------------------------------------------------
class LocatedDict(dict):
    """A YAML mapping with the line of the mapping and of each key (1-based)."""

    line: int = 0
    key_lines: dict[str, int]


class LocatedList(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []  # (key, first line, repeated line)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        value = loader.construct_object(value_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result.key_lines:
            loader.duplicates.append((str(key), result.key_lines[key], line))
            continue
        result[key] = value
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode, deep: bool = False) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
class _Reader:
    """Walks the located YAML and records problems instead of stopping at the first one."""

    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.broken_fields: set[str] = set()  # Salesforce fields whose mapping is already reported

    def problem(self, line: int, path: str, message: str, expected: str = "") -> None:
        self.problems.append(Problem(self.file, line, path, message, expected))

    @staticmethod
    def line_of(parent: Any, key: str, default: int = 1) -> int:
        if isinstance(parent, LocatedDict):
            return parent.key_lines.get(key, parent.line or default)
        return default

    def section(self, parent: Any, key: str, path: str, *, required: bool = True) -> LocatedDict | None:
        """A nested mapping ``parent[key]``; records a problem when missing or not a mapping."""
        where = f"{path}.{key}" if path else key
        if not isinstance(parent, dict):
            return None
        if key not in parent or parent[key] is None:
            if required:
                self.problem(self.line_of(parent, key), where, "missing section", f"a mapping under '{key}:'")
            return None
        value = parent[key]
        if not isinstance(value, LocatedDict):
            self.problem(self.line_of(parent, key), where,
                         f"is a {_kind(value)}, not a mapping", f"'{key}:' followed by 'name: value' lines")
            return None
        return value

    def keys(self, node: LocatedDict, path: str, allowed: Iterable[str], required: Iterable[str] = ()) -> None:
        """Unknown keys (with a close match suggested) and missing required keys."""
        allowed = list(allowed)
        for key in node:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"'{close[0]}'" if close else "one of: " + ", ".join(allowed)
                self.problem(node.key_lines.get(key, node.line), f"{path}.{key}" if path else str(key),
                             "unknown key", hint)
        for key in required:
            if key not in node or node[key] is None:
                self.problem(node.line, f"{path}.{key}" if path else key, "missing required key",
                             f"'{key}:' under {path or 'the top level'}")

    def string(self, node: Any, key: str, path: str, *, default: str | None = None,
               pattern: re.Pattern[str] | None = None, expected: str = "") -> str | None:
        where = f"{path}.{key}"
        if not isinstance(node, dict) or node.get(key) is None:
            return default
        value = node[key]
        if not isinstance(value, str) or not value.strip():
            self.problem(self.line_of(node, key), where, f"{_show(value)} is a {_kind(value)}, not a name",
                         expected or "a non-empty string")
            return default
        if pattern is not None and not pattern.match(value):
            self.problem(self.line_of(node, key), where, f"'{value}' is not a valid name", expected)
            return default
        return value

    def integer(self, node: Any, key: str, path: str, *, low: int, high: int) -> int | None:
        if not isinstance(node, dict) or node.get(key) is None:
            return None
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(self.line_of(node, key), f"{path}.{key}", f"{_show(value)} is a {_kind(value)}",
                         f"a whole number from {low} to {high}")
            return None
        if not low <= value <= high:
            self.problem(self.line_of(node, key), f"{path}.{key}", f"{value} is out of range",
                         f"a whole number from {low} to {high}")
            return None
        return value

    def boolean(self, node: Any, key: str, path: str, default: bool = False) -> bool:
        if not isinstance(node, dict) or node.get(key) is None:
            return default
        value = node[key]
        if not isinstance(value, bool):
            self.problem(self.line_of(node, key), f"{path}.{key}", f"{_show(value)} is a {_kind(value)}",
                         "true or false")
            return default
        return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        return "decimal number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "mapping"
    if value is None:
        return "empty value"
    return type(value).__name__


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else _kind(value)


FIELD_KEYS = ("field", "type", "required", "length", "precision", "scale", "values")
FIELD_TYPES = ", ".join(t.value for t in FieldType)


def _read_field(r: _Reader, ec_name: Any, node: Any, path: str, line: int) -> FieldMapping | None:
    where = f"{path}.{ec_name}"
    if not isinstance(ec_name, str) or not EC_NAME.match(ec_name):
        r.problem(line, where, f"{_show(ec_name)} is not a valid EC field name",
                  "a name of letters, digits and _ starting with a letter")
        return None
    if not isinstance(node, LocatedDict):
        r.problem(line, where, f"is a {_kind(node)}, not a field mapping",
                  "{ field: Api_Name__c, type: string, length: 64 }")
        return None
    r.keys(node, where, FIELD_KEYS, required=("field", "type"))
    sf_field = r.string(node, "field", where, pattern=FIELD_API_NAME,
                        expected="a Salesforce field API name such as Order_Date__c")
    raw_type = node.get("type")
    ftype: FieldType | None = None
    if raw_type is not None:
        try:
            ftype = FieldType(raw_type)
        except ValueError:
            close = difflib.get_close_matches(str(raw_type), [t.value for t in FieldType], n=1)
            r.problem(r.line_of(node, "type"), f"{where}.type", f"{_show(raw_type)} is not a field type",
                      f"'{close[0]}'" if close else f"one of: {FIELD_TYPES}")
    required = r.boolean(node, "required", where)
    length = r.integer(node, "length", where, low=1, high=255)
    precision = r.integer(node, "precision", where, low=1, high=18)
    scale = r.integer(node, "scale", where, low=0, high=17)
    values: tuple[str, ...] = ()
    raw_values = node.get("values")
    if ftype is None or sf_field is None:
        if sf_field is not None:
            r.broken_fields.add(sf_field.lower())
        return None
    if ftype is not FieldType.STRING and length is not None:
        r.problem(r.line_of(node, "length"), f"{where}.length", f"length applies to string fields, not {ftype.value}",
                  "no 'length' here")
    if ftype not in (FieldType.CURRENCY, FieldType.DECIMAL, FieldType.INTEGER) and (
        precision is not None or scale is not None
    ):
        key = "precision" if precision is not None else "scale"
        r.problem(r.line_of(node, key), f"{where}.{key}", f"{key} applies to currency, decimal and integer fields",
                  f"no '{key}' on a {ftype.value} field")
    if ftype is FieldType.INTEGER and scale not in (None, 0):
        r.problem(r.line_of(node, "scale"), f"{where}.scale", "an integer field has no decimals", "scale: 0")
    if precision is not None and scale is not None and scale >= precision:
        r.problem(r.line_of(node, "scale"), f"{where}.scale", f"scale {scale} is not below precision {precision}",
                  f"a scale from 0 to {precision - 1}")
    if ftype is FieldType.PICKLIST:
        if not isinstance(raw_values, list) or not raw_values:
            r.problem(r.line_of(node, "values" if "values" in node else "type"), f"{where}.values",
                      "a picklist needs its values", "values: [a, b, c]")
        else:
            bad = [v for v in raw_values if not isinstance(v, str) or not v.strip() or len(v) > 255]
            if bad:
                r.problem(r.line_of(node, "values"), f"{where}.values", f"{_show(bad[0])} is not a picklist value",
                          "non-empty strings of at most 255 characters")
            dupes = sorted({v for v in raw_values if raw_values.count(v) > 1}, key=str)
            if dupes:
                r.problem(r.line_of(node, "values"), f"{where}.values", f"{_show(dupes[0])} is listed twice",
                          "each picklist value once")
            values = tuple(str(v) for v in raw_values)
    elif raw_values is not None:
        r.problem(r.line_of(node, "values"), f"{where}.values", f"values apply to picklist fields, not {ftype.value}",
                  "type: picklist, or no 'values'")
    if ftype is FieldType.STRING and length is None and sf_field.endswith(CUSTOM_SUFFIXES):
        length = 255
    if ftype in (FieldType.CURRENCY, FieldType.DECIMAL):
        precision = precision or 18
        scale = scale if scale is not None else (0 if ftype is FieldType.CURRENCY else 2)
    if ftype is FieldType.INTEGER:
        precision, scale = precision or 18, 0
    suffix = next((s for s in CUSTOM_SUFFIXES if sf_field.endswith(s)), None)
    if suffix is not None and len(sf_field) > 40 + len(suffix):
        r.problem(r.line_of(node, "field"), f"{where}.field", f"'{sf_field}' is longer than 40 characters before {suffix}",
                  "a shorter API name")
    return FieldMapping(ec_name=ec_name, sf_field=sf_field, type=ftype, required=required, length=length,
                        precision=precision, scale=scale, values=values, line=r.line_of(node, "field", node.line))


def _read_fields(r: _Reader, parent: LocatedDict | None, path: str, object_label: str,
                 person_fields: bool = False) -> tuple[FieldMapping, ...]:
    """The ``fields`` of a section; ``__pc`` fields only where ``person_fields`` (a Person Account member)."""
    node = r.section(parent, "fields", path)
    if node is None:
        return ()
    where = f"{path}.fields"
    if not node:
        r.problem(node.line, where, "no fields mapped", "at least one 'ecField: { field: ..., type: ... }'")
    result: list[FieldMapping] = []
    by_sf_field: dict[str, FieldMapping] = {}
    for ec_name, spec in node.items():
        fm = _read_field(r, ec_name, spec, where, node.key_lines.get(ec_name, node.line))
        if fm is None:
            continue
        if fm.sf_field.endswith(PERSON_SUFFIX) and not person_fields:
            r.problem(fm.line, f"{where}.{ec_name}.field",
                      f"{fm.sf_field} is a person account field; {object_label} has none",
                      f"{fm.sf_field[:-len(PERSON_SUFFIX)]}__c, or a Person Account member "
                      "(object: Account, person_account: true)")
            continue
        other = by_sf_field.get(fm.sf_field.lower())
        if other is not None:
            r.problem(fm.line, f"{where}.{ec_name}.field",
                      f"{object_label}.{fm.sf_field} is already mapped from '{other.ec_name}' (line {other.line})",
                      "each Salesforce field mapped from one EC field only")
            continue
        by_sf_field[fm.sf_field.lower()] = fm
        result.append(fm)
    return tuple(result)


def _pick_ec_field(r: _Reader, node: LocatedDict, key: str, path: str, fields: tuple[FieldMapping, ...],
                   *, default: str | None = None) -> FieldMapping | None:
    name = r.string(node, key, path, default=default, pattern=EC_NAME, expected="an EC field name listed under fields")
    if name is None:
        return None
    found = next((f for f in fields if f.ec_name == name), None)
    if found is None and fields:
        names = [f.ec_name for f in fields]
        close = difflib.get_close_matches(name, names, n=1)
        r.problem(r.line_of(node, key), f"{path}.{key}", f"'{name}' is not one of the mapped EC fields",
                  f"'{close[0]}'" if close else "one of: " + ", ".join(names))
    return found


def _require_custom_text_key(r: _Reader, fm: FieldMapping | None, path: str, what: str) -> None:
    if fm is None:
        return
    if fm.type is not FieldType.STRING:
        r.problem(fm.line, path, f"the {what} '{fm.ec_name}' is a {fm.type.value} field", "type: string")
    if not fm.is_custom:
        r.problem(fm.line, path, f"the {what} maps to the standard field {fm.sf_field}",
                  "a custom text field (…__c) that can be an External ID")
    if not fm.required:
        r.problem(fm.line, path, f"the {what} '{fm.ec_name}' must be required", "required: true")


def _read_member(r: _Reader, sf: LocatedDict) -> MemberMapping | None:
    node = r.section(sf, "member", "salesforce")
    if node is None:
        return None
    path = "salesforce.member"
    r.keys(node, path, ("object", "person_account", "person_record_type", "key", "email", "fields", "converts_to"),
           required=("key", "fields"))
    object_name = r.string(node, "object", path, default="Contact") or "Contact"
    if object_name not in MEMBER_OBJECTS:
        r.problem(r.line_of(node, "object"), f"{path}.object", f"'{object_name}' cannot be the member object",
                  "Contact, Lead or Account (with person_account: true)")
    person_account = r.boolean(node, "person_account", path)
    if person_account and object_name != "Account":
        r.problem(r.line_of(node, "person_account"), f"{path}.person_account",
                  f"person_account applies to Account, not {object_name}", "object: Account")
    if object_name == "Account" and not person_account:
        r.problem(r.line_of(node, "object"), f"{path}.object", "a business Account cannot hold a shopper",
                  "person_account: true (Person Accounts) or object: Contact")
    record_type = r.string(node, "person_record_type", path, default="PersonAccount", pattern=API_NAME,
                           expected="the DeveloperName of the person account record type") or "PersonAccount"
    if "person_record_type" in node and not person_account:
        r.problem(r.line_of(node, "person_record_type"), f"{path}.person_record_type",
                  "person_record_type applies to a Person Account member", "person_account: true, or no person_record_type")
    fields = _read_fields(r, node, path, object_name, person_fields=person_account)
    for fm in fields:
        if not fm.is_custom and object_name == "Account" and fm.sf_field in CONTACT_ONLY_FIELDS:
            r.problem(fm.line, f"{path}.fields.{fm.ec_name}.field", f"Person Accounts have no {fm.sf_field}",
                      f"Person{fm.sf_field}")
    if object_name == "Lead" and fields and not any(f.sf_field == "Company" for f in fields):
        r.problem(node.line, f"{path}.fields", "a Lead cannot be saved without Company",
                  "company: { field: Company, type: string, length: 255, required: true }")
    key = _pick_ec_field(r, node, "key", path, fields)
    _require_custom_text_key(r, key, f"{path}.key", "member key")
    converts_to = r.string(node, "converts_to", path) if node.get("converts_to") is not None else None
    if converts_to is not None and (object_name != "Lead" or converts_to not in CONVERTS_TO):
        r.problem(r.line_of(node, "converts_to"), f"{path}.converts_to",
                  f"a {object_name} member cannot convert to '{converts_to}'",
                  "object: Lead with converts_to: Contact (Leads converted in Salesforce)")
        converts_to = None
    email = _pick_ec_field(r, node, "email", path, fields, default="email")
    if email is not None and email.type is not FieldType.EMAIL:
        r.problem(email.line, f"{path}.email", f"'{email.ec_name}' is a {email.type.value} field", "type: email")
    if key is None or email is None:
        if email is None and "email" not in node and fields:
            r.problem(node.line, f"{path}.email", "no EC field named 'email' and no 'email:' key",
                      "email: <the EC field holding the email>")
        return None
    return MemberMapping(object_name=object_name, person_account=person_account, key=key, email=email,
                         fields=fields, line=node.line, person_record_type=record_type, converts_to=converts_to)


def _read_object_name(r: _Reader, node: LocatedDict, path: str, default: str) -> str:
    name = r.string(node, "object", path, default=default, pattern=CUSTOM_API_NAME,
                    expected="a custom object API name ending in __c") or default
    return name


def _read_lookup(r: _Reader, node: LocatedDict, key: str, path: str, default: str,
                 taken: tuple[FieldMapping, ...]) -> str:
    name = r.string(node, key, path, default=default, pattern=CUSTOM_API_NAME,
                    expected="a custom lookup field API name ending in __c") or default
    clash = next((f for f in taken if f.sf_field.lower() == name.lower()), None)
    if clash is not None:
        r.problem(r.line_of(node, key), f"{path}.{key}", f"{name} is already mapped from EC field '{clash.ec_name}'",
                  "a lookup field of its own")
    return name


def _read_order(r: _Reader, sf: LocatedDict) -> OrderMapping | None:
    node = r.section(sf, "order", "salesforce")
    if node is None:
        return None
    path = "salesforce.order"
    r.keys(node, path, ("object", "label", "plural_label", "key", "member_key", "member_lookup",
                        "converted_member_lookup", "last_product_name", "fields"),
           required=("key", "member_key", "fields"))
    object_name = _read_object_name(r, node, path, "EC_Order__c")
    label = r.string(node, "label", path, default=field_label(object_name)) or field_label(object_name)
    plural = r.string(node, "plural_label", path, default=label + "s") or label + "s"
    fields = _read_fields(r, node, path, object_name)
    key = _pick_ec_field(r, node, "key", path, fields)
    _require_custom_text_key(r, key, f"{path}.key", "order key")
    member_key = _pick_ec_field(r, node, "member_key", path, fields)
    _require_custom_text_key(r, member_key, f"{path}.member_key", "member key on the order")
    lookup = _read_lookup(r, node, "member_lookup", path, "Member__c", fields)
    converted_lookup = _read_lookup(r, node, "converted_member_lookup", path, "Member_Contact__c", fields)
    last_product = None
    if node.get("last_product_name") is not None:
        last_product = r.string(node, "last_product_name", path, pattern=CUSTOM_API_NAME,
                                expected="a custom field API name ending in __c")
        clash = next((f for f in fields if last_product and f.sf_field.lower() == last_product.lower()), None)
        if clash is not None:
            r.problem(r.line_of(node, "last_product_name"), f"{path}.last_product_name",
                      f"{last_product} is already mapped from EC field '{clash.ec_name}'", "a field of its own")
    if key is None or member_key is None:
        return None
    if key is member_key:
        r.problem(r.line_of(node, "member_key"), f"{path}.member_key", "the member key cannot be the order key",
                  "the EC field carrying the member's key")
    return OrderMapping(object_name=object_name, label=label, plural_label=plural, key=key, member_key=member_key,
                        member_lookup=lookup, last_product_name=last_product, fields=fields, line=node.line,
                        converted_member_lookup=converted_lookup)


def _read_order_line(r: _Reader, sf: LocatedDict) -> OrderLineMapping | None:
    node = r.section(sf, "order_line", "salesforce")
    if node is None:
        return None
    path = "salesforce.order_line"
    r.keys(node, path, ("object", "label", "plural_label", "source", "order_lookup", "key_field", "product_name",
                        "fields"), required=("fields",))
    object_name = _read_object_name(r, node, path, "EC_Order_Line__c")
    label = r.string(node, "label", path, default=field_label(object_name)) or field_label(object_name)
    plural = r.string(node, "plural_label", path, default=label + "s") or label + "s"
    source = r.string(node, "source", path, default="lines", pattern=EC_NAME, expected="an EC array name") or "lines"
    fields = _read_fields(r, node, path, object_name)
    lookup = _read_lookup(r, node, "order_lookup", path, "Order__c", fields)
    key_field = _read_lookup(r, node, "key_field", path, "Line_Key__c", fields)
    if lookup.lower() == key_field.lower():
        r.problem(r.line_of(node, "key_field"), f"{path}.key_field", "the line key cannot be the order lookup",
                  "a text field of its own, e.g. Line_Key__c")
    product_name = _pick_ec_field(r, node, "product_name", path, fields, default="productName")
    if product_name is not None and product_name.type is not FieldType.STRING:
        r.problem(product_name.line, f"{path}.product_name", f"'{product_name.ec_name}' is a {product_name.type.value} field",
                  "type: string")
    return OrderLineMapping(object_name=object_name, label=label, plural_label=plural, source=source,
                            order_lookup=lookup, key_field=key_field, fields=fields, product_name=product_name,
                            line=node.line)


def _read_custom_field_name(r: _Reader, node: LocatedDict, key: str, path: str, default: str) -> str:
    return r.string(node, key, path, default=default, pattern=CUSTOM_API_NAME,
                    expected="a custom field API name ending in __c") or default


# ---- Marketo ----------------------------------------------------------------------------------
def _source_fields(mapping_parts: dict[str, Any], scope: str) -> dict[str, FieldType | None]:
    """Salesforce fields a Marketo source may name in a scope, with their types."""
    member: MemberMapping | None = mapping_parts.get("member")
    order: OrderMapping | None = mapping_parts.get("order")
    line: OrderLineMapping | None = mapping_parts.get("order_line")
    last_event_at: str = mapping_parts["last_event_at"]
    write_back: WriteBack = mapping_parts["write_back"]
    common: dict[str, FieldType | None] = {
        "Id": None,
        last_event_at: FieldType.DATETIME,
        write_back.marketo_id: FieldType.STRING,
        write_back.pushed_at: FieldType.DATETIME,
        write_back.error: FieldType.STRING,
        write_back.changed_at: FieldType.DATETIME,
        write_back.pushed_change: FieldType.DATETIME,
    }
    if scope == "member" and member is not None:
        return {**common, **{f.sf_field: f.type for f in member.fields}}
    if scope in ("order", "last_order") and order is not None:
        fields = {**common, **{f.sf_field: f.type for f in order.fields}}
        if order.last_product_name:
            fields[order.last_product_name] = FieldType.STRING
        return fields
    if scope == "lines" and line is not None:
        return {"Id": None, line.key_field: FieldType.STRING, **{f.sf_field: f.type for f in line.fields}}
    return {}


def _read_marketo_fields(r: _Reader, node: LocatedDict | None, path: str, scopes: tuple[str, ...],
                         parts: dict[str, Any]) -> tuple[MarketoField, ...]:
    if node is None:
        return ()
    result: list[MarketoField] = []
    for name, spec in node.items():
        line = node.key_lines.get(name, node.line)
        where = f"{path}.{name}"
        if not isinstance(name, str) or not MARKETO_NAME.match(name):
            r.problem(line, where, f"{_show(name)} is not a Marketo field API name", "a name such as lastOrderNumber")
            continue
        if not isinstance(spec, LocatedDict):
            r.problem(line, where, f"is a {_kind(spec)}, not a field mapping", "{ from: member.Email }")
            continue
        r.keys(spec, where, ("from", "type", "aggregate", "separator"), required=("from",))
        raw = spec.get("from")
        if raw is None:
            continue
        if not isinstance(raw, str) or not raw.strip():
            r.problem(r.line_of(spec, "from"), f"{where}.from", f"{_show(raw)} is not a source",
                      "scope.Field, e.g. " + ", ".join(f"{s}.Field" for s in scopes))
            continue
        scope, _, sf_field = raw.partition(".")
        if scope not in scopes:
            r.problem(r.line_of(spec, "from"), f"{where}.from", f"'{raw}' starts with an unknown scope '{scope}'",
                      "one of: " + ", ".join(f"{s}.<Field>" for s in scopes))
            continue
        aggregate = spec.get("aggregate")
        separator = spec.get("separator", ", ")
        if aggregate is not None and aggregate not in AGGREGATES:
            r.problem(r.line_of(spec, "aggregate"), f"{where}.aggregate", f"{_show(aggregate)} is not an aggregate",
                      "join or count")
            continue
        if scope == "lines":
            if aggregate is None:
                r.problem(r.line_of(spec, "from"), f"{where}.aggregate", "an order has many lines",
                          "aggregate: join (values joined) or aggregate: count")
                continue
            if aggregate == "count" and sf_field:
                r.problem(r.line_of(spec, "from"), f"{where}.from", "count takes no field", "from: lines")
                continue
            if aggregate == "join" and not sf_field:
                r.problem(r.line_of(spec, "from"), f"{where}.from", "join needs a line field", "from: lines.<Field>")
                continue
        elif aggregate is not None:
            r.problem(r.line_of(spec, "aggregate"), f"{where}.aggregate", f"aggregate applies to lines, not {scope}",
                      "no 'aggregate' here")
            continue
        elif not sf_field:
            r.problem(r.line_of(spec, "from"), f"{where}.from", f"'{raw}' names no field", f"{scope}.<Field>")
            continue
        if separator is not None and not isinstance(separator, str):
            r.problem(r.line_of(spec, "separator"), f"{where}.separator", f"{_show(separator)} is not text", "\", \"")
            separator = ", "
        source_type: FieldType | None
        if aggregate == "count":
            source_type, default_type = FieldType.INTEGER, "integer"
        else:
            known = _source_fields(parts, scope)
            match = next((k for k in known if k.lower() == sf_field.lower()), None)
            if match is None:
                if not known or sf_field.lower() in r.broken_fields:
                    continue  # the scope's section is already reported as broken
                close = difflib.get_close_matches(sf_field, list(known), n=1)
                r.problem(r.line_of(spec, "from"), f"{where}.from",
                          f"'{sf_field}' is not a field the mapping defines for {scope}",
                          f"'{scope}.{close[0]}'" if close else "a field mapped under salesforce: " + ", ".join(known))
                continue
            sf_field = match
            source_type = known[match]
            if aggregate == "join":
                default_type = "text"
            else:
                default_type = source_type.marketo_type if source_type else "string"
        mtype = spec.get("type", default_type)
        if mtype not in MARKETO_TYPES:
            r.problem(r.line_of(spec, "type"), f"{where}.type", f"{_show(mtype)} is not a Marketo data type",
                      "one of: " + ", ".join(sorted(MARKETO_TYPES)))
            continue
        if aggregate == "join" and mtype not in ("text", "string"):
            r.problem(r.line_of(spec, "type"), f"{where}.type", f"joined values are text, not {mtype}", "text")
            continue
        if source_type is not None and aggregate is None and mtype not in MARKETO_COMPATIBLE[source_type]:
            r.problem(r.line_of(spec, "type"), f"{where}.type",
                      f"a {source_type.value} Salesforce field cannot feed a Marketo {mtype} field",
                      "one of: " + ", ".join(sorted(MARKETO_COMPATIBLE[source_type])))
            continue
        result.append(MarketoField(name=name, source=SourceRef(scope, sf_field or None, aggregate, separator or ", "),
                                   type=mtype, source_type=source_type, line=line))
    return tuple(result)


def _read_marketo(r: _Reader, root: LocatedDict, parts: dict[str, Any]) -> MarketoMapping | None:
    node = r.section(root, "marketo", "")
    if node is None:
        return None
    r.keys(node, "marketo", ("lead", "custom_objects", "email"), required=("lead",))
    lead_node = r.section(node, "lead", "marketo")
    lead: LeadMapping | None = None
    if lead_node is not None:
        path = "marketo.lead"
        r.keys(lead_node, path, ("lookup_field", "fields"), required=("fields",))
        lookup = r.string(lead_node, "lookup_field", path, default="email", pattern=MARKETO_NAME) or "email"
        fields = _read_marketo_fields(r, r.section(lead_node, "fields", path), f"{path}.fields",
                                      ("member", "last_order"), parts)
        if fields and lookup not in {f.name for f in fields} and "lookup_field" in lead_node:
            r.problem(r.line_of(lead_node, "lookup_field"), f"{path}.lookup_field",
                      f"'{lookup}' is not a mapped lead field", "one of: " + ", ".join(f.name for f in fields))
        elif fields and lookup not in {f.name for f in fields}:
            r.problem(lead_node.line, f"{path}.lookup_field", "the default lookup field 'email' is not mapped",
                      "email: { from: member.Email } under fields, or lookup_field: <a mapped field>")
        lead = LeadMapping(lookup_field=lookup, fields=fields, line=lead_node.line)
    customs: list[CustomObjectMapping] = []
    co_node = r.section(node, "custom_objects", "marketo", required=False)
    for api_name, spec in (co_node or {}).items():
        path = f"marketo.custom_objects.{api_name}"
        line = co_node.key_lines.get(api_name, co_node.line)  # type: ignore[union-attr]
        if not isinstance(api_name, str) or not MARKETO_NAME.match(api_name):
            r.problem(line, path, f"{_show(api_name)} is not a custom object API name", "a name such as ecOrder_c")
            continue
        if not isinstance(spec, LocatedDict):
            r.problem(line, path, f"is a {_kind(spec)}, not a mapping", "source, dedupe_field, link and fields")
            continue
        r.keys(spec, path, ("source", "dedupe_field", "link", "fields"), required=("dedupe_field", "link", "fields"))
        source = r.string(spec, "source", path, default="order") or "order"
        if source != "order":
            r.problem(r.line_of(spec, "source"), f"{path}.source", f"'{source}' cannot feed a custom object",
                      "order (one custom object record per Salesforce order)")
        fields = _read_marketo_fields(r, r.section(spec, "fields", path), f"{path}.fields", ("order", "lines"), parts)
        dedupe = r.string(spec, "dedupe_field", path, pattern=MARKETO_NAME)
        if dedupe is not None and fields and dedupe not in {f.name for f in fields}:
            r.problem(r.line_of(spec, "dedupe_field"), f"{path}.dedupe_field", f"'{dedupe}' is not a mapped field",
                      "one of: " + ", ".join(f.name for f in fields))
        link = r.section(spec, "link", path)
        link_field = lead_field = None
        if link is not None:
            r.keys(link, f"{path}.link", ("field", "lead_field"), required=("field",))
            link_field = r.string(link, "field", f"{path}.link", pattern=MARKETO_NAME)
            lead_field = r.string(link, "lead_field", f"{path}.link", default="id", pattern=MARKETO_NAME)
            if link_field is not None and any(f.name == link_field for f in fields):
                r.problem(r.line_of(link, "field"), f"{path}.link.field",
                          f"'{link_field}' is filled by the push with the lead's {lead_field}",
                          "no mapping for the link field under fields")
        if dedupe and link_field and lead_field:
            customs.append(CustomObjectMapping(api_name=api_name, source=source, dedupe_field=dedupe,
                                               link_field=link_field, lead_link_field=lead_field,
                                               fields=fields, line=line))
    if lead is None:
        return None
    email = _read_email(r, r.section(node, "email", "marketo", required=False), lead, customs)
    return MarketoMapping(lead=lead, custom_objects=tuple(customs), email=email)


def _read_consent(r: _Reader, root: LocatedDict, parts: dict[str, Any],
                  marketo: MarketoMapping | None) -> ConsentMapping | None:
    """The ``consent:`` section: EC field, Salesforce fields, Marketo fields, re-subscribe policy."""
    node = r.section(root, "consent", "", required=False)
    member: MemberMapping | None = parts.get("member")
    if node is None:
        return None
    path = "consent"
    r.keys(node, path, ("ec_field", "salesforce", "marketo", "resubscribe"), required=("ec_field",))
    ec_field = None
    ec_name = r.string(node, "ec_field", path, pattern=EC_NAME, expected="an EC member field name")
    if ec_name is not None and member is not None:
        ec_field = member.field_for(ec_name)
        if ec_field is None:
            names = [f.ec_name for f in member.fields]
            close = difflib.get_close_matches(ec_name, names, n=1)
            r.problem(r.line_of(node, "ec_field"), f"{path}.ec_field", f"'{ec_name}' is not a mapped member field",
                      f"'{close[0]}'" if close else "one of: " + ", ".join(names))
        elif ec_field.type is not FieldType.BOOLEAN:
            r.problem(r.line_of(node, "ec_field"), f"{path}.ec_field",
                      f"'{ec_name}' is a {ec_field.type.value} field; consent is true or false", "type: boolean")
            ec_field = None
    object_name = member.object_name if member is not None else "Contact"
    sf = r.section(node, "salesforce", path, required=False)
    sf_path = f"{path}.salesforce"
    if sf is not None:
        r.keys(sf, sf_path, ("opted_out", "reason", "changed_at"))
    opted_out = r.string(sf, "opted_out", sf_path, default=OPT_OUT_FIELDS.get(object_name, "HasOptedOutOfEmail"),
                         pattern=API_NAME, expected="a Checkbox field API name") or "HasOptedOutOfEmail"
    expected_opt_out = OPT_OUT_FIELDS.get(object_name)
    if expected_opt_out and not opted_out.endswith("__c") and opted_out != expected_opt_out:
        r.problem(r.line_of(sf, "opted_out"), f"{sf_path}.opted_out",
                  f"{object_name} keeps the email opt-out in {expected_opt_out}, not {opted_out}", expected_opt_out)
    reason = _read_custom_field_name(r, sf, "reason", sf_path, "Marketo_Unsubscribe_Reason__c") if sf is not None \
        else "Marketo_Unsubscribe_Reason__c"
    changed_at = _read_custom_field_name(r, sf, "changed_at", sf_path, "EC_Consent_Changed_At__c") if sf is not None \
        else "EC_Consent_Changed_At__c"
    taken: dict[str, str] = {}
    if member is not None:
        taken.update({f.sf_field.lower(): f"salesforce.member.fields.{f.ec_name}" for f in member.fields})
    taken[parts["last_event_at"].lower()] = "salesforce.tracking.last_event_at"
    taken.update({name.lower(): f"salesforce.write_back.{key}" for key, name in parts["write_back"].names()})
    seen: set[str] = set()
    for key, name in (("opted_out", opted_out), ("reason", reason), ("changed_at", changed_at)):
        if name.lower() in taken or name.lower() in seen:
            r.problem(r.line_of(sf, key), f"{sf_path}.{key}",
                      f"{name} is already {taken.get(name.lower(), 'another consent field')}", "a field of its own")
        seen.add(name.lower())
    mk = r.section(node, "marketo", path, required=False)
    mk_path = f"{path}.marketo"
    if mk is not None:
        r.keys(mk, mk_path, ("unsubscribed", "reason"))
    unsubscribed = r.string(mk, "unsubscribed", mk_path, default="unsubscribed", pattern=MARKETO_NAME) or "unsubscribed"
    mk_reason = r.string(mk, "reason", mk_path, default="unsubscribedReason", pattern=MARKETO_NAME) \
        or "unsubscribedReason"
    if unsubscribed == mk_reason:
        r.problem(r.line_of(mk, "reason"), f"{mk_path}.reason", f"'{mk_reason}' is also the unsubscribed field",
                  "unsubscribedReason")
    for key, name in (("unsubscribed", unsubscribed), ("reason", mk_reason)):
        mapped = marketo.lead.field_named(name) if marketo is not None else None
        if mapped is not None:
            r.problem(mapped.line, f"marketo.lead.fields.{name}",
                      f"{name} is sent by the consent section (consent.marketo.{key}), under its re-subscribe policy",
                      f"no '{name}' under marketo.lead.fields")
    policy = r.string(node, "resubscribe", path, default=RESUBSCRIBE_NEVER) or RESUBSCRIBE_NEVER
    if policy not in RESUBSCRIBE_POLICIES:
        r.problem(r.line_of(node, "resubscribe"), f"{path}.resubscribe", f"'{policy}' is not a re-subscribe policy",
                  "one of: " + ", ".join(RESUBSCRIBE_POLICIES))
        policy = RESUBSCRIBE_NEVER
    if ec_field is None:
        return None
    return ConsentMapping(ec_field=ec_field, opted_out=opted_out, reason=reason, changed_at=changed_at,
                          unsubscribed=unsubscribed, unsubscribed_reason=mk_reason, resubscribe=policy,
                          line=node.line)


EMAIL_DEFAULTS: dict[str, Any] = {
    "folder": "Marketing Activities", "template_folder": "Design Studio", "instance_time_zone": "America/Chicago",
    "locale": "ja_JP", "date_format": "yyyy/MM/dd HH:mm", "currency_format": "¥#,##0", "max_orders": 10,
    "subject": "Your orders", "from_name": "EC Shop", "from_email": "noreply@example.com",
}
EMAIL_TEXT_KEYS = ("program", "folder", "template_folder", "locale", "date_format", "currency_format",
                   "script_token", "sample_email", "subject", "from_name", "from_email", "no_orders_text")
EMAIL_CO_FIELDS = ("order_number", "order_date", "product_names", "total")
EMAIL_LEAD_FIELDS = ("last_order_number", "last_product_name")


def _read_email(r: _Reader, node: LocatedDict | None, lead: LeadMapping,
                customs: list[CustomObjectMapping]) -> EmailMapping | None:
    if node is None:
        return None
    path = "marketo.email"
    required = ("program", "custom_object", *EMAIL_CO_FIELDS, *EMAIL_LEAD_FIELDS, "time_zone", "script_token",
                "sample_email", "no_orders_text")
    r.keys(node, path, (*EMAIL_TEXT_KEYS, "custom_object", *EMAIL_CO_FIELDS, *EMAIL_LEAD_FIELDS, "time_zone",
                        "instance_time_zone", "max_orders"), required=required)
    values: dict[str, Any] = dict(EMAIL_DEFAULTS)
    for key in (*EMAIL_TEXT_KEYS, "custom_object", *EMAIL_CO_FIELDS, *EMAIL_LEAD_FIELDS, "time_zone",
                "instance_time_zone"):
        values[key] = r.string(node, key, path, default=values.get(key))
    values["max_orders"] = r.integer(node, "max_orders", path, low=1, high=100) or EMAIL_DEFAULTS["max_orders"]
    for key in ("script_token",):
        if values[key] and (len(values[key]) > 50 or not re.fullmatch(r"[A-Za-z0-9_.\- ]+", values[key])):
            r.problem(r.line_of(node, key), f"{path}.{key}", f"'{values[key]}' cannot name a Marketo token",
                      "letters, digits, '_', '-', '.' or spaces, at most 50 characters")
    for key in ("time_zone", "instance_time_zone"):
        if values[key]:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(values[key])
            except (ZoneInfoNotFoundError, ValueError):
                r.problem(r.line_of(node, key), f"{path}.{key}", f"'{values[key]}' is not a time zone",
                          "an IANA zone such as Asia/Tokyo")
    co = next((c for c in customs if c.api_name == values["custom_object"]), None)
    if values["custom_object"] and co is None:
        r.problem(r.line_of(node, "custom_object"), f"{path}.custom_object",
                  f"'{values['custom_object']}' is not a mapped custom object",
                  "one of: " + ", ".join(c.api_name for c in customs))
    for key in EMAIL_CO_FIELDS:
        if co is not None and values[key] and co.field_named(values[key]) is None:
            r.problem(r.line_of(node, key), f"{path}.{key}", f"'{values[key]}' is not a field of {co.api_name}",
                      "one of: " + ", ".join(f.name for f in co.fields))
    for key in EMAIL_LEAD_FIELDS:
        if values[key] and lead.field_named(values[key]) is None:
            r.problem(r.line_of(node, key), f"{path}.{key}", f"'{values[key]}' is not a mapped lead field",
                      "one of: " + ", ".join(f.name for f in lead.fields))
    if any(values.get(key) is None for key in required):
        return None
    return EmailMapping(line=node.line, **values)


def _check_name_clashes(r: _Reader, parts: dict[str, Any]) -> None:
    """Tracking and write-back fields must not collide with mapped fields on member and order."""
    fixed = [("salesforce.tracking.last_event_at", parts["last_event_at"])]
    wb: WriteBack = parts["write_back"]
    fixed += [(f"salesforce.write_back.{key}", name) for key, name in wb.names()]
    seen: dict[str, str] = {}
    for where, name in fixed:
        if name.lower() in seen:
            r.problem(parts["fixed_lines"].get(where, 1), where, f"{name} is also {seen[name.lower()]}",
                      "a field of its own")
        seen[name.lower()] = where
    for section in ("member", "order"):
        part = parts.get(section)
        if part is None:
            continue
        for fm in part.fields:
            if fm.sf_field.lower() in seen:
                r.problem(fm.line, f"salesforce.{section}.fields.{fm.ec_name}.field",
                          f"{fm.sf_field} is reserved by {seen[fm.sf_field.lower()]}", "another Salesforce field")


def parse_mapping(text: str, file: str = DEFAULT_MAPPING_FILE) -> Mapping:
    """Validate mapping text; ``file`` is the name used in problems. Raises :class:`MappingError`."""
    r = _Reader(file)
    loader = _LineLoader(text)
    try:
        root = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        reason = getattr(exc, "problem", None) or str(exc)
        raise MappingError([Problem(file, line, "", f"not valid YAML: {reason}",
                                    "indentation with spaces and 'key: value' lines")]) from None
    finally:
        loader.dispose()
    for key, first, again in loader.duplicates:
        r.problem(again, key, f"'{key}' appears twice (first on line {first})", "each key once; remove one")
    if not isinstance(root, LocatedDict):
        r.problem(1, "", f"the file holds a {_kind(root)}", "a mapping with 'version', 'salesforce' and 'marketo'")
        raise MappingError(r.problems)
    r.keys(root, "", ("version", "salesforce", "consent", "marketo"), required=("version", "salesforce", "marketo"))
    version = root.get("version")
    if version is not None and version != 1:
        r.problem(root.key_lines.get("version", 1), "version", f"{_show(version)} is not a supported version", "1")
    sf = r.section(root, "salesforce", "")
    parts: dict[str, Any] = {"fixed_lines": {}}
    api_version = "62.0"
    permission_set = "ECBridge_Integration"
    last_event_at = "EC_Last_Event_At__c"
    write_back = WriteBack("Marketo_Id__c", "Marketo_Pushed_At__c", "Marketo_Push_Error__c")
    if sf is not None:
        r.keys(sf, "salesforce", ("api_version", "permission_set", "member", "order", "order_line", "tracking",
                                  "write_back"), required=("member", "order", "order_line"))
        raw_api = sf.get("api_version", api_version)
        if not isinstance(raw_api, str) or not re.fullmatch(r"\d{2}\.0", raw_api):
            r.problem(sf.key_lines.get("api_version", sf.line), "salesforce.api_version",
                      f"{_show(raw_api)} is not an API version", "a quoted version such as \"62.0\"")
        else:
            api_version = raw_api
        permission_set = r.string(sf, "permission_set", "salesforce", default=permission_set, pattern=API_NAME,
                                  expected="a permission set API name") or permission_set
        parts["member"] = _read_member(r, sf)
        parts["order"] = _read_order(r, sf)
        parts["order_line"] = _read_order_line(r, sf)
        tracking = r.section(sf, "tracking", "salesforce", required=False)
        if tracking is not None:
            r.keys(tracking, "salesforce.tracking", ("last_event_at",))
            last_event_at = _read_custom_field_name(r, tracking, "last_event_at", "salesforce.tracking", last_event_at)
            parts["fixed_lines"]["salesforce.tracking.last_event_at"] = r.line_of(tracking, "last_event_at")
        wb = r.section(sf, "write_back", "salesforce", required=False)
        if wb is not None:
            keys = tuple(key for key, _name in write_back.names())
            r.keys(wb, "salesforce.write_back", keys)
            write_back = WriteBack(**{key: _read_custom_field_name(r, wb, key, "salesforce.write_back", default)
                                      for key, default in write_back.names()})
            for key in keys:
                parts["fixed_lines"][f"salesforce.write_back.{key}"] = r.line_of(wb, key)
    parts["last_event_at"] = last_event_at
    parts["write_back"] = write_back
    _check_name_clashes(r, parts)
    order: OrderMapping | None = parts.get("order")
    member: MemberMapping | None = parts.get("member")
    if order is not None and member is not None and order.member_key.length != member.key.length:
        r.problem(order.member_key.line, f"salesforce.order.fields.{order.member_key.ec_name}.length",
                  f"the member key on the order holds {order.member_key.length} characters, the member's "
                  f"{member.key.length}", f"length: {member.key.length}")
    if order is not None and member is not None and not member.converts_to:
        order = parts["order"] = replace(order, converted_member_lookup=None)
    marketo = _read_marketo(r, root, parts)
    consent = _read_consent(r, root, parts, marketo)
    if r.problems:
        raise MappingError(r.problems)
    assert member is not None and order is not None and parts["order_line"] is not None and marketo is not None
    return Mapping(path=Path(file), version=1, api_version=api_version, permission_set=permission_set,
                   member=member, order=order, order_line=parts["order_line"], last_event_at=last_event_at,
                   write_back=write_back, marketo=marketo, consent=consent)


def load_mapping(path: str | Path = DEFAULT_MAPPING_FILE) -> Mapping:
    """Read and validate a mapping file. Raises :class:`MappingError` listing every problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError([Problem(str(path), 0, "", f"cannot read the mapping file: {exc.strerror}",
                                    "a readable ecbridge.yml")]) from None
    mapping = parse_mapping(text, str(path))
    return Mapping(**{**mapping.__dict__, "path": path})


# --------------------------------------------------------------------------------------------
# Salesforce fields the mapping needs
# --------------------------------------------------------------------------------------------
def _mapped_field(object_name: str, fm: FieldMapping, *, external_id: bool = False, unique: bool = False,
                  description: str = "") -> SalesforceField:
    return SalesforceField(object_name=object_name, name=fm.sf_field, metadata_type=fm.type.salesforce_type,
                           label=fm.label, length=fm.length if fm.type is FieldType.STRING else None,
                           precision=fm.precision, scale=fm.scale, values=fm.values, external_id=external_id,
                           unique=unique, description=description or f"EC field '{fm.ec_name}'.")


def _salesforce_fields(m: Mapping) -> list[SalesforceField]:
    out: list[SalesforceField] = []

    def tracking_fields(obj: str, what: str) -> list[SalesforceField]:
        return [
            SalesforceField(obj, m.last_event_at, "DateTime", field_label(m.last_event_at),
                            description=f"occurredAt of the last EC event applied to this {what}; older events are stale."),
            SalesforceField(obj, m.write_back.marketo_id, "Text", field_label(m.write_back.marketo_id), length=64,
                            description=f"Marketo id of this {what}, written back by push_marketo."),
            SalesforceField(obj, m.write_back.pushed_at, "DateTime", field_label(m.write_back.pushed_at),
                            description="When push_marketo last pushed this record successfully."),
            SalesforceField(obj, m.write_back.error, "Text", field_label(m.write_back.error), length=255,
                            description="The last push_marketo error for this record; empty after a good push."),
            SalesforceField(obj, m.write_back.changed_at, "DateTime", field_label(m.write_back.changed_at),
                            description="Set by the ECBridge trigger when a field push_marketo sends changes "
                                        "(never by the push's own write-back)."),
            SalesforceField(obj, m.write_back.pushed_change, "DateTime", field_label(m.write_back.pushed_change),
                            description=f"The {field_label(m.write_back.changed_at)} value push_marketo last pushed; "
                                        f"the {what} is due for a push while the two differ."),
        ]

    member = m.member
    for fm in member.fields:
        is_key = fm is member.key
        out.append(_mapped_field(member.object_name, fm, external_id=is_key, unique=is_key,
                                 description="The EC site's member id: External ID, Unique." if is_key else ""))
    # (A Person Account member's __pc fields are listed as Account shows them; ``definition`` names the
    # Contact field the generator creates and the permission set grants.)
    out += tracking_fields(member.object_name, "member")
    out += _consent_fields(m, member.object_name)

    order = m.order
    for fm in order.fields:
        if fm is order.key:
            out.append(_mapped_field(order.object_name, fm, external_id=True, unique=True,
                                     description="The EC site's order number: External ID, Unique."))
        elif fm is order.member_key:
            out.append(_mapped_field(order.object_name, fm, external_id=True,
                                     description="The member's key, kept so that an order arriving before its "
                                                 "member is attached when the member arrives (indexed)."))
        else:
            out.append(_mapped_field(order.object_name, fm))
    out.append(SalesforceField(order.object_name, order.member_lookup, "Lookup", field_label(order.member_lookup),
                               reference_to=member.object_name, relationship_name=order.object_name[:-3] + "s",
                               relationship_label=order.plural_label,
                               description="The member, filled as soon as the member exists."))
    if member.converts_to and order.converted_member_lookup:
        out += _converted_member_fields(m, tracking_fields(member.converts_to, "member"))
    if order.last_product_name:
        out.append(SalesforceField(order.object_name, order.last_product_name, "Text",
                                   field_label(order.last_product_name), length=255,
                                   description="Product name of the order's last line."))
    out += tracking_fields(order.object_name, "order")

    line = m.order_line
    out.append(SalesforceField(line.object_name, line.order_lookup, "Lookup", field_label(line.order_lookup),
                               reference_to=order.object_name, relationship_name=line.object_name[:-3] + "s",
                               relationship_label=line.plural_label, description="The order this line belongs to."))
    out.append(SalesforceField(line.object_name, line.key_field, "Text", field_label(line.key_field), length=80,
                               external_id=True, unique=True,
                               description="<order number>-<line position from 1>: External ID, Unique."))
    for fm in line.fields:
        out.append(_mapped_field(line.object_name, fm))

    ie = m.ingest_error
    out += [
        SalesforceField(ie.object_name, ie.event_id, "Text", "Event Id", length=255, external_id=True, unique=True,
                        description="The EC event's id: External ID, Unique (a redelivery updates its row)."),
        SalesforceField(ie.object_name, ie.event_type, "Text", "Event Type", length=40,
                        description="member or order (as sent)."),
        SalesforceField(ie.object_name, ie.error_code, "Text", "Error Code", length=80,
                        description="The first error's code."),
        SalesforceField(ie.object_name, ie.field, "Text", "Field", length=255,
                        description="The EC field the first error is about."),
        SalesforceField(ie.object_name, ie.reason, "Text", "Reason", length=255,
                        description="What is wrong and what would be right."),
        SalesforceField(ie.object_name, ie.payload, "LongTextArea", "Payload", length=131072,
                        description="The whole event as received, for correction and replay."),
        SalesforceField(ie.object_name, ie.replayed, "Checkbox", "Replayed",
                        description="Set when the corrected event has been sent again."),
    ]
    return out


def _consent_fields(m: Mapping, object_name: str) -> list[SalesforceField]:
    """The member's consent fields (the opt-out is standard; the reason and the time are generated)."""
    consent = m.consent
    if consent is None:
        return []
    return [
        SalesforceField(object_name, consent.opted_out, "Checkbox", "Email Opt Out",
                        description="The email opt-out: set by an EC event withdrawing consent or an unsubscribe "
                                    "in Marketo; push_marketo sends it as Marketo's unsubscribed."),
        SalesforceField(object_name, consent.reason, "Text", field_label(consent.reason), length=255,
                        description="Where the email opt-out came from (the EC site or Marketo); push_marketo "
                                    "sends it as Marketo's unsubscribedReason."),
        SalesforceField(object_name, consent.changed_at, "DateTime", field_label(consent.changed_at),
                        description="occurredAt of the last EC event that gave or withdrew consent to "
                                    "marketing email."),
    ]


def _converted_member_fields(m: Mapping, tracking: list[SalesforceField]) -> list[SalesforceField]:
    """``converts_to: Contact``: the Contact carries the member's custom fields (the key External ID and
    Unique), the tracking and write-back fields, and the order a lookup to it."""
    member, order, contact = m.member, m.order, m.member.converts_to or "Contact"
    out = [_mapped_field(contact, fm, external_id=fm is member.key, unique=fm is member.key,
                         description="The EC site's member id, moved here when the Lead converts: External ID, "
                                     "Unique." if fm is member.key else "")
           for fm in member.converted_fields if fm.is_custom]
    out += tracking
    if m.consent is not None:  # the converted Contact keeps the consent fields the push reads
        out += _consent_fields(m, contact)
    out.append(SalesforceField(order.object_name, order.converted_member_lookup or "Member_Contact__c", "Lookup",
                               field_label(order.converted_member_lookup or "Member_Contact__c"),
                               reference_to=contact, relationship_name=order.object_name[:-3] + "s",
                               relationship_label=order.plural_label,
                               description="The Contact the member's Lead converted into; the orders follow it."))
    return out


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else DEFAULT_MAPPING_FILE
    try:
        mapping = load_mapping(path)
    except MappingError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"{path}: valid. Member {mapping.member.object_name} keyed by {mapping.member.key_field}; "
          f"order {mapping.order.object_name}; {len(mapping.marketo.lead.fields)} Marketo lead fields; "
          f"{len(mapping.marketo.custom_objects)} custom object(s).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
