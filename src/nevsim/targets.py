"""Targets check: each target of a region against the model series that counts the same thing.

Targets are data (``nevsim.data.load("targets")``: value, year, metric, document, issuer,
binding, source keys). The check compares like with like:

- China's official NEV shares (20 % in 2025; the draft plan's 25 %) and the China-SAE
  roadmap's 40 % (2030) / > 50 % (2035) count NEVs among **all new vehicles** as CAAM counts
  them (wholesale, commercial vehicles and exports included). The model's headline is the EV
  share of new **cars** sold in China (IEA basis). They are compared with
  ``Sales Share|All Vehicles|NEV (CAAM basis)``, an estimate built by :func:`caam_ratio` /
  :func:`add_caam_share` (below).
- The roadmap's 95 % BEV share of NEVs (2035) is compared with BEV / (BEV + PHEV) car sales.
- The 2020 volume target (2 M NEVs produced and sold, all vehicle types) is compared with
  ``Production|Cars|EV`` — cars only, so a lower bound of the CAAM count.
- "NEV share of new car sales" (45 % by 2027, reported only by secondary sources) is compared
  with the model's EV share of new cars.
- US: the federal 50 % ZEV goal (2030, non-binding) counts BEV, PHEV and FCEV among new light-
  duty vehicles: compared with ``Sales Share|Cars|EV``. Executive Order 14037, which set it, was
  revoked on 2025-01-20 (fact table column ``withdrawn``): the row is kept as a reference and its
  label says ``(withdrawn 2025)``. California ACC II applies to California and adopting states
  only: compared with ``Sales Share|Cars|EV|ZEV Area`` in runs that model the standard
  (``us-2024-rules``); runs without it (``us-current-policies``: not enforceable under Public Law
  119-16) leave these rows out unless ``check(res, all_jurisdictions=True)``, which compares them
  with the national share.

- A region defined in a scenario file (``[region]`` table, :mod:`nevsim.regionspec`) adds its
  own ``targets`` rows and, with ``targets_from_facts``, the fact table's rows of its
  ``iea_name``. Targets in g CO2/km (EU) are compared with ``Emissions|CO2|New Cars`` (the
  sales-weighted test-cycle CO2 of new cars, WLTC-like in every year) when the run has it;
  ``EU 0 g/km in 2035`` is the 100 % zero-emission new-car target. The 2020–24 target (95 g/km)
  is on NEDC. The EEA's equivalent (115.1 g/km WLTP) is for the 2021–24 assessment, and 2020 was
  assessed with a phase-in and super-credits that a fleet average leaves out. The EU standard's own
  ``fuel ÷ 1.1`` is an unverified assumption (U). So that row's label says ``(NEDC: not comparable)``,
  with no projected value, gap or met. The 2035 proposal (a 90 % cut from the 2021 baseline, percent) is
  compared with the derived cut ``100 × (1 − Emissions|CO2|New Cars ÷ 110.1)``
  (:data:`EU_2021_BASELINE_G_PER_KM`), labelled as a proposal.

Targets of other regions do not apply to a run and are left out.

Columns of :func:`check`: ``region, region_code, name, label, source, source_key, issuer, binding,
status, metric, year, unit, target_value, qualifier, projected_value, gap, met, first_year_met,
compared_with, compared_variable, note, withdrawn`` (+ ``probability_met`` when the run has draws).
``name`` is the target's name in the fact table (or the scenario file): stable, the key to look a
target up by. ``label`` is what every view prints: the name with the target's status appended
(``ZEV share 2030 (withdrawn 2025)``, ``EU car CO2 2020 (NEDC: not comparable)``); the name itself
when the target has no status. ``region_code`` is the run's code of the region (``US``; a
scenario-defined region: its ``code``).
``compared_variable`` is the series variable compared, or a quantity derived from series, whose
label starts with ``derived:`` (:data:`BEV_OF_EV`, :data:`CO2_CUT_VS_2021`); None when the target
is not modelled or not comparable. ``withdrawn`` is the year a target was revoked (else missing;
also missing when the run's ``data_cutoff`` is before that year). ``gap = projected − target`` in
the target's unit (for a ceiling such as g CO2/km, a positive gap is an overshoot);
``first_year_met`` is the first year (history or projection) from the year the target was
announced on whose value meets the target (a target cannot be met before it is set: China's
early NEV sales were almost all BEVs, which would otherwise "meet" a 2035 95 % BEV share in 2012).
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from nevsim.results import Results

CAAM_SHARE_VARIABLE = "Sales Share|All Vehicles|NEV"
CAAM_SHARE_LABEL = "Sales Share|All Vehicles|NEV (CAAM basis)"
#: china_market variable holding CAAM's NEV share of all new vehicles (percent).
CAAM_SHARE_FACT = "NEV share of new vehicle sales (CAAM)"
#: How many of the latest overlap years the held ratio averages.
RATIO_YEARS = 3

CHECK_COLUMNS = [
    "region", "region_code", "name", "label", "source", "source_key", "issuer", "binding", "status", "metric", "year", "unit",
    "target_value", "qualifier", "projected_value", "gap", "met", "first_year_met", "compared_with", "compared_variable", "note",
    "withdrawn",
]
#: ``compared_variable`` of the BEV share of EV car sales (percent): derived from two series, not a series.
BEV_OF_EV = "derived: Sales|Cars|BEV ÷ (Sales|Cars|BEV + Sales|Cars|PHEV) × 100"
#: EU fleet-wide CO2 target of 2021 on WLTP (g/km), the baseline of the 2025, 2030 and 2035 cuts.
#: D: Regulation (EU) 2019/631 sets 2025 = baseline × 0.85 and 2030 = baseline × 0.45; the fact
#: table's 93.6 and 49.5 g/km give 93.6 / 0.85 = 110.1 and 49.5 / 0.45 = 110.0.
EU_2021_BASELINE_G_PER_KM = 110.1
#: ``compared_variable`` of a CO2 cut from the EU 2021 baseline (percent): derived, not a series.
CO2_CUT_VS_2021 = f"derived: 100 × (1 − Emissions|CO2|New Cars ÷ {EU_2021_BASELINE_G_PER_KM})"


# ---------------------------------------------------------------------------- CAAM-basis share


def caam_ratio(until: int | None = None) -> pd.DataFrame:
    """Observed ratio of CAAM's NEV share of all new vehicles to the IEA EV share of new cars (China).

    ``ratio(y) = CAAM NEV share of new vehicles (y) / IEA EV share of new cars (y)`` for every
    year both are observed up to ``until``; see :func:`_caam_ratio_rows` for the sources (the
    computation is cached per ``until``: the bundled data do not change within a process).
    Returns columns ``year, caam_share_pct, car_share_pct, ratio, source_key``.
    """
    data_dir = os.environ.get("NEVSIM_DATA_DIR")  # part of the cache key: where nevsim.data reads IEA files
    return pd.DataFrame(list(_caam_ratio_rows(until, data_dir)),
                        columns=["year", "caam_share_pct", "car_share_pct", "ratio", "source_key"])


@functools.lru_cache(maxsize=32)
def _caam_ratio_rows(until: int | None, data_dir: str | None) -> tuple[tuple[Any, ...], ...]:
    """Rows of :func:`caam_ratio`. Sources: CAAM shares from
    ``nevsim.data.load("china_market")`` (variable ``NEV share of new vehicle sales (CAAM)``,
    with its ``source_key``); car shares from ``nevsim.data.history("China")`` (IEA Global EV
    Outlook 2025 Historical, CC BY 4.0; OWID for years after the IEA's last). Observed values:
    2023 31.6 / 38 = 0.83, 2024 40.9 / 48 = 0.85, 2025 47.9 / 53 = 0.90.

    Returns rows ``(year, caam_share_pct, car_share_pct, ratio, source_key)``.
    """
    from nevsim import data

    market = data.load("china_market", until=until)
    caam = market[(market["variable"] == CAAM_SHARE_FACT) & (market["region"] == "China")]
    if "date" in caam.columns:  # annual values only (monthly rows carry a date)
        caam = caam[caam["date"].isna() | (caam["date"].astype(str).str.strip() == "")]
    caam = caam.groupby("year", as_index=False).agg(caam_share_pct=("value", "mean"),
                                                   source_key=("source_key", "first"))
    hist = data.history("China", until=until, data_dir=data_dir)
    cars = (hist[hist["variable"] == "EV sales share"].groupby("year", as_index=False)["value"].mean()
            .rename(columns={"value": "car_share_pct"}))
    out = caam.merge(cars, on="year", how="inner")
    out = out[(out["car_share_pct"] > 0) & (out["caam_share_pct"] > 0)]
    out["ratio"] = out["caam_share_pct"] / out["car_share_pct"]
    cols = out[["year", "caam_share_pct", "car_share_pct", "ratio", "source_key"]]
    return tuple((int(y), float(c), float(i), float(r), str(k)) for y, c, i, r, k in cols.itertuples(index=False))


def caam_ratio_path(years: np.ndarray, ratios: pd.DataFrame) -> np.ndarray:
    """Ratio CAAM / IEA-car share for each of ``years``.

    Observed years use their own ratio; gaps between observed years are interpolated linearly;
    years before the first observation hold the first ratio; years after the last hold the
    mean of the last :data:`RATIO_YEARS` observed ratios (the projection assumes the mix of
    commercial vehicles and exports in CAAM's count stays as in the latest years).
    """
    years = np.asarray(years, dtype=float)
    if ratios.empty:
        return np.full(years.shape, np.nan)
    obs_y = ratios["year"].to_numpy(dtype=float)
    obs_r = ratios["ratio"].to_numpy(dtype=float)
    held = float(obs_r[-RATIO_YEARS:].mean())
    path = np.interp(years, obs_y, obs_r)
    return np.where(years > obs_y[-1], held, path)


def add_caam_share(series: pd.DataFrame, meta: dict[str, Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Add ``Sales Share|All Vehicles|NEV`` (percent, CAAM basis) to a China run's series.

    ``share_all_vehicles(y) = min(100, share_cars(y) × ratio(y))`` with ``ratio`` from
    :func:`caam_ratio_path` (data up to the run's ``meta["data_cutoff"]`` only, so back-tests do
    not see later years). It is an estimate: CAAM counts wholesale NEVs of all types including
    commercial vehicles and exports; the model counts domestic new cars. Returns the series
    (unchanged when the run is not China, has no car share, or already holds the variable) and
    a dict describing the derivation (for ``meta["derived"]``).
    """
    from nevsim.results import region_name

    if (series["variable"] == CAAM_SHARE_VARIABLE).any():
        return series, {}
    car = series[series["variable"] == "Sales Share|Cars|EV"]
    car = car[car["region"].map(region_name) == "China"]
    if car.empty:
        return series, {}
    ratios = caam_ratio(until=meta.get("data_cutoff"))
    if ratios.empty:
        return series, {}
    ratio = caam_ratio_path(car["year"].to_numpy(), ratios)
    est = car.assign(variable=CAAM_SHARE_VARIABLE, unit=car["unit"].iloc[0],
                     value=np.minimum(100.0, car["value"].to_numpy() * ratio))
    for col in ("variable", "unit"):  # categorical labels stay categorical (no new text column of every row)
        dtype = series[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            extra = pd.Index(est[col].dropna().unique()).difference(dtype.categories)  # (a missing label stays missing)
            if len(extra):
                dtype = pd.CategoricalDtype(dtype.categories.append(extra), ordered=dtype.ordered)
                series = series.assign(**{col: series[col].cat.add_categories(list(extra))})  # codes kept
            est[col] = est[col].astype(dtype)
    out = pd.concat([series, est], ignore_index=True)
    last = ratios.tail(RATIO_YEARS)
    derived = {CAAM_SHARE_VARIABLE: {
        "method": "Sales Share|Cars|EV × ratio(year), capped at 100; ratio = CAAM NEV share of all new "
                  "vehicles / IEA EV share of new cars: observed ratio in observed years (interpolated "
                  f"between), mean of the last {RATIO_YEARS} observed ratios after.",
        "held_ratio": float(last["ratio"].mean()),
        "observed_ratios": {str(int(y)): round(float(r), 4) for y, r in zip(ratios["year"], ratios["ratio"],
                                                                        strict=True)},
        "sources": ["nevsim.data china_market: " + "; ".join(sorted(set(";".join(last["source_key"])
                                                                          .split(";")))),
                    "IEA (2025) Global EV Outlook 2025 (Historical), CC BY 4.0; OWID for 2025, CC BY 4.0"],
    }}
    return out, derived


# ---------------------------------------------------------------------------- matching


def _comparison(metric: str, unit: str, region: str) -> tuple[str | None, str, str]:
    """(series key, compared_with text, note) for a target metric.

    The series key is a series variable or :data:`BEV_OF_EV` (BEV / (BEV + PHEV) car sales).
    None means: not modelled by this run (the text says why).
    """
    m = metric.lower()
    u = unit.lower()
    if "g co2/km" in u or "co2" in m:  # check() compares them where the run has Emissions|CO2|New Cars
        return None, "not modelled: this run has no new-car CO2 series (Emissions|CO2|New Cars)", ""
    if "california" in m or "by model year" in m:
        return None, "not modelled: applies to California and adopting states only, not the national fleet", ""
    if "bev share of nev" in m:
        return (BEV_OF_EV, "derived BEV share of EV car sales: Sales|Cars|BEV / (Sales|Cars|BEV + Sales|Cars|PHEV) "
                "× 100 (cars; not a stored series)",
                "The roadmap counts all NEV types; the model counts cars (FCEVs not modelled).")
    if u.startswith("vehicles"):
        return ("Production|Cars|EV", "Production|Cars|EV (cars only: a lower bound of the all-vehicle count)",
                "CAAM counts NEVs of all types (buses, trucks, vans); the model counts cars.")
    if "zev" in m and region == "USA":
        return ("Sales Share|Cars|EV", "Sales Share|Cars|EV (BEV + PHEV; FCEVs not modelled)", "")
    if "new car" in m:
        return ("Sales Share|Cars|EV", "Sales Share|Cars|EV (IEA basis: new cars)",
                "Metric as reported by secondary sources (cars vs all vehicles not verified).")
    if "nev share" in m or "new vehicle" in m:
        return (CAAM_SHARE_VARIABLE, CAAM_SHARE_LABEL + ": model EV share of new cars × observed CAAM/IEA "
                "ratio (see meta['derived'])", "")
    return None, f"not modelled: no model series counts {metric!r}", ""


def _series_by_year(res: Results, region: str, key: str) -> pd.DataFrame:
    """Long ``year, value (, draw)`` of a comparison series."""
    if key == CO2_CUT_VS_2021:
        co2 = _series_by_year(res, region, NEW_CAR_CO2)
        return co2.assign(value=100.0 * (1.0 - co2["value"] / EU_2021_BASELINE_G_PER_KM))
    if key == BEV_OF_EV:
        cols = ["year", "draw"] if "draw" in res.series.columns else ["year"]
        bev = res._rows("series", region=region, variables=["Sales|Cars|BEV"]).set_index(cols)["value"]
        phev = res._rows("series", region=region, variables=["Sales|Cars|PHEV"]).set_index(cols)["value"]
        if bev.empty or phev.empty:
            return pd.DataFrame(columns=[*cols, "value"])
        total = bev + phev
        value = (100.0 * bev / total.where(total > 0)).rename("value")
        return value.reset_index()
    keep = ["year", "value"] + (["draw"] if "draw" in res.series.columns else [])
    return res._rows("series", region=region, variables=[key])[keep]


def _meets(values: np.ndarray, target: float, qualifier: str, ceiling: bool) -> np.ndarray:
    """Whether values meet the target; ties within 1e-6 (target unit) count as met, since a
    cleared standard meets its requirement up to the solver's tolerance."""
    tie = 1e-6
    with np.errstate(invalid="ignore"):
        if ceiling:
            return values <= target + tie
        if qualifier == "more_than":
            return values > target
        return values >= target - tie


# ---------------------------------------------------------------------------- check

#: Series of the new cars' sales-weighted test-cycle CO2 (regions other than China).
NEW_CAR_CO2 = "Emissions|CO2|New Cars"
NEW_CAR_CO2_LABEL = NEW_CAR_CO2 + ": sales-weighted test-cycle CO2 of new cars (WLTC-like, as the WLTP targets)"
#: compared_with of a target on the NEDC test cycle (EU 2020–24): not comparable with the WLTC-like series.
NEDC_LABEL = ("not comparable: the target is on the NEDC test cycle and " + NEW_CAR_CO2 + " on a WLTC-like "
              "one. The EEA puts 95 g/km NEDC at 115.1 g/km on WLTP (a factor of 1.21), but 2020 was assessed "
              "on NEDC with a phase-in (the best 95 % of each fleet) and super-credits that a fleet average "
              "leaves out. The EU standard in the model converts with fuel ÷ 1.1 (U; docs/regions.md, known "
              "limits). No projected value, gap or met is given")
CO2_CUT_LABEL = (CO2_CUT_VS_2021 + ": cut of the sales-weighted test-cycle CO2 of new cars from the EU 2021 "
                 "fleet-wide target on WLTP (110.1 g/km = 93.6 / 0.85, derived from Regulation (EU) 2019/631)")


#: EV share of new cars where a partial-coverage ZEV standard applies (US: ACC II adopting states).
ZEV_AREA_SHARE = "Sales Share|Cars|EV|ZEV Area"
ZEV_AREA_LABEL = (ZEV_AREA_SHARE + ": EV share of new cars in the ACC II adopting states (the covered area of "
                  "the region's ZEV standard, same buyers as the rest of the country)")


def _spec_target(t: dict[str, Any]) -> Any:
    """A ``[[region.targets]]`` row in the fact table's shape."""
    from types import SimpleNamespace

    return SimpleNamespace(
        name=t["name"], document=t["source"], issuer="scenario file", metric=t.get("metric", "EV share of new cars"),
        year=t["year"], value=t["value"], qualifier=t.get("qualifier", "exact"), unit=t.get("unit", "percent"),
        binding=t.get("binding", False), announced=t.get("announced", 2000), source_key=t["source"],
        status=t.get("status", "U"), note=t.get("note", ""), withdrawn=t.get("withdrawn"),
    )


def _withdrawn_by(t: Any, cutoff: Any) -> int | None:
    """Year target ``t`` was withdrawn, if the run's data cutoff (None: today) knows it; else None."""
    year = getattr(t, "withdrawn", None)
    if year is None or pd.isna(year):
        return None
    return int(year) if cutoff is None or int(cutoff) >= int(year) else None


def check(res: Results, *, all_jurisdictions: bool = False) -> pd.DataFrame:
    """The targets check of a run: one row per target of the run's regions (see module docs;
    :meth:`nevsim.results.Results.targets` calls it).

    Targets of a narrower jurisdiction than the region (California ACC II: California and the
    adopting states) are compared with the covered area's share where the run models their
    standard. In a run that does not (``us-current-policies``), they are left out — a state rule
    the scenario does not enforce, measured on the national share, would crowd the region's
    headline targets — and named (their ``name``) in ``attrs["left_out"]``; ``all_jurisdictions=True`` keeps them,
    compared with the national share (the adopting states' buyers are the nation's buyers).
    """
    from nevsim import data

    table = data.load("targets")
    draws = res.n_draws > 1
    cutoff = (res.meta or {}).get("data_cutoff")
    rows: list[dict[str, Any]] = []
    left_out: list[str] = []
    spec = res.scenario.get("region_spec") if isinstance(res.scenario, dict) else None
    for reg in res.regions:
        name = res.region_label(reg)
        own = spec is not None and spec.get("code") == reg
        facts = table[table["region"] == name]  # (a scenario-defined region: its iea_name)
        if own and not spec.get("targets_from_facts", True):
            facts = facts.iloc[0:0]
        have = res.labels(region=reg)
        for t in [*facts.itertuples(index=False), *(_spec_target(x) for x in (spec.get("targets", []) if own else []))]:
            key, compared_with, note = _comparison(str(t.metric), str(t.unit), name)
            ceiling = "g co2/km" in str(t.unit).lower()
            metric_l = str(t.metric).lower()
            target_name = str(t.name)
            label = target_name  # (+ the status: what views print)
            if ceiling and NEW_CAR_CO2 in have and "reduction" not in metric_l:
                key, compared_with = NEW_CAR_CO2, NEW_CAR_CO2_LABEL
                if "nedc" in metric_l:  # another test cycle than the series: no gap or met on a mixed basis
                    key, compared_with, label = None, NEDC_LABEL, f"{label} (NEDC: not comparable)"
            if (NEW_CAR_CO2 in have and "reduction" in metric_l and "2021 baseline" in metric_l
                    and str(t.unit).lower() == "percent"):
                key, compared_with = CO2_CUT_VS_2021, CO2_CUT_LABEL
            if key is None and ("california" in metric_l or "by model year" in metric_l):
                if ZEV_AREA_SHARE in have:
                    key, compared_with = ZEV_AREA_SHARE, ZEV_AREA_LABEL
                    note = "PHEVs count fully here; ACC II limits them to 20 % of the requirement."
                elif not all_jurisdictions:  # a state standard this run does not model: not a headline target
                    left_out.append(target_name)
                    continue
                else:  # no ZEV mandate in this run: the adopting states' buyers are the nation's buyers
                    key = "Sales Share|Cars|EV"
                    compared_with = key + ": EV share of new cars (no ZEV mandate in this run, so the adopting states' share is the national one)"
                    note = "The run has no ACC II standard; PHEVs count fully here."
            withdrawn = _withdrawn_by(t, cutoff)
            if withdrawn is not None:
                label = f"{label} (withdrawn {withdrawn})"
                note = " ".join(x for x in (f"Withdrawn in {withdrawn}: kept as a reference, not a target in force.",
                                            note) if x)
            row: dict[str, Any] = {
                "region": name, "region_code": reg, "name": target_name, "label": label, "source": f"{t.document} ({t.issuer})", "source_key": t.source_key,
                "issuer": t.issuer, "binding": bool(t.binding), "status": t.status, "metric": t.metric,
                "year": int(t.year), "unit": t.unit, "target_value": float(t.value), "qualifier": t.qualifier,
                "projected_value": np.nan, "gap": np.nan, "met": None, "first_year_met": None,
                "compared_with": compared_with, "compared_variable": key,
                "note": " ".join(x for x in (note, str(t.note) if isinstance(t.note, str) else "") if x),
                "withdrawn": withdrawn,
            }
            if draws:
                row["probability_met"] = np.nan
            series = _series_by_year(res, reg, key) if key else pd.DataFrame()
            if key and not series.empty:
                by_year = series.groupby("year")["value"].median().sort_index()
                if int(t.year) in by_year.index:
                    v = float(by_year.loc[int(t.year)])
                    row["projected_value"] = v
                    row["gap"] = v - float(t.value)
                    if np.isfinite(v):
                        row["met"] = bool(_meets(np.array([v]), float(t.value), str(t.qualifier), ceiling)[0])
                    if draws:
                        vals = series.loc[series["year"] == int(t.year), "value"].to_numpy(dtype=float)
                        row["probability_met"] = float(_meets(vals, float(t.value), str(t.qualifier),
                                                              ceiling).mean())
                else:
                    row["note"] = (row["note"] + f" Year {t.year} is outside the run "
                                   f"({by_year.index.min()}–{by_year.index.max()}).").strip()
                since = by_year[by_year.index >= int(t.announced)]
                ok = _meets(since.to_numpy(dtype=float), float(t.value), str(t.qualifier), ceiling)
                if ok.any():
                    row["first_year_met"] = int(since.index[np.argmax(ok)])
            rows.append(row)
    columns = CHECK_COLUMNS + (["probability_met"] if draws else [])
    out = pd.DataFrame(rows, columns=columns)
    out["first_year_met"] = out["first_year_met"].astype("Int64")
    out["withdrawn"] = out["withdrawn"].astype("Int64")
    out["met"] = out["met"].astype("boolean")
    out.attrs["note"] = ("gap = projected − target (target unit); first_year_met = first model year meeting "
                         "the target value (from the year it was announced); compared_with names the series used.")
    out.attrs["left_out"] = left_out
    if left_out:
        out.attrs["note"] += " " + left_out_text(left_out)
    return out


def left_out_text(names: list[str]) -> str:
    """The sentence every view prints under a targets check that leaves targets out
    (``attrs["left_out"]``: a state standard the run does not model, e.g. ACC II in
    ``us-current-policies``); empty when none is."""
    if not names:
        return ""
    span = names[0] if len(names) == 1 else f"{names[0]} to {names[-1]}"
    return (f"{len(names)} targets of a state standard this run does not model are left out ({span}); "
            "nevsim.targets.check(res, all_jurisdictions=True) lists them against the national share.")
