"""Nested logit: shares are probabilities; the analytic derivative is right."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nevsim.consumers import nested_logit_shares, share_derivative

utilities = arrays(np.float64, (3, 5, 4), elements=st.floats(-60, 60, allow_nan=False))
lambdas = arrays(np.float64, (3, 2), elements=st.floats(0.05, 1.0))


@settings(max_examples=200, deadline=None)
@given(u=utilities, lam=lambdas)
def test_shares_sum_to_one_and_lie_in_unit_interval(u: np.ndarray, lam: np.ndarray) -> None:
    s = nested_logit_shares(u, lam)
    assert np.all(np.isfinite(s))
    assert np.all((s >= 0) & (s <= 1))
    np.testing.assert_allclose(s.sum(-1), 1.0, rtol=0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(u=arrays(np.float64, (2, 5, 4), elements=st.floats(-5, 5)), lam=arrays(np.float64, (2, 2), elements=st.floats(0.2, 1.0)),
       g=arrays(np.float64, (2, 5, 4), elements=st.floats(-2, 2)))
def test_analytic_derivative_matches_finite_difference(u: np.ndarray, lam: np.ndarray, g: np.ndarray) -> None:
    s, nest, cond = nested_logit_shares(u, lam, return_parts=True)
    h = 1e-6
    fd = (nested_logit_shares(u + h * g, lam) - nested_logit_shares(u - h * g, lam)) / (2 * h)
    np.testing.assert_allclose(share_derivative(s, nest, cond, lam, g), fd, atol=1e-6)


def test_lambda_one_is_multinomial_logit() -> None:
    u = np.array([[[0.3, -1.0, 0.5, 2.0]]])
    s = nested_logit_shares(u, np.ones((1, 2)))
    e = np.exp(u)
    np.testing.assert_allclose(s, e / e.sum(-1, keepdims=True))


def test_unavailable_alternative_gets_zero() -> None:
    u = np.zeros((1, 1, 4))
    mask = np.array([True, True, False, True])
    s = nested_logit_shares(u, np.full((1, 2), 0.5), mask)
    assert s[0, 0, 2] == 0 and abs(s.sum() - 1) < 1e-12 and s[0, 0, 3] > 0
