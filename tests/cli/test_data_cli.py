"""CLI: nevsim data list / data show / history, and their errors."""

import json

import pytest
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()


def test_data_list_table_and_json():
    res = runner.invoke(app, ["data", "list"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "iea_gevo_2025" in res.stdout and "CC BY 4.0" in res.stdout
    res = runner.invoke(app, ["data", "list", "--json"])
    assert res.exit_code == 0
    records = json.loads(res.stdout)
    assert [r["name"] for r in records][:2] == ["iea_gevo_2025", "iea_gevo_2024"]
    assert records[0]["rows"] == 16_424 and records[0]["licence"] == "CC BY 4.0"


def test_data_show_json_respects_region_and_until():
    res = runner.invoke(app, ["data", "show", "iea_gevo_2025", "--region", "CN", "--until", "2020", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert rows and all(r["region"] == "China" and r["year"] <= 2020 for r in rows)
    res = runner.invoke(app, ["data", "show", "targets", "--json", "--limit", "3"])
    assert len(json.loads(res.stdout)) == 3


def test_data_show_table():
    res = runner.invoke(app, ["data", "show", "battery_prices", "-n", "5"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "5 of 21 rows" in res.stdout and "USD/kWh" in res.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["data", "show", "nope"], "iea_gevo_2025"),
        (["data", "show", "iea_gevo_2025", "--region", "Mars"], "China"),
        (["history", "--region", "Mars"], "EU27"),
    ],
)
def test_errors_exit_2_with_allowed_names(args, expected):
    res = runner.invoke(app, args)
    assert res.exit_code == 2
    assert "Allowed:" in res.stderr and expected in res.stderr
    assert "Traceback" not in res.output


def test_history_json_has_china_2024_48():
    res = runner.invoke(app, ["history", "--region", "China", "--json"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    assert set(records[0]) == {"region", "variable", "unit", "year", "value", "source"}
    hit = [r for r in records if r["variable"] == "EV sales share" and r["year"] == 2024]
    assert len(hit) == 1 and hit[0]["value"] == 48 and hit[0]["region"] == "China"


def test_history_table_shows_targets():
    res = runner.invoke(app, ["history", "--region", "cn"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "2024" in out and "48" in out and "State Council" in out and "China-SAE" in out


def test_history_plot_html_and_no_overwrite(tmp_path):
    path = tmp_path / "china.html"
    res = runner.invoke(app, ["history", "--region", "China", "--plot", str(path), "--json"])
    assert res.exit_code == 0, res.output
    html = path.read_text(encoding="utf-8")
    assert "plotly" in html.lower() and "<script" in html and len(html) > 1_000_000  # plotly.js embedded
    assert json.loads(res.stdout)  # --json output stays clean JSON
    before = path.stat().st_mtime_ns
    res = runner.invoke(app, ["history", "--region", "China", "--plot", str(path)])
    assert res.exit_code == 2 and "--force" in res.stderr
    assert path.stat().st_mtime_ns == before
    res = runner.invoke(app, ["history", "--region", "China", "--plot", str(path), "--force", "--json"])
    assert res.exit_code == 0


def test_history_plot_bad_suffix_and_png(tmp_path):
    res = runner.invoke(app, ["history", "--plot", str(tmp_path / "chart.svg")])
    assert res.exit_code == 2 and ".html" in res.stderr
    try:
        import kaleido  # noqa: F401
    except ImportError:
        res = runner.invoke(app, ["history", "--plot", str(tmp_path / "chart.png")])
        assert res.exit_code == 2 and "kaleido" in res.stderr and ".html" in res.stderr
        assert not (tmp_path / "chart.png").exists()


def test_history_names_the_region_flag():
    """QA 2: an unknown region was reported under the field 'region', not the flag '--region'."""
    from typer.testing import CliRunner

    from nevsim.cli import app

    r = CliRunner().invoke(app, ["history", "--region", "Mars"])
    assert r.exit_code == 2 and r.output.startswith("Error: --region:")


def test_history_until_before_the_data_is_an_error_naming_the_years():
    """QA: ``history --until 1990`` printed an empty table (title one word a line) and exit 0."""
    res = runner.invoke(app, ["history", "--until", "1990"])
    assert res.exit_code == 2, res.output
    assert "--until: no data up to 1990" in res.stderr
    assert "2010–2025" in res.stderr and "Allowed: 2010 or later." in res.stderr
    ok = runner.invoke(app, ["history", "--until", "2010"], env={"COLUMNS": "200"})
    assert ok.exit_code == 0 and "China: electric cars, history (IEA Global EV Outlook 2025)" in ok.stdout


def test_history_share_column_has_fixed_decimals():
    """QA: the share column mixed 0.034, 1, 1.5, 5; every share now has two decimals."""
    res = runner.invoke(app, ["history", "--region", "China", "--until", "2019"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in res.stdout.splitlines()
            if line.startswith("│")}
    assert rows["2011"] == "0.03" and rows["2015"] == "1.00" and rows["2016"] == "1.50" and rows["2019"] == "5.00"


@pytest.mark.parametrize(("args", "column"), [(["iea_gevo_2025"], "year"), (["targets", "-r", "US"], "announced")])
def test_data_show_until_before_the_data_is_an_error_naming_the_years(args: list[str], column: str) -> None:
    """``data show NAME --until 1990`` printed an empty table and exit 0 (as ``history`` did)."""
    res = runner.invoke(app, ["data", "show", *args, "--until", "1990"])
    assert res.exit_code == 2, res.output
    assert "--until: no row of" in res.stderr and f"its {column} column covers" in res.stderr
    assert "or later." in res.stderr
    ok = runner.invoke(app, ["data", "show", *args, "--until", "2025", "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)
