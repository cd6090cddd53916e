"""Results store: runs, their series and makers' tables in one DuckDB file.

Default file: ``platformdirs.user_data_dir("nevsim")/runs.duckdb``; any path may be given.
What readers see (``series`` and ``makers`` are views)::

    runs    (run_id PK, scenario, hash, created, version, meta JSON, scenario_json JSON, run_key)
    series  (run_id, scenario, region, variable, unit, year, value, draw)
    makers  (run_id, scenario, region, maker, variable, unit, year, value, draw)

``draw`` is NULL for a deterministic run. The rows are stored without text (schema version 4): a
run's labels and years are written once per run as numbered *cells*, and a cell's consecutive
draws as one *block*, a list of values::

    series_cells  (run_key, cell, scenario, region, variable, unit, year)   -- once per run
    series_values (run_key, cell, first_draw, n_rows, value, value32)       -- one per block
    makers_cells  (run_key, cell, scenario, region, maker, variable, unit, year)
    makers_values (run_key, cell, first_draw, n_rows, value, value32)

``run_key`` is the run's integer key in ``runs``; the views join the three tables back into
the long tables above (same columns and types as the tables of schema version 1). A block's
values are in ``value`` (DOUBLE[], every bit) or, for draws saved with ``precision="single"``,
in ``value32`` (FLOAT[], about 7 significant digits; the other column is NULL): see
:data:`PRECISIONS`. A store of an older schema version is migrated in one transaction the first
time it is opened for writing; read-only opens read it as it is.

Every write (:meth:`Store.save`, :meth:`Store.delete`, the migration) is one transaction: when
it fails or is interrupted (an exception, Ctrl-C) it is rolled back and the store is left as it
was. DuckDB allows one writing process per file: the process that runs writes; readers open the
file read-only, and only for the duration of one call, so a notebook reading does not lock out a
later writer.

Usage::

    store = Store()                     # or Store("runs.duckdb")
    run_id = store.save(res)
    store.list_runs()                   # DataFrame
    res2 = store.load(run_id[:8])       # a unique prefix is enough
    store.delete(run_id)
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nevsim.errors import InputError
from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS, Results, cell_blocks, cell_codes

DEFAULT_FILENAME = "runs.duckdb"
SCHEMA_VERSION = 4
#: How a block of draws is stored (``Store.save(precision=…)``, a sweep file's ``precision``):
#: ``"double"`` keeps every bit (DOUBLE); ``"single"`` keeps the values of draws as FLOAT (IEEE
#: single precision: 24-bit significand, relative rounding error ≤ 2⁻²⁴ ≈ 6e-8, about 7 significant
#: digits). Single halves the bytes DuckDB writes, and with them the store's one writer's CPU
#: (docs/uncertainty.md, "Sweep speed-up") and the file size. Rows without a draw (a deterministic
#: run) are kept in double either way, and so is a block with a value single precision cannot hold
#: to that error (finite beyond ±3.4e38, or non-zero below 1.2e-38 in magnitude).
PRECISIONS = ("double", "single")
TABLES = {"series": SERIES_COLUMNS, "makers": MAKERS_COLUMNS}  # view name → its columns after run_id

_RUNS_COLUMNS = "run_id, scenario, hash, created, version, meta, scenario_json"
_RUNS_DDL = """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, scenario VARCHAR NOT NULL, hash VARCHAR, created TIMESTAMP,
        version VARCHAR, meta JSON, scenario_json JSON, run_key INTEGER NOT NULL UNIQUE)"""
_CELLS_DDL = {
    "series": """CREATE TABLE IF NOT EXISTS series_cells (
        run_key INTEGER NOT NULL, cell INTEGER NOT NULL, scenario VARCHAR, region VARCHAR, variable VARCHAR,
        unit VARCHAR, year INTEGER)""",
    "makers": """CREATE TABLE IF NOT EXISTS makers_cells (
        run_key INTEGER NOT NULL, cell INTEGER NOT NULL, scenario VARCHAR, region VARCHAR, maker VARCHAR,
        variable VARCHAR, unit VARCHAR, year INTEGER)""",
}
_VALUES_DDL = ("CREATE TABLE IF NOT EXISTS {table}_values (run_key INTEGER NOT NULL, cell INTEGER NOT NULL, "
               "first_draw INTEGER, n_rows INTEGER NOT NULL, value DOUBLE[], value32 FLOAT[])")
# schema version 3 (values in double only), kept to migrate older stores
_VALUES_DDL_V3 = ("CREATE TABLE IF NOT EXISTS {table}_values (run_key INTEGER NOT NULL, cell INTEGER NOT NULL, "
                  "first_draw INTEGER, n_rows INTEGER NOT NULL, value DOUBLE[] NOT NULL)")
# schema version 2 (one row a value), kept to migrate older stores
_VALUES_DDL_V2 = ("CREATE TABLE IF NOT EXISTS {table}_values (run_key INTEGER NOT NULL, cell INTEGER NOT NULL, "
                  "draw INTEGER, value DOUBLE)")
_INFO_DDL = "CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR)"
# schema version 1 (text labels on every row), kept to read and migrate older stores
_DDL_V1 = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, scenario VARCHAR NOT NULL, hash VARCHAR, created TIMESTAMP,
        version VARCHAR, meta JSON, scenario_json JSON)""",
    """CREATE TABLE IF NOT EXISTS series (
        run_id VARCHAR NOT NULL, scenario VARCHAR, region VARCHAR, variable VARCHAR, unit VARCHAR,
        year INTEGER, value DOUBLE, draw INTEGER)""",
    """CREATE TABLE IF NOT EXISTS makers (
        run_id VARCHAR NOT NULL, scenario VARCHAR, region VARCHAR, maker VARCHAR, variable VARCHAR,
        unit VARCHAR, year INTEGER, value DOUBLE, draw INTEGER)""",
    _INFO_DDL,
)


def encode(frame: pd.DataFrame, columns: tuple[str, ...], *, precision: str = "double") -> tuple[pd.DataFrame, Any]:
    """A long table as (cells, values): the compact form the store keeps.

    ``cells`` has one row per distinct label-and-year combination of ``columns`` (all but
    ``value``), numbered ``cell = 0, 1, …`` in order of first appearance; ``values`` is a
    :class:`pyarrow.Table` ``cell int32, first_draw int32, n_rows int32, value list<float64>,
    value32 list<float32>`` with one row per *block*: a longest run of ``n_rows`` consecutive rows of ``frame`` with the
    same cell whose draws count up by one (``first_draw``, ``first_draw + 1``, …) or are all
    missing (``first_draw`` null; a frame without ``draw``). ``value`` lists the block's values,
    or holds one value when all ``n_rows`` are the same number, bit for bit (history years and
    outputs a run's sampled inputs do not touch: about half the cells of a simulation). Decoding
    repeats each block's cell (and a one-value list) ``n_rows`` times and counts its draws up:
    nothing is lost. A simulation's table (draws vary fastest) has one block per cell and chunk
    of draws. ``precision`` (:data:`PRECISIONS`): ``"single"`` puts the blocks that have draws
    in ``value32`` instead of ``value``, rounded to single precision.
    """
    _check_precision(precision)
    keys = [c for c in columns if c != "value"]
    blocks = cell_blocks(frame, keys)
    if blocks is not None and "draw" in frame.columns:
        draws = _draw_grid(frame["draw"], blocks[0], len(frame))
        if draws is not None:  # the simulation's layout: cells × the same consecutive draws
            starts, labels = blocks
            cells_frame = pd.DataFrame({"cell": np.arange(len(starts), dtype=np.int32), **labels})
            value = frame["value"].to_numpy(dtype=np.float64).reshape(len(starts), draws.stop - draws.start)
            return cells_frame, encode_cells(cells_frame[keys], value, first_draw=draws.start, precision=precision)[1]
    try:
        cell, labels = cell_codes(frame, keys, blocks=blocks)
    except ValueError as exc:  # cannot happen with real labels
        raise InputError("results", f"cannot store these labels: {exc}") from None
    cells_frame = pd.DataFrame({"cell": np.arange(len(labels[keys[0]]) if keys else 0, dtype=np.int32),
                                **{c: labels[c] for c in keys}})
    draw, missing = _draws(frame["draw"]) if "draw" in frame.columns else (None, None)
    values = _blocks(cell.astype(np.int32, copy=False), draw, missing, frame["value"].to_numpy(dtype=np.float64),
                     precision=precision)
    return cells_frame, values


def _check_precision(precision: Any) -> None:
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise InputError("precision", f"unknown precision {precision!r} (double keeps every bit; single keeps "
                                      "draws to about 7 significant digits, half the size and write time).",
                         allowed=list(PRECISIONS))


def _value_columns(lists: Any, drawn: Any, precision: str) -> dict[str, Any]:
    """A blocks table's ``value`` (list<float64>) and ``value32`` (list<float32>) columns from the
    blocks' values ``lists`` (no nulls): each block's values in one of the two, the other NULL.
    With ``precision="single"`` the blocks that have draws (``drawn``: a bool, or one per block)
    go to ``value32``, each value rounded to the nearest single; a block holding a value that
    rounds out of single's normal range (a finite value to ±inf, a non-zero one to zero or a
    subnormal, where the relative error is no longer ≤ 2⁻²⁴) stays in ``value``, as does all else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    single_type = (pa.large_list if pa.types.is_large_list(lists.type) else pa.list_)(pa.float32())
    n = len(lists)
    drawn = np.broadcast_to(np.asarray(drawn, dtype=bool), (n,))
    if precision == "double" or not drawn.any():
        return {"value": lists, "value32": pa.nulls(n, single_type)}
    offsets = lists.offsets.to_numpy()
    flat = lists.values.to_numpy()[offsets[0]:offsets[-1]]
    with np.errstate(over="ignore"):  # (values beyond single's range are found just below)
        single = flat.astype(np.float32)
    with np.errstate(invalid="ignore"):
        lost = (np.isinf(single) & np.isfinite(flat)) | \
            ((np.abs(single) < np.finfo(np.float32).tiny) & (flat != 0) & ~np.isnan(flat))
    if lost.any():  # the blocks of those values stay in double
        drawn = drawn.copy()
        drawn[np.searchsorted(offsets, np.flatnonzero(lost) + offsets[0], side="right") - 1] = False
        if not drawn.any():
            return {"value": lists, "value32": pa.nulls(n, single_type)}
    rounded = (pa.LargeListArray if pa.types.is_large_list(lists.type) else pa.ListArray).from_arrays(
        pa.array(offsets - offsets[0]), pa.array(single))
    if drawn.all():
        return {"value": pa.nulls(n, lists.type), "value32": rounded}
    mask = pa.array(drawn)
    return {"value": pc.if_else(mask, pa.scalar(None, lists.type), lists),
            "value32": pc.if_else(mask, rounded, pa.scalar(None, single_type))}


def with_precision(blocks: Any, precision: str) -> Any:
    """Blocks (:func:`encode`) as stored with ``precision``: a table that has ``value32`` is as
    its maker encoded it and is returned as it is; one without (made by a nevsim before schema
    version 4, e.g. an older worker of a cluster) gets the two columns here."""
    _check_precision(precision)
    if "value32" in blocks.column_names:
        return blocks
    lists = blocks.column("value").combine_chunks()
    drawn = ~blocks.column("first_draw").is_null().to_numpy(zero_copy_only=False)
    out = blocks.drop_columns(["value"])
    for name, column in _value_columns(lists, drawn, precision).items():
        out = out.append_column(name, column)
    return out


def _draw_grid(column: pd.Series, starts: np.ndarray, n: int) -> range | None:
    """The draws ``first … last`` when every block of rows (``starts``; equal lengths) holds exactly
    these draws in order (a simulation's table), else None."""
    if not pd.api.types.is_integer_dtype(column.dtype) or isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return None
    width = n // len(starts)
    if width * len(starts) != n or not np.array_equal(starts, np.arange(0, n, width)):
        return None
    grid = column.to_numpy().reshape(len(starts), width)
    first = int(grid[0, 0])
    if not np.array_equal(grid[0], np.arange(first, first + width)) or not (grid == grid[0]).all():
        return None
    if first < np.iinfo(np.int32).min or first + width - 1 > np.iinfo(np.int32).max:
        return None
    return range(first, first + width)


def encode_cells(cells: pd.DataFrame, values: np.ndarray, first_draw: int, *,
                 precision: str = "double") -> tuple[pd.DataFrame, Any]:
    """The compact form of :func:`encode` from cells × draws (see :func:`nevsim.simulate.run_cells`).

    ``cells`` lists the cells' labels and year in order; ``values[i, j]`` is cell ``i`` in draw
    ``first_draw + j``. Each cell is one block of all the draws, kept as one value when all its
    draws have the same bits: what :func:`encode` makes of the long table these cells and
    values stand for (tested), without making or scanning that table.
    """
    import pyarrow as pa

    _check_precision(precision)
    values = np.asarray(values, dtype=np.float64)
    n_cells, n_draws = values.shape
    cells_frame = pd.DataFrame({"cell": np.arange(n_cells, dtype=np.int32),
                                **{c: cells[c].to_numpy() for c in cells.columns}})
    if n_cells == 0 or n_draws == 0:
        return cells_frame, _blocks(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.int32), None, np.zeros(0),
                                    precision=precision)
    bits = values.view(np.int64)
    same = (bits.min(axis=1) == bits.max(axis=1)) & (n_draws > 1)
    keep = np.ones(values.shape, dtype=bool)
    keep[same, 1:] = False
    flat = values[keep]  # row by row: each cell's draws, or its one value
    stored = np.where(same, 1, n_draws)
    offsets = np.concatenate(([0], np.cumsum(stored)))
    large = len(flat) >= 2**31
    lists = (pa.LargeListArray if large else pa.ListArray).from_arrays(
        pa.array(offsets.astype(np.int64 if large else np.int32)), pa.array(flat))
    return cells_frame, pa.table({"cell": pa.array(np.arange(n_cells, dtype=np.int32)),
                                  "first_draw": pa.array(np.full(n_cells, first_draw, dtype=np.int32)),
                                  "n_rows": pa.array(np.full(n_cells, n_draws, dtype=np.int32)),
                                  **_value_columns(lists, True, precision)})


def _draws(column: pd.Series) -> tuple[np.ndarray, np.ndarray | None]:
    """A ``draw`` column as int32 and the mask of its missing entries (None when none is missing)."""
    if pd.api.types.is_integer_dtype(column.dtype) and not isinstance(column.dtype, pd.api.extensions.ExtensionDtype):
        return column.to_numpy(dtype=np.int32), None
    missing = column.isna().to_numpy()
    return column.fillna(0).to_numpy(dtype=np.int32), (missing if missing.any() else None)


def _blocks(cell: np.ndarray, draw: np.ndarray | None, missing: np.ndarray | None, value: np.ndarray, *,
            precision: str = "double") -> Any:
    """Rows ``(cell, draw, value)`` as blocks ``(cell, first_draw, n_rows, [value, …])`` (see :func:`encode`).

    A block ends where the cell changes, where the next draw is not the last plus one, or
    where a draw goes from present to missing or back; ``draw`` None means all missing. A
    block whose values have one bit pattern keeps one value.
    """
    import pyarrow as pa

    n = len(cell)
    new = np.ones(n, dtype=bool)
    if n > 1:
        np.not_equal(cell[1:], cell[:-1], out=new[1:])
        if draw is not None:
            step = draw[1:] != draw[:-1] + 1
            if missing is not None:
                both = missing[1:] & missing[:-1]
                step = np.where(both, False, step | missing[1:] | missing[:-1])
            new[1:] |= step
    starts = np.flatnonzero(new)
    n_rows = np.diff(np.append(starts, n))
    if n:  # constant blocks: the same bits from first to last (−0.0 ≠ 0.0, NaN payloads kept)
        bits = value.view(np.int64)
        same = np.minimum.reduceat(bits, starts) == np.maximum.reduceat(bits, starts)
        same &= n_rows > 1
    else:
        same = np.zeros(0, dtype=bool)
    if same.any():
        dropped = np.repeat(same, n_rows)
        dropped[starts] = False  # a constant block keeps its first value
        value = value[~dropped]
        stored = np.where(same, 1, n_rows)
    else:
        stored = n_rows
    offsets = np.concatenate(([0], np.cumsum(stored)))
    large = len(value) >= 2**31
    lists = (pa.LargeListArray if large else pa.ListArray).from_arrays(
        pa.array(offsets.astype(np.int64 if large else np.int32)), pa.array(value))
    if draw is None:
        first = pa.nulls(len(starts), pa.int32())
        drawn: Any = False
    else:
        first = pa.array(draw[starts], mask=None if missing is None else missing[starts])
        drawn = True if missing is None else ~missing[starts]
    return pa.table({"cell": pa.array(cell[starts]), "first_draw": first,
                     "n_rows": pa.array(n_rows.astype(np.int32)), **_value_columns(lists, drawn, precision)})


def writer_settings(con: Any, *, checkpoint_mb: int | None = None, memory_mb: int | None = None) -> None:
    """DuckDB settings of a connection that appends runs (a save, a sweep's writer).

    One DuckDB thread and values written uncompressed: a table of lists is committed and
    checkpointed with ≈ 40 % less CPU on one thread and ≈ 45 % less without compression (file
    +2–8 %). Saving a 10,000-draw run with makers (96 M rows): 6.3 → 4.5 s. ``checkpoint_mb``
    (a sweep: 256) checkpoints after that much log instead of DuckDB's 16 MB (each checkpoint
    rewrites the open row group, which a sweep's chunks fill slowly; docs/uncertainty.md).
    ``memory_mb`` caps DuckDB's own buffers (:func:`save_memory_mb`). Settings only: what is
    stored, and how it reads, is the same.
    """
    con.execute("SET threads = 1")
    con.execute("SET force_compression = 'uncompressed'")
    if checkpoint_mb is not None:
        con.execute(f"SET checkpoint_threshold = '{int(checkpoint_mb)}MB'")
    if memory_mb is not None:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")


#: Rows per row group of what a save or a sweep's writer appends (DuckDB's default: 122,880; it
#: must be a multiple of DuckDB's vector of 2,048 rows). A stored row is a cell's block of draws:
#: 7,956 makers rows for a China run or a sweep chunk. With the default no row group of a save
#: or a chunk is full, so DuckDB logged all of it at commit and wrote it again at the checkpoint
#: (a sweep's open row group was rewritten at every checkpoint). Full row groups are written to
#: the file during the transaction; the log keeps only the last, open one. Saving a 10,000-draw
#: run with makers: 4.2 → 2.3–3.1 s in DuckDB, peak memory −0.5 to −0.8 GB; a sweep's writer
#: with makers (8 points × 2,500 draws): CPU 4.6–5.5 → 3.9–4.2 s against 8,192-row groups
#: (docs/uncertainty.md).
WRITE_ROW_GROUP_SIZE = 2048


def save_memory_mb(values: Iterable[Any]) -> int:
    """DuckDB's memory limit for saving encoded tables ``values`` (:func:`encode`), in MB.

    Four times one vector of 2,048 rows of the longest list (DuckDB reads an insert a vector at a
    time and grows a list vector by doubling: a 100,000-draw series save failed at 300 MB with a
    1 GiB allocation), and at least 512 MB. Left at DuckDB's default (80 % of the machine's
    memory) its buffers held the written blocks of a 10,000-draw run with makers: +0.7 GB peak.
    """
    longest = max((int(np.max(v.column("n_rows").to_numpy())) for v in values if v.num_rows), default=1)
    return max(512, -(-4 * 2048 * 8 * longest // 2**20))


def default_path() -> Path:
    """``<user data dir>/nevsim/runs.duckdb`` (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("nevsim")) / DEFAULT_FILENAME


class Store:
    """A DuckDB file of runs (see the module docs)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_path()
        if self.path.exists() and self.path.is_dir():
            raise InputError("store", f"{self.path} is a directory; give a file path such as "
                                      f"{self.path / DEFAULT_FILENAME}.")

    def __repr__(self) -> str:
        n = len(self.list_runs()) if self.path.exists() else 0
        return f"<nevsim Store {str(self.path)!r}: {n} run{'s' if n != 1 else ''}>"

    # -- connections

    @contextmanager
    def _connect(self, *, write: bool, row_group_size: int | None = None) -> Iterator[Any]:
        """An open DuckDB connection; for writing, a new file gets the tables and a version-1 file is migrated.

        ``row_group_size`` (writing only): the store is attached with that many rows per row
        group for what this connection writes (DuckDB's default is 122,880). A sweep's writer
        uses a small one: its rows hold lists of a chunk's draws, so a default row group stays
        open for dozens of chunks and every checkpoint rewrote it (16 points × 2,500 draws with
        makers: writer CPU 15.3 → 9.2 s, file 2.7 → 1.5 GB). Reading is unchanged.
        """
        import duckdb

        if write:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError("store", f"cannot make the folder {self.path.parent} for the store "
                                          f"({exc.strerror or type(exc).__name__}).") from None
        try:
            if row_group_size is not None and write:
                con = duckdb.connect()  # an in-memory catalog with the store attached as its default
                quoted = str(self.path).replace("'", "''")
                try:
                    con.execute(f"ATTACH '{quoted}' AS nevsim_store (ROW_GROUP_SIZE {int(row_group_size)})")
                    con.execute("USE nevsim_store")
                    # spills beside the store, as a direct connection does (not in the working directory)
                    con.execute(f"SET temp_directory = '{quoted}.tmp'")
                except BaseException:
                    con.close()
                    raise
            else:
                con = duckdb.connect(str(self.path), read_only=not write)
        except duckdb.Error as exc:
            raise self._unreadable(exc, write) from None
        try:
            version = schema_version(con)
            if version > SCHEMA_VERSION:
                raise InputError("store", f"{self.path} has store schema version {version}, newer than this "
                                          f"nevsim reads; upgrade nevsim to use it.",
                                 allowed=[str(v) for v in range(1, SCHEMA_VERSION + 1)])
            if write and version < SCHEMA_VERSION:
                _transaction(con, _create if version == 0 else _migrate(version))
            yield con
        except duckdb.Error as exc:  # a damaged file shows when its blocks are read, not at opening
            if not _is_damaged(exc):
                raise
            raise self._unreadable(exc, write) from None
        finally:
            con.close()

    def _unreadable(self, exc: Exception, write: bool) -> Exception:
        """The InputError for a store file DuckDB cannot open or read, saying which of the causes it is.

        A file that is not a DuckDB database, a damaged one (a block whose checksum does not
        match) and one locked by another process each get their own message; any other DuckDB
        error is returned as it is (a bug, not bad input).
        """
        import duckdb

        text = str(exc)
        how = "write" if write else "read"
        if "not a valid DuckDB database file" in text:
            return InputError("store", f"{self.path} is not a nevsim results store (not a DuckDB database file); "
                                       "give a store file written by nevsim, or a new file name.")
        if _is_damaged(exc):
            return InputError("store", f"{self.path} is damaged and cannot be read ({text.splitlines()[0]}); "
                                       "nothing was changed. Restore it from a copy, or give another store file.")
        if "lock" in text.casefold():
            return InputError("store", f"cannot open {self.path} ({how}): another process holds it ({text}). "
                                       "Only one process may write to a store at a time.")
        if isinstance(exc, duckdb.IOException):
            return InputError("store", f"cannot open {self.path} ({how}): {text}")
        return exc

    # -- writing

    def check_writable(self) -> None:
        """Open the store for writing and close it: a file that is not a store, a damaged one or one
        another process holds is an :class:`InputError` now, before a long run whose result it would
        then refuse. Nothing is written to an existing store (a version-1 file is migrated, as any
        write would)."""
        with self._connect(write=True):
            pass

    def save(self, results: Results, *, precision: str = "double") -> str:
        """Store a run (one transaction) and return its run id.

        The run id is ``results.meta["run_id"]`` (a new one is made if missing). Saving a run id
        that is already stored raises :class:`InputError`. ``precision`` (:data:`PRECISIONS`):
        ``"double"`` keeps every bit; ``"single"`` keeps the values of draws to single precision
        (about 7 significant digits), half the file size and write time for a large Monte Carlo
        run; rows without a draw stay in double.
        """
        if not isinstance(results, Results):
            raise InputError("results", f"expected nevsim.results.Results, got {type(results).__name__}.")
        _check_precision(precision)
        run_id = str(results.meta.get("run_id") or uuid.uuid4().hex)
        with self._connect(write=True, row_group_size=WRITE_ROW_GROUP_SIZE) as con:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchall():
                raise InputError("run_id", f"run {run_id} is already in {self.path}; delete it first "
                                           "or save a new run.")

            from nevsim._memory import small_pages

            with small_pages():  # (a 10,000-draw run's blocks are built from 96 M rows: see nevsim._memory)
                encoded = {"series": encode(results.series, SERIES_COLUMNS, precision=precision),
                           "makers": encode(results.makers, MAKERS_COLUMNS, precision=precision)}

            writer_settings(con, memory_mb=save_memory_mb(values for _, values in encoded.values()))

            # (from the blocks as encoded: some went to value32, not a second scan of the draws)
            single = any(values.column("value32").null_count < values.num_rows for _, values in encoded.values())

            def write(con: Any) -> None:
                run_key = self._write_run(con, run_id, results, single)
                for table in list(encoded):
                    cells, values = encoded.pop(table)  # (DuckDB has its copy: not held to the commit)
                    self._write_table(con, table, run_key, cells, values)
                    del cells, values

            _transaction(con, write)
        return run_id

    @staticmethod
    def _write_run(con: Any, run_id: str, results: Results, single: bool = False) -> int:
        meta = {**results.meta, "run_id": run_id}
        if single:  # some blocks kept in single precision: a loaded run says so
            meta["store_precision"] = "single"
        created = pd.to_datetime(meta.get("created_utc"), utc=True, errors="coerce")
        created_value = None if pd.isna(created) else created.tz_convert(None).to_pydatetime()
        return insert_run(con, run_id, str(meta.get("scenario", results.scenario.get("name", ""))),
                          meta.get("scenario_hash"), created_value, meta.get("nevsim_version"), meta,
                          results.scenario)

    @staticmethod
    def _write_table(con: Any, table: str, run_key: int, cells: pd.DataFrame, values: Any) -> None:
        append_rows(con, table, run_key, cells, values)

    def delete(self, run_id: str) -> str:
        """Delete a run (one transaction); returns the full run id deleted."""
        full = self._resolve(run_id)
        with self._connect(write=True) as con:

            def remove(con: Any) -> None:
                for table in ("series_values", "series_cells", "makers_values", "makers_cells"):
                    con.execute(f"DELETE FROM {table} WHERE run_key = (SELECT run_key FROM runs WHERE run_id = ?)",
                                [full])
                con.execute("DELETE FROM runs WHERE run_id = ?", [full])

            _transaction(con, remove)
        return full

    # -- reading

    def list_runs(self) -> pd.DataFrame:
        """Runs in the store, newest first: run_id, scenario, hash, created, version, regions, years."""
        columns = ["run_id", "scenario", "hash", "created", "version", "regions", "first_year", "last_year",
                   "history_last_year", "draws"]
        if not self.path.exists():
            return pd.DataFrame(columns=columns)
        with self._connect(write=False) as con:
            if not con.execute("SELECT 1 FROM information_schema.tables WHERE table_name = 'runs'").fetchone():
                return pd.DataFrame(columns=columns)
            raw = con.execute("SELECT run_id, scenario, hash, created, version, meta FROM runs "
                              "ORDER BY created DESC NULLS LAST, run_id").df()
        meta = raw["meta"].map(json.loads)
        out = raw.drop(columns="meta")
        out["regions"] = meta.map(lambda m: ",".join(m.get("regions") or []))
        for key in ("first_year", "last_year", "history_last_year", "draws"):
            out[key] = meta.map(lambda m, k=key: m.get(k)).astype("Int64")
        return out[columns].reset_index(drop=True)

    def _resolve(self, run_id: str) -> str:
        """Full run id of ``run_id`` or of a unique prefix of one; InputError listing known ids."""
        runs = self.list_runs()
        ids = runs["run_id"].tolist()
        rid = str(run_id).strip()
        if rid in ids:
            return rid
        matches = [i for i in ids if rid and i.startswith(rid)]
        if len(matches) == 1:
            return matches[0]
        # whole ids: a shortened one can be ambiguous itself (sweep points share their first 12 characters)
        shown = ids[:5] + ([f"… ({len(ids)} runs; see `nevsim runs list`)"] if len(ids) > 5 else [])
        if len(matches) > 1:
            more = [f"… ({len(matches)} matches)"] if len(matches) > 10 else []
            raise InputError("run_id", f"{run_id!r} matches {len(matches)} runs in {self.path}; give more "
                                       "characters.", matches[:10] + more)
        if not ids:
            raise InputError("run_id", f"unknown run id {run_id!r}: the store {self.path} holds no runs.", [])
        raise InputError("run_id", f"unknown run id {run_id!r} in {self.path}.", shown)

    def load(self, run_id: str) -> Results:
        """The stored run as :class:`Results` (a unique prefix of the run id is enough)."""
        from nevsim._memory import small_pages

        full = self._resolve(run_id)
        with self._connect(write=False) as con, small_pages():  # (large tables: see nevsim._memory)
            row = con.execute("SELECT meta, scenario_json FROM runs WHERE run_id = ?", [full]).fetchone()
            version = schema_version(con)
            tables = {}
            for table, columns in TABLES.items():
                if version == 1:
                    tables[table] = con.execute(f"SELECT {', '.join(columns)}, draw FROM {long_rows(1, table)} "
                                                "WHERE run_id = ? ORDER BY stored_row", [full]).df()
                else:
                    tables[table] = _read_run(con, table, full, version, int64_year=True)
            meta, scenario = json.loads(row[0]), json.loads(row[1])
            series, makers = tables["series"], tables["makers"]
            if series["draw"].isna().all():
                series = series.drop(columns="draw")
            if makers["draw"].isna().all():
                makers = makers.drop(columns="draw")
            return Results(series, makers, meta, scenario)


def _read_run(con: Any, table: str, run_id: str, version: int = SCHEMA_VERSION, *,
              int64_year: bool = False) -> pd.DataFrame:
    """One run's long table (schema version ≥ 2), rows in the order written.

    The blocks are read as they are stored and expanded here, their cells' labels repeated per
    block (:func:`_unblock_parts`, :func:`_label_column`): the same rows as the view gives,
    without DuckDB unnesting, joining and converting every label of every row.
    """

    columns = TABLES[table]
    labels = [c for c in columns if c != "value"]
    cur = con.cursor()  # a fresh cursor: no pending result of the caller's in the way
    try:
        cells = cur.sql(f"SELECT c.cell, {', '.join('c.' + c for c in labels)} FROM {table}_cells c "
                        "JOIN runs r ON r.run_key = c.run_key WHERE r.run_id = ? ORDER BY c.cell",
                        params=[run_id]).to_arrow_table()
        stored_values = ("v.first_draw, v.n_rows, v.value, v.value32" if version >= 4 else
                         "v.first_draw, v.n_rows, v.value" if version == 3 else "v.draw, v.value")
        # the blocks in the order written: read with their row ids and put in order here when the
        # scan did not keep it (sorting rows of long lists in DuckDB moved every list: 0.9–1.2 s
        # against 0.5 s for a 10,000-draw makers table read as scanned)
        blocks = cur.sql(f"SELECT v.rowid AS _row, v.cell, {stored_values} FROM {table}_values v JOIN runs r "
                         "ON r.run_key = v.run_key WHERE r.run_id = ?", params=[run_id]).to_arrow_table()
    finally:
        cur.close()
    blocks = _in_written_order(blocks)
    unblocked = None
    if version >= 3:
        block_cell = blocks.column("cell").to_numpy()
        lengths = blocks.column("n_rows").to_numpy().astype(np.int64)
        first = blocks.column("first_draw")
        many = first.null_count < len(first)  # a Monte Carlo run: labels as categoricals, as the run gave them
    else:  # one row a value
        block_cell, draw, value = blocks.column("cell").to_numpy(), blocks.column("draw"), _numpy(blocks.column("value"))
        lengths = np.ones(len(block_cell), dtype=np.int64)
        if not draw.null_count:
            draw = _numpy(draw)
        many = draw.null_count < len(draw) if not isinstance(draw, np.ndarray) else len(draw) > 0
    stored = cells.column("cell").to_numpy()
    where = np.zeros(int(stored.max()) + 1 if len(stored) else 0, dtype=np.int64)
    where[stored] = np.arange(len(stored))
    block_rows = where[block_cell]  # each block's position among the run's cells
    # pandas columns made straight from the repeated arrays (one copy of a 10,000-draw table, not two);
    # a large table's columns are filled on two threads (numpy assigns without the GIL: _repeat_blocks)
    threads = 2 if int(lengths.sum()) >= 1 << 20 else 1
    with ThreadPoolExecutor(threads, thread_name_prefix="nevsim-load") as pool:
        if version >= 3:
            unblocked = pool.submit(_unblock_parts, blocks)
        label_columns = {c: pool.submit(_label_column, cells.column(c), block_rows, lengths, categorical=many,
                                        int64=int64_year) for c in labels}
        columns_out: dict[str, Any] = {c: f.result() for c, f in label_columns.items()}
        if unblocked is not None:
            _, _, draw, value = unblocked.result()
    columns_out["value"] = value  # writable numpy arrays: a loaded run can be edited like a fresh one
    columns_out["draw"] = draw if isinstance(draw, np.ndarray) else draw.to_pandas()  # nulls: float64 NaN
    frame = pd.DataFrame(columns_out, copy=False)
    n_missing = 0 if isinstance(draw, np.ndarray) else draw.null_count
    if n_missing not in (0, len(draw)):  # mixed: as DuckDB gives it
        frame["draw"] = frame["draw"].astype("float64")
    return frame


def _numpy(array: Any) -> np.ndarray:
    """An Arrow array (or chunked array) without nulls as a writable numpy array (a copy only
    when Arrow's own buffer would have been handed out)."""
    out = array.to_numpy() if hasattr(array, "num_chunks") else array.to_numpy(zero_copy_only=False)
    return out if out.flags.writeable else out.copy()


def _in_written_order(blocks: Any) -> Any:
    """Rows read with their row ids (``_row``) in row-id order, without ``_row`` (taken only when
    the scan did not return them in order)."""
    row = blocks.column("_row").to_numpy()
    if len(row) > 1 and not bool(np.all(row[1:] > row[:-1])):
        blocks = blocks.take(np.argsort(row, kind="stable"))
    return blocks.drop_columns(["_row"])


def _unblock(blocks: Any) -> tuple[np.ndarray, Any, Any]:
    """Stored blocks ``(cell, first_draw, n_rows, value list)`` back to rows: ``(cell, draw, value)``
    (numpy int64 cells, Arrow int32 draws with nulls, Arrow float64 values), in order."""
    block_cell, lengths, draw, value = _unblock_parts(blocks)
    return np.repeat(block_cell.astype(np.int64), lengths), _arrow(draw), _arrow(value)


def _unblock_parts(blocks: Any) -> tuple[np.ndarray, np.ndarray, Any, Any]:
    """Stored blocks back to rows, the labels left per block: ``(block cell, block n_rows, draw, value)``.

    Values (a writable numpy float64 array): a one-value block's value is repeated ``n_rows``
    times, the other values stay as they are (one ``repeat`` of the stored values, no index per
    row); draws count up from each block's ``first_draw`` (numpy int32, or an Arrow int32 array
    with nulls where draws are missing).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = _stored_lists(blocks)
    lengths = blocks.column("n_rows").to_numpy().astype(np.int64)
    total = int(lengths.sum())
    flat = pa.chunked_array([chunk.flatten() for chunk in lists.chunks], type=pa.float64())
    stored = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    single = stored != lengths
    flat_values = flat.to_numpy()
    width = _equal_length(lengths)
    if single.any() and width:  # blocks of one length (a simulation's): runs of blocks assigned in place
        value = np.empty(total)
        table = value.reshape(len(lengths), width)
        at = np.cumsum(stored) - stored  # each block's first stored value
        for i, j in _runs(single):
            if single[i]:  # one value a block, repeated along the row
                table[i:j] = flat_values[at[i]:at[i] + (j - i), None]
            else:
                table[i:j] = flat_values[at[i]:at[i] + (j - i) * width].reshape(j - i, width)
    elif single.any():  # each stored value appears once, a one-value block's n_rows times
        counts = np.ones(len(flat), dtype=np.int64)
        counts[(np.cumsum(stored) - stored)[single]] = lengths[single]
        value = np.repeat(flat_values, counts)
    else:
        value = flat_values if flat_values.flags.writeable else flat_values.copy()
    block_cell = blocks.column("cell").to_numpy()
    first = blocks.column("first_draw")
    if first.null_count == len(first):
        return block_cell, lengths, pa.nulls(total, pa.int32()), value
    first_draw = first.fill_null(0).to_numpy().astype(np.int32)
    if width:  # each block counts up from its first draw
        draw = np.empty(total, dtype=np.int32)
        np.add(np.arange(width, dtype=np.int32)[None, :], first_draw[:, None], out=draw.reshape(len(lengths), width))
    else:
        starts = np.cumsum(lengths) - lengths
        draw = np.arange(total, dtype=np.int32)
        draw += np.repeat((first_draw.astype(np.int64) - starts).astype(np.int32), lengths)
    if not first.null_count:
        return block_cell, lengths, draw, value
    missing = _repeat_blocks(first.is_null().to_numpy(zero_copy_only=False), lengths)
    return block_cell, lengths, pa.array(draw, mask=missing), value


def _stored_lists(blocks: Any) -> Any:
    """The blocks' value lists as float64 lists: ``value``, or ``value32`` (single precision,
    widened exactly) where ``value`` is NULL (schema version ≥ 4). A table of one kind is passed
    through or cast whole; only a mix is merged row by row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lists = blocks.column("value")
    if "value32" not in blocks.column_names:
        return lists
    single = blocks.column("value32")
    if single.null_count == len(single):
        return lists
    widened = single.cast(pa.large_list(pa.float64()) if pa.types.is_large_list(single.type)
                          else pa.list_(pa.float64()))
    if lists.null_count == len(lists):
        return widened
    return pc.coalesce(lists.cast(widened.type), widened)


def _equal_length(lengths: np.ndarray) -> int:
    """The blocks' common number of rows (≥ 1), or 0 when they differ (or there are none)."""
    return int(lengths[0]) if len(lengths) and lengths[0] > 0 and bool(np.all(lengths == lengths[0])) else 0


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of equal consecutive values of ``flags``."""
    edges = np.flatnonzero(flags[1:] != flags[:-1]) + 1
    bounds = [0, *edges.tolist(), len(flags)]
    return list(itertools.pairwise(bounds))


def _repeat_blocks(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``np.repeat(x, lengths)``; when all lengths are equal, one assignment (numpy copies
    without the GIL, so a loaded run's columns fill on two threads; np.repeat holds it)."""
    from nevsim._memory import repeat_each

    width = _equal_length(lengths)
    return repeat_each(x, width) if width else np.repeat(x, lengths)


def _arrow(array: Any) -> Any:
    """A numpy array as an Arrow array (Arrow arrays pass through)."""
    import pyarrow as pa

    return pa.array(array) if isinstance(array, np.ndarray) else array


def _label_column(column: Any, block_rows: np.ndarray, lengths: np.ndarray, *, categorical: bool,
                  int64: bool = False) -> Any:
    """A label column of the cells for every row, ready for pandas: block ``i`` is cell
    ``block_rows[i]`` repeated ``lengths[i]`` times.

    With ``categorical`` (a run with draws) text becomes a pandas categorical (the labels of the
    run's cells as its categories, as :func:`nevsim.simulate.run` gives them for draws): a
    10,000-draw makers table holds 80 M labels a column, which as text would take gigabytes;
    its codes are int8/int16, repeated per block. Otherwise text stays text (a one-draw run, as
    run gives it). Other columns (``year``) are numpy arrays repeated per block (whole numbers
    as int64 with ``int64``).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
    if not text or not categorical:
        if column.null_count or text:
            return _large(column).take(pa.array(np.repeat(block_rows, lengths))).to_pandas()
        per_cell = column.to_numpy()[block_rows]  # int64: the year as Results keeps it (no second pass)
        return _repeat_blocks(per_cell.astype(np.int64) if int64 and per_cell.dtype.kind in "iu" else per_cell,
                              lengths)
    encoded = pc.dictionary_encode(column)  # the distinct labels, and each cell's
    n = len(encoded.dictionary)
    small = np.int8 if n < 2**7 else np.int16 if n < 2**15 else np.int32  # as pandas keeps categorical codes
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    mask = np.isnan(codes) if codes.dtype.kind == "f" else None  # a missing label (null index): code −1
    cell_codes = np.where(mask, -1, codes).astype(small) if mask is not None else codes.astype(small)
    return pd.Categorical.from_codes(_repeat_blocks(cell_codes[block_rows], lengths),
                                     categories=encoded.dictionary.to_pandas(), validate=False)


def _large(column: Any) -> Any:
    """Text as ``large_string`` (64-bit offsets: a label column of 10⁸ rows exceeds 2 GB)."""
    import pyarrow as pa

    return column.cast(pa.large_string()) if pa.types.is_string(column.type) else column


# ---------------------------------------------------------------------------- schema, shared with nevsim.sweep


def _is_damaged(exc: BaseException) -> bool:
    """Whether a DuckDB error reports a damaged file (a block that fails its checksum or cannot be parsed)."""
    text = str(exc)
    return "Corrupt database file" in text or ("checksum" in text and "does not match" in text)


def schema_version(con: Any) -> int:
    """The store's schema version: 0 for a file without tables, 1 for stores written before version 2."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = 'main'").fetchall()}
    if "store_info" in tables:
        row = con.execute("SELECT value FROM store_info WHERE key = 'schema_version'").fetchone()
        if row is not None:
            try:
                return int(row[0])
            except ValueError:
                raise InputError("store", f"unreadable store schema version {row[0]!r}",
                                 allowed=[str(v) for v in range(1, SCHEMA_VERSION + 1)]) from None
    return 1 if "runs" in tables else 0


def block_values_sql(version: int = SCHEMA_VERSION) -> str:
    """SQL of a stored block's values as a list of ``n_rows`` doubles (schema version ≥ 3, a
    ``*_values`` row): the list itself, or its one value repeated ``n_rows`` times; from version 4
    the list is ``value``, or ``value32`` widened where ``value`` is NULL."""
    value = "value" if version == 3 else "coalesce(value, CAST(value32 AS DOUBLE[]))"
    return f"CASE WHEN len({value}) = n_rows THEN {value} ELSE list_resize({value}, n_rows, {value}[1]) END"


def long_rows(version: int, table: str) -> str:
    """SQL (a sub-query) of a table's long rows: ``run_id``, its columns, ``draw`` and ``stored_row``.

    ``stored_row`` orders the rows as they were written. Schema version ≥ 3 unnests each block of
    values (draws counted up from ``first_draw``) and joins it to its cell and run; version 2
    joins one row per value; version 1 (read-only opens of older stores) reads the table itself.
    """
    columns = TABLES[table]
    if version == 1:
        return f"(SELECT run_id, {', '.join(columns)}, draw, rowid AS stored_row FROM {table})"
    labels = ", ".join(f"c.{c}" for c in columns if c != "value")
    values = f"{table}_values"
    if version >= 3:  # three unnests of lists of n_rows: zipped; a one-value list repeated n_rows times
        values = (f"(SELECT run_key, cell, unnest({block_values_sql(version)}) AS value, "
                  f"CAST(first_draw + unnest(range(n_rows)) AS INTEGER) AS draw, "
                  f"rowid * 4294967296 + unnest(range(n_rows)) AS rowid FROM {table}_values)")
    return (f"(SELECT r.run_id, {labels}, v.value, v.draw, v.rowid AS stored_row FROM {values} v "
            f"JOIN {table}_cells c ON c.run_key = v.run_key AND c.cell = v.cell "
            "JOIN runs r ON r.run_key = v.run_key)")


def _view_ddl(table: str) -> str:
    """The reader's view ``series``/``makers`` (schema version ≥ 2): the long rows without their order."""
    return (f"CREATE OR REPLACE VIEW {table} AS SELECT run_id, {', '.join(TABLES[table])}, draw "
            f"FROM {long_rows(SCHEMA_VERSION, table)}")


def _transaction(con: Any, work: Any) -> None:
    """Run ``work(con)`` in one transaction: all of it or, on any error or interrupt, none of it."""
    con.execute("BEGIN TRANSACTION")
    try:
        work(con)
        con.execute("COMMIT")
    except BaseException:  # incl. KeyboardInterrupt: leave the store as it was
        con.execute("ROLLBACK")
        raise


def _create(con: Any) -> None:
    con.execute(_INFO_DDL)
    con.execute(_RUNS_DDL)
    for table in TABLES:
        con.execute(_CELLS_DDL[table])
        con.execute(_VALUES_DDL.format(table=table))
        con.execute(_view_ddl(table))
    _set_version(con)


def _set_version(con: Any) -> None:
    con.execute("INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])


def _migrate(version: int) -> Any:
    """The migration of a store of schema ``version`` to the current one (run in one transaction)."""

    def migrate(con: Any) -> None:
        if version == 1:
            _migrate_v1(con)
        if version <= 2:
            _migrate_v2(con)
        _migrate_v3(con)
        _set_version(con)

    return migrate


def _migrate_v1(con: Any) -> None:
    """Schema version 1 → 2 (inside :func:`_migrate`'s transaction): runs get ``run_key``
    (numbered by creation), each table's distinct labels and years become its runs' cells
    (numbered in the order the rows were written) and its rows become values, in their order."""
    for ddl in _DDL_V1:  # a version-1 file may lack a table it never needed
        con.execute(ddl)
    con.execute(_RUNS_DDL.replace("runs (", "runs_v2 (", 1))
    con.execute(f"INSERT INTO runs_v2 SELECT {_RUNS_COLUMNS}, "
                "CAST(row_number() OVER (ORDER BY created NULLS FIRST, run_id) AS INTEGER) FROM runs")
    for table, columns in TABLES.items():
        con.execute(_CELLS_DDL[table])
        con.execute(_VALUES_DDL_V2.format(table=table))
        labels = [c for c in columns if c != "value"]
        cols = ", ".join(labels)
        con.execute(f"""INSERT INTO {table}_cells
            SELECT r.run_key, CAST(row_number() OVER (PARTITION BY r.run_key ORDER BY first_row) - 1 AS INTEGER),
                   {", ".join(f"t.{c}" for c in labels)}
            FROM (SELECT run_id, {cols}, min(rowid) AS first_row FROM {table} GROUP BY ALL) t
            JOIN runs_v2 r USING (run_id) ORDER BY r.run_key, first_row""")
        same = " AND ".join(f"c.{c} IS NOT DISTINCT FROM t.{c}" for c in labels)
        con.execute(f"""INSERT INTO {table}_values
            SELECT r.run_key, c.cell, t.draw, t.value FROM {table} t JOIN runs_v2 r USING (run_id)
            JOIN {table}_cells c ON c.run_key = r.run_key AND {same} ORDER BY t.rowid""")
        con.execute(f"DROP TABLE {table}")
    con.execute("DROP TABLE runs")
    con.execute("ALTER TABLE runs_v2 RENAME TO runs")


def _migrate_v2(con: Any) -> None:
    """Schema version 2 → 3 (inside :func:`_migrate`'s transaction): each table's values, one
    row a value, become blocks (:func:`encode`): consecutive rows of one run and cell whose
    draws count up by one, or which have no draw, become one list, in the order written."""
    for table in TABLES:
        con.execute(f"DROP VIEW IF EXISTS {table}")
        con.execute(_VALUES_DDL_V3.format(table=f"{table}_v3"))
        same_block = ("run_key = lag(run_key) OVER w AND cell = lag(cell) OVER w AND "
                      "((draw IS NULL AND lag(draw) OVER w IS NULL) OR draw = lag(draw) OVER w + 1)")
        con.execute(f"""INSERT INTO {table}_v3_values
            SELECT run_key, cell, min(draw), CAST(count(*) AS INTEGER), list(value ORDER BY stored_row)
            FROM (SELECT *, sum(new_block) OVER (ORDER BY stored_row ROWS UNBOUNDED PRECEDING) AS block
                  FROM (SELECT run_key, cell, draw, value, rowid AS stored_row,
                               CASE WHEN {same_block} THEN 0 ELSE 1 END AS new_block
                        FROM {table}_values WINDOW w AS (ORDER BY rowid)))
            GROUP BY block, run_key, cell ORDER BY block""")
        con.execute(f"DROP TABLE {table}_values")
        con.execute(f"ALTER TABLE {table}_v3_values RENAME TO {table}_values")


def _migrate_v3(con: Any) -> None:
    """Schema version 3 → 4 (inside :func:`_migrate`'s transaction): each ``*_values`` table gets
    ``value32`` (FLOAT[], NULL for every stored block) and ``value`` may be NULL; nothing stored
    changes. The views are made again over the new columns."""
    for table in TABLES:
        con.execute(f"DROP VIEW IF EXISTS {table}")
        con.execute(f"ALTER TABLE {table}_values ALTER COLUMN value DROP NOT NULL")
        con.execute(f"ALTER TABLE {table}_values ADD COLUMN value32 FLOAT[]")
        con.execute(_view_ddl(table))


def insert_run(con: Any, run_id: str, scenario: str, scenario_hash: Any, created: Any, version: Any,
               meta: dict[str, Any], scenario_json: Any) -> int:
    """Add a row to ``runs`` with the next free ``run_key`` (inside the caller's transaction); returns the key."""
    run_key = int(con.execute("SELECT coalesce(max(run_key), 0) + 1 FROM runs").fetchone()[0])
    con.execute(f"INSERT INTO runs ({_RUNS_COLUMNS}, run_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, scenario, scenario_hash, created, version, json.dumps(meta, default=str),
                 json.dumps(scenario_json, default=str), run_key])
    return run_key


def _label_tuples(frame: pd.DataFrame, labels: list[str]) -> list[tuple[Any, ...]]:
    columns = [[None if isinstance(v, float) and v != v else v for v in frame[c].tolist()] for c in labels]
    return list(zip(*columns, strict=True))


def _same_labels(stored: pd.DataFrame, cells: pd.DataFrame, labels: list[str]) -> bool:
    """Whether the chunk's cells and the run's stored cells agree on every cell both have, in
    order (compared a column at a time; missing labels equal each other)."""
    n = min(len(stored), len(cells))
    for c in labels:
        left, right = stored[c].iloc[:n].to_numpy(), cells[c].iloc[:n].to_numpy()
        try:
            same = (left == right) | (pd.isna(left) & pd.isna(right))
            if not bool(np.all(same)):
                return False
        except (TypeError, ValueError):  # labels that do not compare as arrays: match them one by one
            return False
    return True


def append_rows(con: Any, table: str, run_key: int, cells: pd.DataFrame, values: Any,
                known: pd.DataFrame | None = None) -> pd.DataFrame:
    """Append encoded rows (see :func:`encode`) of run ``run_key`` to ``table`` (``series``/``makers``).

    The chunk's cells are matched to the run's stored cells by their labels and year; cells
    the run does not have yet are added. When they are the same in the same order (every
    chunk of a sweep point) the values go in as they are: one ``INSERT`` of one row a block.
    ``known`` is the run's stored cells as this function returned them last time (a writer
    appending chunk after chunk keeps it and saves reading them back); ``None`` reads them.
    Returns the run's cells after the append (labels and year, in cell order). An empty chunk
    (no cells, no values) writes nothing.
    """
    import pyarrow as pa

    labels = [c for c in TABLES[table] if c != "value"]
    if known is None:
        stored = con.execute(f"SELECT {', '.join(labels)} FROM {table}_cells WHERE run_key = ? ORDER BY cell",
                             [run_key]).df()
    else:
        stored = known
    if len(cells) == 0 and values.num_rows == 0:
        return stored
    n_known = len(stored)
    if not _same_labels(stored, cells, labels):  # else the chunk's cell numbers are the run's
        new = _label_tuples(cells, labels)
        where = {label: i for i, label in enumerate(_label_tuples(stored, labels))}
        mapping = np.empty(len(new), dtype=np.int32)
        for i, label in enumerate(new):
            mapping[i] = where.setdefault(label, len(where))
        values = values.set_column(0, "cell", pa.array(mapping[values.column("cell").to_numpy()]))
        cells = cells.assign(cell=mapping)
    add = cells[cells["cell"].to_numpy() >= n_known]
    if len(add):
        con.register("_nevsim_cells", add)
        try:
            con.execute(f"INSERT INTO {table}_cells SELECT CAST(? AS INTEGER), cell, {', '.join(labels)} "
                        "FROM _nevsim_cells", [run_key])
        finally:
            con.unregister("_nevsim_cells")
        stored = pd.concat([stored, add.sort_values("cell")[labels]], ignore_index=True)
    single = "value32" if "value32" in values.column_names else "NULL"
    con.register("_nevsim_values", values)
    try:
        con.execute(f"INSERT INTO {table}_values SELECT CAST(? AS INTEGER), cell, first_draw, n_rows, value, "
                    f"{single} FROM _nevsim_values",
                    [run_key])
    finally:
        con.unregister("_nevsim_values")
    return stored
