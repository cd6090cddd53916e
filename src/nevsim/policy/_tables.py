"""The policy parameter tables: loading, lookup by year, and the audit.

The tables live in ``nevsim/policy/params/`` and their columns are declared once in
``schema.csv`` (table, column, dtype, unit, description):

- ``parameters.csv`` — scalar rules by year range, e.g.
  ``CN,NEV,nev_ratio,miit378,2024,2024,0.28,share,MIIT-378,V,…``;
- ``bands.csv`` — banded rules (value by range band or mass band), e.g.
  ``CN,SUBSIDY,purchase_subsidy_cny,mof2020,2020,2020,BEV,300,400,km,16200,CNY/vehicle,…``;
- ``plates.csv`` — local licence-plate policies;
- ``vintages.csv`` — the rules *as known at a cutoff*: rows that replace rows of
  ``parameters.csv`` / ``bands.csv`` for a back-test whose cutoff year ``c`` lies in
  ``[known_from, known_until)`` (see :func:`overlay` and ``docs/backtest.md``);
- ``sources.csv`` — the source keys used above, with title and URL.

Every rule row has ``value, unit, source_key, status`` (V verified in the source text, S seen
in a secondary source, U unconfirmed placeholder, D derived from other rows). A year that no
row covers is outside the rules' coverage and raises :class:`nevsim.errors.InputError`.
The files are read once per process (cached, read-only: lookups return plain floats and
tuples, the public functions return copies of DataFrames).

``known_at``: every lookup takes ``known_at=None`` (the enacted rules, as known at the end of
2025) or a cutoff year ``c`` in :func:`known_at_years`: then, for each parameter with vintage
rows known at ``c``, the rows of years after ``c`` from the first year those rows cover are
replaced by them (:func:`overlay`); years up to ``c`` keep the enacted rows. A vintage row
without a value withdraws the parameter for its years (a rule not yet issued at ``c``, e.g.
the Phase V mass curve before GB 27999-2019): a lookup there finds no row. The memoised
lookups are keyed on ``known_at``.
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


VINTAGE_TABLES = ("parameters", "bands")
_VINTAGE_FIELD = "policy.params.vintages"

#: Regions whose policy layer reads ``known_at`` (China's: :mod:`nevsim.policy.china` through the
#: simulator's China policy). The US and EU standards (:mod:`nevsim.regions`) do not, so a vintage
#: row of another region is refused when the file is read, and ``known_at`` elsewhere is an error.
KNOWN_AT_REGIONS: tuple[str, ...] = ("CN",)


def check_vintages(frame: pd.DataFrame) -> pd.DataFrame:
    """Validate the vintage rows (typed as in ``schema.csv``) and return them.

    Each row: ``table`` is parameters or bands and names a parameter that table has;
    ``known_from < known_until``; ``known_from < year_from <= year_to`` (a row only speaks
    about years after every cutoff that uses it); a value (empty: the parameter is withdrawn
    for those years, parameters rows only), unit, source key and status (V/S/U/D); bands rows have a powertrain, ``lower < upper`` and a band unit, parameters
    rows none. Rows known at the same cutoff must not overlap in years (per parameter,
    powertrain and band). A bad row raises :class:`InputError` naming the row (1 = first
    data row) and the column.
    """
    def bad(i: int, column: str, message: str, allowed: list[str] | None = None) -> InputError:
        return InputError(f"{_VINTAGE_FIELD}[row {i + 1}].{column}", message, allowed)

    params, bands_ = _parameters(), _bands()
    known_p = set(zip(params["region"], params["standard"], params["param"], strict=True))
    known_b = set(zip(bands_["region"], bands_["standard"], bands_["param"], strict=True))
    for i, r in enumerate(frame.itertuples(index=False)):
        if r.table not in VINTAGE_TABLES:
            raise bad(i, "table", f"unknown table {r.table!r}.", list(VINTAGE_TABLES))
        if r.region not in KNOWN_AT_REGIONS:
            raise bad(i, "region", f"no policy layer of {r.region!r} reads the rules as known at a cutoff.",
                      list(KNOWN_AT_REGIONS))
        if (r.region, r.standard, r.param) not in (known_p if r.table == "parameters" else known_b):
            raise bad(i, "param", f"{r.region}/{r.standard}/{r.param} is not a parameter of {r.table}.csv.")
        if not r.known_from < r.known_until:
            raise bad(i, "known_until", f"must be after known_from ({r.known_from}), got {r.known_until}.",
                      [f"> {r.known_from}"])
        if not r.known_from < r.year_from <= r.year_to:
            raise bad(i, "year_from", f"years {r.year_from}–{r.year_to} must lie after known_from "
                      f"({r.known_from}): a vintage row only changes years after its cutoffs.",
                      [f"{r.known_from + 1} ≤ year_from ≤ year_to"])
        if np.isnan(r.value) and r.table != "parameters":
            raise bad(i, "value", "missing (only a parameters row may withdraw a rule).", ["a number (inf allowed)"])
        if r.status not in STATUS_ORDER:
            raise bad(i, "status", f"unknown status {r.status!r}.", list(STATUS_ORDER))
        if not r.source_key.strip(";"):
            raise bad(i, "source_key", "a source key is required.", ["keys of sources.csv"])
        if not r.unit:
            raise bad(i, "unit", "a unit is required.")
        if r.table == "bands":
            if not r.powertrain or not r.band_unit or not (r.lower < r.upper):
                raise bad(i, "lower", "a bands row needs a powertrain, lower < upper and a band unit.")
        elif r.powertrain or r.band_unit or np.isfinite(r.lower) or np.isfinite(r.upper):
            raise bad(i, "powertrain", "a parameters row has no powertrain, band edges or band unit.", [""])
    if len(frame):
        lo, hi = int(frame["known_from"].min()), int(frame["known_until"].max())
        keys = ["table", "region", "standard", "param", "powertrain", "lower"]
        for c in range(lo, hi):
            act = frame[(frame["known_from"] <= c) & (c < frame["known_until"])]
            for _, g in act.groupby(keys, dropna=False):
                g = g.sort_values("year_from")
                clash = g["year_from"].to_numpy()[1:] <= g["year_to"].to_numpy()[:-1]
                if clash.any():
                    i = int(g.index[1:][clash][0])
                    raise bad(i, "year_from", f"overlaps another row known at cutoff {c}.")
    return frame


@functools.cache
def _vintages() -> pd.DataFrame:
    frame = _typed("vintages", _read("vintages.csv"))
    return check_vintages(frame)


@functools.cache
def known_at_years() -> tuple[int, int]:
    """First and last cutoff year the vintage table encodes (``known_at`` must lie in it)."""
    v = _vintages()
    return int(v["known_from"].min()), int(v["known_until"].max()) - 1


def check_known_at(known_at: object, field: str = "known_at") -> int | None:
    """``None`` (the enacted rules) or a cutoff year within :func:`known_at_years`."""
    if known_at is None:
        return None
    first, last = known_at_years()
    allowed = [f"{first}–{last}", "unset / None (the rules as enacted)"]
    if isinstance(known_at, (bool, np.bool_)) or not isinstance(known_at, (int, np.integer)):
        raise InputError(field, f"must be a year or None, got {known_at!r}.", allowed)
    if not first <= int(known_at) <= last:
        raise InputError(field, f"{known_at} is outside the cutoffs the vintage table encodes.", allowed)
    return int(known_at)


def active_rows(vintage: pd.DataFrame, known_at: int) -> pd.DataFrame:
    """The rows of ``vintage`` known at cutoff ``c = known_at``: ``known_from ≤ c < known_until`` (copy)."""
    c = int(known_at)
    return vintage[(vintage["known_from"] <= c) & (c < vintage["known_until"])].copy()


def vintage_rows(known_at: int) -> pd.DataFrame:
    """The packaged vintage rows known at cutoff ``known_at`` (copy, with their own years)."""
    c = check_known_at(known_at)
    assert c is not None
    return active_rows(_vintages(), c)


def overlay(enacted: pd.DataFrame, vintage: pd.DataFrame, known_at: int) -> pd.DataFrame:
    """The rules as known at the end of year ``c = known_at``.

    ``vintage``: rows of one table (parameters or bands) known at ``c``. Each is clipped to the
    years after ``c`` (a row ending by ``c`` is dropped). For each (region, standard, param)
    with clipped rows starting at year ``s``, the enacted rows of that parameter lose every
    year ``≥ s`` (a row straddling ``s`` ends at ``s − 1``) and the vintage rows take their
    place; other parameters and years ``< s`` are the enacted rows. Vintage rows without a value
    (NaN) take the enacted rows' place and are then dropped: the parameter is not set in their
    years. Returns a new frame with the enacted columns.
    """
    v = vintage[vintage["year_to"] > known_at].copy()
    v["year_from"] = np.maximum(v["year_from"].to_numpy(), known_at + 1)
    out = enacted.copy()
    if v.empty:
        return out
    # first replaced year s per (region, standard, param), looked up for every enacted row at once
    starts = v.groupby(["region", "standard", "param"], sort=False)["year_from"].min().to_dict()
    start = np.array([starts.get(k, np.nan) for k in
                      zip(out["region"], out["standard"], out["param"], strict=True)], dtype=float)
    replaced = np.isfinite(start)
    year_from, year_to = out["year_from"].to_numpy(), out["year_to"].to_numpy().copy()
    keep = ~(replaced & (year_from >= start))
    straddle = replaced & (year_from < start) & (year_to >= start)
    year_to[straddle] = start[straddle].astype(year_to.dtype) - 1
    out["year_to"] = year_to
    rows = v.reindex(columns=out.columns)
    for column in out.columns:
        if column not in v.columns:
            rows[column] = ""
    rows = rows.astype(out.dtypes.to_dict())
    rows = rows[rows["value"].notna()]
    return pd.concat([out[keep], rows], ignore_index=True)


@functools.cache
def _table_at(table: str, known_at: int | None) -> pd.DataFrame:
    """``parameters`` or ``bands`` as known at ``known_at`` (None: as enacted); memoised."""
    enacted = _parameters() if table == "parameters" else _bands()
    if known_at is None:
        return enacted
    v = vintage_rows(known_at)
    return overlay(enacted, v[v["table"] == table], known_at)


def _parameters_at(known_at: int | None) -> pd.DataFrame:
    return _table_at("parameters", known_at)


def _bands_at(known_at: int | None) -> pd.DataFrame:
    return _table_at("bands", known_at)


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
def _index(known_at: int | None = None) -> dict[tuple[str, str, str], tuple[Row, ...]]:
    out: dict[tuple[str, str, str], list[Row]] = {}
    for rec in _parameters_at(known_at).itertuples(index=False):
        out.setdefault((rec.region, rec.standard, rec.param), []).append(
            Row(float(rec.value), rec.unit, rec.revision, int(rec.year_from), int(rec.year_to),
                rec.source_key, rec.status, rec.note)
        )
    return {k: tuple(sorted(v, key=lambda r: r.year_from)) for k, v in out.items()}


def coverage(region: str, standard: str, name: str, *, known_at: int | None = None) -> tuple[int, int]:
    """First and last year covered by parameter ``name`` (as known at ``known_at``)."""
    rows = _index(check_known_at(known_at))[(region, standard, name)]
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
        extend: str | None = None, field: str = "year", known_at: int | None = None) -> Row:
    """The row of parameter ``name`` in force in ``year``.

    ``revision`` selects the rows of one legal revision regardless of year (its value for the
    year is the row covering the year, or the nearest row of that revision). ``extend="hold"``
    returns the last row for years beyond the last covered year. ``known_at``: the rules as
    known at the end of that year (module docstring; None = as enacted).
    """
    year = check_year(year, field)
    key = (region, standard, name)
    rows = _index(check_known_at(known_at)).get(key)
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
def _bands_by_param(known_at: int | None = None) -> dict[tuple[str, str, str], dict[str, np.ndarray]]:
    """The bands table (as known at ``known_at``) split by (region, standard, param) into numpy
    columns, rows in table order.

    Parsed once per process and ``known_at``; the lookups below filter these small arrays
    instead of the frame.
    """
    b = _bands_at(known_at)
    out: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    for (r, s, p), g in b.groupby(["region", "standard", "param"], sort=False):
        cols = {c: g[c].to_numpy() for c in _BAND_COLUMNS}
        for arr in cols.values():
            arr.setflags(write=False)
        out[(str(r), str(s), str(p))] = cols
    return out


@functools.cache
def _bands_cached(region: str, standard: str, name: str, powertrain: str, year: int,
                  revision: str | None, known_at: int | None = None) -> Bands | None:
    cols = _bands_by_param(known_at).get((region, standard, name))
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
          revision: str | None = None, known_at: int | None = None) -> Bands | None:
    """The bands of ``name`` for ``powertrain`` in ``year`` (None if no row covers the year),
    as known at ``known_at`` (None = as enacted)."""
    return _bands_cached(region, standard, name, powertrain, check_year(year), revision,
                         check_known_at(known_at))


@functools.cache
def band_years(region: str, standard: str, name: str, known_at: int | None = None) -> tuple[int, int]:
    """First and last year covered by banded parameter ``name`` (as known at ``known_at``)."""
    b = _bands_at(check_known_at(known_at))
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
    status (U, S, D, V), then region, standard, param, year. The rows of ``vintages.csv``
    (table ``vintages``) say in their note which table they replace and at which cutoffs.
    """
    p = _parameters().copy()
    p.insert(0, "table", "parameters")
    b = _bands().copy()
    b.insert(0, "table", "bands")
    pl = _plates().rename(columns={"city": "param"}).copy()
    pl["param"] = pl["param"] + ": " + pl.pop("item")
    pl = pl.assign(table="plates", region="CN", standard="PLATES", revision="local",
                   year_from=pl["year"], year_to=pl.pop("year"))
    v = _vintages().copy()
    v["note"] = [f"replaces {tab}.csv rows for cutoffs {kf}–{ku - 1} (rules as known then): {note}"
                 for tab, kf, ku, note in zip(v["table"], v["known_from"], v.pop("known_until"), v["note"],
                                              strict=True)]
    v = v.drop(columns="known_from").assign(table="vintages")
    frame = pd.concat([p, b, pl, v], ignore_index=True)
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
