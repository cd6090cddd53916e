"""Server-rendered dashboard pages (Jinja2 templates with plotly figures).

Pages: Outlook (``/outlook``), Scenario editor (``/editor``), Compare (``/compare``), Makers
(``/makers``), History (``/history``), Back-test (``/backtest``). Figures are plotly JSON in the
page, drawn by ``static/app.js`` with the plotly.js the ``plotly`` package ships (served at
``/vendor/plotly.min.js``; no CDN). Each figure's div has a stable id (``fig-ev-share``, …)
so that tests and users can read the plotted values from the page.
"""

from __future__ import annotations

import math
import types
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from nevsim.errors import InputError
from nevsim.web.state import AppState

if TYPE_CHECKING:
    import pandas as pd

    from nevsim.results import Results

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

#: Regions the dashboard knows (code → name); only those in a run are selectable.
REGIONS: dict[str, str] = {"CN": "China", "US": "USA", "EU": "EU27"}

#: The main policy levers, shown first in the editor (dotted scenario paths).
KEY_LEVERS: tuple[str, ...] = (
    "policy.dual_credit.enabled",
    "policy.dual_credit.nev_ratio_pct",
    "policy.dual_credit.price_cap_cny_per_credit",
    "policy.subsidies.purchase_subsidy",
    "policy.subsidies.subsidy_extend_to_year",
    "policy.subsidies.purchase_tax_exemption",
    "policy.subsidies.tax_exemption_extend_to_year",
    "charging.evs_per_public_charger",
    "technology.battery_learning_rate",
    "market.ev_exports_million",
)

#: Variables compared side by side on the Compare page: (label, variable).
COMPARED: tuple[tuple[str, str], ...] = (
    ("EV share of new cars (%)", "Sales Share|Cars|EV"),
    ("BEV share of new cars (%)", "Sales Share|Cars|BEV"),
    ("NEV credit price (CNY/credit)", "Price|Credit|NEV"),
    ("EV stock (vehicles)", "Stock|Cars|EV"),
    ("Public chargers", "Chargers|Public"),
    ("Oil displaced (kb/d)", "Oil Displacement"),
    ("CO2 of cars, well-to-wheel (Mt CO2e/yr)", "Emissions|CO2|Cars"),
    ("Battery pack price (USD/kWh)", "Price|Battery Pack"),
)
COMPARE_YEARS: tuple[int, ...] = (2025, 2030, 2035, 2040, 2050, 2060)


def _state(request: Request) -> AppState:
    return request.app.state.nevsim


def fig_json(fig: Any) -> Markup:
    """A plotly figure as JSON safe to place inside ``<script type="application/json">``."""
    text = fig.to_json()
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None or _is_na(value):
        return "–"
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def _is_na(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def yes_no(value: Any) -> str:
    """True/False/NA → yes/no/–."""
    if value is None or _is_na(value):
        return "–"
    return "yes" if bool(value) else "no"


templates.env.filters["num"] = _fmt
templates.env.filters["yesno"] = yes_no
templates.env.filters["figjson"] = fig_json


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"page": name.split(".")[0], **context},
                                      status_code=status_code)


def error_page(request: Request, status: int, title: str, message: str,
               headers: dict[str, str] | None = None) -> HTMLResponse:
    """The error page (HTML) for a page request; it links back to the page the user came from (the
    ``Referer`` of this server only)."""
    response = render(request, "error.html", status_code=status, title=title, message=message, back=_back(request))
    response.headers.update(headers or {})
    return response


def _back(request: Request) -> str | None:
    """Path and query of the page that led here (same host; never this very URL), or None."""
    from urllib.parse import urlsplit

    try:
        ref = urlsplit(request.headers.get("referer") or "")
    except ValueError:  # not a URL (`http://[::1`): no back link, not a 500 on every error page
        return None
    if ref.netloc != request.url.netloc or not ref.path.startswith("/") or ref.path.startswith("//"):
        return None
    back = ref.path + (f"?{ref.query}" if ref.query else "")
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return back if back != here else None


def _run_options(st: AppState) -> list[dict[str, Any]]:
    runs = st.list_runs()
    out = []
    for r in runs.itertuples(index=False):
        created = "" if r.created is None or (isinstance(r.created, float) and math.isnan(r.created)) else str(r.created)[:16]
        out.append({"id": str(r.run_id), "label": f"{r.scenario} · {created} · {str(r.run_id)[:8]}",
                    "scenario": str(r.scenario)})
    return out


def _pick_run(st: AppState, run: str | None) -> str | None:
    if run:
        return run
    return st.latest_run_id()


def _observed(res: Results) -> pd.DataFrame | None:
    hist = res.observed_history()
    return None if hist is None else hist[hist["variable"] == "EV sales share"][["year", "value", "source"]]


# ---------------------------------------------------------------------------- outlook


_FIG_IDS = {
    "EV share vs targets": "fig-ev-share", "New-car CO2 vs standard": "fig-new-car-co2",
    "BEV / PHEV split": "fig-bev-phev", "Credit price": "fig-credit-price",
    "Stock": "fig-stock", "Energy": "fig-energy", "CO2": "fig-co2", "Chargers": "fig-chargers",
}


@router.get("/", response_class=HTMLResponse)
def home() -> Response:
    return RedirectResponse("/outlook", status_code=307)


@router.get("/outlook", response_class=HTMLResponse)
def outlook(request: Request, run: Annotated[str | None, Query(max_length=64)] = None,
            region: Annotated[str | None, Query(max_length=8)] = None) -> HTMLResponse:
    from nevsim.report import headline_table
    from nevsim.report.charts import all_figures

    st = _state(request)
    run_id = _pick_run(st, run)
    context: dict[str, Any] = {"runs": _run_options(st), "run_id": run_id, "regions": REGIONS,
                               "scenarios": st.scenario_names()}
    if run_id is None:
        return render(request, "outlook.html", res=None, **context)
    res = st.load(run_id)
    if region is not None and region not in res.regions:
        raise InputError("region", f"this run has no region {region!r}.", allowed=res.regions)
    from nevsim.targets import left_out_text

    targets = res.targets()
    figures = []
    for name, fig in all_figures(res, targets, _observed(res)):
        if name in _FIG_IDS:
            figures.append({"id": _FIG_IDS[name], "title": name, "fig": fig})
    figures.append({"id": "fig-battery", "title": "Battery pack price",
                    "fig": res.stats.battery_price().plot(title="Battery pack price")})
    for f in figures:
        _name_rough_bands(f["fig"], res.n_draws)
    head = headline_table(res)  # (money labels name the run's own unit: report.headline_labels)
    from nevsim.report import headline_labels, history_caption

    history_note = history_caption(res, {var: label for var, label in headline_labels(res).items()
                                         if label in head.columns})
    shown = [c for c in ("name", "label", "year", "target_value", "unit", "binding", "projected_value", "gap", "met",
                         "first_year_met", "source", "compared_with", "note") if c in targets.columns]
    shown_targets = targets[shown].to_dict("records")
    notes: dict[tuple[str, str], dict[str, Any]] = {}
    for t in shown_targets:  # what the projection is compared with, and the target's note: footnotes (one per text)
        t["compared_with"] = "" if _is_na(t.get("compared_with")) else str(t.get("compared_with") or "")
        t["note"] = "" if _is_na(t.get("note")) else str(t.get("note") or "")
        if t["compared_with"] or t["note"]:
            note = notes.setdefault((t["compared_with"], t["note"]), {
                "n": len(notes) + 1, "names": [], "compared_with": t["compared_with"], "note": t["note"]})
            note["names"].append(str(t["label"]))
            t["footnote"] = note["n"]
    context["regions"] = {**REGIONS, **{r: r for r in res.regions if r not in REGIONS}}  # regions from files too
    return render(request, "outlook.html", res=res, meta=res.meta, figures=figures,
                  region=region or res.regions[0], run_regions=res.regions,
                  headline_cols=list(head.columns), headline=head.to_dict("records"),
                  targets=shown_targets, target_notes=list(notes.values()),
                  targets_left_out=left_out_text(targets.attrs.get("left_out", [])), history_note=history_note,
                  **context)


def _name_rough_bands(fig: Any, draws: int) -> None:
    """Band legends of charts drawn from a Statistic say how many draws they come from, and that under
    :data:`nevsim.report.charts.FEW_DRAWS` the band is rough: :func:`nevsim.report.charts.name_bands`."""
    from nevsim.report.charts import name_bands

    if draws >= 2:
        name_bands(fig, draws)


# ---------------------------------------------------------------------------- editor


def _leaf_kind(annotation: Any) -> tuple[str, list[str]]:
    """Form control of a scenario field type: (kind, options)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice", [str(a) for a in typing.get_args(annotation)]
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        kind, options = _leaf_kind(args[0]) if len(args) == 1 else ("text", [])
        return ("optional_" + kind if kind in ("int", "float") else kind), options
    if origin is dict:
        return "path", []
    if annotation is bool:
        return "bool", []
    if annotation is int:
        return "int", []
    if annotation is float:
        return "float", []
    return "text", []


def _bounds(info: Any) -> tuple[float | None, float | None]:
    lo = hi = None
    for meta in info.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    lo = extra.get("ge", lo)
    hi = extra.get("le", hi)
    return lo, hi


#: Words of field names written as people write them.
_WORDS = {"ev": "EV", "evs": "EVs", "nev": "NEV", "phev": "PHEV", "bev": "BEV", "ice": "ICE", "cafc": "CAFC",
          "co2": "CO2", "vkt": "VKT", "cny": "CNY", "usd": "USD", "eur": "EUR", "china": "China"}
#: Unit suffixes of field names → the unit in the label, longest first.
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_pct_per_yr", "% per year"), ("_cny_per_credit", "CNY/credit"), ("_cny_per_kwh", "CNY/kWh"),
    ("_cny_per_l", "CNY/L"), ("_g_per_kwh", "g CO2/kWh"), ("_km_per_year", "km/year"), ("_pct", "%"),
    ("_million", "million"),
)
#: Field names whose label is not their words.
_LABELS = {"mean_life_years": "mean life (years)", "hold_mean_of_last_years": "hold the mean of the last N years"}


def field_label(name: str) -> str:
    """A readable label of a scenario field name: words with their usual capitals and the unit the
    name ends with in brackets (``gasoline_price_cny_per_l`` → "gasoline price (CNY/L)";
    ``cny_per_usd`` → "CNY per USD")."""
    if name in _LABELS:
        return _LABELS[name]
    unit = ""
    for suffix, text in _UNIT_SUFFIXES:
        if name.endswith(suffix) and name != suffix.lstrip("_"):
            name, unit = name[: -len(suffix)], text
            break
    words = " ".join(_WORDS.get(w, w) for w in name.split("_"))
    return f"{words} ({unit})" if unit else words


def path_example(value: Any, lo: float | None, hi: float | None) -> str:
    """An example of a distribution point for a year-path field that fits the field: the path's last
    value as the mean (else the middle of its range), a tenth of it as sd, the field's range as min/max
    (the loader refuses a distribution reaching outside it): ``2030: normal(mean=0.8, sd=0.08, min=0.05, max=10)``."""
    numbers = [float(v) for v in (value or {}).values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers:
        mean = numbers[-1]
    elif lo is not None and hi is not None:
        mean = (lo + hi) / 2
    else:
        mean = 1.0
    sd = float(f"{abs(mean) * 0.1:.2g}") or 1.0
    parts = [f"mean={_fmt_plain(float(f'{mean:.4g}'))}", f"sd={_fmt_plain(sd)}"]
    parts += [f"min={_fmt_plain(float(lo))}"] if lo is not None else []
    parts += [f"max={_fmt_plain(float(hi))}"] if hi is not None else []
    return f"2030: normal({', '.join(parts)})"


def sentence(text: str) -> str:
    """``text`` ending with a full stop (help texts run on with another sentence after them)."""
    text = str(text or "").rstrip()
    return text if not text or text[-1] in ".!?:" else text + "."


templates.env.filters["sentence"] = sentence


def path_text(path: dict[str, Any] | None, dists: dict[str, dict[str, Any]] | None = None) -> str:
    """A year path as the editor shows it: ``2025: 40, 2030: 60``.

    A point with a distribution in ``dists`` (year → distribution table) is written as
    ``2024: normal(mean=7.8, sd=0.8, min=5.5, max=10.5)`` (see :func:`dist_text`).
    """
    dists = dists or {}
    return ", ".join(f"{k}: {dist_text(dists[k]) if k in dists else _fmt_plain(v)}" for k, v in (path or {}).items())


#: Parameters of each distribution the editor offers, in the order the form shows them
#: (those of :mod:`nevsim.uncertainty`; ``OPTIONAL_DIST_PARAMS`` may be left empty).
DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "sd", "min", "max"),
    "lognormal": ("mean", "sd", "min", "max"),
    "triangular": ("low", "mode", "high"),
    "uniform": ("low", "high"),
    "choice": ("values", "weights"),
}
OPTIONAL_DIST_PARAMS: tuple[str, ...] = ("min", "max", "weights")


def dist_inputs(dist: dict[str, Any] | None, centre: str, lo: float | None, hi: float | None) -> dict[str, str]:
    """Values the editor's distribution panel starts with: the scenario's distribution, or (none
    yet) the field's value as mean/mode and its allowed range as min/max (so that a new normal
    stays inside the range the loader checks)."""
    params = [p for kind in DIST_PARAMS.values() for p in kind]
    if dist:
        out = {}
        for p in params:
            v = dist.get(p)
            out[p] = "" if v is None else (", ".join(_fmt_plain(x) for x in v) if isinstance(v, list) else _fmt_plain(v))
        return out
    out = dict.fromkeys(params, "")
    out.update({"mean": centre, "mode": centre, "min": "" if lo is None else _fmt_plain(lo),
                "max": "" if hi is None else _fmt_plain(hi)})
    return out


def dist_text(table: dict[str, Any]) -> str:
    """A distribution table in the editor's compact spelling for year-path points:
    ``normal(mean=7.8, sd=0.8, min=5.5)``, ``choice(values=[1, 2], weights=[0.7, 0.3])``."""
    kind = str(table.get("dist"))
    parts = []
    for key in DIST_PARAMS.get(kind, ()):
        value = table.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            parts.append(f"{key}=[{', '.join(_fmt_plain(v) for v in value)}]")
        else:
            parts.append(f"{key}={_fmt_plain(value)}")
    return f"{kind}({', '.join(parts)})"


def _fmt_plain(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def sampled_keys() -> tuple[set[str], set[str]]:
    """What a distribution may replace: (scalar field paths, year-path field paths) of
    :func:`nevsim.simulate.value_keys` (coefficients apart)."""
    from nevsim.simulate import value_keys

    keys = [k for k in value_keys() if not k.startswith("coefficients.")]
    return ({k for k in keys if not k.endswith(".<year>")},
            {k.removesuffix(".<year>") for k in keys if k.endswith(".<year>")})


def editor_sections(resolved: dict[str, Any], shipped: list[str], max_draws: int) -> list[dict[str, Any]]:
    """The editor's form: sections of fields read from the scenario schema (pydantic models).

    A field a distribution may replace (:func:`sampled_keys`) has ``sampled = True`` and, when
    the scenario gives it one, its distribution table in ``dist`` (from
    ``uncertainty.distributions``); a year path shows its points' distributions in its text.
    """
    from pydantic import BaseModel

    from nevsim.scenario import Scenario, china_only

    scalars, paths = sampled_keys()
    # a region of a [region] table: China's own fields are not offered (the scenario refuses them)
    china = resolved.get("region", "CN") == "CN"
    dists: dict[str, dict[str, Any]] = dict((resolved.get("uncertainty") or {}).get("distributions") or {})
    fields: dict[str, dict[str, Any]] = {}
    order: list[tuple[str, str]] = []

    def walk(model: type[BaseModel], prefix: str, section: str, values: dict[str, Any]) -> None:
        for name, info in model.model_fields.items():
            path = f"{prefix}{name}"
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                title = (ann.__doc__ or name).strip().splitlines()[0].rstrip(".")
                walk(ann, f"{path}.", f"{path} — {title}" if ann.__doc__ else path, values.get(name, {}))
                continue
            if path in ("name", "description", "coefficients", "uncertainty.distributions",
                        "uncertainty.correlations"):
                continue  # own tables below the form (coefficient_fields, correlation_rows) or not editable
            if not china and (china_only(path) is not None or path == "policy.known_at"):
                continue
            kind, options = _leaf_kind(ann)
            if path == "calibration.against":
                kind, options = "choice", list(shipped)
            lo, hi = _bounds(info)
            note = ""
            if path == "uncertainty.draws":
                hi = max_draws if hi is None else min(hi, max_draws)
                note = (f"this server allows at most {max_draws} draws per run (nevsim serve --max-draws)"
                        if max_draws > 1 else "this server runs one draw only (start it with nevsim serve "
                        "--max-draws N for Monte Carlo)")
            # a default left out of the resolved scenario (Scenario.resolved) is shown as that default
            value = values.get(name, None if info.is_required() else info.get_default(call_default_factory=True))
            point_dists = {k.removeprefix(f"{path}."): t for k, t in dists.items()
                           if k.startswith(f"{path}.") and k.removeprefix(f"{path}.").isdigit()}
            shown = (path_text(value, point_dists) if kind == "path"
                     else ("" if value is None else _fmt_plain(value)))
            sampled = (path in scalars and kind == "float") or (path in paths and kind == "path")
            fields[path] = {"path": path, "id": "f-" + path.replace(".", "-"), "kind": kind, "options": options,
                            "min": lo, "max": hi, "value": value, "shown": shown,
                            "label": field_label(name), "help": info.description or "", "note": note,
                            "example": path_example(value, lo, hi) if kind == "path" else "",
                            "sampled": sampled, "dist": dists.get(path) if kind != "path" else None}
            if sampled and kind != "path":
                fields[path]["dist_inputs"] = dist_inputs(fields[path]["dist"], shown, lo, hi)
            order.append((section, path))

    walk(Scenario, "", "general", resolved)
    sections: dict[str, list[dict[str, Any]]] = {"Main policy levers": [fields[p] for p in KEY_LEVERS if p in fields]}
    for section, path in order:
        if path not in KEY_LEVERS:
            sections.setdefault(section, []).append(fields[path])
    return [{"title": t, "fields": f} for t, f in sections.items() if f]


def coefficient_fields(resolved: dict[str, Any]) -> list[dict[str, Any]]:
    """Form fields of the buyer coefficients a scenario may set (``coefficients.<name>``).

    One per row of ``assumptions/coefficients.csv`` with a value: its unit and CSV value (the
    placeholder: an empty field keeps it), the range the scenario loader allows (the CSV's
    ``dist_min``/``dist_max``) and the distribution ``uncertainty.coefficients = true`` samples
    (``uncertainty.residual_walk = true`` for the walk's coefficients).
    """
    from nevsim import assumptions
    from nevsim.scenario import _coefficient_bounds, _coefficient_names
    from nevsim.uncertainty import WALK_COEFFICIENTS

    table = assumptions.coefficients().set_index("name")
    bounds = _coefficient_bounds()
    given = resolved.get("coefficients") or {}
    dists = (resolved.get("uncertainty") or {}).get("distributions") or {}
    out = []
    for name in _coefficient_names():
        row = table.loc[name]
        lo, hi, why = bounds.get(name, (-math.inf, math.inf, ""))
        csv_value = float(row["value"])
        sampled = ""
        if isinstance(row["dist"], str) and row["dist"]:
            spread = "sd" if row["dist"] == "normal" else "half-width"
            switch = "residual_walk" if name in WALK_COEFFICIENTS else "coefficients"
            sampled = f"; with uncertainty.{switch}: {row['dist']}, {spread} {_fmt_plain(float(row['dist_sd']))}"
        value = given.get(name)
        path = f"coefficients.{name}"
        out.append({"path": path, "id": "f-coefficients-" + name, "kind": "optional_float", "options": [],
                    "min": lo if math.isfinite(lo) else None, "max": hi if math.isfinite(hi) else None,
                    "value": value, "shown": "" if value is None else _fmt_plain(value),
                    "placeholder": _fmt_plain(csv_value), "label": field_label(name),
                    "help": f"{row['unit']}; coefficients.csv value {_fmt_plain(csv_value)}{sampled}"
                            + (f" ({why})" if why else ""),
                    "note": "", "sampled": True, "dist": dists.get(path),
                    "dist_inputs": dist_inputs(dists.get(path), _fmt_plain(csv_value if value is None else value), lo if math.isfinite(lo) else None,
                                               hi if math.isfinite(hi) else None)})
    return out


def correlation_rows(resolved: dict[str, Any]) -> dict[str, Any]:
    """The scenario's correlation groups for the editor: pairs (``a``, ``b``, ``rho``) are
    editable rows; larger groups are kept as they are (``fixed``, JSON) and shown read-only.
    ``names``: suggestions for the name inputs (the paths with a distribution first, then the other
    parameters that may be sampled)."""
    groups = (resolved.get("uncertainty") or {}).get("correlations") or []
    pairs, fixed = [], []
    for g in groups:
        names, matrix = list(g.get("names") or []), g.get("matrix") or []
        if len(names) == 2:
            pairs.append({"a": names[0], "b": names[1], "rho": _fmt_plain(float(matrix[0][1]))})
        else:
            fixed.append(g)
    from nevsim.simulate import value_keys

    dists = (resolved.get("uncertainty") or {}).get("distributions") or {}
    others = sorted(k for k in value_keys() if not k.endswith(".<year>") and k not in dists)
    return {"pairs": pairs, "fixed": fixed, "initial": groups, "names": [*sorted(dists), *others]}


@router.get("/editor", response_class=HTMLResponse)
def editor(request: Request, scenario: Annotated[str, Query(max_length=64)] = "china-current-policies"
           ) -> HTMLResponse:
    st = _state(request)
    sc = st.build(scenario, {})
    kind, data, _ = st.scenario_source(scenario)
    resolved = sc.resolved()
    sections = editor_sections(resolved, st.shipped(), st.settings.max_draws)
    return render(request, "editor.html", scenario=scenario, kind=kind, description=sc.description,
                  scenarios=st.scenario_names(), sections=sections, hash=sc.hash,
                  coefficients=coefficient_fields(resolved), correlations=correlation_rows(resolved),
                  dist_params=DIST_PARAMS, optional_params=OPTIONAL_DIST_PARAMS,
                  max_draws=st.settings.max_draws,
                  file_changes={k: v for k, v in data.items() if k not in ("name", "description")})


# ---------------------------------------------------------------------------- compare


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if key == "uncertainty.distributions" and isinstance(v, dict):  # one row per sampled value
            out.update({f"{key}.{p}": dist_text(t) if isinstance(t, dict) else t for p, t in v.items()})
        elif isinstance(v, dict) and v and not all(str(x).isdigit() for x in v):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = path_text(v) if isinstance(v, dict) else v
    return out


#: Shown for a setting that does not apply to a run's region (a China-only field in a US run, the
#: ``[region]`` table of a China run).
NOT_APPLICABLE = "n/a"


def setting_applies(key: str, region: str) -> bool:
    """Whether a scenario setting (dotted path) means anything for a run of ``region``: China's own
    fields (:data:`nevsim.scenario.CHINA_ONLY`, ``policy.known_at``; also as a distribution) only in a
    China run, the ``[region]`` table (``region_spec``) only in another region's run."""
    from nevsim.scenario import china_only

    inner = key.removeprefix("uncertainty.distributions.")
    if key == "region_spec" or key.startswith("region_spec."):
        return region != "CN"
    if china_only(inner) is not None or inner == "policy.known_at" or inner.startswith("policy.known_at."):
        return region == "CN"
    return True


def compare_tables(results: list[Results], labels: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of the value table (variable, year, value per run, difference to the first run) and the
    scenario differences (key, value per run) for the keys that differ."""
    rows = []
    for label, var in COMPARED:
        vals = []
        for res in results:
            vals.append(res._rows("series", variables=[var]).groupby("year")["value"].median())
        for year in COMPARE_YEARS:
            got = [float(v.get(year, float("nan"))) for v in vals]
            if all(math.isnan(g) for g in got):
                continue
            first = got[0]
            rows.append({"variable": label, "year": year, "values": got,
                         "diffs": [g - first if not (math.isnan(g) or math.isnan(first)) else float("nan")
                                   for g in got[1:]]})
    return rows, scenario_differences(results)


def scenario_differences(results: list[Results]) -> list[dict[str, Any]]:
    """The scenario settings of the runs, one row per dotted path that applies to at least one run's
    region (:func:`setting_applies`; :data:`NOT_APPLICABLE` where it does not): ``key``, ``values`` and
    ``differs`` — True when the runs it applies to hold two or more values."""
    flat = [_flatten(r.scenario) for r in results]
    regions = [str(r.scenario.get("region") or (r.regions[0] if r.regions else "CN")) for r in results]
    out = []
    for key in sorted(set().union(*flat) - {"name"}):
        applies = [setting_applies(key, reg) for reg in regions]
        if not any(applies):
            continue
        values = [_setting_text(f.get(key)) if ok else NOT_APPLICABLE for f, ok in zip(flat, applies, strict=True)]
        shown = {v for v, ok in zip(values, applies, strict=True) if ok}
        out.append({"key": key, "values": values, "differs": len(shown) > 1})
    return out


def _setting_text(value: Any) -> str:
    if value is None or value == "":
        return "–"
    return _fmt_plain(value)


def compare_figure(results: list[Results], labels: list[str], variable: str, title: str) -> Any:
    import plotly.graph_objects as go

    from nevsim.report.charts import PALETTE, place_legend

    fig = go.Figure()
    for i, (res, label) in enumerate(zip(results, labels, strict=True)):
        v = res._rows("series", variables=[variable]).groupby("year")["value"].median()
        fig.add_trace(go.Scatter(x=v.index.to_numpy(), y=v.to_numpy(), mode="lines", name=label,
                                 line={"color": PALETTE[i % len(PALETTE)], "dash": "solid" if i == 0 else "dash"}))
    fig.update_layout(title={"text": title, "x": 0.01}, template="plotly_white", hovermode="x unified")
    fig.update_xaxes(title_text="year")
    return place_legend(fig, 340)


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request, run: Annotated[list[str] | None, Query()] = None) -> HTMLResponse:
    st = _state(request)
    options = _run_options(st)
    chosen = list(dict.fromkeys(run or []))
    context: dict[str, Any] = {"runs": options, "chosen": chosen}
    if len(chosen) < 2:
        return render(request, "compare.html", results=None, **context)
    results = [st.load(r) for r in chosen]
    labels = [f"{res.meta.get('scenario', '?')} · {rid[:8]}" for res, rid in zip(results, chosen, strict=True)]
    rows, scen = compare_tables(results, labels)
    figures = [{"id": f"fig-compare-{i}", "fig": compare_figure(results, labels, var, title)}
               for i, (title, var) in enumerate(COMPARED)]
    return render(request, "compare.html", results=results, labels=labels, rows=rows, scen=scen,
                  figures=figures, **context)


# ---------------------------------------------------------------------------- makers


MAKER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("EV sales", "EV"), ("NEV credits earned", "Credits|NEV|Earned"), ("required", "Credits|NEV|Required"),
    ("balance", "Credits|NEV|Balance"), ("bought", "Credits|NEV|Bought"), ("sold", "Credits|NEV|Sold"),
    ("CAFC balance", "Credits|CAFC|Balance"), ("capacity use (%)", "Capacity Use"),
)

#: Credit markets between makers a run may hold (label in the variable names → what the page calls it).
MAKER_MARKETS: dict[str, str] = {"NEV": "NEV credits (China's dual-credit policy)",
                                 "Fleet CO2": "fleet CO2 credits (the region's CO2 / GHG fleet standard)",
                                 "ZEV": "ZEV credits (the ZEV mandate)"}


def run_currency(res: Results) -> str:
    """The currency of a run's money series: its region's (``region_spec.currency``), China's CNY by default."""
    spec = res.scenario.get("region_spec") or {}
    return str(spec.get("currency") or "CNY")


def maker_markets(res: Results) -> list[str]:
    """The credit markets between makers the run models (``"NEV"``, ``"Fleet CO2"``, ``"ZEV"``), in
    :data:`MAKER_MARKETS` order: two for a region with a ZEV mandate and a fleet standard (``us-2024-rules``)."""
    present = res.labels(table="makers")
    return [m for m in MAKER_MARKETS if f"Credits|{m}|Balance" in present]


def maker_market(res: Results, wanted: str | None = None) -> str | None:
    """The market the makers page shows: ``wanted`` (InputError when the run has no such market),
    else the run's first (:func:`maker_markets`), or None when it models none."""
    markets = maker_markets(res)
    if wanted is not None and wanted not in markets:
        raise InputError("market", f"this run has no {wanted!r} credit market between makers.",
                         allowed=markets or ["none: this run models no credit market between makers"])
    return wanted if wanted is not None else (markets[0] if markets else None)


def maker_columns(res: Results, market: str | None = None) -> tuple[tuple[str, str], ...]:
    """Columns of the makers table for this run: China's NEV and CAFC credits (:data:`MAKER_COLUMNS`), a
    region's own standard (balance, bought, sold; ``market``, default the run's first), and capacity use
    where some maker has a capacity."""
    market = maker_market(res, market)
    present = res.labels(table="makers")
    if market == "NEV":
        cols = MAKER_COLUMNS
    else:
        cols = (("EV sales", "EV"),)
        if market is not None:
            cols += tuple((f"{market} credit {what}" if what == "balance" else what, f"Credits|{market}|{what.title()}")
                          for what in ("balance", "bought", "sold") if f"Credits|{market}|{what.title()}" in present)
        cols += (("capacity use (%)", "Capacity Use"),)
    if not _has_capacity(res):
        cols = tuple(c for c in cols if c[1] != "Capacity Use")
    return cols


def _has_capacity(res: Results) -> bool:
    """Whether some maker has a production capacity (a ``Capacity Use`` value): the indexed rows of
    that one variable, not a scan of the whole makers table (80 M rows at 10,000 draws)."""
    if "Capacity Use" not in res.labels(table="makers"):
        return False
    return bool(res._rows("makers", variables=["Capacity Use"])["value"].notna().any())


def makers_table(res: Results, year: int, columns: tuple[tuple[str, str], ...] = MAKER_COLUMNS) -> list[dict[str, Any]]:
    """One row per maker in ``year``: the ``columns`` (EV sales, credits earned, required, balance,
    bought, sold, CAFC balance, capacity use: :func:`maker_columns`); the role says who sells and who buys."""
    market = next((var.split("|")[1] for _, var in columns if var.startswith("Credits|") and var.endswith("|Balance")
                   and "CAFC" not in var), None)
    wanted = [var for _, var in columns if var != "EV"] + ["Sales|Cars|BEV", "Sales|Cars|PHEV"]
    if market is not None:
        wanted += [f"Credits|{market}|{k}" for k in ("Balance", "Bought", "Sold")]
    mk = res.makers.take(np.flatnonzero(res.makers["year"].to_numpy() == year))  # the year's rows, then
    mk = mk[mk["variable"].isin(wanted).to_numpy()]  # (a 10,000-draw run has 80 M maker rows)
    wide = (mk.groupby(["maker", "variable"], observed=True, sort=False)["value"].median()
            .unstack("variable"))
    wide["EV"] = wide.get("Sales|Cars|BEV", 0.0) + wide.get("Sales|Cars|PHEV", 0.0)
    rows = []
    for maker, row in wide.iterrows():  # 13 makers: display only
        values = [float(row.get(var, float("nan"))) for _, var in columns]
        role, balance = "–", float("nan")
        if market is not None:
            sold = float(row.get(f"Credits|{market}|Sold", 0.0) or 0.0)
            bought = float(row.get(f"Credits|{market}|Bought", 0.0) or 0.0)
            balance = float(row.get(f"Credits|{market}|Balance", float("nan")))
            role = ("sells" if sold > 0 else "buys" if bought > 0
                    else "surplus" if balance > 0 else "deficit" if balance < 0 else "–")
        rows.append({"maker": str(maker), "values": values, "role": role,
                     "key": float(row.get("EV", 0.0) or 0.0) if market is None  # by balance, else by EV sales
                     else (balance if math.isfinite(balance) else 0.0)})
    rows.sort(key=lambda r: -r["key"])
    return rows


def credit_price_line(res: Results, market: str | None, year: int) -> dict[str, Any] | None:
    """What the makers page says about the credit price in ``year``: the model's clearing price, or —
    in a history year that has one — the observed average price the model holds there
    (``assumptions/credit_prices.csv``, China's NEV credits); None when the run has no such price."""
    if market is None:
        return None
    price = _value_or_nan(res, f"Price|Credit|{market}", year)
    out = {"market": market, "price": price, "currency": run_currency(res), "observed": False, "source": ""}
    hist = res.meta.get("history_last_year")
    dual_credit = ((res.scenario or {}).get("policy") or {}).get("dual_credit") or {}
    floor_on = dual_credit.get("observed_prices_in_history", True)  # (the simulator's switch; off: no floor)
    if market == "NEV" and hist is not None and year <= int(hist) and floor_on:
        from nevsim import assumptions

        table = assumptions.credit_prices()
        row = table[table["year"] == year]
        cutoff = res.meta.get("data_cutoff")
        if not row.empty and (cutoff is None or year <= int(cutoff)):
            observed = float(row["price_cny_per_credit"].iloc[0])
            cap = float(dual_credit.get("price_cap_cny_per_credit", math.inf) or math.inf)
            out.update(observed=True, source=str(row["source"].iloc[0]), status=str(row["status"].iloc[0]),
                       observed_price=observed, floor=min(observed, cap))  # (simulate: min(observed, cap))
    return out


def capacity_figure(res: Results) -> Any:
    import plotly.graph_objects as go

    from nevsim.report.charts import PALETTE, add_history_band, place_legend

    mk = res._rows("makers", variables=["Capacity Use"])
    fig = go.Figure()
    for i, (maker, g) in enumerate(mk.groupby("maker", sort=False)):
        v = g.groupby("year")["value"].median()
        if v.isna().all():  # no capacity (the residual group): no line
            continue
        fig.add_trace(go.Scatter(x=v.index.to_numpy(), y=v.to_numpy(), mode="lines", name=str(maker),
                                 line={"color": PALETTE[i % len(PALETTE)]}))
    add_history_band(fig, res.years[0], res.meta.get("history_last_year"))
    fig.update_layout(title={"text": "Capacity use by maker", "x": 0.01}, template="plotly_white",
                      hovermode="x unified")
    fig.update_yaxes(title_text="% of production capacity")
    fig.update_xaxes(title_text="year")
    return place_legend(fig, 420)


@router.get("/makers", response_class=HTMLResponse)
def makers(request: Request, run: Annotated[str | None, Query(max_length=64)] = None,
           year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
           market: Annotated[str | None, Query(max_length=32)] = None) -> HTMLResponse:
    from nevsim.report.charts import maker_balances

    st = _state(request)
    run_id = _pick_run(st, run)
    context: dict[str, Any] = {"runs": _run_options(st), "run_id": run_id}
    if run_id is None:
        return render(request, "makers.html", res=None, **context)
    res = st.load(run_id)
    years = sorted(int(y) for y in res.labels("year", table="makers"))
    if year is None:
        year = 2030 if 2030 in years else years[-1]
    if year not in years:
        raise InputError("year", f"no maker data for {year}.", allowed=[f"{years[0]} to {years[-1]}"])
    markets = maker_markets(res)
    market = maker_market(res, market)
    columns = maker_columns(res, market)
    figures, missing = [], []
    if market is not None:
        figures.append({"id": "fig-maker-balances", "fig": maker_balances(res, market=market)})
    else:
        missing.append("Makers' credit balances: none, this run models no credit market between makers.")
    has_capacity = _has_capacity(res)
    if has_capacity:
        figures.append({"id": "fig-capacity-use", "fig": capacity_figure(res)})
    else:
        missing.append("Capacity use: none, no production capacities for this region's makers "
                       "(they are China's only: docs/research/maker-capacity.md).")
    return render(request, "makers.html", res=res, year=year, years=years,
                  table=makers_table(res, year, columns), columns=[c for c, _ in columns], figures=figures,
                  missing=missing, market=market, markets=markets, market_names=MAKER_MARKETS,
                  market_name=MAKER_MARKETS.get(market or "", ""),
                  price=credit_price_line(res, market, year), region_label=REGIONS.get(res.regions[0], res.regions[0]),
                  has_capacity=has_capacity, **context)


def _value_or_nan(res: Results, variable: str, year: int) -> float:
    try:
        return res.value(variable, year)
    except InputError:
        return float("nan")


# ---------------------------------------------------------------------------- history


def history_figures(hist: pd.DataFrame) -> list[dict[str, Any]]:
    import plotly.graph_objects as go

    from nevsim.report.charts import place_legend

    out = []
    for i, (variable, g) in enumerate(hist.groupby("variable", sort=False)):
        fig = go.Figure()
        for source, gs in g.groupby("source", sort=False):
            fig.add_trace(go.Scatter(x=gs["year"].to_numpy(), y=gs["value"].to_numpy(), mode="lines+markers",
                                     name=str(source)))
        fig.update_layout(title={"text": f"{variable} ({g['unit'].iloc[0]})", "x": 0.01}, template="plotly_white")
        fig.update_xaxes(title_text="year")
        place_legend(fig, 320)
        out.append({"id": f"fig-history-{i}", "fig": fig, "sources": sorted(g["source"].unique())})
    return out


@router.get("/history", response_class=HTMLResponse)
def history(request: Request, region: Annotated[str, Query(max_length=40)] = "China",
            until: Annotated[int | None, Query(ge=1900, le=2200)] = None,
            dataset: Annotated[str | None, Query(max_length=64)] = None,
            dataset_region: Annotated[str | None, Query(max_length=40)] = None) -> HTMLResponse:
    from nevsim import data

    hist = data.history(region, until=until)
    cat = data.catalog()
    table = None
    if dataset:
        frame = data.load(dataset, region=dataset_region or None, until=until)
        table = {"name": dataset, "total": len(frame), "columns": list(frame.columns),
                 "rows": frame.head(200).to_dict("records"), "attrs": frame.attrs}
    return render(request, "history.html", region=region, until=until, regions=data.regions("iea_gevo_2025"),
                  figures=history_figures(hist), sources=hist.attrs.get("sources", []),
                  catalog=cat.to_dict("records"), datasets=list(cat["name"]), dataset=dataset,
                  dataset_region=dataset_region or "", table=table)


# ---------------------------------------------------------------------------- back-test


@router.get("/backtest", response_class=HTMLResponse)
def backtest_page(request: Request, scenario: Annotated[str | None, Query(max_length=64)] = None,
                  region: Annotated[str | None, Query(max_length=16)] = None,
                  go: Annotated[bool, Query()] = False,
                  policies: Annotated[str, Query(max_length=16)] = "enacted",
                  draws: Annotated[int | None, Query()] = None,
                  residual_walk: Annotated[bool, Query()] = False) -> HTMLResponse:
    from nevsim.web.api import backtest_available, run_backtest

    st = _state(request)
    why = backtest_available()
    views = [("enacted", "as enacted (the scenario's rules)"),
             ("as-known", "as known at each cutoff (China only)")]
    if scenario is None and region is None:
        scenario = "china-current-policies"
    shown = scenario
    if shown is None:  # a region alone: its default scenario (as the API and the CLI do)
        from nevsim.backtest import resolve_scenario_region

        shown = str(resolve_scenario_region(None, region)[0])
    context: dict[str, Any] = {"why": why, "scenario": shown, "scenarios": st.scenario_names(), "bt": None,
                               "policies": policies, "views": views, "draws": draws or 1,
                               "residual_walk": residual_walk, "region": region,
                               "max_draws": st.settings.max_draws}
    if why is not None or not go:
        return render(request, "backtest.html", **context)
    # checks draws (1 to the server's max) and that the walk has draws to act across
    bt = run_backtest(st, scenario, region, None, None, policies, draws, None, residual_walk)
    mae = bt.mae if not callable(bt.mae) else bt.mae()
    fig = bt.plot()
    cov = bt.coverage()
    cov_rows = [(str(i), int(r["n"]), r["coverage_pct"], r["band_width_pp"], r["interval_score_pp"])
                for i, r in cov.iterrows()]
    from nevsim.baselines import LOGIT_TREND_YEARS

    return render(request, "backtest.html", **{**context, "bt": bt, "summary": bt.summary(), "cov_rows": cov_rows,
                                               "logit_years": LOGIT_TREND_YEARS,
                                               "mae_cols": [str(c) for c in mae.columns],
                                               "mae_rows": [(str(i), list(r)) for i, r in zip(mae.index, mae.to_numpy(), strict=True)],
                                               # (a phone gets one panel a row: app.js renderPlots)
                                               "figures": [{"id": "fig-backtest", "fig": fig,
                                                            "narrow": bt.plot(columns=1)}]})
