"""The local org's Pub/Sub API (gRPC) with Change Data Capture events; see README.md."""
from .server import PubSubHandle, start_pubsub
from .settings import PubSubSettings

__all__ = ["start_pubsub", "PubSubHandle", "PubSubSettings"]
