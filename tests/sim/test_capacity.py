"""Production capacity per maker: the paths, the capped split, the cutoff and what binds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import nevsim.assumptions
from nevsim import assumptions
from nevsim.errors import InputError
from nevsim.makers import _maker_shares, _split_capped, cap_exports, capacity_paths, split_among_makers
from nevsim.scenario import load_scenario
from nevsim.simulate import _load_history, _maker_sales, run_frames

YEARS = np.arange(2010, 2061)

# ------------------------------------------------------------------------ the split


@st.composite
def _split_case(draw):
    makers = draw(st.integers(2, 14))
    residual = draw(st.integers(0, makers - 1))
    sales = draw(arrays(float, (2, 3, 4), elements=st.floats(0.0, 1e6)))
    weights = draw(arrays(float, (2, makers, 3, 4), elements=st.floats(0.0, 1.0)))
    bounded = draw(arrays(bool, (2, makers)))
    capacity = np.where(bounded, draw(arrays(float, (2, makers), elements=st.floats(0.0, 2e6))), np.inf)
    exports = draw(arrays(float, (2, makers), elements=st.floats(0.0, 5e5)))
    return sales, weights, capacity, exports, residual


@settings(max_examples=150, deadline=None)
@given(case=_split_case())
def test_split_never_exceeds_capacity_and_conserves_sales(case) -> None:
    """Exports first (cap_exports), then the capped split: no bounded maker above its capacity,
    every segment × powertrain total and total exports conserved, nothing negative."""
    sales, weights, capacity, exports, residual = case
    exports_m = cap_exports(exports, capacity, residual)
    np.testing.assert_allclose(exports_m.sum(-1), exports.sum(-1), rtol=1e-9, atol=1e-6)
    assert np.all(exports_m >= 0)
    by_maker = split_among_makers(sales, weights, capacity, exports_m, residual)
    assert np.all(by_maker >= 0)
    np.testing.assert_allclose(by_maker.sum(1), sales, rtol=1e-9, atol=1e-6)
    produced = by_maker.sum((-1, -2)) + exports_m
    bounded = np.isfinite(capacity)
    bounded[:, residual] = False  # the residual group is never bounded
    assert np.all(np.where(bounded, produced <= capacity * (1 + 1e-9) + 1e-6, True))


def _split_by_rounds(sales: np.ndarray, w: np.ndarray, share: np.ndarray, capacity: np.ndarray,
                     exports: np.ndarray, residual: int, rounds: int | None = None) -> np.ndarray:
    """The capped split done the direct way, on the whole ``[draw, maker, segment, powertrain]``
    array each round: cap the makers over their room, hand what they give up to the open makers
    in proportion to their weights (the definition ``_split_capped`` computes on levels)."""
    by_maker = share * sales[:, None]
    room = np.maximum(capacity - exports, 0.0)
    finite = np.isfinite(room)
    finite[:, residual] = False
    capped = np.zeros(room.shape, dtype=bool)
    for _ in range(int(finite.sum(-1).max()) + 1 if rounds is None else rounds):
        total = by_maker.sum((-1, -2))
        over = (total > room * (1 + 1e-12)) & finite & ~capped
        if not over.any():
            break
        capped |= over
        factor = np.where(over, room / np.where(over, total, 1.0), 1.0)
        displaced = (by_maker * (1.0 - factor)[..., None, None]).sum(1)
        open_w = (~capped)[..., None, None] * w
        by_maker = by_maker * factor[..., None, None] + open_w * (displaced / open_w.sum(1))[:, None]
    return by_maker


@settings(max_examples=150, deadline=None)
@given(case=_split_case(), same_weights=st.booleans(), rounds=st.sampled_from([None, 1, 2]))
def test_split_on_levels_equals_the_split_on_the_full_array(case, same_weights: bool, rounds: int | None) -> None:
    """``_split_capped`` (rounds on per-segment levels) gives the direct split, also with a fixed
    number of rounds, with weights shared by all draws (draw axis 1) or per draw."""
    sales, weights, capacity, exports, residual = case
    if same_weights:
        weights = weights[:1]
    w, share = _maker_shares(weights, residual)
    exports_m = cap_exports(exports, capacity, residual)
    expected = _split_by_rounds(sales, w, share, capacity, exports_m, residual, rounds)
    got = _split_capped(sales, w, share, capacity, exports_m, residual, rounds)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6)


def _cascade(makers: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal weights, capacities set so that each round pushes exactly one more maker over:
    capping maker k spills just enough onto maker k + 1 to put it over its capacity."""
    residual = makers - 1
    sales = np.full((1, 1, 1), float(makers))
    weights = np.ones((1, makers, 1, 1))
    capacity = np.full((1, makers), np.inf)
    left, open_, alloc = float(makers), makers, 1.0
    capacity[0, 0] = 0.5
    for k in range(1, residual):
        left -= capacity[0, k - 1]
        open_ -= 1
        spilled = left / open_  # maker k's volume once maker k − 1 is capped
        capacity[0, k] = 0.5 * (alloc + spilled)
        alloc = spilled
    return sales, weights, capacity


def test_a_cascade_longer_than_six_rounds_is_resolved() -> None:
    makers = 13
    sales, weights, capacity = _cascade(makers)
    w, share = _maker_shares(weights, makers - 1)
    exports = np.zeros((1, makers))
    six = _split_capped(sales, w, share, capacity, exports, makers - 1, rounds=6).sum((-1, -2))
    assert (six[0, :-1] > capacity[0, :-1] * (1 + 1e-9)).any()  # the old fixed six rounds fall short
    out = _split_capped(sales, w, share, capacity, exports, makers - 1).sum((-1, -2))
    np.testing.assert_allclose(out[0, :-1], capacity[0, :-1], rtol=1e-9)  # every bounded maker at its cap
    assert out.sum() == pytest.approx(float(makers))


# ------------------------------------------------------------------------ the paths


def test_capacity_paths_interpolate_hold_and_start_unbounded() -> None:
    years = np.arange(2018, 2031)
    cap = capacity_paths({"B": {2020: 100.0, 2024: 500.0}}, ("A", "B"), years)
    assert np.isinf(cap[:, 0]).all()  # no figures: unbounded
    assert np.isinf(cap[years < 2020, 1]).all()  # before the first figure: unbounded
    np.testing.assert_allclose(cap[years == 2022, 1], 300.0)  # linear in between
    np.testing.assert_allclose(cap[years >= 2024, 1], 500.0)  # held after the last figure


def test_capacity_growth_after_the_last_figure() -> None:
    years = np.arange(2024, 2028)
    cap = capacity_paths({"B": {2024: 100.0}}, ("B",), years, growth_pct_per_yr=10.0)
    np.testing.assert_allclose(cap[:, 0], [100.0, 110.0, 121.0, 133.1])


@pytest.mark.parametrize(("points", "field"), [
    ({"Nobody": {2020: 1.0}}, "maker_history.maker"),
    ({"B": {2020: 0.0}}, "maker_history.value"),
    ({"B": {2020: float("nan")}}, "maker_history.value"),
])
def test_bad_capacity_rows_name_the_field(points, field) -> None:
    with pytest.raises(InputError) as info:
        capacity_paths(points, ("A", "B"), YEARS)
    assert info.value.field == field and info.value.allowed


def test_capacity_rows_are_well_formed() -> None:
    mh = assumptions.maker_history()
    cap = mh[mh["variable"] == "capacity"]
    names = set(assumptions.makers()["maker"])
    assert set(cap["maker"]) <= names - {"Other"}  # the residual group is never bounded
    assert len(set(cap["maker"])) == len(names) - 1  # every other group has a figure
    assert (cap["unit"] == "vehicles per year").all() and (cap["value"] > 0).all()
    assert cap["status"].isin(["V", "S", "U"]).all() and cap["source"].str.len().gt(20).all()
    assert not cap.duplicated(["maker", "year"]).any()


def test_no_capacity_below_an_observed_production() -> None:
    """A figure below a maker's reported sales in the same year would be wrong (or NEV-only)."""
    hist = _load_history(2010, 2060, None)
    cap = capacity_paths(hist.capacity, tuple(assumptions.makers()["maker"]), YEARS)
    names = list(assumptions.makers()["maker"])
    checked = 0
    for maker, by_year in _maker_sales(None).items():
        for year, sold in by_year.items():
            bound = cap[year - YEARS[0], names.index(maker)]
            assert sold <= bound, (maker, year, sold, bound)
            checked += np.isfinite(bound)
    assert checked >= 15


# ------------------------------------------------------------------------ the cutoff


@pytest.mark.parametrize("until", [2019, 2021, 2023])
def test_history_keeps_no_capacity_row_after_the_cutoff(until: int) -> None:
    hist = _load_history(2010, 2060, until)
    assert hist.capacity and all(y <= until for d in hist.capacity.values() for y in d)
    mh = assumptions.maker_history()
    kept = mh[(mh["variable"] == "capacity") & (mh["year"] <= until)]
    assert sum(len(d) for d in hist.capacity.values()) == len(kept)


def _clear_caches() -> None:
    import nevsim.simulate

    for obj in vars(nevsim.simulate).values():
        if callable(getattr(obj, "cache_clear", None)):
            obj.cache_clear()


def _capacity_times(factor: float, after: int):
    real = nevsim.assumptions.maker_history

    def table() -> pd.DataFrame:
        frame = real()
        late = (frame["variable"] == "capacity") & (frame["year"] > after)
        return frame.assign(value=frame["value"].where(~late, frame["value"] * factor))

    return table


def test_capacity_rows_after_the_cutoff_do_not_reach_a_backtest_run(monkeypatch: pytest.MonkeyPatch) -> None:
    cutoff = 2021
    _clear_caches()
    clean = run_frames("china-current-policies", until=cutoff)[1]
    monkeypatch.setattr(nevsim.assumptions, "maker_history", _capacity_times(0.3, cutoff))
    _clear_caches()
    dirty = run_frames("china-current-policies", until=cutoff)[1]
    # control: the same change from the cutoff year on does reach the makers
    monkeypatch.setattr(nevsim.assumptions, "maker_history", _capacity_times(0.3, cutoff - 1))
    _clear_caches()
    control = run_frames("china-current-policies", until=cutoff)[1]
    monkeypatch.undo()
    _clear_caches()
    pd.testing.assert_frame_equal(clean, dirty)
    assert not np.allclose(clean["value"].fillna(-1), control["value"].fillna(-1))


# ------------------------------------------------------------------------ the default run


@pytest.fixture(scope="module")
def default_run():
    return run_frames("china-current-policies")


def _use(makers: pd.DataFrame) -> pd.DataFrame:
    return makers[makers["variable"] == "Capacity Use"].pivot_table(index="year", columns="maker", values="value",
                                                                      dropna=False)


def test_capacity_use_finite_where_a_capacity_exists_and_never_above_100(default_run) -> None:
    use = _use(default_run[1])
    hist = _load_history(2010, 2060, None)
    for maker, by_year in hist.capacity.items():
        after = use.index >= min(by_year)
        assert np.isfinite(use.loc[after, maker]).all(), maker
        assert use.loc[~after, maker].isna().all(), maker
    assert use["Other"].isna().all()
    assert np.nanmax(use.to_numpy()) <= 100.0 + 1e-6


def test_binding_capacity_moves_sales_not_the_buyers_choice(default_run) -> None:
    """Held at its 2024 figure, BYD is at capacity in the outlook; with capacity growing
    fast it sells more, and the market totals (the buyers' choice) do not move."""
    series, makers, _ = default_run
    use = _use(makers)
    assert use.loc[2030, "BYD"] == pytest.approx(100.0)
    grown = run_frames(load_scenario("china-current-policies", {"makers.capacity_growth_pct_per_yr": 30.0}))
    g_use = _use(grown[1])
    assert g_use.loc[2030, "BYD"] < 100.0

    def byd_sales(frame: pd.DataFrame) -> float:
        sel = frame[(frame["maker"] == "BYD") & frame["variable"].str.startswith("Sales|Cars|") & (frame["year"] == 2030)]
        return float(sel["value"].sum())

    assert byd_sales(grown[1]) > 1.2 * byd_sales(makers)
    key = ["variable", "year"]
    a = series[series["variable"].str.startswith("Sales|Cars|")].set_index(key)["value"]
    b = grown[0][grown[0]["variable"].str.startswith("Sales|Cars|")].set_index(key)["value"]
    pd.testing.assert_series_equal(a, b.loc[a.index], rtol=1e-9)


def test_history_years_stay_within_a_point(default_run) -> None:
    series = default_run[0]
    hist = _load_history(2010, 2060, None)
    share = series[series["variable"] == "Sales Share|Cars|EV"].set_index("year")["value"]
    observed = pd.Series(hist.ev_share * 100, index=hist.years).dropna()
    observed = observed[observed.index <= 2025]
    assert (share.loc[observed.index] - observed).abs().max() <= 1.0


# ------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("value", "message"), [(80, "-20.0 to 50.0"), ("fast", "capacity_growth_pct_per_yr")])
def test_bad_capacity_growth_in_a_scenario_file_exits_2(tmp_path, value, message) -> None:
    from typer.testing import CliRunner

    from nevsim.cli import app

    path = tmp_path / "grow.toml"
    rhs = f'"{value}"' if isinstance(value, str) else str(value)
    path.write_text(f'name = "grow"\nbase = "china-current-policies"\n\n[makers]\ncapacity_growth_pct_per_yr = {rhs}\n')
    result = CliRunner().invoke(app, ["outlook", str(path), "--no-store"], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "makers.capacity_growth_pct_per_yr" in result.output and message in result.output


def test_a_valid_growth_in_a_scenario_file_runs(tmp_path) -> None:
    path = tmp_path / "grow.toml"
    path.write_text('name = "grow"\nbase = "china-current-policies"\n\n[makers]\ncapacity_growth_pct_per_yr = 5\n')
    s = load_scenario(path)
    assert s.makers.capacity_growth_pct_per_yr == 5.0 and s.hash != load_scenario("china-current-policies").hash
