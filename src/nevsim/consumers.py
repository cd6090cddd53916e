"""Buyers: a nested logit over powertrains in each segment, vectorised over draws.

Arrays are ``[draw, segment, powertrain]`` with powertrains ``ICE, HEV, PHEV, BEV`` and two
nests: conventional {ICE, HEV} and plug-in {PHEV, BEV}.

Systematic utility of powertrain *p* (design §3.2)::

    V = ASC_p + β_price·net_price/10⁴ + β_opex·PV(running cost)/10⁴
        + β_range·max(0, R_ref − range)/100                       (BEV only)
        + β_charge·w_p·ln(public chargers per car in stock)        (BEV w=1, PHEV w=½)
        + β_choice·ln(models on offer)
        + β_plate·(plate-restricted sales share)                   (plug-ins only)
        + κ·ln(plug-in stock share)                                (plug-ins only)

Nested-logit shares (McFadden 1978; nest scale λ_k ∈ (0, 1])::

    P(p) = P(k)·P(p|k),   P(p|k) = exp(V_p/λ_k) / Σ_{q∈k} exp(V_q/λ_k)
    P(k) = exp(λ_k·I_k) / Σ_l exp(λ_l·I_l),   I_k = ln Σ_{q∈k} exp(V_q/λ_k)

The charging term measures network *coverage*: public chargers per car in the whole stock
(end of the previous year). Li, Tong, Xing & Zhou (2017, JAERE 4(1):89–133), the source of
β_charge, estimate EV demand on the *number* of charging stations; chargers per EV would
fall as the EV fleet outgrows the chargers and so penalise diffusion itself
(docs/research/backtest-diagnosis.md §1). With a fixed car stock, doubling the chargers
adds β_charge·w_p·ln 2.

Coefficients and sources: ``nevsim/assumptions/coefficients.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _nz(x: np.ndarray | float, fill: float = 0.0) -> np.ndarray:
    """NaN → ``fill`` (a cheaper ``np.nan_to_num`` for the hot path)."""
    x = np.asarray(x, dtype=float)
    return np.where(np.isnan(x), fill, x)

__all__ = [
    "NEST_OF",
    "Coefficients",
    "nested_logit_shares",
    "running_cost_pv_cny",
    "share_derivative",
    "systematic_utility",
]

NEST_OF = np.array([0, 0, 1, 1])  # ICE, HEV → conventional (0); PHEV, BEV → plug-in (1)
PLUGIN = np.array([False, False, True, True])
_NEG_INF = -np.inf


@dataclass(frozen=True)
class Coefficients:
    """Utility coefficients, each an array ``[draw]`` (a deterministic run has one draw)."""

    beta_price: np.ndarray  # utility per 10,000 CNY
    beta_opex: np.ndarray  # utility per 10,000 CNY of PV running cost
    opex_horizon_years: np.ndarray
    opex_discount_rate: np.ndarray
    beta_range: np.ndarray  # utility per 100 km below range_reference_km
    range_reference_km: np.ndarray
    beta_charge: np.ndarray
    phev_charge_weight: np.ndarray
    beta_choice: np.ndarray
    beta_plate: np.ndarray
    nest_lambda: np.ndarray  # [draw, nest]
    kappa: np.ndarray  # familiarity, utility per unit ln(plug-in stock share)

    @property
    def draws(self) -> int:
        return int(self.beta_price.shape[0])


def running_cost_pv_cny(
    fuel_l_per_100km: np.ndarray,
    energy_kwh_per_100km: np.ndarray,
    electric_km_share: np.ndarray,
    gasoline_cny_per_l: np.ndarray,
    electricity_cny_per_kwh: np.ndarray,
    vkt_km_per_year: np.ndarray,
    horizon_years: np.ndarray,
    discount_rate: np.ndarray,
) -> np.ndarray:
    """Present value of the buyer's running cost over the horizon (CNY).

    ``annual = vkt/100 · (fuel·(1 − e)·p_gas + energy·e·p_elec)``, ``PV = annual · (1 − (1+r)^−H)/r``
    with ``e`` the electric share of km. Energy prices and scalars are ``[draw]``; vehicle
    arrays ``[draw, segment, powertrain]``. More leading axes are allowed: prices and scalars
    ``[*lead]`` with vehicle arrays ``[*lead, segment, powertrain]`` (or broadcastable to it,
    e.g. ``[year, 1, segment, powertrain]`` for vehicles the same in every draw).
    """
    col = lambda a: np.asarray(a, dtype=float)[..., None, None]  # noqa: E731
    fuel = _nz(fuel_l_per_100km) * (1.0 - electric_km_share)
    elec = _nz(energy_kwh_per_100km) * electric_km_share
    annual = col(vkt_km_per_year) / 100.0 * (fuel * col(gasoline_cny_per_l) + elec * col(electricity_cny_per_kwh))
    r = col(discount_rate)
    annuity = (1.0 - (1.0 + r) ** (-col(horizon_years))) / r
    return annual * annuity


def systematic_utility(
    coef: Coefficients,
    asc: np.ndarray,
    net_price_cny: np.ndarray,
    running_pv_cny: np.ndarray,
    range_km: np.ndarray,
    ln_public_chargers_per_car: np.ndarray,
    ln_models_on_offer: np.ndarray,
    plate_share: np.ndarray,
    phev_plate: np.ndarray,
    ln_plugin_stock_share: np.ndarray,
) -> np.ndarray:
    """Utility ``[draw, segment, powertrain]`` (equation in the module docstring).

    ``asc`` is ``[draw, powertrain]`` (or broadcastable to the full shape);
    ``ln_public_chargers_per_car`` (ln of public chargers per car in stock), ``plate_share`` (fraction), ``phev_plate`` (0/1) and
    ``ln_plugin_stock_share`` are ``[draw]``; ``ln_models_on_offer`` is ``[draw, powertrain]``.
    """
    col = lambda a: np.asarray(a, dtype=float).reshape(-1, 1, 1)  # noqa: E731
    vec = lambda a: np.asarray(a, dtype=float).reshape(-1, 1)  # noqa: E731
    asc = np.asarray(asc, dtype=float)
    if asc.ndim == 2:
        asc = asc[:, None, :]
    v = asc + col(coef.beta_price) * net_price_cny / 1e4 + col(coef.beta_opex) * running_pv_cny / 1e4
    # The terms below touch only some powertrains; they are added column by column in the
    # order of the equation (adding them as full arrays with zero weights gives the same
    # numbers for finite inputs, with many more array operations).
    range_km = np.asarray(range_km, dtype=float)
    bev_range = range_km[..., 3] if range_km.ndim else range_km
    shortfall = np.maximum(0.0, vec(coef.range_reference_km) - _nz(bev_range, 1e9)) / 100.0
    full = np.broadcast_shapes(v.shape, (*shortfall.shape, 4))
    if v.shape != full:  # v is a fresh array; widen it only when the range adds axes
        v = np.array(np.broadcast_to(v, full))
    v[..., 3] += vec(coef.beta_range) * shortfall
    charge = np.asarray(coef.beta_charge, dtype=float) * np.asarray(ln_public_chargers_per_car, dtype=float)
    v[..., 2] += vec(charge * np.asarray(coef.phev_charge_weight, dtype=float))
    v[..., 3] += vec(charge)
    v += col(coef.beta_choice) * np.asarray(ln_models_on_offer, dtype=float)[:, None, :]
    plate = np.asarray(coef.beta_plate, dtype=float) * np.asarray(plate_share, dtype=float)  # [draw]
    v[..., 2] += vec(plate * np.asarray(phev_plate, dtype=float))
    v[..., 3] += vec(plate)
    v[..., 2:] += col(np.asarray(coef.kappa, dtype=float) * np.asarray(ln_plugin_stock_share, dtype=float))
    return v


def nested_logit_shares(
    utility: np.ndarray,
    nest_lambda: np.ndarray,
    available: np.ndarray | None = None,
    *,
    return_parts: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nested-logit choice shares over the last axis (powertrains; nests in :data:`NEST_OF`).

    ``utility``: ``[..., powertrain]``; ``nest_lambda``: ``[draw, nest]`` broadcastable as
    ``[draw, 1, nest]`` against ``utility[draw, segment, :]``; ``available``: boolean mask
    (unavailable alternatives get share 0). Shares sum to 1 over the last axis and lie in
    [0, 1]. Numerically stable (max-subtracted log-sum-exp in each nest).

    With ``return_parts`` also returns the nest shares ``[..., nest]`` and the conditional
    shares within the nest ``[..., powertrain]``.
    """
    u = np.asarray(utility, dtype=float)
    lam = np.asarray(nest_lambda, dtype=float)
    while lam.ndim < u.ndim:
        lam = lam[:, None, :] if lam.ndim >= 2 else lam[None, :]
    if available is None and u.shape[-1] == 4:
        return _two_nest_shares(u, lam, return_parts)
    lam_alt = lam[..., NEST_OF]  # [..., powertrain]
    scaled = u / lam_alt
    if available is not None:
        scaled = np.where(available, scaled, _NEG_INF)
    n_nests = int(NEST_OF.max()) + 1
    log_incl = np.empty((*u.shape[:-1], n_nests))
    cond = np.empty_like(u)
    for k in range(n_nests):  # two nests: a fixed, tiny loop (not over data axes)
        members = NEST_OF == k
        part = scaled[..., members]
        top = np.max(part, axis=-1, keepdims=True)
        top_safe = np.where(np.isfinite(top), top, 0.0)
        expo = np.exp(part - top_safe)
        total = expo.sum(axis=-1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            cond[..., members] = np.where(total > 0, expo / np.where(total > 0, total, 1.0), 0.0)
            safe_total = np.where(total[..., 0] > 0, total[..., 0], 1.0)
            log_incl[..., k] = np.where(total[..., 0] > 0, top_safe[..., 0] + np.log(safe_total), _NEG_INF)
    nest_util = lam * log_incl
    top = np.max(nest_util, axis=-1, keepdims=True)
    expo = np.exp(nest_util - top)
    nest_share = expo / expo.sum(axis=-1, keepdims=True)
    shares = nest_share[..., NEST_OF] * cond
    if return_parts:
        return shares, nest_share, cond
    return shares


def _two_nest_shares(
    u: np.ndarray, lam: np.ndarray, return_parts: bool
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fast path of :func:`nested_logit_shares` for {ICE, HEV} / {PHEV, BEV}, all available."""
    a = u[..., :2] / lam[..., :1]
    b = u[..., 2:] / lam[..., 1:2]
    ma = a.max(-1, keepdims=True)
    mb = b.max(-1, keepdims=True)
    ea = np.exp(a - ma)
    eb = np.exp(b - mb)
    sa = ea.sum(-1, keepdims=True)
    sb = eb.sum(-1, keepdims=True)
    va = lam[..., :1] * (ma + np.log(sa))
    vb = lam[..., 1:2] * (mb + np.log(sb))
    top = np.maximum(va, vb)
    pa = np.exp(va - top)
    pb = np.exp(vb - top)
    total = pa + pb
    pa, pb = pa / total, pb / total
    cond = np.concatenate([ea / sa, eb / sb], axis=-1)
    shares = cond * np.concatenate([pa, pa, pb, pb], axis=-1)
    if return_parts:
        return shares, np.concatenate([pa, pb], axis=-1), cond
    return shares


def share_derivative(
    shares: np.ndarray, nest_share: np.ndarray, cond: np.ndarray, nest_lambda: np.ndarray, slope: np.ndarray
) -> np.ndarray:
    """d shares / dπ when each utility moves as ``V_p(π) = V_p(0) + slope_p·π``.

    Analytic nested-logit derivative::

        dP_p/dπ = P_p·[(g_p − ḡ_k)/λ_k + ḡ_k − ḡ],  ḡ_k = Σ_{q∈k} P(q|k)·g_q,  ḡ = Σ_k P(k)·ḡ_k
    """
    lam = np.asarray(nest_lambda, dtype=float)
    while lam.ndim < shares.ndim:
        lam = lam[:, None, :]
    n_nests = nest_share.shape[-1]
    g_nest = np.stack([(cond[..., NEST_OF == k] * slope[..., NEST_OF == k]).sum(-1) for k in range(n_nests)], -1)
    g_all = (nest_share * g_nest).sum(-1, keepdims=True)
    g_k = g_nest[..., NEST_OF]
    return shares * ((slope - g_k) / lam[..., NEST_OF] + g_k - g_all)
