"""CLI: nevsim backtest — table, JSON, plot file protection and bad input (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nevsim.cli

runner = CliRunner()


def run(*args: str):
    return runner.invoke(nevsim.cli.app, ["backtest", *args])


def test_json_single_cutoff_has_the_issue_shape() -> None:
    r = run("--cutoff", "2021", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert list(out) == ["scenario", "region", "variable", "through", "policies", "unit", "cutoffs"]
    assert len(out["cutoffs"]) == 1 and out["policies"] == "enacted"
    assert (out["scenario"], out["region"], out["through"]) == ("china-current-policies", "CN", 2025)
    c = out["cutoffs"][0]
    assert c["known_at"] is None
    assert c["cutoff"] == 2021 and [f["year"] for f in c["forecasts"]] == [2022, 2023, 2024, 2025]
    assert [f["actual"] for f in c["forecasts"]] == [29.0, 38.0, 48.0, 53.0]
    assert set(c["mae"]) == {"model", "logistic", "bass", "persistence", "logit_trend"}
    assert all(isinstance(v, float) for v in c["mae"].values())
    assert c["mae"]["persistence"] == pytest.approx((14 + 23 + 33 + 38) / 4)


def test_table_rolling_cutoffs_through() -> None:
    r = run("china-current-policies", "--region", "CN", "--cutoffs", "2019,2020", "--through", "2023")
    assert r.exit_code == 0, r.output
    for word in ("2019", "2020", "pooled", "model", "logistic", "bass", "persistence", "logit_trend",
                 "MAPE pooled", "forecasts through 2023"):
        assert word in r.stdout, word


def test_plot_is_written_and_never_overwritten_without_force(tmp_path: Path) -> None:
    target = tmp_path / "fan.html"
    r = run("--cutoff", "2022", "--plot", str(target))
    assert r.exit_code == 0, r.output
    html = target.read_text(encoding="utf-8")
    assert "plotly" in html.lower() and "logit_trend" in html and 'src="https://cdn.plot.ly' not in html
    target.write_text("keep me", encoding="utf-8")
    r = run("--cutoff", "2022", "--plot", str(target))
    assert r.exit_code == 2 and "--force" in r.output
    assert target.read_text(encoding="utf-8") == "keep me"
    r = run("--cutoff", "2022", "--plot", str(target), "--force", "--json")
    assert r.exit_code == 0 and "logit_trend" in target.read_text(encoding="utf-8")
    json.loads(r.stdout)


@pytest.mark.parametrize(("args", "words"), [
    (["--cutoff", "2013"], ["cutoff", "2014–2024"]),
    (["--cutoff", "2025"], ["2014–2024"]),
    (["--cutoffs", "2018,abc"], ["--cutoffs", "not a year"]),
    (["--cutoff", "2020", "--cutoffs", "2018,2019"], ["not both"]),
    (["--cutoff", "2021", "--through", "2021"], ["through", "2022–2025"]),
    (["--cutoff", "2021", "--through", "2030"], ["through", "2025"]),
    (["china-current-policies", "--region", "US", "--cutoff", "2021"], ["region", "Allowed: CN."]),
    (["--region", "Atlantis", "--cutoff", "2021"], ["region", "Allowed: CN, US, EU."]),
    (["atlantis", "--cutoff", "2021"], ["scenario", "china-current-policies"]),
    (["--cutoff", "2021", "--plot", "fan.png"], ["--plot", ".html"]),
    (["--cutoff", "2021", "--policies", "known"], ["--policies", "enacted, as-known"]),
    (["--region", "US", "--cutoff", "2021", "--policies", "as-known"], ["policies", "China (CN)", "enacted"]),
    (["--cutoff", "2014", "--policies", "as-known"], ["--cutoff:", "2015–2024"]),  # the flag given
    (["--cutoff", "2021", "--draws", "0"], ["--draws", "1 to 10000"]),
    (["--cutoff", "2021", "--draws", "20000"], ["--draws", "1 to 10000"]),
    (["--cutoff", "2021", "--draws", "5", "--seed", "-2"], ["--seed", "0 to 2**63 − 1"]),
    (["--cutoff", "2021", "--draws", "5", "--seed", "99999999999999999999999"], ["--seed"]),
    # a seed with one draw did nothing (the deterministic run): refused, naming the flags
    (["--cutoff", "2021", "--seed", "3"], ["--seed: needs more than one draw (--draws N with N > 1"]),
    (["--cutoff", "2021", "--draws", "1", "--seed", "3"], ["--seed: needs more than one draw", "no --seed"]),
])
def test_bad_input_exits_2_with_allowed_values(args: list[str], words: list[str]) -> None:
    r = run(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    for w in words:
        assert w in r.output, (w, r.output)


def test_policies_flag_in_help_and_output() -> None:
    r = runner.invoke(nevsim.cli.app, ["backtest", "--help"])
    assert r.exit_code == 0 and "--policies" in r.output and "as-known" in r.output
    r = run("--cutoff", "2021", "--policies", "as-known", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["policies"] == "as-known" and out["cutoffs"][0]["known_at"] == 2021
    r = run("--cutoff", "2021", "--through", "2022", "--policies", "as-known")
    assert r.exit_code == 0, r.output
    assert "policies as-known" in r.stdout and "--policies as-known" in r.stdout


def test_draws_add_the_band_to_json_table_and_plot(tmp_path: Path) -> None:
    r = run("--cutoff", "2021", "--draws", "12", "--seed", "5", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["draws"], out["seed"], out["band"]) == (12, 5, "5–95 %")
    row = out["cutoffs"][0]["forecasts"][0]
    assert row["model_lower"] <= row["model"] <= row["model_upper"]
    assert 0.0 <= out["cutoffs"][0]["coverage"] <= 100.0
    plot = tmp_path / "fan.html"
    r = run("--cutoff", "2021", "--draws", "12", "--seed", "5", "--plot", str(plot))
    assert r.exit_code == 0, r.output
    assert "band over 12 draws" in r.output and plot.exists()
    assert "coverage, width and interval score" in r.output and "inside the band" in r.output
    assert '"fill":"toself"' in plot.read_text().replace(" ", "")


def test_residual_walk_flag_widens_the_band_and_needs_draws() -> None:
    def band(*extra: str) -> dict:
        r = run("--cutoff", "2021", "--draws", "20", "--seed", "1", "--json", *extra)
        assert r.exit_code == 0, r.output
        return json.loads(r.stdout)

    plain, walked = band(), band("--residual-walk")
    assert walked["band_width_pooled"] > plain["band_width_pooled"]
    as_known = band("--residual-walk", "--policies", "as-known")
    assert as_known["policies"] == "as-known" and as_known["band_width_pooled"] > 0
    one = run("--cutoff", "2021", "--residual-walk")
    assert one.exit_code == 2 and "--residual-walk" in one.output and "more than one draw" in one.output
