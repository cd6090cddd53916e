"""End-to-end behaviour of the China simulation (real bundled data, real policy tables)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames


def _wide(series: pd.DataFrame) -> pd.DataFrame:
    return series.pivot_table(index="year", columns="variable", values="value")


@pytest.fixture(scope="module")
def base():
    return run_frames("china-current-policies")


@pytest.fixture(scope="module")
def base_wide(base) -> pd.DataFrame:
    return _wide(base[0])


def test_history_years_reproduce_observed_shares(base, base_wide) -> None:
    from nevsim import data

    iea = data.load("iea_gevo_2025", region="China")
    obs = iea[(iea["category"] == "Historical") & (iea["mode"] == "Cars") & (iea["parameter"] == "EV sales share")]
    obs = obs.set_index("year")["value"]
    modelled = base_wide["Sales Share|Cars|EV"]
    for year, value in obs.items():
        assert abs(modelled[year] - value) < 1.0, year
    assert abs(modelled[2025] - 53.0) < 1.0  # OWID 2025
    bev = iea[(iea["category"] == "Historical") & (iea["mode"] == "Cars") & (iea["parameter"] == "EV sales")]
    split = bev.pivot_table(index="year", columns="powertrain", values="value")
    frac = split["BEV"] / (split["BEV"] + split["PHEV"])
    model_frac = base_wide["Sales|Cars|BEV"] / (base_wide["Sales|Cars|BEV"] + base_wide["Sales|Cars|PHEV"])
    assert np.all(np.abs(model_frac[frac.index] - frac) < 0.01)
    meta = base[2]
    assert meta["history_last_year"] == 2025 and meta["calibration"]["max_abs_share_error_pp"] < 1.0
    assert meta["solver"]["credit_market"]["all_converged"]


def test_shares_sum_to_one_and_years_cover_2010_2060(base_wide) -> None:
    assert list(base_wide.index) == list(range(2010, 2061))
    total = base_wide[[f"Sales|Cars|{p}" for p in ("ICE", "HEV", "PHEV", "BEV")]].sum(axis=1)
    np.testing.assert_allclose(total, base_wide["Sales|Cars|Total"], rtol=1e-12)
    shares = base_wide[["Sales Share|Cars|BEV", "Sales Share|Cars|PHEV"]].sum(axis=1)
    np.testing.assert_allclose(shares, base_wide["Sales Share|Cars|EV"], rtol=1e-12)
    assert base_wide["Sales Share|Cars|EV"].between(0, 100).all()


def test_stock_identity(base_wide) -> None:
    stock = base_wide["Stock|Cars|Total"]
    lhs = stock.iloc[1:].to_numpy()
    rhs = (stock.shift(1) + base_wide["Sales|Cars|Total"] - base_wide["Scrappage|Cars"]).iloc[1:].to_numpy()
    np.testing.assert_allclose(lhs, rhs, rtol=1e-9)
    assert (base_wide["Stock|Cars|EV"] <= stock).all()


def test_effects_are_plausible(base_wide) -> None:
    w = base_wide
    assert (w["Oil Displacement"].diff().loc[2015:2030] > 0).all()  # more EVs, more oil displaced
    assert w.loc[2024, "Electricity|Cars"] > 10 and w.loc[2024, "Emissions|CO2|Cars"] > 100
    assert w.loc[2030, "Price|Battery Pack"] < w.loc[2024, "Price|Battery Pack"]
    assert w.loc[2024, "Chargers|Public"] == pytest.approx(3.5e6, rel=0.01)  # IEA fast + slow
    assert (w["Price|Credit|NEV"] >= 0).all()


def test_makers_add_up(base) -> None:
    series, makers, _ = base
    w = _wide(series)
    sales = makers[makers["variable"].str.startswith("Sales|Cars|")].groupby("year")["value"].sum()
    np.testing.assert_allclose(sales.to_numpy(), w["Sales|Cars|Total"].to_numpy(), rtol=1e-9)
    cap = makers[(makers["variable"] == "Capacity Use") & (makers["maker"] == "Tesla China")]
    assert (cap["value"].dropna() <= 100 + 1e-6).all()
    bought = makers[makers["variable"] == "Credits|NEV|Bought"].groupby("year")["value"].sum()
    sold = makers[makers["variable"] == "Credits|NEV|Sold"].groupby("year")["value"].sum()
    np.testing.assert_allclose(bought, sold, rtol=1e-9, atol=1e-6)


def test_removing_the_dual_credit_lowers_the_share(base_wide) -> None:
    other = _wide(run_frames("china-no-dual-credit")[0])
    assert (other["Price|Credit|NEV"] == 0).all()
    diff = other["Sales Share|Cars|EV"] - base_wide["Sales Share|Cars|EV"]
    assert (diff.loc[:2040] <= 1e-9).all()
    assert diff.loc[2020:2030].min() < -0.1
    # decades later the two converge; a vintage echo (fewer 2020s EVs to replace) may leave a trace
    assert diff.loc[2041:].abs().max() < 0.05


def test_extending_subsidies_raises_the_share(base_wide) -> None:
    other = _wide(run_frames("china-subsidies-extended")[0])
    diff = other["Sales Share|Cars|EV"] - base_wide["Sales Share|Cars|EV"]
    np.testing.assert_allclose(diff.loc[:2022], 0.0, atol=1e-9)
    assert (diff.loc[2023:2030] > 0.1).all()
    assert (other["Subsidy|Public Cost"].loc[2023:2030] > base_wide["Subsidy|Public Cost"].loc[2023:2030]).all()


def test_raising_the_nev_ratio_raises_the_price_until_the_cap() -> None:
    prices, shortfalls = [], []
    for ratio in (10.0, 14.0, 18.0, 25.0, 40.0, 120.0):
        s = load_scenario("china-current-policies", {
            "policy.dual_credit.nev_ratio_pct": {"2019": ratio},
            "policy.dual_credit.observed_prices_in_history": False,
            "calibration.against": "china-current-policies",
            "name": f"ratio-{ratio:g}",
        })
        series, _, meta = run_frames(s)
        w = _wide(series)
        prices.append(w.loc[2019, "Price|Credit|NEV"])
        shortfalls.append(w.loc[2019, "Credits|NEV|Shortfall"])
        assert meta["solver"]["credit_market"]["all_converged"]
    assert all(b >= a - 1e-6 for a, b in itertools.pairwise(prices)), prices
    assert prices[0] < 3000.0 and prices[-1] == pytest.approx(3000.0)  # the cap binds: non-compliance
    assert shortfalls[-1] > 0 and shortfalls[0] == 0


def test_backtest_cutoff(base_wide) -> None:
    series, _, meta = run_frames("china-current-policies", until=2021)
    w = _wide(series)
    assert meta["history_last_year"] == 2021 and meta["data_cutoff"] == 2021
    assert abs(w.loc[2021, "Sales Share|Cars|EV"] - 15.0) < 1.0
    assert w.index.max() == 2060
    # the projection from 2022 is the model's, not the data's
    assert w.loc[2022:2025, "Sales Share|Cars|EV"].ne(base_wide.loc[2022:2025, "Sales Share|Cars|EV"]).all()


def test_bad_cutoff_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        run_frames("china-current-policies", until=1999)
    assert info.value.field == "until"


@pytest.mark.parametrize(
    ("name", "sign", "variable"),
    [
        ("china-slow-charging", -1, "Sales Share|Cars|EV"),
        ("china-fast-battery-learning", +1, "Sales Share|Cars|EV"),
        ("china-high-exports", +1, "Production|Cars|EV"),
    ],
)
def test_scenario_mechanisms(base_wide, name: str, sign: int, variable: str) -> None:
    other = _wide(run_frames(name)[0])
    diff = (other[variable] - base_wide[variable]).loc[2030:2040]
    assert (sign * diff > 0).all(), diff
    np.testing.assert_allclose(other["Sales Share|Cars|EV"].loc[:2024], base_wide["Sales Share|Cars|EV"].loc[:2024])


def test_progress_is_reported_once_a_year() -> None:
    calls: list[tuple[int, int]] = []
    run_frames("china-current-policies", progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (1, 51) and calls[-1] == (51, 51) and len(calls) == 51


def test_meta_identifies_the_run(base) -> None:
    meta = base[2]
    scenario = load_scenario("china-current-policies")
    assert meta["scenario_hash"] == scenario.hash and meta["scenario"] == "china-current-policies"
    assert meta["first_year"] == 2010 and meta["last_year"] == 2060 and meta["draws"] == 1
    assert 0.0 <= meta["calibration"]["kappa"][0] <= 1.5


def test_override_of_the_default_is_a_counterfactual_not_a_refit(base_wide) -> None:
    """Changing a policy on the default scenario keeps the constants fitted on the factual history."""
    s = load_scenario("china-current-policies", {"policy.subsidies.purchase_tax_exemption": False})
    series, _, meta = run_frames(s)
    other = _wide(series)
    assert meta["timing_s"]["calibrate"] > 0  # fitted on the reference, then run
    assert (other["Sales Share|Cars|EV"].loc[2015:2027] < base_wide["Sales Share|Cars|EV"].loc[2015:2027]).all()


# --- the car trade-in scheme (2024–2026) ----------------------------------------------------

def test_trade_in_cost_and_price(base_wide) -> None:
    """The scheme pays in 2024–2026 only; switching it off removes its cost and raises the buyer's
    net price of a compact BEV in 2025 by exactly the expected subsidy at that car's price."""
    from nevsim.policy import china

    cost = base_wide["Trade-in|Public Cost"]
    assert (cost.loc[2024:2026] > 50).all() and (cost.loc[2024:2026] < 400).all()  # billion CNY
    assert (cost.drop(range(2024, 2027)) == 0).all()
    off = _wide(run_frames(load_scenario("china-current-policies", {"policy.subsidies.trade_in": False}))[0])
    assert (off["Trade-in|Public Cost"] == 0).all()
    np.testing.assert_allclose(off["Sales Share|Cars|EV"].loc[:2023], base_wide["Sales Share|Cars|EV"].loc[:2023])
    assert (base_wide["Sales Share|Cars|EV"].loc[2024:2026] > off["Sales Share|Cars|EV"].loc[2024:2026]).all()
    bev_2025 = off.loc[2025, "Price|Car|BEV compact"]
    paid = china.trade_in_subsidy_cny(2025, "BEV", bev_2025)
    assert base_wide.loc[2025, "Price|Car|BEV compact"] == pytest.approx(bev_2025 - paid, rel=1e-12)


def test_trade_in_extended() -> None:
    wide = _wide(run_frames(load_scenario("china-current-policies", {"policy.subsidies.trade_in_extend_to_year": 2030}))[0])
    cost = wide["Trade-in|Public Cost"]
    assert (cost.loc[2024:2030] > 0).all() and (cost.loc[2031:] == 0).all()


def test_trade_in_is_china_only() -> None:
    series = run_frames("us-current-policies")[0]
    assert "Trade-in|Public Cost" not in set(series["variable"])
    assert "Trade-in|Public Cost" in set(run_frames("china-current-policies")[0]["variable"])
