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
   **Residual walk (Monte Carlo only, ``uncertainty.residual_walk``).** What the mechanisms do
   not explain moved the fitted residual ``r_t`` by ``σ`` ≈ 0.1–0.5 utility units a year up to
   the default cutoffs (root mean square of ``r_t − r_{t−1}`` over the changes into 2016 and
   later, :func:`walk_sd`; no walk with fewer than two). A draw treats the held residual as the
   start of a driftless random walk with that step: ``r_{c+h} = r̄ + z·σ·√h``, ``z`` the
   coefficient ``residual_walk_z`` (a standard normal, 0 in a one-draw run). ``√h`` gives the
   constant each year the random walk's own spread; one ``z`` per draw makes each path a fanned
   line rather than a wiggle. The BEV constant ``B`` is held without a walk: it sits inside the
   plug-in nest, so a walk in it would move the total EV share too, on top of ``r``'s.
4. **Segment offsets** (China; :func:`fit_segment_mix`; only with the scenario's
   ``calibration.segment_mix = "observed"``, default "none": no offsets). One pair (A_t, B_t) serves every
   segment, which spreads EVs almost evenly over the segments; observed, A00 minicars were a
   third of China's BEVs in 2021. A segment offset ``δ_s`` is added to the BEV utility of
   segment ``s`` (a segment-specific B: the A00 plug-ins sold were BEVs; an offset on both
   plug-ins would grow the model's mini PHEV, which has no market, and caps the mini BEV below
   the 2021 observation). In a history year with a full-year observation of a group
   ``G`` of segments' share of BEV (or plug-in) sales (``nevsim.data.load("china_ev_segments")``,
   rows with ``fit``), the offsets of the segments in ``G`` move by one common amount so that
   the modelled share equals the observed one, jointly with (A_t, B_t) (so the EV share and the
   BEV fraction are still met). A year without an observation keeps the offsets of the year
   before (0 before the first observation); after the cutoff the last offsets are held. A
   cutoff before the first observation uses no offsets. Nothing after the cutoff is read.
5. **Maker NEV attractiveness**: multiplicative weights fitted by iterative proportional
   fitting so that each maker's modelled NEV production (domestic + allocated exports) in
   the latest year on or before the cutoff in which at least five groups report sales matches
   the reported sales (``nevsim.data.load("china_market")``, "Maker sales", fact sheet C.5);
   makers without data keep their prior.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Calibration", "SegmentTarget", "fit_kappa", "fit_maker_weights", "fit_plugin_constants",
           "fit_segment_mix", "segment_group_share", "walk_sd"]

KAPPA_FIRST_YEAR = 2015
_FIT_TOL = 1e-10
_FIT_MAX_ITER = 100


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.minimum(np.maximum(p, 1e-12), 1 - 1e-12)  # np.clip, without its Python-level overhead
    return np.log(p) - np.log1p(-p)


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
    utility units, and backtracking: a step that does not lower the larger of the two logit
    residuals is halved from the last accepted point (plain Newton can cycle between two points
    when the segments' BEV shares are near 0 or 1; hypothesis found such a case). Returns
    ``(A, B, converged)``.

    Only the plug-in nest moves with (A, B), so the conventional nest's inclusive value
    ``I_c = λ_c·ln Σ_{ICE,HEV} exp(V/λ_c)`` is computed once. Per iteration, with λ the plug-in
    nest scale: ``c_BEV = exp((V_BEV + B)/λ) / (exp(V_PHEV/λ) + exp((V_BEV + B)/λ))``,
    ``I_p = A + λ·ln(exp(V_PHEV/λ) + exp((V_BEV + B)/λ))``, ``q = P(plug-in) = e^{I_p}/(e^{I_c} + e^{I_p})``.
    The Jacobian is the nested-logit derivative (:func:`nevsim.consumers.share_derivative`)
    written out: ``∂P_p/∂A = P_p·(1 − q)`` for plug-ins; ``∂P_BEV/∂B = P_BEV·[(1 − c)/λ + c − q·c]``,
    ``∂P_PHEV/∂B = P_PHEV·[−c/λ + c − q·c]`` with ``c = c_BEV``; summed over segments
    (weights = segment sales) and mapped to logit space.
    """
    a, b = (np.array(x, dtype=float, copy=True) for x in start)
    ya, yb = _logit(np.asarray(target_ev_share, float)), _logit(np.asarray(target_bev_fraction, float))
    u = np.asarray(utility, dtype=float)
    lam = np.asarray(nest_lambda, dtype=float).reshape(-1, 2)
    lam_c, lam_p = lam[:, :1], lam[:, 1:]  # [draw, 1]
    n = np.asarray(segment_sales, dtype=float)  # [draw, segment]
    total = n.sum(-1)
    # conventional nest: fixed during the fit (max-subtracted log-sum-exp)
    xc = u[..., :2] / lam_c[..., None]
    mc = np.maximum(xc[..., 0], xc[..., 1])  # ICE, HEV written out (a reduction over 2 is slow)
    ex = np.exp(xc - mc[..., None])
    inc_c = lam_c * (mc + np.log(ex[..., 0] + ex[..., 1]))  # [draw, segment]
    x_phev = u[..., 2] / lam_p
    x_bev = u[..., 3] / lam_p
    inv_lam = 1.0 / lam_p
    converged = np.zeros(a.shape, dtype=bool)
    # backtracking state per draw: the last accepted point, its residual norm and Newton step, the step scale
    acc_a, acc_b = a.copy(), b.copy()
    acc_norm = np.full(a.shape, np.inf)
    acc_da, acc_db = np.zeros(a.shape), np.zeros(a.shape)
    scale = np.ones(a.shape)
    for _ in range(_FIT_MAX_ITER):
        y_bev = x_bev + b[:, None] * inv_lam
        top = np.maximum(x_phev, y_bev)
        e_phev = np.exp(x_phev - top)
        e_bev = np.exp(y_bev - top)
        e_sum = e_phev + e_bev
        c = e_bev / e_sum  # BEV share within the plug-in nest
        inc_p = a[:, None] + lam_p * (top + np.log(e_sum))
        peak = np.maximum(inc_c, inc_p)
        w_c = np.exp(inc_c - peak)
        w_p = np.exp(inc_p - peak)
        q = w_p / (w_c + w_p)  # plug-in nest share
        ev_s = q * n  # plug-in sales by segment
        bev_s = ev_s * c
        phev_s = ev_s - bev_s
        ev = ev_s.sum(-1)
        bev = bev_s.sum(-1)
        s_ev = np.minimum(np.maximum(ev / total, 1e-12), 1 - 1e-12)
        ev_safe = np.maximum(ev, 1e-300)
        f = np.minimum(np.maximum(bev / ev_safe, 1e-12), 1 - 1e-12)
        r1 = np.log(s_ev) - np.log1p(-s_ev) - ya  # logit (already clipped)
        r2 = np.log(f) - np.log1p(-f) - yb
        converged = (np.abs(r1) < _FIT_TOL) & (np.abs(r2) < _FIT_TOL)
        if converged.all():
            break
        norm = np.maximum(np.abs(r1), np.abs(r2))
        rejected = (norm >= acc_norm) & ~converged & (scale > 1e-6)
        qc = q * c
        dev_a = (ev_s * (1.0 - q)).sum(-1)
        dbev_a = (bev_s * (1.0 - q)).sum(-1)
        db_phev = phev_s * (c - qc - c * inv_lam)
        db_bev = bev_s * ((1.0 - c) * inv_lam + c - qc)
        dbev_b = db_bev.sum(-1)
        dev_b = db_phev.sum(-1) + dbev_b
        ds_scale = 1.0 / (total * s_ev * (1 - s_ev))
        f_scale = 1.0 / (ev_safe ** 2 * (f * (1 - f)))
        j11 = dev_a * ds_scale
        j21 = (dbev_a * ev - bev * dev_a) * f_scale
        j12 = dev_b * ds_scale
        j22 = (dbev_b * ev - bev * dev_b) * f_scale
        det = j11 * j22 - j12 * j21
        safe = np.abs(det) > 1e-14
        if safe.all():  # the usual case (same numbers as the general branch, fewer operations)
            da = (j22 * r1 - j12 * r2) / det
            db = (-j21 * r1 + j11 * r2) / det
        else:
            da = np.where(safe, (j22 * r1 - j12 * r2) / np.where(safe, det, 1.0), r1 / np.maximum(j11, 1e-6))
            db = np.where(safe, (-j21 * r1 + j11 * r2) / np.where(safe, det, 1.0), 0.0)
        step = np.maximum(np.abs(da), np.abs(db))
        if (step > 3.0).any():
            damp = np.where(step > 3.0, 3.0 / np.maximum(step, 1e-300), 1.0)  # bounded steps
            da, db = damp * da, damp * db
        if rejected.any():  # back to the last accepted point, half the step
            scale = np.where(rejected, 0.5 * scale, 1.0)
            accepted = ~rejected
            acc_a, acc_b = np.where(accepted, a, acc_a), np.where(accepted, b, acc_b)
            acc_norm = np.where(accepted, norm, acc_norm)
            acc_da, acc_db = np.where(accepted, da, acc_da), np.where(accepted, db, acc_db)
            new_a, new_b = acc_a - scale * acc_da, acc_b - scale * acc_db
        else:
            scale[:] = 1.0
            acc_a, acc_b, acc_norm, acc_da, acc_db = a, b, norm, da, db
            new_a, new_b = a - da, b - db
        if converged.any():
            a = np.where(converged, a, new_a)
            b = np.where(converged, b, new_b)
        else:
            a, b = new_a, new_b
    return a, b, converged


@dataclass(frozen=True)
class SegmentTarget:
    """One observed share to reproduce: the segments ``mask`` ``[segment]`` (bool) sell
    ``share`` (a fraction) of the year's BEV sales (``bev=True``) or of all plug-in sales."""

    mask: np.ndarray
    bev: bool
    share: float


def segment_group_share(utility: np.ndarray, nest_lambda: np.ndarray, segment_sales: np.ndarray,
                        target: SegmentTarget) -> tuple[np.ndarray, np.ndarray]:
    """The group's share ``g`` ``[draw]`` of BEV (or plug-in) sales and ``∂logit g/∂δ``.

    ``utility`` ``[draw, segment, powertrain]`` includes every constant. With ``δ`` added to the
    BEV utility of the group's segments only the group's sales move, so ``∂logit g/∂δ =
    Σ_{s∈G} ∂X_s/∂δ / Σ_{s∈G} X_s`` with ``X_s`` the segment's BEV (or plug-in) sales and, from
    the nested-logit derivative (:func:`nevsim.consumers.share_derivative`; ``q_s`` the plug-in
    share, ``c_s`` the BEV share within plug-ins, λ the plug-in nest scale),
    ``∂BEV_s/∂δ = BEV_s·[(1 − c_s)/λ + c_s − q_s·c_s]`` and ``∂EV_s/∂δ = EV_s·c_s·(1 − q_s)``.
    """
    from nevsim.consumers import nested_logit_shares

    shares = nested_logit_shares(utility, nest_lambda)
    n = np.asarray(segment_sales, float)
    q = shares[..., 2:].sum(-1)  # plug-in share per segment [draw, segment]
    c = shares[..., 3] / np.maximum(q, 1e-300)
    lam_p = np.asarray(nest_lambda, float).reshape(-1, 2)[:, 1:]
    if target.bev:
        x = shares[..., 3] * n
        dx = x * ((1.0 - c) / lam_p + c - q * c)
    else:
        x = q * n
        dx = x * c * (1.0 - q)
    in_g = (x * target.mask).sum(-1)
    g = in_g / np.maximum(x.sum(-1), 1e-300)
    slope = (dx * target.mask).sum(-1) / np.maximum(in_g, 1e-300)
    return g, slope


def fit_segment_mix(
    utility: np.ndarray,
    nest_lambda: np.ndarray,
    segment_sales: np.ndarray,
    target_ev_share: np.ndarray,
    target_bev_fraction: np.ndarray,
    start: tuple[np.ndarray, np.ndarray],
    targets: tuple[SegmentTarget, ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Constants (A, B) and segment offsets ``Δ`` ``[draw, segment]`` meeting the EV share, the
    BEV fraction and each group share in ``targets``.

    ``Δ`` is added to the BEV utility of its segment. Each group's common offset solves
    ``h(δ) = logit g(δ, A(δ), B(δ)) − logit g*`` with (A, B) re-fitted by
    :func:`fit_plugin_constants` at every step (so the EV share and BEV fraction hold
    throughout): the first step is Newton's with the partial derivative
    (:func:`segment_group_share`), later ones the secant of ``h`` (the partial slope ignores how
    A and B move back, which makes plain alternation slow when the group is a large part of
    the market). Steps are bounded to 3 utility units; several targets of one year are taken in
    turn. ``utility`` excludes A, B and ``Δ`` (it may hold offsets from earlier years: ``Δ`` is
    the change this year). With no targets this is :func:`fit_plugin_constants`. Converged:
    every group share within 1e-10 (logit) with (A, B) converged. Returns ``(A, B, Δ, converged)``.
    """
    u = np.asarray(utility, dtype=float)
    delta = np.zeros(u.shape[:2])
    a, b = start
    if not targets:
        a, b, ok = fit_plugin_constants(u, nest_lambda, segment_sales, target_ev_share, target_bev_fraction, (a, b))
        return a, b, delta, ok
    lam = np.asarray(nest_lambda, dtype=float)
    plug = np.array([0.0, 0.0, 1.0, 1.0])
    bev = np.array([0.0, 0.0, 0.0, 1.0])
    ok = np.zeros(u.shape[0], dtype=bool)
    level = [np.zeros(u.shape[0]) for _ in targets]  # each group's common offset δ_k [draw]
    prev: list[tuple[np.ndarray, np.ndarray] | None] = [None for _ in targets]  # (δ, h) of the last step
    for _ in range(_FIT_MAX_ITER):
        u_d = u + delta[..., None] * bev
        a, b, ok_ab = fit_plugin_constants(u_d, lam, segment_sales, target_ev_share, target_bev_fraction, (a, b))
        full = u_d + a[:, None, None] * plug + b[:, None, None] * bev
        worst = np.zeros(u.shape[0])
        for k, target in enumerate(targets):
            g, slope = segment_group_share(full, lam, segment_sales, target)
            h = _logit(g) - _logit(np.asarray(target.share, float))
            worst = np.maximum(worst, np.abs(h))
            last = prev[k]
            if last is not None:  # secant of h over the last step, where it is usable
                dd = level[k] - last[0]
                with np.errstate(divide="ignore", invalid="ignore"):
                    sec = (h - last[1]) / dd
                slope = np.where((np.abs(dd) > 1e-12) & np.isfinite(sec) & (sec > 1e-6), sec, slope)
            prev[k] = (level[k].copy(), h)
            step = np.where(np.abs(h) < _FIT_TOL, 0.0, np.clip(h / np.maximum(slope, 1e-6), -3.0, 3.0))
            level[k] = level[k] - step
            delta = delta - step[:, None] * target.mask
            full = full - step[:, None, None] * target.mask[:, None] * bev
        ok = ok_ab & (worst < _FIT_TOL)
        if ok.all():
            break
    return a, b, delta, ok


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


def walk_sd(years: np.ndarray, constants: np.ndarray, first_year: int = KAPPA_FIRST_YEAR) -> np.ndarray:
    """Root mean square yearly change ``[draw]`` of fitted constants ``[year, draw]``: ``σ = sqrt(mean (c_t − c_{t−1})²)``.

    Over the changes into the years ``t ≥ first_year + 1`` (both years from ``first_year``, the
    years with a real market, as for κ). NaN with fewer than two such changes (cutoffs before
    2017): the tiny markets of 2010–2014 moved their constants by a unit or more a year, which
    is no measure of today's. The mean change is not removed: the walk after the cutoff has no
    drift, so a trend in the residuals counts as spread.
    """
    years = np.asarray(years)
    c = np.asarray(constants, dtype=float)
    keep = years[1:] >= first_year + 1
    if keep.sum() < 2:
        return np.full(c.shape[1:], np.nan)
    d = np.diff(c, axis=0)
    return np.sqrt((d[keep] ** 2).mean(0))


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
    #: standard error ``[draw]`` of the unclipped κ slope (:func:`nevsim.pooling.kappa_standard_error`;
    #: a diagnostic, unused by the model); None where not computed
    kappa_se: np.ndarray | None = None
    #: step ``[draw]`` of the residual walk per √year after the last calibrated year, ``z·σ`` in
    #: utility units (module docstring, "Residual walk"); 0 in a one-draw run, with the walk off
    #: (z = 0) and where σ is undefined
    walk_step_plugin: np.ndarray | float = 0.0
    #: ``σ`` ``[draw]`` of the fitted residuals (:func:`walk_sd`); None where not computed
    walk_sd_plugin: np.ndarray | None = None
    #: segment offsets ``δ`` ``[year, draw, segment]`` over ``years`` (module docstring, 4.);
    #: None: no offsets (other regions, or no observation up to the cutoff)
    segment_offsets: np.ndarray | None = None

    def plugin_residual(self, year: int) -> np.ndarray:
        """Residual plug-in constant for ``year``: fitted up to the last calibrated year, then
        held plus the walk, ``r̄ + step·√(year − last)``."""
        last = int(self.years[-1])
        if year <= last:
            return self.residual_plugin[max(0, int(year - self.years[0]))]
        return self.hold_plugin + self.walk_step_plugin * np.sqrt(year - last)

    def segment_offset(self, year: int) -> np.ndarray | None:
        """Segment offsets ``[draw, segment]`` for ``year``: fitted up to the last calibrated year,
        then the last held; None without offsets."""
        if self.segment_offsets is None:
            return None
        return self.segment_offsets[min(max(0, int(year - self.years[0])), len(self.years) - 1)]

    def bev(self, year: int) -> np.ndarray:
        """BEV constant for ``year``: fitted up to the last calibrated year, then held."""
        if year <= self.years[-1]:
            return self.bev_constant[max(0, int(year - self.years[0]))]
        return self.hold_bev
