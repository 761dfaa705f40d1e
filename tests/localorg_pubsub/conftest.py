"""A local org with EC_Order__c, Contact and EC_Order__c selected for Change Data Capture, its Pub/Sub API,
and a Pub/Sub client of our own (grpcio stubs generated from the committed .proto)."""
from __future__ import annotations

import io
import queue
import threading
import zipfile
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

from localcloud.common.tls import CertificateFiles, ensure_certificates
from localcloud.salesforce.pubsub import PubSubSettings, start_pubsub
from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb
from localcloud.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from localcloud.salesforce.pubsub.avro_schema import decode

MD = "http://soap.sforce.com/2006/04/metadata"
ORDER_OBJECT = f"""<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="{MD}">
    <label>EC Order</label><pluralLabel>EC Orders</pluralLabel>
    <nameField><label>Name</label><type>Text</type></nameField>
    <deploymentStatus>Deployed</deploymentStatus><sharingModel>ReadWrite</sharingModel>
    <fields><fullName>Order_Number__c</fullName><label>Order Number</label><type>Text</type><length>64</length>
        <externalId>true</externalId><unique>true</unique></fields>
    <fields><fullName>Member__c</fullName><label>Member</label><type>Lookup</type><referenceTo>Contact</referenceTo>
        <relationshipName>EC_Orders</relationshipName><deleteConstraint>SetNull</deleteConstraint></fields>
    <fields><fullName>Total_Amount__c</fullName><label>Total</label><type>Currency</type><precision>16</precision>
        <scale>0</scale></fields>
    <fields><fullName>Order_Date__c</fullName><label>Order Date</label><type>DateTime</type></fields>
</CustomObject>
"""


def member_xml(entity_event: str, channel: str = "ChangeEvents") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PlatformEventChannelMember xmlns="{MD}">\n'
            f"    <eventChannel>{channel}</eventChannel>\n    <selectedEntity>{entity_event}</selectedEntity>\n"
            "</PlatformEventChannelMember>\n")


def deploy_zip(files: dict[str, str], destructive: dict[str, list[str]] | None = None) -> bytes:
    types: dict[str, list[str]] = {}
    for path in files:
        folder, name = path.split("/", 1)
        kind = {"objects": "CustomObject", "platformEventChannelMembers": "PlatformEventChannelMember"}[folder]
        types.setdefault(kind, []).append(name.rsplit(".", 1)[0])
    package = "".join(f"<types>{''.join(f'<members>{m}</members>' for m in names)}<name>{kind}</name></types>"
                      for kind, names in types.items())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("package.xml", f'<?xml version="1.0"?><Package xmlns="{MD}">{package}'
                                        "<version>62.0</version></Package>")
        for path, text in files.items():
            archive.writestr(path, text)
        if destructive:
            doomed = "".join(f"<types>{''.join(f'<members>{m}</members>' for m in names)}<name>{kind}</name></types>"
                             for kind, names in destructive.items())
            archive.writestr("destructiveChanges.xml", f'<?xml version="1.0"?><Package xmlns="{MD}">{doomed}</Package>')
    return buffer.getvalue()


SELECTION = {
    "objects/EC_Order__c.object": ORDER_OBJECT,
    "platformEventChannelMembers/ChangeEvents_ContactChangeEvent.platformEventChannelMember":
        member_xml("ContactChangeEvent"),
    "platformEventChannelMembers/ChangeEvents_EC_Order_ChangeEvent.platformEventChannelMember":
        member_xml("EC_Order__ChangeEvent"),
}


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return ensure_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def settings() -> PubSubSettings:
    return PubSubSettings(keepalive_seconds=270)


@pytest.fixture
def org(tmp_path: Path, certificates: CertificateFiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from localcloud.salesforce.server import start_local_org

    monkeypatch.setenv("ECBRIDGE_ORG_APEX", "off")
    running = start_local_org(tmp_path / "org", tls_dir=certificates.ca_cert.parent)
    yield running
    running.stop()


@pytest.fixture
def pubsub(org: Any, settings: PubSubSettings) -> Iterator[Any]:
    handle = start_pubsub(org, settings=settings)
    job = org.deployer.deploy_zip(deploy_zip(SELECTION))
    assert job.status == "Succeeded", [f.problem for f in job.failures] or job.error_message
    yield handle
    handle.stop()


@pytest.fixture
def stub(pubsub: Any, certificates: CertificateFiles) -> Iterator[pb_grpc.PubSubStub]:
    channel = grpc.secure_channel(pubsub.endpoint, grpc.ssl_channel_credentials(certificates.ca_cert.read_bytes()))
    yield pb_grpc.PubSubStub(channel)
    channel.close()


class Subscription:
    """One Subscribe stream: ``fetch(n)`` asks for n more events; ``events(k)`` waits for k of them."""

    def __init__(self, stub: pb_grpc.PubSubStub, metadata: Any, topic: str, preset: int = pb.LATEST,
                 replay_id: bytes = b"", num_requested: int = 0) -> None:
        self.stub = stub
        self._requests: queue.Queue[pb.FetchRequest | None] = queue.Queue()
        self._requests.put(pb.FetchRequest(topic_name=topic, replay_preset=preset, replay_id=replay_id,
                                           num_requested=num_requested))
        self.responses: queue.Queue[Any] = queue.Queue()
        self._call = stub.Subscribe(iter(self._requests.get, None), metadata=metadata)
        self.error: grpc.RpcError | None = None
        threading.Thread(target=self._read, daemon=True).start()
        self._schemas: dict[str, str] = {}
        self._metadata = metadata

    def _read(self) -> None:
        try:
            for response in self._call:
                self.responses.put(response)
        except grpc.RpcError as error:
            self.error = error
            self.responses.put(error)

    def fetch(self, n: int) -> None:
        self._requests.put(pb.FetchRequest(num_requested=n))

    def events(self, count: int, timeout: float = 10.0) -> list[Any]:
        got: list[Any] = []
        while len(got) < count:
            item = self.responses.get(timeout=timeout)
            if isinstance(item, grpc.RpcError):
                raise item
            got.extend(item.events)
        assert len(got) == count, f"expected {count} events, got {len(got)}"
        return got

    def nothing_within(self, seconds: float) -> bool:
        try:
            item = self.responses.get(timeout=seconds)
        except queue.Empty:
            return True
        return not isinstance(item, grpc.RpcError) and not item.events

    def decoded(self, event: Any) -> dict[str, Any]:
        schema_id = event.event.schema_id
        if schema_id not in self._schemas:
            self._schemas[schema_id] = self.stub.GetSchema(pb.SchemaRequest(schema_id=schema_id),
                                                           metadata=self._metadata).schema_json
        return decode(self._schemas[schema_id], event.event.payload)

    def schema_json(self, event: Any) -> str:
        self.decoded(event)
        return self._schemas[event.event.schema_id]

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()


@pytest.fixture
def subscribe(stub: pb_grpc.PubSubStub, pubsub: Any) -> Iterator[Any]:
    opened: list[Subscription] = []

    def open_(topic: str, **kwargs: Any) -> Subscription:
        subscription = Subscription(stub, pubsub.metadata(), topic, **kwargs)
        opened.append(subscription)
        return subscription

    yield open_
    for subscription in opened:
        subscription.close()


@pytest.fixture
def rest(org: Any, certificates: CertificateFiles, monkeypatch: pytest.MonkeyPatch) -> Any:
    import requests

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.bundle))

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    session.verify = str(certificates.bundle)
    base = f"{org.url}/services/data/v62.0"

    class Rest:
        def post(self, path: str, body: Any) -> Any:
            response = session.post(base + path, json=body)
            return response

        def patch(self, path: str, body: Any) -> Any:
            return session.patch(base + path, json=body)

        def delete(self, path: str) -> Any:
            return session.delete(base + path)

        def get(self, path: str) -> Any:
            return session.get(base + path)

    return Rest()
