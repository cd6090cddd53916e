"""Scenarios: TOML files validated by pydantic, composed as named overrides of a base.

A scenario file either stands alone or names a ``base`` and gives only the keys it changes::

    name = "china-no-dual-credit"
    base = "china-current-policies"
    description = "The dual-credit (CAFC + NEV credit) rules never existed."

    [policy.dual_credit]
    enabled = false

:func:`load_scenario` merges the chain of bases (deepest first), validates the result and
returns a :class:`Scenario`: one explicit object (every value spelled out) with a
``hash`` (sha256 of its canonical JSON) that is stored beside the results it produced.

Numeric fields carry their unit in the name (``price_cap_cny_per_credit``) or in the
description, and a range. Year paths (``{2030 = 4.0, 2040 = 5.0}``) are tables with
year keys in increasing order; between keys the model interpolates linearly and after the
last key it holds the last value.

Distributions: any real-valued field, year-path point or ``[coefficients]`` entry may be
written as a distribution table (``{dist = "normal", mean = …, sd = …, min = …, max = …}``,
see :mod:`nevsim.uncertainty`). The loader keeps the field's *nominal* value
(:func:`nevsim.uncertainty.nominal`: mean, mode, midpoint or most likely value) and lists the
distribution in ``uncertainty.distributions`` under its dotted path; a one-draw run uses the
nominal values, ``run(..., draws=N)`` samples. ``[uncertainty]`` holds ``draws``, ``seed``,
``coefficients`` (also sample ``coefficients.csv``) and ``correlations``; a top-level
``draws``/``seed`` (the earlier spelling) is moved there. A distribution's support must lie in
the field's range (truncate with ``min``/``max``); fields that cannot vary per draw are refused
(:func:`nevsim.simulate.value_keys` lists those that can).

Bad input raises :class:`nevsim.errors.InputError` whose ``field`` is the dotted path of the
bad value (e.g. ``policy.dual_credit.nev_ratio_pct.2030``), with the allowed range or values.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, StrictBool, ValidationError, field_validator, model_validator

from nevsim._schema import MAX_YEAR, MIN_YEAR, Strict, year_path
from nevsim.errors import InputError
from nevsim.regionspec import FLEET_SETTINGS, AllowedError, RegionSpec

__all__ = [
    "CHINA_ONLY",
    "DEFAULT_SCENARIO",
    "MAX_DRAWS",
    "Scenario",
    "Uncertainty",
    "interpolate_path",
    "list_scenarios",
    "load_scenario",
]

DEFAULT_SCENARIO = "china-current-policies"
_SCENARIO_PACKAGE = "nevsim.scenarios"
_MIN_YEAR, _MAX_YEAR = MIN_YEAR, MAX_YEAR
_MAX_BASE_DEPTH = 8

# A real-valued field. In a scenario file it may also be written as a distribution table; the
# loader keeps its nominal value in the field and lists the distribution in
# ``uncertainty.distributions`` (see :func:`_extract_distributions`).
Number = float
MAX_DRAWS = 100_000


_Strict = Strict
_year_path_validator = year_path


def _path(lo: float, hi: float, description: str) -> Any:
    """A year → value path with each value in [lo, hi]."""
    return Field(
        default_factory=dict,
        description=f"{description}; range {lo}–{hi}; year keys in increasing order",
        json_schema_extra={"ge": lo, "le": hi},
    )


YearPath = dict[str, Annotated[Number, Field(ge=-1e12, le=1e12)]]


def _check_path_ranges(model: BaseModel) -> None:
    for name, info in type(model).model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else None
        if not extra or "ge" not in extra:
            continue
        lo, hi = float(extra["ge"]), float(extra["le"])  # type: ignore[arg-type]
        for year, value in getattr(model, name).items():
            if not lo <= value <= hi:
                raise _PathRangeError(name, year, value, lo, hi)


#: ``policy.phev_plate_from_year`` meaning "PHEVs never lose the free plate" (its default).
NO_PLATE_END = 2099


class _FieldError(ValueError):
    """A validation error that names its own field and allowed values (turned into an InputError)."""

    def __init__(self, field: str, message: str, allowed: list[str]) -> None:
        self.field, self.message, self.allowed = field, message, allowed
        super().__init__(message)


class _PathRangeError(ValueError):
    def __init__(self, name: str, year: str, value: float, lo: float, hi: float) -> None:
        self.name, self.year, self.lo, self.hi = name, year, lo, hi
        super().__init__(f"{value} is outside {lo}–{hi}")


class _WithPaths(_Strict):
    @model_validator(mode="after")
    def _ranges(self) -> _WithPaths:
        _check_path_ranges(self)
        return self


def _path_validators(*names: str) -> Any:
    return field_validator(*names, mode="after")(lambda cls, v: _year_path_validator(v))


class Years(_Strict):
    """Simulated years."""

    first: int = Field(2010, ge=2010, le=2030, description="first simulated year (calendar year)")
    last: int = Field(2060, ge=2011, le=2100, description="last simulated year (calendar year); at most 2060 for China "
                                                          "and a region with US-30D (their policy tables end there)")
    calibrate_until: int = Field(
        2025,
        ge=2015,
        le=2030,
        description="last history year used for calibration (calendar year); a run's `until` lowers it",
    )

    @model_validator(mode="after")
    def _order(self) -> Years:
        if self.last <= self.first:
            raise _FieldError("years.last", f"{self.last} is not after years.first ({self.first})",
                              [f"{self.first + 1} to 2100"])
        # three history years at least (the run refused fewer, naming `until`), before years.last
        lo, hi = self.first + 2, min(self.last - 1, 2030)
        if lo > 2030:
            raise _FieldError("years.first", f"{self.first} leaves fewer than three history years to calibrate on "
                              "before 2030 (the latest years.calibrate_until)", ["2010 to 2028"])
        if lo > hi:
            raise _FieldError("years.last", f"{self.last} leaves no year after the three history years from "
                              f"years.first = {self.first} (years.calibrate_until ≥ {lo})", [f"{lo + 1} to 2100"])
        if not lo <= self.calibrate_until <= hi:
            raise _FieldError("years.calibrate_until", f"{self.calibrate_until} is not between years.first + 2 "
                              f"({lo}: three history years to calibrate on) and years.last − 1 ({self.last - 1})",
                              [f"{lo} to {hi}"])
        return self


class DualCredit(_WithPaths):
    """China's dual-credit rules (CAFC + NEV credits) as the scenario applies them."""

    enabled: StrictBool = Field(True, description="false: no NEV credit obligation and no CAFC offsets (a world without the rules)")
    nev_ratio_pct: YearPath = _path(0.0, 200.0, "NEV credit ratio by year (percent of the conventional base), overriding nevsim.policy")
    extend: Literal["hold", "zero"] = Field(
        "hold", description="after the last year with a ratio: hold the last value, or no obligation"
    )
    price_cap_cny_per_credit: Number = Field(
        3000.0,
        ge=0.0,
        le=100000.0,
        description="cap on the NEV credit price (CNY per credit); China has no fine, so a cap near the highest observed average prices stands in for the cost of non-compliance",
    )
    pass_through: Number = Field(0.7, ge=0.0, le=1.0, description="share θ of the credit value passed through to prices (fraction)")
    observed_prices_in_history: StrictBool = Field(
        True,
        description="in calibration years use the reported average NEV credit price where one exists (the competitive clearing price is 0 in an industry-long market)",
    )
    cafc_offset: StrictBool = Field(True, description="makers' CAFC deficits of the previous year add to NEV credit demand (offset with NEV credits)")
    check_year_paths = _path_validators("nev_ratio_pct")


class Subsidies(_Strict):
    """National purchase subsidy, the purchase-tax exemption and the trade-in subsidy."""

    purchase_subsidy: StrictBool = Field(True, description="false: no national purchase subsidy in any year")
    local_top_up: StrictBool = Field(
        True, description="local (city/provincial) purchase top-ups on the national subsidy, 2013–2019 (policy table local_top_up_fraction)"
    )
    subsidy_extend_to_year: int | None = Field(
        None, ge=2021, le=2100, description="keep the last subsidy amounts (2022 rules; with policy.known_at, those of the last year "
                                   "the rules as known then pay) up to this year (calendar year)"
    )
    purchase_tax_exemption: StrictBool = Field(True, description="false: NEVs pay the full purchase tax in every year")
    tax_exemption_extend_to_year: int | None = Field(
        None, ge=2018, le=2100, description="keep the full exemption (2024–2025 rules; with policy.known_at, those of its last year "
                                   "in the rules as known then) up to this year (calendar year)"
    )
    trade_in: StrictBool = Field(
        True, description="the national car trade-in subsidy 2024–2026 (scrap-and-buy and replacement; policy table "
                          "TRADEIN): each buyer sees its expected value, NEVs and conventional cars at their own rates"
    )
    trade_in_extend_to_year: int | None = Field(
        None, ge=2025, le=2100, description="keep the trade-in scheme (2026 rules and paid share; with policy.known_at, those of its "
                                   "last year in the rules as known then) up to this year (calendar year)"
    )

    @model_validator(mode="after")
    def _extension_needs_its_scheme(self) -> Subsidies:
        """An extension of a scheme the scenario switches off would be ignored: refuse it instead."""
        for extend, scheme in (("subsidy_extend_to_year", "purchase_subsidy"),
                               ("tax_exemption_extend_to_year", "purchase_tax_exemption"),
                               ("trade_in_extend_to_year", "trade_in")):
            if getattr(self, extend) is not None and not getattr(self, scheme):
                raise _FieldError(f"policy.subsidies.{extend}", f"extends a scheme this scenario switches off "
                                  f"(policy.subsidies.{scheme} = false).",
                                  [f"omit {extend}", f"{scheme} = true"])
        return self


#: The scheme extensions of :class:`Subsidies`: (extension field, scheme switch, what it extends).
_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("subsidy_extend_to_year", "purchase_subsidy", "national purchase subsidy"),
    ("tax_exemption_extend_to_year", "purchase_tax_exemption", "full purchase-tax exemption"),
    ("trade_in_extend_to_year", "trade_in", "trade-in scheme"),
)


class Policy(_Strict):
    dual_credit: DualCredit = Field(default_factory=DualCredit)
    subsidies: Subsidies = Field(default_factory=Subsidies)
    plate_restricted_sales_share_pct: YearPath = _path(
        0.0, 100.0, "share of new-car sales in cities that ration licence plates (percent); NEVs get the plate"
    )
    phev_plate_from_year: int = Field(
        NO_PLATE_END, ge=2010, le=2100,
        description=f"from this year PHEVs no longer get the free plate (Shanghai: 2023; {NO_PLATE_END}: no end)",
    )
    phev_plate_announced_year: int | None = Field(
        None, ge=2010, le=2100,
        description="year the end of free PHEV plates was announced (Shanghai: 2021-02): with policy.known_at "
                    "before it the end is not known and PHEVs keep the plate; needed with known_at when "
                    "phev_plate_from_year sets an end after the cutoff",
    )
    known_at: int | None = Field(
        None,
        description="China's rules as known at the end of this year (calendar year; nevsim/policy/params/vintages.csv): "
                    "for later years the NEV ratios and per-vehicle credit formulas, NEV banking, the CAFC phase, "
                    "purchase subsidy, local top-ups, purchase-tax exemption and trade-in scheme issued by then, and the PHEV plate "
                    "end only if announced by then (phev_plate_announced_year); unset = the rules as enacted. CN only",
    )
    check_year_paths = _path_validators("plate_restricted_sales_share_pct")

    @field_validator("known_at", mode="after")
    @classmethod
    def _known_at_encoded(cls, value: int | None) -> int | None:
        if value is None:
            return None
        from nevsim.errors import InputError
        from nevsim.policy import _tables

        try:
            return _tables.check_known_at(value, "policy.known_at")
        except InputError as err:  # (the one range check, with the allowed years)
            raise _FieldError(err.field, err.message, err.allowed or []) from None

    @model_validator(mode="after")
    def _ranges(self) -> Policy:
        _check_path_ranges(self)
        from nevsim.errors import InputError

        try:
            self.phev_plate_from_year_as_known()
        except InputError as err:
            raise _FieldError(err.field, err.message, err.allowed or []) from None
        return self

    def check_extensions(self) -> None:
        """Each extension (``policy.subsidies.*_extend_to_year``) keeps the rules of its scheme's last
        year in the rules as known at ``known_at`` (:func:`nevsim.policy.china.scheme_last_year`; as
        enacted: subsidy 2022, full tax exemption 2025, trade-in 2026; known at 2018: subsidy and
        exemption 2020) for the years after it, up to its own year.

        Raises :class:`~nevsim.errors.InputError` at the extension when the rules as known have no
        such scheme (the trade-in scheme before 2024: nothing to extend) or when its year is not
        after the scheme's last year (it would extend nothing). A scheme switched off is refused
        by :class:`Subsidies` itself.
        """
        sub = self.subsidies
        for extend, scheme, label in _EXTENSIONS:
            to = getattr(sub, extend)
            if to is None or not getattr(sub, scheme):
                continue
            from nevsim.policy.china import scheme_last_year

            last = scheme_last_year(scheme, known_at=self.known_at)
            field = f"policy.subsidies.{extend}"
            view = "as enacted" if self.known_at is None else \
                f"as known at the end of {self.known_at} (policy.known_at)"
            if last is None:
                raise InputError(field, f"extends the {label}, which the rules {view} do not have: there is nothing "
                                        "to extend.", [f"omit {extend}", "a later policy.known_at",
                                                       "unset policy.known_at"])
            if to <= last:
                raise InputError(field, f"{to} is not after the last year of the {label} in the rules {view} "
                                        f"({last}): it would extend nothing.", [f"{last + 1}–{_MAX_YEAR}",
                                                                                 f"omit {extend}"])

    def phev_plate_from_year_as_known(self) -> int:
        """``phev_plate_from_year`` as known at the end of ``known_at``: the scenario's year, or
        :data:`NO_PLATE_END` (no end) when the end was announced after the cutoff.

        Raises :class:`~nevsim.errors.InputError` when the announcement is after the end itself, or
        when ``known_at`` is set, the end lies after it and no announcement year says whether the
        cutoff knew it.
        """
        from nevsim.errors import InputError

        end, announced, known_at = self.phev_plate_from_year, self.phev_plate_announced_year, self.known_at
        if announced is not None and announced > end:
            raise InputError("policy.phev_plate_announced_year",
                             f"{announced} is after the end it announces (phev_plate_from_year = {end}).",
                             [f"≤ {end}", "unset"])
        if known_at is None or end >= NO_PLATE_END or end <= known_at:
            return end
        if announced is None:
            raise InputError("policy.phev_plate_announced_year",
                             f"needed with policy.known_at = {known_at}: the PHEV plate end of {end} lies after the "
                             "cutoff, and its announcement year says whether the cutoff knew it.",
                             [f"2010–{end}"])
        return end if announced <= known_at else NO_PLATE_END


class Technology(_WithPaths):
    battery_learning_rate: Number = Field(
        0.18, ge=0.01, le=0.5, description="battery pack cost decline per doubling of cumulative volume (fraction); BNEF ≈ 18 %"
    )
    world_battery_demand_growth_pct_per_yr: YearPath = _path(
        -50.0, 100.0, "growth of rest-of-world EV battery demand after the last IEA year (percent per year)"
    )
    china_pack_price_ratio: Number = Field(
        0.82, ge=0.3, le=1.5, description="China pack price ÷ global average (fraction); BNEF 2024: 94 / 115"
    )
    cny_per_usd: Number = Field(7.1, ge=4.0, le=12.0, description="exchange rate (CNY per USD)")
    ice_fuel_improvement_pct_per_yr: Number = Field(
        1.5, ge=0.0, le=10.0, description="yearly cut in new ICE fuel consumption (percent per year)"
    )
    check_year_paths = _path_validators("world_battery_demand_growth_pct_per_yr")


class Market(_WithPaths):
    total_car_sales_million: YearPath = _path(
        0.01, 100.0, "domestic new-car sales after the history years (million vehicles per year)"
    )
    ev_exports_million: YearPath = _path(0.0, 50.0, "exports of electric cars (million vehicles per year)")
    check_year_paths = _path_validators("total_car_sales_million", "ev_exports_million")


class Charging(_WithPaths):
    evs_per_public_charger: YearPath = _path(
        0.5, 200.0, "EV stock per public charger after the history years (vehicles per charger)"
    )
    check_year_paths = _path_validators("evs_per_public_charger")


class Energy(_WithPaths):
    gasoline_price_cny_per_l: YearPath = _path(1.0, 50.0, "retail gasoline price (CNY per litre)")
    electricity_price_cny_per_kwh: YearPath = _path(0.05, 10.0, "average charging price, home/public mix (CNY per kWh)")
    grid_intensity_g_per_kwh: YearPath = _path(0.0, 2000.0, "grid CO2 intensity at the plug (g CO2 per kWh)")
    check_year_paths = _path_validators("gasoline_price_cny_per_l", "electricity_price_cny_per_kwh", "grid_intensity_g_per_kwh")


class Fleet(_Strict):
    mean_life_years: Number = Field(
        14.5, ge=3.0, le=40.0, description="mean life of a passenger car (years); China 14.5 (U: Hao et al. 2011's scale T for private cars; their mean is 13.2), US 19.0 and EU 20.3 (D, scenario files)"
    )
    weibull_shape: Number = Field(4.0, ge=1.0, le=10.0, description="Weibull shape of car survival (dimensionless)")
    vkt_km_per_year: Number = Field(12000.0, ge=1000.0, le=50000.0, description="km a buyer expects to drive a year (running costs in the choice model; the fleet's fuel and CO2 use assumptions/fleet_activity.csv)")
    stock_2010_million: Number = Field(
        60.0, ge=1.0, le=500.0, description="passenger-car stock at the end of the first year (million vehicles)"
    )
    pre_sample_growth: Number = Field(
        0.15, ge=-0.2, le=0.5,
        description="yearly growth of car sales before the first year (fraction), which sets the age profile of the "
                    "seed stock: 0.15 for China (U); US and EU from the observed mean age of the stock (D)"
    )


class Makers(_Strict):
    # a plain float (not ``Number``): capacity paths are the same in every draw
    capacity_growth_pct_per_yr: float = Field(
        0.0,
        ge=-20.0,
        le=50.0,
        description="growth of each maker's production capacity after its last reported figure (percent per year; 0 = held)",
    )


class Calibration(_Strict):
    against: str = Field(
        DEFAULT_SCENARIO,
        description="scenario whose policies are the factual history; its fitted constants drive this scenario",
    )
    hold_mean_of_last_years: int = Field(
        1, ge=1, le=10, description="after calibration, hold the mean fitted residual constant of this many last years"
    )
    kappa_fit: Literal["own", "pooled"] = Field(
        "pooled",
        description="familiarity κ: 'own' = slope on this region's history; 'pooled' = one slope over the shipped "
                    "regions' histories (CN, US, EU) and this one, with a constant per region (nevsim.pooling)",
    )
    segment_mix: Literal["none", "observed"] = Field(
        "none",
        description="China's EV segment mix: 'none' = one pair of plug-in/BEV constants for every segment; "
                    "'observed' = also fit segment offsets on the BEV utility to the observed full-year mix "
                    "(china_ev_segments: 2017, 2021, 2023; status S/D) and hold the last after the cutoff. "
                    "Opt-in: better battery demand and pack size in history, worse back-test at the 2021 "
                    "cutoff (docs/model.md, 'Segment offsets')",
    )


class Uncertainty(_Strict):
    """Monte Carlo draws: how many, the seed, and what is sampled."""

    draws: int = Field(1, ge=1, le=MAX_DRAWS, description="Monte Carlo draws (1 = deterministic run at the nominal values)")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="random seed of the draws (numpy SeedSequence entropy)")
    coefficients: StrictBool = Field(
        False, description="with draws > 1, also sample the buyer coefficients from the distributions of "
                           "assumptions/coefficients.csv (those the scenario does not set; the residual "
                           "walk's only with residual_walk)")
    residual_walk: StrictBool = Field(
        False, description="with draws > 1, also let the calibrated plug-in constant drift after the data "
                           "cutoff: a random walk with the yearly step its history shows (coefficient "
                           "residual_walk_z). Widens the ranges a lot (China 2030 EV share: 73–85 % without, "
                           "24–98 % with); docs/uncertainty.md, 'Structural uncertainty'")
    distributions: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="dotted path → distribution table; filled by the loader from distribution tables written "
                    "in place of a number (the field keeps the nominal value)")
    correlations: list[dict[str, Any]] = Field(
        default_factory=list, description="correlation groups {names = [...], matrix = [[...]]} (Gaussian copula)")


def _coefficient_names() -> list[str]:
    """Coefficients a scenario may set: rows of ``coefficients.csv`` with a value (not fitted ones)."""
    from nevsim import assumptions

    frame = assumptions.coefficients()
    return sorted(frame.loc[frame["value"].notna(), "name"].astype(str))


def _coefficient_bounds() -> dict[str, tuple[float, float, str]]:
    """``name → (min, max, reason)`` of the rows of ``coefficients.csv`` whose sign or range is
    known (``dist_min``/``dist_max``, why in ``dist_bounds_reason``): a value a scenario sets
    must lie inside them, as every sampled value does."""
    from nevsim import assumptions

    def given(x: object) -> bool:  # a CSV cell with a value (empty cells read as NaN)
        return x is not None and x == x

    out = {}
    for row in assumptions.coefficients().itertuples(index=False):
        lo, hi = getattr(row, "dist_min", None), getattr(row, "dist_max", None)
        if not (given(lo) or given(hi)):
            continue
        why = getattr(row, "dist_bounds_reason", None)
        out[str(row.name)] = (float(lo) if given(lo) else -np.inf, float(hi) if given(hi) else np.inf,
                              str(why) if given(why) else "")
    return out


#: Scenario fields that only China's built-in model reads (:mod:`nevsim.simulate`: the dual-credit
#: market and ``_ChinaPolicy``'s subsidy, tax and trade-in, the CNY pack price and energy paths), as
#: dotted paths (a table: every field in it), with what a region of a ``[region]`` table uses
#: instead. ``policy.known_at`` is China's too (refused by its own check). A region's scenario that
#: sets one of them to another value than its default, or gives it a distribution, is refused: the
#: value would do nothing.
CHINA_ONLY: dict[str, str] = {
    "policy.dual_credit": "the [region] table's policies, pass_through and price_cap_per_credit",
    "policy.subsidies": "the [region] table's purchase_incentive or an incentive in its policies",
    "policy.phev_plate_announced_year": "unset (it is read with policy.known_at, which is China's only)",
    "technology.china_pack_price_ratio": "the [region] table's pack_price_ratio",
    "technology.cny_per_usd": "the [region] table's cny_per_usd",
    "energy.gasoline_price_cny_per_l": "the [region] table's energy.gasoline_price_per_l",
    "energy.electricity_price_cny_per_kwh": "the [region] table's energy.electricity_price_per_kwh",
    "calibration.segment_mix": "none (an observed EV segment mix is bundled for China only: china_ev_segments)",
}


#: Policy tables a run reads for every simulated year without holding their last row, by what reads
#: them (China's built-in model, a region's policy by name), as (region, standard) of
#: nevsim/policy/params: a run cannot go past their last row (China's purchase tax,
#: nevsim.policy.china, and the US 30D credit, nevsim.policy.us, are written to 2060; the other
#: standards, China's subsidy and trade-in included, hold their last value).
YEARLY_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    "CN": (("CN", "TAX"),),
    "US-30D": (("US", "IRA30D"),),
}

#: Year paths a run reads with no fallback, for China and for a region of a ``[region]`` table
#: (:func:`nevsim.simulate.prepare`, :meth:`nevsim.regions.Region.energy`): each needs one year at
#: least. The other paths fall back to history (sales, exports, EVs per charger, held from the last
#: observed year), to a default (rest-of-world battery demand growth 10 %/yr, no plate rationing)
#: or to the policy tables (NEV ratios).
NEEDED_PATHS: dict[str, tuple[str, ...]] = {
    "CN": ("energy.gasoline_price_cny_per_l", "energy.electricity_price_cny_per_kwh",
           "energy.grid_intensity_g_per_kwh"),
    "region": ("region.energy.gasoline_price_per_l", "region.energy.electricity_price_per_kwh",
               "energy.grid_intensity_g_per_kwh"),
}


def china_only(path: str) -> str | None:
    """The :data:`CHINA_ONLY` entry ``path`` falls under (itself or a table holding it), or None."""
    return next((p for p in CHINA_ONLY if path == p or path.startswith(f"{p}.")), None)


def _china_only_set(scenario: Scenario) -> tuple[str, Any] | None:
    """The first China-only field (dotted path, default value) that ``scenario`` sets to another value
    than its default or samples, or None. Defaults are the schema's (:class:`Policy`,
    :class:`Technology`, :class:`Energy` built empty), so a value left untouched is never refused."""
    for path in CHINA_ONLY:
        section, *rest = path.split(".")
        node: Any = getattr(scenario, section)
        default: Any = type(node)()
        for part in rest:
            node, default = getattr(node, part), getattr(default, part)
        if isinstance(node, BaseModel):
            for name in type(node).model_fields:
                if getattr(node, name) != getattr(default, name):
                    return f"{path}.{name}", getattr(default, name)
        elif node != default:
            return path, default
    sampled = next((p for p in scenario.uncertainty.distributions if china_only(p)), None)
    return (sampled, None) if sampled is not None else None


class _CoefficientError(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        super().__init__(f"unknown or fitted coefficient {name!r}")


class Scenario(_Strict):
    """One resolved, validated scenario (every value explicit)."""

    name: str = Field(description="scenario name (file stem)")
    description: str = ""
    region: str = Field("CN", pattern=r"^[A-Z][A-Z0-9]{1,5}$",
                        description="region code: CN (built in) or the code of the scenario's [region] table")
    region_spec: RegionSpec | None = Field(
        None, description="the scenario's [region] table (any region but CN; see nevsim.regionspec)")
    years: Years = Field(default_factory=Years)
    policy: Policy = Field(default_factory=Policy)
    technology: Technology = Field(default_factory=Technology)
    market: Market = Field(default_factory=Market)
    charging: Charging = Field(default_factory=Charging)
    energy: Energy = Field(default_factory=Energy)
    fleet: Fleet = Field(default_factory=Fleet)
    makers: Makers = Field(default_factory=Makers)
    calibration: Calibration = Field(default_factory=Calibration)
    coefficients: dict[str, Number] = Field(
        default_factory=dict,
        description="buyer coefficients and constants replacing values of assumptions/coefficients.csv "
                    "(name = value); world assumptions, shared with the calibration reference",
    )

    uncertainty: Uncertainty = Field(default_factory=Uncertainty)

    @property
    def draws(self) -> int:
        """Monte Carlo draws (``uncertainty.draws``)."""
        return self.uncertainty.draws

    @property
    def seed(self) -> int:
        """Random seed of the draws (``uncertainty.seed``)."""
        return self.uncertainty.seed

    def correlations(self) -> list[Any]:
        """The correlation groups over what is sampled (:class:`nevsim.uncertainty.Correlation`).

        A parameter fixed by an override (its distribution replaced by a number) leaves its
        group: its row and column are dropped, and a group left with one name is dropped.
        """
        from nevsim.uncertainty import Correlation, parse_correlation

        sampled = set(self.distributions())
        out = []
        for i, group in enumerate(self.uncertainty.correlations):
            corr = parse_correlation(group, f"uncertainty.correlations[{i}]")
            keep = [j for j, name in enumerate(corr.names) if name in sampled]
            if len(keep) >= 2:
                m = np.asarray(corr.matrix)[np.ix_(keep, keep)]
                out.append(Correlation(names=[corr.names[j] for j in keep], matrix=m.tolist()))
        return out

    def check_draws(self, draws: int | None, field: str = "draws") -> None:
        """More than one draw needs something to sample (InputError at ``field``): every draw would
        otherwise be the same run. Used by ``nevsim outlook --draws`` and the back-test."""
        if draws is not None and draws > 1 and not self.distributions():
            raise InputError(field, f"{draws} draws need distributions in the scenario {self.name} "
                                    "([uncertainty] coefficients = true, residual_walk = true or {dist = …} "
                                    "tables).", ["1"])

    def with_residual_walk(self, draws: int | None, field: str = "residual_walk",
                           draws_field: str = "draws") -> Scenario:
        """This scenario with ``uncertainty.residual_walk = true`` (the calibrated plug-in constant
        drifts after the data cutoff; docs/uncertainty.md, "Structural uncertainty").

        ``draws`` is the run's (None: the scenario's ``uncertainty.draws``); one draw is refused
        (InputError at ``field``): the walk acts only across draws, so a one-draw run would be
        the scenario's own. Used by ``nevsim outlook``/``backtest --residual-walk`` and the web
        back-test."""
        self._needs_draws(draws, field, draws_field, "the walk acts across draws, and a one-draw run is the "
                                                     "scenario's own deterministic run")
        data = self.resolved()
        data.setdefault("uncertainty", {})["residual_walk"] = True
        return validate_scenario(data)

    def check_seed(self, seed: int | None, draws: int | None, field: str = "seed",
                   draws_field: str = "draws") -> None:
        """A run's seed needs more than one draw (InputError at ``field``): one draw is the
        deterministic run at the nominal values, which no seed changes. ``draws`` is the run's
        (None: the scenario's ``uncertainty.draws``). Used by ``nevsim outlook --seed``, the
        back-test (``nevsim backtest --seed``, ``/api/backtest?seed=``) and ``POST /api/runs``."""
        if seed is not None:
            self._needs_draws(draws, field, draws_field, "one draw is the deterministic run at the nominal "
                                                         "values, and the seed would change nothing", f"no {field}")

    def _needs_draws(self, draws: int | None, field: str, draws_field: str, why: str, *alternatives: str) -> None:
        """InputError at ``field`` unless the run has more than one draw (``draws``; None: the scenario's
        ``uncertainty.draws``), saying ``why``; the one rule of :meth:`check_seed` and :meth:`with_residual_walk`."""
        n = self.uncertainty.draws if draws is None else draws
        if n <= 1:
            raise InputError(field, f"needs more than one draw ({draws_field} N with N > 1, or the scenario's "
                                    f"uncertainty.draws > 1): the scenario {self.name} would run {n} draw; {why}.",
                             [f"{draws_field} N with N > 1", "uncertainty.draws > 1 in the scenario",
                              *alternatives])

    def distributions(self) -> dict[str, Any]:
        """What a run with draws samples: ``{dotted path: distribution}``.

        The scenario's distributions (``uncertainty.distributions``) and, with
        ``uncertainty.coefficients = true``, the coefficient distributions of
        ``coefficients.csv`` as ``coefficients.<name>`` (except coefficients the scenario sets);
        the residual walk's coefficients (:data:`nevsim.uncertainty.WALK_COEFFICIENTS`) only with
        ``uncertainty.residual_walk = true``.
        """
        from nevsim.uncertainty import coefficient_distributions, parse_distribution

        out = {path: parse_distribution(table, path) for path, table in self.uncertainty.distributions.items()}
        sampled = coefficient_distributions(coefficients=self.uncertainty.coefficients,
                                            walk=self.uncertainty.residual_walk)
        for name, dist in sampled.items():
            key = f"coefficients.{name}"
            if name not in self.coefficients and key not in out:
                out[key] = dist
        return out

    @field_validator("coefficients", mode="after")
    @classmethod
    def _known_coefficients(cls, value: dict[str, float]) -> dict[str, float]:
        known = _coefficient_names()
        for name, v in value.items():
            if name not in known:
                raise _CoefficientError(name, known)
            if not np.isfinite(v):
                raise ValueError(f"coefficient {name} must be a finite number")
        bounds = _coefficient_bounds()
        for name, v in value.items():
            if name in bounds and not bounds[name][0] <= v <= bounds[name][1]:
                lo, hi, why = bounds[name]
                raise _FieldError(f"coefficients.{name}", f"{v} is outside the allowed range"
                                  + (f" ({why})" if why else ""), [f"{lo:g} to {hi:g}"])
        return value

    @model_validator(mode="after")
    def _region_defined(self) -> Scenario:
        if self.region_spec is None and self.region != "CN":
            raise _FieldError("region", f"region {self.region!r} needs a [region] table in the scenario file",
                               ["CN", "a [region] table (docs/regions.md)"])
        if self.region_spec is not None and self.region_spec.code != self.region:
            raise _FieldError("region", f"region {self.region!r} differs from the [region] table's code "
                               f"{self.region_spec.code!r}", [self.region_spec.code])
        from nevsim.policy._tables import KNOWN_AT_REGIONS

        if self.policy.known_at is not None and self.region not in KNOWN_AT_REGIONS:
            raise _FieldError("policy.known_at", f"the rules as known at a year are encoded for China (CN) only; "
                               f"region {self.region} has no vintage table", ["unset (the rules as enacted)"])
        if self.region == "CN":
            try:
                self.policy.check_extensions()
            except InputError as err:
                raise _FieldError(err.field, err.message, err.allowed or []) from None
        found = _china_only_set(self) if self.region != "CN" else None
        if found is not None:
            path, default = found
            sampled = path in self.uncertainty.distributions
            what = "gives it a distribution" if sampled else "sets it"
            leave = "leave it out" + ("" if sampled else f" (default {json.dumps(default)})")
            raise _FieldError(path, f"is read for China (CN) only: region {self.region}'s scenario {what}, and the "
                              "value would do nothing.", [leave, CHINA_ONLY[china_only(path) or path]])
        return self

    @model_validator(mode="after")
    def _years_in_rules(self) -> Scenario:
        """``years.last`` within the policy tables the run reads for every year (:data:`YEARLY_RULES`):
        after their last row the run stopped with an error naming an internal rule and year."""
        from nevsim.policy import _tables

        keys = ["CN"] if self.region_spec is None else [p for p in self.region_spec.policies if p in YEARLY_RULES]
        for key in keys:
            known_at = self.policy.known_at if key == "CN" else None
            index = _tables._index(_tables.check_known_at(known_at))
            ends = {f"{region} {standard}": max(rows[-1].year_to for (r, s, _), rows in index.items()
                                                if (r, s) == (region, standard))
                    for region, standard in YEARLY_RULES[key]}
            horizon = min(ends.values())
            if self.years.last > horizon:
                tables = ", ".join(f"{name} to {end}" for name, end in ends.items())
                raise _FieldError("years.last", f"{self.years.last} is after {horizon}, the last year of the policy "
                                                f"tables a run with {key} reads every year ({tables}; "
                                                "nevsim/policy/params)", [f"{self.years.first + 1} to {horizon}"])
        return self

    @model_validator(mode="after")
    def _reference_known(self) -> Scenario:
        """``calibration.against`` names a scenario a run can load (as :func:`nevsim.simulate._reference`
        does): a shipped one, a TOML file, or for a region of a ``[region]`` table its own name. Before,
        any other text validated and the run failed."""
        against = self.calibration.against
        if _reads_as_file(against) or against in list_scenarios():
            return self
        if self.region_spec is not None and against == self.name:
            return self
        own = [f"{self.name} (this scenario's own name: a [region] table calibrates on its own history)"] \
            if self.region_spec is not None else []
        raise _FieldError("calibration.against", f"{against!r} is not a shipped scenario nor a .toml file: the run "
                                                 "could not load the history it calibrates on",
                          [*list_scenarios(), "a path to a .toml file", *own])

    @model_validator(mode="after")
    def _needed_paths(self) -> Scenario:
        """The year paths a run reads with no fallback (:data:`NEEDED_PATHS`) have at least one year:
        an empty one gave NaN in every result that depends on it, without a word."""
        for path in NEEDED_PATHS["CN" if self.region_spec is None else "region"]:
            node: Any = self
            for part in path.split("."):
                node = getattr(node, "region_spec" if part == "region" else part)
            if not node:
                raise _FieldError(path, "is empty or missing, and a run has no value to use in its place (every "
                                        "result that depends on it would be NaN); give at least one year (the "
                                        "last value is held after it, the first before it)",
                                  ["a year path {2010 = …, 2024 = …}"])
        return self

    def resolved(self) -> dict[str, Any]:
        """The whole scenario as a plain dict (JSON types only).

        ``region_spec`` appears only for a region defined by a ``[region]`` table, so China's
        resolved scenario (and its hash) is what it was before regions existed, and its fleet settings
        (:data:`nevsim.regionspec.FLEET_SETTINGS`) only when set; likewise
        ``policy.known_at`` and ``policy.phev_plate_announced_year`` appear only when set, and
        ``calibration.segment_mix`` only when not ``"none"`` (the default run's hash is the one it
        had before the setting existed).
        """
        out = self.model_dump(mode="json")
        if out.get("region_spec") is None:
            out.pop("region_spec", None)
        else:  # the fleet settings only when set (the shipped regions' hashes are unchanged)
            for setting in FLEET_SETTINGS:
                if out["region_spec"].get(setting, 0) is None:
                    out["region_spec"].pop(setting)
        for optional in ("known_at", "phev_plate_announced_year"):
            if out.get("policy", {}).get(optional, 0) is None:
                out["policy"].pop(optional)
        if out.get("calibration", {}).get("segment_mix") == "none":
            out["calibration"].pop("segment_mix")
        return out

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of :meth:`resolved` (sorted keys, no spaces)."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"Scenario(name={self.name!r}, region={self.region!r}, hash={self.hash[:12]}…)"

    __str__ = __repr__


def interpolate_path(path: dict[str, float], years: np.ndarray, default: float | None = None) -> np.ndarray:
    """Values of a year path at ``years``: linear between keys, held flat outside them.

    An empty path gives ``default`` everywhere (NaN when no default).
    """
    years = np.asarray(years, dtype=float)
    if not path:
        return np.full(years.shape, np.nan if default is None else default)
    keys = np.array([int(k) for k in path], dtype=float)
    values = np.array(list(path.values()), dtype=float)
    return np.interp(years, keys, values)


# ---------------------------------------------------------------------------- loading


def list_scenarios() -> list[str]:
    """Names of the scenarios shipped inside the package."""
    folder = resources.files(_SCENARIO_PACKAGE)
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _reads_as_file(name_or_path: str | Path) -> bool:
    """True when :func:`load_scenario` reads ``name_or_path`` as a file, not as a shipped name."""
    text = str(name_or_path)
    return text.endswith(".toml") or "/" in text or Path(text).exists()


#: Deepest nesting a scenario file or a set of overrides may have (tables, lists and the parts of a
#: dotted key each count one level): a scenario's settings are a few levels deep, and deeper input
#: would exhaust Python's recursion in merging and validation.
MAX_NESTING_DEPTH = 32


def check_depth(overrides: Any, field_name: str = "overrides", limit: int | None = None) -> None:
    """Refuse overrides nested deeper than ``limit`` levels (each table, list and dotted-key part is one
    level) with an :class:`InputError` naming ``field_name``; counted without recursion."""
    limit = MAX_NESTING_DEPTH if limit is None else limit
    stack: list[tuple[Any, int]] = [(overrides, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            break
        if isinstance(node, dict):
            stack.extend((value, depth + 1 + str(key).count(".")) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, depth + 1) for value in node)
    else:
        return
    raise InputError(field_name, f"nested more than {limit} levels deep (each table, list and part of a dotted key "
                                 "is a level); a scenario's settings are a few levels deep.",
                     allowed=[f"at most {limit} levels of nesting"])


def _read_toml(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    text_path = str(name_or_path)
    if _reads_as_file(text_path):
        path = Path(text_path)
        if not path.is_file():
            raise InputError("scenario", f"no scenario file {text_path}", allowed=list_scenarios())
        raw = path.read_bytes()
        label = path.stem
        where = f"file {text_path}"
    else:
        resource = resources.files(_SCENARIO_PACKAGE) / f"{text_path}.toml"
        if not resource.is_file():
            raise InputError("scenario", f"unknown scenario {text_path!r}", allowed=list_scenarios())
        raw = resource.read_bytes()
        label = text_path
        where = f"shipped scenario {text_path!r} ({text_path}.toml)"
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError("scenario", f"{where} is not valid TOML ({exc})") from None
    except RecursionError:  # (tomllib parses nested arrays and inline tables recursively)
        raise InputError("scenario", f"{where} is nested too deeply to read.",
                         allowed=[f"at most {MAX_NESTING_DEPTH} levels of nesting"]) from None
    try:
        check_depth(data, "scenario")
    except InputError as exc:
        raise InputError("scenario", f"{where} is {exc.message}", allowed=exc.allowed) from None
    return data, label


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and not _is_year_table(value)
            and "dist" not in value
            and "dist" not in out[key]
            and not (not value and _is_year_table(out[key]))
        ):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_year_table(data: dict[str, Any]) -> bool:
    """A year path (all keys are years): an override replaces it whole, it is never merged key by key."""
    return bool(data) and all(isinstance(k, str) and k.strip().isdigit() for k in data)


def _check_year_order(data: Any, prefix: str = "") -> None:
    """Year-keyed tables must be written in increasing order (checked per file, before merging)."""
    if not isinstance(data, dict):
        return
    keys = list(data)
    if keys and all(isinstance(k, str) and k.strip().isdigit() for k in keys):
        years = [int(k) for k in keys]
        for a, b, key in zip(years, years[1:], keys[1:], strict=False):
            if b <= a:
                raise InputError(
                    f"{prefix}.{key}".lstrip("."), f"years out of order: {b} comes after {a}",
                    allowed=["year keys in strictly increasing order"],
                )
        return
    for key, value in data.items():
        _check_year_order(value, f"{prefix}.{key}")


def _sort_year_tables(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    keys = list(data)
    if keys and all(isinstance(k, str) and k.strip().isdigit() for k in keys):
        return {k: data[k] for k in sorted(keys, key=int)}
    return {k: _sort_year_tables(v) for k, v in data.items()}


def _expand_dotted(overrides: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise InputError(str(key), "conflicting override keys")
        leaf = parts[-1]
        if isinstance(value, dict):
            value = _expand_dotted(value)
            if isinstance(node.get(leaf), dict):
                value = _deep_merge(node[leaf], value)
        node[leaf] = value
    return out


def _resolve_chain(name_or_path: str | Path, depth: int = 0) -> dict[str, Any]:
    data, label = _read_toml(name_or_path)
    data = _migrate(data)
    _check_year_order(data)
    _check_one_name_for_the_region_table(data)  # (a file setting [region] x and [region_spec] x apart)
    base = data.pop("base", None)
    data.setdefault("name", label)
    if base is None:
        return data
    if not isinstance(base, str):
        raise InputError("base", "must be the name of a shipped scenario", allowed=list_scenarios())
    if depth >= _MAX_BASE_DEPTH:
        raise InputError("base", f"more than {_MAX_BASE_DEPTH} levels of base scenarios (a cycle?)")
    try:
        parent = _resolve_chain(base, depth + 1)
    except InputError as exc:
        if exc.field != "scenario":  # (an error inside the base file names its own field)
            raise
        raise InputError("base", exc.message, allowed=exc.allowed) from None  # (the base is not found or not TOML)
    parent.pop("description", None)
    merged = _deep_merge(parent, data)
    if not _sets_correlations(data):  # (the file's own groups are checked as written)
        merged = _drop_fixed_from_correlations(parent, merged)
    return merged


def _field_info(loc: tuple[Any, ...]) -> tuple[type[BaseModel] | None, Any]:
    """Walk the model tree along ``loc``; return (containing model, FieldInfo or None)."""
    model: type[BaseModel] | None = Scenario
    info = None
    for part in loc:
        if model is None or not isinstance(part, str) or part not in model.model_fields:
            return model, info
        info = model.model_fields[part]
        annotation = info.annotation
        if part == "region" and model is Scenario:  # the [region] table (region_spec)
            annotation = RegionSpec
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return model, info


def _to_input_error(exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if p != "[key]")
    if loc[:1] == ("region_spec",):  # the scenario file's [region] table
        loc = ("region", *loc[1:])
    field = ".".join(str(p) for p in loc) or "scenario"
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent, _ = _field_info(loc[:-1]) if len(loc) > 1 else (Scenario, None)
        allowed = sorted(parent.model_fields) if parent is not None else None
        return InputError(field, "unknown key", allowed=allowed)
    original = ctx.get("error")
    if isinstance(original, _FieldError):
        return InputError(original.field, original.message, allowed=original.allowed)
    if isinstance(original, _CoefficientError):
        return InputError(f"coefficients.{original.name}", "unknown or fitted coefficient", allowed=original.known)
    if isinstance(original, AllowedError):
        return InputError(field, original.message, allowed=original.allowed)
    if isinstance(original, _PathRangeError):
        field = ".".join([*(str(p) for p in loc), original.name, original.year])
        return InputError(field, f"value out of range: {original}", allowed=[f"{original.lo} to {original.hi}"])
    _, info = _field_info(loc)
    if kind == "literal_error":
        allowed = [a.strip(" '") for a in str(ctx.get("expected", "")).replace(" or ", ",").split(",") if a.strip()]
        return InputError(field, f"not an allowed value ({err.get('input')!r})", allowed=allowed)
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        bounds: dict[str, Any] = {}
        for meta in info.metadata if info is not None else ():
            for key in ("ge", "gt", "le", "lt"):
                if getattr(meta, key, None) is not None:
                    bounds[key] = getattr(meta, key)
        for key in ("ge", "gt", "le", "lt"):  # (pydantic's own, where the field's are not found)
            kind_key = {"ge": "greater_than_equal", "gt": "greater_than", "le": "less_than_equal", "lt": "less_than"}
            if key not in bounds and kind == kind_key[key] and key in ctx:
                bounds[key] = ctx[key]
        desc = f" ({info.description})" if info is not None and info.description else ""
        return InputError(field, f"value {err.get('input')!r} out of range{desc}", allowed=[range_text(bounds)])
    if kind == "bool_type":  # (StrictBool: TOML's true/false only, not "yes" or 1)
        return InputError(field, f"{err.get('input')!r} is not a boolean", allowed=["true", "false"])
    expected = _EXPECTED.get(kind)
    if expected is not None:  # a value of the wrong type: say which type, in TOML's words
        desc = f" ({info.description})" if info is not None and info.description else ""
        return InputError(field, f"{err.get('input')!r} is not {expected}{desc}", allowed=[expected])
    if kind == "value_error":  # a check of the field's own (year keys, segment names …): its message says it
        desc = f" ({info.description})" if info is not None and info.description else ""
        return InputError(field, f"{str(err['msg']).removeprefix('Value error, ')}{desc}")
    if info is not None:
        annotation = getattr(info.annotation, "__name__", str(info.annotation))
        desc = f"; {info.description}" if info.description else ""
        return InputError(field, f"{err['msg']} (expected {annotation}{desc})")
    return InputError(field, err["msg"])


#: pydantic's error type of a value of the wrong type → what the field takes, in a scenario file's words.
_EXPECTED: dict[str, str] = {
    "float_type": "a number", "float_parsing": "a number", "finite_number": "a finite number",
    "int_type": "a whole number", "int_parsing": "a whole number", "int_from_float": "a whole number",
    "string_type": "a text string (in quotes)", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table", "list_type": "a list", "tuple_type": "a list",
}


def _bound_text(value: Any) -> str:
    """A range bound as a reader knows it (2**63 − 1, not 9223372036854775807)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**31:
        for power in (63, 64, 62, 53, 32, 31):
            for delta, text in ((-1, f"2**{power} − 1"), (0, f"2**{power}")):
                if abs(value) == 2**power + delta:
                    return text if value > 0 else f"−({text})"
    return str(value)


def range_text(bounds: Mapping[str, Any]) -> str:
    """The allowed range from pydantic's bounds: ``0 to 1``, ``≥ 0``, ``> 0 and ≤ 1`` …"""
    lo = ("ge", bounds["ge"]) if "ge" in bounds else ("gt", bounds["gt"]) if "gt" in bounds else None
    hi = ("le", bounds["le"]) if "le" in bounds else ("lt", bounds["lt"]) if "lt" in bounds else None
    if lo is not None and hi is not None and lo[0] == "ge" and hi[0] == "le":
        return f"{_bound_text(lo[1])} to {_bound_text(hi[1])}"
    signs = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    parts = [f"{signs[end[0]]} {_bound_text(end[1])}" for end in (lo, hi) if end is not None]
    return " and ".join(parts) or "any value"


def _migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Top-level ``draws``/``seed`` (the spelling before ``[uncertainty]``) move into ``uncertainty``.

    ``uncertainty`` must be a table: anything else raised a TypeError here, or was silently
    replaced by the moved keys."""
    if isinstance(data, dict) and "uncertainty" in data and not isinstance(data["uncertainty"], dict):
        value = data["uncertainty"]
        raise InputError("uncertainty", f"must be a table ([uncertainty] with its keys below it), not "
                                        f"{type(value).__name__} {value!r:.60}", allowed=sorted(Uncertainty.model_fields))
    if not isinstance(data, dict) or not ({"draws", "seed"} & set(data)):
        return data
    data = dict(data)
    unc = data.get("uncertainty")
    unc = dict(unc) if isinstance(unc, dict) else {}
    for key in ("draws", "seed"):
        if key in data:
            value = data.pop(key)
            if key in unc and unc[key] != value:
                raise InputError(key, f"given twice ({value!r} and uncertainty.{key} = {unc[key]!r})",
                                 allowed=[f"uncertainty.{key} only"])
            unc[key] = value
    data["uncertainty"] = unc
    return data


def _extract_distributions(data: dict[str, Any]) -> dict[str, Any]:
    """Distribution tables written in place of numbers → nominal value in place + ``uncertainty.distributions``.

    Walks every section except ``uncertainty``; a table with a ``dist`` key at a field (or a
    year-path point, or a ``[coefficients]`` entry) is parsed (errors name its path), its
    nominal value (:func:`nevsim.uncertainty.nominal`) replaces it, and it is recorded under
    its dotted path. Returns the new dict (the input is not changed).
    """
    from nevsim.uncertainty import nominal, parse_distribution

    found: dict[str, dict[str, Any]] = {}

    def walk(node: dict[str, Any], prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and "dist" in value:
                dist = parse_distribution(value, _file_path(path))
                found[path] = dist.model_dump(exclude_none=True)
                out[key] = nominal(dist)
            elif isinstance(value, dict):
                out[key] = walk(value, f"{path}.")
            else:
                out[key] = value
        return out

    body = walk({k: v for k, v in data.items() if k != "uncertainty"}, "")
    if not found:
        return data
    unc = dict(data.get("uncertainty") or {})
    listed = dict(unc.get("distributions") or {})
    listed.update(found)
    unc["distributions"] = listed
    body["uncertainty"] = unc
    return body


def _check_uncertainty(scenario: Scenario, data: dict[str, Any]) -> None:
    """Distributions at real-valued fields, inside their ranges; correlations over sampled names."""
    from nevsim.simulate import value_keys
    from nevsim.uncertainty import parse_correlation, parse_distribution

    unc = scenario.uncertainty
    if not unc.distributions and not unc.correlations:
        return
    keys = value_keys()
    patterns = {k.removesuffix(".<year>") for k in keys if k.endswith(".<year>")}
    for path in unc.distributions:
        _check_sampled(path)
    dists = {p: parse_distribution(t, f"uncertainty.distributions.{p}") for p, t in unc.distributions.items()}
    # the support's ends must stay inside the field's range (truncate with min/max otherwise)
    for q in (1e-9, 1 - 1e-9):
        trial = copy.deepcopy(data)
        for path, dist in dists.items():  # (a coefficient's lands in [coefficients]: its sign bounds apply)
            node = trial
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = dist.percentile(q)
        trial.pop("uncertainty", None)
        try:
            Scenario.model_validate(_sort_year_tables(trial))
        except ValidationError as exc:
            err = _to_input_error(exc)
            raise InputError(err.field, f"its distribution reaches {_dist_value(dists, err.field, q)} "
                             f"({err.message}); bound the distribution with min/max inside the range",
                             allowed=err.allowed) from None
    grouped: dict[str, int] = {}
    sampled = sorted(scenario.distributions()) if unc.correlations else []
    for i, group in enumerate(unc.correlations):
        corr = parse_correlation(group, f"uncertainty.correlations[{i}]")
        earlier = dict(grouped)  # the groups before this one
        for name in corr.names:
            if not (name in keys or name.rsplit(".", 1)[0] in patterns):
                raise InputError(f"uncertainty.correlations[{i}].names", f"{name!r} is not a parameter that can "
                                 "be sampled", allowed=sorted(keys))
            if name not in sampled:  # (it would be dropped from the group without a word)
                raise InputError(f"uncertainty.correlations[{i}].names",
                                 f"{name!r} is not sampled in this scenario (it has no distribution): a correlation "
                                 "is between sampled parameters; give it a distribution or leave it out of the group",
                                 allowed=sampled)
            if name in earlier:  # (the sampler would refuse it too, but only when the run starts)
                raise InputError(f"uncertainty.correlations[{i}].names",
                                 f"{name!r} is in two correlation groups (also uncertainty.correlations"
                                 f"[{earlier[name]}]); put all the parameters it is correlated with in one group "
                                 "with one matrix", allowed=[n for n in corr.names if n not in earlier])
            grouped[name] = i


def check_draw_values(scenario: Scenario, values: Any, where: str = "values") -> None:
    """Per-draw values (``{dotted key: one value per draw}``, as :func:`nevsim.simulate.run_values`
    takes them) must each give a valid scenario, as the same values written as overrides would.

    Checked at each key's lowest and highest value (every key at its lowest, then every key at
    its highest), so a field's range and a coefficient's known sign (``coefficients.csv``:
    ``dist_min``/``dist_max``) hold for every draw. Keys that are not scenario values, and
    values that are not finite numbers, are left to the caller's own checks. InputError at
    the key, with the value and the allowed range.
    """
    if not values:
        return
    ends: list[dict[str, float]] = [{}, {}]
    for key, raw in values.items():
        try:
            arr = np.asarray(raw, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            continue
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            continue
        ends[0][str(key)], ends[1][str(key)] = float(arr.min()), float(arr.max())
    base = scenario.resolved()
    base.pop("uncertainty", None)
    for end in ends:
        trial = copy.deepcopy(base)
        for key, value in end.items():
            parts = key.split(".")
            node: Any = trial
            for part in parts[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            if isinstance(node, dict) and (parts[0] == "coefficients" or parts[-1] in node):
                node[parts[-1]] = value
        try:
            Scenario.model_validate(trial)
        except ValidationError as exc:
            err = _to_input_error(exc)
            value = end.get(err.field)
            shown = f"a draw's value {value:g}" if value is not None else "a draw's values"
            raise InputError(err.field if value is not None else where,
                             f"{shown} is not allowed (it would not be allowed in the scenario either): "
                             f"{err.message}",
                             allowed=err.allowed) from None


def _dist_value(dists: dict[str, Any], path: str, q: float) -> str:
    """The ``q``-quantile of the distribution at ``path`` as text (for error messages)."""
    dist = dists.get(path)
    return f"{dist.percentile(q):g}" if dist is not None else "beyond the range"


def validate_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a merged scenario dict; errors become :class:`InputError` with the field path."""
    if isinstance(data.get("region"), dict):  # a [region] table: the region defined in the file
        table = data["region"]
        edits = data.get("region_spec")  # the resolved scenario's name for the table (an editor's overrides)
        if edits is not None:
            if not isinstance(edits, dict):
                raise InputError("region_spec", f"must be a table of the region's settings (the file's [region] "
                                                f"table), not {type(edits).__name__} {edits!r:.60}; set one "
                                                "setting as region_spec.<name> or region.<name>.",
                                 allowed=sorted(RegionSpec.model_fields))
            table = _deep_merge(table, edits)  # (before, the file's table silently replaced the edits)
        code = table.get("code")
        ok = isinstance(code, str) and re.fullmatch(r"[A-Z][A-Z0-9]{1,5}", code) is not None
        data = {**data, "region_spec": table, "region": code if ok else "XX"}  # bad code: region.code
    data = _extract_distributions(_migrate(data))
    try:
        scenario = Scenario.model_validate(_sort_year_tables(data))
    except ValidationError as exc:
        err = _to_input_error(exc)
        uncertainty = data.get("uncertainty")
        dists = uncertainty.get("distributions") if isinstance(uncertainty, dict) else None
        if isinstance(dists, dict) and err.field in dists:  # a distribution where no number may vary per draw
            _check_sampled(err.field)
        raise err from None
    _check_uncertainty(scenario, data)
    return scenario


def _file_path(path: str) -> str:
    """A dotted path as the scenario file writes it: the ``[region]`` table, not ``region_spec`` (the
    resolved scenario's name for it)."""
    return f"region.{path.removeprefix('region_spec.')}" if path.startswith("region_spec.") else path


def _check_sampled(path: str) -> None:
    """InputError at ``path`` unless a distribution may stand there (a field that varies per draw)."""
    from nevsim.simulate import value_keys

    keys = value_keys()
    patterns = {k.removesuffix(".<year>") for k in keys if k.endswith(".<year>")}
    if not (path in keys or path.rsplit(".", 1)[0] in patterns):
        raise InputError(_file_path(path), "cannot be sampled: not a real-valued parameter, year-path point or "
                               "coefficient that varies per draw", allowed=sorted(keys))


def load_scenario(name_or_path: str | Path = DEFAULT_SCENARIO, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path, and resolve it.

    Parameters
    ----------
    name_or_path:
        A name from :func:`list_scenarios` or the path of a ``.toml`` file (which may name a
        shipped ``base``).
    overrides:
        Extra changes, nested (``{"policy": {"dual_credit": {"enabled": False}}}``) or with
        dotted keys (``{"policy.dual_credit.enabled": False}``).
    """
    data = _resolve_chain(name_or_path)
    if overrides:
        check_depth(overrides)
        expanded = _migrate(_expand_dotted(overrides))
        _check_one_name_for_the_region_table(expanded)
        _check_year_order(expanded)
        merged = _deep_merge(data, expanded)
        if not _sets_correlations(expanded):
            merged = _drop_fixed_from_correlations(data, merged)
        data = merged
    return validate_scenario(data)


def _check_one_name_for_the_region_table(overrides: dict[str, Any]) -> None:
    """InputError when overrides set one [region] setting under both of its names
    (``region.<x>`` and ``region_spec.<x>``) to different values: one would win silently."""
    a, b = overrides.get("region"), overrides.get("region_spec")
    if not (isinstance(a, dict) and isinstance(b, dict)):
        return
    flat_a, flat_b = flatten_paths(a), flatten_paths(b)
    for path in sorted(set(flat_a) & set(flat_b)):
        if flat_a[path] != flat_b[path]:
            raise InputError(f"region_spec.{path}", f"is set to {flat_b[path]!r} while region.{path} is set to "
                                                     f"{flat_a[path]!r}: they are one setting (the file's [region] "
                                                     "table); set it once.",
                             allowed=[f"region.{path} = …", f"region_spec.{path} = …"])


def flatten_paths(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` → ``{"a.b": 1}``: dotted path → value, a year path or a distribution
    kept whole (one value); used by the sweep's grid and by the override checks."""
    from nevsim.uncertainty import is_distribution

    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and not is_distribution(value) and not _is_year_table(dict(value)):
            out.update(flatten_paths(value, path))
        else:
            out[path] = value
    return out


def _sets_correlations(data: dict[str, Any]) -> bool:
    unc = data.get("uncertainty")
    return isinstance(unc, dict) and "correlations" in unc


def _sampled_paths(data: dict[str, Any]) -> set[str] | None:
    """What a scenario dict (before validation) samples; None when it cannot tell (bad input:
    validation names it)."""
    from nevsim.uncertainty import coefficient_distributions

    try:
        unc = _extract_distributions(_migrate(copy.deepcopy(data))).get("uncertainty") or {}
    except (InputError, TypeError, ValueError, AttributeError):
        return None
    if not isinstance(unc, dict) or not isinstance(unc.get("distributions") or {}, dict):
        return None
    out = set(unc.get("distributions") or {})
    fixed = data.get("coefficients") if isinstance(data.get("coefficients"), dict) else {}
    sampled = coefficient_distributions(coefficients=unc.get("coefficients") is True,
                                        walk=unc.get("residual_walk") is True)
    out |= {f"coefficients.{n}" for n in sampled if n not in fixed}
    return out


def _drop_fixed_from_correlations(base: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """Correlation groups of ``base`` without the parameters the overrides fixed.

    An override (or a file on a ``base``) that replaces a sampled parameter's distribution by a
    number (a sweep's grid value, ``--set``) takes it out of its correlation group (its row and column of the matrix);
    a group left with one name goes. The resolved scenario records the groups actually used. A
    name that was not sampled before the overrides either stays, and validation refuses it.
    """
    unc = merged.get("uncertainty")
    groups = unc.get("correlations") if isinstance(unc, dict) else None
    if not groups or not isinstance(groups, list):
        return merged
    before, after = _sampled_paths(base), _sampled_paths(merged)
    if before is None or after is None:
        return merged
    fixed = before - after
    if not fixed:
        return merged
    kept = []
    for group in groups:
        names, matrix = (group.get("names"), group.get("matrix")) if isinstance(group, dict) else (None, None)
        if not isinstance(names, list) or not isinstance(matrix, list) or len(matrix) != len(names):
            kept.append(group)  # (validation names what is wrong)
            continue
        keep = [j for j, name in enumerate(names) if name not in fixed]
        if len(keep) == len(names):
            kept.append(group)
        elif len(keep) >= 2:
            try:
                kept.append({**group, "names": [names[j] for j in keep],
                             "matrix": [[matrix[j][k] for k in keep] for j in keep]})
            except (IndexError, TypeError, KeyError):
                kept.append(group)
    out = dict(merged)
    out["uncertainty"] = {**unc, "correlations": kept}
    return out
