"""Speed and memory of one deterministic China run, 2010–2060 (not part of the test suite).

Two ways to run it:

* pytest-benchmark: ``.venv/bin/python -m pytest benchmarks/bench_outlook.py --benchmark-only -p no:cacheprovider``
* script: ``.venv/bin/python benchmarks/bench_outlook.py [--runs 30] [--json]`` prints the median of
  warm runs of ``nevsim.run(nevsim.load_scenario(...))`` (target ≤ 100 ms, issue 4), the stage
  times, the peak traced memory of one run and the import + first-run time in a fresh process.

Configurations:

* ``full``: ``run_frames("china-current-policies")`` — prepare (data, policy standards of every
  year), calibrate (fit pass over 2010–2025), run (2010–2060), collect (long tables);
* ``api``: ``nevsim.run(nevsim.load_scenario(...))`` — what a user calls (adds ``Results``);
* ``loop``: the yearly loop alone on prepared inputs and a fitted calibration;
* ``memory``: peak traced memory of one full run (``tracemalloc``), in ``extra_info``;
* ``fresh``: import + first run in a new interpreter (parses the bundled data and policy
  tables), in ``extra_info``.

The first run in a process also parses the bundled data and policy tables; the benchmarks
warm up once so the figures are "after import".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import tracemalloc

import pytest

import nevsim
from nevsim.scenario import load_scenario
from nevsim.simulate import calibrate, prepare, run_frames, run_years

SCENARIO = "china-current-policies"

_FRESH = (
    "import time; t0 = time.perf_counter(); import nevsim; t1 = time.perf_counter(); "
    f"nevsim.run(nevsim.load_scenario({SCENARIO!r})); t2 = time.perf_counter(); "
    "print(t1 - t0, t2 - t1)"
)


def fresh_process_s() -> tuple[float, float]:
    """(import seconds, first-run seconds) measured in a new interpreter."""
    out = subprocess.run([sys.executable, "-c", _FRESH], capture_output=True, text=True, check=True)
    imp, first = (float(x) for x in out.stdout.split())
    return imp, first


def peak_memory_bytes() -> int:
    """Peak memory traced by ``tracemalloc`` during one full run (after warm-up)."""
    tracemalloc.start()
    try:
        nevsim.run(load_scenario(SCENARIO))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture(scope="module")
def warm() -> None:
    run_frames(SCENARIO)


def test_full_run(benchmark, warm) -> None:
    series, _, meta = benchmark(run_frames, SCENARIO)
    benchmark.extra_info["stages_s"] = meta["timing_s"]
    assert series["year"].max() == 2060


def test_api_run(benchmark, warm) -> None:
    res = benchmark(lambda: nevsim.run(nevsim.load_scenario(SCENARIO)))
    assert res.series["year"].max() == 2060


def test_loop_only(benchmark, warm) -> None:
    scenario = load_scenario(SCENARIO)
    inputs = prepare(scenario)
    cal, _ = calibrate(scenario, None, inputs)
    trace, _ = benchmark(run_years, inputs, cal)
    assert len(trace.years) == 51


def test_peak_memory(benchmark, warm) -> None:
    peak = benchmark.pedantic(peak_memory_bytes, rounds=1, iterations=1)
    benchmark.extra_info["peak_traced_mib"] = peak / 2**20
    print(f"peak traced memory: {peak / 2**20:.1f} MiB")


def test_first_run_fresh_process(benchmark) -> None:
    imp, first = benchmark.pedantic(fresh_process_s, rounds=1, iterations=1)
    benchmark.extra_info["import_s"] = imp
    benchmark.extra_info["first_run_s"] = first
    print(f"fresh process: import {imp:.2f} s, first run {first:.2f} s")


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Script mode: print (or return) the figures of the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="warm runs to take the median of (default 30)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    imp, first = fresh_process_s()
    nevsim.run(load_scenario(SCENARIO))  # warm-up
    api, stages = [], []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        nevsim.run(nevsim.load_scenario(SCENARIO))
        api.append(time.perf_counter() - t0)
        stages.append(run_frames(SCENARIO)[2]["timing_s"])
    figures = {
        "api_median_ms": 1e3 * statistics.median(api),
        "api_min_ms": 1e3 * min(api),
        "api_max_ms": 1e3 * max(api),
        **{f"{k}_median_ms": 1e3 * statistics.median(s[k] for s in stages) for k in stages[0]},
        "peak_traced_mib": peak_memory_bytes() / 2**20,
        "fresh_import_s": imp,
        "fresh_first_run_s": first,
        "runs": args.runs,
    }
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:24s} {v:10.2f}" if isinstance(v, float) else f"{k:24s} {v:>10}")
    return figures


if __name__ == "__main__":
    main()
