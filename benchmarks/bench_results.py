"""What a user waits for after a Monte Carlo run: save, load, report, web pages (script; not a test).

``.venv/bin/python benchmarks/bench_results.py [--draws 10000] [--reps 2] [--json]``

One run of China 2010–2060 with ``draws`` draws (battery learning rate sampled, with the
makers table) is simulated once (:func:`nevsim.simulate.run`), then, each step timed in
seconds of wall time (medians of ``reps`` repetitions, each in a fresh process so that no
step profits from another's caches):

* ``save``: :meth:`nevsim.store.Store.save` into a new file;
* ``load``: :meth:`nevsim.store.Store.load` of that run;
* ``report_first`` / ``report_again``: the report page's work on the loaded run (targets
  check, the charts of :func:`nevsim.report.charts.all_figures`, the battery statistic, the
  headline table), first on a fresh ``Results`` (its row index and labels are found then) and
  once more (remembered);
* ``quantiles``: :func:`nevsim.cli.outlook.quantile_table` of the makers table (what
  ``nevsim outlook --out`` writes to makers.csv);
* ``web_outlook_first`` / ``web_outlook_again`` / ``web_makers``: ``GET /outlook`` (the run
  loaded by the app, then remembered) and ``GET /makers`` through the app (FastAPI
  ``TestClient``);

and the peak resident memory of the process that loads and reports. Figures for the 2-core
machine are in docs/uncertainty.md ("Reading, reporting and saving many-draw runs").
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_DIST = {"technology.battery_learning_rate": {"dist": "normal", "mean": 0.18, "sd": 0.02, "min": 0.1, "max": 0.3}}

_SAVE = r"""
import json, sys, time
from nevsim.scenario import load_scenario
from nevsim.simulate import run
from nevsim.store import Store
scenario = load_scenario("china-current-policies", {"technology.battery_learning_rate": json.loads(sys.argv[3])})
res = run(scenario, draws=int(sys.argv[2]), seed=1)
t = time.perf_counter()
run_id = Store(sys.argv[1]).save(res)
print(json.dumps({"save": time.perf_counter() - t, "run_id": run_id}))
"""

_READ = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from nevsim.store import Store
from nevsim.report import headline_table
from nevsim.report.charts import all_figures
from nevsim.cli.outlook import quantile_table
from nevsim.web.pages import _observed
import plotly.graph_objects  # imported before timing: the first report in a process pays it once
out = {}
store = Store(sys.argv[1])
t = time.perf_counter(); res = store.load(sys.argv[2]); out["load"] = time.perf_counter() - t

def report():
    targets = res.targets()
    figures = list(all_figures(res, targets, _observed(res)))
    res.stats.battery_price().plot(title="Battery pack price")
    headline_table(res)
    return figures

for key in ("report_first", "report_again"):
    t = time.perf_counter(); report(); out[key] = time.perf_counter() - t
t = time.perf_counter(); quantile_table(res.makers); out["quantiles"] = time.perf_counter() - t
out["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
del res
from fastapi.testclient import TestClient
from nevsim.web.app import create_app
from nevsim.web.settings import WebSettings
with TestClient(create_app(WebSettings(store_path=Path(sys.argv[1])))) as client:
    for key, page in (("web_outlook_first", "/outlook"), ("web_outlook_again", "/outlook"), ("web_makers", "/makers")):
        t = time.perf_counter(); r = client.get(page); out[key] = time.perf_counter() - t
        assert r.status_code == 200, (page, r.status_code)
print(json.dumps(out))
"""


def _python(code: str, *args: str) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(draws: int = 10_000, reps: int = 2) -> dict[str, float]:
    """Medians over ``reps`` repetitions of each step (see the module docstring)."""
    runs: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(reps):
            path = str(Path(tmp) / f"runs{i}.duckdb")
            saved = _python(_SAVE, path, str(draws), json.dumps(_DIST["technology.battery_learning_rate"]))
            read = _python(_READ, path, str(saved["run_id"]))
            runs.append({"save": saved["save"], **read})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=10_000, help="draws of the run (with the makers table)")
    parser.add_argument("--reps", type=int, default=2, help="repetitions (medians are reported)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    t = time.perf_counter()
    figures = measure(args.draws, args.reps)
    if args.json:
        print(json.dumps({"draws": args.draws, "reps": args.reps, **figures}, indent=2))
        return
    print(f"China 2010–2060, {args.draws:,} draws with makers, medians of {args.reps} "
          f"({time.perf_counter() - t:.0f} s in all)")
    for key, value in figures.items():
        unit = "GB" if key.endswith("_gb") else "s"
        print(f"  {key:<20} {value:8.2f} {unit}")


if __name__ == "__main__":
    main()
