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

The warm-up is only a speed-up: any error in it is swallowed (an interrupt too, should one reach
it: the server starts with Ctrl-C blocked, :func:`nevsim._forkserver.start_workers`), and a worker then computes what
it needs itself (and reports a real error with its chunk). It starts no thread of its own (a
one-draw run uses one block of draws). The imports leave the native threads of numpy's and
scipy's OpenBLAS and of pyarrow's jemalloc idle in the server; all three register fork handlers,
and the server had the same ones before whenever it preloaded a ``__main__`` that imports
nevsim (the CLI, a script).

Importing this module runs the warm-up (≈ 0.5 s): it is meant for the fork server's preload
list (:data:`nevsim._forkserver.WORKER_PRELOAD`) only.

It also makes the server quiet about one thing (:func:`quiet_late_start`): a worker the pool
asked for just before Ctrl-C, forked after the sweep process had already exited, fails to
rebuild the pool's semaphores (the sweep removed them on its way out) and the standard library
printed that traceback under the sweep's "Interrupted" line (1 of 5 hand-made Ctrl-Cs).
"""

from __future__ import annotations

import importlib
import sys
import time
from types import TracebackType

from nevsim._forkserver import restore_sigint

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
restore_sigint()  # (the server started with SIGINT blocked: nevsim._forkserver.start_workers)


def _late_start(exc: BaseException, tb: TracebackType | None) -> bool:
    """Whether ``exc`` is a worker failing to start because the pool that asked for it is gone:
    its semaphore no longer exists (FileNotFoundError in ``SemLock.__setstate__``), or nothing to
    read from the parent (EOFError while ``spawn._main`` unpickles the process)."""
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame.f_code.co_filename.replace("\\", "/"), tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    if not frames:
        return False
    if isinstance(exc, FileNotFoundError):
        return frames[-1][0].endswith("multiprocessing/synchronize.py") and frames[-1][1] == "__setstate__"
    if isinstance(exc, EOFError):
        return any(f.endswith("multiprocessing/spawn.py") and name == "_main" for f, name in frames)
    return False


def quiet_late_start(hook: object = None) -> object:
    """A ``sys.excepthook`` that says nothing about :func:`_late_start` failures and hands every
    other exception to ``hook`` (default: the hook in place). The fork server calls the hook for
    an exception of a child it could not start; installed in the server at import."""
    previous = hook if hook is not None else sys.excepthook

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if _late_start(exc, tb):
            return
        previous(kind, exc, tb)  # type: ignore[operator]

    excepthook.nevsim_quiet_late_start = True  # type: ignore[attr-defined]
    return excepthook


if not getattr(sys.excepthook, "nevsim_quiet_late_start", False):
    sys.excepthook = quiet_late_start()  # type: ignore[assignment]
