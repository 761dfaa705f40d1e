"""Run pysfpubsub (a Pub/Sub API client nobody here wrote, pinned in requirements.txt) unmodified
against the local org; prints one JSON line per decoded change event. Run in its own process: the
client registers its own copy of pubsub_api.proto in protobuf's default pool, as ours does.

Two settings, not changes: the client reads its gRPC roots from ``certifi.where()``, which is pointed
at the local cloud's bundle (public roots + the local CA, what REQUESTS_CA_BUNDLE holds); and its
``metadata`` is set from an OAuth session (accesstoken, instanceurl, tenantid) instead of its
SOAP username/password login, which the local org does not serve.

    python third_party_subscriber.py HOST PORT CA_BUNDLE TOPIC COUNT ACCESSTOKEN INSTANCEURL TENANTID
"""
from __future__ import annotations

import json
import os
import sys


def main() -> None:
    host, port, bundle, topic, count, token, instance_url, tenant = sys.argv[1:9]
    import certifi

    certifi.where = lambda: bundle  # the trust store, as REQUESTS_CA_BUNDLE is for requests
    from pysfpubsub import Client

    client = Client(instance_url, "unused", "unused", host, int(port))
    client.metadata = (("accesstoken", token), ("instanceurl", instance_url), ("tenantid", tenant))
    topic_info = client.get_topic(topic)
    print(json.dumps({"topic": topic_info.topic_name, "can_subscribe": topic_info.can_subscribe}), flush=True)
    wanted = int(count)
    seen = []

    def on_response(response, client) -> None:  # noqa: ANN001 - pysfpubsub's callback signature
        for event in response.events:
            schema = client.get_schema_json(event.event.schema_id)
            body = client.decode(schema, event.event.payload)
            seen.append(event.replay_id.hex())
            print(json.dumps({"replay_id": event.replay_id.hex(), "header": body["ChangeEventHeader"],
                              "email": body.get("Email"), "schema_id": event.event.schema_id}), flush=True)
        if len(seen) >= wanted:
            os._exit(0)
        if response.pending_num_requested == 0:
            client.release_subscription_semaphore()

    client.subscribe(topic, "EARLIEST", b"", wanted, on_response)


if __name__ == "__main__":
    main()
