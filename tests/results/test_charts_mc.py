"""Monte Carlo report charts: Energy and Chargers draw the median over draws with its bands and
say "median"; the credit cap's label keeps clear of the history label (QA finding 14).
The runs here are HAND-MADE FIXTURES (conftest), not model output."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.report.charts import NICE_STEPS, aligned_ticks, chargers, credit_price, energy
from nevsim.results import Results

SPREAD = ("Oil Displacement", "Electricity|Cars", "Chargers|Public", "EVs per Public Charger")


@pytest.fixture
def spread_results(build) -> Results:
    """FIXTURE: 5 draws whose energy and charger values are scaled by 1.0, 1.1, …, 1.4."""
    series = build.series(draws=5)
    hit = series["variable"].isin(SPREAD)
    series.loc[hit, "value"] = series.loc[hit, "value"] * (1.0 + 0.1 * series.loc[hit, "draw"])
    return Results(series, build.makers(draws=5), build.meta("fixture-spread", draws=5),
                   {"name": "fixture", "region": "CN", "policy": {"dual_credit": {"price_cap_cny_per_credit": 3000}}})


def _band(fig, label: str, subplot: dict[str, str]):
    """The 5–95 % band trace of ``label`` (its lower edge) and the upper edge drawn just before it."""
    i = next(i for i, t in enumerate(fig.data) if t.name == f"{label} 5–95 % of 5 draws (few draws: rough band)")
    lo, hi = fig.data[i], fig.data[i - 1]
    for t in (lo, hi):
        for axis, name in subplot.items():
            assert getattr(t, axis) == name, (label, axis)
    return np.asarray(lo.y, dtype=float), np.asarray(hi.y, dtype=float)


def test_energy_has_bands_and_median_labels(spread_results: Results) -> None:
    fig = energy(spread_results)
    names = [t.name for t in fig.data]
    assert "oil displaced (median of 5 draws)" in names
    assert "electricity used by cars (median of 5 draws)" in names
    assert fig.layout.showlegend is True
    lo, hi = _band(fig, "oil displaced", {"xaxis": "x", "yaxis": "y"})
    i = 3  # 2023: 150 kb/d in draw 0, × 1.0 … 1.4 over the draws
    assert lo[i] == pytest.approx(np.quantile(150.0 * np.array([1.0, 1.1, 1.2, 1.3, 1.4]), 0.05))
    assert hi[i] == pytest.approx(np.quantile(150.0 * np.array([1.0, 1.1, 1.2, 1.3, 1.4]), 0.95))
    lo, hi = _band(fig, "electricity used by cars", {"xaxis": "x2", "yaxis": "y2"})
    assert (hi[1:] > lo[1:]).all()
    median = next(t for t in fig.data if t.name == "oil displaced (median of 5 draws)")
    assert median.y[i] == pytest.approx(150.0 * 1.2)


def test_chargers_have_bands_on_both_axes_and_median_labels(spread_results: Results) -> None:
    fig = chargers(spread_results)
    names = [t.name for t in fig.data]
    assert "public charging points (median of 5 draws)" in names
    assert "EVs per public charger (median of 5 draws)" in names
    lo, hi = _band(fig, "public charging points", {"yaxis": "y"})
    assert lo[0] == pytest.approx(1e5 * 1.02) and hi[0] == pytest.approx(1e5 * 1.38)
    lo, hi = _band(fig, "EVs per public charger", {"yaxis": "y2"})
    assert lo[0] == pytest.approx(10.2) and hi[0] == pytest.approx(13.8)


def test_one_draw_has_no_band_and_no_median_word(small_results: Results) -> None:
    for fig in (energy(small_results), chargers(small_results)):
        assert not any("draws" in (t.name or "") or "median" in (t.name or "") for t in fig.data)
    assert energy(small_results).layout.showlegend is False


def test_credit_cap_label_sits_right_of_the_history_label(spread_results: Results) -> None:
    fig = credit_price(spread_results)
    notes = {a.text: a for a in fig.layout.annotations}
    cap, history = notes["cap (penalty) 3,000 CNY per NEV credit"], notes["history"]
    assert history.xanchor == "left" and history.x == pytest.approx(2019.5)  # the band's left edge
    assert cap.xref == "x domain" and cap.x == 1 and cap.xanchor == "right"  # the plot's right edge


def _is_round(step: float) -> bool:
    mantissa = step / 10.0 ** math.floor(math.log10(step))
    return any(math.isclose(mantissa, k) for k in (*NICE_STEPS, 10.0))


def _ticks(axis) -> np.ndarray:
    return np.arange(axis.tick0, axis.range[1] + axis.dtick / 2, axis.dtick)


@pytest.mark.parametrize("fixture", ["spread_results", "small_results"])
def test_chargers_axes_have_round_ticks_on_shared_gridlines(fixture: str, request: pytest.FixtureRequest) -> None:
    """QA: plotly.js synced the right axis to the left one's gridlines, at 2.65, 5.3, …; both axes now
    tick at round steps from 0, the same number of steps, and cover every value drawn on them."""
    fig = chargers(request.getfixturevalue(fixture))
    left, right = fig.layout.yaxis, fig.layout.yaxis2
    for axis, name in ((left, "y"), (right, "y2")):
        assert axis.tickmode == "linear" and axis.tick0 == 0 and axis.range[0] == 0 and _is_round(axis.dtick)
        drawn = np.concatenate([np.asarray(t.y, dtype=float) for t in fig.data if (t.yaxis or "y") == name])
        assert axis.range[1] >= np.nanmax(drawn)
    assert round(left.range[1] / left.dtick) == round(right.range[1] / right.dtick)  # gridlines shared
    assert right.showgrid is False


def test_aligned_ticks_of_the_default_run() -> None:
    """The Monte Carlo run of the QA report: 37.9 M chargers and 10 EVs per charger → 0–50 M and 0–12.5."""
    assert aligned_ticks(3.79e7, 10.0) == (5, 1e7, 2.5)
    assert aligned_ticks(1.518e6, 13.8) == (4, 5e5, 5.0)


@settings(max_examples=300, deadline=None)
@given(left=st.floats(1e-3, 1e12), right=st.floats(1e-3, 1e12))
def test_aligned_ticks_are_round_cover_the_tops_and_waste_little(left: float, right: float) -> None:
    n, step_l, step_r = aligned_ticks(left, right)
    assert n in (4, 5, 6)
    for top, step in ((left, step_l), (right, step_r)):
        assert _is_round(step)
        assert n * step >= 1.02 * top * (1 - 1e-9)
        assert n * step <= 2.1 * top  # a round step is less than twice the raw one (plus the 2 % headroom)


# ---------------------------------------------------------------------------- QA 10 (charts10)


def test_one_palette_colours_the_report_charts(spread_results: Results) -> None:
    """QA 10 #1: the EV share line is the palette's EV teal, CO2/electricity/oil their own colours
    (not the BEV blue), targets the one target red, the makers' year bars greys."""
    from nevsim.report import palette
    from nevsim.report.charts import energy, maker_balances, share_vs_targets

    fig = share_vs_targets(spread_results)
    proj = next(t for t in fig.data if t.name == "EV share (projection)")
    assert proj.line.color == palette.POWERTRAIN["EV"]
    colours = {t.line.color for t in energy(spread_results).data if t.line.color}
    assert colours == {palette.QUANTITY["Oil"], palette.QUANTITY["Electricity"]}
    assert palette.POWERTRAIN["BEV"] not in colours
    bars = maker_balances(spread_results).data
    assert [b.marker.color for b in bars] == palette.greys(len(bars))


def test_palette_keeps_regions_and_targets_off_the_powertrain_hues() -> None:
    from nevsim.report import palette

    assert not set(palette.REGION.values()) & set(palette.POWERTRAIN.values())
    assert palette.TARGET not in {*palette.POWERTRAIN.values(), *palette.REGION.values(), *palette.SEQUENCE}
    greys = palette.greys(5)
    assert all(g[1:3] == g[3:5] == g[5:7] for g in greys) and greys == sorted(greys, reverse=True)


def test_target_hover_has_no_double_percent_and_labels_every_roadmap_year(real_results: Results) -> None:
    """QA 10 #2: no literal "%%"; "Roadmap 2.0 NEV share 2025/2030/2035" (years apart) each get a label
    (only consecutive yearly series collapse), CAAM-basis targets tagged."""
    from nevsim.report.charts import CAAM_TAG, share_vs_targets, target_labels

    fig = share_vs_targets(real_results, real_results.targets())
    assert not any("%%" in (t.hovertemplate or "") for t in fig.data)
    texts = " | ".join(next(t for t in fig.data if t.mode == "text").text)
    for year in (2025, 2030, 2035):
        assert f"Roadmap 2.0 NEV share {year}{CAAM_TAG}" in texts
    roadmap = pd.DataFrame({"name": [f"Roadmap {y}" for y in (2025, 2030, 2035)], "year": [2025, 2030, 2035],
                            "target_value": [20.0, 40.0, 50.0]})
    assert len(target_labels(roadmap)) == 3


def test_fan_hover_does_not_repeat_the_year(spread_results: Results) -> None:
    """QA 10 #4: x-unified hover shows the year once ("2031: 2031: 76.8–88.7" before)."""
    from nevsim.report.charts import share_vs_targets

    fig = share_vs_targets(spread_results)
    bands = [t for t in fig.data if t.fill == "tonexty"]
    assert bands and all("%{x}" not in t.hovertemplate and "–%{customdata" in t.hovertemplate for t in bands)
    assert fig.layout.hoverlabel.namelength == -1
    assert all(" of 5 draws" in t.name for t in bands)
    line = next(t for t in chargers(spread_results).data if (t.name or "").startswith("public charging points ("))
    assert "%{y:,.0f} chargers" in line.hovertemplate  # a count: thousands separators and its unit


def test_credit_price_steps_with_markers_and_notes_a_surplus() -> None:
    """QA 10 #7: steps (shape hv) with markers; a run of years at price 0 after the market had a price
    is noted; the leading zeros (before the market) are not."""
    from nevsim.report.charts import _zero_runs

    s = pd.Series([0.0, 0, 0, 1200, 2000, 0, 0, 0, 0], index=range(2015, 2024))
    assert _zero_runs(s) == [(2015, 2017), (2020, 2023)]
    assert _zero_runs(s, min_years=5) == []


@pytest.fixture(scope="module")
def eu_results() -> Results:
    from nevsim.simulate import run

    return run("eu-current-policies")


def test_eu_gets_new_car_co2_vs_standard_and_a_cap_line(eu_results: Results) -> None:
    """QA 10 #3, #7: the EU's binding targets (g CO2/km) as markers on a new-car CO2 chart in all_figures;
    its credit price drawn as steps with the cap (95 EUR per g CO2/km per car) and the unit named."""
    from nevsim.report import palette
    from nevsim.report.charts import all_figures

    figs = dict(all_figures(eu_results, eu_results.targets()))
    co2 = figs["New-car CO2 vs standard"]
    assert co2.layout.title.text.startswith("New-car CO2 (g/km) vs the fleet standard")
    marks = [t for t in co2.data if t.name and t.name.startswith("fleet standard")]
    assert marks and {2025, 2030, 2035} <= {int(x) for t in marks for x in t.x}
    assert all(t.marker.color == palette.TARGET for t in marks)
    assert 2020 not in {int(x) for t in marks for x in t.x}  # the NEDC target: not comparable, left out
    price = figs["Credit price"]
    assert price.layout.yaxis.title.text == "EUR per g CO2/km per car"
    line = next(t for t in price.data if t.name == "Fleet CO2")
    assert line.line.shape == "hv" and "markers" in line.mode
    caps = [s for s in price.layout.shapes if s.y0 == s.y1]
    assert [s.y0 for s in caps] == [95.0] and caps[0].line.color == palette.TARGET
    assert any("cap (penalty) 95 EUR per g CO2/km per car" in a.text for a in price.layout.annotations)


def test_maker_title_says_what_the_bars_show_and_legend_runs_with_the_bars(real_results: Results) -> None:
    """QA 10 #8: no "(> 0 sells, < 0 buys)" when no bar is below 0; legend order as the bars (reversed)."""
    from nevsim.report.charts import maker_balances

    fig = maker_balances(real_results)
    values = np.concatenate([np.asarray(t.x, dtype=float) for t in fig.data])
    assert ("< 0 buys" in fig.layout.title.text) == bool((values < 0).any() and (values > 0).any())
    assert fig.layout.legend.traceorder == "reversed"


def test_bev_phev_title_says_stacked_or_not(real_results: Results, spread_results: Results) -> None:
    """QA 10 #8: the deterministic chart is stacked and says so; with draws it is not and says so."""
    from nevsim.report.charts import bev_phev_split

    one, many = bev_phev_split(real_results), bev_phev_split(spread_results)
    assert "(stacked" in one.layout.title.text and all(t.stackgroup for t in one.data)
    assert "not stacked" in many.layout.title.text and not any(t.stackgroup for t in many.data)


def test_the_credit_price_chart_notes_the_surplus_after_the_market_not_before(real_results: Results) -> None:
    """China's price is 0 before the market (2010–19), observed 2020–22, then 0 from 2023: one note,
    over 2023–2060; the leading zeros get none (the review found no test of the note itself)."""
    fig = credit_price(real_results)
    notes = [a for a in fig.layout.annotations if "surplus of credits" in (a.text or "")]
    assert [a.x for a in notes] == [(2023 + 2060) / 2]


def test_charts_take_the_target_label_and_survive_years_a_run_lacks(real_results: Results) -> None:
    """The g/km chart printed a target's bare name (not its label with status); maker_balances with
    years the run lacks raised a ValueError from np.nanmin of an empty table."""
    from nevsim.report.charts import maker_balances, new_car_co2

    targets = pd.DataFrame({"name": ["X 2030"], "label": ["X 2030 (withdrawn 2025)"], "year": [2030],
                            "target_value": [50.0], "unit": ["g CO2/km"], "binding": [True],
                            "compared_with": ["Emissions|CO2|New Cars: sales-weighted"]})
    from nevsim.simulate import run

    eu = run("eu-current-policies")
    fig = new_car_co2(eu, targets)
    assert any("X 2030 (withdrawn 2025)" in list(t.text or []) for t in fig.data if t.mode == "markers+text")
    empty = maker_balances(real_results, years=[1990])
    assert "none in 1990" in empty.layout.title.text
