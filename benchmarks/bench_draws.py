"""Speed and memory of Monte Carlo runs: China 2010–2060, 1 vs 1,000 vs 10,000 draws (not a test).

Two ways to run it:

* script: ``.venv/bin/python benchmarks/bench_draws.py [--draws 1000,10000] [--chunks 250,1000,2500]
  [--sweep] [--json]`` — every case runs in a **fresh process** (so peak memory is that case's
  own: ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after a warm-up deterministic run, and the
  warm-up's own peak is reported as the baseline); prints wall time, the stage times of
  ``run_frames`` (sample, prepare, calibrate, run, collect), the cost per draw relative to one
  draw, and peak memory. ``--sweep`` also times a small sweep on 1 and 2 local worker
  processes (speed-up = t(1 worker) / t(2 workers)).
* pytest-benchmark (``make bench``): ``test_draws_1000`` times ``run_frames(..., draws=1000)``.

Cases:

* ``frames``: ``run_frames("china-current-policies", draws=N, seed=0, chunk_draws=C)`` — sample
  once, then per block of C draws: prepare, calibrate+project (one vectorised pass), collect
  (series and makers tables for every draw, categorical labels);
* ``series``: the same with ``makers=False`` (no per-draw maker table: what quantiles and
  target probabilities need);
* ``one``: the deterministic run (one draw), median of warm runs.

Issue 6 targets: 10,000 draws in ≤ 20 s on 2 cores, peak ≤ 4 GiB, and ≤ 100 × one draw.
``× one`` divides by the one-draw time measured in the same process; ``× med`` by the median
of all cases' one-draw times (steadier on a shared machine).

Measured 2026-11-30 on the 2-core machine while other jobs ran (load average 3.2–3.9), this
commit against the one before the per-draw cost work, alternately, two runs each: one draw
49–52 ms (unchanged); 1,000 draws series only 0.82–0.85 → 0.41–0.59 s; 10,000 draws series
only 7.8–8.7 → 3.8–3.9 s (≈ 155 → ≈ 74–79 × one draw; run stage 7.3–8.0 → 3.5 s, collect
0.1–0.2 s), with the makers table 13.2–13.4 → 9.0–9.6 s (its collect ≈ 4.8 s); peak 0.57 GiB
(series) and 2.3 GiB (makers). Details in docs/model.md ("Monte Carlo").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

SCENARIO = "china-current-policies"

_CASE = r'''
import json, resource, statistics, sys, time
from nevsim.simulate import run_frames
n, chunk, makers, SCENARIO = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
times = []
for _ in range(5):  # warm-up: parse data, policy tables; also the one-draw time
    t = time.perf_counter(); run_frames(SCENARIO); times.append(time.perf_counter() - t)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = {"one_draw_s": statistics.median(times[1:]), "baseline_maxrss_mib": base / 1024}
if n > 1:
    t = time.perf_counter()
    series, mk, meta = run_frames(SCENARIO, draws=n, seed=0, chunk_draws=chunk, makers=makers)
    out.update(wall_s=time.perf_counter() - t, stages_s=meta["timing_s"], rows_series=len(series),
               rows_makers=len(mk))
out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
'''


def case(draws: int, chunk: int, makers: bool = True) -> dict[str, object]:
    """One measurement in a fresh interpreter."""
    proc = subprocess.run([sys.executable, "-c", _CASE, str(draws), str(chunk), "1" if makers else "0", SCENARIO],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(draws=draws, chunk_draws=chunk, makers=makers)
    if draws > 1:
        out["per_draw_vs_one"] = float(out["wall_s"]) / draws / float(out["one_draw_s"])
        out["x_one_draw"] = float(out["wall_s"]) / float(out["one_draw_s"])
    return out


_SWEEP = r'''
name = "bench"
scenarios = ["china-current-policies"]
draws = %d
seed = 1
chunk_draws = %d
makers = %s
[grid]
"policy.dual_credit.pass_through" = [0.5, 0.7, 0.9, 1.0]
[distributions]
"technology.battery_learning_rate" = {dist = "normal", mean = 0.18, sd = 0.02, min = 0.1, max = 0.3}
'''


def sweep_speedup(draws: int = 1000, chunk: int = 250, makers: bool = False) -> dict[str, float]:
    """Wall time of one sweep (4 points × ``draws``) on 1 and on 2 local worker processes.

    ``makers=False`` stores the series of every draw only: with the per-draw makers table the
    store's single writer (≈ 0.02–0.03 µs of CPU a row with store schema 3, ≈ 9,500 rows a
    draw, plus its commits) takes a large share of 2 cores and bounds the speed-up.
    ``benchmarks/bench_sweep.py`` measures this in detail (medians, writer CPU, model alone).
    """
    import tempfile
    from pathlib import Path

    from nevsim.sweep import load_sweep_spec, run_sweep

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        spec_file = Path(tmp) / "bench.toml"
        spec_file.write_text(_SWEEP % (draws, chunk, "true" if makers else "false"), encoding="utf-8")
        spec = load_sweep_spec(spec_file)
        for workers in (1, 2):
            t = time.perf_counter()
            run_sweep(spec, store=Path(tmp) / f"w{workers}.duckdb", workers=workers)
            out[f"workers_{workers}_s"] = time.perf_counter() - t
    out["speedup"] = out["workers_1_s"] / out["workers_2_s"]
    out["chunks"] = 4 * -(-draws // chunk)
    out["makers"] = makers
    return out


def test_draws_1000(benchmark) -> None:  # pytest-benchmark (make bench)
    from nevsim.simulate import run_frames

    run_frames(SCENARIO)
    benchmark.pedantic(lambda: run_frames(SCENARIO, draws=1000, seed=0), rounds=3, iterations=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", default="1000,10000", help="draw counts (comma-separated)")
    parser.add_argument("--chunks", default="1000", help="chunk sizes tried at the largest draw count")
    parser.add_argument("--no-makers", action="store_true", help="also measure without the per-draw makers table")
    parser.add_argument("--sweep", action="store_true", help="also measure a sweep on 1 vs 2 workers")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    draws = [int(x) for x in args.draws.split(",")]
    if min(draws) < 2:  # (one draw is the baseline every case is compared with; it is always measured)
        parser.error(f"--draws: counts must be ≥ 2 (one draw is always measured as the baseline), got {args.draws}")
    chunks = [int(x) for x in args.chunks.split(",")]
    results = [case(1, 1)]
    for n in draws:
        for c in (chunks if n == max(draws) else [min(chunks[0], n)]):
            results.append(case(n, c))
            if args.no_makers:
                results.append(case(n, c, makers=False))
    report: dict[str, object] = {"cases": results}
    if args.sweep:
        report["sweep"] = sweep_speedup(makers=False)
        report["sweep_makers"] = sweep_speedup(makers=True)
    if args.json:
        print(json.dumps(report, indent=1))
        return
    one = statistics.median(float(r["one_draw_s"]) for r in results)
    print(f"one draw (deterministic run, warm): {one * 1e3:.0f} ms")
    print(f"{'draws':>7} {'chunk':>6} {'makers':>6} {'wall s':>8} {'× one':>7} {'× med':>7} {'per draw':>9} "
          f"{'run s':>7} {'collect s':>9} {'peak MiB':>9}")
    for r in results[1:]:
        st = r["stages_s"]
        print(f"{r['draws']:>7} {r['chunk_draws']:>6} {r['makers']!s:>6} {r['wall_s']:>8.2f} {r['x_one_draw']:>7.1f} "
              f"{float(r['wall_s']) / one:>7.1f} {r['per_draw_vs_one']:>9.3f} "
              f"{st['run'] + st['prepare'] + st['calibrate']:>7.2f} {st['collect']:>9.2f} {r['maxrss_mib']:>9.0f}")
    if args.sweep:
        for key in ("sweep", "sweep_makers"):
            sw = report[key]
            print(f"sweep, 4 points × 1,000 draws ({sw['chunks']} chunks, makers stored: {sw['makers']}): "
                  f"1 worker {sw['workers_1_s']:.2f} s, 2 workers {sw['workers_2_s']:.2f} s, "
                  f"speed-up {sw['speedup']:.2f}×")


if __name__ == "__main__":
    main()
