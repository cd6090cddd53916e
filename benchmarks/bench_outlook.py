"""Speed and memory of one deterministic China run, 2010–2060 (not part of the test suite).

Run with ``.venv/bin/python -m pytest benchmarks/bench_outlook.py --benchmark-only -p no:cacheprovider``.
Configurations:

* ``full``: ``run_frames("china-current-policies")`` — prepare (data, policy standards of every
  year), calibrate (fit pass over 2010–2025), run (2010–2060), collect (long tables);
* ``loop``: the yearly loop alone on prepared inputs and a fitted calibration;
* ``memory``: peak traced memory of one full run (``tracemalloc``), in ``extra_info``.

The first run in a process also parses the bundled data and policy tables; the benchmark
warms up once so the figures are "after import".
"""

from __future__ import annotations

import tracemalloc

import pytest

from nevsim.scenario import load_scenario
from nevsim.simulate import calibrate, prepare, run_frames, run_years

SCENARIO = "china-current-policies"


@pytest.fixture(scope="module")
def warm() -> None:
    run_frames(SCENARIO)


def test_full_run(benchmark, warm) -> None:
    series, _, meta = benchmark(run_frames, SCENARIO)
    benchmark.extra_info["stages_s"] = meta["timing_s"]
    assert series["year"].max() == 2060


def test_loop_only(benchmark, warm) -> None:
    scenario = load_scenario(SCENARIO)
    inputs = prepare(scenario)
    cal, _ = calibrate(scenario, None, inputs)
    trace, _ = benchmark(run_years, inputs, cal)
    assert len(trace.years) == 51


def test_peak_memory(benchmark, warm) -> None:
    def once() -> int:
        tracemalloc.start()
        run_frames(SCENARIO)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    peak = benchmark.pedantic(once, rounds=1, iterations=1)
    benchmark.extra_info["peak_traced_mib"] = peak / 2**20
    print(f"peak traced memory: {peak / 2**20:.1f} MiB")
