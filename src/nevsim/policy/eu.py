"""European Union: CO2 standards for new cars (Reg. 443/2009, 333/2014, 2019/631, 2023/851, 2025/1214).

Credits are g CO2/km × vehicle relative to the fleet target: a maker's balance is
``(target − fleet average) × registrations`` and a shortfall costs €95 per g/km per car, so
``price_cap = 95`` EUR per credit. Fleet average ``Σ CO2·n / Σ SC·n`` with super-credits
``SC`` (2 / 1.67 / 1.33 for cars < 50 g/km in 2020 / 21 / 22); from 2025 to 2029 a maker whose
ZLEV share (each ZLEV counted ``1 − 0.7·CO2/50``) exceeds 25 % gets its target relaxed by
the excess, at most 5 %. 2025–2027 compliance is averaged over the three years: represented
as full banking of surpluses to 2027 (borrowing is not represented). Maker-specific mass
curves, the 2020 95 % phase-in, pooling and the super-credit cap are not encoded.

A PHEV counts at its type-approval CO2, the charge-sustaining value weighted by the WLTP fleet
utility factor (:func:`wltp_utility_factor`; Reg. (EU) 2017/1151 Annex XXI Sub-Annex 8)::

    CO2_PHEV = (1 − UF(R)) · CO2_charge-sustaining,   UF(R) = 1 − exp(−Σ_j c_j · (R / d_n)^j)

with ``R`` the electric range (km) and ``d_n`` the normalisation distance of the year (800 km;
2,200 with Euro 6e-bis, 4,260 with Euro 6e-bis-FCM: policy table ``uf_normalisation_km``).
"""

from __future__ import annotations

import numpy as np

from nevsim.errors import InputError
from nevsim.policy import _tables as t
from nevsim.policy.standard import StandardYear
from nevsim.policy.vehicles import VehicleArrays

REGION = "EU"

#: c_1 … c_10 of the WLTP fleet utility factor (Reg. (EU) 2017/1151 Annex XXI Sub-Annex 8, the JRC's
#: fit; as coded in phevmicrosimr R/phev.R, read 2026-12-01; status S: not read in the regulation).
WLTP_UF_COEFFICIENTS = (26.25, -38.94, -631.05, 5964.83, -25094.6, 60380.21, -87517.16, 75513.77, -35748.77,
                        7154.94)


def wltp_utility_factor(range_km: np.ndarray | float, year: int, *, extend: str | None = "hold") -> np.ndarray:
    """Share of a PHEV's km counted as electric at type approval: ``UF(R) = 1 − exp(−Σ_j c_j (R/d_n)^j)``
    (module docstring), ``d_n`` the year's ``uf_normalisation_km`` (800 km to 2025, 2,200 in 2026–27,
    4,260 from 2028). 0 at no range, rising to 1 with range (0.81 at 61 km with 800 km; 0.50 with 2,200)."""
    d_n = t.value(REGION, "CO2", "uf_normalisation_km", year, extend=extend)
    x = np.clip(np.asarray(range_km, dtype=float), 0.0, d_n) / d_n
    s = sum(c * x ** (j + 1) for j, c in enumerate(WLTP_UF_COEFFICIENTS))
    return 1.0 - np.exp(-s)


def co2_target_g_per_km(year: int, *, extend: str | None = None) -> float:
    """EU fleet CO2 target (g/km): 95 (2020–24, NEDC), 93.6 (2025–29), 49.5 (2030–34), 0 from 2035."""
    return t.value(REGION, "CO2", "target_g_per_km", year, extend=extend)


def supercredit_multiplier(year: int) -> float:
    """Super-credit multiplier for cars below 50 g/km (1 from 2023)."""
    return t.value(REGION, "CO2", "supercredit_multiplier", year)


def _co2(vehicles: VehicleArrays) -> np.ndarray:
    co2 = np.where(vehicles.mask("BEV", "FCEV"), 0.0, vehicles.get("co2_g_per_km"))
    missing = ~np.isfinite(co2)
    if missing.any():
        raise InputError("co2_g_per_km", f"required for ICE/HEV/PHEV in the EU standard; missing for "
                         f"{int(missing.sum())} vehicle(s).", ["a number ≥ 0"])
    return co2


def co2_standard(year: int, vehicles: VehicleArrays, *, extend: str | None = None) -> StandardYear:
    """EU car CO2 standard of ``year`` as a :class:`StandardYear` (g/km × vehicle, €95 cap)."""
    year = t.check_year(year)
    target = t.row(REGION, "CO2", "target_g_per_km", year, extend=extend)
    co2 = _co2(vehicles)
    sc = supercredit_multiplier(year)
    sc_thr = t.value(REGION, "CO2", "supercredit_threshold_g_per_km", year)
    weight = np.where(co2 < sc_thr, sc, 1.0)
    bench = t.value(REGION, "CO2", "zlev_benchmark", year)
    relief_max = 0.0
    count = None
    if bench > 0:
        relief_max = t.value(REGION, "CO2", "zlev_max_relief", year)
        zthr = t.value(REGION, "CO2", "zlev_threshold_g_per_km", year)
        count = np.where(co2 <= zthr, 1.0 - 0.7 * co2 / zthr, 0.0)
    averaging = 2025 <= year <= 2027
    rows = [target, t.row(REGION, "CO2", "excess_premium_eur_per_g_km", year),
            t.row(REGION, "CO2", "supercredit_multiplier", year), t.row(REGION, "CO2", "zlev_benchmark", year),
            t.row(REGION, "CO2", "small_maker_exemption_volume", year)]
    if bench > 0:
        rows.append(t.row(REGION, "CO2", "zlev_max_relief", year))
    notes = ["EU-wide fleet target used for every maker (mass-based maker targets not encoded)"]
    if averaging:
        notes.append("2025-27 averaging represented as banking surpluses to 2027; borrowing not represented")
    if year <= 2024:
        notes.append("2020-24 target is on NEDC; give co2_g_per_km on the same basis")
    return StandardYear(
        name="EU-CO2", region=REGION, year=year, credit_unit="g CO2/km x vehicle",
        earned_per_vehicle=weight * target.value, required_per_vehicle=co2 * np.ones(vehicles.shape),
        price_cap=t.value(REGION, "CO2", "excess_premium_eur_per_g_km", year), currency="EUR",
        carry_forward_fraction=1.0 if averaging else 0.0,
        carry_forward_years=(2027 - year) if averaging else 0, offsets=(),
        min_obligated_volume=t.value(REGION, "CO2", "small_maker_exemption_volume", year),
        sources=tuple(sorted({s for r in rows for s in r.sources})), weight_per_vehicle=weight,
        exempt_earns=False, relief_count_per_vehicle=count, relief_benchmark=bench, relief_max=relief_max,
        status=min((r.status for r in rows), key=lambda s: t.STATUS_ORDER[s]), notes=tuple(notes),
    )
