"""``System.Address`` and ``System.Location``: the Apex values of compound fields
(``Account.BillingAddress``, ``Contact.MailingAddress``, ``Lead.Address``, geolocation fields).

A query that selects a compound field gets the data layer's ``compound.Address``/``Location``; the
SOQL result conversion (``soql.to_sobject``) hands it here (``to_apex``). Getters and read-only
properties as Salesforce documents them (``addr.getCity()`` == ``addr.city``), ``getDistance``,
``Location.newInstance`` and ``Location.getDistance``. Compound fields are read-only:
``record.BillingAddress = ...`` throws (``sobjects.put``); write the components.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from localcloud.salesforce.data.compound import Address, Location

from . import ops
from .compiler import KNOWN_TYPES
from .stdlib import NAMESPACES, STATIC_METHODS, Native

#: mean Earth radius for getDistance / DISTANCE (haversine); Salesforce does not document its figure
EARTH_RADIUS_KM = 6371.0
KM_PER_MILE = 1.609344


def _double(v: Any) -> float | None:
    return None if v is None else float(v)


class ApexLocation(Native):
    """``System.Location``: latitude and longitude (Doubles)."""

    apex_type = "Location"

    def __init__(self, latitude: Any, longitude: Any) -> None:
        self.latitude = _double(latitude)
        self.longitude = _double(longitude)

    def m_getlatitude(self, a):
        return self.latitude

    def m_getlongitude(self, a):
        return self.longitude

    def p_latitude(self):
        return self.latitude

    def p_longitude(self):
        return self.longitude

    def m_getdistance(self, a):
        return distance(self, a[0] if a else None, a[1] if len(a) > 1 else None)

    def m_equals(self, a):
        other = a[0] if a else None
        return isinstance(other, ApexLocation) and type(other) is type(self) and other.apex_json() == self.apex_json()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApexLocation) and type(other) is type(self) and other.apex_json() == self.apex_json()

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, str(v)) for k, v in self.apex_json().items())))

    def m_hashcode(self, a):
        return self.__hash__() & 0x7FFFFFFF

    def apex_json(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude}

    def apex_str(self) -> str:
        return f"{self.apex_type}{self.apex_json()}"


_ADDRESS_PARTS = ("city", "country", "countryCode", "geocodeAccuracy", "postalCode", "state", "stateCode", "street")


class ApexAddress(ApexLocation):
    """``System.Address`` (extends ``Location``): the components of an address compound field."""

    apex_type = "Address"

    def __init__(self, value: Address) -> None:
        super().__init__(value.latitude, value.longitude)
        self.parts = {k: getattr(value, k) for k in _ADDRESS_PARTS}

    def apex_json(self) -> dict[str, Any]:
        out = {"city": self.parts["city"], "country": self.parts["country"],
               "geocodeAccuracy": self.parts["geocodeAccuracy"], "latitude": self.latitude,
               "longitude": self.longitude, "postalCode": self.parts["postalCode"], "state": self.parts["state"],
               "street": self.parts["street"]}
        for k in ("countryCode", "stateCode"):
            if self.parts[k] is not None:
                out[k] = self.parts[k]
        return dict(sorted(out.items()))


def _getter(key: str):
    return lambda self, a: self.parts[key]


def _prop(key: str):
    return lambda self: self.parts[key]


for _key in _ADDRESS_PARTS:
    setattr(ApexAddress, "m_get" + _key.lower(), _getter(_key))
    setattr(ApexAddress, "p_" + _key.lower(), _prop(_key))


def to_apex(value: Location) -> ApexLocation:
    """The Apex value of a data-layer compound value."""
    if isinstance(value, Address):
        return ApexAddress(value)
    return ApexLocation(value.latitude, value.longitude)


def distance(a: Any, b: Any, unit: Any) -> float | None:
    """Haversine distance in ``mi`` or ``km`` (null when a point has no coordinates)."""
    if a is None or b is None:
        ops.npe()
    unit_text = str(unit or "").lower()
    if unit_text not in ("mi", "km"):
        ops.throw("System.InvalidParameterValueException", f"Invalid unit: {unit}. Use 'mi' or 'km'.")
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None
    la1, lo1, la2, lo2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    km = 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
    return km if unit_text == "km" else km / KM_PER_MILE


def _new_location(a):
    if len(a) != 2:
        ops.throw("System.TypeException", "Location.newInstance takes a latitude and a longitude")
    for v, name in zip(a, ("latitude", "longitude")):
        if v is not None and not isinstance(v, (int, float, Decimal)):
            ops.throw("System.TypeException", f"Location.newInstance: {name} must be a Decimal")
    return ApexLocation(a[0], a[1])


KNOWN_TYPES.update({"address", "location", "system.address", "system.location"})
NAMESPACES.add("location")
STATIC_METHODS[("location", "newinstance")] = _new_location
STATIC_METHODS[("location", "getdistance")] = lambda a: distance(a[0] if a else None, a[1] if len(a) > 1 else None,
                                                                  a[2] if len(a) > 2 else None)
