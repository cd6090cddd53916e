"""Tables fit the terminal (COLUMNS respected), and output to a pipe or file stays complete.

A terminal is simulated with ``TTY_COMPATIBLE=1`` (rich's switch for "this output is a
terminal"); CliRunner's stdout alone is not one, like a pipe.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner

from nevsim.cli import app
from nevsim.cli._common import PIPE_WIDTH, fit_table, output_console, print_table

runner = CliRunner()
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BOX = "┏┃│┡└"


def terminal(args: list[str], columns: int) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": str(columns), "TTY_COMPATIBLE": "1"})
    assert result.exit_code == 0, result.output
    return ANSI.sub("", result.stdout)


def piped(args: list[str]) -> str:
    result = runner.invoke(app, args, env={"COLUMNS": "80", "TTY_COMPATIBLE": None, "FORCE_COLOR": None})
    assert result.exit_code == 0, result.output
    return result.stdout


def table_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line[:1] in BOX]


# ---------------------------------------------------------------------------- the helper


def wide_table() -> Table:
    table = Table(title="wide", caption="a caption")
    table.add_column("year", no_wrap=True)
    for k in range(12):
        table.add_column(f"column number {k}", justify="right")
    for year in (2020, 2030):
        table.add_row(str(year), *(f"{year * 1000 + k:,}" for k in range(12)))
    return table


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_wide_table_is_split_with_the_key_repeated_and_no_number_broken(width: int) -> None:
    console = Console(width=width, record=True)
    tables, dropped = fit_table(wide_table(), width, console=console)
    for part in tables:
        console.print(part)
    text = console.export_text()
    assert dropped == [] and max(cell_len(line) for line in text.splitlines()) <= width
    for k in range(12):  # every number whole, on one line
        assert f"{2020 * 1000 + k:,}" in text and f"{2030 * 1000 + k:,}" in text
    assert all(next(iter(t.columns[0].cells)) == "2020" for t in tables)  # the year in every part
    assert len(tables) > 1 and text.count("(continued)") == len(tables) - 1


def test_a_table_that_fits_is_printed_as_it_is() -> None:
    table = wide_table()
    tables, dropped = fit_table(table, 400, console=Console(width=400))
    assert tables == [table] and dropped == []


def test_optional_columns_are_left_out_first_and_named() -> None:
    console = Console(width=80, record=True, force_terminal=True, color_system=None)
    table = Table()
    for name in ("name", "value", "long note"):
        table.add_column(name)
    table.add_row("a", "1.5", "a note that takes a lot of room " * 3)
    print_table(table, console=console, optional=["long note"], see="--json")
    text = console.export_text()
    assert "a note" not in text and "Not shown in 80 columns: long note (see --json" in text


def test_a_pipe_keeps_every_column() -> None:
    console = Console(width=PIPE_WIDTH, record=True, force_terminal=False)
    table = Table()
    for name in ("name", "value", "long note"):
        table.add_column(name)
    table.add_row("a", "1.5", "a note")
    print_table(table, console=console, optional=["long note"])
    assert "a note" in console.export_text() and "Not shown" not in console.export_text()


def test_output_console_width(monkeypatch) -> None:
    """A terminal's width is its own (COLUMNS); a pipe's is at least PIPE_WIDTH."""
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    assert output_console().width == 80
    monkeypatch.setenv("TTY_COMPATIBLE", "0")
    assert output_console().width == PIPE_WIDTH
    monkeypatch.setenv("COLUMNS", str(PIPE_WIDTH + 50))
    assert output_console().width == PIPE_WIDTH + 50


# ---------------------------------------------------------------------------- the commands


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "runs.duckdb"
    assert runner.invoke(app, ["outlook", "--json", "--store", str(path)]).exit_code == 0
    return path


COMMANDS = [
    ["outlook", "--no-store"],
    ["outlook", "--no-store", "--region", "US"],
    ["outlook", "us-2024-rules", "--no-store"],
    ["outlook", "--no-store", "--region", "EU", "--draws", "4", "--seed", "1"],
    ["outlook", "--no-store", "--region", "all"],
    ["policy", "show"],
    ["policy", "show", "--region", "US"],
    ["policy", "audit", "--status", "S"],
    ["compliance", "example", "--year", "2024"],
    ["backtest", "--cutoff", "2022", "--through", "2024"],
    ["sensitivity", "--method", "tornado", "--top", "3"],
    ["data", "list"],
    ["data", "show", "iea_gevo_2025", "-n", "5"],
    ["history"],
]


def test_data_list_to_a_pipe_keeps_whole_names() -> None:
    """`data list` used rich's width even in a pipe: 80 columns, names cut ("iea_gevo…")."""
    text = piped(["data", "list"])
    assert "owid_electric_car_sales_share" in text and "…" not in text


@pytest.mark.parametrize("columns", [80, 120])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a))
def test_no_table_is_wider_than_the_terminal(args: list[str], columns: int) -> None:
    """Was: outlook 170 columns, policy 200, sensitivity and sweep 150, backtest 120, whatever the terminal."""
    lines = table_lines(terminal(args, columns))
    assert lines and max(cell_len(line) for line in lines) <= columns


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_list_fits(store, columns: int) -> None:
    lines = table_lines(terminal(["runs", "list", "--store", str(store)], columns))
    assert lines and max(cell_len(line) for line in lines) <= columns


def test_outlook_at_80_columns_repeats_the_year_and_keeps_every_value() -> None:
    text = terminal(["outlook", "--no-store"], 80)
    assert "(continued)" in text
    rows_2030 = [line for line in table_lines(text) if line.startswith("│ 2030")]
    assert len(rows_2030) == 2  # the year repeated in the second table
    wide = piped(["outlook", "--no-store"])
    full = next(line for line in table_lines(wide) if line.startswith("│ 2030"))
    cells = [c.strip() for c in full.strip("│").split("│")]
    split = [c.strip() for line in rows_2030 for c in line.strip("│").split("│")]
    assert set(cells) <= set(split)  # the same values, none cut


def test_outlook_to_a_pipe_is_one_unwrapped_table_with_every_column() -> None:
    text = piped(["outlook", "--no-store"])
    assert "(continued)" not in text and "Not shown" not in text
    header = next(line for line in table_lines(text) if "year" in line)
    for name in ("EV %", "credit CNY", "EV stock M", "CO2 Mt", "trade-in bn CNY"):
        assert name in header
    assert "Energy-saving" in text  # the targets' source column is kept (a terminal of 80 drops it)
    rows = [line for line in table_lines(text) if re.match(r"│ 20\d\d", line)]
    assert all(line.count("│") == 13 for line in rows)  # year + 11 columns, one line each


def test_targets_columns_left_out_in_a_narrow_terminal_are_named() -> None:
    text = " ".join(terminal(["outlook", "--no-store"], 80).split())
    assert "Not shown in 80 columns: compared with, source (see --json, or the report: --out DIR" in text


def test_policy_show_to_a_pipe_is_unwrapped() -> None:
    lines = table_lines(piped(["policy", "show"]))
    rows = [line for line in lines if line.startswith("│ ")]
    assert rows and all(not line.startswith("│          │") for line in rows)  # no continuation lines


# ---------------------------------------------------------------------------- any table

_NUMBER = st.floats(-1e7, 1e7, allow_nan=False).map(lambda v: f"{v:,.1f}")
_WORDS = st.lists(st.sampled_from(["EV", "share", "credit", "price", "of", "new", "cars", "(CAAM)"]),
                  min_size=1, max_size=6).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(headers=st.lists(_WORDS, min_size=2, max_size=14), rows=st.integers(1, 4), width=st.integers(50, 160),
       data=st.data())
def test_any_table_fits_and_keeps_every_number_whole(headers: list[str], rows: int, width: int, data) -> None:
    """Every line within the width and every number on one line, whole, whatever the columns."""
    table = Table(title="t")
    table.add_column("year", no_wrap=True)
    for h in headers:
        table.add_column(h, justify="right")
    numbers = [[data.draw(_NUMBER) for _ in headers] for _ in range(rows)]
    for r, cells in enumerate(numbers):
        table.add_row(str(2020 + r), *cells)
    console = Console(width=width, record=True)
    tables, dropped = fit_table(table, width, console=console)
    for part in tables:
        console.print(part)
    text = console.export_text()
    assert dropped == [] and max(cell_len(line) for line in text.splitlines()) <= width
    lines = text.splitlines()
    for cells in numbers:
        for cell in cells:
            assert any(cell in line for line in lines)
    assert all(next(iter(t.columns[0].cells)) == "2020" for t in tables)
