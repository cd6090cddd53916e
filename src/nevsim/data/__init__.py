"""Bundled real data with provenance: IEA Global EV Outlook, OWID, and nevsim's fact tables.

Quick use::

    from nevsim import data
    data.catalog()                                     # every dataset: source, licence, rows, years
    data.load("iea_gevo_2025", region="China", until=2020)
    data.load("targets", region="CN")                  # aliases: CN → China, US → USA, EU → EU27
    data.history("China")                              # tidy EV history: share, sales, stock, chargers

Datasets (``load(name)``):

============================== ============================================================
``iea_gevo_2025``              IEA Global EV Outlook 2025 data explorer (CC BY 4.0)
``iea_gevo_2024``              IEA Global EV Outlook 2024 data explorer (CC BY 4.0)
``owid_electric_car_sales_share`` OWID share of new cars that are electric, to 2025 (CC BY 4.0)
``owid_electric_car_sales``    OWID electric cars sold, to 2025 (CC BY 4.0)
``targets``                    targets (China, US, EU): metric, binding, announced, source
``china_market``               China market facts (CAAM, exports, chargers, makers)
``battery_prices``             BNEF battery pack prices with their dollar year
``china_ev_segments``          China's BEV / plug-in sales by size class (A00, A0, …) by year
``car_stock``                  observed car stocks (FHWA, ACEA/Eurostat, MPS/NBS, IEA-implied) by year
``sources``                    source_key → citation and URL for the fact tables
============================== ============================================================

The ``until`` contract (back-tests rely on it): ``load(name, until=Y)`` never returns a row
whose cutoff column is after ``Y``. The cutoff column is ``year`` (the year a value refers to)
for every table except ``targets``, where it is ``announced`` (the year the document was
issued), so a back-test with data to 2019 does not see a target set in 2020. ``until`` also
keeps observations only: the IEA's projection rows (``category`` ``Projection-STEPS`` or
``Projection-APS``, :data:`PROJECTION_CATEGORIES`) are dropped whatever their year, since a
2020 STEPS row is a scenario value, not what was observed in 2020 (the STEPS rows repeat
2020–2024). Without ``until`` every row is returned. ``until`` cuts by the year a value
refers to, not by publication date: an edition published after ``Y`` still carries its
(possibly revised) values for years up to ``Y``. ``sources`` has no year and is returned whole.

Bundled files are checked against the SHA-256 in ``files/provenance.toml`` before they are
read; a modified file raises :class:`nevsim.errors.DataIntegrityError`. To read the files from
another folder (a copy), pass ``data_dir=`` or set ``NEVSIM_DATA_DIR``; the expected checksums
always come from the installed package.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from nevsim.data._regions import ALIASES, OWID_TO_IEA, resolve_region
from nevsim.data._registry import (
    DATA_DIR_ENV,
    FACTS_DIR,
    FILES_DIR,
    DatasetInfo,
    dataset_names,
    registry,
    resolve_data_dir,
    schema,
)
from nevsim.data._tables import parsed, round_significant
from nevsim.errors import InputError

__all__ = [
    "ALIASES",
    "DATA_DIR_ENV",
    "FACTS_DIR",
    "FILES_DIR",
    "HISTORY_VARIABLES",
    "OWID_TO_IEA",
    "PROJECTION_CATEGORIES",
    "DatasetInfo",
    "catalog",
    "cutoff_column",
    "dataset_names",
    "history",
    "info",
    "load",
    "regions",
    "resolve_region",
    "round_significant",
    "schema",
]

#: Variables of :func:`history`, in display order, with their units.
HISTORY_VARIABLES: dict[str, str] = {
    "EV sales share": "percent",
    "BEV sales": "vehicles",
    "PHEV sales": "vehicles",
    "EV stock": "vehicles",
    "Public chargers": "charging points",
}

#: ``category`` values of the IEA datasets that are scenario projections, not observations
#: (schema.csv, table ``iea``): ``load(..., until=Y)`` drops these rows.
PROJECTION_CATEGORIES: tuple[str, ...] = ("Projection-STEPS", "Projection-APS")

_HISTORY_EDITION = "iea_gevo_2025"
_HISTORY_OWID = "owid_electric_car_sales_share"


def _check_name(name: object) -> str:
    names = dataset_names()
    if not isinstance(name, str) or name not in names:
        raise InputError("dataset", f"unknown dataset {name!r}.", allowed=names)
    return name


def _check_until(until: object) -> int | None:
    if until is None:
        return None
    if isinstance(until, bool) or not hasattr(until, "__index__"):
        raise InputError("until", f"must be a whole year such as 2020, got {until!r}.")
    return int(until)  # type: ignore[call-overload]


def info(name: str) -> DatasetInfo:
    """The provenance record of dataset or fact table ``name``."""
    return registry()[_check_name(name)]


def cutoff_column(name: str) -> str | None:
    """Column that ``until`` filters on: ``announced`` for targets, ``year`` otherwise (None for sources)."""
    _check_name(name)
    if name == "targets":
        return "announced"
    return None if name == "sources" else "year"


def regions(name: str, *, data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """Canonical region names of dataset ``name`` (sorted); empty for tables without regions."""
    frame = parsed(_check_name(name), resolve_data_dir(data_dir))
    if "region" not in frame.columns:
        return []
    return sorted(frame["region"].dropna().unique().tolist())


def load(
    name: str,
    *,
    region: str | Sequence[str] | None = None,
    until: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Load a bundled dataset or fact table as a tidy DataFrame (a fresh copy each call).

    Parameters
    ----------
    name:
        Dataset name, see :func:`catalog` (e.g. ``"iea_gevo_2025"``, ``"targets"``).
    region:
        Region name or list of names (IEA names such as ``"China"``, ``"USA"``, ``"EU27"``,
        ``"World"``; aliases ``CN``, ``US``, ``EU`` …, case-insensitive). ``None``: all regions.
    until:
        Hard cutoff year: no row after it is returned (see the module docstring for the column
        it applies to), and only observations: the IEA's projection rows (``category`` in
        :data:`PROJECTION_CATEGORIES`) are dropped whatever their year. ``None``: every row.
    data_dir:
        Read the bundled dataset files from this folder instead of the package (also settable
        with the ``NEVSIM_DATA_DIR`` environment variable). Checksums are still verified.

    Returns
    -------
    DataFrame
        IEA datasets: ``dataset, region, category, parameter, mode, powertrain, year, unit, value``
        (+ ``aggregate_group`` for 2025). The 2025 file's 12 exact duplicate rows are dropped
        (16,436 → 16,424 rows); the 2024 file's values are rounded to two significant figures
        (float32 artefacts); the misspelt unit ``Milion barrels per day`` becomes
        ``Million barrels per day`` and ``Oil displacement, million lge`` becomes ``million lge``.
        OWID datasets: ``dataset, region, code, year, variable, unit, value``.
        Fact tables: the columns declared in ``schema.csv`` (see :func:`schema`).
        ``attrs`` holds ``dataset``, ``title``, ``citation``, ``licence``, ``source``, ``units``,
        ``region`` and ``until``.

    Raises
    ------
    InputError
        Unknown dataset or region (the message lists the allowed names), or a bad ``until``.
    DataIntegrityError
        A bundled file does not match its checksum, or a fact table breaks its schema.
    """
    name = _check_name(name)
    until = _check_until(until)
    meta = registry()[name]
    frame = parsed(name, resolve_data_dir(data_dir))
    chosen: list[str] | None = None
    if region is not None:
        if "region" not in frame.columns:
            raise InputError("region", f"dataset '{name}' has no region column; leave region unset.",
                             allowed=[n for n in dataset_names() if n != "sources"])
        wanted = [region] if isinstance(region, str) else list(region)
        available = frame["region"].dropna().unique().tolist()
        chosen = [resolve_region(r, available, dataset=name) for r in wanted]
        frame = frame[frame["region"].isin(chosen)]
    column = cutoff_column(name)
    if until is not None and column is not None:
        frame = frame[frame[column] <= until]
    if until is not None and "category" in frame.columns:  # what was observed by then, not a scenario
        frame = frame[~frame["category"].isin(PROJECTION_CATEGORIES)]
    out = frame.reset_index(drop=True).copy(deep=True)
    out.attrs = {
        "dataset": name,
        "title": meta.title,
        "citation": meta.citation,
        "licence": meta.licence,
        "source": meta.origin,
        "units": sorted(out["unit"].dropna().unique().tolist()) if "unit" in out.columns else [],
        "region": chosen,
        "until": until,
        "cutoff_column": column,
    }
    return out


def _years(frame: pd.DataFrame) -> str:
    if "year" not in frame.columns or frame.empty:
        return ""
    return f"{int(frame['year'].min())}–{int(frame['year'].max())}"


def catalog(*, data_dir: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """One row per dataset and fact table: name, kind, title, publisher, edition, licence,
    citation, origin (repository/path@commit), sha256, rows (as loaded), years, regions,
    description, caveats."""
    base = resolve_data_dir(data_dir)
    rows = []
    for name, meta in registry().items():
        frame = parsed(name, base)
        rows.append({
            "name": name,
            "kind": "dataset" if meta.group == "dataset" else "fact table",
            "title": meta.title,
            "publisher": meta.publisher,
            "edition": meta.edition,
            "licence": meta.licence,
            "citation": meta.citation,
            "origin": meta.origin,
            "sha256": meta.sha256,
            "rows": len(frame),
            "years": _years(frame),
            "regions": int(frame["region"].nunique()) if "region" in frame.columns else 0,
            "description": meta.description,
            "caveats": " | ".join(meta.caveats),
        })
    return pd.DataFrame(rows)


def history(
    region: str = "China",
    *,
    until: int | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Observed EV history of one region, tidy: ``region, variable, unit, year, value, source``.

    From the newest IEA edition (GEVO 2025), category ``Historical``, mode ``Cars`` unless noted:

    - ``EV sales share`` (percent): parameter ``EV sales share``, powertrain ``EV`` (BEV + PHEV share
      of new car sales);
    - ``BEV sales``, ``PHEV sales`` (vehicles): parameter ``EV sales``;
    - ``EV stock`` (vehicles): parameter ``EV stock``, BEV + PHEV (FCEV excluded, as in the share);
    - ``Public chargers`` (charging points): parameter ``EV charging points`` (mode ``EV``),
      ``Publicly available fast`` + ``Publicly available slow`` (slow only where fast is not given).

    Years after the last IEA share year (2024 in the bundled IEA GEVO 2025) take the ``EV sales share`` from OWID
    (``owid_electric_car_sales_share``), with that source named in ``source``. ``until`` is the
    same hard cutoff as in :func:`load`. Region names as in :func:`load` (aliases accepted).
    """
    base = resolve_data_dir(data_dir)
    until = _check_until(until)
    canonical = resolve_region(region, regions(_HISTORY_EDITION, data_dir=base), dataset=_HISTORY_EDITION)
    iea = load(_HISTORY_EDITION, region=canonical, until=until, data_dir=base)
    hist = iea[iea["category"] == "Historical"]
    cars = hist[hist["mode"] == "Cars"]
    src = f"{registry()[_HISTORY_EDITION].short}, Historical, CC BY 4.0"

    def series(frame: pd.DataFrame, variable: str) -> pd.DataFrame:
        summed = frame.groupby("year", as_index=False)["value"].sum(min_count=1)
        return summed.assign(variable=variable, unit=HISTORY_VARIABLES[variable], source=src)

    parts = [
        series(cars[(cars["parameter"] == "EV sales share") & (cars["powertrain"] == "EV")], "EV sales share"),
        series(cars[(cars["parameter"] == "EV sales") & (cars["powertrain"] == "BEV")], "BEV sales"),
        series(cars[(cars["parameter"] == "EV sales") & (cars["powertrain"] == "PHEV")], "PHEV sales"),
        series(cars[(cars["parameter"] == "EV stock") & cars["powertrain"].isin(["BEV", "PHEV"])], "EV stock"),
        series(hist[(hist["parameter"] == "EV charging points")
                    & hist["powertrain"].isin(["Publicly available fast", "Publicly available slow"])],
               "Public chargers"),
    ]
    last_share = int(parts[0]["year"].max()) if not parts[0].empty else None
    if canonical in regions(_HISTORY_OWID, data_dir=base):
        owid = load(_HISTORY_OWID, region=canonical, until=until, data_dir=base)
        if last_share is not None:
            owid = owid[owid["year"] > last_share]
        if not owid.empty:
            owid_src = f"{registry()[_HISTORY_OWID].short} (vintage unconfirmed), CC BY 4.0"
            parts.append(owid[["year", "value"]].assign(variable="EV sales share", unit="percent", source=owid_src))
    frame = pd.concat([p for p in parts if not p.empty], ignore_index=True) if any(
        not p.empty for p in parts) else pd.DataFrame(columns=["year", "value", "variable", "unit", "source"])
    frame = frame.assign(region=canonical)
    order = {v: i for i, v in enumerate(HISTORY_VARIABLES)}
    frame = frame.sort_values(["variable", "year"], key=lambda s: s.map(order) if s.name == "variable" else s)
    out = frame[["region", "variable", "unit", "year", "value", "source"]].reset_index(drop=True)
    out = out.astype({"year": "int64", "value": "float64"})
    out.attrs = {"region": canonical, "until": until, "licence": "CC BY 4.0",
                 "sources": sorted(out["source"].unique().tolist())}
    return out
