"""Results store: round trip, listing, deleting, bad ids, all-or-nothing writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.results import Results
from nevsim.store import Store, default_path


def _assert_same(a: Results, b: Results) -> None:
    pd.testing.assert_frame_equal(a.series, b.series)
    pd.testing.assert_frame_equal(a.makers, b.makers)
    assert b.meta == json.loads(json.dumps(a.meta, default=str))
    assert b.scenario == a.scenario


def test_round_trip_fixture(small_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    rid = store.save(small_results)
    assert rid == "fixture0001"
    _assert_same(small_results, store.load(rid))


def test_round_trip_with_draws(draws_results, tmp_path):
    store = Store(tmp_path / "runs.duckdb")
    back = store.load(store.save(draws_results))
    assert "draw" in back.series.columns
    _assert_same(draws_results, back)


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
