"""Salesforce Files over REST, driven with simple-salesforce: a ContentVersion created with base64
VersionData, its record carrying VersionData as a URL, and that URL answering the bytes."""
from __future__ import annotations

import base64

import requests


def test_version_data_is_a_url_that_answers_the_bytes(deployed_org, sf) -> None:
    data = ("長い" * 70_000).encode()
    contact = sf.Contact.create({"LastName": "Files"})
    created = sf.ContentVersion.create({"Title": "evt-9", "PathOnClient": "evt-9.json",
                                        "VersionData": base64.b64encode(data).decode(),
                                        "FirstPublishLocationId": contact["id"]})
    record = sf.ContentVersion.get(created["id"])
    assert record["VersionData"] == f"/services/data/v62.0/sobjects/ContentVersion/{created['id']}/VersionData"
    assert record["ContentSize"] == len(data) and record["FileExtension"] == "json"
    [queried] = sf.query(f"SELECT VersionData, ContentDocumentId FROM ContentVersion WHERE Id = '{created['id']}'")["records"]
    assert queried["VersionData"] == record["VersionData"]
    answer = requests.get(deployed_org.url + record["VersionData"],
                          headers={"Authorization": f"Bearer {deployed_org.access_token}"})
    assert answer.status_code == 200 and answer.content == data
    links = sf.query(f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = "
                     f"'{queried['ContentDocumentId']}'")["records"]
    assert [link["LinkedEntityId"] for link in links] == [contact["id"]]
    describe = {f["name"]: f for f in sf.ContentVersion.describe()["fields"]}
    assert describe["VersionData"]["type"] == "base64" and describe["VersionData"]["soapType"] == "xsd:base64Binary"


def test_external_id_lookup_still_answers_beside_the_blob_route(deployed_org, sf) -> None:
    contact = sf.Contact.create({"LastName": "Lookup"})
    assert sf.Contact.get(contact["id"])["LastName"] == "Lookup"
    answer = requests.get(f"{deployed_org.url}/services/data/v62.0/sobjects/Contact/{contact['id']}/LastName",
                          headers={"Authorization": f"Bearer {deployed_org.access_token}"})
    assert answer.status_code in (400, 404), answer.text
