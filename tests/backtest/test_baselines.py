"""Baselines: each recovers the curve it assumes, respects its bounds, and rejects bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim import baselines as bl
from nevsim.errors import InputError

YEARS = np.arange(2010, 2022, dtype=float)


def test_logistic_recovers_its_parameters() -> None:
    truth = bl.logistic_share_pct(YEARS, 70.0, 2020.0, 0.6)
    fit = bl.fit_logistic(YEARS, truth)
    assert fit.params["s_max_pct"] == pytest.approx(70.0, rel=1e-3)
    assert fit.params["t0"] == pytest.approx(2020.0, abs=1e-2)
    assert fit.params["k_per_yr"] == pytest.approx(0.6, rel=1e-3)
    assert fit.rmse_pp < 1e-3
    out = bl.logistic_forecast(YEARS, truth, np.array([2025.0, 2030.0]))
    np.testing.assert_allclose(out, bl.logistic_share_pct(np.array([2025.0, 2030.0]), 70.0, 2020.0, 0.6), rtol=1e-3)


def test_bass_recovers_its_parameters() -> None:
    truth = bl.bass_share_pct(YEARS, 0.002, 0.7, 60.0, start_year=2009.0)
    fit = bl.fit_bass(YEARS, truth)
    assert fit.params["start_year"] == 2009.0
    assert fit.params["m_pct"] == pytest.approx(60.0, rel=1e-2)
    assert fit.params["q_per_yr"] == pytest.approx(0.7, rel=1e-2)
    assert fit.params["p_per_yr"] == pytest.approx(0.002, rel=5e-2)
    assert fit.rmse_pp < 1e-2


def test_bass_cdf_shape() -> None:
    tau = np.array([-1.0, 0.0, 1.0, 5.0, 50.0])
    f = bl.bass_cdf(tau, 0.03, 0.4)
    assert f[0] == 0.0 and f[1] == 0.0
    assert np.all(np.diff(f) >= 0) and f[-1] == pytest.approx(1.0)
    # first-year adoption ≈ p for a small step (F(τ) ≈ p τ near 0)
    assert bl.bass_cdf(np.array([1e-4]), 0.03, 0.4)[0] == pytest.approx(0.03e-4, rel=1e-2)


def test_persistence_is_last_value() -> None:
    out = bl.persistence_forecast(YEARS, np.linspace(1, 12, YEARS.size), np.array([2022.0, 2023.0, 2030.0]))
    np.testing.assert_array_equal(out, [12.0, 12.0, 12.0])


def test_logit_trend_is_exact_on_a_logit_line_and_uses_only_the_window() -> None:
    z = -4.0 + 0.5 * (YEARS - 2010)
    share = 100.0 / (1 + np.exp(-z))
    # spoil the years before the 5-year window: the forecast must not change
    spoiled = share.copy()
    spoiled[: -bl.LOGIT_TREND_YEARS] = 50.0
    years_out = np.array([2022.0, 2024.0])
    expected = 100.0 / (1 + np.exp(-(-4.0 + 0.5 * (years_out - 2010))))
    np.testing.assert_allclose(bl.logit_trend_forecast(YEARS, share, years_out), expected, rtol=1e-9)
    np.testing.assert_allclose(bl.logit_trend_forecast(YEARS, spoiled, years_out), expected, rtol=1e-9)
    assert bl.fit_logit_trend(YEARS, share).params["b_per_yr"] == pytest.approx(0.5)


def test_china_2021_fits_are_s_curves_within_bounds() -> None:
    """Real China history to 2021 (IEA): the S-curve fits forecast growth, within 0–100 %."""
    share = np.array([0.01, 0.034, 0.073, 0.095, 0.4, 1.0, 1.5, 2.4, 4.7, 5.0, 5.7, 15.0])
    years_out = np.arange(2022, 2026, dtype=float)
    for name, f in bl.BASELINES.items():
        out = f(YEARS, share, years_out)
        assert out.shape == (4,)
        assert np.all((out >= 0) & (out <= 100)), name
    assert np.all(np.diff(bl.logistic_forecast(YEARS, share, years_out)) > 0)
    assert bl.fit_logistic(YEARS, share).params["s_max_pct"] <= 100.0


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(min_value=5, max_value=14),
    shares=st.lists(st.floats(min_value=0.0, max_value=100.0, allow_nan=False), min_size=14, max_size=14),
    horizon=st.integers(min_value=1, max_value=10),
)
def test_every_baseline_stays_a_percentage(n: int, shares: list[float], horizon: int) -> None:
    years = np.arange(2010, 2010 + n, dtype=float)
    s = np.sort(np.asarray(shares[:n]))  # adoption histories are (weakly) rising
    years_out = np.arange(years[-1] + 1, years[-1] + 1 + horizon)
    for name, f in bl.BASELINES.items():
        out = f(years, s, years_out)
        assert out.shape == years_out.shape, name
        assert np.all(np.isfinite(out)) and np.all((out >= 0) & (out <= 100 + 1e-9)), name
    p = bl.fit_logistic(years, s).params
    assert 0 < p["s_max_pct"] <= 100 and 0.01 <= p["k_per_yr"] <= 3.0
    b = bl.fit_bass(years, s).params
    assert 0 < b["m_pct"] <= 100 and 1e-7 <= b["p_per_yr"] <= 0.2 and 0.01 <= b["q_per_yr"] <= 2.0


@pytest.mark.parametrize(("years", "shares", "match"), [
    ([2010, 2011], [1.0, 2.0], "at least 3"),
    ([2010, 2012, 2011], [1.0, 2.0, 3.0], "increasing"),
    ([2010, 2011, 2012], [1.0, np.nan, 3.0], "finite"),
    ([2010, 2011, 2012], [1.0, 2.0, 130.0], r"\[0, 100\]"),
    ([2010, 2011, 2012], [1.0, 2.0], "one length"),
])
def test_bad_history_is_refused(years: list[float], shares: list[float], match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        bl.fit_logistic(np.array(years, dtype=float), np.array(shares, dtype=float))
    assert info.value.field == "history"
