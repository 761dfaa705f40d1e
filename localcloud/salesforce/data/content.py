"""Salesforce Files: a ContentVersion insert makes its ContentDocument (the file) and, when it names a
FirstPublishLocationId, the ContentDocumentLink that shows the file under that record's Files, as
Salesforce does. ContentSize and FileExtension are derived from VersionData and PathOnClient.
A ContentVersion inserted with the ContentDocumentId of an existing file is that file's next version:
VersionNumber counts up, the older versions lose IsLatest, and the ContentDocument takes the new
version's Title, size and extension as its LatestPublishedVersionId. No second link is made.

Salesforce lets FirstPublishLocationId and ContentDocumentLink.LinkedEntityId point at records of many
objects (custom objects included); the local org takes any object of the org there (ANY_OBJECT_REFERENCES).
"""

from __future__ import annotations

from typing import Any

from .txn import DataTransaction

ANY_OBJECT_REFERENCES = {("contentversion", "firstpublishlocationid"), ("contentdocumentlink", "linkedentityid")}


def file_extension(path_on_client: str | None) -> str | None:
    """``evt-1.json`` -> ``json`` (lower case), as Salesforce fills FileExtension."""
    if not path_on_client or "." not in path_on_client.rsplit("/", 1)[-1]:
        return None
    return path_on_client.rsplit(".", 1)[-1].lower()[:40] or None


def derive_version(row: dict[str, Any]) -> None:
    """Before a ContentVersion is written: its size, extension, version number and latest flag."""
    data = row.get("versiondata")
    row["contentsize"] = len(data) if data is not None else 0
    row["fileextension"] = file_extension(row.get("pathonclient"))
    row["versionnumber"] = row.get("versionnumber") or "1"
    row["islatest"] = True
    row["contentlocation"] = row.get("contentlocation") or "S"


def after_version_insert(tx: DataTransaction, row: dict[str, Any]) -> None:
    """After a ContentVersion without a ContentDocumentId is written: its ContentDocument and, for a
    FirstPublishLocationId, the link that shows the file under that record."""
    if row.get("contentdocumentid") is not None:
        _add_version(tx, row)
        return
    document = tx.insert("ContentDocument", [{
        "Title": row.get("title"), "FileExtension": row.get("fileextension"), "ContentSize": row.get("contentsize"),
        "LatestPublishedVersionId": row["id"],
    }], all_or_none=True, read_only_fields="write")[0]
    row["contentdocumentid"] = document.id
    od = tx.schema.get("ContentVersion")
    tx.execute(f"UPDATE {od.table} SET {od.field('ContentDocumentId').column} = ? WHERE id = ?",
               (document.id, row["id"]))
    location = row.get("firstpublishlocationid")
    if location is not None:
        tx.insert("ContentDocumentLink", [{
            "ContentDocumentId": document.id, "LinkedEntityId": location, "ShareType": "I", "Visibility": "AllUsers",
        }], all_or_none=True, read_only_fields="write")


def _add_version(tx: DataTransaction, row: dict[str, Any]) -> None:
    """The row is a new version of the file ContentDocumentId names: number it and make it the latest."""
    cv = tx.schema.get("ContentVersion")
    document_id = row["contentdocumentid"]
    older = [found[0] for found in tx.execute(
        f"SELECT id FROM {cv.table} WHERE {cv.field('ContentDocumentId').column} = ? AND id != ? ORDER BY id",
        (document_id, row["id"]))]
    row["versionnumber"] = str(len(older) + 1)
    tx.update("ContentVersion", [{"Id": row["id"], "VersionNumber": row["versionnumber"]}]
           + [{"Id": version_id, "IsLatest": False} for version_id in older], all_or_none=True, read_only_fields="write")
    tx.update("ContentDocument", [{
        "Id": document_id, "Title": row.get("title"), "FileExtension": row.get("fileextension"),
        "ContentSize": row.get("contentsize"), "LatestPublishedVersionId": row["id"],
    }], all_or_none=True, read_only_fields="write")
