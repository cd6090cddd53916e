"""CLI: ``nevsim sweep SWEEP`` (run or resume a sweep), ``nevsim sweep list``, ``nevsim sweep show ID``.

``SWEEP`` is a sweep TOML file or the name of one shipped in ``nevsim/sweeps/`` (e.g.
``learning-vs-pass-through``). Chunks run on a local process pool (``--workers K``; 0 runs
them in this process) or on a Dask.distributed cluster (``--scheduler tcp://HOST:PORT``),
and land in the results store as they finish (:func:`nevsim.sweep.run_sweep`). Running the
same sweep again resumes it: finished chunks are skipped. The summary gives, per grid point,
the median over draws of the EV share of new cars in 2030 and 2035 and of the NEV credit
price in 2030.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
from typer.core import TyperGroup

from nevsim.cli._common import (
    EXIT_INTERRUPTED,
    STORE_HELP,
    check_writable,
    cli_errors,
    echo_json,
    output_console,
    print_table,
)
from nevsim.errors import InputError
from nevsim.results import CSV_FLOAT_FORMAT

if TYPE_CHECKING:
    import pandas as pd

    from nevsim.store import Store
    from nevsim.sweep import SweepSpec

SWEEP_PACKAGE = "nevsim.sweeps"

#: Headline figures per grid point: (key in --json, variable, year, column title, format).
HEADLINES: tuple[tuple[str, str, int, str, str], ...] = (
    ("ev_share_2030_pct", "Sales Share|Cars|EV", 2030, "EV % 2030", ".1f"),
    ("ev_share_2035_pct", "Sales Share|Cars|EV", 2035, "EV % 2035", ".1f"),
    ("credit_price_2030_cny", "Price|Credit|NEV", 2030, "credit CNY 2030", ",.0f"),
)

_SCHEDULER = re.compile(r"^tcp://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def list_shipped_sweeps() -> list[str]:
    """Names of the example sweeps shipped in ``nevsim/sweeps/``."""
    folder = resources.files(SWEEP_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_spec(sweep: str, draws: int | None = None) -> SweepSpec:
    """A sweep file path, or the name of a shipped sweep, validated (``draws`` overrides the file's)."""
    from nevsim.sweep import load_sweep_spec

    path = Path(sweep)
    if path.is_file() or sweep.endswith(".toml") or "/" in sweep or "\\" in sweep:
        if not path.is_file():
            raise InputError("SWEEP", f"no sweep file {sweep}", allowed=[*list_shipped_sweeps(), "a path to a .toml file"])
        return load_sweep_spec(path, draws=draws)
    resource = resources.files(SWEEP_PACKAGE) / f"{sweep}.toml"
    if not resource.is_file():
        raise InputError("SWEEP", f"no sweep file or shipped sweep {sweep!r}",
                         allowed=[*list_shipped_sweeps(), "a path to a .toml file"])
    with resources.as_file(resource) as file:
        return load_sweep_spec(file, draws=draws)


def check_scheduler(address: str | None) -> str | None:
    """``--scheduler`` must look like ``tcp://HOST:PORT`` (port 1–65535)."""
    if address is None:
        return None
    match = _SCHEDULER.match(address.strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        raise InputError("--scheduler", f"{address!r} is not a scheduler address.",
                         allowed=["tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786 (what `dask scheduler` prints)"])
    return address.strip()


def _console(stderr: bool = False) -> Any:
    return output_console(stderr=stderr)


def _num(value: Any, fmt: str) -> str:
    import math

    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(value, fmt)


def _cell(point: dict[str, Any], key: str, fmt: str, spread: bool) -> str:
    text = _num(point[key], fmt)
    if spread and point[key] is not None and point[f"{key}_p05"] != point[f"{key}_p95"]:
        text += f" ({_num(point[f'{key}_p05'], fmt)}–{_num(point[f'{key}_p95'], fmt)})"
    return text


# ---------------------------------------------------------------------------- reading the store


@contextmanager
def _read(store: Store) -> Iterator[Any]:
    if not store.path.exists():
        raise InputError("--store", f"no results store at {store.path}", allowed=["a store written by `nevsim sweep`"])
    with store._connect(write=False) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if not {"sweeps", "sweep_chunks", "series"} <= tables:
            raise InputError("--store", f"{store.path} holds no sweeps", allowed=["a store written by `nevsim sweep`"])
        yield con


def headlines(store: Store, sweep_id: str, spec: SweepSpec) -> list[dict[str, Any]]:
    """Per grid point: scenario, grid values, draws stored and the :data:`HEADLINES` over draws.

    Each headline ``key`` is the median over the point's draws, with ``key_p05`` and
    ``key_p95`` the 5th and 95th percentiles (linear interpolation; equal with one draw).

    Reads only the headline rows (not the whole sweep), so it stays quick for big sweeps; a
    figure the point does not have (a year after ``years.last``, an unfinished point) is None.
    """
    from nevsim.store import block_values_sql, schema_version
    from nevsim.sweep import _run_id

    wanted = "((variable = ? AND year IN (2030, 2035)) OR (variable = ? AND year = 2030))"
    with _read(store) as con:
        version = schema_version(con)
        if version >= 3:  # pick the headline cells first, then unnest only their blocks
            source = (f"(SELECT r.run_id, c.variable, c.year, unnest({block_values_sql(version)}) AS value "
                      "FROM series_cells c JOIN runs r ON r.run_key = c.run_key "
                      "JOIN series_values v ON v.run_key = c.run_key AND v.cell = c.cell "
                      f"WHERE r.run_id LIKE ? AND {wanted})")
        else:  # (an older store, read as it is)
            source = f"(SELECT run_id, variable, year, value FROM series WHERE run_id LIKE ? AND {wanted})"
        rows = con.execute(
            "SELECT run_id, variable, year, quantile_cont(value, 0.5), quantile_cont(value, 0.05), "
            f"quantile_cont(value, 0.95) FROM {source} GROUP BY ALL",
            [f"sweep-{sweep_id}-%", "Sales Share|Cars|EV", "Price|Credit|NEV"]).fetchall()
        done = dict(con.execute(
            "SELECT point_id, sum(draw_stop - draw_start) FROM sweep_chunks WHERE sweep_id = ? GROUP BY point_id",
            [sweep_id]).fetchall())
    values = {(r[0], r[1], int(r[2])): (float(r[3]), float(r[4]), float(r[5])) for r in rows}
    out = []
    for point_id, (scenario, grid) in enumerate(spec.points()):
        run_id = _run_id(sweep_id, point_id)
        record: dict[str, Any] = {"point_id": point_id, "run_id": run_id, "scenario": scenario, "grid": grid,
                                  "draws_done": int(done.get(point_id, 0))}
        for key, variable, year, _, _ in HEADLINES:
            median, p05, p95 = values.get((run_id, variable, year), (None, None, None))
            record.update({key: median, f"{key}_p05": p05, f"{key}_p95": p95})
        out.append(record)
    return out


def _resolve(store: Store, sweep: str) -> tuple[str, SweepSpec]:
    """The stored sweep, with its grid keys in the order the sweep ran them.

    The store keeps the sweep as canonical JSON with sorted keys, so the grid comes back in
    alphabetical order, while point ids follow the order written in the file. Each stored run
    records its point's grid values in that order (``runs.meta.sweep.grid``): the order is
    taken from there, so point ids and grid values match.
    """
    import json

    from nevsim.sweep import _resolve_sweep

    with _read(store) as con:
        sweep_id, spec = _resolve_sweep(con, sweep)
        row = con.execute("SELECT meta FROM runs WHERE run_id LIKE ? LIMIT 1", [f"sweep-{sweep_id}-%"]).fetchone()
    order = list((json.loads(row[0]).get("sweep") or {}).get("grid") or {}) if row else []
    if sorted(order) == sorted(spec.grid) and order != list(spec.grid):
        spec = spec.model_copy(update={"grid": {k: spec.grid[k] for k in order}})
    return sweep_id, spec


def print_points(points: list[dict[str, Any]], spec: SweepSpec, title: str) -> None:
    """The per-point headline table (rich) on stdout."""
    from rich.table import Table

    spread = spec.draws > 1
    table = Table(title=title, caption="medians over each point's draws" + (" (5–95 % range)" if spread else "")
                  + "; EV share: % of new cars; credit: NEV credit price, CNY per credit (0 when the credit "
                  "market is long)")
    table.add_column("point", justify="right")
    table.add_column("scenario")
    for key in spec.grid:
        table.add_column(key.rsplit(".", 1)[-1], justify="right")
    table.add_column("draws", justify="right")
    for _, _, _, name, _ in HEADLINES:
        table.add_column(name, justify="right")
    for p in points:
        table.add_row(str(p["point_id"]), p["scenario"], *(str(v) for v in p["grid"].values()),
                      f"{p['draws_done']}/{spec.draws}",
                      *(_cell(p, key, fmt, spread) for key, _, _, _, fmt in HEADLINES))
    print_table(table, key=["point"])  # too wide for the terminal: stacked tables, the point repeated


# ---------------------------------------------------------------------------- commands


def _run_with_progress(spec: SweepSpec, store: Store, pool: Any, workers: int | None, quiet: bool) -> Any:
    from nevsim.sweep import run_sweep

    if quiet or not sys.stderr.isatty():
        return run_sweep(spec, store, pool=pool, workers=workers)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("chunks"), TimeElapsedColumn(), TimeRemainingColumn(),
                  console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Sweep {spec.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_sweep(spec, store, pool=pool, workers=workers, progress=progress)


@cli_errors
def sweep_run_cmd(
    sweep: Annotated[str, typer.Argument(
        help="Sweep TOML file, or the name of a shipped sweep (e.g. learning-vs-pass-through).")],
    draws: Annotated[int | None, typer.Option(
        "--draws", help="Monte Carlo draws per grid point (overrides the file's `draws`).")] = None,
    scheduler: Annotated[str | None, typer.Option(
        "--scheduler", help="Dask scheduler address tcp://HOST:PORT (needs the `dist` extra); "
        "default: a local process pool.")] = None,
    workers: Annotated[int | None, typer.Option(
        "--workers", help="Local worker processes (default: one per CPU; 0 = run in this process).")] = None,
    store: Annotated[Path | None, typer.Option(
        "--store", help=STORE_HELP)] = None,
    connect_timeout: Annotated[float, typer.Option(
        "--connect-timeout", help="Seconds to wait for the Dask scheduler.")] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary and per-point headlines as JSON.")] = False,
) -> None:
    """Run a sweep (scenarios × parameter grid × draws), or resume it: finished chunks are skipped.

    Ctrl-C stops it with one line and exit code 130: every chunk committed so far stays stored, and running the same command again resumes.
    """
    try:
        _sweep_run(sweep, draws, scheduler, workers, store, connect_timeout, as_json)
    except KeyboardInterrupt:
        typer.echo(INTERRUPTED, err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Exception as exc:  # an error an interrupt caused on its way out (DuckDB's, a clean-up's)
        from nevsim.sweep import _interrupted

        if not _interrupted(exc):
            raise
        typer.echo(INTERRUPTED, err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None


INTERRUPTED = ("Interrupted — run the same command again to resume; nothing is lost "
               "(the chunks finished so far are stored).")


def _sweep_run(sweep: str, draws: int | None, scheduler: str | None, workers: int | None, store: Path | None,
               connect_timeout: float, as_json: bool) -> None:
    from nevsim._forkserver import deferred_sigint

    with deferred_sigint():  # (a Ctrl-C inside these imports aborted the process: exit 134, no message)
        import duckdb  # noqa: F401
        import pyarrow  # noqa: F401

    from nevsim.store import Store
    from nevsim.sweep import executor

    if workers is not None and workers < 0:
        raise InputError("--workers", f"must be ≥ 0, got {workers}.", allowed=["0 (in this process)", "1, 2, …"])
    if not connect_timeout > 0:
        raise InputError("--connect-timeout", f"must be > 0 seconds, got {connect_timeout}.")
    address = check_scheduler(scheduler)
    if address is not None and workers is not None:
        raise InputError("--workers", "sets local processes; with --scheduler the cluster's workers run the chunks",
                         allowed=["--scheduler", "--workers"])
    if draws is not None and draws < 1:
        raise InputError("--draws", f"must be ≥ 1, got {draws}.", allowed=["a whole number ≥ 1"])
    if address is None and workers != 0:
        from nevsim._forkserver import start_workers  # (before nevsim.sweep's imports)

        start_workers()  # local workers' fork server: warms up while the file is read and the store opened
    spec = load_spec(sweep, draws)
    st = Store(store)
    # Connect to the executor first: an unreachable scheduler fails before anything is written.
    with executor(address, workers, connect_timeout_s=connect_timeout) as pool:
        summary = _run_with_progress(spec, st, pool, workers, quiet=as_json)
    points = headlines(st, summary.sweep_id, spec)
    info = {"sweep_id": summary.sweep_id, "name": summary.name, "n_points": summary.n_points,
            "n_chunks": summary.n_chunks, "chunks_run": len(summary.ran), "chunks_skipped": len(summary.skipped),
            "draws": spec.draws, "seed": spec.seed, "precision": summary.precision,
            "seconds": round(summary.seconds, 3), "store": str(st.path),
            "executor": address or ("in-process" if workers == 0 else f"local pool ({workers or 'one per CPU'})"),
            **({"note": summary.note} if summary.note else {})}
    if as_json:
        echo_json({"sweep": info, "points": points})
        return
    if summary.note:
        _console().print(f"Note: {summary.note}.", markup=False, highlight=False)
    print_points(points, spec, f"nevsim sweep {summary.name} ({summary.sweep_id})")
    _console().print(
        f"Sweep [bold]{summary.sweep_id}[/]: {summary.n_points} points, {summary.n_chunks} chunks — "
        f"{len(summary.ran)} run now, {len(summary.skipped)} already done (skipped); {summary.seconds:.1f} s; "
        f"stored in {st.path} (runs sweep-{summary.sweep_id}-NNNNN; `nevsim sweep show {summary.sweep_id}`).")


@cli_errors
def sweep_list_cmd(
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """List the sweeps in the results store, newest first."""
    from nevsim.store import Store
    from nevsim.sweep import list_sweeps

    st = Store(store)
    frame = list_sweeps(st)
    if as_json:
        records = frame.assign(created=frame["created"].astype(str)).to_dict(orient="records")
        echo_json(records)
        return
    from rich.table import Table

    table = Table(title=f"Sweeps in {st.path}", caption=f"{len(frame)} sweep(s)")
    for name in ("sweep_id", "name", "created", "version", "points", "chunks done"):
        table.add_column(name)
    for r in frame.itertuples(index=False):
        table.add_row(str(r.sweep_id), str(r.name), str(r.created), str(r.version), str(r.n_points),
                      f"{r.chunks_done}/{r.n_chunks}")
    print_table(table, key=["sweep_id"])


@cli_errors
def sweep_show_cmd(
    sweep_id: Annotated[str, typer.Argument(help="Sweep id (a unique prefix is enough) or sweep name (newest).")],
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the sweep and per-point headlines as JSON.")] = False,
    csv: Annotated[Path | None, typer.Option(
        "--csv", help="Write the sweep's whole long series table (point_id, grid columns, …, draw) to this file.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --csv file.")] = False,
) -> None:
    """Show a stored sweep: its settings and, per grid point, the headline medians."""
    import json

    from nevsim.store import Store

    if as_json and csv is not None:
        raise InputError("--json/--csv", "choose one output.", ["--json", "--csv FILE"])
    if csv is not None:
        check_writable(csv, force=force, field="--csv", suffixes=(".csv",))
    st = Store(store)
    full_id, spec = _resolve(st, sweep_id)
    if csv is not None:
        from nevsim.sweep import _grid_column, load_sweep

        frame: pd.DataFrame = load_sweep(st, full_id)
        points = spec.points()  # grid columns from the run order (see _resolve), not the stored one
        for key in spec.grid:
            values = _grid_column([p[1][key] for p in points])
            frame[key] = values[frame["point_id"].to_numpy()]
        frame.to_csv(csv, index=False, float_format=CSV_FLOAT_FORMAT)
        typer.echo(f"Wrote {csv} ({len(frame):,} rows)")
        return
    points = headlines(st, full_id, spec)
    if as_json:
        echo_json({"sweep": {"sweep_id": full_id, **json.loads(spec.canonical()),
                             "scenario_uncertainty": spec.scenario_uncertainty, "makers": spec.makers,
                             "precision": spec.stored_precision},
                   "points": points})
        return
    print_points(points, spec, f"nevsim sweep {spec.name} ({full_id}): {spec.description}".rstrip(": "))
    _console().print(_settings(spec), markup=False, highlight=False)  # wrapped at words in a terminal


def _settings(spec: Any) -> str:
    """One line of a sweep's settings: what each draw samples, the draws, seed and chunks, what is stored."""
    if spec.draws == 1:
        sampled = "one deterministic run a point"
    elif spec.samples_scenarios:
        sampled = "each draw samples its scenario's [uncertainty]" + \
            (f" and {len(spec.distributions)} [distributions]" if spec.distributions else "")
    else:
        sampled = f"each draw samples only the sweep's [distributions] ({len(spec.distributions)})"
    return (f"Settings: {spec.draws:,} draws a point, seed {spec.seed}, chunks of {spec.chunk_draws:,}; {sampled}; "
            f"makers table {'stored' if spec.makers else 'not stored'}; values in {spec.stored_precision} precision"
            f"{' (about 7 significant digits)' if spec.stored_precision == 'single' else ''}.")


class _SweepGroup(TyperGroup):
    """``nevsim sweep FILE …`` means ``nevsim sweep run FILE …`` (a first word that is no subcommand)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def register(app: typer.Typer) -> None:
    """Add ``sweep [run] FILE``, ``sweep list`` and ``sweep show ID`` to the ``nevsim`` app."""
    sweep_app = typer.Typer(
        cls=_SweepGroup, no_args_is_help=True,
        help="Sweeps: scenarios × parameter grids × draws, on local processes or a Dask cluster. "
             "`nevsim sweep FILE` is short for `nevsim sweep run FILE`.")
    sweep_app.command("run")(sweep_run_cmd)
    sweep_app.command("list")(sweep_list_cmd)
    sweep_app.command("show")(sweep_show_cmd)
    app.add_typer(sweep_app, name="sweep")
