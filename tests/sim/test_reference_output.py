"""Regression guard: key values of the default China run, recorded before the performance work.

Speed-ups must not change results. These values were recorded from
``run_frames("china-current-policies")`` (bundled data and assumptions as of the recording)
and are compared with a tight relative tolerance. If a *deliberate* model or data change moves
them, re-record them in the same change and say why in its description; a performance change
must never need to.

Re-recorded 2026-11-30 for two deliberate model changes (docs/research/backtest-diagnosis.md
fixes A and B): the charging term uses public chargers per car in stock (was per EV), and
local purchase top-ups (policy table ``local_top_up_fraction``, 2013–2019) add to the
national subsidy.

Re-recorded 2026-11-30 (branch ``capacity``) for one deliberate model change: every maker
group with a reported or derived production capacity (``assumptions/maker_history.csv``,
docs/research/maker-capacity.md) is now bounded by it, held after its last figure. The
aggregate series are unchanged (the split among makers never changes the buyers' choice);
only the maker split moves: BYD is held at 5.2 M vehicles a year from 2024, so its 2030 BEV
sales fall from 5,726,182 to 2,885,215 and the excess goes to the makers without a bound.
"""

from __future__ import annotations

import pytest

from nevsim.simulate import run_frames

RTOL = 1e-8  # far below any modelling change, far above floating-point reordering (~1e-15)

SERIES = {
    ("Sales Share|Cars|EV", 2024): 48.000000000000036,  # calibrated on IEA GEVO 2025 (history year)
    ("Sales Share|Cars|EV", 2030): 83.8392761264929,
    ("Sales Share|Cars|EV", 2035): 93.9500744464156,
    ("Stock|Cars|EV", 2035): 241477974.8699469,
    ("Stock|Cars|Total", 2035): 368602433.41508913,
    ("Price|Credit|NEV", 2021): 2088.0,  # observed average price used in history (credit_prices.csv)
    ("Price|Battery Pack", 2035): 59.848929068057444,
    ("Emissions|CO2|Cars", 2035): 406.9243225693922,
}
MAKERS = {
    ("BYD", "Sales|Cars|BEV", 2030): 2885214.6080176164,
    ("Other", "Sales|Cars|BEV", 2030): 5204340.9819650315,
}
KAPPA = 0.7759214489726843
HOLD_PLUGIN = 2.661714231560026


@pytest.fixture(scope="module")
def default_run():
    return run_frames("china-current-policies")


@pytest.mark.parametrize(("variable", "year"), list(SERIES))
def test_series_value_unchanged(default_run, variable: str, year: int) -> None:
    series = default_run[0]
    row = series[(series["variable"] == variable) & (series["year"] == year)]
    assert len(row) == 1
    assert float(row["value"].iloc[0]) == pytest.approx(SERIES[(variable, year)], rel=RTOL, abs=1e-9)


@pytest.mark.parametrize(("maker", "variable", "year"), list(MAKERS))
def test_maker_value_unchanged(default_run, maker: str, variable: str, year: int) -> None:
    makers = default_run[1]
    row = makers[(makers["maker"] == maker) & (makers["variable"] == variable) & (makers["year"] == year)]
    assert len(row) == 1
    assert float(row["value"].iloc[0]) == pytest.approx(MAKERS[(maker, variable, year)], rel=RTOL)


def test_calibration_unchanged(default_run) -> None:
    cal = default_run[2]["calibration"]
    assert cal["converged"]
    assert cal["kappa"][0] == pytest.approx(KAPPA, rel=RTOL)
    assert cal["hold_plugin_constant"][0] == pytest.approx(HOLD_PLUGIN, rel=RTOL)
