"""Fleet and effects: stock turnover by vintage, energy, oil displaced, CO2, chargers.

Stock by vintage (design §3.4)::

    stock(t) = Σ_v sales(v) · S(t − v),   S(a) = exp(−(a/η)^k),   η = L̄ / Γ(1 + 1/k)

Weibull survival with mean life ``L̄`` and shape ``k`` per region (scenario ``[fleet]``, sources
there and in docs/model.md: China 14.5 years (U; the scale T = 14.46 of Hao, Wang, Ouyang, Cheng
2011, *Vehicle survival patterns in China*, Sci. China Tech. Sci. 54(3), whose mean is 13.2), US
19.0, EU 20.3). The identity ``stock(t) = stock(t−1) + sales(t) −
scrappage(t)`` holds exactly (scrappage = Σ_v sales(v)·[S(t−1−v) − S(t−v)]).

The stock is seeded at the end of the first year with ``stock_2010_million`` cars: vintages
before the first year are all conventional, their sales assumed to have grown by ``g`` a year
(the scenario's ``fleet.pre_sample_growth``), scaled to the seed::

    seed(a) ∝ (1 + g)^(−a) · S(a),   a = 1 … MAX_AGE − 1,   Σ_a seed(a) = stock_2010 − sales(first year)

``g`` sets the age profile of the seed and so when its cars leave: a young seed (China, ``g`` =
0.15: car sales grew faster than that in the 2000s) scraps little for a decade; a mature market's
seed (US, EU) is older, its ``g`` chosen so that the seed's mean age (:func:`seed_mean_age_years`)
equals the observed mean age of the stock around 2010 (sources in the scenario files). With
``g`` = 0.15 for the US and EU the seed was too young: little was scrapped in the 2010s, then the
seed's vintages all reached the steep part of a shape-4 survival curve together and the stock fell
from 2019 while the observed stocks kept rising (docs/model.md, "Car stock").

Energy per year, real-world (design §3.4; factors per region in
``assumptions/energy_factors.csv``, :class:`EnergyFactors`): the vehicle table's fuel and
electricity use are test-cycle values (WLTC-like fuel, CLTC-like kWh), which the standards
keep; on the road cars use more, by ``g_f`` (fuel) and ``g_e`` (electricity)::

    fuel (L)          = (1 + g_f) · Σ km · L/100km · (1 − e)
    electricity (kWh) = (1 + g_e) · (1 + charging losses) · Σ km · kWh/100km · e
    oil displaced     = (1 + g_f) · (Σ_plug-ins km · L/100km of a conventional car of the same
                        segment and year − Σ_plug-ins km · L/100km · (1 − e))   [kb/d]

with km = stock · vkt and ``e`` the electric share of km. ``vkt`` is the km per car *in the model's
stock* of the region and powertrain (:func:`km_per_car_in_stock`, ``assumptions/fleet_activity.csv``):
China's plug-ins drive what the national NEV monitoring platform measured (12,400 km), its
conventional cars and hybrids a km fitted so that the 2023–24 real-world car gasoline matches the
observed one (EIA's apparent gasoline demand × the cars' share); the US's is FHWA's km per
registered light-duty vehicle. A region of a scenario file's ``[region]`` table may set its own km and
factors (``fleet_km_per_car_in_stock`` …, :data:`nevsim.regionspec.FLEET_SETTINGS`), which replace the
rows; the run metadata's ``fleet_values`` says where each value came from (:func:`fleet_value_sources`).
It is not the buyers' running-cost km (the scenario's ``fleet.vkt_km_per_year``),
which is part of the calibrated choice model (China's PHEVs: a utility factor fitted
to *real-world* Chinese data, so no gap is applied to it). CO2 (Mt) is well-to-wheel, in three
parts that sum to it::

    tailpipe     = fuel · 2.31 kg/L                       (IPCC 2006 default for gasoline)
    fuel supply  = tailpipe · s_wtt                       (well-to-tank of gasoline, CO2e)
    electricity  = electricity · grid(t) · (1 + s_up)     (the scenario's grid path plus the
                                                           fuel supply of power plants and line losses)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from math import gamma
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from nevsim.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EnergyFactors", "FleetState", "energy_and_emissions", "fleet_value_sources", "km_per_car_in_stock",
           "seed_mean_age_years", "weibull_survival"]

MAX_AGE = 60
#: Default yearly growth of car sales before 2010 for the age profile of the 2010 stock (the scenario
#: field ``fleet.pre_sample_growth`` sets it per region). Status U (nevsim assumption for China, whose
#: car sales grew faster than that in the 2000s).
PRE_SAMPLE_GROWTH = 0.15


def weibull_survival(age_years: np.ndarray, mean_life_years: np.ndarray | float, shape: np.ndarray | float) -> np.ndarray:
    """Share of cars still on the road at ``age_years``: ``exp(−(a/η)^k)``, ``η = L̄/Γ(1+1/k)``."""
    k = np.asarray(shape, dtype=float)
    eta = np.asarray(mean_life_years, dtype=float) / np.vectorize(gamma)(1.0 + 1.0 / k)
    a = np.maximum(np.asarray(age_years, dtype=float), 0.0)
    return np.exp(-((a / eta) ** k))


def _seed_vintages(mean_life_years: np.ndarray | float, shape: np.ndarray | float, seed_stock: np.ndarray | float,
                   first_year_sales: np.ndarray | float, pre_sample_growth: np.ndarray | float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(cars sold in each pre-sample vintage ``[draw, age 1 … MAX_AGE − 1]`` as of the end of the first
    year, survival ``[draw, age 0 … MAX_AGE − 1]``): the seed of :meth:`FleetState.seeded` (module
    docstring); the cars still on the road are ``sold · S(age)``."""
    ages = np.arange(MAX_AGE)
    surv = weibull_survival(ages[None, :], np.reshape(mean_life_years, (-1, 1)), np.reshape(shape, (-1, 1)))
    g = np.reshape(np.asarray(pre_sample_growth, dtype=float), (-1, 1))
    rel = (1.0 + g) ** (-ages[None, 1:].astype(float))  # [draw or 1, age 1..]
    survived_rel = (rel * surv[:, 1:]).sum(-1)
    scale = np.maximum(np.asarray(seed_stock, dtype=float) - np.asarray(first_year_sales, dtype=float), 0.0) \
        / survived_rel
    return np.reshape(scale, (-1, 1)) * rel, surv


def seed_mean_age_years(mean_life_years: float, shape: float, seed_stock: float, first_year_sales: float,
                        pre_sample_growth: float) -> float:
    """Mean age (years) of the seeded stock at the end of the first year, the first year's sales at age 0:
    ``Σ_a a·cars(a) / Σ_a cars(a)``. The check of ``fleet.pre_sample_growth`` against the observed mean age."""
    sold, surv = _seed_vintages(mean_life_years, shape, seed_stock, first_year_sales, pre_sample_growth)
    cars = np.concatenate([[float(first_year_sales)], sold[0] * surv[0, 1:]])
    return float((cars * np.arange(MAX_AGE)).sum() / cars.sum())


@dataclass
class FleetState:
    """Vintage arrays ``[draw, age, powertrain]`` (age 0 = sold this year), with intensities.

    ``sales``: vehicles sold in each vintage; ``fuel``: Σ sales·L/100km·(1−e);
    ``elec``: Σ sales·kWh/100km·e; ``ice_equiv``: Σ sales·(L/100km of an ICE of the same
    segment) for the oil-displacement counterfactual. ``survival[draw, age]``.

    The four live in one ring buffer ``vintages[draw, slot, 16]`` (sales, fuel, elec,
    ice_equiv × 4 powertrains): the vintage of age ``a`` sits in slot ``(newest − a) mod
    MAX_AGE``, so ageing a year moves the ``newest`` pointer instead of copying the array
    (the new vintage overwrites the oldest, which has left the fleet), and the
    survival-weighted sums are one batched matrix product over slots with the survival
    curve rotated to the slots (``S[d, 1, slot] @ vintages[d, slot, 16]``).
    """

    survival: np.ndarray
    vintages: np.ndarray
    stock_prev: np.ndarray = field(default_factory=lambda: np.zeros(1))
    newest: int = 0

    def _ages(self) -> np.ndarray:
        """Slot of each age (``[age]``)."""
        return (self.newest - np.arange(self.vintages.shape[1])) % self.vintages.shape[1]

    def _by_age(self, cols: slice) -> np.ndarray:
        return self.vintages[:, self._ages(), cols]

    @property
    def sales(self) -> np.ndarray:
        """Sales by vintage ``[draw, age, powertrain]`` (a copy in age order)."""
        return self._by_age(slice(0, 4))

    @property
    def fuel(self) -> np.ndarray:
        return self._by_age(slice(4, 8))

    @property
    def elec(self) -> np.ndarray:
        return self._by_age(slice(8, 12))

    @property
    def ice_equiv(self) -> np.ndarray:
        return self._by_age(slice(12, 16))

    @classmethod
    def seeded(
        cls,
        draws: int,
        mean_life_years: np.ndarray,
        shape: np.ndarray,
        seed_stock: np.ndarray,
        first_year_sales: np.ndarray,
        ice_fuel_l_per_100km: np.ndarray,
        pre_sample_growth: np.ndarray | float = PRE_SAMPLE_GROWTH,
    ) -> FleetState:
        """A fleet of conventional cars before the first year (see module docstring).

        ``seed_stock`` is the stock wanted at the end of the first year, ``first_year_sales``
        that year's total sales (both ``[draw]``); the first year's own sales are added by
        :meth:`step`, so the pre-sample vintages are scaled to ``seed_stock − first_year_sales``.
        ``pre_sample_growth`` (``[draw]`` or one value): yearly growth of sales before the first year.
        """
        sold, surv = _seed_vintages(mean_life_years, shape, seed_stock, first_year_sales, pre_sample_growth)
        surv = np.broadcast_to(surv, (draws, MAX_AGE)).copy()
        vint = np.zeros((draws, MAX_AGE, 16))
        # vintages aged 1..MAX_AGE-1 at the end of the first year, stored one age younger: step() ages
        # everything by one year before adding new sales
        vint[:, : MAX_AGE - 1, 0] = sold
        fuel_i = np.reshape(ice_fuel_l_per_100km, (-1, 1))
        vint[..., 4] = vint[..., 0] * fuel_i
        vint[..., 12] = vint[..., 4]
        # C order [draw, slot, 16] (indexing the slot axis leaves it outermost in memory, and the
        # batched product in step() then reads a strided array: ≈ 2–4× slower)
        state = cls(survival=surv, vintages=np.ascontiguousarray(vint[:, (-np.arange(MAX_AGE)) % MAX_AGE]))
        state.stock_prev = (vint[..., 0:4] * surv[..., None]).sum(1)
        return state

    def step(
        self,
        new_sales: np.ndarray,
        new_fuel: np.ndarray,
        new_elec: np.ndarray,
        new_ice_equiv: np.ndarray,
    ) -> dict[str, np.ndarray]:
        """Age the fleet one year and add this year's sales (all ``[draw, powertrain]``).

        Returns stock by powertrain, scrappage, and the survival-weighted intensities.
        """
        vint = self.vintages
        n_age = vint.shape[1]
        self.newest = (self.newest + 1) % n_age  # everything ages a year; the oldest slot is reused
        new = self.newest
        vint[:, new, 0:4] = new_sales
        vint[:, new, 4:8] = new_fuel
        vint[:, new, 8:12] = new_elec
        vint[:, new, 12:16] = new_ice_equiv
        slot_age = (new - np.arange(n_age)) % n_age
        weighted = (np.take(self.survival, slot_age, axis=1)[:, None, :] @ vint)[:, 0]  # [draw, 16]: Σ_age S(age)·vintage
        stock = weighted[:, 0:4]  # [draw, powertrain]
        # scrappage this year (Σ_v sales(v)·[S(a_v) − S(a_v + 1)], the oldest vintage leaving) by the
        # stock identity, which holds exactly: stock(t−1) + sales(t) − stock(t)
        scrapped = self.stock_prev + new_sales - stock
        out = {
            "stock_prev": self.stock_prev,
            "scrappage": scrapped,  # [draw, powertrain]
            "stock": stock,
            "fuel_weighted": weighted[:, 4:8],  # Σ stock·L/100km (on fuel)
            "elec_weighted": weighted[:, 8:12],  # Σ stock·kWh/100km (on electricity)
            "ice_equiv_weighted": weighted[:, 12:16],
        }
        self.stock_prev = stock
        return out


@dataclass(frozen=True)
class EnergyFactors:
    """Real-world and well-to-tank factors of one region (``assumptions/energy_factors.csv``).

    ``fuel_real_world_gap``, ``electricity_real_world_gap``: real-world ÷ test-cycle use − 1
    (fractions); ``gasoline_wtt_share``: well-to-tank CO2e of gasoline ÷ its tailpipe CO2;
    ``grid_upstream_share``: life-cycle CO2e of a kWh at the consumer ÷ the grid path − 1. Each
    row of the table carries its source and status. :attr:`TEST_CYCLE` (all zero) gives the
    test-cycle, tank-to-wheel accounting.
    """

    fuel_real_world_gap: float
    electricity_real_world_gap: float
    gasoline_wtt_share: float
    grid_upstream_share: float
    TEST_CYCLE: ClassVar[EnergyFactors]

    @classmethod
    def for_region(cls, code: str, override: Mapping[str, float] | None = None) -> EnergyFactors:
        """The factors of region ``code`` (``CN``, ``US``, ``EU``; another code gets the ``default`` rows),
        each one named in ``override`` (a region's own, :meth:`nevsim.regionspec.RegionSpec.fleet_overrides`)
        taking its place."""
        values = {name: value for name, (value, _) in _energy_factor_rows(code).items()}
        own = {f.name: float(override[f.name]) for f in fields(cls) if override and f.name in override}
        missing = [f.name for f in fields(cls) if f.name not in values and f.name not in own]
        if missing:
            row = code if code in set(_energy_factor_table()["region"]) else "default"
            raise InputError(f"energy_factors.{row}", f"assumptions/energy_factors.csv lacks "
                                                      f"{', '.join(missing)} for this region.",
                             allowed=[f.name for f in fields(cls)])
        return cls(**{f.name: own.get(f.name, values.get(f.name, 0.0)) for f in fields(cls)})


def _energy_factor_table() -> pd.DataFrame:
    from nevsim import assumptions

    return assumptions.energy_factors()


def _energy_factor_rows(code: str) -> dict[str, tuple[float, str]]:
    """name → (value, region of the row) of ``energy_factors.csv`` for ``code``, else the ``default`` rows."""
    table = _energy_factor_table()
    rows = table[table["region"] == code]
    if rows.empty:
        rows = table[table["region"] == "default"]
    return {str(n): (float(v), str(r)) for n, v, r in zip(rows["name"], rows["value"], rows["region"], strict=True)}


EnergyFactors.TEST_CYCLE = EnergyFactors(0.0, 0.0, 0.0, 0.0)


def km_per_car_in_stock(code: str, override: Mapping[str, float] | None = None) -> np.ndarray:
    """Km per car in the model's stock per year of region ``code`` by powertrain (conventional,
    hybrid, PHEV, BEV; ``CN``, ``US``, ``EU``; another code gets the ``default`` rows), the fleet's
    activity behind its fuel, electricity and CO2.

    From ``assumptions/fleet_activity.csv`` (rows ``km_per_car_in_stock`` for conventional cars and
    hybrids, ``km_per_plugin_car_in_stock`` for PHEVs and BEVs, each with its source and status):
    km per car in use × the share of the stock in use. China's plug-ins are measured (the national
    NEV monitoring platform), its conventional km is fitted to observed gasoline use. A name in
    ``override`` (a region's own km, :meth:`nevsim.regionspec.RegionSpec.fleet_overrides`) takes the
    row's place.
    """
    conv, plug = (_km_row(code, name)[0] if not (override and name in override) else float(override[name])
                  for name in KM_NAMES)
    return np.array([conv, conv, plug, plug])


#: The rows of ``assumptions/fleet_activity.csv`` read by :func:`km_per_car_in_stock` (conventional and
#: hybrid, plug-in).
KM_NAMES: tuple[str, str] = ("km_per_car_in_stock", "km_per_plugin_car_in_stock")


def _km_row(code: str, name: str) -> tuple[float, str]:
    """(value, region of the row) of the every-year row ``name`` of ``code``, else of ``default``."""
    from nevsim import assumptions

    table = assumptions.fleet_activity()
    every_year = table[table["year"].isna()]  # (rows of one year are observations the fits are checked on)
    rows = every_year[(every_year["name"] == name) & (every_year["region"] == code)]
    if rows.empty:
        rows = every_year[(every_year["name"] == name) & (every_year["region"] == "default")]
    if len(rows) != 1:
        raise InputError(f"fleet_activity.{code}.{name}", f"assumptions/fleet_activity.csv has {len(rows)} "
                                                          "rows for every year (year left empty); one is needed.")
    return float(rows["value"].iloc[0]), str(rows["region"].iloc[0])


def fleet_value_sources(code: str, override: Mapping[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Where each fleet value of a run comes from (the run metadata's ``fleet_values``): name →
    ``{"value": …, "source": …}``, the source ``"scenario file [region].<setting>"`` for a value in
    ``override`` or ``"assumptions/<table>.csv, row <region>"`` (the code's row, else ``default``)."""
    from nevsim.regionspec import FLEET_SETTINGS

    setting = {table_name: name for name, table_name in FLEET_SETTINGS.items()}
    factors = _energy_factor_rows(code)
    out: dict[str, dict[str, Any]] = {}
    for name in (*KM_NAMES, *(f.name for f in fields(EnergyFactors))):
        if override and name in override:
            out[name] = {"value": float(override[name]), "source": f"scenario file [region].{setting[name]}"}
            continue
        if name in KM_NAMES:
            value, row = _km_row(code, name)
            table = "fleet_activity"
        else:
            value, row = factors.get(name, (float("nan"), "missing"))
            table = "energy_factors"
        out[name] = {"value": value, "source": f"assumptions/{table}.csv, row {row}"}
    return out


def energy_and_emissions(
    fleet_out: dict[str, np.ndarray],
    vkt_km_per_year: np.ndarray,
    charging_losses: np.ndarray,
    grid_g_per_kwh: np.ndarray,
    gasoline_kg_co2_per_l: float,
    litres_per_barrel: float,
    factors: EnergyFactors,
) -> dict[str, np.ndarray]:
    """Real-world fuel (L, kb/d), electricity (TWh), oil displaced (kb/d) and well-to-wheel CO2
    (Mt, with its tailpipe, fuel-supply and electricity parts) of one year's stock ``[draw]``.

    ``vkt_km_per_year``: km per car ``[draw]``, or ``[draw, powertrain]`` when plug-ins drive a
    different distance (:func:`km_per_car_in_stock`). Equations in the module docstring; ``factors`` = :attr:`EnergyFactors.TEST_CYCLE` gives
    test-cycle energy and tailpipe + grid CO2 (the accounting before real-world factors).
    """
    km = np.asarray(vkt_km_per_year, dtype=float)
    km_over_100 = np.broadcast_to(km if km.ndim == 2 else np.reshape(km, (-1, 1)),
                                  fleet_out["fuel_weighted"].shape) / 100.0
    fuel_rw = 1.0 + factors.fuel_real_world_gap
    fuel_l = (fleet_out["fuel_weighted"] * km_over_100).sum(-1) * fuel_rw
    elec_kwh = ((fleet_out["elec_weighted"] * km_over_100).sum(-1) * (1.0 + np.asarray(charging_losses))
                * (1.0 + factors.electricity_real_world_gap))
    plug = slice(2, 4)
    displaced_l = ((fleet_out["ice_equiv_weighted"][:, plug] * km_over_100[:, plug]).sum(-1) - (
        fleet_out["fuel_weighted"][:, plug] * km_over_100[:, plug]
    ).sum(-1)) * fuel_rw
    tailpipe_t = fuel_l * gasoline_kg_co2_per_l / 1e3
    supply_t = tailpipe_t * factors.gasoline_wtt_share
    grid_t = elec_kwh * np.asarray(grid_g_per_kwh) * (1.0 + factors.grid_upstream_share) / 1e6
    kbd = litres_per_barrel * 365.0 * 1e3
    return {
        "fuel_l": fuel_l,
        "fuel_kbd": fuel_l / kbd,
        "electricity_twh": elec_kwh / 1e9,
        "oil_displaced_kbd": displaced_l / kbd,
        "co2_mt": (tailpipe_t + supply_t + grid_t) / 1e6,
        "co2_tailpipe_mt": tailpipe_t / 1e6,
        "co2_fuel_supply_mt": supply_t / 1e6,
        "co2_electricity_mt": grid_t / 1e6,
    }
