"""Platform Cache values: what a put stores is a serialised copy of the Apex value, and a get builds a
fresh copy from it (Salesforce serialises cached values), with the item's size counted on the way.

Strings, numbers and Booleans are immutable and kept; Lists, Sets, Maps, SObjects and instances of Apex
classes are copied (shared and cyclic references kept as such); an instance of a class deleted since it
was cached reads back as null. Dates, Ids, Blobs, enum values and system objects are kept as they are.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .values import ApexList, ApexMap, ApexObject, ApexSet, SObject


def pack(value: Any, size: list[int]) -> Any:
    """The stored form of `value`; adds its size in bytes (roughly as Java serialises it) to size[0]."""
    return _pack(value, {}, size)


def unpack(node: Any, prog: Any, memo: dict[int, Any] | None = None) -> Any:
    """A fresh Apex value from a stored form (classes resolved in `prog`)."""
    return _unpack(node, prog, {} if memo is None else memo)


_SCALARS = (str, int, float, Decimal, bool)


def _pack(v: Any, memo: dict[int, Any], size: list[int]) -> Any:
    """A serialised copy of an Apex value (size counted in bytes, roughly as Java serialises it)."""
    if v is None:
        size[0] += 1
        return None
    if isinstance(v, str):
        size[0] += len(v.encode("utf-8")) + 2
        return v
    if isinstance(v, _SCALARS):
        size[0] += 8
        return v
    hit = memo.get(id(v))
    if hit is not None:
        size[0] += 4
        return hit
    if isinstance(v, ApexList):
        node: Any = ["L", v.etype, []]
        memo[id(v)] = node
        size[0] += 16
        node[2] = [_pack(x, memo, size) for x in v]
        return node
    if isinstance(v, ApexSet):
        node = ["S", v.etype, []]
        memo[id(v)] = node
        size[0] += 16
        node[2] = [_pack(x, memo, size) for x in v]
        return node
    if isinstance(v, ApexMap):
        node = ["M", (v.ktype, v.vtype), []]
        memo[id(v)] = node
        size[0] += 16
        node[2] = [(_pack(k, memo, size), _pack(x, memo, size)) for k, x in v.items()]
        return node
    if isinstance(v, SObject):
        node = ["O", (v.type_name, dict(v.names), set(v.queried) if v.queried is not None else None), {}]
        memo[id(v)] = node
        size[0] += 16 + len(v.type_name)
        node[2] = {k: _pack(x, memo, size) for k, x in v.fields.items()}
        return node
    if isinstance(v, ApexObject) and not v.cls.builtin:
        node = ["A", (v.cls.name.lower(), v.native), {}]
        memo[id(v)] = node
        size[0] += 16 + len(v.cls.name)
        node[2] = {k: _pack(x, memo, size) for k, x in v.fields.items()}
        return node
    size[0] += 16  # dates, times, Ids, Blobs, enum values, system objects: immutable or kept as they are
    data = getattr(v, "data", None)
    if isinstance(data, (bytes, bytearray)):
        size[0] += len(data)
    return v


def _unpack(node: Any, prog: Any, memo: dict[int, Any]) -> Any:
    if not isinstance(node, list):
        return node
    hit = memo.get(id(node))
    if hit is not None:
        return hit
    kind, meta, body = node
    if kind == "L":
        out: Any = ApexList((), meta)
        memo[id(node)] = out
        out.extend(_unpack(x, prog, memo) for x in body)
        return out
    if kind == "S":
        out = ApexSet((_unpack(x, prog, memo) for x in body), meta)
        memo[id(node)] = out
        return out
    if kind == "M":
        out = ApexMap((), *meta)
        memo[id(node)] = out
        for k, x in body:
            out[_unpack(k, prog, memo)] = _unpack(x, prog, memo)
        return out
    if kind == "O":
        type_name, names, queried = meta
        out = SObject(type_name, queried=set(queried) if queried is not None else None)
        memo[id(node)] = out
        out.names.update(names)
        for k, x in body.items():
            out.fields[k] = _unpack(x, prog, memo)
        return out
    lname, native = meta
    cls = prog.classes.get(lname)
    if cls is None:  # the class was deleted since the value was cached: it no longer deserialises
        return None
    out = ApexObject(cls)
    out.native = native
    memo[id(node)] = out
    for k, x in body.items():
        out.fields[k] = _unpack(x, prog, memo)
    return out
