"""CLI: ``nevsim sensitivity [SCENARIO]`` — which uncertain input moves the EV share and the credit price?

Runs :func:`nevsim.sensitivity.sensitivity`: a one-at-a-time tornado (each parameter at its
5th and 95th percentile) and/or Sobol first-order and total indices, for the scenario's
region's headline outputs (:func:`nevsim.sensitivity.default_outputs`: the EV share of new
cars in 2030 and 2035 and the 2030 price of each credit the region's standards have — NEV in
China, ZEV / fleet CO2 elsewhere — or new-car CO2 where there is none) or ``--output VARIABLE@YEAR``.
Prints the top parameters per output; ``--json`` prints ``{"scenario", "seed", "n",
"tornado": [...], "sobol": [...], ...}``; ``--plot FILE`` writes a self-contained HTML page.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nevsim.cli._common import (
    HTML_SUFFIXES,
    check_writable,
    cli_errors,
    echo_json,
    output_console,
    print_table,
)
from nevsim.errors import SEED_ALLOWED, InputError

if TYPE_CHECKING:
    from nevsim.sensitivity import SensitivityResult

DEFAULT_SCENARIO = "china-current-policies"


def _console(stderr: bool = False) -> Any:
    return output_console(stderr=stderr)


def print_result(res: SensitivityResult, top: int) -> None:
    """Rich tables: per output, the ``top`` parameters by tornado swing and by Sobol ST."""
    from rich.table import Table

    console = _console()
    for out in res.outputs:
        unit = f" ({out.unit})" if out.unit else ""
        if res.tornado is not None:
            t = res.tornado[res.tornado["output"] == out.key].head(top)
            base = float(t["base_output"].iloc[0]) if len(t) else float("nan")
            table = Table(title=f"Tornado — {out.key}{unit}, base {base:,.4g}",
                          caption="each parameter at its 5th / 95th percentile, the others at their medians")
            for name in ("parameter", "at 5th pct", "at 95th pct", "output low", "output high", "swing"):
                table.add_column(name, justify="left" if name == "parameter" else "right")
            for r in t.itertuples(index=False):
                table.add_row(r.parameter, f"{r.low_value:.4g}", f"{r.high_value:.4g}", f"{r.output_low:,.4g}",
                              f"{r.output_high:,.4g}", f"{r.swing:,.3g}")
            print_table(table, console=console)
        if res.sobol is not None:
            s = res.sobol[res.sobol["output"] == out.key].head(top)
            if s["ST"].isna().all():
                console.print(f"Sobol — {out.key}{unit}: no variance over the design (the output is the same in "
                              "every run), so no indices.")
                continue
            table = Table(title=f"Sobol indices — {out.key}{unit}",
                          caption="S1: share of the variance from the parameter alone; ST: with its interactions; "
                                  "± 95 % bootstrap half-width")
            for name in ("parameter", "S1", "ST", "ST − S1"):
                table.add_column(name, justify="left" if name == "parameter" else "right")
            for r in s.itertuples(index=False):
                table.add_row(r.parameter, f"{r.S1:.3f} ± {r.S1_conf:.3f}", f"{r.ST:.3f} ± {r.ST_conf:.3f}",
                              f"{r.ST - r.S1:.3f}")
            print_table(table, console=console)
    console.print(res.summary())


def _run_with_progress(quiet: bool, **kwargs: Any) -> SensitivityResult:
    from nevsim.sensitivity import sensitivity

    if quiet or not sys.stderr.isatty():
        return sensitivity(**kwargs)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("runs"), TimeElapsedColumn(), console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("Sensitivity", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return sensitivity(progress=progress, **kwargs)


@cli_errors
def sensitivity_cmd(
    scenario: Annotated[str, typer.Argument(help="Shipped scenario name or path to a TOML file.")] = DEFAULT_SCENARIO,
    method: Annotated[str, typer.Option(
        "--method", help="Method: tornado (one at a time), sobol (variance-based) or both.")] = "both",
    n: Annotated[int, typer.Option(
        "--n", help="Sobol base sample, 16 to 65,536 (a power of 2 keeps the Sobol' points balanced); "
        "the model runs n × (parameters + 2) times.")] = 256,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the Sobol' sequence and the bootstrap.")] = 0,
    parameter: Annotated[list[str] | None, typer.Option(
        "--parameter", "-p", metavar="NAME", help="Vary only this parameter (repeatable); default: all with a distribution.")] = None,
    output: Annotated[list[str] | None, typer.Option(
        "--output", "-o", metavar="VARIABLE@YEAR", help="Output (repeatable); default: the region's headline "
        "outputs — EV share 2030 and 2035, and the 2030 price of each credit its standards have (China: NEV; "
        "US/EU: ZEV, fleet CO2), or new-car CO2 g/km 2030 if none.")] = None,
    top: Annotated[int, typer.Option("--top", help="Parameters shown per output.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the tables as JSON.")] = False,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write the charts to this HTML file.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing --plot file.")] = False,
) -> None:
    """Sensitivity of the EV share (2030, 2035) and the region's credit price (2030): tornado and Sobol indices."""
    from nevsim.sensitivity import MAX_SOBOL_N, METHODS, SOBOL_N_ALLOWED

    if method not in METHODS:
        raise InputError("--method", f"unknown method {method!r}.", allowed=METHODS)
    if not 16 <= n <= MAX_SOBOL_N:
        raise InputError("--n", f"the Sobol base sample must be a whole number from 16 to {MAX_SOBOL_N:,}, got {n}.",
                         allowed=SOBOL_N_ALLOWED)
    if seed < 0:
        raise InputError("--seed", f"must be ≥ 0, got {seed}.", allowed=[SEED_ALLOWED])
    if top < 1:
        raise InputError("--top", f"must be ≥ 1, got {top}.", allowed=["1 or more"])
    if plot is not None:
        check_writable(plot, force=force, field="--plot", suffixes=HTML_SUFFIXES)
    try:
        res = _run_with_progress(as_json, scenario=scenario, method=method, n=n, seed=seed,
                                 parameters=parameter or None, outputs=output or None)
    except InputError as exc:  # name the flag the user typed (not one left at its default)
        head, _, rest = exc.field.partition(".")
        flag = {"parameters": "--parameter" if parameter else None, "outputs": "--output" if output else None}.get(head)
        if flag is None:
            raise
        raise InputError(f"{flag} {rest}".rstrip(), exc.message, exc.allowed) from None
    written = None
    if plot is not None:
        written = str(res.write_html(plot, top))
    if as_json:
        echo_json({**res.to_dict(), "plot": written})
        return
    print_result(res, top)
    if written:
        _console().print(f"Wrote {written}")


def register(app: typer.Typer) -> None:
    """Add ``sensitivity`` to the ``nevsim`` app."""
    app.command("sensitivity")(sensitivity_cmd)
