"""Ctrl-C during ``nevsim sweep --workers 2``: what it prints, how fast it stops, whether the resume is exact.

``.venv/bin/python benchmarks/bench_sweep_interrupt.py [--tries 20] [--draws 100] [--src A --src B] [--json]``

Each try starts ``nevsim sweep learning-vs-pass-through --draws D --workers 2`` in a new
process group with a new store, sends SIGINT to the whole group (what a terminal's Ctrl-C
does) ``t`` seconds after the start, and records:

* ``rc``: the exit code (130 expected; 0 if the sweep had already finished);
* ``clean``: stderr is exactly the one "Interrupted — …" line (no traceback, nothing else);
* ``stop_s``: seconds from the SIGINT to the sweep process's exit; ``group_s``: to the last
  process of the group (workers, fork server) gone;
* ``exact``: the same command run again exits 0 and the store then equals a sweep run without
  interruption, row for row (``nevsim.sweep.load_sweep``).

The signal times are spread evenly from ``--start`` (0.1 s) to ``--span`` seconds (default: 95 %
of the uninterrupted sweep's time, measured first), so they include the CLI's start-up and a
sweep's last chunks (``--start 3 --span 5`` only those). ``--src DIR`` (repeatable) runs the same tries with ``PYTHONPATH=DIR`` (e.g. a
``git archive`` of another commit's ``src``), interleaved try by try, to compare two versions
under the same load. Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

NEVSIM = str(Path(sys.executable).with_name("nevsim"))
INTERRUPTED = ("Interrupted — run the same command again to resume; nothing is lost "
               "(the chunks finished so far are stored).")


def _env(src: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src
    return env


def _command(draws: int, store: Path) -> list[str]:
    return [NEVSIM, "sweep", "learning-vs-pass-through", "--draws", str(draws), "--workers", "2",
            "--store", str(store), "--json"]


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies, which the container's init may reap
    late, do not count)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[-1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _load(store: Path, src: str | None) -> pd.DataFrame:
    code = ("import sys; from nevsim.sweep import list_sweeps, load_sweep; s = sys.argv[1]; "
            "load_sweep(s, list_sweeps(s)['sweep_id'][0]).to_pickle(sys.argv[2])")
    out = store.with_suffix(".pkl")
    subprocess.run([sys.executable, "-c", code, str(store), str(out)], check=True, env=_env(src))
    return pd.read_pickle(out)


def one_try(draws: int, at_s: float, folder: Path, src: str | None, reference: pd.DataFrame) -> dict[str, object]:
    store = folder / "s.duckdb"
    proc = subprocess.Popen(_command(draws, store), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=_env(src), start_new_session=True)
    time.sleep(at_s)
    sent = time.perf_counter()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    stop_s = time.perf_counter() - sent
    while _group_alive(proc.pid) and time.perf_counter() - sent < 30:
        time.sleep(0.005)
    group_s = time.perf_counter() - sent
    left = _group_alive(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    again = subprocess.run(_command(draws, store), capture_output=True, text=True, env=_env(src), timeout=300)
    exact = again.returncode == 0 and _load(store, src).equals(reference)
    return {"at_s": round(at_s, 2), "rc": proc.returncode, "clean": err.strip() == INTERRUPTED,
            "traceback": "Traceback" in err, "stop_s": round(stop_s, 3), "group_s": round(group_s, 3),
            "left_behind": left, "exact": exact, "stderr": err[-4000:] if err.strip() != INTERRUPTED else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--draws", type=int, default=100, help="draws per point (chunks of 100: 18 × draws/100)")
    parser.add_argument("--span", type=float, default=None, help="spread the SIGINTs up to this many seconds")
    parser.add_argument("--start", type=float, default=0.1, help="… from this many seconds (e.g. a sweep's end)")
    parser.add_argument("--src", action="append", default=None, help="PYTHONPATH of a version to compare")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    sources: list[str | None] = list(args.src) if args.src else [None]
    results: dict[str, list[dict[str, object]]] = {str(s): [] for s in sources}
    with tempfile.TemporaryDirectory() as tmp:
        refs, spans = {}, []
        for src in sources:
            store = Path(tmp) / f"ref-{len(refs)}.duckdb"
            t0 = time.perf_counter()
            subprocess.run(_command(args.draws, store), check=True, capture_output=True, env=_env(src))
            spans.append(time.perf_counter() - t0)
            refs[str(src)] = _load(store, src)
        span = args.span or 0.95 * min(spans)
        for i in range(args.tries):
            at_s = args.start + (span - args.start) * i / max(args.tries - 1, 1)
            for src in sources:
                folder = Path(tmp) / f"try-{i}-{sources.index(src)}"
                folder.mkdir()
                row = one_try(args.draws, at_s, folder, src, refs[str(src)])
                results[str(src)].append(row)
                if not args.json:
                    print(f"{src or 'this tree'}: {row}", flush=True)
    summary = {}
    for src, rows in results.items():
        interrupted = [r for r in rows if r["rc"] == 130]
        summary[src] = {
            "tries": len(rows), "exit_130": len(interrupted), "finished_first": sum(r["rc"] == 0 for r in rows),
            "clean": sum(bool(r["clean"]) for r in interrupted), "tracebacks": sum(bool(r["traceback"]) for r in rows),
            "exact_resume": sum(bool(r["exact"]) for r in rows), "left_behind": sum(bool(r["left_behind"]) for r in rows),
            "stop_s_median": statistics.median(float(r["stop_s"]) for r in interrupted) if interrupted else None,
            "stop_s_max": max(float(r["stop_s"]) for r in interrupted) if interrupted else None,
            "group_s_median": statistics.median(float(r["group_s"]) for r in interrupted) if interrupted else None,
        }
    if args.json:
        print(json.dumps({"summary": summary, "tries": results}, indent=1))
    else:
        print(json.dumps(summary, indent=1))
    print(f"load average: {os.getloadavg()}", file=sys.stderr)


if __name__ == "__main__":
    main()
