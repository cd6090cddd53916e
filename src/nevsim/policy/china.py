"""China: dual-credit policy (NEV credits + CAFC), purchase subsidy, purchase tax, trade-in scheme, plates.

All numbers come from ``params/parameters.csv`` and ``params/bands.csv`` (each row with its
source and status; see :func:`nevsim.policy.audit`). Functions are vectorised over
:class:`~nevsim.policy.vehicles.VehicleArrays`.

NEV credits: Order 44 for 2018–2020, Order 53 for 2021–2023; for 2024–2025 the 2023 decision
amending the Measures (reported as issued by MIIT and three departments, in force 2023-08-01,
standard credits cut ~40 % on average: 快科技 2023-07-07, read in a copy at
http://www.putggrq.cn/auto/xinche/2023/0707/1928203.html, status S; called "Order 64" here, the
number not confirmed), whose per-vehicle coefficients are **the ones reported for its 2023
draft** (status U); notice 294/2025 for 2026–2027 (annex not retrieved). See ``REVISION_TITLES``
and the audit for what is unconfirmed:

- BEV: ``standard = min(a·R + b, cap)`` for ``R ≥ R_min`` (0 below), then
  ``credit = standard × range_factor(R) × efficiency_factor(E, m) × density_factor(ρ)``
  (Order 44 also caps the final credit at 6). Efficiency: the consumption condition
  ``Y_max(m) = k·m + c`` by curb-mass band; Order 44: 0.5 if ``E > Y_max``, 1.2 if
  ``E ≤ 0.65·Y_max``, else 1; Order 53: 0.5 if ``E > Y_max``, else ``clip(Y_max/E, 1, 1.5)``.
  Unknown consumption or mass ⇒ factor 1 (assumed to meet the condition); unknown energy
  density ⇒ top band (factor 1).
- PHEV: a fixed credit when the electric range ≥ 50 km (0 below).
- FCEV: ``min(k·P, cap)`` with ``P`` the rated fuel-cell power (kW).

NEV requirement per maker: ``ratio(t) × Σ conventional units × weight`` where low-fuel-
consumption conventional cars (fuel ≤ threshold × their GB 27999 target) weigh
``low_fc_weight(t)``; makers under 30,000 conventional units have none.

CAFC: fleet average ``A = Σ fuel·n / Σ w·n`` (BEV/FCEV fuel 0, NEVs weighted by the
multiplier ``w``) against ``T = factor(t) × Σ T_i(m)·n / Σ n``; credit ``(T − A) × Σ n``.

Every function takes ``known_at`` (None: as enacted; a cutoff year: the rules as issued by the
end of it, ``params/vintages.csv``): a later year then has the last credit formula, banking rule
and CAFC phase issued by the cutoff, held (docs/backtest.md, "Policies as known at the cutoff").
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy.standard import StandardYear
from nevsim.policy.vehicles import CONVENTIONAL_POWERTRAINS, NEV_POWERTRAINS, POWERTRAINS, VehicleArrays

REGION = "CN"
NEV_FIRST_YEAR = 2018  # Order 44 in force 2018-04-01; no per-vehicle NEV credits before
TRADE_IN_LAST_YEAR = 2026  # the last year of the trade-in scheme as enacted (params: TRADEIN trade_in_active; tested)


def _status(rows: list[t.Row | t.Bands | None]) -> str:
    stats = [r.status for r in rows if r is not None]
    return min(stats, key=lambda s: t.STATUS_ORDER.get(s, 0)) if stats else "V"


def _sources(rows: list[t.Row | t.Bands | None]) -> tuple[str, ...]:
    out: set[str] = set()
    for r in rows:
        if r is not None:
            out.update(r.sources)
    return tuple(sorted(out))


def nev_ratio(year: int, *, extend: str | None = None, known_at: int | None = None) -> float:
    """NEV credit ratio requirement of ``year`` (share of the conventional base; 0 before 2019).

    Years after the last set year (2027; as known at ``known_at``: the last year the rules
    issued by then set) raise :class:`InputError` unless ``extend="hold"``.
    """
    return t.value(REGION, "NEV", "nev_ratio", year, extend=extend, known_at=known_at)


def low_fc_weight(year: int, *, extend: str | None = None, known_at: int | None = None) -> float:
    """Weight of a low-fuel-consumption conventional PV in the NEV target base (1 before 2021)."""
    return t.value(REGION, "NEV", "low_fc_weight", year, extend=extend, known_at=known_at)


def nev_revision(year: int, *, extend: str | None = None, known_at: int | None = None) -> str:
    """Name of the per-vehicle NEV credit rule in force (order44, order53, order64, miit2025).

    ``known_at``: the rule as known at the end of that year (a later year holds the last formula
    issued by then, ``params/vintages.csv``).
    """
    return t.row(REGION, "NEV", "bev_slope", year, extend=extend, known_at=known_at).revision


REVISION_TITLES = {
    "order44": "Order No. 44 (2017), per-vehicle credits for 2018–2020",
    "order53": "Order No. 53 (2020), per-vehicle credits for 2021–2023",
    "order64": "Order No. 64 (2023 decision amending the Measures, in force 2023-08-01), per-vehicle credits "
               "for 2024–2025 (coefficients as reported for the 2023 draft; unconfirmed)",
    "miit2025": "MIIT notice 294/2025 for 2026–2027: standard values cut ~50 % on average vs Order 64 "
                "(annex not retrieved; Order 64 values × 0.5 as a placeholder)",
}


def _check_nev_year(year: int, extend: str | None, known_at: int | None = None) -> int:
    year = t.check_year(year)
    if year < NEV_FIRST_YEAR:
        raise InputError("year", f"{year} is before the NEV credit system (Order 44, from 2018).",
                         [f"{NEV_FIRST_YEAR}–{t.coverage(REGION, 'NEV', 'bev_slope', known_at=known_at)[1]}"])
    t.row(REGION, "NEV", "bev_slope", year, extend=extend, known_at=known_at)  # raises outside coverage
    return year


def _p(name: str, year: int, revision: str | None, extend: str | None,
       standard: str = "NEV", known_at: int | None = None) -> t.Row | None:
    try:
        return t.row(REGION, standard, name, year, revision=revision, extend=extend, known_at=known_at)
    except InputError:
        return None


def _bands(name: str, year: int, revision: str | None, extend: str | None,
           known_at: int | None = None) -> t.Bands | None:
    last = t.band_years(REGION, "NEV", name, known_at)[1]
    y = min(year, last) if extend == "hold" else year
    found = t.bands(REGION, "NEV", name, "BEV", y, revision=revision, known_at=known_at)
    return found if found is not None else t.bands(REGION, "NEV", name, "BEV", y, known_at=known_at)


def _require(vehicles: VehicleArrays, pts: tuple[str, ...], attr: str, why: str) -> np.ndarray:
    values = vehicles.get(attr)
    mask = vehicles.mask(*pts)
    missing = mask & ~np.isfinite(values)
    if missing.any():
        raise InputError(attr, f"required for {'/'.join(pts)} ({why}); missing for {int(missing.sum())} "
                         "vehicle(s).", ["a number ≥ 0"])
    return values


def nev_credit_breakdown(year: int, vehicles: VehicleArrays, *, revision: str | None = None,
                         extend: str | None = None, known_at: int | None = None) -> dict[str, object]:
    """Per-vehicle NEV credits with their parts.

    Returns a dict with arrays ``standard_credit``, ``range_factor``, ``efficiency_factor``,
    ``density_factor``, ``credit`` (all of the vehicles' shape; 0 for ICE/HEV) and
    ``revision``, ``rule``, ``sources``, ``status``, ``notes``. ``known_at``: the formula as
    known at the end of that year (the last one issued by then, held; ``params/vintages.csv``).
    """
    year = _check_nev_year(year, extend, known_at)
    if revision is not None and revision not in REVISION_TITLES:
        raise InputError("revision", f"unknown NEV credit revision {revision!r}.", list(REVISION_TITLES))
    rev = revision or nev_revision(year, extend=extend, known_at=known_at)
    shape = vehicles.shape
    is_bev, is_phev, is_fcev = vehicles.mask("BEV"), vehicles.mask("PHEV"), vehicles.mask("FCEV")
    used: list[t.Row | t.Bands | None] = []
    notes: list[str] = []

    def p(name: str) -> t.Row | None:
        r = _p(name, year, rev, extend, known_at=known_at)
        used.append(r)
        return r

    # Work on flat index subsets of each powertrain (cheap for large, mixed arrays).
    size = int(np.prod(shape))
    standard, credit = np.zeros(size), np.zeros(size)
    rf, ef, df = np.ones(size), np.ones(size), np.ones(size)

    def sub(attr: str, idx: np.ndarray) -> np.ndarray:
        return vehicles.get(attr).reshape(-1)[idx]

    bev = np.flatnonzero(is_bev.reshape(-1))
    if bev.size:
        _require(vehicles, ("BEV",), "range_km", "the BEV credit depends on range")
        r_km = sub("range_km", bev)
        slope, icpt, cap, rmin = p("bev_slope"), p("bev_intercept"), p("bev_standard_cap"), p("bev_min_range_km")
        assert slope and icpt and cap and rmin
        std_b = np.where(r_km >= rmin.value, np.minimum(slope.value * r_km + icpt.value, cap.value), 0.0)
        rb = _bands("bev_range_factor", year, rev, extend, known_at)
        used.append(rb)
        rf_b = rb.lookup(r_km, outside=1.0) if rb is not None else np.ones(bev.size)
        db = _bands("bev_density_factor", year, rev, extend, known_at)
        used.append(db)
        df_b = np.ones(bev.size)
        if db is not None:
            dens = sub("battery_wh_per_kg", bev)
            df_b = db.lookup(dens, outside=1.0)
            if (~np.isfinite(dens)).any():
                notes.append("battery energy density not given: top band assumed (factor 1)")
        e, m = sub("energy_kwh_per_100km", bev), sub("curb_mass_kg", bev)
        ks = _bands("bev_eff_condition_slope", year, rev, extend, known_at)
        kc = _bands("bev_eff_condition_intercept", year, rev, extend, known_at)
        used.extend([ks, kc])
        known = np.isfinite(e) & np.isfinite(m) & (e > 0)
        if not known.all():
            notes.append("energy consumption or curb mass not given: assumed to meet the condition (factor 1)")
        ef_b = np.ones(bev.size)
        if ks is not None and kc is not None and known.any():
            ek, mk = e[known], m[known]
            y_max = ks.lookup(mk, outside=np.nan) * mk + kc.lookup(mk, outside=np.nan)
            fail, top = p("bev_eff_fail_factor"), p("bev_eff_max_factor")
            assert fail and top
            best_share = _p("bev_eff_best_share", year, rev, extend, known_at=known_at)
            if best_share is not None:  # Order 44 style: three steps
                used.append(best_share)
                best = p("bev_eff_best_factor")
                assert best
                f = np.where(ek > y_max, fail.value, np.where(ek <= best_share.value * y_max, best.value, 1.0))
            else:  # Order 53 style: proportional, capped
                f = np.where(ek > y_max, fail.value, np.clip(y_max / ek, 1.0, top.value))
            ef_b[known] = f
        credit_b = std_b * rf_b * ef_b * df_b
        final_cap = _p("bev_credit_max", year, rev, extend, known_at=known_at)
        if final_cap is not None:
            used.append(final_cap)
            credit_b = np.minimum(credit_b, final_cap.value)
        standard[bev], rf[bev], ef[bev], df[bev], credit[bev] = std_b, rf_b, ef_b, df_b, credit_b
    phev = np.flatnonzero(is_phev.reshape(-1))
    if phev.size:
        _require(vehicles, ("PHEV",), "range_km", "PHEV credits need ≥ 50 km electric range")
        pc, pmin = p("phev_credit"), p("phev_min_range_km")
        assert pc and pmin
        val = np.where(sub("range_km", phev) >= pmin.value, pc.value, 0.0)
        standard[phev], credit[phev] = val, val
        notes.append("PHEV 0.5x factor for missing the charge-sustaining fuel condition is not modelled")
    fcev = np.flatnonzero(is_fcev.reshape(-1))
    if fcev.size:
        _require(vehicles, ("FCEV",), "fc_power_kw", "the FCEV credit depends on fuel-cell power")
        fs, fcap = p("fcev_slope_per_kw"), p("fcev_cap")
        assert fs and fcap
        val = np.minimum(fs.value * sub("fc_power_kw", fcev), fcap.value)
        standard[fcev], credit[fcev] = val, val
    standard, credit, rf, ef, df = (a.reshape(shape) for a in (standard, credit, rf, ef, df))
    return {
        "standard_credit": standard, "range_factor": rf, "efficiency_factor": ef, "density_factor": df,
        "credit": credit, "revision": rev, "rule": REVISION_TITLES.get(rev, rev),
        "sources": _sources(used), "status": _status(used), "notes": tuple(dict.fromkeys(notes)),
    }


def nev_credits_per_vehicle(year: int, vehicles: VehicleArrays, *, revision: str | None = None,
                            extend: str | None = None, known_at: int | None = None) -> np.ndarray:
    """NEV credits earned per vehicle (0 for ICE/HEV). See :func:`nev_credit_breakdown`."""
    return nev_credit_breakdown(year, vehicles, revision=revision, extend=extend,  # type: ignore[return-value]
                                known_at=known_at)["credit"]


def max_bev_credit(year: int, *, revision: str | None = None, extend: str | None = None,
                   known_at: int | None = None) -> float:
    """Largest credit a BEV can earn in ``year`` (cap × largest factors, or the final cap)."""
    year = _check_nev_year(year, extend, known_at)
    rev = revision or nev_revision(year, extend=extend, known_at=known_at)
    final = _p("bev_credit_max", year, rev, extend, known_at=known_at)
    if final is not None:
        return final.value
    cap = _p("bev_standard_cap", year, rev, extend, known_at=known_at)
    top = _p("bev_eff_max_factor", year, rev, extend, known_at=known_at)
    assert cap and top
    rb = _bands("bev_range_factor", year, rev, extend, known_at)
    db = _bands("bev_density_factor", year, rev, extend, known_at)
    return cap.value * top.value * (rb.value.max() if rb else 1.0) * (db.value.max() if db else 1.0)


# --- CAFC -------------------------------------------------------------------------------------

def _cafc_check(year: int, extend: str | None, known_at: int | None = None) -> int:
    year = t.check_year(year)
    t.row(REGION, "CAFC", "compliance_factor", year, extend=extend, known_at=known_at)
    return year


def _cafc_phase(name: str, year: int, extend: str | None, known_at: int | None) -> t.Row | None:
    """Row of a phase-specific CAFC target parameter in ``year``, or None where the phase has none.

    ``extend="hold"`` holds the CAFC rules as a whole after their last year (that of the
    compliance factor): the parameter is looked up in ``min(year, last)``. A parameter that a
    later phase dropped is not held into it: Phase IV's flat target (rows to 2020) must not
    replace Phase V's mass curve in 2021–30.
    """
    last = t.coverage(REGION, "CAFC", "compliance_factor", known_at=known_at)[1]
    return _p(name, min(year, last) if extend == "hold" else year, None, None, "CAFC", known_at)


def cafc_vehicle_target_l_per_100km(year: int, curb_mass_kg: np.ndarray | float, *,
                                    extend: str | None = None, known_at: int | None = None) -> np.ndarray:
    """Per-vehicle fuel-consumption target T_i(m) before the yearly factor.

    Phase IV (2016–2020): 5.0 L/100 km (NEDC) for every vehicle (mass bins not encoded).
    Phase V (2021–2025, WLTC): ``4.02`` for m ≤ 1090 kg, ``0.0018·(m − 1415) + 4.60`` up to
    2510 kg, ``6.57`` above (GB 27999-2019, status U); 2026–2030: the same curve scaled
    towards 3.2/4.0 by 2030 (placeholder, U). ``known_at``: as known at the end of that year
    (a cutoff before GB 27999-2019, issued 2019-12-31, holds Phase IV's flat NEDC target).
    """
    year = _cafc_check(year, extend, known_at)
    m = np.asarray(curb_mass_kg, dtype=float)
    flat = _cafc_phase("vehicle_target_flat", year, extend, known_at)
    if flat is not None:
        return np.full(m.shape, flat.value)

    def v(name: str) -> float:
        return t.value(REGION, "CAFC", name, year, extend=extend, known_at=known_at)

    if np.any(~np.isfinite(m)):
        raise InputError("curb_mass_kg", "needed for the GB 27999-2019 vehicle target.", ["a mass in kg"])
    curve = np.where(m <= v("vehicle_target_low_mass_kg"), v("vehicle_target_low_value"),
                     np.where(m > v("vehicle_target_high_mass_kg"), v("vehicle_target_high_value"),
                              v("vehicle_target_slope") * (m - v("vehicle_target_pivot_mass_kg"))
                              + v("vehicle_target_pivot_value")))
    return curve * v("vehicle_target_scale")


def cafc_compliance_factor(year: int, *, extend: str | None = None, known_at: int | None = None) -> float:
    """Yearly CAFC requirement as a multiple of the phase's final target (e.g. 1.23 in 2021)."""
    return t.value(REGION, "CAFC", "compliance_factor", year, extend=extend, known_at=known_at)


def cafc_fleet_target_l_per_100km(year: int, curb_mass_kg: np.ndarray | float | None = None, *,
                                  extend: str | None = None, known_at: int | None = None) -> float | np.ndarray:
    """CAFC requirement of ``year`` (L/100 km on :func:`cafc_test_cycle`: NEDC to 2020, WLTC from 2021).

    ``factor(t) × T(m)``; without ``curb_mass_kg`` the reference mass (industry average 1,575 kg,
    2022) is used and a float returned; with masses, the per-vehicle requirement array.
    """
    year = _cafc_check(year, extend, known_at)
    factor = cafc_compliance_factor(year, extend=extend, known_at=known_at)
    if curb_mass_kg is None:
        ref = t.value(REGION, "CAFC", "reference_curb_mass_kg", year, extend=extend, known_at=known_at)
        return float(cafc_vehicle_target_l_per_100km(year, ref, extend=extend, known_at=known_at)) * factor
    return cafc_vehicle_target_l_per_100km(year, curb_mass_kg, extend=extend, known_at=known_at) * factor


def cafc_nev_multiplier(year: int, *, extend: str | None = None, known_at: int | None = None) -> float:
    """How many times an NEV counts in the CAFC denominator (5 in 2016 … 1.3 in 2025)."""
    return t.value(REGION, "CAFC", "nev_multiplier", year, extend=extend, known_at=known_at)


#: CAFC phases whose targets are on NEDC (GB 27999-2011 and -2014); GB 27999-2019 switched to WLTC.
NEDC_REVISIONS = ("gb27999_2011", "gb27999_2014")


def cafc_test_cycle(year: int, *, known_at: int | None = None) -> str:
    """Test cycle of CAFC values: NEDC to 2020, WLTC from 2021 (GB 27999-2019).

    ``known_at``: a later year whose CAFC phase as known then is Phase IV (a cutoff before
    GB 27999-2019, issued 2019-12-31, holds it) stays on NEDC: the revision of the year's
    compliance factor (held after its last year) says which.
    """
    year = t.check_year(year)
    if year <= 2020:
        return "NEDC"
    if known_at is None:
        return "WLTC"
    phase = t.row(REGION, "CAFC", "compliance_factor", year, extend="hold", known_at=known_at).revision
    return "NEDC" if phase in NEDC_REVISIONS else "WLTC"


def _cafc_parts(year: int, vehicles: VehicleArrays, extend: str | None, known_at: int | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weight w_i, fuel F_i, requirement factor×T_i) per vehicle."""
    conventional = vehicles.mask(*CONVENTIONAL_POWERTRAINS)
    phev = vehicles.mask("PHEV")
    fuel = vehicles.get("fuel_l_per_100km")
    missing = (conventional | phev) & ~np.isfinite(fuel)
    if missing.any():
        raise InputError("fuel_l_per_100km", f"required for ICE/HEV/PHEV in CAFC; missing for "
                         f"{int(missing.sum())} vehicle(s).", ["a number ≥ 0"])
    fuel = np.where(vehicles.mask("BEV", "FCEV"), 0.0, fuel)
    mult = cafc_nev_multiplier(year, extend=extend, known_at=known_at)
    pmin = t.value(REGION, "CAFC", "phev_min_range_km", year, extend=extend, known_at=known_at)
    counts_as_nev = vehicles.mask("BEV", "FCEV") | (phev & (np.nan_to_num(vehicles.get("range_km")) >= pmin))
    weight = np.where(counts_as_nev, mult, 1.0)
    mass = vehicles.get("curb_mass_kg")
    flat = _cafc_phase("vehicle_target_flat", year, extend, known_at)
    if flat is None and np.any(~np.isfinite(mass)):
        ref = t.value(REGION, "CAFC", "reference_curb_mass_kg", year, extend=extend, known_at=known_at)
        mass = np.where(np.isfinite(mass), mass, ref)
    target = np.asarray(cafc_fleet_target_l_per_100km(year, mass, extend=extend, known_at=known_at)) \
        * np.ones(vehicles.shape)
    return weight, fuel, target


def low_fuel_consumption_mask(year: int, vehicles: VehicleArrays, *, extend: str | None = None,
                              known_at: int | None = None) -> np.ndarray:
    """Conventional PVs counted as 'low fuel consumption' (fuel ≤ threshold × own GB 27999 target).

    False before 2021 and wherever fuel or mass is unknown. ``known_at``: threshold and target
    as known at the end of that year.
    """
    year = t.check_year(year)
    shape = vehicles.shape
    thr = _p("low_fc_max_ratio_to_target", year, None, extend, known_at=known_at)
    if thr is None or year < 2021:
        return np.zeros(shape, dtype=bool)
    fuel = vehicles.get("fuel_l_per_100km")
    mass = vehicles.get("curb_mass_kg")
    known = vehicles.mask(*CONVENTIONAL_POWERTRAINS) & np.isfinite(fuel) & np.isfinite(mass)
    if not known.any():
        return np.zeros(shape, dtype=bool)
    target = cafc_vehicle_target_l_per_100km(year, np.where(known, mass, 1500.0), extend=extend, known_at=known_at)
    return known & (fuel <= thr.value * target)


def nev_standard(year: int, vehicles: VehicleArrays, *, extend: str | None = None,
                 revision: str | None = None, known_at: int | None = None) -> StandardYear:
    """China NEV credit standard of ``year`` as a :class:`StandardYear`.

    earned = NEV credits per vehicle; required = ratio × (low-FC weight or 1) per conventional
    car (ICE, HEV); no fine (``price_cap=None``: the scenario sets a cap if it wants one);
    a surplus may offset a CAFC deficit (never the reverse). ``known_at``: every rule (ratio,
    low-FC weight and threshold, per-vehicle credit formula, carry-forward) as known at the end
    of that year (``params/vintages.csv``).
    """
    year = t.check_year(year)
    ratio_row = t.row(REGION, "NEV", "nev_ratio", year, extend=extend, known_at=known_at)
    shape = vehicles.shape
    conventional = vehicles.mask(*CONVENTIONAL_POWERTRAINS)
    notes: list[str] = []
    used: list[t.Row | t.Bands | None] = [ratio_row]
    if year < NEV_FIRST_YEAR:
        earned = np.zeros(shape)
        notes.append("no NEV credit system before 2018")
    else:
        b = nev_credit_breakdown(year, vehicles, revision=revision, extend=extend, known_at=known_at)
        earned = np.asarray(b["credit"])
        notes.extend(b["notes"])  # type: ignore[arg-type]
        if b["status"] != "V":
            notes.append(f"per-vehicle credit rule {b['revision']} has unconfirmed parameters")
        src = set(b["sources"])  # type: ignore[arg-type]
        used.append(t.Row(0, "", "", 0, 0, ";".join(sorted(src)), str(b["status"]), ""))
    # no weight set (as known before Order 53 introduced it): every conventional car counts fully
    w_row = _p("low_fc_weight", year, None, extend, known_at=known_at)
    low = low_fuel_consumption_mask(year, vehicles, extend=extend, known_at=known_at)
    weight = np.where(low, w_row.value if w_row is not None else 1.0, 1.0)
    required = np.where(conventional, ratio_row.value * weight, 0.0)
    thr = _p("min_conventional_volume", year, None, extend, known_at=known_at) or t.row(
        REGION, "NEV", "min_conventional_volume", max(year, NEV_FIRST_YEAR), extend="hold", known_at=known_at)
    cf = _p("carry_forward_fraction", year, None, extend, known_at=known_at)
    cy = _p("carry_forward_years", year, None, extend, known_at=known_at)
    used += [w_row, thr, cf, cy]
    last_set = t.coverage(REGION, "NEV", "nev_ratio", known_at=known_at)[1]
    if year > last_set:
        notes.append(f"{year}: rules held from {last_set} (the last year the rules set; held on request: --hold, extend='hold')")
    if known_at is not None:
        notes.append(f"NEV rules as known at the end of {known_at}")
    return StandardYear(
        name="CN-NEV", region=REGION, year=year, credit_unit="NEV credit", earned_per_vehicle=earned,
        required_per_vehicle=required, price_cap=None, currency="CNY",
        carry_forward_fraction=cf.value if cf else 0.0, carry_forward_years=int(cy.value) if cy else 0,
        offsets=("CN-CAFC",), min_obligated_volume=thr.value, sources=_sources(used),
        obligation_mask=conventional, exempt_earns=True, status=_status(used), notes=tuple(notes),
    )


def cafc_standard(year: int, vehicles: VehicleArrays, *, extend: str | None = None,
                  known_at: int | None = None) -> StandardYear:
    """China CAFC standard of ``year`` as a :class:`StandardYear` (credits in L/100 km × vehicle).

    earned = w_i × factor × T_i(m), required = F_i (BEV/FCEV 0), weights w_i = NEV multiplier;
    :func:`~nevsim.policy.standard.compliance` rescales to ``(T − A) × units`` per maker.
    CAFC surpluses cannot offset NEV deficits (``offsets=()``); banking 80 % for 3 years.
    ``known_at``: the phase, factor, multiplier and targets as known at the end of that year
    (a cutoff before GB 27999-2019 holds Phase IV; fuel on :func:`cafc_test_cycle`).
    """
    year = _cafc_check(year, extend, known_at)
    weight, fuel, target = _cafc_parts(year, vehicles, extend, known_at)
    names = ["compliance_factor", "nev_multiplier", "carry_forward_fraction", "carry_forward_years",
             "phev_min_range_km"]
    used: list[t.Row | t.Bands | None] = [t.row(REGION, "CAFC", n, year, extend=extend, known_at=known_at)
                                          for n in names]
    for n in ("vehicle_target_flat", "vehicle_target_slope", "vehicle_target_scale"):
        used.append(_cafc_phase(n, year, extend, known_at))
    notes = ["CN CAFC relief for < 2,000-unit makers and off-cycle credits are not modelled"]
    if year > 2025 and (known_at is None or known_at >= 2025):
        notes.append("GB 27999-2025 targets not retrieved: placeholder path to 3.2 L/100 km by 2030")
    if known_at is not None:
        notes.append(f"CAFC rules as known at the end of {known_at} ({cafc_test_cycle(year, known_at=known_at)})")
    return StandardYear(
        name="CN-CAFC", region=REGION, year=year, credit_unit="CAFC credit (L/100km x vehicle)",
        earned_per_vehicle=weight * target, required_per_vehicle=fuel * np.ones(vehicles.shape),
        price_cap=None, currency="CNY",
        carry_forward_fraction=t.value(REGION, "CAFC", "carry_forward_fraction", year, extend=extend,
                                       known_at=known_at),
        carry_forward_years=int(t.value(REGION, "CAFC", "carry_forward_years", year, extend=extend,
                                        known_at=known_at)),
        offsets=(), min_obligated_volume=0.0, sources=_sources(used), weight_per_vehicle=weight,
        status=_status(used), notes=tuple(notes),
    )


def nev_carry_forward_allowed(year: int, conventional_cafc_ratio: np.ndarray, *,
                              extend: str | None = None, known_at: int | None = None) -> np.ndarray:
    """Order 53 condition for banking NEV credits: conventional CAFC actual/target ≤ threshold.

    Always True where no threshold is set (Order 44 years; ``known_at`` before Order 53: inf).
    """
    ratio = np.asarray(conventional_cafc_ratio, dtype=float)
    return np.nan_to_num(ratio, nan=0.0) <= nev_carry_forward_max_cafc_ratio(year, extend=extend, known_at=known_at)


def nev_carry_forward_max_cafc_ratio(year: int, *, extend: str | None = None, known_at: int | None = None) -> float:
    """The Order 53 threshold of :func:`nev_carry_forward_allowed` (conventional CAFC actual/target;
    ``inf`` where no condition is set). Parameter ``carry_forward_max_cafc_ratio`` (A.5: 123 / 120 /
    115 % for 2021 / 22 / 23, status U; the 2023 value held after)."""
    thr = _p("carry_forward_max_cafc_ratio", year, None, extend, known_at=known_at)
    return float("inf") if thr is None else float(thr.value)


def credit_pool_action(year: int, positive_credits: float, negative_credits: float, *,
                       extend: str | None = None, known_at: int | None = None) -> str:
    """Credit-pool state of the 2023 rule: "deposit" (supply/demand > 2.0), "release" (< 1.5) or "none".

    Years without a pool (before 2024; as known before Order 64 of 2023: none) return "none".
    """
    dep = _p("pool_deposit_supply_demand_ratio", year, None, extend, known_at=known_at)
    rel = _p("pool_release_supply_demand_ratio", year, None, extend, known_at=known_at)
    if dep is None or rel is None:
        return "none"
    if negative_credits < 0 or positive_credits < 0:
        raise InputError("credits", "positive and negative credit totals must be ≥ 0.")
    ratio = np.inf if negative_credits == 0 else positive_credits / negative_credits
    if ratio > dep.value:
        return "deposit"
    if ratio < rel.value:
        return "release"
    return "none"


def nev_share_for_compliance(year: int, credits_per_nev: float, *, low_fc_share: float = 0.0,
                             extend: str | None = None, known_at: int | None = None) -> float:
    """NEV share s of sales at which an average maker just complies (ICCT rule of thumb).

    ``s · c = r · (1 − s) · b`` with ``b = 1 − low_fc_share · (1 − w)`` ⇒ ``s = r·b / (c + r·b)``.
    E.g. 2020: r = 12 %, c = 3 ⇒ s ≈ 3.8 % (ICCT: "about 4 %").
    """
    if credits_per_nev <= 0:
        raise InputError("credits_per_nev", "must be positive.")
    if not 0.0 <= low_fc_share <= 1.0:
        raise InputError("low_fc_share", "must be within 0–1.", ["0–1"])
    r = nev_ratio(year, extend=extend, known_at=known_at)
    b = 1.0 - low_fc_share * (1.0 - low_fc_weight(year, extend=extend, known_at=known_at))
    return r * b / (credits_per_nev + r * b)


# --- Purchase subsidy, purchase tax, plates ---------------------------------------------------

def _powertrain_array(powertrain: object) -> np.ndarray:
    pt = np.asarray(powertrain).astype(str)
    bad = sorted(set(np.unique(pt)) - set(POWERTRAINS))
    if bad:
        raise InputError("powertrain", f"unknown powertrain(s) {bad}.", POWERTRAINS)
    return pt


def _money(value: object, field: str, hi: float = 1e8) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr < 0) or np.any(arr > hi):
        raise InputError(field, "must be a finite amount ≥ 0 and ≤ " + f"{hi:,.0f}.", [f"0–{hi:,.0f}"])
    return arr


def purchase_subsidy_cny(year: int, powertrain: object, range_km: object, price_cny: object, *,
                         known_at: int | None = None) -> np.ndarray:
    """National purchase subsidy per vehicle (CNY) by year, powertrain and range band.

    2013–2022 from the MOF notices (post-transition levels for the whole year); 0 above the
    300,000 CNY price cap from 2020; 0 from 2023 (programme ended 2022-12-31). FCEV and
    local top-ups are not encoded (0). ``known_at``: the schedule as known at the end of that
    year (``params/vintages.csv``; e.g. known at 2018: the 2018 amounts held to 2020, none after).
    """
    year = t.check_year(year)
    known_at = t.check_known_at(known_at)
    first, _ = t.coverage(REGION, "SUBSIDY", "subsidy_active")
    pt = _powertrain_array(powertrain)
    r = np.asarray(range_km, dtype=float)
    price = _money(price_cny, "price_cny")
    active = t.value(REGION, "SUBSIDY", "subsidy_active", year, extend="hold", known_at=known_at)
    shape = np.broadcast_shapes(pt.shape, r.shape, price.shape)
    if year < first:
        raise InputError("year", f"{year} is before the encoded subsidy schedule.", [f"{first}–"])
    if not active:
        return np.zeros(shape)
    if np.any(np.isin(pt, ("BEV", "PHEV")) & ~np.isfinite(r)):
        raise InputError("range_km", "required for BEV/PHEV subsidies.", ["a range in km"])
    return _purchase_subsidy_fast(year, pt == "BEV", pt == "PHEV", r, price, known_at=known_at)


@functools.lru_cache(maxsize=2048)  # years × policy views (known_at)
def _subsidy_terms(year: int, known_at: int | None = None) -> tuple[bool, t.Bands | None, t.Bands | None, float]:
    """(programme active, BEV bands, PHEV bands, price cap) of ``year`` as known at ``known_at``
    (parsed tables, memoised per year and ``known_at``)."""
    first, _ = t.coverage(REGION, "SUBSIDY", "subsidy_active")
    if year < first:
        raise InputError("year", f"{year} is before the encoded subsidy schedule.", [f"{first}–"])
    active = bool(t.value(REGION, "SUBSIDY", "subsidy_active", year, extend="hold", known_at=known_at))
    if not active:
        return False, None, None, np.inf
    bev = t.bands(REGION, "SUBSIDY", "purchase_subsidy_cny", "BEV", year, known_at=known_at)
    phev = t.bands(REGION, "SUBSIDY", "purchase_subsidy_cny", "PHEV", year, known_at=known_at)
    return True, bev, phev, t.value(REGION, "SUBSIDY", "subsidy_price_cap_cny", year, known_at=known_at)


def _purchase_subsidy_fast(year: int, is_bev: np.ndarray, is_phev: np.ndarray, range_km: np.ndarray,
                           price_cny: np.ndarray, *, known_at: int | None = None) -> np.ndarray:
    """:func:`purchase_subsidy_cny` without input validation (internal fast path).

    The caller guarantees an integer ``year``, boolean powertrain masks, finite ranges for
    BEV/PHEV, finite non-negative prices (float arrays that broadcast together) and a valid
    ``known_at``.
    """
    active, bev, phev, cap = _subsidy_terms(year, known_at)
    shape = np.broadcast_shapes(is_bev.shape, range_km.shape, price_cny.shape)
    if not active:
        return np.zeros(shape)
    out = np.zeros(shape)
    for mask, b in ((is_bev, bev), (is_phev, phev)):
        if b is not None:
            out = np.where(mask, b.lookup(range_km, outside=0.0), out)
    return np.where(price_cny > cap, 0.0, out)


def local_top_up_fraction(year: int, *, known_at: int | None = None) -> float:
    """Local (city/provincial) purchase top-up per vehicle as a share of the national subsidy.

    ``total subsidy = national × (1 + f)``. f = 0.5 in 2013–2018 (the ≤ 50 % cap of the 2017
    rules, Tyco-2017, S; an upper bound held back to 2013, U), 0.5 × 176/365 ≈ 0.241 in 2019
    (local purchase subsidies stopped on 2019-06-25: AP-DE-2019, ICCT-2019), 0 from 2020.
    Before 2013 (city pilots, not encoded) it is 0. ``known_at`` before 2019: the end was not
    yet announced (2019-03-26), so the 0.5 cap is held (``params/vintages.csv``).
    """
    year = t.check_year(year)
    first, _ = t.coverage(REGION, "SUBSIDY", "local_top_up_fraction")
    if year < first:
        return 0.0
    return float(t.value(REGION, "SUBSIDY", "local_top_up_fraction", year, extend="hold", known_at=known_at))


#: The trade-in scheme's parts: (buyer share parameter, per-vehicle parameter prefix).
_TRADE_IN_PARTS = (("trade_in_scrap_buyer_share", "trade_in_scrap"), ("trade_in_replace_buyer_share", "trade_in_replace"))


@functools.lru_cache(maxsize=512)  # years × policy views (known_at)
def _trade_in_terms(year: int, known_at: int | None = None) -> tuple[tuple[float, float, float, float, float], ...]:
    """Per part of the scheme (scrap-and-buy, replacement) of ``year`` as known at ``known_at``:
    (share of new-car buyers paid, NEV share of price, NEV cap, conventional share of price,
    conventional cap); empty when no scheme is in force (memoised)."""
    first, _ = t.coverage(REGION, "TRADEIN", "trade_in_active", known_at=known_at)
    if year < first or not t.value(REGION, "TRADEIN", "trade_in_active", year, extend="hold", known_at=known_at):
        return ()

    def v(name: str) -> float:
        return float(t.value(REGION, "TRADEIN", name, year, extend="hold", known_at=known_at))

    return tuple((v(share), v(f"{part}_nev_price_share"), v(f"{part}_nev_cap_cny"),
                  v(f"{part}_conventional_price_share"), v(f"{part}_conventional_cap_cny"))
                 for share, part in _TRADE_IN_PARTS)


def trade_in_active(year: int, *, known_at: int | None = None) -> bool:
    """Whether the national car trade-in scheme (以旧换新) pays in ``year`` (as known at ``known_at``)."""
    return bool(_trade_in_terms(t.check_year(year), t.check_known_at(known_at)))


def trade_in_subsidy_cny(year: int, powertrain: object, price_cny: object, *,
                         known_at: int | None = None) -> np.ndarray:
    """Expected national trade-in subsidy per new car (CNY), averaged over all buyers.

    ``E[s] = Σ_k q_k(t) × min(r_k,p(t) × price, c_k,p(t))`` over the scheme's two parts k
    (scrap-and-buy 报废更新, replacement 置换更新), with ``q_k`` the share of the year's new-car
    buyers paid part k (applications ÷ retail sales), ``r`` the share of the price paid
    (``inf`` = a flat amount, the 2024–2025 rules) and ``c`` the cap, for NEVs (PHEV, BEV,
    FCEV) or conventional cars (ICE, HEV): 2024–2025 flat amounts, 2026 a share of the price
    up to a cap. Rows, sources and status in ``params/parameters.csv`` (standard ``TRADEIN``);
    0 before 2024 and after the last year of the scheme. ``known_at`` before a year's scheme was
    announced: no scheme (``params/vintages.csv``).

    The model's buyers see the expected value: a share-weighted mean of the subsidy, not a
    mixture of paid and unpaid buyers (exact for a linear utility in price when the paid
    share does not depend on the powertrain chosen).
    """
    year = t.check_year(year)
    known_at = t.check_known_at(known_at)
    pt = _powertrain_array(powertrain)
    price = _money(price_cny, "price_cny")
    is_nev = np.isin(pt, NEV_POWERTRAINS)
    return np.broadcast_to(_trade_in_fast(year, is_nev, price, known_at=known_at),
                           np.broadcast_shapes(is_nev.shape, price.shape)).astype(float)


def _trade_in_fast(year: int, is_nev: np.ndarray, price_cny: np.ndarray, *,
                   known_at: int | None = None) -> np.ndarray | float:
    """:func:`trade_in_subsidy_cny` without input validation (0.0 when no scheme is in force)."""
    terms = _trade_in_terms(year, known_at)
    if not terms:
        return 0.0
    out = np.zeros(np.broadcast_shapes(np.shape(is_nev), np.shape(price_cny)))
    for share, nev_rate, nev_cap, conv_rate, conv_cap in terms:
        rate = np.where(is_nev, nev_rate, conv_rate)
        cap = np.where(is_nev, nev_cap, conv_cap)
        flat = np.isinf(rate)
        paid = np.where(flat, cap, np.minimum(np.where(flat, 0.0, rate) * price_cny, cap))
        out += share * paid
    return out


def purchase_tax_cny(year: int, powertrain: object, price_cny: object, range_km: object | None = None, *,
                     price_includes_vat: bool = True, known_at: int | None = None) -> np.ndarray:
    """Vehicle purchase tax actually due (CNY), after the NEV exemption or reduction.

    ``tax = 10 % × price / (1 + VAT)`` (if the price includes VAT), ``price`` being what the buyer
    actually pays the seller (Vehicle Purchase Tax Law 2019, Art. 6: the total price paid to the
    seller, VAT excluded; secondary source us.ok.com, status S): after a purchase subsidy paid to
    the maker, the price less the subsidy (the simulation passes it so); NEVs (BEV, FCEV, PHEV with
    enough range) get ``min(share × tax, cap)`` off: full exemption 2015–2023, full up to
    30,000 CNY in 2024–25, half up to 15,000 CNY in 2026–27, none from 2028. ``known_at``: the
    exemption's end as issued by the end of that year (``params/vintages.csv``; e.g. known at
    2018: full tax from 2021).
    """
    year = t.check_year(year)
    known_at = t.check_known_at(known_at)
    pt = _powertrain_array(powertrain)
    price = _money(price_cny, "price_cny")
    terms = _tax_terms(year, bool(price_includes_vat), known_at)
    pmin = terms[4]
    if range_km is None:
        r = np.full(pt.shape, np.nan)
    else:
        r = np.asarray(range_km, dtype=float)
        if np.any(r[np.isfinite(r)] < 0) or np.any(r[np.isfinite(r)] > 2000):
            raise InputError("range_km", "outside the plausible range.", ["0–2000"])
    phev_unknown = (pt == "PHEV") & ~np.isfinite(r)
    if np.any(phev_unknown) and pmin > 50:
        raise InputError("range_km", f"needed for PHEV tax eligibility in {year} (≥ {pmin:g} km).",
                         ["a range in km"])
    return _purchase_tax_fast(year, np.isin(pt, ("BEV", "FCEV")), pt == "PHEV", price, r,
                              price_includes_vat=bool(price_includes_vat), known_at=known_at)


@functools.lru_cache(maxsize=2048)  # years × policy views (known_at)
def _tax_terms(year: int, price_includes_vat: bool, known_at: int | None = None
               ) -> tuple[float, float, float, float, float]:
    """(tax rate, VAT removed from the price, NEV exemption share, exemption cap, PHEV minimum range) of ``year``
    as known at ``known_at`` (memoised per year, VAT flag and ``known_at``)."""
    def v(name: str) -> float:
        return t.value(REGION, "TAX", name, year, known_at=known_at)

    rate = v("purchase_tax_rate")
    vat = v("vat_rate") if price_includes_vat else 0.0
    return rate, vat, v("nev_exemption_share"), v("nev_exemption_cap_cny"), v("phev_min_range_km")


def _purchase_tax_fast(year: int, is_bev_or_fcev: np.ndarray, is_phev: np.ndarray, price_cny: np.ndarray,
                       range_km: np.ndarray, *, price_includes_vat: bool = True,
                       known_at: int | None = None) -> np.ndarray:
    """:func:`purchase_tax_cny` without input validation (internal fast path).

    The caller guarantees an integer ``year``, boolean powertrain masks, finite non-negative
    prices, plausible ranges (NaN = unknown: a PHEV of unknown range is eligible) and a valid
    ``known_at``.
    """
    return _purchase_tax_pair_fast(year, is_bev_or_fcev, is_phev, price_cny, range_km,
                                   price_includes_vat=price_includes_vat, known_at=known_at)[0]


def _purchase_tax_pair_fast(year: int, is_bev_or_fcev: np.ndarray, is_phev: np.ndarray, price_cny: np.ndarray,
                            range_km: np.ndarray, *, price_includes_vat: bool = True,
                            known_at: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tax due, tax before any NEV exemption) — :func:`_purchase_tax_fast` and the conventional-car tax
    at the same prices, sharing one evaluation of ``rate × price / (1 + VAT)``."""
    rate, vat, share, cap, pmin = _tax_terms(year, price_includes_vat, known_at)
    tax = rate * price_cny / (1.0 + vat)
    phev_ok = is_phev & (~np.isfinite(range_km) | (range_km >= pmin))  # NaN compares False, no warning
    eligible = is_bev_or_fcev | phev_ok
    reduction = np.minimum(share * tax, cap)
    return np.where(eligible, tax - reduction, tax), tax


#: The schemes a scenario may extend (``policy.subsidies.*_extend_to_year``): name → (standard,
#: parameter, the least value of a year the extension keeps).
EXTENDABLE: dict[str, tuple[str, str, float]] = {
    "purchase_subsidy": ("SUBSIDY", "subsidy_active", 1.0),       # the national subsidy pays
    "purchase_tax_exemption": ("TAX", "nev_exemption_share", 1.0),  # the full exemption (not the half rate)
    "trade_in": ("TRADEIN", "trade_in_active", 1.0),              # the trade-in scheme pays
}


@functools.lru_cache(maxsize=64)  # schemes × policy views (known_at)
def scheme_last_year(scheme: str, *, known_at: int | None = None) -> int | None:
    """The last year of ``scheme`` (a key of :data:`EXTENDABLE`) in the rules as known at ``known_at``
    (None: as enacted), or None when no year has it: the year whose rules an extension keeps.

    As enacted: purchase subsidy 2022, full purchase-tax exemption 2025, trade-in 2026. As known at
    a cutoff the scheme may end earlier (known at 2018: subsidy and exemption to 2020) or not
    exist (the trade-in scheme before its first rules, 2024-04: None).
    """
    if scheme not in EXTENDABLE:
        raise InputError("scheme", f"unknown scheme {scheme!r}.", list(EXTENDABLE))
    standard, name, least = EXTENDABLE[scheme]
    rows = t._index(t.check_known_at(known_at))[(REGION, standard, name)]
    years = [r.year_to for r in rows if r.value >= least]
    return max(years) if years else None


def plate_policies() -> pd.DataFrame:
    """Licence-plate and other local policies (city, item, year, value, unit, source, status)."""
    return t.plates()


def is_nev(powertrain: np.ndarray) -> np.ndarray:
    """True for PHEV, BEV, FCEV."""
    return np.isin(np.asarray(powertrain).astype(str), NEV_POWERTRAINS)
