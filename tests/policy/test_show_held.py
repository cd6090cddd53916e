"""``policy show`` lists the rules the simulator holds after their last set year, marked as held.

The simulator reads China's NEV and CAFC standards with ``extend="hold"`` (``simulate.py``):
each scalar rule by itself (``t.row(..., extend="hold")``), the per-vehicle credit formula
through the revision in force, the CAFC phase through the compliance factor's last year. The
table must show, for every year and cutoff, the value those lookups return, and nothing the
simulator drops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy import china, show

# rules the China policy reads one by one with extend="hold" (china.nev_standard, cafc_standard, ...)
SCALAR_HELD = {
    "NEV": ("nev_ratio", "low_fc_weight", "low_fc_max_ratio_to_target", "min_conventional_volume",
            "carry_forward_fraction", "carry_forward_years", "carry_forward_max_cafc_ratio",
            "pool_deposit_supply_demand_ratio", "pool_release_supply_demand_ratio", "pool_validity_years"),
    "CAFC": ("compliance_factor", "nev_multiplier", "carry_forward_fraction", "carry_forward_years",
             "phev_min_range_km", "reference_curb_mass_kg", "vehicle_target_low_mass_kg", "vehicle_target_low_value",
             "vehicle_target_high_mass_kg", "vehicle_target_high_value", "vehicle_target_pivot_mass_kg",
             "vehicle_target_pivot_value"),
}
# the per-vehicle credit formula, read through the revision in force (china.nev_credit_breakdown)
FORMULA = ("bev_slope", "bev_intercept", "bev_standard_cap", "bev_min_range_km", "bev_eff_fail_factor",
           "bev_eff_max_factor", "bev_eff_best_share", "bev_eff_best_factor", "bev_credit_max", "phev_credit",
           "phev_min_range_km", "fcev_slope_per_kw", "fcev_cap")
FORMULA_BANDS = ("bev_range_factor", "bev_density_factor", "bev_eff_condition_slope", "bev_eff_condition_intercept")
# the CAFC target of the phase in force (china._cafc_phase: not held into a later phase)
PHASE = ("vehicle_target_flat", "vehicle_target_slope", "vehicle_target_scale")

CASES = [(year, known_at) for known_at in (None, *range(2015, 2025)) for year in range(2016, 2036)]


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def _check(scalars: dict, std: str, name: str, expected: t.Row | None, year: int) -> None:
    got = scalars.get((std, name))
    if expected is None:
        assert got is None, (std, name, "shown, but the simulator does not use it")
        return
    assert got is not None, (std, name, "used by the simulator, not shown")
    assert _same(got.value, expected.value) and got.revision == expected.revision, (std, name)
    held = expected.year_to if year > expected.year_to else None
    assert got.held_from == held, (std, name, got.held_from, held)


@pytest.mark.parametrize(("year", "known_at"), CASES)
def test_show_matches_the_simulators_held_lookups(year: int, known_at: int | None) -> None:
    frame = show("CN", year, known_at=known_at)
    scalars = {(r.standard, r.param): r for r in frame.itertuples() if not r.powertrain}
    assert len(scalars) == int((frame["powertrain"] == "").sum())  # one row per scalar rule

    for std, names in SCALAR_HELD.items():
        for name in names:
            try:
                expected = t.row("CN", std, name, year, extend="hold", known_at=known_at)
            except InputError:  # before the rule's first year, or not issued at the cutoff
                expected = None
            if std == "CAFC" and name.startswith("vehicle_target_") and \
                    china._cafc_phase("vehicle_target_flat", year, "hold", known_at) is not None:
                continue  # the Phase V curve is not read while the flat Phase IV target is in force
            _check(scalars, std, name, expected, year)

    for name in PHASE:
        _check(scalars, "CAFC", name, china._cafc_phase(name, year, "hold", known_at), year)

    if year < china.NEV_FIRST_YEAR:
        return
    rev = china.nev_revision(year, extend="hold", known_at=known_at)
    for name in FORMULA:
        _check(scalars, "NEV", name, china._p(name, year, rev, "hold", known_at=known_at), year)
    for name in FORMULA_BANDS:
        bands = china._bands(name, year, rev, "hold", known_at)
        rows = frame[(frame["param"] == name) & (frame["powertrain"] == "BEV")].sort_values("lower")
        assert bands is not None
        np.testing.assert_array_equal(rows["value"].to_numpy(), bands.value)
        np.testing.assert_array_equal(rows["lower"].to_numpy(), bands.lower)


def test_ratio_held_after_its_last_year_as_known_at_a_cutoff() -> None:
    """Known at 2018, the last NEV ratio set was 12 % for 2020: held for 2022, as the simulator does."""
    frame = show("CN", 2022, known_at=2018)
    ratio = frame[frame["param"] == "nev_ratio"]
    assert ratio["value"].tolist() == [0.12] and ratio["held_from"].tolist() == [2020]
    assert china.nev_ratio(2022, extend="hold", known_at=2018) == 0.12
    in_force = frame[frame["param"] == "bev_slope"]  # Order 44's formula: vintage rows to 2027, not held
    assert in_force["held_from"].tolist() == [None]


def test_enacted_rules_held_after_2027_and_dropped_rules_not_listed() -> None:
    frame = show("CN", 2030)
    nev = frame[frame["standard"] == "NEV"]
    assert set(nev["held_from"]) == {2027}
    assert nev.loc[nev["param"] == "nev_ratio", "value"].tolist() == [0.58]
    assert "bev_credit_max" not in set(nev["param"])  # Order 44 only: dropped by Order 53
    assert set(frame.loc[frame["standard"] == "CAFC", "held_from"]) == {None}  # CAFC set to 2030
    later = show("CN", 2031)
    cafc = later[later["standard"] == "CAFC"]
    assert set(cafc["held_from"]) == {2030} and "vehicle_target_flat" not in set(cafc["param"])
    assert set(later.loc[later["standard"].isin(["TAX", "SUBSIDY"]), "held_from"]) == {None}


def test_in_force_years_have_no_held_rows() -> None:
    for region, year in (("CN", 2022), ("CN", 2025), ("US", 2030), ("EU", 2025)):
        assert show(region, year)["held_from"].isna().all()
