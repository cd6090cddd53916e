"""The fork server that starts a sweep's local worker processes (light: importable before pandas is needed).

:func:`nevsim.sweep.executor` makes its ``ProcessPoolExecutor`` with :func:`worker_context`;
the CLI calls :func:`start_workers` first thing, before it reads the sweep file, so the server's
warm-up (:mod:`nevsim._worker`) runs on the other core while the caller starts.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

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
    with _server_blocks_sigint():
        forkserver.ensure_running()


@contextmanager
def _server_blocks_sigint() -> Iterator[None]:
    """Launch the fork server with SIGINT blocked, so that it holds a Ctrl-C back while it imports.

    A Ctrl-C sent to the terminal's process group reaches the server too. While it imported the
    caller's ``__main__`` (pandas, pyarrow) it died of it with a traceback under the sweep's
    "Interrupted" line (1 of 7 hand-made Ctrl-Cs at 1.3 s). A process started by fork and exec
    keeps the signal mask of the thread that started it, so this (main) thread blocks SIGINT
    while it launches the server; the server unblocks it in :func:`restore_sigint` once it has
    imported :mod:`nevsim._worker` (the last module it preloads) and set the workers' handler,
    which then gets a Ctrl-C held back meanwhile (and, outside a chunk, only notes it).

    In this process a Ctrl-C during the launch (milliseconds) reaches another thread (numpy's,
    pyarrow's) or waits for the unblocking: a handler that only records it is in place meanwhile,
    and the Ctrl-C is raised again, to the handler in place before, once the launch is done. (The
    server used to be launched with SIGINT ignored here, which it inherited: a Ctrl-C during the
    launch was lost and the sweep ran on to its end, 1 of 20 hand-made Ctrl-Cs on a loaded
    machine.) A caller that ignores SIGINT (``nevsim sweep … &`` from a script) keeps ignoring
    it, and so do the server and its workers. Main thread only.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # (its own launch unblocks SIGINT when done: not inside the block below)
    previous = signal.getsignal(signal.SIGINT)
    caller_ignores = previous is signal.SIG_IGN  # (e.g. `nevsim sweep … &` from a script): workers must too
    hold = previous is not None and not caller_ignores  # (None: a handler not set from Python, left alone)
    caught: list[int] = []
    if hold:
        signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    saved = os.environ.get(_CALLER_IGNORES_SIGINT)
    os.environ[_CALLER_IGNORES_SIGINT] = "1" if caller_ignores else "0"  # (read by restore_sigint in the server)
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(_CALLER_IGNORES_SIGINT, None)
        else:
            os.environ[_CALLER_IGNORES_SIGINT] = saved
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # (a Ctrl-C held back reaches the recording handler)
        if hold:
            signal.signal(signal.SIGINT, previous)
    if caught:
        signal.raise_signal(signal.SIGINT)  # (KeyboardInterrupt with Python's handler)


#: Environment variable the fork server is started with: "1" when the caller ignored Ctrl-C.
_CALLER_IGNORES_SIGINT = "NEVSIM_CALLER_IGNORES_SIGINT"


def restore_sigint() -> None:
    """In a fork server launched by :func:`_server_blocks_sigint`, set the workers' SIGINT handler
    (:func:`_worker_sigint`; unless the caller ignores Ctrl-C: then SIGINT stays ignored) and
    unblock SIGINT. Called by :mod:`nevsim._worker`; elsewhere (a process that imports that
    module itself) it does nothing.

    The workers the server forks get the handler it had before it started serving, so every
    local worker stops a running chunk on Ctrl-C and says nothing about one that reaches it
    between chunks.
    """
    if threading.current_thread() is not threading.main_thread() or _CALLER_IGNORES_SIGINT not in os.environ:
        return
    if os.environ[_CALLER_IGNORES_SIGINT] != "1":
        signal.signal(signal.SIGINT, _worker_sigint)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold a Ctrl-C back until the block ends, then raise it (KeyboardInterrupt).

    For imports of native extensions: a KeyboardInterrupt inside ``import duckdb`` aborted the
    whole process ("Critical nanobind error", exit 134) instead of stopping it cleanly.
    """
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield  # (no handler to hold back, or Ctrl-C ignored: it stays ignored)
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


# ---------------------------------------------------------------------------- Ctrl-C in a local worker

#: Id of the process a Ctrl-C reached that no chunk has answered yet (set by :func:`_worker_sigint`; a
#: process id, so that a note the fork server made is not inherited as one by the workers it forks).
_ctrl_c_in: int | None = None
#: The sweep attempt of the last chunk this worker was given (None: none yet).
_last_attempt: Any = None


def _worker_sigint(signum: int, frame: FrameType | None) -> None:
    """SIGINT handler of a sweep's local workers (installed by :func:`restore_sigint`).

    Inside a chunk (a function decorated with :func:`stops_on_ctrl_c` is on the stack) it raises
    KeyboardInterrupt, which the pool sends back to the sweep as the chunk's error. Anywhere
    else — waiting for the next chunk, sending a result back, starting — it only notes the
    Ctrl-C: Python's own handler raised KeyboardInterrupt there too, which no code of the pool
    catches, so the worker died and printed its traceback above the sweep's "Interrupted" line
    (3 of 20 hand-made Ctrl-Cs near a sweep's end). The next chunk of the same sweep attempt
    this worker is given then stops before it starts (see :func:`stops_on_ctrl_c`), so the pool
    runs no chunk after the sweep has stopped.
    """
    global _ctrl_c_in
    _ctrl_c_in = os.getpid()
    while frame is not None:
        if frame.f_code is _CHUNK_CODE:
            raise KeyboardInterrupt
        frame = frame.f_back


def stops_on_ctrl_c(work: Callable[[dict[str, Any]], T]) -> Callable[[dict[str, Any]], T]:
    """Decorate a sweep's unit of work (a function of one task dict): a local worker stops it on Ctrl-C.

    In a worker with :func:`_worker_sigint` as its SIGINT handler, a Ctrl-C during ``work``
    raises KeyboardInterrupt in it, and after a Ctrl-C that reached the worker between chunks
    the next call with the same ``task["attempt"]`` (the same run of a sweep) raises
    KeyboardInterrupt before ``work`` starts; so do later calls of that attempt. A call of
    another attempt (a later sweep on a pool the caller kept) runs: that Ctrl-C was not for it.
    A worker that had been given no chunk yet when the Ctrl-C came stops the first one it is
    given. Without that handler (chunks run in the calling process, or on Dask) nothing changes.
    """

    @functools.wraps(work)
    def chunk(task: dict[str, Any]) -> T:
        return _chunk(work, task)

    return chunk


def _chunk(work: Callable[[dict[str, Any]], T], task: dict[str, Any]) -> T:
    """Run ``work(task)`` unless a Ctrl-C of this attempt came first (see :func:`stops_on_ctrl_c`);
    :func:`_worker_sigint` interrupts what runs below this frame."""
    global _ctrl_c_in, _last_attempt
    attempt = task.get("attempt")
    if _ctrl_c_in == os.getpid() and (_last_attempt is None or attempt == _last_attempt):
        _last_attempt = attempt
        raise KeyboardInterrupt  # (the sweep is stopping: this chunk is not started)
    _ctrl_c_in, _last_attempt = None, attempt
    return work(task)


_CHUNK_CODE = _chunk.__code__


#: Seconds between a worker's checks that the process that made its pool is still alive.
WATCH_SECONDS = 1.0


def _alive(pid: int) -> bool:
    """Whether process ``pid`` is running (not gone, not a zombie waiting to be reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # (another user's process under a reused id: not ours, but we cannot tell)
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # Linux: a dead process not yet reaped is 'Z'
            return stat.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def watch_caller(pid: int) -> None:
    """Pool initializer of local workers: end this worker once process ``pid`` (the sweep) is gone.

    A pool's workers wait on its task queue, whose write end each of them holds as well, and
    each holds the fork server's liveness pipe too (multiprocessing passes it to every process
    the server starts); so after the sweep process is killed (SIGKILL, the OOM killer), the
    workers never see the end of their queue and the server never sees the end of its pipe:
    all stayed alive, idle (QA, 2026-11-30). A daemon thread in each worker checks every
    :data:`WATCH_SECONDS` that the caller is alive and ends the worker (``os._exit``) when it is
    not; with the last worker gone the server and multiprocessing's resource tracker see their
    pipes close and exit. A normal end or Ctrl-C shuts the pool down as before.
    """

    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            if not _alive(pid):
                os._exit(0)

    threading.Thread(target=watch, name="nevsim-watch-caller", daemon=True).start()
