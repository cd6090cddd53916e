"""CLI: ``nevsim data list``, ``nevsim data show NAME`` and ``nevsim history``.

All three read only the data bundled with the package (no network). Bad input (unknown dataset,
region, file type) prints one message listing the allowed values and exits with code 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from nevsim import data
from nevsim.cli._common import check_writable, cli_errors, echo_json, output_console, print_table
from nevsim.errors import InputError, year_span

_SHOW_ROWS = 20

#: Decimals of the history table's share column (percent): one fixed number of decimals, so the
#: column reads 0.01 … 1.00 … 53.00 rather than 0.034, 1, 1.5, 5 (the IEA gives two significant figures).
SHARE_DECIMALS = 2


def _fmt(value: object) -> str:
    """Readable cell: thousands separators for big numbers, 3 significant figures for small ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 1:
            return f"{value:,.0f}"
        return f"{value:.3g}"
    return str(value)


def _console():  # created per call so it writes to the current stdout (CliRunner, pipes)
    return output_console()  # a terminal's width; a pipe's: wide (cli._common.print_table fits the tables)


def _records(frame: pd.DataFrame) -> list[dict[str, object]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


@cli_errors
def data_list(json: Annotated[bool, typer.Option("--json", help="Print the catalog as JSON records.")] = False) -> None:
    """List the bundled datasets and fact tables with source, licence, rows and years."""
    cat = data.catalog()
    if json:
        echo_json(_records(cat))
        return
    from rich.table import Table

    table = Table(title="nevsim bundled data", caption="Details: nevsim data list --json · licences: "
                  "nevsim/data/files/LICENSES.md", show_lines=False)
    for col, style in (("name", "bold"), ("kind", ""), ("title", ""), ("edition", ""), ("licence", ""),
                       ("rows", ""), ("years", "")):
        table.add_column(col, style=style or None, justify="right" if col == "rows" else "left")
    for row in cat.itertuples(index=False):
        table.add_row(row.name, row.kind, row.title, row.edition, row.licence, f"{row.rows:,}", row.years)
    print_table(table, key=["name"])


@cli_errors
def data_show(
    name: Annotated[str, typer.Argument(help="Dataset name (see: nevsim data list).")],
    region: Annotated[str | None, typer.Option("--region", "-r", help="Region, e.g. China, USA, EU27 (aliases CN, US, EU).")] = None,
    until: Annotated[int | None, typer.Option("--until", help="Hard cutoff year: no row after it, and no projection rows (what was observed by then).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", min=0,
                                              help=f"Rows to show (table default {_SHOW_ROWS}, JSON default all; 0 = all).")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print rows as JSON records.")] = False,
) -> None:
    """Show the rows of one dataset, optionally for one region and up to a cutoff year."""
    frame = data.load(name, region=region, until=until)
    column = data.cutoff_column(name)
    if frame.empty and until is not None and column is not None:  # (an empty table says nothing: say what works)
        years = data.load(name, region=region)[column].dropna()
        if not years.empty:
            where = f" for {region}" if region else ""
            raise InputError("--until", f"no row of {name}{where} up to {until}: its {column} column covers "
                                        f"{year_span(years)}.", allowed=[f"{int(years.min())} or later"])
    total = len(frame)
    n = limit if limit is not None else (0 if json else _SHOW_ROWS)
    shown = frame if n == 0 else frame.head(n)
    if json:
        echo_json(_records(shown))
        return
    from rich.table import Table

    meta = data.info(name)
    table = Table(title=f"{name}: {meta.title}",
                  caption=f"{len(shown):,} of {total:,} rows · {meta.citation}")
    for col in shown.columns:
        table.add_column(col, justify="right" if shown[col].dtype.kind in "if" else "left", overflow="fold")
    for row in shown.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    print_table(table)


_WIDE = {
    "EV sales share": "EV share of new cars (%)",
    "BEV sales": "BEV sales",
    "PHEV sales": "PHEV sales",
    "EV stock": "EV stock",
    "Public chargers": "Public chargers",
}


def history_wide(hist: pd.DataFrame) -> pd.DataFrame:
    """Year × variable table of :func:`nevsim.data.history` output (display order, display names)."""
    wide = hist.pivot_table(index="year", columns="variable", values="value", aggfunc="first")
    wide = wide.reindex(columns=[v for v in _WIDE if v in wide.columns]).rename(columns=_WIDE)
    return wide.sort_index()


@cli_errors
def history_cmd(
    region: Annotated[str, typer.Option("--region", "-r", help="Region, e.g. China, USA, EU27, Europe, World (aliases CN, US, EU).")] = "China",
    until: Annotated[int | None, typer.Option("--until", help="Hard cutoff year: no data after it.")] = None,
    json: Annotated[bool, typer.Option("--json", help="Print records {region, variable, unit, year, value, source}.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a chart: .html (interactive, offline) or .png (needs kaleido).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """EV history of a region (newest IEA edition) with its targets beside it."""
    if plot is not None:
        from nevsim.data.plot import PLOT_SUFFIXES

        check_writable(plot, force=force, field="--plot", suffixes=PLOT_SUFFIXES)
    try:
        hist = data.history(region, until=until)
    except InputError as exc:  # (name the flag the user typed)
        if exc.field not in ("region", "until"):
            raise
        raise InputError(f"--{exc.field}", exc.message, allowed=exc.allowed) from None
    canonical = hist.attrs["region"]
    if hist.empty and until is not None:  # (an empty table would say nothing; the years say what works)
        years = data.history(canonical)["year"]
        if not years.empty:
            raise InputError("--until", f"no data up to {until}: the history of {canonical} covers "
                                        f"{year_span(years)}.", allowed=[f"{int(years.min())} or later"])
    targets = data.load("targets", region=canonical, until=until) if canonical in data.regions("targets") else None
    if plot is not None:
        from nevsim.data.plot import history_figure, write_figure

        write_figure(history_figure(hist, targets), plot)
        typer.echo(f"Wrote {plot}", err=True)
    if json:
        echo_json(_records(hist))
        return
    _print_history(hist, targets, canonical)


def _print_history(hist: pd.DataFrame, targets: pd.DataFrame | None, region: str) -> None:
    from rich.table import Table

    console = _console()
    wide = history_wide(hist)
    owid_years = set(hist.loc[hist["source"].str.startswith("Our World in Data"), "year"])
    title = f"{region}: electric cars, history (IEA Global EV Outlook 2025)"
    table = Table(title=title, caption="Sources: " + "; ".join(hist.attrs.get("sources", [])),
                  min_width=len(title))  # (the title on one line, however few columns)
    table.add_column("year", justify="right", style="bold")
    for col in wide.columns:
        table.add_column(col, justify="right")
    share = _WIDE["EV sales share"]

    def cell(column: str, v: object) -> str:
        if column == share and isinstance(v, float) and not math.isnan(v):
            return f"{v:.{SHARE_DECIMALS}f}"
        return _fmt(v)

    for year, row in wide.iterrows():
        mark = " *" if year in owid_years else ""
        table.add_row(str(year), *(cell(c, v) + (mark if c == share and not pd.isna(v) else "")
                                   for c, v in zip(wide.columns, row.tolist(), strict=True)))
    print_table(table, console=console)
    if owid_years:
        console.print(f"* {', '.join(map(str, sorted(owid_years)))}: share from Our World in Data "
                      "(IEA-based, newer release; vintage unconfirmed).")
    if targets is None or targets.empty:
        console.print(f"No targets recorded for {region} in the fact tables.")
        return
    tt = Table(title=f"{region}: targets (each counts something different — read the metric)")
    for col in ("year", "target", "what it counts", "binding", "issuer (year issued)", "source [status]"):
        tt.add_column(col, overflow="fold", justify="right" if col in ("year", "target") else "left")
    for r in targets.sort_values(["year", "announced"]).itertuples(index=False):
        approx = {"approx": "≈ ", "more_than": "> "}.get(r.qualifier, "")
        unit = "%" if r.unit == "percent" else f" {r.unit}"
        tt.add_row(str(r.year), f"{approx}{_fmt(r.value)}{unit}", r.metric, "yes" if r.binding else "no",
                   f"{r.issuer} ({r.announced})", f"{r.source_key.replace(';', ', ')} [{r.status}]")
    print_table(tt, console=console, key=["year", "target"])
    console.print("Status: V seen in the cited source; S secondary source only; U unconfirmed.")


def register(app: typer.Typer) -> None:
    """Add ``data list``, ``data show`` and ``history`` to the nevsim app."""
    data_app = typer.Typer(help="Bundled datasets: list them, show one.", no_args_is_help=True)
    data_app.command("list")(data_list)
    data_app.command("show")(data_show)
    app.add_typer(data_app, name="data")
    app.command("history")(history_cmd)
