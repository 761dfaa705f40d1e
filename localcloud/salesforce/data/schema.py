"""Schema registry: standard objects (from a fixture) and custom objects/fields from metadata."""

from __future__ import annotations

from typing import Any


class FieldDef:
    """One field. ``describe`` is its describe dict; attributes mirror the keys the engine uses."""

    name: str
    type: str
    length: int
    nillable: bool
    unique: bool
    external_id: bool
    reference_to: list[str]
    relationship_name: str | None
    createable: bool
    updateable: bool
    calculated: bool
    describe: dict[str, Any]


class ObjectDef:
    """One sObject type."""

    name: str
    label: str
    key_prefix: str
    custom: bool

    def field(self, name: str) -> FieldDef:
        """The field (case-insensitive) or ``InvalidFieldError``."""
        raise NotImplementedError

    def find_field(self, name: str) -> FieldDef | None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError


class Schema:
    """All sObject types of the org."""

    def get(self, name: str) -> ObjectDef:
        """The object (case-insensitive) or ``InvalidTypeError``."""
        raise NotImplementedError

    def find(self, name: str) -> ObjectDef | None:
        raise NotImplementedError

    def by_key_prefix(self, prefix: str) -> ObjectDef | None:
        raise NotImplementedError

    def objects(self) -> list[ObjectDef]:
        raise NotImplementedError

    def describe_global(self) -> dict[str, Any]:
        """``GET /sobjects`` body: ``{"encoding", "maxBatchSize", "sobjects": [...]}``."""
        raise NotImplementedError

    def describe(self, name: str) -> dict[str, Any]:
        """``GET /sobjects/{name}/describe`` body."""
        raise NotImplementedError
