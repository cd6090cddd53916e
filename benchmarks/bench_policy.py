"""Policy engine speed: NEV credits and compliance for 1,000,000 vehicle records (not asserted).

Run: ``.venv/bin/python -m pytest benchmarks/bench_policy.py --benchmark-only -p no:cacheprovider``.
"""

from __future__ import annotations

import numpy as np
import pytest

from nevsim.policy import VehicleArrays, china, eu, us
from nevsim.policy.standard import compliance_records

N = 1_000_000
MAKERS = 100


@pytest.fixture(scope="module")
def fleet() -> tuple[VehicleArrays, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(42)
    pt = rng.choice(np.array(["ICE", "HEV", "PHEV", "BEV", "FCEV"]), N, p=[0.5, 0.1, 0.1, 0.29, 0.01])
    plug = np.isin(pt, ["BEV", "PHEV"])
    zero = np.isin(pt, ["BEV", "FCEV"])
    v = VehicleArrays(
        pt, range_km=np.where(plug, rng.uniform(50, 700, N), np.nan),
        energy_kwh_per_100km=rng.uniform(10, 20, N),
        fuel_l_per_100km=np.where(zero, np.nan, rng.uniform(1, 9, N)),
        curb_mass_kg=rng.uniform(700, 2600, N), fc_power_kw=np.where(pt == "FCEV", 100.0, np.nan),
        co2_g_per_km=np.where(zero, np.nan, rng.uniform(20, 200, N)))
    china.nev_credits_per_vehicle(2022, v)  # warm the parameter-table cache
    return v, rng.integers(1, 100, N).astype(float), rng.integers(0, MAKERS, N)


def test_nev_credits_1m(benchmark, fleet) -> None:
    v, _, _ = fleet
    out = benchmark(china.nev_credits_per_vehicle, 2022, v)
    assert out.shape == (N,)


def test_china_nev_and_cafc_compliance_1m(benchmark, fleet) -> None:
    v, units, idx = fleet

    def run():
        nev = compliance_records(china.nev_standard(2022, v), units, idx, MAKERS)
        cafc = compliance_records(china.cafc_standard(2022, v), units, idx, MAKERS)
        return nev, cafc

    nev, cafc = benchmark(run)
    assert nev.balance.shape == (MAKERS,) and cafc.balance.shape == (MAKERS,)


def test_us_and_eu_standards_1m(benchmark, fleet) -> None:
    v, units, idx = fleet

    def run():
        return (compliance_records(us.ghg_standard(2030, v), units, idx, MAKERS),
                compliance_records(eu.co2_standard(2025, v), units, idx, MAKERS))

    benchmark(run)


def test_vehicle_arrays_1m(benchmark, fleet) -> None:
    v, _, _ = fleet
    benchmark(VehicleArrays, v.powertrain, range_km=v.range_km, fuel_l_per_100km=v.fuel_l_per_100km,
              curb_mass_kg=v.curb_mass_kg)
