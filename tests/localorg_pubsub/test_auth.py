"""The Pub/Sub API authenticates every call with the accesstoken, instanceurl and tenantid metadata."""
from __future__ import annotations

from typing import Any

import grpc
import pytest

from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb

AUTH_ERROR = ("error-code", "sfdc.platform.eventbus.grpc.service.auth.error")


def _refused(call: Any) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as error:
        call()
    assert error.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert AUTH_ERROR in error.value.trailing_metadata()
    assert "rpcId: " in error.value.details()
    return error.value


def test_calls_without_the_metadata_are_refused(stub: Any, pubsub: Any) -> None:
    request = pb.TopicRequest(topic_name="/data/ContactChangeEvent")
    error = _refused(lambda: stub.GetTopic(request))
    assert "accesstoken" in error.details()
    good = dict(pubsub.metadata())
    for missing in good:
        _refused(lambda: stub.GetTopic(request, metadata=[(k, v) for k, v in good.items() if k != missing]))
    for key, wrong in (("accesstoken", "00Dxx!not-a-token"), ("tenantid", "00D000000000001AAA"),
                       ("instanceurl", "https://elsewhere.example.com")):
        _refused(lambda: stub.GetTopic(request, metadata=list({**good, key: wrong}.items())))
    assert stub.GetTopic(request, metadata=pubsub.metadata()).topic_name == "/data/ContactChangeEvent"


def test_subscribe_and_get_schema_are_refused_without_a_valid_session(stub: Any, pubsub: Any) -> None:
    requests = iter([pb.FetchRequest(topic_name="/data/ContactChangeEvent", num_requested=1)])
    _refused(lambda: list(stub.Subscribe(requests)))
    pubsub.org.context.identity.revoke(pubsub.org.access_token)
    _refused(lambda: stub.GetSchema(pb.SchemaRequest(schema_id="x"), metadata=pubsub.metadata()))


def test_publish_is_not_served(stub: Any, pubsub: Any) -> None:
    with pytest.raises(grpc.RpcError) as error:
        stub.Publish(pb.PublishRequest(topic_name="/data/ContactChangeEvent"), metadata=pubsub.metadata())
    assert error.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_a_busy_port_fails_with_a_clear_error(org: Any) -> None:
    import socket

    from localcloud.salesforce.pubsub import start_pubsub

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError, match="ECBRIDGE_PUBSUB_PORT"):
            start_pubsub(org, port=busy.getsockname()[1])
    assert org.store.commit_listeners == []
