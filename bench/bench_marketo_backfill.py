"""Benchmark: the first push of a large org to Marketo, REST sync against bulk import, in calls and time.

    .venv/bin/python bench/bench_marketo_backfill.py [--sizes 10000,100000] [--orders-per-person 3]
                                                     [--poll-seconds 1] [--target 1000000]

For each size, two fresh local Marketos (localcloud.marketo, HTTPS on 127.0.0.1, started in-process)
take the same persons (as the push builds them) and ~3 orders each:

* REST: the push's calls in the push's order (tests/push/marketo_paths.py ``rest_push``): per chunk
  of 300, identity read by email, createOnly, ecOrder_c createOrUpdate, order fields updateOnly;
  the client paced at Marketo's ceiling (100 calls per 20 s, 10 in flight), the server enforcing it.
* bulk: the identity reads (IdentityResolver, 300 emails a call), then BulkBackfill: bulk lead
  import, lead ids by email, bulk custom object import, order fields by bulk import (id).

Printed per run: calls (measured), what the cost model (python_tasks/push/cost.py) expects for that
volume, and seconds (measured). The bulk path polls every ``--poll-seconds`` here (the local Marketo
imports fast); the model's real-Marketo figures poll every 30 s and assume 100 rows/s per import job
(Adobe does not document import speed). Then the model's figures for ``--target`` persons and
three orders each, whether each fits the 50,000-call day, and the method the chooser takes per volume.
This is a benchmark, not a test: it prints figures and does not run in ``make test``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.marketo.service import LocalMarketo, start_local_marketo  # noqa: E402
from python_tasks.dedupe.winner import WinnerRule  # noqa: E402
from python_tasks.mapping import Mapping, load_mapping  # noqa: E402
from python_tasks.marketo import MarketoClient, MarketoCredentials, SharedPacer  # noqa: E402
from python_tasks.push.backfill import BulkBackfill  # noqa: E402
from python_tasks.push.cost import DAILY_ALLOCATION, PushVolume, choose, estimate_bulk, estimate_rest  # noqa: E402
from python_tasks.push.identity import IdentityResolver  # noqa: E402
from tests.push.marketo_paths import Dataset, cost_settings, make_dataset, member_key_field, rest_push  # noqa: E402


@dataclasses.dataclass
class Run:
    method: str
    persons: int
    orders: int
    calls: int
    model_calls: int
    seconds: float
    lost: int


def fresh_marketo(base: Path, name: str) -> LocalMarketo:
    handle = start_local_marketo(base / name, certs_dir=base / "certs")
    os.environ["REQUESTS_CA_BUNDLE"] = str(handle.ca_bundle)
    return handle


def client_for(handle: LocalMarketo) -> MarketoClient:
    SharedPacer.forget_all()
    return MarketoClient(MarketoCredentials(handle.url, handle.client_id, handle.client_secret),
                         calls_per_window=100, max_in_flight=10, timeout=(10.0, 600.0))


def timed(step: Callable[[], object]) -> tuple[object, float]:
    started = time.perf_counter()
    value = step()
    return value, time.perf_counter() - started


def run_rest(base: Path, mapping: Mapping, data: Dataset) -> Run:
    handle = fresh_marketo(base, f"rest-{len(data.persons)}")
    try:
        with client_for(handle) as client:
            phases, seconds = timed(lambda: rest_push(client, mapping, data))
            calls = client.counters().calls
        lost = len(data.persons) - handle.service.store.count_leads()
    finally:
        handle.stop()
    model = estimate_rest(PushVolume(len(data.persons), data.order_count), cost_settings(mapping, data))
    assert isinstance(phases, dict)
    return Run("REST sync", len(data.persons), data.order_count, calls, model.calls, seconds, lost)


def run_bulk(base: Path, mapping: Mapping, data: Dataset, poll_seconds: float) -> Run:
    handle = fresh_marketo(base, f"bulk-{len(data.persons)}")
    try:
        with client_for(handle) as client:
            def backfill() -> object:
                client.describe2()  # the run's describes, as the push task makes them
                for co in mapping.marketo.custom_objects:
                    client.describe_custom_object(co.api_name)
                resolver = IdentityResolver(client, mapping.marketo.lead.lookup_field, WinnerRule(),
                                            member_key_field(mapping))
                resolutions = resolver.resolve(data.persons)
                known = {k: r.target for k, r in resolutions.items() if r.target is not None}
                return BulkBackfill(client, mapping, poll_seconds=poll_seconds).run(
                    data.values(), data.orders, known_ids=known,
                    order_fields=lambda key, _pushed: data.order_fields.get(key, {}))

            result, seconds = timed(backfill)
            calls = client.counters().calls
        lost = sum(1 for o in result.persons.values() if not o.ok) + sum(1 for o in result.orders.values() if not o.ok)
    finally:
        handle.stop()
    model = estimate_bulk(PushVolume(len(data.persons), data.order_count),
                          cost_settings(mapping, data, poll_seconds=poll_seconds, import_rows_per_second=1e9))
    return Run("bulk import", len(data.persons), data.order_count, calls, model.calls, seconds, lost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--orders-per-person", type=int, default=3)
    parser.add_argument("--poll-seconds", type=float, default=1.0)
    parser.add_argument("--target", type=int, default=1_000_000)
    args = parser.parse_args()
    mapping = load_mapping(ROOT / "ecbridge.yml")
    runs: list[Run] = []
    sample: Dataset | None = None
    with tempfile.TemporaryDirectory(prefix="bench-backfill-") as tmp:
        base = Path(tmp)
        for size in (int(s) for s in args.sizes.split(",")):
            data = make_dataset(mapping, size, args.orders_per_person, prefix="bench")
            sample = sample or data
            runs.append(run_rest(base, mapping, data))
            print(_row(runs[-1]), flush=True)
            runs.append(run_bulk(base, mapping, data, args.poll_seconds))
            print(_row(runs[-1]), flush=True)
    print()
    print("| method | persons | orders | calls measured | calls the model expects | seconds (local) | records lost |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in runs:
        print(_row(run))
    assert sample is not None
    settings = cost_settings(mapping, sample)
    target = PushVolume(args.target, args.target * args.orders_per_person)
    print()
    print(f"Cost model for {target.persons:,} persons and {target.orders:,} orders (row sizes of the data above; "
          f"REST paced at {settings.calls_per_second:g} calls/s, imports at an assumed "
          f"{settings.import_rows_per_second:g} rows/s per job, polled every {settings.poll_seconds:g} s):")
    print()
    print("| method | Marketo calls | with failures files | fits 50,000 a day | time |")
    print("| --- | ---: | ---: | --- | ---: |")
    for estimate in (estimate_rest(target, settings), estimate_bulk(target, settings)):
        print(f"| {estimate.method} | {estimate.calls:,} | {estimate.budget:,} | "
              f"{'yes' if estimate.fits(DAILY_ALLOCATION) else 'no'} | {estimate.seconds / 3600:.1f} h |")
    print()
    print("| persons (3 orders each) | REST calls | bulk calls | chosen | why |")
    print("| ---: | ---: | ---: | --- | --- |")
    for persons in (1_000, 10_000, 50_000, 100_000, 1_000_000, 2_000_000):
        volume = PushVolume(persons, persons * args.orders_per_person)
        choice = choose(volume, settings)
        rest, bulk = estimate_rest(volume, settings), estimate_bulk(volume, settings)
        print(f"| {persons:,} | {rest.calls:,} | {bulk.calls:,} | {choice.method} | {choice.reason} |")
    print()
    for line in estimate_bulk(target, settings).lines():
        print(line)


def _row(run: Run) -> str:
    return (f"| {run.method} | {run.persons:,} | {run.orders:,} | {run.calls:,} | {run.model_calls:,} | "
            f"{run.seconds:,.1f} | {run.lost} |")


if __name__ == "__main__":
    main()
