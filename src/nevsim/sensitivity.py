"""Sensitivity of the headline outputs to uncertain inputs: one-at-a-time tornado and Sobol indices.

The layer between :mod:`nevsim.uncertainty` (the designs: :func:`~nevsim.uncertainty.tornado`,
:func:`~nevsim.uncertainty.sobol`) and the ``nevsim sensitivity`` command. It builds the
vectorised model ``f(params) -> outputs`` those designs call, by running the simulation on
all design points at once (one draw per point), and collects, labels and plots the indices.

Outputs (default, :func:`default_outputs`: the scenario's region's own headline outputs), each
a variable in one year:

- ``Sales Share|Cars|EV@2030`` and ``@2035``: EV share of new cars (percent), the issue's
  headline years (also the years of the Technology Roadmap 2.0 NEV-share targets in
  ``data/facts/targets.csv``);
- the 2030 price of each credit the simulation has: ``Price|Credit|NEV`` for China (below),
  ``Price|Credit|ZEV`` and ``Price|Credit|Fleet CO2`` for a region whose scenario has a ZEV or
  fleet-CO2 standard (:mod:`nevsim.regions`, region currency per credit); a scenario with no
  credit market (``us-current-policies``) gets ``Emissions|CO2|New Cars@2030`` instead (g CO2/km
  of new cars: the quantity a fleet standard regulates). :data:`DEFAULT_OUTPUTS` is China's set.
- ``Price|Credit|NEV@2030`` (CNY per credit). 2030 because it is the first headline year
  after the last NEV ratio set by the rules (2027, held after), so it measures whether the
  projected fleet still needs credits once the ratio stops rising. In the default scenario
  the market is long from 2023 (EV sales exceed the obligation) and the clearing price is 0,
  so the price only moves where inputs push the EV share down to the obligation: its
  variance is small or zero. An output with zero variance over the design has no Sobol
  indices (``S = V_i / V`` is 0/0); they are reported as NaN with ``note = "no variance"``,
  and its tornado swings are 0.

Any other output is ``VARIABLE@YEAR`` (a variable of the simulation's series table).

Parameters (default, :func:`default_parameters`): the scenario's ``[uncertainty]``
distributions (dotted scenario paths; a year-path point such as
``energy.gasoline_price_cny_per_l.2024`` replaces that existing key of the path) plus the
buyers' coefficient distributions of ``assumptions/coefficients.csv``
(:func:`nevsim.uncertainty.coefficient_distributions`), keyed ``coefficients.<name>``. The
scenario's correlation groups are not used: Sobol indices assume independent inputs, and the
tornado moves one input at a time.

The design points are the draws of one vectorised run (:func:`nevsim.simulate.run_values`),
run in chunks of ``chunk`` points. As in any run with draws, each point re-fits the history
under its own values (the values describe the world), so a parameter's effect is its effect
on the projection after calibration. The years simulated stop at the last output year (the
simulation steps forward year by year, so later years cannot change earlier ones).
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from nevsim.errors import InputError
from nevsim.uncertainty import (
    coefficient_distributions,
    parse_distribution,
    sobol,
    tornado,
)

__all__ = [
    "DEFAULT_OUTPUTS",
    "METHODS",
    "Output",
    "SensitivityResult",
    "default_outputs",
    "default_parameters",
    "parse_output",
    "sensitivity",
]

METHODS = ("tornado", "sobol", "both")
MAX_SOBOL_N = 1 << 16
#: What ``n`` may be, and why: any whole number in range works; a power of 2 keeps the scrambled
#: Sobol' points balanced (scipy.stats.qmc.Sobol), so the indices converge faster for the runs spent.
SOBOL_N_ALLOWED = [f"a whole number from 16 to {MAX_SOBOL_N:,}",
                   f"best a power of 2 (16, 32, 64, …, {MAX_SOBOL_N:,}): it keeps the Sobol' points balanced"]
COEFFICIENT_PREFIX = "coefficients."
#: Parameters shown per output in the charts and the CLI's tables (``nevsim sensitivity --top``).
DEFAULT_TOP = 10


@dataclass(frozen=True)
class Output:
    """One scalar model output: ``variable`` in ``year`` (its ``unit`` as the series table gives it)."""

    variable: str
    year: int
    unit: str = ""

    @property
    def key(self) -> str:
        """``VARIABLE@YEAR``: the output's name in the result tables."""
        return f"{self.variable}@{self.year}"


DEFAULT_OUTPUTS: tuple[Output, ...] = (
    Output("Sales Share|Cars|EV", 2030, "%"),
    Output("Sales Share|Cars|EV", 2035, "%"),
    Output("Price|Credit|NEV", 2030, "CNY/credit"),
)

#: Credit prices a simulation may have (China's NEV credit; a region's ZEV and fleet-CO2 credits).
CREDIT_PRICES = ("Price|Credit|NEV", "Price|Credit|ZEV", "Price|Credit|Fleet CO2")
#: The default's last output where a scenario has no credit market: new-car CO2 intensity.
NO_CREDIT_OUTPUT = Output("Emissions|CO2|New Cars", 2030, "g CO2/km")


def default_outputs(scenario: Any) -> list[Output]:
    """The region's headline outputs: EV share of new cars in 2030 and 2035, then in 2030 the price of
    each credit the scenario's simulation has (:data:`CREDIT_PRICES`), or, with none, new-car CO2
    (:data:`NO_CREDIT_OUTPUT`). For China that is :data:`DEFAULT_OUTPUTS`.

    Which variables the simulation has is read from one deterministic run of the scenario.
    """
    from nevsim.simulate import run_frames

    series, _, _ = run_frames(scenario)
    present = set(series.loc[series["year"] == 2030, "variable"].astype(str))
    units = series.drop_duplicates("variable").set_index("variable")["unit"].astype(str)
    prices = [Output(v, 2030, units[v]) for v in CREDIT_PRICES if v in present]
    return [*DEFAULT_OUTPUTS[:2], *(prices or [NO_CREDIT_OUTPUT])]


def parse_output(text: str) -> Output:
    """``VARIABLE@YEAR`` → :class:`Output` (InputError naming ``outputs`` otherwise)."""
    variable, sep, year = str(text).rpartition("@")
    if not sep or not variable or not year.strip().isdigit():
        raise InputError("outputs", f"{text!r} is not VARIABLE@YEAR.",
                         allowed=[o.key for o in DEFAULT_OUTPUTS])
    for known in DEFAULT_OUTPUTS:
        if known.variable == variable and known.year == int(year):
            return known
    return Output(variable, int(year))


def default_parameters(scenario: Any) -> dict[str, tuple[Any, str]]:
    """``{name: (distribution, source)}``: what :func:`sensitivity` varies when no parameters are given.

    The scenario's own distributions (``[uncertainty]``: the distribution tables written in
    place of numbers, sources in the scenario file's comments) and the buyers' coefficient
    distributions of ``assumptions/coefficients.csv`` (``coefficients.<name>``; sources in its
    ``source`` column) except coefficients the scenario sets to a number. Coefficients are
    included whether or not the scenario samples them in its own runs
    (``uncertainty.coefficients``): the question is which input matters; the residual walk's
    only with ``uncertainty.residual_walk = true`` (its spread is a statement about the model,
    not an input a policy could change).
    """
    from nevsim.assumptions import coefficients

    table = coefficients()
    sources = dict(zip(table["name"], table["source"], strict=True))
    out: dict[str, tuple[Any, str]] = {
        path: (parse_distribution(spec, path), f"scenario {scenario.name} [uncertainty] (sources in the "
                                                 "scenario file next to the value)")
        for path, spec in scenario.uncertainty.distributions.items()}
    for name, dist in coefficient_distributions(walk=scenario.uncertainty.residual_walk).items():
        key = f"{COEFFICIENT_PREFIX}{name}"
        if key not in out and name not in scenario.coefficients:
            out[key] = (dist, f"assumptions/coefficients.csv: {sources.get(name, '')}")
    return out


# ---------------------------------------------------------------------------- the result


@dataclass
class SensitivityResult:
    """Tornado and Sobol tables of one scenario (either may be None when not asked for).

    ``tornado``: ``output, variable, year, unit, parameter, low_value, high_value,
    base_output, output_low, output_high, swing`` (largest swing first per output).
    ``sobol``: ``output, variable, year, unit, parameter, S1, S1_conf, ST, ST_conf, note``
    (largest ST first per output; ``*_conf`` half-widths of 95 % bootstrap intervals).
    """

    scenario: str
    method: str
    n: int
    seed: int
    outputs: list[Output]
    parameters: dict[str, dict[str, Any]]  # name → {"distribution": {...}, "source": str}
    tornado: pd.DataFrame | None = None
    sobol: pd.DataFrame | None = None
    evaluations: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (f"<nevsim sensitivity {self.scenario!r}: {self.method}, {len(self.parameters)} parameters × "
                f"{len(self.outputs)} outputs, {self.evaluations} model evaluations, {self.seconds:.1f} s>")

    def summary(self) -> str:
        """One sentence for readers (the CLI footer, the HTML page): what was run, how big, the seed."""
        what = {"tornado": "tornado", "sobol": f"Sobol indices (n = {self.n})",
                "both": f"tornado and Sobol indices (n = {self.n})"}[self.method]
        k, m = len(self.parameters), len(self.outputs)
        return (f"Scenario {self.scenario}: {what}, {k} parameter{'s' if k != 1 else ''} × {m} output"
                f"{'s' if m != 1 else ''}, {self.evaluations:,} model runs in {self.seconds:.1f} s; seed {self.seed}.")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: scenario, method, seed, n, outputs, parameters, tornado and sobol records, notes."""
        def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
            if frame is None:
                return []
            return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

        return {"scenario": self.scenario, "method": self.method, "seed": self.seed, "n": self.n,
                "evaluations": self.evaluations, "seconds": round(self.seconds, 3),
                "outputs": [{"output": o.key, "variable": o.variable, "year": o.year, "unit": o.unit}
                            for o in self.outputs],
                "parameters": self.parameters, "tornado": records(self.tornado), "sobol": records(self.sobol),
                "notes": list(self.notes)}

    def plot(self, top: int = DEFAULT_TOP) -> dict[str, Any]:
        """Plotly figures: ``{"tornado": Figure, "sobol": Figure}`` (those computed), one panel per output.

        Tornado: per parameter, a bar from the base output to the output with the parameter at
        its 5th percentile and one to its 95th, the ``top`` widest swings, widest on top. Sobol:
        first-order S1 and total ST per parameter with 95 % bootstrap error bars, the ``top``
        largest ST.
        """
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise InputError("top", f"must be a whole number ≥ 1 (parameters shown per output), got {top!r}.",
                             allowed=["1 or more"])
        figures: dict[str, Any] = {}
        if self.tornado is not None:
            figures["tornado"] = _tornado_figure(self, top)
        if self.sobol is not None:
            figures["sobol"] = _sobol_figure(self, top)
        return figures

    def to_html(self, top: int = DEFAULT_TOP) -> str:
        """One self-contained HTML page with the figures (plotly.js inlined once) and the notes."""
        from plotly.offline import get_plotlyjs

        title = f"nevsim sensitivity — {self.scenario}"
        parts = []
        for i, (name, fig) in enumerate(self.plot(top).items()):
            parts.append(f"<section><h2>{'Tornado (one at a time)' if name == 'tornado' else 'Sobol indices'}"
                         f"</h2>{fig.to_html(full_html=False, include_plotlyjs=False, div_id=f'fig{i}')}</section>")
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in [*self.notes, *_no_variance_text(self)])
        params = "".join(f"<tr><td>{html.escape(parameter_label(k))}<br><code>{html.escape(k)}</code></td>"
                         f"<td>{html.escape(distribution_text(v['distribution']))}</td>"
                         f"<td>{html.escape(str(v['source']))}</td></tr>" for k, v in self.parameters.items())
        from nevsim.report.palette import VIEWPORT_META

        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>" + VIEWPORT_META +
                f"<title>{html.escape(title)}</title>"
                "<style>body{font-family:system-ui,sans-serif;margin:1.5rem;max-width:1200px}"
                "td{padding:.2rem .5rem;border-bottom:1px solid #ddd;font-size:.85rem;vertical-align:top}"
                ".note{color:#444;font-size:.9rem}</style>"
                f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
                f"<h1>{html.escape(title)}</h1><p class='note'>{html.escape(self.summary())}</p>"
                f"<ul class='note'>{notes}</ul>{''.join(parts)}"
                f"<section><h2>Parameters</h2><table><tr><th>parameter</th><th>distribution</th><th>source</th></tr>"
                f"{params}</table></section></body></html>\n")

    def write_html(self, path: str | Path, top: int = DEFAULT_TOP) -> Path:
        """Write :meth:`to_html` to ``path``."""
        out = Path(path)
        out.write_text(self.to_html(top), encoding="utf-8")
        return out


#: Readable names of the usual outputs' variables (the raw ``VARIABLE@YEAR`` stays in the hover).
OUTPUT_LABELS: dict[str, str] = {"Sales Share|Cars|EV": "EV share of new cars",
                                 "Price|Credit|NEV": "NEV credit price", "Price|Credit|ZEV": "ZEV credit price",
                                 "Price|Credit|Fleet CO2": "fleet-CO2 credit price",
                                 "Emissions|CO2|New Cars": "new-car CO2"}


def output_label(out: Output) -> str:
    """``"EV share of new cars, 2030 (%)"`` for ``Sales Share|Cars|EV@2030`` (the variable itself when unknown)."""
    name = OUTPUT_LABELS.get(out.variable, out.variable)
    return f"{name}, {out.year} ({out.unit})" if out.unit else f"{name}, {out.year}"


def parameter_label(name: str) -> str:
    """Readable parameter name: ``coefficients.kappa_se_z`` → ``buyers' coefficient kappa_se_z``;
    ``energy.gasoline_price_cny_per_l.2024`` → ``energy: gasoline price cny per l (2024)``."""
    if name.startswith(COEFFICIENT_PREFIX):
        return f"buyers' coefficient {name[len(COEFFICIENT_PREFIX):]}"
    parts = name.split(".")
    year = f" ({parts.pop()})" if len(parts) > 2 and parts[-1].isdigit() else ""
    head, rest = parts[0], " ".join(p.replace("_", " ") for p in parts[1:])
    return f"{head}: {rest}{year}" if rest else head + year


def _round(value: Any) -> Any:
    """Numbers to 4 significant digits (0.39999999999999997 → 0.4), recursively in dicts and lists."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return float(f"{value:.4g}")
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value


def distribution_text(dist: Any) -> str:
    """A distribution as ``normal(mean=0.4, sd=0.1)`` (the ``dist`` key as the name, numbers rounded)."""
    if not isinstance(dist, dict):
        return str(_round(dist))
    d = _round(dict(dist))
    kind = d.pop("dist", d.pop("kind", ""))
    return f"{kind}(" + ", ".join(f"{k}={v}" for k, v in d.items()) + ")"


def _varies(result: SensitivityResult, out: Output) -> bool:
    """Whether the output moved over the design (a tornado swing or a Sobol variance)."""
    if result.tornado is not None:
        t = result.tornado[result.tornado["output"] == out.key]
        if len(t) and (t["swing"].abs() > 0).any():
            return True
    if result.sobol is not None:
        s = result.sobol[result.sobol["output"] == out.key]
        if len(s) and s["ST"].notna().any():
            return True
    return False


def _no_variance_text(result: SensitivityResult) -> list[str]:
    """One line per output that did not move (its panels are left out of the charts)."""
    return [f"{output_label(o)} [{o.key}]: the same at every design point (no variance), so no chart."
            for o in result.outputs if not _varies(result, o)]


#: Room between two panels of a sensitivity chart (px: the upper one's x-axis title, the lower one's title).
PANEL_GAP_PX = 110


def _figure_height(n: int, top: int) -> int:
    """Height of a chart of ``n`` panels of ``top`` bars: 26 px a bar, the gaps, title and legend."""
    return max(380, 190 + n * 26 * min(top, 24) + (n - 1) * PANEL_GAP_PX)


def _panel_titles(outputs: Sequence[Output]) -> list[str]:
    return [output_label(o) for o in outputs]


def _panels(result: SensitivityResult, top: int) -> tuple[list[Output], int, Any]:
    """The outputs that vary over the design (all of them if none does), the figure's height, and
    an empty figure with one panel per output (shared by the tornado and the Sobol chart)."""
    from plotly.subplots import make_subplots

    outputs = [o for o in result.outputs if _varies(result, o)] or list(result.outputs)
    n = len(outputs)
    height = _figure_height(n, top)
    fig = make_subplots(rows=n, cols=1, subplot_titles=_panel_titles(outputs),
                        vertical_spacing=PANEL_GAP_PX / height if n > 1 else 0.0)
    return outputs, height, fig


def _tornado_figure(result: SensitivityResult, top: int) -> Any:
    import plotly.graph_objects as go

    from nevsim.report import palette

    assert result.tornado is not None
    outputs, height, fig = _panels(result, top)
    for i, out in enumerate(outputs, start=1):
        t = result.tornado[result.tornado["output"] == out.key].head(top).iloc[::-1]  # widest on top
        base = float(t["base_output"].iloc[0]) if len(t) else 0.0
        labels = [parameter_label(p) for p in t["parameter"]]
        for column, name, colour in (("output_low", "parameter at 5th percentile", palette.POWERTRAIN["BEV"]),
                                     ("output_high", "parameter at 95th percentile", palette.POWERTRAIN["NEV"])):
            fig.add_trace(go.Bar(y=labels, x=t[column] - base, base=base, orientation="h", name=name,
                                 marker_color=colour, legendgroup=name, showlegend=i == 1,
                                 customdata=np.stack([t["low_value" if column == "output_low" else "high_value"],
                                                      t[column], t["parameter"]], axis=-1),
                                 hovertemplate="%{customdata[2]} = %{customdata[0]:.4g}<br>"
                                               f"{out.key}: %{{customdata[1]:.1f}} {out.unit}<extra></extra>"),
                          row=i, col=1)
        fig.add_vline(x=base, line_dash="dot", line_color=palette.RULE, row=i, col=1)
        fig.update_xaxes(title_text=f"{output_label(out)}; dotted line: base {base:,.1f} (all at medians)",
                         row=i, col=1)
    fig.update_layout(barmode="overlay", height=height,
                      title="One-at-a-time sensitivity: each parameter at its 5th and 95th percentile, others at medians",
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
                      margin={"l": 260, "t": 90, "b": 100},
                      template=palette.TEMPLATE, hoverlabel={"namelength": -1})
    return fig


def _sobol_figure(result: SensitivityResult, top: int) -> Any:
    import plotly.graph_objects as go

    from nevsim.report import palette

    assert result.sobol is not None
    outputs, height, fig = _panels(result, top)
    for i, out in enumerate(outputs, start=1):
        s = result.sobol[result.sobol["output"] == out.key].head(top).iloc[::-1]
        if s["ST"].isna().all():
            fig.add_annotation(text="no variance over the design: indices undefined", showarrow=False,
                               xref=f"x{i} domain" if i > 1 else "x domain",
                               yref=f"y{i} domain" if i > 1 else "y domain", x=0.5, y=0.5)
        labels = [parameter_label(p) for p in s["parameter"]]
        for column, name, colour in (("S1", "first order S1", palette.POWERTRAIN["BEV"]),
                                     ("ST", "total ST", palette.POWERTRAIN["NEV"])):
            fig.add_trace(go.Bar(y=labels, x=s[column], orientation="h", name=name, marker_color=colour,
                                 error_x={"type": "data", "array": s[f"{column}_conf"], "visible": True},
                                 customdata=s["parameter"],
                                 hovertemplate=f"%{{customdata}}: {column} %{{x:.2f}}<extra>{out.key}</extra>",
                                 legendgroup=name, showlegend=i == 1), row=i, col=1)
        fig.update_xaxes(title_text="share of the output's variance", row=i, col=1)
    fig.update_layout(barmode="group", height=height,
                      title="Sobol indices: share of the output's variance due to each parameter "
                            "(S1 alone, ST with its interactions)",
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
                      margin={"l": 260, "t": 90, "b": 100},
                      template=palette.TEMPLATE, hoverlabel={"namelength": -1})
    fig.update_xaxes(range=[-0.05, 1.05])
    return fig


# ---------------------------------------------------------------------------- the model function


def _check_parameters(scenario: Any, dists: Mapping[str, Any]) -> None:
    """Every name must vary per draw (:func:`nevsim.simulate.value_keys`); a scenario path must keep
    the scenario valid over the distribution's whole support (InputError at ``parameters.<name>``)."""
    from nevsim.scenario import check_draw_values
    from nevsim.simulate import value_keys

    keys = value_keys()
    paths = {k.removesuffix(".<year>") for k in keys if k.endswith(".<year>")}
    for name, dist in dists.items():
        head, _, tail = name.rpartition(".")
        if name in paths:
            raise InputError(f"parameters.{name}", f"is a year path; vary one of its points, e.g. {name}.2024.")
        if name not in keys and not (head in paths and tail.isdigit()):
            raise InputError(f"parameters.{name}", "cannot be varied: not a real-valued scenario parameter, a point "
                             "of a year path or a coefficient with a value (fitted ones cannot).", allowed=sorted(keys))
        try:  # (an existing field or year point; the support's ends as overrides would be checked,
            # so coefficients keep their known sign too)
            if not name.startswith(COEFFICIENT_PREFIX):
                _with_value(scenario.resolved(), name, dist.percentile(0.5))
            check_draw_values(scenario, {name: [dist.percentile(q) for q in (1e-9, 0.5, 1 - 1e-9)]})
        except InputError as exc:
            raise InputError(f"parameters.{name}", f"{exc.field}: {exc.message} (bound the distribution "
                             "inside the field's range).", allowed=exc.allowed) from None


def _with_value(resolved: dict[str, Any], path: str, value: float) -> dict[str, Any]:
    """``resolved`` with ``path`` set to ``value``; a path ending in a year replaces that point of a year path.

    The same change :func:`nevsim.simulate.run_values` makes for one draw (used here to check that
    the field or year point exists).
    """
    import copy

    data = copy.deepcopy(resolved)
    parts = path.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node, dict) or part not in node:
            raise InputError(".".join(parts[:i + 1]), "unknown scenario field.",
                             allowed=sorted(node) if isinstance(node, dict) else None)
        node = node[part]
    last = parts[-1]
    if not isinstance(node, dict) or last not in node:
        what = f"{'.'.join(parts[:-1])} has no point {last!r} (a value replaces an existing point)" \
            if last.isdigit() else "unknown scenario field."
        raise InputError(path, what, allowed=sorted(node) if isinstance(node, dict) else None)
    current = node[last]
    if isinstance(current, dict):
        raise InputError(path, f"is a year path; vary one of its points, e.g. {path}.{next(iter(current), '2024')}.")
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise InputError(path, f"is not a real-valued parameter ({current!r}).")
    node[last] = float(value)
    return data


def _simulate(scenario: Any, values: Mapping[str, np.ndarray], until: int | None) -> pd.DataFrame:
    """Series of one vectorised run (:func:`nevsim.simulate.run_values`), draw ``j`` taking ``values[·][j]``."""
    from nevsim.simulate import run_values

    series, _, _ = run_values(scenario, values, until=until, makers=False)  # the makers table is not used
    return series


def _model(scenario: Any, outputs: Sequence[Output], until: int | None, chunk: int,
           progress: Callable[[int, int], None] | None, counter: list[int]) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """``f(params) -> ndarray[n, len(outputs)]`` running the points in chunks of ``chunk``."""

    def f(params: dict[str, np.ndarray]) -> np.ndarray:
        n = len(next(iter(params.values())))
        out = np.empty((n, len(outputs)))
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            series = _simulate(scenario, {k: v[start:stop] for k, v in params.items()}, until)
            out[start:stop] = _extract(series, outputs, stop - start)
            counter[0] += stop - start
            if progress is not None:
                progress(counter[0], counter[1])
        return out

    return f


def _extract(series: pd.DataFrame, outputs: Sequence[Output], n: int) -> np.ndarray:
    """``[draw, output]`` values of ``outputs`` from a series table with draws 0 … n − 1."""
    out = np.full((n, len(outputs)), np.nan)
    for j, o in enumerate(outputs):
        rows = series[(series["variable"] == o.variable) & (series["year"] == o.year)]
        if rows.empty:
            known = sorted(series["variable"].unique())
            raise InputError("outputs", f"{o.key}: the simulation has no {o.variable!r} in {o.year}.",
                             allowed=known)
        out[rows["draw"].to_numpy(int), j] = rows["value"].to_numpy(float)
    return out


def _units(scenario: Any, outputs: list[Output], until: int | None) -> list[Output]:
    """Outputs with the unit the simulation gives (one quick run also checks that they exist)."""
    from nevsim.simulate import run_frames

    series, _, _ = run_frames(scenario, until=until)
    _extract(series.assign(draw=0), outputs, 1)
    units = series.drop_duplicates("variable").set_index("variable")["unit"]
    return [Output(o.variable, o.year, str(units.get(o.variable, o.unit))) for o in outputs]


# ---------------------------------------------------------------------------- the analysis


def _check_int(value: Any, name: str, low: int, high: int, allowed: list[str] | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise InputError(name, f"must be a whole number in [{low}, {high}], got {value!r}.",
                         allowed=allowed or [f"{low} to {high}"])
    return int(value)


def sensitivity(scenario: Any = "china-current-policies", *,
                parameters: Mapping[str, Any] | Sequence[str] | None = None,
                outputs: Sequence[str | Output] | None = None,
                method: Literal["tornado", "sobol", "both"] = "both", n: int = 256, seed: int = 0,
                until: int | None = None, chunk: int = 1000, n_bootstrap: int = 200,
                progress: Callable[[int, int], None] | None = None) -> SensitivityResult:
    """Tornado and/or Sobol sensitivity of ``outputs`` to ``parameters`` for one scenario.

    ``scenario``: a :class:`~nevsim.scenario.Scenario`, a shipped name or a TOML path.
    ``parameters``: ``{name: distribution}`` (objects or TOML-style tables), a list of names
    picked from :func:`default_parameters`, or None for all of them. Names are dotted scenario
    paths (a year-path point ends in the year) or ``coefficients.<name>``. ``outputs``:
    ``VARIABLE@YEAR`` strings (default :func:`default_outputs`: the scenario's region's headline
    outputs). ``method``: ``tornado`` (2k + 1
    runs), ``sobol`` (``n (k + 2)`` runs; ``n`` is the Saltelli base sample, a power of 2 is
    best) or ``both``. ``seed`` seeds the scrambled Sobol' sequence and the bootstrap.
    ``progress(done, total)`` counts model evaluations.
    """
    from nevsim.scenario import Scenario, load_scenario

    t0 = time.perf_counter()
    if method not in METHODS:
        raise InputError("method", f"unknown method {method!r}.", allowed=METHODS)
    n = _check_int(n, "n", 16, MAX_SOBOL_N, SOBOL_N_ALLOWED)
    seed = _check_int(seed, "seed", 0, 2**63 - 1)
    chunk = _check_int(chunk, "chunk", 1, 1_000_000)
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)

    if outputs is None:
        picked = default_outputs(scen)
    else:
        picked = [o if isinstance(o, Output) else parse_output(o) for o in outputs]
    if not picked:
        raise InputError("outputs", "no outputs given.", allowed=[o.key for o in default_outputs(scen)])
    last = max(o.year for o in picked)
    if not scen.years.first < last <= scen.years.last:
        raise InputError("outputs", f"year {last} is outside the scenario's years {scen.years.first}–{scen.years.last}.",
                         allowed=[f"{scen.years.first + 1} to {scen.years.last}"])
    if last < scen.years.last and last > scen.years.calibrate_until:
        scen = scen.model_copy(update={"years": scen.years.model_copy(update={"last": last})})

    defaults = default_parameters(scen)
    if parameters is None:
        chosen = {k: v for k, (v, _) in defaults.items()}
        sources = {k: s for k, (_, s) in defaults.items()}
    elif isinstance(parameters, Mapping):
        chosen = {k: parse_distribution(v, f"parameters.{k}") for k, v in parameters.items()}
        sources = {k: defaults[k][1] if k in defaults else "given by the caller" for k in chosen}
    else:
        unknown = [p for p in parameters if p not in defaults]
        if unknown:
            raise InputError("parameters", f"{unknown[0]!r} has no default distribution.", allowed=list(defaults))
        chosen = {k: defaults[k][0] for k in parameters}
        sources = {k: defaults[k][1] for k in parameters}
    if not chosen:
        raise InputError("parameters", "no parameters to vary.", allowed=list(defaults))
    _check_parameters(scen, chosen)
    picked = _units(scen, picked, until)

    k = len(chosen)
    total = (2 * k + 1 if method in ("tornado", "both") else 0) + (n * (k + 2) if method in ("sobol", "both") else 0)
    counter = [0, total]
    if progress is not None:
        progress(0, total)
    f = _model(scen, picked, until, chunk, progress, counter)
    keys = [o.key for o in picked]
    result = SensitivityResult(
        scenario=scen.name, method=method, n=n, seed=seed, outputs=picked,
        parameters={name: {"distribution": dist.model_dump(exclude_none=True), "source": sources[name]}
                    for name, dist in chosen.items()})

    if scen.uncertainty.correlations:
        result.notes.append("the scenario's correlation groups are not used: Sobol indices assume independent "
                            "inputs, and the tornado moves one input at a time")
    if parameters is None and not scen.uncertainty.distributions:
        result.notes.append(f"scenario {scen.name} has no [uncertainty] distributions: only the buyers' "
                            "coefficients are varied")
    if method in ("tornado", "both"):
        result.tornado = _label(tornado(f, chosen, outputs=keys), picked)
        result.notes.append("tornado: " + str(result.tornado.attrs.get("note", "")))
    if method in ("sobol", "both"):
        result.sobol = _sobol(f, chosen, n, seed, keys, picked, n_bootstrap, result.notes)
    result.evaluations = counter[0]
    result.seconds = time.perf_counter() - t0
    return result


def _label(frame: pd.DataFrame, outputs: Sequence[Output]) -> pd.DataFrame:
    by_key = {o.key: o for o in outputs}
    frame.insert(1, "variable", frame["output"].map(lambda k: by_key[k].variable))
    frame.insert(2, "year", frame["output"].map(lambda k: by_key[k].year).astype("int64"))
    frame.insert(3, "unit", frame["output"].map(lambda k: by_key[k].unit))
    return frame


def _sobol(f: Callable[[dict[str, np.ndarray]], np.ndarray], chosen: Mapping[str, Any], n: int, seed: int,
           keys: list[str], outputs: Sequence[Output], n_bootstrap: int, notes: list[str]) -> pd.DataFrame:
    """Sobol indices; an output constant over the design gets NaN indices and ``note = "no variance"``."""
    seen: list[np.ndarray] = []

    def recording(params: dict[str, np.ndarray]) -> np.ndarray:
        y = f(params)
        seen.append(y)
        return y

    with warnings.catch_warnings():  # bootstrap percentiles of an output with no variance are all-NaN
        warnings.filterwarnings("ignore", message="All-NaN slice encountered", category=RuntimeWarning)
        table = sobol(recording, chosen, n_base=n, seed=seed, outputs=keys, n_bootstrap=n_bootstrap)
    y = seen[0]
    table["note"] = ""
    for j, key in enumerate(keys):
        column = y[:, j]
        if not np.isfinite(column).all():
            bad = int((~np.isfinite(column)).sum())
            raise InputError("outputs", f"{key}: {bad} of {len(column)} runs gave no finite value.")
        if np.ptp(column) == 0.0:
            rows = table["output"] == key
            table.loc[rows, ["S1", "S1_conf", "ST", "ST_conf"]] = np.nan
            table.loc[rows, "note"] = "no variance"
            notes.append(f"sobol: {key} is {column[0]:g} in all {len(column)} runs: no variance, so no indices "
                         f"(every parameter's effect is nil over these ranges)")
    order = table.assign(_o=table["output"].map({k: i for i, k in enumerate(keys)}),
                         _st=table["ST"].fillna(-math.inf))
    table = table.loc[order.sort_values(["_o", "_st"], ascending=[True, False], kind="stable").index]
    table = table.reset_index(drop=True)
    notes.append("sobol: " + str(table.attrs.get("note", "")) + "; S1 ≤ ST up to sampling error; "
                 "Σ S1 ≈ 1 means an additive model, ST − S1 is the share through interactions")
    return _label(table, outputs)
