"""Sweep speed-up with 1 vs 2 local workers, and where the time goes (script mode; not a test).

``.venv/bin/python benchmarks/bench_sweep.py [--points 4] [--draws 1000] [--chunk 250] [--reps 3] [--json]``

The sweep is ``points`` grid points (credit pass-through; 4: 0.5/0.7/0.9/1.0) × ``draws`` draws of
China 2010–2060 (battery learning rate sampled), cut into chunks of ``chunk`` draws, run
three ways: ``model`` (the chunks computed on the pool, their tables dropped in the worker,
nothing stored: how the model alone scales), ``series`` (``makers = false``, stored) and
``makers`` (with the per-draw makers table, stored). Every run is a
**fresh process** with a new store file; the figures are medians over ``reps`` runs:

* ``wall_s``: :func:`nevsim.sweep.run_sweep` from call to return (pool start, the workers'
  first-chunk warm-up, computing, storing);
* ``compute_s``: the sum of the chunks' worker seconds (``sweep_chunks.seconds``): the
  model's own work, which the workers share;
* ``parent_cpu_s``: CPU seconds of the calling process (all its threads: receiving the
  chunks and DuckDB's inserts), which nothing can share, as DuckDB has one writer;
* ``speedup`` = wall(1 worker) / wall(2 workers).

``--no-scenario-uncertainty``: the points sample only the sweep's ``[distributions]`` (the
battery learning rate), not also the scenario's own ``[uncertainty]`` (a sweep's meaning before
2026-11-30; ``scenario_uncertainty = false``), for figures comparable with the earlier ones.

``--precision double``: the draws stored in double precision (what every sweep stored before the
sweep file's ``precision``, whose default is single).

``--warm``: each fresh process first runs a one-chunk sweep (another seed, not measured), so the
measured sweep finds the workers' fork server already started and warm, as a second sweep from
a notebook or script does (:mod:`nevsim._worker`). Without it the measured sweep starts the
server itself (the CLI's case: ``nevsim sweep`` starts it before reading the file).

On a machine with C cores the calling process and the workers share the same cores, so
``wall(2) ≥ max(parent, (compute + parent) / C)`` (the store has one writer) while
``wall(1) ≈ max(compute, parent)`` (the parent writes chunk k while the worker computes chunk
k + 1): with the 1-worker figures, the speed-up is at most
``max(compute, parent) / max(parent, (compute + parent) / 2)`` on 2 cores, printed as
``bound`` (exact for a one-thread writer; a writer on two DuckDB threads can beat it a little).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

_SWEEP = """
name = "bench"
scenarios = ["china-current-policies"]
draws = {draws}
seed = 1
chunk_draws = {chunk}
makers = {makers}
precision = "{precision}"
scenario_uncertainty = {scenario_uncertainty}
[grid]
"policy.dual_credit.pass_through" = {points}
[distributions]
"technology.battery_learning_rate" = {{dist = "normal", mean = 0.18, sd = 0.02, min = 0.1, max = 0.3}}
"""

_CASE = r"""
import json, resource, sys, time
from nevsim.sweep import load_sweep_spec, run_sweep, sweep_chunks

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def compute_only(task):  # the model's work alone: the chunk's tables are dropped in the worker
    from nevsim.sweep import _work
    return _work(task)[-1]

if __name__ == "__main__":
    spec = load_sweep_spec(sys.argv[1])
    if sys.argv[4] == "warm":  # a first, unmeasured sweep starts the workers' fork server (nevsim._worker)
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            run_sweep(spec.model_copy(update={"seed": spec.seed + 1, "draws": 1, "distributions": {},
                                              "grid": {k: v[:1] for k, v in spec.grid.items()}}),
                      tmp + "/warm.duckdb", workers=int(sys.argv[3]))
    if sys.argv[2] == "-":  # no store: how the model alone scales with workers
        from concurrent.futures import wait
        from nevsim.sweep import _task, chunks, executor
        t0 = time.perf_counter()
        with executor(workers=int(sys.argv[3])) as ex:
            futures = [ex.submit(compute_only, _task(spec, c)) for c in chunks(spec)]
            wait(futures)
        print(json.dumps({"wall_s": time.perf_counter() - t0, "parent_cpu_s": 0.0,
                          "compute_s": sum(f.result() for f in futures), "chunks": len(futures)}))
        sys.exit(0)
    c0, t0 = cpu(), time.perf_counter()
    run_sweep(spec, sys.argv[2], workers=int(sys.argv[3]))
    wall, parent = time.perf_counter() - t0, cpu() - c0
    rows = sweep_chunks(sys.argv[2], spec.sweep_id)
    print(json.dumps({"wall_s": wall, "parent_cpu_s": parent, "compute_s": float(rows["seconds"].sum()),
                      "chunks": len(rows)}))
"""


def _points(n: int) -> list[float]:
    """``n`` credit pass-through values: 0.5, 0.7, 0.9, 1.0 for 4 points, else evenly from 0.3 to 1.0."""
    return [0.5, 0.7, 0.9, 1.0] if n == 4 else [round(float(v), 4) for v in np.linspace(0.3, 1.0, n)]


def one_run(folder: Path, draws: int, chunk: int, makers: bool, workers: int,
            model_only: bool = False, points: int = 4, warm: bool = False,
            scenario_uncertainty: bool = True, precision: str = "single") -> dict[str, float]:
    """One sweep in a fresh interpreter, into a new store (``model_only``: chunks computed, nothing stored)."""
    spec = folder / f"bench-{'m' if makers else 's'}.toml"
    spec.write_text(_SWEEP.format(draws=draws, chunk=chunk, makers="true" if makers else "false",
                                  scenario_uncertainty="true" if scenario_uncertainty else "false",
                                  points=_points(points), precision=precision), encoding="utf-8")
    script = folder / "case.py"
    script.write_text(_CASE, encoding="utf-8")
    store = folder / f"w{workers}-{'m' if makers else 's'}.duckdb"
    store.unlink(missing_ok=True)
    proc = subprocess.run([sys.executable, str(script), str(spec), "-" if model_only else str(store), str(workers), "warm" if warm else "cold"],
                          capture_output=True, text=True, check=True)
    store.unlink(missing_ok=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(draws: int = 1000, chunk: int = 250, reps: int = 3, points: int = 4,
            warm: bool = False, scenario_uncertainty: bool = True,
            precision: str = "single") -> dict[str, dict[str, float]]:
    """Medians over ``reps`` of every case (model only / series only / with makers × 1 / 2 workers)."""
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, makers in (("model", False), ("series", False), ("makers", True)):
            runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
            for _ in range(reps):  # alternate 1 and 2 workers so a load change hits both
                for workers in (1, 2):
                    runs[workers].append(one_run(Path(tmp), draws, chunk, makers, workers, name == "model", points,
                                                       warm, scenario_uncertainty, precision))
            case: dict[str, float] = {"makers": makers, "points": points, "draws": draws, "chunk_draws": chunk,
                                      "reps": reps, "warm_server": warm, "scenario_uncertainty": scenario_uncertainty,
                                      "precision": precision}  # type: ignore[dict-item]
            for workers, rs in runs.items():
                for key in ("wall_s", "parent_cpu_s", "compute_s"):
                    case[f"w{workers}_{key}"] = statistics.median(r[key] for r in rs)
                case[f"w{workers}_wall_all_s"] = [round(r["wall_s"], 2) for r in rs]  # type: ignore[assignment]
            case["speedup"] = case["w1_wall_s"] / case["w2_wall_s"]
            compute, parent = case["w1_compute_s"], case["w1_parent_cpu_s"]
            case["bound"] = max(compute, parent) / max(parent, (compute + parent) / 2)
            out[name] = case
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws per grid point")
    parser.add_argument("--points", type=int, default=4, help="grid points (credit pass-through values)")
    parser.add_argument("--chunk", type=int, default=250, help="draws per chunk")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    parser.add_argument("--warm", action="store_true",
                        help="measure a second sweep of the process (the workers' fork server already warm)")
    parser.add_argument("--precision", choices=["single", "double"], default="single",
                        help="how the sweep stores its draws (the sweep file's precision; default single)")
    parser.add_argument("--no-scenario-uncertainty", dest="scenario_uncertainty", action="store_false",
                        help="sample only the sweep's [distributions] (a sweep's meaning before 2026-11-30)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    report = measure(args.draws, args.chunk, args.reps, args.points, args.warm, args.scenario_uncertainty,
                     args.precision)
    report["machine"] = {"cpus": os.cpu_count(), "load_avg_1min_after": os.getloadavg()[0]}  # type: ignore[assignment]
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"sweep: {args.points} points × {args.draws:,} draws, chunks of {args.chunk}, medians of {args.reps} runs "
          f"({os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} after{'; fork server warm' if args.warm else ''}"
          f"{'' if args.scenario_uncertainty else '; sweep distributions only'}; {args.precision} precision)")
    print(f"{'table':>7} {'wall 1w':>8} {'wall 2w':>8} {'speed-up':>9} {'compute':>8} {'parent cpu':>11} {'bound':>6}")
    for key in ("model", "series", "makers"):
        c = report[key]
        print(f"{key:>7} {c['w1_wall_s']:>8.2f} {c['w2_wall_s']:>8.2f} {c['speedup']:>8.2f}× "
              f"{c['w1_compute_s']:>8.2f} {c['w1_parent_cpu_s']:>11.2f} {c['bound']:>5.2f}×")


if __name__ == "__main__":
    main()
