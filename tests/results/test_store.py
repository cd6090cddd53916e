"""Results store: round trip, listing, deleting, bad ids, all-or-nothing writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nevsim.errors import InputError
from nevsim.results import Results
from nevsim.store import Store, default_path


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Label columns as text (runs and loaded runs may hold them as categoricals)."""
    return frame.astype({c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


def _assert_same(a: Results, b: Results) -> None:
    pd.testing.assert_frame_equal(_text(a.series), _text(b.series))
    pd.testing.assert_frame_equal(_text(a.makers), _text(b.makers))
    assert b.meta == json.loads(json.dumps(a.meta, default=str))
    assert b.scenario == a.scenario


def test_round_trip_fixture(small_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    rid = store.save(small_results)
    assert rid == "fixture0001"
    back = store.load(rid)
    _assert_same(small_results, back)
    pd.testing.assert_frame_equal(back.series, small_results.series)  # one draw: text labels, as given


def test_round_trip_keeps_a_missing_label(build, tmp_path):
    series = build.series(draws=3)
    series["unit"] = series["unit"].astype(object)
    series.loc[series["variable"] == series["variable"].iloc[0], "unit"] = None  # a label never given
    res = Results(series, build.makers(), build.meta(run_id="missing-label"), {})
    back = Store(tmp_path / "runs.duckdb").load(Store(tmp_path / "runs.duckdb").save(res))
    assert back.series["unit"].isna().sum() == res.series["unit"].isna().sum() > 0
    pd.testing.assert_frame_equal(_text(back.series), _text(res.series).astype({"unit": "str"}))


def test_round_trip_with_draws(draws_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    back = store.load(store.save(draws_results))
    assert "draw" in back.series.columns
    _assert_same(draws_results, back)
    for table in (back.series, back.makers):  # text labels come back as categoricals of the run's labels
        labels = [c for c in table.columns if c not in ("year", "value", "draw")]
        assert all(isinstance(table[c].dtype, pd.CategoricalDtype) for c in labels)
        assert table["year"].dtype == "int64" and table["value"].dtype == "float64"


def test_round_trip_real_run(real_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    rid = store.save(real_results)
    back = store.load(rid[:8])  # a unique prefix is enough
    _assert_same(real_results, back)
    runs = store.list_runs()
    assert runs.loc[0, "run_id"] == rid and runs.loc[0, "scenario"] == "china-current-policies"
    assert runs.loc[0, "hash"] == real_results.meta["scenario_hash"]


def test_list_delete_and_unknown_ids(build, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    assert store.list_runs().empty
    with pytest.raises(InputError, match="holds no runs"):
        store.load("abc")
    for i in range(3):
        store.save(Results(build.series(), build.makers(), build.meta(run_id=f"run{i}"), {}))
    assert sorted(store.list_runs()["run_id"]) == ["run0", "run1", "run2"]
    with pytest.raises(InputError) as err:
        store.load("nope")
    assert err.value.field == "run_id" and set(err.value.allowed) == {"run0", "run1", "run2"}
    with pytest.raises(InputError, match="matches 3 runs"):
        store.load("run")
    with pytest.raises(InputError, match="already"):
        store.save(Results(build.series(), build.makers(), build.meta(run_id="run1"), {}))
    assert store.delete("run1") == "run1"
    assert sorted(store.list_runs()["run_id"]) == ["run0", "run2"]
    with pytest.raises(InputError):
        store.delete("run1")


def test_a_save_writes_full_row_groups_of_its_size(real_results, tmp_path):
    """A run's rows go in row groups of WRITE_ROW_GROUP_SIZE (DuckDB writes full ones during the transaction)."""
    import duckdb

    from nevsim.store import WRITE_ROW_GROUP_SIZE

    store = Store(tmp_path / "runs.duckdb")
    rid = store.save(real_results)
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM makers_values").fetchall()[0][0]
        groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('makers_values')"
                             ).fetchall()[0][0]
    finally:
        con.close()
    assert rows > WRITE_ROW_GROUP_SIZE and groups == -(-rows // WRITE_ROW_GROUP_SIZE)
    _assert_same(real_results, store.load(rid))


def test_the_save_memory_limit_grows_with_the_longest_list():
    import pyarrow as pa

    from nevsim.store import save_memory_mb

    def blocks(*n_rows: int) -> pa.Table:
        return pa.table({"n_rows": pa.array(n_rows, type=pa.int32())})

    assert save_memory_mb([]) == save_memory_mb([blocks()]) == save_memory_mb([blocks(1, 5)]) == 512
    assert save_memory_mb([blocks(1), blocks(10_000, 3)]) == 625  # 4 vectors of 2,048 lists of 10,000 doubles
    assert save_memory_mb([blocks(100_000)]) == 6250  # (a 100,000-draw save needed a 1 GiB allocation)


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_failed_write_leaves_store_as_it_was(build, tmp_path, monkeypatch, failure):
    store = Store(tmp_path / "runs.duckdb")
    first = Results(build.series(), build.makers(), build.meta(run_id="good"), {})
    store.save(first)
    real_write = Store._write_table

    def failing(con, table, run_id, frame, columns):
        real_write(con, table, run_id, frame, columns)  # the series table is written …
        if table == "makers":
            raise failure("injected failure")  # … then the write fails mid-way

    monkeypatch.setattr(Store, "_write_table", staticmethod(failing))
    with pytest.raises(failure):
        store.save(Results(build.series(), build.makers(), build.meta(run_id="bad"), {}))
    monkeypatch.undo()
    assert store.list_runs()["run_id"].tolist() == ["good"]
    import duckdb

    con = duckdb.connect(str(store.path), read_only=True)
    try:
        for table in ("series", "makers", "runs"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE run_id = 'bad'").fetchone()[0] == 0
    finally:
        con.close()
    _assert_same(first, store.load("good"))


def test_killed_writer_leaves_store_as_it_was(build, tmp_path):
    """A writer process killed mid-transaction (SIGKILL) leaves the earlier runs and nothing else."""
    path = tmp_path / "runs.duckdb"
    store = Store(path)
    store.save(Results(build.series(), build.makers(), build.meta(run_id="good"), {}))
    marker = tmp_path / "in_transaction"
    script = textwrap.dedent(f"""
        import time, pandas as pd
        from nevsim.results import Results
        from nevsim.store import Store
        rows = [dict(scenario="x", region="CN", variable="v", unit="u", year=2020 + i % 40, value=float(i))
                for i in range(20000)]
        makers = pd.DataFrame(columns=["scenario", "region", "maker", "variable", "unit", "year", "value"])
        res = Results(pd.DataFrame(rows), makers, {{"run_id": "killed"}}, {{}})
        real = Store._write_table
        def slow(con, table, run_id, frame, columns):
            real(con, table, run_id, frame, columns)
            if table == "series":
                open({str(marker)!r}, "w").close()
                time.sleep(60)
        Store._write_table = staticmethod(slow)
        Store({str(path)!r}).save(res)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the writer never reached the middle of its transaction"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert store.list_runs()["run_id"].tolist() == ["good"]
    with pytest.raises(InputError):
        store.load("killed")


def test_store_path_that_is_a_directory(tmp_path):
    with pytest.raises(InputError, match="directory"):
        Store(tmp_path)


def test_default_path_is_in_user_data_dir():
    import platformdirs

    assert default_path().parent == __import__("pathlib").Path(platformdirs.user_data_dir("nevsim"))
    assert default_path().name == "runs.duckdb"


# ---------------------------------------------------------------------------- schema versions


def _write_v1(path, runs: list[Results]) -> None:
    """A store as schema version 1 wrote it: text labels on every row of ``series``/``makers``."""
    import duckdb

    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.store import _DDL_V1

    con = duckdb.connect(str(path))
    try:
        for ddl in _DDL_V1:
            con.execute(ddl)
        con.execute("INSERT INTO store_info VALUES ('schema_version', '1')")
        for i, res in enumerate(runs):
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [res.run_id, res.meta["scenario"], res.meta.get("scenario_hash"),
                         pd.Timestamp(2026, 1, 1 + i), res.meta.get("nevsim_version"),
                         json.dumps(res.meta, default=str), json.dumps(res.scenario)])
            for table, columns, frame in (("series", SERIES_COLUMNS, res.series),
                                          ("makers", MAKERS_COLUMNS, res.makers)):
                draw = "draw" if "draw" in frame.columns else "NULL"
                con.register("frame", frame)
                con.execute(f"INSERT INTO {table} SELECT ?, {', '.join(columns)}, {draw} FROM frame", [res.run_id])
                con.unregister("frame")
    finally:
        con.close()


def _tables(path) -> dict[str, str]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return dict(con.execute("SELECT table_name, table_type FROM information_schema.tables").fetchall())
    finally:
        con.close()


def test_version_1_store_is_read_as_it_is_and_migrated_when_opened_for_writing(small_results, draws_results,
                                                                               build, tmp_path):
    path = tmp_path / "v1.duckdb"
    _write_v1(path, [small_results, draws_results])
    store = Store(path)
    for res in (small_results, draws_results):  # read-only opens read version 1 as it is
        _assert_same(res, store.load(res.run_id))
    assert _tables(path)["series"] == "BASE TABLE"
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY run_id, rowid").df() for t in ("series", "makers")}
    con.close()

    store.save(Results(build.series(), build.makers(), build.meta(run_id="new"), {}))  # migrates, then writes
    assert _tables(path)["series"] == "VIEW" and _tables(path)["makers"] == "VIEW"
    for res in (small_results, draws_results):
        _assert_same(res, store.load(res.run_id))
    assert store.load("fixture0001").series.columns.tolist()[-1] == "value"  # draw NULL: no draw column
    con = duckdb.connect(str(path), read_only=True)
    from nevsim.store import SCHEMA_VERSION, schema_version

    assert schema_version(con) == SCHEMA_VERSION == 4
    for table, frame in before.items():  # the views give the rows of version 1: same columns, types, order
        after = con.execute(f"SELECT * FROM {table} WHERE run_id <> 'new' ORDER BY run_id").df()
        pd.testing.assert_frame_equal(after, frame)
    con.close()
    assert sorted(store.list_runs()["run_id"]) == ["fixture-draws", "fixture0001", "new"]


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_failed_migration_leaves_the_version_1_store_as_it_was(small_results, tmp_path, monkeypatch, failure):
    import nevsim.store as store_module

    path = tmp_path / "v1.duckdb"
    _write_v1(path, [small_results])
    real = store_module._migrate_v1

    def failing(con):
        real(con)  # every step of the migration ran …
        raise failure("injected failure")  # … and then it fails before the commit

    monkeypatch.setattr(store_module, "_migrate_v1", failing)
    with pytest.raises(failure):
        Store(path).save(Results(small_results.series, small_results.makers, {"run_id": "other"}, {}))
    monkeypatch.undo()
    tables = _tables(path)
    assert tables["series"] == "BASE TABLE" and "series_values" not in tables
    _assert_same(small_results, Store(path).load("fixture0001"))
    assert Store(path).list_runs()["run_id"].tolist() == ["fixture0001"]


@pytest.mark.parametrize("write", [False, True])
def test_store_of_a_newer_schema_version_is_an_input_error(small_results, tmp_path, write):
    import duckdb

    path = tmp_path / "future.duckdb"
    Store(path).save(small_results)
    con = duckdb.connect(str(path))
    con.execute("UPDATE store_info SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(InputError) as err:
        if write:
            Store(path).delete("fixture0001")
        else:
            Store(path).list_runs()
    assert err.value.field == "store" and "99" in err.value.message and "upgrade nevsim" in err.value.message


def test_rows_carry_no_text(tmp_path):
    """Schema version 4: labels once per run (cells), a cell's draws as one list; `series` is a view."""
    import duckdb

    from nevsim.simulate import run

    draws_results = run("china-current-policies", draws=4, seed=1)  # the simulation's layout
    path = tmp_path / "runs.duckdb"
    Store(path).save(draws_results)
    con = duckdb.connect(str(path), read_only=True)
    try:
        types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                                 "WHERE table_name = 'series_values'").fetchall())
        assert types == {"run_key": "INTEGER", "cell": "INTEGER", "first_draw": "INTEGER", "n_rows": "INTEGER",
                         "value": "DOUBLE[]", "value32": "FLOAT[]"}
        n_cells = con.execute("SELECT count(*) FROM series_cells").fetchone()[0]
        assert n_cells == len(draws_results.series.drop(columns=["value", "draw"]).drop_duplicates())
        n_draws = draws_results.series["draw"].nunique()
        assert n_draws == 4
        assert con.execute("SELECT count(*), min(n_rows), max(n_rows), max(len(value)) FROM series_values"
                           ).fetchone() == (n_cells, n_draws, n_draws, n_draws)  # the simulation's layout: a block a cell
        one = con.execute("SELECT count(*) FROM series_values WHERE len(value) = 1").fetchone()[0]
        assert 0 < one < n_cells  # history years etc.: the same in every draw, kept once
        assert con.execute("SELECT count(*) FROM series").fetchone()[0] == len(draws_results.series)
        back = Store(path).load(draws_results.run_id).series  # same rows (labels come back as text)
        pd.testing.assert_frame_equal(back, draws_results.series, check_dtype=False, check_categorical=False)
    finally:
        con.close()


def _write_v2(path, runs: list[Results]) -> None:
    """A store as schema version 2 wrote it: one row a value (version 1 migrated as version 2 did)."""
    import duckdb

    from nevsim.store import _migrate_v1, _transaction, long_rows

    _write_v1(path, runs)
    con = duckdb.connect(str(path))
    try:
        _transaction(con, _migrate_v1)
        for table in ("series", "makers"):
            con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (stored_row) FROM {long_rows(2, table)}")
        con.execute("UPDATE store_info SET value = '2' WHERE key = 'schema_version'")
    finally:
        con.close()


def test_version_2_store_is_read_as_it_is_and_migrated_when_opened_for_writing(small_results, draws_results,
                                                                               build, tmp_path):
    import duckdb

    from nevsim.store import long_rows, schema_version

    path = tmp_path / "v2.duckdb"
    layout = ["scenario", "region", "variable", "unit", "year", "draw"]  # draws vary fastest, as simulated
    sim_layout = Results(draws_results.series.sort_values(layout, kind="stable").reset_index(drop=True),
                         draws_results.makers.sort_values(["maker", *layout], kind="stable").reset_index(drop=True),
                         {**draws_results.meta, "run_id": "fixture-layout"}, draws_results.scenario)
    runs = [small_results, draws_results, sim_layout]
    _write_v2(path, runs)
    store = Store(path)
    for res in runs:  # read-only opens read version 2 as it is
        _assert_same(res, store.load(res.run_id))
    con = duckdb.connect(str(path), read_only=True)
    assert schema_version(con) == 2
    before = {t: con.execute(f"SELECT * EXCLUDE (stored_row) FROM {long_rows(2, t)} ORDER BY run_id, stored_row").df()
              for t in ("series", "makers")}
    n_rows = con.execute("SELECT count(*) FROM series_values").fetchone()[0]
    con.close()

    store.save(Results(build.series(), build.makers(), build.meta(run_id="new"), {}))  # migrates, then writes
    for res in runs:
        _assert_same(res, store.load(res.run_id))
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert schema_version(con) == 4
        for table, frame in before.items():  # the views give the same rows, columns, types, order
            after = con.execute(f"SELECT * EXCLUDE (stored_row) FROM {long_rows(4, table)} WHERE run_id <> 'new' "
                                "ORDER BY run_id, stored_row").df()
            assert after.columns.tolist() == con.execute(f"SELECT * FROM {table} LIMIT 0").df().columns.tolist()
            pd.testing.assert_frame_equal(after, frame)
        blocks = con.execute("SELECT count(*), sum(len(value)) FROM series_values v JOIN runs r USING (run_key) "
                             "WHERE r.run_id <> 'new'").fetchone()
        assert blocks[1] == n_rows  # every value kept
        lengths = con.execute("SELECT len(value) FROM series_values v JOIN runs r USING (run_key) "
                              "WHERE r.run_id = 'fixture-layout'").fetchall()
        assert {n for (n,) in lengths} == {5}  # the draws of a cell in one block
    finally:
        con.close()


@pytest.mark.parametrize("failure", [RuntimeError, KeyboardInterrupt])
def test_failed_migration_leaves_the_version_2_store_as_it_was(small_results, draws_results, tmp_path,
                                                               monkeypatch, failure):
    import nevsim.store as store_module

    path = tmp_path / "v2.duckdb"
    _write_v2(path, [small_results, draws_results])
    real = store_module._migrate_v2

    def failing(con):
        real(con)
        raise failure("injected failure")

    monkeypatch.setattr(store_module, "_migrate_v2", failing)
    with pytest.raises(failure):
        Store(path).delete("fixture0001")
    monkeypatch.undo()
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        assert store_module.schema_version(con) == 2
        assert "draw" in [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                                     "WHERE table_name = 'series_values'").fetchall()]
    finally:
        con.close()
    for res in (small_results, draws_results):
        _assert_same(res, Store(path).load(res.run_id))


# ---------------------------------------------------------------------------- precision


def _single(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=np.float64).astype(np.float32).astype(np.float64)


def test_single_precision_keeps_draws_to_float32_and_rows_without_a_draw_in_double(draws_results, small_results,
                                                                                   tmp_path):
    import duckdb

    store = Store(tmp_path / "runs.duckdb")
    draws_results = Results(draws_results.series.assign(value=draws_results.series["value"] / 3),  # not exact in single
                            draws_results.makers.assign(value=draws_results.makers["value"] / 3),
                            draws_results.meta, draws_results.scenario)
    back = store.load(store.save(draws_results, precision="single"))
    for name in ("series", "makers"):
        got, given = getattr(back, name), getattr(draws_results, name)
        np.testing.assert_array_equal(got["value"].to_numpy(), _single(given["value"]))  # rounded to nearest
        assert not np.array_equal(got["value"].to_numpy(), given["value"].to_numpy())  # (it did round)
        pd.testing.assert_frame_equal(_text(got.drop(columns="value")), _text(given.drop(columns="value")))
    det = store.load(store.save(small_results, precision="single"))  # no draw: double, every bit
    _assert_same(small_results, det)
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        kinds = con.execute("SELECT r.run_id, count(v.value), count(v.value32) FROM series_values v "
                            "JOIN runs r USING (run_key) GROUP BY ALL ORDER BY 1").fetchall()
        n_blocks = dict(con.execute("SELECT r.run_id, count(*) FROM series_values v JOIN runs r USING (run_key) "
                                    "GROUP BY ALL").fetchall())
        assert kinds == [(draws_results.run_id, 0, n_blocks[draws_results.run_id]),
                         (small_results.run_id, n_blocks[small_results.run_id], 0)]
        view = con.execute("SELECT value FROM series WHERE run_id = ?", [draws_results.run_id]).df()
        assert sorted(view["value"].to_numpy()) == sorted(_single(draws_results.series["value"]))  # SQL readers too
    finally:
        con.close()


def test_single_and_double_draws_in_one_table_read_back_each_as_stored(build):
    """A table whose rows mix draws and no draw: the blocks with a draw in single, the others in double."""
    from nevsim.results import SERIES_COLUMNS
    from nevsim.store import _unblock, encode

    series = build.series(draws=3)
    series["draw"] = series["draw"].astype("Int64")
    series.loc[series.index[:4], "draw"] = pd.NA
    series["value"] = series["value"] + 0.1  # not exact in single
    _, blocks = encode(series, SERIES_COLUMNS, precision="single")
    first = blocks.column("first_draw")
    assert blocks.column("value").null_count == len(blocks) - first.null_count > 0
    assert blocks.column("value32").null_count == first.null_count > 0
    _, _, value = _unblock(blocks)
    expected = np.where(series["draw"].isna(), series["value"], _single(series["value"]))
    np.testing.assert_array_equal(value.to_numpy(), expected)


@pytest.mark.parametrize("bad", ["half", "Single", "", None, 32])
def test_unknown_precision_is_an_input_error_and_stores_nothing(draws_results, tmp_path, bad):
    store = Store(tmp_path / "runs.duckdb")
    store.save(draws_results)
    with pytest.raises(InputError) as err:
        store.save(Results(draws_results.series, draws_results.makers, {**draws_results.meta, "run_id": "other"},
                           draws_results.scenario), precision=bad)
    assert err.value.field == "precision" and err.value.allowed == ["double", "single"]
    assert store.list_runs()["run_id"].tolist() == [draws_results.run_id]
    _assert_same(draws_results, store.load(draws_results.run_id))


def _write_v3(path, runs: list[Results]) -> None:
    """A store as schema version 3 wrote it: values in double only (``value DOUBLE[] NOT NULL``)."""
    import duckdb

    from nevsim.store import long_rows

    store = Store(path)
    for res in runs:
        store.save(res)
    con = duckdb.connect(str(path))
    try:
        for table in ("series", "makers"):
            con.execute(f"DROP VIEW {table}")
            con.execute(f"ALTER TABLE {table}_values DROP COLUMN value32")
            con.execute(f"ALTER TABLE {table}_values ALTER COLUMN value SET NOT NULL")
            con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (stored_row) FROM {long_rows(3, table)}")
        con.execute("UPDATE store_info SET value = '3' WHERE key = 'schema_version'")
    finally:
        con.close()


def test_version_3_store_is_read_as_it_is_and_migrated_when_opened_for_writing(small_results, draws_results,
                                                                               tmp_path):
    import duckdb

    from nevsim.store import schema_version

    path = tmp_path / "v3.duckdb"
    _write_v3(path, [small_results, draws_results])
    store = Store(path)
    for res in (small_results, draws_results):  # read-only opens read version 3 as it is
        _assert_same(res, store.load(res.run_id))
    con = duckdb.connect(str(path), read_only=True)
    assert schema_version(con) == 3
    before = {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").df() for t in ("series", "makers")}
    con.close()
    new = Results(draws_results.series, draws_results.makers, {**draws_results.meta, "run_id": "new"},
                  draws_results.scenario)
    store.save(new, precision="single")  # migrates, then writes in single
    for res in (small_results, draws_results):
        _assert_same(res, store.load(res.run_id))
    np.testing.assert_array_equal(store.load("new").series["value"].to_numpy(), _single(new.series["value"]))
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert schema_version(con) == 4
        for table, frame in before.items():
            after = con.execute(f"SELECT * FROM {table} WHERE run_id <> 'new' ORDER BY ALL").df()
            pd.testing.assert_frame_equal(after, frame)
    finally:
        con.close()


def test_failed_migration_leaves_the_version_3_store_as_it_was(small_results, draws_results, tmp_path, monkeypatch):
    import duckdb

    import nevsim.store as store_module

    path = tmp_path / "v3.duckdb"
    _write_v3(path, [small_results, draws_results])
    real = store_module._migrate_v3

    def failing(con):
        real(con)
        raise RuntimeError("injected failure")

    monkeypatch.setattr(store_module, "_migrate_v3", failing)
    with pytest.raises(RuntimeError):
        Store(path).delete("fixture0001")
    monkeypatch.undo()
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert store_module.schema_version(con) == 3
        assert "value32" not in [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                                           "WHERE table_name = 'series_values'").fetchall()]
    finally:
        con.close()
    for res in (small_results, draws_results):
        _assert_same(res, Store(path).load(res.run_id))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 6)),
                          st.one_of(st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf")]), st.floats())),
                max_size=40))
def test_blocks_round_trip_any_rows(rows):
    """Any sequence of (cell, draw or missing, value) rows survives blocks and back, in order, bit for bit
    (constant blocks are kept as one value: −0.0 and 0.0 are different bits)."""
    import pyarrow as pa

    from nevsim.store import _blocks, _unblock

    cell = np.array([r[0] for r in rows], dtype=np.int32)
    missing = np.array([r[1] is None for r in rows], dtype=bool)
    draw = np.array([0 if r[1] is None else r[1] for r in rows], dtype=np.int32)
    value = np.array([r[2] for r in rows], dtype=np.float64)
    for d, m in ((draw, missing if missing.any() else None), (None, None)):
        blocks = _blocks(cell, d, m, value)
        assert len(blocks) <= len(rows)
        back_cell, back_draw, back_value = _unblock(pa.Table.from_batches(blocks.to_batches(max_chunksize=3),
                                                                          schema=blocks.schema))
        assert back_cell.tolist() == cell.tolist()
        assert back_value.to_numpy().view(np.int64).tolist() == value.view(np.int64).tolist()
        assert sum(len(v) for v in blocks.column("value").to_pylist()) <= len(rows)
        assert back_draw.to_pylist() == ([r[1] for r in rows] if d is not None else [None] * len(rows))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 6)),
                          st.one_of(st.sampled_from([0.0, -0.0, 1.5, 1e39, -1e-40, 3e-39, float("nan"), float("inf")]),
                                    st.floats())),
                max_size=40))
def test_single_precision_blocks_round_to_nearest_and_never_out_of_range(rows):
    """With precision="single" every value comes back as it was or as its nearest single; rows
    without a draw, and blocks holding a value that single cannot keep within 2⁻²⁴ (beyond ±3.4e38
    or non-zero below 1.2e-38 in magnitude), come back bit for bit."""
    import pyarrow as pa

    from nevsim.store import _blocks, _unblock

    cell = np.array([r[0] for r in rows], dtype=np.int32)
    missing = np.array([r[1] is None for r in rows], dtype=bool)
    draw = np.array([0 if r[1] is None else r[1] for r in rows], dtype=np.int32)
    value = np.array([r[2] for r in rows], dtype=np.float64)
    blocks = _blocks(cell, draw, missing if missing.any() else None, value, precision="single")
    _, _, back = _unblock(pa.Table.from_batches(blocks.to_batches(max_chunksize=3), schema=blocks.schema))
    got = back.to_numpy()
    with np.errstate(over="ignore"):
        nearest = value.astype(np.float32).astype(np.float64)
    exact = got.view(np.int64) == value.view(np.int64)
    assert np.all(exact | (got.view(np.int64) == nearest.view(np.int64)))
    assert np.all(exact[missing])
    assert not np.any(np.isinf(got) & np.isfinite(value)) and not np.any((got == 0) & (value != 0) & ~np.isnan(value))
    finite = np.isfinite(value) & (value != 0)
    assert np.all(np.abs(got[finite] - value[finite]) <= np.abs(value[finite]) * 2.0**-24)


def test_a_block_single_precision_cannot_hold_stays_in_double(draws_results, tmp_path):
    series = draws_results.series.copy()
    first = (series["variable"] == series["variable"].iloc[0]) & (series["year"] == series["year"].iloc[0])
    series.loc[first, "value"] = 1e39  # one cell, all its draws: beyond single's range
    second = (series["variable"] == series["variable"].iloc[0]) & (series["year"] == series["year"].iloc[1])
    series.loc[second, "value"] = [1e-40 * (i + 1) for i in range(int(second.sum()))]  # subnormal in single
    res = Results(series.assign(value=series["value"] / 3 * 3), draws_results.makers, draws_results.meta,
                  draws_results.scenario)
    store = Store(tmp_path / "runs.duckdb")
    back = store.load(store.save(res, precision="single"))
    got, given = back.series["value"].to_numpy(), res.series["value"].to_numpy()
    kept = (first | second).to_numpy()
    np.testing.assert_array_equal(got[kept], given[kept])  # those blocks in double, bit for bit
    np.testing.assert_array_equal(got[~kept], _single(res.series.loc[~kept, "value"]))
    assert back.meta["store_precision"] == "single"  # a loaded run says how it was kept


def test_store_precision_is_recorded_only_for_draws_kept_in_single(draws_results, small_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    assert "store_precision" not in store.load(store.save(draws_results)).meta
    assert "store_precision" not in store.load(store.save(small_results, precision="single")).meta  # no draws
    other = Results(draws_results.series, draws_results.makers, {**draws_results.meta, "run_id": "single"},
                    draws_results.scenario)
    assert store.load(store.save(other, precision="single")).meta["store_precision"] == "single"


def test_blocks_without_value32_are_put_in_the_asked_precision():
    """What a worker before store schema 4 sent (no ``value32``) is stored in the sweep's precision."""
    from nevsim.store import encode_cells, with_precision

    cells = pd.DataFrame({"variable": ["a", "b", "c"], "year": [2020, 2021, 2022]})
    values = np.array([[0.1, 0.2], [5.0, 5.0], [1e39, 2.0]])
    _, double = encode_cells(cells, values, first_draw=4)
    old = double.drop_columns(["value32"])
    assert with_precision(old, "double").equals(double)
    _, single = encode_cells(cells, values, first_draw=4, precision="single")
    assert with_precision(old, "single").equals(single)
    assert single.column("value").to_pylist() == [None, None, [1e39, 2.0]]  # the third cell: beyond single
    assert with_precision(single, "double") is single  # (a table with value32 is left as its maker made it)
    with pytest.raises(InputError):
        with_precision(old, "half")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.one_of(st.none(), st.integers(0, 5)),
                          st.sampled_from([0.0, -0.0, 2.5, float("nan"), float("-inf")])), min_size=1, max_size=10),
       st.integers(1, 6))
def test_blocks_of_one_length_round_trip(cells, width):
    """Blocks of equal length (a simulation's layout), constant or not, with or without draws, come
    back bit for bit through the in-place path (runs of one-value and full blocks)."""
    import pyarrow as pa

    from nevsim.store import _blocks, _unblock

    cell = np.repeat(np.arange(len(cells), dtype=np.int32), width)
    value = np.concatenate([np.full(width, v) if constant else v + np.arange(width, dtype=np.float64)
                            for constant, _, v in cells])
    draws = [None if first is None else first + k for _, first, _ in cells for k in range(width)]
    missing = np.array([d is None for d in draws])
    draw = np.array([0 if d is None else d for d in draws], dtype=np.int32)
    blocks = _blocks(cell, draw, missing if missing.any() else None, value)
    for chunks in (blocks, pa.Table.from_batches(blocks.to_batches(max_chunksize=2), schema=blocks.schema)):
        back_cell, back_draw, back_value = _unblock(chunks)
        assert back_cell.tolist() == cell.tolist()
        assert back_value.to_numpy().view(np.int64).tolist() == value.view(np.int64).tolist()
        assert back_draw.to_pylist() == draws


@pytest.mark.parametrize("layout", ["as built", "cell blocks, categorical labels"])
def test_encode_keeps_every_row(build, layout):
    from nevsim.results import SERIES_COLUMNS
    from nevsim.store import _unblock, encode

    frame = build.series(draws=3)
    frame.loc[5, "unit"] = None  # a missing label is a label of its own
    if layout != "as built":  # the simulation's layout: each cell's draws in one block (the fast path)
        frame = frame.sort_values(["variable", "unit", "year", "draw"], kind="stable").reset_index(drop=True)
        frame = frame.astype({c: "category" for c in ("scenario", "region", "variable")})
    cells, values = encode(frame, SERIES_COLUMNS)
    assert cells["cell"].tolist() == list(range(len(cells)))
    cell, draw, value = _unblock(values)
    back = cells.iloc[cell].reset_index(drop=True)
    for col in ("scenario", "region", "variable", "unit", "year"):
        assert [None if pd.isna(v) else v for v in back[col].tolist()] == \
            [None if pd.isna(v) else v for v in frame[col].tolist()]
    assert back["unit"].isna().sum() == 1
    assert len(cells) == len(frame.drop(columns=["value", "draw"]).drop_duplicates())
    assert draw.to_pylist() == frame["draw"].tolist()
    assert value.to_pylist() == frame["value"].tolist()
    assert len(values) == (len(cells) if layout != "as built" else len(values))  # blocks: one a cell when sorted


@pytest.mark.parametrize("case", ["draws from 0", "draws from 5", "constant and NaN cells", "draws with a gap",
                                  "one cell split in two", "draw as float"])
def test_encoding_the_simulation_layout_as_cells_by_draws_is_encoding_row_by_row(build, case, monkeypatch):
    """The fast path (cells × the same consecutive draws, reshaped) stores exactly what the
    row-by-row blocks store; layouts it does not fit fall back to them."""
    from nevsim import store as store_module
    from nevsim.results import SERIES_COLUMNS

    frame = build.series(draws=4)
    frame = frame.sort_values(["variable", "year", "draw"], kind="stable").reset_index(drop=True)
    frame = frame.astype({c: "category" for c in ("scenario", "region", "variable", "unit")})
    if case == "draws from 5":
        frame["draw"] += 5
    elif case == "constant and NaN cells":
        frame.loc[frame.index < 8, "value"] = -0.0
        frame.loc[(frame.index >= 8) & (frame.index < 12), "value"] = np.nan
        frame.loc[13, "value"] = np.inf
    elif case == "draws with a gap":
        frame["draw"] *= 2
    elif case == "one cell split in two":
        frame = pd.concat([frame.iloc[:2], frame.iloc[4:], frame.iloc[2:4]], ignore_index=True)
    elif case == "draw as float":
        frame["draw"] = frame["draw"].astype(float)
    calls, scans = [], []
    real, real_blocks = store_module.encode_cells, store_module.cell_blocks
    monkeypatch.setattr(store_module, "encode_cells", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(store_module, "cell_blocks", lambda *a: scans.append(1) or real_blocks(*a))
    fast = store_module.encode(frame, SERIES_COLUMNS)
    assert bool(calls) == (case in ("draws from 0", "draws from 5", "constant and NaN cells"))  # the path taken
    assert len(scans) == 1  # the rows are compared once, whichever path
    monkeypatch.setattr(store_module, "cell_blocks", lambda *_: None)
    slow = store_module.encode(frame, SERIES_COLUMNS)
    pd.testing.assert_frame_equal(fast[0], slow[0])
    assert fast[1].schema == slow[1].schema
    for name in ("cell", "first_draw", "n_rows"):
        assert fast[1].column(name).to_pylist() == slow[1].column(name).to_pylist()
    bits = [np.asarray(v, dtype=np.float64).view(np.int64).tolist() for v in fast[1].column("value").to_pylist()]
    assert bits == [np.asarray(v, dtype=np.float64).view(np.int64).tolist()
                    for v in slow[1].column("value").to_pylist()]


@pytest.mark.parametrize("fixture", ["small_results", "draws_results"])
def test_a_loaded_run_can_be_edited_like_a_fresh_one(fixture, request, tmp_path):
    """Loaded tables are ordinary writable pandas columns (not Arrow's read-only buffers)."""
    res = request.getfixturevalue(fixture)
    store = Store(tmp_path / "runs.duckdb")
    loaded = store.load(store.save(res))
    for frame in (loaded.series, loaded.makers):
        frame.loc[0, "value"] = 123.0
        assert frame.loc[0, "value"] == 123.0
        if "draw" in frame.columns:
            frame.loc[0, "draw"] = 7
            assert frame.loc[0, "draw"] == 7


def test_blocks_scanned_out_of_order_are_put_back_in_the_order_written():
    import pyarrow as pa

    from nevsim.store import _in_written_order

    table = pa.table({"_row": [3, 0, 2, 1], "cell": [30, 0, 20, 10], "value": [[3.0], [0.0], [2.0, 2.5], [1.0]]})
    back = _in_written_order(table)
    assert back.column_names == ["cell", "value"]
    assert back.column("cell").to_pylist() == [0, 10, 20, 30]
    assert back.column("value").to_pylist() == [[0.0], [1.0], [2.0, 2.5], [3.0]]
    in_order = _in_written_order(pa.table({"_row": [0, 5], "cell": [1, 2]}))
    assert in_order.column("cell").to_pylist() == [1, 2]


def test_a_writer_attached_with_row_groups_spills_beside_the_store(tmp_path):
    """DuckDB's spill folder is beside the store (as for a direct connection), not the working directory."""
    from nevsim.store import WRITE_ROW_GROUP_SIZE

    store = Store(tmp_path / "it's here.duckdb")
    with store._connect(write=True, row_group_size=WRITE_ROW_GROUP_SIZE) as con:
        folder = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    assert folder == str(store.path) + ".tmp"


def _damage(path, every: int = 1 << 18) -> None:
    """Zero 4 KiB at the start of every ``every`` bytes after DuckDB's three header blocks."""
    data = bytearray(path.read_bytes())
    for offset in range(3 * 4096 + every, len(data), every):
        data[offset:offset + 4096] = bytes(4096)
    path.write_bytes(bytes(data))


def test_a_damaged_store_is_an_input_error_naming_the_file(real_results, tmp_path):
    path = tmp_path / "runs.duckdb"
    run_id = Store(path).save(real_results)
    _damage(path)
    with pytest.raises(InputError, match="is damaged and cannot be read") as err:
        Store(path).load(run_id)  # was duckdb.Error "Corrupt database file" (a traceback in the CLI)
    assert err.value.field == "store" and "Only one process" not in str(err.value)


def test_a_file_that_is_not_a_store_is_named_as_such(tmp_path):
    path = tmp_path / "notes.duckdb"
    path.write_bytes(b"not a database " * 1000)
    for call in (lambda s: s.list_runs(), lambda s: s.load("abc")):
        with pytest.raises(InputError, match="is not a nevsim results store") as err:
            call(Store(path))
        assert "Only one process" not in str(err.value)  # it was blamed on a second writer


def test_ambiguous_and_unknown_ids_list_whole_ids(build, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    ids = [f"sweep-55bf53ab-{i:05d}" for i in range(3)]  # the same first 12 characters
    for rid in ids:
        store.save(Results(build.series(), build.makers(), build.meta(run_id=rid), {}))
    with pytest.raises(InputError, match="matches 3 runs") as err:
        store.load("sweep-55")
    assert sorted(err.value.allowed) == ids  # were cut to 12 characters: three times "sweep-55bf53"
    with pytest.raises(InputError, match="unknown run id") as err:
        store.load("nope")
    assert sorted(err.value.allowed) == ids
