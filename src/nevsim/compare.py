"""Cross-region comparison: the EV share of new cars of several runs against each one's targets.

    from nevsim.compare import share_table, targets_table, write_comparison
    runs = [nevsim.run(nevsim.load_scenario(n)) for n in ("china-current-policies",
                                                          "us-current-policies", "eu-current-policies")]
    share_table(runs)                       # year × region, percent
    write_comparison(runs, "out/")          # comparison.csv, targets.csv, comparison.html
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nevsim.results import CSV_FLOAT_FORMAT

if TYPE_CHECKING:
    from nevsim.results import Results

__all__ = ["COMPARISON_FILES", "columns", "left_out_text", "series_table", "share_table", "targets_display",
           "targets_table", "write_comparison"]

SHARE = "Sales Share|Cars|EV"
COMPARISON_FILES = ("comparison.csv", "targets.csv", "comparison.html")


def series_table(runs: list[Results]) -> pd.DataFrame:
    """The long series tables of the runs, one after the other (``scenario, region, variable, unit, year, value``)."""
    return pd.concat([r.series for r in runs], ignore_index=True)


def columns(runs: list[Results]) -> list[tuple[str, Results, str]]:
    """``(label, run, region code)`` for each region of each run, in the runs' order: the label is
    the region code (``CN``) when no other run has that region, else ``scenario (CN)``;
    ``scenario (CN, hash)`` (the first 8 characters of the scenario hash) when two runs of one
    region share their scenario name too (a run made with overrides keeps its base's name); and
    ``scenario (CN, run id)`` (its first 8 characters) when they share the scenario itself (a
    deterministic and a Monte Carlo run, two seeds, two versions).

    Raises InputError (``runs``) for no runs, and for one run given twice (the same run id or
    object): its columns would be one column twice.
    """
    from collections import Counter

    from nevsim.errors import InputError

    if not runs:
        raise InputError("runs", "no runs to compare", allowed=["one or more results (nevsim.run(...))"])
    same = [str(r.meta.get("run_id") or f"object {id(r)}") for r in runs]  # (the object when it has no run id)
    twice = [i for i, n in Counter(same).items() if n > 1]
    if twice:
        raise InputError("runs", f"run {twice[0][:8]} is given twice: compare different runs",
                         allowed=["runs of different regions", "different runs (scenarios, settings, draws) of a region"])
    # a run's label tag: the start of its run id, else its place in the list (id() prefixes can repeat)
    ids = [str(r.meta["run_id"])[:8] if r.meta.get("run_id") else f"#{i + 1}" for i, r in enumerate(runs)]
    pairs = [(r, rid, str(code)) for r, rid in zip(runs, ids, strict=True) for code in dict.fromkeys(r.series["region"])]
    by_region = Counter(code for _, _, code in pairs)
    by_name = Counter((str(r.meta.get("scenario")), code) for r, _, code in pairs)
    by_hash = Counter((str(r.meta.get("scenario_hash")), code) for r, _, code in pairs)
    out: list[tuple[str, Results, str]] = []
    for r, rid, code in pairs:
        name = str(r.meta.get("scenario"))
        if by_region[code] == 1:
            label = code
        elif by_name[(name, code)] == 1:
            label = f"{name} ({code})"
        elif by_hash[(str(r.meta.get("scenario_hash")), code)] == 1:
            label = f"{name} ({code}, {str(r.meta.get('scenario_hash', ''))[:8]})"
        else:
            label = f"{name} ({code}, run {rid})"
        out.append((label, r, code))
    repeated = [label for label, n in Counter(label for label, _, _ in out).items() if n > 1]
    if repeated:  # (two run ids with the same first 8 characters)
        raise InputError("runs", f"two runs would share the column {repeated[0]!r}: compare different runs",
                         allowed=["runs of different regions", "different runs (scenarios, settings, draws) of a region"])
    return out


def share_table(runs: list[Results], variable: str = SHARE) -> pd.DataFrame:
    """``variable`` (default: EV share of new cars, percent) by year (rows) and run (columns); median over draws.

    A column per region of each run, labelled as :func:`columns` says: the region code (``CN``,
    ``US``, ``EU``) when each region comes from one run, ``scenario (CN)`` when several runs
    share a region (before 2026-12-01 such runs were pooled into one column, their median: two
    scenarios of China gave one number between theirs). ``attrs["runs"]`` maps each column to its
    ``scenario`` and ``region``.
    """
    cols = columns(runs)
    data: dict[str, pd.Series] = {}
    for label, run, code in cols:
        s = run.series
        s = s[(s["variable"] == variable) & (s["region"] == code)]
        data[label] = s.groupby("year")["value"].median()
    wide = pd.DataFrame(data, columns=[label for label, _, _ in cols])
    wide.index.name = "year"
    wide.columns.name = "region" if all(label == code for label, _, code in cols) else "run"
    wide = wide.dropna(axis=1, how="all")
    wide.attrs["unit"] = "percent" if variable.startswith("Sales Share") else ""
    wide.attrs["runs"] = {label: {"scenario": run.meta.get("scenario"), "region": code} for label, run, code in cols
                          if label in wide.columns}
    return wide


def targets_table(runs: list[Results]) -> pd.DataFrame:
    """The targets checks of the runs, one after the other (``scenario`` column added).

    ``attrs["left_out"]`` maps a scenario to the targets its check leaves out (targets of a state
    standard the scenario does not model, :func:`nevsim.targets.check`).
    """
    checks = [(r.meta.get("scenario"), r.targets()) for r in runs]
    frames = [t.assign(scenario=name) for name, t in checks]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.attrs["left_out"] = {str(name): list(t.attrs.get("left_out", [])) for name, t in checks
                             if t.attrs.get("left_out")}
    return out


def left_out_text(targets: pd.DataFrame) -> str:
    """One sentence per scenario whose check leaves targets out (what, how many, how to list them),
    from :func:`targets_table`'s ``attrs["left_out"]``; empty when none does."""
    from nevsim.targets import left_out_text

    return " ".join(f"{name}: {left_out_text(names)}" for name, names in targets.attrs.get("left_out", {}).items())


def targets_display(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets table as the per-run report shows it (:func:`nevsim.report.targets_display`:
    text cells, the targets' labels, ``P(met)`` with draws), with the run's scenario and region first."""
    from nevsim.report import targets_display as report_display

    shown = report_display(targets)
    if shown.empty:
        return shown
    shown.insert(0, "region", targets["region"].astype(str).to_numpy())
    if "scenario" in targets.columns:
        shown.insert(0, "scenario", targets["scenario"].astype(str).to_numpy())
    return shown


def _figure(runs: list[Results], targets: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    from nevsim.report import palette
    from nevsim.results import region_name

    wide = share_table(runs)
    fig = go.Figure()
    others = ("#1b7837", "#8c510a", "#35978f", "#762a83")  # regions from scenario files (no standard hue)
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")  # a region's second, third, … run
    runs_of = {label: run for label, run, _ in columns(runs)}
    drawn: dict[str, int] = {}  # region code → its runs drawn so far
    codes = list(dict.fromkeys(wide.attrs["runs"][label]["region"] for label in wide.columns))
    for label in wide.columns:
        code = wide.attrs["runs"][label]["region"]
        # the same colour for a region on every page (a region of a scenario file: by its place)
        color = palette.REGION.get(code, others[codes.index(code) % len(others)])
        nth = drawn.get(code, 0)
        drawn[code] = nth + 1
        shown = f"{region_name(code)} ({code})" if label == code else label
        fig.add_trace(go.Scatter(x=wide.index, y=wide[label], name=shown, mode="lines",
                                 line={"color": color, "dash": dashes[nth % len(dashes)]}))
        run = runs_of[label]
        hist = run.meta.get("history_last_year")
        if hist is not None:
            h = wide[label][wide.index <= hist]
            fig.add_trace(go.Scatter(x=h.index, y=h, mode="markers", marker={"color": color, "size": 5},
                                     name=f"{shown} history (calibrated)", showlegend=False))
        if nth:  # (a region's targets once)
            continue
        name = region_name(code)
        pct = targets[(targets["region"].isin([name, code])) & (targets["unit"] == "percent")
                      & (targets["compared_variable"] == SHARE)]
        if not pct.empty:
            fig.add_trace(go.Scatter(x=pct["year"], y=pct["target_value"], mode="markers",
                                     marker={"symbol": "diamond-open", "size": 12, "color": palette.TARGET,
                                             "line": {"width": 2, "color": color}},
                                     name=f"{code} targets", text=pct["label"], hovertemplate="%{text}: %{y}%"))
    from nevsim.report.charts import add_history_band

    lasts = [r.meta.get("history_last_year") for r in runs if r.meta.get("history_last_year") is not None]
    add_history_band(fig, int(wide.index.min()), min(lasts) if lasts else None)  # (the years every run calibrates)
    fig.update_layout(title="EV share of new cars by region (history calibrated; projections from the model)",
                      yaxis_title="percent of new cars", xaxis_title="year", height=520, template=palette.TEMPLATE)
    fig.update_yaxes(range=[0, 100])  # (a share: not from −6)
    return fig


def write_comparison(runs: list[Results], out: str | Path) -> list[Path]:
    """Write ``comparison.csv`` (long series of every run, with a ``run`` column: the run's column
    label of :func:`columns`), ``targets.csv`` and a self-contained ``comparison.html`` (EV share
    by region with each region's percent targets, targets tables)."""
    import html

    from nevsim.report import CSS, table_html

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    targets = targets_table(runs)
    paths = [out / n for n in COMPARISON_FILES]
    labelled = pd.concat([r.series[r.series["region"] == code].assign(run=label)
                          for label, r, code in columns(runs)], ignore_index=True)
    labelled.to_csv(paths[0], index=False, float_format=CSV_FLOAT_FORMAT)
    targets.to_csv(paths[1], index=False, float_format=CSV_FLOAT_FORMAT)
    fig = _figure(runs, targets)
    table = table_html(targets_display(targets), cls="targets")
    share = share_table(runs)
    years = [y for y in share.index if y % 5 == 0 and y >= 2015]
    from nevsim.results import region_name

    shown = share.loc[years].round(1)
    shown = pd.DataFrame({"year": [str(y) for y in shown.index],
                          **{(f"{region_name(c)} ({c})" if c == share.attrs["runs"][c]["region"] else c):
                             [f"{v:.1f}" for v in shown[c]] for c in shown.columns}})
    runs_text = html.escape(", ".join(str(r.meta.get("scenario")) for r in runs))
    body = (f"<header><h1>nevsim — regions compared</h1><dl><dt>runs</dt><dd>{runs_text}</dd></dl></header><main>"
            "<section><p class='note'>EV share of new cars (IEA basis: BEV + PHEV); history years (shaded) are "
            "calibrated to IEA/OWID observations.</p>"
            + fig.to_html(full_html=False, include_plotlyjs=True, default_height="100%",
                          config={"displaylogo": False, "responsive": True})
            + "</section><section><h2>EV share of new cars (%)</h2>" + table_html(shown, cls="num")
            + "</section><section><h2>Targets check</h2>" + table
            + "<p class='note'>gap = projected − target, in the target's unit. First year met: first model year, "
              "from the year the target was announced, whose value meets it. Status: V seen in the cited source, "
              "S secondary source only, U unconfirmed. A target marked (withdrawn YEAR) is no longer in force and "
              "is kept as a reference. " + html.escape(left_out_text(targets)) + "</p></section>"
            + "<section><p class='note'>Data: IEA (2025) Global EV Outlook 2025, CC BY 4.0; Our World in Data, "
              "CC BY 4.0. Projections are nevsim model results.</p></section></main>")
    paths[2].write_text("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>nevsim regions</title>"
                        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                        f"<style>{CSS}</style></head>"
                        f"<body>{body}</body></html>", encoding="utf-8")
    return paths
