"""Benchmark: leads pushed per second through ECBridge's Marketo client, next to marketorestpython.

    .venv/bin/python bench/bench_marketo_client.py [--windows 3] [--latency-ms 0] [--faults 0.0]

Both clients push new leads to a local Marketo (localcloud.marketo, HTTPS on 127.0.0.1) that enforces
the real limits: 100 calls per sliding 20 s window (606), 10 calls in flight (615). ECBridge's client
runs at those limits (calls_per_window=100, max_in_flight=10); marketorestpython runs the way its
README shows: one ``execute(method='create_update_leads', leads=..., ...)`` per list of at most 300
leads (its README's maximum batch size), one thread, its own 5-calls-per-second throttle.

Figures, for each client, measured over the first ``--windows`` whole 20-second windows of its run
(a sliding window lets a burst of 100 calls through at the start, so a run shorter than a few windows
would overstate any client):
  records/s          leads acknowledged by Marketo within those windows / their length
  share of ceiling   records/s / 1,500 (100 calls x 300 records / 20 s)
  calls / 1,000      API calls made (token calls included) per 1,000 leads acknowledged
  606/615            refusals the server's own limiter answered (a correctly paced client meets none;
                     injected faults are not counted here)
  retries            retries the client made (marketorestpython does not count its own: n/a)
  lost               leads not acknowledged because a call failed for good

``--latency-ms`` adds that much server time to every call (the local Marketo answers in a few ms;
Adobe does not document how long a 300-lead sync takes, so it is a knob, not a guess).
``--faults`` makes that share of calls answer a transient fault (606/615/611/502/604/608/713).
The two clients run one after the other, each against a fresh local Marketo with the same settings.
This is a benchmark, not a test: it prints figures and does not run in ``make test``.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from localcloud.common.httpserver import serve  # noqa: E402
from localcloud.common.tls import ensure_certificates  # noqa: E402
from localcloud.marketo.service import create_app  # noqa: E402
from python_tasks.marketo import MarketoClient, MarketoCredentials, RetryPolicy  # noqa: E402

WINDOW_SECONDS = 20.0
CEILING_RECORDS_PER_SECOND = 100 * 300 / WINDOW_SECONDS  # 1,500


@dataclass
class Run:
    name: str
    records_in_windows: int
    seconds: float
    calls: int
    records_total: int
    refused: dict[str, int]
    retries: int | None  # None: the client does not say
    errors: int

    @property
    def records_per_second(self) -> float:
        return self.records_in_windows / self.seconds

    @property
    def calls_per_1000(self) -> float:
        return 1000 * self.calls / self.records_total if self.records_total else float("nan")


class LocalMarketoForBench:
    """A fresh local Marketo at the real limits, optionally slowed by ``latency`` per call."""

    def __init__(self, root: Path, name: str, latency: float, faults: float) -> None:
        self.service = create_app(root / name)
        self.service.update_settings(
            rate_limit_calls=100, rate_limit_window_seconds=WINDOW_SECONDS, max_concurrent_calls=10,
            fault_share=faults, fault_kinds=["606", "615", "611", "502", "604", "608", "713"], fault_seed=42,
        )
        certs = ensure_certificates(root / "certs")
        os.environ["REQUESTS_CA_BUNDLE"] = str(certs.bundle)
        service = self.service

        def app(request: Any) -> Any:
            if latency and request.path.startswith(("/rest/", "/bulk/")):
                time.sleep(latency)
            return service(request)

        self._server = serve(app, ssl_context=certs.server_context())
        self.url = self._server.url
        self.client_id = self.service.credentials.client_id
        self.client_secret = self.service.credentials.client_secret

    def refused(self) -> dict[str, int]:
        return dict(self.service.limiter.refused)

    def stop(self) -> None:
        self._server.stop()
        self.service.close()


def leads(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {"email": f"{prefix}{i}@example.jp", "ecMemberId": f"{prefix}-{i:07d}", "firstName": "太郎",
         "lastName": f"山田{i}", "lastProductName": "有機栽培コーヒー豆 200g"}
        for i in range(count)
    ]


def measure(started: float, acknowledged: list[tuple[float, int]], windows: int) -> int:
    """Leads acknowledged within the first ``windows`` whole windows after ``started``."""
    horizon = started + windows * WINDOW_SECONDS
    return sum(count for at, count in acknowledged if at <= horizon)


def run_ecbridge(local: LocalMarketoForBench, windows: int) -> Run:
    client = MarketoClient(
        MarketoCredentials(local.url, local.client_id, local.client_secret),
        calls_per_window=100, max_in_flight=10, retry=RetryPolicy(max_attempts=8),
    )
    records = leads("ecb", (windows + 1) * 100 * 300)
    acknowledged: list[tuple[float, int]] = []
    errors = 0
    started = time.monotonic()
    deadline = started + windows * WINDOW_SECONDS
    batches = client.iter_sync_leads(records, lookup_field="ecMemberId")
    for results in batches:
        acknowledged.append((time.monotonic(), sum(1 for r in results if r.ok)))
        errors += sum(1 for r in results if not r.ok)
        if time.monotonic() >= deadline:
            break
    batches.close()
    counters = client.counters()
    client.close()
    total = sum(count for _, count in acknowledged)
    return Run("ECBridge client (100/20 s, 10 in flight)", measure(started, acknowledged, windows),
               windows * WINDOW_SECONDS, counters.calls, total, local.refused(), counters.retries, errors)


def run_marketorestpython(local: LocalMarketoForBench, windows: int) -> Run:
    from marketorestpython.client import MarketoClient as MRPClient

    mc = MRPClient("123-ABC-456", local.client_id, local.client_secret)
    mc.host = local.url  # the library builds https://{munchkin}.mktorest.com; its host attribute is public
    records = leads("mrp", (windows + 1) * 100 * 300)
    acknowledged: list[tuple[float, int]] = []
    errors = 0
    started = time.monotonic()
    deadline = started + windows * WINDOW_SECONDS
    for start in range(0, len(records), 300):
        try:
            result = mc.execute(method="create_update_leads", leads=records[start : start + 300],
                                action="createOrUpdate", lookupField="ecMemberId", asyncProcessing="false")
            acknowledged.append((time.monotonic(), sum(1 for r in result if r.get("status") in ("created", "updated"))))
        except Exception:  # the README's usage has no handling: a failed call loses its 300 leads
            errors += 300
            acknowledged.append((time.monotonic(), 0))
        if time.monotonic() >= deadline:
            break
    total = sum(count for _, count in acknowledged)
    return Run("marketorestpython 0.5.25 (README usage)", measure(started, acknowledged, windows),
               windows * WINDOW_SECONDS, mc.API_CALLS_MADE, total, local.refused(), None, errors)


def report(runs: list[Run], latency_ms: float, faults: float, windows: int) -> None:
    print(f"\nMarketo push benchmark: {windows} x 20 s windows, server latency {latency_ms:g} ms/call, "
          f"faults {faults:.0%}; ceiling {CEILING_RECORDS_PER_SECOND:,.0f} records/s")
    header = f"{'client':44} {'records/s':>10} {'of ceiling':>10} {'calls/1,000':>12} {'606':>5} {'615':>5} {'retries':>8} {'lost':>6}"
    print(header)
    print("-" * len(header))
    for run in runs:
        print(f"{run.name:44} {run.records_per_second:>10,.0f} {run.records_per_second / CEILING_RECORDS_PER_SECOND:>10.1%} "
              f"{run.calls_per_1000:>12.2f} {run.refused.get('606', 0):>5} {run.refused.get('615', 0):>5} "
              f"{'n/a' if run.retries is None else run.retries:>8} {run.errors:>6}")
    if len(runs) == 2 and runs[1].records_per_second:
        print(f"ratio ECBridge / marketorestpython: {runs[0].records_per_second / runs[1].records_per_second:.2f}x records/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=3, help="whole 20 s windows measured per client")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="server time added to every call")
    parser.add_argument("--faults", type=float, default=0.0, help="share of calls answering a transient fault")
    parser.add_argument("--only", choices=["ecbridge", "marketorestpython"], help="run one client")
    args = parser.parse_args(argv)
    logging.getLogger("python_tasks.marketo").setLevel(logging.ERROR)  # retries are counted, not logged
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="bench-marketo-") as tmp:
        root = Path(tmp)
        plans: list[tuple[str, Callable[[LocalMarketoForBench, int], Run]]] = [
            ("ecbridge", run_ecbridge), ("marketorestpython", run_marketorestpython)
        ]
        for name, runner in plans:
            if args.only and args.only != name:
                continue
            local = LocalMarketoForBench(root, name, args.latency_ms / 1000, args.faults)
            try:
                print(f"running {name} for {args.windows * WINDOW_SECONDS:.0f} s ...", flush=True)
                runs.append(runner(local, args.windows))
            finally:
                local.stop()
    report(runs, args.latency_ms, args.faults, args.windows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
