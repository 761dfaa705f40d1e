"""``EntityDefinition`` and ``FieldDefinition``: one row per object and per field of the org's schema,
computed when SOQL (Apex or REST) reads them, as the data and Tooling APIs expose them.

Before a query on ``EntityDefinition`` runs, its rows are brought up to date with the schema (one per
object, added or updated; the local org never drops an object); before one on ``FieldDefinition``, the rows of
the objects its filter names. Salesforce requires that filter: a ``FieldDefinition`` query without a filter on
``EntityDefinitionId``, ``EntityDefinition.<field>`` or ``DurableId`` (``=`` or ``IN``) fails with
``MALFORMED_QUERY`` "FieldDefinition: a filter on a reified column is required [EntityDefinitionId,DurableId]".

Choices (Salesforce uses ids where the local org uses names): an entity's ``DurableId`` is its API name
(Salesforce: the API name for standard objects, an ``01I`` id for custom ones); a field's ``DurableId`` is
``<Object>.<Field>`` (Salesforce: ``<entity id>.<field id>`` for custom fields); ``EntityDefinitionId`` is
the entity's ``DurableId``. ``DataType`` is written as Setup shows it (``Text(80)``, ``Lookup(Account)``,
``Number(18, 0)``, ``Picklist``, ``Checkbox``, ``Formula (Text)``...).
"""
from __future__ import annotations

from typing import Any, Callable

from . import features, sharing
from .errors import MalformedQueryError
from .ids import make_id

FIELD_FILTER = "FieldDefinition: a filter on a reified column is required [EntityDefinitionId,DurableId]"
VALUE_TYPES = {"xsd:string": "string", "tns:ID": "id", "xsd:boolean": "boolean", "xsd:double": "double",
               "xsd:int": "int", "xsd:long": "long", "xsd:date": "date", "xsd:dateTime": "datetime",
               "xsd:time": "time", "xsd:base64Binary": "base64", "urn:address": "address", "urn:location": "location",
               "xsd:anyType": "any"}
SIMPLE_TYPES = {"boolean": "Checkbox", "date": "Date", "datetime": "Date/Time", "time": "Time", "email": "Email",
                "phone": "Phone", "url": "URL", "picklist": "Picklist", "multipicklist": "Picklist (Multi-Select)",
                "address": "Address", "location": "Geolocation", "combobox": "Picklist", "base64": "File"}


def _developer_name(name: str) -> str:
    for suffix in ("__c", "__mdt", "__e", "__Share", "__ChangeEvent"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def entity_values(od: Any) -> dict[str, Any]:
    raw = od.raw
    if "ownerid" in od.fields:
        model = sharing.sharing_model(od)
    elif any(fd.cascade_delete for fd in od.fields.values()):
        model = "ControlledByParent"
    else:
        model = "None"
    return {"DurableId": od.name, "QualifiedApiName": od.name, "DeveloperName": _developer_name(od.name)[:40],
            "MasterLabel": od.label, "Label": od.label, "PluralLabel": raw.get("labelPlural"),
            "KeyPrefix": od.key_prefix, "NamespacePrefix": None,
            "IsCustomizable": bool(raw.get("custom") or raw.get("layoutable") or raw.get("triggerable")),
            "IsQueryable": bool(raw.get("queryable", True)), "IsCustomSetting": bool(raw.get("customSetting")),
            "IsApexTriggerable": bool(raw.get("triggerable")), "IsTriggerable": bool(raw.get("triggerable")),
            "IsEverCreatable": bool(raw.get("createable")), "IsEverUpdatable": bool(raw.get("updateable")),
            "IsEverDeletable": bool(raw.get("deletable")), "IsRetrieveable": bool(raw.get("retrieveable", True)),
            "IsSearchable": bool(raw.get("searchable")), "IsLayoutable": bool(raw.get("layoutable")),
            "IsDeprecatedAndHidden": bool(raw.get("deprecatedAndHidden")), "IsFeedEnabled": bool(raw.get("feedEnabled")),
            "InternalSharingModel": model, "ExternalSharingModel": model}


def data_type(od: Any, fd: Any) -> str:
    raw = fd.raw
    t = fd.type
    if raw.get("calculated") and raw.get("calculatedFormula"):
        return f"Formula ({_formula_type(t)})"
    if raw.get("autoNumber"):
        return "Auto Number"
    if t == "id":
        return "Lookup()"
    if t == "reference":
        kind = "Master-Detail" if fd.cascade_delete else "Lookup"
        return f"{kind}({','.join(raw.get('referenceTo') or [])})"
    if t in ("string", "encryptedstring"):
        return "Name" if raw.get("nameField") and not od.custom else f"Text({raw.get('length', 0)})"
    if t == "textarea":
        length = int(raw.get("length") or 0)
        return f"Text Area({length})" if length <= 255 else f"Long Text Area({length})"
    if t in ("double", "int", "long"):
        return f"Number({raw.get('precision') or raw.get('digits') or 18}, {raw.get('scale') or 0})"
    if t in ("currency", "percent"):
        precision, scale = raw.get("precision") or 18, raw.get("scale") or 0
        return f"{t.capitalize()}({precision - scale}, {scale})"
    return SIMPLE_TYPES.get(t, t.capitalize())


def _formula_type(t: str) -> str:
    return {"string": "Text", "double": "Number", "boolean": "Checkbox", "datetime": "Date/Time"}.get(t, t.capitalize())


def field_values(od: Any, fd: Any) -> dict[str, Any]:
    raw = fd.raw
    return {"DurableId": f"{od.name}.{fd.name}", "QualifiedApiName": fd.name,
            "DeveloperName": _developer_name(fd.name)[:40], "MasterLabel": fd.label, "Label": fd.label,
            "EntityDefinitionId": od.name, "DataType": data_type(od, fd),
            "ValueTypeId": VALUE_TYPES.get(raw.get("soapType", ""), "any"), "NamespacePrefix": None,
            "RelationshipName": raw.get("relationshipName"),
            "ReferenceTargetField": None, "Description": raw.get("inlineHelpText"),
            "Length": int(raw.get("length") or 0), "Precision": int(raw.get("precision") or 0),
            "Scale": int(raw.get("scale") or 0), "Digits": int(raw.get("digits") or 0),
            "IsCalculated": bool(raw.get("calculated")), "IsNillable": bool(raw.get("nillable")),
            "IsIndexed": bool(fd.lower in ("id", "name") or raw.get("externalId") or raw.get("unique")
                              or fd.type == "reference"),
            "IsNameField": bool(raw.get("nameField")), "IsCompound": fd.type in ("address", "location"),
            "IsApiFilterable": bool(raw.get("filterable")), "IsApiSortable": bool(raw.get("sortable")),
            "IsApiGroupable": bool(raw.get("groupable")),
            "IsPolymorphicForeignKey": bool(raw.get("polymorphicForeignKey")), "IsFieldHistoryTracked": False,
            "IsHtmlFormatted": bool(raw.get("htmlFormatted"))}


# -- keeping the rows equal to the schema ---------------------------------------------------------------
def _sync(tx: Any, view: str, wanted: dict[str, dict[str, Any]], scope_sql: str = "", scope: tuple = ()) -> None:
    """Add or update the rows of ``view`` (within ``scope_sql``) to hold ``wanted`` (DurableId lower -> values)."""
    from .values import to_db
    od = tx.schema.find(view)
    if od is None:
        return
    fds = [fd for fd in od.fields.values() if fd.lower not in ("id", "isdeleted")]
    have: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for row in tx.execute(f"SELECT id, {', '.join(fd.column for fd in fds)} FROM {od.table} WHERE isdeleted = 0"
                          f"{scope_sql}", scope):
        key = str(row[1 + fds.index(od.field("DurableId"))] or "").lower()
        if key in have:  # a doubled row (never expected): keep one
            tx.begin_write()
            tx.execute(f"DELETE FROM {od.table} WHERE id = ?", (row[0],))
            continue
        have[key] = (row[0], tuple(row[1:]))
    inserts, updates = [], []
    for key, values in wanted.items():
        db = tuple(to_db(fd, values.get(fd.name)) for fd in fds)
        found = have.pop(key, None)
        if found is None:
            inserts.append(db)
        elif found[1] != db:
            updates.append(db + (found[0],))
    # rows left in ``have`` name what the schema lacks: the local org never drops objects or fields, so they
    # are rows custom metadata wrote for a name it refers to (custommetadata.py); they stay
    if not (inserts or updates):
        return
    tx.begin_write()
    for update in updates:
        tx.execute(f"UPDATE {od.table} SET {', '.join(fd.column + ' = ?' for fd in fds)} WHERE id = ?", update)
    if inserts:
        first = tx.store._next_numbers(tx._conn, od.key_prefix, len(inserts))
        sql = (f"INSERT INTO {od.table} (isdeleted, id, {', '.join(fd.column for fd in fds)}) "
               f"VALUES (0, ?{', ?' * len(fds)})")
        for n, db in enumerate(inserts):
            tx.execute(sql, (make_id(od.key_prefix, first + n),) + db)


def sync_entities(tx: Any) -> None:
    _sync(tx, "EntityDefinition", {od.name.lower(): entity_values(od) for od in tx.schema.objects()})


def sync_fields(tx: Any, objects: list[Any]) -> None:
    view = tx.schema.find("FieldDefinition")
    if view is None:
        return
    column = view.field("EntityDefinitionId").column
    for od in objects:
        every = [od.find_field(f["name"]) for f in od.raw.get("fields") or []]  # compound fields too
        wanted = {f"{od.name}.{fd.name}".lower(): field_values(od, fd) for fd in every if fd is not None}
        _sync(tx, "FieldDefinition", wanted, f" AND lower({column}) = ?", (od.name.lower(),))


def prepare_entities(tx: Any, query: Any, bind: Callable[[Any], Any]) -> None:
    sync_entities(tx)


def prepare_fields(tx: Any, query: Any, bind: Callable[[Any], Any]) -> None:
    names = _entity_filter(query.where, bind)
    if names is None:
        raise MalformedQueryError(FIELD_FILTER)
    sync_entities(tx)  # FieldDefinition.EntityDefinition.X joins these rows
    if names == ["*"]:
        objects = list(tx.schema.objects())
    else:
        objects = [od for od in (tx.schema.find(n) for n in names) if od is not None]
    sync_fields(tx, objects)


def _entity_filter(where: Any, bind: Callable[[Any], Any]) -> list[str] | None:
    """The object names a FieldDefinition query's top-level filter names (``["*"]``: a filter whose values
    cannot be read before the query runs, such as a semi-join), or None when it has no such filter."""
    from .soql.ast import And, Comparison, FieldRef, SemiJoin
    items = list(where.items) if isinstance(where, And) else [where] if where is not None else []
    for c in items:
        if not isinstance(c, Comparison) or not isinstance(c.left, FieldRef) or c.op not in ("=", "IN"):
            continue
        path = [p.lower() for p in c.left.path]
        if path[0] == "fielddefinition" and len(path) > 1:
            path = path[1:]
        if path not in (["entitydefinitionid"], ["durableid"]) and not (len(path) == 2 and path[0] == "entitydefinition"):
            continue
        if isinstance(c.value, SemiJoin):
            return ["*"]
        value = bind(c.value)
        values = [str(v) for v in (value if isinstance(value, list) else [value]) if v]
        if path == ["durableid"]:
            return [v.split(".", 1)[0] for v in values]
        if path[-1] not in ("qualifiedapiname", "durableid"):
            return ["*"]  # EntityDefinition.DeveloperName, .KeyPrefix...: every object's rows
        return values
    return None


def ensure(tx: Any, target: str, value: str) -> bool:
    """The row custom metadata names (``Account`` / ``Account.Name``) from the schema; False when the org has
    no such object or field."""
    if target.lower() == "entitydefinition":
        if tx.schema.find(value) is None:
            return False
        sync_entities(tx)
        return True
    entity, _, field = value.partition(".")
    od = tx.schema.find(entity)
    if od is None or od.find_field(field) is None:
        return False
    sync_entities(tx)
    sync_fields(tx, [od])
    return True


features.COMPUTED_VIEWS["entitydefinition"] = prepare_entities
features.COMPUTED_VIEWS["fielddefinition"] = prepare_fields

__all__ = ["FIELD_FILTER", "ensure", "entity_values", "field_values", "sync_entities", "sync_fields"]
