"""Results of one nevsim run: long tables with units, metadata and the resolved scenario.

Modelled on pyam's ``IamDataFrame`` (a long table ``scenario, region, variable, unit, year,
value`` plus per-run ``meta``) and on PyPSA's ``n.statistics`` (per-metric tables that carry
their unit in ``attrs["unit"]`` and draw themselves)::

    res = nevsim.simulate.run("china-current-policies")
    res                                   # readable summary
    res.to_frame()                        # long table with units
    res.to_iamc()                         # IAMC wide table (years as columns)
    res.targets()                         # targets check (see nevsim.targets)
    share = res.stats.ev_share(years=range(2020, 2041))
    share.attrs["unit"]                   # '%'
    share.plot()                          # plotly figure of the same table

Shares are in percent. When the run has Monte Carlo draws (a ``draw`` column), statistics
return quantiles over draws instead of one value per year.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from nevsim.errors import InputError, year_span

if TYPE_CHECKING:
    import plotly.graph_objects as go

SERIES_COLUMNS = ("scenario", "region", "variable", "unit", "year", "value")
MAKERS_COLUMNS = ("scenario", "region", "maker", "variable", "unit", "year", "value")

#: Short region codes used by scenarios and the CLI → IEA region names used by the data.
REGION_NAMES: dict[str, str] = {"CN": "China", "US": "USA", "EU": "EU27"}

#: How the CSV writers print a value: 10 significant digits. The model's own precision is coarser
#: (calibration solved to 1e-10 in logit units, the credit market to 1e-9 of the credits required),
#: so no digit the model means is lost, while the last digits of float arithmetic go (0.010000000000000018
#: → 0.01, 1139999.9999999988 → 1140000; %.12g would leave 47.9000000002 for 47.90000000015322).
#: The tables in memory, the store and Parquet keep every bit (the store: unless the draws were
#: saved in single precision, nevsim.store.PRECISIONS).
CSV_FLOAT_FORMAT = "%.10g"

#: Quantiles that statistics report when a run has several draws.
DEFAULT_QUANTILES: tuple[float, ...] = (0.05, 0.5, 0.95)

#: Variable whose values are derived by nevsim.targets (not by the simulation itself).
CAAM_SHARE_VARIABLE = "Sales Share|All Vehicles|NEV"


def region_name(code: str) -> str:
    """IEA region name of a region code or name (``"CN"`` → ``"China"``; names pass through)."""
    return REGION_NAMES.get(str(code).upper(), str(code))


def present(frame: pd.DataFrame, column: str = "variable") -> set[Any]:
    """The distinct values of a label column (via ``unique``: a many-draw table has millions of
    rows, and iterating them one by one costs seconds)."""
    return set(frame[column].unique().tolist())


def cell_codes(frame: pd.DataFrame, keys: list[str], *, blocks: Any = ...) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Number the distinct combinations (*cells*) of the ``keys`` columns of a long table.

    Returns ``(cell, labels)``: ``cell`` (int32, one per row) numbers the combinations ``0, 1, …``
    in order of first appearance; ``labels[key]`` holds each cell's value of ``key``. When each
    cell's rows are one block (the simulation's layout: :func:`cell_blocks`) the blocks are the
    cells; otherwise each column is coded on its own (categorical codes, whole-number years as
    offsets, other columns factorized; a missing label is a level of its own) and the codes
    combine into one integer, so no Python object is made per row. ``ValueError`` if the
    combinations exceed 2**62. ``blocks``: what :func:`cell_blocks` already returned for this
    frame and keys (None included), so the rows are not compared twice.
    """
    if blocks is ...:
        blocks = cell_blocks(frame, keys)
    if blocks is not None:
        starts, labels = blocks
        return np.repeat(np.arange(len(starts), dtype=np.int32), np.diff(np.append(starts, len(frame)))), labels
    return _combined_codes(frame, keys)


#: Rows per piece when looking for the blocks of a long table (:func:`cell_blocks`).
_PIECE_ROWS = 1 << 20


def cell_blocks(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The cells of a long table when each cell's rows are one block of consecutive rows, else None.

    The simulation's layout (and the store's, once loaded): each cell's rows side by side, draws
    varying fastest. Rows where any key changes start a block; when no two blocks share their
    keys the blocks are the cells, numbered in order, without coding every row. Returns
    ``(starts, labels)``: the first row of each cell and, per key, each cell's value (whole
    numbers as int64, other labels as objects). None for short blocks (more than one block per
    4 rows) or a cell split into several blocks. The rows are compared in pieces of
    :data:`_PIECE_ROWS` on two threads (numpy compares without the GIL; a 10,000-draw makers
    table of 80 M rows: 0.45 → 0.15 s).
    """
    n = len(frame)
    if n <= 1 or not keys:
        return None
    raws = []
    for col in keys:
        column = frame[col]
        raws.append(column.array.codes if isinstance(column.dtype, pd.CategoricalDtype)
                    else column.to_numpy())

    def changes(lo: int) -> np.ndarray:
        hi = min(n, lo + _PIECE_ROWS)
        new = np.zeros(hi - lo, dtype=bool)
        first = max(lo, 1)  # row 0 starts a block
        for raw in raws:
            new[first - lo:] |= raw[first:hi] != raw[first - 1:hi - 1]
        if lo == 0:
            new[0] = True
        return np.flatnonzero(new) + lo

    pieces = range(0, n, _PIECE_ROWS)
    if len(pieces) > 1 and all(r.dtype != object for r in raws):
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            starts = np.concatenate(list(pool.map(changes, pieces)))
    else:
        starts = np.concatenate([changes(lo) for lo in pieces])
    if 4 * len(starts) > n:  # short blocks: code every row instead
        return None
    firsts = frame.iloc[starts][keys]  # (the rows first: frame[keys] would copy every row)
    if firsts.duplicated().any():
        return None
    return starts, {c: firsts[c].to_numpy(dtype=np.int64) if pd.api.types.is_integer_dtype(firsts[c].dtype)
                    else firsts[c].to_numpy(dtype=object) for c in keys}


def _combined_codes(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`cell_codes` by coding every row (any layout)."""
    n = len(frame)
    combined = np.zeros(n, dtype=np.int64)
    factorized = [_codes(frame[col]) for col in keys]
    uniques = [levels for _, levels in factorized]
    radices = [max(len(levels), 1) for levels in uniques]
    if float(np.prod([float(r) for r in radices])) >= 2.0**62:
        raise ValueError("too many distinct label combinations")
    for (codes, _), radix in zip(factorized, radices, strict=True):  # in place: no new 8-byte array a column
        combined *= radix
        combined += codes
    cell, combos = _first_appearance(combined)
    labels: dict[str, np.ndarray] = {}
    for col, levels, radix in zip(reversed(keys), reversed(uniques), reversed(radices), strict=True):
        labels[col] = np.asarray(levels)[combos % radix]
        combos = combos // radix
    return cell, {c: labels[c] for c in keys}


def _codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes ``0 … k−1`` of a column and its levels (categorical codes and whole-number
    years taken as they are; other columns factorized, a missing label being a level of its own)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.array.codes  # (a view: .cat.codes copies every row)
        if len(codes) == 0 or codes.min() >= 0:
            return codes, np.asarray(column.cat.categories, dtype=object)
    elif pd.api.types.is_integer_dtype(column.dtype) and len(column):
        values = column.to_numpy(dtype=np.int64)
        low, high = int(values.min()), int(values.max())
        if high - low < 1_000_000:
            return values - low, np.arange(low, high + 1, dtype=np.int64)
    codes, levels = pd.factorize(column, use_na_sentinel=False)
    return codes.astype(np.int64), np.asarray(levels) if column.name == "year" else np.asarray(levels, dtype=object)


def _first_appearance(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(int32 codes, uniques)`` of ``keys`` numbered in order of first appearance (as :func:`pandas.factorize`).

    Fast path for the simulation's layout, where each key's rows are one contiguous block
    (draws vary fastest): the blocks are numbered in order without hashing every row.
    """
    if len(keys):
        starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        firsts = keys[starts]
        if len(np.unique(firsts)) == len(firsts):
            lengths = np.diff(np.append(starts, len(keys)))
            return np.repeat(np.arange(len(firsts), dtype=np.int32), lengths), firsts
    codes, uniques = pd.factorize(keys)
    return codes.astype(np.int32), np.asarray(uniques, dtype=np.int64)


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two long tables hold the same values (see :meth:`Results.__eq__`)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    return all(_same_column(a[c], b[c]) for c in a.columns)


def _same_column(a: pd.Series, b: pd.Series) -> bool:
    cat_a, cat_b = isinstance(a.dtype, pd.CategoricalDtype), isinstance(b.dtype, pd.CategoricalDtype)
    if cat_a and cat_b:  # codes of one mapped onto the other's categories: no label per row made
        where = b.cat.categories.get_indexer(a.cat.categories)
        codes_a, codes_b = a.array.codes, b.array.codes
        mapped = np.where(codes_a < 0, -1, where[np.maximum(codes_a, 0)] if len(where) else -1)
        return bool(np.array_equal(mapped, codes_b)) and not bool(((codes_a >= 0) & (mapped < 0)).any())
    if cat_a or cat_b or a.dtype == object or b.dtype == object or not (
            pd.api.types.is_numeric_dtype(a.dtype) and pd.api.types.is_numeric_dtype(b.dtype)):
        return bool(a.astype(object).reset_index(drop=True).equals(b.astype(object).reset_index(drop=True)))
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind == "f" or y.dtype.kind == "f":  # (whole numbers with whole numbers: exact, below)
        return bool(np.array_equal(x.astype(np.float64), y.astype(np.float64), equal_nan=True))
    return bool(np.array_equal(x, y))


class _RowIndex:
    """Where each (region, variable) pair's rows lie in a long table, found once per table.

    A selection then takes its rows instead of comparing every row: a 10,000-draw run has
    16 M series rows and 80 M maker rows, and each statistic of a report used to scan them.
    The rows are described as *runs* of consecutive rows with the same pair (the simulation
    and the store write each variable's rows side by side, so there are few); a table whose
    pairs are interleaved (more than one run per 8 rows) is sorted by pair once instead.
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        n = len(frame)
        reg, reg_levels = _codes(frame["region"])
        var, var_levels = _codes(frame["variable"])
        self._n_var = max(len(var_levels), 1)
        self._reg_code = {v: i for i, v in enumerate(reg_levels.tolist())}
        self._var_code = {v: i for i, v in enumerate(var_levels.tolist())}
        self._reg_levels, self._var_levels = reg_levels, var_levels
        self._order: np.ndarray | None = None
        if n == 0:
            starts = np.empty(0, dtype=np.int64)
            keys = np.empty(0, dtype=np.int64)
        else:
            new = np.empty(n, dtype=bool)
            new[0] = True
            np.not_equal(reg[1:], reg[:-1], out=new[1:])
            new[1:] |= var[1:] != var[:-1]
            starts = np.flatnonzero(new)
            if len(starts) > max(64, n // 8):  # interleaved pairs: sort the rows by pair once
                key = reg.astype(np.int64) * self._n_var + var
                self._order = np.argsort(key, kind="stable")
                key = key[self._order]
                starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
                keys = key[starts]
            else:
                keys = reg[starts].astype(np.int64) * self._n_var + var[starts]
        stops = np.append(starts[1:], n) if n else starts
        self._runs: dict[int, list[tuple[int, int]]] = {}
        for k, a, b in zip(keys.tolist(), starts.tolist(), stops.tolist(), strict=True):
            self._runs.setdefault(k, []).append((a, b))
        self.n = n

    def variables(self, region: Any = None) -> set[Any]:
        """The variables with rows (in ``region`` when given)."""
        reg = None if region is None else self._reg_code.get(region, -1)
        return {self._var_levels[k % self._n_var] for k in self._runs if reg is None or k // self._n_var == reg}

    def firsts(self) -> np.ndarray:
        """The position of the first row of each block (ascending): one row per block's pair, at least."""
        starts = np.array(sorted(a for rs in self._runs.values() for a, _ in rs), dtype=np.int64)
        return starts if self._order is None else np.sort(self._order[starts])

    def regions(self) -> set[Any]:
        """The regions with rows."""
        return {self._reg_levels[k // self._n_var] for k in self._runs}

    def select(self, regions: Iterable[Any] | None, variables: Iterable[Any] | None) -> slice | np.ndarray:
        """The rows whose region is in ``regions`` and variable in ``variables`` (None: any): a
        ``slice`` when they are one block of consecutive rows, else their positions, ascending."""
        regs = None if regions is None else {self._reg_code[r] for r in regions if r in self._reg_code}
        vars_ = None if variables is None else {self._var_code[v] for v in variables if v in self._var_code}
        runs = sorted(run for k, rs in self._runs.items()
                      if (regs is None or k // self._n_var in regs) and (vars_ is None or k % self._n_var in vars_)
                      for run in rs)
        if len(runs) == 1 and self._order is None:
            return slice(*runs[0])
        if not runs:
            return np.empty(0, dtype=np.int64)
        pos = np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in runs])
        return pos if self._order is None else np.sort(self._order[pos])


def _check_columns(frame: object, required: tuple[str, ...], name: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise InputError(name, f"must be a pandas DataFrame, got {type(frame).__name__}.")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(name, f"missing columns {missing}.", allowed=[*required, "draw"])


def _normalise(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Columns in contract order, ``year`` as int64, ``value`` as float, ``draw`` as int32 if present."""
    cols = list(columns) + (["draw"] if "draw" in frame.columns else [])
    out = frame.loc[:, cols]  # copy-on-write (pandas ≥ 3): columns are copied only when changed below
    for c in columns:
        if c in ("year", "value") or pd.api.types.is_string_dtype(out[c]):
            continue
        if isinstance(out[c].dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(out[c].cat.categories):
            continue  # label columns of Monte Carlo tables: categorical strings (one byte per row)
        out[c] = out[c].astype(str)
    if out["year"].dtype != np.int64:
        out["year"] = out["year"].astype("int64")
    if out["value"].dtype != np.float64:
        out["value"] = out["value"].astype("float64")
    if "draw" in out.columns and out["draw"].dtype != np.int32:
        out["draw"] = out["draw"].astype("int32")  # as the store keeps it (INTEGER); ≤ 1,000,000 draws
    return out.reset_index(drop=True)


def select_years(frame: pd.DataFrame, years: object) -> pd.DataFrame:
    """Rows of ``frame`` whose ``year`` matches the ``years=`` keyword.

    ``years`` is None (all), an int, a ``(first, last)`` tuple (inclusive), a ``slice(first,
    last)`` (inclusive, either end open) or any iterable of years (e.g. ``range(2020, 2031)``).
    """
    if years is None:
        return frame
    y = frame["year"]
    if isinstance(years, (int, np.integer)) and not isinstance(years, bool):
        return frame[y == int(years)]
    if isinstance(years, slice):
        mask = pd.Series(True, index=frame.index)
        if years.start is not None:
            mask &= y >= int(years.start)
        if years.stop is not None:
            mask &= y <= int(years.stop)
        return frame[mask]
    if isinstance(years, tuple) and len(years) == 2 and all(isinstance(v, (int, np.integer)) for v in years):
        return frame[(y >= int(years[0])) & (y <= int(years[1]))]
    if isinstance(years, Iterable) and not isinstance(years, (str, bytes)):
        try:
            wanted = [int(v) for v in years]
        except (TypeError, ValueError):
            wanted = None
        if wanted is not None:
            return frame[y.isin(wanted)]
    raise InputError("years", f"cannot read {years!r} as years.",
                     ["an int", "(first, last)", "slice(first, last)", "range(first, last + 1)", "a list of years"])


def check_years(years: object, available: Iterable[Any], *, field: str = "years") -> object:
    """Refuse a ``years=`` selection that asks for years the results do not hold; returns the
    selection to use (a one-time iterator, e.g. a generator, read into a list: checking it would
    otherwise use it up and select nothing).

    Years named one by one (an int or a list) must each be among ``available``; a span (a
    ``(first, last)`` tuple, a ``slice`` or a ``range``) must reach at least one of them (it is
    cut to the years there are). InputError at ``field``, with the years there are as a range.
    """
    if isinstance(years, Iterator):
        years = list(years)
    _check_years(years, available, field)
    return years


def _check_years(years: object, available: Iterable[Any], field: str) -> None:
    if years is None:
        return
    have = {int(y) for y in available}
    span = year_span(have)
    if isinstance(years, (int, np.integer)) and not isinstance(years, bool):
        named: list[int] | None = [int(years)]
    elif isinstance(years, (slice, range)) or (
            isinstance(years, tuple) and len(years) == 2 and all(isinstance(v, (int, np.integer)) for v in years)):
        if isinstance(years, range):
            lo, hi = (min(years), max(years)) if len(years) else (0, -1)
        elif isinstance(years, slice):
            lo = -(10**9) if years.start is None else int(years.start)
            hi = 10**9 if years.stop is None else int(years.stop)
        else:
            lo, hi = int(years[0]), int(years[1])
        if lo > hi:
            raise InputError(field, ("names no year" if isinstance(years, range) else
                                     f"runs backwards: first year {lo} is after last year {hi}")
                             + f": the run covers {span}.", allowed=[span])
        if not any(lo <= y <= hi for y in have):
            if isinstance(years, slice) and (years.start is None or years.stop is None):
                shown = f"the years to {years.stop}" if years.start is None else f"the years from {years.start}"
            else:
                shown = f"{lo}–{hi}"
            raise InputError(field, f"no results in {shown}: the run covers {span}.", allowed=[span])
        return
    elif isinstance(years, Iterable) and not isinstance(years, (str, bytes)):
        try:
            named = [int(v) for v in years]
        except (TypeError, ValueError):
            return  # (select_years says what it cannot read)
        if not named:  # (an empty selection selects nothing: say so rather than return an empty table)
            raise InputError(field, f"names no year: the run covers {span}.", allowed=[span])
    else:
        return
    missing = sorted(set(named) - have)
    if missing:
        raise InputError(field, f"no results for {year_span(missing)}: the run covers {span}.", allowed=[span])


# ---------------------------------------------------------------------------- statistics


class Statistic(pd.DataFrame):
    """A table of one metric by year (index ``year``) with ``attrs["unit"]``, that plots itself.

    Columns are the series of the metric (e.g. ``EV``, ``BEV``, ``PHEV``); with Monte Carlo
    draws they are a two-level index ``(series, quantile)``. :meth:`plot` draws this very
    table as a plotly figure (lines; a band between the outer quantiles when there are draws;
    history years — calibrated on observations — dashed).
    """

    @property
    def _constructor(self) -> type[Statistic]:
        return Statistic

    @property
    def unit(self) -> str:
        """Unit of every value in the table."""
        return str(self.attrs.get("unit", ""))

    def plot(self, *, title: str | None = None, kind: str | None = None) -> go.Figure:  # type: ignore[override]
        """This table as a plotly figure (``kind``: ``"line"`` (default), ``"area"`` or ``"bar"``)."""
        from nevsim.report.charts import statistic_figure

        return statistic_figure(self, title=title, kind=kind)


class Statistics:
    """Per-metric statistics of a :class:`Results` (``res.stats.<metric>(years=…, region=…)``).

    Every method returns a :class:`Statistic` (a DataFrame indexed by year, ``attrs["unit"]``)
    and takes the same keywords: ``years`` (int, ``(first, last)``, range or list) and
    ``region`` (code or name; default: the run's only region).
    """

    def __init__(self, results: Results) -> None:
        self._res = results

    def __repr__(self) -> str:
        names = [n for n in dir(self) if not n.startswith("_")]
        return f"<nevsim Statistics: {', '.join(names)}>"

    # -- generic

    def variables(self, columns: Mapping[str, str], *, title: str, years: object = None,
                  region: str | None = None, quantiles: tuple[float, ...] = DEFAULT_QUANTILES,
                  kind: str = "line") -> Statistic:
        """Any series variables as one statistic: ``columns`` maps a column label to a variable.

        All variables must share one unit (a statistic has one unit).
        """
        res = self._res
        reg = res._pick_region(region)
        sel = res._rows("series", region=reg, variables=list(columns.values()))
        known = res.labels(region=reg)
        missing = [v for v in columns.values() if v not in known]
        if missing:
            raise InputError("variable", f"not in these results: {missing}.", sorted(known))
        units = sel["unit"].unique().tolist()
        if len(units) > 1:
            raise InputError("variable", f"a statistic needs one unit, these variables have {units}.")
        years = check_years(years, sel["year"].unique() if years is not None else ())
        label_of = {v: k for k, v in columns.items()}
        sel = sel.assign(series=sel["variable"].map(label_of))
        table = _pivot(sel, "series", list(columns), years, quantiles)
        return _as_statistic(table, unit=units[0] if units else "", title=title, region=reg,
                             history_last_year=res.meta.get("history_last_year"), kind=kind,
                             variables=dict(columns), scenario=res.meta.get("scenario"),
                             sources=list(res.meta.get("sources") or []))

    def variable(self, name: str, *, years: object = None, region: str | None = None,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """One series variable by year (column = the variable name)."""
        return self.variables({name: name}, title=name, years=years, region=region, quantiles=quantiles)

    # -- named metrics

    def ev_share(self, *, years: object = None, region: str | None = None,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """EV share of new cars and its BEV/PHEV split (percent of new-car sales)."""
        return self.variables({"EV": "Sales Share|Cars|EV", "BEV": "Sales Share|Cars|BEV",
                               "PHEV": "Sales Share|Cars|PHEV"},
                              title="EV share of new cars", years=years, region=region, quantiles=quantiles)

    def sales(self, *, years: object = None, region: str | None = None,
              quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """New-car sales by powertrain (vehicles per year)."""
        return self.variables({p: f"Sales|Cars|{p}" for p in ("ICE", "HEV", "PHEV", "BEV")},
                              title="New-car sales by powertrain", years=years, region=region,
                              quantiles=quantiles, kind="area")

    def credit_price(self, *, years: object = None, region: str | None = None,
                     quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Clearing price of the credit markets modelled (China: CNY per credit; other regions: their
        ZEV and fleet-CO2 standards, in the region's currency per credit)."""
        found = self._res.labels()
        cols = {k: v for k, v in (("NEV", "Price|Credit|NEV"), ("CAFC", "Price|Credit|CAFC"),
                                  ("ZEV", "Price|Credit|ZEV"), ("Fleet CO2", "Price|Credit|Fleet CO2")) if v in found}
        return self.variables(cols or {"NEV": "Price|Credit|NEV"}, title="Credit price", years=years,
                              region=region, quantiles=quantiles)

    def stock(self, *, years: object = None, region: str | None = None,
              quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Car stock: EVs (and BEV/PHEV where reported) and all cars (vehicles)."""
        found = self._res.labels()
        cols = {k: f"Stock|Cars|{k}" for k in ("EV", "BEV", "PHEV", "Total") if f"Stock|Cars|{k}" in found}
        return self.variables(cols or {"EV": "Stock|Cars|EV"}, title="Car stock", years=years,
                              region=region, quantiles=quantiles)

    def chargers(self, *, years: object = None, region: str | None = None,
                 quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Publicly available charging points (chargers)."""
        return self.variables({"Public chargers": "Chargers|Public"}, title="Public charging points",
                              years=years, region=region, quantiles=quantiles)

    def evs_per_charger(self, *, years: object = None, region: str | None = None,
                        quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """EV stock per public charging point (vehicles/charger)."""
        return self.variables({"EVs per public charger": "EVs per Public Charger"},
                              title="EVs per public charger", years=years, region=region, quantiles=quantiles)

    def oil(self, *, years: object = None, region: str | None = None,
            quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Oil displaced by the EV stock (thousand barrels per day)."""
        return self.variables({"Oil displaced": "Oil Displacement"}, title="Oil displaced by EVs",
                              years=years, region=region, quantiles=quantiles)

    def electricity(self, *, years: object = None, region: str | None = None,
                    quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Electricity used by electric cars (TWh per year)."""
        return self.variables({"Electricity": "Electricity|Cars"}, title="Electricity used by cars",
                              years=years, region=region, quantiles=quantiles)

    def co2(self, *, years: object = None, region: str | None = None,
            quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """CO2 of the car fleet, well-to-wheel (Mt CO2e per year: tailpipe CO2 plus the fuel supply's and the
        grid's emissions; ``Emissions|CO2|Cars|Tailpipe`` is the tank-to-wheel part)."""
        return self.variables({"CO2": "Emissions|CO2|Cars"}, title="CO2 emissions of cars, well-to-wheel", years=years,
                              region=region, quantiles=quantiles)

    def battery_price(self, *, years: object = None, region: str | None = None,
                      quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Battery pack price (USD/kWh)."""
        return self.variables({"Battery pack": "Price|Battery Pack"}, title="Battery pack price", years=years,
                              region=region, quantiles=quantiles)

    def maker_balances(self, *, years: object = None, region: str | None = None,
                       variable: str = "Credits|NEV|Balance",
                       quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> Statistic:
        """Each maker's credit balance by year (credits; > 0 surplus to sell, < 0 deficit to buy)."""
        res = self._res
        reg = res._pick_region(region)
        sel = res._rows("makers", region=reg, variables=[variable])
        if sel.empty:
            raise InputError("variable", f"{variable!r} not in these results' maker table.",
                             sorted(res.labels(table="makers")))
        years = check_years(years, sel["year"].unique() if years is not None else ())
        order = (sel.groupby("maker")["value"].sum().sort_values(ascending=False).index.tolist())
        table = _pivot(sel.rename(columns={"maker": "series"}), "series", order, years, quantiles)
        return _as_statistic(table, unit=str(sel["unit"].iloc[0]), title=f"Makers: {variable}", region=reg,
                             history_last_year=res.meta.get("history_last_year"), kind="bar",
                             variables={m: variable for m in order}, scenario=res.meta.get("scenario"),
                             sources=list(res.meta.get("sources") or []))


def _pivot(sel: pd.DataFrame, by: str, order: list[str], years: object,
           quantiles: tuple[float, ...]) -> pd.DataFrame:
    sel = select_years(sel, years)
    if "draw" in sel.columns and sel["draw"].nunique() > 1:
        from nevsim.uncertainty import quantiles as draw_quantiles

        long = draw_quantiles(sel[[by, "year", "draw", "value"]], quantiles)
        q = long.set_index([by, "year", "quantile"])["value"].unstack([0, 2])
        q.columns = pd.MultiIndex.from_tuples([(s, float(qq)) for s, qq in q.columns],
                                              names=["series", "quantile"])
        cols = [(s, float(qq)) for s in order for qq in quantiles if (s, float(qq)) in q.columns]
        table = q.loc[:, cols]
    else:
        table = sel.pivot_table(index="year", columns=by, values="value", aggfunc="mean", sort=True)
        table = table.loc[:, [c for c in order if c in table.columns]]
        table.columns.name = None
    table.index.name = "year"
    return table.sort_index()


def _as_statistic(table: pd.DataFrame, **attrs: Any) -> Statistic:
    stat = Statistic(table)
    stat.attrs.update(attrs)
    return stat


# ---------------------------------------------------------------------------- results


@dataclass(frozen=True, repr=False)
class Results:
    """The outcome of one run.

    Parameters
    ----------
    series:
        Long table ``scenario, region, variable, unit, year, value`` (+ ``draw`` when draws > 1).
    makers:
        Long table ``scenario, region, maker, variable, unit, year, value`` (+ ``draw``).
    meta:
        Run metadata (run_id, scenario, scenario_hash, nevsim_version, created_utc, regions,
        first_year, last_year, history_last_year, draws, seed, solver diagnostics, …).
    scenario:
        The resolved scenario as a plain dict.

    On construction the tables are normalised (column order, ``year`` int, ``value`` float)
    and, for a China run without it, ``Sales Share|All Vehicles|NEV`` (the CAAM-basis estimate
    of :func:`nevsim.targets.add_caam_share`) is added; ``meta["derived"]`` says how.
    """

    series: pd.DataFrame
    makers: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    scenario: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_columns(self.series, SERIES_COLUMNS, "Results.series")
        _check_columns(self.makers, MAKERS_COLUMNS, "Results.makers")
        if not isinstance(self.meta, dict):
            raise InputError("Results.meta", f"must be a dict, got {type(self.meta).__name__}.")
        if not isinstance(self.scenario, dict):
            raise InputError("Results.scenario", f"must be a dict (the resolved scenario), "
                                                 f"got {type(self.scenario).__name__}.")
        series = _normalise(self.series, SERIES_COLUMNS)
        makers = _normalise(self.makers, MAKERS_COLUMNS)
        meta = copy.deepcopy(self.meta)
        from nevsim._memory import small_pages
        from nevsim.targets import add_caam_share

        with small_pages():  # (a 10,000-draw run's series is copied once more here: see nevsim._memory)
            series, derived = add_caam_share(series, meta)
        if derived:
            meta.setdefault("derived", {}).update(derived)
        object.__setattr__(self, "series", series)
        object.__setattr__(self, "makers", makers)
        object.__setattr__(self, "meta", meta)
        object.__setattr__(self, "scenario", copy.deepcopy(self.scenario))
        # what is worked out once per table (row index, labels, years): an attribute, not a field,
        # so dataclasses.fields/asdict/replace and equality see the run only
        object.__setattr__(self, "_memo", {})

    def __eq__(self, other: object) -> bool:
        """Two runs are equal when their meta, resolved scenario and tables hold the same values.

        Tables are compared column by column: the same columns in the same order and length,
        labels compared by value whether stored as text or as categoricals, numbers as numbers
        (−0.0 equals 0.0; whole numbers compared exactly) with missing equal to missing. A run loaded from a store equals the run saved only
        if its meta survived JSON unchanged (dates and tuples come back as text and lists).
        """
        if not isinstance(other, Results):
            return NotImplemented
        return (self.meta == other.meta and self.scenario == other.scenario
                and _same_table(self.series, other.series) and _same_table(self.makers, other.makers))

    __hash__ = None  # type: ignore[assignment]  # (tables are mutable: no hash, as for DataFrames)

    # -- where rows are (built once per table; the tables are not to be edited in place)

    def _index(self, table: str = "series") -> _RowIndex:
        from nevsim._memory import small_pages

        def build(frame: pd.DataFrame) -> _RowIndex:
            with small_pages():  # (its temporary arrays have a byte a row: see nevsim._memory)
                return _RowIndex(frame)

        return self._remember(f"index:{table}", self.series if table == "series" else self.makers, build)

    def _rows(self, table: str = "series", *, region: Any = None, variables: Iterable[Any] | None = None
              ) -> pd.DataFrame:
        """The rows of ``table`` in ``region`` (a code as stored) with one of ``variables`` (None: all)."""
        frame = self.series if table == "series" else self.makers
        if region is None and variables is None:
            return frame
        names = None if variables is None else ([variables] if isinstance(variables, str) else list(variables))
        rows = self._index(table).select(None if region is None else [region], names)
        if isinstance(rows, slice):  # one block of rows (a variable of a one-region run): a view, no copy
            return frame.iloc[rows]
        return frame if len(rows) == len(frame) else frame.take(rows)

    def labels(self, column: str = "variable", *, table: str = "series", region: str | None = None) -> set[Any]:
        """The distinct labels of a column of the ``series`` or ``makers`` table (optionally in one
        region), remembered: asking again costs nothing, whatever the number of draws."""
        if table not in ("series", "makers"):
            raise InputError("table", f"unknown table {table!r}.", ["series", "makers"])
        frame = self.series if table == "series" else self.makers
        if column not in frame.columns:
            raise InputError("column", f"no column {column!r} in the {table} table.", list(frame.columns))
        reg = None if region is None else self._pick_region(region)
        if column == "variable":
            return set(self._index(table).variables(reg))
        if column == "region" and reg is None:
            return set(self._index(table).regions())
        return set(self._remember(f"labels:{table}:{column}:{reg}", frame,
                                  lambda _: present(self._rows(table, region=reg), column)))

    # -- basic facts

    @property
    def run_id(self) -> str | None:
        """The run's id (``meta["run_id"]``)."""
        rid = self.meta.get("run_id")
        return None if rid is None else str(rid)

    @property
    def regions(self) -> list[str]:
        """Regions in the series table (as written by the simulation, e.g. ``"CN"``)."""
        return sorted(self._index("series").regions())

    @property
    def years(self) -> list[int]:
        """The years of the series table, ascending (remembered)."""
        return list(self._remember("years", self.series, lambda f: sorted(int(y) for y in f["year"].unique())))

    @property
    def n_draws(self) -> int:
        """Monte Carlo draws in the series table (1 without a ``draw`` column; remembered)."""
        return int(self._remember("n_draws", self.series,
                                  lambda f: int(f["draw"].nunique()) if "draw" in f.columns else 1))

    def __getstate__(self) -> dict[str, Any]:  # pickles (web workers, sweeps) carry the run, not the memo
        return {k: v for k, v in self.__dict__.items() if k != "_memo"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_memo"] = {}

    def _remember(self, key: str, frame: pd.DataFrame, compute: Any) -> Any:
        """``compute(frame)``, kept while the table is the same object of the same length (rows
        dropped or added in place are noticed; labels edited in place are not: see docs/results.md)."""
        hit = self._memo.get(key)
        if hit is None or hit[0] is not frame or hit[1] != len(frame):
            hit = (frame, len(frame), compute(frame))
            self._memo[key] = hit
        return hit[2]

    @property
    def variables(self) -> pd.DataFrame:
        """Variables in the series table with their unit."""
        return self._variable_units("series").copy()

    def _variable_units(self, table: str) -> pd.DataFrame:
        """``variable, unit`` pairs of the ``series`` or ``makers`` table, sorted by variable (remembered)."""
        def pairs(frame: pd.DataFrame) -> pd.DataFrame:
            # the rows where the variable (or region) or the unit changes hold every pair; a table whose
            # rows are interleaved is read row by row
            index = self._index(table)
            rows = frame
            if index._order is None and len(frame):
                unit, _ = _codes(frame["unit"])
                starts = np.union1d(index.firsts(), np.flatnonzero(unit[1:] != unit[:-1]) + 1)
                rows = frame.iloc[starts]
            return rows[["variable", "unit"]].drop_duplicates().sort_values("variable", kind="stable").reset_index(drop=True)

        frame = self.series if table == "series" else self.makers
        return self._remember(f"variables:{table}", frame, pairs)

    def _attrs(self, table: str = "series", variables: Iterable[str] | None = None) -> dict[str, Any]:
        """What a table handed out carries in ``attrs``: the run it comes from, the unit of each of its
        variables, the data the run was calibrated on (cheap: from ``meta`` and remembered labels)."""
        m = self.meta
        pairs = self._variable_units(table)
        if variables is not None:
            pairs = pairs[pairs["variable"].isin(list(variables))]
        units: dict[str, Any] = {}
        for var, unit in zip(pairs["variable"].astype(str), pairs["unit"].astype(str), strict=True):
            units[var] = unit if var not in units else sorted({*np.atleast_1d(units[var]).tolist(), unit})
        return {
            "scenario": m.get("scenario"), "scenario_hash": m.get("scenario_hash"), "run_id": m.get("run_id"),
            "nevsim_version": m.get("nevsim_version"), "history_last_year": m.get("history_last_year"),
            "data_cutoff": m.get("data_cutoff"), "draws": self.n_draws,
            "units": units,
            "sources": list(m.get("sources") or []),
            "note": "sources: the observed data the run is calibrated on; every rule parameter's source and "
                    "status: nevsim.policy.audit(); the run's other details: Results.meta.",
        }

    @property
    def stats(self) -> Statistics:
        """Per-metric statistics (``res.stats.ev_share()``, ``.credit_price()``, …)."""
        return Statistics(self)

    def _pick_region(self, region: str | None) -> str:
        regions = self.regions
        if region is None:
            if len(regions) == 1:
                return regions[0]
            raise InputError("region", "these results hold several regions; choose one.", regions)
        for r in regions:
            if region in (r, region_name(r)) or region_name(region) == region_name(r):
                return r
        raise InputError("region", f"no region {region!r} in these results.", regions)

    def value(self, variable: str, year: int, *, region: str | None = None) -> float:
        """One value of a series variable (median over draws when there are several)."""
        reg = self._pick_region(region)
        rows = self._rows("series", region=reg, variables=[variable])
        sel = rows[rows["year"] == int(year)]
        if sel.empty:
            known = sorted(self.labels(region=reg))
            if variable not in known:
                raise InputError("variable", f"{variable!r} not in these results.", known)
            span = year_span(rows["year"].unique())
            raise InputError("year", f"no {variable!r} value for {year}: the run covers {span}.", [span])
        return float(sel["value"].median())

    # -- tables

    def to_frame(self, *, variables: Iterable[str] | None = None, years: object = None,
                 region: str | None = None) -> pd.DataFrame:
        """The long table ``scenario, region, variable, unit, year, value`` (+ ``draw``), filtered."""
        reg = None if region is None else self._pick_region(region)
        names = None
        if variables is not None:
            names = [variables] if isinstance(variables, str) else list(variables)
            known = self._index("series").variables(reg)
            unknown = sorted(set(names) - known)
            if unknown:
                raise InputError("variables", f"not in these results: {unknown}.", sorted(known))
        years = check_years(years, self.years)  # (a year the run does not hold is refused, as value() refuses it)
        out = select_years(self._rows("series", region=reg, variables=names), years)
        out = out.reset_index(drop=True).copy()
        out.attrs = self._attrs("series", names)
        return out

    def makers_frame(self, *, variables: Iterable[str] | None = None, years: object = None,
                     makers: Iterable[str] | None = None) -> pd.DataFrame:
        """The makers' long table ``scenario, region, maker, variable, unit, year, value``, filtered."""
        out = self.makers
        if variables is not None:
            names = [variables] if isinstance(variables, str) else list(variables)
            known = self._index("makers").variables()
            unknown = sorted(set(names) - known)
            if unknown:
                raise InputError("variables", f"not in the makers table: {unknown}.", sorted(known))
            out = self._rows("makers", variables=names)
        if makers is not None:
            names = [makers] if isinstance(makers, str) else list(makers)
            known = self.labels("maker", table="makers")
            unknown = sorted(set(names) - known)
            if unknown:
                raise InputError("makers", f"unknown makers {unknown}.", sorted(known))
            out = out[out["maker"].isin(names)]
        years = check_years(years, self.years)
        out = select_years(out, years)
        out = out.reset_index(drop=True).copy()
        out.attrs = self._attrs("makers", None if variables is None else
                                ([variables] if isinstance(variables, str) else list(variables)))
        return out

    def to_iamc(self, *, quantiles: tuple[float, ...] = DEFAULT_QUANTILES) -> pd.DataFrame:
        """IAMC wide table: ``Model, Scenario, Region, Variable, Unit`` and one column per year.

        ``Model`` is ``"nevsim <version>"``; regions are IEA names (``China``). With several draws
        each variable is given as quantiles over draws, named the AR6 way
        (``<variable>|50.0th Percentile``).
        """
        s = self.series
        if self.n_draws > 1:
            from nevsim.uncertainty import quantiles as draw_quantiles

            q = draw_quantiles(s, quantiles)  # keys, quantile, value (NaN draws ignored, as pandas does)
            q["variable"] = q["variable"].astype(str) + "|" + (q["quantile"] * 100).map(lambda x: f"{x:.1f}") + "th Percentile"
            s = q.drop(columns="quantile")
        wide = s.pivot_table(index=["scenario", "region", "variable", "unit"], columns="year", values="value",
                             aggfunc="first", dropna=False, sort=True).reset_index()
        wide.columns.name = None
        wide = wide.dropna(how="all", subset=[c for c in wide.columns if isinstance(c, (int, np.integer))])
        wide.insert(0, "model", f"nevsim {self.meta.get('nevsim_version', _package_version())}")
        wide["region"] = wide["region"].map(self.region_label)
        wide = wide.rename(columns={"model": "Model", "scenario": "Scenario", "region": "Region",
                                    "variable": "Variable", "unit": "Unit"})
        wide = wide.reset_index(drop=True)
        wide.attrs = {k: v for k, v in self._attrs("series").items() if k != "units"}  # (units: column Unit)
        return wide

    def targets(self, *, all_jurisdictions: bool = False) -> pd.DataFrame:
        """The targets check of this run's regions (:func:`nevsim.targets.check`; ``name`` is the
        stable target name, ``label`` the name with its status, ``region_code`` the run's code).
        ``all_jurisdictions=True`` also lists the targets of a state standard the run does not
        model, against the national share (otherwise named in ``attrs["left_out"]``)."""
        from nevsim.targets import check

        return check(self, all_jurisdictions=all_jurisdictions)

    def region_label(self, code: str) -> str:
        """The name a region code has in the IAMC table and the targets check (``CN`` → ``China``;
        a scenario-defined region: its ``[region]`` table's ``iea_name``)."""
        spec = self.scenario.get("region_spec") or {}
        return str(spec["iea_name"]) if spec and code == spec.get("code") else region_name(code)

    def observed_history(self) -> pd.DataFrame | None:
        """The observed history of the run's one region up to its data cutoff
        (:func:`nevsim.data.history`, found by :meth:`region_label`, so a region defined in a
        scenario file is found by its ``iea_name``); None for a run of several regions or a
        region without bundled history."""
        from nevsim import data

        if len(self.regions) != 1:
            return None
        try:
            return data.history(self.region_label(self.regions[0]), until=self.meta.get("data_cutoff"))
        except InputError:  # no bundled history for this region
            return None

    # -- files

    def to_csv(self, path: str | Path, *, table: str = "series") -> Path:
        """Write the long ``series`` (default) or ``makers`` table as CSV; returns the path.

        Values are printed with :data:`CSV_FLOAT_FORMAT` (10 significant digits: no float noise
        such as 0.010000000000000018; the model's solvers are coarser than that).
        """
        frames = {"series": self.series, "makers": self.makers}
        if table not in frames:
            raise InputError("table", f"unknown table {table!r}.", list(frames))
        path = Path(path)
        frames[table].to_csv(path, index=False, float_format=CSV_FLOAT_FORMAT)
        return path

    def to_iamc_csv(self, path: str | Path) -> Path:
        """Write :meth:`to_iamc` as CSV (values as in :meth:`to_csv`); returns the path."""
        path = Path(path)
        self.to_iamc().to_csv(path, index=False, float_format=CSV_FLOAT_FORMAT)
        return path

    def to_parquet(self, path: str | Path, *, table: str = "series") -> Path:
        """Write the ``series`` (default) or ``makers`` table as Parquet, with meta in its schema.

        The run's ``meta`` and resolved scenario travel in the file's key/value metadata
        (``nevsim.meta``, ``nevsim.scenario``, JSON).
        """
        import json

        import pyarrow as pa
        import pyarrow.parquet as pq

        frames = {"series": self.series, "makers": self.makers}
        if table not in frames:
            raise InputError("table", f"unknown table {table!r}.", list(frames))
        path = Path(path)
        arrow = pa.Table.from_pandas(frames[table], preserve_index=False)
        extra = {b"nevsim.meta": json.dumps(self.meta, default=str).encode(),
                 b"nevsim.scenario": json.dumps(self.scenario, default=str).encode()}
        arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), **extra})
        pq.write_table(arrow, path)
        return path

    # -- display

    def __repr__(self) -> str:
        m = self.meta
        years = self.years
        span = f"{years[0]}–{years[-1]}" if years else "no years"
        draws = self.n_draws
        lines = [
            f"<nevsim Results: scenario {m.get('scenario', '?')!r}"
            f" (hash {str(m.get('scenario_hash', '?'))[:12]}), {', '.join(self.regions) or 'no region'} {span},"
            f" history to {m.get('history_last_year', '?')}, {draws} draw{'s' if draws != 1 else ''}",
            f"  {len(self.labels())} variables, {len(self.labels('maker', table='makers'))} makers"
            f" × {len(self.labels(table='makers'))} maker variables;"
            f" run {str(m.get('run_id', '?'))[:12]}, nevsim {m.get('nevsim_version', '?')},"
            f" {m.get('created_utc', '?')}",
        ]
        if len(self.regions) == 1 and "Sales Share|Cars|EV" in self.labels():
            show = []
            for y in _headline_years(self):
                v = self.value("Sales Share|Cars|EV", y)
                show.append(f"{y} {v:.1f} %" if math.isfinite(v) else f"{y} n/a")
            lines.append("  EV share of new cars: " + ", ".join(show))
        return "\n".join(lines) + ">"

    __str__ = __repr__


def _headline_years(res: Results) -> list[int]:
    years = sorted(int(y) for y in res.series["year"].unique())
    if not years:
        return []
    hist = res.meta.get("history_last_year")
    picks = [y for y in (hist, 2030, 2035, 2040, 2050, years[-1]) if y in years]
    return sorted(set(picks))


def _package_version() -> str:
    from nevsim import __version__

    return __version__
