"""Speed of one deterministic run per region, 2010–2060 (not part of the test suite).

* pytest-benchmark: ``.venv/bin/python -m pytest benchmarks/bench_regions.py --benchmark-only -p no:cacheprovider``
* script: ``.venv/bin/python benchmarks/bench_regions.py [--runs 10]`` prints the median of warm runs
  of ``run_frames(<region default scenario>)`` per region, the region clearing's sweeps and
  iterations (``meta["solver"]["credit_market"]["region"]``) and the peak traced memory.

The US run clears two standards each year (ACC II in the adopting states and the EPA GHG
standard, Gauss–Seidel over both); the EU run one (CO2 with the €95 premium as cap); China's
path is unchanged (``bench_outlook.py``).
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import pytest

from nevsim.regions import DEFAULT_SCENARIOS
from nevsim.simulate import run_frames


@pytest.fixture(scope="module", params=list(DEFAULT_SCENARIOS))
def scenario(request) -> str:
    name = DEFAULT_SCENARIOS[request.param]
    run_frames(name)  # warm-up: parse the data and policy tables
    return name


def test_region_run(benchmark, scenario: str) -> None:
    series, _, meta = benchmark(run_frames, scenario)
    benchmark.extra_info["solver"] = (meta["solver"]["credit_market"].get("region") or {}).get("max_sweeps")
    assert series["year"].max() == 2060


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    for code, name in DEFAULT_SCENARIOS.items():
        run_frames(name)
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            _, _, meta = run_frames(name)
            times.append(time.perf_counter() - t0)
        tracemalloc.start()
        run_frames(name)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        reg = meta["solver"]["credit_market"].get("region") or {}
        print(f"{code} {name}: median {statistics.median(times) * 1e3:.0f} ms over {args.runs} runs; "
              f"peak traced memory {peak / 2**20:.1f} MiB; clearing: years {reg.get('years_solved', '–')}, "
              f"max sweeps {reg.get('max_sweeps', '–')}, max iterations {reg.get('max_iterations', '–')}, "
              f"converged {reg.get('all_converged', '–')}")


if __name__ == "__main__":
    main()
