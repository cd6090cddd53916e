"""The yearly loop: ``run(scenario) -> Results``.

Stages (each a public function you can stop between)::

    load_scenario → validate (pydantic) → prepare(scenario, until) → Inputs (arrays)
        → calibrate (a fit pass over the history years of the reference scenario)
        → run_years(inputs, calibration) → Trace (arrays [year, draw, …])
        → collect(trace) → long tables → Results

Axis order: ``[draw, maker, segment, powertrain]``; the only Python loop in the hot path is
over years. A deterministic run has one draw; Monte Carlo (issue 6) fills the draw axis.

Each year (design §3):

1. technology — battery pack cost (history: BNEF survey; after: experience curve on
   cumulative world volume) → vehicle prices, energy use, range;
2. policy (:mod:`nevsim.policy`) — purchase subsidy, purchase tax, the NEV and CAFC
   standards of the year (``StandardYear``), plates;
3. buyers and credit market — nested logit utilities, exp(utility) once, then the NEV credit
   price that clears the market (:func:`nevsim.makers.clear_credit_market`); in history
   years the plug-in constants are fitted instead (:mod:`nevsim.calibrate`);
4. makers — split among makers bounded by capacity, per-maker credit accounting with
   banking and the NEV → CAFC offset (:func:`nevsim.policy.standard.compliance`);
5. fleet — stock turnover, energy, oil, CO2, chargers;
6. feedback — cumulative battery volume, plug-in stock share (familiarity), public
   chargers per car in stock (charging coverage), models on offer (from last year's
   sales), banked credits, CAFC deficits.
"""

from __future__ import annotations

import datetime as _dt
import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nevsim import assumptions
from nevsim._memory import repeat_each as _repeat
from nevsim._memory import small_pages as _small_pages
from nevsim._memory import tile as _tile
from nevsim.calibrate import (
    Calibration,
    SegmentTarget,
    fit_kappa,
    fit_maker_weights,
    fit_plugin_constants,
    fit_segment_mix,
    walk_sd,
)
from nevsim.consumers import Coefficients, running_cost_pv_cny, systematic_utility
from nevsim.errors import InputError
from nevsim.fleet import (
    EnergyFactors,
    FleetState,
    energy_and_emissions,
    fleet_value_sources,
    km_per_car_in_stock,
)
from nevsim.makers import (
    RescaledNestedLogit,
    _maker_shares,
    _matmul_rows,
    _split_capped,
    cap_exports,
    capacity_paths,
    clear_credit_market,
    offer_matrix,
    settle_credit_trades,
)
from nevsim.policy.standard import _compliance_fast, _compliance_prepared, _PreparedStandard
from nevsim.policy.standard import _prepare as _prepare_standard
from nevsim.scenario import Scenario, china_only, interpolate_path, load_scenario
from nevsim.technology import (
    PHEV,
    POWERTRAINS,
    SEGMENTS,
    VehicleTable,
    experience_curve_cost,
    vehicle_attributes,
    vehicle_paths,
)


def _compact(a: np.ndarray) -> np.ndarray:
    """``a`` without the axes it was broadcast along (stride 0 → length 1): the same values, stored once."""
    return a[tuple(slice(0, 1) if (stride == 0 and n > 1) else slice(None) for stride, n in zip(a.strides, a.shape,
                                                                                                 strict=True))]


def _nz(x: np.ndarray | float, fill: float = 0.0) -> np.ndarray:
    """NaN → ``fill`` (a cheaper ``np.nan_to_num`` for the hot path)."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), fill, x)


__all__ = ["CHUNK_DRAWS", "Inputs", "Trace", "calibrate", "collect", "prepare", "run", "run_frames", "run_values",
           "run_years", "sample_values", "value_keys"]

ASC_HEV = -1.5  # utility of HEV vs ICE: nevsim assumption (U), HEVs were a few % of China's car sales
GWH_PER_KWH = 1e-6
WLTC_PER_NEDC = 1.1  # WLTC ÷ NEDC fuel consumption of Chinese cars ≈ 1.1 (nevsim assumption, U; ICCT: 1.1–1.2)
PRE_2010_CUM_BATTERY_GWH = 1.0  # cumulative EV battery volume before 2010 (GWh): negligible, U


# ----------------------------------------------------------------------------- history


@dataclass(frozen=True)
class History:
    """Observed series over ``years`` (NaN where not observed or after the cutoff)."""

    years: np.ndarray
    ev_share: np.ndarray  # fraction of new cars
    bev_fraction: np.ndarray  # BEV / (BEV + PHEV) sales
    total_car_sales: np.ndarray  # domestic new cars (vehicles)
    bev_stock: np.ndarray
    phev_stock: np.ndarray
    public_chargers: np.ndarray
    ev_exports: np.ndarray
    battery_usd_per_kwh: np.ndarray
    world_battery_gwh: np.ndarray  # all road modes
    china_car_battery_gwh: np.ndarray
    credit_price_cny: np.ndarray
    last_share_year: int
    maker_nev_sales: dict[str, dict[int, float]]
    capacity: dict[str, dict[int, float]]  # maker → {year: vehicles per year}, rows ≤ the cutoff
    sources: tuple[str, ...]
    # China's sales-weighted average PHEV electric range (km, CPCA), interpolated between the
    # rows up to the cutoff and held outside them; NaN if no row (None: not read, other regions)
    phev_range_km: np.ndarray | None = None
    #: observed segment mix (China): year → the fitted targets of that year (full-year rows of
    #: ``china_ev_segments`` with ``fit``, ≤ the cutoff); fitted only with ``calibration.segment_mix
    #: = "observed"`` (default "none": read, not used); empty for other regions
    segment_targets: Mapping[int, tuple[SegmentTarget, ...]] = field(default_factory=dict)


def _series(frame: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    out = np.full(years.shape, np.nan)
    if frame.empty:
        return out
    s = frame.groupby("year")["value"].sum()
    idx = np.searchsorted(years, s.index.to_numpy())
    ok = (idx < len(years)) & (years[np.minimum(idx, len(years) - 1)] == s.index.to_numpy())
    out[idx[ok]] = s.to_numpy(dtype=float)[ok]
    return out


def load_history(years: np.ndarray, until: int | None) -> History:
    """Observed China history (memoised per process on ``(first, last, until)``; see :func:`_load_history`)."""
    return _load_history(int(years[0]), int(years[-1]), until)


@functools.lru_cache(maxsize=16)
def _load_history(first: int, last: int, until: int | None) -> History:
    """Observed China history from :mod:`nevsim.data` (never a row after ``until``).

    IEA GEVO 2025 (China, Cars, Historical): EV sales share, BEV and PHEV sales and stock,
    public charging points (fast + slow), car battery demand; World battery demand (all road
    modes); OWID: 2025 share and EV sales; fact tables: BNEF pack prices, NEV exports.
    Maker sales, makers' production capacity and credit prices: ``nevsim/assumptions`` (fact
    sheet A.6, C.4, C.5; docs/research/maker-capacity.md), filtered by ``until`` too.
    """
    from nevsim import data

    years = np.arange(first, last + 1)
    iea = data.load("iea_gevo_2025", region="China", until=until)
    iea = iea[(iea["category"] == "Historical")]
    cars = iea[iea["mode"] == "Cars"]

    def pick(param: str, powertrain: str | None = None, frame: pd.DataFrame = cars) -> np.ndarray:
        sel = frame[frame["parameter"] == param]
        if powertrain is not None:
            sel = sel[sel["powertrain"] == powertrain]
        return _series(sel, years)

    share = pick("EV sales share") / 100.0
    bev = pick("EV sales", "BEV")
    phev = pick("EV sales", "PHEV")
    total = (bev + phev) / share
    bev_fraction = bev / (bev + phev)
    chargers = _series(iea[(iea["parameter"] == "EV charging points")], years)
    chargers[chargers == 0] = np.nan
    car_battery = pick("Battery demand")
    world = data.load("iea_gevo_2025", region="World", until=until)
    world = world[(world["category"] == "Historical") & (world["parameter"] == "Battery demand")]
    world_battery = _series(world, years)

    # OWID: the 2025 share (53 %) and EV sales, beyond the IEA 2025 edition
    sources = ["IEA (2025) Global EV Outlook 2025, CC BY 4.0"]
    try:
        owid_share = data.load("owid_electric_car_sales_share", region="China", until=until)
        owid_sales = data.load("owid_electric_car_sales", region="China", until=until)
    except InputError:
        owid_share = owid_sales = pd.DataFrame(columns=["year", "value"])
    o_share = _series(owid_share, years) / 100.0
    o_sales = _series(owid_sales, years)
    extra = np.isnan(share) & np.isfinite(o_share) & np.isfinite(o_sales)
    if extra.any():
        sources.append("Our World in Data (IEA-based), electric car sales and share, CC BY 4.0")
        share = np.where(extra, o_share, share)
        total = np.where(extra, o_sales / o_share, total)
        # no BEV/PHEV split after the IEA years: hold the last observed split (documented)
        last_frac = bev_fraction[np.isfinite(bev_fraction)][-1] if np.isfinite(bev_fraction).any() else 0.5
        bev_fraction = np.where(extra, last_frac, bev_fraction)
    observed = np.flatnonzero(np.isfinite(share))
    if observed.size == 0:
        raise InputError("until", "no observed China EV sales share on or before the cutoff", allowed=["≥ 2012"])
    last_share_year = int(years[observed[-1]])

    battery = _battery_prices(years, until)
    exports = _ev_exports(years, until)
    cp = assumptions.credit_prices()
    cp = cp[cp["year"] <= (until if until is not None else 9999)].rename(columns={"price_cny_per_credit": "value"})
    credit_price = _series(cp, years)
    maker_sales = _maker_sales(until)
    phev_range = _phev_range_km(years, until)
    for arr in (share, bev_fraction, total, chargers, exports, battery, world_battery, car_battery, credit_price,
                phev_range):
        arr.setflags(write=False)  # memoised: shared between runs, never written
    return History(
        years=years, ev_share=share, bev_fraction=bev_fraction, total_car_sales=total,
        bev_stock=pick("EV stock", "BEV"), phev_stock=pick("EV stock", "PHEV"), public_chargers=chargers,
        ev_exports=exports, battery_usd_per_kwh=battery, world_battery_gwh=world_battery,
        china_car_battery_gwh=car_battery, credit_price_cny=credit_price, last_share_year=last_share_year,
        maker_nev_sales=maker_sales, capacity=_maker_capacity(until), sources=tuple(sources),
        phev_range_km=phev_range, segment_targets=_segment_targets(until),
    )


def _segment_targets(until: int | None) -> dict[int, tuple[SegmentTarget, ...]]:
    """Full-year segment-mix observations to fit, by year, from ``china_ev_segments`` rows ≤ ``until``
    with ``fit`` (docs/data.md; :func:`nevsim.calibrate.fit_segment_mix`)."""
    from nevsim import data

    frame = data.load("china_ev_segments", until=until)
    frame = frame[frame["fit"] & (frame["period"] == "year")]
    out: dict[int, list[SegmentTarget]] = {}
    for row in frame.itertuples(index=False):
        names = str(row.segments).split(";")
        unknown = sorted(set(names) - set(SEGMENTS))
        if unknown:
            raise InputError("china_ev_segments.segments", f"unknown segments {unknown}", allowed=list(SEGMENTS))
        mask = np.isin(np.array(SEGMENTS), names)
        mask.setflags(write=False)
        out.setdefault(int(row.year), []).append(SegmentTarget(mask=mask, bev=row.basis == "BEV",
                                                               share=float(row.value) / 100.0))
    return {y: tuple(v) for y, v in out.items()}


#: china_market variable holding the sales-weighted average electric range of new PHEVs (km, CLTC).
PHEV_RANGE_VARIABLE = "PHEV average electric range (CPCA, CLTC)"


def _phev_range_km(years: np.ndarray, until: int | None) -> np.ndarray:
    """China's average PHEV electric range (km) per year from the ``china_market`` rows up to ``until``.

    Linear between rows, the first row held before it and the last held after it (a cutoff
    sees only its own rows: the value of the last row on or before it is carried forward);
    all NaN if there is no row.
    """
    from nevsim import data

    frame = data.load("china_market", until=until)
    frame = frame[frame["variable"] == PHEV_RANGE_VARIABLE]
    obs = frame.groupby("year")["value"].mean()
    if obs.empty:
        return np.full(years.shape, np.nan)
    return np.interp(years, obs.index.to_numpy(dtype=float), obs.to_numpy(dtype=float))


def phev_battery_scale(phev_range_km: np.ndarray | None, table: VehicleTable) -> np.ndarray | None:
    """Factor on every PHEV pack per year: observed average range / the table's sales-weighted range.

    ``None`` (the table as it is) when no range is observed. The table's range is
    Σ_s w_s · kWh_s / (kWh/100 km)_s with ``w`` the segment sales shares.
    """
    if phev_range_km is None or not np.isfinite(phev_range_km).any():
        return None
    table_range = float(np.sum(table.segment_sales_share * table.battery_kwh[:, PHEV]
                               / table.energy_kwh_per_100km[:, PHEV] * 100.0))
    return np.where(np.isfinite(phev_range_km), phev_range_km / table_range, 1.0)


def _battery_prices(years: np.ndarray, until: int | None) -> np.ndarray:
    """BNEF pack prices (USD/kWh, as published for each survey year), log-interpolated between surveys."""
    from nevsim import data

    frame = data.load("battery_prices", until=until)
    frame = _as_published(frame)
    obs = _series(frame, years)
    ok = np.isfinite(obs)
    if ok.sum() == 0:
        raise InputError("until", "no battery pack price on or before the cutoff", allowed=["≥ 2010"])
    out = np.full(years.shape, np.nan)
    first, last = np.flatnonzero(ok)[[0, -1]]
    span = slice(first, last + 1)
    out[span] = np.exp(np.interp(years[span], years[ok], np.log(obs[ok])))
    return out


def _as_published(frame: pd.DataFrame) -> pd.DataFrame:
    """One BNEF value per year: the survey year's own dollars (drop restated rows)."""
    frame = frame.copy()
    if "value" not in frame.columns:
        for name in ("price_usd_per_kwh", "usd_per_kwh", "price"):
            if name in frame.columns:
                frame = frame.rename(columns={name: "value"})
                break
    if "dollar_year" in frame.columns:
        # prefer the survey's own dollars; else an unstated vintage; else the earliest restatement
        dy = pd.to_numeric(frame["dollar_year"], errors="coerce").astype(float)
        gap = (dy - frame["year"].astype(float)).abs().fillna(0.5)
        frame = frame.assign(_gap=gap).sort_values(["year", "_gap"])
    if "region" in frame.columns and (frame["region"] == "World").any():
        frame = frame[frame["region"] == "World"]
    if "scope" in frame.columns:
        scope = frame["scope"].astype(str).str.lower()
        keep = scope.str.contains("all|global|average|volume", regex=True)
        if keep.any():
            frame = frame[keep]
    frame = frame[pd.to_numeric(frame["value"], errors="coerce").notna()]
    frame = frame.assign(value=frame["value"].astype(float))
    return frame.groupby("year", as_index=False)["value"].first()


def _maker_sales(until: int | None) -> dict[str, dict[int, float]]:
    """Reported NEV sales by maker and year (``china_market`` facts, "Maker sales").

    Full-year rows only (rows with a ``date`` are part-year); where sources conflict the
    ``exact`` row wins over ``approx``/``more_than``, then the first listed.
    """
    from nevsim import data

    frame = data.load("china_market", until=until)
    rows = frame[(frame["variable"] == "Maker sales") & frame["maker"].notna()]
    if "date" in rows.columns:
        rows = rows[rows["date"].isna() | (rows["date"].astype(str).str.strip() == "")]
    rank = (rows["qualifier"].astype(str) != "exact").astype(int) if "qualifier" in rows.columns else 0
    rows = rows.assign(_rank=rank).sort_values(["maker", "year", "_rank"], kind="stable")
    rows = rows.groupby(["maker", "year"], as_index=False).first()
    return {str(m): dict(zip(g["year"].astype(int), g["value"].astype(float), strict=True))
            for m, g in rows.groupby("maker")}


def _maker_capacity(until: int | None) -> dict[str, dict[int, float]]:
    """Production capacity by maker and year (``maker_history.csv``, variable ``capacity``), rows ≤ ``until``."""
    mh = assumptions.maker_history()
    cap = mh[(mh["variable"] == "capacity") & (mh["year"] <= (until if until is not None else 9999))]
    return {str(m): dict(zip(g["year"].astype(int), g["value"].astype(float), strict=True))
            for m, g in cap.groupby("maker")}


def _ev_exports(years: np.ndarray, until: int | None) -> np.ndarray:
    """NEV exports (vehicles) from the China market facts; 0 before the first reported year."""
    from nevsim import data

    frame = data.load("china_market", until=until)
    var = frame["variable"].astype(str).str.lower()
    sel = frame[var.str.contains("export") & var.str.contains("nev|electric|ev", regex=True)
                & ~var.str.contains("total|share|sales", regex=True)]
    sel = sel[sel["unit"].astype(str).str.lower().str.contains("vehicle|unit|car", regex=True)]
    out = _series(sel.groupby("year", as_index=False)["value"].max(), years)
    ok = np.isfinite(out)
    if ok.any():
        out[: np.flatnonzero(ok)[0]] = 0.0
    return out


# ----------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Inputs:
    """Everything a run needs, as arrays over ``years`` (and ``[draw]`` for parameters)."""

    scenario: Scenario
    years: np.ndarray
    history_last: int
    history: History
    draws: int
    coef: Coefficients
    params: dict[str, np.ndarray]
    table: VehicleTable
    total_car_sales: np.ndarray  # [year, draw]
    ev_exports: np.ndarray  # [year, draw]
    evs_per_charger: np.ndarray  # [year, draw] used after the history
    gasoline: np.ndarray  # [year, draw]
    electricity: np.ndarray  # [year, draw]
    grid: np.ndarray  # [year, draw]
    plate_share: np.ndarray  # [year, draw] fraction
    phev_plate: np.ndarray  # [year]
    world_growth: np.ndarray  # [year, draw] fraction per year
    nev_ratio_override: np.ndarray  # [year] fraction or NaN
    makers: tuple[str, ...]
    offer: np.ndarray  # [year, maker, segment, powertrain] 0/1
    conv_weight: np.ndarray  # [maker]
    nev_prior: np.ndarray  # [maker]
    capacity: np.ndarray  # [year, maker] vehicles (inf = not bounded)
    residual_maker: int
    scalars: dict[str, np.ndarray] = field(default_factory=dict)  # real-valued scenario fields, [draw] each
    nev_standards: tuple[Any, ...] = ()  # StandardYear or None per year
    cafc_standards: tuple[Any, ...] = ()
    subsidy_possible: tuple[bool, ...] = ()
    maker_nev_weights: np.ndarray = field(default_factory=lambda: np.zeros((1, 0)))  # [draw, maker]
    vehicle_paths: Any = None  # technology.VehiclePaths over the years
    running_pv_cny: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [year, draw, segment, powertrain]
    # (NEV, CAFC) per year with the per-vehicle terms stacked for the accounting fast path
    # (nevsim.policy.standard._prepare); used only where they match nev_standards/cafc_standards
    prepared_standards: tuple[tuple[Any, Any], ...] = ()
    # regions other than China (nevsim.regions): the adapter, and its (ZEV, efficiency, CO2 g/km) per year
    region: Any = None
    region_standards: tuple[Any, Any, Any] | None = None


def _nev_ratio_override(policy: Any, years: np.ndarray) -> np.ndarray:
    """Scenario NEV ratios (fraction) from their first year on; NaN where the policy tables apply."""
    override = policy.dual_credit.nev_ratio_pct
    if not override:
        return np.full(years.shape, np.nan)
    first_key = min(int(k) for k in override)
    return np.where(years >= first_key, interpolate_path(override, years) / 100.0, np.nan)


#: Policy fields the standards and the subsidy check of :func:`_standards` never read: they are left
#: out of its memo key, so the grid points of a sweep over them (credit pass-through, the credit
#: price cap: ``nevsim/sweeps/learning-vs-pass-through.toml``) share one set of standards instead of
#: building their own (≈ 0.085 s per point and worker process). A field not listed is part of the
#: key, so a new policy field is safe by default.
_NOT_IN_STANDARDS: dict[str, Any] = {
    "plate_restricted_sales_share_pct": True, "phev_plate_from_year": True, "phev_plate_announced_year": True,
    "dual_credit": {"pass_through": True, "price_cap_cny_per_credit": True, "observed_prices_in_history": True},
}


def _standards_policy_json(policy: Any) -> str:
    """The scenario's policy section as the memo key of :func:`_standards` (JSON, without :data:`_NOT_IN_STANDARDS`)."""
    return policy.model_dump_json(exclude=_NOT_IN_STANDARDS)


@functools.lru_cache(maxsize=16)
def _standards(policy_json: str, ice_improvement_pct_per_yr: float, first: int, last: int
               ) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[bool, ...]]:
    """The NEV and CAFC standards of every year, and whether any purchase subsidy is paid that year.

    They depend only on the scenario's policy section, the ICE efficiency path and the
    (packaged) vehicle table, so the result is memoised per process on those inputs (a pure
    function of immutable inputs; repeated runs and Monte Carlo draws reuse it). ``policy_json``
    is :func:`_standards_policy_json`: the fields these standards never read are left out of the
    key (tested: with them in, the standards are the same). A subsidy at
    price 0 bounds the subsidy at every price (the price cap only removes it).
    """
    from dataclasses import replace

    from nevsim.scenario import Policy

    policy_cfg = Policy.model_validate_json(policy_json)
    years = np.arange(first, last + 1)
    table = _vehicle_table()
    _, prm = _coefficients(1)
    policy = _ChinaPolicy(policy_cfg, years, table, _nev_ratio_override(policy_cfg, years))
    nev, cafc, possible = [], [], []
    for year in years:  # preparation, once per policy set
        veh = vehicle_attributes(
            table, int(year), np.ones(1), retail_price_equivalent=prm["retail_price_equivalent"],
            ev_drivetrain_decline_pct_per_yr=prm["ev_drivetrain_cost_decline_pct_per_yr"],
            ice_fuel_improvement_pct_per_yr=ice_improvement_pct_per_yr,
            ice_cost_per_l_per_100km_cny=prm["ice_cost_per_l_per_100km_cny"],
        )
        vehicles = policy.vehicles(veh, int(year))
        veh0 = replace(veh, price_cny=np.zeros_like(veh.price_cny))
        possible.append(bool(np.any(policy.subsidy_cny(int(year), veh0) > 0)))
        nev.append(policy.nev_standard(int(year), vehicles))
        cafc.append(policy.cafc_standard(int(year), vehicles))
    return tuple(nev), tuple(cafc), tuple(possible)


@functools.lru_cache(maxsize=16)
def _prepared_standards(policy_json: str, ice_improvement_pct_per_yr: float, first: int, last: int
                        ) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[bool, ...], tuple[tuple[Any, Any], ...]]:
    """:func:`_standards` (NEV, CAFC, subsidy possible) and, per year, the NEV and CAFC standards with
    their per-vehicle terms stacked (memoised likewise).

    One call gives both, so the prepared standards are always made from the very standard objects
    returned beside them: the yearly loop uses a prepared standard only if it ``is`` that year's
    standard. (Two blocks of draws preparing at the same time on an empty cache could otherwise
    each hold a different copy of the standards and fall back to the general compliance path,
    which rounds differently: found in review, tested.)
    """
    nev, cafc, possible = _standards(policy_json, ice_improvement_pct_per_yr, first, last)
    prepared = tuple((None if n is None else _prepare_standard(n, 2), None if c is None else _prepare_standard(c, 2))
                     for n, c in zip(nev, cafc, strict=True))
    return nev, cafc, possible, prepared


@functools.lru_cache(maxsize=1)
def _vehicle_table() -> VehicleTable:
    """The packaged vehicle table as arrays (parsed once per process; arrays are read-only)."""
    table = VehicleTable.from_frame(assumptions.vehicles())
    for value in table.__dict__.values():
        value.setflags(write=False)
    return table


@functools.lru_cache(maxsize=1)
def _coefficient_values() -> dict[str, float]:
    frame = assumptions.coefficients()
    return dict(zip(frame["name"], frame["value"].astype(float), strict=True))


def _coefficients(draws: int, values: Mapping[str, Any] | None = None
                  ) -> tuple[Coefficients, dict[str, np.ndarray]]:
    """Coefficients ``[draw]``: ``coefficients.csv`` values, replaced by ``values[name]`` (a number
    or an array ``[draw]``) where given (scenario ``[coefficients]`` overrides, Monte Carlo draws)."""
    c = _coefficient_values()
    values = values or {}

    def arr(name: str) -> np.ndarray:
        if name in values:
            return np.broadcast_to(np.asarray(values[name], dtype=float), (draws,)).copy()
        return np.full(draws, float(c[name]))

    coef = Coefficients(
        beta_price=arr("beta_price"), beta_opex=arr("beta_opex"), opex_horizon_years=arr("opex_horizon_years"),
        opex_discount_rate=arr("opex_discount_rate"), beta_range=arr("beta_range"),
        range_reference_km=arr("range_reference_km"), beta_charge=arr("beta_charge"),
        phev_charge_weight=arr("phev_charge_weight"), beta_choice=arr("beta_choice"), beta_plate=arr("beta_plate"),
        nest_lambda=np.stack([arr("nest_lambda_conventional"), arr("nest_lambda_plugin")], -1),
        kappa=np.zeros(draws),
    )
    return coef, {n: arr(n) for n in _PARAM_NAMES}


_PARAM_NAMES = ("vehicles_per_model", "retail_price_equivalent", "ev_drivetrain_cost_decline_pct_per_yr",
                "ice_cost_per_l_per_100km_cny", "kappa_min", "kappa_max", "charging_losses",
                "gasoline_kg_co2_per_l", "litres_per_barrel", "phev_utility_factor_km", "kappa_se_z",
                "residual_walk_z")


@functools.lru_cache(maxsize=16)
def _maker_table(first: int, last: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Makers (``makers.csv``) as arrays: names, offer ``[year, maker, segment, powertrain]`` (0/1),
    conventional weights and NEV prior weights ``[maker]``.

    Parsed once per process per year range (arrays read-only: shared between runs).
    """
    years = np.arange(first, last + 1)
    mk = assumptions.makers()
    names = tuple(mk["maker"])
    offer = offer_matrix(mk, years)
    conv_weight = mk["conventional_share"].to_numpy(dtype=float)
    # NEV prior weights: 0.3 × conventional share for legacy makers (they lag in NEVs), 0.02 for
    # groups without conventional cars. Status U (nevsim assumption, no source): only the start of
    # calibrate.fit_maker_weights, which scales it to the reported NEV sales of the fit year; it
    # stays as is only for groups without reported sales
    nev_prior = np.where(conv_weight > 0, 0.3 * conv_weight, 0.02)
    for arr in (offer, conv_weight, nev_prior):
        arr.setflags(write=False)
    return names, offer, conv_weight, nev_prior


def _bridge(path: dict[str, float], years: np.ndarray, observed: np.ndarray, last: int,
            draws: Mapping[str, np.ndarray] | None = None, n: int = 1) -> np.ndarray:
    """Observed values to ``last``, then the scenario path, linked linearly from the last observation.

    Without ``draws``: ``[year]``. With ``draws`` (year key → values ``[n]`` replacing that
    key's value): ``[year, n]``; keys on or before the last observation are not used.
    """
    obs_ok = np.isfinite(observed) & (years <= last)
    points = dict(path)
    if obs_ok.any():
        i = np.flatnonzero(obs_ok)[-1]
        points = {k: v for k, v in path.items() if int(k) > years[i]}
        points = {str(int(years[i])): float(observed[i]), **points}
    if draws is None:
        out = interpolate_path(points, years)
        return np.where(obs_ok, observed, out)
    out = _path_draws(points, years, {k: v for k, v in draws.items() if k in points}, n)
    return np.where(obs_ok[:, None], observed[:, None], out)


def _path_draws(path: dict[str, float], years: np.ndarray, draws: Mapping[str, np.ndarray] | None, n: int,
                default: float | None = None) -> np.ndarray:
    """A year path at ``years`` for ``n`` draws, ``[year, n]``; ``draws`` maps year keys to values ``[n]``.

    Linear interpolation between keys, held flat outside (as :func:`nevsim.scenario.interpolate_path`):
    ``value[y, d] = Σ_k w_k(y) · point[k, d]`` with the interpolation weights ``w_k`` of the keys.
    """
    if not draws:
        return np.repeat(interpolate_path(path, years, default)[:, None], n, 1)
    keys = np.array([int(k) for k in path], dtype=float)
    eye = np.eye(len(keys))
    weights = np.stack([np.interp(years.astype(float), keys, eye[k]) for k in range(len(keys))])  # [key, year]
    points = np.stack([np.broadcast_to(np.asarray(draws.get(k, v), dtype=float), (n,)) for k, v in path.items()])
    return weights.T @ points


# ----------------------------------------------------------------------------- values per draw

def _china_only(key: str) -> bool:
    """A scenario field only China's built-in path reads (:data:`nevsim.scenario.CHINA_ONLY`): a region
    from a [region] table has its own policies, pass-through, currency, pack-price factor and energy
    prices, so sampling these would do nothing."""
    return china_only(key) is not None


#: Scenario fields that cannot vary along the draw axis, with the reason (they change the policy
#: standards memoised per policy set, or structure, not a number the arrays carry).
_NOT_PER_DRAW = {
    "technology.ice_fuel_improvement_pct_per_yr": "changes the NEV/CAFC standards (memoised per policy set); "
                                                  "sweep it as a grid value instead",
    "policy.dual_credit.nev_ratio_pct": "changes the NEV standards (memoised per policy set); "
                                        "sweep it as a grid value instead",
}


@functools.lru_cache(maxsize=1)
def _value_fields() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Dotted paths of the scenario's real-valued fields and of its year paths (the schema walked once)."""
    from pydantic import BaseModel

    scalars: list[str] = []
    paths: list[str] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, info in model.model_fields.items():
            ann = info.annotation
            path = f"{prefix}{name}"
            if path == "uncertainty":
                continue
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                walk(ann, f"{path}.")
            elif ann is float:
                scalars.append(path)
            elif getattr(ann, "__origin__", None) is dict and path != "coefficients":
                paths.append(path)

    walk(Scenario, "")
    return tuple(scalars), tuple(paths)


def value_keys() -> dict[str, str]:
    """Keys :func:`run_values` accepts, as patterns with what they mean."""
    scalars, paths = _value_fields()
    out = {p: "scenario parameter" for p in scalars if p not in _NOT_PER_DRAW}
    out.update({f"{p}.<year>": "one point of the year path (an existing year key)" for p in paths
                if p not in _NOT_PER_DRAW})
    out.update({f"coefficients.{n}": "buyer coefficient / constant (assumptions/coefficients.csv)"
                for n in _coefficient_names()})
    return out


def _coefficient_names() -> tuple[str, ...]:
    """Rows of ``coefficients.csv`` with a value (``kappa_familiarity`` is fitted, not an input)."""
    return tuple(n for n, v in _coefficient_values().items() if np.isfinite(v))


def _lookup(scenario: Scenario, path: str) -> Any:
    node: Any = scenario
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else getattr(node, part, None)
        if node is None:
            return None
    return node


@dataclass(frozen=True)
class _DrawValues:
    """Validated per-draw values: scenario scalars, year-path points and coefficients, each ``[n]``."""

    n: int
    scalars: dict[str, np.ndarray]
    points: dict[str, dict[str, np.ndarray]]
    coefficients: dict[str, np.ndarray]

    def scalar(self, scenario: Scenario, path: str) -> np.ndarray:
        if path in self.scalars:
            return self.scalars[path]
        return np.full(self.n, float(_lookup(scenario, path)))


def _parse_values(scenario: Scenario, values: Mapping[str, Any] | None, n: int | None = None,
                  *, strict: bool = True) -> _DrawValues:
    """Check ``values`` keys and lengths against the scenario (InputError naming the key).

    ``strict=False`` (the calibration reference): year-path points the reference's path
    does not have are left out instead of rejected.
    """
    scalars_ok, paths_ok = _value_fields()
    coef_ok = set(_coefficient_names())
    arrays: dict[str, np.ndarray] = {}
    for key, raw in (values or {}).items():
        key = str(key)
        try:
            arr = np.asarray(raw, dtype=float).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(key, "values must be numbers (an array with one value per draw)") from None
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            raise InputError(key, "values must be finite numbers, one per draw (at least one)")
        arrays[key] = arr
    lengths = {a.size for a in arrays.values()}
    if len(lengths) > 1:
        raise InputError("values", f"arrays differ in length ({sorted(lengths)}); every key needs one value per draw")
    count = lengths.pop() if lengths else (n or 1)
    allowed = sorted(value_keys())
    out = _DrawValues(count, {}, {}, {})
    for key, arr in arrays.items():
        if scenario.region_spec is not None and _china_only(key):
            raise InputError(key, f"not used in a {scenario.region} run: the [region] table sets its own policies, "
                                  "pass-through, currency, pack price and energy prices (those are not sampled)",
                             allowed=[k for k in allowed if not _china_only(k)])
        if key in _NOT_PER_DRAW or key.rsplit(".", 1)[0] in _NOT_PER_DRAW:
            base = key if key in _NOT_PER_DRAW else key.rsplit(".", 1)[0]
            raise InputError(key, f"cannot vary per draw: {_NOT_PER_DRAW[base]}", allowed=allowed)
        if key.startswith("coefficients."):
            name = key.removeprefix("coefficients.")
            if name not in coef_ok:
                raise InputError(key, "unknown or fitted coefficient", allowed=sorted(f"coefficients.{c}" for c in coef_ok))
            out.coefficients[name] = arr
        elif key in scalars_ok:
            out.scalars[key] = arr
        elif key.rsplit(".", 1)[0] in paths_ok:
            path, year = key.rsplit(".", 1)
            current = _lookup(scenario, path) or {}
            if year not in current:
                if not strict:
                    continue
                raise InputError(key, f"{path} has no point {year!r} (a value replaces an existing point)",
                                 allowed=[f"{path}.{y}" for y in current] or ["(the path is empty)"])
            out.points.setdefault(path, {})[year] = arr
        else:
            raise InputError(key, "not a real-valued scenario parameter, year-path point or coefficient",
                             allowed=allowed)
    return out


def prepare(scenario: Scenario, until: int | None = None, values: Mapping[str, Any] | None = None) -> Inputs:
    """Arrays for a run: history (cut at ``until``), scenario paths, parameters, makers.

    ``values`` (see :func:`run_values`): per-draw values of scenario parameters, year-path
    points and coefficients; the draw count is their length (one draw at the nominal values
    without them — sampling is :func:`run_frames`' job).
    """
    if until is not None and not (2012 <= until <= 2100):
        raise InputError("until", f"data cutoff {until} outside 2012–2100", allowed=["2012 to 2100"])
    years = np.arange(scenario.years.first, scenario.years.last + 1)
    region = None
    if scenario.region_spec is not None:  # a region defined by the scenario's [region] table
        from nevsim.regions import Region

        region = Region.from_scenario(scenario)
    hist = load_history(years, until) if region is None else region.history(years, until)
    history_last = min(scenario.years.calibrate_until, hist.last_share_year, until if until is not None else 9999)
    if history_last < years[0] + 2:
        raise InputError("until", "fewer than three history years to calibrate on", allowed=[f"≥ {years[0] + 2}"])
    s = scenario
    dv = values if isinstance(values, _DrawValues) else _parse_values(s, values, 1)
    draws = dv.n
    coef, params = _coefficients(draws, {**dict(s.coefficients), **dv.coefficients})
    table = _vehicle_table()
    if region is not None:  # currency, price level and segment mix of the region
        coef, params, table = region.adapt(coef, params, table)
    pts = dv.points.get
    total = _bridge({k: v * 1e6 for k, v in s.market.total_car_sales_million.items()}, years,
                    hist.total_car_sales, history_last,
                    {k: v * 1e6 for k, v in pts("market.total_car_sales_million", {}).items()}, draws)
    exports = _bridge({k: v * 1e6 for k, v in s.market.ev_exports_million.items()}, years, hist.ev_exports,
                      history_last, {k: v * 1e6 for k, v in pts("market.ev_exports_million", {}).items()}, draws)
    exports = _nz(exports)
    ev_stock_hist = hist.bev_stock + hist.phev_stock
    ratio_hist = ev_stock_hist / hist.public_chargers
    evs_per_charger = _bridge(s.charging.evs_per_public_charger, years, ratio_hist, history_last,
                              pts("charging.evs_per_public_charger", {}), draws)
    first_ratio = ratio_hist[np.isfinite(ratio_hist)][0] if np.isfinite(ratio_hist).any() else 10.0
    evs_per_charger = np.where(np.isfinite(evs_per_charger), evs_per_charger, first_ratio)
    world_growth = _path_draws(s.technology.world_battery_demand_growth_pct_per_yr, years,
                               pts("technology.world_battery_demand_growth_pct_per_yr"), draws, 10.0) / 100.0
    ratio_override = _nev_ratio_override(s.policy, years)
    makers = _maker_table if region is None else region.maker_table
    names, offer, conv_weight, nev_prior = makers(int(years[0]), int(years[-1]))
    capacity = capacity_paths(hist.capacity, names, years, s.makers.capacity_growth_pct_per_yr)
    scalars_ok, _ = _value_fields()
    inputs = Inputs(
        scenario=s, years=years, history_last=int(history_last), history=hist, draws=draws, coef=coef,
        params=params, table=table, total_car_sales=total, ev_exports=exports, evs_per_charger=evs_per_charger,
        gasoline=_path_draws(s.energy.gasoline_price_cny_per_l, years, pts("energy.gasoline_price_cny_per_l"), draws),
        electricity=_path_draws(s.energy.electricity_price_cny_per_kwh, years,
                                pts("energy.electricity_price_cny_per_kwh"), draws),
        grid=_path_draws(s.energy.grid_intensity_g_per_kwh, years, pts("energy.grid_intensity_g_per_kwh"), draws),
        plate_share=_path_draws(s.policy.plate_restricted_sales_share_pct, years,
                                pts("policy.plate_restricted_sales_share_pct"), draws, 0.0) / 100.0,
        phev_plate=(years < s.policy.phev_plate_from_year_as_known()).astype(float),
        world_growth=world_growth, nev_ratio_override=ratio_override, makers=names, offer=offer,
        conv_weight=conv_weight, nev_prior=nev_prior, capacity=capacity, residual_maker=names.index("Other"),
        scalars={p: dv.scalar(s, p) for p in scalars_ok},
    )
    from dataclasses import replace

    policy_key = (_standards_policy_json(s.policy), float(s.technology.ice_fuel_improvement_pct_per_yr),
                  int(years[0]), int(years[-1]))
    prepared: tuple[tuple[Any, Any], ...] = ()
    if region is None:
        nev, cafc, possible, prepared = _prepared_standards(*policy_key)
    else:  # the region's standards are priced by nevsim.regions, not by China's NEV market
        gasoline, electricity = region.energy(years)  # [year]: the region's paths do not vary per draw
        inputs = replace(inputs, gasoline=np.repeat(gasoline[:, None], draws, 1),
                         electricity=np.repeat(electricity[:, None], draws, 1), region=region,
                         region_standards=region.standards(years, s.technology.ice_fuel_improvement_pct_per_yr))
        nev = cafc = (None,) * len(years)
        possible = (True,) * len(years)
    # coefficients that only vary per draw when sampled: keep a length-1 draw axis otherwise (broadcasts)
    one = lambda a: a[:1] if np.all(a == a[0]) else a  # noqa: E731
    china = region is None  # the PHEV range series and its utility-factor curve are China's
    paths = vehicle_paths(
        table, years, retail_price_equivalent=one(params["retail_price_equivalent"]),
        ev_drivetrain_decline_pct_per_yr=one(params["ev_drivetrain_cost_decline_pct_per_yr"]),
        ice_fuel_improvement_pct_per_yr=s.technology.ice_fuel_improvement_pct_per_yr,
        ice_cost_per_l_per_100km_cny=one(params["ice_cost_per_l_per_100km_cny"]),
        phev_battery_scale=phev_battery_scale(hist.phev_range_km, table) if china else None,
        phev_utility_factor_km=one(params["phev_utility_factor_km"]) if china else None,
    )
    if paths.retail_price_equivalent.shape[0] != draws:
        paths = replace(paths, retail_price_equivalent=np.broadcast_to(paths.retail_price_equivalent, (draws,)))
    # vehicle arrays without their broadcast axes (fuel use never varies per draw, the PHEV electric
    # share only when its utility-factor distance is sampled): the running cost is computed on
    # [year, 1 or draw, segment, powertrain] × [year, draw] prices, not on copies per draw
    running = running_cost_pv_cny(
        _compact(paths.fuel_l_per_100km), _compact(paths.energy_kwh_per_100km), _compact(paths.electric_km_share),
        inputs.gasoline, inputs.electricity, np.broadcast_to(inputs.scalars["fleet.vkt_km_per_year"], (len(years), draws)),
        np.broadcast_to(coef.opex_horizon_years, (len(years), draws)),
        np.broadcast_to(coef.opex_discount_rate, (len(years), draws)),
    )
    running = np.broadcast_to(running, (len(years), draws, *table.glider_cny.shape))
    inputs = replace(inputs, nev_standards=nev, cafc_standards=cafc, subsidy_possible=possible,
                     prepared_standards=prepared,
                     vehicle_paths=paths, running_pv_cny=running)
    return replace(inputs, maker_nev_weights=_fit_maker_weights(inputs))


# ----------------------------------------------------------------------------- policy adapter



def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


# read-only masks over POWERTRAINS for the policy fast paths
_IS_BEV = _frozen(np.array(POWERTRAINS) == "BEV")
_IS_PHEV = _frozen(np.array(POWERTRAINS) == "PHEV")
_IS_NEV = _frozen(np.isin(np.array(POWERTRAINS), ("PHEV", "BEV", "FCEV")))
_NONE = _frozen(np.zeros(len(POWERTRAINS), dtype=bool))
_NAN_RANGE = _frozen(np.full(len(POWERTRAINS), np.nan))
_PLUG_ADD = _frozen(np.array([0.0, 0.0, 1.0, 1.0]))  # the plug-in constant A applies to PHEV and BEV
_BEV_ADD = _frozen(np.array([0.0, 0.0, 0.0, 1.0]))  # B to BEV only


class _ChinaPolicy:
    """The scenario's choices applied to :mod:`nevsim.policy.china` (no rule is re-implemented here)."""

    def __init__(self, policy: Any, years: np.ndarray, table: VehicleTable, ratio_override: np.ndarray) -> None:
        from nevsim.policy import china

        self.china = china
        self.policy = policy
        self.years = years
        self.table = table
        self.ratio_override = ratio_override
        # the year whose rules an extension (policy.subsidies.*_extend_to_year) keeps: the scheme's last
        # year in the rules as known at policy.known_at (as enacted: subsidy 2022, exemption 2025, trade-in 2026)
        policy.check_extensions()  # (a scheme the cutoff did not know: refused, also after a model_copy)
        self.last_year = {scheme: china.scheme_last_year(scheme, known_at=policy.known_at)
                          for scheme in china.EXTENDABLE}

    def vehicles(self, veh: Any, year: int) -> Any:
        """Policy view of the vehicles (``[segment, powertrain]``); fuel on the CAFC test cycle."""
        from nevsim.policy.vehicles import VehicleArrays

        pt = np.broadcast_to(np.array(POWERTRAINS), veh.price_cny.shape[1:])
        # PHEV fuel in CAFC: the table's charge-sustaining L/100 km (status U). GB 27999-2014/-2019
        # are reported to count a PHEV at its GB/T 19753 combined (utility-factor-weighted) fuel
        # consumption, with the NEV multiplier in the denominator (nevsim.policy.fleet's tables
        # take that weighted value); the standards' text was not retrieved (searched 2026-12-01:
        # only title pages), so the CS value is kept: it overstates PHEV makers' CAFC (a few
        # L/100 km per PHEV) and so their CAFC deficits carried into NEV demand.
        fuel = veh.fuel_l_per_100km[0]
        if self.china.cafc_test_cycle(year, known_at=self.policy.known_at) == "NEDC":
            fuel = fuel / WLTC_PER_NEDC
        return VehicleArrays(
            powertrain=pt, range_km=veh.range_km[0], energy_kwh_per_100km=veh.energy_kwh_per_100km[0],
            fuel_l_per_100km=fuel, curb_mass_kg=self.table.curb_mass_kg,
            co2_g_per_km=np.where(np.isfinite(fuel), fuel * 23.1, 0.0),  # 2.31 kg CO2/L gasoline
        )

    def subsidy_cny(self, year: int, veh: Any, any_subsidy: bool = True) -> np.ndarray:
        """Purchase subsidy per vehicle; ``any_subsidy=False`` skips the call (zero at every price).

        Uses the policy module's unchecked fast path: the model's arrays are valid by
        construction (finite positive prices, ranges with NaN → 0).
        """
        sub = self.policy.subsidies
        if not sub.purchase_subsidy or not any_subsidy:
            return np.zeros_like(veh.price_cny)
        y = year
        last = self.last_year["purchase_subsidy"]
        if sub.subsidy_extend_to_year is not None and last is not None and last < year <= sub.subsidy_extend_to_year:
            y = last
        known = self.policy.known_at
        try:
            national = self.china._purchase_subsidy_fast(y, _IS_BEV, _IS_PHEV, _nz(veh.range_km), veh.price_cny,
                                                         known_at=known)
        except InputError:  # before the encoded schedule (2010–2012 city pilots are not encoded)
            return np.zeros_like(veh.price_cny)
        local = self.china.local_top_up_fraction(year, known_at=known) if sub.local_top_up else 0.0
        return national * (1.0 + local) if local else national

    has_trade_in = True  # the loop records ``Trade-in|Public Cost``

    def trade_in_cny(self, year: int, veh: Any) -> np.ndarray | float:
        """Expected national trade-in subsidy per new car (:func:`nevsim.policy.china.trade_in_subsidy_cny`,
        its unchecked fast path); 0.0 in the years without a scheme or with ``trade_in = false``.
        ``trade_in_extend_to_year`` keeps the last year's rules (2026; as known at ``known_at``: its
        last year then) up to that year."""
        sub = self.policy.subsidies
        if not sub.trade_in:
            return 0.0
        y = year
        last = self.last_year["trade_in"]
        if sub.trade_in_extend_to_year is not None and last is not None and last < year <= sub.trade_in_extend_to_year:
            y = last
        return self.china._trade_in_fast(y, _IS_NEV, veh.price_cny, known_at=self.policy.known_at)

    def tax_cny(self, year: int, veh: Any, subsidy: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """(tax due, tax a conventional car of the same price would pay).

        :func:`nevsim.policy.china.purchase_tax_cny` through its unchecked fast path (the
        model's prices are finite and positive, ranges finite with NaN → 0), on the price the
        buyer pays the seller, ``price − subsidy``: the national (and local) purchase subsidy was
        paid to the maker, who sold at the price less the subsidy (chinabuses.org 2013-09-10,
        "subsidy to the car makers directly"; S), and the Vehicle Purchase Tax Law (2019) Art. 6
        taxes "the total price actually paid to the seller, excluding VAT" (secondary: us.ok.com,
        "How is Vehicle Purchase Tax Calculated?"; S). Prices include VAT (``vehicles.csv``).
        """
        sub = self.policy.subsidies
        y = year
        last = self.last_year["purchase_tax_exemption"]
        if (sub.tax_exemption_extend_to_year is not None and last is not None
                and last < year <= sub.tax_exemption_extend_to_year):
            y = last
        price = veh.price_cny - subsidy if np.ndim(subsidy) or subsidy else veh.price_cny
        known = self.policy.known_at
        if not sub.purchase_tax_exemption:
            full = self.china._purchase_tax_fast(year, _NONE, _NONE, price, _NAN_RANGE, known_at=known)
            return full, full
        due, full_y = self.china._purchase_tax_pair_fast(y, _IS_BEV, _IS_PHEV, price, _nz(veh.range_km),
                                                         known_at=known)
        if y == year:  # the conventional tax of the year is the pre-exemption tax
            return due, full_y
        return due, self.china._purchase_tax_fast(year, _NONE, _NONE, price, _NAN_RANGE, known_at=known)

    def nev_standard(self, year: int, vehicles: Any) -> Any | None:
        """The year's NEV standard; after the last set year the rules are held (or the ratio is 0)."""
        dc = self.policy.dual_credit
        if not dc.enabled:
            return None
        known = self.policy.known_at
        sy = self.china.nev_standard(year, vehicles, extend="hold", known_at=known)
        ratio = float(self.china.nev_ratio(year, extend="hold", known_at=known))
        try:
            self.china.nev_ratio(year, known_at=known)
            beyond = False
        except InputError:  # after the last year with a set ratio
            beyond = True
        override = self.ratio_override[year - self.years[0]]
        if np.isfinite(override) or (beyond and dc.extend == "zero"):
            new_ratio = float(override) if np.isfinite(override) else 0.0
            conventional = np.isin(np.asarray(vehicles.powertrain), ("ICE", "HEV")).astype(float)
            base = np.asarray(sy.required_per_vehicle) / ratio if ratio > 0 else conventional
            sy = _replace_required(sy, year, base * new_ratio)
        return sy

    def cafc_standard(self, year: int, vehicles: Any) -> Any | None:
        dc = self.policy.dual_credit
        if not dc.enabled or not dc.cafc_offset:
            return None
        try:
            return self.china.cafc_standard(year, vehicles, extend="hold", known_at=self.policy.known_at)
        except InputError:  # before the CAFC phases the policy tables cover
            return None


def _replace_required(sy: Any, year: int, required: np.ndarray) -> Any:
    from dataclasses import replace

    return replace(sy, year=year, required_per_vehicle=np.asarray(required, dtype=float))


# ----------------------------------------------------------------------------- the loop


@dataclass
class Trace:
    """Arrays recorded by :func:`run_years`, each ``[year, draw, …]``."""

    years: np.ndarray
    makers: tuple[str, ...]
    data: dict[str, np.ndarray] = field(default_factory=dict)
    maker_data: dict[str, np.ndarray] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)
    record_makers: bool = True  # False: put_maker records nothing (runs that drop the makers table)

    def put(self, name: str, t: int, value: np.ndarray) -> None:
        value = np.asarray(value, dtype=float)
        if name not in self.data:
            self.data[name] = np.full((len(self.years), *value.shape), np.nan)
        self.data[name][t] = value

    def put_maker(self, name: str, t: int, value: np.ndarray) -> None:
        if not self.record_makers:
            return
        value = np.asarray(value, dtype=float)
        if name not in self.maker_data:
            self.maker_data[name] = np.full((len(self.years), *value.shape), np.nan)
        self.maker_data[name][t] = value


def run_years(
    inputs: Inputs,
    calibration: Calibration | None,
    *,
    fit: bool = False,
    project: bool = False,
    progress: Callable[[int, int], None] | None = None,
    makers: bool = True,
) -> tuple[Trace, Calibration | None]:
    """Simulate year by year.

    * ``fit=False``: every year with the given ``calibration``;
    * ``fit=True``: fit the constants in the history years (:mod:`nevsim.calibrate`); with
      ``project=True`` the same pass then continues into the projection with the calibration
      just made (one pass for a scenario that is its own calibration reference).

    ``makers=False`` records no per-maker arrays (``trace.maker_data`` stays empty): the
    makers are still simulated (capacity, credits, banks), only their table is not kept.

    Returns the trace and (when fitting) the :class:`Calibration`.
    """
    s = inputs.scenario
    hist = inputs.history
    coef = inputs.coef
    prm = inputs.params
    D = inputs.draws
    years = inputs.years if (not fit or project) else inputs.years[inputs.years <= inputs.history_last]
    n_years = len(years)
    n_hist = int((years <= inputs.history_last).sum())
    trace = Trace(years=years, makers=inputs.makers, record_makers=makers)
    region = inputs.region  # None: China's policies; else a region's adapter (nevsim.regions)
    policy = _ChinaPolicy(s.policy, inputs.years, inputs.table, inputs.nev_ratio_override) if region is None \
        else region.policy(inputs.table.curb_mass_kg)
    rmarket = None if region is None else region.market_state(D, coef.beta_price, *inputs.region_standards)
    dc = s.policy.dual_credit
    M = len(inputs.makers)
    lam = coef.nest_lambda
    kappa = np.zeros(D) if (fit or calibration is None) else calibration.kappa
    maker_nev_w = inputs.maker_nev_weights

    # ---- state
    sc = inputs.scalars
    first_total = inputs.total_car_sales[0].copy()
    stock0 = sc["fleet.stock_2010_million"] * 1e6
    fleet = FleetState.seeded(D, sc["fleet.mean_life_years"], sc["fleet.weibull_shape"],
                              stock0, first_total, seed_fuel_l_per_100km(inputs, D), sc["fleet.pre_sample_growth"])
    hist_ev0 = _nz(hist.bev_stock[0]) + _nz(hist.phev_stock[0])
    stock_share_prev = max(hist_ev0, 1.0) / stock0
    chargers_prev = np.full(D, np.nan)
    car_stock_prev = stock0.copy()  # all cars in stock at the end of t−1
    # "last year's" sales for the models-on-offer term of the first year: HEVs 1 % of 2010 sales and
    # the plug-ins' first stocks standing for their sales (status U: nevsim starting values, no
    # source; they only set 2010's ln(models), a fitted history year whose constants absorb them)
    sales_prev_pt = np.stack([first_total * 0.99, first_total * 0.01, np.full(D, max(_nz(hist.phev_stock[0]), 1.0)),
                              np.full(D, max(_nz(hist.bev_stock[0]), 1.0))], -1)
    cum_gwh = np.full(D, PRE_2010_CUM_BATTERY_GWH)
    row_gwh_prev = np.zeros(D)
    anchor: tuple[np.ndarray, np.ndarray] | None = None  # (cost, volume)
    bank = None
    cafc_bank = None
    cafc_extra = np.zeros(D)
    zeros_dm = np.zeros((D, M))
    carry_thr = _nev_carry_thresholds(s.policy.known_at, int(inputs.years[0]), int(inputs.years[-1])) \
        if region is None else ()
    cafc_owed = zeros_dm  # [draw, maker]: last year's CAFC deficits, owed as NEV credits this year
    obligated_prev = np.ones((D, M), dtype=bool)
    obligated_share_prev = None  # [D, S, P]: share of last year's sales made by obligated makers
    a_prev, b_prev = np.full(D, -5.0), np.zeros(D)
    fit_a, fit_b, fit_lnss = np.zeros((n_hist, D)), np.zeros((n_hist, D)), np.zeros((n_hist, D))
    # segment offsets δ [draw, segment] on the BEV utility (nevsim.calibrate, 4.; only with
    # calibration.segment_mix = "observed"): fitted in the history years with an observed
    # segment mix, carried between them, held after; all 0 by default
    fit_segment_mix_on = inputs.scenario.calibration.segment_mix == "observed"
    seg_off = np.zeros((D, len(SEGMENTS)))
    fit_seg = np.zeros((n_hist, D, len(SEGMENTS)))
    credit_diag = {"years_solved": 0, "max_iterations": 0, "all_converged": True, "max_abs_residual_credits": 0.0,
                   "years_at_cap": [], "years_long": []}
    fit_ok = True
    lr = sc["technology.battery_learning_rate"]
    # constant over the years (hoisted out of the loop)
    asc = np.zeros((D, 4))
    asc[:, 1] = ASC_HEV
    zeros_d = np.zeros(D)
    cap = sc["policy.dual_credit.price_cap_cny_per_credit"]
    # km per car in stock for the fleet's energy (assumptions/fleet_activity.csv, fitted to observed fuel);
    # sc["fleet.vkt_km_per_year"] is the buyers' running-cost km only
    # (a [region] table's own km and factors replace the rows of its code)
    fleet_code, fleet_own = ("CN", {}) if region is None else (region.spec.code, region.spec.fleet_overrides())
    vkt = np.broadcast_to(km_per_car_in_stock(fleet_code, fleet_own), (D, 4))  # [D, P]
    pack_factor = sc["technology.china_pack_price_ratio"] * sc["technology.cny_per_usd"] if region is None \
        else np.full(D, region.pack_factor)
    price_slope = -coef.beta_price[:, None, None] / 1e4 * sc["policy.dual_credit.pass_through"][:, None, None]
    if maker_nev_w.shape[0] > 1 and np.all(maker_nev_w == maker_nev_w[:1]):
        maker_nev_w = maker_nev_w[:1]  # the same weights in every draw: maker shares computed once a year
    maker_w = np.where(np.arange(4) >= 2, maker_nev_w[:, :, None, None], inputs.conv_weight[None, :, None, None])
    plate_d, phev_plate_d = inputs.plate_share, np.repeat(inputs.phev_plate[:, None], D, 1)
    total_d, exports_d, grid_d = inputs.total_car_sales, inputs.ev_exports, inputs.grid
    bounded = np.isfinite(inputs.capacity)
    with np.errstate(divide="ignore"):
        cap_use_factor = np.where(bounded, 100.0 / np.where(bounded, inputs.capacity, 1.0), np.nan)  # [year, maker]
    gasoline_kg = prm["gasoline_kg_co2_per_l"]
    l_per_bbl = prm["litres_per_barrel"]
    energy_f = EnergyFactors.for_region(fleet_code, fleet_own)  # real-world, well-to-tank

    for t, year in enumerate(years):
        year = int(year)
        is_hist = year <= inputs.history_last
        if fit and not is_hist and calibration is None:  # history done: calibrate, then project
            calibration = _make_calibration(inputs, trace, years[:n_hist], fit_a, fit_b, fit_lnss, fit_ok, fit_seg)
            kappa = calibration.kappa
        fitting = fit and is_hist
        ti = year - int(inputs.years[0])
        # ---- 1. technology: battery pack cost
        obs_price = hist.battery_usd_per_kwh[ti]
        if is_hist and np.isfinite(obs_price):
            pack_usd = np.full(D, obs_price)
            anchor = (pack_usd, cum_gwh.copy())
        elif anchor is None:  # before any survey: hold the first survey value
            first = hist.battery_usd_per_kwh[np.isfinite(hist.battery_usd_per_kwh)][0]
            pack_usd = np.full(D, first)
        else:
            pack_usd = experience_curve_cost(cum_gwh, anchor[1], anchor[0], lr)
        pack_cny = pack_usd * pack_factor
        veh = inputs.vehicle_paths.year(ti, pack_cny)
        # ---- 2. policy
        subsidy = policy.subsidy_cny(year, veh, inputs.subsidy_possible[ti])
        tax_due, tax_full = policy.tax_cny(year, veh, subsidy)  # on the price paid, after the maker-paid subsidy
        nev_sy = inputs.nev_standards[ti]
        cafc_sy = inputs.cafc_standards[ti]
        nev_acc, cafc_acc = inputs.prepared_standards[ti] if inputs.prepared_standards else (None, None)
        nev_acc = nev_acc if (nev_acc is not None and nev_acc.standard is nev_sy) else nev_sy
        cafc_acc = cafc_acc if (cafc_acc is not None and cafc_acc.standard is cafc_sy) else cafc_sy
        trade_in = policy.trade_in_cny(year, veh)  # 0.0 outside the scheme's years: no array work then
        net_price = veh.price_cny - subsidy + tax_due
        if np.ndim(trade_in):
            net_price -= trade_in
        running = inputs.running_pv_cny[ti]
        # ---- 3. buyers: utility without the plug-in constants
        # charging coverage: public chargers per car in stock (end of t−1); before the first
        # observed charger count, the EV stock share over the year's EVs per charger
        chargers_per_car = (chargers_prev / car_stock_prev) if np.isfinite(chargers_prev).all() else \
            stock_share_prev / inputs.evs_per_charger[ti]
        ln_models = np.log(np.maximum(1.0, sales_prev_pt / prm["vehicles_per_model"][:, None]))
        ln_ss = np.log(np.maximum(stock_share_prev, 1e-9))
        u_base = systematic_utility(
            coef, asc, net_price, running, veh.range_km, np.log(chargers_per_car), ln_models,
            plate_d[ti], phev_plate_d[ti], zeros_d,
        )
        if not fitting and calibration is not None:
            held = calibration.segment_offset(year)
            seg_off = seg_off if held is None else held
        if seg_off.any():
            u_base = u_base + seg_off[..., None] * _BEV_ADD
        seg_targets = hist.segment_targets.get(year, ()) if fitting and fit_segment_mix_on else ()
        segment_sales = total_d[ti][:, None] * inputs.table.segment_sales_share[None]
        # credit-market arrays
        if nev_sy is not None:
            earned = np.asarray(nev_sy.earned_per_vehicle, float)[None]  # [1, S, P]: broadcasts over draws
            required = np.asarray(nev_sy.required_per_vehicle, float)[None]
            if obligated_share_prev is None:
                net_eff = np.broadcast_to(earned - required, (D, len(SEGMENTS), 4))
            else:
                net_eff = earned - required * obligated_share_prev
            slope = price_slope * (earned - required)
            bank_total = zeros_d if bank is None else bank.sum((-1, -2))
            required_scale = (segment_sales[..., None] * required).sum((-1, -2))
        price_floor = zeros_d
        if nev_sy is not None and is_hist and dc.observed_prices_in_history and np.isfinite(hist.credit_price_cny[ti]):
            price_floor = np.minimum(hist.credit_price_cny[ti], cap)

        market = None
        if nev_sy is not None:
            market = _Market(lam, segment_sales, net_eff, slope, bank_total, cafc_extra, required_scale, cap,
                             price_floor)

        if rmarket is not None:  # every standard of the region priced (nevsim.regions.clear_standards)
            rmarket.begin_year(ti, segment_sales)
            price = zeros_d
        if fitting and rmarket is not None:
            # fixed point: constants that hit the observed shares at the prices, prices that clear
            # at those constants. At observed shares the excess hardly depends on the price, so an
            # interior price converges slowly: 40 rounds (Monte Carlo draws of the EU reach
            # |error| ≤ ~0.1 pp; a deterministic run converges in a few rounds)
            for _ in range(40):
                a_prev, b_prev, ok = fit_plugin_constants(
                    u_base + rmarket.shift(), lam, segment_sales, np.full(D, hist.ev_share[ti]),
                    np.full(D, hist.bev_fraction[ti]), (a_prev, b_prev))
                u = u_base + a_prev[:, None, None] * _PLUG_ADD + b_prev[:, None, None] * _BEV_ADD
                shares, moved = rmarket.clear(u, lam)
                if not moved:
                    break
            sol = None
            fit_ok = fit_ok and bool(ok.all())
            fit_a[t], fit_b[t], fit_lnss[t] = a_prev, b_prev, ln_ss
        elif fitting:
            price = price_floor.copy()
            for _ in range(6):
                u_shift = u_base + (slope * price[:, None, None] if nev_sy is not None else 0.0)
                if seg_targets:  # this year's observed segment mix too (offsets move, then held)
                    a_prev, b_prev, seg_step, ok = fit_segment_mix(
                        u_shift, lam, segment_sales, np.full(D, hist.ev_share[ti]),
                        np.full(D, hist.bev_fraction[ti]), (a_prev, b_prev), seg_targets)
                    seg_off = seg_off + seg_step
                    u_base = u_base + seg_step[..., None] * _BEV_ADD
                else:
                    a_prev, b_prev, ok = fit_plugin_constants(
                        u_shift, lam, segment_sales, np.full(D, hist.ev_share[ti]),
                        np.full(D, hist.bev_fraction[ti]), (a_prev, b_prev))
                u = u_base + a_prev[:, None, None] * _PLUG_ADD + b_prev[:, None, None] * _BEV_ADD
                shares, new_price, sol = _clear(u, lam, market, D)
                if np.all(np.abs(new_price - price) <= 1e-6 + 1e-5 * np.abs(price)):  # np.allclose(atol=1e-6)
                    price = new_price
                    break
                price = new_price
            fit_ok = fit_ok and bool(ok.all())
            fit_a[t], fit_b[t], fit_lnss[t] = a_prev, b_prev, ln_ss
            fit_seg[t] = seg_off
        else:
            r = calibration.plugin_residual(year)
            b = calibration.bev(year)
            u = u_base + (r + kappa * ln_ss)[:, None, None] * _PLUG_ADD + b[:, None, None] * _BEV_ADD
            if rmarket is None:
                shares, price, sol = _clear(u, lam, market, D)
            else:
                (shares, _), sol = rmarket.clear(u, lam), None
        if sol is not None:
            credit_diag["years_solved"] += 1
            credit_diag["max_iterations"] = max(credit_diag["max_iterations"], sol.iterations)
            credit_diag["all_converged"] = credit_diag["all_converged"] and bool(sol.converged.all())
            credit_diag["max_abs_residual_credits"] = max(credit_diag["max_abs_residual_credits"],
                                                          sol.max_abs_residual)
            if sol.at_cap.any():
                credit_diag["years_at_cap"].append(year)
            if sol.long.all():
                credit_diag["years_long"].append(year)
        sales = shares * segment_sales[..., None]  # [D, S, P]
        # ---- 4. makers
        exports_total = exports_d[ti]
        # split_among_makers, with the attractiveness shares computed once for both splits
        w_m, share_m = _maker_shares(maker_w * inputs.offer[ti][None], inputs.residual_maker)
        # domestic plug-in sales by maker of the uncapped split, Σ_{s, p ∈ plug-in} share_msp·N_dsp
        # (a matrix product: the split itself [draw, maker, segment, powertrain] is not built here)
        ev_sales = sales[..., 2:].reshape(D, -1)
        ev_share = share_m[..., 2:].reshape(share_m.shape[0], M, -1)
        ev_dom_m = _matmul_rows(ev_sales, ev_share[0].T) if ev_share.shape[0] == 1 else \
            np.einsum("dk,dmk->dm", ev_sales, ev_share)
        exports_m = exports_total[:, None] * ev_dom_m / np.maximum(ev_dom_m.sum(-1, keepdims=True), 1e-300)
        cap_m = inputs.capacity[ti][None].repeat(D, 0)
        exports_m = cap_exports(exports_m, cap_m, inputs.residual_maker)
        by_maker = _split_capped(sales, w_m, share_m, cap_m, exports_m, inputs.residual_maker)
        if rmarket is not None:  # the region's standards, per maker (nevsim.policy.standard.compliance)
            rmarket.account(t, year, sales, by_maker, trace)
        # credit accounting per maker: earned and required (nevsim.policy.standard.compliance), then
        # own bank, trades and banking (nevsim.makers.settle_credit_trades: banked credits saleable,
        # as the market above counts them)
        if nev_sy is not None and (cafc_sy is not None or nev_sy.earned_per_vehicle.any()
                                   or nev_sy.required_per_vehicle.any() or (bank is not None and bank.any())
                                   or cafc_owed.any()):
            # nevsim.policy.standard.compliance without re-validating: by_maker is finite and ≥ 0
            # by construction, the banks are clipped at 0
            if cafc_sy is not None and isinstance(nev_acc, _PreparedStandard) and isinstance(cafc_acc, _PreparedStandard):
                res, cres = _compliance_prepared((nev_acc, cafc_acc), by_maker, (None, cafc_bank), 2)  # one pass
            else:
                res = _compliance_fast(nev_acc, by_maker, None, 2)
                cres = None if cafc_sy is None else _compliance_fast(cafc_acc, by_maker, cafc_bank, 2)
            cafc_deficit_m = zeros_dm
            carry_ok: np.ndarray | bool = True
            if cres is not None:
                cafc_bank = np.maximum(cres.bank_out, 0.0)
                # a CAFC deficit left after the maker's own CAFC bank becomes the same maker's NEV
                # obligation next year (scenario dual_credit.cafc_offset; A.5: NEV credits, own or
                # bought, offset CAFC deficits): settled once, by the maker who owes it
                cafc_deficit_m = np.maximum(-cres.balance, 0.0)
                trace.put_maker("Credits|CAFC|Balance", t, cres.balance)
                if np.isfinite(carry_thr[ti]):
                    carry_ok = _nev_carry_allowed(cafc_sy, by_maker, carry_thr[ti])
            required_m = res.required + cafc_owed  # this year's requirement + last year's CAFC deficit
            settled = settle_credit_trades(res.earned, required_m, bank, nev_sy.carry_forward_years,
                                           nev_sy.carry_forward_fraction, carry_ok)
            bank = settled.bank_out
            obligated_prev = res.obligated if res.obligated.shape == (D, M) else \
                np.broadcast_to(res.obligated, (D, M)).copy()
            cafc_owed = cafc_deficit_m if dc.cafc_offset else zeros_dm
            cafc_extra = cafc_owed.sum(-1)
            cafc_deficit = cafc_deficit_m.sum(-1)
            trace.put_maker("Credits|NEV|Earned", t, res.earned)
            trace.put_maker("Credits|NEV|Required", t, required_m)
            trace.put_maker("Credits|NEV|Balance", t, settled.balance)
            trace.put_maker("Credits|NEV|Bought", t, settled.bought)
            trace.put_maker("Credits|NEV|Sold", t, settled.sold)
            trace.put("Credits|NEV|Shortfall", t, settled.shortfall)
            trace.put("Credits|NEV|Banked", t, bank.sum((-1, -2)))
            trace.put("Credits|CAFC|Deficit", t, cafc_deficit)
        # Σ_m split_msp·obligated_m with split = by_maker / sales (for next year's credit market),
        # summed over makers before dividing: a batched [1, maker] @ [maker, segment·powertrain]
        obl_sales = (obligated_prev.astype(float)[:, None, :] @ by_maker.reshape(D, M, -1))[:, 0]
        obligated_share_prev = obl_sales.reshape(sales.shape) / np.maximum(sales, 1e-300)
        if makers:
            by_maker_pt = np.einsum("dmsp->dmp", by_maker)  # [D, M, P]
            for p, name in enumerate(POWERTRAINS):
                trace.put_maker(f"Sales|Cars|{name}", t, by_maker_pt[..., p])
            production_m = by_maker.reshape(D, M, -1).sum(-1) + exports_m
            trace.put_maker("Capacity Use", t, production_m * cap_use_factor[ti])  # % of capacity (NaN: unbounded)
            trace.put_maker("Exports|Cars|EV", t, exports_m)
        # ---- 5. fleet
        sales_pt = sales.sum(1)  # [D, P]
        fuel_l = _nz(veh.fuel_l_per_100km)
        elec_share = veh.electric_km_share
        fuel_new = (sales * fuel_l * (1.0 - elec_share)).sum(1)
        elec_new = (sales * _nz(veh.energy_kwh_per_100km) * elec_share).sum(1)
        ice_equiv = (sales * fuel_l[..., :1]).sum(1)
        fo = fleet.step(sales_pt, fuel_new, elec_new, ice_equiv)
        eff = energy_and_emissions(fo, vkt, prm["charging_losses"], grid_d[ti], gasoline_kg,
                                   l_per_bbl, energy_f)
        stock = fo["stock"]
        ev_stock = stock[:, 2:].sum(-1)
        total_stock = stock.sum(-1)
        obs_chargers = hist.public_chargers[ti]
        if is_hist and np.isfinite(obs_chargers):
            chargers = np.full(D, obs_chargers)
        else:
            chargers = ev_stock / inputs.evs_per_charger[ti]
        # ---- subsidies' public cost (billion CNY): subsidy + purchase tax forgone
        tax_forgone = tax_full - tax_due
        public_cost = ((subsidy + tax_forgone) * sales)[..., 2:].sum((-1, -2)) / 1e9  # plug-ins
        trade_in_cost = (trade_in * sales).sum((-1, -2)) / 1e9 if np.ndim(trade_in) else zeros_d  # every new car
        # ---- 6. feedback
        ev_sales_total = sales[..., 2:].sum((-1, -2))
        kwh_dom = (sales[..., 2:] * veh.battery_kwh[..., 2:]).sum((-1, -2))
        avg_kwh = kwh_dom / np.maximum(ev_sales_total, 1e-300)
        china_gwh = (kwh_dom + exports_total * avg_kwh) * GWH_PER_KWH
        world_obs = hist.world_battery_gwh[ti]
        china_obs = hist.china_car_battery_gwh[ti]
        if is_hist and np.isfinite(world_obs) and np.isfinite(china_obs):
            row_gwh = np.full(D, world_obs - china_obs)
        else:
            row_gwh = row_gwh_prev * (1.0 + inputs.world_growth[ti])
        cum_gwh = cum_gwh + row_gwh + china_gwh
        row_gwh_prev = row_gwh
        stock_share_prev = ev_stock / total_stock
        chargers_prev = chargers
        car_stock_prev = total_stock
        sales_prev_pt = sales_pt
        # ---- record
        total_sales = sales_pt.sum(-1)
        trace.put("sales_pt", t, sales_pt)
        _record_segment_mix(trace, t, n_years, sales, veh.battery_kwh, subsidy, tax_forgone)
        trace.put("Sales|Cars|Total", t, total_sales)
        trace.put("Price|Credit|NEV", t, price if nev_sy is not None else np.zeros(D))
        trace.put("Price|Battery Pack", t, pack_usd)
        trace.put("Stock|Cars|EV", t, ev_stock)
        trace.put("Stock|Cars|BEV", t, stock[:, 3])
        trace.put("Stock|Cars|PHEV", t, stock[:, 2])
        trace.put("Stock|Cars|Total", t, total_stock)
        trace.put("Scrappage|Cars", t, fo["scrappage"].sum(-1))
        trace.put("Chargers|Public", t, chargers)
        trace.put("EVs per Public Charger", t, ev_stock / chargers)
        trace.put("Oil Displacement", t, eff["oil_displaced_kbd"])
        trace.put("Electricity|Cars", t, eff["electricity_twh"])
        trace.put("Emissions|CO2|Cars", t, eff["co2_mt"])  # well-to-wheel: the three parts below
        trace.put("Emissions|CO2|Cars|Tailpipe", t, eff["co2_tailpipe_mt"])
        trace.put("Emissions|CO2|Cars|Fuel Supply", t, eff["co2_fuel_supply_mt"])
        trace.put("Emissions|CO2|Cars|Electricity", t, eff["co2_electricity_mt"])
        trace.put("Fuel|Cars|Gasoline", t, eff["fuel_kbd"])
        trace.put("Exports|Cars|EV", t, exports_total)
        trace.put("Production|Cars|EV", t, ev_sales_total + exports_total)
        trace.put("Subsidy|Public Cost", t, public_cost)
        if policy.has_trade_in:
            trace.put("Trade-in|Public Cost", t, trade_in_cost)
        trace.put("Battery Demand|Cars", t, china_gwh)
        trace.put("Price|Car|BEV compact", t, net_price[:, 2, 3])
        trace.put("Price|Car|ICE compact", t, net_price[:, 2, 0])
        trace.put("plugin_stock_share", t, stock_share_prev)
        if progress is not None:
            progress(t + 1, n_years)

    trace.diagnostics["credit_market"] = credit_diag
    if rmarket is not None:
        credit_diag["region"] = rmarket.diag
    if not fit:
        return trace, None
    if calibration is None:
        calibration = _make_calibration(inputs, trace, years[:n_hist], fit_a, fit_b, fit_lnss, fit_ok, fit_seg)
    return trace, calibration


def seed_fuel_l_per_100km(inputs: Inputs, draws: int) -> np.ndarray:
    """Test-cycle fuel use (L/100 km) of the cars in the seed stock ``[draw]``: the first year's new
    conventional car, ``Σ_s w_s · fuel(first year, s, ICE)``, with ``w`` the region's segment mix
    of car sales (``segment_sales_share``; the US table's, larger cars, for the US) and the year's
    fuel use (the table's 2020 values raised by the ICE efficiency path before 2020,
    :func:`nevsim.technology.vehicle_paths`, with the region's ``fuel_use_ratio``).

    Every pre-sample vintage gets it (U: no path before the first year; older cars used more fuel,
    so the seed's use is a lower bound). Before 2026-12-01 the seed took the unweighted mean of the
    table's 2020 values, 6.44 L/100 km for every region: the US seed got China's car mix at 2020
    efficiency (≈ 8.4 L/100 km with the US mix in 2010), and US gasoline came out 16 % below EIA's.
    """
    fuel = np.asarray(inputs.vehicle_paths.fuel_l_per_100km[0], dtype=float)[..., 0]  # [draw or 1, segment]
    w = np.asarray(inputs.table.segment_sales_share, dtype=float)
    seed = (fuel * w).sum(-1) / w.sum()
    return np.broadcast_to(seed, (draws,)).astype(float)


def _record_segment_mix(trace: Trace, t: int, n_years: int, sales: np.ndarray, battery_kwh: np.ndarray,
                        subsidy: np.ndarray, tax_forgone: np.ndarray) -> None:
    """Draw 0's plug-in sales by segment ``[segment, (PHEV, BEV)]``, its average BEV pack (kWh) and
    its public cost split (billion CNY: subsidy, purchase tax forgone on plug-ins), in
    ``trace.diagnostics`` (the segment-mix check of docs/model.md; one draw: small at any size)."""
    d = trace.diagnostics
    if t == 0:
        d["plugin_sales_by_segment"] = np.full((n_years, len(SEGMENTS), 2), np.nan)
        d["bev_pack_kwh"] = np.full(n_years, np.nan)
        d["public_cost_parts"] = np.full((n_years, 2), np.nan)
    s0 = sales[0, :, 2:]
    d["plugin_sales_by_segment"][t] = s0
    kwh = np.broadcast_to(battery_kwh, sales.shape)[0, :, 3]
    d["bev_pack_kwh"][t] = (s0[:, 1] * kwh).sum() / max(s0[:, 1].sum(), 1e-300)
    parts = [np.broadcast_to(x, sales.shape)[0, :, 2:] if np.ndim(x) else np.full(s0.shape, float(x))
             for x in (subsidy, tax_forgone)]
    d["public_cost_parts"][t] = [(p * s0).sum() / 1e9 for p in parts]


def _make_calibration(inputs: Inputs, trace: Trace, years: np.ndarray, fit_a: np.ndarray, fit_b: np.ndarray,
                      fit_lnss: np.ndarray, fit_ok: bool, fit_seg: np.ndarray | None = None) -> Calibration:
    """κ, residual constants and the held values from a fit over the history ``years``."""
    trace.diagnostics["kappa_panel"] = (years, fit_a, fit_lnss)
    kappa_fit, kappa_se = _fit_kappa(inputs, years, fit_a, fit_lnss)
    residual = fit_a - kappa_fit[None] * fit_lnss
    n_hold = min(inputs.scenario.calibration.hold_mean_of_last_years, len(years))
    sales = trace.data["sales_pt"][: len(years)]
    modelled = sales[..., 2:].sum(-1) / sales.sum(-1)
    observed = inputs.history.ev_share[: len(years)][:, None]
    err = float(np.nanmax(np.abs(modelled - observed))) * 100.0
    sd = walk_sd(years, residual)
    return Calibration(years=years, residual_plugin=residual, bev_constant=fit_b, kappa=kappa_fit,
                       hold_plugin=residual[-n_hold:].mean(0), hold_bev=fit_b[-n_hold:].mean(0),
                       maker_nev_weights=inputs.maker_nev_weights, max_abs_error_pp=err, converged=fit_ok,
                       kappa_se=kappa_se, walk_step_plugin=_z_times(inputs, "residual_walk_z", sd),
                       walk_sd_plugin=sd,
                       segment_offsets=fit_seg if fit_seg is not None and fit_seg.any() else None)


def _z_times(inputs: Inputs, z_name: str, sd: np.ndarray) -> np.ndarray | float:
    """``z·sd`` ``[draw]`` for the coefficient ``z_name`` (a standard normal in draws, 0 in a one-draw run):
    κ's estimation shift (``kappa_se_z``) and the residual walk's step (``residual_walk_z``,
    :mod:`nevsim.calibrate`, "Residual walk"). 0 when z is 0 everywhere, and where sd is undefined."""
    z = inputs.params.get(z_name)
    if z is None or not np.any(np.asarray(z) != 0.0):
        return 0.0
    return np.where(np.isfinite(sd), np.asarray(z, dtype=float) * sd, 0.0)


def _fit_kappa(inputs: Inputs, years: np.ndarray, fit_a: np.ndarray, fit_lnss: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """κ on this region's history (``kappa_fit = "own"``) or pooled with the shipped regions' (:mod:`nevsim.pooling`),
    and the standard error of the unclipped slope (:func:`nevsim.pooling.kappa_standard_error`).

    ``κ = clip(κ̂ + z·se(κ̂), kappa_min, kappa_max)`` with ``z`` the coefficient ``kappa_se_z``
    (0 in a one-draw run; a standard normal truncated at ±3 when the draws sample the
    coefficients): the estimate's own uncertainty enters the Monte Carlo draws. A NaN standard
    error (no residual degrees of freedom) adds nothing.
    """
    from nevsim import pooling

    lo, hi = inputs.params["kappa_min"], inputs.params["kappa_max"]  # [draw] (bounds may be sampled)
    panels = [(years, fit_a, fit_lnss)]
    if inputs.scenario.calibration.kappa_fit == "own":
        slope = fit_kappa(years, fit_a, fit_lnss, -np.inf, np.inf)
    else:
        until = int(inputs.history_last)  # every region cut at the same year as this run's history
        for code, name in pooling.POOLED_REGIONS.items():
            if code == inputs.scenario.region:
                continue
            panel = pooling.region_panel(name, until)
            if panel is not None:
                panels.append(panel)
        slope = pooling.fit_kappa_pooled(panels, -np.inf, np.inf)
    se = pooling.kappa_standard_error(panels)
    return np.clip(slope + _z_times(inputs, "kappa_se_z", se), lo, hi), se


@functools.lru_cache(maxsize=16)
def _nev_carry_thresholds(known_at: int | None, first: int, last: int) -> tuple[float, ...]:
    """Order 53's condition on NEV carry-forward per year (conventional CAFC actual/target; inf: none),
    :func:`nevsim.policy.china.nev_carry_forward_max_cafc_ratio` with the rules held after their
    last year, as the NEV standard of the run is."""
    from nevsim.policy import china

    return tuple(china.nev_carry_forward_max_cafc_ratio(y, extend="hold", known_at=known_at)
                 for y in range(first, last + 1))


#: :func:`_nev_carry_terms` per CAFC standard object (the standards are memoised, so a handful):
#: id → (the standard, its terms); the stored standard keeps the id from being reused
_CARRY_TERMS: dict[int, tuple[Any, np.ndarray]] = {}


def _nev_carry_terms(cafc_sy: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``[segment·powertrain, 2]``: the CAFC standard's fuel and factor × target per vehicle on
    conventional cars (ICE, HEV = POWERTRAINS[:2]), 0 on plug-ins (computed once per standard)."""
    hit = _CARRY_TERMS.get(id(cafc_sy))
    if hit is not None and hit[0] is cafc_sy:
        return hit[1]
    from nevsim.policy.fleet import conventional_cafc_terms

    conventional = np.broadcast_to((np.arange(shape[-1]) < 2)[None, :], shape)
    terms = np.ascontiguousarray(conventional_cafc_terms(cafc_sy, conventional).reshape(-1, 2))
    terms.setflags(write=False)
    if len(_CARRY_TERMS) > 1024:
        _CARRY_TERMS.clear()
    _CARRY_TERMS[id(cafc_sy)] = (cafc_sy, terms)
    return terms


def _nev_carry_allowed(cafc_sy: Any, by_maker: np.ndarray, threshold: float) -> np.ndarray:
    """Order 53 condition per maker ``[draw, maker]``: may the maker bank its NEV surplus?

    ``Σ_conv n·F / Σ_conv n·factor·T ≤ threshold`` over the maker's conventional cars (ICE,
    HEV; the CAFC standard's fuel ``F`` and factor × target, as
    :func:`nevsim.policy.fleet.china_compliance`); a maker without conventional cars may. One
    matrix product ``[draw·maker, segment·powertrain] @ [segment·powertrain, 2]``.
    """
    D, M = by_maker.shape[:2]
    sums = by_maker.reshape(D * M, -1) @ _nev_carry_terms(cafc_sy, by_maker.shape[-2:])  # [draw·maker, 2]
    fuel, target = sums[:, 0], sums[:, 1]
    # ratio ≤ threshold ⇔ fuel ≤ threshold·target where target > 0 (no conventional cars: allowed)
    return ((fuel <= threshold * target) | (target <= 0)).reshape(D, M)


@dataclass(frozen=True)
class _Market:
    """One year's credit-market inputs (see :func:`nevsim.makers.clear_credit_market`)."""

    lam: np.ndarray
    segment_sales: np.ndarray
    net_eff: np.ndarray
    slope: np.ndarray
    bank_total: np.ndarray
    extra_required: np.ndarray
    required_scale: np.ndarray
    cap: np.ndarray
    price_floor: np.ndarray


def _clear(u: np.ndarray, lam: np.ndarray, market: _Market | None, draws: int) -> tuple[np.ndarray, np.ndarray, Any]:
    """Shares and NEV credit price at utilities ``u`` (no standard: shares at π = 0)."""
    logit = RescaledNestedLogit(u, lam)
    if market is None:
        return logit.shares()[0], np.zeros(draws), None
    sol = clear_credit_market(
        logit, lam, market.segment_sales, market.net_eff, market.slope, bank_in=market.bank_total,
        extra_required=market.extra_required, required_scale=market.required_scale, cap_cny=market.cap,
    )
    price = np.maximum(sol.price, market.price_floor)
    if (price > sol.price).any():  # observed history price above the clearing price
        return logit.shares(market.slope * price[:, None, None])[0], price, sol
    return sol.shares, price, sol


def _fit_maker_weights(inputs: Inputs) -> np.ndarray:
    """NEV weights ``[draw, maker]`` fitted to reported maker sales (see :mod:`nevsim.calibrate`).

    Fit year: the latest history year in which at least five groups report. The year's
    domestic BEV and PHEV sales are the observed ones (IEA), spread over segments with the
    segment mix; exports are allocated in proportion to domestic EV sales.
    """
    hist = inputs.history
    prior = np.broadcast_to(inputs.nev_prior, (inputs.draws, len(inputs.makers))).copy()
    counts: dict[int, int] = {}
    for d in hist.maker_nev_sales.values():
        for y in d:
            if y <= inputs.history_last:
                counts[y] = counts.get(y, 0) + 1
    if not counts:
        return prior
    rich = [y for y, n in counts.items() if n >= 5]
    year = max(rich) if rich else max(counts, key=lambda y: (counts[y], y))
    ti = year - int(inputs.years[0])
    observed = np.array([hist.maker_nev_sales.get(m, {}).get(year, np.nan) for m in inputs.makers])
    ev = hist.ev_share[ti] * inputs.total_car_sales[ti, 0]  # a history year: observed, equal in every draw
    bev = ev * hist.bev_fraction[ti]
    ev_sales = np.zeros((len(SEGMENTS), 4))
    ev_sales[:, 2] = inputs.table.segment_sales_share * (ev - bev)
    ev_sales[:, 3] = inputs.table.segment_sales_share * bev
    if not np.all(np.isfinite(ev_sales)):
        return prior
    w = _fit_maker_weights_cached(inputs.nev_prior.tobytes(), inputs.offer[ti].tobytes(), inputs.offer[ti].shape,
                                  ev_sales.tobytes(), float(inputs.ev_exports[ti, 0]), observed.tobytes())
    return np.broadcast_to(w, prior.shape).copy()


@functools.lru_cache(maxsize=16)
def _fit_maker_weights_cached(prior: bytes, offer: bytes, offer_shape: tuple[int, ...], ev_sales: bytes,
                              exports: float, observed: bytes) -> np.ndarray:
    """:func:`nevsim.calibrate.fit_maker_weights` memoised on its inputs (as bytes: NaN-safe keys)."""
    f = lambda b: np.frombuffer(b, dtype=float)  # noqa: E731
    w = fit_maker_weights(f(prior), f(offer).reshape(offer_shape), f(ev_sales).reshape(-1, 4), exports, f(observed))
    w.setflags(write=False)
    return w


# ----------------------------------------------------------------------------- collect


def _labels(values: list[str], codes: np.ndarray, each: int = 1) -> Any:
    """A string column ``values[codes]`` (each code repeated ``each`` times) with the dtype pandas
    infers for ``values``.

    Converting the few distinct labels and taking by code is several times faster than
    letting pandas convert a long object array (pandas 3 string columns).
    """
    return pd.Series(np.array(values, dtype=object)).array.take(np.repeat(codes, each) if each > 1 else codes)


def _categories(values: list[str], codes: np.ndarray, each: int = 1) -> pd.Categorical:
    """A categorical column ``values[codes]``, each code repeated ``each`` times (one byte per row:
    the label columns of draw tables).

    Duplicate labels are merged into one category on the few codes before repeating them, so
    the long code column is written once, already in its final (int8) dtype.
    """
    unique = list(dict.fromkeys(values))
    remap = np.array([unique.index(v) for v in values], dtype=np.int8 if len(unique) < 127 else np.int32)
    small = remap[np.asarray(codes)]
    if each > 1:
        small = np.zeros(small.size * each, dtype=small.dtype) if not small.any() else _repeat(small, each)
    return pd.Categorical.from_codes(small, categories=pd.Index(unique, dtype="str"), validate=False)


def _columns(build: dict[str, Callable[[], Any]], threads: bool) -> dict[str, Any]:
    """The columns of a long table, each made by its ``build`` function; on two threads with ``threads``.

    A 10,000-draw makers table is 80 M rows: its year (int64), draw (int32) and label-code
    columns are ≈ 1.4 GB written by numpy assignments, which run without the GIL, so two
    threads fill two columns at once (≈ 0.7 → 0.35 s on the 2-core benchmark machine).
    """
    if not threads:
        return {name: make() for name, make in build.items()}
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2, thread_name_prefix="nevsim-columns") as pool:
        done = {name: pool.submit(make) for name, make in build.items()}
        return {name: future.result() for name, future in done.items()}


_SERIES_UNITS = {
    "Price|Credit|NEV": "CNY/credit", "Price|Battery Pack": "USD/kWh", "Stock|Cars|EV": "vehicles",
    "Stock|Cars|BEV": "vehicles", "Stock|Cars|PHEV": "vehicles", "Stock|Cars|Total": "vehicles",
    "Scrappage|Cars": "vehicles", "Chargers|Public": "chargers", "EVs per Public Charger": "vehicles/charger",
    "Oil Displacement": "thousand barrels/day", "Electricity|Cars": "TWh", "Emissions|CO2|Cars": "Mt CO2e/yr",
    "Emissions|CO2|Cars|Tailpipe": "Mt CO2/yr", "Emissions|CO2|Cars|Fuel Supply": "Mt CO2e/yr",
    "Emissions|CO2|Cars|Electricity": "Mt CO2e/yr", "Fuel|Cars|Gasoline": "thousand barrels/day",
    "Production|Cars|EV": "vehicles", "Exports|Cars|EV": "vehicles", "Subsidy|Public Cost": "billion CNY",
    "Trade-in|Public Cost": "billion CNY",
    "Credits|NEV|Shortfall": "credits", "Credits|NEV|Banked": "credits", "Credits|CAFC|Deficit": "credits",
    "Battery Demand|Cars": "GWh", "Price|Car|BEV compact": "CNY", "Price|Car|ICE compact": "CNY",
}
_MAKER_UNITS = {"Capacity Use": "%", "Exports|Cars|EV": "vehicles", "Credits|CAFC|Balance": "credits"}


@dataclass
class _Tables:
    """The values of the long tables as arrays: series ``[var, year, draw]``, makers ``[var, maker, year, draw]``."""

    names: list[str]
    units: list[str]
    values: np.ndarray
    maker_names: list[str]
    maker_units: list[str]
    maker_values: np.ndarray | None
    maker_parts: list[np.ndarray] | None = None  # a trace's records ``[year, draw, maker]`` a variable (not yet copied)

    def makers_array(self) -> np.ndarray | None:
        """``maker_values``, made once from ``maker_parts`` (C-ordered: the long table's column is a view)."""
        if self.maker_values is None and self.maker_parts:
            first = self.maker_parts[0]
            out = np.empty((len(self.maker_parts), first.shape[-1], *first.shape[:-1]))
            for i, part in enumerate(self.maker_parts):
                out[i] = np.moveaxis(part, -1, 0)
            self.maker_values = out
        return self.maker_values


def _trace_tables(trace: Trace, inputs: Inputs, makers: bool = True) -> _Tables:
    """Series and maker values of a trace (contract variable names; shares in percent)."""
    years = trace.years
    D = inputs.draws
    d = trace.data
    sales_pt = d["sales_pt"]  # [year, draw, P]
    total = sales_pt.sum(-1)
    ev = sales_pt[..., 2:].sum(-1)
    variables: list[tuple[str, str, np.ndarray]] = [
        ("Sales Share|Cars|EV", "%", 100.0 * ev / total),
        ("Sales Share|Cars|BEV", "%", 100.0 * sales_pt[..., 3] / total),
        ("Sales Share|Cars|PHEV", "%", 100.0 * sales_pt[..., 2] / total),
        ("Sales Share|Cars|HEV", "%", 100.0 * sales_pt[..., 1] / total),
        ("Sales|Cars|ICE", "vehicles", sales_pt[..., 0]),
        ("Sales|Cars|HEV", "vehicles", sales_pt[..., 1]),
        ("Sales|Cars|PHEV", "vehicles", sales_pt[..., 2]),
        ("Sales|Cars|BEV", "vehicles", sales_pt[..., 3]),
        ("Sales|Cars|EV", "vehicles", ev),
        ("Sales|Cars|Total", "vehicles", total),
    ]
    units = _SERIES_UNITS
    if inputs.region is not None:  # a region's own variables and currency; no China NEV/CAFC market
        units = {k: v for k, v in units.items() if "NEV" not in k and "CAFC" not in k}
        units.update(inputs.region.units())
    for name, unit in units.items():
        if name in d:
            variables.append((name, unit, d[name]))
    n_y = len(years)
    vals = np.stack([np.asarray(v[2], dtype=float).reshape(n_y, D) for v in variables])  # [var, year, draw]
    mnames = list(trace.maker_data) if makers else []
    # the maker records are copied once, where they go: into [var, maker, year, draw] by makers_array()
    # (one block) or straight into the accumulator's array (blocks of draws)
    return _Tables([v[0] for v in variables], [v[1] for v in variables], vals, mnames,
                   [_MAKER_UNITS.get(n, "vehicles" if n.startswith("Sales") else "credits") for n in mnames], None,
                   [trace.maker_data[n] for n in mnames] or None)


def _frames(scenario: Scenario, years: np.ndarray, maker_list: tuple[str, ...], tables: _Tables,
            draws: np.ndarray | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long tables from :class:`_Tables`; ``draws`` (draw numbers) adds a ``draw`` column.

    Rows run variable by variable, then (maker,) year, then draw. With draws the label columns
    are categoricals and ``draw`` is int32 (small, and not merged into one block with ``year``).
    """
    with_draw = draws is not None
    lab = _categories if with_draw else _labels
    names, n_y = tables.names, len(years)
    D = tables.values.shape[-1]
    n_rows = len(names) * n_y * D
    year_col = _repeat(years.astype(np.int64), D)
    one = np.zeros(1, dtype=np.int8)
    var_codes = np.arange(len(names), dtype=np.int16)
    build: dict[str, Callable[[], Any]] = {
        "scenario": lambda: lab([scenario.name], one, n_rows),
        "region": lambda: lab([scenario.region], one, n_rows),
        "variable": lambda: lab(names, var_codes, n_y * D),
        "unit": lambda: lab(tables.units, var_codes, n_y * D),
        "year": lambda: _tile(year_col, len(names)),
        "value": lambda: tables.values.reshape(-1),
    }
    if with_draw:
        build["draw"] = lambda: _tile(np.asarray(draws, dtype=np.int32), len(names) * n_y)
    threads = with_draw and D > 1 and n_rows >= 1 << 20  # (small tables: not worth a thread)
    series = pd.DataFrame(_columns(build, threads), copy=False)
    mnames, M = tables.maker_names, len(maker_list)
    if mnames and tables.makers_array() is not None:
        per_var = M * n_y * D
        m_rows = per_var * len(mnames)
        mvar_codes = np.arange(len(mnames), dtype=np.int16)
        mbuild: dict[str, Callable[[], Any]] = {
            "scenario": lambda: lab([scenario.name], one, m_rows),
            "region": lambda: lab([scenario.region], one, m_rows),
            "maker": lambda: lab(list(maker_list), np.tile(np.arange(M, dtype=np.int16), len(mnames)), n_y * D),
            "variable": lambda: lab(mnames, mvar_codes, per_var),
            "unit": lambda: lab(tables.maker_units, mvar_codes, per_var),
            "year": lambda: _tile(year_col, len(mnames) * M),
            "value": lambda: tables.maker_values.reshape(-1),
        }
        if with_draw:
            mbuild["draw"] = lambda: _tile(np.asarray(draws, dtype=np.int32), len(mnames) * M * n_y)
        maker_frame = pd.DataFrame(_columns(mbuild, with_draw and D > 1 and m_rows >= 1 << 20), copy=False)
    else:
        empty = ["scenario", "region", "maker", "variable", "unit", "year", "value"] + (["draw"] if with_draw else [])
        maker_frame = pd.DataFrame({c: pd.Series(dtype="int64" if c == "year" else "int32" if c == "draw" else
                                                 "float64" if c == "value" else "str") for c in empty})
    return series, maker_frame


def collect(trace: Trace, inputs: Inputs, *, draw_offset: int = 0, draw_column: bool | None = None,
            makers: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Long tables ``series`` and ``makers`` (contract variable names; shares in percent).

    A ``draw`` column (``draw_offset + i``) is added when there are several draws or
    ``draw_column`` is true; the label columns (scenario, region, maker, variable, unit) of
    such tables are pandas categoricals, which keeps 10,000-draw tables small and quick to build.
    ``makers=False`` leaves the makers table empty (its columns only).
    """
    with_draw = inputs.draws > 1 if draw_column is None else draw_column
    draws = np.arange(draw_offset, draw_offset + inputs.draws) if with_draw else None
    return _frames(inputs.scenario, trace.years, trace.makers, _trace_tables(trace, inputs, makers), draws)


class _TableAccumulator:
    """The tables of all draws, filled block by block into preallocated arrays (no concatenation)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.tables: _Tables | None = None

    def add(self, part: _Tables, start: int) -> None:
        if len(set(part.names)) != len(part.names) or len(set(part.maker_names)) != len(part.maker_names):
            raise ValueError("a block's tables name a variable twice")  # (each slice is written once)
        stop = start + part.values.shape[-1]
        parts = part.maker_parts or []
        if part.maker_values is not None:  # already laid out [var, maker, year, draw]
            parts = [np.moveaxis(v, 0, -1) for v in part.maker_values]
        if self.tables is None:  # (not filled with NaN first: every block writes its draws of every variable)
            values = np.empty((*part.values.shape[:-1], self.n))
            mvals = None if not parts else np.empty((len(parts), parts[0].shape[-1], *parts[0].shape[:-2], self.n))
            self.tables = _Tables(list(part.names), list(part.units), values, list(part.maker_names),
                                  list(part.maker_units), mvals)
        t = self.tables
        for k, name in enumerate(part.names):
            if name not in t.names:  # a variable this block recorded and earlier ones did not (rare)
                t.names.append(name)
                t.units.append(part.units[k])
                t.values = np.concatenate([t.values, np.full((1, *t.values.shape[1:]), np.nan)])
            t.values[t.names.index(name), :, start:stop] = part.values[k]
        written = set(part.names)
        for i, name in enumerate(t.names):
            if name not in written:  # a variable this block did not record
                t.values[i, :, start:stop] = np.nan
        if parts:
            for k, name in enumerate(part.maker_names):
                record = np.moveaxis(parts[k], -1, 0)  # [year, draw, maker] → [maker, year, draw] (a view)
                if t.maker_values is None or name not in t.maker_names:
                    shape = (1, *record.shape[:-1], self.n)
                    t.maker_names.append(name)
                    t.maker_units.append(part.maker_units[k])
                    t.maker_values = np.full(shape, np.nan) if t.maker_values is None else \
                        np.concatenate([t.maker_values, np.full(shape, np.nan)])
                t.maker_values[t.maker_names.index(name), ..., start:stop] = record
        if t.maker_values is not None:
            written = set(part.maker_names) if parts else set()
            for i, name in enumerate(t.maker_names):
                if name not in written:
                    t.maker_values[i, ..., start:stop] = np.nan


# ----------------------------------------------------------------------------- run


def _load_reference(name: str) -> Scenario:
    """:func:`load_scenario` of a calibration reference; shipped scenarios are parsed once per process.

    A name that :func:`load_scenario` would read as a file (``.toml``, a path, an existing
    file) is read every time, so edits to user files are seen; scenarios are frozen models.
    """
    text = str(name)
    if text.endswith(".toml") or "/" in text or Path(text).exists():
        return load_scenario(text)
    return _shipped_scenario(text)


@functools.lru_cache(maxsize=32)
def _shipped_scenario(name: str) -> Scenario:
    return load_scenario(name)


#: ``[calibration]`` settings that say how to fit, carried from a counterfactual to its reference
_FIT_SETTINGS = ("kappa_fit", "hold_mean_of_last_years", "segment_mix")


def _reference(scenario: Scenario, until: int | None = None) -> Scenario:
    """The scenario whose history the constants are fitted on (``calibration.against``).

    The scenario itself when it is the same world as its reference (all but name, description,
    calibration and Monte Carlo settings equal, ignoring the years); otherwise the reference
    with the scenario's years, coefficients and how-to-fit settings (:data:`_FIT_SETTINGS`: how to
    fit, not which world). So an override of the default scenario (``load_scenario(name, {...})``)
    is a counterfactual calibrated on the factual history, never re-fitted to it.

    ``policy.known_at`` does not make another world when the history ends by it (``until ≤
    known_at``): the rules as known at that year equal the enacted ones in every fitted year
    (:func:`nevsim.policy._tables.overlay` changes only later years), so such a scenario fits
    and projects in one pass like its reference.
    """
    try:
        reference = _load_reference(scenario.calibration.against)
    except InputError as exc:
        if scenario.calibration.against == scenario.name and scenario.region_spec is not None:
            return scenario  # a region file naming itself (not loadable by name): its own reference
        raise InputError("calibration.against", exc.message, exc.allowed) from None
    if reference.region != scenario.region:  # another region's history cannot calibrate this one
        return scenario
    # how to fit (κ's pooling, the hold window, the segment-mix fit) is the scenario's choice, not part
    # of the world: a counterfactual with kappa_fit = "own" or segment_mix = "observed" is fitted that
    # way on the factual history (before, only segment_mix carried over and the others were ignored)
    calibration = reference.calibration.model_copy(update={key: getattr(scenario.calibration, key)
                                                           for key in _FIT_SETTINGS})
    reference = reference.model_copy(update={"years": scenario.years, "coefficients": scenario.coefficients,
                                             "calibration": calibration})
    skip = ("name", "description", "calibration", "years", "coefficients", "uncertainty")  # draws: not the world
    a = {k: v for k, v in scenario.resolved().items() if k not in skip}
    b = {k: v for k, v in reference.resolved().items() if k not in skip}
    known_at = scenario.policy.known_at
    if known_at is not None and until is not None and until <= known_at:
        a["policy"] = {k: v for k, v in a["policy"].items() if k != "known_at"}
    return scenario if a == b else reference


def calibrate(scenario: Scenario, until: int | None = None, inputs: Inputs | None = None,
              values: Mapping[str, Any] | None = None) -> tuple[Calibration, Inputs]:
    """Fit the constants on the history of the scenario's calibration reference (see :mod:`nevsim.calibrate`).

    With ``values`` (per-draw values, see :func:`run_values`) the fit is done per draw on the
    reference with the same values applied: values describe the world, so the factual
    history is re-fitted under each draw's assumptions (vectorised over draws).
    """
    reference = _reference(scenario, until)
    if inputs is not None and reference is scenario:
        ref_inputs = inputs
    else:
        n = inputs.draws if inputs is not None else None
        ref_inputs = prepare(reference, until, _parse_values(reference, values, n, strict=False))
    _, cal = run_years(ref_inputs, None, fit=True, makers=False)  # the fit reads no maker arrays
    assert cal is not None
    return cal, ref_inputs


def _simulate(scenario: Scenario, until: int | None, values: Mapping[str, Any] | None,
              progress: Callable[[int, int], None] | None, makers: bool = True
              ) -> tuple[Trace, Inputs, Calibration, dict[str, float]]:
    """prepare → calibrate → run_years for one block of draws; returns the trace, inputs, calibration, timings."""
    t0 = time.perf_counter()
    inputs = prepare(scenario, until, values)
    t1 = time.perf_counter()
    if _reference(scenario, until) is scenario:  # its own reference: fit and project in one pass
        t2 = t1
        trace, cal = run_years(inputs, None, fit=True, project=True, progress=progress, makers=makers)
    else:
        cal, _ = calibrate(scenario, until, inputs, values)
        t2 = time.perf_counter()
        trace, _ = run_years(inputs, cal, progress=progress, makers=makers)
    assert cal is not None
    return trace, inputs, cal, {"prepare": t1 - t0, "calibrate": t2 - t1, "run": time.perf_counter() - t2}


def _meta(scenario: Scenario, inputs: Inputs, cal: Calibration, trace: Trace, until: int | None,
          timing: dict[str, float]) -> dict[str, Any]:
    def per_draw(a: np.ndarray) -> list[float]:
        return [float(x) for x in np.asarray(a).reshape(-1)]

    return {
        "run_id": uuid.uuid4().hex,
        "scenario": scenario.name,
        "scenario_hash": scenario.hash,
        "nevsim_version": _version(),
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "regions": [scenario.region],
        "first_year": int(inputs.years[0]),
        "last_year": int(inputs.years[-1]),
        "history_last_year": inputs.history_last,
        "data_cutoff": until,
        "draws": inputs.draws,
        "seed": scenario.seed,
        "calibration": {
            "against": scenario.calibration.against,
            "kappa": per_draw(cal.kappa),
            "kappa_se": None if cal.kappa_se is None else per_draw(cal.kappa_se),
            "kappa_fit": _reference(scenario, until).calibration.kappa_fit,
            "segment_mix": scenario.calibration.segment_mix,
            "hold_plugin_constant": per_draw(cal.hold_plugin),
            "hold_bev_constant": per_draw(cal.hold_bev),
            "walk_sd_plugin": None if cal.walk_sd_plugin is None else per_draw(cal.walk_sd_plugin),
            "max_abs_share_error_pp": cal.max_abs_error_pp,
            "converged": cal.converged,
        },
        "solver": {"credit_market": {**trace.diagnostics["credit_market"],
                                     "tolerance": "|excess| <= 1e-9 x (credits required + 1) or bracket < 1e-6 CNY"}},
        "sources": list(inputs.history.sources),
        "fleet_values": fleet_value_sources(*(("CN", {}) if scenario.region_spec is None else  # CSV row or file
                                              (scenario.region_spec.code, scenario.region_spec.fleet_overrides()))),
        "timing_s": timing,
    }


def run_values(scenario: Scenario | str, values: Mapping[str, np.ndarray], *, until: int | None = None,
               draw_offset: int = 0, makers: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """One vectorised run over draws whose parameters take the given values; ``(series, makers, meta)``.

    ``values`` maps keys to arrays of one value per draw (all the same length ``n ≥ 1``; an
    empty mapping is one draw at the scenario's values). Keys (:func:`value_keys` lists them):

    * dotted real-valued scenario fields: ``technology.battery_learning_rate``,
      ``policy.dual_credit.pass_through``, ``fleet.vkt_km_per_year``, …;
    * one point of a year path: ``energy.gasoline_price_cny_per_l.2024`` replaces the value
      of that existing year key (the path is then interpolated as usual);
    * ``coefficients.<name>``: any row of ``assumptions/coefficients.csv`` with a value.

    Rejected with :class:`InputError` (naming the key): unknown or non-numeric keys, integer
    fields (years, switches), and ``technology.ice_fuel_improvement_pct_per_yr`` and
    ``policy.dual_credit.nev_ratio_pct`` points, which change the policy standards that are
    prepared once per policy set (vary them as sweep grid values instead).

    Draw ``i`` of the result (``draw = draw_offset + i`` in both frames) equals a deterministic
    run of the scenario with draw ``i``'s values applied as overrides (``coefficients.<name>``
    via the scenario's ``[coefficients]`` table) **and calibrated on its reference with the
    same values applied**: the values describe the world, so each draw re-fits the history
    under its own assumptions (all draws at once). A scenario that is its own calibration
    reference (the default) stays its own reference in every draw. ``makers=False`` returns
    an empty makers table (its columns only). So a value such a run would refuse (out of the
    field's range, a coefficient against its known sign) is refused here too
    (:func:`nevsim.scenario.check_draw_values`).
    """
    (series, maker_frame), meta = _one_pass(
        scenario, values, until, draw_offset, makers,
        lambda trace, inputs: collect(trace, inputs, draw_offset=int(draw_offset), draw_column=True, makers=makers))
    return series, maker_frame, meta


def _one_pass(scenario: Scenario | str, values: Mapping[str, np.ndarray], until: int | None, draw_offset: int,
              makers: bool, tables: Callable[[Trace, Inputs], Any]) -> tuple[Any, dict[str, Any]]:
    """One vectorised pass over the draws of ``values`` (checked), then ``tables(trace, inputs)``
    (timed as ``collect``, built without huge pages); shared by :func:`run_values` and :func:`run_cells`.

    The values are checked here, for both: unknown keys and bad arrays first, then each value as an
    override would be (:func:`nevsim.scenario.check_draw_values`: a field's range, a coefficient's
    known sign)."""
    from nevsim.scenario import check_draw_values

    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    if isinstance(draw_offset, bool) or not isinstance(draw_offset, (int, np.integer)) or draw_offset < 0:
        raise InputError("draw_offset", f"must be a whole number ≥ 0, got {draw_offset!r}")
    parsed = _parse_values(scenario, values, 1)
    check_draw_values(scenario, values)
    trace, inputs, cal, timing = _simulate(scenario, until, values, None, makers)
    t = time.perf_counter()
    with _small_pages():
        out = tables(trace, inputs)
    timing["collect"] = time.perf_counter() - t
    meta = _meta(scenario, inputs, cal, trace, until, timing)
    meta["draws"] = parsed.n
    meta["draw_offset"] = int(draw_offset)
    return out, meta


def run_cells(scenario: Scenario | str, values: Mapping[str, np.ndarray], *, until: int | None = None,
              draw_offset: int = 0, makers: bool = True
              ) -> tuple[dict[str, tuple[pd.DataFrame, np.ndarray]], dict[str, Any]]:
    """:func:`run_values` without building its long tables: each table as *cells* × draws.

    Returns ``({"series": (cells, values), "makers": (cells, values)}, meta)``. ``cells`` has one
    row per label-and-year combination (the long table's columns but ``value`` and ``draw``,
    in the long table's row order, labels as text); ``values[i, j]`` is cell ``i`` in draw
    ``draw_offset + j``. :func:`run_values`' long tables are exactly these cells, each repeated
    over the draws (tested). A sweep's workers send this form to the store
    (:func:`nevsim.store.encode_cells`) without making and scanning 8 M-row tables per chunk.
    """
    return _one_pass(scenario, values, until, draw_offset, makers,
                     lambda trace, inputs: _cells(inputs.scenario, trace.years, trace.makers,
                                                  _trace_tables(trace, inputs, makers)))


def _cells(scenario: Scenario, years: np.ndarray, maker_list: tuple[str, ...], tables: _Tables
           ) -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    """The cells of :func:`_frames`' long tables (same order) and their values ``[cell, draw]``."""
    n_y = len(years)
    year = years.astype(np.int64)
    text = lambda labels: np.array(labels, dtype=object)  # noqa: E731
    V, D = len(tables.names), tables.values.shape[-1]
    series = pd.DataFrame({"scenario": text([scenario.name] * (V * n_y)), "region": text([scenario.region] * (V * n_y)),
                           "variable": np.repeat(text(tables.names), n_y), "unit": np.repeat(text(tables.units), n_y),
                           "year": np.tile(year, V)})
    out = {"series": (series, tables.values.reshape(V * n_y, D))}
    mvals = tables.makers_array() if tables.maker_names else None
    if mvals is None:
        empty = pd.DataFrame({c: pd.Series(dtype="int64" if c == "year" else object)
                              for c in ("scenario", "region", "maker", "variable", "unit", "year")})
        out["makers"] = (empty, np.zeros((0, D)))
        return out
    MV, M = len(tables.maker_names), len(maker_list)
    rows = MV * M * n_y
    out["makers"] = (pd.DataFrame({
        "scenario": text([scenario.name] * rows), "region": text([scenario.region] * rows),
        "maker": np.tile(np.repeat(text(list(maker_list)), n_y), MV),
        "variable": np.repeat(text(tables.maker_names), M * n_y), "unit": np.repeat(text(tables.maker_units), M * n_y),
        "year": np.tile(year, MV * M)}), mvals.reshape(rows, D))
    return out


#: Draws simulated at once by :func:`run_frames` with draws (bounds memory; 500 to 5,000 measured
#: within the noise of each other in benchmarks/bench_draws.py, 250 slower). The result does not
#: depend on it.
CHUNK_DRAWS = 1000

#: Blocks of draws :func:`run_frames` simulates at the same time, each on its own thread (at most
#: the machine's CPUs). numpy releases the GIL inside its array operations, so two blocks overlap
#: where one block's pass waits on none: China 2010–2060, 10,000 draws on the 2-core benchmark
#: machine, series only 3.3–3.5 → 2.6–2.7 s, with the makers table 4.7 → 3.8 s (the Python part of
#: each year's step holds the GIL, hence not 2 ×; benchmarks/bench_draws.py, docs/uncertainty.md).
#: The blocks do not share anything they write, so the result is the same bit for bit (tested).
BLOCK_THREADS = 2


def _in_order(work: Callable[[int], Any], starts: list[int], threads: int) -> Iterator[Any]:
    """``work(start)`` for each of ``starts``, yielded in order, at most ``threads`` running at once.

    One thread: called here, one after the other. More: a thread pool with at most ``threads + 1``
    blocks submitted (the next one ready when the caller takes a result; memory stays bounded);
    when the caller stops (an error, an interrupt) the blocks not yet started are cancelled. On
    empty caches the first blocks fill the per-process caches side by side (the same values
    either way; simulating the first block alone to fill them cost 0.3 s of a 10,000-draw run).
    """
    if threads <= 1 or len(starts) <= 1:
        for start in starts:
            yield work(start)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(threads, thread_name_prefix="nevsim-block")
    pending: deque[Any] = deque()
    queued = iter(starts)
    try:
        for _ in starts:
            while len(pending) <= threads and (start := next(queued, None)) is not None:
                pending.append(pool.submit(work, start))
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check_draws(draws: Any, chunk_draws: Any) -> None:
    from nevsim.scenario import MAX_DRAWS

    for name, value in (("draws", draws), ("chunk_draws", chunk_draws)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_DRAWS:
            raise InputError(name, f"must be a whole number from 1 to {MAX_DRAWS:,}, got {value!r}",
                             allowed=[f"1 to {MAX_DRAWS}"])


def sample_values(scenario: Scenario, draws: int, seed: int, *, start: int = 0) -> dict[str, np.ndarray]:
    """Draws ``start … start + draws − 1`` of what the scenario samples (:meth:`Scenario.distributions`).

    :func:`nevsim.uncertainty.sample` with the scenario's correlation groups: the value of a
    draw depends only on ``(seed, parameter, draw number)``.
    """
    from nevsim.uncertainty import sample

    dists = scenario.distributions()
    if not dists:
        raise InputError("draws", f"{draws} draws need something to sample: distribution tables in the scenario, "
                                  "[uncertainty] coefficients = true or residual_walk = true",
                         allowed=["1 (deterministic)", "a scenario with distributions"])
    return sample(dists, draws, seed, start=start, correlations=scenario.correlations())


def run_frames(scenario: Scenario | str, *, until: int | None = None,
               progress: Callable[[int, int], None] | None = None, draws: int | None = None,
               seed: int | None = None, chunk_draws: int | None = None, makers: bool = True,
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Run and return ``(series, makers, meta)`` — what :func:`run` wraps into ``Results``.

    ``draws``/``seed`` default to the scenario's ``[uncertainty]`` values. One draw: the
    deterministic run at the nominal values (``progress(done_years, total_years)``). More:
    the scenario's distributions are sampled once (:func:`sample_values`) and simulated in
    blocks of ``chunk_draws`` (default :data:`CHUNK_DRAWS`) by the vectorised path of
    :func:`run_values` (``progress(done_draws, draws)`` after each block); the frames carry
    a ``draw`` column and do not depend on the block size. ``makers=False`` skips the makers
    table (with 10,000 draws it is ~80 million rows: 13 makers × 12 variables × 51 years × draws).
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    n = scenario.draws if draws is None else draws
    chunk = CHUNK_DRAWS if chunk_draws is None else chunk_draws
    _check_draws(n, chunk)
    scenario.check_seed(seed, n)  # (a seed with one draw would change nothing)
    if n == 1:
        trace, inputs, cal, timing = _simulate(scenario, until, {}, progress, makers)
        t = time.perf_counter()
        series, makers = collect(trace, inputs, makers=makers)
        timing["collect"] = time.perf_counter() - t
        return series, makers, _meta(scenario, inputs, cal, trace, until, timing)
    rng_seed = scenario.seed if seed is None else seed
    if isinstance(rng_seed, bool) or not isinstance(rng_seed, (int, np.integer)) or rng_seed < 0:
        raise InputError("seed", f"must be a whole number ≥ 0, got {rng_seed!r}")
    t0 = time.perf_counter()
    values = sample_values(scenario, n, int(rng_seed))
    timing = {"sample": time.perf_counter() - t0, "prepare": 0.0, "calibrate": 0.0, "run": 0.0, "collect": 0.0}
    acc = _TableAccumulator(n)
    cals = []
    meta: dict[str, Any] = {}

    def simulate_block(start: int) -> tuple[Trace, Inputs, Calibration, dict[str, float]]:
        block = {k: v[start:start + chunk] for k, v in values.items()}
        return _simulate(scenario, until, block, None, makers)

    threads = max(1, min(BLOCK_THREADS, os.cpu_count() or 1))
    blocks = _in_order(simulate_block, list(range(0, n, chunk)), threads)
    try:  # (closed at once on an error: the blocks not started are cancelled)
        for start in range(0, n, chunk):
            trace, inputs, cal, t_block = next(blocks)
            t = time.perf_counter()
            with _small_pages():
                acc.add(_trace_tables(trace, inputs, makers), start)
            t_block["collect"] = time.perf_counter() - t
            cals.append(cal)
            for k, v in t_block.items():
                timing[k] += v
            if not meta:
                meta = _meta(scenario, inputs, cal, trace, until, timing)
                years, maker_list = trace.years, trace.makers
            else:
                diag = meta["solver"]["credit_market"]
                new = trace.diagnostics["credit_market"]
                diag["max_iterations"] = max(diag["max_iterations"], new["max_iterations"])
                diag["all_converged"] = diag["all_converged"] and new["all_converged"]
                diag["max_abs_residual_credits"] = max(diag["max_abs_residual_credits"], new["max_abs_residual_credits"])
                diag["years_at_cap"] = sorted(set(diag["years_at_cap"]) | set(new["years_at_cap"]))
                diag["years_long"] = sorted(set(diag["years_long"]) & set(new["years_long"]))
            del trace, inputs
            if progress is not None:
                progress(min(start + chunk, n), n)
    finally:
        blocks.close()
    t = time.perf_counter()
    assert acc.tables is not None
    with _small_pages():
        series, makers_frame = _frames(scenario, years, maker_list, acc.tables, np.arange(n))
    acc.tables = None
    timing["collect"] += time.perf_counter() - t
    meta["draws"] = n
    meta["seed"] = int(rng_seed)
    meta["chunk_draws"] = int(chunk)
    meta["block_threads"] = threads  # (timing_s "prepare"/"run" add up the blocks' own seconds)
    meta["sampled"] = sorted(values)
    meta["calibration"].update({
        "kappa": [float(x) for c in cals for x in c.kappa],
        "kappa_se": (None if any(c.kappa_se is None for c in cals)
                     else [float(x) for c in cals for x in np.asarray(c.kappa_se).reshape(-1)]),
        "hold_plugin_constant": [float(x) for c in cals for x in c.hold_plugin],
        "hold_bev_constant": [float(x) for c in cals for x in c.hold_bev],
        "walk_sd_plugin": (None if any(c.walk_sd_plugin is None for c in cals)
                           else [float(x) for c in cals for x in np.asarray(c.walk_sd_plugin).reshape(-1)]),
        "max_abs_share_error_pp": max(c.max_abs_error_pp for c in cals),
        "converged": all(c.converged for c in cals),
    })
    meta["timing_s"] = timing
    return series, makers_frame, meta


def run(scenario: Scenario | str, *, until: int | None = None,
        progress: Callable[[int, int], None] | None = None, draws: int | None = None,
        seed: int | None = None, chunk_draws: int | None = None, makers: bool = True) -> Any:
    """Run one scenario (China 2010–2060 by default) and return :class:`nevsim.results.Results`.

    ``until`` is the data cutoff for calibration (back-tests: ``run(s, until=2021)``); nothing
    observed after it is read. ``draws``/``seed``/``chunk_draws``: Monte Carlo (see
    :func:`run_frames`). ``progress(done, total)`` counts years (one draw) or draws.
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    series, maker_frame, meta = run_frames(scenario, until=until, progress=progress, draws=draws, seed=seed,
                                           chunk_draws=chunk_draws, makers=makers)
    from nevsim.results import Results

    return Results(series, maker_frame, meta, scenario.resolved())


def _version() -> str:
    try:
        from nevsim import __version__

        return __version__
    except ImportError:  # pragma: no cover
        return "unknown"
