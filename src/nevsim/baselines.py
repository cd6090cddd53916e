"""Naive forecasters that a back-test compares the model with (pure functions over arrays).

Each baseline sees only the history it is given — years ``t`` and EV sales shares ``s`` in
percent, both up to a cutoff — and forecasts the share for the requested later years. The
back-test (:mod:`nevsim.backtest`) hands them exactly the history up to its cutoff, so nothing
after the cutoff can reach them.

Baselines (see ``docs/backtest.md`` for the reading):

``logistic``
    S-curve ``s(t) = s_max / (1 + exp(-k (t - t0)))`` with three parameters, bounded:
    saturation ``0 < s_max ≤ 100 %``, midpoint year ``t0`` (from ten years before the first
    observation to forty after the last), steepness ``0.01 ≤ k ≤ 3 /yr``. Fitted by
    :func:`scipy.optimize.least_squares` on the residuals in percentage points (the level, so
    recent, larger shares weigh most) from a fixed grid of starting points; the best fit wins.
    The textbook technology-substitution curve (Fisher & Pry 1971; Griliches 1957).
``bass``
    Bass (1969) diffusion applied to the share of new sales: the share of new-car buyers who
    have switched to EVs is ``s(t) = m · F(τ)`` with the Bass cumulative adoption function
    ``F(τ) = (1 - exp(-(p+q) τ)) / (1 + (q/p) exp(-(p+q) τ))`` and ``τ = t - (t_first - 1)``,
    i.e. adoption starts in the year before the first observation (2009 for China's IEA series,
    which starts in 2010). Three parameters, bounded: innovation ``1e-7 ≤ p ≤ 0.2``, imitation
    ``0.01 ≤ q ≤ 2``, market potential ``0 < m ≤ 100 %``. Same least-squares fit in points.
``persistence``
    The last observed share, held: ``s(t) = s(t_last)``.
``logit_trend``
    A straight line in logit space fitted by ordinary least squares on the last
    :data:`LOGIT_TREND_YEARS` observations: ``logit(s/100) = a + b t``, extrapolated and
    transformed back, ``s(t) = 100 / (1 + exp(-(a + b t)))``. Shares are clipped to
    [0.01 %, 99.99 %] before the logit.

All functions take ``years`` and ``share_pct`` as 1-D arrays (increasing years, shares in
[0, 100]) and ``forecast_years`` as a 1-D array, and return a float array of shares in percent
of the same length as ``forecast_years``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from nevsim.errors import InputError

#: Observations the logit trend is fitted on (the last five years: the shortest history a
#: back-test allows, and long enough to average out one odd year).
LOGIT_TREND_YEARS = 5

#: Smallest number of observations a three-parameter fit accepts.
MIN_FIT_POINTS = 3

#: Bounds of the logistic parameters (s_max %, t0 offset years, k 1/yr); t0 bounds are
#: relative: first year − 10 … last year + 40.
LOGISTIC_S_MAX_PCT = (1e-3, 100.0)
LOGISTIC_K_PER_YR = (0.01, 3.0)
LOGISTIC_T0_BEFORE_FIRST_YR = 10.0
LOGISTIC_T0_AFTER_LAST_YR = 40.0

#: Bounds of the Bass parameters (p, q per year; m in percent).
BASS_P = (1e-7, 0.2)
BASS_Q = (0.01, 2.0)
BASS_M_PCT = (1e-3, 100.0)

_LOGIT_CLIP = (1e-4, 1.0 - 1e-4)
_MAX_NFEV = 300


@dataclass(frozen=True)
class Fit:
    """Fitted parameters of a baseline and the root-mean-square residual (points) on its history."""

    method: str
    params: dict[str, float]
    rmse_pp: float


def _check_history(years: np.ndarray, share_pct: np.ndarray, minimum: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(years, dtype=float)
    s = np.asarray(share_pct, dtype=float)
    if t.ndim != 1 or s.shape != t.shape:
        raise InputError("history", f"years and shares must be 1-D arrays of one length, got {t.shape} and {s.shape}.")
    if t.size < minimum:
        raise InputError("history", f"needs at least {minimum} observations, got {t.size}.")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(s))):
        raise InputError("history", "years and shares must be finite numbers (no NaN).")
    if np.any(np.diff(t) <= 0):
        raise InputError("history", "years must be strictly increasing.")
    if np.any((s < 0) | (s > 100)):
        raise InputError("history", "shares are percentages and must lie in [0, 100].")
    return t, s


def _as_years(forecast_years: np.ndarray) -> np.ndarray:
    out = np.asarray(forecast_years, dtype=float)
    if out.ndim != 1:
        raise InputError("forecast_years", f"must be a 1-D array of years, got shape {out.shape}.")
    return out


# ------------------------------------------------------------------------------ logistic


def logistic_share_pct(t: np.ndarray, s_max_pct: float, t0: float, k_per_yr: float) -> np.ndarray:
    """``s(t) = s_max / (1 + exp(-k (t - t0)))`` in percent (logistic S-curve, Fisher & Pry 1971)."""
    z = np.clip(-k_per_yr * (np.asarray(t, dtype=float) - t0), -700.0, 700.0)
    return s_max_pct / (1.0 + np.exp(z))


def _projected_amplitude(g: np.ndarray, s: np.ndarray, bounds: tuple[float, float]) -> np.ndarray:
    """Least-squares amplitude ``a`` of ``a · g ≈ s`` along the last axis, clipped to ``bounds``."""
    gg = np.einsum("...i,...i->...", g, g)
    gs = np.einsum("...i,i->...", g, s)
    return np.clip(np.divide(gs, gg, out=np.zeros_like(gg), where=gg > 0), *bounds)


def _grid_then_polish(shape: Callable[[np.ndarray, np.ndarray], np.ndarray], grid_a: np.ndarray,
                      grid_b: np.ndarray, s: np.ndarray, amp_bounds: tuple[float, float],
                      lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Global search, then a local fit: ``s ≈ amp · shape(a, b)`` with ``x = (amp, a, b)``.

    The amplitude enters linearly, so on a dense grid of ``(a, b)`` it is solved exactly
    (bounded projection) and the best grid point starts :func:`scipy.optimize.least_squares`
    over all three parameters within their bounds. Deterministic; no multi-start needed.
    """
    a, b = np.meshgrid(grid_a, grid_b, indexing="ij")
    g = shape(a[..., None], b[..., None])
    amp = _projected_amplitude(g, s, amp_bounds)
    sse = np.sum((amp[..., None] * g - s) ** 2, axis=-1)
    i, j = np.unravel_index(np.nanargmin(sse), sse.shape)
    x0 = np.clip(np.array([amp[i, j], a[i, j], b[i, j]]), lower, upper)

    def residuals(x: np.ndarray) -> np.ndarray:
        return x[0] * shape(x[1], x[2]) - s

    sol = least_squares(residuals, x0, bounds=(lower, upper), method="trf", x_scale="jac", max_nfev=_MAX_NFEV)
    best = sol.x if sol.cost <= 0.5 * sse[i, j] else x0
    return np.asarray(best, dtype=float)


def fit_logistic(years: np.ndarray, share_pct: np.ndarray) -> Fit:
    """Fit the bounded logistic S-curve to the history by least squares in points (see module doc)."""
    t, s = _check_history(years, share_pct, MIN_FIT_POINTS)
    lower = np.array([LOGISTIC_S_MAX_PCT[0], t[0] - LOGISTIC_T0_BEFORE_FIRST_YR, LOGISTIC_K_PER_YR[0]])
    upper = np.array([LOGISTIC_S_MAX_PCT[1], t[-1] + LOGISTIC_T0_AFTER_LAST_YR, LOGISTIC_K_PER_YR[1]])
    grid_t0 = np.linspace(lower[1], upper[1], 201)
    grid_k = np.geomspace(lower[2], upper[2], 121)
    x = _grid_then_polish(lambda t0, k: logistic_share_pct(t, 1.0, t0, k), grid_t0, grid_k, s,
                          LOGISTIC_S_MAX_PCT, lower, upper)

    def residuals(x: np.ndarray) -> np.ndarray:
        return logistic_share_pct(t, x[0], x[1], x[2]) - s

    rmse = float(np.sqrt(np.mean(residuals(x) ** 2)))
    return Fit("logistic", {"s_max_pct": float(x[0]), "t0": float(x[1]), "k_per_yr": float(x[2])}, rmse)


def logistic_forecast(years: np.ndarray, share_pct: np.ndarray, forecast_years: np.ndarray) -> np.ndarray:
    """Logistic S-curve fitted on the history, evaluated at ``forecast_years`` (percent)."""
    p = fit_logistic(years, share_pct).params
    return logistic_share_pct(_as_years(forecast_years), p["s_max_pct"], p["t0"], p["k_per_yr"])


# ---------------------------------------------------------------------------------- Bass


def bass_cdf(tau: np.ndarray, p: float, q: float) -> np.ndarray:
    """Bass (1969) cumulative adoption ``F(τ) = (1 - e^{-(p+q)τ}) / (1 + (q/p) e^{-(p+q)τ})``; 0 for τ ≤ 0."""
    tau = np.maximum(np.asarray(tau, dtype=float), 0.0)
    e = np.exp(-(p + q) * tau)
    return (1.0 - e) / (1.0 + (q / p) * e)


def bass_share_pct(t: np.ndarray, p: float, q: float, m_pct: float, start_year: float) -> np.ndarray:
    """Share of new sales ``s(t) = m · F(t - start_year)`` in percent (Bass diffusion of the share)."""
    return m_pct * bass_cdf(np.asarray(t, dtype=float) - start_year, p, q)


def fit_bass(years: np.ndarray, share_pct: np.ndarray) -> Fit:
    """Fit the bounded Bass share curve to the history by least squares in points (see module doc).

    The adoption origin is fixed at the year before the first observation (``params["start_year"]``).
    """
    t, s = _check_history(years, share_pct, MIN_FIT_POINTS)
    start = float(t[0] - 1.0)
    lower = np.array([BASS_M_PCT[0], BASS_P[0], BASS_Q[0]])
    upper = np.array([BASS_M_PCT[1], BASS_P[1], BASS_Q[1]])
    grid_p = np.geomspace(BASS_P[0], BASS_P[1], 121)
    grid_q = np.geomspace(BASS_Q[0], BASS_Q[1], 121)
    m, p, q = _grid_then_polish(lambda p, q: bass_cdf(t - start, p, q), grid_p, grid_q, s,
                                BASS_M_PCT, lower, upper)
    x = np.array([p, q, m])

    def residuals(x: np.ndarray) -> np.ndarray:
        return bass_share_pct(t, x[0], x[1], x[2], start) - s

    rmse = float(np.sqrt(np.mean(residuals(x) ** 2)))
    return Fit("bass", {"p_per_yr": float(x[0]), "q_per_yr": float(x[1]), "m_pct": float(x[2]),
                        "start_year": start}, rmse)


def bass_forecast(years: np.ndarray, share_pct: np.ndarray, forecast_years: np.ndarray) -> np.ndarray:
    """Bass share curve fitted on the history, evaluated at ``forecast_years`` (percent)."""
    p = fit_bass(years, share_pct).params
    return bass_share_pct(_as_years(forecast_years), p["p_per_yr"], p["q_per_yr"], p["m_pct"], p["start_year"])


# --------------------------------------------------------------------------- persistence


def persistence_forecast(years: np.ndarray, share_pct: np.ndarray, forecast_years: np.ndarray) -> np.ndarray:
    """The last observed share held for every forecast year (percent)."""
    _, s = _check_history(years, share_pct, 1)
    return np.full(_as_years(forecast_years).shape, s[-1], dtype=float)


# --------------------------------------------------------------------------- logit trend


def fit_logit_trend(years: np.ndarray, share_pct: np.ndarray, window: int = LOGIT_TREND_YEARS) -> Fit:
    """OLS line ``logit(s/100) = a + b t`` on the last ``window`` observations (intercept at t = 0)."""
    t, s = _check_history(years, share_pct, 2)
    if window < 2:
        raise InputError("window", f"needs at least 2 years, got {window}.")
    t, s = t[-window:], s[-window:]
    frac = np.clip(s / 100.0, *_LOGIT_CLIP)
    y = np.log(frac / (1.0 - frac))
    slope, intercept = np.polyfit(t - t[-1], y, 1)
    fitted = 100.0 / (1.0 + np.exp(-(intercept + slope * (t - t[-1]))))
    rmse = float(np.sqrt(np.mean((fitted - s) ** 2)))
    return Fit("logit_trend", {"a": float(intercept - slope * t[-1]), "b_per_yr": float(slope),
                               "window": float(t.size)}, rmse)


def logit_trend_forecast(years: np.ndarray, share_pct: np.ndarray, forecast_years: np.ndarray,
                         window: int = LOGIT_TREND_YEARS) -> np.ndarray:
    """Linear logit trend on the last ``window`` years, extrapolated to ``forecast_years`` (percent)."""
    p = fit_logit_trend(years, share_pct, window).params
    z = np.clip(p["a"] + p["b_per_yr"] * _as_years(forecast_years), -700.0, 700.0)
    return 100.0 / (1.0 + np.exp(-z))


#: The baselines by name, in report order: ``f(years, share_pct, forecast_years) -> share_pct``.
BASELINES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "logistic": logistic_forecast,
    "bass": bass_forecast,
    "persistence": persistence_forecast,
    "logit_trend": logit_trend_forecast,
}

#: The fits behind the baselines (for inspection), by name.
FITS: dict[str, Callable[[np.ndarray, np.ndarray], Fit]] = {
    "logistic": fit_logistic,
    "bass": fit_bass,
    "logit_trend": fit_logit_trend,
}
