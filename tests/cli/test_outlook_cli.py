"""`nevsim outlook`, `nevsim runs list|delete`, `nevsim report` (real default scenario)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def outlook_json(tmp_path_factory):
    store = tmp_path_factory.mktemp("store") / "runs.duckdb"
    result = invoke("outlook", "--json", "--store", str(store))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), store


def test_json_shape_and_values(outlook_json):
    payload, store = outlook_json
    assert set(payload) == {"run", "series", "targets", "left_out"}
    series = pd.DataFrame(payload["series"])
    assert list(series.columns) == ["region", "variable", "unit", "year", "value"]
    ev24 = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2024)]["value"].iloc[0]
    assert ev24 == pytest.approx(48.0, abs=1.0)
    targets = {t["name"]: t for t in payload["targets"]}
    official = targets["NEV share 2025"]
    for key in ("region", "name", "source", "binding", "year", "target_value", "projected_value", "first_year_met"):
        assert key in official
    assert official["target_value"] == 20.0 and official["binding"] is True and official["year"] == 2025
    run = payload["run"]
    assert run["stored"] is True and run["store"] == str(store)
    assert run["scenario"] == "china-current-policies" and len(run["scenario_hash"]) == 64


def test_runs_list_and_report_from_store(outlook_json, tmp_path):
    payload, store = outlook_json
    rid = payload["run"]["run_id"]
    listed = invoke("runs", "list", "--store", str(store), "--json")
    assert listed.exit_code == 0
    assert rid in [r["run_id"] for r in json.loads(listed.stdout)]
    table = runner.invoke(app, ["runs", "list", "--store", str(store)], env={"COLUMNS": "220"}).stdout
    assert rid[:12] in table and "draws" in table
    row = next(line for line in table.splitlines() if rid[:12] in line)
    assert row.rstrip(" │").endswith(" 1")  # the run's draws (one: deterministic)
    out = tmp_path / "report.html"
    result = invoke("report", rid[:10], "--out", str(out), "--store", str(store))
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("* plotly.js v") == 1
    again = invoke("report", rid, "--out", str(out), "--store", str(store))
    assert again.exit_code == 2 and "--force" in again.output


def test_unknown_run_id_lists_known(outlook_json, tmp_path):
    payload, store = outlook_json
    result = invoke("report", "doesnotexist", "--out", str(tmp_path / "r.html"), "--store", str(store))
    assert result.exit_code == 2
    assert "unknown run id" in result.output and payload["run"]["run_id"][:12] in result.output


def test_table_output_out_dir_and_force(tmp_path):
    out = tmp_path / "out"
    result = invoke("outlook", "--no-store", "--out", str(out))
    assert result.exit_code == 0, result.output
    for name in ("series.csv", "series_iamc.csv", "makers.csv", "report.html"):
        assert (out / name).stat().st_size > 0
    text = result.stdout
    assert "Targets check" in text and "NEV share 2025" in text and "2030" in text
    assert "stored" not in text  # --no-store
    iamc = pd.read_csv(out / "series_iamc.csv")
    assert list(iamc.columns[:5]) == ["Model", "Scenario", "Region", "Variable", "Unit"]
    before = (out / "series.csv").stat().st_mtime_ns
    refused = invoke("outlook", "--no-store", "--out", str(out))
    assert refused.exit_code == 2 and "already exists" in refused.output and "--force" in refused.output
    assert (out / "series.csv").stat().st_mtime_ns == before
    forced = invoke("outlook", "--no-store", "--out", str(out), "--force", "--csv")
    assert forced.exit_code == 0
    frame = pd.read_csv(__import__("io").StringIO(forced.stdout))
    assert list(frame.columns) == ["scenario", "region", "variable", "unit", "year", "value"]


def test_bad_input_exits_2_with_allowed_values(tmp_path):
    bad = invoke("outlook", "no-such-scenario", "--no-store")
    assert bad.exit_code == 2 and "china-current-policies" in bad.output and "Traceback" not in bad.output
    region = invoke("outlook", "--region", "XX", "--no-store")
    assert region.exit_code == 2 and "region" in region.output and "CN" in region.output
    both = invoke("outlook", "--json", "--csv", "--no-store")
    assert both.exit_code == 2
    not_dir = tmp_path / "file"
    not_dir.write_text("x")
    assert invoke("outlook", "--no-store", "--out", str(not_dir)).exit_code == 2


def test_progress_bar_is_fed_by_the_run(monkeypatch):
    """On a terminal, outlook passes a progress callback to run(); it is called once a year."""
    import sys

    import nevsim.simulate as simulate
    from nevsim.cli.outlook import _run_with_progress
    from nevsim.scenario import load_scenario

    calls: list[tuple[int, int]] = []
    real_run = simulate.run

    def spy(scenario, **kwargs):
        progress = kwargs["progress"]

        def recording(done: int, total: int) -> None:
            calls.append((done, total))
            progress(done, total)

        return real_run(scenario, **{**kwargs, "progress": recording})

    monkeypatch.setattr(simulate, "run", spy)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    res = _run_with_progress(load_scenario("china-current-policies"), quiet=False)
    assert calls and calls[-1][0] == calls[-1][1]
    assert res.meta["scenario"] == "china-current-policies"


def test_runs_list_of_a_missing_store_says_so(tmp_path):
    """QA 2: a mistyped --store listed "0 run(s)" as if the store were empty; nothing is created."""
    missing = tmp_path / "typo.duckdb"
    result = runner.invoke(app, ["runs", "list", "--store", str(missing)], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "no store file there yet" in result.stdout
    assert not missing.exists()


def test_table_shows_the_public_cost_and_china_the_trade_in():
    """The headline columns carry the purchase incentives' cost (region currency) and, for China, the trade-in."""
    import nevsim
    from nevsim.cli.outlook import _columns

    china = [header for header, *_ in _columns(nevsim.run("china-current-policies"))]
    assert china[-2:] == ["subsidy+tax bn CNY", "trade-in bn CNY"]
    us = [header for header, *_ in _columns(nevsim.run("us-current-policies"))]
    assert us[-1] == "incentives bn USD" and not any("trade-in" in h for h in us)


def test_runs_list_leaves_draws_blank_when_a_run_has_none(monkeypatch, tmp_path) -> None:
    """A run stored without a draw count (``<NA>`` in ``Store.list_runs``) lists with a blank cell."""
    import pandas as pd

    from nevsim.store import Store

    row = {"run_id": "abc123", "scenario": "old", "hash": "f" * 64, "created": pd.Timestamp("2026-01-01"),
           "version": "0.0.1", "regions": "CN", "first_year": 2010, "last_year": 2060,
           "history_last_year": 2024, "draws": pd.NA}
    frame = pd.DataFrame([row]).astype({"draws": "Int64"})
    monkeypatch.setattr(Store, "list_runs", lambda self: frame)
    result = runner.invoke(app, ["runs", "list", "--store", str(tmp_path / "x.duckdb")], env={"COLUMNS": "220"})
    assert result.exit_code == 0, result.output
    assert "abc123" in result.stdout


def _caption(args: list[str]) -> str:
    """The outlook's headline caption, one line (from "(hist)" to the targets table)."""
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    return text[text.index("(hist) = history years"):text.index("Targets check")]


def test_caption_says_which_history_cells_are_observed_and_which_modelled():
    """Was "(hist) = history year, calibrated to observations" for every column: but the credit price
    is the model's clearing price outside 2020–22, the EV stock is modelled (33.0 M in 2024 against
    the IEA's 34 M) and the chargers are modelled before the IEA's first count."""
    caption = _caption(["outlook", "--no-store"])
    assert "calibrated to observations" not in caption
    assert ("credit CNY: the model's clearing price, raised to at least the reported average price in 2020–2022"
            in caption)
    assert "public chargers k: IEA counts in 2014–2024, modelled in the other years" in caption
    assert "EV %: fitted to the observed share (IEA; OWID 2025)" in caption
    assert "2025 holds the last observed split" in caption
    modelled = caption.split("Modelled in every year:")[1]
    for column in ("EV stock M", "oil displaced kb/d", "CO2 WTW Mt", "subsidy+tax bn CNY", "trade-in bn CNY"):
        assert column in modelled
    assert "NEV % all veh.: NEV share of all new vehicles, CAAM basis" in caption


@pytest.mark.parametrize("args", [["outlook", "--no-store", "--region", "US"], ["outlook", "us-2024-rules", "--no-store"],
                                  ["outlook", "--no-store", "--region", "EU"]])
def test_caption_names_only_the_columns_shown(args):
    """The US caption spoke of "NEV all vehicles: CAAM-basis estimate", a column only China's table has."""
    caption = _caption(args)
    assert "NEV" not in caption and "CAAM" not in caption and "credit CNY" not in caption
    assert "Modelled in every year:" in caption and "EV stock M" in caption.split("Modelled in every year:")[1]


def _noisy(text: str) -> list[str]:
    """Numbers printed with more than 10 significant digits (float noise like 0.010000000000000018)."""
    import re

    return [m for m in re.findall(r"-?\d+\.\d+(?:e[-+]?\d+)?", text)
            if len(m.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) > 10]


def test_every_csv_of_an_outlook_is_free_of_float_noise(tmp_path) -> None:
    """QA: series.csv was cleaned by Results.to_csv, but makers.csv (written by the CLI), the
    quantile tables of a many-draw run and --csv still printed 1139999.9999999988 and the like."""
    out = tmp_path / "o"
    assert invoke("outlook", "--no-store", "--out", str(out)).exit_code == 0
    for name in ("series.csv", "makers.csv"):
        assert not _noisy((out / name).read_text()), name
    assert not _noisy(invoke("outlook", "--no-store", "--csv").stdout)
    many = tmp_path / "m"
    assert invoke("outlook", "--no-store", "--draws", "3", "--seed", "1", "--out", str(many)).exit_code == 0
    for name in ("series.csv", "makers.csv"):
        assert not _noisy((many / name).read_text()), name


def test_a_target_the_model_cannot_compare_says_why_in_both_tables() -> None:
    """EU 2020 (NEDC) is not comparable: the one-region table said "not modelled" and the
    --region all table dropped the row without a word."""
    one = runner.invoke(app, ["outlook", "--region", "EU", "--no-store"], env={"COLUMNS": "250"})
    assert one.exit_code == 0, one.output
    line = next(x for x in one.stdout.splitlines() if "EU car CO2 2020" in x)
    assert "not comparable" in line.split("│")[-2] and "not modelled" not in line
    every = runner.invoke(app, ["outlook", "--region", "all", "--no-store"], env={"COLUMNS": "250"})
    assert every.exit_code == 0, every.output
    assert "EU car CO2 2020 (NEDC: not comparable)" in every.stdout
    assert "not compared by the model" in every.stdout


def test_targets_left_out_are_named_in_the_cli_and_the_report(tmp_path) -> None:
    r = runner.invoke(app, ["outlook", "--region", "US", "--no-store", "--out", str(tmp_path / "o")],
                      env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert "10 targets of a state standard this run does not model are left out" in " ".join(r.stdout.split())
    report = (tmp_path / "o" / "report.html").read_text()
    assert "10 targets of a state standard this run does not model are left out" in report


def test_outlook_json_names_the_left_out_targets_and_keeps_name_stable() -> None:
    """``--json`` lost the ten ACC II targets us-current-policies leaves out without a word, and a
    target's name carried its status. Now ``left_out`` names them and ``label`` carries the status."""
    one = runner.invoke(app, ["outlook", "--region", "US", "--json", "--no-store"])
    assert one.exit_code == 0, one.output
    doc = json.loads(one.output)
    assert doc["left_out"] == [f"California ACC II {y}" for y in range(2026, 2036)]
    assert [(t["name"], t["label"]) for t in doc["targets"]] == [("ZEV share 2030", "ZEV share 2030 (withdrawn 2025)")]
    every = runner.invoke(app, ["outlook", "--region", "all", "--json", "--no-store"])
    assert every.exit_code == 0, every.output
    doc = json.loads(every.output)
    assert doc["left_out"] == {"us-current-policies": [f"California ACC II {y}" for y in range(2026, 2036)]}
    eu = next(t for t in doc["targets"] if t["name"] == "EU car CO2 2020")
    assert eu["label"] == "EU car CO2 2020 (NEDC: not comparable)" and eu["scenario"] == "eu-current-policies"


def test_outlook_all_table_names_the_left_out_targets() -> None:
    """The --region all targets table left California's ACC II targets out without a word."""
    every = runner.invoke(app, ["outlook", "--region", "all", "--no-store"], env={"COLUMNS": "250"})
    assert every.exit_code == 0, every.output
    text = " ".join(every.stdout.split())
    assert "us-current-policies: 10 targets of a state standard this run does not model are left out" in text
    assert "ZEV share 2030 (withdrawn 2025)" in text
