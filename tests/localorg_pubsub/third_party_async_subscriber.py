"""Run aiosfpubsub (an asyncio Pub/Sub API client nobody here wrote, pinned in requirements.txt)
unmodified against the local org; prints one JSON line per decoded change event. Same two settings
as third_party_subscriber.py: gRPC roots from ``certifi.where()`` pointed at the local cloud's bundle,
and ``metadata`` from an OAuth session instead of the client's SOAP username/password login.

    python third_party_async_subscriber.py HOST PORT CA_BUNDLE TOPIC COUNT ACCESSTOKEN INSTANCEURL TENANTID
"""
from __future__ import annotations

import asyncio
import json
import os
import sys


def main() -> None:
    host, port, bundle, topic, count, token, instance_url, tenant = sys.argv[1:9]
    import certifi

    certifi.where = lambda: bundle  # the trust store, as REQUESTS_CA_BUNDLE is for requests
    from aiosfpubsub import Client

    client = Client(instance_url, "unused", "unused", host, int(port))
    client.metadata = (("accesstoken", token), ("instanceurl", instance_url), ("tenantid", tenant))
    wanted = int(count)
    seen: list[str] = []

    def on_response(response, client) -> None:  # noqa: ANN001 - aiosfpubsub's callback signature
        for event in response.events:
            body = client.decode(client.get_schema_json(event.event.schema_id), event.event.payload)
            seen.append(event.replay_id.hex())
            print(json.dumps({"header": body["ChangeEventHeader"], "email": body.get("Email"),
                              "schema_id": event.event.schema_id}), flush=True)
        if len(seen) >= wanted:
            os._exit(0)

    asyncio.run(client.subscribe(topic, "EARLIEST", b"", wanted, on_response))


if __name__ == "__main__":
    main()
