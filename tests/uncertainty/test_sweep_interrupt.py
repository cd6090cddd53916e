"""Ctrl-C during a sweep: one line and exit 130, never a traceback; nothing stored is lost.

The interrupt is injected where DuckDB gets it: at COMMIT, which DuckDB then aborts, so the
transaction is over before the sweep's own error handling runs (a ROLLBACK there failed with
"cannot rollback - no transaction is active" over the interrupt)."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Iterator
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


def test_an_interrupt_behind_a_clean_up_error_is_an_interrupt_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                  reference: tuple[Path, pd.DataFrame]) -> None:
    file, expected = reference
    real = sweep_module._connect

    @contextmanager
    def connect(store: Any, *, writer: bool = False) -> Iterator[Any]:
        with real(store, writer=writer) as con:
            yield _InterruptAtInsert(con, 2, KeyboardInterrupt()) if writer else con

    monkeypatch.setattr(sweep_module, "_connect", connect)
    store = tmp_path / "s.duckdb"
    result = CliRunner().invoke(app, ["sweep", str(file), "--workers", "0", "--store", str(store)])
    assert result.exit_code == 130 and result.stderr.startswith("Interrupted — run the same command again"), \
        result.output
    monkeypatch.undo()
    summary = run_sweep(file, store, workers=0)
    assert summary.skipped == [0] and summary.ran == [1, 2, 3]
    pd.testing.assert_frame_equal(load_sweep(store, summary.sweep_id), expected)


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


def test_the_server_starts_with_sigint_ignored_and_its_workers_stop_on_ctrl_c() -> None:
    import signal

    from nevsim._forkserver import _server_ignores_sigint

    with _server_ignores_sigint():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # (inherited by the server across exec)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert _worker_sigint_in_a_fresh_process(caller_ignores=False) == "default_int_handler"


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
        # (an expression: a function of a `-c` script cannot be sent to a worker)
        probe = "getattr(__import__('signal').getsignal(2), 'name', None) or __import__('signal').getsignal(2).__name__"
        if __name__ == "__main__":
            with executor(workers=1) as pool:
                print(pool.submit(eval, probe).result(timeout=120))
        """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1]


def test_only_duckdbs_own_text_counts_as_an_interrupt() -> None:
    assert sweep_module._interrupted(RuntimeError("Query interrupted"))
    assert not sweep_module._interrupted(RuntimeError("the model was interrupted by a bad value"))
    assert not sweep_module._interrupted(ValueError("Query interrupted"))
