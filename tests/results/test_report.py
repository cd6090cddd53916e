"""HTML report: self-contained (plotly.js inlined once, no CDN), charts, header, targets, attribution."""

from __future__ import annotations

import re

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from nevsim.report import build_html, headline_table, report_years, write_html
from nevsim.report.charts import all_figures, maker_balances, share_vs_targets


def _check_self_contained(text: str) -> None:
    assert text.count("* plotly.js v") == 1  # the bundle's licence header: inlined exactly once
    assert not re.search(r"<script[^>]+src=", text)  # nothing loaded from elsewhere
    assert "cdn.plot.ly" not in text.replace(get_plotlyjs(), "")  # (the bundle names it for geo maps only)


def test_fixture_report(small_results, tmp_path):
    path = write_html(small_results, tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    _check_self_contained(text)
    assert small_results.meta["scenario_hash"] in text and "fixture0001" in text
    assert "Targets check" in text and "NEV share 2025" in text
    assert "CC BY 4.0" in text and "Global EV Outlook" in text
    assert text.count("Plotly.newPlot") == len(all_figures(small_results))


def test_real_report(real_results, tmp_path):
    text = build_html(real_results)
    _check_self_contained(text)
    for section in ("EV share vs targets", "BEV / PHEV split", "Credit price", "Makers&#x27; NEV credit balances",
                    "Stock", "Energy", "CO2", "Chargers"):
        assert f"<h2>{section}</h2>" in text, section
    assert text.count("Plotly.newPlot") == 8
    assert "china-current-policies" in text and real_results.meta["nevsim_version"] in text


def test_share_chart_distinguishes_history_and_marks_targets(real_results):
    fig = share_vs_targets(real_results, real_results.targets(),
                           observed=None)
    names = [t.name for t in fig.data]
    assert "EV share (history)" in names
    assert "EV share (projection)" in names
    assert "target: CAAM, binding" in names  # QA 10 #2: the basis in the legend
    assert any(n.startswith("target: ") and n.endswith(", not binding") for n in names)
    hist = next(t for t in fig.data if t.name.endswith("history)"))
    proj = next(t for t in fig.data if t.name == "EV share (projection)")
    assert max(hist.x) == real_results.meta["history_last_year"] == min(proj.x)
    assert hist.line.dash == "dot"
    binding = next(t for t in fig.data if t.name == "target: CAAM, binding")
    assert 20.0 in list(binding.y)
    assert any(s.type == "rect" for s in fig.layout.shapes)  # the shaded history band


def test_maker_balances_chart(small_results):
    fig = maker_balances(small_results, years=[2020, 2030])
    assert isinstance(fig, go.Figure) and [t.name for t in fig.data] == ["2020", "2030"]
    bar = fig.data[1]
    values = dict(zip(bar.y, bar.x, strict=True))
    assert values["PureEV"] == pytest.approx(1010.0) and values["Legacy"] == pytest.approx(-510.0)


def test_headline_years(real_results):
    years = report_years(real_results)
    assert 2025 in years and 2030 in years and years[-1] == 2060
    assert all(y % 5 == 0 or y == real_results.meta["history_last_year"] for y in years)
    table = headline_table(real_results, [2024])
    assert float(table.loc[0, "EV share of new cars (%)"]) == pytest.approx(48.0, abs=1.0)


def test_headline_shows_the_public_cost_and_the_trade_in(real_results):
    """The public cost columns: purchase incentives on plug-ins and, for China, the 2024–26 trade-in scheme."""
    table = headline_table(real_results, [2025, 2030]).set_index("year")
    series = real_results.series
    for label, variable in (("Trade-in subsidy, all new cars (billion CNY)", "Trade-in|Public Cost"),
                            ("Public cost: purchase subsidy + tax forgone on plug-ins (billion CNY)",
                             "Subsidy|Public Cost")):
        want = series[(series["variable"] == variable) & (series["year"] == 2025)]["value"].median()
        assert float(table.loc["2025", label].replace(",", "")) == pytest.approx(want, abs=0.05)
    assert float(table.loc["2030", "Trade-in subsidy, all new cars (billion CNY)"]) == 0.0


def test_report_says_what_the_ranges_cover() -> None:
    """A many-draw report names the kind of uncertainty its ranges cover; a one-draw report does not."""
    from nevsim.scenario import load_scenario
    from nevsim.simulate import run

    plain = load_scenario("china-current-policies")
    params_only = build_html(run(plain, draws=4, seed=1, makers=False))
    assert "ranges over draws" in params_only and "parameters only" in params_only
    walked = build_html(run(plain.with_residual_walk(4), draws=4, seed=1, makers=False))
    assert "parameters and structure" in walked and "residual walk" in walked
    assert "ranges over draws" not in build_html(run(plain, makers=False))


def test_report_labels_carry_the_runs_currency(real_results):
    """China's report labelled the public cost "billion, region currency" next to "billion CNY"."""
    table = headline_table(real_results, [2030])
    assert "Public cost: purchase subsidy + tax forgone on plug-ins (billion CNY)" in table.columns
    assert not any("region currency" in c for c in table.columns)
    text = build_html(real_results)
    assert "region currency" not in text


def test_report_speaks_to_readers_not_to_meta(real_results):
    """The targets table said "(see meta['derived'])"; it points to the note under the table now."""
    text = build_html(real_results)
    assert "meta[" not in text and "see meta" not in text
    assert "how: see the note below this table" in text
    assert "NEV share of all new vehicles (CAAM basis) is an estimate" in text


def test_report_says_which_history_values_are_observed(real_results):
    from nevsim.report import history_sources

    sources = history_sources(real_results)
    assert "2020–2022" in sources["Price|Credit|NEV"] and "clearing price" in sources["Price|Credit|NEV"]
    assert sources["Chargers|Public"].startswith("IEA counts in 2014–2024")
    assert "Stock|Cars|EV" not in sources and "Oil Displacement" not in sources  # modelled
    text = build_html(real_results)
    assert "history years are calibrated to observations" not in text
    assert "Modelled in every year:" in text and "EV stock (million)" in text


def test_chargers_hover_as_whole_counts(real_results):
    """A modelled charger count is fractional (148.2 in 2010): the chart shows whole chargers."""
    from nevsim.report.charts import chargers

    fig = chargers(real_results)
    line = next(t for t in fig.data if t.name and t.name.startswith("public charging points"))
    assert line.yhoverformat == ",.0f"


def test_report_targets_table_shows_the_label_and_p_met_with_draws(build, draws_results):
    """The report's targets table prints the label (name and status), and, for a run with draws, the
    share of draws meeting each target (only comparison.html showed ``P(met)``)."""
    from nevsim.report import targets_display
    from nevsim.results import Results

    us = Results(build.series(region="US"), build.makers(region="US"), build.meta(), {})
    assert "<td>ZEV share 2030 (withdrawn 2025)</td>" in build_html(us)
    shown = targets_display(draws_results.targets())
    cols = list(shown.columns)
    assert cols[cols.index("met") + 1] == "P(met)"
    row = shown.set_index("target").loc["NEV share 2027"]
    assert row["P(met)"] == "100%"
    assert "<th>P(met)</th>" in build_html(draws_results)


def test_a_many_draw_report_shows_the_ev_band_and_folds_its_diagnostics(draws_results):
    """Visual QA: the Monte Carlo report left out the EV share's 5–95 % range the CLI prints, and
    four fifths of a 500-draw page was the diagnostics JSON, one per-draw number a line."""
    from nevsim.report import EV_BAND_LABEL
    from nevsim.results import Results

    head = headline_table(draws_results)
    assert EV_BAND_LABEL in head.columns
    assert list(head.columns).index(EV_BAND_LABEL) == list(head.columns).index("EV share of new cars (%)") + 1
    assert all("–" in v for v in head[EV_BAND_LABEL])
    meta = {**draws_results.meta, "calibration": {"kappa": [0.5 + i / 1000 for i in range(500)]}}
    page = build_html(Results(draws_results.series, draws_results.makers, meta, draws_results.scenario))
    diag = page[page.index("Solver and calibration diagnostics"):]
    assert "<details>" in page and "&quot;n&quot;: 500" in diag and "&quot;median&quot;" in diag
    assert diag.count("\n") < 60  # (was a line per draw)


def test_tables_scroll_on_a_narrow_screen(real_results):
    page = build_html(real_results)
    assert '<div class="scroll"><table class="headline">' in page and ".scroll{overflow-x:auto}" in page


@pytest.mark.parametrize(("scenario", "markets"), [("china-current-policies", ["NEV"]),
                                                   ("eu-current-policies", ["Fleet CO2"]),
                                                   ("us-2024-rules", ["Fleet CO2", "ZEV"]),
                                                   ("us-current-policies", [])])
def test_the_report_draws_every_credit_market_between_makers(scenario: str, markets: list[str]) -> None:
    """The report drew makers' balances only for China's NEV credits: US and EU reports had none,
    and a run with two markets (us-2024-rules) showed neither (review of 2026-12-01)."""
    from nevsim.simulate import run

    res = run(scenario)
    every = [n for n, _ in all_figures(res, res.targets(), None)]
    assert [n for n in every if n.startswith("Makers'")] == [f"Makers' {m} credit balances" for m in markets]
    assert {"Stock", "Energy", "CO2", "Chargers"} <= set(every)  # (the series charts after them stay)
