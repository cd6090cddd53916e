"""CLI: ``nevsim backtest [SCENARIO] --region CN --cutoff YEAR | --cutoffs Y1,Y2,… [--through YEAR]
[--policies enacted|as-known] [--draws N --seed S] [--json] [--plot FILE] [--force]`` (issue 5).

Scenario and region follow :func:`nevsim.backtest.resolve_scenario_region`: a region alone runs
its default scenario, a scenario alone its own region, both must agree.

Prints the MAE (percentage points) of the model and the four baselines per cutoff and pooled,
then the plain-language reading (where the model loses). ``--json`` prints
``{"scenario", "region", "variable", "through", "policies", "unit", "cutoffs": [{"cutoff",
"forecasts": [...], "mae": {...}}]}``; ``--plot FILE.html`` writes the
forecast-fan chart (never over an existing file without ``--force``). ``--policies as-known``
runs each cutoff with China's rules as issued by the end of that year (default ``enacted``).
``--draws N`` samples the scenario's uncertainty N times per cutoff: the model's forecast is then
the median, its 5–95 % band is drawn as a fan and scored by how many actuals it holds.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nevsim.cli._common import (
    HTML_SUFFIXES,
    check_writable,
    cli_errors,
    count_column,
    echo_json,
    output_console,
)
from nevsim.cli._common import print_table as print_fitted
from nevsim.errors import InputError


def _console(stderr: bool = False) -> Any:
    return output_console(stderr=stderr)


def _parse_cutoffs(cutoff: int | None, cutoffs: str | None) -> list[int] | None:
    from nevsim.backtest import parse_cutoffs

    if cutoff is not None and cutoffs is not None:
        raise InputError("--cutoffs", "give either --cutoff YEAR or --cutoffs Y1,Y2,…, not both.",
                         allowed=["--cutoff 2021", "--cutoffs 2018,2019,2020,2021,2022"])
    if cutoff is not None:
        return [cutoff]
    return parse_cutoffs(cutoffs, field="--cutoffs")  # the Python API's rule: no empty entry, no repeat


#: Fields of :func:`nevsim.backtest.backtest`'s errors → the flags that set them.
FLAGS = {"region": "--region", "cutoffs": "--cutoffs", "through": "--through", "policies": "--policies",
         "draws": "--draws", "seed": "--seed"}


def _as_flags(exc: InputError, *, single_cutoff: bool) -> InputError:
    """The same error naming the flag instead of the Python argument."""
    flag = "--cutoff" if exc.field == "cutoffs" and single_cutoff else FLAGS.get(exc.field, exc.field)
    return InputError(flag, exc.message, allowed=exc.allowed)


def _fmt(value: Any, spec: str = ".1f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return format(float(value), spec)


def print_table(bt: Any) -> None:
    """MAE per method per cutoff and pooled (best of each row in bold), then the summary text."""
    from rich.table import Table

    from nevsim.backtest import POLICY_VIEWS

    mae = bt.mae()
    methods = list(mae.columns)
    through = bt.meta.get("through")
    scenario = bt.meta.get("scenario")
    who = f"{scenario} ({bt.meta.get('region')})" if scenario else f"{bt.meta.get('region')}, baselines only"
    title = f"MAE (points), EV share of new cars, {who}, forecasts through {through}"
    if "model" in methods:
        title += f", policies {bt.meta.get('policies', 'enacted')}"
    table = Table(title=title)
    table.add_column("cutoff")
    table.add_column("years", justify="right")
    for m in methods:
        table.add_column(m, justify="right")
    counts = bt.scores.assign(cutoff=bt.scores["cutoff"].astype("string").fillna("pooled")) \
        .groupby("cutoff")["n"].first()
    for label, row in mae.iterrows():
        best = min(methods, key=lambda m: row[m])
        cells = [f"[bold]{_fmt(row[m])}[/bold]" if m == best else _fmt(row[m]) for m in methods]
        table.add_row(str(label), str(int(counts.get(label, 0))), *cells)
    pooled = bt.scores[bt.scores["cutoff"].isna()].set_index("method")["mape_pct"]
    table.add_row("MAPE pooled", "", *[f"{_fmt(pooled.get(m), '.0f')} %" for m in methods])
    console = _console()
    print_fitted(table, console=console)  # too wide for the terminal: stacked tables, the cutoff repeated
    if bt.has_bands:
        cov = bt.coverage()
        band = Table(title=f"Model 5–95 % band over {bt.meta.get('draws')} draws: coverage, width and interval score")
        for col, just in (("cutoff", "left"), ("actuals", "right"), ("inside the band", "right"),
                          ("mean width (points)", "right"), ("interval score (points)", "right")):
            band.add_column(col, justify=just)  # type: ignore[arg-type]
        for label, row in cov.iterrows():
            band.add_row(str(label), str(int(row["n"])), f"{_fmt(row['coverage_pct'], '.0f')} %",
                         _fmt(row["band_width_pp"]), _fmt(row["interval_score_pp"]))
        print_fitted(band, console=console)
    console.print(bt.summary(), markup=False, highlight=False)
    if "model" in methods:
        from nevsim.policy._tables import KNOWN_AT_REGIONS

        view = bt.meta.get("policies", "enacted")
        other = next((v for v in POLICY_VIEWS if v != view), view)
        hint = f" (the other view: --policies {other})" if bt.meta.get("region") in KNOWN_AT_REGIONS else ""
        console.print(f"Policy view: --policies {view}{hint}.", markup=False, highlight=False)


def _run(scenario: Any, region: str, cutoffs: list[int] | None, through: int | None, quiet: bool,
         policies: str = "enacted", draws: int | None = None, seed: int | None = None) -> Any:
    from nevsim.backtest import backtest

    name = getattr(scenario, "name", scenario)
    if quiet or not sys.stderr.isatty():
        return backtest(scenario, region=region, cutoffs=cutoffs, through=through, policies=policies,
                        draws=draws, seed=seed)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  count_column("cutoffs", decimals=1), TimeElapsedColumn(),
                  console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task(f"Back-testing {name}", total=None)

        def progress(done: float, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return backtest(scenario, region=region, cutoffs=cutoffs, through=through, progress=progress,
                        policies=policies, draws=draws, seed=seed)


@cli_errors
def backtest_cmd(
    scenario: Annotated[str | None, typer.Argument(
        help="Shipped scenario name or path to a TOML file (default: the --region's default scenario, "
             "china-current-policies without --region).")] = None,
    region: Annotated[str | None, typer.Option(
        "--region", help="Region code: CN, US or EU (default: the scenario's region; must match it).")] = None,
    cutoff: Annotated[int | None, typer.Option(
        "--cutoff", help="One cutoff year: fit with data up to it, forecast the years after.")] = None,
    cutoffs: Annotated[str | None, typer.Option(
        "--cutoffs", help="Rolling cutoffs, comma-separated (default 2018,2019,2020,2021,2022).")] = None,
    through: Annotated[int | None, typer.Option(
        "--through", help="Last forecast year (default: the last observed year).")] = None,
    policies: Annotated[str, typer.Option(
        "--policies", metavar="[enacted|as-known]",
        help="Which rules the model runs with: 'enacted' (default; the policies that happened, to the end "
             "of 2025) or 'as-known' (China only: the rules issued by 31 December of each cutoff year).")] = "enacted",
    draws: Annotated[int | None, typer.Option(
        "--draws", help="Monte Carlo draws of the scenario's uncertainty per cutoff, 1 to 10,000 (default: the "
                        "scenario's uncertainty.draws): the model's forecast becomes the median and its 5–95 % "
                        "band is drawn and scored (coverage, and the interval score: width + 20 × "
                        "the miss, lower is better).")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Random seed of the draws, ≥ 0 (default: the scenario's uncertainty.seed).")] = None,
    residual_walk: Annotated[bool, typer.Option(
        "--residual-walk", help="Structural uncertainty: with the draws, let the calibrated plug-in constant "
                                "drift after each cutoff as a random walk with its yearly step up to the "
                                "cutoff (uncertainty.residual_walk). Needs --draws N > 1.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the forecast-fan chart (HTML).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the --plot file if it exists.")] = False,
) -> None:
    """Back-test: calibrate up to each cutoff, forecast the later years, score against history.

    The model is scored beside four baselines fitted to the same years (logistic, Bass, persistence, logit trend); with --draws, its 5–95 % band by coverage and interval score.
    """
    years = _parse_cutoffs(cutoff, cutoffs)
    from nevsim.backtest import POLICY_VIEWS, check_draws_seed, resolve_scenario_region

    try:
        check_draws_seed(draws, seed)
    except InputError as exc:
        raise _as_flags(exc, single_cutoff=cutoff is not None) from None
    if policies not in POLICY_VIEWS:
        raise InputError("--policies", f"unknown policy view {policies!r}.", allowed=list(POLICY_VIEWS))
    try:
        spec, code = resolve_scenario_region(scenario, region)
    except InputError as exc:
        raise _as_flags(exc, single_cutoff=cutoff is not None) from None
    if seed is not None or residual_walk:  # (the library refuses a seed too, naming its arguments; here the flags)
        from nevsim.backtest import _load_scenario

        loaded = _load_scenario(spec)
        if residual_walk:
            spec = loaded = loaded.with_residual_walk(draws, "--residual-walk", "--draws")
        loaded.check_seed(seed, draws, "--seed", "--draws")
    if plot is not None:
        check_writable(plot, force=force, field="--plot", suffixes=HTML_SUFFIXES)
    try:
        bt = _run(spec, code, years, through, quiet=as_json, policies=policies, draws=draws, seed=seed)
    except InputError as exc:
        raise _as_flags(exc, single_cutoff=cutoff is not None) from None
    if plot is not None:
        bt.write_html(plot)
    if as_json:
        echo_json(bt.to_json())
        return
    print_table(bt)
    if plot is not None:
        typer.echo(f"Wrote {plot}")


def register(app: typer.Typer) -> None:
    """Add ``backtest`` to the ``nevsim`` app."""
    app.command("backtest")(backtest_cmd)
