"""Back-tests: fit with data up to a cutoff, forecast the years after, score against history.

Quick use::

    from nevsim.backtest import backtest
    bt = backtest("china-current-policies", region="CN", cutoffs=[2018, 2019, 2020, 2021, 2022])
    bt.forecasts          # long table: cutoff, year, horizon, method, forecast, actual, error,
                          # lower, upper (the model's 5–95 % band with draws; else NaN)
    bt.scores             # MAE, MAPE, bias, RMSE per method per cutoff, and pooled
    bt.by_horizon()       # MAE per method by horizon (years after the cutoff)
    print(bt.summary())   # plain words: where the model loses to a baseline
    bt.plot()             # plotly: forecast fans from each cutoff over the actuals
    bt.to_json()          # {"scenario", "region", "through", "policies", "unit", "cutoffs": [...]}

    # with the scenario's uncertainty: the model's point is the median over draws, and its
    # 5–95 % band is scored by how often it holds the actual (coverage)
    bt = backtest("china-current-policies", draws=200, seed=1)

For every cutoff ``c`` the model (:func:`nevsim.simulate.run` with ``until=c``) and four naive
baselines (:mod:`nevsim.baselines`: logistic, Bass, persistence, logit trend) forecast the EV
share of new car sales for ``c+1 … through`` (by default the last observed year); the
baselines are fitted on the actuals read with ``until=c``, so no value after the cutoff
reaches a forecast. Errors are ``forecast − actual`` in percentage points.

Actuals (EV = BEV + PHEV share of new car sales, percent): IEA Global EV Outlook 2025,
mode ``Cars``, parameter ``EV sales share``, powertrain ``EV``, category ``Historical``
(2010–2024 for China), then — for years after the last IEA year — OWID's share of new cars
that are electric (2025: 53 % for China). The two agree to within 0.1 point where they overlap
(2010–2024) except in 2021 (IEA 15 %, OWID 16 %); the IEA value is kept wherever it exists.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nevsim import data
from nevsim.baselines import BASELINES, LOGIT_TREND_YEARS
from nevsim.errors import SEED_ALLOWED, InputError, NevsimError

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: Model variable that is scored (percent of new car sales).
SHARE_VARIABLE = "Sales Share|Cars|EV"

#: Methods in report order: the model first, then the baselines.
METHODS: tuple[str, ...] = ("model", *BASELINES)

#: Rolling origins used when no cutoff is given (issue 5).
DEFAULT_CUTOFFS: tuple[int, ...] = (2018, 2019, 2020, 2021, 2022)

#: A cutoff must leave at least this many observed years on or before it.
MIN_HISTORY_YEARS = 5

#: Default scenario.
DEFAULT_SCENARIO = "china-current-policies"

#: Policy views of a back-test: the rules as enacted (to the end of 2025; a conditional, ex-post
#: forecast) or as known at each cutoff (``policy.known_at = cutoff``; an ex-ante forecast).
POLICY_VIEWS: tuple[str, ...] = ("enacted", "as-known")

#: What each policy view means, in words (table titles, summary).
POLICY_VIEW_TEXT: dict[str, str] = {
    "enacted": "the scenario's policies as enacted (the rules its tables hold today)",
    "as-known": "policies as known at each cutoff (China's vintage table)",
}

#: Region codes the back-test accepts → IEA region names of the actuals.
REGION_CODES: dict[str, str] = {"CN": "China", "US": "USA", "EU": "EU27"}

_IEA = "iea_gevo_2025"
_OWID = "owid_electric_car_sales_share"

#: Line dash of each method in :meth:`BacktestResult.plot` (the model solid in the EV colour, the
#: baselines grey: :mod:`nevsim.report.palette`).
METHOD_DASHES: dict[str, str] = {"model": "solid", "logistic": "dash", "bass": "dashdot", "persistence": "dot",
                                 "logit_trend": "longdash"}

#: Height of one cutoff's panel in the back-test figure (pixels) and the panels per row.
PANEL_HEIGHT_PX = 260
PANEL_COLUMNS = 3
#: The phone layout (:meth:`BacktestResult.plot` with ``columns=1``): one panel per row, each this
#: high, used below :data:`NARROW_MAX_WIDTH_PX` of window width by the web page and by
#: :meth:`BacktestResult.write_html`. Three panels a row on a 390 px phone were ≈ 90 px wide each,
#: with the year labels turned and running into each other.
NARROW_PANEL_HEIGHT_PX = 220
NARROW_MAX_WIDTH_PX = 600

#: Widest line of the back-test title (pixels): it must fit a 390 px wide phone, where the chart
#: is at most ≈ 370 px wide and the title starts ≈ 12 px from its left edge (measured in chromium).
TITLE_WIDTH_PX = 310
#: Longest line of the back-test title at its 15 px font (≈ 7.7 px a character): the headline.
TITLE_LINE_CHARS = 40
#: … of its smaller ``<sup>`` lines (≈ 5.3 px a character), without the tags around each.
SUBTITLE_LINE_CHARS = 56
#: The headline: the same on every back-test chart, short enough for a phone.
TITLE_HEADLINE = "Back-test: EV share of new cars"


def wrap_title(text: str, width: int = TITLE_LINE_CHARS) -> str:
    """``text`` in lines of at most ``width`` characters (plotly ``<br>``), broken after ": " or ", "
    (not inside parentheses, as in ``(China, CN)``, nor between years, as in ``2016, 2020``), and at
    spaces inside a longer piece (plotly does not wrap titles: a long line is cut off at the chart's
    right edge). A single word longer than ``width`` stays whole."""
    parts = [""]
    depth = 0
    for i, char in enumerate(text):
        depth += (char == "(") - (char == ")")
        if char == " " and depth == 0 and text[i - 1 : i] in (":", ",") and not text[i + 1 : i + 2].isdigit():
            parts.append("")
        else:
            parts[-1] += char
    lines: list[str] = []
    for part in parts:
        for word in part.split(" ") if len(part) > width else [part]:
            if lines and len(lines[-1]) + 1 + len(word) <= width:
                lines[-1] += " " + word
            else:
                lines.append(word)
    return "<br>".join(lines)

#: Units of the numbers in :meth:`BacktestResult.to_json`.
JSON_UNITS: dict[str, str] = {"forecast": "percent of new car sales", "actual": "percent of new car sales",
                              "mae": "percentage points"}
#: … and with Monte Carlo draws (:attr:`BacktestResult.has_bands`).
JSON_BAND_UNITS: dict[str, str] = {"model_lower": "percent of new car sales", "model_upper": "percent of new car sales",
                                   "coverage": "percent of actuals inside the band",
                                   "band_width": "percentage points (mean upper − lower)",
                                   "interval_score": "percentage points (mean interval score of the band: width + 20 × the distance "
                                                     "to an actual outside it; lower is better)"}

#: The model's band with Monte Carlo draws: these quantiles over draws (5 % and 95 %).
BAND_QUANTILES: tuple[float, float] = (0.05, 0.95)
BAND_LABEL = "5–95 %"
#: The most draws a back-test runs per cutoff (each cutoff re-fits and simulates every draw).
MAX_BACKTEST_DRAWS = 10_000


def cutoff_text(cutoffs: Sequence[int]) -> str:
    """``"cutoff 2021"``, ``"cutoffs 2018–2022"`` (a run of three or more) or ``"cutoffs 2016, 2020"``."""
    cut = sorted(int(c) for c in cutoffs)
    if len(cut) == 1:
        return f"cutoff {cut[0]}"
    if len(cut) > 2 and cut == list(range(cut[0], cut[-1] + 1)):
        return f"cutoffs {cut[0]}–{cut[-1]}"
    return "cutoffs " + ", ".join(map(str, cut))


def cutoff_colours(cutoffs: Sequence[int]) -> dict[int, str]:
    """One grey per cutoff, earlier lighter (:func:`nevsim.report.palette.greys`: cutoffs are an order,
    not a category, and keep clear of the regions' and powertrains' hues)."""
    from nevsim.report.palette import greys

    cut = sorted(int(c) for c in cutoffs)
    return dict(zip(cut, greys(len(cut)), strict=True))


Progress = Callable[[float, int], None]


class ModelUnavailableError(NevsimError):
    """The simulation (:func:`nevsim.simulate.run`) cannot be imported or does not run."""


# ------------------------------------------------------------------------------ actuals


def resolve_region(region: str) -> str:
    """IEA region name of a back-test region code (``"CN"`` → ``"China"``); raises InputError otherwise."""
    code = str(region).strip().upper()
    if code in REGION_CODES:
        return REGION_CODES[code]
    for name in REGION_CODES.values():
        if str(region).strip().lower() == name.lower():
            return name
    raise InputError("region", f"unknown region {region!r}.", allowed=list(REGION_CODES))


def resolve_scenario_region(scenario: str | Any | None = None,
                            region: str | None = None) -> tuple[str | Any, str]:
    """The scenario and region code a back-test runs with — one rule for Python, CLI and web.

    Neither given: :data:`DEFAULT_SCENARIO` and its region (CN). Only ``region``: that region's
    default scenario (:data:`nevsim.regions.DEFAULT_SCENARIOS`). Only ``scenario``: its region.
    Both: they must agree, else :class:`InputError` naming both. Returns ``(scenario, code)``
    with ``scenario`` a name when it was inferred, the loaded :class:`~nevsim.scenario.Scenario`
    when it was given.
    """
    from nevsim.regions import DEFAULT_SCENARIOS

    code = None
    if region is not None:
        name = resolve_region(region)
        code = next(c for c, n in REGION_CODES.items() if n == name)
    if scenario is None:
        code = code or next(c for c, n in DEFAULT_SCENARIOS.items() if n == DEFAULT_SCENARIO)
        return DEFAULT_SCENARIOS[code], code
    scen = _load_scenario(scenario)
    own = str(getattr(scen, "region", "CN"))
    if own not in REGION_CODES:
        raise InputError("scenario", f"scenario {scen.name!r} simulates region {own}, which has no observed "
                                     "history to back-test against.", allowed=list(REGION_CODES))
    if code is not None and code != own:
        raise InputError("region", f"scenario {scen.name!r} simulates region {own}, not {code}; give the "
                                   f"scenario's region, or only one of scenario and region "
                                   f"(region {code} alone runs {DEFAULT_SCENARIOS[code]!r}).", allowed=[own])
    return scen, own


def actual_shares(region: str = "CN", *, until: int | None = None,
                  data_dir: str | None = None) -> pd.Series:
    """Observed EV share of new car sales (percent) by year, IEA then OWID (see module doc).

    Every row is read through :func:`nevsim.data.load` with ``until``, so no year after it is
    returned. ``attrs["sources"]`` maps each year to the dataset it came from.
    """
    name = resolve_region(region)
    iea = data.load(_IEA, region=name, until=until, data_dir=data_dir)
    rows = iea[(iea["mode"] == "Cars") & (iea["parameter"] == "EV sales share")
               & (iea["category"] == "Historical") & (iea["powertrain"] == "EV")]
    shares = rows.groupby("year")["value"].mean().astype(float)
    sources = dict.fromkeys(shares.index.astype(int), _IEA)
    owid = data.load(_OWID, region=name, until=until, data_dir=data_dir)
    last_iea = int(shares.index.max()) if not shares.empty else -1
    later = owid[owid["year"] > last_iea].groupby("year")["value"].mean().astype(float)
    shares = pd.concat([shares, later]).sort_index()
    sources.update(dict.fromkeys(later.index.astype(int), _OWID))
    shares.index = shares.index.astype("int64")
    shares.index.name = "year"
    shares.name = "EV sales share"
    shares.attrs = {"unit": "percent", "region": name, "until": until, "sources": sources}
    return shares


def _check_series(actuals: object) -> pd.Series:
    if not isinstance(actuals, pd.Series):
        raise InputError("actuals", f"must be a pandas Series of shares (percent) indexed by year, "
                                    f"got {type(actuals).__name__}.")
    out = actuals.dropna().astype(float).copy()
    out.index = pd.Index(out.index.astype("int64"), name="year")
    out = out.sort_index()
    if out.index.has_duplicates:
        raise InputError("actuals", "years must be unique.")
    if ((out < 0) | (out > 100)).any():
        raise InputError("actuals", "shares are percentages and must lie in [0, 100].")
    out.attrs = dict(actuals.attrs)
    return out


def allowed_cutoffs(actuals: pd.Series) -> range:
    """Cutoffs that leave ≥ :data:`MIN_HISTORY_YEARS` observed years and ≥ 1 year to forecast."""
    years = actuals.index.to_numpy()
    if years.size < MIN_HISTORY_YEARS + 1:
        return range(0)
    return range(int(years[MIN_HISTORY_YEARS - 1]), int(years[-1]))


#: What an error about cutoffs shows as allowed when the observed years are not known yet.
CUTOFFS_EXAMPLE = "e.g. 2018,2019,2020,2021,2022"


def parse_cutoffs(cutoffs: object, *, field: str = "cutoffs",
                  allowed: Sequence[str] | None = None) -> list[int] | None:
    """Cutoff years from one year, a list of years or a comma-separated string (``"2018,2021"``).

    The one rule of the Python API, the CLI (``--cutoffs``) and the web (``cutoff=``): ``None``
    means the default cutoffs; an empty list, an empty entry (``"2018,,2019"``), anything that
    is not a whole year, and a year given twice raise :class:`InputError` naming ``field``.
    """
    shown = list(allowed) if allowed is not None else [CUTOFFS_EXAMPLE]
    if cutoffs is None:
        return None
    if isinstance(cutoffs, str):
        parts: list[object] = list(cutoffs.split(","))
    elif isinstance(cutoffs, bool) or not isinstance(cutoffs, Iterable):
        parts = [cutoffs]
    else:
        parts = list(cutoffs)
    if not parts or parts == [""]:
        raise InputError(field, "give at least one cutoff year.", allowed=shown)
    out: list[int] = []
    for part in parts:
        if isinstance(part, str):
            text = part.strip()
            if not text:
                raise InputError(field, f"an empty entry in {cutoffs!r}; give comma-separated years.",
                                 allowed=shown)
            if not (text.isascii() and text.isdigit()):
                raise InputError(field, f"{text!r} is not a year; give comma-separated years.", allowed=shown)
            out.append(int(text))
        elif isinstance(part, bool) or not hasattr(part, "__index__"):
            raise InputError(field, f"must be whole years, got {part!r}.", allowed=shown)
        else:
            out.append(int(part))  # type: ignore[call-overload]
    repeated = sorted({y for y in out if out.count(y) > 1})
    if repeated:
        raise InputError(field, f"cutoffs repeat: {', '.join(map(str, repeated))} given more than once.",
                         allowed=shown)
    return out


def _check_cutoffs(cutoffs: object, actuals: pd.Series, through: int | None) -> list[int]:
    allowed = allowed_cutoffs(actuals)
    span = f"{allowed.start}–{allowed.stop - 1}" if len(allowed) else "none"
    parsed = parse_cutoffs(cutoffs, allowed=[span])
    values = list(DEFAULT_CUTOFFS) if parsed is None else parsed
    for year in values:
        if year not in allowed:
            raise InputError(
                "cutoffs", f"{year} must leave at least {MIN_HISTORY_YEARS} observed years up to it and at "
                           f"least one observed year after it (observed {int(actuals.index[0])}–"
                           f"{int(actuals.index[-1])}).", allowed=[span])
        if through is not None and year >= through:
            raise InputError("through", f"{through} must be after every cutoff (cutoff {year}).",
                             allowed=[f"{year + 1}–{int(actuals.index[-1])}"])
    return sorted(values)


def _check_through(through: object, actuals: pd.Series) -> int:
    last = int(actuals.index[-1])
    if through is None:
        return last
    if isinstance(through, bool) or not hasattr(through, "__index__"):
        raise InputError("through", f"must be a whole year, got {through!r}.")
    year = int(through)  # type: ignore[call-overload]
    if year > last:
        raise InputError("through", f"{year} is after the last observed year {last}.",
                         allowed=[f"up to {last}"])
    return year


# ---------------------------------------------------------------------------- forecasts


def baseline_forecasts(history: pd.Series, forecast_years: np.ndarray) -> dict[str, np.ndarray]:
    """Every baseline fitted on ``history`` (shares by year, all on or before the cutoff)."""
    years = history.index.to_numpy(dtype=float)
    shares = history.to_numpy(dtype=float)
    return {name: np.asarray(f(years, shares, forecast_years), dtype=float) for name, f in BASELINES.items()}


def model_shares(scenario: Any, cutoff: int,
                 progress: Callable[[int, int], None] | None = None, *,
                 draws: int | None = None, seed: int | None = None) -> pd.DataFrame:
    """The model's car sales shares (percent) from ``run(scenario, until=cutoff)``: index year,
    columns ``EV``, ``BEV``, ``PHEV`` (``Sales Share|Cars|<powertrain>``; the median over draws
    when the run has several Monte Carlo draws), and with several draws ``EV_lower`` and
    ``EV_upper``, the EV share's :data:`BAND_QUANTILES` over draws. ``draws``/``seed``: as
    :func:`nevsim.simulate.run` (default: the scenario's ``[uncertainty]``)."""
    try:
        from nevsim.simulate import run
    except ImportError as exc:
        raise ModelUnavailableError(f"the simulation is not available (nevsim.simulate.run: {exc})") from exc
    kwargs: dict[str, Any] = {} if draws is None else {"draws": int(draws), "makers": False}
    if seed is not None:
        kwargs["seed"] = int(seed)
    series = run(scenario, until=int(cutoff), progress=progress, **kwargs).series
    columns = {}
    for pt in ("EV", "BEV", "PHEV"):
        rows = series[series["variable"] == f"Sales Share|Cars|{pt}"]
        if rows.empty and pt == "EV":
            raise ModelUnavailableError(f"the simulation returned no '{SHARE_VARIABLE}' series")
        columns[pt] = rows.groupby("year")["value"].median()
        if pt == "EV" and "draw" in rows.columns and rows["draw"].nunique() > 1:
            lo, hi = BAND_QUANTILES
            by_year = rows.groupby("year")["value"]
            columns["EV_lower"] = by_year.quantile(lo)
            columns["EV_upper"] = by_year.quantile(hi)
    out = pd.DataFrame(columns)
    out.index = pd.Index(out.index.astype("int64"), name="year")
    return out


def model_forecast(scenario: Any, cutoff: int, forecast_years: np.ndarray,
                   progress: Callable[[int, int], None] | None = None) -> np.ndarray:
    """The model's ``Sales Share|Cars|EV`` (percent) for ``forecast_years`` from ``run(scenario, until=cutoff)``."""
    return _pick(model_shares(scenario, cutoff, progress), forecast_years)


def _pick(shares: pd.DataFrame, forecast_years: np.ndarray, column: str = "EV") -> np.ndarray:
    if column not in shares.columns:
        return np.full(len(forecast_years), np.nan)
    ev = shares[column].dropna()
    missing = [int(y) for y in forecast_years if int(y) not in ev.index]
    if missing:
        raise ModelUnavailableError(f"the simulation returned no '{SHARE_VARIABLE}' for years {missing}")
    return ev.loc[[int(y) for y in forecast_years]].to_numpy(dtype=float)


def check_draws_seed(draws: object, seed: object) -> tuple[int | None, int | None]:
    """``draws`` None or a whole number 1 … :data:`MAX_BACKTEST_DRAWS`; ``seed`` None or a whole number ≥ 0."""
    if draws is not None and (isinstance(draws, bool) or not isinstance(draws, (int, np.integer))
                              or not 1 <= int(draws) <= MAX_BACKTEST_DRAWS):
        raise InputError("draws", f"must be a whole number from 1 to {MAX_BACKTEST_DRAWS:,} (draws per cutoff), "
                                  f"got {draws!r}.", allowed=[f"1 to {MAX_BACKTEST_DRAWS}"])
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                             or not 0 <= int(seed) <= 2**63 - 1):
        raise InputError("seed", f"must be a whole number from 0 to 2**63 − 1, got {seed!r}.",
                         allowed=[SEED_ALLOWED])
    return (None if draws is None else int(draws)), (None if seed is None else int(seed))


# ------------------------------------------------------------------------------- scores


def score_frame(forecasts: pd.DataFrame) -> pd.DataFrame:
    """MAE, MAPE, bias and RMSE per method per cutoff, then pooled (``cutoff`` = <NA>).

    ``mae_pp = mean |e|``, ``bias_pp = mean e``, ``rmse_pp = sqrt(mean e²)`` with
    ``e = forecast − actual`` in percentage points; ``mape_pct = 100 · mean |e| / actual``.
    Pooled rows weigh every (cutoff, year) forecast equally. Where a forecast has a band
    (``lower``, ``upper``: the model with Monte Carlo draws), ``coverage_pct`` = 100 · share of
    actuals with ``lower ≤ actual ≤ upper`` (a calibrated 5–95 % band holds about 90 %) and
    ``band_width_pp`` = mean ``upper − lower``; NaN without a band. ``interval_score_pp`` is the
    mean interval score of the band (Gneiting & Raftery 2007, JASA 102(477), §6.2, a proper scoring
    rule): ``IS = (u − l) + (2/α)·(l − y)·[y < l] + (2/α)·(y − u)·[y > u]`` with ``α = 0.1`` for
    the 5–95 % band. Lower is better; unlike coverage it does not reward a band for being wide.
    """
    f = forecasts.dropna(subset=["forecast", "actual"]).assign(
        abs_error=lambda d: d["error"].abs(), sq_error=lambda d: d["error"] ** 2,
        ape=lambda d: 100.0 * d["error"].abs() / d["actual"])
    if {"lower", "upper"} <= set(f.columns):
        banded = f["lower"].notna() & f["upper"].notna()
        inside = (f["lower"] <= f["actual"]) & (f["actual"] <= f["upper"])
        f = f.assign(inside=np.where(banded, 100.0 * inside, np.nan), width=f["upper"] - f["lower"],
                     interval=interval_score(f["lower"], f["upper"], f["actual"]))
    else:
        f = f.assign(inside=np.nan, width=np.nan, interval=np.nan)

    def agg(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        out = frame.groupby(keys, sort=False).agg(
            n=("error", "size"), mae_pp=("abs_error", "mean"), mape_pct=("ape", "mean"),
            bias_pp=("error", "mean"), rmse_pp=("sq_error", "mean"),
            coverage_pct=("inside", "mean"), band_width_pp=("width", "mean"),
            interval_score_pp=("interval", "mean")).reset_index()
        out["rmse_pp"] = np.sqrt(out["rmse_pp"])
        return out

    per = agg(f, ["cutoff", "method"])
    pooled = agg(f, ["method"]).assign(cutoff=pd.NA)
    out = pd.concat([per, pooled[per.columns]], ignore_index=True)
    out["cutoff"] = out["cutoff"].astype("Int64")
    order = {m: i for i, m in enumerate(METHODS)}
    out = out.sort_values(["cutoff", "method"], key=lambda s: s.map(order) if s.name == "method" else s,
                          na_position="last").reset_index(drop=True)
    out.attrs["unit"] = {"mae_pp": "percentage points", "bias_pp": "percentage points",
                         "rmse_pp": "percentage points", "mape_pct": "percent",
                         "coverage_pct": "percent of actuals inside the band", "band_width_pp": "percentage points",
                         "interval_score_pp": "percentage points"}
    return out


def interval_score(lower: Any, upper: Any, actual: Any,
                   alpha: float = round(1.0 - (BAND_QUANTILES[1] - BAND_QUANTILES[0]), 12)) -> np.ndarray:
    """Interval score of central ``(1 − alpha)`` bands ``[lower, upper]`` against ``actual`` (same
    unit); ``alpha = 0.1`` for the 5–95 % band (:data:`BAND_QUANTILES`).

    ``IS = (u − l) + (2/α)·max(l − y, 0) + (2/α)·max(y − u, 0)`` (Gneiting & Raftery 2007,
    "Strictly proper scoring rules, prediction, and estimation", JASA 102(477), eq. 43): the
    width plus a penalty for each point the actual falls outside. NaN where a bound is NaN.
    """
    lo, hi, y = (np.asarray(x, dtype=float) for x in (lower, upper, actual))
    with np.errstate(invalid="ignore"):
        return (hi - lo) + (2.0 / alpha) * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))


# ------------------------------------------------------------------------------- result


@dataclass
class BacktestResult:
    """Forecasts and scores of one back-test (see :func:`backtest`)."""

    forecasts: pd.DataFrame
    scores: pd.DataFrame
    actuals: pd.Series
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def cutoffs(self) -> list[int]:
        """The cutoffs, in order."""
        return sorted(int(c) for c in self.forecasts["cutoff"].unique())

    @property
    def methods(self) -> list[str]:
        """The methods that were run, in report order."""
        present = set(self.forecasts["method"])
        return [m for m in METHODS if m in present]

    def mae(self) -> pd.DataFrame:
        """MAE (points) as a table: one row per cutoff and a ``pooled`` row, one column per method."""
        s = self.scores.assign(cutoff=self.scores["cutoff"].astype("string").fillna("pooled"))
        table = s.pivot(index="cutoff", columns="method", values="mae_pp")
        table = table.reindex(index=[str(c) for c in self.cutoffs] + ["pooled"], columns=self.methods)
        table.columns.name = None
        table.attrs["unit"] = "percentage points"
        return table

    def by_horizon(self, metric: str = "mae_pp") -> pd.DataFrame:
        """Error by horizon pooled over cutoffs: ``mae_pp`` (default), ``bias_pp`` or ``mape_pct``;
        rows horizon (years after the cutoff), columns methods, plus ``n`` forecasts per horizon."""
        allowed = ["mae_pp", "bias_pp", "mape_pct"]
        if metric not in allowed:
            raise InputError("metric", f"unknown metric {metric!r}.", allowed=allowed)
        f = self.forecasts.dropna(subset=["forecast", "actual"])
        values = {"mae_pp": f["error"].abs(), "bias_pp": f["error"],
                  "mape_pct": 100.0 * f["error"].abs() / f["actual"]}[metric]
        table = f.assign(v=values).pivot_table(index="horizon", columns="method", values="v", aggfunc="mean")
        table = table.reindex(columns=self.methods)
        table.columns.name = None
        counts = f[f["method"] == self.methods[0]].groupby("horizon").size()
        table["n"] = counts.reindex(table.index).astype("int64")
        table.attrs["unit"] = "percent" if metric == "mape_pct" else "percentage points"
        return table

    @property
    def has_bands(self) -> bool:
        """True when the model ran with several Monte Carlo draws (its forecasts carry a band)."""
        f = self.forecasts
        return "lower" in f.columns and bool(f["lower"].notna().any())

    def coverage(self) -> pd.DataFrame:
        """The model band's coverage (percent of actuals inside it), mean width and mean interval
        score (points; :func:`interval_score`), per cutoff and pooled; empty without bands."""
        cols = ["coverage_pct", "band_width_pp", "interval_score_pp", "n"]
        if not self.has_bands:
            return pd.DataFrame(columns=cols)
        s = self.scores[self.scores["method"] == "model"]
        s = s.assign(cutoff=s["cutoff"].astype("string").fillna("pooled")).set_index("cutoff")
        out = s[cols]
        out.attrs["unit"] = {"coverage_pct": "percent", "band_width_pp": "percentage points",
                             "interval_score_pp": "percentage points"}
        return out

    def to_json(self) -> dict[str, Any]:
        """``{"scenario", "region", "variable", "through", "policies", "unit", "cutoffs": [{"cutoff",
        "known_at", "forecasts": [{"year", "actual", <method>: share}], "mae": {...}}]}``.

        Shares in percent; MAE in percentage points (``unit`` says so); a method that was not run
        is ``None``; ``scenario`` is ``None`` when the model was not run (baselines only). With
        Monte Carlo draws (:attr:`has_bands`) the top level adds ``draws``, ``seed``, ``band``
        (``"5–95 %"``), ``coverage_pooled``, ``band_width_pooled`` and ``interval_score_pooled``,
        each forecast ``model_lower`` and ``model_upper``, and each cutoff ``coverage`` (percent of
        its actuals inside the band), ``band_width`` and ``interval_score`` (points;
        :func:`interval_score`); ``model`` is then the median.
        """
        out = []
        scores = self.scores.dropna(subset=["cutoff"])
        for cutoff in self.cutoffs:
            f = self.forecasts[self.forecasts["cutoff"] == cutoff]
            wide = f.pivot(index="year", columns="method", values="forecast")
            actual = f.groupby("year")["actual"].first()
            band = f[f["method"] == "model"].set_index("year") if self.has_bands else None
            rows = []
            for year in sorted(wide.index):
                row: dict[str, Any] = {"year": int(year), "actual": _num(actual.get(year))}
                for method in METHODS:
                    row[method] = _num(wide.at[year, method]) if method in wide.columns else None
                if band is not None:
                    row["model_lower"] = _num(band.at[year, "lower"])
                    row["model_upper"] = _num(band.at[year, "upper"])
                rows.append(row)
            per = scores[scores["cutoff"] == cutoff].set_index("method")
            s = per["mae_pp"]
            mae = {m: (_num(s[m]) if m in s.index else None) for m in METHODS}
            entry: dict[str, Any] = {"cutoff": int(cutoff), "known_at": self.meta.get("known_at", {}).get(int(cutoff)),
                                     "forecasts": rows, "mae": mae}
            if band is not None:
                entry["coverage"] = _num(per.at["model", "coverage_pct"])
                entry["band_width"] = _num(per.at["model", "band_width_pp"])
                entry["interval_score"] = _num(per.at["model", "interval_score_pp"])
            out.append(entry)
        meta = self.meta
        result = {"scenario": meta.get("scenario"), "region": meta.get("region"),
                  "variable": meta.get("variable", SHARE_VARIABLE), "through": meta.get("through"),
                  "policies": meta.get("policies", "enacted"), "unit": dict(JSON_UNITS), "cutoffs": out}
        if self.has_bands:
            pooled = self.coverage().loc["pooled"]
            result.update(draws=meta.get("draws"), seed=meta.get("seed"), band=BAND_LABEL,
                          coverage_pooled=_num(pooled["coverage_pct"]), band_width_pooled=_num(pooled["band_width_pp"]),
                          interval_score_pooled=_num(pooled["interval_score_pp"]))
            result["unit"].update(JSON_BAND_UNITS)
        return result

    def summary(self) -> str:
        """Plain-language reading: MAE per method, and every place where the model loses."""
        lines: list[str] = []
        meta = self.meta
        lines.append(f"Back-test of {meta.get('variable', SHARE_VARIABLE)} ({meta.get('region', '')}), "
                     f"scenario {meta.get('scenario') or '– (baselines only)'}, {cutoff_text(self.cutoffs)}, "
                     f"forecasts through {meta.get('through', '')}; error = forecast − actual, points.")
        if "model" in self.methods:
            view = meta.get("policies", "enacted")
            lines.append(f"The model runs with {POLICY_VIEW_TEXT.get(view, view)} (policy view {view!r}).")
        mae = self.mae()
        methods = self.methods
        pooled = mae.loc["pooled"]
        best = min(methods, key=lambda m: pooled[m])
        lines.append("Pooled MAE: " + ", ".join(f"{m} {pooled[m]:.1f}" for m in methods)
                     + f" — best: {best}.")
        if "model" not in methods:
            lines.append("The model was not run (baselines only).")
            return "\n".join(lines)
        baselines = [m for m in methods if m != "model"]
        losses: list[str] = []
        for cutoff in [str(c) for c in self.cutoffs] + ["pooled"]:
            row = mae.loc[cutoff]
            beaten_by = [b for b in baselines if row[b] < row["model"]]
            if beaten_by:
                where = "pooled over all cutoffs" if cutoff == "pooled" else f"at cutoff {cutoff}"
                lines.append(f"The model LOSES {where}: model MAE {row['model']:.1f} vs "
                             + ", ".join(f"{b} {row[b]:.1f}" for b in beaten_by) + ".")
                losses.append(cutoff)
        if not losses:
            lines.append("The model beats every baseline at every cutoff and pooled.")
        bias = self.scores[self.scores["cutoff"].isna() & (self.scores["method"] == "model")]["bias_pp"]
        if not bias.empty:
            b = float(bias.iloc[0])
            direction = "under-forecasts (too slow)" if b < 0 else "over-forecasts (too fast)"
            lines.append(f"Model bias pooled: {b:+.1f} points — it {direction} on average.")
        horizon = self.by_horizon()
        worst = horizon["model"].idxmax()
        lines.append("Model MAE by horizon (years after the cutoff): " + ", ".join(
            f"h{int(h)} {horizon.at[h, 'model']:.1f}" for h in horizon.index) + f" (worst at h{int(worst)}).")
        split = self.meta.get("model_split")
        if split:
            lines.append(split)
        if self.has_bands:
            lines.append(self._coverage_text())
        return "\n".join(lines)

    def _coverage_text(self) -> str:
        """One sentence on the model band's coverage, pooled and per cutoff."""
        cov = self.coverage()
        pooled = cov.loc["pooled"]
        inside = round(float(pooled["coverage_pct"]) * int(pooled["n"]) / 100.0)
        per = ", ".join(f"{c} {cov.at[str(c), 'coverage_pct']:.0f} %" for c in self.cutoffs)
        draws = int(self.meta.get("draws") or 0)
        rough = f" From only {draws} draws the band's edges are rough (100 or more steady them)." if draws < 100 else ""
        if pooled["n"] < 10:
            verdict = "too few actuals to judge the band (a calibrated 5–95 % band holds about 90 %)"
        elif pooled["coverage_pct"] >= 80.0:
            verdict = "about what a calibrated band holds (90 %)"
        else:
            verdict = ("far below the 90 % a calibrated band holds: the scenario's uncertainty leaves out "
                       "what moved the market (the model is over-confident)")
        return (f"Model {BAND_LABEL} band over {self.meta.get('draws')} draws of the scenario's uncertainty "
                f"(median as the forecast): it holds {inside} of {int(pooled['n'])} actuals "
                f"({pooled['coverage_pct']:.0f} %; per cutoff {per}), mean width "
                f"{pooled['band_width_pp']:.1f} points, mean interval score {pooled['interval_score_pp']:.1f} "
                f"(width plus 20 × the distance to an actual outside; lower is better) — {verdict}.{rough}")

    def plot(self, *, title: str | None = None, columns: int | None = None) -> go.Figure:
        """One small panel per cutoff on a shared y axis: the model's forecast in the EV colour with its
        5–95 % band (with draws), the baselines as thin grey lines of distinct dashes, a dotted line at
        the cutoff, and the observed shares (black) drawn last, over everything.

        ``columns``: panels per row (default :data:`PANEL_COLUMNS`); ``columns=1`` is the phone
        layout, one panel per row with its own year labels (:data:`NARROW_PANEL_HEIGHT_PX` high).
        The legend names the actuals and each method once (a click hides that method in every panel).
        Colours are :mod:`nevsim.report.palette`'s: model = EV share, actuals = observed, baselines grey.
        """
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        from nevsim.report import palette

        if columns is not None:
            given = columns
            try:
                if isinstance(given, bool):
                    raise TypeError
                columns = operator.index(given)  # (any integer type: numpy's too)
            except TypeError:
                columns = 0
            if columns < 1:
                raise InputError("columns", f"must be a whole number ≥ 1, got {given!r}",
                                 allowed=["a whole number ≥ 1 (1: one panel a row, for a phone; 3: the default)"])
        cutoffs = self.cutoffs
        cols = min(PANEL_COLUMNS if columns is None else columns, len(cutoffs))
        rows = -(-len(cutoffs) // cols)
        narrow = cols == 1 and rows > 1
        panel_px = NARROW_PANEL_HEIGHT_PX if narrow else PANEL_HEIGHT_PX
        # one column: every panel keeps its year labels (the x ranges still match)
        fig = make_subplots(rows=rows, cols=cols, shared_yaxes="all", shared_xaxes=False if narrow else "all",
                            horizontal_spacing=0.03, vertical_spacing=(0.3 / rows if narrow else 0.12) if rows > 1
                            else 0.0, subplot_titles=[f"cutoff {c}" for c in cutoffs])
        first = min(cutoffs) - MIN_HISTORY_YEARS
        act = self.actuals[self.actuals.index >= first]
        model_colour = palette.POWERTRAIN["EV"]
        for k, cutoff in enumerate(cutoffs):
            where = {"row": k // cols + 1, "col": k % cols + 1}
            start = self.actuals.get(cutoff)
            lead_x = [cutoff] if start is not None else []
            lead_y = [float(start)] if start is not None else []
            if self.has_bands:  # the model's 5–95 % band under its line
                f = self.forecasts[(self.forecasts["cutoff"] == cutoff) & (self.forecasts["method"] == "model")]
                xs = lead_x + f["year"].tolist()
                lo, hi = lead_y + f["lower"].tolist(), lead_y + f["upper"].tolist()
                fig.add_trace(go.Scatter(  # mode "lines": plotly adds markers to a trace under 20 points
                    x=xs + xs[::-1], y=hi + lo[::-1], mode="lines", fill="toself",
                    fillcolor=palette.rgba(model_colour, 0.2), line={"width": 0},
                    name=f"model {BAND_LABEL} band", legendgroup="model band", showlegend=k == 0,
                    hoverinfo="skip"), **where)
            # baselines first (under the model), the model last of the forecasts
            for method in sorted(self.methods, key=lambda m: m == "model"):
                f = self.forecasts[(self.forecasts["cutoff"] == cutoff) & (self.forecasts["method"] == method)]
                model = method == "model"
                fig.add_trace(go.Scatter(
                    x=lead_x + f["year"].tolist(), y=lead_y + f["forecast"].tolist(),
                    mode="lines+markers" if model else "lines", name=method, legendgroup=method,
                    showlegend=k == 0,
                    line={"color": model_colour if model else palette.BASELINE, "width": 2.5 if model else 1.2,
                          "dash": "solid" if model else palette.BASELINE_DASHES.get(method, "dash")},
                    marker={"size": 5},
                    hovertemplate=f"%{{y:.1f}} %<extra>{method}, cutoff {cutoff}</extra>"), **where)
            fig.add_vline(x=cutoff, line_dash="dot", line_color=palette.RULE, line_width=1, **where)
            fig.add_trace(go.Scatter(x=act.index.tolist(), y=act.to_numpy().tolist(), mode="lines+markers",
                                     name="actual", legendgroup="actual", showlegend=k == 0,
                                     line={"color": palette.OBSERVED, "width": 2}, marker={"size": 5},
                                     hovertemplate="%{y:.1f} %<extra>actual</extra>"), **where)
        text = title or self._title()
        lines = text.count("<br>") + 1
        height = panel_px * rows + 140 + 20 * lines
        fig.update_layout(
            # from the top (plotly centred a title of several lines in the top margin: they ran into the
            # panel titles); plotly puts the first line's baseline at y, so y is 12 px + one line down
            title={"text": text, "x": 0.01, "y": 1 - (12 + 15) / height, "yref": "container", "yanchor": "top",
                   "font": {"size": 15}}, template=palette.TEMPLATE,
            height=height, margin={"l": 60, "r": 20, "t": 60 + 20 * lines, "b": 40},
            hovermode="x unified", hoverlabel={"namelength": -1},
            legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0.01,
                    "xanchor": "left"},
        )
        fig.update_yaxes(rangemode="tozero")
        for r in range(1, rows + 1):
            fig.update_yaxes(title_text="EV share (%)" if narrow else "EV share of new cars (%)", row=r, col=1)
        fig.update_xaxes(title_text="year", row=rows)
        fig.update_xaxes(nticks=6)
        if narrow:
            fig.update_xaxes(matches="x", tickangle=0)
        fig.update_annotations(font_size=13)  # the panel titles
        return fig

    def write_html(self, path: str | Path) -> Path:
        """:meth:`plot` as a self-contained page (plotly.js inlined) with the viewport tag for phones.

        A window narrower than :data:`NARROW_MAX_WIDTH_PX` (a phone) gets the one-column layout
        (``plot(columns=1)``), on opening and when it is resized across that width.
        """
        import plotly.io as pio

        from nevsim.report.palette import with_viewport

        wide, narrow = self.plot(), self.plot(columns=1)
        # (plotly puts the div's id in place of {plot_id}, by plain text replacement; the wide figure is
        # the page's own, taken from the drawn div, so its JSON is in the page once)
        script = ("var gd = document.getElementById('{plot_id}');"
                  "var figs = {wide: {data: gd.data, layout: JSON.parse(JSON.stringify(gd.layout))},"
                  f" narrow: {pio.to_json(narrow)}}};"
                  f"var query = window.matchMedia('(max-width: {NARROW_MAX_WIDTH_PX}px)');"
                  "function pick() { var f = query.matches ? figs.narrow : figs.wide;"
                  " Plotly.react(gd, f.data, f.layout); }"
                  "if (query.matches) { pick(); }"
                  "query.addEventListener('change', pick);")
        out = Path(path)
        out.write_text(with_viewport(wide.to_html(include_plotlyjs=True, full_html=True, post_script=script)),
                       encoding="utf-8")
        return out

    def _title(self) -> str:
        """:data:`TITLE_HEADLINE` and, in smaller lines below, ``<scenario> (China, CN)``, the cutoffs,
        the last year, the policy view and the band, each line at most :data:`SUBTITLE_LINE_CHARS`
        characters, so that the title fits a 390 px phone (:data:`TITLE_WIDTH_PX`)."""
        code = str(self.meta.get("region", ""))
        where = f"{REGION_CODES[code]}, {code}" if code in REGION_CODES else code
        scenario = self.meta.get("scenario")
        who = f"{scenario} ({where})" if scenario else f"baselines only ({where})"
        when = cutoff_text(self.cutoffs)
        view = f", policies {self.meta.get('policies', 'enacted')}" if "model" in self.methods else ""
        through = self.meta.get("through")
        upto = f" through {through}" if through is not None else ""
        draws = f", model median and {BAND_LABEL} band over {self.meta.get('draws')} draws" if self.has_bands else ""
        sub = wrap_title(f"{who}, forecasts from {when}{upto}{view}{draws}", SUBTITLE_LINE_CHARS).split("<br>")
        return TITLE_HEADLINE + "".join(f"<br><sup>{line}</sup>" for line in sub)

    def __repr__(self) -> str:
        mae = self.mae().round(1)
        return (f"BacktestResult(scenario={self.meta.get('scenario')!r}, region={self.meta.get('region')!r}, "
                f"cutoffs={self.cutoffs}, through={self.meta.get('through')})\nMAE (points):\n{mae.to_string()}")


def _num(value: object) -> float | None:
    if value is None:
        return None
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if not np.isfinite(out) else out


# ----------------------------------------------------------------------------- backtest


def _powertrain_actuals(region: str) -> pd.DataFrame:
    """Observed BEV and PHEV shares (percent) by year: EV share × BEV (PHEV) / (BEV + PHEV) sales (IEA)."""
    iea = data.load(_IEA, region=region)
    rows = iea[(iea["mode"] == "Cars") & (iea["parameter"] == "EV sales") & (iea["category"] == "Historical")]
    sales = rows.pivot_table(index="year", columns="powertrain", values="value", aggfunc="sum")
    if not {"BEV", "PHEV"} <= set(sales.columns):
        return pd.DataFrame()
    share = actual_shares(region)
    both = sales["BEV"] + sales["PHEV"]
    out = pd.DataFrame({"BEV": share * sales["BEV"] / both, "PHEV": share * sales["PHEV"] / both}).dropna()
    out.index = out.index.astype("int64")
    return out


def _model_split_note(split: pd.DataFrame) -> str | None:
    """One sentence on whether the model's miss lies in BEV or PHEV (pooled over forecasts)."""
    if split.empty:
        return None
    bev = float(split["bev_error"].mean())
    phev = float(split["phev_error"].mean())
    years = f"{int(split['year'].min())}–{int(split['year'].max())}"
    main = "PHEV" if abs(phev) > abs(bev) else "BEV"
    return (f"Where the model misses, by powertrain (mean error over forecasts of {years}, where the split is "
            f"observed): BEV {bev:+.1f}, PHEV {phev:+.1f} points — the larger miss is in {main}.")


def backtest(
    scenario: str | Any | None = None,
    region: str | None = None,
    cutoffs: Sequence[int] | int | str | None = None,
    through: int | None = None,
    *,
    methods: Sequence[str] | None = None,
    actuals: pd.Series | None = None,
    progress: Progress | None = None,
    policies: str = "enacted",
    draws: int | None = None,
    seed: int | None = None,
) -> BacktestResult:
    """Back-test the model and the baselines on China's (or another region's) EV share of new cars.

    Parameters
    ----------
    scenario:
        Scenario name, path or :class:`nevsim.scenario.Scenario`; its policies are the ones the
        model runs with at every cutoff (see ``docs/backtest.md`` on policy knowledge). Default:
        the region's default scenario (China's without a region).
    region:
        ``"CN"``, ``"US"`` or ``"EU"``. Default: the scenario's region. Given both, they must
        agree (:func:`resolve_scenario_region`).
    cutoffs:
        Cutoff years (default :data:`DEFAULT_CUTOFFS`): a list, one year, or a comma-separated
        string (:func:`parse_cutoffs`). Each must leave ≥ 5 observed years up to it and ≥ 1
        after it; none may repeat.
    through:
        Last forecast year (default: the last observed year, 2025 for China).
    methods:
        Subset of :data:`METHODS` (default all; ``"model"`` needs :mod:`nevsim.simulate`).
    actuals:
        Hook: a Series of observed shares (percent) by year that replaces the data-layer read,
        both for scoring and for fitting (the baselines then see only its years ≤ cutoff).
    progress:
        Optional ``progress(done, total)`` with ``total`` the number of cutoffs (``done`` may be
        fractional while a model run proceeds).
    policies:
        ``"enacted"`` (default): the scenario's policies as given (China's rules as enacted to
        the end of 2025) at every cutoff — a forecast conditional on the policies that happened.
        ``"as-known"``: each cutoff ``c`` runs with ``policy.known_at = c`` — the China rules
        issued by 31 December of ``c`` (``nevsim/policy/params/vintages.csv``); China only,
        cutoffs within :func:`nevsim.policy._tables.known_at_years`.
    draws, seed:
        Monte Carlo draws of the scenario's uncertainty per cutoff (1 to
        :data:`MAX_BACKTEST_DRAWS`; default the scenario's ``[uncertainty] draws``) and their
        seed. With more than one draw the model's forecast is the median over draws, and its
        :data:`BAND_QUANTILES` band is kept (``forecasts`` columns ``lower``/``upper``) and scored
        (``scores`` columns ``coverage_pct``, ``band_width_pp``; :meth:`BacktestResult.coverage`).
    """
    wanted = list(METHODS if methods is None else methods)
    bad = [m for m in wanted if m not in METHODS]
    if bad or not wanted:
        raise InputError("methods", f"unknown methods {bad}." if bad else "give at least one method.",
                         allowed=METHODS)
    wanted = [m for m in METHODS if m in wanted]
    if policies not in POLICY_VIEWS:
        raise InputError("policies", f"unknown policy view {policies!r}.", allowed=list(POLICY_VIEWS))
    draws, seed = check_draws_seed(draws, seed)
    spec, code = resolve_scenario_region(scenario, region)
    region_name = REGION_CODES[code]
    scen = _load_scenario(spec) if "model" in wanted else None
    if scen is not None:
        scen.check_draws(draws)
        scen.check_seed(seed, draws)
    elif seed is not None or (draws or 1) > 1:  # the baselines are deterministic: only the model draws
        raise InputError("seed" if seed is not None else "draws", "only the model's runs take Monte Carlo draws and "
                         "a seed; the baselines are deterministic.", allowed=["methods with 'model'", "unset"])
    scenario_name = getattr(scen, "name", None)
    injected = actuals is not None
    observed = _check_series(actuals) if injected else actual_shares(code)
    last = _check_through(through, observed)
    years_cut = _check_cutoffs(cutoffs, observed, through)
    known_at = _known_at_per_cutoff(policies, scen, code, years_cut)

    frames: list[pd.DataFrame] = []
    model_runs: dict[int, pd.DataFrame] = {}
    total = len(years_cut)
    if progress is not None:
        progress(0.0, total)
    for i, cutoff in enumerate(years_cut):
        # history for fitting: read with until=cutoff (or cut from the injected actuals)
        history = observed[observed.index <= cutoff] if injected else actual_shares(code, until=cutoff)
        forecast_years = observed.index[(observed.index > cutoff) & (observed.index <= last)].to_numpy()
        found: dict[str, np.ndarray] = {}
        bands: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if any(m != "model" for m in wanted):
            found.update({k: v for k, v in baseline_forecasts(history, forecast_years).items() if k in wanted})
        if "model" in wanted:
            inner = None
            if progress is not None:
                def inner(done: int, steps: int, _i: int = i) -> None:
                    progress(_i + (done / steps if steps else 1.0), total)
            shares = model_shares(_with_known_at(scen, known_at[cutoff]), cutoff, progress=inner,
                                  draws=draws, seed=seed)
            found["model"] = _pick(shares, forecast_years)
            bands["model"] = (_pick(shares, forecast_years, "EV_lower"), _pick(shares, forecast_years, "EV_upper"))
            model_runs[cutoff] = shares
        actual = observed.loc[forecast_years].to_numpy(dtype=float)
        no_band = np.full(len(forecast_years), np.nan)
        for method in wanted:
            lower, upper = bands.get(method, (no_band, no_band))
            frames.append(pd.DataFrame({
                "cutoff": cutoff, "year": forecast_years.astype("int64"),
                "horizon": (forecast_years - cutoff).astype("int64"), "method": method,
                "forecast": found[method], "actual": actual, "error": found[method] - actual,
                "lower": lower, "upper": upper}))
        if progress is not None:
            progress(float(i + 1), total)
    forecasts = pd.concat(frames, ignore_index=True)
    forecasts["cutoff"] = forecasts["cutoff"].astype("int64")
    forecasts.attrs["unit"] = "percent (forecast, actual); percentage points (error)"
    meta: dict[str, Any] = {
        "scenario": scenario_name,
        "scenario_hash": getattr(scen, "hash", None),
        "region": code, "variable": SHARE_VARIABLE, "through": last, "cutoffs": years_cut, "methods": wanted,
        "actuals": "injected" if injected else f"{_IEA} (Historical, Cars, EV sales share) + {_OWID} after",
        "logit_trend_years": LOGIT_TREND_YEARS, "min_history_years": MIN_HISTORY_YEARS,
        "policies": policies, "known_at": known_at if "model" in wanted else {},
        "draws": int(scen.uncertainty.draws if draws is None else draws) if scen is not None else None,
        "seed": int(scen.uncertainty.seed if seed is None else seed) if scen is not None else None,
    }
    if "model" in wanted and not injected:
        meta["model_split"] = _model_split_note(_split_errors(model_runs, last, region_name))
    return BacktestResult(forecasts=forecasts, scores=score_frame(forecasts), actuals=observed, meta=meta)


def _split_errors(model_runs: Mapping[int, pd.DataFrame], through: int, region_name: str) -> pd.DataFrame:
    """Model BEV and PHEV share errors (points) for forecast years where the split is observed."""
    observed = _powertrain_actuals(region_name)
    if observed.empty:
        return pd.DataFrame()
    rows = []
    for cutoff, shares in model_runs.items():
        for year in observed.index:
            if cutoff < year <= through and year in shares.index:
                rows.append({"cutoff": cutoff, "year": int(year),
                             "bev_error": float(shares.at[year, "BEV"] - observed.at[year, "BEV"]),
                             "phev_error": float(shares.at[year, "PHEV"] - observed.at[year, "PHEV"])})
    return pd.DataFrame(rows).dropna() if rows else pd.DataFrame()


def _known_at_per_cutoff(policies: str, scen: Any, region: str, cutoffs: Sequence[int]) -> dict[int, int | None]:
    """``policy.known_at`` of the model run at each cutoff: the scenario's own (enacted) or the cutoff."""
    if policies == "enacted" or scen is None:
        own = getattr(getattr(scen, "policy", None), "known_at", None)
        if own is not None:  # the run would not be the enacted view its label says
            raise InputError("policies", f"the scenario sets policy.known_at = {own}, which is not the enacted "
                             "view; back-test it with policies='as-known' (each cutoff's own rules) or unset "
                             "policy.known_at.", allowed=["as-known", "a scenario without policy.known_at"])
        return {int(c): None for c in cutoffs}
    from nevsim.policy._tables import KNOWN_AT_REGIONS, known_at_years

    if region not in KNOWN_AT_REGIONS:
        raise InputError("policies", f"'as-known' needs a vintage table of the rules; only China (CN) has one, "
                         f"not {region}.", allowed=["enacted"])

    first, last = known_at_years()
    outside = [int(c) for c in cutoffs if not first <= int(c) <= last]
    if outside:
        raise InputError("cutoffs", f"with --policies as-known every cutoff must be a year the vintage table "
                         f"encodes; {outside} is not.", allowed=[f"{first}–{last}"])
    return {int(c): int(c) for c in cutoffs}


def _with_known_at(scen: Any, known_at: int | None) -> Any:
    """The scenario with ``policy.known_at`` set (the same object when it already has that value)."""
    if scen.policy.known_at == known_at:
        return scen
    policy = scen.policy.model_copy(update={"known_at": known_at})
    try:  # (an extension of a scheme the cutoff did not know: the run would refuse it, less clearly)
        policy.check_extensions()
    except InputError as err:
        raise InputError(err.field, f"{err.message} (policies='as-known' runs cutoff {known_at} with "
                                    f"policy.known_at = {known_at})", err.allowed) from None
    return scen.model_copy(update={"policy": policy})


def _load_scenario(scenario: object) -> Any:
    try:
        from nevsim.scenario import load_scenario
    except ImportError as exc:
        raise ModelUnavailableError(f"the simulation is not available (nevsim.scenario: {exc})") from exc
    if isinstance(scenario, str):
        return load_scenario(scenario)
    if hasattr(scenario, "resolved") and hasattr(scenario, "name"):
        return scenario
    raise InputError("scenario", f"must be a scenario name, path or Scenario, got {type(scenario).__name__}.")


__all__ = [
    "BAND_QUANTILES",
    "DEFAULT_CUTOFFS",
    "DEFAULT_SCENARIO",
    "MAX_BACKTEST_DRAWS",
    "METHODS",
    "MIN_HISTORY_YEARS",
    "POLICY_VIEWS",
    "REGION_CODES",
    "SHARE_VARIABLE",
    "BacktestResult",
    "ModelUnavailableError",
    "actual_shares",
    "allowed_cutoffs",
    "backtest",
    "baseline_forecasts",
    "check_draws_seed",
    "cutoff_colours",
    "cutoff_text",
    "model_forecast",
    "model_shares",
    "parse_cutoffs",
    "resolve_scenario_region",
    "score_frame",
]
