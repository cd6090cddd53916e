"""Plotly figures of a run: one function per chart, all built from the Results' statistics.

Conventions: years on x; the history years (calibrated to observations) are shaded grey and
labelled "history"; lines are dashed there when both are drawn; units in the axis title. With
Monte Carlo draws a statistic has quantile columns and is drawn as a median line with a band.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nevsim.report import palette
from nevsim.report.palette import HISTORY_FILL, TARGET, rgba

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from nevsim.results import Results, Statistic

#: Colours of the report's series by name (:mod:`nevsim.report.palette`: the same on every page).
COLORS = dict(palette.NAMED)
#: Colours of unnamed series (scenarios side by side): :data:`nevsim.report.palette.SEQUENCE`.
PALETTE = list(palette.SEQUENCE)

#: How nevsim.targets points to a derived series' method: " (see meta['derived'])".
_META_REF = re.compile(r"\s*\(see meta\[['\"]derived['\"]\]\)")


def for_readers(text: str, where: str = "") -> str:
    """``text`` without pointers into the run's metadata (``(see meta['derived'])``), which a reader
    of a chart or report cannot follow; ``where`` (e.g. ``" (how: see the note below this table)"``)
    takes their place."""
    return _META_REF.sub(where, text)


def _color(name: str, i: int) -> str:
    return palette.colour(name, i)


#: Units whose values are counts: thousands separators, no decimals on hover.
COUNT_UNITS = ("vehicles", "chargers", "credits", "cars", "vehicle")


def value_format(unit: str) -> str:
    """d3 format of a value on hover: counts (vehicles, chargers, credits) with thousands separators and no
    decimals, everything else with one decimal."""
    u = str(unit).lower()
    return ",.0f" if any(u.startswith(c) for c in COUNT_UNITS) else ",.1f"


def hover(unit: str, name: str = "", fmt: str | None = None) -> str:
    """Per-trace hover template: ``value unit`` (the year is the unified hover's header), ``name`` in full."""
    fmt = fmt or value_format(unit)
    unit_text = f" {unit}" if unit and unit != "%" else (" %" if unit == "%" else "")
    return f"%{{y:{fmt}}}{unit_text}<extra>{name}</extra>"


def band_label(label: str, lo: float, hi: float, draws: int | None = None) -> str:
    """Legend name of a band over Monte Carlo draws, the same wording on every chart:
    ``"BEV 5–95 % of 500 draws"`` (``"BEV 5–95 %"`` when the count is not known: :func:`name_bands`
    adds it)."""
    band = f"{label} {lo * 100:.0f}–{hi * 100:.0f} %"
    if not draws:
        return band
    few = " (few draws: rough band)" if draws < FEW_DRAWS else ""
    return f"{band} of {int(draws):,} draws{few}"


def name_bands(fig: go.Figure, draws: int) -> go.Figure:
    """Give the bands of a figure drawn from a :class:`~nevsim.results.Statistic` (named ``"BEV 5–95 %"``:
    a statistic does not know its draws) the run's number of draws, as :func:`band_label` does; the
    legend is placed again for the longer names (:func:`place_legend`, the plot keeps its height)."""
    rows = legend_rows(fig)
    base_height = int(fig.layout.height or 420) - (rows * LEGEND_ROW_PX + 10 if rows else 0)
    for trace in fig.data:
        name = str(getattr(trace, "name", "") or "")
        if getattr(trace, "fill", None) == "tonexty" and name.endswith("%") and "draws" not in name:
            match = re.fullmatch(r"(.*) (\d+)–(\d+) %", name)
            if match is None:
                continue
            trace.name = band_label(match.group(1), float(match.group(2)) / 100, float(match.group(3)) / 100, draws)
            if trace.hovertemplate:
                trace.hovertemplate = trace.hovertemplate.replace(f"<extra>{name}</extra>",
                                                                  f"<extra>{trace.name}</extra>")
    return place_legend(fig, base_height)


def band_hover(unit: str, name: str, fmt: str | None = None) -> str:
    """Hover of a band trace (``customdata`` = its upper edge): ``lo–hi unit``, no year (the unified
    hover's header has it: "2031: 2031: 76.8–88.7" otherwise)."""
    fmt = fmt or value_format(unit)
    unit_text = f" {unit}" if unit else ""
    return f"%{{y:{fmt}}}–%{{customdata:{fmt}}}{unit_text}<extra>{name}</extra>"


def _layout(fig: go.Figure, title: str, unit: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, template=palette.TEMPLATE, hovermode="x unified",
                      hoverlabel={"namelength": -1})
    fig.update_yaxes(title_text=unit, rangemode="tozero")
    fig.update_xaxes(title_text="year")
    return place_legend(fig, height)


#: Legend of a chart below its plot: px per row, px per legend item besides its text, px per character
#: (plotly's 12 px font; measured 6.3–6.8 in Chromium) and the width the items wrap in (the plot of a chart
#: in the dashboard's grid, ≥ 560 px wide, is about 480 px; measured in the browser test).
LEGEND_ROW_PX = 21
LEGEND_ITEM_PX = 42
LEGEND_CHAR_PX = 7.0
LEGEND_WIDTH_PX = 450
#: Room below the plot for the x axis' tick labels and title (px).
X_AXIS_PX = 55


def legend_rows(fig: go.Figure, width_px: float = LEGEND_WIDTH_PX) -> int:
    """Rows a horizontal legend of ``fig`` takes: its items (traces with a name that show in the
    legend) in one row if they fit in ``width_px``, else in columns as wide as the widest item (as
    plotly.js lays them out); 0 when no legend is drawn (plotly draws none for a single trace unless
    ``showlegend`` is set)."""
    if fig.layout.showlegend is False:
        return 0
    names = [str(t.name) for t in fig.data if t.name and t.showlegend is not False]
    if not names or (len(names) == 1 and fig.layout.showlegend is None):
        return 0
    widths = [LEGEND_ITEM_PX + LEGEND_CHAR_PX * len(name) for name in names]
    if sum(widths) <= width_px:
        return 1
    # too long for one row: plotly lines the items up in columns as wide as the widest item
    per_row = max(1, int(width_px // max(widths)))
    return -(-len(names) // per_row)


def place_legend(fig: go.Figure, height: int) -> go.Figure:
    """Put a horizontal legend in the bottom margin, below the x axis' title, and make the figure taller by
    the legend's rows (:func:`legend_rows`): the plot keeps the height it has without a legend.

    plotly places a legend at ``y < 0`` in plot fractions without counting the axis title (the two overlapped)
    and takes the legend's rows from the plot; here the legend is anchored to the bottom of the figure
    (``yref="container"``) in a margin of ``X_AXIS_PX`` + its rows.
    """
    rows = legend_rows(fig)
    legend_px = rows * LEGEND_ROW_PX + (10 if rows else 0)
    fig.update_layout(height=height + legend_px,
                      margin={"l": 60, "r": 20, "t": 60, "b": X_AXIS_PX - 15 + legend_px},
                      legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0.01,
                              "xanchor": "left"})
    return fig


def add_history_band(fig: go.Figure, first_year: int | None, history_last_year: int | None) -> None:
    """Shade the history years (calibrated to observations) and label them."""
    if history_last_year is None or first_year is None or history_last_year < first_year:
        return
    fig.add_vrect(x0=first_year - 0.5, x1=history_last_year + 0.5, fillcolor=HISTORY_FILL, line_width=0,
                  layer="below", annotation_text="history", annotation_position="top left",
                  annotation_font_size=11, annotation_font_color="#666")


def statistic_figure(stat: Statistic, *, title: str | None = None, kind: str | None = None) -> go.Figure:
    """A :class:`nevsim.results.Statistic` as a plotly figure (the same table, drawn)."""
    import plotly.graph_objects as go

    kind = kind or stat.attrs.get("kind", "line")
    if kind not in ("line", "area", "bar"):
        from nevsim.errors import InputError

        raise InputError("kind", f"unknown chart kind {kind!r}.", ["line", "area", "bar"])
    fig = go.Figure()
    years = stat.index.to_numpy()
    unit = str(stat.attrs.get("unit", ""))
    if isinstance(stat.columns, pd.MultiIndex):  # quantiles over draws
        names = list(dict.fromkeys(stat.columns.get_level_values(0)))
        n_draws = stat.attrs.get("draws")
        for i, name in enumerate(names):
            sub = stat[name]
            qs = sorted(float(q) for q in sub.columns)
            mid = min(qs, key=lambda q: abs(q - 0.5))
            color = _color(str(name), i)
            if len(qs) > 1:
                band = band_label(str(name), qs[0], qs[-1], n_draws)
                fig.add_trace(go.Scatter(x=years, y=sub[qs[-1]], mode="lines", line={"width": 0},
                                         showlegend=False, hoverinfo="skip", legendgroup=str(name)))
                fig.add_trace(go.Scatter(x=years, y=sub[qs[0]], mode="lines", line={"width": 0}, fill="tonexty",
                                         fillcolor=rgba(color, 0.2), legendgroup=str(name), name=band,
                                         customdata=sub[qs[-1]].to_numpy(),
                                         hovertemplate=band_hover(unit, band)))
            fig.add_trace(go.Scatter(x=years, y=sub[mid], mode="lines", name=f"{name} (median)",
                                     line={"color": color}, legendgroup=str(name),
                                     hovertemplate=hover(unit, f"{name} (median)")))
    else:
        for i, name in enumerate(stat.columns):
            color = _color(str(name), i)
            y = stat[name].to_numpy(dtype=float)
            tmpl = hover(unit, str(name))
            if kind == "bar":
                fig.add_trace(go.Bar(x=years, y=y, name=str(name), marker_color=color, hovertemplate=tmpl))
            elif kind == "area":
                fig.add_trace(go.Scatter(x=years, y=y, name=str(name), mode="lines", stackgroup="one",
                                         line={"color": color}, hovertemplate=tmpl))
            else:
                fig.add_trace(go.Scatter(x=years, y=y, name=str(name), mode="lines", line={"color": color},
                                         hovertemplate=tmpl))
        if kind == "bar":
            fig.update_layout(barmode="relative")
    if len(years):
        add_history_band(fig, int(years.min()), stat.attrs.get("history_last_year"))
    region = stat.attrs.get("region")
    text = title or stat.attrs.get("title", "")
    if region:
        from nevsim.results import region_name

        text = f"{text} — {region_name(region)}"
    return _layout(fig, text, stat.attrs.get("unit", ""))


def _median_by_year(res: Results, variable: str) -> pd.Series:
    s = res._rows("series", variables=[variable])
    return s.groupby("year")["value"].median().sort_index()


def _median_label(res: Results, label: str) -> str:
    """``label`` with "(median of N draws)" when the run has several Monte Carlo draws."""
    return f"{label} (median of {res.n_draws:,} draws)" if res.n_draws > 1 else label


#: Fewer Monte Carlo draws than this make a rough 5–95 % band (its edges are single draws): the legend says so.
FEW_DRAWS = 100


def _add_fan(fig: go.Figure, res: Results, variable: str, color: str, label: str, *, fmt: str | None = None,
             unit: str = "", **where: Any) -> None:
    """Fan bands over draws (5–95 % light, 25–75 % darker) of a series variable; nothing with one draw.

    ``fmt``: the d3 format of the values on hover (default :func:`value_format` of ``unit``);
    ``unit``: shown after the values on hover.

    ``where``: the subplot of a :func:`plotly.subplots.make_subplots` figure (``row=, col=`` or
    ``secondary_y=``), passed on to ``fig.add_trace``.
    """
    import plotly.graph_objects as go

    if res.n_draws < 2:
        return
    s = res._rows("series", variables=[variable])
    q = s.groupby("year")["value"].quantile([0.05, 0.25, 0.75, 0.95]).unstack().sort_index()
    for lo, hi, alpha in ((0.05, 0.95, 0.15), (0.25, 0.75, 0.3)):
        name = band_label(label, lo, hi, res.n_draws)
        fig.add_trace(go.Scatter(x=q.index, y=q[hi], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip", legendgroup=name), **where)
        fig.add_trace(go.Scatter(x=q.index, y=q[lo], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=rgba(color, alpha), name=name, legendgroup=name,
                                 customdata=q[hi].to_numpy(), hovertemplate=band_hover(unit, name, fmt)),
                      **where)


def _span(res: Results) -> tuple[int, int | None]:
    return res.years[0], res.meta.get("history_last_year")


# ---------------------------------------------------------------------------- report charts


#: What a share target is compared with (its ``compared_variable``) → the short basis in its label and legend.
#: … and in the legend (short: two legend items fit a row of a narrow chart).
TARGET_SHORT: dict[str, str] = {"NEV share, CAAM basis": "CAAM", "EV share of new cars": "EV"}
TARGET_BASIS: dict[str, str] = {"Sales Share|All Vehicles|NEV": "NEV share, CAAM basis",
                                "Sales Share|Cars|EV": "EV share of new cars"}


def _basis(row_compared: str) -> str:
    """Short basis of a target from its ``compared_variable`` (or ``compared_with`` text)."""
    text = str(row_compared)
    for key, short in TARGET_BASIS.items():
        if text.startswith(key):
            return short
    return text.split(":")[0]


def share_vs_targets(res: Results, targets: pd.DataFrame | None = None,
                     observed: pd.DataFrame | None = None) -> go.Figure:
    """EV share of new cars (model; dashed in history years), observed points, the CAAM-basis
    estimate, and the share targets as markers (filled = binding, open = not binding), each
    labelled with the line it is compared with ("[CAAM]": the NEV share of all new vehicles)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    first, hist = _span(res)
    car = _median_by_year(res, "Sales Share|Cars|EV")
    hist_end = hist if hist is not None else int(car.index.min()) - 1
    past, future = car[car.index <= hist_end], car[car.index >= hist_end]
    ev = COLORS["EV"]
    _add_fan(fig, res, "Sales Share|Cars|EV", ev, "EV share", unit="%")
    fig.add_trace(go.Scatter(x=past.index, y=past.values, mode="lines", name="EV share (history)",
                             line={"color": ev, "dash": "dot"},
                             hovertemplate=hover("%", "EV share of new cars (model, history)")))
    fig.add_trace(go.Scatter(x=future.index, y=future.values, mode="lines",
                             name="EV share (projection)", line={"color": ev, "width": 3},
                             hovertemplate=hover("%", "EV share of new cars (model, projection)")))
    caam = _median_by_year(res, "Sales Share|All Vehicles|NEV")
    _add_fan(fig, res, "Sales Share|All Vehicles|NEV", COLORS["NEV"], "NEV share, CAAM basis", unit="%")
    if not caam.empty:
        name = "NEV share, CAAM basis"
        fig.add_trace(go.Scatter(x=caam.index, y=caam.values, mode="lines", line={"color": COLORS["NEV"], "dash": "dash"},
                                 name=name, hovertemplate=hover("%", "NEV share of all new vehicles (CAAM basis, estimate)")))
    if observed is not None and not observed.empty:
        fig.add_trace(go.Scatter(x=observed["year"], y=observed["value"], mode="markers", name="observed (IEA / OWID)",
                                 marker={"color": palette.OBSERVED, "size": 6},
                                 hovertemplate=hover("%", "observed (IEA / OWID)")))
    if targets is not None and not targets.empty:
        shares = targets[targets["unit"].astype(str).str.lower().eq("percent")
                         & targets["compared_with"].astype(str).str.startswith("Sales Share")].copy()
        compared = shares["compared_variable"] if "compared_variable" in shares else shares["compared_with"]
        shares["basis"] = compared.astype(str).map(_basis)
        for (basis, binding), group in shares.groupby(["basis", "binding"], sort=False):
            # the marker's outline takes the colour of the line it is compared with, its fill the target red
            line_colour = COLORS["NEV"] if basis.startswith("NEV share") else ev
            fig.add_trace(go.Scatter(
                x=group["year"], y=group["target_value"], mode="markers",
                text=group["label" if "label" in group.columns else "name"],  # label: name and status
                marker={"symbol": "diamond" if binding else "diamond-open", "size": 12, "color": TARGET,
                        "line": {"width": 2, "color": TARGET if not binding else line_colour}},
                name=f"target: {TARGET_SHORT.get(basis, basis)}, {'binding' if binding else 'not binding'}",
                customdata=np.stack([group["compared_with"].astype(str).map(for_readers), group["source"].astype(str)],
                                    axis=-1),
                hovertemplate="%{text}: %{y:.1f} % in %{x}<br>compared with %{customdata[0]}"
                              "<br>%{customdata[1]}<extra></extra>",
            ))
        labels = target_labels(shares)
        fig.add_trace(go.Scatter(x=labels["x"], y=labels["y"], mode="text",
                                 text=labels["text"], textposition="middle right", textfont={"size": 10},
                                 showlegend=False, hoverinfo="skip"))
    add_history_band(fig, first, hist)
    fig = _layout(fig, "EV share of new cars vs targets", "% of new sales", height=480)
    fig.update_yaxes(range=[0, 105])
    return fig


#: Target labels of the EV-share chart: x offset from the marker (years; clear of its 12 px diamond), width per character (years at
#: 10 px text on a ~480 px plot of 50 years) and the least vertical distance between two labels (points).
LABEL_DX_YEARS = 0.9
LABEL_CHAR_YEARS = 0.6
LABEL_GAP_PCT = 5.0
#: Label suffix of a target compared with the NEV share of all new vehicles (CAAM basis), not the EV share of cars.
CAAM_TAG = " [CAAM]"


def _consecutive(years: pd.Series) -> bool:
    y = sorted(int(v) for v in years)
    return y == list(range(y[0], y[0] + len(y)))


def target_labels(shares: pd.DataFrame) -> pd.DataFrame:
    """Text labels of the share targets (``x``, ``y``, ``text``), placed so that none runs into another.

    A series of targets of one name in consecutive years ("California ACC II 2026", "2027" … "2035")
    is labelled at its first and last year only (its markers carry every name on hover); the text is the
    ``label`` column (name and status) where there is one, else the name. Targets of one
    name in years apart ("Roadmap 2.0 NEV share 2025", "2030", "2035") each get a label. Targets at the
    same point share a label ("A / B"). A target compared with the CAAM-basis NEV share (``basis`` column
    starting "NEV share") is tagged :data:`CAAM_TAG`. A label overlapping one placed before it (its text
    spans ``len × LABEL_CHAR_YEARS`` years to the right, ``LABEL_GAP_PCT`` points high) moves down below
    it, or up when there is no room.
    """
    cols = ["name", "year", "target_value"] + (["basis"] if "basis" in shares else [])
    frame = shares[cols].copy()
    # the printed text: the target's label (name and status) where the table has one, else its name
    frame["text"] = (shares["label"] if "label" in shares.columns else shares["name"]).astype(str)
    if "basis" in frame:
        frame["text"] = [f"{n}{CAAM_TAG}" if str(b).startswith("NEV share") else n
                         for n, b in zip(frame["text"], frame["basis"], strict=True)]
    frame["stem"] = frame["name"].astype(str).str.replace(r"\s*\d{4}$", "", regex=True)
    keep = []
    for _, g in frame.sort_values("year").groupby("stem", sort=False):
        keep.append(g.iloc[[0, -1]] if len(g) > 2 and _consecutive(g["year"]) else g)
    kept = pd.concat(keep) if keep else frame
    merged = kept.groupby(["year", "target_value"])["text"].agg(lambda n: " / ".join(n)).reset_index()
    placed: list[tuple[float, float, float]] = []  # (x0, x1, y)
    out = []
    for row in merged.sort_values(["year", "target_value"], ascending=[True, False]).itertuples(index=False):
        x0 = float(row.year) + LABEL_DX_YEARS
        x1 = x0 + LABEL_CHAR_YEARS * len(str(row.text))
        y = float(row.target_value)
        for _ in range(len(placed) + 1):
            hits = [p for p in placed if p[0] < x1 and x0 < p[1] and abs(p[2] - y) < LABEL_GAP_PCT]
            if not hits:
                break
            below = min(p[2] for p in hits) - LABEL_GAP_PCT
            y = below if below >= 2.0 else max(p[2] for p in hits) + LABEL_GAP_PCT
        placed.append((x0, x1, y))
        out.append({"x": x0, "y": y, "text": str(row.text)})
    return pd.DataFrame(out, columns=["x", "y", "text"])


def new_car_co2(res: Results, targets: pd.DataFrame | None = None) -> go.Figure:
    """New-car CO2 (g CO2/km, sales-weighted test cycle; ``Emissions|CO2|New Cars``) with the fleet
    standard's targets in g/km as markers (filled = binding); targets on another test cycle (the EU's
    NEDC years, ``projected_value`` empty and compared_with "not comparable") are left out."""
    import plotly.graph_objects as go

    fig = go.Figure()
    first, hist = _span(res)
    var = "Emissions|CO2|New Cars"
    colour = COLORS["New-car CO2"]
    _add_fan(fig, res, var, colour, "new-car CO2", unit="g/km")
    s = _median_by_year(res, var)
    name = _median_label(res, "new-car CO2 (model)")
    fig.add_trace(go.Scatter(x=s.index, y=s.values, mode="lines", name=name, line={"color": colour, "width": 3},
                             hovertemplate=hover("g/km", name)))
    if targets is not None and not targets.empty:
        g = targets[targets["unit"].astype(str).str.lower().str.contains("g co2/km")
                    & targets["compared_with"].astype(str).str.startswith(var)]
        for binding, group in g.groupby("binding", sort=False):
            fig.add_trace(go.Scatter(
                x=group["year"], y=group["target_value"], mode="markers+text",
                text=group["label" if "label" in group.columns else "name"],  # label: name and status
                textposition="top right", textfont={"size": 10},
                marker={"symbol": "diamond" if binding else "diamond-open", "size": 12, "color": TARGET,
                        "line": {"width": 2, "color": TARGET}},
                name=f"fleet standard ({'binding' if binding else 'not binding'})",
                hovertemplate="%{text}: %{y:.1f} g CO2/km from %{x}<extra></extra>"))
    add_history_band(fig, first, hist)
    return _layout(fig, "New-car CO2 (g/km) vs the fleet standard", "g CO2/km (new cars, test cycle)")


def bev_phev_split(res: Results) -> go.Figure:
    """BEV and PHEV shares of new cars: stacked areas (one draw), or each median with its band
    (Monte Carlo draws: bands cannot be stacked; the title says so)."""
    stat = res.stats.ev_share()
    if isinstance(stat.columns, pd.MultiIndex):  # quantile columns with draws
        fig = stat.drop(columns="EV", level="series", errors="ignore").plot(
            title="BEV and PHEV shares of new cars (each with its band, not stacked)")
    else:
        fig = stat.drop(columns="EV", errors="ignore").plot(
            title="BEV / PHEV split of new cars (stacked: BEV + PHEV = EV share)", kind="area")
    fig.update_yaxes(range=[0, 105])
    return fig


#: The unit of each credit price on a chart's axis (the series' "EUR/credit" does not say what a credit is).
CREDIT_UNITS: dict[str, str] = {"Fleet CO2": "EUR per g CO2/km per car", "NEV": "CNY per NEV credit",
                                "CAFC": "CNY per CAFC credit", "ZEV": "USD per ZEV credit"}
#: Years in a row at price 0 that get the note "surplus of credits: price 0".
ZERO_RUN_YEARS = 3


def _credit_caps(res: Results) -> dict[str, float]:
    """Price cap of each credit market (its column name → cap in the price's unit): China's
    ``policy.dual_credit.price_cap_cny_per_credit``; the EU's fleet-CO2 excess premium
    (``nevsim.policy`` table ``EU/CO2/excess_premium_eur_per_g_km``, or the scenario's
    ``region.price_cap_per_credit["EU-CO2"]``)."""
    caps: dict[str, float] = {}
    scen = res.scenario if isinstance(res.scenario, dict) else {}
    cap = ((scen.get("policy", {}) or {}).get("dual_credit", {}) or {}).get("price_cap_cny_per_credit")
    if cap:
        caps["NEV"] = float(cap)
    spec = scen.get("region_spec") or {}
    if isinstance(spec, dict) and "EU-CO2" in (spec.get("policies") or []) and spec.get("currency") == "EUR":
        own = (spec.get("price_cap_per_credit") or {}).get("EU-CO2")
        if own is not None:
            caps["Fleet CO2"] = float(own)
        else:
            try:
                from nevsim.policy import _tables as tables

                caps["Fleet CO2"] = float(tables.value("EU", "CO2", "excess_premium_eur_per_g_km", 2030))
            except Exception:  # a chart without its cap line rather than no chart
                pass
    return caps


def _zero_runs(values: pd.Series, min_years: int = ZERO_RUN_YEARS) -> list[tuple[int, int]]:
    """``(first, last)`` year of each run of at least ``min_years`` consecutive years at price 0."""
    runs: list[tuple[int, int]] = []
    start = prev = None
    for year, v in values.items():
        if abs(float(v)) < 1e-9 and (prev is not None and int(year) == prev + 1 and start is not None):
            prev = int(year)
            continue
        if start is not None and prev is not None and prev - start + 1 >= min_years:
            runs.append((start, prev))
        start = prev = int(year) if abs(float(v)) < 1e-9 else None
    if start is not None and prev is not None and prev - start + 1 >= min_years:
        runs.append((start, prev))
    return runs


def credit_price(res: Results) -> go.Figure:
    """Clearing price of each credit market as steps (a price per year) with markers, its cap (the
    penalty per credit) as a red dashed line, and "surplus of credits: price 0" over a run of years
    at price 0."""
    stat = res.stats.credit_price()
    china = "Price|Credit|NEV" in res.labels()
    fig = stat.plot(title="NEV credit price" if china else "Credit price of the region's standard (cap = penalty)")
    fig.update_traces(line_shape="hv", selector={"type": "scatter"})
    fig.update_traces(mode="lines+markers", marker={"size": 5},
                      selector=lambda t: t.type == "scatter" and t.fill is None and (t.line.width or 2) > 0)
    names = list(dict.fromkeys(stat.columns.get_level_values(0) if isinstance(stat.columns, pd.MultiIndex)
                               else stat.columns))
    units = [CREDIT_UNITS[n] for n in names if n in CREDIT_UNITS]
    if units:
        fig.update_yaxes(title_text=" / ".join(dict.fromkeys(units)))
        unit_text = units[0] if len(units) == 1 else ""
        for t in fig.data:
            if t.hovertemplate and "customdata" not in t.hovertemplate:
                t.hovertemplate = hover(unit_text, str(t.name))
    caps = _credit_caps(res)
    for name in names:
        if name in caps:  # labelled at the right end: the history band's label sits at the top left
            cap_unit = CREDIT_UNITS.get(name, "")
            fig.add_hline(y=caps[name], line_dash="dash", line_color=TARGET,
                          annotation_text=f"cap (penalty) {caps[name]:,.0f} {cap_unit}",
                          annotation_position="top right", annotation_font_color=TARGET)
        col = stat[name]
        med = col[min(col.columns, key=lambda q: abs(float(q) - 0.5))] if isinstance(col, pd.DataFrame) else col
        med = med.dropna()
        priced = med.index[med.abs() > 1e-9]
        # zeros before the first price are years before the market, not a surplus
        for lo, hi in _zero_runs(med[med.index > priced.min()] if len(priced) else med.iloc[:0]):
            fig.add_annotation(x=(lo + hi) / 2, y=0, yanchor="bottom", yshift=8, showarrow=False,
                               text="surplus of credits: price 0", font={"size": 11, "color": palette.RULE})
    return fig


def maker_balances(res: Results, years: list[int] | None = None, *, market: str | None = None) -> go.Figure:
    """Each maker's credit balance in a few years (bars in greys, older lighter): who sells (> 0)
    and who buys (< 0); the legend lists the years in the order of the bars. ``market``: ``"NEV"``,
    ``"Fleet CO2"`` or ``"ZEV"`` (default: the run's first, China's NEV credits else a region's)."""
    import plotly.graph_objects as go

    present = res.labels(table="makers")
    if market is not None:
        variable = f"Credits|{market}|Balance"
    else:
        variable = next((v for v in ("Credits|NEV|Balance", "Credits|Fleet CO2|Balance", "Credits|ZEV|Balance")
                         if v in present), "Credits|NEV|Balance")  # China's NEV credits, else a region's standard
    label = variable.split("|")[1]
    mk = res._rows("makers", variables=[variable])
    fig = go.Figure()
    if mk.empty:
        return _layout(fig, "Makers' NEV credit balances (not in this run)", "credits")
    available = sorted(mk["year"].unique())
    if years is None:
        hist = res.meta.get("history_last_year")
        wanted = [y for y in (2021, hist, 2030, 2035) if y is not None]
        years = [y for y in dict.fromkeys(wanted) if y in available] or available[-3:]
    table = (mk[mk["year"].isin(years)].groupby(["maker", "year"])["value"].median().unstack("year"))
    if table.empty:  # (years the run does not have)
        return _layout(fig, f"Makers' {label} credit balances (none in {', '.join(map(str, years))})", "credits")
    table = table.loc[table.abs().max(axis=1).sort_values().index]
    shades = palette.greys(len(years))
    for i, y in enumerate(years):
        fig.add_trace(go.Bar(y=table.index, x=table[y], orientation="h", name=str(y), marker_color=shades[i],
                             hovertemplate=f"%{{x:,.0f}} credits<extra>{y}</extra>"))
    values = table.to_numpy(dtype=float)
    if np.nanmin(values) >= 0:
        what = "(every maker earns more than it needs: all sell)"
    elif np.nanmax(values) <= 0:
        what = "(every maker is short: all buy)"
    else:
        what = "(> 0 sells, < 0 buys)"
    fig = _layout(fig, f"Makers' {label} credit balances {what}", "", height=520)
    # horizontal grouped bars draw the first year at the bottom of each group: list the legend the same way
    fig.update_layout(barmode="group", hovermode="y unified", legend={"traceorder": "reversed"})
    fig.update_xaxes(title_text="credits (earned − required)", rangemode="normal")
    fig.update_yaxes(title_text="")
    return fig


def stock(res: Results) -> go.Figure:
    """Car stock: EVs (BEV, PHEV) and all cars."""
    return res.stats.stock().plot(title="Car stock")


def energy(res: Results) -> go.Figure:
    """Oil displaced by EVs (kb/d) and electricity used by cars (TWh), side by side; with Monte
    Carlo draws each is the median over draws with its 5–95 % and 25–75 % bands."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    # short panel titles: each is centred over its half of a 560 px chart (longer ones ran into each other)
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("Oil displaced (kb/d)", "Electricity, cars (TWh/yr)"))
    for col, var, color, label, unit in ((1, "Oil Displacement", COLORS["Oil"], "oil displaced", "kb/d"),
                                         (2, "Electricity|Cars", COLORS["Electricity"], "electricity used by cars",
                                          "TWh/yr")):
        _add_fan(fig, res, var, color, label, unit=unit, row=1, col=col)
        s = _median_by_year(res, var)
        name = _median_label(res, label)
        fig.add_trace(go.Scatter(x=s.index, y=s.values, mode="lines", name=name,
                                 line={"color": color}, hovertemplate=hover(unit, name)), row=1, col=col)
    first, hist = _span(res)
    if hist is not None:
        for col in (1, 2):
            fig.add_vrect(x0=first - 0.5, x1=hist + 0.5, fillcolor=HISTORY_FILL, line_width=0, layer="below",
                          row=1, col=col)
    fig.update_layout(showlegend=res.n_draws > 1)  # one draw: the panel titles say it all
    fig = _layout(fig, "Energy", "")
    fig.update_annotations(font_size=13)  # the panel titles
    return fig


#: Tick steps a chart axis may use, times a power of ten (0, 2.5, 5, 7.5 or 0, 2, 4, … read at a glance).
NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


def _nice_step(raw: float) -> float:
    """Smallest step ``k × 10^e`` (``k`` in :data:`NICE_STEPS` or 10) that is ≥ ``raw`` (> 0)."""
    power = 10.0 ** np.floor(np.log10(raw))
    for k in (*NICE_STEPS, 10.0):
        if k * power >= raw * (1 - 1e-9):
            return float(k * power)
    raise AssertionError(raw)  # pragma: no cover - 10 × power ≥ raw always


def aligned_ticks(top_left: float, top_right: float, *, intervals: tuple[int, ...] = (4, 5, 6),
                  headroom: float = 1.02) -> tuple[int, float, float]:
    """Round ticks for two y axes drawn over each other, on the same gridlines.

    Both axes run from 0 in ``n`` equal steps, ``step_left`` and ``step_right`` each a round
    number (:data:`NICE_STEPS` × 10^e) with ``n × step ≥ headroom × top``; of the ``n`` in
    ``intervals`` the one wasting least of the taller (relative) axis is taken:
    ``min over n of max(n·step_l / top_l, n·step_r / top_r)``. Returns ``(n, step_left, step_right)``.
    Tops must be > 0 and finite.
    """
    best: tuple[float, int, float, float] | None = None
    for n in intervals:
        sl, sr = _nice_step(headroom * top_left / n), _nice_step(headroom * top_right / n)
        waste = max(n * sl / top_left, n * sr / top_right)
        if best is None or waste < best[0] - 1e-12:
            best = (waste, n, sl, sr)
    assert best is not None
    return best[1], best[2], best[3]


def _axis_top(fig: go.Figure, yaxis: str) -> float:
    """Largest finite y of the traces drawn on ``yaxis`` ("y", "y2"), or NaN."""
    values = [np.asarray(t.y, dtype=float) for t in fig.data if (t.yaxis or "y") == yaxis and t.y is not None]
    finite = np.concatenate([v[np.isfinite(v)] for v in values]) if values else np.array([])
    return float(finite.max()) if finite.size else float("nan")


def align_secondary_axis(fig: go.Figure) -> go.Figure:
    """Give a figure with a right-hand y axis (``secondary_y``) round ticks on both axes, on shared gridlines.

    plotly.js otherwise syncs the right axis to the left one's gridlines (``tickmode="sync"``),
    which puts its ticks at odd values such as 2.64, 5.28, 7.92. Here both axes get a range
    ``[0, n × step]`` and linear ticks every ``step`` (:func:`aligned_ticks`). Left unchanged if
    an axis has no positive finite value.
    """
    top_l, top_r = _axis_top(fig, "y"), _axis_top(fig, "y2")
    if not (np.isfinite(top_l) and np.isfinite(top_r) and top_l > 0 and top_r > 0):
        return fig
    n, sl, sr = aligned_ticks(top_l, top_r)
    fig.update_layout(yaxis={"range": [0, n * sl], "tickmode": "linear", "tick0": 0, "dtick": sl,
                             "autorange": False},
                      yaxis2={"range": [0, n * sr], "tickmode": "linear", "tick0": 0, "dtick": sr,
                              "autorange": False, "showgrid": False})
    return fig


def co2(res: Results) -> go.Figure:
    """CO2 of the car fleet, well-to-wheel (Mt CO2e/yr)."""
    return res.stats.co2().plot(title="CO2 emissions of cars, well-to-wheel")


def chargers(res: Results) -> go.Figure:
    """Public charging points (left axis) and EVs per public charger (right axis); with Monte Carlo
    draws the medians over draws with their bands."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    c = _median_by_year(res, "Chargers|Public")
    r = _median_by_year(res, "EVs per Public Charger")
    # a count: whole chargers on hover (a modelled year's value is EV stock / EVs per charger, 148.2 …)
    green, purple = COLORS["Chargers"], COLORS["EVs per charger"]
    _add_fan(fig, res, "Chargers|Public", green, "public charging points", unit="chargers", secondary_y=False)
    name = _median_label(res, "public charging points")
    fig.add_trace(go.Scatter(x=c.index, y=c.values, mode="lines", name=name, line={"color": green},
                             yhoverformat=",.0f", hovertemplate=hover("chargers", name)), secondary_y=False)
    _add_fan(fig, res, "EVs per Public Charger", purple, "EVs per public charger", unit="EVs per charger",
             secondary_y=True)
    name = _median_label(res, "EVs per public charger")
    fig.add_trace(go.Scatter(x=r.index, y=r.values, mode="lines", name=name, line={"color": purple, "dash": "dash"},
                             hovertemplate=hover("EVs per charger", name)), secondary_y=True)
    first, hist = _span(res)
    add_history_band(fig, first, hist)
    fig = _layout(fig, "Public chargers and EVs per charger", "chargers")
    fig.update_yaxes(title_text="EVs per charger", secondary_y=True, rangemode="tozero")
    return align_secondary_axis(fig)


def all_figures(res: Results, targets: pd.DataFrame | None = None,
                observed: pd.DataFrame | None = None) -> list[tuple[str, Any]]:
    """The report's charts in order: ``[(section title, figure), …]`` (charts whose variables the
    run lacks are left out)."""
    present = res.labels()
    out: list[tuple[str, Any]] = []
    if "Sales Share|Cars|EV" in present:
        out.append(("EV share vs targets", share_vs_targets(res, targets, observed)))
    if "Emissions|CO2|New Cars" in present:  # the EU's binding targets are in g CO2/km
        out.append(("New-car CO2 vs standard", new_car_co2(res, targets)))
    if {"Sales Share|Cars|BEV", "Sales Share|Cars|PHEV"} <= present:
        out.append(("BEV / PHEV split", bev_phev_split(res)))
    if any(v.startswith("Price|Credit|") for v in present):  # China's NEV credits or a region's standards
        out.append(("Credit price", credit_price(res)))
    in_makers = res.labels(table="makers")
    for market in ("NEV", "Fleet CO2", "ZEV"):  # every credit market between makers the run has (US 2024 rules: two)
        if f"Credits|{market}|Balance" in in_makers:
            out.append((f"Makers' {market} credit balances", maker_balances(res, market=market)))
    if "Stock|Cars|EV" in present:
        out.append(("Stock", stock(res)))
    if {"Oil Displacement", "Electricity|Cars"} & present:
        out.append(("Energy", energy(res)))
    if "Emissions|CO2|Cars" in present:
        out.append(("CO2", co2(res)))
    if "Chargers|Public" in present:
        out.append(("Chargers", chargers(res)))
    if res.n_draws > 1:
        for _, fig in out:
            name_bands(fig, res.n_draws)
    return out
