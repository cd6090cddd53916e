"""Fuzzing the input files: every bad scenario or sweep file is an honest error.

The property (README, docs/model.md, nevsim.errors): a shipped scenario file
(``src/nevsim/scenarios/*.toml``) or sweep file (``src/nevsim/sweeps/*.toml``) with one to three of
its values mutated — a wrong type, NaN, ±inf, a negative, zero, a huge number, a year far out of
range, an empty string or list, an unknown key beside a known one, a deleted or misspelled key, a
distribution table with bad or missing parameters, a correlation group outside [-1, 1] or not
positive semi-definite, a repeated list entry — either

* loads, validates and runs (one draw; the scenario's history and a few projection years, or the
  sweep's first grid point) with every EV share finite and in 0–100 % and no ±inf anywhere, or
* raises :class:`nevsim.errors.InputError` whose ``field`` is the mutated path, a table that
  holds it or a key inside it (or whose message names the mutated key).

Anything else — a KeyError, TypeError, ZeroDivisionError, a numpy warning (warnings are errors in
this suite), a pydantic ValidationError that leaks — is a bug. Mutations that can never be valid
(an unknown or misspelled key, NaN or ±inf in place of a value, a year key outside 2000–2100) must
raise. A sample goes through the ``nevsim`` command line too: exit 0 or 2, never a traceback.

Examples: ``HYPOTHESIS_PROFILE=ci`` (CI) draws the same few dozen on every run, bounded to a few
seconds; a local run explores new ones. A deep fuzz (how the cases below were found)::

    NEVSIM_FUZZ_EXAMPLES=1500 nice -n 10 .venv/bin/pytest -q tests/test_fuzz_inputs.py -p no:cacheprovider

runs that many examples per property (and the whole projection, not a few years). Each failure it
found is an explicit case in ``test_found_cases`` below.
"""

from __future__ import annotations

import copy
import math
import os
import re
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import nevsim
from nevsim.errors import InputError
from nevsim.scenario import list_scenarios, load_scenario
from nevsim.sweep import load_sweep_spec, run_chunk

# ---------------------------------------------------------------------------- the shipped files

SCENARIO_FILES: dict[str, dict[str, Any]] = {
    name: tomllib.loads((resources.files("nevsim.scenarios") / f"{name}.toml").read_text(encoding="utf-8"))
    for name in list_scenarios()
}
SWEEP_FILES: dict[str, dict[str, Any]] = {
    p.name[:-5]: tomllib.loads(p.read_text(encoding="utf-8"))
    for p in resources.files("nevsim.sweeps").iterdir() if p.name.endswith(".toml")
}

#: Deep fuzz: examples per property (and whole projections) when set; CI and a plain local run
#: use the bounded counts of each test.
DEEP = int(os.environ.get("NEVSIM_FUZZ_EXAMPLES", "0"))

Path_ = tuple[str | int, ...]

_NAN, _INF, _BIG = float("nan"), float("inf"), sys.float_info.max
#: Values tried in place of any value (wrong type, non-finite, sign, size, years far out).
_POOL: list[Any] = [
    "text", "", " ", True, False, [], [1.0], ["a"], [[1.0]], {}, {"x": 1.0}, {"dist": "normal"},
    _NAN, _INF, -_INF, 0, 0.0, -0.0, -1, -1.0, 0.5, 1, 1.0, 1e-300, 5e-324, 1e300, -1e300, _BIG, -_BIG,
    2**63 - 1, -(2**63),
    1800, 1999, 2000, 2009, 2010, 2011, 2012, 2022, 2023, 2028, 2029, 2030, 2031, 2060, 2061, 2075, 2100, 2101,
    3000, 99999,
]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_year_table(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(str(k).strip().isdigit() for k in value)


def _nonfinite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _paths(node: Any, prefix: Path_ = ()) -> Iterator[Path_]:
    """Every key of every table and every index of every list, depth first."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _get(data: Any, path: Path_) -> Any:
    for part in path:
        data = data[part]
    return data


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


# ---------------------------------------------------------------------------- mutations


@dataclass
class Mutation:
    kind: str
    path: str
    value: Any = None
    #: no file with this mutation may validate (unknown key, NaN, …) while it is still in the file
    must_fail: bool = False
    #: where it is (the keys of ``path``; a sweep's dotted grid keys are one key each)
    at: Path_ = ()
    #: another path the mutation concerns (a renamed key's old name: the error may say it is missing)
    also: str = ""

    def __repr__(self) -> str:  # (hypothesis prints the falsifying case with it)
        return f"{self.kind}@{self.path}={self.value!r}" + (" (must fail)" if self.must_fail else "")


@dataclass
class Case:
    """One mutated file: which shipped file, the mutated TOML table and what was done."""

    kind: str  # "scenario" or "sweep"
    name: str
    data: dict[str, Any]
    mutations: list[Mutation] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Case({self.kind} {self.name}: {self.mutations})"

    @property
    def must_fail(self) -> bool:
        """A mutation that no valid file can have is still in the file (a later one may have
        deleted or replaced the table it was in)."""
        for m in self.mutations:
            if not m.must_fail:
                continue
            try:
                value = _get(self.data, m.at)
            except (KeyError, IndexError, TypeError):
                continue
            if value is m.value or (_nonfinite(value) and _nonfinite(m.value)):
                return True
        return False


def _number_variants(old: float) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([-old, old * 10, old / 10, old + 1, old - 1, float(old), str(old),
                         int(old) if math.isfinite(old) else 0]),
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**63), 2**63 - 1),
    )


def _replacement(old: Any) -> st.SearchStrategy[Any]:
    """A value for ``old``'s place: mostly of another type or non-finite, sometimes a near miss."""
    near: list[st.SearchStrategy[Any]] = [st.sampled_from(_POOL)]
    if _is_number(old):
        near.append(_number_variants(float(old)))
    elif isinstance(old, str):
        near.append(st.sampled_from([old + "x", old.upper(), old.lower(), f" {old}", old[:-1], f"{old}.toml"]))
        near.append(st.text(max_size=6))
    elif isinstance(old, list):
        near.append(st.sampled_from([old * 2, old[:1], old[::-1], [old], [str(v) for v in old]]))
    elif isinstance(old, dict):
        near.append(st.sampled_from([dict(reversed(list(old.items()))), {k: str(v) for k, v in old.items()},
                                     {k: [v] for k, v in old.items()}]))
    return st.one_of(*near)


_FLOATS_BAD = st.sampled_from([0.0, -1.0, -1e-9, 1e-300, 5e-324, 1e300, -1e300, _BIG, -_BIG, _NAN, _INF, -_INF,
                               "1", True, [1.0]])


@st.composite
def _distribution(draw: st.DrawFn, centre: float) -> dict[str, Any]:
    """A distribution table around ``centre``: plausible parameters, some of them broken."""
    kind = draw(st.sampled_from(["normal", "lognormal", "uniform", "triangular", "choice",
                                 "gamma", "Normal", "", 1]))
    spread = abs(centre) * draw(st.sampled_from([0.01, 0.1, 0.5, 2.0])) or 0.1
    good: dict[str, Any] = {
        "normal": {"mean": centre, "sd": spread, "min": centre - 2 * spread, "max": centre + 2 * spread},
        "lognormal": {"mean": abs(centre) or 1.0, "sd": spread, "max": abs(centre) * 3 + 1},
        "uniform": {"low": centre - spread, "high": centre + spread},
        "triangular": {"low": centre - spread, "mode": centre, "high": centre + spread},
        "choice": {"values": [centre, centre + spread], "weights": [0.7, 0.3]},
    }.get(kind if isinstance(kind, str) else "", {"mean": centre, "sd": spread})
    table: dict[str, Any] = {"dist": kind}
    for key, value in good.items():
        how = draw(st.sampled_from(["good"] * 4 + ["bad", "drop", "swap"]))
        if how == "good":
            table[key] = value
        elif how == "bad":
            table[key] = draw(_FLOATS_BAD) if not isinstance(value, list) else draw(st.sampled_from(
                [[], [_NAN], [1.0, -1.0], [0.0, 0.0], ["a"], [1.0, 2.0, 3.0], [0.2, 0.2]]))
        elif how == "swap":  # (min above max, low above high)
            other = {"min": "max", "max": "min", "low": "high", "high": "low", "mean": "sd", "sd": "mean"}.get(key)
            table[key] = good.get(other, value) if other else value
    if draw(st.booleans()) and draw(st.booleans()):
        table[draw(st.sampled_from(["p", "scale", "sd", "mode", "weights"]))] = 1.0
    return table


@st.composite
def _correlation(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """A correlation group over ``names`` (some unknown), its matrix sometimes broken."""
    pool = [*names, "technology.nothing", "fleet.weibull_shape", "policy.dual_credit.extend"]
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4))
    k = len(chosen)
    r = draw(st.sampled_from([0.0, 0.3, -0.5, 0.99, 1.0, -1.0, 1.5, -2.0, _NAN, 0.9]))
    matrix = [[1.0 if i == j else r for j in range(k)] for i in range(k)]
    how = draw(st.sampled_from(["as is", "as is", "non-psd", "asym", "diag", "shape", "ragged"]))
    if how == "non-psd" and k >= 3:
        matrix[0][1] = matrix[1][0] = 0.9
        matrix[1][2] = matrix[2][1] = 0.9
        matrix[0][2] = matrix[2][0] = -0.9
    elif how == "asym" and k >= 2:
        matrix[0][1] = 0.2
        matrix[1][0] = -0.2
    elif how == "diag":
        matrix[0][0] = 0.5
    elif how == "shape":
        matrix = matrix[:-1] or [[]]
    elif how == "ragged" and k >= 2:
        matrix[1] = matrix[1][:-1]
    return {"names": chosen, "matrix": matrix}


@st.composite
def _mutate_once(draw: st.DrawFn, data: dict[str, Any], sampled: list[str]) -> Mutation:
    """Mutate ``data`` in place at one path; return what was done."""
    paths = list(_paths(data))
    path = draw(st.sampled_from(paths)) if paths else ()
    parent = _get(data, path[:-1])
    key = path[-1]
    old = parent[key]
    kinds = ["replace"] * 5 + ["delete", "unknown", "rename"]
    if _is_number(old):
        kinds += ["distribution"] * 2
    if _is_year_table(old) or (isinstance(old, dict) and not old):
        kinds += ["year key"] * 2
    if isinstance(old, list):
        kinds += ["duplicate"] * 2
    if path[:1] in (("uncertainty",), ("correlations",)):
        kinds += ["correlation"] * 2
    kind = draw(st.sampled_from(kinds))
    where = dotted(path)
    if kind == "replace":
        new = copy.deepcopy(draw(_replacement(old)))  # (never a pool's own list or table: it would change)
        parent[key] = new
        return Mutation(kind, where, new, must_fail=_nonfinite(new), at=path)
    if kind == "delete":
        if isinstance(parent, list):
            parent.pop(key)  # type: ignore[call-overload]
        else:
            del parent[key]
        return Mutation(kind, where)
    if kind in ("unknown", "rename"):
        if isinstance(parent, list):  # (no key beside an entry of a list: repeat it instead)
            parent.append(copy.deepcopy(old))
            return Mutation("duplicate", dotted(path[:-1]), old)
        typo = f"{key}_typo"
        parent[typo] = old if kind == "rename" else copy.deepcopy(old)
        if kind == "rename":
            del parent[key]
        return Mutation(kind, dotted((*path[:-1], typo)), parent[typo], must_fail=True, at=(*path[:-1], typo),
                        also=where if kind == "rename" else "")
    if kind == "distribution":
        table = copy.deepcopy(draw(_distribution(float(old))))
        parent[key] = table
        return Mutation(kind, where, table)
    if kind == "year key":
        year = draw(st.sampled_from(["1800", "1999", "2101", "3000", "abc", "2030.5", "-2030", " 2030", "02030",
                                     "2020", "2045"]))
        value = draw(st.sampled_from([1.0, 0.0, -1.0, 50.0, 1e300, _NAN, "x"]))
        old[year] = value
        bad_key = not year.strip().isdigit() or not 2000 <= int(year) <= 2100
        return Mutation(kind, f"{where}.{year}", value, must_fail=bad_key or _nonfinite(value), at=(*path, year))
    if kind == "duplicate":
        if old:
            old.append(copy.deepcopy(draw(st.sampled_from(old))))
        else:
            old.append(copy.deepcopy(draw(st.sampled_from(_POOL))))
        return Mutation(kind, where, old[-1])
    group = copy.deepcopy(draw(_correlation(sampled)))  # kind == "correlation"
    holder = data.setdefault("uncertainty", {}) if path[0] == "uncertainty" else data
    groups = holder.get("correlations")
    if not isinstance(groups, list) or draw(st.booleans()):
        holder["correlations"] = groups = []
    groups.append(group)
    prefix = "uncertainty.correlations" if path[0] == "uncertainty" else "correlations"
    return Mutation(kind, f"{prefix}.{len(groups) - 1}", group)


_SAMPLED: dict[str, list[str]] = {}


def _sampled(name: str) -> list[str]:
    """What a shipped scenario samples (the names a correlation group may use)."""
    if name not in _SAMPLED:
        _SAMPLED[name] = sorted(load_scenario(name).distributions())
    return _SAMPLED[name]


@st.composite
def cases(draw: st.DrawFn, kind: str) -> Case:
    files = SCENARIO_FILES if kind == "scenario" else SWEEP_FILES
    name = draw(st.sampled_from(sorted(files)))
    data = copy.deepcopy(files[name])
    sampled = _sampled(name) if kind == "scenario" else _sampled("china-current-policies")
    n = draw(st.sampled_from([1, 1, 1, 2, 3]))
    mutations = [draw(_mutate_once(data, sampled)) for _ in range(n)]
    return Case(kind, name, data, mutations)


# ---------------------------------------------------------------------------- the property


def _norm(text: str) -> str:
    return re.sub(r"\[(\d+)\]", r".\1", text)


def _related(err: InputError, case: Case) -> bool:
    """The error's field is a mutated path, holds one or sits inside one; or its message names
    a mutated key. A deleted or renamed key may make another one missing (deleting ``base`` leaves
    the file's sections without the base's values): an error that says so is related too."""
    where = _norm(err.field)
    said = _norm(str(err))
    for m in case.mutations:
        for path in filter(None, (_norm(m.path), _norm(m.also))):
            if where == path or path.startswith(f"{where}.") or where.startswith(f"{path}."):
                return True
            leaf = path.rsplit(".", 1)[-1]
            if path in said or (not leaf.isdigit() and len(leaf) > 3 and leaf in said):
                return True
        if m.kind in ("delete", "rename") and re.search(r"\bmissing\b|Field required", said):
            return True
    return False


def _write(case: Case, folder: Path) -> Path:
    file = folder / f"{case.name}.toml"
    file.write_text(tomli_w.dumps(case.data), encoding="utf-8")
    return file


def _check_frame(frame: Any, case: Case) -> None:
    values = frame["value"].to_numpy(dtype=float)
    assert not np.isinf(values).any(), (case, frame[np.isinf(values)].head())
    nan = np.isnan(values)
    # (a credit market's shortfall and bank have no value in years without the standard)
    assert frame.loc[nan, "variable"].str.startswith("Credits|").all(), (case, frame[nan].head())
    shares = frame[frame["variable"].str.startswith("Sales Share|")]["value"].to_numpy(dtype=float)
    assert np.isfinite(shares).all() and (shares >= 0).all() and (shares <= 100 + 1e-9).all(), case


def check_scenario_case(case: Case, folder: Path) -> str:
    """The property for a mutated scenario file; returns "error" or "ran"."""
    file = _write(case, folder)
    try:
        scenario = load_scenario(file)
    except InputError as err:
        assert _related(err, case), f"{case}: InputError at {err.field!r} ({err})"
        return "error"
    assert not case.must_fail, f"{case} validated: {scenario.resolved()}"
    years = scenario.years
    # short: the history and three projection years (the whole run in a deep fuzz, or when the
    # years were mutated: a late year is what such a mutation tests)
    whole = DEEP or any(m.path.startswith("years") or m.kind == "delete" for m in case.mutations)
    last = years.last if whole else min(years.last, years.calibrate_until + 3)
    if last < years.last:
        try:
            scenario = load_scenario(file, {"years.last": last})
        except InputError:
            pass  # (the shorter run is not the file's; the file's own run is checked)
    try:
        frame = nevsim.run(scenario, draws=1, makers=False).to_frame()
    except InputError as err:  # (what only the run can check: the region's name in the IEA data)
        assert _related(err, case), f"{case}: the run raised InputError at {err.field!r} ({err})"
        return "error"
    _check_frame(frame, case)
    return "ran"


def check_sweep_case(case: Case, folder: Path) -> str:
    """The property for a mutated sweep file: validate, then one draw of its first point."""
    file = _write(case, folder)
    try:
        spec = load_sweep_spec(file)
    except InputError as err:
        assert _related(err, case), f"{case}: InputError at {err.field!r} ({err})"
        return "error"
    assert not case.must_fail, f"{case} validated: {spec.canonical()}"
    scenario, grid = spec.points()[0]
    series, _ = run_chunk(scenario, {**spec.overrides, **grid}, range(1), spec.seed, spec.distributions,
                          spec.correlations, spec.until, scenario_uncertainty=spec.samples_scenarios)
    _check_frame(series, case)
    return "ran"


_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}


@settings(max_examples=DEEP or 40, **_SETTINGS)  # type: ignore[arg-type]
@given(cases("scenario"))
def test_mutated_scenario_file_is_an_honest_error_or_a_sound_run(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_scenario_case(case, Path(folder))


@settings(max_examples=DEEP or 12, **_SETTINGS)  # type: ignore[arg-type]
@given(cases("sweep"))
def test_mutated_sweep_file_is_an_honest_error_or_a_sound_run(case: Case) -> None:
    with tempfile.TemporaryDirectory() as folder:
        check_sweep_case(case, Path(folder))


# ---------------------------------------------------------------------------- the command line

_runner = CliRunner()


@settings(max_examples=DEEP // 10 or 4, **_SETTINGS)  # type: ignore[arg-type]
@given(cases("scenario"), st.sampled_from([[], ["--draws", "1"], ["--draws", "0"], ["--seed", "-1"],
                                           ["--draws", "2", "--seed", "1"], ["--region", "XX"]]))
def test_mutated_scenario_file_on_the_command_line(case: Case, flags: list[str]) -> None:
    """``nevsim outlook FILE`` exits 0 or 2 (click's usage errors are 2 too), with no traceback."""
    from nevsim.cli import app

    with tempfile.TemporaryDirectory() as folder:
        file = _write(case, Path(folder))
        result = _runner.invoke(app, ["outlook", str(file), "--no-store", *flags])
    assert result.exit_code in (0, 2), (case, flags, result.output, result.exception)
    assert "Traceback" not in result.output, (case, result.output)
    if result.exit_code == 2:
        assert "Error" in result.output, (case, result.output)


@settings(max_examples=DEEP // 20 or 2, **_SETTINGS)  # type: ignore[arg-type]
@given(cases("sweep"))
def test_mutated_sweep_file_on_the_command_line(case: Case) -> None:
    """``nevsim sweep run FILE --draws 1`` exits 0 or 2, with no traceback."""
    from nevsim.cli import app

    with tempfile.TemporaryDirectory() as folder:
        file = _write(case, Path(folder))
        result = _runner.invoke(app, ["sweep", "run", str(file), "--draws", "1", "--workers", "0",
                                      "--store", str(Path(folder) / "runs.duckdb")])
    assert result.exit_code in (0, 2), (case, result.output, result.exception)
    assert "Traceback" not in result.output, (case, result.output)


# ---------------------------------------------------------------------------- what the fuzzing found

_CN = 'base = "china-current-policies"\n'
_US = 'base = "us-current-policies"\n'
_ENERGY = '[energy]\ngasoline_price_cny_per_l = { 2010 = 7.0 }\nelectricity_price_cny_per_kwh = { 2010 = 0.8 }\n'


@pytest.mark.parametrize(("text", "field", "words"), [
    # [uncertainty] written as a value: TypeError / ValueError (or, with a top-level draws, silently replaced)
    (_CN + "uncertainty = true\n", "uncertainty", "must be a table"),
    (_CN + 'draws = 3\nuncertainty = "text"\n', "uncertainty", "must be a table"),
    # a file without a base lacks the paths the run cannot do without: every result was NaN, without a word
    ('name = "x"\n', "energy.gasoline_price_cny_per_l", "is empty or missing"),
    ('name = "x"\n' + _ENERGY, "energy.grid_intensity_g_per_kwh", "is empty or missing"),
    (_US + "[region.energy]\ngasoline_price_per_l = {}\n", "region.energy.gasoline_price_per_l", "is empty or missing"),
    # a base that is not found was reported at "scenario" (the file's own name), not at base
    ('base = "china-nothing"\n', "base", "unknown scenario"),
    ('base = "us-current-policies.toml"\n', "base", "no scenario file"),
    # names checked only when the run started (the file validated, the run failed)
    (_US + '[calibration]\nagainst = " us-current-policies"\n', "calibration.against", "not a shipped scenario"),
    (_US + '[region]\nmakers = "u"\n', "region.makers", "no makers table 'u'"),
    (_US + '[region]\nmakers = ""\n', "region.makers", "needs a makers table"),
    # a distribution in the [region] table was reported at region_spec.… (the resolved scenario's name)
    (_US + '[region]\nvehicle_price_ratio = { dist = "uniform", low = 1.5, high = 1.7 }\n',
     "region.vehicle_price_ratio", "cannot be sampled"),
    # distributions whose draws leave the floats: OverflowError, or numpy overflow warnings when sampled
    (_CN + '[fleet]\nvkt_km_per_year = { dist = "lognormal", mean = 12000.0, sd = 1e300 }\n',
     "fleet.vkt_km_per_year", "its distribution reaches"),
    (_CN + '[fleet]\nvkt_km_per_year = { dist = "normal", mean = -1.7976931348623157e308, sd = 1e300 }\n',
     "fleet.vkt_km_per_year", "beyond the floating-point numbers"),
    # years the run could not simulate: errors at "year" (an internal rule) and "until" (a run argument)
    (_CN + "[years]\nlast = 2061\n", "years.last", "2060"),
    (_US + "[years]\nlast = 2075\n", "years.last", "US-30D"),
    (_CN + "[years]\nfirst = 2020\ncalibrate_until = 2021\n", "years.calibrate_until", "three history years"),
    (_CN + "[years]\nfirst = 2030\ncalibrate_until = 2030\nlast = 2040\n", "years.first", "three history years"),
    (_CN + "[years]\nfirst = 2020\nlast = 2015\n", "years.last", "not after years.first"),  # (was at "years")
    # exchange rates that divided by zero or overflowed exp() in the run
    (_US + "[region]\ncurrency_per_usd = 5e-324\n", "region.currency_per_usd", "out of range"),
    (_US + "[region]\ncny_per_usd = 99999.0\n", "region.cny_per_usd", "out of range"),
])
def test_found_cases_are_honest_errors(text: str, field: str, words: str, tmp_path: Path) -> None:
    """Each was found by the fuzzing above (a traceback, a NaN run, or an error at the wrong field)."""
    file = tmp_path / "found.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_scenario(file)
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)
    assert "Value error" not in str(info.value)


@pytest.mark.parametrize("table", [
    {"dist": "lognormal", "mean": 12000.0, "sd": 1e-300, "min": 8000.0, "max": 18000.0},  # σ = 0: ZeroDivisionError
    {"dist": "lognormal", "mean": 0.25, "sd": 1e300, "max": 1.75},  # (sd/mean)² overflowed: OverflowError
    {"dist": "lognormal", "mean": 12000.0, "sd": 1500.0, "min": 5e-324},  # min/e^μ = 0: log(0) warned
    {"dist": "choice", "values": [1.0, 2.0, 3.0], "weights": [1.7976931348623157e308, 0.0, 1.7976931348623157e308]},
])
def test_found_distributions_sample_without_warnings(table: dict[str, Any]) -> None:
    """Found by the fuzzing: these valid tables raised, or warned (an error in this suite), when sampled."""
    from nevsim.uncertainty import parse_distribution, sample

    dist = parse_distribution(table, "x")
    values = sample({"x": dist}, 50, 0)["x"]
    assert np.isfinite(values).all()
    assert all(math.isfinite(dist.percentile(q)) for q in (1e-9, 0.5, 1 - 1e-9))


def test_found_case_on_the_command_line(tmp_path: Path) -> None:
    """``uncertainty = true`` printed a TypeError traceback from ``nevsim outlook FILE``; now exit 2."""
    import subprocess

    file = tmp_path / "found.toml"
    file.write_text(_CN + "uncertainty = true\n", encoding="utf-8")
    nevsim_cli = Path(sys.executable).with_name("nevsim")
    done = subprocess.run([str(nevsim_cli), "outlook", str(file), "--no-store"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "uncertainty: must be a table" in done.stderr
