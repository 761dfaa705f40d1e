"""The committed Pub/Sub API modules are what grpcio-tools makes of the committed .proto, and the .proto
keeps the documented service, messages and field numbers (a client built for Salesforce works unchanged)."""
from __future__ import annotations

from pathlib import Path

from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb
from scripts.pubsub_stubs import MARK, PROTO, ROOT, generate


def test_committed_modules_match_the_proto(tmp_path: Path) -> None:
    for name, text in generate(tmp_path).items():
        committed = (ROOT / Path(PROTO).parent / name).read_text()
        assert committed.startswith(MARK), f"{name} must say it is generated in its first line"
        assert committed == text, f"{name} is stale: run `make pubsub-stubs`"


def test_the_documented_wire_contract() -> None:
    service = pb.DESCRIPTOR.services_by_name["PubSub"]
    assert service.full_name == "eventbus.v1.PubSub"
    methods = {m.name: (m.input_type.name, m.output_type.name) for m in service.methods}
    assert methods == {
        "Subscribe": ("FetchRequest", "FetchResponse"), "GetSchema": ("SchemaRequest", "SchemaInfo"),
        "GetTopic": ("TopicRequest", "TopicInfo"), "Publish": ("PublishRequest", "PublishResponse"),
        "PublishStream": ("PublishRequest", "PublishResponse"),
        "ManagedSubscribe": ("ManagedFetchRequest", "ManagedFetchResponse")}

    def numbers(message: str) -> dict[str, int]:
        return {f.name: f.number for f in pb.DESCRIPTOR.message_types_by_name[message].fields}

    assert numbers("FetchRequest") == {"topic_name": 1, "replay_preset": 2, "replay_id": 3, "num_requested": 4,
                                       "auth_refresh": 5}
    assert numbers("FetchResponse") == {"events": 1, "latest_replay_id": 2, "rpc_id": 3, "pending_num_requested": 4}
    assert numbers("ConsumerEvent") == {"event": 1, "replay_id": 2}
    assert numbers("ProducerEvent") == {"id": 1, "schema_id": 2, "payload": 3, "headers": 4}
    assert numbers("TopicInfo") == {"topic_name": 1, "tenant_guid": 2, "can_publish": 3, "can_subscribe": 4,
                                    "schema_id": 5, "rpc_id": 6}
    assert numbers("SchemaInfo") == {"schema_json": 1, "schema_id": 2, "rpc_id": 3}
    assert {v.name: v.number for v in pb.DESCRIPTOR.enum_types_by_name["ReplayPreset"].values} == {
        "LATEST": 0, "EARLIEST": 1, "CUSTOM": 2}


def test_our_modules_and_a_third_party_client_live_in_one_process() -> None:
    """The local org's server and a Pub/Sub client (pysfpubsub here, the push later) share test processes."""
    import subprocess
    import sys

    for first, second in (("pysfpubsub", "localcloud.salesforce.pubsub.pubsub_api_pb2"),
                          ("localcloud.salesforce.pubsub.pubsub_api_pb2", "pysfpubsub")):
        done = subprocess.run([sys.executable, "-c", f"import {first}; import {second}; print('ok')"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
