"""Sweeps: validation, chunking, local pool vs a real Dask LocalCluster, resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nevsim.errors import InputError
from nevsim.store import Store
from nevsim.sweep import (
    chunks,
    executor,
    list_sweeps,
    load_sweep,
    load_sweep_spec,
    run_chunk,
    run_sweep,
    sweep_chunks,
    validate_sweep,
)

SHORT = {"years.last": 2032}  # short runs keep the tests fast

SMALL = {
    "name": "small",
    "scenarios": ["china-current-policies"],
    "overrides": SHORT,
    "grid": {"technology.battery_learning_rate": [0.14, 0.22]},
    "distributions": {"policy.dual_credit.pass_through": {"dist": "uniform", "low": 0.4, "high": 1.0}},
    "draws": 2,
    "chunk_draws": 1,
    "seed": 3,
}


# ---------------------------------------------------------------------------- the sweep file


def test_sweep_file_is_read_and_cut_into_chunks(tmp_path: Path) -> None:
    path = tmp_path / "sweep.toml"
    path.write_text(textwrap.dedent("""
        name = "demo"
        scenarios = ["china-current-policies", "china-no-dual-credit"]
        draws = 5
        chunk_draws = 2
        [overrides]
        years = { last = 2032 }
        [grid.technology]
        battery_learning_rate = [0.14, 0.18, 0.22]
        [distributions]
        "fleet.vkt_km_per_year" = { dist = "normal", mean = 12000, sd = 1500, min = 6000, max = 20000 }
        """), encoding="utf-8")
    spec = load_sweep_spec(path)
    assert spec.n_points == 6
    assert spec.overrides == {"years.last": 2032}
    cut = chunks(spec)
    assert len(cut) == 6 * 3
    assert [(c.draw_start, c.draw_stop) for c in cut[:3]] == [(0, 2), (2, 4), (4, 5)]
    assert cut[-1].scenario == "china-no-dual-credit" and cut[-1].grid == {"technology.battery_learning_rate": 0.22}
    assert load_sweep_spec(path, draws=7).sweep_id != spec.sweep_id
    assert load_sweep_spec(path).sweep_id == spec.sweep_id


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"colour": "red"}, "colour", "unknown key"),
    ({"scenarios": []}, "scenarios", "at least 1"),
    ({"scenarios": ["no-such-scenario"]}, "scenarios[0]", "unknown scenario"),  # (the list entry, not "scenario")
    ({"scenarios": ["china-current-policies", "no-such-scenario"]}, "scenarios[1]", "unknown scenario"),
    ({"scenarios": ["china-current-policies"] * 2}, "scenarios[1]", "listed twice"),  # (its points ran twice)
    # one path written twice (TOML allows a dotted key beside a table): one value won without a word
    ({"overrides": {"years.last": 2032, "years": {"last": 2031}}}, "overrides.years.last", "written twice"),
    # two grid values that are one value for the field: two points alike
    ({"grid": {"fleet.mean_life_years": [15, 15.0]}}, "grid.fleet.mean_life_years", "same value"),
    ({"grid": {"technology.battery_learning_rate": [0.18, "0.18"]}}, "grid.technology.battery_learning_rate",
     "same value"),
    # a grid value of a wrong shape: its index, not pydantic's union member ("….0.float")
    ({"grid": {"technology.battery_learning_rate": [[0.1], [0.2]]}}, "grid.technology.battery_learning_rate.0",
     "not a grid value"),
    ({"grid": {"technology": [1, 2]}}, "grid.technology", "is a table"),  # (not "a year path")
    ({"grid": {"technology.battery_learning_rat": [0.1]}}, "grid.technology.battery_learning_rat", "unknown key"),
    ({"grid": {"technology.battery_learning_rate": [0.9]}}, "grid.technology.battery_learning_rate", "out of range"),
    ({"grid": {"technology.battery_learning_rate": []}}, "grid", "no values"),
    ({"grid": {"energy.gasoline_price_cny_per_l": [8.0]}}, "grid.energy.gasoline_price_cny_per_l", "year path"),
    ({"distributions": {"technology.cny_per_usd": {"dist": "normal", "mean": 7.1, "sd": 1.0}}},
     "distributions.technology.cny_per_usd", "min/max"),
    ({"distributions": {"technology.battery_learning_rate": {"dist": "uniform", "low": 0.1, "high": 0.2}}},
     "distributions.technology.battery_learning_rate", "either swept or sampled"),
    ({"distributions": {"technology.cny_per_usd": {"dist": "normal", "mean": 7}}},
     "distributions.technology.cny_per_usd.sd", "missing"),
    ({"distributions": {}, "draws": 4, "scenario_uncertainty": False}, "draws", "[distributions]"),
    ({"draws": 0}, "draws", "greater than or equal to 1"),
    ({"precision": "half"}, "precision", "'double' or 'single'"),
    ({"precision": 32}, "precision", "'double' or 'single'"),
    ({"correlations": [{"names": ["policy.dual_credit.pass_through", "x"], "matrix": [[1, 0], [0, 1]]}]},
     "correlations[0].names", "no distribution"),
    # a sweep setting written after a table's header lands in that table (TOML): say so
    ({"overrides": {**SHORT, "draws": 100}}, "overrides.draws", "move `draws = …` above [overrides]"),
    ({"overrides": {**SHORT, "seed": 7}}, "overrides.seed", "above [overrides]"),
    ({"overrides": {**SHORT, "makers": False}}, "overrides.makers", "above [overrides]"),
    ({"grid": {"technology.battery_learning_rate": [0.14], "chunk_draws": 10}}, "grid.chunk_draws", "above [grid]"),
    ({"distributions": {"draws": 3}}, "distributions.draws", "above [distributions]"),
    ({"grid": {"technology.battery_learning_rate": [0.14], "precision": ["double"]}}, "grid.precision",
     "above [grid]"),
    # an override the scenario refuses is named with its table
    ({"overrides": {**SHORT, "colour": 1}}, "overrides.colour", "unknown key"),
    ({"overrides": {"years": {"lastt": 2032}}}, "overrides.years.lastt", "unknown key"),
    ({"overrides": {"makers": {"no_such_field": 1}}}, "overrides.makers.no_such_field", "unknown key"),
    # a scenario's [uncertainty] settings do nothing in a sweep (its draws, seed and sampling are the sweep's)
    ({"overrides": {**SHORT, "uncertainty.draws": 50}}, "overrides.uncertainty.draws", "no effect in a sweep"),
    ({"overrides": {**SHORT, "uncertainty": {"seed": 3}}}, "overrides.uncertainty.seed", "no effect in a sweep"),
    ({"grid": {"uncertainty.draws": [10, 20]}}, "grid.uncertainty.draws", "no effect in a sweep"),
])
def test_bad_sweeps_name_the_field(change: dict, field: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        validate_sweep({**SMALL, **change})
    assert err.value.field == field
    assert words in err.value.message
    if field == "precision":
        assert err.value.allowed == ["double", "single"]


# ---------------------------------------------------------------------------- the unit of work


def test_run_chunk_applies_sampled_values_and_numbers_draws() -> None:
    spec = validate_sweep(SMALL)
    series, makers = run_chunk("china-current-policies", {**SHORT, "technology.battery_learning_rate": 0.14},
                               range(1, 3), spec.seed, spec.distributions)
    assert sorted(series["draw"].unique()) == [1, 2] and sorted(makers["draw"].unique()) == [1, 2]
    ev = series[(series["variable"] == "Sales Share|Cars|EV") & (series["year"] == 2032)]
    assert ev["value"].nunique() == 2  # the two draws differ
    alone, _ = run_chunk("china-current-policies", {**SHORT, "technology.battery_learning_rate": 0.14},
                         range(2, 3), spec.seed, spec.distributions)
    pd.testing.assert_frame_equal(series[series["draw"] == 2].reset_index(drop=True), alone)


# ---------------------------------------------------------------------------- executors


def test_dask_cluster_gives_exactly_the_local_pool_result(tmp_path: Path, dask_cluster) -> None:
    spec = validate_sweep(SMALL)
    local = run_sweep(spec, tmp_path / "local.duckdb", workers=2)
    assert sorted(local.ran) == [0, 1, 2, 3]
    remote = run_sweep(spec, tmp_path / "dask.duckdb", scheduler=dask_cluster.scheduler_address)
    assert sorted(remote.ran) == [0, 1, 2, 3]
    a, b = load_sweep(tmp_path / "local.duckdb", "small"), load_sweep(tmp_path / "dask.duckdb", "small")
    pd.testing.assert_frame_equal(a, b)
    assert a["draw"].unique().tolist() == [0, 1] and a["point_id"].unique().tolist() == [0, 1]
    share = a[(a["variable"] == "Sales Share|Cars|EV") & (a["year"] == 2032)]
    assert share["value"].nunique() == 4


@pytest.mark.parametrize("precision", ["single", "double"])
def test_local_workers_send_blocks_through_files_and_store_what_inline_chunks_store(tmp_path: Path, monkeypatch,
                                                                                   precision: str) -> None:
    """A local pool's workers write their blocks to ``<store>.spool`` (not the result pipe): the stored
    runs, makers included, equal chunks run in this process; the folder is gone afterwards, and one
    left by a killed sweep is cleared when the next one starts."""
    from nevsim import sweep as sweep_module

    spec = validate_sweep({**SMALL, "precision": precision})
    inline = run_sweep(spec, tmp_path / "inline.duckdb", workers=0)
    leftover = tmp_path / "pool.duckdb.spool"
    leftover.mkdir()
    (leftover / "chunk-9-makers.arrow").write_bytes(b"left by a killed sweep")
    spooled: list[str] = []
    real_read = sweep_module._spool_read
    monkeypatch.setattr(sweep_module, "_spool_read", lambda enc: spooled.append(enc[1]) or real_read(enc))
    pooled = run_sweep(spec, tmp_path / "pool.duckdb", workers=2)
    assert sorted(pooled.ran) == sorted(inline.ran) == [0, 1, 2, 3]
    assert len(spooled) == 8 and all(isinstance(p, str) and p.startswith(str(leftover.resolve())) for p in spooled)
    assert not leftover.exists()  # removed at the end (and the leftover file with it)
    for a_id, b_id in zip(inline.run_ids, pooled.run_ids, strict=True):
        a, b = Store(tmp_path / "inline.duckdb").load(a_id), Store(tmp_path / "pool.duckdb").load(b_id)
        for x, y in ((a.series, b.series), (a.makers, b.makers)):  # (chunks may land in any order)
            keys = [c for c in x.columns if c != "value"]
            pd.testing.assert_frame_equal(x.sort_values(keys, kind="stable").reset_index(drop=True),
                                          y.sort_values(keys, kind="stable").reset_index(drop=True))
    assert run_sweep(spec, tmp_path / "inline.duckdb", workers=0).ran == []  # inline: nothing spooled …
    assert not (tmp_path / "inline.duckdb.spool").exists()  # … and no folder made


def test_a_process_pool_the_caller_passes_also_spools_and_other_executors_do_not(tmp_path: Path,
                                                                                 monkeypatch) -> None:
    """The CLI passes the pool it made (``executor``) to ``run_sweep``: its chunks go through the spool
    folder as well; an executor that may run elsewhere (in-process here, a Dask client) gets none."""
    from concurrent.futures import ProcessPoolExecutor

    from nevsim import sweep as sweep_module

    seen: list[str | None] = []
    monkeypatch.setattr(sweep_module, "_drive", lambda *args, **kwargs: seen.append(args[-1]))
    spec = validate_sweep(SMALL)
    with executor(workers=1) as pool:
        assert isinstance(pool, ProcessPoolExecutor)
        run_sweep(spec, tmp_path / "cli.duckdb", pool=pool)
    with executor(workers=0) as inline:
        run_sweep(spec, tmp_path / "inline.duckdb", pool=inline)
    assert Path(seen[0]).parent == (tmp_path / "cli.duckdb.spool").resolve() and seen[1] is None


def test_the_spool_folder_is_absolute_and_new_for_each_attempt(tmp_path: Path, monkeypatch) -> None:
    """Workers fork from a server started in another working directory (it lives as long as the
    process), so a relative store path must reach them as an absolute folder; and each attempt gets its
    own folder, so chunks still running from a failed attempt on a caller's pool never write over a
    file a later attempt has mapped."""
    from nevsim import sweep as sweep_module
    from nevsim.sweep import start_workers

    start_workers()  # (the server keeps the working directory it started in)
    monkeypatch.chdir(tmp_path)
    summary = run_sweep(validate_sweep(SMALL), "rel.duckdb", workers=1)
    assert sorted(summary.ran) == [0, 1, 2, 3]
    assert len(Store(tmp_path / "rel.duckdb").list_runs()) == 2
    with sweep_module._spool(Path("rel.duckdb")) as first:
        assert Path(first).is_absolute() and Path(first).is_dir()
    with sweep_module._spool(Path("rel.duckdb")) as second:
        assert second != first and Path(second).parent == Path(first).parent
    assert not (tmp_path / "rel.duckdb.spool").exists()


def test_the_workers_fork_server_preloads_the_warm_up_and_keeps_other_modules(monkeypatch) -> None:
    """``executor`` asks the fork server to import ``nevsim._worker`` (imports and caches, once) before it
    forks workers; modules already on the process-wide preload list stay, and asking twice adds nothing."""
    import multiprocessing
    from multiprocessing import forkserver

    from nevsim._forkserver import worker_context

    monkeypatch.setattr(forkserver._forkserver, "_preload_modules", ["__main__", "mine"])
    ctx = worker_context()
    assert ctx is multiprocessing.get_context("forkserver")
    assert forkserver._forkserver._preload_modules == ["__main__", "mine", "nevsim._worker"]
    worker_context()
    assert forkserver._forkserver._preload_modules == ["__main__", "mine", "nevsim._worker"]


def test_the_warm_up_fills_the_caches_starts_no_thread_and_swallows_its_errors(monkeypatch) -> None:
    """What the fork server runs: one draw of the default scenario (caches filled: the next run of it
    prepares nothing new), no thread left behind (the server forks from one thread), and an error in
    it is only a skipped warm-up (the workers compute, and report, what they need)."""
    import threading

    from nevsim import _worker, simulate

    def native_threads() -> int:  # (threading.active_count() does not see threads started in C)
        return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else threading.active_count()

    before = native_threads()
    assert isinstance(_worker.warm(), float)
    assert native_threads() == before
    hits = simulate._load_history.cache_info().hits
    assert isinstance(_worker.warm(), float) and simulate._load_history.cache_info().hits > hits

    def broken(*args, **kwargs):
        raise RuntimeError("no data")

    monkeypatch.setattr(simulate, "run_cells", broken)
    assert _worker.warm() is None

    def interrupted(*args, **kwargs):  # Ctrl-C while the server is still warming up
        raise KeyboardInterrupt

    monkeypatch.setattr(simulate, "run_cells", interrupted)
    assert _worker.warm() is None


def test_workers_of_a_local_pool_start_with_the_simulation_imported_and_warm() -> None:
    """What the fork server's preload is for: a worker's first task finds nevsim.simulate imported and
    the warm-up done (``_worker.WARM_SECONDS``). Probed with ``eval`` (a builtin, so picklable by name)."""
    probe = ("(__import__('sys').modules['nevsim._worker'].WARM_SECONDS, "
             "'nevsim.simulate' in __import__('sys').modules)")
    with executor(workers=1) as pool:
        warm_s, imported = pool.submit(eval, probe).result(timeout=120)
    assert imported and isinstance(warm_s, float) and warm_s > 0


def test_start_workers_starts_the_fork_server_once() -> None:
    from multiprocessing import forkserver

    from nevsim.sweep import start_workers

    start_workers()
    pid = forkserver._forkserver._forkserver_pid
    assert pid is not None
    start_workers()
    assert forkserver._forkserver._forkserver_pid == pid  # (kept: workers of later pools fork from it)
    assert "nevsim._worker" in forkserver._forkserver._preload_modules


def test_a_file_where_the_spool_folder_goes_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "s.duckdb.spool").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError) as err:
        run_sweep(validate_sweep(SMALL), tmp_path / "s.duckdb", workers=2)
    assert err.value.field == "store" and "is a file" in err.value.message
    assert (tmp_path / "s.duckdb.spool").read_text(encoding="utf-8") == "mine"  # left as it was


def test_a_failing_chunk_leaves_no_spool_folder(tmp_path: Path, monkeypatch) -> None:
    """A chunk whose blocks cannot be read stops the sweep; the spool folder is removed all the same."""
    from nevsim import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "_spool_read", lambda enc: (_ for _ in ()).throw(RuntimeError("lost")))
    with pytest.raises(RuntimeError, match="lost"):
        run_sweep(validate_sweep(SMALL), tmp_path / "s.duckdb", workers=2)
    assert not (tmp_path / "s.duckdb.spool").exists()


@pytest.mark.parametrize("precision", ["single", "double"])
def test_chunk_size_does_not_change_the_results(tmp_path: Path, precision: str) -> None:
    one = run_sweep(validate_sweep({**SMALL, "precision": precision}), tmp_path / "s.duckdb", workers=0)
    two = run_sweep(validate_sweep({**SMALL, "chunk_draws": 2, "precision": precision}), tmp_path / "s.duckdb",
                    workers=0)
    assert (one.n_chunks, two.n_chunks) == (4, 2)
    pd.testing.assert_frame_equal(load_sweep(tmp_path / "s.duckdb", one.sweep_id),
                                  load_sweep(tmp_path / "s.duckdb", two.sweep_id))


def test_a_sweep_file_without_precision_resumes_the_same_sweep_stored_in_double_before(tmp_path: Path) -> None:
    """Review finding: after the default became single, running an older sweep file again started a
    second sweep beside the stored one (a new id) without a word."""
    store = tmp_path / "s.duckdb"
    before = run_sweep(validate_sweep({**SMALL, "precision": "double"}), store, workers=0)  # (the id it had before)
    with Store(store)._connect(write=True) as con:  # one chunk lost, as if the sweep had been killed
        con.execute("DELETE FROM sweep_chunks WHERE chunk_id = 3")
    again = run_sweep(validate_sweep(SMALL), store, workers=0)  # the same file, no precision line
    assert again.sweep_id == before.sweep_id and again.ran == [3] and again.precision == "double"
    assert again.note is not None and "double precision" in again.note and 'precision = "single"' in again.note
    single = run_sweep(validate_sweep({**SMALL, "precision": "single"}), store, workers=0)  # said: a new sweep
    assert single.sweep_id != before.sweep_id and single.note is None and len(single.ran) == 4
    assert single.precision == "single"
    assert run_sweep(validate_sweep(SMALL), store, workers=0).note is None  # (now the file's own sweep exists)


def test_chunks_from_a_worker_without_single_precision_are_stored_in_the_sweeps(tmp_path: Path) -> None:
    """Review finding: a worker that sends blocks without ``value32`` (an older nevsim on a cluster)
    had its chunk stored in double inside a single-precision sweep without a word."""
    from nevsim.sweep import _as_stored, _task, _work

    spec = validate_sweep(SMALL)
    task = _task(spec, chunks(spec)[0])
    _, (cells, blocks), _, _, _ = _work({**task, "precision": "double"})
    old = blocks.drop_columns(["value32"])  # what a worker before schema 4 sent
    _, fixed = _as_stored(spec, (cells, old))
    assert fixed.column("value").null_count == len(fixed) and fixed.column("value32").null_count == 0
    _, mine = _work(task)[1]
    assert fixed.column_names == mine.column_names
    for name in ("cell", "first_draw", "n_rows"):
        assert fixed.column(name).to_pylist() == mine.column(name).to_pylist(), name
    for name in ("value", "value32"):  # (NaN where NaN)
        a, b = fixed.column(name).combine_chunks(), mine.column(name).combine_chunks()
        assert a.null_count == b.null_count and a.offsets.equals(b.offsets)
        np.testing.assert_array_equal(a.flatten().to_numpy(), b.flatten().to_numpy())


def test_grid_columns_come_back_with_the_type_of_their_values(tmp_path: Path) -> None:
    spec = validate_sweep({**SMALL, "draws": 1, "distributions": {}, "grid": {
        "technology.battery_learning_rate": [0.14, 0.22], "years.last": [2030, 2031],
        "policy.dual_credit.enabled": [True, False]}})
    summary = run_sweep(spec, tmp_path / "s.duckdb", workers=0)
    frame = load_sweep(tmp_path / "s.duckdb", summary.sweep_id)
    assert frame["technology.battery_learning_rate"].dtype == np.float64
    assert frame["years.last"].dtype == np.int64 and frame["policy.dual_credit.enabled"].dtype == bool
    assert set(frame["technology.battery_learning_rate"]) == {0.14, 0.22}
    assert frame.groupby("point_id")["years.last"].first().tolist() == [2030, 2030, 2031, 2031] * 2


def test_points_land_as_runs_with_draws(tmp_path: Path) -> None:
    summary = run_sweep(validate_sweep(SMALL), tmp_path / "s.duckdb", workers=0)
    store = Store(tmp_path / "s.duckdb")
    assert set(store.list_runs()["run_id"]) == set(summary.run_ids)
    res = store.load(summary.run_ids[1])
    assert res.meta["sweep"]["grid"] == {"technology.battery_learning_rate": 0.22}
    assert res.meta["draws"] == 2 and sorted(res.series["draw"].unique()) == [0, 1]
    check = res.targets()
    assert "probability_met" in check.columns
    sweeps = list_sweeps(store)
    assert sweeps.loc[0, "chunks_done"] == sweeps.loc[0, "n_chunks"] == 4
    again = run_sweep(validate_sweep(SMALL), store, workers=0)
    assert again.ran == [] and again.skipped == [0, 1, 2, 3]


def test_unknown_scheduler_is_an_input_error(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(InputError) as err, executor("tcp://127.0.0.1:9", connect_timeout_s=1):
        pass
    assert err.value.field == "scheduler"


# ---------------------------------------------------------------------------- resume after a kill

KILLED = {**SMALL, "name": "killed", "grid": {"technology.battery_learning_rate": [0.12, 0.15, 0.18, 0.21, 0.24]},
          "draws": 1, "distributions": {}, "chunk_draws": 1}

SCRIPT = """
import sys, time
from nevsim.sweep import run_sweep, validate_sweep

def progress(done, total):
    print(f"committed {done}/{total}", flush=True)
    time.sleep(0.4)  # slow the writer so that the kill lands mid-sweep

if __name__ == "__main__":
    run_sweep(validate_sweep(SPEC), sys.argv[1], workers=1, max_pending=1, progress=progress)
    print("finished", flush=True)
"""


def test_resume_after_a_killed_sweep_redoes_nothing_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "killed.duckdb"
    script = tmp_path / "sweep_script.py"
    script.write_text(f"SPEC = {KILLED!r}\n" + SCRIPT, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        for line in proc.stdout:  # type: ignore[union-attr]
            if line.startswith("committed 2/") or time.monotonic() > deadline:
                break
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its worker processes, mid-sweep
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
    spec = validate_sweep(KILLED)
    before = sweep_chunks(path, spec.sweep_id)["chunk_id"].tolist()
    assert 2 <= len(before) < 5, before

    resumed = run_sweep(spec, path, workers=0)
    assert resumed.skipped == sorted(before)
    assert set(resumed.ran).isdisjoint(before) and sorted(before + resumed.ran) == [0, 1, 2, 3, 4]
    rows = sweep_chunks(path, spec.sweep_id)
    assert rows["chunk_id"].tolist() == [0, 1, 2, 3, 4]  # one row per chunk: none written twice

    fresh = run_sweep(spec, tmp_path / "fresh.duckdb", workers=0)
    assert fresh.ran == [0, 1, 2, 3, 4]
    got, want = load_sweep(path, "killed"), load_sweep(tmp_path / "fresh.duckdb", "killed")
    pd.testing.assert_frame_equal(got, want)
    assert not got.duplicated(["point_id", "variable", "region", "year", "draw"]).any()
    assert np.isfinite(got["value"]).any()


# ---------------------------------------------------------------------------- what workers send back


@pytest.mark.parametrize("precision", ["single", "double"])
def test_workers_send_the_compact_form_that_stores_the_same_rows_as_the_frames(tmp_path: Path, precision: str) -> None:
    import duckdb
    import pyarrow as pa

    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.store import SCHEMA_VERSION, append_rows, insert_run, long_rows
    from nevsim.sweep import _task, _work

    spec = validate_sweep({**SMALL, "precision": precision})
    task = _task(spec, chunks(spec)[1])
    chunk_id, (series_cells, series_values), (makers_cells, makers_values), _, seconds = _work(task)
    assert chunk_id == 1 and seconds > 0
    assert isinstance(series_values, pa.Table)
    assert series_values.column_names == ["cell", "first_draw", "n_rows", "value", "value32"]
    assert series_values.column("value" if precision == "double" else "value32").null_count == 0
    series, makers = run_chunk(task["scenario"], task["overrides"], range(task["draw_start"], task["draw_stop"]),
                               spec.seed, spec.distributions, scenario_uncertainty=task["scenario_uncertainty"])
    assert len(makers_cells) == len(makers.drop(columns=["value", "draw"]).drop_duplicates())  # labels once a cell
    store = Store(tmp_path / "s.duckdb")
    with store._connect(write=True) as con:
        run_key = insert_run(con, "r1", "x", None, None, None, {}, {})
        append_rows(con, "series", run_key, series_cells, series_values)
        append_rows(con, "makers", run_key, makers_cells, makers_values)
    con = duckdb.connect(str(store.path), read_only=True)
    try:
        for table, frame, columns in (("series", series, SERIES_COLUMNS), ("makers", makers, MAKERS_COLUMNS)):
            got = con.execute(f"SELECT {', '.join(columns)}, draw FROM {long_rows(SCHEMA_VERSION, table)} ORDER BY stored_row"
                              ).df()  # the rows as written, through the view's joins
            want = frame
            assert len(got) == len(frame) > 0
            for col in columns[:-1]:
                assert got[col].tolist() == want[col].tolist(), col
            want_value = want["value"].to_numpy()
            if precision == "single":  # the draws rounded to single precision, to nearest
                want_value = want_value.astype(np.float32).astype(np.float64)
                assert not np.array_equal(want_value, want["value"].to_numpy(), equal_nan=True)
            np.testing.assert_array_equal(got["value"].to_numpy(), want_value)  # NaN where NaN
            assert got["draw"].tolist() == want["draw"].tolist()
    finally:
        con.close()


@pytest.mark.parametrize("keep_cells", [False, True], ids=["read-back", "writer-cache"])
def test_chunks_whose_cells_differ_are_matched_by_label(tmp_path: Path, keep_cells: bool) -> None:
    """A chunk with the run's cells in another order, or new ones, lands on the right labels,
    whether the writer reads the run's cells back or keeps what ``append_rows`` returned."""
    from nevsim.results import SERIES_COLUMNS
    from nevsim.store import append_rows, encode, insert_run

    first = pd.DataFrame({"scenario": "s", "region": "CN", "variable": ["a", "a", "b"], "unit": "u",
                          "year": [2020, 2021, 2020], "value": [1.0, 2.0, 3.0], "draw": 0})
    second = pd.DataFrame({"scenario": "s", "region": "CN", "variable": ["c", "b", "a"], "unit": "u",
                           "year": [2020, 2020, 2021], "value": [4.0, 5.0, 6.0], "draw": 1})
    third = pd.DataFrame({"scenario": "s", "region": "CN", "variable": ["a", "d", "c"], "unit": "u",
                          "year": [2020, 2020, 2020], "value": [7.0, 8.0, 9.0], "draw": 2})
    empty = first.iloc[:0]
    store = Store(tmp_path / "s.duckdb")
    with store._connect(write=True) as con:
        run_key = insert_run(con, "r1", "s", None, None, None, {"run_id": "r1"}, {})
        known = None
        for frame in (first, empty, second, third):
            after = append_rows(con, "series", run_key, *encode(frame, SERIES_COLUMNS), known=known)
            assert list(after[["variable", "year"]].itertuples(index=False, name=None)) == con.execute(
                "SELECT variable, year FROM series_cells WHERE run_key = ? ORDER BY cell", [run_key]).fetchall()
            known = after if keep_cells else None
        cells = con.execute("SELECT cell, variable, year FROM series_cells ORDER BY cell").fetchall()
    assert cells == [(0, "a", 2020), (1, "a", 2021), (2, "b", 2020), (3, "c", 2020), (4, "d", 2020)]
    got = store.load("r1").series
    want = pd.concat([first, second, third], ignore_index=True)
    assert got[["variable", "year", "value", "draw"]].astype({"year": "int64"}).values.tolist() == \
        want[["variable", "year", "value", "draw"]].values.tolist()


def _text(frame: pd.DataFrame) -> pd.DataFrame:
    """Label columns as text (loaded tables hold them as categoricals)."""
    return frame.astype({c: "str" for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)})


def test_sweep_rows_read_the_same_from_a_version_1_store_and_after_its_migration(tmp_path: Path) -> None:
    """Current-version reads give the frames version 1 gave for the same rows (values, types, order)."""
    import duckdb

    from nevsim.store import _DDL_V1, SCHEMA_VERSION, schema_version

    new = tmp_path / "new.duckdb"
    summary = run_sweep(validate_sweep(SMALL), new, workers=0)
    want_sweep = {t: load_sweep(new, "small", table=t) for t in ("series", "makers")}
    want_runs = {rid: Store(new).load(rid) for rid in summary.run_ids}
    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.store import long_rows

    con = duckdb.connect(str(new), read_only=True)
    try:  # load_sweep reads the numbers and labels apart: the same as the joined rows in SQL
        for table, columns in (("series", SERIES_COLUMNS), ("makers", MAKERS_COLUMNS)):
            joined = con.execute(f"SELECT {', '.join(columns)}, draw FROM {long_rows(SCHEMA_VERSION, table)} "
                                 "ORDER BY run_id, draw, stored_row").df().astype({"draw": "int64"})
            pd.testing.assert_frame_equal(_text(want_sweep[table].iloc[:, 2:]), joined)
    finally:
        con.close()
    old = tmp_path / "v1.duckdb"  # the same rows written as version 1 did (labels on every row)
    con = duckdb.connect(str(old))
    try:
        for ddl in _DDL_V1:
            con.execute(ddl)
        con.execute("INSERT INTO store_info VALUES ('schema_version', '1')")
        con.execute(f"ATTACH '{new}' AS new (READ_ONLY)")
        con.execute("INSERT INTO runs SELECT * EXCLUDE (run_key) FROM new.runs")
        for table in ("series", "makers"):
            con.execute(f"INSERT INTO {table} SELECT * FROM new.{table} ORDER BY run_id, draw")
        for table in ("sweeps", "sweep_chunks"):
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM new.{table}")
    finally:
        con.close()
    from nevsim.cli.sweep import headlines  # (reads the headline cells' blocks only, from version 3)

    spec = validate_sweep(SMALL)
    heads = headlines(Store(new), summary.sweep_id, spec)
    assert heads == headlines(Store(old), summary.sweep_id, spec)  # version 1, read as it is
    assert heads[0]["ev_share_2030_pct"] is not None and heads[0]["ev_share_2035_pct"] is None  # (ends 2032)
    for rid, res in want_runs.items():  # read-only: version 1 read as it is
        back = Store(old).load(rid)  # (version 1: text labels; later versions: categoricals)
        pd.testing.assert_frame_equal(_text(back.series), _text(res.series))
        pd.testing.assert_frame_equal(_text(back.makers), _text(res.makers))
    for table, frame in want_sweep.items():  # load_sweep opens for writing: migrates first
        pd.testing.assert_frame_equal(load_sweep(old, "small", table=table), frame)
    con = duckdb.connect(str(old), read_only=True)
    assert schema_version(con) == SCHEMA_VERSION
    con.close()
    for rid, res in want_runs.items():
        pd.testing.assert_frame_equal(Store(old).load(rid).series, res.series)


@pytest.mark.parametrize("makers", [True, False])
def test_cells_times_draws_encode_to_what_the_long_tables_encode_to(makers: bool) -> None:
    """run_cells + encode_cells (what workers send) == encode of run_values' long tables, bit for bit."""
    import pyarrow as pa

    from nevsim.results import MAKERS_COLUMNS, SERIES_COLUMNS
    from nevsim.simulate import run_cells, run_values
    from nevsim.store import encode, encode_cells
    from nevsim.uncertainty import sample

    dists = {"technology.battery_learning_rate": {"dist": "normal", "mean": 0.18, "sd": 0.02, "min": 0.1, "max": 0.3}}
    values = sample(dists, 3, 7, start=5)
    series, maker_frame, _ = run_values("china-current-policies", values, draw_offset=5, makers=makers)
    cells, meta = run_cells("china-current-policies", values, draw_offset=5, makers=makers)
    assert meta["draw_offset"] == 5 and meta["draws"] == 3
    for table, frame, columns in (("series", series, SERIES_COLUMNS), ("makers", maker_frame, MAKERS_COLUMNS)):
        want_cells, want_blocks = encode(frame, columns)
        got_cells, got_blocks = encode_cells(*cells[table], first_draw=5)
        assert list(got_cells.columns) == list(want_cells.columns)
        for c in want_cells.columns:
            assert [None if pd.isna(v) else v for v in got_cells[c].tolist()] == \
                [None if pd.isna(v) else v for v in want_cells[c].tolist()], (table, c)
        assert len(got_blocks) == len(want_blocks) == (len(want_cells) if len(frame) else 0)
        for c in ("cell", "first_draw", "n_rows"):
            assert got_blocks.column(c).to_pylist() == want_blocks.column(c).to_pylist(), (table, c)
        flat = [pa.chunked_array(t.column("value")).combine_chunks().flatten().to_numpy(zero_copy_only=False)
                for t in (got_blocks, want_blocks)]
        assert flat[0].view(np.int64).tolist() == flat[1].view(np.int64).tolist()  # bits, NaN included
    if makers:
        assert len(cells["makers"][0]) > 0 and (cells["makers"][1].shape[1] == 3)


def test_run_cells_refuses_a_bad_draw_offset_and_encodes_nothing_from_nothing() -> None:
    from nevsim.simulate import run_cells
    from nevsim.store import encode_cells

    for bad in (-1, 1.5, True):
        with pytest.raises(InputError) as err:
            run_cells("china-current-policies", {}, draw_offset=bad)  # type: ignore[arg-type]
        assert err.value.field == "draw_offset"
    cells = pd.DataFrame({c: pd.Series(dtype=object) for c in ("scenario", "region", "variable", "unit")})
    frame, blocks = encode_cells(cells.assign(year=pd.Series(dtype="int64")), np.zeros((0, 4)), first_draw=0)
    assert list(frame.columns) == ["cell", "scenario", "region", "variable", "unit", "year"] and len(frame) == 0
    assert blocks.num_rows == 0 and blocks.column_names == ["cell", "first_draw", "n_rows", "value", "value32"]


@pytest.mark.parametrize("row_group_size", [None, 8192])
def test_a_store_another_process_writes_to_is_a_clear_error(tmp_path: Path, row_group_size: int | None) -> None:
    """Plain or attached with a row group size (the sweep writer): the lock is an InputError naming the store."""
    import subprocess
    import sys
    import textwrap

    path = tmp_path / "held.duckdb"
    Store(path).list_runs()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("held", flush=True)
        time.sleep(30)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError) as err:
            with Store(path)._connect(write=True, row_group_size=row_group_size):
                pass
        assert err.value.field == "store" and "one process may write" in err.value.message
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_sweep_writer_appends_row_groups_of_its_size(tmp_path: Path) -> None:
    import duckdb

    from nevsim.store import WRITE_ROW_GROUP_SIZE

    path = tmp_path / "s.duckdb"
    run_sweep(validate_sweep({**SMALL, "draws": 4, "chunk_draws": 1}), path, workers=0)
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("SELECT count(*) FROM makers_values").fetchone()[0]
        groups = con.execute("SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('makers_values')"
                             ).fetchone()[0]
    finally:
        con.close()
    assert rows > WRITE_ROW_GROUP_SIZE  # more rows than one row group holds …
    full = -(-rows // WRITE_ROW_GROUP_SIZE)  # … in row groups of the writer's size (default: one), each
    assert full <= groups <= full + 4  # chunk's full ones written as they are, its last one open (4 chunks)


def test_the_sweep_writer_handles_a_store_path_with_quotes_and_spaces(tmp_path: Path) -> None:
    odd = tmp_path / "it's a store" / "runs 1.duckdb"
    summary = run_sweep(validate_sweep(SMALL), odd, workers=0)
    assert odd.exists() and len(summary.ran) == summary.n_chunks
    assert len(load_sweep(odd, "small")) > 0


def test_a_fork_server_that_died_is_started_again_by_the_next_sweep(tmp_path: Path) -> None:
    """The server lives as long as the process; if it is killed (the OOM killer, a user), the next
    sweep starts a new one and runs as usual."""
    from multiprocessing import forkserver

    from nevsim.sweep import start_workers

    start_workers()
    pid = forkserver._forkserver._forkserver_pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    stat = Path(f"/proc/{pid}/stat")
    while time.monotonic() < deadline and stat.exists() and stat.read_text().split()[2] != "Z":
        time.sleep(0.05)  # (until it is a zombie: dead, not yet reaped)
    summary = run_sweep(validate_sweep(SMALL), tmp_path / "s.duckdb", workers=1)
    assert sorted(summary.ran) == [0, 1, 2, 3]
    assert forkserver._forkserver._forkserver_pid not in (None, pid)


def test_start_workers_does_nothing_while_the_server_imports_the_main_script(monkeypatch) -> None:
    """The fork server imports the caller's main script with ``_inheriting`` set, and each worker (a
    process with a parent) imports it again: a ``start_workers()`` at the script's top level must do
    nothing there (in a worker it raised multiprocessing's bootstrapping error and broke the pool)."""
    import multiprocessing
    from multiprocessing import forkserver

    from nevsim.sweep import start_workers

    started: list[bool] = []
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append(True))
    me = multiprocessing.current_process()
    monkeypatch.setattr(me, "_inheriting", True, raising=False)
    start_workers()
    assert started == []
    monkeypatch.setattr(me, "_inheriting", False, raising=False)
    monkeypatch.setattr(multiprocessing, "parent_process", lambda: object())
    start_workers()
    assert started == []
    monkeypatch.undo()
    monkeypatch.setattr(forkserver, "ensure_running", lambda: started.append(True))
    start_workers()
    assert started == [True]


def test_a_script_that_calls_start_workers_outside_its_guard_still_sweeps(tmp_path: Path) -> None:
    """End to end: a script with ``start_workers()`` at its top level (the server and the worker import
    it again) runs its sweep (without the check in start_workers the pool broke)."""
    script = tmp_path / "top.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        from nevsim.sweep import run_sweep, start_workers, validate_sweep
        start_workers()  # outside the guard on purpose
        SPEC = {{**{SMALL!r}, "grid": {{"technology.battery_learning_rate": [0.14]}}}}
        if __name__ == "__main__":
            print("ran", sorted(run_sweep(validate_sweep(SPEC), sys.argv[1], workers=1).ran))
        """), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script), str(tmp_path / "s.duckdb")], capture_output=True,
                          text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ran [0, 1]" in done.stdout
