"""Distributions, reproducible sampling, quantiles, probability_met and sensitivity designs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from nevsim.errors import InputError
from nevsim.uncertainty import (
    DEFAULT_QUANTILES,
    Normal,
    coefficient_distributions,
    parse_correlation,
    parse_distribution,
    parse_distributions,
    probability_met,
    quantiles,
    sample,
    sobol,
    tornado,
)

SPECS = {
    "technology.battery_learning_rate": {"dist": "normal", "mean": 0.18, "sd": 0.03, "min": 0.05, "max": 0.35},
    "fleet.vkt_km_per_year": {"dist": "lognormal", "mean": 12000.0, "sd": 2000.0},
    "technology.cny_per_usd": {"dist": "triangular", "low": 6.5, "mode": 7.1, "high": 8.0},
    "policy.dual_credit.pass_through": {"dist": "uniform", "low": 0.5, "high": 0.9},
    "switch": {"dist": "choice", "values": [0, 1], "weights": [0.7, 0.3]},
}


# ---------------------------------------------------------------------------- validation


@pytest.mark.parametrize(("table", "field", "words"), [
    ({"dist": "gamma", "mean": 1}, "x.dist", "unknown distribution"),
    ({"dist": "normal", "mean": 1}, "x.sd", "missing"),
    ({"dist": "normal", "mean": 1, "sd": 0}, "x.sd", "greater than 0"),
    ({"dist": "normal", "mean": 1, "sd": 1, "low": 0}, "x.low", "unknown key"),
    ({"dist": "normal", "mean": 1, "sd": 1, "min": 2, "max": 1}, "x", "must be below"),
    ({"dist": "normal", "mean": 0, "sd": 1, "min": 0, "max": 1e-13}, "x", "too little to draw from"),
    ({"dist": "normal", "mean": 0, "sd": 1, "min": 50, "max": 60}, "x", "mean (0.0) must lie within"),  # (QA 2)
    ({"dist": "lognormal", "mean": 5, "sd": 1, "max": 4}, "x", "mean (5.0) must be ≤ max (4.0)"),  # not "None–4.0"
    ({"dist": "normal", "mean": 5, "sd": 1, "min": 6}, "x", "mean (5.0) must be ≥ min (6.0)"),
    ({"dist": "lognormal", "mean": -1, "sd": 1}, "x.mean", "greater than 0"),
    ({"dist": "uniform", "low": 2, "high": 1}, "x", "below high"),
    ({"dist": "triangular", "low": 0, "mode": 3, "high": 2}, "x", "low ≤ mode ≤ high"),
    ({"dist": "choice", "values": [1, 2], "weights": [1]}, "x", "1 weights for 2 values"),
    ({"dist": "choice", "values": []}, "x.values", "at least 1"),
    ({"dist": "uniform", "low": "a", "high": 1}, "x.low", "valid number"),
])
def test_bad_distributions_name_the_field(table: dict, field: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        parse_distribution(table, "x")
    assert err.value.field == field
    assert words in err.value.message
    assert err.value.allowed


@pytest.mark.parametrize(("table", "allowed"), [
    ({"dist": "normal", "mean": 1, "sd": 0}, ["> 0.0"]),
    ({"dist": "lognormal", "mean": 1, "sd": -2}, ["> 0.0"]),
    ({"dist": "uniform", "low": "a", "high": 1}, ["a number"]),
    ({"dist": "choice", "values": []}, ["at least 1 value"]),
    ({"dist": "normal", "mean": float("inf"), "sd": 1}, ["a finite number"]),
    ({"dist": "normal", "mean": 1, "sd": float("nan")}, ["a finite number"]),
    ({"dist": "uniform", "low": True, "high": 2}, ["a number"]),
    ({"dist": "choice", "values": [1, True]}, ["a list of numbers"]),
])
def test_a_value_out_of_range_lists_its_range_not_the_keys(table: dict, allowed: list[str]) -> None:
    with pytest.raises(InputError) as err:
        parse_distribution(table, "x")
    assert err.value.allowed == allowed


@pytest.mark.parametrize(("table", "central"), [
    ({"dist": "lognormal", "mean": 1, "sd": 0.01, "min": 1, "max": 1 + 1e-14}, "0.9836–1.017"),
    ({"dist": "normal", "mean": 0, "sd": 1, "min": 0, "max": 1e-13}, "-1.645–1.645"),
])
def test_bounds_without_probability_say_what_is_needed(table: dict, central: str) -> None:
    """QA: min/max keeping no probability ended with "Allowed: min ≤ mean ≤ max", which they met."""
    with pytest.raises(InputError) as err:
        parse_distribution(table, "x")
    assert "keep a probability of only" in err.value.message and table["dist"] in err.value.message
    assert err.value.allowed == [f"min < max keeping a probability > 1e-12 between them (wider bounds, e.g. around "
                                 f"the untruncated distribution's central 90 %, {central})"]
    assert "mean" not in " ".join(err.value.allowed)


def test_not_a_table_is_an_input_error() -> None:
    with pytest.raises(InputError, match="a distribution is a table"):
        parse_distribution(0.18, "technology.battery_learning_rate")  # type: ignore[arg-type]


def test_parse_distributions_from_nested_and_dotted_tables() -> None:
    nested = {"technology": {"battery_learning_rate": SPECS["technology.battery_learning_rate"], "cny_per_usd": 7.1}}
    dotted = {"technology.battery_learning_rate": SPECS["technology.battery_learning_rate"]}
    assert parse_distributions(nested) == parse_distributions(dotted)
    assert list(parse_distributions(nested)) == ["technology.battery_learning_rate"]
    with pytest.raises(InputError) as err:
        parse_distributions({"technology": {"battery_learning_rate": {"dist": "normal", "mean": 0.2}}})
    assert err.value.field == "technology.battery_learning_rate.sd"


def test_marginals_match_their_distributions() -> None:
    draws = sample(SPECS, 20_000, seed=11)
    lr = draws["technology.battery_learning_rate"]
    assert lr.min() >= 0.05 and lr.max() <= 0.35
    assert abs(lr.mean() - 0.18) < 0.002 and abs(lr.std() - 0.03) < 0.002
    vkt = draws["fleet.vkt_km_per_year"]
    assert abs(vkt.mean() / 12000 - 1) < 0.01 and abs(vkt.std() / 2000 - 1) < 0.03
    tri = draws["technology.cny_per_usd"]
    assert stats.kstest(tri, stats.triang(c=0.6 / 1.5, loc=6.5, scale=1.5).cdf).pvalue > 0.001
    uni = draws["policy.dual_credit.pass_through"]
    assert uni.min() >= 0.5 and uni.max() <= 0.9 and abs(uni.mean() - 0.7) < 0.005
    assert set(np.unique(draws["switch"])) == {0.0, 1.0}
    assert abs(draws["switch"].mean() - 0.3) < 0.015


def test_truncation_is_exact_not_clipping() -> None:
    dist = Normal(mean=0.0, sd=1.0, min=0.0)  # a half-normal
    x = sample({"z": dist}, 20_000, seed=3)["z"]
    assert x.min() >= 0 and np.mean(x == 0.0) == 0.0  # no mass piled at the bound
    assert abs(x.mean() - np.sqrt(2 / np.pi)) < 0.02
    assert dist.percentile(0.5) == pytest.approx(stats.halfnorm.ppf(0.5))


# ---------------------------------------------------------------------------- reproducibility


def test_same_seed_same_draws_other_seed_other_draws() -> None:
    a, b, c = sample(SPECS, 500, 1), sample(SPECS, 500, 1), sample(SPECS, 500, 2)
    assert all(np.array_equal(a[k], b[k]) for k in SPECS)
    assert not np.array_equal(a["fleet.vkt_km_per_year"], c["fleet.vkt_km_per_year"])


@pytest.mark.parametrize("chunk", [1000, 2500, 333])
def test_draws_do_not_depend_on_chunk_size(chunk: int) -> None:
    whole = sample(SPECS, 10_000, seed=42)
    parts = [sample(SPECS, min(chunk, 10_000 - s), seed=42, start=s) for s in range(0, 10_000, chunk)]
    for name in SPECS:
        assert np.array_equal(whole[name], np.concatenate([p[name] for p in parts])), name


def test_a_parameter_does_not_depend_on_the_others() -> None:
    alone = sample({"fleet.vkt_km_per_year": SPECS["fleet.vkt_km_per_year"]}, 1000, seed=5)
    together = sample(dict(reversed(list(SPECS.items()))), 1000, seed=5)
    assert np.array_equal(alone["fleet.vkt_km_per_year"], together["fleet.vkt_km_per_year"])


# ---------------------------------------------------------------------------- correlation


def test_gaussian_copula_gives_the_correlation_and_keeps_marginals() -> None:
    specs = {"oil": {"dist": "normal", "mean": 7.5, "sd": 1.0}, "power": {"dist": "normal", "mean": 0.6, "sd": 0.1},
             "other": {"dist": "uniform", "low": 0, "high": 1}}
    corr = [{"names": ["oil", "power"], "matrix": [[1.0, 0.6], [0.6, 1.0]]}]
    x = sample(specs, 40_000, seed=9, correlations=corr)
    assert np.corrcoef(x["oil"], x["power"])[0, 1] == pytest.approx(0.6, abs=0.02)
    assert abs(np.corrcoef(x["oil"], x["other"])[0, 1]) < 0.02
    assert x["power"].std() == pytest.approx(0.1, rel=0.03)
    chunked = [sample(specs, 1000, seed=9, start=s, correlations=corr) for s in range(0, 40_000, 1000)]
    assert np.array_equal(x["power"], np.concatenate([c["power"] for c in chunked]))


@pytest.mark.parametrize(("group", "words"), [
    ({"names": ["a", "b"], "matrix": [[1, 0.5], [0.4, 1]]}, "symmetric"),
    ({"names": ["a", "b"], "matrix": [[2, 0.5], [0.5, 1]]}, "diagonal"),
    ({"names": ["a", "b", "c"], "matrix": [[1, 0.9, -0.9], [0.9, 1, 0.9], [-0.9, 0.9, 1]]}, "positive semi-definite"),
    ({"names": ["a", "b"], "matrix": [[1, 0.5]]}, "2×2"),
    ({"names": ["a"], "matrix": [[1]]}, "at least 2"),
])
def test_bad_correlation_groups(group: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        parse_correlation(group)


def test_correlation_names_must_have_distributions() -> None:
    with pytest.raises(InputError) as err:
        sample({"a": {"dist": "uniform", "low": 0, "high": 1}}, 10, 0,
               correlations=[{"names": ["a", "b"], "matrix": [[1, 0.2], [0.2, 1]]}])
    assert err.value.field == "correlations[0].names" and err.value.allowed == ["a"]


def test_singular_but_psd_matrix_is_accepted() -> None:
    x = sample({"a": {"dist": "normal", "mean": 0, "sd": 1}, "b": {"dist": "normal", "mean": 0, "sd": 1}}, 2000, 1,
               correlations=[{"names": ["a", "b"], "matrix": [[1, 1], [1, 1]]}])
    assert np.allclose(x["a"], x["b"])


# ---------------------------------------------------------------------------- coefficients.csv


def test_coefficient_distributions_read_the_table() -> None:
    dists = coefficient_distributions()
    assert dists["beta_price"] == Normal(mean=-0.2, sd=0.05, max=0.0)  # sign known: truncated at 0
    assert dists["beta_choice"].min == 0.0 and dists["beta_choice"].percentile(1e-6) >= 0.0
    assert dists["opex_horizon_years"].low == 3 and dists["opex_horizon_years"].high == 7
    assert "kappa_familiarity" not in dists and "gasoline_kg_co2_per_l" not in dists


# ---------------------------------------------------------------------------- quantiles and probability


def _draw_table(values: np.ndarray) -> pd.DataFrame:
    n_draws, n_years = values.shape
    return pd.DataFrame({
        "scenario": "s", "variable": "Sales Share|Cars|EV", "unit": "%",
        "year": np.tile(2030 + np.arange(n_years), n_draws), "draw": np.repeat(np.arange(n_draws), n_years),
        "value": values.reshape(-1),
    })


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=3), min_size=1, max_size=40))
def test_quantiles_are_ordered_and_within_the_draws(rows: list[list[float]]) -> None:
    values = np.array(rows)
    out = quantiles(_draw_table(values))
    assert list(out.columns) == ["scenario", "variable", "unit", "year", "quantile", "value"]
    assert len(out) == 3 * len(DEFAULT_QUANTILES)
    for year, group in out.groupby("year"):
        q = group.sort_values("quantile")["value"].to_numpy()
        assert np.all(np.diff(q) >= -1e-9 * max(1.0, np.abs(q).max()))
        col = values[:, year - 2030]
        assert q[0] >= col.min() - 1e-9 and q[-1] <= col.max() + 1e-9


def test_quantiles_match_numpy() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(101, 4))
    out = quantiles(_draw_table(values), q=(0.5, 0.05))
    got = out[out["year"] == 2032].set_index("quantile")["value"]
    assert got[0.05] == pytest.approx(np.quantile(values[:, 2], 0.05))
    assert got[0.5] == pytest.approx(np.median(values[:, 2]))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(2030, 2032), st.integers(0, 5),
                          st.one_of(st.floats(-1e3, 1e3), st.just(float("nan")))), min_size=1, max_size=60),
       st.booleans(), st.booleans())
def test_quantiles_equal_pandas_groupby_in_any_row_order(rows, simulation_layout: bool, categorical: bool) -> None:
    """Whatever the row order (shuffled, or each key's draws side by side as simulated), label
    dtype, missing draws or NaN values: the quantiles are pandas' per-key quantiles, NaN ignored,
    keys in order of first appearance and with the frame's dtypes."""
    frame = pd.DataFrame(rows, columns=["variable", "year", "draw", "value"]).drop_duplicates(["variable", "year", "draw"])
    if simulation_layout:  # every key with the same draws, in blocks
        full = pd.MultiIndex.from_product([sorted(frame["variable"].unique()), sorted(frame["year"].unique()),
                                           sorted(frame["draw"].unique())], names=["variable", "year", "draw"])
        frame = frame.set_index(["variable", "year", "draw"]).reindex(full).reset_index()
    if categorical:
        frame["variable"] = frame["variable"].astype("category")
    out = quantiles(frame, q=(0.05, 0.5, 0.95))
    assert out["variable"].dtype == frame["variable"].dtype and out["year"].dtype == frame["year"].dtype
    keys = frame[["variable", "year"]].drop_duplicates()
    assert out[["variable", "year"]].drop_duplicates().astype(str).values.tolist() == keys.astype(str).values.tolist()
    for (variable, year), group in frame.groupby(["variable", "year"], observed=True):
        want = group["value"].quantile([0.05, 0.5, 0.95]).to_numpy()
        got = out[(out["variable"] == variable) & (out["year"] == year)]["value"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def test_quantiles_of_rows_whose_draws_are_all_alike_are_numpys() -> None:
    """Rows with one value in every draw (taken without sorting) give what np.quantile gives, bit
    for bit, next to varying rows, a row with NaN, and constant ±inf and −0.0 rows."""
    rows = {"const": [2.5] * 4, "varied": [1.0, 4.0, 2.0, 3.0], "nan": [1.0, np.nan, 3.0, 2.0],
            "inf": [np.inf] * 4, "minus_zero": [-0.0] * 4, "mixed_zeros": [-0.0, 0.0, 0.0, -0.0],
            "huge": [1e308] * 4, "negative": [-7.25] * 4}
    frame = pd.DataFrame([(k, d, v) for k, vs in rows.items() for d, v in enumerate(vs)],
                         columns=["variable", "draw", "value"])
    qs = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
    out = quantiles(frame, q=qs)
    for name, vs in rows.items():
        got = out[out["variable"] == name]["value"].to_numpy()
        with np.errstate(invalid="ignore"):
            want = np.nanquantile(np.array(vs), qs)
        np.testing.assert_array_equal(got, want)
        assert np.signbit(got).tolist() == np.signbit(want).tolist()  # ±0.0 as numpy gives them


def test_quantiles_reject_bad_input() -> None:
    with pytest.raises(InputError, match="draw"):
        quantiles(pd.DataFrame({"value": [1.0]}))
    with pytest.raises(InputError, match="fractions"):
        quantiles(_draw_table(np.ones((2, 2))), q=(5, 50))


def test_probability_met() -> None:
    values = np.array([10.0, 20.0, 30.0, 40.0, np.nan])
    assert probability_met(values, 20.0) == pytest.approx(3 / 5)
    assert probability_met(values, 20.0, ">") == pytest.approx(2 / 5)
    assert probability_met(values, 20.0, "<=") == pytest.approx(2 / 5)
    with pytest.raises(InputError) as err:
        probability_met(values, 1.0, "at least")
    assert err.value.allowed == [">=", ">", "<=", "<"]


# ---------------------------------------------------------------------------- sensitivity


def ishigami(p: dict[str, np.ndarray], a: float = 7.0, b: float = 0.1) -> np.ndarray:
    """Ishigami & Homma (1990): f = sin x1 + a sin² x2 + b x3⁴ sin x1, x_i ~ U(−π, π)."""
    return np.sin(p["x1"]) + a * np.sin(p["x2"]) ** 2 + b * p["x3"] ** 4 * np.sin(p["x1"])


def test_sobol_recovers_ishigami_indices() -> None:
    a, b = 7.0, 0.1
    v1 = 0.5 * (1 + b * np.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    expected_s1 = {"x1": v1 / var, "x2": v2 / var, "x3": 0.0}  # 0.314, 0.442, 0
    expected_st = {"x1": (v1 + v13) / var, "x2": v2 / var, "x3": v13 / var}  # 0.558, 0.442, 0.244
    specs = {k: {"dist": "uniform", "low": -np.pi, "high": np.pi} for k in ("x1", "x2", "x3")}
    out = sobol(ishigami, specs, n_base=8192, seed=1).set_index("parameter")
    for name in specs:
        assert out.loc[name, "S1"] == pytest.approx(expected_s1[name], abs=0.03), name
        assert out.loc[name, "ST"] == pytest.approx(expected_st[name], abs=0.03), name
        assert 0 < out.loc[name, "ST_conf"] < 0.05


def test_sobol_of_an_additive_linear_model_and_several_outputs() -> None:
    specs = {"a": {"dist": "normal", "mean": 0, "sd": 1}, "b": {"dist": "normal", "mean": 0, "sd": 2}}

    def f(p: dict[str, np.ndarray]) -> np.ndarray:
        return np.stack([p["a"] + p["b"], p["a"]], axis=1)

    out = sobol(f, specs, n_base=4096, seed=2, outputs=["sum", "a only"], n_bootstrap=0)
    s = out.set_index(["output", "parameter"])
    assert s.loc[("sum", "a"), "S1"] == pytest.approx(0.2, abs=0.02)
    assert s.loc[("sum", "b"), "ST"] == pytest.approx(0.8, abs=0.02)
    assert s.loc[("a only", "a"), "S1"] == pytest.approx(1.0, abs=0.01)  # (sampling error of mean(f_B (f_AB − f_A)))
    assert s.loc[("a only", "b"), "ST"] == pytest.approx(0.0, abs=1e-12)
    assert s.loc[("a only", "b"), "S1"] == pytest.approx(0.0, abs=1e-12)  # no effect: exactly 0


@pytest.mark.parametrize("n_base", [16, 64, 256])
def test_sobol_gives_a_parameter_without_effect_no_first_order_index(n_base: int) -> None:
    """Jansen's first-order estimator (V − ½ mean((f_B − f_AB)²)) / V gave every parameter that does
    not reach the output the same S1 of 0.08–0.35 at small n (above its ST of 0); Saltelli's (2010)
    mean(f_B (f_AB − f_A)) / V is exactly 0 for it, and S1 ≤ ST holds within sampling error."""
    specs = {"a": {"dist": "uniform", "low": 0, "high": 1}, "b": {"dist": "normal", "mean": 0, "sd": 1},
             "idle": {"dist": "uniform", "low": 0, "high": 1}, "idle2": {"dist": "normal", "mean": 3, "sd": 1}}
    out = sobol(lambda p: p["a"] + 0.5 * p["b"] + p["a"] * p["b"], specs, n_base=n_base, seed=1, n_bootstrap=0)
    s = out.set_index("parameter")
    assert (s.loc[["idle", "idle2"], ["S1", "ST"]] == 0).all().all()
    assert (s["S1"] <= s["ST"] + 0.15).all()


@pytest.mark.parametrize("n_base", [8, 15.0, True])
def test_sobol_base_sample_error_names_what_is_allowed(n_base: object) -> None:
    with pytest.raises(InputError) as err:
        sobol(lambda p: p["a"], {"a": {"dist": "uniform", "low": 0, "high": 1}}, n_base=n_base)  # type: ignore[arg-type]
    assert err.value.field == "n_base"
    assert err.value.allowed and "a power of 2" in err.value.allowed[-1]


def test_tornado_low_high_percentiles_and_order() -> None:
    specs = {"a": {"dist": "uniform", "low": 0, "high": 10}, "b": {"dist": "normal", "mean": 5, "sd": 1},
             "c": {"dist": "uniform", "low": 0, "high": 1}}
    calls = []

    def f(p: dict[str, np.ndarray]) -> np.ndarray:
        calls.append(len(p["a"]))
        return 1.0 * p["a"] - 3.0 * p["b"] + 0.0 * p["c"]

    out = tornado(f, specs)
    assert calls == [7]  # one vectorised call on 2k + 1 points
    assert out["parameter"].tolist() == ["b", "a", "c"]  # swings 3·2·1.645σ = 9.87, 9.0, 0
    row = out.set_index("parameter").loc["a"]
    assert (row["low_value"], row["high_value"]) == pytest.approx((0.5, 9.5))
    assert row["base_output"] == pytest.approx(5.0 - 15.0)
    assert out.set_index("parameter").loc["b", "swing"] == pytest.approx(3 * 2 * stats.norm.ppf(0.95))


def test_model_with_wrong_output_shape_is_an_input_error() -> None:
    with pytest.raises(InputError, match="one row per point"):
        tornado(lambda p: np.zeros(2), {"a": {"dist": "uniform", "low": 0, "high": 1}})


# --- the quantile functions are scipy.stats' own, written with scipy.special (bit for bit)

@pytest.mark.parametrize("dist, frozen", [
    ({"dist": "normal", "mean": 0.18, "sd": 0.02}, lambda: stats.norm(loc=0.18, scale=0.02)),
    ({"dist": "lognormal", "mean": 2.0, "sd": 0.5},
     lambda: stats.lognorm(s=np.sqrt(np.log1p(0.0625)), scale=np.exp(np.log(2.0) - np.log1p(0.0625) / 2))),
    ({"dist": "triangular", "low": -3.0, "mode": 0.1, "high": 7.5},
     lambda: stats.triang(c=3.1 / 10.5, loc=-3.0, scale=10.5)),
    ({"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 1.0},
     lambda: stats.triang(c=0.0, loc=0.0, scale=1.0)),
])
def test_quantiles_equal_scipy_stats(dist: dict, frozen) -> None:
    from nevsim.uncertainty import parse_distribution

    u = np.concatenate([np.random.default_rng(3).random(5_000), [1e-12, 0.5, 1 - 1e-12]])
    assert np.array_equal(parse_distribution(dist, "x").ppf(u), frozen().ppf(u))


@pytest.mark.parametrize("dist", [
    {"dist": "normal", "mean": 0.18, "sd": 0.02, "min": 0.15, "max": 0.3},
    {"dist": "lognormal", "mean": 2.0, "sd": 0.5, "min": 1.5, "max": 4.0},
    {"dist": "lognormal", "mean": 2.0, "sd": 0.5, "min": -1.0},
])
def test_truncated_quantiles_equal_scipy_stats(dist: dict) -> None:
    from nevsim.uncertainty import parse_distribution

    d = parse_distribution(dist, "x")
    if dist["dist"] == "normal":
        base = stats.norm(loc=dist["mean"], scale=dist["sd"])
    else:
        s2 = np.log1p((dist["sd"] / dist["mean"]) ** 2)
        base = stats.lognorm(s=np.sqrt(s2), scale=np.exp(np.log(dist["mean"]) - s2 / 2))
    lo = 0.0 if "min" not in dist else base.cdf(dist["min"])
    hi = 1.0 if "max" not in dist else base.cdf(dist["max"])
    u = np.random.default_rng(4).random(5_000)
    expected = np.clip(base.ppf(lo + u * (hi - lo)), dist.get("min", -np.inf), dist.get("max", np.inf))
    assert np.array_equal(d.ppf(u), expected)


@pytest.mark.parametrize("table", [{"dist": "uniform", "low": 0, "high": 1},
                                   {"dist": "choice", "values": [0, 1]},
                                   {"dist": "normal", "mean": 0.5, "sd": 0.1}])
def test_a_distribution_on_a_switch_says_it_cannot_be_sampled(table: dict) -> None:
    """Whatever its nominal value, the message is that the field cannot vary per draw (not "expected bool")."""
    from nevsim.scenario import load_scenario

    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", {"policy.dual_credit.enabled": table})
    assert err.value.field == "policy.dual_credit.enabled"
    assert "cannot be sampled" in err.value.message
    assert "technology.battery_learning_rate" in err.value.allowed



@pytest.mark.parametrize("position", [0, 1])
def test_a_parameter_in_two_correlation_groups_names_both_wherever_it_stands(position: int) -> None:
    from nevsim.scenario import load_scenario

    lr, fx, pt = "technology.battery_learning_rate", "technology.cny_per_usd", "policy.dual_credit.pass_through"
    second = [pt, lr] if position else [lr, pt]
    overrides = {lr: {"dist": "normal", "mean": 0.18, "sd": 0.02, "min": 0.1, "max": 0.3},
                 fx: {"dist": "uniform", "low": 6.8, "high": 7.4},
                 pt: {"dist": "uniform", "low": 0.5, "high": 0.9},
                 "uncertainty.correlations": [{"names": [lr, fx], "matrix": [[1, 0.3], [0.3, 1]]},
                                              {"names": second, "matrix": [[1, 0.3], [0.3, 1]]}]}
    with pytest.raises(InputError) as err:
        load_scenario("china-current-policies", overrides)
    assert err.value.field == "uncertainty.correlations[1].names"
    assert "two correlation groups" in err.value.message and "correlations[0]" in err.value.message
    assert err.value.allowed == [pt]


def test_small_pages_restores_numpys_switch_when_uses_overlap() -> None:
    """Two threads inside at once: the switch is off while either is inside and back on after both."""
    import threading

    from nevsim._memory import small_pages

    switch = getattr(np._core.multiarray, "_set_madvise_hugepage", None)
    if switch is None or "NUMPY_MADVISE_HUGEPAGE" in __import__("os").environ:
        pytest.skip("this numpy has no huge-page switch, or the user set it")
    before = switch(True)
    try:
        inside, release = threading.Event(), threading.Event()

        def hold() -> None:
            with small_pages():
                inside.set()
                release.wait(10)

        worker = threading.Thread(target=hold)
        with small_pages():
            worker.start()
            assert inside.wait(10)
        assert switch(False) is False  # still off: the other thread is inside
        switch(False)
        release.set()
        worker.join(10)
        assert switch(True) is True  # both left: back on
    finally:
        switch(before)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 30), st.integers(8, 4096), st.integers(0, 2**31))
def test_row_quantiles_in_pieces_on_threads_equal_one_call(n_rows, n_draws, piece_bytes, seed):
    """Quantiles of chosen rows computed piece by piece on threads: numpy's values, bit for bit."""
    from nevsim import uncertainty as unc

    rng = np.random.default_rng(seed)
    table = rng.normal(size=(n_rows, n_draws))
    rows = rng.random(n_rows) < 0.7
    qs = [0.05, 0.25, 0.5, 0.75, 0.95]
    with pytest.MonkeyPatch.context() as m:
        m.setattr(unc, "_QUANTILE_PIECE_BYTES", piece_bytes)
        got = unc._row_quantiles(table, rows, qs)
    want = np.quantile(table[rows], qs, axis=1).T
    assert got.shape == want.shape and np.array_equal(got, want)


def test_row_quantiles_of_rows_with_both_infinities_are_quiet_on_threads(monkeypatch) -> None:
    """A row holding −inf and +inf gives NaN quantiles where numpy would warn; pool threads do not
    inherit the caller's error state, so each piece ignores floating-point errors itself."""
    from nevsim import uncertainty as unc

    table = np.array([[-np.inf, 0.0, np.inf, 1.0]] * 6 + [[1.0, 2.0, 3.0, 4.0]] * 6)
    monkeypatch.setattr(unc, "_QUANTILE_PIECE_BYTES", 32)  # one row a piece: several threads
    got = unc._row_quantiles(table, np.ones(len(table), dtype=bool), [0.05, 0.5, 0.95])  # filterwarnings = error
    with np.errstate(all="ignore"):
        want = np.quantile(table, [0.05, 0.5, 0.95], axis=1).T
    np.testing.assert_array_equal(got, want)


def test_sobol_first_order_is_not_swamped_by_a_large_output_mean() -> None:
    """An output near 80 with a spread of a few units (an EV share): the uncentred Saltelli form
    mean(f_B (f_AB − f_A)) / V had bootstrap half-widths of ~2.6 at n = 256; centred on the mean,
    S1 is as precise as ST."""
    specs = {"a": {"dist": "normal", "mean": 0, "sd": 1}, "b": {"dist": "normal", "mean": 0, "sd": 1}}
    out = sobol(lambda p: 80.0 + 2.0 * p["a"] + 1.0 * p["b"], specs, n_base=256, seed=0).set_index("parameter")
    assert out.loc["a", "S1"] == pytest.approx(0.8, abs=0.06) and out.loc["b", "S1"] == pytest.approx(0.2, abs=0.06)
    assert (out["S1_conf"] < 0.3).all()  # (0.16 and 0.07 here; uncentred: above 1)
