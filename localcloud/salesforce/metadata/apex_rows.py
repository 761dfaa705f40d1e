"""The deployed Apex as records: ``ApexClass`` and ``ApexTrigger`` rows of the data store.

Salesforce answers ``SELECT Id, Name, Status, ApiVersion, Body, LengthWithoutComments,
NamespacePrefix FROM ApexClass`` from REST ``/query`` and from Apex SOQL, not only from the Tooling
API. The sources live in the metadata repository; ``mirror_apex_rows`` copies them (same ids as the
Tooling API shows) into the store's ``ApexClass``/``ApexTrigger`` objects after every deploy that
committed and when a deployer opens an org, so every SOQL feature (WHERE, ORDER BY, aggregates,
``ApexTestResult.ApexClass.Name``) works on them. Classes a deploy removes are deleted there too.
Tests that run inside a deploy see the classes deployed before it (the deploy's own classes get
their ids when it commits).
"""

from __future__ import annotations

from typing import Any

from localcloud.salesforce.metadata.repository import MetadataRepository

KINDS = ("ApexClass", "ApexTrigger")


def mirror_apex_rows(store: Any, repository: MetadataRepository) -> int:
    """Make the store's ApexClass/ApexTrigger rows equal the repository's; returns rows changed."""
    wanted = {kind: {row["Id"]: row for row in repository.apex_rows(kind)} for kind in KINDS}
    changed = 0
    with store.transaction() as tx:
        for kind in KINDS:
            od = tx.schema.find(kind)
            if od is None:
                continue
            have = {r["Id"]: r["LastModifiedDate"] for r in
                    tx.query(f"SELECT Id, LastModifiedDate FROM {kind}").records}
            rows = wanted[kind]
            fields = {fd.lower for fd in od.fields.values()}
            new = [_record(row, fields) for rid, row in rows.items() if rid not in have]
            stale = [_record(row, fields) for rid, row in rows.items()
                     if rid in have and have[rid] != _json_datetime(row["LastModifiedDate"])]
            gone = [rid for rid in have if rid not in rows]
            for label, results in (("insert", tx.insert(kind, new, read_only_fields="write") if new else []),
                                   ("update", tx.update(kind, stale, read_only_fields="write") if stale else []),
                                   ("delete", tx.delete(gone) if gone else [])):
                failed = [r for r in results if not r.success]
                if failed:
                    raise RuntimeError(f"{kind} rows could not be mirrored ({label}): {failed[0].to_json()}")
                changed += len(results)
    return changed


def _record(row: dict[str, Any], fields: set[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k.lower() in fields}


def _json_datetime(text: str) -> str:
    """The repository's ``2026-12-05T14:00:00.000Z`` as the data layer answers it (``...000+0000``)."""
    return text[:-1] + "+0000" if text.endswith("Z") else text


__all__ = ["mirror_apex_rows"]
