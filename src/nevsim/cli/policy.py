"""CLI: ``nevsim credits``, ``nevsim compliance`` and ``nevsim policy show|audit`` (issue 3)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from nevsim.cli._common import cli_errors, echo_json, print_table
from nevsim.errors import InputError

CREDIT_POWERTRAINS = ("BEV", "PHEV", "FCEV")


def _table(title: str, frame: Any, columns: list[str], formats: dict[str, str] | None = None) -> None:
    from rich.table import Table

    formats = formats or {}
    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c, overflow="fold")
    for rec in frame[columns].itertuples(index=False):
        cells = []
        for c, v in zip(columns, rec, strict=True):
            if isinstance(v, float):
                cells.append("" if np.isnan(v) else format(v, formats.get(c, ",.2f")))
            else:
                cells.append(str(v))
        table.add_row(*cells)
    # a pipe: one table, whole; a terminal too narrow: stacked tables, each repeating every column
    # that names a row (a standard's parameter has a value per revision, years, powertrain and band)
    identifying = ("standard", "param", "revision", "years", "year", "powertrain", "band")
    print_table(table, key=[c for c in identifying if c in columns] or 1)


def _source_urls(keys: tuple[str, ...] | list[str]) -> dict[str, str]:
    from nevsim.policy import sources

    table = sources()
    urls = dict(zip(table["source_key"], table["url"], strict=True))
    return {k: urls.get(k, "") for k in keys}


@cli_errors
def credits_cmd(
    year: Annotated[int, typer.Option("--year", help="Compliance year (China: 2018–2027; a later year with --hold).")],
    powertrain: Annotated[str, typer.Option("--powertrain", help="BEV, PHEV or FCEV.")],
    range_km: Annotated[float | None, typer.Option("--range-km", help="Rated electric range (km).")] = None,
    energy_kwh_per_100km: Annotated[
        float | None, typer.Option("--energy-kwh-per-100km", help="Electric consumption (kWh/100 km).")] = None,
    curb_mass_kg: Annotated[float | None, typer.Option("--curb-mass-kg", help="Curb mass (kg).")] = None,
    fc_power_kw: Annotated[float | None, typer.Option("--fc-power-kw", help="Fuel-cell power (kW).")] = None,
    battery_wh_per_kg: Annotated[
        float | None, typer.Option("--battery-wh-per-kg", help="Battery-system energy density (Wh/kg).")] = None,
    revision: Annotated[str | None, typer.Option(
        "--revision", help="Force a rule revision (order44, order53, order64, miit2025).")] = None,
    hold: Annotated[bool, typer.Option("--hold", help="Hold the last set rules for years beyond them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """China NEV credits of one vehicle: standard credit, multipliers, final credit, rule, sources."""
    from nevsim.policy import china
    from nevsim.policy.vehicles import VehicleArrays

    pt = powertrain.strip().upper()
    if pt not in CREDIT_POWERTRAINS:
        raise InputError("--powertrain", f"unknown or non-NEV powertrain {powertrain!r}.", CREDIT_POWERTRAINS)
    if pt in ("BEV", "PHEV") and range_km is None:
        raise InputError("--range-km", f"required for a {pt} (the credit depends on range).", ["a range in km"])
    if pt == "FCEV" and fc_power_kw is None:
        raise InputError("--fc-power-kw", "required for an FCEV (the credit depends on fuel-cell power).",
                         ["a power in kW"])
    if revision is not None and revision not in china.REVISION_TITLES:
        raise InputError("--revision", f"unknown revision {revision!r}.", list(china.REVISION_TITLES))
    try:
        v = VehicleArrays.single(pt, range_km=range_km, energy_kwh_per_100km=energy_kwh_per_100km,
                                 curb_mass_kg=curb_mass_kg, fc_power_kw=fc_power_kw,
                                 battery_wh_per_kg=battery_wh_per_kg)
        b = china.nev_credit_breakdown(year, v, revision=revision, extend="hold" if hold else None)
    except InputError as exc:
        if exc.field == "year":
            raise _year_error(year, hold, "China's NEV credit rules",
                              lambda y, extend: china.nev_credit_breakdown(y, v, revision=revision,
                                                                           extend=extend)) from None
        raise InputError(f"--{exc.field.replace('_', '-')}", exc.message, exc.allowed) from None
    payload = {
        "year": year, "powertrain": pt,
        "inputs": {"range_km": range_km, "energy_kwh_per_100km": energy_kwh_per_100km,
                   "curb_mass_kg": curb_mass_kg, "fc_power_kw": fc_power_kw,
                   "battery_wh_per_kg": battery_wh_per_kg},
        "standard_credit": float(b["standard_credit"]),
        "multipliers": {"range": float(b["range_factor"]), "energy_efficiency": float(b["efficiency_factor"]),
                        "energy_density": float(b["density_factor"])},
        "credit": float(b["credit"]),
        "rule": {"regulation": "China CAFC/NEV dual-credit Measures", "revision": b["revision"],
                 "title": b["rule"], "status": b["status"]},
        "sources": _source_urls(b["sources"]),  # type: ignore[arg-type]
        "notes": list(b["notes"]),  # type: ignore[call-overload]
    }
    if b["status"] != "V":
        payload["notes"].append("some parameters of this rule are unconfirmed (status "
                                f"{b['status']}); see `nevsim policy audit`")
    if as_json:
        echo_json(payload)
        return
    typer.echo(f"{pt} {year} — {b['rule']} (status {b['status']})")
    typer.echo(f"  standard credit : {payload['standard_credit']:.4g}")
    for k, val in payload["multipliers"].items():
        typer.echo(f"  × {k:<17}: {val:.4g}")
    typer.echo(f"  credit          : {payload['credit']:.4g}")
    for note in payload["notes"]:
        typer.echo(f"  note: {note}")
    typer.echo("  sources: " + ", ".join(payload["sources"]))


@cli_errors
def compliance_cmd(
    fleet_csv: Annotated[Path, typer.Argument(help="Model-level fleet CSV (see nevsim.policy.fleet); "
                                                    "'example' uses the shipped example.")],
    year: Annotated[int, typer.Option("--year", help="Compliance year (China rules: 2012–2027; a later year with --hold).")],
    hold: Annotated[bool, typer.Option("--hold", help="Hold the last set rules for years beyond them.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """China dual-credit accounting per maker: NEV earned/required/balance, CAFC, offsets."""
    from nevsim.policy import fleet

    path = fleet.example_fleet_path() if str(fleet_csv) == "example" else fleet_csv
    try:
        f = fleet.read_fleet(path)
    except InputError as exc:  # (named as --help names the argument: fleet_csv)
        raise InputError(_fleet_field(exc.field), exc.message, exc.allowed) from None
    try:
        acc = fleet.china_compliance(year, f, extend="hold" if hold else None)
    except InputError as exc:
        if exc.field == "year":
            raise _year_error(year, hold, "China's dual-credit (NEV and CAFC) rules",
                              lambda y, extend: fleet.china_compliance(y, f, extend=extend)) from None
        raise InputError(_fleet_field(exc.field), exc.message, exc.allowed) from None
    notes = list(dict.fromkeys(acc.nev.notes + acc.cafc.notes))
    status = min((acc.nev.status, acc.cafc.status), key=lambda s: "USDV".index(s))
    if as_json:
        echo_json({"year": acc.year, "fleet": str(path), "makers": acc.makers.to_dict(orient="records"),
                   "totals": acc.totals, "status": status, "notes": notes,
                   "sources": _source_urls(sorted(set(acc.nev.sources) | set(acc.cafc.sources)))})
        return
    cols = ["maker", "units", "nev_earned", "nev_required", "nev_balance", "cafc_actual_l_per_100km",
            "cafc_target_l_per_100km", "cafc_balance", "nev_used_for_cafc", "cafc_balance_after_offset"]
    frame = acc.makers.rename(columns={"cafc_actual_l_per_100km": "cafc_actual", "cafc_target_l_per_100km":
                                       "cafc_target"})
    cols = [c.replace("_l_per_100km", "") for c in cols]
    _table(f"China dual credits {acc.year} (NEV credits; CAFC in L/100km and L/100km×vehicle)", frame, cols,
           {"units": ",.0f", "cafc_actual": ".2f", "cafc_target": ".2f", "nev_earned": ",.0f",
            "nev_required": ",.0f", "nev_balance": ",.0f", "cafc_balance": ",.0f", "nev_used_for_cafc": ",.0f",
            "cafc_balance_after_offset": ",.0f"})
    tt = acc.totals
    typer.echo(f"NEV credits: positive {tt['nev_positive']:,.0f}, negative {tt['nev_negative']:,.0f}; "
               f"CAFC credits: positive {tt['cafc_positive']:,.0f}, negative {tt['cafc_negative']:,.0f}; "
               f"NEV credits used for CAFC deficits {tt['nev_used_for_cafc']:,.0f}.")
    typer.echo(f"Rule status: {status} (see `nevsim policy audit`).")
    for note in notes:
        typer.echo(f"note: {note}")


def _fleet_field(field: str) -> str:
    """A fleet error's field as the command names the argument (``FLEET.units`` → ``fleet_csv.units``)."""
    head, dot, rest = field.partition(".")
    return f"fleet_csv{dot}{rest}" if head.upper() == "FLEET" else f"fleet_csv.{field}"


def working_years(attempt: Callable[[int, str | None], object], *, hold: bool = False) -> tuple[int, int | None] | None:
    """The first and last year in which ``attempt(year, extend)`` raises no year error (last None:
    every later year, with ``hold``), or None if no year works.

    Probed over the years the policy tables name (each call takes milliseconds; only an error
    pays for it), so the range is the one that works for the whole command — every rule it
    reads — not one rule's coverage.
    """
    from nevsim.policy import audit

    table = audit()
    table = table[table["region"] == "CN"]
    span = range(int(table["year_from"].min()), int(table["year_to"].max()) + 2)
    ok = []
    for y in span:
        try:
            attempt(y, "hold" if hold else None)
        except InputError as exc:
            if exc.field != "year":
                raise
            continue
        ok.append(y)
    if not ok:
        return None
    return ok[0], (None if hold and ok[-1] == span[-1] else ok[-1])


def _year_error(year: int, hold: bool, what: str, attempt: Callable[[int, str | None], object]) -> InputError:
    """``--year`` outside the years that work for this command: the range that works (not one
    rule's coverage), and ``--hold`` where holding the last set rules would make the year work."""
    found = working_years(attempt)
    if found is None or found[1] is None:
        return InputError("--year", f"{year}: no year works for {what}.")
    first, last = found
    held = working_years(attempt, hold=True)
    later = held is not None and held[1] is None  # (--hold makes every later year work)
    if hold:
        allowed = [f"{first} or later" if later else f"{first}–{last}"]
    else:
        allowed = [f"{first}–{last}", *([f"{last + 1} or later with --hold"] if later else [])]
    if year < first:
        return InputError("--year", f"{year} is before the years {what} cover ({first}–{last}).", allowed)
    if later and not hold:
        return InputError("--year", f"{year} is after {last}, the last year for which {what} are set; pass "
                                    f"--hold to hold the {last} rules.", allowed)
    return InputError("--year", f"{year} is outside the years {what} cover ({first}–{last}).", allowed)


def _inf_as_text(value: object) -> object:
    """``±inf`` → ``"inf"``/``"-inf"`` (JSON has no infinity, and null already means "no value")."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def register(app: typer.Typer) -> None:
    """Add the policy commands to the ``nevsim`` app."""
    app.command("credits")(credits_cmd)
    app.command("compliance")(compliance_cmd)
    policy_app = typer.Typer(help="Policy rules: what is in force, and every parameter's source and status.",
                             no_args_is_help=True)

    @policy_app.command("show")
    @cli_errors
    def show_cmd(
        region: Annotated[str, typer.Option("--region", help="CN, US or EU.")] = "CN",
        year: Annotated[int, typer.Option("--year", help="Year.")] = 2025,
        known_at: Annotated[int | None, typer.Option(
            "--known-at", help="China: the rules for --year as issued by the end of this year (2015–2024; "
            "what a back-test from that cutoff runs with). Default: as enacted.")] = None,
        as_json: Annotated[bool, typer.Option(
            "--json", help="Print JSON. An infinite value or band edge (no cap, an open band) is the "
            "text \"inf\" (JSON has no infinity; float(\"inf\") and pandas.to_numeric read it); null "
            "means no value.")] = False,
    ) -> None:
        """The rules in force in a region and year (parameters and bands, with status and source).

        China NEV/CAFC rules with no value set for the year: the last set value, which the simulator holds.
        """
        from nevsim.policy import show
        from nevsim.policy.rules import REGIONS, region_code

        try:
            code = region_code(region)
        except InputError as exc:
            raise InputError("--region", exc.message, REGIONS) from None
        try:
            frame = show(code, year, known_at=known_at)
        except InputError as exc:
            if exc.field != "known_at":
                raise
            allowed = [a.replace("unset / None", "omitted") for a in exc.allowed or []] or None
            raise InputError("--known-at", exc.message, allowed) from None
        if as_json:
            echo_json({"region": code, "year": year, "known_at": known_at,
                       "rules": [{k: _inf_as_text(v) for k, v in row.items()}
                                 for row in frame.to_dict(orient="records")]})
            return
        frame = frame.assign(band=[
            "" if np.isnan(lo) else f"{lo:g}–{hi:g} {u}" for lo, hi, u in
            zip(frame["lower"], frame["upper"], frame["band_unit"], strict=True)])
        title = f"{code} rules in force in {year}" + ("" if known_at is None else f", as known at the end of {known_at}")
        held = frame["held_from"].notna()
        columns = ["standard", "param", "revision", "powertrain", "band", "value", "unit", "status", "source_key"]
        if held.any():
            frame = frame.assign(held=["" if h is None else f"from {h}" for h in frame["held_from"]])
            columns.insert(6, "held")
        _table(title, frame, columns, {"value": ".6g"})
        if held.any():
            last = sorted({int(h) for h in frame.loc[held, "held_from"]})
            typer.echo(f"Note: {int(held.sum())} row(s) have no value set for {year}; the simulator holds each at its "
                       f"last set value (column 'held': from {', '.join(map(str, last))}). With a scenario's "
                       "dual_credit.extend = \"zero\" the NEV ratio is 0 instead.")
        lapsed = frame[(frame["param"] == "legal_in_force") & (frame["value"] == 0)]
        for row in lapsed.itertuples():
            typer.echo(f"Note: {row.standard} is not in force in {year} ({row.source_key}): {row.note}")
        n_u = int((frame["status"] == "U").sum())
        if n_u:
            typer.echo(f"{n_u} of these values are unconfirmed (U) placeholders — see `nevsim policy audit`.")

    @policy_app.command("audit")
    @cli_errors
    def audit_cmd(
        status: Annotated[str | None, typer.Option("--status", help="Only rows with this status (U, S, D, V).")
                          ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Every policy parameter with its source and status, unconfirmed (U) first."""
        from nevsim.policy import audit

        frame = audit()
        if status is not None:
            if status.upper() not in ("U", "S", "D", "V"):
                raise InputError("--status", f"unknown status {status!r}.", ["U", "S", "D", "V"])
            frame = frame[frame["status"] == status.upper()]
        counts = frame["status"].value_counts().to_dict()
        if as_json:
            echo_json({"counts": counts, "parameters": frame.to_dict(orient="records")})
            return
        frame = frame.assign(years=[f"{a}–{b}" if a != b else f"{a}" for a, b in
                                    zip(frame["year_from"], frame["year_to"], strict=True)])
        _table("Policy parameters (U = unconfirmed, S = secondary source, D = derived, V = verified)", frame,
               ["status", "region", "standard", "param", "revision", "years", "powertrain", "value", "unit",
                "source_key", "note"], {"value": ".6g"})
        typer.echo("Counts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))

    app.add_typer(policy_app, name="policy")
