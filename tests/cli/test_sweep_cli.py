"""`nevsim sweep FILE|NAME`, `nevsim sweep list`, `nevsim sweep show` (real model, short years)."""

from __future__ import annotations

import json
import math
import socket
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nevsim.cli import app
from nevsim.cli.sweep import check_scheduler, list_shipped_sweeps, load_spec
from nevsim.errors import InputError
from nevsim.sweep import load_sweep

runner = CliRunner()

SWEEP = textwrap.dedent("""
    name = "cli-small"
    scenarios = ["china-current-policies"]
    draws = 2
    chunk_draws = 1
    seed = 5
    [overrides]
    "years.last" = 2035
    [grid]
    "technology.battery_learning_rate" = [0.14, 0.22]
    [distributions]
    "policy.dual_credit.pass_through" = {dist = "uniform", low = 0.4, high = 1.0}
    """)


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    file = folder / "small.toml"
    file.write_text(SWEEP, encoding="utf-8")
    store = folder / "runs.duckdb"
    result = invoke("sweep", str(file), "--workers", "0", "--store", str(store), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), file, store


def test_a_sweep_file_run_before_precision_existed_resumes_with_a_note(tmp_path: Path) -> None:
    file, store = tmp_path / "s.toml", tmp_path / "runs.duckdb"
    file.write_text(SWEEP.replace("seed = 5", 'seed = 5\nprecision = "double"'), encoding="utf-8")
    first = invoke("sweep", str(file), "--workers", "0", "--store", str(store), "--json")
    assert first.exit_code == 0, first.output
    old_id = json.loads(first.stdout)["sweep"]["sweep_id"]
    file.write_text(SWEEP, encoding="utf-8")  # the file as it was written before the option
    again = invoke("sweep", str(file), "--workers", "0", "--store", str(store))
    assert again.exit_code == 0, again.output
    text = " ".join(again.stdout.split())
    assert f"Note: resumed sweep {old_id}, stored in double precision" in text and "4 already done" in text
    as_json = json.loads(invoke("sweep", str(file), "--workers", "0", "--store", str(store), "--json").stdout)
    assert as_json["sweep"]["sweep_id"] == old_id and as_json["sweep"]["precision"] == "double"
    assert "resumed sweep" in as_json["sweep"]["note"]


def test_json_summary_and_headlines(swept) -> None:
    payload, _, store = swept
    info, points = payload["sweep"], payload["points"]
    assert (info["n_points"], info["n_chunks"], info["chunks_run"], info["chunks_skipped"]) == (2, 4, 4, 0)
    assert info["store"] == str(store) and info["executor"] == "in-process" and len(info["sweep_id"]) == 16
    assert [p["grid"]["technology.battery_learning_rate"] for p in points] == [0.14, 0.22]
    for p in points:
        assert p["draws_done"] == 2 and p["run_id"] == f"sweep-{info['sweep_id']}-{p['point_id']:05d}"
        assert 0.0 < p["ev_share_2030_pct"] < p["ev_share_2035_pct"] <= 100.0
        assert math.isfinite(p["credit_price_2030_cny"]) and p["credit_price_2030_cny"] >= 0.0
    # faster battery learning → cheaper EVs → a higher EV share (same draws: common random numbers)
    assert points[1]["ev_share_2035_pct"] > points[0]["ev_share_2035_pct"]


def test_headlines_are_the_medians_of_the_stored_draws(swept) -> None:
    payload, _, store = swept
    table = load_sweep(store, payload["sweep"]["sweep_id"])
    ev = table[(table["variable"] == "Sales Share|Cars|EV") & (table["year"] == 2030)]
    medians = ev.groupby("point_id")["value"].median()
    assert ev.groupby("point_id")["draw"].nunique().tolist() == [2, 2]
    assert [p["ev_share_2030_pct"] for p in payload["points"]] == pytest.approx(medians.tolist(), rel=1e-12)
    for q, suffix in ((0.05, "_p05"), (0.95, "_p95")):
        expected = ev.groupby("point_id")["value"].quantile(q).tolist()
        assert [p[f"ev_share_2030_pct{suffix}"] for p in payload["points"]] == pytest.approx(expected, rel=1e-12)
    for p in payload["points"]:  # two draws of the pass-through give two different shares
        assert p["ev_share_2030_pct_p05"] < p["ev_share_2030_pct"] < p["ev_share_2030_pct_p95"]


def test_rerun_resumes_and_skips_every_chunk(swept) -> None:
    payload, file, store = swept
    again = invoke("sweep", "run", str(file), "--workers", "0", "--store", str(store), "--json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["sweep"]["sweep_id"] == payload["sweep"]["sweep_id"]
    assert (second["sweep"]["chunks_run"], second["sweep"]["chunks_skipped"]) == (0, 4)
    assert second["points"] == payload["points"]
    text = invoke("sweep", str(file), "--workers", "0", "--store", str(store))
    assert text.exit_code == 0
    assert "0 run now, 4 already done" in " ".join(text.stdout.split())
    assert "(5–95 % range)" in text.stdout


def test_list_and_show(swept, tmp_path: Path) -> None:
    payload, _, store = swept
    sweep_id = payload["sweep"]["sweep_id"]
    listed = invoke("sweep", "list", "--store", str(store), "--json")
    assert listed.exit_code == 0, listed.output
    rows = {r["sweep_id"]: r for r in json.loads(listed.stdout)}
    assert rows[sweep_id]["chunks_done"] == 4 and rows[sweep_id]["name"] == "cli-small"
    assert sweep_id in invoke("sweep", "list", "--store", str(store)).stdout

    shown = invoke("sweep", "show", sweep_id[:6], "--store", str(store), "--json")
    assert shown.exit_code == 0, shown.output
    show = json.loads(shown.stdout)
    assert show["points"] == payload["points"] and show["sweep"]["sweep_id"] == sweep_id
    assert show["sweep"]["grid"] == {"technology.battery_learning_rate": [0.14, 0.22]}
    assert "cli-small" in invoke("sweep", "show", "cli-small", "--store", str(store)).stdout
    # its settings, so the two meanings of a sweep's draws can be told apart (QA 2)
    assert "scenario_uncertainty" in show["sweep"] and "makers" in show["sweep"]
    settings = invoke("sweep", "show", sweep_id, "--store", str(store)).stdout
    assert "Settings:" in settings
    # and how its draws are stored (a two-draw sweep: single precision by default)
    assert show["sweep"]["precision"] == "single" and "single precision" in " ".join(settings.split())

    csv = tmp_path / "sweep.csv"
    wrote = invoke("sweep", "show", sweep_id, "--store", str(store), "--csv", str(csv))
    assert wrote.exit_code == 0, wrote.output
    frame = pd.read_csv(csv)
    assert len(frame) == len(load_sweep(store, sweep_id))

    assert {"point_id", "technology.battery_learning_rate", "variable", "year", "value", "draw"} <= set(frame.columns)
    refused = invoke("sweep", "show", sweep_id, "--store", str(store), "--csv", str(csv))
    assert refused.exit_code == 2 and "--force" in refused.output
    assert invoke("sweep", "show", sweep_id, "--store", str(store), "--csv", str(csv), "--force").exit_code == 0
    html = invoke("sweep", "show", sweep_id, "--store", str(store), "--csv", str(tmp_path / "sweep.html"))
    assert html.exit_code == 2 and "Allowed: .csv." in html.output  # (QA 2: CSV was written into a .html file)


@pytest.mark.parametrize("columns", [80, 120])
def test_show_and_list_fit_the_terminal(swept, columns: int) -> None:
    """Was 150 columns whatever the terminal; now within COLUMNS (TTY_COMPATIBLE=1: a terminal)."""
    import re

    from rich.cells import cell_len

    payload, _, store = swept
    for args in (["sweep", "show", payload["sweep"]["sweep_id"]], ["sweep", "list"]):
        result = runner.invoke(app, [*args, "--store", str(store)],
                               env={"COLUMNS": str(columns), "TTY_COMPATIBLE": "1"})
        assert result.exit_code == 0, result.output
        text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", result.stdout)
        assert max(cell_len(line) for line in text.splitlines()) <= columns


GRID_ORDER = textwrap.dedent("""
    name = "grid-order"
    scenarios = ["china-current-policies"]
    [overrides]
    "years.last" = 2032
    [grid]                       # not in alphabetical order: technology… before fleet…
    "technology.battery_learning_rate" = [0.14, 0.22]
    "fleet.vkt_km_per_year" = [10000.0, 15000.0]
    """)


def test_show_labels_points_in_the_order_the_sweep_ran(tmp_path: Path) -> None:
    file = tmp_path / "order.toml"
    file.write_text(GRID_ORDER, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    ran = invoke("sweep", str(file), "--workers", "0", "--store", str(store), "--json")
    assert ran.exit_code == 0, ran.output
    run_points = json.loads(ran.stdout)["points"]
    assert [tuple(p["grid"].values()) for p in run_points] == [(0.14, 10000.0), (0.14, 15000.0),
                                                               (0.22, 10000.0), (0.22, 15000.0)]
    assert len({round(p["ev_share_2030_pct"], 9) for p in run_points}) == 4  # every point differs
    sweep_id = json.loads(ran.stdout)["sweep"]["sweep_id"]
    shown = json.loads(invoke("sweep", "show", sweep_id, "--store", str(store), "--json").stdout)["points"]
    assert shown == run_points
    csv = tmp_path / "order.csv"
    assert invoke("sweep", "show", sweep_id, "--store", str(store), "--csv", str(csv)).exit_code == 0
    frame = pd.read_csv(csv)
    ev = frame[(frame["variable"] == "Sales Share|Cars|EV") & (frame["year"] == 2030)].set_index("point_id")
    for p in run_points:
        row = ev.loc[p["point_id"]]
        assert (row["technology.battery_learning_rate"], row["fleet.vkt_km_per_year"]) == tuple(p["grid"].values())
        assert row["value"] == pytest.approx(p["ev_share_2030_pct"], rel=1e-9)  # (CSV values have 10 significant digits: results.CSV_FLOAT_FORMAT)
    # the Python API labels the points the same way (nevsim.sweep.load_sweep)
    from nevsim.sweep import load_sweep

    loaded = load_sweep(store, sweep_id)
    ev = loaded[(loaded["variable"] == "Sales Share|Cars|EV") & (loaded["year"] == 2030)].set_index("point_id")
    for p in run_points:
        row = ev.loc[p["point_id"]]
        assert (row["technology.battery_learning_rate"], row["fleet.vkt_km_per_year"]) == tuple(p["grid"].values())


def test_show_unknown_sweep_and_store(swept, tmp_path: Path) -> None:
    _, _, store = swept
    unknown = invoke("sweep", "show", "ffffffff", "--store", str(store))
    assert unknown.exit_code == 2 and "no sweep 'ffffffff'" in unknown.output
    missing = invoke("sweep", "show", "abc", "--store", str(tmp_path / "none.duckdb"))
    assert missing.exit_code == 2 and "no results store" in missing.output
    assert not (tmp_path / "none.duckdb").exists()


def test_real_dask_cluster_gives_the_local_result(swept, tmp_path: Path, dask_cluster) -> None:
    payload, file, _ = swept
    result = invoke("sweep", str(file), "--scheduler", dask_cluster.scheduler_address,
                    "--store", str(tmp_path / "dask.duckdb"), "--json")
    assert result.exit_code == 0, result.output
    remote = json.loads(result.stdout)
    assert remote["sweep"]["executor"] == dask_cluster.scheduler_address and remote["sweep"]["chunks_run"] == 4
    assert remote["points"] == payload["points"]


def test_shipped_sweep_by_name() -> None:
    assert "learning-vs-pass-through" in list_shipped_sweeps()
    spec = load_spec("learning-vs-pass-through")
    assert spec.n_points == 18 and spec.name == "learning-vs-pass-through"
    assert load_spec("learning-vs-pass-through", draws=3).draws == 3


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "tcp://localhost:1", "tcp://[::1]:8786",
                                     "tcp://sched-1.example.org:65535"])
def test_scheduler_addresses_accepted(address: str) -> None:
    assert check_scheduler(address) == address


@pytest.mark.parametrize("address", ["10.0.0.5:8786", "tcp://host", "tcp://host:0", "tcp://host:70000",
                                     "http://host:8786", "tcp://:8786", "tcp://a b:1"])
def test_scheduler_addresses_refused(address: str) -> None:
    with pytest.raises(InputError) as err:
        check_scheduler(address)
    assert err.value.field == "--scheduler" and "tcp://HOST:PORT" in str(err.value)


def _bad_toml(tmp_path: Path) -> str:
    path = tmp_path / "bad.toml"
    path.write_text("name = [\n", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("args", "words"), [
    (["SWEEP", "--scheduler", "localhost:8786"], "tcp://HOST:PORT"),
    (["SWEEP", "--scheduler", "tcp://localhost:99999"], "not a scheduler address"),
    (["SWEEP", "--workers", "-1"], "--workers: must be ≥ 0"),
    (["SWEEP", "--workers", "2", "--scheduler", "tcp://localhost:8786"], "--workers"),
    (["SWEEP", "--draws", "0"], "--draws: must be ≥ 1"),
    (["SWEEP", "--connect-timeout", "0"], "--connect-timeout"),
    (["no-such-sweep"], "learning-vs-pass-through"),
    (["missing/sweep.toml"], "no sweep file"),
    (["BAD"], "not valid TOML"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, args: list[str], words: str) -> None:
    file = tmp_path / "small.toml"
    file.write_text(SWEEP, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    args = [str(file) if a == "SWEEP" else _bad_toml(tmp_path) if a == "BAD" else a for a in args]
    result = invoke("sweep", *args, "--store", str(store))
    assert result.exit_code == 2, result.output
    assert words in result.output and "Traceback" not in result.output
    assert not store.exists()


def test_bad_sweep_content_names_the_field(tmp_path: Path) -> None:
    file = tmp_path / "s.toml"
    file.write_text(SWEEP.replace("[0.14, 0.22]", "[0.14, 0.9]"), encoding="utf-8")
    result = invoke("sweep", str(file), "--store", str(tmp_path / "runs.duckdb"))
    assert result.exit_code == 2 and "grid.technology.battery_learning_rate" in result.output


def test_a_setting_written_after_overrides_is_refused_with_where_it_belongs(tmp_path: Path) -> None:
    """``draws = 3`` after ``[overrides]`` is ``overrides.draws`` to TOML: it set the scenario's unused
    draws and the sweep ran 1 draw without a word."""
    file = tmp_path / "s.toml"
    file.write_text('name = "late"\nscenarios = ["china-current-policies"]\n[overrides]\n"years.last" = 2030\n'
                    "draws = 3\n", encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    result = invoke("sweep", str(file), "--workers", "0", "--store", str(store))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "overrides.draws" in result.output and "move `draws = …` above [overrides]" in result.output
    assert not store.exists()


def test_unreachable_scheduler_is_a_clear_error_and_writes_nothing(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    file = tmp_path / "small.toml"
    file.write_text(SWEEP, encoding="utf-8")
    store = tmp_path / "runs.duckdb"
    result = invoke("sweep", str(file), "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "0.5",
                    "--store", str(store))
    assert result.exit_code == 2, result.output
    assert "cannot connect" in result.output and "Traceback" not in result.output
    assert not store.exists()



def test_a_server_that_is_not_a_dask_scheduler_is_a_clear_error(tmp_path: Path) -> None:
    """Something answers at the address (here an HTTP-like reply): dask read its first bytes as a
    frame length of exabytes and the CLI printed a MemoryError traceback, exit 1."""
    pytest.importorskip("distributed")
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)
                except OSError:
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        file = tmp_path / "small.toml"
        file.write_text(SWEEP, encoding="utf-8")
        store = tmp_path / "runs.duckdb"
        result = invoke("sweep", str(file), "--scheduler", f"tcp://127.0.0.1:{port}", "--connect-timeout", "2",
                        "--store", str(store))
    finally:
        stop.set()
        thread.join(2)
        server.close()
    assert result.exit_code == 2, result.output
    assert "scheduler" in result.output and "Traceback" not in result.output
    assert not store.exists()


_HOST = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,30})", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(host=_HOST, port=st.integers(1, 65535))
def test_any_host_and_port_is_accepted(host: str, port: int) -> None:
    assert check_scheduler(f"tcp://{host}:{port}") == f"tcp://{host}:{port}"


@settings(max_examples=200, deadline=None)
@given(host=_HOST, port=st.one_of(st.just(0), st.integers(65536, 10**6)), scheme=st.sampled_from(["tcp://", ""]))
def test_ports_outside_1_to_65535_are_refused(host: str, port: int, scheme: str) -> None:
    with pytest.raises(InputError):
        check_scheduler(f"{scheme}{host}:{port}")


@pytest.mark.parametrize(("flags", "starts"), [((), True), (("--workers", "2"), True), (("--workers", "0"), False),
                                               (("--scheduler", "tcp://127.0.0.1:1"), False)])
def test_a_local_pool_starts_its_fork_server_before_the_sweep_file_is_read(tmp_path: Path, monkeypatch,
                                                                           flags: tuple[str, ...],
                                                                           starts: bool) -> None:
    """`nevsim sweep` on local workers starts their fork server first (its warm-up overlaps reading the
    file and opening the store); in-process chunks and a Dask cluster start none."""
    import nevsim._forkserver
    import nevsim.cli.sweep as cli_sweep

    calls: list[str] = []
    monkeypatch.setattr(nevsim._forkserver, "start_workers", lambda: calls.append("start"))

    def stop_at_read(sweep: str, draws: int | None = None):
        calls.append("read")
        raise InputError("SWEEP", "stopped here by the test")

    monkeypatch.setattr(cli_sweep, "load_spec", stop_at_read)
    result = invoke("sweep", str(tmp_path / "s.toml"), "--store", str(tmp_path / "s.duckdb"), *flags)
    assert result.exit_code == 2 and "stopped here by the test" in result.output
    assert calls == (["start", "read"] if starts else ["read"])
