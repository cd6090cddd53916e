"""Shared pieces of the CLI: error handling, JSON output, output-path checks."""

from __future__ import annotations

import functools
import json
import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from nevsim.errors import DataIntegrityError, InputError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

F = TypeVar("F", bound=Callable[..., Any])

EXIT_BAD_INPUT = 2
EXIT_DATA = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a Ctrl-C

#: ``--store`` help of every command: where the store is when the option is left out
#: (:func:`nevsim.store.default_path`, platformdirs' user data folder of "nevsim").
STORE_HELP = ("Results store file (DuckDB). Default: runs.duckdb in the user data folder: "
              "$XDG_DATA_HOME/nevsim, else ~/.local/share/nevsim (Linux); ~/Library/Application Support/nevsim "
              "(macOS); %LOCALAPPDATA%\\nevsim\\nevsim (Windows).")


def cli_errors(func: F) -> F:
    """Turn nevsim's input and data errors into one message on stderr and an exit code.

    Bad input exits with 2 (the usage-error code click uses too); a bundled data file that
    fails its provenance check exits with 3; Ctrl-C exits with 130 after one line. No traceback
    is shown for any of them.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except DataIntegrityError as exc:
            typer.echo(f"Data error: {exc}", err=True)
            raise typer.Exit(EXIT_DATA) from None
        except KeyboardInterrupt:  # Ctrl-C: one line and 130 (a sweep catches its own first, to say how to resume)
            typer.echo("Interrupted.", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            return _clean(value.item())
        except (AttributeError, ValueError):
            return value
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def echo_json(payload: Any) -> None:
    """Print ``payload`` as JSON (NaN → null, numpy scalars → Python numbers)."""
    typer.echo(json.dumps(_clean(payload), ensure_ascii=False, indent=1, default=str))


#: What ``--plot`` writes: the file's suffix is its format. Every chart can be written as
#: self-contained HTML; a command that can also write a static image lists its suffix too.
#: Any other suffix is refused before the work starts (the same rule for every command).
HTML_SUFFIXES = (".html", ".htm")


def _cannot_create_in(folder: Path) -> str | None:
    """Why a file cannot be created in ``folder`` (None if it can): creates and removes a probe.

    A probe rather than :func:`os.access`, which says yes to root everywhere, including /proc.
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def check_store_file(store: Path | None, *, field: str = "--store") -> None:
    """Refuse, before any work, an existing ``--store`` file that is not a store, is damaged or is
    held by another process (:meth:`nevsim.store.Store.check_writable`); a new path passes."""
    if store is None or not Path(store).expanduser().is_file():
        return
    from nevsim.store import Store

    try:
        Store(store).check_writable()
    except InputError as exc:
        raise InputError(field, exc.message, allowed=exc.allowed) from None


def check_folder(folder: Path, *, field: str, create: bool = True) -> None:
    """Refuse, before any work, a folder the output cannot be written to.

    ``folder`` must be a writable folder, or (``create=True``) one that can be made: its
    nearest existing parent is a writable folder. InputError naming ``field`` otherwise.
    """
    folder = Path(folder).expanduser().absolute()
    if folder.exists() and not folder.is_dir():
        raise InputError(field, f"{folder} exists and is not a folder.")
    existing = folder
    while not existing.exists():
        if not create:
            raise InputError(field, f"folder {folder} does not exist; create it first.")
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(field, f"cannot create the folder {folder}: {existing} is a file.")
    reason = _cannot_create_in(existing)
    if reason is not None:
        raise InputError(field, f"cannot write in {existing} ({reason}).")


def check_writable(path: Path, *, force: bool, field: str, suffixes: Sequence[str] | None = None,
                   create_folder: bool = False) -> None:
    """Refuse, before any work, an output file that cannot or should not be written.

    The file must not exist unless the user said ``--force`` (and must not be a folder); its
    folder must exist (``create_folder=True``: or be creatable, as ``--out DIR`` is) and be
    writable; with ``suffixes`` (e.g. :data:`HTML_SUFFIXES`) its suffix must be one of them.
    """
    path = Path(path).expanduser()
    if suffixes is not None and path.suffix.lower() not in suffixes:
        raise InputError(field, f"cannot write {path.name!r}: the suffix is the file's format, and this command "
                                f"writes {' or '.join(suffixes)} files.", allowed=list(suffixes))
    if path.is_dir():
        raise InputError(field, f"{path} is a folder; give a file name.")
    if path.exists() and not force:
        raise InputError(field, f"{path} already exists; pass --force to overwrite it.")
    check_folder(path.absolute().parent, field=field, create=create_folder)


# ---------------------------------------------------------------------------- tables that fit

#: Width of the console when stdout is not a terminal (a pipe, a file, CliRunner): the text
#: around the tables. A table there is printed whole, at its own width (:func:`unsplit_table`).
PIPE_WIDTH = 200

#: Widest a table printed to a pipe or file is made. A table that would be wider with every row
#: on one line (the policy audit's notes run to 1,039 characters: 1,400 columns) has its long
#: free-text columns (notes, lists of sources) narrowed to one common width, and their longer
#: cells wrap within the cell; every other column keeps its full width. Beyond about twice a wide
#: terminal a line is no longer read in a pager or an editor, and a narrower cap would wrap more
#: rows of the tables that are merely wide (the outlook, ``policy show``: 150-250 columns).
PIPE_MAX_WIDTH = 400

#: Narrowest a free-text column is made in a pipe (:data:`PIPE_MAX_WIDTH`).
PIPE_TEXT_MIN = 40

#: Narrowest a column whose overflow is "fold" (long identifiers, notes) is made before the table
#: is split: such a column may break a long word over lines; other columns never do.
FOLD_MIN = 12

#: Narrowest such a column is made when a part of stacked tables is too wide even with every
#: column at its narrowest (the key columns of the policy tables take 70 of 80 columns).
FOLD_FLOOR = 6


def output_console(*, stderr: bool = False) -> Console:
    """A rich console writing to the current stdout (or stderr), created per call (CliRunner, pipes).

    On a terminal its width is the terminal's (``COLUMNS`` respected: rich reads it); elsewhere
    it is at least :data:`PIPE_WIDTH` (``COLUMNS`` if wider). Rich alone takes the terminal's
    width even when stdout is a file, so ``nevsim outlook > out.txt`` came out squashed: that is
    why the commands once forced fixed widths (120–200), which wrapped every row in a terminal.
    """
    from rich.console import Console

    probe = Console(stderr=stderr)
    if stderr or probe.is_terminal:
        return probe
    return Console(width=max(PIPE_WIDTH, probe.width))


#: The settings of a table and of a column that :func:`_rebuild` copies (rich's public attributes,
#: the arguments of ``Table()`` and ``Table.add_column``).
_TABLE_FIELDS = ("width", "min_width", "box", "safe_box", "padding", "collapse_padding", "pad_edge", "expand",
                 "show_header", "show_footer", "show_edge", "show_lines", "leading", "style", "row_styles",
                 "header_style", "footer_style", "border_style", "title_style", "caption_style", "title_justify",
                 "caption_justify", "highlight")
_COLUMN_FIELDS = ("header", "footer", "header_style", "footer_style", "style", "justify", "vertical", "overflow",
                  "width", "min_width", "max_width", "ratio", "no_wrap", "highlight")


def _rebuild(table: Table, columns: Sequence[int], *, title: Any, caption: Any, widths: dict[int, int] | None = None,
             rows: bool = True) -> Table:
    """A new table with the settings of ``table``, the columns at ``columns`` and (``rows``) its rows.

    Built with rich's public API only (``Table()``, ``add_column``, ``add_row`` from each column's
    ``cells``), so that a new rich cannot break it. ``widths`` (column index → width) fixes the
    width of those columns.
    """
    from rich.table import Table

    new = Table(title=title, caption=caption, **{name: getattr(table, name) for name in _TABLE_FIELDS})
    widths = widths or {}
    for i in columns:
        settings = {name: getattr(table.columns[i], name) for name in _COLUMN_FIELDS}
        if i in widths:
            settings.update(width=widths[i], min_width=None, max_width=None)
        new.add_column(**settings)
    if rows and columns:
        cells = [list(table.columns[i].cells) for i in columns]
        for r, row in enumerate(table.rows):
            new.add_row(*(column[r] for column in cells), style=row.style, end_section=row.end_section)
    return new


def _measure(console: Console, table: Table) -> tuple[list[tuple[int, int]], list[list[tuple[int, ...]]]]:
    """Each column's (narrowest, natural) width, padding excluded, and each of its cells' lines' widths.

    From rich's measure of each cell (header included), with no rendering. Natural: its longest
    line. Narrowest: its longest word (a number is one word, so it is never broken); the natural
    width for a ``no_wrap`` column; at most :data:`FOLD_MIN` for a column that folds long words.
    Fixed and capped widths are kept. The lines: the header's, then each row's (a cell that is not
    text counts as one line of its natural width).
    """
    from rich.cells import cell_len
    from rich.measure import Measurement
    from rich.text import Text

    options = console.options.update(width=10_000, min_width=1)
    ranges: list[tuple[int, int]] = []
    lines: list[list[tuple[int, ...]]] = []
    for column in table.columns:
        low = high = 1
        widths: list[tuple[int, ...]] = []
        for cell in (column.header, *column.cells):
            if isinstance(cell, str):
                cell = console.render_str(cell, markup=options.markup, highlight=False)
            m = Measurement.get(console, options, cell)
            low, high = max(low, m.minimum), max(high, m.maximum)
            widths.append(tuple(cell_len(line) for line in cell.plain.split("\n")) if isinstance(cell, Text)
                          else (m.maximum,))
        lines.append(widths)
        if column.width is not None:
            ranges.append((column.width, column.width))
            continue
        if column.max_width is not None:
            high = min(high, column.max_width)
        if column.no_wrap:
            low = high
        elif column.overflow == "fold":
            low = min(low, FOLD_MIN)
        ranges.append((min(low, high), high))
    return ranges, lines


def _frame_width(console: Console, table: Table, n_columns: int) -> int:
    """Width the borders and cell padding of ``table`` take with ``n_columns`` columns."""
    from rich.measure import Measurement

    probe = _rebuild(table, [], title=None, caption=None, rows=False)
    for _ in range(n_columns):
        probe.add_column(width=1)
    return Measurement.get(console, console.options.update(width=10_000), probe).maximum - n_columns


def _key_columns(table: Table, key: int | Sequence[str]) -> list[int]:
    """The indexes of the key columns: the first ``key`` columns, or those with these header names."""
    if isinstance(key, int):
        return list(range(min(key, len(table.columns))))
    return [i for i, c in enumerate(table.columns) if str(c.header) in key]


def fit_table(table: Table, width: int, *, console: Console | None = None, key: int | Sequence[str] = 1,
              optional: Sequence[str] = ()) -> tuple[list[Table], list[str]]:
    """Tables that together show ``table`` within ``width`` columns, and the columns left out.

    1. If the table fits, it is returned as it is.
    2. Else the ``optional`` columns (header names, the least wanted first) are left out one by
       one while the rest does not fit; the caller says where to see them.
    3. Then the cheapest layout of these is taken: the lines it prints, and one line per row for
       each table after the first (the reader finds each row again there) and for each table
       whose key columns wrap (the names of the rows):

       * one table, if every column fits at its narrowest (:func:`_measure`: no number or word
         broken): the spare width is given to the key columns first, then to those that lack
         least (so as few as possible wrap); longer cells wrap within their column;
       * stacked tables, each repeating the ``key`` columns (the first ``key`` columns, or
         these header names) so a row can still be told apart, packed with columns at their
         full width; or packed at their narrowest (fewer tables, more wrapped cells).

       The lines are estimated from the measured width of each cell's lines and the width its
       column gets (:func:`_layout_lines`), not by rendering each layout (rendering the policy
       audit's three layouts took 4 of its 6 seconds).
    """
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=width)
    if not table.columns:
        return [table], []
    names = [str(c.header) for c in table.columns]
    ranges, lines = _measure(console, table)
    keys = _key_columns(table, key)
    frames: dict[int, int] = {}

    def need(idx: list[int], lo: bool) -> int:
        if len(idx) not in frames:
            frames[len(idx)] = _frame_width(console, table, len(idx))
        return sum(ranges[i][0 if lo else 1] for i in idx) + frames[len(idx)]

    broken: set[int] = set()  # ids of the tables whose key columns are narrower than their text
    Layout = list[tuple[Table, dict[int, int]]]  # tables and the width of each of their columns

    def sized(idx: list[int], *, title: Any, caption: Any) -> tuple[Table, dict[int, int]]:
        if need(idx, lo=False) <= width:
            return _rebuild(table, idx, title=title, caption=caption), {i: ranges[i][1] for i in idx}
        spare = max(width - need(idx, lo=True), 0)
        widths = {i: ranges[i][0] for i in idx}
        # the key columns first, then the least lacking: as many columns as can be are whole
        for i in sorted(idx, key=lambda i: (i not in keys, ranges[i][1] - ranges[i][0])):
            extra = min(spare, ranges[i][1] - ranges[i][0])
            widths[i] += extra
            spare -= extra
        # too wide even so (a part of key columns and one long text): the other columns that fold
        # give way, the widest first, down to FOLD_FLOOR; else rich would narrow every column,
        # the keys and their headers too ("powertrai/n")
        excess = need(idx, lo=True) - width
        for i in sorted(idx, key=lambda i: -widths[i]):
            column = table.columns[i]
            if excess > 0 and i not in keys and column.overflow == "fold" and column.width is None:
                cut = min(excess, max(widths[i] - FOLD_FLOOR, 0))
                widths[i] -= cut
                excess -= cut
        sub = _rebuild(table, idx, title=title, caption=caption, widths=widths)
        if any(widths[i] < ranges[i][1] for i in idx if i in keys):
            broken.add(id(sub))
        return sub, widths

    def stacked(keys: list[int], rest: list[int], lo: bool) -> Layout:
        parts: list[list[int]] = []
        for i in rest:
            if parts and need(sorted(keys + parts[-1] + [i]), lo=lo) <= width:
                parts[-1].append(i)
            else:
                parts.append([i])
        last = len(parts) - 1
        return [sized(sorted(keys + part), caption=table.caption if n == last else None,
                      title=table.title if n == 0 or table.title is None else f"{table.title} (continued)")
                for n, part in enumerate(parts)]

    shown = list(range(len(names)))
    if need(shown, lo=False) <= width:
        return [table], []
    dropped: list[str] = []
    for name in optional:
        if need(shown, lo=False) <= width:
            break
        if name in names and names.index(name) in shown:
            shown.remove(names.index(name))
            dropped.append(name)
    layouts: list[Layout] = []
    if need(shown, lo=True) <= width:
        layouts.append([sized(shown, title=table.title, caption=table.caption)])
    keys = [i for i in keys if i in shown]
    rest = [i for i in shown if i not in keys]
    if rest:
        layouts += [stacked(keys, rest, lo=False), stacked(keys, rest, lo=True)]
    if not layouts:  # only key columns, too wide even at their narrowest: rich narrows them further
        layouts.append([sized(shown, title=table.title, caption=table.caption)])

    def cost(layout: Layout) -> int:
        """Lines printed, and a line a row for each table after the first (the reader finds the
        row again there) and for each table that wraps the key columns (the row's name)."""
        printed = sum(_layout_lines(table, lines, widths, titled=sub.title is not None) for sub, widths in layout)
        return printed + (len(layout) - 1 + sum(id(sub) in broken for sub, _ in layout)) * table.row_count

    return [sub for sub, _ in min(layouts, key=cost)], dropped


def _layout_lines(table: Table, lines: list[list[tuple[int, ...]]], widths: dict[int, int], *, titled: bool) -> int:
    """Lines a table of ``table``'s columns at ``widths`` (index → width) prints, estimated.

    A cell's line of width w in a column of width c takes ceil(w / c) lines (a ``no_wrap``
    column: one, cut); a row, its tallest cell; plus the borders (three), the title (one) and the
    lines between rows (``show_lines``). Word wrapping can take a line more: this is a
    comparison of layouts, not a count.
    """
    total = 3 + int(titled) + (max(table.row_count - 1, 0) if table.show_lines else 0)
    first = 0 if table.show_header else 1
    for r in range(first, table.row_count + 1):
        tallest = 1
        for i, c in widths.items():
            if table.columns[i].no_wrap:
                n = len(lines[i][r])
            else:
                n = sum(-(-w // max(c, 1)) or 1 for w in lines[i][r])
            tallest = max(tallest, n)
        total += tallest
    return total


def unsplit_table(table: Table, *, console: Console, key: int | Sequence[str] = 1) -> tuple[Table, int]:
    """``table`` as one table for a pipe or a file, and its width: every column, never stacked.

    Each column at its natural width, each row on one line, if the table is then at most
    :data:`PIPE_MAX_WIDTH` wide. Wider: its free-text columns (not key, not ``no_wrap``, no fixed
    width) are narrowed, the widest first, to the largest common width c (at least
    :data:`PIPE_TEXT_MIN`) that brings it within the cap; their cells longer than c wrap within
    the cell. The width is the table's (often more than the console's: the caller prints it so).
    """
    if not table.columns:
        return table, console.width
    ranges, _ = _measure(console, table)
    keys = _key_columns(table, key)
    frame = _frame_width(console, table, len(ranges))
    natural = sum(high for _, high in ranges) + frame
    if natural <= PIPE_MAX_WIDTH:
        return table, max(natural, table.min_width or 0)
    free = [i for i, c in enumerate(table.columns)
            if i not in keys and not c.no_wrap and c.width is None and ranges[i][1] > PIPE_TEXT_MIN]
    fixed = natural - sum(ranges[i][1] for i in free)
    cap = max((ranges[i][1] for i in free), default=PIPE_TEXT_MIN)
    while cap > PIPE_TEXT_MIN and fixed + sum(min(ranges[i][1], cap) for i in free) > PIPE_MAX_WIDTH:
        cap -= 1
    widths = {i: max(cap, ranges[i][0]) for i in free if ranges[i][1] > cap}
    whole = _rebuild(table, range(len(ranges)), title=table.title, caption=table.caption, widths=widths)
    width = natural - sum(ranges[i][1] - w for i, w in widths.items())
    return whole, max(width, table.min_width or 0)


def print_table(table: Table, *, console: Console | None = None, key: int | Sequence[str] = 1,
                optional: Sequence[str] = (), see: str = "--json") -> None:
    """Print ``table`` within the console's width (:func:`fit_table`); no row wraps in a terminal.

    To a terminal: ``optional`` columns may be left out, with one line saying which and where to
    see them (``see``, e.g. "--json or --out DIR"); a table still too wide is stacked, each part
    repeating the ``key`` columns. To a pipe or file (:func:`output_console`): one table with
    every column, at its own width however wide the console (:func:`unsplit_table`: each row on
    one line, unless the table would be wider than :data:`PIPE_MAX_WIDTH`).
    """
    console = console or output_console()
    if not console.is_terminal:
        whole, width = unsplit_table(table, console=console, key=key)
        console_width = console.width
        console.width = max(console_width, width)  # rich prints no wider than its console
        try:
            console.print(whole)
        finally:
            console.width = console_width
        return
    tables, dropped = fit_table(table, console.width, console=console, key=key, optional=optional)
    caption = tables[-1].caption if len(tables) > 1 else None
    if caption is not None:  # under stacked tables: the console's width, not the last part's
        tables[-1].caption = None
    for part in tables:
        console.print(part)
    if caption is not None:
        console.print(caption, style="table.caption", highlight=False)
    if dropped:
        console.print(f"Not shown in {console.width} columns: {', '.join(dropped)} (see {see}, or widen the "
                      "terminal).", markup=False, highlight=False)


def count_text(completed: float, total: float | None, unit: str, *, decimals: int = 0) -> str:
    """A progress bar's count, ``"12/51 years"``; ``"preparing…"`` until the total is known (the
    calibration before the first simulated year: before, the bar read ``0/None years``)."""
    if total is None:
        return "preparing…"
    return f"{completed:.{decimals}f}/{total:g} {unit}"


def count_column(unit: str, *, decimals: int = 0) -> Any:
    """A rich progress column showing :func:`count_text` for its task."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class _Count(ProgressColumn):
        def render(self, task: Any) -> Text:
            return Text(count_text(task.completed, task.total, unit, decimals=decimals))

    return _Count()
