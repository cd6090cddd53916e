"""The vectorised draw axis: ``run_values`` equals deterministic runs, draw by draw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames, run_values, value_keys

VALUES = {
    "technology.battery_learning_rate": np.array([0.14, 0.18, 0.23]),
    "policy.dual_credit.pass_through": np.array([0.45, 0.7, 0.95]),
    "energy.gasoline_price_cny_per_l.2024": np.array([6.5, 7.8, 9.5]),
    "fleet.vkt_km_per_year": np.array([10500.0, 12000.0, 15000.0]),
    "coefficients.beta_price": np.array([-0.27, -0.2, -0.13]),
    "coefficients.nest_lambda_plugin": np.array([0.45, 0.6, 0.75]),
}


def _toml_value(v: object) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + " }"
    return repr(float(v))  # type: ignore[arg-type]


def deterministic_file(tmp_path: Path, scenario: str, values: dict[str, float], name: str = "draw") -> Path:
    """A scenario file applying ``values`` as overrides and naming itself as calibration reference.

    That is the deterministic equivalent of one draw of :func:`run_values` on a scenario
    that is its own reference (the values describe the world; the history is re-fitted).
    """
    resolved = load_scenario(scenario).resolved()
    sections: dict[str, dict[str, object]] = {}
    for key, v in values.items():
        parts = key.split(".")
        if parts[0] == "coefficients":
            sections.setdefault("coefficients", {})[parts[1]] = v
            continue
        node = resolved
        for p in parts[:-1]:
            node = node[p]
        if isinstance(node, dict) and parts[-1].isdigit():  # a year-path point
            path = dict(node)
            path[parts[-1]] = v
            sections.setdefault(".".join(parts[:-2]), {})[parts[-2]] = path
        else:
            sections.setdefault(".".join(parts[:-1]), {})[parts[-1]] = v
    file = tmp_path / f"{name}.toml"
    lines = [f'base = "{scenario}"']
    for section, items in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in items.items()]
    lines += ["[calibration]", f'against = "{file}"']
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


@pytest.fixture(scope="module")
def vectorised():
    return run_values("china-current-policies", VALUES, draw_offset=7)


@pytest.mark.parametrize("i", [0, 1, 2])
def test_draw_equals_deterministic_run(vectorised, tmp_path, i: int) -> None:
    series, makers, meta = vectorised
    det_s, det_m, _ = run_frames(str(deterministic_file(tmp_path, "china-current-policies",
                                                        {k: float(v[i]) for k, v in VALUES.items()})))
    mine = series[series["draw"] == 7 + i].drop(columns="draw").reset_index(drop=True)
    assert mine["variable"].astype(str).tolist() == det_s["variable"].astype(str).tolist()
    assert mine["year"].tolist() == det_s["year"].tolist()
    np.testing.assert_allclose(mine["value"], det_s["value"], rtol=1e-9, atol=1e-6)
    mine_m = makers[makers["draw"] == 7 + i].drop(columns="draw").reset_index(drop=True)
    np.testing.assert_allclose(mine_m["value"], det_m["value"], rtol=1e-9, atol=1e-6)
    assert meta["draws"] == 3 and sorted(series["draw"].unique()) == [7, 8, 9]


def test_history_refit_in_every_draw(vectorised) -> None:
    """Every draw reproduces the observed EV share in the history years (re-fitted per draw)."""
    series = vectorised[0]
    ev = series[(series["variable"] == "Sales Share|Cars|EV") & series["year"].between(2015, 2024)]
    spread = ev.groupby("year")["value"].agg(lambda v: v.max() - v.min())
    assert (spread < 1e-6).all()
    later = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2035)]["value"]
    assert later.max() - later.min() > 0.1  # the draws differ in the projection


def test_counterfactual_draw_calibrates_on_reference_with_same_values(tmp_path) -> None:
    vals = {"coefficients.beta_price": np.array([-0.25]), "technology.cny_per_usd": np.array([6.6])}
    series, _, _ = run_values("china-no-dual-credit", vals)
    point = {k: float(v[0]) for k, v in vals.items()}
    ref = deterministic_file(tmp_path, "china-current-policies", point, name="ref")
    cf = deterministic_file(tmp_path, "china-no-dual-credit", point, name="cf")
    text = cf.read_text().replace(f'against = "{cf}"', f'against = "{ref}"')
    cf.write_text(text)
    det, _, _ = run_frames(str(cf))
    np.testing.assert_allclose(series["value"], det["value"], rtol=1e-9, atol=1e-6)


def test_single_draw_without_values_equals_default_run() -> None:
    series, _, meta = run_values("china-current-policies", {})
    default, _, _ = run_frames("china-current-policies")
    assert meta["draws"] == 1 and (series["draw"] == 0).all()
    np.testing.assert_allclose(series["value"], default["value"], rtol=1e-12)


@pytest.mark.parametrize(("values", "field"), [
    ({"technology.nope": [0.1]}, "technology.nope"),
    ({"policy.dual_credit.enabled": [1.0]}, "policy.dual_credit.enabled"),
    ({"years.last": [2050.0]}, "years.last"),
    ({"coefficients.kappa_familiarity": [0.5]}, "coefficients.kappa_familiarity"),
    ({"coefficients.nope": [0.5]}, "coefficients.nope"),
    ({"energy.gasoline_price_cny_per_l.2031": [8.0]}, "energy.gasoline_price_cny_per_l.2031"),
    ({"technology.ice_fuel_improvement_pct_per_yr": [2.0]}, "technology.ice_fuel_improvement_pct_per_yr"),
    ({"policy.dual_credit.nev_ratio_pct.2030": [40.0]}, "policy.dual_credit.nev_ratio_pct.2030"),
    ({"technology.battery_learning_rate": ["x"]}, "technology.battery_learning_rate"),
    ({"technology.battery_learning_rate": [np.nan]}, "technology.battery_learning_rate"),
    ({"technology.battery_learning_rate": [0.1, 0.2], "fleet.vkt_km_per_year": [1e4]}, "values"),
])
def test_bad_values_name_the_key(values: dict, field: str) -> None:
    with pytest.raises(InputError) as err:
        run_values("china-current-policies", values)
    assert err.value.field == field


def test_value_keys_lists_patterns() -> None:
    keys = value_keys()
    assert "technology.battery_learning_rate" in keys and "coefficients.beta_price" in keys
    assert "energy.gasoline_price_cny_per_l.<year>" in keys
    assert "technology.ice_fuel_improvement_pct_per_yr" not in keys


# ---------------------------------------------------------------------------- draws from the scenario


@pytest.fixture(scope="module")
def mc_run():
    return run_frames("china-current-policies", draws=24, seed=11, chunk_draws=24)


def test_chunk_size_does_not_change_the_result(mc_run) -> None:
    chunked, chunked_m, meta = run_frames("china-current-policies", draws=24, seed=11, chunk_draws=5)
    one, one_m = mc_run[0], mc_run[1]
    # same rows in the same order (variable, year, draw), whatever the block size
    for a, b in ((one, chunked), (one_m, chunked_m)):
        assert a.drop(columns="value").equals(b.drop(columns="value"))
        np.testing.assert_allclose(b["value"], a["value"], rtol=1e-9, atol=1e-9)
    assert meta["chunk_draws"] == 5 and meta["draws"] == 24


def test_blocks_on_threads_give_the_result_of_blocks_one_after_the_other(mc_run, monkeypatch) -> None:
    """Blocks simulated side by side on threads: the same tables bit for bit, the same meta."""
    import pandas as pd

    from nevsim import simulate

    monkeypatch.setattr(simulate.os, "cpu_count", lambda: 4)
    runs = {}
    for threads in (1, 3):
        monkeypatch.setattr(simulate, "BLOCK_THREADS", threads)
        runs[threads] = run_frames("china-current-policies", draws=24, seed=11, chunk_draws=5)
    for i in (0, 1):
        pd.testing.assert_frame_equal(runs[1][i], runs[3][i], check_exact=True)
    metas = [{k: v for k, v in r[2].items() if k not in ("timing_s", "created_utc", "run_id", "block_threads")}
             for r in runs.values()]
    assert metas[0] == metas[1] and runs[3][2]["block_threads"] == 3 and runs[1][2]["block_threads"] == 1
    pd.testing.assert_frame_equal(runs[3][0], mc_run[0], check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("attempt", range(3))
def test_blocks_on_threads_from_empty_caches_give_the_serial_result(monkeypatch, attempt: int) -> None:
    """The first run in a process (empty caches) on threads equals blocks one after the other, and
    the prepared standards are made from the very standards the loop compares them with."""
    import pandas as pd

    from nevsim import simulate

    monkeypatch.setattr(simulate.os, "cpu_count", lambda: 4)
    runs = {}
    for threads in (3, 1):
        simulate._standards.cache_clear()
        simulate._prepared_standards.cache_clear()
        monkeypatch.setattr(simulate, "BLOCK_THREADS", threads)
        runs[threads] = run_frames("china-current-policies", draws=12, seed=3 + attempt, chunk_draws=3)
    for i in (0, 1):
        pd.testing.assert_frame_equal(runs[3][i], runs[1][i], check_exact=True)
    scenario = load_scenario("china-current-policies")
    key = (scenario.policy.model_dump_json(), float(scenario.technology.ice_fuel_improvement_pct_per_yr),
           int(scenario.years.first), int(scenario.years.last))
    nev, cafc, _, prepared = simulate._prepared_standards(*key)
    assert all((p is None and n is None) or p.standard is n for n, (p, _) in zip(nev, prepared, strict=True))
    assert all((p is None and c is None) or p.standard is c for c, (_, p) in zip(cafc, prepared, strict=True))


def test_blocks_in_order_bounded_and_cancelled_on_error() -> None:
    """``_in_order`` yields in order, runs at most ``threads`` at once, keeps at most ``threads + 1``
    submitted, and cancels the blocks not started when a block fails or the caller stops."""
    import threading
    import time

    from nevsim.simulate import _in_order

    lock = threading.Lock()
    state = {"running": 0, "most": 0, "started": []}

    def work(start: int) -> int:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
            state["started"].append(start)
        time.sleep(0.01)
        with lock:
            state["running"] -= 1
        if start == 50:
            raise ValueError("block 50 failed")
        return start * 2

    assert list(_in_order(work, list(range(10)), 2)) == [2 * i for i in range(10)]
    assert state["most"] <= 2
    assert list(_in_order(work, [3, 1, 2], 1)) == [6, 2, 4]  # one thread: called in turn
    state["started"].clear()
    with pytest.raises(ValueError, match="block 50"):
        list(_in_order(work, [10, 50, *range(60, 100)], 2))
    assert len(state["started"]) <= 2 + 3  # the failing block's window, not the 40 after it
    state["started"].clear()
    gen = _in_order(work, list(range(200, 240)), 2)
    assert next(gen) == 400
    gen.close()  # the caller stops: nothing more starts
    started = len(state["started"])
    time.sleep(0.05)
    assert len(state["started"]) == started <= 4


@pytest.mark.parametrize("draws", [1, 24])
def test_without_makers_table_the_series_are_the_same(mc_run, draws: int) -> None:
    """``makers=False`` records no per-maker arrays; the simulation (and so every series) is unchanged."""
    seed = 11 if draws > 1 else None  # (a seed with one draw is refused: it would change nothing)
    series, makers, _ = run_frames("china-current-policies", draws=draws, seed=seed, makers=False)
    full_series, full_makers = mc_run[:2] if draws > 1 else run_frames("china-current-policies")[:2]
    assert len(full_makers) > 0 and len(makers) == 0
    assert list(makers.columns) == list(full_makers.columns)
    assert series.drop(columns="value").equals(full_series.drop(columns="value"))
    np.testing.assert_array_equal(series["value"].to_numpy(), full_series["value"].to_numpy())


def test_seed_reproducible_and_seeds_differ(mc_run) -> None:
    again = run_frames("china-current-policies", draws=24, seed=11)[0]
    np.testing.assert_array_equal(again["value"].to_numpy(), mc_run[0]["value"].to_numpy())
    other = run_frames("china-current-policies", draws=24, seed=12)[0]
    assert not np.allclose(other["value"].to_numpy(), mc_run[0]["value"].to_numpy(), equal_nan=True)


def test_shares_sum_to_one_in_every_draw(mc_run) -> None:
    series = mc_run[0]
    parts = series[series["variable"].isin(["Sales Share|Cars|BEV", "Sales Share|Cars|PHEV", "Sales Share|Cars|HEV"])]
    ice = series[series["variable"] == "Sales|Cars|ICE"].set_index(["year", "draw"])["value"]
    total = series[series["variable"] == "Sales|Cars|Total"].set_index(["year", "draw"])["value"]
    summed = parts.groupby(["year", "draw"], observed=True)["value"].sum() + 100.0 * ice / total
    np.testing.assert_allclose(summed.to_numpy(), 100.0, rtol=1e-9)
    assert series["draw"].nunique() == 24


def test_draws_sample_what_the_scenario_declares(mc_run) -> None:
    meta = mc_run[2]
    assert "technology.battery_learning_rate" in meta["sampled"] and "coefficients.beta_price" in meta["sampled"]
    assert len(meta["calibration"]["kappa"]) == 24  # fitted per draw
    ev = mc_run[0][mc_run[0]["variable"] == "Sales Share|Cars|EV"]
    by_year = ev.groupby("year")["value"].agg(["min", "max"])
    assert (by_year.loc[2015:2024, "max"] - by_year.loc[2015:2024, "min"] < 1e-6).all()  # history matched
    assert by_year.loc[2035, "max"] - by_year.loc[2035, "min"] > 0.5


def test_results_quantiles_ordered(mc_run) -> None:
    from nevsim.uncertainty import quantiles

    series = mc_run[0]
    q = quantiles(series[series["variable"].isin(["Sales Share|Cars|EV", "Price|Credit|NEV"])]
                  .astype({"variable": str, "unit": str, "scenario": str, "region": str}))
    table = q.pivot_table(index=["variable", "year"], columns="quantile", values="value")
    assert (np.diff(table.to_numpy(), axis=1) >= -1e-9).all()


@pytest.mark.parametrize("draws", [0, -1, 100_001, 2.5, True])
def test_bad_draws_are_rejected(draws: object) -> None:
    with pytest.raises(InputError) as err:
        run_frames("china-current-policies", draws=draws)  # type: ignore[arg-type]
    assert err.value.field == "draws" and err.value.allowed == ["1 to 100000"]


def test_draws_need_something_to_sample() -> None:
    scenario = load_scenario("china-current-policies", {
        "uncertainty.coefficients": False, "technology.battery_learning_rate": 0.18,
        "policy.dual_credit.pass_through": 0.7, "technology.cny_per_usd": 7.1, "fleet.vkt_km_per_year": 12000.0,
        "energy.gasoline_price_cny_per_l": {"2010": 7.0, "2024": 7.8}, "energy.electricity_price_cny_per_kwh": {"2010": 0.8},
    })
    assert scenario.distributions() == {} and scenario.correlations() == []
    with pytest.raises(InputError) as err:
        run_frames(scenario, draws=3)
    assert err.value.field == "draws"


# ---------------------------------------------------------------------------- distributions in scenario files


def _write(tmp_path: Path, text: str) -> str:
    file = tmp_path / "s.toml"
    file.write_text('base = "china-current-policies"\n' + text, encoding="utf-8")
    return str(file)


def test_distribution_in_place_keeps_its_nominal_value(tmp_path) -> None:
    s = load_scenario(_write(tmp_path, '[fleet]\nmean_life_years = {dist = "triangular", low = 12, mode = 15, high = 18}\n'
                                       '[coefficients]\nbeta_plate = {dist = "uniform", low = 3, high = 7}\n'))
    assert s.fleet.mean_life_years == 15.0 and s.coefficients["beta_plate"] == 5.0
    dists = s.distributions()
    assert dists["fleet.mean_life_years"].mode == 15 and dists["coefficients.beta_plate"].high == 7
    assert "technology.battery_learning_rate" in dists  # inherited from the base


def test_override_with_a_number_removes_the_distribution() -> None:
    s = load_scenario("china-current-policies", {"technology.battery_learning_rate": 0.2})
    assert s.technology.battery_learning_rate == 0.2
    assert "technology.battery_learning_rate" not in s.distributions()


def test_top_level_draws_still_accepted() -> None:
    s = load_scenario("china-current-policies", {"draws": 7, "seed": 3})
    assert s.draws == 7 and s.seed == 3 and s.uncertainty.draws == 7
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"draws": 7, "uncertainty": {"draws": 8}})
    assert err.value.field == "draws"


@pytest.mark.parametrize(("text", "field"), [
    ('[technology]\nbattery_learning_rate = {dist = "gamma", mean = 0.2}\n', "technology.battery_learning_rate.dist"),
    ('[technology]\nbattery_learning_rate = {dist = "normal", mean = 0.2}\n', "technology.battery_learning_rate.sd"),
    ('[technology]\nbattery_learning_rate = {dist = "normal", mean = 0.2, sd = 0.1, lo = 0}\n',
     "technology.battery_learning_rate.lo"),
    ('[technology]\nbattery_learning_rate = {dist = "normal", mean = 0.2, sd = 0.1}\n', "technology.battery_learning_rate"),
    ('[technology]\nbattery_learning_rate = {dist = "uniform", low = 0.6, high = 0.7}\n',
     "technology.battery_learning_rate"),
    ('[technology]\nice_fuel_improvement_pct_per_yr = {dist = "uniform", low = 1, high = 2}\n',
     "technology.ice_fuel_improvement_pct_per_yr"),
    ('[years]\nlast = {dist = "uniform", low = 2040, high = 2050}\n', "years.last"),
    ('[energy]\ngrid_intensity_g_per_kwh = {2010 = {dist = "uniform", low = 600, high = 3000}}\n',
     "energy.grid_intensity_g_per_kwh.2010"),
    ('[coefficients]\nbeta_nope = {dist = "uniform", low = 1, high = 2}\n', "coefficients.beta_nope"),
    ('[[uncertainty.correlations]]\nnames = ["technology.nope", "fleet.vkt_km_per_year"]\nmatrix = [[1, 0.2], [0.2, 1]]\n',
     "uncertainty.correlations[0].names"),
    ('[[uncertainty.correlations]]\nnames = ["technology.cny_per_usd", "fleet.vkt_km_per_year"]\n'
     'matrix = [[1, 2], [2, 1]]\n', "uncertainty.correlations[0]"),
    ('[uncertainty]\ndraws = 0\n', "uncertainty.draws"),
])
def test_bad_distribution_tables_name_the_field(tmp_path, text: str, field: str) -> None:
    with pytest.raises(InputError) as err:
        load_scenario(_write(tmp_path, text))
    assert err.value.field == field


@settings(max_examples=8, deadline=None)
@given(lr=st.lists(st.floats(0.05, 0.4), min_size=2, max_size=4),
       pt=st.floats(0.0, 1.0), beta=st.floats(-0.4, -0.05))
def test_any_draw_values_give_valid_shares(lr: list[float], pt: float, beta: float) -> None:
    """Property: for any parameter values in range, shares lie in [0, 100], add up, match history."""
    n = len(lr)
    series, _, _ = run_values("china-current-policies", {
        "technology.battery_learning_rate": lr, "policy.dual_credit.pass_through": [pt] * n,
        "coefficients.beta_price": [beta] * n})
    wide = series.pivot_table(index=["year", "draw"], columns="variable", values="value", observed=True)
    shares = wide[["Sales Share|Cars|BEV", "Sales Share|Cars|PHEV", "Sales Share|Cars|HEV"]]
    assert ((shares >= -1e-9) & (shares <= 100 + 1e-9)).all().all()
    total = shares.sum(axis=1) + 100 * wide["Sales|Cars|ICE"] / wide["Sales|Cars|Total"]
    np.testing.assert_allclose(total, 100.0, rtol=1e-9)
    ev = wide["Sales Share|Cars|EV"].unstack("draw")
    assert (ev.loc[2015:2024].max(axis=1) - ev.loc[2015:2024].min(axis=1) < 1e-6).all()


# ---------------------------------------------------------------------------- sweeps through run_values


def test_sweep_without_per_draw_makers(tmp_path) -> None:
    from nevsim.sweep import run_sweep, validate_sweep

    spec = {"name": "no-makers", "scenarios": ["china-current-policies"], "overrides": {"years.last": 2032},
            "grid": {"policy.dual_credit.pass_through": [0.5]},
            "distributions": {"technology.cny_per_usd": {"dist": "uniform", "low": 6.5, "high": 7.5}},
            "draws": 4, "chunk_draws": 2, "seed": 2}
    with_makers = validate_sweep(spec)
    without = validate_sweep({**spec, "makers": False})
    assert with_makers.sweep_id == validate_sweep({**spec, "makers": True}).sweep_id  # ids as before the option
    assert without.sweep_id != with_makers.sweep_id
    store = tmp_path / "s.duckdb"
    run_sweep(with_makers, store=store, workers=0)
    run_sweep(without, store=store, workers=0)
    from nevsim.store import Store

    st = Store(store)
    full = st.load(f"sweep-{with_makers.sweep_id}-0")
    lean = st.load(f"sweep-{without.sweep_id}-0")
    assert len(lean.makers) == 0 and len(full.makers) > 0
    a = full.series.sort_values(["variable", "year", "draw"]).reset_index(drop=True)
    b = lean.series.sort_values(["variable", "year", "draw"]).reset_index(drop=True)
    np.testing.assert_allclose(a["value"], b["value"], rtol=1e-12)
    assert sorted(a["draw"].unique()) == [0, 1, 2, 3]


def test_monte_carlo_settings_do_not_make_a_counterfactual(tmp_path) -> None:
    from nevsim.simulate import _reference

    s = load_scenario(_write(tmp_path, '[uncertainty]\ndraws = 50\nseed = 4\n'
                                       '[fleet]\nweibull_shape = {dist = "uniform", low = 3.5, high = 4.5}\n'))
    assert _reference(s) is s  # fitted on itself: the same world, only the draws differ


def test_the_accumulator_leaves_a_variable_a_block_did_not_record_missing() -> None:
    """Blocks are written into arrays not filled first: what a block did not record must read NaN."""
    from nevsim.simulate import _TableAccumulator, _Tables

    def part(names: list[str], makers: list[str], value: float) -> _Tables:
        # series [var, year, draw]: 2 years × 2 draws; maker records [year, draw, maker] a variable: 3 makers
        return _Tables(names, ["u"] * len(names), np.full((len(names), 2, 2), value), makers, ["m"] * len(makers),
                       None, [np.full((2, 2, 3), value) for _ in makers])

    acc = _TableAccumulator(6)
    acc.add(part(["a", "b"], ["x", "y"], 1.0), 0)
    acc.add(part(["a"], ["y"], 2.0), 2)  # no "b", no maker "x"
    acc.add(part(["a", "b", "c"], [], 3.0), 4)  # "c" first seen; no maker records at all
    t = acc.tables
    assert t is not None and t.names == ["a", "b", "c"] and t.maker_names == ["x", "y"]
    np.testing.assert_array_equal(t.values[0, 0], [1, 1, 2, 2, 3, 3])
    np.testing.assert_array_equal(t.values[1, 0], [1, 1, np.nan, np.nan, 3, 3])
    np.testing.assert_array_equal(t.values[2, 0], [np.nan, np.nan, np.nan, np.nan, 3, 3])
    assert t.maker_values is not None and t.maker_values.shape == (2, 3, 2, 6)  # [var, maker, year, draw]
    np.testing.assert_array_equal(t.maker_values[0, 0, 0], [1, 1, np.nan, np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(t.maker_values[1, 0, 0], [1, 1, 2, 2, np.nan, np.nan])


@pytest.mark.parametrize("n", [0, 1, 2, 5])
@pytest.mark.parametrize("each", [0, 1, 3])
def test_repeat_and_tile_by_assignment_equal_numpy(n: int, each: int) -> None:
    from nevsim._memory import repeat_each as _repeat
    from nevsim._memory import tile as _tile
    from nevsim.simulate import _columns

    for dtype in (np.int8, np.int16, np.int32, np.int64, np.float64):
        x = (np.arange(n) * 3 - 2).astype(dtype)
        for got, want in ((_repeat(x, each), np.repeat(x, each)), (_tile(x, each), np.tile(x, each))):
            assert got.dtype == want.dtype and np.array_equal(got, want)
    build = {"a": lambda: _repeat(np.arange(n, dtype=np.int64), each), "b": lambda: _tile(np.arange(n), each)}
    threaded, serial = _columns(build, True), _columns(build, False)
    assert list(threaded) == ["a", "b"] and all(np.array_equal(threaded[k], serial[k]) for k in build)


@pytest.mark.parametrize("draws", [None, 1])
def test_a_seed_with_one_draw_is_refused(draws: int | None) -> None:
    """run(seed=S) with one draw ran the deterministic run and the seed did nothing (Scenario.check_seed)."""
    with pytest.raises(InputError) as err:
        run_frames("china-current-policies", draws=draws, seed=3)
    assert err.value.field == "seed" and "more than one draw" in err.value.message
