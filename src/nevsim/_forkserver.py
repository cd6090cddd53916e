"""The fork server that starts a sweep's local worker processes (light: importable before pandas is needed).

:func:`nevsim.sweep.executor` makes its ``ProcessPoolExecutor`` with :func:`worker_context`;
the CLI calls :func:`start_workers` first thing, before it reads the sweep file, so the server's
warm-up (:mod:`nevsim._worker`) runs on the other core while the caller starts.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

#: Module the local workers' fork server imports before forking them: it imports the simulation
#: and fills its caches once (:mod:`nevsim._worker`), so workers start warm.
WORKER_PRELOAD = "nevsim._worker"


def worker_context() -> Any:
    """multiprocessing's ``forkserver`` context, with :data:`WORKER_PRELOAD` in the server's preload list.

    The list is process-wide; modules already in it (by default ``__main__``) are kept. It takes
    effect when the server starts (the first local pool or :func:`start_workers` of the process).
    """
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    preload = list(getattr(forkserver._forkserver, "_preload_modules", None) or ["__main__"])
    if WORKER_PRELOAD not in preload:
        ctx.set_forkserver_preload([*preload, WORKER_PRELOAD])
    return ctx


def start_workers() -> None:
    """Start the local workers' fork server now, so it loads and warms nevsim while the caller goes on.

    Optional: a local pool starts the server itself when it starts its first worker. Calling this
    first (the CLI does, before it reads the sweep file and opens the store) lets the server's
    warm-up (≈ 1–1.5 s in a fresh process: imports and one draw of the default scenario) overlap
    the caller's own start. Returns at once; a server that is already running is kept.

    Does nothing inside a worker, or inside the server while it imports the caller's main
    script. Both import the script again, so a call at a script's top level, outside its ``if
    __name__ == "__main__":`` guard, runs there too: in a worker it raised multiprocessing's
    "bootstrapping phase" error and broke the pool (tried by hand).
    """
    from multiprocessing import forkserver

    if multiprocessing.parent_process() is not None or getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    worker_context()
    forkserver.ensure_running()
