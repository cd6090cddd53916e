"""United States: EPA light-duty GHG standards (MY2027–2032), California ACC II, the 30D credit.

- EPA GHG: credits in Mg CO2 = (standard − actual) g/mi × regulatory lifetime VMT × units / 1e6,
  with lifetime VMT 195,264 mi (cars) and 225,865 mi (light trucks) (40 CFR 86.1865-12(k)(4)).
  The standard is the EPA projected fleet target (footprint curves not encoded); for the
  combined fleet (``fleet="total"``) the VMT is weighted by the car share implied by the three
  projected targets, ``s = (truck − total)/(truck − car)``. EVs count at 0 g/mi (no upstream).
- ACC II: each qualifying ZEV earns 1 vehicle value, each vehicle sold requires the year's
  share; $20,000 per vehicle of shortfall; PHEVs limited to 20 % of the requirement. Applies in
  the adopting states (``covered_share``, ≈ 30 % of US sales; legal status contested).
- 30D: up to $7,500 (MSRP caps from 2023); ended for vehicles acquired after 2025-09-30 (2025
  as a yearly average: 273/365 of the year). 2019–2022: the 200,000-per-maker phase-out (IRC
  30D(e); Tesla, GM, Toyota) as the average share of the full credit a BEV / PHEV buyer got
  (``maker_phaseout_factor_bev`` / ``_phev``). 2023–2025: the share of plug-in buyers who got a
  credit — 30D at purchase (sourcing, final-assembly and income rules) or 45W passed through a
  lease — (``ira_received_share_bev`` / ``_phev``: 0.64 / 0.69 / 0.73, derived from Treasury's
  point-of-sale counts, lease shares and BNEF's eligible-model share).
"""

from __future__ import annotations

import numpy as np

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy.standard import StandardYear
from nevsim.policy.vehicles import POWERTRAINS, VehicleArrays

REGION = "US"
KM_PER_MILE = 1.609344
LITRES_PER_GALLON = 3.785411784
FLEETS = ("car", "truck", "total")


def _fleet(fleet: str) -> str:
    if fleet not in FLEETS:
        raise InputError("fleet", f"unknown fleet {fleet!r}.", FLEETS)
    return fleet


def ghg_target_g_per_mile(year: int, fleet: str = "total", *, extend: str | None = None) -> float:
    """EPA projected fleet-average CO2 target (g/mile) for MY ``year`` (2027–2032, held after)."""
    return t.value(REGION, "GHG", f"target_{_fleet(fleet)}_g_per_mile", year, extend=extend)


def ghg_lifetime_vmt_miles(year: int, fleet: str = "total") -> float:
    """Regulatory lifetime VMT used in the GHG credit formula (miles)."""
    fleet = _fleet(fleet)
    car = t.value(REGION, "GHG", "lifetime_vmt_car_miles", year)
    truck = t.value(REGION, "GHG", "lifetime_vmt_truck_miles", year)
    if fleet == "car":
        return car
    if fleet == "truck":
        return truck
    tc, tt, tot = (ghg_target_g_per_mile(year, f, extend="hold") for f in ("car", "truck", "total"))
    share_car = (tt - tot) / (tt - tc)
    return share_car * car + (1.0 - share_car) * truck


def tailpipe_co2_g_per_mile(vehicles: VehicleArrays, year: int) -> np.ndarray:
    """Tailpipe CO2 (g/mile): ``co2_g_per_km × 1.609``, else from fuel (8,887 g/gal), BEV/FCEV 0."""
    co2_km = vehicles.get("co2_g_per_km")
    g_per_gal = t.value(REGION, "GHG", "gasoline_co2_g_per_gallon", year)
    from_fuel = vehicles.get("fuel_l_per_100km") / 100.0 / LITRES_PER_GALLON * g_per_gal
    co2_km = np.where(np.isfinite(co2_km), co2_km, from_fuel)
    co2_km = np.where(vehicles.mask("BEV", "FCEV"), 0.0, co2_km)
    missing = ~np.isfinite(co2_km)
    if missing.any():
        raise InputError("co2_g_per_km", f"CO2 or fuel consumption required for ICE/HEV/PHEV; missing for "
                         f"{int(missing.sum())} vehicle(s).", ["a number ≥ 0"])
    return co2_km * KM_PER_MILE


def ghg_standard(year: int, vehicles: VehicleArrays, *, fleet: str = "total",
                 extend: str | None = None) -> StandardYear:
    """EPA light-duty GHG standard of MY ``year`` in Mg CO2 per vehicle (no per-credit fine)."""
    year = t.check_year(year)
    target_row = t.row(REGION, "GHG", f"target_{_fleet(fleet)}_g_per_mile", year, extend=extend)
    vmt = ghg_lifetime_vmt_miles(year, fleet)
    actual = tailpipe_co2_g_per_mile(vehicles, year)
    ones = np.ones(vehicles.shape)
    rows = [target_row, t.row(REGION, "GHG", "lifetime_vmt_car_miles", year),
            t.row(REGION, "GHG", "carry_forward_years", year)]
    return StandardYear(
        name="US-GHG", region=REGION, year=year, credit_unit="Mg CO2",
        earned_per_vehicle=target_row.value * vmt / 1e6 * ones, required_per_vehicle=actual * vmt / 1e6,
        price_cap=None, currency="USD", carry_forward_fraction=1.0,
        carry_forward_years=int(t.value(REGION, "GHG", "carry_forward_years", year)), offsets=(),
        min_obligated_volume=0.0, sources=tuple(sorted({s for r in rows for s in r.sources})),
        status=min((r.status for r in rows), key=lambda s: t.STATUS_ORDER[s]),
        notes=("projected fleet target used (footprint curves not encoded)",
               "legal status of the 2024 rule may change (2025 federal review)"),
    )


def acc2_requirement(year: int, *, extend: str | None = None) -> float:
    """ACC II ZEV share requirement for MY ``year`` (0.35 in 2026 … 1.0 from 2035)."""
    return t.value(REGION, "ACC2", "zev_requirement", year, extend=extend)


def acc2_market_share(year: int) -> float:
    """Share of US light-duty sales in the states that adopted ACC II (≈ 0.30, status S)."""
    return t.value(REGION, "ACC2", "adopting_states_market_share", year, extend="hold")


def acc2_standard(year: int, vehicles: VehicleArrays, *, extend: str | None = None) -> StandardYear:
    """California ACC II as a :class:`StandardYear` (vehicle values; $20,000 per shortfall)."""
    year = t.check_year(year)
    req = t.row(REGION, "ACC2", "zev_requirement", year, extend=extend)
    r = np.nan_to_num(vehicles.get("range_km"), nan=0.0)
    zmin = t.value(REGION, "ACC2", "zev_min_range_km", year)
    pmin = t.value(REGION, "ACC2", "phev_min_range_km", year)
    is_zev = vehicles.mask("BEV", "FCEV")
    is_phev = vehicles.mask("PHEV")
    if (vehicles.mask("BEV") & ~np.isfinite(vehicles.get("range_km"))).any():
        raise InputError("range_km", "required for BEVs under ACC II (150-mile minimum).", ["a range in km"])
    earned = np.where(is_zev & ((r >= zmin) | vehicles.mask("FCEV")), 1.0, 0.0)
    earned = np.where(is_phev & (r >= pmin), 1.0, earned)
    names = ["zev_requirement", "shortfall_penalty_usd", "adopting_states_market_share", "zev_min_range_km",
             "phev_min_range_km", "phev_max_share_of_requirement", "carry_forward_years"]
    rows = [t.row(REGION, "ACC2", n, year, extend="hold") for n in names]
    return StandardYear(
        name="US-ACC2", region=REGION, year=year, credit_unit="ZEV vehicle value",
        earned_per_vehicle=earned, required_per_vehicle=req.value * np.ones(vehicles.shape),
        price_cap=t.value(REGION, "ACC2", "shortfall_penalty_usd", year, extend="hold"), currency="USD",
        carry_forward_fraction=1.0, carry_forward_years=int(rows[-1].value), offsets=(),
        min_obligated_volume=0.0, sources=tuple(sorted({s for x in rows for s in x.sources})),
        capped_mask=is_phev,
        capped_max_share=t.value(REGION, "ACC2", "phev_max_share_of_requirement", year, extend="hold"),
        covered_share=acc2_market_share(year),
        status=min((x.status for x in rows), key=lambda s: t.STATUS_ORDER[s]),
        notes=("applies to sales in adopting states only (covered_share)",
               "partial PHEV values 2026-28, FCEV range rules and early-action credits not encoded"),
    )


def ev_tax_credit_usd(year: int, powertrain: object, price_usd: object, *, battery_kwh: object = None,
                      body: str = "car") -> np.ndarray:
    """Federal clean-vehicle credit (30D) per new vehicle, USD, as a yearly average.

    2010–2022: 2,917 + 417 × (kWh − 5), max 7,500 (battery ≥ 7 kWh; unknown battery ⇒ the
    maximum); 2023–2025: 7,500 if MSRP ≤ 55,000 (cars) / 80,000 (other), times the share of
    plug-in buyers who received a credit (below); 2025 × 273/365 (ended for vehicles acquired
    after 2025-09-30); 0 from 2026. ICE/HEV 0.

    The one average vehicle per segment stands for every maker's, so BEVs and PHEVs get the
    credit times the expected share its buyers received under the 200,000-per-maker phase-out
    (IRC 30D(e)): ``factor_y = 1 − Σ_m s_m,y (1 − f_m,y)``, ``s`` the maker's share of US BEV
    (PHEV) sales, ``f`` the share of the full credit its buyers got in year ``y`` (Tesla 0.375 in
    2019, 0 from 2020; GM 0.58 in 2019, 0.07 in 2020, 0 after; Toyota 50 % in 2022 Q4). It is 1
    to 2018 and from 2023 (the Inflation Reduction Act lifted the cap); FCEVs are not scaled.
    Sources and the shares: ``params/parameters.csv`` rows ``maker_phaseout_factor_bev/_phev``.

    From 2023 the IRA's sourcing, North-American final-assembly and buyer-income rules kept many
    buyers from the 30D credit, while most lessees got 7,500 USD through the commercial credit
    (45W) passed through by the lessor. BEVs and PHEVs therefore get the credit times the share of
    the full credit an average plug-in buyer received, ``e_y = L_y + (1 − L_y) p_y`` (``L`` the
    share of new EVs leased, ``p`` the share of non-leased buyers who got 30D): 0.640 in 2023
    (Experian L 0.22; BNEF: p ≈ the eligible-model share 0.43 + 0.5 × 0.22), 0.690 in 2024
    (Treasury: 250,000 point-of-sale transfers to September over 93 % take-up = 24.6 % of plug-ins;
    Experian L 0.44), 0.726 in 2025 (L 0.52; 2024's p held). 1 before 2023 (the per-maker factor
    applies there). FCEVs are not scaled. Rows ``ira_received_share_bev/_phev`` (D; one plug-in-wide
    share, no BEV/PHEV split was found).
    """
    year = t.check_year(year)
    if body not in ("car", "other"):
        raise InputError("body", f"unknown body {body!r}.", ["car", "other"])
    pt = np.asarray(powertrain).astype(str)
    bad = sorted(set(np.unique(pt)) - set(POWERTRAINS))
    if bad:
        raise InputError("powertrain", f"unknown powertrain(s) {bad}.", POWERTRAINS)
    price = np.asarray(price_usd, dtype=float)
    if np.any(~np.isfinite(price)) or np.any(price < 0) or np.any(price > 1e7):
        raise InputError("price_usd", "must be a finite amount ≥ 0.", ["0–10,000,000"])
    share = t.value(REGION, "IRA30D", "eligible_share_of_year", year)
    plug = np.isin(pt, ("BEV", "PHEV", "FCEV"))
    shape = np.broadcast_shapes(pt.shape, price.shape)
    if share == 0:
        return np.zeros(shape)
    max_usd = t.value(REGION, "IRA30D", "credit_max_usd", year)
    kwh = np.full(shape, np.nan) if battery_kwh is None else np.asarray(battery_kwh, dtype=float)
    min_kwh = t.value(REGION, "IRA30D", "min_battery_kwh", year)
    if year <= 2022:
        base = t.value(REGION, "IRA30D", "credit_base_usd", year)
        per = t.value(REGION, "IRA30D", "credit_per_kwh_usd", year)
        amount = np.where(np.isfinite(kwh), np.minimum(base + per * np.maximum(kwh - 5.0, 0.0), max_usd), max_usd)
    else:
        cap = t.value(REGION, "IRA30D", f"msrp_cap_{body}_usd", year)
        amount = np.where(price <= cap, max_usd, 0.0)
    amount = np.where(np.isfinite(kwh) & (kwh < min_kwh), 0.0, amount)
    received = {p: t.value(REGION, "IRA30D", f"maker_phaseout_factor_{p.lower()}", year)
                * t.value(REGION, "IRA30D", f"ira_received_share_{p.lower()}", year) for p in ("BEV", "PHEV")}
    factor = np.where(pt == "BEV", received["BEV"], np.where(pt == "PHEV", received["PHEV"], 1.0))
    return np.broadcast_to(np.where(plug, amount * share * factor, 0.0), shape).copy()
