"""`nevsim sensitivity` (real model; two parameters and a small Sobol sample keep it quick)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()

PARAMS = ("-p", "technology.battery_learning_rate", "-p", "coefficients.beta_price")


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def payload():
    result = invoke("sensitivity", *PARAMS, "--n", "32", "--seed", "7", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_shape(payload) -> None:
    assert {"scenario", "seed", "n", "tornado", "sobol", "outputs", "parameters", "notes", "plot"} <= set(payload)
    assert (payload["scenario"], payload["seed"], payload["n"]) == ("china-current-policies", 7, 32)
    assert [o["output"] for o in payload["outputs"]] == ["Sales Share|Cars|EV@2030", "Sales Share|Cars|EV@2035",
                                                         "Price|Credit|NEV@2030"]
    assert set(payload["parameters"]) == {"technology.battery_learning_rate", "coefficients.beta_price"}
    assert all(p["source"] for p in payload["parameters"].values())
    assert payload["evaluations"] == 5 + 32 * 4
    tornado, sobol = pd.DataFrame(payload["tornado"]), pd.DataFrame(payload["sobol"])
    assert len(tornado) == len(sobol) == 2 * 3
    assert {"output", "parameter", "low_value", "high_value", "base_output", "output_low", "output_high",
            "swing"} <= set(tornado.columns)
    assert {"output", "parameter", "S1", "S1_conf", "ST", "ST_conf", "note"} <= set(sobol.columns)


def test_values_finite_sorted_and_s1_below_st(payload) -> None:
    tornado = pd.DataFrame(payload["tornado"])
    for _, group in tornado.groupby("output", sort=False):
        assert group["swing"].is_monotonic_decreasing
    assert all(math.isfinite(v) for v in tornado[["output_low", "output_high", "swing"]].to_numpy().ravel())
    sobol = pd.DataFrame(payload["sobol"])
    shares = sobol[sobol["output"].str.startswith("Sales Share")]
    assert all(math.isfinite(v) for v in shares[["S1", "ST", "S1_conf", "ST_conf"]].to_numpy().ravel())
    assert (shares["S1"] <= shares["ST"] + shares["S1_conf"] + shares["ST_conf"] + 0.05).all()
    price = sobol[sobol["output"] == "Price|Credit|NEV@2030"]  # 0 in every run: null indices, noted
    assert price["S1"].isna().all() and (price["note"] == "no variance").all()


def test_table_output_and_plot(tmp_path: Path) -> None:
    plot = tmp_path / "sens.html"
    args = ("sensitivity", "-p", "technology.battery_learning_rate", "--method", "tornado",
            "-o", "Sales Share|Cars|EV@2030", "--plot", str(plot))
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "Tornado — Sales Share|Cars|EV@2030" in result.stdout and "battery_learning_rate" in result.stdout
    text = plot.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.count("* plotly.js v") == 1
    refused = invoke(*args)
    assert refused.exit_code == 2 and "--force" in refused.output
    assert invoke(*args, "--force").exit_code == 0


def test_sobol_only_on_a_named_scenario(tmp_path: Path) -> None:
    result = invoke("sensitivity", "china-no-dual-credit", "--method", "sobol", "-p", "fleet.vkt_km_per_year",
                    "-o", "Sales Share|Cars|EV@2035", "--n", "16", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["scenario"] == "china-no-dual-credit" and out["tornado"] == [] and len(out["sobol"]) == 1


@pytest.mark.parametrize(("args", "words"), [
    (["--method", "morris"], "Allowed: tornado, sobol, both"),
    (["--n", "4"], "--n: the Sobol base sample must be a whole number from 16 to 65,536, got 4"),
    (["--seed", "-2"], "--seed"),
    (["--top", "0"], "--top"),
    (["no-such-scenario"], "china-current-policies"),
    (["-p", "technology.nope"], "Error: --parameter: 'technology.nope' has no default distribution"),
    (["-p", "technology.nope"], "technology.battery_learning_rate"),
    (["-o", "EV share"], "Error: --output: 'EV share' is not VARIABLE@YEAR"),
    (["-o", "Sales Share|Cars|EV@2099"], "outside the scenario's years 2010–2060. Allowed: 2011 to 2060."),
    (["--seed", "-1"], "--seed: must be ≥ 0, got -1. Allowed: 0 to"),
])
def test_bad_input_exits_2(args: list[str], words: str) -> None:
    result = invoke("sensitivity", *args)
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output


def test_us_default_outputs_are_the_regions_own() -> None:
    result = invoke("sensitivity", "us-current-policies", "--method", "tornado", "-p", "coefficients.beta_price",
                    "--json")
    assert result.exit_code == 0, result.output  # exit 2 "--output: Price|Credit|NEV@2030 …" without any --output
    keys = [o["output"] for o in json.loads(result.stdout)["outputs"]]
    assert keys == ["Sales Share|Cars|EV@2030", "Sales Share|Cars|EV@2035", "Emissions|CO2|New Cars@2030"]


def test_an_error_about_default_outputs_does_not_blame_output(monkeypatch) -> None:
    import nevsim.sensitivity as sens

    monkeypatch.setattr(sens, "default_outputs", lambda scenario: [sens.Output("No|Such", 2030)])
    result = invoke("sensitivity", "--method", "tornado", "-p", "coefficients.beta_price")
    assert result.exit_code == 2
    assert result.output.startswith("Error: outputs: No|Such@2030") and "--output" not in result.output


def test_footer_is_a_sentence(tmp_path: Path) -> None:
    result = invoke("sensitivity", "--method", "tornado", "-p", "coefficients.beta_price", "--top", "1")
    assert result.exit_code == 0, result.output
    assert "<nevsim" not in result.stdout  # was the Python repr
    assert "Scenario china-current-policies: tornado, 1 parameter × 3 outputs, 3 model runs in" in result.stdout


@pytest.mark.parametrize("n", ["4", "15", "65537"])
def test_n_error_states_the_real_rule(n: str) -> None:
    """QA: the error listed a few sizes (16, 64, 128, 256, 1024) as if they were the only ones; any
    whole number 16–65,536 runs, and a power of 2 is best (it keeps the Sobol' points balanced)."""
    result = invoke("sensitivity", "--n", n)
    assert result.exit_code == 2, result.output
    err = " ".join(result.stderr.split())
    assert f"got {n}. Allowed: a whole number from 16 to 65,536, best a power of 2" in err
    assert "keeps the Sobol' points balanced" in err and "1024" not in err
