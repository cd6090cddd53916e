"""The JSON API of ``nevsim serve`` (OpenAPI at ``/docs`` and ``/openapi.json``).

Runs::

    POST /api/runs                      {"scenario": "china-current-policies", "overrides": {...}, "draws": 1}
                                        → 202 {"run_id", "status": "queued", ...}; ?wait=true → 201 when done
    GET  /api/runs                      stored runs (newest first) and runs being computed
    GET  /api/runs/{run_id}             status and progress; when done, the run's meta and scenario
    GET  /api/runs/{run_id}/series      ?variable=…&region=…&first_year=…&last_year=…
    GET  /api/runs/{run_id}/makers      ?variable=…&maker=…
    GET  /api/runs/{run_id}/targets     the targets check and the names of the targets it leaves out
    GET  /api/runs/{run_id}/download/{series.csv|iamc.csv|makers.csv|series.parquet|makers.parquet|report.html}

Scenarios: ``GET /api/scenarios``, ``GET /api/scenarios/{name}``, ``GET /api/scenarios/{name}/toml``,
``POST /api/scenarios/validate``, ``POST /api/scenarios/toml``, ``POST /api/scenarios`` (save).
Data: ``GET /api/data/catalog``, ``GET /api/data/history``, ``GET /api/data/{dataset}``.
Back-test: ``GET /api/backtest``.

Errors: bad input is 422 with ``detail: [{"loc", "field", "msg", "type", "allowed"}]`` where
``field`` is the dotted path of the bad value (``technology.battery_learning_rate``); an unknown
run is 404; a body over the size limit 413; too many runs waiting 429.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from nevsim.errors import InputError
from nevsim.results import CSV_FLOAT_FORMAT
from nevsim.web.state import (
    NAME_PATTERN,
    AppState,
    RunNotFoundError,
    ScenarioNotFoundError,
    error_dict,
    expand,
)

router = APIRouter(prefix="/api")

DEFAULT_SCENARIO = "china-current-policies"
RUN_ID_PATTERN = r"^[0-9A-Za-z_-]{1,64}$"
RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="run id (as returned by POST /api/runs)")]
DOWNLOADS: dict[str, str] = {
    "series.csv": "text/csv", "iamc.csv": "text/csv", "makers.csv": "text/csv",
    "series.parquet": "application/vnd.apache.parquet", "makers.parquet": "application/vnd.apache.parquet",
    "report.html": "text/html",
}
Download = Literal["series.csv", "iamc.csv", "makers.csv", "series.parquet", "makers.parquet", "report.html"]

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown run id"},
    422: {"description": "bad input: detail[].field is the dotted path of the bad value"},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "the body is not readable JSON"},
    413: {"description": "the body is over the server's size limit"},
    422: ERRORS[422],
}


class ScenarioRequest(BaseModel):
    """A scenario: a shipped or saved scenario name and changes to it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    scenario: str = Field(DEFAULT_SCENARIO, max_length=64,
                          description="name of a shipped or saved user scenario (GET /api/scenarios)")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="changes to the scenario, nested ({\"technology\": {\"battery_learning_rate\": 0.25}}) "
                    "or with dotted keys ({\"technology.battery_learning_rate\": 0.25}); null leaves a value as is",
        examples=[{"technology.battery_learning_rate": 0.25, "policy.dual_credit.nev_ratio_pct": {"2030": 40}}],
    )


class RunRequest(ScenarioRequest):
    """A run request."""

    draws: int | None = Field(None, ge=1, description="Monte Carlo draws (capped by the server's max_draws)")


class SaveScenarioRequest(ScenarioRequest):
    """Save ``scenario`` + ``overrides`` as a named user scenario."""

    name: str = Field(pattern=NAME_PATTERN, description="new scenario name (lower-case letters, digits, '-')")
    description: str = Field("", max_length=2000)
    replace: bool = Field(False, description="overwrite a user scenario of the same name")


class TomlRequest(ScenarioRequest):
    """Download ``scenario`` + ``overrides`` as a scenario TOML file."""

    name: str = Field("my-scenario", pattern=NAME_PATTERN)
    description: str = Field("", max_length=2000)


def state_of(request: Request) -> AppState:
    return request.app.state.nevsim


def records(frame: Any) -> list[dict[str, Any]]:
    """DataFrame → JSON records (NaN → null)."""
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _run_status(st: AppState, run_id: str) -> dict[str, Any]:
    job = st.job(run_id)
    if job is not None and job.status != "done":
        return job.as_dict()
    res = st.load(run_id)
    out = job.as_dict() if job is not None else {
        "run_id": run_id, "scenario": res.meta.get("scenario"), "status": "done", "progress": 1.0,
        "error": None, "created_utc": res.meta.get("created_utc")}
    meta = {k: v for k, v in res.meta.items() if k not in ("sources",)}
    out.update({"meta": meta, "scenario_resolved": res.scenario,
                "variables": records(res.variables), "regions": res.regions})
    return out


# ---------------------------------------------------------------------------- runs


@router.get("/runs", summary="Stored runs and runs being computed")
def list_runs(request: Request) -> dict[str, Any]:
    st = state_of(request)
    runs = st.list_runs()
    return {"runs": records(runs),
            "jobs": [j.as_dict() for j in st.jobs() if j.status != "done"]}


@router.post("/runs", status_code=202, summary="Run a scenario (in the background)",
             responses={201: {"description": "run finished (wait=true)"}, **BODY_ERRORS,
                        429: {"description": "too many runs queued"},
                        500: {"description": "the run failed (wait=true); nothing was saved"},
                        503: {"description": "the results store is held by another process (wait=true); "
                                             "nothing was saved"}})
def create_run(request: Request, body: Annotated[RunRequest, Body()],
               wait: Annotated[bool, Query(description="answer when the run has finished")] = False) -> Response:
    st = state_of(request)
    scenario = st.build(body.scenario, body.overrides, body.draws)
    scenario.check_seed(_asked_seed(body.overrides), None, "uncertainty.seed")  # (a seed with one draw does nothing)
    job = st.submit(scenario)
    if not wait:
        return JSONResponse(job.as_dict(), status_code=202, headers={"Location": f"/api/runs/{job.run_id}"})
    assert job.future is not None
    job.future.result(timeout=st.settings.wait_timeout_s)
    if job.status == "done":
        return JSONResponse(_run_status(st, job.run_id), status_code=201)
    code = 422 if job.error and job.error.get("type") == "input_error" else 500
    headers = None
    if code == 422 and job.error and job.error.get("field") == "store":  # the server's store, not the request
        from nevsim.web.app import store_status  # (app imports this module)

        code, headers = store_status(InputError("store", str(job.error.get("msg") or "")))
    return JSONResponse({"detail": [_detail(job.error)], "run": job.as_dict()}, status_code=code, headers=headers)


def _asked_seed(overrides: dict[str, Any]) -> Any:
    """The seed a run request's overrides set (``uncertainty.seed``, or ``seed``, its earlier spelling), or None."""
    asked = expand(overrides)
    unc = asked.get("uncertainty")
    return asked.get("seed", unc.get("seed") if isinstance(unc, dict) else None)


def _detail(err: dict[str, Any] | None) -> dict[str, Any]:
    err = err or {}
    field = err.get("field")
    return {"loc": field.split(".") if field else [], **err}


@router.get("/runs/{run_id}", summary="Status of a run; its meta and scenario when done", responses=ERRORS)
def get_run(request: Request, run_id: RunId) -> dict[str, Any]:
    return _run_status(state_of(request), run_id)


#: The Results arguments' names → the query parameters that carry them (errors name what the client sent).
_QUERY_NAMES = {"variables": "variable", "makers": "maker", "years": "first_year"}


@contextmanager
def _query_names(last_year_only: bool = False) -> Iterator[None]:
    """Re-raise an :class:`InputError` of :class:`~nevsim.results.Results` under the query parameter's
    name (``years`` → ``last_year`` when the request set only that bound, else ``first_year``)."""
    try:
        yield
    except InputError as exc:
        if exc.field in _QUERY_NAMES:
            name = "last_year" if exc.field == "years" and last_year_only else _QUERY_NAMES[exc.field]
            raise InputError(name, exc.message, exc.allowed) from None
        raise


def _check_years(first_year: int | None, last_year: int | None) -> None:
    """``first_year`` ≤ ``last_year`` (an empty range is a mistake, not an empty answer)."""
    if first_year is not None and last_year is not None and first_year > last_year:
        raise InputError("last_year", f"last_year {last_year} is before first_year {first_year}.",
                         allowed=[f"≥ first_year ({first_year})"])


@router.get("/runs/{run_id}/series", summary="Series of a stored run (long table)", responses=ERRORS)
def run_series(
    request: Request, run_id: RunId,
    variable: Annotated[list[str] | None, Query(description="variable name(s); all when absent")] = None,
    region: Annotated[str | None, Query(max_length=40)] = None,
    first_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    last_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> dict[str, Any]:
    res = state_of(request).load(run_id)
    _check_years(first_year, last_year)
    with _query_names(last_year_only=first_year is None and last_year is not None):
        frame = res.to_frame(variables=variable, region=region, years=slice(first_year, last_year))
    pairs = frame[["variable", "unit"]].drop_duplicates()
    units = dict(zip(pairs["variable"], pairs["unit"], strict=False))
    return {"run_id": run_id, "units": units, "series": records(frame)}


@router.get("/runs/{run_id}/makers", summary="Makers' table of a stored run", responses=ERRORS)
def run_makers(
    request: Request, run_id: RunId,
    variable: Annotated[list[str] | None, Query()] = None,
    maker: Annotated[list[str] | None, Query()] = None,
    first_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    last_year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> dict[str, Any]:
    res = state_of(request).load(run_id)
    _check_years(first_year, last_year)
    with _query_names(last_year_only=first_year is None and last_year is not None):
        frame = res.makers_frame(variables=variable, makers=maker, years=slice(first_year, last_year))
    return {"run_id": run_id, "makers": records(frame)}


@router.get("/runs/{run_id}/targets", summary="Targets check of a stored run", responses=ERRORS)
def run_targets(request: Request, run_id: RunId) -> dict[str, Any]:
    """The targets check (``name`` stable, ``label`` = name and status) and ``left_out``: the names of
    the targets the check leaves out (a state standard the run does not model; :func:`nevsim.targets.check`)."""
    res = state_of(request).load(run_id)
    targets = res.targets()
    return {"run_id": run_id, "targets": records(targets), "left_out": list(targets.attrs.get("left_out", []))}


def download_bytes(st: AppState, run_id: str, kind: str) -> bytes:
    """A stored run as a file: CSV (long), IAMC CSV, makers CSV, Parquet or the HTML report."""
    res = st.load(run_id)
    if kind == "series.csv":
        return res.series.to_csv(index=False, float_format=CSV_FLOAT_FORMAT).encode()
    if kind == "iamc.csv":
        return res.to_iamc().to_csv(index=False, float_format=CSV_FLOAT_FORMAT).encode()
    if kind == "makers.csv":
        return res.makers.to_csv(index=False, float_format=CSV_FLOAT_FORMAT).encode()
    if kind in ("series.parquet", "makers.parquet"):
        import tempfile
        from pathlib import Path as _Path

        with tempfile.TemporaryDirectory() as tmp:
            path = res.to_parquet(_Path(tmp) / "out.parquet", table=kind.split(".")[0])
            return path.read_bytes()
    if kind == "report.html":
        from nevsim.report import build_html

        return build_html(res).encode()
    raise InputError("kind", f"unknown download {kind!r}.", allowed=list(DOWNLOADS))


@router.get("/runs/{run_id}/download/{kind}", summary="Download a stored run", responses=ERRORS,
            response_class=Response)
def run_download(request: Request, run_id: RunId, kind: Download) -> Response:
    data = download_bytes(state_of(request), run_id, kind)
    filename = f"nevsim-{run_id[:12]}-{kind.replace('.', '-', 1) if kind.count('.') > 1 else kind}"
    return Response(data, media_type=DOWNLOADS[kind],
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# ---------------------------------------------------------------------------- scenarios


@router.get("/scenarios", summary="Shipped and saved user scenarios")
def list_scenarios(request: Request) -> dict[str, Any]:
    st = state_of(request)
    out = []
    for name in st.scenario_names():
        try:
            kind, data, _ = st.scenario_source(name)
        except InputError as exc:  # a saved file that cannot be read is listed with the reason (the others still are)
            out.append({"name": name, "kind": "user", "base": None, "description": "", "error": exc.message})
            continue
        out.append({"name": name, "kind": kind, "base": data.get("base"),
                    "description": str(data.get("description", ""))})
    return {"scenarios": out}


def _named_scenario(st: AppState, name: str) -> tuple[str, dict[str, Any], str]:
    """``scenario_source`` of a scenario named in the URL: an unknown name is 404 (as an unknown run); a
    saved one whose file cannot be read is 422 naming ``name``."""
    try:
        return st.scenario_source(name)
    except InputError as exc:
        if name in st.scenario_names():
            raise InputError("name", exc.message, exc.allowed) from None
        raise ScenarioNotFoundError("name", exc.message, exc.allowed) from None


SCENARIO_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown scenario (neither shipped nor saved; detail[].allowed lists them)"},
    422: ERRORS[422]}


@router.get("/scenarios/{name}", summary="A scenario: its file's changes and the resolved values",
            responses=SCENARIO_ERRORS)
def get_scenario(request: Request, name: Annotated[str, Path(max_length=64)]) -> dict[str, Any]:
    st = state_of(request)
    kind, data, _ = _named_scenario(st, name)
    scenario = st.build(name, {})
    return {"name": name, "kind": kind, "base": data.get("base"), "description": scenario.description,
            "file": data, "hash": scenario.hash, "resolved": scenario.resolved()}


@router.get("/scenarios/{name}/toml", summary="A scenario's TOML file", response_class=Response,
            responses=SCENARIO_ERRORS)
def scenario_file(request: Request, name: Annotated[str, Path(max_length=64)]) -> Response:
    _, _, text = _named_scenario(state_of(request), name)
    return Response(text, media_type="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{name}.toml"'})


@router.post("/scenarios/validate", summary="Validate a scenario and changes (nothing is run or saved)",
             responses=BODY_ERRORS)
def validate_scenario(request: Request, body: ScenarioRequest) -> dict[str, Any]:
    scenario = state_of(request).build(body.scenario, body.overrides)
    return {"valid": True, "name": scenario.name, "hash": scenario.hash, "resolved": scenario.resolved()}


@router.post("/scenarios/toml", summary="A scenario TOML of a base and changes (to download)",
             response_class=Response, responses=BODY_ERRORS)
def scenario_toml(request: Request, body: TomlRequest) -> Response:
    st = state_of(request)
    base, nested = st.flatten(body.scenario, body.overrides)
    nested = {k: v for k, v in nested.items() if k not in ("name", "description")}
    st.build(base, {**nested, "name": body.name})
    text = st.scenario_toml(body.name, base, nested, body.description)
    return Response(text, media_type="application/toml",
                    headers={"Content-Disposition": f'attachment; filename="{body.name}.toml"'})


@router.post("/scenarios", status_code=201, summary="Save a named user scenario (in the store's folder)",
             responses=BODY_ERRORS)
def save_scenario(request: Request, body: SaveScenarioRequest) -> dict[str, Any]:
    st = state_of(request)
    st.save_scenario(body.name, body.scenario, body.overrides, body.description, replace=body.replace)
    return {"name": body.name, "kind": "user", "toml": f"/api/scenarios/{body.name}/toml"}


# ---------------------------------------------------------------------------- data


@router.get("/data/catalog", summary="Bundled datasets and fact tables with their sources and licences")
def data_catalog() -> dict[str, Any]:
    from nevsim import data

    return {"datasets": records(data.catalog())}


@router.get("/data/history", summary="Observed EV history of a region (with sources)",
            responses={422: ERRORS[422]})
def data_history(region: Annotated[str, Query(max_length=40)] = "China",
                 until: Annotated[int | None, Query(ge=1900, le=2200)] = None) -> dict[str, Any]:
    from nevsim import data

    frame = data.history(region, until=until)
    return {"region": frame.attrs.get("region"), "sources": frame.attrs.get("sources"), "rows": records(frame)}


@router.get("/data/{dataset}", summary="One bundled dataset, filtered", responses={422: ERRORS[422]})
def data_dataset(
    dataset: Annotated[str, Path(max_length=64)],
    region: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[int | None, Query(ge=1900, le=2200)] = None,
    limit: Annotated[int, Query(ge=1, le=20000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    from nevsim import data

    frame = data.load(dataset, region=region, until=until)
    attrs = {k: v for k, v in frame.attrs.items()}
    return {"dataset": dataset, "attrs": attrs, "total": len(frame), "offset": offset, "limit": limit,
            "rows": records(frame.iloc[offset:offset + limit])}


# ---------------------------------------------------------------------------- back-test


def backtest_available() -> str | None:
    """None when :mod:`nevsim.backtest` imports and has ``backtest``; else why not."""
    try:
        from nevsim.backtest import backtest  # noqa: F401
    except Exception as exc:  # any import failure means: not available yet
        return f"{type(exc).__name__}: {exc}"
    return None


def run_backtest(st: AppState, scenario: str | None, region: str | None = None, cutoffs: object = None,
                 through: int | None = None, policies: str = "enacted", draws: int | None = None,
                 seed: int | None = None, residual_walk: bool = False) -> Any:
    """A back-test of a shipped or saved scenario (memoised per app: it is pure and takes a few seconds).

    Scenario and region follow :func:`nevsim.backtest.resolve_scenario_region` (a region alone
    runs its default scenario; a scenario alone its own region; both must agree); ``cutoffs``
    follow :func:`nevsim.backtest.parse_cutoffs` (no empty entry, no repeat; ``None``: the
    default cutoffs). ``policies``: ``"enacted"`` (the scenario's rules at every cutoff) or
    ``"as-known"`` (China's rules as issued by the end of each cutoff). ``draws``/``seed``: Monte
    Carlo draws per cutoff (the model's median and 5–95 % band), at most the server's ``max_draws``.
    ``residual_walk``: the scenario with ``uncertainty.residual_walk = true`` (needs draws > 1).
    """
    from nevsim.backtest import (
        POLICY_VIEWS,
        backtest,
        check_draws_seed,
        parse_cutoffs,
        resolve_scenario_region,
    )

    if scenario is not None and scenario not in st.scenario_names():
        raise InputError("scenario", f"unknown scenario {scenario!r}.", allowed=st.scenario_names())
    if policies not in POLICY_VIEWS:
        raise InputError("policies", f"unknown policy view {policies!r}.", allowed=list(POLICY_VIEWS))
    draws, seed = check_draws_seed(draws, seed)
    cap = st.settings.max_draws
    if draws is not None and draws > cap:
        raise InputError("draws", f"{draws} is more than this server allows per run ({cap}; nevsim serve --max-draws).",
                         allowed=[f"1 to {cap}"])
    years = parse_cutoffs(cutoffs, field="cutoff")
    # a saved scenario: built like a run of it (a shipped base, the server's draw limit); keyed on its hash
    saved = st.build(scenario, {}, draws) if scenario is not None and scenario not in st.shipped() else None
    spec, code = resolve_scenario_region(saved if saved is not None else scenario, region)
    if residual_walk:
        from nevsim.scenario import Scenario, load_scenario

        base = spec if isinstance(spec, Scenario) else load_scenario(str(spec))
        spec = saved = base.with_residual_walk(draws)
    name = str(getattr(spec, "name", spec))
    key = ("backtest", name, saved.hash if saved is not None else None, code, tuple(years) if years else None,
           through, policies, draws, seed)
    def run() -> Any:
        try:
            return backtest(spec if saved is not None else name, region=code, cutoffs=years, through=through,
                            policies=policies, draws=draws, seed=seed)
        except InputError as exc:  # (the query parameter is `cutoff`, as the CLI names its own flags)
            if exc.field == "cutoffs":
                raise InputError("cutoff", exc.message, allowed=exc.allowed) from None
            raise

    return st.memo(key, run)


@router.get("/backtest", summary="Back-test: forecasts from past cutoffs scored against the actuals",
            responses={422: ERRORS[422], 501: {"description": "back-test not available in this build"}})
def api_backtest(request: Request,
                 scenario: Annotated[str | None, Query(
                     max_length=64, description="shipped or saved scenario (default: the region's default scenario)")] = None,
                 region: Annotated[str | None, Query(
                     max_length=16, description="CN, US or EU (default: the scenario's region; must match it)")] = None,
                 cutoff: Annotated[list[str] | None, Query(
                     description="cutoff years, repeated or comma-separated (default 2018–2022; no repeats)")] = None,
                 through: Annotated[int | None, Query(
                     description="last forecast year (default: the last observed year)")] = None,
                 policies: Annotated[str, Query(
                     max_length=16, description="policy view of the model runs: enacted (the scenario's rules at "
                     "every cutoff) or as-known (China's rules as issued by the end of each cutoff)")] = "enacted",
                 draws: Annotated[int | None, Query(
                     description="Monte Carlo draws per cutoff (the model's median and 5–95 % band, scored by "
                                 "coverage and interval score); at most the server's max_draws")] = None,
                 seed: Annotated[int | None, Query(description="random seed of the draws, ≥ 0")] = None,
                 residual_walk: Annotated[bool, Query(
                     description="structural uncertainty: the calibrated plug-in constant drifts after each "
                                 "cutoff (uncertainty.residual_walk); needs draws > 1")] = False,
                 ) -> Response:
    why = backtest_available()
    if why is not None:
        return JSONResponse({"detail": f"back-test not available: {why}"}, status_code=501)
    years = None if cutoff is None else ",".join(cutoff)
    bt = run_backtest(state_of(request), scenario, region, years, through, policies, draws, seed, residual_walk)
    return JSONResponse(clean(bt.to_json()))


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf → None, numpy scalars → Python numbers, tuples → lists."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        try:
            value = value.item()
        except (AttributeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)


__all__ = ["DOWNLOADS", "RunNotFoundError", "clean", "download_bytes", "error_dict", "records", "router"]
