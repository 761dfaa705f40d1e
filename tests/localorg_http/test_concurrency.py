"""Several clients at once: no lost update, no torn write, exactly one winner for a racing first upsert."""
from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

API = "/services/data/v62.0"


def client(org) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    return session


def test_parallel_creates_are_all_kept(deployed_org) -> None:
    marker = f"par-{uuid.uuid4().hex[:8]}"

    def work(worker: int) -> list[str]:
        session = client(deployed_org)
        ids = []
        for n in range(25):
            response = session.post(deployed_org.url + API + "/sobjects/Contact/", json={"LastName": marker, "FirstName": f"{worker}-{n}"})
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return ids

    with ThreadPoolExecutor(8) as pool:
        ids = [i for chunk in pool.map(work, range(8)) for i in chunk]
    assert len(ids) == len(set(ids)) == 200
    count = client(deployed_org).get(deployed_org.url + API + "/query", params={"q": f"SELECT COUNT() FROM Contact WHERE LastName = '{marker}'"})
    assert count.json()["totalSize"] == 200


def test_racing_first_upserts_create_one_record(deployed_org) -> None:
    key = f"race-{uuid.uuid4().hex[:8]}"
    barrier = threading.Barrier(8)

    def work(worker: int) -> int:
        session = client(deployed_org)
        barrier.wait()
        response = session.patch(deployed_org.url + API + f"/sobjects/Contact/Test_Member_Id__c/{key}", json={"LastName": f"w{worker}"})
        return response.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(work, range(8)))
    assert sorted(codes) == [200] * 7 + [201], codes
    found = client(deployed_org).get(deployed_org.url + API + "/query", params={"q": f"SELECT Id FROM Contact WHERE Test_Member_Id__c = '{key}'"})
    assert found.json()["totalSize"] == 1


def test_concurrent_updates_of_different_fields_are_not_lost(deployed_org) -> None:
    session = client(deployed_org)
    record_id = session.post(deployed_org.url + API + "/sobjects/Contact/", json={"LastName": "shared"}).json()["id"]
    fields = ["FirstName", "Email", "Phone", "Title", "Department", "MobilePhone"]
    values = {"FirstName": "Hana", "Email": "shared@example.jp", "Phone": "03-1234-5678", "Title": "Buyer",
              "Department": "EC", "MobilePhone": "090-1234-5678"}
    barrier = threading.Barrier(len(fields))

    def work(field: str) -> int:
        own = client(deployed_org)
        barrier.wait()
        return own.patch(deployed_org.url + API + f"/sobjects/Contact/{record_id}", json={field: values[field]}).status_code

    with ThreadPoolExecutor(len(fields)) as pool:
        assert set(pool.map(work, fields)) == {204}
    record = session.get(deployed_org.url + API + f"/sobjects/Contact/{record_id}").json()
    assert {f: record[f] for f in fields} == values


def test_collections_and_readers_together_see_whole_batches(deployed_org) -> None:
    """Readers running while 200-record batches commit only ever see whole batches (no torn write)."""
    marker = f"batch-{uuid.uuid4().hex[:8]}"
    done = threading.Event()
    seen: list[int] = []

    def writer() -> None:
        session = client(deployed_org)
        for _ in range(5):
            records = [{"attributes": {"type": "Contact"}, "LastName": marker} for _ in range(200)]
            response = session.post(deployed_org.url + API + "/composite/sobjects", json={"allOrNone": True, "records": records})
            assert all(r["success"] for r in response.json())
        done.set()

    def reader() -> None:
        session = client(deployed_org)
        while not done.is_set():
            response = session.get(deployed_org.url + API + "/query", params={"q": f"SELECT COUNT() FROM Contact WHERE LastName = '{marker}'"})
            seen.append(response.json()["totalSize"])

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert seen and all(count % 200 == 0 for count in seen), sorted(set(seen))
