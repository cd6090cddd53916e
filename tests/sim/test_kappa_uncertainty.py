"""κ's estimation uncertainty in Monte Carlo draws: κ = clip(κ̂ + z·se(κ̂), kappa_min, kappa_max)."""

from __future__ import annotations

import numpy as np
import pytest

from nevsim.scenario import load_scenario
from nevsim.simulate import run_frames


def _cal(overrides: dict, **kw):
    return run_frames(load_scenario("china-current-policies", overrides), until=2021, makers=False, **kw)[2]["calibration"]


def test_z_shifts_kappa_by_its_standard_errors() -> None:
    base = _cal({})
    assert base["kappa"] == _cal({"coefficients.kappa_se_z": 0.0})["kappa"]  # z = 0 is the one-draw run
    up = _cal({"coefficients.kappa_se_z": 2.0})
    down = _cal({"coefficients.kappa_se_z": -1.5})
    se = base["kappa_se"][0]
    assert np.isfinite(se) and se > 0
    assert up["kappa"][0] == pytest.approx(base["kappa"][0] + 2.0 * se, rel=1e-12)
    assert down["kappa"][0] == pytest.approx(max(0.0, base["kappa"][0] - 1.5 * se), rel=1e-12)


def test_clipped_at_the_bounds() -> None:
    cal = _cal({"coefficients.kappa_se_z": -3.0, "coefficients.kappa_min": 0.3})
    assert cal["kappa"][0] == pytest.approx(0.3)


def test_draws_sample_z_and_widen_the_spread() -> None:
    """With the coefficients sampled (the shipped scenario), κ varies more than the re-fit alone gives."""
    sampled = _cal({}, draws=40, seed=2)
    fixed = _cal({"coefficients.kappa_se_z": 0.0}, draws=40, seed=2)
    assert np.std(sampled["kappa"]) > 1.2 * np.std(fixed["kappa"])
