"""Back-tests with Monte Carlo draws: the model's median, its 5–95 % band and the band's coverage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import nevsim.data
from nevsim.backtest import backtest, interval_score, score_frame
from nevsim.errors import InputError

from .test_backtest import _clear_simulation_caches, perturbing_load


@pytest.fixture(scope="module")
def banded():
    return backtest(cutoffs=[2020, 2021], draws=30, seed=3)


def test_band_holds_the_median_and_only_the_model_has_one(banded) -> None:
    f = banded.forecasts
    model = f[f["method"] == "model"]
    assert model[["lower", "upper"]].notna().all().all()
    assert (model["lower"] <= model["forecast"]).all() and (model["forecast"] <= model["upper"]).all()
    assert (model["upper"] - model["lower"] > 0).all()
    assert f[f["method"] != "model"][["lower", "upper"]].isna().all().all()
    assert banded.has_bands and banded.meta["draws"] == 30 and banded.meta["seed"] == 3


def test_coverage_counts_the_actuals_inside_the_band(banded) -> None:
    f = banded.forecasts[banded.forecasts["method"] == "model"]
    inside = (f["lower"] <= f["actual"]) & (f["actual"] <= f["upper"])
    cov = banded.coverage()
    assert cov.loc["pooled", "coverage_pct"] == pytest.approx(100.0 * inside.mean())
    for cutoff in (2020, 2021):
        sel = f["cutoff"] == cutoff
        assert cov.loc[str(cutoff), "coverage_pct"] == pytest.approx(100.0 * inside[sel].mean())
        assert cov.loc[str(cutoff), "band_width_pp"] == pytest.approx((f["upper"] - f["lower"])[sel].mean())
    assert "band over 30 draws" in banded.summary()
    assert "From only 30 draws the band's edges are rough" in banded.summary()


def test_score_frame_coverage_on_a_hand_made_frame() -> None:
    f = pd.DataFrame({"cutoff": 2020, "year": [2021, 2022, 2023, 2024], "horizon": [1, 2, 3, 4],
                      "method": "model", "forecast": [10.0, 20, 30, 40], "actual": [11.0, 25, 29, 60],
                      "lower": [9.0, 15, 29, 30], "upper": [12.0, 24, 35, 50]})
    f["error"] = f["forecast"] - f["actual"]
    s = score_frame(f)
    pooled = s[s["cutoff"].isna()].iloc[0]
    assert pooled["coverage_pct"] == pytest.approx(50.0)  # 11 in [9, 12], 29 on the edge; 25 and 60 outside
    assert pooled["band_width_pp"] == pytest.approx((3 + 9 + 6 + 20) / 4)
    # interval score: width, plus 20 × the distance outside (25 is 1 above 24, 60 is 10 above 50)
    assert pooled["interval_score_pp"] == pytest.approx((3 + (9 + 20 * 1) + 6 + (20 + 20 * 10)) / 4)
    no_band = score_frame(f.drop(columns=["lower", "upper"]))
    assert no_band["coverage_pct"].isna().all() and no_band["interval_score_pp"].isna().all()


_share = st.floats(0, 100, allow_nan=False)


@given(_share, _share, _share)
def test_interval_score_is_the_width_inside_and_grows_outside(a: float, b: float, y: float) -> None:
    lo, hi = min(a, b), max(a, b)
    score = float(interval_score(lo, hi, y))
    assert score >= hi - lo - 1e-9
    if lo <= y <= hi:
        assert score == pytest.approx(hi - lo)
    else:
        assert score == pytest.approx(hi - lo + 20.0 * (lo - y if y < lo else y - hi))
    assert np.isnan(interval_score(np.nan, hi, y))


def test_same_seed_same_band_other_seed_other_band(banded) -> None:
    again = backtest(cutoffs=[2020, 2021], draws=30, seed=3)
    pd.testing.assert_frame_equal(banded.forecasts, again.forecasts)
    other = backtest(cutoffs=[2021], draws=30, seed=4).forecasts
    mine = banded.forecasts[banded.forecasts["cutoff"] == 2021].reset_index(drop=True)
    assert not np.allclose(other["upper"].dropna(), mine["upper"].dropna())


def test_json_adds_the_band_and_keeps_the_issue_keys(banded) -> None:
    j = json.loads(json.dumps(banded.to_json()))
    assert (j["draws"], j["seed"], j["band"]) == (30, 3, "5–95 %")
    assert j["unit"]["coverage"] == "percent of actuals inside the band"
    cov = banded.coverage()
    assert j["coverage_pooled"] == pytest.approx(cov.loc["pooled", "coverage_pct"])
    assert j["band_width_pooled"] == pytest.approx(cov.loc["pooled", "band_width_pp"])
    assert [e["band_width"] for e in j["cutoffs"]] == pytest.approx(list(cov.loc[["2020", "2021"], "band_width_pp"]))
    assert j["interval_score_pooled"] == pytest.approx(cov.loc["pooled", "interval_score_pp"])
    assert [e["interval_score"] for e in j["cutoffs"]] == pytest.approx(
        list(cov.loc[["2020", "2021"], "interval_score_pp"]))
    assert j["unit"]["interval_score"].startswith("percentage points")
    for entry in j["cutoffs"]:
        assert {"cutoff", "forecasts", "mae", "coverage"} <= set(entry)
        for row in entry["forecasts"]:
            assert row["model_lower"] <= row["model"] <= row["model_upper"]
            assert {"year", "actual", "model", "logistic", "bass", "persistence", "logit_trend"} <= set(row)


def test_without_draws_nothing_changes_shape() -> None:
    plain = backtest(cutoffs=[2021])
    assert not plain.has_bands and plain.coverage().empty
    j = plain.to_json()
    assert "band" not in j and "coverage" not in j["cutoffs"][0]
    assert "model_lower" not in j["cutoffs"][0]["forecasts"][0]
    assert "band over" not in plain.summary()


def test_plot_draws_one_band_per_cutoff(banded) -> None:
    fig = banded.plot()
    fills = [t for t in fig.data if getattr(t, "fill", None) == "toself"]
    assert len(fills) == 2
    assert "5–95 % band" in fig.layout.title.text


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"draws": 0}, "draws"), ({"draws": 10_001}, "draws"), ({"draws": True}, "draws"),
    ({"draws": 2.5}, "draws"), ({"seed": -1}, "seed"), ({"seed": "1"}, "seed"), ({"seed": 2**63}, "seed")])
def test_bad_draws_and_seed_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as info:
        backtest(cutoffs=[2021], **kwargs)
    assert info.value.field == field and info.value.allowed


@pytest.mark.parametrize("kwargs", [{"seed": 3}, {"seed": 3, "draws": 1}])
def test_a_seed_needs_more_than_one_draw(kwargs: dict) -> None:
    """A seed with one draw (the scenario's uncertainty.draws = 1) ran the deterministic model: refused."""
    with pytest.raises(InputError) as info:
        backtest(cutoffs=[2021], **kwargs)
    assert info.value.field == "seed" and "more than one draw" in info.value.message


@pytest.mark.parametrize(("kwargs", "field"), [({"seed": 3, "draws": 5}, "seed"), ({"draws": 5}, "draws")])
def test_draws_and_seed_without_the_model_are_refused(kwargs: dict, field: str) -> None:
    """The baselines are deterministic: draws and a seed without the model did nothing."""
    with pytest.raises(InputError) as info:
        backtest(cutoffs=[2021], methods=["logistic", "bass"], **kwargs)
    assert info.value.field == field
    backtest(cutoffs=[2021], methods=["logistic"], draws=1)  # (one draw: what it always is)


def test_draws_need_distributions(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario that samples nothing gets the same error as ``nevsim outlook --draws`` (Scenario.check_draws)."""
    from nevsim.scenario import Scenario, load_scenario

    scenario = load_scenario("china-current-policies")
    monkeypatch.setattr(Scenario, "distributions", lambda self: {})  # (after loading: the loader reads them)
    with pytest.raises(InputError) as info:
        backtest(scenario, cutoffs=[2021], draws=5)
    assert info.value.field == "draws" and "distributions" in info.value.message
    backtest(scenario, cutoffs=[2021], draws=1, methods=["persistence"])  # one draw needs none


def test_no_leakage_into_the_band(monkeypatch: pytest.MonkeyPatch) -> None:
    """Changing every data row after the cutoff leaves the median and the band unchanged."""
    _clear_simulation_caches()
    clean = backtest(cutoffs=[2021], methods=["model"], draws=8, seed=1).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", perturbing_load(2021, 1.6, 2.0))
        _clear_simulation_caches()
        dirty = backtest(cutoffs=[2021], methods=["model"], draws=8, seed=1).forecasts
    _clear_simulation_caches()
    pd.testing.assert_frame_equal(clean[["forecast", "lower", "upper"]], dirty[["forecast", "lower", "upper"]])


def test_no_leakage_through_the_residual_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    """The walk's step σ is fitted on history up to the cutoff only: with the walk fixed at
    z = 1.5, changing every data row after 2021 leaves the forecast unchanged; the same change
    from 2021 on moves it."""
    import nevsim.assumptions
    from nevsim.scenario import load_scenario

    from .test_backtest import _perturb_assumption

    walk = load_scenario("china-current-policies", {"coefficients.residual_walk_z": 1.5})
    _clear_simulation_caches()
    clean = backtest(walk, cutoffs=[2021], methods=["model"]).forecasts
    plain = backtest(cutoffs=[2021], methods=["model"]).forecasts
    assert not np.allclose(clean["forecast"], plain["forecast"])  # the walk is on
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", perturbing_load(2021, 1.6, 2.0))
        for name in ("credit_prices", "maker_history"):
            m.setattr(nevsim.assumptions, name, _perturb_assumption(getattr(nevsim.assumptions, name), 2021, 1.6))
        _clear_simulation_caches()
        dirty = backtest(walk, cutoffs=[2021], methods=["model"]).forecasts
        m.setattr(nevsim.data, "load", perturbing_load(2020, 1.6, 2.0))
        _clear_simulation_caches()
        control = backtest(walk, cutoffs=[2021], methods=["model"]).forecasts
    _clear_simulation_caches()
    keys = ["cutoff", "year", "method", "forecast"]
    pd.testing.assert_frame_equal(clean[keys], dirty[keys])
    assert not np.allclose(clean["forecast"], control["forecast"])
