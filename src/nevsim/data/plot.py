"""Charts of the bundled data (plotly; imported lazily so the core stays light).

:func:`history_figure` draws what :func:`nevsim.data.history` returns, with the region's
share targets from :func:`nevsim.data.load` ``("targets")``: the table and the chart come from
the same data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from nevsim.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

PLOT_SUFFIXES = (".html", ".htm", ".png")

def _colours() -> dict[str, str]:
    """The history chart's colours from :mod:`nevsim.report.palette` (the same as the report's):
    the observed EV share black (newer OWID release dark grey), BEV/PHEV as the powertrains, EV
    stock teal, chargers green; every target the one target red."""
    from nevsim.report import palette

    return {"EV sales share": palette.OBSERVED, "OWID": palette.OBSERVED_NEWER,
            "BEV sales": palette.POWERTRAIN["BEV"], "PHEV sales": palette.POWERTRAIN["PHEV"],
            "EV stock": palette.POWERTRAIN["EV"], "Public chargers": palette.QUANTITY["Chargers"],
            "Target": palette.TARGET}


#: Vertical offset (points of share) between the labels of targets in one year, so none hides another.
TARGET_LABEL_STEP_PCT = 6.0


def share_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Targets that are a percent share of new sales (comparable in kind to the EV sales share).

    CO2 targets (g/km) and shares of something other than sales (e.g. BEV share of NEVs) are left
    out of the chart; they stay in the table.
    """
    if targets.empty:
        return targets
    metric = targets["metric"].str.lower()
    keep = (targets["unit"] == "percent") & metric.str.contains("sales") & ~metric.str.contains("of nev sales")
    return targets[keep]


def history_figure(history: pd.DataFrame, targets: pd.DataFrame | None = None) -> go.Figure:
    """Two panels: EV share of new car sales with target markers; BEV/PHEV sales, EV stock and
    public chargers (secondary axis). ``history`` as from :func:`nevsim.data.history`,
    ``targets`` as from ``load("targets", region=...)``."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from nevsim.report import palette

    _COLORS = _colours()
    region = history["region"].iloc[0] if not history.empty else "?"
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=False, vertical_spacing=0.07, row_heights=[0.46, 0.30, 0.24],
        subplot_titles=("EV share of new car sales (BEV + PHEV, %)", "EV sales and EV stock (cars)",
                        "Public charging points"),
    )

    def part(variable: str, source_prefix: str | None = None, exclude: str | None = None) -> pd.DataFrame:
        sel = history[history["variable"] == variable]
        if source_prefix is not None:
            sel = sel[sel["source"].str.startswith(source_prefix)]
        if exclude is not None:
            sel = sel[~sel["source"].str.startswith(exclude)]
        return sel

    iea_share = part("EV sales share", exclude="Our World in Data")
    owid_share = part("EV sales share", source_prefix="Our World in Data")
    fig.add_trace(go.Scatter(
        x=iea_share["year"], y=iea_share["value"], mode="lines+markers", name="EV sales share (IEA)",
        line={"color": _COLORS["EV sales share"], "width": 3},
        hovertemplate="%{x}: %{y:.3g} % of new cars<extra>IEA GEVO 2025</extra>",
    ), row=1, col=1)
    if not owid_share.empty:
        x = owid_share["year"].tolist()
        y = owid_share["value"].tolist()
        if not iea_share.empty:  # connect the OWID point(s) to the last IEA year with a dotted line
            x = [int(iea_share["year"].iloc[-1]), *x]
            y = [float(iea_share["value"].iloc[-1]), *y]
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines+markers", name="EV sales share (OWID, newer release)",
            line={"color": _COLORS["OWID"], "width": 2, "dash": "dot"}, marker={"size": 9},
            hovertemplate="%{x}: %{y:.3g} % of new cars<extra>OWID (IEA-based)</extra>",
        ), row=1, col=1)

    shown = share_targets(targets) if targets is not None else pd.DataFrame()
    # markers only (the years of one document are separate goals, not a path); every target the one red,
    # binding filled; targets in one year get labels stacked apart so none hides another
    for binding, group in (shown.groupby("binding", sort=False) if not shown.empty else []):
        hover = [
            f"<b>{r.name}</b><br>{r.value:g} {r.unit} by {r.year} ({r.qualifier})<br>{r.metric}<br>"
            f"{r.issuer}<br>binding: {'yes' if r.binding else 'no'} · status {r.status} · {r.source_key}"
            for r in group.itertuples(index=False)
        ]
        fig.add_trace(go.Scatter(
            x=group["year"], y=group["value"], mode="markers",
            name=f"target ({'binding' if binding else 'not binding'}; hover for its document)",
            marker={"size": 12, "symbol": "diamond" if binding else "diamond-open", "color": _COLORS["Target"],
                    "line": {"width": 2, "color": _COLORS["Target"]}},
            hovertext=hover, hoverinfo="text", legendgroup="targets",
        ), row=1, col=1)
    if not shown.empty:
        for year, group in shown.sort_values("value", ascending=False).groupby("year"):
            for k, r in enumerate(group.itertuples(index=False)):
                short = re.sub(r"\s*\b(19|20)\d{2}\b", "", str(r.name))
                fig.add_annotation(x=year, y=float(group["value"].max()) + TARGET_LABEL_STEP_PCT * (len(group) - k),
                                   text=f"{short} {r.value:g} %", showarrow=False,
                                   xanchor="right" if year == shown["year"].max() else "center",
                                   font={"size": 10, "color": _COLORS["Target"]}, row=1, col=1)

    bev = part("BEV sales")
    phev = part("PHEV sales")
    fig.add_trace(go.Bar(x=bev["year"], y=bev["value"], name="BEV sales", marker_color=_COLORS["BEV sales"],
                         hovertemplate="%{x}: %{y:,.0f} BEV cars sold<extra></extra>"), row=2, col=1)
    fig.add_trace(go.Bar(x=phev["year"], y=phev["value"], name="PHEV sales", marker_color=_COLORS["PHEV sales"],
                         hovertemplate="%{x}: %{y:,.0f} PHEV cars sold<extra></extra>"), row=2, col=1)
    stock = part("EV stock")
    fig.add_trace(go.Scatter(x=stock["year"], y=stock["value"], name="EV stock (BEV + PHEV cars)",
                             mode="lines", line={"color": _COLORS["EV stock"], "width": 2},
                             hovertemplate="%{x}: %{y:,.0f} EVs on the road<extra></extra>"), row=2, col=1)
    chargers = part("Public chargers")
    fig.add_trace(go.Scatter(x=chargers["year"], y=chargers["value"], name="Public chargers (fast + slow)",
                             mode="lines+markers", line={"color": _COLORS["Public chargers"], "width": 2, "dash": "dash"},
                             hovertemplate="%{x}: %{y:,.0f} public charging points<extra></extra>"),
                  row=3, col=1)

    last = int(history["year"].max()) if not history.empty else None
    fig.update_layout(
        title={"text": f"{region}: electric cars — history and targets", "x": 0.01},
        template=palette.TEMPLATE, barmode="stack", hovermode="closest", height=900,
        hoverlabel={"namelength": -1},
        legend={"orientation": "v", "x": 1.02, "y": 1.0, "font": {"size": 11}},
        margin={"l": 70, "r": 40, "t": 80, "b": 120},
    )
    fig.update_yaxes(title_text="% of new car sales", rangemode="tozero", row=1, col=1)
    fig.update_yaxes(title_text="cars", rangemode="tozero", tickformat="~s", row=2, col=1)
    fig.update_yaxes(title_text="charging points", rangemode="tozero", tickformat="~s", row=3, col=1)
    fig.update_xaxes(showticklabels=True)
    fig.update_xaxes(title_text="year", row=3, col=1)
    if last is not None:  # the lower panels end with the data; only the share panel runs on to the targets
        lo = int(history["year"].min()) - 0.6
        fig.update_xaxes(range=[lo, last + 0.6], row=2, col=1)
        fig.update_xaxes(range=[lo, last + 0.6], row=3, col=1)
        fig.update_xaxes(range=[lo, max(last, int(shown["year"].max()) if not shown.empty else last) + 1.5],
                         row=1, col=1)
    fig.add_annotation(
        text=("Source: IEA (2025), Global EV Outlook 2025, Global EV Data Explorer, CC BY 4.0; "
              "later years: Our World in Data (IEA-based), CC BY 4.0. Targets: nevsim fact tables "
              "(hover for document, metric and source).<br>Targets may count a different thing from the "
              "IEA share (e.g. China's 20 % is the NEV share of all new vehicles, CAAM basis)."),
        xref="paper", yref="paper", x=0, y=-0.1, showarrow=False, align="left", font={"size": 10},
    )
    return fig


def write_figure(fig: go.Figure, path: Path) -> None:
    """Write ``fig`` to ``path``: self-contained HTML (plotly.js embedded, works offline) or PNG.

    PNG needs the optional ``kaleido`` package; without it an :class:`InputError` says so and
    suggests ``.html``.
    """
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise InputError("--plot", f"cannot write a chart to {path.name!r}: unknown file type.", allowed=PLOT_SUFFIXES)
    if not path.parent.exists():
        raise InputError("--plot", f"folder {path.parent} does not exist.")
    if suffix == ".png":
        try:
            import kaleido  # noqa: F401
        except ImportError:
            raise InputError(
                "--plot",
                "PNG output needs the optional 'kaleido' package, which is not installed "
                "(pip install kaleido); write an interactive chart with a .html file instead.",
                allowed=PLOT_SUFFIXES,
            ) from None
        try:
            fig.write_image(str(path), width=1200, height=820, scale=2)
        except Exception as exc:  # kaleido present but unable to render (e.g. no browser)
            raise InputError("--plot", f"PNG export failed ({exc}); use a .html file instead.") from None
        return
    from nevsim.report.palette import with_viewport

    path.write_text(with_viewport(fig.to_html(include_plotlyjs=True, full_html=True)), encoding="utf-8")
