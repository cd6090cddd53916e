"""The seed stock's fuel use follows the region's segment mix and the first year's efficiency
(simulate.seed_fuel_l_per_100km). Before 2026-12-01 every region's seed used the unweighted mean of
the vehicle table's 2020 values, 6.44 L/100 km, and US gasoline came out 16 % below EIA's."""

import numpy as np
import pytest

from nevsim import simulate as S
from nevsim.scenario import load_scenario
from nevsim.technology import COST_BASE_YEAR


def _inputs(name: str) -> S.Inputs:
    return S.prepare(load_scenario(name), None)


@pytest.mark.parametrize("name", ["china-current-policies", "us-current-policies", "eu-current-policies"])
def test_seed_fuel_is_the_first_years_new_car_with_the_regions_mix(name: str) -> None:
    inputs = _inputs(name)
    w = np.asarray(inputs.table.segment_sales_share, dtype=float)
    table_ice = np.asarray(inputs.table.fuel_l_per_100km, dtype=float)[:, 0]  # the region's table (fuel_use_ratio)
    rate = inputs.scalars["technology.ice_fuel_improvement_pct_per_yr"]
    first = int(inputs.years[0])
    want = (w * table_ice).sum() / w.sum() * (1.0 - rate / 100.0) ** (first - COST_BASE_YEAR)
    np.testing.assert_allclose(S.seed_fuel_l_per_100km(inputs, 3), np.full(3, want), rtol=1e-12)


def test_the_us_seed_uses_more_fuel_than_chinas() -> None:
    """The US mix (no mini cars, 70 % midsize and large) against China's: ≈ 8.4 and 7.7 L/100 km in 2010."""
    us = S.seed_fuel_l_per_100km(_inputs("us-current-policies"), 1)[0]
    cn = S.seed_fuel_l_per_100km(_inputs("china-current-policies"), 1)[0]
    assert us == pytest.approx(8.43, abs=0.05) and cn == pytest.approx(7.68, abs=0.05)
    assert us > cn > 6.44  # 6.44: the former unweighted 2020 mean, in every region
