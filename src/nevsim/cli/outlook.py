"""CLI: ``nevsim outlook`` (the main job), ``nevsim runs list|delete`` and ``nevsim report RUN_ID``.

``nevsim outlook [SCENARIO]`` runs a scenario (a shipped name or a TOML path; default
``china-current-policies``), prints the headline table and the targets check, stores the run
(DuckDB, user data directory or ``--store``) and, with ``--out DIR``, writes ``series.csv``,
``series_iamc.csv``, ``makers.csv`` and ``report.html``. ``--json`` prints
``{"run": {...}, "series": [...], "targets": [...], "left_out": [...]}`` (``left_out``: the names of
the targets the check leaves out, :func:`nevsim.targets.check`); ``--csv`` prints the long table.
``--region US|EU|CN`` runs that region's default scenario (or checks that the scenario given is
of that region); ``--region all`` runs the three default scenarios and prints them side by side
(``--out`` then writes the comparison: :mod:`nevsim.compare`; ``--draws``/``--seed`` sample each
of the three as they would one).

Monte Carlo: ``--draws N --seed S`` samples the scenario's distributions (``[uncertainty]``;
``N`` from 1 to 100,000, default the scenario's ``uncertainty.draws``) and simulates all
draws vectorised, in blocks (progress bar over draws). Then the table shows medians over
draws and the 5–95 % range of the EV share; ``--json`` series records, ``--csv`` and the
``--out`` CSV files (series.csv, makers.csv) hold quantiles over draws — a ``quantile``
field/column with the fractions 0.05, 0.25, 0.5, 0.75, 0.95 — instead of one row per draw;
targets carry ``probability_met`` (share of draws meeting the target, 0–1). The store keeps
every draw; the HTML report draws fan charts (5–95 % and 25–75 % bands).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nevsim.cli._common import (
    HTML_SUFFIXES,
    STORE_HELP,
    check_folder,
    check_store_file,
    check_writable,
    cli_errors,
    count_column,
    echo_json,
    output_console,
    print_table,
)
from nevsim.errors import SEED_ALLOWED, InputError
from nevsim.results import CSV_FLOAT_FORMAT

if TYPE_CHECKING:
    import pandas as pd

    from nevsim.results import Results

DEFAULT_SCENARIO = "china-current-policies"
OUT_FILES = ("series.csv", "series_iamc.csv", "makers.csv", "report.html")


def _console(stderr: bool = False) -> Any:  # per call: writes to the current stdout (CliRunner, pipes)
    return output_console(stderr=stderr)


def _region_code(region: str | None) -> str | None:
    """``--region`` as a region code (aliases: China → CN, USA → US, EU27 → EU); ``all`` stays ``ALL``.

    Unknown codes raise :class:`InputError` listing the allowed ones.
    """
    if region is None:
        return None
    from nevsim.regions import DEFAULT_SCENARIOS
    from nevsim.results import REGION_NAMES

    key = region.strip()
    by_name = {v.casefold(): k for k, v in REGION_NAMES.items()}
    code = by_name.get(key.casefold(), key.upper())
    if code != "ALL" and code not in DEFAULT_SCENARIOS:
        raise InputError("--region", f"unknown region {region!r}.", allowed=[*DEFAULT_SCENARIOS, "all"])
    return code


def _num(v: Any, fmt: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return format(v, fmt)


def _target_value(t: Any) -> tuple[str, str]:
    """A target row's value with its unit (``2,000,000 vehicles``, ``20.0 %``), and the format of its numbers."""
    big = str(t.unit).startswith("vehicles")
    fmt = ",.0f" if big else ".1f"
    unit = "%" if t.unit == "percent" else ("vehicles" if big else str(t.unit))
    return f"{_num(t.target_value, fmt)} {unit}", fmt


#: Headline columns (header, variable, format, divisor): China's, and a region's own (nevsim.regions).
CHINA_COLUMNS = [("EV %", "Sales Share|Cars|EV", ".1f", 1.0), ("BEV %", "Sales Share|Cars|BEV", ".1f", 1.0),
                 ("PHEV %", "Sales Share|Cars|PHEV", ".1f", 1.0),
                 ("NEV % all veh.", "Sales Share|All Vehicles|NEV", ".1f", 1.0),
                 ("credit CNY", "Price|Credit|NEV", ",.0f", 1.0), ("EV stock M", "Stock|Cars|EV", ",.1f", 1e6),
                 ("public chargers k", "Chargers|Public", ",.0f", 1e3),
                 ("oil displaced kb/d", "Oil Displacement", ",.0f", 1.0), ("CO2 WTW Mt", "Emissions|CO2|Cars", ",.0f", 1.0),
                 ("subsidy+tax bn CNY", "Subsidy|Public Cost", ",.0f", 1.0),
                 ("trade-in bn CNY", "Trade-in|Public Cost", ",.0f", 1.0)]


def _columns(res: Results) -> list[tuple[str, str, str, float]]:
    present = res.labels()
    if "Price|Credit|NEV" in present:
        return CHINA_COLUMNS
    pairs = res.variables
    units = dict(zip(pairs["variable"], pairs["unit"], strict=False))
    cur = str(units.get("Price|Credit|Fleet CO2", "")).split("/")[0]
    region = [("ZEV-area EV %", "Sales Share|Cars|EV|ZEV Area", ".1f", 1.0),
              (f"ZEV credit {cur}", "Price|Credit|ZEV", ",.0f", 1.0),
              (f"CO2 credit {cur}", "Price|Credit|Fleet CO2", ",.0f", 1.0),
              ("new-car g/km", "Emissions|CO2|New Cars", ",.0f", 1.0)]
    region = [c for c in region if c[1] in present]
    money = str(units.get("Subsidy|Public Cost", "")).removeprefix("billion ") or cur
    cost = [(f"incentives bn {money}", "Subsidy|Public Cost", ",.0f", 1.0)] if "Subsidy|Public Cost" in present else []
    return CHINA_COLUMNS[:3] + region + CHINA_COLUMNS[5:9] + cost  # no trade-in scheme outside China


def _caption(res: Results) -> str:
    """The headline table's caption, for the columns it shows: which hold observations in the
    history years and which are modelled (:func:`nevsim.report.history_caption`), and the bases."""
    from nevsim.report import history_caption

    labels = {var: name for name, var, _, _ in _columns(res)}
    basis = "EV shares: % of new cars (IEA basis)"
    if "Sales Share|All Vehicles|NEV" in labels:
        basis += f"; {labels['Sales Share|All Vehicles|NEV']}: NEV share of all new vehicles, CAAM basis (an estimate)"
    if "Sales Share|Cars|EV|ZEV Area" in labels:
        basis += f"; {labels['Sales Share|Cars|EV|ZEV Area']}: EV share in California and the states that adopted its ZEV rule"
    return f"{history_caption(res, labels, lead='(hist) = history years')} {basis}.".lstrip()


def _headline_rows(res: Results, all_years: bool) -> list[list[str]]:
    from nevsim.report import ev_share_band, report_years

    years = report_years(res, all_years=all_years)
    columns = _columns(res)
    s = res._rows("series", variables=[var for _, var, _, _ in columns])
    med = s[s["year"].isin(years)].groupby(["variable", "year"], observed=True)["value"].median()

    def get(var: str, y: int) -> float:
        return float(med.get((var, y), float("nan")))

    hist = res.meta.get("history_last_year")
    band = ev_share_band(res, years)
    rows = []
    for y in years:
        rng = [] if band is None else [f"{_num(float(band.loc[y, 0.05]), '.1f')}–{_num(float(band.loc[y, 0.95]), '.1f')}"
                                       if y in band.index else "–"]
        cells = [_num(get(var, y) / div, fmt) for _, var, fmt, div in columns]
        rows.append([f"{y}{' (hist)' if hist is not None and y <= hist else ''}", cells[0], *rng, *cells[1:]])
    return rows


def _draws(res: Results) -> int:
    return res.n_draws


def quantile_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Quantiles over draws (0.05, 0.25, 0.5, 0.75, 0.95) of a long table with a ``draw`` column.

    Columns: the table's keys, ``quantile`` (a fraction) and ``value``; label columns as strings.
    """
    from nevsim.uncertainty import DEFAULT_QUANTILES, quantiles

    q = quantiles(frame, DEFAULT_QUANTILES)
    for col in q.columns:
        if str(q[col].dtype) == "category":
            q[col] = q[col].astype(str)
    return q


def print_outlook(res: Results, targets: pd.DataFrame, *, all_years: bool = False) -> None:
    """The readable outlook: headline table and targets check (rich tables on stdout)."""
    import pandas as pd
    from rich.table import Table

    from nevsim.results import region_name

    console = _console()
    meta = res.meta
    title = (f"nevsim outlook — {meta.get('scenario', '?')} ({', '.join(region_name(r) for r in res.regions)}), "
             f"hash {str(meta.get('scenario_hash', '?'))[:12]}, nevsim {meta.get('nevsim_version', '?')}")
    n = _draws(res)
    walk = ((res.scenario or {}).get("uncertainty") or {}).get("residual_walk")
    covers = ("parameters and the residual walk (structural)" if walk
              else "parameters only; --residual-walk adds structural uncertainty")
    mc = (f" Values are medians over {n:,} draws (seed {meta.get('seed', '?')}), each column its own (BEV % + "
          f"PHEV % need not equal EV %); EV 5–95 % = range of the middle 90 % of draws ({covers}).") if n > 1 else ""
    table = Table(title=title, caption=_caption(res) + mc)
    names = [name for name, *_ in _columns(res)]
    for name in ("year", names[0], *(["EV 5–95 %"] if n > 1 else []), *names[1:]):
        table.add_column(name, justify="left" if name == "year" else "right", no_wrap=name == "year")
    for row in _headline_rows(res, all_years):
        table.add_row(*row)
    print_table(table, console=console)  # too wide for the terminal: stacked tables, the year repeated

    tt = Table(title="Targets check", caption="gap = projected − target (target unit); first met: from the "
               "year the target was announced; full sources and comparison notes: --json or the report.")
    widths = {"target": 34, "source": 36, "compared with": 30}
    for name in ("target", "source", "binding", "year", "target value", "projected", "gap", "met",
                 *(["P(met)"] if n > 1 else []), "first met", "compared with"):
        tt.add_column(name, justify="right" if name in ("projected", "gap") else "left",
                      max_width=widths.get(name), overflow="ellipsis" if name == "source" else "fold",
                      no_wrap=name == "source")
    for t in targets.itertuples(index=False):
        value, fmt = _target_value(t)
        met = "–" if pd.isna(t.met) else ("yes" if bool(t.met) else "no")
        first = "–" if pd.isna(t.first_year_met) else str(int(t.first_year_met))
        compared = (str(t.compared_variable) if isinstance(t.compared_variable, str)
                    else str(t.compared_with).split(":")[0] if str(t.compared_with).startswith("not ")
                    else "not modelled")
        prob = [] if n == 1 else [_num(getattr(t, "probability_met", float("nan")), ".0%")]
        tt.add_row(str(t.label), str(t.source).split(" (")[0], "yes" if t.binding else "no", str(t.year),
                   value, _num(t.projected_value, fmt), _num(t.gap, fmt), met,
                   *prob, first, compared)
    print_table(tt, console=console, key=["target"], optional=("compared with", "source"),
                see="--json, or the report: --out DIR")
    from nevsim.targets import left_out_text

    if left := left_out_text(targets.attrs.get("left_out", [])):
        console.print(f"[dim]{left}[/]")
    solver = (meta.get("solver") or {}).get("credit_market") or {}
    if solver and not solver.get("all_converged", True):
        console.print("[bold red]Warning:[/] the credit market did not converge in every year "
                      "(see run meta 'solver').")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _run_with_progress(scenario: Any, quiet: bool, draws: int | None = None, seed: int | None = None) -> Results:
    from nevsim.simulate import run

    n = scenario.draws if draws is None else draws
    if quiet or not sys.stderr.isatty():
        return run(scenario, draws=draws, seed=seed)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    unit = "draws" if n > 1 else "years"
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  count_column(unit), TimeElapsedColumn(),
                  console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Simulating {scenario.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run(scenario, progress=progress, draws=draws, seed=seed)


@cli_errors
def outlook_cmd(
    scenario: Annotated[str | None, typer.Argument(
        help="Shipped scenario name or path to a TOML file (default: the region's default scenario).")] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="CN, US, EU, or all (the three default scenarios side by side).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print run, series and targets as JSON.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print the long series table as CSV.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Directory for series.csv, series_iamc.csv, makers.csv and report.html "
                      "(with --region all: comparison.csv, targets.csv, comparison.html).")] = None,
    store: Annotated[Path | None, typer.Option(
        "--store", help=STORE_HELP)] = None,
    no_store: Annotated[bool, typer.Option("--no-store", help="Do not write the run to the store.")] = False,
    precision: Annotated[str, typer.Option(
        "--precision", help="How the store keeps the draws: double (every bit) or single (about 7 significant "
                            "digits, half the file size: for runs of many draws).")] = "double",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files in --out.")] = False,
    all_years: Annotated[bool, typer.Option("--all-years", help="Show every year, not every fifth.")] = False,
    draws: Annotated[int | None, typer.Option(
        "--draws", help="Monte Carlo draws, 1 to 100,000 (default: the scenario's uncertainty.draws); "
                        "outputs become quantiles over draws.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Random seed of the draws, ≥ 0 (default: the scenario's uncertainty.seed).")] = None,
    residual_walk: Annotated[bool, typer.Option(
        "--residual-walk", help="Structural uncertainty: with the draws, let the calibrated plug-in constant "
                                "drift after the data cutoff as a random walk with its historical yearly "
                                "step (uncertainty.residual_walk). Ranges widen a lot; needs --draws N > 1.")] = False,
) -> None:
    """Run a scenario: headline table, targets check, store the run, write files with --out."""
    from nevsim.scenario import MAX_DRAWS, load_scenario

    if draws is not None and not 1 <= draws <= MAX_DRAWS:
        raise InputError("--draws", f"{draws} is outside 1–{MAX_DRAWS:,}.", [f"1 to {MAX_DRAWS}"])
    if seed is not None and seed < 0:
        raise InputError("--seed", f"{seed} is negative.", [SEED_ALLOWED])
    if as_json and as_csv:
        raise InputError("--json/--csv", "choose one output format.", ["--json", "--csv"])
    code = _region_code(region)
    from nevsim.store import PRECISIONS

    if precision not in PRECISIONS:
        raise InputError("--precision", f"unknown precision {precision!r}.", list(PRECISIONS))
    if no_store and precision != "double":
        raise InputError("--precision", "sets how the store keeps the run, and --no-store stores nothing.",
                         ["--precision without --no-store", "--no-store alone"])
    if not no_store:  # refuse before running, not after
        from nevsim.store import default_path

        check_folder((store.expanduser() if store is not None else default_path()).absolute().parent, field="--store")
        if store is not None and store.is_dir():
            raise InputError("--store", f"{store} is a folder; give a file path such as {store / 'runs.duckdb'}.")
        check_store_file(store)  # (an existing file that is not a store, damaged or held by another process)
    if out is not None:  # refuse before running, not after
        check_folder(out, field="--out")
        for name in OUT_FILES if code != "ALL" else ():
            check_writable(out / name, force=force, field="--out", create_folder=True)
    if code == "ALL":
        if scenario is not None:
            raise InputError("--region", "'all' runs the three default scenarios; give no scenario with it.",
                             allowed=["CN", "US", "EU"])
        _outlook_all(as_json=as_json, as_csv=as_csv, out=out, store=store, no_store=no_store, all_years=all_years,
                     force=force, draws=draws, seed=seed, residual_walk=residual_walk, precision=precision)
        return
    if scenario is None:
        from nevsim.regions import default_scenario

        scenario = default_scenario(code) if code is not None else DEFAULT_SCENARIO
    scen = load_scenario(scenario)
    if residual_walk:
        scen = scen.with_residual_walk(draws, "--residual-walk", "--draws")
    if code is not None and code != scen.region:
        raise InputError("--region", f"scenario {scen.name!r} simulates region {scen.region}, not {code}.",
                         allowed=[scen.region])
    scen.check_draws(draws, "--draws")
    scen.check_seed(seed, draws, "--seed", "--draws")
    res = _run_with_progress(scen, quiet=as_json or as_csv, draws=draws, seed=seed)
    targets = res.targets()
    many = _draws(res) > 1

    stored: dict[str, Any] = {"stored": False}
    if not no_store:
        from nevsim.store import Store

        st = Store(store)
        run_id = st.save(res, precision=precision)
        stored = {"stored": True, "store": str(st.path), "run_id": run_id}
    written: list[str] = []
    if out is not None:
        from nevsim.report import write_html

        out.mkdir(parents=True, exist_ok=True)
        if many:  # quantiles over draws (the store keeps every draw)
            quantile_table(res.series).to_csv(out / "series.csv", index=False, float_format=CSV_FLOAT_FORMAT)  # read only: no copy
            quantile_table(res.makers).to_csv(out / "makers.csv", index=False, float_format=CSV_FLOAT_FORMAT)
        else:
            res.to_csv(out / "series.csv")
            res.to_csv(out / "makers.csv", table="makers")
        res.to_iamc_csv(out / "series_iamc.csv")
        write_html(res, out / "report.html")
        written = [str(out / n) for n in OUT_FILES]

    if as_json:
        run_info = {**res.meta, **stored, "files": written}
        if many:
            cols = ["region", "variable", "unit", "year", "draw", "value"]
            series = quantile_table(res.series[cols])[["region", "variable", "unit", "year", "quantile", "value"]]
        else:
            series = res.series[["region", "variable", "unit", "year", "value"]]
        echo_json({"run": run_info, "series": _records(series), "targets": _records(targets),
                   "left_out": list(targets.attrs.get("left_out", []))})
        return
    if as_csv:
        frame = quantile_table(res.series) if many else res.to_frame()
        typer.echo(frame.to_csv(index=False, float_format=CSV_FLOAT_FORMAT), nl=False)
        return
    print_outlook(res, targets, all_years=all_years)
    console = _console()
    if stored["stored"]:
        console.print(f"Run [bold]{stored['run_id']}[/] stored in {stored['store']}")
    for path in written:
        console.print(f"Wrote {path}")


def _outlook_all(*, as_json: bool, as_csv: bool, out: Path | None, store: Path | None, no_store: bool,
                 all_years: bool, force: bool, draws: int | None = None, seed: int | None = None,
                 residual_walk: bool = False, precision: str = "double") -> None:
    """``--region all``: the default scenarios of CN, US and EU, side by side.

    ``draws``/``seed`` apply to each of the three runs as to one (default: each scenario's own
    ``uncertainty.draws``/``seed``); with more than one draw the table shows medians and the
    targets P(met), and ``--json``/``--csv`` series are quantiles over draws (a ``quantile``
    field), as for one region.
    """
    from nevsim import compare
    from nevsim.regions import DEFAULT_SCENARIOS
    from nevsim.scenario import load_scenario

    if out is not None:
        for name in compare.COMPARISON_FILES:  # refuse before running, not after
            check_writable(out / name, force=force, field="--out", create_folder=True)
    scenarios = [load_scenario(name) for name in DEFAULT_SCENARIOS.values()]
    if residual_walk:
        scenarios = [scen.with_residual_walk(draws, "--residual-walk", "--draws") for scen in scenarios]
    for scen in scenarios:
        scen.check_draws(draws, "--draws")
        scen.check_seed(seed, draws, "--seed", "--draws")
    runs = [_run_with_progress(scen, quiet=as_json or as_csv, draws=draws, seed=seed) for scen in scenarios]
    many = max(_draws(r) for r in runs) > 1
    stored: list[dict[str, Any]] = []
    if not no_store:
        from nevsim.store import Store

        st = Store(store)
        stored = [{"scenario": r.meta.get("scenario"), "run_id": st.save(r, precision=precision), "store": str(st.path)}
                  for r in runs]
    written = [str(p) for p in compare.write_comparison(runs, out)] if out is not None else []
    targets = compare.targets_table(runs)
    if as_json or as_csv:
        cols = ["scenario", "region", "variable", "unit", "year", "value"]
        series = compare.series_table(runs)
        if many:  # quantiles over draws, each run's own (the store keeps every draw)
            series = quantile_table(series[[*cols[:-1], "draw", "value"]])[[*cols[:-1], "quantile", "value"]]
        else:
            series = series[cols]
        if as_csv:
            typer.echo(series.to_csv(index=False, float_format=CSV_FLOAT_FORMAT), nl=False)
            return
        echo_json({"runs": [{**r.meta} for r in runs], "stored": stored, "files": written,
                   "series": _records(series), "targets": _records(targets),
                   "left_out": targets.attrs.get("left_out", {})})
        return
    from rich.table import Table

    from nevsim.report import report_years
    from nevsim.results import region_name

    wide = compare.share_table(runs)
    years = report_years(runs[0], all_years=all_years)
    console = _console()
    n = max(_draws(r) for r in runs)
    mc = (f" Values are medians over {n:,} draws a region (seed {runs[0].meta.get('seed', '?')}), each column "
          "its own." if many else "")
    table = Table(title="nevsim outlook — EV share of new cars (%), regions side by side",
                  caption="In history years (to each run's last history year) the EV share is fitted to the "
                          "observed IEA/OWID share."
                          + mc)
    table.add_column("year")
    runs_of = {label: (run, code) for label, run, code in compare.columns(runs)}
    for label in wide.columns:
        run, code = runs_of[label]
        table.add_column(f"{region_name(code)} ({code})\n{run.meta.get('scenario')}", justify="right")
    for y in years:
        if y in wide.index:
            table.add_row(str(y), *[_num(float(wide.loc[y, c]), ".1f") for c in wide.columns])
    print_table(table, console=console)
    tt = Table(title="Targets check (all regions)",
               caption="– in projected/met: not compared by the model (the reason: --json, compared_with).")
    for name in ("region", "target", "binding", "year", "target value", "projected", "met",
                 *(["P(met)"] if many else []), "first met"):
        tt.add_column(name)
    import pandas as pd

    for t in targets.itertuples(index=False):  # (every row: one the model cannot compare shows –)
        prob = [_num(getattr(t, "probability_met", float("nan")), ".0%")] if many else []
        value, fmt = _target_value(t)
        tt.add_row(str(t.region), str(t.label), "yes" if t.binding else "no", str(t.year), value,
                   _num(t.projected_value, fmt), "–" if pd.isna(t.met) else ("yes" if bool(t.met) else "no"),
                   *prob, "–" if pd.isna(t.first_year_met) else str(int(t.first_year_met)))
    print_table(tt, console=console, key=["region", "target"])
    if left := compare.left_out_text(targets):
        console.print(f"[dim]{left}[/]")
    for s in stored:
        console.print(f"Run [bold]{s['run_id']}[/] ({s['scenario']}) stored in {s['store']}")
    for path in written:
        console.print(f"Wrote {path}")


@cli_errors
def runs_list_cmd(
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON records.")] = False,
) -> None:
    """List the runs in the results store, newest first."""
    import pandas as pd

    from nevsim.store import Store

    st = Store(store)
    runs = st.list_runs()
    if as_json:
        runs = runs.assign(created=runs["created"].astype(str))
        echo_json(_records(runs))
        return
    from rich.table import Table

    empty = "" if Path(st.path).exists() else " (no store file there yet: check the path)"
    table = Table(title=f"Runs in {st.path}", caption=f"{len(runs)} run(s){empty}")
    for name in ("run_id", "scenario", "hash", "created", "version", "regions", "years", "history to", "draws"):
        table.add_column(name, justify="right" if name == "draws" else "left")
    for r in runs.itertuples(index=False):
        draws = "" if pd.isna(r.draws) else f"{int(r.draws):,}"  # <NA>: not recorded
        table.add_row(str(r.run_id), str(r.scenario), str(r.hash)[:12], str(r.created), str(r.version),
                      str(r.regions), f"{r.first_year}–{r.last_year}", str(r.history_last_year), draws)
    print_table(table, key=["run_id"], optional=("version", "hash"), see="--json")


@cli_errors
def runs_delete_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
) -> None:
    """Delete a run from the results store."""
    from nevsim.store import Store

    full = Store(store).delete(run_id)
    typer.echo(f"Deleted run {full}")


@cli_errors
def report_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id from `nevsim runs list` (a unique prefix is enough).")],
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    store: Annotated[Path | None, typer.Option("--store", help=STORE_HELP)] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write the HTML report of a stored run."""
    from nevsim.report import write_html
    from nevsim.store import Store

    check_writable(out, force=force, field="--out", suffixes=HTML_SUFFIXES)
    res = Store(store).load(run_id)
    write_html(res, out)
    typer.echo(f"Wrote {out}")


def register(app: typer.Typer) -> None:
    """Add ``outlook``, ``runs list|delete`` and ``report`` to the ``nevsim`` app."""
    app.command("outlook")(outlook_cmd)
    runs_app = typer.Typer(help="Runs in the results store: list, delete.", no_args_is_help=True)
    runs_app.command("list")(runs_list_cmd)
    runs_app.command("delete")(runs_delete_cmd)
    app.add_typer(runs_app, name="runs")
    app.command("report")(report_cmd)
