"""Experience curve, vehicle attributes and fleet turnover."""

from __future__ import annotations

from math import gamma

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim import assumptions
from nevsim.fleet import FleetState, weibull_survival
from nevsim.technology import VehicleTable, experience_curve_cost, vehicle_attributes


@given(lr=st.floats(0.01, 0.5), v0=st.floats(1.0, 1e4), c0=st.floats(10, 2000))
def test_doubling_volume_cuts_cost_by_the_learning_rate(lr, v0, c0) -> None:
    c = experience_curve_cost(2 * v0, v0, c0, lr)
    np.testing.assert_allclose(c, c0 * (1 - lr), rtol=1e-10)


def test_cheaper_packs_make_cheaper_bevs_and_range_is_pack_over_consumption() -> None:
    table = VehicleTable.from_frame(assumptions.vehicles())
    kw = dict(retail_price_equivalent=1.2, ev_drivetrain_decline_pct_per_yr=3.0,
              ice_fuel_improvement_pct_per_yr=1.5, ice_cost_per_l_per_100km_cny=4000.0)
    hi = vehicle_attributes(table, 2030, np.array([900.0]), **kw)
    lo = vehicle_attributes(table, 2030, np.array([500.0]), **kw)
    assert np.all(lo.price_cny[..., 3] < hi.price_cny[..., 3])
    np.testing.assert_allclose(lo.price_cny[..., 0], hi.price_cny[..., 0])
    np.testing.assert_allclose(lo.range_km[0, :, 3], table.battery_kwh[:, 3] / table.energy_kwh_per_100km[:, 3] * 100)
    assert np.all(np.isnan(lo.range_km[..., :2]))


def test_weibull_mean_life() -> None:
    ages = np.linspace(0, 200, 200001)
    surv = weibull_survival(ages, 14.5, 4.0)
    mean = np.trapezoid(surv, ages)
    assert abs(mean - 14.5) < 1e-3
    assert weibull_survival(0.0, 14.5, 4.0) == 1.0
    assert abs(14.5 / gamma(1.25) - 16.0) < 0.1


@settings(max_examples=30, deadline=None)
@given(sales=st.lists(st.floats(0, 3e7), min_size=5, max_size=30), ev=st.floats(0, 0.9))
def test_stock_identity(sales, ev) -> None:
    fleet = FleetState.seeded(1, np.array([14.5]), np.array([4.0]), np.array([6e7]), np.array([sales[0]]),
                              np.array([7.0]))
    prev = fleet.stock_prev.sum()
    for s in sales:
        new = np.array([[s * (1 - ev), 0.0, 0.0, s * ev]])
        out = fleet.step(new, new * 7, new * 15, new * 7)
        stock = out["stock"].sum()
        np.testing.assert_allclose(stock, prev + s - out["scrappage"].sum(), rtol=1e-9, atol=1e-3)
        assert np.all(out["stock"] >= -1e-6)
        prev = stock
