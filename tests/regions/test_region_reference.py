"""Regression guard: key values of the default US and EU runs, recorded when the region layer was added.

Like ``tests/sim/test_reference_output.py`` for China: a refactoring or speed change must not
move them; a deliberate model, data or assumption change re-records them in the same change
and says why. Recorded 2026-11-30 (first version of nevsim.regions). The same day the ACC II
and EPA GHG rules moved from ``us-current-policies`` to ``us-2024-rules`` (P.L. 119-16 and 91 FR
7686 undid them): the recorded values moved with them, unchanged.
"""

from __future__ import annotations

import pytest

from nevsim.simulate import run_frames

RTOL = 1e-6  # the region clearing converges to ~1e-9 relative; far below any modelling change

VALUES = {
    ("us-2024-rules", "Sales Share|Cars|EV", 2030): 48.67710665955131,
    ("us-2024-rules", "Sales Share|Cars|EV|ZEV Area", 2031): 74.8222952068887,
    ("us-2024-rules", "Price|Credit|Fleet CO2", 2027): 346.79801107823255,
    ("us-2024-rules", "Stock|Cars|EV", 2035): 80334829.17603517,
    ("us-current-policies", "Sales Share|Cars|EV", 2030): 14.898672387182321,
    ("eu-current-policies", "Sales Share|Cars|EV", 2030): 55.20144488243909,
    ("eu-current-policies", "Price|Credit|Fleet CO2", 2026): 62.265910692120535,
    ("eu-current-policies", "Emissions|CO2|New Cars", 2035): 33.396790957636796,
}
KAPPA = {"us-current-policies": 0.2361132777528137, "eu-current-policies": 0.35326839661318504}


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple]:
    return {name: run_frames(name) for name in (*KAPPA, "us-2024-rules")}


@pytest.mark.parametrize(("scenario", "variable", "year"), list(VALUES))
def test_region_value_unchanged(runs, scenario: str, variable: str, year: int) -> None:
    series = runs[scenario][0]
    row = series[(series["variable"] == variable) & (series["year"] == year)]
    assert len(row) == 1
    assert float(row["value"].iloc[0]) == pytest.approx(VALUES[(scenario, variable, year)], rel=RTOL)


@pytest.mark.parametrize("scenario", list(KAPPA))
def test_region_calibration_unchanged(runs, scenario: str) -> None:
    cal = runs[scenario][2]["calibration"]
    assert cal["converged"] and cal["kappa"][0] == pytest.approx(KAPPA[scenario], rel=RTOL)
