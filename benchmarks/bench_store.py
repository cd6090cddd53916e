"""Store schemas 1, 2 and 4 (double and single precision): the writer's CPU per row, the worker's encoding, reading a run back (script; not a test).

``.venv/bin/python benchmarks/bench_store.py [--draws 1000] [--load-draws 0] [--reps 3]``

One chunk of ``draws`` draws of China 2010–2060 (with the makers table) is computed once,
then written ``reps`` times each way into a fresh file, alternating:

* schema 1: the rows with their six text columns (``run_id, scenario, region, [maker,]
  variable, unit``) appended from the Arrow table the workers used to send
  (``INSERT … SELECT`` as nevsim did before schema 2, into the version-1 tables kept in
  :data:`nevsim.store._DDL_V1`);
* schema 2: the label-free rows ``(run_key, cell, draw, value)``, one a value, appended to
  the version-2 values table (:data:`nevsim.store._VALUES_DDL_V2`);
* schema 4 (current; schema 3 wrote the same blocks): :func:`nevsim.store.encode` (in a sweep:
  the worker's side: cells and blocks of draws) then :func:`nevsim.store.append_rows` (the
  writer's side), in double precision and in single (``precision="single"``, a sweep's default),
  each with its commit.

CPU seconds of this process (all its threads) per step, medians. With ``--load-draws N``
(N > 0) it also stores one run of N draws (series only: a 10,000-draw makers table does not
fit in memory as a pandas frame) each way and times :meth:`nevsim.store.Store.load` (the
version-1 file read as it is, read-only; the current file through :func:`_read_run`, with the
draws in double and in single precision).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

_DIST = {"technology.battery_learning_rate": {"dist": "normal", "mean": 0.18, "sd": 0.02, "min": 0.1, "max": 0.3}}
_RUN_ID = "sweep-0123456789abcdef-00001"


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed_insert(con: Any, frame: Any, sql: str, params: list[Any] | None = None) -> float:
    """CPU seconds of one ``INSERT … FROM frame`` (``frame`` registered under that name) and its commit."""
    c0 = _cpu()
    con.execute("BEGIN TRANSACTION")
    con.register("frame", frame)
    con.execute(sql, params or [])
    con.unregister("frame")
    con.execute("COMMIT")
    return _cpu() - c0


def _write_v1(path: Path, tables: dict[str, Any], meta: bool = False) -> float:
    """Append Arrow tables to a version-1 file as nevsim did before schema 2; CPU seconds of the appends."""
    import duckdb

    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.store import _DDL_V1

    con = duckdb.connect(str(path))
    try:
        for ddl in _DDL_V1:
            con.execute(ddl)
        con.execute("INSERT INTO store_info VALUES ('schema_version', '1')")
        if meta:
            con.execute("INSERT INTO runs VALUES (?, 'bench', NULL, NULL, NULL, '{}', '{}')", [_RUN_ID])
        spent = 0.0
        for table, frame in tables.items():
            cols = ", ".join(SERIES_COLUMNS if table == "series" else MAKERS_COLUMNS)
            spent += _timed_insert(con, frame, f"INSERT INTO {table} (run_id, {cols}, draw) SELECT "
                                               f"CAST(? AS VARCHAR), {cols}, CAST(draw AS INTEGER) FROM frame",
                                   [_RUN_ID])
        return spent
    finally:
        con.close()


def _write_flat(path: Path, encoded: dict[str, Any]) -> float:
    """Append the rows one a value (schema 2's values table); CPU seconds of the appends."""
    import duckdb
    import pyarrow as pa

    from nevsim.store import _VALUES_DDL_V2, _unblock

    flat = {}
    for table, (_, blocks) in encoded.items():
        cell, draw, value = _unblock(blocks)
        flat[table] = pa.table({"cell": pa.array(cell.astype("int32")), "draw": draw, "value": value})
    con = duckdb.connect(str(path))
    try:
        spent = 0.0
        for table, rows in flat.items():
            con.execute(_VALUES_DDL_V2.format(table=table))
            spent += _timed_insert(con, rows, f"INSERT INTO {table}_values SELECT 1, cell, draw, value FROM frame")
        return spent
    finally:
        con.close()


def _write_blocks(path: Path, encoded: dict[str, Any]) -> dict[str, float]:
    from nevsim.store import Store, append_rows, insert_run

    out = {}
    with Store(path)._connect(write=True) as con:
        con.execute("BEGIN TRANSACTION")
        run_key = insert_run(con, _RUN_ID, "bench", None, None, None, {"run_id": _RUN_ID}, {})
        con.execute("COMMIT")
        for table, (cells, values) in encoded.items():
            c0 = _cpu()
            con.execute("BEGIN TRANSACTION")
            append_rows(con, table, run_key, cells, values)
            con.execute("COMMIT")
            out[table] = _cpu() - c0
    return out


def main() -> None:
    import pyarrow as pa

    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.store import Store, encode
    from nevsim.sweep import run_chunk

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000, help="draws in the chunk written")
    parser.add_argument("--load-draws", type=int, default=0, help="also time loading a run of this many draws")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (medians are reported)")
    args = parser.parse_args()

    series, makers = run_chunk("china-current-policies", {}, range(args.draws), 1, _DIST)
    rows = {"series": len(series), "makers": len(makers)}
    columns = {"series": SERIES_COLUMNS, "makers": MAKERS_COLUMNS}
    frames = {"series": series, "makers": makers}
    got: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            c0 = _cpu()
            arrow = {t: pa.Table.from_pandas(f.loc[:, [*columns[t], "draw"]], preserve_index=False)
                     for t, f in frames.items()}
            got.setdefault("worker, schema 1: to Arrow", []).append(_cpu() - c0)
            encoded = {}
            for precision in ("double", "single"):
                c0 = _cpu()
                encoded[precision] = {t: encode(f, columns[t], precision=precision) for t, f in frames.items()}
                got.setdefault(f"worker, schema 4 {precision}: encode", []).append(_cpu() - c0)
            got.setdefault("writer, schema 1: append", []).append(_write_v1(Path(tmp) / f"v1-{rep}.duckdb", arrow))
            got.setdefault("writer, schema 2: append", []).append(_write_flat(Path(tmp) / f"v2-{rep}.duckdb",
                                                                                encoded["double"]))
            for precision, blocks in encoded.items():
                path = Path(tmp) / f"v4-{precision}-{rep}.duckdb"
                for table, spent in _write_blocks(path, blocks).items():
                    got.setdefault(f"writer, schema 4 {precision}: append {table}", []).append(spent)
                got.setdefault(f"file, schema 4 {precision} (MB)", []).append(path.stat().st_size / 1e6)
        print(f"one chunk of {args.draws:,} draws: {rows['series']:,} series rows, {rows['makers']:,} maker rows; "
              f"medians of {args.reps} (CPU s; load {os.getloadavg()[0]:.1f})")
        for key, values in got.items():
            med = statistics.median(values)
            if key.startswith("file"):
                print(f"  {key:<42} {med:7.1f}")
                continue
            n = rows[key.split()[-1]] if key.endswith(("series", "makers")) else sum(rows.values())
            print(f"  {key:<42} {med:7.3f} s  {med / n * 1e6:6.3f} µs/row")

        if args.load_draws:
            big, _ = run_chunk("china-current-policies", {}, range(args.load_draws), 1, _DIST)
            empty = makers.iloc[:0]
            _write_v1(Path(tmp) / "load-v1.duckdb", {"series": pa.Table.from_pandas(
                big.loc[:, [*SERIES_COLUMNS, "draw"]], preserve_index=False)}, meta=True)
            for precision in ("double", "single"):
                _write_blocks(Path(tmp) / f"load-v4-{precision}.duckdb",
                              {"series": encode(big, SERIES_COLUMNS, precision=precision),
                               "makers": encode(empty, MAKERS_COLUMNS, precision=precision)})
            times: dict[str, list[float]] = {}
            for _ in range(args.reps):
                for name in ("v1", "v4-double", "v4-single"):
                    t0 = time.perf_counter()
                    res = Store(Path(tmp) / f"load-{name}.duckdb").load(_RUN_ID)
                    times.setdefault(f"schema {name[1:].replace('-', ' ')}", []).append(time.perf_counter() - t0)
                    assert len(res.series) >= len(big)
            print(f"Store.load of a run of {args.load_draws:,} draws ({len(big):,} series rows), wall s, "
                  f"load {os.getloadavg()[0]:.1f}:")
            for key, values in times.items():
                print(f"  {key}: median {statistics.median(values):.2f} s  {[round(v, 2) for v in values]}")


if __name__ == "__main__":
    main()
