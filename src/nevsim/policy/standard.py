"""One mechanism for every fleet standard (China NEV and CAFC, US GHG and ACC II, EU CO2).

A standard in a year is a :class:`StandardYear`: per vehicle sold it says how many credits
the vehicle earns and how many it requires, so that ``net = earned − required`` per vehicle,
and, per maker, ``balance = Σ_vehicles sales × net`` (+ banked credits). A market for the
credits clears from those arrays the same way for every standard; the penalty per credit
(``price_cap``) bounds the price where a penalty exists.

Units of credits by standard (see the builders):

=========  ======================================  =================================
name       credit                                  earned / required per vehicle
=========  ======================================  =================================
CN-NEV     NEV credit point                        NEV credits / ratio × base weight
CN-CAFC    L/100 km × vehicle (CAFC credit)        multiplier × target / fuel use
US-GHG     Mg CO2                                  target / actual g/mi × VMT / 1e6
US-ACC2    ZEV vehicle value                       1 per qualifying ZEV / requirement
EU-CO2     g/km × vehicle                          super-credit × target / CO2 g/km
=========  ======================================  =================================

Two standards average a ratio rather than sum (China CAFC: fuel / (Σ NEV multiplier × units);
EU: CO2 / (Σ super-credit × units)); for them ``weight_per_vehicle`` is set and
:func:`compliance` rescales each maker's sums by ``units / Σ(weight × units)`` so the balance
equals the regulation's ``(target − fleet average) × units`` exactly when the target is the
same for all the maker's vehicles. The per-vehicle arrays alone (what a linear credit market
uses) are then exact up to that maker-level factor (≤ 1), which never changes the sign.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from nevsim.errors import InputError

STANDARD_NAMES = ("CN-NEV", "CN-CAFC", "US-GHG", "US-ACC2", "EU-CO2")


@dataclass(frozen=True)
class StandardYear:
    """A fleet standard in one year, in per-vehicle form.

    Attributes
    ----------
    name, region, year: e.g. ``"CN-NEV", "CN", 2022``.
    credit_unit: what one credit is (see the module table).
    earned_per_vehicle, required_per_vehicle: credits per vehicle sold (vehicle-array shape).
    price_cap: penalty per credit of shortfall in ``currency``; None where no fine exists.
    currency: currency of ``price_cap``.
    carry_forward_fraction: share of a year's surplus that may be banked.
    carry_forward_years: how many years banked credits stay valid.
    offsets: standards whose deficit a surplus of this standard may offset (one way).
    min_obligated_volume: makers with fewer obligated units (``obligation_mask``) have no
        requirement (China NEV: 30,000 conventional PVs; EU: 1,000 registrations).
    sources: source keys of the parameters used.
    weight_per_vehicle: accounting multiplier for ratio standards (see module doc), or None.
    obligation_mask: vehicles counted for ``min_obligated_volume`` (None = all).
    exempt_earns: whether a maker below the threshold still earns credits (China NEV: yes).
    relief_count_per_vehicle, relief_benchmark, relief_max: EU ZLEV-style target relief:
        a maker's earned credits are scaled by ``1 + clip(share − benchmark, 0, max)`` where
        ``share = Σ units × count / Σ units``.
    capped_mask, capped_max_share: earned credits from these vehicles may cover at most this
        share of the requirement (ACC II PHEV limit).
    covered_share: share of the region's sales the standard covers (ACC II adopting states).
    status: the weakest status (U < S < D < V) among the parameters used.
    notes: caveats (placeholders used, rules not modelled).
    """

    name: str
    region: str
    year: int
    credit_unit: str
    earned_per_vehicle: np.ndarray
    required_per_vehicle: np.ndarray
    price_cap: float | None
    currency: str
    carry_forward_fraction: float
    carry_forward_years: int
    offsets: tuple[str, ...]
    min_obligated_volume: float
    sources: tuple[str, ...]
    weight_per_vehicle: np.ndarray | None = None
    obligation_mask: np.ndarray | None = None
    exempt_earns: bool = True
    relief_count_per_vehicle: np.ndarray | None = None
    relief_benchmark: float = 0.0
    relief_max: float = 0.0
    capped_mask: np.ndarray | None = None
    capped_max_share: float = 1.0
    covered_share: float = 1.0
    status: str = "V"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def net_per_vehicle(self) -> np.ndarray:
        """``earned_per_vehicle − required_per_vehicle``."""
        return self.earned_per_vehicle - self.required_per_vehicle

    def __repr__(self) -> str:
        cap = "none" if self.price_cap is None else f"{self.price_cap:g} {self.currency}"
        return (f"StandardYear({self.name} {self.year}: unit={self.credit_unit!r}, "
                f"shape={np.shape(self.earned_per_vehicle)}, price_cap={cap}, "
                f"bank={self.carry_forward_fraction:g}×{self.carry_forward_years}y, status={self.status})")


@dataclass(frozen=True)
class ComplianceResult:
    """Per-maker accounting of one standard in one year (arrays of shape ``(..., maker)``).

    ``balance = earned − required + bank_used`` (before trading); ``positive``/``negative``
    are the surplus and deficit parts of ``balance``; ``bank_out`` has shape
    ``(..., maker, carry_forward_years)`` (age 0 = credits banked this year, assuming no sale).
    """

    standard: str
    year: int
    credit_unit: str
    volume: np.ndarray
    obligated: np.ndarray
    earned: np.ndarray
    required: np.ndarray
    bank_used: np.ndarray
    balance: np.ndarray
    bank_out: np.ndarray
    expired: np.ndarray
    offset_in: np.ndarray
    offset_out: np.ndarray

    @property
    def net(self) -> np.ndarray:
        return self.earned - self.required

    @property
    def positive(self) -> np.ndarray:
        return np.maximum(self.balance, 0.0)

    @property
    def negative(self) -> np.ndarray:
        return np.maximum(-self.balance, 0.0)

    def to_frame(self, makers: list[str] | None = None) -> pd.DataFrame:
        """One row per maker (2-D results only: no leading draw axes)."""
        if self.balance.ndim != 1:
            raise InputError("to_frame", "only results with a single maker axis convert to a table.")
        n = self.balance.shape[0]
        makers = makers if makers is not None else [f"maker{i}" for i in range(n)]
        return pd.DataFrame({
            "maker": makers, "standard": self.standard, "year": self.year, "unit": self.credit_unit,
            "volume": self.volume, "obligated": self.obligated, "earned": self.earned,
            "required": self.required, "bank_used": self.bank_used, "offset_in": self.offset_in,
            "offset_out": self.offset_out, "balance": self.balance,
            "bankable": self.bank_out[..., 0] if self.bank_out.shape[-1] else 0.0,
        })


def _maker_totals(sales: np.ndarray, vnd: int) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """``Σ_v sales × per_vehicle`` per maker, for several per-vehicle arrays in one numpy pass.

    ``sales`` is ``(..., maker, *vshape)``; each per-vehicle array is ``(..., *vshape)`` with
    leading axes broadcasting against the leading axes of ``sales`` (before the maker axis).
    """
    axes = tuple(range(-vnd, 0))

    def totals(per_vehicle: list[np.ndarray]) -> list[np.ndarray]:
        pv = np.stack(np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in per_vehicle)))
        pv = np.expand_dims(pv, -(vnd + 1))  # (K, *lead, 1, *vshape)
        n = max(sales.ndim, pv.ndim - 1)
        pv = pv.reshape(pv.shape[0], *(1,) * (n + 1 - pv.ndim), *pv.shape[1:])
        s = sales.reshape(*(1,) * (n - sales.ndim), *sales.shape)
        return list(np.sum(s[None] * pv, axis=axes))

    return totals


def compliance(standard_year: StandardYear, sales_by_maker: np.ndarray, bank_in: np.ndarray | None = None,
               *, carry_forward_allowed: np.ndarray | bool = True,
               vehicle_ndim: int | None = None) -> ComplianceResult:
    """Account a standard per maker: earned, required, banking and balance.

    Parameters
    ----------
    standard_year: the standard (per-vehicle arrays of shape ``vshape``).
    sales_by_maker: units sold, shape ``(..., maker, *vshape[-vehicle_ndim:])``.
    bank_in: banked credits per maker, shape ``(..., maker)`` (all fresh) or
        ``(..., maker, age)`` with age 0 = banked last year; used oldest first to cover a deficit.
    carry_forward_allowed: per-maker condition for banking a surplus (China NEV: the CAFC
        condition of Order 53).
    vehicle_ndim: how many trailing axes of the vehicle arrays are vehicles (default all);
        leading axes (e.g. draws) broadcast with the leading axes of ``sales_by_maker``.

    Equations: ``earned_m = Σ_v s_mv e_v``, ``required_m = Σ_v s_mv r_v``; for ratio standards
    both × ``Σ_v s_mv / Σ_v s_mv w_v``; makers below ``min_obligated_volume`` have
    ``required = 0``; ``balance = earned − required + bank_used``.
    """
    std = standard_year
    earned_v = np.asarray(std.earned_per_vehicle, dtype=float)
    vnd = earned_v.ndim if vehicle_ndim is None else int(vehicle_ndim)
    if vnd > earned_v.ndim:
        raise InputError("vehicle_ndim", f"at most {earned_v.ndim} for this standard.")
    sales = np.asarray(sales_by_maker, dtype=float)
    if sales.ndim < vnd + 1:
        raise InputError("sales_by_maker", f"needs a maker axis before {vnd} vehicle axes; "
                         f"got shape {sales.shape}.")
    vshape = earned_v.shape[earned_v.ndim - vnd:]
    if sales.shape[sales.ndim - vnd:] != vshape:
        raise InputError("sales_by_maker", f"trailing axes {sales.shape[sales.ndim - vnd:]} do not match "
                         f"the vehicle arrays {vshape}.")
    if np.any(sales < 0) or not np.all(np.isfinite(sales)):
        raise InputError("sales_by_maker", "units sold must be finite and non-negative.")
    if bank_in is not None and np.any(np.asarray(bank_in, dtype=float) < 0):
        raise InputError("bank_in", "banked credits must be non-negative.")
    volume = np.sum(sales, axis=tuple(range(-vnd, 0)))
    sums = _maker_totals(sales, vnd)(_per_vehicle_terms(std, vshape))
    return _account(std, volume, sums, bank_in, carry_forward_allowed)


@dataclass(frozen=True)
class _PreparedStandard:
    """A standard's per-vehicle terms stacked as a matrix ``[term, vehicle]`` (see :func:`_prepare`)."""

    standard: StandardYear
    vehicle_ndim: int
    matrix: np.ndarray  # [vehicle, term]


def _prepare(std: StandardYear, vehicle_ndim: int) -> _PreparedStandard | None:
    """Precompute the per-vehicle terms of ``std`` for :func:`_compliance_fast` (None if they vary by draw)."""
    earned = np.asarray(std.earned_per_vehicle, dtype=float)
    vnd = int(vehicle_ndim)
    vshape = earned.shape[earned.ndim - vnd:]
    terms = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in _per_vehicle_terms(std, vshape)))
    if terms[0].ndim != vnd:  # leading (draw) axes on the vehicle arrays: use the general path
        return None
    matrix = np.stack([a.reshape(-1) for a in terms], axis=-1)
    matrix.setflags(write=False)
    return _PreparedStandard(std, vnd, matrix)


def _compliance_fast(std: StandardYear | _PreparedStandard, sales: np.ndarray, bank_in: np.ndarray | None,
                     vehicle_ndim: int, carry_forward_allowed: np.ndarray | bool = True) -> ComplianceResult:
    """:func:`compliance` without input validation (internal fast path for the simulation loop).

    The caller guarantees float ``sales`` of shape ``(..., maker, *vshape)`` that are finite
    and non-negative, a non-negative ``bank_in`` and ``vehicle_ndim`` ≤ the vehicle arrays' ndim.
    ``std`` may be a :class:`_PreparedStandard` (per-vehicle terms as one matrix: the per-maker
    sums are one matrix product).
    """
    vnd = int(vehicle_ndim)
    if isinstance(std, _PreparedStandard):
        return _compliance_prepared((std,), sales, (bank_in,), vnd, carry_forward_allowed)[0]
    eshape = np.shape(std.earned_per_vehicle)
    vshape = eshape[len(eshape) - vnd:]
    volume = np.sum(sales, axis=tuple(range(-vnd, 0)))
    sums = _maker_totals(sales, vnd)(_per_vehicle_terms(std, vshape))
    return _account(std, volume, sums, bank_in, carry_forward_allowed)


def _compliance_prepared(stds: tuple[_PreparedStandard, ...], sales: np.ndarray,
                         banks_in: tuple[np.ndarray | None, ...], vehicle_ndim: int,
                         carry_forward_allowed: np.ndarray | bool = True) -> list[ComplianceResult]:
    """:func:`_compliance_fast` of several prepared standards on the same sales (one pass over them).

    The per-maker sums of every standard's terms and the volume ``Σ_v s_mv`` are one matrix
    product ``sales[..., maker, vehicle] @ [M_1 | M_2 | … | 1]``; each standard is then accounted
    with its own bank (:func:`_account`).
    """
    lead = sales.shape[: sales.ndim - int(vehicle_ndim)]
    flat = sales.reshape(*lead, -1)
    ones = np.ones((flat.shape[-1], 1))
    prod = flat @ np.concatenate([*(s.matrix for s in stds), ones], axis=-1)  # (..., maker, terms + 1)
    volume = prod[..., -1]
    out, k = [], 0
    for std, bank_in in zip(stds, banks_in, strict=True):
        n = std.matrix.shape[-1]
        sums = [prod[..., j] for j in range(k, k + n)]
        k += n
        out.append(_account(std.standard, volume, sums, bank_in, carry_forward_allowed))
    return out


def compliance_records(standard_year: StandardYear, units: np.ndarray, maker_index: np.ndarray,
                       n_makers: int | None = None, bank_in: np.ndarray | None = None, *,
                       carry_forward_allowed: np.ndarray | bool = True) -> ComplianceResult:
    """:func:`compliance` for vehicle records (each record belongs to one maker).

    ``units`` and ``maker_index`` have the vehicle arrays' (flattened) shape; sums per maker
    use ``np.bincount`` (O(records)), so a million model-level records account in milliseconds.
    """
    std = standard_year
    earned_v = np.asarray(std.earned_per_vehicle, dtype=float).ravel()
    u = np.asarray(units, dtype=float).ravel()
    idx = np.asarray(maker_index).ravel()
    if u.shape != earned_v.shape or idx.shape != earned_v.shape:
        raise InputError("units", f"units and maker_index need {earned_v.size} entries (one per vehicle).")
    if np.any(u < 0) or not np.all(np.isfinite(u)):
        raise InputError("units", "units sold must be finite and non-negative.")
    if idx.size and (idx.min() < 0 or not np.issubdtype(idx.dtype, np.integer)):
        raise InputError("maker_index", "must be non-negative integers.")
    m = int(n_makers) if n_makers is not None else (int(idx.max()) + 1 if idx.size else 0)
    if idx.size and idx.max() >= m:
        raise InputError("maker_index", f"values must be < n_makers ({m}).")
    if bank_in is not None and np.any(np.asarray(bank_in, dtype=float) < 0):
        raise InputError("bank_in", "banked credits must be non-negative.")
    vshape = np.shape(std.earned_per_vehicle)
    sums = [np.bincount(idx, weights=u * np.broadcast_to(np.asarray(a, dtype=float), vshape).ravel(), minlength=m)
            for a in _per_vehicle_terms(std, vshape)]
    return _account(std, np.bincount(idx, weights=u, minlength=m), sums, bank_in, carry_forward_allowed)


def _per_vehicle_terms(std: StandardYear, vshape: tuple[int, ...]) -> list[np.ndarray]:
    """The per-vehicle arrays whose per-maker sums :func:`_account` needs, in its order.

    earned, required, then (if used) earned from capped vehicles, relief counts, ratio weights,
    the obligation mask.
    """
    earned_v = np.asarray(std.earned_per_vehicle, dtype=float)
    terms: list[np.ndarray] = [earned_v, np.asarray(std.required_per_vehicle, dtype=float)]
    if std.capped_mask is not None:
        terms.append(np.where(std.capped_mask, earned_v, 0.0))
    if std.relief_count_per_vehicle is not None and std.relief_max > 0:
        terms.append(np.asarray(std.relief_count_per_vehicle, dtype=float))
    if std.weight_per_vehicle is not None:
        terms.append(np.asarray(std.weight_per_vehicle, dtype=float))
    if std.min_obligated_volume > 0:
        terms.append(np.ones(vshape) if std.obligation_mask is None else np.asarray(std.obligation_mask, float))
    return terms


def _account(std: StandardYear, volume: np.ndarray, sums: list[np.ndarray], bank_in: np.ndarray | None,
             carry_forward_allowed: np.ndarray | bool) -> ComplianceResult:
    """Shared tail of the accounting: caps, relief, weights, threshold, banking.

    ``sums`` are the per-maker sums ``Σ_v sales × term`` of :func:`_per_vehicle_terms` (same
    order). ``bank_in`` is assumed non-negative (checked by the public callers).
    """
    earned, required = sums[0], sums[1]
    k = 2
    if std.capped_mask is not None:
        capped = sums[k]
        k += 1
        earned = earned - capped + np.minimum(capped, std.capped_max_share * required)
    if std.relief_count_per_vehicle is not None and std.relief_max > 0:
        share = np.divide(sums[k], volume, out=np.zeros_like(volume), where=volume > 0)
        k += 1
        earned = earned * (1.0 + np.clip(share - std.relief_benchmark, 0.0, std.relief_max))
    if std.weight_per_vehicle is not None:
        weighted = sums[k]
        k += 1
        scale = np.divide(volume, weighted, out=np.zeros(volume.shape), where=weighted > 0)
        earned, required = earned * scale, required * scale
    if std.min_obligated_volume > 0:
        obligated = sums[k] >= std.min_obligated_volume
        required = np.where(obligated, required, 0.0)
        if not std.exempt_earns:
            earned = np.where(obligated, earned, 0.0)
    else:
        obligated = np.ones(volume.shape, dtype=bool)

    life = max(int(std.carry_forward_years), 0)
    net = earned - required
    deficit = np.maximum(-net, 0.0)
    if bank_in is None:
        bank = np.zeros((*net.shape, life))
        remaining = deficit
    else:
        b = np.asarray(bank_in, dtype=float)
        if b.shape == net.shape or b.ndim == net.ndim:
            b = np.broadcast_to(b, net.shape)[..., None]
        bank = np.zeros((*net.shape, max(life, b.shape[-1])))
        bank[..., : b.shape[-1]] = b
        remaining = deficit
        for age in range(bank.shape[-1] - 1, -1, -1):  # oldest first
            take = np.minimum(bank[..., age], remaining)
            bank[..., age] -= take
            remaining = remaining - take
    bank_used = deficit - remaining
    balance = net + bank_used
    # Age the unused bank one year; credits older than the life expire.
    bank_out = np.zeros((*net.shape, life))
    if life and bank.shape[-1] == life:
        expired = bank[..., life - 1].copy()  # the oldest age alone
    else:
        expired = bank[..., max(life - 1, 0):].sum(axis=-1) if life else bank.sum(axis=-1)
    if life > 1:
        bank_out[..., 1:] = bank[..., : life - 1]
    if life:
        surplus = std.carry_forward_fraction * np.maximum(balance, 0.0)
        if carry_forward_allowed is True:
            bank_out[..., 0] = surplus
        else:
            allowed = np.broadcast_to(np.asarray(carry_forward_allowed, dtype=bool), net.shape)
            bank_out[..., 0] = np.where(allowed, surplus, 0.0)
    zeros = np.zeros(balance.shape)
    return ComplianceResult(std.name, std.year, std.credit_unit, volume, obligated, earned, required,
                            bank_used, balance, bank_out, expired, zeros, zeros.copy())


def apply_offset(source_std: StandardYear, source: ComplianceResult, target_std: StandardYear,
                 target: ComplianceResult, *, rate: float = 1.0) -> tuple[ComplianceResult, ComplianceResult]:
    """Use each maker's surplus under ``source`` to cover its deficit under ``target``.

    Allowed only if ``target_std.name in source_std.offsets`` (China: NEV → CAFC, never the
    reverse). ``rate`` target credits are covered per source credit (1 in China). Returns
    the two results with ``balance``, ``offset_out`` (source) and ``offset_in`` (target)
    updated; the source's bankable surplus shrinks accordingly.
    """
    if target_std.name not in source_std.offsets:
        raise InputError("offset", f"a {source_std.name} surplus may not offset a {target_std.name} "
                         "deficit.", [f"{source_std.name} → {t}" for t in source_std.offsets] or ["none"])
    if rate <= 0:
        raise InputError("rate", "must be positive.")
    usable = np.maximum(source.balance, 0.0) * rate
    used_target = np.minimum(usable, np.maximum(-target.balance, 0.0))
    used_source = used_target / rate
    new_source_balance = source.balance - used_source
    bank_out = source.bank_out.copy()
    if bank_out.shape[-1]:
        frac = np.divide(np.maximum(new_source_balance, 0.0), np.maximum(source.balance, 0.0),
                         out=np.zeros(new_source_balance.shape), where=source.balance > 0)
        bank_out[..., 0] = bank_out[..., 0] * frac
    src = ComplianceResult(**{**source.__dict__, "balance": new_source_balance, "bank_out": bank_out,
                              "offset_out": source.offset_out + used_source})
    tgt = ComplianceResult(**{**target.__dict__, "balance": target.balance + used_target,
                              "offset_in": target.offset_in + used_target})
    return src, tgt
