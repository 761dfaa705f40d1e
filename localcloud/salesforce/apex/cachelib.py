"""Platform Cache (``Cache`` namespace): ``Cache.Org``, ``Cache.Session``, ``Cache.OrgPartition``,
``Cache.SessionPartition``, ``Cache.Partition``'s static helpers and ``Cache.CacheBuilder``.

Partitions are the org's deployed ``PlatformCachePartition`` components: the metadata side hands a
source of them to the runtime with :func:`register_partitions` (``install_local_org``). The org cache
of a store is shared by every transaction and user of that org; the session cache is kept per user
session. In an Apex test the cache starts empty (each test method its own, ``@TestSetup`` shared).

Semantics (Apex Reference "Cache Namespace", "Platform Cache Limits", "Platform Cache Internals"):
values are stored serialised (a ``get`` returns a copy), ``null`` values and keys that are not
alphanumeric (or longer than 50 characters) are refused with ``Cache.InvalidParamException``, an item
over 100 KB with ``Cache.ItemSizeLimitExceededException``, ttl is 300 s at least and at most 48 h (org)
/ 8 h (session), 24 h / 8 h by default; a full partition evicts its least recently used items; puts and
removes of a transaction that fails are rolled back. A partition with no capacity (the org has none:
setting ``ECBRIDGE_ORG_PLATFORM_CACHE_MB``) is not available: gets miss, puts are dropped.
"""

from __future__ import annotations

import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

from . import ops, txhooks
from .cachepartitions import PartitionSpec, partitions_of, register_partitions, spec_of
from .cachevalues import pack as _pack_value, unpack as _unpack
from .stdlib import NAMESPACES, NEW, STATIC_METHODS, STATIC_PROPS, Native, _make_enum
from .tables import BUILTIN_INSTALLERS
from .values import ApexList, ApexMap, ApexSet, TypeRef

__all__ = ["PartitionSpec", "register_partitions", "partitions_of", "advance_clock", "reset_clock", "clear",
           "capacity_mb", "install", "transaction_ended"]

# ------------------------------------------------------------------------------------------ settings
ENV_CAPACITY_MB = "ECBRIDGE_ORG_PLATFORM_CACHE_MB"
#: the org's Platform Cache capacity when the setting is absent (an Enterprise Edition org's 10 MB)
DEFAULT_CAPACITY_MB = 10
MB = 1024 * 1024
MAX_ITEM_BYTES = 100 * 1024
MAX_KEY_CHARS = 50
MIN_TTL = 300
ORG_MAX_TTL = 172_800
ORG_DEFAULT_TTL = 86_400
SESSION_MAX_TTL = 28_800
SESSION_DEFAULT_TTL = 28_800
MAX_BULK_KEYS = 10
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")

NAMESPACES.update({"cache", "cache.org", "cache.session", "cache.partition", "cache.orgpartition",
                   "cache.sessionpartition"})
EXCEPTIONS = ("Cache.Org.OrgCacheException", "Cache.Session.SessionCacheException",
              "Cache.Session.SessionCacheNoSessionException", "Cache.ItemSizeLimitExceededException",
              "Cache.InvalidParamException", "Cache.PlatformCacheInvalidOperationException",
              "Cache.BulkApiKeysLimitExceededException", "Cache.CacheBuilderExecutionException",
              "Cache.InvalidCacheBuilderException", "Cache.CacheException")


def capacity_mb() -> int:
    raw = os.environ.get(ENV_CAPACITY_MB, "").strip()
    try:
        return max(0, int(raw)) if raw else DEFAULT_CAPACITY_MB
    except ValueError:
        return DEFAULT_CAPACITY_MB


# ------------------------------------------------------------------------------------------ clock
_CLOCK_OFFSET = [0.0]


def clock() -> float:
    """Seconds; what ttls are measured against. Tests move it with :func:`advance_clock`."""
    return time.time() + _CLOCK_OFFSET[0]


def advance_clock(seconds: float) -> None:
    _CLOCK_OFFSET[0] += seconds


def reset_clock() -> None:
    _CLOCK_OFFSET[0] = 0.0


# ------------------------------------------------------------------------------------------ storage
@dataclass
class Entry:
    value: Any  # packed (see _pack)
    size: int
    expires: float


@dataclass
class Space:
    """The items of one partition's org or session cache (LRU order: oldest first)."""

    capacity: int
    items: "OrderedDict[str, Entry]" = field(default_factory=OrderedDict)
    used: int = 0
    gets: int = 0
    misses: int = 0
    get_ns: int = 0
    max_get_ns: int = 0
    get_bytes: int = 0
    max_get_bytes: int = 0


class OrgCacheState:
    """All cache items of one org: (partition, 'org') and (partition, 'session:<session>') spaces."""

    def __init__(self) -> None:
        self.spaces: dict[tuple[str, str], Space] = {}
        self.lock = threading.RLock()


_STATES: "weakref.WeakKeyDictionary[Any, OrgCacheState]" = weakref.WeakKeyDictionary()
_TEST_STATES: "weakref.WeakKeyDictionary[Any, OrgCacheState]" = weakref.WeakKeyDictionary()


def _keyed_state(table: Any, owner: Any) -> OrgCacheState:
    try:
        state = table.get(owner)
        if state is None:
            state = table[owner] = OrgCacheState()
        return state
    except TypeError:  # not weak-referenceable: kept on the transaction's test context instead
        return OrgCacheState()


def _state(prog: Any) -> OrgCacheState:
    tx = prog.tx
    if tx.test is not None:
        # a test starts with an empty cache: one state per test method (its data transaction, which
        # @TestSetup shares), never the org's
        owner = getattr(tx.data, "tx", None) or tx.test
        return _keyed_state(_TEST_STATES, owner)
    return _keyed_state(_STATES, prog.data if prog.data is not None else prog)


def clear(store: Any) -> None:
    """Drop every cached item of an org (what Setup's "clear cache" does)."""
    _STATES.pop(store, None)


# ------------------------------------------------------------------------------------------ context
def _prog() -> Any:
    return ops.CURRENT.prog


def _partitions(prog: Any) -> list[PartitionSpec]:
    tx = prog.tx
    cached = tx.__dict__.get("cache_partitions")
    if cached is not None:
        return cached
    source = partitions_of(prog.data) if prog.data is not None else None
    specs = [spec_of(p) for p in (source() if source is not None else [])]
    tx.__dict__["cache_partitions"] = specs
    return specs


def _capacities(prog: Any) -> dict[str, tuple[int, int]]:
    """Partition (lower-case) -> (org bytes, session bytes): what each gets of the org's capacity, the
    default partition first, then by name, each at most what it allocates."""
    left = capacity_mb()
    out: dict[str, tuple[int, int]] = {}
    for spec in sorted(_partitions(prog), key=lambda s: (not s.is_default, s.name.lower())):
        org = min(max(0, spec.org_mb), left)
        left -= org
        session = min(max(0, spec.session_mb), left)
        left -= session
        out[spec.name.lower()] = (org * MB, session * MB)
    return out


def _session_id(prog: Any) -> str | None:
    """The running user's session; None where Apex has none (async Apex)."""
    tx = prog.tx
    if any(getattr(tx, flag, False) for flag in ("in_future", "in_queueable", "in_batch", "in_scheduled")):
        return None
    user = tx.user or {}
    return f"{user.get('userid') or 'user'}:{user.get('sessionid') or 'session'}"


# ------------------------------------------------------------------------------------------ partitions
class CachePartition(Native):
    """Cache.OrgPartition / Cache.SessionPartition (both Cache.Partition)."""

    def __init__(self, spec: PartitionSpec, kind: str) -> None:
        self.spec = spec
        self.kind = kind  # "org" | "session"
        self.apex_type = "Cache.OrgPartition" if kind == "org" else "Cache.SessionPartition"

    # -- where the items live
    def _exc(self) -> str:
        return "Cache.Org.OrgCacheException" if self.kind == "org" else "Cache.Session.SessionCacheException"

    def capacity(self, prog: Any) -> int:
        org, session = _capacities(prog).get(self.spec.name.lower(), (0, 0))
        return org if self.kind == "org" else session

    def space(self, prog: Any, create: bool = False) -> Space | None:
        if self.kind == "org":
            owner = "org"
        else:
            sid = _session_id(prog)
            if sid is None:
                ops.throw("Cache.Session.SessionCacheNoSessionException",
                          "Session cache is not available in this context (asynchronous Apex has no session)")
            owner = "session:" + sid
        state = _state(prog)
        key = (self.spec.name.lower(), owner)
        sp = state.spaces.get(key)
        cap = self.capacity(prog)
        if sp is None and create:
            sp = state.spaces[key] = Space(cap)
        if sp is not None:
            sp.capacity = cap
        return sp

    def available(self, prog: Any) -> bool:
        if self.kind == "session" and _session_id(prog) is None:
            return False
        return self.capacity(prog) > 0

    # -- operations (keys are the partition's own, unqualified)
    def contains_key(self, prog: Any, key: str) -> bool:
        sp = self.space(prog)
        if sp is None:
            return False
        e = sp.items.get(key)
        if e is None:
            return False
        if e.expires <= clock():
            _drop(prog, sp, key)
            return False
        return True

    def get_key(self, prog: Any, key: str) -> Any:
        started = time.perf_counter_ns()
        sp = self.space(prog)
        if sp is None:
            return None
        e = sp.items.get(key)
        if e is not None and e.expires <= clock():
            _drop(prog, sp, key)
            e = None
        sp.gets += 1
        if e is None:
            sp.misses += 1
            return None
        sp.items.move_to_end(key)
        value = _unpack(e.value, prog, {})
        took = time.perf_counter_ns() - started
        sp.get_ns += took
        sp.max_get_ns = max(sp.max_get_ns, took)
        sp.get_bytes += e.size
        sp.max_get_bytes = max(sp.max_get_bytes, e.size)
        return value

    def put_key(self, prog: Any, key: str, value: Any, ttl: Any) -> None:
        if value is None:
            ops.throw("Cache.InvalidParamException", "Invalid value: a cached value cannot be null")
        max_ttl = ORG_MAX_TTL if self.kind == "org" else SESSION_MAX_TTL
        if ttl is None:
            ttl = ORG_DEFAULT_TTL if self.kind == "org" else SESSION_DEFAULT_TTL
        ttl = int(ttl)
        if ttl < MIN_TTL or ttl > max_ttl:
            ops.throw("Cache.InvalidParamException",
                      f"Invalid ttlSecs: {ttl}. The time-to-live must be between {MIN_TTL} and {max_ttl} seconds")
        size = [0]
        packed = _pack_value(value, size)
        if size[0] > MAX_ITEM_BYTES:
            ops.throw("Cache.ItemSizeLimitExceededException",
                      f"Item {key} is {size[0]} bytes: the maximum size of a cached item is {MAX_ITEM_BYTES} bytes "
                      "(100 KB)")
        if self.kind == "session":
            self.space(prog)  # asynchronous Apex has no session: SessionCacheNoSessionException
        if not self.available(prog):
            return  # no capacity: the put is dropped, as on an org without cache allocation
        sp = self.space(prog, create=True)
        assert sp is not None
        if size[0] > sp.capacity:
            return
        _undo_point(prog, sp, key)
        old = sp.items.pop(key, None)
        if old is not None:
            sp.used -= old.size
        while sp.items and sp.used + size[0] > sp.capacity:  # least recently used first
            lru_key = next(iter(sp.items))
            _undo_point(prog, sp, lru_key)
            sp.used -= sp.items.pop(lru_key).size
        sp.items[key] = Entry(packed, size[0], clock() + ttl)
        sp.used += size[0]

    def remove_key(self, prog: Any, key: str) -> bool:
        sp = self.space(prog)
        if sp is None or key not in sp.items:
            return False
        expired = sp.items[key].expires <= clock()
        _drop(prog, sp, key)
        return not expired

    def keys(self, prog: Any) -> list[str]:
        sp = self.space(prog)
        if sp is None:
            return []
        now = clock()
        for k in [k for k, e in sp.items.items() if e.expires <= now]:
            _drop(prog, sp, k)
        return list(sp.items)

    # -- Apex methods
    def _key(self, a: list[Any], i: int = 0) -> str:
        return _check_key(a[i] if len(a) > i else None)

    def m_isavailable(self, a):
        return self.available(_prog())

    def m_getname(self, a):
        return "local." + self.spec.name

    def m_contains(self, a):
        prog = _prog()
        if isinstance(a[0], (ApexSet, ApexList)):
            keys = _bulk(a[0])
            return ApexMap(((k, self.contains_key(prog, _check_key(k))) for k in keys), TypeRef("String"),
                           TypeRef("Boolean"))
        return self.contains_key(prog, self._key(a))

    def m_get(self, a):
        prog = _prog()
        if len(a) == 2:
            return _builder_get(prog, self, a[0], a[1])
        if isinstance(a[0], (ApexSet, ApexList)):
            keys = _bulk(a[0])
            return ApexMap(((k, self.get_key(prog, _check_key(k))) for k in keys), TypeRef("String"),
                           TypeRef("Object"))
        return self.get_key(prog, self._key(a))

    def m_put(self, a):
        ttl = a[2] if len(a) in (3, 5) and not _is_visibility(a[2]) else None
        self.put_key(_prog(), self._key(a), a[1] if len(a) > 1 else None, ttl)

    def m_remove(self, a):
        prog = _prog()
        if len(a) == 2:
            return _builder_remove(prog, self, a[0], a[1])
        return self.remove_key(prog, self._key(a))

    def m_getkeys(self, a):
        return ApexSet(self.keys(_prog()), TypeRef("String"))

    def m_getnumkeys(self, a):
        from .values import Long
        return Long(len(self.keys(_prog())))

    def m_getcapacity(self, a):
        prog = _prog()
        sp = self.space(prog)
        cap = self.capacity(prog)
        return float(sp.used * 100.0 / cap) if sp is not None and cap else 0.0

    def _stat(self, fn: Callable[[Space], float]) -> float:
        sp = self.space(_prog())
        return float(fn(sp)) if sp is not None else 0.0

    def m_getavggettime(self, a):
        return self._stat(lambda s: s.get_ns / 1e6 / (s.gets - s.misses) if s.gets > s.misses else 0.0)

    def m_getmaxgettime(self, a):
        return self._stat(lambda s: s.max_get_ns / 1e6)

    def m_getavggetsize(self, a):
        return self._stat(lambda s: s.get_bytes / (s.gets - s.misses) if s.gets > s.misses else 0.0)

    def m_getmaxgetsize(self, a):
        return self._stat(lambda s: s.max_get_bytes)

    def m_getavgvaluesize(self, a):
        return self._stat(lambda s: s.used / len(s.items) if s.items else 0.0)

    def m_getmaxvaluesize(self, a):
        return self._stat(lambda s: max((e.size for e in s.items.values()), default=0))

    def m_getmissrate(self, a):
        return self._stat(lambda s: s.misses / s.gets if s.gets else 0.0)

    def m_validatekey(self, a):
        _check_key(a[-1])

    def m_validatekeys(self, a):
        for k in _bulk(a[-1]):
            _check_key(k)

    def m_validatekeyvalue(self, a):
        _check_key(a[-2])
        if a[-1] is None:
            ops.throw("Cache.InvalidParamException", "Invalid value: a cached value cannot be null")

    def m_validatecachebuilder(self, a):
        _builder_class(_prog(), a[0])


def _drop(prog: Any, sp: Space, key: str) -> None:
    _undo_point(prog, sp, key)
    e = sp.items.pop(key, None)
    if e is not None:
        sp.used -= e.size


# ------------------------------------------------------------------------------------------ rollback
def _undo_point(prog: Any, sp: Space, key: str) -> None:
    """Remember an item's state before the transaction first changes it (a failed request's cache
    operations are rolled back)."""
    tx = prog.tx
    undo = tx.__dict__.setdefault("cache_undo", {})
    mark = (id(sp), key)
    if mark not in undo:
        undo[mark] = (sp, key, sp.items.get(key))


def transaction_ended(tx: Any, ok: bool) -> None:
    undo = tx.__dict__.pop("cache_undo", None)
    tx.__dict__.pop("cache_partitions", None)
    if not undo or ok:
        return
    for sp, key, before in reversed(list(undo.values())):
        now = sp.items.pop(key, None)
        if now is not None:
            sp.used -= now.size
        if before is not None:
            sp.items[key] = before
            sp.used += before.size


# ------------------------------------------------------------------------------------------ keys
def _check_key(key: Any) -> str:
    if key is None or key == "":
        ops.throw("Cache.InvalidParamException", "Invalid key: the key is null or empty")
    key = str(key)
    if not _ALNUM.match(key):
        ops.throw("Cache.InvalidParamException", f"Invalid key: {key}. A key must be alphanumeric")
    if len(key) > MAX_KEY_CHARS:
        ops.throw("Cache.InvalidParamException",
                  f"Invalid key: {key}. A key can have at most {MAX_KEY_CHARS} characters")
    return key


def _bulk(keys: Any) -> list[str]:
    items = list(keys)
    if len(items) > MAX_BULK_KEYS:
        ops.throw("Cache.BulkApiKeysLimitExceededException",
                  f"Too many keys: {len(items)}. A bulk call takes at most {MAX_BULK_KEYS} keys")
    return [str(k) if k is not None else None for k in items]  # type: ignore[misc]


def _partition_named(prog: Any, name: Any, kind: str) -> CachePartition:
    exc = "Cache.Org.OrgCacheException" if kind == "org" else "Cache.Session.SessionCacheException"
    if name is None or str(name).strip() == "":
        ops.throw("Cache.InvalidParamException", "Invalid partition name: the name is null or empty")
    text = str(name)
    parts = text.split(".")
    if len(parts) == 2:
        namespace, pname = parts
        if namespace.lower() != "local":  # the local org has no namespace and no installed packages
            ops.throw(exc, f"Partition not found: {text}")
    elif len(parts) == 1:
        pname = parts[0]
    else:
        ops.throw("Cache.InvalidParamException", f"Invalid partition name: {text}")
    if not _ALNUM.match(pname):
        ops.throw("Cache.InvalidParamException", f"Invalid partition name: {text}. A partition name must be "
                                                 "alphanumeric")
    for spec in _partitions(prog):
        if spec.name.lower() == pname.lower():
            return CachePartition(spec, kind)
    ops.throw(exc, f"Partition not found: {text}")
    raise AssertionError  # unreachable


def _default_partition(prog: Any, kind: str) -> CachePartition:
    for spec in _partitions(prog):
        if spec.is_default:
            return CachePartition(spec, kind)
    exc = "Cache.Org.OrgCacheException" if kind == "org" else "Cache.Session.SessionCacheException"
    ops.throw(exc, "No default cache partition: use a fully qualified key (namespace.partition.key) or mark a "
                   "partition as the default")
    raise AssertionError  # unreachable


def _resolve(prog: Any, key: Any, kind: str) -> tuple[CachePartition, str]:
    """A Cache.Org / Cache.Session key: `key` (default partition), `local.partition.key` or
    `namespace.partition.key`."""
    if key is None or key == "":
        ops.throw("Cache.InvalidParamException", "Invalid key: the key is null or empty")
    parts = str(key).split(".")
    if len(parts) == 1:
        return _default_partition(prog, kind), _check_key(parts[0])
    if len(parts) == 3:
        return _partition_named(prog, f"{parts[0]}.{parts[1]}", kind), _check_key(parts[2])
    ops.throw("Cache.InvalidParamException", f"Invalid key: {key}. Qualify a key as namespace.partition.key "
                                             "(local.partition.key in this org) or give the key alone")
    raise AssertionError  # unreachable


def _is_visibility(v: Any) -> bool:
    return type(v).__name__ == "EnumValue" and getattr(getattr(v, "enum", None), "name", "").lower() \
        == "cache.visibility"


# ------------------------------------------------------------------------------------------ CacheBuilder
def _builder_class(prog: Any, t: Any) -> Any:
    cls = getattr(t, "cls", None)
    iface = prog.builtins.get("cache.cachebuilder")
    if cls is None or iface is None or not cls.is_subclass_of(iface):
        name = getattr(t, "apex_str", lambda: str(t))()
        ops.throw("Cache.InvalidCacheBuilderException",
                  f"{name} does not implement the Cache.CacheBuilder interface")
    return cls


def _builder_key(cls: Any, var: str) -> str:
    # the cached item's key: the class's name and the doLoad argument (Salesforce keys it by both)
    return _check_key(re.sub(r"[^A-Za-z0-9]", "", cls.name) + var)[:MAX_KEY_CHARS]


def _builder_get(prog: Any, part: CachePartition, t: Any, var: Any) -> Any:
    cls = _builder_class(prog, t)
    var = _check_key(var)
    key = _builder_key(cls, var)
    hit = part.get_key(prog, key)
    if hit is not None:
        return hit
    inst = prog.instantiate(cls, [])
    method = cls.find_method("doload", 1)
    value = prog.invoke(method, inst, [var])
    if value is not None:
        part.put_key(prog, key, value, None)
    return value


def _builder_remove(prog: Any, part: CachePartition, t: Any, var: Any) -> bool:
    cls = _builder_class(prog, t)
    return part.remove_key(prog, _builder_key(cls, _check_key(var)))


# ------------------------------------------------------------------------------------------ Cache.Org / Session
def _static(kind: str) -> None:
    ns = f"cache.{kind}"

    def get_partition(a):
        return _partition_named(_prog(), a[0], kind)

    def contains(a):
        prog = _prog()
        if isinstance(a[0], (ApexSet, ApexList)):
            keys = _bulk(a[0])
            return ApexMap(((k, _static_contains(prog, k)) for k in keys), TypeRef("String"), TypeRef("Boolean"))
        return _static_contains(prog, a[0])

    def _static_contains(prog, key):
        part, k = _resolve(prog, key, kind)
        return part.contains_key(prog, k)

    def get(a):
        prog = _prog()
        if len(a) == 2:
            part, var = _resolve(prog, a[1], kind)
            return _builder_get(prog, part, a[0], var)
        if isinstance(a[0], (ApexSet, ApexList)):
            keys = _bulk(a[0])
            out = ApexMap((), TypeRef("String"), TypeRef("Object"))
            for k in keys:
                part, kk = _resolve(prog, k, kind)
                out[k] = part.get_key(prog, kk)
            return out
        part, k = _resolve(prog, a[0], kind)
        return part.get_key(prog, k)

    def put(a):
        prog = _prog()
        part, k = _resolve(prog, a[0], kind)
        ttl = a[2] if len(a) in (3, 5) and not _is_visibility(a[2]) else None
        part.put_key(prog, k, a[1] if len(a) > 1 else None, ttl)

    def remove(a):
        prog = _prog()
        if len(a) == 2:
            part, var = _resolve(prog, a[1], kind)
            return _builder_remove(prog, part, a[0], var)
        part, k = _resolve(prog, a[0], kind)
        return part.remove_key(prog, k)

    def default_call(method: str):
        def call(a):
            return getattr(_default_partition(_prog(), kind), "m_" + method)(a)
        return call

    def is_available(a):
        prog = _prog()
        specs = [s for s in _partitions(prog) if s.is_default]
        return bool(specs) and CachePartition(specs[0], kind).available(prog)

    STATIC_METHODS[(ns, "getpartition")] = get_partition
    STATIC_METHODS[(ns, "contains")] = contains
    STATIC_METHODS[(ns, "get")] = get
    STATIC_METHODS[(ns, "put")] = put
    STATIC_METHODS[(ns, "remove")] = remove
    STATIC_METHODS[(ns, "isavailable")] = is_available
    STATIC_METHODS[(ns, "getname")] = lambda a: "local." + _default_partition(_prog(), kind).spec.name
    for m in ("getkeys", "getnumkeys", "getcapacity", "getavggettime", "getmaxgettime", "getavggetsize",
              "getmaxgetsize", "getavgvaluesize", "getmaxvaluesize", "getmissrate"):
        STATIC_METHODS[(ns, m)] = default_call(m)
    STATIC_PROPS[(ns, "max_ttl_secs")] = (lambda: ORG_MAX_TTL) if kind == "org" else (lambda: SESSION_MAX_TTL)
    NEW[f"cache.{kind}partition"] = lambda a: _partition_named(_prog(), a[0], kind)


_static("org")
_static("session")


txhooks.register(transaction_ended)


def _qualified_key(a):
    if any(x is None or x == "" for x in a[:3]):
        ops.throw("Cache.InvalidParamException", "Invalid parameter: the namespace, partition and key are required")
    return f"{a[0]}.{a[1]}.{a[2]}"


def _qualified_partition(a):
    if any(x is None or x == "" for x in a[:2]):
        ops.throw("Cache.InvalidParamException", "Invalid parameter: the namespace and partition are required")
    return f"{a[0]}.{a[1]}"


def _validate_partition_name(a):
    name = a[0]
    if name is None or not all(_ALNUM.match(p) for p in str(name).split(".")) or str(name).count(".") > 1:
        ops.throw("Cache.InvalidParamException", f"Invalid partition name: {name}")


STATIC_METHODS[("cache.partition", "createfullyqualifiedkey")] = _qualified_key
STATIC_METHODS[("cache.partition", "createfullyqualifiedpartition")] = _qualified_partition
STATIC_METHODS[("cache.partition", "validatepartitionname")] = _validate_partition_name


def install(p: Any) -> None:
    """Cache.Visibility, the exception classes and the Cache.CacheBuilder interface of a program."""
    from .model import ApexClass
    _make_enum(p, "Cache.Visibility", ["ALL", "NAMESPACE"], ("cache.visibility",))
    base = p.builtins["exception"]
    parents: dict[str, Any] = {}
    for name in EXCEPTIONS:
        c = ApexClass(name, "class")
        c.builtin = True
        c.superclass = parents.get("Cache.Session.SessionCacheException") \
            if name == "Cache.Session.SessionCacheNoSessionException" else base
        c.modifiers = {"virtual"}
        p.builtins[name.lower()] = c
        parents[name] = c
    iface = ApexClass("Cache.CacheBuilder", "interface")
    iface.builtin = True
    p.builtins["cache.cachebuilder"] = iface


BUILTIN_INSTALLERS.append(install)  # after systemlib's (libraries.py order)
