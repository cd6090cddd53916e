"""Output paths (--plot, --out, --csv) are checked before any computation, the same way in every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nevsim.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def no_work(monkeypatch):
    """Every command's computation raises: a check that passes only after computing fails the test."""
    import nevsim.backtest
    import nevsim.data
    import nevsim.sensitivity
    import nevsim.simulate

    def boom(*args, **kwargs):
        raise AssertionError("computed before checking the output path")

    for module, name in ((nevsim.sensitivity, "sensitivity"), (nevsim.simulate, "run"),
                         (nevsim.backtest, "backtest"), (nevsim.data, "history")):
        monkeypatch.setattr(module, name, boom)


def _commands(target: str) -> list[list[str]]:
    return [["sensitivity", "--plot", target], ["backtest", "--plot", target], ["history", "--plot", target],
            ["report", "abc", "--out", target]]


@pytest.mark.parametrize("command", range(4))
def test_a_missing_folder_is_refused_first(no_work, tmp_path, command):
    args = _commands(str(tmp_path / "missing" / "chart.html"))[command]
    result = invoke(*args, "--store", str(tmp_path / "s.duckdb")) if args[0] == "report" else invoke(*args)
    assert result.exit_code == 2, result.output  # was FileNotFoundError (exit 1) after the whole computation
    assert f"folder {tmp_path / 'missing'} does not exist" in result.output
    assert result.output.startswith(f"Error: {args[-2]}:")


@pytest.mark.parametrize("command", range(4))
def test_a_file_as_folder_is_refused_first(no_work, tmp_path, command):
    (tmp_path / "file").write_text("x")
    args = _commands(str(tmp_path / "file" / "chart.html"))[command]
    result = invoke(*args, "--store", str(tmp_path / "s.duckdb")) if args[0] == "report" else invoke(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_outlook_out_that_cannot_be_created(no_work, tmp_path):
    result = invoke("outlook", "--no-store", "--out", "/proc/nevsim-no-such/x")  # /proc refuses new files, even to root
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: --out: cannot write in /proc")
    (tmp_path / "file").write_text("x")
    inside_a_file = invoke("outlook", "--no-store", "--out", str(tmp_path / "file" / "out"))
    assert inside_a_file.exit_code == 2 and "is a file" in inside_a_file.output
    every_region = invoke("outlook", "--region", "all", "--no-store", "--out", "/proc/nevsim-no-such/x")
    assert every_region.exit_code == 2 and "cannot write in /proc" in every_region.output


@pytest.mark.parametrize("suffix", [".png", ".svg", ""])
def test_plot_suffix_is_the_format_in_every_command(no_work, tmp_path, suffix):
    """One rule: a --plot file's suffix is its format; a suffix the command cannot write is refused."""
    target = str(tmp_path / f"chart{suffix}")
    for args in (["sensitivity", "--plot", target], ["report", "abc", "--out", target]):
        result = invoke(*args)
        assert result.exit_code == 2, result.output  # sensitivity wrote HTML into chart.png
        assert "the suffix is the file's format" in result.output and "Allowed: .html, .htm." in result.output
    assert not Path(target).exists()


def test_a_writable_new_folder_is_accepted(tmp_path):
    out = tmp_path / "new" / "deeper"
    result = invoke("outlook", "--no-store", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists()


@pytest.mark.parametrize("region", [[], ["--region", "all"]])
def test_outlook_store_that_cannot_be_written_is_refused_first(no_work, tmp_path, region):
    (tmp_path / "file").write_text("x")
    for store, words in (("/proc/nevsim-no-such/runs.duckdb", "cannot write in /proc"),
                         (str(tmp_path / "file" / "runs.duckdb"), "is not a folder"),
                         (str(tmp_path), "is a folder")):
        result = invoke("outlook", *region, "--store", store)
        assert result.exit_code == 2, result.output  # was FileNotFoundError / FileExistsError after the run
        assert result.output.startswith("Error: --store:") and words in result.output


def test_store_folder_that_cannot_be_made_is_an_input_error(tmp_path):
    from nevsim.errors import InputError
    from nevsim.store import Store

    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot make the folder"), \
            Store(tmp_path / "file" / "runs.duckdb")._connect(write=True):  # as a save opens it
        pass


def test_outlook_store_that_is_not_a_store_is_refused_before_the_run(no_work, tmp_path):
    """A --store file that is not a store (or is damaged, or locked) is found before the run,
    not after it (review finding: with many draws the run was lost)."""
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database")
    result = invoke("outlook", "--store", str(bad))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: --store:") and "not a nevsim results store" in result.output
    assert bad.read_text() == "not a database"  # (untouched)


def test_serve_refuses_a_store_that_is_not_a_store_at_start(tmp_path, monkeypatch):
    """QA 2: the dashboard started and answered 422 to every request."""
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("server started")))
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database")
    result = invoke("serve", "--store", str(bad))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Error: --store:") and "not a nevsim results store" in result.output


def test_progress_count_before_the_total_is_known() -> None:
    """The outlook's and back-test's bars read "0/None years" while the model calibrated."""
    from nevsim.cli._common import count_text

    assert count_text(0, None, "years") == "preparing…"
    assert count_text(12, 51, "years") == "12/51 years"
    assert count_text(1.25, 5, "cutoffs", decimals=1) == "1.2/5 cutoffs"
    assert "None" not in count_text(0, None, "cutoffs", decimals=1)
