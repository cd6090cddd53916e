"""Fixtures of the results tests.

``small_results`` and ``draws_results`` are HAND-MADE FIXTURES (not model output): tiny tables
with known numbers, so that every transformation can be checked exactly. ``real_results`` is
one real run of the default scenario (session-scoped: it is computed once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nevsim.results import Results

YEARS = list(range(2020, 2031))


def make_series(region: str = "CN", scenario: str = "fixture", draws: int = 1) -> pd.DataFrame:
    """FIXTURE: a linear EV share 10 → 60 % (BEV 70 % of it), stock, chargers, credit price."""
    rows = []
    for d in range(draws):
        bump = 2.0 * d  # each draw 2 points above the previous
        for i, y in enumerate(YEARS):
            ev = 10.0 + 5.0 * i + bump
            values = {
                ("Sales Share|Cars|EV", "%"): ev,
                ("Sales Share|Cars|BEV", "%"): 0.7 * ev,
                ("Sales Share|Cars|PHEV", "%"): 0.3 * ev,
                ("Sales|Cars|BEV", "vehicles"): 0.7 * ev * 2e5,
                ("Sales|Cars|PHEV", "vehicles"): 0.3 * ev * 2e5,
                ("Sales|Cars|ICE", "vehicles"): (100 - ev) * 2e5,
                ("Sales|Cars|HEV", "vehicles"): 0.0,
                ("Price|Credit|NEV", "CNY/credit"): 2000.0 - 200.0 * i,
                ("Stock|Cars|EV", "vehicles"): 1e6 * (i + 1),
                ("Stock|Cars|Total", "vehicles"): 3e8,
                ("Chargers|Public", "chargers"): 1e5 * (i + 1),
                ("EVs per Public Charger", "vehicles/charger"): 10.0,
                ("Oil Displacement", "thousand barrels/day"): 50.0 * i,
                ("Electricity|Cars", "TWh"): 10.0 * i,
                ("Emissions|CO2|Cars", "Mt CO2/yr"): 500.0 - 10 * i,
                ("Production|Cars|EV", "vehicles"): ev * 2e5 * 1.1,
            }
            for (var, unit), v in values.items():
                row = {"scenario": scenario, "region": region, "variable": var, "unit": unit, "year": y, "value": v}
                if draws > 1:
                    row["draw"] = d
                rows.append(row)
    return pd.DataFrame(rows)


def make_makers(region: str = "CN", scenario: str = "fixture", draws: int = 1) -> pd.DataFrame:
    """FIXTURE: two makers, one long (sells credits) and one short (buys)."""
    rows = []
    for d in range(draws):
        for i, y in enumerate(YEARS):
            for maker, bal in (("PureEV", 1000.0 + i), ("Legacy", -500.0 - i)):
                for var, unit, v in (("Credits|NEV|Balance", "credits", bal),
                                     ("Sales|Cars|BEV", "vehicles", 100.0 * (i + 1))):
                    row = {"scenario": scenario, "region": region, "maker": maker, "variable": var,
                           "unit": unit, "year": y, "value": v}
                    if draws > 1:
                        row["draw"] = d
                    rows.append(row)
    return pd.DataFrame(rows)


def make_meta(run_id: str = "fixture0001", draws: int = 1) -> dict:
    return {"run_id": run_id, "scenario": "fixture", "scenario_hash": "ab" * 32, "nevsim_version": "0.1.0",
            "created_utc": "2026-01-02T03:04:05+00:00", "regions": ["CN"], "first_year": YEARS[0],
            "last_year": YEARS[-1], "history_last_year": 2024, "data_cutoff": None, "draws": draws, "seed": 0}


@pytest.fixture
def small_results() -> Results:
    """FIXTURE (hand-made, not model output): China, 2020–2030, one draw."""
    return Results(make_series(), make_makers(), make_meta(), {"name": "fixture", "region": "CN"})


@pytest.fixture
def draws_results() -> Results:
    """FIXTURE (hand-made, not model output): China, 2020–2030, 5 draws (EV share +2 points per draw)."""
    return Results(make_series(draws=5), make_makers(draws=5), make_meta("fixture-draws", draws=5),
                   {"name": "fixture", "region": "CN"})


@pytest.fixture(scope="session")
def real_results() -> Results:
    """One real run of the default scenario (China 2010–2060)."""
    from nevsim.simulate import run

    return run("china-current-policies")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


class Builders:
    """FIXTURE builders, handed to tests as the ``build`` fixture (importlib mode: no conftest imports)."""

    years = YEARS
    series = staticmethod(make_series)
    makers = staticmethod(make_makers)
    meta = staticmethod(make_meta)


@pytest.fixture
def build() -> type[Builders]:
    return Builders
