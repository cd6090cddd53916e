"""Ctrl-C during a sweep: one line and exit 130, never a traceback; nothing stored is lost.

The interrupt is injected where DuckDB gets it: at COMMIT, which DuckDB then aborts, so the
transaction is over before the sweep's own error handling runs (a ROLLBACK there failed with
"cannot rollback - no transaction is active" over the interrupt)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

import nevsim.sweep as sweep_module
from nevsim.cli import app
from nevsim.cli.sweep import EXIT_INTERRUPTED
from nevsim.sweep import load_sweep, run_sweep, sweep_chunks, validate_sweep

SWEEP = textwrap.dedent("""
    name = "interrupt-me"
    scenarios = ["china-current-policies"]
    draws = 2
    chunk_draws = 1
    seed = 5
    scenario_uncertainty = false
    [overrides]
    "years.last" = 2030
    [grid]
    "technology.battery_learning_rate" = [0.14, 0.22]
    [distributions]
    "policy.dual_credit.pass_through" = {dist = "uniform", low = 0.4, high = 1.0}
    """)


class _InterruptAtCommit:
    """A DuckDB connection whose ``n``-th COMMIT is interrupted: DuckDB aborts the transaction
    (ROLLBACK here) and the interrupt surfaces as ``error``."""

    def __init__(self, con: Any, n: int, error: BaseException) -> None:
        self._con, self._n, self._error, self.commits = con, n, error, 0

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.strip().upper() == "COMMIT":
            self.commits += 1
            if self.commits == self._n:
                self._con.execute("ROLLBACK")
                raise self._error
        return self._con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _inject(monkeypatch: pytest.MonkeyPatch, n: int, error: BaseException) -> None:
    real = sweep_module._connect

    @contextmanager
    def connect(store: Any, *, writer: bool = False) -> Iterator[Any]:
        with real(store, writer=writer) as con:
            yield _InterruptAtCommit(con, n, error) if writer else con

    monkeypatch.setattr(sweep_module, "_connect", connect)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    folder = tmp_path_factory.mktemp("reference")
    file = folder / "s.toml"
    file.write_text(SWEEP, encoding="utf-8")
    summary = run_sweep(file, folder / "ref.duckdb", workers=0)
    return file, load_sweep(folder / "ref.duckdb", summary.sweep_id)


@pytest.mark.parametrize("error", [KeyboardInterrupt(), RuntimeError("Query interrupted")])
def test_an_interrupted_commit_raises_the_interrupt_and_stores_nothing_of_that_chunk(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: tuple[Path, pd.DataFrame],
        error: BaseException) -> None:
    _, expected = reference
    _inject(monkeypatch, 2, error)
    spec = validate_sweep(__import__("tomllib").loads(SWEEP))
    with pytest.raises(KeyboardInterrupt):  # (not duckdb's TransactionException from a second ROLLBACK)
        run_sweep(spec, tmp_path / "s.duckdb", workers=0)
    monkeypatch.undo()
    assert sweep_chunks(tmp_path / "s.duckdb", spec.sweep_id)["chunk_id"].tolist() == [0]
    again = run_sweep(spec, tmp_path / "s.duckdb", workers=0)
    assert again.skipped == [0] and again.ran == [1, 2, 3]
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "s.duckdb", spec.sweep_id), expected)


class _InterruptAtInsert(_InterruptAtCommit):
    """Ctrl-C during a chunk's INSERT: DuckDB reports "Query interrupted" and aborts the
    transaction, so the store's clean-up (``unregister``) then fails with "Current transaction is
    aborted" — the error that reached the sweep, with the interrupt only in its context."""

    aborted = False

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if sql.lstrip().startswith("INSERT INTO series_values"):
            self.commits += 1
            if self.commits == self._n:
                self.aborted = True
                raise RuntimeError("Query interrupted")
        return self._con.execute(sql, *args, **kwargs)

    def unregister(self, name: str) -> Any:
        import duckdb

        if self.aborted:
            raise duckdb.TransactionException("TransactionContext Error: Current transaction is aborted "
                                              "(please ROLLBACK)")
        return self._con.unregister(name)


def _interrupt_then_resume(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: tuple[Path, pd.DataFrame],
                           wrap: Callable[[Any], Any]) -> None:
    """``nevsim sweep`` with its writer connection wrapped by ``wrap`` (which interrupts it): one line,
    exit 130; the same sweep resumed stores chunks 1–3 and equals the uninterrupted one."""
    file, expected = reference
    real = sweep_module._connect

    @contextmanager
    def connect(store: Any, *, writer: bool = False) -> Iterator[Any]:
        with real(store, writer=writer) as con:
            yield wrap(con) if writer else con

    monkeypatch.setattr(sweep_module, "_connect", connect)
    store = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["sweep", str(file), "--workers", "0", "--store", str(store)])
    assert result.exit_code == 130 and result.stderr.startswith("Interrupted — run the same command again"), \
        result.output
    monkeypatch.undo()
    summary = run_sweep(file, store, workers=0)
    assert summary.skipped == [0] and summary.ran == [1, 2, 3]
    pd.testing.assert_frame_equal(load_sweep(store, summary.sweep_id), expected)


def test_an_interrupt_behind_a_clean_up_error_is_an_interrupt_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                  reference: tuple[Path, pd.DataFrame]) -> None:
    _interrupt_then_resume(monkeypatch, tmp_path, reference, lambda con: _InterruptAtInsert(con, 2, KeyboardInterrupt()))


def test_the_fork_server_says_nothing_about_a_worker_whose_pool_is_gone() -> None:
    """A worker forked after the sweep exited cannot rebuild the pool's semaphore: no traceback for that."""
    from multiprocessing import synchronize

    from nevsim._worker import quiet_late_start

    seen: list[BaseException] = []
    hook = quiet_late_start(lambda kind, exc, tb: seen.append(exc))
    lock = synchronize.SemLock.__new__(synchronize.SemLock)
    try:
        lock.__setstate__((0, 1, 1, "/nevsim-test-no-such-semaphore"))
    except FileNotFoundError as exc:
        hook(type(exc), exc, exc.__traceback__)  # type: ignore[operator]
    else:  # pragma: no cover
        pytest.fail("expected FileNotFoundError")
    assert seen == []
    try:
        Path("/nonexistent/nevsim-test").read_bytes()
    except FileNotFoundError as exc:  # any other error still reaches the hook
        hook(type(exc), exc, exc.__traceback__)  # type: ignore[operator]
    assert len(seen) == 1


def test_ctrl_c_in_the_cli_prints_one_line_exits_130_and_the_same_command_resumes(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: tuple[Path, pd.DataFrame]) -> None:
    file, expected = reference
    store = tmp_path / "s.duckdb"
    runner = CliRunner()
    _inject(monkeypatch, 3, KeyboardInterrupt())
    result = runner.invoke(app, ["sweep", str(file), "--workers", "0", "--store", str(store)])
    assert result.exit_code == EXIT_INTERRUPTED == 130, result.output
    assert result.stderr.strip() == ("Interrupted — run the same command again to resume; nothing is lost "
                                     "(the chunks finished so far are stored).")
    assert "Traceback" not in result.output and result.stdout == ""
    monkeypatch.undo()
    result = runner.invoke(app, ["sweep", str(file), "--workers", "0", "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    assert '"chunks_skipped": 2' in result.stdout and '"chunks_run": 2' in result.stdout
    summary_id = validate_sweep(__import__("tomllib").loads(SWEEP)).sweep_id
    pd.testing.assert_frame_equal(load_sweep(store, summary_id), expected)


# ---------------------------------------------------------------------------- a killed sweep's workers

_SCRIPT = textwrap.dedent("""
    import os, time
    from nevsim.sweep import executor

    if __name__ == "__main__":
        with executor(workers=2) as pool:
            futures = [pool.submit(os.getpid) for _ in range(8)]
            workers = sorted({f.result() for f in futures})
            server = pool.submit(os.getppid).result()
            print(" ".join(map(str, [server, *workers])), flush=True)
            time.sleep(120)
    """)


def _gone(pid: int) -> bool:
    from nevsim._forkserver import _alive

    return not _alive(pid)


def test_the_workers_and_their_fork_server_end_when_the_sweep_process_is_killed(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    script = tmp_path / "pool.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True, cwd=tmp_path) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            pids = [int(x) for x in line.split()]
            assert len(pids) >= 2, line
            assert not any(_gone(p) for p in pids)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(_gone(p) for p in pids):
                time.sleep(0.2)
            left = [p for p in pids if not _gone(p)]
            for p in left:  # (leave nothing behind when the check fails)
                os.kill(p, signal.SIGKILL)
            assert left == [], f"still running after the sweep process was killed: {left} (server first: {pids})"
        finally:
            if proc.poll() is None:
                proc.kill()


# ---------------------------------------------------------------------------- Ctrl-C at start-up


def test_a_ctrl_c_inside_the_native_imports_is_held_back_then_raised() -> None:
    import os
    import signal

    from nevsim._forkserver import deferred_sigint

    reached_end = False
    with pytest.raises(KeyboardInterrupt), deferred_sigint():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # (the handler runs here: it only records)
        reached_end = True
    assert reached_end and signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_the_server_starts_with_sigint_blocked_and_its_workers_stop_on_ctrl_c() -> None:
    import signal

    from nevsim._forkserver import _server_blocks_sigint

    with _server_blocks_sigint():  # (the mask is inherited by the server across fork and exec)
        assert signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])
        assert signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.default_int_handler)  # (records)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert _worker_sigint_in_a_fresh_process(caller_ignores=False) == "_worker_sigint"  # (stops a running chunk)


def test_a_ctrl_c_while_the_fork_server_is_launched_is_raised_then_not_lost() -> None:
    """The caller ignored SIGINT while it launched the server; a Ctrl-C then was lost and the sweep
    ran on to its end (hand-made check on a loaded machine). It is now held back and raised as the
    launch ends, and the workers still get their handler, with SIGINT not blocked."""
    import subprocess
    import sys

    script = textwrap.dedent(f"""
        import os, signal
        from multiprocessing import forkserver
        from nevsim._forkserver import start_workers
        from nevsim.sweep import executor

        launch = forkserver.ensure_running
        def ensure_running():  # a Ctrl-C while the server is being launched
            os.kill(os.getpid(), signal.SIGINT)
            launch()
        forkserver.ensure_running = ensure_running
        if __name__ == "__main__":
            try:
                start_workers()
                print("lost")
            except KeyboardInterrupt:
                print("raised")
            forkserver.ensure_running = launch
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
            assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
            with executor(workers=1) as pool:
                print(pool.submit(eval, {_PROBE!r}).result(timeout=120))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["raised", "_worker_sigint", "unblocked"], done.stdout


def test_a_pool_of_executor_cancels_its_queued_chunks_itself_when_the_sweep_stops() -> None:
    """Queued work is cancelled by the pool's manager thread (not by the sweep's thread, which raced
    with it on Ctrl-C in Python 3.11), and none of it runs after the error."""
    from nevsim.sweep import executor

    futures = []
    with pytest.raises(KeyboardInterrupt), executor(workers=1) as pool:
        assert pool._nevsim_cancels_on_error  # type: ignore[attr-defined]
        futures = [pool.submit(time.sleep, 0.3) for _ in range(12)]
        futures[0].result(timeout=120)
        raise KeyboardInterrupt
    assert all(f.done() for f in futures)
    assert sum(f.cancelled() for f in futures) >= 8  # (a few may have reached the worker's queue)


def test_a_failed_sweep_cancels_its_queued_chunks_on_a_pool_the_caller_keeps(tmp_path: Path,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """An error that is not an interrupt cancels the attempt's queued chunks, also on a pool of
    executor() that the caller keeps for a retry (review finding: they ran on, into a spool folder
    already removed, holding the workers)."""
    from concurrent.futures import Executor, Future

    class Deferred(Executor):  # the first chunk runs; the others stay queued
        _nevsim_cancels_on_error = True  # (as a pool of executor() is marked)

        def __init__(self) -> None:
            self.futures: list[Future[Any]] = []

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            fut: Future[Any] = Future()
            if not self.futures:
                fut.set_result(fn(*args, **kwargs))
            self.futures.append(fut)
            return fut

    _inject(monkeypatch, 1, RuntimeError("the disk is full"))
    ex = Deferred()
    with pytest.raises(RuntimeError, match="disk is full"):
        run_sweep(validate_sweep(__import__("tomllib").loads(SWEEP)), tmp_path / "s.duckdb", pool=ex, max_pending=4)
    assert len(ex.futures) > 1 and all(f.cancelled() for f in ex.futures[1:])


def test_workers_of_a_caller_that_ignores_ctrl_c_ignore_it_too() -> None:
    """A sweep started with SIGINT ignored (``nevsim sweep … &`` from a script): a Ctrl-C to the
    process group must not kill its workers while the sweep goes on (review finding)."""
    assert _worker_sigint_in_a_fresh_process(caller_ignores=True) == "SIG_IGN"


def _worker_sigint_in_a_fresh_process(*, caller_ignores: bool) -> str:
    """The SIGINT handler a pool worker of ``executor()`` has, in a fresh Python process (so that
    executor() itself starts the fork server: in this process another test may have started it
    already, and a probe here would check nothing; review finding)."""
    import subprocess
    import sys

    script = textwrap.dedent(f"""
        import signal
        if {caller_ignores!r}:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        from nevsim.sweep import executor
        if __name__ == "__main__":
            with executor(workers=1) as pool:
                print(pool.submit(eval, {_PROBE!r}).result(timeout=120))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    handler, blocked = done.stdout.strip().splitlines()[-1].split()
    assert blocked == "unblocked"  # (the server starts with SIGINT blocked: see _server_ignores_sigint)
    return handler


#: What a worker reports: its SIGINT handler's name and whether SIGINT is blocked (an expression: a
#: function of a `-c` script cannot be sent to a worker).
_PROBE = ("(getattr(__import__('signal').getsignal(2), 'name', None) or __import__('signal').getsignal(2).__name__)"
          " + (' blocked' if 2 in __import__('signal').pthread_sigmask(0, []) else ' unblocked')")


def test_only_duckdbs_own_text_counts_as_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb

    assert sweep_module._interrupted(RuntimeError("Query interrupted"))
    assert not sweep_module._interrupted(RuntimeError("the model was interrupted by a bad value"))
    assert not sweep_module._interrupted(ValueError("Query interrupted"))
    # a KeyboardInterrupt in Python code DuckDB called, as DuckDB reports it (these are its own texts)
    arrow = _duckdb_reading(_RaisesWhenRead(KeyboardInterrupt))
    assert type(arrow) is duckdb.InvalidInputException and sweep_module._interrupted(arrow), arrow
    monkeypatch.setattr(pd.DataFrame, "__getitem__", _raise_keyboard_interrupt)
    frame = _duckdb_reading(pd.DataFrame({"a": [1]}))
    monkeypatch.undo()
    assert isinstance(frame, duckdb.Error) and sweep_module._interrupted(frame), frame
    other = _duckdb_reading(_RaisesWhenRead(ValueError))
    assert isinstance(other, duckdb.Error) and not sweep_module._interrupted(other), other
    behind = duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)")
    behind.__context__ = arrow
    assert sweep_module._interrupted(behind)


class _RaisesWhenRead:
    """An Arrow stream (PyCapsule interface) whose schema cannot be read: ``error`` is raised."""

    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        raise self.error()

    def __arrow_c_schema__(self) -> Any:
        raise self.error()


def _raise_keyboard_interrupt(*args: Any) -> Any:
    raise KeyboardInterrupt


def _duckdb_reading(table: Any) -> BaseException:
    """The error DuckDB raises when reading ``table`` (registered) fails."""
    import duckdb

    con = duckdb.connect()
    try:
        con.register("t", table)
        con.execute("SELECT count(*) FROM t").fetchall()
    except BaseException as exc:  # (what DuckDB makes of it is the point)
        return exc
    finally:
        con.close()
    raise AssertionError("DuckDB read the table")


class _InterruptWhileDuckDBReads(_InterruptAtCommit):
    """Ctrl-C while DuckDB reads a chunk's blocks through Python (registered Arrow table): the
    ``n``-th values table registered raises KeyboardInterrupt when read, and DuckDB reports it as
    its own error ("… failed: KeyboardInterrupt: "): a traceback and exit code 1 before."""

    reads = 0

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        return self._con.execute(sql, *args, **kwargs)

    def register(self, name: str, table: Any) -> Any:
        if name == "_nevsim_values":
            self.reads += 1
            if self.reads == self._n:
                table = _RaisesWhenRead(KeyboardInterrupt)
        return self._con.register(name, table)


def test_an_interrupt_duckdb_reports_as_its_own_error_is_one_line_and_exit_130(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, reference: tuple[Path, pd.DataFrame]) -> None:
    # (chunk 1's series go in, its makers do not: the chunk is rolled back whole)
    _interrupt_then_resume(monkeypatch, tmp_path, reference,
                           lambda con: _InterruptWhileDuckDBReads(con, 3, KeyboardInterrupt()))


# ---------------------------------------------------------------------------- Ctrl-C in a local worker


@pytest.fixture()
def worker_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """This process with a local worker's SIGINT handler and a worker's fresh notes."""
    import signal

    import nevsim._forkserver as fs

    monkeypatch.setattr(fs, "_ctrl_c_in", None)
    monkeypatch.setattr(fs, "_last_attempt", None)
    previous = signal.signal(signal.SIGINT, fs._worker_sigint)
    try:
        yield fs
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c() -> None:
    import os
    import signal

    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # (Python runs the handler here)


def test_a_worker_stops_its_chunk_on_ctrl_c_and_starts_no_other_of_that_sweep(worker_handler: Any) -> None:
    ran: list[str] = []

    @worker_handler.stops_on_ctrl_c
    def chunk(task: dict[str, Any]) -> str:
        ran.append(task["name"])
        if task.get("ctrl_c"):
            _ctrl_c()
            ran.append("not reached")
        return task["name"]

    assert chunk({"attempt": "a", "name": "a0"}) == "a0"
    with pytest.raises(KeyboardInterrupt):  # a Ctrl-C during a chunk stops it
        chunk({"attempt": "a", "name": "a1", "ctrl_c": True})
    with pytest.raises(KeyboardInterrupt):  # and the next chunks of that sweep do not start
        chunk({"attempt": "a", "name": "a2"})
    assert ran == ["a0", "a1"]
    assert chunk({"attempt": "b", "name": "b0"}) == "b0"  # a later sweep on the same pool runs
    _ctrl_c()  # between chunks (waiting for the next one): noted, nothing raised
    with pytest.raises(KeyboardInterrupt):
        chunk({"attempt": "b", "name": "b1"})
    assert chunk({"attempt": "c", "name": "c0"}) == "c0"
    assert ran == ["a0", "a1", "b0", "c0"]


def test_a_ctrl_c_before_a_workers_first_chunk_stops_that_chunk_and_one_the_server_saw_does_not(
        worker_handler: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    chunk = worker_handler.stops_on_ctrl_c(lambda task: "ran")
    _ctrl_c()
    with pytest.raises(KeyboardInterrupt):
        chunk({"attempt": "a"})
    monkeypatch.setattr(worker_handler, "_last_attempt", None)
    monkeypatch.setattr(worker_handler, "_ctrl_c_in", os.getpid() + 1)  # (noted by the fork server, then forked)
    assert chunk({"attempt": "a"}) == "ran"


def test_without_the_worker_handler_a_chunk_runs_as_before() -> None:
    import signal

    from nevsim._forkserver import stops_on_ctrl_c

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    chunk = stops_on_ctrl_c(lambda task: task["x"] + 1)
    assert chunk({"x": 1}) == 2 and chunk({"x": 1, "attempt": "a"}) == 2
    with pytest.raises(KeyboardInterrupt):  # (Python's handler: the chunk stops, in the calling process too)
        stops_on_ctrl_c(lambda task: _ctrl_c())({})


_POOL_SCRIPT = textwrap.dedent("""
    import os, sys, time
    from nevsim._forkserver import stops_on_ctrl_c
    from nevsim.sweep import executor

    @stops_on_ctrl_c
    def chunk(task):
        time.sleep(task["seconds"])
        return os.getpid()

    if __name__ == "__main__":
        busy = sys.argv[1] == "busy"
        futures = []
        try:
            with executor(workers=2) as pool:
                first = [pool.submit(chunk, {"attempt": "a", "seconds": 0.5}) for _ in range(2)]
                assert len({f.result(timeout=120) for f in first}) == 2  # (both workers started)
                # idle: one worker runs a long chunk, the other waits for work; busy: both run one
                # and two more wait in the pool's queue (already handed to the workers' queue)
                futures = [pool.submit(chunk, {"attempt": "a", "seconds": 60}) for _ in range(4 if busy else 1)]
                time.sleep(0.5)
                print("ready", flush=True)
                time.sleep(120)
        except KeyboardInterrupt:
            print(" ".join("cancelled" if f.cancelled() else type(f.exception()).__name__ for f in futures), flush=True)
            sys.exit(130)
    """)


@pytest.mark.parametrize("case", ["idle", "busy"])
def test_ctrl_c_to_a_pools_process_group_stops_its_chunks_and_no_worker_prints_anything(
        tmp_path: Path, case: str) -> None:
    """Ctrl-C (SIGINT to the process group) with a worker waiting for work printed that worker's
    KeyboardInterrupt traceback (a sweep's last chunks); with chunks waiting in the pool's queue,
    the workers ran them to the end after the sweep had stopped."""
    import os
    import signal
    import subprocess
    import sys

    script = tmp_path / "pool.py"
    script.write_text(_POOL_SCRIPT, encoding="utf-8")
    with subprocess.Popen([sys.executable, str(script), case], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd=tmp_path, start_new_session=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            os.killpg(proc.pid, signal.SIGINT)
            out, err = proc.communicate(timeout=50)  # (< the chunks' 60 s: they were stopped)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130 and err == "", err[-3000:]
    outcomes = out.split()
    assert outcomes and set(outcomes) <= {"KeyboardInterrupt", "cancelled"}, out  # none ran on after the Ctrl-C
    assert outcomes[0] == "KeyboardInterrupt"  # (the running chunk was stopped)
