"""The policy parameter tables: loading, lookup by year, and the audit.

The tables live in ``nevsim/policy/params/`` and their columns are declared once in
``schema.csv`` (table, column, dtype, unit, description):

- ``parameters.csv`` — scalar rules by year range, e.g.
  ``CN,NEV,nev_ratio,miit378,2024,2024,0.28,share,MIIT-378,V,…``;
- ``bands.csv`` — banded rules (value by range band or mass band), e.g.
  ``CN,SUBSIDY,purchase_subsidy_cny,mof2020,2020,2020,BEV,300,400,km,16200,CNY/vehicle,…``;
- ``plates.csv`` — local licence-plate policies;
- ``sources.csv`` — the source keys used above, with title and URL.

Every rule row has ``value, unit, source_key, status`` (V verified in the source text, S seen
in a secondary source, U unconfirmed placeholder, D derived from other rows). A year that no
row covers is outside the rules' coverage and raises :class:`nevsim.errors.InputError`.
The files are read once per process (cached, read-only: lookups return plain floats and
tuples, the public functions return copies of DataFrames).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd

from nevsim.errors import InputError

STATUS_ORDER = {"U": 0, "S": 1, "D": 2, "V": 3}


def _read(name: str) -> pd.DataFrame:
    path = resources.files("nevsim.policy").joinpath("params", name)
    with path.open("r", encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values=[""])


@functools.cache
def schema() -> pd.DataFrame:
    """The declared columns of every policy table (table, column, dtype, unit, description)."""
    return _read("schema.csv")


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    declared = schema()
    declared = declared[declared["table"] == table]
    missing = set(declared["column"]) - set(frame.columns)
    if missing:
        raise InputError(f"policy.params.{table}", f"missing declared columns {sorted(missing)}")
    for column, dtype in zip(declared["column"], declared["dtype"], strict=True):
        if dtype == "int":
            frame[column] = frame[column].astype("int64")
        elif dtype == "float":
            frame[column] = frame[column].astype("float64")
        else:
            frame[column] = frame[column].fillna("").astype(str)
    return frame[list(declared["column"])]


@functools.cache
def _parameters() -> pd.DataFrame:
    return _typed("parameters", _read("parameters.csv"))


@functools.cache
def _bands() -> pd.DataFrame:
    return _typed("bands", _read("bands.csv"))


@functools.cache
def _plates() -> pd.DataFrame:
    return _typed("plates", _read("plates.csv"))


@functools.cache
def _sources() -> pd.DataFrame:
    return _typed("sources", _read("sources.csv"))


@dataclass(frozen=True)
class Row:
    """One parameter row as looked up for a year."""

    value: float
    unit: str
    revision: str
    year_from: int
    year_to: int
    source_key: str
    status: str
    note: str

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(s for s in self.source_key.split(";") if s)


@functools.cache
def _index() -> dict[tuple[str, str, str], tuple[Row, ...]]:
    out: dict[tuple[str, str, str], list[Row]] = {}
    for rec in _parameters().itertuples(index=False):
        out.setdefault((rec.region, rec.standard, rec.param), []).append(
            Row(float(rec.value), rec.unit, rec.revision, int(rec.year_from), int(rec.year_to),
                rec.source_key, rec.status, rec.note)
        )
    return {k: tuple(sorted(v, key=lambda r: r.year_from)) for k, v in out.items()}


def coverage(region: str, standard: str, name: str) -> tuple[int, int]:
    """First and last year covered by parameter ``name``."""
    rows = _index()[(region, standard, name)]
    return rows[0].year_from, rows[-1].year_to


def check_year(year: object, field: str = "year") -> int:
    """Validate that ``year`` is an integer year and return it."""
    if isinstance(year, (bool, np.bool_)):
        raise InputError(field, f"must be an integer year, got {year!r}.")
    if not isinstance(year, (int, np.integer)):
        try:
            as_float = float(year)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise InputError(field, f"must be an integer year, got {year!r}.") from None
        if not as_float.is_integer():
            raise InputError(field, f"must be an integer year, got {year!r}.")
        return int(as_float)
    return int(year)


def row(region: str, standard: str, name: str, year: int, *, revision: str | None = None,
        extend: str | None = None, field: str = "year") -> Row:
    """The row of parameter ``name`` in force in ``year``.

    ``revision`` selects the rows of one legal revision regardless of year (its value for the
    year is the row covering the year, or the nearest row of that revision). ``extend="hold"``
    returns the last row for years beyond the last covered year.
    """
    year = check_year(year, field)
    key = (region, standard, name)
    rows = _index().get(key)
    if rows is None:
        raise InputError("policy parameter", f"unknown parameter {region}/{standard}/{name}.")
    if revision is not None:
        chosen = [r for r in rows if r.revision == revision]
        if not chosen:
            allowed = sorted({r.revision for r in rows})
            raise InputError("revision", f"{name} has no rows for revision {revision!r}.", allowed)
        for r in chosen:
            if r.year_from <= year <= r.year_to:
                return r
        return min(chosen, key=lambda r: min(abs(year - r.year_from), abs(year - r.year_to)))
    for r in rows:
        if r.year_from <= year <= r.year_to:
            return r
    first, last = rows[0].year_from, rows[-1].year_to
    if year > last and extend == "hold":
        return rows[-1]
    if extend not in (None, "hold"):
        raise InputError("extend", f"unknown extension rule {extend!r}.", ["hold", "None"])
    raise InputError(
        field,
        f"{year} is outside the coverage of {region} {standard} rule '{name}' ({first}–{last})"
        + ("; pass extend='hold' to hold the last set value" if year > last else "")
        + ".",
        [f"{first}–{last}"],
    )


def value(region: str, standard: str, name: str, year: int, **kwargs: object) -> float:
    """Shorthand for ``row(...).value``."""
    return row(region, standard, name, year, **kwargs).value  # type: ignore[arg-type]


@dataclass(frozen=True)
class Bands:
    """A banded rule for one year: ``value[i]`` applies on ``[lower[i], upper[i])``."""

    lower: np.ndarray
    upper: np.ndarray
    value: np.ndarray
    unit: str
    band_unit: str
    revision: str
    sources: tuple[str, ...]
    status: str

    def lookup(self, x: np.ndarray, *, outside: float = 0.0) -> np.ndarray:
        """Value of the band containing each ``x`` (``outside`` where no band contains it)."""
        x = np.asarray(x, dtype=float)
        if self.lower.size == 0:
            return np.full(x.shape, outside)
        idx = np.searchsorted(self.lower, x, side="right") - 1
        safe = np.clip(idx, 0, self.lower.size - 1)
        inside = (idx >= 0) & (x < self.upper[safe])
        return np.where(inside, self.value[safe], outside)


_BAND_COLUMNS = ("powertrain", "revision", "year_from", "year_to", "lower", "upper", "value", "unit", "band_unit",
                 "status", "source_key")


@functools.cache
def _bands_by_param() -> dict[tuple[str, str, str], dict[str, np.ndarray]]:
    """The bands table split by (region, standard, param) into numpy columns, rows in table order.

    Parsed once per process; the lookups below filter these small arrays instead of the frame.
    """
    b = _bands()
    out: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for (r, s, p), g in b.groupby(["region", "standard", "param"], sort=False):
        cols = {c: g[c].to_numpy() for c in _BAND_COLUMNS}
        for arr in cols.values():
            arr.setflags(write=False)
        out[(str(r), str(s), str(p))] = cols
    return out


@functools.cache
def _bands_cached(region: str, standard: str, name: str, powertrain: str, year: int,
                  revision: str | None) -> Bands | None:
    cols = _bands_by_param().get((region, standard, name))
    if cols is None:
        return None
    keep = (cols["powertrain"] == powertrain) | (cols["powertrain"] == "*")
    y_from, y_to = cols["year_from"], cols["year_to"]
    if revision is not None:
        keep &= cols["revision"] == revision
        if keep.any() and not (keep & (y_from <= year) & (y_to >= year)).any():
            rows = np.flatnonzero(keep)
            nearest = rows[np.argsort(np.abs(y_from[rows] - year), kind="quicksort")[0]]
            year = int(y_from[nearest])
    rows = np.flatnonzero(keep & (y_from <= year) & (y_to >= year))
    if rows.size == 0:
        return None
    rows = rows[np.argsort(cols["lower"][rows], kind="quicksort")]
    status = min(cols["status"][rows], key=lambda s: STATUS_ORDER.get(s, 0))
    srcs = tuple(sorted({s for k in cols["source_key"][rows] for s in k.split(";") if s}))
    return Bands(cols["lower"][rows].astype(float), cols["upper"][rows].astype(float),
                 cols["value"][rows].astype(float), cols["unit"][rows[0]], cols["band_unit"][rows[0]],
                 cols["revision"][rows[0]], srcs, status)


def bands(region: str, standard: str, name: str, powertrain: str, year: int, *,
          revision: str | None = None) -> Bands | None:
    """The bands of ``name`` for ``powertrain`` in ``year`` (None if no row covers the year)."""
    return _bands_cached(region, standard, name, powertrain, check_year(year), revision)


@functools.cache
def band_years(region: str, standard: str, name: str) -> tuple[int, int]:
    """First and last year covered by banded parameter ``name``."""
    b = _bands()
    sel = b[(b["region"] == region) & (b["standard"] == standard) & (b["param"] == name)]
    return int(sel["year_from"].min()), int(sel["year_to"].max())


def plates() -> pd.DataFrame:
    """Licence-plate and other local policies (copy)."""
    return _plates().copy()


def sources() -> pd.DataFrame:
    """Source keys used by the policy tables, with title and URL (copy)."""
    return _sources().copy()


def audit() -> pd.DataFrame:
    """Every policy parameter with its value, source and status, unconfirmed first.

    Columns: ``table, region, standard, param, revision, year_from, year_to, powertrain,
    lower, upper, band_unit, value, unit, status, source_key, source_urls, note``. Sorted by
    status (U, S, D, V), then region, standard, param, year.
    """
    p = _parameters().copy()
    p.insert(0, "table", "parameters")
    b = _bands().copy()
    b.insert(0, "table", "bands")
    pl = _plates().rename(columns={"city": "param"}).copy()
    pl["param"] = pl["param"] + ": " + pl.pop("item")
    pl = pl.assign(table="plates", region="CN", standard="PLATES", revision="local",
                   year_from=pl["year"], year_to=pl.pop("year"))
    frame = pd.concat([p, b, pl], ignore_index=True)
    urls = dict(zip(_sources()["source_key"], _sources()["url"], strict=True))
    frame["source_urls"] = [
        " ; ".join(urls.get(k, "(unknown source key)") for k in key.split(";") if k) for key in frame["source_key"]
    ]
    frame["_rank"] = frame["status"].map(STATUS_ORDER).fillna(0)
    frame = frame.sort_values(["_rank", "region", "standard", "param", "year_from"], kind="stable")
    cols = ["table", "region", "standard", "param", "revision", "year_from", "year_to", "powertrain",
            "lower", "upper", "band_unit", "value", "unit", "status", "source_key", "source_urls", "note"]
    frame = frame.drop(columns="_rank").reset_index(drop=True)
    for c in ("powertrain", "band_unit", "note"):
        frame[c] = frame[c].fillna("")
    return frame[cols]
