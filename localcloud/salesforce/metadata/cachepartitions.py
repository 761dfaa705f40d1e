"""``PlatformCachePartition`` components (``cachePartitions/X.cachePartition``): Platform Cache partitions.

::

    <PlatformCachePartition xmlns="http://soap.sforce.com/2006/04/metadata">
        <isDefaultPartition>false</isDefaultPartition>
        <masterLabel>LoggerCache</masterLabel>
        <platformCachePartitionTypes>
            <allocatedCapacity>1</allocatedCapacity>   <!-- MB -->
            <cacheType>Organization</cacheType>         <!-- or Session -->
        </platformCachePartitionTypes>
    </PlatformCachePartition>

A deploy fails, naming the file and line, when the partition name is not alphanumeric, a capacity is
not a whole number of MB (0 or more), a cache type is neither ``Organization`` nor ``Session``, or the
org would have more than one default partition. The Apex runtime reads the stored partitions through
``MetadataRepository.cache_partitions()`` (``localcloud.salesforce.apex.cachelib``).
"""
from __future__ import annotations

import re
from typing import Any, Callable

from .package import DeployPackage, child_text, children, parse_xml
from .ui_components import Problem

TYPE = "PlatformCachePartition"
_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_CAPACITY_FIELDS = ("allocatedCapacity", "allocatedPartnerCapacity", "allocatedPurchasedCapacity",
                    "allocatedTrialCapacity")


def read_partition(name: str, body: bytes, file_name: str = "cachePartitions") -> dict[str, Any]:
    """{name, is_default, org_mb, session_mb, problems: [(message, needle)]} of one partition file."""
    root = parse_xml(body, file_name)
    out: dict[str, Any] = {"name": name, "is_default": (child_text(root, "isDefaultPartition") or "").lower() == "true",
                           "org_mb": 0, "session_mb": 0, "problems": []}
    for part in children(root, "platformCachePartitionTypes"):
        kind = child_text(part, "cacheType") or ""
        total = 0
        for field in _CAPACITY_FIELDS:
            raw = child_text(part, field)
            if raw is None or raw == "":
                continue
            if not raw.isdigit():
                out["problems"].append((f"{field} must be a whole number of MB, 0 or more: {raw}", f"<{field}>"))
                continue
            total += int(raw)
        if kind == "Organization":
            out["org_mb"] += total
        elif kind == "Session":
            out["session_mb"] += total
        else:
            out["problems"].append((f"cacheType must be Organization or Session: {kind or '(none)'}", "<cacheType>"))
    return out


def check_cache_partitions(package: DeployPackage, stored: Callable[[], dict[str, bytes]]) -> list[Problem]:
    """``stored()``: the org's partitions before this deploy, full name -> file body."""
    partitions = package.of_type(TYPE)
    if not partitions:
        return []
    problems: list[Problem] = []
    defaults: list[str] = []
    for component in partitions:
        if not _ALNUM.match(component.full_name):
            problems.append(Problem(component, f"The partition name {component.full_name} must be alphanumeric "
                                    "(letters and digits only).", ""))
            continue
        parsed = read_partition(component.full_name, component.body, component.file_name)
        problems.extend(Problem(component, message, needle) for message, needle in parsed["problems"])
        if parsed["is_default"]:
            defaults.append(component.full_name)
    deploying = {c.full_name.lower() for c in partitions}
    for full_name, body in stored().items():
        if full_name.lower() not in deploying and read_partition(full_name, body)["is_default"]:
            defaults.append(full_name)
    if len(defaults) > 1:
        first = next(c for c in partitions if c.full_name in defaults)
        problems.append(Problem(first, "Only one cache partition can be the default partition: "
                                f"{', '.join(sorted(defaults))} are marked isDefaultPartition.",
                                "<isDefaultPartition>"))
    return problems


def org_partitions(repository: Any) -> list[dict[str, Any]]:
    """The org's deployed partitions (name, is_default, org_mb, session_mb), for the Apex runtime."""
    out = []
    for name, body in repository.component_bodies(TYPE):
        parsed = read_partition(name, body)
        parsed.pop("problems")
        out.append(parsed)
    return out


def deploy_partitions(repository: Any, package: DeployPackage) -> list[dict[str, Any]]:
    """The org's partitions as a deploy leaves them (its own replace the stored ones of the same name),
    for the deploy's Apex tests."""
    own = {c.full_name.lower(): c for c in package.of_type(TYPE)}
    out = [p for p in org_partitions(repository) if p["name"].lower() not in own]
    for component in own.values():
        parsed = read_partition(component.full_name, component.body, component.file_name)
        parsed.pop("problems")
        out.append(parsed)
    return out
