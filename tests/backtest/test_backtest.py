"""Back-test: actuals splice, cutoff rules, scores, JSON shape, summary, and no leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nevsim.data
from nevsim import backtest as bt_mod
from nevsim.backtest import BacktestResult, actual_shares, allowed_cutoffs, backtest, score_frame
from nevsim.errors import InputError
from nevsim.scenario import load_scenario

BASELINES = ["logistic", "bass", "persistence", "logit_trend"]

# ------------------------------------------------------------------------------- actuals


def test_actuals_splice_iea_then_owid() -> None:
    s = actual_shares("CN")
    assert s.index.min() == 2010 and s.index.max() == 2025
    assert s[2021] == 15.0  # IEA kept where it exists (OWID says 16)
    assert s[2024] == 48.0 and s[2025] == 53.0
    assert s.attrs["sources"][2024] == "iea_gevo_2025"
    assert s.attrs["sources"][2025] == "owid_electric_car_sales_share"
    assert s.is_monotonic_increasing


@pytest.mark.parametrize("until", [2014, 2021, 2024])
def test_actuals_respect_until(until: int) -> None:
    s = actual_shares("China", until=until)
    assert s.index.max() == until
    pd.testing.assert_series_equal(s, actual_shares("CN")[lambda x: x.index <= until], check_names=False)


def test_unknown_region_lists_the_codes() -> None:
    with pytest.raises(InputError) as info:
        actual_shares("Mars")
    assert info.value.allowed == ["CN", "US", "EU"]


def test_allowed_cutoffs_need_five_years_and_one_forecast_year() -> None:
    assert allowed_cutoffs(actual_shares("CN")) == range(2014, 2025)


@pytest.mark.parametrize("cutoffs", [[2013], [2025], [2040], [2021, 2021], []])
def test_bad_cutoffs_are_refused_with_the_range(cutoffs: list[int]) -> None:
    with pytest.raises(InputError) as info:
        backtest(cutoffs=cutoffs, methods=BASELINES)
    assert info.value.allowed == ["2014–2024"]


def test_through_must_follow_every_cutoff_and_be_observed() -> None:
    with pytest.raises(InputError, match="after every cutoff"):
        backtest(cutoffs=[2020, 2022], through=2021, methods=BASELINES)
    with pytest.raises(InputError, match="last observed year"):
        backtest(cutoffs=[2020], through=2026, methods=BASELINES)


def test_unknown_method_lists_the_methods() -> None:
    with pytest.raises(InputError) as info:
        backtest(cutoffs=[2020], methods=["oracle"])
    assert info.value.allowed == list(bt_mod.METHODS)


# ------------------------------------------------------------------------- baselines run


@pytest.fixture(scope="module")
def baselines_only() -> BacktestResult:
    return backtest(cutoffs=[2018, 2021], methods=BASELINES)


def test_forecast_table_is_long_and_consistent(baselines_only: BacktestResult) -> None:
    f = baselines_only.forecasts
    assert list(f.columns) == ["cutoff", "year", "horizon", "method", "forecast", "actual", "error", "lower", "upper"]
    assert f[["lower", "upper"]].isna().all().all()  # bands only for the model with Monte Carlo draws
    assert set(f["method"]) == set(BASELINES)
    assert sorted(f[f["cutoff"] == 2021]["year"].unique()) == [2022, 2023, 2024, 2025]
    assert (f["horizon"] == f["year"] - f["cutoff"]).all()
    np.testing.assert_allclose(f["error"], f["forecast"] - f["actual"])
    persistence = f[(f["method"] == "persistence") & (f["cutoff"] == 2021)]
    assert (persistence["forecast"] == 15.0).all()
    assert persistence.set_index("year")["actual"].to_dict() == {2022: 29.0, 2023: 38.0, 2024: 48.0, 2025: 53.0}


def test_to_json_has_exactly_the_issue_shape(baselines_only: BacktestResult) -> None:
    out = baselines_only.to_json()
    # the issue's keys ("cutoffs": cutoff, forecasts, mae), plus what the numbers are about and their units
    assert list(out) == ["scenario", "region", "variable", "through", "policies", "unit", "cutoffs"]
    assert out["policies"] == "enacted" and out["region"] == "CN" and out["through"] == 2025
    assert out["scenario"] is None and out["variable"] == "Sales Share|Cars|EV"  # baselines only
    assert out["unit"] == {"forecast": "percent of new car sales", "actual": "percent of new car sales",
                           "mae": "percentage points"}
    first = out["cutoffs"][1]
    assert set(first) == {"cutoff", "known_at", "forecasts", "mae"} and first["cutoff"] == 2021
    assert first["known_at"] is None
    assert set(first["mae"]) == {"model", "logistic", "bass", "persistence", "logit_trend"}
    assert first["mae"]["model"] is None  # not run here
    assert first["mae"]["persistence"] == pytest.approx((14 + 23 + 33 + 38) / 4)
    row = first["forecasts"][0]
    assert set(row) == {"year", "actual", "model", "logistic", "bass", "persistence", "logit_trend"}
    assert row["year"] == 2022 and row["actual"] == 29.0 and row["persistence"] == 15.0


def test_plot_draws_actuals_and_one_fan_per_method(baselines_only: BacktestResult) -> None:
    fig = baselines_only.plot()
    names = [t.name for t in fig.data]
    assert names[-1] == "actual"  # QA 10 #5: the actuals drawn last, over the forecasts
    fans = [t for t in fig.data if t.name != "actual"]
    assert len(fans) == len(BASELINES) * 2  # one line per method and cutoff
    fan = next(t for t in fans if t.name == "persistence" and t.xaxis == "x2")  # the second panel: cutoff 2021
    assert list(fan.x) == [2021, 2022, 2023, 2024, 2025] and list(fan.y) == [15.0] * 5


def test_plot_in_one_column_keeps_the_panels_and_matches_their_years(baselines_only: BacktestResult) -> None:
    """The phone layout (``columns=1``): the same traces, one panel a row, every panel's x axis
    matching the first (its own year labels, the same years)."""
    wide, narrow = baselines_only.plot(), baselines_only.plot(columns=1)
    assert [(t.name, t.xaxis) for t in narrow.data] == [(t.name, t.xaxis) for t in wide.data]
    assert narrow.layout.xaxis2.matches == "x" and narrow.layout.xaxis2.domain == narrow.layout.xaxis.domain
    assert narrow.layout.yaxis2.domain[1] < narrow.layout.yaxis.domain[0]  # below it
    assert wide.layout.xaxis2.domain[0] > wide.layout.xaxis.domain[1]  # (beside it)


@pytest.mark.parametrize("columns", [0, -1, 1.5, True, "2"])
def test_plot_refuses_columns_that_are_not_a_count(baselines_only: BacktestResult, columns: object) -> None:
    with pytest.raises(InputError, match="columns"):
        baselines_only.plot(columns=columns)  # type: ignore[arg-type]


def test_summary_without_model_says_so(baselines_only: BacktestResult) -> None:
    text = baselines_only.summary()
    assert "Pooled MAE" in text and "baselines only" in text


# -------------------------------------------------------------------------------- scores


def _result(rows: list[tuple[int, int, str, float, float]]) -> BacktestResult:
    f = pd.DataFrame(rows, columns=["cutoff", "year", "method", "forecast", "actual"])
    f["horizon"] = f["year"] - f["cutoff"]
    f["error"] = f["forecast"] - f["actual"]
    f = f[["cutoff", "year", "horizon", "method", "forecast", "actual", "error"]]
    actuals = pd.Series({2019: 5.0, 2020: 10.0, 2021: 20.0, 2022: 40.0}, name="EV sales share")
    return BacktestResult(forecasts=f, scores=score_frame(f), actuals=actuals,
                          meta={"region": "CN", "scenario": "test", "through": 2022})


HAND = [
    (2020, 2021, "model", 22.0, 20.0), (2020, 2022, "model", 36.0, 40.0),
    (2020, 2021, "logistic", 10.0, 20.0), (2020, 2022, "logistic", 40.0, 40.0),
    (2021, 2022, "model", 41.0, 40.0), (2021, 2022, "logistic", 30.0, 40.0),
]


def test_scores_by_hand() -> None:
    r = _result(HAND)
    s = r.scores.set_index([r.scores["cutoff"].astype("string").fillna("pooled"), "method"])
    assert s.loc[("2020", "model"), "mae_pp"] == pytest.approx(3.0)
    assert s.loc[("2020", "model"), "bias_pp"] == pytest.approx(-1.0)
    assert s.loc[("2020", "model"), "mape_pct"] == pytest.approx(100 * (2 / 20 + 4 / 40) / 2)
    assert s.loc[("2020", "model"), "rmse_pp"] == pytest.approx(np.sqrt((4 + 16) / 2))
    assert s.loc[("2020", "logistic"), "mae_pp"] == pytest.approx(5.0)
    assert s.loc[("pooled", "model"), "mae_pp"] == pytest.approx((2 + 4 + 1) / 3)
    assert s.loc[("pooled", "logistic"), "n"] == 3
    h = r.by_horizon()
    assert h.loc[1, "model"] == pytest.approx(1.5) and h.loc[2, "model"] == pytest.approx(4.0)
    assert h.loc[1, "n"] == 2 and h.loc[2, "n"] == 1
    assert r.by_horizon("bias_pp").loc[1, "logistic"] == pytest.approx(-10.0)
    with pytest.raises(InputError):
        r.by_horizon("r2")


def test_summary_names_where_the_model_loses() -> None:
    r = _result(HAND)
    text = r.summary()
    assert "The model LOSES at cutoff 2020: model MAE 3.0 vs" not in text  # model 3.0 beats logistic 5.0
    assert "The model LOSES" not in text
    assert "beats every baseline" in text
    worse = _result([(2020, 2021, "model", 30.0, 20.0), (2020, 2021, "logistic", 21.0, 20.0)])
    assert "The model LOSES at cutoff 2020: model MAE 10.0 vs logistic 1.0." in worse.summary()
    assert "under-forecasts" not in worse.summary() and "over-forecasts" in worse.summary()


# ---------------------------------------------------------------------------- no leakage


def perturbing_load(cutoff: int, factor: float, shift: float):
    """``nevsim.data.load`` whose rows after ``cutoff`` (by the table's cutoff column) are changed.

    Code that reads with ``until=cutoff`` never sees them; code that reads more would.
    """
    real = nevsim.data.load

    def load(name: str, *, region=None, until=None, data_dir=None) -> pd.DataFrame:
        frame = real(name, region=region, until=until, data_dir=data_dir)
        column = nevsim.data.cutoff_column(name)
        if column is None or "value" not in frame.columns:
            return frame
        late = frame[column] > cutoff
        changed = frame["value"].where(~late, frame["value"] * factor + shift)
        if "unit" in frame.columns:
            pct = frame["unit"].eq("percent")
            changed = changed.where(~(late & pct), changed.clip(0.0, 100.0))
        return frame.assign(value=changed)

    return load


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cutoff=st.integers(min_value=2014, max_value=2024),
       factor=st.floats(min_value=0.2, max_value=3.0), shift=st.floats(min_value=-20.0, max_value=20.0))
def test_no_leakage_baselines(monkeypatch: pytest.MonkeyPatch, cutoff: int, factor: float, shift: float) -> None:
    """Changing every data row after the cutoff leaves every baseline forecast unchanged."""
    clean = backtest(cutoffs=[cutoff], methods=BASELINES).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", perturbing_load(cutoff, factor, shift))
        dirty = backtest(cutoffs=[cutoff], methods=BASELINES).forecasts
    pd.testing.assert_series_equal(clean["forecast"], dirty["forecast"])
    pd.testing.assert_frame_equal(clean[["cutoff", "year", "method"]], dirty[["cutoff", "year", "method"]])


def test_perturbation_reaches_the_fit_when_it_touches_the_cutoff_year(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: the same perturbation applied from the cutoff year on does change forecasts."""
    clean = backtest(cutoffs=[2020], methods=BASELINES).forecasts
    monkeypatch.setattr(nevsim.data, "load", perturbing_load(2019, 2.0, 5.0))
    dirty = backtest(cutoffs=[2020], methods=BASELINES).forecasts
    assert not np.allclose(clean["forecast"], dirty["forecast"])


@settings(max_examples=10, deadline=None)
@given(cutoff=st.integers(min_value=2014, max_value=2024),
       noise=st.lists(st.floats(min_value=0.0, max_value=100.0), min_size=16, max_size=16))
def test_no_leakage_through_the_actuals_hook(cutoff: int, noise: list[float]) -> None:
    """With injected actuals, replacing every value after the cutoff changes actuals, not forecasts."""
    actuals = actual_shares("CN")
    other = actuals.copy()
    late = other.index > cutoff
    other[late] = np.asarray(noise)[: late.sum()]
    a = backtest(cutoffs=[cutoff], methods=BASELINES, actuals=actuals).forecasts
    b = backtest(cutoffs=[cutoff], methods=BASELINES, actuals=other).forecasts
    pd.testing.assert_series_equal(a["forecast"], b["forecast"])
    np.testing.assert_allclose(b["actual"].to_numpy(), other.loc[b["year"]].to_numpy())


def test_injected_actuals_equal_the_data_layer_path() -> None:
    a = backtest(cutoffs=[2019], methods=BASELINES).forecasts
    b = backtest(cutoffs=[2019], methods=BASELINES, actuals=actual_shares("CN")).forecasts
    pd.testing.assert_frame_equal(a, b)


def test_bad_injected_actuals() -> None:
    with pytest.raises(InputError, match="Series"):
        backtest(cutoffs=[2019], methods=BASELINES, actuals=[1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(InputError, match=r"\[0, 100\]"):
        backtest(cutoffs=[2019], methods=BASELINES, actuals=actual_shares("CN") * 10)


# ------------------------------------------------------------------------------- the model


def _clear_simulation_caches() -> None:
    """Empty the simulator's per-process memo tables (China, the regions, the pooled κ panels)
    so the next run reads its inputs again."""
    import nevsim.pooling
    import nevsim.regions
    import nevsim.simulate

    for module in (nevsim.simulate, nevsim.regions, nevsim.pooling):
        for obj in vars(module).values():
            if callable(getattr(obj, "cache_clear", None)):
                obj.cache_clear()


def _perturb_assumption(real, cutoff: int, factor: float):
    def table() -> pd.DataFrame:
        frame = real()
        value = next(c for c in ("value", "price_cny_per_credit") if c in frame.columns)
        late = frame["year"] > cutoff
        return frame.assign(**{value: frame[value].where(~late, frame[value] * factor)})

    return table


@pytest.fixture(scope="module")
def with_model() -> BacktestResult:
    return backtest("china-current-policies", region="CN", cutoffs=[2019, 2021])


def test_model_column_is_the_simulation_run_with_until(with_model: BacktestResult) -> None:
    from nevsim.simulate import run

    f = with_model.forecasts
    model = f[(f["method"] == "model") & (f["cutoff"] == 2021)].set_index("year")["forecast"]
    direct = run("china-current-policies", until=2021).series
    direct = direct[direct["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    np.testing.assert_allclose(model.to_numpy(), direct.loc[[2022, 2023, 2024, 2025]].to_numpy())
    assert ((model > 0) & (model < 100)).all()
    out = with_model.to_json()
    assert all(isinstance(r["model"], float) for c in out["cutoffs"] for r in c["forecasts"])
    assert isinstance(out["cutoffs"][0]["mae"]["model"], float)
    assert with_model.meta["scenario"] == "china-current-policies" and len(with_model.meta["scenario_hash"]) == 64


def test_summary_with_model_reads_the_scores(with_model: BacktestResult) -> None:
    text = with_model.summary()
    mae = with_model.mae()
    for cutoff in ("2019", "2021"):
        loses = any(mae.at[cutoff, b] < mae.at[cutoff, "model"] for b in BASELINES)
        assert (f"The model LOSES at cutoff {cutoff}:" in text) == loses
    assert "Model bias pooled" in text and "by powertrain" in text


def test_region_must_be_the_scenarios() -> None:
    with pytest.raises(InputError) as info:
        backtest("china-current-policies", region="US", cutoffs=[2021])
    assert info.value.allowed == ["CN"]


def test_unknown_scenario_lists_the_scenarios() -> None:
    with pytest.raises(InputError) as info:
        backtest("atlantis", cutoffs=[2021])
    assert "china-current-policies" in (info.value.allowed or [])


@pytest.mark.parametrize(("cutoff", "factor", "shift"), [(2019, 1.7, 3.0), (2021, 0.4, -2.0)])
def test_no_leakage_model(monkeypatch: pytest.MonkeyPatch, cutoff: int, factor: float, shift: float) -> None:
    """Changing every data row after the cutoff (data layer and the simulator's assumption
    tables with years, among them every maker's capacity rows in ``maker_history``) leaves the
    model's forecasts unchanged. The maker split itself (capacity use, sales by maker) is
    checked the same way in tests/sim/test_capacity.py."""
    import nevsim.assumptions

    _clear_simulation_caches()
    clean = backtest(cutoffs=[cutoff]).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", perturbing_load(cutoff, factor, shift))
        for name in ("credit_prices", "maker_history"):
            m.setattr(nevsim.assumptions, name, _perturb_assumption(getattr(nevsim.assumptions, name), cutoff, factor))
        _clear_simulation_caches()
        dirty = backtest(cutoffs=[cutoff]).forecasts
        # control: the same perturbation from the cutoff year on reaches the model
        m.setattr(nevsim.data, "load", perturbing_load(cutoff - 1, factor, shift))
        _clear_simulation_caches()
        control = backtest(cutoffs=[cutoff], methods=["model"]).forecasts
    _clear_simulation_caches()
    pd.testing.assert_frame_equal(clean[["cutoff", "year", "method", "forecast"]],
                                  dirty[["cutoff", "year", "method", "forecast"]])
    model = clean[clean["method"] == "model"]["forecast"].to_numpy()
    assert not np.allclose(model, control["forecast"].to_numpy())


def test_progress_runs_from_zero_to_the_number_of_cutoffs() -> None:
    calls: list[tuple[float, int]] = []
    backtest(cutoffs=[2021, 2022], progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0.0, 2) and calls[-1] == (2.0, 2)
    done = [c[0] for c in calls]
    assert done == sorted(done) and all(t == 2 for _, t in calls)
    assert any(0 < d < 1 for d in done)  # the model run reports its years on the way


def _perturbing_load_in(regions: tuple[str, ...], cutoff: int, factor: float, shift: float):
    """:func:`perturbing_load` restricted to the rows of ``regions`` (IEA/OWID region names)."""
    real = nevsim.data.load
    dirty = perturbing_load(cutoff, factor, shift)

    def load(name: str, *, region=None, until=None, data_dir=None) -> pd.DataFrame:
        clean = real(name, region=region, until=until, data_dir=data_dir)
        if "region" not in clean.columns:
            return clean
        changed = dirty(name, region=region, until=until, data_dir=data_dir)
        mine = clean["region"].isin(regions).to_numpy()
        return clean.assign(value=np.where(mine, changed["value"], clean["value"]))

    return load


def test_no_leakage_pooled_kappa_from_other_regions(monkeypatch: pytest.MonkeyPatch) -> None:
    """With κ pooled over regions (the default), China's forecast from 2021 reads the US and EU
    histories up to 2021 only: changing every US/EU row after 2021 leaves it unchanged, and the
    same change from 2021 on (a control) moves it — so the other regions do reach κ."""
    from nevsim.scenario import load_scenario

    assert load_scenario("china-current-policies").calibration.kappa_fit == "pooled"
    _clear_simulation_caches()
    clean = backtest(cutoffs=[2021], methods=["model"]).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", _perturbing_load_in(("USA", "EU27"), 2021, 1.7, 3.0))
        _clear_simulation_caches()
        dirty = backtest(cutoffs=[2021], methods=["model"]).forecasts
        m.setattr(nevsim.data, "load", _perturbing_load_in(("USA", "EU27"), 2020, 1.7, 3.0))
        _clear_simulation_caches()
        control = backtest(cutoffs=[2021], methods=["model"]).forecasts
    _clear_simulation_caches()
    pd.testing.assert_frame_equal(clean, dirty)
    assert not np.allclose(clean["forecast"].to_numpy(), control["forecast"].to_numpy())
    # the switch off: China's own history only, so the same control cannot reach it
    own = load_scenario("china-current-policies", {"calibration": {"kappa_fit": "own"}})
    base = backtest(own, cutoffs=[2021], methods=["model"]).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", _perturbing_load_in(("USA", "EU27"), 2020, 1.7, 3.0))
        _clear_simulation_caches()
        moved = backtest(own, cutoffs=[2021], methods=["model"]).forecasts
    _clear_simulation_caches()
    pd.testing.assert_frame_equal(base, moved)


def test_write_html_has_the_viewport_tag(baselines_only: BacktestResult, tmp_path) -> None:
    """QA 10: the back-test page (nevsim backtest --plot) scales on phones."""
    text = baselines_only.write_html(tmp_path / "bt.html").read_text(encoding="utf-8")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text and "plotly.js" in text


def _perturbing_segments(cutoff: int):
    """``nevsim.data.load`` whose ``china_ev_segments`` rows after ``cutoff`` are all made fitted
    full-year rows with other values (a fitted row there would move the segment offsets)."""
    real = nevsim.data.load

    def load(name: str, *, region=None, until=None, data_dir=None) -> pd.DataFrame:
        frame = real(name, region=region, until=until, data_dir=data_dir)
        if name != "china_ev_segments":
            return frame
        late = frame["year"] > cutoff
        return frame.assign(value=frame["value"].where(~late, frame["value"] * 0.5 + 1.0),
                            fit=frame["fit"] | late, period=frame["period"].where(~late, "year"))

    return load


@pytest.mark.parametrize("cutoff", [2020, 2021])
def test_no_leakage_segment_mix(monkeypatch: pytest.MonkeyPatch, cutoff: int) -> None:
    """With ``calibration.segment_mix = "observed"`` (opt-in) the observed segment mix
    (``china_ev_segments``) after the cutoff never reaches the model's forecasts; the same change
    from the cutoff year on does (a control: the 2021 row is fitted at the 2021 cutoff, and at
    2020 the 2020 context rows become fitted ones)."""
    observed = load_scenario("china-current-policies", {"calibration.segment_mix": "observed"})
    _clear_simulation_caches()
    clean = backtest(observed, cutoffs=[cutoff], methods=["model"]).forecasts
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", _perturbing_segments(cutoff))
        _clear_simulation_caches()
        dirty = backtest(observed, cutoffs=[cutoff], methods=["model"]).forecasts
        m.setattr(nevsim.data, "load", _perturbing_segments(cutoff - 1))
        _clear_simulation_caches()
        control = backtest(observed, cutoffs=[cutoff], methods=["model"]).forecasts
    _clear_simulation_caches()
    pd.testing.assert_frame_equal(clean, dirty)
    assert not np.allclose(clean["forecast"].to_numpy(), control["forecast"].to_numpy())
