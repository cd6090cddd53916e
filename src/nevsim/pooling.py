"""Familiarity κ pooled over regions: one behavioural slope, several markets.

With ``calibration.kappa_fit = "pooled"`` the familiarity coefficient κ is not the slope of
one region's fitted plug-in constants on ln(plug-in stock share) (:func:`nevsim.calibrate.fit_kappa`)
but the common slope over the histories of the shipped regions (China, the United States,
the European Union) and the run's own region, each with its own intercept (a fixed-effects,
"within" estimator)::

    A_{r,t} = α_r + κ·ln(stock share_{r,t−1}) + e_{r,t},     t ≥ 2015, t ≤ the cutoff
    κ = Σ_r Σ_t (x_{rt} − x̄_r)(A_{rt} − Ā_r) / Σ_r Σ_t (x_{rt} − x̄_r)²,   clipped to [κ_min, κ_max]

Why: each region's constants also absorb region-specific policy shocks the model does not
represent (China's 2019 subsidy cut and the end of local top-ups, the EU's national bonuses of
2020–23). Fitted on one region, such a shock lands in κ (docs/research/backtest-diagnosis-regions.md);
the shocks are not shared across regions, so a slope fitted on three markets is less exposed
to any one of them, and it has three times the data.

Every region's history is read with the run's data cutoff (``until``): nothing after the
cutoff in any region reaches κ (tested in tests/backtest/test_backtest.py). The other regions'
constants are fitted once per process per cutoff (deterministic, one draw) and broadcast over
the run's draws.
"""

from __future__ import annotations

import functools

import numpy as np

from nevsim.calibrate import KAPPA_FIRST_YEAR
from nevsim.errors import InputError

__all__ = ["POOLED_REGIONS", "fit_kappa_pooled", "kappa_standard_error", "region_panel"]

#: Regions whose shipped default scenarios join the pooled fit (region code → scenario).
POOLED_REGIONS: dict[str, str] = {
    "CN": "china-current-policies",
    "US": "us-current-policies",
    "EU": "eu-current-policies",
}

Panel = tuple[np.ndarray, np.ndarray, np.ndarray]  # years [n], constants [n, draw], ln stock share [n, draw]


def fit_kappa_pooled(panels: list[Panel], lo: float, hi: float,
                     first_year: int = KAPPA_FIRST_YEAR) -> np.ndarray:
    """Within-region least-squares slope of the plug-in constants on ln(stock share), per draw, clipped.

    ``panels``: one ``(years, constants [year, draw], ln_stock_share [year, draw])`` per region;
    a panel with one draw is broadcast to the others. Years before ``first_year`` are left out
    (a panel with fewer than three such years contributes all its years, as
    :func:`nevsim.calibrate.fit_kappa` does). With a single panel this is
    :func:`nevsim.calibrate.fit_kappa`.
    """
    return np.clip(_within_fit(panels, first_year)[0], lo, hi)


def _within_fit(panels: list[Panel], first_year: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """The unclipped within slope ``[draw]``, the centred panels (:func:`_within`) and ``Σ (x − x̄_r)²``."""
    centred = _within(panels, first_year)
    sxy = sxx = np.zeros(1)
    for xd, yd in centred:
        sxy = sxy + (xd * yd).sum(0)
        sxx = sxx + (xd ** 2).sum(0)
    slope = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), 0.0)
    return slope, centred, sxx


def _within(panels: list[Panel], first_year: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each panel's ``(x − x̄_r, A − Ā_r)`` ``[year, draw]`` over the fitted years (broadcast to the most draws)."""
    if not panels:
        raise InputError("calibration.kappa_fit", "no region history to fit κ on", allowed=["own"])
    draws = max(np.asarray(p[1]).shape[1] for p in panels)
    out = []
    for years, constants, ln_share in panels:
        years = np.asarray(years)
        keep = years >= first_year
        if keep.sum() < 3:
            keep = np.ones_like(keep)
        x = np.broadcast_to(np.asarray(ln_share, float)[keep], (int(keep.sum()), draws))
        y = np.broadcast_to(np.asarray(constants, float)[keep], (int(keep.sum()), draws))
        out.append((x - x.mean(0), y - y.mean(0)))
    return out


def kappa_standard_error(panels: list[Panel], first_year: int = KAPPA_FIRST_YEAR) -> np.ndarray:
    """Standard error ``[draw]`` of the within slope of :func:`fit_kappa_pooled` (before clipping).

    Classical OLS with one intercept per panel: ``se = sqrt(Σ e² / (N − R − 1) / Σ (x − x̄_r)²)``,
    ``e = (A − Ā_r) − κ̂ (x − x̄_r)``, N fitted years over the R panels. It treats the fitted
    constants as data (their own fitting error is not included) and the years as independent,
    so it is a lower bound on the uncertainty of κ. NaN when there are no residual degrees of
    freedom or no variation in x. Monte Carlo draws that sample the coefficients shift κ by
    ``kappa_se_z`` of these (``nevsim.simulate._fit_kappa``).
    """
    slope, centred, sxx = _within_fit(panels, first_year)
    ok = sxx > 0
    rss = sum(((yd - slope * xd) ** 2).sum(0) for xd, yd in centred)
    dof = sum(xd.shape[0] for xd, _ in centred) - len(centred) - 1
    if dof <= 0:
        return np.full(np.shape(slope), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, np.sqrt(rss / dof / np.where(ok, sxx, 1.0)), np.nan)


@functools.lru_cache(maxsize=32)
def region_panel(scenario_name: str, until: int | None) -> Panel | None:
    """The fitted plug-in constants and ln(stock share) of a shipped scenario's history up to ``until``.

    The scenario is fitted with ``kappa_fit = "own"`` (the constants do not depend on κ: they
    are fitted with κ = 0); ``None`` if its region has too little history before the cutoff.
    Memoised per process (arrays read-only).
    """
    from nevsim.scenario import load_scenario
    from nevsim.simulate import prepare, run_years

    scenario = load_scenario(scenario_name)
    scenario = scenario.model_copy(update={
        "calibration": scenario.calibration.model_copy(update={"kappa_fit": "own"})})
    try:
        inputs = prepare(scenario, until)
    except InputError:  # e.g. no observed share on or before the cutoff
        return None
    trace, _ = run_years(inputs, None, fit=True)
    years, constants, ln_share = trace.diagnostics["kappa_panel"]
    panel = (np.array(years), np.array(constants[:, :1]), np.array(ln_share[:, :1]))
    for a in panel:
        a.setflags(write=False)
    return panel
