"""Results store: runs, their series and makers' tables in one DuckDB file.

Default file: ``platformdirs.user_data_dir("nevsim")/runs.duckdb``; any path may be given.
Tables::

    runs    (run_id PK, scenario, hash, created, version, meta JSON, scenario_json JSON)
    series  (run_id, scenario, region, variable, unit, year, value, draw)
    makers  (run_id, scenario, region, maker, variable, unit, year, value, draw)

``draw`` is NULL for a deterministic run. Every write (:meth:`Store.save`,
:meth:`Store.delete`) is one transaction: when it fails or is interrupted (an exception,
Ctrl-C) it is rolled back and the store is left as it was. DuckDB allows one writing process
per file: the process that runs writes; readers open the file read-only, and only for the
duration of one call, so a notebook reading does not lock out a later writer.

Usage::

    store = Store()                     # or Store("runs.duckdb")
    run_id = store.save(res)
    store.list_runs()                   # DataFrame
    res2 = store.load(run_id[:8])       # a unique prefix is enough
    store.delete(run_id)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from nevsim.errors import InputError
from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS, Results

DEFAULT_FILENAME = "runs.duckdb"
SCHEMA_VERSION = 1

_DDL = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id VARCHAR PRIMARY KEY, scenario VARCHAR NOT NULL, hash VARCHAR, created TIMESTAMP,
        version VARCHAR, meta JSON, scenario_json JSON)""",
    """CREATE TABLE IF NOT EXISTS series (
        run_id VARCHAR NOT NULL, scenario VARCHAR, region VARCHAR, variable VARCHAR, unit VARCHAR,
        year INTEGER, value DOUBLE, draw INTEGER)""",
    """CREATE TABLE IF NOT EXISTS makers (
        run_id VARCHAR NOT NULL, scenario VARCHAR, region VARCHAR, maker VARCHAR, variable VARCHAR,
        unit VARCHAR, year INTEGER, value DOUBLE, draw INTEGER)""",
    "CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR)",
)


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
    def _connect(self, *, write: bool) -> Iterator[Any]:
        import duckdb

        if write:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), read_only=not write)
        except duckdb.IOException as exc:
            raise InputError("store", f"cannot open {self.path} ({'write' if write else 'read'}): {exc}. "
                                      "Only one process may write to a store at a time.") from None
        try:
            if write:
                for ddl in _DDL:
                    con.execute(ddl)
                con.execute("INSERT OR REPLACE INTO store_info VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            yield con
        finally:
            con.close()

    # -- writing

    def save(self, results: Results) -> str:
        """Store a run (one transaction) and return its run id.

        The run id is ``results.meta["run_id"]`` (a new one is made if missing). Saving a run id
        that is already stored raises :class:`InputError`.
        """
        if not isinstance(results, Results):
            raise InputError("results", f"expected nevsim.results.Results, got {type(results).__name__}.")
        run_id = str(results.meta.get("run_id") or uuid.uuid4().hex)
        with self._connect(write=True) as con:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                raise InputError("run_id", f"run {run_id} is already in {self.path}; delete it first "
                                           "or save a new run.")
            con.execute("BEGIN TRANSACTION")
            try:
                self._write_run(con, run_id, results)
                self._write_table(con, "series", run_id, results.series, SERIES_COLUMNS)
                self._write_table(con, "makers", run_id, results.makers, MAKERS_COLUMNS)
                con.execute("COMMIT")
            except BaseException:  # incl. KeyboardInterrupt: leave the store as it was
                con.execute("ROLLBACK")
                raise
        return run_id

    @staticmethod
    def _write_run(con: Any, run_id: str, results: Results) -> None:
        meta = {**results.meta, "run_id": run_id}
        created = pd.to_datetime(meta.get("created_utc"), utc=True, errors="coerce")
        created_value = None if pd.isna(created) else created.tz_convert(None).to_pydatetime()
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [run_id, str(meta.get("scenario", results.scenario.get("name", ""))),
             meta.get("scenario_hash"), created_value, meta.get("nevsim_version"),
             json.dumps(meta, default=str), json.dumps(results.scenario, default=str)],
        )

    @staticmethod
    def _write_table(con: Any, table: str, run_id: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> None:
        # the frame is read in place (no copy, no run_id column: 10,000-draw tables have ~10⁸ rows)
        has_draw = "draw" in frame.columns
        con.register("_nevsim_frame", frame.loc[:, [*columns, "draw"] if has_draw else list(columns)])
        try:
            cols = ", ".join(columns)
            draw = "CAST(draw AS INTEGER)" if has_draw else "CAST(NULL AS INTEGER)"
            con.execute(f"INSERT INTO {table} (run_id, {cols}, draw) SELECT CAST(? AS VARCHAR), {cols}, {draw} "
                        "FROM _nevsim_frame", [run_id])
        finally:
            con.unregister("_nevsim_frame")

    def delete(self, run_id: str) -> str:
        """Delete a run (one transaction); returns the full run id deleted."""
        full = self._resolve(run_id)
        with self._connect(write=True) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                for table in ("series", "makers", "runs"):
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [full])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
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
        shown = [i[:12] for i in ids[:5]] + ([f"… ({len(ids)} runs; see `nevsim runs list`)"] if len(ids) > 5 else [])
        if len(matches) > 1:
            raise InputError("run_id", f"{run_id!r} matches {len(matches)} runs in {self.path}; give more "
                                       "characters.", [m[:12] for m in matches[:5]])
        if not ids:
            raise InputError("run_id", f"unknown run id {run_id!r}: the store {self.path} holds no runs.", [])
        raise InputError("run_id", f"unknown run id {run_id!r} in {self.path}.", shown)

    def load(self, run_id: str) -> Results:
        """The stored run as :class:`Results` (a unique prefix of the run id is enough)."""
        full = self._resolve(run_id)
        with self._connect(write=False) as con:
            row = con.execute("SELECT meta, scenario_json FROM runs WHERE run_id = ?", [full]).fetchone()
            series = con.execute("SELECT * EXCLUDE (run_id) FROM series WHERE run_id = ? "
                                 "ORDER BY rowid", [full]).df()
            makers = con.execute("SELECT * EXCLUDE (run_id) FROM makers WHERE run_id = ? "
                                 "ORDER BY rowid", [full]).df()
        meta, scenario = json.loads(row[0]), json.loads(row[1])
        if series["draw"].isna().all():
            series = series.drop(columns="draw")
        if makers["draw"].isna().all():
            makers = makers.drop(columns="draw")
        return Results(series, makers, meta, scenario)
