"""US (EPA GHG, ACC II, 30D) and EU CO2 rules."""

from __future__ import annotations

import numpy as np
import pytest

from nevsim.errors import InputError
from nevsim.policy import VehicleArrays, compliance, eu, us


@pytest.mark.parametrize(("year", "car", "truck", "total"), [
    (2027, 139, 184, 170), (2028, 125, 165, 153), (2029, 112, 146, 136), (2030, 99, 128, 119),
    (2031, 86, 109, 102), (2032, 73, 90, 85), (2040, 73, 90, 85)])
def test_ghg_targets(year, car, truck, total) -> None:
    assert [us.ghg_target_g_per_mile(year, f) for f in ("car", "truck", "total")] == [car, truck, total]


def test_ghg_years_and_fleet_errors() -> None:
    with pytest.raises(InputError) as err:
        us.ghg_target_g_per_mile(2026)
    assert err.value.field == "year"
    with pytest.raises(InputError) as err:
        us.ghg_target_g_per_mile(2030, "bus")
    assert err.value.field == "fleet"


def test_ghg_vmt() -> None:
    assert us.ghg_lifetime_vmt_miles(2030, "car") == 195_264
    assert us.ghg_lifetime_vmt_miles(2030, "truck") == 225_865
    share = (128 - 119) / (128 - 99)
    assert us.ghg_lifetime_vmt_miles(2030) == pytest.approx(share * 195_264 + (1 - share) * 225_865)


def test_ghg_standard_credits_in_mg() -> None:
    v = VehicleArrays(np.array(["BEV", "ICE", "ICE"]), range_km=np.array([400, np.nan, np.nan]),
                      co2_g_per_km=np.array([np.nan, 150.0, np.nan]), fuel_l_per_100km=np.array([np.nan, np.nan, 8.0]))
    std = us.ghg_standard(2030, v, fleet="car")
    vmt = 195_264
    assert std.net_per_vehicle[0] == pytest.approx(99 * vmt / 1e6)
    assert std.net_per_vehicle[1] == pytest.approx((99 - 150 * 1.609344) * vmt / 1e6)
    g_per_mile = 8.0 / 100 / 3.785411784 * 8887 * 1.609344
    assert std.net_per_vehicle[2] == pytest.approx((99 - g_per_mile) * vmt / 1e6)
    assert std.price_cap is None and std.credit_unit == "Mg CO2" and std.carry_forward_years == 5


def test_ghg_needs_co2_or_fuel() -> None:
    with pytest.raises(InputError) as err:
        us.ghg_standard(2030, VehicleArrays.single("ICE"))
    assert err.value.field == "co2_g_per_km"


@pytest.mark.parametrize(("year", "req"), [(2026, 0.35), (2027, 0.43), (2028, 0.51), (2030, 0.68), (2035, 1.0)])
def test_acc2_requirement(year, req) -> None:
    assert us.acc2_requirement(year) == req


def test_acc2_standard() -> None:
    v = VehicleArrays(np.array(["BEV", "BEV", "PHEV", "PHEV", "ICE", "FCEV"]),
                      range_km=np.array([240, 241, 79, 80, np.nan, np.nan]))
    std = us.acc2_standard(2030, v)
    assert std.earned_per_vehicle.tolist() == [0, 1, 0, 1, 0, 1]
    assert std.required_per_vehicle.tolist() == [0.68] * 6
    assert std.price_cap == 20_000 and std.currency == "USD"
    assert std.covered_share == 0.30
    res = compliance(std, np.array([[0, 10, 0, 80, 10, 0]]))  # required 68; PHEV capped at 13.6
    assert res.earned[0] == pytest.approx(10 + 0.2 * 68)
    with pytest.raises(InputError):
        us.acc2_standard(2025, v)


@pytest.mark.parametrize(("year", "pt", "price", "kwh", "body", "usd"), [
    (2015, "BEV", 40_000, 16, "car", 7500), (2015, "PHEV", 40_000, 10, "car", 2917 + 417 * 5),
    (2015, "PHEV", 40_000, 6, "car", 0), (2015, "BEV", 40_000, None, "car", 7500),
    (2023, "BEV", 55_000, None, "car", 7500 * 0.640), (2023, "BEV", 55_001, None, "car", 0),
    (2024, "BEV", 80_000, None, "other", 7500 * 0.690), (2024, "BEV", 80_001, None, "other", 0),
    (2024, "PHEV", 50_000, 16, "car", 7500 * 0.690),
    (2025, "BEV", 40_000, None, "car", 7500 * 0.7479 * 0.726), (2026, "BEV", 40_000, None, "car", 0),
    (2024, "ICE", 30_000, None, "car", 0)])
def test_30d(year, pt, price, kwh, body, usd) -> None:
    assert float(us.ev_tax_credit_usd(year, pt, price, battery_kwh=kwh, body=body)) == pytest.approx(usd)


#: The 200,000-per-maker phase-out as the average share of the full credit (parameters.csv, D)
PHASEOUT = {2019: (0.4853, 0.9859), 2020: (0.0447, 1.0), 2021: (0.1896, 1.0), 2022: (0.3153, 0.9748)}
#: The share of the full credit an average plug-in buyer received under the IRA (30D or 45W lease; D)
IRA_RECEIVED = {2023: 0.640, 2024: 0.690, 2025: 0.726}


@pytest.mark.parametrize("year", [2017, 2018, 2019, 2020, 2021, 2022, 2023, 2024])
def test_30d_maker_phaseout(year: int) -> None:
    """2019–2022 a BEV / PHEV buyer got the full credit times the expected phase-out share (Tesla
    from 2019, GM from 2019-04, Toyota from 2022-10); to 2018 the full credit; from 2023 (IRA: no
    per-maker cap) the full credit times the IRA's received share. FCEVs are not scaled."""
    pt = np.array(["BEV", "PHEV", "FCEV", "ICE"])
    got = us.ev_tax_credit_usd(year, pt, 40_000.0, battery_kwh=np.array([60.0, 16.0, np.nan, np.nan]))
    bev, phev = PHASEOUT.get(year, (1.0, 1.0))
    ira = IRA_RECEIVED.get(year, 1.0)
    np.testing.assert_allclose(got, [7500 * bev * ira, 7500 * phev * ira, 7500, 0])
    if year in PHASEOUT:
        assert got[0] < 7500 and got[0] < got[1]
    elif year not in IRA_RECEIVED:
        assert (got[:3] == 7500).all()


@pytest.mark.parametrize("year", range(2010, 2031))
def test_30d_ira_received_share_only_2023_2025(year: int) -> None:
    """The IRA received share (``ira_received_share_bev/_phev``) lowers the BEV / PHEV credit in
    2023–2025 only: credit = 7,500 × share of the year × phase-out factor × received share, the
    received share 1 before 2023 and after 2025 and below 1 (0.64 / 0.69 / 0.73) in between."""
    from nevsim.policy import _tables as t

    pt = np.array(["BEV", "PHEV", "FCEV"])
    got = us.ev_tax_credit_usd(year, pt, 40_000.0, battery_kwh=np.array([60.0, 16.0, np.nan]))
    of_year = t.value("US", "IRA30D", "eligible_share_of_year", year)
    for i, name in enumerate(("bev", "phev")):
        ira = t.value("US", "IRA30D", f"ira_received_share_{name}", year)
        assert ira == IRA_RECEIVED.get(year, 1.0)
        if of_year == 0:  # ended: nothing paid, the per-maker rows stop at 2025
            assert got[i] == 0.0
            continue
        maker = t.value("US", "IRA30D", f"maker_phaseout_factor_{name}", year)
        assert got[i] == pytest.approx(7500 * of_year * maker * ira)
    assert got[2] == pytest.approx(7500 * of_year)  # FCEV not scaled
    if year in IRA_RECEIVED:
        assert 0 < got[0] < 7500 * of_year


def test_30d_ira_received_share_within_bounds_and_sourced() -> None:
    """The received shares are in [0, 1], derived (D) with their inputs named in 2023–2025, and
    every source key resolves in sources.csv."""
    from nevsim.policy import _tables as t

    keys = set(t.sources()["source_key"])
    for name in ("ira_received_share_bev", "ira_received_share_phev"):
        for year in range(2010, 2061):
            r = t.row("US", "IRA30D", name, year)
            assert 0.0 <= r.value <= 1.0
            assert r.sources and set(r.sources) <= keys
            assert (r.value < 1.0) == (2023 <= year <= 2025)
        for year in IRA_RECEIVED:
            r = t.row("US", "IRA30D", name, year)
            assert r.status == "D" and r.revision == "ira" and "lease" in r.note
        assert "Treasury-2024-10-01" in t.row("US", "IRA30D", name, 2024).sources
        assert "BNEF-2023-04" in t.row("US", "IRA30D", name, 2023).sources


def test_30d_phaseout_within_bounds_and_sourced() -> None:
    """The factors are shares in [0, 1], 1 outside 2019–2022, and every year row names its sources."""
    from nevsim.policy import _tables as t

    for name in ("maker_phaseout_factor_bev", "maker_phaseout_factor_phev"):
        for year in range(2010, 2026):
            r = t.row("US", "IRA30D", name, year)
            assert 0.0 <= r.value <= 1.0
            assert r.value == 1.0 or 2019 <= year <= 2022
            assert r.sources and r.status in ("V", "D")
        assert t.row("US", "IRA30D", name, 2020).status == "D"
        assert {"IRS-2018-96", "IRS-2019-22", "IEA-GEVO-2025"} <= set(t.row("US", "IRA30D", name, 2019).sources)


def test_30d_errors() -> None:
    with pytest.raises(InputError):
        us.ev_tax_credit_usd(2009, "BEV", 1e4)
    with pytest.raises(InputError):
        us.ev_tax_credit_usd(2024, "BEV", 1e4, body="truck")
    with pytest.raises(InputError):
        us.ev_tax_credit_usd(2024, "EV", 1e4)


@pytest.mark.parametrize(("year", "target"), [(2020, 95), (2024, 95), (2025, 93.6), (2029, 93.6), (2030, 49.5),
                                              (2034, 49.5), (2035, 0)])
def test_eu_targets(year, target) -> None:
    assert eu.co2_target_g_per_km(year) == target


@pytest.mark.parametrize(("year", "sc"), [(2020, 2.0), (2021, 1.67), (2022, 1.33), (2023, 1.0)])
def test_eu_supercredits(year, sc) -> None:
    assert eu.supercredit_multiplier(year) == sc


def test_eu_2020_supercredits_in_compliance() -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), co2_g_per_km=np.array([105.0, np.nan]))
    std = eu.co2_standard(2020, v)
    res = compliance(std, np.array([[9000.0, 1000.0]]))
    avg = 105 * 9000 / (9000 + 2 * 1000)
    assert res.balance[0] == pytest.approx((95 - avg) * 10_000)
    assert std.price_cap == 95 and std.currency == "EUR"


def test_eu_2025_zlev_relief_and_averaging() -> None:
    v = VehicleArrays(np.array(["ICE", "BEV"]), co2_g_per_km=np.array([120.0, np.nan]))
    std = eu.co2_standard(2025, v)
    res = compliance(std, np.array([[6000.0, 4000.0], [9000.0, 1000.0]]))
    # maker 0: ZLEV share 40 % -> target +5 % (cap); maker 1: 10 % < 25 % -> no relief
    assert res.balance[0] == pytest.approx((93.6 * 1.05 - 72.0) * 10_000)
    assert res.balance[1] == pytest.approx((93.6 - 108.0) * 10_000)
    assert std.carry_forward_years == 2 and std.carry_forward_fraction == 1.0
    assert eu.co2_standard(2028, v).carry_forward_years == 0


def test_eu_small_makers_exempt() -> None:
    v = VehicleArrays(np.array(["ICE"]), co2_g_per_km=np.array([200.0]))
    res = compliance(eu.co2_standard(2030, v), np.array([[999.0], [1000.0]]))
    assert res.obligated.tolist() == [False, True]
    assert res.balance[0] == 0.0
    assert res.balance[1] == pytest.approx((49.5 - 200) * 1000)


def test_eu_needs_co2_and_coverage() -> None:
    with pytest.raises(InputError) as err:
        eu.co2_standard(2025, VehicleArrays.single("PHEV", range_km=60))
    assert err.value.field == "co2_g_per_km"
    with pytest.raises(InputError):
        eu.co2_target_g_per_km(2019)


@pytest.mark.parametrize(("range_km", "year", "uf"), [(50.0, 2022, 0.755), (61.0, 2025, 0.807), (0.0, 2022, 0.0),
                                                      (61.0, 2026, 0.497), (61.0, 2028, 0.307)])
def test_wltp_utility_factor(range_km: float, year: int, uf: float) -> None:
    """The WLTP fleet utility factor (JRC coefficients, d_n 800 km; 2,200 with Euro 6e-bis from 2026,
    4,260 with 6e-bis-FCM from 2028): 0.755 at 50 km is the curve's known value."""
    assert float(eu.wltp_utility_factor(range_km, year)) == pytest.approx(uf, abs=5e-4)


def test_wltp_utility_factor_rises_with_range_and_falls_with_the_normalisation_distance() -> None:
    ranges = np.linspace(0.0, 300.0, 61)
    for year in (2022, 2026, 2030):
        uf = eu.wltp_utility_factor(ranges, year)
        assert np.all(np.diff(uf) >= 0) and uf[0] == 0.0 and np.all(uf < 1.0)
    assert np.all(eu.wltp_utility_factor(ranges[1:], 2022) > eu.wltp_utility_factor(ranges[1:], 2026))
