"""Calibration: fit what cannot be observed, on history up to a data cutoff only.

Fitted (design §4):

1. **Plug-in constants per history year.** For each year ``t ≤ history_last`` two constants
   solve, all draws at once, a 2-D Newton iteration in logit space with the analytic
   Jacobian of the nested-logit shares: ``A_t`` (added to PHEV and BEV utility) so that the model's EV share of new cars
   equals the observed one (IEA GEVO 2025, cars, Historical; 2025: 53 % from OWID), and
   ``B_t`` (added to BEV only) so that the BEV share of EV sales equals IEA's BEV/(BEV+PHEV)
   (2025: the 2024 split is held, no 2025 split is bundled). Tolerance 1e-10 in logit units.
2. **Familiarity κ.** The fitted ``A_t`` (fitted with κ = 0) contains the growing pull of
   plug-in familiarity. κ is the least-squares slope of ``A_t`` on ``ln(plug-in stock share
   at the end of t−1)`` over history years from 2015 (the years with a real market) to the
   cutoff, bounded to [κ_min, κ_max] (``coefficients.csv``). Nothing after the cutoff is used.
3. **Residual constants.** ``r_t = A_t − κ·ln(stock share_{t−1})``. The run uses
   ``r_t + κ·ln(its own stock share)`` in history years (so the factual run reproduces history
   exactly and counterfactuals feel their own familiarity) and, after the cutoff, the mean
   residual of the last ``hold_mean_of_last_years`` years, held constant; ``B`` likewise.
   The projection is therefore driven by mechanisms (costs, credits, chargers, familiarity,
   subsidies ending), never by extrapolating a fitted trend.
4. **Maker NEV attractiveness**: multiplicative weights fitted by iterative proportional
   fitting so that each maker's modelled NEV production (domestic + allocated exports) in
   the latest year on or before the cutoff in which at least five groups report sales matches
   the reported sales (``nevsim.data.load("china_market")``, "Maker sales", fact sheet C.5);
   makers without data keep their prior.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nevsim.consumers import nested_logit_shares, share_derivative

__all__ = ["Calibration", "fit_kappa", "fit_maker_weights", "fit_plugin_constants"]

KAPPA_FIRST_YEAR = 2015
_FIT_TOL = 1e-10
_FIT_MAX_ITER = 50


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _residuals_and_jacobian(
    utility: np.ndarray, nest_lambda: np.ndarray, segment_sales: np.ndarray, ya: np.ndarray, yb: np.ndarray
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Residuals in logit space and their analytic Jacobian w.r.t. (A, B).

    Uses the nested-logit derivative (:func:`nevsim.consumers.share_derivative`) with slope
    vectors (0, 0, 1, 1) for A and (0, 0, 0, 1) for B; shares sum to one in each segment, so
    total sales do not move.
    """
    shares, nest, cond = nested_logit_shares(utility, nest_lambda, return_parts=True)
    n = segment_sales[..., None]
    g_a = np.broadcast_to(np.array([0.0, 0.0, 1.0, 1.0]), shares.shape)
    g_b = np.broadcast_to(np.array([0.0, 0.0, 0.0, 1.0]), shares.shape)
    d_a = share_derivative(shares, nest, cond, nest_lambda, g_a) * n
    d_b = share_derivative(shares, nest, cond, nest_lambda, g_b) * n
    sales = shares * n
    total = sales.sum((-1, -2))
    ev = sales[..., 2:].sum((-1, -2))
    bev = sales[..., 3].sum(-1)
    s_ev = np.clip(ev / total, 1e-12, 1 - 1e-12)
    f = np.clip(bev / np.maximum(ev, 1e-300), 1e-12, 1 - 1e-12)
    jac = []
    for d in (d_a, d_b):
        dev = d[..., 2:].sum((-1, -2))
        dbev = d[..., 3].sum(-1)
        ds = dev / total
        df = (dbev * ev - bev * dev) / np.maximum(ev, 1e-300) ** 2
        jac.append((ds / (s_ev * (1 - s_ev)), df / (f * (1 - f))))
    (j11, j21), (j12, j22) = jac
    return _logit(s_ev) - ya, _logit(f) - yb, (j11, j21, j12, j22)


def fit_plugin_constants(
    utility: np.ndarray,
    nest_lambda: np.ndarray,
    segment_sales: np.ndarray,
    target_ev_share: np.ndarray,
    target_bev_fraction: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Constants (A, B) per draw matching the EV share and the BEV fraction of EV sales.

    ``utility`` ``[draw, segment, powertrain]`` excludes A and B; A is added to PHEV and BEV,
    B to BEV. Newton's method in logit space with the analytic Jacobian, steps bounded to 3
    utility units. Returns ``(A, B, converged)``.
    """
    a, b = (np.array(x, dtype=float, copy=True) for x in start)
    ya, yb = _logit(np.asarray(target_ev_share, float)), _logit(np.asarray(target_bev_fraction, float))
    add_a = np.array([0.0, 0.0, 1.0, 1.0])
    add_b = np.array([0.0, 0.0, 0.0, 1.0])
    converged = np.zeros(a.shape, dtype=bool)
    for _ in range(_FIT_MAX_ITER):
        u = utility + a[:, None, None] * add_a + b[:, None, None] * add_b
        r1, r2, (j11, j21, j12, j22) = _residuals_and_jacobian(u, nest_lambda, segment_sales, ya, yb)
        converged = (np.abs(r1) < _FIT_TOL) & (np.abs(r2) < _FIT_TOL)
        if converged.all():
            break
        det = j11 * j22 - j12 * j21
        safe = np.abs(det) > 1e-14
        da = np.where(safe, (j22 * r1 - j12 * r2) / np.where(safe, det, 1.0), r1 / np.maximum(j11, 1e-6))
        db = np.where(safe, (-j21 * r1 + j11 * r2) / np.where(safe, det, 1.0), 0.0)
        step = np.maximum(np.abs(da), np.abs(db))
        damp = np.where(step > 3.0, 3.0 / np.maximum(step, 1e-300), 1.0)  # bounded steps
        a = np.where(converged, a, a - damp * da)
        b = np.where(converged, b, b - damp * db)
    return a, b, converged


def fit_kappa(years: np.ndarray, constants: np.ndarray, ln_stock_share: np.ndarray,
              lo: float, hi: float, first_year: int = KAPPA_FIRST_YEAR) -> np.ndarray:
    """Least-squares slope of the plug-in constant on ln(plug-in stock share), per draw, clipped.

    ``constants`` and ``ln_stock_share`` are ``[year, draw]`` over history years.
    """
    keep = years >= first_year
    if keep.sum() < 3:
        keep = np.ones_like(keep)
    x = ln_stock_share[keep]
    y = constants[keep]
    xm, ym = x.mean(0), y.mean(0)
    var = ((x - xm) ** 2).sum(0)
    slope = np.where(var > 0, ((x - xm) * (y - ym)).sum(0) / np.where(var > 0, var, 1.0), 0.0)
    return np.clip(slope, lo, hi)


def fit_maker_weights(
    prior: np.ndarray,
    offer: np.ndarray,
    ev_sales: np.ndarray,
    ev_exports: np.ndarray,
    observed: np.ndarray,
    rounds: int = 50,
) -> np.ndarray:
    """NEV attractiveness multipliers per maker by iterative proportional fitting.

    ``prior`` ``[maker]`` NEV weights; ``offer`` ``[maker, segment, powertrain]`` (0/1, plug-in
    powertrains only matter); ``ev_sales`` ``[segment, powertrain]`` domestic sales of the fit
    year (draw 0); ``ev_exports`` total EV exports that year; ``observed`` ``[maker]`` reported
    NEV sales (NaN = no data). Exports are allocated in proportion to domestic EV sales.
    """
    w = np.asarray(prior, dtype=float).copy()
    has = np.isfinite(observed) & (observed > 0)
    plug = np.zeros(offer.shape[-1], dtype=bool)
    plug[2:] = True
    for _ in range(rounds):
        weights = w[:, None, None] * offer
        share = weights / np.maximum(weights.sum(0, keepdims=True), 1e-300)
        dom = (share * ev_sales[None])[..., plug].sum((-1, -2))
        total = dom * (1.0 + ev_exports / max(dom.sum(), 1e-300))
        ratio = np.where(has, observed / np.maximum(total, 1e-300), 1.0)
        if np.all(np.abs(ratio[has] - 1.0) < 1e-6):
            break
        w = w * ratio
    return w


@dataclass(frozen=True)
class Calibration:
    """Fitted constants, arrays ``[year, draw]`` over the history years ``years``."""

    years: np.ndarray
    residual_plugin: np.ndarray
    bev_constant: np.ndarray
    kappa: np.ndarray  # [draw]
    hold_plugin: np.ndarray  # [draw]
    hold_bev: np.ndarray  # [draw]
    maker_nev_weights: np.ndarray  # [draw, maker]
    max_abs_error_pp: float
    converged: bool
    notes: tuple[str, ...] = field(default_factory=tuple)

    def plugin_residual(self, year: int) -> np.ndarray:
        """Residual plug-in constant for ``year`` (held after the last calibrated year)."""
        if year <= self.years[-1]:
            return self.residual_plugin[max(0, int(year - self.years[0]))]
        return self.hold_plugin

    def bev(self, year: int) -> np.ndarray:
        if year <= self.years[-1]:
            return self.bev_constant[max(0, int(year - self.years[0]))]
        return self.hold_bev
