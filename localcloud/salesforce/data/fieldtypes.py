"""Describe dicts for fields: one builder used for hand-defined standard objects and for custom
fields deployed through metadata, so every field carries the full key set clients read."""

from __future__ import annotations

from typing import Any

from .specs import CustomFieldSpec

SOAP_TYPES: dict[str, str] = {
    "id": "tns:ID", "reference": "tns:ID", "string": "xsd:string", "textarea": "xsd:string",
    "email": "xsd:string", "phone": "xsd:string", "url": "xsd:string", "picklist": "xsd:string",
    "multipicklist": "xsd:string", "combobox": "xsd:string", "encryptedstring": "xsd:string",
    "boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double", "currency": "xsd:double",
    "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime", "time": "xsd:time",
    "base64": "xsd:base64Binary", "long": "xsd:long", "anyType": "xsd:anyType",
}

TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox",
              "encryptedstring"}
NUMBER_TYPES = {"double", "currency", "percent"}

_DEFAULT_LENGTH = {"id": 18, "reference": 18, "email": 80, "phone": 40, "url": 255, "picklist": 255,
                   "multipicklist": 4099, "string": 255, "textarea": 255}


def field_describe(name: str, type_: str, label: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A complete describe dict for a field of describe type ``type_`` (``string``, ``reference``...)."""
    length = overrides.pop("length", _DEFAULT_LENGTH.get(type_, 0))
    is_text = type_ in TEXT_TYPES or type_ in ("id", "reference")
    custom = name.endswith("__c")
    d: dict[str, Any] = {
        "aggregatable": type_ not in ("textarea", "multipicklist", "base64"),
        "aiPredictionField": False,
        "autoNumber": False,
        "byteLength": length * 3 if type_ in TEXT_TYPES else (length if is_text else 0),
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": True,
        "custom": custom,
        "defaultValue": None,
        "defaultValueFormula": None,
        "defaultedOnCreate": False,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": False,
        "extraTypeInfo": None,
        "filterable": type_ not in ("textarea", "base64"),
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": type_ not in ("textarea", "multipicklist", "double", "currency", "percent",
                                   "datetime", "base64"),
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": type_ == "id",
        "inlineHelpText": None,
        "label": label or _label_from_name(name),
        "length": length,
        "mask": None,
        "maskType": None,
        "name": name,
        "nameField": False,
        "namePointing": False,
        "nillable": type_ not in ("id", "boolean"),
        "permissionable": custom,
        "picklistValues": [],
        "polymorphicForeignKey": False,
        "precision": 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": [],
        "relationshipName": None,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": False,
        "scale": 0,
        "searchPrefilterable": False,
        "soapType": SOAP_TYPES.get(type_, "xsd:anyType"),
        "sortable": type_ not in ("textarea", "multipicklist", "base64"),
        "type": type_,
        "unique": False,
        "updateable": True,
        "writeRequiresMasterRead": False,
    }
    if type_ == "boolean":
        d["defaultValue"] = False
        d["defaultedOnCreate"] = True
    if type_ == "id":
        d.update(createable=False, updateable=False, defaultedOnCreate=True, nillable=False)
    if type_ == "reference":
        d["searchPrefilterable"] = True
    d.update(overrides)
    if d["type"] in ("double", "currency", "percent") and "precision" not in overrides:
        d["precision"] = 18
    return d


def system_field_describes(owner: bool = True, deleted: bool = True,
                           owner_to: tuple[str, ...] = ("User",)) -> list[dict[str, Any]]:
    """Id, IsDeleted, OwnerId and the audit fields, in Salesforce's order."""
    ref_ro = dict(createable=False, updateable=False, nillable=False, defaultedOnCreate=True)
    out = [field_describe("Id", "id", "Record ID")]
    if deleted:
        out.append(field_describe("IsDeleted", "boolean", "Deleted", createable=False, updateable=False))
    if owner:
        out.append(field_describe("OwnerId", "reference", "Owner ID", referenceTo=list(owner_to),
                                  relationshipName="Owner", nillable=False, defaultedOnCreate=True,
                                  polymorphicForeignKey=len(owner_to) > 1))
    dt_ro = dict(createable=False, updateable=False, nillable=False, defaultedOnCreate=True)
    out += [
        field_describe("CreatedDate", "datetime", "Created Date", **dt_ro),
        field_describe("CreatedById", "reference", "Created By ID", referenceTo=["User"],
                       relationshipName="CreatedBy", **ref_ro),
        field_describe("LastModifiedDate", "datetime", "Last Modified Date", **dt_ro),
        field_describe("LastModifiedById", "reference", "Last Modified By ID", referenceTo=["User"],
                       relationshipName="LastModifiedBy", **ref_ro),
        field_describe("SystemModstamp", "datetime", "System Modstamp", **dt_ro),
    ]
    return out


def _label_from_name(name: str) -> str:
    base = name[:-3] if name.endswith("__c") else name
    if base.endswith("Id") and len(base) > 2:
        base = base[:-2] + " ID"
    out = []
    for i, ch in enumerate(base.replace("_", " ")):
        if ch.isupper() and i and base[i - 1].islower():
            out.append(" ")
        out.append(ch)
    return "".join(out).strip()


def _metadata_default(spec: CustomFieldSpec, type_: str) -> Any:
    raw = spec.default_value
    if raw is None:
        return None
    raw = raw.strip()
    if type_ == "boolean":
        return raw.lower() == "true"
    if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
        return raw[1:-1]
    if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
        return raw[1:-1]
    return None  # a formula: reported in defaultValueFormula only


METADATA_TYPES = {
    "text": "string", "textarea": "textarea", "longtextarea": "textarea", "html": "textarea",
    "email": "email", "phone": "phone", "url": "url", "number": "double", "currency": "currency",
    "percent": "percent", "checkbox": "boolean", "date": "date", "datetime": "datetime",
    "time": "time", "picklist": "picklist", "multiselectpicklist": "multipicklist",
    "lookup": "reference", "masterdetail": "reference", "autonumber": "string",
    "metadatarelationship": "reference", "summary": "double", "location": "location",
}
#: MetadataRelationship targets that are setup entities, not records: the field holds the API name
ENTITY_REFERENCE_TARGETS = {"entitydefinition", "fielddefinition"}
ENTITY_REFERENCE_KEY = "QualifiedApiName"


def location_component_describes(spec: CustomFieldSpec) -> list[dict[str, Any]]:
    """The stored components of a geolocation field ``Loc__c``: ``Loc__Latitude__s`` and ``Loc__Longitude__s``
    (Double with the field's decimal places, ``compoundFieldName`` = ``Loc__c``), as Salesforce describes them."""
    name = spec.full_name.split(".")[-1]
    base, label = name[:-3], spec.label or _label_from_name(name)
    return [field_describe(f"{base}__{part}__s", "double", f"{label} ({part})", custom=True, precision=18,
                           scale=spec.scale or 0, compoundFieldName=name, inlineHelpText=spec.inline_help_text)
            for part in ("Latitude", "Longitude")]


def custom_field_describe(spec: CustomFieldSpec) -> dict[str, Any]:
    """Describe dict for a ``CustomField`` spec (raises ``ValueError`` on an unsupported type)."""
    name = spec.full_name.split(".")[-1]
    mtype = spec.type.strip().lower()
    if mtype not in METADATA_TYPES:
        raise ValueError(f"field {spec.full_name}: field type {spec.type!r} is not supported by the local org")
    type_ = METADATA_TYPES[mtype]
    over: dict[str, Any] = {}
    if mtype == "metadatarelationship" and (spec.reference_to or "").lower() in ENTITY_REFERENCE_TARGETS:
        # a custom metadata field naming an object or field (EntityDefinition/FieldDefinition): its
        # value is the API name ("Account", "Account.Name"), as SOQL and getAll() return it
        type_, mtype = "string", "text"
        over["length"] = 255
        over["extraTypeInfo"] = None
        # ``Field__r.QualifiedApiName`` joins the setup entity by its API name (ENTITY_REFERENCE_KEY)
        over["referenceTo"] = [spec.reference_to]
        over["relationshipName"] = name[:-3] + "__r" if name.endswith("__c") else None
        over["_referenceKey"] = ENTITY_REFERENCE_KEY if (spec.reference_to or "").lower() == "entitydefinition" \
            else "DurableId"  # a FieldDefinition is named Object.Field: its DurableId (entitydefs.py)
    if mtype == "summary":
        # roll-up summary: read-only, computed from the master-detail children (rollups.py)
        over.update(calculated=True, createable=False, updateable=False, precision=18, scale=2,
                    _summary=dict(spec.summary or {}))
        if (spec.summary or {}).get("operation") == "count":
            over["scale"] = 0
    if mtype == "location":
        # geolocation: a read-only compound over Name__Latitude__s / Name__Longitude__s (compound.py)
        over.update(createable=False, updateable=False, scale=spec.scale or 0, displayLocationInDecimal=True)
    if mtype == "text":
        over["length"] = spec.length or 255
    elif mtype == "textarea":
        over["length"] = 255
        over["extraTypeInfo"] = "plaintextarea"
    elif mtype == "longtextarea":
        over["length"] = spec.length or 32768
        over["extraTypeInfo"] = "plaintextarea"
    elif mtype == "html":
        over["length"] = spec.length or 32768
        over["extraTypeInfo"] = "richtextarea"
        over["htmlFormatted"] = True
    elif mtype == "autonumber":
        over.update(length=30, autoNumber=True, createable=False, updateable=False, nillable=False,
                    defaultedOnCreate=True)
    elif type_ in ("double", "currency", "percent"):
        over["precision"] = spec.precision or 18
        over["scale"] = spec.scale or 0
    elif type_ == "picklist" or type_ == "multipicklist":
        over["restrictedPicklist"] = bool(spec.restricted_picklist)
        over["picklistValues"] = [
            {"active": v.active, "defaultValue": v.default, "label": v.label or v.value,
             "validFor": None, "value": v.value}
            for v in spec.picklist_values
        ]
        defaults = [v.value for v in spec.picklist_values if v.default]
        if defaults and type_ == "picklist":
            over["defaultValue"] = defaults[0]
            over["defaultedOnCreate"] = True
    elif type_ == "reference":
        if not spec.reference_to:
            raise ValueError(f"field {spec.full_name}: {spec.type} needs referenceTo")
        over["referenceTo"] = [spec.reference_to]
        over["relationshipName"] = name[:-3] + "__r" if name.endswith("__c") else None
        # CustomField.relationshipName names the CHILD relationship seen from the parent.
        child = spec.relationship_name or (name[:-3] + "s" if name.endswith("__c") else None)
        if child:
            over["_childRelationshipName"] = child if child.endswith("__r") else child + "__r"
        if mtype == "masterdetail":
            over.update(cascadeDelete=True, nillable=False, relationshipOrder=0, updateable=False)
        else:
            over["restrictedDelete"] = (spec.delete_constraint or "").lower() == "restrict"
    if type_ == "boolean":
        over["defaultValue"] = _metadata_default(spec, type_) or False
        over["nillable"] = False
        over["defaultedOnCreate"] = True
    elif spec.default_value is not None and "defaultValue" not in over:
        value = _metadata_default(spec, type_)
        if value is not None:
            over["defaultValue"] = value
            over["defaultedOnCreate"] = True
        else:
            over["defaultValueFormula"] = spec.default_value
            over["defaultedOnCreate"] = True
    if spec.required and type_ != "boolean":
        over["nillable"] = False
    if spec.external_id:
        over["externalId"] = True
        over["idLookup"] = True
    if spec.unique:
        over["unique"] = True
        over["idLookup"] = True
    if spec.formula:
        # a formula field: read-only, computed when read (data/formulas.py)
        over.update(calculated=True, calculatedFormula=spec.formula, createable=False, updateable=False,
                    formulaTreatNullNumberAsZero=(spec.formula_treat_blanks_as or "BlankAsZero") == "BlankAsZero")
        over.pop("defaultValueFormula", None)
        if type_ != "boolean":
            over.update(nillable=True, defaultedOnCreate=False, defaultValue=None)
    over["caseSensitive"] = bool(spec.case_sensitive)
    over["inlineHelpText"] = spec.inline_help_text
    return field_describe(name, type_, spec.label or _label_from_name(name), custom=True,
                          permissionable=not (spec.required or mtype == "masterdetail"), **over)
