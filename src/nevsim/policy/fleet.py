"""Model-level fleet tables and China's annual dual-credit accounting per maker.

A fleet table has one row per model (CSV or DataFrame):

==========================  ========  =================================================
column                      unit      meaning
==========================  ========  =================================================
maker                       –         company accounted (NEV and CAFC are per company)
model                       –         model name
powertrain                  –         ICE, HEV, PHEV, BEV or FCEV
units                       vehicles  production/imports in the year
range_km                    km        electric range (BEV, PHEV)
energy_kwh_per_100km        kWh/100km electric consumption (BEV; optional)
fuel_l_per_100km            L/100km   fuel consumption (ICE, HEV, PHEV; PHEV weighted)
curb_mass_kg                kg        curb mass
fc_power_kw                 kW        fuel-cell power (FCEV; optional column)
battery_wh_per_kg           Wh/kg     battery-system energy density (optional column)
source_key, note            –         where the row's numbers come from (optional)
==========================  ========  =================================================

Sample row: ``Tesla China,Model Y RWD,BEV,300000,545,12.7,,1929,,,Tesla-2022,…``.
The package ships an example (:func:`example_fleet_path`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from nevsim.errors import InputError
from nevsim.policy import china
from nevsim.policy.standard import ComplianceResult, StandardYear, apply_offset, compliance
from nevsim.policy.vehicles import CONVENTIONAL_POWERTRAINS, POWERTRAINS, VehicleArrays

REQUIRED_COLUMNS = ("maker", "model", "powertrain", "units")
NUMERIC_COLUMNS = ("units", "range_km", "energy_kwh_per_100km", "fuel_l_per_100km", "curb_mass_kg",
                   "fc_power_kw", "battery_wh_per_kg", "co2_g_per_km")


def example_fleet_path() -> Path:
    """Path of the example fleet shipped with nevsim (China 2022, public facts, sourced per row)."""
    return Path(str(resources.files("nevsim.policy").joinpath("examples", "fleet_cn_2022.csv")))


@dataclass(frozen=True)
class Fleet:
    """A validated fleet: makers, per-model vehicle arrays and the maker × model units matrix."""

    table: pd.DataFrame
    makers: list[str]
    vehicles: VehicleArrays
    sales: np.ndarray  # (maker, model)


def read_fleet(source: str | Path | pd.DataFrame) -> Fleet:
    """Read and validate a fleet table (path to CSV or DataFrame); errors name the column and row."""
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
    else:
        path = Path(source)
        if not path.is_file():
            raise InputError("FLEET", f"file {path} not found.")
        try:
            frame = pd.read_csv(path, comment="#")
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputError("FLEET", f"cannot read {path} as CSV: {exc}") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError("FLEET", f"missing column(s) {missing}.", REQUIRED_COLUMNS + NUMERIC_COLUMNS[1:])
    if frame.empty:
        raise InputError("FLEET", "the fleet table has no rows.")
    for col in NUMERIC_COLUMNS:
        if col not in frame.columns:
            frame[col] = np.nan
        converted = pd.to_numeric(frame[col], errors="coerce")
        bad = converted.isna() & frame[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"FLEET.{col}", f"row {row + 2}: {frame[col].iloc[row]!r} is not a number.")
        frame[col] = converted.astype(float)
    frame["powertrain"] = frame["powertrain"].astype(str).str.strip().str.upper()
    bad_pt = ~frame["powertrain"].isin(POWERTRAINS)
    if bad_pt.any():
        row = int(np.flatnonzero(bad_pt.to_numpy())[0])
        raise InputError("FLEET.powertrain", f"row {row + 2}: unknown powertrain "
                         f"{frame['powertrain'].iloc[row]!r}.", POWERTRAINS)
    units = frame["units"].to_numpy()
    if np.any(~np.isfinite(units)) or np.any(units < 0):
        raise InputError("FLEET.units", "units must be given and ≥ 0 for every row.")
    frame["maker"] = frame["maker"].astype(str).str.strip()
    makers = list(dict.fromkeys(frame["maker"]))
    vehicles = VehicleArrays(
        frame["powertrain"].to_numpy(str),
        **{c: frame[c].to_numpy(float) for c in NUMERIC_COLUMNS if c != "units"},
    )
    idx = np.array([makers.index(m) for m in frame["maker"]])
    sales = np.zeros((len(makers), len(frame)))
    sales[idx, np.arange(len(frame))] = units
    return Fleet(frame.reset_index(drop=True), makers, vehicles, sales)


@dataclass(frozen=True)
class ChinaAccounts:
    """China dual-credit accounts of one year: per-maker table, totals and the two standards."""

    year: int
    makers: pd.DataFrame
    totals: dict[str, float]
    nev: StandardYear
    cafc: StandardYear
    nev_result: ComplianceResult
    cafc_result: ComplianceResult


def conventional_cafc_terms(cafc: StandardYear, conventional: np.ndarray) -> np.ndarray:
    """Per vehicle ``[..., 2]``: the CAFC standard's fuel ``F`` and factor × target ``T`` on conventional
    cars (``conventional`` True), 0 on the others.

    Order 53's NEV carry-forward condition (policy-facts A.5, V) compares a maker's conventional-car
    CAFC with its target: ``Σ_conv n·F / Σ_conv n·factor·T ≤`` 123 / 120 / 115 %, so a maker's sales
    times these terms give the ratio's numerator and denominator. Used by :func:`china_compliance`
    and by the simulation's yearly loop (one matrix product over draws × makers).
    """
    shape = np.broadcast_shapes(np.shape(cafc.required_per_vehicle), np.shape(conventional))
    weight = np.broadcast_to(np.asarray(cafc.weight_per_vehicle, float), shape)
    target = np.divide(np.broadcast_to(np.asarray(cafc.earned_per_vehicle, float), shape), weight,
                       out=np.zeros(shape), where=weight > 0)
    fuel = np.broadcast_to(np.asarray(cafc.required_per_vehicle, float), shape)
    conv = np.broadcast_to(np.asarray(conventional, bool), shape)
    return np.stack([np.where(conv, fuel, 0.0), np.where(conv, target, 0.0)], -1)


def china_compliance(year: int, fleet: Fleet, *, extend: str | None = None,
                     known_at: int | None = None) -> ChinaAccounts:
    """The annual NEV + CAFC accounting per maker, as MIIT publishes it.

    Steps: NEV credits earned and required (30,000-unit threshold); CAFC actual (NEVs at zero
    fuel, weighted by the multiplier) and requirement; each maker's NEV surplus offsets its own
    CAFC deficit (never the reverse); NEV carry-forward allowed where the conventional-car CAFC
    condition holds. Positive/negative totals are Σ max(±balance, 0) over makers (before offsets,
    as in the MIIT announcements). ``known_at``: every rule as known at the end of that year
    (:mod:`nevsim.policy.china`).
    """
    v, s = fleet.vehicles, fleet.sales
    nev = china.nev_standard(year, v, extend=extend, known_at=known_at)
    cafc = china.cafc_standard(year, v, extend=extend, known_at=known_at)
    conventional = v.mask(*CONVENTIONAL_POWERTRAINS)
    # Conventional-only CAFC ratio for the NEV carry-forward condition.
    conv_units = s @ conventional.astype(float)
    terms = conventional_cafc_terms(cafc, conventional)
    conv_fuel, conv_target = s @ terms[:, 0], s @ terms[:, 1]
    conv_ratio = np.divide(conv_fuel, conv_target, out=np.zeros_like(conv_fuel), where=conv_target > 0)
    allowed = china.nev_carry_forward_allowed(year, conv_ratio, extend=extend, known_at=known_at)
    nev_res = compliance(nev, s, carry_forward_allowed=allowed)
    cafc_res = compliance(cafc, s)
    nev_after, cafc_after = apply_offset(nev, nev_res, cafc, cafc_res)
    units = s.sum(axis=1)
    weighted = s @ cafc.weight_per_vehicle
    actual = np.divide(s @ cafc.required_per_vehicle, weighted, out=np.full(units.shape, np.nan),
                       where=weighted > 0)
    target = np.divide(s @ cafc.earned_per_vehicle, weighted, out=np.full(units.shape, np.nan),
                       where=weighted > 0)
    nev_units = s @ v.mask("BEV", "PHEV", "FCEV").astype(float)
    table = pd.DataFrame({
        "maker": fleet.makers, "units": units, "nev_units": nev_units, "conventional_units": conv_units,
        "nev_obligated": nev_res.obligated, "nev_earned": nev_res.earned, "nev_required": nev_res.required,
        "nev_balance": nev_res.balance, "cafc_actual_l_per_100km": actual,
        "cafc_target_l_per_100km": target, "cafc_balance": cafc_res.balance,
        "nev_used_for_cafc": nev_after.offset_out, "nev_balance_after_offset": nev_after.balance,
        "cafc_balance_after_offset": cafc_after.balance, "nev_carry_forward_allowed": allowed,
        "nev_bankable": nev_after.bank_out[:, 0] if nev_after.bank_out.shape[-1] else 0.0,
    })
    totals = {
        "nev_positive": float(nev_res.positive.sum()), "nev_negative": float(nev_res.negative.sum()),
        "nev_earned": float(nev_res.earned.sum()), "nev_required": float(nev_res.required.sum()),
        "cafc_positive": float(cafc_res.positive.sum()), "cafc_negative": float(cafc_res.negative.sum()),
        "nev_used_for_cafc": float(nev_after.offset_out.sum()),
        "cafc_negative_after_offset": float(cafc_after.negative.sum()),
        "units": float(units.sum()), "nev_units": float(nev_units.sum()),
    }
    return ChinaAccounts(int(year), table, totals, nev, cafc, nev_res, cafc_res)
