"""What one web app holds: the results store (behind a lock), the runs being computed, user scenarios.

No module-level state: :class:`AppState` lives on ``app.state.nevsim`` of the app that
:func:`nevsim.web.create_app` builds, so two apps (two tests) never share anything.

DuckDB allows one writer per file and a read-only connection cannot coexist with a writing one
in the same process, so every store call goes through one lock. Stored runs never change (a
run is saved whole in one transaction or not at all), so loaded :class:`~nevsim.results.Results`
are kept in a small cache.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import threading
import tomllib
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nevsim.errors import InputError, NevsimError
from nevsim.scenario import check_depth
from nevsim.web.settings import WebSettings

if TYPE_CHECKING:
    import pandas as pd

    from nevsim.results import Results
    from nevsim.scenario import Scenario

log = logging.getLogger("nevsim.web")

#: A user scenario name: lower-case letters, digits and dashes (it becomes a file name; no paths).
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
_NAME_RE = re.compile(NAME_PATTERN)
_CACHE_SIZE = 8
_JOBS_KEPT = 200  # finished jobs whose status the server keeps


class RunNotFoundError(NevsimError):
    """No stored run and no run being computed has this id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"unknown run id {run_id!r}")


class ScenarioNotFoundError(InputError):
    """A scenario asked for by name in the URL (``GET /api/scenarios/{name}``) is neither shipped nor saved:
    404 there (a scenario named in a request body stays a 422 naming ``scenario``)."""


class TooBusyError(NevsimError):
    """More runs are waiting than the server accepts (``max_queued_runs``)."""


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


@dataclass
class Job:
    """A run requested through the API: queued → running → done | failed."""

    run_id: str
    scenario: str
    status: str = "queued"
    done_years: int = 0
    total_years: int = 0
    error: dict[str, Any] | None = None
    created_utc: str = field(default_factory=_now)
    finished_utc: str | None = None
    future: Future[None] | None = field(default=None, repr=False)

    def progress(self, done: int, total: int) -> None:
        """The simulation's ``progress(done_years, total_years)`` callback."""
        self.done_years, self.total_years = int(done), int(total)

    def as_dict(self) -> dict[str, Any]:
        """Status as JSON types (``progress`` is a fraction 0–1)."""
        frac = 1.0 if self.status == "done" else (self.done_years / self.total_years if self.total_years else 0.0)
        return {"run_id": self.run_id, "scenario": self.scenario, "status": self.status,
                "progress": round(frac, 4), "done_years": self.done_years, "total_years": self.total_years,
                "error": self.error, "created_utc": self.created_utc, "finished_utc": self.finished_utc}


def error_dict(exc: BaseException) -> dict[str, Any]:
    """An error as JSON: ``field`` (dotted path), ``msg`` and ``allowed`` for an InputError."""
    if isinstance(exc, InputError):
        return {"field": exc.field, "msg": exc.message, "allowed": exc.allowed, "type": "input_error"}
    return {"field": None, "msg": f"{type(exc).__name__}: {exc}", "allowed": None, "type": "run_error"}


# ---------------------------------------------------------------------------- scenario building


def check_name(name: str, field_name: str = "name") -> str:
    """A user scenario name (no paths, no dots): see :data:`NAME_PATTERN`."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InputError(field_name, f"{name!r} is not a valid scenario name.",
                         allowed=["lower-case letters, digits and '-', 1–63 characters, starting with a letter or digit"])
    return name


def expand(overrides: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys (``"technology.battery_learning_rate"``) → nested dicts; ``None`` values dropped
    (``None`` means the base scenario's value: see :meth:`AppState.flatten`)."""
    out: dict[str, Any] = {}
    for key, value in overrides.items():
        parts = str(key).split(".")
        if not all(parts):
            raise InputError(f"overrides.{key}", "empty part in a dotted key.")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise InputError("overrides." + ".".join(parts[: i + 1]), "conflicting override keys.")
            node = nxt
        if isinstance(value, dict) and not _is_year_table(value):
            value = expand(value)
            if isinstance(node.get(parts[-1]), dict):
                value = merge(node[parts[-1]], value)
        if value is not None:
            node[parts[-1]] = value
    return out


def _without(tree: dict[str, Any], parts: list[str]) -> dict[str, Any]:
    """``tree`` without the key at ``parts`` (a copy; tables left empty are dropped too)."""
    if not parts or parts[0] not in tree:
        return tree
    out = dict(tree)
    if len(parts) == 1:
        del out[parts[0]]
    elif isinstance(out[parts[0]], dict):
        inner = _without(out[parts[0]], parts[1:])
        if inner:
            out[parts[0]] = inner
        else:
            del out[parts[0]]
    return out


def _at(tree: dict[str, Any], dotted: str | None) -> Any:
    """The value at a dotted path of nested dicts, or None."""
    node: Any = tree
    for part in str(dotted or "").split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _is_year_table(data: dict[str, Any]) -> bool:
    return bool(data) and all(isinstance(k, str) and k.strip().isdigit() for k in data)


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Nested merge; a year path (all keys are years) in ``override`` replaces the base's whole."""
    out = dict(base)
    for key, value in override.items():
        if (isinstance(value, dict) and isinstance(out.get(key), dict) and not _is_year_table(value)
                and "dist" not in value and "dist" not in out[key]):  # a distribution table replaces whole
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _inline_toml(value: Any) -> str:
    """``value`` as a TOML inline value (tables as ``{ key = value, … }``, keys quoted)."""
    import json

    import tomli_w

    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: int(kv[0])) if _is_year_table(value) else value.items()
        return "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_inline_toml(v)}"
                                for k, v in items) + " }"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


# ---------------------------------------------------------------------------- state


class AppState:
    """Store, jobs and user scenarios of one app (see the module docs)."""

    def __init__(self, settings: WebSettings) -> None:
        from nevsim.store import Store

        self.settings = settings
        self.store = Store(settings.store_path)
        self._store_lock = threading.RLock()
        self._jobs_lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cache: OrderedDict[str, Results] = OrderedDict()
        self._executor: ThreadPoolExecutor | None = None  # made on the first run (no idle threads)
        self._memo: dict[Any, Any] = {}
        self._save_lock = threading.Lock()  # user scenario files: one save moves its file into place at a time

    def shutdown(self) -> None:
        """Cancel the runs still waiting (none of them is saved); a running run finishes in its thread.

        Called when the server stops (app lifespan). A later run request starts a new pool.
        """
        with self._jobs_lock:
            executor, self._executor = self._executor, None
        if executor is None:
            return
        executor.shutdown(wait=False, cancel_futures=True)
        for job in self.jobs():
            if job.future is not None and job.future.cancelled():
                job.status, job.finished_utc = "failed", _now()
                job.error = {"field": None, "msg": "the server stopped before this run started; nothing was saved",
                             "allowed": None, "type": "cancelled"}

    # -- stored runs

    def list_runs(self) -> pd.DataFrame:
        with self._store_lock:
            return self.store.list_runs()

    def run_ids(self) -> list[str]:
        return self.list_runs()["run_id"].astype(str).tolist()

    def load(self, run_id: str) -> Results:
        """A stored run (full id); :class:`RunNotFoundError` when the store does not hold it (any more: the
        cache answers only for runs the store still lists)."""
        with self._store_lock:
            if run_id not in self.run_ids():  # (asked first: a cached run may since be deleted, `nevsim runs delete`)
                self._cache.pop(run_id, None)
                raise RunNotFoundError(run_id)
            if run_id in self._cache:
                self._cache.move_to_end(run_id)
                return self._cache[run_id]
            res = self.store.load(run_id)
            self._remember(run_id, res)
            return res

    def _remember(self, run_id: str, res: Results) -> None:
        self._cache[run_id] = res
        self._cache.move_to_end(run_id)
        while len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)

    def latest_run_id(self) -> str | None:
        ids = self.run_ids()
        return ids[0] if ids else None

    # -- jobs

    def job(self, run_id: str) -> Job | None:
        with self._jobs_lock:
            return self._jobs.get(run_id)

    def jobs(self) -> list[Job]:
        with self._jobs_lock:
            return list(self._jobs.values())

    def submit(self, scenario: Scenario) -> Job:
        """Queue a run of ``scenario``; it is saved to the store only if it completes."""
        with self._jobs_lock:
            active = sum(j.status in ("queued", "running") for j in self._jobs.values())
            if active >= self.settings.max_queued_runs:
                raise TooBusyError(f"{active} runs are queued or running (limit {self.settings.max_queued_runs}); "
                                   "try again when one has finished.")
            job = Job(run_id=uuid.uuid4().hex, scenario=scenario.name)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.settings.run_workers,
                                                    thread_name_prefix="nevsim-run")
            executor = self._executor
            self._jobs[job.run_id] = job
            while len(self._jobs) > _JOBS_KEPT:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
        job.future = executor.submit(self._execute, job, scenario)
        return job

    def _execute(self, job: Job, scenario: Scenario) -> None:
        from nevsim.results import Results
        from nevsim.simulate import run_frames

        job.status = "running"
        try:
            series, makers, meta = run_frames(scenario, progress=job.progress)
            meta["run_id"] = job.run_id
            res = Results(series, makers, meta, scenario.resolved())
            with self._store_lock:
                self.store.save(res)  # one transaction: all or nothing
                self._remember(job.run_id, res)
        except Exception as exc:  # the run is not saved; the error is reported in the job
            if not isinstance(exc, InputError):
                log.exception("run %s (%s) failed", job.run_id, job.scenario)
            job.error = error_dict(exc)
            job.status = "failed"
        else:
            job.status = "done"
        finally:
            job.finished_utc = _now()

    # -- scenarios

    def shipped(self) -> list[str]:
        from nevsim.scenario import list_scenarios

        return list_scenarios()

    def user_scenarios(self) -> list[str]:
        folder = self.settings.scenario_dir
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.toml") if _NAME_RE.fullmatch(p.stem) and p.is_file())

    def scenario_names(self) -> list[str]:
        return [*self.shipped(), *self.user_scenarios()]

    def user_path(self, name: str) -> Path:
        return self.settings.scenario_dir / f"{check_name(name)}.toml"

    def scenario_source(self, name: str) -> tuple[str, dict[str, Any], str]:
        """``(kind, data, toml text)`` of a scenario name (``kind``: shipped | user)."""
        from importlib import resources

        if name in self.shipped():
            text = (resources.files("nevsim.scenarios") / f"{name}.toml").read_text(encoding="utf-8")
            return "shipped", tomllib.loads(text), text
        if isinstance(name, str) and _NAME_RE.fullmatch(name) and name in self.user_scenarios():
            path = self.user_path(name)
            try:
                text = path.read_text(encoding="utf-8")
                data = tomllib.loads(text)
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:  # edited by hand, or damaged
                raise InputError("scenario", f"the saved scenario {name!r} cannot be read ({type(exc).__name__}: {exc}); "
                                             f"fix or delete {path.name} in the store's scenarios folder, or save it "
                                             "again with replace.", allowed=self.scenario_names()) from None
            return "user", data, text
        raise InputError("scenario", f"unknown scenario {name!r}.", allowed=self.scenario_names())

    def flatten(self, name: str, overrides: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """``(shipped base, nested overrides)`` of ``name`` + ``overrides`` (a user scenario's own
        changes are merged under the new ones, so every saved file names a shipped base)."""
        if not isinstance(overrides, dict):
            raise InputError("overrides", "must be an object of scenario keys to values.")
        check_depth(overrides)
        kind, data, _ = self.scenario_source(name)
        new = expand(overrides)
        if kind == "shipped":
            return name, new
        base = data.get("base")
        own = {k: v for k, v in data.items() if k not in ("base", "name", "description")}
        if base not in self.shipped():
            raise InputError("scenario", f"user scenario {name!r} names base {base!r}, not a shipped scenario.",
                             allowed=self.shipped())
        for key, value in overrides.items():  # null: back to the base's value (the user's own change is dropped)
            if value is None:
                own = _without(own, str(key).split("."))
        return str(base), merge(own, new)

    def build(self, name: str, overrides: dict[str, Any], draws: int | None = None) -> Scenario:
        """The validated scenario of a request: a shipped or user scenario name plus overrides.

        Raises :class:`InputError` (field path of the bad value) for anything the scenario
        rejects, for more draws than ``max_draws`` and for a calibration reference that is not
        a shipped scenario name (no client-supplied paths).
        """
        from nevsim.scenario import load_scenario

        cap = self.settings.max_draws
        if draws is not None and draws > cap:
            raise InputError("draws", f"{draws} draws asked; this server allows at most {cap} per run.",
                             allowed=[f"1 to {cap}"])
        base, nested = self.flatten(name, overrides)
        if draws is not None:
            nested = merge(nested, {"draws": draws})
        against = (nested.get("calibration") or {}).get("against") if isinstance(nested.get("calibration"), dict) else None
        if against is not None and against not in self.shipped():
            raise InputError("calibration.against", f"{against!r} is not a shipped scenario.", allowed=self.shipped())
        kind, data, _ = self.scenario_source(name)
        if kind == "user":  # the saved file's own name and description, unless overridden
            nested = {"name": name, **{k: data[k] for k in ("description",) if k in data}, **nested}
        if overrides and "name" not in expand(overrides):  # an edited scenario is labelled as such
            nested = {**nested, "name": f"{name}-edited"}
        try:
            scenario = load_scenario(base, nested or None)
        except InputError as exc:
            typed = _at(nested, exc.field)
            if isinstance(typed, str) and exc.allowed == ["a table"]:  # a year path the page could not read
                raise InputError(exc.field, f"cannot read {typed!r} as a year path: write year: value pairs "
                                            "separated by commas, e.g. 2026: 48, 2030: 60.",
                                 allowed=["2026: 48, 2030: 60", "2030: normal(mean=60, sd=5)"]) from None
            raise
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # malformed override structure
            raise InputError("overrides", f"cannot apply these overrides ({type(exc).__name__}: {exc}).") from None
        if scenario.calibration.against not in self.shipped():
            raise InputError("calibration.against", f"{scenario.calibration.against!r} is not a shipped scenario.",
                             allowed=self.shipped())
        if scenario.draws > cap:
            raise InputError("draws", f"{scenario.draws} draws asked; this server allows at most {cap} per run.",
                             allowed=[f"1 to {cap}"])
        return scenario

    def scenario_toml(self, name: str, base: str, nested: dict[str, Any], description: str = "") -> str:
        """TOML text of a user scenario: ``name``, ``base`` (shipped), ``description`` and the changes."""
        import tomli_w

        doc: dict[str, Any] = {"name": name, "base": base}
        if description:
            doc["description"] = description
        doc.update({k: v for k, v in nested.items() if k not in ("name", "base", "description")})
        inline: dict[str, str] = {}
        tag = f"nevsim-inline-{uuid.uuid4().hex}"  # a marker no scenario text holds

        def mark(node: dict[str, Any]) -> dict[str, Any]:
            # a year path with a distribution point is written inline, in year order (tomli_w would
            # write the point as a [table] after the path's numbers: years out of order on reading)
            out = {}
            for k, v in node.items():
                if isinstance(v, dict) and _is_year_table(v) and any(isinstance(x, dict) for x in v.values()):
                    out[k] = marker = f"@{tag}-{len(inline)}@"
                    inline[marker] = _inline_toml(v)
                else:
                    out[k] = mark(v) if isinstance(v, dict) else v
            return out

        text = tomli_w.dumps(mark(doc))
        for marker, value in inline.items():
            text = text.replace(f'"{marker}"', value)
        return text

    def save_scenario(self, name: str, base_name: str, overrides: dict[str, Any], description: str = "",
                      *, replace: bool = False) -> Path:
        """Validate and write ``<store folder>/scenarios/<name>.toml``; returns the path."""
        check_name(name)
        if name in self.shipped():
            raise InputError("name", f"{name!r} is a shipped scenario; choose another name.", allowed=self.shipped())
        path = self.user_path(name)
        if path.exists() and not replace:
            raise InputError("name", f"a user scenario {name!r} exists already; pass replace=true to overwrite it.")
        if replace and not description and path.exists():  # replacing keeps the stored description unless a new one is given
            try:
                description = str(tomllib.loads(path.read_text(encoding="utf-8")).get("description", ""))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):  # an unreadable file: it is being replaced
                description = ""
        base, nested = self.flatten(base_name, overrides)
        nested = {k: v for k, v in nested.items() if k not in ("name", "description")}
        self.build(base, {**nested, "name": name})  # validates; raises InputError with the field path
        text = self.scenario_toml(name, base, nested, description)
        # a temporary file of this request's own (two saves at once each wrote `<name>.toml.tmp`: one moved
        # the other's half-written file into place, or found it gone: 500), then moved into place whole;
        # without replace, linked so that a file saved meanwhile is never overwritten (two saves of one
        # new name each got 201 and the first was lost)
        tmp = path.with_name(f".{name}.{uuid.uuid4().hex}.toml.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            with self._save_lock:
                if replace:
                    tmp.replace(path)
                else:
                    try:
                        os.link(tmp, path)
                    except FileExistsError:
                        raise InputError("name", f"a user scenario {name!r} exists already; pass replace=true to "
                                                 "overwrite it.") from None
                    except OSError:  # a file system without hard links: the check and the move under the lock
                        if path.exists():
                            raise InputError("name", f"a user scenario {name!r} exists already; pass replace=true "
                                                     "to overwrite it.") from None
                        tmp.replace(path)
        except OSError as exc:  # (a folder of that name, a full disk, no permission)
            raise InputError("name", f"cannot save the scenario as {path.name} in the store's scenarios folder "
                                     f"({exc.strerror or type(exc).__name__}); nothing was changed.") from None
        finally:
            tmp.unlink(missing_ok=True)
        return path

    # -- memo of slow pure computations (back-test), bounded

    def memo(self, key: Any, compute: Any) -> Any:
        with self._jobs_lock:
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._jobs_lock:
            if len(self._memo) >= 16:
                self._memo.pop(next(iter(self._memo)))
            self._memo[key] = value
        return value
