"""A damaged store, and a file that is not a store: one message and exit 2 in every command that reads it."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()

SWEEP = textwrap.dedent("""
    name = "damaged"
    scenarios = ["china-current-policies"]
    draws = 4
    chunk_draws = 2
    seed = 5
    [overrides]
    "years.last" = 2035
    [grid]
    "technology.battery_learning_rate" = [0.14, 0.22]
    [distributions]
    "policy.dual_credit.pass_through" = {dist = "uniform", low = 0.4, high = 1.0}
    """)


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _damage(path: Path, every: int = 1 << 18) -> None:
    """Zero 4 KiB at the start of every ``every`` bytes after DuckDB's three header blocks."""
    data = bytearray(path.read_bytes())
    for offset in range(3 * 4096 + every, len(data), every):
        data[offset:offset + 4096] = bytes(4096)
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    (folder / "sweep.toml").write_text(SWEEP, encoding="utf-8")
    store = folder / "runs.duckdb"
    result = invoke("sweep", str(folder / "sweep.toml"), "--store", str(store), "--workers", "1", "--json")
    assert result.exit_code == 0, result.output
    sweep_id = json.loads(result.stdout)["sweep"]["sweep_id"]
    _damage(store)
    return store, sweep_id


@pytest.mark.parametrize("command", ["sweep show", "sweep show --csv", "report", "sweep list", "runs list"])
def test_a_damaged_store_exits_2_naming_it(damaged, tmp_path, command):
    store, sweep_id = damaged
    args = {"sweep show": ["sweep", "show", sweep_id],
            "sweep show --csv": ["sweep", "show", sweep_id, "--csv", str(tmp_path / "s.csv")],
            "report": ["report", f"sweep-{sweep_id}-00000", "--out", str(tmp_path / "r.html")],
            "sweep list": ["sweep", "list"], "runs list": ["runs", "list"]}[command]
    result = invoke(*args, "--store", str(store))
    if command.endswith("list") and result.exit_code == 0:
        return  # the listing did not touch a damaged block
    assert result.exit_code == 2, result.output  # was a _duckdb.Error traceback, exit 1
    assert f"{store} is damaged and cannot be read" in result.output


@pytest.mark.parametrize("args", [["runs", "list"], ["sweep", "list"], ["report", "abc"]])
def test_a_file_that_is_not_a_store(tmp_path, args):
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"not a database " * 1000)
    result = invoke(*args, "--store", str(path)) if args[0] != "report" else \
        invoke(*args, "--out", str(tmp_path / "r.html"), "--store", str(path))
    assert result.exit_code == 2, result.output
    assert "is not a nevsim results store" in result.output and "Only one process" not in result.output
