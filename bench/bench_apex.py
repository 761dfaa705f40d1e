"""Benchmark of the Apex runtime: statements per second for a loop-heavy program, the time to load
(parse + compile) the project's generated classes and triggers, one 200-event call to the EC endpoint
(time, SOQL and DML), and the project's whole Apex test run.

    .venv/bin/python bench/bench_apex.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from localcloud.salesforce.apex import ApexCompileError, ApexProgram  # noqa: E402

LOOP_PROGRAM = """
public class Bench {
    public static Integer run(Integer n) {
        Integer total = 0;
        List<Integer> values = new List<Integer>();
        Map<String, Integer> counts = new Map<String, Integer>();
        for (Integer i = 0; i < n; i++) {
            Integer v = Math.mod(i * 7, 13);
            if (v > 6) {
                total += v;
            } else {
                total -= 1;
            }
            values.add(v);
            String key = 'k' + v;
            Integer c = counts.get(key);
            counts.put(key, c == null ? 1 : c + 1);
        }
        return total + values.size() + counts.size();
    }
}
"""
# statements executed per iteration of the loop body above: v=, if, total+=/-=, add, key=, c=, put,
# plus the loop condition/update counted as one
STATEMENTS_PER_ITERATION = 8


def bench_loop(n: int = 100_000, repeats: int = 3) -> float:
    prog = ApexProgram({"Bench.cls": LOOP_PROGRAM})
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = prog.call_static("Bench", "run", [n])
        times.append(time.perf_counter() - t)
        assert res.success, res
    best = min(times)
    return n * STATEMENTS_PER_ITERATION / best


def bench_load(repeats: int = 5) -> tuple[int, float]:
    force_app = ROOT / "force-app" / "main" / "default"
    sources = {f.name: f.read_text() for pat in ("classes/*.cls", "triggers/*.trigger") for f in force_app.glob(pat)}
    lines = sum(s.count("\n") for s in sources.values())
    while True:
        try:
            ApexProgram(sources)
            break
        except ApexCompileError as e:  # report; the benchmark still measures the others
            print(f"note: {e} does not compile; timing without {e.file}")
            sources = {k: v for k, v in sources.items() if k != e.file}
    lines = sum(s.count("\n") for s in sources.values())
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        ApexProgram(sources)
        times.append(time.perf_counter() - t)
    return lines, statistics.median(times)


def bench_endpoint() -> None:
    """One 200-event call (members and orders mixed and shuffled) to the generated EC endpoint."""
    import json
    import random
    import tempfile

    from localcloud.salesforce.apex.orgruntime import ApexRuntime
    from tests.apex.orgfixture import force_app_sources, make_store
    from tests.apex.test_force_app import _member, _order, loadable_sources

    if not force_app_sources():
        print("endpoint: force-app has no Apex yet")
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp))
        rt = ApexRuntime(store, loadable_sources())
        events = [_member(i) for i in range(60)] + [_order(i, i % 60) for i in range(140)]
        random.Random(1).shuffle(events)
        body = json.dumps({"events": events}).encode()
        t = time.perf_counter()
        res = rt.rest("POST", "/ecbridge/v1/events", body, {"Content-Type": "application/json"})
        secs = time.perf_counter() - t
        store.close()
    print(f"EC endpoint, 200 events (60 members, 140 orders, shuffled): HTTP {res.status} in {secs * 1000:.0f} ms, "
          f"{res.soql_queries} SOQL queries, {res.dml_statements} DML statements")


def bench_test_run() -> None:
    """The project's whole Apex test run, as run_tests and a RunLocalTests deploy run it."""
    import tempfile

    from localcloud.salesforce.apex.orgruntime import ApexRuntime
    from tests.apex.orgfixture import force_app_sources, make_store
    from tests.apex.test_force_app import loadable_sources, register_force_app_permission_sets

    if not force_app_sources():
        print("Apex tests: force-app has no Apex yet")
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = make_store(Path(tmp))
        register_force_app_permission_sets(store)  # USER_MODE checks them, as in a deployed org
        rt = ApexRuntime(store, loadable_sources())
        t = time.perf_counter()
        results = rt.run_tests()
        secs = time.perf_counter() - t
        store.close()
    passed = sum(r.outcome == "Pass" for r in results)
    print(f"the project's Apex tests: {len(results)} methods ({passed} passed) in {secs:.2f} s "
          f"({secs / max(len(results), 1) * 1000:.0f} ms a method)")


def main() -> None:
    sps = bench_loop()
    print(f"loop-heavy program: {sps:,.0f} Apex statements/second")
    lines, secs = bench_load()
    print(f"load project classes and triggers ({lines} lines): {secs * 1000:.0f} ms "
          f"({lines / secs:,.0f} lines/second)")
    bench_endpoint()
    bench_test_run()


if __name__ == "__main__":
    main()
