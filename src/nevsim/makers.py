"""Makers and the credit market.

Axis order: ``[draw, maker, segment, powertrain]``.

**Who sells what.** Within each segment × powertrain, sales split among the makers that
offer it in proportion to their attractiveness ``w[m, s, p]`` (``makers.csv``: offer and
conventional-market share; NEV weights fitted in :mod:`nevsim.calibrate` to reported maker
sales), bounded by each maker's production capacity (domestic sales + exports). A capped
maker's excess goes to the uncapped makers of the same segment × powertrain in proportion
to their weights; the residual group "Other" has no cap, so the buyers' choice (the
segment × powertrain totals) is never changed by the split. Capacity paths by year come
from reported figures (:func:`capacity_paths`, ``assumptions/maker_history.csv``); exports
above a maker's capacity go to the uncapped makers first (:func:`cap_exports`).

**Credit market** (design §3.3), one mechanism for any standard given as a
:class:`nevsim.policy.standard.StandardYear` (credits earned and required per vehicle).
Each year, for each draw, the credit price π ≥ 0 solves::

    E(π) = Σ_s N_s Σ_p P_sp(π)·n_sp + bank_in − extra_required ≥ 0,   π·E(π) = 0,   π ≤ cap

``n_sp`` = credits earned − credits required per vehicle by obligated makers (a maker is
obligated when last year's conventional volume reached ``min_obligated_volume``);
``bank_in`` = every maker's banked credits, all saleable (China: carried-forward NEV credits
are "used" in a later year like that year's credits, Order 53, status U; US: banked GHG and
ZEV credits may be traded, 40 CFR 86.1865-12(k); EU: a pool's members' surpluses cover each
other, averaging 2025–2027, U), and ``extra_required`` = obligations carried in (China: last
year's CAFC deficits after the makers' own CAFC banks, design §3.3). The accounting after the
per-maker split (:func:`settle_credit_trades`) treats banks and obligations the same way, so a
shortfall there means E < 0 at the year's sales: the price is at the cap. (Two approximations
remain on the market side: it weighs the requirement by the share of sales of makers obligated
*last* year, and it ignores per-maker caps such as ACC II's PHEV share; tested over NEV-ratio
paths in ``tests/sim/test_credit_accounting.py`` with no shortfall below the cap.) Makers
pass the credit value through to prices: a vehicle's price falls by ``θ·π·(earned −
required)`` per vehicle, so its utility moves by ``g_sp·π`` with
``g = −β_price·θ·(earned − required)/10⁴``. E is increasing in π (more plug-ins, fewer
conventional cars), so:

* E(0) ≥ 0 → π = 0 (market long: complementary slackness);
* E(cap) < 0 → π = cap, reported as **non-compliance at the cap** (shortfall = −E(cap));
* otherwise a safeguarded Newton iteration on [0, cap] with the analytic derivative of the
  nested-logit shares (:func:`nevsim.consumers.share_derivative`), bisection when a Newton
  step leaves the bracket. exp(utility) is computed once per year; each iteration only
  rescales it by ``exp(g·π/λ)``. Tolerance: |E| ≤ 1e-9 × (credits required + 1), or a
  bracket narrower than 1e-6 CNY/credit; convergence is checked per draw and reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nevsim.consumers import NEST_OF

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CreditMarketSolution",
    "CreditSettlement",
    "RescaledNestedLogit",
    "cap_exports",
    "capacity_paths",
    "clear_credit_market",
    "settle_credit_trades",
    "split_among_makers",
]

_TWO_BY_TWO = tuple(NEST_OF.tolist()) == (0, 0, 1, 1)
TOL_REL_EXCESS = 1e-9
TOL_PRICE_CNY = 1e-6
MAX_ITER = 60


class RescaledNestedLogit:
    """Nested-logit shares whose utilities move by ``shift`` without recomputing exp(utility).

    ``exp(V/λ − top)`` is computed once (``top`` = max within each nest at zero shift);
    :meth:`shares` multiplies it by ``exp(shift/λ)`` and renormalises.
    """

    def __init__(self, utility: np.ndarray, nest_lambda: np.ndarray, available: np.ndarray | None = None) -> None:
        if not _TWO_BY_TWO:  # pragma: no cover - the layout below assumes it
            raise ValueError("RescaledNestedLogit expects two nests of two powertrains")
        lam = np.asarray(nest_lambda, dtype=float)
        while lam.ndim < utility.ndim:
            lam = lam[:, None, :]
        self.lam = lam  # [..., nest]
        self.n_nests = 2
        self._lam_pair = lam[..., :, None]  # [..., nest, 1]
        scaled = utility.reshape(*utility.shape[:-1], 2, 2) / self._lam_pair  # [..., nest, member]
        if available is not None:
            scaled = np.where(np.reshape(available, scaled.shape), scaled, -np.inf)
        # max / sum over the two members of a nest written out: a reduction over an axis of
        # length 2 costs numpy several times more (same numbers)
        top = np.maximum(scaled[..., 0], scaled[..., 1])
        self.top = np.where(np.isfinite(top), top, 0.0)  # [..., nest]
        self.base = np.exp(scaled - self.top[..., None])  # [..., nest, member]

    @property
    def lam_alt(self) -> np.ndarray:
        return self.lam[..., NEST_OF]

    def shares(self, shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(shares, nest shares, conditional shares) at utilities ``V + shift``."""
        expo = self.base
        if shift is not None:
            expo = expo * np.exp(shift.reshape(*shift.shape[:-1], 2, 2) / self._lam_pair)
        total = expo[..., 0] + expo[..., 1]  # [..., nest]: Σ over the nest's two members
        with np.errstate(divide="ignore", invalid="ignore"):
            cond = expo / total[..., None]
            nest_util = self.lam * (self.top + np.log(total))
        cond = np.where(np.isfinite(cond), cond, 0.0)
        peak = np.maximum(nest_util[..., :1], nest_util[..., 1:])  # the two nests
        e = np.exp(nest_util - peak)
        nest_share = e / (e[..., :1] + e[..., 1:])
        shape = (*cond.shape[:-2], 4)
        return (nest_share[..., None] * cond).reshape(shape), nest_share, cond.reshape(shape)


@dataclass(frozen=True)
class CreditMarketSolution:
    """One year's clearing, arrays ``[draw]`` unless noted."""

    price: np.ndarray  # CNY per credit
    shares: np.ndarray  # [draw, segment, powertrain] at the clearing price
    excess: np.ndarray  # credits: supply + bank − requirement at the price
    at_cap: np.ndarray  # bool: the requirement cannot be met even at the cap (non-compliance)
    long: np.ndarray  # bool: π = 0 because the market is long
    converged: np.ndarray  # bool
    iterations: int
    max_abs_residual: float  # credits, over draws that needed a root


def clear_credit_market(
    logit: RescaledNestedLogit,
    nest_lambda: np.ndarray,
    segment_sales: np.ndarray,
    net_credits_per_vehicle: np.ndarray,
    utility_slope_per_cny: np.ndarray,
    *,
    bank_in: np.ndarray,
    extra_required: np.ndarray,
    required_scale: np.ndarray,
    cap_cny: np.ndarray,
) -> CreditMarketSolution:
    """Find π ∈ [0, cap] per draw with E(π) ≥ 0 and π·E(π) = 0 (see module docstring).

    ``segment_sales`` ``[draw, segment]`` (vehicles); ``net_credits_per_vehicle`` and
    ``utility_slope_per_cny`` ``[draw, segment, powertrain]``; ``bank_in``,
    ``extra_required``, ``required_scale`` (credits required, for the tolerance) and
    ``cap_cny`` ``[draw]``.
    """
    draws = segment_sales.shape[0]
    weight = segment_sales[..., None] * net_credits_per_vehicle  # credits per unit share

    def excess(price: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # at π = 0 the shift is 0 and exp(0) = 1: the unshifted shares are the same numbers
        shares = logit.shares(None if price is zero else utility_slope_per_cny * price[:, None, None])[0]
        return (weight * shares).sum((-1, -2)) + bank_in - extra_required, shares

    def excess_and_slope(price: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        shift = utility_slope_per_cny * price[:, None, None]
        shares, nest_share, cond = logit.shares(shift)
        e = (weight * shares).sum((-1, -2)) + bank_in - extra_required
        lam = logit.lam
        g = utility_slope_per_cny
        g_nest = np.stack([(cond[..., NEST_OF == k] * g[..., NEST_OF == k]).sum(-1) for k in range(logit.n_nests)], -1)
        g_all = (nest_share * g_nest).sum(-1, keepdims=True)
        g_k = g_nest[..., NEST_OF]
        d_shares = shares * ((g - g_k) / lam[..., NEST_OF] + g_k - g_all)
        de = (weight * d_shares).sum((-1, -2))
        return e, de, shares

    cap = np.asarray(cap_cny, dtype=float)
    cap = cap.copy() if cap.shape == (draws,) else np.broadcast_to(cap, (draws,)).copy()
    zero = np.zeros(draws)
    tol = TOL_REL_EXCESS * (np.abs(required_scale) + 1.0)
    e0, shares0 = excess(zero)
    long = e0 >= -tol
    if long.all():  # the usual case once plug-ins are common: π = 0, nothing to solve
        return CreditMarketSolution(price=zero, shares=shares0, excess=e0, at_cap=np.zeros(draws, dtype=bool),
                                    long=long, converged=np.ones(draws, dtype=bool), iterations=0,
                                    max_abs_residual=0.0)
    _, de0, _ = excess_and_slope(zero)
    ecap, shares_cap = excess(cap)
    at_cap = (~long) & (ecap < -tol)
    need = ~long & ~at_cap
    price = np.where(at_cap, cap, 0.0)
    shares = np.where(long[:, None, None], shares0, shares_cap)
    excess = np.where(long, e0, ecap)
    converged = np.ones(draws, dtype=bool)
    iterations = 0
    residual = 0.0
    if need.any():
        lo, hi = zero.copy(), cap.copy()
        # start from the linearisation at 0, clipped into the bracket
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.where(de0 > 0, -e0 / de0, 0.5 * cap)
        x = np.clip(np.nan_to_num(x, nan=0.0), 0.0, cap)
        done = ~need
        e = de = None
        cur_shares = shares
        for iterations in range(1, MAX_ITER + 1):  # noqa: B007 - count kept for the report
            e, de, cur_shares = excess_and_slope(x)
            ok = np.abs(e) <= tol
            lo = np.where(e < 0, x, lo)
            hi = np.where(e > 0, x, hi)
            done = done | ok | ((hi - lo) <= TOL_PRICE_CNY)
            if done.all():
                break
            with np.errstate(divide="ignore", invalid="ignore"):
                newton = x - e / de
            bad = ~np.isfinite(newton) | (newton <= lo) | (newton >= hi)
            x = np.where(done, x, np.where(bad, 0.5 * (lo + hi), newton))
        converged = np.where(need, done, True)
        price = np.where(need, x, price)
        shares = np.where(need[:, None, None], cur_shares, shares)
        excess = np.where(need, e, excess)
        residual = float(np.max(np.abs(np.where(need, e, 0.0))))
    return CreditMarketSolution(
        price=price,
        shares=shares,
        excess=excess,
        at_cap=at_cap,
        long=long,
        converged=converged,
        iterations=iterations,
        max_abs_residual=residual,
    )


def split_among_makers(
    sales: np.ndarray,
    attractiveness: np.ndarray,
    capacity: np.ndarray,
    exports: np.ndarray,
    residual_maker: int,
    rounds: int | None = None,
) -> np.ndarray:
    """Sales by maker ``[draw, maker, segment, powertrain]`` from totals ``[draw, segment, powertrain]``.

    ``attractiveness`` ``[draw, maker, segment, powertrain]`` (0 = not offered);
    ``capacity`` ``[draw, maker]`` (vehicles per year, inf = no bound) applies to domestic
    sales + ``exports`` ``[draw, maker]``. Capped makers' excess moves to uncapped makers of the
    same segment × powertrain (vectorised rounds, at most one per bounded maker, so every
    cascade of caps is resolved); the ``residual_maker`` offers everything and is never
    capped, so totals are conserved exactly. Where exports alone exceed a capacity the maker
    keeps no domestic sales (``room`` = 0): call :func:`cap_exports` first.
    """
    w, share = _maker_shares(attractiveness, residual_maker)
    return _split_capped(sales, w, share, capacity, exports, residual_maker, rounds)


def _maker_shares(attractiveness: np.ndarray, residual_maker: int) -> tuple[np.ndarray, np.ndarray]:
    """(weights with the residual maker ≥ 1e-12, uncapped shares ``w / Σ_maker w``)."""
    w = np.array(attractiveness, dtype=float)  # a copy
    w[:, residual_maker] = np.maximum(w[:, residual_maker], 1e-12)
    return w, w / w.sum(1, keepdims=True)


#: Largest m·n·k of a matrix product that OpenBLAS computes on one thread (its threading threshold,
#: 65,536 × 4). A threaded product of a few hundred thousand multiply-adds gains nothing and,
#: on a busy 2-core machine, waits for the other core: measured 20–100× slower under load.
_ONE_THREAD_MNK = 65536 * 4


def _matmul_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for a tall ``a`` ``[n, k]`` and a small ``b`` ``[k, m]``, in row blocks that each stay
    single-threaded in BLAS (one block, i.e. a plain ``a @ b``, up to ~1,000 draws here)."""
    rows = max(1, _ONE_THREAD_MNK // max(1, a.shape[1] * b.shape[1]))
    if a.shape[0] <= rows:
        return a @ b
    return np.concatenate([a[i:i + rows] @ b for i in range(0, a.shape[0], rows)])


def _split_capped(sales: np.ndarray, w: np.ndarray, share: np.ndarray, capacity: np.ndarray, exports: np.ndarray,
                  residual_maker: int, rounds: int | None = None, uncapped: np.ndarray | None = None) -> np.ndarray:
    """The capacity rounds of :func:`split_among_makers` from :func:`_maker_shares` (internal fast path).

    Each round caps the makers over their room and hands the excess on, so a cascade needs at
    most one round per bounded maker (``rounds=None``); the loop stops as soon as none is over.
    ``w``/``share`` may have a draw axis of length 1 (the same weights in every draw);
    ``uncapped`` is ``share · sales`` when the caller has it already.

    The rounds run on arrays ``[draw, segment·powertrain]`` and ``[draw, maker]``, not on the
    full ``[draw, maker, segment, powertrain]`` split: an open (not yet capped) maker's sales
    are always ``w_msp · X_dsp`` with one level ``X`` per draw and segment × powertrain
    (``X = N_sp / Σ_m w_msp`` before any cap; each round adds ``displaced_sp / Σ_open w_msp``),
    and a maker capped in round ``r`` keeps ``f_m · w_msp · X⁽ʳ⁾_sp`` with its factor
    ``f_m = room_m / total_m``. So a round is two small matrix products (maker totals
    ``X·wᵀ`` and the open weight ``open·w``), and the split is built once at the end.
    """
    room = np.maximum(capacity - exports, 0.0)
    finite_room = np.isfinite(room)
    finite_room[:, residual_maker] = False
    if not finite_room.any():  # nobody has a capacity bound
        return share * sales[:, None] if uncapped is None else uncapped
    if rounds is None:
        rounds = int(finite_room.sum(-1).max()) + 1
    if w[:, residual_maker].min() < 1e-12:  # the residual maker always takes overflow: weight ≥ 1e-12
        w = w.copy()
        w[:, residual_maker] = np.maximum(w[:, residual_maker], 1e-12)
    n_draws, n_makers = room.shape
    w_flat = w.reshape(w.shape[0], w.shape[1], -1)  # [draw or 1, maker, k]
    one_w = w_flat.shape[0] == 1

    def maker_sum(x: np.ndarray) -> np.ndarray:  # Σ_k w_mk·x_dk → [draw, maker]
        return _matmul_rows(x, w_flat[0].T) if one_w else np.einsum("dk,dmk->dm", x, w_flat)

    def weight_sum(g: np.ndarray) -> np.ndarray:  # Σ_m g_dm·w_mk → [draw, k]
        return _matmul_rows(g, w_flat[0]) if one_w else np.einsum("dm,dmk->dk", g, w_flat)

    level = sales.reshape(n_draws, -1) / w_flat.sum(1)  # X⁽⁰⁾ = N / Σ_m w
    total = maker_sum(level)
    over = (total > room * (1 + 1e-12)) & finite_room
    if not over.any():  # no maker over its room: the uncapped split
        return share * sales[:, None] if uncapped is None else uncapped
    levels = [level]
    capped = np.zeros(room.shape, dtype=bool)
    cap_round = np.zeros(room.shape, dtype=np.intp)  # the round whose level a capped maker keeps
    factor_m = np.ones(room.shape)
    for r in range(rounds):
        if r:
            total = maker_sum(level)
            over = (total > room * (1 + 1e-12)) & finite_room & ~capped
            if not over.any():
                break
        factor = np.divide(room, total, out=np.ones_like(total), where=over)  # over ⇒ total > room ≥ 0; else 1
        capped |= over
        cap_round = np.where(over, r, cap_round)
        factor_m = np.where(over, factor, factor_m)
        # what the capped makers give up, by segment × powertrain: Σ_m w_mk·X_k·(1 − factor_m) ...
        displaced = level * weight_sum(1.0 - factor)  # 1 − factor = 0 for makers not over
        # ... goes to the open makers in proportion to their weights w (the residual maker is
        # always open, with w ≥ 1e-12): the level rises by displaced / Σ_open w
        level = level + displaced / weight_sum((~capped).astype(float))
        levels.append(level)
    # open makers take the last level; capped ones the level of the round they were capped in
    pick = np.where(capped, cap_round, len(levels) - 1)
    rows = np.concatenate(levels)  # [round·draw, k]: the level of round r, draw d in row r·D + d
    by_maker = np.take(rows, pick * n_draws + np.arange(n_draws)[:, None], axis=0)  # [draw, maker, k]
    by_maker *= w_flat
    by_maker *= factor_m[..., None]
    return by_maker.reshape(n_draws, n_makers, *sales.shape[1:])


def offer_matrix(makers: pd.DataFrame, years: np.ndarray) -> np.ndarray:
    """Who offers what: ``[year, maker, segment, powertrain]`` 0/1 from a makers table.

    Columns used: ``segments`` and ``powertrains`` (comma-separated names), ``first_year``
    (first year on offer) and ``last_year_ice`` (last year of ICE/HEV models; plug-ins stay).
    """
    from nevsim.technology import POWERTRAINS, SEGMENTS

    offer = np.zeros((len(years), len(makers), len(SEGMENTS), len(POWERTRAINS)))
    for m, row in enumerate(makers.itertuples()):  # a few rows at preparation, not in the loop
        segs = [SEGMENTS.index(x.strip()) for x in str(row.segments).split(",")]
        pts = [POWERTRAINS.index(x.strip()) for x in str(row.powertrains).split(",")]
        active = years >= int(row.first_year)
        for p in pts:
            alive = active & ((years <= int(row.last_year_ice)) if p in (0, 1) else True)
            offer[np.ix_(alive, [m], segs, [p])] = 1.0
    return offer


def cap_exports(exports: np.ndarray, capacity: np.ndarray, residual_maker: int) -> np.ndarray:
    """Exports ``[draw, maker]`` with no maker above its ``capacity`` ``[draw, maker]``.

    ``kept = min(exports, capacity)``; the excess goes to the makers without a bound (inf
    capacity, and the ``residual_maker``, never bounded) in proportion to their exports (all
    to the residual maker when they have none), so total exports are conserved.
    """
    exports = np.asarray(exports, dtype=float)
    bounded = np.isfinite(capacity)
    bounded[:, residual_maker] = False
    kept = np.where(bounded, np.minimum(exports, capacity), exports)
    excess = (exports - kept).sum(-1, keepdims=True)
    if not excess.any():
        return exports
    weight = np.where(bounded, 0.0, kept)
    weight[:, residual_maker] = np.maximum(weight[:, residual_maker], 1e-300)
    return kept + excess * weight / weight.sum(-1, keepdims=True)


def capacity_paths(
    points: dict[str, dict[int, float]],
    makers: tuple[str, ...] | list[str],
    years: np.ndarray,
    growth_pct_per_yr: float = 0.0,
) -> np.ndarray:
    """Production capacity ``[year, maker]`` (vehicles per year; inf = no bound).

    ``points`` maps maker → {year: capacity} (reported figures, ``maker_history.csv``).
    Between reported years the path is linear; before a maker's first reported year it is
    unbounded (inf: no figure, no bound); after its last reported year it grows from the last
    value by ``growth_pct_per_yr`` (0 = held, the default): ``C_t = C_last·(1 + g/100)^(t − t_last)``.
    Makers without figures are unbounded. A maker name not in ``makers`` or a value that is
    not a positive finite number is an :class:`~nevsim.errors.InputError`.
    """
    from nevsim.errors import InputError

    years = np.asarray(years)
    out = np.full((len(years), len(makers)), np.inf)
    for name, by_year in points.items():
        if name not in makers:
            raise InputError("maker_history.maker", f"capacity row for unknown maker {name!r}", allowed=list(makers))
        ys = np.array(sorted(by_year), dtype=float)
        vals = np.array([by_year[int(y)] for y in ys], dtype=float)
        if not (np.all(np.isfinite(vals)) and np.all(vals > 0)):
            raise InputError("maker_history.value", f"capacity of {name} must be a positive number of vehicles per year",
                             allowed=["> 0"])
        path = np.interp(years, ys, vals)
        after = years > ys[-1]
        path = np.where(after, vals[-1] * (1.0 + growth_pct_per_yr / 100.0) ** np.maximum(years - ys[-1], 0.0), path)
        out[:, makers.index(name)] = np.where(years >= ys[0], path, np.inf)
    return out


@dataclass(frozen=True)
class CreditSettlement:
    """One year's settlement of a tradable standard per maker, arrays ``[draw, maker]`` unless noted.

    Conservation, per maker (credits)::

        bank_in + earned + bought + unmet = required + sold + forfeited + expired + bank_out

    where ``required`` includes any carried obligation (China: last year's CAFC deficit),
    ``unmet`` is the deficit nobody could sell (the shortfall, > 0 only when the industry is
    short) and ``forfeited`` the part of an unsold surplus that may not be banked.
    """

    balance: np.ndarray  # earned − required + own bank used (before trading)
    bank_used: np.ndarray  # own banked credits used for the own deficit
    bought: np.ndarray
    sold: np.ndarray  # this year's surplus and banked credits sold
    sold_banked: np.ndarray  # of which banked credits
    unmet: np.ndarray  # deficit left after trading (non-compliance)
    unsold: np.ndarray  # this year's surplus not sold
    forfeited: np.ndarray  # unsold surplus that is not banked (carry-forward fraction < 1, condition failed)
    expired: np.ndarray  # banked credits past their life
    bank_out: np.ndarray  # [draw, maker, age] (age 0 = banked this year)

    @property
    def shortfall(self) -> np.ndarray:
        """Industry shortfall ``[draw]``: Σ unmet = max(−(Σ balance + Σ banked credits left), 0)."""
        return self.unmet.sum(-1)


def settle_credit_trades(earned: np.ndarray, required: np.ndarray, bank_in: np.ndarray | None, life_years: int,
                         carry_fraction: float, carry_allowed: np.ndarray | bool = True) -> CreditSettlement:
    """Own bank, trades and banking of one year, with banked credits **saleable** (design §3.3).

    ``earned``, ``required`` ``[draw, maker]`` (credits; ``required`` with any carried
    obligation); ``bank_in`` ``[draw, maker, age]`` (age 0 = banked last year; None: empty);
    ``life_years``: how many years this year's banked credits stay valid; ``carry_fraction``
    and ``carry_allowed`` (per maker): the share of an unsold surplus that is banked.

    1. Each maker covers its own deficit ``max(required − earned, 0)`` from its bank, oldest
       credits first: ``balance = earned − required + bank_used``.
    2. Short makers buy their deficit; the supply is this year's surplus first (pro rata: an
       unsold surplus keeps only ``carry_fraction`` of its value), then banked credits, oldest
       first (pro rata over makers within an age). When the industry is short, buyers get
       supply pro rata to their deficits; what is left is ``unmet`` (the shortfall).
    3. New bank: ``carry_fraction × carry_allowed ×`` unsold surplus at age 0; the banked
       credits left age by a year; those past ``life_years`` expire.

    The credit market (:func:`clear_credit_market`) counts the whole bank as supply, so the two
    agree: the industry is short (``unmet > 0``) exactly when Σ balance + Σ bank left < 0, i.e.
    when the market's excess at the year's sales is negative. The loops run over the few ages
    of the bank (the credit life), never over draws or makers.
    """
    net = np.subtract(earned, required, dtype=float)
    ages = 0 if bank_in is None else bank_in.shape[-1]
    if ages:
        bank = np.array(np.broadcast_to(bank_in, (*net.shape, ages)), dtype=float)  # a copy: drawn down below
        deficit = np.maximum(-net, 0.0)
        remaining = deficit
        for age in range(ages - 1, -1, -1):  # own deficit first, oldest credits first
            take = np.minimum(bank[..., age], remaining)
            bank[..., age] -= take
            remaining = remaining - take
        bank_used = deficit - remaining
        balance = net + bank_used
    else:
        bank = None
        bank_used = np.zeros(net.shape)
        balance = net
    need = np.maximum(-balance, 0.0)
    surplus = np.maximum(balance, 0.0)
    total_need = need.sum(-1, keepdims=True)
    fresh_total = surplus.sum(-1, keepdims=True)
    from_fresh = np.minimum(total_need, fresh_total)
    # where a total is 0 every part of it is 0 (parts are ≥ 0): dividing by 1 there gives 0
    sold_fresh = surplus * (from_fresh / np.where(fresh_total > 0, fresh_total, 1.0))
    rest = total_need - from_fresh
    sold_banked = np.zeros(net.shape)
    if bank is not None and rest.any():  # banked credits for the rest, oldest age first, pro rata within an age
        for age in range(ages - 1, -1, -1):
            avail = bank[..., age].sum(-1, keepdims=True)
            take = np.minimum(rest, avail)
            part = bank[..., age] * (take / np.where(avail > 0, avail, 1.0))
            bank[..., age] -= part
            sold_banked += part
            rest = rest - take
            if not rest.any():
                break
    traded = total_need - rest
    bought = need * (traded / np.where(total_need > 0, total_need, 1.0))
    unsold = surplus - sold_fresh
    life = max(int(life_years), 0)
    bank_out = np.zeros((*net.shape, life))
    kept = min(life - 1, ages) if life else 0
    if kept > 0:
        bank_out[..., 1:1 + kept] = bank[..., :kept]
    expired = bank[..., kept:].sum(-1) if bank is not None else np.zeros(net.shape)
    banked_new = 0.0
    if life and carry_fraction:
        banked_new = carry_fraction * unsold
        if carry_allowed is not True:
            banked_new = np.where(carry_allowed, banked_new, 0.0)
        bank_out[..., 0] = banked_new
    np.maximum(bank_out, 0.0, out=bank_out)  # rounding can leave −1e-12
    return CreditSettlement(balance=balance, bank_used=bank_used, bought=bought, sold=sold_fresh + sold_banked,
                            sold_banked=sold_banked, unmet=need - bought, unsold=unsold,
                            forfeited=unsold - banked_new, expired=expired, bank_out=bank_out)
