"""CLI: nevsim credits / compliance / policy show / policy audit, and their errors (exit code 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import nevsim.cli

runner = CliRunner()


def run(*args: str):
    return runner.invoke(nevsim.cli.app, list(args))


def test_credits_json() -> None:
    r = run("credits", "--year", "2022", "--powertrain", "BEV", "--range-km", "400",
            "--energy-kwh-per-100km", "12.4", "--curb-mass-kg", "1500", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["standard_credit"] == pytest.approx(2.64)
    assert out["multipliers"] == {"range": 1.0, "energy_efficiency": pytest.approx(1.25), "energy_density": 1.0}
    assert out["credit"] == pytest.approx(3.3)
    assert out["rule"]["revision"] == "order53" and out["rule"]["status"] == "U"
    assert "Order-53" in out["sources"]
    assert any("unconfirmed" in n for n in out["notes"])


def test_credits_text_fcev_and_phev() -> None:
    r = run("credits", "--year", "2020", "--powertrain", "fcev", "--fc-power-kw", "30")
    assert r.exit_code == 0 and "4.8" in r.stdout
    r = run("credits", "--year", "2026", "--powertrain", "PHEV", "--range-km", "120", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["rule"]["revision"] == "miit2025"
    r = run("credits", "--year", "2030", "--powertrain", "BEV", "--range-km", "400", "--hold", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["credit"] == pytest.approx(0.78)


@pytest.mark.parametrize(("args", "field"), [
    (["--year", "2030", "--powertrain", "BEV", "--range-km", "400"], "--year"),
    (["--year", "2016", "--powertrain", "BEV", "--range-km", "400"], "--year"),
    (["--year", "2022", "--powertrain", "BEV"], "--range-km"),
    (["--year", "2022", "--powertrain", "PHEV"], "--range-km"),
    (["--year", "2022", "--powertrain", "FCEV"], "--fc-power-kw"),
    (["--year", "2022", "--powertrain", "BEV", "--range-km", "2500"], "--range-km"),
    (["--year", "2022", "--powertrain", "BEV", "--range-km", "-5"], "--range-km"),
    (["--year", "2022", "--powertrain", "BEV", "--range-km", "300", "--curb-mass-kg", "12000"], "--curb-mass-kg"),
    (["--year", "2022", "--powertrain", "BEV", "--range-km", "300", "--energy-kwh-per-100km", "-1"],
     "--energy-kwh-per-100km"),
    (["--year", "2022", "--powertrain", "ICE"], "--powertrain"),
    (["--year", "2022", "--powertrain", "Diesel"], "--powertrain"),
    (["--year", "2022", "--powertrain", "BEV", "--range-km", "300", "--revision", "x"], "--revision"),
])
def test_credits_bad_input(args: list[str], field: str) -> None:
    r = run("credits", *args)
    assert r.exit_code == 2
    assert f"Error: {field}:" in r.stderr
    assert "Traceback" not in r.output + r.stderr
    assert "Allowed:" in r.stderr


def test_compliance_example_json() -> None:
    r = run("compliance", "example", "--year", "2022", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    makers = {m["maker"]: m for m in out["makers"]}
    assert makers["Tesla China"]["nev_earned"] == pytest.approx(710_000 * 3.4)
    assert out["totals"]["nev_positive"] > out["totals"]["nev_negative"] > 0
    assert out["status"] == "U"


def test_compliance_text(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("maker,model,powertrain,units,range_km,fuel_l_per_100km,curb_mass_kg\n"
                 "A,car,ICE,100000,,7.0,1500\nA,ev,BEV,20000,400,,1800\n")
    r = run("compliance", str(p), "--year", "2021")
    assert r.exit_code == 0, r.output
    assert "NEV credits: positive" in r.stdout


@pytest.mark.parametrize(("args", "field"), [
    (["/nonexistent.csv", "--year", "2022"], "fleet_csv"),
    (["example", "--year", "2031"], "--year"),
    (["example", "--year", "2010"], "--year"),
])
def test_compliance_bad_input(args: list[str], field: str) -> None:
    r = run("compliance", *args)
    assert r.exit_code == 2
    assert f"Error: {field}" in r.stderr


def test_compliance_bad_row(tmp_path: Path) -> None:
    p = tmp_path / "f.csv"
    p.write_text("maker,model,powertrain,units\nA,x,BEV,5\n")
    r = run("compliance", str(p), "--year", "2022")
    assert r.exit_code == 2 and "fleet_csv.range_km" in r.stderr


@pytest.mark.parametrize(("region", "year", "param"), [("CN", "2022", "nev_ratio"), ("US", "2030", "zev_requirement"),
                                                       ("EU", "2025", "zlev_benchmark"), ("china", "2019", "nev_ratio"),
                                                       ("US", "2020", "maker_phaseout_factor_bev"),
                                                       ("US", "2024", "ira_received_share_phev")])
def test_policy_show(region: str, year: str, param: str) -> None:
    r = run("policy", "show", "--region", region, "--year", year, "--json")
    assert r.exit_code == 0, r.output
    assert param in {row["param"] for row in json.loads(r.stdout)["rules"]}
    r = run("policy", "show", "--region", region, "--year", year)
    assert r.exit_code == 0 and param in r.stdout


def test_policy_show_known_at() -> None:
    r = run("policy", "show", "--year", "2021", "--known-at", "2018", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["known_at"] == 2018
    assert {row["param"]: row["value"] for row in out["rules"]}["subsidy_active"] == 0
    r = run("policy", "show", "--year", "2021", "--known-at", "2018")
    assert r.exit_code == 0 and "as known at the end of 2018" in r.stdout


@pytest.mark.parametrize(("year", "known_at", "held"), [
    ("2022", "2018", {("NEV", "bev_slope"): 0.012, ("NEV", "bev_credit_max"): 6.0, ("NEV", "carry_forward_fraction"): 0.0,
                      ("CAFC", "vehicle_target_flat"): 5.0, ("CAFC", "compliance_factor"): 1.0}),
    ("2024", "2020", {("NEV", "bev_slope"): 0.0056, ("NEV", "bev_standard_cap"): 3.4, ("NEV", "phev_credit"): 1.6}),
    ("2027", "2024", {("NEV", "bev_slope"): 0.0034, ("NEV", "phev_credit"): 0.96, ("CAFC", "vehicle_target_scale"): 1.0}),
])
def test_policy_show_known_at_holds_the_last_issued_standards(year: str, known_at: str, held: dict) -> None:
    """The per-vehicle credit formula, banking and CAFC phase a cutoff knew, held for the later year."""
    r = run("policy", "show", "--year", year, "--known-at", known_at, "--json")
    assert r.exit_code == 0, r.output
    rules = {(row["standard"], row["param"]): row for row in json.loads(r.stdout)["rules"]}
    assert {k: rules[k]["value"] for k in held} == held
    enacted = {(row["standard"], row["param"]): row for row in
               json.loads(run("policy", "show", "--year", year, "--json").stdout)["rules"]}
    assert all(enacted[k]["value"] != v for k, v in held.items() if k[1] in ("bev_slope", "phev_credit"))
    if known_at == "2018":  # Phase IV: a flat NEDC target, no Phase V curve and no credit pool
        assert rules[("CAFC", "vehicle_target_flat")]["unit"] == "L/100km (NEDC)"
        assert ("CAFC", "vehicle_target_slope") not in rules and ("CAFC", "vehicle_target_slope") in enacted


@pytest.mark.parametrize(("args", "field"), [(["--region", "JP", "--year", "2022"], "--region"),
                                             (["--region", "EU", "--year", "1990"], "--year"),
                                             (["--year", "2021", "--known-at", "2030"], "--known-at"),
                                             (["--region", "US", "--known-at", "2018"], "--known-at")])
def test_policy_show_bad_input(args: list[str], field: str) -> None:
    r = run("policy", "show", *args)
    assert r.exit_code == 2 and f"Error: {field}" in r.stderr


def test_policy_audit() -> None:
    r = run("policy", "audit", "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["parameters"][0]["status"] == "U"
    assert out["counts"]["U"] > 0 and out["counts"]["V"] > 0
    r = run("policy", "audit", "--status", "s")
    assert r.exit_code == 0 and "Counts: S" in r.stdout
    r = run("policy", "audit", "--status", "X")
    assert r.exit_code == 2 and "Error: --status" in r.stderr


def test_policy_show_says_when_a_us_rule_is_not_in_force() -> None:
    """ACC II (waiver nullified, P.L. 119-16) and the EPA GHG standards (repealed 2026) are flagged."""
    out = runner.invoke(nevsim.cli.app, ["policy", "show", "--region", "US", "--year", "2027"])
    assert out.exit_code == 0, out.output
    assert "ACC2 is not in force in 2027 (PL-119-16)" in out.output
    assert "GHG is not in force in 2027 (EPA-2026-GHG-repeal)" in out.output
    eu = runner.invoke(nevsim.cli.app, ["policy", "show", "--region", "EU", "--year", "2027"])
    assert eu.exit_code == 0 and "not in force" not in eu.output


def test_known_at_out_of_range_speaks_cli():
    """QA 2: the CLI said "unset / None" (Python's words) for omitting --known-at."""
    from typer.testing import CliRunner

    from nevsim.cli import app

    r = CliRunner().invoke(app, ["policy", "show", "--year", "2022", "--known-at", "2030"])
    assert r.exit_code == 2 and "Allowed: 2015–2024, omitted" in r.output and "None" not in r.output


def test_policy_show_marks_the_rules_held_after_their_last_year() -> None:
    """Known at 2018 the last NEV ratio set was 2020's 12 %: 2022 lists it, held, as the simulator holds it."""
    r = run("policy", "show", "--year", "2022", "--known-at", "2018", "--json")
    assert r.exit_code == 0, r.output
    rules = {row["param"]: row for row in json.loads(r.stdout)["rules"] if row["standard"] == "NEV"}
    assert rules["nev_ratio"]["value"] == 0.12 and rules["nev_ratio"]["held_from"] == 2020
    assert rules["bev_slope"]["held_from"] is None
    text = run("policy", "show", "--year", "2022", "--known-at", "2018")
    assert text.exit_code == 0
    line = next(ln for ln in text.stdout.splitlines() if "nev_ratio" in ln)
    assert "0.12" in line and "from 2020" in line
    assert "the simulator holds each at its last set value" in text.stdout
    plain = run("policy", "show", "--year", "2022")
    assert "held" not in plain.stdout


def test_policy_show_json_keeps_infinity_apart_from_no_value() -> None:
    """An infinite value or band edge is written as the text "inf", not null (which means "no value").

    The 2025 trade-in price shares are ``inf`` (a flat amount, no share-of-price cap) and the
    BEV density factor's top band is open (``125–inf Wh/kg``); both came out as null before.
    """
    r = run("policy", "show", "--year", "2025", "--json")
    assert r.exit_code == 0, r.output
    rules = json.loads(r.stdout)["rules"]
    values = {row["param"]: row["value"] for row in rules}
    assert values["trade_in_scrap_nev_price_share"] == "inf"
    assert float(values["trade_in_scrap_nev_price_share"]) == float("inf")
    assert "inf" in {row["upper"] for row in rules if row["param"] == "bev_density_factor"}
    assert all(row["value"] is not None for row in rules)          # every rule in force has a value
    assert {row["lower"] for row in rules if row["param"] == "nev_ratio"} == {None}  # no band: null


@pytest.mark.parametrize(("command", "year", "says"), [
    # QA: 2030 said "Allowed: 2000–2027" and 2000 "Allowed: 2012–2030" (one rule's coverage each),
    # both with the Python spelling "pass extend='hold'"
    (["compliance", "example"], "2030", "2030 is after 2027, the last year for which China's dual-credit (NEV and CAFC) "
                                        "rules are set; pass --hold to hold the 2027 rules. "
                                        "Allowed: 2012–2027, 2028 or later with --hold."),
    (["compliance", "example"], "2000", "Allowed: 2012–2027, 2028 or later with --hold."),
    (["credits", "--powertrain", "BEV", "--range-km", "400"], "2030",
     "pass --hold to hold the 2027 rules. Allowed: 2018–2027, 2028 or later with --hold."),
    (["credits", "--powertrain", "BEV", "--range-km", "400", "--hold"], "2017", "Allowed: 2018 or later."),
])
def test_year_errors_name_the_flags_and_the_years_that_work(command: list[str], year: str, says: str) -> None:
    r = run(*command, "--year", year)
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("Error: --year: ") and says in r.stderr
    assert "extend=" not in r.stderr


@pytest.mark.parametrize(("command", "first", "last"), [
    (["compliance", "example"], 2012, 2027),
    (["credits", "--powertrain", "BEV", "--range-km", "400"], 2018, 2027),
])
def test_year_help_gives_the_years_that_work(command: list[str], first: int, last: int) -> None:
    """The --help range is written out; it must be the range in which the command runs."""
    for year, code in ((first - 1, 2), (first, 0), (last, 0), (last + 1, 2)):
        assert run(*command, "--year", str(year)).exit_code == code, (command, year)
    assert run(*command, "--year", str(last + 20), "--hold").exit_code == 0
    text = runner.invoke(nevsim.cli.app, [command[0], "--help"], env={"COLUMNS": "200"}).stdout
    assert f"{first}–{last}; a later year with --hold" in text


def test_compliance_hold_note_names_the_flag() -> None:
    """The note under a held year named only the Python argument (extend='hold'), not --hold."""
    r = run("compliance", "example", "--year", "2030", "--hold")
    assert r.exit_code == 0, r.output
    assert "rules held from 2027" in r.stdout and "--hold" in r.stdout
