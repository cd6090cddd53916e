"""Ctrl-C during a sweep: one line and exit 130, never a traceback; nothing stored is lost.

The interrupt is injected where DuckDB gets it: at COMMIT, which DuckDB then aborts, so the
transaction is over before the sweep's own error handling runs (a ROLLBACK there failed with
"cannot rollback - no transaction is active" over the interrupt)."""

from __future__ import annotations

import textwrap
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
