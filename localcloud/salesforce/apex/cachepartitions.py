"""Where an org's Platform Cache partitions come from (the lowest layer: imports nothing of the package).

The metadata side registers a source of the org's deployed ``PlatformCachePartition`` components per
store (``install_local_org``); the Apex test runner hands the same source to its scratch copy of the
store; ``cachelib`` reads it.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping


@dataclass(frozen=True)
class PartitionSpec:
    """One deployed PlatformCachePartition (capacities in MB, as the metadata allocates them)."""

    name: str
    is_default: bool = False
    org_mb: int = 0
    session_mb: int = 0


PartitionSource = Callable[[], Iterable[Any]]
_SOURCES: "weakref.WeakKeyDictionary[Any, PartitionSource]" = weakref.WeakKeyDictionary()


def register_partitions(store: Any, source: PartitionSource | None) -> None:
    """Tell the runtime where `store`'s org reads its cache partitions from (None: forget)."""
    if source is None:
        _SOURCES.pop(store, None)
    else:
        _SOURCES[store] = source


def partitions_of(store: Any) -> PartitionSource | None:
    try:
        return _SOURCES.get(store)
    except TypeError:  # not weak-referenceable: never registered
        return None


def spec_of(raw: Any) -> PartitionSpec:
    """A PartitionSpec from one (a mapping with name/is_default/org_mb/session_mb, or an object)."""
    if isinstance(raw, PartitionSpec):
        return raw
    if isinstance(raw, Mapping):
        get = raw.get
    else:
        def get(key: str, default: Any = None) -> Any:
            return getattr(raw, key, default)
    return PartitionSpec(str(get("name")), bool(get("is_default", False)), int(get("org_mb", 0) or 0),
                         int(get("session_mb", 0) or 0))
