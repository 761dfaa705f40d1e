"""Compound fields: address (``Account.BillingAddress``, ``Contact.MailingAddress``, ``Lead.Address`` ...)
and geolocation (``location``). A compound field has no storage of its own: it is read from its
component fields (those whose describe names it in ``compoundFieldName``) and is read-only, as in
Salesforce ("Compound fields are read-only. To update field values, modify the individual field
components"). It cannot be filtered, sorted or grouped on.

Values: over REST the JSON object Salesforce answers (``{"city", "country", "geocodeAccuracy",
"latitude", "longitude", "postalCode", "state", "street"}``; ``null`` when every component is
null); typed (Apex) an ``Address`` / ``Location`` value, which the Apex runtime shows as
``System.Address`` / ``System.Location``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Iterable, Mapping, Protocol


class FieldDef(Protocol):
    """What this module reads of ``schema.FieldDef`` (schema sits above this module and imports it)."""

    name: str
    lower: str
    type: str
    raw: dict[str, Any]

COMPOUND_TYPES = frozenset({"address", "location"})

#: component name ending -> key of the compound value (longest endings first)
_ADDRESS_PARTS = (("GeocodeAccuracy", "geocodeAccuracy"), ("CountryCode", "countryCode"), ("StateCode", "stateCode"),
                  ("PostalCode", "postalCode"), ("Longitude", "longitude"), ("Latitude", "latitude"),
                  ("Country", "country"), ("Street", "street"), ("State", "state"), ("City", "city"))
_LOCATION_PARTS = (("__Latitude__s", "latitude"), ("__Longitude__s", "longitude"), ("Latitude", "latitude"),
                   ("Longitude", "longitude"))


@dataclass(frozen=True)
class Location:
    """A geolocation compound value (Apex ``System.Location``)."""

    latitude: Decimal | float | None = None
    longitude: Decimal | float | None = None


@dataclass(frozen=True)
class Address(Location):
    """An address compound value (Apex ``System.Address``, which extends ``Location``)."""

    city: str | None = None
    country: str | None = None
    countryCode: str | None = None
    geocodeAccuracy: str | None = None
    postalCode: str | None = None
    state: str | None = None
    stateCode: str | None = None
    street: str | None = None


def is_compound(fd: FieldDef) -> bool:
    return fd.type in COMPOUND_TYPES


def part_key(compound: FieldDef, component: FieldDef) -> str | None:
    """The key a component field takes in its compound value (``BillingPostalCode`` -> ``postalCode``)."""
    parts = _ADDRESS_PARTS if compound.type == "address" else _LOCATION_PARTS
    for ending, key in parts:
        if component.name.lower().endswith(ending.lower()):
            return key
    return None


def components(compound: FieldDef, candidates: Iterable[FieldDef]) -> list[tuple[str, FieldDef]]:
    """``(key, component field)`` pairs of a compound field, in describe order."""
    out = []
    for fd in candidates:
        if (fd.raw.get("compoundFieldName") or "").lower() == compound.lower:
            key = part_key(compound, fd)
            if key is not None:
                out.append((key, fd))
    return out


def typed_value(compound: FieldDef, parts: Mapping[str, Any]) -> Address | Location | None:
    """The typed compound value from its components' typed values (None when all are null)."""
    if all(v is None for v in parts.values()):
        return None
    if compound.type == "location":
        return Location(parts.get("latitude"), parts.get("longitude"))
    return Address(**{k: v for k, v in parts.items() if k in _ADDRESS_KEYS})


def json_value(compound: FieldDef, parts: Mapping[str, Any]) -> dict[str, Any] | None:
    """The REST JSON object of a compound field from its components' JSON values (keys sorted, as
    Salesforce sends them; None when all are null)."""
    if all(v is None for v in parts.values()):
        return None
    keys = ("latitude", "longitude") if compound.type == "location" else \
        ("city", "country", "geocodeAccuracy", "latitude", "longitude", "postalCode", "state", "street")
    present = set(parts)
    out = {k: parts.get(k) for k in keys}
    out.update({k: parts[k] for k in ("countryCode", "stateCode") if k in present})
    return dict(sorted(out.items()))


_ADDRESS_KEYS = frozenset(f.name for f in fields(Address))

__all__ = ["Address", "Location", "COMPOUND_TYPES", "is_compound", "part_key", "components", "typed_value",
           "json_value"]
