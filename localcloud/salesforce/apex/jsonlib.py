"""JSON.serialize / deserialize / deserializeUntyped / createGenerator with Apex's rules."""

from __future__ import annotations

import datetime as _dt
import json
from decimal import Decimal
from typing import Any

from . import ops
from .stdlib import OBJ, STATIC_METHODS, STR, ApexType, Native
from .values import (ApexList, ApexMap, ApexObject, ApexSet, Blob, EnumValue, IdValue, Long, SObject, TypeRef,
                     format_decimal)


class _Raw(str):
    """Pre-rendered JSON number text."""


def to_json_value(v: Any, suppress_nulls: bool = False) -> Any:
    """Apex value -> Python JSON structure (numbers kept exact via _Raw)."""
    t = type(v)
    if v is None or t is bool or t is str or t is IdValue:
        return v
    if t is int or t is Long:
        return int(v)
    if t is Decimal:
        return _Raw(format_decimal(v))
    if t is float:
        return v
    if t is _dt.datetime:
        return v.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if t is _dt.date:
        return v.isoformat()
    if t is _dt.time:
        return v.strftime("%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if t is Blob:
        import base64
        return base64.b64encode(v.data).decode("ascii")
    if t is ApexList:
        return [to_json_value(x, suppress_nulls) for x in v]
    if t is ApexSet:
        return [to_json_value(x, suppress_nulls) for x in v.d]
    if t is ApexMap:
        return {ops.to_str(k): to_json_value(x, suppress_nulls) for k, x in v.items()
                if not (suppress_nulls and x is None)}
    if t is SObject:
        out: dict[str, Any] = {"attributes": {"type": v.type_name}}
        rid = v.fields.get("id")
        if rid:
            out["attributes"]["url"] = f"/services/data/v62.0/sobjects/{v.type_name}/{rid}"
        for low, x in v.fields.items():
            if isinstance(x, ApexList):
                out[v.names[low]] = {"totalSize": len(x), "done": True,
                                     "records": [to_json_value(r, suppress_nulls) for r in x]}
            else:
                out[v.names[low]] = to_json_value(x, suppress_nulls)
        return out
    if t is EnumValue:
        return v.name
    if t is ApexObject:
        if v.cls.is_exception:
            return {"message": v.fields.get("__message")}
        res: dict[str, Any] = {}
        for fi in v.cls.all_instance_fields():
            if "transient" in fi.modifiers:
                continue
            x = v.fields.get(fi.lname)
            if suppress_nulls and x is None:
                continue
            res[fi.name] = to_json_value(x, suppress_nulls)
        return res
    j = getattr(v, "apex_json", None)
    if j is not None:
        return j()
    ops.throw("System.JSONException", f"Type unsupported in JSON: {ops.type_name(v)}")


def dumps(obj: Any, pretty: bool = False) -> str:
    return _dump(obj, pretty, 0)


def _dump(o: Any, pretty: bool, level: int) -> str:
    if isinstance(o, _Raw):
        return str(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, str):
        return json.dumps(o, ensure_ascii=False)
    if isinstance(o, int):
        return str(o)
    if isinstance(o, float):
        return repr(o)
    sep = ","
    if isinstance(o, list):
        if not o:
            return "[ ]" if pretty else "[]"
        if pretty:
            return "[ " + ", ".join(_dump(x, pretty, level) for x in o) + " ]"
        return "[" + ",".join(_dump(x, pretty, level) for x in o) + "]"
    if isinstance(o, dict):
        if not o:
            return "{ }" if pretty else "{}"
        if pretty:
            ind = "  " * (level + 1)
            items = [f"{ind}{json.dumps(k, ensure_ascii=False)} : {_dump(v, pretty, level + 1)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"
        return "{" + sep.join(f"{json.dumps(k, ensure_ascii=False)}:{_dump(v, pretty, level)}"
                              for k, v in o.items()) + "}"
    raise TypeError(type(o))


def serialize(v: Any, suppress: bool = False, pretty: bool = False) -> str:
    return dumps(to_json_value(v, suppress), pretty)


# ------------------------------------------------------------------------------------------------ parsing


def _parse(text: Any) -> Any:
    if text is None:
        ops.npe()
    def no_constants(name: str) -> Any:
        # Python's json accepts NaN/Infinity; Salesforce's JSON parser does not
        raise json.JSONDecodeError(f"Unexpected token {name}", text, text.find(name))

    try:
        return json.loads(text, parse_float=Decimal, parse_int=int, parse_constant=no_constants)
    except json.JSONDecodeError as e:
        ops.throw("System.JSONException", parse_error_message(text, e))


#: Python's decoder message -> what Salesforce's (Jackson's) parser says it was expecting
_EXPECTING = {
    "Expecting property name enclosed in double quotes": "was expecting double-quote to start field name",
    "Expecting ':' delimiter": "was expecting a colon to separate field name and value",
    "Expecting value": "expected a valid value (number, String, array, object, 'true', 'false' or 'null')",
}


def _open_container(text: str, pos: int) -> str | None:
    """OBJECT or ARRAY: the innermost bracket still open before ``pos`` (strings skipped)."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text[:pos]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            stack.append("ARRAY" if ch == "[" else "OBJECT")
        elif ch in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else None


def parse_error_message(text: str, e: json.JSONDecodeError) -> str:
    """Salesforce's JSONException text for malformed JSON (Jackson's wording; columns 1-based and
    counted after the offending character, as Jackson reports them)."""
    where = f"at [line:{e.lineno}, column:{e.colno + 1}]"
    if not text.strip():
        return "No content to map due to end-of-input"
    container = _open_container(text, e.pos)
    if e.pos >= len(text):
        if container:
            return f"Unexpected end-of-input: expected close marker for {container} {where}"
        return f"Unexpected end-of-input {where}"
    char = text[e.pos]
    expecting = _EXPECTING.get(e.msg)
    if e.msg == "Expecting ',' delimiter":
        expecting = f"was expecting comma to separate {'Object' if container == 'OBJECT' else 'Array'} entries"
    if e.msg == "Extra data":
        expecting = "expected end-of-input"
    detail = f": {expecting}" if expecting else ""
    return f"Unexpected character ('{char}' (code {ord(char)})){detail} {where}"


def untyped(v: Any) -> Any:
    if isinstance(v, dict):
        return ApexMap(((k, untyped(x)) for k, x in v.items()), STR, OBJ)
    if isinstance(v, list):
        return ApexList([untyped(x) for x in v], OBJ)
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return v if -(2**31) <= v < 2**31 else Long(v)
    if isinstance(v, Decimal):
        return v
    return v


#: describe type of an SObject field -> the Apex type JSON values of it become
_FIELD_APEX_TYPES = {"datetime": "Datetime", "date": "Date", "time": "Time", "double": "Decimal",
                     "currency": "Decimal", "percent": "Decimal", "int": "Integer", "long": "Long", "base64": "Blob",
                     "boolean": "Boolean"}

#: runtime-provided types JSON can deserialize into: lower-case type name -> fn(JSON value) (system libraries register)
NATIVE_READERS: dict[str, Any] = {}


def convert(v: Any, t: TypeRef | None, strict: bool = False, ctx_cls: Any = None) -> Any:
    """JSON value -> Apex value of declared type t."""
    p = ops.CURRENT.prog
    if v is None:
        return None
    if t is None or t.name == "object":
        return untyped(v)
    n = t.name
    if n.startswith("system."):
        n = n[7:]
    if n in ("string",):
        if isinstance(v, (dict, list)):
            _bad(v, t)
        return v if isinstance(v, str) else ops.to_str(untyped(v))
    if n in ("integer", "long"):
        if isinstance(v, bool) or isinstance(v, (dict, list)):
            _bad(v, t)
        try:
            iv = int(Decimal(str(v)))
        except Exception:  # noqa: BLE001
            _bad(v, t)
        return iv if n == "integer" else Long(iv)
    if n in ("decimal", "double"):
        if isinstance(v, bool) or isinstance(v, (dict, list)):
            _bad(v, t)
        try:
            d = Decimal(str(v))
        except Exception:  # noqa: BLE001
            _bad(v, t)
        return d if n == "decimal" else float(d)
    if n == "boolean":
        if isinstance(v, bool):
            return v
        if isinstance(v, str) and v.lower() in ("true", "false"):
            return v.lower() == "true"
        _bad(v, t)
    if n == "id":
        return ops.cast(v, t)
    if n == "date":
        from .stdlib import _date_value_of
        return _date_value_of([v])
    if n == "datetime":
        from .stdlib import _dt_value_of
        return _dt_value_of([v])
    if n == "blob":
        import base64
        return Blob(base64.b64decode(v))
    if n in ("list", "set"):
        if not isinstance(v, list):
            _bad(v, t)
        et = t.args[0] if t.args else None
        items = [convert(x, et, strict, ctx_cls) for x in v]
        return ApexList(items, et) if n == "list" else ApexSet(items, et)
    if n == "map":
        if not isinstance(v, dict):
            _bad(v, t)
        kt = t.args[0] if t.args else None
        vt = t.args[1] if len(t.args) > 1 else None
        return ApexMap(((convert(k, kt, False, ctx_cls), convert(x, vt, strict, ctx_cls)) for k, x in v.items()),
                       kt, vt)
    cls = p.resolve_class(t, ctx_cls)
    if n == "sobject" and isinstance(v, dict) and (v.get("attributes") or {}).get("type"):
        n = str(v["attributes"]["type"]).lower()  # a generic SObject: the record's own type
    if cls is None and p.is_sobject_type(n):
        if not isinstance(v, dict):
            _bad(v, t)
        so = SObject(p.sobject_name(n))
        for k, x in v.items():
            if k == "attributes":
                continue
            if isinstance(x, dict) and "records" in x:
                so.put(k, ApexList([convert(r, TypeRef("SObject"), strict) for r in x["records"]], TypeRef("SObject")))
            elif isinstance(x, dict):
                so.put(k, convert(x, TypeRef((x.get("attributes") or {}).get("type", k)), strict))
            else:
                field_type = _FIELD_APEX_TYPES.get(p.schema.field_type(so.type_name, k) or "") \
                    if hasattr(p.schema, "field_type") and isinstance(x, (str, int, float, Decimal)) else None
                if field_type is not None:
                    x = convert(x, TypeRef(field_type), strict)
                p.sobject_put(so, k, x)
        return so
    if cls is not None and cls.kind == "enum":
        ev = cls.enum_values.get(str(v).lower())
        return ev
    if cls is not None and cls.kind == "class":
        if not isinstance(v, dict):
            _bad(v, t)
        from .values import ApexObject as _AO
        if not cls.static_ready:
            p.init_static(cls)
        obj = _AO(cls)
        for fi in cls.all_instance_fields():
            obj.fields[fi.lname] = None
        for k, x in v.items():
            fi = cls.find_field(k.lower())
            if fi is None or fi.static:
                if strict:
                    ops.throw("System.JSONException", f"No such column '{k}' on object of type {cls.name}")
                continue
            obj.fields[fi.lname] = convert(x, fi.type, strict, fi.cls)
        return obj
    reader = NATIVE_READERS.get(n)
    if reader is not None:
        return reader(v)
    ops.throw("System.JSONException", f"Cannot deserialize into type {t.display}")


def _bad(v: Any, t: TypeRef) -> None:
    tok = "START_OBJECT" if isinstance(v, dict) else "START_ARRAY" if isinstance(v, list) else \
        "VALUE_STRING" if isinstance(v, str) else "VALUE_NUMBER" if isinstance(v, (int, Decimal)) else "VALUE"
    ops.throw("System.JSONException", f"Illegal value for {t.display}: {tok}")


def _deserialize(a, strict=False):
    t = a[1]
    if not isinstance(t, ApexType):
        ops.throw("System.JSONException", "Second argument must be a Type")
    return convert(_parse(a[0]), t.ref, strict, t.cls)


STATIC_METHODS.update({
    ("json", "serialize"): lambda a: serialize(a[0], bool(a[1]) if len(a) > 1 else False),
    ("json", "serializepretty"): lambda a: serialize(a[0], bool(a[1]) if len(a) > 1 else False, True),
    ("json", "deserialize"): _deserialize,
    ("json", "deserializestrict"): lambda a: _deserialize(a, True),
    ("json", "deserializeuntyped"): lambda a: untyped(_parse(a[0])),
    ("json", "creategenerator"): lambda a: JSONGenerator(bool(a[0]) if a else False),
})


class JSONGenerator(Native):
    apex_type = "System.JSONGenerator"

    def __init__(self, pretty: bool) -> None:
        self.pretty = pretty
        self.stack: list[Any] = []
        self.root: Any = None
        self.pending: str | None = None
        self.has_root = False

    def _emit(self, v: Any) -> None:
        if not self.stack:
            if self.has_root:
                ops.throw("System.JSONException", "Can not write a value, expecting field name")
            self.root = v
            self.has_root = True
            return
        top = self.stack[-1]
        if isinstance(top, list):
            top.append(v)
        else:
            if self.pending is None:
                ops.throw("System.JSONException", "Can not write a value, expecting field name")
            top[self.pending] = v
            self.pending = None

    def m_writestartobject(self, a):
        d: dict[str, Any] = {}
        self._emit(d)
        self.stack.append(d)

    def m_writeendobject(self, a):
        if not self.stack or not isinstance(self.stack[-1], dict):
            ops.throw("System.JSONException", "Can not end object, not in an object")
        self.stack.pop()

    def m_writestartarray(self, a):
        lst: list[Any] = []
        self._emit(lst)
        self.stack.append(lst)

    def m_writeendarray(self, a):
        if not self.stack or not isinstance(self.stack[-1], list):
            ops.throw("System.JSONException", "Can not end array, not in an array")
        self.stack.pop()

    def m_writefieldname(self, a):
        if not self.stack or not isinstance(self.stack[-1], dict):
            ops.throw("System.JSONException", "Can not write a field name, expecting a value")
        self.pending = a[0]

    def _field(self, a, v):
        self.m_writefieldname([a[0]])
        self._emit(v)

    def m_writestringfield(self, a):
        self._field(a, a[1])

    def m_writenumberfield(self, a):
        self._field(a, to_json_value(a[1]))

    def m_writebooleanfield(self, a):
        self._field(a, a[1])

    def m_writenullfield(self, a):
        self._field(a, None)

    def m_writedatefield(self, a):
        self._field(a, to_json_value(a[1]))

    def m_writedatetimefield(self, a):
        self._field(a, to_json_value(a[1]))

    def m_writeidfield(self, a):
        self._field(a, a[1])

    def m_writeobjectfield(self, a):
        self._field(a, to_json_value(a[1]))

    def m_writestring(self, a):
        self._emit(a[0])

    def m_writenumber(self, a):
        self._emit(to_json_value(a[0]))

    def m_writeboolean(self, a):
        self._emit(a[0])

    def m_writenull(self, a):
        self._emit(None)

    def m_writedate(self, a):
        self._emit(to_json_value(a[0]))

    def m_writedatetime(self, a):
        self._emit(to_json_value(a[0]))

    def m_writeid(self, a):
        self._emit(a[0])

    def m_writeobject(self, a):
        self._emit(to_json_value(a[0]))

    def m_getasstring(self, a):
        if not self.has_root:
            return ""
        return dumps(self.root, self.pretty)

    def m_close(self, a):
        return None

    def m_isclosed(self, a):
        return not self.stack


class JSONParser(Native):
    """System.JSONParser over a parsed document (tokens in document order)."""

    apex_type = "System.JSONParser"

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, Any, str | None, Any, int]] = []  # (token, value, field name, node, end)
        self._walk(_parse(text), None)
        self.i = -1
        self.cleared: Any = None

    def _walk(self, v: Any, name: str | None) -> None:
        if isinstance(v, dict):
            start = len(self.tokens)
            self.tokens.append(["START_OBJECT", None, name, v, 0])  # type: ignore[arg-type]
            for k, x in v.items():
                self.tokens.append(("FIELD_NAME", k, k, None, 0))
                self._walk(x, k)
            self.tokens.append(("END_OBJECT", None, name, None, 0))
            self.tokens[start][4] = len(self.tokens) - 1  # type: ignore[index]
        elif isinstance(v, list):
            start = len(self.tokens)
            self.tokens.append(["START_ARRAY", None, name, v, 0])  # type: ignore[arg-type]
            for x in v:
                self._walk(x, name)
            self.tokens.append(("END_ARRAY", None, name, None, 0))
            self.tokens[start][4] = len(self.tokens) - 1  # type: ignore[index]
        elif v is None:
            self.tokens.append(("VALUE_NULL", None, name, None, 0))
        elif v is True:
            self.tokens.append(("VALUE_TRUE", True, name, None, 0))
        elif v is False:
            self.tokens.append(("VALUE_FALSE", False, name, None, 0))
        elif isinstance(v, int):
            self.tokens.append(("VALUE_NUMBER_INT", v, name, None, 0))
        elif isinstance(v, Decimal):
            self.tokens.append(("VALUE_NUMBER_FLOAT", v, name, None, 0))
        else:
            self.tokens.append(("VALUE_STRING", v, name, None, 0))

    def _enum(self, name: str | None) -> Any:
        if name is None:
            return None
        return ops.CURRENT.prog.builtins["jsontoken"].enum_values[name.lower()]

    def _cur(self):
        if 0 <= self.i < len(self.tokens):
            return self.tokens[self.i]
        return None

    def m_nexttoken(self, a):
        self.i += 1
        t = self._cur()
        return self._enum(t[0]) if t else None

    def m_nextvalue(self, a):
        while True:
            self.i += 1
            t = self._cur()
            if t is None:
                return None
            if t[0] != "FIELD_NAME":
                return self._enum(t[0])

    def m_getcurrenttoken(self, a):
        t = self._cur()
        return self._enum(t[0]) if t else None

    def m_hascurrenttoken(self, a):
        return self._cur() is not None

    def m_clearcurrenttoken(self, a):
        t = self._cur()
        self.cleared = self._enum(t[0]) if t else None
        self.i = len(self.tokens) if t is None else self.i

    def m_getlastclearedtoken(self, a):
        return self.cleared

    def m_getcurrentname(self, a):
        t = self._cur()
        return t[2] if t else None

    def m_gettext(self, a):
        t = self._cur()
        if t is None:
            return None
        if t[0] == "FIELD_NAME":
            return t[1]
        if t[0] in ("START_OBJECT", "END_OBJECT", "START_ARRAY", "END_ARRAY"):
            return {"START_OBJECT": "{", "END_OBJECT": "}", "START_ARRAY": "[", "END_ARRAY": "]"}[t[0]]
        if t[0] == "VALUE_NULL":
            return "null"
        return ops.to_str(untyped(t[1]))

    def _scalar(self):
        t = self._cur()
        if t is None or t[0] in ("START_OBJECT", "END_OBJECT", "START_ARRAY", "END_ARRAY", "FIELD_NAME"):
            ops.throw("System.JSONException", "Current token is not a value")
        return t[1]

    def m_getintegervalue(self, a):
        return int(self._scalar())

    def m_getlongvalue(self, a):
        return Long(int(self._scalar()))

    def m_getdecimalvalue(self, a):
        return Decimal(str(self._scalar()))

    def m_getdoublevalue(self, a):
        return float(self._scalar())

    def m_getbooleanvalue(self, a):
        return bool(self._scalar())

    def m_getdatetimevalue(self, a):
        from .stdlib import _dt_value_of
        return _dt_value_of([self._scalar()])

    def m_getdatevalue(self, a):
        from .stdlib import _date_value_of
        return _date_value_of([self._scalar()])

    def m_getidvalue(self, a):
        return ops.cast(self._scalar(), TypeRef("Id"))

    def m_skipchildren(self, a):
        t = self._cur()
        if t is not None and t[0] in ("START_OBJECT", "START_ARRAY"):
            self.i = t[4]

    def _read(self, a, strict: bool):
        t = self._cur()
        if t is None:
            ops.throw("System.JSONException", "No current token")
        if t[0] in ("START_OBJECT", "START_ARRAY"):
            value = t[3]
            self.i = t[4]
        else:
            value = t[1]
        typ = a[0]
        return convert(value, typ.ref, strict, typ.cls)

    def m_readvalueas(self, a):
        return self._read(a, False)

    def m_readvalueasstrict(self, a):
        return self._read(a, True)


STATIC_METHODS[("json", "createparser")] = lambda a: JSONParser(a[0])
