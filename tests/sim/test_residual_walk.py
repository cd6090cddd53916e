"""Structural uncertainty: the residual walk of the calibrated constants after the data cutoff.

``r_{c+h} = r̄ + z·σ·√h`` (:mod:`nevsim.calibrate`, "Residual walk"), σ the root mean square
yearly change of the fitted residual plug-in constant up to the cutoff; the BEV constant is held.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nevsim.calibrate import Calibration, walk_sd
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames
from nevsim.uncertainty import WALK_COEFFICIENTS

EV = "Sales Share|Cars|EV"
CUTOFF = 2021


def test_walk_sd_is_the_root_mean_square_yearly_change_from_2015() -> None:
    years = np.arange(2012, 2020)
    c = np.array([9.0, -9.0, 9.0, 0.0, 1.0, 3.0, 2.0, 2.0])[:, None]  # changes into 2016..2019: 1, 2, -1, 0
    assert walk_sd(years, c)[0] == pytest.approx(np.sqrt((1 + 4 + 1 + 0) / 4))
    # fewer than two changes from 2015 on (a cutoff before 2017): no σ, so no walk
    assert np.isnan(walk_sd(np.arange(2010, 2017), np.array([0.0, 5, -5, 5, 0, 1, 3])[:, None])[0])
    assert walk_sd(np.arange(2010, 2018), np.array([0.0, 5, -5, 5, 0, 1, 3, 3])[:, None])[0] == pytest.approx(
        np.sqrt((4 + 0) / 2))
    assert np.isnan(walk_sd(np.array([2018]), np.array([[1.0]]))[0])


@settings(max_examples=50, deadline=None)
@given(arrays(float, (8, 3), elements=st.floats(-5, 5)), st.floats(-10, 10))
def test_walk_sd_ignores_the_level(constants: np.ndarray, shift: float) -> None:
    years = np.arange(2014, 2022)
    a, b = walk_sd(years, constants), walk_sd(years, constants + shift)
    assert np.all(a >= 0)
    np.testing.assert_allclose(a, b, atol=1e-9)


def _cal(step: float) -> Calibration:
    years = np.arange(2018, 2022)
    return Calibration(years=years, residual_plugin=np.arange(4.0)[:, None], bev_constant=-np.arange(4.0)[:, None],
                       kappa=np.zeros(1), hold_plugin=np.array([3.0]), hold_bev=np.array([-3.0]),
                       maker_nev_weights=np.ones((1, 1)), max_abs_error_pp=0.0, converged=True,
                       walk_step_plugin=np.array([step]))


def test_the_walk_starts_after_the_last_calibrated_year_and_grows_with_the_root_of_the_horizon() -> None:
    cal = _cal(0.5)
    for year in range(2018, 2022):  # history: the fitted constants, untouched
        assert cal.plugin_residual(year)[0] == year - 2018
        assert cal.bev(year)[0] == -(year - 2018)
    for h in (1, 4, 9):
        assert cal.plugin_residual(2021 + h)[0] == pytest.approx(3.0 + 0.5 * np.sqrt(h))
        assert cal.bev(2021 + h)[0] == -3.0  # held


def _run(overrides: dict, **kw):
    return run_frames(load_scenario("china-current-policies", overrides), until=CUTOFF, makers=False, **kw)


def _ev(series) -> np.ndarray:
    s = series[series["variable"] == EV].sort_values("year")
    return s.set_index("year")["value"]


def test_z_moves_the_forecast_not_the_history() -> None:
    base_s, _, base_m = _run({})
    zero_s, _, _ = _run({"coefficients.residual_walk_z": 0.0})
    up_s, _, up_m = _run({"coefficients.residual_walk_z": 1.5})
    down_s, _, _ = _run({"coefficients.residual_walk_z": -1.5})
    base, up, down = _ev(base_s), _ev(up_s), _ev(down_s)
    np.testing.assert_array_equal(base.to_numpy(), _ev(zero_s).to_numpy())  # z = 0 is the one-draw run
    hist = base.index <= CUTOFF
    np.testing.assert_allclose(up[hist], base[hist], rtol=1e-9)
    np.testing.assert_allclose(down[hist], base[hist], rtol=1e-9)
    after = ~hist
    assert np.all(up[after] > base[after]) and np.all(down[after] < base[after])
    sd = base_m["calibration"]["walk_sd_plugin"][0]
    assert 0.05 < sd < 2.0 and up_m["calibration"]["walk_sd_plugin"][0] == sd  # σ is fitted, z only scales


def test_no_walk_before_two_yearly_changes_since_2015() -> None:
    """A 2016 cutoff has one change since 2015: σ is undefined and z moves nothing."""
    def ev(overrides):
        s, _, m = run_frames(load_scenario("china-current-policies", overrides), until=2016, makers=False)
        return _ev(s), m["calibration"]["walk_sd_plugin"][0]

    base, sd = ev({})
    up, _ = ev({"coefficients.residual_walk_z": 2.0})
    assert np.isnan(sd)
    np.testing.assert_array_equal(base.to_numpy(), up.to_numpy())


def test_residual_walk_switch_decides_what_is_sampled() -> None:
    off = load_scenario("china-current-policies")
    assert off.uncertainty.coefficients and not off.uncertainty.residual_walk
    assert not {f"coefficients.{n}" for n in WALK_COEFFICIENTS} & set(off.distributions())
    on = load_scenario("china-current-policies", {"uncertainty.residual_walk": True})
    assert {f"coefficients.{n}" for n in WALK_COEFFICIENTS} <= set(on.distributions())
    only = load_scenario("china-current-policies", {"uncertainty.residual_walk": True,
                                                    "uncertainty.coefficients": False})
    assert set(only.distributions()) - set(off.uncertainty.distributions) == {"coefficients.residual_walk_z"}
    only.check_draws(10, "--draws")  # the walk alone is something to sample


def test_draws_with_the_walk_widen_the_spread_after_the_cutoff() -> None:
    off_s, _, _ = _run({}, draws=40, seed=3)
    on_s, _, _ = _run({"uncertainty.residual_walk": True}, draws=40, seed=3)

    def spread(s, year):
        v = s[(s["variable"] == EV) & (s["year"] == year)]["value"]
        return float(v.quantile(0.95) - v.quantile(0.05))

    assert spread(on_s, 2025) > 1.5 * spread(off_s, 2025)
    assert spread(on_s, CUTOFF) == pytest.approx(spread(off_s, CUTOFF), abs=1e-9)  # history matched in both


def test_sensitivity_varies_the_walk_only_when_the_scenario_switches_it_on() -> None:
    from nevsim.sensitivity import default_parameters

    walk = {f"coefficients.{n}" for n in WALK_COEFFICIENTS}
    assert not walk & set(default_parameters(load_scenario("china-current-policies")))
    on = load_scenario("china-current-policies", {"uncertainty.residual_walk": True})
    assert walk <= set(default_parameters(on))


def test_the_example_file_switches_the_walk_on() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "docs" / "examples" / "china-residual-walk.toml"
    scenario = load_scenario(str(path))
    assert scenario.uncertainty.residual_walk and scenario.uncertainty.coefficients
    assert scenario.region == "CN"


def test_the_walk_is_the_same_in_chunks_and_works_for_a_region() -> None:
    """Chunked runs draw the same z per draw and fit the same σ (per chunk); a [region] scenario
    (the US) walks too."""
    import pandas as pd

    us = load_scenario("us-current-policies", {"uncertainty.residual_walk": True})
    one, _, m1 = run_frames(us, draws=6, seed=2, chunk_draws=6, makers=False)
    three, _, m3 = run_frames(us, draws=6, seed=2, chunk_draws=2, makers=False)
    pd.testing.assert_frame_equal(one, three)
    assert m1["calibration"]["walk_sd_plugin"] == m3["calibration"]["walk_sd_plugin"]
    assert len(m3["calibration"]["walk_sd_plugin"]) == 6
    off, _, _ = run_frames(load_scenario("us-current-policies"), draws=6, seed=2, makers=False)

    def spread(s):
        v = s[(s["variable"] == EV) & (s["year"] == 2030)]["value"]
        return float(v.max() - v.min())

    assert spread(one) > spread(off)
