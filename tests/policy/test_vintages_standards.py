"""The NEV credit and CAFC standards as known at a cutoff (vintages.csv rows of the standards).

Every vintage row of the NEV and CAFC rule families is *read*: changing it changes the
standards as known at each cutoff that knows it, and no cutoff outside its
``[known_from, known_until)`` sees the change (an off-by-one in the overlay or in the lookups
fails here). Every rule a cutoff uses for a later year was issued by the end of that cutoff
(an off-by-one in a row's dates fails here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy import china
from nevsim.policy.rules import show
from nevsim.policy.vehicles import VehicleArrays

FIRST, LAST = t.known_at_years()
MEMOS = (t._table_at, t._index, t._bands_by_param, t._bands_cached, t.band_years)

#: Year each legal revision was issued (the end of that year is the first cutoff that knows it).
ISSUED = {
    "gb27999_2011": 2011,  # GB 27999-2011, issued 2011-12-30 (chinesestandards.org)
    "gb27999_2014": 2014,  # GB 27999-2014 (replaced 2011; Phase IV from 2016)
    "gb27999_2019": 2019,  # GB 27999-2019, issued 2019-12-31 [CSO-27999-2019]
    "gb27999_2025": 2025,  # GB 27999-2025, issued 2025-06-30 [CSN-27999-2025]
    "order44": 2017,  # Order 44, 2017-09-27 [LoC-2018]
    "order53": 2020,  # Order 53, 2020-06-15 [CAAM-2020]
    "order64": 2023,  # Order 64, dated 2023-06-29 [TaxVIP-2023], published 2023-07-06 [MarkLines-2023]
    "miit378": 2023,  # MIIT notice 378, 2023-12-28 [MIIT-378]
    "miit2025": 2025,  # MIIT notice 294, 2025-11-07 [MIIT-2025]
    "tradein2024": 2024,  # car trade-in rules, 2024-04-24 [TT-2024-04]
    "tradein2025": 2025,  # 2025 trade-in notice, 2025-01-08 [GH-2025-01-08]
    "tradein2026": 2025,  # 2026 trade-in notice, 2025-12-30 [CEP-2025-12-30]
    "mof2013": 2013, "mof2015": 2015, "mof2016": 2016, "mof2018": 2018, "mof2019": 2019, "mof2020": 2020,
}


def _fleet() -> VehicleArrays:
    """BEVs near every consumption threshold, range and density band; PHEVs and FCEVs on both sides
    of their limits; ICE/HEV on both sides of the low-fuel-consumption thresholds."""
    pt, rng, energy, fuel, mass, dens, fc = [], [], [], [], [], [], []

    def add(p: str, r: float = np.nan, e: float = np.nan, f: float = np.nan, m: float = 1500.0,
            d: float = np.nan, k: float = np.nan) -> None:
        for lst, v in zip((pt, rng, energy, fuel, mass, dens, fc), (p, r, e, f, m, d, k), strict=True):
            lst.append(v)

    for m, (s44, c44), (s53, c53) in ((900, (0.014, 0.5), (0.0112, 0.4)), (1300, (0.012, 2.5), (0.0078, 3.8)),
                                        (1800, (0.005, 13.7), (0.0044, 9.24))):
        for y_max in (s44 * m + c44, s53 * m + c53):
            for e in (y_max + 0.5, y_max - 0.05, 0.65 * y_max - 0.05, y_max / 1.2):
                add("BEV", 420.0, e, m=m, d=140.0)
    for r in (80.0, 120.0, 180.0, 300.0, 450.0, 700.0):
        for d in (95.0, 115.0, 140.0):
            add("BEV", r, 12.0, m=1500.0, d=d)
    for r in (40.0, 60.0, 120.0):
        add("PHEV", r, 15.0, 1.5, 1700.0)
    for k in (20.0, 60.0, 120.0):
        add("FCEV", 600.0, 0.0, m=1900.0, k=k)
    for m in (1000.0, 1300.0, 1700.0, 2600.0):
        for f in (2.5, 3.5, 4.0, 4.6, 5.5, 7.5):
            add("ICE", f=f, m=m)
            add("HEV", f=f * 0.8, m=m)
    return VehicleArrays(np.array(pt), range_km=np.array(rng), energy_kwh_per_100km=np.array(energy),
                         fuel_l_per_100km=np.array(fuel), curb_mass_kg=np.array(mass),
                         battery_wh_per_kg=np.array(dens), fc_power_kw=np.array(fc))


FLEET = _fleet()
RATIOS = np.array([0.8, 1.0, 1.12, 1.18, 1.21, 1.3, 2.0])


def _standards(year: int, c: int | None) -> tuple:
    """Everything the model (and the MIIT accounting) reads of the NEV and CAFC rules for one year."""
    nev = china.nev_standard(year, FLEET, extend="hold", known_at=c)
    cafc = china.cafc_standard(year, FLEET, extend="hold", known_at=c)
    return (nev.earned_per_vehicle.tolist(), nev.required_per_vehicle.tolist(), nev.carry_forward_fraction,
            nev.carry_forward_years, nev.min_obligated_volume, cafc.earned_per_vehicle.tolist(),
            cafc.required_per_vehicle.tolist(), cafc.weight_per_vehicle.tolist(), cafc.carry_forward_fraction,
            china.cafc_test_cycle(year, known_at=c),
            china.nev_carry_forward_allowed(year, RATIOS, extend="hold", known_at=c).tolist(),
            [china.credit_pool_action(year, p, 1.0, known_at=c) for p in (1.0, 1.7, 3.0)],
            _unheld_cafc_target(year, c))


def _unheld_cafc_target(year: int, c: int | None) -> list[float] | None:
    """The CAFC requirement without ``extend="hold"`` (the simulator's hold keeps Phase IV's flat
    target after 2020 in every view, so the Phase V curve is read only here)."""
    try:
        return np.asarray(china.cafc_fleet_target_l_per_100km(year, FLEET.curb_mass_kg, known_at=c)).tolist()
    except InputError:
        return None


def _with_vintages(frame: pd.DataFrame):
    class _Swap:
        def __enter__(self) -> None:
            self.original = t._vintages
            t._vintages = lambda: frame  # what every lookup reads, through _table_at
            for memo in MEMOS:
                memo.cache_clear()

        def __exit__(self, *exc: object) -> None:
            t._vintages = self.original
            for memo in MEMOS:
                memo.cache_clear()
    return _Swap()


def _perturbed(value: float) -> float:
    if np.isnan(value):
        return 1.0
    if np.isinf(value):
        return 1.0
    return 1.0 if value == 0 else value * 0.5


STANDARD_ROWS = [i for i, r in enumerate(t._vintages().itertuples()) if r.standard in ("NEV", "CAFC")]


def _row_id(i: int) -> str:
    r = t._vintages().iloc[i]
    return f"{i + 1}:{r['param']}:{r['revision']}:{r['year_from']}-{r['year_to']}@{r['known_from']}-{r['known_until']}"


@pytest.mark.parametrize("i", STANDARD_ROWS, ids=_row_id)
def test_every_standards_vintage_row_is_read_at_its_cutoffs_only(i: int) -> None:
    """Row ``i`` changed: the standards as known at its first and last cutoff change in its years
    (a value-less row: its parameter is found nowhere there); at the cutoffs just outside its
    ``[known_from, known_until)`` nothing changes."""
    real = t._vintages()
    row = real.iloc[i]
    other = real.copy()
    other.loc[other.index[i], "value"] = _perturbed(float(row["value"]))
    inside = sorted({max(int(row["known_from"]), FIRST), min(int(row["known_until"]) - 1, LAST)})
    outside = [c for c in (int(row["known_from"]) - 1, int(row["known_until"])) if FIRST <= c <= LAST]

    def years(c: int) -> list[int]:  # the first and last year the row speaks about at c
        first, last = max(int(row["year_from"]), c + 1), min(int(row["year_to"]), 2030)
        return sorted({first, last}) if first <= last else []

    inside = [c for c in inside if years(c)]  # a row ending by c says nothing at c

    if np.isnan(row["value"]):  # a withdrawn rule: not found as known at the cutoff, found as enacted
        for c in inside:
            for y in years(c):
                with pytest.raises(InputError):
                    t.row("CN", row["standard"], row["param"], y, known_at=c)
                t.row("CN", row["standard"], row["param"], y)
        for c in outside:  # found again at the cutoffs that knew the rule
            if c >= int(row["known_until"]):
                t.row("CN", row["standard"], row["param"], max(int(row["year_from"]), c + 1), extend="hold", known_at=c)
        return
    expected = {c: [_standards(y, c) for y in years(c)] for c in inside + outside}
    with _with_vintages(other):
        for c in inside:
            assert [_standards(y, c) for y in years(c)] != expected[c], f"row not read at cutoff {c}"
        for c in outside:
            assert [_standards(y, c) for y in years(c)] == expected[c], f"row leaks into cutoff {c}"


@settings(max_examples=10, deadline=None)
@given(st.integers(FIRST, LAST))
def test_rules_after_the_cutoff_were_issued_by_it(c: int) -> None:
    """Every NEV, CAFC, subsidy and tax row in force after ``c`` as known at ``c`` belongs to a revision
    issued by the end of ``c`` ("none": a rule of no legal revision, e.g. the tax exemption's end).
    Exceptions, stated in docs/backtest.md: the CAFC reference mass (a measured average, not a rule)
    and, at the cutoffs 2015–16 before Order 44, Order 44's per-vehicle formula and banking rules."""
    for frame in (t._parameters_at(c), t._bands_at(c)):
        later = frame[(frame["region"] == "CN") & (frame["year_to"] > c)]
        later = later[later["param"] != "reference_curb_mass_kg"]
        if c < ISSUED["order44"]:
            later = later[later["revision"] != "order44"]
        late = later[[ISSUED.get(r, 0) > c for r in later["revision"]]]
        assert late.empty, sorted(set(zip(late["param"], late["revision"], strict=True)))
        assert set(later["revision"]) <= set(ISSUED) | {"none"}


# --- what the default cutoffs knew -------------------------------------------------------------

@pytest.mark.parametrize(("known_at", "revisions"), [
    (2016, ["order44"] * 4), (2018, ["order44"] * 4), (2019, ["order44"] * 4),
    (2020, ["order53"] * 4), (2022, ["order53"] * 4),
    (2023, ["order53", "order64", "order64", "order64"]), (2024, ["order53", "order64", "order64", "order64"]),
    (None, ["order53", "order64", "miit2025", "miit2025"])])
def test_nev_credit_formula_as_known(known_at: int | None, revisions: list[str]) -> None:
    assert [china.nev_revision(y, extend="hold", known_at=known_at) for y in (2021, 2024, 2026, 2030)] == revisions


def test_bev_credit_as_known() -> None:
    """A 400 km BEV (meeting the condition) in 2024: Order 44's 0.012·R + 0.8 capped at 5 from 2018–19,
    Order 53's 0.0056·R + 0.4 from 2020–22, Order 64's 0.0034·R + 0.2 as enacted."""
    bev = VehicleArrays(np.array(["BEV"]), range_km=np.array([400.0]))
    credits = {c: float(china.nev_credits_per_vehicle(2024, bev, extend="hold", known_at=c)[0])
               for c in (2018, 2020, 2023, None)}
    assert credits == pytest.approx({2018: 5.0, 2020: 2.64, 2023: 1.56, None: 1.56})
    assert china.max_bev_credit(2024, known_at=2018) == 6.0  # Order 44's final cap


def test_nev_carry_forward_as_known() -> None:
    """Before Order 53 (cutoffs ≤ 2019) no NEV credit is banked after 2020 and no CAFC condition applies."""
    for c, fraction, years in ((2018, 0.0, 0), (2019, 0.0, 0), (2020, 0.5, 3), (None, 0.5, 3)):
        sy = china.nev_standard(2022, FLEET, extend="hold", known_at=c)
        assert (sy.carry_forward_fraction, sy.carry_forward_years) == (fraction, years)
    assert china.nev_carry_forward_allowed(2022, RATIOS, known_at=2019).all()
    assert china.nev_carry_forward_allowed(2022, RATIOS).tolist() == (RATIOS <= 1.2).tolist()


def test_cafc_phase_iv_held_before_gb27999_2019() -> None:
    """A 2018 cutoff: Phase IV's flat 5.0 L/100 km (NEDC), factor 1 and NEV multiplier 2 in 2022;
    a 2019 cutoff knows Phase V (issued 2019-12-31): WLTC mass curve, factor 1.2, multiplier 1.8."""
    assert china.cafc_test_cycle(2022, known_at=2018) == "NEDC"
    assert china.cafc_test_cycle(2022, known_at=2019) == china.cafc_test_cycle(2022) == "WLTC"
    assert china.cafc_fleet_target_l_per_100km(2022, known_at=2018) == 5.0
    assert china.cafc_nev_multiplier(2022, known_at=2018) == 2.0
    assert china.cafc_compliance_factor(2022, known_at=2019) == china.cafc_compliance_factor(2022) == 1.2
    assert china.cafc_nev_multiplier(2022, known_at=2019) == 1.8
    np.testing.assert_array_equal(china.cafc_vehicle_target_l_per_100km(2022, [1000.0, 2000.0], known_at=2018),
                                  [5.0, 5.0])
    # GB 27999-2025 (issued 2025-06-30) unknown to every encoded cutoff: Phase V's 2025 target held
    assert china.cafc_fleet_target_l_per_100km(2028, known_at=2024) == pytest.approx(
        china.cafc_fleet_target_l_per_100km(2025))
    assert china.cafc_fleet_target_l_per_100km(2028) < china.cafc_fleet_target_l_per_100km(2025)


def test_low_fc_threshold_and_credit_pool_as_known() -> None:
    low = china.low_fuel_consumption_mask(2022, FLEET, known_at=2019)
    assert not low.any() and china.low_fuel_consumption_mask(2022, FLEET).any()
    assert china.credit_pool_action(2024, 3.0, 1.0, known_at=2022) == "none"  # no pool before Order 64
    assert china.credit_pool_action(2024, 3.0, 1.0, known_at=2023) == china.credit_pool_action(2024, 3.0, 1.0) \
        == "deposit"


@pytest.mark.parametrize(("year", "known_at", "expected"), [
    (2022, 2018, {("NEV", "bev_slope"): 0.012, ("NEV", "carry_forward_fraction"): 0.0,
                  ("CAFC", "vehicle_target_flat"): 5.0, ("CAFC", "nev_multiplier"): 2.0}),
    (2024, 2021, {("NEV", "bev_slope"): 0.0056, ("NEV", "phev_credit"): 1.6, ("CAFC", "nev_multiplier"): 1.5}),
    (2026, 2023, {("NEV", "bev_slope"): 0.0034, ("CAFC", "vehicle_target_scale"): 1.0}),
])
def test_policy_show_lists_the_held_rules(year: int, known_at: int, expected: dict) -> None:
    frame = show("CN", year, known_at=known_at)
    got = {(r.standard, r.param): r.value for r in frame.itertuples() if (r.standard, r.param) in expected}
    assert got == expected
    if known_at <= 2018:  # the Phase V curve and the credit pool are not listed before they were issued
        assert not frame["param"].str.startswith("vehicle_target_slope").any()
        assert "vehicle_target_slope" in set(show("CN", year)["param"])
