"""Which standard fields the store indexes beyond Id, lookups, external ids and unique fields."""
from __future__ import annotations

#: Audit fields Salesforce indexes on every object: a range filter on them (``SystemModstamp >= X``,
#: push_marketo's change read) is served from the index instead of a scan.
INDEXED_AUDIT_FIELDS = frozenset({"systemmodstamp", "createddate"})
