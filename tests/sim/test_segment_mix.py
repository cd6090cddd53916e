"""Segment offsets (``calibration.segment_mix = "observed"``, opt-in): the observed EV segment mix
of China is reproduced in history years, no row after a cutoff is used, and the joint fit keeps
shares that sum to 1 (nevsim.calibrate, 4.). The default ("none") fits no offsets."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim import data
from nevsim import simulate as S
from nevsim.calibrate import SegmentTarget, fit_segment_mix, segment_group_share
from nevsim.consumers import nested_logit_shares
from nevsim.errors import InputError
from nevsim.scenario import load_scenario
from nevsim.technology import SEGMENTS

SCENARIO = "china-current-policies"
OBSERVED = load_scenario(SCENARIO, {"calibration.segment_mix": "observed"})


def _fit(until=None, scenario=OBSERVED):
    inputs = S.prepare(scenario, until)
    trace, cal = S.run_years(inputs, None, fit=True, project=True)
    return inputs, trace, cal


def _group_share(seg_sales: np.ndarray, segments: str, bev: bool) -> float:
    x = seg_sales[:, 1] if bev else seg_sales.sum(-1)
    mask = np.isin(np.array(SEGMENTS), segments.split(";"))
    return float(x[mask].sum() / x.sum())


def test_observed_segment_mix_is_reproduced_in_history_years():
    """Each full-year row with fit = true is met to 1e-8 (one pair (A, B) for all segments gave
    2.8 % mini BEVs in 2021 against 32.9 % observed), and the EV share is still met."""
    inputs, trace, cal = _fit()
    rows = data.load("china_ev_segments")
    rows = rows[rows["fit"]]
    assert len(rows) >= 3
    seg = trace.diagnostics["plugin_sales_by_segment"]
    for row in rows.itertuples(index=False):
        t = int(np.flatnonzero(trace.years == row.year)[0])
        got = _group_share(seg[t], row.segments, row.basis == "BEV")
        assert got == pytest.approx(row.value / 100.0, abs=1e-8), (row.year, row.segments)
    assert cal.converged and cal.max_abs_error_pp < 1e-6
    ev = trace.data["sales_pt"][:, 0, 2:].sum(-1) / trace.data["sales_pt"][:, 0].sum(-1)
    hist = inputs.history.ev_share[: len(ev)]
    ok = np.isfinite(hist) & (trace.years <= inputs.history_last)
    np.testing.assert_allclose(ev[ok], hist[ok], atol=1e-9)


def test_offsets_carried_between_observations_and_held_after_the_cutoff():
    _, _, cal = _fit()
    off = cal.segment_offsets[:, 0]  # [year, segment], draw 0
    years = cal.years
    assert np.all(off[years < 2017] == 0.0)  # before the first observation: none
    np.testing.assert_array_equal(off[years == 2018][0], off[years == 2017][0])  # carried
    np.testing.assert_array_equal(off[years == 2022][0], off[years == 2021][0])
    assert np.all(off[:, 2:] == 0.0)  # only the observed groups (mini, small) move
    np.testing.assert_array_equal(cal.segment_offset(2040)[0], off[-1])  # held after the last year


@pytest.mark.parametrize("until, years", [(2016, set()), (2018, {2017}), (2020, {2017}), (2022, {2017, 2021})])
def test_no_segment_row_after_the_cutoff(until, years):
    """A cutoff sees only the segment rows up to it; before the first one it uses no offsets."""
    inputs = S.prepare(OBSERVED, until)
    assert set(inputs.history.segment_targets) == years
    _, cal = S.run_years(inputs, None, fit=True)
    if not years:
        assert cal.segment_offsets is None
    else:
        assert cal.segment_offsets is not None and cal.segment_offsets[:, 0, 0].any()


def test_rows_after_the_cutoff_do_not_change_the_run(monkeypatch):
    """Perturbing every china_ev_segments row after 2020 leaves a run cut at 2020 unchanged."""
    base = S.run(OBSERVED, until=2020).to_frame()
    real_load = data.load

    def load(name, *args, **kwargs):
        frame = real_load(name, *args, **kwargs)
        if name == "china_ev_segments":
            frame = frame.copy()
            late = frame["year"] > 2020
            frame.loc[late, "value"] = frame.loc[late, "value"] * 0.5 + 1.0
            frame.loc[late, "fit"] = True
        return frame

    monkeypatch.setattr(data, "load", load)
    S._load_history.cache_clear()
    try:
        again = S.run(OBSERVED, until=2020).to_frame()
    finally:
        S._load_history.cache_clear()
    np.testing.assert_array_equal(base["value"].to_numpy(), again["value"].to_numpy())


def _mini_share_of_bevs(trace, year: int) -> float:
    t = int(np.flatnonzero(trace.years == year)[0])
    return _group_share(trace.diagnostics["plugin_sales_by_segment"][t], "mini", bev=True)


def test_default_fits_no_segment_offsets():
    """``segment_mix`` defaults to "none": no offsets, and 2021's modelled mini share of BEVs stays
    where one (A, B) pair for every segment puts it (2.8 %, against 32.9 % observed), as on main;
    the setting moves it to the observation."""
    assert load_scenario(SCENARIO).calibration.segment_mix == "none"
    _, trace, cal = _fit(scenario=load_scenario(SCENARIO))
    assert cal.segment_offsets is None
    assert _mini_share_of_bevs(trace, 2021) == pytest.approx(0.028, abs=0.001)
    _, trace_on, _ = _fit()
    assert _mini_share_of_bevs(trace_on, 2021) == pytest.approx(0.329, abs=1e-8)


def test_setting_is_validated_named_and_china_only():
    with pytest.raises(InputError) as err:
        load_scenario(SCENARIO, {"calibration.segment_mix": "fitted"})
    assert err.value.field == "calibration.segment_mix" and set(err.value.allowed) == {"none", "observed"}
    with pytest.raises(InputError) as err:  # no observed mix for the US: the value would do nothing
        load_scenario("us-current-policies", {"calibration": {"segment_mix": "observed"}})
    assert err.value.field == "calibration.segment_mix" and "China (CN) only" in err.value.message
    # the default is left out of the resolved scenario: its hash is the one it had before the setting
    assert "segment_mix" not in load_scenario(SCENARIO).resolved()["calibration"]
    assert OBSERVED.resolved()["calibration"]["segment_mix"] == "observed"
    assert OBSERVED.hash != load_scenario(SCENARIO).hash


def test_counterfactual_with_the_setting_uses_offsets_fitted_on_the_factual_history():
    """A counterfactual is calibrated on its reference's history; ``segment_mix`` is how to fit,
    so it carries over: the offsets come from the factual fit, and the run differs from the
    counterfactual without the setting."""
    _, _, cal = _fit()
    cf = load_scenario("china-no-dual-credit", {"calibration.segment_mix": "observed"})
    cf_cal, _ = S.calibrate(cf)
    np.testing.assert_array_equal(cf_cal.segment_offsets, cal.segment_offsets)
    on, _, meta = S.run_frames(cf, makers=False)
    off, _, meta_off = S.run_frames("china-no-dual-credit", makers=False)
    assert meta["calibration"]["segment_mix"] == "observed" and meta_off["calibration"]["segment_mix"] == "none"
    assert not np.allclose(on["value"].to_numpy(), off["value"].to_numpy())


_TARGET_SETS = {
    "mini BEV": (("mini",), True),
    "mini+small BEV": (("mini", "small"), True),
    "mini+small plug-in": (("mini", "small"), False),
}


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    group=st.sampled_from(sorted(_TARGET_SETS)),
    true_offset=st.floats(-2.0, 3.0),
    lam_p=st.floats(0.4, 1.0),
)
def test_joint_fit_meets_every_target_and_shares_sum_to_one(seed, group, true_offset, lam_p):
    """Targets made by a known offset are met from zero (A, B, Δ), and shares stay a distribution."""
    rng = np.random.default_rng(seed)
    d, s = 1, len(SEGMENTS)  # one draw: a target share is one number (draws run in the model test)
    u = rng.normal(0.0, 1.0, (d, s, 4))
    lam = np.column_stack([np.full(d, 0.8), np.full(d, lam_p)])
    n = rng.uniform(0.5, 2.0, (d, s))
    names, bev = _TARGET_SETS[group]
    mask = np.isin(np.array(SEGMENTS), names)
    a_true, b_true = rng.normal(-1.0, 0.5, d), rng.normal(0.3, 0.5, d)
    full = u + a_true[:, None, None] * np.array([0, 0, 1.0, 1.0]) + \
        (b_true[:, None, None] + true_offset * mask[None, :, None]) * np.array([0, 0, 0, 1.0])
    sh = nested_logit_shares(full, lam)
    sales = sh * n[..., None]
    ev_share = sales[..., 2:].sum((-1, -2)) / n.sum(-1)
    bev_frac = sales[..., 3].sum(-1) / sales[..., 2:].sum((-1, -2))
    g, _ = segment_group_share(full, lam, n, SegmentTarget(mask=mask, bev=bev, share=0.5))
    target = SegmentTarget(mask=mask, bev=bev, share=float(g[0]))
    a, b, delta, ok = fit_segment_mix(u, lam, n, ev_share, bev_frac, (np.full(d, -5.0), np.zeros(d)), (target,))
    assert ok.all()
    fitted = u + a[:, None, None] * np.array([0, 0, 1.0, 1.0]) + \
        (b[:, None, None] + delta[..., None]) * np.array([0, 0, 0, 1.0])
    shares = nested_logit_shares(fitted, lam)
    np.testing.assert_allclose(shares.sum(-1), 1.0, atol=1e-12)
    assert np.all((shares >= 0) & (shares <= 1))
    fs = shares * n[..., None]
    np.testing.assert_allclose(fs[..., 2:].sum((-1, -2)) / n.sum(-1), ev_share, atol=1e-9)
    np.testing.assert_allclose(fs[..., 3].sum(-1) / fs[..., 2:].sum((-1, -2)), bev_frac, atol=1e-9)
    got, _ = segment_group_share(fitted, lam, n, target)
    np.testing.assert_allclose(got, g, atol=1e-9)
    assert np.all(delta[:, ~mask] == 0.0)  # only the group's segments move, by one common amount
    assert np.ptp(delta[:, mask], axis=1).max() < 1e-12
