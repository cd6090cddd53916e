"""Loaded by the fork server of a sweep's local worker processes, before it forks any worker.

A sweep's local pool starts its workers with multiprocessing's ``forkserver`` method
(:func:`nevsim.sweep.executor`): one server process, started once per calling process, forks
every worker. Without this module each worker imported the simulation on its own and filled
its caches on its first chunk (bundled data, the China history, the pooled κ panels of the
three regions, the credit standards): a first chunk of 1,000 draws took 1.0–1.2 s instead of
0.5 (benchmarks/bench_sweep.py; docs/uncertainty.md, "A warm fork server"). Importing this
module in the server runs one deterministic draw of the default China scenario, so every
worker forked afterwards starts with those imports and caches (copy-on-write pages of the
server). The server lives as long as the calling process, so a second sweep from the same
process (a notebook, a script with several sweeps) starts warm workers at once.

The warm-up is only a speed-up: any error in it is swallowed (an interrupt too: Ctrl-C reaches
the server while it is still loading, before it ignores SIGINT), and a worker then computes what
it needs itself (and reports a real error with its chunk). It starts no thread of its own (a
one-draw run uses one block of draws). The imports leave the native threads of numpy's and
scipy's OpenBLAS and of pyarrow's jemalloc idle in the server; all three register fork handlers,
and the server had the same ones before whenever it preloaded a ``__main__`` that imports
nevsim (the CLI, a script).

Importing this module runs the warm-up (≈ 0.5 s): it is meant for the fork server's preload
list (:data:`nevsim._forkserver.WORKER_PRELOAD`) only.
"""

from __future__ import annotations

import importlib
import time

#: Seconds the warm-up took in this process (None: it failed and was skipped).
WARM_SECONDS: float | None = None


def warm() -> float | None:
    """Import the simulation and fill its per-process caches with one draw of China's default scenario."""
    t0 = time.perf_counter()
    try:
        for module in ("nevsim.sweep", "nevsim.store"):  # (the workers' task code and encoder, pyarrow)
            importlib.import_module(module)
        from nevsim.regions import default_scenario
        from nevsim.scenario import load_scenario
        from nevsim.simulate import run_cells

        run_cells(load_scenario(default_scenario("CN")), {}, makers=True)
    except (Exception, KeyboardInterrupt):  # an optional speed-up: the workers redo (and report) what fails
        return None
    return time.perf_counter() - t0


WARM_SECONDS = warm()
