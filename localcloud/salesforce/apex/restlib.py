"""RestContext/RestRequest/RestResponse (Apex REST) and Http/HttpRequest/HttpResponse (callouts)."""

from __future__ import annotations


from . import ops
from .stdlib import NEW, STATIC_METHODS, STATIC_PROPS, STATIC_SETTERS, STR, Native
from .values import ApexMap, Blob


class _PublicFields(Native):
    """A system class whose public fields are plain attributes: ``_props`` maps lower-case names to them."""

    _props: dict[str, str] = {}

    def apex_get(self, low):
        attr = self._props.get(low)
        if attr is None:
            return super().apex_get(low)
        return getattr(self, attr)

    def apex_set(self, low, v):
        attr = self._props.get(low)
        if attr is None:
            return super().apex_set(low, v)
        setattr(self, attr, v)


class RestRequest(_PublicFields):
    apex_type = "RestRequest"

    def __init__(self) -> None:
        self.requestBody: Blob | None = None
        self.requestURI: str | None = None
        self.resourcePath: str | None = None
        self.httpMethod: str | None = None
        self.remoteAddress: str | None = "127.0.0.1"
        self.headers = ApexMap((), STR, STR)
        self.params = ApexMap((), STR, STR)

    _props = {"requestbody": "requestBody", "requesturi": "requestURI", "resourcepath": "resourcePath",
              "httpmethod": "httpMethod", "remoteaddress": "remoteAddress", "headers": "headers", "params": "params"}

    def m_addheader(self, a):
        self.headers[a[0]] = a[1]

    def m_addparameter(self, a):
        self.params[a[0]] = a[1]


class RestResponse(_PublicFields):
    apex_type = "RestResponse"

    def __init__(self) -> None:
        self.statusCode: int | None = None
        self.responseBody: Blob | None = None
        self.headers = ApexMap((), STR, STR)

    _props = {"statuscode": "statusCode", "responsebody": "responseBody", "headers": "headers"}

    def m_addheader(self, a):
        self.headers[a[0]] = a[1]


def _tx():
    return ops.CURRENT.prog.tx


STATIC_PROPS[("restcontext", "request")] = lambda: _tx().rest_request
STATIC_PROPS[("restcontext", "response")] = lambda: _tx().rest_response
STATIC_SETTERS[("restcontext", "request")] = lambda v: setattr(_tx(), "rest_request", v)
STATIC_SETTERS[("restcontext", "response")] = lambda v: setattr(_tx(), "rest_response", v)
NEW["restrequest"] = lambda a: RestRequest()
NEW["restresponse"] = lambda a: RestResponse()


class _HttpMessage(Native):
    """What HttpRequest and HttpResponse share: a body (text, or bytes set as a Blob) and headers.

    A body set with setBodyAsBlob keeps its bytes exactly (getBodyAsBlob gives them back, even when
    they are not UTF-8); getBody reads such a body as UTF-8 with U+FFFD for what is not."""

    body: str | None
    body_bytes: bytes | None = None
    headers: dict[str, str]

    def m_setbody(self, a):
        self.body = a[0]
        self.body_bytes = None

    def m_getbody(self, a):
        return self.body

    def m_setbodyasblob(self, a):
        self.body_bytes = a[0].data if a[0] is not None else None
        self.body = self.body_bytes.decode("utf-8", "replace") if self.body_bytes is not None else None

    def m_getbodyasblob(self, a):
        if self.body_bytes is not None:
            return Blob(self.body_bytes)
        return Blob((self.body or "").encode("utf-8"))

    def m_setheader(self, a):
        self.headers[a[0]] = a[1]

    def m_getheader(self, a):
        return next((v for k, v in self.headers.items() if k.lower() == str(a[0]).lower()), None)


class HttpRequest(_HttpMessage):
    apex_type = "System.HttpRequest"

    def __init__(self) -> None:
        self.endpoint = None
        self.method = None
        self.body = None
        self.headers: dict[str, str] = {}
        self.timeout = 10000

    def m_setendpoint(self, a):
        self.endpoint = a[0]

    def m_getendpoint(self, a):
        return self.endpoint

    def m_setmethod(self, a):
        self.method = a[0]

    def m_getmethod(self, a):
        return self.method

    def m_settimeout(self, a):
        self.timeout = a[0]

    def m_setcompressed(self, a):
        self.compressed = bool(a[0])

    def m_getcompressed(self, a):
        return bool(getattr(self, "compressed", False))

    def apex_str(self):
        return f"System.HttpRequest[Endpoint={self.endpoint}, Method={self.method}]"


def _java_hash(s: str) -> int:
    h = 0
    for unit in s.encode("utf-16-le").hex(" ", 2).split():  # UTF-16 code units, as Java's String.hashCode
        h = (31 * h + int(unit[2:] + unit[:2], 16)) & 0xFFFFFFFF
    return h


def java_hash_order(keys: list[str]) -> list[str]:
    """The iteration order of a java.util.HashMap holding ``keys`` (inserted in this order): by bucket of
    the spread hash in a table of 16 doubled while more than 3/4 full, insertion order within a bucket.
    Salesforce's HttpResponse.getHeaderKeys() lists the keys so (Java-backed), not in insertion order."""
    capacity = 16
    while len(keys) > capacity * 3 // 4:
        capacity *= 2

    def bucket(key: str) -> int:
        h = _java_hash(key)
        return (h ^ (h >> 16)) & (capacity - 1)
    return [k for _, _, k in sorted((bucket(k), i, k) for i, k in enumerate(keys))]


class HttpResponse(_HttpMessage):
    apex_type = "System.HttpResponse"

    def __init__(self) -> None:
        self.status_code = 200
        self.status = "OK"
        self.body = ""
        self.headers: dict[str, str] = {}

    def m_setstatuscode(self, a):
        self.status_code = a[0]

    def m_getstatuscode(self, a):
        return self.status_code

    def m_setstatus(self, a):
        self.status = a[0]

    def m_getstatus(self, a):
        return self.status

    def m_getheaderkeys(self, a):
        from .values import ApexList
        return ApexList(java_hash_order(list(self.headers)), STR)

    def apex_str(self):
        return f"System.HttpResponse[Status={self.status}, StatusCode={self.status_code}]"


class Http(Native):
    apex_type = "System.Http"

    def m_send(self, a):
        p = ops.CURRENT.prog
        req = a[0]
        p.tx.check("callout")
        mock = p.tx.mocks.get("httpcalloutmock")
        if mock is None:
            if p.tx.test is not None:
                ops.throw("System.TypeException", "Methods defined as TestMethod do not support Web service callouts")
            ops.throw("System.CalloutException",
                      f"Unable to tunnel through proxy: the local org makes no outbound callouts ({req.endpoint})")
        return p.call_value(mock, "respond", [req])


NEW["httprequest"] = lambda a: HttpRequest()
NEW["httpresponse"] = lambda a: HttpResponse()
NEW["http"] = lambda a: Http()


def _dml_options(a):
    from .dml import DMLOptions
    return DMLOptions()


NEW["database.dmloptions"] = _dml_options


_ = STATIC_METHODS
