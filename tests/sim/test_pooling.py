"""κ pooled over regions (nevsim.pooling) and the ``calibration.kappa_fit`` switch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.calibrate import fit_kappa
from nevsim.errors import InputError
from nevsim.pooling import POOLED_REGIONS, fit_kappa_pooled, region_panel
from nevsim.scenario import load_scenario
from nevsim.simulate import prepare, run_frames, run_years

YEARS = np.arange(2012, 2023)


def _panel(kappa: float, alpha: float, x0: float, slope_x: float, noise: np.ndarray) -> tuple:
    x = (x0 + slope_x * (YEARS - YEARS[0]))[:, None]
    return YEARS, alpha + kappa * x + noise[:, None], x


@settings(max_examples=40, deadline=None)
@given(kappa=st.floats(0.0, 1.4), alphas=st.lists(st.floats(-5, 5), min_size=1, max_size=4),
       seed=st.integers(0, 2**16))
def test_recovers_a_common_slope_whatever_the_region_constants(kappa: float, alphas: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    panels = [_panel(kappa, a, rng.uniform(-9, -3), rng.uniform(0.1, 0.6), np.zeros(len(YEARS))) for a in alphas]
    assert fit_kappa_pooled(panels, 0.0, 1.5)[0] == pytest.approx(kappa, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), shift=st.floats(-10, 10))
def test_one_panel_is_the_own_fit_and_region_constants_do_not_matter(seed: int, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a = _panel(0.4, 1.0, -8.0, 0.4, rng.normal(0, 0.3, len(YEARS)))
    b = _panel(0.4, -2.0, -6.0, 0.2, rng.normal(0, 0.3, len(YEARS)))
    assert fit_kappa_pooled([a], 0.0, 1.5) == pytest.approx(fit_kappa(a[0], a[1], a[2], 0.0, 1.5), abs=1e-12)
    moved = (b[0], b[1] + shift, b[2])  # a region's own constant is absorbed by its intercept
    assert fit_kappa_pooled([a, moved], 0.0, 1.5) == pytest.approx(fit_kappa_pooled([a, b], 0.0, 1.5), abs=1e-9)


def test_pooled_slope_is_clipped_and_one_draw_panels_broadcast() -> None:
    steep = _panel(3.0, 0.0, -8.0, 0.4, np.zeros(len(YEARS)))
    assert fit_kappa_pooled([steep], 0.0, 1.5).tolist() == [1.5]
    falling = _panel(-1.0, 0.0, -8.0, 0.4, np.zeros(len(YEARS)))
    assert fit_kappa_pooled([falling], 0.0, 1.5).tolist() == [0.0]
    three = (YEARS, np.repeat(steep[1], 3, 1) * np.array([0.1, 0.2, 0.3]), np.repeat(steep[2], 3, 1))
    out = fit_kappa_pooled([three, _panel(0.3, 0.0, -8.0, 0.4, np.zeros(len(YEARS)))], 0.0, 1.5)
    assert out.shape == (3,) and np.all(np.diff(out) > 0)
    with pytest.raises(InputError, match="kappa_fit"):
        fit_kappa_pooled([], 0.0, 1.5)


def test_default_runs_pool_the_three_regions_and_own_is_the_single_region_fit() -> None:
    until = 2021
    panels = {code: region_panel(name, until) for code, name in POOLED_REGIONS.items()}
    assert all(p is not None and p[0][-1] == until for p in panels.values())
    expected = fit_kappa_pooled(list(panels.values()), 0.0, 1.5)[0]
    _, _, meta = run_frames("china-current-policies", until=until)
    assert meta["calibration"]["kappa_fit"] == "pooled"
    assert meta["calibration"]["kappa"][0] == pytest.approx(expected, rel=1e-12)
    _, _, us = run_frames("us-current-policies", until=until)
    assert us["calibration"]["kappa"][0] == pytest.approx(expected, rel=1e-12)  # one coefficient, three markets
    own = load_scenario("china-current-policies", {"calibration": {"kappa_fit": "own"}})
    _, _, meta_own = run_frames(own, until=until)
    years, a, lnss = panels["CN"]
    assert meta_own["calibration"]["kappa_fit"] == "own"
    assert meta_own["calibration"]["kappa"][0] == pytest.approx(fit_kappa(years, a, lnss, 0.0, 1.5)[0], rel=1e-12)
    assert meta_own["calibration"]["kappa"][0] != pytest.approx(expected, rel=1e-3)


def test_switch_off_is_the_previous_single_region_calibration() -> None:
    """``kappa_fit = "own"`` runs exactly the pre-pooling path: the fit pass of the run is the same
    numbers as a fit pass made without any other region in the process."""
    own = load_scenario("us-current-policies", {"calibration": {"kappa_fit": "own"}})
    inputs = prepare(own, 2020)
    _, cal = run_years(inputs, None, fit=True)
    _, _, meta = run_frames(own, until=2020)
    assert meta["calibration"]["kappa"] == [float(k) for k in cal.kappa]
    assert meta["calibration"]["hold_plugin_constant"] == [float(x) for x in cal.hold_plugin]


def test_bad_switch_names_the_field() -> None:
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"calibration": {"kappa_fit": "both"}})
    assert err.value.field == "calibration.kappa_fit" and set(err.value.allowed) == {"own", "pooled"}


@settings(max_examples=25, deadline=None)
@given(n_regions=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_kappa_standard_error_is_the_ols_standard_error_with_one_intercept_per_region(n_regions: int,
                                                                                    seed: int) -> None:
    """Against the textbook OLS on a design of region dummies and x: sqrt(σ² (X'X)⁻¹) of the slope,
    over the fitted years (from KAPPA_FIRST_YEAR)."""
    from nevsim.calibrate import KAPPA_FIRST_YEAR
    from nevsim.pooling import kappa_standard_error

    rng = np.random.default_rng(seed)
    panels = [_panel(0.4, rng.uniform(-5, 5), rng.uniform(-9, -3), rng.uniform(0.1, 0.6), rng.normal(0, 0.3, len(YEARS)))
              for _ in range(n_regions)]
    keep = YEARS >= KAPPA_FIRST_YEAR
    rows, ys = [], []
    for r, (_, a, x) in enumerate(panels):
        for i in np.flatnonzero(keep):
            rows.append([float(j == r) for j in range(n_regions)] + [float(x[i, 0])])
            ys.append(float(a[i, 0]))
    design, y = np.array(rows), np.array(ys)
    beta = np.linalg.lstsq(design, y, rcond=None)[0]
    sigma2 = float(((y - design @ beta) ** 2).sum()) / (len(y) - design.shape[1])
    se = float(np.sqrt(sigma2 * np.linalg.inv(design.T @ design)[-1, -1]))
    assert kappa_standard_error(panels)[0] == pytest.approx(se, rel=1e-9)
    assert fit_kappa_pooled(panels, -10, 10)[0] == pytest.approx(beta[-1], rel=1e-9, abs=1e-12)


def test_kappa_standard_error_without_degrees_of_freedom_is_nan() -> None:
    from nevsim.pooling import kappa_standard_error

    years = np.array([2016, 2017])  # (fewer than 3 fitted years: all are used) 2 points, 1 intercept, 1 slope
    panel = (years, np.array([[1.0], [2.0]]), np.array([[-5.0], [-4.0]]))
    assert np.isnan(kappa_standard_error([panel])).all()


def test_runs_report_kappa_and_its_standard_error() -> None:
    meta = run_frames(load_scenario("china-current-policies", {"years.last": 2030}))[2]["calibration"]
    assert len(meta["kappa_se"]) == len(meta["kappa"]) == 1 and 0 < meta["kappa_se"][0] < 1


@pytest.mark.parametrize("setting", [{"calibration.kappa_fit": "own"}, {"calibration.hold_mean_of_last_years": 3}])
def test_a_counterfactual_is_fitted_the_way_it_says(setting: dict) -> None:
    """How to fit is the scenario's choice: a counterfactual (calibrated on its reference's history)
    with ``kappa_fit = "own"`` or another hold window used the reference file's settings and ran
    exactly as without them (silently)."""
    from nevsim.simulate import calibrate, run_frames

    plain = load_scenario("china-no-dual-credit")
    chosen = load_scenario("china-no-dual-credit", setting)
    cal_plain, _ = calibrate(plain)
    cal_chosen, _ = calibrate(chosen)
    factual, _ = calibrate(load_scenario("china-current-policies", setting))
    assert cal_chosen.kappa == pytest.approx(factual.kappa)  # fitted that way on the factual history
    a = run_frames(plain, makers=False)[0]
    b = run_frames(chosen, makers=False)[0]
    ev = "Sales Share|Cars|EV"
    assert abs(float(b[(b.variable == ev) & (b.year == 2030)].value.iloc[0])
               - float(a[(a.variable == ev) & (a.year == 2030)].value.iloc[0])) > 1.0
    assert setting != {"calibration.kappa_fit": "own"} or cal_chosen.kappa != pytest.approx(cal_plain.kappa)
