"""``customMetadata/Type.Record.md`` (Metadata API ``CustomMetadata``) into records of ``Type__mdt``.

Custom metadata records are deployed, never written by DML (their types are neither createable nor
updateable): the deploy writes them with the system writer. A record whose type is not in the org
(nor in the same deploy) fails with the component's file and line, as Salesforce refuses it.
A ``MetadataRelationship`` value naming another custom metadata record (its DeveloperName) is stored
as that record's Id, so ``Field__r.X__c`` works in SOQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from localcloud.salesforce.data import entitydefs
from localcloud.salesforce.metadata.package import Component, child_text, children, parse_xml

XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


class CustomMetadataError(Exception):
    """A record the org cannot take (unknown type or field); ``field_name`` locates its line."""

    def __init__(self, message: str, field_name: str | None = None):
        super().__init__(message)
        self.field_name = field_name


@dataclass
class CustomMetadataRecord:
    component: Component
    type_name: str  # Trigger_Action__mdt
    developer_name: str
    label: str
    values: dict[str, str | None]
    protected: bool = False


def read_record(component: Component) -> CustomMetadataRecord:
    type_part, _, record = component.full_name.partition(".")
    root = parse_xml(component.body, component.file_name)
    values: dict[str, str | None] = {}
    for entry in children(root, "values"):
        name = child_text(entry, "field") or ""
        value_nodes = children(entry, "value")
        if not value_nodes or value_nodes[0].get(XSI_NIL) == "true":
            values[name] = None
        else:
            values[name] = value_nodes[0].text or ""
    protected = (child_text(root, "protected") or "false").strip().lower() == "true"
    return CustomMetadataRecord(component, type_part + "__mdt", record, child_text(root, "label") or record, values,
                                protected)


def apply_records(tx: Any, records: list[CustomMetadataRecord]) -> list[tuple[CustomMetadataRecord, CustomMetadataError]]:
    """Insert or update the records inside the deploy's data transaction; returns the failures."""
    failures: list[tuple[CustomMetadataRecord, CustomMetadataError]] = []
    pending: list[tuple[CustomMetadataRecord, str, dict[str, Any]]] = []
    for record in records:
        try:
            pending.append(_write(tx, record))
        except CustomMetadataError as error:
            failures.append((record, error))
    for record, record_id, links in pending:  # relationships once every record of the deploy exists
        try:
            resolved = {}
            for field_name, (target, value) in links.items():
                found = tx.find_ids_by_field(target, "DeveloperName", value)
                if not found:
                    raise CustomMetadataError(f"{field_name}: no {target} record named {value}", field_name)
                resolved[field_name] = found[0]
            if resolved:
                _check(tx.update(record.type_name, [{"Id": record_id, **resolved}], read_only_fields="write"), record)
        except CustomMetadataError as error:
            failures.append((record, error))
    return failures


def _write(tx: Any, record: CustomMetadataRecord) -> tuple[CustomMetadataRecord, str, dict[str, Any]]:
    od = tx.schema.find(record.type_name)
    if od is None:
        raise CustomMetadataError(f"no CustomObject named {record.type_name} found")
    values: dict[str, Any] = {"DeveloperName": record.developer_name, "MasterLabel": record.label,
                              "Label": record.label, "QualifiedApiName": record.developer_name, "Language": "en_US",
                              "IsProtected": record.protected}
    links: dict[str, Any] = {}
    for name, value in record.values.items():
        fd = od.find_field(name)
        if fd is None:
            raise CustomMetadataError(f"In field: field - no CustomField named {record.type_name}.{name} found", name)
        if fd.type == "reference" and value:
            links[fd.name] = (fd.reference_to[0], value)
            continue
        key = fd.raw.get("_referenceKey")
        if key and value:  # an object or field named by API name: the setup entity row it joins to
            _ensure_entity(tx, fd.reference_to[0], key, value)
        values[fd.name] = value
    existing = tx.find_ids_by_field(record.type_name, "DeveloperName", record.developer_name)
    if existing:
        _check(tx.update(record.type_name, [{"Id": existing[0], **values}], read_only_fields="write"), record)
        return record, existing[0], links
    results = tx.insert(record.type_name, [values], read_only_fields="write")
    _check(results, record)
    return record, results[0].id, links


def _check(results: list[Any], record: CustomMetadataRecord) -> None:
    result = results[0]
    if not result.success:
        error = result.errors[0]
        fields = list(getattr(error, "fields", None) or [])
        raise CustomMetadataError("; ".join(e.message for e in result.errors), fields[0] if fields else None)


def _ensure_entity(tx: Any, target: str, key: str, value: str) -> None:
    """The EntityDefinition/FieldDefinition row for an API name a custom metadata record names: the org's
    rows for its schema (``data/entitydefs.py``: ``Account``, ``Account.Name``), or one row of that name when
    the schema lacks it (a field named alone, ``Message__c``, its object being another field's value)."""
    if entitydefs.ensure(tx, target, value) or tx.find_ids_by_field(target, key, value):
        return
    od = tx.schema.find(value) if target.lower() == "entitydefinition" else None
    row = {key: value, "DurableId": value, "QualifiedApiName": value.rsplit(".", 1)[-1], "DeveloperName": value.rsplit("__", 1)[0][:40] if value.endswith("__c")
           else value[:40], "MasterLabel": getattr(od, "label", None) or value, "Label": getattr(od, "label", None) or value}
    if od is not None:
        row["KeyPrefix"] = od.key_prefix
    _check(tx.insert(target, [row], read_only_fields="write"), None)  # type: ignore[arg-type]
