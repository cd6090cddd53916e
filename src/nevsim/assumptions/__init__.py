"""Parameter tables of the simulation, each row with its unit, source and status.

Status letters follow the fact sheet: V (seen in the cited source), S (secondary source),
U (nevsim assumption or unconfirmed — the row says why), F (fitted in calibration).

Tables (CSV files in this folder):

``vehicles.csv``
    One row per segment × powertrain: ``segment_sales_share`` (fraction of domestic car
    sales in the segment), ``glider_cny`` (body + assembly + margin, retail CNY, 2020),
    so that the vehicle price built from it is a **retail price including VAT** (13 % from
    2019; Chinese list prices are quoted with VAT, e.g. the Wuling Mini EV's 28,800 CNY) and
    **excluding the purchase tax** ("ex-tax" in the ``source`` column means that tax; status U:
    a nevsim convention; :func:`nevsim.policy.china.purchase_tax_cny` removes the VAT),
    ``drivetrain_cny`` (drivetrain direct cost, CNY, 2020), ``battery_kwh`` (pack),
    ``energy_kwh_per_100km``, ``fuel_l_per_100km``, ``curb_mass_kg``, ``electric_km_share``
    (share of km driven on electricity), ``status``, ``source``.
    Sample: ``compact,BEV,0.38,82000,14000,55,14.0,,1650,1,U,"nevsim assumption: …"``.
``coefficients.csv``
    Buyers' utility coefficients and physical constants: ``name, value, unit, dist,
    dist_sd, dist_min, dist_max, dist_bounds_reason, status, source``. ``dist``/``dist_sd``
    give the distribution Monte Carlo draws from (``[uncertainty] coefficients = true``);
    ``dist_min``/``dist_max`` truncate it where the sign is known (reason in
    ``dist_bounds_reason``); the deterministic run uses ``value``. ``kappa_familiarity`` has
    no value: it is fitted (status F).
``makers.csv``
    Maker groups: ``first_year`` (first year with sales in China), ``last_year_ice`` (last
    year with conventional cars; 0 = never), the ``segments`` and ``powertrains`` they
    offer, ``conventional_share`` (share of the conventional market), ``status``, ``source``.
``maker_history.csv``
    ``maker, year, variable, value, unit, status, source``: production capacity
    (``variable`` = ``capacity``, vehicles per year, China plants) of every maker group but
    the residual "Other", as the simulation bounds production (domestic sales + exports);
    linear between the years given, unbounded before a group's first figure, held after its
    last (``makers.capacity_growth_pct_per_yr`` in a scenario lets it grow). Reported figures
    (V/S) and derived ones (U, reasoning in the ``source`` column and in
    ``docs/research/maker-capacity.md``). Tesla Shanghai: fact sheet C.4. Maker sales come
    from ``nevsim.data.load("china_market")``.
``credit_prices.csv``
    Reported average NEV credit prices (CNY per credit) by year (fact sheet A.6).
``energy_factors.csv``
    ``region, name, value, unit, status, source``: per region (``CN``, ``US``, ``EU``; ``default``
    for regions defined in a scenario file) the factors that turn the fleet's test-cycle
    energy into real-world use and its CO2 into well-to-wheel CO2 (:mod:`nevsim.fleet`):
    ``fuel_real_world_gap`` and ``electricity_real_world_gap`` (real-world ÷ test-cycle use − 1),
    ``gasoline_wtt_share`` (well-to-tank CO2e of gasoline ÷ its tailpipe CO2) and
    ``grid_upstream_share`` (life-cycle CO2e of electricity at the consumer ÷ the scenario's
    grid intensity path − 1). The standards keep the test-cycle values.
``fleet_activity.csv``
    ``region, year, name, value, unit, status, source``: ``km_per_car_in_stock`` (conventional
    cars and hybrids) and ``km_per_plugin_car_in_stock`` (PHEVs, BEVs), km per car in the
    model's stock per year, the fleet's activity for its energy, oil and CO2 (``year`` empty:
    every year), per region (``default`` for regions defined in a scenario file); and the
    observed figures they are fitted to or checked against (China's gasoline and the cars'
    share of it, the car gasoline derived from them, Sinopec's oil displaced by NEVs,
    registered stock, US light-duty vehicle-km and gasoline, EU car CO2). Buyers' running
    costs use the scenario's ``fleet.vkt_km_per_year`` instead.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import pandas as pd

__all__ = ["coefficient", "coefficients", "credit_prices", "energy_factors", "fleet_activity", "maker_history", "makers", "table",
           "vehicles"]


@cache
def _read(name: str) -> pd.DataFrame:
    with resources.files(__name__).joinpath(f"{name}.csv").open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh)


def table(name: str) -> pd.DataFrame:
    """A copy of one assumptions table (``vehicles``, ``coefficients``, ``makers``, …)."""
    return _read(name).copy()


def vehicles() -> pd.DataFrame:
    """Segment × powertrain cost and efficiency table (see module docstring)."""
    return table("vehicles")


def coefficients() -> pd.DataFrame:
    """Buyers' coefficients and constants with distributions and sources."""
    return table("coefficients")


def coefficient(name: str) -> float:
    """The point value of one coefficient (KeyError if unknown, NaN if fitted)."""
    frame = _read("coefficients")
    row = frame.loc[frame["name"] == name, "value"]
    if row.empty:
        raise KeyError(name)
    return float(row.iloc[0])


def makers() -> pd.DataFrame:
    """Maker groups with their offer and conventional-market share."""
    return table("makers")


def maker_history() -> pd.DataFrame:
    """Makers' production capacity by year, the production bound (long table, see module docstring)."""
    return table("maker_history")


def credit_prices() -> pd.DataFrame:
    """Reported average NEV credit prices (CNY per credit)."""
    return table("credit_prices")


def energy_factors() -> pd.DataFrame:
    """Real-world and well-to-tank factors by region (see module docstring)."""
    return table("energy_factors")


def fleet_activity() -> pd.DataFrame:
    """Km per car in stock by region and the observed fuel and stock it is fitted to (see module docstring)."""
    return table("fleet_activity")
