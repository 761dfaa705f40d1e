"""Static methods of custom metadata types and custom settings (``X__mdt.getAll()``, ``X__c.getInstance()``).

Custom metadata (``__mdt``): ``getAll()`` -> ``Map<String, X__mdt>`` by DeveloperName, ``getInstance(name
or id)`` -> the record or null. They do not count against the SOQL limit (as in Salesforce).

Custom settings (``__c`` with ``customSettingsType``): list settings ``getAll()`` (by Name),
``getInstance(name)``/``getValues(name)``; hierarchy settings ``getOrgDefaults()``, ``getInstance()``,
``getInstance(userOrProfileId)`` (user, then profile, then org values, field by field; a new record
with the fields' defaults when none is defined) and ``getValues(id)`` (that level's record or null).
"""

from __future__ import annotations

from typing import Any

from . import ops
from .tables import provide
from .values import ApexMap, SObject

METHODS = {"getall", "getinstance", "getvalues", "getorgdefaults"}


@provide("settings_supports")
def supports(prog: Any, sobject: str, method: str) -> bool:
    if method not in METHODS:
        return False
    low = sobject.lower()
    if low.endswith("__mdt"):
        return method in ("getall", "getinstance")
    od = _object_def(prog, sobject)
    return od is not None and bool(od.raw.get("customSetting"))


@provide("settings_call")
def call(prog: Any, sobject: str, method: str, args: list[Any]) -> Any:
    if sobject.lower().endswith("__mdt"):
        return _metadata(prog, sobject, method, args)
    od = _object_def(prog, sobject)
    if (od.raw.get("_customSettingsType") or "").lower() == "hierarchy":
        return _hierarchy(prog, od, sobject, method, args)
    return _list_setting(prog, sobject, method, args)


def _object_def(prog: Any, sobject: str) -> Any:
    schema = getattr(prog.schema, "object_def", None)
    return schema(sobject) if schema is not None else None


def _records(prog: Any, sobject: str, where: str = "", binds: dict[str, Any] | None = None) -> list[SObject]:
    from .dml import _session
    from .soql import to_sobject
    od = _object_def(prog, sobject)
    fields = ", ".join(f.name for f in od.fields.values()) if od is not None else "Id"
    result = _session(prog).query(f"SELECT {fields} FROM {sobject}{where}", binds or {}, typed=True,
                                  page_size=1_000_000)
    return [to_sobject(prog, r, od.name if od is not None else sobject) for r in result.records]


def _metadata(prog: Any, sobject: str, method: str, args: list[Any]) -> Any:
    records = _records(prog, sobject)
    if method == "getall":
        return ApexMap({r.fields.get("developername"): r for r in records})
    key = ops.to_str(args[0]) if args else None
    if key is None:
        return None
    for r in records:
        if str(r.fields.get("developername") or "").lower() == key.lower() or _same_id(r.fields.get("id"), key):
            return r
    return None


def _list_setting(prog: Any, sobject: str, method: str, args: list[Any]) -> Any:
    records = _records(prog, sobject)
    if method == "getall":
        return ApexMap({r.fields.get("name"): r for r in records})
    key = ops.to_str(args[0]) if args else None
    return next((r for r in records if r.fields.get("name") == key), None)


def _hierarchy(prog: Any, od: Any, sobject: str, method: str, args: list[Any]) -> Any:
    records = _records(prog, sobject)
    by_owner = {str(r.fields.get("setupownerid"))[:15]: r for r in records if r.fields.get("setupownerid")}
    org_id = _org_id(prog)
    if method == "getorgdefaults":
        found = by_owner.get(org_id[:15]) if org_id else None
        if found is not None:
            return found
        result = _empty(prog, od, sobject)  # as Salesforce: the org level's new record (insert saves it)
        if org_id:
            result.put("SetupOwnerId", org_id)
        return result
    if method == "getvalues":
        return by_owner.get(str(args[0])[:15]) if args and args[0] is not None else None
    if method == "getall":
        ops.throw("System.TypeException", f"getAll is not supported on hierarchy custom setting {sobject}")
    target = str(args[0]) if args and args[0] is not None else _user_id(prog)
    levels = []
    if target:
        levels.append(by_owner.get(target[:15]))
        if target.startswith("005"):
            profile = _profile_of(prog, target)
            if profile:
                levels.append(by_owner.get(profile[:15]))
    if org_id:
        levels.append(by_owner.get(org_id[:15]))
    found = [r for r in levels if r is not None]
    if not found:
        result = _empty(prog, od, sobject)
        if target:
            result.put("SetupOwnerId", target)
        return result
    merged = SObject(od.name)
    for record in reversed(found):  # org, then profile, then user override
        for key, value in record.fields.items():
            if value is not None:
                merged.put(record.names.get(key, key), value)
    if found[0] is not levels[0] and target:
        merged.fields.pop("id", None)
        merged.put("SetupOwnerId", target)
    return merged


def _empty(prog: Any, od: Any, sobject: str) -> SObject:
    record = SObject(od.name)
    for fd in od.fields.values():
        if fd.custom and fd.default_value is not None:
            record.put(fd.name, fd.default_value)
        elif fd.custom and fd.type == "boolean":
            record.put(fd.name, False)
    return record


def _same_id(value: Any, key: str) -> bool:
    return value is not None and len(key) in (15, 18) and str(value)[:15] == key[:15]


def _org_id(prog: Any) -> str | None:
    return (prog.tx.user or {}).get("organizationid") or getattr(prog.data, "org_id", None)


def _user_id(prog: Any) -> str | None:
    return (prog.tx.user or {}).get("userid") or getattr(prog.data, "user_id", None)


def _profile_of(prog: Any, user_id: str) -> str | None:
    from .dml import _session
    try:
        rows = _session(prog).query("SELECT ProfileId FROM User WHERE Id = :u", {"u": user_id}, typed=False).records
    except Exception:  # noqa: BLE001 - a store without users has no profile level
        return None
    return rows[0].get("ProfileId") if rows else None
