"""The plug-in constants fit (``nevsim.calibrate.fit_plugin_constants``) against the nested logit itself."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.calibrate import fit_plugin_constants
from nevsim.consumers import nested_logit_shares

PLUG = np.array([0.0, 0.0, 1.0, 1.0])
BEV = np.array([0.0, 0.0, 0.0, 1.0])


def _shares_after_fit(u, lam, n, a, b):
    shares = nested_logit_shares(u + a[:, None, None] * PLUG + b[:, None, None] * BEV, lam)
    sales = shares * n[..., None]
    ev = sales[..., 2:].sum((-1, -2))
    return ev / sales.sum((-1, -2)), sales[..., 3].sum(-1) / ev


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    draws=st.integers(1, 3),
    ev_share=st.floats(0.002, 0.95),
    bev_fraction=st.floats(0.05, 0.95),
    lam_plug=st.floats(0.3, 1.0),
)
def test_fit_reproduces_targets(seed, draws, ev_share, bev_fraction, lam_plug) -> None:
    _assert_fit_reproduces(seed, draws, ev_share, bev_fraction, lam_plug)


def _assert_fit_reproduces(seed: int, draws: int, ev_share: float, bev_fraction: float, lam_plug: float) -> None:
    """Random utilities and segment sales from ``seed``; the fit converges and hits both targets."""
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, 2.0, (draws, 5, 4))
    lam = np.column_stack([np.full(draws, 0.6), np.full(draws, lam_plug)])
    n = rng.uniform(1e5, 5e6, (draws, 5))
    a, b, ok = fit_plugin_constants(u, lam, n, np.full(draws, ev_share), np.full(draws, bev_fraction),
                                    (np.full(draws, -5.0), np.zeros(draws)))
    assert ok.all()
    s_ev, f = _shares_after_fit(u, lam, n, a, b)
    np.testing.assert_allclose(s_ev, ev_share, rtol=1e-8)
    np.testing.assert_allclose(f, bev_fraction, rtol=1e-8)


def test_fit_is_per_draw() -> None:
    """Each draw is fitted to its own targets; a converged draw is left alone."""
    rng = np.random.default_rng(1)
    u = rng.normal(0.0, 1.0, (3, 5, 4))
    lam = np.full((3, 2), 0.6)
    n = np.full((3, 5), 1e6)
    targets = np.array([0.05, 0.3, 0.6]), np.array([0.8, 0.7, 0.75])
    a, b, ok = fit_plugin_constants(u, lam, n, *targets, (np.zeros(3), np.zeros(3)))
    assert ok.all()
    s_ev, f = _shares_after_fit(u, lam, n, a, b)
    np.testing.assert_allclose(s_ev, targets[0], rtol=1e-8)
    np.testing.assert_allclose(f, targets[1], rtol=1e-8)
    a2, b2, _ = fit_plugin_constants(u, lam, n, *targets, (a, b))  # already at the solution
    np.testing.assert_array_equal(a2, a)
    np.testing.assert_array_equal(b2, b)


def test_fit_does_not_cycle() -> None:
    """Hypothesis found a case where plain Newton jumps between two points forever (segments' BEV
    shares near 0 or 1 at λ = 0.3125); the backtracking step converges it."""
    _assert_fit_reproduces(2038371, 3, 0.75, 0.25, 0.3125)
