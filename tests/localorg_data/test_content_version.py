"""Salesforce Files in the local org: a ContentVersion keeps its bytes whole (VersionData, a base64
field), makes its ContentDocument and, with FirstPublishLocationId, the link that shows the file under
that record; REST records carry a base64 field as the URL of its bytes."""
from __future__ import annotations

import base64

from localcloud.salesforce.data import Store


def test_content_version_keeps_bytes_whole_and_links_the_file(store: Store) -> None:
    data = ('{"lastName": "' + "長" * 140_000 + '"}').encode()
    with store.transaction() as tx:
        [row] = tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": "evt-1"}])
        [version] = tx.insert("ContentVersion", [{"Title": "evt-1", "PathOnClient": "evt-1.json",
                                                  "VersionData": data, "FirstPublishLocationId": row.id}])
        assert version.success, version.errors
        typed = tx.query("SELECT Title, VersionData, ContentSize, FileExtension, ContentDocumentId, "
                         "FirstPublishLocationId FROM ContentVersion", typed=True).records[0]
        assert typed["VersionData"] == data, "the bytes must come back whole"
        assert typed["ContentSize"] == len(data) and typed["FileExtension"] == "json"
        links = tx.query("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink").records
        assert [(link["ContentDocumentId"], link["LinkedEntityId"]) for link in links] == [
            (typed["ContentDocumentId"], row.id)], "the file must show under the row's Files"
        document = tx.retrieve("ContentDocument", typed["ContentDocumentId"])
        assert document["LatestPublishedVersionId"] == version.id and document["Title"] == "evt-1"
        shown = tx.query("SELECT VersionData FROM ContentVersion").records[0]
        assert shown["VersionData"].endswith(f"/sobjects/ContentVersion/{version.id}/VersionData"), shown


def test_version_data_given_as_base64_text_and_refused_when_not_base64(store: Store) -> None:
    with store.transaction() as tx:
        [ok] = tx.insert("ContentVersion", [{"Title": "a", "PathOnClient": "a.txt",
                                             "VersionData": base64.b64encode(b"hello").decode()}])
        assert ok.success and tx.retrieve("ContentVersion", ok.id)["ContentSize"] == 5
        [bad] = tx.insert("ContentVersion", [{"Title": "b", "PathOnClient": "b.txt", "VersionData": "not base64!"}],
                          all_or_none=False)
        assert not bad.success and bad.errors[0].status_code == "INVALID_FIELD"
        assert list(bad.errors[0].fields) == ["VersionData"]


def test_an_org_file_from_before_files_gets_the_file_objects_on_open(tmp_path) -> None:
    from localcloud.salesforce.data import open_store

    path = tmp_path / "old.sqlite3"
    old = open_store(path)
    old.close()
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM _objects WHERE lower IN ('contentversion', 'contentdocument', 'contentdocumentlink')")
    conn.execute("DROP TABLE t_contentversion")
    conn.commit()
    conn.close()
    reopened = open_store(path)
    try:
        with reopened.transaction() as tx:
            [version] = tx.insert("ContentVersion", [{"Title": "x", "PathOnClient": "x.json", "VersionData": b"{}"}])
            assert version.success, version.errors
    finally:
        reopened.close()


def test_a_version_given_the_content_document_id_is_the_files_next_version(store: Store) -> None:
    with store.transaction() as tx:
        [row] = tx.insert("EC_Ingest_Error__c", [{"Event_Id__c": "evt-2"}])
        [first] = tx.insert("ContentVersion", [{"Title": "evt-2", "PathOnClient": "evt-2.json",
                                                "VersionData": b'{"v": 1}', "FirstPublishLocationId": row.id}])
        document_id = tx.retrieve("ContentVersion", first.id)["ContentDocumentId"]
        [second] = tx.insert("ContentVersion", [{"Title": "evt-2", "PathOnClient": "evt-2.json",
                                                 "VersionData": b'{"v": 22}', "ContentDocumentId": document_id,
                                                 "ReasonForChange": "delivered again"}])
        assert second.success, second.errors
        versions = tx.query("SELECT Id, VersionNumber, IsLatest, ContentDocumentId FROM ContentVersion "
                            "ORDER BY VersionNumber").records
        assert [(v["Id"], v["VersionNumber"], v["IsLatest"], v["ContentDocumentId"]) for v in versions] == [
            (first.id, "1", False, document_id), (second.id, "2", True, document_id)]
        document = tx.retrieve("ContentDocument", document_id)
        assert document["LatestPublishedVersionId"] == second.id and document["ContentSize"] == len(b'{"v": 22}')
        assert tx.query("SELECT COUNT() FROM ContentDocument").total_size == 1, "still one file"
        links = tx.query("SELECT ContentDocumentId FROM ContentDocumentLink "
                         f"WHERE LinkedEntityId = '{row.id}'").records
        assert [link["ContentDocumentId"] for link in links] == [document_id], "still one link under the row"
        latest = tx.query("SELECT VersionData FROM ContentVersion WHERE ContentDocumentId = "
                          f"'{document_id}' AND IsLatest = true", typed=True).records
        assert [v["VersionData"] for v in latest] == [b'{"v": 22}']


def test_a_version_of_a_file_that_does_not_exist_is_refused(store: Store) -> None:
    with store.transaction() as tx:
        [bad] = tx.insert("ContentVersion", [{"Title": "x", "PathOnClient": "x.json", "VersionData": b"{}",
                                              "ContentDocumentId": "069000000000001AAA"}], all_or_none=False)
        assert not bad.success and list(bad.errors[0].fields) == ["ContentDocumentId"], bad.errors
