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

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from nevsim.results import Results, Statistic

COLORS = {
    "EV": "#1b9e77", "BEV": "#1f78b4", "PHEV": "#a6cee3", "HEV": "#fdbf6f", "ICE": "#7f7f7f",
    "Total": "#444444", "NEV": "#d95f02", "CAFC": "#7570b3",
}
PALETTE = ["#1f78b4", "#33a02c", "#e31a1c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a",
           "#fb9a99", "#fdbf6f", "#cab2d6", "#ffff99", "#1b9e77", "#d95f02", "#7570b3"]
HISTORY_FILL = "rgba(120,120,120,0.10)"

#: How nevsim.targets points to a derived series' method: " (see meta['derived'])".
_META_REF = re.compile(r"\s*\(see meta\[['\"]derived['\"]\]\)")


def for_readers(text: str, where: str = "") -> str:
    """``text`` without pointers into the run's metadata (``(see meta['derived'])``), which a reader
    of a chart or report cannot follow; ``where`` (e.g. ``" (how: see the note below this table)"``)
    takes their place."""
    return _META_REF.sub(where, text)


def _color(name: str, i: int) -> str:
    return COLORS.get(name, PALETTE[i % len(PALETTE)])


def _layout(fig: go.Figure, title: str, unit: str, *, height: int = 420) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0.01}, template="plotly_white", hovermode="x unified")
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
    if isinstance(stat.columns, pd.MultiIndex):  # quantiles over draws
        names = list(dict.fromkeys(stat.columns.get_level_values(0)))
        for i, name in enumerate(names):
            sub = stat[name]
            qs = sorted(float(q) for q in sub.columns)
            mid = min(qs, key=lambda q: abs(q - 0.5))
            color = _color(str(name), i)
            if len(qs) > 1:
                fig.add_trace(go.Scatter(x=years, y=sub[qs[-1]], mode="lines", line={"width": 0},
                                         showlegend=False, hoverinfo="skip", legendgroup=str(name)))
                fig.add_trace(go.Scatter(x=years, y=sub[qs[0]], mode="lines", line={"width": 0}, fill="tonexty",
                                         fillcolor=rgba(color, 0.2), legendgroup=str(name),
                                         name=f"{name} {qs[0]:.0%}–{qs[-1]:.0%}"))
            fig.add_trace(go.Scatter(x=years, y=sub[mid], mode="lines", name=f"{name} (median)",
                                     line={"color": color}, legendgroup=str(name)))
    else:
        for i, name in enumerate(stat.columns):
            color = _color(str(name), i)
            y = stat[name].to_numpy(dtype=float)
            if kind == "bar":
                fig.add_trace(go.Bar(x=years, y=y, name=str(name), marker_color=color))
            elif kind == "area":
                fig.add_trace(go.Scatter(x=years, y=y, name=str(name), mode="lines", stackgroup="one",
                                         line={"color": color}))
            else:
                fig.add_trace(go.Scatter(x=years, y=y, name=str(name), mode="lines", line={"color": color}))
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


def rgba(hex_color: str, alpha: float) -> str:
    """``#rrggbb`` → ``rgba(r,g,b,alpha)`` (fan bands; the back-test's bands in each cutoff's colour)."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _median_by_year(res: Results, variable: str) -> pd.Series:
    s = res._rows("series", variables=[variable])
    return s.groupby("year")["value"].median().sort_index()


def _median_label(res: Results, label: str) -> str:
    """``label`` with "(median of N draws)" when the run has several Monte Carlo draws."""
    return f"{label} (median of {res.n_draws:,} draws)" if res.n_draws > 1 else label


#: Fewer Monte Carlo draws than this make a rough 5–95 % band (its edges are single draws): the legend says so.
FEW_DRAWS = 100


def _add_fan(fig: go.Figure, res: Results, variable: str, color: str, label: str, *, fmt: str = ".1f",
             **where: Any) -> None:
    """Fan bands over draws (5–95 % light, 25–75 % darker) of a series variable; nothing with one draw.

    ``fmt``: the d3 format of the values on hover (``",.0f"`` for a count).

    ``where``: the subplot of a :func:`plotly.subplots.make_subplots` figure (``row=, col=`` or
    ``secondary_y=``), passed on to ``fig.add_trace``.
    """
    import plotly.graph_objects as go

    if res.n_draws < 2:
        return
    s = res._rows("series", variables=[variable])
    q = s.groupby("year")["value"].quantile([0.05, 0.25, 0.75, 0.95]).unstack().sort_index()
    n = res.n_draws
    few = " (few draws: rough band)" if n < FEW_DRAWS else ""
    for lo, hi, alpha in ((0.05, 0.95, 0.15), (0.25, 0.75, 0.3)):
        name = f"{label}: {int(lo * 100)}–{int(hi * 100)} % of {n:,} draws{few}"
        fig.add_trace(go.Scatter(x=q.index, y=q[hi], mode="lines", line={"width": 0}, showlegend=False,
                                 hoverinfo="skip", legendgroup=name), **where)
        fig.add_trace(go.Scatter(x=q.index, y=q[lo], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=rgba(color, alpha), name=name, legendgroup=name,
                                 customdata=q[hi].to_numpy(),
                                 hovertemplate=f"%{{x}}: %{{y:{fmt}}}–%{{customdata:{fmt}}}<extra>{name}</extra>"),
                      **where)


def _span(res: Results) -> tuple[int, int | None]:
    return res.years[0], res.meta.get("history_last_year")


# ---------------------------------------------------------------------------- report charts


def share_vs_targets(res: Results, targets: pd.DataFrame | None = None,
                     observed: pd.DataFrame | None = None) -> go.Figure:
    """EV share of new cars (model; dashed in history years), observed points, the CAAM-basis
    estimate, and the share targets as markers (filled = binding, open = not binding)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    first, hist = _span(res)
    car = _median_by_year(res, "Sales Share|Cars|EV")
    hist_end = hist if hist is not None else int(car.index.min()) - 1
    past, future = car[car.index <= hist_end], car[car.index >= hist_end]
    _add_fan(fig, res, "Sales Share|Cars|EV", COLORS["EV"], "EV share of new cars")
    fig.add_trace(go.Scatter(x=past.index, y=past.values, mode="lines", name="EV share of new cars (model, history)",
                             line={"color": COLORS["EV"], "dash": "dot"}))
    fig.add_trace(go.Scatter(x=future.index, y=future.values, mode="lines",
                             name="EV share of new cars (model, projection)", line={"color": COLORS["EV"], "width": 3}))
    caam = _median_by_year(res, "Sales Share|All Vehicles|NEV")
    _add_fan(fig, res, "Sales Share|All Vehicles|NEV", COLORS["NEV"], "NEV share (CAAM basis)")
    if not caam.empty:
        fig.add_trace(go.Scatter(x=caam.index, y=caam.values, mode="lines", line={"color": COLORS["NEV"], "dash": "dash"},
                                 name="NEV share of all new vehicles (CAAM basis, estimate)"))
    if observed is not None and not observed.empty:
        fig.add_trace(go.Scatter(x=observed["year"], y=observed["value"], mode="markers", name="observed (IEA / OWID)",
                                 marker={"color": "black", "size": 6}))
    if targets is not None and not targets.empty:
        shares = targets[targets["unit"].astype(str).str.lower().eq("percent")
                         & targets["compared_with"].astype(str).str.startswith("Sales Share")]
        for binding, group in shares.groupby("binding"):
            fig.add_trace(go.Scatter(
                x=group["year"], y=group["target_value"], mode="markers",
                text=group["label" if "label" in group.columns else "name"],
                marker={"symbol": "diamond" if binding else "diamond-open", "size": 12, "color": "#b2182b",
                        "line": {"width": 2, "color": "#b2182b"}},
                name="target (binding)" if binding else "target (not binding)",
                customdata=np.stack([group["compared_with"].astype(str).map(for_readers), group["source"].astype(str)],
                                    axis=-1),
                hovertemplate="%{text}: %{y} %% in %{x}<br>compared with %{customdata[0]}"
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


def target_labels(shares: pd.DataFrame) -> pd.DataFrame:
    """Text labels of the share targets (``x``, ``y``, ``text``), placed so that none runs into another.

    A series of yearly targets of one name ("California ACC II 2026" … "2035") is labelled at its first
    and last year only (its markers carry every name on hover); targets at the same point share a
    label ("A / B"). A label overlapping one placed before it (its text spans ``len × LABEL_CHAR_YEARS``
    years to the right, ``LABEL_GAP_PCT`` points high) moves down below it, or up when there is no room.
    """
    frame = shares[["name", "year", "target_value"]].copy()
    frame["text"] = shares["label"] if "label" in shares.columns else shares["name"]  # (name and status)
    frame["stem"] = frame["name"].astype(str).str.replace(r"\s*\d{4}$", "", regex=True)
    keep = []
    for _, g in frame.sort_values("year").groupby("stem", sort=False):
        keep.append(g.iloc[[0, -1]] if len(g) > 2 else g)
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


def bev_phev_split(res: Results) -> go.Figure:
    """BEV and PHEV shares of new cars, stacked (percent)."""
    stat = res.stats.ev_share()
    level = "series" if isinstance(stat.columns, pd.MultiIndex) else None  # quantile columns with draws
    fig = stat.drop(columns="EV", level=level, errors="ignore").plot(
        title="BEV / PHEV split of new cars", kind="area")
    fig.update_yaxes(range=[0, 105])
    return fig


def credit_price(res: Results) -> go.Figure:
    """Clearing price of the NEV (and CAFC) credit markets, with the cap if the scenario sets one."""
    if "Price|Credit|NEV" not in res.labels():  # a region's own standards (nevsim.regions)
        return res.stats.credit_price().plot(title="Credit prices of the region's standards (cap = penalty)")
    fig = res.stats.credit_price().plot(title="NEV credit price")
    cap = (res.scenario.get("policy", {}).get("dual_credit", {}) or {}).get("price_cap_cny_per_credit")
    if cap:
        # labelled at the right end: the history band's label sits at the top left
        fig.add_hline(y=float(cap), line_dash="dash", line_color="#b2182b",
                      annotation_text=f"cap {float(cap):,.0f} CNY/credit", annotation_position="top right")
    return fig


def maker_balances(res: Results, years: list[int] | None = None) -> go.Figure:
    """Each maker's NEV credit balance in a few years: who sells (> 0) and who buys (< 0)."""
    import plotly.graph_objects as go

    present = res.labels(table="makers")
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
    table = table.loc[table.abs().max(axis=1).sort_values().index]
    for i, y in enumerate(years):
        fig.add_trace(go.Bar(y=table.index, x=table[y], orientation="h", name=str(y),
                             marker_color=PALETTE[i % len(PALETTE)]))
    fig = _layout(fig, f"Makers' {label} credit balances (> 0 sells, < 0 buys)", "", height=520)
    fig.update_layout(barmode="group", hovermode="y unified")
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
    for col, var, color, label in ((1, "Oil Displacement", "#b15928", "oil displaced"),
                                   (2, "Electricity|Cars", "#1f78b4", "electricity used by cars")):
        _add_fan(fig, res, var, color, label, row=1, col=col)
        s = _median_by_year(res, var)
        fig.add_trace(go.Scatter(x=s.index, y=s.values, mode="lines", name=_median_label(res, label),
                                 line={"color": color}), row=1, col=col)
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
    """CO2 emissions of the car fleet (Mt/yr)."""
    return res.stats.co2().plot(title="CO2 emissions of cars")


def chargers(res: Results) -> go.Figure:
    """Public charging points (left axis) and EVs per public charger (right axis); with Monte Carlo
    draws the medians over draws with their bands."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": True}]])
    c = _median_by_year(res, "Chargers|Public")
    r = _median_by_year(res, "EVs per Public Charger")
    # a count: whole chargers on hover (a modelled year's value is EV stock / EVs per charger, 148.2 …)
    _add_fan(fig, res, "Chargers|Public", "#33a02c", "public charging points", fmt=",.0f", secondary_y=False)
    fig.add_trace(go.Scatter(x=c.index, y=c.values, mode="lines", name=_median_label(res, "public charging points"),
                             line={"color": "#33a02c"}, yhoverformat=",.0f"), secondary_y=False)
    _add_fan(fig, res, "EVs per Public Charger", "#6a3d9a", "EVs per public charger", secondary_y=True)
    fig.add_trace(go.Scatter(x=r.index, y=r.values, mode="lines", name=_median_label(res, "EVs per public charger"),
                             line={"color": "#6a3d9a", "dash": "dash"}), secondary_y=True)
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
    if {"Sales Share|Cars|BEV", "Sales Share|Cars|PHEV"} <= present:
        out.append(("BEV / PHEV split", bev_phev_split(res)))
    if any(v.startswith("Price|Credit|") for v in present):  # China's NEV credits or a region's standards
        out.append(("Credit price", credit_price(res)))
    if "Credits|NEV|Balance" in res.labels(table="makers"):
        out.append(("Makers' credit balances", maker_balances(res)))
    if "Stock|Cars|EV" in present:
        out.append(("Stock", stock(res)))
    if {"Oil Displacement", "Electricity|Cars"} & present:
        out.append(("Energy", energy(res)))
    if "Emissions|CO2|Cars" in present:
        out.append(("CO2", co2(res)))
    if "Chargers|Public" in present:
        out.append(("Chargers", chargers(res)))
    return out
