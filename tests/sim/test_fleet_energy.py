"""Real-world energy use and well-to-wheel CO2 of the fleet (``nevsim.fleet``, design §3.4).

The vehicle table's fuel and electricity use are test-cycle values; the fleet's energy, oil and
CO2 outputs apply each region's real-world gaps and the well-to-tank shares of
``assumptions/energy_factors.csv``, while the standards keep the test-cycle values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim import assumptions
from nevsim.fleet import EnergyFactors, energy_and_emissions
from nevsim.simulate import run_frames

KG_PER_L = 2.31
L_PER_BBL = 158.987
NAMES = ("fuel_real_world_gap", "electricity_real_world_gap", "gasoline_wtt_share", "grid_upstream_share")
#: the fleet outputs the factors change; every other series must not move
ENERGY_VARS = {"Oil Displacement", "Electricity|Cars", "Emissions|CO2|Cars", "Emissions|CO2|Cars|Tailpipe",
               "Emissions|CO2|Cars|Fuel Supply", "Emissions|CO2|Cars|Electricity", "Fuel|Cars|Gasoline"}


def _fleet(draws: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Survival-weighted intensities ``[draw, powertrain]`` as ``FleetState.step`` returns them."""
    stock = rng.uniform(1e6, 5e7, (draws, 4))
    fuel = stock * np.array([7.0, 5.0, 2.5, 0.0])
    return {"fuel_weighted": fuel, "elec_weighted": stock * np.array([0.0, 0.0, 8.0, 15.0]),
            "ice_equiv_weighted": stock * 7.0}


def _old_formula(f: dict[str, np.ndarray], vkt: np.ndarray, losses: float, grid: np.ndarray) -> dict[str, np.ndarray]:
    """The test-cycle, tailpipe + grid accounting (as before the real-world factors), written out."""
    k = vkt[:, None] / 100.0
    fuel_l = (f["fuel_weighted"] * k).sum(-1)
    elec = (f["elec_weighted"] * k).sum(-1) * (1.0 + losses)
    disp = (f["ice_equiv_weighted"][:, 2:] * k).sum(-1) - (f["fuel_weighted"][:, 2:] * k).sum(-1)
    return {"fuel_l": fuel_l, "electricity_twh": elec / 1e9, "oil_displaced_kbd": disp / L_PER_BBL / 365e3,
            "co2_mt": (fuel_l * KG_PER_L / 1e3 + elec * grid / 1e6) / 1e6}


def test_test_cycle_factors_give_the_old_accounting() -> None:
    rng = np.random.default_rng(3)
    f, vkt, grid = _fleet(5, rng), rng.uniform(8e3, 15e3, 5), rng.uniform(100, 800, 5)
    out = energy_and_emissions(f, vkt, 0.1, grid, KG_PER_L, L_PER_BBL, EnergyFactors.TEST_CYCLE)
    for key, want in _old_formula(f, vkt, 0.1, grid).items():
        np.testing.assert_allclose(out[key], want, rtol=1e-12)
    np.testing.assert_allclose(out["co2_mt"], out["co2_tailpipe_mt"] + out["co2_electricity_mt"], rtol=1e-12)
    assert np.all(out["co2_fuel_supply_mt"] == 0.0)


@settings(max_examples=40, deadline=None)
@given(gf=st.floats(0.0, 1.0), ge=st.floats(0.0, 1.0), wtt=st.floats(0.0, 0.7), up=st.floats(0.0, 0.5),
       seed=st.integers(0, 2**16))
def test_real_world_and_well_to_wheel(gf: float, ge: float, wtt: float, up: float, seed: int) -> None:
    """Fuel, oil displaced and tailpipe CO2 scale by 1 + g_f, electricity by 1 + g_e; WTW = TTW × (1 + s_wtt)
    for gasoline plus the grid part × (1 + s_up); the three CO2 parts sum to the total (vectorised over draws)."""
    rng = np.random.default_rng(seed)
    f, vkt, grid = _fleet(4, rng), rng.uniform(8e3, 15e3, 4), rng.uniform(0, 800, 4)
    base = energy_and_emissions(f, vkt, 0.1, grid, KG_PER_L, L_PER_BBL, EnergyFactors.TEST_CYCLE)
    out = energy_and_emissions(f, vkt, 0.1, grid, KG_PER_L, L_PER_BBL, EnergyFactors(gf, ge, wtt, up))
    np.testing.assert_allclose(out["fuel_l"], base["fuel_l"] * (1 + gf), rtol=1e-12)
    np.testing.assert_allclose(out["fuel_kbd"], out["fuel_l"] / L_PER_BBL / 365e3, rtol=1e-12)
    np.testing.assert_allclose(out["oil_displaced_kbd"], base["oil_displaced_kbd"] * (1 + gf), rtol=1e-12)
    np.testing.assert_allclose(out["electricity_twh"], base["electricity_twh"] * (1 + ge), rtol=1e-12)
    np.testing.assert_allclose(out["co2_tailpipe_mt"], out["fuel_l"] * KG_PER_L / 1e9, rtol=1e-12)
    np.testing.assert_allclose(out["co2_tailpipe_mt"] + out["co2_fuel_supply_mt"],
                               out["co2_tailpipe_mt"] * (1 + wtt), rtol=1e-12)
    np.testing.assert_allclose(out["co2_electricity_mt"], out["electricity_twh"] * 1e9 * grid * (1 + up) / 1e12,
                               rtol=1e-12)
    np.testing.assert_allclose(out["co2_mt"], out["co2_tailpipe_mt"] + out["co2_fuel_supply_mt"]
                               + out["co2_electricity_mt"], rtol=1e-12)


def test_gasoline_car_wtw_is_ttw_times_one_plus_wtt_share() -> None:
    """A fleet of conventional gasoline cars only (no electricity): WTW CO2 = TTW × (1 + WTT share) with
    China's factors, and TTW itself is the real-world fuel × 2.31 kg/L."""
    f = {"fuel_weighted": np.array([[7.0e7, 0, 0, 0]]), "elec_weighted": np.zeros((1, 4)),
         "ice_equiv_weighted": np.array([[7.0e7, 0, 0, 0]])}
    cn = EnergyFactors.for_region("CN")
    out = energy_and_emissions(f, np.array([12000.0]), 0.1, np.array([550.0]), KG_PER_L, L_PER_BBL, cn)
    ttw = 7.0e7 * 120 * (1 + cn.fuel_real_world_gap) * KG_PER_L / 1e9  # Mt
    np.testing.assert_allclose(out["co2_tailpipe_mt"], ttw, rtol=1e-12)
    np.testing.assert_allclose(out["co2_mt"], ttw * (1 + cn.gasoline_wtt_share), rtol=1e-12)
    assert out["oil_displaced_kbd"] == 0.0


def test_factor_table_rows_are_sourced() -> None:
    """Every region (and the default) has the four factors, each with a status letter and a source."""
    table = assumptions.energy_factors()
    for region in ("CN", "US", "EU", "default"):
        rows = table[table["region"] == region].set_index("name")
        assert set(NAMES) <= set(rows.index), region
        assert rows["status"].isin(["V", "S", "U", "D"]).all()
        assert rows["source"].str.len().gt(30).all()
        assert ((rows["value"] >= 0.0) & (rows["value"] < 1.0)).all()
    assert EnergyFactors.for_region("NO") == EnergyFactors.for_region("default")
    assert EnergyFactors.for_region("CN").fuel_real_world_gap == pytest.approx(0.25)


def _series(scenario: str, monkeypatch: pytest.MonkeyPatch, factors: EnergyFactors | None) -> pd.Series:
    with monkeypatch.context() as m:
        if factors is not None:
            m.setattr(EnergyFactors, "for_region", classmethod(lambda cls, code, override=None: factors))
        s, _, _ = run_frames(scenario)
    return s.set_index(["variable", "year"])["value"]


@pytest.mark.parametrize("scenario,code", [("china-current-policies", "CN"), ("eu-current-policies", "EU")])
def test_standards_keep_the_test_cycle(scenario: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The run with the region's factors and the run with test-cycle factors differ only in the fleet's energy and
    CO2 outputs: sales, credits, credit prices and the new cars' test-cycle CO2 (EU compliance) are identical, and
    the energy outputs move by exactly the factors."""
    real, test = _series(scenario, monkeypatch, None), _series(scenario, monkeypatch, EnergyFactors.TEST_CYCLE)
    f = EnergyFactors.for_region(code)
    others = [v for v in real.index.get_level_values(0).unique() if v not in ENERGY_VARS]
    assert any(v.startswith("Credits|") or v.startswith("Price|Credit") for v in others)
    if code == "EU":
        assert "Emissions|CO2|New Cars" in others
    pd.testing.assert_series_equal(real.loc[others], test.loc[others])
    yrs = real.loc["Fuel|Cars|Gasoline"].index
    for var, factor in (("Fuel|Cars|Gasoline", 1 + f.fuel_real_world_gap),
                        ("Oil Displacement", 1 + f.fuel_real_world_gap),
                        ("Emissions|CO2|Cars|Tailpipe", 1 + f.fuel_real_world_gap),
                        ("Electricity|Cars", 1 + f.electricity_real_world_gap)):
        np.testing.assert_allclose(real.loc[var].loc[yrs], test.loc[var].loc[yrs] * factor, rtol=1e-9, err_msg=var)
    np.testing.assert_allclose(real.loc["Emissions|CO2|Cars|Fuel Supply"],
                               real.loc["Emissions|CO2|Cars|Tailpipe"] * f.gasoline_wtt_share, rtol=1e-9)
    parts = sum(real.loc[f"Emissions|CO2|Cars|{p}"] for p in ("Tailpipe", "Fuel Supply", "Electricity"))
    np.testing.assert_allclose(real.loc["Emissions|CO2|Cars"], parts, rtol=1e-9)
    assert (real.loc["Emissions|CO2|Cars"] > test.loc["Emissions|CO2|Cars"]).all()


def test_what_users_see_says_well_to_wheel_and_co2e() -> None:
    """The total and its upstream parts carry CO2-equivalent factors (TLCAM, FuelsEurope), the tailpipe is
    CO2: units say so, and every label of the total says well-to-wheel (they said "CO2, cars", "CO2 Mt")."""
    from nevsim.cli.outlook import CHINA_COLUMNS
    from nevsim.report import HEADLINE
    from nevsim.simulate import _SERIES_UNITS
    from nevsim.web.pages import COMPARED

    assert _SERIES_UNITS["Emissions|CO2|Cars"] == "Mt CO2e/yr"
    assert _SERIES_UNITS["Emissions|CO2|Cars|Fuel Supply"] == "Mt CO2e/yr"
    assert _SERIES_UNITS["Emissions|CO2|Cars|Electricity"] == "Mt CO2e/yr"
    assert _SERIES_UNITS["Emissions|CO2|Cars|Tailpipe"] == "Mt CO2/yr"
    labels = [row[0] for rows in (CHINA_COLUMNS, HEADLINE, COMPARED) for row in rows
              if row[1] == "Emissions|CO2|Cars"]
    assert len(labels) == 3
    assert all("WTW" in label or "well-to-wheel" in label for label in labels)


def test_a_regions_own_factors_replace_the_rows() -> None:
    """``EnergyFactors.for_region(code, override)``: each factor named in ``override`` replaces the row
    of the code (or ``default``); the others keep their rows."""
    eu = EnergyFactors.for_region("EU")
    own = EnergyFactors.for_region("EU", {"fuel_real_world_gap": 0.5, "km_per_car_in_stock": 9000.0})
    assert own.fuel_real_world_gap == 0.5
    assert (own.electricity_real_world_gap, own.gasoline_wtt_share, own.grid_upstream_share) == (
        eu.electricity_real_world_gap, eu.gasoline_wtt_share, eu.grid_upstream_share)
    every = dict(zip(NAMES, (0.1, 0.2, 0.3, 0.4), strict=True))
    assert EnergyFactors.for_region("NO", every) == EnergyFactors(0.1, 0.2, 0.3, 0.4)
    assert EnergyFactors.for_region("NO", {}) == EnergyFactors.for_region("default")
