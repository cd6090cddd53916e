"""PHEV packs that follow China's observed average electric range, and the utility-factor curve."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nevsim import assumptions
from nevsim.simulate import _phev_range_km, phev_battery_scale
from nevsim.technology import PHEV, VehicleTable, utility_factor, vehicle_paths

KW = dict(retail_price_equivalent=1.2, ev_drivetrain_decline_pct_per_yr=3.0,
          ice_fuel_improvement_pct_per_yr=1.5, ice_cost_per_l_per_100km_cny=4000.0)


def _table() -> VehicleTable:
    return VehicleTable.from_frame(assumptions.vehicles())


def test_utility_factor_goes_through_the_chinese_city_measurements() -> None:
    """d = 68 km (coefficients.csv) reproduces the measured 0.53 at 50 km and 0.68 at 80 km within 0.02."""
    d = float(assumptions.coefficients().set_index("name").loc["phev_utility_factor_km", "value"])
    np.testing.assert_allclose(utility_factor(np.array([50.0, 80.0]), d), [0.53, 0.68], atol=0.02)
    assert utility_factor(0.0, d) == 0.0 and utility_factor(np.nan, d) == 0.0


@given(r=st.floats(0, 1000), dr=st.floats(0.1, 500), d=st.floats(10, 200))
def test_utility_factor_rises_with_range_and_stays_below_one(r: float, dr: float, d: float) -> None:
    lo, hi = utility_factor(r, d), utility_factor(r + dr, d)
    assert 0.0 <= lo <= hi <= 1.0


def test_phev_packs_scale_with_the_range_and_their_price_follows_the_pack() -> None:
    table = _table()
    years = np.array([2020, 2021])
    scale = np.array([0.5, 1.0])
    paths = vehicle_paths(table, years, phev_battery_scale=scale, phev_utility_factor_km=68.0, **KW)
    np.testing.assert_allclose(paths.battery_kwh[0, :, PHEV], 0.5 * table.battery_kwh[:, PHEV])
    np.testing.assert_allclose(paths.battery_kwh[1], table.battery_kwh)
    np.testing.assert_allclose(paths.range_km[0, 0, :, PHEV], 0.5 * paths.range_km[1, 0, :, PHEV])
    np.testing.assert_allclose(paths.electric_km_share[0, 0, :, PHEV], utility_factor(paths.range_km[0, 0, :, PHEV], 68))
    # other powertrains keep the table's electric share; BEV packs are not scaled
    np.testing.assert_array_equal(paths.electric_km_share[0, 0, :, [0, 1, 3]], table.electric_km_share[:, [0, 1, 3]].T)
    np.testing.assert_allclose(paths.battery_kwh[0, :, 3], table.battery_kwh[:, 3])
    pack = np.array([800.0])
    full = vehicle_paths(table, years, **KW)
    diff = full.year(0, pack).price_cny - paths.year(0, pack).price_cny
    np.testing.assert_allclose(diff[0, :, PHEV], 1.2 * 0.5 * table.battery_kwh[:, PHEV] * 800.0)
    np.testing.assert_allclose(np.delete(diff, PHEV, -1), 0.0, atol=1e-9)


def test_without_the_options_the_table_is_unchanged() -> None:
    table = _table()
    paths = vehicle_paths(table, np.array([2030]), **KW)
    np.testing.assert_array_equal(paths.battery_kwh[0], table.battery_kwh)
    np.testing.assert_array_equal(paths.electric_km_share[0, 0], table.electric_km_share)


def test_utility_factor_per_draw() -> None:
    paths = vehicle_paths(_table(), np.array([2030]), phev_utility_factor_km=np.array([40.0, 100.0]), **KW)
    assert paths.electric_km_share.shape[1] == 2
    # a longer characteristic distance means less electric driving at the same range
    assert np.all(paths.electric_km_share[0, 0, :, PHEV] > paths.electric_km_share[0, 1, :, PHEV])


def test_range_series_sees_only_rows_up_to_the_cutoff() -> None:
    years = np.arange(2015, 2031)
    assert np.isnan(_phev_range_km(years, 2019)).all()  # first row is 2020
    at_2021 = _phev_range_km(years, 2021)
    np.testing.assert_allclose(at_2021, 93.0)  # the 2020 row, held both ways
    full = _phev_range_km(years, None)
    assert full[years == 2015][0] == pytest.approx(93.0) and full[years == 2030][0] == pytest.approx(137.0)
    assert full[years == 2022][0] == pytest.approx(93 + 2 / 5 * 44)


def test_battery_scale_is_observed_over_table_range() -> None:
    table = _table()
    assert phev_battery_scale(None, table) is None
    assert phev_battery_scale(np.full(3, np.nan), table) is None
    ref = float(np.sum(table.segment_sales_share * table.battery_kwh[:, PHEV] / table.energy_kwh_per_100km[:, PHEV]) * 100)
    np.testing.assert_allclose(phev_battery_scale(np.array([ref, ref / 2]), table), [1.0, 0.5])


def _range_load(changed_year: int, factor: float):
    """``nevsim.data.load`` with the PHEV range row of ``changed_year`` multiplied by ``factor``."""
    import nevsim.data
    from nevsim.simulate import PHEV_RANGE_VARIABLE

    real = nevsim.data.load

    def load(name: str, **kw):
        frame = real(name, **kw)
        if name != "china_market":
            return frame
        hit = (frame["variable"] == PHEV_RANGE_VARIABLE) & (frame["year"] == changed_year)
        return frame.assign(value=frame["value"].where(~hit, frame["value"] * factor))

    return load


def _share_2025(until: int) -> float:
    import nevsim.simulate as sim
    from nevsim.scenario import load_scenario

    sim._load_history.cache_clear()
    series, _, _ = sim.run_frames(load_scenario("china-current-policies"), until=until)
    row = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2025)]
    return float(row["value"].iloc[0])


def test_the_range_after_the_cutoff_never_reaches_the_forecast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cutoff 2021: doubling the 2025 range row changes nothing; doubling the 2020 row (known at the
    cutoff) changes the 2025 forecast (the range path is live)."""
    import nevsim.data
    import nevsim.simulate as sim

    clean = _share_2025(2021)
    with monkeypatch.context() as m:
        m.setattr(nevsim.data, "load", _range_load(2025, 2.0))
        assert _share_2025(2021) == clean
        m.setattr(nevsim.data, "load", _range_load(2020, 2.0))
        assert _share_2025(2021) != pytest.approx(clean, rel=1e-6)
    sim._load_history.cache_clear()
