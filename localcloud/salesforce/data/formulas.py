"""Formula fields, computed when read.

A custom field deployed with ``<formula>`` is described ``calculated: true`` with its
``calculatedFormula`` and is read-only. Its value is never stored: each SOQL select (REST and Apex)
and each record GET computes it with the formula engine (``localcloud.salesforce.formula``) from the
record's current values and those of its parents (``Account.Name``), so cross-object formulas, TODAY()
and NOW() are always current. A formula that fails on a record (division by zero, an invalid date)
reads as null, as the API returns Salesforce's ``#Error!``; one that cannot be built against the
schema (unknown field, type error) fails the read with ``InvalidFieldError`` naming the field.
Blank numbers count as zero unless the field says ``formulaTreatBlanksAs: BlankAsBlank``. Globals:
``$User``, ``$Profile``, ``$UserRole`` (the reading transaction's user), ``$Organization`` and
``$System.OriginDateTime``.

Filtering, sorting and grouping by a formula field (``WHERE Big__c = true``) compute it for every row
of the object into a temporary table the query joins (``soql/engine.py``), so they see current values
too. A Contact formula mirrored on person accounts (``X__pc``) reads as null.
"""

from __future__ import annotations

import datetime as _dt
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable, Mapping

from ..formula import DESCRIBE_TYPES, Env, FormulaError, FormulaRuntimeError, FormulaTypeError, FType, SimpleField, mapping_reader
from ..formula import build as build_formula
from ..formula import Formula
from .errors import InvalidFieldError
from .schema import FieldDef, ObjectDef, Schema
from .values import DECIMALS, to_json

#: run a typed SOQL select without counting it against the limits: (soql, binds) -> records
QueryFn = Callable[[str, Mapping[str, Any]], list[dict[str, Any]]]
_CACHE: dict[tuple[str, str, str, bool, int], Formula] = {}
#: the globals formula fields read: the running user's rows, and $System.OriginDateTime
GLOBAL_OBJECTS = {"$user": "User", "$profile": "Profile", "$userrole": "UserRole", "$organization": "Organization"}
ORIGIN = _dt.datetime(1900, 1, 1, tzinfo=_dt.timezone.utc)


def is_formula(fd: FieldDef) -> bool:
    """A formula field computed here (a Contact formula mirrored on person accounts, ``X__pc``, is not:
    it reads as null)."""
    return fd.calculated and bool(fd.raw.get("calculatedFormula")) and not fd.lower.endswith("__pc")


def formula_fields(od: ObjectDef) -> list[FieldDef]:
    """The object's formula fields (remembered on the definition: a schema change makes a new one)."""
    found = od.__dict__.get("_formula_fields")
    if found is None:
        found = od.__dict__["_formula_fields"] = [fd for fd in od.fields.values() if is_formula(fd)]
    return found


class SchemaResolver:
    """Types a reference path against the schema (fields, then parent relationships) and reads it
    from a typed record dict (as SOQL returns it, parents nested under their relationship names)."""

    def __init__(self, schema: Schema, od: ObjectDef) -> None:
        self.schema, self.od = schema, od

    def resolve(self, path: tuple[str, ...]) -> SimpleField | None:
        if path[0].startswith("$"):
            return self._global(path)
        od, keys = self.od, []
        for i, seg in enumerate(path):
            fd = od.find_field(seg)
            if fd is not None and i == len(path) - 1:
                ftype = DESCRIBE_TYPES.get(fd.type)
                if ftype is None:
                    raise FormulaTypeError(f"Field {'.'.join(path)} has the type {fd.type}, which formulas cannot read")
                keys.append(fd.name)
                return SimpleField(ftype, mapping_reader(tuple(keys)))
            rel = od.relationship(seg)
            parent = self.schema.find(rel.reference_to[0]) if rel is not None and rel.reference_to else None
            if parent is None or i == len(path) - 1:
                return None
            keys.append(rel.relationship_name)
            od = parent
        return None


    def _global(self, path: tuple[str, ...]) -> SimpleField | None:
        head = path[0].lower()
        if len(path) != 2:
            return None
        if head == "$system" and path[1].lower() == "origindatetime":
            return SimpleField(FType.DATETIME, lambda root: ORIGIN)
        od = self.schema.find(GLOBAL_OBJECTS[head]) if head in GLOBAL_OBJECTS else None
        fd = od.find_field(path[1]) if od is not None else None
        if fd is None:
            return None
        ftype = DESCRIBE_TYPES.get(fd.type)
        if ftype is None:
            raise FormulaTypeError(f"Field {'.'.join(path)} has the type {fd.type}, which formulas cannot read")
        return SimpleField(ftype, mapping_reader((head, fd.name)))


def _globals(refs: Iterable[str], query: QueryFn, user_id: str | None) -> dict[str, dict[str, Any]]:
    """The running user's rows the formulas read (``$User.Email`` -> ``{"$user": {"Email": ...}}``)."""
    wanted: dict[str, set[str]] = {}
    for ref in refs:
        head, _, name = ref.partition(".")
        if head.lower() in GLOBAL_OBJECTS:
            wanted.setdefault(head.lower(), set()).add(name)
    out: dict[str, dict[str, Any]] = {}
    user: dict[str, Any] = {}
    if user_id and ({"$user", "$profile", "$userrole"} & wanted.keys()):
        fields = wanted.get("$user", set()) | {"Id", "ProfileId", "UserRoleId"}
        rows = query(f"SELECT {', '.join(sorted(fields, key=str.lower))} FROM User WHERE Id = :id", {"id": user_id})
        user = rows[0] if rows else {}
    for head, fields in wanted.items():
        if head == "$user":
            out[head] = user
            continue
        if head == "$organization":
            where, binds = "", {}
        else:
            rid = user.get("ProfileId" if head == "$profile" else "UserRoleId")
            if not rid:
                out[head] = {}
                continue
            where, binds = " WHERE Id = :id", {"id": rid}
        rows = query(f"SELECT {', '.join(sorted(fields, key=str.lower))} FROM {GLOBAL_OBJECTS[head]}{where}", binds)
        out[head] = rows[0] if rows else {}
    return out


def formula_of(schema: Schema, od: ObjectDef, fd: FieldDef) -> Formula:
    """The built formula of ``fd`` (cached per definition); ``InvalidFieldError`` when it cannot be built."""
    source = fd.raw["calculatedFormula"]
    zero = bool(fd.raw.get("formulaTreatNullNumberAsZero"))
    key = (od.name, fd.name, source, zero, id(schema))
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    try:
        f = build_formula(source, SchemaResolver(schema, od), DESCRIBE_TYPES.get(fd.type), null_as_zero=zero)
    except FormulaError as e:
        raise InvalidFieldError(f"formula field {od.name}.{fd.name}: {e}") from None
    if len(_CACHE) > 512:
        _CACHE.clear()
    _CACHE[key] = f
    return f


def formula_problems(schema: Schema, spec: Any) -> list[tuple[str, str]]:
    """``(message, field name)`` for each formula field of a ``CustomObjectSpec`` that does not build
    against ``schema`` (a deploy refuses them, as Salesforce does)."""
    od = schema.find(spec.full_name)
    out: list[tuple[str, str]] = []
    for field_spec in spec.fields if od is not None else ():
        fd = od.find_field(field_spec.full_name.split(".")[-1])
        if fd is None or not is_formula(fd):
            continue
        try:
            formula_of(schema, od, fd)
        except InvalidFieldError as e:
            out.append((f"Field {fd.name}: {e.message.split(': ', 1)[-1]}", fd.name))
    return out


def compute(schema: Schema, od: ObjectDef, fields: Iterable[FieldDef], ids: list[str], query: QueryFn,
            now: _dt.datetime, today: _dt.date, user_id: str | None = None) -> dict[str, dict[str, Any]]:
    """``{id: {field name: typed value}}`` for the formula ``fields`` of the records ``ids``
    (``user_id``: the running user, whose rows ``$User``, ``$Profile``, ``$UserRole`` read)."""
    fields = list(fields)
    formulas = [(fd, formula_of(schema, od, fd)) for fd in fields]
    refs = {r for _, f in formulas for r in f.referenced_fields}
    plain = {"Id"} | {r for r in refs if not r.startswith("$")}
    globals_ = _globals(refs, query, user_id)
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 200):
        part = ids[start:start + 200]
        rows = query(f"SELECT {', '.join(sorted(plain, key=str.lower))} FROM {od.name} WHERE Id IN :ids", {"ids": part})
        for row in rows:
            if globals_:
                row = {**row, **globals_}
            env = Env(row, now=now, today=today)
            values: dict[str, Any] = {}
            for fd, f in formulas:
                try:
                    values[fd.name] = stored_value(fd, f.evaluate_env(env))
                except FormulaRuntimeError:
                    values[fd.name] = None
            out[str(row.get("Id"))] = values
    return out


def stored_value(fd: FieldDef, value: Any) -> Any:
    """A formula result as the field's typed value (numbers at the field's scale)."""
    if value is None:
        return False if fd.type == "boolean" else None
    if fd.type in DECIMALS and isinstance(value, Decimal):
        return value.quantize(Decimal(1).scaleb(-fd.scale), rounding=ROUND_HALF_UP)
    if fd.type == "int" and isinstance(value, Decimal):
        return int(value)
    return value




def fill_record(tx: Any, od: ObjectDef, record: dict[str, Any], typed: bool, query: QueryFn) -> None:
    """Compute the formula fields present in one retrieved record (REST GET)."""
    fds = [fd for fd in formula_fields(od) if fd.name in record]
    rid = (record.get("attributes") or {}).get("url", "").rsplit("/", 1)[-1]
    if not fds or not rid:
        return
    now = tx.now()
    values = compute(tx.schema, od, fds, [rid], query, now, now.astimezone(tx.store.timezone).date(),
                     getattr(tx, "user_id", None))
    by_name = {fd.name: fd for fd in fds}
    for name, v in values.get(rid, {}).items():
        record[name] = v if typed else to_json(by_name[name], v)
