"""Hooks through which an optional org feature takes part in the data rules of the lower modules
(``schema.py`` mirrors fields, ``dml.py`` saves and deletes) without those modules importing it, so
imports go one way (``tests/test_import_cycles.py``). Today the one feature is Person Accounts:
``personaccounts.py`` installs its hooks when imported, and ``store.py`` imports it.

The defaults are an org without the feature: nothing mirrored, nothing added, nothing refused."""
from __future__ import annotations

from typing import Any, Callable, Mapping


class PersonAccountHooks:
    """What schema and dml ask of the Person Accounts feature (``personaccounts.py`` answers)."""

    def enabled(self, schema: Any) -> bool:
        return False

    def mirror_contact_field(self, schema: Any, contact_field: Any) -> dict[str, Any] | None:
        return None

    def defaults(self, run: Any, row: dict[str, Any]) -> None:
        return None

    def before_save(self, run: Any, row: dict[str, Any], given: Mapping[str, Any], old: dict[str, Any] | None) -> None:
        return None

    def after_save(self, run: Any, row: dict[str, Any], old: dict[str, Any] | None) -> None:
        return None

    def refuse_delete(self, run: Any, old: Mapping[str, Any]) -> Any:
        return None

    def on_delete(self, tx: Any, od: Any, record_id: str, now: Any) -> None:
        return None


person_accounts: PersonAccountHooks = PersonAccountHooks()


class SharingHooks:
    """What dml asks of record sharing (``sharing.py`` answers): ``plan(tx, od)`` is None for an object
    that takes no part in sharing (every Public Read/Write object), so its DML costs nothing more."""

    def plan(self, tx: Any, od: Any) -> Any:
        return None


sharing: SharingHooks = SharingHooks()

#: computed setup views: object (lower case) -> ``prepare(tx, query, bind)``, run before the SOQL engine
#: reads the object's table (``recordaccess.py``: UserRecordAccess; ``entitydefs.py``: EntityDefinition,
#: FieldDefinition). ``bind(value)`` turns a literal or bind of the query into a plain value.
COMPUTED_VIEWS: dict[str, Callable[[Any, Any, Callable[[Any], Any]], None]] = {}
