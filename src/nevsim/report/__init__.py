"""Self-contained HTML report of a run (plotly JS inlined once: it opens offline, no CDN).

    from nevsim.report import write_html
    write_html(res, "report.html")

Sections: run header (scenario, hash, version, date, data cutoff, solver status), headline
table, charts (:mod:`nevsim.report.charts`: EV share vs targets with history distinguished
from projection, BEV/PHEV split, credit price, makers' balances, stock, energy, CO2,
chargers), the targets check, and data attribution (IEA Global EV Outlook, CC BY 4.0; OWID,
CC BY 4.0; the fact tables' sources).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from nevsim.errors import year_span

if TYPE_CHECKING:
    from nevsim.results import Results

__all__ = ["CSS", "build_html", "headline_table", "history_caption", "history_sources", "table_html",
           "targets_display", "write_html"]

#: Headline variables of the report and the CLI: (label, variable, format).
HEADLINE: list[tuple[str, str, str]] = [
    ("EV share of new cars (%)", "Sales Share|Cars|EV", "{:.1f}"),
    ("BEV (%)", "Sales Share|Cars|BEV", "{:.1f}"),
    ("PHEV (%)", "Sales Share|Cars|PHEV", "{:.1f}"),
    ("NEV share, all vehicles, CAAM basis (%)", "Sales Share|All Vehicles|NEV", "{:.1f}"),
    ("NEV credit price (CNY/credit)", "Price|Credit|NEV", "{:,.0f}"),
    ("ZEV credit price ({unit})", "Price|Credit|ZEV", "{:,.0f}"),
    ("Fleet CO2 credit price ({unit})", "Price|Credit|Fleet CO2", "{:,.0f}"),
    ("New-car CO2, test cycle (g/km)", "Emissions|CO2|New Cars", "{:.0f}"),
    ("EV stock (million)", "Stock|Cars|EV", "M"),
    ("Public chargers (thousand)", "Chargers|Public", "k"),
    ("Oil displaced (kb/d)", "Oil Displacement", "{:,.0f}"),
    ("CO2 of cars, well-to-wheel (Mt CO2e/yr)", "Emissions|CO2|Cars", "{:,.0f}"),
    ("Public cost: purchase subsidy + tax forgone on plug-ins ({unit})", "Subsidy|Public Cost", "{:,.1f}"),
    ("Trade-in subsidy, all new cars (billion CNY)", "Trade-in|Public Cost", "{:,.1f}"),
]

ATTRIBUTION = (
    "Historical data: IEA (2025), Global EV Outlook 2025 — Global EV Data Explorer, licence CC BY 4.0 "
    "(https://www.iea.org/data-and-statistics/data-tools/global-ev-data-explorer); IEA (2024), Global EV "
    "Outlook 2024, CC BY 4.0. Our World in Data, electric car sales and share (based on IEA data), CC BY 4.0. "
    "Market facts (CAAM, CPCA, company reports) and policy rules: nevsim fact tables, each row with its "
    "source (nevsim.data.load('sources')). Projections are nevsim model results, not IEA projections."
)


def report_years(res: Results, *, every: int = 5, all_years: bool = False) -> list[int]:
    """Years shown in tables: the history end and every ``every`` years (or all years)."""
    years = res.years
    if all_years or not years:
        return years
    hist = res.meta.get("history_last_year")
    picks = {y for y in years if y % every == 0 and y >= 2015}
    if hist in years:
        picks.add(int(hist))
    picks.add(years[-1])
    return sorted(picks)


def _fmt(value: float, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if fmt == "M":
        return f"{value / 1e6:,.1f}"
    if fmt == "k":
        return f"{value / 1e3:,.0f}"
    return fmt.format(value)


def headline_labels(res: Results) -> dict[str, str]:
    """Variable → its headline label for the headline variables the run has, ``{unit}`` filled with
    the run's unit (``billion CNY``, ``USD/credit``)."""
    pairs = res.variables
    units = dict(zip(pairs["variable"], pairs["unit"].astype(str), strict=False))
    return {var: label.format(unit=units[var]) for label, var, _ in HEADLINE if var in units}


def headline_table(res: Results, years: list[int] | None = None) -> pd.DataFrame:
    """Headline variables by year, formatted as text (rows = years, columns = labels)."""
    years = years if years is not None else report_years(res)
    s = res._rows("series", variables=[var for _, var, _ in HEADLINE])
    med = s[s["year"].isin(years)].groupby(["variable", "year"], observed=True)["value"].median()
    labels = headline_labels(res)
    band = ev_share_band(res, years)
    rows = []
    for y in years:
        row = {"year": str(y)}
        for _, var, fmt in HEADLINE:
            if var in med.index.get_level_values(0):
                row[labels[var]] = _fmt(float(med.get((var, y), float("nan"))), fmt)
                if var == "Sales Share|Cars|EV" and band is not None:
                    row[EV_BAND_LABEL] = (f"{band.loc[y, 0.05]:.1f}–{band.loc[y, 0.95]:.1f}" if y in band.index
                                          else "–")
        rows.append(row)
    return pd.DataFrame(rows)


def ev_share_band(res: Results, years: list[int]) -> pd.DataFrame | None:
    """The EV share's 5th and 95th percentiles over draws by year (columns 0.05, 0.95), or None for
    a one-draw run: the band the report's headline and the CLI's print beside the median."""
    if res.n_draws < 2:
        return None
    ev = res._rows("series", variables=["Sales Share|Cars|EV"])
    ev = ev[ev["year"].isin(years).to_numpy()]
    return ev.groupby("year")["value"].quantile([0.05, 0.95]).unstack()


#: The headline column of a many-draw run next to the EV share's median.
EV_BAND_LABEL = "EV share 5–95 % of draws"


def _summarised(value: Any) -> Any:
    """Diagnostics for reading: a list of more than 12 numbers (one per draw or year) becomes its
    count, minimum, median and maximum; dicts and shorter lists are kept."""
    if isinstance(value, dict):
        return {k: _summarised(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        nums = [v for v in value if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(value) > 12 and len(nums) == len(value):
            arr = sorted(float(v) for v in nums)
            return {"n": len(arr), "min": arr[0], "median": arr[len(arr) // 2], "max": arr[-1]}
        return [_summarised(v) for v in value]
    return value


def history_sources(res: Results) -> dict[str, str]:
    """How the run sets each headline variable in its history years, in words, for the variables
    that hold observations there (every other variable is modelled in every year).

    Read from what :mod:`nevsim.simulate` does in a history year (``year <= history_last_year``):
    the plug-in constants are fitted to the observed EV share and BEV/PHEV split (IEA Global EV
    Outlook 2025, OWID where IEA has no share yet; a year with a share but no split holds the
    last observed split); public chargers are the IEA count where there is one; the NEV credit
    price is the market's clearing price, with the reported average price
    (``assumptions/credit_prices.csv``) as its floor where there is one and the scenario's
    ``policy.dual_credit.observed_prices_in_history`` is on. EV stock, energy, CO2 and costs
    follow from the fitted sales (so the EV stock can differ from ``nevsim history``). The
    CAAM-basis NEV share is the EV share × the CAAM/IEA ratio (``meta["derived"]``).
    """
    from nevsim import assumptions

    last = res.meta.get("history_last_year")
    hist = res.observed_history()
    if last is None or hist is None:
        return {}
    cutoff = res.meta.get("data_cutoff")
    hist = hist[hist["year"] <= int(last)]

    def years(variable: str) -> set[int]:
        return set(hist.loc[hist["variable"] == variable, "year"].astype(int))

    out: dict[str, str] = {}
    share = years("EV sales share")
    owid = set(hist.loc[(hist["variable"] == "EV sales share")
                        & hist["source"].str.startswith("Our World in Data"), "year"].astype(int))
    if share:
        out["Sales Share|Cars|EV"] = "fitted to the observed share (IEA" + (f"; OWID {year_span(owid)}" if owid else "") + ")"
        split = years("BEV sales") & share
        held = share - split
        text = f"fitted to the observed BEV/PHEV split ({year_span(split)}" if split else "fitted to the split ("
        out["Sales Share|Cars|BEV"] = out["Sales Share|Cars|PHEV"] = text + (
            f"; {year_span(held)} hold{'s' if len(held) == 1 else ''} the last observed split)" if held else ")")
    chargers = years("Public chargers")
    if chargers:
        out["Chargers|Public"] = f"IEA counts in {year_span(chargers)}, modelled in the other years"
    policy = ((res.scenario or {}).get("policy") or {}).get("dual_credit") or {}
    if "Price|Credit|NEV" in res.labels() and policy.get("observed_prices_in_history", True):
        cp = assumptions.credit_prices()
        seen = {int(y) for y in cp["year"] if y <= last and (cutoff is None or y <= cutoff)}
        if seen:
            out["Price|Credit|NEV"] = ("the model's clearing price, raised to at least the reported average "
                                       f"price in {year_span(seen)} (observed there)")
    derived = (res.meta.get("derived") or {}).get("Sales Share|All Vehicles|NEV") or {}
    ratios = [int(y) for y in derived.get("observed_ratios") or {}]
    if ratios:
        out["Sales Share|All Vehicles|NEV"] = (f"the EV share × the CAAM/IEA ratio observed in {year_span(ratios)} "
                                               "(interpolated between)")
    return out


def history_caption(res: Results, labels: dict[str, str], *, lead: str = "History years") -> str:
    """One paragraph on the history years of the columns ``labels`` (variable → column name):
    which hold observations, and how (:func:`history_sources`), and which are modelled."""
    last = res.meta.get("history_last_year")
    if last is None:
        return ""
    sources = history_sources(res)
    said: dict[str, list[str]] = {}  # the same words once: "BEV %, PHEV %: fitted to the observed split"
    for var, label in labels.items():
        if var in sources:
            said.setdefault(sources[var], []).append(label)
    seen = [f"{', '.join(names)}: {words}" for words, names in said.items()]
    modelled = [label for var, label in labels.items() if var not in sources]
    text = f"{lead} (to {last}): "
    text += "; ".join(seen) + ". " if seen else ""
    if modelled:
        text += f"Modelled in every year: {'; '.join(modelled)}"
        if "Stock|Cars|EV" in labels:
            text += " (the EV stock follows the fitted sales, so it can differ from the observed stock)"
        text += "."
    return text


def table_html(frame: pd.DataFrame, *, cls: str = "") -> str:
    """A text table (every cell as :func:`str`, escaped) as an HTML ``<table class=cls>``."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for rec in frame.itertuples(index=False):
        cells = "".join(f"<td>{html.escape('' if v is None else str(v))}</td>" for v in rec)
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def targets_display(targets: pd.DataFrame) -> pd.DataFrame:
    """The targets check (:func:`nevsim.targets.check`) as the report shows it: text cells.

    Readable headers; the target's ``label`` (name and status; the ``name`` in a frame without
    one); ``binding`` / ``not binding``, yes/no, "–" for a missing value, thousands separators,
    the unit with the target value and ``compared with`` in words (derived quantities say
    ``derived:``). With draws (a ``probability_met`` column) a ``P(met)`` column (share of draws
    meeting the target) follows ``met``.
    """
    from nevsim.report.charts import for_readers

    def num(v: Any, unit: str) -> str:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            return "–"
        return f"{v:,.0f}" if str(unit).startswith("vehicles") else f"{v:,.1f}"

    rows = []
    for t in targets.itertuples(index=False):
        met = "–" if pd.isna(t.met) else ("yes" if t.met else "no")
        rows.append({
            "target": getattr(t, "label", t.name), "source": t.source, "binding": "binding" if t.binding else "not binding",
            "year": t.year, "target value": f"{num(t.target_value, t.unit)} {t.unit}",
            "projected": num(t.projected_value, t.unit), "gap": num(t.gap, t.unit), "met": met,
            "first year met": "–" if pd.isna(t.first_year_met) else str(int(t.first_year_met)),
            "compared with": for_readers(str(t.compared_with), " (how: see the note below this table)"),
            "status": t.status,
        })
    shown = pd.DataFrame(rows)
    if "probability_met" in targets.columns and not shown.empty:
        p = targets["probability_met"].to_numpy(dtype=float)
        shown.insert(shown.columns.get_loc("met") + 1, "P(met)",
                     ["–" if not math.isfinite(v) else f"{v:.0%}" for v in p])
    return shown


#: Style sheet of the report and ``comparison.html`` (:mod:`nevsim.compare`).
CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1150px;margin:auto;padding:1.5rem}
header{background:#16324f;color:#fff;padding:1.2rem 1.5rem}
header h1{margin:0 0 .3rem 0;font-size:1.5rem}
header dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0 0 0;font-size:.9rem}
header dt{opacity:.75}header dd{margin:0;font-family:ui-monospace,monospace}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:1rem;margin:1rem 0}
h2{font-size:1.15rem;margin:.2rem 0 .6rem 0}
table{border-collapse:collapse;font-size:.85rem;width:100%}
th,td{border-bottom:1px solid #eee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f5f7}
td:nth-child(n+2){font-variant-numeric:tabular-nums}
.note{font-size:.85rem;color:#555}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:1rem}
@media(max-width:900px){.grid{grid-template-columns:1fr}}
.scroll{overflow-x:auto}
header dd{overflow-wrap:anywhere;min-width:0}
@media(max-width:600px){main{padding:.5rem}section{padding:.6rem}table{font-size:.75rem}}
"""


def uncertainty_kind(scenario: dict[str, Any]) -> str:
    """What a many-draw run's ranges cover, in words: the parameters only, or also the residual
    walk (``uncertainty.residual_walk``; docs/uncertainty.md, "Structural uncertainty")."""
    if ((scenario or {}).get("uncertainty") or {}).get("residual_walk"):
        return ("parameters and structure: the calibrated plug-in constant drifts after the data cutoff "
                "(residual walk); wide, and unbounded beyond about 7 years")
    return ("parameters only: the model's structure is taken as right; back-tests find such bands too "
            "narrow (docs/backtest.md; --residual-walk adds structural uncertainty)")


def build_html(res: Results, *, title: str | None = None) -> str:
    """The report as one HTML string (plotly.js inlined exactly once)."""
    from plotly.offline import get_plotlyjs

    from nevsim.report.charts import all_figures

    meta = res.meta
    targets = res.targets()
    hist = res.observed_history()  # (None: several regions, or no bundled history: the model only)
    observed = None if hist is None else hist[hist["variable"] == "EV sales share"][["year", "value", "source"]]
    figures = all_figures(res, targets, observed)
    solver = (meta.get("solver") or {}).get("credit_market") or {}
    calib = meta.get("calibration") or {}
    header_items = [
        ("scenario", meta.get("scenario", res.scenario.get("name", "?"))),
        ("description", res.scenario.get("description", "")),
        ("regions", ", ".join(res.region_label(r) for r in res.regions)),
        ("years", f"{meta.get('first_year', '?')}–{meta.get('last_year', '?')}, history to "
                  f"{meta.get('history_last_year', '?')} (data cutoff: {meta.get('data_cutoff') or 'none'})"),
        ("scenario hash", meta.get("scenario_hash", "?")),
        ("run id", meta.get("run_id", "?")),
        ("nevsim version", meta.get("nevsim_version", "?")),
        ("created (UTC)", meta.get("created_utc", "?")),
        ("draws / seed", f"{meta.get('draws', 1)} / {meta.get('seed', '?')}"),
    ]
    if (meta.get("draws") or 1) > 1:
        header_items.append(("ranges over draws", uncertainty_kind(res.scenario)))
    if solver:
        header_items.append(("credit market", "converged in every year" if solver.get("all_converged")
                             else "NOT converged in some years — see solver diagnostics"))
    if calib:
        err = calib.get("max_abs_share_error_pp")
        header_items.append(("calibration", f"max |share error| in history = {err:.2g} pp" if isinstance(
            err, (int, float)) else "share error not recorded"))
    dl = "".join(f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in header_items)

    parts = []
    head = headline_table(res)
    shown = {var: label for var, label in headline_labels(res).items() if label in head.columns}
    parts.append(f"<section><h2>Headline</h2>{table_html(head, cls='headline')}"
                 f"<p class='note'>Years: the last history year and every five years. Shares in percent of "
                 f"new sales. {html.escape(history_caption(res, shown))}</p></section>")
    for i, (name, fig) in enumerate(figures):
        div = fig.to_html(full_html=False, include_plotlyjs=False, default_height="100%",
                          config={"displaylogo": False, "responsive": True}, div_id=f"fig{i}")
        parts.append(f"<section><h2>{html.escape(name)}</h2>{div}</section>")
    from nevsim.targets import left_out_text

    derived = (meta.get("derived") or {}).get("Sales Share|All Vehicles|NEV")
    derived_note = ""
    if derived:
        derived_note = (f"<p class='note'>NEV share of all new vehicles (CAAM basis) is an estimate: "
                        f"{html.escape(derived['method'])} Held ratio {derived['held_ratio']:.3f}; sources: "
                        f"{html.escape('; '.join(derived.get('sources', [])))}.</p>")
    parts.append(
        "<section><h2>Targets check</h2>"
        + table_html(targets_display(targets), cls="targets")
        + "<p class='note'>gap = projected − target, in the target's unit. First year met: first model year, "
          "from the year the target was announced, whose value meets it. Status: V seen in the cited source, "
          "S secondary source only, U unconfirmed. Targets of other regions do not apply to this run. "
        + html.escape(left_out_text(targets.attrs.get("left_out", []))) + "</p>"
        + derived_note + "</section>")
    sources = meta.get("sources") or []
    src_list = "".join(f"<li>{html.escape(str(s))}</li>" for s in sources)
    parts.append(f"<section><h2>Data and attribution</h2><p class='note'>{html.escape(ATTRIBUTION)}</p>"
                 f"{'<ul class=note>' + src_list + '</ul>' if src_list else ''}</section>")
    diag = {k: meta.get(k) for k in ("solver", "calibration", "timing_s") if k in meta}
    if diag:  # (folded: a 500-draw run's per-draw values were four fifths of the page)
        parts.append("<section><details><summary><h2 style='display:inline'>Solver and calibration diagnostics"
                     "</h2></summary><p class='note'>Lists of more than 12 numbers (one per draw or year) are "
                     "shown as their count, minimum, median and maximum; the run's metadata has them all "
                     "(<code>res.meta</code>, <code>nevsim runs list</code>).</p><pre class='note'>"
                     + html.escape(json.dumps(_summarised(diag), indent=1, default=str))
                     + "</pre></details></section>")

    page_title = title or f"nevsim outlook — {meta.get('scenario', '')}"
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(page_title)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script>"
        "</head><body>"
        f"<header><h1>{html.escape(page_title)}</h1><dl>{dl}</dl></header>"
        f"<main>{''.join(parts)}</main></body></html>\n"
    )


def write_html(res: Results, path: str | Path, *, title: str | None = None) -> Path:
    """Write :func:`build_html` to ``path`` (UTF-8); returns the path."""
    path = Path(path)
    path.write_text(build_html(res, title=title), encoding="utf-8")
    return path
