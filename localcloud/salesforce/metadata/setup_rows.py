"""Setup metadata that Salesforce keeps as rows Apex and SOQL read: custom permissions, public groups
and queues.

- ``customPermissions/X.customPermission`` -> a ``CustomPermission`` row (``DeveloperName`` = X,
  ``MasterLabel`` = ``<label>``, ``NamespacePrefix`` null: the org has no namespace, ``IsProtected``).
- ``groups/X.group`` -> a ``Group`` of ``Type`` Regular (``DeveloperName`` = X, ``Name`` = ``<name>``).
- ``queues/X.queue`` -> a ``Group`` of ``Type`` Queue (``Name``, ``Email``, ``DoesSendEmailToMembers``)
  and one ``QueueSobject`` per ``<queueSobject><sobjectType>``: the objects whose records the queue may
  own (the data layer checks ``OwnerId`` against them). An object the org does not know fails the
  deploy with its line.

- a ``permissionsets/X.permissionset``'s enabled ``<customPermissions>`` -> one ``SetupEntityAccess`` row
  each (``ParentId`` = the permission set, ``SetupEntityId`` = the ``CustomPermission``,
  ``SetupEntityType`` 'CustomPermission'), as Salesforce stores them; ``FeatureManagement.checkPermission``
  reads these rows. A custom permission the org does not know fails the deploy with its line, as
  Salesforce ("no CustomPermission named X found").

- ``flows/X.flow`` -> a ``FlowDefinitionView`` row (``ApiName`` X, ``Label``, ``Description``,
  ``ProcessType``, ``IsActive`` when ``<status>`` is Active, ``ActiveVersionId``/``LatestVersionId``,
  ``TriggerType``/``RecordTriggerType``/``TriggerOrder`` from ``<start>``, ``ApiVersion``, ``Builder``,
  ``ManageableState`` 'unmanaged', ``LastModifiedBy`` the deploying user's name) and one
  ``FlowVersionView`` row (``DurableId`` = ``ActiveVersionId``, ``FlowDefinitionViewId`` = the definition's
  ``DurableId``, ``ApiVersionRuntime``, ``RunInMode`` (DefaultMode when not given), ``Status``,
  ``VersionNumber`` 1). The local org keeps one version a flow: a redeploy updates both rows in place
  (Salesforce would add a version); the flows run through ``localcloud.salesforce.flow``.

Re-deploying a component updates its row (found by ``DeveloperName``) and makes the queue's
``QueueSobject`` rows (and a permission set's custom permission rows) equal the deployed list; nothing
is doubled.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Sequence

from localcloud.salesforce.metadata.package import Component, DeployPackageError, child_text, children, parse_xml

TYPES = ("CustomPermission", "Group", "Queue", "Flow")
_TABLE = {"Queue": "Group", "Flow": "FlowDefinitionView"}


@dataclass(frozen=True)
class SetupRowProblem:
    component: Component
    message: str
    needle: str | None = None  # text whose line the failure reports


def apply_setup_rows(tx: Any, components: Sequence[Component]) -> list[SetupRowProblem]:
    """Write the deploy's custom permissions, groups and queues; one problem per broken component."""
    problems: list[SetupRowProblem] = []
    for component in components:
        if component.type not in TYPES or tx.schema.find(_TABLE.get(component.type, component.type)) is None:
            continue
        try:
            root = parse_xml(component.body, component.file_name)
            if component.type == "CustomPermission":
                _save(tx, "CustomPermission", component.full_name, {
                    "MasterLabel": child_text(root, "label") or component.full_name,
                    "IsProtected": (child_text(root, "isProtected") or "").lower() == "true"})
            elif component.type == "Group":
                _save(tx, "Group", component.full_name, {"Name": child_text(root, "name") or component.full_name,
                                                        "Type": "Regular"})
            elif component.type == "Flow":
                _apply_flow(tx, component, root)
            else:
                problems.extend(_apply_queue(tx, component, root))
        except (DeployPackageError, _RowError) as error:
            problems.append(SetupRowProblem(component, str(error)))
    return problems


class _RowError(Exception):
    pass


RowError = _RowError  # what save_row raises (list views, approval processes)


def _save(tx: Any, sobject: str, developer_name: str, values: dict[str, Any], extra_where: str = "",
          binds: dict[str, Any] | None = None) -> str:
    """Insert or update the row of this DeveloperName (``extra_where`` with its ``binds`` narrows it); returns
    its id. A refused row raises ``RowError``."""
    found = tx.query(f"SELECT Id FROM {sobject} WHERE DeveloperName = :n{extra_where}",
                     {**(binds or {}), "n": developer_name}).records
    row = {**values, "DeveloperName": developer_name}
    if found:
        results = tx.update(sobject, [{**row, "Id": found[0]["Id"]}], read_only_fields="write")
    else:
        results = tx.insert(sobject, [row], read_only_fields="write")
    if not results[0].success:
        raise _RowError("; ".join(e.message for e in results[0].errors))
    return found[0]["Id"] if found else results[0].id


def _apply_flow(tx: Any, component: Component, root: Any) -> None:
    start = next(iter(children(root, "start")), None)
    status = child_text(root, "status") or "Draft"
    api_version = child_text(root, "apiVersion")
    builder = next((child_text(next(iter(children(v, "value")), v), "stringValue") for v in children(root, "processMetadataValues")
                    if child_text(v, "name") == "BuilderType"), None)
    users = tx.query("SELECT Name FROM User WHERE Id = :u", {"u": getattr(tx, "user_id", None)}).records
    trigger_order = child_text(start, "triggerOrder") if start is not None else None
    values = {"ApiName": component.full_name, "Label": child_text(root, "label") or component.full_name,
              "Description": child_text(root, "description"), "ProcessType": child_text(root, "processType"),
              "IsActive": status == "Active", "ApiVersion": int(float(api_version)) if api_version else None,
              "Builder": builder, "ManageableState": "unmanaged", "VersionNumber": 1,
              "LastModifiedBy": users[0]["Name"] if users else None, "LastModifiedDate": _now(),
              "TriggerType": child_text(start, "triggerType") if start is not None else None,
              "RecordTriggerType": child_text(start, "recordTriggerType") if start is not None else None,
              "TriggerOrder": int(trigger_order) if trigger_order else None}
    found = tx.query("SELECT Id, LatestVersionId FROM FlowDefinitionView WHERE ApiName = :n",
                     {"n": component.full_name}).records
    definition_id = found[0]["Id"] if found else _write(tx, "FlowDefinitionView", None, values)
    version = {"FlowDefinitionViewId": definition_id, "Label": values["Label"], "Status": status,
               "ApiVersionRuntime": float(api_version) if api_version else None, "VersionNumber": 1,
               "RunInMode": child_text(root, "runInMode") or "DefaultMode", "ProcessType": values["ProcessType"]}
    version_id = found[0]["LatestVersionId"] if found and found[0]["LatestVersionId"] else None
    version_id = _write(tx, "FlowVersionView", version_id, version)
    _write(tx, "FlowVersionView", version_id, {"DurableId": version_id})
    _write(tx, "FlowDefinitionView", definition_id, {
        **values, "DurableId": definition_id, "LatestVersionId": version_id,
        "ActiveVersionId": version_id if status == "Active" else None})


def _write(tx: Any, sobject: str, record_id: str | None, values: dict[str, Any]) -> str:
    if record_id:
        results = tx.update(sobject, [{**values, "Id": record_id}], read_only_fields="write")
    else:
        results = tx.insert(sobject, [values], read_only_fields="write")
    if not results[0].success:
        raise _RowError("; ".join(e.message for e in results[0].errors))
    return record_id or results[0].id


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def apply_permission_set_entities(tx: Any, permsets: Sequence[tuple[Component, dict[str, Any]]]) -> list[SetupRowProblem]:
    """Make each deployed permission set's custom permission ``SetupEntityAccess`` rows equal its
    enabled ``<customPermissions>`` (run after the custom permissions and the permission sets are saved)."""
    if tx.schema.find("SetupEntityAccess") is None or tx.schema.find("CustomPermission") is None:
        return []
    problems: list[SetupRowProblem] = []
    for component, definition in permsets:
        names = [str(p["name"]) for p in definition.get("customPermissions") or [] if p.get("enabled") and p.get("name")]
        found = tx.query("SELECT Id FROM PermissionSet WHERE Name = :n", {"n": component.full_name}).records
        if not found:
            continue  # the permission set itself failed; reported already
        try:
            _sync_entities(tx, found[0]["Id"], names)
        except _MissingPermission as missing:
            problems.append(SetupRowProblem(component, f"In field: name - no CustomPermission named {missing} found",
                                            f"<name>{missing}</name>"))
        except _RowError as error:
            problems.append(SetupRowProblem(component, str(error)))
    return problems


class _MissingPermission(Exception):
    pass


def _sync_entities(tx: Any, permission_set_id: str, names: list[str]) -> None:
    ids: dict[str, str] = {}
    if names:
        rows = tx.query("SELECT Id, DeveloperName FROM CustomPermission WHERE DeveloperName IN :n", {"n": names}).records
        ids = {str(r["DeveloperName"]).lower(): r["Id"] for r in rows}
    missing = [n for n in names if n.lower() not in ids]
    if missing:
        raise _MissingPermission(missing[0])
    permissions = set(r["Id"] for r in tx.query("SELECT Id FROM CustomPermission", {}, page_size=1_000_000).records)
    have = {r["SetupEntityId"]: r["Id"] for r in tx.query(
        "SELECT Id, SetupEntityId FROM SetupEntityAccess WHERE ParentId = :p", {"p": permission_set_id},
        page_size=1_000_000).records if r["SetupEntityId"] in permissions}
    wanted = set(ids.values())
    new = [{"ParentId": permission_set_id, "SetupEntityId": eid, "SetupEntityType": "CustomPermission"}
           for eid in sorted(wanted - set(have))]
    gone = [rid for eid, rid in have.items() if eid not in wanted]
    for results in (tx.insert("SetupEntityAccess", new, read_only_fields="write") if new else [],
                    tx.delete(gone) if gone else []):
        failed = [r for r in results if not r.success]
        if failed:
            raise _RowError("; ".join(e.message for e in failed[0].errors))


def _apply_queue(tx: Any, component: Component, root: Any) -> list[SetupRowProblem]:
    wanted: list[str] = []
    for entry in children(root, "queueSobject"):
        name = (child_text(entry, "sobjectType") or "").strip()
        od = tx.schema.find(name)
        if od is None:
            return [SetupRowProblem(component, f"In field: sobjectType - no CustomObject named {name} found",
                                    f"<sobjectType>{name}</sobjectType>")]
        wanted.append(od.name)
    values = {"Name": child_text(root, "name") or component.full_name, "Type": "Queue",
              "Email": child_text(root, "email"),
              "DoesSendEmailToMembers": (child_text(root, "doesSendEmailToMembers") or "").lower() == "true"}
    queue_id = _save(tx, "Group", component.full_name, values, " AND Type = 'Queue'")
    have = {r["SobjectType"].lower(): r["Id"] for r in
            tx.query("SELECT Id, SobjectType FROM QueueSobject WHERE QueueId = :q", {"q": queue_id}).records}
    new = [{"QueueId": queue_id, "SobjectType": name} for name in wanted if name.lower() not in have]
    gone = [rid for name, rid in have.items() if name not in {w.lower() for w in wanted}]
    for results in (tx.insert("QueueSobject", new) if new else [], tx.delete(gone) if gone else []):
        failed = [r for r in results if not r.success]
        if failed:
            return [SetupRowProblem(component, "; ".join(e.message for e in failed[0].errors))]
    return []


save_row = _save  # insert or update a setup row by DeveloperName (metadata/list_views.py, approval_processes.py)

__all__ = ["SetupRowProblem", "TYPES", "RowError", "apply_permission_set_entities", "apply_profile_and_group_rows", "apply_setup_rows", "save_row"]


# -- profiles' custom permissions and permission set groups ------------------------------------------------
#: a profile's metadata name -> its Profile.Name (the standard profiles' files are named differently)
PROFILE_NAMES = {"admin": "System Administrator", "standard": "Standard User"}


def apply_profile_and_group_rows(tx: Any, components: Sequence[Component]) -> list[SetupRowProblem]:
    """``permissionsetgroups/X.permissionsetgroup`` -> a ``PermissionSetGroup`` row (``DeveloperName`` X,
    ``MasterLabel``, ``Description``, ``Status`` Updated) and one ``PermissionSetGroupComponent`` per
    ``<permissionSets>`` (an unknown permission set fails the deploy with its line); a
    ``profiles/X.profile``'s enabled ``<customPermissions>`` -> ``SetupEntityAccess`` rows of the profile's
    own permission set (``PermissionSet`` with ``IsOwnedByProfile``, as Salesforce keeps them). Run after the
    custom permissions and permission sets of the deploy are saved; a redeploy makes the rows equal the file."""
    if tx.schema.find("SetupEntityAccess") is None or tx.schema.find("PermissionSetGroupComponent") is None:
        return []
    problems: list[SetupRowProblem] = []
    for component in components:
        if component.type not in ("PermissionSetGroup", "Profile"):
            continue
        try:
            root = parse_xml(component.body, component.file_name)
            if component.type == "PermissionSetGroup":
                _apply_permission_set_group(tx, component, root)
            else:
                _apply_profile_permissions(tx, component, root)
        except _MissingPermission as missing:
            problems.append(SetupRowProblem(component, f"In field: name - no CustomPermission named {missing} found",
                                            f"<name>{missing}</name>"))
        except _MissingRow as missing:
            problems.append(SetupRowProblem(component, str(missing), missing.needle))
        except (DeployPackageError, _RowError) as error:
            problems.append(SetupRowProblem(component, str(error)))
    return problems


class _MissingRow(Exception):
    def __init__(self, message: str, needle: str | None) -> None:
        super().__init__(message)
        self.needle = needle


def _apply_permission_set_group(tx: Any, component: Component, root: Any) -> None:
    names = [(child.text or "").strip() for child in children(root, "permissionSets") if (child.text or "").strip()]
    sets: dict[str, str] = {}
    if names:
        sets = {str(r["Name"]).lower(): r["Id"] for r in tx.query(
            "SELECT Id, Name FROM PermissionSet WHERE Name IN :n", {"n": names}, page_size=1_000_000).records}
    for name in names:
        if name.lower() not in sets:
            raise _MissingRow(f"In field: permissionSets - no PermissionSet named {name} found",
                              f"<permissionSets>{name}</permissionSets>")
    group_id = _save(tx, "PermissionSetGroup", component.full_name, {
        "MasterLabel": child_text(root, "label") or component.full_name,
        "Description": child_text(root, "description"), "Status": "Updated"})
    have = {r["PermissionSetId"]: r["Id"] for r in tx.query(
        "SELECT Id, PermissionSetId FROM PermissionSetGroupComponent WHERE PermissionSetGroupId = :g", {"g": group_id},
        page_size=1_000_000).records}
    wanted = {sets[n.lower()] for n in names}
    new = [{"PermissionSetGroupId": group_id, "PermissionSetId": ps} for ps in sorted(wanted - set(have))]
    gone = [rid for ps, rid in have.items() if ps not in wanted]
    for results in (tx.insert("PermissionSetGroupComponent", new) if new else [], tx.delete(gone) if gone else []):
        failed = [r for r in results if not r.success]
        if failed:
            raise _RowError("; ".join(e.message for e in failed[0].errors))


def _apply_profile_permissions(tx: Any, component: Component, root: Any) -> None:
    names = [child_text(p, "name") or "" for p in children(root, "customPermissions")
             if (child_text(p, "enabled") or "").lower() == "true" and child_text(p, "name")]
    name = PROFILE_NAMES.get(component.full_name.lower(), component.full_name)
    profiles = tx.query("SELECT Id FROM Profile WHERE Name = :n", {"n": name}).records
    if not profiles:
        if names:  # the local org cannot create profiles; a profile granting nothing changes nothing
            raise _MissingRow(f"no Profile named {name} found: the local org has the standard profiles only", None)
        return
    profile_id = profiles[0]["Id"]
    owned = tx.query("SELECT Id FROM PermissionSet WHERE ProfileId = :p AND IsOwnedByProfile = true",
                     {"p": profile_id}).records
    if owned:
        permission_set_id = owned[0]["Id"]
    elif not names:
        return
    else:
        results = tx.insert("PermissionSet", [{"Name": "X" + profile_id[:15], "Label": name, "ProfileId": profile_id,
                                               "IsOwnedByProfile": True, "Type": "Profile"}], read_only_fields="write")
        if not results[0].success:
            raise _RowError("; ".join(e.message for e in results[0].errors))
        permission_set_id = results[0].id
    _sync_entities(tx, permission_set_id, names)
