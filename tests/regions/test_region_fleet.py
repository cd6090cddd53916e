"""A region's own fleet km and energy factors (``[region]`` fleet settings, docs/regions.md "Fleet activity").

Before, a region of a scenario file got the CSV rows of its code, else the ``default`` rows (12,000 km,
the EU's gaps), whatever its file said: the settings did not exist (``region.<x>``: unknown key).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.fleet import EnergyFactors, km_per_car_in_stock
from nevsim.regionspec import FLEET_SETTINGS
from nevsim.scenario import load_scenario
from nevsim.simulate import run

ROOT = Path(__file__).resolve().parents[2]
NORWAY = ROOT / "docs" / "examples" / "norway.toml"
LAST = {"years": {"last": 2027}}
#: the fleet outputs the settings move; every other series must stay as it is
FLEET_VARS = ("Fuel|Cars|Gasoline", "Oil Displacement", "Electricity|Cars", "Emissions|CO2|Cars",
              "Emissions|CO2|Cars|Tailpipe", "Emissions|CO2|Cars|Fuel Supply", "Emissions|CO2|Cars|Electricity")


def _file(tmp_path: Path, region_lines: str) -> str:
    """A scenario file on the shipped US region with ``region_lines`` in its ``[region]`` table."""
    path = tmp_path / "us-own-fleet.toml"
    path.write_text(f'base = "us-current-policies"\nname = "us-own-fleet"\n[years]\nlast = 2027\n'
                    f'[calibration]\nagainst = "us-current-policies"\n[region]\n{region_lines}', encoding="utf-8")
    return str(path)


def _series(res) -> pd.DataFrame:
    return res.series.pivot_table(index="year", columns="variable", values="value", observed=True)


@pytest.fixture(scope="module")
def us_base():
    return run(load_scenario("us-current-policies", LAST))


def test_a_region_file_setting_its_km_and_factors_scales_fuel_and_co2_by_the_ratio(tmp_path: Path, us_base) -> None:
    """US rows: 18,000 km, fuel gap 0.19, gasoline WTT 0.18, grid upstream 0.087. A file doubling both km
    and setting the gaps and shares: fuel and tailpipe CO2 × 2 × 1.5/1.19, electricity × 2 × 1.3/1.25,
    fuel-supply CO2 = tailpipe × 0.3, electricity CO2 × 2 × (1.3/1.25) × (1.2/1.087); the buyers (sales,
    shares, prices) unchanged."""
    own = run(load_scenario(_file(tmp_path, "fleet_km_per_car_in_stock = 36000\n"
                                            "fleet_km_per_plugin_car_in_stock = 36000.0\n"
                                            "fuel_real_world_gap = 0.5\nelectricity_real_world_gap = 0.3\n"
                                            "gasoline_wtt_share = 0.3\ngrid_upstream_share = 0.2\n")))
    a, b = _series(us_base), _series(own)
    fuel = 2 * 1.5 / 1.19
    elec = 2 * 1.3 / 1.25
    for var, ratio in [("Fuel|Cars|Gasoline", fuel), ("Oil Displacement", fuel),
                       ("Emissions|CO2|Cars|Tailpipe", fuel), ("Electricity|Cars", elec),
                       ("Emissions|CO2|Cars|Electricity", elec * 1.2 / 1.087)]:
        np.testing.assert_allclose(b[var], a[var] * ratio, rtol=1e-9, err_msg=var)
    np.testing.assert_allclose(b["Emissions|CO2|Cars|Fuel Supply"], b["Emissions|CO2|Cars|Tailpipe"] * 0.3, rtol=1e-9)
    np.testing.assert_allclose(b["Emissions|CO2|Cars"], b[["Emissions|CO2|Cars|Tailpipe", "Emissions|CO2|Cars|Fuel Supply",
                                                          "Emissions|CO2|Cars|Electricity"]].sum(axis=1), rtol=1e-9)
    others = [v for v in a.columns if v not in FLEET_VARS]
    pd.testing.assert_frame_equal(b[others], a[others])
    sources = own.meta["fleet_values"]
    assert sources["km_per_car_in_stock"] == {"value": 36000.0,
                                              "source": "scenario file [region].fleet_km_per_car_in_stock"}
    assert sources["grid_upstream_share"]["source"] == "scenario file [region].grid_upstream_share"


def test_one_setting_moves_only_its_part(tmp_path: Path, us_base) -> None:
    """Only the plug-ins' km set: conventional cars keep the US row (the plug-ins' fuel is a small part, so
    fuel moves by less than the ratio); the other values' sources stay the CSV row US."""
    own = run(load_scenario(_file(tmp_path, "fleet_km_per_plugin_car_in_stock = 9000\n")))
    a, b = _series(us_base), _series(own)
    assert (b["Electricity|Cars"] / a["Electricity|Cars"]).to_numpy() == pytest.approx(0.5, rel=1e-9)
    assert (b["Fuel|Cars|Gasoline"] < a["Fuel|Cars|Gasoline"]).all()
    assert (b["Fuel|Cars|Gasoline"] > 0.9 * a["Fuel|Cars|Gasoline"]).all()
    sources = own.meta["fleet_values"]
    assert sources["km_per_car_in_stock"] == {"value": 18000.0, "source": "assumptions/fleet_activity.csv, row US"}
    assert sources["fuel_real_world_gap"] == {"value": 0.19, "source": "assumptions/energy_factors.csv, row US"}
    assert sources["km_per_plugin_car_in_stock"]["source"] == "scenario file [region].fleet_km_per_plugin_car_in_stock"


def test_absent_settings_are_the_csv_rows(us_base) -> None:
    """The shipped US scenario sets none: its run uses the US rows, as before (recorded in the metadata),
    and a file setting them to those rows gives the same outputs; a file region without them gets
    the ``default`` rows."""
    assert {v["source"] for v in us_base.meta["fleet_values"].values()} == {
        "assumptions/fleet_activity.csv, row US", "assumptions/energy_factors.csv, row US"}
    spec = load_scenario("us-current-policies").region_spec
    assert spec.fleet_overrides() == {}
    np.testing.assert_array_equal(km_per_car_in_stock("US", spec.fleet_overrides()), km_per_car_in_stock("US"))
    assert EnergyFactors.for_region("US", spec.fleet_overrides()) == EnergyFactors.for_region("US")
    same = run(load_scenario("us-current-policies", {**LAST, "region.fleet_km_per_car_in_stock": 18000.0,
                                                     "region.fuel_real_world_gap": 0.19}))
    pd.testing.assert_frame_equal(_series(same), _series(us_base))
    no = load_scenario(str(NORWAY), {"region": {"fleet_km_per_car_in_stock": None,
                                                "fleet_km_per_plugin_car_in_stock": None}})
    assert no.region_spec.fleet_overrides() == {}
    np.testing.assert_array_equal(km_per_car_in_stock("NO", no.region_spec.fleet_overrides()),
                                  km_per_car_in_stock("default"))


def test_norway_example_sets_ssbs_km() -> None:
    spec = load_scenario(str(NORWAY)).region_spec
    assert spec.fleet_overrides() == {"km_per_car_in_stock": 11274.0, "km_per_plugin_car_in_stock": 11274.0}


@pytest.mark.parametrize(("setting", "bad", "allowed"), [
    ("fleet_km_per_car_in_stock", 999.0, "1000.0 to 50000.0"),
    ("fleet_km_per_car_in_stock", 50001, "1000.0 to 50000.0"),
    ("fleet_km_per_plugin_car_in_stock", 0.0, "1000.0 to 50000.0"),
    ("fuel_real_world_gap", 1.5, "0.0 to 1.0"),
    ("electricity_real_world_gap", -0.1, "0.0 to 1.0"),
    ("gasoline_wtt_share", 2.0, "0.0 to 1.0"),
    ("grid_upstream_share", float("nan"), "0.0 to 1.0"),
])
def test_an_out_of_range_setting_is_refused_naming_it(tmp_path: Path, setting: str, bad: float, allowed: str) -> None:
    """In the file's [region] table and as an override under either name, the error names
    ``region.<setting>`` and the range."""
    text = "nan" if bad != bad else repr(bad)
    for load in (lambda: load_scenario(_file(tmp_path, f"{setting} = {text}\n")),
                 lambda: load_scenario("us-current-policies", {f"region.{setting}": bad}),
                 lambda: load_scenario("us-current-policies", {f"region_spec.{setting}": bad})):
        with pytest.raises(InputError) as err:
            load()
        assert err.value.field == f"region.{setting}"
        assert err.value.allowed == [allowed]


def test_overrides_under_both_names_reach_the_region() -> None:
    a = load_scenario("us-current-policies", {"region.fleet_km_per_car_in_stock": 15000})
    b = load_scenario("us-current-policies", {"region_spec.fleet_km_per_car_in_stock": 15000})
    assert a == b and a.region_spec.fleet_overrides() == {"km_per_car_in_stock": 15000.0}
    assert a.hash != load_scenario("us-current-policies").hash
    assert "fleet_km_per_car_in_stock" in a.resolved()["region_spec"]
    assert not set(FLEET_SETTINGS) & set(load_scenario("us-current-policies").resolved()["region_spec"])
    with pytest.raises(InputError) as err:
        load_scenario("us-current-policies", {"region.fuel_real_world_gap": 0.1,
                                              "region_spec.fuel_real_world_gap": 0.2})
    assert err.value.field == "region_spec.fuel_real_world_gap"
