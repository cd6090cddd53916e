"""Sweeps: scenarios × parameter grids × draws, run in chunks on a local pool or a Dask cluster.

A sweep file (TOML)::

    name = "learning-vs-pass-through"
    description = "Battery learning against credit pass-through, with and without dual credit."
    scenarios = ["china-current-policies", "china-no-dual-credit"]
    draws = 1              # Monte Carlo draws per grid point
    seed = 42              # one seed for all points: common random numbers across points
    chunk_draws = 1000     # draws per chunk (the unit of work and of resume)
    makers = true          # store the per-draw makers table too (false: series only, much faster to save)
    precision = "single"   # draws stored to ~7 significant digits ("double": every bit, twice the size)
    scenario_uncertainty = true  # with draws > 1, also sample each scenario's own [uncertainty]

    [overrides]            # applied to every point (dotted keys or nested tables)
    "years.last" = 2050

    [grid]                 # the cartesian product of these values (scalar fields only)
    "technology.battery_learning_rate" = [0.14, 0.18, 0.22]
    "policy.dual_credit.pass_through" = [0.5, 0.7, 0.9]

    [distributions]        # sampled per draw (see nevsim.uncertainty)
    "technology.cny_per_usd" = {dist = "triangular", low = 6.5, mode = 7.1, high = 8.0}

    [[correlations]]
    names = ["technology.cny_per_usd", "fleet.vkt_km_per_year"]
    matrix = [[1.0, 0.3], [0.3, 1.0]]

Points are ``scenarios × grid`` (the scenario varies slowest, then the grid keys in the
order written); each point's draws are cut into chunks of ``chunk_draws``. A chunk is
computed by :func:`run_chunk` in a worker, sent back in the store's compact form
(:func:`nevsim.store.encode`: the labels once per cell, an Arrow table of ``cell, draw,
value``) and written by the calling process into the DuckDB store
(:class:`nevsim.store.Store`) in **one transaction** together with its row in
``sweep_chunks``. The sweep id is a hash of the validated sweep (so running the same sweep
again resumes it); on start, chunks already recorded are skipped. A sweep killed at any
moment therefore loses at most the chunks in flight and never writes a chunk twice.

Each grid point is one run in the store (``run_id = "sweep-<sweep id>-<point>"``), whose
``series``/``makers`` rows carry the ``draw`` column, so ``Store().load(run_id)`` gives
a :class:`nevsim.results.Results` with draws (quantiles, ``probability_met``).

Speed: the store has one writer. Its rows carry no text and a cell's draws are one list
(store schema version ≥ 3), in single precision by default (``precision``: half the bytes
to insert and commit); ``benchmarks/bench_sweep.py`` measures how the speed-up from more
local workers depends on it (docs/uncertainty.md has the figures).

Executors (one code path): :func:`executor` yields a :class:`concurrent.futures.Executor` —
a local ``ProcessPoolExecutor`` (default; ``workers`` processes), an in-process executor
(``workers=0``), or ``distributed.Client(address).get_executor()`` when a scheduler
address is given (``pip install "nevsim[dist]"``). :func:`run_sweep` only uses ``submit``
and :func:`concurrent.futures.wait`.

What a draw samples (``draws > 1``): what the point's scenario samples (its [uncertainty]:
distributions, correlation groups, ``coefficients = true``), as ``nevsim outlook --draws`` does,
with [distributions] replacing the scenario's distribution of the same path or adding one, and
[grid]/[overrides] values fixing a path; ``scenario_uncertainty = false`` samples only
[distributions] (what every sweep did before; those sweeps keep their ids, the others got new
ones). One draw: the scenario at its nominal values.

Draws: :func:`run_chunk` samples the chunk's draws (:func:`nevsim.uncertainty.sample`, so a
draw's values depend only on the seed and its number) and runs them in **one** vectorised
call, :func:`nevsim.simulate.run_values`, whose ``draw`` column is ``draws.start + local draw``.
Sampled values describe the world: each draw is calibrated on the scenario's reference with
the same values (see :func:`nevsim.simulate.run_values`); grid values are scenario overrides
(a counterfactual calibrated on the reference as written).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import json
import math
import os
import time
import tomllib
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from nevsim._forkserver import start_workers, stops_on_ctrl_c, watch_caller, worker_context
from nevsim.errors import InputError
from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
from nevsim.uncertainty import Correlation, parse_correlation, parse_distribution, sample

__all__ = [
    "Chunk",
    "SweepSpec",
    "SweepSummary",
    "chunks",
    "executor",
    "list_sweeps",
    "load_sweep",
    "load_sweep_spec",
    "run_chunk",
    "run_sweep",
    "start_workers",
    "sweep_chunks",
]

MAX_DRAWS = 1_000_000
_SWEEP_DDL = (
    """CREATE TABLE IF NOT EXISTS sweeps (
        sweep_id VARCHAR PRIMARY KEY, name VARCHAR, created TIMESTAMP, version VARCHAR,
        n_points INTEGER, n_chunks INTEGER, spec JSON)""",
    """CREATE TABLE IF NOT EXISTS sweep_chunks (
        sweep_id VARCHAR NOT NULL, chunk_id INTEGER NOT NULL, point_id INTEGER, run_id VARCHAR,
        draw_start INTEGER, draw_stop INTEGER, seconds DOUBLE, finished TIMESTAMP,
        PRIMARY KEY (sweep_id, chunk_id))""",
)

Scalar = float | int | bool | str


# ---------------------------------------------------------------------------- the sweep file


class SweepSpec(BaseModel):
    """A validated sweep (see the module docs for the file format)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="sweep name")
    description: str = ""
    scenarios: list[str] = Field(min_length=1, description="shipped scenario names or TOML paths")
    grid: dict[str, list[Scalar]] = Field(default_factory=dict, description="dotted path → values")
    overrides: dict[str, Any] = Field(default_factory=dict, description="changes applied to every point")
    distributions: dict[str, dict[str, Any]] = Field(default_factory=dict, description="dotted path → distribution")
    correlations: list[dict[str, Any]] = Field(default_factory=list, description="correlation groups")
    draws: int = Field(1, ge=1, le=MAX_DRAWS, description="Monte Carlo draws per grid point")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="random seed (numpy SeedSequence entropy)")
    chunk_draws: int = Field(1000, ge=1, le=MAX_DRAWS, description="draws per chunk")
    until: int | None = Field(None, ge=2015, le=2030, description="data cutoff for calibration (back-tests)")
    makers: StrictBool = Field(True, description="store the makers table of every draw (false: series only; the "
                                           "per-draw makers table is ~5× the series and the store's single "
                                           "writer limits how fast chunks can be saved)")
    precision: Literal["double", "single"] = Field(
        "single", description="how the draws are stored: single (IEEE single precision, about 7 significant "
                              "digits: half the file size and the writer's time) or double (every bit); "
                              "a sweep of one draw a point is stored in double either way")
    scenario_uncertainty: StrictBool = Field(
        True, description="with draws > 1, each draw also samples what the point's scenario samples (its "
                          "[uncertainty]: distributions, correlations, coefficients = true), as `nevsim outlook "
                          "--draws` does; [distributions] replaces a distribution of the same path and [grid] / "
                          "[overrides] values fix a path (false: only [distributions] is sampled, the scenario "
                          "stays at its nominal values)")

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for path, values in grid.items():
            if not values:
                raise ValueError(f"grid {path!r} has no values")
            if len({json.dumps(v) for v in values}) != len(values):
                raise ValueError(f"grid {path!r} repeats a value")
        return grid

    @property
    def n_points(self) -> int:
        """Number of grid points (scenarios × grid values)."""
        return len(self.scenarios) * math.prod(len(v) for v in self.grid.values())

    def points(self) -> list[tuple[str, dict[str, Scalar]]]:
        """``(scenario, grid values)`` of every point, in point-id order."""
        keys = list(self.grid)
        combos = list(itertools.product(*(self.grid[k] for k in keys)))
        return [(s, dict(zip(keys, combo, strict=True))) for s in self.scenarios for combo in combos]

    @property
    def samples_scenarios(self) -> bool:
        """True when each draw also samples the scenarios' own [uncertainty] (``draws > 1`` and
        ``scenario_uncertainty``)."""
        return self.draws > 1 and self.scenario_uncertainty

    @property
    def stored_precision(self) -> str:
        """How the points' values are stored (:data:`nevsim.store.PRECISIONS`): ``precision``
        when the points have several draws; one draw a point (each point one run, a few rows) is
        kept in double."""
        return self.precision if self.draws > 1 else "double"

    def canonical(self) -> str:
        """Canonical JSON of the sweep (sorted keys): what the sweep id hashes.

        ``makers = true`` is left out (ids from before ``makers`` existed stay valid), and so is
        ``scenario_uncertainty`` unless the draws sample the scenarios' [uncertainty]: a sweep
        whose draws sample only its own [distributions] (one draw, or ``scenario_uncertainty =
        false``) keeps the id it had before the option existed, when that was what every sweep
        meant; one whose draws now sample the scenarios too gets a new id, so resuming never
        mixes the two meanings in one sweep.

        A sweep whose one draw samples nothing (``draws = 1``, no [distributions]) is the
        deterministic run of each point, which no seed changes: its seed is hashed as 0, so
        sweeps that differ only in such a seed share one id and resume each other instead of
        storing the same results twice.

        ``precision`` is hashed only when the draws are stored in single precision
        (:attr:`stored_precision`): stores in double are what every sweep wrote before the option,
        and those sweeps keep their ids; a single-precision sweep never resumes a double one.
        """
        exclude = set() if not self.makers else {"makers"}
        if self.stored_precision == "double":
            exclude.add("precision")
        if not self.samples_scenarios:
            exclude.add("scenario_uncertainty")
        data = self.model_dump(mode="json", exclude=exclude or None)
        if self.draws == 1 and not self.distributions:
            data["seed"] = 0
        return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_stored(cls, text: str) -> SweepSpec:
        """A spec as stored by :meth:`canonical` (a missing ``scenario_uncertainty`` means false, a
        missing ``precision`` double)."""
        data = json.loads(text)
        data.setdefault("scenario_uncertainty", False)
        data.setdefault("precision", "double")
        return cls.model_validate(data)

    @property
    def sweep_id(self) -> str:
        """First 16 hex digits of sha256 of :meth:`canonical`."""
        return hashlib.sha256(self.canonical().encode()).hexdigest()[:16]




def _lookup(resolved: Mapping[str, Any], path: str) -> Any:
    node: Any = resolved
    for part in path.split("."):
        node = node[part]
    return node


def _check_against_scenarios(spec: SweepSpec) -> None:
    """Every grid value and distribution must give a valid scenario for every listed scenario."""
    from nevsim.scenario import china_only, load_scenario

    for i, scenario in enumerate(spec.scenarios):
        try:
            load_scenario(scenario)  # (an error of the scenario itself is reported as it is)
        except InputError as exc:
            if exc.field != "scenario":
                raise
            raise InputError(f"scenarios[{i}]", exc.message, allowed=exc.allowed) from None  # (not found)
        try:
            base = load_scenario(scenario, spec.overrides) if spec.overrides else load_scenario(scenario)
        except InputError as exc:
            raise InputError(f"overrides.{exc.field}", f"with scenario {scenario!r}: {exc.message}",
                             allowed=exc.allowed) from None
        resolved = base.resolved()
        if base.region_spec is not None:  # (a region's run ignores China's policy, currency and price fields)
            for section, items in (("grid", spec.grid), ("distributions", spec.distributions)):
                for path in items:
                    if china_only(path) is not None:
                        raise InputError(f"{section}.{path}", f"is not used in a {base.region} run (scenario "
                                         f"{scenario!r}: its [region] table sets its own policies, currency and "
                                         "energy prices); sweep it with China scenarios only")
        if spec.samples_scenarios:
            _check_sampling(spec, scenario, base)
        for section, items in (("grid", spec.grid), ("distributions", spec.distributions)):
            for path in items:
                try:
                    current = _lookup(resolved, path)
                except (KeyError, TypeError):
                    current = None  # load_scenario below names the unknown key and the allowed ones
                else:
                    if isinstance(current, dict) and current and not all(str(k).isdigit() for k in current):
                        raise InputError(f"{section}.{path}", "is a table; only single-valued fields can be swept or "
                                         "sampled", allowed=[f"{path}.{k}" for k in current])
                    if isinstance(current, dict):
                        raise InputError(f"{section}.{path}", "is a year path; only single-valued fields can be "
                                         "swept or sampled (override the whole path in [overrides])")
                    if section == "distributions" and (isinstance(current, bool) or not isinstance(current, float)):
                        raise InputError(f"{section}.{path}", f"is not a real-valued parameter ({current!r})")
        for path, values in spec.grid.items():
            seen: dict[str, Scalar] = {}
            for value in values:
                point = _try_load(scenario, {**spec.overrides, path: value}, f"grid.{path}")
                try:  # (1 and 1.0, or 0.18 and "0.18", are one value of a real-valued field: two points alike)
                    key = json.dumps(_lookup(point.resolved(), path), sort_keys=True)
                except (KeyError, TypeError):
                    continue
                if key in seen:
                    raise InputError(f"grid.{path}", f"{value!r} and {seen[key]!r} are the same value ({key}) for "
                                     f"scenario {scenario!r}: the two points would be one", allowed=["each value once"])
                seen[key] = value
        for path, table in spec.distributions.items():
            dist = parse_distribution(table, f"distributions.{path}")
            for q in (1e-9, 0.5, 1 - 1e-9):  # the support's ends must stay inside the field's range
                value = dist.percentile(q)
                _try_load(scenario, {**spec.overrides, path: value}, f"distributions.{path}",
                          hint=" (bound the distribution with min/max inside the field's range)")


def _check_sampling(spec: SweepSpec, scenario: str, base: Any) -> None:
    """With the scenario's [uncertainty] sampled: something to sample, and [[correlations]] over
    what is sampled, each parameter in one group (the scenario's groups count)."""
    own = base.distributions()
    # a [grid] path is fixed at every point (the point's scenario drops its distribution), so it is not sampled
    sampled = sorted((set(own) - set(spec.grid)) | set(spec.distributions))
    if not sampled:
        raise InputError("draws", f"{spec.draws} draws need something to sample: scenario {scenario!r} samples "
                                  "nothing that [grid] does not fix, and [distributions] is empty "
                                  "(without one every draw is the same run)",
                         allowed=["draws = 1", "an entry in [distributions]"])
    theirs = {name: j for j, corr in enumerate(base.correlations()) for name in corr.names}
    for i, group in enumerate(spec.correlations):
        for name in parse_correlation(group, f"correlations[{i}]").names:
            if name not in sampled:
                raise InputError(f"correlations[{i}].names", f"{name!r} has no distribution (in [distributions] "
                                 f"or in scenario {scenario!r})", allowed=sampled)
            if name in theirs:
                raise InputError(f"correlations[{i}].names",
                                 f"{name!r} is already in a correlation group of scenario {scenario!r} (its "
                                 f"uncertainty.correlations[{theirs[name]}]); a parameter is in one group: correlate "
                                 "it there, or fix it in [overrides]",
                                 allowed=[n for n in sampled if n not in theirs])


def _try_load(scenario: str, overrides: dict[str, Any], where: str, hint: str = "") -> Any:
    from nevsim.scenario import load_scenario

    try:
        return load_scenario(scenario, overrides)
    except InputError as exc:
        raise InputError(where, f"with scenario {scenario!r}: {exc.field}: {exc.message}{hint}",
                         allowed=exc.allowed) from None


def validate_sweep(data: Mapping[str, Any], *, draws: int | None = None, label: str = "sweep") -> SweepSpec:
    """Validate a sweep table (as read from TOML); ``draws`` overrides the file's draws."""

    raw = dict(data)
    raw.setdefault("name", label)
    if draws is not None:
        raw["draws"] = draws
    for key in ("grid", "overrides", "distributions"):
        if isinstance(raw.get(key), Mapping):
            _misplaced_settings(key, raw[key])
            raw[key] = _flatten_once(key, raw[key])
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        # (a grid value's union member, e.g. "float" in grid.x.0.float, is pydantic's, not the file's)
        loc = [str(p) for i, p in enumerate(err["loc"]) if not (i == 3 and err["loc"][0] == "grid")]
        where = ".".join(loc) or "sweep"
        if err["type"] == "extra_forbidden":
            raise InputError(where, "unknown key", allowed=sorted(SweepSpec.model_fields)) from None
        if err["type"] == "bool_type":  # (as a scenario's flags: TOML's true/false only)
            raise InputError(where, f"{err.get('input')!r} is not a boolean", allowed=["true", "false"]) from None
        info = SweepSpec.model_fields.get(str(err["loc"][0])) if err["loc"] else None
        desc = f" ({info.description})" if info is not None and info.description else ""
        if err["loc"][:1] == ("grid",) and len(err["loc"]) > 2:
            raise InputError(where, f"{err.get('input')!r} is not a grid value", allowed=[
                "a number", "true or false", "a text string"]) from None
        raise InputError(where, f"{str(err['msg']).removeprefix('Value error, ')}{desc}",
                         allowed=_bounds(info, err)) from None
    for i, name in enumerate(spec.scenarios):  # (in the file, not the model: a stored sweep still loads)
        if name in spec.scenarios[:i]:
            raise InputError(f"scenarios[{i}]", f"{name!r} is listed twice (also scenarios[{spec.scenarios.index(name)}]): "
                             "its points would run twice with the same results", allowed=["each scenario once"])
    for table in ("overrides", "grid", "distributions"):
        for path in getattr(spec, table):
            if path in ("uncertainty.draws", "uncertainty.seed"):  # the sweep's own draws and seed decide
                raise InputError(f"{table}.{path}", f"a scenario's {path} has no effect in a sweep: its draws and "
                                 "seed are the sweep's", allowed=["draws = … / seed = … above the first [table]"])
    for path, table in spec.distributions.items():
        parse_distribution(table, f"distributions.{path}")
        if path in spec.grid:
            raise InputError(f"distributions.{path}", "is also in [grid]; a parameter is either swept or sampled")
    for i, group in enumerate(spec.correlations):
        corr = parse_correlation(group, f"correlations[{i}]")
        for name in corr.names:
            if name not in spec.distributions and not spec.samples_scenarios:
                raise InputError(f"correlations[{i}].names", f"{name!r} has no distribution",
                                 allowed=list(spec.distributions))
    if spec.draws > 1 and not spec.distributions and not spec.scenario_uncertainty:
        raise InputError("draws", f"{spec.draws} draws with scenario_uncertainty = false need at least one entry "
                                  "in [distributions] (without one every draw is the same run)",
                         allowed=["draws = 1", "an entry in [distributions]", "scenario_uncertainty = true"])
    _check_against_scenarios(spec)
    return spec


def _bounds(info: Any, err: Mapping[str, Any]) -> list[str] | None:
    """The allowed range of a sweep setting whose value is out of it (``2015 to 2030``), or the
    values of a setting with a fixed set (``precision``), else None."""
    import typing

    from nevsim.scenario import range_text

    if info is not None and err["type"] == "literal_error":
        return [str(v) for v in typing.get_args(info.annotation)]
    if info is None or not str(err["type"]).startswith(("greater_than", "less_than")):
        return None
    bounds = {key: getattr(meta, key) for meta in info.metadata for key in ("ge", "gt", "le", "lt")
              if getattr(meta, key, None) is not None}
    return [range_text(bounds)]


def _flatten_once(table: str, items: Mapping[str, Any]) -> dict[str, Any]:
    """A sweep table's dotted paths (:func:`nevsim.scenario.flatten_paths`); InputError when one path
    is written twice, as a dotted key and inside a table (``"years.last" = 2031`` beside
    ``[overrides.years] last = 2030``): TOML allows both, and one value won without a word."""
    from nevsim.scenario import flatten_paths

    out: dict[str, Any] = {}
    for key, value in items.items():
        part = flatten_paths({key: value})
        for path in part:
            if path in out and out[path] != part[path]:
                raise InputError(f"{table}.{path}", f"is written twice ({out[path]!r} and {part[path]!r}): once as a "
                                 "dotted key and once inside a table", allowed=["one of the two"])
        out.update(part)
    return out


def _misplaced_settings(table: str, items: Mapping[str, Any]) -> None:
    """Refuse a sweep setting (``draws = 100``, ``seed = 7``) written after the ``[table]`` header.

    TOML puts every key after a table's header into that table, so a setting meant for the
    sweep became ``overrides.draws``: as an override it set the scenario's own (unused) draws
    and the sweep silently ran its file's draws; elsewhere the error named only ``draws``.
    A table value (a nested table of scenario paths, e.g. ``[overrides.makers]``) is not one.
    """
    for key, value in items.items():
        if key in SweepSpec.model_fields and not isinstance(value, Mapping):
            raise InputError(f"{table}.{key}", f"{key!r} is a setting of the sweep, but TOML puts every key written "
                             f"after the [{table}] header into that table: move `{key} = …` above [{table}] (sweep "
                             "settings go before the file's first [table])")


def load_sweep_spec(path: str | Path, *, draws: int | None = None) -> SweepSpec:
    """Read and validate a sweep TOML file (see the module docs)."""
    file = Path(path)
    if not file.is_file():
        raise InputError("sweep", f"no sweep file {file}", allowed=["a path to a .toml file"])
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError("sweep", f"{file}: not valid TOML ({exc})") from None
    return validate_sweep(data, draws=draws, label=file.stem)


# ---------------------------------------------------------------------------- chunks and the unit of work


@dataclass(frozen=True)
class Chunk:
    """One unit of work: draws ``draw_start … draw_stop − 1`` of one grid point."""

    chunk_id: int
    point_id: int
    scenario: str
    grid: dict[str, Scalar]
    draw_start: int
    draw_stop: int

    @property
    def draws(self) -> range:
        return range(self.draw_start, self.draw_stop)


def chunks(spec: SweepSpec) -> list[Chunk]:
    """The sweep's chunks: point by point, each point's draws cut into ``chunk_draws``."""
    out: list[Chunk] = []
    for point_id, (scenario, grid) in enumerate(spec.points()):
        for start in range(0, spec.draws, spec.chunk_draws):
            out.append(Chunk(len(out), point_id, scenario, grid, start, min(start + spec.chunk_draws, spec.draws)))
    return out


def _chunk_point(scenario: str, overrides: Mapping[str, Any], draws: range, seed: int,
                 distributions: Mapping[str, Any] | None = None,
                 correlations: Sequence[Correlation | Mapping[str, Any]] = (),
                 scenario_uncertainty: bool = False) -> tuple[Any, dict[str, Any]]:
    """The grid point's scenario and its sampled values for exactly these draw numbers.

    ``scenario_uncertainty``: also sample what the point's scenario samples
    (:meth:`nevsim.scenario.Scenario.distributions` and its correlation groups); a path in
    ``distributions`` replaces the scenario's distribution of that path.
    """
    from nevsim.scenario import load_scenario

    point = load_scenario(scenario, dict(overrides)) if overrides else load_scenario(scenario)
    dists: dict[str, Any] = dict(distributions or {})
    groups: list[Any] = list(correlations)
    if scenario_uncertainty:
        dists = {**point.distributions(), **dists}
        groups = [*point.correlations(), *groups]
    values = sample(dists, len(draws), seed, start=draws.start, correlations=groups) if dists else {}
    if not values and len(draws) != 1:
        raise InputError("draws", f"{len(draws)} draws need at least one distribution")
    return point, values  # (run_values and run_cells check the values: nevsim.simulate._one_pass)


def _run_chunk_with_meta(scenario: str, overrides: Mapping[str, Any], draws: range, seed: int,
                         distributions: Mapping[str, Any] | None = None,
                         correlations: Sequence[Correlation | Mapping[str, Any]] = (),
                         until: int | None = None, makers: bool = True, scenario_uncertainty: bool = False,
                         ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    from nevsim.simulate import run_values

    point, values = _chunk_point(scenario, overrides, draws, seed, distributions, correlations,
                                 scenario_uncertainty)
    # one vectorised run over the chunk's draws (nevsim.simulate.run_values); no values: one draw
    series, maker_frame, meta = run_values(point, values, until=until, draw_offset=draws.start, makers=makers)
    meta["scenario_json"] = point.resolved()
    return series, maker_frame, meta


def run_chunk(scenario: str, overrides: Mapping[str, Any], draws: range, seed: int,
              distributions: Mapping[str, Any] | None = None,
              correlations: Sequence[Correlation | Mapping[str, Any]] = (),
              until: int | None = None, *, scenario_uncertainty: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Series and makers tables (with a ``draw`` column) of draws ``draws`` of one grid point.

    ``overrides`` are the point's scenario changes (dotted keys); ``distributions`` (dotted
    path → distribution) are sampled with :func:`nevsim.uncertainty.sample` for exactly these
    draw numbers, so the result does not depend on how the draws were chunked. With
    ``scenario_uncertainty`` (what a sweep with more than one draw does, unless its file says
    ``scenario_uncertainty = false``) the point's scenario's own distributions and correlation
    groups are sampled too, ``distributions`` replacing the scenario's at the same path.
    """
    series, makers, _ = _run_chunk_with_meta(scenario, overrides, draws, seed, distributions, correlations, until,
                                             scenario_uncertainty=scenario_uncertainty)
    return series, makers


@stops_on_ctrl_c  # (a local worker stops the chunk on Ctrl-C, and its next ones of the same attempt)
def _work(task: dict[str, Any]) -> tuple[int, Any, Any, dict[str, Any], float]:
    """What a worker runs for one chunk (a plain dict in, the store's compact form out: picklable for any executor).

    The series and makers tables come back in the store's form: each a small frame of cells
    (labels and year) and an Arrow table of blocks ``cell, first_draw, n_rows, [value, …]``,
    made straight from the simulation's cells × draws (:func:`nevsim.simulate.run_cells`,
    :func:`nevsim.store.encode_cells`; the same as encoding :func:`run_chunk`'s long tables,
    tested), so neither the worker nor the writer makes or scans a long table.
    """
    from nevsim.simulate import run_cells
    from nevsim.store import encode_cells

    t0 = time.perf_counter()
    draws = range(task["draw_start"], task["draw_stop"])
    point, values = _chunk_point(task["scenario"], task["overrides"], draws, task["seed"], task["distributions"],
                                 task["correlations"], task.get("scenario_uncertainty", False))
    cells, meta = run_cells(point, values, until=task["until"], draw_offset=draws.start,
                            makers=task.get("makers", True))
    meta["scenario_json"] = point.resolved()
    meta["sampled"] = sorted(values)
    encoded = [encode_cells(*cells[table], first_draw=draws.start, precision=task.get("precision", "double"))
               for table in ("series", "makers")]
    spool = task.get("spool")
    if spool:  # a local pool: the blocks go through a file, not the result pipe (see _spool_write)
        encoded = [(frame, _spool_write(spool, task["chunk_id"], table, blocks))
                   for table, (frame, blocks) in zip(("series", "makers"), encoded, strict=True)]
    return task["chunk_id"], encoded[0], encoded[1], meta, time.perf_counter() - t0


def _spool_write(folder: str, chunk_id: int, table: str, blocks: Any) -> str:
    """Write a chunk's blocks as an Arrow IPC file in ``folder``; returns its path.

    Sent through the local pool's result pipe, a 1,000-draw chunk's makers blocks (≈ 30 MB) were
    copied into the pipe, out of it and into a new Arrow table in the writer, which shares the two
    cores with the workers: ≈ 1.2 s of the writer's CPU over an 8-point × 2,500-draw sweep with
    makers. A file the writer maps is read without a copy (DuckDB scans the mapped buffers), and
    one written and deleted within a second or two stays in the page cache.
    """
    import pyarrow as pa

    path = os.path.join(folder, f"chunk-{int(chunk_id)}-{table}.arrow")
    with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, blocks.schema) as writer:
        writer.write_table(blocks)
    return path


def _spool_read(encoded: tuple[pd.DataFrame, Any]) -> tuple[tuple[pd.DataFrame, Any], str | None]:
    """A chunk table as sent by :func:`_work`: ``((cells, blocks), spooled file or None)``."""
    frame, blocks = encoded
    if not isinstance(blocks, str):
        return encoded, None
    import pyarrow as pa

    return (frame, pa.ipc.open_file(pa.memory_map(blocks, "r")).read_all()), blocks


# ---------------------------------------------------------------------------- executors


class _InlineExecutor(Executor):
    """Runs each task at submit time in this process (``workers=0``: debugging, small sweeps)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future like a pool does
            future.set_exception(exc)
        return future


def default_workers() -> int:
    """Local worker processes by default: the number of CPUs (at least 1)."""
    return max(1, os.cpu_count() or 1)


@contextmanager
def executor(scheduler: str | None = None, workers: int | None = None, *,
             connect_timeout_s: float = 10.0) -> Iterator[Executor]:
    """A :class:`concurrent.futures.Executor` for sweep chunks.

    ``scheduler`` (``tcp://HOST:8786``): a Dask.distributed cluster's executor
    (``Client(scheduler).get_executor()``). Otherwise a local process pool of ``workers``
    processes (default: the number of CPUs; ``0`` runs chunks in this process). Worker
    processes are started with the ``forkserver`` method (no fork of a threaded parent), so a
    script that runs a sweep on local processes needs the usual ``if __name__ == "__main__":``
    guard (as with any multiprocessing code). The fork server imports :data:`nevsim._forkserver.WORKER_PRELOAD`
    first, so the workers it forks start with the simulation imported and its caches filled.
    """
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise InputError("scheduler", "running on a Dask cluster needs dask.distributed: "
                                          "pip install \"nevsim[dist]\"") from None
        try:
            client = Client(scheduler, timeout=f"{connect_timeout_s}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("scheduler", f"cannot connect to {scheduler}: {exc}",
                             allowed=["tcp://HOST:8786 of a running `dask scheduler`"]) from None
        except Exception as exc:  # something answers there, but not as a Dask scheduler (an HTTP
            # server's reply read as a frame length asks for exabytes: MemoryError)
            raise InputError("scheduler", f"{scheduler} answered, but not as a Dask scheduler "
                                          f"({type(exc).__name__})",
                             allowed=["tcp://HOST:8786 of a running `dask scheduler`"]) from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 0):
        raise InputError("workers", f"must be a whole number ≥ 0, got {workers!r}")
    n = default_workers() if workers is None else workers
    if n == 0:
        yield _InlineExecutor()
        return
    start_workers()  # (the server holds Ctrl-C back while it loads; no-op if it runs already)
    # (each worker ends itself if this process is killed: nevsim._forkserver.watch_caller)
    pool = ProcessPoolExecutor(max_workers=n, mp_context=worker_context(), initializer=watch_caller,
                               initargs=(os.getpid(),))
    pool._nevsim_cancels_on_error = True  # type: ignore[attr-defined]  # (see _drive)
    try:
        yield pool
    except BaseException:
        # Queued chunks are cancelled by the pool's own manager thread. Cancelling them from this
        # thread (as for a pool the caller owns) raced with the manager marking them failed when
        # Ctrl-C had also ended an idle worker: Python 3.11's terminate_broken then raised
        # InvalidStateError on a cancelled future and printed it from its thread (1 of 8 hand-made
        # Ctrl-Cs).
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


# ---------------------------------------------------------------------------- the store side


def _run_id(sweep_id: str, point_id: int) -> str:
    return f"sweep-{sweep_id}-{point_id:05d}"


@contextmanager
def _connect(store: Any, *, writer: bool = False) -> Iterator[Any]:
    from nevsim.store import WRITE_ROW_GROUP_SIZE

    with store._connect(write=True, row_group_size=WRITE_ROW_GROUP_SIZE if writer else None) as con:
        # (creates the runs/series/makers tables: nevsim.store)
        for ddl in _SWEEP_DDL:
            con.execute(ddl)
        yield con


def _register(con: Any, spec: SweepSpec, n_chunks: int) -> None:
    from nevsim.simulate import _version

    if not con.execute("SELECT 1 FROM sweeps WHERE sweep_id = ?", [spec.sweep_id]).fetchall():
        con.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [spec.sweep_id, spec.name, _dt.datetime.now(_dt.UTC).replace(tzinfo=None), _version(),
                     spec.n_points, n_chunks, spec.canonical()])


def _finished(con: Any, sweep_id: str) -> set[int]:
    rows = con.execute("SELECT chunk_id FROM sweep_chunks WHERE sweep_id = ?", [sweep_id]).fetchall()
    return {int(r[0]) for r in rows}


def _commit(con: Any, spec: SweepSpec, chunk: Chunk, series: Any, makers: Any,
            meta: dict[str, Any], seconds: float, known: dict[tuple[str, int], pd.DataFrame] | None = None) -> bool:
    """Write one chunk and its ``sweep_chunks`` row in one transaction; False if it was already there.

    ``known`` caches each run's stored cells between chunks (``(table, run_key)`` → the frame
    :func:`nevsim.store.append_rows` returns); it is updated only once the chunk is committed.
    """
    from nevsim.store import append_rows, insert_run

    run_id = _run_id(spec.sweep_id, chunk.point_id)
    con.execute("BEGIN TRANSACTION")
    try:
        if con.execute("SELECT 1 FROM sweep_chunks WHERE sweep_id = ? AND chunk_id = ?",
                       [spec.sweep_id, chunk.chunk_id]).fetchall():
            con.execute("ROLLBACK")
            return False
        rows = con.execute("SELECT run_key FROM runs WHERE run_id = ?", [run_id]).fetchall()  # fetch all: a
        if rows:  # half-read result would keep the connection busy (DuckDB ≥ 2)
            run_key = int(rows[0][0])
        else:
            scenario_json = meta.pop("scenario_json", {})
            run_meta = {**meta, "run_id": run_id, "draws": spec.draws, "seed": spec.seed,
                        **({"store_precision": "single"} if spec.stored_precision == "single" else {}),
                        "sweep": {"sweep_id": spec.sweep_id, "name": spec.name, "point_id": chunk.point_id,
                                  "grid": chunk.grid, "distributions": spec.distributions,
                                  "scenario_uncertainty": spec.samples_scenarios,
                                  "precision": spec.stored_precision}}
            run_meta.pop("timing_s", None)
            created = pd.Timestamp(run_meta.get("created_utc")).tz_convert(None).to_pydatetime()
            run_key = insert_run(con, run_id, str(run_meta.get("scenario", chunk.scenario)),
                                 run_meta.get("scenario_hash"), created, run_meta.get("nevsim_version"), run_meta,
                                 scenario_json)
        cache = {} if known is None else known
        after = {(table, run_key): append_rows(con, table, run_key, *_as_stored(spec, encoded),
                                               known=cache.get((table, run_key)))
                 for table, encoded in (("series", series), ("makers", makers))}
        con.execute("INSERT INTO sweep_chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [spec.sweep_id, chunk.chunk_id, chunk.point_id, run_id, chunk.draw_start, chunk.draw_stop,
                     seconds, _dt.datetime.now(_dt.UTC).replace(tzinfo=None)])
        con.execute("COMMIT")
    except BaseException as exc:  # incl. KeyboardInterrupt: the chunk is all there or not at all
        _rollback(con)
        if _interrupted(exc):
            raise KeyboardInterrupt from exc
        raise
    cache.update(after)
    return True


def _rollback(con: Any) -> None:
    """ROLLBACK unless the transaction is already over.

    An interrupt (Ctrl-C) that reaches DuckDB during COMMIT ends the transaction there:
    DuckDB aborts it (or, if the interrupt came last, has committed it) and a ROLLBACK would
    fail with "no transaction is active" over the interrupt. Either way the chunk and its
    ``sweep_chunks`` row are stored together or not at all.
    """
    import duckdb

    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


def _interrupted(exc: BaseException | None) -> bool:
    """A Ctrl-C, as Python or DuckDB (an interrupted query: InterruptException, or "Query interrupted")
    reports it, also behind the error it caused on the way out (e.g. "Current transaction is aborted"
    from a clean-up step after an interrupted INSERT).

    A KeyboardInterrupt raised in Python code that DuckDB called (reading a registered Arrow
    table or pandas frame) reaches the sweep as a DuckDB error whose text ends with it
    ("… registered as '_nevsim_values' failed: KeyboardInterrupt: "); it printed a traceback and
    exit code 1 (2 of 40 hand-made Ctrl-Cs; 7 of 300 Ctrl-Cs at random moments of a commit).
    """
    import duckdb

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, KeyboardInterrupt | duckdb.InterruptException) or \
                (type(exc) is RuntimeError and str(exc).startswith("Query interrupted")) or \
                (isinstance(exc, duckdb.Error) and str(exc).rstrip().endswith("KeyboardInterrupt:")):  # (DuckDB's texts)
            return True
        exc = exc.__cause__ or exc.__context__
    return False


# ---------------------------------------------------------------------------- running


@dataclass
class SweepSummary:
    """What :func:`run_sweep` did."""

    sweep_id: str
    name: str
    n_points: int
    n_chunks: int
    skipped: list[int] = field(default_factory=list)  # chunks found finished in the store
    ran: list[int] = field(default_factory=list)  # chunks computed and committed now
    run_ids: list[str] = field(default_factory=list)  # one per grid point
    seconds: float = 0.0
    precision: str = "double"  # how the draws are stored (SweepSpec.stored_precision of the sweep run)
    note: str | None = None  # e.g. that an older sweep of the same file was resumed

    def __repr__(self) -> str:
        return (f"<nevsim sweep {self.name!r} {self.sweep_id}: {self.n_points} points, {self.n_chunks} chunks; "
                f"{len(self.ran)} run now, {len(self.skipped)} already done; {self.seconds:.1f} s>")


def run_sweep(spec: SweepSpec | str | Path, store: Any = None, *, scheduler: str | None = None,
              workers: int | None = None, pool: Executor | None = None,
              progress: Callable[[int, int], None] | None = None, max_pending: int | None = None) -> SweepSummary:
    """Run (or resume) a sweep; every finished chunk lands in ``store`` as it completes.

    ``spec`` is a :class:`SweepSpec` or a sweep TOML path; ``store`` a
    :class:`nevsim.store.Store` or a path (default store when None). The executor is
    ``pool`` if given, else :func:`executor(scheduler, workers) <executor>`. ``progress(done,
    total)`` is called with chunk counts at the start and after each committed chunk. At
    most ``max_pending`` chunks (default: 2 × workers, at least 2) are in flight, which bounds
    memory. A failing chunk stops the sweep (its error is raised); finished chunks stay stored.
    The calling process is the only writer and keeps the store open (locked) while chunks run:
    read the results when the sweep has finished.
    """
    from nevsim.store import Store, writer_settings

    t0 = time.perf_counter()
    if pool is None and not scheduler and workers != 0:
        start_workers()  # the workers' fork server warms up while the sweep is read and registered
    if not isinstance(spec, SweepSpec):
        spec = load_sweep_spec(spec)
    if not isinstance(store, Store):
        store = Store(store)
    all_chunks = chunks(spec)
    with _connect(store, writer=True) as con:  # one connection from registering to the last commit
        spec, note = _resume_before_precision(con, spec)
        _register(con, spec, len(all_chunks))
        done = _finished(con, spec.sweep_id)
        todo = [c for c in all_chunks if c.chunk_id not in done]
        summary = SweepSummary(spec.sweep_id, spec.name, spec.n_points, len(all_chunks), skipped=sorted(done),
                               run_ids=[_run_id(spec.sweep_id, p) for p in range(spec.n_points)],
                               precision=spec.stored_precision, note=note)
        if progress is not None:
            progress(len(done), len(all_chunks))
        if todo:
            window = max_pending or max(2, 2 * (default_workers() if workers is None else max(workers, 1)))
            # A process pool's workers share this machine and its files (the CLI passes its pool)
            local_pool = isinstance(pool, ProcessPoolExecutor) or (pool is None and not scheduler and workers != 0)
            with _spool(store.path if local_pool else None) as folder, \
                    _nullcontext(pool) if pool is not None else executor(scheduler, workers) as ex:
                # The writer shares the cores with the workers, so its CPU is what limits a sweep's
                # speed-up (docs/uncertainty.md, "Sweep speed-up"): one DuckDB thread, no compression
                # of the values, and a checkpoint every 256 MB of log instead of 16 MB (writer CPU
                # −30 to −45 %, file 15–20 % smaller). Committed chunks are in the log until then:
                # safe, and replayed if the process dies.
                writer_settings(con, checkpoint_mb=256)
                _drive(ex, spec, con, todo, window, summary, progress, len(done), len(all_chunks), folder)
    summary.seconds = time.perf_counter() - t0
    return summary


def _resume_before_precision(con: Any, spec: SweepSpec) -> tuple[SweepSpec, str | None]:
    """The sweep to run: ``spec``, or, when its file does not say ``precision`` and the store
    holds the same sweep as stored before the option existed (in double, under the id it had
    then) but not yet this one, that older sweep, resumed in double with a note. So running a
    sweep file again after upgrading nevsim resumes it instead of starting a second copy
    beside it; writing ``precision = "single"`` starts the single-precision sweep."""
    if "precision" in spec.model_fields_set or spec.stored_precision == "double":
        return spec, None
    double = spec.model_copy(update={"precision": "double"})

    def stored(sweep_id: str) -> bool:
        return bool(con.execute("SELECT 1 FROM sweeps WHERE sweep_id = ?", [sweep_id]).fetchall())

    if stored(double.sweep_id) and not stored(spec.sweep_id):
        return double, (f"resumed sweep {double.sweep_id}, stored in double precision before sweep files had a "
                        f"precision setting (the same file now means single precision, sweep {spec.sweep_id}); "
                        "write precision = \"single\" in the file to start that one, or precision = \"double\" "
                        "to keep resuming this one without this note")
    return spec, None


def _as_stored(spec: SweepSpec, encoded: Any) -> Any:
    """A chunk table ``(cells, blocks)`` in the sweep's precision: blocks from a worker that did not
    make ``value32`` (an older nevsim on a cluster) are put in the sweep's precision here, so one
    sweep never holds chunks of both kinds without saying so."""
    from nevsim.store import with_precision

    cells, blocks = encoded
    return cells, with_precision(blocks, spec.stored_precision)


@contextmanager
def _nullcontext(value: Executor) -> Iterator[Executor]:
    yield value


@contextmanager
def _spool(store_path: Path | None) -> Iterator[str | None]:
    """The folder local workers write their chunks' blocks to, removed at the end.

    ``<store>.spool/<attempt>/``: an absolute path (a caller's pool may run in another working
    directory), and a new ``<attempt>`` folder for each call. A pool the caller owns is not shut
    down when a sweep fails, so chunks of a failed attempt may still be running and writing;
    with their own folder they never write over a file that a later attempt's writer has mapped.
    None (no folder: results come back through the executor) for a Dask cluster, a pool given by
    the caller that is not a local ``ProcessPoolExecutor``, or chunks run in this process. The
    store admits one writer, so ``<store>.spool`` is this sweep's alone; what a killed sweep left
    there is removed when the next sweep on the store starts.
    """
    if store_path is None:
        yield None
        return
    import shutil

    folder = Path(f"{Path(store_path).resolve()}.spool")
    if folder.exists() and not folder.is_dir():
        raise InputError("store", f"{folder} is a file; a sweep on local workers uses that path as a folder "
                                  "for its chunks (move the file).")
    shutil.rmtree(folder, ignore_errors=True)
    attempt = folder / f"attempt-{uuid.uuid4().hex[:12]}"
    attempt.mkdir(parents=True)
    try:
        yield str(attempt)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _task(spec: SweepSpec, chunk: Chunk, spool: str | None = None, attempt: str | None = None) -> dict[str, Any]:
    return {"chunk_id": chunk.chunk_id, "scenario": chunk.scenario, "overrides": {**spec.overrides, **chunk.grid},
            "draw_start": chunk.draw_start, "draw_stop": chunk.draw_stop, "seed": spec.seed,
            "distributions": spec.distributions, "correlations": spec.correlations, "until": spec.until,
            "makers": spec.makers, "spool": spool, "scenario_uncertainty": spec.samples_scenarios,
            "precision": spec.stored_precision,
            "attempt": attempt}  # (the sweep run it belongs to: nevsim._forkserver.stops_on_ctrl_c)


def _drive(ex: Executor, spec: SweepSpec, con: Any, todo: list[Chunk], window: int, summary: SweepSummary,
           progress: Callable[[int, int], None] | None, done: int, total: int, spool: str | None = None) -> None:
    queue = iter(todo)
    by_id = {c.chunk_id: c for c in todo}
    pending: dict[Future[Any], Chunk] = {}
    known: dict[tuple[str, int], pd.DataFrame] = {}  # each run's stored cells, kept between its chunks
    interrupted = False
    attempt = uuid.uuid4().hex  # (a worker that a Ctrl-C reached starts no more chunks of this attempt)

    def top_up() -> None:
        while len(pending) < window:
            chunk = next(queue, None)
            if chunk is None:
                return
            pending[ex.submit(_work, _task(spec, chunk, spool, attempt))] = chunk

    try:
        top_up()
        while pending:
            finished, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in [f for f in pending if f in finished]:  # in submission order
                pending.pop(fut)
                chunk_id, series, makers, meta, seconds = fut.result()
                (series, series_file), (makers, makers_file) = _spool_read(series), _spool_read(makers)
                try:
                    stored = _commit(con, spec, by_id[chunk_id], series, makers, meta, seconds, known)
                finally:
                    del series, makers  # (the mapped files' tables) before the files go
                    for path in (series_file, makers_file):
                        if path is not None:
                            with suppress(OSError):  # (else removed with the folder at the end)
                                os.remove(path)
                if stored:
                    summary.ran.append(chunk_id)
                done += 1
                if progress is not None:
                    progress(done, total)
            top_up()
    except BaseException as exc:
        interrupted = _interrupted(exc)
        raise
    finally:
        # Queued chunks of a failed attempt must not run on: cancel them. After a Ctrl-C, a pool of
        # executor() cancels them itself (its manager thread; see executor()), which the caller's
        # pool does not.
        if not (interrupted and getattr(ex, "_nevsim_cancels_on_error", False)):
            for fut in pending:
                fut.cancel()


# ---------------------------------------------------------------------------- reading back


def list_sweeps(store: Any = None) -> pd.DataFrame:
    """Sweeps in a store: ``sweep_id, name, created, version, n_points, n_chunks, chunks_done``."""
    from nevsim.store import Store

    store = store if isinstance(store, Store) else Store(store)
    columns = ["sweep_id", "name", "created", "version", "n_points", "n_chunks", "chunks_done"]
    if not store.path.exists():
        return pd.DataFrame(columns=columns)
    with _connect(store) as con:
        return con.execute(
            "SELECT s.sweep_id, s.name, s.created, s.version, s.n_points, s.n_chunks, "
            "count(c.chunk_id) AS chunks_done FROM sweeps s LEFT JOIN sweep_chunks c USING (sweep_id) "
            "GROUP BY ALL ORDER BY s.created DESC").df()[columns]


def sweep_chunks(store: Any, sweep_id: str) -> pd.DataFrame:
    """The ``sweep_chunks`` rows of one sweep (one per finished chunk)."""
    from nevsim.store import Store

    store = store if isinstance(store, Store) else Store(store)
    with _connect(store) as con:
        return con.execute("SELECT * FROM sweep_chunks WHERE sweep_id = ? ORDER BY chunk_id", [sweep_id]).df()


def _resolve_sweep(con: Any, sweep: str) -> tuple[str, SweepSpec]:
    rows = con.execute("SELECT sweep_id, spec FROM sweeps WHERE sweep_id LIKE ? || '%' OR name = ? "
                       "ORDER BY created DESC", [sweep, sweep]).fetchall()
    if not rows:
        known = [r[0] for r in con.execute("SELECT sweep_id FROM sweeps").fetchall()]
        raise InputError("sweep", f"no sweep {sweep!r} in the store", allowed=known)
    sweep_id, spec = rows[0][0], SweepSpec.from_stored(rows[0][1])
    # the stored spec is canonical JSON (grid keys sorted) while point ids follow the order the
    # sweep file wrote them; each stored run's meta keeps its grid values in that order
    row = con.execute("SELECT meta FROM runs WHERE run_id LIKE ? LIMIT 1", [f"sweep-{sweep_id}-%"]).fetchone()
    order = list((json.loads(row[0]).get("sweep") or {}).get("grid") or {}) if row else []
    if sorted(order) == sorted(spec.grid) and order != list(spec.grid):
        spec = spec.model_copy(update={"grid": {k: spec.grid[k] for k in order}})
    return sweep_id, spec


def load_sweep(store: Any, sweep: str, *, table: str = "series") -> pd.DataFrame:
    """A sweep's results as one long table: ``point_id``, the grid columns, then the table's columns.

    ``sweep`` is a sweep id (or unique prefix) or a sweep name (newest); ``table`` is
    ``series`` or ``makers``. Rows are ordered by point, draw and the simulation's row order.
    """
    from nevsim.store import SCHEMA_VERSION, Store, _read_run, long_rows

    if table not in ("series", "makers"):
        raise InputError("table", f"unknown table {table!r}", allowed=["series", "makers"])
    store = store if isinstance(store, Store) else Store(store)
    columns = SERIES_COLUMNS if table == "series" else MAKERS_COLUMNS
    from nevsim._memory import small_pages

    with _connect(store) as con, small_pages():  # writable: a version-1 store is migrated first
        sweep_id, spec = _resolve_sweep(con, sweep)
        pattern = f"sweep-{sweep_id}-%"
        run_ids = [r[0] for r in con.execute("SELECT run_id FROM runs WHERE run_id LIKE ? ORDER BY run_id",
                                             [pattern]).fetchall()]
        parts = []
        for run_id in run_ids:  # each point's rows as stored, then ordered by draw (stable: the row order stays)
            part = _read_run(con, table, run_id)
            part = part.iloc[np.argsort(part["draw"].to_numpy(), kind="stable")]
            part.insert(0, "point_id", np.full(len(part), int(run_id.rsplit("-", 1)[1]), dtype=np.int64))
            parts.append(part)
        if not parts:  # no finished chunk yet: the empty table with its columns and types
            frame = con.execute(f"SELECT run_id, {', '.join(columns)}, draw FROM {long_rows(SCHEMA_VERSION, table)} "
                                "WHERE run_id LIKE ?", [pattern]).df()
            frame.insert(0, "point_id", frame.pop("run_id").astype("int64"))
    if parts:
        frame = pd.concat(parts, ignore_index=True)
    points = spec.points()
    for j, key in enumerate(spec.grid):
        values = _grid_column([p[1][key] for p in points])
        frame.insert(1 + j, key, values[frame["point_id"].to_numpy()])
    frame["draw"] = frame["draw"].astype("int64")
    return frame.reset_index(drop=True)


def _grid_column(values: list[Scalar]) -> np.ndarray:
    """One grid key's values by point, typed: float64 when any is a real number, int64 for whole
    numbers, bool for switches, object (text) otherwise (a mix of kinds too)."""
    if all(isinstance(v, bool) for v in values):
        return np.array(values, dtype=bool)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return np.array(values, dtype=np.int64 if all(isinstance(v, int) for v in values) else np.float64)
    return np.array(values, dtype=object)
