"""Credit market clearing and the maker split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.makers import RescaledNestedLogit, clear_credit_market, split_among_makers

BETA_PRICE = -0.2  # utility per 10,000 CNY
THETA = 0.7


def _market(ratio: float, asc_plugin: float, credits_bev: float, cap: float, bank: float = 0.0, draws: int = 1):
    rng = np.random.default_rng(3)
    u = rng.normal(0, 0.3, (draws, 5, 4))
    u[..., 2:] += asc_plugin
    lam = np.full((draws, 2), 0.6)
    earned = np.array([0.0, 0.0, 1.6, credits_bev])
    required = np.array([ratio, ratio, 0.0, 0.0])
    net = np.broadcast_to(earned - required, (draws, 5, 4)).copy()
    slope = -BETA_PRICE / 1e4 * THETA * net
    seg = np.full((draws, 5), 4e6)
    logit = RescaledNestedLogit(u, lam)
    sol = clear_credit_market(logit, lam, seg, net, slope, bank_in=np.full(draws, bank),
                              extra_required=np.zeros(draws), required_scale=np.full(draws, ratio * 2e7),
                              cap_cny=np.full(draws, cap))
    return sol, seg, net


@settings(max_examples=100, deadline=None)
@given(ratio=st.floats(0.0, 3.0), asc=st.floats(-6, 2), credits=st.floats(0.5, 5.0), cap=st.floats(100, 20000),
       bank=st.floats(0, 1e6))
def test_price_nonnegative_capped_and_complementary(ratio, asc, credits, cap, bank) -> None:
    sol, seg, net = _market(ratio, asc, credits, cap, bank)
    price, excess = sol.price[0], sol.excess[0]
    assert 0.0 <= price <= cap
    assert sol.converged.all()
    tol = 1e-6 * (ratio * 2e7 + 1)
    if price == 0:
        assert excess >= -tol  # long market: π = 0
    elif price < cap:
        assert abs(excess) <= tol  # interior: the market clears exactly
    else:
        assert sol.at_cap[0] and excess < 0  # non-compliance at the cap, no crash
    # shares at the reported price are consistent with the reported excess
    recomputed = (seg[..., None] * net * sol.shares).sum() + bank
    assert abs(recomputed - excess) <= max(tol, 1e-6 * abs(excess))


@settings(max_examples=60, deadline=None)
@given(r1=st.floats(0.0, 2.0), r2=st.floats(0.0, 2.0), asc=st.floats(-5, 0))
def test_price_monotone_in_the_ratio(r1, r2, asc) -> None:
    lo, hi = sorted((r1, r2))
    p_lo = _market(lo, asc, 2.0, 3000.0)[0].price[0]
    p_hi = _market(hi, asc, 2.0, 3000.0)[0].price[0]
    assert p_hi >= p_lo - 1e-6


def test_unmeetable_standard_is_non_compliance_at_the_cap() -> None:
    sol, _, _ = _market(ratio=50.0, asc_plugin=-8.0, credits_bev=1.0, cap=3000.0)
    assert sol.at_cap[0] and sol.price[0] == 3000.0 and sol.excess[0] < 0


def test_vectorised_over_draws_matches_single_draws() -> None:
    many, _, _ = _market(0.3, -3.0, 2.0, 3000.0, draws=4)
    assert many.price.shape == (4,)
    assert np.all(many.price >= 0)


def test_split_conserves_totals_and_respects_capacity() -> None:
    rng = np.random.default_rng(0)
    sales = rng.uniform(0, 1e5, (2, 5, 4))
    w = rng.uniform(0, 1, (2, 4, 5, 4))
    cap = np.array([[1e4, np.inf, 5e4, np.inf], [2e4, 1e5, np.inf, np.inf]])
    exports = np.full((2, 4), 1000.0)
    out = split_among_makers(sales, w, cap, exports, residual_maker=3)
    np.testing.assert_allclose(out.sum(1), sales, rtol=1e-10)
    produced = out.sum((-1, -2)) + exports
    assert np.all(produced <= cap * (1 + 1e-9))


@pytest.mark.parametrize("rows", [1, 999, 1000, 1001, 2017, 10_000])
def test_matmul_in_row_blocks_equals_the_product(rows: int) -> None:
    """The blocked product (single-threaded BLAS blocks) is the plain product, whatever the row count."""
    from nevsim.makers import _matmul_rows

    rng = np.random.default_rng(rows)
    a, b = rng.normal(size=(rows, 20)), rng.normal(size=(20, 13))
    np.testing.assert_allclose(_matmul_rows(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert _matmul_rows(a, b).shape == (rows, 13)
