"""China rules: NEV credits, CAFC, subsidy, purchase tax — table-driven at every boundary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.policy import VehicleArrays, _tables, apply_offset, china, compliance


def bev(range_km, **kw) -> VehicleArrays:
    return VehicleArrays.single("BEV", range_km=range_km, **kw)


def credit(year: int, v: VehicleArrays, **kw) -> float:
    return float(china.nev_credits_per_vehicle(year, v, **kw))


@pytest.mark.parametrize(("year", "ratio"), [
    (2000, 0.0), (2018, 0.0), (2019, 0.10), (2020, 0.12), (2021, 0.14), (2022, 0.16), (2023, 0.18),
    (2024, 0.28), (2025, 0.38), (2026, 0.48), (2027, 0.58)])
def test_nev_ratio(year: int, ratio: float) -> None:
    assert china.nev_ratio(year) == ratio


def test_nev_ratio_beyond_last_year() -> None:
    with pytest.raises(InputError) as err:
        china.nev_ratio(2028)
    assert err.value.field == "year"
    assert china.nev_ratio(2035, extend="hold") == 0.58
    with pytest.raises(InputError):
        china.nev_ratio(1990)


@pytest.mark.parametrize(("year", "w"), [(2020, 1.0), (2021, 0.5), (2022, 0.3), (2023, 0.2), (2024, 0.2),
                                         (2025, 0.2), (2026, 0.1), (2027, 0.1)])
def test_low_fc_weight(year: int, w: float) -> None:
    assert china.low_fc_weight(year) == w


@pytest.mark.parametrize(("year", "rev"), [(2018, "order44"), (2020, "order44"), (2021, "order53"),
                                           (2023, "order53"), (2024, "order64"), (2025, "order64"),
                                           (2026, "miit2025"), (2027, "miit2025")])
def test_revision_years(year: int, rev: str) -> None:
    assert china.nev_revision(year) == rev


@pytest.mark.parametrize(("year", "range_km", "expected"), [
    # Order 44: 0.012 R + 0.8, cap 5, R >= 100
    (2019, 99.9, 0.0), (2019, 100, 2.0), (2020, 300, 4.4), (2020, 350, 5.0), (2020, 600, 5.0),
    # Order 53: 0.0056 R + 0.4, cap 3.4; range factor 0.7 (<150), 0.8 (150-200), 1.0 (>=200)
    (2021, 99.9, 0.0), (2021, 100, 0.96 * 0.7), (2021, 149.9, (0.0056 * 149.9 + 0.4) * 0.7),
    (2021, 150, 1.24 * 0.8), (2022, 199.9, (0.0056 * 199.9 + 0.4) * 0.8), (2022, 200, 1.52),
    (2022, 400, 2.64), (2023, 3.0 / 0.0056, 3.4), (2023, 700, 3.4),
    # Order 64 (2024-25): 0.0034 R + 0.2, cap 2.3 (reported: 2.64 -> 1.56 at 400 km)
    (2024, 400, 1.56), (2025, 700, 2.3),
    # 2026-27 placeholder: Order 64 x 0.5
    (2026, 400, 0.78), (2027, 1000, 1.15),
])
def test_bev_standard_credit_boundaries(year: int, range_km: float, expected: float) -> None:
    assert credit(year, bev(range_km)) == pytest.approx(expected)


@pytest.mark.parametrize(("year", "energy", "factor"), [
    # Order 53 condition at 1,500 kg: 0.0078*1500 + 3.8 = 15.5 kWh/100km
    (2022, 15.5, 1.0), (2022, 15.51, 0.5), (2022, 12.4, 1.25), (2022, 10.0, 1.5), (2022, 5.0, 1.5),
    # Order 44 condition at 1,500 kg: 0.012*1500 + 2.5 = 20.5; 1.2x at <= 0.65 x condition
    (2020, 20.5, 1.0), (2020, 20.6, 0.5), (2020, 0.65 * 20.5, 1.2), (2020, 0.65 * 20.5 + 0.01, 1.0),
])
def test_bev_efficiency_factor(year: int, energy: float, factor: float) -> None:
    b = china.nev_credit_breakdown(year, bev(300, energy_kwh_per_100km=energy, curb_mass_kg=1500))
    assert float(b["efficiency_factor"]) == pytest.approx(factor)


@pytest.mark.parametrize(("mass", "condition"), [
    (1000, 11.6), (999.9, 0.0112 * 999.9 + 0.4), (1600, 16.28), (1600.1, 0.0044 * 1600.1 + 9.24), (2500, 20.24)])
def test_order53_consumption_condition_is_continuous_by_mass_band(mass: float, condition: float) -> None:
    at = china.nev_credit_breakdown(2022, bev(300, energy_kwh_per_100km=condition, curb_mass_kg=mass))
    above = china.nev_credit_breakdown(2022, bev(300, energy_kwh_per_100km=condition + 0.01, curb_mass_kg=mass))
    assert float(at["efficiency_factor"]) == pytest.approx(1.0)
    assert float(above["efficiency_factor"]) == 0.5


def test_order44_final_cap_is_six() -> None:
    assert credit(2020, bev(500, energy_kwh_per_100km=8, curb_mass_kg=1500)) == 6.0
    assert china.max_bev_credit(2020) == 6.0
    assert china.max_bev_credit(2022) == pytest.approx(3.4 * 1.5)


@pytest.mark.parametrize(("density", "factor"), [(80, 0.8), (104.9, 0.8), (105, 0.9), (124.9, 0.9), (125, 1.0),
                                                 (180, 1.0), (np.nan, 1.0)])
def test_order53_density_factor(density: float, factor: float) -> None:
    b = china.nev_credit_breakdown(2022, bev(400, battery_wh_per_kg=density))
    assert float(b["density_factor"]) == factor
    assert float(b["credit"]) == pytest.approx(2.64 * factor)


@pytest.mark.parametrize(("year", "range_km", "expected"), [
    (2019, 49.9, 0.0), (2019, 50, 2.0), (2022, 50, 1.6), (2022, 49, 0.0), (2024, 80, 0.96), (2026, 80, 0.48)])
def test_phev_credit(year: int, range_km: float, expected: float) -> None:
    assert credit(year, VehicleArrays.single("PHEV", range_km=range_km)) == pytest.approx(expected)


@pytest.mark.parametrize(("year", "kw", "expected"), [
    (2020, 30, 4.8), (2020, 31.25, 5.0), (2020, 100, 5.0), (2022, 50, 4.0), (2022, 75, 6.0), (2022, 200, 6.0)])
def test_fcev_credit(year: int, kw: float, expected: float) -> None:
    assert credit(year, VehicleArrays.single("FCEV", fc_power_kw=kw)) == pytest.approx(expected)


def test_ice_and_hev_earn_nothing() -> None:
    v = VehicleArrays(np.array(["ICE", "HEV"]), fuel_l_per_100km=np.array([6.0, 4.0]))
    assert china.nev_credits_per_vehicle(2022, v).tolist() == [0.0, 0.0]


def test_forced_revision() -> None:
    assert credit(2024, bev(400), revision="order53") == pytest.approx(2.64)
    with pytest.raises(InputError) as err:
        credit(2024, bev(400), revision="order99")
    assert err.value.field == "revision"


@pytest.mark.parametrize(("vehicle", "field"), [
    (VehicleArrays.single("BEV"), "range_km"), (VehicleArrays.single("PHEV"), "range_km"),
    (VehicleArrays.single("FCEV"), "fc_power_kw")])
def test_missing_attributes_name_the_field(vehicle: VehicleArrays, field: str) -> None:
    with pytest.raises(InputError) as err:
        china.nev_credits_per_vehicle(2022, vehicle)
    assert err.value.field == field


@pytest.mark.parametrize("year", [2017, 2028, 1990])
def test_credit_years_outside_coverage(year: int) -> None:
    with pytest.raises(InputError) as err:
        china.nev_credits_per_vehicle(year, bev(300))
    assert err.value.field == "year"


def test_vectorised_shapes_broadcast() -> None:
    pt = np.array([["ICE", "BEV", "PHEV"]] * 4)
    rng = np.linspace(100, 600, 4)[:, None] * np.ones((1, 3))
    v = VehicleArrays(pt, range_km=rng, fuel_l_per_100km=np.array([6.5, np.nan, 1.5]))
    out = china.nev_credits_per_vehicle(2022, v)
    assert out.shape == (4, 3)
    assert (out[:, 0] == 0).all()
    assert np.all(np.diff(out[:, 1]) >= 0)


@settings(max_examples=60, deadline=None)
@given(year=st.integers(2018, 2027), r1=st.floats(0, 2000), r2=st.floats(0, 2000),
       energy=st.one_of(st.none(), st.floats(3, 40)), mass=st.floats(500, 3500),
       density=st.one_of(st.none(), st.floats(60, 300)))
def test_bev_credit_never_decreases_with_range_and_never_exceeds_cap(year, r1, r2, energy, mass, density) -> None:
    lo, hi = sorted((r1, r2))
    kw = {"energy_kwh_per_100km": energy, "curb_mass_kg": mass, "battery_wh_per_kg": density}
    c_lo, c_hi = credit(year, bev(lo, **kw)), credit(year, bev(hi, **kw))
    assert 0.0 <= c_lo <= c_hi + 1e-12
    assert c_hi <= china.max_bev_credit(year) + 1e-12


# --- CAFC --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("year", "target"), [(2012, 6.9 * 1.09), (2015, 6.9), (2016, 6.7), (2017, 6.4), (2018, 6.0), (2019, 5.5), (2020, 5.0)])
def test_phase4_yearly_targets(year: int, target: float) -> None:
    assert china.cafc_fleet_target_l_per_100km(year) == pytest.approx(target)


@pytest.mark.parametrize(("mass", "target"), [(800, 4.02), (1090, 4.02), (1090.1, 4.015), (1415, 4.60), (2000, 5.653),
                                              (2510, 6.571), (2600, 6.57)])
def test_phase5_vehicle_target_curve(mass: float, target: float) -> None:
    assert float(china.cafc_vehicle_target_l_per_100km(2023, mass)) == pytest.approx(target, abs=1e-3)


def test_phase5_2021_target_matches_published_industry_target() -> None:
    # MIIT-EIDC: 2021 industry accounting target 5.97 L/100 km (WLTC); industry mass ~1,550 kg
    assert china.cafc_fleet_target_l_per_100km(2021, 1556.0) == pytest.approx(5.97, abs=0.01)


@pytest.mark.parametrize(("year", "mult"), [(2016, 5), (2017, 5), (2018, 3), (2019, 3), (2020, 2), (2021, 2),
                                            (2022, 1.8), (2023, 1.6), (2024, 1.5), (2025, 1.3)])
def test_cafc_nev_multiplier(year: int, mult: float) -> None:
    assert china.cafc_nev_multiplier(year) == mult


@pytest.mark.parametrize("year", [2011, 2031])
def test_cafc_outside_coverage(year: int) -> None:
    with pytest.raises(InputError):
        china.cafc_fleet_target_l_per_100km(year)


def test_cafc_balance_is_target_minus_average_times_units() -> None:
    # 2020: flat target 5.0, NEV multiplier 2; 100 ICE at 6.0 + 50 BEV -> A = 600 / 200 = 3.0
    v = VehicleArrays(np.array(["ICE", "BEV"]), range_km=np.array([np.nan, 300]),
                      fuel_l_per_100km=np.array([6.0, np.nan]), curb_mass_kg=1400.0)
    std = china.cafc_standard(2020, v)
    res = compliance(std, np.array([[100.0, 50.0]]))
    assert res.balance[0] == pytest.approx((5.0 - 3.0) * 150)
    assert std.offsets == ()


def test_cafc_phev_below_50km_is_not_an_nev() -> None:
    v = VehicleArrays(np.array(["PHEV", "PHEV"]), range_km=np.array([49.0, 50.0]),
                      fuel_l_per_100km=np.array([2.0, 2.0]), curb_mass_kg=1500.0)
    assert china.cafc_standard(2022, v).weight_per_vehicle.tolist() == [1.0, 1.8]


def test_cafc_needs_fuel_for_conventional_cars() -> None:
    with pytest.raises(InputError) as err:
        china.cafc_standard(2022, VehicleArrays.single("ICE", curb_mass_kg=1500))
    assert err.value.field == "fuel_l_per_100km"


# --- NEV standard ------------------------------------------------------------------------------

def test_nev_requirement_and_low_fuel_consumption_weight() -> None:
    # 2022: HEV at 4.2 L at 1,500 kg is below 1.20 x T(1500) = 5.70 -> weight 0.3; ICE at 6.5 is not
    v = VehicleArrays(np.array(["ICE", "HEV", "BEV"]), range_km=np.array([np.nan, np.nan, 400]),
                      fuel_l_per_100km=np.array([6.5, 4.2, np.nan]), curb_mass_kg=1500.0)
    std = china.nev_standard(2022, v)
    assert std.required_per_vehicle.tolist() == pytest.approx([0.16, 0.16 * 0.3, 0.0])
    assert std.price_cap is None
    assert std.offsets == ("CN-CAFC",)
    assert std.carry_forward_fraction == 0.5
    assert china.nev_standard(2020, v).required_per_vehicle.tolist() == pytest.approx([0.12, 0.12, 0.0])


@pytest.mark.parametrize(("conventional", "obligated"), [(29_999, False), (30_000, True)])
def test_30000_unit_threshold(conventional: int, obligated: bool) -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), range_km=np.array([np.nan, 400]),
                      fuel_l_per_100km=np.array([7.0, np.nan]), curb_mass_kg=1500.0)
    res = compliance(china.nev_standard(2022, v), np.array([[conventional, 1000.0]]))
    assert bool(res.obligated[0]) is obligated
    assert res.required[0] == pytest.approx(0.16 * conventional if obligated else 0.0)
    assert res.earned[0] == pytest.approx(2640.0)  # below the threshold NEVs still earn


def test_nev_standard_before_2018_has_no_credits() -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), range_km=np.array([np.nan, 400]),
                      fuel_l_per_100km=np.array([7.0, np.nan]))
    std = china.nev_standard(2016, v)
    assert std.earned_per_vehicle.tolist() == [0.0, 0.0]
    assert std.required_per_vehicle.tolist() == [0.0, 0.0]


def test_offsets_go_nev_to_cafc_only() -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), range_km=np.array([np.nan, 400]),
                      fuel_l_per_100km=np.array([8.0, np.nan]), curb_mass_kg=1500.0)
    nev, cafc = china.nev_standard(2022, v), china.cafc_standard(2022, v)
    sales = np.array([[100_000.0, 20_000.0]])
    rn, rc = compliance(nev, sales), compliance(cafc, sales)
    assert rn.balance[0] > 0 > rc.balance[0]
    n2, c2 = apply_offset(nev, rn, cafc, rc)
    used = min(rn.balance[0], -rc.balance[0])
    assert n2.offset_out[0] == pytest.approx(used)
    assert c2.balance[0] == pytest.approx(rc.balance[0] + used)
    with pytest.raises(InputError) as err:
        apply_offset(cafc, rc, nev, rn)
    assert err.value.field == "offset"


def test_carry_forward_condition() -> None:
    assert china.nev_carry_forward_allowed(2021, np.array([1.23, 1.2301])).tolist() == [True, False]
    assert china.nev_carry_forward_allowed(2020, np.array([5.0])).tolist() == [True]


@pytest.mark.parametrize(("pos", "neg", "action"), [(2.01, 1, "deposit"), (2.0, 1, "none"), (1.5, 1, "none"),
                                                    (1.49, 1, "release"), (1, 0, "deposit")])
def test_credit_pool(pos: float, neg: float, action: str) -> None:
    assert china.credit_pool_action(2024, pos, neg) == action
    assert china.credit_pool_action(2022, pos, neg) == "none"


def test_icct_rule_of_thumb_2020() -> None:
    # ICCT: 12 % ratio at ~3 credits per NEV -> ~4 % NEV share
    assert china.nev_share_for_compliance(2020, 3.0) == pytest.approx(0.12 / 3.12)
    assert round(china.nev_share_for_compliance(2020, 3.0), 2) == 0.04
    with pytest.raises(InputError):
        china.nev_share_for_compliance(2020, 0.0)


# --- Subsidy, tax, plates ----------------------------------------------------------------------

@pytest.mark.parametrize(("year", "pt", "range_km", "price", "expected"), [
    (2013, "BEV", 79, 1e5, 0), (2013, "BEV", 80, 1e5, 35000), (2013, "BEV", 250, 1e5, 60000),
    (2014, "BEV", 150, 1e5, 47500), (2015, "PHEV", 60, 1e5, 31500),
    (2016, "BEV", 99, 1e5, 0), (2016, "BEV", 100, 1e5, 25000), (2017, "BEV", 250, 1e5, 44000),
    (2018, "BEV", 149.9, 1e5, 0), (2018, "BEV", 150, 1e5, 15000), (2018, "BEV", 400, 1e5, 50000),
    (2018, "PHEV", 50, 1e5, 22000), (2018, "PHEV", 49.9, 1e5, 0),
    (2019, "BEV", 249, 1e5, 0), (2019, "BEV", 250, 1e5, 18000), (2019, "BEV", 400, 1e5, 25000),
    (2020, "BEV", 299, 2e5, 0), (2020, "BEV", 300, 3e5, 16200), (2020, "BEV", 300, 300001, 0),
    (2020, "BEV", 400, 2e5, 22500), (2021, "BEV", 400, 2e5, 18000), (2021, "PHEV", 60, 2e5, 6800),
    (2022, "BEV", 350, 2e5, 9100), (2022, "BEV", 500, 2e5, 12600), (2022, "PHEV", 60, 2e5, 4800),
    (2023, "BEV", 500, 2e5, 0), (2030, "BEV", 500, 2e5, 0), (2020, "ICE", np.nan, 1e5, 0),
    (2019, "FCEV", np.nan, 1e5, 0),
])
def test_purchase_subsidy(year, pt, range_km, price, expected) -> None:
    assert float(china.purchase_subsidy_cny(year, pt, range_km, price)) == expected


def test_purchase_subsidy_errors() -> None:
    with pytest.raises(InputError) as err:
        china.purchase_subsidy_cny(2012, "BEV", 300, 1e5)
    assert err.value.field == "year"
    with pytest.raises(InputError) as err:
        china.purchase_subsidy_cny(2020, "BEV", np.nan, 1e5)
    assert err.value.field == "range_km"
    with pytest.raises(InputError) as err:
        china.purchase_subsidy_cny(2020, "Diesel", 300, 1e5)
    assert err.value.field == "powertrain"
    with pytest.raises(InputError) as err:
        china.purchase_subsidy_cny(2020, "BEV", 300, -1)
    assert err.value.field == "price_cny"


@pytest.mark.parametrize(("year", "pt", "taxable", "range_km", "due"), [
    (2014, "BEV", 200_000, 300, 20_000), (2015, "BEV", 200_000, 300, 0), (2023, "PHEV", 500_000, 60, 0),
    (2024, "BEV", 300_000, 400, 0), (2024, "BEV", 400_000, 400, 10_000), (2025, "FCEV", 400_000, None, 10_000),
    (2026, "BEV", 200_000, 400, 10_000), (2026, "BEV", 300_000, 400, 15_000), (2027, "BEV", 400_000, 400, 25_000),
    (2026, "PHEV", 200_000, 99, 20_000), (2026, "PHEV", 200_000, 100, 10_000), (2028, "BEV", 200_000, 400, 20_000),
    (2024, "ICE", 200_000, None, 20_000), (2026, "HEV", 200_000, None, 20_000),
])
def test_purchase_tax(year, pt, taxable, range_km, due) -> None:
    assert float(china.purchase_tax_cny(year, pt, taxable, range_km, price_includes_vat=False)) == pytest.approx(due)


def test_purchase_tax_removes_vat() -> None:
    assert float(china.purchase_tax_cny(2022, "ICE", 113_000)) == pytest.approx(10_000)
    assert float(china.purchase_tax_cny(2017, "ICE", 117_000)) == pytest.approx(10_000)


def test_purchase_tax_phev_range_needed_from_2026() -> None:
    assert float(china.purchase_tax_cny(2025, "PHEV", 200_000, price_includes_vat=False)) == 0
    with pytest.raises(InputError) as err:
        china.purchase_tax_cny(2026, "PHEV", 200_000)
    assert err.value.field == "range_km"


def test_plate_policies() -> None:
    plates = china.plate_policies()
    assert {"Shanghai", "Beijing"} <= set(plates["city"])
    assert plates.query("city == 'Beijing' and year == 2022 and item == 'nev_plate_quota'")["value"].item() == 70000


@pytest.mark.parametrize("known_at", [None, 2018, 2019, 2024])
def test_hold_changes_nothing_inside_the_cafc_coverage(known_at: int | None) -> None:
    """``extend="hold"`` only speaks about years after the CAFC rules' last year.

    Regression: the simulator asks with hold, and Phase IV's flat 5.0 L/100 km (rows to 2020) was
    held into 2021–30, so the Phase V mass curve and its 2026–30 scaling never reached a run.
    """
    last = _tables.coverage("CN", "CAFC", "compliance_factor", known_at=known_at)[1]
    mass = np.array([1000.0, 1575.0, 2000.0, 2600.0])
    v = VehicleArrays(np.array(["ICE", "HEV", "PHEV", "BEV"]), range_km=np.array([np.nan, np.nan, 80.0, 400.0]),
                      fuel_l_per_100km=np.array([6.5, 4.5, 1.5, np.nan]), curb_mass_kg=mass)
    for year in range(2016, last + 1):
        held = china.cafc_standard(year, v, extend="hold", known_at=known_at)
        plain = china.cafc_standard(year, v, known_at=known_at)
        np.testing.assert_array_equal(held.earned_per_vehicle, plain.earned_per_vehicle, err_msg=str(year))
        assert held.sources == plain.sources, year
        np.testing.assert_array_equal(china.cafc_fleet_target_l_per_100km(year, mass, extend="hold", known_at=known_at),
                                      china.cafc_fleet_target_l_per_100km(year, mass, known_at=known_at))
    after = china.cafc_fleet_target_l_per_100km(last + 10, mass, extend="hold", known_at=known_at)
    np.testing.assert_array_equal(after, china.cafc_fleet_target_l_per_100km(last, mass, known_at=known_at))


def test_the_phase_v_curve_reaches_the_held_lookups() -> None:
    """As enacted, a 2026 lookup with hold gives the (scaled) GB 27999-2019 mass curve, not one flat value."""
    mass = np.array([1000.0, 1575.0, 2600.0])
    target = china.cafc_fleet_target_l_per_100km(2026, mass, extend="hold")
    assert target[0] < target[1] < target[2]
