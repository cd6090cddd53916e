"""Vehicle attribute arrays that every policy function takes.

One :class:`VehicleArrays` holds, for any array shape (a list of models, segment ×
powertrain, draw × segment × powertrain), the attributes that rules depend on. Arrays
broadcast against each other; NaN means "not applicable" (e.g. ``range_km`` of an ICE car).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from nevsim.errors import InputError

POWERTRAINS = ("ICE", "HEV", "PHEV", "BEV", "FCEV")
NEV_POWERTRAINS = ("PHEV", "BEV", "FCEV")
CONVENTIONAL_POWERTRAINS = ("ICE", "HEV")

# Plausibility limits (inclusive) for user-supplied attributes: beyond them a value is an error.
LIMITS: dict[str, tuple[float, float]] = {
    "range_km": (0.0, 2000.0),
    "energy_kwh_per_100km": (0.0, 100.0),
    "fuel_l_per_100km": (0.0, 50.0),
    "curb_mass_kg": (0.0, 10000.0),
    "co2_g_per_km": (0.0, 1000.0),
    "fc_power_kw": (0.0, 1000.0),
    "battery_wh_per_kg": (0.0, 1000.0),
}


def _float_array(value: object) -> np.ndarray:
    return np.asarray(np.nan if value is None else value, dtype=float)


@dataclass(frozen=True)
class VehicleArrays:
    """Attributes of vehicles (one entry per model / segment × powertrain cell).

    Attributes
    ----------
    powertrain: "ICE", "HEV", "PHEV", "BEV" or "FCEV" (np.ndarray of str).
    range_km: rated electric range (km; China: NEDC to 2020, CLTC/WLTC after; NaN for ICE/HEV).
    energy_kwh_per_100km: electric energy consumption (kWh/100 km) of BEVs.
    fuel_l_per_100km: fuel consumption (L/100 km; PHEV: the weighted fuel-only value).
    curb_mass_kg: curb mass (kg).
    co2_g_per_km: tailpipe CO2 (g/km) on the cycle the region's standard uses.
    fc_power_kw: rated fuel-cell system power (kW) of FCEVs.
    battery_wh_per_kg: battery-system energy density (Wh/kg); NaN = top band assumed.
    """

    powertrain: np.ndarray
    range_km: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    energy_kwh_per_100km: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    fuel_l_per_100km: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    curb_mass_kg: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    co2_g_per_km: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    fc_power_kw: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))
    battery_wh_per_kg: np.ndarray = field(default_factory=lambda: np.asarray(np.nan))

    def __post_init__(self) -> None:
        pt = np.asarray(self.powertrain)
        if pt.dtype.kind not in "UO":
            raise InputError("powertrain", f"must be strings, got dtype {pt.dtype}.", POWERTRAINS)
        if pt.dtype.kind == "O":
            pt = pt.astype(str)
        known = np.zeros(pt.shape, dtype=bool)
        for name in POWERTRAINS:
            known |= pt == name
        if not known.all():
            bad = sorted(set(np.unique(pt[~known]).tolist()))
            raise InputError("powertrain", f"unknown powertrain(s) {bad}.", POWERTRAINS)
        object.__setattr__(self, "powertrain", pt)
        for f in fields(self)[1:]:
            arr = _float_array(getattr(self, f.name))
            lo, hi = LIMITS[f.name]
            if np.isinf(arr).any():
                raise InputError(f.name, "must be finite (or NaN where not applicable).",
                                 [f"{lo:g}–{hi:g}"])
            if arr.size == 0 or np.isnan(arr).all():
                object.__setattr__(self, f.name, arr)
                continue
            amin, amax = float(np.nanmin(arr)), float(np.nanmax(arr))
            if amin < lo or amax > hi:
                worst = amin if amin < lo else amax
                raise InputError(f.name, f"value {worst:g} is outside the plausible range.",
                                 [f"{lo:g}–{hi:g}"])
            object.__setattr__(self, f.name, arr)
        try:
            np.broadcast_shapes(*(np.shape(getattr(self, f.name)) for f in fields(self)))
        except ValueError as exc:
            raise InputError("VehicleArrays", f"arrays do not broadcast: {exc}") from None

    @property
    def shape(self) -> tuple[int, ...]:
        """The broadcast shape of all attributes."""
        return np.broadcast_shapes(*(np.shape(getattr(self, f.name)) for f in fields(self)))

    def mask(self, *powertrains: str) -> np.ndarray:
        """Boolean array (broadcast shape) of vehicles whose powertrain is in ``powertrains``."""
        out = np.zeros(np.shape(self.powertrain), dtype=bool)
        for name in powertrains:
            out |= self.powertrain == name
        return np.broadcast_to(out, self.shape)

    def get(self, name: str) -> np.ndarray:
        """Attribute ``name`` broadcast to the common shape (read-only view)."""
        return np.broadcast_to(getattr(self, name), self.shape)

    @classmethod
    def single(cls, powertrain: str, **attrs: float | None) -> VehicleArrays:
        """One vehicle (0-d arrays), e.g. ``VehicleArrays.single("BEV", range_km=400)``."""
        return cls(np.asarray(powertrain), **{k: _float_array(v) for k, v in attrs.items()})
