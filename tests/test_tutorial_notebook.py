"""The tutorial notebook (docs/examples/tutorial.ipynb) runs from top to bottom and really runs the model.

Style guide item 9: examples are code that CI runs. The notebook is executed with nbclient on a
kernel of this interpreter (the project's venv), a time limit per cell; any cell error fails the
test. One extra cell, added to the copy executed here and never to the stored file, reports what the
notebook computed as JSON, which is checked against the model's contract. The notebook's results
store is a temporary one: HOME, XDG_DATA_HOME and LOCALAPPDATA (the folders docs/results.md names
for the default store) point into the test's temporary folder, so the user's store is never touched.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "docs" / "examples" / "tutorial.ipynb"
CELL_TIMEOUT_S = 120  # the whole notebook takes ≈ 4 s on a 2-core machine; this is for a busy one
KERNEL_NAME = "nevsim-tutorial-test"
PLOTLY_MIME = "application/vnd.plotly.v1+json"

# Run after the notebook's own cells, in its namespace: what it computed, as one JSON line.
REPORT_CELL = """\
import json as _json
_report = {
    "frame_columns": list(frame.columns),
    "share_columns": list(share.columns),
    "share_unit": share.attrs["unit"],
    "ev_share_2030": float(ev_share_2030),
    "targets_columns": list(targets.columns),
    "targets_rows": len(targets),
    "cases": list(ev_by_case.columns),
    "ev_2030_by_case": {k: float(v) for k, v in ev_by_case.loc[2030].items()},
    "mc_draws": int(mc.n_draws),
    "mc_ev_2030": {str(q): float(v) for q, v in fan["EV"].loc[2030].items()},
    "probability_met": [None if pd.isna(p) else float(p) for p in mc_targets["probability_met"]],
    "p_80": float(p_80),
    "mae_index": [str(i) for i in bt.mae().index],
    "mae_columns": list(bt.mae().columns),
    "mae_model_2021": float(bt.mae().loc["2021", "model"]),
    "run_id": run_id,
    "mc_run_id": mc_run_id,
    "reloaded_equal": bool(again.series.equals(res.series)),
}
print(_json.dumps(_report))
"""


def _read_notebook():
    nbformat = pytest.importorskip("nbformat", reason="nbformat is in the dev extra: make .venv/.installed-dev")
    return nbformat, nbformat.read(NOTEBOOK, as_version=4)


def test_notebook_is_stored_valid_and_without_outputs():
    """Cleared outputs keep the diff small; stable, unique cell ids name the cells the test reads."""
    nbformat, nb = _read_notebook()
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, "the notebook has no code cells"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"cell {cell.id} is stored with outputs"
    ids = [c.id for c in nb.cells]
    assert len(ids) == len(set(ids))
    assert {"share-plot", "mc-plot", "backtest-plot", "store"} <= set(ids)


def _kernel_spec(folder: Path) -> Path:
    """A kernelspec that starts ipykernel with this interpreter (no user or system kernel can shadow it)."""
    spec = folder / "kernels" / KERNEL_NAME
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "nevsim (test)", "language": "python",
    }), encoding="utf-8")
    return folder


def test_tutorial_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("ipykernel", reason="the notebook's kernel, ipykernel, is not installed "
                                            "(dev extra: make .venv/.installed-dev)")
    nbclient = pytest.importorskip("nbclient", reason="nbclient is in the dev extra: make .venv/.installed-dev")
    nbformat, nb = _read_notebook()
    import nevsim.store

    home = tmp_path / "home"
    for name, path in {"HOME": home, "XDG_DATA_HOME": home / "data", "LOCALAPPDATA": home / "appdata",
                       "JUPYTER_RUNTIME_DIR": home / "runtime", "IPYTHONDIR": home / "ipython"}.items():
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_spec(tmp_path / "jupyter")))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")  # jupyter_core's path-migration DeprecationWarning
    store_file = nevsim.store.default_path()  # what Store() in the kernel resolves to, with this environment
    assert store_file.is_relative_to(tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    nb.cells.append(nbformat.v4.new_code_cell(REPORT_CELL, id="test-report"))
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, startup_timeout=120, kernel_name=KERNEL_NAME,
                                     resources={"metadata": {"path": str(work)}})
    client.execute()  # raises CellExecutionError naming the cell on any error

    cells = {c.id: c for c in nb.cells}
    streams = [o for o in cells["test-report"].outputs if o.output_type == "stream" and o.name == "stdout"]
    report = json.loads(streams[-1].text.strip().splitlines()[-1])

    # The outlook: the long table and the EV share statistic, with their contract columns and unit.
    assert report["frame_columns"] == ["scenario", "region", "variable", "unit", "year", "value"]
    assert report["share_columns"] == ["EV", "BEV", "PHEV"] and report["share_unit"] == "%"
    assert 60.0 < report["ev_share_2030"] < 100.0  # 53 % observed in 2025; the 2030 projection ≈ 79 %
    assert {"label", "target_value", "projected_value", "gap", "met", "first_year_met"} <= set(
        report["targets_columns"])
    assert report["targets_rows"] >= 5
    # Counterfactuals: three cases, each a real run (the tax exemption to 2030 raises the 2030 share).
    assert report["cases"] == ["current policies", "no dual credit", "tax exemption to 2030"]
    by_case = report["ev_2030_by_case"]
    assert by_case["current policies"] == pytest.approx(report["ev_share_2030"])
    assert by_case["tax exemption to 2030"] > by_case["current policies"]
    assert by_case["no dual credit"] != pytest.approx(by_case["current policies"], abs=1e-6)
    # Monte Carlo: 200 draws, ordered quantiles, probabilities in [0, 1].
    assert report["mc_draws"] == 200
    q = report["mc_ev_2030"]
    assert q["0.05"] < q["0.5"] < q["0.95"] and 50.0 < q["0.5"] < 100.0
    assert all(p is None or 0.0 <= p <= 1.0 for p in report["probability_met"])
    assert any(p is not None for p in report["probability_met"])
    assert 0.0 <= report["p_80"] <= 1.0
    # Back-test from the 2021 cutoff: the MAE table, the model's error a few points.
    assert report["mae_index"] == ["2021", "pooled"]
    assert report["mae_columns"][0] == "model" and "persistence" in report["mae_columns"]
    assert 0.0 < report["mae_model_2021"] < 20.0
    # Charts: the package's plotly figures were displayed.
    for cell_id in ("share-plot", "mc-plot", "backtest-plot"):
        assert any(PLOTLY_MIME in o.get("data", {}) for o in cells[cell_id].outputs), f"{cell_id}: no figure"
    # The store: both runs went to the temporary store and came back equal.
    assert report["reloaded_equal"]
    assert store_file.exists()
    stored = set(nevsim.store.Store(store_file).list_runs()["run_id"])
    assert {report["run_id"], report["mc_run_id"]} <= stored
