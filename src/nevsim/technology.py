"""Technology and cost: battery packs on an experience curve, vehicles by segment × powertrain.

Axis order everywhere: ``[draw, segment, powertrain]`` (``SEGMENTS`` × ``POWERTRAINS``).

Battery pack cost (experience curve on cumulative battery volume, Wright's law)::

    c(t) = c0 · (V(t) / V0) ** (−b),   b = −log2(1 − LR)

``V`` is cumulative EV battery demand of the whole world (GWh): IEA GEVO 2025 "Battery
demand" rows (all road modes, World, Historical) to the last data year, then China's own
demand (from the simulated sales, endogenous) plus the rest of the world growing on the
scenario's path. ``c0``/``V0`` anchor the curve at the last BNEF survey value on or before
the data cutoff (``nevsim.data.load("battery_prices")``). Dollar-year treatment: BNEF
publishes each survey in real USD of the survey year; nevsim uses the values as published
(no re-deflation, so history is in mixed-year USD close to constant 2024 USD, the
difference is within a few percent for 2019–2025) and projects in the anchor year's USD.
China packs are cheaper than the global average by ``china_pack_price_ratio`` (BNEF 2024:
94 vs 115 USD/kWh).

Vehicle retail price (CNY, before subsidy and purchase tax)::

    price = glider + RPE · (drivetrain(t) + battery_kwh · c_CN(t)) + ICE technology cost(t)

with ``RPE`` the retail-price equivalent of direct costs; the electric drivetrain gets
cheaper by ``ev_drivetrain_cost_decline_pct_per_yr`` to 2035; ICE and HEV fuel use falls by
``ice_fuel_improvement_pct_per_yr`` a year (before 2020 they used correspondingly more;
the table's fuel values are WLTC-like 2020 values) and each L/100 km saved costs
``ice_cost_per_l_per_100km_cny`` (the CAFC technology cost). BEV range = pack kWh /
consumption. Table: ``nevsim/assumptions/vehicles.csv``.

PHEV battery and electric driving (China). The table's PHEV packs describe the plug-in
hybrids of the mid-2020s. Where the data layer has China's sales-weighted average PHEV
electric range for a year (``china_market``, CPCA), every PHEV pack is scaled by that range
over the table's sales-weighted range, so the PHEV's price follows ``battery_kwh(t) · c(t)``.
The share of km driven on electricity follows the range (utility-factor curve)::

    UF(R) = 1 − exp(−R / d)

with ``d`` the ``phev_utility_factor_km`` coefficient, fitted to the real-world utility factors
of seven Chinese cities (0.53 at 50 km and 0.68 at 80 km of electric range; "Actual
electricity utility factor of plug-in hybrid electric vehicles in typical Chinese cities",
World Electr. Veh. J. 2021, 12(4):169, doi:10.3390/wevj12040169).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _nz(x: np.ndarray | float, fill: float = 0.0) -> np.ndarray:
    """NaN → ``fill`` (a cheaper ``np.nan_to_num`` for the hot path)."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), fill, x)

__all__ = [
    "POWERTRAINS",
    "SEGMENTS",
    "VehicleTable",
    "experience_curve_cost",
    "learning_exponent",
    "utility_factor",
    "vehicle_attributes",
]

SEGMENTS: tuple[str, ...] = ("mini", "small", "compact", "midsize", "large")
POWERTRAINS: tuple[str, ...] = ("ICE", "HEV", "PHEV", "BEV")
ICE, HEV, PHEV, BEV = range(4)
COST_BASE_YEAR = 2020


def learning_exponent(learning_rate: np.ndarray | float) -> np.ndarray:
    """Experience exponent ``b = −log2(1 − LR)`` (LR = cost decline per doubling, fraction)."""
    return -np.log2(1.0 - np.asarray(learning_rate, dtype=float))


def experience_curve_cost(
    volume_gwh: np.ndarray | float,
    anchor_volume_gwh: np.ndarray | float,
    anchor_cost: np.ndarray | float,
    learning_rate: np.ndarray | float,
) -> np.ndarray:
    """Unit cost on an experience curve: ``c0 · (V/V0)^(−b)`` with ``b = −log2(1 − LR)``.

    Wright's law as used by BNEF for lithium-ion packs (≈ 18 % per doubling, [Pipedot-2020]).
    Broadcasts over draws.
    """
    ratio = np.asarray(volume_gwh, dtype=float) / np.asarray(anchor_volume_gwh, dtype=float)
    return np.asarray(anchor_cost, dtype=float) * ratio ** (-learning_exponent(learning_rate))


def utility_factor(range_km: np.ndarray | float, characteristic_km: np.ndarray | float) -> np.ndarray:
    """Share of a PHEV's km driven on electricity: ``UF = 1 − exp(−R / d)`` (0 where R is NaN or ≤ 0).

    ``d`` (km) is the curve's characteristic distance; the exponential through the
    real-world utility factors measured in seven Chinese cities (0.53 at R = 50 km, 0.68 at
    80 km; World Electr. Veh. J. 2021, 12(4):169) has d ≈ 66–70 km.
    """
    r = np.clip(_nz(range_km), 0.0, None)
    return 1.0 - np.exp(-r / np.asarray(characteristic_km, dtype=float))


@dataclass(frozen=True)
class VehicleTable:
    """Base-year vehicle attributes as arrays ``[segment, powertrain]`` (from ``vehicles.csv``)."""

    segment_sales_share: np.ndarray  # [segment], fraction
    glider_cny: np.ndarray
    drivetrain_cny: np.ndarray
    battery_kwh: np.ndarray
    energy_kwh_per_100km: np.ndarray  # NaN where no electric drive
    fuel_l_per_100km: np.ndarray  # NaN for BEV
    curb_mass_kg: np.ndarray
    electric_km_share: np.ndarray

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> VehicleTable:
        """Arrange the long table into ``[segment, powertrain]`` arrays (checks completeness)."""
        idx = pd.MultiIndex.from_product([SEGMENTS, POWERTRAINS], names=["segment", "powertrain"])
        wide = frame.set_index(["segment", "powertrain"]).reindex(idx)
        if wide["glider_cny"].isna().any():
            missing = [f"{s}/{p}" for (s, p) in wide.index[wide["glider_cny"].isna()]]
            raise ValueError(f"vehicles table lacks rows for {missing}")
        shape = (len(SEGMENTS), len(POWERTRAINS))

        def col(name: str) -> np.ndarray:
            return wide[name].to_numpy(dtype=float).reshape(shape)

        share = col("segment_sales_share")[:, 0]
        return cls(
            segment_sales_share=share / share.sum(),
            glider_cny=col("glider_cny"),
            drivetrain_cny=col("drivetrain_cny"),
            battery_kwh=col("battery_kwh"),
            energy_kwh_per_100km=col("energy_kwh_per_100km"),
            fuel_l_per_100km=col("fuel_l_per_100km"),
            curb_mass_kg=col("curb_mass_kg"),
            electric_km_share=col("electric_km_share"),
        )


@dataclass(frozen=True)
class VehicleYear:
    """One year's vehicles, arrays ``[draw, segment, powertrain]``."""

    price_cny: np.ndarray
    range_km: np.ndarray  # electric range; NaN for ICE/HEV
    energy_kwh_per_100km: np.ndarray
    fuel_l_per_100km: np.ndarray
    battery_kwh: np.ndarray
    electric_km_share: np.ndarray | None = None  # share of km on electricity (1 BEV, UF(range) PHEV, 0 ICE/HEV)


@dataclass(frozen=True)
class VehiclePaths:
    """The battery-independent parts of :func:`vehicle_attributes` for many years at once.

    Arrays ``[year, draw, segment, powertrain]``; the price excludes the battery
    (``price = price_ex_battery + RPE · battery_kwh · pack cost``, linear in the pack cost).
    """

    price_ex_battery_cny: np.ndarray
    range_km: np.ndarray
    energy_kwh_per_100km: np.ndarray
    fuel_l_per_100km: np.ndarray
    battery_kwh: np.ndarray  # [year, segment, powertrain]
    retail_price_equivalent: np.ndarray  # [draw]
    electric_km_share: np.ndarray  # [year, draw or 1, segment, powertrain]

    def year(self, index: int, pack_cost_cny_per_kwh: np.ndarray) -> VehicleYear:
        """Vehicles of the ``index``-th year at pack costs ``[draw]`` (CNY/kWh)."""
        pack = np.asarray(pack_cost_cny_per_kwh, dtype=float)[:, None, None]
        rpe = self.retail_price_equivalent[:, None, None]
        kwh = self.battery_kwh[index]
        price = self.price_ex_battery_cny[index] + rpe * kwh[None] * pack
        return VehicleYear(price_cny=price, range_km=self.range_km[index],
                           energy_kwh_per_100km=self.energy_kwh_per_100km[index],
                           fuel_l_per_100km=self.fuel_l_per_100km[index],
                           battery_kwh=np.broadcast_to(kwh[None], price.shape),
                           electric_km_share=self.electric_km_share[index])


def vehicle_paths(
    table: VehicleTable,
    years: np.ndarray,
    *,
    retail_price_equivalent: np.ndarray | float,
    ev_drivetrain_decline_pct_per_yr: np.ndarray | float,
    ice_fuel_improvement_pct_per_yr: np.ndarray | float,
    ice_cost_per_l_per_100km_cny: np.ndarray | float,
    phev_battery_scale: np.ndarray | None = None,
    phev_utility_factor_km: np.ndarray | float | None = None,
) -> VehiclePaths:
    """Battery-independent vehicle attributes for ``years`` × draws (equation in the module docstring).

    Parameters are scalars or ``[draw]`` arrays. ``phev_battery_scale`` (``[year]``, default 1)
    multiplies every PHEV pack (and so its electric range); with ``phev_utility_factor_km``
    the PHEV's electric share of km is ``UF(range)`` (:func:`utility_factor`), otherwise the
    table's ``electric_km_share``.
    """
    y = np.asarray(years, dtype=float).reshape(-1, 1, 1, 1)
    per_draw = lambda a: np.asarray(a, dtype=float).reshape(1, -1, 1, 1)  # noqa: E731
    rpe = per_draw(retail_price_equivalent)
    ev_factor = (1.0 - per_draw(ev_drivetrain_decline_pct_per_yr) / 100.0) ** (np.clip(y, 2010, 2035) - COST_BASE_YEAR)
    # electric drive share of the drivetrain cost: BEV all of it, PHEV a third (motor + power
    # electronics; status U: nevsim assumption, no source — it only sets how much of the PHEV
    # drivetrain follows ev_drivetrain_cost_decline_pct_per_yr)
    ev_part = np.array([0.0, 0.0, 1.0 / 3.0, 1.0])
    drivetrain = table.drivetrain_cny * ((1.0 - ev_part) + ev_part * ev_factor)
    # ICE/HEV/PHEV fuel use improves by a fixed rate (also backwards: older cars used more);
    # each L/100 km saved costs money
    fuel_factor = (1.0 - per_draw(ice_fuel_improvement_pct_per_yr) / 100.0) ** (y - COST_BASE_YEAR)
    base_fuel = _nz(table.fuel_l_per_100km)
    fuel = base_fuel * fuel_factor
    ice_tech_cost = per_draw(ice_cost_per_l_per_100km_cny) * (base_fuel - fuel)
    price = table.glider_cny + rpe * drivetrain + ice_tech_cost
    shape = np.broadcast_shapes(price.shape, fuel.shape)
    energy = np.broadcast_to(table.energy_kwh_per_100km, shape)
    kwh = np.repeat(table.battery_kwh[None], y.shape[0], 0)  # [year, segment, powertrain]
    if phev_battery_scale is not None:
        kwh[:, :, PHEV] *= np.asarray(phev_battery_scale, dtype=float).reshape(-1, 1)
    kwh.setflags(write=False)
    with np.errstate(invalid="ignore", divide="ignore"):
        range_km = np.broadcast_to((kwh / table.energy_kwh_per_100km * 100.0)[:, None], shape)
    elec = np.broadcast_to(table.electric_km_share, (y.shape[0], 1, *table.electric_km_share.shape))
    if phev_utility_factor_km is not None:
        d = np.asarray(phev_utility_factor_km, dtype=float).reshape(1, -1, 1)
        elec = np.broadcast_to(elec, (y.shape[0], d.shape[1], *table.electric_km_share.shape)).copy()
        elec[..., PHEV] = utility_factor(range_km[:, :1, :, PHEV], d)
    fuel = np.broadcast_to(np.where(np.isnan(table.fuel_l_per_100km), np.nan, fuel), shape)
    return VehiclePaths(
        price_ex_battery_cny=np.broadcast_to(price, shape), range_km=range_km, energy_kwh_per_100km=energy,
        fuel_l_per_100km=fuel, battery_kwh=kwh,
        retail_price_equivalent=np.asarray(retail_price_equivalent, dtype=float).reshape(-1),
        electric_km_share=elec,
    )


def vehicle_attributes(
    table: VehicleTable,
    year: int,
    pack_cost_cny_per_kwh: np.ndarray,
    *,
    retail_price_equivalent: np.ndarray | float,
    ev_drivetrain_decline_pct_per_yr: np.ndarray | float,
    ice_fuel_improvement_pct_per_yr: np.ndarray | float,
    ice_cost_per_l_per_100km_cny: np.ndarray | float,
) -> VehicleYear:
    """Prices, efficiency and range per segment × powertrain in ``year`` (one array per draw).

    ``pack_cost_cny_per_kwh`` has shape ``[draw]``; other parameters are scalars or ``[draw]``.
    Equation in the module docstring.
    """
    paths = vehicle_paths(
        table, np.array([year]), retail_price_equivalent=retail_price_equivalent,
        ev_drivetrain_decline_pct_per_yr=ev_drivetrain_decline_pct_per_yr,
        ice_fuel_improvement_pct_per_yr=ice_fuel_improvement_pct_per_yr,
        ice_cost_per_l_per_100km_cny=ice_cost_per_l_per_100km_cny,
    )
    draws = np.asarray(pack_cost_cny_per_kwh).shape[0]
    veh = paths.year(0, pack_cost_cny_per_kwh)
    full = (draws, *table.glider_cny.shape)
    return VehicleYear(
        price_cny=np.broadcast_to(veh.price_cny, full).copy(), range_km=np.broadcast_to(veh.range_km, full).copy(),
        energy_kwh_per_100km=np.broadcast_to(veh.energy_kwh_per_100km, full).copy(),
        fuel_l_per_100km=np.broadcast_to(veh.fuel_l_per_100km, full).copy(),
        battery_kwh=np.broadcast_to(veh.battery_kwh, full).copy(),
        electric_km_share=np.broadcast_to(veh.electric_km_share, full).copy(),
    )
