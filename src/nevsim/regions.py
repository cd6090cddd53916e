"""Regions other than China: data + a policy adapter, built from a scenario's ``[region]`` table.

A region is (see :class:`nevsim.regionspec.RegionSpec` and docs/regions.md):

* **data** — observed history of ``iea_name`` from the IEA Global EV Outlook 2025 (EV sales
  share, BEV/PHEV sales and stock, public chargers, car battery demand) extended by OWID
  (2025), read with the run's cutoff like China's;
* **money** — a currency and exchange rate; vehicle prices are the packaged CNY vehicle table
  converted at market exchange rates and scaled by ``vehicle_price_ratio`` (region price ÷
  China price for the same segment and powertrain); buyers' price coefficients are divided by
  the same factor, so a given *relative* price difference weighs as it does in China (nevsim
  assumption, U: price sensitivity scales with the price level);
* **makers** — a CSV with segment presence, conventional-market share and EV-market share;
* **policies by name** — purchase incentive (``US-30D``), the "ZEV" slot (``US-ACC2``: a
  sales-share mandate in the adopting states' share of the market) and the "fleet efficiency"
  slot (``US-GHG``, ``EU-CO2``). Each is a :class:`nevsim.policy.standard.StandardYear` built
  by :mod:`nevsim.policy` — no rule is re-implemented here.

**Clearing.** Every standard of the region is priced the same way: the price π_k ≥ 0 (region
currency per credit) with ``E_k(π) ≥ 0``, ``π_k·E_k(π) = 0``, ``π_k ≤ cap_k`` where

    E_k = Σ_s N_s·c_k Σ_p P_sp(π)·(earned_k − required_k)_sp + bank_k

and the shares move with every price through pass-through:
``V_sp += Σ_k −β_price·θ·π_k·(earned_k − required_k)_sp / 10⁴``. A standard that covers only
part of the market (ACC II: ``c`` = the adopting states' share) shifts the utilities only
there: covered-area shares ``P(V + Σ_all)``, elsewhere ``P(V + Σ_national)``, national shares
the ``c``-weighted mix (exact when both areas have the same buyers). The cap is the penalty
per credit (ACC II $20,000 per vehicle value; EU €95 per g/km per car) or, where the rules set
no fine (US GHG), the scenario's ``price_cap_per_credit``. Each E_k is increasing in π_k; the
prices are found by Gauss–Seidel sweeps over the standards, each a vectorised bracketed
root (Illinois regula falsi on [0, cap], all draws at once); convergence is checked and
reported in ``meta["solver"]["credit_market"]["region"]``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nevsim.errors import InputError
from nevsim.regionspec import POLICY_SLOTS, RegionSpec, packaged_makers

__all__ = [
    "DEFAULT_SCENARIOS",
    "Region",
    "clear_standards",
    "default_scenario",
    "load_makers",
]

#: Default scenario of each shipped region code.
DEFAULT_SCENARIOS: dict[str, str] = {
    "CN": "china-current-policies",
    "US": "us-current-policies",
    "EU": "eu-current-policies",
}

#: Currency units per USD of the policy tables' currencies (to convert caps and incentives).
#: EUR: ECB reference rate, 2024 average 1.0824 USD per EUR → 0.924 EUR per USD (S).
POLICY_CURRENCY_PER_USD: dict[str, float] = {"USD": 1.0, "EUR": 0.924}

CO2_G_PER_KM_PER_L_PER_100KM = 23.1  # 2.31 kg CO2 per litre of gasoline (IPCC 2006) ÷ 100 km
WLTC_PER_NEDC = 1.1  # as in nevsim.simulate (U)
#: Own car battery demand where the IEA gives none for the region: kWh per BEV / PHEV sold (U,
#: 2024 sales-weighted pack sizes of the order of the IEA's world averages).
EST_KWH_PER_BEV, EST_KWH_PER_PHEV = 60.0, 18.0
SLOT_LABEL = {"zev": "ZEV", "efficiency": "Fleet CO2"}
MAKER_COLUMNS = ("maker", "first_year", "last_year_ice", "segments", "powertrains", "conventional_share",
                 "ev_share", "status", "source")
TOL_REL_EXCESS = 1e-9
MAX_SWEEPS = 40
MAX_ITER = 80


def default_scenario(code: str) -> str:
    """Shipped default scenario of a region code (``"US"`` → ``"us-current-policies"``)."""
    key = str(code).strip().upper()
    if key not in DEFAULT_SCENARIOS:
        raise InputError("--region", f"unknown region {code!r}.", allowed=list(DEFAULT_SCENARIOS))
    return DEFAULT_SCENARIOS[key]


# ----------------------------------------------------------------------------- makers


def load_makers(name_or_path: str) -> pd.DataFrame:
    """A region's makers table: a packaged name (``us`` → ``assumptions/makers_us.csv``) or a CSV path.

    Columns: ``maker, first_year, last_year_ice, segments, powertrains, conventional_share,
    ev_share, status, source``; one row must be ``Other`` (the residual group).
    """
    from nevsim.technology import POWERTRAINS, SEGMENTS

    field_ = "region.makers"
    text = str(name_or_path).strip()
    if not text:
        raise InputError(field_, "a region needs a makers table", allowed=["us", "eu", "a path to a CSV"])
    packaged = resources.files("nevsim.assumptions") / f"makers_{text.lower()}.csv"
    if "/" not in text and not text.endswith(".csv") and packaged.is_file():
        with packaged.open("r", encoding="utf-8") as fh:
            frame = pd.read_csv(fh)
    else:
        path = Path(text)
        if not path.is_file():
            raise InputError(field_, f"no makers table {text!r}", allowed=[*packaged_makers(), "a path to a CSV"])
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputError(field_, f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in MAKER_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(field_, f"makers table lacks columns {missing}", allowed=list(MAKER_COLUMNS))
    if "Other" not in set(frame["maker"]):
        raise InputError(field_, "makers table needs a row 'Other' (the residual group)", allowed=["Other"])
    for col in ("conventional_share", "ev_share"):
        v = pd.to_numeric(frame[col], errors="coerce")
        if v.isna().any() or (v < 0).any() or (v > 1).any():
            raise InputError(f"{field_}.{col}", "shares must be numbers in [0, 1]", allowed=["0 to 1"])
    for col, allowed in (("segments", SEGMENTS), ("powertrains", POWERTRAINS)):
        for cell in frame[col].astype(str):
            bad = [x.strip() for x in cell.split(",") if x.strip() not in allowed]
            if bad:
                raise InputError(f"{field_}.{col}", f"unknown {col} {bad}", allowed=list(allowed))
    bad_status = sorted(set(frame["status"].astype(str)) - {"V", "S", "U", "D"})
    if bad_status:
        raise InputError(f"{field_}.status", f"unknown status {bad_status}", allowed=["V", "S", "D", "U"])
    return frame


# ----------------------------------------------------------------------------- the region


@dataclass(frozen=True)
class Region:
    """A region's data and policy adapter (built once per run by :func:`nevsim.simulate.prepare`)."""

    spec: RegionSpec

    @classmethod
    def from_scenario(cls, scenario: Any) -> Region:
        if scenario.region_spec is None:
            raise InputError("region", "China (CN) is built in; other regions need a [region] table",
                             allowed=["a [region] table"])
        return cls(scenario.region_spec)

    # ---- money
    @property
    def price_factor(self) -> float:
        """CNY vehicle-table amounts → region currency: ``ratio × currency_per_usd / cny_per_usd``."""
        s = self.spec
        return s.vehicle_price_ratio * s.currency_per_usd / s.cny_per_usd

    @property
    def pack_factor(self) -> float:
        """USD/kWh (BNEF global average) → region currency per kWh of pack."""
        return self.spec.pack_price_ratio * self.spec.currency_per_usd

    def policy_money(self, currency: str) -> float:
        """Region currency per unit of a policy table's currency."""
        if currency not in POLICY_CURRENCY_PER_USD:
            raise InputError("currency", f"no exchange rate for {currency}", allowed=list(POLICY_CURRENCY_PER_USD))
        return self.spec.currency_per_usd / POLICY_CURRENCY_PER_USD[currency]

    def adapt(self, coef: Any, params: dict[str, np.ndarray], table: Any) -> tuple[Any, dict[str, np.ndarray], Any]:
        """Coefficients, parameters and vehicle table in the region's currency and segment mix.

        ``price = CNY table × k`` with ``k`` = :attr:`price_factor`; ``β_price, β_opex ÷ k`` so the
        utility of a vehicle priced like its China counterpart is unchanged (U, docs/regions.md).
        """
        k = self.price_factor
        coef = replace(coef, beta_price=coef.beta_price / k, beta_opex=coef.beta_opex / k)
        params = {**params, "ice_cost_per_l_per_100km_cny": params["ice_cost_per_l_per_100km_cny"] * k}
        share = table.segment_sales_share
        if self.spec.segment_sales_share:
            from nevsim.technology import SEGMENTS

            raw = np.array([self.spec.segment_sales_share.get(x, 0.0) for x in SEGMENTS])
            share = raw / raw.sum()
        table = replace(table, glider_cny=table.glider_cny * k, drivetrain_cny=table.drivetrain_cny * k,
                        segment_sales_share=share, fuel_l_per_100km=table.fuel_l_per_100km * self.spec.fuel_use_ratio)
        return coef, params, table

    def energy(self, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Gasoline (per litre) and electricity (per kWh) prices in the region's currency."""
        from nevsim.scenario import interpolate_path

        e = self.spec.energy
        if not e.gasoline_price_per_l or not e.electricity_price_per_kwh:
            raise InputError("region.energy", "a region needs gasoline_price_per_l and electricity_price_per_kwh "
                             "(year paths in its currency)", allowed=["{2010 = …, 2024 = …}"])
        return interpolate_path(e.gasoline_price_per_l, years), interpolate_path(e.electricity_price_per_kwh, years)

    # ---- makers
    def maker_table(self, first: int, last: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
        """Names, offer ``[year, maker, segment, powertrain]``, conventional and EV weights ``[maker]``.

        The EV weights are the table's EV-market shares (not fitted: no maker sales series is
        bundled for the region); a maker with share 0 gets 1e-3 of the largest.
        """
        return _maker_arrays(self.spec.makers, first, last)

    # ---- history
    def history(self, years: np.ndarray, until: int | None) -> Any:
        """Observed history (:class:`nevsim.simulate.History`) of ``iea_name`` (memoised per process)."""
        s = self.spec
        return _region_history(s.iea_name, int(years[0]), int(years[-1]), until,
                               tuple(s.history_total_car_sales_million.items()), float(s.min_share_for_totals_pct))

    # ---- policies
    def policy(self, curb_mass_kg: np.ndarray | None = None) -> RegionPolicy:
        return RegionPolicy(self, curb_mass_kg)

    def standards(self, years: np.ndarray, ice_improvement: float) -> tuple[tuple[Any, ...], tuple[Any, ...], np.ndarray]:
        """The ZEV-slot and efficiency-slot standards of every year (None where absent) and the
        new cars' test-cycle CO2 ``[year, segment, powertrain]`` (g/km, WLTC-like).

        Memoised per process on the region table, the ICE efficiency path and the years (a pure
        function of immutable inputs, like China's standards; built with the deterministic
        parameter values, as China's are).
        """
        return _region_standards(self.spec.model_dump_json(), float(ice_improvement), int(years[0]), int(years[-1]))

    def _build_standards(self, years: np.ndarray, ice_improvement: float
                         ) -> tuple[tuple[Any, ...], tuple[Any, ...], np.ndarray]:
        from nevsim.simulate import _coefficients, _vehicle_table
        from nevsim.technology import POWERTRAINS, vehicle_attributes

        coef, params = _coefficients(1)
        _, params, table = self.adapt(coef, params, _vehicle_table())
        policy = self.policy(table.curb_mass_kg)
        zev, eff, co2 = [], [], []
        for year in years:  # preparation, once per run
            veh = vehicle_attributes(
                table, int(year), np.ones(1), retail_price_equivalent=params["retail_price_equivalent"],
                ev_drivetrain_decline_pct_per_yr=params["ev_drivetrain_cost_decline_pct_per_yr"],
                ice_fuel_improvement_pct_per_yr=ice_improvement,
                ice_cost_per_l_per_100km_cny=params["ice_cost_per_l_per_100km_cny"],
            )
            fuel = np.where(np.isfinite(veh.fuel_l_per_100km[0]), veh.fuel_l_per_100km[0], 0.0)
            phev = np.arange(fuel.shape[-1]) == POWERTRAINS.index("PHEV")  # (PHEVs at their type-approval CO2)
            co2.append(fuel * CO2_G_PER_KM_PER_L_PER_100KM * np.where(phev, policy.phev_co2_factor(int(year)), 1.0))
            vehicles = policy.vehicles(veh, int(year))
            zev.append(policy.standard("zev", int(year), vehicles))
            eff.append(policy.standard("efficiency", int(year), vehicles))
        return tuple(zev), tuple(eff), np.array(co2)

    def cap(self, name: str, std: Any) -> float:
        """Price cap of a standard in the region's currency (its fine, else the scenario's cap)."""
        caps = self.spec.price_cap_per_credit
        if name in caps:
            return float(caps[name])
        if std.price_cap is None:
            raise InputError("region.price_cap_per_credit", f"{name} sets no fine per credit: give a price cap "
                             f"for it (region currency per {std.credit_unit})", allowed=[f"{name} = <number>"])
        return float(std.price_cap) * self.policy_money(std.currency)

    # ---- results
    def units(self) -> dict[str, str]:
        """Units of the region's series variables (currency-dependent ones relabelled)."""
        c = self.spec.currency
        out = {"Subsidy|Public Cost": f"billion {c}", "Price|Car|BEV compact": c, "Price|Car|ICE compact": c,
               "Emissions|CO2|New Cars": "g CO2/km"}
        for label in SLOT_LABEL.values():
            out[f"Price|Credit|{label}"] = f"{c}/credit"
            out[f"Credits|{label}|Shortfall"] = "credits"
            out[f"Credits|{label}|Banked"] = "credits"
            out[f"Sales Share|Cars|EV|{label} Area"] = "%"
        return out

    def market_state(self, draws: int, beta_price: np.ndarray, zev: tuple[Any, ...], eff: tuple[Any, ...],
                     co2: np.ndarray) -> MarketState:
        return MarketState(self, draws, beta_price, zev, eff, co2)


class RegionPolicy:
    """Purchase incentive and fleet standards of a region, from :mod:`nevsim.policy` by name.

    Same interface as ``nevsim.simulate._ChinaPolicy`` where the yearly loop calls it
    (``subsidy_cny`` and ``tax_cny`` return amounts in the *region's* currency; the names are
    the loop's). No purchase tax differs by powertrain (sales taxes and VAT fall on every car
    alike, so they do not move the choice; national EU bonuses are not modelled).
    """

    def __init__(self, region: Region, curb_mass_kg: np.ndarray | None = None) -> None:
        self.region = region
        self.spec = region.spec
        self.curb_mass_kg = curb_mass_kg

    def vehicles(self, veh: Any, year: int) -> Any:
        """Policy view of the vehicles (``[segment, powertrain]``); CO2 from fuel (NEDC years ÷ 1.1).

        Under the EU CO2 standard a PHEV counts at its type-approval CO2: the charge-sustaining
        value × (1 − UF) at the region's ``phev_type_approval_range_km`` (EU: 61 km, EEA 2022;
        :func:`nevsim.policy.eu.wltp_utility_factor`). Before 2026-12-01 every PHEV counted at its
        charge-sustaining CO2 (≈ 106 g/km in 2025, above the 93.6 target), so the EU market was
        short in 2020–25 and cleared at the €95 cap, where all makers met their targets (EEA/ICCT).
        Elsewhere (US GHG) PHEVs still count at their charge-sustaining CO2 (U).
        """
        from nevsim.policy.vehicles import VehicleArrays
        from nevsim.technology import POWERTRAINS

        pt = np.broadcast_to(np.array(POWERTRAINS), veh.price_cny.shape[1:])
        fuel = veh.fuel_l_per_100km[0]
        if year <= self.spec.nedc_until:
            fuel = fuel / WLTC_PER_NEDC
        co2 = np.where(np.isfinite(fuel), fuel * CO2_G_PER_KM_PER_L_PER_100KM, 0.0)
        co2 = np.where(pt == "PHEV", self.phev_co2_factor(year) * co2, co2)
        return VehicleArrays(
            powertrain=pt, range_km=veh.range_km[0], energy_kwh_per_100km=veh.energy_kwh_per_100km[0],
            fuel_l_per_100km=fuel, curb_mass_kg=self.curb_mass_kg if self.curb_mass_kg is not None else 1500.0,
            co2_g_per_km=co2,
        )

    def phev_co2_factor(self, year: int) -> float:
        """Type-approval ÷ charge-sustaining CO2 of a PHEV: ``1 − UF`` at ``phev_type_approval_range_km`` under
        the EU CO2 standard (:func:`nevsim.policy.eu.wltp_utility_factor`), else 1."""
        if self.spec.phev_type_approval_range_km is None or "EU-CO2" not in self.spec.policies:
            return 1.0
        from nevsim.policy.eu import wltp_utility_factor

        try:
            return 1.0 - float(wltp_utility_factor(self.spec.phev_type_approval_range_km, year))
        except InputError:  # before the policy table's first year (no EU standard then either)
            return 1.0

    def standard(self, slot: str, year: int, vehicles: Any) -> Any | None:
        """The year's standard in ``slot`` ("zev" or "efficiency"), or None (none named, or before its first year)."""
        from nevsim.policy import eu, us

        names = [p for p in self.spec.policies if POLICY_SLOTS[p] == slot]
        if not names:
            return None
        name = names[0]
        try:
            if name == "US-ACC2":
                return us.acc2_standard(year, vehicles, extend="hold")
            if name == "US-GHG":
                return us.ghg_standard(year, vehicles, fleet="total", extend="hold")
            if name == "EU-CO2":
                return eu.co2_standard(year, vehicles, extend="hold")
        except InputError:  # before the first year the policy tables cover
            return None
        raise AssertionError(name)  # pragma: no cover - POLICY_SLOTS lists every name

    def subsidy_cny(self, year: int, veh: Any, any_subsidy: bool = True) -> np.ndarray:
        """Purchase incentive per vehicle in the region's currency: the named one (``US-30D``: the 30D
        credit) plus the scenario's ``purchase_incentive`` averages of the year."""
        extra = self._unnamed_incentive(year)
        named = self._named_incentive(year, veh)
        return named if extra is None else named + extra

    def _unnamed_incentive(self, year: int) -> np.ndarray | None:
        """``[powertrain]`` amounts of ``region.purchase_incentive`` in ``year``, or None if all are 0."""
        from nevsim.technology import POWERTRAINS

        inc = self.spec.purchase_incentive
        out = np.array([inc.amount(p, year) for p in POWERTRAINS])
        return out if out.any() else None

    def _named_incentive(self, year: int, veh: Any) -> np.ndarray:
        if "US-30D" not in self.spec.policies:
            return np.zeros_like(veh.price_cny)
        from nevsim.policy import us
        from nevsim.technology import POWERTRAINS, SEGMENTS

        to_usd = 1.0 / self.region.policy_money("USD")
        price_usd = veh.price_cny * to_usd
        pt = np.broadcast_to(np.array(POWERTRAINS), price_usd.shape)
        kwh = veh.battery_kwh
        car = us.ev_tax_credit_usd(year, pt, price_usd, battery_kwh=kwh, body="car")
        if not car.any() and year >= 2026:
            return car
        other = us.ev_tax_credit_usd(year, pt, price_usd, battery_kwh=kwh, body="other")
        large = (np.array(SEGMENTS) == "large")[None, :, None]  # SUVs/pickups: the $80,000 MSRP cap
        return np.where(large, other, car) / to_usd

    def tax_cny(self, year: int, veh: Any, subsidy: np.ndarray | float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        zeros = np.zeros_like(veh.price_cny)  # no purchase tax modelled outside China
        return zeros, zeros

    #: no trade-in scheme is modelled outside China (the loop then records no ``Trade-in|Public Cost``)
    has_trade_in = False

    def trade_in_cny(self, year: int, veh: Any) -> float:
        return 0.0


# ----------------------------------------------------------------------------- clearing


@dataclass
class PricedStandard:
    """One standard's market arrays in one year (``[draw, segment, powertrain]`` unless noted)."""

    name: str
    slot: str
    net: np.ndarray  # credits per vehicle (earned − required), [1|draw, S, P]
    slope: np.ndarray  # utility per unit price (region currency per credit)
    cap: np.ndarray  # [draw]
    bank: np.ndarray  # [draw] credits carried in
    covered: float  # share of the market the standard covers
    required_scale: np.ndarray  # [draw], for the tolerance


@dataclass
class Clearing:
    """Result of :func:`clear_standards`."""

    prices: np.ndarray  # [standard, draw]
    shares: np.ndarray  # national shares [draw, S, P]
    covered_shares: np.ndarray  # shares where every standard applies [draw, S, P]
    excess: np.ndarray  # [standard, draw]
    at_cap: np.ndarray  # [standard, draw] bool
    converged: bool
    sweeps: int
    iterations: int


def _bracket_root(f: Any, cap: np.ndarray, tol: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """π ∈ [0, cap] per draw with f(π) ≥ 0 and π·f(π) = 0 for increasing f (Illinois regula falsi).

    Returns (π, iterations, converged).
    """
    zero = np.zeros_like(cap)
    f0 = f(zero)
    long = f0 >= -tol
    if long.all():
        return zero, 0, np.ones(cap.shape, dtype=bool)
    fc = f(cap)
    at_cap = ~long & (fc < -tol)
    need = ~long & ~at_cap
    x = np.where(at_cap, cap, 0.0)
    if not need.any():
        return x, 0, np.ones(cap.shape, dtype=bool)
    lo, hi, flo, fhi = zero.copy(), cap.copy(), f0.copy(), fc.copy()
    side = np.zeros(cap.shape)
    done = ~need
    ptol = 1e-10 * np.maximum(cap, 1.0)
    it = 0
    for it in range(1, MAX_ITER + 1):  # noqa: B007 - count kept for the report
        with np.errstate(divide="ignore", invalid="ignore"):
            guess = lo - flo * (hi - lo) / (fhi - flo)
        bad = ~np.isfinite(guess) | (guess <= lo) | (guess >= hi)
        guess = np.where(bad, 0.5 * (lo + hi), guess)
        xn = np.where(done, x, guess)
        fx = f(xn)
        x = xn
        ok = np.abs(fx) <= tol
        neg = fx < 0
        # Illinois: halve the retained end's value when the same side is kept twice
        lo_new, flo_new = np.where(neg, x, lo), np.where(neg, fx, flo)
        hi_new, fhi_new = np.where(neg, hi, x), np.where(neg, fhi, fx)
        fhi_new = np.where(neg & (side == -1), 0.5 * fhi_new, fhi_new)
        flo_new = np.where(~neg & (side == 1), 0.5 * flo_new, flo_new)
        side = np.where(neg, -1, 1)
        lo, hi, flo, fhi = (np.where(done, a, b) for a, b in ((lo, lo_new), (hi, hi_new), (flo, flo_new),
                                                               (fhi, fhi_new)))
        done = done | ok | ((hi - lo) <= ptol)
        if done.all():
            break
    return x, it, done


def clear_standards(u: np.ndarray, lam: np.ndarray, segment_sales: np.ndarray, standards: list[PricedStandard],
                    start: np.ndarray | None = None) -> Clearing:
    """Prices of every standard at once (Gauss–Seidel over standards; module docstring).

    ``u`` utilities ``[draw, S, P]`` without any credit term; ``segment_sales`` ``[draw, S]``.
    At most one standard may cover part of the market (``covered < 1``).
    """
    from nevsim.makers import RescaledNestedLogit

    logit = RescaledNestedLogit(u, lam)
    D = u.shape[0]
    K = len(standards)
    if K == 0:
        sh = logit.shares()[0]
        return Clearing(np.zeros((0, D)), sh, sh, np.zeros((0, D)), np.zeros((0, D), bool), True, 0, 0)
    partial = [k for k, s in enumerate(standards) if s.covered < 1.0]
    if len(partial) > 1:
        raise InputError("region.policies", "at most one standard may cover part of the market")
    c = standards[partial[0]].covered if partial else 1.0
    prices = np.zeros((K, D)) if start is None else np.array(start, dtype=float).reshape(K, D)

    def area_shares(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        nat = sum((standards[k].slope * p[k][:, None, None] for k in range(K) if k not in partial),
                  np.zeros_like(u))
        unc = logit.shares(nat)[0]
        if not partial:
            return unc, unc
        j = partial[0]
        cov = logit.shares(nat + standards[j].slope * p[j][:, None, None])[0]
        return cov, c * cov + (1.0 - c) * unc

    def excess(k: int, p: np.ndarray) -> np.ndarray:
        cov, nat = area_shares(p)
        s = standards[k]
        shares = c * cov if k in partial else nat
        return (segment_sales[..., None] * shares * s.net).sum((-1, -2)) + s.bank

    tols = [TOL_REL_EXCESS * (np.abs(s.required_scale) + 1.0) for s in standards]
    converged = True
    iterations = 0
    sweep = 0
    for sweep in range(1, MAX_SWEEPS + 1):  # noqa: B007 - count kept for the report
        before = prices.copy()
        ok_all = True
        for k, s in enumerate(standards):
            def f(x: np.ndarray, k: int = k) -> np.ndarray:
                p = prices.copy()
                p[k] = x
                return excess(k, p)

            prices[k], it, ok = _bracket_root(f, s.cap, tols[k])
            iterations = max(iterations, it)
            ok_all = ok_all and bool(ok.all())
        moved = np.abs(prices - before) <= 1e-9 * np.maximum(np.stack([s.cap for s in standards]), 1.0)
        if K == 1 or moved.all():
            converged = ok_all
            break
    else:
        converged = False
    cov, nat = area_shares(prices)
    ex = np.stack([excess(k, prices) for k in range(K)])
    at_cap = np.stack([(prices[k] >= s.cap) & (ex[k] < -tols[k]) for k, s in enumerate(standards)])
    return Clearing(prices, nat, cov, ex, at_cap, converged, sweep, iterations)


# ----------------------------------------------------------------------------- the yearly market


class MarketState:
    """Banks, prices and diagnostics of a region's standards across the years of one run."""

    def __init__(self, region: Region, draws: int, beta_price: np.ndarray, zev: tuple[Any, ...],
                 eff: tuple[Any, ...], co2: np.ndarray) -> None:
        self.region = region
        self.D = draws
        self.slope_per_net = -np.asarray(beta_price, dtype=float)[:, None, None] / 1e4 * region.spec.pass_through
        self.by_slot = {"zev": zev, "efficiency": eff}
        self.co2 = co2
        self.banks: dict[str, np.ndarray | None] = {"zev": None, "efficiency": None}
        self.last: dict[str, np.ndarray] = {}
        self.diag: dict[str, Any] = {"years_solved": 0, "max_sweeps": 0, "max_iterations": 0, "all_converged": True,
                                     "years_at_cap": {}, "standards": {}}
        self.year_standards: list[PricedStandard] = []
        self.clearing: Clearing | None = None
        self.prices = np.zeros((0, draws))

    def begin_year(self, ti: int, segment_sales: np.ndarray) -> None:
        """Set up this year's priced standards (prices start from last year's)."""
        stds: list[PricedStandard] = []
        for slot in ("zev", "efficiency"):
            sy = self.by_slot[slot][ti]
            if sy is None:
                continue
            earned = np.asarray(sy.earned_per_vehicle, float)[None]
            required = np.asarray(sy.required_per_vehicle, float)[None]
            net = earned - required
            bank = self.banks[slot]
            name = next(p for p in self.region.spec.policies if POLICY_SLOTS[p] == slot)
            cap = np.full(self.D, self.region.cap(name, sy))
            stds.append(PricedStandard(
                name=name, slot=slot, net=net, slope=self.slope_per_net * net, cap=cap,
                bank=np.zeros(self.D) if bank is None else bank.sum((-1, -2)),
                covered=float(sy.covered_share), required_scale=(segment_sales[..., None] * required).sum((-1, -2)),
            ))
        self.year_standards = stds
        self.segment_sales = segment_sales
        start = [self.last.get(s.slot, np.zeros(self.D)) for s in stds]
        self.prices = np.array(start).reshape(len(stds), self.D)
        self.clearing = None

    def shift(self) -> np.ndarray | float:
        """Utility shift of the current prices for the whole market (covered standards weighted by coverage)."""
        out: np.ndarray | float = 0.0
        for k, s in enumerate(self.year_standards):
            out = out + s.covered * s.slope * self.prices[k][:, None, None]
        return out

    def clear(self, u: np.ndarray, lam: np.ndarray) -> tuple[np.ndarray, bool]:
        """National shares at the clearing prices; whether the prices moved (for the fitting loop)."""
        before = self.prices.copy()
        sol = clear_standards(u, lam, self.segment_sales, self.year_standards, start=self.prices)
        self.clearing = sol
        self.prices = sol.prices
        moved = bool(np.any(np.abs(sol.prices - before) > 1e-6 + 1e-5 * np.abs(before)))
        return sol.shares, moved

    def account(self, t: int, year: int, sales: np.ndarray, by_maker: np.ndarray, trace: Any) -> None:
        """Per-maker accounting (``t`` indexes both the trace and the run's years) (:func:`nevsim.policy.standard.compliance`), trades, banks, records."""
        from nevsim.makers import settle_credit_trades
        from nevsim.policy.standard import _compliance_fast

        sol = self.clearing
        total = sales.sum((-1, -2))
        co2 = (sales * self.co2[t]).sum((-1, -2)) / np.maximum(total, 1e-300)
        trace.put("Emissions|CO2|New Cars", t, co2)
        recorded = set()
        for k, s in enumerate(self.year_standards):
            assert sol is not None
            label = SLOT_LABEL[s.slot]
            sy = self.by_slot[s.slot][t]
            if s.covered < 1.0:  # sales in the covered area, split among makers as nationally
                cov = s.covered * self.segment_sales[..., None] * sol.covered_shares
                ev_cov = cov[..., 2:].sum((-1, -2)) / np.maximum(cov.sum((-1, -2)), 1e-300)
                trace.put(f"Sales Share|Cars|EV|{label} Area", t, 100.0 * ev_cov)
                ratio = np.divide(cov, sales, out=np.zeros_like(cov), where=sales > 0)
                units = by_maker * ratio[:, None]
            else:
                units = by_maker
            # earned and required per maker; then own bank, trades and banking with banked credits
            # saleable, as the clearing counts them (clear_standards: excess + bank). US: banked GHG
            # credits may be traded (40 CFR 86.1865-12(k)), ACC II vehicle values likewise (U); EU:
            # pooling among makers stands for trading, and under the 2025–2027 averaging a surplus
            # kept for a later year of the period covers any pool member then (U)
            res = _compliance_fast(sy, units, None, 2)
            settled = settle_credit_trades(res.earned, res.required, self.banks[s.slot], sy.carry_forward_years,
                                           sy.carry_forward_fraction)
            bank = settled.bank_out
            self.banks[s.slot] = bank
            self.last[s.slot] = sol.prices[k]
            trace.put(f"Price|Credit|{label}", t, sol.prices[k])
            trace.put(f"Credits|{label}|Shortfall", t, settled.shortfall)
            trace.put(f"Credits|{label}|Banked", t, bank.sum((-1, -2)))
            trace.put_maker(f"Credits|{label}|Balance", t, settled.balance)
            trace.put_maker(f"Credits|{label}|Bought", t, settled.bought)
            trace.put_maker(f"Credits|{label}|Sold", t, settled.sold)
            recorded.add(s.slot)
            info = self.diag["standards"].setdefault(label, {"name": s.name, "credit_unit": sy.credit_unit,
                                                             "currency": self.region.spec.currency,
                                                             "first_year": year, "status": sy.status})
            info["last_year"] = year
            if sol.at_cap[k].any():
                self.diag["years_at_cap"].setdefault(label, []).append(year)
        named = {POLICY_SLOTS[p] for p in self.region.spec.policies}
        for slot, label in SLOT_LABEL.items():
            if slot not in recorded and slot in named:  # before the standard's first year: price 0
                trace.put(f"Price|Credit|{label}", t, np.zeros(self.D))
        if "zev" not in recorded and "zev" in named:
            # before the ZEV standard applies the area's share is the national one (same buyers)
            trace.put("Sales Share|Cars|EV|ZEV Area", t, 100.0 * sales[..., 2:].sum((-1, -2)) / np.maximum(total, 1e-300))
        if sol is not None and self.year_standards:
            self.diag["years_solved"] += 1
            self.diag["max_sweeps"] = max(self.diag["max_sweeps"], sol.sweeps)
            self.diag["max_iterations"] = max(self.diag["max_iterations"], sol.iterations)
            self.diag["all_converged"] = self.diag["all_converged"] and sol.converged


# ----------------------------------------------------------------------------- cached data


@functools.lru_cache(maxsize=16)
def _region_standards(spec_json: str, ice_improvement: float, first: int, last: int
                      ) -> tuple[tuple[Any, ...], tuple[Any, ...], np.ndarray]:
    region = Region(RegionSpec.model_validate_json(spec_json))
    zev, eff, co2 = region._build_standards(np.arange(first, last + 1), ice_improvement)
    co2.setflags(write=False)
    return zev, eff, co2


@functools.lru_cache(maxsize=16)
def _maker_arrays(name: str, first: int, last: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    from nevsim.makers import offer_matrix

    mk = load_makers(name)
    years = np.arange(first, last + 1)
    names = tuple(str(m) for m in mk["maker"])
    offer = offer_matrix(mk, years)
    conv = mk["conventional_share"].to_numpy(dtype=float)
    ev = mk["ev_share"].to_numpy(dtype=float)
    ev = np.where(ev > 0, ev, 1e-3 * max(ev.max(), 1e-3))
    for arr in (offer, conv, ev):
        arr.setflags(write=False)
    return names, offer, conv, ev


@functools.lru_cache(maxsize=16)
def _region_history(iea_name: str, first: int, last: int, until: int | None,
                    totals_path: tuple[tuple[str, float], ...], min_share_pct: float) -> Any:
    """History of a region (see :meth:`Region.history`); the same fields as China's.

    Total new-car sales = IEA EV sales ÷ EV share where the share is at least
    ``min_share_pct`` (two significant figures make smaller shares too coarse), else the
    scenario's ``history_total_car_sales_million`` path, else the nearest derived year held.
    Car battery demand: the IEA's where given, else BEV × 60 + PHEV × 18 kWh (U). No exports,
    no credit prices, no maker sales (the EV-market shares of the makers table are used).
    """
    from nevsim import data
    from nevsim.scenario import interpolate_path
    from nevsim.simulate import History, _battery_prices, _series

    years = np.arange(first, last + 1)
    try:
        iea = data.load("iea_gevo_2025", region=iea_name, until=until)
    except InputError as exc:
        raise InputError("region.iea_name", exc.message, exc.allowed) from None
    iea = iea[iea["category"] == "Historical"]
    cars = iea[iea["mode"] == "Cars"]

    def pick(param: str, powertrain: str | None = None) -> np.ndarray:
        sel = cars[cars["parameter"] == param]
        if powertrain is not None:
            sel = sel[sel["powertrain"] == powertrain]
        return _series(sel, years)

    share = pick("EV sales share") / 100.0
    bev, phev = pick("EV sales", "BEV"), pick("EV sales", "PHEV")
    with np.errstate(divide="ignore", invalid="ignore"):
        total = np.where(share * 100.0 >= max(min_share_pct, 1e-9), (bev + phev) / share, np.nan)
        bev_fraction = bev / (bev + phev)
    chargers = _series(iea[iea["parameter"] == "EV charging points"], years)
    chargers[chargers == 0] = np.nan
    car_battery = pick("Battery demand")
    est = (np.nan_to_num(bev) * EST_KWH_PER_BEV + np.nan_to_num(phev) * EST_KWH_PER_PHEV) / 1e6
    car_battery = np.where(np.isfinite(car_battery), car_battery, np.where(np.isfinite(bev), est, np.nan))
    world = data.load("iea_gevo_2025", region="World", until=until)
    world = world[(world["category"] == "Historical") & (world["parameter"] == "Battery demand")]
    world_battery = _series(world, years)
    sources = ["IEA (2025) Global EV Outlook 2025, CC BY 4.0"]
    try:
        o_share = _series(data.load("owid_electric_car_sales_share", region=iea_name, until=until), years) / 100.0
        o_sales = _series(data.load("owid_electric_car_sales", region=iea_name, until=until), years)
    except InputError:
        o_share = o_sales = np.full(years.shape, np.nan)
    extra = np.isnan(share) & np.isfinite(o_share) & np.isfinite(o_sales)
    if extra.any():
        sources.append("Our World in Data (IEA-based), electric car sales and share, CC BY 4.0")
        share = np.where(extra, o_share, share)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = np.where(extra & (o_share * 100.0 >= min_share_pct), o_sales / o_share, total)
        last_frac = bev_fraction[np.isfinite(bev_fraction)][-1] if np.isfinite(bev_fraction).any() else 0.5
        bev_fraction = np.where(extra, last_frac, bev_fraction)
    observed = np.flatnonzero(np.isfinite(share))
    if observed.size == 0:
        raise InputError("until", f"no observed {iea_name} EV sales share on or before the cutoff",
                         allowed=["≥ 2012"])
    last_share_year = int(years[observed[-1]])
    gap = np.isfinite(share) & ~np.isfinite(total)
    if gap.any():
        if totals_path:
            total = np.where(gap, interpolate_path(dict(totals_path), years) * 1e6, total)
        else:
            ok = np.isfinite(total)
            if not ok.any():
                raise InputError("region.history_total_car_sales_million",
                                 f"{iea_name}: EV shares too small to derive total sales; give the path",
                                 allowed=["{2010 = …, …}"])
            total = np.where(gap, np.interp(years, years[ok], total[ok]), total)
        sources.append("scenario [region] history_total_car_sales_million (years with small EV shares)")
    if np.isfinite(bev_fraction).any():  # years with sales but no split (EV sales 0): the first split
        first_frac = bev_fraction[np.isfinite(bev_fraction)][0]
        bev_fraction = np.where(np.isfinite(share) & ~np.isfinite(bev_fraction), first_frac, bev_fraction)
    battery = _battery_prices(years, until)
    nan = np.full(years.shape, np.nan)
    arrays = (share, bev_fraction, total, chargers, battery, world_battery, car_battery, nan)
    for arr in arrays:
        arr.setflags(write=False)
    exports = np.zeros(years.shape)
    exports.setflags(write=False)
    return History(
        years=years, ev_share=share, bev_fraction=bev_fraction, total_car_sales=total,
        bev_stock=pick("EV stock", "BEV"), phev_stock=pick("EV stock", "PHEV"), public_chargers=chargers,
        ev_exports=exports, battery_usd_per_kwh=battery, world_battery_gwh=world_battery,
        china_car_battery_gwh=car_battery, credit_price_cny=nan, last_share_year=last_share_year,
        maker_nev_sales={}, capacity={}, sources=tuple(sources),
    )
