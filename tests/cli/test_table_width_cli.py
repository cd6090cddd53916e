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
from nevsim.cli._common import PIPE_MAX_WIDTH, PIPE_WIDTH, fit_table, output_console, print_table

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


def note_table(note: str, n_columns: int = 10) -> Table:
    """A table of a name, ``n_columns`` short values and a note (overflow "fold", as the policy tables)."""
    table = Table(title="notes")
    table.add_column("name", no_wrap=True)
    for k in range(n_columns):
        table.add_column(f"column {k}", justify="right")
    table.add_column("note", overflow="fold")
    table.add_row("a", *(f"{k + 0.5:.2f}" for k in range(n_columns)), note)
    table.add_row("b", *(f"{k + 1.5:.2f}" for k in range(n_columns)), "short")
    return table


def printed_to_a_pipe(table: Table) -> str:
    console = Console(width=PIPE_WIDTH, record=True, force_terminal=False)
    print_table(table, console=console, optional=["note"])
    return console.export_text()


def test_a_pipe_keeps_every_column_and_each_row_on_one_line() -> None:
    """A table wider than the pipe's console (200) is printed whole at its width (was: stacked)."""
    note = " ".join(["a long note"] * 20)  # 239 characters: the table is about 370 columns wide
    text = printed_to_a_pipe(note_table(note))
    lines = table_lines(text)
    assert PIPE_WIDTH < max(cell_len(line) for line in lines) <= PIPE_MAX_WIDTH
    assert "(continued)" not in text and "Not shown" not in text and text.count("notes") == 1
    headers = [line for line in lines if line.startswith("┃")]
    assert len(headers) == 1 and all(f"column {k}" in headers[0] for k in range(10)) and "note" in headers[0]
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == 2  # each row on one line
    assert note in rows[0] and all(f"{k + 0.5:.2f}" in rows[0] for k in range(10))


def test_a_table_wider_than_the_pipe_cap_wraps_its_notes_within_their_cells() -> None:
    """Beyond PIPE_MAX_WIDTH only the free text wraps, in its cell; still one table, every column."""
    note = " ".join(f"word{k}" for k in range(200))  # 1,289 characters
    text = printed_to_a_pipe(note_table(note, n_columns=14))
    lines = table_lines(text)
    assert max(cell_len(line) for line in lines) <= PIPE_MAX_WIDTH and "(continued)" not in text
    headers = [line for line in lines if line.startswith("┃")]
    assert len(headers) == 1 and all(f"column {k}" in headers[0] for k in range(14))
    rows = [line for line in lines if line.startswith("│")]
    first = rows[0]  # the row's name and every value on its first line; the note continues below
    assert first.startswith("│ a ") and all(f"{k + 0.5:.2f}" in first for k in range(14))
    note_cells = [line.rstrip(" │").rsplit("│", 1)[1].strip() for line in rows]
    assert " ".join(c for c in note_cells if c.startswith("word")) == note
    assert all(c == "" for line in rows[1:-1] for c in (x.strip() for x in line.strip("│").split("│")[:-1]))


def test_the_layout_is_chosen_without_rendering_it(monkeypatch) -> None:
    """The cost of a layout is estimated from measured widths: rendering the policy audit's three
    candidate layouts took 4.3 of its 6.3 seconds."""
    from rich.console import Console as RichConsole

    def no_render(*args, **kwargs):
        raise AssertionError("fit_table rendered a table")

    monkeypatch.setattr(RichConsole, "render_lines", no_render)
    tables, _ = fit_table(wide_table(), 80, console=Console(width=80))
    assert len(tables) > 1


def test_stacked_parts_are_built_with_rich_public_api_and_keep_the_settings() -> None:
    """No private rich field (Column._index, _cells) is set: a part is a new Table built with
    add_column/add_row, with the column's and the row's settings."""
    import inspect

    from nevsim.cli import _common

    source = inspect.getsource(_common)
    assert "_index" not in source and "_cells" not in source and "dataclasses" not in source
    table = wide_table()
    table.columns[3].style = "bold"
    table.rows[1].style = "red"
    tables, _ = fit_table(table, 80, console=Console(width=80))
    part = next(t for t in tables if any(str(c.header) == "column number 2" for c in t.columns))
    column = next(c for c in part.columns if str(c.header) == "column number 2")
    assert column.style == "bold" and column.justify == "right" and part.rows[1].style == "red"
    assert part.columns[0].no_wrap and list(part.columns[0].cells) == ["2020", "2030"]


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
    for name in ("EV %", "credit CNY", "EV stock M", "CO2 WTW Mt", "trade-in bn CNY"):
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


AUDIT_COLUMNS = ("status", "region", "standard", "param", "revision", "years", "powertrain", "value", "unit",
                 "source_key", "note")


def test_policy_audit_to_a_pipe_is_one_table_with_every_column() -> None:
    """Was: three stacked tables repeating only standard and param ("CAFC compliance_factor … 1.09"
    with no year or revision)."""
    text = piped(["policy", "audit"])
    lines = table_lines(text)
    assert text.count("Policy parameters (U = unconfirmed") == 1  # one title: not stacked
    headers = [line for line in lines if line.startswith("┃")]
    assert len(headers) == 1 and all(f" {name} " in headers[0] for name in AUDIT_COLUMNS)
    assert max(cell_len(line) for line in lines) <= PIPE_MAX_WIDTH
    row = next(line for line in lines if "compliance_factor" in line and "gb27999_2011" in line)
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[:9] == ["U", "CN", "CAFC", "compliance_factor", "gb27999_2011", "2012", "", "1.09", "ratio"]


@pytest.mark.parametrize("columns", [80, 120])
def test_policy_audit_stacked_in_a_terminal_repeats_every_identifying_column(columns: int) -> None:
    headers = [line for line in table_lines(terminal(["policy", "audit"], columns)) if line.startswith("┃")]
    assert len(headers) > 1  # stacked
    for header in headers:
        assert all(f" {name} " in header for name in ("standard", "param", "revision", "years", "powertrain"))


@pytest.mark.parametrize("columns", [80, 100])
@pytest.mark.parametrize("region", ["CN", "US"])
def test_policy_show_stacked_in_a_terminal_repeats_every_identifying_column(region: str, columns: int) -> None:
    """Was: at 80-100 columns unit, status and source stood in a table apart from each band's value.

    At 80 columns the key columns take 70: the other column of a part gives way (FOLD_FLOOR), not
    the keys' headers (rich narrowed every column: "powertrai/n").
    """
    text = terminal(["policy", "show", "--region", region], columns)
    lines = table_lines(text)
    headers = [line for line in lines if line.startswith("┃")]
    assert len(headers) > 1 and "(continued)" in text and max(cell_len(line) for line in lines) <= columns
    for header in headers:
        assert all(f" {name} " in header for name in ("standard", "param", "revision", "powertrain", "band"))


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
