"""Benchmark of the local org's Pub/Sub API: from a REST write's answer to its change event in a
subscriber, and how many events a second one subscription drains.

    .venv/bin/python bench/bench_pubsub.py [--writes 200] [--backlog 5000]

A throw-away org (Apex off) selects Contact for Change Data Capture. Latency: one subscriber
(LATEST, num_requested 100, refilled) while ``--writes`` REST POSTs create contacts one at a time;
prints p50/p95/max ms from each POST's start, and from its answer, to its event's arrival (the event
is published at the commit, before the answer is written, so the second is often negative). Throughput: ``--backlog``
contacts created in 200-record composite calls, then an EARLIEST subscription drains them; prints
events/s including Avro decoding, and the publishing cost per committed record.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc  # noqa: E402
import requests  # noqa: E402

from localcloud.salesforce.pubsub import PubSubSettings, start_pubsub  # noqa: E402
from localcloud.salesforce.pubsub import pubsub_api_pb2 as pb  # noqa: E402
from localcloud.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc  # noqa: E402
from localcloud.salesforce.pubsub.avro_schema import decode  # noqa: E402
from tests.localorg_pubsub.conftest import Subscription, deploy_zip, member_xml  # noqa: E402

TOPIC = "/data/ContactChangeEvent"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=5000)
    args = parser.parse_args()
    import os

    os.environ["ECBRIDGE_ORG_APEX"] = "off"
    from localcloud.salesforce.server import start_local_org

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        with start_local_org(base / "org", tls_dir=base / "tls") as org, \
                start_pubsub(org, settings=PubSubSettings()) as pubsub:
            job = org.deployer.deploy_zip(deploy_zip({
                "platformEventChannelMembers/ChangeEvents_ContactChangeEvent.platformEventChannelMember":
                    member_xml("ContactChangeEvent")}))
            assert job.status == "Succeeded", job.failures
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {org.access_token}"
            session.verify = str(org.certificates.bundle)
            os.environ["REQUESTS_CA_BUNDLE"] = session.verify  # requests prefers the environment's bundle
            url = f"{org.url}/services/data/v62.0"
            channel = grpc.secure_channel(pubsub.endpoint,
                                          grpc.ssl_channel_credentials(org.certificates.ca_cert.read_bytes()))
            stub = pb_grpc.PubSubStub(channel)

            # latency
            sub = Subscription(stub, pubsub.metadata(), TOPIC, preset=pb.LATEST, num_requested=100)
            pubsub.wait_for_streams(1)
            answered: dict[str, float] = {}
            sent: dict[str, float] = {}
            arrived: dict[str, float] = {}
            schema: dict[str, str] = {}
            done = threading.Event()

            def receive() -> None:
                count = 0
                while count < args.writes:
                    response = sub.responses.get(timeout=60)
                    now = time.perf_counter()
                    for event in response.events:
                        sid = event.event.schema_id
                        if sid not in schema:
                            schema[sid] = stub.GetSchema(pb.SchemaRequest(schema_id=sid),
                                                         metadata=pubsub.metadata()).schema_json
                        record_id = decode(schema[sid], event.event.payload)["ChangeEventHeader"]["recordIds"][0]
                        arrived[record_id] = now
                        count += 1
                    if response.events and response.pending_num_requested < 50:
                        sub.fetch(100 - response.pending_num_requested)
                done.set()

            threading.Thread(target=receive, daemon=True).start()
            for n in range(args.writes):
                before = time.perf_counter()
                answer = session.post(f"{url}/sobjects/Contact", json={"LastName": f"Latency {n}"})
                answered[answer.json()["id"]] = time.perf_counter()
                sent[answer.json()["id"]] = before
            done.wait(120)
            sub.close()
            print(f"latency over {sum(i in arrived for i in answered)} of {args.writes} REST creates:")
            for label, start in (("request sent -> event", sent), ("answer -> event (negative: before it)", answered)):
                lags = sorted((arrived[i] - t) * 1000 for i, t in start.items() if i in arrived)
                print(f"  {label:40s} p50 {statistics.median(lags):7.1f} ms   "
                      f"p95 {lags[max(0, int(len(lags) * 0.95) - 1)]:7.1f} ms   max {lags[-1]:7.1f} ms")

            # throughput
            started = time.perf_counter()
            for start in range(0, args.backlog, 200):
                records = [{"attributes": {"type": "Contact"}, "LastName": f"Backlog {n}"}
                           for n in range(start, min(args.backlog, start + 200))]
                session.post(f"{url}/composite/sobjects", json={"records": records}).raise_for_status()
            written = time.perf_counter() - started
            drained = Subscription(stub, pubsub.metadata(), TOPIC, preset=pb.EARLIEST, num_requested=100)
            total = args.writes + args.backlog
            got = 0
            started = time.perf_counter()
            while got < total:
                response = drained.responses.get(timeout=60)
                for event in response.events:
                    decode(schema[event.event.schema_id], event.event.payload)
                got += len(response.events)
                if response.pending_num_requested == 0:
                    drained.fetch(100)
            seconds = time.perf_counter() - started
            drained.close()
            channel.close()
            print(f"backlog: {args.backlog} contacts written in {written:.1f} s ({args.backlog / written:,.0f} records/s "
                  "through REST with publishing)")
            print(f"drain:   {total} events from EARLIEST in {seconds:.2f} s ({total / seconds:,.0f} events/s, "
                  "decoded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
