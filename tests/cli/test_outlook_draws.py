"""`nevsim outlook --draws N --seed S`: quantiles, probability_met, files, store, bad flags."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nevsim.cli import app
from nevsim.store import Store

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def draws_json(tmp_path_factory):
    store = tmp_path_factory.mktemp("store") / "runs.duckdb"
    result = invoke("outlook", "--draws", "16", "--seed", "5", "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), store


def test_json_series_are_quantiles(draws_json) -> None:
    payload, _ = draws_json
    series = pd.DataFrame(payload["series"])
    assert list(series.columns) == ["region", "variable", "unit", "year", "quantile", "value"]
    assert sorted(series["quantile"].unique()) == [0.05, 0.25, 0.5, 0.75, 0.95]
    wide = series.pivot_table(index=["variable", "year"], columns="quantile", values="value")
    assert (np.diff(wide.to_numpy(), axis=1) >= -1e-9).all()  # quantiles ordered for every series
    assert payload["run"]["draws"] == 16 and payload["run"]["seed"] == 5


def test_targets_carry_probability_met(draws_json) -> None:
    payload, _ = draws_json
    probs = [t["probability_met"] for t in payload["targets"]]
    assert probs and all(p is not None and 0.0 <= p <= 1.0 for p in probs)
    assert all(abs(p * 16 - round(p * 16)) < 1e-9 for p in probs)  # a share of 16 draws


def test_store_keeps_every_draw(draws_json) -> None:
    payload, store = draws_json
    res = Store(store).load(payload["run"]["run_id"])
    assert sorted(res.series["draw"].unique()) == list(range(16))
    assert "draw" in res.makers.columns and res.makers["draw"].nunique() == 16


def test_precision_single_stores_the_draws_in_single_precision(tmp_path) -> None:
    import duckdb

    store = tmp_path / "runs.duckdb"
    result = invoke("outlook", "--draws", "3", "--seed", "5", "--json", "--store", str(store), "--precision", "single")
    assert result.exit_code == 0, result.output
    run_id = json.loads(result.stdout)["run"]["run_id"]
    values = Store(store).load(run_id).series["value"].to_numpy()
    np.testing.assert_array_equal(values, values.astype(np.float32).astype(np.float64))
    con = duckdb.connect(str(store), read_only=True)
    try:
        assert con.execute("SELECT count(value), count(value32) > 0 FROM makers_values").fetchone() == (0, True)
    finally:
        con.close()


@pytest.mark.parametrize("bad", ["half", "Single", ""])
def test_unknown_precision_is_refused_before_running(tmp_path, bad) -> None:
    store = tmp_path / "runs.duckdb"
    result = invoke("outlook", "--draws", "3", "--store", str(store), "--precision", bad)
    assert result.exit_code == 2
    assert "--precision" in result.output and "Allowed: double, single" in " ".join(result.output.split())
    assert not store.exists()


def test_table_shows_medians_and_range(tmp_path) -> None:
    result = invoke("outlook", "--draws", "8", "--no-store")
    assert result.exit_code == 0, result.output
    assert "EV 5–95 %" in result.stdout and "medians over 8 draws" in result.stdout and "P(met)" in result.stdout
    flat = " ".join(result.stdout.split())  # the caption wraps
    assert "each column its own (BEV % + PHEV % need not equal EV %)" in flat
    assert "(parameters only; --residual-walk adds structural uncertainty)" in flat


def test_csv_and_out_write_quantiles(tmp_path) -> None:
    result = invoke("outlook", "--draws", "6", "--seed", "1", "--csv", "--no-store")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "scenario,region,variable,unit,year,quantile,value"
    out = tmp_path / "out"
    result = invoke("outlook", "--draws", "6", "--seed", "1", "--out", str(out), "--no-store")
    assert result.exit_code == 0, result.output
    series = pd.read_csv(out / "series.csv")
    makers = pd.read_csv(out / "makers.csv")
    assert "quantile" in series.columns and "draw" not in series.columns
    assert "quantile" in makers.columns and "maker" in makers.columns
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "% of 6 draws" in html  # the fan bands of the EV-share chart


@pytest.mark.parametrize("value", ["0", "-1", "100001"])
def test_bad_draws_exit_2_with_the_range(value: str) -> None:
    result = runner.invoke(app, ["outlook", "--draws", value, "--no-store"])
    assert result.exit_code == 2
    assert "--draws" in result.output and "1 to 100000" in result.output
    assert "Traceback" not in result.output


def test_bad_seed_exits_2() -> None:
    result = runner.invoke(app, ["outlook", "--draws", "3", "--seed", "-4", "--no-store"])
    assert result.exit_code == 2 and "--seed" in result.output


def test_every_region_samples_with_draws_and_seed(tmp_path) -> None:
    """`--region all --draws N --seed S` ran one draw a region and printed no quantiles (the flags were ignored)."""
    store = tmp_path / "runs.duckdb"
    result = invoke("outlook", "--region", "all", "--draws", "12", "--seed", "3", "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert [(r["scenario"], r["draws"], r["seed"]) for r in payload["runs"]] == [
        ("china-current-policies", 12, 3), ("us-current-policies", 12, 3), ("eu-current-policies", 12, 3)]
    series = pd.DataFrame(payload["series"])
    assert list(series.columns) == ["scenario", "region", "variable", "unit", "year", "quantile", "value"]
    assert sorted(series["quantile"].unique()) == [0.05, 0.25, 0.5, 0.75, 0.95]
    ev = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2035)]
    spread = ev.pivot_table(index="region", columns="quantile", values="value")
    assert (spread[0.95] > spread[0.05]).all()  # sampled in every region
    assert all(t["probability_met"] is not None for t in payload["targets"] if t["met"] is not None)
    for stored in payload["stored"]:  # every draw stored
        assert Store(store).load(stored["run_id"]).n_draws == 12
    same = invoke("outlook", "--region", "all", "--draws", "12", "--seed", "3", "--csv", "--no-store")
    frame = pd.read_csv(__import__("io").StringIO(same.stdout))
    assert np.allclose(frame["value"].to_numpy(), series["value"].to_numpy(float), equal_nan=True)
    table = invoke("outlook", "--region", "all", "--draws", "12", "--seed", "3", "--no-store")
    flat = " ".join(table.stdout.split())  # (the caption wraps at the table's width)
    assert "medians over 12 draws a region (seed 3)" in flat and "P(met)" in table.stdout


def test_every_region_without_draws_stays_deterministic() -> None:
    result = invoke("outlook", "--region", "all", "--json", "--no-store")
    payload = json.loads(result.stdout)
    assert [r["draws"] for r in payload["runs"]] == [1, 1, 1] and "quantile" not in payload["series"][0]


def test_every_region_table_writes_vehicle_targets_as_whole_numbers() -> None:
    """The all-regions targets table formats a volume target like the one-region table
    ("2,000,000 vehicles", not "2000000.0 vehicles per year")."""
    table = runner.invoke(app, ["outlook", "--region", "all", "--no-store"], catch_exceptions=False,
                          env={"COLUMNS": "200"})
    assert "2,000,000 vehicles" in table.stdout and "2000000.0" not in table.stdout


def test_draws_of_a_scenario_that_samples_nothing_exit_2(tmp_path) -> None:
    """More than one draw of a scenario with no distribution: refused at --draws (Scenario.check_draws)."""
    file = tmp_path / "fixed.toml"
    file.write_text('base = "china-current-policies"\n'
                    '[uncertainty]\ncoefficients = false\ncorrelations = []\n'
                    '[policy.dual_credit]\npass_through = 0.7\n'
                    '[technology]\nbattery_learning_rate = 0.18\ncny_per_usd = 7.1\n'
                    '[energy]\ngasoline_price_cny_per_l = { 2010 = 7.0, 2024 = 7.8 }\n'
                    'electricity_price_cny_per_kwh = { 2010 = 0.8 }\n'
                    '[fleet]\nvkt_km_per_year = 12000.0\n')
    result = runner.invoke(app, ["outlook", str(file), "--draws", "4", "--no-store"])
    assert result.exit_code == 2, result.output
    assert "--draws" in result.output and "need distributions" in result.output
    assert runner.invoke(app, ["outlook", str(file), "--draws", "1", "--no-store"]).exit_code == 0


@pytest.mark.parametrize("args", [["--seed", "3"], ["--draws", "1", "--seed", "3"], ["--region", "all", "--seed", "3"]])
def test_a_seed_with_one_draw_exits_2(args: list[str]) -> None:
    """`--seed S` with one draw (no --draws, the scenario's uncertainty.draws = 1) ran the deterministic
    run: the seed did nothing. Refused, naming --seed and how to get draws."""
    result = runner.invoke(app, ["outlook", *args, "--no-store"])
    assert result.exit_code == 2, result.output
    assert "--seed: needs more than one draw (--draws N with N > 1" in result.output
    assert "Traceback" not in result.output


def test_a_seed_with_the_scenarios_draws_is_kept(tmp_path) -> None:
    """The scenario's uncertainty.draws > 1 is enough for a seed (no --draws)."""
    file = tmp_path / "mc.toml"
    file.write_text('base = "china-current-policies"\n[uncertainty]\ndraws = 3\n[years]\nlast = 2030\n')
    result = invoke("outlook", str(file), "--seed", "4", "--json", "--no-store")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["seed"] == 4


def test_residual_walk_flag_widens_the_range_and_needs_draws() -> None:
    plain = invoke("outlook", "--draws", "40", "--seed", "1", "--csv", "--no-store")
    walked = invoke("outlook", "--draws", "40", "--seed", "1", "--residual-walk", "--csv", "--no-store")
    assert plain.exit_code == 0 and walked.exit_code == 0, walked.output

    def width(text: str) -> float:
        frame = pd.read_csv(__import__("io").StringIO(text))
        sel = frame[(frame["variable"] == "Sales Share|Cars|EV") & (frame["year"] == 2030)].set_index("quantile")
        return float(sel.loc[0.95, "value"] - sel.loc[0.05, "value"])

    assert width(walked.stdout) > 2 * width(plain.stdout)
    table = invoke("outlook", "--draws", "8", "--residual-walk", "--no-store")
    assert "parameters and the residual walk (structural)" in " ".join(table.stdout.split())
    one = invoke("outlook", "--residual-walk", "--no-store")
    assert one.exit_code == 2 and "--residual-walk" in one.output and "more than one draw" in one.output
    every = invoke("outlook", "--region", "all", "--draws", "1", "--residual-walk", "--no-store")
    assert every.exit_code == 2 and "--residual-walk" in every.output


@pytest.mark.parametrize("command", [["outlook", "--draws", "5"], ["sensitivity"]])
def test_a_negative_seed_names_the_range_readably(command: list[str]) -> None:
    """QA: "--seed -1" printed "Allowed: 0 to 9223372036854775807"."""
    from typer.testing import CliRunner

    from nevsim.cli import app

    r = CliRunner().invoke(app, [*command, "--seed", "-1"])
    assert r.exit_code == 2, r.output
    assert "Allowed: 0 to 2**63 − 1" in r.stderr and "9223372036854775807" not in r.stderr
